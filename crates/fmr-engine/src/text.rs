//! Reading the user's own words: symptom kinds, numbers, hyperparameters,
//! framework, precision and model type from a sentence or two.
//!
//! Rules are data (a table of patterns), so adding a phrase is one line.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use fmr_core::{MetricRole, Origin, StepWindow, Symptom, SymptomKind, TriedOutcome};
use regex::Regex;

/// (pattern, kind). Patterns are matched case-insensitively against the whole text.
static SYMPTOM_PATTERNS: LazyLock<Vec<(Regex, SymptomKind)>> = LazyLock::new(|| {
    use SymptomKind::*;
    let table: &[(&str, SymptomKind)] = &[
        (
            r"\bnan\b|\bnans\b|\binf\b|not a number|non-?finite|infinit",
            NonFinite,
        ),
        (
            r"diverg|blows? up|blowing up|blew up|explod(es|ing)? loss|loss (explodes|exploding|shoots up|skyrockets)",
            Divergence,
        ),
        (
            r"grad(ient)?s? (norm )?(explod|blow)|exploding grad",
            GradExplosion,
        ),
        (
            r"vanishing grad|grad(ient)?s? (vanish|are (all )?zero|become zero)",
            GradVanishing,
        ),
        (r"\bspikes?\b|\bspiky\b|sudden jumps?", Spike),
        (
            r"oscillat|fluctuat|bounces?|bouncing|zig-?zag|see-?saw",
            Oscillation,
        ),
        (
            r"plateau|\bstuck\b|\bflat\b|not (learning|decreasing|improving|converging|changing)|doesn'?t (learn|decrease|improve|converge|change)|does not (learn|decrease|improve|converge|change)|no (progress|improvement|learning)|stall|stagnat|never learns|isn'?t learning|not learn",
            Plateau,
        ),
        (
            r"slow(ly)? converg|converges? (very )?slow|takes forever to converge",
            SlowConvergence,
        ),
        (
            r"chance|random guess|coin flip|accuracy (of |at |stuck at |around |~)?(0?\.5\b|50 ?%|0?\.25\b|25 ?%|0?\.1\b|10 ?%)|(50|25|10) ?% accuracy",
            ChanceLevel,
        ),
        (
            r"overfit|val(idation)? (loss|error) (increas|ris|goes up|gets worse|starts? (increasing|rising))|generaliz(e|ation) (poorly|badly|gap)",
            TrainValGap,
        ),
        (
            r"val(idation)?[ _](loss|error) (is |stays |remains )?(much |always |consistently )?(lower|less|smaller|better|below) (than )?(the )?train|val(idation)?[ _]?(accuracy|acc)? (is |stays )?(much |always |consistently )?(higher|better|above) than (the )?train|train(ing)?[ _](accuracy|acc) (is |stays )?(much |always |consistently )?(lower|worse|below) than (the )?val|train(ing)?[ _](loss|error) (is |stays )?(much |always |consistently )?(higher|greater|above|worse) than (the )?val",
            ValBetterThanTrain,
        ),
        (
            r"(eval|evaluation|inference|test|predict)\w* (mode )?(is |are |gives |accuracy )?(much )?(worse|bad|poor|garbage|drops?|wrong|different)|works in train\w* but|fine (in|during) train",
            EvalWorseThanTrain,
        ),
        (
            r"too good|suspicious(ly)? (high|good)|(99(\.\d+)?|100) ?% (test |val\w* )?acc|perfect (test |val\w* )?(accuracy|score)",
            MetricTooGood,
        ),
        (
            r"loss.scal\w* (drops|decreas|collaps|keeps halving|goes to|underflow)|grad(ient)? scaler|skipping step|overflow.*(skip|reduc)",
            LossScaleCollapse,
        ),
        (
            r"loss (is |becomes |goes to |drops to |= ?|of )?(exactly )?0(\.0+)?\b|zero loss|loss (is |becomes |goes to )?zero",
            ZeroLoss,
        ),
        (
            r"same (output|prediction|class)|constant (output|prediction)|always predicts?|predicts? (only|always) (one|the same)|outputs? (are |is )?(all )?the same",
            ConstantOutput,
        ),
        (
            r"codebook|dead codes?|code (usage|utili[sz]ation)|codes? (are )?unused|perplexity (drops|collaps|falls)",
            CodebookCollapse,
        ),
        (
            r"mode collapse|same (image|sample)s?|lack of diversity|low diversity|generates? (only )?(identical|the same)",
            ModeCollapse,
        ),
        (
            r"posterior collapse|kl (term |divergence )?(goes to|is|drops to|collapses to|→) ?(0|zero)|kl vanish|ignores? (the )?latent",
            PosteriorCollapse,
        ),
        (
            r"entropy (collaps|drops|goes to (0|zero)|falls|vanish)",
            EntropyCollapse,
        ),
        (
            r"entropy (stays|stuck|remains|is) (near |at |close to )?(max|high|constant)|entropy (does ?n.t|not) (decrease|drop)|policy (stays|remains) (random|uniform)",
            EntropyStuckHigh,
        ),
        (
            r"reward\w* (is |stays |remains )?(flat|plateau|not (increasing|improving)|doesn'?t (increase|improve)|stuck|constant)|(flat|no) (episode )?reward|return (is |stays )?flat",
            RewardPlateau,
        ),
        (
            r"reward hack|exploit\w* (the )?reward|specification gaming|gam(es|ing) the reward|cheat",
            RewardHacking,
        ),
        (
            r"\bkl\b (explod|blows? up|spikes?|grows|increas|too (large|high))",
            KlBlowup,
        ),
        (
            r"value (function )?loss (explod|is huge|is very (large|high)|huge|blows? up)",
            ValueLossExplosion,
        ),
        (
            r"discriminator (loss )?(goes to (0|zero)|wins|too strong|overfit|dominat)|d[_ ]loss (goes to|→) ?(0|zero)",
            DiscriminatorWins,
        ),
        (r"dead (relu|neuron|unit)|dying relu", DeadUnits),
        (
            r"(training|iterations?|throughput|it/s|epoch) (is |got |gets |becomes )?(much )?slow(er|s down)?|slow(er)? (training|iterations?)|throughput (drop|decreas)",
            ThroughputRegression,
        ),
        (
            r"memory (leak|grow|increas|keeps)|leak\w* memory",
            MemoryGrowth,
        ),
        (
            r"out of memory|\boom\b|cuda error: out of memory",
            OutOfMemory,
        ),
        (
            r"\bhangs?\b|\bhanging\b|freez|deadlock|stuck forever|nccl (timeout|error)|watchdog|timed? ?out",
            Hang,
        ),
        (
            r"non-?determinis|not reproducible|different results (each|every)|irreproducib",
            Nondeterminism,
        ),
        (
            r"never stops?|doesn'?t stop generat|repeat(s|ing)? (itself|the same)|gibberish|garbage output|degenerate|black images?|blank images?|noise images?",
            DegenerateOutput,
        ),
        (
            r"artifacts?|aliasing|metallic|buzz|high.frequency noise|blurry|checkerboard",
            Artifacts,
        ),
    ];
    table
        .iter()
        .map(|(p, k)| {
            (
                Regex::new(&format!("(?i){p}")).expect("valid symptom pattern"),
                *k,
            )
        })
        .collect()
});

/// Symptoms named in free text, each with the phrase that named it.
pub fn symptoms_from_text(text: &str, origin_label: &str) -> Vec<Symptom> {
    let mut out: Vec<Symptom> = Vec::new();
    let onset = onset_step(text);
    for (i, (pattern, kind)) in SYMPTOM_PATTERNS.iter().enumerate() {
        let Some(m) = pattern.find_iter(text).find(|m| !negated(text, m.start())) else {
            continue;
        };
        if out.iter().any(|s| s.kind == *kind) {
            continue;
        }
        let mut numbers = BTreeMap::new();
        let role = role_near(text, m.start(), m.end());
        if let Some(step) = onset {
            numbers.insert("onset_step".to_string(), step as f64);
        }
        out.push(Symptom {
            code: format!("U{:03}", i + 1),
            kind: *kind,
            run: None,
            metric: None,
            role,
            window: onset.map(|s| StepWindow { start: s, end: s }),
            numbers,
            statement: format!(
                "the {origin_label} says \"{}\" ({})",
                m.as_str().trim(),
                kind.as_str().replace('_', " ")
            ),
            origin: Origin::UserText,
            confidence: 0.3,
        });
    }
    if !out.iter().any(|s| s.kind == SymptomKind::ChanceLevel)
        && let Some(s) = chance_from_numbers(text, origin_label)
    {
        out.push(s);
    }
    out
}

/// Whether the words just before `start`, in the same clause, deny what
/// follows: "nothing is NaN", "no NaN anywhere", "it is not stuck", "without
/// spikes". Only a few words back, so "no warmup, and the loss is NaN" still
/// reports the NaN.
fn negated(text: &str, start: usize) -> bool {
    static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(no|not|nothing|never|without|none|neither|nor|hardly any)\b|n't\b")
            .expect("valid regex")
    });
    let before = &text[..start];
    let clause_start = before
        .rfind(['.', ',', ';', ':', '!', '?', '(', ')', '\n'])
        .map(|i| i + 1)
        .unwrap_or(0);
    let clause = &before[clause_start..];
    // The last three words of the clause before the match.
    let words: Vec<&str> = clause.split_whitespace().collect();
    let tail = words[words.len().saturating_sub(3)..].join(" ");
    NEGATION.is_match(&tail)
}

/// "10 classes … accuracy 10%" or "loss stuck at 2.30 on a 10-class problem":
/// numbers at chance level for the stated number of classes (binary when the
/// text says so). Accuracy within 3 points of 1/C, or a loss within 2% of ln C.
fn chance_from_numbers(text: &str, origin_label: &str) -> Option<Symptom> {
    static CLASSES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(\d{1,4})[ -]?(?:classes|class\b|way\b|categories|labels|digits? classes)|\b(binary|two-class)\b|\b(digits|mnist|cifar-?10)\b")
            .expect("valid regex")
    });
    static ACCURACY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)acc\w*[^0-9%.]{0,25}(\d{1,2}(?:\.\d+)?) ?%|(\d{1,2}(?:\.\d+)?) ?% (?:\w+ )?acc",
        )
        .expect("valid regex")
    });
    static LOSS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)loss[^0-9]{0,30}(\d\.\d{1,4})").expect("valid regex"));
    let caps = CLASSES.captures(text)?;
    let classes: f64 = match (caps.get(1), caps.get(2), caps.get(3)) {
        (Some(n), _, _) => n.as_str().parse().ok()?,
        (_, Some(_), _) => 2.0,
        _ => 10.0,
    };
    if classes < 2.0 {
        return None;
    }
    let mut numbers = BTreeMap::from([("classes".to_string(), classes)]);
    let chance_acc = 100.0 / classes;
    let by_accuracy = ACCURACY.captures_iter(text).find_map(|c| {
        let v: f64 = c.get(1).or(c.get(2))?.as_str().parse().ok()?;
        ((v - chance_acc).abs() <= 3.0).then_some(v)
    });
    let by_loss = LOSS.captures_iter(text).find_map(|c| {
        let v: f64 = c[1].parse().ok()?;
        ((v - classes.ln()).abs() <= 0.02 * classes.ln()).then_some(v)
    });
    let statement = match (by_accuracy, by_loss) {
        (Some(a), _) => {
            numbers.insert("accuracy_percent".into(), a);
            format!(
                "the {origin_label} gives accuracy {a}% with {classes} classes: chance is {chance_acc:.1}%"
            )
        }
        (None, Some(l)) => {
            numbers.insert("loss".into(), l);
            format!(
                "the {origin_label} gives a loss of {l} with {classes} classes: ln {classes} = {:.3}, the loss of a uniform guess",
                classes.ln()
            )
        }
        (None, None) => return None,
    };
    Some(Symptom {
        code: "U100".into(),
        kind: SymptomKind::ChanceLevel,
        run: None,
        metric: None,
        role: Some(if by_accuracy.is_some() {
            MetricRole::ValAccuracy
        } else {
            MetricRole::TrainLoss
        }),
        window: None,
        numbers,
        statement,
        origin: Origin::UserText,
        // Numbers are firmer than words.
        confidence: 0.6,
    })
}

/// The metric a phrase is about, from the words around it ("loss becomes NaN",
/// "the reward stays flat").
fn role_near(text: &str, start: usize, end: usize) -> Option<MetricRole> {
    static ROLES: LazyLock<Vec<(Regex, MetricRole)>> = LazyLock::new(|| {
        let table: &[(&str, MetricRole)] = &[
            (
                r"\b(val|valid|validation|eval|test|dev)\w*[ _/-]?loss",
                MetricRole::ValLoss,
            ),
            (
                r"\b(val|valid|validation|eval|test|dev)\w*[ _/-]?acc",
                MetricRole::ValAccuracy,
            ),
            (
                r"value[ _-]?loss|explained[ _]variance",
                MetricRole::ValueLoss,
            ),
            (r"grad(ient)?[ _-]?norm|gradients?", MetricRole::GradNorm),
            (r"loss[ _-]?scal", MetricRole::LossScale),
            (r"\bloss\b|\blosses\b", MetricRole::TrainLoss),
            (r"accuracy|\bacc\b", MetricRole::TrainAccuracy),
            (r"reward|return", MetricRole::Reward),
            (r"entropy", MetricRole::Entropy),
            (r"\bkl\b", MetricRole::Kl),
            (r"codebook|perplexity", MetricRole::CodebookUsage),
            (r"learning rate|\blr\b", MetricRole::LearningRate),
        ];
        table
            .iter()
            .map(|(p, r)| {
                (
                    Regex::new(&format!("(?i){p}")).expect("valid role regex"),
                    *r,
                )
            })
            .collect()
    });
    let lo = text[..start]
        .char_indices()
        .rev()
        .nth(40)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let hi = text[end..]
        .char_indices()
        .nth(25)
        .map(|(i, _)| end + i)
        .unwrap_or(text.len());
    let window = &text[lo..hi];
    ROLES
        .iter()
        .find(|(r, _)| r.is_match(window))
        .map(|(_, role)| *role)
}

static ONSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:after|from|around|at|by|past|beyond)\s+(?:about\s+|roughly\s+|~)?(step\s+|iteration\s+|iter\s+)?(\d+(?:[.,]\d+)?)\s*(k|m)?\s*(?:training\s+)?(steps?|iter\w*|updates?|epochs?)?")
        .expect("valid onset regex")
});

/// "after 2k steps" → 2000. Epoch counts are not steps, so they are ignored.
pub fn onset_step(text: &str) -> Option<i64> {
    for caps in ONSET.captures_iter(text) {
        let prefixed = caps.get(1).is_some();
        let unit = caps
            .get(4)
            .map(|m| m.as_str().to_lowercase())
            .unwrap_or_default();
        let suffix = caps.get(3).map(|m| m.as_str().to_lowercase());
        if unit.starts_with("epoch") || (!prefixed && unit.is_empty() && suffix.is_none()) {
            continue;
        }
        let number: f64 = caps[2].replace(',', "").parse().ok()?;
        let scale = match suffix.as_deref() {
            Some("k") => 1e3,
            Some("m") => 1e6,
            _ => 1.0,
        };
        return Some((number * scale).round() as i64);
    }
    None
}

/// Hyperparameters written in prose: "lr 3e-4", "batch size 64", "warmup 500".
pub fn hyperparameters_from_text(text: &str) -> BTreeMap<String, serde_json::Value> {
    static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
        let num = r"(\d+(?:\.\d+)?(?:e-?\d+)?|\.\d+(?:e-?\d+)?)";
        let table: &[(&str, &str)] = &[
            (
                r"\b(?:lr|learning[ _-]?rate)\s*(?:of|=|:|is|was|at)?\s*",
                "learning_rate",
            ),
            (
                r"\b(?:batch[ _-]?size|batch|bs)\s*(?:of|=|:|is)?\s*",
                "batch_size",
            ),
            (
                r"\bwarm-?up(?:[ _-]?steps)?\s*(?:of|=|:|is)?\s*",
                "warmup_steps",
            ),
            (r"\bweight[ _-]?decay\s*(?:of|=|:|is)?\s*", "weight_decay"),
            (
                r"\b(?:grad(?:ient)?[ _-]?clip(?:ping)?|max[ _-]?grad[ _-]?norm|clip[ _-]?norm)\s*(?:of|=|:|is|at)?\s*",
                "grad_clip",
            ),
            (
                r"\b(?:adam[ _-]?)?eps(?:ilon)?\s*(?:of|=|:|is)?\s*",
                "adam_eps",
            ),
            (r"\bent[ _-]?coef\s*(?:of|=|:|is)?\s*", "ent_coef"),
            (r"\bclip[ _-]?range\s*(?:of|=|:|is)?\s*", "clip_range"),
            (r"\bgamma\s*(?:of|=|:|is)?\s*", "gamma"),
            (
                r"\b(?:grad(?:ient)?[ _-]?accum\w*(?:[ _-]?steps)?)\s*(?:of|=|:|is)?\s*",
                "gradient_accumulation_steps",
            ),
            (r"\bdropout\s*(?:of|=|:|is)?\s*", "dropout"),
            (
                r"\b(?:kl[ _-]?coef|beta[ _-]?kl|kl[ _-]?weight)\s*(?:of|=|:|is)?\s*",
                "kl_coef",
            ),
        ];
        table
            .iter()
            .map(|(p, name)| {
                (
                    Regex::new(&format!("(?i){p}{num}")).expect("valid hyperparameter regex"),
                    *name,
                )
            })
            .collect()
    });
    let mut out = BTreeMap::new();
    for (pattern, name) in PATTERNS.iter() {
        if let Some(caps) = pattern.captures(text)
            && let Ok(v) = caps[1].parse::<f64>()
        {
            out.entry(name.to_string())
                .or_insert_with(|| number_value(v));
        }
    }
    out
}

fn number_value(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Value::from(v)
    }
}

/// (pattern, canonical name) tables for the environment.
static FRAMEWORKS: &[(&str, &str)] = &[
    (r"deepspeed", "deepspeed"),
    (r"lightning", "lightning"),
    (r"\btrl\b", "trl"),
    (r"diffusers|dreambooth|stable diffusion", "diffusers"),
    (
        r"transformers|hugging ?face|\bhf\b|\btrainer\b",
        "transformers",
    ),
    (r"accelerate", "accelerate"),
    (r"stable[- ]?baselines|\bsb3\b", "stable-baselines3"),
    (r"rllib|\bray\b", "rllib"),
    (r"\bjax\b|\bflax\b|\boptax\b", "jax"),
    (r"keras", "keras"),
    (r"tensorflow|\btf\b", "tensorflow"),
    (r"pytorch|\btorch\b", "pytorch"),
];

static MODELS: &[(&str, &str)] = &[
    (r"vq-?vae|vector.quanti[sz]", "vq-vae"),
    (r"\bvae\b|variational auto", "vae"),
    (r"\bgan\b|gans\b|discriminator|generator", "gan"),
    (r"diffusion|dreambooth|ddpm|unet", "diffusion"),
    (
        r"\bllm\b|llama|\bgpt|mistral|qwen|gemma|language model",
        "llm",
    ),
    (r"\bbert\b|roberta", "bert"),
    (r"transformer|attention|\bvit\b", "transformer"),
    (r"\bppo\b", "ppo"),
    (r"\bsac\b", "sac"),
    (r"\bdqn\b|q-learning", "dqn"),
    (r"\blstm\b|\bgru\b|\brnn\b|recurrent", "rnn"),
    (r"resnet|\bcnn\b|convolution", "cnn"),
    (r"\bmlp\b", "mlp"),
];

/// A (pattern, name) table compiled once, case-insensitive.
type NameTable = LazyLock<Vec<(Regex, &'static str)>>;

fn compile(table: &[(&str, &'static str)]) -> Vec<(Regex, &'static str)> {
    table
        .iter()
        .map(|(p, name)| {
            (
                Regex::new(&format!("(?i){p}")).expect("valid name pattern"),
                *name,
            )
        })
        .collect()
}

static FRAMEWORK_PATTERNS: NameTable = LazyLock::new(|| compile(FRAMEWORKS));
static MODEL_PATTERNS: NameTable = LazyLock::new(|| compile(MODELS));

fn first_match(text: &str, table: &[(Regex, &'static str)]) -> Option<&'static str> {
    table
        .iter()
        .find(|(r, _)| r.is_match(text))
        .map(|(_, name)| *name)
}

pub fn framework_from_text(text: &str) -> Option<&'static str> {
    first_match(text, &FRAMEWORK_PATTERNS)
}

pub fn model_from_text(text: &str) -> Option<&'static str> {
    first_match(text, &MODEL_PATTERNS)
}

/// `fp16`, `mixed_fp16`, `bf16` or `fp32`, when the text says.
pub fn precision_from_text(text: &str) -> Option<&'static str> {
    let t = text.to_lowercase();
    if t.contains("bf16") || t.contains("bfloat16") {
        Some("bf16")
    } else if t.contains(".half()") || t.contains("pure fp16") || t.contains("model.half") {
        Some("fp16")
    } else if t.contains("fp16")
        || t.contains("float16")
        || t.contains("half precision")
        || t.contains("half-precision")
    {
        if t.contains("amp") || t.contains("autocast") || t.contains("mixed") {
            Some("mixed_fp16")
        } else {
            Some("fp16")
        }
    } else if t.contains("amp") && (t.contains("autocast") || t.contains("mixed precision"))
        || t.contains("mixed precision")
    {
        Some("mixed_fp16")
    } else if t.contains("fp32") || t.contains("float32") || t.contains("full precision") {
        Some("fp32")
    } else {
        None
    }
}

/// "2 GPUs", "8 nodes", "DDP", "FSDP", "ZeRO-2".
pub fn distributed_from_text(text: &str) -> Option<String> {
    static DIST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(ddp|fsdp|zero-?[123]|zero stage \d|deepspeed|horovod|multi-?gpu|multi-?node|distributed|\d+\s*(?:x\s*)?gpus|\d+\s*nodes|data parallel|tensor parallel|pipeline parallel|tpu pod)\b")
            .expect("valid regex")
    });
    DIST.find(text).map(|m| m.as_str().to_string())
}

/// How a tried fix went, from the words used to report it.
pub fn tried_outcome(text: &str) -> TriedOutcome {
    let t = text.to_lowercase();
    let failed = [
        "didn't help",
        "did not help",
        "no effect",
        "doesn't help",
        "does not help",
        "didn't work",
        "did not work",
        "no change",
        "still",
        "same result",
        "no difference",
        "failed",
        "made it worse",
        "nothing changed",
        "no luck",
        "without success",
    ];
    let partial = [
        "partially",
        "a bit",
        "somewhat",
        "slightly",
        "delayed",
        "later",
        "less often",
        "reduced but",
    ];
    let helped = [
        "fixed",
        "solved",
        "helped",
        "works now",
        "resolved",
        "went away",
    ];
    if partial.iter().any(|w| t.contains(w)) {
        TriedOutcome::Partial
    } else if failed.iter().any(|w| t.contains(w)) {
        TriedOutcome::Failed
    } else if helped.iter().any(|w| t.contains(w)) {
        TriedOutcome::Helped
    } else {
        TriedOutcome::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<SymptomKind> {
        symptoms_from_text(text, "symptom")
            .iter()
            .map(|s| s.kind)
            .collect()
    }

    #[test]
    fn denied_symptoms_are_not_reported() {
        assert!(
            !kinds("Nothing is NaN, gradients look normal; it just doesn't learn")
                .contains(&SymptomKind::NonFinite)
        );
        assert!(
            !kinds("no NaN anywhere and the loss is not exploding")
                .contains(&SymptomKind::NonFinite)
        );
        assert!(
            kinds("no warmup was used, and the loss is NaN after 2k steps")
                .contains(&SymptomKind::NonFinite)
        );
        assert!(
            kinds("there were no NaNs at first, then the loss became NaN")
                .contains(&SymptomKind::NonFinite)
        );
    }

    #[test]
    fn reads_kinds_from_practitioner_phrases() {
        assert_eq!(
            kinds("loss becomes NaN after 2k steps with fp16"),
            vec![SymptomKind::NonFinite]
        );
        assert!(kinds("accuracy stuck at 50%").contains(&SymptomKind::ChanceLevel));
        assert!(kinds("the training hangs with an NCCL timeout").contains(&SymptomKind::Hang));
        assert!(
            kinds("validation loss is lower than training loss")
                .contains(&SymptomKind::ValBetterThanTrain)
        );
        assert!(
            kinds("training accuracy stays lower than validation accuracy the whole time")
                .contains(&SymptomKind::ValBetterThanTrain)
        );
        assert!(
            kinds("train_loss is always higher than val_loss")
                .contains(&SymptomKind::ValBetterThanTrain)
        );
        assert!(
            kinds("the codebook collapses to a few codes").contains(&SymptomKind::CodebookCollapse)
        );
        assert!(kinds("loss goes down nicely").is_empty());
        let s = symptoms_from_text("the validation loss becomes NaN", "symptom");
        assert_eq!(s[0].role, Some(MetricRole::ValLoss));
        let s = symptoms_from_text("episode reward stays flat", "symptom");
        assert_eq!(s[0].role, Some(MetricRole::Reward));
    }

    #[test]
    fn reads_onset_hyperparameters_precision_and_framework() {
        let text = "loss becomes NaN after 2k steps with fp16, lr 3e-4, batch 64 in PyTorch";
        assert_eq!(onset_step(text), Some(2000));
        assert_eq!(onset_step("nan after 10 epochs"), None);
        assert_eq!(onset_step("diverges around step 12,500"), Some(12500));
        let hp = hyperparameters_from_text(text);
        assert_eq!(hp["learning_rate"], serde_json::json!(0.0003));
        assert_eq!(hp["batch_size"], serde_json::json!(64));
        assert_eq!(precision_from_text(text), Some("fp16"));
        assert_eq!(
            precision_from_text("using AMP autocast with fp16"),
            Some("mixed_fp16")
        );
        assert_eq!(framework_from_text(text), Some("pytorch"));
        assert_eq!(
            model_from_text("training a VQ-VAE on audio"),
            Some("vq-vae")
        );
    }

    #[test]
    fn recognises_chance_level_from_numbers() {
        assert!(
            kinds("Loss is stuck at about 2.30 for all 10 epochs on 10 classes")
                .contains(&SymptomKind::ChanceLevel)
        );
        assert!(
            kinds("eval accuracy is 20% on a 5-class problem").contains(&SymptomKind::ChanceLevel)
        );
        assert!(
            kinds("binary classifier, accuracy 50% on validation")
                .contains(&SymptomKind::ChanceLevel)
        );
        assert!(
            !kinds("eval accuracy is 85% on a 5-class problem").contains(&SymptomKind::ChanceLevel)
        );
        assert!(!kinds("loss 1.2 on 10 classes").contains(&SymptomKind::ChanceLevel));
    }

    #[test]
    fn reads_tried_outcomes() {
        assert_eq!(
            tried_outcome("lowered lr to 1e-4, didn't help"),
            TriedOutcome::Failed
        );
        assert_eq!(
            tried_outcome("gradient clipping delayed the NaN"),
            TriedOutcome::Partial
        );
        assert_eq!(tried_outcome("bf16 fixed it"), TriedOutcome::Helped);
        assert_eq!(tried_outcome("added warmup"), TriedOutcome::Unknown);
    }
}

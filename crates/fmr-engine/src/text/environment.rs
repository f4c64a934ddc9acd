//! The run's environment from the user's words: hyperparameters and the
//! optimizer, framework, model family, precision and distributed set-up.
//!
//! Each reader is a table of patterns plus a few guards against numbers that
//! only look like a setting: "NaN at epoch 3" is not the epoch count, "batch
//! 1200 of 5000" is not a batch size, "CUDA 11.8" is not a hyperparameter.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

/// A number as practitioners write it: `3e-4`, `0.001`, `.5`, `2 × 10^-5`,
/// `10^-4`, `2k`, `1M`.
const NUMBER: &str = r"(10\s*\^\s*[-−]?\d+|(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?(?:\s*[x×*]\s*10\s*\^\s*[-−]?\d+)?(?:\s?[km]\b)?)";

/// The words between a name and its value: "lr=3e-4", "learning rate of 1e-3",
/// "batch size is 32", "lr: 5e-5", "Dropout(0.25)", "clipping at 1.0".
const LINK: &str = r#"['"]?\s*(?:(?:[=:(]|\bof\b|\bis\b|\bwas\b|\bset to\b|\bat\b|\bto\b|\baround\b|\babout\b|\bp\s*=)\s*){0,2}"#;

/// As [`LINK`], for spans of steps: "warmup for 4k steps", "over the first 1000".
const SPAN_LINK: &str = r#"['"]?\s*(?:(?:[=:(]|\bof\b|\bis\b|\bwas\b|\bfor\b|\bover\b|\bthe first\b|\blasting\b)\s*){0,3}"#;

/// One way of writing a hyperparameter: the canonical name and a pattern whose
/// first group is the value.
struct Phrase {
    name: &'static str,
    pattern: Regex,
}

/// How each canonical hyperparameter is written: (name, names before the
/// value, links, names after the value where that order is used: "3e-4
/// learning rate", "0.5 dropout", "2k warmup steps").
const WRITTEN: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "learning_rate",
        r"(?:(?:initial|peak|base|max|maximum|starting|init|global)[ _-]?)?(?:lr|learning[ _-]?rate)",
        LINK,
        Some(r"(?:as\s+(?:the\s+)?)?(?:peak\s+|initial\s+|base\s+)?(?:lr|learning[ _-]?rate)"),
    ),
    (
        "batch_size",
        r"(?:(?:per[ _-]?device(?:[ _-]train)?|micro|mini|global|effective|train)[ _-]?)?(?:batch[ _-]?size|batchsize|bs|batch)|minibatch(?:[ _-]?size)?|batches",
        LINK,
        Some(r"(?:samples|examples|images|sequences)\s+per\s+batch"),
    ),
    (
        "warmup_steps",
        r"(?:lr[ _-]?|linear[ _-]?|num[ _-])?warm-?up(?:[ _-]?(?:steps|iters|iterations))?",
        SPAN_LINK,
        Some(
            r"(?:linear\s+)?(?:lr\s+)?warm-?up\s+(?:steps|iterations|iters)|steps\s+of\s+(?:linear\s+)?warm-?up",
        ),
    ),
    ("warmup_ratio", r"warm-?up[ _-]?ratio", LINK, None),
    (
        "weight_decay",
        r"(?:decoupled\s+)?(?:weight[ _-]?decay|wd)",
        LINK,
        Some(r"weight[ _-]?decay"),
    ),
    (
        "grad_clip",
        r"grad(?:ient)?s?[ _-]?(?:norm[ _-]?)?clip(?:ping)?(?:[ _-]?(?:val|value|norm|threshold))?|clip(?:ping)?[ _-]?(?:the[ _-])?grad(?:ient)?s?(?:[ _-]?norms?)?|max[ _-]?grad[ _-]?norm|clip[ _-]?norm|clipnorm|clipvalue",
        LINK,
        None,
    ),
    (
        "adam_eps",
        r"(?:adam[ _-]?)?(?:eps|epsilon)",
        LINK,
        Some(r"(?:adam\s+)?(?:eps|epsilon)"),
    ),
    ("adam_beta1", r"(?:adam[ _-]?)?beta[ _-]?1", LINK, None),
    ("adam_beta2", r"(?:adam[ _-]?)?beta[ _-]?2", LINK, None),
    ("momentum", r"(?:nesterov[ _-]?)?momentum", LINK, None),
    (
        "gradient_accumulation_steps",
        r"grad(?:ient)?[ _-]?accum(?:ulation|ulate)?(?:[ _-]?steps)?|accumulate[ _-]grad[ _-]batches|accum(?:ulation)?[ _-]steps",
        LINK,
        Some(r"(?:gradient\s+|grad\s+)?accum(?:ulation)?\s+steps"),
    ),
    (
        "dropout",
        r"(?:(?:hidden|attention|attn|residual|resid|embedding|embd|classifier|lora)[ _-]?)?dropout(?:[ _-]?(?:rate|prob|probability|p))?",
        LINK,
        Some(r"dropout"),
    ),
    (
        "ent_coef",
        r"ent[ _-]?coef|entropy[ _-]?(?:coef(?:ficient)?|coeff|bonus|weight)",
        LINK,
        None,
    ),
    (
        "vf_coef",
        r"vf[ _-]?coef|value[ _-]?(?:function[ _-]?|loss[ _-]?)?coef(?:ficient)?",
        LINK,
        None,
    ),
    (
        "clip_range",
        r"clip[ _-]?range|clip[ _-]?param|cliprange|clip[ _-]?(?:epsilon|ratio)",
        LINK,
        None,
    ),
    ("gamma", r"gamma|discount(?:[ _-]?factor)?", LINK, None),
    (
        "gae_lambda",
        r"gae[ _-]?(?:lambda|λ)|lambda_gae",
        LINK,
        None,
    ),
    (
        "kl_coef",
        r"(?:init[ _-]?)?kl[ _-]?(?:coef(?:ficient)?|coeff|penalty(?:[ _-]?coef(?:ficient)?)?|beta)",
        LINK,
        None,
    ),
    ("kl_weight", r"kl[ _-]?weight", LINK, None),
    (
        "commitment_cost",
        r"commitment[ _-]?(?:cost|weight|beta|loss[ _-]?weight)",
        LINK,
        None,
    ),
    (
        "label_smoothing",
        r"label[ _-]?smoothing(?:[ _-]?factor)?",
        LINK,
        Some(r"label[ _-]?smoothing"),
    ),
    (
        "temperature",
        r"(?:sampling[ _-]?|softmax[ _-]?)?temperature",
        LINK,
        None,
    ),
    (
        "num_workers",
        r"(?:dataloader[ _-]?)?num[ _-]?workers",
        LINK,
        Some(r"(?:dataloader|data[ -]?loader|loader)\s+workers"),
    ),
    ("seed", r"(?:random[ _-]?)?seed", LINK, None),
];

/// Phrasings with their own shape: epoch and step budgets, "betas=(a, b)",
/// `clip_grad_norm_(params, 1.0)`, accumulation spelled out.
const SHAPED: &[(&str, &str)] = &[
    // "epochs=50", "num_train_epochs=3", "--num_train_epochs 3", "number of epochs is 10"
    (
        "epochs",
        r"\b(?:(?:--)?(?:num[ _]train[ _]epochs|num[ _]epochs|n[ _]epochs|max[ _]epochs)\s*['\x22]?\s*[=:\s]|(?:epochs|number of epochs)\s*['\x22]?\s*(?:[=:]|\bis\b|\bof\b))\s*NUMBER",
    ),
    // "trained for 10 epochs", "fine-tuning for 3 epochs"
    (
        "epochs",
        r"\b(?:train\w*|fine-?tun\w*|pre-?train\w*|ran|run|runs|fit\w*)\s+(?:\w+\s+){0,2}?for\s+NUMBER\s+epochs?\b",
    ),
    // "a 100-epoch run", "50 epochs total", "epoch 3/20"
    (
        "epochs",
        r"(?:^|[^\w.])NUMBER(?:-epoch|\s+epochs?)\s+(?:run|schedule|budget|training|total|in total)\b",
    ),
    ("epochs", r"\bepoch\s+\d+\s*(?:/|of|out of)\s*NUMBER"),
    // "linear warmup for 4k steps to a peak of 3e-4"
    (
        "learning_rate",
        r"\bwarm-?up\b[^.;]{0,40}?\bto\s+(?:a\s+)?peak(?:\s+(?:lr|learning rate))?\s+(?:of\s+)?NUMBER",
    ),
    (
        "max_steps",
        r"\b(?:--)?(?:max[ _-]?steps|num[ _-]?train[ _-]?steps|total[ _-]?steps|max[ _-]?train[ _-]?steps|total[ _-]?timesteps|max[ _-]?iters?|max[ _-]?iterations)\s*['\x22]?\s*(?:[=:]\s*|\s+)NUMBER",
    ),
    (
        "max_steps",
        r"\b(?:train\w*|fine-?tun\w*|pre-?train\w*|ran|run|runs)\s+(?:\w+\s+){0,2}?for\s+NUMBER\s+(?:training\s+|gradient\s+|optimi[sz]er\s+)?(?:steps|iterations|iters|updates|timesteps)\b",
    ),
    (
        "max_steps",
        r"\bfor\s+NUMBER\s+(?:env\s+|environment\s+)?timesteps\b",
    ),
    (
        "max_steps",
        r"\btotal of\s+NUMBER\s+(?:training\s+)?(?:steps|iterations|updates|timesteps)\b|(?:^|[^\w.])NUMBER\s+total\s+(?:training\s+)?steps\b",
    ),
    (
        "gradient_accumulation_steps",
        r"\baccumulat\w*\s+(?:the\s+)?grad(?:ient)?s\s+(?:over|for|across|every)\s+NUMBER\s+(?:steps|batches|micro-?batches|iterations)|\baccumulat\w*\s+NUMBER\s+(?:micro-?)?batches",
    ),
    (
        "grad_clip",
        r"\bclip_grad_norm_?\s*\((?:[^()]|\([^()]*\))*?,\s*(?:max_norm\s*=\s*)?NUMBER",
    ),
];

/// "no warmup", "without weight decay": the setting is 0.
const ABSENT: &[(&str, &str)] = &[
    (
        "warmup_steps",
        r"\b(?:no|without)\s+(?:lr\s+|learning[ -]rate\s+)?warm-?up\b",
    ),
    ("weight_decay", r"\b(?:no|without)\s+weight[ _-]?decay\b"),
    ("dropout", r"\b(?:no|without)\s+dropout\b"),
];

static PHRASES: LazyLock<Vec<Phrase>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for (name, before, link, after) in WRITTEN {
        let name_first = format!(r"(?i)\b(?:{before})\b{link}{NUMBER}");
        let value_first = after.map(|after| format!(r"(?i)(?:^|[^\w.]){NUMBER}\s+(?:{after})\b"));
        for pattern in std::iter::once(name_first).chain(value_first) {
            out.push(Phrase {
                name,
                pattern: Regex::new(&pattern).expect("valid hyperparameter pattern"),
            });
        }
    }
    for (name, shape) in SHAPED {
        out.push(Phrase {
            name,
            pattern: Regex::new(&format!("(?i){}", shape.replace("NUMBER", NUMBER)))
                .expect("valid hyperparameter pattern"),
        });
    }
    out
});

static ABSENT_PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    ABSENT
        .iter()
        .map(|(name, p)| {
            (
                *name,
                Regex::new(&format!("(?i){p}")).expect("valid pattern"),
            )
        })
        .collect()
});

/// "lowered the learning rate from 1e-3 to 1e-4": the value the run has now.
/// Without a verb of change, "from A to B" is a schedule and A is the peak.
static CHANGED: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    WRITTEN
        .iter()
        .map(|(name, before, _, _)| {
            let p = format!(
                r"(?i)\b(?:lower|reduc|decreas|rais|increas|chang|drop|cut|bump|halv|doubl|mov|switch|tweak|adjust|went|tried)\w*\b[^.;]{{0,25}}?\b(?:{before})\b\s+from\s+{NUMBER}\s*(?:to|→|->)\s*{NUMBER}"
            );
            (*name, Regex::new(&p).expect("valid change pattern"))
        })
        .collect()
});

/// `Adam betas (0.5, 0.999)`, `betas=(0.9, 0.95)`.
static BETAS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)\bbetas?\s*['"]?\s*(?:[=:]|\bof\b|\bare\b)?\s*[(\[]\s*{NUMBER}\s*,\s*{NUMBER}\s*[)\]]"#
    ))
    .expect("valid betas pattern")
});

/// A bare "beta 0.1": DPO's KL weight, a beta-VAE's KL weight.
static BARE_BETA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:dpo[ _-]?)?beta\b\s*(?:[=:]|\bof\b|\bis\b)?\s*{NUMBER}"
    ))
    .expect("valid beta pattern")
});

/// Parses [`NUMBER`]'s text: "2 × 10^-5" → 2e-5, "2k" → 2000.
fn parse_number(raw: &str) -> Option<f64> {
    let t: String = raw
        .to_lowercase()
        .replace('−', "-")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (t, scale) = match t.strip_suffix('k') {
        Some(rest) => (rest.to_string(), 1e3),
        None => match t.strip_suffix('m') {
            Some(rest) => (rest.to_string(), 1e6),
            None => (t, 1.0),
        },
    };
    let value = if let Some((mantissa, exponent)) = t.split_once("10^") {
        let mantissa = mantissa.trim_end_matches(['x', '×', '*']);
        let m = if mantissa.is_empty() {
            1.0
        } else {
            mantissa.parse::<f64>().ok()?
        };
        m * 10f64.powi(exponent.parse::<i32>().ok()?)
    } else {
        t.parse::<f64>().ok()?
    };
    Some(value * scale).filter(|v| v.is_finite())
}

/// Whether a value is one the setting can take: rates in 0..1, counts whole.
fn plausible(name: &str, v: f64) -> bool {
    match name {
        "learning_rate" => v > 0.0 && v <= 10.0,
        "dropout" | "label_smoothing" | "gamma" | "gae_lambda" | "momentum" | "adam_beta1"
        | "adam_beta2" | "warmup_ratio" => (0.0..=1.0).contains(&v),
        "adam_eps" => v > 0.0 && v < 1.0,
        "weight_decay" | "clip_range" | "ent_coef" | "vf_coef" => (0.0..=10.0).contains(&v),
        "batch_size" | "epochs" | "max_steps" | "gradient_accumulation_steps" => {
            v >= 1.0 && v.fract() == 0.0
        }
        "warmup_steps" | "num_workers" | "seed" => v >= 0.0 && v.fract() == 0.0,
        _ => v >= 0.0,
    }
}

/// Words before a bare "batch N" that make N a position: "at batch 1200".
static POSITION_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:at|after|on|in|from|during|around|by|until|before|every|each|per|first|last|up to)\s+$")
        .expect("valid regex")
});

/// A scheduler's or focal loss's gamma, not the RL discount.
static LR_DECAY_GAMMA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"scheduler|steplr|step_?size|exponentiallr|multisteplr|lr decay|focal")
        .expect("valid regex")
});

/// Where a bare "beta" is the KL weight against the reference policy.
static PREFERENCE_TUNING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:dpo|orpo|kto|ipo|simpo|rlhf|preference)\b").expect("valid regex")
});

/// Whether a reading (`whole` the match, `value` its number) is what its name
/// says, given the text around it.
fn fits_context(name: &str, text: &str, whole: regex::Match, value: regex::Match) -> bool {
    let before = &text[..whole.start()];
    let after = &text[value.end()..];
    let next = after.chars().next();
    // "10%" is not a setting; "8xA100" is not a batch size.
    if next.is_some_and(|c| c.is_alphanumeric() || c == '%' || c == '_') {
        return false;
    }
    let matched = whole
        .as_str()
        .trim_start_matches(|c: char| !c.is_alphanumeric());
    let lower = text.to_lowercase();
    match name {
        "batch_size" => {
            let bare = matched.to_lowercase().starts_with("batch ")
                && !matched.to_lowercase().starts_with("batch size");
            !(bare
                && (POSITION_BEFORE.is_match(before)
                    || after.trim_start().starts_with('/')
                    || after.trim_start().starts_with("of ")
                    || after.trim_start().starts_with("out of ")))
        }
        "warmup_steps" => !after.trim_start().to_lowercase().starts_with("epoch"),
        // BatchNorm's and an EMA's momentum are not the optimizer's
        "momentum" => {
            let tail = before.trim_end().to_lowercase();
            !["norm", "bn", "ema"].iter().any(|w| tail.ends_with(w))
        }
        "gamma" => !LR_DECAY_GAMMA.is_match(&lower),
        "adam_eps" => {
            !before.to_lowercase().trim_end().ends_with("clip")
                && !lower.contains("greedy")
                && !lower.contains("exploration")
        }
        _ => true,
    }
}

/// Hyperparameters written in prose, by canonical name (kb/README.md): "lr
/// 3e-4" → `learning_rate`, "bs=64" → `batch_size`, "no warmup" →
/// `warmup_steps = 0`, "AdamW" → `optimizer = "adamw"`. The first mention of
/// each wins, except "lowered the lr from 1e-3 to 1e-4", which gives the new
/// value.
pub fn hyperparameters_from_text(text: &str) -> BTreeMap<String, serde_json::Value> {
    let mut first: BTreeMap<&'static str, (usize, f64)> = BTreeMap::new();
    let mut note = |name: &'static str, at: usize, v: f64| {
        if plausible(name, v) {
            let slot = first.entry(name).or_insert((at, v));
            if at < slot.0 {
                *slot = (at, v);
            }
        }
    };
    for phrase in PHRASES.iter() {
        for caps in phrase.pattern.captures_iter(text) {
            // A shape with alternatives has one number group per branch: the
            // value is whichever group took part in the match.
            let whole = caps.get(0).expect("a match has its whole span");
            let Some(value) = caps.iter().skip(1).flatten().next() else {
                continue;
            };
            if let Some(v) = parse_number(value.as_str())
                && fits_context(phrase.name, text, whole, value)
            {
                note(phrase.name, whole.start(), v);
            }
        }
    }
    for (name, pattern) in ABSENT_PATTERNS.iter() {
        if let Some(m) = pattern.find(text) {
            note(name, m.start(), 0.0);
        }
    }
    if let Some(caps) = BETAS.captures(text) {
        let at = caps.get(0).map_or(0, |m| m.start());
        if let Some(b1) = parse_number(&caps[1]) {
            note("adam_beta1", at, b1);
        }
        if let Some(b2) = parse_number(&caps[2]) {
            note("adam_beta2", at, b2);
        }
    }
    let lower = text.to_lowercase();
    let beta_means = if PREFERENCE_TUNING.is_match(&lower) {
        Some("kl_coef")
    } else if lower.contains("vae") {
        Some("kl_weight")
    } else {
        None
    };
    if let Some(name) = beta_means
        && let Some(caps) = BARE_BETA.captures(text)
        && let Some(v) = parse_number(&caps[1])
    {
        note(name, caps.get(0).map_or(0, |m| m.start()), v);
    }
    let mut out: BTreeMap<String, serde_json::Value> = first
        .into_iter()
        .map(|(name, (_, v))| (name.to_string(), number_value(v)))
        .collect();
    for (name, pattern) in CHANGED.iter() {
        if let Some(caps) = pattern.captures(text)
            && let Some(v) = parse_number(&caps[2]).filter(|v| plausible(name, *v))
        {
            out.insert(name.to_string(), number_value(v));
        }
    }
    if let Some(optimizer) = optimizer_from_text(text) {
        out.insert("optimizer".to_string(), optimizer.into());
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

/// Optimizer classes, lower case as configs name them (the usual weight-decay
/// range depends on Adam vs AdamW).
static OPTIMIZERS: &[(&str, &str)] = &[
    (
        r"\b8[ -]?bit\s+adam\w*|adam\w*?[ _-]?8[ _-]?bit|bnb\.optim\.adam",
        "adamw_8bit",
    ),
    (r"\badafactor\b", "adafactor"),
    (r"\blion\b", "lion"),
    (r"\blamb\b", "lamb"),
    (r"\blars\b", "lars"),
    (r"\bsophia\b", "sophia"),
    (r"\bmuon\b", "muon"),
    (r"\bshampoo\b", "shampoo"),
    (r"\bradam\b", "radam"),
    (r"\bnadam\b", "nadam"),
    (r"\badamax\b", "adamax"),
    (r"\badadelta\b", "adadelta"),
    (r"\badagrad\b", "adagrad"),
    (r"\brms-?prop\b", "rmsprop"),
    (r"\bl-?bfgs\b", "lbfgs"),
    (r"\bsgd\b", "sgd"),
    (
        r"\badamw\b|\badamw_(?:torch|hf|apex_fused|torch_fused)\b",
        "adamw",
    ),
    // "adam_eps" and "adam_beta2" name Adam's settings, not the class
    (r"\badam\b(?:$|[^-]|-[^eb])", "adam"),
];

static OPTIMIZER_PATTERNS: LazyLock<Vec<(Regex, &'static str)>> =
    LazyLock::new(|| compile(OPTIMIZERS));

/// The optimizer in use: "switched from Adam to SGD" → `sgd`.
fn optimizer_from_text(text: &str) -> Option<&'static str> {
    let mut mentions: Vec<(usize, &'static str)> = OPTIMIZER_PATTERNS
        .iter()
        .flat_map(|(r, name)| r.find_iter(text).map(move |m| (m.start(), *name)))
        .collect();
    mentions.sort();
    mentions.dedup_by_key(|(at, _)| *at);
    let current = mentions
        .iter()
        .filter(|(at, _)| !replaced(&text[..*at]))
        .map(|(_, name)| *name)
        .next();
    current.or_else(|| mentions.last().map(|(_, name)| *name))
}

/// Whether the words before a mention make it the setting left behind:
/// "from Adam", "instead of fp16", "rather than DDP".
fn replaced(before: &str) -> bool {
    static FROM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:from|instead of|rather than|replac\w*|than)\s+(?:the\s+)?$")
            .expect("valid regex")
    });
    FROM.is_match(before)
}

/// Whether a mention is denied or switched off: "no autocast", "not using
/// mixed precision", "fp16 is disabled", "fp16=False", "from fp16 to bf16".
fn switched_off(text: &str, start: usize, end: usize) -> bool {
    static BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:no|not|without|never|disabled?|w/o|removed|dropped|got rid of|(?:turn|turned|switch|switched) off)\s+(?:(?:using|use|used|uses|any|the|a|in|with|enabled?|training|run|running)\s+){0,2}$")
            .expect("valid regex")
    });
    static AFTER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)^['"]?\s*(?:=\s*false|:\s*false|is\s+(?:disabled|off|not used)|disabled|off\b)"#,
        )
        .expect("valid regex")
    });
    BEFORE.is_match(&text[..start]) || AFTER.is_match(&text[end..]) || replaced(&text[..start])
}

/// (pattern, canonical framework), most specific first.
static FRAMEWORKS: &[(&str, &str)] = &[
    (r"deepspeed", "deepspeed"),
    (r"lightning", "lightning"),
    (
        r"\btrl\b|\b(?:sft|dpo|ppo|grpo|reward|kto|orpo)trainer\b",
        "trl",
    ),
    (r"\baxolotl\b", "axolotl"),
    (r"\bunsloth\b", "unsloth"),
    (r"diffusers|dreambooth|stable diffusion", "diffusers"),
    (
        r"transformers|hugging ?face|\bhf\b|\btrainer\b|trainingarguments|\bautomodel\w*|from_pretrained",
        "transformers",
    ),
    // The library, not the verb ("to accelerate training").
    (
        r"\baccelerate (launch|config|library|package)\b|\b(from|import|with|using|via|hugging ?face) accelerate\b|\baccelerator\(",
        "accelerate",
    ),
    (r"stable[- ]?baselines|\bsb3\b", "stable-baselines3"),
    (r"\bcleanrl\b", "cleanrl"),
    // Ray Tune and Ray Train are not RLlib.
    (r"rllib", "rllib"),
    (r"\bultralytics\b", "ultralytics"),
    (r"\bmegatron", "megatron-lm"),
    (r"\bfastai\b", "fastai"),
    (r"keras", "keras"),
    (r"\bjax\b|\bflax\b|\boptax\b", "jax"),
    // "TF-IDF" is a feature, not TensorFlow.
    (r"tensorflow|\btf\b(?:[^-]|-[^i]|$)", "tensorflow"),
    (r"\bxgboost\b", "xgboost"),
    (r"\blightgbm\b", "lightgbm"),
    (r"pytorch|\btorch\b", "pytorch"),
];

/// (pattern, model family), most specific first.
static MODELS: &[(&str, &str)] = &[
    (r"vq-?vae|vector.quanti[sz]", "vq-vae"),
    (r"\bvae\b|variational auto", "vae"),
    (
        r"\b(?:style|dc|w|cycle|big|pro|sn|ls|info|sr|esr)?gans?\d*\b|discriminator",
        "gan",
    ),
    (
        r"diffusion|dreambooth|\bddpm\b|\bddim\b|\bsdxl\b|\bsd ?1\.5\b",
        "diffusion",
    ),
    (
        r"\bllm|llama|\bgpt|mistral|mixtral|qwen|gemma|\bphi-?\d|falcon|deepseek|pythia|\bt5\b|\bflan-|language model|\b\d+(?:\.\d+)?b\b",
        "llm",
    ),
    (
        r"\b(?:ro|de|distil|al|tiny|mobile|sci|bio)?bert(?:a)?\b|\belectra\b",
        "bert",
    ),
    (
        r"\btransformer\b|\bvit\b|\bswin\b|\bdeit\b|self-attention|attention (?:layer|head|block)s?",
        "transformer",
    ),
    (r"\bppo\b", "ppo"),
    (r"\bsac\b", "sac"),
    (r"\btd3\b", "td3"),
    (r"\bddpg\b", "ddpg"),
    (r"\b(?:d|dd)qn\b|q-learning|double dqn", "dqn"),
    (r"\blstm\b|\bgru\b|\brnn\b|recurrent", "rnn"),
    (
        r"resnet|\bcnn\b|convolution|\bconv ?net|\bconv\b|\bu-?net\b|efficientnet|\bvgg|convnext|mobilenet|\byolo|densenet",
        "cnn",
    ),
    (r"\bmlp\b|multi-?layer perceptron", "mlp"),
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

/// The framework named in the text, most specific first: "HF Trainer with
/// DeepSpeed" → `deepspeed`, "tf.keras" → `keras`.
pub fn framework_from_text(text: &str) -> Option<&'static str> {
    first_match(text, &FRAMEWORK_PATTERNS)
}

/// The model family: "DeBERTa-v3" → `bert`, "StyleGAN2" → `gan`, "7B" → `llm`.
pub fn model_from_text(text: &str) -> Option<&'static str> {
    first_match(text, &MODEL_PATTERNS)
}

/// How each precision is written. `fp16` alone becomes `mixed_fp16` when the
/// text also names AMP, autocast, a loss scaler or mixed precision.
static PRECISIONS: &[(&str, &str)] = &[
    (r"bf16|bfloat16", "bf16"),
    (
        r#"\.half\(\)|pure fp16|torch_dtype\s*=\s*(?:torch\.)?['"]?float16|compute_dtype\s*=\s*(?:torch\.)?float16"#,
        "pure_fp16",
    ),
    (
        r#"\bfp16\s*=\s*true|--fp16\b|precision\s*=\s*['"]?16\b|mixed_float16|mixed[ _-]?precision|\bamp\b|autocast|grad ?scaler|loss[ _-]?scal\w*|\bapex\b"#,
        "mixed_fp16",
    ),
    (r"fp16|float16|half[ -]precision", "fp16"),
    (r"\bfp8\b|float8", "fp8"),
    (
        r#"fp32|float32|full[ -]precision|\btf32\b|precision\s*=\s*['"]?32\b"#,
        "fp32",
    ),
    (
        r"load_in_4bit|\bint4\b|\bnf4\b|4-bit quantiz\w*|\bqlora\b",
        "int4",
    ),
    (r"load_in_8bit|\bint8\b|8-bit quantiz\w*|llm\.int8", "int8"),
];

static PRECISION_PATTERNS: NameTable = LazyLock::new(|| compile(PRECISIONS));

/// `fp16`, `mixed_fp16`, `bf16`, `fp8`, `fp32` (TF32 included: its storage
/// is fp32 and no fp16 overflow can occur), or `int4`/`int8` for a quantized
/// model with no compute dtype named. Denied mentions ("no autocast", "fp16
/// is disabled", "from fp16 to bf16") do not count.
pub fn precision_from_text(text: &str) -> Option<&'static str> {
    let named: Vec<&str> = PRECISION_PATTERNS
        .iter()
        .filter(|(r, _)| {
            r.find_iter(text)
                .any(|m| !switched_off(text, m.start(), m.end()))
        })
        .map(|(_, name)| *name)
        .collect();
    let has = |name: &str| named.contains(&name);
    if has("bf16") {
        Some("bf16")
    } else if has("pure_fp16") {
        Some("fp16")
    } else if has("mixed_fp16") {
        Some("mixed_fp16")
    } else {
        ["fp16", "fp8", "fp32", "int4", "int8"]
            .into_iter()
            .find(|p| has(p))
    }
}

/// Parallelism strategies, in the words used for them.
static STRATEGIES: &[(&str, &str)] = &[
    (r"\bfsdp\b|fully sharded", "fsdp"),
    (
        r"deepspeed(?:\s+(?:zero[ -]?)?stage[ -]?[0-3])?|\bzero[ -]?(?:stage[ -]?)?[0-3]\b",
        "deepspeed",
    ),
    (
        r"\bddp\b|distributeddataparallel|distributed data parallel|\btorchrun\b|torch\.distributed\.launch",
        "ddp",
    ),
    (
        r"\bdata[ -]?parallel\b|\bdataparallel\b|mirroredstrategy|mirrored strategy",
        "data parallel",
    ),
    (r"\bhorovod\b", "horovod"),
    (r"\btensor[ -]parallel", "tensor parallel"),
    (r"\bpipeline[ -]parallel", "pipeline parallel"),
    (r"\bmodel[ -]parallel", "model parallel"),
    (r"\btpu\b", "tpu"),
    (
        r"\bmulti-?gpu\b|\bmultiple gpus\b|\bmulti-?node\b|\bdistributed\b",
        "distributed",
    ),
];

static STRATEGY_PATTERNS: NameTable = LazyLock::new(|| compile(STRATEGIES));

/// "8 GPUs", "8xA100", "two 4090s", `--nproc_per_node=8`.
static GPU_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d{1,4}|two|three|four|five|six|seven|eight|sixteen)\s*(?:x|×|\*)?\s*(?:gpus?|(?:nvidia\s+)?(?:a100|h100|h200|v100|a10g|a10|l4|l40s?|t4|a6000|p100|k80|mi250x?|mi300x?|(?:rtx\s?)?[2-5]0[6-9]0(?:\s?ti)?)s?)\b|\b(?:nproc[_-]per[_-]node|num_gpus|n_gpus|--gpus)\s*[= ]\s*(\d{1,4})\b")
        .expect("valid regex")
});

static NODE_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d{1,4}|two|three|four|eight|sixteen)\s*(?:x\s*)?nodes\b|\bnnodes\s*[= ]\s*(\d{1,4})\b")
        .expect("valid regex")
});

fn count(word: &str) -> Option<u32> {
    Some(match word.to_lowercase().as_str() {
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "sixteen" => 16,
        digits => digits.parse().ok()?,
    })
}

/// The first count above one that `pattern` finds, up to 1024 ("RTX 3090" is
/// a card, not 3090 of them).
fn first_count(pattern: &Regex, text: &str) -> Option<u32> {
    pattern
        .captures_iter(text)
        .filter_map(|c| {
            c.get(1)
                .or_else(|| c.get(2))
                .and_then(|m| count(m.as_str()))
        })
        .find(|n| (2..=1024).contains(n))
}

/// The strategy a DeepSpeed mention names: "ZeRO-3" → `deepspeed zero-3`.
fn deepspeed_stage(mention: &str) -> String {
    match mention.chars().rev().find(char::is_ascii_digit) {
        Some(stage) => format!("deepspeed zero-{stage}"),
        None => "deepspeed".to_string(),
    }
}

/// The distributed set-up, normalised: strategies in the order written, then
/// the scale: "FSDP on 2 nodes x 8 GPUs" → `fsdp, 2 nodes, 8 gpus`; "DeepSpeed
/// stage 2" → `deepspeed zero-2`; `torchrun --nproc_per_node=8` → `ddp, 8
/// gpus`. A single GPU, or distributed training denied, is `None`.
pub fn distributed_from_text(text: &str) -> Option<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for (pattern, name) in STRATEGY_PATTERNS.iter() {
        if let Some(m) = pattern
            .find_iter(text)
            .find(|m| !switched_off(text, m.start(), m.end()))
        {
            let label = if *name == "deepspeed" {
                deepspeed_stage(m.as_str())
            } else {
                name.to_string()
            };
            found.push((m.start(), label));
        }
    }
    found.sort();
    let mut parts: Vec<String> = Vec::new();
    for (_, label) in found {
        if !parts.contains(&label) {
            parts.push(label);
        }
    }
    let nodes = first_count(&NODE_COUNT, text);
    let gpus = first_count(&GPU_COUNT, text);
    // A generic word adds nothing next to a named strategy or a count.
    if parts.len() > 1 || nodes.is_some() || gpus.is_some() {
        parts.retain(|p| p != "distributed");
    }
    parts.extend(nodes.map(|n| format!("{n} nodes")));
    parts.extend(gpus.map(|n| format!("{n} gpus")));
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_in_every_notation() {
        assert_eq!(parse_number("3e-4"), Some(3e-4));
        assert_eq!(parse_number(".001"), Some(0.001));
        assert_eq!(parse_number("2 × 10^-5"), Some(2e-5));
        assert_eq!(parse_number("10^-4"), Some(1e-4));
        assert_eq!(parse_number("2k"), Some(2000.0));
        assert_eq!(parse_number("1M"), Some(1e6));
        assert_eq!(parse_number("abc"), None);
    }

    #[test]
    fn implausible_values_are_not_settings() {
        assert!(!plausible("dropout", 50.0));
        assert!(!plausible("batch_size", 0.5));
        assert!(!plausible("learning_rate", 1000.0));
        assert!(plausible("warmup_steps", 0.0));
    }

    #[test]
    fn a_value_in_the_second_branch_of_a_shape_is_read() {
        // The accumulation shape has two branches, each with its own number
        // group; the second used to panic on a missing first group.
        let read = hyperparameters_from_text("I am accumulating 10 batches before each step");
        assert_eq!(
            read.get("gradient_accumulation_steps"),
            Some(&serde_json::json!(10))
        );
        let read = hyperparameters_from_text("we accumulate the gradients over 8 steps");
        assert_eq!(
            read.get("gradient_accumulation_steps"),
            Some(&serde_json::json!(8))
        );
    }
}

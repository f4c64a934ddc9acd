//! Stage 3: queries at four widening levels, each hit remembering its level.

use std::collections::BTreeMap;

use fmr_core::{Characterization, Query, SymptomKind};
use fmr_kb::{KnowledgeBase, Level, SearchIndex};

/// How many hits each query keeps. Entries past the first fifteen of the
/// symptom query still win now and then on their phrasings and signatures.
const HITS_PER_QUERY: usize = 20;
/// Words of the user's description a query keeps (setting names come first).
const DESCRIBED_WORDS: usize = 80;
/// Words a query keeps in all.
const QUERY_WORDS: usize = 100;
/// How many top entries seed the analogy walk.
const ANALOGY_SEEDS: usize = 3;

/// What the search found for one entry.
#[derive(Debug, Clone, Default)]
pub struct EntryHits {
    /// Best normalised score (0..1, 1 = top hit of its query) per level.
    pub by_level: BTreeMap<u8, f64>,
    /// Query terms matched, for the evidence line.
    pub matched: Vec<String>,
    /// For level-4 hits: the entry whose analogy led here, and the note.
    pub via_analogy: Option<(String, String)>,
}

impl EntryHits {
    /// The text score: the best level, discounted as the level widens.
    pub fn text_score(&self) -> f64 {
        self.by_level
            .iter()
            .map(|(level, score)| score * level_discount(*level))
            .fold(0.0, f64::max)
    }
}

pub fn level_discount(level: u8) -> f64 {
    match level {
        1 => 1.0,
        2 => 0.85,
        3 => 0.7,
        _ => 0.5,
    }
}

/// Runs the four levels; returns the queries (for the report) and hits per entry.
pub fn search(
    c: &Characterization,
    symptom_text: Option<&str>,
    kb: &KnowledgeBase,
    index: &SearchIndex,
) -> (Vec<Query>, BTreeMap<String, EntryHits>) {
    let mut queries = Vec::new();
    let mut hits: BTreeMap<String, EntryHits> = BTreeMap::new();
    let kinds = symptom_kinds(c);
    let kind_words = kinds
        .iter()
        .map(|k| kind_phrase(*k))
        .collect::<Vec<_>>()
        .join(" ");
    let env = &c.environment;
    let context = [env.framework.as_deref(), env.model.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");

    // L1 exact: the user's words, the symptoms, framework and model.
    // Library and trainer class names in the user's words say where the run is,
    // which the environment fit weighs; as search words they are rare enough to
    // lift any entry that happens to name them ("SFTTrainer") above the one that
    // describes the mechanism. The framework itself still joins the query once.
    let described = symptom_text.map(strip_library_names).unwrap_or_default();
    // The description is capped on its own, so that a long one cannot push the
    // symptom kinds and the framework out of the query.
    let l1 = [
        capped(&described, DESCRIBED_WORDS).as_str(),
        &kind_words,
        &context,
    ]
    .join(" ");
    run_query(
        index,
        &mut queries,
        Level::Exact,
        squash(&l1),
        "the symptom as described and measured, with framework and model".into(),
        &mut hits,
    );

    // L2 technique: what the run is doing (precision, model family, distribution) plus the failure.
    let techniques = technique_words(c);
    if !techniques.is_empty() {
        let l2 = format!("{techniques} {kind_words}");
        run_query(
            index,
            &mut queries,
            Level::Technique,
            squash(&l2),
            format!("the techniques in use ({techniques}) with the failure"),
            &mut hits,
        );
    }

    // L3 phenomenon: the mechanism behind each symptom kind.
    let phenomena = kinds
        .iter()
        .map(|k| phenomenon_words(*k))
        .collect::<Vec<_>>()
        .join(" ");
    if !phenomena.trim().is_empty() {
        run_query(
            index,
            &mut queries,
            Level::Phenomenon,
            squash(&phenomena),
            "the underlying phenomena of the symptoms".into(),
            &mut hits,
        );
    }

    // L4 analogy: walk the analogy graph from the best entries so far and search
    // again in the other field's vocabulary.
    let mut ranked: Vec<(&String, f64)> = hits.iter().map(|(id, h)| (id, h.text_score())).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let seeds: Vec<String> = ranked
        .iter()
        .take(ANALOGY_SEEDS)
        .map(|(id, _)| (*id).clone())
        .collect();
    let mut walked: Vec<String> = Vec::new();
    for seed in seeds {
        for (other, note) in kb.analogies_of(&seed) {
            if walked.contains(&other.id) {
                continue;
            }
            walked.push(other.id.clone());
            let text = format!("{} {}", other.title, other.phenomena.join(" "));
            run_query(
                index,
                &mut queries,
                Level::Analogy,
                squash(&text),
                format!(
                    "analogy from {seed} to {} ({}): {note}",
                    other.id,
                    other.domains.first().map(String::as_str).unwrap_or("")
                ),
                &mut hits,
            );
            let e = hits.entry(other.id.clone()).or_default();
            let slot = e.by_level.entry(Level::Analogy.number()).or_insert(0.0);
            *slot = slot.max(0.6);
            if e.via_analogy.is_none() {
                e.via_analogy = Some((seed.clone(), note.to_string()));
            }
        }
    }
    (queries, hits)
}

/// The bm25 score at which a level's best hit counts in full. Scores are
/// normalised to the query's best hit, so a query whose words all are common
/// would otherwise give its weak best hit full credit. The technique query is
/// made of technique words only ("fine-tuning", "adam"), and matches on those
/// alone are weak: below about 16 (the median best technique hit over the dev
/// cases) its hits count in proportion. The symptom query (L1) carries the
/// user's own words and is left relative: a floor there cost as much as it gained.
fn level_reference(level: Level) -> f64 {
    match level {
        Level::Technique => 16.0,
        _ => 0.0,
    }
}

/// Runs one query and folds its normalised scores into `hits`.
fn run_query(
    index: &SearchIndex,
    queries: &mut Vec<Query>,
    level: Level,
    text: String,
    rationale: String,
    hits: &mut BTreeMap<String, EntryHits>,
) {
    if text.trim().is_empty() {
        return;
    }
    let found = index
        .search(&text, level, HITS_PER_QUERY)
        .unwrap_or_default();
    let top = found
        .first()
        .map(|h| h.score)
        .unwrap_or(1.0)
        .max(f64::EPSILON);
    for h in &found {
        let e = hits.entry(h.id.clone()).or_default();
        let norm = (h.score / top.max(level_reference(level))).clamp(0.0, 1.0);
        let slot = e.by_level.entry(level.number()).or_insert(0.0);
        *slot = slot.max(norm);
        for m in &h.matched {
            if !e.matched.contains(m) {
                e.matched.push(m.clone());
            }
        }
    }
    queries.push(Query {
        level: level.number(),
        text,
        rationale,
        hits: found.into_iter().map(|h| h.id).collect(),
    });
}

fn symptom_kinds(c: &Characterization) -> Vec<SymptomKind> {
    let mut kinds: Vec<SymptomKind> = Vec::new();
    for s in &c.symptoms {
        if !kinds.contains(&s.kind) {
            kinds.push(s.kind);
        }
    }
    kinds
}

/// The text without names of training libraries and their trainer classes.
fn strip_library_names(text: &str) -> String {
    static NAMES: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(\w*trainer|pytorch|torch|tensorflow|keras|jax|flax|lightning|transformers|hugging ?face|trl|deepspeed|accelerate|diffusers|peft)\b",
        )
        .expect("valid regex")
    });
    NAMES.replace_all(text, " ").into_owned()
}

/// Collapses whitespace and caps the query at a sensible length.
fn squash(text: &str) -> String {
    capped(text, QUERY_WORDS)
}

/// The first `max` whitespace-separated words of `text`, single-spaced.
fn capped(text: &str, max: usize) -> String {
    text.split_whitespace()
        .take(max)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words a practitioner would use for a symptom kind.
pub fn kind_phrase(kind: SymptomKind) -> &'static str {
    use SymptomKind::*;
    match kind {
        NonFinite => "loss nan inf",
        Divergence => "loss diverges explodes",
        Spike => "loss spikes",
        Oscillation => "loss oscillates unstable",
        Plateau => "loss plateau stuck not learning",
        SlowConvergence => "slow convergence",
        ChanceLevel => "accuracy chance level random guessing",
        TrainValGap => "overfitting validation loss increases",
        ValBetterThanTrain => "validation loss lower than training loss",
        EvalWorseThanTrain => "evaluation worse than training eval mode",
        MetricTooGood => "suspiciously high accuracy leakage",
        GradExplosion => "exploding gradients gradient norm",
        GradVanishing => "vanishing gradients",
        LrAnomaly => "learning rate schedule warmup",
        LossScaleCollapse => "loss scale collapse overflow skipped steps",
        ZeroLoss => "loss zero",
        ConstantOutput => "constant prediction same output",
        CodebookCollapse => "codebook collapse dead codes",
        ModeCollapse => "mode collapse diversity",
        PosteriorCollapse => "posterior collapse kl zero",
        EntropyCollapse => "policy entropy collapse",
        EntropyStuckHigh => "entropy stays high uniform policy",
        RewardPlateau => "reward flat not improving",
        RewardHacking => "reward hacking exploit",
        KlBlowup => "kl divergence blows up",
        ValueLossExplosion => "value loss huge explained variance",
        DiscriminatorWins => "discriminator loss zero wins",
        DeadUnits => "dead units dead relu",
        WeightCollapse => "weight norm shrinks to zero weights collapse",
        ThroughputRegression => "slow training throughput",
        MemoryGrowth => "memory leak growth",
        OutOfMemory => "cuda out of memory",
        Hang => "hang deadlock nccl timeout",
        Restart => "restart resume steps reset",
        Nondeterminism => "nondeterministic results reproducibility",
        DegenerateOutput => "degenerate output never stops",
        Artifacts => "artifacts noise aliasing",
    }
}

/// The mechanism vocabulary of a symptom kind (L3).
pub fn phenomenon_words(kind: SymptomKind) -> &'static str {
    use SymptomKind::*;
    match kind {
        NonFinite => "numerical overflow underflow floating point instability",
        Divergence | GradExplosion | Spike => {
            "instability step size too large feedback amplification"
        }
        Oscillation => "oscillation instability step size periodic",
        Plateau | SlowConvergence => "optimization stall saturation vanishing signal no gradient",
        ChanceLevel | ConstantOutput => "no learning signal constant prediction label mismatch",
        TrainValGap => "overfitting memorization generalization gap",
        ValBetterThanTrain | MetricTooGood => {
            "leakage contamination regularization dropout eval mode"
        }
        EvalWorseThanTrain => "train test mismatch distribution shift normalization statistics",
        GradVanishing => "vanishing gradient saturation depth",
        LrAnomaly => "learning rate schedule",
        LossScaleCollapse => "overflow dynamic range loss scaling",
        ZeroLoss => "masked labels degenerate objective",
        CodebookCollapse | DeadUnits => "dead units unused clusters winner take all",
        WeightCollapse => "over-regularization weight decay shrinkage underfitting",
        ModeCollapse => "mode collapse diversity loss adversarial",
        PosteriorCollapse => "latent ignored kl vanishing",
        EntropyCollapse => "premature convergence exploration collapse",
        EntropyStuckHigh => "exploration regularization too strong",
        RewardPlateau => "sparse reward credit assignment exploration",
        RewardHacking => "goodhart proxy objective specification gaming",
        KlBlowup => "policy drift trust region",
        ValueLossExplosion => "reward scale normalization value function",
        DiscriminatorWins => "adversarial imbalance discriminator overfitting",
        ThroughputRegression => "bottleneck input pipeline straggler",
        MemoryGrowth | OutOfMemory => "memory leak retained graph fragmentation",
        Hang => "collective communication deadlock synchronization",
        Restart => "checkpoint resume state",
        Nondeterminism => "nondeterminism race seed",
        DegenerateOutput => "degenerate generation stopping token",
        Artifacts => "aliasing resampling spectral leakage",
    }
}

/// Technique vocabulary from the environment (L2).
fn technique_words(c: &Characterization) -> String {
    let env = &c.environment;
    let mut words: Vec<&str> = Vec::new();
    match env.precision.as_deref() {
        Some("fp16") => words.extend(["fp16", "half precision", "mixed precision"]),
        Some("mixed_fp16") => words.extend(["fp16", "mixed precision", "amp", "loss scaling"]),
        Some("bf16") => words.extend(["bf16", "bfloat16"]),
        _ => {}
    }
    if let Some(model) = env.model.as_deref() {
        words.push(match model {
            "vq-vae" => "vq-vae vector quantization codebook",
            "vae" => "vae variational autoencoder",
            "gan" => "gan adversarial generator discriminator",
            "diffusion" => "diffusion fine-tuning",
            "llm" => "language model pretraining fine-tuning",
            "ppo" => "ppo policy gradient",
            "sac" => "sac actor critic",
            "dqn" => "q-learning dqn",
            "rnn" => "rnn lstm recurrent",
            "transformer" => "transformer attention",
            other => other,
        });
    }
    if let Some(d) = env.distributed.as_deref() {
        words.push(d);
        words.push("distributed data parallel");
    }
    for key in [
        "warmup_steps",
        "gradient_accumulation_steps",
        "grad_clip",
        "weight_decay",
        "ent_coef",
        "kl_coef",
    ] {
        if env.hyperparameters.contains_key(key) {
            words.push(match key {
                "warmup_steps" => "warmup",
                "gradient_accumulation_steps" => "gradient accumulation",
                "grad_clip" => "gradient clipping",
                "weight_decay" => "weight decay",
                "ent_coef" => "entropy coefficient",
                _ => "kl penalty",
            });
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best_normalised(text: &str, level: Level) -> f64 {
        let kb = KnowledgeBase::embedded();
        let index = SearchIndex::build(kb.entries()).expect("index");
        let mut queries = Vec::new();
        let mut hits = BTreeMap::new();
        run_query(
            &index,
            &mut queries,
            level,
            text.into(),
            String::new(),
            &mut hits,
        );
        hits.values()
            .filter_map(|h| h.by_level.get(&level.number()).copied())
            .fold(0.0, f64::max)
    }

    #[test]
    fn a_long_description_keeps_the_symptom_kinds_and_framework_in_the_query() {
        let kb = KnowledgeBase::embedded();
        let index = SearchIndex::build(kb.entries()).expect("index");
        let mut c = Characterization {
            symptoms: crate::text::symptoms_from_text("the loss becomes NaN", "symptom"),
            ..Characterization::default()
        };
        c.environment.framework = Some("jax".into());
        let long = "we changed several things in the preprocessing stage last week ".repeat(15);
        let (queries, _) = search(&c, Some(&long), &kb, &index);
        let exact = &queries[0];
        assert_eq!(exact.level, Level::Exact.number());
        assert!(exact.text.ends_with("loss nan inf jax"), "{}", exact.text);
        assert!(exact.text.split_whitespace().count() <= QUERY_WORDS);
    }

    #[test]
    fn library_and_trainer_names_leave_the_symptom_query() {
        let text = strip_library_names(
            "With SFTTrainer from TRL (transformers 4.40, PyTorch) the loss doubles",
        );
        for name in ["SFTTrainer", "TRL", "transformers", "PyTorch"] {
            assert!(!text.contains(name), "{name} left in {text:?}");
        }
        assert!(text.contains("the loss doubles"));
        // Words that only contain a name stay.
        assert!(strip_library_names("torchvision kerasify").contains("torchvision"));
    }

    #[test]
    fn a_weak_technique_match_gets_partial_credit_and_a_strong_one_full() {
        let weak = best_normalised("pytorch model", Level::Technique);
        assert!(
            weak > 0.0 && weak < 1.0,
            "weak technique match scored {weak}"
        );
        let strong = best_normalised(
            "mixed precision fp16 amp autocast gradscaler loss scaling",
            Level::Technique,
        );
        assert_eq!(strong, 1.0);
        // The symptom level stays relative to its best hit.
        assert_eq!(best_normalised("pytorch model", Level::Exact), 1.0);
    }
}

//! Stage 4: candidate failure modes scored by evidence, with the arithmetic shown.
//!
//! The score is a sum of named terms (log-odds style), turned into likelihoods by a
//! softmax that includes an "something else" alternative, so a weak best match
//! does not read as a confident one.

use std::collections::{BTreeMap, HashSet};

use fmr_core::{
    AuditFinding, Characterization, Evidence, EvidenceKind, Hypothesis, HypothesisStatus, Origin,
    ScoreTerm, SymptomKind, TriedOutcome,
};
use fmr_kb::{Entry, KnowledgeBase};

use crate::search::EntryHits;

/// Weights of the score terms. Signatures and code are the strongest evidence;
/// words alone are weaker; the base rate is a prior.
const W_SIGNATURE: f64 = 2.5;
const W_TEXT: f64 = 4.0;
/// A practitioner phrasing of the entry found nearly whole in the user's words.
const W_PHRASE: f64 = 2.0;
/// A hyperparameter a decade (or more) outside its usual range, in the direction
/// this failure's fix moves it back from.
const W_RANGE: f64 = 2.5;
/// Coverage below which a phrase match says nothing.
const PHRASE_FLOOR: f64 = 0.5;
/// Matched rarity (summed idf) at which a phrase match counts in full; about
/// two words that occur in a handful of entries each.
const PHRASE_INFORMATION: f64 = 5.0;
const W_ENVIRONMENT: f64 = 0.8;
const W_CODE: f64 = 5.0;
/// A described failure class (a slowdown, a hang, running out of memory, NaN)
/// that none of the entry's signatures produces.
const W_CLASS_MISMATCH: f64 = 1.0;
/// Per natural-log unit of sources and of mechanisms, above or below a typical entry.
const W_DOCUMENTED: f64 = 0.3;
const TYPICAL_DOCUMENTATION: f64 = 5.0;
const MAX_DOCUMENTED: f64 = 0.4;
const W_TRIED_FAILED: f64 = -2.0;
const W_TRIED_HELPED: f64 = 1.0;
/// Score of the "none of these" alternative in the softmax, and the softmax
/// temperature. Both were fitted (log loss of the right hypothesis, or of
/// "none of these" when no ranked one is right) on the studied case sets; with
/// the earlier 1.0 and 0.5, a stated 30% was right about half the time.
const OTHER_SCORE: f64 = 3.25;
const TEMPERATURE: f64 = 0.75;
/// How many hypotheses the report ranks.
pub const MAX_HYPOTHESES: usize = 8;

/// Scores every candidate and returns the ranked hypotheses (eliminated last).
pub fn hypothesize(
    c: &Characterization,
    hits: &BTreeMap<String, EntryHits>,
    findings: &[AuditFinding],
    kb: &KnowledgeBase,
    user_words: &str,
    description_stems: &HashSet<String>,
) -> Vec<Hypothesis> {
    let mut scored: Vec<(f64, Hypothesis)> = Vec::new();
    for entry in kb.entries() {
        let hit = hits.get(&entry.id);
        let mut terms = Vec::new();
        let mut evidence = Vec::new();
        let mut status = HypothesisStatus::Active;

        let sig = signature_match(entry, c, &mut evidence);
        let text = hit.map(EntryHits::text_score).unwrap_or(0.0);
        // A code finding makes a candidate on its own: the auditor saw the bug.
        let code = code_support(entry, findings, &mut evidence);
        let phrase = kb
            .phrases()
            .best_match(&entry.id, description_stems)
            .filter(|m| m.coverage > PHRASE_FLOOR);
        let range = range_support(entry, c, kb);
        if sig <= 0.0 && text <= 0.0 && code <= 0.0 && phrase.is_none() && range.is_none() {
            continue;
        }
        if sig > 0.0 {
            terms.push(term(
                "signatures",
                W_SIGNATURE * sig,
                format!("symptom signatures match {:.2}", sig),
            ));
        }
        if let Some((confidence, class)) = class_mismatch(entry, c) {
            terms.push(term(
                "class",
                -W_CLASS_MISMATCH * confidence,
                format!("none of its signatures produces {class}"),
            ));
        }
        if let Some(h) = hit
            && text > 0.0
        {
            let levels = h
                .by_level
                .keys()
                .map(|l| format!("L{l}"))
                .collect::<Vec<_>>()
                .join(", ");
            terms.push(term(
                "search",
                W_TEXT * text,
                format!("found at {levels}, best normalised score {:.2}", text),
            ));
            let mut statement = format!(
                "knowledge-base search matched {}",
                h.matched
                    .iter()
                    .take(6)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some((seed, note)) = &h.via_analogy {
                statement.push_str(&format!("; reached by analogy from {seed}: {note}"));
            }
            evidence.push(Evidence {
                kind: EvidenceKind::Search,
                statement,
                weight: W_TEXT * text,
            });
        }

        if let Some(m) = &phrase {
            let strength = (m.coverage - PHRASE_FLOOR) / (1.0 - PHRASE_FLOOR)
                * (m.information / PHRASE_INFORMATION).min(1.0);
            terms.push(term(
                "phrase",
                W_PHRASE * strength,
                format!(
                    "your words cover \"{}\" ({:.0}%)",
                    m.phrase,
                    100.0 * m.coverage
                ),
            ));
            evidence.push(Evidence {
                kind: EvidenceKind::Search,
                statement: format!(
                    "the description matches the phrasing \"{}\" ({})",
                    m.phrase,
                    m.matched.join(", ")
                ),
                weight: W_PHRASE * strength,
            });
        }

        if let Some((strength, statement)) = range {
            terms.push(term("range", W_RANGE * strength, statement.clone()));
            evidence.push(Evidence {
                kind: EvidenceKind::Environment,
                statement,
                weight: W_RANGE * strength,
            });
        }

        let (env_fit, eliminated) = environment_fit(entry, c, user_words, &mut evidence);
        if env_fit != 0.0 {
            terms.push(term(
                "environment",
                W_ENVIRONMENT * env_fit,
                "framework, precision, model fit".into(),
            ));
        }
        if let Some(reason) = eliminated {
            status = HypothesisStatus::Eliminated;
            evidence.push(Evidence {
                kind: EvidenceKind::Environment,
                statement: reason,
                weight: -5.0,
            });
        }

        if code > 0.0 {
            terms.push(term(
                "code",
                W_CODE * code,
                "auditor findings confirm it in code".into(),
            ));
        }

        let (tried_score, lowered) = tried_evidence(entry, c, &mut evidence);
        if tried_score != 0.0 {
            terms.push(term("tried", tried_score, "fixes already tried".into()));
        }
        if lowered && status == HypothesisStatus::Active {
            status = HypothesisStatus::Lowered;
        }

        // The prior counts half: base rates are coarse estimates.
        let prior = 0.5 * (entry.base_rate.clamp(0.0, 1.0) + 0.05).ln();
        terms.push(term(
            "base_rate",
            prior,
            format!("prior {:.2} from the knowledge base", entry.base_rate),
        ));
        evidence.push(Evidence {
            kind: EvidenceKind::BaseRate,
            statement: format!("base rate {:.2}", entry.base_rate),
            weight: prior,
        });

        let (reported, reason) = how_documented(entry);
        terms.push(term("documented", reported, reason));

        let total: f64 = terms.iter().map(|t| t.value).sum();
        let levels = hit
            .map(|h| h.by_level.keys().copied().collect())
            .unwrap_or_default();
        scored.push((total, hypothesis(entry, status, evidence, terms, levels)));
    }

    scored.sort_by(|a, b| {
        let rank = |h: &Hypothesis| (h.status == HypothesisStatus::Eliminated) as u8;
        rank(&a.1)
            .cmp(&rank(&b.1))
            .then(b.0.total_cmp(&a.0))
            .then(a.1.id.cmp(&b.1.id))
    });
    let active: Vec<f64> = scored
        .iter()
        .filter(|(_, h)| h.status != HypothesisStatus::Eliminated)
        .take(MAX_HYPOTHESES)
        .map(|(s, _)| *s)
        .collect();
    let max = active.iter().copied().fold(OTHER_SCORE, f64::max);
    let weight = |score: f64| ((score - max) / TEMPERATURE).exp();
    let denominator: f64 = active.iter().map(|s| weight(*s)).sum::<f64>() + weight(OTHER_SCORE);

    let mut out: Vec<Hypothesis> = Vec::new();
    let eliminated_cap = 3;
    let mut eliminated = 0;
    let mut lowered_extra = 0;
    for (score, mut h) in scored {
        if h.status == HypothesisStatus::Eliminated {
            if eliminated < eliminated_cap {
                h.likelihood = 0.0;
                eliminated += 1;
                out.push(h);
            }
            continue;
        }
        if out
            .iter()
            .filter(|o| o.status != HypothesisStatus::Eliminated)
            .count()
            >= MAX_HYPOTHESES
        {
            // A lowered hypothesis stays visible, with its reason, below the ranked ones.
            if h.status == HypothesisStatus::Lowered && lowered_extra < eliminated_cap {
                lowered_extra += 1;
                h.likelihood = round3(weight(score) / denominator);
                out.push(h);
            }
            continue;
        }
        h.likelihood = round3(weight(score) / denominator);
        out.push(h);
    }
    // Only for the hypotheses the report keeps: each cause is tokenised here.
    for h in &mut out {
        lead_with_the_described_cause(h, kb, description_stems);
    }
    add_distinctions(&mut out, kb);
    out
}

/// How widely a failure mode is reported, as a second prior next to the hand-set
/// base rate: the sources that document it and the distinct mechanisms known to
/// produce it, relative to a typical entry (five of each). A failure mode that
/// many independent threads describe is one more practitioners hit; on the
/// studied case sets it lifted top-1 and top-3 (110/142 of 183, against 107/135
/// without it). The cap is low because catch-all entries (a wrong metric,
/// leakage) collect sources from every field: at +1 they took rank 1 on
/// unrelated reports.
fn how_documented(entry: &Entry) -> (f64, String) {
    let relative = |n: usize| ((1 + n) as f64 / (1.0 + TYPICAL_DOCUMENTATION)).ln();
    let (sources, causes) = (entry.sources.len(), entry.causes.len().max(1));
    let value = (W_DOCUMENTED * (relative(sources) + relative(causes))).min(MAX_DOCUMENTED);
    (
        value,
        format!("{sources} sources and {causes} known mechanisms (a typical entry has 5 of each)"),
    )
}

/// Whether a hyperparameter of the run lies outside its usual range in the
/// direction this entry's fix corrects (a low learning rate for a fix that raises
/// it). Strength grows with the distance: one decade outside counts in full.
fn range_support(entry: &Entry, c: &Characterization, kb: &KnowledgeBase) -> Option<(f64, String)> {
    // Some ranges hold only for one kind of optimizer (coupled vs decoupled weight decay).
    let optimizer = c
        .environment
        .hyperparameters
        .get("optimizer")
        .and_then(serde_json::Value::as_str);
    let mut best: Option<(f64, String)> = None;
    for fix in &entry.fixes {
        let Some(adjustment) = fix.adjustment() else {
            continue;
        };
        let direction = adjustment.direction();
        if direction == 0 {
            continue;
        }
        let Some(value) = c
            .environment
            .hyperparameters
            .get(&adjustment.param)
            .and_then(serde_json::Value::as_f64)
        else {
            continue;
        };
        let Some(range) = kb
            .usual_ranges()
            .iter()
            .find(|r| r.param == adjustment.param && r.applies_to(optimizer))
        else {
            continue;
        };
        let outside = range.decades_outside(value);
        // The fix must move the value back towards the range.
        if outside == 0.0 || outside.signum() == f64::from(direction) {
            continue;
        }
        let strength = outside.abs().min(1.0);
        let bound = if outside < 0.0 {
            format!(
                "below the usual lower end {}",
                range.low.unwrap_or_default()
            )
        } else {
            format!(
                "above the usual upper end {}",
                range.high.unwrap_or_default()
            )
        };
        let statement = format!(
            "{} = {value} is {:.1} decades {bound} ({}); this failure's fix moves it back",
            adjustment.param,
            outside.abs(),
            range.basis
        );
        if best.as_ref().is_none_or(|b| strength > b.0) {
            best = Some((strength, statement));
        }
    }
    best
}

fn term(factor: &str, value: f64, reason: String) -> ScoreTerm {
    ScoreTerm {
        factor: factor.to_string(),
        value: round3(value),
        reason,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// 1 - Π(1 - m) over the symptoms, where m is the best signature weight for that
/// symptom (discounted when the metric role differs).
fn signature_match(entry: &Entry, c: &Characterization, evidence: &mut Vec<Evidence>) -> f64 {
    let mut miss = 1.0;
    for symptom in &c.symptoms {
        let best = entry
            .signatures
            .iter()
            .filter(|s| s.symptom_kind() == Some(symptom.kind))
            .map(|s| {
                let role_fit = match (s.metric_role(), symptom.role) {
                    (_, None) => 0.85,
                    (Some(fmr_core::MetricRole::Any), Some(_)) => 0.8,
                    (Some(a), Some(b)) if a == b => 1.0,
                    _ => 0.6,
                };
                (s.weight * role_fit * symptom.confidence, s)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((m, sig)) = best {
            miss *= 1.0 - m.clamp(0.0, 0.99);
            let origin = match symptom.origin {
                Origin::Detector => "measured",
                Origin::UserText => "described",
                Origin::LogEvent => "logged",
            };
            evidence.push(Evidence {
                kind: EvidenceKind::Symptom,
                statement: format!(
                    "{origin}: {} — matches signature \"{}\"",
                    symptom.statement, sig.condition
                ),
                weight: round3(W_SIGNATURE * m),
            });
        }
    }
    1.0 - miss
}

/// Failure classes that split the causes cleanly: a report of a slowdown, a hang,
/// running out of memory or non-finite values is explained by the failures that
/// produce that class of symptom, and a lexically close entry that cannot (a CTC
/// decoding failure for "each epoch takes twice as long") is pushed down.
const DECISIVE_CLASSES: &[(&str, &[SymptomKind])] = &[
    ("a slowdown", &[SymptomKind::ThroughputRegression]),
    ("a hang", &[SymptomKind::Hang]),
    (
        "running out of memory",
        &[SymptomKind::OutOfMemory, SymptomKind::MemoryGrowth],
    ),
    (
        "non-finite values or divergence",
        &[
            SymptomKind::NonFinite,
            SymptomKind::Divergence,
            SymptomKind::GradExplosion,
            SymptomKind::Spike,
            SymptomKind::LossScaleCollapse,
        ],
    ),
];

/// The most confident described symptom of a decisive class that none of the
/// entry's signatures belongs to, with the class's name.
fn class_mismatch(entry: &Entry, c: &Characterization) -> Option<(f64, &'static str)> {
    let mut worst: Option<(f64, &'static str)> = None;
    for symptom in &c.symptoms {
        let Some((name, class)) = DECISIVE_CLASSES
            .iter()
            .find(|(_, kinds)| kinds.contains(&symptom.kind))
        else {
            continue;
        };
        let produces = entry
            .signatures
            .iter()
            .any(|s| s.symptom_kind().is_some_and(|k| class.contains(&k)));
        if !produces && worst.is_none_or(|(w, _)| symptom.confidence > w) {
            worst = Some((symptom.confidence, name));
        }
    }
    worst
}

/// Fit of framework, precision and model; and whether the environment rules it out.
fn environment_fit(
    entry: &Entry,
    c: &Characterization,
    user_words: &str,
    evidence: &mut Vec<Evidence>,
) -> (f64, Option<String>) {
    let env = &c.environment;
    let mut fit: f64 = 0.0;
    let vocabulary = entry
        .techniques
        .iter()
        .chain(&entry.aliases)
        .chain(std::iter::once(&entry.title))
        .map(|t| t.to_lowercase())
        .collect::<Vec<_>>()
        .join(" | ");
    if let Some(fw) = env.framework.as_deref()
        && entry.frameworks.iter().any(|f| f.eq_ignore_ascii_case(fw))
    {
        fit += 0.4;
        evidence.push(Evidence {
            kind: EvidenceKind::Environment,
            statement: format!("reported in {fw}, the framework in use"),
            weight: 0.3,
        });
    }
    static FP16_WORDS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(fp16|float16|half[ -]precision|mixed[ -]precision|loss[ -]scal\w*|amp|autocast|gradscaler)\b")
            .expect("valid regex")
    });
    let fp16_specific = FP16_WORDS.is_match(&vocabulary);
    match env.precision.as_deref() {
        Some(p @ ("fp16" | "mixed_fp16")) if fp16_specific => {
            fit += 0.8;
            evidence.push(Evidence {
                kind: EvidenceKind::Environment,
                statement: format!("the run uses {p}, the precision this failure needs"),
                weight: 0.6,
            });
        }
        // When the precision was read from the words, a report that also names fp16
        // ("trained in bf16, served in fp16") keeps the fp16 failures: the reading is only
        // the first precision named. A precision set explicitly still rules them out.
        Some(p @ ("fp32" | "bf16"))
            if precision_specific(entry)
                && !(names_fp16(&user_words.to_lowercase())
                    && crate::text::precision_from_text(user_words) == Some(p)) =>
        {
            return (
                fit,
                Some(format!(
                    "the run uses {p}, and this failure needs fp16 arithmetic"
                )),
            );
        }
        _ => {}
    }
    // A hyperparameter the user chose to mention is one they suspect; failure
    // modes fixed by changing it fit a little better.
    if let Some(fix) = entry.fixes.iter().find(|f| {
        f.param.as_ref().is_some_and(|p| {
            c.environment.hyperparameters.contains_key(p) && mentioned(p, user_words)
        })
    }) {
        let param = fix.param.as_deref().unwrap_or_default();
        fit += 0.4;
        evidence.push(Evidence {
            kind: EvidenceKind::Environment,
            statement: format!(
                "you mention {param} = {}, which this failure's fix changes",
                c.environment.hyperparameters[param]
            ),
            weight: round3(W_ENVIRONMENT * 0.4),
        });
    }
    let (fit_family, family_note) = family_fit(entry, c, user_words);
    fit += fit_family;
    if let Some(note) = family_note {
        evidence.push(Evidence {
            kind: EvidenceKind::Environment,
            statement: note,
            weight: round3(W_ENVIRONMENT * fit_family),
        });
    }
    if let Some(model) = env.model.as_deref()
        && contains_word(&vocabulary, &model.to_lowercase())
    {
        fit += 0.5;
        evidence.push(Evidence {
            kind: EvidenceKind::Environment,
            statement: format!("the model ({model}) is the kind this failure is reported for"),
            weight: 0.4,
        });
    }
    (fit.clamp(-1.5, 1.5), None)
}

/// A finding of an audit rule the entry lists is direct evidence.
fn code_support(entry: &Entry, findings: &[AuditFinding], evidence: &mut Vec<Evidence>) -> f64 {
    let mut best: f64 = 0.0;
    for f in findings
        .iter()
        .filter(|f| entry.audit_rules.contains(&f.rule))
    {
        best = best.max(f.confidence);
        evidence.push(Evidence {
            kind: EvidenceKind::Code,
            statement: format!("{}:{}: {} {}", f.file, f.line, f.rule, f.message),
            weight: round3(W_CODE * f.confidence),
        });
    }
    best
}

/// A failed fix lowers the hypothesis it was meant to fix; a fix that helped raises it.
fn tried_evidence(
    entry: &Entry,
    c: &Characterization,
    evidence: &mut Vec<Evidence>,
) -> (f64, bool) {
    let mut score = 0.0;
    let mut lowered = false;
    for tried in &c.tried {
        // Only the standard fixes (the first two) speak for or against the hypothesis.
        let Some(fix) = entry
            .fixes
            .iter()
            .take(2)
            .find(|f| crate::plan::fix_matches_text(f, &tried.text))
        else {
            continue;
        };
        match tried.outcome {
            TriedOutcome::Failed => {
                score += W_TRIED_FAILED;
                lowered = true;
                evidence.push(Evidence {
                    kind: EvidenceKind::Tried,
                    statement: format!(
                        "\"{}\" was tried and did not help; it is this failure's standard fix ({})",
                        tried.text, fix.action
                    ),
                    weight: W_TRIED_FAILED,
                });
            }
            TriedOutcome::Helped | TriedOutcome::Partial => {
                let w = if tried.outcome == TriedOutcome::Helped {
                    W_TRIED_HELPED
                } else {
                    W_TRIED_HELPED / 2.0
                };
                score += w;
                evidence.push(Evidence {
                    kind: EvidenceKind::Tried,
                    statement: format!(
                        "\"{}\" helped at least partly, as this failure predicts ({})",
                        tried.text, fix.action
                    ),
                    weight: w,
                });
            }
            TriedOutcome::Unknown => {}
        }
    }
    (score, lowered)
}

/// Puts first the cause that shares the most specific words with the user's
/// description ("left padding", "validation_split"), so the report names the
/// variant of the failure the user is most likely facing; ties keep the
/// knowledge base's order, which lists the most common cause first.
fn lead_with_the_described_cause(h: &mut Hypothesis, kb: &KnowledgeBase, stems: &HashSet<String>) {
    let overlap = |cause: &str| kb.phrases().overlap(cause, stems);
    let lead = overlap(&h.root_cause);
    let best = h
        .other_causes
        .iter()
        .enumerate()
        .map(|(i, c)| (i, overlap(c)))
        .fold(None::<(usize, f64)>, |best, (i, o)| match best {
            Some((_, b)) if b >= o => best,
            _ => Some((i, o)),
        });
    // A clear margin: one shared rare word, not a shared "loss".
    if let Some((i, o)) = best
        && o > lead + 2.0
    {
        std::mem::swap(&mut h.root_cause, &mut h.other_causes[i]);
    }
}

fn hypothesis(
    entry: &Entry,
    status: HypothesisStatus,
    evidence: Vec<Evidence>,
    score: Vec<ScoreTerm>,
    levels: Vec<u8>,
) -> Hypothesis {
    let mut sources: Vec<_> = entry.sources.iter().map(|s| s.to_source()).collect();
    // Practical sources first: they say what worked.
    sources.sort_by_key(|s| !s.kind.is_practical());
    Hypothesis {
        id: entry.id.clone(),
        title: entry.title.clone(),
        likelihood: 0.0,
        status,
        root_cause: entry.causes.first().cloned().unwrap_or_default(),
        other_causes: entry.causes.iter().skip(1).cloned().collect(),
        fixes: entry.fixes.iter().map(|f| f.action.clone()).collect(),
        evidence,
        score,
        levels,
        domains: entry.domains.clone(),
        distinguish: Vec::new(),
        sources,
    }
}

/// Where two ranked hypotheses are look-alikes, say what tells them apart.
fn add_distinctions(hypotheses: &mut [Hypothesis], kb: &KnowledgeBase) {
    let ids: Vec<String> = hypotheses.iter().map(|h| h.id.clone()).collect();
    for h in hypotheses.iter_mut() {
        let Some(entry) = kb.get(&h.id) else { continue };
        let rivals: Vec<&String> = ids
            .iter()
            .filter(|other| **other != h.id)
            .filter(|other| {
                entry.lookalikes.contains(other)
                    || kb.get(other).is_some_and(|o| o.lookalikes.contains(&h.id))
            })
            .collect();
        if rivals.is_empty() {
            h.distinguish = entry.diagnostics.iter().take(1).cloned().collect();
        } else {
            let names = rivals
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            h.distinguish = entry
                .diagnostics
                .iter()
                .take(2)
                .map(|d| format!("vs {names}: {d}"))
                .collect();
        }
    }
}

/// Whether the user's words name a canonical hyperparameter.
fn mentioned(param: &str, words: &str) -> bool {
    crate::plan::param_mentioned(param, &words.to_lowercase())
}

/// Model families, each with the words that name it in entries and in user text.
/// Words match whole (see [`families_in`]): "sac" must not fire on "Isaac", nor
/// "lora" on "exploration", nor "trl" on "ctrl".
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "diffusion",
        &[
            "diffusion",
            "dreambooth",
            "ddpm",
            "ddim",
            "unet",
            "sdxl",
            "latent diffusion",
            "stable diffusion",
            "noise scheduler",
        ],
    ),
    (
        "vae",
        &[
            "vae",
            "vaes",
            "variational autoencoder",
            "vq-vae",
            "vqvae",
            "vector quantization",
        ],
    ),
    (
        "gan",
        &[
            "gan",
            "gans",
            "generative adversarial",
            "discriminator",
            "stylegan",
            "dcgan",
            "pix2pix",
            "cyclegan",
        ],
    ),
    (
        "llm",
        &[
            "llm",
            "llms",
            "language model",
            "language models",
            "causal language modeling",
            "gpt",
            "gpt-2",
            "gpt2",
            "llama",
            "mistral",
            "qwen",
            "bert",
            "t5",
            "transformers",
            "tokenizer",
            "rlhf",
            "dpo",
            "lora",
            "qlora",
            "peft",
            "sft",
            "chat template",
            "fine-tuning an llm",
            "trl",
        ],
    ),
    (
        "rl",
        &[
            "rl",
            "ppo",
            "sac",
            "dqn",
            "ddpg",
            "td3",
            "a2c",
            "a3c",
            "trpo",
            "grpo",
            "rloo",
            "maddpg",
            "mappo",
            "reinforcement",
            "policy gradient",
            "reward",
            "rewards",
            "actor-critic",
            "actor critic",
            "q-learning",
            "q-network",
            "gae",
            "replay buffer",
            "epsilon-greedy",
            "self-play",
            "multi-agent",
            "agent",
            "agents",
            "episode",
            "episodes",
            "stable-baselines",
            "stable-baselines3",
            "sb3",
            "rllib",
            "cleanrl",
            "ml-agents",
            "gym",
            "gymnasium",
            "mujoco",
            "isaac gym",
            "isaac lab",
            "atari",
            "cartpole",
            "pendulum",
            "env.reset",
            "env.step",
            "custom environment",
            "vectorized environments",
            "environment seeding",
            "environment parameter scheduling",
            "terrain curriculum",
        ],
    ),
    (
        "flow",
        &[
            "normalizing flow",
            "realnvp",
            "glow",
            "affine coupling",
            "coupling layer",
        ],
    ),
    (
        "dsp",
        &[
            "iir filter",
            "fir filter",
            "biquad",
            "butterworth",
            "fixed-point dsp",
        ],
    ),
    (
        "audio",
        &[
            "audio",
            "speech",
            "tts",
            "text-to-speech",
            "tacotron",
            "vocoder",
            "mel",
            "log-mel",
            "asr",
            "whisper",
        ],
    ),
    (
        "control",
        &["pid", "controller", "feedback loop", "actuator", "plant"],
    ),
];

/// The families a text names, matching each word whole (a neighbouring letter,
/// digit or hyphen means another word).
fn families_in(text: &str) -> Vec<&'static str> {
    let t = text.to_lowercase();
    FAMILIES
        .iter()
        .filter(|(_, words)| words.iter().any(|w| contains_word(&t, w)))
        .map(|(name, _)| *name)
        .collect()
}

/// Whether `word` occurs in `text` with no letter, digit, `-` or `_` on either side.
fn contains_word(text: &str, word: &str) -> bool {
    let part_of_word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(part_of_word) && !after.is_some_and(part_of_word)
    })
}

/// Entries written for one model family (diffusion, RL, LLM, ...) fit a run of that
/// family, fit less when the run's family is unknown, and little when it is another.
fn family_fit(entry: &Entry, c: &Characterization, user_words: &str) -> (f64, Option<String>) {
    let entry_families = families_in(&entry.techniques.join(" | "));
    if entry_families.is_empty() {
        return (0.0, None);
    }
    let env = &c.environment;
    let context = [env.model.as_deref(), env.framework.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" | ");
    let run_families = families_in(&format!("{context} | {user_words}"));
    if entry_families.iter().any(|f| run_families.contains(f)) {
        (
            0.4,
            Some(format!(
                "written for {} models, as here",
                entry_families.join("/")
            )),
        )
    } else if run_families.is_empty() {
        (
            -0.6,
            Some(format!(
                "specific to {} models; this run's model family is not known",
                entry_families.join("/")
            )),
        )
    } else {
        (
            -1.0,
            Some(format!(
                "specific to {} models, but this run is {}",
                entry_families.join("/"),
                run_families.join("/")
            )),
        )
    }
}

/// Whether lower-cased words name fp16 arithmetic (not bf16).
fn names_fp16(words: &str) -> bool {
    FP16_NAMES.iter().any(|w| contains_word(words, w))
}

/// The names of 16-bit float itself, as opposed to the wider mixed-precision
/// vocabulary (`amp`, `autocast`, loss scaling) that `environment_fit` weighs.
const FP16_NAMES: &[&str] = &["fp16", "float16", "half precision", "half-precision"];

/// An entry is ruled out by fp32/bf16 only when fp16 is in its title: a mention
/// among its aliases is not enough.
fn precision_specific(entry: &Entry) -> bool {
    let t = entry.title.to_lowercase();
    FP16_NAMES.iter().any(|w| contains_word(&t, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fmr_core::Symptom;

    #[test]
    fn model_families_are_named_by_whole_words() {
        assert_eq!(
            families_in("DDPG agent on Pendulum-v0 converges slowly"),
            vec!["rl"]
        );
        assert_eq!(families_in("PPO with Stable-Baselines3"), vec!["rl"]);
        // Substrings of other words name nothing: "Isaac" is not SAC, "exploration"
        // is not LoRA, "ctrl" is not TRL, "endpoint" is not DPO, "rapid" is not PID.
        assert!(families_in("we run the Isaac simulator").is_empty());
        assert!(families_in("epsilon exploration schedule").is_empty());
        assert!(families_in("press ctrl-c at the endpoint, rapid decay").is_empty());
        // A software environment is not an RL environment.
        assert!(families_in("in a fresh conda environment").is_empty());
        assert_eq!(families_in("QLoRA fine-tuning of Llama-2"), vec!["llm"]);
        assert_eq!(families_in("log-mel features"), vec!["audio"]);
    }

    #[test]
    fn a_widely_reported_failure_gets_a_bounded_lift_over_a_thin_one() {
        let kb = KnowledgeBase::embedded();
        let mut entry = kb.entries()[0].clone();
        let source = entry.sources[0].clone();
        let cause = entry.causes[0].clone();
        let shaped = |entry: &mut Entry, n: usize| {
            entry.sources = vec![source.clone(); n];
            entry.causes = vec![cause.clone(); n];
            how_documented(entry).0
        };
        let typical = shaped(&mut entry, 5);
        assert!(
            typical.abs() < 1e-9,
            "a typical entry is neutral, got {typical}"
        );
        let thin = shaped(&mut entry, 2);
        let wide = shaped(&mut entry, 9);
        assert!(thin < 0.0 && wide > 0.0, "thin {thin}, wide {wide}");
        assert_eq!(shaped(&mut entry, 500), MAX_DOCUMENTED);
    }

    #[test]
    fn only_an_fp16_title_is_ruled_out_by_bf16() {
        let kb = KnowledgeBase::embedded();
        let mut entry = kb.entries()[0].clone();
        entry.title = "Loss spikes with bfloat16 attention".into();
        assert!(!precision_specific(&entry), "bfloat16 is not float16");
        entry.title = "FP16 overflow without loss scaling".into();
        assert!(precision_specific(&entry));
    }

    #[test]
    fn a_described_slowdown_lowers_entries_that_cannot_slow_a_run() {
        let kb = KnowledgeBase::embedded();
        let slowdown = Symptom {
            code: "U000".into(),
            kind: SymptomKind::ThroughputRegression,
            run: None,
            metric: None,
            role: None,
            window: None,
            numbers: Default::default(),
            statement: "each epoch takes twice as long".into(),
            origin: Origin::UserText,
            confidence: 0.7,
        };
        let c = Characterization {
            symptoms: vec![slowdown],
            ..Default::default()
        };
        let mut entry = kb.entries()[0].clone();
        entry
            .signatures
            .retain(|s| s.kind != "throughput_regression");
        assert_eq!(class_mismatch(&entry, &c), Some((0.7, "a slowdown")));
        let mut slow = kb.entries()[0].signatures[0].clone();
        slow.kind = "throughput_regression".into();
        entry.signatures.push(slow);
        assert_eq!(class_mismatch(&entry, &c), None);
        // Kinds outside the decisive classes say nothing either way.
        let mut plateau = c.clone();
        plateau.symptoms[0].kind = SymptomKind::Plateau;
        entry.signatures.pop();
        assert_eq!(class_mismatch(&entry, &plateau), None);
    }

    #[test]
    fn fp16_is_named_only_as_a_word() {
        assert!(names_fp16("trained in bf16, then served in fp16"));
        assert!(names_fp16("half precision inference"));
        assert!(!names_fp16("everything runs in bfloat16"));
    }

    #[test]
    fn a_word_counts_only_with_word_boundaries_on_both_sides() {
        assert!(contains_word("the sac agent", "sac"));
        assert!(contains_word("sac", "sac"));
        assert!(contains_word("(sac)", "sac"));
        assert!(!contains_word("isaac", "sac"));
        assert!(!contains_word("sac-like", "sac"));
        assert!(!contains_word("gpt2_small", "gpt2"));
    }
}

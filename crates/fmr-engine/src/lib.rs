//! The research engine: the pipeline of DESIGN.md from inputs to a [`Report`].
//!
//! ```text
//! inputs → ingest → characterize → search (4 levels) → hypothesize
//!        → delegate to auditors → (re-rank) → synthesize → plan → report
//! ```
//! Each stage lives in its own module and returns plain `fmr-core` types, so the
//! report shows why each conclusion was drawn.

pub mod characterize;
pub mod code_context;
pub mod delegate;
pub mod eval;
pub mod hypothesize;
pub mod live;
pub mod plan;
pub mod search;
pub mod synthesize;
pub mod text;

use std::path::PathBuf;

use fmr_core::{InputProblem, REPORT_SCHEMA_VERSION, Report, RunSummary, ToolInfo};
use fmr_kb::{KnowledgeBase, SearchIndex};

/// Everything the user handed over. Serialisable, so a case can be re-run later.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Inputs {
    /// Log files or run directories.
    pub paths: Vec<PathBuf>,
    /// The code to audit.
    pub code: Option<PathBuf>,
    /// In-memory code (file name, text), e.g. a snippet from an evaluation case.
    pub code_snippets: Vec<(String, String)>,
    pub symptom: Option<String>,
    pub expected: Option<String>,
    pub tried: Vec<String>,
    /// Attempts recorded with an explicit outcome (`fmr tried`), beside the free text above.
    pub attempts: Vec<fmr_core::Tried>,
    /// What changed since the last good run.
    pub changes: Vec<String>,
    /// `--env KEY=VALUE` pairs.
    pub env: Vec<(String, String)>,
    /// Whether to search live sources besides the knowledge base.
    #[serde(skip)]
    pub research: live::LiveMode,
}

impl Inputs {
    /// Everything the user wrote, for matching words against the knowledge base.
    pub fn user_words(&self) -> String {
        [self.symptom.as_deref(), self.expected.as_deref()]
            .into_iter()
            .flatten()
            .chain(self.tried.iter().map(String::as_str))
            .chain(self.attempts.iter().map(|a| a.text.as_str()))
            .chain(self.changes.iter().map(String::as_str))
            .chain(self.env.iter().map(|(_, v)| v.as_str()))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl Inputs {
    /// The words of the first (exact) query: the symptom, what changed, and the
    /// names of the settings the user gave (`overlap_comm`, `sampling_rate`),
    /// which name techniques the failure may belong to. Generic keys
    /// (`framework`, `hardware`, …) are left out: their values reach the query as
    /// the characterized environment.
    pub fn query_text(&self) -> String {
        const GENERIC_KEYS: &[&str] = &["framework", "hardware", "model", "dataset_size"];
        // Setting names first: a long symptom must not push them past the
        // query's length cap.
        self.env
            .iter()
            .filter(|(k, _)| !GENERIC_KEYS.contains(&k.as_str()))
            .map(|(k, _)| k.replace(['_', '.'], " "))
            .chain(self.changes.iter().cloned())
            .chain(self.symptom.iter().cloned())
            .collect::<Vec<_>>()
            .join(" . ")
    }

    /// What the user says about the failure itself, for phrase matching: the
    /// symptom, the expectation, what changed, and the environment as `key value`
    /// (a key such as `overlap_comm` names a technique). What was tried is left
    /// out: it names fixes, not the failure.
    pub fn description(&self) -> String {
        [self.symptom.as_deref(), self.expected.as_deref()]
            .into_iter()
            .flatten()
            .map(str::to_string)
            .chain(self.changes.iter().cloned())
            .chain(self.env.iter().map(|(k, v)| format!("{k} {v}")))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// The knowledge base with its index, built once and reused across investigations.
pub struct Engine {
    pub kb: KnowledgeBase,
    pub index: SearchIndex,
}

impl Engine {
    /// The embedded knowledge base and its full-text index.
    pub fn new() -> Result<Self, String> {
        let kb = KnowledgeBase::embedded();
        let index = kb
            .index()
            .map_err(|e| format!("cannot build the knowledge-base index: {e}"))?;
        Ok(Self { kb, index })
    }

    /// Runs the whole pipeline. Unreadable inputs are listed in `report.problems`;
    /// the investigation goes on with the rest.
    pub fn investigate(&self, inputs: &Inputs) -> Report {
        self.investigate_with_runs(inputs).0
    }

    /// [`Engine::investigate`], also returning the runs that were read (for plots).
    pub fn investigate_with_runs(&self, inputs: &Inputs) -> (Report, Vec<fmr_core::Run>) {
        let ingested = fmr_ingest::ingest(&inputs.paths);
        let mut problems: Vec<InputProblem> = ingested.problems;
        let runs = ingested.runs;

        // The code is read and parsed once, for the environment, the audit and the index.
        let mut study = inputs
            .code
            .as_deref()
            .map(|code| fmr_audit::study_project(code, fmr_audit::RULES));
        let detected = runs.iter().flat_map(fmr_detect::detect).collect();
        let characterization =
            characterize::characterize_studied(inputs, &runs, detected, study.as_ref());

        let query_text = inputs.query_text();
        let (queries, hits) = search::search(
            &characterization,
            Some(query_text.as_str()).filter(|t| !t.trim().is_empty()),
            &self.kb,
            &self.index,
        );

        let mut audit_findings = Vec::new();
        if let Some(study) = &mut study {
            audit_findings.append(&mut study.findings);
            problems.append(&mut study.problems);
            problems.append(&mut study.scan.problems);
        }
        for (name, text) in &inputs.code_snippets {
            audit_findings.extend(delegate::audit_snippet(name, text));
        }

        // Findings feed back into the ranking: scoring uses them directly.
        let words = inputs.user_words();
        let phrase_stems = fmr_kb::PhraseIndex::text_stems(&inputs.description());
        let hypotheses = hypothesize::hypothesize(
            &characterization,
            &hits,
            &audit_findings,
            &self.kb,
            &words,
            &phrase_stems,
        );
        let delegations = delegate::delegations(
            &hypotheses,
            &self.kb,
            study.as_ref().map(|study| &study.index),
            &audit_findings,
        );
        let findings = synthesize::findings(&characterization, &hypotheses, &self.kb);
        let synthesis = synthesize::synthesize(&hypotheses, &self.kb);
        let next_steps = plan::plan(&characterization, &hypotheses, &audit_findings, &self.kb);
        let mut hypotheses = hypotheses;
        let research = live::research(&inputs.research, &queries, &mut hypotheses, &self.kb);

        let report = Report {
            schema_version: REPORT_SCHEMA_VERSION.to_string(),
            tool: ToolInfo {
                name: "fmr".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            inputs: runs
                .iter()
                .map(|r| RunSummary {
                    name: r.name.clone(),
                    path: r.path.clone(),
                    formats: r.formats.clone(),
                    series: r.series.len(),
                    points: r.point_count(),
                    events: r.events.len(),
                })
                .collect(),
            problems,
            characterization,
            queries,
            hypotheses,
            delegations,
            audit_findings,
            findings,
            synthesis,
            next_steps,
            research,
        };
        (report, runs)
    }
}

/// What moved between two reports of the same case: ranks, likelihoods and status
/// of the hypotheses, and the first step. One sentence each, largest moves first.
pub fn report_changes(before: &Report, after: &Report) -> Vec<String> {
    let rank = |r: &Report, id: &str| r.hypotheses.iter().position(|h| h.id == id);
    let mut moves: Vec<(f64, String)> = Vec::new();
    for h in &after.hypotheses {
        let old = before.hypotheses.iter().find(|b| b.id == h.id);
        let new_rank = rank(after, &h.id).map(|r| r + 1);
        match old {
            None => moves.push((
                h.likelihood,
                format!(
                    "{} {} enters the ranking at #{} ({:.0}%)",
                    h.id,
                    h.title,
                    new_rank.unwrap_or(0),
                    h.likelihood * 100.0
                ),
            )),
            Some(o) => {
                let delta = h.likelihood - o.likelihood;
                let old_rank = rank(before, &h.id).map(|r| r + 1).unwrap_or(0);
                if o.status != h.status {
                    let reason = h
                        .evidence
                        .iter()
                        .rev()
                        .find(|e| e.kind == fmr_core::EvidenceKind::Tried)
                        .map(|e| format!(": {}", e.statement))
                        .unwrap_or_default();
                    moves.push((
                        1.0,
                        format!(
                            "{} is now {} (was {}){reason}",
                            h.id,
                            status_word(h.status),
                            status_word(o.status)
                        ),
                    ));
                }
                if delta.abs() >= 0.01 || old_rank != new_rank.unwrap_or(0) {
                    moves.push((
                        delta.abs(),
                        format!(
                            "{} {}: #{} → #{}, {:.0}% → {:.0}%",
                            h.id,
                            h.title,
                            old_rank,
                            new_rank.unwrap_or(0),
                            o.likelihood * 100.0,
                            h.likelihood * 100.0
                        ),
                    ));
                }
            }
        }
    }
    for o in &before.hypotheses {
        if !after.hypotheses.iter().any(|h| h.id == o.id) {
            moves.push((
                o.likelihood,
                format!(
                    "{} {} leaves the ranking (was {:.0}%)",
                    o.id,
                    o.title,
                    o.likelihood * 100.0
                ),
            ));
        }
    }
    moves.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<String> = moves.into_iter().map(|(_, s)| s).collect();
    let first = |r: &Report| r.next_steps.first().map(|s| s.action.clone());
    if first(before) != first(after)
        && let Some(step) = first(after)
    {
        out.push(format!("the first step is now: {step}"));
    }
    out
}

fn status_word(status: fmr_core::HypothesisStatus) -> &'static str {
    match status {
        fmr_core::HypothesisStatus::Active => "active",
        fmr_core::HypothesisStatus::Lowered => "lowered",
        fmr_core::HypothesisStatus::Eliminated => "eliminated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_text_names_settings_before_the_symptom_and_skips_generic_keys() {
        let inputs = Inputs {
            symptom: Some("loss drops to zero after a while".into()),
            env: vec![
                ("overlap_comm".into(), "true".into()),
                ("framework".into(), "deepspeed".into()),
            ],
            ..Inputs::default()
        };
        let text = inputs.query_text();
        assert!(text.starts_with("overlap comm"), "{text}");
        assert!(text.contains("loss drops to zero"));
        assert!(!text.contains("framework"));
        assert!(inputs.description().contains("overlap_comm true"));
    }
}

//! The tools, one plain function each: arguments in, a result or a message for
//! the caller out. Nothing here knows about MCP; `server` wires them to rmcp.
//!
//! Argument and result types derive `JsonSchema`; their doc comments are what
//! an agent reads in the tool list, so they say what to pass and what comes back.

use std::collections::{BTreeMap, BTreeSet};

use fmr_audit::trace::{Trace, TraceQuery};
use fmr_core::{AuditFinding, Characterization, InputProblem, Report, RunSummary, Tried};
use fmr_engine::Engine;
use fmr_kb::Level;
use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

pub use crate::attempt::{AttemptOutcome, RankChange};
pub use crate::explain::FailureMode;
pub use crate::inputs::{CodeSnippet, EnvValue, RunInputs};
use crate::inputs::{existing_path, missing_paths_message};
use crate::{attempt, explain};

// ---------------------------------------------------------------- investigate

/// The whole pipeline: the report, exactly as `fmr investigate --format json` prints it.
pub fn investigate(engine: &Engine, args: &RunInputs) -> Result<Report, String> {
    let inputs = args.to_engine_inputs()?;
    let report = engine.investigate(&inputs);
    nothing_readable_check(&inputs, &report)?;
    Ok(report)
}

/// Logs were the only input and none of them could be read: say why instead
/// of returning an empty report.
fn nothing_readable_check(inputs: &fmr_engine::Inputs, report: &Report) -> Result<(), String> {
    let only_logs =
        inputs.symptom.is_none() && inputs.code.is_none() && inputs.code_snippets.is_empty();
    if only_logs && report.inputs.is_empty() {
        return Err(nothing_readable(&report.problems));
    }
    Ok(())
}

fn nothing_readable(problems: &[InputProblem]) -> String {
    if problems.is_empty() {
        return "nothing readable in the given paths (no log files found)".to_string();
    }
    let reasons: Vec<String> = problems.iter().map(ToString::to_string).collect();
    format!(
        "nothing readable in the given paths: {}",
        reasons.join("; ")
    )
}

// --------------------------------------------------------------- characterize

/// What `characterize` returns: the first stage of an investigation only.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CharacterizeOutput {
    /// The runs that were read.
    pub inputs: Vec<RunSummary>,
    /// Inputs that could not be read, each with the reason.
    pub problems: Vec<InputProblem>,
    /// Symptoms with their numbers, expected behaviour, onset, what changed,
    /// what was tried, environment, and the gaps still open (each with the
    /// question that would fill it).
    pub characterization: Characterization,
}

/// Ingest the logs, run the detectors and characterize: no search, no audit.
pub fn characterize(args: &RunInputs) -> Result<CharacterizeOutput, String> {
    let inputs = args.to_engine_inputs()?;
    if inputs.paths.is_empty() && inputs.symptom.is_none() {
        return Err(
            "characterize reads logs and the symptom description: give `paths` or `symptom` (code is audited by `investigate` and `audit_code`)"
                .to_string(),
        );
    }
    let ingested = fmr_ingest::ingest(&inputs.paths);
    if inputs.symptom.is_none() && ingested.runs.is_empty() {
        return Err(nothing_readable(&ingested.problems));
    }
    let detected = ingested.runs.iter().flat_map(fmr_detect::detect).collect();
    let characterization =
        fmr_engine::characterize::characterize(&inputs, &ingested.runs, detected);
    Ok(CharacterizeOutput {
        inputs: ingested
            .runs
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
        problems: ingested.problems,
        characterization,
    })
}

// ----------------------------------------------------------- search_knowledge

/// Arguments of `search_knowledge`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Free text: a symptom, a technique, a phenomenon, e.g. "codebook collapse
    /// dead codes vq-vae" or "ppo entropy collapse".
    pub text: String,
    /// 1 exact (symptom and setting), 2 technique, 3 phenomenon, 4 cross-domain
    /// analogy. Leave out to search all four levels.
    #[schemars(range(min = 1, max = 4))]
    pub level: Option<u8>,
    /// Most hits per level (default 10, at most 50).
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<usize>,
}

/// What `search_knowledge` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// Best first within each level, levels in order.
    pub hits: Vec<SearchHit>,
}

/// One knowledge-base entry that matched.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchHit {
    /// Pass it to `explain_failure_mode` for the full entry.
    pub id: String,
    pub title: String,
    pub level: u8,
    /// `exact`, `technique`, `phenomenon` or `cross-domain analogy`.
    pub level_name: String,
    /// bm25 relevance, higher is better; comparable within a level only.
    pub score: f64,
    /// The query terms the entry matched.
    pub matched: Vec<String>,
    /// The first sentence of the entry's summary.
    pub summary: String,
}

const DEFAULT_SEARCH_LIMIT: usize = 10;
const MAX_SEARCH_LIMIT: usize = 50;

/// Full-text search over the knowledge base at one level or all four.
pub fn search_knowledge(engine: &Engine, args: &SearchArgs) -> Result<SearchOutput, String> {
    if args.text.trim().is_empty() {
        return Err("`text` is empty: say what to search for".to_string());
    }
    let levels: Vec<Level> = match args.level {
        None => Level::ALL.to_vec(),
        Some(number) => vec![Level::from_number(number).ok_or_else(|| {
            format!(
                "`level` must be 1 (exact), 2 (technique), 3 (phenomenon) or 4 (cross-domain analogy), not {number}"
            )
        })?],
    };
    let limit = match args.limit {
        None => DEFAULT_SEARCH_LIMIT,
        Some(limit) if (1..=MAX_SEARCH_LIMIT).contains(&limit) => limit,
        Some(limit) => {
            return Err(format!(
                "`limit` must be between 1 and {MAX_SEARCH_LIMIT}, not {limit}"
            ));
        }
    };
    let mut hits = Vec::new();
    for level in levels {
        let found = engine
            .index
            .search(&args.text, level, limit)
            .map_err(|error| format!("the knowledge-base search failed: {error}"))?;
        for hit in found {
            let entry = engine.kb.get(&hit.id);
            hits.push(SearchHit {
                title: entry.map(|e| e.title.clone()).unwrap_or_default(),
                summary: entry
                    .map(|e| first_sentence(&e.summary))
                    .unwrap_or_default(),
                id: hit.id,
                level: level.number(),
                level_name: level.name().to_string(),
                score: hit.score,
                matched: hit.matched,
            });
        }
    }
    Ok(SearchOutput { hits })
}

/// Up to the first sentence end, or the first 240 characters.
fn first_sentence(text: &str) -> String {
    const MAX_CHARS: usize = 240;
    let text = text.trim();
    let end = text
        .match_indices(". ")
        .map(|(i, _)| i + 1)
        .next()
        .unwrap_or(text.len());
    let sentence = &text[..end];
    if sentence.chars().count() <= MAX_CHARS {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(MAX_CHARS).collect();
    format!("{}…", cut.trim_end())
}

// ---------------------------------------------------------------- audit_code

/// Arguments of `audit_code`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    /// A Python file or project directory (walked recursively, honouring .gitignore).
    pub path: String,
    /// Only these rule codes, e.g. ["PT001", "PT005"]; every rule when empty or left out.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Only this auditor's rules: `silent_bug_detector`, `data_flow_tracer`,
    /// `jax_logic_auditor` or `paper_alignment_auditor`.
    pub auditor: Option<String>,
}

/// What `audit_code` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditOutput {
    /// Python files read and checked.
    pub files_scanned: usize,
    /// The rule codes that ran.
    pub rules: Vec<String>,
    /// Sorted by file, line, rule and column.
    pub findings: Vec<AuditFinding>,
    /// Files that could not be audited, each with the reason.
    pub problems: Vec<InputProblem>,
}

/// Runs the static audit rules over Python code.
pub fn audit_code(args: &AuditArgs) -> Result<AuditOutput, String> {
    let path = existing_path(&args.path).map_err(|p| missing_paths_message(&[p]))?;
    let mut rules: Vec<&'static dyn fmr_audit::AuditRule> = Vec::new();
    let mut unknown = Vec::new();
    for code in &args.rules {
        match fmr_audit::rule(code.trim()) {
            Some(rule) => rules.push(rule),
            None => unknown.push(code.as_str()),
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "unknown audit rule(s) {}; known rules: {}",
            unknown.join(", "),
            known_rules()
        ));
    }
    if rules.is_empty() {
        rules = fmr_audit::RULES.to_vec();
    }
    if let Some(auditor) = &args.auditor {
        if fmr_audit::Auditor::parse(auditor).is_none() {
            return Err(format!(
                "unknown auditor {auditor:?}; known: silent_bug_detector, data_flow_tracer, jax_logic_auditor, paper_alignment_auditor"
            ));
        }
        rules.retain(|r| r.auditor().as_str() == auditor);
        if rules.is_empty() {
            return Err(format!(
                "none of the selected rules belongs to auditor {auditor:?}"
            ));
        }
    }
    let report = fmr_audit::audit_path(&path, &rules);
    if report.files_scanned == 0 {
        let reasons: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        return Err(format!(
            "no Python file could be read at {}{}",
            args.path,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", reasons.join("; "))
            }
        ));
    }
    Ok(AuditOutput {
        files_scanned: report.files_scanned,
        rules: rules.iter().map(|r| r.code().to_string()).collect(),
        findings: report.findings,
        problems: report.problems,
    })
}

fn known_rules() -> String {
    fmr_audit::RULES
        .iter()
        .map(|r| format!("{} ({})", r.code(), r.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

// ----------------------------------------------------------- trace_data_flow

/// Arguments of `trace_data_flow`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceArgs {
    /// The code root: a Python project directory (walked honouring
    /// `.gitignore`) or one Python file.
    pub path: String,
    /// The variable or attribute to follow, e.g. `labels`, `loss`, `batch`,
    /// `self.scaler`.
    pub name: String,
    /// Where to pick the name up: `train.py:30` (a file relative to `path`
    /// and a 1-based line), `train.py`, a function such as
    /// `train_one_epoch`, or `data.py:load`. Without it the trace starts at
    /// the mention that feeds a loss, else at the first mention.
    pub location: Option<String>,
}

/// What `trace_data_flow` returns: the trace (steps backward to the sources,
/// then forward to the loss and beyond), with the audit findings on the lines
/// it passes through.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TraceOutput {
    #[serde(flatten)]
    pub trace: Trace,
    /// Audit findings on the lines of the traced mention and of its steps.
    pub findings: Vec<AuditFinding>,
}

/// Where the value of `name` comes from and where it goes, across functions
/// and files, with every transformation on the way (fmr's data flow tracer).
pub fn trace_data_flow(args: &TraceArgs) -> Result<TraceOutput, String> {
    let root = existing_path(&args.path).map_err(|p| missing_paths_message(&[p]))?;
    let mut query = TraceQuery::new(args.name.trim());
    if let Some(location) = args
        .location
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        query = query.at(location);
    }
    let trace = fmr_audit::trace::trace(&root, &query)?;
    let findings = findings_on_trace(&root, &trace);
    Ok(TraceOutput { trace, findings })
}

/// The audit findings on the lines a trace passes through, file by file.
fn findings_on_trace(root: &std::path::Path, trace: &Trace) -> Vec<AuditFinding> {
    let mut lines: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (file, line) in trace
        .anchor
        .iter()
        .map(|anchor| (anchor.file.as_str(), anchor.line))
        .chain(
            trace
                .steps
                .iter()
                .map(|step| (step.file.as_str(), step.line)),
        )
    {
        lines.entry(file).or_default().insert(line);
    }
    let mut findings = Vec::new();
    for (file, wanted) in lines {
        // One file traced: its display path is the path as given.
        let on_disk = if root.is_dir() {
            root.join(file)
        } else {
            root.to_path_buf()
        };
        let Ok(text) = fmr_audit::read_source(&on_disk) else {
            continue;
        };
        findings.extend(
            fmr_audit::audit_source(file, &text, fmr_audit::RULES)
                .into_iter()
                .filter(|finding| wanted.contains(&finding.line)),
        );
    }
    findings
}

// ------------------------------------------------------------ record_attempt

/// Arguments of `record_attempt`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptArgs {
    /// The inputs of the investigation to update, as they were given to `investigate`.
    pub inputs: RunInputs,
    /// What was tried since, and how it went.
    pub attempt: Attempt,
}

/// A fix that was tried.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// What was done, with its numbers, e.g. "lowered the learning rate from 3e-4 to 1e-4".
    pub what: String,
    pub outcome: AttemptOutcome,
    /// What was seen, e.g. "NaN now appears at step 3,100 instead of 2,100".
    pub details: Option<String>,
}

/// What `record_attempt` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AttemptOutput {
    /// The attempt as the investigation recorded it.
    pub recorded: Tried,
    /// What changed, in a few sentences.
    pub summary: String,
    /// The hypotheses whose rank, likelihood or status moved, by their new rank.
    pub changes: Vec<RankChange>,
    /// The first next step before and after the attempt.
    pub first_step_before: Option<String>,
    pub first_step_after: Option<String>,
    /// Anything the caller should know about how the attempt was read.
    pub notes: Vec<String>,
    /// The re-ranked investigation, with the attempt among `tried`.
    pub report: Report,
}

/// Re-runs the investigation with one more tried fix, and says what moved.
pub fn record_attempt(engine: &Engine, args: &AttemptArgs) -> Result<AttemptOutput, String> {
    let what = args.attempt.what.trim().trim_end_matches('.');
    if what.is_empty() {
        return Err("`attempt.what` is empty: say what was tried".to_string());
    }
    let before_inputs = args.inputs.to_engine_inputs()?;
    let outcome = args.attempt.outcome;
    let details = args
        .attempt
        .details
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    // The engine reads an attempt's outcome from its words, so phrase it to be
    // read as declared; details go in only where they do not change that reading.
    let with_details = details.map(|d| format!("{what}: {}; {d}", outcome.phrase()));
    let plain = format!("{what}: {}", outcome.phrase());
    let read_as = |text: &str| fmr_engine::text::tried_outcome(text) == outcome.as_tried();
    let mut notes = Vec::new();
    let text = match with_details {
        Some(text) if read_as(&text) => text,
        Some(_) => {
            notes.push(
                "the details were left out of the recorded attempt because their wording would change how its outcome is read"
                    .to_string(),
            );
            plain
        }
        None => plain,
    };
    let recorded_outcome = fmr_engine::text::tried_outcome(&text);
    if recorded_outcome != outcome.as_tried() {
        notes.push(format!(
            "the wording of `what` makes fmr read the outcome as {recorded_outcome:?}, not {outcome:?}; rephrase it to change that"
        ));
    }
    let mut after_inputs = before_inputs.clone();
    after_inputs.tried.push(text.clone());

    let before = engine.investigate(&before_inputs);
    nothing_readable_check(&before_inputs, &before)?;
    let after = engine.investigate(&after_inputs);
    let changes = attempt::rank_changes(&before, &after);
    Ok(AttemptOutput {
        recorded: Tried {
            text,
            outcome: recorded_outcome,
        },
        summary: attempt::summarize(&before, &after, &changes),
        changes,
        first_step_before: before.next_steps.first().map(|s| s.action.clone()),
        first_step_after: after.next_steps.first().map(|s| s.action.clone()),
        notes,
        report: after,
    })
}

// ------------------------------------------------------ explain_failure_mode

/// Arguments of `explain_failure_mode`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainArgs {
    /// A knowledge-base id such as `FM0001`, from a hypothesis or a search hit.
    pub id: String,
}

/// One knowledge-base entry in full, with its links resolved to titles.
pub fn explain_failure_mode(engine: &Engine, args: &ExplainArgs) -> Result<FailureMode, String> {
    let entry = explain::normalize_id(&args.id).and_then(|id| engine.kb.get(&id));
    if let Some(entry) = entry {
        return Ok(FailureMode::from_entry(entry, &engine.kb));
    }
    let range = match (engine.kb.entries().first(), engine.kb.entries().last()) {
        (Some(first), Some(last)) => format!("ids run from {} to {}", first.id, last.id),
        _ => "the knowledge base is empty".to_string(),
    };
    // Agents sometimes pass a title or a symptom: point them at the entries it names.
    let suggestions: Vec<String> = engine
        .index
        .search(&args.id, Level::Exact, 3)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|hit| engine.kb.get(&hit.id))
        .map(|e| format!("{} ({})", e.id, e.title))
        .collect();
    Err(format!(
        "no knowledge-base entry {:?}; {range}{}",
        args.id.trim(),
        if suggestions.is_empty() {
            ". Use search_knowledge to find one".to_string()
        } else {
            format!(". Entries matching it as text: {}", suggestions.join(", "))
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentence_stops_at_the_first_full_stop_or_240_characters() {
        assert_eq!(first_sentence("One. Two."), "One.");
        assert_eq!(first_sentence("  No stop  "), "No stop");
        let long = "word ".repeat(100);
        let cut = first_sentence(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.chars().count() <= 241);
    }
}

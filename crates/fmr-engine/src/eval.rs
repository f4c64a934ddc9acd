//! `fmr eval`: run labelled failure reports through the investigation and count
//! how often the confirmed cause is among the top hypotheses or steps.
//!
//! A case is a hit at k when its `accept` regex (case-insensitive) matches the
//! title, causes or fixes of one of the top-k hypotheses, or the action of one of
//! the top-k next steps.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::{Engine, Inputs};

/// One line of a cases file (the fields fmr reads; others are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct EvalCase {
    pub id: String,
    pub symptom: String,
    #[serde(default)]
    pub expected: String,
    #[serde(default)]
    pub tried: String,
    #[serde(default)]
    pub environment: serde_json::Value,
    #[serde(default)]
    pub code_snippet: String,
    pub accept: String,
    /// Log paths and code of a scenario folder (not part of the JSON-lines format).
    #[serde(skip)]
    pub paths: Vec<std::path::PathBuf>,
    #[serde(skip)]
    pub code: Option<std::path::PathBuf>,
    /// Where the bug lives (file relative to `code`, 1-based line), when known.
    #[serde(skip)]
    pub bug: Option<(String, usize)>,
    /// Symptom kinds the logs show, when labelled (detector precision/recall).
    #[serde(skip)]
    pub symptoms: Option<Vec<fmr_core::SymptomKind>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalSummary {
    pub cases: usize,
    pub top1: usize,
    pub top3: usize,
    pub top1_rate: f64,
    pub top3_rate: f64,
    /// Cases whose accepted cause is among the top-3 knowledge-base search hits
    /// for the symptom text alone (no ranking, no environment): retrieval quality.
    pub retrieval_top3: usize,
    pub retrieval_top3_rate: f64,
    /// Cases with a known bug line, and how many of them an audit finding hit.
    pub located: usize,
    pub line_hits: usize,
    /// Detector precision and recall over cases with labelled symptoms (kinds per case).
    pub symptom_cases: usize,
    pub symptom_precision: f64,
    pub symptom_recall: f64,
    /// How far the first hypothesis's likelihood can be trusted: cases grouped by
    /// that likelihood, with how often the first hypothesis was the cause.
    pub calibration: Vec<CalibrationBin>,
    pub results: Vec<CaseResult>,
    /// Lines of the cases file that could not be used.
    pub problems: Vec<String>,
}

/// Cases whose first hypothesis had a likelihood in `[from, to)`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CalibrationBin {
    pub from: f64,
    pub to: f64,
    pub cases: usize,
    /// Mean likelihood the report gave its first hypothesis.
    pub stated: f64,
    /// Share of these cases whose first hypothesis (or first step) was the cause.
    pub observed: f64,
}

/// Likelihood bins for [`calibration`]: wide enough to hold a few cases each in
/// a set of 30 to 100.
const CALIBRATION_EDGES: [f64; 6] = [0.0, 0.2, 0.35, 0.5, 0.7, 1.0];

/// Groups cases by their first hypothesis's likelihood; empty bins are left out.
pub fn calibration(results: &[CaseResult]) -> Vec<CalibrationBin> {
    CALIBRATION_EDGES
        .windows(2)
        .filter_map(|edge| {
            let (from, to) = (edge[0], edge[1]);
            let last = to >= 1.0;
            let bin: Vec<&CaseResult> = results
                .iter()
                .filter(|r| {
                    r.top_likelihood
                        .is_some_and(|p| p >= from && (p < to || (last && p <= to)))
                })
                .collect();
            if bin.is_empty() {
                return None;
            }
            let n = bin.len() as f64;
            let stated = bin.iter().filter_map(|r| r.top_likelihood).sum::<f64>() / n;
            let right = bin.iter().filter(|r| r.rank == Some(1)).count() as f64;
            Some(CalibrationBin {
                from,
                to,
                cases: bin.len(),
                stated: (stated * 1000.0).round() / 1000.0,
                observed: (right / n * 1000.0).round() / 1000.0,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    /// 1-based rank of the first hit (hypotheses and steps), if within 3.
    pub rank: Option<usize>,
    pub top_hypotheses: Vec<String>,
    /// The likelihood the report gave its first hypothesis.
    pub top_likelihood: Option<f64>,
    pub accept: String,
    /// Whether the symptom text alone retrieves the accepted cause in the top 3.
    pub retrieved: bool,
    /// For cases with a known bug location: whether an audit finding points at it (±1 line).
    pub line_hit: Option<bool>,
    /// For cases with labelled symptoms: kinds the detectors reported that were
    /// labelled (true positives), not labelled (false), and labelled but missed.
    pub symptom_hits: Vec<String>,
    pub symptom_false: Vec<String>,
    pub symptom_missed: Vec<String>,
}

/// Parses a JSON-lines cases file; bad lines are reported, not fatal.
pub fn parse_cases(text: &str) -> (Vec<EvalCase>, Vec<String>) {
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<EvalCase>(line) {
            Ok(c) => cases.push(c),
            Err(e) => problems.push(format!("line {}: {e}", i + 1)),
        }
    }
    (cases, problems)
}

/// What the engine is given for a case: the words, the environment, any code.
pub fn case_inputs(case: &EvalCase) -> Inputs {
    let mut env = Vec::new();
    if let Some(obj) = case.environment.as_object() {
        for (k, v) in obj {
            match (k.as_str(), v) {
                ("hyperparameters", serde_json::Value::Object(hp)) => {
                    for (hk, hv) in hp {
                        env.push((hk.clone(), scalar(hv)));
                    }
                }
                (_, serde_json::Value::String(s)) if !s.is_empty() => {
                    env.push((k.clone(), s.clone()))
                }
                _ => {}
            }
        }
    }
    Inputs {
        paths: case.paths.clone(),
        code: case.code.clone(),
        symptom: Some(case.symptom.clone()),
        expected: (!case.expected.is_empty()).then(|| case.expected.clone()),
        tried: if case.tried.trim().is_empty() {
            Vec::new()
        } else {
            vec![case.tried.clone()]
        },
        env,
        code_snippets: if case.code_snippet.trim().is_empty() {
            Vec::new()
        } else {
            vec![("snippet.py".to_string(), case.code_snippet.clone())]
        },
        ..Inputs::default()
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn evaluate(engine: &Engine, cases: &[EvalCase], problems: Vec<String>) -> EvalSummary {
    evaluate_with(engine, cases, problems, |_| {})
}

/// [`evaluate`], calling `on_case` after each case (for progress bars).
pub fn evaluate_with(
    engine: &Engine,
    cases: &[EvalCase],
    problems: Vec<String>,
    on_case: impl FnMut(&CaseResult),
) -> EvalSummary {
    evaluate_by(engine, cases, problems, on_case, |inputs| {
        engine.investigate(inputs)
    })
}

/// The evaluation loop, with the investigation passed in so that a test can
/// make one case fail.
fn evaluate_by(
    engine: &Engine,
    cases: &[EvalCase],
    problems: Vec<String>,
    mut on_case: impl FnMut(&CaseResult),
    investigate: impl Fn(&Inputs) -> fmr_core::Report,
) -> EvalSummary {
    let mut results = Vec::new();
    let mut problems = problems;
    for case in cases {
        let accept = match RegexBuilder::new(&case.accept)
            .case_insensitive(true)
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{}: invalid accept regex: {e}", case.id));
                continue;
            }
        };
        // A case that breaks the engine counts as a miss everywhere and is
        // named; the other cases still run.
        let inputs = case_inputs(case);
        let report =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| investigate(&inputs))) {
                Ok(report) => Some(report),
                Err(cause) => {
                    let why = cause
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| cause.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown cause".into());
                    problems.push(format!(
                        "{}: the investigation failed ({why}); counted as a miss",
                        case.id
                    ));
                    None
                }
            };
        let report = report.as_ref();
        let rank = report.and_then(|r| first_hit(r, &accept, 3));
        let retrieved = report.is_some()
            && engine
                .index
                .search(&case.symptom, fmr_kb::Level::Exact, 3)
                .unwrap_or_default()
                .iter()
                .filter_map(|hit| engine.kb.get(&hit.id))
                .any(|e| entry_matches(e, &accept));
        let line_hit = case.bug.as_ref().map(|(file, line)| {
            report.is_some_and(|r| {
                r.audit_findings.iter().any(|f| {
                    (f.file == *file || f.file.ends_with(&format!("/{file}")))
                        && f.line.abs_diff(*line) <= 1
                })
            })
        });
        let (symptom_hits, symptom_false, symptom_missed) = symptom_scores(case, report);
        results.push(CaseResult {
            id: case.id.clone(),
            rank,
            retrieved,
            line_hit,
            symptom_hits,
            symptom_false,
            symptom_missed,
            top_hypotheses: report
                .iter()
                .flat_map(|r| r.hypotheses.iter().take(3))
                .map(|h| format!("{} {}", h.id, h.title))
                .collect(),
            top_likelihood: report
                .and_then(|r| r.hypotheses.first())
                .map(|h| h.likelihood),
            accept: case.accept.clone(),
        });
        if let Some(last) = results.last() {
            on_case(last);
        }
    }
    let n = results.len();
    let top1 = results.iter().filter(|r| r.rank == Some(1)).count();
    let top3 = results.iter().filter(|r| r.rank.is_some()).count();
    let rate = |x: usize| {
        if n == 0 {
            0.0
        } else {
            (x as f64 / n as f64 * 1000.0).round() / 1000.0
        }
    };
    let retrieval_top3 = results.iter().filter(|r| r.retrieved).count();
    EvalSummary {
        cases: n,
        top1,
        top3,
        top1_rate: rate(top1),
        top3_rate: rate(top3),
        retrieval_top3,
        retrieval_top3_rate: rate(retrieval_top3),
        located: results.iter().filter(|r| r.line_hit.is_some()).count(),
        symptom_cases: cases.iter().filter(|c| c.symptoms.is_some()).count(),
        symptom_precision: ratio(
            results.iter().map(|r| r.symptom_hits.len()).sum(),
            results
                .iter()
                .map(|r| r.symptom_hits.len() + r.symptom_false.len())
                .sum(),
        ),
        symptom_recall: ratio(
            results.iter().map(|r| r.symptom_hits.len()).sum(),
            results
                .iter()
                .map(|r| r.symptom_hits.len() + r.symptom_missed.len())
                .sum(),
        ),
        line_hits: results.iter().filter(|r| r.line_hit == Some(true)).count(),
        calibration: calibration(&results),
        results,
        problems,
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 1000.0).round() / 1000.0
    }
}

/// Kinds the detectors measured, against the labelled kinds of a case; without
/// a report (the investigation failed) every labelled kind is missed.
fn symptom_scores(
    case: &EvalCase,
    report: Option<&fmr_core::Report>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let Some(labelled) = &case.symptoms else {
        return Default::default();
    };
    let mut detected: Vec<fmr_core::SymptomKind> = report
        .iter()
        .flat_map(|r| &r.characterization.symptoms)
        .filter(|s| s.origin == fmr_core::Origin::Detector)
        .map(|s| s.kind)
        .collect();
    detected.sort();
    detected.dedup();
    let name = |k: &fmr_core::SymptomKind| k.as_str().to_string();
    let hits = detected
        .iter()
        .filter(|k| labelled.contains(k))
        .map(name)
        .collect();
    let false_ = detected
        .iter()
        .filter(|k| !labelled.contains(k))
        .map(name)
        .collect();
    let missed = labelled
        .iter()
        .filter(|k| !detected.contains(k))
        .map(name)
        .collect();
    (hits, false_, missed)
}

/// The smallest k ≤ `max_k` at which a top-k hypothesis or step matches.
pub fn first_hit(report: &fmr_core::Report, accept: &Regex, max_k: usize) -> Option<usize> {
    (1..=max_k).find(|&k| {
        let hyp = report
            .hypotheses
            .iter()
            .filter(|h| h.status != fmr_core::HypothesisStatus::Eliminated)
            .take(k)
            .any(|h| {
                accept.is_match(&h.title)
                    || accept.is_match(&h.root_cause)
                    || h.other_causes.iter().any(|c| accept.is_match(c))
                    || h.fixes.iter().any(|f| accept.is_match(f))
            });
        hyp || report
            .next_steps
            .iter()
            .take(k)
            .any(|s| accept.is_match(&s.action))
    })
}

fn entry_matches(e: &fmr_kb::Entry, accept: &Regex) -> bool {
    accept.is_match(&e.title)
        || e.causes.iter().any(|c| accept.is_match(c))
        || e.fixes.iter().any(|f| accept.is_match(&f.action))
}

/// The `truth.toml` of a benchmark scenario (bench/scenarios/<id>/).
#[derive(Debug, Deserialize)]
struct Truth {
    accept: String,
    #[serde(default)]
    bug_file: Option<String>,
    #[serde(default)]
    bug_line: Option<usize>,
    #[serde(default)]
    symptoms: Option<Vec<String>>,
}

/// Reads every scenario folder under `dir`: `truth.toml`, `symptom.txt`, `logs/`,
/// and the folder itself as the code. Folders that cannot be used are reported.
pub fn load_scenarios(dir: &std::path::Path) -> (Vec<EvalCase>, Vec<String>) {
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    let mut folders: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => return (cases, vec![format!("{}: {e}", dir.display())]),
    };
    folders.sort();
    for folder in folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let truth_path = folder.join("truth.toml");
        let truth: Truth = match std::fs::read_to_string(&truth_path)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{}: {e}", truth_path.display()));
                continue;
            }
        };
        let symptom = match std::fs::read_to_string(folder.join("symptom.txt")) {
            Ok(s) => s.trim().to_string(),
            Err(e) => {
                problems.push(format!("{}: {e}", folder.join("symptom.txt").display()));
                continue;
            }
        };
        let logs = folder.join("logs");
        cases.push(EvalCase {
            id: name,
            symptom,
            expected: String::new(),
            tried: String::new(),
            environment: serde_json::Value::Null,
            code_snippet: String::new(),
            accept: truth.accept,
            paths: if logs.is_dir() {
                vec![logs]
            } else {
                Vec::new()
            },
            code: Some(folder.clone()),
            bug: truth.bug_file.zip(truth.bug_line),
            symptoms: match truth.symptoms {
                Some(names) => {
                    let kinds: Vec<_> = names
                        .iter()
                        .filter_map(|n| fmr_core::SymptomKind::parse(n))
                        .collect();
                    if kinds.len() != names.len() {
                        problems.push(format!(
                            "{}: unknown symptom kind in {names:?}",
                            truth_path.display()
                        ));
                    }
                    Some(kinds)
                }
                None => None,
            },
        });
    }
    (cases, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, symptom: &str, accept: &str) -> EvalCase {
        EvalCase {
            id: id.into(),
            symptom: symptom.into(),
            expected: String::new(),
            tried: String::new(),
            environment: serde_json::Value::Null,
            code_snippet: String::new(),
            accept: accept.into(),
            paths: Vec::new(),
            code: None,
            bug: None,
            symptoms: None,
        }
    }

    #[test]
    fn a_case_that_breaks_the_engine_is_a_named_miss_and_the_others_still_count() {
        let engine = Engine::new().expect("engine");
        let nan = "loss becomes NaN after a few hundred steps with fp16";
        let cases = [
            case("first", nan, "overflow|loss scal"),
            case("breaks", "this one panics", "anything"),
            case("last", nan, "overflow|loss scal"),
        ];
        let mut seen = Vec::new();
        let summary = evaluate_by(
            &engine,
            &cases,
            Vec::new(),
            |result| seen.push(result.id.clone()),
            |inputs| {
                if inputs.symptom.as_deref() == Some("this one panics") {
                    panic!("a detector indexed past the end");
                }
                engine.investigate(inputs)
            },
        );
        assert_eq!(seen, ["first", "breaks", "last"]);
        assert_eq!(summary.cases, 3);
        assert_eq!(summary.top3, 2, "{:?}", summary.results);
        let broken = &summary.results[1];
        assert_eq!(broken.rank, None);
        assert!(!broken.retrieved);
        assert!(broken.top_hypotheses.is_empty());
        assert_eq!(broken.top_likelihood, None);
        assert_eq!(
            summary.problems,
            [
                "breaks: the investigation failed (a detector indexed past the end); counted as a miss"
            ]
        );
    }

    fn result(likelihood: Option<f64>, rank: Option<usize>) -> CaseResult {
        CaseResult {
            id: "case".into(),
            rank,
            top_hypotheses: Vec::new(),
            top_likelihood: likelihood,
            accept: String::new(),
            retrieved: false,
            line_hit: None,
            symptom_hits: Vec::new(),
            symptom_false: Vec::new(),
            symptom_missed: Vec::new(),
        }
    }

    #[test]
    fn calibration_groups_cases_by_the_first_likelihood() {
        let results = [
            result(Some(0.1), None),
            result(Some(0.3), Some(1)),
            result(Some(0.25), Some(2)),
            result(Some(0.9), Some(1)),
            result(Some(1.0), Some(1)),
            result(None, None),
        ];
        let bins = calibration(&results);
        assert_eq!(bins.len(), 3, "{bins:?}");
        assert_eq!(
            (bins[0].from, bins[0].cases, bins[0].observed),
            (0.0, 1, 0.0)
        );
        // 0.3 and 0.25: one right at rank 1 out of two.
        assert_eq!((bins[1].from, bins[1].cases), (0.2, 2));
        assert_eq!(bins[1].stated, 0.275);
        assert_eq!(bins[1].observed, 0.5);
        // A likelihood of exactly 1 falls in the last bin.
        assert_eq!(
            (bins[2].from, bins[2].cases, bins[2].observed),
            (0.7, 2, 1.0)
        );
    }
}

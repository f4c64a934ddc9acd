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
    pub results: Vec<CaseResult>,
    /// Lines of the cases file that could not be used.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    /// 1-based rank of the first hit (hypotheses and steps), if within 3.
    pub rank: Option<usize>,
    pub top_hypotheses: Vec<String>,
    pub accept: String,
    /// Whether the symptom text alone retrieves the accepted cause in the top 3.
    pub retrieved: bool,
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
        let report = engine.investigate(&case_inputs(case));
        let rank = first_hit(&report, &accept, 3);
        let retrieved = engine
            .index
            .search(&case.symptom, fmr_kb::Level::Exact, 3)
            .unwrap_or_default()
            .iter()
            .filter_map(|hit| engine.kb.get(&hit.id))
            .any(|e| entry_matches(e, &accept));
        results.push(CaseResult {
            id: case.id.clone(),
            rank,
            retrieved,
            top_hypotheses: report
                .hypotheses
                .iter()
                .take(3)
                .map(|h| format!("{} {}", h.id, h.title))
                .collect(),
            accept: case.accept.clone(),
        });
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
        results,
        problems,
    }
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

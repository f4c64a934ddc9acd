//! The environment battery: practitioners' sentences and the hyperparameters,
//! optimizer, framework, model family, precision and distributed set-up the
//! text readers must take from each, including numbers that only look like a
//! hyperparameter ("NaN at epoch 3", "batch 1200 of 5000", "CUDA 11.8").
//!
//! Each line of `fixtures/environment_phrasings.tsv` is
//! `text<TAB>expectations`, for example
//! `bs=64, lr 3e-4<TAB>batch_size=64; learning_rate=3e-4`. See the file's
//! header for the notation.

mod common;

use std::collections::BTreeMap;

use fmr_engine::text::{
    distributed_from_text, framework_from_text, hyperparameters_from_text, model_from_text,
    precision_from_text,
};

const BATTERY: &str = include_str!("fixtures/environment_phrasings.tsv");

/// The fields checked only when a line names them.
const ENV_FIELDS: [&str; 4] = ["framework", "model", "precision", "distributed"];

/// One line of the battery, parsed. `None` as an expected value means "absent".
struct Case {
    line: usize,
    text: String,
    hyperparameters: BTreeMap<String, String>,
    fields: BTreeMap<String, Option<String>>,
    /// A lone "-": nothing at all may be read.
    nothing: bool,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (i, raw) in BATTERY.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let columns: Vec<&str> = raw.split('\t').collect();
        assert!(
            columns.len() == 2,
            "environment_phrasings.tsv line {line}: expected 2 tab-separated fields, got {}",
            columns.len()
        );
        let expectations = columns[1].trim();
        let mut case = Case {
            line,
            text: columns[0].to_string(),
            hyperparameters: BTreeMap::new(),
            fields: BTreeMap::new(),
            nothing: expectations == "-",
        };
        if !case.nothing {
            for pair in expectations.split("; ") {
                let (key, value) = pair.split_once('=').unwrap_or_else(|| {
                    panic!("environment_phrasings.tsv line {line}: {pair:?} is not key=value")
                });
                let (key, value) = (key.trim().to_string(), value.trim().to_string());
                if ENV_FIELDS.contains(&key.as_str()) {
                    case.fields.insert(key, (value != "-").then_some(value));
                } else {
                    case.hyperparameters.insert(key, value);
                }
            }
        }
        out.push(case);
    }
    out
}

/// Whether a read value equals the expected text: numbers to a relative
/// tolerance (3e-4 and 0.0003 are the same), anything else as lower-case text.
fn same_value(found: &serde_json::Value, expected: &str) -> bool {
    match (found.as_f64(), expected.parse::<f64>()) {
        (Some(f), Ok(e)) => (f - e).abs() <= 1e-9 * e.abs().max(1e-12),
        _ => found.as_str().is_some_and(|s| s == expected),
    }
}

/// What is wrong with one case's reading, if anything.
fn check(case: &Case) -> Option<String> {
    let text = case.text.as_str();
    let read = hyperparameters_from_text(text);
    let fields: BTreeMap<&str, Option<String>> = [
        ("framework", framework_from_text(text).map(String::from)),
        ("model", model_from_text(text).map(String::from)),
        ("precision", precision_from_text(text).map(String::from)),
        ("distributed", distributed_from_text(text)),
    ]
    .into_iter()
    .collect();
    let mut problems = Vec::new();
    for (name, expected) in &case.hyperparameters {
        match read.get(name) {
            None => problems.push(format!("missing {name}={expected}")),
            Some(found) if !same_value(found, expected) => {
                problems.push(format!("{name}={found}, expected {expected}"))
            }
            Some(_) => {}
        }
    }
    for (name, found) in &read {
        if !case.hyperparameters.contains_key(name) {
            problems.push(format!("unexpected {name}={found}"));
        }
    }
    for (name, found) in &fields {
        let expected = if case.nothing {
            Some(&None)
        } else {
            case.fields.get(*name)
        };
        if let Some(expected) = expected
            && found != expected
        {
            problems.push(format!("{name}={found:?}, expected {expected:?}"));
        }
    }
    (!problems.is_empty())
        .then(|| format!("line {}: {:?}: {}", case.line, text, problems.join("; ")))
}

#[test]
fn battery_is_large_and_has_precision_lines() {
    let cases = cases();
    assert!(cases.len() >= 150, "only {} phrasings", cases.len());
    let negatives = cases
        .iter()
        .filter(|c| c.nothing || c.fields.values().any(Option::is_none))
        .count();
    assert!(
        negatives >= 40,
        "only {negatives} lines that must yield nothing"
    );
}

#[test]
fn every_phrasing_reads_as_expected() {
    let cases = cases();
    let failures: Vec<String> = cases.iter().filter_map(check).collect();
    common::assert_battery("environment phrasings", cases.len(), &failures);
}

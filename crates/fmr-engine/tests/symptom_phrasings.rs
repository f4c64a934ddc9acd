//! The phrasing battery: practitioners' own sentences and the symptom kinds
//! (and metric role) `symptoms_from_text` must read from each, including
//! denials and look-alikes that must yield nothing.
//!
//! Each line of `fixtures/symptom_phrasings.tsv` is
//! `phrase<TAB>kinds<TAB>role`, for example
//! `the training loss went to 0<TAB>zero_loss<TAB>train_loss`. See the
//! file's header for the notation.

mod common;

use std::collections::BTreeSet;

use fmr_core::{MetricRole, SymptomKind};
use fmr_engine::text::symptoms_from_text;

const BATTERY: &str = include_str!("fixtures/symptom_phrasings.tsv");

/// One line of the battery, parsed.
struct Case {
    line: usize,
    phrase: String,
    required: BTreeSet<SymptomKind>,
    tolerated: BTreeSet<SymptomKind>,
    /// (kind, expected role); `None` as the role means "no role".
    roles: Vec<(SymptomKind, Option<MetricRole>)>,
}

fn parse_kind(text: &str, line: usize) -> SymptomKind {
    SymptomKind::parse(text)
        .unwrap_or_else(|| panic!("symptom_phrasings.tsv line {line}: unknown kind {text:?}"))
}

fn parse_role(text: &str, line: usize) -> Option<MetricRole> {
    if text == "none" {
        return None;
    }
    Some(
        MetricRole::parse(text)
            .unwrap_or_else(|| panic!("symptom_phrasings.tsv line {line}: unknown role {text:?}")),
    )
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (i, raw) in BATTERY.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').collect();
        assert!(
            (2..=3).contains(&fields.len()),
            "symptom_phrasings.tsv line {line}: expected 2 or 3 tab-separated fields, got {}",
            fields.len()
        );
        let mut required = BTreeSet::new();
        let mut tolerated = BTreeSet::new();
        if fields[1].trim() != "-" {
            for item in fields[1].split(',').map(str::trim) {
                match item.strip_suffix('?') {
                    Some(kind) => tolerated.insert(parse_kind(kind, line)),
                    None => required.insert(parse_kind(item, line)),
                };
            }
        }
        let first_kind = fields[1]
            .split(',')
            .map(str::trim)
            .find(|k| !k.ends_with('?') && *k != "-");
        let mut roles = Vec::new();
        if let Some(role_field) = fields.get(2).map(|f| f.trim()).filter(|f| !f.is_empty()) {
            for item in role_field.split(',').map(str::trim) {
                match item.split_once('=') {
                    Some((kind, role)) => {
                        roles.push((parse_kind(kind, line), parse_role(role, line)));
                    }
                    None => {
                        let kind = first_kind.unwrap_or_else(|| {
                            panic!("symptom_phrasings.tsv line {line}: a role needs a kind")
                        });
                        roles.push((parse_kind(kind, line), parse_role(item, line)));
                    }
                }
            }
        }
        out.push(Case {
            line,
            phrase: fields[0].to_string(),
            required,
            tolerated,
            roles,
        });
    }
    out
}

/// What is wrong with the symptoms read from one case's phrase, if anything.
fn check(case: &Case) -> Option<String> {
    let symptoms = symptoms_from_text(&case.phrase, "symptom");
    let found: BTreeSet<SymptomKind> = symptoms.iter().map(|s| s.kind).collect();
    let missing: Vec<_> = case.required.difference(&found).collect();
    let extra: Vec<_> = found
        .iter()
        .filter(|k| !case.required.contains(k) && !case.tolerated.contains(k))
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing {missing:?}"));
    }
    if !extra.is_empty() {
        problems.push(format!("unexpected {extra:?}"));
    }
    for (kind, role) in &case.roles {
        if let Some(s) = symptoms.iter().find(|s| s.kind == *kind)
            && s.role != *role
        {
            problems.push(format!("{kind} has role {:?}, expected {role:?}", s.role));
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "line {}: {:?}: {}",
            case.line,
            case.phrase,
            problems.join("; ")
        )
    })
}

#[test]
fn battery_is_large_and_has_precision_lines() {
    let cases = cases();
    assert!(cases.len() >= 200, "only {} phrasings", cases.len());
    let negatives = cases.iter().filter(|c| c.required.is_empty()).count();
    assert!(
        negatives >= 40,
        "only {negatives} lines that must yield nothing"
    );
}

#[test]
fn every_phrasing_reads_as_expected() {
    let cases = cases();
    let failures: Vec<String> = cases.iter().filter_map(check).collect();
    common::assert_battery("symptom phrasings", cases.len(), &failures);
}

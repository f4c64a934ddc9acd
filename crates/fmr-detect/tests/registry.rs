//! The registry's own rules: stable, sorted, unique codes, and a documentation comment with
//! every required heading on every detector (the doc comment is the user documentation).

use std::path::Path;

use fmr_detect::{DETECTORS, detector};

/// The headings every detector's doc comment has, in this order.
const HEADINGS: &[&str] = &[
    "## What it detects",
    "## Why it matters",
    "## Signature",
    "## Evidence reported",
    "## Parameters",
    "## Likely causes",
];

/// Codes that must never be used (reserved or retired).
const RESERVED: &[&str] = &["S106"];

#[test]
fn codes_are_well_formed_unique_and_sorted() {
    let codes: Vec<&str> = DETECTORS.iter().map(|d| d.code()).collect();
    for code in &codes {
        let digits = code.strip_prefix('S').unwrap_or("");
        assert!(
            digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit()),
            "bad code {code}"
        );
        assert!(!RESERVED.contains(code), "{code} is reserved");
    }
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        codes, sorted,
        "DETECTORS must be sorted by code, without duplicates"
    );
}

#[test]
fn names_are_unique_snake_case() {
    let mut names: Vec<&str> = DETECTORS.iter().map(|d| d.name()).collect();
    for name in &names {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "bad name {name}"
        );
    }
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "duplicate detector names");
}

#[test]
fn lookup_by_code() {
    for d in DETECTORS {
        assert_eq!(detector(d.code()).map(|found| found.name()), Some(d.name()));
    }
    assert!(detector("S106").is_none());
    assert!(detector("nope").is_none());
}

/// The doc comment right above `pub struct`, without the `///` markers.
fn struct_doc(source: &str) -> Vec<String> {
    let lines: Vec<&str> = source.lines().collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("pub struct ")) else {
        return Vec::new();
    };
    let mut doc: Vec<String> = lines[..at]
        .iter()
        .rev()
        .take_while(|l| l.starts_with("///"))
        .map(|l| l.trim_start_matches("///").trim().to_owned())
        .collect();
    doc.reverse();
    doc
}

#[test]
fn every_detector_is_documented_in_its_own_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/detectors");
    let mut problems = Vec::new();
    for d in DETECTORS {
        // One file per detector, named after it.
        let path = dir.join(format!("{}.rs", d.name()));
        let Ok(source) = std::fs::read_to_string(&path) else {
            problems.push(format!("{}: no file {}", d.code(), path.display()));
            continue;
        };
        let doc = struct_doc(&source);
        let found: Vec<&str> = doc
            .iter()
            .filter(|l| l.starts_with("## "))
            .map(String::as_str)
            .collect();
        if found != HEADINGS {
            problems.push(format!(
                "{}: headings {found:?}, expected {HEADINGS:?}",
                d.code()
            ));
            continue;
        }
        // Every heading has some text under it.
        for heading in HEADINGS {
            let start = doc.iter().position(|l| l == heading).unwrap_or(0) + 1;
            let body = doc[start..]
                .iter()
                .take_while(|l| !l.starts_with("## "))
                .any(|l| !l.is_empty());
            if !body {
                problems.push(format!("{}: `{heading}` is empty", d.code()));
            }
        }
        let causes_at = doc
            .iter()
            .position(|l| l == "## Likely causes")
            .unwrap_or(0)
            + 1;
        let ids: Vec<&str> = doc[causes_at..]
            .iter()
            .flat_map(|l| l.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|t| !t.is_empty())
            .collect();
        if ids.is_empty() {
            problems.push(format!("{}: no likely causes", d.code()));
        }
        for id in ids {
            let digits = id.strip_prefix("FM").unwrap_or("");
            if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
                problems.push(format!(
                    "{}: `{id}` is not a knowledge-base id (FM + 4 digits)",
                    d.code()
                ));
            }
        }
        if !source.contains(&format!("\"{}\"", d.code())) {
            problems.push(format!("{}: the code is not in its own file", d.code()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

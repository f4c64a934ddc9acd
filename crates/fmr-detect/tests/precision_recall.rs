//! Precision and recall of symptom kinds over the labelled fixtures.
//!
//! `tests/fixtures/labels.csv` says which kinds each fixture's curves really show (from how
//! `make_fixtures.py` builds them, not from what the detectors report). A kind counts as found
//! in a fixture when any detector reports it. Run with `--nocapture` to see the table:
//! `cargo test -p fmr-detect --test precision_recall -- --nocapture`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{all_fixtures, fixtures_dir, load, relative};
use fmr_core::SymptomKind;
use fmr_detect::detect;

/// Floors that keep the detectors from regressing; the table shows the actual values.
const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.9;

/// `fixture → kinds`, from `labels.csv` (comment lines start with `#`).
fn labels() -> BTreeMap<String, BTreeSet<SymptomKind>> {
    let path = fixtures_dir().join("labels.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (fixture, kinds) = line
            .split_once(',')
            .unwrap_or_else(|| panic!("labels.csv:{}: no comma", number + 1));
        let kinds = kinds
            .split_whitespace()
            .map(|k| {
                SymptomKind::parse(k)
                    .unwrap_or_else(|| panic!("labels.csv:{}: unknown kind {k}", number + 1))
            })
            .collect();
        assert!(
            out.insert(fixture.to_owned(), kinds).is_none(),
            "labels.csv:{}: {fixture} is labelled twice",
            number + 1
        );
    }
    out
}

#[derive(Default)]
struct Counts {
    true_positives: usize,
    false_positives: usize,
    false_negatives: usize,
    misses: Vec<String>,
    false_alarms: Vec<String>,
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        1.0
    } else {
        numerator as f64 / denominator as f64
    }
}

#[test]
fn precision_and_recall_of_symptom_kinds() {
    let labels = labels();
    let fixtures = all_fixtures();
    let names: BTreeSet<String> = fixtures.iter().map(|p| relative(p)).collect();
    let labelled: BTreeSet<String> = labels.keys().cloned().collect();
    assert_eq!(
        names, labelled,
        "labels.csv must list every fixture, and only those"
    );

    let mut per_kind: BTreeMap<SymptomKind, Counts> = BTreeMap::new();
    for path in &fixtures {
        let name = relative(path);
        let found: BTreeSet<SymptomKind> = detect(&load(path)).iter().map(|s| s.kind).collect();
        let truth = &labels[&name];
        for kind in truth.union(&found) {
            let counts = per_kind.entry(*kind).or_default();
            match (truth.contains(kind), found.contains(kind)) {
                (true, true) => counts.true_positives += 1,
                (false, true) => {
                    counts.false_positives += 1;
                    counts.false_alarms.push(name.clone());
                }
                (true, false) => {
                    counts.false_negatives += 1;
                    counts.misses.push(name.clone());
                }
                (false, false) => {}
            }
        }
    }

    let mut table = String::from(
        "| kind | labelled | found | TP | FP | FN | precision | recall |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (kind, c) in &per_kind {
        tp += c.true_positives;
        fp += c.false_positives;
        fn_ += c.false_negatives;
        table.push_str(&format!(
            "| {kind} | {} | {} | {} | {} | {} | {:.2} | {:.2} |\n",
            c.true_positives + c.false_negatives,
            c.true_positives + c.false_positives,
            c.true_positives,
            c.false_positives,
            c.false_negatives,
            ratio(c.true_positives, c.true_positives + c.false_positives),
            ratio(c.true_positives, c.true_positives + c.false_negatives),
        ));
    }
    let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    table.push_str(&format!(
        "| **all ({} fixtures)** | {} | {} | {tp} | {fp} | {fn_} | **{precision:.2}** | **{recall:.2}** |\n",
        fixtures.len(),
        tp + fn_,
        tp + fp,
    ));
    let mut notes = String::new();
    for (kind, c) in &per_kind {
        for name in &c.misses {
            notes.push_str(&format!("missed {kind} in {name}\n"));
        }
        for name in &c.false_alarms {
            notes.push_str(&format!("false {kind} in {name}\n"));
        }
    }
    println!("{table}\n{notes}");
    assert!(
        precision >= MIN_PRECISION && recall >= MIN_RECALL,
        "precision {precision:.2} (floor {MIN_PRECISION}), recall {recall:.2} (floor {MIN_RECALL})\n{table}\n{notes}"
    );
}

//! Every fixture under `tests/fixtures/` is run through all detectors.
//!
//! - `<CODE>/<name>.csv` must make detector CODE report; `<CODE>/ok_*.csv` must not.
//! - `healthy/ok_*.csv` must make no detector report anything.
//! - One snapshot per fixture shows every symptom with its window, numbers and statement.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{all_fixtures, folder, load, relative, stem};
use fmr_core::{Run, Symptom};
use fmr_detect::{DETECTORS, DetectorInput, detect};

/// A number for the snapshot: integers as such, others with 4 significant digits, so the
/// last bits of floating point arithmetic never change a snapshot.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    if (-4..6).contains(&magnitude) {
        let decimals = (3 - magnitude).max(0) as usize;
        let text = format!("{value:.decimals$}");
        return if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            text
        };
    }
    format!("{value:.3e}")
}

fn render(path: &Path, run: &Run, symptoms: &[Symptom]) -> String {
    let mut out = String::new();
    let input = DetectorInput::new(run);
    let _ = writeln!(out, "fixture: {}", relative(path));
    let roles: Vec<String> = input
        .series
        .iter()
        .map(|s| format!("{} ({})", s.tag, s.role.map_or("no role", |r| r.as_str())))
        .collect();
    let _ = writeln!(out, "series: {}", roles.join(", "));
    if symptoms.is_empty() {
        let _ = writeln!(out, "\n(no symptoms)");
    }
    for s in symptoms {
        let window = s
            .window
            .map_or("-".to_owned(), |w| format!("{}..{}", w.start, w.end));
        let _ = writeln!(
            out,
            "\n{} {} · {} ({}) · steps {} · confidence {:.2}",
            s.code,
            s.kind,
            s.metric.as_deref().unwrap_or("-"),
            s.role.map_or("no role", |r| r.as_str()),
            window,
            s.confidence
        );
        let _ = writeln!(out, "  {}", s.statement);
        let numbers: Vec<String> = s
            .numbers
            .iter()
            .map(|(k, v)| format!("{k}={}", number(*v)))
            .collect();
        let _ = writeln!(out, "  {}", numbers.join(", "));
    }
    out
}

#[test]
fn fixture_snapshots() {
    insta::glob!("fixtures/*/*.csv", |path| {
        let run = load(path);
        let symptoms = detect(&run);
        insta::assert_snapshot!(render(path, &run, &symptoms));
    });
}

#[test]
fn fixtures_meet_their_expectations() {
    let mut failures = Vec::new();
    for path in all_fixtures() {
        let run = load(&path);
        let symptoms = detect(&run);
        let folder = folder(&path);
        let ok = stem(&path).starts_with("ok_");
        let codes: Vec<&str> = symptoms.iter().map(|s| s.code.as_str()).collect();
        let problem = match (folder.as_str(), ok) {
            ("healthy", _) if !symptoms.is_empty() => {
                Some(format!("a healthy run reports {codes:?}"))
            }
            ("healthy", _) => None,
            (code, true) if codes.contains(&code) => {
                Some(format!("{code} reports on its ok fixture"))
            }
            (code, false) if !codes.contains(&code) => {
                Some(format!("{code} misses it (found {codes:?})"))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            failures.push(format!("{}: {problem}", relative(&path)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_detector_has_a_positive_and_an_ok_fixture() {
    let fixtures = all_fixtures();
    for detector in DETECTORS {
        let mine: Vec<&PathBuf> = fixtures
            .iter()
            .filter(|p| folder(p) == detector.code())
            .collect();
        assert!(
            mine.iter().any(|p| !stem(p).starts_with("ok_")),
            "{} has no positive fixture",
            detector.code()
        );
        assert!(
            mine.iter().any(|p| stem(p).starts_with("ok_")),
            "{} has no ok_ fixture",
            detector.code()
        );
    }
    let healthy = fixtures.iter().filter(|p| folder(p) == "healthy").count();
    assert!(healthy >= 3, "only {healthy} healthy fixtures");
}

#[test]
fn symptoms_carry_their_run_metric_and_window() {
    for path in all_fixtures() {
        let run = load(&path);
        for s in detect(&run) {
            let at = format!("{} {}", relative(&path), s.code);
            assert_eq!(s.run.as_deref(), Some(run.name.as_str()), "{at}");
            assert!(
                s.metric.as_deref().is_some_and(|m| run.series(m).is_some()),
                "{at}"
            );
            assert!(s.window.is_some_and(|w| w.start <= w.end), "{at}");
            assert!((0.0..=1.0).contains(&s.confidence), "{at}");
            assert!(
                !s.statement.is_empty() && !s.statement.ends_with('.'),
                "{at}: {}",
                s.statement
            );
            assert!(s.numbers.values().all(|v| v.is_finite()), "{at}");
            assert_eq!(s.origin, fmr_core::Origin::Detector, "{at}");
        }
    }
}

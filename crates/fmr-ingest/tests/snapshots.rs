//! Human-readable outputs, pinned with insta: the `fmr metrics --format csv`
//! table and what a crashed console log yields.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fmr_ingest::{ingest, write_metrics_csv};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn metrics_csv_export() {
    let ingested = ingest(&[fixture("small")]);
    assert!(ingested.problems.is_empty(), "{:?}", ingested.problems);
    let mut out = Vec::new();
    write_metrics_csv(&ingested.runs, &mut out).expect("writing to a Vec");
    let text = String::from_utf8(out).expect("UTF-8");
    insta::assert_snapshot!(text);

    // The config beside the JSON lines landed in the run, flattened.
    let exp2 = ingested
        .runs
        .iter()
        .find(|r| r.name == "exp2")
        .expect("exp2");
    assert_eq!(exp2.formats, ["config", "jsonl"]);
    assert_eq!(exp2.config["optimizer.name"], serde_json::json!("adamw"));
}

#[test]
fn crashed_console_log() {
    let ingested = ingest(&[fixture("text/crash.log")]);
    assert!(ingested.problems.is_empty(), "{:?}", ingested.problems);
    let run = &ingested.runs[0];
    let mut text = format!("run {} [{}]\n\nevents:\n", run.name, run.formats.join(", "));
    for event in &run.events {
        let file = Path::new(&event.file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?");
        writeln!(
            text,
            "  {file}:{} {:?}: {}",
            event.line, event.kind, event.text
        )
        .expect("String");
    }
    text.push_str("\nseries:\n");
    for series in &run.series {
        let points: Vec<String> = series
            .points
            .iter()
            .map(|p| format!("{}={:?}", p.step, p.value))
            .collect();
        writeln!(text, "  {}: {}", series.tag, points.join(" ")).expect("String");
    }
    insta::assert_snapshot!(text);
}

//! Human-readable outputs, pinned with insta: the `fmr metrics --format csv`
//! table, what a crashed console log yields, and what fmr makes of a
//! TensorBoard run that crashed and was resumed into a second, damaged file.

#[path = "support/event_writer.rs"]
mod event_writer;

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

/// Two event files in one folder: the first run crashes with NaN at step
/// 30, the resumed one restarts from the step-20 checkpoint and is still
/// being written (its last record cut short), with one record damaged.
#[test]
fn resumed_tensorboard_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = dir.path().join("runs/resnet");
    std::fs::create_dir_all(&run_dir).expect("mkdir");

    let mut first = event_writer::EventFile::default();
    first.file_version(1000.0);
    for step in 0..=30 {
        let loss = if step < 30 {
            2.0 - step as f32 * 0.05
        } else {
            f32::NAN
        };
        first.scalar(1000.0 + step as f64, step, "train/loss", loss);
        if step % 10 == 0 {
            first.histogram(1000.0 + step as f64, step, "fc.weight", &[-1.0, 0.5, 2.0]);
        }
    }
    first.text(
        1031.0,
        30,
        "log/text_summary",
        "RuntimeError: Function 'MulBackward0' returned nan values",
    );
    std::fs::write(
        run_dir.join("events.out.tfevents.1000.host.1.0"),
        &first.bytes,
    )
    .expect("write");

    let mut second = event_writer::EventFile::default();
    second.file_version(2000.0);
    for step in 20..40 {
        second.scalar(
            2000.0 + step as f64,
            step,
            "train/loss",
            1.5 - step as f32 * 0.01,
        );
    }
    let mut bytes = second.bytes.clone();
    bytes[second.offsets[5] + 14] ^= 0x20; // inside record 6's payload
    bytes.truncate(bytes.len() - 6);
    std::fs::write(run_dir.join("events.out.tfevents.2000.host.2.0"), &bytes).expect("write");

    let ingested = ingest(&[dir.path().join("runs")]);
    let root = dir.path().display().to_string();
    let relative = |text: &str| text.replace(&root, "<tmp>");
    let mut text = String::new();
    for run in &ingested.runs {
        writeln!(text, "run {} [{}]", run.name, run.formats.join(", ")).expect("String");
        for series in &run.series {
            let steps: Vec<i64> = series.steps().collect();
            let last = series.points.last().map(|p| p.value).unwrap_or(f64::NAN);
            writeln!(
                text,
                "  {:<20} {:>3} points, steps {:?}..{:?}, last {last:?}",
                series.tag,
                series.points.len(),
                steps.first(),
                steps.last()
            )
            .expect("String");
        }
        for event in &run.events {
            let file = Path::new(&event.file)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("?");
            writeln!(
                text,
                "  ! {file}:{} {:?}: {}",
                event.line, event.kind, event.text
            )
            .expect("String");
        }
        for (key, value) in &run.config {
            writeln!(text, "  config {key} = {value}").expect("String");
        }
    }
    for problem in &ingested.problems {
        writeln!(text, "problem: {}", relative(&problem.to_string())).expect("String");
    }
    insta::assert_snapshot!(text);
}

//! `fmr watch` on a run that is being written: logs grown across polls,
//! half-written lines, one alert per symptom, the report and `--exec`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Cases and cache go to a fresh data directory, not the user's.
fn watch(data: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fmr"))
        .arg("watch")
        .args(args)
        .env("FMR_DATA_DIR", data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fmr runs")
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .expect("append");
}

fn healthy_rows(steps: std::ops::Range<u32>) -> String {
    steps
        .map(|step| format!("{step},{}\n", 2.0 * (-f64::from(step) / 80.0).exp() + 0.3))
        .collect()
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn reports(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_log_growing_across_polls_alerts_exactly_once() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("metrics.csv");
    append(&csv, &format!("step,train/loss\n{}", healthy_rows(0..200)));
    let child = watch(
        data.path(),
        &[
            dir.path().to_str().expect("utf-8"),
            "--every",
            "0.1",
            "--max-polls",
            "40",
        ],
    );
    // The run goes on, healthy; then goes NaN, a row at a time, the last one
    // half-written for a while; and stays NaN after the alert.
    std::thread::sleep(Duration::from_millis(500));
    append(&csv, &healthy_rows(200..220));
    std::thread::sleep(Duration::from_millis(300));
    append(&csv, "220,nan\n221,nan\n222,n");
    std::thread::sleep(Duration::from_millis(300));
    append(&csv, "an\n");
    for step in 223..240 {
        append(&csv, &format!("{step},nan\n"));
        std::thread::sleep(Duration::from_millis(40));
    }
    let output = child.wait_with_output().expect("fmr finishes");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let alerts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("fmr alert:"))
        .collect();
    assert_eq!(alerts.len(), 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(alerts[0].contains("NaN"), "{}", alerts[0]);
    let written = reports(&dir.path().join("fmr-alerts"));
    assert_eq!(
        written.len(),
        2,
        "one Markdown and one HTML report: {written:?}"
    );
    assert!(
        written.iter().any(|n| n.ends_with(".md")) && written.iter().any(|n| n.ends_with(".html"))
    );
    assert!(
        alerts[0].contains(&format!(
            "report: {}",
            dir.path().join("fmr-alerts").display()
        )),
        "the alert names its report: {}",
        alerts[0]
    );
}

#[test]
fn exec_runs_with_the_report_and_the_alert_in_its_environment() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("metrics.csv");
    append(&csv, &format!("step,train/loss\n{}", healthy_rows(0..150)));
    append(
        &csv,
        &(150..180).map(|s| format!("{s},nan\n")).collect::<String>(),
    );
    let seen = out.path().join("exec.txt");
    let exec = format!(
        "printf '%s\\n%s\\n' \"$FMR_REPORT\" \"$FMR_ALERT\" > '{}'",
        seen.display()
    );
    let child = watch(
        data.path(),
        &[
            dir.path().to_str().expect("utf-8"),
            "--every",
            "0.1",
            "--exit-on-alert",
            "--max-polls",
            "50",
            "--out",
            out.path().to_str().expect("utf-8"),
            "--exec",
            &exec,
        ],
    );
    let output = child.wait_with_output().expect("fmr finishes");
    let (stdout, stderr) = text(&output);
    assert!(
        stdout.contains("fmr alert:"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let said = std::fs::read_to_string(&seen).expect("the command ran");
    let mut lines = said.lines();
    let report = lines.next().expect("FMR_REPORT");
    assert!(
        report.ends_with(".md") && Path::new(report).is_file(),
        "{said}"
    );
    assert!(
        report.starts_with(out.path().to_str().expect("utf-8")),
        "{said}"
    );
    assert!(
        lines.next().is_some_and(|alert| alert.contains("NaN")),
        "{said}"
    );
    assert!(
        !dir.path().join("fmr-alerts").exists(),
        "--out moves the reports"
    );
}

#[test]
fn a_healthy_run_that_keeps_growing_raises_nothing() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("train.log");
    append(&log, "step 0 | loss 2.3000\n");
    let child = watch(
        data.path(),
        &[
            dir.path().to_str().expect("utf-8"),
            "--every",
            "0.05",
            "--max-polls",
            "30",
            "--quiet",
        ],
    );
    for step in 1..40_u32 {
        append(
            &log,
            &format!(
                "step {step} | loss {:.4}\n",
                2.3 / f64::from(step + 1).sqrt()
            ),
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let output = child.wait_with_output().expect("fmr finishes");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(stdout.is_empty(), "stdout: {stdout}");
    assert!(stderr.is_empty(), "--quiet: {stderr}");
    assert!(!dir.path().join("fmr-alerts").exists());
}

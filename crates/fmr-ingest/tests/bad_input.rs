//! Bad input never panics and is never silently dropped: each case below is a
//! committed fixture under `tests/fixtures/`, and the exact problem message is
//! part of the contract (the CLI and the JSON report show it as is).

use std::path::{Path, PathBuf};

use fmr_core::Run;
use fmr_ingest::{Ingested, ingest};

const UNRECOGNISED: &str = "format not recognised (not CSV, JSON lines, trainer_state.json, TensorBoard events, W&B, MLflow or a text log)";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Problems as `(path relative to tests/fixtures, message)`.
fn problems(ingested: &Ingested) -> Vec<(String, String)> {
    let root = fixtures();
    ingested
        .problems
        .iter()
        .map(|p| {
            let path = Path::new(&p.path);
            let relative = path.strip_prefix(&root).unwrap_or(path);
            (relative.display().to_string(), p.problem.clone())
        })
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn points(run: &Run, tag: &str) -> Vec<(i64, f64)> {
    run.series(tag)
        .map(|s| s.points.iter().map(|p| (p.step, p.value)).collect())
        .unwrap_or_default()
}

#[test]
fn each_kind_of_damage_gets_its_own_message() {
    let bad = fixtures().join("bad");
    let files = [
        "truncated.csv",
        "broken_line.jsonl",
        "latin1.log",
        "empty.log",
        "blank.log",
        "unknown.bin",
        "trainer_state.json",
        "wide_row.csv",
        "no_such_file.csv",
    ];
    let ingested = ingest(&files.map(|f| bad.join(f)));
    assert_eq!(
        problems(&ingested),
        owned(&[
            ("bad/no_such_file.csv", "path does not exist"),
            ("bad/empty.log", "empty file"),
            ("bad/blank.log", "empty file (only whitespace)"),
            ("bad/unknown.bin", UNRECOGNISED),
            // Files of one folder are read in registry order.
            (
                "bad/trainer_state.json",
                "not valid JSON: the file ends mid-document (truncated?)"
            ),
            (
                "bad/broken_line.jsonl",
                "line 2: not valid JSON (expected a quoted key at column 26)"
            ),
            (
                "bad/broken_line.jsonl",
                "line 4: JSON object cut off (truncated?)"
            ),
            (
                "bad/truncated.csv",
                "line 4: expected 4 fields, found 2 (truncated?)"
            ),
            ("bad/wide_row.csv", "line 3: expected 2 fields, found 3"),
            (
                "bad/latin1.log",
                "line 2: not valid UTF-8 at byte 27 (read with the invalid bytes replaced)"
            ),
        ])
    );
}

#[test]
fn what_could_be_read_is_kept() {
    let bad = fixtures().join("bad");
    let read = |file: &str| {
        let ingested = ingest(&[bad.join(file)]);
        assert_eq!(
            ingested.problems.len(),
            1,
            "{file}: {:?}",
            ingested.problems
        );
        assert_eq!(ingested.runs.len(), 1, "{file}");
        ingested.runs.into_iter().next().expect("one run")
    };

    let csv = read("truncated.csv");
    assert_eq!(points(&csv, "loss"), [(1, 0.52), (2, 0.47)]);
    assert_eq!(points(&csv, "lr"), [(1, 0.001), (2, 0.001)]);

    let jsonl = ingest(&[bad.join("broken_line.jsonl")]);
    assert_eq!(jsonl.problems.len(), 2);
    let loss = points(&jsonl.runs[0], "loss");
    assert_eq!(loss.len(), 2);
    assert_eq!(loss[0], (1, 0.52));
    assert!(loss[1].0 == 3 && loss[1].1.is_nan());

    let latin1 = read("latin1.log");
    assert_eq!(points(&latin1, "loss"), [(1, 0.52), (2, 0.47)]);

    let wide = read("wide_row.csv");
    assert_eq!(points(&wide, "loss"), [(1, 0.5), (3, 0.3)]);
}

#[test]
fn a_failed_file_does_not_make_an_empty_run() {
    let ingested = ingest(&[fixtures().join("bad/trainer_state.json")]);
    assert!(ingested.runs.is_empty());
    assert_eq!(ingested.problems.len(), 1);
}

#[test]
fn walking_skips_non_logs_silently_and_reports_broken_logs() {
    let ingested = ingest(&[fixtures().join("walk")]);
    assert_eq!(
        problems(&ingested),
        owned(&[
            (
                "walk/run_a/broken.json",
                "not valid JSON (expected a value at line 2, column 7)"
            ),
            ("walk/run_b/garbage.log", UNRECOGNISED),
        ])
    );
    let runs: Vec<_> = ingested
        .runs
        .iter()
        .map(|r| (r.name.as_str(), r.formats.clone()))
        .collect();
    assert_eq!(
        runs,
        [
            ("run_a", vec!["text".to_string()]),
            ("run_b", vec!["csv".to_string()])
        ]
    );
    let run_a = &ingested.runs[0];
    assert_eq!(points(run_a, "loss"), [(1, 2.0), (2, 1.5)]);
    assert_eq!(run_a.events.len(), 1);
    assert_eq!(run_a.events[0].line, 3);
}

#[test]
fn a_directory_without_logs_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.md"), "nothing here").expect("write");
    let ingested = ingest(&[dir.path().to_path_buf()]);
    assert!(ingested.runs.is_empty());
    assert_eq!(ingested.problems.len(), 1);
    assert_eq!(ingested.problems[0].problem, "no training logs found");
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap fuzz, in memory: prefixes of every fixture and of the same
    // bytes with one byte flipped, sniffed and read by every source under
    // every name it answers to.
    let names = [
        "x.csv",
        "x.jsonl",
        "trainer_state.json",
        "x.log",
        "hparams.yaml",
        "config.json",
    ];
    let mut inputs = 0;
    for file in walk_files(&fixtures()) {
        let original = std::fs::read(&file).expect("readable fixture");
        let mut flipped = original.clone();
        if let Some(byte) = flipped.get_mut(original.len() / 2) {
            *byte ^= 0x5b;
        }
        for bytes in [&original, &flipped] {
            // About 24 cuts per file keep this quick in debug builds.
            for cut in (0..=bytes.len()).step_by(bytes.len() / 24 + 1) {
                let input = &bytes[..cut];
                for name in names {
                    let path = Path::new(name);
                    for source in fmr_ingest::SOURCES {
                        let _ = source.sniff(path, input);
                        let _ = source.read(path, input, &mut Run::default());
                    }
                }
                inputs += 1;
            }
        }
    }
    assert!(
        inputs > 300,
        "the fixtures give a real workout ({inputs} inputs)"
    );
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

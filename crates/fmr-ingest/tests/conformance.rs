//! Conformance against the real-file corpus (`shared/corpus`, see its README):
//! every value fmr reads must equal the value the writer's own reader (or the
//! corpus' cross-checked parser) reports.
//!
//! The corpus is found at `$FMR_CORPUS`, else `<workspace>/../shared/corpus`.
//! When it is absent the tests print "corpus not found, skipping" and pass,
//! unless `FMR_REQUIRE_CORPUS=1`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fmr_core::Run;
use fmr_ingest::ingest;

fn corpus() -> Option<PathBuf> {
    let root = std::env::var_os("FMR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if root.join("README.md").is_file() {
        return Some(root);
    }
    assert!(
        std::env::var("FMR_REQUIRE_CORPUS").as_deref() != Ok("1"),
        "corpus not found at {} and FMR_REQUIRE_CORPUS=1",
        root.display()
    );
    eprintln!("corpus not found, skipping");
    None
}

/// Rows of an expected-values CSV as column-name → text maps (`#` lines skipped).
fn expected_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().expect("header row").clone();
    reader
        .records()
        .map(|record| {
            let record = record.expect("well-formed expected file");
            headers
                .iter()
                .map(String::from)
                .zip(record.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn number(text: &str) -> f64 {
    text.parse()
        .unwrap_or_else(|_| panic!("expected file holds a number, not {text:?}"))
}

/// Reads exactly one file, which must give one run and no problems.
fn read_one(path: &Path) -> Run {
    let ingested = ingest(&[path.to_path_buf()]);
    assert!(
        ingested.problems.is_empty(),
        "{}: {:?}",
        path.display(),
        ingested.problems
    );
    assert_eq!(ingested.runs.len(), 1, "{}", path.display());
    ingested.runs.into_iter().next().expect("one run")
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

/// Checks that `run` holds exactly `expected` per tag, in order: (step, value)
/// pairs, values compared exactly (NaN equals NaN). Returns the values matched.
fn check_series(context: &str, run: &Run, expected: &BTreeMap<String, Vec<(i64, f64)>>) -> usize {
    let mut matched = 0;
    for (tag, points) in expected {
        let series = run
            .series(tag)
            .unwrap_or_else(|| panic!("{context}: no series {tag}"));
        let got: Vec<(i64, f64)> = series.points.iter().map(|p| (p.step, p.value)).collect();
        assert_eq!(
            got.len(),
            points.len(),
            "{context}: {tag} has {} points, expected {}",
            got.len(),
            points.len()
        );
        for (i, (g, e)) in got.iter().zip(points).enumerate() {
            assert!(
                g.0 == e.0 && same(g.1, e.1),
                "{context}: {tag}[{i}] is {g:?}, expected {e:?}"
            );
            matched += 1;
        }
    }
    matched
}

fn group(rows: impl IntoIterator<Item = (String, i64, f64)>) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut grouped: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for (tag, step, value) in rows {
        grouped.entry(tag).or_default().push((step, value));
    }
    grouped
}

#[test]
fn lightning_metrics_csv_and_hparams() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("lightning");
    let run = read_one(&dir.join("lightning_logs/version_0"));
    assert_eq!(run.name, "version_0");
    assert_eq!(run.formats, ["config", "csv:lightning"]);

    let rows = expected_rows(&dir.join("expected_metrics.csv"));
    let expected = group(rows.iter().map(|r| {
        (
            r["metric"].clone(),
            number(&r["step"]) as i64,
            number(&r["value"]),
        )
    }));
    let matched = check_series("lightning", &run, &expected);

    // `epoch` is a series of its own: one point per row of metrics.csv.
    let epoch = run.series("epoch").expect("epoch series");
    let text = std::fs::read_to_string(dir.join("lightning_logs/version_0/metrics.csv"))
        .expect("readable");
    assert_eq!(epoch.points.len(), text.lines().count() - 1);

    let hparams: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected_hparams.json")).expect("readable"),
    )
    .expect("JSON");
    let hparams = hparams.as_object().expect("an object");
    for (key, value) in hparams {
        assert_eq!(run.config.get(key), Some(value), "hparams {key}");
    }
    eprintln!(
        "lightning: {matched} metric values + {} hparams matched",
        hparams.len()
    );
}

#[test]
fn keras_csv_logger_and_console() {
    let Some(corpus) = corpus() else { return };
    let mut csv_values = 0;
    let mut console_values = 0;
    for version in ["keras_2.15.0_tensorflow", "keras_3.15.1_torch"] {
        for kind in ["healthy", "diverged"] {
            let dir = corpus.join("keras").join(version);
            let run = read_one(&dir.join(kind).join("training.log"));
            assert_eq!(run.formats, ["csv:keras"]);
            let rows = expected_rows(&dir.join(format!("expected_{kind}.csv")));
            let expected = group(rows.iter().map(|r| {
                (
                    r["key"].clone(),
                    number(&r["epoch"]) as i64,
                    number(&r["value"]),
                )
            }));
            csv_values += check_series(&format!("{version}/{kind}/training.log"), &run, &expected);

            let console = read_one(&dir.join(kind).join("stdout.log"));
            let rows = expected_rows(
                &corpus.join(format!("text_logs/expected_keras_{version}_{kind}.csv")),
            );
            let expected = group(rows.iter().map(|r| {
                (
                    r["key"].clone(),
                    number(&r["epoch"]) as i64,
                    number(&r["value"]),
                )
            }));
            console_values +=
                check_series(&format!("{version}/{kind}/stdout.log"), &console, &expected);
            assert_eq!(
                console.series.len(),
                expected.len(),
                "no extra console series"
            );
        }
    }
    eprintln!("keras: {csv_values} CSVLogger values, {console_values} console values matched");
}

#[test]
fn hf_trainer_state_and_console() {
    let Some(corpus) = corpus() else { return };
    let mut state_values = 0;
    let mut console_values = 0;
    for version in ["transformers_4.46.3", "transformers_5.24.0"] {
        for kind in ["healthy", "diverged"] {
            let dir = corpus.join("hf_trainer").join(version).join(kind);
            let context = format!("{version}/{kind}");
            let run = read_one(&dir.join("trainer_state.json"));
            assert_eq!(run.formats, ["hf_trainer_state"]);
            let rows = expected_rows(&dir.join("expected_log_history.csv"));
            let expected = group(rows.iter().map(|r| {
                (
                    r["key"].clone(),
                    number(&r["step"]) as i64,
                    number(&r["value"]),
                )
            }));
            state_values += check_series(&context, &run, &expected);
            assert_eq!(
                run.series.len(),
                expected.len(),
                "{context}: no extra series"
            );

            let state: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join("expected_state.json")).expect("readable"),
            )
            .expect("JSON");
            for key in [
                "global_step",
                "max_steps",
                "num_train_epochs",
                "logging_steps",
                "eval_steps",
                "train_batch_size",
            ] {
                assert_eq!(
                    run.config.get(key),
                    state.get(key),
                    "{context}: config {key}"
                );
            }
            assert_eq!(
                run.config.get("epoch").and_then(serde_json::Value::as_f64),
                state.get("epoch").and_then(serde_json::Value::as_f64)
            );

            // The console prints no step: compare values in order, and check
            // the console's own step counter only moves forward.
            let console = read_one(&dir.join("stdout.log"));
            let rows =
                expected_rows(&corpus.join(format!("text_logs/expected_hf_{version}_{kind}.csv")));
            let mut expected: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for row in &rows {
                expected
                    .entry(row["key"].clone())
                    .or_default()
                    .push(number(&row["value"]));
            }
            for (key, values) in &expected {
                let series = console
                    .series(key)
                    .unwrap_or_else(|| panic!("{context}: console lacks {key}"));
                let got: Vec<f64> = series.values().collect();
                assert_eq!(got.len(), values.len(), "{context}: console {key}");
                for (g, e) in got.iter().zip(values) {
                    assert!(same(*g, *e), "{context}: console {key} {g} != {e}");
                    console_values += 1;
                }
                assert!(
                    series
                        .steps()
                        .collect::<Vec<_>>()
                        .windows(2)
                        .all(|w| w[0] <= w[1])
                );
            }
            assert_eq!(
                console.series.len(),
                expected.len(),
                "{context}: no extra console series"
            );
        }
    }
    eprintln!("hf: {state_values} trainer_state values, {console_values} console values matched");
}

#[test]
fn sb3_progress_monitor_and_console() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("sb3");

    // progress.csv and progress.json: one expected row per cell, by table row;
    // the step of a row is its own time/total_timesteps.
    let mut progress_values = 0;
    for (file, expected_file, flavor) in [
        ("progress.csv", "expected_progress.csv", "csv:sb3_progress"),
        (
            "progress.json",
            "expected_progress_json.csv",
            "jsonl:sb3_progress",
        ),
    ] {
        let run = read_one(&dir.join("ppo_cartpole").join(file));
        assert_eq!(run.formats, [flavor]);
        let rows = expected_rows(&dir.join(expected_file));
        progress_values += check_series(file, &run, &by_table_step(&rows, "row"));
    }

    let run = read_one(&dir.join("ppo_cartpole/monitor.csv"));
    assert_eq!(run.formats, ["csv:sb3_monitor"]);
    let header = std::fs::read_to_string(dir.join("expected_monitor.csv")).expect("readable");
    let t_start = header
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# header: "))
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|h| h["t_start"].as_f64())
        .expect("expected_monitor.csv repeats the t_start header");
    let rows = expected_rows(&dir.join("expected_monitor.csv"));
    let reward = run.series("episode/reward").expect("reward");
    let length = run.series("episode/length").expect("length");
    assert_eq!(reward.points.len(), rows.len());
    assert_eq!(length.points.len(), rows.len());
    for (i, row) in rows.iter().enumerate() {
        let episode = number(&row["episode"]) as i64;
        let (r, l) = (&reward.points[i], &length.points[i]);
        assert_eq!((r.step, r.value), (episode, number(&row["r"])));
        assert_eq!((l.step, l.value), (episode, number(&row["l"])));
        let wall = t_start + number(&row["t"]);
        let got = r.wall_time.expect("monitor rows have a wall time");
        assert!(
            (got - wall).abs() <= 1e-9 * wall.abs(),
            "episode {episode}: wall time {got} vs {wall}"
        );
    }
    let monitor_values = rows.len() * 3;

    // The console tables, in stdout.log and (less three lines) log.txt.
    let rows = expected_rows(&corpus.join("text_logs/expected_sb3_ppo_cartpole.csv"));
    let expected = by_table_step(&rows, "table");
    let mut console_values = 0;
    for path in [dir.join("stdout.log"), dir.join("ppo_cartpole/log.txt")] {
        let run = read_one(&path);
        console_values += check_series(&path.display().to_string(), &run, &expected);
        assert_eq!(run.series.len(), expected.len());
    }
    eprintln!(
        "sb3: {progress_values} progress values, {monitor_values} monitor values, {console_values} console values matched"
    );
}

/// Expected `(row or table, key, value)` rows as series whose step is the
/// row's `time/total_timesteps`, which is itself not a series.
fn by_table_step(
    rows: &[BTreeMap<String, String>],
    table_column: &str,
) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut steps: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r["key"] == "time/total_timesteps") {
        steps.insert(row[table_column].clone(), number(&row["value"]) as i64);
    }
    group(
        rows.iter()
            .filter(|r| r["key"] != "time/total_timesteps")
            .map(|r| {
                let step = steps
                    .get(&r[table_column])
                    .copied()
                    .expect("every table has time/total_timesteps");
                (r["key"].clone(), step, number(&r["value"]))
            }),
    )
}

#[test]
fn whole_corpus_reads_without_panicking_and_merges_console_copies() {
    let Some(corpus) = corpus() else { return };
    let ingested = ingest(std::slice::from_ref(&corpus));
    // A Trainer run folder: the console dicts are copies of trainer_state.json.
    let hf = ingested
        .runs
        .iter()
        .find(|r| r.name == "transformers_5.24.0/diverged")
        .expect("the diverged 5.24 run");
    // (The corpus keeps its expected-values CSV in the same folder.)
    assert_eq!(hf.formats, ["hf_trainer_state", "csv", "text"]);
    assert!(
        hf.series.iter().all(|s| !s.tag.starts_with("stdout/")),
        "console copies were merged away"
    );
    assert_eq!(hf.series("grad_norm").map(|s| s.points.len()), Some(10));
    // SB3: progress.json (full precision) wins over progress.csv and log.txt.
    let sb3 = ingested
        .runs
        .iter()
        .find(|r| r.name == "ppo_cartpole")
        .expect("the SB3 run");
    assert_eq!(
        sb3.formats,
        [
            "jsonl:sb3_progress",
            "csv:sb3_monitor",
            "csv:sb3_progress",
            "text"
        ]
    );
    let approx_kl = sb3.series("train/approx_kl").expect("approx_kl");
    assert_eq!(approx_kl.points[0].value, 0.0023166825994849205);
    assert_eq!(sb3.series.len(), 17);
}

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
            "tfevents",
            "text"
        ]
    );
    // Its event file holds float32 copies of progress.json's values: merged away.
    let approx_kl = sb3.series("train/approx_kl").expect("approx_kl");
    assert_eq!(approx_kl.points[0].value, 0.0023166825994849205);
    assert_eq!(sb3.series.len(), 17);
}

/// The event files of `tensorboard/` and `sb3/`, each with the prefix of its
/// expected files (`<path with / as __>`).
fn event_files(corpus: &Path) -> Vec<(PathBuf, String)> {
    let root = corpus.join("tensorboard");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable corpus dir") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                if !path.ends_with("expected") {
                    stack.push(path);
                }
            } else if path.to_string_lossy().contains("tfevents") {
                let relative = path.strip_prefix(&root).expect("under root");
                let prefix = relative.to_string_lossy().replace('/', "__");
                files.push((path, prefix));
            }
        }
    }
    files.sort();
    files
}

/// `(tag, step, wall_time, value)` rows of an expected scalars CSV, grouped by tag.
fn expected_scalars(path: &Path) -> BTreeMap<String, Vec<(i64, f64, f64)>> {
    let mut grouped: BTreeMap<String, Vec<(i64, f64, f64)>> = BTreeMap::new();
    for row in expected_rows(path) {
        grouped.entry(row["tag"].clone()).or_default().push((
            number(&row["step"]) as i64,
            number(&row["wall_time"]),
            number(&row["value"]),
        ));
    }
    grouped
}

/// Checks every expected scalar, wall time included, exactly; returns the
/// number of points compared.
fn check_scalars(
    context: &str,
    run: &Run,
    expected: &BTreeMap<String, Vec<(i64, f64, f64)>>,
) -> usize {
    let mut matched = 0;
    for (tag, points) in expected {
        let series = run
            .series(tag)
            .unwrap_or_else(|| panic!("{context}: no series {tag}"));
        assert_eq!(
            series.points.len(),
            points.len(),
            "{context}: {tag} point count"
        );
        for (i, (got, &(step, wall, value))) in series.points.iter().zip(points).enumerate() {
            assert!(
                got.step == step && got.wall_time == Some(wall) && same(got.value, value),
                "{context}: {tag}[{i}] is {got:?}, expected step {step} wall {wall} value {value}"
            );
            matched += 1;
        }
    }
    matched
}

/// Histogram statistics as fmr stores them: `<tag>/hist_min` etc.
fn check_histograms(context: &str, run: &Run, expected: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(expected) else {
        return 0;
    };
    let mut rows_by_tag: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let tag = row["tag"].as_str().expect("tag").to_string();
        rows_by_tag.entry(tag).or_default().push(line);
    }
    let mut matched = 0;
    for (tag, rows) in &rows_by_tag {
        let stat = |name: &str| {
            run.series(&format!("{tag}/hist_{name}"))
                .unwrap_or_else(|| panic!("{context}: no series {tag}/hist_{name}"))
        };
        let (min, max, num, mean, std) = (
            stat("min"),
            stat("max"),
            stat("num"),
            stat("mean"),
            stat("std"),
        );
        for series in [min, max, num, mean, std] {
            assert_eq!(series.points.len(), rows.len(), "{context}: {}", series.tag);
        }
        for (i, row) in rows.iter().enumerate() {
            let field = |name: &str| exact_number(row, name);
            let (n, sum, sum_squares) = (field("num"), field("sum"), field("sum_squares"));
            let expected_mean = sum / n;
            let expected_std = (sum_squares / n - expected_mean * expected_mean)
                .max(0.0)
                .sqrt();
            let step = field("step") as i64;
            let wall = field("wall_time");
            for (series, value) in [
                (min, field("min")),
                (max, field("max")),
                (num, n),
                (mean, expected_mean),
                (std, expected_std),
            ] {
                let got = series.points[i];
                assert!(
                    got.step == step && got.wall_time == Some(wall) && got.value == value,
                    "{context}: {}[{i}] is {got:?}, expected {value} at step {step}",
                    series.tag
                );
                matched += 1;
            }
        }
    }
    matched
}

/// The number after `"key": ` in a JSON line, parsed with Rust's correctly
/// rounded parser (serde_json's default parser can be one ulp off).
fn exact_number(line: &str, key: &str) -> f64 {
    let marker = format!("\"{key}\": ");
    let start = line.find(&marker).expect("key present") + marker.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    number(rest[..end].trim())
}

/// Text summaries are events `<tag> (step N): <text>`, in file order.
fn check_texts(context: &str, run: &Run, expected: &Path) -> usize {
    if !expected.is_file() {
        return 0;
    }
    let rows = expected_rows(expected);
    let texts: Vec<&str> = run
        .events
        .iter()
        .filter(|e| !e.text.starts_with("steps "))
        .map(|e| e.text.as_str())
        .collect();
    let wanted: Vec<String> = rows
        .iter()
        .map(|r| format!("{} (step {}): {}", r["tag"], r["step"], r["text"].trim()))
        .collect();
    assert_eq!(texts, wanted, "{context}: text summaries");
    wanted.len()
}

#[test]
fn tensorboard_event_files() {
    let Some(corpus) = corpus() else { return };
    let expected_dir = corpus.join("tensorboard/expected");
    let intact = expected_scalars(
        &expected_dir.join("tensorboardx__events.out.tfevents.1795528311.vm.scalars.csv"),
    );
    let (mut scalars, mut histograms, mut texts) = (0, 0, 0);
    let files = event_files(&corpus);
    assert_eq!(files.len(), 7, "the corpus' seven event files");
    for (path, prefix) in files {
        let context = prefix.as_str();
        let ingested = ingest(std::slice::from_ref(&path));
        assert_eq!(ingested.runs.len(), 1, "{context}");
        let run = &ingested.runs[0];
        assert_eq!(run.formats, ["tfevents"], "{context}");
        let expected = expected_scalars(&expected_dir.join(format!("{prefix}.scalars.csv")));
        let problems: Vec<&str> = ingested
            .problems
            .iter()
            .map(|p| p.problem.as_str())
            .collect();

        if prefix.starts_with("damaged__bad_crc") {
            // TensorBoard stops at the bad record; fmr skips it and reads on:
            // everything TensorBoard returned, and every later record too.
            assert_eq!(
                problems,
                [
                    "skipped 1 record whose checksum failed (first at byte 212,524); read the records after it"
                ],
                "{context}"
            );
            for (tag, points) in &expected {
                let got = &run.series(tag).expect("tag").points;
                assert!(
                    got.len() > points.len() || tag == "eval/log_prob_min",
                    "{context}: {tag} read on"
                );
                for (g, e) in got.iter().zip(points) {
                    assert!(g.step == e.0 && g.wall_time == Some(e.1) && same(g.value, e.2));
                }
            }
            // Exactly the intact file's values less the damaged record.
            let mut recovered = intact.clone();
            let damaged = recovered.get_mut("eval/log_prob_min").expect("tag");
            damaged.retain(|p| p.0 != 999);
            scalars += check_scalars(context, run, &recovered);
        } else {
            if prefix.starts_with("damaged__truncated") {
                assert_eq!(
                    problems,
                    [
                        "the file ends inside a record at byte 423,902 (still being written?); read the 6,057 records before it"
                    ],
                    "{context}"
                );
            } else {
                assert!(problems.is_empty(), "{context}: {problems:?}");
            }
            scalars += check_scalars(context, run, &expected);
            let scalar_series = run
                .series
                .iter()
                .filter(|s| !s.tag.contains("/hist_"))
                .count();
            assert_eq!(scalar_series, expected.len(), "{context}: no extra series");
        }
        // Past the skipped record, the histograms and texts are the intact file's.
        let source = if prefix.starts_with("damaged__bad_crc") {
            "tensorboardx__events.out.tfevents.1795528311.vm"
        } else {
            prefix.as_str()
        };
        histograms += check_histograms(
            context,
            run,
            &expected_dir.join(format!("{source}.histograms.jsonl")),
        );
        texts += check_texts(
            context,
            run,
            &expected_dir.join(format!("{source}.text.csv")),
        );
    }

    // SB3's event file, against its own expected values.
    let sb3 = corpus.join("sb3/ppo_cartpole");
    let path = std::fs::read_dir(&sb3)
        .expect("readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().contains("tfevents"))
        .expect("an SB3 event file");
    let run = read_one(&path);
    let expected = expected_scalars(&corpus.join("sb3/expected_tfevents_scalars.csv"));
    scalars += check_scalars("sb3", &run, &expected);
    assert_eq!(run.series.len(), expected.len(), "sb3: no extra series");
    eprintln!(
        "tensorboard: {scalars} scalars, {histograms} histogram statistics, {texts} text summaries matched"
    );
}

#[test]
fn wandb_offline_runs() {
    let Some(corpus) = corpus() else { return };
    let (mut history_values, mut summary_values) = (0, 0);
    for version in ["run_0.31.0", "run_0.17.9"] {
        let dir = corpus.join("wandb").join(version);
        let ingested = ingest(&[dir.join("wandb")]);
        assert!(
            ingested.problems.is_empty(),
            "{version}: {:?}",
            ingested.problems
        );
        assert_eq!(ingested.runs.len(), 1, "{version}: one run");
        let run = &ingested.runs[0];
        assert_eq!(run.name, "tiny-offline", "{version}: the display name");
        assert_eq!(run.formats[0], "wandb", "{version}");

        // What the script logged: every number, exactly, at its step.
        let rows = expected_rows(&dir.join("expected_logged.csv"));
        let mut expected: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
        for row in &rows {
            if let Ok(value) = row["value"].parse::<f64>() {
                expected
                    .entry(row["key"].clone())
                    .or_default()
                    .push((number(&row["step"]) as i64, value));
            } else {
                assert!(
                    run.series(&row["key"]).is_none(),
                    "{version}: text is not a series"
                );
            }
        }
        history_values += check_series(version, run, &expected);
        let from_history: Vec<_> = run
            .series
            .iter()
            .filter(|s| expected.contains_key(&s.tag))
            .collect();
        assert_eq!(from_history.len(), expected.len(), "{version}");

        // Wall times are each row's `_timestamp`, as the log wrote it.
        let mut timestamps = BTreeMap::new();
        for row in expected_rows(&dir.join("expected_history.csv")) {
            if row["key"] == "_timestamp" {
                timestamps.insert(number(&row["step"]) as i64, number(&row["value_json"]));
            }
        }
        let loss = run.series("train/loss").expect("train/loss");
        for point in &loss.points {
            assert_eq!(
                point.wall_time,
                timestamps.get(&point.step).copied(),
                "{version}"
            );
        }

        // The final summary and the config, as wandb's reader applied them.
        let summary_file: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected_summary.json")).expect("readable"),
        )
        .expect("JSON");
        let summary = run.config["wandb.summary"]
            .as_object()
            .expect("a summary object");
        let final_summary = summary_file["final_summary_value_json"]
            .as_object()
            .expect("object");
        for (key, value_json) in final_summary {
            let text = value_json.as_str().expect("value_json text");
            let got = summary
                .get(key)
                .unwrap_or_else(|| panic!("{version}: summary {key}"));
            match got {
                serde_json::Value::Number(n) => {
                    assert_eq!(n.as_f64(), Some(number(text)), "{version}: summary {key}");
                }
                other => assert_eq!(
                    other,
                    &serde_json::from_str::<serde_json::Value>(text).expect("JSON"),
                    "{version}: summary {key}"
                ),
            }
            summary_values += 1;
        }
        assert_eq!(
            summary.len(),
            final_summary.len(),
            "{version}: no extra summary keys"
        );
        for update in summary_file["config_updates"].as_array().expect("a list") {
            let key = update["key"].as_str().expect("key");
            let value: serde_json::Value =
                serde_json::from_str(update["value_json"].as_str().expect("text")).expect("JSON");
            match value {
                serde_json::Value::Object(members) if key != "_wandb" => {
                    for (child, inner) in members {
                        assert_eq!(run.config.get(&format!("{key}.{child}")), Some(&inner));
                    }
                }
                _ if key == "_wandb" => assert!(!run.config.contains_key(key)),
                scalar => assert_eq!(
                    run.config.get(key),
                    Some(&scalar),
                    "{version}: config {key}"
                ),
            }
        }
        assert_eq!(run.config["wandb.exit_code"], serde_json::json!(0));

        // The one system-monitor sample each file holds (FORMATS.md §6:
        // `stats`), every numeric item under `system/<W&B key>`, at the
        // sample's time, on the step of the history row before it.
        let (count, rss, step) = match version {
            "run_0.31.0" => (12, 68.66015625, 0), // sampled before the first row
            _ => (4, 67.92, 198),                 // after exit, before the last row
        };
        let system: Vec<_> = run
            .series
            .iter()
            .filter(|s| s.tag.starts_with("system/"))
            .collect();
        assert_eq!(system.len(), count, "{version}: system series");
        let first_wall = timestamps.values().copied().fold(f64::INFINITY, f64::min);
        let last_wall = timestamps
            .values()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        for series in &system {
            assert_eq!(series.points.len(), 1, "{version}: {}", series.tag);
            let point = series.points[0];
            assert_eq!(point.step, step, "{version}: {}", series.tag);
            let wall = point.wall_time.expect("a sample has a time");
            assert!(
                wall > first_wall - 60.0 && wall < last_wall + 60.0,
                "{version}: {} at {wall}",
                series.tag
            );
        }
        let rss_point = run.series("system/proc.memory.rssMB").expect("rss");
        assert_eq!(rss_point.points[0].value, rss, "{version}");
    }
    eprintln!("wandb: {history_values} history values, {summary_values} summary values matched");
}

#[test]
fn mlflow_file_store() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("mlflow");
    let ingested = ingest(&[dir.join("mlruns")]);
    assert!(ingested.problems.is_empty(), "{:?}", ingested.problems);

    let runs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected_runs.json")).expect("readable"),
    )
    .expect("JSON");
    let runs = runs.as_array().expect("a list of runs");
    assert_eq!(ingested.runs.len(), runs.len());
    let rows = expected_rows(&dir.join("expected_metrics.csv"));
    let (mut metric_values, mut settings) = (0, 0);
    for expected in runs {
        let run_id = expected["run_id"].as_str().expect("run id");
        let run = ingested
            .runs
            .iter()
            .find(|r| r.config.get("mlflow.run_id").and_then(|v| v.as_str()) == Some(run_id))
            .unwrap_or_else(|| panic!("run {run_id}"));
        assert_eq!(run.name, expected["run_name"].as_str().expect("name"));
        assert_eq!(run.formats, ["mlflow"]);
        assert_eq!(run.config["mlflow.status"], expected["status"]);
        assert_eq!(
            run.config["mlflow.experiment_id"],
            expected["experiment_id"]
        );
        assert_eq!(
            run.config["mlflow.experiment"],
            serde_json::json!("fmr-corpus")
        );
        for (key, ms) in [
            ("mlflow.start_time", "start_time"),
            ("mlflow.end_time", "end_time"),
        ] {
            let ms = expected[ms].as_f64().expect("epoch ms");
            assert_eq!(run.config[key].as_f64(), Some(ms / 1000.0), "{key}");
        }

        // Every point of get_metric_history, in its order: step, value and
        // timestamp exact (a step logged twice is there twice).
        let mine: Vec<_> = rows.iter().filter(|r| r["run_id"] == run_id).collect();
        let mut by_key: BTreeMap<&str, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
        for row in &mine {
            by_key.entry(row["key"].as_str()).or_default().push(row);
        }
        assert_eq!(
            run.series.len(),
            by_key.len(),
            "{run_id}: one series per metric"
        );
        for (key, points) in by_key {
            let series = run.series(key).unwrap_or_else(|| panic!("{run_id}: {key}"));
            assert_eq!(series.points.len(), points.len(), "{run_id}: {key}");
            for (got, row) in series.points.iter().zip(points) {
                let wall = number(&row["timestamp_ms"]) / 1000.0;
                assert!(
                    got.step == number(&row["step"]) as i64
                        && same(got.value, number(&row["value"]))
                        && got.wall_time == Some(wall),
                    "{run_id}: {key} {got:?} vs {row:?}"
                );
                metric_values += 1;
            }
            // MLflow's "latest" value is the last point of the last step.
            let latest = expected["latest_metrics"][key]
                .as_str()
                .expect("latest value");
            let last_step = series.points.iter().map(|p| p.step).max().expect("points");
            let last = series
                .points
                .iter()
                .rev()
                .find(|p| p.step == last_step)
                .expect("a point");
            assert!(same(last.value, number(latest)), "{run_id}: latest {key}");
        }

        // Params as the values they spell; tags under mlflow.tags.
        for (key, value) in expected["params"].as_object().expect("params") {
            let text = value.as_str().expect("param text");
            let got = &run.config[key];
            let spelled = match got {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert!(
                spelled == text || got.as_f64() == text.parse::<f64>().ok(),
                "{run_id}: param {key} = {got} vs {text}"
            );
            settings += 1;
        }
        for (key, value) in expected["tags"].as_object().expect("tags") {
            assert_eq!(
                &run.config[&format!("mlflow.tags.{key}")],
                value,
                "{run_id}: tag {key}"
            );
            settings += 1;
        }
    }
    eprintln!("mlflow: {metric_values} metric values, {settings} params and tags matched");
}

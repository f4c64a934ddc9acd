use fmr_core::TextEventKind;

use super::log::write_records;
use super::proto::{
    ConfigRecord, HistoryItem, HistoryRecord, HistoryStep, OutputRecord, RunExitRecord,
    StatsRecord, SummaryRecord, Timestamp,
};
use super::*;

fn item(key: &str, value_json: &str) -> HistoryItem {
    HistoryItem {
        key: key.into(),
        value_json: value_json.into(),
        ..HistoryItem::default()
    }
}

fn record(kind: RecordKind) -> Vec<u8> {
    Record {
        num: 0,
        kind: Some(kind),
    }
    .encode_to_vec()
}

fn summary_item(key: &str, value_json: &str) -> Item {
    Item {
        key: key.into(),
        nested_key: Vec::new(),
        value_json: value_json.into(),
    }
}

fn sample_log() -> Vec<u8> {
    let records = [
        record(RecordKind::Config(ConfigRecord {
            update: vec![
                summary_item("lr", "0.001"),
                summary_item("model", r#"{"layers": 2}"#),
                summary_item("_wandb", "{}"),
            ],
            remove: Vec::new(),
        })),
        record(RecordKind::History(HistoryRecord {
            item: vec![
                item("loss", "NaN"),
                item("_timestamp", "1700000000.5"),
                item("phase", "\"warmup\""),
                item(
                    "eval",
                    r#"{"loss": 0.25, "media": {"_type": "image-file"}}"#,
                ),
                item("_step", "5"),
            ],
            step: None,
        })),
        record(RecordKind::History(HistoryRecord {
            item: vec![
                HistoryItem {
                    nested_key: vec!["eval".into(), "loss".into()],
                    value_json: "Infinity".into(),
                    ..HistoryItem::default()
                },
                HistoryItem {
                    key: "loss".into(),
                    number: Some(0.5),
                    ..HistoryItem::default()
                },
            ],
            step: Some(HistoryStep { num: 6 }),
        })),
        record(RecordKind::Summary(SummaryRecord {
            update: vec![summary_item("loss", "0.5"), summary_item("stale", "1")],
            remove: Vec::new(),
        })),
        record(RecordKind::Summary(SummaryRecord {
            update: Vec::new(),
            remove: vec![summary_item("stale", "")],
        })),
        record(RecordKind::OutputRaw(OutputRecord {
            output_type: 0,
            line: "step 6 done\n".into(),
        })),
        record(RecordKind::OutputRaw(OutputRecord {
            output_type: 0,
            line: "RuntimeError: CUDA out of memory.\n".into(),
        })),
        record(RecordKind::Exit(RunExitRecord {
            exit_code: 1,
            runtime: 12,
        })),
    ];
    let slices: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    write_records(&slices)
}

fn read(bytes: &[u8]) -> (Run, Result<ReadOutcome, String>) {
    let mut run = Run::default();
    let result = WandbRun.read(Path::new("no-such-dir/run-abc.wandb"), bytes, &mut run);
    (run, result)
}

#[test]
fn history_summary_config_exit_and_console() {
    let (run, result) = read(&sample_log());
    let outcome = result.expect("readable");
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);

    let loss = run.series("loss").expect("loss");
    assert_eq!(loss.points.len(), 2);
    assert!(loss.points[0].value.is_nan());
    assert_eq!(
        (loss.points[0].step, loss.points[0].wall_time),
        (5, Some(1_700_000_000.5))
    );
    assert_eq!((loss.points[1].step, loss.points[1].value), (6, 0.5));
    let eval: Vec<_> = run
        .series("eval.loss")
        .expect("nested keys joined by dots")
        .points
        .iter()
        .map(|p| (p.step, p.value))
        .collect();
    assert_eq!(eval, [(5, 0.25), (6, f64::INFINITY)]);
    assert!(run.series("phase").is_none(), "strings are not series");
    assert!(
        run.series("eval.media._type").is_none(),
        "media objects are skipped"
    );
    assert!(run.series("_timestamp").is_none() && run.series("_step").is_none());

    assert_eq!(run.config["lr"], serde_json::json!(0.001));
    assert_eq!(run.config["model.layers"], serde_json::json!(2));
    assert!(!run.config.contains_key("_wandb"));
    assert_eq!(
        run.config["wandb.summary"],
        serde_json::json!({"loss": 0.5})
    );
    assert_eq!(run.config["wandb.exit_code"], serde_json::json!(1));

    let events: Vec<_> = run
        .events
        .iter()
        .map(|e| (e.kind, e.line, e.text.as_str()))
        .collect();
    assert_eq!(
        events,
        [(
            TextEventKind::OutOfMemory,
            2,
            "RuntimeError: CUDA out of memory."
        )]
    );
}

#[test]
fn a_log_cut_short_keeps_its_complete_records() {
    let bytes = sample_log();
    let (run, result) = read(&bytes[..bytes.len() - 4]);
    let outcome = result.expect("readable");
    assert_eq!(
        outcome.problems,
        ["the file ends inside a record (still being written?); read the 7 records before it"]
    );
    assert_eq!(run.series("loss").map(|s| s.points.len()), Some(2));
    assert!(!run.config.contains_key("wandb.exit_code"));
}

#[test]
fn other_files_and_broken_json_are_refused() {
    assert_eq!(
        read(b"PK\x03\x04 zip").1,
        Err("no :W&B header: not a W&B run log".into())
    );
    let mut run = Run::default();
    let summary = WandbRun.read(
        Path::new("files/wandb-summary.json"),
        b"{\"loss\": NaN, \"acc\"",
        &mut run,
    );
    assert_eq!(
        summary,
        Err("not valid JSON: the file ends mid-document (truncated?)".into())
    );
    let metadata = WandbRun.read(
        Path::new("files/wandb-metadata.json"),
        br#"{"os": "Linux", "gpu": "NVIDIA A100", "gpu_count": 8, "disk": {"/": {}}, "args": []}"#,
        &mut run,
    );
    assert!(metadata.is_ok());
    assert_eq!(
        run.config["wandb.metadata.gpu"],
        serde_json::json!("NVIDIA A100")
    );
    assert_eq!(run.config["wandb.metadata.gpu_count"], serde_json::json!(8));
    assert!(!run.config.contains_key("wandb.metadata.disk"));
}

#[test]
fn recognised_by_header_or_by_name() {
    assert!(WandbRun.sniff(Path::new("x.bin"), &sample_log()[..64]));
    assert!(WandbRun.sniff(Path::new("files/wandb-summary.json"), b"{}"));
    assert!(!WandbRun.sniff(Path::new("summary.json"), b"{}"));
}

#[test]
fn system_stats_become_series_on_the_step_of_the_last_history_row() {
    let stats = |seconds: i64, items: &[(&str, &str)]| {
        record(RecordKind::Stats(StatsRecord {
            stats_type: 0,
            timestamp: Some(Timestamp {
                seconds,
                nanos: 500_000_000,
            }),
            item: items.iter().map(|(k, v)| summary_item(k, v)).collect(),
        }))
    };
    let records = [
        stats(
            1_700_000_000,
            &[("gpu.0.memoryAllocated", "10.5"), ("cpu", "3")],
        ),
        record(RecordKind::History(HistoryRecord {
            item: vec![item("loss", "1.0"), item("_step", "7")],
            step: None,
        })),
        stats(
            1_700_000_030,
            &[
                ("gpu.0.memoryAllocated", "12.25"),
                ("gpu.0.name", "\"A100\""),
                ("disk./.usageGB", "NaN"),
            ],
        ),
    ];
    let slices: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let (run, result) = read(&write_records(&slices));
    assert_eq!(result.map(|o| o.problems), Ok(vec![]));
    let memory: Vec<_> = run
        .series("system/gpu.0.memoryAllocated")
        .expect("W&B's key after the system/ prefix")
        .points
        .iter()
        .map(|p| (p.step, p.wall_time, p.value))
        .collect();
    assert_eq!(
        memory,
        [
            (0, Some(1_700_000_000.5), 10.5),
            (7, Some(1_700_000_030.5), 12.25)
        ]
    );
    assert_eq!(run.series("system/cpu").map(|s| s.points.len()), Some(1));
    assert!(
        run.series("system/gpu.0.name").is_none(),
        "text is not a series"
    );
    assert!(
        run.series("system/disk./.usageGB")
            .is_some_and(|s| s.points[0].value.is_nan())
    );
}

#[test]
fn histograms_become_summary_series_and_other_media_nothing() {
    let records = [record(RecordKind::History(HistoryRecord {
        item: vec![
            item(
                "weights",
                r#"{"_type": "histogram", "values": [1, 0, 3], "bins": [0, 1, 2, 3]}"#,
            ),
            item(
                "grads",
                r#"{"_type": "histogram", "values": [2, 2], "packedBins": {"min": -1, "size": 1, "count": 2}}"#,
            ),
            item(
                "broken",
                r#"{"_type": "histogram", "values": [1], "bins": [0]}"#,
            ),
            item(
                "samples",
                r#"{"_type": "image-file", "path": "media/images/x.png", "width": 32, "height": 32}"#,
            ),
            item(
                "preds",
                r#"{"_type": "table-file", "ncols": 2, "nrows": 10}"#,
            ),
            item("_step", "3"),
        ],
        step: None,
    }))];
    let slices: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let (run, result) = read(&write_records(&slices));
    assert_eq!(result.map(|o| o.problems), Ok(vec![]));
    let value = |tag: &str| {
        run.series(tag)
            .map(|s| (s.points[0].step, s.points[0].value))
    };
    // Bins [0,1) x1 and [2,3) x3: values at the centres 0.5 and 2.5.
    assert_eq!(value("weights/hist_min"), Some((3, 0.0)));
    assert_eq!(value("weights/hist_max"), Some((3, 3.0)));
    assert_eq!(value("weights/hist_num"), Some((3, 4.0)));
    assert_eq!(value("weights/hist_mean"), Some((3, 2.0)));
    let std = value("weights/hist_std").expect("std").1;
    assert!((std - 0.75_f64.sqrt()).abs() < 1e-12, "{std}");
    assert_eq!(value("grads/hist_mean"), Some((3, 0.0)));
    assert_eq!(value("grads/hist_min"), Some((3, -1.0)));
    let tags: Vec<&str> = run.series.iter().map(|s| s.tag.as_str()).collect();
    assert!(
        tags.iter()
            .all(|t| t.starts_with("weights/") || t.starts_with("grads/")),
        "images, tables and a malformed histogram give no series: {tags:?}"
    );
}

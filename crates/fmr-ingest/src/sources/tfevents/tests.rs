#[path = "../../../tests/support/event_writer.rs"]
mod event_writer;

use std::collections::BTreeMap;

use prost::Message;

use super::*;
use event_writer::{EventFile, SummaryValue, TensorProto, TensorShapeProto, plugin};
use hparams::{HParamsPluginData, Kind, ProtoValue, SessionEndInfo, SessionStartInfo};

fn read(bytes: &[u8]) -> (Run, ReadOutcome) {
    let mut run = Run::default();
    let outcome = TfEvents
        .read(Path::new("events.out.tfevents.1.host"), bytes, &mut run)
        .expect("readable");
    (run, outcome)
}

fn points(run: &Run, tag: &str) -> Vec<(i64, f64)> {
    run.series(tag)
        .unwrap_or_else(|| panic!("no series {tag}"))
        .points
        .iter()
        .map(|p| (p.step, p.value))
        .collect()
}

fn hparams_value(data: &HParamsPluginData) -> SummaryValue {
    SummaryValue {
        tag: "_hparams_/session_start_info".into(),
        metadata: Some(plugin("hparams", data.encode_to_vec())),
        ..SummaryValue::default()
    }
}

#[test]
fn reads_every_kind_of_value() {
    let start = HParamsPluginData {
        version: 0,
        session_start_info: Some(SessionStartInfo {
            hparams: BTreeMap::from([
                (
                    "lr".to_string(),
                    ProtoValue {
                        kind: Some(Kind::Number(0.001)),
                    },
                ),
                (
                    "batch_size".to_string(),
                    ProtoValue {
                        kind: Some(Kind::Number(32.0)),
                    },
                ),
            ]),
            group_name: String::new(),
            start_time_secs: 10.0,
        }),
        session_end_info: None,
    };
    let end = HParamsPluginData {
        version: 0,
        session_start_info: None,
        session_end_info: Some(SessionEndInfo {
            status: 2,
            end_time_secs: 20.0,
        }),
    };
    let mut file = EventFile::default();
    file.file_version(10.0)
        .scalar(10.5, 0, "loss", 2.5)
        .scalar(11.0, 1, "loss", f32::NAN)
        .scalar(11.5, 2, "loss", f32::NEG_INFINITY)
        .tensor_scalar(12.0, 1, "lr", 0.1)
        .histogram(12.5, 1, "weights", &[1.0, 2.0, 3.0])
        .text(
            13.0,
            2,
            "note/text_summary",
            "RuntimeError: CUDA out of memory. Tried to allocate 2 GiB",
        )
        .text(13.5, 2, "config/text_summary", "lr: 0.001")
        .value(14.0, 2, hparams_value(&start))
        .value(14.5, 2, hparams_value(&end))
        .value(
            15.0,
            3,
            SummaryValue {
                tag: "image".into(),
                metadata: Some(plugin("images", Vec::new())),
                tensor: Some(TensorProto {
                    dtype: 7,
                    ..TensorProto::default()
                }),
                ..SummaryValue::default()
            },
        );
    let (run, outcome) = read(&file.bytes);
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);

    let loss = points(&run, "loss");
    assert_eq!(loss[0], (0, 2.5));
    assert!(loss[1].1.is_nan());
    assert_eq!(loss[2], (2, f64::NEG_INFINITY));
    assert_eq!(
        run.series("loss").expect("loss").points[0].wall_time,
        Some(10.5)
    );
    assert_eq!(points(&run, "lr"), [(1, 0.1)]);
    assert_eq!(points(&run, "weights/hist_min"), [(1, 1.0)]);
    assert_eq!(points(&run, "weights/hist_max"), [(1, 3.0)]);
    assert_eq!(points(&run, "weights/hist_num"), [(1, 3.0)]);
    assert_eq!(points(&run, "weights/hist_mean"), [(1, 2.0)]);
    let std = points(&run, "weights/hist_std")[0].1;
    assert!((std - (2.0_f64 / 3.0).sqrt()).abs() < 1e-12);
    assert!(run.series("image").is_none());

    let events: Vec<_> = run
        .events
        .iter()
        .map(|e| (e.kind, e.line, e.text.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            (
                TextEventKind::OutOfMemory,
                7,
                "note/text_summary (step 2): RuntimeError: CUDA out of memory. Tried to allocate 2 GiB"
            ),
            (
                TextEventKind::Note,
                8,
                "config/text_summary (step 2): lr: 0.001"
            ),
        ]
    );
    assert_eq!(run.config["lr"], serde_json::json!(0.001));
    assert_eq!(run.config["batch_size"], serde_json::json!(32));
    assert_eq!(
        run.config["tensorboard.hparams.status"],
        serde_json::json!("failure")
    );
    assert_eq!(
        run.config["tensorboard.event_file_version"],
        serde_json::json!("brain.Event:2")
    );
}

#[test]
fn tensors_without_a_plugin_are_scalars_when_they_hold_one_number() {
    let tensor = |values: Vec<f32>| TensorProto {
        dtype: 1,
        tensor_shape: Some(TensorShapeProto::default()),
        float_val: values,
        ..TensorProto::default()
    };
    let mut file = EventFile::default();
    for (step, values) in [(0, vec![1.5]), (1, vec![1.0, 2.0]), (2, vec![2.5])] {
        file.value(
            1.0,
            step,
            SummaryValue {
                tag: "acc".into(),
                tensor: Some(tensor(values)),
                ..SummaryValue::default()
            },
        );
    }
    let (run, outcome) = read(&file.bytes);
    assert_eq!(points(&run, "acc"), [(0, 1.5), (2, 2.5)]);
    assert_eq!(
        outcome.problems,
        ["1 scalar value is tensors of more than one number (first: tag acc); skipped"]
    );
}

#[test]
fn damage_is_skipped_counted_and_reported() {
    let mut file = EventFile::default();
    file.file_version(1.0);
    for step in 0..10 {
        file.scalar(2.0 + step as f64, step, "loss", step as f32);
    }
    // Flip the payload checksum of record 4 (step 2) and a length byte of
    // record 7 (step 5), then cut the last record short.
    let mut bytes = file.bytes.clone();
    let fourth = file.offsets[3];
    let fifth = file.offsets[4];
    bytes[fifth - 1] ^= 0xff;
    bytes[file.offsets[6]] ^= 0x01;
    bytes.truncate(bytes.len() - 3);
    let (run, outcome) = read(&bytes);
    let steps: Vec<i64> = points(&run, "loss").iter().map(|p| p.0).collect();
    assert_eq!(steps, [0, 1, 3, 4, 6, 7, 8]);
    assert_eq!(
        outcome.problems,
        [
            format!(
                "skipped 1 record whose checksum failed (first at byte {}); read the records after it",
                group_thousands(fourth)
            ),
            format!(
                "skipped {} bytes of damaged data in 1 place (first at byte {}); read the records after it",
                file.offsets[7] - file.offsets[6],
                group_thousands(file.offsets[6])
            ),
            format!(
                "the file ends inside a record at byte {} (still being written?); read the 8 records before it",
                group_thousands(file.offsets[10])
            ),
        ]
    );
}

#[test]
fn files_with_nothing_to_read_are_refused_with_a_reason() {
    let mut run = Run::default();
    let path = Path::new("events.out.tfevents.x");
    assert_eq!(
        TfEvents.read(path, b"not an event file at all", &mut run),
        Err("no intact record: not a TensorBoard event file, or damaged from the start".into())
    );
    let mut file = EventFile::default();
    file.scalar(1.0, 1, "loss", 1.0);
    assert_eq!(
        TfEvents.read(path, &file.bytes[..file.bytes.len() - 1], &mut run),
        Err(
            "the file ends inside its first record (still being written?); nothing to read yet"
                .into()
        )
    );
}

#[test]
fn recognised_by_name_or_by_a_record_header() {
    let mut file = EventFile::default();
    file.file_version(1.0);
    assert!(TfEvents.sniff(Path::new("anything.bin"), &file.bytes));
    assert!(TfEvents.sniff(Path::new("events.out.tfevents.123.host"), b""));
    assert!(!TfEvents.sniff(
        Path::new("train.log"),
        b"Epoch 1/10 loss: 0.5 and more text"
    ));
}

#[test]
fn steps_going_back_within_a_file_are_noted_once() {
    let mut file = EventFile::default();
    for step in [0, 1, 2, 0, 1, 2] {
        file.scalar(1.0, step, "loss", 1.0);
    }
    let (run, _) = read(&file.bytes);
    assert_eq!(run.series("loss").map(|s| s.points.len()), Some(6));
    let notes: Vec<_> = run.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        notes,
        [
            "steps go back within this file 1 time (first: loss from step 2 to 0): a resumed run, or several writers in one file"
        ]
    );
}

fn part(path: &str, wall: f64, steps: std::ops::Range<i64>) -> (PathBuf, Run) {
    let mut file = EventFile::default();
    for (i, step) in steps.enumerate() {
        file.scalar(wall + i as f64, step, "loss", step as f32);
        file.scalar(wall + i as f64, step, "lr", 0.1);
    }
    let (run, _) = read(&file.bytes);
    (PathBuf::from(path), run)
}

#[test]
fn restarted_runs_are_joined_in_wall_time_order_with_a_note() {
    // The resumed file sorts first by name but was written later.
    let joined = join_restarts(vec![
        part("run/events.out.tfevents.1.a", 200.0, 80..120),
        part("run/events.out.tfevents.2.b", 100.0, 0..100),
    ]);
    assert_eq!(joined.len(), 1);
    let (path, run) = &joined[0];
    assert_eq!(path, Path::new("run/events.out.tfevents.2.b"));
    let steps: Vec<i64> = run.series("loss").expect("loss").steps().collect();
    assert_eq!(steps.len(), 140);
    assert_eq!((steps[99], steps[100]), (99, 80));
    let notes: Vec<_> = run
        .events
        .iter()
        .map(|e| (e.file.as_str(), e.text.as_str()))
        .collect();
    assert_eq!(
        notes,
        [(
            "run/events.out.tfevents.1.a",
            "steps restart: this event file goes back to step 80 after earlier files reached step 99; 40 points of 2 tags repeat logged steps (a resumed run, or two writers in one folder)"
        )]
    );

    // Files that continue where the last one stopped are joined quietly.
    let joined = join_restarts(vec![
        part("run/events.out.tfevents.1.a", 100.0, 0..50),
        part("run/events.out.tfevents.2.b", 200.0, 50..100),
    ]);
    assert!(joined[0].1.events.is_empty());
    assert_eq!(joined[0].1.series("lr").map(|s| s.points.len()), Some(100));
}

#[test]
fn the_fast_path_reads_what_the_general_path_reads() {
    let mut file = EventFile::default();
    file.scalar(1.25, 0, "a", 1.0)
        .scalar(2.5, 7, "tag/with/slashes", -3.5)
        .scalar(3.0, -4, "negative_step", f32::INFINITY)
        .scalar(4.0, i64::MAX, "x", 0.0);
    let mut reader = RecordReader::new(file.bytes.as_slice(), file.bytes.len() as u64);
    let mut checked = 0;
    while let Some(record) = reader.next_record().expect("in memory") {
        let fast = event::simple_scalar(record.payload).expect("the common encoding");
        let general = Event::decode(record.payload).expect("valid");
        let mut values = Vec::new();
        general
            .for_each_value(|bytes| {
                let value = Value::decode(bytes)?;
                values.push((value.tag, value.simple_value));
                Ok(())
            })
            .expect("valid");
        assert_eq!(values, [(fast.2, Some(fast.3))]);
        assert_eq!(
            (general.wall_time.to_bits(), general.step),
            (fast.0.to_bits(), fast.1)
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
    // An event with anything more is left to the general path.
    let mut text = EventFile::default();
    text.text(1.0, 1, "t", "x");
    let record_len = text.bytes.len() - HEADER_LEN - record::FOOTER_LEN;
    assert!(event::simple_scalar(&text.bytes[HEADER_LEN..HEADER_LEN + record_len]).is_none());
}

mod in_pieces {
    use proptest::prelude::*;

    use super::*;

    /// One event of a generated file: (kind, tag, step, value).
    fn event() -> impl Strategy<Value = (u8, usize, i64, f32)> {
        (0..4_u8, 0..5_usize, -2..400_i64, any::<f32>())
    }

    fn write(events: &[(u8, usize, i64, f32)]) -> EventFile {
        let tags = ["loss", "lr", "eval/acc", "w", "notes"];
        let mut file = EventFile::default();
        file.file_version(1.0);
        for (i, &(kind, tag, step, value)) in events.iter().enumerate() {
            let wall = 10.0 + i as f64;
            match kind {
                0 | 1 => file.scalar(wall, step, tags[tag], value),
                2 => file.histogram(
                    wall,
                    step,
                    &format!("h/{}", tags[tag]),
                    &[f64::from(value), 1.0],
                ),
                _ => file.text(wall, step, "notes/text_summary", "RuntimeError: x"),
            };
        }
        file
    }

    fn sequential(path: &Path) -> (Run, Result<ReadOutcome, String>) {
        let mut run = Run::default();
        let bytes = std::fs::read(path).expect("readable");
        let result = read_events(path, bytes.as_slice(), bytes.len() as u64, &mut run);
        (run, result)
    }

    fn same_run(a: &Run, b: &Run) -> bool {
        // NaN values compare by bits.
        let points = |run: &Run| -> Vec<(String, Vec<(i64, u64)>)> {
            run.series
                .iter()
                .map(|s| {
                    (
                        s.tag.clone(),
                        s.points
                            .iter()
                            .map(|p| (p.step, p.value.to_bits()))
                            .collect(),
                    )
                })
                .collect()
        };
        points(a) == points(b) && a.events == b.events && a.config == b.config
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn pieces_read_exactly_what_one_reader_reads(
            events in prop::collection::vec(event(), 1..300),
            piece in 64_u64..3000,
            flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255_u8), 0..3),
            cut in 0_usize..40,
        ) {
            let file = write(&events);
            let mut bytes = file.bytes.clone();
            for (at, mask) in &flips {
                let at = at.index(bytes.len());
                bytes[at] ^= mask;
            }
            bytes.truncate(bytes.len() - cut.min(bytes.len() - 1));
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("events.out.tfevents.1.test");
            std::fs::write(&path, &bytes).expect("write");

            let (expected_run, expected) = sequential(&path);
            let mut run = Run::default();
            match pieces::read_in_pieces(&path, bytes.len() as u64, piece, &mut run) {
                Some(result) => {
                    prop_assert_eq!(&result, &expected);
                    prop_assert!(same_run(&run, &expected_run), "{:?}\n{:?}", run, expected_run);
                }
                // Only damage (or nothing to read) may make the pieces give up.
                None => prop_assert!(!flips.is_empty() || cut > 0 || expected.is_err()),
            }
        }
    }
}

#[test]
fn an_intact_file_read_in_pieces_is_read_in_pieces() {
    let mut file = EventFile::default();
    file.file_version(1.0);
    for step in 0..500 {
        file.scalar(2.0 + step as f64, step, "loss", step as f32)
            .scalar(2.0 + step as f64, step, "lr", 0.1);
        if step % 100 == 0 {
            file.text(2.0, step, "note/text_summary", "WARNING: slow step");
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.out.tfevents.1.x");
    std::fs::write(&path, &file.bytes).expect("write");
    let mut run = Run::default();
    let outcome = pieces::read_in_pieces(&path, file.bytes.len() as u64, 997, &mut run)
        .expect("intact pieces fit together")
        .expect("readable");
    assert!(outcome.problems.is_empty());
    let mut alone = Run::default();
    read_events(
        &path,
        file.bytes.as_slice(),
        file.bytes.len() as u64,
        &mut alone,
    )
    .expect("readable");
    assert_eq!(run, alone);
    assert_eq!(run.series("loss").map(|s| s.points.len()), Some(500));
    let lines: Vec<usize> = run.events.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 205, 406, 607, 808]);
}

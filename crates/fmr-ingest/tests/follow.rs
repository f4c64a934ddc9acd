//! The follower against a fresh full read: logs written a piece at a time
//! (cut mid-record and mid-line), polled after every piece, must end up
//! exactly as `ingest` reads the finished files.

#[path = "support/event_writer.rs"]
mod event_writer;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use event_writer::EventFile;
use fmr_core::{Point, Run};
use fmr_ingest::follow::Follower;

/// Appends `bytes` to the file at `path`, creating it.
fn append(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("has a folder")).expect("mkdir");
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .expect("append");
}

/// Writes `bytes` to `path` in pieces cut at `cuts`, polling after each.
fn write_in_pieces(follower: &mut Follower, path: &Path, bytes: &[u8], cuts: &[usize]) {
    let mut written = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        append(path, &bytes[written..cut]);
        written = cut;
        follower.poll();
    }
}

fn same_point(a: &Point, b: &Point) -> bool {
    a.step == b.step
        && a.value.to_bits() == b.value.to_bits()
        && a.wall_time.map(f64::to_bits) == b.wall_time.map(f64::to_bits)
}

/// Runs equal field for field, NaN equal to NaN, with the first difference named.
fn assert_same_runs(followed: &[Run], fresh: &[Run]) {
    let names = |runs: &[Run]| runs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(followed), names(fresh), "run names");
    for (a, b) in followed.iter().zip(fresh) {
        assert_eq!(a.path, b.path);
        assert_eq!(a.formats, b.formats, "formats of {}", a.name);
        assert_eq!(a.config, b.config, "config of {}", a.name);
        assert_eq!(a.events, b.events, "events of {}", a.name);
        let tags = |run: &Run| run.series.iter().map(|s| s.tag.clone()).collect::<Vec<_>>();
        assert_eq!(tags(a), tags(b), "series of {}", a.name);
        for (x, y) in a.series.iter().zip(&b.series) {
            assert_eq!(x.points.len(), y.points.len(), "points of {}", x.tag);
            if let Some(i) = (0..x.points.len()).find(|&i| !same_point(&x.points[i], &y.points[i]))
            {
                panic!(
                    "{} point {i}: followed {:?}, fresh {:?}",
                    x.tag, x.points[i], y.points[i]
                );
            }
        }
    }
}

fn assert_matches_a_full_read(follower: &mut Follower, root: &Path) {
    follower.poll();
    let fresh = fmr_ingest::ingest(&[root.to_path_buf()]);
    let followed: Vec<Run> = follower.runs().into_iter().cloned().collect();
    assert!(!fresh.runs.is_empty());
    assert_same_runs(&followed, &fresh.runs);
}

fn event_file(steps: std::ops::Range<i64>) -> EventFile {
    let mut file = EventFile::default();
    file.file_version(1_700_000_000.0);
    for step in steps {
        let time = 1_700_000_000.0 + step as f64;
        file.scalar(time, step, "train/loss", 2.0 / (step + 1) as f32);
        file.tensor_scalar(time, step, "train/lr", 3e-4);
        if step % 10 == 0 {
            file.histogram(time, step, "weights", &[0.1, -0.2, step as f64]);
        }
        if step == 17 {
            file.text(time, step, "notes", "loss went up");
        }
    }
    file
}

#[test]
fn an_event_file_written_in_pieces_cut_mid_record_equals_a_full_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run1/events.out.tfevents.1700000000.host");
    let file = event_file(0..60);
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    // Cuts inside headers, payloads and footers, and on record boundaries.
    let mut cuts: Vec<usize> = file.offsets.iter().skip(3).step_by(9).copied().collect();
    cuts.extend(file.offsets.iter().skip(5).step_by(11).map(|o| o + 5));
    cuts.extend(file.offsets.iter().skip(8).step_by(13).map(|o| o + 20));
    cuts.sort_unstable();
    cuts.dedup();

    let mut written = 0;
    for &cut in &cuts {
        append(&path, &file.bytes[written..cut]);
        written = cut;
        let poll = follower.poll();
        assert!(
            poll.problems.is_empty(),
            "a half-written record is not damage: {:?}",
            poll.problems
        );
    }
    append(&path, &file.bytes[written..]);
    assert_matches_a_full_read(&mut follower, dir.path());
    let run = &follower.runs()[0];
    assert_eq!(run.series("train/loss").map(|s| s.points.len()), Some(60));
}

#[test]
fn appended_records_change_the_run_and_nothing_else_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.out.tfevents.1");
    let mut file = event_file(0..5);
    append(&path, &file.bytes);
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    let first = follower.poll();
    assert_eq!(first.changed.len(), 1);

    let quiet = follower.poll();
    assert!(!quiet.has_changes() && quiet.bytes_read == 0, "{quiet:?}");

    let before = file.bytes.len();
    for step in 5..8 {
        file.scalar(1_700_000_000.0 + step as f64, step, "train/loss", 0.1);
    }
    append(&path, &file.bytes[before..]);
    let grown = follower.poll();
    assert_eq!(grown.changed, first.changed);
    assert_eq!(grown.bytes_read, (file.bytes.len() - before) as u64);
    let loss = follower.runs()[0]
        .series("train/loss")
        .expect("loss")
        .clone();
    assert_eq!(loss.points.len(), 8);
    assert_eq!(loss.points[7].step, 7);
}

#[test]
fn a_bad_checksum_in_a_complete_record_is_skipped_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.out.tfevents.1");
    let file = event_file(0..30);
    let mut bytes = file.bytes.clone();
    bytes[file.offsets[12] + 13] ^= 0x21; // inside record 12's payload
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    let mut problems = Vec::new();
    let mut written = 0;
    for cut in [file.offsets[10] + 3, file.offsets[14] + 2, bytes.len()] {
        append(&path, &bytes[written..cut]);
        written = cut;
        problems.extend(follower.poll().problems);
    }
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].problem.contains("checksum failed"),
        "{problems:?}"
    );
    assert_eq!(problems[0].path, path.display().to_string());
    assert_matches_a_full_read(&mut follower, dir.path());
}

fn csv_rows(steps: std::ops::Range<i64>) -> String {
    steps
        .map(|step| {
            let val = if step % 5 == 0 {
                format!("{}", 1.5 / (step + 1) as f64)
            } else {
                String::new()
            };
            format!("{step},{},{val},{}\n", 2.0 / (step + 1) as f64, step / 10)
        })
        .collect()
}

#[test]
fn a_growing_csv_with_a_half_written_last_line_equals_a_full_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lightning_logs/version_0/metrics.csv");
    let text = format!("step,train_loss,val_loss,epoch\n{}", csv_rows(0..120));
    let bytes = text.as_bytes();
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);

    // Only part of the header, then the header, then rows cut mid-line.
    let first_row = text.find('\n').expect("header") + 1;
    append(&path, &bytes[..4]);
    follower.poll();
    assert!(follower.runs().is_empty() || follower.runs()[0].series.is_empty());
    append(&path, &bytes[4..first_row + 7]);
    follower.poll();
    assert!(
        follower.runs()[0].series.is_empty(),
        "the first row is not finished"
    );

    let cuts: Vec<usize> = (first_row + 7..bytes.len()).step_by(173).collect();
    let mut written = first_row + 7;
    for &cut in cuts.iter().skip(1) {
        append(&path, &bytes[written..cut]);
        written = cut;
        let poll = follower.poll();
        assert!(poll.problems.is_empty(), "{:?}", poll.problems);
        let complete_rows = text[..cut].matches('\n').count() - 1;
        let loss = follower.runs()[0]
            .series("train_loss")
            .map_or(0, |s| s.points.len());
        assert_eq!(loss, complete_rows, "only finished rows are read");
    }
    append(&path, &bytes[written..]);
    assert_matches_a_full_read(&mut follower, dir.path());
}

#[test]
fn a_csv_numbered_by_row_and_sb3_monitor_files_equal_a_full_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No step column: steps are row numbers, which a batch alone cannot know.
    let keras: String = std::iter::once("loss,accuracy\n".to_string())
        .chain((0..80).map(|i| format!("{},{}\n", 1.0 / (i + 1) as f64, i as f64 / 80.0)))
        .collect();
    let monitor: String = std::iter::once(
        "#{\"t_start\": 1700000000.5, \"env_id\": \"CartPole-v1\"}\nr,l,t\n".to_string(),
    )
    .chain((0..50).map(|i| format!("{}.0,{},{}.25\n", 10 + i, 10 + i, i)))
    .collect();
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    let keras_path = dir.path().join("keras/history.csv");
    let monitor_path = dir.path().join("sb3/monitor.csv");
    let cuts: Vec<usize> = (30..keras.len()).step_by(97).collect();
    write_in_pieces(&mut follower, &keras_path, keras.as_bytes(), &cuts);
    let cuts: Vec<usize> = (20..monitor.len()).step_by(61).collect();
    write_in_pieces(&mut follower, &monitor_path, monitor.as_bytes(), &cuts);
    assert_matches_a_full_read(&mut follower, dir.path());
    let keras_run = follower
        .runs()
        .into_iter()
        .find(|r| r.name == "keras")
        .expect("keras run");
    let steps: Vec<i64> = keras_run
        .series("loss")
        .expect("loss")
        .points
        .iter()
        .map(|p| p.step)
        .collect();
    assert_eq!(steps, (0..80).collect::<Vec<i64>>());
}

fn console_log() -> String {
    let mut log = String::from("Loading checkpoint shards: 100%|##########| 2/2\n");
    for i in 0..60 {
        log.push_str(&format!(
            " {}%|#         | {}/600 [00:0{}<00:10, 9.1it/s]\r",
            i / 6,
            i * 10,
            i % 10
        ));
        log.push_str(&format!(
            "{{'loss': {:.4}, 'grad_norm': {:.3}, 'learning_rate': 5e-05, 'epoch': {:.2}}}\n",
            2.0 / (i + 1) as f64,
            1.0 + i as f64 / 10.0,
            i as f64 / 60.0
        ));
        if i % 20 == 19 {
            log.push_str(&format!(
                "{{'eval_loss': {:.4}, 'eval_runtime': 1.5, 'epoch': {:.2}}}\n",
                1.0 / (i + 1) as f64,
                i as f64 / 60.0
            ));
            log.push_str("WARNING:root:gradient overflow, skipping step\n");
        }
    }
    log.push_str("Traceback (most recent call last):\n");
    log.push_str("  File \"train.py\", line 88, in <module>\n    trainer.train()\n");
    log.push_str("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n");
    log
}

#[test]
fn a_growing_console_log_equals_a_full_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("exp7/stdout.log");
    let log = console_log();
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    // Cuts mid-line, inside the traceback, and between its lines.
    let traceback = log.find("Traceback").expect("traceback");
    let mut cuts: Vec<usize> = (50..traceback).step_by(211).collect();
    cuts.extend([traceback + 10, traceback + 36, traceback + 60]);
    write_in_pieces(&mut follower, &path, log.as_bytes(), &cuts);
    assert_matches_a_full_read(&mut follower, dir.path());
    let run = &follower.runs()[0];
    assert_eq!(run.series("loss").map(|s| s.points.len()), Some(60));
    assert_eq!(run.series("eval_loss").map(|s| s.points.len()), Some(3));
    assert!(
        run.events
            .iter()
            .any(|e| e.text.contains("CUDA out of memory"))
    );
}

#[test]
fn json_lines_and_a_log_beside_an_event_file_equal_a_full_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("runs/exp1");
    let events = event_file(0..40);
    let jsonl: String = (0..40)
        .map(|i| {
            let extra = if i >= 25 {
                format!(", \"val/acc\": {}", i as f64 / 40.0)
            } else {
                String::new()
            };
            format!(
                "{{\"step\": {i}, \"train/loss\": {}, \"grad_norm\": NaN{extra}}}\n",
                2.0 / (i + 1) as f64
            )
        })
        .collect();
    let log: String = (0..40)
        .map(|i| {
            format!(
                "step {i} | loss {:.4} | tokens/s 1200\n",
                2.0 / (i + 1) as f64
            )
        })
        .collect();
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    let event_path = run.join("events.out.tfevents.1700000000.host");
    let jsonl_path = run.join("metrics.jsonl");
    let log_path = run.join("train.log");
    let pieces = 6;
    let cut = |bytes: &[u8], i: usize| bytes.len() * i / pieces + usize::from(i % 2 == 1) * 3;
    for i in 1..=pieces {
        for (path, bytes) in [
            (&event_path, events.bytes.as_slice()),
            (&jsonl_path, jsonl.as_bytes()),
            (&log_path, log.as_bytes()),
        ] {
            let from = if i == 1 {
                0
            } else {
                cut(bytes, i - 1).min(bytes.len())
            };
            append(path, &bytes[from..cut(bytes, i).min(bytes.len())]);
        }
        follower.poll();
        if i == 3 {
            // A second run appears mid-way.
            append(
                &dir.path().join("runs/exp2/metrics.csv"),
                b"step,loss\n0,1.0\n1,0.9\n",
            );
        }
    }
    assert_matches_a_full_read(&mut follower, dir.path());
    assert_eq!(follower.runs().len(), 2);
}

#[test]
fn a_file_rewritten_shorter_is_read_again_and_a_vanished_one_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a/metrics.csv");
    let b = dir.path().join("b/metrics.csv");
    append(
        &a,
        format!(
            "step,loss\n{}",
            (0..50).map(|i| format!("{i},{i}.5\n")).collect::<String>()
        )
        .as_bytes(),
    );
    append(&b, b"step,loss\n0,1\n");
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    follower.poll();
    assert_eq!(follower.runs().len(), 2);

    // Training restarted from scratch: the file is written anew, shorter.
    std::fs::write(&a, "step,loss\n0,9.5\n1,8.5\n").expect("rewrite");
    let poll = follower.poll();
    assert!(
        poll.notes
            .iter()
            .any(|n| n.problem.contains("read again from the start")),
        "{poll:?}"
    );
    assert_matches_a_full_read(&mut follower, dir.path());

    // Rewritten in place to the same length with other values.
    std::fs::write(&a, "step,loss\n0,7.5\n1,6.5\n2,5.5\n").expect("rewrite");
    follower.poll();
    std::fs::write(&a, "step,loss\n0,1.5\n1,1.5\n2,1.5\n3,1.5\n").expect("rewrite");
    assert_matches_a_full_read(&mut follower, dir.path());

    std::fs::remove_file(&b).expect("remove");
    let poll = follower.poll();
    assert!(
        poll.notes.iter().any(|n| n.problem.contains("vanished")),
        "{poll:?}"
    );
    assert_eq!(poll.removed, [dir.path().join("b").display().to_string()]);
    assert_matches_a_full_read(&mut follower, dir.path());
}

#[test]
fn whole_files_are_read_again_when_they_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("out/trainer_state.json");
    let history = |n: usize| {
        let entries: Vec<String> = (1..=n)
            .map(|i| {
                format!(
                    "{{\"loss\": {}, \"step\": {}, \"epoch\": {}}}",
                    1.0 / i as f64,
                    i * 10,
                    i as f64 / 10.0
                )
            })
            .collect();
        format!(
            "{{\"global_step\": {}, \"log_history\": [{}]}}",
            n * 10,
            entries.join(", ")
        )
    };
    std::fs::create_dir_all(state.parent().expect("folder")).expect("mkdir");
    std::fs::write(&state, history(3)).expect("write");
    let mut follower = Follower::new(&[dir.path().to_path_buf()]);
    follower.poll();
    // Caught mid-rewrite: the last good reading stays.
    std::fs::write(&state, &history(5)[..40]).expect("write");
    let poll = follower.poll();
    assert_eq!(poll.problems.len(), 1, "{poll:?}");
    assert_eq!(
        follower.runs()[0].series("loss").map(|s| s.points.len()),
        Some(3)
    );
    std::fs::write(&state, history(5)).expect("write");
    assert_matches_a_full_read(&mut follower, dir.path());
    assert_eq!(
        follower.runs()[0].series("loss").map(|s| s.points.len()),
        Some(5)
    );
}

#[test]
fn a_lone_file_and_skipped_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("logs/train.log");
    append(&log, b"step 1 | loss 2.0\nstep 2 | loss 1.5\n");
    append(
        &dir.path().join("logs/fmr-alerts/notes.log"),
        b"step 1 | loss 9.0\n",
    );
    let mut follower = Follower::new(std::slice::from_ref(&log));
    follower.poll();
    append(&log, b"step 3 | loss 1.2\n");
    assert_matches_a_full_read(&mut follower, &log);
    assert_eq!(follower.runs()[0].name, "train");

    let root: PathBuf = dir.path().join("logs");
    let mut follower = Follower::new(std::slice::from_ref(&root)).skipping(root.join("fmr-alerts"));
    follower.poll();
    assert_eq!(follower.runs().len(), 1, "the skipped folder is not a run");
}

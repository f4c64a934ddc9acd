//! What one `fmr watch` update costs on a large run: a TensorBoard event file
//! of 60 MB (about a million scalar records, written in setup) is already
//! followed; each measured poll comes after the writer appended 100 more
//! scalar records. For scale, the same file read whole by `ingest`, which is
//! what every update cost before the follower.
//!
//! `cargo bench -p fmr-ingest --bench follow`

#[path = "../tests/support/event_writer.rs"]
mod event_writer;

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use event_writer::{Event, Summary, SummaryValue, write_event};
use fmr_ingest::follow::Follower;

const FILE_BYTES: u64 = 60 * 1024 * 1024;
const TAGS: [&str; 4] = [
    "train/loss",
    "train/lr",
    "train/grad_norm",
    "train/tokens_per_s",
];
const RECORDS_PER_UPDATE: usize = 100;

/// Writes scalar events, one tag of `TAGS` after the other.
struct Writer {
    next: usize,
    scratch: Vec<u8>,
}

impl Writer {
    fn append(&mut self, out: &mut impl Write, records: usize) {
        for _ in 0..records {
            let i = self.next;
            self.next += 1;
            let step = (i / TAGS.len()) as i64;
            let value = 2.0 * (-(step as f64) / 50_000.0).exp() + (i % 97) as f64 * 1e-4;
            let event = Event {
                wall_time: 1_700_000_000.0 + i as f64 * 1e-3,
                step,
                summary: Some(Summary {
                    value: vec![SummaryValue {
                        tag: TAGS[i % TAGS.len()].to_string(),
                        simple_value: Some(value as f32),
                        ..SummaryValue::default()
                    }],
                }),
                ..Event::default()
            };
            write_event(out, &event, &mut self.scratch).expect("write an event");
        }
    }
}

fn write_large_file(path: &Path, writer: &mut Writer) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create"));
    let version = Event {
        wall_time: 1_700_000_000.0,
        file_version: Some("brain.Event:2".into()),
        ..Event::default()
    };
    write_event(&mut out, &version, &mut writer.scratch).expect("write");
    while out.get_ref().metadata().expect("size").len() < FILE_BYTES {
        writer.append(&mut out, 10_000);
        out.flush().expect("flush");
    }
}

fn follow(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    let path = run_dir.join("events.out.tfevents.1700000000.bench");
    let mut writer = Writer {
        next: 0,
        scratch: Vec::new(),
    };
    write_large_file(&path, &mut writer);
    let roots: Vec<PathBuf> = vec![dir.path().to_path_buf()];

    let mut follower = Follower::new(&roots);
    let started = Instant::now();
    let first = follower.poll();
    eprintln!(
        "follow: first poll read {:.1} MB, {} records, in {:.2?}",
        first.bytes_read as f64 / 1e6,
        writer.next,
        started.elapsed()
    );

    let mut group = c.benchmark_group("follow");
    group.sample_size(50);
    group.bench_function(
        "poll after 100 appended scalar records (60 MB event file)",
        |b| {
            b.iter_custom(|iterations| {
                let mut measured = Duration::ZERO;
                for _ in 0..iterations {
                    let mut file = OpenOptions::new().append(true).open(&path).expect("open");
                    writer.append(&mut file, RECORDS_PER_UPDATE);
                    drop(file);
                    let started = Instant::now();
                    let poll = follower.poll();
                    measured += started.elapsed();
                    assert_eq!(poll.changed.len(), 1);
                    black_box(poll);
                }
                measured
            })
        },
    );
    group.sample_size(10);
    group.bench_function("full re-read with ingest (same file)", |b| {
        b.iter(|| black_box(fmr_ingest::ingest(&roots)))
    });
    group.finish();
}

criterion_group!(benches, follow);
criterion_main!(benches);

//! The ingest benchmark's helper (`bench/ingest/run.sh` drives it):
//!
//! - `ingest_bench events FILE N TAGS` writes an event file of N scalar
//!   events over TAGS tags (tensorboardX's encoding: `simple_value`), with
//!   fmr's test writer;
//! - `ingest_bench csv FILE ROWS COLUMNS` writes a Lightning-style metrics CSV;
//! - `ingest_bench read PATH...` ingests the paths and prints one line of
//!   JSON: seconds, bytes, points, series, problems.

#[path = "../tests/support/event_writer.rs"]
mod event_writer;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use event_writer::{Event, Summary, SummaryValue, write_event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: ingest_bench events FILE N TAGS | csv FILE ROWS COLUMNS | read PATH...";
    let number = |i: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(args.get(i).ok_or(usage)?.parse()?)
    };
    match args.first().map(String::as_str) {
        Some("events") => write_events(args.get(1).ok_or(usage)?, number(2)?, number(3)?)?,
        Some("csv") => write_csv(args.get(1).ok_or(usage)?, number(2)?, number(3)?)?,
        Some("read") if args.len() > 1 => read(&args[1..]),
        _ => return Err(usage.into()),
    }
    Ok(())
}

/// A deterministic pseudo-random value in [0, 1): the benchmark needs
/// varied bits, not statistical quality.
fn noise(seed: u64) -> f64 {
    let mixed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29) ^ seed;
    (mixed >> 11) as f64 / (1_u64 << 53) as f64
}

fn write_events(path: &str, events: usize, tags: usize) -> std::io::Result<()> {
    let tags = tags.max(1);
    let names: Vec<String> = (0..tags).map(|i| format!("train/metric_{i:02}")).collect();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut scratch = Vec::new();
    let start = 1_700_000_000.0;
    write_event(
        &mut out,
        &Event {
            wall_time: start,
            file_version: Some("brain.Event:2".into()),
            ..Event::default()
        },
        &mut scratch,
    )?;
    for i in 0..events {
        let step = (i / tags) as i64;
        let tag = &names[i % tags];
        let value = 2.0 * (-(step as f64) / 50_000.0).exp() + 0.05 * noise(i as u64);
        let event = Event {
            wall_time: start + i as f64 * 1e-3,
            step,
            summary: Some(Summary {
                value: vec![SummaryValue {
                    tag: tag.clone(),
                    simple_value: Some(value as f32),
                    ..SummaryValue::default()
                }],
            }),
            ..Event::default()
        };
        write_event(&mut out, &event, &mut scratch)?;
    }
    out.flush()
}

fn write_csv(path: &str, rows: usize, columns: usize) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    write!(out, "step,epoch")?;
    for c in 0..columns {
        write!(out, ",metric_{c:02}")?;
    }
    writeln!(out)?;
    for row in 0..rows {
        write!(out, "{row},{}", row / 1000)?;
        for c in 0..columns {
            let value =
                2.0 * (-(row as f64) / 50_000.0).exp() + 0.05 * noise((row * columns + c) as u64);
            write!(out, ",{value}")?;
        }
        writeln!(out)?;
    }
    out.flush()
}

fn read(paths: &[String]) {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let bytes: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let started = Instant::now();
    let ingested = fmr_ingest::ingest(&paths);
    let seconds = started.elapsed().as_secs_f64();
    let points: usize = ingested.runs.iter().map(|r| r.point_count()).sum();
    let series: usize = ingested.runs.iter().map(|r| r.series.len()).sum();
    println!(
        "{{\"seconds\": {seconds:.6}, \"bytes\": {bytes}, \"points\": {points}, \"series\": {series}, \"problems\": {}}}",
        ingested.problems.len()
    );
}

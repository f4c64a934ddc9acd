//! The detector benchmark's helper (`bench/detect/run.sh` drives it):
//!
//! - `detect_bench write FILE POINTS` writes the 50 series of the criterion bench, POINTS
//!   points each, as a raw series file (below), for fmr and the Python peer to read;
//! - `detect_bench detect FILE` reads it back into runs, runs every detector on each run and
//!   prints one line of JSON: points, series, symptoms, bytes, load and detect seconds (wall
//!   clock), and `detect_cpu_seconds`, the CPU time of the detection alone (from
//!   `/proc/self/schedstat` on Linux, `null` elsewhere): the figure to trust on a busy machine.
//!
//! The raw series file: the line `fmr-series 1`, one line of JSON
//! (`{"points": N, "series": [{"run": "supervised", "tag": "train/loss"}, ...]}`), then the
//! N steps as little-endian i64, then each series' N values as little-endian f64, in the
//! header's order. Plain arrays, so that neither side's reading time depends on a parser.

#[path = "../benches/series/mod.rs"]
mod series;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::time::Instant;

use fmr_core::{Point, Run};
use serde::{Deserialize, Serialize};

const MAGIC: &str = "fmr-series 1";

#[derive(Serialize, Deserialize)]
struct Header {
    points: usize,
    series: Vec<SeriesName>,
}

#[derive(Serialize, Deserialize)]
struct SeriesName {
    run: String,
    tag: String,
}

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: detect_bench write FILE POINTS | detect FILE";
    match (args.first().map(String::as_str), args.get(1), args.get(2)) {
        (Some("write"), Some(file), Some(points)) => write(file, points.parse()?),
        (Some("detect"), Some(file), None) => detect(file),
        _ => Err(usage.into()),
    }
}

fn write(path: &str, points: usize) -> Result<(), Failure> {
    let runs = series::runs(points);
    let header = Header {
        points,
        series: runs
            .iter()
            .flat_map(|run| {
                run.series.iter().map(|s| SeriesName {
                    run: run.name.clone(),
                    tag: s.tag.clone(),
                })
            })
            .collect(),
    };
    let mut out = BufWriter::new(File::create(path).map_err(|e| format!("{path}: {e}"))?);
    writeln!(out, "{MAGIC}")?;
    writeln!(out, "{}", serde_json::to_string(&header)?)?;
    for step in 0..points as i64 {
        out.write_all(&step.to_le_bytes())?;
    }
    for run in &runs {
        for series in &run.series {
            for point in &series.points {
                out.write_all(&point.value.to_le_bytes())?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn detect(path: &str) -> Result<(), Failure> {
    let started = Instant::now();
    let runs = read(path).map_err(|e| format!("{path}: {e}"))?;
    let load_seconds = started.elapsed().as_secs_f64();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let symptoms: usize = runs.iter().map(|run| fmr_detect::detect(run).len()).sum();
    let detect_seconds = started.elapsed().as_secs_f64();
    let detect_cpu_seconds = cpu_before.zip(cpu_seconds()).map(|(a, b)| b - a);
    let points: usize = runs.iter().map(Run::point_count).sum();
    let series: usize = runs.iter().map(|r| r.series.len()).sum();
    let bytes = std::fs::metadata(path)?.len();
    println!(
        "{}",
        serde_json::json!({
            "points": points,
            "series": series,
            "symptoms": symptoms,
            "bytes": bytes,
            "load_seconds": load_seconds,
            "detect_seconds": detect_seconds,
            "detect_cpu_seconds": detect_cpu_seconds,
        })
    );
    Ok(())
}

/// CPU time this thread has run, in seconds: the first field of `/proc/self/schedstat`
/// (nanoseconds on the CPU). The detectors run on this one thread.
fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanoseconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanoseconds / 1e9)
}

/// The runs of a raw series file, in its order.
fn read(path: &str) -> Result<Vec<Run>, Failure> {
    let mut input = BufReader::new(File::open(path)?);
    let mut line = String::new();
    input.read_line(&mut line)?;
    if line.trim_end() != MAGIC {
        return Err(format!("not a raw series file (it should start with `{MAGIC}`)").into());
    }
    line.clear();
    input.read_line(&mut line)?;
    let header: Header =
        serde_json::from_str(&line).map_err(|e| format!("bad header line: {e}"))?;
    let mut buffer = vec![0u8; header.points * 8];
    input
        .read_exact(&mut buffer)
        .map_err(|e| format!("the steps are cut short: {e}"))?;
    let steps: Vec<i64> = buffer
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    let mut runs: Vec<Run> = Vec::new();
    for name in &header.series {
        input
            .read_exact(&mut buffer)
            .map_err(|e| format!("{} {} is cut short: {e}", name.run, name.tag))?;
        if runs.last().is_none_or(|r| r.name != name.run) {
            runs.push(Run {
                name: name.run.clone(),
                ..Run::default()
            });
        }
        let run = runs.last_mut().expect("pushed above");
        run.series_mut(&name.tag).points = steps
            .iter()
            .zip(buffer.chunks_exact(8))
            .map(|(&step, b)| Point {
                step,
                wall_time: None,
                value: f64::from_le_bytes(b.try_into().expect("8 bytes")),
            })
            .collect();
    }
    Ok(runs)
}

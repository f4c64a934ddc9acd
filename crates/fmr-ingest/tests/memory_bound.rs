//! The CSV, JSON-lines and console-log readers stream: memory follows the
//! series kept, not the file. Each reads a large log from a named pipe that
//! a thread fills lazily (nothing is written to disk), with few points to
//! keep, and the process's peak resident memory (Linux `VmHWM`, reset
//! through `/proc/self/clear_refs`) must grow by well under the bytes read;
//! a reader that loads the whole file needs at least as much as the file.
//!
//! The only test in its binary, so that no other test allocates meanwhile.

#![cfg(target_os = "linux")]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;

use fmr_core::Run;
use fmr_ingest::SOURCES;

const MIB: u64 = 1 << 20;

/// Peak resident memory so far, in bytes.
fn peak_resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak to the current resident memory; false where the kernel
/// does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Reads `total` bytes of `header` then `line(i)` lines through the source
/// called `source` from a named pipe, and returns the growth of peak
/// memory and the run.
fn read_through_pipe(
    dir: &Path,
    file_name: &str,
    source: &str,
    header: &'static str,
    total: u64,
    line: fn(u64) -> String,
) -> (u64, Run) {
    let pipe = dir.join(file_name);
    let made = Command::new("mkfifo").arg(&pipe).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", pipe.display());
    let writer_path = pipe.clone();
    let writer = std::thread::spawn(move || {
        let mut out = BufWriter::with_capacity(64 * 1024, File::create(writer_path)?);
        out.write_all(header.as_bytes())?;
        let (mut written, mut i) = (header.len() as u64, 0);
        while written < total {
            let text = line(i);
            out.write_all(text.as_bytes())?;
            written += text.len() as u64;
            i += 1;
        }
        out.flush()
    });
    let source = SOURCES
        .iter()
        .find(|s| s.name() == source)
        .expect("a registered source");
    assert!(reset_peak(), "resetting the peak is allowed here");
    let before = peak_resident().expect("VmHWM");
    let mut run = Run::default();
    let outcome = source.read_path(&pipe, &mut run).expect("readable");
    let after = peak_resident().expect("VmHWM");
    writer
        .join()
        .expect("writer thread")
        .expect("writing the pipe");
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    (after.saturating_sub(before), run)
}

#[test]
fn streaming_readers_hold_a_chunk_not_the_file() {
    if !reset_peak() || peak_resident().is_none() {
        eprintln!("no /proc/self/clear_refs or VmHWM here; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");

    // 64 MB of CSV: a loss every 10,000 rows, a text column in every row.
    let (growth, run) = read_through_pipe(
        dir.path(),
        "metrics.csv",
        "csv",
        "step,loss,note\n",
        64 * 1_000_000,
        |i| {
            let loss = if i % 10_000 == 0 { "0.5" } else { "" };
            format!("{i},{loss},{}\n", "n".repeat(100))
        },
    );
    let points = run.series("loss").map_or(0, |s| s.points.len());
    assert!(points > 50, "{points} points");
    assert!(
        growth < 24 * MIB,
        "CSV: peak memory grew by {} MiB reading 64 MB",
        growth / MIB
    );

    // 32 MB of JSON lines, a metric every 1,000 lines.
    let (growth, run) =
        read_through_pipe(dir.path(), "log.jsonl", "jsonl", "", 32 * 1_000_000, |i| {
            if i % 1_000 == 0 {
                format!("{{\"step\": {i}, \"loss\": 0.5}}\n")
            } else {
                format!("{{\"step\": {i}, \"note\": \"{}\"}}\n", "n".repeat(200))
            }
        });
    assert!(run.series("loss").is_some_and(|s| s.points.len() > 100));
    assert!(
        growth < 16 * MIB,
        "JSON lines: peak memory grew by {} MiB reading 32 MB",
        growth / MIB
    );

    // 24 MB of console output with a metric line every 1,000 lines.
    let (growth, run) =
        read_through_pipe(dir.path(), "train.log", "text", "", 24 * 1_000_000, |i| {
            if i % 1_000 == 0 {
                format!("step {i} | loss 0.5\n")
            } else {
                format!("loading shard {i}: {}\n", "n".repeat(400))
            }
        });
    assert!(run.series("loss").is_some_and(|s| s.points.len() > 10));
    assert!(
        growth < 12 * MIB,
        "console log: peak memory grew by {} MiB reading 24 MB",
        growth / MIB
    );
}

//! Reads the paths given on the command line and prints what was found:
//! `cargo run -p fmr-ingest --example summarize -- path/to/logs`.
//! With `--csv`, prints every point instead (`fmr metrics --format csv`);
//! with `--config`, every config entry too.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut as_csv = false;
    let mut show_config = false;
    let mut paths = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--csv" {
            as_csv = true;
        } else if arg == "--config" {
            show_config = true;
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    let ingested = fmr_ingest::ingest(&paths);
    if as_csv {
        return fmr_ingest::write_metrics_csv(&ingested.runs, &mut std::io::stdout().lock());
    }
    for run in &ingested.runs {
        println!("{} ({}) [{}]", run.name, run.path, run.formats.join(", "));
        for series in &run.series {
            let non_finite = series
                .points
                .iter()
                .filter(|p| !p.value.is_finite())
                .count();
            println!(
                "  {:<40} {:>6} points, {non_finite} non-finite",
                series.tag,
                series.points.len()
            );
        }
        for event in &run.events {
            println!(
                "  {}:{} {:?}: {}",
                event.file, event.line, event.kind, event.text
            );
        }
        if show_config {
            for (key, value) in &run.config {
                println!("  config {key} = {value}");
            }
        } else if !run.config.is_empty() {
            println!("  config: {} keys", run.config.len());
        }
    }
    for problem in &ingested.problems {
        eprintln!("problem: {problem}");
    }
    Ok(())
}

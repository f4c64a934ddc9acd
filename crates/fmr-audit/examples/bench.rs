//! Times the audit of a directory and prints its throughput:
//! `cargo run --release -p fmr-audit --example bench -- path/to/project [RUNS] [--per-rule]`.
//! `bench/audit/run.sh` generates a large project and runs this on it. It also times what an
//! investigation needs of the code (audit, code index, hyperparameter scan) as three separate
//! walks and as one [`fmr_audit::study_project`], and prints the ratio.
//!
//! `--per-rule` also prints where the time goes, single-threaded: parsing, indexing, and each
//! rule (the first rule to ask for a shared analysis, such as imports or gradient events, pays
//! for it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fmr_audit::{Context, RULES, SourceFile};

fn main() {
    let mut path = None;
    let mut runs = 3;
    let mut per_rule = false;
    for argument in std::env::args().skip(1) {
        if argument == "--per-rule" {
            per_rule = true;
        } else if let Ok(count) = argument.parse::<usize>() {
            runs = count.max(1);
        } else {
            path = Some(PathBuf::from(argument));
        }
    }
    let Some(path) = path else {
        eprintln!("usage: bench <directory> [runs] [--per-rule]");
        std::process::exit(2);
    };
    let sources = python_sources(&path);
    let lines: usize = sources.iter().map(|(_, text)| text.lines().count()).sum();
    // Output may go to a closed pipe (`| head`); a failed write is not worth a panic.
    let mut out = std::io::stdout().lock();
    let mut best = f64::INFINITY;
    let mut report = fmr_audit::AuditReport::default();
    for _ in 0..runs {
        let start = Instant::now();
        report = fmr_audit::audit_path(&path, RULES);
        best = best.min(start.elapsed().as_secs_f64());
    }
    let _ = writeln!(
        out,
        "{} files, {lines} lines, {} rules, {} findings, {} problems",
        report.files_scanned,
        RULES.len(),
        report.findings.len(),
        report.problems.len()
    );
    let _ = writeln!(
        out,
        "best of {runs}: {best:.3} s wall, {:.0} lines/s ({} threads)",
        lines as f64 / best,
        rayon::current_num_threads()
    );
    print_study_comparison(&mut out, &path, runs);
    if per_rule {
        print_breakdown(&mut out, &sources);
    }
}

/// What an investigation with `--code` asks of the project, done two ways side by side: the
/// three separate walks (`audit_path`, `locate`, `scan_project`), each parsing every file, and
/// `study_project`, which parses each file once. Best of `runs` each.
fn print_study_comparison(out: &mut impl Write, path: &Path, runs: usize) {
    let best_of = |work: &dyn Fn()| {
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                work();
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let separate = best_of(&|| {
        std::hint::black_box(fmr_audit::audit_path(path, RULES));
        std::hint::black_box(fmr_audit::locate(path));
        std::hint::black_box(fmr_audit::paper::scan_project(path, &[]));
    });
    let once = best_of(&|| {
        std::hint::black_box(fmr_audit::study_project(path, RULES));
    });
    let _ = writeln!(
        out,
        "audit + index + scan: three walks {separate:.3} s, one study {once:.3} s, ratio {:.2}x",
        separate / once
    );
}

/// Single-threaded time spent parsing, indexing and in each rule.
fn print_breakdown(out: &mut impl Write, sources: &[(String, String)]) {
    let mut parse = Duration::ZERO;
    let mut index = Duration::ZERO;
    let mut by_rule = vec![Duration::ZERO; RULES.len()];
    for (name, text) in sources {
        let start = Instant::now();
        let Ok(file) = SourceFile::parse(name.as_str(), text.as_str()) else {
            continue;
        };
        parse += start.elapsed();
        let start = Instant::now();
        let context = Context::new(&file);
        index += start.elapsed();
        for (rule, spent) in RULES.iter().zip(by_rule.iter_mut()) {
            let start = Instant::now();
            let _ = rule.check(&context);
            *spent += start.elapsed();
        }
    }
    let rules: Duration = by_rule.iter().sum();
    let _ = writeln!(
        out,
        "single thread: parse {:.3} s, index {:.3} s, rules {:.3} s",
        parse.as_secs_f64(),
        index.as_secs_f64(),
        rules.as_secs_f64()
    );
    let mut ranked: Vec<(&str, Duration)> = RULES
        .iter()
        .map(|rule| rule.code())
        .zip(by_rule.iter().copied())
        .collect();
    ranked.sort_by_key(|(_, spent)| std::cmp::Reverse(*spent));
    for (code, spent) in ranked {
        let _ = writeln!(out, "  {code} {:>8.1} ms", spent.as_secs_f64() * 1000.0);
    }
}

/// Every `*.py` file under `path` with its text.
fn python_sources(path: &Path) -> Vec<(String, String)> {
    let mut sources = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(next) = pending.pop() {
        if let Ok(entries) = std::fs::read_dir(&next) {
            pending.extend(entries.flatten().map(|entry| entry.path()));
        } else if next.extension().is_some_and(|extension| extension == "py")
            && let Ok(text) = std::fs::read_to_string(&next)
        {
            sources.push((next.display().to_string(), text));
        }
    }
    sources.sort();
    sources
}

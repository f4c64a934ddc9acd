//! `fmr watch LOGDIR`: follow a live run. Each poll looks at file sizes and
//! modification times; only when something changed are the logs read again and
//! the detectors run. When a failure symptom appears that was not there before,
//! a full investigation runs on its own, the report is written, one line is
//! printed, and an optional command runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fmr_core::SymptomKind;
use fmr_engine::{Engine, Inputs};

/// Symptoms serious enough to interrupt someone.
const ALERT_KINDS: &[SymptomKind] = &[
    SymptomKind::NonFinite,
    SymptomKind::Divergence,
    SymptomKind::GradExplosion,
    SymptomKind::LossScaleCollapse,
    SymptomKind::KlBlowup,
    SymptomKind::ValueLossExplosion,
    SymptomKind::EntropyCollapse,
    SymptomKind::CodebookCollapse,
    SymptomKind::ModeCollapse,
    SymptomKind::DiscriminatorWins,
    SymptomKind::ChanceLevel,
    SymptomKind::MemoryGrowth,
];

pub struct WatchOptions {
    pub logdir: PathBuf,
    pub code: Option<PathBuf>,
    pub every: Duration,
    pub out: PathBuf,
    pub exec: Option<String>,
    /// Stop after the first alert (for scripts and tests).
    pub exit_on_alert: bool,
    /// Stop after this many polls (0 = never).
    pub max_polls: u64,
    pub quiet: bool,
}

/// A cheap fingerprint of the log files: (path → (size, mtime)), skipping the
/// alert folder so that writing a report does not count as new data.
fn fingerprint(dir: &Path, skip: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path == skip {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else {
            out.insert(path, (meta.len(), meta.modified().ok()));
        }
    }
    out
}

/// Runs until interrupted (or the first alert / poll limit); returns the exit code.
pub fn watch(options: &WatchOptions) -> anyhow::Result<u8> {
    if !options.logdir.exists() {
        eprintln!(
            "fmr: {}: no such file or directory",
            options.logdir.display()
        );
        return Ok(2);
    }
    let engine = Engine::new().map_err(anyhow::Error::msg)?;
    let mut last = BTreeMap::new();
    let mut seen: Vec<(String, SymptomKind)> = Vec::new();
    let mut polls = 0u64;
    if !options.quiet {
        eprintln!(
            "fmr: watching {} every {:?} (Ctrl-C to stop)",
            options.logdir.display(),
            options.every
        );
    }
    loop {
        polls += 1;
        let now = fingerprint(&options.logdir, &options.out);
        if now != last {
            last = now;
            let ingested = fmr_ingest::ingest(std::slice::from_ref(&options.logdir));
            let mut fresh = Vec::new();
            for run in &ingested.runs {
                for s in fmr_detect::detect(run) {
                    let key = (s.metric.clone().unwrap_or_default(), s.kind);
                    if ALERT_KINDS.contains(&s.kind) && !seen.contains(&key) {
                        seen.push(key);
                        fresh.push(s);
                    }
                }
            }
            if !fresh.is_empty() {
                alert(&engine, options, &fresh)?;
                if options.exit_on_alert {
                    return Ok(0);
                }
            }
        }
        if options.max_polls > 0 && polls >= options.max_polls {
            return Ok(0);
        }
        std::thread::sleep(options.every);
    }
}

fn alert(
    engine: &Engine,
    options: &WatchOptions,
    fresh: &[fmr_core::Symptom],
) -> anyhow::Result<()> {
    let inputs = Inputs {
        paths: vec![options.logdir.clone()],
        code: options.code.clone(),
        ..Inputs::default()
    };
    let (report, runs) = engine.investigate_with_runs(&inputs);
    std::fs::create_dir_all(&options.out)?;
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let md = options.out.join(format!("fmr-alert-{stamp}.md"));
    let html = options.out.join(format!("fmr-alert-{stamp}.html"));
    std::fs::write(&md, fmr_report::render_markdown(&report))?;
    std::fs::write(&html, fmr_report::render_html_with_runs(&report, &runs))?;
    let top = report
        .hypotheses
        .first()
        .map(|h| format!("{} {} ({:.0}%)", h.id, h.title, h.likelihood * 100.0))
        .unwrap_or_default();
    println!(
        "fmr alert: {} — most likely {top}; report: {}",
        fresh[0].statement,
        md.display()
    );
    if let Some(cmd) = &options.exec {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("FMR_REPORT", &md)
            .env("FMR_ALERT", &fresh[0].statement)
            .status();
        if let Err(e) = status {
            eprintln!("fmr: could not run {cmd:?}: {e}");
        }
    }
    Ok(())
}

//! `fmr watch LOGDIR`: follow a live run. Each poll reads only what the log
//! files gained since the last one ([`fmr_ingest::follow::Follower`]: event
//! files from the last complete record, CSV and text logs from the last
//! complete line), and the detectors run only on the runs that changed, over
//! the new points plus a bounded stretch of history. When
//! a failure symptom appears that was not there before, a full investigation
//! runs on its own, the report is written, one line is printed, and an
//! optional command runs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use fmr_core::{Run, Symptom, SymptomKind};
use fmr_engine::{Engine, Inputs};
use fmr_ingest::follow::Follower;

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

/// Points of history each series keeps when the detectors look at a run again:
/// enough for a robust baseline (rolling median, change points) around what is
/// new, while the cost of one update stays bounded however long the run gets.
const DETECTION_WINDOW: usize = 20_000;

/// What the detectors see of a run at each update: the whole run the first time,
/// then each series' recent points only — the new ones since the last update
/// (all of them, however many) plus [`DETECTION_WINDOW`] points of history.
/// A symptom in older data was already seen, and alerted on, by an earlier update.
#[derive(Debug, Default)]
struct DetectionWindow {
    /// Per run path and series tag: how many points the last update saw.
    seen: HashMap<(String, String), usize>,
}

impl DetectionWindow {
    fn recent(&mut self, run: &Run) -> Run {
        let mut recent = Run {
            name: run.name.clone(),
            path: run.path.clone(),
            formats: run.formats.clone(),
            series: Vec::with_capacity(run.series.len()),
            events: run.events.clone(),
            config: run.config.clone(),
        };
        for series in &run.series {
            let key = (run.path.clone(), series.tag.clone());
            let before = self.seen.insert(key, series.points.len());
            let keep = match before {
                None => series.points.len(),
                Some(before) => {
                    let new = series.points.len().saturating_sub(before);
                    (new + DETECTION_WINDOW).min(series.points.len())
                }
            };
            let mut tail = fmr_core::Series::new(series.tag.clone());
            tail.points = series.points[series.points.len() - keep..].to_vec();
            recent.series.push(tail);
        }
        recent
    }
}

/// The symptoms already alerted on, so that each (metric, kind) alerts once.
#[derive(Debug, Default)]
struct Alerted {
    seen: Vec<(String, SymptomKind)>,
}

impl Alerted {
    /// The symptoms among `found` worth an alert that have not had one yet.
    fn fresh(&mut self, found: impl IntoIterator<Item = Symptom>) -> Vec<Symptom> {
        let mut fresh = Vec::new();
        for symptom in found {
            let key = (symptom.metric.clone().unwrap_or_default(), symptom.kind);
            if ALERT_KINDS.contains(&symptom.kind) && !self.seen.contains(&key) {
                self.seen.push(key);
                fresh.push(symptom);
            }
        }
        fresh
    }
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
    // Reports written into the run folder are not new data.
    let mut follower =
        Follower::new(std::slice::from_ref(&options.logdir)).skipping(options.out.clone());
    let mut alerted = Alerted::default();
    let mut window = DetectionWindow::default();
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
        let poll = follower.poll();
        if !options.quiet {
            for line in poll.problems.iter().chain(&poll.notes) {
                eprintln!("fmr: {line}");
            }
        }
        let recent: Vec<Run> = (poll.changed.iter())
            .filter_map(|path| follower.run(path))
            .map(|run| window.recent(run))
            .collect();
        let found = recent.iter().flat_map(fmr_detect::detect);
        let fresh = alerted.fresh(found);
        if !fresh.is_empty() {
            alert(&engine, options, &fresh)?;
            if options.exit_on_alert {
                return Ok(0);
            }
        }
        if options.max_polls > 0 && polls >= options.max_polls {
            return Ok(0);
        }
        std::thread::sleep(options.every);
    }
}

fn alert(engine: &Engine, options: &WatchOptions, fresh: &[Symptom]) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn symptom(kind: SymptomKind, metric: &str) -> Symptom {
        Symptom {
            code: "S000".into(),
            kind,
            run: None,
            metric: Some(metric.into()),
            role: None,
            window: None,
            numbers: Default::default(),
            statement: format!("{metric}: {kind:?}"),
            origin: fmr_core::Origin::Detector,
            confidence: 0.9,
        }
    }

    #[test]
    fn detection_sees_the_whole_run_once_then_new_points_with_bounded_history() {
        let mut run = Run {
            path: "runs/a".into(),
            ..Run::default()
        };
        let series = run.series_mut("train/loss");
        for step in 0..100_000 {
            series.points.push(fmr_core::Point {
                step,
                wall_time: None,
                value: 1.0,
            });
        }
        let mut window = DetectionWindow::default();
        assert_eq!(window.recent(&run).series[0].points.len(), 100_000);

        let series = run.series_mut("train/loss");
        for step in 100_000..100_050 {
            series.points.push(fmr_core::Point {
                step,
                wall_time: None,
                value: f64::NAN,
            });
        }
        let recent = window.recent(&run);
        let points = &recent.series[0].points;
        assert_eq!(points.len(), DETECTION_WINDOW + 50);
        assert_eq!(points.last().map(|p| p.step), Some(100_049));
        // The new NaNs are there, so the non-finite detector still fires.
        assert!(
            fmr_detect::detect(&recent)
                .iter()
                .any(|s| s.kind == SymptomKind::NonFinite)
        );

        // A burst larger than the window is seen whole.
        let series = run.series_mut("train/loss");
        for step in 100_050..160_050 {
            series.points.push(fmr_core::Point {
                step,
                wall_time: None,
                value: 1.0,
            });
        }
        assert_eq!(
            window.recent(&run).series[0].points.len(),
            60_000 + DETECTION_WINDOW
        );
    }

    #[test]
    fn each_metric_and_kind_alerts_once_and_mild_kinds_never() {
        let mut alerted = Alerted::default();
        let first = alerted.fresh([
            symptom(SymptomKind::NonFinite, "loss"),
            symptom(SymptomKind::NonFinite, "loss"),
        ]);
        assert_eq!(first.len(), 1);
        assert!(
            alerted
                .fresh([symptom(SymptomKind::NonFinite, "loss")])
                .is_empty()
        );
        let later = alerted.fresh([
            symptom(SymptomKind::NonFinite, "grad_norm"),
            symptom(SymptomKind::Divergence, "loss"),
            symptom(SymptomKind::Plateau, "loss"),
        ]);
        let kinds: Vec<SymptomKind> = later.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [SymptomKind::NonFinite, SymptomKind::Divergence]);
    }
}

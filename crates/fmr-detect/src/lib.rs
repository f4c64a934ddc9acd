//! fmr's metric-symptom detectors: they read a run's metric series and report what the curves
//! are doing, each symptom with the numbers that support it.
//!
//! Design, after ruff and ripgrep:
//! - [`role_of`] names what each metric measures (`val_loss` → validation loss), from word
//!   rules rather than a table of spellings, so every framework's names map to one vocabulary.
//! - [`DetectorInput`] cleans each series once (sorted by step, one point per step, finite
//!   view) and attaches its role; detectors never see raw, unsorted points.
//! - Each detector is a unit struct in its own file under `detectors/`, implementing
//!   [`Detector`]; its doc comment is its documentation (what, why, signature, evidence,
//!   parameters, likely causes). [`DETECTORS`] lists them sorted by their stable code.
//! - Detectors judge shapes on downsampled, robustly smoothed curves (`stats/`: medians, MAD,
//!   Theil–Sen, Mann–Kendall, autocorrelation), so a run of a million points costs about as
//!   much as a few linear passes, and a single outlier never decides. They prefer silence to a
//!   guess: a healthy noisy run must produce no symptom.
//! - Onsets come from change points: PELT (`stats::pelt`, mean and variance, BIC penalty) on
//!   the block medians, read by `stats::onset` as the first change after which the curve stays
//!   on its way to its final level.
//! - Beyond single runs: [`conflicts`] says where the user's description and the logs disagree,
//!   and [`compare_runs`] says where a bad run parts from a good one and what changed in the
//!   config.

mod compare;
mod conflicts;
mod detector;
pub mod detectors;
mod human;
mod registry;
mod roles;
pub mod stats;

use fmr_core::{Run, Symptom};

pub use compare::{
    ConfigChange, ConfigDiff, MetricComparison, PartingKind, RunComparison, compare_runs,
};
pub use conflicts::{conflicts, conflicts_with_runs};
pub use detector::{Curve, Detector, DetectorInput, MetricSeries};
pub use registry::{DETECTORS, detector};
pub use roles::role_of;

/// Runs every detector on `run`. Symptoms come sorted by onset step, then code, then metric,
/// so the same run always gives the same list.
pub fn detect(run: &Run) -> Vec<Symptom> {
    let input = DetectorInput::new(run);
    let mut symptoms: Vec<Symptom> = DETECTORS.iter().flat_map(|d| d.detect(&input)).collect();
    symptoms.sort_by(|a, b| {
        let onset = |s: &Symptom| s.window.map_or(i64::MAX, |w| w.start);
        onset(a)
            .cmp(&onset(b))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.metric.cmp(&b.metric))
            .then_with(|| a.statement.cmp(&b.statement))
    });
    symptoms
}

use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{head_level, tail_count, tail_level};
use crate::human;
use crate::roles::words;
use crate::stats::onset::regime_onset_step;
use crate::stats::robust::{argmax, median};
use crate::stats::smooth::trend;
use crate::stats::trend::mann_kendall_z;

/// ## What it detects
/// A policy KL that is out of control: a per-update KL (PPO's `approx_kl`) that stays above
/// 0.05, or a KL to the reference policy (RLHF's `objective/kl`) that grows by an order of
/// magnitude and keeps climbing instead of levelling off.
///
/// ## Why it matters
/// PPO keeps each update small by clipping; a KL per update above about 0.05 means the clipping
/// no longer does (too many epochs per batch, a large learning rate, tiny minibatches), and
/// collapses of the return follow. In RLHF the KL to the reference measures how far the policy
/// has drifted from the model the reward model was trained on; when it grows without bound the
/// policy is leaving the region where the reward means anything, the usual prelude to reward
/// over-optimisation.
///
/// ## Signature
/// Only KL series of policy-learning runs are judged (the run logs rewards, entropy, clip
/// fraction or value losses, or the name says `approx`, `ref`, `policy`, `objective`, `ppo`):
/// a VAE's KL term is not a policy KL. Per update (name with `approx`, or a run that logs a
/// clip fraction): the median over the last 30% of the points is at least 0.05. To the
/// reference: on the smoothed curve (200 block medians), the level over the last 10% is at
/// least 10× the level over the first 10% (floored at 1% of the final level, since a KL to the
/// reference starts at 0) and 6× the block noise above it; the rise over the last third of the
/// run is at least half the rise over the middle third; and the raw block medians of the last
/// half still trend up (Mann–Kendall z ≥ 2). The onset is the first change point (PELT) from
/// which the KL stays on its way up.
///
/// ## Evidence reported
/// Per update: `level` (median of the last 30%), `peak`, `peak_step`, `above_0_1` (points
/// above 0.1), `points`, `onset_step`. To the reference: `early`, `final`, `ratio`,
/// `middle_rise`, `last_rise`, `trend_z`, `onset_step`.
///
/// ## Parameters
/// At least 20 finite points; per-update KL ≥ 0.05; growth ≥ 10× and ≥ 6× noise; the last third
/// rises at least half as much as the middle third; trend z ≥ 2.
///
/// ## Likely causes
/// FM0076, FM0040, FM0192, FM0039
pub struct KlBlowup;

const MIN_POINTS: usize = 20;
const PER_UPDATE_TAIL: f64 = 0.3;
const PER_UPDATE_LIMIT: f64 = 0.05;
const SPIKE_LEVEL: f64 = 0.1;
const EDGE_FRACTION: f64 = 0.1;
const GROWTH_RATIO: f64 = 10.0;
const EARLY_FLOOR_OF_FINAL: f64 = 0.01;
const NOISE_MULTIPLE: f64 = 6.0;
const KEEPS_RISING: f64 = 0.5;
const MIN_TREND_Z: f64 = 2.0;
const ONSET_FRACTION: f64 = 0.1;
/// Name words that mark a KL as a policy's.
const POLICY_WORDS: &[&str] = &[
    "approx",
    "approxkl",
    "ref",
    "reference",
    "policy",
    "objective",
    "ppo",
    "rlhf",
    "pi",
];
/// Roles that only policy-learning runs log.
const POLICY_ROLES: &[MetricRole] = &[
    MetricRole::Reward,
    MetricRole::Entropy,
    MetricRole::ClipFraction,
    MetricRole::ValueLoss,
    MetricRole::ExplainedVariance,
    MetricRole::EpisodeLength,
];

impl Detector for KlBlowup {
    fn code(&self) -> &'static str {
        "S116"
    }

    fn name(&self) -> &'static str {
        "kl_blowup"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let policy_run = POLICY_ROLES.iter().any(|&role| input.has_usable(role, 1));
        let clipped = input.has_usable(MetricRole::ClipFraction, 1);
        input
            .with_role(MetricRole::Kl)
            .filter_map(|series| {
                let tag_words = words(series.tag);
                let named = |list: &[&str]| tag_words.iter().any(|w| list.contains(&w.as_str()));
                if !policy_run && !named(POLICY_WORDS) {
                    return None;
                }
                if named(&["approx", "approxkl"]) || clipped {
                    self.per_update(input, series)
                } else {
                    self.to_reference(input, series)
                }
            })
            .collect()
    }
}

impl KlBlowup {
    fn per_update(&self, input: &DetectorInput<'_>, series: &MetricSeries<'_>) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS {
            return None;
        }
        let n = curve.len();
        let level = median(&curve.values[n - tail_count(n, PER_UPDATE_TAIL, 3)..])?;
        if level < PER_UPDATE_LIMIT {
            return None;
        }
        let peak_index = argmax(&curve.values)?;
        let above = curve.values.iter().filter(|&&v| v > SPIKE_LEVEL).count();
        let shape = trend(&curve.steps, &curve.values);
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        // A KL that was high from the start has no onset inside the run.
        let started_low = head_level(&shape.blocks.values, EDGE_FRACTION, 1)
            .is_some_and(|v| v < PER_UPDATE_LIMIT);
        let onset_step = regime_onset_step(&shape, 0, ONSET_FRACTION)
            .filter(|_| started_low)
            .unwrap_or(first_step);
        let statement = format!(
            "{} per update sits at {} over the last 30% of the run (median; PPO's clipping keeps it under about 0.05 when updates are sound), from step {}; it peaks at {} at step {} and {} of {} updates exceed 0.1",
            series.tag,
            human::value(level),
            human::step(onset_step),
            human::value(curve.values[peak_index]),
            human::step(curve.steps[peak_index]),
            human::count(above),
            human::count(n)
        );
        let confidence = 0.6 + 0.25 * ((level / PER_UPDATE_LIMIT - 1.0) / 2.0).min(1.0);
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::KlBlowup,
                input,
                series,
                (onset_step, last_step),
            )
            .number("level", level)
            .number("peak", curve.values[peak_index])
            .number("peak_step", curve.steps[peak_index] as f64)
            .number("above_0_1", above as f64)
            .number("points", n as f64)
            .number("onset_step", onset_step as f64)
            .finish(statement, confidence),
        )
    }

    fn to_reference(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
    ) -> Option<Symptom> {
        let curve = &series.finite;
        if curve.len() < MIN_POINTS {
            return None;
        }
        let shape = trend(&curve.steps, &curve.values);
        let levels = &shape.blocks.values;
        let k = levels.len();
        let end = tail_level(levels, EDGE_FRACTION, 3)?;
        if end <= 0.0 {
            return None;
        }
        let early = head_level(levels, EDGE_FRACTION, 3)?.max(EARLY_FLOOR_OF_FINAL * end);
        if end < GROWTH_RATIO * early || end - early <= NOISE_MULTIPLE * shape.noise {
            return None;
        }
        // The levels at one third and two thirds of the run, each the median of a tenth of it.
        let window = tail_count(k, EDGE_FRACTION, 1);
        let level_at = |center: usize| {
            let start = center.saturating_sub(window / 2);
            median(&levels[start..(start + window).min(k)])
        };
        let (third, two_thirds) = (level_at(k / 3)?, level_at(2 * k / 3)?);
        let (middle_rise, last_rise) = (two_thirds - third, end - two_thirds);
        let trend_z = mann_kendall_z(&shape.raw[k / 2..]);
        if last_rise <= 0.0 || last_rise < KEEPS_RISING * middle_rise || trend_z < MIN_TREND_Z {
            return None;
        }
        let (first_step, last_step) = (curve.first_step()?, curve.last_step()?);
        let onset_step = regime_onset_step(&shape, 0, ONSET_FRACTION).unwrap_or(first_step);
        let since = if onset_step <= first_step {
            "it climbs from the first step".to_owned()
        } else {
            format!(
                "it leaves its early level at step {}",
                human::step(onset_step)
            )
        };
        let statement = format!(
            "{} grows from {} to {} by step {} ({}) and is still climbing: it rises by {} over the last third of the run after {} over the middle third; {since}",
            series.tag,
            human::value(early),
            human::value(end),
            human::step(last_step),
            human::ratio(end / early),
            human::value(last_rise),
            human::value(middle_rise),
        );
        let confidence = 0.6 + 0.05 * (trend_z - MIN_TREND_Z).clamp(0.0, 4.0);
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::KlBlowup,
                input,
                series,
                (onset_step, last_step),
            )
            .number("early", early)
            .number("final", end)
            .number("ratio", end / early)
            .number("middle_rise", middle_rise)
            .number("last_rise", last_rise)
            .number("trend_z", trend_z)
            .number("onset_step", onset_step as f64)
            .finish(statement, confidence),
        )
    }
}

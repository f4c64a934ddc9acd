use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::shape::{start_level, tail_level};
use crate::human;
use crate::stats::onset::ratio_onset_step;
use crate::stats::robust::{argmax, median};
use crate::stats::smooth::{Trend, trend};

/// ## What it detects
/// A gradient norm that grows by orders of magnitude over its early level (explosion), or
/// shrinks by orders of magnitude while the loss is still far from converged (vanishing),
/// including gradients that are exactly zero.
///
/// ## Why it matters
/// An exploding gradient norm precedes most divergences and NaNs: one oversized update throws
/// the weights out of the region where training works. A vanishing norm with a loss that no
/// longer moves means the signal does not reach the parameters: saturated activations, dead
/// units, a detached graph, or an initialisation that is too small.
///
/// ## Signature
/// Explosion: the smoothed norm climbs 100× or more above its median over the first 10% of the
/// run. Vanishing: the norm over the last 10% is 100× or more below the early level (1,000×
/// without a train loss to check), while the train loss has kept more than half of its initial
/// value; or the norm is 0 throughout.
///
/// ## Evidence reported
/// `early` (median of the first 10% of block medians), `peak`, `peak_step`, `late`,
/// `orders` (log10 of the change), `onset_step` (the first change point, by PELT on the log of
/// the block medians, from which the norm stays on its way up or down), `ten_x_step` (first
/// passing 10× the early level, for an explosion), and for vanishing `loss_start`, `loss_end`.
///
/// ## Parameters
/// At least 20 finite points; explosion at ×100; vanishing at ×1/100 (×1/1,000 with no loss);
/// the loss counts as converged once it lost half its initial value.
///
/// ## Likely causes
/// FM0006, FM0002, FM0007, FM0013, FM0028, FM0029, FM0001
pub struct GradExplosion;

const MIN_POINTS: usize = 20;
/// Fraction of the block medians that make the early and late levels.
const EDGE_FRACTION: f64 = 0.1;
const EXPLOSION_RATIO: f64 = 100.0;
const ONSET_RATIO: f64 = 10.0;
/// The onset is the first change point after which the log of the norm has moved at least
/// this share of the way to its final level.
const ONSET_FRACTION: f64 = 0.1;
const VANISHING_RATIO: f64 = 1e-2;
const VANISHING_RATIO_WITHOUT_LOSS: f64 = 1e-3;
/// A loss that kept more than this fraction of its initial value has not converged.
const UNCONVERGED_FRACTION: f64 = 0.5;
/// Gradient norms at or below this are zero for our purpose.
const ZERO_NORM: f64 = 1e-12;

/// A gradient norm that grew by orders of magnitude.
pub(crate) struct Explosion {
    pub(crate) early: f64,
    pub(crate) peak: f64,
    pub(crate) peak_step: i64,
    pub(crate) onset_step: i64,
    pub(crate) ten_x_step: i64,
}

/// The explosion in `series`, if its smoothed level rose [`EXPLOSION_RATIO`]× over its early
/// level. The divergence detector calls this too, to leave such series to this one.
pub(crate) fn explosion(series: &MetricSeries<'_>) -> Option<Explosion> {
    let shape = Shape::of(series)?;
    if shape.early <= ZERO_NORM {
        return None;
    }
    let blocks = &shape.trend.blocks;
    let peak_index = argmax(&blocks.values)?;
    let peak = blocks.values[peak_index];
    if peak < shape.early * EXPLOSION_RATIO {
        return None;
    }
    let ten_x = blocks
        .values
        .iter()
        .position(|&v| v >= shape.early * ONSET_RATIO)
        .unwrap_or(peak_index);
    let ten_x_step = blocks.start_steps[ten_x];
    // The growth starts where the norm leaves its early level, which is before it is 10× it.
    let onset_step = ratio_onset_step(&shape.trend, 0, ONSET_FRACTION)
        .filter(|&step| step <= ten_x_step)
        .unwrap_or(ten_x_step);
    Some(Explosion {
        early: shape.early,
        peak,
        peak_step: blocks.start_steps[peak_index],
        onset_step,
        ten_x_step,
    })
}

struct Shape {
    trend: Trend,
    early: f64,
    late: f64,
}

impl Shape {
    fn of(series: &MetricSeries<'_>) -> Option<Self> {
        if series.finite.len() < MIN_POINTS {
            return None;
        }
        let trend = trend(&series.finite.steps, &series.finite.values);
        let blocks = &trend.blocks;
        let edge = ((blocks.len() as f64 * EDGE_FRACTION).ceil() as usize).clamp(1, blocks.len());
        let early = median(&blocks.values[..edge])?;
        let late = median(&blocks.values[blocks.len() - edge..])?;
        Some(Self { trend, early, late })
    }
}

impl Detector for GradExplosion {
    fn code(&self) -> &'static str {
        "S110"
    }

    fn name(&self) -> &'static str {
        "grad_explosion"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        input
            .with_role(MetricRole::GradNorm)
            .filter_map(|series| match explosion(series) {
                Some(explosion) => Some(self.explosion_symptom(input, series, &explosion)),
                None => self.vanishing_symptom(input, series),
            })
            .collect()
    }
}

impl GradExplosion {
    fn explosion_symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
        found: &Explosion,
    ) -> Symptom {
        let orders = (found.peak / found.early).log10();
        let statement = format!(
            "{} grows by {} orders of magnitude, from {} early on to {} at step {}; it leaves its early level at step {} and first passes 10× it at step {}",
            series.tag,
            human::value(orders),
            human::value(found.early),
            human::value(found.peak),
            human::step(found.peak_step),
            human::step(found.onset_step),
            human::step(found.ten_x_step)
        );
        let last_step = series.finite.last_step().unwrap_or(found.peak_step);
        SymptomDraft::new(
            self,
            SymptomKind::GradExplosion,
            input,
            series,
            (found.onset_step, last_step),
        )
        .number("early", found.early)
        .number("peak", found.peak)
        .number("peak_step", found.peak_step as f64)
        .number("onset_step", found.onset_step as f64)
        .number("ten_x_step", found.ten_x_step as f64)
        .number("orders", orders)
        .finish(statement, 0.6 + 0.1 * (orders - 2.0))
    }

    fn vanishing_symptom(
        &self,
        input: &DetectorInput<'_>,
        series: &MetricSeries<'_>,
    ) -> Option<Symptom> {
        let shape = Shape::of(series)?;
        let first_step = series.finite.first_step()?;
        let last_step = series.finite.last_step()?;
        if shape
            .trend
            .blocks
            .values
            .iter()
            .all(|&v| v.abs() <= ZERO_NORM)
        {
            let statement = format!(
                "{} is 0 at every step from {} to {}: no gradient reaches the parameters",
                series.tag,
                human::step(first_step),
                human::step(last_step)
            );
            return Some(
                SymptomDraft::new(
                    self,
                    SymptomKind::GradVanishing,
                    input,
                    series,
                    (first_step, last_step),
                )
                .number("early", shape.early)
                .number("late", shape.late)
                .finish(statement, 0.9),
            );
        }
        if shape.early <= ZERO_NORM {
            return None;
        }
        let ratio = shape.late / shape.early;
        let loss = input
            .primary(MetricRole::TrainLoss)
            .filter(|s| s.finite.len() >= MIN_POINTS);
        let loss_levels = loss.and_then(|s| {
            Some((
                s,
                start_level(&s.finite.values)?,
                tail_level(&s.finite.values, EDGE_FRACTION, 3)?,
            ))
        });
        let loss_clause = match loss_levels {
            Some((loss, start, end)) => {
                if ratio > VANISHING_RATIO || start <= 0.0 || end / start < UNCONVERGED_FRACTION {
                    return None;
                }
                format!(
                    ", while {} is still at {} ({} of its initial {})",
                    loss.tag,
                    human::value(end),
                    human::percent(end / start),
                    human::value(start)
                )
            }
            None if ratio <= VANISHING_RATIO_WITHOUT_LOSS => {
                "; no train loss is logged to tell vanishing from convergence".to_owned()
            }
            None => return None,
        };
        let blocks = &shape.trend.blocks;
        let tenth = blocks
            .values
            .iter()
            .position(|&v| v <= shape.early / ONSET_RATIO)?;
        let tenth_step = blocks.start_steps[tenth];
        let onset_step = ratio_onset_step(&shape.trend, 0, ONSET_FRACTION)
            .filter(|&step| step <= tenth_step)
            .unwrap_or(tenth_step);
        let orders = -ratio.max(f64::MIN_POSITIVE).log10();
        let statement = format!(
            "{} shrinks by {} orders of magnitude, from {} early on to {} at the end of the run{loss_clause}",
            series.tag,
            human::value(orders),
            human::value(shape.early),
            human::value(shape.late),
        );
        let confidence = if loss_levels.is_some() {
            0.5 + 0.1 * orders
        } else {
            0.4
        };
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::GradVanishing,
                input,
                series,
                (onset_step, last_step),
            )
            .number("early", shape.early)
            .number("late", shape.late)
            .number("orders", orders)
            .number("onset_step", onset_step as f64)
            .number("loss_start", loss_levels.map_or(f64::NAN, |l| l.1))
            .number("loss_end", loss_levels.map_or(f64::NAN, |l| l.2))
            .finish(statement, confidence.min(0.9)),
        )
    }
}

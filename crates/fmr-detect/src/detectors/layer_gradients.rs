use fmr_core::{MetricRole, Symptom, SymptomKind};

use crate::detector::{Detector, DetectorInput, MetricSeries, SymptomDraft};
use crate::detectors::grad_explosion::{Explosion, explosion};
use crate::detectors::shape::{head_level, name_list, tail_level};
use crate::human;
use crate::stats::robust::median;

/// ## What it detects
/// Per-layer gradient norms (`grad_norm/encoder.layers.3.attn.weight`, W&B's
/// `gradients/fc1.weight`, `grad/layer3`, TensorBoard's `grads/conv1`) that explode or vanish,
/// judged across the layers: which layer's norm explodes first, and by how much it stands above
/// the others; early layers whose norms sit orders of magnitude below the late layers' (the
/// vanishing-gradient pattern of a deep stack); or layers whose norm collapses while the
/// others keep theirs. One symptom per family, naming the layers.
///
/// ## Why it matters
/// A global gradient norm says that something blew up; the layer that went first says where:
/// an attention block's logits growing, an embedding hit by rare tokens, an unnormalised
/// residual branch. Gradients that shrink layer by layer toward the input mean the early
/// layers barely learn (saturating activations, poor initialisation, no residual or
/// normalisation), and a single layer whose gradient dies has been cut off from the loss
/// (dead units, a detached branch, an accidentally frozen module).
///
/// ## Signature
/// Explosion: a layer's smoothed norm climbs 100× or more above its median over the first 10%
/// of the run (as for the global norm); the layer with the earliest onset goes first.
/// Vanishing toward the input: with layers in depth order (the numbers in their names within a
/// naming pattern, patterns in logged order, `first`/`input`/`embed` before and
/// `last`/`output`/`head` after the rest; weight norms only when weights and biases are both
/// logged), the median late-run norm of the first quarter of the layers is 100× or more below
/// that of the last quarter, and the norms rise with depth (Kendall's τ ≥ 0.5 from three layers
/// on). Collapse: a layer's late norm is 100× or more below its early norm while the median
/// layer keeps at least a tenth of its own.
///
/// ## Evidence reported
/// Explosion: `layers`, `exploding_layers`, `onset_step`, `ten_x_step`, `early`, `peak`,
/// `peak_step`, `orders`, `ratio_to_other_layers` (the first layer's peak over the median of
/// the other layers' norms at that step), `next_onset_step`. Vanishing: `layers`,
/// `first_layers_norm`, `last_layers_norm`, `orders`, `depth_tau`, `collapsed_layers`.
///
/// ## Parameters
/// At least 20 finite points per layer; explosion at ×100; vanishing at ×1/100 between the
/// first and last quarter of the layers (at least one layer each) over the last half of the
/// run, τ ≥ 0.5; collapse at ×1/100 with the median layer above ×1/10.
///
/// ## Likely causes
/// FM0006, FM0029, FM0093, FM0002, FM0007, FM0094, FM0013, FM0028
pub struct LayerGradients;

const MIN_POINTS: usize = 20;
/// The first and last layers are this share of the depth (at least one layer each).
const DEPTH_SHARE: f64 = 0.25;
const VANISHING_RATIO: f64 = 1e-2;
const MIN_DEPTH_TAU: f64 = 0.5;
/// Late norms are the median over this last share of each layer's points.
const LATE_SHARE: f64 = 0.5;
const EDGE_SHARE: f64 = 0.1;
const COLLAPSE_RATIO: f64 = 1e-2;
/// The median layer keeps at least this share of its early norm when one layer collapses.
const OTHERS_KEEP: f64 = 0.1;
/// Norms at or below this are zero: a frozen layer, not a vanishing one.
const ZERO_NORM: f64 = 1e-30;
/// Points either side of a step that give a layer's level there.
const LEVEL_POINTS: usize = 3;

impl Detector for LayerGradients {
    fn code(&self) -> &'static str {
        "S124"
    }

    fn name(&self) -> &'static str {
        "layer_gradients"
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Vec<Symptom> {
        let layers: Vec<&MetricSeries<'_>> = input
            .with_role(MetricRole::LayerGradNorm)
            .filter(|s| s.finite.len() >= MIN_POINTS)
            .collect();
        if layers.is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        found.extend(self.explosion_symptom(input, &layers));
        found.extend(self.vanishing_symptom(input, &layers));
        found
    }
}

impl LayerGradients {
    fn explosion_symptom(
        &self,
        input: &DetectorInput<'_>,
        layers: &[&MetricSeries<'_>],
    ) -> Option<Symptom> {
        let mut exploding: Vec<(&MetricSeries<'_>, Explosion)> = layers
            .iter()
            .filter_map(|s| Some((*s, explosion(s)?)))
            .collect();
        // Stable: layers with the same onset keep their logged order.
        exploding.sort_by_key(|(_, e)| (e.onset_step, e.ten_x_step));
        let ((first, found), rest) = exploding.split_first()?;
        let others: Vec<f64> = layers
            .iter()
            .filter(|s| s.tag != first.tag)
            .filter_map(|s| level_at(s, found.peak_step))
            .collect();
        let others_level = median(&others);
        let ratio_to_others = others_level
            .filter(|&level| level > ZERO_NORM)
            .map(|level| found.peak / level);
        let orders = (found.peak / found.early).log10();
        let mut statement = format!(
            "{} is the first of {} of {} layer gradient norms to explode: it leaves its early level of {} at step {} and reaches {} at step {} ({} orders of magnitude up)",
            first.tag,
            exploding.len(),
            layers.len(),
            human::value(found.early),
            human::step(found.onset_step),
            human::value(found.peak),
            human::step(found.peak_step),
            human::value(orders),
        );
        if let Some(ratio) = ratio_to_others {
            statement.push_str(&format!(
                ", {} the median of the other layers' norms then",
                human::ratio(ratio)
            ));
        }
        let next_onset = rest.first().map(|(_, e)| e.onset_step);
        match next_onset {
            Some(next) => {
                let names: Vec<&str> = rest.iter().map(|(s, _)| s.tag).collect();
                statement.push_str(&format!(
                    "; {} follow{} from step {}",
                    name_list(&names),
                    if names.len() == 1 { "s" } else { "" },
                    human::step(next)
                ));
            }
            None if layers.len() > 1 => {
                statement.push_str("; no other layer's norm explodes");
            }
            None => {}
        }
        let last_step = first.finite.last_step().unwrap_or(found.peak_step);
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::GradExplosion,
                input,
                first,
                (found.onset_step, last_step),
            )
            .number("layers", layers.len() as f64)
            .number("exploding_layers", exploding.len() as f64)
            .number("onset_step", found.onset_step as f64)
            .number("ten_x_step", found.ten_x_step as f64)
            .number("early", found.early)
            .number("peak", found.peak)
            .number("peak_step", found.peak_step as f64)
            .number("orders", orders)
            .number("ratio_to_other_layers", ratio_to_others.unwrap_or(f64::NAN))
            .number("next_onset_step", next_onset.map_or(f64::NAN, |s| s as f64))
            .finish(statement, 0.6 + 0.1 * (orders - 2.0)),
        )
    }

    fn vanishing_symptom(
        &self,
        input: &DetectorInput<'_>,
        layers: &[&MetricSeries<'_>],
    ) -> Option<Symptom> {
        let depth = depth_pattern(layers);
        let collapsed = collapsed_layers(layers);
        let worst = collapsed
            .iter()
            .min_by(|a, b| (a.late / a.early).total_cmp(&(b.late / b.early)));
        let collapse_text = worst.map(|worst| {
            let names: Vec<&str> = collapsed.iter().map(|c| c.series.tag).collect();
            let which = if names.len() == 1 {
                format!("{}'s gradient norm", names[0])
            } else {
                format!(
                    "the gradient norms of {} collapse; the worst, {},",
                    name_list(&names),
                    worst.series.tag
                )
            };
            format!(
                "{which} falls from {} to {} ({} orders of magnitude) from step {}, while the median of the {} layers keeps {} of its early norm",
                human::value(worst.early),
                human::value(worst.late),
                human::value(-(worst.late / worst.early).log10()),
                human::step(worst.half_step),
                layers.len(),
                human::percent(worst.others_kept)
            )
        });
        let (series, statement, orders, confidence, start) = match (&depth, worst) {
            (Some(pattern), _) => {
                let orders = -(pattern.first_level / pattern.last_level).log10();
                let (first_names, last_names) = (
                    pattern.first.iter().map(|s| s.tag).collect::<Vec<_>>(),
                    pattern.last.iter().map(|s| s.tag).collect::<Vec<_>>(),
                );
                let (first_verb, norm) = if first_names.len() == 1 {
                    ("gets a gradient norm of", "")
                } else {
                    ("get a median gradient norm of", "median ")
                };
                let mut statement = format!(
                    "{} {first_verb} {} over the second half of the run, {} orders of magnitude below the {norm}{} of {}: gradients shrink toward the input across {} layers",
                    name_list(&first_names),
                    human::value(pattern.first_level),
                    human::value(orders),
                    human::value(pattern.last_level),
                    name_list(&last_names),
                    pattern.layers,
                );
                if let Some(tau) = pattern.tau {
                    statement.push_str(&format!(
                        ", and the norms rise with depth (Kendall's τ {})",
                        human::value(tau)
                    ));
                }
                if let Some(text) = &collapse_text {
                    statement.push_str(&format!("; also, {text}"));
                }
                let series = *pattern.first.first()?;
                let start = series.finite.first_step()?;
                (series, statement, orders, 0.5 + 0.1 * orders, start)
            }
            (None, Some(worst)) => {
                let orders = -(worst.late / worst.early).log10();
                let statement = collapse_text?;
                (
                    worst.series,
                    statement,
                    orders,
                    0.4 + 0.1 * orders,
                    worst.half_step,
                )
            }
            (None, None) => return None,
        };
        let last_step = series.finite.last_step()?;
        Some(
            SymptomDraft::new(
                self,
                SymptomKind::GradVanishing,
                input,
                series,
                (start, last_step),
            )
            .number(
                "layers",
                depth.as_ref().map_or(layers.len(), |d| d.layers) as f64,
            )
            .number(
                "first_layers_norm",
                depth.as_ref().map_or(f64::NAN, |d| d.first_level),
            )
            .number(
                "last_layers_norm",
                depth.as_ref().map_or(f64::NAN, |d| d.last_level),
            )
            .number(
                "depth_tau",
                depth.as_ref().and_then(|d| d.tau).unwrap_or(f64::NAN),
            )
            .number("orders", orders)
            .number("collapsed_layers", collapsed.len() as f64)
            .finish(statement, confidence.min(0.9)),
        )
    }
}

/// Early layers with norms far below the late ones.
struct DepthPattern<'s, 'a> {
    layers: usize,
    /// The first and the last quarter of the layers, in depth order.
    first: Vec<&'s MetricSeries<'a>>,
    last: Vec<&'s MetricSeries<'a>>,
    first_level: f64,
    last_level: f64,
    tau: Option<f64>,
}

fn depth_pattern<'s, 'a>(layers: &[&'s MetricSeries<'a>]) -> Option<DepthPattern<'s, 'a>> {
    let compared = comparable(layers);
    let ordered: Vec<(&MetricSeries<'_>, f64)> = depth_order(&compared)
        .into_iter()
        .filter_map(|s| Some((s, tail_level(&s.finite.values, LATE_SHARE, 1)?)))
        .filter(|(_, level)| *level > ZERO_NORM)
        .collect();
    let n = ordered.len();
    if n < 2 {
        return None;
    }
    let edge = ((n as f64 * DEPTH_SHARE).floor() as usize).clamp(1, n / 2);
    let levels: Vec<f64> = ordered.iter().map(|(_, level)| *level).collect();
    let first_level = median(&levels[..edge])?;
    let last_level = median(&levels[n - edge..])?;
    if first_level > last_level * VANISHING_RATIO {
        return None;
    }
    let tau = (n >= 3).then(|| kendall_tau(&levels));
    if tau.is_some_and(|t| t < MIN_DEPTH_TAU) {
        return None;
    }
    Some(DepthPattern {
        layers: n,
        first: ordered[..edge].iter().map(|(s, _)| *s).collect(),
        last: ordered[n - edge..].iter().map(|(s, _)| *s).collect(),
        first_level,
        last_level,
        tau,
    })
}

/// The weight norms when both weights and biases are logged (a bias's norm is on another scale
/// and says less); otherwise every layer.
fn comparable<'s, 'a>(layers: &[&'s MetricSeries<'a>]) -> Vec<&'s MetricSeries<'a>> {
    let is_weight = |s: &MetricSeries<'_>| s.tag.ends_with("weight");
    let is_bias = |s: &MetricSeries<'_>| s.tag.ends_with("bias");
    if layers.iter().any(|s| is_weight(s)) && layers.iter().any(|s| is_bias(s)) {
        layers.iter().copied().filter(|s| !is_bias(s)).collect()
    } else {
        layers.to_vec()
    }
}

/// Words that put a layer before the numbered ones, and after them.
const INPUT_WORDS: &[&str] = &[
    "first",
    "input",
    "embed",
    "embedding",
    "embeddings",
    "stem",
    "bottom",
];
const OUTPUT_WORDS: &[&str] = &[
    "last",
    "output",
    "out",
    "head",
    "top",
    "classifier",
    "final",
    "logits",
];

/// The layers from the input to the output, as far as their names tell: first the layers
/// named as the input's, then the numbered layers (numbers compared as numbers within one
/// naming pattern, patterns in logged order), then the output's.
fn depth_order<'s, 'a>(layers: &[&'s MetricSeries<'a>]) -> Vec<&'s MetricSeries<'a>> {
    let pattern = |tag: &str| -> String {
        let mut out = String::new();
        let mut in_digits = false;
        for c in tag.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    out.push('#');
                }
                in_digits = true;
            } else {
                out.push(c);
                in_digits = false;
            }
        }
        out
    };
    let numbers = |tag: &str| -> Vec<u64> {
        tag.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    let place = |tag: &str| -> u8 {
        let words = crate::roles::words(tag);
        let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
        if has(INPUT_WORDS) {
            0
        } else if has(OUTPUT_WORDS) {
            2
        } else {
            1
        }
    };
    let mut patterns: Vec<String> = Vec::new();
    for series in layers {
        let p = pattern(series.tag);
        if !patterns.contains(&p) {
            patterns.push(p);
        }
    }
    let mut ordered = layers.to_vec();
    ordered.sort_by_cached_key(|s| {
        let p = pattern(s.tag);
        let rank = patterns.iter().position(|q| *q == p).unwrap_or(usize::MAX);
        (place(s.tag), rank, numbers(s.tag))
    });
    ordered
}

/// Kendall's τ of `values` against their order: 1 when they only rise, −1 when they only fall.
fn kendall_tau(values: &[f64]) -> f64 {
    let mut score = 0i64;
    let mut pairs = 0i64;
    for i in 0..values.len() {
        for j in i + 1..values.len() {
            pairs += 1;
            score += match values[j].partial_cmp(&values[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    if pairs == 0 {
        0.0
    } else {
        score as f64 / pairs as f64
    }
}

/// A layer whose norm fell by orders of magnitude while the others' did not.
struct Collapse<'s, 'a> {
    series: &'s MetricSeries<'a>,
    early: f64,
    late: f64,
    /// The median layer's late norm over its early norm.
    others_kept: f64,
    /// Where the layer first falls below the geometric middle of its early and late norms.
    half_step: i64,
}

fn collapsed_layers<'s, 'a>(layers: &[&'s MetricSeries<'a>]) -> Vec<Collapse<'s, 'a>> {
    if layers.len() < 2 {
        return Vec::new();
    }
    let levels: Vec<Option<(f64, f64)>> = layers
        .iter()
        .map(|s| {
            let values = &s.finite.values;
            Some((
                head_level(values, EDGE_SHARE, 3)?,
                tail_level(values, EDGE_SHARE, 3)?,
            ))
        })
        .collect();
    let kept: Vec<f64> = levels
        .iter()
        .flatten()
        .filter(|(early, _)| *early > ZERO_NORM)
        .map(|(early, late)| late / early)
        .collect();
    let Some(median_kept) = median(&kept) else {
        return Vec::new();
    };
    if median_kept < OTHERS_KEEP {
        // Every layer shrinks: convergence or a global vanishing, for the global norm to judge.
        return Vec::new();
    }
    layers
        .iter()
        .zip(&levels)
        .filter_map(|(series, levels)| {
            let (early, late) = (*levels)?;
            if early <= ZERO_NORM || late / early > COLLAPSE_RATIO {
                return None;
            }
            let middle = (early * late.max(ZERO_NORM)).sqrt();
            let at = series.finite.values.iter().position(|&v| v <= middle)?;
            Some(Collapse {
                series,
                early,
                late,
                others_kept: median_kept,
                half_step: series.finite.steps[at],
            })
        })
        .collect()
}

/// The median of the few finite points nearest to `step`.
fn level_at(series: &MetricSeries<'_>, step: i64) -> Option<f64> {
    let steps = &series.finite.steps;
    let at = steps.partition_point(|&s| s < step);
    let from = at.saturating_sub(LEVEL_POINTS);
    let to = (at + LEVEL_POINTS).min(steps.len());
    median(series.finite.values.get(from..to)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fmr_core::{Point, Run};

    fn run_with(layers: &[(&str, Vec<f64>)]) -> Run {
        let mut run = Run::default();
        for (tag, values) in layers {
            run.series_mut(tag).points = values
                .iter()
                .enumerate()
                .map(|(i, &value)| Point {
                    step: i as i64 * 10,
                    wall_time: None,
                    value,
                })
                .collect();
        }
        run
    }

    fn tags(run: &Run, order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| run.series[i].tag.clone()).collect()
    }

    #[test]
    fn depth_order_reads_numbers_and_ends() {
        let names = [
            "grad_norm/head.weight",
            "grad_norm/layers.10.weight",
            "grad_norm/layers.2.weight",
            "grad_norm/embed.weight",
            "grad_norm/layers.1.weight",
        ];
        let run = run_with(&names.map(|n| (n, vec![1.0; 30])));
        let input = DetectorInput::new(&run);
        let layers: Vec<&MetricSeries<'_>> = input.series.iter().collect();
        let ordered: Vec<&str> = depth_order(&layers).iter().map(|s| s.tag).collect();
        assert_eq!(
            ordered,
            tags(&run, &[3, 4, 2, 1, 0]),
            "embed, 1, 2, 10, head"
        );
    }

    #[test]
    fn kendall_tau_of_monotone_and_mixed_values() {
        assert_eq!(kendall_tau(&[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(kendall_tau(&[3.0, 2.0, 1.0]), -1.0);
        assert_eq!(kendall_tau(&[1.0, 3.0, 2.0]), 1.0 / 3.0);
        assert_eq!(kendall_tau(&[1.0]), 0.0);
    }

    #[test]
    fn biases_are_left_out_of_the_depth_comparison_when_weights_are_there() {
        let run = run_with(&[
            ("gradients/fc1.weight", vec![1e-6; 30]),
            ("gradients/fc1.bias", vec![1.0; 30]),
            ("gradients/fc2.weight", vec![1.0; 30]),
        ]);
        let input = DetectorInput::new(&run);
        let found = LayerGradients.detect(&input);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, SymptomKind::GradVanishing);
        assert_eq!(found[0].metric.as_deref(), Some("gradients/fc1.weight"));
    }

    #[test]
    fn frozen_layers_are_not_vanishing() {
        let run = run_with(&[
            ("grad_norm/layer0", vec![0.0; 30]),
            ("grad_norm/layer1", vec![0.5; 30]),
            ("grad_norm/layer2", vec![0.6; 30]),
        ]);
        let input = DetectorInput::new(&run);
        assert!(LayerGradients.detect(&input).is_empty());
    }
}

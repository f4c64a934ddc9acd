//! Where the user's description and the logs disagree.
//!
//! A user who says "the loss diverges" about a run whose loss plateaus is describing another
//! run, another metric, or a memory of the run; either way the investigation should say so
//! before it searches for the wrong failure. Two kinds of disagreement are reported, one
//! sentence each:
//! - a detector reports the opposite of what the user describes (they say it diverges, the logs
//!   show a plateau; they say it overfits, validation is better than training);
//! - the user describes something the logs rule out: NaN or infinite values in a run where the
//!   non-finite detector (S101, which reads every value of every metric) found none, or a
//!   divergence of a metric that ends well below where it started.

use fmr_core::{MetricRole, Origin, Run, Symptom, SymptomKind};

use crate::detector::{DetectorInput, MetricSeries};
use crate::detectors::shape::{start_level, tail_level};
use crate::human;

/// Described kinds and the detected kinds that contradict them, with the word for what the logs
/// show instead.
const OPPOSITES: &[(SymptomKind, SymptomKind, &str)] = &[
    (SymptomKind::Divergence, SymptomKind::Plateau, "a plateau"),
    (
        SymptomKind::Divergence,
        SymptomKind::ChanceLevel,
        "a loss stuck at chance level",
    ),
    (
        SymptomKind::Plateau,
        SymptomKind::Divergence,
        "a divergence",
    ),
    (
        SymptomKind::Plateau,
        SymptomKind::NonFinite,
        "non-finite values",
    ),
    (
        SymptomKind::SlowConvergence,
        SymptomKind::Divergence,
        "a divergence",
    ),
    (
        SymptomKind::TrainValGap,
        SymptomKind::ValBetterThanTrain,
        "validation better than training",
    ),
    (
        SymptomKind::ValBetterThanTrain,
        SymptomKind::TrainValGap,
        "a widening train/validation gap",
    ),
    (
        SymptomKind::EntropyCollapse,
        SymptomKind::EntropyStuckHigh,
        "an entropy that stays high",
    ),
    (
        SymptomKind::EntropyStuckHigh,
        SymptomKind::EntropyCollapse,
        "an entropy collapse",
    ),
    (
        SymptomKind::GradExplosion,
        SymptomKind::GradVanishing,
        "vanishing gradients",
    ),
    (
        SymptomKind::GradVanishing,
        SymptomKind::GradExplosion,
        "exploding gradients",
    ),
    (
        SymptomKind::RewardPlateau,
        SymptomKind::RewardHacking,
        "a training reward that keeps rising",
    ),
    (
        SymptomKind::DiscriminatorWins,
        SymptomKind::ModeCollapse,
        "a generator losing ground",
    ),
];

/// A curve that ends below this share of its start has not diverged.
const FELL_TO: f64 = 0.8;
const MIN_POINTS: usize = 10;

/// One sentence for each way the user's words (symptoms with [`Origin::UserText`] in
/// `described`) disagree with the symptoms the detectors found (`detected`). Uses only the
/// symptoms: a NaN the user describes conflicts with runs whose other symptoms show they were
/// read and where S101 found no non-finite value. [`conflicts_with_runs`] also reads the runs.
pub fn conflicts(described: &[Symptom], detected: &[Symptom]) -> Vec<String> {
    let mut out = Vec::new();
    for said in described.iter().filter(|s| s.origin == Origin::UserText) {
        out.extend(opposite_findings(said, detected));
        if said.kind == SymptomKind::NonFinite {
            out.extend(finite_runs_from_symptoms(said, detected));
        }
    }
    dedup(out)
}

/// [`conflicts`], plus what the runs themselves show: a NaN the user describes in a metric
/// that every run logs with finite values only, and a divergence of a metric that ends below
/// 80% of where it started in every run that logs it.
pub fn conflicts_with_runs(
    described: &[Symptom],
    detected: &[Symptom],
    runs: &[Run],
) -> Vec<String> {
    let inputs: Vec<DetectorInput<'_>> = runs.iter().map(DetectorInput::new).collect();
    let mut out = Vec::new();
    for said in described.iter().filter(|s| s.origin == Origin::UserText) {
        out.extend(opposite_findings(said, detected));
        match said.kind {
            SymptomKind::NonFinite => out.extend(finite_metrics(said, detected, &inputs)),
            SymptomKind::Divergence => out.extend(falling_metrics(said, detected, &inputs)),
            _ => {}
        }
    }
    dedup(out)
}

fn dedup(mut sentences: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    sentences.retain(|s| seen.insert(s.clone()));
    sentences
}

/// The roles a described symptom is about: its own, or the usual ones for its kind.
fn roles_of(said: &Symptom) -> &'static [MetricRole] {
    use MetricRole::*;
    if let Some(role) = said.role {
        // A one-role slice that lives as long as the vocabulary itself.
        return MetricRole::ALL
            .iter()
            .find(|r| **r == role)
            .map_or(&[], std::slice::from_ref);
    }
    match said.kind {
        SymptomKind::Divergence | SymptomKind::Plateau | SymptomKind::SlowConvergence => {
            &[TrainLoss, ValLoss]
        }
        SymptomKind::NonFinite => &[TrainLoss, ValLoss, GradNorm],
        SymptomKind::TrainValGap | SymptomKind::ValBetterThanTrain => &[ValLoss, TrainLoss],
        SymptomKind::EntropyCollapse | SymptomKind::EntropyStuckHigh => &[Entropy],
        SymptomKind::GradExplosion | SymptomKind::GradVanishing => &[GradNorm, LayerGradNorm],
        SymptomKind::RewardPlateau => &[Reward],
        SymptomKind::DiscriminatorWins => &[DLoss, GLoss],
        _ => &[],
    }
}

/// What the user said, in a few words: "train/loss diverges", "the loss goes NaN".
fn what_was_said(said: &Symptom) -> String {
    let subject = match said.role {
        Some(MetricRole::TrainLoss) => "the training loss".to_owned(),
        Some(MetricRole::ValLoss) => "the validation loss".to_owned(),
        Some(role) => format!("the {}", role.as_str().replace('_', " ")),
        None => match said.kind {
            SymptomKind::NonFinite
            | SymptomKind::Divergence
            | SymptomKind::Plateau
            | SymptomKind::SlowConvergence => "the loss".to_owned(),
            _ => "the run".to_owned(),
        },
    };
    let verb = match said.kind {
        SymptomKind::NonFinite => "goes NaN or infinite",
        SymptomKind::Divergence => "diverges",
        SymptomKind::Plateau => "is stuck",
        SymptomKind::SlowConvergence => "converges slowly",
        SymptomKind::TrainValGap => "overfits",
        SymptomKind::ValBetterThanTrain => "shows validation better than training",
        SymptomKind::EntropyCollapse => "collapses",
        SymptomKind::EntropyStuckHigh => "stays high",
        SymptomKind::GradExplosion => "explodes",
        SymptomKind::GradVanishing => "vanishes",
        SymptomKind::RewardPlateau => "does not improve",
        SymptomKind::DiscriminatorWins => "shows the discriminator winning",
        _ => "shows this",
    };
    format!("{subject} {verb}")
}

/// Detected symptoms of the opposite kind on the metric the user talks about: the most
/// confident one per opposite kind.
fn opposite_findings(said: &Symptom, detected: &[Symptom]) -> Vec<String> {
    let roles = roles_of(said);
    OPPOSITES
        .iter()
        .filter(|(kind, _, _)| *kind == said.kind)
        .filter_map(|&(_, opposite, shows)| {
            // A detected symptom of the same kind means the logs agree somewhere: no conflict.
            let agrees = detected
                .iter()
                .any(|d| d.kind == said.kind && about(d, roles));
            if agrees {
                return None;
            }
            let evidence = detected
                .iter()
                .filter(|d| d.origin == Origin::Detector && d.kind == opposite && about(d, roles))
                .max_by(|a, b| a.confidence.total_cmp(&b.confidence))?;
            Some(format!(
                "You say {}, but the logs show {shows}: {}",
                what_was_said(said),
                evidence.statement
            ))
        })
        .collect()
}

/// Whether a detected symptom is about one of `roles` (any role when `roles` is empty).
fn about(symptom: &Symptom, roles: &[MetricRole]) -> bool {
    roles.is_empty() || symptom.role.is_some_and(|r| roles.contains(&r))
}

/// Runs that were read (some detector reported on them) and where S101 found no non-finite
/// value: S101 reports every NaN or infinity of every metric, so its silence is evidence.
fn finite_runs_from_symptoms(said: &Symptom, detected: &[Symptom]) -> Option<String> {
    if detected.iter().any(|d| d.kind == SymptomKind::NonFinite) {
        return None;
    }
    let mut runs: Vec<&str> = detected
        .iter()
        .filter(|d| d.origin == Origin::Detector)
        .filter_map(|d| d.run.as_deref())
        .collect();
    runs.sort_unstable();
    runs.dedup();
    if runs.is_empty() {
        return None;
    }
    Some(format!(
        "You say {}, but no logged metric of {} has a NaN or infinite value",
        what_was_said(said),
        run_list(&runs)
    ))
}

fn run_list(runs: &[&str]) -> String {
    match runs {
        [one] => format!("run {one}"),
        _ => format!("runs {}", crate::detectors::shape::name_list(runs)),
    }
}

/// The series of `inputs` that a described symptom is about, with their run's name.
fn matching_series<'s, 'a>(
    said: &Symptom,
    inputs: &'s [DetectorInput<'a>],
) -> Vec<(&'a str, &'s MetricSeries<'a>)> {
    let roles = roles_of(said);
    inputs
        .iter()
        .flat_map(|input| {
            input
                .series
                .iter()
                .filter(|s| s.role.is_some_and(|r| roles.contains(&r)))
                .map(move |s| (input.run.name.as_str(), s))
        })
        .collect()
}

/// A NaN described in a metric that every run logging it has finite throughout.
fn finite_metrics(
    said: &Symptom,
    detected: &[Symptom],
    inputs: &[DetectorInput<'_>],
) -> Option<String> {
    if detected.iter().any(|d| d.kind == SymptomKind::NonFinite) {
        return None;
    }
    let series = matching_series(said, inputs);
    let logged: Vec<String> = series
        .iter()
        .filter(|(_, s)| !s.all.is_empty() && s.finite.len() == s.all.len())
        .map(|(run, s)| {
            format!(
                "{} in run {run} ({} points, steps {} to {})",
                s.tag,
                human::count(s.all.len()),
                human::step(s.all.first_step().unwrap_or(0)),
                human::step(s.all.last_step().unwrap_or(0))
            )
        })
        .collect();
    if logged.is_empty() || logged.len() < series.len() {
        return None;
    }
    let names: Vec<&str> = logged.iter().map(String::as_str).collect();
    Some(format!(
        "You say {}, but {} {} finite at every logged step",
        what_was_said(said),
        crate::detectors::shape::name_list(&names),
        if names.len() == 1 { "is" } else { "are" }
    ))
}

/// A divergence described in a metric that ends below 80% of its start in every run that logs
/// it, and that no detector found diverging.
fn falling_metrics(
    said: &Symptom,
    detected: &[Symptom],
    inputs: &[DetectorInput<'_>],
) -> Option<String> {
    let roles = roles_of(said);
    let diverging = [
        SymptomKind::Divergence,
        SymptomKind::NonFinite,
        SymptomKind::GradExplosion,
    ];
    if detected
        .iter()
        .any(|d| diverging.contains(&d.kind) && about(d, roles))
    {
        return None;
    }
    let series = matching_series(said, inputs);
    let falls: Vec<String> = series
        .iter()
        .filter(|(_, s)| s.finite.len() >= MIN_POINTS)
        .filter_map(|(run, s)| {
            let start = start_level(&s.finite.values)?;
            let end = tail_level(&s.finite.values, 0.1, 3)?;
            (start > 0.0 && end <= FELL_TO * start).then(|| {
                format!(
                    "{} in run {run} falls from {} to {} by step {}",
                    s.tag,
                    human::value(start),
                    human::value(end),
                    human::step(s.finite.last_step().unwrap_or(0))
                )
            })
        })
        .collect();
    if falls.is_empty() || falls.len() < series.len() {
        return None;
    }
    let names: Vec<&str> = falls.iter().map(String::as_str).collect();
    Some(format!(
        "You say {}, but {}",
        what_was_said(said),
        crate::detectors::shape::name_list(&names)
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use fmr_core::{Point, StepWindow};

    use super::*;

    fn user(kind: SymptomKind, role: Option<MetricRole>) -> Symptom {
        Symptom {
            code: "U001".into(),
            kind,
            run: None,
            metric: None,
            role,
            window: None,
            numbers: BTreeMap::new(),
            statement: "the description says it".into(),
            origin: Origin::UserText,
            confidence: 0.7,
        }
    }

    fn found(kind: SymptomKind, role: MetricRole, statement: &str) -> Symptom {
        Symptom {
            code: "S105".into(),
            kind,
            run: Some("run1".into()),
            metric: Some("train/loss".into()),
            role: Some(role),
            window: Some(StepWindow { start: 0, end: 10 }),
            numbers: BTreeMap::new(),
            statement: statement.into(),
            origin: Origin::Detector,
            confidence: 0.8,
        }
    }

    fn run(name: &str, tag: &str, values: &[f64]) -> Run {
        let mut run = Run {
            name: name.into(),
            ..Run::default()
        };
        run.series_mut(tag).points = values
            .iter()
            .enumerate()
            .map(|(i, &value)| Point {
                step: i as i64 * 10,
                wall_time: None,
                value,
            })
            .collect();
        run
    }

    #[test]
    fn diverges_in_words_plateau_in_logs() {
        let said = [user(SymptomKind::Divergence, None)];
        let plateau = found(
            SymptomKind::Plateau,
            MetricRole::TrainLoss,
            "train/loss plateaus at 2.3 from step 400 to 1,000",
        );
        assert_eq!(
            conflicts(&said, std::slice::from_ref(&plateau)),
            vec![
                "You say the loss diverges, but the logs show a plateau: train/loss plateaus at 2.3 from step 400 to 1,000"
            ]
        );
        // A divergence found as well means the logs agree somewhere.
        let divergence = found(SymptomKind::Divergence, MetricRole::TrainLoss, "diverges");
        assert!(conflicts(&said, &[plateau, divergence]).is_empty());
    }

    #[test]
    fn the_role_the_user_named_must_match() {
        let said = [user(SymptomKind::Divergence, Some(MetricRole::ValLoss))];
        let plateau = found(SymptomKind::Plateau, MetricRole::TrainLoss, "plateau");
        assert!(conflicts(&said, &[plateau]).is_empty());
    }

    #[test]
    fn nan_in_words_none_in_read_runs() {
        let said = [user(SymptomKind::NonFinite, None)];
        let plateau = found(SymptomKind::Plateau, MetricRole::TrainLoss, "plateau");
        assert_eq!(
            conflicts(&said, std::slice::from_ref(&plateau)),
            vec![
                "You say the loss goes NaN or infinite, but no logged metric of run run1 has a NaN or infinite value"
            ]
        );
        let nan = found(
            SymptomKind::NonFinite,
            MetricRole::GradNorm,
            "grad_norm is NaN",
        );
        assert!(conflicts(&said, &[plateau, nan]).is_empty());
        // Nothing detected: nothing is known about the runs.
        assert!(conflicts(&said, &[]).is_empty());
    }

    #[test]
    fn nan_in_words_finite_metric_in_the_run() {
        let said = [user(SymptomKind::NonFinite, Some(MetricRole::TrainLoss))];
        let runs = [run("a", "train/loss", &[2.0, 1.5, 1.2, 1.1])];
        assert_eq!(
            conflicts_with_runs(&said, &[], &runs),
            vec![
                "You say the training loss goes NaN or infinite, but train/loss in run a (4 points, steps 0 to 30) is finite at every logged step"
            ]
        );
        let broken = [run("b", "train/loss", &[2.0, f64::NAN])];
        assert!(conflicts_with_runs(&said, &[], &broken).is_empty());
        // A run that does not log the metric says nothing.
        let other = [run("c", "accuracy", &[0.5, 0.6])];
        assert!(conflicts_with_runs(&said, &[], &other).is_empty());
    }

    #[test]
    fn diverges_in_words_falling_loss_in_the_run() {
        let said = [user(SymptomKind::Divergence, None)];
        let values: Vec<f64> = (0..50)
            .map(|i| 2.0 * (-(i as f64) / 10.0).exp() + 0.3)
            .collect();
        let runs = [run("a", "loss", &values)];
        let found = conflicts_with_runs(&said, &[], &runs);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                == "You say the loss diverges, but loss in run a falls from 1.94 to 0.318 by step 490",
            "{found:?}"
        );
        let rising: Vec<f64> = (0..50).map(|i| 1.0 + 0.1 * i as f64).collect();
        assert!(conflicts_with_runs(&said, &[], &[run("b", "loss", &rising)]).is_empty());
    }

    #[test]
    fn detector_symptoms_in_described_are_ignored() {
        let not_user = found(SymptomKind::Divergence, MetricRole::TrainLoss, "diverges");
        let plateau = found(SymptomKind::Plateau, MetricRole::TrainLoss, "plateau");
        assert!(conflicts(&[not_user], &[plateau]).is_empty());
    }
}

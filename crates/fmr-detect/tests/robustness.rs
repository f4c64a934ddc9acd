//! Inputs no training run should produce but a log reader may: nothing, almost nothing,
//! garbage values, unsorted and repeated steps, and a very long run. None may panic, and the
//! long run must stay fast.

use std::time::{Duration, Instant};

use fmr_core::{Point, Run, Symptom};
use fmr_detect::{compare_runs, conflicts_with_runs, detect};

const TAGS: &[&str] = &[
    "train/loss",
    "val_loss",
    "grad_norm",
    "lr",
    "loss_scale",
    "train/entropy_loss",
    "accuracy",
    "val_accuracy",
    "unknown_metric",
    "Loss_D",
    "Loss_G",
    "vq/perplexity",
    "codebook_usage",
    "objective/kl",
    "train/approx_kl",
    "rollout/ep_rew_mean",
    "eval/win_rate",
    "train/value_loss",
    "train/explained_variance",
    "dead_fraction",
    "samples_per_second",
    "perf/step_time_ms",
    "memory/allocated_gb",
];

fn point(step: i64, value: f64) -> Point {
    Point {
        step,
        wall_time: None,
        value,
    }
}

/// A run in which every known role has the same values.
fn run_with(values: &[(i64, f64)]) -> Run {
    let mut run = Run {
        name: "edge".to_owned(),
        ..Run::default()
    };
    for tag in TAGS {
        run.series_mut(tag).points = values.iter().map(|&(s, v)| point(s, v)).collect();
    }
    run
}

/// A fixed, well-mixed sequence in [-1, 1].
fn jitter(i: usize) -> f64 {
    let x = (i as f64 * 12.9898).sin() * 43_758.545_3;
    2.0 * (x - x.floor()) - 1.0
}

#[test]
fn empty_inputs_give_nothing() {
    assert!(detect(&Run::default()).is_empty());
    assert!(detect(&run_with(&[])).is_empty());
}

#[test]
fn tiny_and_degenerate_series_do_not_panic() {
    let cases: Vec<Vec<(i64, f64)>> = vec![
        vec![(0, 1.0)],
        vec![(0, 1.0), (1, 2.0)],
        vec![(5, 1.0), (5, 1.0), (5, 1.0)],
        (0..100).map(|i| (i, 3.0)).collect(),
        (0..100).map(|i| (i, 0.0)).collect(),
        (0..100).map(|i| (i, -2.0 - 0.01 * i as f64)).collect(),
        (0..100).map(|i| (i, f64::NAN)).collect(),
        (0..100)
            .map(|i| {
                (
                    i,
                    if i % 2 == 0 {
                        f64::INFINITY
                    } else {
                        f64::NEG_INFINITY
                    },
                )
            })
            .collect(),
        (0..100)
            .map(|i| (i, if i % 3 == 0 { f64::MAX } else { -f64::MAX }))
            .collect(),
        (0..100)
            .map(|i| (i, f64::MIN_POSITIVE * i as f64))
            .collect(),
        (0..100)
            .map(|i| (-1000 + i, 1.0 + jitter(i as usize)))
            .collect(),
        (0..100)
            .map(|i| (i64::MAX - 100 + i, 1.0 + jitter(i as usize)))
            .collect(),
        (0..100)
            .map(|i| (i64::MIN + i, 1.0 + jitter(i as usize)))
            .collect(),
        // Steps spread over the whole i64 range: spans and progress must not overflow.
        (0..100)
            .map(|i| (i64::MIN / 100 * (100 - 2 * i), 1.0 + jitter(i as usize)))
            .collect(),
        (0..100)
            .map(|i| {
                (
                    i64::MIN / 100 * (100 - 2 * i),
                    if i > 60 {
                        f64::NAN
                    } else {
                        5.0 - 0.01 * i as f64
                    },
                )
            })
            .collect(),
    ];
    for (n, case) in cases.iter().enumerate() {
        let run = run_with(case);
        let symptoms = detect(&run);
        for s in &symptoms {
            assert!((0.0..=1.0).contains(&s.confidence), "case {n}: {s:?}");
            assert!(s.numbers.values().all(|v| v.is_finite()), "case {n}: {s:?}");
        }
        // Comparing and cross-checking degenerate runs must not panic either, and a comparison
        // must survive a JSON round trip (a NaN would be written as null and not read back).
        let other = run_with(&cases[(n + 1) % cases.len()]);
        let comparison = compare_runs(&run, &other);
        let json = serde_json::to_string(&comparison).unwrap_or_default();
        let back: Result<fmr_detect::RunComparison, _> = serde_json::from_str(&json);
        assert!(back.is_ok(), "case {n}: {json}");
        let _ = comparison.summary();
        let _ = conflicts_with_runs(&symptoms, &symptoms, &[run, other]);
    }
}

#[test]
fn all_nan_series_are_reported_as_non_finite_only() {
    let run = run_with(&(0..50).map(|i| (i * 10, f64::NAN)).collect::<Vec<_>>());
    let symptoms = detect(&run);
    assert_eq!(symptoms.len(), TAGS.len());
    assert!(symptoms.iter().all(|s| s.code == "S101"));
}

#[test]
fn unsorted_and_repeated_steps_read_like_sorted_ones() {
    let sorted: Vec<(i64, f64)> = (0..2000)
        .map(|i| {
            (
                i * 10,
                0.5 + 2.0 * (-(i as f64) / 300.0).exp() * (1.0 + 0.05 * jitter(i as usize)),
            )
        })
        .collect();
    let mut shuffled: Vec<(i64, f64)> = sorted.iter().rev().copied().collect();
    // The same steps logged twice: the later value wins, and here it is the same value.
    shuffled.extend(sorted.iter().step_by(7).copied());
    let render = |symptoms: Vec<Symptom>| {
        symptoms
            .iter()
            .map(|s| s.statement.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        render(detect(&run_with(&shuffled))),
        render(detect(&run_with(&sorted)))
    );
}

#[test]
fn the_same_run_gives_the_same_symptoms() {
    let values: Vec<(i64, f64)> = (0..3000)
        .map(|i| {
            (
                i,
                if i > 2500 {
                    f64::NAN
                } else {
                    1.0 + 0.3 * jitter(i as usize) + (i as f64 / 1000.0).powi(2)
                },
            )
        })
        .collect();
    let run = run_with(&values);
    assert_eq!(detect(&run), detect(&run));
}

#[test]
fn a_million_points_per_series_is_fast() {
    const N: usize = 1_000_000;
    let mut run = Run {
        name: "long".to_owned(),
        ..Run::default()
    };
    let steps = (0..N).map(|i| i as i64);
    run.series_mut("train/loss").points = steps
        .clone()
        .map(|s| {
            let i = s as usize;
            let spike = if i % 200_000 == 100_000 { 3.0 } else { 1.0 };
            point(
                s,
                (0.3 + 2.0 * (-(s as f64) / 100_000.0).exp()) * (1.0 + 0.05 * jitter(i)) * spike,
            )
        })
        .collect();
    run.series_mut("grad_norm").points = steps
        .clone()
        .map(|s| point(s, 1.0 + 0.1 * jitter(s as usize + 7)))
        .collect();
    run.series_mut("lr").points = steps
        .clone()
        .map(|s| point(s, 3e-4 * (1.0 - s as f64 / N as f64)))
        .collect();
    run.series_mut("val_loss").points = steps
        .step_by(1000)
        .map(|s| point(s, 0.35 + 2.0 * (-(s as f64) / 100_000.0).exp()))
        .collect();

    let started = Instant::now();
    let symptoms = detect(&run);
    let elapsed = started.elapsed();
    // Linear work is well under a second in release; unoptimised test builds are ~20× slower.
    // A quadratic step anywhere would take minutes.
    let budget = if cfg!(debug_assertions) {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(2)
    };
    assert!(
        elapsed < budget,
        "{} points took {elapsed:?}",
        3 * N + N / 1000
    );
    let spikes: Vec<&Symptom> = symptoms.iter().filter(|s| s.code == "S103").collect();
    assert_eq!(spikes.len(), 1, "{symptoms:#?}");
    assert_eq!(spikes[0].numbers.get("spikes"), Some(&5.0));
}

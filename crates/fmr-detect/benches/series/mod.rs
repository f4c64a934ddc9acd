//! The 50 metric series of the detector benchmarks: five runs of ten metrics each (a
//! supervised classifier, a PPO agent, a GAN with a VQ bottleneck, and a diverging and a
//! resumed variant), chosen so that every detector has series of its roles to read. Shared by
//! the criterion bench (`benches/detectors.rs`) and `examples/detect_bench.rs`, which writes
//! them to a file for the comparison with a Python peer (`bench/detect/run.sh`).

use fmr_core::{Point, Run};

const SERIES_PER_RUN: usize = 10;

/// A small, fast, deterministic generator (xorshift64*), so the runs are the same every time.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        bits as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// One metric: a tag and the value at progress `p` (0..1) with noise `e` (-1..1).
type Shape = (&'static str, fn(f64, f64) -> f64);

const SUPERVISED: [Shape; SERIES_PER_RUN] = [
    ("train/loss", |p, e| {
        (0.3 + 2.0 * (-8.0 * p).exp()) * (1.0 + 0.05 * e)
    }),
    ("val/loss", |p, e| {
        (0.35 + 2.0 * (-8.0 * p).exp()) * (1.0 + 0.01 * e)
    }),
    ("train/accuracy", |p, e| {
        0.1 + 0.8 * (1.0 - (-6.0 * p).exp()) + 0.02 * e
    }),
    ("val/accuracy", |p, e| {
        0.1 + 0.75 * (1.0 - (-6.0 * p).exp()) + 0.01 * e
    }),
    ("train/grad_norm", |p, e| {
        (0.8 + (-5.0 * p).exp()) * (1.0 + 0.1 * e)
    }),
    ("train/learning_rate", |p, _| {
        3e-4 * (1.0 - p).max(0.0) * (p * 50.0).min(1.0)
    }),
    ("loss_scale", |p, _| {
        65536.0 / if p > 0.5 { 2.0 } else { 1.0 }
    }),
    ("samples_per_second", |_, e| 1200.0 * (1.0 + 0.04 * e)),
    ("memory/allocated_gb", |_, e| 18.0 + 0.05 * e),
    ("perf/step_time_ms", |_, e| 120.0 * (1.0 + 0.05 * e)),
];

const PPO: [Shape; SERIES_PER_RUN] = [
    ("rollout/ep_rew_mean", |p, e| {
        20.0 + 400.0 / (1.0 + (-10.0 * (p - 0.4)).exp()) + 8.0 * e
    }),
    ("eval/mean_reward", |p, e| {
        15.0 + 420.0 / (1.0 + (-10.0 * (p - 0.42)).exp()) + 20.0 * e
    }),
    ("train/entropy_loss", |p, e| {
        -(0.45 + 0.24 * (-3.0 * p).exp()) + 0.005 * e
    }),
    ("train/approx_kl", |_, e| 0.01 * (1.0 + 0.3 * e)),
    ("train/clip_fraction", |_, e| 0.1 * (1.0 + 0.2 * e)),
    ("train/value_loss", |p, e| {
        (5.0 + 100.0 * (-4.0 * p).exp()) * (1.0 + 0.2 * e)
    }),
    ("train/explained_variance", |p, e| {
        0.9 * (1.0 - (-5.0 * p).exp()) + 0.02 * e
    }),
    ("train/loss", |p, e| {
        (1.0 + 4.0 * (-4.0 * p).exp()) * (1.0 + 0.15 * e)
    }),
    ("rollout/ep_len_mean", |p, e| {
        20.0 + 400.0 / (1.0 + (-10.0 * (p - 0.4)).exp()) + 8.0 * e
    }),
    ("time/fps", |_, e| 2400.0 * (1.0 + 0.03 * e)),
];

const GENERATIVE: [Shape; SERIES_PER_RUN] = [
    ("Loss_D", |p, e| {
        (0.45 + 0.9 * (-10.0 * p).exp()) * (1.0 + 0.25 * e)
    }),
    ("Loss_G", |p, e| {
        (2.4 + 1.5 * (-15.0 * p).exp() - 0.3 * p) * (1.0 + 0.3 * e)
    }),
    ("vq/perplexity", |p, e| {
        (40.0 + 380.0 * (1.0 - (-6.0 * p).exp())) * (1.0 + 0.04 * e)
    }),
    ("recon_loss", |p, e| {
        (0.03 + 0.2 * (-8.0 * p).exp()) * (1.0 + 0.04 * e)
    }),
    ("activations/dead_fraction", |_, e| 0.08 + 0.01 * e),
    ("codebook_usage", |p, e| {
        0.55 + 0.35 * (1.0 - (-5.0 * p).exp()) + 0.02 * e
    }),
    ("grad_norm", |_, e| 1.0 + 0.1 * e),
    ("lr", |_, _| 2e-4),
    ("gpu/memory_reserved", |_, e| 30.0 + 0.02 * e),
    ("tokens/s", |_, e| 5200.0 * (1.0 + 0.03 * e)),
];

/// A supervised run that goes wrong half way: the loss climbs, gradients explode, memory leaks.
const DIVERGING: [Shape; SERIES_PER_RUN] = [
    ("train/loss", |p, e| (0.5 + 2.0 * (-8.0 * p).exp() + 3.0 * (p - 0.5).max(0.0)) * (1.0 + 0.05 * e)),
    ("val/loss", |p, e| (0.6 + 2.0 * (-8.0 * p).exp() + 3.5 * (p - 0.5).max(0.0)) * (1.0 + 0.01 * e)),
    ("train/grad_norm", |p, e| 10f64.powf(4.0 * (p - 0.6).max(0.0)) * (1.0 + 0.1 * e)),
    ("lr", |_, _| 1e-3),
    ("loss_scale", |p, _| 65536.0 * 0.5f64.powi((40.0 * (p - 0.6).max(0.0)) as i32)),
    ("samples_per_second", |p, e| 1200.0 / (1.0 + p) * (1.0 + 0.04 * e)),
    ("memory/allocated_gb", |p, e| 12.0 + 10.0 * p + 0.05 * e),
    ("objective/kl", |p, e| (2.0 * p + 55.0 * p * p) + 0.4 * e),
    ("objective/scores", |p, e| 0.5 + 3.0 * p + 0.2 * e),
    ("eval/win_rate", |p, e| if p < 0.4 { 0.5 + 0.5 * p } else { 0.7 - 0.4 * (p - 0.4) } + 0.01 * e),
];

fn run(name: &str, shapes: &[Shape], points: usize, seed: u64) -> Run {
    let mut noise = Noise(seed);
    let mut run = Run {
        name: name.to_owned(),
        ..Run::default()
    };
    for (tag, shape) in shapes {
        run.series_mut(tag).points = (0..points)
            .map(|i| {
                let p = i as f64 / points as f64;
                Point {
                    step: i as i64,
                    wall_time: None,
                    value: shape(p, noise.next()),
                }
            })
            .collect();
    }
    run
}

/// Five runs of ten series: 50 series of `points` points.
pub fn runs(points: usize) -> Vec<Run> {
    vec![
        run("supervised", &SUPERVISED, points, 1),
        run("ppo", &PPO, points, 2),
        run("generative", &GENERATIVE, points, 3),
        run("diverging", &DIVERGING, points, 4),
        run("supervised-seed2", &SUPERVISED, points, 5),
    ]
}

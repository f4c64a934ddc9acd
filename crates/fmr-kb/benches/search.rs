//! Query latency of the knowledge-base index (issue goal: p50 under 2 ms).
//! `cargo bench -p fmr-kb` prints the median per query for each level, plus the
//! one-off cost of building the index.

use criterion::{Criterion, criterion_group, criterion_main};
use fmr_kb::{KnowledgeBase, Level};

const QUERIES: &[&str] = &[
    "loss becomes NaN after 2k steps with fp16 AMP, lr 3e-4, batch 64",
    "validation loss lower than training loss from the first epoch",
    "PPO entropy collapses and the reward stays flat",
    "VQ-VAE codebook usage drops to a handful of codes",
    "training hangs with NCCL watchdog timeout on 8 GPUs",
    "accuracy stuck at 50% on a binary classifier with a sigmoid output",
    "GAN generator produces the same image for every noise vector",
    "robot policy works in simulation but oscillates on the real hardware",
];

fn bench(c: &mut Criterion) {
    let kb = KnowledgeBase::embedded();
    c.bench_function("build index", |b| {
        b.iter(|| kb.index().expect("index builds"))
    });
    let index = kb.index().expect("index builds");
    for level in Level::ALL {
        c.bench_function(&format!("search L{} (8 queries)", level.number()), |b| {
            b.iter(|| {
                for q in QUERIES {
                    std::hint::black_box(index.search(q, level, 8).expect("search runs"));
                }
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

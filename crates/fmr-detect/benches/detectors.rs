//! All detectors over 50 metric series, at 10,000, 100,000 and 1,000,000 points per series, to
//! show that the cost grows linearly with the points.
//!
//! The 50 series (`series/mod.rs`) are five runs of ten metrics each, chosen so that every
//! detector has series of its roles to read. Run with `cargo bench -p fmr-detect`; the
//! per-series time is the total divided by 50.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fmr_detect::detect;

mod series;

use series::runs;

const SIZES: &[usize] = &[10_000, 100_000, 1_000_000];

fn all_detectors(c: &mut Criterion) {
    let mut group = c.benchmark_group("all_detectors_50_series");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for &points in SIZES {
        let data = runs(points);
        let series: usize = data.iter().map(|r| r.series.len()).sum();
        group.throughput(Throughput::Elements((series * points) as u64));
        group.measurement_time(Duration::from_secs(if points >= 1_000_000 {
            60
        } else {
            10
        }));
        group.bench_with_input(BenchmarkId::from_parameter(points), &data, |b, data| {
            b.iter(|| {
                let found: usize = data.iter().map(|run| detect(black_box(run)).len()).sum();
                black_box(found)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, all_detectors);
criterion_main!(benches);

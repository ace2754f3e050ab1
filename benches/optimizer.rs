//! `Optimizer::step` for every optimizer at 10^5, 10^6 and 10^7 parameters, single-threaded,
//! plus the 10^7 case on every available core (`OPTIMC_BENCH_THREADS` overrides the count);
//! Muon on its 4096 x 2048 matrix.
//! Throughput is in parameters per second.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

/// The thread count of the many-thread runs.
fn bench_threads() -> usize {
    std::env::var("OPTIMC_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn optimizers(c: &mut Criterion) {
    let threads = bench_threads();
    for &(name, expr) in common::OPTIMIZERS {
        let mut group = c.benchmark_group(format!("optimizer_step/{name}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for &n in common::SIZES {
            let mut runs = vec![1];
            if n == 10_000_000 && threads > 1 {
                runs.push(threads);
            }
            for t in runs {
                let mut bench = common::OptimizerBench::new(expr, n, t);
                group.throughput(Throughput::Elements(n as u64));
                group.bench_function(BenchmarkId::new(format!("threads{t}"), n), |b| {
                    b.iter(|| bench.step())
                });
            }
        }
        group.finish();
    }
}

/// Muon on issue 15's 4096 x 2048 matrix and on a 4096 x 128 one (its Newton-Schulz
/// iteration is matrix products, so the parameter counts of `optimizers` mean nothing to it):
/// one thread and every core. Ten samples of one step each: a 4096 x 2048 step takes seconds.
fn muon(c: &mut Criterion) {
    let threads = bench_threads();
    let (name, expr) = common::MUON;
    let mut group = c.benchmark_group(format!("optimizer_step/{name}"));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    let mut runs = vec![1];
    if threads > 1 {
        runs.push(threads);
    }
    for cols in [128, common::MUON_COLS] {
        let n = common::MUON_ROWS * cols;
        for &t in &runs {
            let mut bench = common::OptimizerBench::new(expr, n, t);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(
                BenchmarkId::new(
                    format!("threads{t}"),
                    format!("{}x{cols}", common::MUON_ROWS),
                ),
                |b| b.iter(|| bench.step()),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, optimizers, muon);
criterion_main!(benches);

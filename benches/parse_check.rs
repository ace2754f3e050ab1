//! Parse + check (`optimc::check_source`, what `optimc check` runs) on generated files of
//! 1,000 and 10,000 groups with long lambdas (throughput in bytes per second), and each stage
//! alone on the same files: the parse (`optimc::parse::parse`), and on the parsed file `check`
//! (the checker) and `analysis` (the numeric analysis).

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn parse_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_check");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for groups in [1_000, 10_000] {
        let source = common::large_source(groups);
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::new("groups", groups), &source, |b, s| {
            b.iter(|| {
                let (config, _) = optimc::check_source("large.optim", black_box(s));
                assert!(config.is_some());
                config
            })
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for groups in [1_000, 10_000] {
        let source = common::large_source(groups);
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::new("groups", groups), &source, |b, s| {
            // The parse is timed, not the drop of the tree it returns.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let file = optimc::parse::parse(black_box(s));
                    total += start.elapsed();
                    assert!(black_box(file).is_ok());
                }
                total
            })
        });
    }
    group.finish();
}

/// The checker and the analysis alone, on a file parsed once.
fn stages(c: &mut Criterion) {
    let mut group = c.benchmark_group("stages");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for groups in [1_000, 10_000] {
        let source = common::large_source(groups);
        let file = optimc::parse::parse(&source).expect("the benchmark file parses");
        let config = optimc::check::check(&file)
            .config
            .expect("the benchmark file checks");
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::new("check", groups), &file, |b, f| {
            b.iter(|| optimc::check::check(black_box(f)))
        });
        group.bench_with_input(BenchmarkId::new("analysis", groups), &file, |b, f| {
            b.iter(|| {
                optimc::analysis::analyze(black_box(f), &source, &config, &Default::default())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_check, parse, stages);
criterion_main!(benches);

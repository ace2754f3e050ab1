//! Parse + check (`optimc::check_source`, what `optimc check` runs) on generated files of
//! 1,000 and 10,000 groups with long lambdas (throughput in bytes per second), and each stage
//! alone on the same files: the parse (`optimc::parse::parse`), and on the parsed file `check`
//! (the checker) and `analysis` (the numeric analysis). What a stage returns is dropped
//! outside the timing, as in `bench_compare check` (and `optimc check` frees a large file's
//! tree on another thread).

mod common;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use std::hint::black_box;
use std::time::Duration;

const GROUPS: [usize; 2] = [1_000, 10_000];

/// A benchmark group with the settings every group here uses.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group
}

fn parse_check(c: &mut Criterion) {
    let mut group = group(c, "parse_check");
    for groups in GROUPS {
        let source = common::large_source(groups);
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::new("groups", groups), &source, |b, s| {
            b.iter_with_large_drop(|| {
                let (config, _) = optimc::check_source("large.optim", black_box(s));
                assert!(config.is_some());
                config
            })
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let mut group = group(c, "parse");
    for groups in GROUPS {
        let source = common::large_source(groups);
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::new("groups", groups), &source, |b, s| {
            b.iter_with_large_drop(|| {
                optimc::parse::parse(black_box(s)).expect("the benchmark file parses")
            })
        });
    }
    group.finish();
}

/// The checker and the analysis alone, on a file parsed once.
fn stages(c: &mut Criterion) {
    let mut group = group(c, "stages");
    for groups in GROUPS {
        let source = common::large_source(groups);
        let file = optimc::parse::parse(&source).expect("the benchmark file parses");
        let checked = optimc::check::check(&file);
        let config = checked.config.expect("the benchmark file checks");
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(BenchmarkId::new("check", groups), &file, |b, f| {
            b.iter_with_large_drop(|| optimc::check::check(black_box(f)))
        });
        group.bench_with_input(
            BenchmarkId::new("analysis", groups),
            &checked.sources,
            |b, sources| {
                b.iter_with_large_drop(|| {
                    optimc::analysis::analyze(
                        black_box(sources),
                        &source,
                        &config,
                        &Default::default(),
                    )
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, parse_check, parse, stages);
criterion_main!(benches);

//! Matching parameters to groups (`Optimizer::new`): 20,000 groups (exact names, literal
//! prefixes `block{i}.*`, literal suffixes `*.w{i}`, a few general patterns, then `*`) and
//! 20,000 parameter names, each matching only its own group and the catch-all. Trying every
//! group's patterns for every name took about 35 s; the issue asks for under 1 s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use optimc::optim::Optimizer;
use std::hint::black_box;
use std::time::Duration;

#[path = "workloads/group_matching.rs"]
mod workload;
use workload::{big_config, name, N};

fn group_matching(c: &mut Criterion) {
    let config = big_config();
    let names: Vec<String> = (0..N).map(name).collect();
    let params: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 1)).collect();
    let mut group = c.benchmark_group("group_matching");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("20k_groups_20k_params", |b| {
        b.iter(|| black_box(Optimizer::new(black_box(&config), black_box(&params)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, group_matching);
criterion_main!(benches);

//! Matching parameters to groups (`Optimizer::new`): 20,000 groups (exact names, literal
//! prefixes `block{i}.*`, literal suffixes `*.w{i}`, a few general patterns, then `*`) and
//! 20,000 parameter names, each matching only its own group and the catch-all. Trying every
//! group's patterns for every name took about 35 s; the issue asks for under 1 s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use optimc::config::GroupConfig;
use optimc::optim::Optimizer;
use optimc::Config;
use std::hint::black_box;
use std::time::Duration;

const N: usize = 20_000;

fn config() -> Config {
    let mut config = Config::from_source("big.optim", "optimizer = sgd(lr = 0.1)").unwrap();
    let options = config.groups[0].options;
    let group = |i: usize, params: Vec<String>| GroupConfig {
        name: format!("g{i}"),
        params,
        options,
        schedule: None,
    };
    config.groups = (0..N)
        .map(|i| {
            let params = match i % 4 {
                0 => vec![format!("block{i}.weight"), format!("block{i}.bias")],
                1 => vec![format!("block{i}.*")],
                2 => vec![format!("*.w{i}")],
                _ if i % 1000 == 3 => vec![format!("block{i}.?eight")],
                _ => vec![format!("block{i}.weight")],
            };
            group(i, params)
        })
        .chain([group(N, vec!["*".to_string()])])
        .collect();
    config
}

fn group_matching(c: &mut Criterion) {
    let config = config();
    let names: Vec<String> = (0..N)
        .map(|i| {
            if i % 4 == 2 {
                format!("block{i}.w{i}")
            } else {
                format!("block{i}.weight")
            }
        })
        .collect();
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

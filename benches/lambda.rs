//! `Lambda::eval` on the bodies of `common::LAMBDAS`, at epochs 0..1000 per iteration
//! (throughput is per evaluation).

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn lambdas(c: &mut Criterion) {
    const N: u64 = 1000;
    let mut group = c.benchmark_group("lambda_eval");
    group.throughput(Throughput::Elements(N));
    for &(name, text) in common::LAMBDAS {
        let f = common::lambda(text);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0.0;
                for e in 0..N {
                    acc += f.eval(black_box(e as f64));
                }
                acc
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lambdas);
criterion_main!(benches);

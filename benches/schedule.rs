//! `Schedule::step` for every schedule kind: each iteration runs `SCHEDULE_STEPS` steps from a
//! freshly built schedule (built outside the timing), as a training run of that many epochs
//! would; criterion's throughput is per step.

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use optimc::Schedule;
use std::hint::black_box;

fn schedules(c: &mut Criterion) {
    let mut group = c.benchmark_group("schedule_step");
    group.throughput(Throughput::Elements(common::SCHEDULE_STEPS as u64));
    let metrics: Vec<f64> = (0..common::SCHEDULE_STEPS).map(common::metric).collect();
    for &(name, expr) in common::SCHEDULES {
        let fresh = Schedule::new(&common::schedule_config(expr));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || fresh.clone(),
                |s| {
                    if s.needs_metric() {
                        for &m in &metrics {
                            s.step_with(black_box(m));
                        }
                    } else {
                        for _ in 0..common::SCHEDULE_STEPS {
                            s.step().expect("no plateau");
                        }
                    }
                    black_box(s.lrs()[0])
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, schedules);
criterion_main!(benches);

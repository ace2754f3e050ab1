#[path = "../benches/common/mod.rs"]
mod common;
use std::time::Instant;
fn main() {
    for &(name, text) in common::LAMBDAS {
        let f = common::lambda(text);
        let mut best = f64::MAX;
        for _ in 0..200 {
            let t = Instant::now();
            let mut acc = 0.0;
            for e in 0..10000 { acc += f.eval(std::hint::black_box(e as f64)); }
            std::hint::black_box(acc);
            best = best.min(t.elapsed().as_nanos() as f64 / 10000.0);
        }
        println!("lambda {name}: min {best:.2} ns");
    }
    for &(name, expr) in common::SCHEDULES {
        let config = common::schedule_config(expr);
        let fresh = optimc::Schedule::new(&config);
        let mut best = f64::MAX;
        for _ in 0..200 {
            let mut s = fresh.clone();
            let t = Instant::now();
            for e in 0..1000 { if s.needs_metric() { s.step_with(common::metric(e)) } else { s.step(); } }
            best = best.min(t.elapsed().as_nanos() as f64 / 1000.0);
            std::hint::black_box(s.lrs());
        }
        println!("{name}: min {best:.1} ns");
    }
}

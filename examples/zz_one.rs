#[path = "../benches/common/mod.rs"]
mod common;
use std::time::Instant;
fn main() {
    for &(name, expr) in common::SCHEDULES {
        let config = common::schedule_config(expr);
        let fresh = optimc::Schedule::new(&config);
        let plateau = fresh.needs_metric();
        let metrics: Vec<f64> = (0..1000).map(common::metric).collect();
        let mut best = f64::MAX;
        for _ in 0..20000 {
            let mut s = fresh.clone();
            let t = Instant::now();
            if plateau {
                for &m in &metrics {
                    s.step_with(std::hint::black_box(m))
                }
            } else {
                for _ in 0..1000 {
                    s.step();
                }
            }
            best = best.min(t.elapsed().as_nanos() as f64 / 1000.0);
            std::hint::black_box(s.lrs());
        }
        println!("{name:16} {best:6.2}");
    }
}

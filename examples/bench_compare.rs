//! optimc's side of `bench/compare.py`: times the workloads of `benches/common/mod.rs` and
//! prints one JSON object per line. Run it through `compare.py`, or by hand:
//!
//! ```text
//! cargo run --release --example bench_compare -- schedule [REPS]
//! cargo run --release --example bench_compare -- lambda [REPS]
//! cargo run --release --example bench_compare -- optimizer NAME N THREADS STEPS REPS
//! cargo run --release --example bench_compare -- stream N THREADS REPS
//! cargo run --release --example bench_compare -- check GROUPS REPS   (GROUPS and 10 x GROUPS)
//! cargo run --release --example bench_compare -- source GROUPS        (prints the file `check` times)
//! ```
//!
//! Every figure is the median over `REPS` repetitions (schedules, lambdas and STREAM also give
//! the best one), after a warm-up; each repetition times a batch of operations with one clock
//! reading before and after.

#[path = "../benches/common/mod.rs"]
mod common;

use optimc::config::OptimizerKind;
use optimc::Schedule;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| -> usize {
        args.get(i)
            .map(|s| s.parse().expect("a whole number"))
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("schedule") => schedules(num(1, 31)),
        Some("lambda") => lambdas(num(1, 31)),
        Some("optimizer") => optimizer(&args[1], num(2, 0), num(3, 1), num(4, 10), num(5, 7)),
        Some("stream") => stream(num(1, 0), num(2, 1), num(3, 7)),
        Some("check") => check(num(1, 1_000), num(2, 3)),
        Some("source") => print!("{}", common::large_source(num(1, 1_000))),
        _ => {
            eprintln!(
                "usage: bench_compare schedule|lambda|optimizer|stream|check ... (see the source)"
            );
            std::process::exit(2);
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Nanoseconds per schedule step, over runs of `SCHEDULE_STEPS` steps from a fresh schedule.
fn schedules(reps: usize) {
    for &(name, expr) in common::SCHEDULES {
        let config = common::schedule_config(expr);
        let fresh = Schedule::new(&config);
        let plateau = fresh.needs_metric();
        let metrics: Vec<f64> = (0..common::SCHEDULE_STEPS).map(common::metric).collect();
        let run = || {
            let mut s = fresh.clone();
            let t = Instant::now();
            if plateau {
                for &m in &metrics {
                    s.step_with(black_box(m));
                }
            } else {
                for _ in 0..common::SCHEDULE_STEPS {
                    s.step().expect("no plateau");
                }
            }
            let ns = t.elapsed().as_nanos() as f64;
            black_box(s.lrs());
            ns / common::SCHEDULE_STEPS as f64
        };
        for _ in 0..3 {
            run();
        }
        let times: Vec<f64> = (0..reps).map(|_| run()).collect();
        let best = times.iter().copied().fold(f64::INFINITY, f64::min);
        let per_step = median(times);
        println!(
            r#"{{"kind":"schedule","name":"{name}","ns_per_step":{per_step:.3},"best_ns_per_step":{best:.3}}}"#
        );
    }
}

/// Lambda evaluations per second, each repetition evaluating at epochs `0..1_000_000`.
fn lambdas(reps: usize) {
    const N: usize = 1_000_000;
    for &(name, text) in common::LAMBDAS {
        let f = common::lambda(text);
        let run = || {
            let t = Instant::now();
            let mut acc = 0.0;
            for e in 0..N {
                acc += f.eval(black_box(e as f64));
            }
            black_box(acc);
            t.elapsed().as_nanos() as f64 / N as f64
        };
        run();
        let times: Vec<f64> = (0..reps).map(|_| run()).collect();
        let best = times.iter().copied().fold(f64::INFINITY, f64::min);
        let ns = median(times);
        println!(
            r#"{{"kind":"lambda","name":"{name}","ns_per_eval":{ns:.3},"evals_per_sec":{:.0},"best_ns_per_eval":{best:.3}}}"#,
            1e9 / ns
        );
    }
}

/// Milliseconds per optimizer step over one parameter of `n` values.
fn optimizer(name: &str, n: usize, threads: usize, steps: usize, reps: usize) {
    let expr = common::optimizer_workload(name)
        .unwrap_or_else(|| panic!("no optimizer workload `{name}`"));
    let mut bench = common::OptimizerBench::new(expr, n, threads);
    let kind: OptimizerKind = bench.optimizer.kind();
    for _ in 0..3 {
        bench.step();
    }
    let per_step = median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..steps {
                    bench.step();
                }
                t.elapsed().as_secs_f64() / steps as f64
            })
            .collect(),
    );
    black_box(&bench.param);
    let amsgrad = bench.optimizer.hyperparams(0).amsgrad;
    let (read, written) = common::traffic(kind, amsgrad);
    let bytes = ((read + written) * 4 * n) as f64;
    println!(
        r#"{{"kind":"optimizer","name":"{name}","n":{n},"threads":{threads},"ms_per_step":{:.4},"bytes_per_step":{bytes},"gb_per_s":{:.3}}}"#,
        per_step * 1e3,
        bytes / per_step / 1e9
    );
}

/// STREAM-style bandwidth over arrays of `n` f32 values: `copy` (a = b, 8 bytes per value),
/// `triad` (a = b + s * c, 12 bytes), `update` (a = a + s * b, 12 bytes: the
/// read-modify-write pattern of an optimizer, with no write-allocate traffic left uncounted)
/// and `update3` (three arrays updated from a fourth, 28 bytes: Adam's streams).
/// Bytes are counted as STREAM counts them. Each of `threads` threads works on its own
/// contiguous piece, on threads started once. Prints the median and the best repetition (the
/// best is the bandwidth limit `compare.py` divides by: the most the machine was seen to do).
fn stream(n: usize, threads: usize, reps: usize) {
    let threads = threads.max(1);
    let per = n.div_ceil(threads);
    // Each thread allocates (and so first touches) its own piece.
    let barrier = Arc::new(Barrier::new(threads + 1));
    let kernel = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (barrier, kernel) = (Arc::clone(&barrier), Arc::clone(&kernel));
            let len = per.min(n.saturating_sub(per * t));
            std::thread::spawn(move || {
                let mut a = vec![1.0f32; len];
                let b = vec![2.0f32; len];
                let mut c = vec![0.5f32; len];
                let mut d = vec![0.25f32; len];
                loop {
                    barrier.wait();
                    let k = kernel.load(std::sync::atomic::Ordering::Acquire);
                    match k {
                        0 => copy(&mut a, &b),
                        1 => triad(&mut a, &b, &c, 3.0),
                        2 => update(&mut a, &b, 1e-7),
                        3 => update3(&b, &mut a, &mut c, &mut d, 1e-7),
                        _ => return,
                    }
                    barrier.wait();
                }
            })
        })
        .collect();
    let time = |k: usize| {
        kernel.store(k, std::sync::atomic::Ordering::Release);
        let t = Instant::now();
        barrier.wait();
        barrier.wait();
        t.elapsed().as_secs_f64()
    };
    for (k, name, bytes_per_value) in [
        (0, "copy", 8),
        (1, "triad", 12),
        (2, "update", 12),
        (3, "update3", 28),
    ] {
        for _ in 0..3 {
            time(k);
        }
        let times: Vec<f64> = (0..reps).map(|_| time(k)).collect();
        let best = times.iter().copied().fold(f64::INFINITY, f64::min);
        let secs = median(times);
        let bytes = (bytes_per_value * n) as f64;
        println!(
            r#"{{"kind":"stream","name":"{name}","n":{n},"threads":{threads},"gb_per_s":{:.3},"best_gb_per_s":{:.3}}}"#,
            bytes / secs / 1e9,
            bytes / best / 1e9
        );
    }
    kernel.store(4, std::sync::atomic::Ordering::Release);
    barrier.wait();
    for h in handles {
        h.join().expect("stream thread");
    }
}

#[inline(never)]
fn copy(a: &mut [f32], b: &[f32]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = y;
    }
    black_box(a);
}

#[inline(never)]
fn triad(a: &mut [f32], b: &[f32], c: &[f32], s: f32) {
    for ((x, &y), &z) in a.iter_mut().zip(b).zip(c) {
        *x = y + s * z;
    }
    black_box(a);
}

/// `x += s * g; y += s * g; z += s * g`: four arrays read and three written, the streams of
/// an Adam step without its arithmetic.
#[inline(never)]
fn update3(g: &[f32], x: &mut [f32], y: &mut [f32], z: &mut [f32], s: f32) {
    for (((&g, x), y), z) in g
        .iter()
        .zip(x.iter_mut())
        .zip(y.iter_mut())
        .zip(z.iter_mut())
    {
        *x += s * g;
        *y += s * g;
        *z += s * g;
    }
    black_box(x);
}

#[inline(never)]
fn update(a: &mut [f32], b: &[f32], s: f32) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x += s * y;
    }
    black_box(a);
}

/// Parse + check throughput on a generated file of `groups` groups, and on one ten times as
/// large (the linearity target).
fn check(groups: usize, reps: usize) {
    for g in [groups, groups * 10] {
        let source = common::large_source(g);
        let run = || {
            let t = Instant::now();
            let (config, diagnostics) = optimc::check_source("large.optim", black_box(&source));
            assert!(config.is_some(), "{}", diagnostics.render(false, 100));
            black_box(&config);
            t.elapsed().as_secs_f64()
        };
        run();
        let secs = median((0..reps).map(|_| run()).collect());
        println!(
            r#"{{"kind":"check","groups":{g},"bytes":{},"ms":{:.3},"mb_per_s":{:.3}}}"#,
            source.len(),
            secs * 1e3,
            source.len() as f64 / secs / 1e6
        );
    }
}

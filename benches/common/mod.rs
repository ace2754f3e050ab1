//! Workloads shared by the criterion benchmarks (`benches/*.rs`) and by the
//! `bench_compare` example that `bench/compare.py` drives: the same sources, sizes and
//! hyperparameters on both sides, so that the PyTorch comparison measures what `cargo bench`
//! measures. `bench/compare.py` spells out the PyTorch equivalent of every entry here.
#![allow(dead_code)]

use optimc::config::{Config, OptimizerKind};
use optimc::optim::{Optimizer, ParamMut};
use std::fmt::Write as _;

/// Steps of one schedule run: each measurement builds a schedule (untimed) and times this many
/// `step()` calls, as a training run of that many epochs would make.
pub const SCHEDULE_STEPS: usize = 1000;

/// Every schedule kind, as `(name, schedule expression)`, over `sgd(lr = 0.1, momentum = 0.9)`
/// with one group (PyTorch: one parameter group).
pub const SCHEDULES: &[(&str, &str)] = &[
    ("lambda", "lambda(e -> 0.95 ** e)"),
    ("multiplicative", "multiplicative(e -> 0.95)"),
    ("step", "step(step_size = 30, gamma = 0.1)"),
    ("multistep", "multistep(milestones = [30, 80, 120], gamma = 0.1)"),
    ("exponential", "exponential(gamma = 0.99)"),
    ("constant", "constant(factor = 0.5, total_iters = 5)"),
    ("linear", "linear(start_factor = 0.1, total_iters = 100)"),
    ("polynomial", "polynomial(total_iters = 1000, power = 2)"),
    ("cosine", "cosine(t_max = 1000, eta_min = 1e-5)"),
    ("cosine_restarts", "cosine_restarts(t_0 = 100, t_mult = 2)"),
    (
        "cyclic",
        "cyclic(base_lr = 0.001, max_lr = 0.1, step_size_up = 100)",
    ),
    ("one_cycle", "one_cycle(max_lr = 0.1, total_steps = 1000)"),
    ("plateau", "plateau(mode = min, factor = 0.5, patience = 5)"),
    (
        "chain",
        "chain(linear(start_factor = 0.1, total_iters = 10), exponential(gamma = 0.99))",
    ),
    (
        "sequence",
        "sequence(linear(start_factor = 0.1, total_iters = 10), cosine(t_max = 990), milestones = [10])",
    ),
];

/// The config of schedule workload `expr`.
pub fn schedule_config(expr: &str) -> Config {
    let source = format!("optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = {expr}\n");
    Config::from_source("bench.optim", &source).expect("benchmark schedules are valid")
}

/// The metric handed to `plateau` at epoch `e` (the same sequence in `compare.py`): a loss that
/// falls and then stalls in a sawtooth, so the plateau both waits and reduces.
pub fn metric(e: usize) -> f64 {
    1.0 / (1.0 + e as f64 / 10.0) + (e % 17) as f64 * 1e-3
}

/// Lambda bodies for the evaluation benchmark, as `(name, lambda)`; `simple` is the one the
/// 50 million per second target is about.
pub const LAMBDAS: &[(&str, &str)] = &[
    ("simple", "e -> min(1, (e + 1) / 10)"),
    ("power", "e -> 0.95 ** e"),
    (
        "long",
        "e -> if e < 10 then (e + 1) / 10 else 0.5 * (1 + cos(pi * (e - 10) / 990)) * 0.99 ** (e // 30) + 1e-3 * sin(e / 7)",
    ),
];

/// Compiles `text` (a lambda) through the checker, as a `.optim` file would.
pub fn lambda(text: &str) -> optimc::expr::Lambda {
    optimc::expr::Lambda::from_text(text).expect("benchmark lambdas are valid")
}

/// Optimizer workloads, as `(name, optimizer expression)`. The first four are the ones the
/// targets name; `compare.py` gives PyTorch the same hyperparameters.
pub const OPTIMIZERS: &[(&str, &str)] = &[
    ("adam", "adam(lr = 1e-3)"),
    ("adamw", "adamw(lr = 1e-3, weight_decay = 0.01)"),
    ("sgd_momentum", "sgd(lr = 0.01, momentum = 0.9)"),
    ("rmsprop", "rmsprop(lr = 0.01)"),
    ("adagrad", "adagrad(lr = 0.01)"),
    ("adadelta", "adadelta(lr = 1.0)"),
    ("adamax", "adamax(lr = 2e-3)"),
    ("nadam", "nadam(lr = 2e-3)"),
    ("radam", "radam(lr = 1e-3)"),
    ("adam_amsgrad", "adam(lr = 1e-3, amsgrad = true)"),
    // Issue 15's (Muon is `MUON`: it takes one matrix, of `MUON_ROWS` rows).
    ("rprop", "rprop(lr = 0.01)"),
    ("asgd", "asgd(lr = 0.01)"),
    ("lion", "lion(lr = 1e-4, weight_decay = 0.01)"),
    ("lion_caution", "lion(lr = 1e-4, caution = true)"),
    ("lamb", "lamb(lr = 1e-3)"),
    ("adafactor", "adafactor(lr = 0.01)"),
];

/// Muon's workload, apart from `OPTIMIZERS` because it takes only matrices: issue 15's
/// 4096 x 2048 (`MUON_ROWS` x `MUON_COLS`), as `compare.py` builds it.
pub const MUON: (&str, &str) = ("muon", "muon(lr = 0.02)");
pub const MUON_ROWS: usize = 4096;
pub const MUON_COLS: usize = 2048;

/// Every optimizer workload, `OPTIMIZERS` and `MUON`, by name.
pub fn optimizer_workload(name: &str) -> Option<&'static str> {
    OPTIMIZERS
        .iter()
        .chain([&MUON])
        .find(|(k, _)| *k == name)
        .map(|&(_, expr)| expr)
}

/// The shape a workload registers its `n` values with: Adafactor factors a matrix (rows of
/// 1,000, as `compare.py` would build it), Muon takes a matrix of `MUON_ROWS` rows, the others
/// see a vector.
pub fn shape_of(expr: &str, n: usize) -> Vec<usize> {
    if expr.starts_with("adafactor") && n.is_multiple_of(1000) {
        vec![n / 1000, 1000]
    } else if expr.starts_with("muon") && n.is_multiple_of(MUON_ROWS) {
        vec![MUON_ROWS, n / MUON_ROWS]
    } else {
        vec![n]
    }
}

/// Parameter counts of the optimizer benchmarks.
pub const SIZES: &[usize] = &[100_000, 1_000_000, 10_000_000];

/// f32 buffers an optimizer step reads and writes per parameter value, as
/// `(read, written)`, counting the parameter, its gradient and the state buffers of the
/// workload's configuration (what must cross the memory bus when nothing fits in cache).
pub fn traffic(kind: OptimizerKind, amsgrad: bool) -> (usize, usize) {
    use OptimizerKind::*;
    match kind {
        // ... and max_exp_avg_sq read and written.
        Adam | AdamW if amsgrad => (5, 4),
        // p, g, buf read; p, buf written.
        Sgd => (3, 2),
        // p, g, m, v read; p, m, v written.
        Adam | AdamW | Adamax | NAdam | RAdam | Adadelta => (4, 3),
        // p, g, square_avg read; p, square_avg written.
        RmsProp | Adagrad => (3, 2),
        // p, g, prev, step_size read; p, prev, step_size written.
        Rprop => (4, 3),
        // p, g, ax read; p, ax written (Lion: exp_avg for ax; Muon: momentum_buffer, plus the
        // Newton-Schulz products, which are not memory-bound).
        Asgd | Lion | Muon => (3, 2),
        // Three passes (moments; norms; update), each reading p or g and both moments.
        Lamb => (11, 3),
        // Four passes over p or g (rms(p); moments; rms(update); update).
        Adafactor => (5, 1),
    }
}

/// One optimizer workload of `n` values: the optimizer, a parameter and a gradient.
pub struct OptimizerBench {
    pub optimizer: Optimizer,
    pub param: Vec<f32>,
    pub grad: Vec<f32>,
}

impl OptimizerBench {
    /// Builds workload `expr` over one parameter `w` of `n` values; parameter and gradient are
    /// filled with the same deterministic values as in `compare.py`. One step is taken, so that
    /// lazily created buffers (SGD's momentum) exist before timing.
    pub fn new(expr: &str, n: usize, threads: usize) -> OptimizerBench {
        let source = format!("optimizer = {expr}\n");
        let config = Config::from_source("bench.optim", &source).expect("valid optimizer");
        let shape = shape_of(expr, n);
        let mut optimizer =
            Optimizer::with_shapes(&config, &[("w", &shape)]).expect("one group matches");
        optimizer.set_threads(threads);
        let param: Vec<f32> = (0..n).map(|i| fill(i, 0.5)).collect();
        let grad: Vec<f32> = (0..n).map(|i| fill(i, 1e-2)).collect();
        let mut bench = OptimizerBench {
            optimizer,
            param,
            grad,
        };
        bench.step();
        bench
    }

    /// One `optimizer.step()`.
    pub fn step(&mut self) {
        let mut params = [ParamMut::new(&mut self.param, &self.grad)];
        self.optimizer.step(&mut params).expect("sizes match");
    }
}

/// `scale * sin(i)`-like deterministic values in `[-scale, scale]`, cheap to compute in both
/// languages: `scale * ((i * 7919) % 2001 - 1000) / 1000`.
pub fn fill(i: usize, scale: f32) -> f32 {
    scale * (((i * 7919) % 2001) as f32 - 1000.0) / 1000.0
}

/// A large generated `.optim` file: `groups` parameter groups, each with its own options and a
/// schedule built from a long lambda (every group's lambda differs, so nothing is shared).
pub fn large_source(groups: usize) -> String {
    let mut s = String::with_capacity(groups * 400);
    s.push_str("# generated by benches/common/mod.rs: large_source\n");
    s.push_str("let peak = 3e-4\nlet warmup = 100\n");
    s.push_str("optimizer = adamw(lr = peak, betas = (0.9, 0.95), weight_decay = 0.1)\n\n");
    for g in 0..groups {
        let _ = writeln!(
            s,
            "group layer{g} {{\n  params = [\"model.layer{g}.*\", \"aux.layer{g}.bias\"]\n  lr = peak / {div}\n  weight_decay = {wd}\n  schedule = lambda(epoch -> if epoch < warmup then (epoch + 1) / warmup else 0.5 * (1 + cos(pi * (epoch - warmup) / {t})) * {gamma} ** (epoch // {k}) + min(1e-3, max(0, sin(epoch / {k}) * 1e-4)))\n}}",
            div = 1.0 + g as f64 / 100.0,
            wd = (g % 10) as f64 / 100.0,
            t = 1000 + g,
            gamma = 0.9 + (g % 9) as f64 / 100.0,
            k = 10 + g % 7,
        );
    }
    s.push_str("\ngroup rest { params = \"*\" }\n");
    s
}

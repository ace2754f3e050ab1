//! The library schedules that set the lr itself rather than a factor of the initial lr:
//! fairseq's `inverse_sqrt` and nanoGPT's `get_lr` (their training loops write one lr into
//! every group), and timm's schedulers (an absolute `lr_min` and `warmup_lr_init` beside each
//! group's base lr).
//!
//! A `LambdaLR` factor cannot reproduce them bit for bit: `lr_min + 0.5 * (base - lr_min) * w`
//! is not `base * f` for any `f` in floating point. So a named rule gives, per step, an
//! [`LrAt`]: what depends only on the step, computed once; [`LrAt::lr`] then writes each
//! group's lr from that group's initial lr with the library's own expression, in its
//! evaluation order. The factor kinds of `named.rs` are [`LrAt::Factor`] (`base * factor`, the
//! same multiplication `LambdaLR` makes).
//!
//! For `export --to pytorch`, [`PyRule::Lr`] is a Python function of `(step, base_lr)` run by
//! a small `LRScheduler` subclass in the snippet (`LambdaLR` would multiply by the base lr).

use super::named::{
    FairseqInverseSqrt, NanogptCosine, TimmCosine, TimmDecayFn, TimmPoly, TimmStableFn, TimmStep,
    TimmWsd,
};
use crate::schedule::Word;
use std::f64::consts::PI;
use std::fmt::Write as _;

/// A named schedule's lrs at one step (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrAt {
    /// `LambdaLR`: the initial lr times this factor.
    Factor(f64),
    /// This lr in every group, whatever its initial lr.
    Lr(f64),
    /// `start + t * ((initial - start) / steps)`: a linear warmup from an absolute lr, as timm
    /// (`warmup_lr_init + t * s`, `s = (v - warmup_lr_init) / warmup_t`) and fairseq
    /// (`warmup_init_lr + num_updates * lr_step`) write it.
    Warmup { start: f64, t: f64, steps: f64 },
    /// `floor + (initial - floor) * weight`: nanoGPT's `min_lr + coeff * (learning_rate -
    /// min_lr)` (a product is the same whichever operand comes first).
    Toward { floor: f64, weight: f64 },
    /// `initial * a * b`, left to right: fairseq's `decay_factor * num_updates ** -0.5` with
    /// `decay_factor = lr * warmup_updates ** 0.5`.
    Product { a: f64, b: f64 },
    /// `initial * a / b`, left to right: nanoGPT's `learning_rate * (it + 1) / (warmup_iters + 1)`.
    Ratio { a: f64, b: f64 },
    /// timm's cosine: `floor + 0.5 * (initial * gamma - floor) * wave` (`lr_max = v * gamma`,
    /// `gamma = cycle_decay ** i`, `wave = 1 + cos(...)`).
    Cosine { floor: f64, gamma: f64, wave: f64 },
    /// timm's polynomial: `floor + (initial * gamma - floor) * weight`.
    Poly { floor: f64, gamma: f64, weight: f64 },
    /// timm's warmup-stable-decay: `s = max(initial * stable, floor)`, then with a decay
    /// factor `floor + (s - floor) * decay`.
    Stable {
        floor: f64,
        stable: f64,
        decay: Option<f64>,
    },
}

impl LrAt {
    /// The lr of a group whose initial lr is `initial`.
    #[inline]
    pub fn lr(self, initial: f64) -> f64 {
        match self {
            LrAt::Factor(f) => initial * f,
            LrAt::Lr(lr) => lr,
            LrAt::Warmup { start, t, steps } => start + t * ((initial - start) / steps),
            LrAt::Toward { floor, weight } => floor + weight * (initial - floor),
            LrAt::Product { a, b } => initial * a * b,
            LrAt::Ratio { a, b } => initial * a / b,
            LrAt::Cosine { floor, gamma, wave } => floor + 0.5 * (initial * gamma - floor) * wave,
            LrAt::Poly {
                floor,
                gamma,
                weight,
            } => floor + (initial * gamma - floor) * weight,
            LrAt::Stable {
                floor,
                stable,
                decay,
            } => {
                // Python's `max(a, b)`: `b` only when it is greater.
                let lr = initial * stable;
                let lr = if floor > lr { floor } else { lr };
                match decay {
                    Some(decay) => floor + (lr - floor) * decay,
                    None => lr,
                }
            }
        }
    }

    /// The lr of every group when the library gives one lr (`Some(lr)`), or each group's from
    /// its own initial lr.
    fn given(self, lr: Option<f64>) -> LrAt {
        match lr {
            Some(lr) => LrAt::Lr(self.lr(lr)),
            None => self,
        }
    }
}

/// A named schedule as Python, for `export --to pytorch`.
#[derive(Clone, Debug, PartialEq)]
pub enum PyRule {
    /// A `lambda step: ...` giving `LambdaLR`'s factor (needs `import math`).
    Factor(String),
    /// The body (indented four spaces) of a function of `(step, base_lr)` returning the lr
    /// itself (needs `import math`).
    Lr(String),
}

/// `base_lr` in Python, or the lr the schedule gives every group.
fn py_lr(lr: Option<f64>) -> String {
    lr.map_or_else(|| "base_lr".to_string(), |v| format!("{v:?}"))
}

impl FairseqInverseSqrt {
    /// `warmup_init_lr` once fairseq resolved its default (-1: 0 with a warmup).
    fn warmup_start(&self) -> f64 {
        if self.warmup_init_lr < 0.0 {
            0.0
        } else {
            self.warmup_init_lr
        }
    }

    /// `InverseSquareRootSchedule.step_update(num_updates)` (fairseq's trainer calls
    /// `step_update(0)` right after building it, then once per update).
    pub fn at(&self, step: i64) -> LrAt {
        let warmup = self.warmup_updates as f64;
        let at = if step < self.warmup_updates as i64 {
            LrAt::Warmup {
                start: self.warmup_start(),
                t: step as f64,
                steps: warmup,
            }
        } else {
            LrAt::Product {
                a: warmup.powf(0.5),
                b: (step as f64).powf(-0.5),
            }
        };
        at.given(self.lr)
    }

    pub fn python_rule(&self) -> PyRule {
        let (w, start, lr) = (self.warmup_updates, self.warmup_start(), py_lr(self.lr));
        PyRule::Lr(format!(
            "    # fairseq InverseSquareRootSchedule.step_update(step)\n    \
             if step < {w}:\n        \
             return {start:?} + step * (({lr} - {start:?}) / {w})\n    \
             return {lr} * {w} ** 0.5 * step ** -0.5\n"
        ))
    }
}

impl NanogptCosine {
    /// nanoGPT's `get_lr(it)`.
    pub fn at(&self, step: i64) -> LrAt {
        let (warmup, decay) = (self.warmup_iters as i64, self.lr_decay_iters as i64);
        let at = if step < warmup {
            LrAt::Ratio {
                a: (step + 1) as f64,
                b: (warmup + 1) as f64,
            }
        } else if step > decay {
            LrAt::Lr(self.min_lr)
        } else {
            let decay_ratio = (step - warmup) as f64 / (decay - warmup) as f64;
            LrAt::Toward {
                floor: self.min_lr,
                weight: 0.5 * (1.0 + (PI * decay_ratio).cos()),
            }
        };
        at.given(self.learning_rate)
    }

    pub fn python_rule(&self) -> PyRule {
        let (w, d, m) = (self.warmup_iters, self.lr_decay_iters, self.min_lr);
        let lr = py_lr(self.learning_rate);
        PyRule::Lr(format!(
            "    # nanoGPT train.py get_lr(it)\n    \
             if step < {w}:\n        \
             return {lr} * (step + 1) / ({w} + 1)\n    \
             if step > {d}:\n        \
             return {m:?}\n    \
             decay_ratio = (step - {w}) / ({d} - {w})\n    \
             coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))\n    \
             return {m:?} + coeff * ({lr} - {m:?})\n"
        ))
    }
}

// ----- timm (`timm.scheduler`): every `_get_lr(t)`, and the constructor's lrs at step 0 -----

/// timm's warmup (`warmup_lr_init + t * s`, `s = (v - warmup_lr_init) / warmup_t`), or the lr
/// its constructor wrote at step 0 (`update_groups(base_values)`, then `warmup_lr_init` when
/// there is a warmup); `None` past the warmup.
fn timm_warmup(step: i64, warmup_t: u64, warmup_lr_init: f64) -> Option<LrAt> {
    if step <= 0 {
        return Some(if warmup_t == 0 {
            LrAt::Factor(1.0)
        } else {
            LrAt::Lr(warmup_lr_init)
        });
    }
    (step < warmup_t as i64).then_some(LrAt::Warmup {
        start: warmup_lr_init,
        t: step as f64,
        steps: warmup_t as f64,
    })
}

/// Where timm's cycles stand at `t`: the cycle index `i`, its length `t_i` and the time into
/// it `t_curr` (`CosineLRScheduler._get_lr`, shared by `PolyLRScheduler`). With `cycle_mul`
/// other than 1 the index is `floor(log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))` of
/// floats, as there; where that logarithm's argument is not positive (shrinking cycles summed
/// past their limit, where timm raises `ValueError`), infinitely many cycles have passed: `i`
/// is infinite and the lr is `lr_min`.
fn timm_cycle(t: i64, t_initial: u64, cycle_mul: f64) -> (f64, f64, f64) {
    if cycle_mul != 1.0 {
        let x = 1.0 - t as f64 / t_initial as f64 * (1.0 - cycle_mul);
        if x.is_nan() || x <= 0.0 {
            return (f64::INFINITY, f64::NAN, f64::NAN);
        }
        // CPython's `math.log(x, base)` is `log(x) / log(base)`.
        let i = (x.ln() / cycle_mul.ln()).floor();
        let t_i = cycle_mul.powf(i) * t_initial as f64;
        let t_curr = t as f64 - (1.0 - cycle_mul.powf(i)) / (1.0 - cycle_mul) * t_initial as f64;
        (i, t_i, t_curr)
    } else {
        // Python ints: `t // t_initial` and `t - t_initial * i` are exact.
        let t_initial = t_initial as i64;
        let i = t.div_euclid(t_initial);
        (i as f64, t_initial as f64, (t - t_initial * i) as f64)
    }
}

/// The cycle of `timm_cosine`/`timm_poly` at `step` after the warmup: `(gamma, t_curr ** k /
/// t_i ** k)`, or `None` past `cycle_limit` cycles (the lr is then `lr_min`).
#[allow(clippy::too_many_arguments)]
fn timm_cycle_at(
    step: i64,
    t_initial: u64,
    cycle_mul: f64,
    cycle_decay: f64,
    cycle_limit: u64,
    warmup_t: u64,
    warmup_prefix: bool,
    k: f64,
) -> Option<(f64, f64, f64)> {
    let t = if warmup_prefix {
        step - warmup_t as i64
    } else {
        step
    };
    let (i, t_i, t_curr) = timm_cycle(t, t_initial, cycle_mul);
    // `i < cycle_limit`; an infinite `i` is past every limit.
    if i.is_nan() || i >= cycle_limit as f64 {
        return None;
    }
    Some((cycle_decay.powf(i), t_curr.powf(k), t_i.powf(k)))
}

impl TimmCosine {
    /// `CosineLRScheduler._get_lr(t)` (its constructor's lrs at step 0).
    pub fn at(&self, step: i64) -> LrAt {
        if let Some(warmup) = timm_warmup(step, self.warmup_t, self.warmup_lr_init) {
            return warmup;
        }
        match timm_cycle_at(
            step,
            self.t_initial,
            self.cycle_mul,
            self.cycle_decay,
            self.cycle_limit,
            self.warmup_t,
            self.warmup_prefix,
            self.k_decay,
        ) {
            // `math.pi * t_curr ** k / t_i ** k`, left to right.
            Some((gamma, t_curr_k, t_i_k)) => LrAt::Cosine {
                floor: self.lr_min,
                gamma,
                wave: 1.0 + (PI * t_curr_k / t_i_k).cos(),
            },
            None => LrAt::Lr(self.lr_min),
        }
    }

    pub fn python_rule(&self) -> PyRule {
        let mut out = timm_header(
            "CosineLRScheduler",
            &[
                ("t_initial", self.t_initial.to_string()),
                ("lr_min", format!("{:?}", self.lr_min)),
                ("cycle_mul", format!("{:?}", self.cycle_mul)),
                ("cycle_decay", format!("{:?}", self.cycle_decay)),
                ("cycle_limit", self.cycle_limit.to_string()),
                ("warmup_t", self.warmup_t.to_string()),
                ("warmup_lr_init", format!("{:?}", self.warmup_lr_init)),
                ("warmup_prefix", py_bool(self.warmup_prefix)),
                ("k_decay", format!("{:?}", self.k_decay)),
            ],
        );
        timm_warmup_python(&mut out, self.warmup_t, self.warmup_lr_init);
        timm_cycles_python(
            &mut out,
            (self.t_initial, self.cycle_mul, self.cycle_limit),
            (self.warmup_t, self.warmup_prefix),
            self.lr_min,
        );
        let _ = writeln!(
            out,
            "    lr_max = base_lr * {d:?} ** i\n    \
                 return {m:?} + 0.5 * (lr_max - {m:?}) * (1 + math.cos(math.pi * t_curr ** {k:?} / t_i ** {k:?}))",
            d = self.cycle_decay,
            m = self.lr_min,
            k = self.k_decay,
        );
        PyRule::Lr(out)
    }
}

impl TimmPoly {
    /// `PolyLRScheduler._get_lr(t)` (its constructor's lrs at step 0).
    pub fn at(&self, step: i64) -> LrAt {
        if let Some(warmup) = timm_warmup(step, self.warmup_t, self.warmup_lr_init) {
            return warmup;
        }
        match timm_cycle_at(
            step,
            self.t_initial,
            self.cycle_mul,
            self.cycle_decay,
            self.cycle_limit,
            self.warmup_t,
            self.warmup_prefix,
            self.k_decay,
        ) {
            Some((gamma, t_curr_k, t_i_k)) => LrAt::Poly {
                floor: self.lr_min,
                gamma,
                weight: (1.0 - t_curr_k / t_i_k).powf(self.power),
            },
            None => LrAt::Lr(self.lr_min),
        }
    }

    pub fn python_rule(&self) -> PyRule {
        let mut out = timm_header(
            "PolyLRScheduler",
            &[
                ("t_initial", self.t_initial.to_string()),
                ("power", format!("{:?}", self.power)),
                ("lr_min", format!("{:?}", self.lr_min)),
                ("cycle_mul", format!("{:?}", self.cycle_mul)),
                ("cycle_decay", format!("{:?}", self.cycle_decay)),
                ("cycle_limit", self.cycle_limit.to_string()),
                ("warmup_t", self.warmup_t.to_string()),
                ("warmup_lr_init", format!("{:?}", self.warmup_lr_init)),
                ("warmup_prefix", py_bool(self.warmup_prefix)),
                ("k_decay", format!("{:?}", self.k_decay)),
            ],
        );
        timm_warmup_python(&mut out, self.warmup_t, self.warmup_lr_init);
        timm_cycles_python(
            &mut out,
            (self.t_initial, self.cycle_mul, self.cycle_limit),
            (self.warmup_t, self.warmup_prefix),
            self.lr_min,
        );
        let _ = writeln!(
            out,
            "    lr_max = base_lr * {d:?} ** i\n    \
                 return {m:?} + (lr_max - {m:?}) * (1 - t_curr ** {k:?} / t_i ** {k:?}) ** {p:?}",
            d = self.cycle_decay,
            m = self.lr_min,
            k = self.k_decay,
            p = self.power,
        );
        PyRule::Lr(out)
    }
}

/// The first comment of a timm function: the class and the call it stands for (with timm
/// installed, `timm.scheduler.Class(optimizer, ...)` stepped with `step(epoch)` or
/// `step_update(num_updates)` after each epoch or update gives the same lrs).
fn timm_header(class: &str, args: &[(&str, String)]) -> String {
    let args: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "    # timm.scheduler.{class}(optimizer, {})._get_lr(step)\n    \
         # (at step 0 the lrs its constructor writes)\n",
        args.join(", ")
    )
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// timm's warmup lines of a `(step, base_lr)` function.
fn timm_warmup_python(out: &mut String, w: u64, init: f64) {
    if w == 0 {
        out.push_str("    if step == 0:\n        return base_lr\n");
    } else {
        let _ = write!(
            out,
            "    if step == 0:\n        return {init:?}\n    \
             if step < {w}:\n        return {init:?} + step * ((base_lr - {init:?}) / {w})\n"
        );
    }
}

/// The Python of timm's cycle index, up to `i`, `t_i` and `t_curr` (the lines `timm_cosine`
/// and `timm_poly` share).
fn timm_cycles_python(
    out: &mut String,
    (t_initial, m, limit): (u64, f64, u64),
    (w, prefix): (u64, bool),
    lr_min: f64,
) {
    if prefix {
        let _ = writeln!(out, "    t = step - {w}");
    } else {
        out.push_str("    t = step\n");
    }
    if m != 1.0 {
        let _ = write!(
            out,
            "    x = 1 - t / {t_initial} * (1 - {m:?})\n    \
             if x <= 0:  # past every cycle (timm raises ValueError)\n        \
             return {lr_min:?}\n    \
             i = math.floor(math.log(x, {m:?}))\n    \
             t_i = {m:?} ** i * {t_initial}\n    \
             t_curr = t - (1 - {m:?} ** i) / (1 - {m:?}) * {t_initial}\n"
        );
    } else {
        let _ = write!(
            out,
            "    i = t // {t_initial}\n    t_i = {t_initial}\n    t_curr = t - ({t_initial} * i)\n"
        );
    }
    let _ = writeln!(out, "    if i >= {limit}:\n        return {lr_min:?}");
}

/// Python's `a // b` on floats (`float_floor_div`: `fmod`, then the quotient rounded as
/// CPython rounds it), for timm's `t // decay_t` with a float `decay_t`.
fn py_float_floordiv(a: f64, b: f64) -> f64 {
    let rem = a % b;
    let mut div = (a - rem) / b;
    if rem != 0.0 && ((b < 0.0) != (rem < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

impl TimmStep {
    /// `StepLRScheduler._get_lr(t)` (its constructor's lrs at step 0): `v * (decay_rate **
    /// (t // decay_t))`, a factor of the group's lr.
    pub fn at(&self, step: i64) -> LrAt {
        if let Some(warmup) = timm_warmup(step, self.warmup_t, self.warmup_lr_init) {
            return warmup;
        }
        let t = if self.warmup_prefix {
            step - self.warmup_t as i64
        } else {
            step
        };
        LrAt::Factor(
            self.decay_rate
                .powf(py_float_floordiv(t as f64, self.decay_t)),
        )
    }

    pub fn python_rule(&self) -> PyRule {
        let w = self.warmup_t;
        let mut out = timm_header(
            "StepLRScheduler",
            &[
                ("decay_t", format!("{:?}", self.decay_t)),
                ("decay_rate", format!("{:?}", self.decay_rate)),
                ("warmup_t", w.to_string()),
                ("warmup_lr_init", format!("{:?}", self.warmup_lr_init)),
                ("warmup_prefix", py_bool(self.warmup_prefix)),
            ],
        );
        timm_warmup_python(&mut out, w, self.warmup_lr_init);
        let t = if self.warmup_prefix {
            format!("(step - {w})")
        } else {
            "step".into()
        };
        let _ = writeln!(
            out,
            "    return base_lr * ({r:?} ** ({t} // {d:?}))",
            r = self.decay_rate,
            d = self.decay_t
        );
        PyRule::Lr(out)
    }
}

impl TimmWsd {
    /// The stable phase's factor at `t_s` steps after the warmup (`_stable`).
    fn stable(&self, t_s: i64) -> f64 {
        let power = match self.stable_fn {
            TimmStableFn::Constant => return 1.0,
            TimmStableFn::Rsqrt => 0.5,
            TimmStableFn::Power => self.stable_power,
        };
        (1.0 + t_s as f64 / self.timescale()).powf(-power)
    }

    /// `stable_timescale`, `warmup_t` by default.
    fn timescale(&self) -> f64 {
        self.stable_timescale.unwrap_or(self.warmup_t as f64)
    }

    /// The decay's factor at progress `frac` (`_decay`).
    fn decay(&self, frac: f64) -> f64 {
        match self.decay_fn {
            TimmDecayFn::Linear => 1.0 - frac,
            TimmDecayFn::OneMinusSqrt => 1.0 - frac.sqrt(),
            TimmDecayFn::Cosine => 0.5 * (1.0 + (PI * frac).cos()),
            TimmDecayFn::Power => 1.0 - frac.powf(self.decay_power),
            TimmDecayFn::Exp => {
                let r = self.decay_ratio;
                (r.powf(frac) - r) / (1.0 - r)
            }
        }
    }

    /// `WSDLRScheduler._get_lr(t)` (its constructor's lrs at step 0).
    pub fn at(&self, step: i64) -> LrAt {
        if let Some(warmup) = timm_warmup(step, self.warmup_t, self.warmup_lr_init) {
            return warmup;
        }
        let t_s = step - self.warmup_t as i64;
        let t_decay = t_s - (self.t_initial as i64 - self.decay_t as i64);
        let decay = (t_decay > 0).then(|| {
            // Python's `min(t_decay / decay_t, 1.)`.
            let frac = t_decay as f64 / self.decay_t as f64;
            self.decay(if 1.0 < frac { 1.0 } else { frac })
        });
        LrAt::Stable {
            floor: self.lr_min,
            stable: self.stable(t_s),
            decay,
        }
    }

    pub fn python_rule(&self) -> PyRule {
        let (w, m) = (self.warmup_t, self.lr_min);
        let mut out = timm_header(
            "WSDLRScheduler",
            &[
                ("t_initial", self.t_initial.to_string()),
                ("decay_t", self.decay_t.to_string()),
                ("lr_min", format!("{m:?}")),
                (
                    "stable_fn",
                    format!("{:?}", TimmStableFn::NAMES[self.stable_fn.index()]),
                ),
                ("stable_timescale", format!("{:?}", self.timescale())),
                ("stable_power", format!("{:?}", self.stable_power)),
                ("decay_fn", format!("{:?}", self.decay_fn.timm_name())),
                ("decay_power", format!("{:?}", self.decay_power)),
                ("decay_ratio", format!("{:?}", self.decay_ratio)),
                ("warmup_t", w.to_string()),
                ("warmup_lr_init", format!("{:?}", self.warmup_lr_init)),
            ],
        );
        timm_warmup_python(&mut out, w, self.warmup_lr_init);
        let _ = writeln!(out, "    t_s = step - {w}");
        let stable = match self.stable_fn {
            TimmStableFn::Constant => "1.0".to_string(),
            f => {
                let power = if f == TimmStableFn::Rsqrt {
                    0.5
                } else {
                    self.stable_power
                };
                format!("(1. + t_s / {:?}) ** -{power:?}", self.timescale())
            }
        };
        let _ = writeln!(out, "    lr = max(base_lr * {stable}, {m:?})");
        let _ = writeln!(
            out,
            "    t_decay = t_s - ({} - {})\n    if t_decay <= 0:\n        return lr",
            self.t_initial, self.decay_t
        );
        let _ = writeln!(out, "    frac = min(t_decay / {}, 1.)", self.decay_t);
        let decay = match self.decay_fn {
            TimmDecayFn::Linear => "1. - frac".to_string(),
            TimmDecayFn::OneMinusSqrt => "1. - math.sqrt(frac)".to_string(),
            TimmDecayFn::Cosine => "0.5 * (1. + math.cos(math.pi * frac))".to_string(),
            TimmDecayFn::Power => format!("1. - frac ** {:?}", self.decay_power),
            TimmDecayFn::Exp => format!(
                "({r:?} ** frac - {r:?}) / (1. - {r:?})",
                r = self.decay_ratio
            ),
        };
        let _ = writeln!(out, "    return {m:?} + (lr - {m:?}) * ({decay})");
        PyRule::Lr(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorded lrs of every group of `tests/conformance/recipes/<name>.json`, with each
    /// group's initial lr.
    pub(crate) fn recorded(name: &str) -> Vec<(f64, Vec<f64>)> {
        let path = format!(
            "{}/tests/conformance/recipes/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let groups = case["groups"].as_array().unwrap();
        groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                let base = group["options"]["lr"]
                    .as_f64()
                    .or_else(|| case["optimizer"]["defaults"]["lr"].as_f64())
                    .unwrap();
                let lrs = case["expected"]["lr"][g]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                (base, lrs)
            })
            .collect()
    }

    fn assert_matches(name: &str, at: impl Fn(i64) -> LrAt) {
        for (g, (base, lrs)) in recorded(name).into_iter().enumerate() {
            for (k, &lr) in lrs.iter().enumerate() {
                assert_eq!(at(k as i64).lr(base), lr, "{name} group {g} step {k}");
            }
        }
    }

    #[test]
    fn fairseq_inverse_sqrt_matches_fairseq() {
        let rule = FairseqInverseSqrt {
            warmup_updates: 20,
            warmup_init_lr: 1e-7,
            lr: None,
        };
        assert_matches("fairseq_inverse_sqrt", |k| rule.at(k));
        // One lr for every group: the head group's own lr is overwritten.
        let rule = FairseqInverseSqrt {
            warmup_updates: 25,
            warmup_init_lr: -1.0,
            lr: Some(0.0007),
        };
        assert_matches("fairseq_inverse_sqrt_default_init", |k| rule.at(k));
    }

    #[test]
    fn nanogpt_cosine_matches_get_lr() {
        let rule = NanogptCosine {
            warmup_iters: 20,
            lr_decay_iters: 150,
            min_lr: 6e-5,
            learning_rate: None,
        };
        assert_matches("nanogpt_cosine", |k| rule.at(k));
        let given = NanogptCosine {
            learning_rate: Some(6e-4),
            ..rule
        };
        assert_matches("nanogpt_cosine", |k| given.at(k));
    }

    fn cosine(t_initial: u64, lr_min: f64, warmup_t: u64, warmup_lr_init: f64) -> TimmCosine {
        TimmCosine {
            t_initial,
            lr_min,
            cycle_mul: 1.0,
            cycle_decay: 1.0,
            cycle_limit: 1,
            warmup_t,
            warmup_lr_init,
            warmup_prefix: false,
            k_decay: 1.0,
        }
    }

    #[test]
    fn timm_cosine_matches_timm() {
        let rule = cosine(50, 1e-5, 5, 1e-6);
        assert_matches("timm_cosine_epochs", |k| rule.at(k));
        let rule = cosine(120, 1e-6, 20, 1e-6);
        assert_matches("timm_cosine_updates", |k| rule.at(k));
        let rule = TimmCosine {
            cycle_mul: 2.0,
            cycle_decay: 0.5,
            cycle_limit: 3,
            ..cosine(20, 1e-5, 3, 1e-5)
        };
        assert_matches("timm_cosine_restarts", |k| rule.at(k));
        let rule = TimmCosine {
            cycle_decay: 0.8,
            cycle_limit: 2,
            warmup_prefix: true,
            k_decay: 2.0,
            ..cosine(30, 1e-4, 5, 0.0)
        };
        assert_matches("timm_cosine_kdecay_prefix", |k| rule.at(k));
    }

    #[test]
    fn timm_poly_matches_timm() {
        let rule = TimmPoly {
            t_initial: 50,
            power: 0.5,
            lr_min: 1e-5,
            cycle_mul: 1.0,
            cycle_decay: 1.0,
            cycle_limit: 1,
            warmup_t: 5,
            warmup_lr_init: 1e-5,
            warmup_prefix: false,
            k_decay: 1.0,
        };
        assert_matches("timm_poly_warmup", |k| rule.at(k));
        let rule = TimmPoly {
            t_initial: 100,
            power: 2.0,
            lr_min: 0.0,
            warmup_t: 15,
            warmup_lr_init: 0.0,
            warmup_prefix: true,
            k_decay: 1.5,
            ..rule
        };
        assert_matches("timm_poly_updates", |k| rule.at(k));
    }

    #[test]
    fn timm_step_matches_timm() {
        let rule = TimmStep {
            decay_t: 10.0,
            decay_rate: 0.5,
            warmup_t: 3,
            warmup_lr_init: 1e-4,
            warmup_prefix: true,
        };
        assert_matches("timm_step", |k| rule.at(k));
        let rule = TimmStep {
            decay_t: 8.0,
            decay_rate: 0.1,
            warmup_t: 4,
            warmup_lr_init: 1e-3,
            warmup_prefix: false,
        };
        assert_matches("timm_step_no_prefix", |k| rule.at(k));
    }

    #[test]
    fn timm_wsd_matches_timm() {
        let rule = TimmWsd {
            t_initial: 100,
            decay_t: 30,
            lr_min: 1e-6,
            stable_fn: TimmStableFn::Constant,
            stable_timescale: None,
            stable_power: 0.5,
            decay_fn: TimmDecayFn::OneMinusSqrt,
            decay_power: 0.5,
            decay_ratio: 0.1,
            warmup_t: 10,
            warmup_lr_init: 0.0,
        };
        assert_matches("timm_wsd_updates", |k| rule.at(k));
    }

    /// Python's float `//` (CPython's `float_floor_div`).
    #[test]
    fn python_float_floor_division() {
        assert_eq!(py_float_floordiv(7.0, 2.5), 2.0);
        assert_eq!(py_float_floordiv(-7.0, 2.5), -3.0);
        assert_eq!(py_float_floordiv(30.0, 10.0), 3.0);
        assert_eq!(py_float_floordiv(0.0, 3.0), 0.0);
        assert_eq!(py_float_floordiv(1.0, 0.1), 9.0);
    }

    /// Shrinking cycles summed past their limit (where timm raises) leave `lr_min`.
    #[test]
    fn timm_cosine_past_every_shrinking_cycle_is_lr_min() {
        let rule = TimmCosine {
            cycle_mul: 0.5,
            cycle_limit: 100,
            ..cosine(10, 1e-4, 0, 0.0)
        };
        assert_eq!(rule.at(25).lr(0.1), 1e-4);
        assert!(rule.at(15).lr(0.1) > 1e-4);
    }

    #[test]
    fn a_factor_is_the_lambda_lr_product() {
        assert_eq!(LrAt::Factor(0.3).lr(0.1), 0.1 * 0.3);
        assert_eq!(LrAt::Lr(0.5).lr(0.1), 0.5);
    }
}

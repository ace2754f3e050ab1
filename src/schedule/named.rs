//! The named schedules of today's training libraries (issue 13) that PyTorch itself does not
//! ship: `inverse_sqrt` (transformers' `get_inverse_sqrt_schedule`), `noam` (the Annotated
//! Transformer's `rate`) and `wsd` (transformers' `get_wsd_schedule`).
//!
//! Each is what those libraries build: a `LambdaLR` whose factor is a closed-form function of
//! the step, multiplying every group's initial lr. Each struct's `factor` computes that factor
//! with the library's own expression, in its evaluation order (Python `int / int` is a
//! correctly rounded division, which `f64` division of the exact integers reproduces;
//! `math.sqrt` is [`f64::sqrt`]; `x ** y` on floats is [`f64::powf`]), so that the lrs agree to
//! the last bit. Its `python` is the same function as Python source, for
//! `export --to pytorch`. ([`NamedRule::at`] runs them as [`LrAt::Factor`]; the library
//! schedules that set the lr itself are in `absolute.rs`.)

use crate::schedule::Word;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

pub use super::absolute::{LrAt, PyRule};
pub use super::kind::{library::*, NamedRule};

crate::config::words! {
    /// A warmup or decay curve of [`Wsd`], as transformers names them (`one_minus_sqrt` is its
    /// `"1-sqrt"`).
    WsdShape {
        Linear = "linear",
        Cosine = "cosine",
        OneMinusSqrt = "one_minus_sqrt",
    }
}

crate::config::words! {
    /// The stable phase of [`TimmWsd`] (timm's `stable_fn`).
    TimmStableFn {
        Constant = "constant",
        Rsqrt = "rsqrt",
        Power = "power",
    }
}

crate::config::words! {
    /// The decay of [`TimmWsd`] (timm's `decay_fn`; `one_minus_sqrt` is its `"1-sqrt"`).
    TimmDecayFn {
        Linear = "linear",
        OneMinusSqrt = "one_minus_sqrt",
        Cosine = "cosine",
        Power = "power",
        Exp = "exp",
    }
}

impl TimmDecayFn {
    /// timm's spelling of the decay.
    pub fn timm_name(self) -> &'static str {
        match self {
            TimmDecayFn::OneMinusSqrt => "1-sqrt",
            other => Self::NAMES[other.index()],
        }
    }
}

/// The kinds run as a `LambdaLR` of their `factor`: what [`NamedRule::at`] and
/// [`NamedRule::python`] ask of every named kind (`at`, `python_rule`), from `factor` and
/// `python`. A kind that sets the lr itself writes these two in `absolute.rs` instead.
macro_rules! factor_kinds {
    ($($kind:ident),* $(,)?) => {$(
        impl $kind {
            /// `LambdaLR`: the initial lr times [`Self::factor`].
            pub fn at(&self, step: i64) -> LrAt {
                LrAt::Factor(self.factor(step))
            }

            /// [`Self::python`] as a `LambdaLR` factor.
            pub fn python_rule(&self) -> PyRule {
                PyRule::Factor(self.python())
            }
        }
    )*};
}

factor_kinds!(
    InverseSqrt,
    Noam,
    Wsd,
    WarmupCosine,
    WarmupLinear,
    WarmupConstant,
    WarmupCosineRestarts,
    WarmupPolynomial,
    WarmupCosineLrRate,
);

/// Python's `float(a) / float(max(1, b))` for the integer step counts of transformers.
fn ratio(a: i64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

// Each named kind's `factor` (`LambdaLR`'s `lr_lambda(last_epoch)`) and `python` (the same
// function as a Python lambda of the step, needing `import math`). `NamedRule` (generated from
// the table in `kind.rs`) dispatches to them.

impl InverseSqrt {
    /// transformers' `_get_inverse_sqrt_schedule_lr_lambda`.
    pub fn factor(&self, step: i64) -> f64 {
        let InverseSqrt { warmup, timescale } = *self;
        if step < warmup as i64 {
            return ratio(step, warmup);
        }
        let timescale = resolved_timescale(warmup, timescale) as i64;
        let shift = timescale - warmup as i64;
        1.0 / ((step + shift) as f64 / timescale as f64).sqrt()
    }

    /// [`InverseSqrt::factor`] in Python.
    pub fn python(&self) -> String {
        let InverseSqrt { warmup, timescale } = *self;
        let timescale = resolved_timescale(warmup, timescale);
        format!(
            "lambda step: float(step) / float(max(1, {warmup})) if step < {warmup} \
             else 1.0 / math.sqrt((step + {shift}) / {timescale})",
            shift = timescale as i64 - warmup as i64,
        )
    }
}

impl Noam {
    /// The Annotated Transformer's `rate`, step 0 counted as step 1.
    pub fn factor(&self, step: i64) -> f64 {
        let Noam {
            d_model,
            warmup,
            factor,
        } = *self;
        let step = step.max(1) as f64;
        factor
            * ((d_model as f64).powf(-0.5) * step.powf(-0.5).min(step * (warmup as f64).powf(-1.5)))
    }

    /// [`Noam::factor`] in Python.
    pub fn python(&self) -> String {
        let Noam {
            d_model,
            warmup,
            factor,
        } = *self;
        format!(
            "lambda step: {factor:?} * ({d_model} ** (-0.5) * min(max(step, 1) ** (-0.5), \
             max(step, 1) * {warmup} ** (-1.5)))"
        )
    }
}

impl WarmupCosine {
    /// transformers' `_get_cosine_schedule_with_warmup_lr_lambda` (with its `min_lr_rate`).
    pub fn factor(&self, step: i64) -> f64 {
        if step < self.warmup as i64 {
            return ratio(step, self.warmup);
        }
        let progress = ratio(
            step - self.warmup as i64,
            self.total.saturating_sub(self.warmup),
        );
        let factor = 0.5 * (1.0 + (PI * self.num_cycles * 2.0 * progress).cos());
        (factor * (1.0 - self.min_lr_ratio) + self.min_lr_ratio).max(0.0)
    }

    /// [`WarmupCosine::factor`] in Python.
    pub fn python(&self) -> String {
        format!(
            "lambda step: float(step) / float(max(1, {w})) if step < {w} else max(0, \
             0.5 * (1.0 + math.cos(math.pi * {n:?} * 2.0 * (float(step - {w}) / \
             float(max(1, {d}))))) * (1 - {m:?}) + {m:?})",
            w = self.warmup,
            d = self.total.saturating_sub(self.warmup),
            n = self.num_cycles,
            m = self.min_lr_ratio,
        )
    }
}

impl WarmupLinear {
    /// transformers' `_get_linear_schedule_with_warmup_lr_lambda`.
    pub fn factor(&self, step: i64) -> f64 {
        if step < self.warmup as i64 {
            return ratio(step, self.warmup);
        }
        ratio(
            self.total as i64 - step,
            self.total.saturating_sub(self.warmup),
        )
        .max(0.0)
    }

    /// [`WarmupLinear::factor`] in Python.
    pub fn python(&self) -> String {
        format!(
            "lambda step: float(step) / float(max(1, {w})) if step < {w} \
             else max(0.0, float({t} - step) / float(max(1, {d})))",
            w = self.warmup,
            t = self.total,
            d = self.total.saturating_sub(self.warmup),
        )
    }
}

impl WarmupConstant {
    /// transformers' `_get_constant_schedule_with_warmup_lr_lambda`.
    pub fn factor(&self, step: i64) -> f64 {
        if step < self.warmup as i64 {
            return ratio(step, self.warmup);
        }
        1.0
    }

    /// [`WarmupConstant::factor`] in Python.
    pub fn python(&self) -> String {
        format!(
            "lambda step: float(step) / float(max(1.0, {w})) if step < {w} else 1.0",
            w = self.warmup
        )
    }
}

impl WarmupCosineRestarts {
    /// transformers' `_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda`.
    pub fn factor(&self, step: i64) -> f64 {
        if step < self.warmup as i64 {
            return ratio(step, self.warmup);
        }
        let progress = ratio(
            step - self.warmup as i64,
            self.total.saturating_sub(self.warmup),
        );
        if progress >= 1.0 {
            return 0.0;
        }
        // Python's float `%` is C's `fmod` for these non-negative operands.
        (0.5 * (1.0 + (PI * ((self.num_cycles as f64 * progress) % 1.0)).cos())).max(0.0)
    }

    /// [`WarmupCosineRestarts::factor`] in Python.
    pub fn python(&self) -> String {
        format!(
            "lambda step: float(step) / float(max(1, {w})) if step < {w} else 0.0 \
             if float(step - {w}) / float(max(1, {d})) >= 1.0 else max(0.0, 0.5 * (1.0 + \
             math.cos(math.pi * ((float({n}) * (float(step - {w}) / float(max(1, {d})))) \
             % 1.0))))",
            w = self.warmup,
            d = self.total.saturating_sub(self.warmup),
            n = self.num_cycles,
        )
    }
}

impl WarmupPolynomial {
    /// transformers' `lr_init`: the optimizer's lr, which the checker and the JSON/TOML import
    /// fill in where the file leaves it out (1 if a config built by hand does not).
    pub fn lr_init(&self) -> f64 {
        self.lr_init.unwrap_or(1.0)
    }

    /// transformers' `_get_polynomial_decay_schedule_with_warmup_lr_lambda`.
    pub fn factor(&self, step: i64) -> f64 {
        let (warmup, total) = (self.warmup as i64, self.total as i64);
        let lr_init = self.lr_init();
        if step < warmup {
            return ratio(step, self.warmup);
        }
        if step > total {
            return self.lr_end / lr_init;
        }
        let lr_range = lr_init - self.lr_end;
        let decay_steps = total - warmup;
        // Python's `int / int` is the correctly rounded quotient, as f64's of exact integers.
        let pct_remaining = 1.0 - (step - warmup) as f64 / decay_steps as f64;
        let decay = lr_range * pct_remaining.powf(self.power) + self.lr_end;
        decay / lr_init
    }

    /// [`WarmupPolynomial::factor`] in Python.
    pub fn python(&self) -> String {
        let (w, t) = (self.warmup, self.total);
        let (end, init) = (self.lr_end, self.lr_init());
        format!(
            "lambda step: float(step) / float(max(1, {w})) if step < {w} else {end:?} / \
             {init:?} if step > {t} else (({init:?} - {end:?}) * (1 - (step - {w}) / {d}) \
             ** {power:?} + {end:?}) / {init:?}",
            d = t as i64 - w as i64,
            power = self.power,
        )
    }
}

impl WarmupCosineLrRate {
    /// transformers' `_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda`, which
    /// converts the step and both counts to floats first.
    pub fn factor(&self, step: i64) -> f64 {
        let (step, warmup, total) = (step as f64, self.warmup as f64, self.total as f64);
        if step < warmup {
            return match self.warmup_lr_rate {
                None => (step + 1.0) / warmup.max(1.0),
                Some(r) => r + (1.0 - r) * step / (warmup - 1.0).max(1.0),
            };
        }
        let progress = (step - warmup + 1.0) / (total - warmup).max(1.0);
        let factor = 0.5 * (1.0 + (PI * self.num_cycles * 2.0 * progress).cos());
        let factor = factor * (1.0 - self.min_lr_ratio) + self.min_lr_ratio;
        factor.max(0.0)
    }

    /// [`WarmupCosineLrRate::factor`] in Python.
    pub fn python(&self) -> String {
        let w = self.warmup as f64;
        let up = match self.warmup_lr_rate {
            None => format!("(float(step) + 1.0) / max(1.0, {w:?})"),
            Some(r) => format!("{r:?} + (1.0 - {r:?}) * float(step) / (max(1, {w:?} - 1))"),
        };
        format!(
            "lambda step: {up} if float(step) < {w:?} else max(0, 0.5 * (1.0 + \
             math.cos(math.pi * {n:?} * 2.0 * ((float(step) - {w:?} + 1.0) / \
             max(1.0, {t:?} - {w:?})))) * (1 - {m:?}) + {m:?})",
            n = self.num_cycles,
            t = self.total as f64,
            m = self.min_lr_ratio,
        )
    }
}

/// transformers' `timescale = num_warmup_steps or 10_000` when none is given.
fn resolved_timescale(warmup: u64, timescale: Option<u64>) -> u64 {
    timescale.unwrap_or(if warmup == 0 { 10_000 } else { warmup })
}

impl Wsd {
    /// [`Wsd::factor`] as a Python lambda of the step, transformers' expressions verbatim.
    pub fn python(&self) -> String {
        let (w, s, d, m) = (self.warmup, self.stable, self.decay, self.min_lr_ratio);
        let up = format!("float(step) / float(max(1, {w}))");
        let up = match self.warmup_shape {
            WsdShape::Linear => up,
            WsdShape::Cosine => format!("0.5 * (1.0 - math.cos(math.pi * ({up})))"),
            WsdShape::OneMinusSqrt => format!("1.0 - math.sqrt(1.0 - ({up}))"),
        };
        let down = format!("float(step - {w} - {s}) / float(max(1, {d}))");
        let down = match self.decay_shape {
            WsdShape::Linear => format!("1.0 - ({down})"),
            WsdShape::Cosine => format!(
                "0.5 * (1.0 + math.cos(math.pi * {:?} * 2.0 * ({down})))",
                self.num_cycles
            ),
            WsdShape::OneMinusSqrt => format!("1.0 - math.sqrt({down})"),
        };
        format!(
            "lambda step: max(0.0, ({up}) * (1.0 - {m:?}) + {m:?}) if step < {w} \
             else 1.0 if step < {w} + {s} \
             else max(0.0, ({down}) * (1.0 - {m:?}) + {m:?}) if step < {w} + {s} + {d} \
             else {m:?}"
        )
    }

    /// `_get_wsd_scheduler_lambda(current_step, ...)`.
    pub fn factor(&self, step: i64) -> f64 {
        let (warmup, stable, decay) = (self.warmup as i64, self.stable as i64, self.decay as i64);
        let min = self.min_lr_ratio;
        if step < warmup {
            let progress = ratio(step, self.warmup);
            let factor = match self.warmup_shape {
                WsdShape::Linear => progress,
                WsdShape::Cosine => 0.5 * (1.0 - (PI * progress).cos()),
                WsdShape::OneMinusSqrt => 1.0 - (1.0 - progress).sqrt(),
            };
            return (factor * (1.0 - min) + min).max(0.0);
        }
        if step < warmup + stable {
            return 1.0;
        }
        if step < warmup + stable + decay {
            let progress = ratio(step - warmup - stable, self.decay);
            let factor = match self.decay_shape {
                WsdShape::Linear => 1.0 - progress,
                WsdShape::Cosine => 0.5 * (1.0 + (PI * self.num_cycles * 2.0 * progress).cos()),
                WsdShape::OneMinusSqrt => 1.0 - progress.sqrt(),
            };
            return (factor * (1.0 - min) + min).max(0.0);
        }
        min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorded lrs of group `g` in `tests/conformance/recipes/<name>.json`, with the
    /// group's initial lr.
    fn recorded(name: &str, g: usize) -> (f64, Vec<f64>) {
        let path = format!(
            "{}/tests/conformance/recipes/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let lrs: Vec<f64> = case["expected"]["lr"][g]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let base = case["groups"][g]["options"]["lr"]
            .as_f64()
            .or_else(|| case["optimizer"]["defaults"]["lr"].as_f64())
            .unwrap();
        (base, lrs)
    }

    /// `base * factor(step)` equals every recorded lr of every group, bit for bit.
    fn assert_matches(name: &str, rule: NamedRule, groups: usize) {
        for g in 0..groups {
            let (base, lrs) = recorded(name, g);
            for (k, &lr) in lrs.iter().enumerate() {
                assert_eq!(rule.at(k as i64).lr(base), lr, "{name} group {g} step {k}");
            }
        }
    }

    #[test]
    fn inverse_sqrt_matches_transformers() {
        let rule = |warmup, timescale| NamedRule::InverseSqrt(InverseSqrt { warmup, timescale });
        assert_matches("hf_inverse_sqrt", rule(20, None), 2);
        assert_matches("hf_inverse_sqrt_timescale", rule(10, Some(50)), 2);
        assert_matches("hf_inverse_sqrt_no_warmup", rule(0, None), 2);
    }

    #[test]
    fn noam_matches_the_annotated_transformer() {
        let rule = |d_model, warmup, factor| {
            NamedRule::Noam(Noam {
                d_model,
                warmup,
                factor,
            })
        };
        assert_matches("noam_annotated_transformer", rule(512, 30, 1.0), 1);
        assert_matches("noam_base_lr_half", rule(64, 20, 2.0), 2);
    }

    #[test]
    fn warmup_kinds_match_transformers() {
        let cosine = |warmup, total, num_cycles, min_lr_ratio| {
            NamedRule::WarmupCosine(WarmupCosine {
                warmup,
                total,
                num_cycles,
                min_lr_ratio,
            })
        };
        assert_matches("hf_cosine_warmup", cosine(10, 100, 0.5, 0.0), 2);
        assert_matches("hf_cosine_warmup_1p5_cycles", cosine(20, 200, 1.5, 0.0), 2);
        assert_matches("hf_cosine_min_lr", cosine(10, 100, 0.5, 1e-5 / 1e-3), 2);
        assert_matches("hf_cosine_min_lr_rate", cosine(30, 300, 0.5, 0.1), 2);
        let linear = NamedRule::WarmupLinear(WarmupLinear {
            warmup: 10,
            total: 100,
        });
        assert_matches("hf_linear_warmup", linear, 2);
        let constant = NamedRule::WarmupConstant(WarmupConstant { warmup: 15 });
        assert_matches("hf_constant_warmup", constant, 2);
    }

    #[test]
    fn hard_restarts_polynomial_and_lr_rate_match_transformers() {
        let restarts = NamedRule::WarmupCosineRestarts(WarmupCosineRestarts {
            warmup: 10,
            total: 100,
            num_cycles: 3,
        });
        assert_matches("hf_cosine_hard_restarts", restarts, 2);
        let poly = |warmup, total, lr_end, power, lr_init| {
            NamedRule::WarmupPolynomial(WarmupPolynomial {
                warmup,
                total,
                lr_end,
                power,
                lr_init: Some(lr_init),
            })
        };
        assert_matches("hf_polynomial_power1", poly(10, 100, 1e-5, 1.0, 1e-3), 2);
        assert_matches("hf_polynomial_power2", poly(25, 250, 1e-7, 2.0, 3e-4), 2);
        let rate = |min_lr_ratio, warmup_lr_rate| {
            NamedRule::WarmupCosineLrRate(WarmupCosineLrRate {
                warmup: 10,
                total: 100,
                num_cycles: 0.5,
                min_lr_ratio,
                warmup_lr_rate,
            })
        };
        assert_matches(
            "hf_cosine_min_lr_warmup_lr_rate",
            rate(1e-5 / 1e-3, Some(0.05)),
            2,
        );
        assert_matches(
            "hf_cosine_min_lr_warmup_lr_rate_default",
            rate(0.1, None),
            2,
        );
    }

    #[test]
    fn wsd_matches_transformers() {
        use WsdShape::*;
        let rule = |warmup, stable, decay, shapes: (WsdShape, WsdShape), min, cycles| {
            NamedRule::Wsd(Wsd {
                warmup,
                stable,
                decay,
                warmup_shape: shapes.0,
                decay_shape: shapes.1,
                min_lr_ratio: min,
                num_cycles: cycles,
            })
        };
        assert_matches(
            "hf_wsd_linear",
            rule(10, 60, 30, (Linear, Linear), 0.1, 0.5),
            2,
        );
        assert_matches(
            "hf_wsd_cosine",
            rule(10, 50, 30, (Cosine, Cosine), 0.0, 0.5),
            2,
        );
        assert_matches(
            "hf_wsd_1sqrt",
            rule(20, 140, 40, (OneMinusSqrt, OneMinusSqrt), 0.05, 0.5),
            2,
        );
        assert_matches(
            "hf_wsd_cosine_num_cycles",
            rule(5, 35, 40, (Linear, Cosine), 0.2, 1.0),
            2,
        );
    }
}

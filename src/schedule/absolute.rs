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

use super::named::{FairseqInverseSqrt, NanogptCosine};
use std::f64::consts::PI;

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

    #[test]
    fn a_factor_is_the_lambda_lr_product() {
        assert_eq!(LrAt::Factor(0.3).lr(0.1), 0.1 * 0.3);
        assert_eq!(LrAt::Lr(0.5).lr(0.1), 0.5);
    }
}

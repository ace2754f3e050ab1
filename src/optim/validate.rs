//! PyTorch's constructor argument checks, as data.

use crate::config::{Hyperparams, OptimizerKind, OptionName};

/// One argument PyTorch's optimizer constructor would reject (`ValueError`).
#[derive(Clone, Debug, PartialEq)]
pub struct OptionProblem {
    /// The offending option.
    pub option: OptionName,
    /// What is wrong, in plain words, naming the value.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// The checks `torch.optim.<kind>.__init__` makes on its arguments, applied to `hp`, in the order
/// PyTorch makes them; empty when PyTorch would accept every value. A NaN fails every range
/// check (as with PyTorch's `not 0.0 <= x` tests; SGD's `x < 0.0` tests would let a NaN through,
/// which is never what a user means).
///
/// Only the options `kind` takes are looked at (`OptimizerKind::options`).
pub fn validate(kind: OptimizerKind, hp: &Hyperparams) -> Vec<OptionProblem> {
    use OptimizerKind::*;
    let mut out = Vec::new();
    let mut v = Checker {
        out: &mut out,
        kind,
    };
    match kind {
        Sgd => {
            v.non_negative(OptionName::Lr, hp.lr);
            v.non_negative(OptionName::Momentum, hp.momentum);
            v.non_negative(OptionName::WeightDecay, hp.weight_decay);
            if hp.nesterov && hp.momentum <= 0.0 {
                v.push(
                    OptionName::Nesterov,
                    format!(
                        "nesterov needs a positive momentum, but momentum is {}",
                        hp.momentum
                    ),
                    "set `momentum` above 0 (e.g. `momentum = 0.9`) or drop `nesterov = true`"
                        .into(),
                );
            }
            if hp.nesterov && hp.dampening != 0.0 {
                v.push(
                    OptionName::Nesterov,
                    format!(
                        "nesterov needs zero dampening, but dampening is {}",
                        hp.dampening
                    ),
                    "set `dampening = 0` or drop `nesterov = true`".into(),
                );
            }
        }
        Adam | AdamW | Adamax | RAdam | NAdam => {
            v.non_negative(OptionName::Lr, hp.lr);
            v.non_negative(OptionName::Eps, hp.eps);
            v.beta(0, hp.betas.0);
            v.beta(1, hp.betas.1);
            v.non_negative(OptionName::WeightDecay, hp.weight_decay);
            if kind == NAdam {
                v.non_negative(OptionName::MomentumDecay, hp.momentum_decay);
            }
        }
        RmsProp => {
            v.non_negative(OptionName::Lr, hp.lr);
            v.non_negative(OptionName::Eps, hp.eps);
            v.non_negative(OptionName::Momentum, hp.momentum);
            v.non_negative(OptionName::WeightDecay, hp.weight_decay);
            v.non_negative(OptionName::Alpha, hp.alpha);
        }
        Adagrad => {
            v.non_negative(OptionName::Lr, hp.lr);
            v.non_negative(OptionName::LrDecay, hp.lr_decay);
            v.non_negative(OptionName::WeightDecay, hp.weight_decay);
            v.non_negative(
                OptionName::InitialAccumulatorValue,
                hp.initial_accumulator_value,
            );
            v.non_negative(OptionName::Eps, hp.eps);
        }
        Adadelta => {
            v.non_negative(OptionName::Lr, hp.lr);
            if !(0.0..=1.0).contains(&hp.rho) {
                v.push(
                    OptionName::Rho,
                    format!(
                        "rho must be between 0 and 1 inclusive, but it is {}",
                        hp.rho
                    ),
                    "choose a decay rate in [0, 1], such as the default `rho = 0.9`".into(),
                );
            }
            v.non_negative(OptionName::Eps, hp.eps);
            v.non_negative(OptionName::WeightDecay, hp.weight_decay);
        }
    }
    out
}

struct Checker<'a> {
    out: &'a mut Vec<OptionProblem>,
    kind: OptimizerKind,
}

impl Checker<'_> {
    fn push(&mut self, option: OptionName, message: String, help: String) {
        self.out.push(OptionProblem {
            option,
            message,
            help,
        });
    }

    fn non_negative(&mut self, option: OptionName, value: f64) {
        if value.is_nan() || value < 0.0 {
            let what = match option {
                OptionName::Lr => "the learning rate `lr`",
                OptionName::Eps => "`eps`",
                OptionName::Momentum => "`momentum`",
                OptionName::WeightDecay => "`weight_decay`",
                OptionName::Alpha => "the smoothing constant `alpha`",
                OptionName::LrDecay => "`lr_decay`",
                OptionName::InitialAccumulatorValue => "`initial_accumulator_value`",
                OptionName::MomentumDecay => "`momentum_decay`",
                _ => option.name(),
            };
            let default = crate::config::Hyperparams::defaults(self.kind);
            let example = match option {
                OptionName::Lr => format!("e.g. the default `lr = {}`", default.lr),
                OptionName::Eps => format!("e.g. the default `eps = {:e}`", default.eps),
                OptionName::Alpha => format!("e.g. the default `alpha = {}`", default.alpha),
                OptionName::MomentumDecay => {
                    format!(
                        "e.g. the default `momentum_decay = {}`",
                        default.momentum_decay
                    )
                }
                _ => "0 turns it off".to_string(),
            };
            self.push(
                option,
                format!(
                    "{what} must be zero or positive for {}, but it is {value}",
                    self.kind.torch_name()
                ),
                format!("use a value >= 0 ({example})"),
            );
        }
    }

    fn beta(&mut self, index: usize, value: f64) {
        if !(0.0..1.0).contains(&value) {
            let which = if index == 0 {
                "the first moment"
            } else {
                "the second moment"
            };
            self.push(
                OptionName::Betas,
                format!(
                    "betas[{index}] must be in [0, 1) for {}, but it is {value}",
                    self.kind.torch_name()
                ),
                format!(
                    "betas[{index}] is the decay rate of {which} average; choose a value at least 0 and below 1, like the default `betas = (0.9, 0.999)`"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(kind: OptimizerKind, edit: impl FnOnce(&mut Hyperparams)) -> Vec<OptionName> {
        let mut hp = Hyperparams::defaults(kind);
        edit(&mut hp);
        validate(kind, &hp).into_iter().map(|p| p.option).collect()
    }

    #[test]
    fn defaults_are_valid() {
        for kind in OptimizerKind::ALL {
            assert_eq!(
                validate(kind, &Hyperparams::defaults(kind)),
                vec![],
                "{kind:?}"
            );
        }
    }

    #[test]
    fn negative_values_are_reported() {
        for kind in OptimizerKind::ALL {
            assert_eq!(
                problems(kind, |h| h.lr = -1e-3),
                vec![OptionName::Lr],
                "{kind:?}"
            );
            assert_eq!(
                problems(kind, |h| h.weight_decay = -0.1),
                vec![OptionName::WeightDecay],
                "{kind:?}"
            );
            assert_eq!(problems(kind, |h| h.lr = f64::NAN), vec![OptionName::Lr]);
        }
        let sgd = OptimizerKind::Sgd;
        assert_eq!(
            problems(sgd, |h| h.momentum = -0.5),
            vec![OptionName::Momentum]
        );
        // SGD does not check eps (it has none).
        assert_eq!(problems(sgd, |h| h.eps = -1.0), vec![]);
        let rms = OptimizerKind::RmsProp;
        assert_eq!(problems(rms, |h| h.alpha = -0.5), vec![OptionName::Alpha]);
        assert_eq!(problems(rms, |h| h.eps = -1e-8), vec![OptionName::Eps]);
        assert_eq!(problems(rms, |h| h.alpha = 1.5), vec![]); // PyTorch only checks alpha >= 0
        let ada = OptimizerKind::Adagrad;
        assert_eq!(
            problems(ada, |h| h.lr_decay = -1.0),
            vec![OptionName::LrDecay]
        );
        assert_eq!(
            problems(ada, |h| h.initial_accumulator_value = -1.0),
            vec![OptionName::InitialAccumulatorValue]
        );
        assert_eq!(
            problems(OptimizerKind::NAdam, |h| h.momentum_decay = -1.0),
            vec![OptionName::MomentumDecay]
        );
        assert_eq!(
            problems(OptimizerKind::Adam, |h| h.momentum_decay = -1.0),
            vec![]
        );
    }

    #[test]
    fn betas_must_be_in_unit_interval() {
        for kind in OptimizerKind::ALL.into_iter().filter(|k| k.has_betas()) {
            assert_eq!(
                problems(kind, |h| h.betas = (1.0, 0.999)),
                vec![OptionName::Betas]
            );
            assert_eq!(
                problems(kind, |h| h.betas = (0.9, -0.1)),
                vec![OptionName::Betas]
            );
            assert_eq!(
                problems(kind, |h| h.betas = (-0.1, 1.0)),
                vec![OptionName::Betas, OptionName::Betas]
            );
            assert_eq!(problems(kind, |h| h.betas = (0.0, 0.0)), vec![]);
        }
        let p = validate(OptimizerKind::Adam, &{
            let mut h = Hyperparams::defaults(OptimizerKind::Adam);
            h.betas.1 = 1.0;
            h
        });
        assert!(p[0].message.contains("betas[1]"), "{}", p[0].message);
        assert!(!p[0].help.is_empty());
    }

    #[test]
    fn adadelta_rho_is_a_closed_interval() {
        let k = OptimizerKind::Adadelta;
        assert_eq!(problems(k, |h| h.rho = 1.0), vec![]);
        assert_eq!(problems(k, |h| h.rho = 0.0), vec![]);
        assert_eq!(problems(k, |h| h.rho = 1.01), vec![OptionName::Rho]);
        assert_eq!(problems(k, |h| h.rho = -0.01), vec![OptionName::Rho]);
    }

    #[test]
    fn nesterov_needs_momentum_and_no_dampening() {
        let k = OptimizerKind::Sgd;
        assert_eq!(
            problems(k, |h| h.nesterov = true),
            vec![OptionName::Nesterov]
        );
        assert_eq!(
            problems(k, |h| {
                h.nesterov = true;
                h.momentum = 0.9;
            }),
            vec![]
        );
        assert_eq!(
            problems(k, |h| {
                h.nesterov = true;
                h.momentum = 0.9;
                h.dampening = 0.1;
            }),
            vec![OptionName::Nesterov]
        );
        // Dampening alone is fine without nesterov.
        assert_eq!(problems(k, |h| h.dampening = 0.5), vec![]);
    }

    #[test]
    fn messages_name_the_value_and_help_says_what_to_do() {
        let mut hp = Hyperparams::defaults(OptimizerKind::Adam);
        hp.eps = -1e-8;
        let p = validate(OptimizerKind::Adam, &hp);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("-0.00000001"), "{}", p[0].message);
        assert!(p[0].help.contains(">= 0"), "{}", p[0].help);
    }
}

//! PyTorch's constructor argument checks, as data: the range of each option
//! ([`OptionName::range`]) and the checks over several arguments, applied by [`validate`] to an
//! optimizer's options and to every group's. The checker and the JSON/TOML import both use it.

use super::{Hyperparams, OptimizerKind, OptionName, OptionValue};

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

/// The values PyTorch accepts for one option. NaN is never accepted (as with PyTorch's
/// `not 0.0 <= x` tests; SGD's `x < 0.0` tests would let a NaN through, which is never what a
/// user means).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// Anything of the option's kind (flags, and numbers PyTorch does not check).
    Unchecked,
    /// A number `>= 0`. `what` names the option in the message.
    NonNegative {
        what: &'static str,
        example: Example,
    },
    /// A number in `[0, 1]`.
    Fraction,
    /// A pair of decay rates, each in `[0, 1)` (Adam's `betas`).
    DecayPair,
    /// A number `<= 0` (Adafactor's `beta2_decay`).
    NonPositive,
    /// A number `>= 1` (Adafactor's clipping threshold `d`).
    AtLeastOne,
    /// Rprop's `etas`: `0 < etaminus < 1 < etaplus`.
    Etas,
    /// Adafactor's `eps`: each `>= 0`, the first may be `none`.
    EpsPair,
}

/// The value a [`Range::NonNegative`] message suggests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Example {
    /// The optimizer's default, as Python prints it (`0.001`).
    Default,
    /// The optimizer's default in exponent form (`1e-8`).
    DefaultExp,
    /// "0 turns it off".
    Off,
}

/// The checks `torch.optim.<kind>.__init__` makes on its arguments, applied to `hp`, in the order
/// PyTorch makes them; empty when PyTorch would accept every value.
///
/// Only the options `kind` checks are looked at ([`OptimizerKind::checked_options`], then
/// its checks over several arguments).
pub fn validate(kind: OptimizerKind, hp: &Hyperparams) -> Vec<OptionProblem> {
    let mut out = Vec::new();
    for &option in kind.checked_options() {
        check_range(kind, option, hp, &mut out);
    }
    kind.check_arguments(hp, &mut out);
    out
}

fn check_range(
    kind: OptimizerKind,
    option: OptionName,
    hp: &Hyperparams,
    out: &mut Vec<OptionProblem>,
) {
    let name = option.name();
    let torch = kind.torch_name();
    let default = Hyperparams::defaults(kind).get(option);
    let mut push = |message: String, help: String| {
        out.push(OptionProblem {
            option,
            message,
            help,
        })
    };
    match (option.range(), hp.get(option), default) {
        (
            Range::NonNegative { what, example },
            OptionValue::Number(value),
            OptionValue::Number(d),
        ) if value.is_nan() || value < 0.0 => {
            let example = match example {
                Example::Default => format!("e.g. the default `{name} = {d}`"),
                Example::DefaultExp => format!("e.g. the default `{name} = {d:e}`"),
                Example::Off => "0 turns it off".to_string(),
            };
            push(
                format!("{what} must be zero or positive for {torch}, but it is {value}"),
                format!("use a value >= 0 ({example})"),
            );
        }
        (Range::Fraction, OptionValue::Number(value), OptionValue::Number(d))
            if !(0.0..=1.0).contains(&value) =>
        {
            push(
                format!("{name} must be between 0 and 1 inclusive, but it is {value}"),
                format!("choose a decay rate in [0, 1], such as the default `{name} = {d}`"),
            );
        }
        (Range::DecayPair, OptionValue::Pair(a, b), OptionValue::Pair(d0, d1)) => {
            for (index, value) in [a, b].into_iter().enumerate() {
                if !(0.0..1.0).contains(&value) {
                    let which = if index == 0 {
                        "the first moment"
                    } else {
                        "the second moment"
                    };
                    push(
                        format!("{name}[{index}] must be in [0, 1) for {torch}, but it is {value}"),
                        format!(
                            "{name}[{index}] is the decay rate of {which} average; choose a value at least 0 and below 1, like the default `{name} = ({d0}, {d1})`"
                        ),
                    );
                }
            }
        }
        (Range::NonPositive, OptionValue::Number(value), OptionValue::Number(d))
            if value.is_nan() || value > 0.0 =>
        {
            push(
                format!("`{name}` must be zero or negative for {torch}, but it is {value}"),
                format!(
                    "the averaging weight of step t is t^{name}, which must not grow; use a value <= 0 (e.g. the default `{name} = {d}`)"
                ),
            );
        }
        (Range::AtLeastOne, OptionValue::Number(value), OptionValue::Number(d))
            if value.is_nan() || value < 1.0 =>
        {
            push(
                format!("the clipping threshold `{name}` must be at least 1 for {torch}, but it is {value}"),
                format!("use a value >= 1 (e.g. the default `{name} = {d}`)"),
            );
        }
        (Range::Etas, OptionValue::Pair(minus, plus), OptionValue::Pair(d0, d1))
            if !(0.0 < minus && minus < 1.0 && 1.0 < plus) =>
        {
            push(
                format!(
                    "`{name}` must satisfy 0 < {name}[0] < 1 < {name}[1] for {torch}, but it is ({minus}, {plus})"
                ),
                format!(
                    "`{name}` is (etaminus, etaplus): a step size shrinks by the first and grows by the second; e.g. the default `{name} = ({d0}, {d1})`"
                ),
            );
        }
        (Range::EpsPair, OptionValue::MaybePair(eps1, eps2), OptionValue::MaybePair(_, d1)) => {
            if let Some(eps1) = eps1.filter(|e| e.is_nan() || *e < 0.0) {
                push(
                    format!("{name}[0] (epsilon1) must be zero or positive for {torch}, but it is {eps1}"),
                    format!(
                        "{name}[0] keeps the second moment away from 0; use a value >= 0, or `none` for float32's machine epsilon (the default `{name} = (none, {d1})`)"
                    ),
                );
            }
            if eps2.is_nan() || eps2 < 0.0 {
                push(
                    format!("{name}[1] (epsilon2) must be zero or positive for {torch}, but it is {eps2}"),
                    format!(
                        "{name}[1] is the least parameter scale; use a value >= 0, like the default `{name} = (none, {d1})`"
                    ),
                );
            }
        }
        // In range, or unchecked (a range declared for an option of another kind is ruled out by
        // the test `ranges_fit_their_options`).
        _ => {}
    }
}

/// SGD's checks over several arguments: Nesterov momentum needs a momentum and no dampening.
pub(super) fn sgd_nesterov(_: OptimizerKind, hp: &Hyperparams, out: &mut Vec<OptionProblem>) {
    if hp.nesterov && hp.momentum <= 0.0 {
        out.push(OptionProblem {
            option: OptionName::Nesterov,
            message: format!(
                "nesterov needs a positive momentum, but momentum is {}",
                hp.momentum
            ),
            help: "set `momentum` above 0 (e.g. `momentum = 0.9`) or drop `nesterov = true`".into(),
        });
    }
    if hp.nesterov && hp.dampening != 0.0 {
        out.push(OptionProblem {
            option: OptionName::Nesterov,
            message: format!(
                "nesterov needs zero dampening, but dampening is {}",
                hp.dampening
            ),
            help: "set `dampening = 0` or drop `nesterov = true`".into(),
        });
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
    fn ranges_fit_their_options() {
        use crate::config::OptionValueKind as K;
        for option in OptionName::ALL {
            let fits = match option.range() {
                Range::Unchecked => true,
                Range::NonNegative { .. }
                | Range::Fraction
                | Range::NonPositive
                | Range::AtLeastOne => option.value_kind() == K::Number,
                Range::DecayPair | Range::Etas => option.value_kind() == K::Pair,
                Range::EpsPair => option.value_kind() == K::MaybePair,
            };
            assert!(
                fits,
                "{option:?}: {:?} does not fit its kind",
                option.range()
            );
        }
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
            // Rprop has no weight decay; timm's Lion does not check it.
            let wd = if kind.checked_options().contains(&OptionName::WeightDecay) {
                vec![OptionName::WeightDecay]
            } else {
                vec![]
            };
            assert_eq!(problems(kind, |h| h.weight_decay = -0.1), wd, "{kind:?}");
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
        // timm's Lamb does not check its betas.
        let checked = |k: &OptimizerKind| k.checked_options().contains(&OptionName::Betas);
        assert!(OptimizerKind::Lamb.has_betas() && !checked(&OptimizerKind::Lamb));
        for kind in OptimizerKind::ALL.into_iter().filter(checked) {
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

    /// Every check `optimizer_argument_checks.json` records for the optimizers optimc
    /// implements (torch 2.15, timm 1.0.31), by the option it points at.
    #[test]
    fn issue_15_argument_checks() {
        use OptimizerKind::*;
        type Edit = dyn Fn(&mut Hyperparams);
        let refused: &[(OptimizerKind, &Edit, OptionName)] = &[
            (Muon, &|h| h.lr = -1.0, OptionName::Lr),
            (Muon, &|h| h.momentum = -0.1, OptionName::Momentum),
            (Muon, &|h| h.weight_decay = -1.0, OptionName::WeightDecay),
            (Adafactor, &|h| h.beta2_decay = 0.5, OptionName::Beta2Decay),
            (Adafactor, &|h| h.d = 0.5, OptionName::D),
            (
                Adafactor,
                &|h| h.adafactor_eps = (Some(-1.0), 1e-3),
                OptionName::AdafactorEps,
            ),
            (
                Adafactor,
                &|h| h.adafactor_eps = (None, -1.0),
                OptionName::AdafactorEps,
            ),
            (Adafactor, &|h| h.lr = -0.1, OptionName::Lr),
            (
                Adafactor,
                &|h| h.weight_decay = -0.1,
                OptionName::WeightDecay,
            ),
            (Asgd, &|h| h.lr = -0.1, OptionName::Lr),
            (Asgd, &|h| h.weight_decay = -0.1, OptionName::WeightDecay),
            (Asgd, &|h| h.lambd = -0.1, OptionName::Lambd),
            (Asgd, &|h| h.alpha = -0.1, OptionName::Alpha),
            (Rprop, &|h| h.etas = (1.2, 0.5), OptionName::Etas),
            (Rprop, &|h| h.lr = -0.1, OptionName::Lr),
            (Lion, &|h| h.betas = (1.0, 0.99), OptionName::Betas),
            (Lion, &|h| h.lr = -0.1, OptionName::Lr),
            (Lamb, &|h| h.eps = -1.0, OptionName::Eps),
        ];
        for (kind, edit, option) in refused {
            assert_eq!(problems(*kind, edit), vec![*option], "{kind:?} {option:?}");
        }
        // Accepted: Lamb's betas are not checked; Adafactor's eps1 may be 0 or none.
        assert_eq!(problems(Lamb, |h| h.betas = (0.9, 1.0)), vec![]);
        assert_eq!(
            problems(Adafactor, |h| h.adafactor_eps = (Some(0.0), 0.0)),
            vec![]
        );
        assert_eq!(problems(Adafactor, |h| h.d = 1.0), vec![]);
        assert_eq!(problems(Adafactor, |h| h.beta2_decay = 0.0), vec![]);
        // Both etas wrong is one problem, naming both.
        let mut hp = Hyperparams::defaults(Rprop);
        hp.etas = (1.5, 0.9);
        let p = validate(Rprop, &hp);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("(1.5, 0.9)"), "{}", p[0].message);
        // Both of Adafactor's eps wrong: two problems.
        let mut hp = Hyperparams::defaults(Adafactor);
        hp.adafactor_eps = (Some(-1.0), -1.0);
        assert_eq!(validate(Adafactor, &hp).len(), 2);
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

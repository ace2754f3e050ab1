//! The optimizers: every optimizer is declared once, in the [`optimizers!`] table at the end of
//! this file, with its names, the options it takes (in PyTorch's positional order, with
//! PyTorch's defaults), the options it holds without taking them, and the argument checks its
//! PyTorch constructor makes. The table generates [`OptimizerKind`] with its names, option
//! lists and checks, and [`Hyperparams::defaults`].
//!
//! Options themselves (type, held value, range) are declared in [`super::options`].
//!
//! # Adding an optimizer
//!
//! 1. Each option it takes that optimc does not know yet: one line in the `options!` table
//!    of [`super::options`] (field, type, held value, [`Range`](super::Range)). A new rule
//!    is a `Range` variant and its arm in `validate.rs`'s `check_range` (used by `check`,
//!    for the optimizer and every group, and by the JSON/TOML import). A new kind of value (a
//!    string choice, a pair with an optional element) is an [`OptionType`](super::OptionType)
//!    impl and an [`OptionValue`](super::OptionValue) variant; the compiler then points at
//!    each `match` that must learn it. An option spelled like another of a different type
//!    (Adafactor's `eps` pair, Adam's `eps` number) gets its own field and `as "eps"`.
//! 2. One entry in the `optimizers!` table below: names, `takes` with PyTorch's defaults and
//!    its `*`, `holds`, `checks` in PyTorch's order and `then` a function for checks over
//!    several arguments. That gives the `.optim` name, argument binding, defaults and
//!    redundant-default warnings, range checks, import, and the export's
//!    `torch.optim.<Torch>(...)` line.
//! 3. Its kernel in `src/optim/kernels/`, and its arms in `src/optim/mod.rs` (`buffer_names`,
//!    `Slot::new`, `Slot::prepare`, `whole_tensor`, `kernel` or `Slot::step_whole`: exhaustive
//!    matches, so a missing one does not compile).
//! 4. Fixtures: `tests/fixtures/invalid/` for its argument checks, and its conformance cases.

use super::options::field;
use super::validate::OptionProblem;
use super::{Hyperparams, OptionName};
use serde::{Deserialize, Serialize};

/// Declares every optimizer:
///
/// ```text
/// Variant = "name", torch "TorchClass" [from "python.module"] {
///     takes: [positional = default, ...; keyword_only = default, ...],
///     holds: [option = value, ...],
///     checks: [option, ...] then extra_checks,
/// }
/// ```
///
/// - `takes`: the options the constructor accepts, by field name, in its positional order; those
///   after `;` are keyword-only (after PyTorch's `*`). The defaults are PyTorch's.
/// - `holds`: options the optimizer keeps in its `defaults` without taking them (AdamW's
///   `decoupled_weight_decay = true`). Every other option keeps its held value from
///   [`super::options`].
/// - `checks`: the options whose [`range`](OptionName::range) the constructor checks, in the
///   order it checks them; `then f` adds a check over several arguments, run after them
///   (`f(kind, &hyperparams, &mut problems)`).
macro_rules! optimizers {
    (@module) => { "torch.optim" };
    (@module $module:literal) => { $module };
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, torch $torch:literal $(from $module:literal)? {
            takes: [$($pos:ident = $pos_default:expr),* ; $($kw:ident = $kw_default:expr),*],
            holds: [$($held:ident = $held_value:expr),*],
            checks: [$($checked:ident),*] $(then $also:path)?,
        }
    )*) => {
        /// The optimizers optimc implements, named as in PyTorch's `torch.optim`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum OptimizerKind {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl OptimizerKind {
            /// Every optimizer, in declaration order.
            pub const ALL: [OptimizerKind; [$(stringify!($variant)),*].len()] =
                [$(OptimizerKind::$variant,)*];

            /// The name used in `.optim` files.
            pub fn name(self) -> &'static str {
                match self {
                    $(OptimizerKind::$variant => $name,)*
                }
            }

            /// The class name in `torch.optim`.
            pub fn torch_name(self) -> &'static str {
                match self {
                    $(OptimizerKind::$variant => $torch,)*
                }
            }

            /// The Python module the class is in: `torch.optim`, or `timm.optim` for the
            /// optimizers timm provides.
            pub fn python_module(self) -> &'static str {
                match self {
                    $(OptimizerKind::$variant => optimizers!(@module $($module)?),)*
                }
            }

            /// The options this optimizer takes, in PyTorch's positional order. Options from
            /// `keyword_only_from` on can only be given by name (PyTorch's `*`).
            pub fn options(self) -> (&'static [OptionName], usize) {
                match self {
                    $(OptimizerKind::$variant => (
                        &[$(field::$pos,)* $(field::$kw,)*],
                        const { <[&str]>::len(&[$(stringify!($pos)),*]) },
                    ),)*
                }
            }

            /// The names of [`options`](Self::options), in the same order.
            pub fn option_names(self) -> &'static [&'static str] {
                match self {
                    $(OptimizerKind::$variant => const {
                        &[$(field::$pos.name(),)* $(field::$kw.name(),)*]
                    },)*
                }
            }

            /// The options whose range PyTorch's constructor checks, in the order it checks them.
            pub fn checked_options(self) -> &'static [OptionName] {
                match self {
                    $(OptimizerKind::$variant => &[$(field::$checked,)*],)*
                }
            }

            /// The constructor's checks over several arguments (after the range checks).
            pub(crate) fn check_arguments(self, hp: &Hyperparams, out: &mut Vec<OptionProblem>) {
                let _ = (&hp, &out);
                match self {
                    $(OptimizerKind::$variant => { $($also(self, hp, out);)? })*
                }
            }
        }

        impl Hyperparams {
            /// PyTorch's defaults for `kind` (its constructor's keyword defaults).
            pub fn defaults(kind: OptimizerKind) -> Self {
                let mut hp = Hyperparams::HELD;
                match kind {
                    $(OptimizerKind::$variant => {
                        $(hp.$pos = $pos_default;)*
                        $(hp.$kw = $kw_default;)*
                        $(hp.$held = $held_value;)*
                    })*
                }
                hp
            }
        }
    };
}

optimizers! {
    Sgd = "sgd", torch "SGD" {
        takes: [lr = 1e-3, momentum = 0.0, dampening = 0.0, weight_decay = 0.0, nesterov = false;
                maximize = false],
        holds: [],
        checks: [lr, momentum, weight_decay] then super::validate::sgd_nesterov,
    }
    Adam = "adam", torch "Adam" {
        takes: [lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0, amsgrad = false;
                maximize = false, decoupled_weight_decay = false],
        holds: [],
        checks: [lr, eps, betas, weight_decay],
    }
    AdamW = "adamw", torch "AdamW" {
        takes: [lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 1e-2, amsgrad = false;
                maximize = false],
        holds: [decoupled_weight_decay = true],
        checks: [lr, eps, betas, weight_decay],
    }
    RmsProp = "rmsprop", torch "RMSprop" {
        takes: [lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0,
                centered = false; maximize = false],
        holds: [],
        checks: [lr, eps, momentum, weight_decay, alpha],
    }
    Adagrad = "adagrad", torch "Adagrad" {
        takes: [lr = 1e-2, lr_decay = 0.0, weight_decay = 0.0, initial_accumulator_value = 0.0,
                eps = 1e-10; maximize = false],
        holds: [],
        checks: [lr, lr_decay, weight_decay, initial_accumulator_value, eps],
    }
    Adadelta = "adadelta", torch "Adadelta" {
        takes: [lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0.0; maximize = false],
        holds: [],
        checks: [lr, rho, eps, weight_decay],
    }
    Adamax = "adamax", torch "Adamax" {
        takes: [lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0; maximize = false],
        holds: [],
        checks: [lr, eps, betas, weight_decay],
    }
    NAdam = "nadam", torch "NAdam" {
        takes: [lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0,
                momentum_decay = 4e-3, decoupled_weight_decay = false; maximize = false],
        holds: [],
        checks: [lr, eps, betas, weight_decay, momentum_decay],
    }
    RAdam = "radam", torch "RAdam" {
        takes: [lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0,
                decoupled_weight_decay = false; maximize = false],
        holds: [],
        checks: [lr, eps, betas, weight_decay],
    }
    Rprop = "rprop", torch "Rprop" {
        takes: [lr = 1e-2, etas = (0.5, 1.2), step_sizes = (1e-6, 50.0); maximize = false],
        holds: [],
        checks: [lr, etas],
    }
    /// PyTorch's `foreach` sits between `weight_decay` and `maximize`; optimc has no `foreach`,
    /// so `maximize` is by keyword only.
    Asgd = "asgd", torch "ASGD" {
        takes: [lr = 1e-2, lambd = 1e-4, alpha = 0.75, t0 = 1e6, weight_decay = 0.0;
                maximize = false],
        holds: [],
        checks: [lr, lambd, alpha, weight_decay],
    }
    /// timm's Lion (timm is the reference; PyTorch has none).
    Lion = "lion", torch "Lion" from "timm.optim" {
        takes: [lr = 1e-4, betas = (0.9, 0.99), weight_decay = 0.0, caution = false,
                corrected_weight_decay = false, maximize = false;],
        holds: [],
        checks: [lr, betas],
    }
    /// timm's Lamb (timm is the reference; PyTorch has none).
    Lamb = "lamb", torch "Lamb" from "timm.optim" {
        takes: [lr = 1e-3, bias_correction = true, betas = (0.9, 0.999), eps = 1e-6,
                weight_decay = 0.01, grad_averaging = true, max_grad_norm = Some(1.0),
                trust_clip = false, always_adapt = false, caution = false,
                decoupled_decay = false, corrected_weight_decay = false;],
        holds: [],
        checks: [lr, eps, weight_decay],
    }
    Adafactor = "adafactor", torch "Adafactor" {
        takes: [lr = 1e-2, beta2_decay = -0.8, adafactor_eps = (None, 1e-3), d = 1.0,
                weight_decay = 0.0; maximize = false],
        holds: [],
        checks: [lr, beta2_decay, adafactor_eps, d, weight_decay],
    }
    /// Takes only 2-D parameters ([`OptimizerKind::takes_shape`]).
    Muon = "muon", torch "Muon" {
        takes: [lr = 1e-3, weight_decay = 0.1, momentum = 0.95, nesterov = true,
                ns_coefficients = crate::optim::kernels::MUON_NS_COEFFICIENTS, eps = 1e-7,
                ns_steps = 5, adjust_lr_fn = None;],
        holds: [],
        checks: [lr, momentum, weight_decay],
    }
}

impl OptimizerKind {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The option this optimizer takes that is spelled `name`.
    pub fn option(self, name: &str) -> Option<OptionName> {
        self.options().0.iter().copied().find(|o| o.name() == name)
    }

    /// Whether the optimizer keeps `betas` (so `cyclic`/`one_cycle` cycle `betas[0]`), as
    /// PyTorch's `"betas" in optimizer.defaults`.
    pub fn has_betas(self) -> bool {
        self.options().0.contains(&OptionName::Betas)
    }

    /// Whether the optimizer takes a parameter of shape `shape`: Muon only takes matrices (PyTorch
    /// refuses any other parameter when the optimizer is built); the others take any shape.
    pub fn takes_shape(self, shape: &[usize]) -> bool {
        self != OptimizerKind::Muon || shape.len() == 2
    }

    /// Whether the optimizer reads `option` from its own options only, so that a group's value
    /// has no effect: timm's Lamb clips every group's gradients together with the
    /// constructor's `max_grad_norm`.
    pub fn reads_only_from_optimizer(self, option: OptionName) -> bool {
        self == OptimizerKind::Lamb && option == OptionName::MaxGradNorm
    }

    /// Whether the optimizer has a `momentum` option, as PyTorch's `"momentum" in optimizer.defaults`.
    pub fn has_momentum(self) -> bool {
        self.options().0.contains(&OptionName::Momentum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OptionValue;

    #[test]
    fn names_are_unique_and_serialized_as_written() {
        for kind in OptimizerKind::ALL {
            assert_eq!(OptimizerKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.name())
            );
            let (options, positional) = kind.options();
            assert!(positional <= options.len(), "{kind:?}");
            let names: Vec<&str> = options.iter().map(|o| o.name()).collect();
            assert_eq!(names, kind.option_names(), "{kind:?}");
            for (i, o) in options.iter().enumerate() {
                assert!(!options[..i].contains(o), "{kind:?} takes {o:?} twice");
                assert_eq!(kind.option(o.name()), Some(*o));
            }
            for o in kind.checked_options() {
                assert!(
                    options.contains(o),
                    "{kind:?} checks {o:?}, which it does not take"
                );
            }
        }
    }

    #[test]
    fn held_options_are_not_taken() {
        let adamw = OptimizerKind::AdamW;
        assert!(!adamw
            .options()
            .0
            .contains(&OptionName::DecoupledWeightDecay));
        assert_eq!(
            Hyperparams::defaults(adamw).get(OptionName::DecoupledWeightDecay),
            OptionValue::Bool(true)
        );
        assert!(!Hyperparams::defaults(OptimizerKind::Adam).decoupled_weight_decay);
    }
}

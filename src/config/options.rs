//! Optimizer options: every option is declared once, in the [`options!`] table at the end of
//! this file, with its Rust type, the value it holds where no optimizer sets one, and its range.
//! The table generates [`OptionName`], the fields of [`Hyperparams`], their names, typed
//! [`Hyperparams::get`] / [`Hyperparams::set`] and the all-optional [`HyperparamOverrides`] read
//! from JSON/TOML, so an option cannot be added to one of them and forgotten in another.
//!
//! Which options an optimizer takes, and its defaults for them, are declared in
//! [`super::optimizers`].

use super::validate::{Example, Range};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of value an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionValueKind {
    Number,
    Bool,
    /// A 2-tuple of numbers (`betas`).
    Pair,
}

/// The value of one option, whatever its kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptionValue {
    Number(f64),
    Bool(bool),
    Pair(f64, f64),
}

impl OptionValue {
    pub fn kind(self) -> OptionValueKind {
        match self {
            OptionValue::Number(_) => OptionValueKind::Number,
            OptionValue::Bool(_) => OptionValueKind::Bool,
            OptionValue::Pair(..) => OptionValueKind::Pair,
        }
    }
}

/// As written in a `.optim` file: `0.1`, `true`, `(0.9, 0.999)`.
impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::diagnostic::text::format_number as num;
        match self {
            OptionValue::Number(v) => f.write_str(&num(*v)),
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Pair(a, b) => write!(f, "({}, {})", num(*a), num(*b)),
        }
    }
}

/// A Rust type an option's value is held in. A new kind of value (a string choice, a pair with
/// an optional element) is one implementation of this trait plus an [`OptionValue`] variant;
/// the compiler then points at every `match` over [`OptionValueKind`] that must learn it.
pub trait OptionType: Copy {
    const KIND: OptionValueKind;
    fn to_value(self) -> OptionValue;
    /// `None` if `v` is of another kind.
    fn from_value(v: OptionValue) -> Option<Self>;
    /// Writes the value as a [`Hyperparams`] field (numbers as [`crate::number`] says, so a
    /// schedule's infinite or NaN lr reads back exactly from a state file).
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    /// Reads what [`serialize_field`](Self::serialize_field) wrote.
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// `#[serde(with = "field_serde")]` for every [`Hyperparams`] field: its [`OptionType`]'s way.
mod field_serde {
    use super::OptionType;
    use serde::{Deserializer, Serializer};

    pub fn serialize<T: OptionType, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        v.serialize_field(s)
    }

    pub fn deserialize<'de, T: OptionType, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        T::deserialize_field(d)
    }
}

impl OptionType for f64 {
    const KIND: OptionValueKind = OptionValueKind::Number;
    fn to_value(self) -> OptionValue {
        OptionValue::Number(self)
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::Number(n) => Some(n),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::number::float::serialize(self, s)
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::number::float::deserialize(d)
    }
}

impl OptionType for bool {
    const KIND: OptionValueKind = OptionValueKind::Bool;
    fn to_value(self) -> OptionValue {
        OptionValue::Bool(self)
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::Bool(b) => Some(b),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize(s)
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        bool::deserialize(d)
    }
}

impl OptionType for (f64, f64) {
    const KIND: OptionValueKind = OptionValueKind::Pair;
    fn to_value(self) -> OptionValue {
        OptionValue::Pair(self.0, self.1)
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::Pair(a, b) => Some((a, b)),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::number::pair::serialize(self, s)
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::number::pair::deserialize(d)
    }
}

/// The spelling of an option: its field name, or the `as "name"` given.
macro_rules! option_spelling {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $spelled:literal) => {
        $spelled
    };
}

/// Declares every option: `Variant field [as "spelling"]: Type = held, range Range,`. `held` is
/// the value an optimizer that does not take the option keeps (PyTorch keeps none; it is what
/// `export` prints). The spelling defaults to the field name; give `as "name"` when two
/// optimizers spell differently-typed options the same (the field and JSON key stay distinct).
macro_rules! options {
    ($(
        $(#[$doc:meta])*
        $variant:ident $field:ident $(as $spelled:literal)?: $ty:ty = $held:expr, range $range:expr,
    )*) => {
        /// Every optimizer option the language knows, by its PyTorch keyword.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OptionName {
            $($(#[$doc])* $variant,)*
        }

        impl OptionName {
            /// Every option, in declaration order.
            pub const ALL: [OptionName; [$(stringify!($variant)),*].len()] =
                [$(OptionName::$variant,)*];

            /// The keyword, as written in `.optim` files and in PyTorch.
            pub const fn name(self) -> &'static str {
                match self {
                    $(OptionName::$variant => option_spelling!($field $(, $spelled)?),)*
                }
            }

            /// The kind of value the option takes.
            pub fn value_kind(self) -> OptionValueKind {
                match self {
                    $(OptionName::$variant => <$ty as OptionType>::KIND,)*
                }
            }

            /// The values PyTorch accepts, checked by [`crate::config::validate`] for the
            /// optimizers that check this option.
            pub fn range(self) -> Range {
                match self {
                    $(OptionName::$variant => $range,)*
                }
            }
        }

        /// An optimizer's hyperparameters for one group. Every optimizer's options live here;
        /// each optimizer reads the ones it has. Values are f64, as PyTorch keeps them in
        /// Python floats; in JSON (state files) they are written as [`crate::number`] says, so
        /// a schedule's infinite or NaN lr reads back exactly.
        #[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
        pub struct Hyperparams {
            $($(#[$doc])* #[serde(with = "field_serde")] pub $field: $ty,)*
        }

        impl Hyperparams {
            /// The values held where no optimizer sets one; [`Hyperparams::defaults`] starts here.
            pub(crate) const HELD: Hyperparams = Hyperparams { $($field: $held,)* };

            /// The value of `option`.
            pub fn get(&self, option: OptionName) -> OptionValue {
                match option {
                    $(OptionName::$variant => OptionType::to_value(self.$field),)*
                }
            }

            /// Sets `option` to `value`; `false` (and nothing changed) if `value` is not of the
            /// option's [`value_kind`](OptionName::value_kind).
            #[must_use]
            pub fn set(&mut self, option: OptionName, value: OptionValue) -> bool {
                match option {
                    $(OptionName::$variant => match <$ty as OptionType>::from_value(value) {
                        Some(v) => {
                            self.$field = v;
                            true
                        }
                        None => false,
                    },)*
                }
            }
        }

        /// [`Hyperparams`] with every option optional: options as a hand-written JSON/TOML
        /// configuration gives them. Unknown keys are refused.
        #[derive(Clone, Debug, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct HyperparamOverrides {
            $(pub $field: Option<$ty>,)*
        }

        impl HyperparamOverrides {
            /// `base` with the options given here replaced.
            pub fn over(&self, base: Hyperparams) -> Hyperparams {
                Hyperparams {
                    $($field: self.$field.unwrap_or(base.$field),)*
                }
            }
        }

        /// Each option by its field name, for the optimizer table's macro (which names options
        /// by field, so that their defaults are typed by the compiler).
        #[allow(non_upper_case_globals)]
        pub(super) mod field {
            use super::OptionName;
            $(pub const $field: OptionName = OptionName::$variant;)*
        }
    };
}

options! {
    /// The learning rate.
    Lr lr: f64 = 1e-3,
        range Range::NonNegative { what: "the learning rate `lr`", example: Example::Default },
    Momentum momentum: f64 = 0.0,
        range Range::NonNegative { what: "`momentum`", example: Example::Off },
    Dampening dampening: f64 = 0.0, range Range::Unchecked,
    Nesterov nesterov: bool = false, range Range::Unchecked,
    WeightDecay weight_decay: f64 = 0.0,
        range Range::NonNegative { what: "`weight_decay`", example: Example::Off },
    Maximize maximize: bool = false, range Range::Unchecked,
    /// The decay rates of the first and second moment averages.
    Betas betas: (f64, f64) = (0.9, 0.999), range Range::DecayPair,
    Eps eps: f64 = 1e-8,
        range Range::NonNegative { what: "`eps`", example: Example::DefaultExp },
    Amsgrad amsgrad: bool = false, range Range::Unchecked,
    /// RMSprop's smoothing constant.
    Alpha alpha: f64 = 0.99,
        range Range::NonNegative { what: "the smoothing constant `alpha`", example: Example::Default },
    Centered centered: bool = false, range Range::Unchecked,
    LrDecay lr_decay: f64 = 0.0,
        range Range::NonNegative { what: "`lr_decay`", example: Example::Off },
    InitialAccumulatorValue initial_accumulator_value: f64 = 0.0,
        range Range::NonNegative { what: "`initial_accumulator_value`", example: Example::Off },
    /// Adadelta's decay rate.
    Rho rho: f64 = 0.9, range Range::Fraction,
    MomentumDecay momentum_decay: f64 = 4e-3,
        range Range::NonNegative { what: "`momentum_decay`", example: Example::Default },
    DecoupledWeightDecay decoupled_weight_decay: bool = false, range Range::Unchecked,
}

impl OptionName {
    /// The option spelled `name`, if any optimizer has one. Two optimizers may spell different
    /// options alike; to find the one an optimizer takes, use
    /// [`OptimizerKind::option`](super::OptimizerKind::option).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_set_agree_on_every_option() {
        for option in OptionName::ALL {
            let mut hp = Hyperparams::HELD;
            let v = match option.value_kind() {
                OptionValueKind::Number => OptionValue::Number(123.5),
                OptionValueKind::Bool => {
                    OptionValue::Bool(!matches!(hp.get(option), OptionValue::Bool(true)))
                }
                OptionValueKind::Pair => OptionValue::Pair(0.25, 0.5),
            };
            assert_eq!(v.kind(), option.value_kind(), "{option:?}");
            assert!(hp.set(option, v), "{option:?}");
            assert_eq!(hp.get(option), v, "{option:?}");
            // Every other option is untouched.
            for other in OptionName::ALL.into_iter().filter(|o| *o != option) {
                assert_eq!(hp.get(other), Hyperparams::HELD.get(other), "{other:?}");
            }
            let wrong = match option.value_kind() {
                OptionValueKind::Bool => OptionValue::Number(1.0),
                _ => OptionValue::Bool(true),
            };
            assert!(!hp.set(option, wrong), "{option:?}");
            assert_eq!(hp.get(option), v, "{option:?}");
        }
    }

    #[test]
    fn names_are_the_serialized_keys() {
        let json = serde_json::to_value(Hyperparams::HELD).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut names: Vec<&str> = OptionName::ALL.iter().map(|o| o.name()).collect();
        keys.sort_unstable();
        names.sort_unstable();
        assert_eq!(keys, names);
        for o in OptionName::ALL {
            assert_eq!(OptionName::from_name(o.name()), Some(o));
        }
        assert_eq!(OptionName::from_name("lambd"), None);
    }

    #[test]
    fn overrides_replace_only_what_they_give() {
        let o: HyperparamOverrides =
            serde_json::from_str(r#"{"lr": 0.5, "betas": [0.8, 0.9]}"#).unwrap();
        let hp = o.over(Hyperparams::HELD);
        assert_eq!(hp.lr, 0.5);
        assert_eq!(hp.betas, (0.8, 0.9));
        assert_eq!(hp.eps, Hyperparams::HELD.eps);
        assert!(serde_json::from_str::<HyperparamOverrides>(r#"{"lrr": 1}"#).is_err());
    }
}

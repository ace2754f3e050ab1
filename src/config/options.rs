//! Optimizer options: every option is declared once, in the [`options!`] table at the end of
//! this file, with its Rust type, the value it holds where no optimizer sets one, and its range.
//! The table generates [`OptionName`], the fields of [`Hyperparams`], their names, typed
//! [`Hyperparams::get`] / [`Hyperparams::set`] and the all-optional [`HyperparamOverrides`] read
//! from JSON/TOML, so an option cannot be added to one of them and forgotten in another.
//!
//! Which options an optimizer takes, and its defaults for them, are declared in
//! [`super::optimizers`].

use super::validate::{Example, Range};
use crate::optim::kernels::MuonAdjustLr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of value an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionValueKind {
    Number,
    Bool,
    /// A 2-tuple of numbers (`betas`).
    Pair,
    /// A 2-tuple whose first number may be `none` (Adafactor's `eps = (none, 1e-3)`).
    MaybePair,
    /// A 3-tuple of numbers (Muon's `ns_coefficients`).
    Triple,
    /// A whole number (Muon's `ns_steps`), at most [`crate::limits::MAX_OPTION_COUNT`].
    Count,
    /// A number or `none` (Lamb's `max_grad_norm`).
    MaybeNumber,
    /// One of a few strings, or `none` (Muon's `adjust_lr_fn`); see [`OptionName::choices`].
    Choice,
}

/// The value of one option, whatever its kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptionValue {
    Number(f64),
    Bool(bool),
    Pair(f64, f64),
    MaybePair(Option<f64>, f64),
    Triple(f64, f64, f64),
    Count(u32),
    MaybeNumber(Option<f64>),
    /// One of the option's [`choices`](OptionName::choices), or `None`.
    Choice(Option<&'static str>),
}

impl OptionValue {
    pub fn kind(self) -> OptionValueKind {
        match self {
            OptionValue::Number(_) => OptionValueKind::Number,
            OptionValue::Bool(_) => OptionValueKind::Bool,
            OptionValue::Pair(..) => OptionValueKind::Pair,
            OptionValue::MaybePair(..) => OptionValueKind::MaybePair,
            OptionValue::Triple(..) => OptionValueKind::Triple,
            OptionValue::Count(_) => OptionValueKind::Count,
            OptionValue::MaybeNumber(_) => OptionValueKind::MaybeNumber,
            OptionValue::Choice(_) => OptionValueKind::Choice,
        }
    }
}

/// As written in a `.optim` file: `0.1`, `true`, `(0.9, 0.999)`, `(none, 0.001)`, `5`, `none`,
/// `"original"`.
impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::diagnostic::text::format_number as num;
        let maybe = |v: Option<f64>| v.map_or_else(|| "none".to_string(), num);
        match self {
            OptionValue::Number(v) => f.write_str(&num(*v)),
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Pair(a, b) => write!(f, "({}, {})", num(*a), num(*b)),
            OptionValue::MaybePair(a, b) => write!(f, "({}, {})", maybe(*a), num(*b)),
            OptionValue::Triple(a, b, c) => write!(f, "({}, {}, {})", num(*a), num(*b), num(*c)),
            OptionValue::Count(n) => write!(f, "{n}"),
            OptionValue::MaybeNumber(v) => f.write_str(&maybe(*v)),
            OptionValue::Choice(Some(c)) => write!(f, "\"{c}\""),
            OptionValue::Choice(None) => f.write_str("none"),
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
    /// Reads the value as a hand-written JSON/TOML configuration gives it
    /// ([`HyperparamOverrides`]); by default as [`deserialize_field`](Self::deserialize_field).
    fn deserialize_given<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::deserialize_field(d)
    }
    /// The strings a [`OptionValueKind::Choice`] takes; empty for every other kind.
    fn choices() -> &'static [&'static str] {
        &[]
    }
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

    /// For [`super::HyperparamOverrides`]: a given value (a missing one is `None` by `default`).
    pub fn deserialize_given<'de, T: OptionType, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        T::deserialize_given(d).map(Some)
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
    fn deserialize_given<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d)
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
    fn deserialize_given<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <(f64, f64)>::deserialize(d)
    }
}

/// How `none` is written: JSON's `null`, except while [`writing_toml`] (TOML has no null), where
/// it is the string `"none"`. Both read back as `none`.
mod none_text {
    use std::cell::Cell;

    thread_local! {
        static AS_TEXT: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn as_text() -> bool {
        AS_TEXT.with(Cell::get)
    }

    /// Runs `f` with `none` written as the string `"none"`.
    pub fn writing_toml<R>(f: impl FnOnce() -> R) -> R {
        let before = AS_TEXT.with(|c| c.replace(true));
        let out = f();
        AS_TEXT.with(|c| c.set(before));
        out
    }
}

pub(crate) use none_text::writing_toml;

fn serialize_none<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
    if none_text::as_text() {
        s.serialize_str("none")
    } else {
        s.serialize_none()
    }
}

/// A number that may be `none`, as a field value: `null`/`"none"`, or a number as
/// [`crate::number`] writes it.
#[derive(Clone, Copy)]
struct MaybeNum(Option<f64>);

impl Serialize for MaybeNum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => crate::number::Num(v).serialize(s),
            None => serialize_none(s),
        }
    }
}

impl<'de> Deserialize<'de> for MaybeNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MaybeNum;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or none")
            }
            fn visit_unit<E>(self) -> Result<MaybeNum, E> {
                Ok(MaybeNum(None))
            }
            fn visit_none<E>(self) -> Result<MaybeNum, E> {
                Ok(MaybeNum(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<MaybeNum, D::Error> {
                MaybeNum::deserialize(d)
            }
            fn visit_f64<E>(self, v: f64) -> Result<MaybeNum, E> {
                Ok(MaybeNum(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<MaybeNum, E> {
                Ok(MaybeNum(Some(v as f64)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<MaybeNum, E> {
                Ok(MaybeNum(Some(v as f64)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MaybeNum, E> {
                if v.eq_ignore_ascii_case("none") {
                    return Ok(MaybeNum(None));
                }
                crate::number::parse_non_finite(v)
                    .map(|x| MaybeNum(Some(x)))
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl OptionType for Option<f64> {
    const KIND: OptionValueKind = OptionValueKind::MaybeNumber;
    fn to_value(self) -> OptionValue {
        OptionValue::MaybeNumber(self)
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::MaybeNumber(n) => Some(n),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MaybeNum(*self).serialize(s)
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(MaybeNum::deserialize(d)?.0)
    }
}

impl OptionType for (Option<f64>, f64) {
    const KIND: OptionValueKind = OptionValueKind::MaybePair;
    fn to_value(self) -> OptionValue {
        OptionValue::MaybePair(self.0, self.1)
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::MaybePair(a, b) => Some((a, b)),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (MaybeNum(self.0), crate::number::Num(self.1)).serialize(s)
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (a, b) = <(MaybeNum, crate::number::Num<f64>)>::deserialize(d)?;
        Ok((a.0, b.0))
    }
}

impl OptionType for (f64, f64, f64) {
    const KIND: OptionValueKind = OptionValueKind::Triple;
    fn to_value(self) -> OptionValue {
        OptionValue::Triple(self.0, self.1, self.2)
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::Triple(a, b, c) => Some((a, b, c)),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use crate::number::Num;
        (Num(self.0), Num(self.1), Num(self.2)).serialize(s)
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::number::Num;
        let (a, b, c) = <(Num<f64>, Num<f64>, Num<f64>)>::deserialize(d)?;
        Ok((a.0, b.0, c.0))
    }
}

impl OptionType for u32 {
    const KIND: OptionValueKind = OptionValueKind::Count;
    fn to_value(self) -> OptionValue {
        OptionValue::Count(self)
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::Count(n) => Some(n),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize(s)
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(d)?;
        if u64::from(n) > crate::limits::MAX_OPTION_COUNT {
            return Err(serde::de::Error::custom(format!(
                "{n} is more than optimc allows here (at most {})",
                crate::limits::MAX_OPTION_COUNT
            )));
        }
        Ok(n)
    }
}

/// Muon's `adjust_lr_fn`, `None` being PyTorch's default (which acts as `"original"`).
impl OptionType for Option<MuonAdjustLr> {
    const KIND: OptionValueKind = OptionValueKind::Choice;
    fn to_value(self) -> OptionValue {
        OptionValue::Choice(self.map(MuonAdjustLr::name))
    }
    fn from_value(v: OptionValue) -> Option<Self> {
        match v {
            OptionValue::Choice(None) => Some(None),
            OptionValue::Choice(Some(name)) => MuonAdjustLr::from_name(name).map(Some),
            _ => None,
        }
    }
    fn serialize_field<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(a) => s.serialize_str(a.name()),
            None => serialize_none(s),
        }
    }
    fn deserialize_field<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(t) if t.eq_ignore_ascii_case("none") => Ok(None),
            Some(t) => MuonAdjustLr::from_name(&t).map(Some).ok_or_else(|| {
                serde::de::Error::unknown_variant(&t, <Self as OptionType>::choices())
            }),
        }
    }
    fn choices() -> &'static [&'static str] {
        MuonAdjustLr::NAMES
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

            /// The field of [`Hyperparams`] holding it (its key in JSON/TOML), which differs from
            /// its [`name`](Self::name) for an option spelled `as` another's name.
            pub const fn field_name(self) -> &'static str {
                match self {
                    $(OptionName::$variant => stringify!($field),)*
                }
            }

            /// The kind of value the option takes.
            pub fn value_kind(self) -> OptionValueKind {
                match self {
                    $(OptionName::$variant => <$ty as OptionType>::KIND,)*
                }
            }

            /// The strings the option takes, if it is a [`OptionValueKind::Choice`].
            pub fn choices(self) -> &'static [&'static str] {
                match self {
                    $(OptionName::$variant => <$ty as OptionType>::choices(),)*
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
            $(#[serde(deserialize_with = "field_serde::deserialize_given")] pub $field: Option<$ty>,)*
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
    /// RMSprop's smoothing constant; ASGD's power of the eta update.
    Alpha alpha: f64 = 0.99,
        range Range::NonNegative { what: "`alpha`", example: Example::Default },
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
    /// ASGD's decay term.
    Lambd lambd: f64 = 1e-4,
        range Range::NonNegative { what: "`lambd`", example: Example::DefaultExp },
    /// ASGD's point at which to start averaging.
    T0 t0: f64 = 1e6, range Range::Unchecked,
    /// Rprop's multiplicative decrease and increase factors `(etaminus, etaplus)`.
    Etas etas: (f64, f64) = (0.5, 1.2), range Range::Etas,
    /// Rprop's minimal and maximal step sizes.
    StepSizes step_sizes: (f64, f64) = (1e-6, 50.0), range Range::Unchecked,
    /// Adafactor's decay rate of the second moment's averaging weight.
    Beta2Decay beta2_decay: f64 = -0.8, range Range::NonPositive,
    /// Adafactor's `(eps1, eps2)`: `eps1 = none` is float32's machine epsilon. Spelled `eps`
    /// like Adam's number.
    AdafactorEps adafactor_eps as "eps": (Option<f64>, f64) = (None, 1e-3),
        range Range::EpsPair,
    /// Adafactor's clipping threshold of the update's RMS.
    D d: f64 = 1.0, range Range::AtLeastOne,
    /// Muon's Newton-Schulz coefficients `(a, b, c)`.
    NsCoefficients ns_coefficients: (f64, f64, f64) = crate::optim::kernels::MUON_NS_COEFFICIENTS,
        range Range::Unchecked,
    /// Muon's number of Newton-Schulz iterations.
    NsSteps ns_steps: u32 = 5, range Range::Unchecked,
    /// Muon's scaling of the lr by the parameter's shape.
    AdjustLrFn adjust_lr_fn: Option<MuonAdjustLr> = None, range Range::Unchecked,
    /// Lamb's bias correction of the moments.
    BiasCorrection bias_correction: bool = false, range Range::Unchecked,
    /// Lamb: scale the gradient by `1 - beta1` in the first moment.
    GradAveraging grad_averaging: bool = false, range Range::Unchecked,
    /// Lamb's global gradient-norm clipping threshold (read from the optimizer's options only,
    /// as timm does); `none` turns clipping off.
    MaxGradNorm max_grad_norm: Option<f64> = None, range Range::Unchecked,
    /// Lamb (LAMBC): cap the trust ratio at 1.
    TrustClip trust_clip: bool = false, range Range::Unchecked,
    /// Lamb: apply the trust ratio also to parameters without weight decay.
    AlwaysAdapt always_adapt: bool = false, range Range::Unchecked,
    /// Lion, Lamb: "cautious" updates (masked where the update and gradient disagree in sign).
    Caution caution: bool = false, range Range::Unchecked,
    /// Lamb: decay the parameter directly instead of adding the decay to the update.
    DecoupledDecay decoupled_decay: bool = false, range Range::Unchecked,
    /// Lion, Lamb: decay with `lr^2 / max_lr` (`max_lr` the optimizer's own lr).
    CorrectedWeightDecay corrected_weight_decay: bool = false, range Range::Unchecked,
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

    /// A value of `kind` unlike every held value.
    fn sample(kind: OptionValueKind) -> OptionValue {
        match kind {
            OptionValueKind::Number => OptionValue::Number(123.5),
            OptionValueKind::Bool => unreachable!("flags are flipped"),
            OptionValueKind::Pair => OptionValue::Pair(0.25, 0.5),
            OptionValueKind::MaybePair => OptionValue::MaybePair(Some(0.25), 0.5),
            OptionValueKind::Triple => OptionValue::Triple(0.25, 0.5, 0.75),
            OptionValueKind::Count => OptionValue::Count(7),
            OptionValueKind::MaybeNumber => OptionValue::MaybeNumber(Some(0.25)),
            OptionValueKind::Choice => OptionValue::Choice(Some("spectral_unclamped")),
        }
    }

    #[test]
    fn get_and_set_agree_on_every_option() {
        for option in OptionName::ALL {
            let mut hp = Hyperparams::HELD;
            let v = match option.value_kind() {
                OptionValueKind::Bool => {
                    OptionValue::Bool(!matches!(hp.get(option), OptionValue::Bool(true)))
                }
                kind => sample(kind),
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
            assert_eq!(
                !option.choices().is_empty(),
                option.value_kind() == OptionValueKind::Choice,
                "{option:?}"
            );
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
        let mut fields: Vec<&str> = OptionName::ALL.iter().map(|o| o.field_name()).collect();
        keys.sort_unstable();
        fields.sort_unstable();
        assert_eq!(keys, fields);
        for o in OptionName::ALL {
            // An option spelled like another is found through its optimizer.
            if o.field_name() == o.name() {
                assert_eq!(OptionName::from_name(o.name()), Some(o));
            }
        }
        assert_eq!(OptionName::from_name("eps"), Some(OptionName::Eps));
        assert_eq!(OptionName::from_name("lambda"), None);
    }

    #[test]
    fn none_and_new_kinds_round_trip_through_json_and_toml() {
        let mut hp = Hyperparams::HELD;
        hp.adafactor_eps = (None, 1e-3);
        hp.max_grad_norm = None;
        hp.adjust_lr_fn = Some(MuonAdjustLr::MatchRmsAdamw);
        hp.ns_coefficients = (1.0, -2.5, 3.0);
        hp.ns_steps = 3;
        let json = serde_json::to_string(&hp).unwrap();
        assert!(json.contains(r#""adafactor_eps":[null,0.001]"#), "{json}");
        assert!(json.contains(r#""max_grad_norm":null"#), "{json}");
        assert_eq!(serde_json::from_str::<Hyperparams>(&json).unwrap(), hp);
        let toml = writing_toml(|| toml::to_string(&hp)).unwrap();
        assert!(toml.contains(r#"max_grad_norm = "none""#), "{toml}");
        assert_eq!(toml::from_str::<Hyperparams>(&toml).unwrap(), hp);
        let given: HyperparamOverrides =
            serde_json::from_str(r#"{"max_grad_norm": null, "adjust_lr_fn": "original"}"#).unwrap();
        assert_eq!(given.max_grad_norm, Some(None));
        assert_eq!(given.adjust_lr_fn, Some(Some(MuonAdjustLr::Original)));
        assert!(serde_json::from_str::<HyperparamOverrides>(r#"{"adjust_lr_fn": "foo"}"#).is_err());
        assert!(serde_json::from_str::<HyperparamOverrides>(r#"{"ns_steps": 100000}"#).is_err());
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

//! The schedule kinds: one registry, the [`schedules!`] table at the end of this file, with every
//! fact about a kind that is not its runtime arithmetic. One entry per kind gives:
//!
//! - [`ScheduleKind`] and its row of [`KINDS`]: the name in the language and in PyTorch, the
//!   parameters (type, default, range, an example value, PyTorch's spelling) in PyTorch's
//!   positional order, how many are required, and the properties the analysis and the runtime
//!   read (`closed_form`, `sets_lr_from_scratch`, `variadic`);
//! - the [`ScheduleConfig`] variant, its fields typed from the parameters (and so its serde
//!   form), [`ScheduleConfig::kind`] and [`ScheduleConfig::params`];
//! - the checker's builder, [`ScheduleConfig::from_args`], which reads each argument with the
//!   typed reader of its parameter type (defaults and ranges from the row);
//! - [`ScheduleConfig::extent`] and [`ScheduleConfig::length`] (the analysis's horizon and
//!   warnings), and for the library schedules of `named.rs` their struct, their [`NamedRule`]
//!   variant and its runtime (all a `named` kind writes by hand is its struct's `factor` and
//!   `python` in `named.rs`).
//!
//! The checker, the exporters, the analysis and the editor-grammar test all read the table, and
//! every generated `match` is exhaustive, so a kind cannot be half added.
//!
//! Adding a kind (ARCHITECTURE.md has a worked example): its entry below, its runtime in
//! `schedule/leaf.rs` (or its struct's `factor` and `python` in `schedule/named.rs`), its PyTorch line in
//! `export/pytorch.rs` if PyTorch's call is not the regular `Class(optimizer, name=value, ...)`,
//! and its fixtures.

use crate::config::{AnnealStrategy, CyclicMode, PerGroup, PlateauMode, ScaleMode, ThresholdMode};
use crate::expr::Lambda;
use crate::schedule::named::{LrAt, PyRule, TimmDecayFn, TimmStableFn, WsdShape};
use crate::schedule::warmup::{WarmupClock, WarmupShape};
use serde::{Deserialize, Serialize};

/// Everything the table says about one kind.
#[derive(Debug)]
pub struct KindInfo {
    pub kind: ScheduleKind,
    /// The name in the language (`step`).
    pub name: &'static str,
    /// The class in `torch.optim.lr_scheduler` (`StepLR`).
    pub torch: &'static str,
    /// The parameters in PyTorch's positional order (the first [`KindInfo::required`] are
    /// required).
    pub params: &'static [Param],
    /// How many leading parameters are required.
    pub required: usize,
    /// Takes any number of positional schedules (`chain`, `sequence`).
    pub variadic: bool,
    /// Defines `_get_closed_form_lr`, which `SequentialLR` uses on the child taking over.
    pub closed_form: bool,
    /// Computes the lr from the initial lr each epoch, not from the current one (so it undoes
    /// what another schedule of a `chain` did).
    pub from_scratch: bool,
}

/// One parameter of a schedule kind.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    /// PyTorch's default; for a required parameter, the stand-in the checker uses once the
    /// missing argument is reported.
    pub default: ParamDefault,
    /// What PyTorch accepts, where it refuses some values (the checker and the JSON/TOML import
    /// both check it).
    pub range: Option<Range>,
    /// A plausible value, for "add `name = value`" help lines ("..." where none is needed).
    pub example: &'static str,
    /// The keyword in PyTorch's call (`T_max`), where it is not `name`.
    pub torch: &'static str,
}

/// What a parameter holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A finite number.
    Number,
    /// A whole, non-negative number (a count of epochs or steps).
    Whole,
    Bool,
    /// A bare word, one of these.
    Word(&'static [&'static str]),
    /// A number for every group, or a list with one per group.
    PerGroup,
    /// A function of the epoch.
    Lambda,
    /// A list of whole numbers.
    WholeList,
    /// A schedule (`warmup`'s `then`).
    Schedule,
}

/// A parameter's default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamDefault {
    Number(f64),
    Whole(u64),
    Bool(bool),
    /// The index of the word among the parameter's choices.
    Word(usize),
    /// No value: the parameter is required, or left out means "not given" (PyTorch's `None`).
    Absent,
}

/// The values PyTorch accepts for a number, where it refuses some.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// `>= 1`.
    AtLeastOne,
    /// `> 0`.
    Positive,
    /// `0 <= v <= 1`.
    UnitInterval,
    /// `0 < v <= 1`.
    AboveZeroToOne,
    /// `< 1`.
    BelowOne,
    /// `>= 0`.
    NonNegative,
    /// `0 < v < 1`.
    OpenUnitInterval,
    /// `0 <= v < 1` (a momentum or `betas[0]`).
    ZeroToBelowOne,
}

impl Range {
    /// Whether `v` is in the range.
    pub fn admits(self, v: f64) -> bool {
        match self {
            Range::AtLeastOne => v >= 1.0,
            Range::Positive => v > 0.0,
            Range::UnitInterval => (0.0..=1.0).contains(&v),
            Range::AboveZeroToOne => v > 0.0 && v <= 1.0,
            Range::BelowOne => v < 1.0,
            Range::NonNegative => v >= 0.0,
            Range::OpenUnitInterval => v > 0.0 && v < 1.0,
            Range::ZeroToBelowOne => (0.0..1.0).contains(&v),
        }
    }

    /// The range in words, after "must be".
    pub fn expected(self) -> &'static str {
        match self {
            Range::AtLeastOne => "at least 1",
            Range::Positive => "greater than 0",
            Range::UnitInterval => "between 0 and 1",
            Range::AboveZeroToOne => "greater than 0 and at most 1",
            Range::BelowOne => "less than 1",
            Range::NonNegative => "at least 0",
            Range::OpenUnitInterval => "between 0 and 1, both excluded",
            Range::ZeroToBelowOne => "at least 0 and less than 1",
        }
    }
}

impl Param {
    /// A row of the table (the [`schedules!`] macro writes them).
    pub(crate) const fn new(name: &'static str, ty: ParamType, default: ParamDefault) -> Param {
        Param {
            name,
            ty,
            default,
            range: None,
            example: "...",
            torch: name,
        }
    }
    pub(crate) const fn range(self, range: Range) -> Param {
        Param {
            range: Some(range),
            ..self
        }
    }
    pub(crate) const fn example(self, example: &'static str) -> Param {
        Param { example, ..self }
    }
    pub(crate) const fn torch(self, torch: &'static str) -> Param {
        Param { torch, ..self }
    }

    /// The default number (whole or not), if the default is one.
    pub fn default_number(&self) -> Option<f64> {
        match self.default {
            ParamDefault::Number(v) => Some(v),
            ParamDefault::Whole(v) => Some(v as f64),
            _ => None,
        }
    }
}

/// A row of [`KINDS`] with the properties most kinds share.
const fn kind(
    kind: ScheduleKind,
    name: &'static str,
    torch: &'static str,
    params: &'static [Param],
    required: usize,
) -> KindInfo {
    KindInfo {
        kind,
        name,
        torch,
        params,
        required,
        variadic: false,
        closed_form: false,
        from_scratch: false,
    }
}

impl KindInfo {
    /// Defines `_get_closed_form_lr`, which `SequentialLR` uses on the child taking over.
    const fn closed_form(self) -> KindInfo {
        KindInfo {
            closed_form: true,
            ..self
        }
    }
    /// Computes the lr from the initial lr each epoch.
    const fn sets_lr_from_scratch(self) -> KindInfo {
        KindInfo {
            from_scratch: true,
            ..self
        }
    }
    /// Takes any number of positional schedules.
    const fn variadic(self) -> KindInfo {
        KindInfo {
            variadic: true,
            ..self
        }
    }

    /// The parameter called `name`. Callers name parameters of the table in code, so a miss
    /// is a typo in optimc, caught by its tests.
    pub fn param(&self, name: &str) -> &'static Param {
        let params: &'static [Param] = self.params;
        match params.iter().find(|p| p.name == name) {
            Some(p) => p,
            None => panic!("`{}` has no parameter `{name}`", self.name),
        }
    }
}

/// A parameter's value in a [`ScheduleConfig`] (see [`ScheduleConfig::params`]).
#[derive(Clone, Copy, Debug)]
pub enum ParamValue<'a> {
    Number(f64),
    Whole(u64),
    Bool(bool),
    /// The index of the word among the parameter's choices.
    Word(usize),
    PerGroup(&'a PerGroup),
    Lambda(&'a Lambda),
    WholeList(&'a [u64]),
}

/// A closed set of bare words held in a config (`mode = triangular2`): the `Word<E>` parameter
/// type of the table. `words!` in `config.rs` writes the impls.
pub trait Word: Copy + 'static {
    /// The words, in the order of [`Word::ALL`]; the serde names of the values.
    const NAMES: &'static [&'static str];
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The value's index in [`Word::ALL`].
    fn index(self) -> usize;
}

/// A config field's value as [`ScheduleConfig::params`] lists it (`None`: not listed, such as
/// an argument left out or the children of `chain`).
pub trait AsParam {
    fn as_param(&self) -> Option<ParamValue<'_>>;
}

impl AsParam for f64 {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        Some(ParamValue::Number(*self))
    }
}
impl AsParam for u64 {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        Some(ParamValue::Whole(*self))
    }
}
impl AsParam for bool {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        Some(ParamValue::Bool(*self))
    }
}
impl AsParam for PerGroup {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        Some(ParamValue::PerGroup(self))
    }
}
impl AsParam for Lambda {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        Some(ParamValue::Lambda(self))
    }
}
impl AsParam for Vec<u64> {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        Some(ParamValue::WholeList(self))
    }
}
impl AsParam for Vec<ScheduleConfig> {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        None
    }
}
impl AsParam for Box<ScheduleConfig> {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        None
    }
}
impl<T: AsParam> AsParam for Option<T> {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        self.as_ref()?.as_param()
    }
}
impl<W: Word> AsParam for W {
    fn as_param(&self) -> Option<ParamValue<'_>> {
        Some(ParamValue::Word(self.index()))
    }
}

/// How the checker reads the arguments of one call, parameter by parameter: the argument or
/// the row's default, checked against the row's range (a wrong argument is reported and the
/// default stands in). `None` gives up on the call (its problem is reported). A `WholeList`
/// (milestones) has no reader: the kinds that take one lint it, in their own builder.
///
/// The builders of the kinds whose config is more than their arguments (`build name` in the
/// table) are methods here too, so a `build` without its builder does not compile.
pub(crate) trait Arguments {
    fn number(&mut self, p: &'static Param) -> f64;
    fn number_opt(&mut self, p: &'static Param) -> Option<f64>;
    fn whole(&mut self, p: &'static Param) -> u64;
    fn whole_opt(&mut self, p: &'static Param) -> Option<u64>;
    fn boolean(&mut self, p: &'static Param) -> bool;
    /// The index of the word among the parameter's choices.
    fn word(&mut self, p: &'static Param) -> usize;
    fn per_group(&mut self, p: &'static Param) -> PerGroup;
    fn lambda(&mut self, p: &'static Param) -> Option<Lambda>;
    fn lambda_opt(&mut self, p: &'static Param) -> Option<Option<Lambda>>;

    fn multistep(&mut self) -> Option<ScheduleConfig>;
    fn one_cycle(&mut self) -> Option<ScheduleConfig>;
    fn chain(&mut self) -> Option<ScheduleConfig>;
    fn sequence(&mut self) -> Option<ScheduleConfig>;
    fn wsd(&mut self) -> Option<ScheduleConfig>;
    fn warmup(&mut self) -> Option<ScheduleConfig>;
    fn warmup_polynomial(&mut self) -> Option<ScheduleConfig>;
    fn nanogpt_cosine(&mut self) -> Option<ScheduleConfig>;
    fn timm_wsd(&mut self) -> Option<ScheduleConfig>;
}

// ----- the parameter types of the table: `Number`, `Whole`, `Bool`, `Word<E>`, `PerGroup`,
// `Lambda`, `WholeList`, and `Option<T>` for an argument that may be left out -----

/// The Rust type a parameter type is held in.
macro_rules! field_type {
    (Number) => { f64 };
    (Whole) => { u64 };
    (Bool) => { bool };
    (PerGroup) => { PerGroup };
    (Lambda) => { Lambda };
    (WholeList) => { Vec<u64> };
    (Schedule) => { Box<ScheduleConfig> };
    (Word $word:ident) => { $word };
    (Option $inner:ident) => { Option<field_type!($inner)> };
}

/// The [`ParamType`] of a parameter type.
macro_rules! param_type {
    (Number) => {
        ParamType::Number
    };
    (Whole) => {
        ParamType::Whole
    };
    (Bool) => {
        ParamType::Bool
    };
    (PerGroup) => {
        ParamType::PerGroup
    };
    (Lambda) => {
        ParamType::Lambda
    };
    (WholeList) => {
        ParamType::WholeList
    };
    (Schedule) => {
        ParamType::Schedule
    };
    (Word $word:ident) => {
        ParamType::Word(<$word as Word>::NAMES)
    };
    (Option $inner:ident) => {
        param_type!($inner)
    };
}

/// The [`ParamDefault`] of a parameter type and its default as written (none: absent).
macro_rules! param_default {
    ([Number] $d:tt) => {
        ParamDefault::Number($d)
    };
    ([PerGroup] $d:tt) => {
        ParamDefault::Number($d)
    };
    ([Whole] $d:tt) => {
        ParamDefault::Whole($d)
    };
    ([Bool] $d:tt) => {
        ParamDefault::Bool($d)
    };
    ([Word $word:ident] $d:tt) => {
        ParamDefault::Word($word::$d as usize)
    };
    ([$($ty:tt)*]) => {
        ParamDefault::Absent
    };
}

/// Reads an argument of a parameter type with its [`Arguments`] reader.
macro_rules! read_arg {
    ($r:ident, $p:expr, Number) => {
        $r.number($p)
    };
    ($r:ident, $p:expr, Option Number) => {
        $r.number_opt($p)
    };
    ($r:ident, $p:expr, Whole) => {
        $r.whole($p)
    };
    ($r:ident, $p:expr, Option Whole) => {
        $r.whole_opt($p)
    };
    ($r:ident, $p:expr, Bool) => {
        $r.boolean($p)
    };
    ($r:ident, $p:expr, PerGroup) => {
        $r.per_group($p)
    };
    ($r:ident, $p:expr, Lambda) => {
        $r.lambda($p)?
    };
    ($r:ident, $p:expr, Option Lambda) => {
        $r.lambda_opt($p)?
    };
    ($r:ident, $p:expr, Word $word:ident) => {
        <$word as Word>::ALL[$r.word($p)]
    };
}

/// The builder of one kind: its `build` method, or the arguments read in order into its fields.
macro_rules! build_kind {
    ($r:ident, $k:ident, [$build:ident], $variant:ident, $rows:tt) => {
        $r.$build()
    };
    ($r:ident, $k:ident, [], $variant:ident, [$({$f:ident [$($ty:tt)*]})*]) => {
        Some(ScheduleConfig::$variant {
            $($f: read_arg!($r, $k.param(stringify!($f)), $($ty)*),)*
        })
    };
}

/// The library schedule a config is, for the kinds with a `named` struct.
macro_rules! named_rule {
    ([], $variant:ident, $($f:ident)*) => {
        None
    };
    ([$named:ident], $variant:ident, $($f:ident)*) => {
        Some(NamedRule::$variant(library::$named { $($f: $f.clone(),)* }))
    };
}

/// The runtime of the `named` kinds, from their entries (the others are passed over): each
/// kind's struct (in [`library`]), its [`NamedRule`] variant, `NamedRule`'s dispatch to the
/// struct's `factor` and `python` (written in `named.rs`), and `named_kinds!()`, the pattern
/// of their [`ScheduleConfig`] variants (`Leaf::construct` builds them all alike).
macro_rules! library_schedules {
    (@filter [$($done:tt)*] {$docs:tt $variant:ident [$named:ident] $fields:tt} $($rest:tt)*) => {
        library_schedules!(@filter [$($done)* {$docs $variant $named $fields}] $($rest)*);
    };
    (@filter [$($done:tt)*] {$docs:tt $variant:ident [] $fields:tt} $($rest:tt)*) => {
        library_schedules!(@filter [$($done)*] $($rest)*);
    };
    (@filter [$({
        [$(#[$doc:meta])*] $variant:ident $named:ident [$($f:ident: $fty:ty;)*]
    })*]) => {
        /// The configs of the library schedules (`named` kinds): each struct's fields are its
        /// [`ScheduleConfig`] variant's, and `named.rs` gives it its `factor` and `python`
        /// (or `absolute.rs` its `at` and `python_rule`).
        pub mod library {
            use super::*;

            $(
                $(#[$doc])*
                #[derive(Clone, Copy, Debug, PartialEq)]
                pub struct $named {
                    $(pub $f: $fty,)*
                }
            )*
        }

        /// One of the named schedules (`named.rs`), as the runtime evaluates it.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum NamedRule {
            $($variant(library::$named),)*
        }

        impl NamedRule {
            /// Every group's lr at `step` from its initial lr ([`LrAt::lr`]): a `LambdaLR`
            /// factor, or for the schedules that set the lr itself (`absolute.rs`) their own
            /// expression; the library's arithmetic in its evaluation order.
            pub fn at(&self, step: i64) -> LrAt {
                match self {
                    $(NamedRule::$variant(rule) => rule.at(step),)*
                }
            }

            /// [`NamedRule::at`] in Python with the same arithmetic: a `LambdaLR` factor, or a
            /// function of the step and the group's initial lr (needs `import math`).
            pub fn python(&self) -> PyRule {
                match self {
                    $(NamedRule::$variant(rule) => rule.python_rule(),)*
                }
            }
        }

        /// The pattern of every `named` kind's [`ScheduleConfig`] variant.
        macro_rules! named_kinds {
            () => {
                $(ScheduleConfig::$variant { .. })|*
            };
        }
        pub(crate) use named_kinds;
    };
}

/// An optional rule of an entry, or what holds without one.
macro_rules! or_else {
    ([$($given:tt)+], $otherwise:expr) => { $($given)+ };
    ([], $otherwise:expr) => { $otherwise };
}

/// Declares every schedule kind. An entry:
///
/// ```text
/// /// doc
/// Variant $(named Struct)? = "name", torch "TorchClass", required N $(, flag)* {
///     param: Type $(= default)? $(, range Range)? $(, example "...")? $(, torch "Spelling")?;
///     ...
/// }
/// $(holds { field: RustType; ... })?
/// $(build method)?
/// $(extent { epochs, from the fields })?
/// $(length { Some((epochs, what, argument)) or None, from the fields })?
/// ;
/// ```
///
/// - The parameters are PyTorch's, in its positional order; the first `N` are required (their
///   default, if any, stands in once the missing argument is reported). Types: `Number`,
///   `Whole`, `Bool`, `Word<Enum>`, `PerGroup`, `Lambda`, `WholeList`, and `Option<T>` (left
///   out means "not given", PyTorch's `None`).
/// - Flags: `closed_form`, `sets_lr_from_scratch`, `variadic` (see [`KindInfo`]).
/// - The config's fields are the parameters, unless `holds` lists them (a kind whose config is
///   not its arguments, such as `one_cycle`'s `total_steps` resolved from `epochs`); such a kind
///   names its builder, a method of [`Arguments`] (`build method`), as may any kind whose
///   builder does more than read (`multistep` lints its milestones).
/// - `named Struct`: a library schedule of `named.rs`, a `LambdaLR` of a [`NamedRule`]; the
///   macro writes `Struct` (its fields), its `NamedRule` variant and the conversion, and the
///   runtime builds it like every other named kind: all it needs by hand is `Struct::factor`
///   and `Struct::python` in `named.rs` (the compiler asks for them).
/// - `extent` and `length` are expressions over the fields (bound by reference); without
///   them, 0 and `None`.
macro_rules! schedules {
    // One entry whose fields are listed (`holds`).
    (@entry [$($done:tt)*]
        $(#[$doc:meta])*
        $variant:ident $(named $named:ident)? = $name:literal, torch $torch:literal,
            required $required:literal $(, $flag:ident)* {
            $($p:ident : $ty:ident $(<$inner:ident>)? $(= $d:tt)? $(, range $range:ident)?
                $(, example $example:literal)? $(, torch $spelled:literal)?;)*
        }
        holds { $($f:ident : $fty:ty;)* }
        build $build:ident
        $(extent $extent:block)?
        $(length $length:block)?
        ;
        $($rest:tt)*
    ) => {
        schedules!(@entry [$($done)* {
            [$(#[$doc])*] $variant [$($named)?] $name $torch $required [$($flag)*]
            [$({$p [$ty $($inner)?] [$($d)?] [$($range)?] [$($example)?] [$($spelled)?]})*]
            [$($f: $fty;)*]
            [$build]
            [$($extent)?] [$($length)?]
        }] $($rest)*);
    };
    // One entry whose fields are its parameters.
    (@entry [$($done:tt)*]
        $(#[$doc:meta])*
        $variant:ident $(named $named:ident)? = $name:literal, torch $torch:literal,
            required $required:literal $(, $flag:ident)* {
            $($p:ident : $ty:ident $(<$inner:ident>)? $(= $d:tt)? $(, range $range:ident)?
                $(, example $example:literal)? $(, torch $spelled:literal)?;)*
        }
        $(build $build:ident)?
        $(extent $extent:block)?
        $(length $length:block)?
        ;
        $($rest:tt)*
    ) => {
        schedules!(@entry [$($done)* {
            [$(#[$doc])*] $variant [$($named)?] $name $torch $required [$($flag)*]
            [$({$p [$ty $($inner)?] [$($d)?] [$($range)?] [$($example)?] [$($spelled)?]})*]
            [$($p: field_type!($ty $($inner)?);)*]
            [$($build)?]
            [$($extent)?] [$($length)?]
        }] $($rest)*);
    };
    (@entry [$({
        [$(#[$doc:meta])*] $variant:ident [$($named:ident)?] $name:literal $torch:literal
        $required:literal [$($flag:ident)*]
        [$({$p:ident [$($ty:tt)*] [$($d:tt)?] [$($range:ident)?] [$($example:literal)?] [$($spelled:literal)?]})*]
        [$($f:ident: $fty:ty;)*]
        [$($build:ident)?]
        [$($extent:block)?] [$($length:block)?]
    })*]) => {
        /// A schedule kind: one per [`ScheduleConfig`] variant, in the order of [`KINDS`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ScheduleKind {
            $($variant,)*
        }

        impl ScheduleKind {
            /// Every kind, in the table's order.
            pub const ALL: [ScheduleKind; [$($name),*].len()] = [$(ScheduleKind::$variant,)*];
        }

        /// The schedule kinds, in the order of [`ScheduleKind`].
        pub const KINDS: &[KindInfo] = &[$(
            kind(
                ScheduleKind::$variant,
                $name,
                $torch,
                &[$(
                    Param::new(stringify!($p), param_type!($($ty)*), param_default!([$($ty)*] $($d)?))
                        $(.range(Range::$range))? $(.example($example))? $(.torch($spelled))?,
                )*],
                $required,
            )$(.$flag())*,
        )*];

        /// A learning-rate schedule with its arguments resolved; one variant per kind.
        /// Whole-number arguments are `u64`; per-group arguments are [`PerGroup`].
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case", tag = "kind")]
        pub enum ScheduleConfig {
            $($(#[$doc])* $variant { $($f: $fty,)* },)*
        }

        library_schedules!(@filter [] $({[$(#[$doc])*] $variant [$($named)?] [$($f: $fty;)*]})*);

        impl ScheduleConfig {
            /// The schedule's kind.
            pub fn kind(&self) -> ScheduleKind {
                match self {
                    $(ScheduleConfig::$variant { .. } => ScheduleKind::$variant,)*
                }
            }

            /// Every parameter the schedule holds, by its name in [`KINDS`], in the config's
            /// field order: what generic code (the JSON/TOML import's range checks, the
            /// PyTorch export) reads instead of matching on every kind. Arguments left out
            /// (`None`), those the checker folds into others (`one_cycle`'s `epochs`), and the
            /// children of `chain` and `sequence` are not listed.
            pub fn params(&self) -> Vec<(&'static str, ParamValue<'_>)> {
                let mut out = Vec::new();
                match self {
                    $(ScheduleConfig::$variant { $($f,)* } => {
                        $(if let Some(v) = AsParam::as_param($f) {
                            out.push((stringify!($f), v));
                        })*
                    })*
                }
                out
            }

            /// The config of a call to kind `k`, its arguments read by `r` (the checker).
            pub(crate) fn from_args(k: &'static KindInfo, r: &mut impl Arguments) -> Option<ScheduleConfig> {
                match k.kind {
                    $(ScheduleKind::$variant => build_kind!(r, k, [$($build)?], $variant, [$({$p [$($ty)*]})*]),)*
                }
            }

            /// The epochs the schedule needs to show what it does: its totals, periods and
            /// milestones (the analysis's default horizon covers them).
            #[allow(unused_variables)]
            pub(crate) fn extent(&self) -> u64 {
                match self {
                    $(ScheduleConfig::$variant { $($f,)* } => or_else!([$($extent)?], 0),)*
                }
            }

            /// How many epochs the schedule needs to finish its warmup, annealing or first
            /// cycle, what to call that (and whether it "ends" or "happens"), and the argument
            /// that sets it; `None` for the kinds without one.
            #[allow(unused_variables)]
            pub(crate) fn length(&self) -> Option<(u64, String, Option<&'static str>)> {
                match self {
                    $(ScheduleConfig::$variant { $($f,)* } => or_else!([$($length)?], None),)*
                }
            }

            /// The library schedule this is, if it is one (`named.rs`).
            #[allow(unused_variables)]
            pub fn named_rule(&self) -> Option<NamedRule> {
                match self {
                    $(ScheduleConfig::$variant { $($f,)* } => named_rule!([$($named)?], $variant, $($f)*),)*
                }
            }
        }
    };
    (@entry $($unparsed:tt)*) => {
        compile_error!("a `schedules!` entry does not parse; see the macro's documentation");
    };
    ($($entries:tt)*) => {
        schedules!(@entry [] $($entries)*);
    };
}

schedules! {
    /// `LambdaLR`: lr = initial lr × f(epoch).
    Lambda = "lambda", torch "LambdaLR", required 1, sets_lr_from_scratch {
        lr_lambda: Lambda, example "epoch -> 0.95 ** epoch";
    };
    /// `MultiplicativeLR`: lr ×= f(epoch) from epoch 1 on.
    Multiplicative = "multiplicative", torch "MultiplicativeLR", required 1 {
        lr_lambda: Lambda, example "epoch -> 0.95 ** epoch";
    };
    /// A lambda that gives the lr itself, not a factor of the initial lr: every group's lr is
    /// f(epoch) (times its `lr_scale`), as BEiT's and MAE's loops write `param_group["lr"] =
    /// lr * param_group["lr_scale"]`. `AbsoluteLR` in the PyTorch export.
    Absolute = "absolute", torch "AbsoluteLR", required 1, sets_lr_from_scratch {
        lr_lambda: Lambda, example "step -> 1e-3 * 0.95 ** step";
    };
    /// `StepLR`
    Step = "step", torch "StepLR", required 1, closed_form {
        step_size: Whole = 1, range AtLeastOne, example "30";
        gamma: Number = 0.1, example "0.1";
    }
    extent { *step_size }
    length { Some((step_size + 1, "its first decay happens".into(), None)) };
    /// `MultiStepLR`; milestones as written (unsorted and repeated allowed).
    Multistep = "multistep", torch "MultiStepLR", required 1, closed_form {
        milestones: WholeList, example "[30, 60]";
        gamma: Number = 0.1, example "0.1";
    }
    build multistep
    extent { milestones.iter().copied().max().unwrap_or(0) }
    length {
        milestones.iter().copied().max().map(|last| {
            (last + 1, format!("its decay at epoch {last} happens"), None)
        })
    };
    /// `ExponentialLR`
    Exponential = "exponential", torch "ExponentialLR", required 1, closed_form {
        gamma: Number = 1.0, example "0.1";
    };
    /// `ConstantLR`
    Constant = "constant", torch "ConstantLR", required 0, closed_form {
        factor: Number = (1.0 / 3.0), range UnitInterval;
        total_iters: Whole = 5;
    }
    extent { *total_iters }
    length { Some((*total_iters, "its warmup".into(), Some("total_iters"))) };
    /// `LinearLR`
    Linear = "linear", torch "LinearLR", required 0, closed_form {
        start_factor: Number = (1.0 / 3.0), range AboveZeroToOne;
        end_factor: Number = 1.0, range UnitInterval;
        total_iters: Whole = 5;
    }
    extent { *total_iters }
    length {
        let what = if start_factor < end_factor { "its warmup" } else { "its decay" };
        Some((*total_iters, what.into(), Some("total_iters")))
    };
    /// `PolynomialLR`
    Polynomial = "polynomial", torch "PolynomialLR", required 0, closed_form {
        total_iters: Whole = 5;
        power: Number = 1.0;
    }
    extent { *total_iters }
    length { Some((*total_iters, "its decay".into(), Some("total_iters"))) };
    /// `CosineAnnealingLR`
    Cosine = "cosine", torch "CosineAnnealingLR", required 1, closed_form {
        t_max: Whole = 1, range AtLeastOne, example "100", torch "T_max";
        eta_min: Number = 0.0;
    }
    extent { *t_max }
    length { Some((*t_max, "its annealing".into(), Some("t_max"))) };
    /// `CosineAnnealingWarmRestarts`
    CosineRestarts = "cosine_restarts", torch "CosineAnnealingWarmRestarts", required 1,
        sets_lr_from_scratch {
        t_0: Whole = 1, range AtLeastOne, example "10", torch "T_0";
        t_mult: Whole = 1, range AtLeastOne, torch "T_mult";
        eta_min: Number = 0.0;
    }
    extent { *t_0 }
    length { Some((*t_0, "its first cycle".into(), Some("t_0"))) };
    /// `CyclicLR`
    Cyclic = "cyclic", torch "CyclicLR", required 2, sets_lr_from_scratch {
        base_lr: PerGroup = 0.0, example "0.001";
        max_lr: PerGroup = 0.0, example "0.1";
        step_size_up: Number = 2000.0, range Positive;
        step_size_down: Option<Number>, range Positive;
        mode: Word<CyclicMode> = Triangular;
        gamma: Number = 1.0;
        scale_fn: Option<Lambda>;
        scale_mode: Word<ScaleMode> = Cycle;
        cycle_momentum: Bool = true;
        base_momentum: PerGroup = 0.8;
        max_momentum: PerGroup = 0.9;
    }
    extent { cyclic_period(*step_size_up, *step_size_down) }
    length {
        Some((cyclic_period(*step_size_up, *step_size_down), "its first cycle".into(), None))
    };
    /// `OneCycleLR`; `total_steps` is resolved from `epochs × steps_per_epoch` when not given.
    OneCycle = "one_cycle", torch "OneCycleLR", required 1, sets_lr_from_scratch {
        max_lr: PerGroup = 0.0, example "0.1";
        total_steps: Option<Whole>, range AtLeastOne;
        epochs: Option<Whole>, range AtLeastOne;
        steps_per_epoch: Option<Whole>, range AtLeastOne;
        pct_start: Number = 0.3, range UnitInterval;
        anneal_strategy: Word<AnnealStrategy> = Cos;
        cycle_momentum: Bool = true;
        base_momentum: PerGroup = 0.85;
        max_momentum: PerGroup = 0.95;
        div_factor: Number = 25.0;
        final_div_factor: Number = 1e4;
        three_phase: Bool = false;
    }
    holds {
        max_lr: PerGroup;
        total_steps: u64;
        pct_start: f64;
        anneal_strategy: AnnealStrategy;
        cycle_momentum: bool;
        base_momentum: PerGroup;
        max_momentum: PerGroup;
        div_factor: f64;
        final_div_factor: f64;
        three_phase: bool;
    }
    build one_cycle
    extent { *total_steps }
    length { Some((*total_steps, "its cycle".into(), Some("total_steps"))) };
    /// `ReduceLROnPlateau`
    Plateau = "plateau", torch "ReduceLROnPlateau", required 0 {
        mode: Word<PlateauMode> = Min;
        factor: Number = 0.1, range BelowOne;
        patience: Whole = 10;
        threshold: Number = 1e-4;
        threshold_mode: Word<ThresholdMode> = Rel;
        cooldown: Whole = 0;
        min_lr: PerGroup = 0.0;
        eps: Number = 1e-8;
    }
    extent { patience.saturating_add(*cooldown).saturating_add(2) };
    /// `ChainedScheduler`
    Chain = "chain", torch "ChainedScheduler", required 0, variadic {}
    holds {
        children: Vec<ScheduleConfig>;
    }
    build chain
    extent { children.iter().map(ScheduleConfig::extent).max().unwrap_or(0) };
    /// `SequentialLR`
    Sequence = "sequence", torch "SequentialLR", required 1, variadic {
        milestones: WholeList, example "[30, 60]";
    }
    holds {
        children: Vec<ScheduleConfig>;
        milestones: Vec<u64>;
    }
    build sequence
    extent {
        children
            .iter()
            .enumerate()
            .map(|(k, c)| start_of(milestones, k).saturating_add(c.extent()))
            .chain(milestones.iter().copied())
            .max()
            .unwrap_or(0)
    };

    /// `torch.optim.swa_utils.SWALR`: anneals each group's current lr to its `swa_lr` over
    /// `anneal_epochs` of its own steps (cos or linear), then holds it.
    Swa = "swa", torch "SWALR", required 1 {
        swa_lr: PerGroup = 0.0, example "0.05";
        anneal_epochs: Whole = 10;
        anneal_strategy: Word<AnnealStrategy> = Cos;
    }
    extent { *anneal_epochs }
    length { Some((*anneal_epochs, "its annealing".into(), Some("anneal_epochs"))) };
    /// A warmup before any schedule (`schedule/warmup.rs`): over `steps` steps the lr goes
    /// from `start_factor` × `then`'s first lr (or from the absolute `start_lr`) to `then`'s
    /// lr, along `shape`; `clock` says whether `then` starts after the warmup (`after`) or runs
    /// beneath it from step 0 (`overlap`: the ramp ends at `then`'s lr at step `steps`;
    /// `follow`: the ramp heads for `then`'s current lr); `then` steps once every `then_every`
    /// steps. With `start_momentum`, each group's momentum (or `betas[0]`) ramps along the same
    /// shape from it to the optimizer's over the same `steps`, and stays there after.
    Warmup = "warmup", torch "warmup", required 2 {
        steps: Whole = 0, example "500";
        then: Schedule, example "cosine(t_max = 1000)";
        start_factor: Number = 0.0, range UnitInterval;
        start_lr: Option<PerGroup>;
        shape: Word<WarmupShape> = Linear;
        clock: Word<WarmupClock> = After;
        then_every: Whole = 1, range AtLeastOne;
        start_momentum: Option<PerGroup>, range ZeroToBelowOne, example "0.8";
    }
    build warmup
    extent {
        let then = then.extent().saturating_mul(*then_every);
        match clock {
            WarmupClock::After => steps.saturating_add(then),
            WarmupClock::Overlap | WarmupClock::Follow => (*steps).max(then),
        }
    }
    length { Some((*steps, "its warmup".into(), Some("steps"))) };

    // The named schedules of today's libraries (src/schedule/named.rs): each is what its
    // library builds, a `LambdaLR` of a closed-form factor, so PyTorch's name for it is the
    // library function that builds it.

    /// transformers' `get_inverse_sqrt_schedule` (a `LambdaLR`): linear warmup from 0, then
    /// `1 / sqrt((step + timescale - warmup) / timescale)`.
    InverseSqrt named InverseSqrt = "inverse_sqrt", torch "transformers.get_inverse_sqrt_schedule",
        required 1, sets_lr_from_scratch {
        warmup: Whole = 0, example "4000";
        timescale: Option<Whole>, range AtLeastOne;
    }
    extent { warmup.saturating_mul(4).max(100) }
    length { Some((*warmup, "its warmup".into(), Some("warmup"))) };
    /// The Annotated Transformer's Noam `rate(step, model_size = d_model, factor, warmup)`
    /// under a `LambdaLR`: `factor * d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)`,
    /// step 0 counted as step 1. The factor multiplies each group's lr (the original uses lr 1).
    Noam named Noam = "noam", torch "annotated_transformer.rate", required 2,
        sets_lr_from_scratch {
        d_model: Whole = 1, range AtLeastOne, example "512";
        warmup: Whole = 1, range AtLeastOne, example "4000";
        factor: Number = 1.0;
    }
    extent { warmup.saturating_mul(4) }
    length { Some((*warmup, "its warmup".into(), Some("warmup"))) };
    /// transformers' `get_wsd_schedule` (a `LambdaLR`): warmup from `min_lr_ratio` to 1 over
    /// `warmup` steps, 1 for `stable` steps, decay to `min_lr_ratio` over `decay` steps,
    /// `min_lr_ratio` after. The stable phase is `stable`, or what `total` leaves.
    Wsd named Wsd = "wsd", torch "transformers.get_wsd_schedule", required 2,
        sets_lr_from_scratch {
        warmup: Whole = 0, example "1000";
        decay: Whole = 0, example "2000";
        total: Option<Whole>;
        stable: Option<Whole>;
        warmup_shape: Word<WsdShape> = Linear;
        decay_shape: Word<WsdShape> = Cosine;
        min_lr_ratio: Number = 0.0, range UnitInterval;
        num_cycles: Number = 0.5;
    }
    holds {
        warmup: u64;
        stable: u64;
        decay: u64;
        warmup_shape: WsdShape;
        decay_shape: WsdShape;
        min_lr_ratio: f64;
        num_cycles: f64;
    }
    build wsd
    extent { warmup.saturating_add(*stable).saturating_add(*decay) }
    length { Some((*warmup, "its warmup".into(), Some("warmup"))) };
    /// transformers' `get_cosine_(with_min_lr_)schedule_with_warmup` (a `LambdaLR`): linear
    /// warmup from 0, then a cosine of `num_cycles` waves from 1 to `min_lr_ratio` by step
    /// `total`, clamped at 0 (past `total` it goes on).
    WarmupCosine named WarmupCosine = "warmup_cosine",
        torch "transformers.get_cosine_with_min_lr_schedule_with_warmup", required 2,
        sets_lr_from_scratch {
        warmup: Whole = 0, example "1000";
        total: Whole = 1, range AtLeastOne, example "10000";
        num_cycles: Number = 0.5;
        min_lr_ratio: Number = 0.0, range UnitInterval;
    }
    extent { *total }
    length { Some((*total, "its annealing".into(), Some("total"))) };
    /// transformers' `get_linear_schedule_with_warmup` (a `LambdaLR`): linear warmup from 0,
    /// linear decay to 0 at `total`, 0 after.
    WarmupLinear named WarmupLinear = "warmup_linear",
        torch "transformers.get_linear_schedule_with_warmup", required 2,
        sets_lr_from_scratch {
        warmup: Whole = 0, example "1000";
        total: Whole = 1, range AtLeastOne, example "10000";
    }
    extent { *total }
    length { Some((*total, "its decay".into(), Some("total"))) };
    /// transformers' `get_constant_schedule_with_warmup` (a `LambdaLR`): linear warmup from 0,
    /// then 1.
    WarmupConstant named WarmupConstant = "warmup_constant",
        torch "transformers.get_constant_schedule_with_warmup", required 1,
        sets_lr_from_scratch {
        warmup: Whole = 0, example "1000";
    }
    extent { *warmup }
    length { Some((*warmup, "its warmup".into(), Some("warmup"))) };
    /// transformers' `get_cosine_with_hard_restarts_schedule_with_warmup` (a `LambdaLR`):
    /// linear warmup from 0, then `num_cycles` cosines from 1 to 0 by step `total`, each
    /// restarting at 1; 0 from `total` on.
    WarmupCosineRestarts named WarmupCosineRestarts = "warmup_cosine_restarts",
        torch "transformers.get_cosine_with_hard_restarts_schedule_with_warmup", required 2,
        sets_lr_from_scratch {
        warmup: Whole = 0, example "1000";
        total: Whole = 1, range AtLeastOne, example "10000";
        num_cycles: Whole = 1, range AtLeastOne;
    }
    extent { *total }
    length { Some((*total, "its annealing".into(), Some("total"))) };
    /// transformers' `get_polynomial_decay_schedule_with_warmup` (a `LambdaLR`): linear warmup
    /// from 0, then `((lr_init - lr_end) * (1 - progress) ** power + lr_end) / lr_init` until
    /// `total`, `lr_end / lr_init` after. `lr_init` is the optimizer's lr unless given
    /// (transformers reads `optimizer.defaults["lr"]`), so a group with another lr ends at
    /// `lr_end` scaled by its lr's ratio to the optimizer's, as there.
    WarmupPolynomial named WarmupPolynomial = "warmup_polynomial",
        torch "transformers.get_polynomial_decay_schedule_with_warmup", required 2,
        sets_lr_from_scratch {
        warmup: Whole = 0, example "1000";
        total: Whole = 1, range AtLeastOne, example "10000";
        lr_end: Number = 1e-7;
        power: Number = 1.0;
        lr_init: Option<Number>, range Positive;
    }
    build warmup_polynomial
    extent { *total }
    length { Some((*total, "its decay".into(), Some("total"))) };
    /// transformers' `get_cosine_with_min_lr_schedule_with_warmup_lr_rate` (a `LambdaLR`):
    /// warmup `(step + 1) / warmup` (1 at step `warmup - 1`), or from `warmup_lr_rate` to 1
    /// over steps 0 to `warmup - 1`; then a cosine of `num_cycles` waves from 1 to
    /// `min_lr_ratio` whose progress is `(step - warmup + 1) / (total - warmup)`, one step
    /// ahead of `warmup_cosine`'s, clamped at 0 (past `total` it goes on).
    WarmupCosineLrRate named WarmupCosineLrRate = "warmup_cosine_lr_rate",
        torch "transformers.get_cosine_with_min_lr_schedule_with_warmup_lr_rate", required 2,
        sets_lr_from_scratch {
        warmup: Whole = 0, example "1000";
        total: Whole = 1, range AtLeastOne, example "10000";
        num_cycles: Number = 0.5;
        min_lr_ratio: Number = 0.0, range UnitInterval;
        warmup_lr_rate: Option<Number>, range UnitInterval;
    }
    extent { *total }
    length { Some((*total, "its annealing".into(), Some("total"))) };

    // Library schedules that set the lr itself (src/schedule/absolute.rs): their loops write
    // one lr into every group, or an absolute floor beside each group's lr.

    /// fairseq's `inverse_sqrt` (`InverseSquareRootSchedule`, stepped per update): linear from
    /// `warmup_init_lr` (-1: from 0) to `lr` over `warmup_updates`, then
    /// `lr * warmup_updates ** 0.5 * step ** -0.5`. `lr` is fairseq's `--lr`, written into every
    /// group; left out, each group's own lr.
    FairseqInverseSqrt named FairseqInverseSqrt = "fairseq_inverse_sqrt",
        torch "fairseq.InverseSquareRootSchedule", required 0, sets_lr_from_scratch {
        warmup_updates: Whole = 4000, range AtLeastOne, example "4000";
        warmup_init_lr: Number = (-1.0), example "1e-7";
        lr: Option<Number>, example "5e-4";
    }
    extent { warmup_updates.saturating_mul(4).max(100) }
    length { Some((*warmup_updates, "its warmup".into(), Some("warmup_updates"))) };
    /// nanoGPT's `get_lr(it)`: `(it + 1) / (warmup_iters + 1)` of `learning_rate` while
    /// warming up, a cosine from `learning_rate` to `min_lr` at `lr_decay_iters`, `min_lr`
    /// after. `learning_rate` is written into every group; left out, each group's own lr.
    NanogptCosine named NanogptCosine = "nanogpt_cosine", torch "nanoGPT.get_lr", required 2,
        sets_lr_from_scratch {
        warmup_iters: Whole = 2000, example "2000";
        lr_decay_iters: Whole = 600000, example "600000";
        min_lr: Number = 6e-5, example "6e-5";
        learning_rate: Option<Number>, example "6e-4";
    }
    build nanogpt_cosine
    extent { *lr_decay_iters }
    length { Some((*lr_decay_iters, "its annealing".into(), Some("lr_decay_iters"))) };

    // timm's schedulers (`timm.scheduler`), with timm's argument names and defaults. Each sets
    // the lr itself: its `lr_min` and `warmup_lr_init` are lrs, not factors of the group's.
    // timm's `t_in_epochs` is the file's `run` (`run = per_step(...)` is `t_in_epochs=False`).

    /// timm's `CosineLRScheduler`: warmup from `warmup_lr_init` over `warmup_t` steps, then
    /// cosine cycles from each group's lr (times `cycle_decay ** i` in cycle `i`) to `lr_min`,
    /// cycle `i` lasting `t_initial * cycle_mul ** i`, `k_decay` bending the curve; `lr_min`
    /// after `cycle_limit` cycles. With `warmup_prefix` the cycles start after the warmup.
    TimmCosine named TimmCosine = "timm_cosine", torch "timm.scheduler.CosineLRScheduler",
        required 1, sets_lr_from_scratch {
        t_initial: Whole = 1, range AtLeastOne, example "300";
        lr_min: Number = 0.0, range NonNegative, example "1e-5";
        cycle_mul: Number = 1.0, range Positive;
        cycle_decay: Number = 1.0;
        cycle_limit: Whole = 1;
        warmup_t: Whole = 0, example "5";
        warmup_lr_init: Number = 0.0, example "1e-6";
        warmup_prefix: Bool = false;
        k_decay: Number = 1.0, range Positive;
    }
    extent { timm_cycles_end(*t_initial, *cycle_mul, *cycle_limit, *warmup_t, *warmup_prefix) }
    length {
        Some((
            timm_cycles_end(*t_initial, *cycle_mul, *cycle_limit, *warmup_t, *warmup_prefix),
            "its annealing".into(),
            Some("t_initial"),
        ))
    };
    /// timm's `PolyLRScheduler`: as `timm_cosine`, with `(1 - t ** k / t_i ** k) ** power` for
    /// the cosine's wave.
    TimmPoly named TimmPoly = "timm_poly", torch "timm.scheduler.PolyLRScheduler", required 1,
        sets_lr_from_scratch {
        t_initial: Whole = 1, range AtLeastOne, example "300";
        power: Number = 0.5;
        lr_min: Number = 0.0, range NonNegative, example "1e-5";
        cycle_mul: Number = 1.0, range Positive;
        cycle_decay: Number = 1.0;
        cycle_limit: Whole = 1;
        warmup_t: Whole = 0, example "5";
        warmup_lr_init: Number = 0.0, example "1e-6";
        warmup_prefix: Bool = false;
        k_decay: Number = 1.0, range Positive;
    }
    extent { timm_cycles_end(*t_initial, *cycle_mul, *cycle_limit, *warmup_t, *warmup_prefix) }
    length {
        Some((
            timm_cycles_end(*t_initial, *cycle_mul, *cycle_limit, *warmup_t, *warmup_prefix),
            "its decay".into(),
            Some("t_initial"),
        ))
    };
    /// timm's `StepLRScheduler`: warmup from `warmup_lr_init` over `warmup_t` steps, then each
    /// group's lr times `decay_rate ** (t // decay_t)` (`t` counted after the warmup with
    /// `warmup_prefix`, timm's default here).
    TimmStep named TimmStep = "timm_step", torch "timm.scheduler.StepLRScheduler", required 1,
        sets_lr_from_scratch {
        decay_t: Number = 1.0, range Positive, example "30";
        decay_rate: Number = 1.0, example "0.1";
        warmup_t: Whole = 0, example "5";
        warmup_lr_init: Number = 0.0, example "1e-6";
        warmup_prefix: Bool = true;
    }
    extent { timm_step_first_decay(*decay_t, *warmup_t, *warmup_prefix) }
    length {
        Some((
            timm_step_first_decay(*decay_t, *warmup_t, *warmup_prefix).saturating_add(1),
            "its first decay happens".into(),
            None,
        ))
    };
    /// timm's `WSDLRScheduler`: warmup from `warmup_lr_init` over `warmup_t` steps (always a
    /// prefix), a stable phase (`stable_fn`), and a decay (`decay_fn`) to `lr_min` over the
    /// last `decay_t` of `t_initial` steps; `lr_min` after.
    TimmWsd named TimmWsd = "timm_wsd", torch "timm.scheduler.WSDLRScheduler", required 2,
        sets_lr_from_scratch {
        t_initial: Whole = 1, range AtLeastOne, example "1000";
        decay_t: Whole = 1, range AtLeastOne, example "200";
        lr_min: Number = 0.0, range NonNegative, example "1e-6";
        stable_fn: Word<TimmStableFn> = Constant;
        stable_timescale: Option<Number>, range Positive;
        stable_power: Number = 0.5, range Positive;
        decay_fn: Word<TimmDecayFn> = OneMinusSqrt;
        decay_power: Number = 0.5, range Positive;
        decay_ratio: Number = 0.1, range OpenUnitInterval;
        warmup_t: Whole = 0, example "100";
        warmup_lr_init: Number = 0.0, example "1e-6";
    }
    build timm_wsd
    extent { warmup_t.saturating_add(*t_initial) }
    length { Some((warmup_t.saturating_add(*t_initial), "its decay".into(), Some("t_initial"))) };
}

/// The end of timm's `get_cycle_length()` (the warmup included when it is a prefix): the
/// analysis's horizon for `timm_cosine` and `timm_poly`.
fn timm_cycles_end(
    t_initial: u64,
    cycle_mul: f64,
    cycle_limit: u64,
    warmup_t: u64,
    warmup_prefix: bool,
) -> u64 {
    let cycles = cycle_limit.max(1);
    let length = if cycle_mul == 1.0 {
        t_initial.saturating_mul(cycles)
    } else {
        // `as` saturates: a huge or non-finite length is u64::MAX, bounded by the analysis.
        (-(t_initial as f64) * (cycle_mul.powf(cycles as f64) - 1.0) / (1.0 - cycle_mul)).floor()
            as u64
    };
    if warmup_prefix {
        length.saturating_add(warmup_t)
    } else {
        length
    }
}

/// The step of `timm_step`'s first decay.
fn timm_step_first_decay(decay_t: f64, warmup_t: u64, warmup_prefix: bool) -> u64 {
    let first = decay_t.ceil() as u64;
    if warmup_prefix {
        first.saturating_add(warmup_t)
    } else {
        first.max(warmup_t)
    }
}

/// `CyclicLR`'s first cycle: up and down.
fn cyclic_period(step_size_up: f64, step_size_down: Option<f64>) -> u64 {
    (step_size_up + step_size_down.unwrap_or(step_size_up)).ceil() as u64
}

impl ScheduleKind {
    /// The kind's row of [`KINDS`].
    pub fn info(self) -> &'static KindInfo {
        &KINDS[self as usize]
    }

    /// The name in the language.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The class in `torch.optim.lr_scheduler`.
    pub fn torch_name(self) -> &'static str {
        self.info().torch
    }

    /// The kind the language calls `name`.
    pub fn from_name(name: &str) -> Option<ScheduleKind> {
        KINDS.iter().find(|k| k.name == name).map(|k| k.kind)
    }

    /// The kind whose PyTorch class is `name`, whatever its case (`steplr`).
    pub fn from_torch_name(name: &str) -> Option<ScheduleKind> {
        KINDS
            .iter()
            .find(|k| k.torch.eq_ignore_ascii_case(name))
            .map(|k| k.kind)
    }

    /// Every kind's name in the language, in the table's order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        KINDS.iter().map(|k| k.name)
    }
}

/// The epoch at which child `k` of a `sequence` takes over.
pub(crate) fn start_of(milestones: &[u64], k: usize) -> u64 {
    match k {
        0 => 0,
        k => milestones.get(k - 1).copied().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for kind in ScheduleKind::ALL {
            assert_eq!(ScheduleKind::from_name(kind.name()), Some(kind));
            assert_eq!(ScheduleKind::from_torch_name(kind.torch_name()), Some(kind));
            let info = kind.info();
            assert!(info.required <= info.params.len(), "{kind:?}");
            for (i, p) in info.params.iter().enumerate() {
                assert!(
                    info.params[..i].iter().all(|q| q.name != p.name),
                    "{kind:?}: {} twice",
                    p.name
                );
                if i < info.required {
                    assert_ne!(
                        p.example, "...",
                        "{kind:?}: required {} has no example",
                        p.name
                    );
                }
            }
        }
    }

    /// Every parameter a config holds is in the table, with the table's type; the JSON of every
    /// kind reads back as the same config.
    #[test]
    fn configs_hold_the_table_parameters() {
        let schedules = [
            "lambda(epoch -> 0.9)",
            "multiplicative(epoch -> 0.9)",
            "step(step_size = 3)",
            "multistep(milestones = [2, 4])",
            "exponential(gamma = 0.9)",
            "constant(factor = 0.5, total_iters = 3)",
            "linear(start_factor = 0.5, end_factor = 1, total_iters = 3)",
            "polynomial(total_iters = 3, power = 2)",
            "cosine(t_max = 10, eta_min = 0.01)",
            "cosine_restarts(t_0 = 3, t_mult = 2, eta_min = 0)",
            "cyclic(base_lr = 0.01, max_lr = 0.1, step_size_up = 2, step_size_down = 3, \
             mode = exp_range, gamma = 0.9, scale_fn = x -> 1, scale_mode = iterations)",
            "one_cycle(max_lr = 0.1, total_steps = 10, anneal_strategy = linear)",
            "plateau(mode = max, threshold_mode = abs)",
            "chain(step(step_size = 2), exponential(gamma = 0.9))",
            "sequence(step(step_size = 2), exponential(gamma = 0.9), milestones = [3])",
            "warmup(steps = 5, then = cosine(t_max = 10), start_factor = 0.1, shape = cosine, \
             clock = overlap, then_every = 2)",
            "warmup(5, step(step_size = 3), start_lr = 0.01, shape = constant, clock = follow)",
            "warmup(5, step(step_size = 3), start_momentum = [0.8])",
            "inverse_sqrt(warmup = 10, timescale = 20)",
            "noam(d_model = 512, warmup = 30, factor = 2)",
            "wsd(warmup = 10, decay = 30, total = 100, warmup_shape = cosine, \
             decay_shape = one_minus_sqrt, min_lr_ratio = 0.1, num_cycles = 1)",
            "warmup_cosine(warmup = 10, total = 100, num_cycles = 1.5, min_lr_ratio = 0.1)",
            "warmup_linear(warmup = 10, total = 100)",
            "warmup_constant(warmup = 10)",
            "swa(swa_lr = 0.05, anneal_epochs = 3, anneal_strategy = linear)",
            "warmup_cosine_restarts(warmup = 10, total = 100, num_cycles = 3)",
            "warmup_polynomial(warmup = 10, total = 100, lr_end = 1e-5, power = 2, lr_init = 0.1)",
            "warmup_cosine_lr_rate(warmup = 10, total = 100, num_cycles = 1, min_lr_ratio = 0.1, \
             warmup_lr_rate = 0.05)",
            "fairseq_inverse_sqrt(warmup_updates = 20, warmup_init_lr = 1e-7, lr = 5e-4)",
            "nanogpt_cosine(warmup_iters = 20, lr_decay_iters = 150, min_lr = 6e-5, \
             learning_rate = 6e-4)",
            "timm_cosine(t_initial = 20, lr_min = 1e-5, cycle_mul = 2, cycle_decay = 0.5, \
             cycle_limit = 3, warmup_t = 3, warmup_lr_init = 1e-5, warmup_prefix = true, \
             k_decay = 2)",
            "timm_poly(t_initial = 20, power = 2, lr_min = 1e-5, cycle_mul = 1, cycle_decay = 0.5, \
             cycle_limit = 2, warmup_t = 3, warmup_lr_init = 1e-5, warmup_prefix = true, \
             k_decay = 1.5)",
            "timm_step(decay_t = 10, decay_rate = 0.5, warmup_t = 3, warmup_lr_init = 1e-4, \
             warmup_prefix = false)",
            "timm_wsd(t_initial = 100, decay_t = 30, lr_min = 1e-6, stable_fn = power, \
             stable_timescale = 5, stable_power = 0.3, decay_fn = exp, decay_power = 2, \
             decay_ratio = 0.2, warmup_t = 10, warmup_lr_init = 1e-6)",
            "absolute(s -> let c = s // 10 in 1e-3 * 0.5 ** c)",
        ];
        let mut seen = std::collections::HashSet::new();
        let mut configs = Vec::new();
        for s in schedules {
            let source = format!("optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = {s}\n");
            configs.push(crate::Config::from_source("x.optim", &source).unwrap());
        }
        fn visit(s: &ScheduleConfig, seen: &mut std::collections::HashSet<ScheduleKind>) {
            let kind = s.kind();
            seen.insert(kind);
            let info = kind.info();
            for (name, value) in s.params() {
                let p = info.param(name);
                match (p.ty, value) {
                    (ParamType::Number, ParamValue::Number(_))
                    | (ParamType::Whole, ParamValue::Whole(_))
                    | (ParamType::Bool, ParamValue::Bool(_))
                    | (ParamType::PerGroup, ParamValue::PerGroup(_))
                    | (ParamType::Lambda, ParamValue::Lambda(_))
                    | (ParamType::WholeList, ParamValue::WholeList(_)) => {}
                    (ParamType::Schedule, _) => panic!("{kind:?}.{name}: a schedule is not listed"),
                    (ParamType::Word(choices), ParamValue::Word(w)) => {
                        assert!(w < choices.len());
                    }
                    (ty, v) => panic!("{kind:?}.{name}: {ty:?} holds {v:?}"),
                }
            }
            for c in s.children() {
                visit(c, seen);
            }
        }
        for config in &configs {
            let json = serde_json::to_string(config).unwrap();
            assert_eq!(
                &serde_json::from_str::<crate::Config>(&json).unwrap(),
                config
            );
            for s in config
                .schedule
                .iter()
                .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()))
            {
                visit(s, &mut seen);
            }
        }
        let missing: Vec<_> = ScheduleKind::ALL
            .iter()
            .filter(|k| !seen.contains(k))
            .collect();
        assert!(missing.is_empty(), "no case uses {missing:?}");
    }

    #[test]
    fn ranges() {
        assert!(Range::AtLeastOne.admits(1.0) && !Range::AtLeastOne.admits(0.0));
        assert!(Range::Positive.admits(1e-300) && !Range::Positive.admits(0.0));
        assert!(Range::UnitInterval.admits(0.0) && Range::UnitInterval.admits(1.0));
        assert!(!Range::UnitInterval.admits(f64::NAN));
        assert!(!Range::AboveZeroToOne.admits(0.0) && Range::AboveZeroToOne.admits(1.0));
        assert!(Range::BelowOne.admits(-1.0) && !Range::BelowOne.admits(1.0));
    }
}

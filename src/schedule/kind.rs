//! The schedule kinds: one table, [`KINDS`], with every fact about a kind that is not its
//! runtime arithmetic: its name in the language and in PyTorch, its parameters (type, default,
//! range, an example value) in PyTorch's positional order, how many are required, and a few
//! properties the analysis and the runtime read. The checker, the exporters, the analysis and
//! the editor-grammar test all read the table, and every `match` on a [`ScheduleKind`] or a
//! [`ScheduleConfig`] is exhaustive, so a kind added here and not handled elsewhere is a
//! compile error, not a silent `None`.
//!
//! Adding a kind (see ARCHITECTURE.md): a variant here and in [`ScheduleConfig`], its row in
//! [`KINDS`], its arms in [`ScheduleConfig::kind`], [`ScheduleConfig::params`] and the extent
//! rules below, its builder in `check/schedules.rs`, its runtime in `schedule/leaf.rs`, its
//! PyTorch line in `export/pytorch.rs`, and its fixtures.

use crate::config::{PerGroup, ScheduleConfig};
use crate::expr::Lambda;
use crate::schedule::named::WsdShape;

/// A schedule kind: one per [`ScheduleConfig`] variant, in the order of [`KINDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScheduleKind {
    Lambda,
    Multiplicative,
    Step,
    Multistep,
    Exponential,
    Constant,
    Linear,
    Polynomial,
    Cosine,
    CosineRestarts,
    Cyclic,
    OneCycle,
    Plateau,
    Chain,
    Sequence,
    InverseSqrt,
    Noam,
    Wsd,
    WarmupCosine,
    WarmupLinear,
    WarmupConstant,
}

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
        }
    }
}

impl Param {
    const fn new(name: &'static str, ty: ParamType, default: ParamDefault) -> Param {
        Param {
            name,
            ty,
            default,
            range: None,
            example: "...",
        }
    }
    const fn number(name: &'static str, default: f64) -> Param {
        Param::new(name, ParamType::Number, ParamDefault::Number(default))
    }
    const fn whole(name: &'static str, default: u64) -> Param {
        Param::new(name, ParamType::Whole, ParamDefault::Whole(default))
    }
    const fn boolean(name: &'static str, default: bool) -> Param {
        Param::new(name, ParamType::Bool, ParamDefault::Bool(default))
    }
    const fn word(name: &'static str, choices: &'static [&'static str]) -> Param {
        Param::new(name, ParamType::Word(choices), ParamDefault::Word(0))
    }
    const fn per_group(name: &'static str, default: f64) -> Param {
        Param::new(name, ParamType::PerGroup, ParamDefault::Number(default))
    }
    const fn lambda(name: &'static str) -> Param {
        Param::new(name, ParamType::Lambda, ParamDefault::Absent)
    }
    const fn whole_list(name: &'static str) -> Param {
        Param::new(name, ParamType::WholeList, ParamDefault::Absent)
    }
    /// Left out means "not given".
    const fn optional(self) -> Param {
        Param {
            default: ParamDefault::Absent,
            ..self
        }
    }
    const fn range(self, range: Range) -> Param {
        Param {
            range: Some(range),
            ..self
        }
    }
    const fn example(self, example: &'static str) -> Param {
        Param { example, ..self }
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
    const fn closed_form(self) -> KindInfo {
        KindInfo {
            closed_form: true,
            ..self
        }
    }
    const fn sets_lr_from_scratch(self) -> KindInfo {
        KindInfo {
            from_scratch: true,
            ..self
        }
    }
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

use ScheduleKind as K;

/// The schedule kinds, in the order of [`ScheduleKind`] (checked at compile time).
pub const KINDS: &[KindInfo] = &[
    kind(
        K::Lambda,
        "lambda",
        "LambdaLR",
        &[Param::lambda("lr_lambda").example("epoch -> 0.95 ** epoch")],
        1,
    )
    .sets_lr_from_scratch(),
    kind(
        K::Multiplicative,
        "multiplicative",
        "MultiplicativeLR",
        &[Param::lambda("lr_lambda").example("epoch -> 0.95 ** epoch")],
        1,
    ),
    kind(
        K::Step,
        "step",
        "StepLR",
        &[
            Param::whole("step_size", 1)
                .range(Range::AtLeastOne)
                .example("30"),
            Param::number("gamma", 0.1).example("0.1"),
        ],
        1,
    )
    .closed_form(),
    kind(
        K::Multistep,
        "multistep",
        "MultiStepLR",
        &[
            Param::whole_list("milestones").example("[30, 60]"),
            Param::number("gamma", 0.1).example("0.1"),
        ],
        1,
    )
    .closed_form(),
    kind(
        K::Exponential,
        "exponential",
        "ExponentialLR",
        &[Param::number("gamma", 1.0).example("0.1")],
        1,
    )
    .closed_form(),
    kind(
        K::Constant,
        "constant",
        "ConstantLR",
        &[
            Param::number("factor", 1.0 / 3.0).range(Range::UnitInterval),
            Param::whole("total_iters", 5),
        ],
        0,
    )
    .closed_form(),
    kind(
        K::Linear,
        "linear",
        "LinearLR",
        &[
            Param::number("start_factor", 1.0 / 3.0).range(Range::AboveZeroToOne),
            Param::number("end_factor", 1.0).range(Range::UnitInterval),
            Param::whole("total_iters", 5),
        ],
        0,
    )
    .closed_form(),
    kind(
        K::Polynomial,
        "polynomial",
        "PolynomialLR",
        &[Param::whole("total_iters", 5), Param::number("power", 1.0)],
        0,
    )
    .closed_form(),
    kind(
        K::Cosine,
        "cosine",
        "CosineAnnealingLR",
        &[
            Param::whole("t_max", 1)
                .range(Range::AtLeastOne)
                .example("100"),
            Param::number("eta_min", 0.0),
        ],
        1,
    )
    .closed_form(),
    kind(
        K::CosineRestarts,
        "cosine_restarts",
        "CosineAnnealingWarmRestarts",
        &[
            Param::whole("t_0", 1)
                .range(Range::AtLeastOne)
                .example("10"),
            Param::whole("t_mult", 1).range(Range::AtLeastOne),
            Param::number("eta_min", 0.0),
        ],
        1,
    )
    .sets_lr_from_scratch(),
    kind(
        K::Cyclic,
        "cyclic",
        "CyclicLR",
        &[
            Param::per_group("base_lr", 0.0).example("0.001"),
            Param::per_group("max_lr", 0.0).example("0.1"),
            Param::number("step_size_up", 2000.0).range(Range::Positive),
            Param::number("step_size_down", 0.0)
                .optional()
                .range(Range::Positive),
            Param::word("mode", &["triangular", "triangular2", "exp_range"]),
            Param::number("gamma", 1.0),
            Param::lambda("scale_fn").optional(),
            Param::word("scale_mode", &["cycle", "iterations"]),
            Param::boolean("cycle_momentum", true),
            Param::per_group("base_momentum", 0.8),
            Param::per_group("max_momentum", 0.9),
        ],
        2,
    )
    .sets_lr_from_scratch(),
    kind(
        K::OneCycle,
        "one_cycle",
        "OneCycleLR",
        &[
            Param::per_group("max_lr", 0.0).example("0.1"),
            Param::whole("total_steps", 1)
                .optional()
                .range(Range::AtLeastOne),
            Param::whole("epochs", 1)
                .optional()
                .range(Range::AtLeastOne),
            Param::whole("steps_per_epoch", 1)
                .optional()
                .range(Range::AtLeastOne),
            Param::number("pct_start", 0.3).range(Range::UnitInterval),
            Param::word("anneal_strategy", &["cos", "linear"]),
            Param::boolean("cycle_momentum", true),
            Param::per_group("base_momentum", 0.85),
            Param::per_group("max_momentum", 0.95),
            Param::number("div_factor", 25.0),
            Param::number("final_div_factor", 1e4),
            Param::boolean("three_phase", false),
        ],
        1,
    )
    .sets_lr_from_scratch(),
    kind(
        K::Plateau,
        "plateau",
        "ReduceLROnPlateau",
        &[
            Param::word("mode", &["min", "max"]),
            Param::number("factor", 0.1).range(Range::BelowOne),
            Param::whole("patience", 10),
            Param::number("threshold", 1e-4),
            Param::word("threshold_mode", &["rel", "abs"]),
            Param::whole("cooldown", 0),
            Param::per_group("min_lr", 0.0),
            Param::number("eps", 1e-8),
        ],
        0,
    ),
    kind(K::Chain, "chain", "ChainedScheduler", &[], 0).variadic(),
    kind(
        K::Sequence,
        "sequence",
        "SequentialLR",
        &[Param::whole_list("milestones").example("[30, 60]")],
        1,
    )
    .variadic(),
    // The named schedules of today's libraries (src/schedule/named.rs): each is what its
    // library builds, a `LambdaLR` of a closed-form factor, so PyTorch's name for it is the
    // library function that builds it.
    kind(
        K::InverseSqrt,
        "inverse_sqrt",
        "transformers.get_inverse_sqrt_schedule",
        &[
            Param::whole("warmup", 0).example("4000"),
            Param::whole("timescale", 1)
                .optional()
                .range(Range::AtLeastOne),
        ],
        1,
    )
    .sets_lr_from_scratch(),
    kind(
        K::Noam,
        "noam",
        "annotated_transformer.rate",
        &[
            Param::whole("d_model", 1)
                .range(Range::AtLeastOne)
                .example("512"),
            Param::whole("warmup", 1)
                .range(Range::AtLeastOne)
                .example("4000"),
            Param::number("factor", 1.0),
        ],
        2,
    )
    .sets_lr_from_scratch(),
    kind(
        K::Wsd,
        "wsd",
        "transformers.get_wsd_schedule",
        &[
            Param::whole("warmup", 0).example("1000"),
            Param::whole("decay", 0).example("2000"),
            Param::whole("total", 0).optional(),
            Param::whole("stable", 0).optional(),
            Param::word("warmup_shape", &WsdShape::NAMES),
            Param::new(
                "decay_shape",
                ParamType::Word(&WsdShape::NAMES),
                ParamDefault::Word(1),
            ),
            Param::number("min_lr_ratio", 0.0).range(Range::UnitInterval),
            Param::number("num_cycles", 0.5),
        ],
        2,
    )
    .sets_lr_from_scratch(),
    kind(
        K::WarmupCosine,
        "warmup_cosine",
        "transformers.get_cosine_with_min_lr_schedule_with_warmup",
        &[
            Param::whole("warmup", 0).example("1000"),
            Param::whole("total", 1)
                .range(Range::AtLeastOne)
                .example("10000"),
            Param::number("num_cycles", 0.5),
            Param::number("min_lr_ratio", 0.0).range(Range::UnitInterval),
        ],
        2,
    )
    .sets_lr_from_scratch(),
    kind(
        K::WarmupLinear,
        "warmup_linear",
        "transformers.get_linear_schedule_with_warmup",
        &[
            Param::whole("warmup", 0).example("1000"),
            Param::whole("total", 1)
                .range(Range::AtLeastOne)
                .example("10000"),
        ],
        2,
    )
    .sets_lr_from_scratch(),
    kind(
        K::WarmupConstant,
        "warmup_constant",
        "transformers.get_constant_schedule_with_warmup",
        &[Param::whole("warmup", 0).example("1000")],
        1,
    )
    .sets_lr_from_scratch(),
];

// `ScheduleKind::info` indexes the table by the kind: the rows must be in the enum's order.
const _: () = {
    let mut i = 0;
    while i < KINDS.len() {
        assert!(
            KINDS[i].kind as usize == i,
            "KINDS is not in ScheduleKind's order"
        );
        i += 1;
    }
    assert!(KINDS.len() == ScheduleKind::ALL.len());
};

impl ScheduleKind {
    /// Every kind, in the table's order.
    pub const ALL: [ScheduleKind; 21] = [
        K::Lambda,
        K::Multiplicative,
        K::Step,
        K::Multistep,
        K::Exponential,
        K::Constant,
        K::Linear,
        K::Polynomial,
        K::Cosine,
        K::CosineRestarts,
        K::Cyclic,
        K::OneCycle,
        K::Plateau,
        K::Chain,
        K::Sequence,
        K::InverseSqrt,
        K::Noam,
        K::Wsd,
        K::WarmupCosine,
        K::WarmupLinear,
        K::WarmupConstant,
    ];

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

impl ScheduleConfig {
    /// The schedule's kind.
    pub fn kind(&self) -> ScheduleKind {
        match self {
            ScheduleConfig::Lambda { .. } => K::Lambda,
            ScheduleConfig::Multiplicative { .. } => K::Multiplicative,
            ScheduleConfig::Step { .. } => K::Step,
            ScheduleConfig::Multistep { .. } => K::Multistep,
            ScheduleConfig::Exponential { .. } => K::Exponential,
            ScheduleConfig::Constant { .. } => K::Constant,
            ScheduleConfig::Linear { .. } => K::Linear,
            ScheduleConfig::Polynomial { .. } => K::Polynomial,
            ScheduleConfig::Cosine { .. } => K::Cosine,
            ScheduleConfig::CosineRestarts { .. } => K::CosineRestarts,
            ScheduleConfig::Cyclic { .. } => K::Cyclic,
            ScheduleConfig::OneCycle { .. } => K::OneCycle,
            ScheduleConfig::Plateau { .. } => K::Plateau,
            ScheduleConfig::Chain { .. } => K::Chain,
            ScheduleConfig::Sequence { .. } => K::Sequence,
            ScheduleConfig::InverseSqrt(_) => K::InverseSqrt,
            ScheduleConfig::Noam(_) => K::Noam,
            ScheduleConfig::Wsd(_) => K::Wsd,
            ScheduleConfig::WarmupCosine(_) => K::WarmupCosine,
            ScheduleConfig::WarmupLinear(_) => K::WarmupLinear,
            ScheduleConfig::WarmupConstant(_) => K::WarmupConstant,
        }
    }

    /// Every parameter the schedule holds, by its name in [`KINDS`], in the table's order:
    /// what generic code (the JSON/TOML import's range checks) reads instead of matching on
    /// every kind. Parameters left out (`None`), and those the checker folds into others
    /// (`one_cycle`'s `epochs` and `steps_per_epoch`), are not listed; nor are the children of
    /// `chain` and `sequence`.
    pub fn params(&self) -> Vec<(&'static str, ParamValue<'_>)> {
        use ParamValue as V;
        match self {
            ScheduleConfig::Lambda { lr_lambda } | ScheduleConfig::Multiplicative { lr_lambda } => {
                vec![("lr_lambda", V::Lambda(lr_lambda))]
            }
            ScheduleConfig::Step { step_size, gamma } => {
                vec![
                    ("step_size", V::Whole(*step_size)),
                    ("gamma", V::Number(*gamma)),
                ]
            }
            ScheduleConfig::Multistep { milestones, gamma } => vec![
                ("milestones", V::WholeList(milestones)),
                ("gamma", V::Number(*gamma)),
            ],
            ScheduleConfig::Exponential { gamma } => vec![("gamma", V::Number(*gamma))],
            ScheduleConfig::Constant {
                factor,
                total_iters,
            } => vec![
                ("factor", V::Number(*factor)),
                ("total_iters", V::Whole(*total_iters)),
            ],
            ScheduleConfig::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => vec![
                ("start_factor", V::Number(*start_factor)),
                ("end_factor", V::Number(*end_factor)),
                ("total_iters", V::Whole(*total_iters)),
            ],
            ScheduleConfig::Polynomial { total_iters, power } => vec![
                ("total_iters", V::Whole(*total_iters)),
                ("power", V::Number(*power)),
            ],
            ScheduleConfig::Cosine { t_max, eta_min } => {
                vec![
                    ("t_max", V::Whole(*t_max)),
                    ("eta_min", V::Number(*eta_min)),
                ]
            }
            ScheduleConfig::CosineRestarts {
                t_0,
                t_mult,
                eta_min,
            } => vec![
                ("t_0", V::Whole(*t_0)),
                ("t_mult", V::Whole(*t_mult)),
                ("eta_min", V::Number(*eta_min)),
            ],
            ScheduleConfig::Cyclic {
                base_lr,
                max_lr,
                step_size_up,
                step_size_down,
                mode,
                gamma,
                scale_fn,
                scale_mode,
                cycle_momentum,
                base_momentum,
                max_momentum,
            } => {
                let mut out = vec![
                    ("base_lr", V::PerGroup(base_lr)),
                    ("max_lr", V::PerGroup(max_lr)),
                    ("step_size_up", V::Number(*step_size_up)),
                ];
                out.extend(step_size_down.map(|v| ("step_size_down", V::Number(v))));
                out.push(("mode", V::Word(*mode as usize)));
                out.push(("gamma", V::Number(*gamma)));
                out.extend(scale_fn.as_ref().map(|f| ("scale_fn", V::Lambda(f))));
                out.extend([
                    ("scale_mode", V::Word(*scale_mode as usize)),
                    ("cycle_momentum", V::Bool(*cycle_momentum)),
                    ("base_momentum", V::PerGroup(base_momentum)),
                    ("max_momentum", V::PerGroup(max_momentum)),
                ]);
                out
            }
            ScheduleConfig::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                anneal_strategy,
                cycle_momentum,
                base_momentum,
                max_momentum,
                div_factor,
                final_div_factor,
                three_phase,
            } => vec![
                ("max_lr", V::PerGroup(max_lr)),
                ("total_steps", V::Whole(*total_steps)),
                ("pct_start", V::Number(*pct_start)),
                ("anneal_strategy", V::Word(*anneal_strategy as usize)),
                ("cycle_momentum", V::Bool(*cycle_momentum)),
                ("base_momentum", V::PerGroup(base_momentum)),
                ("max_momentum", V::PerGroup(max_momentum)),
                ("div_factor", V::Number(*div_factor)),
                ("final_div_factor", V::Number(*final_div_factor)),
                ("three_phase", V::Bool(*three_phase)),
            ],
            ScheduleConfig::Plateau {
                mode,
                factor,
                patience,
                threshold,
                threshold_mode,
                cooldown,
                min_lr,
                eps,
            } => vec![
                ("mode", V::Word(*mode as usize)),
                ("factor", V::Number(*factor)),
                ("patience", V::Whole(*patience)),
                ("threshold", V::Number(*threshold)),
                ("threshold_mode", V::Word(*threshold_mode as usize)),
                ("cooldown", V::Whole(*cooldown)),
                ("min_lr", V::PerGroup(min_lr)),
                ("eps", V::Number(*eps)),
            ],
            ScheduleConfig::Chain { .. } => Vec::new(),
            ScheduleConfig::Sequence { milestones, .. } => {
                vec![("milestones", V::WholeList(milestones))]
            }
            ScheduleConfig::InverseSqrt(i) => {
                let mut out = vec![("warmup", V::Whole(i.warmup))];
                out.extend(i.timescale.map(|t| ("timescale", V::Whole(t))));
                out
            }
            ScheduleConfig::Noam(n) => vec![
                ("d_model", V::Whole(n.d_model)),
                ("warmup", V::Whole(n.warmup)),
                ("factor", V::Number(n.factor)),
            ],
            ScheduleConfig::Wsd(w) => vec![
                ("warmup", V::Whole(w.warmup)),
                ("decay", V::Whole(w.decay)),
                ("stable", V::Whole(w.stable)),
                ("warmup_shape", V::Word(w.warmup_shape as usize)),
                ("decay_shape", V::Word(w.decay_shape as usize)),
                ("min_lr_ratio", V::Number(w.min_lr_ratio)),
                ("num_cycles", V::Number(w.num_cycles)),
            ],
            ScheduleConfig::WarmupCosine(c) => vec![
                ("warmup", V::Whole(c.warmup)),
                ("total", V::Whole(c.total)),
                ("num_cycles", V::Number(c.num_cycles)),
                ("min_lr_ratio", V::Number(c.min_lr_ratio)),
            ],
            ScheduleConfig::WarmupLinear(l) => {
                vec![("warmup", V::Whole(l.warmup)), ("total", V::Whole(l.total))]
            }
            ScheduleConfig::WarmupConstant(c) => vec![("warmup", V::Whole(c.warmup))],
        }
    }

    /// The epochs the schedule needs to show what it does: its totals, periods and milestones
    /// (the analysis's default horizon covers them).
    pub(crate) fn extent(&self) -> u64 {
        match self {
            ScheduleConfig::Lambda { .. }
            | ScheduleConfig::Multiplicative { .. }
            | ScheduleConfig::Exponential { .. } => 0,
            ScheduleConfig::Step { step_size, .. } => *step_size,
            ScheduleConfig::Multistep { milestones, .. } => {
                milestones.iter().copied().max().unwrap_or(0)
            }
            ScheduleConfig::Constant { total_iters, .. }
            | ScheduleConfig::Linear { total_iters, .. }
            | ScheduleConfig::Polynomial { total_iters, .. } => *total_iters,
            ScheduleConfig::Cosine { t_max, .. } => *t_max,
            ScheduleConfig::CosineRestarts { t_0, .. } => *t_0,
            ScheduleConfig::Cyclic {
                step_size_up,
                step_size_down,
                ..
            } => (step_size_up + step_size_down.unwrap_or(*step_size_up)).ceil() as u64,
            ScheduleConfig::OneCycle { total_steps, .. } => *total_steps,
            ScheduleConfig::Plateau {
                patience, cooldown, ..
            } => patience.saturating_add(*cooldown).saturating_add(2),
            ScheduleConfig::Chain { children } => {
                children.iter().map(Self::extent).max().unwrap_or(0)
            }
            ScheduleConfig::Sequence {
                children,
                milestones,
            } => children
                .iter()
                .enumerate()
                .map(|(k, c)| start_of(milestones, k).saturating_add(c.extent()))
                .chain(milestones.iter().copied())
                .max()
                .unwrap_or(0),
            ScheduleConfig::InverseSqrt(_)
            | ScheduleConfig::Noam(_)
            | ScheduleConfig::Wsd(_)
            | ScheduleConfig::WarmupCosine(_)
            | ScheduleConfig::WarmupLinear(_)
            | ScheduleConfig::WarmupConstant(_) => self.named_rule().map_or(0, |r| r.extent()),
        }
    }

    /// How many epochs the schedule needs to finish its warmup, annealing or first cycle, what
    /// to call that (and whether it "ends" or "happens"), and the argument that sets it; `None`
    /// for the kinds without one.
    pub(crate) fn length(&self) -> Option<(u64, String, Option<&'static str>)> {
        Some(match self {
            ScheduleConfig::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => {
                let what = if start_factor < end_factor {
                    "its warmup"
                } else {
                    "its decay"
                };
                (*total_iters, what.into(), Some("total_iters"))
            }
            ScheduleConfig::Constant { total_iters, .. } => {
                (*total_iters, "its warmup".into(), Some("total_iters"))
            }
            ScheduleConfig::Polynomial { total_iters, .. } => {
                (*total_iters, "its decay".into(), Some("total_iters"))
            }
            ScheduleConfig::Cosine { t_max, .. } => (*t_max, "its annealing".into(), Some("t_max")),
            ScheduleConfig::CosineRestarts { t_0, .. } => {
                (*t_0, "its first cycle".into(), Some("t_0"))
            }
            ScheduleConfig::OneCycle { total_steps, .. } => {
                (*total_steps, "its cycle".into(), Some("total_steps"))
            }
            ScheduleConfig::Cyclic {
                step_size_up,
                step_size_down,
                ..
            } => (
                (step_size_up + step_size_down.unwrap_or(*step_size_up)).ceil() as u64,
                "its first cycle".into(),
                None,
            ),
            ScheduleConfig::Multistep { milestones, .. } => {
                let last = milestones.iter().copied().max()?;
                (last + 1, format!("its decay at epoch {last} happens"), None)
            }
            ScheduleConfig::Step { step_size, .. } => {
                (step_size + 1, "its first decay happens".into(), None)
            }
            ScheduleConfig::Wsd(w) => (w.warmup, "its warmup".into(), Some("warmup")),
            ScheduleConfig::InverseSqrt(i) => (i.warmup, "its warmup".into(), Some("warmup")),
            ScheduleConfig::Noam(n) => (n.warmup, "its warmup".into(), Some("warmup")),
            ScheduleConfig::WarmupCosine(c) => (c.total, "its annealing".into(), Some("total")),
            ScheduleConfig::WarmupLinear(l) => (l.total, "its decay".into(), Some("total")),
            ScheduleConfig::WarmupConstant(c) => (c.warmup, "its warmup".into(), Some("warmup")),
            ScheduleConfig::Lambda { .. }
            | ScheduleConfig::Multiplicative { .. }
            | ScheduleConfig::Exponential { .. }
            | ScheduleConfig::Plateau { .. }
            | ScheduleConfig::Chain { .. }
            | ScheduleConfig::Sequence { .. } => return None,
        })
    }
}

/// The epoch at which child `k` of a `sequence` takes over.
pub(crate) fn start_of(milestones: &[u64], k: usize) -> u64 {
    match k {
        0 => 0,
        k => milestones.get(k - 1).copied().unwrap_or(0),
    }
}

/// The words of the config enums, in the order of the parameters' choices in [`KINDS`] (the
/// `as usize` in [`ScheduleConfig::params`] relies on it; the tests check it).
#[cfg(test)]
fn word_of(kind: ScheduleKind, param: &str, index: usize) -> &'static str {
    use crate::config::{AnnealStrategy, CyclicMode, PlateauMode, ScaleMode, ThresholdMode};
    match (kind, param) {
        (K::Cyclic, "mode") => [
            CyclicMode::Triangular,
            CyclicMode::Triangular2,
            CyclicMode::ExpRange,
        ]
        .map(serde_word)[index],
        (K::Cyclic, "scale_mode") => {
            [ScaleMode::Cycle, ScaleMode::Iterations].map(serde_word)[index]
        }
        (K::OneCycle, "anneal_strategy") => {
            [AnnealStrategy::Cos, AnnealStrategy::Linear].map(serde_word)[index]
        }
        (K::Plateau, "mode") => [PlateauMode::Min, PlateauMode::Max].map(serde_word)[index],
        (K::Plateau, "threshold_mode") => {
            [ThresholdMode::Rel, ThresholdMode::Abs].map(serde_word)[index]
        }
        (K::Wsd, "warmup_shape" | "decay_shape") => {
            [WsdShape::Linear, WsdShape::Cosine, WsdShape::OneMinusSqrt].map(serde_word)[index]
        }
        _ => panic!("{kind:?} has no word parameter {param}"),
    }
}

#[cfg(test)]
fn serde_word<T: serde::Serialize>(v: T) -> &'static str {
    let s = serde_json::to_string(&v).unwrap();
    Box::leak(s.trim_matches('"').to_string().into_boxed_str())
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

    /// Every parameter a config holds is in the table, with the table's type, in its order;
    /// and the word choices are the config enums' serialized names, in the enums' order.
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
            "inverse_sqrt(warmup = 10, timescale = 20)",
            "noam(d_model = 512, warmup = 30, factor = 2)",
            "wsd(warmup = 10, decay = 30, total = 100, warmup_shape = cosine, \
             decay_shape = one_minus_sqrt, min_lr_ratio = 0.1, num_cycles = 1)",
            "warmup_cosine(warmup = 10, total = 100, num_cycles = 1.5, min_lr_ratio = 0.1)",
            "warmup_linear(warmup = 10, total = 100)",
            "warmup_constant(warmup = 10)",
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
            let mut last = None;
            for (name, value) in s.params() {
                let i = info.params.iter().position(|p| p.name == name).unwrap();
                assert!(last < Some(i), "{kind:?}: {name} out of order");
                last = Some(i);
                let p = &info.params[i];
                match (p.ty, value) {
                    (ParamType::Number, ParamValue::Number(_))
                    | (ParamType::Whole, ParamValue::Whole(_))
                    | (ParamType::Bool, ParamValue::Bool(_))
                    | (ParamType::PerGroup, ParamValue::PerGroup(_))
                    | (ParamType::Lambda, ParamValue::Lambda(_))
                    | (ParamType::WholeList, ParamValue::WholeList(_)) => {}
                    (ParamType::Word(choices), ParamValue::Word(w)) => {
                        for (k, c) in choices.iter().enumerate() {
                            assert_eq!(word_of(kind, name, k), *c, "{kind:?}.{name}");
                        }
                        assert!(w < choices.len());
                    }
                    (ty, v) => panic!("{kind:?}.{name}: {ty:?} holds {v:?}"),
                }
            }
            if let ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } =
                s
            {
                for c in children {
                    visit(c, seen);
                }
            }
        }
        for config in &configs {
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

//! The resolved configuration: what a checked `.optim` file means, with every default filled in
//! and every `let` substituted. The checker produces it; schedules and optimizers are built from it.

use crate::expr::Lambda;
pub use crate::schedule::named::{
    InverseSqrt, Noam, WarmupConstant, WarmupCosine, WarmupLinear, Wsd, WsdShape,
};
use serde::{Deserialize, Serialize};

/// A fully resolved `.optim` file.
///
/// Deserializing one (`serde_json::from_str::<Config>`, ...) goes through the checker's rules,
/// as [`Config::from_json`] does: a configuration that `Trainer::new` or `Schedule::new` could not
/// run (a per-group list of the wrong length, a zero `step_size`, ...) is refused with the
/// problems listed in the error, so no `Config` value is unchecked.
///
/// ```
/// let source = "optimizer = sgd(lr = 0.1)\nschedule = step(5)";
/// let config = optimc::Config::from_source("a.optim", source)?;
/// let json = optimc::export::to_json(&config);
/// assert_eq!(serde_json::from_str::<optimc::Config>(&json)?, config);
/// let zero = json.replace("\"step_size\": 5", "\"step_size\": 0");
/// let err = serde_json::from_str::<optimc::Config>(&zero).unwrap_err();
/// assert!(err.to_string().contains("step_size"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedConfig")]
pub struct Config {
    pub optimizer: OptimizerKind,
    /// The optimizer's options as given in `optimizer = ...(...)`, defaults filled in.
    pub defaults: Hyperparams,
    /// The parameter groups in declaration order (`param_groups[i]`); never empty: a file without
    /// groups has one group `default` with `params = "*"`.
    pub groups: Vec<GroupConfig>,
    /// The schedule of every group that does not set its own; `None` means a constant lr.
    pub schedule: Option<ScheduleConfig>,
}

/// A [`Config`] as deserialized, before the checker's rules.
#[derive(Deserialize)]
struct UncheckedConfig {
    optimizer: OptimizerKind,
    defaults: Hyperparams,
    groups: Vec<GroupConfig>,
    schedule: Option<ScheduleConfig>,
}

impl TryFrom<UncheckedConfig> for Config {
    type Error = String;

    fn try_from(u: UncheckedConfig) -> Result<Config, String> {
        crate::export::checked(Config {
            optimizer: u.optimizer,
            defaults: u.defaults,
            groups: u.groups,
            schedule: u.schedule,
        })
    }
}

impl Config {
    /// The schedule driving group `i`: its own, else the file's.
    pub fn schedule_of(&self, group: usize) -> Option<&ScheduleConfig> {
        self.groups[group]
            .schedule
            .as_ref()
            .or(self.schedule.as_ref())
    }
}

/// One parameter group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupConfig {
    pub name: String,
    /// Glob patterns over parameter names: `*` any run of characters, `?` one character.
    pub params: Vec<String>,
    /// The optimizer's defaults with this group's overrides applied.
    pub options: Hyperparams,
    /// This group's own schedule, overriding the file's.
    pub schedule: Option<ScheduleConfig>,
}

/// The optimizers optimc implements, named as in PyTorch's `torch.optim`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    Adam,
    AdamW,
    RmsProp,
    Adagrad,
    Adadelta,
    Adamax,
    NAdam,
    RAdam,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 9] = [
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
        OptimizerKind::RmsProp,
        OptimizerKind::Adagrad,
        OptimizerKind::Adadelta,
        OptimizerKind::Adamax,
        OptimizerKind::NAdam,
        OptimizerKind::RAdam,
    ];

    /// The name used in `.optim` files.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::RmsProp => "rmsprop",
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Adadelta => "adadelta",
            OptimizerKind::Adamax => "adamax",
            OptimizerKind::NAdam => "nadam",
            OptimizerKind::RAdam => "radam",
        }
    }

    /// The class name in `torch.optim`.
    pub fn torch_name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::AdamW => "AdamW",
            OptimizerKind::RmsProp => "RMSprop",
            OptimizerKind::Adagrad => "Adagrad",
            OptimizerKind::Adadelta => "Adadelta",
            OptimizerKind::Adamax => "Adamax",
            OptimizerKind::NAdam => "NAdam",
            OptimizerKind::RAdam => "RAdam",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the optimizer keeps `betas` (so `cyclic`/`one_cycle` cycle `betas[0]`), as
    /// PyTorch's `"betas" in optimizer.defaults`.
    pub fn has_betas(self) -> bool {
        matches!(
            self,
            OptimizerKind::Adam
                | OptimizerKind::AdamW
                | OptimizerKind::Adamax
                | OptimizerKind::NAdam
                | OptimizerKind::RAdam
        )
    }

    /// Whether the optimizer has a `momentum` option, as PyTorch's `"momentum" in optimizer.defaults`.
    pub fn has_momentum(self) -> bool {
        matches!(self, OptimizerKind::Sgd | OptimizerKind::RmsProp)
    }

    /// The options this optimizer takes, in PyTorch's positional order. Options after
    /// `keyword_only_from` can only be given by name (PyTorch's `*`).
    pub fn options(self) -> (&'static [OptionName], usize) {
        use OptionName::*;
        match self {
            OptimizerKind::Sgd => (
                &[Lr, Momentum, Dampening, WeightDecay, Nesterov, Maximize],
                5,
            ),
            OptimizerKind::Adam => (
                &[
                    Lr,
                    Betas,
                    Eps,
                    WeightDecay,
                    Amsgrad,
                    Maximize,
                    DecoupledWeightDecay,
                ],
                5,
            ),
            OptimizerKind::AdamW => (&[Lr, Betas, Eps, WeightDecay, Amsgrad, Maximize], 5),
            OptimizerKind::RmsProp => (
                &[Lr, Alpha, Eps, WeightDecay, Momentum, Centered, Maximize],
                6,
            ),
            OptimizerKind::Adagrad => (
                &[
                    Lr,
                    LrDecay,
                    WeightDecay,
                    InitialAccumulatorValue,
                    Eps,
                    Maximize,
                ],
                5,
            ),
            OptimizerKind::Adadelta => (&[Lr, Rho, Eps, WeightDecay, Maximize], 4),
            OptimizerKind::Adamax => (&[Lr, Betas, Eps, WeightDecay, Maximize], 4),
            OptimizerKind::NAdam => (
                &[
                    Lr,
                    Betas,
                    Eps,
                    WeightDecay,
                    MomentumDecay,
                    DecoupledWeightDecay,
                    Maximize,
                ],
                6,
            ),
            OptimizerKind::RAdam => (
                &[Lr, Betas, Eps, WeightDecay, DecoupledWeightDecay, Maximize],
                5,
            ),
        }
    }
}

/// Every optimizer option the language knows, by its PyTorch keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionName {
    Lr,
    Momentum,
    Dampening,
    Nesterov,
    WeightDecay,
    Maximize,
    Betas,
    Eps,
    Amsgrad,
    Alpha,
    Centered,
    LrDecay,
    InitialAccumulatorValue,
    Rho,
    MomentumDecay,
    DecoupledWeightDecay,
}

impl OptionName {
    pub const ALL: [OptionName; 16] = [
        OptionName::Lr,
        OptionName::Momentum,
        OptionName::Dampening,
        OptionName::Nesterov,
        OptionName::WeightDecay,
        OptionName::Maximize,
        OptionName::Betas,
        OptionName::Eps,
        OptionName::Amsgrad,
        OptionName::Alpha,
        OptionName::Centered,
        OptionName::LrDecay,
        OptionName::InitialAccumulatorValue,
        OptionName::Rho,
        OptionName::MomentumDecay,
        OptionName::DecoupledWeightDecay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OptionName::Lr => "lr",
            OptionName::Momentum => "momentum",
            OptionName::Dampening => "dampening",
            OptionName::Nesterov => "nesterov",
            OptionName::WeightDecay => "weight_decay",
            OptionName::Maximize => "maximize",
            OptionName::Betas => "betas",
            OptionName::Eps => "eps",
            OptionName::Amsgrad => "amsgrad",
            OptionName::Alpha => "alpha",
            OptionName::Centered => "centered",
            OptionName::LrDecay => "lr_decay",
            OptionName::InitialAccumulatorValue => "initial_accumulator_value",
            OptionName::Rho => "rho",
            OptionName::MomentumDecay => "momentum_decay",
            OptionName::DecoupledWeightDecay => "decoupled_weight_decay",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The kind of value the option takes.
    pub fn value_kind(self) -> OptionValueKind {
        match self {
            OptionName::Nesterov
            | OptionName::Maximize
            | OptionName::Amsgrad
            | OptionName::Centered
            | OptionName::DecoupledWeightDecay => OptionValueKind::Bool,
            OptionName::Betas => OptionValueKind::Pair,
            _ => OptionValueKind::Number,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionValueKind {
    Number,
    Bool,
    /// A 2-tuple of numbers (`betas`).
    Pair,
}

/// An optimizer's hyperparameters for one group. Every optimizer's options live here; each
/// optimizer reads the ones it has. Values are f64, as PyTorch keeps them in Python floats; in
/// JSON (state files) they are written as [`crate::number`] says, so a schedule's infinite or
/// NaN lr reads back exactly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyperparams {
    #[serde(with = "crate::number::float")]
    pub lr: f64,
    #[serde(with = "crate::number::float")]
    pub momentum: f64,
    #[serde(with = "crate::number::float")]
    pub dampening: f64,
    pub nesterov: bool,
    #[serde(with = "crate::number::float")]
    pub weight_decay: f64,
    pub maximize: bool,
    #[serde(with = "crate::number::pair")]
    pub betas: (f64, f64),
    #[serde(with = "crate::number::float")]
    pub eps: f64,
    pub amsgrad: bool,
    #[serde(with = "crate::number::float")]
    pub alpha: f64,
    pub centered: bool,
    #[serde(with = "crate::number::float")]
    pub lr_decay: f64,
    #[serde(with = "crate::number::float")]
    pub initial_accumulator_value: f64,
    #[serde(with = "crate::number::float")]
    pub rho: f64,
    #[serde(with = "crate::number::float")]
    pub momentum_decay: f64,
    pub decoupled_weight_decay: bool,
}

impl Hyperparams {
    /// PyTorch's defaults for `kind` (its constructor's keyword defaults).
    pub fn defaults(kind: OptimizerKind) -> Self {
        let common = Hyperparams {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            maximize: false,
            betas: (0.9, 0.999),
            eps: 1e-8,
            amsgrad: false,
            alpha: 0.99,
            centered: false,
            lr_decay: 0.0,
            initial_accumulator_value: 0.0,
            rho: 0.9,
            momentum_decay: 4e-3,
            decoupled_weight_decay: kind == OptimizerKind::AdamW,
        };
        match kind {
            OptimizerKind::Sgd | OptimizerKind::Adam | OptimizerKind::RAdam => common,
            OptimizerKind::AdamW => Hyperparams {
                weight_decay: 1e-2,
                ..common
            },
            OptimizerKind::RmsProp => Hyperparams { lr: 1e-2, ..common },
            OptimizerKind::Adagrad => Hyperparams {
                lr: 1e-2,
                eps: 1e-10,
                ..common
            },
            OptimizerKind::Adadelta => Hyperparams {
                lr: 1.0,
                eps: 1e-6,
                ..common
            },
            OptimizerKind::Adamax | OptimizerKind::NAdam => Hyperparams { lr: 2e-3, ..common },
        }
    }
}

/// A number given once for every group, or once per group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerGroup {
    All(f64),
    Each(Vec<f64>),
}

impl PerGroup {
    /// The value for group `i` (lists are checked to have one entry per group).
    pub fn get(&self, i: usize) -> f64 {
        match self {
            PerGroup::All(v) => *v,
            PerGroup::Each(vs) => vs[i],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CyclicMode {
    Triangular,
    Triangular2,
    ExpRange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleMode {
    Cycle,
    Iterations,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnealStrategy {
    Cos,
    Linear,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateauMode {
    Min,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    Rel,
    Abs,
}

/// A learning-rate schedule with its arguments resolved; one variant per PyTorch scheduler.
/// Whole-number arguments are `u64`; per-group arguments are [`PerGroup`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ScheduleConfig {
    /// `LambdaLR`: lr = initial lr × f(epoch).
    Lambda { lr_lambda: Lambda },
    /// `MultiplicativeLR`: lr ×= f(epoch) from epoch 1 on.
    Multiplicative { lr_lambda: Lambda },
    /// `StepLR`
    Step { step_size: u64, gamma: f64 },
    /// `MultiStepLR`; milestones as written (unsorted and repeated allowed).
    Multistep { milestones: Vec<u64>, gamma: f64 },
    /// `ExponentialLR`
    Exponential { gamma: f64 },
    /// `ConstantLR`
    Constant { factor: f64, total_iters: u64 },
    /// `LinearLR`
    Linear {
        start_factor: f64,
        end_factor: f64,
        total_iters: u64,
    },
    /// `PolynomialLR`
    Polynomial { total_iters: u64, power: f64 },
    /// `CosineAnnealingLR`
    Cosine { t_max: u64, eta_min: f64 },
    /// `CosineAnnealingWarmRestarts`
    CosineRestarts { t_0: u64, t_mult: u64, eta_min: f64 },
    /// `CyclicLR`
    Cyclic {
        base_lr: PerGroup,
        max_lr: PerGroup,
        step_size_up: f64,
        step_size_down: Option<f64>,
        mode: CyclicMode,
        gamma: f64,
        scale_fn: Option<Lambda>,
        scale_mode: ScaleMode,
        cycle_momentum: bool,
        base_momentum: PerGroup,
        max_momentum: PerGroup,
    },
    /// `OneCycleLR`; `total_steps` is resolved from `epochs × steps_per_epoch` when not given.
    OneCycle {
        max_lr: PerGroup,
        total_steps: u64,
        pct_start: f64,
        anneal_strategy: AnnealStrategy,
        cycle_momentum: bool,
        base_momentum: PerGroup,
        max_momentum: PerGroup,
        div_factor: f64,
        final_div_factor: f64,
        three_phase: bool,
    },
    /// `ReduceLROnPlateau`
    Plateau {
        mode: PlateauMode,
        factor: f64,
        patience: u64,
        threshold: f64,
        threshold_mode: ThresholdMode,
        cooldown: u64,
        min_lr: PerGroup,
        eps: f64,
    },
    /// `ChainedScheduler`
    Chain { children: Vec<ScheduleConfig> },
    /// `SequentialLR`
    Sequence {
        children: Vec<ScheduleConfig>,
        milestones: Vec<u64>,
    },
    /// transformers' `get_inverse_sqrt_schedule` (a `LambdaLR`).
    InverseSqrt(InverseSqrt),
    /// The Annotated Transformer's Noam `rate` under a `LambdaLR`.
    Noam(Noam),
    /// transformers' `get_wsd_schedule` (a `LambdaLR`).
    Wsd(Wsd),
    /// transformers' `get_cosine_(with_min_lr_)schedule_with_warmup` (a `LambdaLR`).
    WarmupCosine(WarmupCosine),
    /// transformers' `get_linear_schedule_with_warmup` (a `LambdaLR`).
    WarmupLinear(WarmupLinear),
    /// transformers' `get_constant_schedule_with_warmup` (a `LambdaLR`).
    WarmupConstant(WarmupConstant),
}

impl ScheduleConfig {
    /// Whether this schedule (or any child) needs a metric each epoch.
    pub fn needs_metric(&self) -> bool {
        match self {
            ScheduleConfig::Plateau { .. } => true,
            ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } => {
                children.iter().any(ScheduleConfig::needs_metric)
            }
            _ => false,
        }
    }

    /// Whether this schedule (or any child) sets momentum / `betas[0]`.
    pub fn cycles_momentum(&self) -> bool {
        match self {
            ScheduleConfig::Cyclic { cycle_momentum, .. }
            | ScheduleConfig::OneCycle { cycle_momentum, .. } => *cycle_momentum,
            ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } => {
                children.iter().any(ScheduleConfig::cycles_momentum)
            }
            _ => false,
        }
    }
}

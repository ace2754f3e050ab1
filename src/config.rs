//! The resolved configuration: what a checked `.optim` file means, with every default filled in
//! and every `let` substituted. The checker produces it; schedules and optimizers are built from it.

use crate::expr::Lambda;
pub use crate::schedule::named::{
    InverseSqrt, Noam, WarmupConstant, WarmupCosine, WarmupLinear, Wsd, WsdShape,
};
use serde::{Deserialize, Serialize};

mod optimizers;
mod options;
mod validate;

pub use optimizers::OptimizerKind;
pub(crate) use options::writing_toml;
pub use options::{
    HyperparamOverrides, Hyperparams, OptionName, OptionType, OptionValue, OptionValueKind,
};
pub use validate::{validate, Example, OptionProblem, Range};

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

    /// The configuration's identity, which a state file records: the SHA-256 (hex) of its
    /// JSON serialization (`serde_json`, fields in declaration order, numbers in shortest
    /// round-trip form). Any change to the optimizer, its options, the groups or the schedules
    /// changes it.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_string(self).expect("a Config always serializes");
        let digest = Sha256::digest(json.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
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

//! The resolved configuration: what a checked `.optim` file means, with every default filled in
//! and every `let` substituted. The checker produces it; schedules and optimizers are built from it.

pub use crate::schedule::library::*;
pub use crate::schedule::named::{TimmDecayFn, TimmStableFn, WsdShape};
pub use crate::schedule::warmup::{WarmupClock, WarmupShape};
pub use crate::schedule::ScheduleConfig;
use serde::{Deserialize, Serialize};

mod optimizers;
mod options;
mod run;
mod validate;

pub use optimizers::OptimizerKind;
pub(crate) use options::writing_toml;
pub use options::{
    HyperparamOverrides, Hyperparams, OptionName, OptionType, OptionValue, OptionValueKind,
};
pub use run::{Run, Stepping};
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
    /// `run = per_step(...)` / `run = per_epoch(...)`: when the schedule steps and how long the
    /// run is; `None` when the file does not say (the schedule then steps per epoch, and
    /// the run's length is unknown). See [`Config::stepping`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// `average = ...`: the running average of the parameters the [`Trainer`](crate::Trainer)
    /// keeps. Left out of the serialized form when `None`, so a file without one keeps its
    /// JSON, TOML and fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<AverageConfig>,
}

/// `average = swa(...)` or `average = ema(...)`: `torch.optim.swa_utils.AveragedModel`, updated
/// after every optimizer step of epoch `start` on (the first update copies the parameters).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum AverageConfig {
    /// `AveragedModel(model)`: the equal average of every update.
    Swa { start: u64 },
    /// `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`: an exponential
    /// moving average, `avg = lerp(avg, param, 1 - decay)`.
    Ema { decay: f64, start: u64 },
}

impl AverageConfig {
    /// The first epoch whose optimizer steps are averaged.
    pub fn start(&self) -> u64 {
        match self {
            AverageConfig::Swa { start } | AverageConfig::Ema { start, .. } => *start,
        }
    }

    /// The name in the language (`swa`, `ema`).
    pub fn name(&self) -> &'static str {
        match self {
            AverageConfig::Swa { .. } => "swa",
            AverageConfig::Ema { .. } => "ema",
        }
    }
}

/// A [`Config`] as deserialized, before the checker's rules.
#[derive(Deserialize)]
struct UncheckedConfig {
    optimizer: OptimizerKind,
    defaults: Hyperparams,
    groups: Vec<GroupConfig>,
    schedule: Option<ScheduleConfig>,
    #[serde(default)]
    run: Option<Run>,
    #[serde(default)]
    average: Option<AverageConfig>,
}

impl TryFrom<UncheckedConfig> for Config {
    type Error = String;

    fn try_from(u: UncheckedConfig) -> Result<Config, String> {
        crate::export::checked(Config {
            optimizer: u.optimizer,
            defaults: u.defaults,
            groups: u.groups,
            schedule: u.schedule,
            run: u.run,
            average: u.average,
        })
    }
}

impl Config {
    /// When the schedule steps: as `run = ...` declares, else once per epoch.
    pub fn stepping(&self) -> Stepping {
        self.run.map_or(Stepping::PerEpoch, |r| r.stepping)
    }

    /// The declared run's length in schedule steps (epochs when stepped per epoch, optimizer
    /// steps when stepped per step), where the file gives it.
    pub fn run_length(&self) -> Option<u64> {
        self.run.and_then(|r| r.length())
    }

    /// Fills in what a schedule takes from the optimizer where the file leaves it out
    /// (`warmup_polynomial`'s `lr_init`, transformers' `optimizer.defaults["lr"]`).
    pub(crate) fn resolve_from_optimizer(&mut self) {
        let lr = self.defaults.lr;
        let groups = self.groups.iter_mut().filter_map(|g| g.schedule.as_mut());
        for s in self.schedule.iter_mut().chain(groups) {
            s.resolve_lr_init(lr);
        }
    }

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
    /// timm's `lr_scale` (layer-wise lr decay): every lr the schedule writes for this group is
    /// multiplied by it, as timm's schedulers write `value * group["lr_scale"]`: the schedule
    /// runs on the unscaled lr (its `initial_lr` is `options.lr`), and [`Schedule::lrs`] gives
    /// the product. 1 (no scaling) when the file does not set it; never negative or infinite.
    ///
    /// [`Schedule::lrs`]: crate::schedule::Schedule::lrs
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub lr_scale: f64,
    /// Glob patterns a parameter must NOT match to join this group (`exclude = ["*.bias"]`):
    /// one that matches `params` and an `exclude` pattern goes on to the next groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// The numbers of dimensions a parameter must have to join this group (`where = ndim >= 2`);
    /// one outside the range goes on to the next groups. Needs the parameters' shapes.
    #[serde(default, skip_serializing_if = "NdimRange::is_any")]
    pub ndim: NdimRange,
}

impl GroupConfig {
    /// A group of the parameters `params` matches, with `options`, no schedule of its own, no
    /// `lr_scale`, `exclude` or `where`: what a group is before the file says more.
    pub fn new(name: impl Into<String>, params: Vec<String>, options: Hyperparams) -> Self {
        GroupConfig {
            name: name.into(),
            params,
            options,
            schedule: None,
            lr_scale: 1.0,
            exclude: Vec::new(),
            ndim: NdimRange::default(),
        }
    }

    /// The group of a file that declares none: `default`, every parameter (`*`).
    pub fn catch_all(options: Hyperparams) -> Self {
        GroupConfig::new("default", vec!["*".into()], options)
    }

    /// Whether the group selects beyond its `params` globs (`exclude`, `where`).
    pub fn filters(&self) -> bool {
        !self.exclude.is_empty() || !self.ndim.is_any()
    }

    /// Whether a parameter its `params` match also passes its `exclude` and `where`.
    pub fn admits(&self, name: &str, shape: &[usize]) -> bool {
        self.ndim.contains(shape.len())
            && !self
                .exclude
                .iter()
                .any(|p| crate::optim::glob_match(p, name))
    }
}

/// `min <= ndim <= max` (`max: None`: no upper bound), what a group's `where = ndim ...` keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NdimRange {
    #[serde(default)]
    pub min: usize,
    #[serde(default)]
    pub max: Option<usize>,
}

impl NdimRange {
    /// Every number of dimensions (no `where`).
    pub fn is_any(&self) -> bool {
        *self == NdimRange::default()
    }

    pub fn contains(&self, ndim: usize) -> bool {
        ndim >= self.min && self.max.is_none_or(|m| ndim <= m)
    }

    /// The condition as written in a `.optim` file (`ndim >= 2`, `ndim == 1`, ...).
    pub fn to_source(&self) -> String {
        match (self.min, self.max) {
            (min, Some(max)) if min == max => format!("ndim == {min}"),
            (0, Some(max)) => format!("ndim <= {max}"),
            (min, None) => format!("ndim >= {min}"),
            (min, Some(max)) => format!("ndim >= {min} and ndim <= {max}"),
        }
    }
}

fn one() -> f64 {
    1.0
}

// (serde's `skip_serializing_if` passes a reference.)
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_one(v: &f64) -> bool {
    *v == 1.0
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

/// Declares the enums of bare words a schedule holds (`mode = triangular2`): their serde form
/// (snake case) and their [`Word`](crate::schedule::Word) impl, which the schedule table reads.
macro_rules! words {
    ($($(#[$doc:meta])* $name:ident { $($variant:ident = $word:literal,)* })*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $word)] $variant,)*
        }

        impl crate::schedule::Word for $name {
            const NAMES: &'static [&'static str] = &[$($word),*];
            const ALL: &'static [Self] = &[$($name::$variant),*];
            fn index(self) -> usize {
                self as usize
            }
        }
    )*};
}
pub(crate) use words;

words! {
    /// `CyclicLR`'s `mode`.
    CyclicMode {
        Triangular = "triangular",
        Triangular2 = "triangular2",
        ExpRange = "exp_range",
    }
    /// `CyclicLR`'s `scale_mode`.
    ScaleMode {
        Cycle = "cycle",
        Iterations = "iterations",
    }
    /// `OneCycleLR`'s `anneal_strategy`.
    AnnealStrategy {
        Cos = "cos",
        Linear = "linear",
    }
    /// `ReduceLROnPlateau`'s `mode`.
    PlateauMode {
        Min = "min",
        Max = "max",
    }
    /// `ReduceLROnPlateau`'s `threshold_mode`.
    ThresholdMode {
        Rel = "rel",
        Abs = "abs",
    }
}

impl ScheduleConfig {
    /// The schedules this one is made of: the children of `chain` and `sequence`, `warmup`'s
    /// `then`; none for the others.
    pub fn children(&self) -> &[ScheduleConfig] {
        match self {
            ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } => {
                children
            }
            ScheduleConfig::Warmup { then, .. } => std::slice::from_ref(&**then),
            _ => &[],
        }
    }

    /// Fills in transformers' `lr_init` (the optimizer's lr) wherever a `warmup_polynomial`
    /// leaves it out.
    pub(crate) fn resolve_lr_init(&mut self, optimizer_lr: f64) {
        match self {
            ScheduleConfig::WarmupPolynomial { lr_init, .. } => {
                lr_init.get_or_insert(optimizer_lr);
            }
            ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } => {
                for c in children {
                    c.resolve_lr_init(optimizer_lr);
                }
            }
            ScheduleConfig::Warmup { then, .. } => then.resolve_lr_init(optimizer_lr),
            _ => {}
        }
    }

    /// Whether this schedule (or any child) needs a metric each epoch.
    pub fn needs_metric(&self) -> bool {
        match self {
            ScheduleConfig::Plateau { .. } => true,
            s => s.children().iter().any(ScheduleConfig::needs_metric),
        }
    }

    /// Whether this schedule (or any child) sets momentum / `betas[0]`: `cyclic` and
    /// `one_cycle` with `cycle_momentum`, and `warmup` with `start_momentum`.
    pub fn cycles_momentum(&self) -> bool {
        match self {
            ScheduleConfig::Cyclic { cycle_momentum, .. }
            | ScheduleConfig::OneCycle { cycle_momentum, .. } => *cycle_momentum,
            ScheduleConfig::Warmup {
                start_momentum: Some(_),
                ..
            } => true,
            s => s.children().iter().any(ScheduleConfig::cycles_momentum),
        }
    }

    /// How many parts of this schedule set momentum: `(warmups with start_momentum, all of
    /// them)` (the other setters are `cyclic` and `one_cycle` with `cycle_momentum`). A warmup
    /// of the momentum must be the only setter.
    pub(crate) fn momentum_setters(&self) -> (usize, usize) {
        let own = match self {
            ScheduleConfig::Warmup {
                start_momentum: Some(_),
                ..
            } => (1, 1),
            ScheduleConfig::Cyclic {
                cycle_momentum: true,
                ..
            }
            | ScheduleConfig::OneCycle {
                cycle_momentum: true,
                ..
            } => (0, 1),
            _ => (0, 0),
        };
        self.children().iter().fold(own, |(w, n), c| {
            let (cw, cn) = c.momentum_setters();
            (w + cw, n + cn)
        })
    }
}

//! Learning-rate schedules: PyTorch's `torch.optim.lr_scheduler`, step by step.
//!
//! A [`Schedule`] is built from a checked [`Config`] and drives the learning rate (and, for
//! `cyclic`, `one_cycle` and a `warmup` with `start_momentum`, the momentum or `betas[0]`) of
//! every parameter group, reproducing
//! PyTorch's schedulers bit for bit: each scheduler is ported in its step-by-step ("chainable")
//! form, reading and writing the groups' shared `lr` as PyTorch's `param_groups` are shared
//! between the children of `chain` (`ChainedScheduler`) and `sequence` (`SequentialLR`).
//!
//! # The loop
//!
//! Every tool runs the same loop (see the language reference, "Time"): for epoch `e`, read the
//! lr in force with [`Schedule::lrs`] (and [`Schedule::momentum`]), step the optimizer, then
//! step the schedule with [`Schedule::step`], or [`Schedule::step_with`] passing the epoch's
//! metric when [`Schedule::needs_metric`].
//!
//! ```
//! use optimc::config::{Config, GroupConfig, Hyperparams, OptimizerKind, ScheduleConfig};
//! use optimc::schedule::Schedule;
//!
//! let options = Hyperparams { lr: 0.1, ..Hyperparams::defaults(OptimizerKind::Sgd) };
//! let config = Config {
//!     optimizer: OptimizerKind::Sgd,
//!     defaults: options,
//!     groups: vec![GroupConfig::catch_all(options)],
//!     schedule: Some(ScheduleConfig::Step { step_size: 2, gamma: 0.5 }),
//!     run: None,
//!     average: None,
//! };
//! let mut schedule = Schedule::new(&config);
//! let mut trace = Vec::new();
//! for _epoch in 0..5 {
//!     trace.push(schedule.lrs()[0]); // set the optimizer's lr from this, then optimizer.step()
//!     schedule.step()?; // an error for a `plateau`, which needs `step_with(metric)`
//! }
//! assert_eq!(trace, [0.1, 0.1, 0.05, 0.05, 0.025]);
//! # Ok::<(), optimc::Error>(())
//! ```
//!
//! # Groups and schedule instances
//!
//! Groups without a schedule of their own share one instance of the file's schedule (PyTorch's
//! scheduler over those `param_groups`); a group with its own schedule gets its own instance
//! over that group alone. Per-group lists (`min_lr = [...]`, `max_lr = [...]`, ...) are indexed
//! by the global group index. A group with no schedule at all keeps its lr.
//!
//! # Beyond PyTorch
//!
//! * `plateau` may appear inside `chain` and `sequence`; [`Schedule::step_with`] hands the metric
//!   to every plateau that steps. A plateau stepped without a metric ([`Schedule::step_counting_plateaus`], or the
//!   initial step a `sequence` gives its first child) counts the epoch and changes nothing else.
//! * When a `plateau`, `chain` or `sequence` child of a `sequence` takes over at its milestone
//!   (PyTorch raises there), the groups' lrs return to `initial_lr` and the child restarts as if
//!   freshly constructed: leaves redo their initial step, plateaus forget their best value.
//! * `one_cycle` stepped past `total_steps` (PyTorch raises) leaves lr and momentum unchanged.
//!
//! [`Config`]: crate::config::Config

mod absolute;
mod groups;
mod kind;
mod leaf;
pub mod named;
mod node;
mod plateau;
mod state;
pub mod warmup;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod tests;

pub(crate) use kind::library;
pub(crate) use kind::start_of;
pub(crate) use kind::Arguments;
pub use kind::{
    AsParam, KindInfo, Param, ParamDefault, ParamType, ParamValue, Range, ScheduleConfig,
    ScheduleKind, Word, KINDS,
};
pub use state::{ScheduleState, StateMismatch};

use crate::config::Config;
use groups::ParamGroups;
use node::Node;

/// The learning-rate schedules of every parameter group of one optimizer.
///
/// Built with [`Schedule::new`] (which performs the initial step each PyTorch constructor
/// performs), stepped once per epoch with [`Schedule::step`] or [`Schedule::step_with`]. Stepping
/// and reading allocate nothing. See the [module documentation](self) for the loop.
#[derive(Clone, Debug)]
pub struct Schedule {
    groups: ParamGroups,
    instances: Vec<Instance>,
    epoch: u64,
    /// Per group: whether its schedule sets momentum (or `betas[0]`).
    cycled: Vec<bool>,
    needs_metric: bool,
    /// Per group: its `lr_scale`; empty when every group's is 1 (nothing to multiply).
    scale: Vec<f64>,
    /// Per group: `groups.lr[g] * scale[g]`, what [`Schedule::lrs`] gives when `scale` is not
    /// empty (the schedules themselves read and write the unscaled `groups.lr`).
    scaled: Vec<f64>,
    /// Per group: its name, for the error of an index out of range.
    names: Vec<String>,
}

/// One PyTorch scheduler object over some of the groups.
#[derive(Clone, Debug)]
struct Instance {
    /// Global indices of the groups this instance drives, in order.
    groups: Vec<usize>,
    root: Node,
}

/// The error of [`Schedule::step`] on a schedule with a `plateau`, out of line: building it
/// allocates, and the step's fast path should stay a flag test.
#[cold]
#[inline(never)]
fn metric_needed() -> crate::Error {
    crate::error::ErrorKind::MetricNeeded.into()
}

/// The lrs `cfg` gives groups holding `lrs` right after it is built (the initial step every
/// PyTorch constructor takes): what a `warmup(clock = after)` rises to, which the PyTorch export
/// compares with the groups' own lrs.
pub(crate) fn first_lrs(cfg: &ScheduleConfig, lrs: &[f64]) -> Vec<f64> {
    let groups: Vec<usize> = (0..lrs.len()).collect();
    // (No lr depends on the momenta; `cyclic`/`one_cycle` only overwrite them.)
    let mut pg = ParamGroups::new(lrs.to_vec(), vec![0.0; lrs.len()]);
    Node::construct(cfg, &groups, &mut pg);
    pg.lr
}

impl Schedule {
    /// Builds the schedules of every group from a checked config, exactly as PyTorch's
    /// constructors do (including the initial step each constructor performs).
    ///
    /// The initial lr of group `i` is `config.groups[i].options.lr`; its initial momentum is
    /// `options.betas.0` if the optimizer has betas, else `options.momentum`. `cyclic` and
    /// `one_cycle` overwrite both when constructed, as in PyTorch.
    pub fn new(config: &Config) -> Schedule {
        let lrs = config.groups.iter().map(|g| g.options.lr).collect();
        let momenta = config
            .groups
            .iter()
            .map(|g| {
                if config.optimizer.has_betas() {
                    g.options.betas.0
                } else {
                    g.options.momentum
                }
            })
            .collect();
        let mut pg = ParamGroups::new(lrs, momenta);
        let mut instances = Vec::new();
        if let Some(file_schedule) = &config.schedule {
            let groups: Vec<usize> = (0..config.groups.len())
                .filter(|&i| config.groups[i].schedule.is_none())
                .collect();
            if !groups.is_empty() {
                let root = Node::construct(file_schedule, &groups, &mut pg);
                instances.push(Instance { groups, root });
            }
        }
        for (i, g) in config.groups.iter().enumerate() {
            if let Some(own) = &g.schedule {
                let groups = vec![i];
                let root = Node::construct(own, &groups, &mut pg);
                instances.push(Instance { groups, root });
            }
        }
        let n = config.groups.len();
        let scale: Vec<f64> = if config.groups.iter().all(|g| g.lr_scale == 1.0) {
            Vec::new()
        } else {
            config.groups.iter().map(|g| g.lr_scale).collect()
        };
        let mut schedule = Schedule {
            scaled: vec![0.0; scale.len()],
            scale,
            groups: pg,
            instances,
            epoch: 0,
            cycled: (0..n)
                .map(|i| config.schedule_of(i).is_some_and(|s| s.cycles_momentum()))
                .collect(),
            needs_metric: (0..n).any(|i| config.schedule_of(i).is_some_and(|s| s.needs_metric())),
            names: config.groups.iter().map(|g| g.name.clone()).collect(),
        };
        schedule.rescale();
        schedule
    }

    /// Recomputes the scaled lrs after the schedules wrote theirs: timm's `value *
    /// group["lr_scale"]`, one multiplication of the lr the schedule computed.
    fn rescale(&mut self) {
        for ((out, lr), scale) in self.scaled.iter_mut().zip(&self.groups.lr).zip(&self.scale) {
            *out = lr * scale;
        }
    }

    /// The current lr of every group, in group order: what the optimizer uses this epoch (and
    /// what `optimc trace` prints for it). A group with an `lr_scale` gets the schedule's lr
    /// times its scale.
    pub fn lrs(&self) -> &[f64] {
        if self.scale.is_empty() {
            &self.groups.lr
        } else {
            &self.scaled
        }
    }

    /// The current momentum (or `betas[0]`, for optimizers with betas) of group `group`, where
    /// its schedule sets it (`cyclic` or `one_cycle` with `cycle_momentum`, or `warmup` with
    /// `start_momentum`, anywhere in the tree); `None` where the optimizer's own value applies,
    /// or `group` is out of range.
    pub fn momentum(&self, group: usize) -> Option<f64> {
        match self.cycled.get(group) {
            Some(true) => Some(self.groups.momentum[group]),
            _ => None,
        }
    }

    /// Whether any group's schedule sets momentum (or `betas[0]`): cycles it, or warms it up.
    pub fn cycles_momentum(&self) -> bool {
        self.cycled.iter().any(|&c| c)
    }

    /// Whether any group's schedule contains a `plateau`, which needs a metric every epoch
    /// ([`Schedule::step_with`]).
    pub fn needs_metric(&self) -> bool {
        self.needs_metric
    }

    /// One `scheduler.step()` of every schedule instance: at the end of an epoch, or after
    /// every optimizer step for a file that declares `run = per_step(...)`
    /// ([`Config::stepping`](crate::Config::stepping)).
    ///
    /// # Errors
    /// [`ErrorKind::MetricNeeded`](crate::error::ErrorKind::MetricNeeded), and no step, if the
    /// schedule has a `plateau` ([`Schedule::needs_metric`]): PyTorch's
    /// `ReduceLROnPlateau.step()` raises without its metric, and stepping on would leave the lr
    /// frozen. Step it with [`Schedule::step_with`] and the metric instead.
    #[inline]
    pub fn step(&mut self) -> Result<(), crate::Error> {
        if self.needs_metric {
            return Err(metric_needed());
        }
        self.step_counting_plateaus();
        Ok(())
    }

    /// One step without a metric, even on a schedule with a `plateau`: each `plateau` counts
    /// the step and leaves its lr, best value and counters alone; the rest of the tree steps
    /// normally. For tools that run a schedule without metrics on purpose (a trace of the
    /// schedule's other parts); a training loop wants [`Schedule::step_with`].
    #[inline]
    pub fn step_counting_plateaus(&mut self) {
        // One instance (the common case): no loop over instances; for one scheduler of the
        // kinds whose step is a multiplication (`step`, `exponential`, ...) a few instructions
        // without a call. Scaled groups take the general path, which rescales after stepping.
        if let ([Instance { groups, root }], true) =
            (&mut self.instances[..], self.scale.is_empty())
        {
            // (In this order, the calls below are tail calls, and the multiplications need no
            // stack frame.)
            self.epoch += 1;
            return match root {
                Node::Leaf(leaf) => leaf.step(groups, &mut self.groups),
                composite => composite.step_composite(None, groups, &mut self.groups),
            };
        }
        self.step_inner(None);
    }

    /// `scheduler.step(metric)`: one step, handing `metric` to every `plateau` that steps
    /// (anywhere in a `chain` or `sequence`). Schedules without a plateau ignore it, so this
    /// is the same as [`Schedule::step`] for them.
    pub fn step_with(&mut self, metric: f64) {
        self.step_inner(Some(metric));
    }

    #[inline(never)]
    fn step_inner(&mut self, metric: Option<f64>) {
        self.epoch += 1;
        for inst in &mut self.instances {
            inst.root.step(metric, &inst.groups, &mut self.groups);
        }
        self.rescale();
    }

    /// Sets group `group`'s current lr, as PyTorch's `param_groups[group]["lr"] = lr` between
    /// steps: the chainable schedules continue from it; those computing the lr from the
    /// initial one (`lambda`, ...) overwrite it at their next step. For a group with an
    /// `lr_scale`, `lr` is the schedule's (unscaled) lr: [`lrs`](Self::lrs) gives `lr *
    /// lr_scale`.
    ///
    /// # Errors
    /// [`ErrorKind::NoGroup`](crate::error::ErrorKind::NoGroup) if there is no group `group`;
    /// nothing changes then.
    pub fn set_lr(&mut self, group: usize, lr: f64) -> Result<(), crate::Error> {
        crate::Error::check_group(group, &self.names)?;
        self.groups.lr[group] = lr;
        self.rescale();
        Ok(())
    }

    /// How many steps have been taken since construction (the current epoch's index).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A snapshot of all mutable state, for checkpoints. See [`ScheduleState`].
    pub fn state(&self) -> ScheduleState {
        let roots: Vec<(&[usize], &Node)> = self
            .instances
            .iter()
            .map(|i| (i.groups.as_slice(), &i.root))
            .collect();
        ScheduleState::capture(self.epoch, &self.groups, &roots)
    }

    /// Puts back a snapshot taken with [`Schedule::state`] from a schedule built from the same
    /// configuration. A snapshot of a differently shaped schedule is refused with
    /// [`StateMismatch`], and `self` is then left unchanged.
    pub fn restore(&mut self, state: &ScheduleState) -> Result<(), StateMismatch> {
        let mut groups = self.groups.clone();
        let mut roots: Vec<Node> = self.instances.iter().map(|i| i.root.clone()).collect();
        let mut refs: Vec<(&[usize], &mut Node)> = self
            .instances
            .iter()
            .map(|i| i.groups.as_slice())
            .zip(roots.iter_mut())
            .collect();
        state.apply(&mut groups, &mut refs)?;
        self.groups = groups;
        for (inst, root) in self.instances.iter_mut().zip(roots) {
            inst.root = root;
        }
        self.epoch = state.epoch();
        self.rescale();
        Ok(())
    }
}

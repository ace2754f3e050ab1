//! The training driver: an [`Optimizer`] and its [`Schedule`] stepped together, following the
//! loop every tool agrees on (LANGUAGE.md, "Time, and the loop every tool agrees on").
//!
//! For epoch `e = 0, 1, …`: the lr in force is read ([`Trainer::lrs`]), the optimizer steps
//! ([`Trainer::step`], once or once per batch), then the schedule steps ([`Trainer::end_epoch`],
//! or [`Trainer::end_epoch_with`] with `metrics[e]` for a `plateau`). After every schedule step
//! each group's lr, and for `cyclic` / `one_cycle` its momentum (or `betas[0]`), is written into
//! the optimizer. Nothing here allocates per step.

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::optim::{Optimizer, ParamMut, StepError};
use crate::schedule::Schedule;

/// An optimizer driven by its schedule. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Trainer {
    optimizer: Optimizer,
    schedule: Schedule,
    /// [`Config::fingerprint`] of the config.
    fingerprint: String,
    /// Registered names and sizes.
    params: Vec<(String, usize)>,
}

impl Trainer {
    /// Builds the optimizer for `params` (full name, number of values, in the order they will be
    /// passed to [`step`](Self::step)) and the schedule of `config`, then puts the schedule's
    /// initial lr (and cycled momentum) into the optimizer.
    ///
    /// # Errors
    /// [`ErrorKind::Groups`](crate::error::ErrorKind::Groups) if a parameter matches no group,
    /// or a name is registered twice.
    pub fn new(config: &Config, params: &[(&str, usize)]) -> Result<Trainer, Error> {
        Trainer::build(config, Optimizer::new(config, params)?)
    }

    /// As [`new`](Self::new), with each parameter's shape (`[out, in]`, `[n]`, ...; values are
    /// passed flat, row-major) instead of its length: see [`Optimizer::with_shapes`].
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_shapes(config: &Config, params: &[(&str, &[usize])]) -> Result<Trainer, Error> {
        Trainer::build(config, Optimizer::with_shapes(config, params)?)
    }

    fn build(config: &Config, optimizer: Optimizer) -> Result<Trainer, Error> {
        let params = optimizer
            .param_names()
            .enumerate()
            .map(|(i, n)| (n.to_string(), optimizer.param_len(i)))
            .collect();
        let schedule = Schedule::new(config);
        let mut trainer = Trainer {
            optimizer,
            schedule,
            fingerprint: config.fingerprint(),
            params,
        };
        trainer.sync();
        Ok(trainer)
    }

    /// Writes the schedule's lrs and cycled momenta into the optimizer's groups.
    fn sync(&mut self) {
        for g in 0..self.optimizer.num_groups() {
            self.optimizer.set_lr(g, self.schedule.lrs()[g]);
            if let Some(m) = self.schedule.momentum(g) {
                self.optimizer.set_momentum(g, m);
            }
        }
    }

    /// One optimizer step with the current epoch's lrs (call it once per batch). Every
    /// parameter carries its registered name ([`ParamMut::named`], in registration order, see
    /// [`params`](Self::params)): two parameters of the same size passed in the wrong order are
    /// refused, not stepped with each other's hyperparameters and state. The check compares
    /// names and allocates nothing.
    ///
    /// # Errors
    /// [`ErrorKind::Step`](crate::error::ErrorKind::Step) if `params` do not fit the registered
    /// ones (count, names, lengths) or one has no name; nothing is changed then.
    pub fn step(&mut self, params: &mut [ParamMut<'_>]) -> Result<(), Error> {
        for (position, (p, (name, _))) in params.iter().zip(&self.params).enumerate() {
            if p.name.is_none() {
                return Err(StepError::Unnamed {
                    position,
                    expected: name.clone(),
                }
                .into());
            }
        }
        Ok(self.optimizer.step(params)?)
    }

    /// [`step`](Self::step) for callers that build `params` from the registered list itself
    /// (the candle and burn layers), so names need no check.
    #[cfg(any(feature = "candle", feature = "burn"))]
    pub(crate) fn step_registered(&mut self, params: &mut [ParamMut<'_>]) -> Result<(), Error> {
        Ok(self.optimizer.step(params)?)
    }

    /// Ends the epoch: one schedule step (`scheduler.step()`), then the new lrs (and cycled
    /// momenta) go into the optimizer.
    ///
    /// # Errors
    /// [`ErrorKind::MetricNeeded`](crate::error::ErrorKind::MetricNeeded) if the schedule has a
    /// `plateau` ([`Schedule::needs_metric`]), alone or inside a `chain` or `sequence`: it needs
    /// [`end_epoch_with`](Self::end_epoch_with) and the epoch's metric. Nothing steps then.
    pub fn end_epoch(&mut self) -> Result<(), Error> {
        if self.schedule.needs_metric() {
            return Err(ErrorKind::MetricNeeded.into());
        }
        self.schedule.step();
        self.sync();
        Ok(())
    }

    /// Ends the epoch with the metric a `plateau` watches (`scheduler.step(metric)`); a schedule
    /// without a plateau ignores it.
    pub fn end_epoch_with(&mut self, metric: f64) {
        self.schedule.step_with(metric);
        self.sync();
    }

    /// The lr in force of every group, in group order.
    pub fn lrs(&self) -> &[f64] {
        self.schedule.lrs()
    }

    /// Group `group`'s momentum (or `betas[0]`) where its schedule cycles it, else `None`.
    pub fn momentum(&self, group: usize) -> Option<f64> {
        self.schedule.momentum(group)
    }

    /// How many epochs have ended.
    pub fn epoch(&self) -> u64 {
        self.schedule.epoch()
    }

    /// The optimizer (hyperparameters, state snapshots).
    pub fn optimizer(&self) -> &Optimizer {
        &self.optimizer
    }

    /// The optimizer, to change a group's hyperparameters between steps (PyTorch's
    /// `optimizer.param_groups[i][key] = value`, through
    /// [`Optimizer::hyperparams_mut`]). The lr (and a cycled momentum) set here lasts until
    /// the next [`end_epoch`](Self::end_epoch), which writes the schedule's; to change the lr the
    /// schedule continues from, use [`set_lr`](Self::set_lr).
    pub fn optimizer_mut(&mut self) -> &mut Optimizer {
        &mut self.optimizer
    }

    /// Sets group `group`'s lr, as PyTorch's `optimizer.param_groups[group]["lr"] = lr` does
    /// between steps: the optimizer uses it from the next step, and the schedule continues
    /// from it as PyTorch's does (`step`, `exponential`, `cosine`, `plateau` and the other
    /// chainable schedules scale the lr in force; `lambda` and the others that compute the lr
    /// from the initial one overwrite it at the next [`end_epoch`](Self::end_epoch)). For a
    /// group with an `lr_scale`, `lr` is the schedule's lr: the optimizer uses `lr * lr_scale`.
    ///
    /// # Panics
    /// If `group` is out of range (see [`Optimizer::num_groups`]).
    pub fn set_lr(&mut self, group: usize, lr: f64) {
        self.schedule.set_lr(group, lr);
        self.optimizer.set_lr(group, self.schedule.lrs()[group]);
    }

    /// Steps large parameters on `threads` threads (see [`Optimizer::set_threads`]); the
    /// results are bit-identical to the single-threaded default.
    pub fn set_threads(&mut self, threads: usize) {
        self.optimizer.set_threads(threads);
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The fingerprint of the configuration (see [`Config::fingerprint`]).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The registered parameters (name, number of values), in registration order.
    pub fn params(&self) -> &[(String, usize)] {
        &self.params
    }

    /// Swaps in a restored optimizer and schedule (keeping the thread count).
    pub(crate) fn replace(&mut self, optimizer: Optimizer, schedule: Schedule) {
        let threads = self.optimizer.threads();
        self.optimizer = optimizer;
        self.optimizer.set_threads(threads);
        self.schedule = schedule;
    }
}

//! The training driver: an [`Optimizer`] and its [`Schedule`] stepped together, following the
//! loop every tool agrees on (LANGUAGE.md, "Time, and the loop every tool agrees on").
//!
//! For epoch `e = 0, 1, …`: the lr in force is read ([`Trainer::lrs`]), the optimizer steps
//! ([`Trainer::step`], once per batch, each followed by [`Trainer::end_batch`]), then the epoch
//! ends ([`Trainer::end_epoch`], or [`Trainer::end_epoch_with`] with `metrics[e]` for a
//! `plateau`). The schedule steps at whichever of the two the file declares
//! ([`Trainer::stepping`]): after every batch for `run = per_step(...)` (as `OneCycleLR`,
//! transformers' and timm's per-update schedules expect), else once per epoch. So the loop is
//! the same for both, and a per-step schedule is never stepped by a call named `end_epoch`.
//! [`Trainer::step_schedule`] steps it now, whatever the file declares, for loops of their own.
//! After every schedule step each group's lr, and for `cyclic` / `one_cycle` (and a `warmup`
//! with `start_momentum`) its momentum (or `betas[0]`), is written into the optimizer. With an `average = ...` statement, every optimizer
//! step of epoch `start` on also updates the averaged copy of the parameters
//! ([`Trainer::averaged`]). Nothing here allocates per step.
//!
//! ```
//! use optimc::{optim::ParamMut, Config, Stepping, Trainer};
//!
//! let config = Config::from_source("a.optim", "
//!     optimizer = sgd(lr = 0.1)
//!     schedule = step(step_size = 1, gamma = 0.5)
//!     run = per_step(epochs = 2, steps_per_epoch = 2)
//! ")?;
//! let mut trainer = Trainer::new(&config, &[("w", 1)])?;
//! assert_eq!(trainer.stepping(), Stepping::PerStep);
//! let mut w = [1.0f32];
//! let mut lrs = Vec::new();
//! for _epoch in 0..2 {
//!     for _batch in 0..2 {
//!         lrs.push(trainer.lrs()[0]);
//!         trainer.step(&mut [ParamMut::named("w", &mut w, &[1.0])])?;
//!         trainer.end_batch()?; // per step: the schedule steps here
//!     }
//!     trainer.end_epoch()?; // per step: nothing more to step
//! }
//! assert_eq!(lrs, [0.1, 0.05, 0.025, 0.0125]); // once per batch, not per epoch
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::average::Averager;
use crate::config::{Config, Stepping};
use crate::error::{Error, ErrorKind};
use crate::optim::{Optimizer, ParamMut, StepError};
use crate::schedule::Schedule;

/// An optimizer driven by its schedule. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Trainer {
    optimizer: Optimizer,
    schedule: Schedule,
    /// The configuration the trainer was built from (a state file records it, so that a
    /// changed one can be described: [`Checkpoint::diff`](crate::checkpoint::Checkpoint::diff)).
    config: Config,
    /// [`Config::fingerprint`] of the config.
    fingerprint: String,
    /// Registered names and sizes.
    params: Vec<(String, usize)>,
    /// When the schedule steps ([`Config::stepping`]).
    stepping: Stepping,
    /// Batches ended ([`Trainer::end_batch`]) since the last [`Trainer::end_epoch`].
    batches_this_epoch: u64,
    /// The averaged copy of the parameters, with `average = ...`.
    average: Option<Averager>,
}

impl Trainer {
    /// Builds the optimizer for `params` (full name, number of values, in the order they will be
    /// passed to [`step`](Self::step)) and the schedule of `config`, then puts the schedule's
    /// initial lr (and cycled momentum) into the optimizer.
    ///
    /// # Errors
    /// [`ErrorKind::Groups`] if a parameter matches no group,
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
        let params: Vec<(String, usize)> = optimizer
            .param_names()
            .enumerate()
            .map(|(i, n)| (n.to_string(), optimizer.param_len(i)))
            .collect();
        let schedule = Schedule::new(config);
        let average = config
            .average
            .map(|a| Averager::new(a, params.iter().map(|(_, len)| *len)));
        let mut trainer = Trainer {
            optimizer,
            schedule,
            config: config.clone(),
            fingerprint: config.fingerprint(),
            params,
            stepping: config.stepping(),
            batches_this_epoch: 0,
            average,
        };
        trainer.sync();
        Ok(trainer)
    }

    /// Writes the schedule's lrs and cycled momenta into the optimizer's groups.
    pub(crate) fn sync(&mut self) {
        for g in 0..self.optimizer.num_groups() {
            self.optimizer.put_lr(g, self.schedule.lrs()[g]);
            if let Some(m) = self.schedule.momentum(g) {
                self.optimizer.put_momentum(g, m);
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
    /// [`ErrorKind::Step`] if `params` do not fit the registered
    /// ones (count, names, lengths) or one has no name; nothing is changed then.
    ///
    /// With `average = ...`, from epoch `start` on the step also updates the averaged copy
    /// ([`averaged`](Self::averaged)), as `update_parameters(model)` after `optimizer.step()`.
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
        self.optimizer.step(params)?;
        self.update_average(params);
        Ok(())
    }

    /// `averaged_model.update_parameters(model)` after an optimizer step, where the file
    /// declares an average and the epoch has reached its `start`.
    fn update_average(&mut self, params: &[ParamMut<'_>]) {
        let epoch = self.schedule.epoch();
        if let Some(a) = &mut self.average {
            if a.averages(epoch) {
                a.update(params.iter().map(|p| &*p.data));
            }
        }
    }

    /// The averaged copy of parameter `name` (`average = ...`): `None` without an average,
    /// for a name that is not registered, or before the first update (epoch `start`).
    pub fn averaged(&self, name: &str) -> Option<&[f32]> {
        let i = self.params.iter().position(|(n, _)| n == name)?;
        self.average.as_ref()?.values(i)
    }

    /// Whether the configuration declares an average (`average = ...`).
    pub fn has_average(&self) -> bool {
        self.average.is_some()
    }

    /// How many updates the average holds (`AveragedModel.n_averaged`); 0 without one.
    pub fn n_averaged(&self) -> u64 {
        self.average.as_ref().map_or(0, Averager::n_averaged)
    }

    /// The average (`average = ...`), for saving and restoring it.
    pub(crate) fn average(&self) -> Option<&Averager> {
        self.average.as_ref()
    }

    /// Swaps in a restored average.
    pub(crate) fn set_average(&mut self, average: Option<Averager>) {
        self.average = average;
    }

    /// [`step`](Self::step) for callers that build `params` from the registered list itself
    /// (the candle and burn layers), so names need no check.
    #[cfg(any(feature = "candle", feature = "burn"))]
    pub(crate) fn step_registered(&mut self, params: &mut [ParamMut<'_>]) -> Result<(), Error> {
        self.optimizer.step(params)?;
        self.update_average(params);
        Ok(())
    }

    /// Whether the next [`step`](Self::step) updates the average, which then reads every
    /// parameter's values, those without a gradient included.
    #[cfg(any(feature = "candle", feature = "burn"))]
    pub(crate) fn averaging_due(&self) -> bool {
        self.average
            .as_ref()
            .is_some_and(|a| a.averages(self.schedule.epoch()))
    }

    /// When the schedule steps: [`Stepping::PerStep`] where the file declares
    /// `run = per_step(...)` (at [`end_batch`](Self::end_batch)), else [`Stepping::PerEpoch`]
    /// (at [`end_epoch`](Self::end_epoch)).
    pub fn stepping(&self) -> Stepping {
        self.stepping
    }

    /// One schedule step now (`scheduler.step()`), whatever the file declares, then the new
    /// lrs (and cycled momenta) go into the optimizer. [`end_batch`](Self::end_batch) and
    /// [`end_epoch`](Self::end_epoch) call it where the file's stepping says.
    ///
    /// # Errors
    /// [`ErrorKind::MetricNeeded`] if the schedule has a
    /// `plateau` ([`Schedule::needs_metric`]), alone or inside a `chain` or `sequence`: it needs
    /// [`step_schedule_with`](Self::step_schedule_with) and the metric. Nothing steps then.
    pub fn step_schedule(&mut self) -> Result<(), Error> {
        self.schedule.step()?;
        self.sync();
        Ok(())
    }

    /// One schedule step now with the metric a `plateau` watches (`scheduler.step(metric)`);
    /// a schedule without a plateau ignores it.
    pub fn step_schedule_with(&mut self, metric: f64) {
        self.schedule.step_with(metric);
        self.sync();
    }

    /// Ends a batch: call it after every [`step`](Self::step). Where the file steps its
    /// schedule per step (`run = per_step(...)`), this is the schedule step; per epoch, it only
    /// counts the batch.
    ///
    /// # Errors
    /// As [`step_schedule`](Self::step_schedule), when it steps: a per-step `plateau` needs
    /// [`end_batch_with`](Self::end_batch_with).
    pub fn end_batch(&mut self) -> Result<(), Error> {
        self.batches_this_epoch += 1;
        match self.stepping {
            Stepping::PerStep => self.step_schedule(),
            Stepping::PerEpoch => Ok(()),
        }
    }

    /// [`end_batch`](Self::end_batch) with the metric a per-step `plateau` watches; a file
    /// stepped per epoch ignores it here (give the epoch's metric to
    /// [`end_epoch_with`](Self::end_epoch_with)).
    pub fn end_batch_with(&mut self, metric: f64) {
        self.batches_this_epoch += 1;
        if self.stepping == Stepping::PerStep {
            self.step_schedule_with(metric);
        }
    }

    /// Ends the epoch. Stepped per epoch (the default), this is the schedule step
    /// (`scheduler.step()`), and the new lrs (and cycled momenta) go into the optimizer.
    /// Stepped per step (`run = per_step(...)`), the batches stepped the schedule and this
    /// steps nothing.
    ///
    /// # Errors
    /// Per epoch, as [`step_schedule`](Self::step_schedule): a `plateau` needs
    /// [`end_epoch_with`](Self::end_epoch_with) and the epoch's metric. Per step,
    /// [`ErrorKind::BatchesNotEnded`] if no
    /// [`end_batch`](Self::end_batch) came since the last epoch ended: the schedule has not
    /// stepped at all this epoch, which is what a loop written for per-epoch stepping does.
    pub fn end_epoch(&mut self) -> Result<(), Error> {
        let batches = std::mem::take(&mut self.batches_this_epoch);
        match self.stepping {
            Stepping::PerEpoch => self.step_schedule(),
            Stepping::PerStep if batches == 0 => Err(ErrorKind::BatchesNotEnded.into()),
            Stepping::PerStep => Ok(()),
        }
    }

    /// Ends the epoch with the metric a `plateau` watches (`scheduler.step(metric)`); a schedule
    /// without a plateau ignores it. Stepped per step, this steps nothing (the batches did,
    /// with [`end_batch_with`](Self::end_batch_with)).
    pub fn end_epoch_with(&mut self, metric: f64) {
        self.batches_this_epoch = 0;
        if self.stepping == Stepping::PerEpoch {
            self.step_schedule_with(metric);
        }
    }

    /// The lr in force of every group, in group order.
    pub fn lrs(&self) -> &[f64] {
        self.schedule.lrs()
    }

    /// Group `group`'s momentum (or `betas[0]`) where its schedule cycles it, else `None`.
    pub fn momentum(&self, group: usize) -> Option<f64> {
        self.schedule.momentum(group)
    }

    /// How many schedule steps have been taken: epochs ended, or with `run = per_step(...)`
    /// batches ended ([`Schedule::epoch`]).
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
    /// ```
    /// use optimc::{error::ErrorKind, Config, Trainer};
    ///
    /// let config = Config::from_source("two.optim", r#"
    ///     optimizer = sgd(lr = 0.1)
    ///     group weights { params = "*.weight" }
    ///     group biases  { params = "*.bias" }
    /// "#)?;
    /// let mut trainer = Trainer::new(&config, &[("fc.weight", 4), ("fc.bias", 2)])?;
    /// trainer.set_lr(1, 0.02)?;
    /// assert_eq!(trainer.lrs(), &[0.1, 0.02]);
    /// let err = trainer.set_lr(2, 0.5).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::NoGroup { group: 2, .. }));
    /// assert_eq!(err.to_string(), "there is no group 2: the configuration has 2 groups: 0 `weights`, 1 `biases`");
    /// # Ok::<(), optimc::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::NoGroup`](crate::error::ErrorKind::NoGroup) if there is no group `group`
    /// (see [`Optimizer::num_groups`]); nothing changes then.
    pub fn set_lr(&mut self, group: usize, lr: f64) -> Result<(), Error> {
        self.schedule.set_lr(group, lr)?;
        self.optimizer.put_lr(group, self.schedule.lrs()[group]);
        Ok(())
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

    /// The configuration the trainer was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The fingerprint of the configuration (see [`Config::fingerprint`]).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The registered parameters (name, number of values), in registration order.
    pub fn params(&self) -> &[(String, usize)] {
        &self.params
    }

    /// Swaps in a restored schedule (the optimizer's lrs are the caller's to write: see
    /// [`sync`](Self::sync)).
    pub(crate) fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
    }
}

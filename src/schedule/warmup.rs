//! `warmup(steps, then, ...)`: a warmup prefixed to any schedule.
//!
//! Over its first `steps` steps the lr of every group goes from where the warmup starts to
//! where `then` is, along `shape`; after that `then` alone sets it. Where the warmup starts:
//! `start_factor` × `then`'s first lr (0 by default: a warmup from exactly 0, as transformers'
//! `get_*_schedule_with_warmup`), or the absolute `start_lr` (per group, as YOLO's bias group
//! warms down from `warmup_bias_lr`).
//!
//! When `then` runs is the `clock`:
//!
//! - `after` (the default): `then` starts when the warmup ends; its step 0 is the warmup's step
//!   `steps`, and the ramp ends at `then`'s first lr. This is PyTorch's
//!   `SequentialLR([warmup, then], milestones=[steps])` and every transformers/timm warmup.
//! - `overlap`: `then` runs beneath the warmup from step 0, on the same clock; the ramp ends
//!   at the lr `then` has at step `steps`, so nothing jumps there. This is detectron2's
//!   `WarmupParamScheduler` (fvcore's `"fixed"` interval scaling): `multistep` milestones and
//!   the `cosine` length count from the start of training, as detectron2's `STEPS` and
//!   `MAX_ITER` do.
//! - `follow`: `then` runs beneath the warmup from step 0, and at every step the ramp heads for
//!   `then`'s lr of that step (a moving target): YOLO's `np.interp(ni, [0, nw], [start,
//!   initial_lr * lf(epoch)])`.
//!
//! `start_momentum` warms each group's momentum (`betas[0]` for optimizers with betas) up too,
//! as YOLO's `np.interp(ni, [0, nw], [warmup_momentum, momentum])`: over the same `steps`,
//! along the same `shape`, from `start_momentum` to the momentum the group had when the warmup
//! was built (the optimizer's: the checker refuses a `then`, or a sibling in a `chain` or
//! `sequence`, that sets momentum too). At step `steps` and after it is that momentum again,
//! whatever the `clock` (YOLO stops writing it once `ni > nw`, at the value it wrote at
//! `ni == nw`: the optimizer's). Momentum does not depend on `then`, so the clock only decides
//! the lrs.
//!
//! `then_every = n` steps `then` once every `n` steps (on its own clock): a per-epoch schedule
//! under a per-step warmup, as YOLO's per-epoch `LambdaLR` under its per-batch warmup.
//!
//! The ramp at step `s < steps`, with `t = s / steps` and the ramp's end `end`:
//! `start + (end - start) * f` where `f` is `t` (`linear`), `0.5 * (1 - cos(pi * t))`
//! (`cosine`), or the ramp is `start` throughout (`constant`, as `ConstantLR` and detectron2's
//! `"constant"` warmup). From 0 this is `end * t`, transformers' `lr * (step / warmup)` to the
//! bit.

use super::groups::ParamGroups;
use super::node::Node;
use crate::config::{PerGroup, ScheduleConfig};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

crate::config::words! {
    /// The curve of a warmup (`warmup`'s `shape`).
    WarmupShape {
        Linear = "linear",
        Cosine = "cosine",
        Constant = "constant",
    }
    /// When `warmup`'s `then` runs (see `schedule/warmup.rs`).
    WarmupClock {
        After = "after",
        Overlap = "overlap",
        Follow = "follow",
    }
}

/// A `warmup` in the scheduler tree.
#[derive(Clone, Debug)]
pub(crate) struct Warmup {
    pub then: Node,
    steps: i64,
    shape: WarmupShape,
    clock: WarmupClock,
    then_every: i64,
    start_factor: f64,
    start_lr: Option<PerGroup>,
    /// With `start_momentum`: per group of the instance, where the momentum ramp starts and
    /// where it ends (the group's momentum when the warmup was built). Fixed at construction,
    /// so not part of the saved state. Empty without `start_momentum`.
    momentum_start: Vec<f64>,
    momentum_end: Vec<f64>,
    /// Steps taken since construction (or the last restart).
    pub step: i64,
    /// Where the ramp starts, per group of the instance.
    pub start: Vec<f64>,
    /// Where the ramp ends (`after`: `then`'s first lrs, `overlap`: its lrs at step `steps`).
    pub end: Vec<f64>,
    /// Under `overlap` and `follow`, during the warmup: `then`'s own lrs, which the groups hold
    /// only while `then` steps (they hold the ramp's otherwise).
    pub held: Vec<f64>,
}

impl Warmup {
    /// Builds `then` over the groups, then the warmup over it, and sets the groups' lrs to the
    /// ramp's start. `cfg` is a [`ScheduleConfig::Warmup`].
    pub fn construct(cfg: &ScheduleConfig, groups: &[usize], pg: &mut ParamGroups) -> Warmup {
        let ScheduleConfig::Warmup {
            steps,
            then,
            start_factor,
            start_lr,
            shape,
            clock,
            then_every,
            start_momentum,
        } = cfg
        else {
            unreachable!("Warmup::construct is given a warmup")
        };
        let then = Node::construct(then, groups, pg);
        let n = groups.len();
        let (momentum_start, momentum_end) = match start_momentum {
            Some(m) => (
                groups.iter().map(|&g| m.get(g)).collect(),
                groups.iter().map(|&g| pg.momentum[g]).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let mut w = Warmup {
            then,
            steps: i64::try_from(*steps).unwrap_or(i64::MAX),
            shape: *shape,
            clock: *clock,
            then_every: i64::try_from(*then_every).unwrap_or(i64::MAX).max(1),
            start_factor: *start_factor,
            start_lr: start_lr.clone(),
            momentum_start,
            momentum_end,
            step: 0,
            start: vec![0.0; n],
            end: vec![0.0; n],
            held: vec![0.0; n],
        };
        w.begin(groups, pg);
        if w.clock == WarmupClock::Overlap && w.steps > 0 {
            // The lr `then` reaches at step `steps`, found by running a copy of it ahead.
            let (mut ahead, mut ahead_pg) = (w.then.clone(), pg.clone());
            for _ in 0..w.steps / w.then_every {
                ahead.step(None, groups, &mut ahead_pg);
            }
            for (k, &g) in groups.iter().enumerate() {
                w.end[k] = ahead_pg.lr[g];
            }
        }
        w.write_ramp(groups, pg);
        w.write_momentum(groups, pg);
        w
    }

    /// Starts the warmup from `then`'s lrs as the groups hold them now (`then` just built or
    /// restarted): step 0, the ramp's start, and its end unless `overlap` (which keeps the end
    /// found at construction).
    fn begin(&mut self, groups: &[usize], pg: &ParamGroups) {
        self.step = 0;
        for (k, &g) in groups.iter().enumerate() {
            let first = pg.lr[g];
            self.held[k] = first;
            if self.clock != WarmupClock::Overlap {
                self.end[k] = first;
            }
            self.start[k] = match &self.start_lr {
                Some(lr) => lr.get(g),
                None => self.start_factor * first,
            };
        }
    }

    /// How far along the ramp the current step is (before `steps`): 0 at its start, towards 1.
    fn fraction(&self) -> f64 {
        let t = self.step as f64 / self.steps as f64;
        match self.shape {
            WarmupShape::Linear => t,
            WarmupShape::Cosine => 0.5 * (1.0 - (PI * t).cos()),
            WarmupShape::Constant => 0.0,
        }
    }

    /// Sets the groups' momenta, with `start_momentum`: the ramp's before `steps`, the end at
    /// `steps` (and nothing after: no one else sets them, so they stay there).
    fn write_momentum(&self, groups: &[usize], pg: &mut ParamGroups) {
        if self.momentum_start.is_empty() || self.step > self.steps {
            return;
        }
        if self.step == self.steps {
            for (k, &g) in groups.iter().enumerate() {
                pg.momentum[g] = self.momentum_end[k];
            }
            return;
        }
        let f = self.fraction();
        for (k, &g) in groups.iter().enumerate() {
            let (start, end) = (self.momentum_start[k], self.momentum_end[k]);
            pg.momentum[g] = start + (end - start) * f;
        }
    }

    /// Puts the groups' momenta back where the warmup found them, with `start_momentum`: a
    /// `sequence` building it as a later child, which must not warm momentum up before its
    /// milestone (it restarts it then).
    pub fn undo_momentum(&self, groups: &[usize], pg: &mut ParamGroups) {
        for (k, &g) in groups.iter().enumerate().take(self.momentum_end.len()) {
            pg.momentum[g] = self.momentum_end[k];
        }
    }

    /// Sets the groups' lrs to the ramp at the current step (before `steps`).
    fn write_ramp(&self, groups: &[usize], pg: &mut ParamGroups) {
        if self.step >= self.steps {
            return;
        }
        let f = self.fraction();
        let ends = match self.clock {
            WarmupClock::Follow => &self.held,
            WarmupClock::After | WarmupClock::Overlap => &self.end,
        };
        for (k, &g) in groups.iter().enumerate() {
            let start = self.start[k];
            pg.lr[g] = start + (ends[k] - start) * f;
        }
    }

    /// One step.
    pub fn step(&mut self, metric: Option<f64>, groups: &[usize], pg: &mut ParamGroups) {
        self.step += 1;
        let s = self.step;
        self.write_momentum(groups, pg);
        match self.clock {
            WarmupClock::After => {
                if s < self.steps {
                    self.write_ramp(groups, pg);
                } else if s == self.steps {
                    // `then` takes over where it was built: its first lrs.
                    for (k, &g) in groups.iter().enumerate() {
                        pg.lr[g] = self.end[k];
                    }
                } else if (s - self.steps) % self.then_every == 0 {
                    self.then.step(metric, groups, pg);
                }
            }
            WarmupClock::Overlap | WarmupClock::Follow => {
                if s > self.steps {
                    if s % self.then_every == 0 {
                        self.then.step(metric, groups, pg);
                    }
                    return;
                }
                // `then` steps on its own lrs, then the ramp (if still warming up) replaces
                // them in the groups.
                for (k, &g) in groups.iter().enumerate() {
                    pg.lr[g] = self.held[k];
                }
                if s % self.then_every == 0 {
                    self.then.step(metric, groups, pg);
                }
                for (k, &g) in groups.iter().enumerate() {
                    self.held[k] = pg.lr[g];
                }
                self.write_ramp(groups, pg);
            }
        }
    }

    /// Starts over, as freshly built, from the groups' current lrs (a `sequence` taking over
    /// with a warmup, or starting with one).
    pub fn restart(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        self.then.restart(groups, pg);
        self.begin(groups, pg);
        self.write_ramp(groups, pg);
        self.write_momentum(groups, pg);
    }
}

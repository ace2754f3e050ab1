//! Ports of PyTorch's `LRScheduler` subclasses (everything but `ReduceLROnPlateau`,
//! `ChainedScheduler` and `SequentialLR`), in their step-by-step ("chainable") form.
//!
//! The arithmetic follows `torch/optim/lr_scheduler.py` expression by expression, in the same
//! evaluation order, so that results agree to the last bit: Python `int / int` is a correctly
//! rounded division, which `f64` division of the (exact) converted integers reproduces; Python
//! `float ** int` is C `pow` on two doubles, which is [`f64::powf`]; Python `%` and `//` on ints
//! floor, which is [`i64::rem_euclid`] and [`i64::div_euclid`] for a positive divisor.

use super::groups::ParamGroups;
use super::kind::{named_kinds, ScheduleKind};
use super::named::NamedRule;
use crate::config::{AnnealStrategy, CyclicMode, PerGroup, ScaleMode, ScheduleConfig};
use crate::expr::Lambda;
use std::f64::consts::PI;

/// One `LRScheduler` subclass instance over the groups of its schedule instance.
#[derive(Clone, Debug)]
pub(crate) struct Leaf {
    pub kind: LeafKind,
    /// Which of the table's kinds this is (its names and properties).
    schedule: ScheduleKind,
    /// `self.last_epoch`.
    pub last_epoch: i64,
    /// `self._step_count`.
    pub step_count: u64,
    /// `self._is_initial` (true only inside `_initial_step`; not part of the saved state).
    is_initial: bool,
    /// `self.base_lrs`, one per group of the instance (local index).
    pub base_lrs: Vec<f64>,
}

/// The scheduler-specific constants (and, for `CosineAnnealingWarmRestarts`, state).
#[derive(Clone, Debug)]
pub(crate) enum LeafKind {
    Lambda {
        f: Lambda,
    },
    Multiplicative {
        f: Lambda,
    },
    /// `absolute`: every group's lr is `f(epoch)`.
    Absolute {
        f: Lambda,
    },
    Step {
        step_size: i64,
        gamma: f64,
        /// `last_epoch % step_size`.
        rem: Remainder,
    },
    MultiStep {
        /// `sorted(self.milestones.elements())`: the closed form bisects it, and the chainable
        /// form reads `Counter(milestones)[e]` as the length of the run of `e`s in it.
        sorted: Vec<i64>,
        gamma: f64,
        cursor: MilestoneCursor,
    },
    Exponential {
        gamma: f64,
    },
    Constant {
        factor: f64,
        total_iters: i64,
    },
    Linear {
        start_factor: f64,
        end_factor: f64,
        total_iters: i64,
    },
    Polynomial {
        total_iters: i64,
        power: f64,
        /// `(epoch, 1 - epoch / total_iters)` as the last step computed it: the next step
        /// divides by the same value for the previous epoch. A pure function of the epoch, so
        /// never stale (not part of the saved state).
        prev_rest: (i64, f64),
    },
    Cosine {
        t_max: i64,
        eta_min: f64,
        /// `(epoch, cos(pi * epoch / t_max))` as the last step computed it: the next step's
        /// recursive formula needs the same value for the previous epoch. A pure function of
        /// the epoch, so never stale (not part of the saved state).
        prev_cos: (i64, f64),
        /// `(last_epoch - 1 - T_max) % (2 * T_max)`.
        rem: Remainder,
    },
    CosineRestarts {
        t_0: i64,
        t_mult: i64,
        eta_min: f64,
        t_i: i64,
        t_cur: i64,
    },
    Cyclic(Box<Cyclic>),
    OneCycle(Box<OneCycle>),
    /// A named schedule of today's libraries: a `LambdaLR` of a built-in factor, or a rule
    /// that sets the lr itself from each group's initial lr.
    Named(Box<NamedRule>),
    /// `SWALR`: counts its own steps (`_step_count`), reads `group["swa_lr"]`.
    Swa {
        anneal_epochs: i64,
        anneal: AnnealStrategy,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Cyclic {
    max_lrs: Vec<f64>,
    total_size: f64,
    step_ratio: f64,
    scale: CyclicScale,
    scale_mode: ScaleMode,
    cycle_momentum: bool,
    base_momentums: Vec<f64>,
    max_momentums: Vec<f64>,
}

#[derive(Clone, Debug)]
enum CyclicScale {
    Triangular,
    Triangular2,
    ExpRange(f64),
    Custom(Lambda),
}

impl CyclicScale {
    fn eval(&self, x: f64) -> f64 {
        match self {
            CyclicScale::Triangular => 1.0,
            CyclicScale::Triangular2 => 1.0 / 2.0f64.powf(x - 1.0),
            CyclicScale::ExpRange(gamma) => gamma.powf(x),
            CyclicScale::Custom(f) => f.eval(x),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct OneCycle {
    total_steps: i64,
    phases: Vec<Phase>,
    anneal: AnnealStrategy,
    cycle_momentum: bool,
}

/// One `_SchedulePhase`: which group keys it anneals between, and where it ends.
#[derive(Clone, Copy, Debug)]
struct Phase {
    end_step: f64,
    start_lr: LrKey,
    end_lr: LrKey,
    start_momentum: MomentumKey,
    end_momentum: MomentumKey,
}

#[derive(Clone, Copy, Debug)]
enum LrKey {
    Initial,
    Max,
    Min,
}

#[derive(Clone, Copy, Debug)]
enum MomentumKey {
    Max,
    Base,
}

impl LrKey {
    fn read(self, pg: &ParamGroups, g: usize) -> f64 {
        match self {
            LrKey::Initial => pg.initial_lr_or_lr(g),
            LrKey::Max => pg.max_lr[g],
            LrKey::Min => pg.min_lr[g],
        }
    }
}

impl MomentumKey {
    fn read(self, pg: &ParamGroups, g: usize) -> f64 {
        match self {
            MomentumKey::Max => pg.max_momentum[g],
            MomentumKey::Base => pg.base_momentum[g],
        }
    }
}

/// `OneCycleLR`'s annealing function at one `pct`, for every group: for `cos`, the cosine is
/// computed once per step, not once per group and key.
#[derive(Clone, Copy)]
enum Anneal {
    /// `math.cos(math.pi * pct) + 1`.
    Cos {
        cos_out: f64,
    },
    Linear {
        pct: f64,
    },
}

impl Anneal {
    fn new(strategy: AnnealStrategy, pct: f64) -> Anneal {
        match strategy {
            AnnealStrategy::Cos => Anneal::Cos {
                cos_out: (PI * pct).cos() + 1.0,
            },
            AnnealStrategy::Linear => Anneal::Linear { pct },
        }
    }

    /// `_annealing_cos(start, end, pct)` or `_annealing_linear(start, end, pct)`.
    fn between(self, start: f64, end: f64) -> f64 {
        match self {
            Anneal::Cos { cos_out } => end + (start - end) / 2.0 * cos_out,
            Anneal::Linear { pct } => (end - start) * pct + start,
        }
    }
}

/// `lr *= factor` for every group: the chainable formulas that multiply by a per-epoch factor.
#[inline]
fn scale(groups: &[usize], pg: &mut ParamGroups, factor: f64) {
    if groups.len() == pg.lr.len() {
        // An instance's groups are distinct and in order, so these are all of them, 0..n.
        for lr in &mut pg.lr {
            *lr *= factor;
        }
    } else {
        for &g in groups {
            pg.lr[g] *= factor;
        }
    }
}

/// Python's `a % m` for an `a` that grows by one per step: one addition when `a` follows the
/// value it was last asked about, a division otherwise (the first step, after a restore or a
/// `sequence` take-over). A pure function of `(a, m)`, so it is never stale and not part of
/// the saved state. `m` must be the same at every call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Remainder {
    /// The last `a` asked about, and `a % m`; `None` before the first call.
    last: Option<(i64, i64)>,
}

impl Remainder {
    pub const NEW: Remainder = Remainder { last: None };

    /// When `a` follows the last value asked about and `a % m` is not 0, records it and
    /// returns true; otherwise changes nothing and returns false (ask [`Remainder::of`]).
    #[inline(always)]
    fn advance_to_nonzero(&mut self, a: i64, m: i64) -> bool {
        match self.last {
            Some((prev, r)) if prev.checked_add(1) == Some(a) && r + 1 < m => {
                self.last = Some((a, r + 1));
                true
            }
            _ => false,
        }
    }

    /// `a % m` (`None` where Python raises, `m == 0`).
    #[inline]
    fn of(&mut self, a: i64, m: i64) -> Option<i64> {
        if self.advance_to_nonzero(a, m) {
            return self.last.map(|(_, r)| r);
        }
        let rem = match self.last {
            // The step after the last value before a multiple of `m` (`0 <= r < m`).
            Some((prev, _)) if m > 0 && prev.checked_add(1) == Some(a) => 0,
            Some((prev, r)) if prev == a => r,
            _ => py_mod(a, m)?,
        };
        self.last = Some((a, rem));
        Some(rem)
    }
}

/// `Counter(milestones)[e]` over sorted milestones, for an `e` that grows by one per step: a
/// cursor at the first milestone not below the last `e` asked about moves forward, so a step
/// costs a comparison or two; any other `e` (after a restore, a `sequence` take-over) searches.
/// A pure function of `e`, never stale, not part of the saved state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MilestoneCursor {
    /// The last `e` asked about, and `sorted.partition_point(|&m| m < e)`.
    last: Option<(i64, usize)>,
}

impl MilestoneCursor {
    pub const NEW: MilestoneCursor = MilestoneCursor { last: None };

    /// When `e` follows the last epoch asked about and no milestone is `e`, records it and
    /// returns true (the count is 0); otherwise changes nothing and returns false.
    #[inline(always)]
    fn advance_past(&mut self, sorted: &[i64], e: i64) -> bool {
        match self.last {
            Some((prev, i))
                if prev.checked_add(1) == Some(e) && sorted.get(i).is_none_or(|&m| m > e) =>
            {
                self.last = Some((e, i));
                true
            }
            _ => false,
        }
    }

    /// How many of `sorted` equal `e`.
    #[inline]
    fn count(&mut self, sorted: &[i64], e: i64) -> usize {
        if self.advance_past(sorted, e) {
            return 0;
        }
        self.count_slowly(sorted, e)
    }

    #[cold]
    fn count_slowly(&mut self, sorted: &[i64], e: i64) -> usize {
        let start = match self.last {
            Some((prev, i)) if prev == e || prev.checked_add(1) == Some(e) => {
                // Milestones equal to `prev` are below `e = prev + 1`; skip them.
                i + sorted[i..].iter().take_while(|&&m| m < e).count()
            }
            _ => sorted.partition_point(|&m| m < e),
        };
        self.last = Some((e, start));
        match sorted.get(start) {
            Some(&m) if m == e => bisect_right(&sorted[start..], e),
            _ => 0,
        }
    }
}

/// `max(0, min(1, t))` (never NaN here: `t` is a ratio of whole numbers).
fn clamp_unit(t: f64) -> f64 {
    let t = if t < 1.0 { t } else { 1.0 };
    if t > 0.0 {
        t
    } else {
        0.0
    }
}

/// `SWALR.anneal_func(t)`: `t` (linear) or `(1 - math.cos(math.pi * t)) / 2` (cos).
fn swa_anneal(strategy: AnnealStrategy, t: f64) -> f64 {
    match strategy {
        AnnealStrategy::Linear => t,
        AnnealStrategy::Cos => (1.0 - (PI * t).cos()) / 2.0,
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Python's `bisect.bisect_right`, literally (it assumes a sorted list; so does this).
pub(crate) fn bisect_right(a: &[i64], x: i64) -> usize {
    let (mut lo, mut hi) = (0usize, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if x < a[mid] {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Python `a % b` for ints; `None` where Python raises `ZeroDivisionError` (the checker rejects
/// such arguments; returning `None` keeps the runtime panic-free regardless).
fn py_mod(a: i64, b: i64) -> Option<i64> {
    let r = a.checked_rem_euclid(b)?;
    Some(if b < 0 && r != 0 { r + b } else { r })
}

/// Python `a // b` for ints (see [`py_mod`]).
fn py_floordiv(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div_euclid(b)?;
    // div_euclid leaves a non-negative remainder; Python's remainder has the sign of `b`.
    Some(if b < 0 && a.rem_euclid(b) != 0 {
        q - 1
    } else {
        q
    })
}

impl Leaf {
    /// Runs the scheduler's constructor over `groups` (global indices): its own set-up, then
    /// `LRScheduler.__init__` with `last_epoch = -1`, which performs the initial step.
    /// Returns `None` for the variants that are not leaves (`plateau`, `chain`, `sequence`).
    pub fn construct(cfg: &ScheduleConfig, groups: &[usize], pg: &mut ParamGroups) -> Option<Leaf> {
        let per_group = |p: &PerGroup| groups.iter().map(|&g| p.get(g)).collect::<Vec<f64>>();
        let mut after_init_base_lrs = None;
        let kind = match cfg {
            ScheduleConfig::Lambda { lr_lambda } => LeafKind::Lambda {
                f: lr_lambda.clone(),
            },
            ScheduleConfig::Multiplicative { lr_lambda } => LeafKind::Multiplicative {
                f: lr_lambda.clone(),
            },
            ScheduleConfig::Absolute { lr_lambda } => LeafKind::Absolute {
                f: lr_lambda.clone(),
            },
            ScheduleConfig::Step { step_size, gamma } => LeafKind::Step {
                step_size: to_i64(*step_size),
                gamma: *gamma,
                rem: Remainder::NEW,
            },
            ScheduleConfig::Multistep { milestones, gamma } => {
                let mut sorted: Vec<i64> = milestones.iter().map(|&m| to_i64(m)).collect();
                sorted.sort_unstable();
                LeafKind::MultiStep {
                    sorted,
                    gamma: *gamma,
                    cursor: MilestoneCursor::NEW,
                }
            }
            ScheduleConfig::Exponential { gamma } => LeafKind::Exponential { gamma: *gamma },
            ScheduleConfig::Constant {
                factor,
                total_iters,
            } => LeafKind::Constant {
                factor: *factor,
                total_iters: to_i64(*total_iters),
            },
            ScheduleConfig::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => LeafKind::Linear {
                start_factor: *start_factor,
                end_factor: *end_factor,
                total_iters: to_i64(*total_iters),
            },
            ScheduleConfig::Polynomial { total_iters, power } => LeafKind::Polynomial {
                total_iters: to_i64(*total_iters),
                power: *power,
                prev_rest: (i64::MIN, 0.0),
            },
            ScheduleConfig::Cosine { t_max, eta_min } => LeafKind::Cosine {
                t_max: to_i64(*t_max),
                eta_min: *eta_min,
                prev_cos: (i64::MIN, 0.0),
                rem: Remainder::NEW,
            },
            ScheduleConfig::CosineRestarts {
                t_0,
                t_mult,
                eta_min,
            } => LeafKind::CosineRestarts {
                t_0: to_i64(*t_0),
                t_mult: to_i64(*t_mult),
                eta_min: *eta_min,
                t_i: to_i64(*t_0),
                t_cur: -1,
            },
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
                let base_lrs = per_group(base_lr);
                for (&g, &lr) in groups.iter().zip(&base_lrs) {
                    pg.lr[g] = lr;
                }
                let step_size_up = *step_size_up;
                let step_size_down = step_size_down.unwrap_or(step_size_up);
                let total_size = step_size_up + step_size_down;
                let (scale, scale_mode) = match (scale_fn, mode) {
                    (Some(f), _) => (CyclicScale::Custom(f.clone()), *scale_mode),
                    (None, CyclicMode::Triangular) => (CyclicScale::Triangular, ScaleMode::Cycle),
                    (None, CyclicMode::Triangular2) => (CyclicScale::Triangular2, ScaleMode::Cycle),
                    (None, CyclicMode::ExpRange) => {
                        (CyclicScale::ExpRange(*gamma), ScaleMode::Iterations)
                    }
                };
                let (base_momentums, max_momentums) = if *cycle_momentum {
                    let (b, m) = (per_group(base_momentum), per_group(max_momentum));
                    for (k, &g) in groups.iter().enumerate() {
                        pg.momentum[g] = m[k];
                        pg.max_momentum[g] = m[k];
                        pg.base_momentum[g] = b[k];
                    }
                    (b, m)
                } else {
                    (Vec::new(), Vec::new())
                };
                after_init_base_lrs = Some(base_lrs);
                LeafKind::Cyclic(Box::new(Cyclic {
                    max_lrs: per_group(max_lr),
                    total_size,
                    step_ratio: step_size_up / total_size,
                    scale,
                    scale_mode,
                    cycle_momentum: *cycle_momentum,
                    base_momentums,
                    max_momentums,
                }))
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
            } => {
                let total = to_i64(*total_steps);
                let first_end = pct_start * total as f64 - 1.0;
                let phases = if *three_phase {
                    vec![
                        Phase {
                            end_step: first_end,
                            start_lr: LrKey::Initial,
                            end_lr: LrKey::Max,
                            start_momentum: MomentumKey::Max,
                            end_momentum: MomentumKey::Base,
                        },
                        Phase {
                            end_step: 2.0 * pct_start * total as f64 - 2.0,
                            start_lr: LrKey::Max,
                            end_lr: LrKey::Initial,
                            start_momentum: MomentumKey::Base,
                            end_momentum: MomentumKey::Max,
                        },
                        Phase {
                            end_step: (total - 1) as f64,
                            start_lr: LrKey::Initial,
                            end_lr: LrKey::Min,
                            start_momentum: MomentumKey::Max,
                            end_momentum: MomentumKey::Max,
                        },
                    ]
                } else {
                    vec![
                        Phase {
                            end_step: first_end,
                            start_lr: LrKey::Initial,
                            end_lr: LrKey::Max,
                            start_momentum: MomentumKey::Max,
                            end_momentum: MomentumKey::Base,
                        },
                        Phase {
                            end_step: (total - 1) as f64,
                            start_lr: LrKey::Max,
                            end_lr: LrKey::Min,
                            start_momentum: MomentumKey::Base,
                            end_momentum: MomentumKey::Max,
                        },
                    ]
                };
                for &g in groups {
                    let max = max_lr.get(g);
                    let initial = max / div_factor;
                    pg.initial_lr[g] = Some(initial);
                    pg.max_lr[g] = max;
                    pg.min_lr[g] = initial / final_div_factor;
                }
                if *cycle_momentum {
                    for &g in groups {
                        let m = max_momentum.get(g);
                        pg.momentum[g] = m;
                        pg.max_momentum[g] = m;
                        pg.base_momentum[g] = base_momentum.get(g);
                    }
                }
                LeafKind::OneCycle(Box::new(OneCycle {
                    total_steps: total,
                    phases,
                    anneal: *anneal_strategy,
                    cycle_momentum: *cycle_momentum,
                }))
            }
            ScheduleConfig::Swa {
                swa_lr,
                anneal_epochs,
                anneal_strategy,
            } => {
                // `_format_param` then `group["swa_lr"] = swa_lr`, before `super().__init__`.
                for &g in groups {
                    pg.swa_lr[g] = swa_lr.get(g);
                }
                LeafKind::Swa {
                    anneal_epochs: to_i64(*anneal_epochs),
                    anneal: *anneal_strategy,
                }
            }
            // Every `named` kind of the table: a `LambdaLR` of its factor.
            named_kinds!() => LeafKind::Named(Box::new(cfg.named_rule()?)),
            ScheduleConfig::Plateau { .. }
            | ScheduleConfig::Chain { .. }
            | ScheduleConfig::Sequence { .. }
            | ScheduleConfig::Warmup { .. } => return None,
        };
        // LRScheduler.__init__(optimizer, last_epoch=-1)
        let base_lrs = groups
            .iter()
            .map(|&g| pg.setdefault_initial_lr(g))
            .collect();
        let mut leaf = Leaf {
            kind,
            schedule: cfg.kind(),
            last_epoch: -1,
            step_count: 0,
            is_initial: false,
            base_lrs,
        };
        leaf.initial_step(groups, pg);
        // CyclicLR sets `self.base_lrs` only after `super().__init__` (so its initial step used
        // the groups' `initial_lr`).
        if let Some(b) = after_init_base_lrs {
            leaf.base_lrs = b;
        }
        Some(leaf)
    }

    /// The scheduler's name in `torch.optim.lr_scheduler`.
    pub fn torch_name(&self) -> &'static str {
        self.schedule.torch_name()
    }

    /// `_initial_step()`: `_step_count = 0`, then `step()` with `_is_initial` set.
    pub fn initial_step(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        self.step_count = 0;
        self.is_initial = true;
        self.step(groups, pg);
        self.is_initial = false;
    }

    /// `step()` without an epoch argument.
    ///
    /// The hot path of [`Schedule::step`](super::Schedule::step): small enough to inline, with
    /// the schedulers whose step is a multiplication or nothing handled here and the others
    /// (a lambda, a cosine, a power) out of line.
    #[inline(always)]
    pub fn step(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        if self.step_simple(groups, pg) {
            return;
        }
        self.step_other(groups, pg)
    }

    /// [`Leaf::step`] of the schedulers [`Leaf::step_simple`] leaves.
    #[inline(never)]
    fn step_other(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        if matches!(self.kind, LeafKind::CosineRestarts { .. }) {
            return self.step_restarts(groups, pg);
        }
        self.step_count += 1;
        self.last_epoch += 1;
        self.get_lrs(groups, pg);
    }

    /// [`Leaf::step`] for the schedulers [`Leaf::simple_lrs`] handles; for the others, returns
    /// false having done nothing. The fastest path of [`Schedule::step`](super::Schedule::step):
    /// in the common step (no decay this epoch, or `exponential`'s multiplication) it makes no
    /// call and needs no stack frame.
    #[inline(always)]
    pub fn step_simple(&mut self, groups: &[usize], pg: &mut ParamGroups) -> bool {
        let e = self.last_epoch + 1;
        let is_initial = self.is_initial;
        let done = match &mut self.kind {
            LeafKind::Exponential { gamma } => {
                if !is_initial {
                    scale(groups, pg, *gamma);
                }
                true
            }
            // No decay: `e % step_size` is not 0.
            LeafKind::Step { step_size, rem, .. } => rem.advance_to_nonzero(e, *step_size),
            LeafKind::Constant { total_iters, .. } => e != 0 && e != *total_iters,
            LeafKind::MultiStep { sorted, cursor, .. } => cursor.advance_past(sorted, e),
            _ => return false,
        };
        self.step_count += 1;
        self.last_epoch = e;
        if !done {
            self.simple_lrs_at_a_change(groups, pg);
        }
        true
    }

    /// [`Leaf::simple_lrs`] out of line, for the epochs where the lr may change.
    #[inline(never)]
    fn simple_lrs_at_a_change(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        self.simple_lrs(groups, pg);
    }

    /// `get_lr()` for the schedulers whose step multiplies every lr by one per-epoch factor
    /// (or leaves it): `step`, `exponential`, `constant`, `multistep`. Returns whether this is
    /// one of them.
    #[inline(always)]
    fn simple_lrs(&mut self, groups: &[usize], pg: &mut ParamGroups) -> bool {
        let e = self.last_epoch;
        let is_initial = self.is_initial;
        match &mut self.kind {
            LeafKind::Step {
                step_size,
                gamma,
                rem,
            } => {
                if e != 0 && rem.of(e, *step_size) == Some(0) {
                    scale(groups, pg, *gamma);
                }
            }
            LeafKind::Exponential { gamma } => {
                if !is_initial {
                    scale(groups, pg, *gamma);
                }
            }
            LeafKind::Constant {
                factor,
                total_iters,
            } => {
                if e == 0 {
                    scale(groups, pg, *factor);
                } else if e == *total_iters {
                    scale(groups, pg, 1.0 / *factor);
                }
            }
            LeafKind::MultiStep {
                sorted,
                gamma,
                cursor,
            } => {
                let count = cursor.count(sorted, e);
                if count != 0 {
                    scale(groups, pg, gamma.powf(count as f64));
                }
            }
            _ => return false,
        }
        true
    }

    /// `CosineAnnealingWarmRestarts.step()`, which overrides `step` (and never counts
    /// `_step_count`).
    #[inline(never)]
    fn step_restarts(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        if let LeafKind::CosineRestarts {
            t_0,
            t_mult,
            t_i,
            t_cur,
            ..
        } = &mut self.kind
        {
            if self.last_epoch < 0 {
                // `epoch = 0` branch: 0 < T_0 (T_0 is positive).
                *t_i = *t_0;
                *t_cur = 0;
                self.last_epoch = 0;
            } else {
                *t_cur += 1;
                if *t_cur >= *t_i {
                    *t_cur = py_mod(*t_cur, *t_i).unwrap_or(*t_cur);
                    *t_i = t_i.saturating_mul(*t_mult);
                }
                self.last_epoch += 1;
            }
        }
        self.get_lrs(groups, pg);
    }

    /// `_update_lr(epoch)`: what `SequentialLR` calls (with 0) on the child taking over at a
    /// milestone. Uses `_get_closed_form_lr` where the scheduler has one, else `get_lr`.
    pub fn update_lr_at(&mut self, epoch: i64, groups: &[usize], pg: &mut ParamGroups) {
        self.last_epoch = epoch;
        self.write_lrs(groups, pg, self.has_closed_form());
    }

    fn has_closed_form(&self) -> bool {
        self.schedule.info().closed_form
    }

    /// Computes every group's value and stores it in `group["lr"]`: `_get_closed_form_lr()`
    /// where `closed_form`, else `get_lr()`. PyTorch computes the whole list first, but each
    /// group's value depends only on that group, so writing as we go is the same.
    fn write_lrs(&mut self, groups: &[usize], pg: &mut ParamGroups, closed_form: bool) {
        if closed_form {
            for (k, &g) in groups.iter().enumerate() {
                if let Some(v) = self.closed_form_lr(k) {
                    pg.lr[g] = v;
                }
            }
        } else {
            self.get_lrs(groups, pg);
        }
    }

    /// `get_lr()` for every group, written to `group["lr"]`.
    ///
    /// The hot path of [`Schedule::step`](super::Schedule::step). The part of each formula
    /// that depends only on the epoch (a lambda's value, a cosine, a decay factor, whether this
    /// epoch decays) is computed once per step rather than once per group; each group's value is
    /// then the same expression, in the same order, as PyTorch's list comprehension evaluates,
    /// so the results are bit-identical to it. [`Leaf::step`] handles the simplest kinds
    /// itself (the same formulas) and calls this for the others.
    #[inline]
    fn get_lrs(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        if self.simple_lrs(groups, pg) {
            return;
        }
        let e = self.last_epoch;
        let ef = e as f64;
        let is_initial = self.is_initial;
        let base_lrs = &self.base_lrs;
        match &mut self.kind {
            LeafKind::Lambda { f } => {
                let factor = f.eval(ef);
                for (&g, &base_lr) in groups.iter().zip(base_lrs) {
                    pg.lr[g] = base_lr * factor;
                }
            }
            LeafKind::Multiplicative { f } => {
                if !is_initial {
                    let factor = f.eval(ef);
                    scale(groups, pg, factor);
                }
            }
            LeafKind::Absolute { f } => {
                let lr = f.eval(ef);
                for &g in groups {
                    pg.lr[g] = lr;
                }
            }
            LeafKind::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => {
                if e == 0 {
                    scale(groups, pg, *start_factor);
                } else if !is_initial && e <= *total_iters {
                    let factor = 1.0
                        + (*end_factor - *start_factor)
                            / (*total_iters as f64 * *start_factor
                                + (e - 1) as f64 * (*end_factor - *start_factor));
                    scale(groups, pg, factor);
                }
            }
            LeafKind::Polynomial {
                total_iters,
                power,
                prev_rest,
            } => {
                if !is_initial && e <= *total_iters {
                    let t = *total_iters as f64;
                    let rest = 1.0 - ef / t;
                    let before = match *prev_rest {
                        (k, r) if k == e - 1 => r,
                        _ => 1.0 - (e - 1) as f64 / t,
                    };
                    *prev_rest = (e, rest);
                    let decay_factor = (rest / before).powf(*power);
                    scale(groups, pg, decay_factor);
                }
            }
            LeafKind::Cosine {
                t_max,
                eta_min,
                prev_cos,
                rem,
            } => {
                if is_initial {
                    return;
                }
                let (t_max, eta_min) = (*t_max, *eta_min);
                let t = t_max as f64;
                if self.step_count == 1 && e > 0 {
                    let cos = (ef * PI / t).cos();
                    *prev_cos = (e, cos);
                    for (&g, &base_lr) in groups.iter().zip(base_lrs) {
                        pg.lr[g] = eta_min + (base_lr - eta_min) * (1.0 + cos) / 2.0;
                    }
                } else if rem.of(e - 1 - t_max, 2 * t_max) == Some(0) {
                    let one_minus_cos = 1.0 - (PI / t).cos();
                    for (&g, &base_lr) in groups.iter().zip(base_lrs) {
                        pg.lr[g] += (base_lr - eta_min) * one_minus_cos / 2.0;
                    }
                } else {
                    let cos = (PI * ef / t).cos();
                    let before = match *prev_cos {
                        (k, c) if k == e - 1 => c,
                        _ => (PI * (e - 1) as f64 / t).cos(),
                    };
                    *prev_cos = (e, cos);
                    let ratio = (1.0 + cos) / (1.0 + before);
                    for &g in groups {
                        pg.lr[g] = ratio * (pg.lr[g] - eta_min) + eta_min;
                    }
                }
            }
            LeafKind::CosineRestarts {
                eta_min,
                t_i,
                t_cur,
                ..
            } => {
                let eta_min = *eta_min;
                let one_plus_cos = 1.0 + (PI * *t_cur as f64 / *t_i as f64).cos();
                for (&g, &base_lr) in groups.iter().zip(base_lrs) {
                    pg.lr[g] = eta_min + (base_lr - eta_min) * one_plus_cos / 2.0;
                }
            }
            LeafKind::Cyclic(c) => {
                let cycle = (1.0 + ef / c.total_size).floor();
                let x = 1.0 + ef / c.total_size - cycle;
                let scale_factor = if x <= c.step_ratio {
                    x / c.step_ratio
                } else {
                    (x - 1.0) / (c.step_ratio - 1.0)
                };
                let scale = match c.scale_mode {
                    ScaleMode::Cycle => c.scale.eval(cycle),
                    ScaleMode::Iterations => c.scale.eval(ef),
                };
                for (k, (&g, &base_lr)) in groups.iter().zip(base_lrs).enumerate() {
                    if c.cycle_momentum {
                        let (base_m, max_m) = (c.base_momentums[k], c.max_momentums[k]);
                        let base_height = (max_m - base_m) * scale_factor;
                        pg.momentum[g] = max_m - base_height * scale;
                    }
                    let base_height = (c.max_lrs[k] - base_lr) * scale_factor;
                    pg.lr[g] = base_lr + base_height * scale;
                }
            }
            LeafKind::Step { .. }
            | LeafKind::MultiStep { .. }
            | LeafKind::Exponential { .. }
            | LeafKind::Constant { .. } => {} // done by `simple_lrs`
            LeafKind::Named(rule) => {
                let at = rule.at(e);
                for (&g, &base_lr) in groups.iter().zip(base_lrs) {
                    pg.lr[g] = at.lr(base_lr);
                }
            }
            LeafKind::Swa {
                anneal_epochs,
                anneal,
            } => {
                // `step = self._step_count - 1`: SWALR's own steps, which `_update_lr(0)` (a
                // `sequence` taking over) does not count.
                let mut step = self.step_count as i64 - 1;
                if *anneal_epochs == 0 {
                    step = step.max(1);
                }
                let span = (*anneal_epochs).max(1) as f64;
                let prev_alpha = swa_anneal(*anneal, clamp_unit((step - 1) as f64 / span));
                let alpha = swa_anneal(*anneal, clamp_unit(step as f64 / span));
                for &g in groups {
                    let swa_lr = pg.swa_lr[g];
                    // `_get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)`
                    let prev_lr = if prev_alpha == 1.0 {
                        swa_lr
                    } else {
                        (pg.lr[g] - prev_alpha * swa_lr) / (1.0 - prev_alpha)
                    };
                    pg.lr[g] = swa_lr * alpha + prev_lr * (1.0 - alpha);
                }
            }
            LeafKind::OneCycle(o) => {
                // Past `total_steps` PyTorch raises; the lrs stay as they are.
                if e > o.total_steps {
                    return;
                }
                let last = o.phases.len() - 1;
                let mut start_step = 0.0;
                let mut phase = o.phases[last];
                for (i, p) in o.phases.iter().enumerate() {
                    if ef <= p.end_step || i == last {
                        phase = *p;
                        break;
                    }
                    start_step = p.end_step;
                }
                let pct = (ef - start_step) / (phase.end_step - start_step);
                let anneal = Anneal::new(o.anneal, pct);
                for &g in groups {
                    pg.lr[g] = anneal.between(phase.start_lr.read(pg, g), phase.end_lr.read(pg, g));
                    if o.cycle_momentum {
                        pg.momentum[g] = anneal.between(
                            phase.start_momentum.read(pg, g),
                            phase.end_momentum.read(pg, g),
                        );
                    }
                }
            }
        }
    }

    /// `_get_closed_form_lr()` for local group `k`, for the schedulers that define it.
    fn closed_form_lr(&self, k: usize) -> Option<f64> {
        let base_lr = self.base_lrs[k];
        let e = self.last_epoch;
        let ef = e as f64;
        Some(match &self.kind {
            LeafKind::Step {
                step_size, gamma, ..
            } => base_lr * gamma.powf(py_floordiv(e, *step_size)? as f64),
            LeafKind::MultiStep { sorted, gamma, .. } => {
                base_lr * gamma.powf(bisect_right(sorted, e) as f64)
            }
            LeafKind::Constant {
                factor,
                total_iters,
            } => {
                let reached = if e >= *total_iters { 1.0 } else { 0.0 };
                base_lr * (factor + reached * (1.0 - factor))
            }
            LeafKind::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => {
                base_lr
                    * (start_factor
                        + (end_factor - start_factor) * (*total_iters).min(e) as f64
                            / *total_iters as f64)
            }
            LeafKind::Exponential { gamma } => base_lr * gamma.powf(ef),
            LeafKind::Polynomial {
                total_iters, power, ..
            } => base_lr * (1.0 - (*total_iters).min(e) as f64 / *total_iters as f64).powf(*power),
            LeafKind::Cosine { t_max, eta_min, .. } => {
                eta_min + (base_lr - eta_min) * (1.0 + (PI * ef / *t_max as f64).cos()) / 2.0
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_division_semantics() {
        assert_eq!(py_mod(-1 - 20, 40), Some(19));
        assert_eq!(py_mod(7, 3), Some(1));
        assert_eq!(py_mod(-7, 3), Some(2));
        assert_eq!(py_mod(7, -3), Some(-2));
        assert_eq!(py_mod(-7, -3), Some(-1));
        assert_eq!(py_mod(5, 0), None);
        assert_eq!(py_floordiv(-7, 2), Some(-4));
        assert_eq!(py_floordiv(7, 2), Some(3));
        assert_eq!(py_floordiv(7, -2), Some(-4));
        assert_eq!(py_floordiv(-7, -2), Some(3));
        assert_eq!(py_floordiv(1, 0), None);
    }

    #[test]
    fn bisect_right_matches_python() {
        assert_eq!(bisect_right(&[], 3), 0);
        assert_eq!(bisect_right(&[20], 19), 0);
        assert_eq!(bisect_right(&[20], 20), 1);
        assert_eq!(bisect_right(&[5, 5, 10], 5), 2);
        assert_eq!(bisect_right(&[5, 5, 10], 11), 3);
    }

    /// The incremental remainder agrees with `py_mod` whatever order it is asked in: one step
    /// at a time, repeated, backwards, after jumps (a restore), for negative values and
    /// divisors, and for a zero divisor.
    #[test]
    fn remainder_matches_py_mod_in_any_order() {
        let asks: Vec<i64> = (-25..60)
            .chain([
                59,
                59,
                3,
                4,
                5,
                -7,
                100,
                101,
                40,
                41,
                i64::MAX - 1,
                i64::MAX,
            ])
            .collect();
        for m in [1, 2, 3, 7, 30, -4, 0] {
            let mut rem = Remainder::NEW;
            for (i, &a) in asks.iter().enumerate() {
                // Every other value goes through the fast check first, as `step` does.
                if i % 2 == 0 && rem.advance_to_nonzero(a, m) {
                    assert!(!matches!(py_mod(a, m), Some(0) | None), "{a} % {m}");
                }
                assert_eq!(rem.of(a, m), py_mod(a, m), "{a} % {m}");
            }
        }
    }

    /// The milestone cursor counts like `Counter(milestones)[e]` stepping forward, repeating,
    /// going back and jumping, with duplicate and unreachable milestones.
    #[test]
    fn milestone_cursor_counts_like_a_counter() {
        let sorted = [-3, 0, 2, 2, 2, 5, 9, 9, 30];
        let asks: Vec<i64> = (-5..40).chain([9, 9, 2, 3, 30, 1, 2, 40, 5, 6]).collect();
        let mut cursor = MilestoneCursor::NEW;
        for (i, &e) in asks.iter().enumerate() {
            let expected = sorted.iter().filter(|&&m| m == e).count();
            if i % 3 == 0 && cursor.advance_past(&sorted, e) {
                assert_eq!(expected, 0, "epoch {e}");
            }
            assert_eq!(cursor.count(&sorted, e), expected, "epoch {e}");
        }
        let mut empty = MilestoneCursor::NEW;
        assert_eq!(empty.count(&[], 3), 0);
    }
}

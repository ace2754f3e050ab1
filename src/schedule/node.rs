//! The scheduler tree of one schedule instance: leaves, `ReduceLROnPlateau`,
//! `ChainedScheduler`, `SequentialLR` and `warmup`. Every operation dispatches here, on one enum.

use super::groups::ParamGroups;
use super::leaf::{bisect_right, Leaf};
use super::plateau::Plateau;
use super::warmup::Warmup;
use crate::config::ScheduleConfig;

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Leaf(Leaf),
    Plateau(Plateau),
    /// `ChainedScheduler`: no state of its own.
    Chain(Vec<Node>),
    /// `SequentialLR`.
    Sequence {
        children: Vec<Node>,
        milestones: Vec<i64>,
        last_epoch: i64,
    },
    /// `warmup(...)` over its `then`.
    Warmup(Box<Warmup>),
}

impl Node {
    /// Builds the scheduler as the `.optim` file (and the reference generator) does: children
    /// first, in order, each constructor acting on the shared groups; then the composite.
    pub fn construct(cfg: &ScheduleConfig, groups: &[usize], pg: &mut ParamGroups) -> Node {
        match cfg {
            ScheduleConfig::Plateau {
                mode,
                factor,
                patience,
                threshold,
                threshold_mode,
                cooldown,
                min_lr,
                eps,
            } => Node::Plateau(Plateau::new(
                *mode,
                *factor,
                *patience,
                *threshold,
                *threshold_mode,
                *cooldown,
                groups.iter().map(|&g| min_lr.get(g)).collect(),
                *eps,
            )),
            ScheduleConfig::Chain { children } => Node::Chain(
                children
                    .iter()
                    .map(|c| Node::construct(c, groups, pg))
                    .collect(),
            ),
            ScheduleConfig::Sequence {
                children,
                milestones,
            } => {
                let mut children: Vec<Node> = children
                    .iter()
                    .map(|c| Node::construct(c, groups, pg))
                    .collect();
                // SequentialLR.__init__: reset lrs to initial_lr, undo the children's
                // constructor steps, redo the first child's initial step.
                for &g in groups {
                    pg.lr[g] = pg.initial_lr_or_lr(g);
                }
                for c in &mut children {
                    c.recursive_undo();
                    c.undo_momentum(groups, pg);
                }
                if let Some(first) = children.first_mut() {
                    first.initial_step(groups, pg);
                }
                Node::Sequence {
                    children,
                    milestones: milestones
                        .iter()
                        .map(|&m| i64::try_from(m).unwrap_or(i64::MAX))
                        .collect(),
                    last_epoch: 0,
                }
            }
            ScheduleConfig::Warmup { .. } => {
                Node::Warmup(Box::new(Warmup::construct(cfg, groups, pg)))
            }
            leaf => Node::Leaf(
                Leaf::construct(leaf, groups, pg).expect("every other variant is a leaf"),
            ),
        }
    }

    /// `SequentialLR.recursive_undo`: `last_epoch -= 1` on every scheduler below that has no
    /// children of its own (composites are recursed into, their own counters untouched).
    fn recursive_undo(&mut self) {
        match self {
            Node::Leaf(l) => l.last_epoch -= 1,
            Node::Plateau(p) => p.last_epoch -= 1,
            Node::Chain(children) | Node::Sequence { children, .. } => {
                children.iter_mut().for_each(Node::recursive_undo)
            }
            // Its initial step (or take-over) restarts it whole.
            Node::Warmup(_) => {}
        }
    }

    /// Puts back the momenta every `warmup` with `start_momentum` below wrote when built (a
    /// `sequence`'s children are all built at once, but only the first may act yet: its
    /// initial step writes them again). Nothing else below sets momentum alongside such a
    /// warmup (the checker refuses it), and `cyclic` and `one_cycle` keep PyTorch's behaviour.
    fn undo_momentum(&self, groups: &[usize], pg: &mut ParamGroups) {
        match self {
            Node::Leaf(_) | Node::Plateau(_) => {}
            Node::Chain(children) | Node::Sequence { children, .. } => {
                for c in children {
                    c.undo_momentum(groups, pg);
                }
            }
            Node::Warmup(w) => {
                w.then.undo_momentum(groups, pg);
                w.undo_momentum(groups, pg);
            }
        }
    }

    /// `_initial_step()` as `SequentialLR.__init__` calls it on its first child. For a chain or
    /// sequence this is their own `step()` (children step normally, not in initial mode); for
    /// a plateau (beyond PyTorch, which would raise) it is a step without a metric.
    fn initial_step(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        match self {
            Node::Leaf(l) => l.initial_step(groups, pg),
            Node::Warmup(w) => w.restart(groups, pg),
            _ => self.step(None, groups, pg),
        }
    }

    /// One `scheduler.step()`, or `scheduler.step(metric)` for the plateaus below.
    #[inline(always)]
    pub fn step(&mut self, metric: Option<f64>, groups: &[usize], pg: &mut ParamGroups) {
        match self {
            Node::Leaf(l) => l.step(groups, pg),
            Node::Plateau(p) => p.step(metric, groups, pg),
            _ => self.step_composite(metric, groups, pg),
        }
    }

    /// [`Node::step`] of a plateau or a composite (a leaf's too, though [`Node::step`] does
    /// that inline), out of line so that a leaf's step inlines into
    /// [`Schedule::step`](super::Schedule::step) (a composite's recursion could not).
    #[inline(never)]
    pub fn step_composite(&mut self, metric: Option<f64>, groups: &[usize], pg: &mut ParamGroups) {
        match self {
            Node::Leaf(l) => l.step(groups, pg),
            Node::Plateau(p) => p.step(metric, groups, pg),
            Node::Chain(children) => {
                for c in children {
                    c.step(metric, groups, pg);
                }
            }
            Node::Warmup(w) => w.step(metric, groups, pg),
            Node::Sequence {
                children,
                milestones,
                last_epoch,
            } => {
                *last_epoch += 1;
                // The checker guarantees one more child than milestones; clamp regardless.
                let idx =
                    bisect_right(milestones, *last_epoch).min(children.len().saturating_sub(1));
                let Some(child) = children.get_mut(idx) else {
                    return;
                };
                if idx > 0 && milestones[idx - 1] == *last_epoch {
                    child.take_over(groups, pg);
                } else {
                    child.step(metric, groups, pg);
                }
            }
        }
    }

    /// What `SequentialLR` does to the child whose milestone has come: `_update_lr(0)`.
    ///
    /// For a leaf this is PyTorch's (closed form where defined, else `get_lr` at epoch 0).
    /// PyTorch has no answer for a `plateau`, `chain` or `sequence` child (it raises); here the
    /// groups' lrs go back to `initial_lr` and the child restarts as if freshly constructed
    /// (see [`Node::restart`]).
    fn take_over(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        match self {
            Node::Leaf(l) => l.update_lr_at(0, groups, pg),
            _ => {
                for &g in groups {
                    pg.lr[g] = pg.initial_lr_or_lr(g);
                }
                self.restart(groups, pg);
            }
        }
    }

    /// Starts over from the groups' current lrs, as a freshly constructed scheduler would:
    /// a leaf redoes its initial step from `last_epoch = -1` (its `base_lrs` unchanged), a
    /// plateau forgets its best value and counters, a chain restarts every child in order, and
    /// a sequence resets the lrs to `initial_lr`, its epoch to 0 and restarts its first child.
    pub(super) fn restart(&mut self, groups: &[usize], pg: &mut ParamGroups) {
        match self {
            Node::Leaf(l) => {
                l.last_epoch = -1;
                l.initial_step(groups, pg);
            }
            Node::Plateau(p) => {
                p.reset();
                p.last_epoch = 0;
            }
            Node::Chain(children) => {
                for c in children {
                    c.restart(groups, pg);
                }
            }
            Node::Sequence {
                children,
                last_epoch,
                ..
            } => {
                for &g in groups {
                    pg.lr[g] = pg.initial_lr_or_lr(g);
                }
                *last_epoch = 0;
                if let Some(first) = children.first_mut() {
                    first.restart(groups, pg);
                }
            }
            Node::Warmup(w) => w.restart(groups, pg),
        }
    }
}

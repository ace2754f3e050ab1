//! [`ScheduleState`]: a serializable snapshot of every mutable value of a [`Schedule`], and
//! its restoration.
//!
//! Floats are serialized as strings holding Rust's shortest round-trip decimal (`"0.1"`,
//! `"1e-5"`), or, when not finite, the name [`crate::number`] gives them (`"inf"`, `"-inf"`,
//! `"NaN"`, `"-NaN"`, ...), so a snapshot written with any serde format, JSON included, restores
//! bit for bit, including the infinities a fresh `plateau` uses as its best value and the NaN
//! lrs a lambda can produce.
//!
//! [`Schedule`]: super::Schedule

use super::groups::ParamGroups;
use super::leaf::{Leaf, LeafKind};
use super::node::Node;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A float that serializes exactly (see the module documentation) and compares by bits.
#[derive(Clone, Copy)]
pub(crate) struct Exact(pub f64);

impl PartialEq for Exact {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl fmt::Debug for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match crate::number::non_finite_name(self.0) {
            Some(name) => s.serialize_str(&name),
            None => s.collect_str(&format_args!("{:?}", self.0)),
        }
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if let Some(x) = crate::number::parse_non_finite(&text) {
            return Ok(Exact(x));
        }
        text.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Exact)
            .ok_or("not a finite number")
            .map_err(|e| serde::de::Error::custom(format!("bad float {text:?}: {e}")))
    }
}

fn exact(v: &[f64]) -> Vec<Exact> {
    v.iter().copied().map(Exact).collect()
}

/// A snapshot of all mutable state of a [`Schedule`](super::Schedule): the learning rate,
/// `initial_lr` and momentum of every group, the keys `one_cycle` keeps in the groups, the
/// epoch, and each scheduler's counters. Taken with [`Schedule::state`](super::Schedule::state)
/// and put back with [`Schedule::restore`](super::Schedule::restore); continuing after a
/// restore gives bit-identical learning rates to an uninterrupted run.
///
/// The snapshot holds no configuration (no `gamma`, no milestones): it must be restored into a
/// schedule built from the same configuration. A snapshot of a differently shaped schedule
/// (other group count, other scheduler kinds or nesting) is refused with [`StateMismatch`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    epoch: u64,
    groups: GroupsState,
    instances: Vec<InstanceState>,
}

/// One schedule instance: the (global) groups it drives and its scheduler tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct InstanceState {
    groups: Vec<usize>,
    scheduler: NodeState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct GroupsState {
    lr: Vec<Exact>,
    initial_lr: Vec<Option<Exact>>,
    momentum: Vec<Exact>,
    max_lr: Vec<Exact>,
    min_lr: Vec<Exact>,
    max_momentum: Vec<Exact>,
    base_momentum: Vec<Exact>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
enum NodeState {
    Leaf {
        scheduler: String,
        last_epoch: i64,
        step_count: u64,
        base_lrs: Vec<Exact>,
        /// `(T_i, T_cur)` of `CosineAnnealingWarmRestarts`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restarts: Option<(i64, i64)>,
    },
    Plateau {
        last_epoch: i64,
        best: Exact,
        num_bad_epochs: u64,
        cooldown_counter: u64,
    },
    Chain {
        children: Vec<NodeState>,
    },
    Sequence {
        last_epoch: i64,
        children: Vec<NodeState>,
    },
    Warmup {
        step: i64,
        start: Vec<Exact>,
        end: Vec<Exact>,
        held: Vec<Exact>,
        then: Box<NodeState>,
    },
}

/// A [`ScheduleState`] that does not fit the schedule it is restored into.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("schedule state does not fit this schedule: at {path}: {reason}")]
pub struct StateMismatch {
    /// Where the shapes differ, e.g. `schedule 0 > child 1`.
    pub path: String,
    /// How they differ.
    pub reason: String,
}

fn mismatch(path: &str, reason: impl Into<String>) -> StateMismatch {
    StateMismatch {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

impl ScheduleState {
    pub(crate) fn capture(epoch: u64, pg: &ParamGroups, roots: &[(&[usize], &Node)]) -> Self {
        ScheduleState {
            epoch,
            groups: GroupsState {
                lr: exact(&pg.lr),
                initial_lr: pg.initial_lr.iter().map(|v| v.map(Exact)).collect(),
                momentum: exact(&pg.momentum),
                max_lr: exact(&pg.max_lr),
                min_lr: exact(&pg.min_lr),
                max_momentum: exact(&pg.max_momentum),
                base_momentum: exact(&pg.base_momentum),
            },
            instances: roots
                .iter()
                .map(|(groups, node)| InstanceState {
                    groups: groups.to_vec(),
                    scheduler: NodeState::capture(node),
                })
                .collect(),
        }
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Writes the snapshot into `pg` and `roots`, which the caller must discard on error (they
    /// may be partly written).
    pub(crate) fn apply(
        &self,
        pg: &mut ParamGroups,
        roots: &mut [(&[usize], &mut Node)],
    ) -> Result<(), StateMismatch> {
        let g = &self.groups;
        let n = pg.len();
        let lens = [
            g.lr.len(),
            g.initial_lr.len(),
            g.momentum.len(),
            g.max_lr.len(),
            g.min_lr.len(),
            g.max_momentum.len(),
            g.base_momentum.len(),
        ];
        if lens.iter().any(|&l| l != n) {
            return Err(mismatch(
                "groups",
                format!(
                    "saved for {} parameter groups, this schedule has {n}",
                    g.lr.len()
                ),
            ));
        }
        if self.instances.len() != roots.len() {
            return Err(mismatch(
                "schedules",
                format!(
                    "saved {} schedule instances, this schedule has {}",
                    self.instances.len(),
                    roots.len()
                ),
            ));
        }
        let unwrap = |v: &[Exact]| v.iter().map(|x| x.0).collect::<Vec<f64>>();
        pg.lr = unwrap(&g.lr);
        pg.initial_lr = g.initial_lr.iter().map(|v| v.map(|x| x.0)).collect();
        pg.momentum = unwrap(&g.momentum);
        pg.max_lr = unwrap(&g.max_lr);
        pg.min_lr = unwrap(&g.min_lr);
        pg.max_momentum = unwrap(&g.max_momentum);
        pg.base_momentum = unwrap(&g.base_momentum);
        for (i, (s, (groups, node))) in self.instances.iter().zip(roots.iter_mut()).enumerate() {
            let path = format!("schedule {i}");
            if s.groups != *groups {
                return Err(mismatch(
                    &path,
                    format!(
                        "saved over groups {:?}, this schedule's instance drives groups {groups:?}",
                        s.groups
                    ),
                ));
            }
            s.scheduler.apply(node, &path)?;
        }
        Ok(())
    }
}

impl NodeState {
    fn capture(node: &Node) -> Self {
        match node {
            Node::Leaf(l) => NodeState::Leaf {
                scheduler: l.torch_name().to_owned(),
                last_epoch: l.last_epoch,
                step_count: l.step_count,
                base_lrs: exact(&l.base_lrs),
                restarts: match l.kind {
                    LeafKind::CosineRestarts { t_i, t_cur, .. } => Some((t_i, t_cur)),
                    _ => None,
                },
            },
            Node::Plateau(p) => NodeState::Plateau {
                last_epoch: p.last_epoch,
                best: Exact(p.best),
                num_bad_epochs: p.num_bad_epochs,
                cooldown_counter: p.cooldown_counter,
            },
            Node::Chain(children) => NodeState::Chain {
                children: children.iter().map(NodeState::capture).collect(),
            },
            Node::Sequence {
                children,
                last_epoch,
                ..
            } => NodeState::Sequence {
                last_epoch: *last_epoch,
                children: children.iter().map(NodeState::capture).collect(),
            },
            Node::Warmup(w) => NodeState::Warmup {
                step: w.step,
                start: exact(&w.start),
                end: exact(&w.end),
                held: exact(&w.held),
                then: Box::new(NodeState::capture(&w.then)),
            },
        }
    }

    fn name(&self) -> &str {
        match self {
            NodeState::Leaf { scheduler, .. } => scheduler,
            NodeState::Plateau { .. } => "ReduceLROnPlateau",
            NodeState::Chain { .. } => "ChainedScheduler",
            NodeState::Sequence { .. } => "SequentialLR",
            NodeState::Warmup { .. } => "warmup",
        }
    }

    fn apply(&self, node: &mut Node, path: &str) -> Result<(), StateMismatch> {
        let node_name = match node {
            Node::Leaf(l) => l.torch_name(),
            Node::Plateau(_) => "ReduceLROnPlateau",
            Node::Chain(_) => "ChainedScheduler",
            Node::Sequence { .. } => "SequentialLR",
            Node::Warmup(_) => "warmup",
        };
        let differ = || {
            mismatch(
                path,
                format!("saved a {}, this schedule has a {node_name}", self.name()),
            )
        };
        match (self, node) {
            (
                NodeState::Leaf {
                    scheduler,
                    last_epoch,
                    step_count,
                    base_lrs,
                    restarts,
                },
                Node::Leaf(l),
            ) => {
                if scheduler != l.torch_name() {
                    return Err(differ());
                }
                if base_lrs.len() != l.base_lrs.len() {
                    return Err(mismatch(
                        path,
                        format!(
                            "saved over {} groups, this schedule's {node_name} has {}",
                            base_lrs.len(),
                            l.base_lrs.len()
                        ),
                    ));
                }
                restore_leaf(l, *last_epoch, *step_count, base_lrs, *restarts)
                    .map_err(|r| mismatch(path, r))
            }
            (
                NodeState::Plateau {
                    last_epoch,
                    best,
                    num_bad_epochs,
                    cooldown_counter,
                },
                Node::Plateau(p),
            ) => {
                p.last_epoch = *last_epoch;
                p.best = best.0;
                p.num_bad_epochs = *num_bad_epochs;
                p.cooldown_counter = *cooldown_counter;
                Ok(())
            }
            (NodeState::Chain { children: saved }, Node::Chain(children)) => {
                apply_children(saved, children, path)
            }
            (
                NodeState::Sequence {
                    last_epoch: saved_epoch,
                    children: saved,
                },
                Node::Sequence {
                    children,
                    last_epoch,
                    ..
                },
            ) => {
                *last_epoch = *saved_epoch;
                apply_children(saved, children, path)
            }
            (
                NodeState::Warmup {
                    step,
                    start,
                    end,
                    held,
                    then,
                },
                Node::Warmup(w),
            ) => {
                let n = w.start.len();
                if [start.len(), end.len(), held.len()].iter().any(|&l| l != n) {
                    return Err(mismatch(
                        path,
                        format!("saved over {} groups, this warmup has {n}", start.len()),
                    ));
                }
                then.apply(&mut w.then, &format!("{path} > then"))?;
                w.step = *step;
                let put = |to: &mut Vec<f64>, from: &[Exact]| {
                    to.iter_mut().zip(from).for_each(|(t, f)| *t = f.0)
                };
                put(&mut w.start, start);
                put(&mut w.end, end);
                put(&mut w.held, held);
                Ok(())
            }
            _ => Err(differ()),
        }
    }
}

fn restore_leaf(
    l: &mut Leaf,
    last_epoch: i64,
    step_count: u64,
    base_lrs: &[Exact],
    restarts: Option<(i64, i64)>,
) -> Result<(), String> {
    l.last_epoch = last_epoch;
    l.step_count = step_count;
    for (b, s) in l.base_lrs.iter_mut().zip(base_lrs) {
        *b = s.0;
    }
    match (&mut l.kind, restarts) {
        (LeafKind::CosineRestarts { t_i, t_cur, .. }, Some((si, sc))) => {
            *t_i = si;
            *t_cur = sc;
            Ok(())
        }
        (LeafKind::CosineRestarts { .. }, None) => {
            Err("the saved CosineAnnealingWarmRestarts has no restart counters".into())
        }
        _ => Ok(()),
    }
}

fn apply_children(
    saved: &[NodeState],
    children: &mut [Node],
    path: &str,
) -> Result<(), StateMismatch> {
    if saved.len() != children.len() {
        return Err(mismatch(
            path,
            format!(
                "saved {} children, this schedule has {}",
                saved.len(),
                children.len()
            ),
        ));
    }
    for (i, (s, c)) in saved.iter().zip(children.iter_mut()).enumerate() {
        s.apply(c, &format!("{path} > child {i}"))?;
    }
    Ok(())
}

//! The optimizer-side state every PyTorch scheduler reads and writes: `optimizer.param_groups`.
//!
//! PyTorch's schedulers do not keep the learning rate themselves; they read `group["lr"]`, compute
//! a new value, and write it back. Children of `ChainedScheduler` and `SequentialLR` therefore
//! see each other's writes. [`ParamGroups`] is that shared dictionary, reduced to the keys the
//! schedulers touch, one entry per parameter group of the whole optimizer (global group index).

/// The keys of `optimizer.param_groups[i]` that schedulers read or write, for every group `i`.
///
/// `momentum[i]` stands for `group["betas"][0]` when the optimizer has betas, else for
/// `group["momentum"]`; `max_lr`, `min_lr`, `max_momentum` and `base_momentum` are the extra
/// keys `OneCycleLR` (and, for the momenta, `CyclicLR`) store in the group.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ParamGroups {
    pub lr: Vec<f64>,
    /// `group["initial_lr"]`; `None` until a scheduler's constructor sets it (`setdefault`).
    pub initial_lr: Vec<Option<f64>>,
    pub momentum: Vec<f64>,
    pub max_lr: Vec<f64>,
    pub min_lr: Vec<f64>,
    pub max_momentum: Vec<f64>,
    pub base_momentum: Vec<f64>,
    /// `group["swa_lr"]`, which `SWALR`'s constructor sets (the last one built wins, as in
    /// PyTorch) and its `get_lr` reads. Set only at construction, so not part of the saved state.
    pub swa_lr: Vec<f64>,
}

impl ParamGroups {
    /// The groups of a freshly built optimizer: each group's own `lr` and momentum (or beta1).
    pub fn new(lrs: Vec<f64>, momenta: Vec<f64>) -> Self {
        let n = lrs.len();
        ParamGroups {
            lr: lrs,
            initial_lr: vec![None; n],
            momentum: momenta,
            max_lr: vec![0.0; n],
            min_lr: vec![0.0; n],
            max_momentum: vec![0.0; n],
            base_momentum: vec![0.0; n],
            swa_lr: vec![0.0; n],
        }
    }

    pub fn len(&self) -> usize {
        self.lr.len()
    }

    /// `group.setdefault("initial_lr", group["lr"])`, returning the value now stored.
    pub fn setdefault_initial_lr(&mut self, g: usize) -> f64 {
        *self.initial_lr[g].get_or_insert(self.lr[g])
    }

    /// `group["initial_lr"]`, or the current lr when no scheduler has set it (only possible when
    /// every scheduler over the group is a `plateau`, which PyTorch never lets reach that read).
    pub fn initial_lr_or_lr(&self, g: usize) -> f64 {
        self.initial_lr[g].unwrap_or(self.lr[g])
    }
}

//! Port of PyTorch's `ReduceLROnPlateau`.

use super::groups::ParamGroups;
use crate::config::{PlateauMode, ThresholdMode};

/// `ReduceLROnPlateau` over the groups of its schedule instance.
#[derive(Clone, Debug)]
pub(crate) struct Plateau {
    mode: PlateauMode,
    factor: f64,
    patience: u64,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: u64,
    /// `self.min_lrs`, one per group of the instance (local index).
    min_lrs: Vec<f64>,
    eps: f64,
    pub last_epoch: i64,
    pub best: f64,
    pub num_bad_epochs: u64,
    pub cooldown_counter: u64,
}

impl Plateau {
    /// The constructor. Unlike every other scheduler it neither sets `initial_lr` nor steps.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mode: PlateauMode,
        factor: f64,
        patience: u64,
        threshold: f64,
        threshold_mode: ThresholdMode,
        cooldown: u64,
        min_lrs: Vec<f64>,
        eps: f64,
    ) -> Self {
        let mut p = Plateau {
            mode,
            factor,
            patience,
            threshold,
            threshold_mode,
            cooldown,
            min_lrs,
            eps,
            last_epoch: 0,
            best: 0.0,
            num_bad_epochs: 0,
            cooldown_counter: 0,
        };
        p.reset();
        p
    }

    /// `self.mode_worse`.
    fn mode_worse(&self) -> f64 {
        match self.mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        }
    }

    /// `_reset()`: forget the best value and both counters.
    pub fn reset(&mut self) {
        self.best = self.mode_worse();
        self.cooldown_counter = 0;
        self.num_bad_epochs = 0;
    }

    fn is_better(&self, a: f64, best: f64) -> bool {
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - self.threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - self.threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (self.threshold + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + self.threshold,
        }
    }

    /// `step(metrics)`. Without a metric (`None`: a `step()` with no metric, which PyTorch
    /// refuses with a `TypeError`) the epoch is counted and nothing else changes: not the lr,
    /// not the best value, not the counters.
    #[inline]
    pub fn step(&mut self, metric: Option<f64>, groups: &[usize], pg: &mut ParamGroups) {
        self.last_epoch += 1;
        let Some(current) = metric else {
            return;
        };
        if self.is_better(current, self.best) {
            self.best = current;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            self.reduce_lr(groups, pg);
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
    }

    fn reduce_lr(&self, groups: &[usize], pg: &mut ParamGroups) {
        for (k, &g) in groups.iter().enumerate() {
            let old_lr = pg.lr[g];
            let scaled = old_lr * self.factor;
            // Python's max(a, b) keeps `a` unless `b > a`.
            let new_lr = if self.min_lrs[k] > scaled {
                self.min_lrs[k]
            } else {
                scaled
            };
            if old_lr - new_lr > self.eps {
                pg.lr[g] = new_lr;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plateau(mode: PlateauMode, tm: ThresholdMode, patience: u64, cooldown: u64) -> Plateau {
        Plateau::new(mode, 0.5, patience, 0.1, tm, cooldown, vec![0.0], 1e-8)
    }

    #[test]
    fn patience_counts_strictly_more_bad_epochs() {
        let mut pg = ParamGroups::new(vec![1.0], vec![0.0]);
        let mut p = plateau(PlateauMode::Min, ThresholdMode::Abs, 2, 0);
        for m in [1.0, 1.0, 1.0] {
            p.step(Some(m), &[0], &mut pg);
        }
        assert_eq!(pg.lr[0], 1.0, "two bad epochs with patience 2 keep the lr");
        p.step(Some(1.0), &[0], &mut pg);
        assert_eq!(pg.lr[0], 0.5);
        assert_eq!(p.num_bad_epochs, 0);
    }

    #[test]
    fn thresholds_rel_and_abs_in_both_modes() {
        let p = plateau(PlateauMode::Min, ThresholdMode::Rel, 0, 0);
        assert!(p.is_better(0.89, 1.0));
        assert!(!p.is_better(0.9, 1.0));
        assert!(p.is_better(1e300, f64::INFINITY));
        let p = plateau(PlateauMode::Max, ThresholdMode::Abs, 0, 0);
        assert!(p.is_better(1.11, 1.0));
        assert!(!p.is_better(1.1, 1.0));
        assert!(p.is_better(-1e300, f64::NEG_INFINITY));
    }

    #[test]
    fn cooldown_ignores_bad_epochs() {
        let mut pg = ParamGroups::new(vec![1.0], vec![0.0]);
        let mut p = plateau(PlateauMode::Min, ThresholdMode::Abs, 0, 2);
        p.step(Some(1.0), &[0], &mut pg);
        p.step(Some(1.0), &[0], &mut pg); // bad > 0 → reduce, cooldown 2
        assert_eq!(pg.lr[0], 0.5);
        p.step(Some(1.0), &[0], &mut pg); // cooldown 2 → 1
        p.step(Some(1.0), &[0], &mut pg); // cooldown 1 → 0
        assert_eq!(pg.lr[0], 0.5);
        p.step(Some(1.0), &[0], &mut pg);
        assert_eq!(pg.lr[0], 0.25);
    }

    #[test]
    fn eps_and_min_lr_bound_the_reduction() {
        let mut pg = ParamGroups::new(vec![1e-8, 1.0], vec![0.0, 0.0]);
        let mut p = Plateau::new(
            PlateauMode::Min,
            0.5,
            0,
            0.0,
            ThresholdMode::Abs,
            0,
            vec![0.0, 0.75],
            1e-8,
        );
        p.step(Some(1.0), &[0, 1], &mut pg);
        p.step(Some(1.0), &[0, 1], &mut pg);
        assert_eq!(
            pg.lr,
            vec![1e-8, 0.75],
            "a decay smaller than eps is ignored"
        );
    }

    #[test]
    fn step_without_metric_only_counts() {
        let mut pg = ParamGroups::new(vec![1.0], vec![0.0]);
        let mut p = plateau(PlateauMode::Min, ThresholdMode::Abs, 0, 0);
        p.step(Some(1.0), &[0], &mut pg);
        p.step(None, &[0], &mut pg);
        p.step(None, &[0], &mut pg);
        assert_eq!((p.last_epoch, p.num_bad_epochs, pg.lr[0]), (3, 0, 1.0));
    }
}

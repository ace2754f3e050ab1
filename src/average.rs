//! Weight averaging (`average = swa(...)` / `average = ema(...)`): the running average of the
//! parameters that a [`Trainer`](crate::Trainer) keeps beside them, as
//! `torch.optim.swa_utils.AveragedModel` does, bit for bit on CPU in float32.
//!
//! After every optimizer step of epoch `start` on, `update_parameters(model)`: the first update
//! copies the parameters; later ones compute, for every value,
//!
//! - `swa` (`AveragedModel(model)`, on CPU `get_swa_avg_fn`):
//!   `avg + (p - avg) / (n_averaged + 1)` in float32;
//! - `ema` (`get_ema_multi_avg_fn(decay)`, `torch._foreach_lerp_(avg, p, 1 - decay)`): ATen's
//!   lerp with the weight `w = float32(1 - decay)`, each a fused multiply-add as its CPU kernel
//!   computes it: `fma(w, p - avg, avg)` when `|w| < 0.5`, else `fma(w - 1, p - avg, p)`.
//!
//! The copy is allocated once, when the trainer is built; an update allocates nothing.

use crate::config::AverageConfig;

/// The averaged copy of every registered parameter, and how many updates it holds.
#[derive(Clone, Debug)]
pub(crate) struct Averager {
    config: AverageConfig,
    /// One vector per registered parameter, in registration order.
    values: Vec<Vec<f32>>,
    /// `AveragedModel.n_averaged`.
    n_averaged: u64,
}

impl Averager {
    /// An empty average over parameters of these lengths (allocated now, filled at the first
    /// update).
    pub fn new(config: AverageConfig, lens: impl Iterator<Item = usize>) -> Averager {
        Averager {
            config,
            values: lens.map(|n| vec![0.0; n]).collect(),
            n_averaged: 0,
        }
    }

    pub fn config(&self) -> AverageConfig {
        self.config
    }

    /// Whether the optimizer step of `epoch` is averaged.
    pub fn averages(&self, epoch: u64) -> bool {
        epoch >= self.config.start()
    }

    /// `update_parameters(model)`, with the parameters in registration order.
    pub fn update<'a>(&mut self, params: impl Iterator<Item = &'a [f32]>) {
        let n = self.n_averaged;
        for (avg, p) in self.values.iter_mut().zip(params) {
            if n == 0 {
                avg.copy_from_slice(p);
                continue;
            }
            match self.config {
                AverageConfig::Swa { .. } => swa_update(avg, p, n),
                AverageConfig::Ema { decay, .. } => ema_update(avg, p, decay),
            }
        }
        self.n_averaged += 1;
    }

    /// `AveragedModel.n_averaged`.
    pub fn n_averaged(&self) -> u64 {
        self.n_averaged
    }

    /// The averaged values of parameter `i`, once an update has happened.
    pub fn values(&self, i: usize) -> Option<&[f32]> {
        if self.n_averaged == 0 {
            return None;
        }
        self.values.get(i).map(Vec::as_slice)
    }

    /// The averaged values of every parameter, in registration order, once an update has
    /// happened (what a state file saves as `average/{parameter}`).
    pub fn all_values(&self) -> Option<&[Vec<f32>]> {
        (self.n_averaged > 0).then_some(self.values.as_slice())
    }

    /// This average with a saved state put in its place: `n_averaged` updates and, when that
    /// is above 0, `values` (one per parameter, in registration order, moved in). `Err` says
    /// why the state does not fit; `self` is not changed either way.
    pub fn restored(
        &self,
        n_averaged: u64,
        values: Option<Vec<Vec<f32>>>,
    ) -> Result<Averager, String> {
        let values = match values {
            None if n_averaged == 0 => self.values.iter().map(|v| vec![0.0; v.len()]).collect(),
            None => {
                return Err(format!(
                    "the average holds {n_averaged} updates but no values"
                ))
            }
            Some(v) if n_averaged == 0 && !v.is_empty() => {
                return Err("the average has values but no update".into())
            }
            Some(v) => {
                if v.len() != self.values.len() {
                    return Err(format!(
                        "the average holds {} parameters, the trainer {}",
                        v.len(),
                        self.values.len()
                    ));
                }
                for (i, (got, want)) in v.iter().zip(&self.values).enumerate() {
                    if got.len() != want.len() {
                        return Err(format!(
                            "the average of parameter {i} has {} values, the parameter {}",
                            got.len(),
                            want.len()
                        ));
                    }
                }
                v
            }
        };
        Ok(Averager {
            config: self.config,
            values,
            n_averaged,
        })
    }
}

/// `get_swa_avg_fn` on CPU: `avg + (p - avg) / (n_averaged + 1)`, float32 throughout.
fn swa_update(avg: &mut [f32], p: &[f32], n_averaged: u64) {
    let count = (n_averaged + 1) as f32;
    for (a, &x) in avg.iter_mut().zip(p) {
        *a += (x - *a) / count;
    }
}

/// `torch._foreach_lerp_(avg, p, 1 - decay)` on CPU (see the module documentation).
fn ema_update(avg: &mut [f32], p: &[f32], decay: f64) {
    let w = (1.0 - decay) as f32;
    if w.abs() < 0.5 {
        for (a, &x) in avg.iter_mut().zip(p) {
            *a = w.mul_add(x - *a, *a);
        }
    } else {
        let coeff = w - 1.0;
        for (a, &x) in avg.iter_mut().zip(p) {
            *a = coeff.mul_add(x - *a, x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_update_copies_then_swa_is_the_running_mean() {
        let mut a = Averager::new(AverageConfig::Swa { start: 0 }, [2].into_iter());
        assert_eq!(a.values(0), None);
        for p in [[1.0f32, 4.0], [3.0, 0.0], [5.0, 2.0]] {
            a.update([&p[..]].into_iter());
        }
        assert_eq!(a.n_averaged(), 3);
        assert_eq!(a.values(0), Some(&[3.0f32, 2.0][..]));
    }

    #[test]
    fn ema_lerps_with_one_minus_decay() {
        let mut a = Averager::new(
            AverageConfig::Ema {
                decay: 0.75,
                start: 0,
            },
            [1].into_iter(),
        );
        a.update([&[4.0f32][..]].into_iter());
        a.update([&[0.0f32][..]].into_iter());
        assert_eq!(a.values(0), Some(&[3.0f32][..]));
        // A weight of 0.5 or more takes the other form of ATen's lerp.
        let mut b = Averager::new(
            AverageConfig::Ema {
                decay: 0.25,
                start: 0,
            },
            [1].into_iter(),
        );
        b.update([&[4.0f32][..]].into_iter());
        b.update([&[0.0f32][..]].into_iter());
        assert_eq!(b.values(0), Some(&[1.0f32][..]));
    }

    #[test]
    fn restored_states_are_checked() {
        let a = Averager::new(AverageConfig::Swa { start: 0 }, [2, 1].into_iter());
        let b = a
            .restored(3, Some(vec![vec![1.0, f32::NAN], vec![-0.0]]))
            .unwrap();
        assert_eq!(b.n_averaged(), 3);
        assert!(b.values(0).unwrap()[1].is_nan());
        assert_eq!(b.values(1).unwrap()[0].to_bits(), (-0.0f32).to_bits());
        assert_eq!(a.n_averaged(), 0);
        assert!(a.restored(3, None).is_err());
        assert!(a
            .restored(0, Some(vec![vec![1.0, 2.0], vec![3.0]]))
            .is_err());
        assert!(a.restored(1, Some(vec![vec![1.0], vec![3.0]])).is_err());
        assert!(a.restored(1, Some(vec![vec![1.0, 2.0]])).is_err());
        assert_eq!(a.restored(0, None).unwrap().n_averaged(), 0);
    }
}

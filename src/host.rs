//! What the candle and burn layers share: the host-side f32 buffers a framework's tensors are
//! copied into for a [`Trainer`] step, the calls of the training loop they hand to their
//! `Trainer`, and the wording of their errors.

use crate::error::Error;
use crate::optim::ParamMut;
use crate::train::Trainer;

/// Per registered parameter: its values and its gradient of the current step as f32, and
/// whether the step has a gradient for it. Allocated once; a step allocates nothing here.
#[derive(Debug)]
pub(crate) struct HostBuffers {
    /// Per parameter: its values, copied in before and out after each step.
    pub data: Vec<Vec<f32>>,
    /// Per parameter: its gradient of the current step.
    pub grads: Vec<Vec<f32>>,
    /// Per parameter: whether the current step has a gradient for it.
    pub has_grad: Vec<bool>,
    /// Always empty: the allocation of the `ParamMut` list handed to the trainer, kept between
    /// steps.
    scratch: Vec<ParamMut<'static>>,
}

impl HostBuffers {
    /// Buffers for parameters of these numbers of values, in registration order.
    pub fn new(sizes: impl ExactSizeIterator<Item = usize>) -> HostBuffers {
        let n = sizes.len();
        let mut data = Vec::with_capacity(n);
        let mut grads = Vec::with_capacity(n);
        for size in sizes {
            data.push(vec![0.0; size]);
            grads.push(vec![0.0; size]);
        }
        HostBuffers {
            data,
            grads,
            has_grad: vec![false; n],
            scratch: Vec::with_capacity(n),
        }
    }

    /// One optimizer step of `trainer` over the buffers: every parameter with a gradient is
    /// updated in `data`; the others (`grad: None`) are skipped, as PyTorch skips them.
    pub fn step(&mut self, trainer: &mut Trainer) -> Result<(), Error> {
        let mut params = reuse(std::mem::take(&mut self.scratch));
        params.extend(
            self.data
                .iter_mut()
                .zip(&self.grads)
                .zip(&self.has_grad)
                .map(|((data, grad), &has)| ParamMut {
                    data,
                    grad: has.then_some(grad.as_slice()),
                    name: None,
                }),
        );
        let stepped = trainer.step_registered(&mut params);
        params.clear();
        self.scratch = reuse(params);
        stepped
    }
}

/// An empty `Vec` with the allocation of `v` (which must be empty), for another lifetime: the
/// standard library collects an empty `vec::IntoIter` into a `Vec` of an element type of the same
/// size in place, so no allocation happens (pinned by `tests/it/candle.rs`).
// `filter_map` changes the element's lifetime, which `filter` cannot.
#[allow(clippy::unnecessary_filter_map)]
fn reuse<'b>(v: Vec<ParamMut<'_>>) -> Vec<ParamMut<'b>> {
    debug_assert!(v.is_empty());
    v.into_iter().filter_map(|_| None).collect()
}

/// "Var `w` (dtype u8) cannot be trained by optimc", or for several, "2 Vars cannot be trained
/// by optimc: ..."; `noun` is what one is called (`Var`, `parameter`).
pub(crate) fn unsupported_message(noun: &str, refused: &[(String, String)]) -> String {
    let list = refused
        .iter()
        .map(|(n, why)| format!("`{n}` ({why})"))
        .collect::<Vec<_>>()
        .join(", ");
    if refused.len() == 1 {
        format!("{noun} {list} cannot be trained by optimc")
    } else {
        format!(
            "{} {noun}s cannot be trained by optimc: {list}",
            refused.len()
        )
    }
}

/// The training loop's calls on a framework's trainer (`CandleTrainer`, `BurnTrainer`): each
/// hands over to the [`Trainer`] in its `trainer` field, so both loops read as the plain one.
macro_rules! trainer_loop_calls {
    () => {
        /// When the schedule steps ([`Trainer::stepping`]): per step (`run = per_step(...)`, at
        /// [`end_batch`](Self::end_batch)) or per epoch (at [`end_epoch`](Self::end_epoch)).
        pub fn stepping(&self) -> crate::Stepping {
            self.trainer.stepping()
        }

        /// Ends a batch: call it after every [`step`](Self::step); the schedule step where the
        /// file steps per step ([`Trainer::end_batch`]).
        ///
        /// # Errors
        /// As [`Trainer::end_batch`].
        pub fn end_batch(&mut self) -> Result<(), Error> {
            self.trainer.end_batch()
        }

        /// [`end_batch`](Self::end_batch) with the metric a per-step `plateau` watches
        /// ([`Trainer::end_batch_with`]).
        pub fn end_batch_with(&mut self, metric: f64) {
            self.trainer.end_batch_with(metric);
        }

        /// Ends the epoch: the schedule step where the file steps per epoch (the default),
        /// then the new lrs (and cycled momenta) go into the optimizer ([`Trainer::end_epoch`]).
        ///
        /// # Errors
        /// [`ErrorKind::MetricNeeded`](crate::error::ErrorKind::MetricNeeded) for a schedule
        /// with a `plateau`: use [`end_epoch_with`](Self::end_epoch_with);
        /// [`ErrorKind::BatchesNotEnded`](crate::error::ErrorKind::BatchesNotEnded) for a file
        /// stepped per step whose epoch ended no batch.
        pub fn end_epoch(&mut self) -> Result<(), Error> {
            self.trainer.end_epoch()
        }

        /// Ends the epoch with the metric a `plateau` watches ([`Trainer::end_epoch_with`]).
        pub fn end_epoch_with(&mut self, metric: f64) {
            self.trainer.end_epoch_with(metric);
        }

        /// One schedule step now, whatever the file declares ([`Trainer::step_schedule`]).
        ///
        /// # Errors
        /// As [`Trainer::step_schedule`].
        pub fn step_schedule(&mut self) -> Result<(), Error> {
            self.trainer.step_schedule()
        }

        /// One schedule step now with a `plateau`'s metric ([`Trainer::step_schedule_with`]).
        pub fn step_schedule_with(&mut self, metric: f64) {
            self.trainer.step_schedule_with(metric);
        }

        /// The lr in force of every group, in group order.
        pub fn lrs(&self) -> &[f64] {
            self.trainer.lrs()
        }

        /// The underlying [`Trainer`]: optimizer (which group each parameter is in:
        /// [`Optimizer::group_of`](crate::optim::Optimizer::group_of)), schedule, epoch,
        /// momentum, `save`.
        pub fn trainer(&self) -> &Trainer {
            &self.trainer
        }

        /// The underlying [`Trainer`], e.g. to `load` a state file saved by it, or to `set_lr`.
        pub fn trainer_mut(&mut self) -> &mut Trainer {
            &mut self.trainer
        }
    };
}
pub(crate) use trainer_loop_calls;

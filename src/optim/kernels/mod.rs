//! One kernel per optimizer: a single fused pass over a parameter, its gradient and its state.
//!
//! Every kernel ports the `_single_tensor_<name>` function of PyTorch's `torch/optim/<name>.py`
//! for one float32 tensor (`foreach` and `fused` off). Parameters and state are `f32`;
//! hyperparameters and step-derived scalars (bias corrections, step sizes) are computed in `f64`
//! exactly where PyTorch computes them as Python floats, and rounded to `f32` where they meet a
//! tensor. The per-element arithmetic keeps the order of PyTorch's chain of tensor ops (see the
//! private `optim::ops` module), so one pass gives bit-for-bit the same result as PyTorch's several passes.
//!
//! The kernels allocate nothing. Slices passed together must have the same length (checked with
//! `assert!` once per call, never per element). `step` arguments are PyTorch's float32 `step`
//! tensor; kernels increment them.

pub mod adadelta;
pub mod adafactor;
pub mod adagrad;
pub mod adam;
pub mod adamax;
pub mod asgd;
pub mod lamb;
pub mod lion;
pub mod muon;
pub mod nadam;
pub mod radam;
#[cfg(test)]
pub(crate) mod reference;
pub mod rmsprop;
pub mod rprop;
pub mod sgd;

pub use adadelta::{adadelta, AdadeltaState};
pub use adafactor::{
    adafactor, adafactor_factoring, AdafactorMoments, AdafactorOptions, AdafactorState,
};
pub use adagrad::{adagrad, AdagradState};
pub use adam::{adam, AdamState};
pub use adamax::{adamax, AdamaxState};
pub use asgd::{asgd, asgd_initial_eta, AsgdOptions, AsgdState};
pub use lamb::{lamb, lamb_clip_factor, LambOptions, LambState};
pub use lion::{lion, LionOptions, LionState};
pub use muon::{muon, MuonAdjustLr, MuonOptions, MuonScratch, MuonState, MUON_NS_COEFFICIENTS};
pub use nadam::{nadam, NAdamState};
pub use radam::{radam, RAdamState};
pub use rmsprop::{rmsprop, RmsPropState};
pub use rprop::{rprop, rprop_initial_step_size, RpropOptions, RpropState};
pub use sgd::{sgd, SgdState};

/// Panics unless every slice has length `n`.
#[inline]
pub(crate) fn check_len(n: usize, lens: &[usize]) {
    assert!(
        lens.iter().all(|&l| l == n),
        "kernel slices differ in length: expected {n}, got {lens:?}"
    );
}

/// The 2-norm of a float32 tensor, as PyTorch's `tensor.norm()` gives it up to the order of
/// summation (which ATen does not fix across builds): the sum of squares is taken in f64 and
/// its root rounded to f32, so the result is within an ulp or so of PyTorch's.
pub fn l2_norm(x: &[f32]) -> f32 {
    x.iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt() as f32
}

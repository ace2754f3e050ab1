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
mod matmul;
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
pub(crate) use muon::muon_on;
pub use muon::{muon, MuonAdjustLr, MuonOptions, MuonScratch, MuonState, MUON_NS_COEFFICIENTS};
pub use nadam::{nadam, NAdamState};
pub use radam::{radam, RAdamState};
pub use rmsprop::{rmsprop, RmsPropState};
pub use rprop::{rprop, rprop_initial_step_size, RpropOptions, RpropState};
pub use sgd::{sgd, SgdState};

use crate::optim::ops::fma_kernel;
use crate::optim::threads::{Pieces, Split, Workers};
use std::ops::Range;

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
    square_sum(x).sqrt() as f32
}

fma_kernel! {
/// The f64 sum of squares of `x` in [`SquareSums`]' order.
fn square_sum<>(x: &[f32]) -> f64 {
    let mut sums = SquareSums::default();
    sums.add_all(x);
    sums.total()
}
}

/// How many partial sums [`SquareSums`] keeps.
pub(crate) const SUM_LANES: usize = 8;

/// How many values a kernel that sums the squares of values it computes (an update) computes
/// at once into a buffer on the stack before summing them with [`SquareSums::add_all`]: computing
/// and summing in one loop mixes float32 and f64 vectors, which LLVM vectorizes poorly, while
/// each loop alone becomes full-width vector instructions. A multiple of [`SUM_LANES`].
pub(crate) const BLOCK: usize = 64;

/// A sum of squares of float32 values in f64 (each square is exact there), kept as
/// [`SUM_LANES`] partial sums so that it runs as vector instructions instead of one long chain
/// of dependent additions: [`SquareSums::add_all`] sends value `i` of a run to partial sum
/// `i % SUM_LANES`, and the partial sums are added in order at the end. The order is fixed, so
/// the total is the same on every run; it is not ATen's order (which differs between builds),
/// and the f64 sum is accurate far beyond the float32 norm taken from it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SquareSums([f64; SUM_LANES]);

impl SquareSums {
    #[inline(always)]
    fn add(&mut self, lane: usize, x: f32) {
        let x = f64::from(x);
        self.0[lane] += x * x;
    }

    /// Adds the squares of a run of values (call it from an [`fma_kernel!`] loop): the run is
    /// summed into fresh partial sums, which are then added to these.
    #[inline(always)]
    pub(crate) fn add_all(&mut self, x: &[f32]) {
        // Fresh local sums: LLVM keeps them in two vector registers, where it splits partial
        // sums that live behind a reference into odd pieces.
        let mut run = SquareSums::default();
        let mut chunks = x.chunks_exact(SUM_LANES);
        for c in &mut chunks {
            for (lane, &v) in c.iter().enumerate() {
                run.add(lane, v);
            }
        }
        for (lane, &v) in chunks.remainder().iter().enumerate() {
            run.add(lane, v);
        }
        for (sum, r) in self.0.iter_mut().zip(run.0) {
            *sum += r;
        }
    }

    /// Adds `other`'s partial sums to these, lane by lane.
    #[inline]
    pub(crate) fn merge(&mut self, other: &SquareSums) {
        for (sum, o) in self.0.iter_mut().zip(other.0) {
            *sum += o;
        }
    }

    pub(crate) fn total(&self) -> f64 {
        self.0.iter().fold(0.0, |sum, &lane| sum + lane)
    }
}

impl Partial for SquareSums {
    fn merge(&mut self, other: &Self) {
        SquareSums::merge(self, other);
    }
}

/// Reductions over a whole tensor (Lamb's norms, Adafactor's RMS values) sum fixed blocks of
/// this many values, each on one thread, then add the blocks' sums in block order on the
/// calling thread. The blocks do not depend on the thread count, so neither does any bit of the
/// result; a tensor of at most one block sums exactly as it did before reductions were split
/// (adding the one block's sums to zero changes nothing).
pub(crate) const REDUCE_BLOCK: usize = 1 << 15;

/// The items of thread `i` of `parts` over `len` items in blocks of `block`: whole blocks (the
/// last one may be short), shared out as evenly as whole blocks allow.
pub(crate) fn part_range(len: usize, block: usize, parts: usize, i: usize) -> Range<usize> {
    let blocks = len.div_ceil(block);
    let first = blocks * i / parts;
    let end = blocks * (i + 1) / parts;
    first.saturating_mul(block).min(len)..end.saturating_mul(block).min(len)
}

/// A partial result of a reduction, added to the others in a fixed order.
pub(crate) trait Partial: Copy + Default + Send + Sync {
    /// Adds `other` to this one. Adding to `Default::default()` must give `other` exactly.
    fn merge(&mut self, other: &Self);
}

/// Runs `job(items, piece)` on each worker's piece of `bundle` (`len` items, cut at multiples
/// of `block`): an elementwise pass, whose results do not depend on where it is cut.
pub(crate) fn split_pass<B: Split>(
    workers: Workers<'_>,
    len: usize,
    block: usize,
    bundle: B,
    job: &(dyn Fn(Range<usize>, B) + Sync),
) {
    let parts = workers.parts();
    if parts == 1 {
        return job(0..len, bundle);
    }
    let pieces = Pieces::new(bundle, len, parts, |i| part_range(len, block, parts, i).end);
    workers.run(&|i| {
        if let Some(piece) = pieces.take(i) {
            job(part_range(len, block, parts, i), piece);
        }
    });
}

/// Reduces `bundle` (`len` items) a block of `block` items at a time (`job(items, piece)`
/// reduces one block) and adds the blocks' results in block order. With several workers, each
/// reduces whole blocks into `partials` (one entry per block, at least) and the calling thread
/// adds them up afterwards: the same operations in the same order as on one thread, which adds
/// each block's result as soon as it has it.
///
/// # Panics
/// With several workers, if `partials` has fewer entries than there are blocks.
pub(crate) fn reduce_blocks<B: Split, P: Partial>(
    workers: Workers<'_>,
    len: usize,
    block: usize,
    bundle: B,
    partials: &mut [P],
    job: &(dyn Fn(Range<usize>, B) -> P + Sync),
) -> P {
    let parts = workers.parts();
    let mut total = P::default();
    if parts == 1 {
        let (mut rest, mut start) = (bundle, 0);
        while start < len {
            let end = start.saturating_add(block).min(len);
            let (head, tail) = rest.split_at(end - start);
            total.merge(&job(start..end, head));
            (rest, start) = (tail, end);
        }
        return total;
    }
    let blocks = len.div_ceil(block);
    assert!(
        partials.len() >= blocks,
        "{} partial sums for {blocks} blocks",
        partials.len()
    );
    let partials = &mut partials[..blocks];
    let end = |i| part_range(len, block, parts, i).end;
    let pieces = Pieces::new(bundle, len, parts, end);
    let outs = Pieces::new(&mut *partials, blocks, parts, |i| end(i).div_ceil(block));
    workers.run(&|i| {
        let (Some(mut rest), Some(outs)) = (pieces.take(i), outs.take(i)) else {
            return;
        };
        let range = part_range(len, block, parts, i);
        let mut start = range.start;
        for out in outs {
            let end = start.saturating_add(block).min(range.end);
            let (head, tail) = rest.split_at(end - start);
            *out = job(start..end, head);
            (rest, start) = (tail, end);
        }
    });
    for p in partials.iter() {
        total.merge(p);
    }
    total
}

#[cfg(test)]
mod split_tests {
    use super::*;

    #[test]
    fn part_ranges_are_whole_blocks_covering_everything() {
        for len in [0, 1, 100, 1000, 1001, 4096 * 3 + 5] {
            for parts in 1..=5 {
                let mut next = 0;
                for i in 0..parts {
                    let r = part_range(len, 64, parts, i);
                    assert_eq!(r.start, next);
                    assert!(r.start.is_multiple_of(64) || r.start == len);
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
    }
}

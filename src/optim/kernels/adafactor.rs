//! Adafactor (`torch.optim.Adafactor`, `_single_tensor_adafactor`).

use super::{
    check_len, part_range, reduce_blocks, split_pass, Partial, SquareSums, BLOCK, REDUCE_BLOCK,
};
use crate::optim::ops::{add, f, fma_kernel, lerp, specialize};
use crate::optim::threads::{Pieces, Rows, Workers};

/// Adafactor's options (PyTorch's defaults: lr 1e-2, beta2_decay -0.8, eps (None, 1e-3),
/// d 1, weight_decay 0, maximize false).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdafactorOptions {
    /// Caps the relative step size `rho_t = min(lr, 1/sqrt(t))`, and scales the weight decay.
    pub lr: f64,
    pub beta2_decay: f64,
    /// `(eps1, eps2)`; `eps1 = None` is float32's machine epsilon.
    pub eps: (Option<f64>, f64),
    /// The clipping threshold of the update's RMS.
    pub d: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AdafactorOptions {
    fn default() -> Self {
        AdafactorOptions {
            lr: 1e-2,
            beta2_decay: -0.8,
            eps: (None, 1e-3),
            d: 1.0,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

/// How a parameter of shape `shape` keeps its second moments: `Some((batch, rows, cols))`
/// when it has two or more dimensions (factored over the last two: row and column means per
/// matrix of the batch), `None` for a vector or a scalar (one variance per value).
pub fn adafactor_factoring(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match shape {
        [batch @ .., rows, cols] => Some((batch.iter().product(), *rows, *cols)),
        _ => None,
    }
}

/// The second-moment state of one parameter.
pub enum AdafactorMoments<'a> {
    /// A vector (or scalar): PyTorch's `variance`, one value per element.
    Full { variance: &'a mut [f32] },
    /// A parameter of shape `[.., rows, cols]` (see [`adafactor_factoring`]): `row_var`
    /// (`batch * rows` values) and `col_var` (`batch * cols`), plus `col_sums`, a scratch of
    /// at least `cols` values the kernel sums columns into (allocated once, with the state;
    /// `batch * cols` for a threaded step).
    Factored {
        rows: usize,
        cols: usize,
        row_var: &'a mut [f32],
        col_var: &'a mut [f32],
        col_sums: &'a mut [f32],
    },
}

/// Adafactor state of one parameter.
pub struct AdafactorState<'a> {
    /// PyTorch's float32 `step` tensor; incremented by the kernel.
    pub step: &'a mut f32,
    pub moments: AdafactorMoments<'a>,
}

/// One Adafactor step. It reads the tensor three times (the parameter's RMS and the update's
/// RMS are reductions over the whole tensor), recomputing the update instead of storing it.
/// Both RMS values are summed in fixed blocks added in order ([`REDUCE_BLOCK`] values of the
/// parameter; whole rows of the update), and every row and column sum is one thread's, so a
/// threaded step ([`Optimizer::set_threads`](crate::optim::Optimizer::set_threads)) gives the
/// same bits.
///
/// ```text
/// step += 1;  g = maximize ? -grad : grad;  w = step^beta2_decay
/// rho = min(lr, 1/sqrt(step));  alpha = max(eps2, rms(p)) * rho       (rms before the decay)
/// if weight_decay != 0: p = p * (1 - lr * wd)
/// factored: R = lerp(R, mean_cols(g^2), w);  C = lerp(C, mean_rows(g^2), w)
///           v = R C / max(mean(R), eps1)
/// else:     V = lerp(V, g^2, w);  v = V
/// u = g / sqrt(max(v, eps1^2));  p = p + (-alpha / max(1, rms(u) / d)) * u
/// ```
///
/// # Panics
/// If the lengths do not fit (`rows * cols` must divide the parameter's length).
pub fn adafactor(o: &AdafactorOptions, param: &mut [f32], grad: &[f32], state: AdafactorState<'_>) {
    adafactor_on(
        o,
        param,
        grad,
        state,
        &mut [],
        Workers::SERIAL,
        REDUCE_BLOCK,
    );
}

/// The partial sums of one block: of the parameter's squares (float32 in ATen's order within
/// the block, added across blocks in f64) and of the update's.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AdafactorSums {
    param: f64,
    update: SquareSums,
}

impl Partial for AdafactorSums {
    fn merge(&mut self, other: &Self) {
        self.param += other.param;
        self.update.merge(&other.update);
    }
}

/// How many rows of `cols` values a block of the update's sum of squares holds: as many whole
/// rows as fit in `block` values, at least one.
fn rows_per_block(cols: usize, block: usize) -> usize {
    block.checked_div(cols).unwrap_or(block).max(1)
}

/// How many [`AdafactorSums`] a threaded step of a parameter of shape `shape` needs.
pub(crate) fn adafactor_partials(shape: &[usize]) -> usize {
    let n: usize = shape.iter().product();
    let value_blocks = n.div_ceil(REDUCE_BLOCK);
    match adafactor_factoring(shape) {
        Some((batch, rows, cols)) => {
            value_blocks.max((batch * rows).div_ceil(rows_per_block(cols, REDUCE_BLOCK)))
        }
        None => value_blocks,
    }
}

/// Column sums of a threaded step are shared out in runs of this many (flattened) columns.
const COLUMN_ALIGN: usize = 16;

/// [`adafactor`] on `workers`: each pass is split among them; the parameter's and the update's
/// sums of squares are summed per block (`block` values, [`REDUCE_BLOCK`]; the tests also sum a
/// whole tensor as one block) into `sums` (at least [`adafactor_partials`] entries, needed only
/// with several workers), then added in block order on the calling thread; row sums are split
/// by rows and column sums by columns, each computed whole by one thread.
pub(crate) fn adafactor_on(
    o: &AdafactorOptions,
    param: &mut [f32],
    grad: &[f32],
    state: AdafactorState<'_>,
    sums: &mut [AdafactorSums],
    workers: Workers<'_>,
    block: usize,
) {
    let AdafactorState { step, moments } = state;
    let n = param.len();
    check_len(n, &[grad.len()]);
    *step += 1.0;
    let t = f64::from(*step);
    let eps1 = o.eps.0.unwrap_or(f64::from(f32::EPSILON));
    let weight = t.powf(o.beta2_decay);
    let rho = o.lr.min(1.0 / t.powf(0.5));
    let numel_sqrt = (n as f64).powf(0.5);
    let mut s = Scalars {
        weight: f(weight),
        eps1: f(eps1),
        eps1_sq: f(eps1 * eps1),
        decay: f(1.0 - o.lr * o.weight_decay),
        scale: 0.0,
    };
    let wd = o.weight_decay != 0.0;
    let alpha = |param_sq: f64| {
        let param_sq = param_sq as f32;
        o.eps.1.max(f64::from(param_sq.sqrt()) / numel_sqrt) * rho
    };
    // The update's norm is summed in f64: ATen's order for it could not be pinned down from
    // the recorded cases, and the more accurate sum keeps every case within 2e-6.
    let scale = |alpha: f64, update_sq: f64| {
        let unorm = update_sq.sqrt() as f32;
        f(-alpha / 1.0f64.max(f64::from(unorm) / (numel_sqrt * o.d)))
    };
    match moments {
        AdafactorMoments::Full { variance } => {
            check_len(n, &[variance.len()]);
            let total = {
                let s = &s;
                reduce_blocks(
                    workers,
                    n,
                    block,
                    (&*param, grad, &mut *variance),
                    sums,
                    &|_, (p, g, v)| {
                        let mut b = AdafactorSums {
                            param: f64::from(sum_squares(p)),
                            ..Default::default()
                        };
                        full_moments(s, g, v, &mut b.update);
                        b
                    },
                )
            };
            s.scale = scale(alpha(total.param), total.update.total());
            let s = &s;
            split_pass(
                workers,
                n,
                block,
                (param, grad, &*variance),
                &|_, (p, g, v)| {
                    specialize!(full_apply(s, p, g, v)[o.maximize, wd][]);
                },
            );
        }
        AdafactorMoments::Factored {
            rows,
            cols,
            row_var,
            col_var,
            col_sums,
        } => {
            if n == 0 {
                // A zero-size dimension: nothing to update. (PyTorch raises ZeroDivisionError
                // here, from `param.norm() / param.numel() ** 0.5`; its means over the empty
                // dimension would be 0 / 0, so the other dimension's factors are NaN, as they
                // would be.)
                row_var.fill(f32::NAN);
                col_var.fill(f32::NAN);
                return;
            }
            let batch = n.checked_div(rows * cols).unwrap_or(0);
            assert_eq!(batch * rows * cols, n, "Adafactor: shape does not fit");
            check_len(batch * rows, &[row_var.len()]);
            check_len(batch * cols, &[col_var.len()]);
            assert!(col_sums.len() >= cols, "Adafactor: column sums too short");
            let param_sq = reduce_blocks(workers, n, block, &*param, sums, &|_, p| AdafactorSums {
                param: f64::from(sum_squares(p)),
                ..Default::default()
            });
            let alpha = alpha(param_sq.param);
            factored_moments_on(
                &s, grad, batch, rows, cols, row_var, col_var, col_sums, workers,
            );
            let (row_var, col_var) = (&*row_var, &*col_var);
            // Each matrix's row mean, once, into the column sums' scratch (free again now) when
            // it has room, as the optimizer's does (`batch * cols` values); else (a caller's
            // scratch of `cols` values) recomputed for each run of rows that needs it.
            let row_means = (col_sums.len() >= batch).then(|| {
                let means = &mut col_sums[..batch];
                for (b, m) in means.iter_mut().enumerate() {
                    *m = row_mean(&s, &row_var[b * rows..][..rows]);
                }
                &*means
            });
            // Row `r` of the flattened `[batch * rows, cols]` view: its matrix's row mean and
            // column factors.
            let matrix = |s: &Scalars, r: usize| {
                let b = r / rows;
                let rm = match row_means {
                    Some(means) => means[b],
                    None => row_mean(s, &row_var[b * rows..][..rows]),
                };
                (rm, &col_var[b * cols..][..cols])
            };
            let total_rows = batch * rows;
            let row_block = rows_per_block(cols, block);
            let total = {
                let s = &s;
                reduce_blocks(
                    workers,
                    total_rows,
                    row_block,
                    Rows(grad, cols),
                    sums,
                    &|range, Rows(g, _)| {
                        let mut b = AdafactorSums::default();
                        for_each_matrix(range, rows, cols, g, |seg, g| {
                            let (rm, cv) = matrix(s, seg.start);
                            let rv = &row_var[seg];
                            factored_update_sq(s, g, cols, rm, rv, cv, &mut b.update);
                        });
                        b
                    },
                )
            };
            s.scale = scale(alpha, total.update.total());
            let s = &s;
            split_pass(
                workers,
                total_rows,
                row_block,
                (Rows(param, cols), Rows(grad, cols)),
                &|range, (Rows(p, _), Rows(g, _))| {
                    let mut p = p;
                    for_each_matrix(range, rows, cols, g, |seg, g| {
                        let (head, tail) = std::mem::take(&mut p).split_at_mut(g.len());
                        p = tail;
                        let (rm, cv) = matrix(s, seg.start);
                        let rv = &row_var[seg];
                        specialize!(factored_apply(s, head, g, cols, rm, rv, cv)[o.maximize, wd][]);
                    });
                },
            );
        }
    }
}

/// Calls `f(rows, values)` for each run of the flattened rows `range` that lies in one matrix
/// (of `rows` rows of `cols` values), in order; `values` are those rows' values, taken from
/// `x`, which holds the rows of `range`.
fn for_each_matrix<'x>(
    range: std::ops::Range<usize>,
    rows: usize,
    cols: usize,
    x: &'x [f32],
    mut f: impl FnMut(std::ops::Range<usize>, &'x [f32]),
) {
    let mut rest = x;
    let mut r = range.start;
    while r < range.end {
        let end = ((r / rows + 1) * rows).min(range.end);
        let (head, tail) = rest.split_at((end - r) * cols);
        f(r..end, head);
        (rest, r) = (tail, end);
    }
}

/// The row and column factors of every matrix of the batch. On one thread, one pass over the
/// gradient ([`factored_moments`]); on several, the rows are shared out for the row sums and
/// the columns for the column sums (two passes, each split): either way each sum is the same
/// chain of operations.
#[allow(clippy::too_many_arguments)]
fn factored_moments_on(
    s: &Scalars,
    grad: &[f32],
    batch: usize,
    rows: usize,
    cols: usize,
    row_var: &mut [f32],
    col_var: &mut [f32],
    col_sums: &mut [f32],
    workers: Workers<'_>,
) {
    let parts = workers.parts();
    if parts == 1 {
        for b in 0..batch {
            let g = &grad[b * rows * cols..][..rows * cols];
            let row_var = &mut row_var[b * rows..][..rows];
            let col_var = &mut col_var[b * cols..][..cols];
            factored_moments(s, g, rows, cols, row_var, col_var, col_sums);
        }
        return;
    }
    let (total_rows, total_cols) = (batch * rows, batch * cols);
    assert!(
        col_sums.len() >= total_cols,
        "Adafactor: a threaded step needs batch * cols column sums"
    );
    let row_range = |i| part_range(total_rows, 1, parts, i);
    let col_range = |i| part_range(total_cols, COLUMN_ALIGN, parts, i);
    let row_pieces = Pieces::new(row_var, total_rows, parts, |i| row_range(i).end);
    let col_pieces = Pieces::new(
        (col_var, &mut col_sums[..total_cols]),
        total_cols,
        parts,
        |i| col_range(i).end,
    );
    workers.run(&|i| {
        if let Some(rv) = row_pieces.take(i) {
            let r = row_range(i);
            row_moments(s, &grad[r.start * cols..r.end * cols], cols, rv);
        }
        if let Some((cv, cs)) = col_pieces.take(i) {
            column_moments(s, grad, rows, cols, col_range(i).start, cv, cs);
        }
    });
}

struct Scalars {
    weight: f32,
    eps1: f32,
    eps1_sq: f32,
    decay: f32,
    /// `-alpha / denom`, once the update's norm is known.
    scale: f32,
}

fma_kernel! {
/// The float32 sum of squares ATen's `norm` kernel computes over a contiguous run of values
/// (the whole tensor for `p.norm()`, a row for `vector_norm(dim=-1)`): 16 lanes accumulated
/// with fused multiply-adds, the lanes added in order, then the rest one by one. PyTorch's
/// reductions round in float32, and Adafactor's results depend on their last bits (a relative
/// step of up to 1 moves a parameter by about its own size), so the order is reproduced rather
/// than summed more accurately.
fn sum_squares<>(x: &[f32]) -> f32 {
    sum_squares_inline(x)
}
}

#[inline(always)]
fn sum_squares_inline(x: &[f32]) -> f32 {
    const LANES: usize = 16;
    let full = x.len() - x.len() % LANES;
    let mut lanes = [0.0f32; LANES];
    for chunk in x[..full].chunks_exact(LANES) {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l = v.mul_add(v, *l);
        }
    }
    let mut sum = lanes[0];
    for &l in &lanes[1..] {
        sum += l;
    }
    for &v in &x[full..] {
        sum = v.mul_add(v, sum);
    }
    sum
}

/// `torch.linalg.vector_norm(...).square_().div_(count)` from a float32 sum of squares.
#[inline(always)]
fn mean_square(sum_sq: f32, count: usize) -> f32 {
    let norm = sum_sq.sqrt();
    norm * norm / count as f32
}

/// `x.clamp_(min=lo)`: NaN stays NaN. Written as one comparison so that it is one vector
/// `max` instruction.
#[inline(always)]
fn clamp_min(x: f32, lo: f32) -> f32 {
    if x < lo {
        lo
    } else {
        x
    }
}

/// `var_estimate.clamp_(min=eps1**2).rsqrt_()`: ATen's rsqrt is `1 / sqrt(x)`.
#[inline(always)]
fn rsqrt_clamped(s: &Scalars, v: f32) -> f32 {
    1.0 / clamp_min(v, s.eps1_sq).sqrt()
}

/// `row_var.mean(dim=-2).clamp_(min=eps1)` of one matrix: a float32 sum in order, divided by
/// the count.
fn row_mean(s: &Scalars, row_var: &[f32]) -> f32 {
    let sum = row_var.iter().fold(0.0f32, |a, &x| a + x);
    clamp_min(sum / row_var.len() as f32, s.eps1)
}

fma_kernel! {
/// Updates one matrix's row and column factors from its gradient (signs do not matter). A
/// column's sum of squares runs down the rows in float32 with fused multiply-adds, as ATen
/// reduces over a non-contiguous dimension.
fn factored_moments<>(
    s: &Scalars,
    g: &[f32],
    rows: usize,
    cols: usize,
    row_var: &mut [f32],
    col_var: &mut [f32],
    col_sums: &mut [f32],
) {
    let col_sums = &mut col_sums[..cols];
    col_sums.fill(0.0);
    for (r, rv) in g.chunks_exact(cols).zip(row_var.iter_mut()) {
        let r = &r[..cols];
        *rv = lerp(*rv, mean_square(sum_squares_inline(r), cols), s.weight);
        for (&x, cs) in r.iter().zip(col_sums.iter_mut()) {
            *cs = x.mul_add(x, *cs);
        }
    }
    for (cv, &sum) in col_var.iter_mut().zip(col_sums.iter()) {
        *cv = lerp(*cv, mean_square(sum, rows), s.weight);
    }
}
}

fma_kernel! {
/// Updates the row factors `row_var` from the gradient rows `g` (as [`factored_moments`]).
fn row_moments<>(s: &Scalars, g: &[f32], cols: usize, row_var: &mut [f32]) {
    for (r, rv) in g.chunks_exact(cols).zip(row_var.iter_mut()) {
        *rv = lerp(*rv, mean_square(sum_squares_inline(&r[..cols]), cols), s.weight);
    }
}
}

fma_kernel! {
/// Updates the column factors `col_var` of the flattened columns `first..first + col_var.len()`
/// (column `j` is column `j % cols` of matrix `j / cols`), each summed down its matrix's rows
/// in order (as [`factored_moments`]) into `col_sums`.
fn column_moments<>(
    s: &Scalars,
    grad: &[f32],
    rows: usize,
    cols: usize,
    first: usize,
    col_var: &mut [f32],
    col_sums: &mut [f32],
) {
    let end = first + col_var.len();
    let mut j = first;
    while j < end {
        let b = j / cols;
        let (lo, hi) = (j - b * cols, (end - b * cols).min(cols));
        let at = j - first;
        let sums = &mut col_sums[at..at + hi - lo];
        sums.fill(0.0);
        let matrix = &grad[b * rows * cols..][..rows * cols];
        for r in matrix.chunks_exact(cols) {
            for (&x, cs) in r[lo..hi].iter().zip(sums.iter_mut()) {
                *cs = x.mul_add(x, *cs);
            }
        }
        for (cv, &sum) in col_var[at..at + hi - lo].iter_mut().zip(sums.iter()) {
            *cv = lerp(*cv, mean_square(sum, rows), s.weight);
        }
        j = b * cols + hi;
    }
}
}

fma_kernel! {
/// Updates `variance` and adds the squares of the update to `update_sq` (signs do not matter:
/// `g * g` and `u * u` are the same for `-g`).
fn full_moments<>(s: &Scalars, grad: &[f32], variance: &mut [f32], update_sq: &mut SquareSums) {
    let variance = &mut variance[..grad.len()];
    for (gb, vb) in grad.chunks(BLOCK).zip(variance.chunks_mut(BLOCK)) {
        let mut u = [0.0f32; BLOCK];
        let u = &mut u[..gb.len()];
        for ((u, &g), v) in u.iter_mut().zip(gb).zip(vb) {
            *v = lerp(*v, g * g, s.weight);
            *u = rsqrt_clamped(s, *v) * g;
        }
        update_sq.add_all(u);
    }
}
}

fma_kernel! {
fn full_apply<const MAXIMIZE: bool, const WD: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    variance: &[f32],
) {
    for ((p, &g), &v) in param.iter_mut().zip(grad).zip(variance) {
        let g = if MAXIMIZE { -g } else { g };
        let u = rsqrt_clamped(s, v) * g;
        let q = if WD { *p * s.decay } else { *p };
        *p = add(q, u, s.scale);
    }
}
}

fma_kernel! {
/// Adds the squares of one matrix's update to `update_sq` (signs do not matter).
fn factored_update_sq<>(
    s: &Scalars,
    grad: &[f32],
    cols: usize,
    row_mean: f32,
    row_var: &[f32],
    col_var: &[f32],
    update_sq: &mut SquareSums,
) {
    let col_var = &col_var[..cols];
    for (r, &rv) in grad.chunks_exact(cols).zip(row_var) {
        for (gb, cb) in r.chunks(BLOCK).zip(col_var.chunks(BLOCK)) {
            let mut u = [0.0f32; BLOCK];
            let u = &mut u[..gb.len()];
            for ((u, &g), &cv) in u.iter_mut().zip(gb).zip(cb) {
                *u = rsqrt_clamped(s, rv * cv / row_mean) * g;
            }
            update_sq.add_all(u);
        }
    }
}
}

fma_kernel! {
fn factored_apply<const MAXIMIZE: bool, const WD: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    cols: usize,
    row_mean: f32,
    row_var: &[f32],
    col_var: &[f32],
) {
    let col_var = &col_var[..cols];
    for ((pr, gr), &rv) in param.chunks_exact_mut(cols).zip(grad.chunks_exact(cols)).zip(row_var) {
        for ((p, &g), &cv) in pr.iter_mut().zip(gr).zip(col_var) {
            let g = if MAXIMIZE { -g } else { g };
            let u = rsqrt_clamped(s, rv * cv / row_mean) * g;
            let q = if WD { *p * s.decay } else { *p };
            *p = add(q, u, s.scale);
        }
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::kernels::reference::{floats, load, Compare};

    fn check(name: &str) {
        let case = load(name);
        let mut cmp = Compare::default();
        let d = AdafactorOptions::default();
        for (gi, g) in case.groups.iter().enumerate() {
            let eps = g.tuple("eps").map_or(d.eps, |t| (t[0], t[1].unwrap()));
            let mut o = AdafactorOptions {
                beta2_decay: g.num("beta2_decay", d.beta2_decay),
                eps,
                d: g.num("d", d.d),
                weight_decay: g.num("weight_decay", d.weight_decay),
                maximize: g.flag("maximize", d.maximize),
                ..d
            };
            let mut p = case.init[gi].clone();
            let mut step = 0.0;
            let factoring = adafactor_factoring(&g.shape);
            let (batch, rows, cols) = factoring.unwrap_or((0, 0, 0));
            let mut variance = vec![0.0; if factoring.is_some() { 0 } else { p.len() }];
            let (mut row_var, mut col_var) = (vec![0.0; batch * rows], vec![0.0; batch * cols]);
            let mut col_sums = vec![0.0f32; cols];
            for e in 0..case.epochs {
                o.lr = case.lr(gi, e);
                let moments = match factoring {
                    None => AdafactorMoments::Full {
                        variance: &mut variance,
                    },
                    Some(_) => AdafactorMoments::Factored {
                        rows,
                        cols,
                        row_var: &mut row_var,
                        col_var: &mut col_var,
                        col_sums: &mut col_sums,
                    },
                };
                let state = AdafactorState {
                    step: &mut step,
                    moments,
                };
                adafactor(&o, &mut p, &case.grads[e][gi], state);
                let want = floats(case.after("params", e, gi));
                cmp.values(&format!("epoch {e} {}", g.name), &p, &want);
            }
        }
        cmp.finish(name);
    }

    #[test]
    fn factoring_follows_the_last_two_dimensions() {
        assert_eq!(adafactor_factoring(&[5]), None);
        assert_eq!(adafactor_factoring(&[]), None);
        assert_eq!(adafactor_factoring(&[4, 3]), Some((1, 4, 3)));
        assert_eq!(adafactor_factoring(&[2, 4, 3]), Some((2, 4, 3)));
    }

    #[test]
    fn adafactor_default() {
        check("adafactor_default");
    }

    #[test]
    fn adafactor_1d_wd_cosine() {
        check("adafactor_1d_wd_cosine");
    }

    #[test]
    fn adafactor_beta2_d_eps() {
        check("adafactor_beta2_d_eps");
    }

    #[test]
    fn adafactor_maximize() {
        check("adafactor_maximize");
    }
}

//! Muon (`torch.optim.Muon`, `_single_tensor_muon`): momentum, then the update orthogonalized
//! by a Newton-Schulz iteration run in bfloat16, as PyTorch runs it.

use super::check_len;
use super::matmul::{matmul, Epilogue, Operand, Packs, Product, BLOCKING};
use crate::optim::ops::{add, f, fma_kernel, lerp};
use crate::optim::threads::Pool;

/// PyTorch's Newton-Schulz coefficients `(a, b, c)` (Keller Jordan's quintic iteration).
pub const MUON_NS_COEFFICIENTS: (f64, f64, f64) = (3.4445, -4.7750, 2.0315);

/// How Muon scales the lr of a `[rows, cols]` parameter's update (`adjust_lr_fn`). Weight
/// decay always uses the unadjusted lr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MuonAdjustLr {
    /// `"original"` (also `None`, the default): `lr * sqrt(max(1, rows / cols))`.
    Original,
    /// `"match_rms_adamw"`: `lr * 0.2 * sqrt(max(rows, cols))`.
    MatchRmsAdamw,
    /// `"spectral_unclamped"`: `lr * sqrt(rows / cols)`.
    SpectralUnclamped,
}

impl MuonAdjustLr {
    /// Every variant's name, as PyTorch spells it.
    pub const NAMES: &'static [&'static str] =
        &["original", "match_rms_adamw", "spectral_unclamped"];

    /// The name PyTorch gives it (`adjust_lr_fn="..."`).
    pub fn name(self) -> &'static str {
        match self {
            MuonAdjustLr::Original => "original",
            MuonAdjustLr::MatchRmsAdamw => "match_rms_adamw",
            MuonAdjustLr::SpectralUnclamped => "spectral_unclamped",
        }
    }

    /// The variant PyTorch names `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            MuonAdjustLr::Original,
            MuonAdjustLr::MatchRmsAdamw,
            MuonAdjustLr::SpectralUnclamped,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// The adjusted lr for a `[rows, cols]` parameter.
    pub fn adjust(self, lr: f64, rows: usize, cols: usize) -> f64 {
        let (a, b) = (rows as f64, cols as f64);
        let ratio = match self {
            MuonAdjustLr::Original => 1.0f64.max(a / b).sqrt(),
            MuonAdjustLr::MatchRmsAdamw => 0.2 * a.max(b).sqrt(),
            MuonAdjustLr::SpectralUnclamped => (a / b).sqrt(),
        };
        lr * ratio
    }
}

/// Muon's options (PyTorch's defaults: lr 1e-3, weight_decay 0.1, momentum 0.95, nesterov
/// true, ns_coefficients [`MUON_NS_COEFFICIENTS`], eps 1e-7, ns_steps 5, adjust_lr_fn
/// original).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MuonOptions {
    pub lr: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub nesterov: bool,
    pub ns_coefficients: (f64, f64, f64),
    pub eps: f64,
    pub ns_steps: usize,
    pub adjust_lr: MuonAdjustLr,
}

impl Default for MuonOptions {
    fn default() -> Self {
        MuonOptions {
            lr: 1e-3,
            weight_decay: 0.1,
            momentum: 0.95,
            nesterov: true,
            ns_coefficients: MUON_NS_COEFFICIENTS,
            eps: 1e-7,
            ns_steps: 5,
            adjust_lr: MuonAdjustLr::Original,
        }
    }
}

/// The work space of one `[rows, cols]` parameter's Newton-Schulz iteration, allocated once
/// with its state (`2 * rows * cols + 2 * min(rows, cols)^2` values, plus the matrix products'
/// packing buffers: up to 4.3 MB per thread for large matrices).
#[derive(Clone, Debug, PartialEq)]
pub struct MuonScratch {
    rows: usize,
    cols: usize,
    /// The iterate, `m x k` with `m = min(rows, cols)` (the update, transposed if tall).
    x: Vec<f32>,
    /// The next iterate.
    next: Vec<f32>,
    /// `x x^T`, `m x m`.
    gram: Vec<f32>,
    /// `b G + c G G`, `m x m`.
    poly: Vec<f32>,
    /// One set of packing buffers per thread the products may use.
    packs: Vec<Packs>,
}

impl MuonScratch {
    pub fn new(rows: usize, cols: usize) -> MuonScratch {
        let m = rows.min(cols);
        MuonScratch {
            rows,
            cols,
            x: vec![0.0; rows * cols],
            next: vec![0.0; rows * cols],
            gram: vec![0.0; m * m],
            poly: vec![0.0; m * m],
            packs: vec![Self::packs(rows, cols)],
        }
    }

    /// Packing buffers for every product of the iteration (`m x m x k`, `m x m x m`,
    /// `m x k x m`).
    fn packs(rows: usize, cols: usize) -> Packs {
        let (m, k) = (rows.min(cols), rows.max(cols));
        Packs::new(BLOCKING, m, k, k)
    }

    /// Makes room for `threads` threads' packing buffers (allocated here, never in a step).
    pub(crate) fn set_threads(&mut self, threads: usize) {
        let threads = threads.max(1);
        if self.packs.len() < threads {
            let packs = Self::packs(self.rows, self.cols);
            self.packs.resize(threads, packs);
        }
    }

    /// The parameter shape this scratch is for.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The last Newton-Schulz output, in the parameter's `[rows, cols]` layout, as
    /// `(row, col) -> value`.
    #[cfg(test)]
    fn output(&self, r: usize, c: usize) -> f32 {
        if self.rows > self.cols {
            self.x[c * self.rows + r]
        } else {
            self.x[r * self.cols + c]
        }
    }
}

/// Muon state of one `[rows, cols]` parameter (PyTorch keeps only the momentum buffer and no
/// step count).
pub struct MuonState<'a> {
    pub momentum_buffer: &'a mut [f32],
    pub scratch: &'a mut MuonScratch,
}

/// One Muon step of a `[rows, cols]` parameter (the shape is the scratch's).
///
/// ```text
/// buf = lerp(buf, g, 1 - momentum);  u = nesterov ? lerp(g, buf, momentum) : buf
/// O = NewtonSchulz(u)                               (bfloat16, see `newton_schulz`)
/// p = p * (1 - lr * weight_decay);  p = p + (-adjust(lr)) * O
/// ```
///
/// # Panics
/// If the lengths do not fit the scratch's shape.
pub fn muon(o: &MuonOptions, param: &mut [f32], grad: &[f32], state: MuonState<'_>) {
    muon_on(o, param, grad, state, None);
}

/// [`muon`] with the Newton-Schulz products shared among the threads of `pool` (up to as many
/// as the scratch has packing buffers for, [`MuonScratch::set_threads`]); the bits are the
/// same whatever the thread count.
pub(crate) fn muon_on(
    o: &MuonOptions,
    param: &mut [f32],
    grad: &[f32],
    state: MuonState<'_>,
    pool: Option<&Pool>,
) {
    let MuonState {
        momentum_buffer,
        scratch,
    } = state;
    let (rows, cols) = scratch.shape();
    check_len(
        rows * cols,
        &[param.len(), grad.len(), momentum_buffer.len()],
    );
    // The update, rounded to bfloat16, goes into the iterate, transposed when the matrix is
    // tall so that the Gram matrix is the small one (through `next`, free until the
    // iteration, so that both loops run over contiguous memory).
    let tall = rows > cols;
    let u = if tall {
        &mut scratch.next
    } else {
        &mut scratch.x
    };
    momentum(o, momentum_buffer, grad, u);
    if tall {
        transpose(&scratch.next, rows, cols, &mut scratch.x);
    }
    newton_schulz(scratch, o.ns_coefficients, o.ns_steps, o.eps, pool);
    let out = if tall {
        transpose(&scratch.x, cols, rows, &mut scratch.next);
        &scratch.next
    } else {
        &scratch.x
    };
    let decay = f(1.0 - o.lr * o.weight_decay);
    let neg_lr = f(-o.adjust_lr.adjust(o.lr, rows, cols));
    apply(param, out, decay, neg_lr);
}

fma_kernel! {
/// Muon's momentum, and the update it gives rounded to bfloat16 into `u`.
fn momentum<>(o: &MuonOptions, buf: &mut [f32], grad: &[f32], u: &mut [f32]) {
    let one_minus_momentum = f(1.0 - o.momentum);
    let momentum = f(o.momentum);
    for ((b, &g), u) in buf.iter_mut().zip(grad).zip(u) {
        *b = lerp(*b, g, one_minus_momentum);
        let v = if o.nesterov {
            lerp(g, *b, momentum)
        } else {
            *b
        };
        *u = bf16(v);
    }
}
}

fma_kernel! {
/// `p = p * decay + neg_lr * out`, PyTorch's `mul_` then `add_`.
fn apply<>(param: &mut [f32], out: &[f32], decay: f32, neg_lr: f32) {
    for (p, &o) in param.iter_mut().zip(out) {
        *p = add(*p * decay, o, neg_lr);
    }
}
}

/// `dst = src^T` for `src` of `rows x cols`, row-major, in tiles of 8 source columns (8
/// destination rows: few enough lines for the cache's ways when `rows` is a power of two) by
/// 16 source rows (a destination line).
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const R: usize = 16;
    const C: usize = 8;
    let (src, dst) = (&src[..rows * cols], &mut dst[..rows * cols]);
    for rb in (0..rows).step_by(R) {
        let re = (rb + R).min(rows);
        for cb in (0..cols).step_by(C) {
            let ce = (cb + C).min(cols);
            for c in cb..ce {
                let d = &mut dst[c * rows + rb..c * rows + re];
                for (r, d) in (rb..re).zip(d) {
                    *d = src[r * cols + c];
                }
            }
        }
    }
}

/// `x` (float32) rounded to the nearest bfloat16, ties to even, as `tensor.to(torch.bfloat16)`.
#[inline(always)]
pub(crate) fn bf16(x: f32) -> f32 {
    if x.is_nan() {
        return f32::from_bits(x.to_bits() | 0x0040_0000);
    }
    let u = u64::from(x.to_bits());
    let rounded = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF_0000;
    f32::from_bits(rounded as u32)
}

/// numpy's pairwise float32 sum (8 accumulators per block of up to 128 values, halves above),
/// the order in which the reference emulation sums the squares for the norm.
fn pairwise_sum(x: &[f32], square: bool) -> f32 {
    let v = |i: usize| if square { x[i] * x[i] } else { x[i] };
    let n = x.len();
    if n < 8 {
        let mut s = 0.0f32;
        for i in 0..n {
            s += v(i);
        }
        s
    } else if n <= 128 {
        let mut r = [0.0f32; 8];
        for (j, rj) in r.iter_mut().enumerate() {
            *rj = v(j);
        }
        let full = n - n % 8;
        for i in (8..full).step_by(8) {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj += v(i + j);
            }
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for i in full..n {
            s += v(i);
        }
        s
    } else {
        let half = n / 2;
        let half = half - half % 8;
        pairwise_sum(&x[..half], square) + pairwise_sum(&x[half..], square)
    }
}

/// PyTorch's `_zeropower_via_newtonschulz` on the iterate in `s.x` (already the bfloat16
/// update, `m x k`, `m <= k`): every bfloat16 operation is computed in float32 and rounded to
/// bfloat16; matrix products accumulate in float32 with fused multiply-adds in index order,
/// and `addmm(C, A, B, beta, alpha)` ends with `fma(beta, C, alpha * (A @ B))`. This
/// reproduces PyTorch's CPU results bit for bit on every recorded call (the README of
/// `tests/conformance` gives the recipe).
///
/// ```text
/// x = x / max(bf16(norm(x)), bf16(eps))
/// repeat ns_steps: G = x x^T;  P = b G + c G G;  x = a x + P x
/// ```
///
/// The products are blocked and packed ([`matmul`]), which keeps every output's chain of fused
/// multiply-adds (so the bits) and runs at matrix-multiply speed, on the threads of `pool` if
/// given.
fn newton_schulz(
    s: &mut MuonScratch,
    coefficients: (f64, f64, f64),
    steps: usize,
    eps: f64,
    pool: Option<&Pool>,
) {
    let (a, b, c) = coefficients;
    let (m, k) = (s.rows.min(s.cols), s.rows.max(s.cols));
    let (a, b, c) = (f(a), f(b), f(c));
    let norm = bf16(pairwise_sum(&s.x, true).sqrt());
    let norm = norm.max(bf16(f(eps)));
    for x in &mut s.x {
        *x = bf16(*x / norm);
    }
    let MuonScratch {
        x,
        next,
        gram,
        poly,
        packs,
        ..
    } = s;
    fn rows(data: &[f32], ld: usize) -> Operand<'_> {
        Operand {
            data,
            ld,
            transposed: false,
        }
    }
    for _ in 0..steps {
        // G = x x^T. Element (j, i) multiplies the same pairs in the same order as (i, j)
        // (multiplication commutes exactly), so the product is symmetric bit for bit and only
        // its upper triangle is computed.
        let gram_product = Product {
            m,
            n: m,
            k,
            a: rows(x, k),
            b: Operand {
                data: x,
                ld: k,
                transposed: true,
            },
            symmetric: true,
            epilogue: Epilogue::Round,
        };
        matmul(&gram_product, gram, packs, pool);
        // P = addmm(G, G, G, beta=b, alpha=c). G is exactly symmetric, so (G G)[j][i]
        // multiplies G[j][l] = G[l][j] by G[l][i] = G[i][l]: the pairs of (i, j), in the
        // same order; P is symmetric too.
        let poly_product = Product {
            m,
            n: m,
            k: m,
            a: rows(gram, m),
            b: rows(gram, m),
            symmetric: true,
            epilogue: Epilogue::Addmm {
                beta: b,
                alpha: c,
                addend: gram,
                ld: m,
            },
        };
        matmul(&poly_product, poly, packs, pool);
        // x' = addmm(x, P, x, beta=a): `a x + 1 * (P x)`, the `1 *` being exact.
        let update = Product {
            m,
            n: k,
            k: m,
            a: rows(poly, m),
            b: rows(x, k),
            symmetric: false,
            epilogue: Epilogue::Addmm {
                beta: a,
                alpha: 1.0,
                addend: x,
                ld: k,
            },
        };
        matmul(&update, next, packs, pool);
        std::mem::swap(x, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::kernels::reference::{floats, load, Compare};

    fn adjust_of(name: Option<&str>) -> MuonAdjustLr {
        match name {
            None | Some("original") => MuonAdjustLr::Original,
            Some("match_rms_adamw") => MuonAdjustLr::MatchRmsAdamw,
            Some("spectral_unclamped") => MuonAdjustLr::SpectralUnclamped,
            Some(other) => panic!("unknown adjust_lr_fn {other}"),
        }
    }

    fn check(name: &str) {
        let case = load(name);
        let mut cmp = Compare::default();
        let mut ns = Compare::default();
        let d = MuonOptions::default();
        for (gi, g) in case.groups.iter().enumerate() {
            let coefficients = g.tuple("ns_coefficients").map_or(d.ns_coefficients, |t| {
                (t[0].unwrap(), t[1].unwrap(), t[2].unwrap())
            });
            let mut o = MuonOptions {
                weight_decay: g.num("weight_decay", d.weight_decay),
                momentum: g.num("momentum", d.momentum),
                nesterov: g.flag("nesterov", d.nesterov),
                ns_coefficients: coefficients,
                eps: g.num("eps", d.eps),
                ns_steps: g.num("ns_steps", d.ns_steps as f64) as usize,
                adjust_lr: adjust_of(g.text("adjust_lr_fn")),
                ..d
            };
            let [rows, cols] = g.shape[..] else {
                panic!("Muon takes 2-D parameters")
            };
            let mut p = case.init[gi].clone();
            let mut buf = vec![0.0; p.len()];
            let mut scratch = MuonScratch::new(rows, cols);
            for e in 0..case.epochs {
                o.lr = case.lr(gi, e);
                let state = MuonState {
                    momentum_buffer: &mut buf,
                    scratch: &mut scratch,
                };
                muon(&o, &mut p, &case.grads[e][gi], state);
                let at = format!("epoch {e} {}", g.name);
                let out: Vec<f32> = (0..rows * cols)
                    .map(|i| scratch.output(i / cols, i % cols))
                    .collect();
                ns.values(
                    &format!("{at} ns_output"),
                    &out,
                    &floats(case.after("ns_output", e, gi)),
                );
                cmp.values(&at, &p, &floats(case.after("params", e, gi)));
            }
        }
        assert_eq!(
            ns.inexact, 0,
            "{name}: the Newton-Schulz output is not bit-exact"
        );
        cmp.finish(name);
    }

    /// Independent dot products computed side by side in the Newton-Schulz products.
    const LANES: usize = 8;

    fma_kernel! {
    /// The Newton-Schulz iteration as it was before the blocked products (`47932d9`): plain
    /// loops of in-order dot products, eight side by side. The blocked one must give its bits.
    fn newton_schulz_in_order<>(s: &mut MuonScratch, coefficients: (f64, f64, f64), steps: usize, eps: f64) {
        let (a, b, c) = coefficients;
        let (m, k) = (s.rows.min(s.cols), s.rows.max(s.cols));
        let (a, b, c) = (f(a), f(b), f(c));
        let norm = bf16(pairwise_sum(&s.x, true).sqrt());
        let norm = norm.max(bf16(f(eps)));
        for x in &mut s.x {
            *x = bf16(*x / norm);
        }
        for _ in 0..steps {
            // G = x x^T (symmetric, computed whole: both halves round alike).
            // Eight dot products at a time: each keeps its own in-order chain of fused
            // multiply-adds (PyTorch's bits), and the eight chains overlap in the pipeline.
            for i in 0..m {
                let xi = &s.x[i * k..][..k];
                let mut j = 0;
                while j + LANES <= m {
                    let mut acc = [0.0f32; LANES];
                    for (l, &p) in xi.iter().enumerate() {
                        for (t, a) in acc.iter_mut().enumerate() {
                            *a = p.mul_add(s.x[(j + t) * k + l], *a);
                        }
                    }
                    for (t, a) in acc.iter().enumerate() {
                        s.gram[i * m + j + t] = bf16(*a);
                    }
                    j += LANES;
                }
                for j in j..m {
                    let xj = &s.x[j * k..][..k];
                    let mut acc = 0.0f32;
                    for (&p, &q) in xi.iter().zip(xj) {
                        acc = p.mul_add(q, acc);
                    }
                    s.gram[i * m + j] = bf16(acc);
                }
            }
            // P = addmm(G, G, G, beta=b, alpha=c); G is symmetric, so (G G)[i][j] pairs row i
            // with row j.
            for i in 0..m {
                let gi = &s.gram[i * m..][..m];
                let mut j = 0;
                while j + LANES <= m {
                    let mut acc = [0.0f32; LANES];
                    for (l, &p) in gi.iter().enumerate() {
                        for (t, a) in acc.iter_mut().enumerate() {
                            *a = p.mul_add(s.gram[(j + t) * m + l], *a);
                        }
                    }
                    for (t, a) in acc.iter().enumerate() {
                        s.poly[i * m + j + t] = bf16(b.mul_add(gi[j + t], c * *a));
                    }
                    j += LANES;
                }
                for j in j..m {
                    let gj = &s.gram[j * m..][..m];
                    let mut acc = 0.0f32;
                    for (&p, &q) in gi.iter().zip(gj) {
                        acc = p.mul_add(q, acc);
                    }
                    s.poly[i * m + j] = bf16(b.mul_add(gi[j], c * acc));
                }
            }
            // x' = addmm(x, P, x, beta=a): row i of P x accumulates P[i][l] * x[l][..] in order l.
            for i in 0..m {
                let next = &mut s.next[i * k..][..k];
                next.fill(0.0);
                for l in 0..m {
                    let pil = s.poly[i * m + l];
                    for (acc, &x) in next.iter_mut().zip(&s.x[l * k..][..k]) {
                        *acc = pil.mul_add(x, *acc);
                    }
                }
                for (acc, &x) in next.iter_mut().zip(&s.x[i * k..][..k]) {
                    *acc = bf16(a.mul_add(x, *acc));
                }
            }
            std::mem::swap(&mut s.x, &mut s.next);
        }
    }
    }

    /// A whole Muon step as it was before the blocked products (`47932d9`), transposes and
    /// all.
    fn muon_in_order(o: &MuonOptions, param: &mut [f32], grad: &[f32], state: MuonState<'_>) {
        let MuonState {
            momentum_buffer,
            scratch,
        } = state;
        let (rows, cols) = scratch.shape();
        let one_minus_momentum = f(1.0 - o.momentum);
        let momentum = f(o.momentum);
        let tall = rows > cols;
        for (i, (b, &g)) in momentum_buffer.iter_mut().zip(grad).enumerate() {
            *b = lerp(*b, g, one_minus_momentum);
            let u = if o.nesterov {
                lerp(g, *b, momentum)
            } else {
                *b
            };
            let at = if tall {
                (i % cols) * rows + i / cols
            } else {
                i
            };
            scratch.x[at] = bf16(u);
        }
        newton_schulz_in_order(scratch, o.ns_coefficients, o.ns_steps, o.eps);
        let decay = f(1.0 - o.lr * o.weight_decay);
        let neg_lr = f(-o.adjust_lr.adjust(o.lr, rows, cols));
        for r in 0..rows {
            for c in 0..cols {
                let p = &mut param[r * cols + c];
                *p = add(*p * decay, scratch.output(r, c), neg_lr);
            }
        }
    }

    /// Deterministic gradients of varied magnitudes.
    fn gradients(n: usize, step: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let v = ((i * 7919 + step * 104_729) % 2003) as f32 / 1001.0 - 1.0;
                v * (1.0 + (i % 7) as f32)
            })
            .collect()
    }

    /// Several steps of the blocked kernel, on 1, 2 and 3 threads (the products split however
    /// small), against the in-order loops: parameters, momentum and the Newton-Schulz output
    /// bit for bit, for wide, tall and square matrices whose sizes cut every tile and block.
    #[test]
    fn blocked_steps_match_the_in_order_loops_bit_for_bit() {
        let pools = [Pool::new(2), Pool::new(3)];
        let shapes = [(1, 1), (3, 7), (7, 3), (16, 16), (33, 100), (300, 97)];
        let o = MuonOptions {
            lr: 0.02,
            ..MuonOptions::default()
        };
        for (rows, cols) in shapes {
            let n = rows * cols;
            let init: Vec<f32> = (0..n).map(|i| ((i % 13) as f32 - 6.0) * 0.05).collect();
            let (mut want_p, mut want_b) = (init.clone(), vec![0.0f32; n]);
            let mut want_s = MuonScratch::new(rows, cols);
            // Per thread count: the pool, parameters, momentum and scratch.
            type Run<'a> = (Option<&'a Pool>, Vec<f32>, Vec<f32>, MuonScratch);
            let mut runs: Vec<Run<'_>> = [None]
                .into_iter()
                .chain(pools.iter().map(Some))
                .map(|pool| {
                    let mut s = MuonScratch::new(rows, cols);
                    s.set_threads(3);
                    (pool, init.clone(), vec![0.0f32; n], s)
                })
                .collect();
            for step in 0..3 {
                let grad = gradients(n, step);
                let state = MuonState {
                    momentum_buffer: &mut want_b,
                    scratch: &mut want_s,
                };
                muon_in_order(&o, &mut want_p, &grad, state);
                for (pool, p, b, s) in &mut runs {
                    let state = MuonState {
                        momentum_buffer: b,
                        scratch: s,
                    };
                    muon_with(&o, p, &grad, state, *pool);
                    let threads = pool.map_or(1, Pool::threads);
                    let at = format!("{rows}x{cols} step {step} on {threads} threads");
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(p), bits(&want_p), "{at}: parameters");
                    assert_eq!(bits(b), bits(&want_b), "{at}: momentum");
                    assert_eq!(bits(&s.x), bits(&want_s.x), "{at}: Newton-Schulz output");
                }
            }
        }
    }

    /// [`muon_on`] with every product split among the pool's threads, however small.
    fn muon_with(
        o: &MuonOptions,
        param: &mut [f32],
        grad: &[f32],
        state: MuonState<'_>,
        pool: Option<&Pool>,
    ) {
        super::super::matmul::force_threads(|| muon_on(o, param, grad, state, pool));
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16(1.0), 1.0);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even 1.
        assert_eq!(bf16(1.0 + 1.0 / 256.0), 1.0);
        assert_eq!(bf16(1.0 + 3.0 / 256.0), 1.0 + 4.0 / 256.0);
        assert!(bf16(f32::NAN).is_nan());
        assert_eq!(bf16(f32::INFINITY), f32::INFINITY);
    }

    #[test]
    fn adjusted_lrs_follow_pytorch() {
        assert_eq!(
            MuonAdjustLr::Original.adjust(0.1, 6, 5),
            0.1 * (6.0f64 / 5.0).sqrt()
        );
        assert_eq!(MuonAdjustLr::Original.adjust(0.1, 3, 7), 0.1);
        assert_eq!(
            MuonAdjustLr::MatchRmsAdamw.adjust(0.1, 3, 7),
            0.1 * 0.2 * 7f64.sqrt()
        );
        assert_eq!(
            MuonAdjustLr::SpectralUnclamped.adjust(0.1, 3, 7),
            0.1 * (3.0f64 / 7.0).sqrt()
        );
    }

    #[test]
    fn muon_default() {
        check("muon_default");
    }

    #[test]
    fn muon_match_rms_adamw() {
        check("muon_match_rms_adamw");
    }

    #[test]
    fn muon_original_schedule() {
        check("muon_original_schedule");
    }
}

//! Muon (`torch.optim.Muon`, `_single_tensor_muon`): momentum, then the update orthogonalized
//! by a Newton-Schulz iteration run in bfloat16, as PyTorch runs it.

use super::check_len;
use crate::optim::ops::{add, f, fma_kernel, lerp};

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
/// with its state (`2 * rows * cols + 2 * min(rows, cols)^2` values).
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
        }
    }

    /// The parameter shape this scratch is for.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The last Newton-Schulz output, in the parameter's `[rows, cols]` layout, as
    /// `(row, col) -> value`.
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
    let MuonState {
        momentum_buffer,
        scratch,
    } = state;
    let (rows, cols) = scratch.shape();
    check_len(
        rows * cols,
        &[param.len(), grad.len(), momentum_buffer.len()],
    );
    let one_minus_momentum = f(1.0 - o.momentum);
    let momentum = f(o.momentum);
    // The update, rounded to bfloat16, goes straight into the iterate (transposed when the
    // matrix is tall, so that the Gram matrix is the small one).
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
    newton_schulz(scratch, o.ns_coefficients, o.ns_steps, o.eps);
    let decay = f(1.0 - o.lr * o.weight_decay);
    let neg_lr = f(-o.adjust_lr.adjust(o.lr, rows, cols));
    for r in 0..rows {
        for c in 0..cols {
            let p = &mut param[r * cols + c];
            *p = add(*p * decay, scratch.output(r, c), neg_lr);
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

/// Independent dot products computed side by side in the Newton-Schulz products.
const LANES: usize = 8;

fma_kernel! {
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
/// (Compiled for AVX2 and FMA where the CPU has them: the dot products' fused multiply-adds,
/// kept in PyTorch's order for its bits, are otherwise calls to the C library's `fmaf`, which
/// made a 4096 x 128 step take 1.6 s instead of PyTorch's 11 ms.)
fn newton_schulz<>(s: &mut MuonScratch, coefficients: (f64, f64, f64), steps: usize, eps: f64) {
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

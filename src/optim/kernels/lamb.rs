//! LAMB (timm's `timm.optim.Lamb`, `_single_tensor_lamb`; not in `torch.optim`).

use super::lion::caution_scale;
use super::{check_len, reduce_blocks, split_pass, Partial, SquareSums, BLOCK, REDUCE_BLOCK};
use crate::optim::ops::{add, addcmul, f, fma_kernel, lerp, specialize};
use crate::optim::threads::Workers;
use std::sync::atomic::{AtomicUsize, Ordering};

/// LAMB's per-group options (timm's defaults: lr 1e-3, bias_correction true, betas
/// (0.9, 0.999), eps 1e-6, weight_decay 0.01, grad_averaging true, trust_clip false,
/// always_adapt false, caution false, decoupled_decay false, corrected_weight_decay false).
/// timm's `max_grad_norm` (default 1.0) is not here: it is read from the constructor only and
/// clips by the norm of all groups' gradients together ([`lamb_clip_factor`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LambOptions {
    pub lr: f64,
    pub bias_correction: bool,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    /// Scale the gradient by `1 - beta1` in the first moment (else by 1).
    pub grad_averaging: bool,
    /// LAMBC: cap the trust ratio at 1.
    pub trust_clip: bool,
    /// Apply the trust ratio also where `weight_decay == 0`.
    pub always_adapt: bool,
    pub caution: bool,
    /// Decay the parameter (`p -= wd_scale * wd * p`) instead of adding `wd * p` to the update.
    pub decoupled_decay: bool,
    /// `corrected_weight_decay` (with `decoupled_decay`): `wd_scale = lr^2 / max_lr`, `max_lr`
    /// being the constructor's lr. `None`: `wd_scale = lr`.
    pub max_lr: Option<f64>,
}

impl Default for LambOptions {
    fn default() -> Self {
        LambOptions {
            lr: 1e-3,
            bias_correction: true,
            betas: (0.9, 0.999),
            eps: 1e-6,
            weight_decay: 0.01,
            grad_averaging: true,
            trust_clip: false,
            always_adapt: false,
            caution: false,
            decoupled_decay: false,
            max_lr: None,
        }
    }
}

/// LAMB state of one parameter.
pub struct LambState<'a> {
    /// The group's step count, already incremented for this step: timm counts steps per
    /// group (a float32 tensor), not per parameter.
    pub step: f32,
    pub exp_avg: &'a mut [f32],
    pub exp_avg_sq: &'a mut [f32],
}

/// The divisor timm applies to every gradient before a step: `max(global_norm /
/// max_grad_norm, 1)`, `global_norm` being the norm of the per-parameter gradient norms
/// ([`l2_norm`](super::l2_norm)) of every group, in float32.
pub fn lamb_clip_factor(grad_norms: impl IntoIterator<Item = f32>, max_grad_norm: f64) -> f32 {
    let sum: f64 = grad_norms
        .into_iter()
        .map(|n| f64::from(n) * f64::from(n))
        .sum();
    let global = sum.sqrt() as f32;
    let clip = global / f(max_grad_norm);
    if clip.is_nan() {
        clip
    } else {
        clip.max(1.0)
    }
}

/// One LAMB step of one parameter. `clip` is [`lamb_clip_factor`] (`None` without
/// `max_grad_norm`). The kernel passes over the tensor once without trust ratio or caution,
/// twice with the trust ratio (the moments and both norms, then the update) and up to three
/// times with caution (the mask's count comes first), recomputing the update in each pass
/// rather than storing it. The norms are summed in fixed blocks ([`REDUCE_BLOCK`] values)
/// added in order, so a threaded step ([`Optimizer::set_threads`](crate::optim::Optimizer::set_threads))
/// gives the same bits.
///
/// ```text
/// g = grad / clip
/// m = grad_averaging ? lerp(m, g, 1 - beta1) : m * beta1 + g;  v = v * beta2 + (1 - beta2) g^2
/// u = (m / bc1) / (sqrt(v) / sqrt(bc2) + eps)            bc = 1 - beta^step, or 1 without bias_correction
/// caution: mask = (u * g > 0);  u = u * (mask / max(mean(mask), 1e-3))
/// wd != 0: decoupled ? p = p - wd_scale * wd * p : u = u + wd * p
/// wd != 0 or always_adapt: u = u * trust,  trust = |p| / |u| (1 if either is 0; capped at 1 with trust_clip)
/// p = p + (-lr) * u
/// ```
pub fn lamb(
    o: &LambOptions,
    clip: Option<f32>,
    param: &mut [f32],
    grad: &[f32],
    state: LambState<'_>,
) {
    lamb_on(
        o,
        clip,
        param,
        grad,
        state,
        &mut [],
        Workers::SERIAL,
        REDUCE_BLOCK,
    );
}

/// The squares of one block of the (decayed) parameter and of its update, for the trust ratio.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LambSums {
    w: SquareSums,
    u: SquareSums,
}

impl Partial for LambSums {
    fn merge(&mut self, other: &Self) {
        self.w.merge(&other.w);
        self.u.merge(&other.u);
    }
}

/// [`lamb`] on `workers`: each pass is split among them in whole blocks of `block` values
/// ([`REDUCE_BLOCK`]; the tests also sum a whole tensor as one block), the norms are summed per
/// block into `sums` (one entry per block, needed only with several workers) and added in block
/// order on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lamb_on(
    o: &LambOptions,
    clip: Option<f32>,
    param: &mut [f32],
    grad: &[f32],
    state: LambState<'_>,
    sums: &mut [LambSums],
    workers: Workers<'_>,
    block: usize,
) {
    let LambState {
        step,
        exp_avg,
        exp_avg_sq,
    } = state;
    let n = param.len();
    check_len(n, &[grad.len(), exp_avg.len(), exp_avg_sq.len()]);
    let step = f64::from(step);
    let (beta1, beta2) = o.betas;
    let beta3 = if o.grad_averaging { 1.0 - beta1 } else { 1.0 };
    let (bc1, bc2) = if o.bias_correction {
        (1.0 - beta1.powf(step), 1.0 - beta2.powf(step))
    } else {
        (1.0, 1.0)
    };
    let wd_scale = match o.max_lr {
        Some(max_lr) if o.decoupled_decay => o.lr.powi(2) / max_lr,
        _ => o.lr,
    };
    let mut s = Scalars {
        clip: clip.unwrap_or(1.0),
        beta1: f(beta1),
        beta3: f(beta3),
        beta2: f(beta2),
        one_minus_beta2: f(1.0 - beta2),
        bc1: f(bc1),
        bc2_sqrt: f(bc2.powf(0.5)),
        eps: f(o.eps),
        wd: f(o.weight_decay),
        neg_decay: f(-wd_scale * o.weight_decay),
        neg_lr: f(-o.lr),
        kept: 1.0,
        trust: 1.0,
    };
    let clipped = clip.is_some();
    // timm takes the lerp form exactly when beta3 == 1 - beta1 (always with grad_averaging).
    let averaging = beta3 == 1.0 - beta1;
    let wd = o.weight_decay != 0.0;
    let decoupled = wd && o.decoupled_decay;
    let coupled = wd && !o.decoupled_decay;
    let adapt = wd || o.always_adapt;
    let trust = |s: &mut Scalars, sums: LambSums| {
        let w_norm = sums.w.total().sqrt() as f32;
        let u_norm = sums.u.total().sqrt() as f32;
        let ratio = w_norm / u_norm;
        let ratio = if w_norm > 0.0 && u_norm > 0.0 {
            ratio
        } else {
            1.0
        };
        s.trust = if o.trust_clip && ratio > 1.0 {
            1.0
        } else {
            ratio
        };
    };
    // The parameter is read and written once in the last pass; every pass before it reads it
    // at most (a decoupled decay is recomputed where it is needed rather than stored).
    match (o.caution, adapt) {
        (false, false) => {
            let s = &s;
            split_pass(
                workers,
                n,
                block,
                (param, grad, exp_avg, exp_avg_sq),
                &|_, (p, g, m, v)| {
                    specialize!(moments_apply(s, p, g, m, v)[clipped, averaging][]);
                },
            );
        }
        (false, true) => {
            let total = {
                let s = &s;
                reduce_blocks(
                    workers,
                    n,
                    block,
                    (&*param, grad, &mut *exp_avg, &mut *exp_avg_sq),
                    sums,
                    &|_, (p, g, m, v)| {
                        let mut b = LambSums::default();
                        specialize!(moments_norms(s, p, g, m, v, &mut b.w, &mut b.u)
                            [clipped, averaging, coupled, decoupled][]);
                        b
                    },
                )
            };
            trust(&mut s, total);
            let s = &s;
            split_pass(
                workers,
                n,
                block,
                (param, grad, &*exp_avg, &*exp_avg_sq),
                &|_, (p, g, m, v)| {
                    specialize!(apply(s, p, g, m, v)[clipped, false, coupled, decoupled, true][]);
                },
            );
        }
        (true, _) => {
            // A count is exact in any order: the threads' counts are simply added.
            let count = AtomicUsize::new(0);
            {
                let s = &s;
                split_pass(
                    workers,
                    n,
                    block,
                    (grad, &mut *exp_avg, &mut *exp_avg_sq),
                    &|_, (g, m, v)| {
                        let c = specialize!(moments_count(s, g, m, v)[clipped, averaging][]);
                        count.fetch_add(c, Ordering::Relaxed);
                    },
                );
            }
            s.kept = 1.0 / caution_scale(count.into_inner(), n);
            if adapt {
                let total = {
                    let s = &s;
                    reduce_blocks(
                        workers,
                        n,
                        block,
                        (&*param, grad, &*exp_avg, &*exp_avg_sq),
                        sums,
                        &|_, (p, g, m, v)| {
                            let mut b = LambSums::default();
                            specialize!(norms(s, p, g, m, v, &mut b.w, &mut b.u)
                                [clipped, coupled, decoupled][]);
                            b
                        },
                    )
                };
                trust(&mut s, total);
            }
            let s = &s;
            split_pass(
                workers,
                n,
                block,
                (param, grad, &*exp_avg, &*exp_avg_sq),
                &|_, (p, g, m, v)| {
                    specialize!(apply(s, p, g, m, v)[clipped, true, coupled, decoupled, adapt][]);
                },
            );
        }
    }
}

struct Scalars {
    clip: f32,
    beta1: f32,
    beta3: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bc1: f32,
    bc2_sqrt: f32,
    eps: f32,
    wd: f32,
    neg_decay: f32,
    neg_lr: f32,
    /// `1 / max(mean(mask), 1e-3)` with caution.
    kept: f32,
    /// The trust ratio, once known.
    trust: f32,
}

#[inline(always)]
fn clipped_grad<const CLIPPED: bool>(s: &Scalars, g: f32) -> f32 {
    if CLIPPED {
        g / s.clip
    } else {
        g
    }
}

/// The update from the (already updated) moments, before weight decay and the trust ratio.
#[inline(always)]
fn update<const CAUTION: bool>(s: &Scalars, g: f32, m: f32, v: f32) -> f32 {
    let denom = v.sqrt() / s.bc2_sqrt + s.eps;
    let u = (m / s.bc1) / denom;
    if CAUTION {
        u * if u * g > 0.0 { s.kept } else { 0.0 }
    } else {
        u
    }
}

/// `m` and `v` updated from the (clipped) gradient `g`.
#[inline(always)]
fn moment<const AVERAGING: bool>(s: &Scalars, g: f32, m: f32, v: f32) -> (f32, f32) {
    let m = if AVERAGING {
        lerp(m, g, s.beta3)
    } else {
        add(m * s.beta1, g, s.beta3)
    };
    (m, addcmul(v * s.beta2, g, g, s.one_minus_beta2))
}

/// The parameter after a decoupled decay (`p - wd_scale * wd * p`), or as it is.
#[inline(always)]
fn decayed<const DECOUPLED: bool>(s: &Scalars, p: f32) -> f32 {
    if DECOUPLED {
        add(p, p, s.neg_decay)
    } else {
        p
    }
}

/// The update with the coupled weight decay, before the trust ratio.
#[inline(always)]
fn decayed_update<const CAUTION: bool, const COUPLED: bool>(
    s: &Scalars,
    p: f32,
    g: f32,
    m: f32,
    v: f32,
) -> f32 {
    let u = update::<CAUTION>(s, g, m, v);
    if COUPLED {
        add(u, p, s.wd)
    } else {
        u
    }
}

fma_kernel! {
/// The whole step in one pass, without caution or trust ratio.
fn moments_apply<const CLIPPED: bool, const AVERAGING: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32],
) {
    let n = param.len();
    let (grad, exp_avg, exp_avg_sq) = (&grad[..n], &mut exp_avg[..n], &mut exp_avg_sq[..n]);
    for i in 0..n {
        let g = clipped_grad::<CLIPPED>(s, grad[i]);
        let (m, v) = moment::<AVERAGING>(s, g, exp_avg[i], exp_avg_sq[i]);
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        param[i] = add(param[i], update::<false>(s, g, m, v), s.neg_lr);
    }
}
}

fma_kernel! {
/// The moments, and the squared norms of the (decayed) parameter and of the update, without
/// caution. The update's values are computed a block at a time, then summed (see [`BLOCK`]).
fn moments_norms<const CLIPPED: bool, const AVERAGING: bool, const COUPLED: bool, const DECOUPLED: bool>(
    s: &Scalars,
    param: &[f32],
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32],
    w_sq: &mut SquareSums,
    u_sq: &mut SquareSums,
) {
    let n = param.len();
    let (grad, exp_avg, exp_avg_sq) = (&grad[..n], &mut exp_avg[..n], &mut exp_avg_sq[..n]);
    let mut start = 0;
    while start < n {
        let len = BLOCK.min(n - start);
        let (mut ub, mut wb) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        let (ub, wb) = (&mut ub[..len], &mut wb[..len]);
        let pb = &param[start..start + len];
        let gb = &grad[start..start + len];
        let mb = &mut exp_avg[start..start + len];
        let vb = &mut exp_avg_sq[start..start + len];
        for i in 0..len {
            let g = clipped_grad::<CLIPPED>(s, gb[i]);
            let (m, v) = moment::<AVERAGING>(s, g, mb[i], vb[i]);
            mb[i] = m;
            vb[i] = v;
            let p = decayed::<DECOUPLED>(s, pb[i]);
            wb[i] = p;
            ub[i] = decayed_update::<false, COUPLED>(s, p, g, m, v);
        }
        w_sq.add_all(if DECOUPLED { wb } else { pb });
        u_sq.add_all(ub);
        start += len;
    }
}
}

fma_kernel! {
/// The moments, and how many values of the update agree in sign with the gradient
/// (caution's mask needs the unmasked update of the whole tensor).
fn moments_count<const CLIPPED: bool, const AVERAGING: bool>(
    s: &Scalars,
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32],
) -> usize {
    let n = grad.len();
    let (exp_avg, exp_avg_sq) = (&mut exp_avg[..n], &mut exp_avg_sq[..n]);
    let mut count = 0;
    for i in 0..n {
        let g = clipped_grad::<CLIPPED>(s, grad[i]);
        let (m, v) = moment::<AVERAGING>(s, g, exp_avg[i], exp_avg_sq[i]);
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        count += usize::from(update::<false>(s, g, m, v) * g > 0.0);
    }
    count
}
}

fma_kernel! {
/// The squared norms of the (decayed) parameter and of the masked update, with caution.
fn norms<const CLIPPED: bool, const COUPLED: bool, const DECOUPLED: bool>(
    s: &Scalars,
    param: &[f32],
    grad: &[f32],
    exp_avg: &[f32],
    exp_avg_sq: &[f32],
    w_sq: &mut SquareSums,
    u_sq: &mut SquareSums,
) {
    let n = param.len();
    let (grad, exp_avg, exp_avg_sq) = (&grad[..n], &exp_avg[..n], &exp_avg_sq[..n]);
    let mut start = 0;
    while start < n {
        let len = BLOCK.min(n - start);
        let (mut ub, mut wb) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        let (ub, wb) = (&mut ub[..len], &mut wb[..len]);
        let pb = &param[start..start + len];
        for i in 0..len {
            let j = start + i;
            let g = clipped_grad::<CLIPPED>(s, grad[j]);
            let p = decayed::<DECOUPLED>(s, pb[i]);
            wb[i] = p;
            ub[i] = decayed_update::<true, COUPLED>(s, p, g, exp_avg[j], exp_avg_sq[j]);
        }
        w_sq.add_all(if DECOUPLED { wb } else { pb });
        u_sq.add_all(ub);
        start += len;
    }
}
}

fma_kernel! {
/// The last pass: the parameter decayed (decoupled) and moved by the (masked, decayed,
/// trust-scaled) update.
fn apply<const CLIPPED: bool, const CAUTION: bool, const COUPLED: bool, const DECOUPLED: bool, const ADAPT: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &[f32],
    exp_avg_sq: &[f32],
) {
    let n = param.len();
    let (grad, exp_avg, exp_avg_sq) = (&grad[..n], &exp_avg[..n], &exp_avg_sq[..n]);
    for i in 0..n {
        let g = clipped_grad::<CLIPPED>(s, grad[i]);
        let p = decayed::<DECOUPLED>(s, param[i]);
        let mut u = decayed_update::<CAUTION, COUPLED>(s, p, g, exp_avg[i], exp_avg_sq[i]);
        if ADAPT {
            u *= s.trust;
        }
        param[i] = add(p, u, s.neg_lr);
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::kernels::l2_norm;
    use crate::optim::kernels::reference::{floats, load, Compare};

    fn check(name: &str) {
        let case = load(name);
        let mut cmp = Compare::default();
        let d = LambOptions::default();
        let max_lr = case.constructor_lr(d.lr);
        let max_grad_norm = match case.defaults.get("max_grad_norm") {
            None => Some(1.0),
            Some(v) => v.as_f64(),
        };
        let groups: Vec<LambOptions> = case
            .groups
            .iter()
            .map(|g| LambOptions {
                bias_correction: g.flag("bias_correction", d.bias_correction),
                betas: g.pair("betas", d.betas),
                eps: g.num("eps", d.eps),
                weight_decay: g.num("weight_decay", d.weight_decay),
                grad_averaging: g.flag("grad_averaging", d.grad_averaging),
                trust_clip: g.flag("trust_clip", d.trust_clip),
                always_adapt: g.flag("always_adapt", d.always_adapt),
                caution: g.flag("caution", d.caution),
                decoupled_decay: g.flag("decoupled_decay", d.decoupled_decay),
                max_lr: g.flag("corrected_weight_decay", false).then_some(max_lr),
                ..d
            })
            .collect();
        let mut params = case.init.clone();
        let mut moments: Vec<(Vec<f32>, Vec<f32>)> = params
            .iter()
            .map(|p| (vec![0.0; p.len()], vec![0.0; p.len()]))
            .collect();
        for e in 0..case.epochs {
            let grads = &case.grads[e];
            let clip =
                max_grad_norm.map(|max| lamb_clip_factor(grads.iter().map(|g| l2_norm(g)), max));
            for (gi, o) in groups.iter().enumerate() {
                let o = LambOptions {
                    lr: case.lr(gi, e),
                    ..*o
                };
                let (m, v) = &mut moments[gi];
                let state = LambState {
                    step: (e + 1) as f32,
                    exp_avg: m,
                    exp_avg_sq: v,
                };
                lamb(&o, clip, &mut params[gi], &grads[gi], state);
                let want = floats(case.after("params", e, gi));
                let at = format!("epoch {e} {}", case.groups[gi].name);
                cmp.values(&at, &params[gi], &want);
            }
        }
        cmp.finish(name);
    }

    #[test]
    fn lamb_default() {
        check("lamb_default");
    }

    #[test]
    fn lamb_options_warmup() {
        check("lamb_options_warmup");
    }

    #[test]
    fn lamb_clip_caution() {
        check("lamb_clip_caution");
    }
}

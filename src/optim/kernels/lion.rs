//! Lion (timm's `timm.optim.Lion`, `_single_tensor_lion`; not in `torch.optim`).

use super::{check_len, split_pass, REDUCE_BLOCK};
use crate::optim::ops::{add, f, fma_kernel, lerp, specialize};
use crate::optim::threads::Workers;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Lion's options (timm's defaults: lr 1e-4, betas (0.9, 0.99), weight_decay 0, caution false,
/// maximize false, corrected_weight_decay false).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LionOptions {
    pub lr: f64,
    pub betas: (f64, f64),
    pub weight_decay: f64,
    /// "Cautious Optimizers": zero the update where its sign disagrees with the gradient's,
    /// rescaling the rest by the fraction kept.
    pub caution: bool,
    pub maximize: bool,
    /// `corrected_weight_decay`: the decay uses `lr^2 / max_lr` instead of `lr`, with `max_lr`
    /// the lr given to the constructor (timm snapshots `self.defaults['lr']`, also for a group
    /// with its own lr). `None`: plain decay.
    pub max_lr: Option<f64>,
}

impl Default for LionOptions {
    fn default() -> Self {
        LionOptions {
            lr: 1e-4,
            betas: (0.9, 0.99),
            weight_decay: 0.0,
            caution: false,
            maximize: false,
            max_lr: None,
        }
    }
}

/// Lion state of one parameter (timm keeps no step count).
pub struct LionState<'a> {
    pub exp_avg: &'a mut [f32],
}

/// One Lion step. With `caution` this reads the tensor twice: the mask's mean is a reduction
/// over the whole tensor (a count of agreeing signs, exact in any order, so a threaded step
/// gives the same bits).
///
/// ```text
/// g = maximize ? -grad : grad
/// p = p * (1 - wd_scale * weight_decay)          wd_scale = max_lr ? lr^2 / max_lr : lr
/// u = sign(m * beta1 + (1 - beta1) * g)
/// caution: mask = (u * g > 0);  u = u * (mask / max(mean(mask), 1e-3))
/// p = p + (-lr) * u;  m = lerp(m, g, 1 - beta2)
/// ```
pub fn lion(o: &LionOptions, param: &mut [f32], grad: &[f32], state: LionState<'_>) {
    lion_on(o, param, grad, state, Workers::SERIAL);
}

/// [`lion`] with each pass split among `workers` (the threads' counts of agreeing signs are
/// added: integers, exact in any order).
pub(crate) fn lion_on(
    o: &LionOptions,
    param: &mut [f32],
    grad: &[f32],
    state: LionState<'_>,
    workers: Workers<'_>,
) {
    let LionState { exp_avg } = state;
    let n = param.len();
    check_len(n, &[grad.len(), exp_avg.len()]);
    let (beta1, beta2) = o.betas;
    let wd_scale = o.max_lr.map_or(o.lr, |max_lr| o.lr.powi(2) / max_lr);
    let mut s = Scalars {
        decay: f(1.0 - wd_scale * o.weight_decay),
        beta1: f(beta1),
        one_minus_beta1: f(1.0 - beta1),
        one_minus_beta2: f(1.0 - beta2),
        neg_lr: f(-o.lr),
        kept: 1.0,
    };
    if o.caution {
        let count = AtomicUsize::new(0);
        {
            let s = &s;
            split_pass(workers, n, REDUCE_BLOCK, (grad, &*exp_avg), &|_, (g, m)| {
                let c = specialize!(agreeing(s, g, m)[o.maximize][]);
                count.fetch_add(c, Ordering::Relaxed);
            });
        }
        s.kept = 1.0 / caution_scale(count.into_inner(), n);
    }
    let s = &s;
    split_pass(workers, n, REDUCE_BLOCK, (param, grad, exp_avg), &|_,
                                                                   (
        p,
        g,
        m,
    )| {
        specialize!(run(s, p, g, m)[o.maximize, o.caution][]);
    });
}

/// `mask.mean().clamp_(min=1e-3)` for a 0/1 mask with `count` ones out of `n`: PyTorch's CPU
/// mean is the float32 sum divided by `n` in float32.
pub(crate) fn caution_scale(count: usize, n: usize) -> f32 {
    let mean = count as f32 / n as f32;
    if mean.is_nan() {
        mean
    } else {
        mean.max(f(1e-3))
    }
}

struct Scalars {
    decay: f32,
    beta1: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    neg_lr: f32,
    /// `1 / max(mean(mask), 1e-3)` with caution, else unused.
    kept: f32,
}

#[inline(always)]
fn sign(x: f32) -> f32 {
    f32::from(u8::from(x > 0.0)) - f32::from(u8::from(x < 0.0))
}

#[inline(always)]
fn update<const MAXIMIZE: bool>(s: &Scalars, g: f32, m: f32) -> (f32, f32) {
    let g = if MAXIMIZE { -g } else { g };
    (g, sign(add(m * s.beta1, g, s.one_minus_beta1)))
}

fma_kernel! {
fn agreeing<const MAXIMIZE: bool>(s: &Scalars, grad: &[f32], exp_avg: &[f32]) -> usize {
    let mut count = 0usize;
    for (&g, &m) in grad.iter().zip(exp_avg.iter()) {
        let (g, u) = update::<MAXIMIZE>(s, g, m);
        count += usize::from(u * g > 0.0);
    }
    count
}
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const CAUTION: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &mut [f32],
) {
    for ((p, &g), m) in param.iter_mut().zip(grad).zip(exp_avg.iter_mut()) {
        let (g, mut u) = update::<MAXIMIZE>(s, g, *m);
        if CAUTION {
            let mask = if u * g > 0.0 { s.kept } else { 0.0 };
            u *= mask;
        }
        *p = add(*p * s.decay, u, s.neg_lr);
        *m = lerp(*m, g, s.one_minus_beta2);
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
        let d = LionOptions::default();
        let max_lr = case.constructor_lr(d.lr);
        for (gi, g) in case.groups.iter().enumerate() {
            let mut o = LionOptions {
                betas: g.pair("betas", d.betas),
                weight_decay: g.num("weight_decay", d.weight_decay),
                caution: g.flag("caution", d.caution),
                maximize: g.flag("maximize", d.maximize),
                max_lr: g.flag("corrected_weight_decay", false).then_some(max_lr),
                ..d
            };
            let mut p = case.init[gi].clone();
            let mut m = vec![0.0; p.len()];
            for e in 0..case.epochs {
                o.lr = case.lr(gi, e);
                lion(
                    &o,
                    &mut p,
                    &case.grads[e][gi],
                    LionState { exp_avg: &mut m },
                );
                let want = floats(case.after("params", e, gi));
                cmp.values(&format!("epoch {e} {}", g.name), &p, &want);
            }
        }
        cmp.finish(name);
    }

    #[test]
    fn lion_default() {
        check("lion_default");
    }

    #[test]
    fn lion_corrected_wd_cosine() {
        check("lion_corrected_wd_cosine");
    }

    #[test]
    fn lion_caution() {
        check("lion_caution");
    }
}

//! SGD (`torch.optim.SGD`, `_single_tensor_sgd`).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, f, fma_kernel, specialize};

/// SGD state of one parameter.
pub enum SgdState<'a> {
    /// `momentum == 0`: no state is read or written.
    NoMomentum,
    /// PyTorch's `momentum_buffer is None`: this step sets the buffer to the (decayed)
    /// gradient, `torch.clone(grad)`, without the momentum/dampening update.
    FirstMomentum(&'a mut [f32]),
    /// An existing momentum buffer: `buf.mul_(momentum).add_(grad, alpha=1 - dampening)`.
    Momentum(&'a mut [f32]),
}

/// One SGD step over `param` with gradient `grad`, using `lr`, `momentum`, `dampening`,
/// `weight_decay` (coupled), `nesterov` and `maximize` from `hp`. With `momentum != 0` the
/// caller passes the buffer (see [`SgdState`]); with `momentum == 0` it passes
/// [`SgdState::NoMomentum`].
///
/// ```text
/// g = maximize ? -grad : grad
/// if weight_decay != 0: g = g + weight_decay * p
/// if momentum != 0:
///     buf = first ? g : buf * momentum + (1 - dampening) * g
///     g = nesterov ? g + momentum * buf : buf
/// p = p + (-lr) * g
/// ```
pub fn sgd(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: SgdState<'_>) {
    let s = Scalars {
        wd: f(hp.weight_decay),
        momentum: f(hp.momentum),
        keep: f(1.0 - hp.dampening),
        neg_lr: f(-hp.lr),
    };
    let wd = hp.weight_decay != 0.0;
    match state {
        SgdState::NoMomentum => {
            check_len(param.len(), &[grad.len()]);
            specialize!(plain(&s, param, grad)[hp.maximize, wd][])
        }
        SgdState::FirstMomentum(buf) => {
            check_len(param.len(), &[grad.len(), buf.len()]);
            specialize!(momentum(&s, param, grad, buf)[hp.maximize, wd, true, hp.nesterov][])
        }
        SgdState::Momentum(buf) => {
            check_len(param.len(), &[grad.len(), buf.len()]);
            specialize!(momentum(&s, param, grad, buf)[hp.maximize, wd, false, hp.nesterov][])
        }
    }
}

struct Scalars {
    wd: f32,
    momentum: f32,
    keep: f32,
    neg_lr: f32,
}

#[inline(always)]
fn grad_of<const MAXIMIZE: bool, const WD: bool>(s: &Scalars, p: f32, g: f32) -> f32 {
    let g = if MAXIMIZE { -g } else { g };
    if WD {
        add(g, p, s.wd)
    } else {
        g
    }
}

fma_kernel! {
fn plain<const MAXIMIZE: bool, const WD: bool>(s: &Scalars, param: &mut [f32], grad: &[f32]) {
    for (p, &g) in param.iter_mut().zip(grad) {
        let g = grad_of::<MAXIMIZE, WD>(s, *p, g);
        *p = add(*p, g, s.neg_lr);
    }
}
}

fma_kernel! {
fn momentum<const MAXIMIZE: bool, const WD: bool, const FIRST: bool, const NESTEROV: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    buf: &mut [f32],
) {
    for ((p, &g), b) in param.iter_mut().zip(grad).zip(buf.iter_mut()) {
        let g = grad_of::<MAXIMIZE, WD>(s, *p, g);
        *b = if FIRST {
            g
        } else {
            add(*b * s.momentum, g, s.keep)
        };
        let d = if NESTEROV { add(g, *b, s.momentum) } else { *b };
        *p = add(*p, d, s.neg_lr);
    }
}
}

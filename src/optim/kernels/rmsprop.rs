//! RMSprop (`torch.optim.RMSprop`, `_single_tensor_rmsprop`).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, addcdiv, addcmul, f, fma_kernel, lerp, specialize};

/// RMSprop state of one parameter.
pub struct RmsPropState<'a> {
    /// PyTorch's float32 `step` tensor (counted, unused by the arithmetic).
    pub step: &'a mut f32,
    pub square_avg: &'a mut [f32],
    /// Required when `momentum > 0`, ignored otherwise.
    pub momentum_buffer: Option<&'a mut [f32]>,
    /// Required when `centered`, ignored otherwise.
    pub grad_avg: Option<&'a mut [f32]>,
}

/// One RMSprop step.
///
/// ```text
/// g = maximize ? -grad : grad;  if weight_decay != 0: g = g + wd * p
/// sq = sq * alpha + (1 - alpha) * g * g
/// centered: ga = lerp(ga, g, 1 - alpha); avg = sqrt(sq - ga * ga) + eps
/// else:     avg = sqrt(sq) + eps
/// momentum > 0: buf = buf * momentum + g / avg; p = p + (-lr) * buf
/// else:         p = p + (-lr) * g / avg
/// ```
///
/// # Panics
/// If `momentum > 0` without a momentum buffer, `centered` without `grad_avg`, or if lengths
/// differ.
pub fn rmsprop(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: RmsPropState<'_>) {
    let RmsPropState {
        step,
        square_avg,
        momentum_buffer,
        grad_avg,
    } = state;
    *step += 1.0;
    let s = Scalars {
        wd: f(hp.weight_decay),
        alpha: f(hp.alpha),
        one_minus_alpha: f(1.0 - hp.alpha),
        eps: f(hp.eps),
        momentum: f(hp.momentum),
        neg_lr: f(-hp.lr),
    };
    let n = param.len();
    let mut none_b: [f32; 0] = [];
    let mut none_g: [f32; 0] = [];
    let with_momentum = hp.momentum > 0.0;
    let buf: &mut [f32] = if with_momentum {
        momentum_buffer.expect("RMSprop with momentum > 0 needs a momentum buffer")
    } else {
        &mut none_b
    };
    let ga: &mut [f32] = if hp.centered {
        grad_avg.expect("centered RMSprop needs grad_avg")
    } else {
        &mut none_g
    };
    check_len(n, &[grad.len(), square_avg.len()]);
    if with_momentum {
        check_len(n, &[buf.len()]);
    }
    if hp.centered {
        check_len(n, &[ga.len()]);
    }
    let wd = hp.weight_decay != 0.0;
    specialize!(run(&s, param, grad, square_avg, buf, ga)
        [hp.maximize, wd, hp.centered, with_momentum][])
}

struct Scalars {
    wd: f32,
    alpha: f32,
    one_minus_alpha: f32,
    eps: f32,
    momentum: f32,
    neg_lr: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const WD: bool, const CENTERED: bool, const MOMENTUM: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    square_avg: &mut [f32],
    buf: &mut [f32],
    grad_avg: &mut [f32],
) {
    let n = param.len();
    let (grad, square_avg) = (&grad[..n], &mut square_avg[..n]);
    let buf = if MOMENTUM { &mut buf[..n] } else { buf };
    let grad_avg = if CENTERED {
        &mut grad_avg[..n]
    } else {
        grad_avg
    };
    for i in 0..n {
        let p = param[i];
        let mut g = if MAXIMIZE { -grad[i] } else { grad[i] };
        if WD {
            g = add(g, p, s.wd);
        }
        let sq = addcmul(square_avg[i] * s.alpha, g, g, s.one_minus_alpha);
        square_avg[i] = sq;
        let avg = if CENTERED {
            let ga = lerp(grad_avg[i], g, s.one_minus_alpha);
            grad_avg[i] = ga;
            addcmul(sq, ga, ga, -1.0).sqrt()
        } else {
            sq.sqrt()
        };
        let avg = avg + s.eps;
        if MOMENTUM {
            let b = addcdiv(buf[i] * s.momentum, g, avg, 1.0);
            buf[i] = b;
            param[i] = add(p, b, s.neg_lr);
        } else {
            param[i] = addcdiv(p, g, avg, s.neg_lr);
        }
    }
}
}

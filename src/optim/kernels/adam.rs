//! Adam and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`, `_single_tensor_adam`).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, addcdiv, addcmul, f, fma_kernel, lerp, maximum, specialize};

/// Adam / AdamW state of one parameter.
pub struct AdamState<'a> {
    /// PyTorch's float32 `step` tensor; incremented by the kernel.
    pub step: &'a mut f32,
    pub exp_avg: &'a mut [f32],
    pub exp_avg_sq: &'a mut [f32],
    /// Present exactly when `amsgrad` is on.
    pub max_exp_avg_sq: Option<&'a mut [f32]>,
}

/// One Adam step. `hp.decoupled_weight_decay` selects AdamW's decay (`p *= 1 - lr * wd` before
/// the update) instead of Adam's L2 term added to the gradient; AdamW is this kernel with that
/// flag set, as in PyTorch. `amsgrad` is on exactly when `state.max_exp_avg_sq` is given.
///
/// ```text
/// step += 1
/// g = maximize ? -grad : grad
/// if weight_decay != 0: decoupled ? p *= 1 - lr*wd : g = g + wd * p
/// m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
/// vmax = max(vmax, v)                                    (amsgrad)
/// p = p + (-lr / (1 - beta1^step)) * m / (sqrt(v or vmax) / sqrt(1 - beta2^step) + eps)
/// ```
pub fn adam(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: AdamState<'_>) {
    let AdamState {
        step: step_t,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq,
    } = state;
    *step_t += 1.0;
    let step = f64::from(*step_t);
    let (beta1, beta2) = hp.betas;
    let bias_correction1 = 1.0 - beta1.powf(step);
    let bias_correction2 = 1.0 - beta2.powf(step);
    let step_size = hp.lr / bias_correction1;
    let s = Scalars {
        decay: f(1.0 - hp.lr * hp.weight_decay),
        wd: f(hp.weight_decay),
        one_minus_beta1: f(1.0 - beta1),
        beta2: f(beta2),
        one_minus_beta2: f(1.0 - beta2),
        bias_correction2_sqrt: f(bias_correction2.powf(0.5)),
        eps: f(hp.eps),
        neg_step_size: f(-step_size),
    };
    let n = param.len();
    let wd = hp.weight_decay != 0.0;
    let decoupled = wd && hp.decoupled_weight_decay;
    let coupled = wd && !hp.decoupled_weight_decay;
    match max_exp_avg_sq {
        None => {
            check_len(n, &[grad.len(), exp_avg.len(), exp_avg_sq.len()]);
            let mut none: [f32; 0] = [];
            specialize!(run(&s, param, grad, exp_avg, exp_avg_sq, &mut none)
                [hp.maximize, coupled, decoupled, false][])
        }
        Some(vmax) => {
            check_len(
                n,
                &[grad.len(), exp_avg.len(), exp_avg_sq.len(), vmax.len()],
            );
            specialize!(run(&s, param, grad, exp_avg, exp_avg_sq, vmax)
                [hp.maximize, coupled, decoupled, true][])
        }
    }
}

struct Scalars {
    decay: f32,
    wd: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bias_correction2_sqrt: f32,
    eps: f32,
    neg_step_size: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const COUPLED: bool, const DECOUPLED: bool, const AMSGRAD: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32],
    max_exp_avg_sq: &mut [f32],
) {
    let n = param.len();
    let (grad, exp_avg, exp_avg_sq) = (&grad[..n], &mut exp_avg[..n], &mut exp_avg_sq[..n]);
    let max_exp_avg_sq = if AMSGRAD {
        &mut max_exp_avg_sq[..n]
    } else {
        max_exp_avg_sq
    };
    for i in 0..n {
        let mut p = param[i];
        let mut g = if MAXIMIZE { -grad[i] } else { grad[i] };
        if DECOUPLED {
            p *= s.decay;
        }
        if COUPLED {
            g = add(g, p, s.wd);
        }
        let m = lerp(exp_avg[i], g, s.one_minus_beta1);
        let v = addcmul(exp_avg_sq[i] * s.beta2, g, g, s.one_minus_beta2);
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        let v = if AMSGRAD {
            let vmax = maximum(max_exp_avg_sq[i], v);
            max_exp_avg_sq[i] = vmax;
            vmax
        } else {
            v
        };
        let denom = v.sqrt() / s.bias_correction2_sqrt + s.eps;
        param[i] = addcdiv(p, m, denom, s.neg_step_size);
    }
}
}

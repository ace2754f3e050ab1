//! RAdam (`torch.optim.RAdam`, `_single_tensor_radam`).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, addcmul, f, fma_kernel, lerp, specialize};

/// RAdam state of one parameter.
pub struct RAdamState<'a> {
    /// PyTorch's float32 `step` tensor; incremented by the kernel.
    pub step: &'a mut f32,
    pub exp_avg: &'a mut [f32],
    pub exp_avg_sq: &'a mut [f32],
}

/// One RAdam step: Adam's moments with the variance rectification term once the approximated
/// SMA length `rho_t` exceeds 5, plain bias-corrected momentum before that.
///
/// ```text
/// step += 1;  g = maximize ? -grad : grad
/// if weight_decay != 0: decoupled ? p *= 1 - lr*wd : g = g + wd * p
/// m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
/// rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 step beta2^step / (1 - beta2^step)
/// rho_t > 5: p = p - m / bc1 * lr * (1 / (sqrt(v) + eps) * sqrt(bc2)) * rect
/// else:      p = p - m / bc1 * lr
/// ```
pub fn radam(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: RAdamState<'_>) {
    let RAdamState {
        step: step_t,
        exp_avg,
        exp_avg_sq,
    } = state;
    check_len(param.len(), &[grad.len(), exp_avg.len(), exp_avg_sq.len()]);
    *step_t += 1.0;
    let step = f64::from(*step_t);
    let (beta1, beta2) = hp.betas;
    let bias_correction1 = 1.0 - beta1.powf(step);
    let bias_correction2 = 1.0 - beta2.powf(step);
    let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    let rho_t = rho_inf - 2.0 * step * beta2.powf(step) / bias_correction2;
    let rectified = rho_t > 5.0;
    let rect = if rectified {
        ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
            .powf(0.5)
    } else {
        0.0
    };
    let s = Scalars {
        decay: f(1.0 - hp.lr * hp.weight_decay),
        wd: f(hp.weight_decay),
        one_minus_beta1: f(1.0 - beta1),
        beta2: f(beta2),
        one_minus_beta2: f(1.0 - beta2),
        bias_correction1: f(bias_correction1),
        lr: f(hp.lr),
        eps: f(hp.eps),
        bias_correction2_sqrt: f(bias_correction2.powf(0.5)),
        rect: f(rect),
    };
    let wd = hp.weight_decay != 0.0;
    let decoupled = wd && hp.decoupled_weight_decay;
    let coupled = wd && !hp.decoupled_weight_decay;
    specialize!(run(&s, param, grad, exp_avg, exp_avg_sq)
        [hp.maximize, coupled, decoupled, rectified][])
}

struct Scalars {
    decay: f32,
    wd: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bias_correction1: f32,
    lr: f32,
    eps: f32,
    bias_correction2_sqrt: f32,
    rect: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const COUPLED: bool, const DECOUPLED: bool, const RECTIFIED: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32],
) {
    for (((p, &g), m), v) in param
        .iter_mut()
        .zip(grad)
        .zip(exp_avg.iter_mut())
        .zip(exp_avg_sq.iter_mut())
    {
        let mut g = if MAXIMIZE { -g } else { g };
        if DECOUPLED {
            *p *= s.decay;
        }
        if COUPLED {
            g = add(g, *p, s.wd);
        }
        *m = lerp(*m, g, s.one_minus_beta1);
        *v = addcmul(*v * s.beta2, g, g, s.one_minus_beta2);
        let corrected = *m / s.bias_correction1;
        let update = if RECTIFIED {
            let adaptive = (1.0 / (v.sqrt() + s.eps)) * s.bias_correction2_sqrt;
            corrected * s.lr * adaptive * s.rect
        } else {
            corrected * s.lr
        };
        *p = add(*p, update, -1.0);
    }
}
}

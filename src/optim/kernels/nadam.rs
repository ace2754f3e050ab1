//! NAdam (`torch.optim.NAdam`, `_single_tensor_nadam`).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, addcdiv, addcmul, f, fma_kernel, lerp, specialize};

/// NAdam state of one parameter.
pub struct NAdamState<'a> {
    /// PyTorch's float32 `step` tensor; incremented by the kernel.
    pub step: &'a mut f32,
    /// PyTorch's float32 `mu_product` tensor (starts at 1): the product of every `mu` so far.
    pub mu_product: &'a mut f32,
    pub exp_avg: &'a mut [f32],
    pub exp_avg_sq: &'a mut [f32],
}

/// One NAdam step, with `momentum_decay`'s momentum schedule and either coupled or
/// (`decoupled_weight_decay`) decoupled weight decay.
///
/// ```text
/// step += 1;  g = maximize ? -grad : grad
/// if weight_decay != 0: decoupled ? p *= 1 - lr*wd : g = g + wd * p
/// mu = beta1 (1 - 0.5 * 0.96^(step * momentum_decay)); mu_next likewise at step + 1
/// mu_product *= mu                                               (float32)
/// m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
/// denom = sqrt(v / (1 - beta2^step)) + eps
/// p = p + (-lr (1 - mu) / (1 - mu_product)) * g / denom
/// p = p + (-lr mu_next / (1 - mu_product * mu_next)) * m / denom
/// ```
pub fn nadam(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: NAdamState<'_>) {
    let NAdamState {
        step: step_t,
        mu_product,
        exp_avg,
        exp_avg_sq,
    } = state;
    check_len(param.len(), &[grad.len(), exp_avg.len(), exp_avg_sq.len()]);
    *step_t += 1.0;
    let step = f64::from(*step_t);
    let (beta1, beta2) = hp.betas;
    let bias_correction2 = 1.0 - beta2.powf(step);
    let mu = beta1 * (1.0 - 0.5 * 0.96f64.powf(step * hp.momentum_decay));
    let mu_next = beta1 * (1.0 - 0.5 * 0.96f64.powf((step + 1.0) * hp.momentum_decay));
    *mu_product *= f(mu);
    let mu_product = f64::from(*mu_product);
    let mu_product_next = mu_product * mu_next;
    let s = Scalars {
        decay: f(1.0 - hp.lr * hp.weight_decay),
        wd: f(hp.weight_decay),
        one_minus_beta1: f(1.0 - beta1),
        beta2: f(beta2),
        one_minus_beta2: f(1.0 - beta2),
        bias_correction2: f(bias_correction2),
        eps: f(hp.eps),
        grad_step: f(-hp.lr * (1.0 - mu) / (1.0 - mu_product)),
        avg_step: f((-hp.lr * mu_next) / (1.0 - mu_product_next)),
    };
    let wd = hp.weight_decay != 0.0;
    let decoupled = wd && hp.decoupled_weight_decay;
    let coupled = wd && !hp.decoupled_weight_decay;
    specialize!(run(&s, param, grad, exp_avg, exp_avg_sq)[hp.maximize, coupled, decoupled][])
}

struct Scalars {
    decay: f32,
    wd: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bias_correction2: f32,
    eps: f32,
    grad_step: f32,
    avg_step: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const COUPLED: bool, const DECOUPLED: bool>(
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
        let denom = (*v / s.bias_correction2).sqrt() + s.eps;
        let q = addcdiv(*p, g, denom, s.grad_step);
        *p = addcdiv(q, *m, denom, s.avg_step);
    }
}
}

//! Adamax (`torch.optim.Adamax`, `_single_tensor_adamax`).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, addcdiv, f, fma_kernel, lerp, maximum, specialize};

/// Adamax state of one parameter.
pub struct AdamaxState<'a> {
    /// PyTorch's float32 `step` tensor; incremented by the kernel.
    pub step: &'a mut f32,
    pub exp_avg: &'a mut [f32],
    /// The exponentially weighted infinity norm.
    pub exp_inf: &'a mut [f32],
}

/// One Adamax step.
///
/// ```text
/// step += 1;  g = maximize ? -grad : grad;  if weight_decay != 0: g = g + wd * p
/// m = lerp(m, g, 1 - beta1)
/// u = maximum(u * beta2, |g| + eps)
/// p = p + (-lr / (1 - beta1^step)) * m / u
/// ```
pub fn adamax(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: AdamaxState<'_>) {
    let AdamaxState {
        step: step_t,
        exp_avg,
        exp_inf,
    } = state;
    check_len(param.len(), &[grad.len(), exp_avg.len(), exp_inf.len()]);
    *step_t += 1.0;
    let (beta1, beta2) = hp.betas;
    let bias_correction = 1.0 - beta1.powf(f64::from(*step_t));
    let clr = hp.lr / bias_correction;
    let s = Scalars {
        wd: f(hp.weight_decay),
        one_minus_beta1: f(1.0 - beta1),
        beta2: f(beta2),
        eps: f(hp.eps),
        neg_clr: f(-clr),
    };
    specialize!(run(&s, param, grad, exp_avg, exp_inf)[hp.maximize, hp.weight_decay != 0.0][])
}

struct Scalars {
    wd: f32,
    one_minus_beta1: f32,
    beta2: f32,
    eps: f32,
    neg_clr: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const WD: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_inf: &mut [f32],
) {
    for (((p, &g), m), u) in param
        .iter_mut()
        .zip(grad)
        .zip(exp_avg.iter_mut())
        .zip(exp_inf.iter_mut())
    {
        let mut g = if MAXIMIZE { -g } else { g };
        if WD {
            g = add(g, *p, s.wd);
        }
        *m = lerp(*m, g, s.one_minus_beta1);
        *u = maximum(*u * s.beta2, g.abs() + s.eps);
        *p = addcdiv(*p, *m, *u, s.neg_clr);
    }
}
}

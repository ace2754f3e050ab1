//! Adagrad (`torch.optim.Adagrad`, `_single_tensor_adagrad`, dense gradients).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, addcdiv, addcmul, f, fma_kernel, specialize};

/// Adagrad state of one parameter.
pub struct AdagradState<'a> {
    /// PyTorch's float32 `step` tensor; incremented by the kernel.
    pub step: &'a mut f32,
    /// The running sum of squared gradients, initialised to `initial_accumulator_value`.
    pub sum: &'a mut [f32],
}

/// One Adagrad step.
///
/// ```text
/// step += 1;  g = maximize ? -grad : grad;  if weight_decay != 0: g = g + wd * p
/// clr = lr / (1 + (step - 1) * lr_decay)
/// sum = sum + 1 * g * g
/// p = p + (-clr) * g / (sqrt(sum) + eps)
/// ```
pub fn adagrad(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: AdagradState<'_>) {
    let AdagradState { step: step_t, sum } = state;
    check_len(param.len(), &[grad.len(), sum.len()]);
    *step_t += 1.0;
    let step = f64::from(*step_t);
    let clr = hp.lr / (1.0 + (step - 1.0) * hp.lr_decay);
    let s = Scalars {
        wd: f(hp.weight_decay),
        eps: f(hp.eps),
        neg_clr: f(-clr),
    };
    specialize!(run(&s, param, grad, sum)[hp.maximize, hp.weight_decay != 0.0][])
}

struct Scalars {
    wd: f32,
    eps: f32,
    neg_clr: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const WD: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    sum: &mut [f32],
) {
    for ((p, &g), acc) in param.iter_mut().zip(grad).zip(sum.iter_mut()) {
        let mut g = if MAXIMIZE { -g } else { g };
        if WD {
            g = add(g, *p, s.wd);
        }
        *acc = addcmul(*acc, g, g, 1.0);
        let std = acc.sqrt() + s.eps;
        *p = addcdiv(*p, g, std, s.neg_clr);
    }
}
}

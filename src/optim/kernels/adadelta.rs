//! Adadelta (`torch.optim.Adadelta`, `_single_tensor_adadelta`).

use super::check_len;
use crate::config::Hyperparams;
use crate::optim::ops::{add, addcmul, f, fma_kernel, specialize};

/// Adadelta state of one parameter.
pub struct AdadeltaState<'a> {
    /// PyTorch's float32 `step` tensor (counted, unused by the arithmetic).
    pub step: &'a mut f32,
    pub square_avg: &'a mut [f32],
    pub acc_delta: &'a mut [f32],
}

/// One Adadelta step.
///
/// ```text
/// g = maximize ? -grad : grad;  if weight_decay != 0: g = g + wd * p
/// sq = sq * rho + (1 - rho) * g * g
/// delta = sqrt(acc + eps) / sqrt(sq + eps) * g
/// acc = acc * rho + (1 - rho) * delta * delta
/// p = p + (-lr) * delta
/// ```
pub fn adadelta(hp: &Hyperparams, param: &mut [f32], grad: &[f32], state: AdadeltaState<'_>) {
    let AdadeltaState {
        step,
        square_avg,
        acc_delta,
    } = state;
    check_len(
        param.len(),
        &[grad.len(), square_avg.len(), acc_delta.len()],
    );
    *step += 1.0;
    let s = Scalars {
        wd: f(hp.weight_decay),
        rho: f(hp.rho),
        one_minus_rho: f(1.0 - hp.rho),
        eps: f(hp.eps),
        neg_lr: f(-hp.lr),
    };
    specialize!(run(&s, param, grad, square_avg, acc_delta)[hp.maximize, hp.weight_decay != 0.0][])
}

struct Scalars {
    wd: f32,
    rho: f32,
    one_minus_rho: f32,
    eps: f32,
    neg_lr: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const WD: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    square_avg: &mut [f32],
    acc_delta: &mut [f32],
) {
    for (((p, &g), sq), acc) in param
        .iter_mut()
        .zip(grad)
        .zip(square_avg.iter_mut())
        .zip(acc_delta.iter_mut())
    {
        let mut g = if MAXIMIZE { -g } else { g };
        if WD {
            g = add(g, *p, s.wd);
        }
        *sq = addcmul(*sq * s.rho, g, g, s.one_minus_rho);
        let std = (*sq + s.eps).sqrt();
        let delta = (*acc + s.eps).sqrt() / std * g;
        *acc = addcmul(*acc * s.rho, delta, delta, s.one_minus_rho);
        *p = add(*p, delta, s.neg_lr);
    }
}
}

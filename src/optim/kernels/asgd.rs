//! ASGD, averaged SGD (`torch.optim.ASGD`, `_single_tensor_asgd`).

use super::check_len;
use crate::optim::ops::{add, f, fma_kernel, specialize};

/// ASGD's options (PyTorch's names and defaults: lr 0.01, lambd 1e-4, alpha 0.75, t0 1e6,
/// weight_decay 0, maximize false).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AsgdOptions {
    pub lr: f64,
    pub lambd: f64,
    pub alpha: f64,
    pub t0: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AsgdOptions {
    fn default() -> Self {
        AsgdOptions {
            lr: 1e-2,
            lambd: 1e-4,
            alpha: 0.75,
            t0: 1e6,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

/// ASGD state of one parameter. PyTorch keeps `step`, `eta` and `mu` as float32 scalar
/// tensors; a fresh state is `step = 0`, `eta = lr` ([`asgd_initial_eta`]), `mu = 1`,
/// `ax = 0`.
pub struct AsgdState<'a> {
    pub step: &'a mut f32,
    /// The step size of the NEXT update, computed at the end of the previous one.
    pub eta: &'a mut f32,
    /// The averaging weight of the next update; 1 means `ax` copies the parameter.
    pub mu: &'a mut f32,
    pub ax: &'a mut [f32],
}

/// The `eta` of a fresh state: the group's lr when the state is created, as float32.
pub fn asgd_initial_eta(lr: f64) -> f32 {
    f(lr)
}

/// One ASGD step. The update uses the `eta` stored by the previous step (so an lr change
/// takes effect one step late, as in PyTorch); the new `eta` and `mu` are computed from the
/// current lr at the end.
///
/// ```text
/// step += 1;  g = maximize ? -grad : grad;  if weight_decay != 0: g = g + wd * p
/// p = p * (1 - lambd * eta);  p = p + (-eta) * g
/// ax = mu != 1 ? ax + (p - ax) * mu : p
/// eta = lr / (1 + lambd * lr * step)^alpha;  mu = 1 / max(1, step - t0)
/// ```
pub fn asgd(o: &AsgdOptions, param: &mut [f32], grad: &[f32], state: AsgdState<'_>) {
    let AsgdState { step, eta, mu, ax } = state;
    check_len(param.len(), &[grad.len(), ax.len()]);
    *step += 1.0;
    let eta_value = f64::from(*eta);
    let s = Scalars {
        wd: f(o.weight_decay),
        decay: f(1.0 - o.lambd * eta_value),
        neg_eta: f(-eta_value),
        mu: *mu,
    };
    let wd = o.weight_decay != 0.0;
    let averaging = *mu != 1.0;
    specialize!(run(&s, param, grad, ax)[o.maximize, wd, averaging][]);
    let step = f64::from(*step);
    *eta = f(o.lr / (1.0 + o.lambd * o.lr * step).powf(o.alpha));
    *mu = f(1.0 / (step - o.t0).max(1.0));
}

struct Scalars {
    wd: f32,
    decay: f32,
    neg_eta: f32,
    mu: f32,
}

fma_kernel! {
fn run<const MAXIMIZE: bool, const WD: bool, const AVERAGING: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    ax: &mut [f32],
) {
    for ((p, &g), a) in param.iter_mut().zip(grad).zip(ax.iter_mut()) {
        let mut g = if MAXIMIZE { -g } else { g };
        if WD {
            g = add(g, *p, s.wd);
        }
        *p = add(*p * s.decay, g, s.neg_eta);
        *a = if AVERAGING { *a + (*p - *a) * s.mu } else { *p };
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
        for (gi, g) in case.groups.iter().enumerate() {
            let d = AsgdOptions::default();
            let mut o = AsgdOptions {
                lambd: g.num("lambd", d.lambd),
                alpha: g.num("alpha", d.alpha),
                t0: g.num("t0", d.t0),
                weight_decay: g.num("weight_decay", d.weight_decay),
                maximize: g.flag("maximize", d.maximize),
                ..d
            };
            let mut p = case.init[gi].clone();
            let (mut step, mut eta, mut mu) = (0.0, asgd_initial_eta(case.lr(gi, 0)), 1.0);
            let mut ax = vec![0.0; p.len()];
            for e in 0..case.epochs {
                o.lr = case.lr(gi, e);
                let state = AsgdState {
                    step: &mut step,
                    eta: &mut eta,
                    mu: &mut mu,
                    ax: &mut ax,
                };
                asgd(&o, &mut p, &case.grads[e][gi], state);
                let at = format!("epoch {e} {}", g.name);
                cmp.values(&at, &p, &floats(case.after("params", e, gi)));
                cmp.values(&format!("{at} ax"), &ax, &floats(case.after("ax", e, gi)));
                let eta_want = case.after("eta", e, gi).as_f64().unwrap() as f32;
                let mu_want = case.after("mu", e, gi).as_f64().unwrap() as f32;
                assert_eq!(eta, eta_want, "{name}: {at} eta");
                assert_eq!(mu, mu_want, "{name}: {at} mu");
            }
        }
        cmp.finish(name);
    }

    #[test]
    fn asgd_default() {
        check("asgd_default");
    }

    #[test]
    fn asgd_t0_wd() {
        check("asgd_t0_wd");
    }

    #[test]
    fn asgd_steplr() {
        check("asgd_steplr");
    }
}

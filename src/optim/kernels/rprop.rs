//! Rprop, resilient backpropagation (`torch.optim.Rprop`, `_single_tensor_rprop`).

use super::check_len;
use crate::optim::ops::{addcmul, f, fma_kernel, specialize};

/// Rprop's options (PyTorch's defaults: etas (0.5, 1.2), step_sizes (1e-6, 50), maximize
/// false). The lr is not an option of the step: it only seeds the per-element step sizes
/// ([`rprop_initial_step_size`]), so a schedule changing it later has no effect, as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RpropOptions {
    /// `(etaminus, etaplus)`.
    pub etas: (f64, f64),
    /// `(step_size_min, step_size_max)`.
    pub step_sizes: (f64, f64),
    pub maximize: bool,
}

impl Default for RpropOptions {
    fn default() -> Self {
        RpropOptions {
            etas: (0.5, 1.2),
            step_sizes: (1e-6, 50.0),
            maximize: false,
        }
    }
}

/// Rprop state of one parameter: a fresh one is `step = 0`, `prev = 0` and every `step_size`
/// [`rprop_initial_step_size`]`(lr)`.
pub struct RpropState<'a> {
    /// PyTorch's float32 `step` (counted, unused by the arithmetic).
    pub step: &'a mut f32,
    pub prev: &'a mut [f32],
    pub step_size: &'a mut [f32],
}

/// The value every step size starts at: the group's lr when the state is created.
pub fn rprop_initial_step_size(lr: f64) -> f32 {
    f(lr)
}

/// One Rprop step.
///
/// ```text
/// g = maximize ? -grad : grad
/// s = sign(g * prev);  factor = s > 0 ? etaplus : s < 0 ? etaminus : 1
/// step_size = clamp(step_size * factor, min, max)
/// if factor == etaminus: g = 0
/// p = p - sign(g) * step_size;  prev = g
/// ```
pub fn rprop(o: &RpropOptions, param: &mut [f32], grad: &[f32], state: RpropState<'_>) {
    let RpropState {
        step,
        prev,
        step_size,
    } = state;
    check_len(param.len(), &[grad.len(), prev.len(), step_size.len()]);
    *step += 1.0;
    let s = Scalars {
        etaminus: f(o.etas.0),
        etaplus: f(o.etas.1),
        min: f(o.step_sizes.0),
        max: f(o.step_sizes.1),
    };
    specialize!(run(&s, param, grad, prev, step_size)[o.maximize][]);
}

struct Scalars {
    etaminus: f32,
    etaplus: f32,
    min: f32,
    max: f32,
}

/// `torch.sign`: -1, 0 or 1 (0 for zeros of either sign and for NaN).
#[inline(always)]
fn sign(x: f32) -> f32 {
    f32::from(u8::from(x > 0.0)) - f32::from(u8::from(x < 0.0))
}

/// `torch.clamp(x, min, max)`: NaN stays NaN.
#[inline(always)]
fn clamp(x: f32, min: f32, max: f32) -> f32 {
    if x.is_nan() {
        x
    } else {
        x.max(min).min(max)
    }
}

fma_kernel! {
fn run<const MAXIMIZE: bool>(
    s: &Scalars,
    param: &mut [f32],
    grad: &[f32],
    prev: &mut [f32],
    step_size: &mut [f32],
) {
    for (((p, &g), prev), size) in param
        .iter_mut()
        .zip(grad)
        .zip(prev.iter_mut())
        .zip(step_size.iter_mut())
    {
        let g = if MAXIMIZE { -g } else { g };
        let product = g * *prev;
        // PyTorch overwrites the sign tensor in place: > 0 -> etaplus, < 0 -> etaminus,
        // == 0 -> 1 (NaN stays NaN); then zeroes the gradient where it equals etaminus.
        let factor = if product > 0.0 {
            s.etaplus
        } else if product < 0.0 {
            s.etaminus
        } else if product == 0.0 {
            1.0
        } else {
            product
        };
        *size = clamp(*size * factor, s.min, s.max);
        let g = if factor == s.etaminus { 0.0 } else { g };
        *p = addcmul(*p, sign(g), *size, -1.0);
        *prev = g;
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
            let d = RpropOptions::default();
            let o = RpropOptions {
                etas: g.pair("etas", d.etas),
                step_sizes: g.pair("step_sizes", d.step_sizes),
                maximize: g.flag("maximize", d.maximize),
            };
            let mut p = case.init[gi].clone();
            let mut step = 0.0;
            let mut prev = vec![0.0; p.len()];
            let mut size = vec![rprop_initial_step_size(case.lr(gi, 0)); p.len()];
            for e in 0..case.epochs {
                let state = RpropState {
                    step: &mut step,
                    prev: &mut prev,
                    step_size: &mut size,
                };
                rprop(&o, &mut p, &case.grads[e][gi], state);
                let want = floats(case.after("params", e, gi));
                cmp.values(&format!("epoch {e} {}", g.name), &p, &want);
            }
        }
        cmp.finish(name);
    }

    #[test]
    fn rprop_default() {
        check("rprop_default");
    }

    #[test]
    fn rprop_options() {
        check("rprop_options");
    }

    #[test]
    fn rprop_schedule() {
        check("rprop_schedule");
    }
}

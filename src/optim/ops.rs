//! PyTorch's CPU elementwise operators on `f32`, one element at a time.
//!
//! Each function reproduces the arithmetic of the ATen CPU kernel that `torch.optim`'s
//! single-tensor path calls, in the same order of operations, so that a fused loop built from
//! them rounds exactly as the chain of separate tensor ops does. Python-float arguments
//! (`alpha=`, `value=`, lerp weights, scalar operands) reach these kernels already rounded to
//! `f32`, as ATen converts a Python scalar to the tensor's dtype before the loop.
//!
//! Whether ATen's scalar loops contract `a + b * c` into a fused multiply-add depends on how
//! the wheel was compiled; [`FUSED`] records what the reference trajectories show.

/// Whether `a + alpha * b` and friends round once (fused multiply-add) in the reference build.
pub(crate) const FUSED: bool = true;

/// `a * b + c`, rounded as the reference build rounds it.
#[inline(always)]
fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `torch.add(a, b, alpha=alpha)`: `a + alpha * b`.
#[inline(always)]
pub(crate) fn add(a: f32, b: f32, alpha: f32) -> f32 {
    mul_add(alpha, b, a)
}

/// `torch.addcmul(s, t1, t2, value=v)`: `s + v * t1 * t2`, with `v * t1` first.
#[inline(always)]
pub(crate) fn addcmul(s: f32, t1: f32, t2: f32, v: f32) -> f32 {
    mul_add(v * t1, t2, s)
}

/// `torch.addcdiv(s, t1, t2, value=v)`: `s + v * t1 / t2`, as `s + ((v * t1) / t2)`.
#[inline(always)]
pub(crate) fn addcdiv(s: f32, t1: f32, t2: f32, v: f32) -> f32 {
    s + v * t1 / t2
}

/// `torch.lerp(start, end, weight)` with a scalar weight: ATen's two-sided formula, which
/// measures from `start` for small weights and from `end` otherwise.
#[inline(always)]
pub(crate) fn lerp(start: f32, end: f32, weight: f32) -> f32 {
    let diff = end - start;
    if weight.abs() < 0.5 {
        mul_add(weight, diff, start)
    } else {
        mul_add(-diff, 1.0 - weight, end)
    }
}

/// `torch.maximum(a, b)`: NaN if either is NaN, else `std::max(a, b)`.
#[inline(always)]
pub(crate) fn maximum(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else if a < b {
        b
    } else {
        a
    }
}

/// Defines a kernel loop `fn name<const FLAG: bool, ...>(args) [-> T] { body }` that runs compiled for
/// AVX2 and FMA when the CPU has both, so that the loop becomes vector instructions and the
/// fused multiply-adds it needs for bit-compatibility are single instructions instead of calls
/// to the C library's `fmaf`. Elsewhere the same body runs compiled for the baseline target: the
/// results are the same, only slower where the target lacks FMA.
///
/// The body is an `#[inline(always)]` function called directly from a `#[target_feature]`
/// function, which is what makes LLVM compile it there with those features; a closure (or a
/// function item called through `FnOnce`) would be a function of its own that LLVM may decline
/// to inline, left without AVX2 and FMA.
macro_rules! fma_kernel {
    ($(#[$meta:meta])* fn $name:ident<$(const $c:ident: bool),*>($($a:ident: $t:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[inline(always)]
        fn $name<$(const $c: bool),*>($($a: $t),*) $(-> $ret)? {
            #[inline(always)]
            fn portable<$(const $c: bool),*>($($a: $t),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2_fma<$(const $c: bool),*>($($a: $t),*) $(-> $ret)? {
                portable::<$($c),*>($($a),*)
            }

            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { avx2_fma::<$($c),*>($($a),*) };
                }
            }
            portable::<$($c),*>($($a),*)
        }
    };
}
pub(crate) use fma_kernel;

/// Rounds a Python float to the `f32` that ATen uses when it meets a float32 tensor.
#[inline(always)]
pub(crate) fn f(x: f64) -> f32 {
    x as f32
}

/// Expands to a call of `$f::<...>` with each runtime `bool` turned into a const generic
/// argument, so every combination of flags gets its own branch-free loop (defined with
/// [`fma_kernel!`]).
macro_rules! specialize {
    ($f:ident($($args:expr),* $(,)?) [] [$($lit:tt),*]) => {
        $f::<$({ $lit }),*>($($args),*)
    };
    ($f:ident($($args:expr),* $(,)?) [$b:expr $(, $rest:expr)*] [$($lit:tt),*]) => {
        if $b {
            specialize!($f($($args),*) [$($rest),*] [$($lit,)* true])
        } else {
            specialize!($f($($args),*) [$($rest),*] [$($lit,)* false])
        }
    };
}
pub(crate) use specialize;

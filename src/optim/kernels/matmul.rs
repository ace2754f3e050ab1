//! Blocked float32 matrix products that round exactly as in-order dot products do, for Muon's
//! Newton-Schulz iteration.
//!
//! Muon reproduces PyTorch's bits by computing every output element as one chain of fused
//! multiply-adds in index order, `acc = fma(a[i][l], b[l][j], acc)` for `l = 0..k` from
//! `acc = 0`. Nothing in that definition fixes which element is computed when, so this is a
//! GEBP-style product (the loop structure of BLIS and of the GEMMs PyTorch calls): panels of
//! `a` and `b` are packed into contiguous buffers, a micro-kernel keeps an `MR x NR` tile of
//! outputs in registers and advances every chain of the tile by one fused multiply-add per
//! `l`, and the shared dimension is cut into blocks of `kc` that fit the caches, the tile being
//! stored between blocks (exact: it is float32 in memory as in the register) and reloaded to
//! continue the same chains. Each output still sees the same operations in the same order, so
//! the results are those of the plain loops bit for bit, whatever the blocking, the tiling, and
//! how the output's columns are shared out between threads.
//!
//! The micro-kernel runs as AVX2 vectors with FMA where the CPU has both; elsewhere a scalar
//! kernel performs the same fused multiply-adds (`f32::mul_add`, exact on every target).

use super::muon::bf16;
use crate::optim::threads::{self, Pool};
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

/// Rows of the output tile a micro-kernel keeps in registers.
pub(crate) const MR: usize = 6;
/// Columns of the output tile (two AVX2 vectors): 6 x 2 accumulators, two vectors of `b` and
/// one broadcast of `a` fill 15 of AVX2's 16 registers.
pub(crate) const NR: usize = 16;

/// Cache blocking: `mc x kc` of `a` (packed) stays in L2, `kc x NR` of `b` in L1 while the
/// micro-kernel walks down `mc`, `kc x nc` of `b` (packed) in L3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocking {
    /// A multiple of [`MR`].
    pub mc: usize,
    pub kc: usize,
    /// A multiple of [`NR`].
    pub nc: usize,
}

/// The blocking of every product: for the L1 (32 KiB) and L2 (512 KiB to 1 MiB) of current x86
/// cores, like BLIS's sizes for them.
pub(crate) const BLOCKING: Blocking = Blocking {
    mc: 144,
    kc: 256,
    nc: 4096,
};

/// Fused multiply-adds a product gives each thread at least, so that waking a thread (some
/// tens of microseconds) costs little next to its share.
pub(crate) const MIN_WORK_PER_THREAD: usize = 1 << 19;

/// One thread's packing buffers, allocated once for the largest product they serve.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Packs {
    /// `mc x kc` of `a`, as `MR`-row panels, each `kc` columns of `MR` values.
    a: Vec<f32>,
    /// `kc x nc` of `b`, as `NR`-column panels, each `kc` rows of `NR` values.
    b: Vec<f32>,
}

impl Packs {
    /// Buffers for every product with at most `rows` output rows, `cols` output columns and a
    /// shared dimension of at most `inner`.
    pub(crate) fn new(blocking: Blocking, rows: usize, cols: usize, inner: usize) -> Packs {
        let kc = blocking.kc.min(inner);
        let mc = blocking.mc.min(rows.next_multiple_of(MR));
        let nc = blocking.nc.min(cols.next_multiple_of(NR));
        Packs {
            a: vec![0.0; mc * kc],
            b: vec![0.0; kc * nc],
        }
    }
}

/// A read-only matrix operand: element `(r, c)` is `data[r * ld + c]`, or `data[c * ld + r]`
/// when `transposed`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operand<'a> {
    pub data: &'a [f32],
    pub ld: usize,
    pub transposed: bool,
}

/// What becomes of a finished dot product `acc` at `(i, j)`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Epilogue<'a> {
    /// `bf16(acc)`.
    Round,
    /// `bf16(fma(beta, addend[i][j], alpha * acc))`: PyTorch's `addmm(addend, a, b, beta=,
    /// alpha=)` rounded to bfloat16 (`addend` row-major with leading dimension `ld`).
    Addmm {
        beta: f32,
        alpha: f32,
        addend: &'a [f32],
        ld: usize,
    },
}

/// `c = epilogue(a b)` for `a` of `m x k` and `b` of `k x n`; `c` is `m x n`, row-major.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Product<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: Operand<'a>,
    pub b: Operand<'a>,
    /// The result is symmetric element for element (`m == n`, and the chain of `(j, i)` is that
    /// of `(i, j)`, as for `x x^T`, or for `g g` with `g` exactly symmetric, and the epilogue
    /// keeps it so): only the tiles that reach the upper triangle are computed, and the lower
    /// triangle is copied from the upper.
    pub symmetric: bool,
    pub epilogue: Epilogue<'a>,
}

/// Computes `p` into `c` (`p.m x p.n`, row-major), sharing the output's columns among the
/// threads of `pool` (at most one per `packs`) when the product is large enough.
///
/// # Panics
/// If an operand or `c` is too short for its shape, or `packs` is empty.
pub(crate) fn matmul(p: &Product<'_>, c: &mut [f32], packs: &mut [Packs], pool: Option<&Pool>) {
    #[cfg(test)]
    let min_work = if FORCE_THREADS.get() {
        0
    } else {
        MIN_WORK_PER_THREAD
    };
    #[cfg(not(test))]
    let min_work = MIN_WORK_PER_THREAD;
    matmul_blocked(p, c, packs, pool, BLOCKING, min_work);
}

#[cfg(test)]
thread_local! {
    static FORCE_THREADS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every [`matmul`] it calls on this thread shared among the pool's threads
/// however small (tests reach the threaded paths with small matrices).
#[cfg(test)]
pub(crate) fn force_threads<R>(f: impl FnOnce() -> R) -> R {
    FORCE_THREADS.set(true);
    let r = f();
    FORCE_THREADS.set(false);
    r
}

/// [`matmul`] with its blocking and its minimum work per thread given (tests use small ones
/// to reach every edge with small matrices).
pub(crate) fn matmul_blocked(
    p: &Product<'_>,
    c: &mut [f32],
    packs: &mut [Packs],
    pool: Option<&Pool>,
    blocking: Blocking,
    min_work: usize,
) {
    let (m, n, k) = (p.m, p.n, p.k);
    assert!(c.len() >= m * n, "matmul: output too short");
    assert!(
        !p.symmetric || m == n,
        "matmul: a symmetric result is square"
    );
    assert!(blocking.mc.is_multiple_of(MR) && blocking.nc.is_multiple_of(NR) && blocking.kc > 0);
    check_operand(p.a, m, k);
    check_operand(p.b, k, n);
    if let Epilogue::Addmm { addend, ld, .. } = p.epilogue {
        check_operand(
            Operand {
                data: addend,
                ld,
                transposed: false,
            },
            m,
            n,
        );
    }
    if m == 0 || n == 0 {
        return;
    }
    let out = Out {
        ptr: c.as_mut_ptr(),
        ld: n,
    };
    let work = if p.symmetric { m * n / 2 } else { m * n }.saturating_mul(k);
    let parts = match pool {
        Some(pool) => pool
            .threads()
            .min(packs.len())
            .min(work / min_work.max(1))
            .min(n.div_ceil(NR))
            .max(1),
        None => 1,
    };
    let simd = simd_available();
    match pool {
        Some(pool) if parts > 1 => {
            let jobs: [Mutex<Option<&mut Packs>>; crate::limits::MAX_THREADS] =
                std::array::from_fn(|_| Mutex::new(None));
            for (job, pack) in jobs.iter().zip(packs.iter_mut()).take(parts) {
                *job.lock().unwrap_or_else(PoisonError::into_inner) = Some(pack);
            }
            pool.run(&|t| {
                let Some(pack) = jobs
                    .get(t)
                    .and_then(|j| j.lock().unwrap_or_else(PoisonError::into_inner).take())
                else {
                    return;
                };
                let cols = columns(n, p.symmetric, parts, t);
                // SAFETY: the threads' column ranges are disjoint, and each thread writes only
                // the elements of its own columns of `c` (which `out` spans, checked above).
                unsafe { gebp(simd, p, out, cols, pack, blocking) };
            });
        }
        _ => {
            let pack = packs.first_mut().expect("matmul: no packing buffers");
            // SAFETY: `out` spans `c`, which nothing else uses meanwhile.
            unsafe { gebp(simd, p, out, 0..n, pack, blocking) };
        }
    }
    if p.symmetric {
        mirror_upper(&mut c[..m * n], n);
    }
}

fn check_operand(o: Operand<'_>, rows: usize, cols: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let (outer, inner) = if o.transposed {
        (cols, rows)
    } else {
        (rows, cols)
    };
    assert!(
        o.ld >= inner && o.data.len() >= (outer - 1) * o.ld + inner,
        "matmul: operand too short"
    );
}

/// Whether the AVX2 + FMA micro-kernel can run here.
fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Thread `t`'s share of `n` output columns out of `parts`, in whole tiles: equal widths, or
/// for a symmetric product (whose column `j` has `j + 1` elements to compute) equal areas.
fn columns(n: usize, symmetric: bool, parts: usize, t: usize) -> Range<usize> {
    if !symmetric {
        return threads::bounds(n, parts, NR, t);
    }
    let edge = |t: usize| {
        let x = n as f64 * (t as f64 / parts as f64).sqrt();
        ((x.ceil() as usize).next_multiple_of(NR)).min(n)
    };
    let (start, end) = (edge(t), edge(t + 1));
    start..end.max(start)
}

/// The output, shared by the threads that write disjoint parts of it.
#[derive(Clone, Copy)]
struct Out {
    ptr: *mut f32,
    ld: usize,
}

// SAFETY: `Out` is a pointer into a buffer that `matmul` borrows mutably for as long as any
// thread uses it; each thread writes only its own columns.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// Copies the upper triangle of the `n x n` row-major `c` onto the lower, in cache blocks.
fn mirror_upper(c: &mut [f32], n: usize) {
    const B: usize = 32;
    for ib in (0..n).step_by(B) {
        for jb in (0..=ib).step_by(B) {
            for i in ib..(ib + B).min(n) {
                for j in jb..(jb + B).min(i) {
                    c[i * n + j] = c[j * n + i];
                }
            }
        }
    }
}

/// Runs [`gebp_with`] with the AVX2 micro-kernel if `simd`, else the scalar one.
///
/// # Safety
/// `out` points to a row-major `p.m x p.n` buffer with leading dimension `out.ld` that no one
/// else reads or writes within `cols` meanwhile; `simd` only if the CPU has AVX2 and FMA.
unsafe fn gebp(
    simd: bool,
    p: &Product<'_>,
    out: Out,
    cols: Range<usize>,
    packs: &mut Packs,
    blocking: Blocking,
) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: the caller checked the CPU, and passes on the rest of the contract.
        return unsafe { gebp_avx2(p, out, cols, packs, blocking) };
    }
    let _ = simd;
    // SAFETY: the caller's contract.
    unsafe { gebp_with::<Scalar>(p, out, cols, packs, blocking) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gebp_avx2(
    p: &Product<'_>,
    out: Out,
    cols: Range<usize>,
    packs: &mut Packs,
    blocking: Blocking,
) {
    // SAFETY: the caller's contract (`gebp`).
    unsafe { gebp_with::<Avx2>(p, out, cols, packs, blocking) }
}

/// A micro-kernel: advances the `MR x NR` tile at `c` (leading dimension `ldc`) by `kc` fused
/// multiply-adds per element, `c[r][t] = fma(a[p * MR + r], b[p * NR + t], c[r][t])` for
/// `p = 0..kc` in order, starting from `c`'s values if `load`, else from 0.
trait Tile {
    /// # Safety
    /// `a` holds `kc * MR` values, `b` `kc * NR`, and `c` is valid for an `MR x NR` tile with
    /// leading dimension `ldc`.
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, load: bool);
}

struct Scalar;

impl Tile for Scalar {
    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, load: bool) {
        let mut acc = [[0.0f32; NR]; MR];
        if load {
            for (r, row) in acc.iter_mut().enumerate() {
                for (t, v) in row.iter_mut().enumerate() {
                    // SAFETY: inside the tile (the caller's contract).
                    *v = unsafe { *c.add(r * ldc + t) };
                }
            }
        }
        // SAFETY: the caller's contract.
        let (a, b) = unsafe {
            (
                std::slice::from_raw_parts(a, kc * MR),
                std::slice::from_raw_parts(b, kc * NR),
            )
        };
        for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
            for (row, &x) in acc.iter_mut().zip(ap) {
                for (v, &y) in row.iter_mut().zip(bp) {
                    *v = x.mul_add(y, *v);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (t, &v) in row.iter().enumerate() {
                // SAFETY: inside the tile.
                unsafe { *c.add(r * ldc + t) = v };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Tile for Avx2 {
    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, load: bool) {
        // SAFETY: only reached from `gebp_avx2` (the CPU has AVX2 and FMA), and the caller's
        // contract.
        unsafe { tile_avx2(kc, a, b, c, ldc, load) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_avx2(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, load: bool) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    // SAFETY (all pointer arithmetic below): the tile and the panels are inside the buffers the
    // caller vouches for.
    unsafe {
        if load {
            for (r, row) in acc.iter_mut().enumerate() {
                row[0] = _mm256_loadu_ps(c.add(r * ldc));
                row[1] = _mm256_loadu_ps(c.add(r * ldc + 8));
            }
        }
        for p in 0..kc {
            let b0 = _mm256_loadu_ps(b.add(p * NR));
            let b1 = _mm256_loadu_ps(b.add(p * NR + 8));
            for (r, row) in acc.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*a.add(p * MR + r));
                row[0] = _mm256_fmadd_ps(x, b0, row[0]);
                row[1] = _mm256_fmadd_ps(x, b1, row[1]);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            _mm256_storeu_ps(c.add(r * ldc), row[0]);
            _mm256_storeu_ps(c.add(r * ldc + 8), row[1]);
        }
    }
}

/// The GEBP loops over output columns `cols`: for each `nc`-wide block of columns and each
/// `kc`-deep block of the shared dimension (in order), pack `b`'s block, then for each
/// `mc`-tall block of rows pack `a`'s block and run the micro-kernel over its tiles; the
/// epilogue is applied to each tile after its last block.
///
/// # Safety
/// As for [`gebp`]; `K` runs on this CPU.
#[inline(always)]
unsafe fn gebp_with<K: Tile>(
    p: &Product<'_>,
    out: Out,
    cols: Range<usize>,
    packs: &mut Packs,
    blocking: Blocking,
) {
    let (m, k) = (p.m, p.k);
    if k == 0 {
        // Empty dot products: every chain is its initial 0.
        for i in 0..m {
            // SAFETY: row `i`'s columns `cols` are this call's (the caller's contract).
            let row = unsafe {
                std::slice::from_raw_parts_mut(out.ptr.add(i * out.ld + cols.start), cols.len())
            };
            row.fill(0.0);
            finish_row(p.epilogue, row, i, cols.start);
        }
        return;
    }
    let width = cols.len();
    let blocks = width.div_ceil(blocking.nc);
    let nc_max = width.div_ceil(blocks.max(1)).next_multiple_of(NR);
    let mut jc = cols.start;
    while jc < cols.end {
        let nc = nc_max.min(cols.end - jc);
        // A symmetric product computes only the tiles that reach the upper triangle.
        let rows = if p.symmetric { m.min(jc + nc) } else { m };
        let mut pc = 0;
        while pc < k {
            let kc = blocking.kc.min(k - pc);
            let (first, last) = (pc == 0, pc + kc == k);
            pack_b(p.b, pc..pc + kc, jc..jc + nc, &mut packs.b);
            let mut ic = 0;
            while ic < rows {
                let mc = blocking.mc.min(rows - ic);
                pack_a(p.a, ic..ic + mc, pc..pc + kc, &mut packs.a);
                for jr in (0..nc).step_by(NR) {
                    let (j, w) = (jc + jr, NR.min(nc - jr));
                    let b = packs.b[jr * kc..][..kc * NR].as_ptr();
                    for ir in (0..mc).step_by(MR) {
                        let (i, h) = (ic + ir, MR.min(mc - ir));
                        if p.symmetric && j + w <= i {
                            continue;
                        }
                        let a = packs.a[ir * kc..][..kc * MR].as_ptr();
                        // SAFETY: the tile `(i, j)` of `h x w` is inside this call's columns
                        // of the output (the caller's contract); the panels are `kc` deep.
                        unsafe {
                            let c = out.ptr.add(i * out.ld + j);
                            if h == MR && w == NR {
                                K::tile(kc, a, b, c, out.ld, !first);
                            } else {
                                edge_tile::<K>(kc, a, b, c, out.ld, h, w, !first);
                            }
                            if last {
                                for r in 0..h {
                                    let row = std::slice::from_raw_parts_mut(c.add(r * out.ld), w);
                                    finish_row(p.epilogue, row, i + r, j);
                                }
                            }
                        }
                    }
                }
                ic += mc;
            }
            pc += kc;
        }
        jc += nc;
    }
}

/// The micro-kernel on a tile cut by the matrix's edge (`h x w` of `MR x NR`), through a full
/// tile on the stack.
///
/// # Safety
/// As for [`Tile::tile`], with `c` valid for `h x w`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn edge_tile<K: Tile>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    h: usize,
    w: usize,
    load: bool,
) {
    let mut buf = [0.0f32; MR * NR];
    // SAFETY (the copies): inside the `h x w` tile (the caller's contract).
    if load {
        for r in 0..h {
            for t in 0..w {
                buf[r * NR + t] = unsafe { *c.add(r * ldc + t) };
            }
        }
    }
    // SAFETY: `buf` is a full tile; the panels are the caller's.
    unsafe { K::tile(kc, a, b, buf.as_mut_ptr(), NR, load) };
    for r in 0..h {
        for t in 0..w {
            unsafe { *c.add(r * ldc + t) = buf[r * NR + t] };
        }
    }
}

/// Applies the epilogue to the finished dot products `row` at `(i, j..)`.
#[inline(always)]
fn finish_row(e: Epilogue<'_>, row: &mut [f32], i: usize, j: usize) {
    match e {
        Epilogue::Round => {
            for v in row {
                *v = bf16(*v);
            }
        }
        Epilogue::Addmm {
            beta,
            alpha,
            addend,
            ld,
        } => {
            let addend = &addend[i * ld + j..][..row.len()];
            for (v, &x) in row.iter_mut().zip(addend) {
                *v = bf16(beta.mul_add(x, alpha * *v));
            }
        }
    }
}

/// Packs `a[rows][depth]` as `MR`-row panels (`panel[p * MR + r]`), zero past the last row.
#[inline(always)]
fn pack_a(a: Operand<'_>, rows: Range<usize>, depth: Range<usize>, dst: &mut [f32]) {
    let kc = depth.len();
    for (panel, i0) in rows.clone().step_by(MR).enumerate() {
        let dst = &mut dst[panel * MR * kc..][..MR * kc];
        for r in 0..MR {
            let i = i0 + r;
            if i >= rows.end {
                for p in 0..kc {
                    dst[p * MR + r] = 0.0;
                }
            } else if a.transposed {
                for (p, l) in depth.clone().enumerate() {
                    dst[p * MR + r] = a.data[l * a.ld + i];
                }
            } else {
                let src = &a.data[i * a.ld + depth.start..][..kc];
                for (p, &v) in src.iter().enumerate() {
                    dst[p * MR + r] = v;
                }
            }
        }
    }
}

/// Packs `b[depth][cols]` as `NR`-column panels (`panel[p * NR + t]`), zero past the last
/// column.
#[inline(always)]
fn pack_b(b: Operand<'_>, depth: Range<usize>, cols: Range<usize>, dst: &mut [f32]) {
    let kc = depth.len();
    for (panel, j0) in cols.clone().step_by(NR).enumerate() {
        let dst = &mut dst[panel * NR * kc..][..NR * kc];
        let w = NR.min(cols.end - j0);
        if b.transposed {
            for t in 0..NR {
                if t < w {
                    let src = &b.data[(j0 + t) * b.ld + depth.start..][..kc];
                    for (p, &v) in src.iter().enumerate() {
                        dst[p * NR + t] = v;
                    }
                } else {
                    for p in 0..kc {
                        dst[p * NR + t] = 0.0;
                    }
                }
            }
        } else {
            for (p, l) in depth.clone().enumerate() {
                let d: &mut [f32; NR] = (&mut dst[p * NR..][..NR]).try_into().expect("NR");
                if w == NR {
                    // A fixed-size copy (a `copy_from_slice` of `w` values calls memmove).
                    let src: &[f32; NR] = b.data[l * b.ld + j0..][..NR].try_into().expect("NR");
                    *d = *src;
                } else {
                    d[..w].copy_from_slice(&b.data[l * b.ld + j0..][..w]);
                    d[w..].fill(0.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: in-order chains of fused multiply-adds from 0, then the epilogue.
    fn naive(p: &Product<'_>) -> Vec<f32> {
        let at = |o: Operand<'_>, r: usize, c: usize| {
            if o.transposed {
                o.data[c * o.ld + r]
            } else {
                o.data[r * o.ld + c]
            }
        };
        let mut c = vec![0.0; p.m * p.n];
        for i in 0..p.m {
            for j in 0..p.n {
                let mut acc = 0.0f32;
                for l in 0..p.k {
                    acc = at(p.a, i, l).mul_add(at(p.b, l, j), acc);
                }
                let mut row = [acc];
                finish_row(p.epilogue, &mut row, i, j);
                c[i * p.n + j] = row[0];
            }
        }
        c
    }

    /// Deterministic values of all magnitudes and signs, rounded to bfloat16 like Muon's.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12_345);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                bf16((s % 20_001) as f32 / 10_000.0 - 1.0)
            })
            .collect()
    }

    const SMALL: Blocking = Blocking {
        mc: 12,
        kc: 7,
        nc: 32,
    };

    fn check(p: &Product<'_>, blocking: Blocking, pool: Option<&Pool>, simd: bool) {
        let want = naive(p);
        let mut packs = vec![Packs::new(blocking, p.m, p.n, p.k); 3];
        let mut got = vec![f32::NAN; p.m * p.n];
        if simd {
            matmul_blocked(p, &mut got, &mut packs, pool, blocking, 0);
        } else {
            let out = Out {
                ptr: got.as_mut_ptr(),
                ld: p.n,
            };
            // SAFETY: `out` is `got`, of `m x n`.
            unsafe { gebp_with::<Scalar>(p, out, 0..p.n, &mut packs[0], blocking) };
            if p.symmetric {
                mirror_upper(&mut got, p.n);
            }
        }
        let same = want
            .iter()
            .zip(&got)
            .all(|(w, g)| w.to_bits() == g.to_bits());
        assert!(same, "{}x{}x{} {:?} differs", p.m, p.n, p.k, blocking);
    }

    /// Every shape of products Muon runs (x x^T, g g, p x), with edges in every dimension,
    /// blocked small and with the real blocking, on 1, 2 and 3 threads, both micro-kernels.
    #[test]
    fn blocked_products_keep_the_in_order_bits() {
        let pools = [Pool::new(2), Pool::new(3)];
        for (m, k) in [(1, 1), (5, 9), (13, 40), (40, 13), (37, 300), (97, 300)] {
            let x = values(m * k, 1);
            let g0 = values(m * m, 2);
            // A symmetric g, as Muon's Gram matrix is.
            let g: Vec<f32> = (0..m * m)
                .map(|e| {
                    let (i, j) = (e / m, e % m);
                    g0[i.min(j) * m + i.max(j)]
                })
                .collect();
            let gram = Product {
                m,
                n: m,
                k,
                a: Operand {
                    data: &x,
                    ld: k,
                    transposed: false,
                },
                b: Operand {
                    data: &x,
                    ld: k,
                    transposed: true,
                },
                symmetric: true,
                epilogue: Epilogue::Round,
            };
            let square = Product {
                k: m,
                a: Operand {
                    data: &g,
                    ld: m,
                    transposed: false,
                },
                b: Operand {
                    data: &g,
                    ld: m,
                    transposed: false,
                },
                epilogue: Epilogue::Addmm {
                    beta: -4.775,
                    alpha: 2.0315,
                    addend: &g,
                    ld: m,
                },
                ..gram
            };
            let update = Product {
                m,
                n: k,
                k: m,
                a: Operand {
                    data: &g,
                    ld: m,
                    transposed: false,
                },
                b: Operand {
                    data: &x,
                    ld: k,
                    transposed: false,
                },
                symmetric: false,
                epilogue: Epilogue::Addmm {
                    beta: 3.4445,
                    alpha: 1.0,
                    addend: &x,
                    ld: k,
                },
            };
            // A transposed `a`, which Muon does not use but the packing supports.
            let transposed_a = Product {
                a: Operand {
                    data: &x,
                    ld: k,
                    transposed: true,
                },
                b: Operand {
                    data: &x,
                    ld: k,
                    transposed: false,
                },
                m: k,
                n: k,
                k: m,
                symmetric: false,
                epilogue: Epilogue::Round,
            };
            for p in [&gram, &square, &update, &transposed_a] {
                for blocking in [SMALL, BLOCKING] {
                    check(p, blocking, None, false);
                    check(p, blocking, None, true);
                    for pool in &pools {
                        check(p, blocking, Some(pool), true);
                    }
                }
            }
        }
    }

    #[test]
    fn symmetric_shares_have_equal_areas_in_whole_tiles() {
        for n in [1, 16, 17, 100, 2048] {
            for parts in 1..=4 {
                let mut next = 0;
                for t in 0..parts {
                    let r = columns(n, true, parts, t);
                    assert_eq!(r.start, next);
                    assert!(r.end == n || r.end.is_multiple_of(NR));
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
        // Two threads on 2048 columns: the left share is the wider, its columns being shorter.
        assert_eq!(columns(2048, true, 2, 0), 0..1456);
    }
}

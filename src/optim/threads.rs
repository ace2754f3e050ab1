//! Optional worker threads for large parameters: a small persistent pool that runs one
//! closure on every thread at once, without allocating.
//!
//! An optimizer step over a large tensor is split into contiguous chunks, one per thread, and
//! each chunk runs the same elementwise kernel as the whole tensor would. Every value is
//! computed from the same inputs with the same operations whichever chunk it falls in, so the
//! result is bit-for-bit the single-threaded one; only the wall-clock time changes. Kernels
//! that reduce over the whole tensor get [`Workers`] and split their passes themselves, summing
//! fixed blocks in a fixed order (`kernels::reduce_blocks`), with [`Pieces`] handing each
//! thread its own `&mut` part of the buffers.
//!
//! The pool's threads are started once ([`Pool::new`]) and then sleep on a condition variable
//! between steps; [`Pool::run`] hands them a borrowed closure, so a step allocates nothing (the
//! standard library's `Mutex` and `Condvar` do not allocate on Linux or elsewhere once built).

use crate::limits::MAX_THREADS;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// A borrowed job with its lifetime erased; only [`Pool::run`] creates one, and it does not
/// return before every worker is done with it.
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the pointee is `Sync`, so calling it from other threads through a shared pointer is
// sound; `Pool::run` keeps it alive for as long as any worker can use it.
unsafe impl Send for Job {}

struct State {
    job: Option<Job>,
    /// Incremented for every job, so a worker runs each job once.
    generation: u64,
    /// Workers that have not finished the current job.
    pending: usize,
    panicked: bool,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    start: Condvar,
    done: Condvar,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A pool of `threads - 1` workers plus the calling thread.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Serializes [`Pool::run`] between clones of an optimizer that share the pool.
    running: Mutex<()>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads())
            .finish()
    }
}

impl Pool {
    /// Starts `threads - 1` workers (`threads` is clamped to `2..=MAX_THREADS`).
    pub fn new(threads: usize) -> Pool {
        let threads = threads.clamp(2, MAX_THREADS);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                job: None,
                generation: 0,
                pending: 0,
                panicked: false,
                shutdown: false,
            }),
            start: Condvar::new(),
            done: Condvar::new(),
        });
        let workers = (1..threads)
            .map(|index| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("optimc-optim-{index}"))
                    .spawn(move || worker(&shared, index))
                    .expect("cannot start an optimizer thread")
            })
            .collect();
        Pool {
            shared,
            workers,
            running: Mutex::new(()),
        }
    }

    /// How many threads run a job, the caller included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Calls `f(i)` once for every `i` in `0..self.threads()`, each on its own thread (`0` on
    /// the caller's), and returns when all calls have returned.
    ///
    /// # Panics
    /// If any call panics (after all calls have finished).
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        let _serial = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: only the lifetime is erased. `Wait` below does not let this function return
        // or unwind before `pending` is back to 0, that is before every worker has returned
        // from its call, and the job is cleared before `Wait` is done: nothing uses `f` after
        // this call ends.
        let job = Job(unsafe {
            std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync)>(
                f,
            )
        });
        {
            let mut st = lock(&self.shared.state);
            st.job = Some(job);
            st.generation = st.generation.wrapping_add(1);
            st.pending = self.workers.len();
            st.panicked = false;
        }
        self.shared.start.notify_all();

        struct Wait<'a>(&'a Shared);
        impl Drop for Wait<'_> {
            fn drop(&mut self) {
                let mut st = lock(&self.0.state);
                while st.pending > 0 {
                    st = self.0.done.wait(st).unwrap_or_else(PoisonError::into_inner);
                }
                st.job = None;
            }
        }
        let wait = Wait(&self.shared);
        f(0);
        drop(wait);
        if lock(&self.shared.state).panicked {
            panic!("an optimizer worker thread panicked");
        }
    }
}

fn worker(shared: &Shared, index: usize) {
    let mut seen = 0u64;
    loop {
        let job = {
            let mut st = lock(&shared.state);
            loop {
                if st.shutdown {
                    return;
                }
                if st.generation != seen {
                    seen = st.generation;
                    if let Some(job) = st.job {
                        break job;
                    }
                }
                st = shared
                    .start
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        // SAFETY: `Pool::run` keeps the job alive until this worker decrements `pending`.
        let ok = catch_unwind(AssertUnwindSafe(|| unsafe { (*job.0)(index) })).is_ok();
        let mut st = lock(&shared.state);
        st.panicked |= !ok;
        st.pending -= 1;
        if st.pending == 0 {
            shared.done.notify_one();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.shared.state).shutdown = true;
        self.shared.start.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Splits `0..n` into `parts` contiguous ranges whose inner boundaries fall on multiples of
/// `align` elements (whole cache lines, so threads never write the same line); the last range
/// takes the remainder. Range `i` is `bounds(n, parts, align, i)`.
pub fn bounds(n: usize, parts: usize, align: usize, i: usize) -> std::ops::Range<usize> {
    let per = n.div_ceil(parts).div_ceil(align) * align;
    let start = (per * i).min(n);
    let end = (per * (i + 1)).min(n);
    start..end
}

/// The threads one step of one parameter runs on: the first `parts` of a pool's, or the calling
/// thread alone ([`Workers::SERIAL`]). Kernels that reduce over a whole tensor take one and
/// split their passes over it themselves.
#[derive(Clone, Copy)]
pub(crate) struct Workers<'a> {
    pool: Option<&'a Pool>,
    parts: usize,
}

impl<'a> Workers<'a> {
    /// The calling thread alone.
    pub(crate) const SERIAL: Workers<'static> = Workers {
        pool: None,
        parts: 1,
    };

    /// `parts` threads of `pool` (at most all of them, at least one).
    pub(crate) fn new(pool: &'a Pool, parts: usize) -> Workers<'a> {
        Workers {
            pool: Some(pool),
            parts: parts.clamp(1, pool.threads()),
        }
    }

    /// How many threads run a job.
    pub(crate) fn parts(&self) -> usize {
        self.parts
    }

    /// Calls `f(i)` once for every `i` in `0..self.parts()`, in parallel when there is more than
    /// one part, and returns when all calls have returned.
    pub(crate) fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        match self.pool {
            Some(pool) if self.parts > 1 => {
                let parts = self.parts;
                pool.run(&|i| {
                    if i < parts {
                        f(i)
                    }
                });
            }
            _ => f(0),
        }
    }
}

/// Something a job's threads share out in contiguous pieces: a slice, or several slices (and
/// other [`Split`]s) of the same number of items cut at the same places.
pub(crate) trait Split: Sized + Send {
    /// The first `at` items, and the rest.
    fn split_at(self, at: usize) -> (Self, Self);
}

impl<T: Send> Split for &mut [T] {
    fn split_at(self, at: usize) -> (Self, Self) {
        self.split_at_mut(at)
    }
}

impl<T: Sync> Split for &[T] {
    fn split_at(self, at: usize) -> (Self, Self) {
        <[T]>::split_at(self, at)
    }
}

/// A slice holding `self.1` values per item (the rows of a matrix of `self.1` columns), split
/// between items.
pub(crate) struct Rows<S>(pub S, pub usize);

impl<S: Split> Split for Rows<S> {
    fn split_at(self, at: usize) -> (Self, Self) {
        let (a, b) = self.0.split_at(at * self.1);
        (Rows(a, self.1), Rows(b, self.1))
    }
}

impl Split for () {
    fn split_at(self, _: usize) -> (Self, Self) {
        ((), ())
    }
}

macro_rules! split_tuple {
    ($($t:ident $a:ident $b:ident),*) => {
        impl<$($t: Split),*> Split for ($($t,)*) {
            fn split_at(self, at: usize) -> (Self, Self) {
                let ($($a,)*) = self;
                $(let ($a, $b) = $a.split_at(at);)*
                (($($a,)*), ($($b,)*))
            }
        }
    };
}
split_tuple!(A a0 a1, B b0 b1);
split_tuple!(A a0 a1, B b0 b1, C c0 c1);
split_tuple!(A a0 a1, B b0 b1, C c0 c1, D d0 d1);

/// A [`Split`] cut into contiguous pieces, one per thread of a job, each handed out once
/// ([`Pieces::take`]): how a job's threads get disjoint `&mut` access without allocating.
pub(crate) struct Pieces<B> {
    pieces: [Mutex<Option<B>>; MAX_THREADS],
}

impl<B: Split> Pieces<B> {
    /// Cuts `bundle` (of `len` items) into `parts` pieces, piece `i` ending at item `end(i)`
    /// (ends must not decrease; the last piece takes the rest).
    pub(crate) fn new(bundle: B, len: usize, parts: usize, end: impl Fn(usize) -> usize) -> Self {
        let pieces: [Mutex<Option<B>>; MAX_THREADS] = std::array::from_fn(|_| Mutex::new(None));
        let mut rest = Some(bundle);
        let mut start = 0;
        for (i, piece) in pieces.iter().enumerate().take(parts) {
            let Some(r) = rest.take() else { break };
            let at = if i + 1 == parts {
                len
            } else {
                end(i).clamp(start, len)
            };
            let (head, tail) = r.split_at(at - start);
            start = at;
            rest = Some(tail);
            *piece.lock().unwrap_or_else(PoisonError::into_inner) = Some(head);
        }
        Pieces { pieces }
    }

    /// Piece `i` (`None` if it was taken already or there is none).
    pub(crate) fn take(&self, i: usize) -> Option<B> {
        self.pieces
            .get(i)
            .and_then(|p| p.lock().unwrap_or_else(PoisonError::into_inner).take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_index_runs_once_per_job() {
        let pool = Pool::new(4);
        assert_eq!(pool.threads(), 4);
        let hits: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..100 {
            pool.run(&|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 100));
    }

    #[test]
    fn a_panicking_job_is_reported_and_the_pool_still_works() {
        let pool = Pool::new(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.run(&|i| {
                if i == 1 {
                    panic!("boom");
                }
            })
        }));
        assert!(r.is_err());
        let count = AtomicUsize::new(0);
        pool.run(&|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn bounds_cover_the_range_in_aligned_pieces() {
        for n in [0, 1, 15, 16, 17, 1000, 65_537] {
            for parts in 1..=5 {
                let mut next = 0;
                for i in 0..parts {
                    let r = bounds(n, parts, 16, i);
                    assert_eq!(r.start, next);
                    if r.end < n {
                        assert_eq!(r.end % 16, 0);
                    }
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
    }
}

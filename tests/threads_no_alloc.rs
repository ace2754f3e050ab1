//! With worker threads (`Trainer::set_threads`), stepping parameters large enough to be split
//! allocates nothing, on the calling thread or on the workers. One test in its own binary: the
//! counting allocator below counts every thread's allocations while the flag is set.

use optimc::optim::ParamMut;
use optimc::{Config, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn threaded_stepping_allocates_nothing() {
    let n = 1 << 17;
    let (vector, matrix): (&[usize], &[usize]) = (&[n], &[256, n / 256]);
    // Lamb, Adafactor and cautious Lion reduce over the whole tensor in blocks whose partial
    // sums live in the state.
    let sources = [
        (
            "optimizer = adam(lr = 0.01, amsgrad = true)\nschedule = cosine(t_max = 10)\n",
            vector,
        ),
        (
            "optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = step(step_size = 2)\n",
            vector,
        ),
        ("optimizer = nadam(lr = 0.01)\n", vector),
        ("optimizer = lamb(lr = 0.01)\n", vector),
        (
            "optimizer = lamb(lr = 0.01, caution = true, trust_clip = true)\n",
            vector,
        ),
        (
            "optimizer = adafactor(lr = 0.01, weight_decay = 0.1)\n",
            vector,
        ),
        ("optimizer = adafactor(lr = 0.01)\n", matrix),
        ("optimizer = lion(lr = 0.01, caution = true)\n", vector),
    ];
    for (source, shape) in sources {
        let config = Config::from_source("t.optim", source).unwrap();
        let mut trainer = Trainer::with_shapes(&config, &[("small", &[3]), ("w", shape)]).unwrap();
        trainer.set_threads(2);
        assert_eq!(trainer.optimizer().threads(), 2);
        let (mut w, g) = (vec![0.5f32; n], vec![0.1f32; n]);
        let (mut s, gs) = ([1.0f32; 3], [0.2f32; 3]);
        // The first step creates SGD's momentum buffer, as PyTorch does.
        trainer
            .step(&mut [
                ParamMut::named("small", &mut s, &gs),
                ParamMut::named("w", &mut w, &g),
            ])
            .unwrap();
        COUNTING.store(true, Ordering::SeqCst);
        for _ in 0..20 {
            trainer
                .step(&mut [
                    ParamMut::named("small", &mut s, &gs),
                    ParamMut::named("w", &mut w, &g),
                ])
                .unwrap();
            trainer.end_epoch().unwrap();
        }
        COUNTING.store(false, Ordering::SeqCst);
        assert_eq!(COUNT.load(Ordering::SeqCst), 0, "{source}");
    }
    // Muon's matrix products, shared among the threads, pack their operands into buffers
    // allocated with the state (and by `set_threads`), never in a step.
    let config = Config::from_source("t.optim", "optimizer = muon(lr = 0.02)\n").unwrap();
    let (rows, cols) = (200, 260);
    let mut trainer = Trainer::with_shapes(&config, &[("w", &[rows, cols])]).unwrap();
    trainer.set_threads(2);
    let (mut w, g) = (vec![0.5f32; rows * cols], vec![0.1f32; rows * cols]);
    // A first step gives the pool's new threads time to finish starting (their start-up
    // allocates; with a pause instead, the first step allocates nothing either).
    trainer
        .step(&mut [ParamMut::named("w", &mut w, &g)])
        .unwrap();
    COUNT.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        trainer
            .step(&mut [ParamMut::named("w", &mut w, &g)])
            .unwrap();
        trainer.end_epoch().unwrap();
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(COUNT.load(Ordering::SeqCst), 0, "muon");
    assert!(w.iter().all(|x| x.is_finite()));
}

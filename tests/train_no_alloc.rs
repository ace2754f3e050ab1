//! `Trainer::step` and `Trainer::end_epoch` allocate nothing once the first step has created the
//! buffers PyTorch creates lazily.

use optimc::optim::ParamMut;
use optimc::{Config, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
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
fn stepping_allocates_nothing() {
    let sources = [
        "optimizer = sgd(lr = 0.1, momentum = 0.9)\ngroup a { params = \"a\" }\ngroup b { params = \"b\", lr = 0.01 }\nschedule = cyclic(base_lr = 0.01, max_lr = 0.1, step_size_up = 3)\n",
        "optimizer = adam(lr = 0.01, amsgrad = true)\ngroup a { params = \"a\" }\ngroup b { params = \"b\" }\nschedule = plateau(mode = min, factor = 0.5, patience = 1)\n",
        "optimizer = nadam(lr = 0.01)\ngroup a { params = \"a\" }\ngroup b { params = \"b\" }\nschedule = step(step_size = 2, gamma = 0.5)\n",
    ];
    for source in sources {
        let config = Config::from_source("t.optim", source).unwrap();
        let mut trainer = Trainer::new(&config, &[("a", 4), ("b", 2)]).unwrap();
        let (mut a, mut b) = ([1.0f32; 4], [0.5f32; 2]);
        let (ga, gb) = ([0.1f32; 4], [-0.2f32; 2]);
        trainer
            .step(&mut [ParamMut::new(&mut a, &ga), ParamMut::new(&mut b, &gb)])
            .unwrap();
        COUNTING.with(|c| c.set(true));
        for e in 0..20 {
            trainer
                .step(&mut [ParamMut::new(&mut a, &ga), ParamMut::new(&mut b, &gb)])
                .unwrap();
            if trainer.schedule().needs_metric() {
                trainer.end_epoch_with(1.0 + f64::from(e % 3));
            } else {
                trainer.end_epoch();
            }
        }
        COUNTING.with(|c| c.set(false));
        assert_eq!(COUNT.with(Cell::get), 0, "{source}");
    }
}

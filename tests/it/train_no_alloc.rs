//! `Trainer::step` and `Trainer::end_epoch` allocate nothing once the first step has created the
//! buffers PyTorch creates lazily.

use crate::counting_alloc::allocations;
use optimc::optim::ParamMut;
use optimc::{Config, Trainer};

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
        let count = allocations(|| {
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
        });
        assert_eq!(count, 0, "{source}");
    }
}

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
        // Averaging: the first update (a copy), then updates every step; and one starting
        // inside the counted steps.
        "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a\" }\ngroup b { params = \"b\" }\nschedule = sequence(cosine(t_max = 5), swa(swa_lr = 0.05, anneal_epochs = 3), milestones = [5])\naverage = swa(start = 0)\n",
        "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a\" }\ngroup b { params = \"b\" }\naverage = ema(decay = 0.9, start = 3)\n",
        // A warmup of the momentum (betas[0] here), ending inside the counted steps.
        "optimizer = adamw(lr = 0.01)\ngroup a { params = \"a\" }\ngroup b { params = \"b\" }\nschedule = warmup(steps = 10, then = cosine(t_max = 20), start_momentum = [0.8, 0.85], clock = follow)\n",
    ];
    for source in sources {
        let config = Config::from_source("t.optim", source).unwrap();
        let mut trainer = Trainer::new(&config, &[("a", 4), ("b", 2)]).unwrap();
        let (mut a, mut b) = ([1.0f32; 4], [0.5f32; 2]);
        let (ga, gb) = ([0.1f32; 4], [-0.2f32; 2]);
        trainer
            .step(&mut [
                ParamMut::named("a", &mut a, &ga),
                ParamMut::named("b", &mut b, &gb),
            ])
            .unwrap();
        let count = allocations(|| {
            for e in 0..20 {
                trainer
                    .step(&mut [
                        ParamMut::named("a", &mut a, &ga),
                        ParamMut::named("b", &mut b, &gb),
                    ])
                    .unwrap();
                if trainer.schedule().needs_metric() {
                    trainer.end_epoch_with(1.0 + f64::from(e % 3));
                } else {
                    trainer.end_epoch().unwrap();
                }
            }
        });
        assert_eq!(count, 0, "{source}");
        if config.average.is_some() {
            assert!(trainer.n_averaged() > 10, "{source}");
        }
    }
}

/// Issue 15's optimizers through the language, on shaped parameters (a matrix and a vector):
/// every path of their kernels (Lamb's fused two passes and its caution passes, Adafactor's
/// factored and full moments, Lion's caution count) allocates nothing per step.
#[test]
fn shaped_optimizers_step_without_allocating() {
    let sources = [
        "optimizer = lamb(lr = 0.01)\n",
        "optimizer = lamb(lr = 0.01, caution = true, weight_decay = 0)\n",
        "optimizer = lamb(lr = 0.01, decoupled_decay = true, max_grad_norm = none)\n",
        "optimizer = adafactor(lr = 0.01, weight_decay = 0.1)\n",
        "optimizer = lion(lr = 0.01, caution = true)\n",
    ];
    let (rows, cols) = (6, 21);
    let ga: Vec<f32> = (0..rows * cols).map(|i| (i as f32 - 60.0) * 0.01).collect();
    let gb: Vec<f32> = (0..cols).map(|i| (i as f32 - 9.5) * 0.02).collect();
    for source in sources {
        let config = Config::from_source("t.optim", source).unwrap();
        let shapes: [(&str, &[usize]); 2] = [("a", &[rows, cols]), ("b", &[cols])];
        let mut trainer = Trainer::with_shapes(&config, &shapes).unwrap();
        let (mut a, mut b) = (vec![0.5f32; rows * cols], vec![-0.25f32; cols]);
        let step = |trainer: &mut Trainer, a: &mut [f32], b: &mut [f32]| {
            trainer
                .step(&mut [ParamMut::named("a", a, &ga), ParamMut::named("b", b, &gb)])
                .unwrap();
        };
        step(&mut trainer, &mut a, &mut b);
        let count = allocations(|| {
            for _ in 0..10 {
                step(&mut trainer, &mut a, &mut b);
                trainer.end_epoch().unwrap();
            }
        });
        assert_eq!(count, 0, "{source}");
        assert!(a.iter().chain(&b).all(|x| x.is_finite()), "{source}");
    }
}

/// The kernels of issue 15 (not yet reachable from the language) allocate nothing per step,
/// the shaped ones included: Adafactor's column sums and Muon's Newton-Schulz work space live in
/// their state, allocated once.
#[test]
fn new_kernels_allocate_nothing() {
    use optimc::optim::kernels::*;
    let (rows, cols) = (6, 5);
    let n = rows * cols;
    let grad: Vec<f32> = (0..n).map(|i| (i as f32 - 7.5) * 0.01).collect();
    let mut p = vec![0.5f32; n];
    // One state per kernel: each runs on the same parameter in turn.
    let [mut ax, mut prev, mut lion_m, mut lamb_m, mut lamb_v, mut muon_m] =
        std::array::from_fn(|_| vec![0.0f32; n]);
    let (mut row_var, mut col_var, mut col_sums) =
        (vec![0.0f32; rows], vec![0.0f32; cols], vec![0.0f32; cols]);
    let mut scratch = MuonScratch::new(rows, cols);
    let (mut step, mut eta, mut mu) = (0.0f32, asgd_initial_eta(0.01), 1.0f32);
    let (mut rprop_step, mut adafactor_step) = (0.0f32, 0.0f32);
    let mut sizes = vec![rprop_initial_step_size(0.01); n];
    let lion_options = LionOptions {
        caution: true,
        max_lr: Some(1e-3),
        ..LionOptions::default()
    };
    let lamb_options = LambOptions {
        caution: true,
        always_adapt: true,
        ..LambOptions::default()
    };
    let count = allocations(|| {
        for e in 1..=5 {
            asgd(
                &AsgdOptions::default(),
                &mut p,
                &grad,
                AsgdState {
                    step: &mut step,
                    eta: &mut eta,
                    mu: &mut mu,
                    ax: &mut ax,
                },
            );
            rprop(
                &RpropOptions::default(),
                &mut p,
                &grad,
                RpropState {
                    step: &mut rprop_step,
                    prev: &mut prev,
                    step_size: &mut sizes,
                },
            );
            lion(
                &lion_options,
                &mut p,
                &grad,
                LionState {
                    exp_avg: &mut lion_m,
                },
            );
            let clip = lamb_clip_factor([l2_norm(&grad)], 1.0);
            let state = LambState {
                step: e as f32,
                exp_avg: &mut lamb_m,
                exp_avg_sq: &mut lamb_v,
            };
            lamb(&lamb_options, Some(clip), &mut p, &grad, state);
            let moments = AdafactorMoments::Factored {
                rows,
                cols,
                row_var: &mut row_var,
                col_var: &mut col_var,
                col_sums: &mut col_sums,
            };
            let state = AdafactorState {
                step: &mut adafactor_step,
                moments,
            };
            adafactor(&AdafactorOptions::default(), &mut p, &grad, state);
            let state = MuonState {
                momentum_buffer: &mut muon_m,
                scratch: &mut scratch,
            };
            muon(&MuonOptions::default(), &mut p, &grad, state);
        }
    });
    assert_eq!(count, 0);
    assert!(p.iter().all(|x| x.is_finite()));
}

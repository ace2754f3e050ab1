//! Unit tests of grouping, stepping, state snapshots and resumption.

use super::*;
use crate::config::{Config, GroupConfig, Hyperparams, OptimizerKind};

fn config(kind: OptimizerKind, groups: &[(&str, &[&str])]) -> Config {
    let defaults = Hyperparams::defaults(kind);
    Config {
        optimizer: kind,
        defaults,
        groups: groups
            .iter()
            .map(|(name, pats)| {
                GroupConfig::new(
                    *name,
                    pats.iter().map(|p| p.to_string()).collect(),
                    defaults,
                )
            })
            .collect(),
        schedule: None,
        run: None,
        average: None,
    }
}

const MODEL: &[(&str, usize)] = &[
    ("base.layer1.weight", 6),
    ("base.layer1.bias", 3),
    ("base.layer2.weight", 4),
    ("classifier.weight", 5),
    ("classifier.bias", 1),
];

#[test]
fn parameters_join_the_first_matching_group() {
    let c = config(
        OptimizerKind::Sgd,
        &[
            ("no_decay", &["*.bias"]),
            ("base", &["base.*"]),
            ("head", &["classifier.*", "unused.*"]),
        ],
    );
    let opt = Optimizer::new(&c, MODEL).unwrap();
    assert_eq!(opt.num_groups(), 3);
    assert_eq!(opt.group_of("base.layer1.weight"), Some(1));
    assert_eq!(opt.group_of("base.layer1.bias"), Some(0));
    assert_eq!(opt.group_of("classifier.weight"), Some(2));
    assert_eq!(opt.group_of("classifier.bias"), Some(0));
    assert_eq!(opt.group_of("nope"), None);
    assert_eq!(opt.group_name(2), "head");
    let names: Vec<&str> = opt.param_names().collect();
    assert_eq!(names, MODEL.iter().map(|p| p.0).collect::<Vec<_>>());
}

/// `exclude` and `where` turn a parameter away from a group its patterns match: it goes on to
/// the first later group that takes it (nanoGPT's split: decay for matrices only).
#[test]
fn exclude_and_where_hand_parameters_to_later_groups() {
    let src = "optimizer = adamw(lr = 1e-3)\n\
               group decay { params = \"*\", exclude = \"*pos*\", where = 2 <= ndim }\n\
               group vectors { params = \"*\", where = ndim < 2 and ndim >= 1, weight_decay = 0 }\n\
               group rest { params = \"*\", weight_decay = 0 }";
    let c = Config::from_source("a.optim", src).unwrap();
    let shapes: &[(&str, &[usize])] = &[
        ("h.0.attn.weight", &[4, 3]),
        ("h.0.attn.bias", &[4]),
        ("wpe.pos", &[8, 3]),
        ("scalar", &[]),
    ];
    let opt = Optimizer::with_shapes(&c, shapes).unwrap();
    assert_eq!(opt.group_of("h.0.attn.weight"), Some(0));
    assert_eq!(opt.group_of("h.0.attn.bias"), Some(1));
    assert_eq!(opt.group_of("wpe.pos"), Some(2));
    assert_eq!(opt.group_of("scalar"), Some(2));
    // Lengths alone do not say how many dimensions a parameter has.
    let err = Optimizer::new(&c, &[("w", 12)]).unwrap_err();
    assert!(
        matches!(&err, GroupError::ShapesNeeded { group, condition } if group == "decay" && condition == "ndim >= 2"),
        "{err}"
    );
    // `exclude` alone needs no shapes.
    let c = Config::from_source(
        "b.optim",
        "optimizer = sgd(lr = 0.1)\ngroup a { params = \"*\", exclude = [\"*.bias\"] }\ngroup b { params = \"*\" }",
    )
    .unwrap();
    let opt = Optimizer::new(&c, MODEL).unwrap();
    assert_eq!(opt.group_of("base.layer1.weight"), Some(0));
    assert_eq!(opt.group_of("classifier.bias"), Some(1));
}

#[test]
fn every_unmatched_parameter_is_reported_at_once() {
    let c = config(
        OptimizerKind::Adam,
        &[
            ("base", &["base.layer?.weight"]),
            ("head", &["classifier.w*"]),
        ],
    );
    let err = Optimizer::new(&c, MODEL).unwrap_err();
    match &err {
        GroupError::Unmatched {
            names,
            groups,
            help,
        } => {
            assert_eq!(names, &["base.layer1.bias", "classifier.bias"]);
            assert_eq!(groups.len(), 2);
            assert!(help.contains("\"base.layer?.weight\""), "{help}");
            assert!(help.contains("\"classifier.w*\""), "{help}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("2 parameters match no group"), "{msg}");
    assert!(msg.contains("`base.layer1.bias`") && msg.contains("`classifier.bias`"));
    // It is a miette diagnostic with a code and a help line.
    let d: &dyn miette::Diagnostic = &err;
    assert_eq!(
        d.code().unwrap().to_string(),
        "optimc::unmatched_parameters"
    );
    assert!(d.help().is_some());
}

#[test]
fn a_single_unmatched_parameter_reads_naturally() {
    let c = config(OptimizerKind::Sgd, &[("base", &["base.*"])]);
    let err = Optimizer::new(&c, &[("base.w", 1), ("head.w", 1)]).unwrap_err();
    assert_eq!(err.to_string(), "parameter `head.w` matches no group");
}

#[test]
fn duplicate_parameter_names_are_refused() {
    let c = config(OptimizerKind::Sgd, &[("all", &["*"])]);
    let err = Optimizer::new(&c, &[("w", 1), ("w", 2)]).unwrap_err();
    assert_eq!(err, GroupError::Duplicate { name: "w".into() });
}

#[test]
fn step_checks_sizes_before_changing_anything() {
    let c = config(OptimizerKind::Sgd, &[("all", &["*"])]);
    let mut opt = Optimizer::new(&c, &[("a", 2), ("b", 3)]).unwrap();
    let (mut a, mut b) = ([1.0f32; 2], [1.0f32; 3]);
    let err = opt
        .step(&mut [ParamMut::new(&mut a, &[1.0, 1.0])])
        .unwrap_err();
    assert_eq!(
        err,
        StepError::ParamCount {
            expected: 2,
            got: 1
        }
    );
    let err = opt
        .step(&mut [
            ParamMut::new(&mut a, &[1.0, 1.0]),
            ParamMut::new(&mut b, &[1.0, 1.0]),
        ])
        .unwrap_err();
    assert_eq!(
        err,
        StepError::GradLength {
            name: "b".into(),
            expected: 3,
            got: 2
        }
    );
    assert_eq!(
        a, [1.0; 2],
        "nothing may change when a later parameter is wrong"
    );
    let mut short = [1.0f32; 1];
    let err = opt
        .step(&mut [
            ParamMut::new(&mut short, &[1.0]),
            ParamMut::new(&mut b, &[1.0; 3]),
        ])
        .unwrap_err();
    assert!(matches!(err, StepError::DataLength { ref name, .. } if name == "a"));
}

#[test]
fn parameters_without_gradient_keep_their_state() {
    let c = config(OptimizerKind::Adam, &[("all", &["*"])]);
    let mut opt = Optimizer::new(&c, &[("a", 1), ("b", 1)]).unwrap();
    let (mut a, mut b) = ([1.0f32], [1.0f32]);
    opt.step(&mut [
        ParamMut::new(&mut a, &[0.5]),
        ParamMut::without_grad(&mut b),
    ])
    .unwrap();
    assert_ne!(a, [1.0]);
    assert_eq!(b, [1.0]);
    let s = opt.state();
    assert_eq!(s.params[0].step, 1.0);
    assert_eq!(s.params[1].step, 0.0);
}

#[test]
fn lr_and_momentum_can_be_driven_between_steps() {
    let mut c = config(OptimizerKind::Sgd, &[("all", &["*"])]);
    c.groups[0].options.lr = 0.5;
    let mut opt = Optimizer::new(&c, &[("w", 1)]).unwrap();
    assert_eq!(opt.lr(0), 0.5);
    let mut w = [1.0f32];
    opt.step(&mut [ParamMut::new(&mut w, &[1.0])]).unwrap();
    assert_eq!(w, [0.5]);
    opt.set_lr(0, 0.25).unwrap();
    assert!(opt.set_momentum(0, 0.9).unwrap());
    assert_eq!(opt.momentum(0), Some(0.9));
    // First step with momentum: the buffer is the gradient itself.
    opt.step(&mut [ParamMut::new(&mut w, &[1.0])]).unwrap();
    assert_eq!(w, [0.25]);
    // Then buf = 0.9 * 1 + 1 = 1.9.
    opt.step(&mut [ParamMut::new(&mut w, &[1.0])]).unwrap();
    assert_eq!(w, [0.25f32 + (-0.25f32).mul_add(1.9f32, 0.0)]);

    let c = config(OptimizerKind::Adam, &[("all", &["*"])]);
    let mut opt = Optimizer::new(&c, &[("w", 1)]).unwrap();
    assert!(opt.set_momentum(0, 0.8).unwrap());
    assert_eq!(opt.hyperparams(0).betas, (0.8, 0.999));
    let c = config(OptimizerKind::Adagrad, &[("all", &["*"])]);
    let mut opt = Optimizer::new(&c, &[("w", 1)]).unwrap();
    assert!(!opt.set_momentum(0, 0.8).unwrap());
    assert_eq!(opt.momentum(0), None);
}

#[test]
fn adagrad_fills_its_sum_from_the_constructor_value_as_pytorch_does() {
    let mut c = config(OptimizerKind::Adagrad, &[("a", &["a"]), ("b", &["b"])]);
    c.defaults.initial_accumulator_value = 0.1;
    c.groups[0].options.initial_accumulator_value = 0.1;
    c.groups[1].options.initial_accumulator_value = 0.5;
    let opt = Optimizer::new(&c, &[("a", 2), ("b", 2)]).unwrap();
    let s = opt.state();
    assert_eq!(s.params[1].buffers["sum"], vec![0.1f32; 2]);
}

/// A config for `kind` exercising its options: two groups with different settings.
fn rich_config(kind: OptimizerKind) -> Config {
    let mut c = config(kind, &[("base", &["base.*"]), ("head", &["*"])]);
    let g = &mut c.groups;
    g[0].options.weight_decay = 0.01;
    g[0].options.momentum = 0.9;
    g[0].options.nesterov = kind == OptimizerKind::Sgd;
    g[0].options.amsgrad = true;
    g[0].options.centered = true;
    g[0].options.lr_decay = 0.01;
    g[0].options.decoupled_weight_decay = true;
    g[1].options.maximize = true;
    g[1].options.momentum = 0.5;
    g[1].options.dampening = 0.1;
    g[1].options.weight_decay = 0.02;
    g[1].options.betas = (0.8, 0.99);
    // Issue 15's optimizers: the branches their kernels and state take.
    g[0].options.caution = true;
    g[0].options.corrected_weight_decay = true;
    g[0].options.decoupled_decay = true;
    g[0].options.lambd = 1e-2;
    g[0].options.t0 = 5.0;
    g[0].options.ns_steps = 3;
    g[0].options.adjust_lr_fn = Some(crate::optim::kernels::MuonAdjustLr::MatchRmsAdamw);
    g[1].options.etas = (0.4, 1.3);
    g[1].options.trust_clip = true;
    g[1].options.adafactor_eps = (Some(1e-6), 1e-2);
    c
}

/// `(name, shape)` of the restore test's model: matrices and a vector (all matrices for Muon,
/// which takes nothing else).
fn shaped_model(kind: OptimizerKind) -> Vec<(&'static str, &'static [usize])> {
    let bias: &'static [usize] = if kind == OptimizerKind::Muon {
        &[1, 3]
    } else {
        &[3]
    };
    vec![("base.w", &[7, 2]), ("base.b", bias), ("head.w", &[2, 3])]
}

/// Deterministic pseudo-random gradients (xorshift), in [-1, 1).
fn grads(seed: u64, sizes: &[usize]) -> Vec<Vec<f32>> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    sizes
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                })
                .collect()
        })
        .collect()
}

fn run(opt: &mut Optimizer, params: &mut [Vec<f32>], epochs: std::ops::Range<u64>) {
    let sizes: Vec<usize> = params.iter().map(Vec::len).collect();
    for e in epochs {
        // A schedule-like change of lr and momentum every epoch.
        for g in 0..opt.num_groups() {
            opt.set_lr(g, 0.01 * (1.0 + (e as f64 * 0.7).sin()) + 1e-3)
                .unwrap();
            if opt.momentum(g).is_some() {
                opt.set_momentum(g, 0.85 + 0.1 * (e as f64 * 0.3).cos())
                    .unwrap();
            }
        }
        let gs = grads(e, &sizes);
        let mut handles: Vec<ParamMut<'_>> = params
            .iter_mut()
            .zip(&gs)
            .map(|(p, g)| ParamMut::new(p, g))
            .collect();
        opt.step(&mut handles).unwrap();
    }
}

fn bits(params: &[Vec<f32>]) -> Vec<Vec<u32>> {
    params
        .iter()
        .map(|p| p.iter().map(|x| x.to_bits()).collect())
        .collect()
}

#[test]
fn a_restored_optimizer_continues_bit_identically() {
    for kind in OptimizerKind::ALL {
        let model = &shaped_model(kind)[..];
        let c = rich_config(kind);
        let init: Vec<Vec<f32>> = grads(99, &[14, 3, 6]);
        let mut straight = Optimizer::with_shapes(&c, model).unwrap();
        let mut p1 = init.clone();
        run(&mut straight, &mut p1, 0..25);

        let mut first = Optimizer::with_shapes(&c, model).unwrap();
        let mut p2 = init.clone();
        run(&mut first, &mut p2, 0..11);
        let json = serde_json::to_string(&first.state()).unwrap();
        drop(first);
        let state: OptimizerState = serde_json::from_str(&json).unwrap();
        let mut resumed = Optimizer::with_shapes(&c, model).unwrap();
        resumed.restore(&state).unwrap();
        assert_eq!(
            resumed.state(),
            state,
            "{kind:?}: restore must take the whole state"
        );
        run(&mut resumed, &mut p2, 11..25);

        assert_eq!(bits(&p1), bits(&p2), "{kind:?} diverged after resuming");
        assert_eq!(straight.state(), resumed.state(), "{kind:?}");
        assert_ne!(p1, init, "{kind:?} did not move");
    }
}

#[test]
fn state_round_trips_non_finite_values_through_json() {
    let c = config(OptimizerKind::Adam, &[("all", &["*"])]);
    let mut opt = Optimizer::new(&c, &[("w", 3)]).unwrap();
    let mut w = [0.0f32, 1.0, 2.0];
    opt.step(&mut [ParamMut::new(
        &mut w,
        &[f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
    )])
    .unwrap();
    let s = opt.state();
    let json = serde_json::to_string(&s).unwrap();
    assert!(
        json.contains("\"NaN\"") && json.contains("\"inf\""),
        "{json}"
    );
    let back: OptimizerState = serde_json::from_str(&json).unwrap();
    let before: Vec<u32> = s.params[0].buffers["exp_avg"]
        .iter()
        .map(|x| x.to_bits())
        .collect();
    let after: Vec<u32> = back.params[0].buffers["exp_avg"]
        .iter()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(before.len(), 3);
    for (b, a) in before.iter().zip(&after) {
        let (b, a) = (f32::from_bits(*b), f32::from_bits(*a));
        assert!(b == a || (b.is_nan() && a.is_nan()), "{b} vs {a}");
    }
}

#[test]
fn restore_refuses_foreign_states_and_changes_nothing() {
    let model: &[(&str, usize)] = &[("base.w", 2), ("head.w", 3)];
    let c = rich_config(OptimizerKind::Adam);
    let mut opt = Optimizer::new(&c, model).unwrap();
    let mut ps = vec![vec![1.0f32; 2], vec![1.0f32; 3]];
    run(&mut opt, &mut ps, 0..3);
    let good = opt.state();
    let fresh = Optimizer::new(&c, model).unwrap();

    let try_restore = |s: &OptimizerState| {
        let mut o = fresh.clone();
        let before = o.state();
        let r = o.restore(s);
        assert_eq!(
            o.state(),
            before,
            "a refused restore must leave the optimizer alone"
        );
        r.unwrap_err()
    };

    let other_kind = Optimizer::new(&rich_config(OptimizerKind::AdamW), model)
        .unwrap()
        .state();
    assert_eq!(
        try_restore(&other_kind),
        StateError::Kind {
            expected: "Adam",
            found: "AdamW"
        }
    );

    let mut s = good.clone();
    s.params[1].name = "head.weight".into();
    assert!(matches!(
        try_restore(&s),
        StateError::ParamName { index: 1, .. }
    ));

    let mut s = good.clone();
    s.params.pop();
    assert_eq!(
        try_restore(&s),
        StateError::ParamCount {
            expected: 2,
            found: 1
        }
    );

    let mut s = good.clone();
    s.params[0].len = 4;
    assert!(matches!(
        try_restore(&s),
        StateError::ParamLength {
            expected: 2,
            found: 4,
            ..
        }
    ));

    let mut s = good.clone();
    s.params[0].buffers.get_mut("exp_avg").unwrap().push(0.0);
    let e = try_restore(&s);
    assert!(matches!(e, StateError::BufferLength { ref buffer, .. } if buffer == "exp_avg"));

    let mut s = good.clone();
    s.params[0]
        .buffers
        .insert("momentum_buffer".into(), vec![0.0; 2]);
    let e = try_restore(&s);
    assert!(matches!(e, StateError::UnknownBuffer { .. }), "{e:?}");
    assert!(e.to_string().contains("momentum_buffer"));

    let mut s = good.clone();
    s.params[1].buffers.remove("exp_avg_sq");
    assert!(matches!(try_restore(&s), StateError::MissingBuffer { .. }));

    let mut s = good.clone();
    s.params[1].group = 0;
    assert!(matches!(try_restore(&s), StateError::ParamGroup { .. }));

    let mut s = good.clone();
    s.groups[0].name = "backbone".into();
    assert!(matches!(
        try_restore(&s),
        StateError::GroupName { index: 0, .. }
    ));

    let mut s = good.clone();
    s.groups.pop();
    assert!(matches!(try_restore(&s), StateError::GroupCount { .. }));

    // The untouched state is accepted.
    let mut o = fresh.clone();
    o.restore(&good).unwrap();
    assert_eq!(o.state(), good);
}

#[test]
fn sgd_momentum_buffer_appears_at_the_first_step_with_momentum() {
    let c = config(OptimizerKind::Sgd, &[("all", &["*"])]);
    let mut opt = Optimizer::new(&c, &[("w", 2)]).unwrap();
    let mut w = [1.0f32, 1.0];
    opt.step(&mut [ParamMut::new(&mut w, &[1.0, 1.0])]).unwrap();
    assert!(opt.state().params[0].buffers.is_empty());
    opt.set_momentum(0, 0.9).unwrap();
    opt.step(&mut [ParamMut::new(&mut w, &[1.0, 2.0])]).unwrap();
    assert_eq!(
        opt.state().params[0].buffers["momentum_buffer"],
        vec![1.0, 2.0]
    );
}

#[test]
fn kernels_panic_on_mismatched_lengths() {
    let hp = Hyperparams::defaults(OptimizerKind::Adam);
    let r = std::panic::catch_unwind(|| {
        let (mut p, mut m, mut v, mut step) = ([0.0f32; 2], [0.0f32; 2], [0.0f32; 1], 0.0f32);
        kernels::adam(
            &hp,
            &mut p,
            &[1.0, 1.0],
            kernels::AdamState {
                step: &mut step,
                exp_avg: &mut m,
                exp_avg_sq: &mut v,
                max_exp_avg_sq: None,
            },
        );
    });
    assert!(r.is_err());
}

/// Every optimizer, with the options that select other kernel branches, stepped on a tensor
/// large enough to be split: the threaded result is bit-identical to the single-threaded one,
/// values and state alike.
#[test]
fn threaded_steps_are_bit_identical_to_single_threaded() {
    let sources = [
        "sgd(lr = 0.1)",
        "sgd(lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 1e-2)",
        "sgd(lr = 0.1, momentum = 0.9, dampening = 0.1, maximize = true)",
        "adam(lr = 1e-2, amsgrad = true, weight_decay = 1e-2)",
        "adamw(lr = 1e-2)",
        "rmsprop(lr = 1e-2, centered = true, momentum = 0.9, weight_decay = 1e-3)",
        "rmsprop(lr = 1e-2)",
        "adagrad(lr = 1e-2, lr_decay = 1e-3, initial_accumulator_value = 0.1)",
        "adadelta(lr = 1.0, weight_decay = 1e-2)",
        "adamax(lr = 2e-3)",
        "nadam(lr = 2e-3, decoupled_weight_decay = true, weight_decay = 1e-2)",
        "radam(lr = 1e-3, weight_decay = 1e-2)",
        "rprop(lr = 1e-2, etas = (0.4, 1.3), maximize = true)",
        "asgd(lr = 1e-2, t0 = 1, weight_decay = 1e-2)",
        "lion(lr = 1e-3, weight_decay = 0.1)",
        "lion(lr = 1e-3, caution = true)",
        "lamb(lr = 1e-2, caution = true)",
        "adafactor(lr = 1e-2, weight_decay = 1e-2)",
        "muon(lr = 1e-2, ns_steps = 2)",
    ];
    // Not a multiple of the chunk alignment, and more than two threads' worth.
    let n = 3 * MIN_PER_THREAD + 123;
    let init: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let grads: Vec<Vec<f32>> = (0..3)
        .map(|s| {
            (0..n)
                .map(|i| (((i + 17 * s) * 104_729) % 1999) as f32 / 999.0 - 1.0)
                .collect()
        })
        .collect();
    for src in sources {
        let config = Config::from_source("t.optim", &format!("optimizer = {src}")).unwrap();
        let run = |threads: usize| {
            // Muon takes matrices only: one row each.
            let shapes: [(&str, &[usize]); 2] = if config.optimizer == OptimizerKind::Muon {
                [("small", &[1, 5]), ("w", &[1, n])]
            } else {
                [("small", &[5]), ("w", &[n])]
            };
            let mut opt = Optimizer::with_shapes(&config, &shapes).unwrap();
            opt.set_threads(threads);
            assert_eq!(opt.threads(), threads.max(1));
            let mut w = init.clone();
            let mut small = [1.0f32, -2.0, 3.0, 0.5, 0.0];
            for g in &grads {
                let mut params = [ParamMut::new(&mut small, &g[..5]), ParamMut::new(&mut w, g)];
                opt.step(&mut params).unwrap();
            }
            (w, small, opt.state())
        };
        let (w1, s1, state1) = run(1);
        for threads in [2, 3, 4] {
            let (w, s, state) = run(threads);
            assert!(
                w.iter().zip(&w1).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{src} with {threads} threads"
            );
            assert_eq!(s.map(f32::to_bits), s1.map(f32::to_bits), "{src}");
            assert_eq!(state, state1, "{src} with {threads} threads");
        }
    }
}

/// Pseudo-random values in [-1, 1) (a fixed LCG: the tests need no real randomness).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Lamb, Adafactor and cautious Lion reduce over whole tensors in fixed blocks, so 1 to 4
/// threads give the same bits, for every option that changes the kernel's passes and for
/// shapes whose blocks, rows and columns do not divide evenly among the threads.
#[test]
fn whole_tensor_reductions_give_the_same_bits_at_every_thread_count() {
    let lamb_and_lion = [
        "lamb(lr = 1e-2)",
        "lamb(lr = 1e-2, max_grad_norm = none, weight_decay = 0)",
        "lamb(lr = 1e-2, caution = true, trust_clip = true)",
        "lamb(lr = 1e-2, caution = true, weight_decay = 0)",
        "lamb(lr = 1e-2, weight_decay = 0, always_adapt = true, grad_averaging = false)",
        "lamb(lr = 1e-2, decoupled_decay = true, corrected_weight_decay = true, max_grad_norm = none)",
        "lion(lr = 1e-3, caution = true)",
        "lion(lr = 1e-3, caution = true, maximize = true, weight_decay = 0.1)",
    ];
    let adafactor = [
        "adafactor(lr = 1e-2)",
        "adafactor(lr = 1e-2, weight_decay = 1e-2, maximize = true)",
    ];
    // 1000 x 333 for every source (Lamb and Lion see only the length), 10^6 for one of each
    // kernel's passes (it takes a while in a debug build); batches of matrices, one column, and
    // rows longer than a block for Adafactor's factored moments.
    let mut cases: Vec<(&str, Vec<usize>)> = Vec::new();
    for src in lamb_and_lion.iter().chain(&adafactor) {
        cases.push((src, vec![1000, 333]));
    }
    for src in [lamb_and_lion[0], lamb_and_lion[2], lamb_and_lion[6]] {
        cases.push((src, vec![1_000_000]));
    }
    for src in adafactor {
        for shape in [
            vec![1_000_000],
            vec![3, 250, 131],
            vec![70_001, 1],
            vec![2, 40_000],
        ] {
            cases.push((src, shape));
        }
    }
    for (src, shape) in cases {
        let config = Config::from_source("t.optim", &format!("optimizer = {src}")).unwrap();
        let n: usize = shape.iter().product();
        let init = noise(n, 1);
        let grads = [noise(n, 2), noise(n, 3)];
        let run = |threads: usize| {
            let shapes: [(&str, &[usize]); 2] = [("small", &[5]), ("w", &shape)];
            let mut opt = Optimizer::with_shapes(&config, &shapes).unwrap();
            opt.set_threads(threads);
            let mut w = init.clone();
            let mut small = [1.0f32, -2.0, 3.0, 0.5, 0.0];
            for g in &grads {
                let mut params = [ParamMut::new(&mut small, &g[..5]), ParamMut::new(&mut w, g)];
                opt.step(&mut params).unwrap();
            }
            (w, opt.state())
        };
        let (w1, state1) = run(1);
        for threads in [2, 3, 4] {
            let (w, state) = run(threads);
            assert!(
                w.iter().zip(&w1).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{src} {shape:?} with {threads} threads"
            );
            assert!(state == state1, "{src} {shape:?} with {threads} threads");
        }
    }
}

/// Muon's matrix products share out their output among the threads: 1, 2 and 3 threads give
/// the same bits, on a tall matrix and a wide one large enough for every product to be split
/// (the Gram matrix of the tall one stays on one thread: too small to be worth it).
#[test]
fn muon_gives_the_same_bits_on_any_thread_count() {
    let config = Config::from_source("t.optim", "optimizer = muon(lr = 0.02)\n").unwrap();
    for (rows, cols) in [(300, 97), (200, 260)] {
        let n = rows * cols;
        let run = |threads: usize| {
            let mut opt = Optimizer::with_shapes(&config, &[("w", &[rows, cols])]).unwrap();
            opt.set_threads(threads);
            let mut w: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 2001) as f32 / 2000.0 - 0.5)
                .collect();
            for s in 0..3 {
                let g: Vec<f32> = (0..n)
                    .map(|i| (((i + 17 * s) * 104_729) % 1999) as f32 / 999.0 - 1.0)
                    .collect();
                opt.step(&mut [ParamMut::new(&mut w, &g)]).unwrap();
            }
            (
                w.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                opt.state(),
            )
        };
        let (w1, state1) = run(1);
        for threads in [2, 3] {
            let (w, state) = run(threads);
            assert!(w == w1, "{rows}x{cols} on {threads} threads");
            assert_eq!(state, state1, "{rows}x{cols} on {threads} threads");
        }
    }
}

#[test]
fn optimizers_with_threads_can_move_between_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let config = Config::from_source("t.optim", "optimizer = adam(lr = 1e-3)").unwrap();
    let mut opt = Optimizer::new(&config, &[("w", 4)]).unwrap();
    opt.set_threads(3);
    send_sync(&opt);
    let copy = opt.clone();
    assert_eq!(copy.threads(), 3);
    let handle = std::thread::spawn(move || {
        let mut w = [1.0f32; 4];
        let mut opt = opt;
        opt.step(&mut [ParamMut::new(&mut w, &[0.5; 4])]).unwrap();
        opt.set_threads(1);
        opt.threads()
    });
    assert_eq!(handle.join().unwrap(), 1);
    assert_eq!(copy.threads(), 3);
}

#[test]
fn shapes_are_registered_and_kept_in_the_state() {
    let c = config(OptimizerKind::Adam, &[("all", &["*"])]);
    let opt = Optimizer::with_shapes(&c, &[("w", &[2, 3]), ("b", &[2]), ("s", &[])]).unwrap();
    assert_eq!(opt.param_shape(0), &[2, 3]);
    assert_eq!(opt.param_len(0), 6);
    assert_eq!(opt.param_shape(1), &[2]);
    // A 0-dimensional parameter (a scalar) holds one value.
    assert_eq!(opt.param_len(2), 1);
    let state = opt.state();
    assert_eq!(state.params[0].shape, Some(vec![2, 3]));
    // Vectors are written as before shapes existed.
    assert_eq!(state.params[1].shape, None);
    assert_eq!(state.params[2].shape, Some(vec![]));

    let mut transposed =
        Optimizer::with_shapes(&c, &[("w", &[3, 2]), ("b", &[2]), ("s", &[])]).unwrap();
    assert_eq!(
        transposed.restore(&state).unwrap_err(),
        StateError::ParamShape {
            name: "w".into(),
            expected: vec![3, 2],
            found: vec![2, 3],
        }
    );
    // A state written before shapes existed fits any shape of the same length.
    let mut unshaped = state.clone();
    for p in &mut unshaped.params {
        p.shape = None;
    }
    transposed.restore(&unshaped).unwrap();

    let by_length = Optimizer::new(&c, &[("w", 6)]).unwrap();
    assert_eq!(by_length.param_shape(0), &[6]);
}

/// Muon takes only matrices, as PyTorch's constructor refuses any other parameter; the error
/// names the parameter and its shape.
#[test]
fn muon_refuses_parameters_that_are_not_matrices() {
    let c = config(OptimizerKind::Muon, &[("all", &["*"])]);
    for shape in [&[5][..], &[2, 3, 4], &[]] {
        let err = Optimizer::with_shapes(&c, &[("w", &[4, 3]), ("b", shape)]).unwrap_err();
        assert_eq!(
            err,
            GroupError::Shape {
                name: "b".into(),
                shape: shape.to_vec(),
                optimizer: "Muon",
            }
        );
        let text = err.to_string();
        assert!(text.contains("Muon takes only 2-D parameters"), "{text}");
        assert!(text.contains(&format!("`b` has shape {shape:?}")), "{text}");
    }
    // Registered by length, a parameter is a vector.
    assert!(Optimizer::new(&c, &[("w", 12)]).is_err());
    assert!(Optimizer::with_shapes(&c, &[("w", &[4, 3]), ("v", &[1, 7])]).is_ok());
    // The other optimizers take any shape.
    let c = config(OptimizerKind::Adafactor, &[("all", &["*"])]);
    assert!(Optimizer::with_shapes(&c, &[("w", &[2, 3, 4]), ("b", &[5]), ("s", &[])]).is_ok());
}

/// Adafactor keeps row and column factors for a matrix (and for each matrix of a batch) and a
/// full variance for anything else; a state file must hold exactly those.
#[test]
fn adafactor_state_follows_the_shape() {
    let c = config(OptimizerKind::Adafactor, &[("all", &["*"])]);
    let shapes: [(&str, &[usize]); 3] = [("w", &[4, 3]), ("t", &[2, 3, 5]), ("b", &[5])];
    let mut opt = Optimizer::with_shapes(&c, &shapes).unwrap();
    let mut params: Vec<Vec<f32>> = grads(1, &[12, 30, 5]);
    let gs = grads(2, &[12, 30, 5]);
    let mut handles: Vec<ParamMut<'_>> = params
        .iter_mut()
        .zip(&gs)
        .map(|(p, g)| ParamMut::new(p, g))
        .collect();
    opt.step(&mut handles).unwrap();
    let s = opt.state();
    let lens = |i: usize| -> Vec<(&str, usize)> {
        s.params[i]
            .buffers
            .iter()
            .map(|(k, v)| (k.as_str(), v.len()))
            .collect()
    };
    assert_eq!(lens(0), [("col_var", 3), ("row_var", 4)]);
    assert_eq!(lens(1), [("col_var", 10), ("row_var", 6)]);
    assert_eq!(lens(2), [("variance", 5)]);
    assert_eq!(s.params[0].step, 1.0);
    // A matrix's state with a `variance` is refused, naming what it keeps.
    let mut bad = s.clone();
    bad.params[0]
        .buffers
        .insert("variance".into(), vec![0.0; 12]);
    let err = opt.restore(&bad).unwrap_err();
    assert!(err.to_string().contains("no buffer `variance`"), "{err}");
    let mut bad = s.clone();
    bad.params[0]
        .buffers
        .insert("row_var".into(), vec![0.0; 12]);
    let err = opt.restore(&bad).unwrap_err();
    assert!(
        matches!(err, StateError::BufferLength { expected: 4, .. }),
        "{err}"
    );
    let mut bad = s.clone();
    bad.params[1].buffers.remove("col_var");
    assert!(matches!(
        opt.restore(&bad).unwrap_err(),
        StateError::MissingBuffer { .. }
    ));
    opt.restore(&s).unwrap();
}

/// timm's Lamb counts steps per group, for every `step()`, with or without gradients; the
/// count is part of the state.
#[test]
fn lamb_counts_steps_per_group() {
    let c = config(OptimizerKind::Lamb, &[("a", &["a"]), ("b", &["b"])]);
    let mut opt = Optimizer::new(&c, &[("a", 3), ("b", 2)]).unwrap();
    let (mut a, mut b) = (vec![1.0f32; 3], vec![1.0f32; 2]);
    for _ in 0..3 {
        opt.step(&mut [
            ParamMut::new(&mut a, &[0.1, 0.2, 0.3]),
            ParamMut::without_grad(&mut b),
        ])
        .unwrap();
    }
    let s = opt.state();
    assert_eq!(s.groups[0].step, Some(3.0));
    assert_eq!(s.groups[1].step, Some(3.0));
    assert_eq!(b, [1.0, 1.0]);
    let mut fresh = Optimizer::new(&c, &[("a", 3), ("b", 2)]).unwrap();
    fresh.restore(&s).unwrap();
    assert_eq!(fresh.state(), s);
    // ASGD's eta and mu are part of the state too; a stepped ASGD state without them is refused.
    let c = config(OptimizerKind::Asgd, &[("all", &["*"])]);
    let mut opt = Optimizer::new(&c, &[("w", 2)]).unwrap();
    let mut w = vec![1.0f32, 2.0];
    opt.step(&mut [ParamMut::new(&mut w, &[0.5, -0.5])])
        .unwrap();
    let s = opt.state();
    // The eta of the next step: lr / (1 + lambd * lr * step)^alpha.
    let eta = (0.01 / (1.0 + 1e-4 * 0.01f64).powf(0.75)) as f32;
    assert_eq!(s.params[0].eta, Some(eta));
    assert_eq!(s.params[0].mu, Some(1.0));
    let mut bad = s.clone();
    bad.params[0].eta = None;
    assert!(matches!(
        opt.restore(&bad).unwrap_err(),
        StateError::MissingBuffer { .. }
    ));
}

/// Summing a large tensor's norms in fixed blocks instead of in one run (what the kernels did
/// before they were threaded, and still do for a tensor of one block) changes the last bits of
/// a sum only. Lamb's f64 sums come out the same here. Adafactor's parameter RMS is a float32
/// sum in ATen's order, and one run of 10^6 squares in 16 float32 lanes is itself 6.6e-6 off
/// the exact sum (the blocks' sum is within 1e-7): every step scales all updates by that
/// difference, which moves values by a few ulps (4.8e-7 at most, next to values up to 1; that
/// is 3e-6 relative to values of 0.04). So the bound checked is relative to the tensor's
/// largest value: within 1e-6 after five steps on 10^6 values.
#[test]
fn block_sums_stay_within_1e_6_of_one_run() {
    use kernels::adafactor::{adafactor_on, AdafactorSums};
    use kernels::lamb::{lamb_on, LambSums};
    use kernels::*;
    use threads::Workers;
    let n = 1_000_000;
    let init = noise(n, 4);
    let grads: Vec<Vec<f32>> = (0..5).map(|s| noise(n, 10 + s)).collect();
    let close = |what: &str, a: &[f32], b: &[f32]| {
        let (mut worst, mut worst_abs, mut largest) = (0.0f64, 0.0f64, 0.0f64);
        for (&x, &y) in a.iter().zip(b) {
            let abs = (f64::from(x) - f64::from(y)).abs();
            worst_abs = worst_abs.max(abs);
            largest = largest.max(f64::from(y.abs()));
            // As the conformance tests measure: within 1e-7 counts as equal.
            if abs > 1e-7 {
                worst = worst.max(abs / f64::from(y.abs()));
            }
        }
        let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
        println!(
            "{what}: {differ} of {} values differ, worst {worst_abs:.2e} (largest value {largest:.2}), worst relative to the value {worst:.2e}",
            a.len()
        );
        assert!(worst_abs <= 1e-6 * largest, "{what}: {worst_abs}");
    };
    for caution in [false, true] {
        let o = LambOptions {
            lr: 1e-2,
            caution,
            ..LambOptions::default()
        };
        let run = |block: usize| {
            let (mut p, mut m, mut v) = (init.clone(), vec![0.0; n], vec![0.0; n]);
            for (e, g) in grads.iter().enumerate() {
                let clip = lamb_clip_factor([l2_norm(g)], 1.0);
                let state = LambState {
                    step: (e + 1) as f32,
                    exp_avg: &mut m,
                    exp_avg_sq: &mut v,
                };
                let sums: &mut [LambSums] = &mut [];
                lamb_on(
                    &o,
                    Some(clip),
                    &mut p,
                    g,
                    state,
                    sums,
                    Workers::SERIAL,
                    block,
                );
            }
            p
        };
        close(
            &format!("lamb caution={caution}"),
            &run(REDUCE_BLOCK),
            &run(n),
        );
    }
    for shape in [vec![n], vec![1000, 1000]] {
        let o = AdafactorOptions {
            weight_decay: 1e-2,
            ..AdafactorOptions::default()
        };
        let run = |block: usize| {
            let mut p = init.clone();
            let mut step = 0.0;
            let (mut variance, mut row_var, mut col_var, mut col_sums) = (
                vec![0.0; n],
                vec![0.0; 1000],
                vec![0.0; 1000],
                vec![0.0; 1000],
            );
            for g in &grads {
                let moments = match adafactor_factoring(&shape) {
                    Some((_, rows, cols)) => AdafactorMoments::Factored {
                        rows,
                        cols,
                        row_var: &mut row_var,
                        col_var: &mut col_var,
                        col_sums: &mut col_sums,
                    },
                    None => AdafactorMoments::Full {
                        variance: &mut variance,
                    },
                };
                let state = AdafactorState {
                    step: &mut step,
                    moments,
                };
                let sums: &mut [AdafactorSums] = &mut [];
                adafactor_on(&o, &mut p, g, state, sums, Workers::SERIAL, block);
            }
            p
        };
        close(&format!("adafactor {shape:?}"), &run(REDUCE_BLOCK), &run(n));
    }
}

/// A parameter with a zero-size dimension (`[0, 5]`, `[5, 0]`, and `[0]` where 1-D is
/// accepted) is stepped without a panic by the optimizers that reduce over whole tensors; it
/// has nothing to update.
#[test]
fn parameters_with_a_zero_size_dimension_step_without_panicking() {
    for kind in [
        OptimizerKind::Adafactor,
        OptimizerKind::Muon,
        OptimizerKind::Lamb,
        OptimizerKind::Lion,
    ] {
        let c = config(kind, &[("all", &["*"])]);
        // Muon takes matrices only (PyTorch's rule): `[0]` would be refused.
        let flat: &[usize] = if kind == OptimizerKind::Muon {
            &[0, 1]
        } else {
            &[0]
        };
        let shapes: [(&str, &[usize]); 4] = [
            ("rows", &[0, 5]),
            ("cols", &[5, 0]),
            ("flat", flat),
            ("w", &[2, 3]),
        ];
        let mut opt = Optimizer::with_shapes(&c, &shapes).unwrap();
        let mut w = [1.0f32, -2.0, 3.0, 0.5, 0.25, -1.0];
        let g = [0.5f32, 0.25, -1.0, 1.0, -0.5, 2.0];
        let before = w;
        for _ in 0..2 {
            let (mut a, mut b, mut e) = ([0.0f32; 0], [0.0f32; 0], [0.0f32; 0]);
            opt.step(&mut [
                ParamMut::new(&mut a, &[]),
                ParamMut::new(&mut b, &[]),
                ParamMut::new(&mut e, &[]),
                ParamMut::new(&mut w, &g),
            ])
            .unwrap();
        }
        assert_ne!(w, before, "{kind:?}: the non-empty parameter still steps");
    }
}

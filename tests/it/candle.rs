//! `optimc::candle` (cargo feature `candle`): candle `Var`s stepped through `CandleTrainer` get
//! exactly the values the plain `Trainer` gives the same numbers; bad `Var`s and gradients are
//! refused with typed errors; the `train_candle` example converges; a step allocates nothing of
//! its own.

#[allow(dead_code)]
#[path = "../../examples/train_candle.rs"]
mod train_candle;

use crate::counting_alloc::allocations;
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, InplaceOp1, Tensor, Var};
use optimc::candle::CandleTrainer;
use optimc::error::ErrorKind;
use optimc::optim::{GroupError, ParamMut, StepError};
use optimc::{Config, Trainer};

const ADAM: &str = r#"
optimizer = adam(lr = 0.01, weight_decay = 1e-2, amsgrad = true)
group weights { params = "*.weight" }
group biases  { params = "*.bias", lr = 0.05, weight_decay = 0 }
schedule = step(step_size = 2, gamma = 0.5)
"#;

const SGD: &str = r#"
optimizer = sgd(lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 1e-3)
group weights { params = "*.weight" }
group biases  { params = "*.bias", lr = 0.02, momentum = 0.5, nesterov = false }
schedule = cyclic(base_lr = [0.01, 0.001], max_lr = [0.1, 0.02], step_size_up = 2)
"#;

const RMSPROP_PLATEAU: &str = r#"
optimizer = rmsprop(lr = 0.01, momentum = 0.5, centered = true)
group weights { params = "*.weight" }
group biases  { params = "*.bias", lr = 0.002 }
schedule = plateau(mode = min, factor = 0.5, patience = 0)
"#;

/// A deterministic generator (xorshift64*), uniform in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn fill(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn config(source: &str) -> Config {
    Config::from_source("test.optim", source).unwrap()
}

fn values(var: &Var) -> Vec<f32> {
    var.flatten_all().unwrap().to_vec1().unwrap()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Names, shapes and the steps (0-based) at which each parameter has no gradient.
const PARAMS: [(&str, &[usize], &[usize]); 3] = [
    ("fc.weight", &[3, 2], &[]),
    ("fc.bias", &[3], &[2]),
    ("head.weight", &[1, 3], &[0, 3, 4]),
];

/// Steps `CandleTrainer` over candle `Var`s and the plain `Trainer` over `Vec<f32>`s with the
/// same gradients (two steps per epoch, some parameters without a gradient at some steps), and
/// compares every value bit for bit after every step.
fn assert_equivalent(source: &str) {
    let config = config(source);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let init: Vec<Vec<f32>> = PARAMS
        .iter()
        .map(|(_, shape, _)| rng.fill(shape.iter().product()))
        .collect();
    let vars: Vec<(String, Var)> = PARAMS
        .iter()
        .zip(&init)
        .map(|((name, shape, _), v)| {
            let var = Var::from_vec(v.clone(), *shape, &Device::Cpu).unwrap();
            (name.to_string(), var)
        })
        .collect();
    let mut candle = CandleTrainer::new(&config, vars.clone()).unwrap();
    let registered: Vec<(&str, usize)> = PARAMS
        .iter()
        .zip(&init)
        .map(|((name, _, _), v)| (*name, v.len()))
        .collect();
    let mut plain = Trainer::new(&config, &registered).unwrap();
    let mut data = init.clone();

    for step in 0..6 {
        let mut store = GradStore::default();
        let grads: Vec<Option<Vec<f32>>> = PARAMS
            .iter()
            .zip(&vars)
            .map(|((_, shape, skipped), (_, var))| {
                let grad = rng.fill(shape.iter().product());
                if skipped.contains(&step) {
                    return None;
                }
                let tensor = Tensor::from_vec(grad.clone(), *shape, &Device::Cpu).unwrap();
                store.insert(var, tensor);
                Some(grad)
            })
            .collect();
        candle.step(&store).unwrap();
        let mut params: Vec<ParamMut<'_>> = data
            .iter_mut()
            .zip(&grads)
            .zip(vars.iter())
            .map(|((d, g), (name, _))| match g {
                Some(g) => ParamMut::named(name, d, g),
                None => ParamMut::without_grad(d).with_name(name),
            })
            .collect();
        plain.step(&mut params).unwrap();
        for ((name, var), expected) in vars.iter().zip(&data) {
            assert_eq!(
                bits(&values(var)),
                bits(expected),
                "{name} after step {step}"
            );
        }
        if step % 2 == 1 {
            if plain.schedule().needs_metric() {
                // Not falling: the plateau halves the lrs.
                candle.end_epoch_with(1.0);
                plain.end_epoch_with(1.0);
            } else {
                candle.end_epoch().unwrap();
                plain.end_epoch().unwrap();
            }
        }
        assert_eq!(candle.lrs(), plain.lrs());
        for (name, _) in &vars {
            assert_eq!(
                candle.trainer().averaged(name).map(bits),
                plain.averaged(name).map(bits),
                "average of {name} after step {step}"
            );
        }
        assert_eq!(candle.n_averaged(), plain.n_averaged());
    }
    // The candle trainer registers shapes, the plain one lengths: the rest must be equal.
    let without_shapes = |mut s: optimc::optim::OptimizerState| {
        s.params.iter_mut().for_each(|p| p.shape = None);
        s
    };
    assert_eq!(
        without_shapes(candle.trainer().optimizer().state()),
        plain.optimizer().state()
    );
    // The step counts show the skipped steps: 6, 5 and 3 steps were taken.
    let steps: Vec<f32> = candle
        .trainer()
        .optimizer()
        .state()
        .params
        .iter()
        .map(|p| p.step)
        .collect();
    if config.optimizer != optimc::config::OptimizerKind::Sgd {
        assert_eq!(steps, [6.0, 5.0, 3.0]);
    }
}

#[test]
fn adam_two_groups_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(ADAM);
}

#[test]
fn sgd_momentum_two_groups_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(SGD);
}

#[test]
fn rmsprop_with_plateau_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(RMSPROP_PLATEAU);
}

#[test]
fn a_resumed_run_continues_bit_for_bit() {
    let config = config(ADAM);
    let dir = std::env::temp_dir().join(format!("optimc-candle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.state.safetensors");
    let grads = |w: &Var, b: &Var, step: usize| {
        let mut store = GradStore::default();
        let g = (step as f32 + 1.0).recip();
        let gw = Tensor::new(&[g, -g, 0.5 * g], &Device::Cpu).unwrap();
        store.insert(w, gw);
        store.insert(b, Tensor::new(&[g * g], &Device::Cpu).unwrap());
        store
    };
    let new = |w: &[f32], b: &[f32]| {
        let (w, b) = (var(w), var(b));
        let trainer = CandleTrainer::new(&config, named(&[("l.weight", &w), ("l.bias", &b)]));
        (w, b, trainer.unwrap())
    };

    let (w, b, mut whole) = new(&[1.0, 2.0, 3.0], &[0.5]);
    for step in 0..6 {
        whole.step(&grads(&w, &b, step)).unwrap();
        whole.end_epoch().unwrap();
    }

    let (w1, b1, mut first) = new(&[1.0, 2.0, 3.0], &[0.5]);
    for step in 0..3 {
        first.step(&grads(&w1, &b1, step)).unwrap();
        first.end_epoch().unwrap();
    }
    first.trainer().save(&path).unwrap();
    // A fresh process: the Vars come back from the model's own file, the trainer from its state.
    let (w2, b2, mut second) = new(&values(&w1), &values(&b1));
    second.trainer_mut().load(&path).unwrap();
    for step in 3..6 {
        second.step(&grads(&w2, &b2, step)).unwrap();
        second.end_epoch().unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(bits(&values(&w2)), bits(&values(&w)));
    assert_eq!(bits(&values(&b2)), bits(&values(&b)));
    assert_eq!(second.lrs(), whole.lrs());
    assert_eq!(
        second.trainer().optimizer().state(),
        whole.trainer().optimizer().state()
    );
}

/// `CandleTrainer::save` keeps the `Var`s with the state in one safetensors file: `load` into
/// fresh `Var`s continues bit for bit, and candle's own `VarMap::load` reads the weights.
#[test]
fn save_keeps_the_vars_and_load_puts_them_back() {
    let config = config(ADAM);
    let dir = std::env::temp_dir().join(format!("optimc-candle-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let grads = |w: &Var, b: &Var, step: usize| {
        let mut store = GradStore::default();
        let g = (step as f32 + 1.0).recip();
        store.insert(w, Tensor::new(&[g, -g, 0.5 * g], &Device::Cpu).unwrap());
        store.insert(b, Tensor::new(&[g * g], &Device::Cpu).unwrap());
        store
    };
    let new = |w: &[f32], b: &[f32]| {
        let (w, b) = (var(w), var(b));
        let trainer = CandleTrainer::new(&config, named(&[("l.weight", &w), ("l.bias", &b)]));
        (w, b, trainer.unwrap())
    };
    let (w, b, mut whole) = new(&[1.0, 2.0, 3.0], &[0.5]);
    for step in 0..6 {
        whole.step(&grads(&w, &b, step)).unwrap();
        whole.end_epoch().unwrap();
    }
    let (w1, b1, mut first) = new(&[1.0, 2.0, 3.0], &[0.5]);
    for step in 0..3 {
        first.step(&grads(&w1, &b1, step)).unwrap();
        first.end_epoch().unwrap();
    }
    first.save(&path).unwrap();

    // candle reads the weights from the same file.
    let mut varmap = candle_nn::VarMap::new();
    {
        let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        vb.get(3, "l.weight").unwrap();
        vb.get(1, "l.bias").unwrap();
    }
    varmap.load(&path).unwrap();
    let loaded = varmap.data().lock().unwrap()["l.weight"].clone();
    assert_eq!(bits(&values(&loaded)), bits(&values(&w1)));

    // A fresh process: zeros, then `load` gives back the Vars and the state.
    let (w2, b2, mut second) = new(&[0.0; 3], &[0.0]);
    second.load(&path).unwrap();
    assert_eq!(bits(&values(&w2)), bits(&values(&w1)));
    for step in 3..6 {
        second.step(&grads(&w2, &b2, step)).unwrap();
        second.end_epoch().unwrap();
    }
    assert_eq!(bits(&values(&w2)), bits(&values(&w)));
    assert_eq!(bits(&values(&b2)), bits(&values(&b)));
    assert_eq!(
        second.trainer().optimizer().state(),
        whole.trainer().optimizer().state()
    );

    // A state saved without the Vars is refused, and nothing changes.
    first.trainer().save(&path).unwrap();
    let before = values(&w2);
    let err = second.load(&path).unwrap_err();
    assert!(err.to_string().contains("without the parameters"), "{err}");
    assert_eq!(bits(&values(&w2)), bits(&before));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Averaging reads every `Var`, those without a gradient at a step too (`head.weight` has none
/// at steps 3 and 4, after the average started).
#[test]
fn an_ema_matches_the_plain_trainer_bit_for_bit() {
    let source = format!("{ADAM}average = ema(decay = 0.75, start = 1)\n");
    assert_equivalent(&source);
    assert_equivalent(&format!("{SGD}average = swa(start = 0)\n"));
}

/// The averaged copy reads as candle tensors of the `Var`s' shapes and copies into a `VarMap`
/// of the same names (an evaluation model), converted to its dtypes.
#[test]
fn the_average_reads_as_tensors_and_copies_into_a_varmap() {
    let config = config("optimizer = sgd(lr = 0.5)\naverage = swa(start = 0)\n");
    let w = Var::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], (2, 2), &Device::Cpu).unwrap();
    let mut trainer = CandleTrainer::new(&config, [("fc.weight", w.clone())]).unwrap();
    assert!(trainer.averaged("fc.weight").unwrap().is_none());
    let eval = candle_nn::VarMap::new();
    assert_eq!(trainer.copy_averaged_into(&eval).unwrap(), 0);
    for _ in 0..2 {
        let loss = w.sum_all().unwrap();
        trainer.step(&loss.backward().unwrap()).unwrap();
    }
    // Steps of 0.5 each: the parameters after them average to 0.75 below the start.
    let avg = trainer.averaged("fc.weight").unwrap().unwrap();
    assert_eq!(avg.dims(), [2, 2]);
    assert_eq!(
        avg.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        [0.25, 1.25, 2.25, 3.25]
    );
    assert!(trainer.averaged("nope").unwrap().is_none());
    assert_eq!(trainer.n_averaged(), 2);
    let vb = candle_nn::VarBuilder::from_varmap(&eval, DType::F64, &Device::Cpu);
    let copy = vb.get((2, 2), "fc.weight").unwrap();
    assert_eq!(trainer.copy_averaged_into(&eval).unwrap(), 1);
    let copy_values = eval.data().lock().unwrap()["fc.weight"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    assert_eq!(copy_values, [0.25, 1.25, 2.25, 3.25]);
    drop(copy);
    // Another shape is refused.
    let other = candle_nn::VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&other, DType::F32, &Device::Cpu);
    vb.get(3, "fc.weight").unwrap();
    assert!(trainer.copy_averaged_into(&other).is_err());
}

#[test]
fn a_var_without_gradient_is_left_alone() {
    let config = config(ADAM);
    let used = Var::from_vec(vec![1.0f32, 2.0], 2, &Device::Cpu).unwrap();
    let unused = Var::from_vec(vec![3.0f32, 4.0], 2, &Device::Cpu).unwrap();
    let mut trainer = CandleTrainer::new(
        &config,
        [("a.weight", used.clone()), ("b.weight", unused.clone())],
    )
    .unwrap();
    for _ in 0..3 {
        let loss = used.sqr().unwrap().sum_all().unwrap();
        trainer.step(&loss.backward().unwrap()).unwrap();
    }
    assert_ne!(values(&used), [1.0, 2.0]);
    assert_eq!(values(&unused), [3.0, 4.0]);
    let state = trainer.trainer().optimizer().state();
    assert_eq!(state.params[0].step, 3.0);
    assert_eq!(state.params[1].step, 0.0);
}

#[test]
fn a_non_contiguous_gradient_is_read_in_order() {
    let config = config(SGD);
    let make = || {
        let var = Var::from_vec(vec![0.0f32; 6], (2, 3), &Device::Cpu).unwrap();
        let trainer = CandleTrainer::new(&config, [("w.weight", var.clone())]);
        (var, trainer.unwrap())
    };
    let grad = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], (3, 2), &Device::Cpu)
        .unwrap()
        .t()
        .unwrap();
    assert!(!grad.is_contiguous());
    let (a, mut ta) = make();
    let mut store = GradStore::default();
    store.insert(&a, grad.clone());
    ta.step(&store).unwrap();
    let (b, mut tb) = make();
    let mut store = GradStore::default();
    store.insert(&b, grad.contiguous().unwrap());
    tb.step(&store).unwrap();
    assert_eq!(bits(&values(&a)), bits(&values(&b)));
    assert_ne!(values(&a), [0.0; 6]);
}

#[test]
fn from_varmap_registers_every_var_in_name_order() {
    let varmap = candle_nn::VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    candle_nn::linear(3, 2, vb.pp("layer2")).unwrap();
    candle_nn::linear(2, 3, vb.pp("layer1")).unwrap();
    let trainer = CandleTrainer::from_varmap(&config(ADAM), &varmap).unwrap();
    let names: Vec<&str> = trainer.vars().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "layer1.bias",
            "layer1.weight",
            "layer2.bias",
            "layer2.weight"
        ]
    );
    let groups: Vec<Option<usize>> = names
        .iter()
        .map(|n| trainer.trainer().optimizer().group_of(n))
        .collect();
    assert_eq!(groups, [Some(1), Some(0), Some(1), Some(0)]);
}

fn var(values: &[f32]) -> Var {
    Var::from_slice(values, values.len(), &Device::Cpu).unwrap()
}

fn named(vars: &[(&str, &Var)]) -> Vec<(String, Var)> {
    vars.iter()
        .map(|(n, v)| (n.to_string(), (*v).clone()))
        .collect()
}

#[test]
fn unmatched_names_are_listed_in_one_error() {
    let (a, b, c) = (var(&[1.0]), var(&[1.0]), var(&[1.0]));
    let err = CandleTrainer::new(
        &config(ADAM),
        named(&[("fc.weight", &a), ("fc.gamma", &b), ("ln.beta", &c)]),
    )
    .unwrap_err();
    let ErrorKind::Groups(GroupError::Unmatched { names, .. }) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(names, &["fc.gamma", "ln.beta"]);
    assert_eq!(
        err.to_string(),
        "2 parameters match no group: `fc.gamma`, `ln.beta`"
    );
    let code = miette::Diagnostic::code(&err).unwrap().to_string();
    assert_eq!(code, "optimc::unmatched_parameters");
}

#[test]
fn duplicate_names_and_shared_vars_are_refused() {
    let (a, b) = (var(&[1.0]), var(&[1.0]));
    let err = CandleTrainer::new(&config(ADAM), named(&[("x.bias", &a), ("x.bias", &b)]));
    assert!(
        matches!(err.as_ref().map_err(|e| e.kind()), Err(ErrorKind::Groups(GroupError::Duplicate { name })) if name == "x.bias"),
        "{err:?}"
    );
    let err =
        CandleTrainer::new(&config(ADAM), named(&[("x.bias", &a), ("y.bias", &a)])).unwrap_err();
    assert_eq!(err.to_string(), "`y.bias` is the same Var as `x.bias`");
}

#[test]
fn vars_that_are_not_float_are_listed_in_one_error() {
    let f64_var = Var::zeros(2, DType::F64, &Device::Cpu).unwrap();
    let u8_var = Var::zeros((2, 2), DType::U8, &Device::Cpu).unwrap();
    let ok = var(&[1.0]);
    let err = CandleTrainer::new(
        &config(ADAM),
        named(&[
            ("a.weight", &f64_var),
            ("b.bias", &ok),
            ("c.weight", &u8_var),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 Vars cannot be trained by optimc: `a.weight` (dtype f64), `c.weight` (dtype u8)"
    );
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(help.contains("DType::BF16"), "{help}");
}

#[test]
fn a_bad_gradient_changes_nothing() {
    let config = config(ADAM);
    let (a, b) = (var(&[1.0, 2.0]), var(&[3.0]));
    let mut trainer = CandleTrainer::new(&config, named(&[("a.weight", &a), ("b.bias", &b)]))
        .expect("valid vars");

    let mut store = GradStore::default();
    store.insert(&a, Tensor::new(&[0.5f32, 0.5], &Device::Cpu).unwrap());
    store.insert(&b, Tensor::new(&[0.5f64], &Device::Cpu).unwrap());
    let err = trainer.step(&store).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the gradient of `b.bias` is dtype f64, but optimc reads f32, bf16 and f16 gradients"
    );

    let mut store = GradStore::default();
    store.insert(&a, Tensor::new(&[0.5f32, 0.5], &Device::Cpu).unwrap());
    store.insert(&b, Tensor::new(&[0.5f32, 0.5], &Device::Cpu).unwrap());
    let err = trainer.step(&store).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Step(StepError::GradLength { name, expected: 1, got: 2 }) if name == "b.bias"
        ),
        "{err:?}"
    );

    assert_eq!(values(&a), [1.0, 2.0]);
    assert_eq!(values(&b), [3.0]);
    assert!(trainer
        .trainer()
        .optimizer()
        .state()
        .params
        .iter()
        .all(|p| p.step == 0.0));

    // The trainer is still usable.
    let mut store = GradStore::default();
    store.insert(&a, Tensor::new(&[0.5f32, 0.5], &Device::Cpu).unwrap());
    store.insert(&b, Tensor::new(&[0.5f32], &Device::Cpu).unwrap());
    trainer.step(&store).unwrap();
    assert_ne!(values(&b), [3.0]);
}

#[test]
fn the_example_converges() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/train_candle.optim");
    let config = Config::from_path(path).unwrap();
    let losses = train_candle::train(&config, 150).unwrap();
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < first / 50.0, "loss {first} -> {last}");
    assert!(last < 5e-3, "loss {last}");
    // The tail is smooth: cosine annealing ends with small steps.
    assert!(losses[140..].windows(2).all(|w| w[1] <= w[0]), "{losses:?}");
}

/// An in-place op that does nothing: what candle's in-place write costs by itself.
struct Nothing;

impl InplaceOp1 for Nothing {
    fn name(&self) -> &'static str {
        "nothing"
    }
    fn cpu_fwd(
        &self,
        _: &mut candle_core::CpuStorage,
        _: &candle_core::Layout,
    ) -> candle_core::Result<()> {
        Ok(())
    }
}

#[test]
fn a_step_allocates_nothing_beyond_candles_in_place_write() {
    for source in [ADAM, SGD] {
        let config = config(source);
        let w = Var::from_vec(vec![0.5f32; 12], (3, 4), &Device::Cpu).unwrap();
        let b = Var::from_vec(vec![0.1f32; 3], 3, &Device::Cpu).unwrap();
        let unused = Var::from_vec(vec![0.0f32; 5], 5, &Device::Cpu).unwrap();
        let vars = named(&[("fc.weight", &w), ("fc.bias", &b), ("x.bias", &unused)]);
        let mut trainer = CandleTrainer::new(&config, vars).unwrap();
        let x = Tensor::new(&[[1.0f32, -1.0, 0.5, 2.0]], &Device::Cpu).unwrap();
        let loss = x
            .matmul(&w.t().unwrap())
            .unwrap()
            .broadcast_add(&b)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        trainer.step(&grads).unwrap(); // creates the buffers PyTorch creates lazily
        let candles = allocations(|| {
            w.inplace_op1(&Nothing).unwrap();
            b.inplace_op1(&Nothing).unwrap();
        });
        let ours = allocations(|| {
            for e in 0..5 {
                trainer.step(&grads).unwrap();
                trainer.step(&grads).unwrap();
                if e % 2 == 0 {
                    trainer.end_epoch().unwrap();
                }
            }
        });
        assert_eq!(ours, 10 * candles, "{source} {candles}");
    }
}

#[test]
fn a_trainer_can_move_to_another_thread() {
    fn send<T: Send>(_: &T) {}
    let w = var(&[1.0]);
    let trainer = CandleTrainer::new(&config(ADAM), [("w.weight", w.clone())]).unwrap();
    send(&trainer);
    let trainer = std::thread::spawn(move || {
        let mut trainer = trainer;
        let mut store = GradStore::default();
        store.insert(&w, Tensor::new(&[1.0f32], &Device::Cpu).unwrap());
        trainer.step(&store).unwrap();
        trainer
    })
    .join()
    .unwrap();
    assert_eq!(trainer.trainer().optimizer().state().params[0].step, 1.0);
}

#[test]
fn vars_are_registered_with_their_shapes() {
    let config = config(ADAM);
    let w = Var::zeros((4, 3), DType::F32, &Device::Cpu).unwrap();
    let b = Var::zeros(4, DType::F32, &Device::Cpu).unwrap();
    let trainer = CandleTrainer::new(&config, [("fc.weight", w), ("fc.bias", b)]).unwrap();
    let optimizer = trainer.trainer().optimizer();
    assert_eq!(optimizer.param_shape(0), &[4, 3]);
    assert_eq!(optimizer.param_shape(1), &[4]);
}

/// `values` rounded to `dtype` and widened back, as candle converts.
fn rounded(values: &[f32], dtype: DType) -> Vec<f32> {
    Tensor::new(values, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// f32, bf16 and f16 Vars: the optimizer state is f32, each step computes in f32 from the
/// parameter and gradient widened, and writes the parameter back rounded to its dtype (what
/// PyTorch's fused AdamW does with bf16 parameters). So each dtype's run is the plain
/// `Trainer`'s with the parameter rounded after every step, and f32's is the plain one exactly.
#[test]
fn bf16_and_f16_vars_step_in_f32_and_are_rounded_back() {
    let config = config(ADAM);
    let init = [0.5f32, -1.25, 2.0, 0.75];
    let mut finals = Vec::new();
    for dtype in [DType::F32, DType::BF16, DType::F16] {
        let tensor = Tensor::new(&init, &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        let w = Var::from_tensor(&tensor).unwrap();
        let mut candle = CandleTrainer::new(&config, named(&[("l.weight", &w)])).unwrap();
        let mut plain = Trainer::new(&config, &[("l.weight", 4)]).unwrap();
        let mut expected = init.to_vec();
        for step in 0..8 {
            let sign = if step % 3 == 2 { -0.5 } else { 1.0 };
            let grad: Vec<f32> = (0..4).map(|i| sign * 0.013 * (i as f32 + 1.0)).collect();
            let mut store = GradStore::default();
            let g = Tensor::new(grad.as_slice(), &Device::Cpu).unwrap();
            store.insert(&w, g.to_dtype(dtype).unwrap());
            candle.step(&store).unwrap();
            // The gradient as the Var's dtype holds it, then the update rounded back.
            let grad = rounded(&grad, dtype);
            plain
                .step(&mut [ParamMut::named("l.weight", &mut expected, &grad)])
                .unwrap();
            expected = rounded(&expected, dtype);
            assert_eq!(w.dtype(), dtype);
            let got: Vec<f32> = w.to_dtype(DType::F32).unwrap().to_vec1().unwrap();
            assert_eq!(bits(&got), bits(&expected), "{dtype:?} after step {step}");
            candle.end_epoch().unwrap();
            plain.end_epoch().unwrap();
        }
        finals.push(expected);
    }
    // The rounding is real: the three runs end apart.
    assert_ne!(bits(&finals[0]), bits(&finals[1]));
    assert_ne!(bits(&finals[0]), bits(&finals[2]));
}

/// `candle_nn::Optimizer`: `backward_step(&loss)` is one `step` with the loss's gradients;
/// `set_learning_rate` sets every group's lr, which the schedule continues from.
#[test]
fn candle_nn_optimizer_backward_step_is_a_step() {
    use candle_nn::Optimizer;
    use optimc::candle::CandleConfig;
    let config = config(ADAM);
    let (w1, b1) = (var(&[1.0, -2.0]), var(&[0.5]));
    let (w2, b2) = (var(&[1.0, -2.0]), var(&[0.5]));
    let loss = |w: &Var, b: &Var| {
        let x = Tensor::new(&[0.3f32, -0.7], &Device::Cpu).unwrap();
        w.as_tensor()
            .mul(&x)
            .unwrap()
            .sum_all()
            .unwrap()
            .add(&b.as_tensor().sum_all().unwrap())
            .unwrap()
            .sqr()
            .unwrap()
    };
    let names = vec!["l.weight".to_string(), "l.bias".to_string()];
    let mut by_trait = CandleTrainer::new_optimizer(
        vec![w1.clone(), b1.clone()],
        CandleConfig {
            config: config.clone(),
            names,
        },
    )
    .unwrap();
    let mut direct =
        CandleTrainer::new(&config, named(&[("l.weight", &w2), ("l.bias", &b2)])).unwrap();
    for _ in 0..3 {
        by_trait.backward_step(&loss(&w1, &b1)).unwrap();
        direct.step(&loss(&w2, &b2).backward().unwrap()).unwrap();
        assert_eq!(bits(&values(&w1)), bits(&values(&w2)));
        assert_eq!(bits(&values(&b1)), bits(&values(&b2)));
    }
    assert_eq!(Optimizer::learning_rate(&by_trait), 0.01);
    by_trait.set_learning_rate(0.004);
    assert_eq!(by_trait.lrs(), &[0.004, 0.004]);
    assert_eq!(by_trait.trainer().optimizer().lr(1), 0.004);
    by_trait.end_epoch().unwrap();
    by_trait.end_epoch().unwrap(); // `step(step_size = 2, gamma = 0.5)` halves what is in force
    assert_eq!(by_trait.lrs(), &[0.002, 0.002]);

    // Names: one per Var, or none (by position, for a file without groups).
    let err = CandleTrainer::new_optimizer(
        vec![var(&[1.0])],
        CandleConfig {
            config: config.clone(),
            names: vec!["a".into(), "b".into()],
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("2 names for 1 Vars"), "{err}");
    let err = CandleTrainer::new_optimizer(vec![var(&[1.0])], config.clone().into()).unwrap_err();
    assert!(
        err.to_string().contains("parameter `0` matches no group"),
        "{err}"
    );
    let plain = Config::from_source("p.optim", "optimizer = sgd(lr = 0.1)").unwrap();
    CandleTrainer::new_optimizer(vec![var(&[1.0])], plain.into()).unwrap();
}

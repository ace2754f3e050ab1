//! `optimc::burn` (cargo feature `burn`): a burn module stepped through `BurnTrainer` gets
//! exactly the values the plain `Trainer` gives the same gradients; `BurnSchedule` as burn's
//! `LrScheduler` gives the plain `Schedule`'s lrs and resumes from its record;
//! `module_lr_scheduler` maps the file's groups to burn's parameter groups; bad modules are
//! refused with typed errors; the `train_burn` example converges.

#[allow(dead_code)]
#[path = "../../examples/train_burn.rs"]
mod train_burn;

use burn::lr_scheduler::LrScheduler;
use burn::module::{Module, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{DType, Device, Tensor, TensorData};
use optimc::burn::{module_lr_scheduler, BurnError, BurnSchedule, BurnTrainer};
use optimc::error::ErrorKind;
use optimc::optim::{GroupError, ParamMut};
use optimc::{Config, Schedule, Trainer};

const ADAM: &str = r#"
optimizer = adam(lr = 0.01, weight_decay = 1e-2, amsgrad = true)
group weights { params = "*.weight" }
group biases  { params = "*.bias", lr = 0.05, weight_decay = 0 }
schedule = step(step_size = 2, gamma = 0.5)
"#;

const ADAMW: &str = r#"
optimizer = adamw(lr = 0.02, betas = [0.8, 0.99], weight_decay = 0.1)
group weights { params = "*.weight" }
group biases  { params = "*.bias", lr = 0.01, weight_decay = 0, betas = [0.9, 0.9] }
schedule = cosine(t_max = 3, eta_min = 0.001)
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

fn device() -> Device {
    Device::default().autodiff()
}

/// A layer with its parameters as plain fields, so the test sets their values.
#[derive(Module, Debug)]
struct Layer {
    weight: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
}

#[derive(Module, Debug)]
struct Net {
    fc: Layer,
    head: Layer,
}

fn param<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values, shape), &device())
}

/// Names, shapes and the steps (0-based) at which each parameter has no gradient, in the
/// module's visiting order.
const PARAMS: [(&str, &[usize], &[usize]); 4] = [
    ("fc.weight", &[2, 3], &[]),
    ("fc.bias", &[3], &[2]),
    ("head.weight", &[3, 1], &[0, 3, 4]),
    ("head.bias", &[1], &[]),
];

fn net(init: &[Vec<f32>]) -> Net {
    Net {
        fc: Layer {
            weight: param(init[0].clone(), [2, 3]),
            bias: param(init[1].clone(), [3]),
        },
        head: Layer {
            weight: param(init[2].clone(), [3, 1]),
            bias: param(init[3].clone(), [1]),
        },
    }
}

fn ids(net: &Net) -> [ParamId; 4] {
    [
        net.fc.weight.id,
        net.fc.bias.id,
        net.head.weight.id,
        net.head.bias.id,
    ]
}

fn values(net: &Net) -> Vec<Vec<f32>> {
    fn read<const D: usize>(p: &Param<Tensor<D>>) -> Vec<f32> {
        p.val().into_data().try_into_vec::<f32>().unwrap()
    }
    vec![
        read(&net.fc.weight),
        read(&net.fc.bias),
        read(&net.head.weight),
        read(&net.head.bias),
    ]
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// A `GradientsParams` holding `grads[i]` (where given) for the `i`-th parameter.
fn gradients(net: &Net, grads: &[Option<Vec<f32>>]) -> GradientsParams {
    let mut out = GradientsParams::new();
    let ids = ids(net);
    let tensor = |i: usize, g: &[f32]| TensorData::new(g.to_vec(), PARAMS[i].1.to_vec());
    for (i, g) in grads.iter().enumerate() {
        let Some(g) = g else { continue };
        // Gradients live on the inner (non-autodiff) device, as `from_grads` gives them.
        let inner = Device::default();
        match PARAMS[i].1.len() {
            2 => out.register::<2>(ids[i], Tensor::from_data(tensor(i, g), &inner)),
            _ => out.register::<1>(ids[i], Tensor::from_data(tensor(i, g), &inner)),
        }
    }
    out
}

/// Steps `BurnTrainer` over a burn module and the plain `Trainer` over `Vec<f32>`s with the
/// same gradients (two steps per epoch, some parameters without a gradient at some steps), and
/// compares every value bit for bit after every step.
fn assert_equivalent(source: &str) {
    let config = config(source);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let init: Vec<Vec<f32>> = PARAMS
        .iter()
        .map(|(_, shape, _)| rng.fill(shape.iter().product()))
        .collect();
    let mut model = net(&init);
    let mut burn = BurnTrainer::new(&config, &model).unwrap();
    let names: Vec<&str> = PARAMS.iter().map(|p| p.0).collect();
    assert_eq!(burn.param_names().collect::<Vec<_>>(), names);
    let registered: Vec<(&str, usize)> = PARAMS
        .iter()
        .zip(&init)
        .map(|((name, _, _), v)| (*name, v.len()))
        .collect();
    let mut plain = Trainer::new(&config, &registered).unwrap();
    let mut data = init.clone();
    let ids_before = ids(&model);

    for step in 0..6 {
        let grads: Vec<Option<Vec<f32>>> = PARAMS
            .iter()
            .map(|(_, shape, skipped)| {
                let grad = rng.fill(shape.iter().product());
                (!skipped.contains(&step)).then_some(grad)
            })
            .collect();
        model = burn.step(&model, gradients(&model, &grads)).unwrap();
        let mut params: Vec<ParamMut<'_>> = data
            .iter_mut()
            .zip(&grads)
            .zip(&names)
            .map(|((d, g), name)| match g {
                Some(g) => ParamMut::named(name, d, g),
                None => ParamMut::without_grad(d).with_name(name),
            })
            .collect();
        plain.step(&mut params).unwrap();
        for ((name, got), expected) in names.iter().zip(values(&model)).zip(&data) {
            assert_eq!(bits(&got), bits(expected), "{name} after step {step}");
        }
        if step % 2 == 1 {
            if plain.schedule().needs_metric() {
                // Not falling: the plateau halves the lrs.
                burn.end_epoch_with(1.0);
                plain.end_epoch_with(1.0);
            } else {
                burn.end_epoch().unwrap();
                plain.end_epoch().unwrap();
            }
        }
        assert_eq!(burn.lrs(), plain.lrs());
        for (name, (_, shape, _)) in names.iter().zip(PARAMS) {
            assert_eq!(
                averaged_values(&burn, name, shape.len()).map(|v| bits(&v)),
                plain.averaged(name).map(bits),
                "average of {name} after step {step}"
            );
        }
        assert_eq!(burn.n_averaged(), plain.n_averaged());
    }
    // The updated parameters are still trainable leaves with their ids.
    assert!(model.fc.weight.val().is_require_grad());
    assert_eq!(ids(&model), ids_before);
    // The burn trainer registers shapes, the plain one lengths: the rest must be equal.
    let without_shapes = |mut s: optimc::optim::OptimizerState| {
        s.params.iter_mut().for_each(|p| p.shape = None);
        s
    };
    assert_eq!(
        without_shapes(burn.trainer().optimizer().state()),
        plain.optimizer().state()
    );
}

/// `BurnTrainer::averaged` of parameter `name` (of rank 1 or 2), as values.
fn averaged_values(burn: &BurnTrainer, name: &str, rank: usize) -> Option<Vec<f32>> {
    let device = Device::default();
    let data = match rank {
        2 => burn
            .averaged::<2>(name, &device)
            .unwrap()
            .map(|t| t.into_data()),
        _ => burn
            .averaged::<1>(name, &device)
            .unwrap()
            .map(|t| t.into_data()),
    };
    data.map(|d| d.try_into_vec::<f32>().unwrap())
}

/// Averaging reads every parameter, those without a gradient at a step too (`head.weight` has
/// none at steps 3 and 4, after the average started).
#[test]
fn an_average_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(&format!("{ADAM}average = ema(decay = 0.75, start = 1)\n"));
    assert_equivalent(&format!("{SGD}average = swa(start = 0)\n"));
}

/// The averaged copy reads as burn tensors of the parameters' shapes and copies into another
/// module of the same architecture (an evaluation model), by path.
#[test]
fn the_average_reads_as_tensors_and_copies_into_a_module() {
    let config = config("optimizer = sgd(lr = 0.5)\naverage = swa(start = 0)\n");
    let init: Vec<Vec<f32>> = PARAMS
        .iter()
        .map(|(_, shape, _)| (0..shape.iter().product()).map(|i| i as f32).collect())
        .collect();
    let mut model = net(&init);
    let mut trainer = BurnTrainer::new(&config, &model).unwrap();
    let zeros: Vec<Vec<f32>> = init.iter().map(|v| vec![0.0; v.len()]).collect();
    let eval = net(&zeros);
    assert!(averaged_values(&trainer, "fc.weight", 2).is_none());
    assert_eq!(values(&trainer.copy_averaged_into(&eval).unwrap()), zeros);
    assert_eq!(trainer.n_averaged(), 0);
    for _ in 0..2 {
        let ones: Vec<Option<Vec<f32>>> = init.iter().map(|v| Some(vec![1.0; v.len()])).collect();
        model = trainer.step(&model, gradients(&model, &ones)).unwrap();
    }
    // Steps of 0.5 each: the parameters after them average to 0.75 below the start.
    let expected: Vec<Vec<f32>> = init
        .iter()
        .map(|v| v.iter().map(|x| x - 0.75).collect())
        .collect();
    assert_eq!(
        averaged_values(&trainer, "fc.weight", 2).unwrap(),
        expected[0]
    );
    assert_eq!(trainer.n_averaged(), 2);
    let t = trainer
        .averaged::<2>("fc.weight", &Device::default())
        .unwrap()
        .unwrap();
    assert_eq!(t.dims(), [2, 3]);
    assert!(trainer
        .averaged::<2>("nope", &Device::default())
        .unwrap()
        .is_none());
    let err = trainer
        .averaged::<1>("fc.weight", &Device::default())
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Burn(BurnError::AverageRank {
                rank: 2,
                asked: 1,
                ..
            })
        ),
        "{err:?}"
    );

    // Into a fresh `init` (other ids), and into the model's clone.
    let copied = trainer.copy_averaged_into(&eval).unwrap();
    assert_eq!(values(&copied), expected);
    assert_eq!(ids(&copied), ids(&eval));
    assert!(copied.fc.weight.val().is_require_grad());
    assert_eq!(values(&eval), zeros, "the module given is not changed");
    assert_eq!(
        values(&trainer.copy_averaged_into(&model).unwrap()),
        expected
    );
    for ((got, want), name) in values(&copied)
        .iter()
        .zip(&expected)
        .zip(PARAMS.map(|p| p.0))
    {
        let plain = trainer.trainer().averaged(name).unwrap();
        assert_eq!(bits(got), bits(plain), "{name}");
        assert_eq!(bits(got), bits(want), "{name}");
    }

    // Another architecture is refused, and nothing is written.
    let other = Net {
        fc: Layer {
            weight: param(vec![0.0; 6], [3, 2]),
            bias: param(vec![0.0; 3], [3]),
        },
        head: Layer {
            weight: param(vec![0.0; 3], [3, 1]),
            bias: param(vec![0.0; 1], [1]),
        },
    };
    let err = trainer.copy_averaged_into(&other).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`fc.weight` has shape [3, 2] in the module, but the averaged parameter has [2, 3]"
    );
}

#[test]
fn adam_two_groups_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(ADAM);
}

#[test]
fn adamw_two_groups_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(ADAMW);
}

#[test]
fn sgd_momentum_two_groups_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(SGD);
}

#[test]
fn rmsprop_with_plateau_matches_the_plain_trainer_bit_for_bit() {
    assert_equivalent(RMSPROP_PLATEAU);
}

fn kind(e: optimc::Error) -> ErrorKind {
    e.into_kind()
}

fn burn_error(e: optimc::Error) -> BurnError {
    match kind(e) {
        ErrorKind::Burn(b) => b,
        other => panic!("not a burn error: {other:?}"),
    }
}

fn small_init() -> Vec<Vec<f32>> {
    PARAMS
        .iter()
        .map(|(_, shape, _)| vec![0.5; shape.iter().product()])
        .collect()
}

#[test]
fn a_parameter_without_a_gradient_is_left_alone() {
    let config = config(ADAM);
    let model = net(&small_init());
    let mut trainer = BurnTrainer::new(&config, &model).unwrap();
    let grads = [None, Some(vec![1.0; 3]), None, None];
    let stepped = trainer.step(&model, gradients(&model, &grads)).unwrap();
    let (before, after) = (values(&model), values(&stepped));
    assert_eq!(after[0], before[0]);
    assert_ne!(after[1], before[1]);
    let steps: Vec<f32> = trainer
        .trainer()
        .optimizer()
        .state()
        .params
        .iter()
        .map(|p| p.step)
        .collect();
    assert_eq!(steps, [0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn names_matching_no_group_are_all_listed() {
    let config = config(
        r#"
        optimizer = sgd(lr = 0.1)
        group heads { params = "head.*" }
        "#,
    );
    let err = BurnTrainer::new(&config, &net(&small_init())).unwrap_err();
    match kind(err) {
        ErrorKind::Groups(GroupError::Unmatched { names, .. }) => {
            assert_eq!(names, ["fc.weight", "fc.bias"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn another_module_of_the_same_shape_is_refused_and_kept() {
    let config = config(SGD);
    let model = net(&small_init());
    let mut trainer = BurnTrainer::new(&config, &model).unwrap();
    let other = net(&small_init()); // new ParamIds
    let grads = gradients(&other, &[Some(vec![1.0; 6]), None, None, None]);
    match burn_error(trainer.step(&other, grads).unwrap_err()) {
        BurnError::Unregistered { params } => {
            assert_eq!(params, ["fc.weight", "fc.bias", "head.weight", "head.bias"]);
        }
        other => panic!("{other:?}"),
    }
    // Nothing stepped: the optimizer state is as new.
    assert!(trainer
        .trainer()
        .optimizer()
        .state()
        .params
        .iter()
        .all(|p| p.step == 0.0));
}

#[test]
fn a_gradient_of_the_wrong_size_is_a_step_error() {
    let config = config(SGD);
    let model = net(&small_init());
    let mut trainer = BurnTrainer::new(&config, &model).unwrap();
    let mut grads = GradientsParams::new();
    grads.register::<1>(
        model.fc.bias.id,
        Tensor::from_floats([1.0, 2.0], &Device::default()),
    );
    let err = trainer.step(&model, grads).unwrap_err();
    assert!(matches!(kind(err), ErrorKind::Step(_)));
}

#[derive(Module, Debug)]
struct Shared {
    a: Param<Tensor<1>>,
    b: Param<Tensor<1>>,
}

#[test]
fn a_parameter_in_two_places_is_refused() {
    let p = param(vec![1.0, 2.0], [2]);
    let shared = Shared { a: p.clone(), b: p };
    let config = config("optimizer = sgd(lr = 0.1)");
    match burn_error(BurnTrainer::new(&config, &shared).unwrap_err()) {
        BurnError::SharedParam { first, second } => assert_eq!((&*first, &*second), ("a", "b")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_f64_parameter_is_refused_with_its_dtype() {
    let data = TensorData::new(vec![1.0f64, 2.0], [2]);
    let f64_param = Param::from_tensor(Tensor::<1>::from_data(data, (&device(), DType::F64)));
    let model = Shared {
        a: param(vec![1.0, 2.0], [2]),
        b: f64_param,
    };
    let config = config("optimizer = sgd(lr = 0.1)");
    let err = BurnTrainer::new(&config, &model).unwrap_err();
    assert!(err.to_string().contains("`b` (dtype F64)"), "{err}");
    assert!(matches!(burn_error(err), BurnError::Unsupported { params } if params.len() == 1));
}

#[test]
fn the_schedule_gives_the_plain_schedules_lrs_one_step_at_a_time() {
    let config = config(
        r#"
        optimizer = adamw(lr = 1e-3)
        group backbone { params = "fc.*", lr = 1e-4 }
        group head     { params = "head.*" }
        schedule = sequence(
            linear(start_factor = 0.1, total_iters = 3),
            cosine(t_max = 7, eta_min = 1e-5),
            milestones = [3],
        )
        "#,
    );
    let mut plain = Schedule::new(&config);
    let mut burn: Vec<BurnSchedule> = (0..2)
        .map(|g| BurnSchedule::new(&config, g).unwrap())
        .collect();
    for step in 0..12 {
        let expected = plain.lrs().to_vec();
        for (group, schedule) in burn.iter_mut().enumerate() {
            assert_eq!(
                schedule.step().to_bits(),
                expected[group].to_bits(),
                "step {step}"
            );
        }
        plain.step().unwrap();
    }
}

#[test]
fn a_schedule_resumes_from_its_record() {
    let config =
        config("optimizer = sgd(lr = 0.1)\nschedule = one_cycle(max_lr = 1.0, total_steps = 20)");
    let mut run = BurnSchedule::new(&config, 0).unwrap();
    for _ in 0..7 {
        run.step();
    }
    let record = run.to_record();
    // Through burn's bytes too, as a checkpoint stores it.
    let record =
        burn::lr_scheduler::LrSchedulerRecord::from_bytes(record.into_bytes().unwrap()).unwrap();
    let mut resumed = BurnSchedule::new(&config, 0).unwrap();
    resumed.load_record(record);
    assert_eq!(resumed.steps(), 7);
    for _ in 0..13 {
        assert_eq!(resumed.step().to_bits(), run.step().to_bits());
    }
    // A record of another scheduler is ignored.
    let before = resumed.lr();
    resumed.load_record(burn::lr_scheduler::LrSchedulerRecord::new());
    assert_eq!(resumed.lr(), before);
}

/// A record asking for more steps than optimc replays (corrupt or hostile) is refused at once
/// by `try_load_record` and ignored by the trait's `load_record`, instead of replaying for
/// hours; a costly schedule is bounded by its work, not only its steps.
#[test]
fn a_huge_record_is_refused_at_once() {
    use burn::lr_scheduler::LrSchedulerRecord;
    let cosine = config("optimizer = sgd(lr = 0.1)\nschedule = cosine(t_max = 100)");
    let mut schedule = BurnSchedule::new(&cosine, 0).unwrap();
    for _ in 0..3 {
        schedule.step();
    }
    let (lr, steps) = (schedule.lr(), schedule.steps());
    let started = std::time::Instant::now();
    for huge in [u64::MAX, 1 << 40, 10_000_001] {
        let record = LrSchedulerRecord::new().with_scalar("steps", huge);
        let err = schedule.try_load_record(&record).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Burn(BurnError::RecordTooLong { steps, .. }) if *steps == huge),
            "{err:?}"
        );
        schedule.load_record(record);
        assert_eq!((schedule.lr(), schedule.steps()), (lr, steps), "{huge}");
    }
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    let err = schedule
        .try_load_record(&LrSchedulerRecord::new().with_scalar("steps", u64::MAX))
        .unwrap_err();
    insta::assert_snapshot!("burn_record_too_long", format!("{err:?}"));

    // A lambda of many operations: fewer steps than the step limit, too much work.
    fn sum(n: usize) -> String {
        // Balanced, so the tree stays shallow.
        if n == 1 {
            "e".to_string()
        } else {
            format!("({} + {})", sum(n / 2), sum(n - n / 2))
        }
    }
    let body = sum(2000);
    let source = format!("optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 1 / (1 + {body}))");
    let mut costly = BurnSchedule::new(&config(&source), 0).unwrap();
    let record = LrSchedulerRecord::new().with_scalar("steps", 1_000_000u64);
    assert!(costly.try_load_record(&record).is_err());
    assert_eq!(costly.steps(), 0);
    // Within the limits, it replays.
    let record = LrSchedulerRecord::new().with_scalar("steps", 10u64);
    assert!(costly.try_load_record(&record).unwrap());
    assert_eq!(costly.steps(), 10);
}

#[test]
fn schedules_burn_cannot_drive_are_refused() {
    let err = BurnSchedule::new(&config(RMSPROP_PLATEAU), 0).unwrap_err();
    assert!(matches!(burn_error(err), BurnError::MetricNeeded));
    let err = BurnSchedule::new(&config(ADAM), 2).unwrap_err();
    assert!(matches!(
        burn_error(err),
        BurnError::NoGroup {
            group: 2,
            groups: 2
        }
    ));
}

#[test]
fn module_lr_scheduler_gives_each_parameter_its_groups_lr() {
    let config = config(ADAM); // weights 0.01, biases 0.05, halved every 2 steps
    let model = net(&small_init());
    let mut scheduler = module_lr_scheduler(&config, &model).unwrap();
    let ids = ids(&model);
    for step in 0..5 {
        let lrs = scheduler.step();
        let factor = 0.5f64.powi(step / 2);
        for (i, (name, _, _)) in PARAMS.iter().enumerate() {
            let group_lr = if name.ends_with("weight") { 0.01 } else { 0.05 };
            // burn asks by id and by path; the path is what the groups hold.
            assert_eq!(
                lrs.lr_from_param(ids[i], Some(name)),
                group_lr * factor,
                "{name} at step {step}"
            );
        }
    }
}

#[test]
fn the_example_converges() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/train_burn.optim");
    let config = Config::from_path(path).unwrap();
    let losses = train_burn::train(&config, 150).unwrap();
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < first / 50.0, "loss {first} -> {last}");
    assert!(last < 5e-3, "loss {last}");
}

/// A file that steps its schedule per step (`run = per_step(...)`): `end_batch` after every
/// step is the schedule step, as for the plain `Trainer`; `end_epoch` steps nothing more, and
/// refuses an epoch that ended no batch (a loop written for per-epoch stepping).
#[test]
fn a_per_step_file_steps_the_schedule_at_end_batch() {
    let config = config(
        r#"
        optimizer = sgd(lr = 0.1)
        schedule = step(step_size = 1, gamma = 0.5)
        run = per_step(epochs = 2, steps_per_epoch = 3)
        "#,
    );
    let mut model = net(&small_init());
    let mut burn = BurnTrainer::new(&config, &model).unwrap();
    let sizes: Vec<(&str, usize)> = PARAMS
        .iter()
        .map(|(name, shape, _)| (*name, shape.iter().product()))
        .collect();
    let mut plain = Trainer::new(&config, &sizes).unwrap();
    assert_eq!(burn.stepping(), optimc::Stepping::PerStep);
    let grads: Vec<Option<Vec<f32>>> = sizes.iter().map(|(_, n)| Some(vec![1.0; *n])).collect();
    let mut lrs = Vec::new();
    for _epoch in 0..2 {
        for _batch in 0..3 {
            lrs.push(burn.lrs()[0]);
            model = burn.step(&model, gradients(&model, &grads)).unwrap();
            burn.end_batch().unwrap();
            plain.end_batch().unwrap();
            assert_eq!(burn.lrs(), plain.lrs());
        }
        burn.end_epoch().unwrap();
        plain.end_epoch().unwrap();
    }
    assert_eq!(lrs, [0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125]);
    let err = burn.end_epoch().unwrap_err();
    assert!(matches!(kind(err), ErrorKind::BatchesNotEnded));
    burn.step_schedule().unwrap();
    assert_eq!(burn.trainer().epoch(), 7);
    burn.step_schedule_with(1.0);
    assert_eq!(burn.trainer().epoch(), 8);
}

/// One parameter, of any float dtype.
#[derive(Module, Debug)]
struct One {
    weight: Param<Tensor<1>>,
}

/// The values of `t` widened to f32.
fn as_f32(t: &Tensor<1>) -> Vec<f32> {
    t.try_to_data_as::<f32>()
        .unwrap()
        .try_to_vec::<f32>()
        .unwrap()
}

/// `values` rounded to `dtype` and widened back, as burn converts.
fn rounded(values: &[f32], dtype: DType) -> Vec<f32> {
    let data = TensorData::new(values.to_vec(), [values.len()]);
    as_f32(&Tensor::<1>::from_data(data, (&Device::default(), dtype)))
}

/// f32, bf16 and f16 parameters: the optimizer state is f32, each step computes in f32 from
/// the parameter and gradient widened, and writes the parameter back rounded to its dtype (what
/// PyTorch's fused AdamW does with bf16 parameters). So each dtype's run is the plain
/// `Trainer`'s with the parameter rounded after every step, and f32's is the plain one exactly.
#[test]
fn bf16_and_f16_parameters_step_in_f32_and_are_rounded_back() {
    let config = config("optimizer = adam(lr = 0.01, weight_decay = 1e-2, amsgrad = true)");
    let init = [0.5f32, -1.25, 2.0, 0.75];
    let mut finals = Vec::new();
    for dtype in [DType::F32, DType::BF16, DType::F16] {
        let data = TensorData::new(init.to_vec(), [4]);
        let tensor = Tensor::<1>::from_data(data, (&device(), dtype)).require_grad();
        let mut model = One {
            weight: Param::from_tensor(tensor),
        };
        let mut burn = BurnTrainer::new(&config, &model).unwrap();
        let mut plain = Trainer::new(&config, &[("weight", 4)]).unwrap();
        let mut expected = init.to_vec();
        for step in 0..8 {
            let sign = if step % 3 == 2 { -0.5 } else { 1.0 };
            let grad: Vec<f32> = (0..4).map(|i| sign * 0.013 * (i as f32 + 1.0)).collect();
            let mut grads = GradientsParams::new();
            let g = TensorData::new(grad.clone(), [4]);
            grads.register::<1>(
                model.weight.id,
                Tensor::from_data(g, (&Device::default(), dtype)),
            );
            model = burn.step(&model, grads).unwrap();
            // The gradient as the parameter's dtype holds it, then the update rounded back.
            let grad = rounded(&grad, dtype);
            plain
                .step(&mut [ParamMut::named("weight", &mut expected, &grad)])
                .unwrap();
            expected = rounded(&expected, dtype);
            let weight = model.weight.val();
            assert_eq!(weight.dtype(), dtype);
            assert!(weight.is_require_grad());
            assert_eq!(
                bits(&as_f32(&weight)),
                bits(&expected),
                "{dtype:?} after step {step}"
            );
            burn.end_epoch().unwrap();
            plain.end_epoch().unwrap();
        }
        finals.push(expected);
    }
    // The rounding is real: the three runs end apart.
    assert_ne!(bits(&finals[0]), bits(&finals[1]));
    assert_ne!(bits(&finals[0]), bits(&finals[2]));
}

//! The library as a trainer uses it: one error type, `?` into `Box<dyn Error>` and
//! `miette::Result`, and errors that print as diagnostics.

use optimc::error::ErrorKind;
use optimc::optim::ParamMut;
use optimc::{Config, Error, Trainer};
use std::path::PathBuf;

const SOURCE: &str = "optimizer = adam(lr = 0.1)\n\
                      group weights { params = \"*.weight\" }\n\
                      group biases  { params = \"*.bias\" }\n\
                      schedule = step(step_size = 2, gamma = 0.5)\n";

fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("optimc-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What anyhow asks of an error (`anyhow::Error: From<E>`), and what `miette::Report` asks.
fn converts_like_anyhow<E: std::error::Error + Send + Sync + 'static>() {}
fn converts_into_miette<E: miette::Diagnostic + Send + Sync + 'static>() {}

#[test]
fn the_error_type_goes_everywhere() {
    converts_like_anyhow::<Error>();
    converts_into_miette::<Error>();
    // One pointer: a `Result<(), Error>` costs a step nothing.
    assert_eq!(
        std::mem::size_of::<Result<(), Error>>(),
        std::mem::size_of::<usize>()
    );
}

/// Every public fallible call of a training loop, with `?` into `Box<dyn Error>`.
fn training_main(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let path = dir.join("run.optim");
    std::fs::write(&path, SOURCE)?;
    let config = Config::from_path(&path)?;
    assert_eq!(config, Config::from_source("run.optim", SOURCE)?);
    assert_eq!(
        config,
        Config::from_json(&optimc::export::to_json(&config))?
    );
    assert_eq!(
        config,
        Config::from_toml(&optimc::export::to_toml(&config))?
    );
    let mut trainer = Trainer::new(&config, &[("fc.weight", 2), ("fc.bias", 1)])?;
    let (mut w, mut b) = ([1.0f32, 2.0], [0.5f32]);
    trainer.step(&mut [
        ParamMut::named("fc.weight", &mut w, &[0.1, 0.2]),
        ParamMut::named("fc.bias", &mut b, &[0.3]),
    ])?;
    trainer.end_epoch()?;
    let state = dir.join("state.json");
    trainer.save(&state)?;
    trainer.load(&state)?;
    let checkpoint = trainer.checkpoint();
    trainer.restore(&checkpoint)?;
    let mut optimizer = trainer.optimizer().clone();
    optimizer.restore(&trainer.optimizer().state())?;
    let mut schedule = trainer.schedule().clone();
    schedule.restore(&trainer.schedule().state())?;
    Ok(())
}

#[test]
fn question_mark_works_into_box_dyn_error() {
    let dir = tmp_dir("box");
    training_main(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same calls with `?` into `miette::Result`, which renders them as `optimc check` does.
fn miette_main(source: &str) -> miette::Result<Trainer> {
    let config = Config::from_source("run.optim", source)?;
    let trainer = Trainer::new(&config, &[("fc.weight", 2), ("fc.gamma", 1)])?;
    Ok(trainer)
}

#[test]
fn question_mark_works_into_miette_result() {
    let report = miette_main("optimizer = adam(lr = -1)").unwrap_err();
    assert!(report.to_string().contains("run.optim:1:"), "{report}");
    let report = miette_main(SOURCE).unwrap_err();
    let code = report.code().map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("optimc::unmatched_parameters"));
    assert!(report.help().is_some());
}

/// What `fn main() -> Result<(), Box<dyn Error>>` prints for an `Err` is its `Debug`: the
/// rendered diagnostic, not a struct dump.
#[test]
fn debug_and_display_print_the_rendered_diagnostic() {
    let err: Box<dyn std::error::Error> =
        Config::from_source("bad.optim", "optimizer = sgd(lr = -1)")
            .unwrap_err()
            .into();
    let debug = format!("{err:?}");
    assert_eq!(debug, err.to_string());
    assert!(debug.contains("optimc::out_of_range"), "{debug}");
    assert!(debug.contains("bad.optim:1:"), "{debug}");
    assert!(debug.contains("help:"), "{debug}");
    assert!(!debug.contains("Diagnostics {"), "{debug}");

    let config = Config::from_source("a.optim", SOURCE).unwrap();
    let err = Trainer::new(&config, &[("fc.gamma", 1)]).unwrap_err();
    assert_eq!(err.to_string(), "parameter `fc.gamma` matches no group");
    let debug = format!("{err:?}");
    assert!(
        debug.starts_with("optimc::unmatched_parameters\n"),
        "{debug}"
    );
    assert!(
        debug.contains("× parameter `fc.gamma` matches no group"),
        "{debug}"
    );
    assert!(
        debug.contains("help: every parameter must match"),
        "{debug}"
    );
    assert!(matches!(err.kind(), ErrorKind::Groups(_)));
}

#[test]
fn from_path_and_from_source_agree() {
    let dir = tmp_dir("agree");
    let path = dir.join("bad.optim");
    let source = "optimizer = sgd(lr = 0.1)\nschedule = step(step_size = 0)\n";
    std::fs::write(&path, source).unwrap();
    let name = path.display().to_string();
    let from_path = Config::from_path(&path).unwrap_err();
    let from_source = Config::from_source(&name, source).unwrap_err();
    assert_eq!(from_path.to_string(), from_source.to_string());
    assert_eq!(
        from_path.diagnostics().unwrap().items,
        from_source.diagnostics().unwrap().items
    );

    // Not UTF-8: a diagnostic at the first bad byte, as `optimc check` gives.
    std::fs::write(&path, b"optimizer = sgd(lr = 0.1)\xff\n").unwrap();
    let err = Config::from_path(&path).unwrap_err();
    let items = &err.diagnostics().expect("a diagnostic").items;
    assert_eq!(items[0].code.name(), "encoding");
    assert_eq!(items[0].span.start, 25);

    let missing = dir.join("missing.optim");
    let err = Config::from_path(&missing).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Read { .. }), "{err:?}");
    assert!(err.to_string().starts_with("cannot read "), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Deserializing a `Config` goes through the checker: a per-group list one short used to make
/// `Trainer::new` panic out of bounds.
#[test]
fn a_deserialized_config_is_checked() {
    let source = "optimizer = sgd(lr = 0.1)\n\
                  group a { params = \"a.*\" }\n\
                  group b { params = \"b.*\" }\n\
                  schedule = plateau(min_lr = [0.001, 0.002])\n";
    let config = Config::from_source("p.optim", source).unwrap();
    let json = optimc::export::to_json(&config);
    assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), config);
    assert!(json.contains("0.001,\n"), "{json}");
    let short = json.replace("0.001,\n", "");
    let err = serde_json::from_str::<Config>(&short).unwrap_err();
    assert!(err.to_string().contains("min_lr"), "{err}");
    assert!(Config::from_json(&short).is_err());
}

/// `end_epoch()` on a schedule with a `plateau` (alone, in a `chain` or in a `sequence`, for
/// the file or one group) is an error naming the call to use, and steps nothing; without a
/// plateau it steps.
#[test]
fn end_epoch_without_a_metric_is_refused_where_a_plateau_needs_one() {
    let schedules = [
        "schedule = plateau(factor = 0.5, patience = 0)",
        "schedule = chain(plateau(factor = 0.5), exponential(gamma = 0.9))",
        "schedule = sequence(linear(start_factor = 0.5, total_iters = 2), plateau(), milestones = [2])",
        "group w { params = \"*.weight\", schedule = plateau() }\ngroup b { params = \"*.bias\" }",
    ];
    for schedule in schedules {
        let source = format!("optimizer = sgd(lr = 0.1)\n{schedule}\n");
        let config = Config::from_source("p.optim", &source).unwrap();
        let mut trainer = Trainer::new(&config, &[("fc.weight", 1), ("fc.bias", 1)]).unwrap();
        let (lrs, epoch) = (trainer.lrs().to_vec(), trainer.epoch());
        let err = trainer.end_epoch().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::MetricNeeded), "{schedule}");
        assert!(err.to_string().contains("`plateau`"), "{err}");
        let debug = format!("{err:?}");
        assert!(debug.contains("optimc::metric_needed"), "{debug}");
        assert!(debug.contains("end_epoch_with(metric)"), "{debug}");
        assert_eq!(
            (trainer.lrs(), trainer.epoch()),
            (&lrs[..], epoch),
            "{schedule}"
        );
        trainer.end_epoch_with(1.0);
        assert_eq!(trainer.epoch(), epoch + 1, "{schedule}");
    }
    let config = Config::from_source(
        "s.optim",
        "optimizer = sgd(lr = 0.1)\nschedule = step(step_size = 1, gamma = 0.5)\n",
    )
    .unwrap();
    let mut trainer = Trainer::new(&config, &[("w", 1)]).unwrap();
    trainer.end_epoch().unwrap();
    assert_eq!(trainer.lrs(), &[0.05]);
}

/// Two parameters of the same size passed in the wrong order are refused by name; so is a
/// parameter without a name. Nothing is stepped then.
#[test]
fn step_checks_parameters_by_name() {
    let config = Config::from_source("a.optim", SOURCE).unwrap();
    let mut trainer = Trainer::new(&config, &[("fc.weight", 2), ("fc.bias", 2)]).unwrap();
    let (mut w, mut b) = ([1.0f32, 2.0], [0.5f32, 0.5]);
    let before = trainer.optimizer().state();
    let err = trainer
        .step(&mut [
            ParamMut::named("fc.bias", &mut b, &[0.1, 0.1]),
            ParamMut::named("fc.weight", &mut w, &[0.1, 0.1]),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter 0 is `fc.bias`, but `fc.weight` was registered there"
    );
    assert!(format!("{err:?}").contains("optimc::step_param_name"));
    let err = trainer
        .step(&mut [
            ParamMut::named("fc.weight", &mut w, &[0.1, 0.1]),
            ParamMut::new(&mut b, &[0.1, 0.1]),
        ])
        .unwrap_err();
    assert_eq!(err.to_string(), "parameter 1 (`fc.bias`) has no name");
    assert!(format!("{err:?}").contains("ParamMut::named"));
    assert!(matches!(err.kind(), ErrorKind::Step(_)));
    assert_eq!((w, b), ([1.0, 2.0], [0.5, 0.5]));
    assert_eq!(trainer.optimizer().state(), before);

    trainer
        .step(&mut [
            ParamMut::named("fc.weight", &mut w, &[0.1, 0.1]),
            ParamMut::without_grad(&mut b).with_name("fc.bias"),
        ])
        .unwrap();
    assert_ne!(w, [1.0, 2.0]);
    assert_eq!(b, [0.5, 0.5]);

    // The optimizer alone checks names when they are given, and positions otherwise.
    let mut optimizer = trainer.optimizer().clone();
    let err = optimizer
        .step(&mut [
            ParamMut::new(&mut w, &[0.1, 0.1]),
            ParamMut::named("fc.weight", &mut b, &[0.1, 0.1]),
        ])
        .unwrap_err();
    assert!(matches!(
        err,
        optimc::optim::StepError::Name { position: 1, .. }
    ));
    optimizer
        .step(&mut [
            ParamMut::new(&mut w, &[0.1, 0.1]),
            ParamMut::new(&mut b, &[0.1, 0.1]),
        ])
        .unwrap();
}

/// A group index out of range is an error naming the index and every group, from each setter
/// (`Trainer::set_lr`, `Schedule::set_lr`, `Optimizer::set_lr` and `set_momentum`), and changes
/// nothing.
#[test]
fn setters_refuse_a_group_out_of_range() {
    let config = Config::from_source("a.optim", SOURCE).unwrap();
    let mut trainer = Trainer::new(&config, &[("fc.weight", 1), ("fc.bias", 1)]).unwrap();
    let no_group = |err: Error, group: usize| {
        let ErrorKind::NoGroup { group: g, names } = err.kind() else {
            panic!("{err:?}")
        };
        assert_eq!(*g, group);
        assert_eq!(names, &["weights", "biases"]);
        err
    };
    let err = no_group(trainer.set_lr(2, 0.5).unwrap_err(), 2);
    insta::assert_snapshot!("set_lr_no_group", format!("{err:?}"));
    no_group(trainer.set_lr(usize::MAX, 0.5).unwrap_err(), usize::MAX);
    assert_eq!(trainer.lrs(), &[0.1, 0.1]);
    let mut schedule = trainer.schedule().clone();
    no_group(schedule.set_lr(7, 0.5).unwrap_err(), 7);
    assert_eq!(schedule.lrs(), &[0.1, 0.1]);
    let optimizer = trainer.optimizer_mut();
    no_group(optimizer.set_lr(2, 0.5).unwrap_err(), 2);
    no_group(optimizer.set_momentum(2, 0.5).unwrap_err(), 2);
    assert!(optimizer.set_momentum(1, 0.5).unwrap()); // adam: betas[0]
    assert_eq!(optimizer.hyperparams(1).betas.0, 0.5);
    assert_eq!((optimizer.lr(0), optimizer.lr(1)), (0.1, 0.1));

    // A file without groups has one, group 0.
    let config = Config::from_source("b.optim", "optimizer = sgd(lr = 0.1)").unwrap();
    let mut trainer = Trainer::new(&config, &[("w", 1)]).unwrap();
    trainer.set_lr(0, 0.2).unwrap();
    let err = trainer.set_lr(1, 0.5).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("there is no group 1: the configuration has 1 group: 0 `"),
        "{err}"
    );
}

/// `set_lr` is PyTorch's `param_groups[g]["lr"] = lr`: used from the next step, and the
/// chainable schedules continue from it while `lambda` recomputes from the initial lr;
/// `optimizer_mut` changes a hyperparameter until the schedule writes its own.
#[test]
fn set_lr_and_optimizer_mut_act_as_in_pytorch() {
    let config = Config::from_source("a.optim", SOURCE).unwrap(); // step(step_size = 2, gamma = 0.5)
    let mut trainer = Trainer::new(&config, &[("fc.weight", 1), ("fc.bias", 1)]).unwrap();
    trainer.set_lr(1, 0.02).unwrap();
    assert_eq!(trainer.lrs(), &[0.1, 0.02]);
    assert_eq!(trainer.optimizer().lr(1), 0.02);
    trainer.end_epoch().unwrap();
    trainer.end_epoch().unwrap();
    assert_eq!(trainer.lrs(), &[0.05, 0.01]);
    assert_eq!(trainer.optimizer().lr(1), 0.01);

    let source = "optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = lambda(e -> 0.5 ** e)\n";
    let config = Config::from_source("l.optim", source).unwrap();
    let mut trainer = Trainer::new(&config, &[("w", 1)]).unwrap();
    trainer.set_lr(0, 7.0).unwrap();
    assert_eq!(trainer.optimizer().lr(0), 7.0);
    trainer.end_epoch().unwrap();
    assert_eq!(trainer.lrs(), &[0.05]); // LambdaLR: initial lr × f(epoch)

    trainer.optimizer_mut().hyperparams_mut(0).momentum = 0.5;
    let (mut w, g) = ([1.0f32], [1.0f32]);
    trainer
        .step(&mut [ParamMut::named("w", &mut w, &g)])
        .unwrap();
    assert_eq!(trainer.optimizer().hyperparams(0).momentum, 0.5);
    assert!((w[0] - 0.95).abs() < 1e-6, "{w:?}");
}

/// A warmup with `start_momentum` drives the optimizer's momentum (SGD) or `betas[0]` (Adam):
/// from the start value at step 0 up to the optimizer's at the warmup's end, where it stays.
#[test]
fn trainer_applies_the_warmed_up_momentum() {
    for (optimizer, end) in [
        ("sgd(lr = 0.1, momentum = 0.9)", 0.9),
        ("adamw(lr = 0.1, betas = (0.9, 0.999))", 0.9),
    ] {
        let source = format!(
            "optimizer = {optimizer}\nschedule = warmup(steps = 2, then = cosine(t_max = 5), start_momentum = 0.5)\n"
        );
        let config = Config::from_source("m.optim", &source).unwrap();
        let mut trainer = Trainer::new(&config, &[("w", 2)]).unwrap();
        let (mut w, g) = ([1.0f32; 2], [0.5f32; 2]);
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(trainer.optimizer().momentum(0).unwrap());
            trainer
                .step(&mut [ParamMut::named("w", &mut w, &g)])
                .unwrap();
            trainer.end_epoch().unwrap();
        }
        let expected = [0.5, 0.5 + (end - 0.5) * 0.5, end, end];
        assert_eq!(seen, expected, "{optimizer}");
        // The option each optimizer has: `momentum` for SGD, `betas[0]` for AdamW.
        let hp = trainer.optimizer().hyperparams(0);
        let option = if optimizer.starts_with("sgd") {
            hp.momentum
        } else {
            hp.betas.0
        };
        assert_eq!(option, end, "{optimizer}");
    }
}

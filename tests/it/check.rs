//! The checker through the library: what it accepts, what it resolves, and that it reports
//! every error of a file in one run.

use optimc::config::{OptimizerKind, PerGroup, ScheduleConfig};
use optimc::diagnostic::Code;
use optimc::{check_source, Config, Schedule};

fn config(src: &str) -> Config {
    Config::from_source("test.optim", src).unwrap_or_else(|d| panic!("{d}"))
}

fn codes(src: &str) -> Vec<Code> {
    let (config, diagnostics) = check_source("test.optim", src);
    assert!(config.is_none(), "accepted:\n{src}");
    diagnostics.errors().map(|d| d.code).collect()
}

#[test]
fn every_error_is_reported_in_one_run_sorted_by_position() {
    let src = r#"
let a = 1
let a = 2
optimizer = sgd(lr = 0.1, momentm = 0.9)
group head { params = "head.*", betas = (0.9, 0.99) }
group body { lr = 0.1 }
schedule = chain(step(step_size = 2.5), cosine(T_max = 10), plateau(mode = maximum))
"#;
    let (config, diagnostics) = check_source("test.optim", src);
    assert!(config.is_none());
    let found: Vec<Code> = diagnostics.items.iter().map(|d| d.code).collect();
    assert_eq!(
        found,
        [
            Code::DuplicateDefinition,
            Code::UnknownOption,
            Code::UnknownOption,
            Code::MissingParams,
            Code::NotAnInteger,
            Code::UnknownOption,
            Code::UnknownEnumValue,
        ]
    );
    let starts: Vec<usize> = diagnostics.items.iter().map(|d| d.span.start).collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "not sorted: {starts:?}"
    );
}

#[test]
fn positional_arguments_follow_pytorch_order() {
    let c = config("optimizer = adam(0.01, (0.8, 0.9), 1e-6)\nschedule = cyclic(0.001, 0.01, 4, 6, triangular2)");
    assert_eq!(c.optimizer, OptimizerKind::Adam);
    assert_eq!(c.defaults.lr, 0.01);
    assert_eq!(c.defaults.betas, (0.8, 0.9));
    assert_eq!(c.defaults.eps, 1e-6);
    let Some(ScheduleConfig::Cyclic {
        step_size_up,
        step_size_down,
        mode,
        ..
    }) = c.schedule
    else {
        panic!("{:?}", c.schedule)
    };
    assert_eq!((step_size_up, step_size_down), (4.0, Some(6.0)));
    assert_eq!(mode, optimc::config::CyclicMode::Triangular2);
    // `maximize` is keyword-only in PyTorch.
    assert_eq!(
        codes("optimizer = sgd(0.1, 0.9, 0, 0, false, true)"),
        [Code::BadArgumentOrder]
    );
}

#[test]
fn lets_groups_and_defaults_resolve() {
    let c = config(
        r#"
let base = 0.1
let warm = e -> min(1, (e + 1) / 5)
optimizer = sgd(lr = base, momentum = 0.9)
group a { params = ["a.*", "b?"], lr = base / 10 }
group b {
  params = "*"
  schedule = lambda(e -> warm(e) * 0.5 ** (e // 10))
}
schedule = plateau(min_lr = [1e-5, 1e-6])
"#,
    );
    assert_eq!(c.groups.len(), 2);
    assert_eq!(c.groups[0].options.lr, 0.01);
    assert_eq!(c.groups[0].options.momentum, 0.9);
    assert_eq!(c.groups[0].params, ["a.*", "b?"]);
    assert!(
        matches!(c.schedule, Some(ScheduleConfig::Plateau { min_lr: PerGroup::Each(ref v), .. }) if v == &[1e-5, 1e-6])
    );
    let Some(ScheduleConfig::Lambda { lr_lambda }) = &c.groups[1].schedule else {
        panic!()
    };
    assert_eq!(lr_lambda.eval(0.0), 0.2 * 1.0);
    assert_eq!(lr_lambda.eval(25.0), 0.25);
    assert_eq!(
        lr_lambda.to_string(),
        "e -> min(1, (e + 1) / 5) * 0.5 ** (e // 10)"
    );
    // No groups: one implicit group over every parameter.
    let c = config("optimizer = adamw()");
    assert_eq!(c.groups.len(), 1);
    assert_eq!(c.groups[0].name, "default");
    assert_eq!(c.groups[0].params, ["*"]);
    assert_eq!(c.defaults.weight_decay, 1e-2);
}

#[test]
fn lambdas_keep_python_arithmetic() {
    let c = config("optimizer = sgd(lr = 1)\nschedule = lambda(e -> (-7 // 2) + (-7 % 3) + round(2.5) + -2 ** 2 + 2 ** -1)");
    let Some(ScheduleConfig::Lambda { lr_lambda }) = c.schedule else {
        panic!()
    };
    // Python: -4 + 2 + 2 + -4 + 0.5
    assert_eq!(lr_lambda.eval(0.0), -3.5);
}

#[test]
fn lambdas_round_trip_through_text() {
    let c = config("optimizer = sgd(lr = 1)\nschedule = lambda(e -> if e < 5 and not e == 2 then (e + 1) / 5 else 0.9 ** (e - 5))");
    let Some(ScheduleConfig::Lambda { lr_lambda }) = c.schedule else {
        panic!()
    };
    let text = lr_lambda.to_string();
    let back = optimc::expr::Lambda::from_text(&text).unwrap();
    assert_eq!(back, lr_lambda);
    for e in 0..20 {
        assert_eq!(
            back.eval(e as f64).to_bits(),
            lr_lambda.eval(e as f64).to_bits(),
            "{text} at {e}"
        );
    }
    let json = serde_json::to_string(&lr_lambda).unwrap();
    let from_json: optimc::expr::Lambda = serde_json::from_str(&json).unwrap();
    assert_eq!(from_json, lr_lambda);
}

/// PyTorch's CyclicLR with a custom `scale_fn`, written out from `torch/optim/lr_scheduler.py`.
fn torch_cyclic(
    epoch: f64,
    base: f64,
    max: f64,
    up: f64,
    down: f64,
    scale: impl Fn(f64) -> f64,
    per_cycle: bool,
) -> f64 {
    let total = up + down;
    let ratio = up / total;
    let cycle = (1.0 + epoch / total).floor();
    let x = 1.0 + epoch / total - cycle;
    let factor = if x <= ratio {
        x / ratio
    } else {
        (x - 1.0) / (ratio - 1.0)
    };
    let height = (max - base) * factor;
    base + height * scale(if per_cycle { cycle } else { epoch })
}

#[test]
fn cyclic_custom_scale_fn_in_both_modes() {
    for (mode, per_cycle) in [("cycle", true), ("iterations", false)] {
        let c = config(&format!(
            "optimizer = adam(lr = 0.1)\nschedule = cyclic(base_lr = 0.1, max_lr = 1.1, step_size_up = 2, step_size_down = 3, scale_fn = c -> 0.5 ** (c - 1), scale_mode = {mode}, cycle_momentum = false)"
        ));
        let mut schedule = Schedule::new(&c);
        for e in 0..23 {
            let expected = torch_cyclic(
                e as f64,
                0.1,
                1.1,
                2.0,
                3.0,
                |c| 0.5f64.powf(c - 1.0),
                per_cycle,
            );
            let actual = schedule.lrs()[0];
            assert!(
                (actual - expected).abs() <= 1e-15,
                "{mode} epoch {e}: {actual} vs {expected}"
            );
            schedule.step().unwrap();
        }
    }
}

#[test]
fn spans_point_at_the_mistake() {
    let src = "optimizer = sgd(lr = 0.1)\nschedule = step(step_size = 30, gama = 0.5)";
    let (_, d) = check_source("t.optim", src);
    let e = &d.items[0];
    assert_eq!(&src[e.span.start..e.span.end], "gama");
    assert_eq!(e.help.as_deref(), Some("did you mean `gamma`?"));
}

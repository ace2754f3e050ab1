//! Conformance against PyTorch: every `tests/conformance/torch/*.json` case whose scheduler tree
//! has no `LambdaLR`/`MultiplicativeLR` (those need the expression compiler and are covered end
//! to end elsewhere) is rebuilt as a [`Config`], run through the reference loop, and compared
//! with the recorded lrs and momenta.

use super::Schedule;
use crate::config::{
    AnnealStrategy, Config, CyclicMode, GroupConfig, Hyperparams, OptimizerKind, OptionValue,
    OptionValueKind, PerGroup, PlateauMode, ScaleMode, ScheduleConfig, ThresholdMode,
};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

type Kwargs = Map<String, Value>;

fn case_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/torch")
}

fn uses_lambda(s: &Value) -> bool {
    let ty = s["type"].as_str().unwrap_or_default();
    ty == "LambdaLR"
        || ty == "MultiplicativeLR"
        || s["children"]
            .as_array()
            .is_some_and(|c| c.iter().any(uses_lambda))
}

/// Parses a case file with every number turned into a string holding its literal, so that
/// numbers are converted by Rust's correctly rounded `str::parse` (serde_json's default float
/// parser may be one ulp off, which would hide or fake last-bit differences).
fn parse_case(text: &str) -> Value {
    let mut out = String::with_capacity(text.len() * 2);
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '-' || c.is_ascii_digit() {
            out.push('"');
            out.push(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_alphanumeric() || matches!(d, '.' | '-' | '+') {
                    out.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push('"');
        } else {
            out.push(c);
        }
    }
    serde_json::from_str(&out).expect("case JSON")
}

fn num(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

fn whole_num(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("expected a whole number, got {v}"))
}

fn float(kw: &Kwargs, key: &str, default: f64) -> f64 {
    kw.get(key).map_or(default, num)
}

fn whole(kw: &Kwargs, key: &str, default: u64) -> u64 {
    kw.get(key).map_or(default, whole_num)
}

fn required<'a>(kw: &'a Kwargs, key: &str) -> &'a Value {
    kw.get(key)
        .unwrap_or_else(|| panic!("missing required kwarg {key}"))
}

fn per_group(kw: &Kwargs, key: &str, default: f64) -> PerGroup {
    match kw.get(key) {
        None => PerGroup::All(default),
        Some(Value::Array(vs)) => PerGroup::Each(vs.iter().map(num).collect()),
        Some(v) => PerGroup::All(num(v)),
    }
}

fn string<'a>(kw: &'a Kwargs, key: &str, default: &'a str) -> &'a str {
    kw.get(key)
        .map_or(default, |v| v.as_str().expect("a string"))
}

fn boolean(kw: &Kwargs, key: &str, default: bool) -> bool {
    kw.get(key)
        .map_or(default, |v| v.as_bool().expect("a bool"))
}

/// Maps a torch scheduler (type + kwargs as passed to torch) to the resolved schedule,
/// filling in torch's defaults.
fn schedule(s: &Value) -> ScheduleConfig {
    let empty = Kwargs::new();
    let kw = s["kwargs"].as_object().unwrap_or(&empty);
    let children = || -> Vec<ScheduleConfig> {
        s["children"]
            .as_array()
            .expect("children")
            .iter()
            .map(schedule)
            .collect()
    };
    match s["type"].as_str().expect("scheduler type") {
        "StepLR" => ScheduleConfig::Step {
            step_size: whole(kw, "step_size", u64::MAX),
            gamma: float(kw, "gamma", 0.1),
        },
        "MultiStepLR" => ScheduleConfig::Multistep {
            milestones: required(kw, "milestones")
                .as_array()
                .expect("milestones list")
                .iter()
                .map(whole_num)
                .collect(),
            gamma: float(kw, "gamma", 0.1),
        },
        "ExponentialLR" => ScheduleConfig::Exponential {
            gamma: num(required(kw, "gamma")),
        },
        "ConstantLR" => ScheduleConfig::Constant {
            factor: float(kw, "factor", 1.0 / 3.0),
            total_iters: whole(kw, "total_iters", 5),
        },
        "LinearLR" => ScheduleConfig::Linear {
            start_factor: float(kw, "start_factor", 1.0 / 3.0),
            end_factor: float(kw, "end_factor", 1.0),
            total_iters: whole(kw, "total_iters", 5),
        },
        "PolynomialLR" => ScheduleConfig::Polynomial {
            total_iters: whole(kw, "total_iters", 5),
            power: float(kw, "power", 1.0),
        },
        "CosineAnnealingLR" => ScheduleConfig::Cosine {
            t_max: whole_num(required(kw, "T_max")),
            eta_min: float(kw, "eta_min", 0.0),
        },
        "CosineAnnealingWarmRestarts" => ScheduleConfig::CosineRestarts {
            t_0: whole_num(required(kw, "T_0")),
            t_mult: whole(kw, "T_mult", 1),
            eta_min: float(kw, "eta_min", 0.0),
        },
        "CyclicLR" => {
            assert!(kw.get("scale_fn").is_none(), "scale_fn needs lambdas");
            ScheduleConfig::Cyclic {
                base_lr: per_group(kw, "base_lr", f64::NAN),
                max_lr: per_group(kw, "max_lr", f64::NAN),
                step_size_up: float(kw, "step_size_up", 2000.0),
                step_size_down: kw.get("step_size_down").filter(|v| !v.is_null()).map(num),
                mode: match string(kw, "mode", "triangular") {
                    "triangular" => CyclicMode::Triangular,
                    "triangular2" => CyclicMode::Triangular2,
                    "exp_range" => CyclicMode::ExpRange,
                    m => panic!("unknown cyclic mode {m}"),
                },
                gamma: float(kw, "gamma", 1.0),
                scale_fn: None,
                scale_mode: match string(kw, "scale_mode", "cycle") {
                    "cycle" => ScaleMode::Cycle,
                    _ => ScaleMode::Iterations,
                },
                cycle_momentum: boolean(kw, "cycle_momentum", true),
                base_momentum: per_group(kw, "base_momentum", 0.8),
                max_momentum: per_group(kw, "max_momentum", 0.9),
            }
        }
        "OneCycleLR" => ScheduleConfig::OneCycle {
            max_lr: per_group(kw, "max_lr", f64::NAN),
            total_steps: match kw.get("total_steps").filter(|v| !v.is_null()) {
                Some(v) => whole_num(v),
                None => whole(kw, "epochs", 0) * whole(kw, "steps_per_epoch", 0),
            },
            pct_start: float(kw, "pct_start", 0.3),
            anneal_strategy: match string(kw, "anneal_strategy", "cos") {
                "cos" => AnnealStrategy::Cos,
                _ => AnnealStrategy::Linear,
            },
            cycle_momentum: boolean(kw, "cycle_momentum", true),
            base_momentum: per_group(kw, "base_momentum", 0.85),
            max_momentum: per_group(kw, "max_momentum", 0.95),
            div_factor: float(kw, "div_factor", 25.0),
            final_div_factor: float(kw, "final_div_factor", 1e4),
            three_phase: boolean(kw, "three_phase", false),
        },
        "ReduceLROnPlateau" => ScheduleConfig::Plateau {
            mode: match string(kw, "mode", "min") {
                "min" => PlateauMode::Min,
                _ => PlateauMode::Max,
            },
            factor: float(kw, "factor", 0.1),
            patience: whole(kw, "patience", 10),
            threshold: float(kw, "threshold", 1e-4),
            threshold_mode: match string(kw, "threshold_mode", "rel") {
                "rel" => ThresholdMode::Rel,
                _ => ThresholdMode::Abs,
            },
            cooldown: whole(kw, "cooldown", 0),
            min_lr: per_group(kw, "min_lr", 0.0),
            eps: float(kw, "eps", 1e-8),
        },
        "ChainedScheduler" => ScheduleConfig::Chain {
            children: children(),
        },
        "SequentialLR" => ScheduleConfig::Sequence {
            children: children(),
            milestones: required(kw, "milestones")
                .as_array()
                .expect("milestones list")
                .iter()
                .map(whole_num)
                .collect(),
        },
        other => panic!("unsupported scheduler {other}"),
    }
}

/// Applies torch keyword arguments to hyperparameters.
fn apply_options(kind: OptimizerKind, h: &mut Hyperparams, options: &Kwargs) {
    for (key, v) in options {
        let option = kind
            .option(key)
            .unwrap_or_else(|| panic!("unknown optimizer option {key}"));
        let value = match option.value_kind() {
            OptionValueKind::Number => OptionValue::Number(num(v)),
            OptionValueKind::Bool => OptionValue::Bool(v.as_bool().expect("a bool")),
            OptionValueKind::Pair => {
                let pair = v.as_array().expect("a 2-list");
                OptionValue::Pair(num(&pair[0]), num(&pair[1]))
            }
            // The torch cases use the nine first optimizers only.
            other => panic!("{key}: no {other:?} option in the torch cases"),
        };
        assert!(h.set(option, value), "{key}");
    }
}

fn config(case: &Value) -> Config {
    let ty = case["optimizer"]["type"].as_str().expect("optimizer type");
    let optimizer = OptimizerKind::ALL
        .into_iter()
        .find(|k| k.torch_name() == ty)
        .unwrap_or_else(|| panic!("unknown optimizer {ty}"));
    let mut defaults = Hyperparams::defaults(optimizer);
    if let Some(d) = case["optimizer"]["defaults"].as_object() {
        apply_options(optimizer, &mut defaults, d);
    }
    let groups = case["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let mut options = defaults;
            if let Some(o) = g["options"].as_object() {
                apply_options(optimizer, &mut options, o);
            }
            let name = g["name"].as_str().expect("group name").to_owned();
            GroupConfig::new(name.clone(), vec![name], options)
        })
        .collect();
    Config {
        optimizer,
        defaults,
        groups,
        schedule: (!case["scheduler"].is_null()).then(|| schedule(&case["scheduler"])),
        run: None,
        average: None,
    }
}

fn close(got: f64, want: f64) -> bool {
    got == want || (got - want).abs() <= 1e-15 || ((got - want) / want).abs() <= 1e-10
}

/// Runs one case; returns a description of every mismatch (empty when it conforms) and how
/// many compared values were not bit-identical (informational: the contract is 1e-10).
fn run_case(name: &str, case: &Value) -> (Vec<String>, usize) {
    let config = config(case);
    let mut schedule = Schedule::new(&config);
    let epochs = whole_num(&case["epochs"]) as usize;
    let metrics: Option<Vec<f64>> = case["metrics"]
        .as_array()
        .map(|m| m.iter().map(num).collect());
    let groups = config.groups.len();
    let mut lr = vec![Vec::with_capacity(epochs); groups];
    let mut momentum = vec![Vec::with_capacity(epochs); groups];
    assert_eq!(
        schedule.needs_metric(),
        metrics.is_some(),
        "{name}: needs_metric"
    );
    for e in 0..epochs {
        assert_eq!(schedule.epoch(), e as u64);
        for g in 0..groups {
            lr[g].push(schedule.lrs()[g]);
            momentum[g].push(schedule.momentum(g));
        }
        match &metrics {
            Some(m) => schedule.step_with(m[e]),
            None => schedule.step().expect("no plateau without metrics"),
        }
    }
    let mut failures = Vec::new();
    let mut inexact = 0;
    let expected = &case["expected"];
    for g in 0..groups {
        let want_lr = expected["lr"][g].as_array().expect("expected lr");
        assert_eq!(want_lr.len(), epochs, "{name}: expected lr length");
        for (e, want) in want_lr.iter().enumerate() {
            let want = num(want);
            inexact += usize::from(lr[g][e].to_bits() != want.to_bits());
            if !close(lr[g][e], want) {
                failures.push(format!(
                    "{name}: group {g} epoch {e}: lr {:e}, torch {want:e}",
                    lr[g][e]
                ));
            }
        }
        match expected["momentum"].as_array() {
            Some(per_group) => {
                for (e, want) in per_group[g].as_array().expect("momenta").iter().enumerate() {
                    let want = num(want);
                    inexact +=
                        usize::from(momentum[g][e].map(f64::to_bits) != Some(want.to_bits()));
                    match momentum[g][e] {
                        Some(got) if close(got, want) => {}
                        got => failures.push(format!(
                            "{name}: group {g} epoch {e}: momentum {got:?}, torch {want:e}"
                        )),
                    }
                }
            }
            None => {
                if momentum[g].iter().any(Option::is_some) {
                    failures.push(format!(
                        "{name}: group {g}: momentum reported but not cycled"
                    ));
                }
            }
        }
    }
    assert_eq!(
        schedule.cycles_momentum(),
        expected["momentum"].is_array(),
        "{name}: cycles_momentum"
    );
    (failures, inexact)
}

#[test]
fn torch_cases_without_lambdas_conform() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(case_dir())
        .expect("tests/conformance/torch")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut ran = 0;
    let mut failures = Vec::new();
    let mut inexact = 0;
    for path in &paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("read case");
        let case = parse_case(&text);
        if !case["scheduler"].is_null() && uses_lambda(&case["scheduler"]) {
            continue;
        }
        ran += 1;
        let (f, n) = run_case(&name, &case);
        failures.extend(f);
        inexact += n;
    }
    eprintln!("ran {ran} cases; {inexact} values not bit-identical to torch");
    assert!(ran >= 50, "only {ran} cases found");
    assert!(
        failures.is_empty(),
        "{} mismatches over {ran} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_comparison_can_fail() {
    assert!(close(0.1, 0.1 * (1.0 + 1e-12)));
    assert!(!close(0.1, 0.1 * (1.0 + 1e-9)));
    assert!(close(0.0, 1e-16));
    // A perturbed expectation is caught.
    let path = case_dir().join("step_basic.json");
    let mut case = parse_case(&std::fs::read_to_string(path).unwrap());
    case["expected"]["lr"][1][40] = Value::from(format!("{:?}", 1e-4 * (1.0 + 1e-9)));
    let (failures, _) = run_case("step_basic (perturbed)", &case);
    assert_eq!(failures.len(), 1, "{failures:?}");
}

//! Replays every `tests/conformance/torch/*.json` trajectory (recorded from real PyTorch) and
//! every `tests/conformance/optimizers/*.json` one of an optimizer optimc implements (issue 15's,
//! recorded from torch and timm, with shaped parameters) through [`Optimizer`] with the recorded
//! per-epoch lr (and momentum / beta1), no schedule involved, and compares every parameter after
//! every step.

use super::{Optimizer, ParamMut};
use crate::config::{
    Config, GroupConfig, Hyperparams, OptimizerKind, OptionValue, OptionValueKind,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    cases_in("torch")
}

fn cases_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Quotes every number of a JSON text, so that numbers reach us as their decimal text and are
/// parsed by Rust's correctly rounded `str::parse` (serde_json's default float parser is only
/// "best effort" and can be one ulp off, which matters for bit-exact comparisons).
fn quote_numbers(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 5 / 4);
    let mut chars = json.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '-' || c.is_ascii_digit() {
            out.push('"');
            out.push(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-') {
                    out.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push('"');
        } else {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// A number of the (number-quoted) case file.
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        _ => panic!("number expected, found {v}"),
    }
}

/// Applies PyTorch keyword arguments from a JSON object onto `hp`.
fn apply_options(kind: OptimizerKind, hp: &mut Hyperparams, options: &Value) {
    for (key, value) in options.as_object().expect("options must be an object") {
        if key == "foreach" {
            // optimc has one implementation; the cases ran the single-tensor one.
            continue;
        }
        let option = kind
            .option(key)
            .unwrap_or_else(|| panic!("{} takes no option {key}", kind.torch_name()));
        let value = match option.value_kind() {
            OptionValueKind::Number => OptionValue::Number(num(value)),
            OptionValueKind::Bool => OptionValue::Bool(
                value
                    .as_bool()
                    .unwrap_or_else(|| panic!("{key}: bool expected")),
            ),
            OptionValueKind::Pair => {
                let b = value.as_array().expect("2-list expected");
                assert_eq!(b.len(), 2, "{key}: 2-list expected");
                OptionValue::Pair(num(&b[0]), num(&b[1]))
            }
            OptionValueKind::MaybePair => {
                let b = value.as_array().expect("2-list expected");
                assert_eq!(b.len(), 2, "{key}: 2-list expected");
                OptionValue::MaybePair((!b[0].is_null()).then(|| num(&b[0])), num(&b[1]))
            }
            OptionValueKind::Triple => {
                let b = value.as_array().expect("3-list expected");
                assert_eq!(b.len(), 3, "{key}: 3-list expected");
                OptionValue::Triple(num(&b[0]), num(&b[1]), num(&b[2]))
            }
            OptionValueKind::Count => OptionValue::Count(num(value) as u32),
            OptionValueKind::MaybeNumber => {
                OptionValue::MaybeNumber((!value.is_null()).then(|| num(value)))
            }
            OptionValueKind::Choice => OptionValue::Choice(value.as_str().map(|c| {
                *option
                    .choices()
                    .iter()
                    .find(|k| **k == c)
                    .unwrap_or_else(|| panic!("{key}: no choice {c}"))
            })),
        };
        assert!(hp.set(option, value), "{key}");
    }
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("list of numbers expected")
        .iter()
        .map(|x| {
            let d = num(x);
            let f = d as f32;
            assert_eq!(f64::from(f), d, "{d} is not an exact float32");
            f
        })
        .collect()
}

/// The worst deviation of one case: (relative error, absolute error, mismatching values).
#[derive(Default, Debug)]
struct Outcome {
    worst_rel: f64,
    worst_abs: f64,
    inexact: usize,
    compared: usize,
    failures: Vec<String>,
}

fn run_case(path: &Path) -> Outcome {
    let case: Value =
        serde_json::from_str(&quote_numbers(&std::fs::read_to_string(path).unwrap())).unwrap();
    let name = case["name"].as_str().unwrap().to_string();
    let torch_name = case["optimizer"]["type"].as_str().unwrap();
    let kind = OptimizerKind::ALL
        .into_iter()
        .find(|k| k.torch_name() == torch_name)
        .unwrap_or_else(|| panic!("{name}: unknown optimizer {torch_name}"));
    let mut defaults = Hyperparams::defaults(kind);
    apply_options(kind, &mut defaults, &case["optimizer"]["defaults"]);
    let groups_json = case["groups"].as_array().unwrap();
    let groups: Vec<GroupConfig> = groups_json
        .iter()
        .map(|g| {
            let mut options = defaults;
            apply_options(kind, &mut options, &g["options"]);
            let gname = g["name"].as_str().unwrap().to_string();
            GroupConfig::new(gname.clone(), vec![gname], options)
        })
        .collect();
    let config = Config {
        optimizer: kind,
        defaults,
        groups,
        schedule: None,
        run: None,
        average: None,
    };
    let names: Vec<String> = groups_json
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    let sizes: Vec<usize> = groups_json
        .iter()
        .map(|g| num(&g["size"]) as usize)
        .collect();
    let shapes: Vec<Vec<usize>> = groups_json
        .iter()
        .zip(&sizes)
        .map(|(g, &size)| match g.get("shape") {
            Some(shape) => shape
                .as_array()
                .unwrap()
                .iter()
                .map(|d| num(d) as usize)
                .collect(),
            None => vec![size],
        })
        .collect();
    let registered: Vec<(&str, &[usize])> = names
        .iter()
        .map(String::as_str)
        .zip(shapes.iter().map(Vec::as_slice))
        .collect();
    let mut opt = Optimizer::with_shapes(&config, &registered).unwrap();
    for (i, n) in names.iter().enumerate() {
        assert_eq!(opt.group_of(n), Some(i));
    }
    let mut params: Vec<Vec<f32>> = names.iter().map(|n| floats(&case["init"][n])).collect();
    let epochs = num(&case["epochs"]) as usize;
    let expected = &case["expected"];
    let momentum = expected.get("momentum").filter(|m| !m.is_null());
    let mut out = Outcome::default();
    for epoch in 0..epochs {
        for g in 0..names.len() {
            opt.set_lr(g, num(&expected["lr"][g][epoch])).unwrap();
            if let Some(m) = momentum {
                assert!(opt.set_momentum(g, num(&m[g][epoch])).unwrap());
            }
        }
        let grads: Vec<Vec<f32>> = names
            .iter()
            .map(|n| floats(&case["grads"][epoch][n]))
            .collect();
        let mut handles: Vec<ParamMut<'_>> = params
            .iter_mut()
            .zip(&grads)
            .map(|(p, g)| ParamMut::new(p, g))
            .collect();
        opt.step(&mut handles).unwrap();
        for (n, p) in names.iter().zip(&params) {
            let want = floats(&expected["params"][epoch][n]);
            for (j, (&got, &want)) in p.iter().zip(&want).enumerate() {
                out.compared += 1;
                if got.to_bits() == want.to_bits() {
                    continue;
                }
                out.inexact += 1;
                if out.inexact == 1 && std::env::var_os("OPTIM_DEBUG").is_some() {
                    eprintln!(
                        "{name}: first difference at epoch {epoch} {n}[{j}]: {got:e} vs {want:e}"
                    );
                }
                let abs = (f64::from(got) - f64::from(want)).abs();
                let rel = abs / f64::from(want).abs().max(f64::MIN_POSITIVE);
                out.worst_abs = out.worst_abs.max(abs);
                out.worst_rel = out.worst_rel.max(rel);
                if !(rel <= 1e-5 || abs <= 1e-7) {
                    out.failures.push(format!(
                        "{name}: epoch {epoch} {n}[{j}] = {got:e}, PyTorch {want:e} (rel {rel:.2e})"
                    ));
                }
            }
        }
    }
    out
}

/// Whether the case's optimizer takes a square root, where PyTorch's MKL `sqrt` (not correctly
/// rounded) can differ from ours by an ulp; the others must match bit for bit.
fn takes_sqrt(path: &Path) -> bool {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    !matches!(case["optimizer"]["type"].as_str(), Some("SGD" | "Adamax"))
}

#[test]
fn every_torch_trajectory_is_reproduced() {
    let files = cases();
    assert!(
        files.len() >= 70,
        "expected the 70 conformance cases, found {}",
        files.len()
    );
    let (mut failures, mut inexact, mut compared) = (Vec::new(), 0, 0);
    let mut not_exact = Vec::new();
    let (mut worst_rel, mut worst_abs) = (0.0f64, 0.0f64);
    let mut worst_case = String::new();
    for path in &files {
        let o = run_case(path);
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if o.inexact > 0 && !takes_sqrt(path) {
            not_exact.push(name.clone());
        }
        if o.inexact > 0 {
            eprintln!(
                "{name}: {}/{} values differ from PyTorch; worst rel {:.3e}, abs {:.3e}",
                o.inexact, o.compared, o.worst_rel, o.worst_abs
            );
        }
        if o.worst_rel > worst_rel {
            worst_rel = o.worst_rel;
            worst_case = name;
        }
        worst_abs = worst_abs.max(o.worst_abs);
        inexact += o.inexact;
        compared += o.compared;
        failures.extend(o.failures);
    }
    eprintln!(
        "{} cases, {compared} values compared, {inexact} not bit-identical; worst rel {worst_rel:.3e} ({worst_case}), worst abs {worst_abs:.3e}",
        files.len()
    );
    assert!(
        not_exact.is_empty(),
        "optimizers without a square root must reproduce PyTorch bit for bit: {not_exact:?}"
    );
    assert!(
        failures.is_empty(),
        "{} values out of tolerance:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The optimizers of issue 15 against their recorded torch/timm cases (LBFGS and the averaging
/// cases are not optimizers optimc implements). Their kernels take norms and matrix products,
/// whose summation order ATen does not fix, so the tolerance applies, not bit equality.
#[test]
fn every_new_optimizer_trajectory_is_reproduced() {
    let mut ran = Vec::new();
    let mut failures = Vec::new();
    for path in cases_in("optimizers") {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let torch_name = case["optimizer"]["type"].as_str().unwrap();
        let new = ["Rprop", "ASGD", "Lion", "Lamb", "Adafactor", "Muon"];
        if !new.contains(&torch_name) {
            continue;
        }
        let o = run_case(&path);
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        eprintln!(
            "{name}: {}/{} values not bit-identical; worst rel {:.3e}, abs {:.3e}",
            o.inexact, o.compared, o.worst_rel, o.worst_abs
        );
        ran.push(name);
        failures.extend(o.failures);
    }
    assert_eq!(
        ran.len(),
        19,
        "expected the 19 cases of the six optimizers: {ran:?}"
    );
    assert!(
        failures.is_empty(),
        "{} values out of tolerance:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

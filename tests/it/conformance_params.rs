//! Every PyTorch reference case (`tests/conformance/torch/*.json`) run from its `.optim` file
//! through the whole pipeline: parse, check, [`Trainer`] (schedule-driven lrs, not the JSON's).
//! Parameters must match after every step to a relative 1e-5 (absolute 1e-7); lr and momentum as
//! in `conformance_lr.rs`. A few cases also go through `optimc replay`. The cases of issue 15's
//! optimizers (`tests/conformance/optimizers/*.json` with a `.optim` beside them, shaped
//! parameters) all go through both.

use crate::common;
use crate::common::{close_lr, conformance_cases as cases, numbers};
use optimc::optim::ParamMut;
use optimc::{Config, Trainer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn conformance_dir() -> PathBuf {
    common::root().join("tests/conformance/torch")
}

fn close_param(actual: f32, expected: f64) -> bool {
    let diff = (f64::from(actual) - expected).abs();
    diff <= 1e-7 || diff <= 1e-5 * expected.abs()
}

fn floats(v: &Value) -> Vec<f32> {
    numbers(v).into_iter().map(|x| x as f32).collect()
}

struct Case {
    name: String,
    config: Config,
    names: Vec<String>,
    epochs: usize,
    metrics: Option<Vec<f64>>,
    json: Value,
}

fn load(json_path: &Path, optim_path: &Path) -> Result<Case, String> {
    let name = json_path.file_stem().unwrap().to_string_lossy().to_string();
    let json: Value = serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
    let config =
        Config::from_path(optim_path).map_err(|e| format!("{name}: does not check:\n{e}"))?;
    let names = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    Ok(Case {
        epochs: json["epochs"].as_u64().unwrap() as usize,
        metrics: json["metrics"]
            .as_array()
            .map(|_| numbers(&json["metrics"])),
        name,
        config,
        names,
        json,
    })
}

/// Runs one case through [`Trainer`]; returns the first few differences.
fn run(case: &Case) -> Vec<String> {
    let json = &case.json;
    // A group's `shape` where the case has one (issue 15's), else its `size`.
    let shapes: Vec<Vec<usize>> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| match g.get("shape") {
            Some(shape) => numbers(shape).into_iter().map(|d| d as usize).collect(),
            None => vec![g["size"].as_u64().unwrap() as usize],
        })
        .collect();
    let registered: Vec<(&str, &[usize])> = case
        .names
        .iter()
        .map(String::as_str)
        .zip(shapes.iter().map(Vec::as_slice))
        .collect();
    let mut trainer = match Trainer::with_shapes(&case.config, &registered) {
        Ok(t) => t,
        Err(e) => return vec![format!("{}: {e}", case.name)],
    };
    let mut params: Vec<Vec<f32>> = case
        .names
        .iter()
        .map(|n| floats(&json["init"][n]))
        .collect();
    let expected = &json["expected"];
    let momentum = expected.get("momentum").filter(|m| !m.is_null());
    let mut failures = Vec::new();
    for e in 0..case.epochs {
        for g in 0..case.names.len() {
            let lr = trainer.lrs()[g];
            let want = expected["lr"][g][e].as_f64().unwrap();
            if !close_lr(lr, want) || trainer.optimizer().lr(g) != lr {
                failures.push(format!(
                    "{}: group {g} epoch {e}: lr {lr:e} (optimizer {:e}), PyTorch {want:e}",
                    case.name,
                    trainer.optimizer().lr(g)
                ));
            }
            match (momentum, trainer.momentum(g)) {
                (Some(m), Some(got)) => {
                    let want = m[g][e].as_f64().unwrap();
                    if !close_lr(got, want) || trainer.optimizer().momentum(g) != Some(got) {
                        failures.push(format!(
                            "{}: group {g} epoch {e}: momentum {got:e}, PyTorch {want:e}",
                            case.name
                        ));
                    }
                }
                (None, None) => {}
                (m, got) => failures.push(format!(
                    "{}: group {g} epoch {e}: momentum {got:?}, PyTorch {:?}",
                    case.name,
                    m.map(|m| &m[g][e])
                )),
            }
        }
        let grads: Vec<Vec<f32>> = case
            .names
            .iter()
            .map(|n| floats(&json["grads"][e][n]))
            .collect();
        let mut handles: Vec<ParamMut<'_>> = params
            .iter_mut()
            .zip(&grads)
            .zip(&case.names)
            .map(|((p, g), n)| ParamMut::named(n, p, g))
            .collect();
        trainer.step(&mut handles).unwrap();
        for (n, p) in case.names.iter().zip(&params) {
            let want = numbers(&expected["params"][e][n]);
            assert_eq!(want.len(), p.len(), "{}: size of {n}", case.name);
            for (j, (&got, &want)) in p.iter().zip(&want).enumerate() {
                if !close_param(got, want) {
                    failures.push(format!(
                        "{}: epoch {e} {n}[{j}] = {got:e}, PyTorch {want:e}",
                        case.name
                    ));
                }
            }
        }
        failures.extend(averaged_differences(
            &case.name,
            e,
            &case.names,
            &expected["averaged"],
            expected["n_averaged"].get(e),
            |n| {
                trainer
                    .averaged(n)
                    .map(|v| v.iter().map(|&x| f64::from(x)).collect())
            },
            trainer.n_averaged(),
        ));
        match &case.metrics {
            Some(m) => trainer.end_epoch_with(m[e]),
            None => trainer.end_epoch().unwrap(),
        }
        if failures.len() > 5 {
            break;
        }
    }
    failures
}

/// The averaged parameters after epoch `e` against `AveragedModel`'s (`expected.averaged[e]`,
/// `null` before the first update), to 1e-5 relative, and `n_averaged`. A case without
/// averaging must have no average.
fn averaged_differences(
    name: &str,
    e: usize,
    names: &[String],
    expected: &Value,
    n_expected: Option<&Value>,
    got: impl Fn(&str) -> Option<Vec<f64>>,
    n_got: u64,
) -> Vec<String> {
    let mut failures = Vec::new();
    let want_n = n_expected.and_then(Value::as_u64).unwrap_or(0);
    if want_n != n_got {
        failures.push(format!(
            "{name}: epoch {e}: n_averaged {n_got}, PyTorch {want_n}"
        ));
    }
    for n in names {
        let want = expected
            .get(e)
            .filter(|v| !v.is_null())
            .map(|v| numbers(&v[n]));
        match (got(n), want) {
            (None, None) => {}
            (Some(got), Some(want)) => {
                assert_eq!(got.len(), want.len(), "{name}: size of averaged {n}");
                for (j, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    if !close_param(g as f32, w) {
                        failures.push(format!(
                            "{name}: epoch {e} averaged {n}[{j}] = {g:e}, PyTorch {w:e}"
                        ));
                    }
                }
            }
            (got, want) => failures.push(format!(
                "{name}: epoch {e}: averaged {n} is {}, PyTorch's {}",
                if got.is_some() { "set" } else { "unset" },
                if want.is_some() { "set" } else { "unset" },
            )),
        }
    }
    failures
}

#[test]
fn every_case_through_the_trainer() {
    let cases = cases();
    assert!(
        cases.len() >= 70,
        "expected the whole conformance set, found {}",
        cases.len()
    );
    let failures = differences(&cases);
    assert!(
        failures.is_empty(),
        "{} differences from PyTorch:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn replay(optim: &Path, trace: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
        .arg("replay")
        .arg(optim)
        .arg("--trace")
        .arg(trace)
        .output()
        .expect("optimc runs");
    (
        out.status.code().expect("exit code, not a signal"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn replay_reproduces_plain_plateau_and_cyclic_cases() {
    for name in ["adam_amsgrad", "plateau_cooldown", "cyclic_adam_betas"] {
        let json_path = conformance_dir().join(format!("{name}.json"));
        let optim_path = conformance_dir().join(format!("{name}.optim"));
        check_replay(name, &json_path, &optim_path);
    }
}

/// The cases of issue 15's optimizers that have a `.optim` beside them.
fn optimizer_cases() -> Vec<(PathBuf, PathBuf)> {
    common::cases_in("tests/conformance/optimizers")
}

#[test]
fn every_new_optimizer_case_through_the_trainer_and_replay() {
    let cases = optimizer_cases();
    assert_eq!(
        cases.len(),
        23,
        "rprop, asgd, lion, lamb, muon (3 cases each), adafactor (4), SWALR in `sequence` (2) \
         and EMA averaging (2)"
    );
    let failures = differences(&cases);
    assert!(
        failures.is_empty(),
        "{} differences from PyTorch/timm:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (json, optim) in &cases {
        let name = json.file_stem().unwrap().to_string_lossy().to_string();
        check_replay(&name, json, optim);
    }
    // Without its shapes a trace's parameters are vectors, which Muon refuses, naming them.
    let tmp = std::env::temp_dir().join(format!("optimc-replay-muon-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let trace = tmp.join("flat.json");
    std::fs::write(
        &trace,
        r#"{"epochs": 1, "init": {"w1": [1, 2, 3], "w2": [1]}, "grads": [{"w1": [1, 1, 1], "w2": [1]}]}"#,
    )
    .unwrap();
    let muon = common::root().join("tests/conformance/optimizers/muon_default.optim");
    let (code, stdout, stderr) = replay(&muon, &trace);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("Muon takes only 2-D parameters, but `w1` has shape [3]"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `optimc replay` of one case reproduces its lrs (and momenta) and parameters.
fn check_replay(name: &str, json_path: &Path, optim_path: &Path) {
    {
        let (code, stdout, stderr) = replay(optim_path, json_path);
        assert_eq!(code, 0, "{name}: {stderr}");
        let got: Value = serde_json::from_str(&stdout).unwrap();
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
        let expected = &case["expected"];
        let epochs = case["epochs"].as_u64().unwrap() as usize;
        let groups: Vec<&str> = case["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        let got_groups: Vec<&str> = got["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(got_groups, groups, "{name}");
        let expected_momentum = expected.get("momentum").filter(|m| !m.is_null());
        assert_eq!(
            got["momentum"].is_null(),
            expected_momentum.is_none(),
            "{name}: momentum"
        );
        assert_eq!(got["params"].as_array().unwrap().len(), epochs, "{name}");
        for g in 0..groups.len() {
            let (lr, want) = (numbers(&got["lr"][g]), numbers(&expected["lr"][g]));
            assert_eq!(lr.len(), epochs, "{name}");
            for e in 0..epochs {
                assert!(close_lr(lr[e], want[e]), "{name} lr g{g} e{e}");
            }
            if let Some(m) = expected_momentum {
                let (got_m, want) = (numbers(&got["momentum"][g]), numbers(&m[g]));
                for e in 0..epochs {
                    assert!(close_lr(got_m[e], want[e]), "{name} momentum g{g} e{e}");
                }
            }
        }
        assert_eq!(
            got.get("averaged").is_some(),
            expected.get("averaged").is_some(),
            "{name}: replay writes `averaged` exactly when the file declares an average"
        );
        for e in 0..epochs {
            let failures = averaged_differences(
                name,
                e,
                &groups.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
                &expected["averaged"],
                expected["n_averaged"].get(e),
                |n| {
                    let v = got["averaged"].get(e).filter(|v| !v.is_null())?;
                    Some(numbers(&v[n]))
                },
                got["n_averaged"]
                    .get(e)
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            );
            assert!(failures.is_empty(), "{}", failures.join("\n"));
            for n in &groups {
                let p = numbers(&got["params"][e][n]);
                let want = numbers(&expected["params"][e][n]);
                assert_eq!(p.len(), want.len(), "{name}");
                for (x, w) in p.iter().zip(&want) {
                    // Printed f32 values are f32s (serde_json's default parser may be an f64
                    // ulp off, hence the tolerance of one ulp).
                    let back = f64::from(*x as f32);
                    assert!(
                        (back - x).abs() <= x.abs() * f64::EPSILON,
                        "{name}: {x} is not an f32"
                    );
                    assert!(close_param(*x as f32, *w), "{name} e{e} {n}: {x} vs {w}");
                }
            }
        }
    }
}

#[test]
fn replay_refuses_bad_traces_without_panicking() {
    let optim = conformance_dir().join("adam_amsgrad.optim");
    let tmp = std::env::temp_dir().join(format!("optimc-replay-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let cases: &[(&str, &str, i32, &str)] = &[
        ("not_json", "{epochs", 2, "not valid JSON"),
        ("not_object", "[1, 2]", 2, "must be a JSON object"),
        (
            "no_grads",
            r#"{"epochs": 1, "init": {"base": [1, 2, 3]}}"#,
            2,
            "no `grads` field",
        ),
        (
            "few_grads",
            r#"{"epochs": 2, "init": {"base": [1]}, "grads": [{"base": [1]}]}"#,
            2,
            "`epochs` is 2, but `grads` has gradients for 1 epochs: leave `epochs` out",
        ),
        (
            "many_grads",
            r#"{"epochs": 1, "init": {"base": [1]}, "grads": [{"base": [1]}, {"base": [1]}]}"#,
            2,
            "`epochs` is 1, but `grads` has gradients for 2 epochs",
        ),
        (
            "wrong_size",
            r#"{"epochs": 1, "init": {"base": [1, 2]}, "grads": [{"base": [1]}]}"#,
            2,
            "has 1 values, but `init.base` has 2",
        ),
        (
            "not_a_number",
            r#"{"epochs": 1, "init": {"base": [1, "x"]}, "grads": [{"base": [1, 1]}]}"#,
            2,
            "`init.base`[1] must be a number",
        ),
        (
            "missing_grad",
            r#"{"epochs": 1, "init": {"base": [1]}, "grads": [{}]}"#,
            2,
            "`grads[0].base` is missing",
        ),
        (
            "negative_epochs",
            r#"{"epochs": -1, "init": {}, "grads": []}"#,
            2,
            "`epochs` must be a whole number",
        ),
        (
            "shape_does_not_fit",
            r#"{"epochs": 1, "init": {"base": [1, 2, 3]}, "grads": [{"base": [1, 1, 1]}], "shapes": {"base": [2, 2]}}"#,
            2,
            "the shape of `base` is [2, 2], which does not hold the 3 values of `init.base`",
        ),
        (
            "shape_not_a_list",
            r#"{"epochs": 1, "init": {"base": [1]}, "grads": [{"base": [1]}], "shapes": {"base": 1}}"#,
            2,
            "the shape of `base` must be an array of dimensions",
        ),
        (
            "shape_of_unknown_parameter",
            r#"{"epochs": 1, "init": {"base": [1]}, "grads": [{"base": [1]}], "shapes": {"x": [1]}}"#,
            2,
            "`shapes` has a shape for `x`, which is not in `init`",
        ),
        (
            "unmatched_name",
            r#"{"epochs": 1, "init": {"bogus": [1]}, "grads": [{"bogus": [1]}]}"#,
            1,
            "parameter `bogus` matches no group",
        ),
    ];
    for (name, text, want_code, want_message) in cases {
        let path = tmp.join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        let (code, stdout, stderr) = replay(&optim, &path);
        assert_eq!(code, *want_code, "{name}: {stderr}");
        assert!(stdout.is_empty(), "{name}: printed {stdout}");
        assert!(
            stderr.contains(want_message),
            "{name}: expected {want_message:?} in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    // A shape that fits is accepted, from `shapes` or from a conformance file's groups; `epochs`
    // may be left out (`grads` says how many there are).
    for (name, text) in [
        (
            "no_epochs",
            r#"{"init": {"base": [1, 2, 3], "classifier": [1, 2]}, "grads": [{"base": [1, 1, 1], "classifier": [1, 1]}, {"base": [1, 1, 1], "classifier": [1, 1]}]}"#,
        ),
        (
            "shaped",
            r#"{"epochs": 1, "init": {"base": [1, 2, 3, 4, 5, 6]}, "grads": [{"base": [1, 1, 1, 1, 1, 1]}], "shapes": {"base": [2, 3]}}"#,
        ),
        (
            "group_shaped",
            r#"{"epochs": 1, "groups": [{"name": "base", "shape": [3, 2]}], "init": {"base": [1, 2, 3, 4, 5, 6]}, "grads": [{"base": [1, 1, 1, 1, 1, 1]}]}"#,
        ),
    ] {
        let path = tmp.join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        let (code, _, stderr) = replay(&optim, &path);
        assert_eq!(code, 0, "{name}: {stderr}");
    }
    // Without `epochs`, replay runs one epoch per element of `grads`, as with a matching one.
    let grads = r#""init": {"base": [1, 2, 3], "classifier": [1, 2]}, "grads": [{"base": [1, 1, 1], "classifier": [1, 1]}, {"base": [2, 0, 1], "classifier": [1, 3]}]"#;
    let mut outputs = Vec::new();
    for (name, epochs) in [("implicit", ""), ("explicit", r#""epochs": 2, "#)] {
        let path = tmp.join(format!("{name}.json"));
        std::fs::write(&path, format!("{{{epochs}{grads}}}")).unwrap();
        let (code, stdout, stderr) = replay(&optim, &path);
        assert_eq!(code, 0, "{name}: {stderr}");
        let got: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            got["params"].as_array().unwrap().len(),
            2,
            "{name}: {stdout}"
        );
        outputs.push(stdout);
    }
    assert_eq!(outputs[0], outputs[1]);
    let plateau = conformance_dir().join("plateau_cooldown.optim");
    let path = tmp.join("no_metrics.json");
    std::fs::write(&path, r#"{"epochs": 1, "metrics": null, "init": {"base": [1], "classifier": [1]}, "grads": [{"base": [1], "classifier": [1]}]}"#).unwrap();
    let (code, _, stderr) = replay(&plateau, &path);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("needs a metric"), "{stderr}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Every difference from the recorded values over `cases`, and every case that did not load.
fn differences(cases: &[(PathBuf, PathBuf)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (json, optim) in cases {
        match load(json, optim) {
            Ok(case) => failures.extend(run(&case)),
            Err(e) => failures.push(e),
        }
    }
    failures
}

/// A group that selects by shape (`where = ndim >= 2`) needs every parameter's shape: without
/// them replay refuses, naming the group, the parameters and how to give the shapes, rather
/// than take every parameter as a vector (which would put matrices in the vectors' group).
#[test]
fn replay_refuses_a_where_group_without_shapes() {
    let tmp = std::env::temp_dir().join(format!("optimc-replay-where-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let optim = tmp.join("split.optim");
    std::fs::write(
        &optim,
        "optimizer = adamw(lr = 1e-3, weight_decay = 0.1)\n\
         group decay { params = \"*\", where = ndim >= 2 }\n\
         group no_decay { params = \"*\", weight_decay = 0 }\n",
    )
    .unwrap();
    let init =
        r#""init": {"w": [1, 2, 3, 4], "b": [1, 2]}, "grads": [{"w": [1, 1, 1, 1], "b": [1, 1]}]"#;
    let flat = tmp.join("flat.json");
    std::fs::write(&flat, format!("{{{init}}}")).unwrap();
    let (code, stdout, stderr) = replay(&optim, &flat);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    for part in [
        "group `decay`",
        "`where = ndim >= 2`",
        "gives no shape for `b`, `w` (2 of 2 parameters)",
        r#"`"shapes": {"b": [2]}`"#,
    ] {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
    // One shape missing is enough to refuse; with both, `w` goes to `decay`, `b` to `no_decay`.
    let half = tmp.join("half.json");
    std::fs::write(&half, format!(r#"{{{init}, "shapes": {{"w": [2, 2]}}}}"#)).unwrap();
    let (code, _, stderr) = replay(&optim, &half);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no shape for `b` (1 of 2 parameters)"),
        "{stderr}"
    );
    let shaped = tmp.join("shaped.json");
    std::fs::write(
        &shaped,
        format!(r#"{{{init}, "shapes": {{"w": [2, 2], "b": [2]}}}}"#),
    )
    .unwrap();
    let (code, stdout, stderr) = replay(&optim, &shaped);
    assert_eq!(code, 0, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).unwrap();
    // `b` keeps its values but for the step without weight decay; `w` decays too.
    let params = &out["params"][0];
    assert_eq!(params["b"][0].as_f64().unwrap() as f32, 1.0 - 1e-3);
    assert!(params["w"][0].as_f64().unwrap() < (1.0f32 - 1e-3) as f64);
    let _ = std::fs::remove_dir_all(&tmp);
}

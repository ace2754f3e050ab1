//! Every PyTorch reference case (`tests/conformance/torch/*.json`) run from its `.optim` file
//! through the whole pipeline: parse, check, [`Trainer`] (schedule-driven lrs, not the JSON's).
//! Parameters must match after every step to a relative 1e-5 (absolute 1e-7); lr and momentum as
//! in `conformance_lr.rs`. A few cases also go through `optimc replay`.

use optimc::optim::ParamMut;
use optimc::{Config, Trainer};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/torch")
}

fn cases() -> Vec<(PathBuf, PathBuf)> {
    let mut cases: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(dir())
        .expect("tests/conformance/torch exists")
        .filter_map(|e| {
            let json = e.ok()?.path();
            let optim = json.with_extension("optim");
            (json.extension()? == "json" && optim.exists()).then_some((json, optim))
        })
        .collect();
    cases.sort();
    cases
}

fn close_lr(actual: f64, expected: f64) -> bool {
    let diff = (actual - expected).abs();
    diff <= 1e-15 || diff <= 1e-10 * expected.abs()
}

fn close_param(actual: f32, expected: f64) -> bool {
    let diff = (f64::from(actual) - expected).abs();
    diff <= 1e-7 || diff <= 1e-5 * expected.abs()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
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
    let sizes: Vec<usize> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["size"].as_u64().unwrap() as usize)
        .collect();
    let registered: Vec<(&str, usize)> = case
        .names
        .iter()
        .map(String::as_str)
        .zip(sizes.iter().copied())
        .collect();
    let mut trainer = match Trainer::new(&case.config, &registered) {
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
            .map(|(p, g)| ParamMut::new(p, g))
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
        match &case.metrics {
            Some(m) => trainer.end_epoch_with(m[e]),
            None => trainer.end_epoch(),
        }
        if failures.len() > 5 {
            break;
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
    let mut failures = Vec::new();
    for (json, optim) in &cases {
        match load(json, optim) {
            Ok(case) => failures.extend(run(&case)),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences from PyTorch:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! Every reference case produced by PyTorch (`tests/conformance/torch/*.json`) whose `.optim`
//! rendering sits beside it: the schedule's lr (and momentum, where cycled) must match at every
//! epoch to a relative error of 1e-10 (absolute 1e-15 near zero).

use crate::common::{close_lr, conformance_cases, numbers};
use optimc::{Config, Schedule};
use serde_json::Value;

#[test]
fn every_case_matches_pytorch_lrs() {
    let cases = conformance_cases();
    assert!(
        cases.len() >= 70,
        "expected the whole conformance set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (json_path, optim_path) in &cases {
        let name = json_path.file_stem().unwrap().to_string_lossy().to_string();
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
        let config = match Config::from_path(optim_path) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: does not check:\n{e}"));
                continue;
            }
        };
        let epochs = case["epochs"].as_u64().unwrap() as usize;
        let metrics = case["metrics"]
            .as_array()
            .map(|_| numbers(&case["metrics"]));
        let expected_lr: Vec<Vec<f64>> = case["expected"]["lr"]
            .as_array()
            .unwrap()
            .iter()
            .map(numbers)
            .collect();
        let expected_momentum: Option<Vec<Vec<f64>>> = case["expected"]
            .get("momentum")
            .and_then(Value::as_array)
            .map(|groups| groups.iter().map(numbers).collect());
        assert_eq!(
            expected_lr.len(),
            config.groups.len(),
            "{name}: group count"
        );

        let mut schedule = Schedule::new(&config);
        'epochs: for e in 0..epochs {
            for (g, lrs) in expected_lr.iter().enumerate() {
                let actual = schedule.lrs()[g];
                if !close_lr(actual, lrs[e]) {
                    failures.push(format!(
                        "{name}: group {g} epoch {e}: lr {actual:e}, PyTorch {:e}",
                        lrs[e]
                    ));
                    break 'epochs;
                }
                if let Some(momenta) = &expected_momentum {
                    let actual = schedule.momentum(g);
                    if !actual.is_some_and(|m| close_lr(m, momenta[g][e])) {
                        failures.push(format!(
                            "{name}: group {g} epoch {e}: momentum {actual:?}, PyTorch {:e}",
                            momenta[g][e]
                        ));
                        break 'epochs;
                    }
                }
            }
            match &metrics {
                Some(m) => schedule.step_with(m[e]),
                None => schedule.step().expect("no plateau without metrics"),
            }
        }
        if expected_momentum.is_none() && schedule.cycles_momentum() {
            failures.push(format!("{name}: optimc cycles momentum, PyTorch does not"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from PyTorch:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

//! Today's training recipes (issue 13): every `tests/conformance/recipes/<name>.json` recorded
//! from the original library whose `.optim` rendering sits in `examples/recipes/<name>.optim`
//! must give the library's lr (and, where the recording has it, momentum) for every group at
//! every recorded step, to a relative error of 1e-10 (absolute 1e-15 near zero). The recipes without a rendering yet are listed, not failed.

use crate::common::{close_lr, numbers, root};
use optimc::Schedule;
use serde_json::Value;
use std::path::PathBuf;

/// `(name, case.json, Some(recipe.optim))` for every recorded recipe, sorted by name.
fn recipes() -> Vec<(String, PathBuf, Option<PathBuf>)> {
    let dir = root().join("tests/conformance/recipes");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/conformance/recipes exists")
        .filter_map(|e| {
            let json = e.ok()?.path();
            (json.extension()? == "json").then_some(json)
        })
        .map(|json| {
            let name = json.file_stem().unwrap().to_string_lossy().to_string();
            let optim = root()
                .join("examples/recipes")
                .join(format!("{name}.optim"));
            (name, json, optim.exists().then_some(optim))
        })
        .collect();
    cases.sort();
    cases
}

/// The first step at which `optim` departs from the recorded lrs of `json`, if any.
fn first_difference(name: &str, json: &PathBuf, optim: &PathBuf) -> Option<String> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let source = std::fs::read_to_string(optim).unwrap();
    let (config, diagnostics) = optimc::check_source(&optim.display().to_string(), &source);
    // A recipe written as intended draws no warning either, but for `lr_stays_zero`: several
    // recordings go on past the end of a schedule that ends at 0, on purpose.
    let clean = diagnostics
        .items
        .iter()
        .all(|d| d.code == optimc::diagnostic::Code::LrStaysZero);
    let config = match config {
        Some(c) if clean => c,
        _ => return Some(format!("{name}: does not check cleanly: {diagnostics:?}")),
    };
    let steps = case["steps"].as_u64().unwrap() as usize;
    let expected: Vec<Vec<f64>> = case["expected"]["lr"]
        .as_array()
        .unwrap()
        .iter()
        .map(numbers)
        .collect();
    if expected.len() != config.groups.len() {
        return Some(format!(
            "{name}: {} groups, the recipe has {}",
            config.groups.len(),
            expected.len()
        ));
    }
    // Each group's momentum too, where the library set it (YOLO's warmup ramps it).
    let momenta: Option<Vec<Vec<f64>>> = case["expected"]
        .get("momentum")
        .map(|m| m.as_array().unwrap().iter().map(numbers).collect());
    let mut schedule = Schedule::new(&config);
    if momenta.is_none() && schedule.cycles_momentum() {
        return Some(format!(
            "{name}: the recipe sets momentum, the recording has none to compare with"
        ));
    }
    for k in 0..steps {
        for (g, lrs) in expected.iter().enumerate() {
            let actual = schedule.lrs()[g];
            if !close_lr(actual, lrs[k]) {
                return Some(format!(
                    "{name}: group {g} step {k}: lr {actual:e}, recorded {:e}",
                    lrs[k]
                ));
            }
        }
        for (g, recorded) in momenta.iter().flatten().enumerate() {
            match schedule.momentum(g) {
                Some(actual) if close_lr(actual, recorded[k]) => {}
                actual => {
                    return Some(format!(
                        "{name}: group {g} step {k}: momentum {actual:?}, recorded {:e}",
                        recorded[k]
                    ))
                }
            }
        }
        schedule.step().unwrap();
    }
    None
}

#[test]
fn every_rendered_recipe_matches_its_library() {
    let cases = recipes();
    assert!(
        cases.len() >= 46,
        "expected every recorded recipe, found {}",
        cases.len()
    );
    let rendered: Vec<_> = cases
        .iter()
        .filter_map(|(name, json, optim)| Some((name, json, optim.as_ref()?)))
        .collect();
    assert!(!rendered.is_empty(), "no recipe has an .optim rendering");
    let failures: Vec<String> = rendered
        .iter()
        .filter_map(|(name, json, optim)| first_difference(name, json, optim))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} recipes differ from their library:\n{}",
        failures.len(),
        rendered.len(),
        failures.join("\n")
    );
    let missing: Vec<&str> = cases
        .iter()
        .filter(|(_, _, optim)| optim.is_none())
        .map(|(name, _, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        println!(
            "{} of {} recipes have no examples/recipes/*.optim yet: {}",
            missing.len(),
            cases.len(),
            missing.join(", ")
        );
    }
}

/// Every `.optim` in `examples/recipes/` renders a recorded recipe (a misspelt name would
/// otherwise never be compared).
#[test]
fn every_recipe_file_has_a_recording() {
    for path in crate::common::optim_files(&["examples/recipes"]) {
        let json = root()
            .join("tests/conformance/recipes")
            .join(path.with_extension("json").file_name().unwrap());
        assert!(json.exists(), "{} records no recipe", path.display());
    }
}

/// Every recipe survives `export --to json` and `--to toml` and reading back unchanged.
#[test]
fn every_recipe_round_trips_through_json_and_toml() {
    for path in crate::common::optim_files(&["examples/recipes"]) {
        let config = optimc::Config::from_path(&path).unwrap();
        let json = optimc::export::to_json(&config);
        assert_eq!(
            optimc::Config::from_json(&json).unwrap(),
            config,
            "{}",
            path.display()
        );
        let toml = optimc::export::to_toml(&config);
        assert_eq!(
            optimc::Config::from_toml(&toml).unwrap(),
            config,
            "{}",
            path.display()
        );
    }
}

/// Where a recording lists each group's parameters (MAE's `param_groups_lrd`), the rendering's
/// patterns put every one of them in that group, first match winning as in `Optimizer::new`.
#[test]
fn recorded_parameters_join_their_groups() {
    let mut compared = 0;
    for (name, json, optim) in recipes() {
        let Some(optim) = optim else { continue };
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let config = optimc::Config::from_path(&optim).unwrap();
        let matcher =
            optimc::optim::GroupMatcher::new(config.groups.iter().map(|g| g.params.as_slice()));
        for (g, group) in case["groups"].as_array().unwrap().iter().enumerate() {
            for param in group["param_names"].as_array().into_iter().flatten() {
                let param = param.as_str().unwrap();
                assert_eq!(matcher.first_match(param), Some(g), "{name}: {param}");
                compared += 1;
            }
        }
    }
    assert!(compared >= 20, "only {compared} recorded parameters");
}

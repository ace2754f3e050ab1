//! What several integration tests share: where the files are, scratch directories, and the
//! conformance tolerance. Each test crate uses only part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.optim` files directly in each of `dirs` (relative to the root), sorted.
pub fn optim_files(dirs: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "optim") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no .optim files in {dirs:?}");
    files
}

/// Every examples and conformance `.optim` file.
pub fn example_and_conformance_files() -> Vec<PathBuf> {
    optim_files(&["examples", "tests/conformance/torch"])
}

/// The PyTorch reference cases: `(case.json, case.optim)` for every JSON file with an `.optim`
/// rendering beside it, sorted.
pub fn conformance_cases() -> Vec<(PathBuf, PathBuf)> {
    cases_in("tests/conformance/torch")
}

/// Every `.json` case in `dir` (relative to the crate root) that has its `.optim` rendering
/// beside it, sorted.
pub fn cases_in(dir: &str) -> Vec<(PathBuf, PathBuf)> {
    let mut cases: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir} exists: {e}"))
        .filter_map(|e| {
            let json = e.ok()?.path();
            let optim = json.with_extension("optim");
            (json.extension()? == "json" && optim.exists()).then_some((json, optim))
        })
        .collect();
    cases.sort();
    cases
}

/// The lr tolerance of the conformance issue: relative 1e-10, absolute 1e-15 near zero.
pub fn close_lr(actual: f64, expected: f64) -> bool {
    let diff = (actual - expected).abs();
    diff <= 1e-15 || diff <= 1e-10 * expected.abs()
}

/// A JSON array of numbers.
pub fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// A fresh, empty directory for one test (`what` keeps tests apart).
pub fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("optimc-test-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the `optimc` binary in `dir` with plain-text output.
pub fn optimc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Property-test settings: kept small, as the suite runs unoptimized on two cores;
/// `PROPTEST_CASES=N` runs more.
pub fn proptest_config(cases: u32) -> proptest::prelude::ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    proptest::prelude::ProptestConfig {
        cases,
        max_shrink_iters: 200,
        ..proptest::prelude::ProptestConfig::default()
    }
}

//! Test support: the reference trajectories of `tests/conformance/optimizers/*.json` (recorded
//! from torch 2.15 and timm 1.0.31), read for the kernels' own unit tests. Each group of a case
//! is one shaped tensor; its options are the constructor defaults overlaid with the group's own.

use serde_json::{Map, Value};
use std::path::Path;

/// One recorded case.
pub(crate) struct Case {
    /// The constructor's keyword arguments, as recorded.
    pub defaults: Map<String, Value>,
    pub groups: Vec<Group>,
    pub epochs: usize,
    /// `init[group]`.
    pub init: Vec<Vec<f32>>,
    /// `grads[epoch][group]`.
    pub grads: Vec<Vec<Vec<f32>>>,
    pub expected: Value,
}

/// One group: a single tensor.
pub(crate) struct Group {
    pub name: String,
    pub shape: Vec<usize>,
    /// The constructor's options overlaid with the group's.
    pub options: Map<String, Value>,
}

/// Reads `tests/conformance/optimizers/<name>.json`.
pub(crate) fn load(name: &str) -> Case {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/optimizers")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    // serde_json is built with `float_roundtrip`: numbers parse correctly rounded.
    let case: Value = serde_json::from_str(&text).unwrap();
    let defaults = case["optimizer"]["defaults"].as_object().unwrap().clone();
    let groups: Vec<Group> = case["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut options = defaults.clone();
            for (k, v) in g["options"].as_object().unwrap() {
                options.insert(k.clone(), v.clone());
            }
            Group {
                name: g["name"].as_str().unwrap().to_string(),
                shape: g["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect(),
                options,
            }
        })
        .collect();
    let epochs = case["epochs"].as_u64().unwrap() as usize;
    let init = groups
        .iter()
        .map(|g| floats(&case["init"][&g.name]))
        .collect();
    let grads = (0..epochs)
        .map(|e| {
            groups
                .iter()
                .map(|g| floats(&case["grads"][e][&g.name]))
                .collect()
        })
        .collect();
    Case {
        defaults,
        groups,
        epochs,
        init,
        grads,
        expected: case["expected"].clone(),
    }
}

/// A list of exact float32 values.
pub(crate) fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap_or_else(|| panic!("list of numbers expected, found {v}"))
        .iter()
        .map(|x| {
            let d = x.as_f64().unwrap();
            let f = d as f32;
            assert_eq!(f64::from(f), d, "{d} is not an exact float32");
            f
        })
        .collect()
}

impl Case {
    /// The lr group `group` had at the start of epoch `epoch`.
    pub fn lr(&self, group: usize, epoch: usize) -> f64 {
        self.expected["lr"][group][epoch].as_f64().unwrap()
    }

    /// The constructor's lr (timm's `max_lr` snapshot).
    pub fn constructor_lr(&self, default: f64) -> f64 {
        self.defaults
            .get("lr")
            .map_or(default, |v| v.as_f64().unwrap())
    }

    /// The recorded values of series `key` (`params`, `ax`, ...) after epoch `epoch`, group `group`.
    pub fn after(&self, key: &str, epoch: usize, group: usize) -> &Value {
        &self.expected[key][epoch][&self.groups[group].name]
    }
}

impl Group {
    pub fn num(&self, key: &str, default: f64) -> f64 {
        match self.options.get(key) {
            None => default,
            Some(v) => v
                .as_f64()
                .unwrap_or_else(|| panic!("{key}: number expected, found {v}")),
        }
    }

    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.options
            .get(key)
            .map_or(default, |v| v.as_bool().unwrap())
    }

    /// A tuple option; `null` entries (Adafactor's `eps1 = None`) are `None`.
    pub fn tuple(&self, key: &str) -> Option<Vec<Option<f64>>> {
        self.options.get(key).map(|v| {
            v.as_array()
                .unwrap_or_else(|| panic!("{key}: list expected"))
                .iter()
                .map(Value::as_f64)
                .collect()
        })
    }

    pub fn pair(&self, key: &str, default: (f64, f64)) -> (f64, f64) {
        self.tuple(key).map_or(default, |t| {
            assert_eq!(t.len(), 2, "{key}: 2 values expected");
            (t[0].unwrap(), t[1].unwrap())
        })
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.options.get(key).and_then(Value::as_str)
    }
}

/// Compares values against the reference within the conformance tolerance (1e-5 relative, or
/// 1e-7 absolute for values near zero), counting what differs.
pub(crate) struct Compare {
    /// The relative tolerance (1e-5 unless a test says otherwise, and why).
    pub rel: f64,
    pub compared: usize,
    pub inexact: usize,
    pub worst_rel: f64,
    pub failures: Vec<String>,
}

impl Default for Compare {
    fn default() -> Self {
        Compare {
            rel: 1e-5,
            compared: 0,
            inexact: 0,
            worst_rel: 0.0,
            failures: Vec::new(),
        }
    }
}

impl Compare {
    pub fn values(&mut self, what: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (j, (&got, &want)) in got.iter().zip(want).enumerate() {
            self.compared += 1;
            if got.to_bits() == want.to_bits() {
                continue;
            }
            self.inexact += 1;
            if std::env::var_os("OPTIM_DEBUG").is_some() {
                eprintln!(
                    "{what}[{j}]: {got:e} vs {want:e} ({} ulp)",
                    got.to_bits() as i64 - want.to_bits() as i64
                );
            }
            let abs = (f64::from(got) - f64::from(want)).abs();
            let rel = abs / f64::from(want).abs().max(f64::MIN_POSITIVE);
            if rel.is_finite() && abs > 1e-7 {
                self.worst_rel = self.worst_rel.max(rel);
            }
            if !(rel <= self.rel || abs <= 1e-7) && self.failures.len() < 20 {
                self.failures.push(format!(
                    "{what}[{j}] = {got:e}, reference {want:e} (rel {rel:.2e})"
                ));
            }
        }
    }

    /// Panics with the failures, if any; prints the statistics otherwise.
    pub fn finish(self, case: &str) {
        eprintln!(
            "{case}: {}/{} values not bit-identical, worst rel {:.2e}",
            self.inexact, self.compared, self.worst_rel
        );
        assert!(self.compared > 0, "{case}: nothing compared");
        assert!(
            self.failures.is_empty(),
            "{case}: values out of tolerance:\n{}",
            self.failures.join("\n")
        );
    }
}

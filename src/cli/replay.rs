//! `optimc replay FILE --trace T.json`: runs the configured optimizer and schedule over recorded
//! gradients (the `epochs`, `metrics`, `init` and `grads` fields of a conformance file) and
//! prints the lr, momentum and parameters after every epoch's optimizer step, as JSON.

use super::{cannot_run, load, output, read_file, INVALID, OK};
use optimc::limits::MAX_EPOCHS;
use optimc::number::{Num, Nums};
use optimc::optim::ParamMut;
use optimc::Trainer;
use serde_json::{Map, Value};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim file.
    file: PathBuf,
    /// The recorded run: a JSON object with `epochs`, `metrics` (null or one number per epoch),
    /// `init` ({name: [values]}), `grads` (one {name: [values]} per epoch) and optionally
    /// `shapes` ({name: [dims]}; a conformance file's `groups[].shape` serves too).
    #[arg(long)]
    trace: PathBuf,
}

/// A recorded run, checked for shape.
struct Recording {
    epochs: usize,
    metrics: Option<Vec<f64>>,
    names: Vec<String>,
    /// Per parameter: its shape (`[len]` unless the trace gives one).
    shapes: Vec<Vec<usize>>,
    init: Vec<Vec<f32>>,
    /// Per epoch, per parameter (in `names` order).
    grads: Vec<Vec<Vec<f32>>>,
}

fn numbers(v: &Value, what: &str) -> Result<Vec<f64>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("{what} must be an array of numbers, found {}", kind(v)))?;
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let named = || x.as_str().and_then(optimc::number::parse_non_finite);
            x.as_f64().or_else(named).ok_or_else(|| {
                format!(
                    "{what}[{i}] must be a number (or \"inf\", \"-inf\", \"NaN\"), found {}",
                    kind(x)
                )
            })
        })
        .collect()
}

fn floats(v: &Value, what: &str) -> Result<Vec<f32>, String> {
    numbers(v, what)?
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let f = x as f32;
            // An infinity or NaN written as such is kept; a finite number must fit.
            if f.is_finite() || !x.is_finite() {
                Ok(f)
            } else {
                Err(format!("{what}[{i}] = {x} does not fit a 32-bit float"))
            }
        })
        .collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    obj.get(name)
        .ok_or_else(|| format!("the trace has no `{name}` field"))
}

fn parse_recording(text: &str) -> Result<Recording, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| format!("the trace must be a JSON object, found {}", kind(&value)))?;
    let epochs = field(obj, "epochs")?;
    let epochs = epochs
        .as_u64()
        .filter(|&e| e <= MAX_EPOCHS)
        .ok_or_else(|| {
            format!("`epochs` must be a whole number from 0 to {MAX_EPOCHS}, found {epochs}")
        })? as usize;
    let metrics = match obj.get("metrics") {
        None | Some(Value::Null) => None,
        Some(m) => {
            let m = numbers(m, "`metrics`")?;
            if m.len() < epochs {
                return Err(format!(
                    "`metrics` has {} values, but there are {epochs} epochs",
                    m.len()
                ));
            }
            Some(m)
        }
    };
    let init = field(obj, "init")?
        .as_object()
        .ok_or("`init` must be an object {parameter name: [values]}")?;
    let names: Vec<String> = init.keys().cloned().collect();
    let init: Vec<Vec<f32>> = init
        .iter()
        .map(|(n, v)| floats(v, &format!("`init.{n}`")))
        .collect::<Result<_, _>>()?;
    let grads = field(obj, "grads")?
        .as_array()
        .ok_or("`grads` must be an array with one {parameter name: [values]} per epoch")?;
    if grads.len() < epochs {
        return Err(format!(
            "`grads` has {} epochs, but `epochs` is {epochs}",
            grads.len()
        ));
    }
    let mut per_epoch = Vec::with_capacity(epochs);
    for (e, g) in grads.iter().take(epochs).enumerate() {
        let g = g.as_object().ok_or_else(|| {
            format!("`grads[{e}]` must be an object {{parameter name: [values]}}")
        })?;
        if let Some(extra) = g.keys().find(|k| !names.contains(*k)) {
            return Err(format!(
                "`grads[{e}]` has a gradient for `{extra}`, which is not in `init`"
            ));
        }
        let mut row = Vec::with_capacity(names.len());
        for (n, values) in names.iter().zip(&init) {
            let what = format!("`grads[{e}].{n}`");
            let v = g
                .get(n)
                .ok_or_else(|| format!("{what} is missing (every parameter needs a gradient)"))?;
            let v = floats(v, &what)?;
            if v.len() != values.len() {
                return Err(format!(
                    "{what} has {} values, but `init.{n}` has {}",
                    v.len(),
                    values.len()
                ));
            }
            row.push(v);
        }
        per_epoch.push(row);
    }
    let shapes = shapes(obj, &names, &init)?;
    Ok(Recording {
        epochs,
        metrics,
        names,
        shapes,
        init,
        grads: per_epoch,
    })
}

/// The parameters' shapes: from `shapes` ({name: [dims]}), else from a conformance file's
/// `groups` (each `{name, shape}` whose name is a parameter's), else `[len]`.
fn shapes(
    obj: &Map<String, Value>,
    names: &[String],
    init: &[Vec<f32>],
) -> Result<Vec<Vec<usize>>, String> {
    let given: Vec<(String, &Value)> = match obj.get("shapes") {
        None | Some(Value::Null) => obj
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| Some((g.get("name")?.as_str()?.to_string(), g.get("shape")?)))
            .filter(|(n, _)| names.contains(n))
            .collect(),
        Some(Value::Object(m)) => {
            if let Some(extra) = m.keys().find(|k| !names.contains(*k)) {
                return Err(format!(
                    "`shapes` has a shape for `{extra}`, which is not in `init`"
                ));
            }
            m.iter().map(|(n, v)| (n.clone(), v)).collect()
        }
        Some(other) => {
            return Err(format!(
                "`shapes` must be an object {{parameter name: [dimensions]}}, found {}",
                kind(other)
            ))
        }
    };
    let mut shapes: Vec<Vec<usize>> = init.iter().map(|v| vec![v.len()]).collect();
    for (name, value) in given {
        let what = format!("the shape of `{name}`");
        let dims = value
            .as_array()
            .ok_or_else(|| {
                format!(
                    "{what} must be an array of dimensions, found {}",
                    kind(value)
                )
            })?
            .iter()
            .map(|d| {
                d.as_u64()
                    .and_then(|d| usize::try_from(d).ok())
                    .ok_or_else(|| format!("{what} must hold whole numbers, found {d}"))
            })
            .collect::<Result<Vec<usize>, String>>()?;
        let i = names
            .iter()
            .position(|n| *n == name)
            .expect("filtered to parameters");
        let count = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&c| c == init[i].len());
        if count.is_none() {
            return Err(format!(
                "{what} is {dims:?}, which does not hold the {} values of `init.{name}`",
                init[i].len()
            ));
        }
        shapes[i] = dims;
    }
    Ok(shapes)
}

/// What `replay` prints, numbers as `optimc::number` writes them.
#[derive(serde::Serialize)]
struct Output<'a> {
    groups: Vec<&'a str>,
    lr: Vec<Nums<'a, f64>>,
    momentum: Option<Vec<Option<Nums<'a, f64>>>>,
    params: Vec<Snapshot<'a>>,
}

/// Every parameter's values after one epoch, as `{name: [values]}`.
struct Snapshot<'a> {
    names: &'a [String],
    values: &'a [Vec<f32>],
}

impl serde::Serialize for Snapshot<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.names.len()))?;
        for (name, values) in self.names.iter().zip(self.values) {
            map.serialize_entry(name, &F32s(values))?;
        }
        map.end()
    }
}

/// f32 values written as the f64 numbers they equal (as replay always printed them: they read
/// back exactly as f32), or, when not finite, by name.
struct F32s<'a>(&'a [f32]);

impl serde::Serialize for F32s<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &x in self.0 {
            if x.is_finite() {
                seq.serialize_element(&f64::from(x))?;
            } else {
                seq.serialize_element(&Num(x))?;
            }
        }
        seq.end()
    }
}

pub fn run(args: Args) -> u8 {
    let config = match load(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = match read_file(&args.trace) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                return cannot_run(format!("{}: not UTF-8 text", args.trace.display()));
            }
        },
        Err(message) => return cannot_run(message),
    };
    let mut rec = match parse_recording(&text) {
        Ok(r) => r,
        Err(message) => return cannot_run(format!("{}: {message}", args.trace.display())),
    };
    let registered: Vec<(&str, &[usize])> = rec
        .names
        .iter()
        .map(String::as_str)
        .zip(rec.shapes.iter().map(Vec::as_slice))
        .collect();
    let mut trainer = match Trainer::with_shapes(&config, &registered) {
        Ok(t) => t,
        Err(e) => {
            output::eprint(&format!("{:?}\n", miette::Report::new(e)));
            return INVALID;
        }
    };
    if trainer.schedule().needs_metric() && rec.metrics.is_none() {
        return cannot_run(format!(
            "{} uses `plateau`, which needs a metric each epoch: give the trace a `metrics` array",
            args.file.display()
        ));
    }
    let groups = trainer.optimizer().num_groups();
    let cycled: Vec<bool> = (0..groups).map(|g| trainer.momentum(g).is_some()).collect();
    let mut lr = vec![Vec::with_capacity(rec.epochs); groups];
    let mut momentum: Vec<Vec<f64>> = vec![Vec::with_capacity(rec.epochs); groups];
    let mut params = Vec::with_capacity(rec.epochs);
    for e in 0..rec.epochs {
        for g in 0..groups {
            lr[g].push(trainer.lrs()[g]);
            if let Some(m) = trainer.momentum(g) {
                momentum[g].push(m);
            }
        }
        let mut handles: Vec<ParamMut<'_>> = rec
            .init
            .iter_mut()
            .zip(&rec.grads[e])
            .map(|(p, g)| ParamMut::new(p, g))
            .collect();
        if let Err(err) = trainer.step(&mut handles) {
            output::eprint(&format!("{:?}\n", miette::Report::new(err)));
            return super::CANNOT_RUN;
        }
        params.push(rec.init.clone());
        match &rec.metrics {
            Some(m) => trainer.end_epoch_with(m[e]),
            None => trainer.end_epoch(),
        }
    }
    let momentum = cycled.iter().any(|&c| c).then(|| {
        momentum
            .into_iter()
            .zip(&cycled)
            .map(|(m, &c)| c.then_some(m))
            .collect::<Vec<_>>()
    });
    let group_names: Vec<&str> = (0..groups)
        .map(|g| trainer.optimizer().group_name(g))
        .collect();
    let out = Output {
        groups: group_names,
        lr: lr.iter().map(|v| Nums(v)).collect(),
        momentum: momentum
            .as_ref()
            .map(|m| m.iter().map(|v| v.as_deref().map(Nums)).collect::<Vec<_>>()),
        params: params
            .iter()
            .map(|values| Snapshot {
                names: &rec.names,
                values,
            })
            .collect(),
    };
    let mut s = serde_json::to_string(&out).unwrap_or_default();
    s.push('\n');
    output::print(s, OK)
}

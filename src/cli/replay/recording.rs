//! The recorded run `optimc replay` reads, and the replay itself, in memory that grows with the
//! numbers the trace holds rather than with its JSON tree.
//!
//! Reading is one pass of serde_json over the text into typed storage: every value of `init`
//! and `grads` goes, as the f32 it is used as, into one flat array (4 bytes where the text
//! spends about 19, and no `serde_json::Value` of 32 bytes plus its allocations per number), and
//! each parameter name is kept once. Nothing is refused while parsing: every part notes its first
//! problem and parsing goes on, so that a JSON syntax error anywhere still comes first, and
//! [`Recording::from_json`] then reports the problems in one fixed order (`epochs`, `grads`,
//! `metrics`, `init`, each epoch's gradients, `shapes`), whatever the order of the trace's
//! fields. Objects read as
//! `serde_json::Value` reads them: names in sorted order, a repeated name's last value counts.
//!
//! [`Recording::replay`] writes the output epoch by epoch as the optimizer produces it.

use optimc::limits::MAX_EPOCHS;
use optimc::number::{parse_non_finite, Num, Nums};
use optimc::optim::ParamMut;
use optimc::Trainer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, Write};

/// A recorded run, checked for shape.
pub struct Recording {
    pub epochs: usize,
    pub metrics: Option<Vec<f64>>,
    /// The parameters, in sorted order.
    pub names: Vec<String>,
    /// Per parameter: its shape (`[len]` unless the trace gives one).
    pub shapes: Vec<Vec<usize>>,
    /// Per parameter: whether the trace gives its shape (else `shapes` holds `[len]`, a guess
    /// that a group selecting by shape must not take).
    pub shaped: Vec<bool>,
    /// Per parameter: its values, updated as the replay steps.
    pub init: Vec<Vec<f32>>,
    /// Every number of `init` and `grads`, in the order of the text.
    values: Vec<f32>,
    /// Per epoch, per parameter (in `names` order): where its gradient starts in `values` (it
    /// is as long as the parameter).
    grad_starts: Vec<usize>,
}

/// Why a replay stopped.
pub enum RunError {
    /// The optimizer refused a step.
    Step(optimc::Error),
    /// Writing the output failed.
    Write(io::Error),
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> RunError {
        RunError::Write(e)
    }
}

impl Recording {
    /// Reads a trace (see `optimc replay --help`), or says what is wrong with it.
    pub fn from_json(text: &str) -> Result<Recording, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let mut parsed = Parsed::default();
        // Room for every number from the start (there is at most one per `,` or `[`, and one
        // per two bytes), so that the array is not copied as it grows. Room never used is
        // never touched, so it takes address space, not memory.
        let items = text.bytes().filter(|&b| b == b',' || b == b'[').count();
        parsed.values.reserve_exact(items.min(text.len() / 2));
        TopSeed(&mut parsed)
            .deserialize(&mut de)
            .and_then(|()| de.end())
            .map_err(|e| format!("not valid JSON: {e}"))?;
        parsed.check()
    }

    /// The gradient of parameter `param` (of `len` values) in epoch `epoch`.
    fn grad(&self, epoch: usize, param: usize, len: usize) -> &[f32] {
        let start = self.grad_starts[epoch * self.names.len() + param];
        &self.values[start..start + len]
    }

    /// Runs `trainer` (built for these parameters and shapes) over the recorded gradients and
    /// writes, as one JSON object, the groups, every epoch's lr and cycled momentum per group,
    /// and every parameter's values after each epoch's step. The lrs come first in the output
    /// but do not depend on the parameters, so a copy of the schedule computes them up front
    /// and the parameters are written epoch by epoch, never held.
    pub fn replay(&mut self, trainer: &mut Trainer, out: &mut impl Write) -> Result<(), RunError> {
        let groups = trainer.optimizer().num_groups();
        let cycled: Vec<bool> = (0..groups).map(|g| trainer.momentum(g).is_some()).collect();
        let mut lr = vec![Vec::with_capacity(self.epochs); groups];
        let mut momentum: Vec<Vec<f64>> = vec![Vec::new(); groups];
        let mut schedule = trainer.schedule().clone();
        for e in 0..self.epochs {
            for g in 0..groups {
                lr[g].push(schedule.lrs()[g]);
                if let Some(m) = schedule.momentum(g) {
                    momentum[g].push(m);
                }
            }
            match &self.metrics {
                Some(m) => schedule.step_with(m[e]),
                None => schedule.step_counting_plateaus(),
            }
        }
        let momentum = cycled.iter().any(|&c| c).then(|| {
            momentum
                .iter()
                .zip(&cycled)
                .map(|(m, &c)| c.then_some(Nums(m)))
                .collect::<Vec<_>>()
        });
        let group_names: Vec<&str> = (0..groups)
            .map(|g| trainer.optimizer().group_name(g))
            .collect();
        let lr: Vec<Nums<'_, f64>> = lr.iter().map(|v| Nums(v)).collect();
        // The bytes serde_json wrote for the whole object when replay built it in memory.
        out.write_all(b"{\"groups\":")?;
        serde_json::to_writer(&mut *out, &group_names).map_err(io::Error::from)?;
        out.write_all(b",\"lr\":")?;
        serde_json::to_writer(&mut *out, &lr).map_err(io::Error::from)?;
        out.write_all(b",\"momentum\":")?;
        serde_json::to_writer(&mut *out, &momentum).map_err(io::Error::from)?;
        out.write_all(b",\"params\":[")?;
        let mut grads: Vec<&[f32]> = Vec::with_capacity(self.names.len());
        let mut params = std::mem::take(&mut self.init);
        // With `average = ...`, the averaged parameters after each epoch (`null` before the
        // first update) follow the parameters in the output, so they are held until then.
        let averaging = trainer.has_average();
        let mut averaged: Vec<u8> = Vec::new();
        let mut n_averaged: Vec<u64> = Vec::new();
        for e in 0..self.epochs {
            grads.clear();
            grads.extend(
                params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| self.grad(e, i, p.len())),
            );
            let mut handles: Vec<ParamMut<'_>> = params
                .iter_mut()
                .zip(&grads)
                .zip(&self.names)
                .map(|((p, g), n)| ParamMut::named(n, p, g))
                .collect();
            // The trace was checked against the registered sizes, so this does not fail.
            trainer.step(&mut handles).map_err(RunError::Step)?;
            if e > 0 {
                out.write_all(b",")?;
            }
            let snapshot = Snapshot {
                names: &self.names,
                values: &params,
            };
            serde_json::to_writer(&mut *out, &snapshot).map_err(io::Error::from)?;
            if averaging {
                averaged.push(if e > 0 { b',' } else { b'[' });
                let values: Option<Vec<&[f32]>> =
                    self.names.iter().map(|n| trainer.averaged(n)).collect();
                match values {
                    Some(values) => {
                        let snapshot = AveragedSnapshot {
                            names: &self.names,
                            values: &values,
                        };
                        serde_json::to_writer(&mut averaged, &snapshot).map_err(io::Error::from)?;
                    }
                    None => averaged.extend_from_slice(b"null"),
                }
                n_averaged.push(trainer.n_averaged());
            }
            // One schedule step per replayed step, whatever the file's `run` says: each
            // step of the trace is one of the schedule's steps.
            match &self.metrics {
                Some(m) => trainer.step_schedule_with(m[e]),
                // `run` refused a plateau without metrics, so this does not fail.
                None => trainer.step_schedule().map_err(RunError::Step)?,
            }
        }
        self.init = params;
        out.write_all(b"]")?;
        if averaging {
            if averaged.is_empty() {
                averaged.push(b'[');
            }
            averaged.push(b']');
            out.write_all(b",\"averaged\":")?;
            out.write_all(&averaged)?;
            out.write_all(b",\"n_averaged\":")?;
            serde_json::to_writer(&mut *out, &n_averaged).map_err(io::Error::from)?;
        }
        out.write_all(b"}\n")?;
        out.flush()?;
        Ok(())
    }
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

/// The averaged parameters after one epoch, as `{name: [values]}`.
struct AveragedSnapshot<'a> {
    names: &'a [String],
    values: &'a [&'a [f32]],
}

impl serde::Serialize for AveragedSnapshot<'_> {
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

// ----- parsing -----

/// The trace as parsed, each part with its first problem, not yet checked.
#[derive(Default)]
struct Parsed {
    /// The kind of the top-level value, when it is not an object.
    not_object: Option<&'static str>,
    epochs: Option<Shown>,
    metrics: Option<List>,
    metric_values: Vec<f64>,
    init: Option<Named>,
    grads: Option<Grads>,
    shapes: Option<Shapes>,
    /// `groups`, when it is an array: each object's `name` (when a string) and `shape`.
    groups: Option<Vec<Group>>,
    /// Every number of `init` and `grads` (see [`List`]).
    values: Vec<f32>,
    names: Interner,
}

/// A list of numbers, kept at `values[start..start + len]` of its owner, and its first problems.
struct List {
    start: usize,
    len: usize,
    problem: Option<Box<ListProblem>>,
}

#[derive(Default)]
struct ListProblem {
    /// The kind of the value, when it is not an array.
    not_array: Option<&'static str>,
    /// The first item that is not a number (nor a string naming one), and its kind.
    not_number: Option<(usize, &'static str)>,
    /// The first finite number too large for an f32.
    too_big: Option<(usize, f64)>,
}

/// `{name: [numbers]}` in the order given (names as [`Interner`] ids), or the kind of a value
/// that is not an object.
enum Named {
    Object(Vec<(usize, List)>),
    Not,
}

/// `grads`: one [`Named`] per epoch, or the kind of a value that is not an array.
enum Grads {
    Array(Vec<Named>),
    Not,
}

/// `shapes`: null, `{name: dims}` (sorted by name, the last of a repeated name), or another kind.
enum Shapes {
    Null,
    Object(BTreeMap<String, Dims>),
    Not(&'static str),
}

/// One element of a conformance file's `groups`.
struct Group {
    name: Option<String>,
    shape: Option<Dims>,
}

/// A shape: the whole-number dimensions up to the first that is not one, or the kind of a value
/// that is not an array.
enum Dims {
    Array {
        dims: Vec<usize>,
        bad: Option<Shown>,
    },
    Not(&'static str),
}

/// A value shown in a message as JSON (`epochs`, a shape's dimension), as `serde_json::Value`
/// prints it: kept whole up to [`SHOWN_NODES`] values, else only its kind.
struct Shown {
    value: Value,
    cut: bool,
}

/// The most values a [`Shown`] keeps: enough for any value worth printing in a message, and
/// small, so that a huge `epochs` costs nothing.
const SHOWN_NODES: usize = 1000;

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cut {
            f.write_str(kind(&self.value))
        } else {
            write!(f, "{}", self.value)
        }
    }
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

/// Each distinct parameter name once, numbered in order of appearance.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, usize>,
    names: Vec<String>,
}

impl Interner {
    fn intern(&mut self, name: Cow<'_, str>) -> usize {
        if let Some(&id) = self.ids.get(name.as_ref()) {
            return id;
        }
        let id = self.names.len();
        self.names.push(name.to_string());
        self.ids.insert(name.into_owned(), id);
        id
    }
}

/// The whole trace.
struct TopSeed<'p>(&'p mut Parsed);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// The visitor methods of a value of the wrong kind: it is parsed to the end (as
/// `serde_json::Value` would, with the same errors and nesting limit) and `$not` makes the result
/// from its kind.
macro_rules! other_kinds {
    ($not:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(($not)(self, "a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(($not)(self, "a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(($not)(self, "a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(($not)(self, "a number"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(($not)(self, "a string"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(($not)(self, "null"))
        }
    };
}

macro_rules! other_seq {
    ($not:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Ok(($not)(self, Skip.visit_seq(seq)?))
        }
    };
}

macro_rules! other_map {
    ($not:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Ok(($not)(self, Skip.visit_map(map)?))
        }
    };
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    other_kinds!(|s: Self, k| s.0.not_object = Some(k));
    other_seq!(|s: Self, k| s.0.not_object = Some(k));
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let p = self.0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "epochs" => p.epochs = Some(map.next_value_seed(ShownRoot)?),
                "metrics" => {
                    p.metrics = Some(map.next_value_seed(ListSeed {
                        values: &mut p.metric_values,
                    })?)
                }
                "init" => {
                    p.init = Some(map.next_value_seed(NamedSeed {
                        values: &mut p.values,
                        names: &mut p.names,
                    })?)
                }
                "grads" => {
                    p.grads = Some(map.next_value_seed(GradsSeed {
                        values: &mut p.values,
                        names: &mut p.names,
                    })?)
                }
                "shapes" => p.shapes = Some(map.next_value_seed(ShapesSeed)?),
                "groups" => p.groups = map.next_value_seed(GroupsSeed)?,
                _ => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        Ok(())
    }
}

/// An object's key, borrowed from the text unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// Parses a value and keeps only its kind.
#[derive(Clone, Copy)]
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = &'static str;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    other_kinds!(|_, k| k);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<&'static str, A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok("an array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<&'static str, A::Error> {
        while map.next_key_seed(KeySeed)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok("an object")
    }
}

/// A value to show in a message (see [`Shown`]).
#[derive(Clone, Copy)]
struct ShownSeed<'b> {
    left: &'b Cell<usize>,
    cut: &'b Cell<bool>,
}

impl ShownSeed<'_> {
    /// `v` when the budget allows one more value, else (noting the cut) null.
    fn node(self, v: impl FnOnce() -> Value) -> Value {
        match self.left.get() {
            0 => {
                self.cut.set(true);
                Value::Null
            }
            n => {
                self.left.set(n - 1);
                v()
            }
        }
    }
}

/// The start of a [`Shown`] value, with a fresh budget.
struct ShownRoot;

impl<'de> DeserializeSeed<'de> for ShownRoot {
    type Value = Shown;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shown, D::Error> {
        let (left, cut) = (Cell::new(SHOWN_NODES), Cell::new(false));
        let value = ShownSeed {
            left: &left,
            cut: &cut,
        }
        .deserialize(d)?;
        Ok(Shown {
            value,
            cut: cut.get(),
        })
    }
}

impl<'de> DeserializeSeed<'de> for ShownSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ShownSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(self.node(|| Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(self.node(|| Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(self.node(|| Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(self.node(|| Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(self.node(|| Value::String(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(self.node(|| Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The array itself always fits (the budget starts above zero), so a cut value still
        // has its kind.
        let mut array = self.node(|| Value::Array(Vec::new()));
        while let Some(item) = seq.next_element_seed(self)? {
            if let (Value::Array(items), false) = (&mut array, self.cut.get()) {
                items.push(item);
            }
        }
        Ok(array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = self.node(|| Value::Object(Map::new()));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(self)?;
            if let (Value::Object(entries), false) = (&mut object, self.cut.get()) {
                entries.insert(key.into_owned(), value);
            }
        }
        Ok(object)
    }
}

/// A number of a list: f64 (metrics) or f32 (parameters and gradients).
trait Element: Copy {
    /// The value of a JSON number; `None` when a finite one does not fit.
    fn from_f64(x: f64) -> Option<Self>;
}

impl Element for f64 {
    fn from_f64(x: f64) -> Option<f64> {
        Some(x)
    }
}

impl Element for f32 {
    fn from_f64(x: f64) -> Option<f32> {
        let f = x as f32;
        // An infinity or NaN written as such is kept; a finite number must fit.
        (f.is_finite() || !x.is_finite()).then_some(f)
    }
}

/// A list of numbers, appended to `values` (see [`List`]).
struct ListSeed<'v, T> {
    values: &'v mut Vec<T>,
}

impl<'de, T: Element> DeserializeSeed<'de> for ListSeed<'_, T> {
    type Value = List;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<List, D::Error> {
        d.deserialize_any(self)
    }
}

impl<T> ListSeed<'_, T> {
    fn not_array(self, kind: &'static str) -> List {
        List {
            start: self.values.len(),
            len: 0,
            problem: Some(Box::new(ListProblem {
                not_array: Some(kind),
                ..ListProblem::default()
            })),
        }
    }
}

impl<'de, T: Element> Visitor<'de> for ListSeed<'_, T> {
    type Value = List;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of numbers")
    }
    other_kinds!(|s: Self, k| s.not_array(k));
    other_map!(|s: Self, k| s.not_array(k));
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
        let start = self.values.len();
        let mut problem: Option<Box<ListProblem>> = None;
        let mut i = 0;
        while let Some(item) = seq.next_element_seed(ItemSeed)? {
            match item {
                Ok(x) => match T::from_f64(x) {
                    Some(v) => self.values.push(v),
                    None => {
                        let p = problem.get_or_insert_with(Box::default);
                        p.too_big.get_or_insert((i, x));
                    }
                },
                Err(kind) => {
                    let p = problem.get_or_insert_with(Box::default);
                    p.not_number.get_or_insert((i, kind));
                }
            }
            i += 1;
        }
        Ok(List {
            start,
            len: self.values.len() - start,
            problem,
        })
    }
}

/// An item of a list of numbers: its value, or the kind of a value that is not a number (nor
/// a string naming one, such as `"inf"`).
struct ItemSeed;

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Result<f64, &'static str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = Result<f64, &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Ok(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Ok(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Ok(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(parse_non_finite::<f64>(v).ok_or("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
    other_seq!(|_, k| Err(k));
    other_map!(|_, k| Err(k));
}

/// `{name: [numbers]}` (see [`Named`]).
struct NamedSeed<'p> {
    values: &'p mut Vec<f32>,
    names: &'p mut Interner,
}

impl<'de> DeserializeSeed<'de> for NamedSeed<'_> {
    type Value = Named;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Named, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NamedSeed<'_> {
    type Value = Named;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object {parameter name: [values]}")
    }
    other_kinds!(|_, _| Named::Not);
    other_seq!(|_, _| Named::Not);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let id = self.names.intern(key);
            let list = map.next_value_seed(ListSeed {
                values: &mut *self.values,
            })?;
            entries.push((id, list));
        }
        Ok(Named::Object(entries))
    }
}

/// `grads` (see [`Grads`]).
struct GradsSeed<'p> {
    values: &'p mut Vec<f32>,
    names: &'p mut Interner,
}

impl<'de> DeserializeSeed<'de> for GradsSeed<'_> {
    type Value = Grads;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Grads, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GradsSeed<'_> {
    type Value = Grads;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    other_kinds!(|_, _| Grads::Not);
    other_map!(|_, _| Grads::Not);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Grads, A::Error> {
        let mut epochs = Vec::new();
        while let Some(epoch) = seq.next_element_seed(NamedSeed {
            values: &mut *self.values,
            names: &mut *self.names,
        })? {
            epochs.push(epoch);
        }
        Ok(Grads::Array(epochs))
    }
}

/// `shapes` (see [`Shapes`]).
struct ShapesSeed;

impl<'de> DeserializeSeed<'de> for ShapesSeed {
    type Value = Shapes;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shapes, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ShapesSeed {
    type Value = Shapes;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object {parameter name: [dimensions]}")
    }
    other_kinds!(|_, k| if k == "null" {
        Shapes::Null
    } else {
        Shapes::Not(k)
    });
    other_seq!(|_, k| Shapes::Not(k));
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shapes, A::Error> {
        let mut shapes = BTreeMap::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let dims = map.next_value_seed(DimsSeed)?;
            shapes.insert(key.into_owned(), dims);
        }
        Ok(Shapes::Object(shapes))
    }
}

/// A shape (see [`Dims`]).
struct DimsSeed;

impl<'de> DeserializeSeed<'de> for DimsSeed {
    type Value = Dims;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Dims, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DimsSeed {
    type Value = Dims;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of dimensions")
    }
    other_kinds!(|_, k| Dims::Not(k));
    other_map!(|_, k| Dims::Not(k));
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dims, A::Error> {
        let mut dims = Vec::new();
        let mut bad = None;
        loop {
            if bad.is_some() {
                if seq.next_element_seed(Skip)?.is_none() {
                    break;
                }
                continue;
            }
            let Some(shown) = seq.next_element_seed(ShownRoot)? else {
                break;
            };
            match shown.value.as_u64().and_then(|d| usize::try_from(d).ok()) {
                Some(d) => dims.push(d),
                None => bad = Some(shown),
            }
        }
        Ok(Dims::Array { dims, bad })
    }
}

/// `groups`: each object's `name` and `shape`, when it is an array (else `None`).
struct GroupsSeed;

impl<'de> DeserializeSeed<'de> for GroupsSeed {
    type Value = Option<Vec<Group>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GroupsSeed {
    type Value = Option<Vec<Group>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of groups")
    }
    other_kinds!(|_, _| None);
    other_map!(|_, _| None);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut groups = Vec::new();
        while let Some(group) = seq.next_element_seed(GroupSeed)? {
            groups.extend(group);
        }
        Ok(Some(groups))
    }
}

/// One element of `groups`, when it is an object.
struct GroupSeed;

impl<'de> DeserializeSeed<'de> for GroupSeed {
    type Value = Option<Group>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GroupSeed {
    type Value = Option<Group>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a group")
    }
    other_kinds!(|_, _| None);
    other_seq!(|_, _| None);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut group = Group {
            name: None,
            shape: None,
        };
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "name" => group.name = map.next_value_seed(NameSeed)?,
                "shape" => group.shape = Some(map.next_value_seed(DimsSeed)?),
                _ => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        Ok(Some(group))
    }
}

/// A group's `name`, when it is a string.
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NameSeed {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    other_seq!(|_, _| None);
    other_map!(|_, _| None);
}

// ----- checking -----

/// The numbers of `list` (in `values`), or what is wrong with them; `what` names the list.
fn numbers<'v, T>(list: &List, values: &'v [T], what: &str) -> Result<&'v [T], String> {
    if let Some(p) = &list.problem {
        if let Some(kind) = p.not_array {
            return Err(format!("{what} must be an array of numbers, found {kind}"));
        }
        if let Some((i, kind)) = p.not_number {
            return Err(format!(
                "{what}[{i}] must be a number (or \"inf\", \"-inf\", \"NaN\"), found {kind}"
            ));
        }
        if let Some((i, x)) = p.too_big {
            return Err(format!("{what}[{i}] = {x} does not fit a 32-bit float"));
        }
    }
    Ok(&values[list.start..list.start + list.len])
}

/// The entries of an object, by name (sorted), the last of a repeated name.
fn by_name<'a>(
    entries: &'a [(usize, List)],
    names: &'a Interner,
) -> BTreeMap<&'a str, (usize, &'a List)> {
    entries
        .iter()
        .map(|(id, list)| (names.names[*id].as_str(), (*id, list)))
        .collect()
}

impl Parsed {
    fn check(self) -> Result<Recording, String> {
        if let Some(kind) = self.not_object {
            return Err(format!("the trace must be a JSON object, found {kind}"));
        }
        let given = match &self.epochs {
            None => None,
            Some(shown) => Some(
                shown
                    .value
                    .as_u64()
                    .filter(|&e| e <= MAX_EPOCHS)
                    .ok_or_else(|| {
                        format!(
                            "`epochs` must be a whole number from 0 to {MAX_EPOCHS}, found {shown}"
                        )
                    })? as usize,
            ),
        };
        // `grads` says how many epochs there are; `epochs` may repeat it, and must then agree.
        let grads = match self.grads.as_ref().ok_or_else(|| no_field("grads"))? {
            Grads::Array(g) => g,
            Grads::Not => {
                return Err(
                    "`grads` must be an array with one {parameter name: [values]} per epoch".into(),
                )
            }
        };
        let epochs = grads.len();
        match given {
            Some(e) if e != epochs => {
                return Err(format!(
                    "`epochs` is {e}, but `grads` has gradients for {epochs} epochs: leave \
                     `epochs` out (replay runs one epoch per element of `grads`) or make them agree"
                ))
            }
            _ if epochs as u64 > MAX_EPOCHS => {
                return Err(format!(
                    "`grads` has gradients for {epochs} epochs; replay runs at most {MAX_EPOCHS}"
                ))
            }
            _ => {}
        }
        let metrics = match &self.metrics {
            None => None,
            Some(m)
                if m.problem
                    .as_ref()
                    .is_some_and(|p| p.not_array == Some("null")) =>
            {
                None
            }
            Some(m) => {
                let m = numbers(m, &self.metric_values, "`metrics`")?;
                if m.len() < epochs {
                    return Err(format!(
                        "`metrics` has {} values, but there are {epochs} epochs",
                        m.len()
                    ));
                }
                Some(m.to_vec())
            }
        };
        let Named::Object(init) = self.init.as_ref().ok_or_else(|| no_field("init"))? else {
            return Err("`init` must be an object {parameter name: [values]}".into());
        };
        let init = by_name(init, &self.names);
        let names: Vec<String> = init.keys().map(|n| n.to_string()).collect();
        // Interner id -> parameter index.
        let mut param_of = vec![None; self.names.names.len()];
        let mut values = Vec::with_capacity(names.len());
        for (i, (n, (id, list))) in init.iter().enumerate() {
            param_of[*id] = Some(i);
            values.push(numbers(list, &self.values, &format!("`init.{n}`"))?.to_vec());
        }
        let mut grad_starts = Vec::with_capacity(epochs * names.len());
        for (e, g) in grads.iter().enumerate() {
            let Named::Object(g) = g else {
                return Err(format!(
                    "`grads[{e}]` must be an object {{parameter name: [values]}}"
                ));
            };
            let g = by_name(g, &self.names);
            if let Some(extra) = g.iter().find(|(_, (id, _))| param_of[*id].is_none()) {
                return Err(format!(
                    "`grads[{e}]` has a gradient for `{}`, which is not in `init`",
                    extra.0
                ));
            }
            for (n, param) in names.iter().zip(&values) {
                let what = format!("`grads[{e}].{n}`");
                let list = match g.get(n.as_str()) {
                    Some((_, list)) => list,
                    None => {
                        return Err(format!(
                            "{what} is missing (every parameter needs a gradient)"
                        ))
                    }
                };
                let v = numbers(list, &self.values, &what)?;
                if v.len() != param.len() {
                    return Err(format!(
                        "{what} has {} values, but `init.{n}` has {}",
                        v.len(),
                        param.len()
                    ));
                }
                grad_starts.push(list.start);
            }
        }
        let (shapes, shaped) = self.shapes(&names, &values)?;
        Ok(Recording {
            epochs,
            metrics,
            names,
            shapes,
            shaped,
            init: values,
            values: self.values,
            grad_starts,
        })
    }

    /// The parameters' shapes: from `shapes` ({name: [dims]}), else from a conformance file's
    /// `groups` (each `{name, shape}` whose name is a parameter's), else `[len]`; and whether
    /// each was given.
    fn shapes(
        &self,
        names: &[String],
        init: &[Vec<f32>],
    ) -> Result<(Vec<Vec<usize>>, Vec<bool>), String> {
        let given: Vec<(&str, &Dims)> = match &self.shapes {
            None | Some(Shapes::Null) => self
                .groups
                .iter()
                .flatten()
                .filter_map(|g| Some((g.name.as_deref()?, g.shape.as_ref()?)))
                .filter(|(n, _)| names.iter().any(|name| name == n))
                .collect(),
            Some(Shapes::Object(m)) => {
                if let Some(extra) = m.keys().find(|k| !names.contains(*k)) {
                    return Err(format!(
                        "`shapes` has a shape for `{extra}`, which is not in `init`"
                    ));
                }
                m.iter().map(|(n, d)| (n.as_str(), d)).collect()
            }
            Some(Shapes::Not(kind)) => {
                return Err(format!(
                    "`shapes` must be an object {{parameter name: [dimensions]}}, found {kind}"
                ))
            }
        };
        let mut shapes: Vec<Vec<usize>> = init.iter().map(|v| vec![v.len()]).collect();
        let mut shaped = vec![false; shapes.len()];
        for (name, value) in given {
            let what = format!("the shape of `{name}`");
            let dims = match value {
                Dims::Not(kind) => {
                    return Err(format!(
                        "{what} must be an array of dimensions, found {kind}"
                    ))
                }
                Dims::Array { bad: Some(d), .. } => {
                    return Err(format!("{what} must hold whole numbers, found {d}"))
                }
                Dims::Array { dims, bad: None } => dims,
            };
            let i = names
                .iter()
                .position(|n| n == name)
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
            shapes[i] = dims.clone();
            shaped[i] = true;
        }
        Ok((shapes, shaped))
    }
}

fn no_field(name: &str) -> String {
    format!("the trace has no `{name}` field")
}

#[cfg(test)]
mod tests {
    use super::Recording;

    fn error(text: &str) -> String {
        match Recording::from_json(text) {
            Ok(_) => panic!("{text} was accepted"),
            Err(message) => message,
        }
    }

    #[test]
    fn problems_are_reported_in_one_order_whatever_the_order_of_fields() {
        let fields = [
            r#""epochs": 1"#,
            r#""init": {"w": [1, "x"]}"#,
            r#""grads": [{"w": [1, 1], "v": [1]}]"#,
            r#""shapes": 3"#,
        ];
        let forward = format!("{{{}}}", fields.join(", "));
        let backward = format!(
            "{{{}}}",
            fields.iter().rev().cloned().collect::<Vec<_>>().join(", ")
        );
        let want = r#"`init.w`[1] must be a number (or "inf", "-inf", "NaN"), found a string"#;
        assert_eq!(error(&forward), want);
        assert_eq!(error(&backward), want);
        // A syntax error comes before everything, even after a problem.
        assert!(error(&format!("{forward}x")).starts_with("not valid JSON: trailing characters"));
    }

    #[test]
    fn gradients_given_before_init_are_read() {
        let rec = Recording::from_json(
            r#"{"grads": [{"b": [0.5], "a": ["-inf", 2]}], "init": {"b": [1], "a": [3, 4]}, "epochs": 1}"#,
        )
        .unwrap();
        assert_eq!(rec.names, ["a", "b"]);
        assert_eq!(rec.init, [vec![3.0, 4.0], vec![1.0]]);
        assert_eq!(rec.grad(0, 0, 2), [f32::NEG_INFINITY, 2.0]);
        assert_eq!(rec.grad(0, 1, 1), [0.5]);
    }

    #[test]
    fn a_huge_value_is_named_by_its_kind_not_printed() {
        let small = format!(r#"{{"epochs": [{}]}}"#, ["1"; 3].join(","));
        assert!(
            error(&small).ends_with("found [1,1,1]"),
            "{}",
            error(&small)
        );
        let huge = format!(r#"{{"epochs": [{}]}}"#, vec!["1"; 5000].join(","));
        assert!(error(&huge).ends_with("found an array"), "{}", error(&huge));
    }
}

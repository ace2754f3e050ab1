//! Serializable snapshots of an optimizer's state, for checkpoints and resumption.

use crate::config::{Hyperparams, OptimizerKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything an [`Optimizer`](super::Optimizer) needs to continue a run bit for bit: each
/// group's current hyperparameters (as a schedule left them) and each parameter's step count and
/// buffers. PyTorch's `optimizer.state_dict()`, keyed by parameter name instead of position.
///
/// `f32` values are written as JSON numbers that read back to the same bits; NaN and the
/// infinities, which JSON numbers cannot hold, are written as the strings `"NaN"`, `"inf"` and
/// `"-inf"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer that wrote the state.
    pub optimizer: OptimizerKind,
    /// One entry per group, in `param_groups` order.
    pub groups: Vec<GroupState>,
    /// One entry per parameter, in registration order.
    pub params: Vec<ParamState>,
}

/// A group's name and its hyperparameters at the time of the snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub name: String,
    pub options: Hyperparams,
}

/// One parameter's state, under PyTorch's names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// The parameter's full name.
    pub name: String,
    /// Its number of elements.
    pub len: usize,
    /// The index of its group.
    pub group: usize,
    /// PyTorch's float32 `step` (how many steps this parameter took; 0 for SGD, which keeps no
    /// count).
    #[serde(with = "float")]
    pub step: f32,
    /// NAdam's float32 `mu_product`; absent for other optimizers.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_float")]
    pub mu_product: Option<f32>,
    /// Buffers by PyTorch name (`exp_avg`, `momentum_buffer`, ...). A buffer PyTorch would hold
    /// as `None` or not create (SGD's momentum buffer before the first step with momentum,
    /// `max_exp_avg_sq` without amsgrad) is absent.
    #[serde(with = "float_map")]
    pub buffers: BTreeMap<String, Vec<f32>>,
}

/// An `f32` as a JSON number, or as a string when it is not finite.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Num(f32),
    Text(String),
}

impl Repr {
    fn of(x: f32) -> Repr {
        if x.is_finite() {
            Repr::Num(x)
        } else if x.is_nan() {
            Repr::Text("NaN".into())
        } else if x > 0.0 {
            Repr::Text("inf".into())
        } else {
            Repr::Text("-inf".into())
        }
    }

    fn value<E: serde::de::Error>(self) -> Result<f32, E> {
        match self {
            Repr::Num(x) => Ok(x),
            Repr::Text(t) => match t.as_str() {
                "NaN" | "nan" => Ok(f32::NAN),
                "inf" | "Infinity" => Ok(f32::INFINITY),
                "-inf" | "-Infinity" => Ok(f32::NEG_INFINITY),
                other => Err(E::custom(format!(
                    "expected a number, \"NaN\", \"inf\" or \"-inf\", found \"{other}\""
                ))),
            },
        }
    }
}

mod float {
    use super::Repr;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
        Repr::of(*x).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
        Repr::deserialize(d)?.value()
    }
}

mod opt_float {
    use super::Repr;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(x: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
        x.map(Repr::of).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
        Option::<Repr>::deserialize(d)?.map(Repr::value).transpose()
    }
}

mod float_map {
    use super::Repr;
    use serde::ser::{SerializeMap, SerializeSeq};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    struct Floats<'a>(&'a [f32]);

    impl Serialize for Floats<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for &x in self.0 {
                seq.serialize_element(&Repr::of(x))?;
            }
            seq.end()
        }
    }

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Vec<f32>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            map.serialize_entry(k, &Floats(v))?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Vec<f32>>, D::Error> {
        BTreeMap::<String, Vec<Repr>>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| Ok((k, v.into_iter().map(Repr::value).collect::<Result<_, _>>()?)))
            .collect()
    }
}

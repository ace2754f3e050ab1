//! Serializable snapshots of an optimizer's state, for checkpoints and resumption.

use crate::config::{Hyperparams, OptimizerKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything an [`Optimizer`](super::Optimizer) needs to continue a run bit for bit: each
/// group's current hyperparameters (as a schedule left them) and each parameter's step count and
/// buffers. PyTorch's `optimizer.state_dict()`, keyed by parameter name instead of position.
///
/// Every `f32` and `f64` is written as [`crate::number`] says: a JSON number that reads back to
/// the same bits, or, for NaN and the infinities, a string (`"NaN"`, `"inf"`, `"-inf"`, ...).
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
    /// Lamb's float32 `step`, which timm counts per group; absent for other optimizers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::number::option"
    )]
    pub step: Option<f32>,
}

/// One parameter's state, under PyTorch's names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// The parameter's full name.
    pub name: String,
    /// Its number of elements.
    pub len: usize,
    /// Its shape, when it was registered with one of other than one dimension (absent for a
    /// vector, and in states written before shapes existed; then any shape of `len` values
    /// fits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<usize>>,
    /// The index of its group.
    pub group: usize,
    /// PyTorch's float32 `step` (how many steps this parameter took; 0 for SGD, which keeps no
    /// count).
    #[serde(with = "crate::number::float")]
    pub step: f32,
    /// NAdam's float32 `mu_product`; absent for other optimizers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::number::option"
    )]
    pub mu_product: Option<f32>,
    /// ASGD's float32 `eta` (the step size of the next update); absent for other optimizers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::number::option"
    )]
    pub eta: Option<f32>,
    /// ASGD's float32 `mu` (the averaging weight of the next update); absent for other
    /// optimizers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::number::option"
    )]
    pub mu: Option<f32>,
    /// Buffers by PyTorch name (`exp_avg`, `momentum_buffer`, ...), flattened row-major. A buffer
    /// PyTorch would hold as `None` or not create (SGD's momentum buffer before the first step
    /// with momentum, `max_exp_avg_sq` without amsgrad, Adafactor's `variance` of a matrix) is
    /// absent. Most have the parameter's length; Adafactor's `row_var` and `col_var` have one
    /// value per row and per column of each matrix.
    #[serde(with = "float_map")]
    pub buffers: BTreeMap<String, Vec<f32>>,
}

mod float_map {
    use crate::number::{Num, Nums};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Vec<f32>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            map.serialize_entry(k, &Nums(v))?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Vec<f32>>, D::Error> {
        Ok(BTreeMap::<String, Vec<Num<f32>>>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(|n| n.0).collect()))
            .collect())
    }
}

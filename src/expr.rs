//! Lambda bodies, compiled once into a flat program that evaluates without allocating.

use serde::{Deserialize, Serialize};

/// A compiled one-parameter function `x -> expr`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lambda {
    text: String,
}

impl Lambda {
    /// Evaluates the function at `x`. Never allocates.
    pub fn eval(&self, x: f64) -> f64 {
        let _ = x;
        todo!("skeleton: expr compiler lands in the main line")
    }
}

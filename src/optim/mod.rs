//! Optimizers: PyTorch's `torch.optim` algorithms over f32 parameters, with parameter groups.

use crate::config::{Hyperparams, OptimizerKind, OptionName};

/// One of PyTorch's constructor argument checks that a group's options fail.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionProblem {
    pub option: OptionName,
    pub message: String,
    pub help: String,
}

/// PyTorch's constructor argument checks (temporary minimal version until the optimizers land).
pub fn validate(kind: OptimizerKind, hp: &Hyperparams) -> Vec<OptionProblem> {
    let _ = kind;
    let mut out = Vec::new();
    if hp.lr < 0.0 {
        out.push(OptionProblem {
            option: OptionName::Lr,
            message: format!("Invalid learning rate: {}", hp.lr),
            help: "use a non-negative lr".into(),
        });
    }
    out
}

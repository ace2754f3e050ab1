//! Export: a checked [`Config`] written out for other tools, and read back.
//!
//! - JSON and TOML through serde ([`to_json`], [`to_toml`], [`Config::from_json`],
//!   [`Config::from_toml`]): every default filled in, `let`s substituted, groups in declaration
//!   order, lambdas as text (`"e -> 0.95 ** e"`). A hand-written or edited file is checked on
//!   the way back in with the checker's rules (per-group list lengths, milestone counts, value
//!   ranges, PyTorch's optimizer argument checks), and refused with diagnostics pointing into it.
//! - A Python snippet that builds the same `torch.optim` optimizer and scheduler
//!   ([`pytorch::to_pytorch`]).

pub mod pytorch;

use crate::ast::Span;
use crate::config::{Config, PerGroup, ScheduleConfig};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};

/// The configuration as pretty-printed JSON (numbers round-trip exactly).
pub fn to_json(config: &Config) -> String {
    let mut text = serde_json::to_string_pretty(config).expect("a Config always serializes");
    text.push('\n');
    text
}

/// The configuration as TOML: top-level `optimizer`, then `[defaults]`, `[schedule]` and one
/// `[[groups]]` table per group.
pub fn to_toml(config: &Config) -> String {
    toml::to_string_pretty(config).expect("a Config always serializes to TOML")
}

//! optimc: a declarative language for training-optimizer configuration.
//!
//! The pipeline is the module list: [`parse`] (pest grammar → [`ast`]), [`check`] (names, types,
//! ranges → [`config::Config`]), then the runtime objects: [`schedule`] and [`optim`].

pub mod ast;
pub mod check;
pub mod config;
pub mod diagnostic;
pub mod expr;
pub mod optim;
pub mod parse;
pub mod schedule;

pub use config::Config;
pub use diagnostic::{Diagnostic, Diagnostics};

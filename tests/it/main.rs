//! The integration tests, as one binary (one link instead of one per file: this matters on
//! two cores). Each module is one area; `common` is what several of them share.
//! `tests/threads_no_alloc.rs` stays a binary of its own: its allocator counts every thread.

mod common;
// Installs itself as the global allocator; it counts only on a thread that asks it to.
#[path = "common/counting_alloc.rs"]
mod counting_alloc;

mod api;
#[cfg(feature = "burn")]
mod burn;
#[cfg(feature = "candle")]
mod candle;
mod check;
mod checkpoint;
mod checkpoint_cli;
mod completions;
mod conformance_lr;
mod conformance_params;
mod editor_grammar;
mod examples;
mod export;
mod format;
mod format_comments;
mod group_matching;
mod hostile;
mod invalid;
mod language_doc;
mod non_finite;
mod output;
mod parse_equivalence;
mod plateau_resume;
mod plot;
mod proptest_pipeline;
mod pytorch_export;
mod recipes;
mod robustness;
mod run_units;
mod train_linear;
mod train_no_alloc;
mod warnings;

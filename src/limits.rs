//! Limits on hostile input, and the stack guard that makes them safe on any thread.
//!
//! Every input optimc reads (a `.optim` source, JSON or TOML from [`Config::from_json`] and
//! [`Config::from_toml`], a lambda's text) either gives a diagnostic or completes in bounded time
//! and memory: no input panics, overflows the stack or hangs. The limits:
//!
//! | what | limit | refused with |
//! | --- | --- | --- |
//! | source size | [`MAX_SOURCE_LEN`] bytes (16 MiB) | `optimc::too_large` |
//! | NUL bytes, invalid UTF-8 | none allowed | `optimc::encoding` |
//! | brackets and `if`s nested | [`MAX_NESTING`] levels | `optimc::too_large` |
//! | expression tree depth (`1 + 1 + ...`, `- - x`) | [`MAX_TREE_DEPTH`] levels | `optimc::too_large` |
//! | a lambda's evaluation stack | [`MAX_STACK`] slots | `optimc::too_large` |
//! | a lambda's size once `let` lambdas are inlined | [`MAX_LAMBDA_OPS`] operations | `optimc::too_large` |
//! | all the operations inlining produces in one file | [`MAX_INLINED_OPS`] | `optimc::too_large` |
//! | numbers | finite `f64` (below about 1.8e308); counts fit `u64` | `optimc::syntax`, range errors |
//! | diagnostics reported for one file | [`MAX_DIAGNOSTICS`], then one saying how many more | |
//! | JSON nesting ([`Config::from_json`]) | serde_json's 128 levels | `optimc::type_mismatch` |
//! | TOML nesting ([`Config::from_toml`]) | the toml crate's limit | `optimc::type_mismatch` |
//!
//! The command line reads at most 256 MiB from any file or stdin, and `optimc trace` refuses
//! (exit 2) more than 10^7 epochs, 10^7 values (epochs × columns) or 10^9 schedule operations
//! (steps plus lambda operations).
//!
//! # Stack use
//!
//! The parser (pest's recursive descent) and the passes after it (checker, formatter, exporters,
//! lambda compiler) recurse over the input, so their stack use grows with its nesting. Measured
//! per bracket level at the parser: about 145 KiB in an unoptimized (debug) build and 25 KiB in a
//! release build; the deepest accepted input needs about 19 MiB (debug) or 3.3 MiB (release) to
//! parse, and under 3 MiB (debug) or 0.5 MiB (release) for any later pass. Rather than asking
//! every caller for a big stack, each public entry point that recurses ([`parse::parse`],
//! [`check::check`], [`format::format_file`], [`export`], [`Lambda::from_text`]) first checks how
//! much stack its thread has left and, when that is less than the input can need, runs on a
//! fresh stack allocated on the heap (with the [`stacker`] crate, as rustc does). So these
//! functions are safe on a thread of any size, including the 2 MiB threads `std::thread::spawn`
//! and the test harness make; a shallow input never pays for the allocation.
//!
//! [`Config::from_json`]: crate::Config::from_json
//! [`Config::from_toml`]: crate::Config::from_toml
//! [`parse::parse`]: crate::parse::parse
//! [`check::check`]: crate::check::check
//! [`format::format_file`]: crate::format::format_file
//! [`export`]: crate::export
//! [`Lambda::from_text`]: crate::expr::Lambda::from_text

use crate::ast::Span;
use crate::diagnostic::{Code, Diagnostic};

pub use crate::expr::{MAX_INLINED_OPS, MAX_LAMBDA_OPS, MAX_STACK};
pub use crate::parse::{MAX_NESTING, MAX_SOURCE_LEN, MAX_TREE_DEPTH};

/// The most diagnostics [`check_source`](crate::check_source) reports for one file; past it, a
/// last diagnostic says how many more there were. Thousands of errors come only from generated
/// or binary input, and rendering each one costs time proportional to the file's size.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Keeps the first [`MAX_DIAGNOSTICS`] of `items` and, if there were more, adds one saying how
/// many (an error if any of those left out was one).
pub(crate) fn cap_diagnostics(items: &mut Vec<Diagnostic>) {
    if items.len() <= MAX_DIAGNOSTICS {
        return;
    }
    let rest = items.split_off(MAX_DIAGNOSTICS);
    let at = rest[0].span;
    let errors = rest.iter().filter(|d| d.is_error()).count();
    let message = format!(
        "{} more diagnostics ({errors} of them errors) are not shown; optimc reports the first {MAX_DIAGNOSTICS}",
        rest.len()
    );
    let note = if errors > 0 {
        Diagnostic::error(Code::TooLarge, Span::new(at.start, at.start), message)
    } else {
        Diagnostic::warning(Code::TooLarge, Span::new(at.start, at.start), message)
    };
    items.push(note.with_help("fix the problems above and check again"));
}

/// Stack the parser needs per level of bracket nesting, with a margin over what was measured.
const PARSE_STACK_PER_LEVEL: usize = if cfg!(debug_assertions) {
    192 << 10
} else {
    40 << 10
};

/// Stack the parser needs whatever the nesting.
const PARSE_STACK_BASE: usize = if cfg!(debug_assertions) {
    512 << 10
} else {
    256 << 10
};

/// Stack any pass after parsing (check, format, export, lambda compile) may need on input within
/// the limits: the deepest measured (the checker on 124 nested `chain(...)` calls) is 2.8 MiB
/// in a debug build and 0.5 MiB in a release build.
pub(crate) const PASS_STACK: usize = if cfg!(debug_assertions) {
    6 << 20
} else {
    1 << 20
};

/// Stack the parser needs for input nested `depth` brackets deep.
pub(crate) fn parse_stack(depth: usize) -> usize {
    PARSE_STACK_BASE.saturating_add(depth.saturating_mul(PARSE_STACK_PER_LEVEL))
}

/// Runs `f` with at least `need` bytes of stack: on this thread when it has that much left,
/// else on a fresh stack of twice that size.
pub(crate) fn with_stack<R>(need: usize, f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(need, need.saturating_mul(2), f)
}

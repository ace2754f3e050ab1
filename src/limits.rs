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
//! | a lambda's local values (`let ... in`) | [`MAX_LOCALS`] | `optimc::too_large` |
//! | a lambda's size once `let` lambdas are inlined | [`MAX_LAMBDA_OPS`] operations | `optimc::too_large` |
//! | all the operations inlining produces in one file | [`MAX_INLINED_OPS`] | `optimc::too_large` |
//! | numbers | finite `f64` (below about 1.8e308); counts fit `u64` | `optimc::syntax`, range errors |
//! | diagnostics reported for one file | [`MAX_DIAGNOSTICS`], then one saying how many more | |
//! | JSON nesting ([`Config::from_json`]) | serde_json's 128 levels | `optimc::type_mismatch` |
//! | TOML nesting ([`Config::from_toml`]) | the toml crate's limit | `optimc::type_mismatch` |
//!
//! The command line reads at most [`MAX_READ`] bytes (256 MiB) from any file or stdin, and
//! `optimc trace` refuses (exit 2) more than [`MAX_EPOCHS`] epochs, [`MAX_VALUES`] values
//! (epochs × columns) or [`MAX_WORK`] schedule operations (steps plus lambda operations).
//!
//! Every limit is defined here, and only here; the modules that enforce them import them.
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

// ----- the source -----

/// The largest source accepted, in bytes. Parsing takes about 60 to 150 bytes of memory per
/// byte of source (pest's token queue), so this bounds memory to a few gigabytes.
pub const MAX_SOURCE_LEN: usize = 16 * 1024 * 1024;

/// How deeply brackets (and `if ... else`) may nest.
pub const MAX_NESTING: usize = 128;

/// How deep an expression tree may be (a long chain like `1 + 1 + ...` is deep too). The
/// checker walks the same trees, and refuses deeper ones that did not come from the parser.
pub const MAX_TREE_DEPTH: usize = 200;

/// The largest count (of epochs or steps) an argument may give: counts go through `f64`, and
/// past 2^53 they are no longer exact.
pub const MAX_COUNT: f64 = 9.007_199_254_740_992e15;

// ----- lambdas -----

/// The deepest operand stack a lambda may need; deeper bodies are refused when checked.
pub const MAX_STACK: usize = 64;

/// The most local values (`let ... in`) one compiled lambda may keep, once `let` lambdas are
/// inlined; evaluation keeps them in an array of this size on the stack.
pub const MAX_LOCALS: usize = 16;

/// The most operations one compiled lambda may have (after `let` lambdas are inlined), which
/// bounds the cost of one evaluation; bigger lambdas are refused when checked.
pub const MAX_LAMBDA_OPS: usize = 10_000;

/// The most operations that inlining `let` lambdas may produce in all the lambdas of one file
/// together ([`InlineBudget`](crate::expr::InlineBudget)): a chain of `let`s each calling the
/// previous one twice would otherwise double in size at every step.
pub const MAX_INLINED_OPS: usize = 1 << 20;

// ----- work done on a file -----

/// How many pattern-character pairs the `shadowed_group` lint may compare in one file.
pub const SHADOW_BUDGET: usize = 10_000_000;

/// The longest horizon the analysis runs; longer requests are clamped to it (`optimc check`
/// refuses them).
pub const MAX_HORIZON: u64 = 1_000_000;

/// The work the analysis may do, in schedule-node steps and lambda operations: on a very large
/// file the horizon shrinks so that `horizon × work per epoch` stays under it.
pub const WORK_BUDGET: u64 = 20_000_000;

/// The most epochs a trace records (or a replay runs, `optimc replay`'s or a `BurnSchedule`
/// record's); more is almost certainly a typo or a corrupt record, and would only fill the
/// memory (and, printed, the disk) or take hours.
pub const MAX_EPOCHS: u64 = 10_000_000;

/// The most values a trace holds (epochs × columns): a few hundred megabytes of text.
pub const MAX_VALUES: u64 = 10_000_000;

/// The most work a trace does, in schedule steps and lambda operations: a few seconds.
pub const MAX_WORK: u64 = 1_000_000_000;

// ----- output and the machine -----

/// The most bytes the command line reads from one file (or stdin): past it, a device such as
/// /dev/zero or a huge file is refused rather than read into memory.
pub const MAX_READ: u64 = 256 << 20;

/// The largest JSON header a state file may have (the safetensors header: every tensor's
/// name, type, shape and place, and optimc's own header, read before any tensor). A state file
/// declaring more is refused before anything is allocated for it; a real one needs about 300
/// bytes per parameter.
pub const MAX_STATE_HEADER: u64 = 64 << 20;

/// A diagnostic on a line longer than this (in bytes) is shown without its source line.
pub const MAX_SNIPPET_COLUMN: usize = 1_000;

/// The smallest plot, in pixels, on either side.
pub const MIN_SIDE: u32 = 200;

/// The largest plot, in pixels, on either side.
pub const MAX_SIDE: u32 = 8000;

/// At most this many milestones are drawn; past that (a `step(step_size = 1)` over a long run)
/// the lines would hide the curves, so none is drawn and the axis title says so.
pub const MAX_MILESTONES: usize = 64;

/// The largest whole-number optimizer option (Muon's `ns_steps`: every step runs that many
/// Newton-Schulz iterations, each a few matrix products; PyTorch's default is 5).
pub const MAX_OPTION_COUNT: u64 = 1_000;

/// The most threads an optimizer uses; more are clamped to this.
pub const MAX_THREADS: usize = 64;

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

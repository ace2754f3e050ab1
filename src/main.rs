//! The `optimc` command line: `check`, `trace` and `replay` (see `optimc --help`).

mod cli;

/// `optimc check` on a large file builds a syntax tree of hundreds of thousands of small nodes
/// in a fresh process: with glibc's allocator a third of its time went to malloc, free and the
/// kernel's page faults. mimalloc hands out small blocks faster and backs its arenas with
/// transparent huge pages, so the same check runs in about two thirds of the time (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(cli::run(args))
}

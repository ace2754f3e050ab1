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
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        // `--help` and `--version` arrive as errors that print on stdout: in colour on a
        // terminal, else as plain text whose write errors count (see `cli::output`).
        Err(e) if !e.use_stderr() && !std::io::stdout().is_terminal() => {
            return ExitCode::from(cli::print_help(&e.to_string()))
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    ExitCode::from(cli::run(args))
}

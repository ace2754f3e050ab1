//! One module per subcommand; this one parses the arguments and holds what they share.

mod check;
mod checkpoint;
mod completions;
mod export;
mod fmt;
mod output;
mod plot;
mod replay;
mod trace;

use clap::{Parser, Subcommand, ValueEnum};
use optimc::limits::MAX_READ;
use optimc::Diagnostics;
use std::io::IsTerminal;
use std::path::Path;

/// Exit code: the files are valid (warnings allowed).
pub const OK: u8 = 0;
/// Exit code: errors were found in the input.
pub const INVALID: u8 = 1;
/// Exit code: optimc could not run (missing file, bad flags).
pub const CANNOT_RUN: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "optimc",
    version,
    about = "Check, trace and run .optim training-optimizer configurations"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and check files; diagnostics go to stderr.
    Check(check::Args),
    /// Print the lr (and momentum, where cycled) of every group at every epoch.
    Trace(trace::Args),
    /// Run the optimizer over recorded gradients and print lr, momentum and parameters as JSON.
    Replay(replay::Args),
    /// Rewrite files in the canonical layout (or, with --check, list those that would change).
    Fmt(fmt::Args),
    /// Print the resolved configuration as JSON or TOML, or as a PyTorch snippet.
    Export(export::Args),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    Completions(completions::Args),
    /// Draw every group's lr (and cycled momentum) over the epochs as an SVG or PNG file.
    Plot(plot::Args),
    /// Look into state files: `checkpoint diff STATE FILE` says what changed since STATE was
    /// saved.
    Checkpoint(checkpoint::Args),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Prints clap's help or version text (the "errors" that are not errors) on stdout.
pub fn print_help(text: &str) -> u8 {
    output::print(text, OK)
}

pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Trace(args) => trace::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Export(args) => export::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Checkpoint(args) => checkpoint::run(args),
    }
}

/// Prints a message about something that stopped optimc from running, and returns its exit code.
pub fn cannot_run(message: impl std::fmt::Display) -> u8 {
    output::eprint(&format!("optimc: {message}\n"));
    CANNOT_RUN
}

/// Reads a file's bytes (at most [`MAX_READ`]), or says why it cannot.
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // A buffer of the file's size from the start: grown by doubling, a big file's bytes were
    // copied and the memory held about twice the file (`replay` on a 64 MB trace).
    let size = file.metadata().map_or(0, |m| m.len()).min(MAX_READ + 1);
    read_bounded_sized(file, size as usize)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads all of `reader`, refusing more than [`MAX_READ`] bytes.
pub fn read_bounded(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    read_bounded_sized(reader, 0)
}

/// As [`read_bounded`], into a buffer of `size` bytes to start with.
fn read_bounded_sized(reader: impl std::io::Read, size: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::with_capacity(size);
    reader.take(MAX_READ + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_READ {
        return Err(std::io::Error::other(format!(
            "it is larger than {} MiB",
            MAX_READ >> 20
        )));
    }
    Ok(bytes)
}

/// Reads and checks one file, printing its diagnostics: `Err` holds the exit code when it
/// cannot be used.
pub fn check_file(path: &Path) -> Result<(Option<optimc::Config>, Diagnostics), u8> {
    let bytes = read_file(path).map_err(cannot_run)?;
    let (config, diagnostics) = optimc::check_bytes(&path.display().to_string(), &bytes);
    report(&diagnostics);
    Ok((config, diagnostics))
}

/// Whether diagnostics on stderr get colour: a terminal, and NO_COLOR unset.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints diagnostics to stderr.
pub fn report(diagnostics: &Diagnostics) {
    if diagnostics.items.is_empty() {
        return;
    }
    output::eprint(&diagnostics.render(stderr_color(), 100));
}

/// Loads, parses and checks one file: the config, or the exit code after reporting why not.
pub fn load(path: &Path) -> Result<optimc::Config, u8> {
    check_file(path)?.0.ok_or(INVALID)
}

//! `optimc checkpoint diff STATE FILE`: what changed between the configuration a state file
//! was saved with and a `.optim` file, in words ([`optimc::checkpoint::Checkpoint::diff`]).

use super::{check_file, output, CANNOT_RUN, INVALID, OK};
use optimc::checkpoint::Checkpoint;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Say what differs between the configuration STATE was saved with and FILE, one line per
    /// change (exit 0: the same, 1: different, 2: a file could not be read or is invalid).
    Diff(DiffArgs),
}

#[derive(clap::Args, Debug)]
struct DiffArgs {
    /// A state file written by `Trainer::save` (or the candle or burn trainer).
    state: PathBuf,
    /// The .optim file to resume with.
    file: PathBuf,
}

pub fn run(args: Args) -> u8 {
    match args.command {
        Command::Diff(args) => diff(&args),
    }
}

/// Exit code 0 for the same configuration, 1 for a different one (as `diff` and `cmp`), 2 when
/// either file cannot be used: so 1 always means "it changed".
fn diff(args: &DiffArgs) -> u8 {
    let config = match check_file(&args.file) {
        Ok((Some(config), _)) => config,
        Ok((None, _)) => return CANNOT_RUN,
        Err(code) => return code.max(CANNOT_RUN),
    };
    // The header holds the configuration: the tensors (megabytes to gigabytes) are not read.
    let checkpoint = match Checkpoint::read_header(&args.state) {
        Ok(c) => c,
        // The rendered diagnostic: code, message and help.
        Err(e) => {
            output::eprint(&format!("{e:?}"));
            return CANNOT_RUN;
        }
    };
    let changes = checkpoint.diff(&config);
    let code = if changes.is_empty() { OK } else { INVALID };
    output::print(changes.to_string(), code)
}

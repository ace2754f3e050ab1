//! `optimc export FILE --to json|toml|pytorch`

use super::{load, output, OK};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim file to export.
    file: PathBuf,
    /// What to write on stdout.
    #[arg(long, value_enum)]
    to: Target,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    /// The resolved configuration as JSON.
    Json,
    /// The resolved configuration as TOML.
    Toml,
    /// A Python snippet building the same torch.optim optimizer and scheduler.
    Pytorch,
}

pub fn run(args: Args) -> u8 {
    let config = match load(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = match args.to {
        Target::Json => optimc::export::to_json(&config),
        Target::Toml => optimc::export::to_toml(&config),
        Target::Pytorch => optimc::export::pytorch::to_pytorch(&config),
    };
    output::print(text, OK)
}

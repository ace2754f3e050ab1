//! `optimc check FILE...`

use super::{check_file, INVALID, OK};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> u8 {
    let mut code = OK;
    for path in &args.files {
        code = code.max(match check_file(path) {
            Ok((Some(_), _)) => OK,
            Ok((None, _)) => INVALID,
            Err(code) => code,
        });
    }
    code
}

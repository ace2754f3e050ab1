//! `optimc replay FILE --trace T.json`: runs the configured optimizer and schedule over recorded
//! gradients (the `metrics`, `init` and `grads` fields of a conformance file) and
//! prints the lr, momentum and parameters after every epoch's optimizer step (and, with
//! `average = ...`, the averaged parameters and `n_averaged`), as JSON.

use super::{cannot_run, load, output, read_file, INVALID, OK};
use optimc::Trainer;
use recording::{Recording, RunError};
use std::path::PathBuf;

mod recording;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim file.
    file: PathBuf,
    /// The recorded run: a JSON object with `init` ({name: [values]}), `grads` (one {name:
    /// [values]} per epoch: replay runs that many epochs), `metrics` (null or one number per
    /// epoch) and optionally `epochs` (if given, the length of `grads`) and `shapes` ({name:
    /// [dims]}; a conformance file's `groups[].shape` serves too).
    #[arg(long)]
    trace: PathBuf,
}

/// Why the replay cannot assign its parameters to groups, if a group selects by shape
/// (`where = ndim ...`) and the trace leaves some parameter's shape out: taking it as `[len]`
/// would put a matrix in a vector's group without a word.
fn shapes_missing(config: &optimc::Config, rec: &Recording, args: &Args) -> Option<String> {
    let group = config.groups.iter().find(|g| !g.ndim.is_any())?;
    let missing: Vec<&str> = rec
        .names
        .iter()
        .zip(&rec.shaped)
        .filter(|(_, &shaped)| !shaped)
        .map(|(name, _)| name.as_str())
        .collect();
    let first = *missing.first()?;
    const SHOWN: usize = 5;
    let mut list = missing
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if missing.len() > SHOWN {
        list += &format!(" and {} more", missing.len() - SHOWN);
    }
    let len = rec
        .names
        .iter()
        .position(|n| n == first)
        .map_or(0, |i| rec.init[i].len());
    Some(format!(
        "group `{}` of {} selects parameters by shape (`where = {}`), but {} gives no shape for {} \
         ({} of {} parameters), and their values alone do not say how many dimensions they have. \
         Give the trace a `shapes` object with every parameter's dimensions, e.g. \
         `\"shapes\": {{\"{first}\": [{len}]}}` for a vector of {len} values or \
         `[rows, columns]` for a matrix (a conformance file's `groups[].shape` serves too)",
        group.name,
        args.file.display(),
        group.ndim.to_source(),
        args.trace.display(),
        list,
        missing.len(),
        rec.names.len(),
    ))
}

pub fn run(args: Args) -> u8 {
    let config = match load(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = match read_file(&args.trace) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                return cannot_run(format!("{}: not UTF-8 text", args.trace.display()));
            }
        },
        Err(message) => return cannot_run(message),
    };
    let mut rec = match Recording::from_json(&text) {
        Ok(r) => r,
        Err(message) => return cannot_run(format!("{}: {message}", args.trace.display())),
    };
    // The text is not needed any more: the recording holds every number it had.
    drop(text);
    if let Some(message) = shapes_missing(&config, &rec, &args) {
        return cannot_run(message);
    }
    let registered: Vec<(&str, &[usize])> = rec
        .names
        .iter()
        .map(String::as_str)
        .zip(rec.shapes.iter().map(Vec::as_slice))
        .collect();
    let mut trainer = match Trainer::with_shapes(&config, &registered) {
        Ok(t) => t,
        Err(e) => {
            output::eprint(&format!("{:?}\n", miette::Report::new(e)));
            return INVALID;
        }
    };
    if trainer.schedule().needs_metric() && rec.metrics.is_none() {
        return cannot_run(format!(
            "{} uses `plateau`, which needs a metric each epoch: give the trace a `metrics` array",
            args.file.display()
        ));
    }
    let mut out = output::Stdout::lock();
    match rec.replay(&mut trainer, &mut out) {
        Ok(()) => OK,
        Err(RunError::Write(e)) => output::finish(Err(e), OK),
        Err(RunError::Step(err)) => {
            output::eprint(&format!("{:?}\n", miette::Report::new(err)));
            super::CANNOT_RUN
        }
    }
}

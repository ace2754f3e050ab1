//! `optimc plot FILE [--epochs N] [--metrics M] -o OUT.svg|OUT.png [--size WxH]`: draw the trace
//! (see `optimc::plot`).

use super::trace::{cannot_trace, horizon, load_with_metrics};
use super::{cannot_run, OK};
use optimc::plot::{render_png, render_svg, PlotError, PlotOptions};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim file.
    file: PathBuf,
    /// How many epochs (scheduler steps) to draw. Default: the run the file declares
    /// (`run = per_step(steps = N)` or `run = per_epoch(epochs = N)`).
    #[arg(long, visible_alias = "steps")]
    epochs: Option<u64>,
    /// The metric of each epoch, for `plateau`: a JSON array of numbers, or one number per line.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Where to write the plot; its extension, `.svg` or `.png`, chooses the format.
    #[arg(short, long)]
    output: PathBuf,
    /// The size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1000x600", value_parser = parse_size)]
    size: (u32, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Svg,
    Png,
}

pub fn run(args: Args) -> u8 {
    let Some(kind) = kind_of(&args.output) else {
        return cannot_run(format!(
            "cannot tell which format to write to {}: name it .svg or .png",
            args.output.display()
        ));
    };
    let (config, metrics) = match load_with_metrics(&args.file, args.metrics.as_deref()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let title = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.file.display().to_string());
    let epochs = match horizon(&args.file, &config, args.epochs) {
        Ok(epochs) => epochs,
        Err(code) => return code,
    };
    let mut options = PlotOptions::new(epochs)
        .title(&title)
        .size(args.size.0, args.size.1);
    options.metrics = metrics.as_deref();
    let bytes = match kind {
        Kind::Svg => render_svg(&config, &options).map(String::into_bytes),
        Kind::Png => render_png(&config, &options),
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(PlotError::Trace(e)) => return cannot_trace(&args.file, &e),
        Err(e) => return cannot_run(e),
    };
    match optimc::atomic::write(&args.output, &bytes) {
        Ok(()) => OK,
        Err(e) => cannot_run(format!("cannot write {}: {e}", args.output.display())),
    }
}

fn kind_of(path: &Path) -> Option<Kind> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "svg" => Some(Kind::Svg),
        "png" => Some(Kind::Png),
        _ => None,
    }
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{text}` is not WIDTHxHEIGHT (e.g. 1000x600)"))?;
    let side = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{text}` is not WIDTHxHEIGHT (e.g. 1000x600)"))
    };
    Ok((side(w)?, side(h)?))
}

//! optimc: a declarative language for training-optimizer configuration.
//!
//! The pipeline is the module list: [`parse`] (pest grammar → [`ast`]), [`check`] (names, types,
//! ranges → [`Config`]), [`analysis`] (the schedules run over a horizon of epochs: warnings about
//! NaN, negative or stuck lrs before any training), then the runtime objects built from a
//! `Config`: [`Schedule`] and [`optim`]. Beside the pipeline, [`format`](mod@format) writes a parsed file in its canonical layout
//! (`optimc fmt`) and [`export`] writes a `Config` as JSON, TOML or a PyTorch snippet and reads
//! JSON and TOML back (`optimc export`).
//!
//! Every fallible call returns one [`Error`] type (see [`error`]): `?` carries it into
//! `Box<dyn std::error::Error>`, `anyhow` or `miette::Result`, and it prints as the rendered
//! diagnostic.
//!
//! ```
//! use optimc::{Config, Schedule};
//!
//! let source = r#"
//!     optimizer = sgd(lr = 0.1, momentum = 0.9)
//!     group backbone { params = "backbone.*", lr = 0.01 }
//!     group head     { params = "head.*" }
//!     schedule = step(step_size = 30, gamma = 0.1)
//! "#;
//! let config = Config::from_source("finetune.optim", source)?;
//! let mut schedule = Schedule::new(&config);
//! for _epoch in 0..30 {
//!     // train one epoch with schedule.lrs()[group] as each group's lr ...
//!     schedule.step()?; // a `plateau` needs `step_with(metric)`: `step()` is an error then
//! }
//! assert_eq!(schedule.lrs(), &[0.01 * 0.1, 0.1 * 0.1]);
//! # Ok::<(), optimc::Error>(())
//! ```
//!
//! Training from the library: a [`Trainer`] steps the optimizer with the lrs its schedule sets
//! (here `y = w·x` fitted to `y = 3x`, weights and bias in two groups), a whole program with
//! `?` on every fallible call:
//!
//! ```
//! use optimc::{optim::ParamMut, Config, Trainer};
//! use std::error::Error;
//!
//! fn main() -> Result<(), Box<dyn Error>> {
//!     let source = r#"
//!         optimizer = adam(lr = 0.1)
//!         group weights { params = "*.weight" }
//!         group biases  { params = "*.bias", lr = 0.05 }
//!         schedule = step(step_size = 50, gamma = 0.5)
//!     "#;
//!     let config = Config::from_source("linear.optim", source)?;
//!     let mut trainer = Trainer::new(&config, &[("fc.weight", 1), ("fc.bias", 1)])?;
//!     let (mut w, mut b, xs) = ([0.0f32], [0.0f32], [-1.0f32, -0.5, 0.5, 1.0]);
//!     for _epoch in 0..200 {
//!         let err = |x: f32| w[0] * x + b[0] - 3.0 * x;
//!         let gw = [xs.iter().map(|&x| err(x) * x).sum::<f32>() / 4.0];
//!         let gb = [xs.iter().map(|&x| err(x)).sum::<f32>() / 4.0];
//!         trainer.step(&mut [
//!             ParamMut::named("fc.weight", &mut w, &gw),
//!             ParamMut::named("fc.bias", &mut b, &gb),
//!         ])?;
//!         trainer.end_batch()?; // one batch per epoch here
//!         trainer.end_epoch()?;
//!     }
//!     assert!((w[0] - 3.0).abs() < 1e-2 && b[0].abs() < 1e-2);
//!
//!     // Resumable: the optimizer's and schedule's state (and here the parameters) in one file.
//!     let path = std::env::temp_dir().join(format!("optimc-doc-{}.safetensors", std::process::id()));
//!     trainer.save_with_params(&path, &[&w[..], &b[..]])?;
//!     let mut resumed = Trainer::new(&config, &[("fc.weight", 1), ("fc.bias", 1)])?;
//!     let (mut w2, mut b2) = ([0.0f32], [0.0f32]);
//!     resumed.load_with_params(&path, &mut [&mut w2[..], &mut b2[..]])?;
//!     std::fs::remove_file(&path)?;
//!     assert_eq!((w2, b2, resumed.epoch()), (w, b, 200));
//!     Ok(())
//! }
//! ```
//!
//! # What embedders use
//!
//! * Reading a file: [`Config::from_source`], [`Config::from_path`], or [`check_source`] /
//!   [`check_bytes`] (and their `_with` forms) for the warnings too; [`Diagnostics`] renders
//!   them. Lower down, [`parse::parse`] and [`check::check`] are the two passes on their own.
//! * The result: [`Config`] and the types of [`config`]; [`export`] writes and reads it as JSON,
//!   TOML or a PyTorch snippet; [`format`](mod@format) lays out a source.
//! * Running it: [`Schedule`] (per-epoch lrs, with [`ScheduleState`](schedule::ScheduleState)
//!   to save and restore), the optimizers of [`optim`], and [`Trainer`] (both, with
//!   [`checkpoint`]s); [`trace`] and [`plot`] tabulate and draw a run without training.
//! * Facts about the language: [`schedule::ScheduleKind`] and [`schedule::KINDS`] (every
//!   schedule kind with its parameters), [`config::OptimizerKind`], [`diagnostic::Code`], and
//!   the limits on hostile input in [`limits`].
//!
//! # Cargo features
//!
//! * `cli` and `plot` (default): the `optimc` command and [`plot`] (SVG/PNG plots). With
//!   `default-features = false` the library is the language, schedules, optimizers, [`Trainer`]
//!   and exports alone, without clap, plotters or png.
//! * `candle` (off): `optimc::candle`, training candle `Var`s (candle-core, candle-nn).
//! * `burn` (off): `optimc::burn`, training burn modules and burn `LrScheduler`s from a
//!   `.optim` file (burn, with its pure-Rust CPU backend `flex`).
//! * `mimalloc` (default): the allocator of the `optimc` command; the library never sets one.
//!
//! Items hidden from these docs (`atomic`, `drop_in_background`, `parse::paths`,
//! `diagnostic::text`) serve the `optimc` command and the tests, and may change at any time.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod analysis;
pub mod ast;
#[doc(hidden)]
pub mod atomic;
mod average;
pub mod check;
pub mod checkpoint;
pub mod config;
pub mod diagnostic;
pub mod error;
pub mod export;
pub mod expr;
pub mod format;
pub mod limits;
pub mod number;
pub mod optim;
pub mod parse;
#[cfg(feature = "plot")]
#[cfg_attr(docsrs, doc(cfg(feature = "plot")))]
pub mod plot;
pub mod schedule;
pub mod trace;
pub mod train;

#[cfg(feature = "candle")]
#[cfg_attr(docsrs, doc(cfg(feature = "candle")))]
pub mod candle;

#[cfg(feature = "burn")]
#[cfg_attr(docsrs, doc(cfg(feature = "burn")))]
pub mod burn;
#[cfg(any(feature = "candle", feature = "burn"))]
mod host;

pub use config::{Config, Stepping};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use error::Error;
pub use schedule::Schedule;
pub use train::Trainer;

/// Parses and checks `source`, returning the configuration (if it has no errors) together with
/// every diagnostic, warnings included, sorted by position (at most
/// [`limits::MAX_DIAGNOSTICS`], then one saying how many more there were). A file without errors
/// also goes through the [`analysis`] over its default horizon.
pub fn check_source(file_name: &str, source: &str) -> (Option<Config>, Diagnostics) {
    check_source_with(file_name, source, &analysis::Options::default())
}

/// Like [`check_source`], with the [`analysis`] run as `options` say (e.g. over another horizon).
///
/// ```
/// use optimc::{analysis, check_source_with, diagnostic::Code};
///
/// let source = "optimizer = sgd(lr = 0.1)\nschedule = lambda(epoch -> sin(epoch) / epoch)";
/// let options = analysis::Options { horizon: Some(10) };
/// let (config, diagnostics) = check_source_with("seed.optim", source, &options);
/// assert!(config.is_some()); // warnings do not refuse a file
/// let warning = diagnostics.warnings().next().unwrap();
/// assert_eq!(warning.code, Code::NonFiniteLr);
/// assert_eq!(warning.message, "the lr becomes NaN at epoch 0");
/// assert_eq!(&source[warning.span.start..warning.span.end], "sin(epoch) / epoch");
/// ```
pub fn check_source_with(
    file_name: &str,
    source: &str,
    options: &analysis::Options,
) -> (Option<Config>, Diagnostics) {
    check_and_analyze(file_name, source, Some(options))
}

/// Parses and checks `source`; runs the analysis too unless `analysis` is `None`.
fn check_and_analyze(
    file_name: &str,
    source: &str,
    analysis: Option<&analysis::Options>,
) -> (Option<Config>, Diagnostics) {
    let (config, mut items) = match parse::parse(source) {
        Ok(file) => {
            let checked = check::check(&file);
            let mut items = checked.diagnostics;
            if let (Some(config), Some(options)) = (&checked.config, analysis) {
                items.extend(analysis::analyze(&checked.sources, source, config, options));
                items.sort_by_key(|d| (d.span.start, d.span.end));
            }
            drop_in_background(file, source.len());
            (checked.config, items)
        }
        Err(items) => (None, items),
    };
    limits::cap_diagnostics(&mut items);
    let diagnostics = Diagnostics {
        file_name: file_name.to_string(),
        source: source.to_string(),
        items,
    };
    (config, diagnostics)
}

/// Source files at least this large have their syntax tree freed on another thread.
const BACKGROUND_DROP_BYTES: usize = 64 * 1024;

/// Frees `value` (built from `source_len` bytes of source) on another thread when it is big:
/// freeing a large file's hundreds of thousands of tree nodes takes as long as checking them,
/// and nobody waits for it. Small values, or a failure to start the thread, drop here. For the
/// `optimc` command; not part of the API.
#[doc(hidden)]
pub fn drop_in_background<T: Send + 'static>(value: T, source_len: usize) {
    if source_len < BACKGROUND_DROP_BYTES {
        return;
    }
    // On failure the closure, and with it `value`, is dropped here.
    let _ = std::thread::Builder::new()
        .name("optimc-drop".into())
        .spawn(move || drop(value));
}

/// Like [`check_source`], for raw file contents: text that is not valid UTF-8 is reported as a
/// diagnostic pointing at the first invalid byte.
pub fn check_bytes(file_name: &str, bytes: &[u8]) -> (Option<Config>, Diagnostics) {
    check_bytes_with(file_name, bytes, &analysis::Options::default())
}

/// Like [`check_bytes`], with the [`analysis`] run as `options` say.
pub fn check_bytes_with(
    file_name: &str,
    bytes: &[u8],
    options: &analysis::Options,
) -> (Option<Config>, Diagnostics) {
    match std::str::from_utf8(bytes) {
        Ok(source) => check_source_with(file_name, source, options),
        Err(e) => {
            let at = e.valid_up_to();
            let source = String::from_utf8_lossy(bytes).into_owned();
            let diagnostic = Diagnostic::error(
                diagnostic::Code::Encoding,
                ast::Span::new(at, at + 1),
                format!("this file is not valid UTF-8 (byte {at})"),
            )
            .with_label("invalid byte")
            .with_help("save the file as UTF-8 text");
            let diagnostics = Diagnostics {
                file_name: file_name.to_string(),
                source,
                items: vec![diagnostic],
            };
            (None, diagnostics)
        }
    }
}

impl Config {
    /// Parses and checks a `.optim` source. A refused file is an [`Error`] of kind
    /// [`Config`](error::ErrorKind::Config): its [`Diagnostics`] render with the file name, the
    /// source line and a help line. Warnings are dropped (see [`check_source`]), and the
    /// [`analysis`], which only warns, does not run.
    pub fn from_source(file_name: &str, source: &str) -> Result<Config, Error> {
        match check_and_analyze(file_name, source, None) {
            (Some(config), _) => Ok(config),
            (None, diagnostics) => Err(diagnostics.into()),
        }
    }

    /// Reads and checks a `.optim` file, as [`from_source`](Self::from_source) with the path as
    /// the file name. A file that is not UTF-8 is refused with a diagnostic pointing at the
    /// first invalid byte, as [`check_bytes`] does.
    ///
    /// # Errors
    /// [`ErrorKind::Read`](error::ErrorKind::Read) if the file cannot be read, else as
    /// [`from_source`](Self::from_source).
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| error::ErrorKind::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file_name = path.display().to_string();
        match std::str::from_utf8(&bytes) {
            Ok(source) => Config::from_source(&file_name, source),
            Err(_) => Err(check_bytes(&file_name, &bytes).1.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Tells a channel when it is dropped, and on which thread.
    struct Signal(mpsc::Sender<std::thread::ThreadId>);

    impl Drop for Signal {
        fn drop(&mut self) {
            let _ = self.0.send(std::thread::current().id());
        }
    }

    #[test]
    fn small_values_drop_here_and_big_ones_on_another_thread() {
        let here = std::thread::current().id();
        let (tx, rx) = mpsc::channel();
        drop_in_background(Signal(tx.clone()), 10);
        assert_eq!(rx.try_recv(), Ok(here), "dropped before returning");
        drop_in_background(Signal(tx), BACKGROUND_DROP_BYTES);
        let on = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("dropped eventually");
        assert_ne!(on, here);
    }
}

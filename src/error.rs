//! [`Error`]: the one error type of the library's fallible calls.
//!
//! [`Config::from_source`](crate::Config::from_source), [`Config::from_path`](crate::Config::from_path),
//! [`Config::from_json`](crate::Config::from_json) / [`from_toml`](crate::Config::from_toml), every
//! [`Trainer`](crate::Trainer) call and the candle trainer return [`Error`]. It is a
//! `std::error::Error + miette::Diagnostic + Send + Sync + 'static`, so `?` carries it into a
//! `Box<dyn std::error::Error>`, an `anyhow::Error` or a `miette::Result`; its `Display` and its
//! `Debug` (what `fn main() -> Result<(), Box<dyn Error>>` prints) are the rendered diagnostic: for
//! a refused file the source lines with carets and help, as `optimc check` shows them; otherwise
//! the code, the message and a help line.
//!
//! What went wrong is its [`kind`](Error::kind): the specific error types of the lower layers
//! ([`GroupError`], [`StepError`], [`CheckpointError`], ...), each of which also converts into an
//! `Error` with `?`.
//!
//! ```
//! use optimc::{error::ErrorKind, Config};
//!
//! fn load() -> Result<Config, Box<dyn std::error::Error>> {
//!     let config = Config::from_source("bad.optim", "optimizer = sgd(lr = -1)")?;
//!     Ok(config)
//! }
//! let err = load().unwrap_err();
//! assert!(err.to_string().contains("bad.optim:1:"), "{err}"); // the rendered diagnostic
//!
//! let err = Config::from_source("bad.optim", "optimizer = sgd(lr = -1)").unwrap_err();
//! let ErrorKind::Config(diagnostics) = err.kind() else { unreachable!() };
//! assert_eq!(diagnostics.items[0].code.name(), "out_of_range");
//! ```

use crate::checkpoint::CheckpointError;
use crate::diagnostic::Diagnostics;
use crate::optim::{GroupError, StateError, StepError};
use crate::schedule::StateMismatch;
use std::fmt;
use std::path::PathBuf;

/// Every error of the library's fallible calls. See the [module documentation](self).
///
/// Boxed, so a `Result<(), Error>` is one pointer wide.
pub struct Error(Box<ErrorKind>);

/// What went wrong: one variant per layer, holding that layer's own error.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A configuration (`.optim`, JSON or TOML) was refused: every diagnostic, with the source.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(Diagnostics),
    /// A configuration file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(
        code(optimc::read),
        help("check the path, and that the file is readable")
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Parameters could not be assigned to groups ([`Trainer::new`](crate::Trainer::new)).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Groups(GroupError),
    /// A step was given parameters that do not fit the registered ones.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Step(StepError),
    /// A state file could not be written, or was refused.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Checkpoint(CheckpointError),
    /// An optimizer state snapshot does not fit ([`Optimizer::restore`](crate::optim::Optimizer::restore)).
    #[error(transparent)]
    #[diagnostic(transparent)]
    OptimizerState(StateError),
    /// A schedule state snapshot does not fit ([`Schedule::restore`](crate::Schedule::restore)).
    #[error(transparent)]
    #[diagnostic(code(optimc::state_schedule))]
    ScheduleState(StateMismatch),
    /// [`Trainer::end_epoch`](crate::Trainer::end_epoch) (or another step without a metric:
    /// [`Schedule::step`](crate::Schedule::step), `end_batch`, `step_schedule`) on a schedule
    /// with a `plateau`, which needs the metric it watches; the schedule did not step.
    #[error("the schedule has a `plateau`, which needs the epoch's metric: a step without it would leave its lr frozen")]
    #[diagnostic(
        code(optimc::metric_needed),
        help("call `end_epoch_with(metric)` at the end of every epoch instead (`end_batch_with` for a per-step file, `Schedule::step_with` on a bare schedule), with the value the plateau watches (e.g. the validation loss); the schedule did not step")
    )]
    MetricNeeded,
    /// [`Trainer::end_epoch`](crate::Trainer::end_epoch) on a file that steps its schedule per
    /// step (`run = per_step(...)`) with no [`Trainer::end_batch`](crate::Trainer::end_batch)
    /// since the last epoch ended: the schedule did not step this epoch.
    #[error("the file steps its schedule after every optimizer step (`run = per_step(...)`), but no `end_batch()` came during this epoch, so the schedule has not stepped")]
    #[diagnostic(
        code(optimc::batches_not_ended),
        help("call `end_batch()` after every `step()`: with `run = per_step(...)` that is where the schedule steps (`end_epoch()` steps nothing then)")
    )]
    BatchesNotEnded,
    /// A group index out of range ([`Trainer::set_lr`](crate::Trainer::set_lr),
    /// [`Schedule::set_lr`](crate::Schedule::set_lr),
    /// [`Optimizer::set_lr`](crate::optim::Optimizer::set_lr),
    /// [`Optimizer::set_momentum`](crate::optim::Optimizer::set_momentum)); nothing changed.
    #[error("there is no group {group}: {}", describe_groups(.names))]
    #[diagnostic(
        code(optimc::no_group),
        help("groups are numbered from 0 in the order the file writes them (a file without groups has one, 0); `Optimizer::num_groups` says how many there are and `Optimizer::group_name` names each")
    )]
    NoGroup {
        /// The index asked for.
        group: usize,
        /// The name of every group, in order.
        names: Vec<String>,
    },
    /// The candle layer refused a `Var` or a gradient.
    #[cfg(feature = "candle")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Candle(crate::candle::CandleError),
    /// The burn layer refused a parameter, a module or a schedule.
    #[cfg(feature = "burn")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Burn(crate::burn::BurnError),
}

/// "the configuration has 2 groups: 0 `weights`, 1 `biases`".
fn describe_groups(names: &[String]) -> String {
    let list = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i} `{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match names.len() {
        1 => format!("the configuration has 1 group: {list}"),
        n => format!("the configuration has {n} groups: {list}"),
    }
}

impl Error {
    /// [`ErrorKind::NoGroup`] unless `group` indexes one of `names`.
    pub(crate) fn check_group(group: usize, names: &[String]) -> Result<(), Error> {
        if group < names.len() {
            Ok(())
        } else {
            Err(no_group(group, names))
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// What went wrong, by value.
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    /// The diagnostics of a refused configuration (the [`ErrorKind::Config`] kind), else `None`.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self.kind() {
            ErrorKind::Config(d) => Some(d),
            _ => None,
        }
    }

    /// The error rendered as `optimc check` renders a diagnostic, without colour.
    fn render(&self) -> String {
        if let ErrorKind::Config(d) = self.kind() {
            return d.to_string();
        }
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(100)
                .with_links(false);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, self.kind());
        out
    }
}

/// The error of an out-of-range group index, out of line: it allocates, and the setters'
/// fast path should stay a comparison.
#[cold]
#[inline(never)]
fn no_group(group: usize, names: &[String]) -> Error {
    ErrorKind::NoGroup {
        group,
        names: names.to_vec(),
    }
    .into()
}

impl<T: Into<ErrorKind>> From<T> for Error {
    fn from(kind: T) -> Self {
        Error(Box::new(kind.into()))
    }
}

macro_rules! kinds_from {
    ($($variant:ident($ty:ty),)*) => {
        $(impl From<$ty> for ErrorKind {
            fn from(e: $ty) -> Self {
                ErrorKind::$variant(e)
            }
        })*
    };
}

kinds_from! {
    Config(Diagnostics),
    Groups(GroupError),
    Step(StepError),
    Checkpoint(CheckpointError),
    OptimizerState(StateError),
    ScheduleState(StateMismatch),
}

#[cfg(feature = "candle")]
kinds_from! {
    Candle(crate::candle::CandleError),
}
#[cfg(feature = "burn")]
kinds_from! {
    Burn(crate::burn::BurnError),
}

/// The rendered diagnostic (for a refused file, every one of its diagnostics).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ErrorKind::Config(d) => fmt::Display::fmt(d, f),
            kind => fmt::Display::fmt(kind, f),
        }
    }
}

/// The rendered diagnostic, with code and help: what `main` prints for an `Err`.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.kind())
    }
}

impl miette::Diagnostic for Error {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.kind().code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.kind().severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.kind().help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.kind().url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.kind().source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.kind().labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        self.kind().related()
    }
    fn diagnostic_source(&self) -> Option<&dyn miette::Diagnostic> {
        self.kind().diagnostic_source()
    }
}

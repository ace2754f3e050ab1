//! Resumable training state: a [`Trainer`]'s optimizer and schedule state in one JSON file, with
//! what is needed to refuse a file that does not belong to it.
//!
//! A state file holds a format version, the optimc version that wrote it, a fingerprint of the
//! resolved [`Config`](crate::config::Config) (SHA-256 of its canonical JSON serialization),
//! the parameter names and sizes, and the [`OptimizerState`] and [`ScheduleState`].
//! [`Trainer::save`] writes atomically (temporary file in the same directory, fsync, rename): a
//! crash leaves either the old file or the new one, never half of one. [`Trainer::load`] refuses a truncated, corrupt, other-version
//! or mismatched file with a [`CheckpointError`] and then leaves the trainer untouched.

use crate::error::Error;
use crate::optim::OptimizerState;
use crate::schedule::ScheduleState;
use crate::train::Trainer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The state-file format this optimc writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What every state file starts with, to recognise one.
const FORMAT_NAME: &str = "optimc-training-state";

/// The contents of a state file. See the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always `"optimc-training-state"`.
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// The optimc version that wrote the file (informative).
    pub optimc: String,
    /// [`Config::fingerprint`](crate::config::Config::fingerprint) of the configuration the
    /// trainer was built from.
    pub config: String,
    /// Parameter names and sizes, in registration order.
    pub params: Vec<(String, usize)>,
    /// How many epochs had ended.
    pub epoch: u64,
    pub optimizer: OptimizerState,
    pub schedule: ScheduleState,
}

/// A state file could not be written, or was refused.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckpointError {
    #[error("cannot {action} {}: {source}", path.display())]
    #[diagnostic(
        code(optimc::state_io),
        help("check that the directory exists and is writable, and that the disk is not full")
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a readable optimc state file: {message}", path.display())]
    #[diagnostic(
        code(optimc::state_corrupt),
        help("the file is truncated or damaged; resume from an older state file, or start fresh")
    )]
    Corrupt { path: PathBuf, message: String },
    #[error("the state file has format version {found}, but this optimc reads version {FORMAT_VERSION} (it was written by optimc {writer})")]
    #[diagnostic(
        code(optimc::state_version),
        help("resume with the optimc version that wrote the file, or start fresh")
    )]
    Version { found: u32, writer: String },
    #[error("the state file was saved for another configuration (fingerprint {found}, this one is {expected})")]
    #[diagnostic(
        code(optimc::state_config),
        help("resume with the same .optim file (any change to groups, optimizer options or schedule changes the fingerprint), or start fresh")
    )]
    Config { expected: String, found: String },
    #[error("the state file was saved for other parameters: {detail}")]
    #[diagnostic(
        code(optimc::state_params),
        help("register the same parameters, with the same names, sizes and order, as the run that saved the state")
    )]
    Params { detail: String },
    #[error("the state file does not fit this trainer: {message}")]
    #[diagnostic(
        code(optimc::state_mismatch),
        help("the file was edited or written by another build; resume from another state file, or start fresh")
    )]
    State { message: String },
}

impl Trainer {
    /// The trainer's whole state, with its identity (config fingerprint, parameters).
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            optimc: env!("CARGO_PKG_VERSION").to_string(),
            config: self.fingerprint().to_string(),
            params: self.params().to_vec(),
            epoch: self.epoch(),
            optimizer: self.optimizer().state(),
            schedule: self.schedule().state(),
        }
    }

    /// Puts back a [`Checkpoint`] of a trainer built from the same configuration and parameters.
    /// On error `self` is unchanged.
    ///
    /// # Errors
    /// An [`Error`] of kind [`Checkpoint`](crate::error::ErrorKind::Checkpoint):
    /// [`CheckpointError::Version`], [`Config`](CheckpointError::Config),
    /// [`Params`](CheckpointError::Params) or [`State`](CheckpointError::State).
    pub fn restore(&mut self, c: &Checkpoint) -> Result<(), Error> {
        Ok(self.restore_checkpoint(c)?)
    }

    fn restore_checkpoint(&mut self, c: &Checkpoint) -> Result<(), CheckpointError> {
        if c.format != FORMAT_NAME || c.version != FORMAT_VERSION {
            return Err(CheckpointError::Version {
                found: c.version,
                writer: c.optimc.clone(),
            });
        }
        if c.config != self.fingerprint() {
            return Err(CheckpointError::Config {
                expected: self.fingerprint().to_string(),
                found: c.config.clone(),
            });
        }
        if c.params != self.params() {
            return Err(CheckpointError::Params {
                detail: params_difference(self.params(), &c.params),
            });
        }
        let (mut optimizer, mut schedule) = (self.optimizer().clone(), self.schedule().clone());
        optimizer
            .restore(&c.optimizer)
            .map_err(|e| CheckpointError::State {
                message: e.to_string(),
            })?;
        schedule
            .restore(&c.schedule)
            .map_err(|e| CheckpointError::State {
                message: e.to_string(),
            })?;
        if schedule.epoch() != c.epoch {
            return Err(CheckpointError::State {
                message: format!(
                    "epoch {} does not match the schedule's {}",
                    c.epoch,
                    schedule.epoch()
                ),
            });
        }
        self.replace(optimizer, schedule);
        Ok(())
    }

    /// Writes the state to `path` atomically: to a temporary file in the same directory, synced
    /// to disk, then renamed over `path`. If anything fails, `path` is left as it was. Every
    /// number is written so that it reads back bit for bit, NaN and the infinities included
    /// ([`crate::number`]); the text is read back before it is written, so `save` never writes
    /// a file that [`load`](Self::load) would refuse.
    ///
    /// # Errors
    /// An [`Error`] of kind [`Checkpoint`](crate::error::ErrorKind::Checkpoint):
    /// [`CheckpointError::Io`]; [`CheckpointError::State`] if the state would not read back
    /// (nothing is written then).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let json = encode(&self.checkpoint())?;
        crate::atomic::write(path, &json).map_err(|source| CheckpointError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })?;
        Ok(())
    }

    /// Reads a state file written by [`save`](Self::save) and restores it. On error `self` is
    /// unchanged.
    ///
    /// # Errors
    /// An [`Error`] of kind [`Checkpoint`](crate::error::ErrorKind::Checkpoint):
    /// [`CheckpointError::Io`] if the file cannot be read, [`Corrupt`](CheckpointError::Corrupt)
    /// if it is not a complete state file, else as [`restore`](Self::restore).
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        Ok(self.load_checkpoint(path.as_ref())?)
    }

    fn load_checkpoint(&mut self, path: &Path) -> Result<(), CheckpointError> {
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(CheckpointError::Corrupt {
                path: path.to_path_buf(),
                message: format!("it does not start with `\"format\": \"{FORMAT_NAME}\"`"),
            });
        }
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(CheckpointError::Version {
                found: version.and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
                writer: value
                    .get("optimc")
                    .and_then(|v| v.as_str())
                    .unwrap_or("unknown")
                    .to_string(),
            });
        }
        let c: Checkpoint =
            serde_json::from_value(value).map_err(|e| CheckpointError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        self.restore_checkpoint(&c)
    }
}

/// The JSON text of `c`, checked to read back as [`Trainer::load`] reads it and to give the
/// same bits again: a file `load` would refuse must never replace a good one.
fn encode(c: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
    let unreadable = |e: serde_json::Error| CheckpointError::State {
        message: format!("the state would not read back, so it was not written: {e}"),
    };
    let mut json = serde_json::to_vec_pretty(c).map_err(unreadable)?;
    json.push(b'\n');
    let back: Checkpoint = serde_json::from_slice(&json).map_err(unreadable)?;
    let mut again = serde_json::to_vec_pretty(&back).map_err(unreadable)?;
    again.push(b'\n');
    if again != json {
        return Err(CheckpointError::State {
            message: "the state would not read back to the same values, so it was not written"
                .to_string(),
        });
    }
    Ok(json)
}

fn params_difference(ours: &[(String, usize)], theirs: &[(String, usize)]) -> String {
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a != b {
            return format!(
                "parameter {i} is `{}` ({} values) here, `{}` ({} values) in the file",
                a.0, a.1, b.0, b.1
            );
        }
    }
    format!(
        "{} parameters here, {} in the file",
        ours.len(),
        theirs.len()
    )
}

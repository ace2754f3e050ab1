//! Resumable training state: a [`Trainer`]'s optimizer and schedule state, and optionally the
//! model's parameters, in one [safetensors](https://github.com/huggingface/safetensors) file,
//! with what is needed to refuse a file that does not belong to it.
//!
//! # The file
//!
//! A state file is a safetensors file, the tensor format of candle and the Hugging Face tools:
//! an 8-byte length, a JSON header, then the raw little-endian f32 bytes of every tensor, so a
//! 10^7-parameter Adam state saves and loads at the disk's speed. Its tensors are:
//!
//! - `optimizer/{parameter}/{buffer}`: each optimizer buffer under PyTorch's name (`exp_avg`,
//!   `momentum_buffer`, ...), shaped as its parameter (Adafactor's `row_var` and `col_var`
//!   are vectors);
//! - the model's parameters under their own names when saved with them
//!   ([`Trainer::save_with_params`], `CandleTrainer::save`), so `VarMap::load` in candle and
//!   `safetensors.torch.load_file` in Python read the weights straight from it;
//! - `average/{parameter}`: the averaged copy of each parameter where the configuration
//!   declares `average = swa(...)` / `ema(...)` (once it holds an update; its count,
//!   `n_averaged`, is in the header);
//! - any other named tensor a caller adds to [`Checkpoint::tensors`] (averaged parameters,
//!   ...), under its own name. Names starting with `optimizer/` or `average/` are optimc's.
//!
//! The header's metadata (`__metadata__`) has one entry, `optimc`: a JSON text holding the
//! format name and version, the optimc version that wrote the file, the resolved
//! [`Config`] and its fingerprint (SHA-256 of its canonical JSON serialization), the parameter
//! names and sizes, the epoch, every group's hyperparameters and every parameter's counters
//! (the [`OptimizerState`] with each buffer's values left out), and the [`ScheduleState`].
//! Numbers in it are written as [`crate::number`] says, so NaN and the infinities read back bit
//! for bit; the tensors are raw bits.
//!
//! Version-1 files (the whole state as JSON text, written by optimc before safetensors) still
//! load; [`Trainer::save`] always writes version 2.
//!
//! # Safety of reading
//!
//! [`Trainer::save`] writes atomically (temporary file in the same directory, fsync, rename): a
//! crash leaves either the old file or the new one, never half of one. [`Trainer::load`]
//! refuses a truncated, corrupt, other-version or mismatched file with a [`CheckpointError`]
//! and then leaves the trainer untouched. A hostile file cannot make it allocate more than the
//! file's own size: the header is read first and bounded
//! ([`MAX_STATE_HEADER`]), every tensor's place and size is
//! checked against the header and the file's length, and the parameters against the trainer's,
//! before any tensor is read.
//!
//! ```
//! use optimc::optim::ParamMut;
//! use optimc::{Config, Trainer};
//!
//! let config = Config::from_source("a.optim", "optimizer = adam(lr = 1e-3)")?;
//! let mut trainer = Trainer::new(&config, &[("w", 3)])?;
//! let mut w = [1.0f32, 2.0, 3.0];
//! trainer.step(&mut [ParamMut::named("w", &mut w, &[0.1, 0.2, 0.3])])?;
//! trainer.end_epoch()?;
//! # let dir = std::env::temp_dir().join(format!("optimc-ckpt-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("run.safetensors");
//! trainer.save_with_params(&path, &[&w])?;
//!
//! // Later, in a fresh process: the same config and parameters, then load.
//! let mut resumed = Trainer::new(&config, &[("w", 3)])?;
//! let mut w2 = [0.0f32; 3];
//! resumed.load_with_params(&path, &mut [&mut w2])?;
//! assert_eq!(w2, w);
//! assert_eq!(resumed.checkpoint(), trainer.checkpoint());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod diff;

pub use diff::ConfigDiff;

use crate::average::Averager;
use crate::config::Config;
use crate::error::Error;
use crate::limits::MAX_STATE_HEADER;
use crate::optim::OptimizerState;
use crate::schedule::ScheduleState;
use crate::train::Trainer;
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::Dtype;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The state-file format this optimc writes: safetensors with optimc's header.
pub const FORMAT_VERSION: u32 = 2;

/// The earlier format (the whole state as JSON text), which this optimc still reads.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// What every state file's header starts with, to recognise one.
const FORMAT_NAME: &str = "optimc-training-state";

/// The key of optimc's header in the safetensors metadata.
const METADATA_KEY: &str = "optimc";

/// The prefix of the optimizer buffers' tensor names.
const OPTIMIZER_PREFIX: &str = "optimizer/";

/// The prefix of the averaged parameters' tensor names (`average = ...`).
const AVERAGE_PREFIX: &str = "average/";

/// Values converted per write or read call (1 MiB of f32).
const CHUNK: usize = 1 << 18;

/// A named f32 tensor saved beside the state: a model parameter, averaged parameters, ...
/// Values are flat, row-major; `shape`'s product is their number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub shape: Vec<usize>,
    #[serde(with = "crate::number::vec")]
    pub values: Vec<f32>,
}

/// The contents of a state file. See the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always `"optimc-training-state"`.
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// The optimc version that wrote the file (informative).
    pub optimc: String,
    /// [`Config::fingerprint`] of the configuration the trainer was built from.
    pub config: String,
    /// That configuration itself, to describe what changed when a run resumes with another one
    /// ([`Checkpoint::diff`]); `None` in version-1 files, which did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Config>,
    /// Parameter names and sizes, in registration order.
    pub params: Vec<(String, usize)>,
    /// How many epochs had ended.
    pub epoch: u64,
    pub optimizer: OptimizerState,
    pub schedule: ScheduleState,
    /// Named tensors saved beside the state, by name: the model's parameters
    /// ([`Trainer::save_with_params`]), and whatever else a caller keeps with the run
    /// (averaged parameters, ...). A name must not start with `optimizer/`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tensors: BTreeMap<String, Tensor>,
    /// `AveragedModel.n_averaged`, where the configuration declares `average = ...`; the
    /// averaged values are the tensors `average/{parameter}` in [`tensors`](Self::tensors),
    /// present once it is above 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_averaged: Option<u64>,
}

/// A state file could not be written, or was refused.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckpointError {
    #[error("cannot {action} {}: {source}", path.display())]
    #[diagnostic(code(optimc::state_io), help("{}", io_help(.action)))]
    Io {
        /// What failed: "read" or "write".
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
    #[error("the state file has format version {found}, but this optimc reads versions {JSON_FORMAT_VERSION} and {FORMAT_VERSION} (it was written by optimc {writer})")]
    #[diagnostic(
        code(optimc::state_version),
        help("resume with the optimc version that wrote the file, or start fresh")
    )]
    Version { found: u32, writer: String },
    #[error("the state file was saved for another configuration (fingerprint {found}, this one is {expected}){}", describe(.changes))]
    #[diagnostic(
        code(optimc::state_config),
        help("resume with the same .optim file, or accept the changes with `Trainer::load_changed` (which keeps the state that still applies and reports what changed); or start fresh")
    )]
    Config {
        expected: String,
        found: String,
        /// What changed, in words, when the file records its configuration (else empty).
        changes: Vec<String>,
    },
    #[error("the state file cannot continue this configuration: {reason}")]
    #[diagnostic(
        code(optimc::state_incompatible),
        help("resume with the configuration the state was saved with (see `Checkpoint::diff`), or start fresh")
    )]
    Incompatible { reason: String },
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

/// The help of [`CheckpointError::Io`]: a read fails for other reasons than a write.
fn io_help(action: &str) -> &'static str {
    if action == "read" {
        "check the path you gave: that the file exists (a relative path is from the current directory) and that it and the directories above it are readable"
    } else {
        "check that the directory exists and is writable, and that the disk is not full"
    }
}

fn describe(changes: &[String]) -> String {
    if changes.is_empty() {
        String::new()
    } else {
        format!(": {}", changes.join("; "))
    }
}

impl Checkpoint {
    /// Reads a state file (either version) whole, without restoring it: to look at its
    /// tensors, or to [`diff`](Self::diff) it against a configuration. Reading allocates no
    /// more than the file's size.
    ///
    /// # Errors
    /// An [`Error`] of kind [`Checkpoint`](crate::error::ErrorKind::Checkpoint):
    /// [`CheckpointError::Io`], [`Corrupt`](CheckpointError::Corrupt) or
    /// [`Version`](CheckpointError::Version).
    pub fn read(path: impl AsRef<Path>) -> Result<Checkpoint, Error> {
        let path = path.as_ref();
        Ok(match open(path)? {
            Opened::Json(c) => *c,
            Opened::Tensors(t) => t.read_all(path)?,
        })
    }

    /// Reads a state file's header alone: what the run was saved with (its configuration,
    /// parameter names and sizes, epoch, counters and schedule state), without its tensors, so
    /// it reads the 8-byte length and the JSON header (at most [`MAX_STATE_HEADER`] bytes, and
    /// no more than the file has), whatever the size of the state. Every optimizer buffer is
    /// there with no values, and [`tensors`](Self::tensors) is empty. A version-1 file (JSON
    /// text, tensors included) is read whole. What [`diff`](Self::diff) needs, and what
    /// `optimc checkpoint diff` reads.
    ///
    /// # Errors
    /// As [`read`](Self::read): a truncated file, a header length past the limit or the file's
    /// end, or a header that is not optimc's, is refused before anything is allocated for it.
    pub fn read_header(path: impl AsRef<Path>) -> Result<Checkpoint, Error> {
        Ok(match open(path.as_ref())? {
            Opened::Json(c) => *c,
            Opened::Tensors(t) => t.header,
        })
    }

    /// Writes the checkpoint to `path` atomically, as [`Trainer::save`] does.
    ///
    /// # Errors
    /// As [`Trainer::save`]; also [`CheckpointError::State`] if a tensor's `shape` does not
    /// fit its values or its name is taken.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let mut header = self.clone_without_values();
        let mut views: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
        for p in &self.optimizer.params {
            for (buffer, values) in &p.buffers {
                let shape = buffer_shape(p.len, p.shape.as_deref(), values.len());
                views.push((buffer_tensor(&p.name, buffer), shape, values));
            }
        }
        // The averaged parameters are optimc's, as the buffers are; the caller's tensors follow.
        let (averaged, others): (Vec<_>, Vec<_>) = self
            .tensors
            .iter()
            .partition(|(name, _)| name.starts_with(AVERAGE_PREFIX));
        let buffers = views.len() + averaged.len();
        for (name, t) in averaged.into_iter().chain(others) {
            views.push((name.clone(), t.shape.clone(), &t.values));
        }
        header.format = FORMAT_NAME.to_string();
        header.version = FORMAT_VERSION;
        Ok(write_file(path.as_ref(), &header, &views, buffers)?)
    }

    /// What differs between the configuration the checkpoint was saved with and `config`, in
    /// words (`group head: lr 0.001 -> 0.0005`, `schedule cosine: t_max 100 -> 200`, a new
    /// group, another optimizer, which [`Trainer::load_changed`] refuses). A version-1 file
    /// does not record its configuration: its diff is one sentence saying so, unless the
    /// fingerprints agree.
    pub fn diff(&self, config: &Config) -> ConfigDiff {
        match &self.configuration {
            Some(saved) => diff::diff(saved, config),
            None if self.config == config.fingerprint() => ConfigDiff::default(),
            None => ConfigDiff {
                changes: vec![format!(
                    "the configuration changed (fingerprint {} -> {}); this state file (format version {}) does not record what it was",
                    self.config,
                    config.fingerprint(),
                    self.version
                )],
                refused: Some(
                    "the file does not record its configuration, so what changed cannot be told"
                        .to_string(),
                ),
                notes: Vec::new(),
            },
        }
    }

    fn clone_without_values(&self) -> Checkpoint {
        let mut optimizer = OptimizerState {
            optimizer: self.optimizer.optimizer,
            groups: self.optimizer.groups.clone(),
            params: Vec::with_capacity(self.optimizer.params.len()),
        };
        for p in &self.optimizer.params {
            let mut q = crate::optim::ParamState {
                name: p.name.clone(),
                len: p.len,
                shape: p.shape.clone(),
                group: p.group,
                step: p.step,
                mu_product: p.mu_product,
                eta: p.eta,
                mu: p.mu,
                buffers: BTreeMap::new(),
            };
            q.buffers = p.buffers.keys().map(|k| (k.clone(), Vec::new())).collect();
            optimizer.params.push(q);
        }
        Checkpoint {
            format: self.format.clone(),
            version: self.version,
            optimc: self.optimc.clone(),
            config: self.config.clone(),
            configuration: self.configuration.clone(),
            params: self.params.clone(),
            epoch: self.epoch,
            optimizer,
            schedule: self.schedule.clone(),
            tensors: BTreeMap::new(),
            n_averaged: self.n_averaged,
        }
    }
}

impl Trainer {
    /// The trainer's whole state, with its identity (config, fingerprint, parameters).
    pub fn checkpoint(&self) -> Checkpoint {
        let mut c = self.header();
        c.optimizer = self.optimizer().state();
        for (name, shape, values) in self.average_views() {
            c.tensors.insert(
                name,
                Tensor {
                    shape,
                    values: values.to_vec(),
                },
            );
        }
        c
    }

    /// The averaged parameters as tensors (`average/{parameter}`, shaped as the parameter),
    /// once the average holds an update.
    fn average_views(&self) -> Vec<(String, Vec<usize>, &[f32])> {
        let Some(values) = self.average().and_then(Averager::all_values) else {
            return Vec::new();
        };
        self.params()
            .iter()
            .zip(values)
            .enumerate()
            .map(|(i, ((name, _), v))| {
                (
                    average_tensor(name),
                    self.optimizer().param_shape(i).to_vec(),
                    v.as_slice(),
                )
            })
            .collect()
    }

    /// The trainer's average with the state of `c` put in its place (moving `c`'s
    /// `average/...` tensors out), or why it does not fit. `self` is not changed.
    fn restored_average(&self, c: &mut Checkpoint) -> Result<Option<Averager>, String> {
        match (self.average(), c.n_averaged) {
            (None, None) => Ok(None),
            (Some(a), Some(n)) => {
                let values = if n == 0 {
                    None
                } else {
                    let values: Result<Vec<Vec<f32>>, String> = self
                        .params()
                        .iter()
                        .map(|(name, _)| {
                            c.tensors
                                .remove(&average_tensor(name))
                                .map(|t| t.values)
                                .ok_or_else(|| {
                                    format!("the average holds {n} updates, but the file has no tensor `{}`", average_tensor(name))
                                })
                        })
                        .collect();
                    Some(values?)
                };
                a.restored(n, values).map(Some)
            }
            (Some(a), None) => Err(format!(
                "the configuration declares `average = {}(...)`, but the state has no average",
                a.config().name()
            )),
            (None, Some(_)) => {
                Err("the state has an average, but the configuration declares none".into())
            }
        }
    }

    /// [`checkpoint`](Self::checkpoint) with every buffer's values left out.
    fn header(&self) -> Checkpoint {
        Checkpoint {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            optimc: env!("CARGO_PKG_VERSION").to_string(),
            config: self.fingerprint().to_string(),
            configuration: Some(self.config().clone()),
            params: self.params().to_vec(),
            epoch: self.epoch(),
            optimizer: self.optimizer().state_without_values(),
            schedule: self.schedule().state(),
            tensors: BTreeMap::new(),
            n_averaged: self.average().map(Averager::n_averaged),
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
        self.check_identity(c)?;
        Ok(self.restore_owned(c.clone())?)
    }

    /// Refuses a checkpoint of another format, configuration or parameters.
    fn check_identity(&self, c: &Checkpoint) -> Result<(), CheckpointError> {
        if c.format != FORMAT_NAME
            || (c.version != FORMAT_VERSION && c.version != JSON_FORMAT_VERSION)
        {
            return Err(CheckpointError::Version {
                found: c.version,
                writer: c.optimc.clone(),
            });
        }
        if c.config != self.fingerprint() {
            return Err(CheckpointError::Config {
                expected: self.fingerprint().to_string(),
                found: c.config.clone(),
                changes: c.diff(self.config()).changes,
            });
        }
        if c.params != self.params() {
            return Err(CheckpointError::Params {
                detail: params_difference(self.params(), &c.params),
            });
        }
        Ok(())
    }

    /// Restores `c`, whose identity was checked, moving its buffers. On error `self` is
    /// unchanged: the schedule is restored into a copy, the optimizer checks everything before
    /// it changes anything, and goes last.
    pub(crate) fn restore_owned(&mut self, mut c: Checkpoint) -> Result<(), CheckpointError> {
        let state = |message: String| CheckpointError::State { message };
        let mut schedule = self.schedule().clone();
        schedule
            .restore(&c.schedule)
            .map_err(|e| state(e.to_string()))?;
        if schedule.epoch() != c.epoch {
            return Err(state(format!(
                "epoch {} does not match the schedule's {}",
                c.epoch,
                schedule.epoch()
            )));
        }
        let average = self.restored_average(&mut c).map_err(state)?;
        self.optimizer_mut()
            .restore_owned(c.optimizer)
            .map_err(|e| state(e.to_string()))?;
        self.set_schedule(schedule);
        self.set_average(average);
        Ok(())
    }

    /// Writes the state to `path` atomically: to a temporary file in the same directory, synced
    /// to disk, then renamed over `path`. If anything fails, `path` is left as it was. The
    /// format is described in the [module documentation](crate::checkpoint): a safetensors
    /// file whose tensors are the optimizer's buffers, bit for bit, NaN and the infinities
    /// included. The header is read back before anything is written, so `save` never writes a
    /// file that [`load`](Self::load) would refuse. Use a `.safetensors` name if other tools
    /// should recognise it.
    ///
    /// # Errors
    /// An [`Error`] of kind [`Checkpoint`](crate::error::ErrorKind::Checkpoint):
    /// [`CheckpointError::Io`]; [`CheckpointError::State`] if the state would not read back
    /// (nothing is written then).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        self.save_tensors(path.as_ref(), &[])
    }

    /// [`save`](Self::save), with the model's parameters: `values[i]` is parameter `i` in
    /// registration order (as passed to [`step`](Self::step)), stored under its name and
    /// registered shape, so the one file resumes the whole run
    /// ([`load_with_params`](Self::load_with_params)) and other tools read the weights from it.
    ///
    /// # Errors
    /// As [`save`](Self::save); [`CheckpointError::Params`] if `values` do not fit the
    /// registered parameters (nothing is written then).
    pub fn save_with_params(&self, path: impl AsRef<Path>, values: &[&[f32]]) -> Result<(), Error> {
        self.check_values(values.iter().map(|v| v.len()))?;
        let views: Vec<(String, Vec<usize>, &[f32])> = self
            .params()
            .iter()
            .enumerate()
            .zip(values)
            .map(|((i, (name, _)), v)| (name.clone(), self.optimizer().param_shape(i).to_vec(), *v))
            .collect();
        self.save_tensors(path.as_ref(), &views)
    }

    /// Saves the state and `extra` tensors (name, shape, values).
    pub(crate) fn save_tensors(
        &self,
        path: &Path,
        extra: &[(String, Vec<usize>, &[f32])],
    ) -> Result<(), Error> {
        let header = self.header();
        let optimizer = self.optimizer();
        let mut views: Vec<(String, Vec<usize>, &[f32])> = optimizer
            .buffers()
            .map(|(i, buffer, values)| {
                let (name, len) = &self.params()[i];
                let shape = buffer_shape(*len, Some(optimizer.param_shape(i)), values.len());
                (buffer_tensor(name, buffer), shape, values)
            })
            .collect();
        views.extend(self.average_views());
        let buffers = views.len();
        views.extend(extra.iter().map(|(n, s, v)| (n.clone(), s.clone(), *v)));
        Ok(write_file(path, &header, &views, buffers)?)
    }

    fn check_values(
        &self,
        lens: impl ExactSizeIterator<Item = usize>,
    ) -> Result<(), CheckpointError> {
        if lens.len() != self.params().len() {
            return Err(CheckpointError::Params {
                detail: format!(
                    "{} parameter values were given, {} parameters are registered",
                    lens.len(),
                    self.params().len()
                ),
            });
        }
        for ((name, len), got) in self.params().iter().zip(lens) {
            if *len != got {
                return Err(CheckpointError::Params {
                    detail: format!("`{name}` has {len} values, but {got} were given"),
                });
            }
        }
        Ok(())
    }

    /// Reads a state file written by [`save`](Self::save) (or a version-1 JSON state file)
    /// and restores it. On error `self` is unchanged.
    ///
    /// # Errors
    /// An [`Error`] of kind [`Checkpoint`](crate::error::ErrorKind::Checkpoint):
    /// [`CheckpointError::Io`] if the file cannot be read, [`Corrupt`](CheckpointError::Corrupt)
    /// if it is not a complete state file, else as [`restore`](Self::restore).
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        let c = self.read_checked(path.as_ref())?;
        Ok(self.restore_owned(c)?)
    }

    /// [`load`](Self::load), and the saved parameters into `values` (in registration order, as
    /// given to [`save_with_params`](Self::save_with_params)). On error neither `self` nor
    /// `values` changes.
    ///
    /// # Errors
    /// As [`load`](Self::load); [`CheckpointError::Params`] if `values` do not fit the
    /// registered parameters or the file holds no values for one of them.
    pub fn load_with_params(
        &mut self,
        path: impl AsRef<Path>,
        values: &mut [&mut [f32]],
    ) -> Result<(), Error> {
        self.check_values(values.iter().map(|v| v.len()))?;
        let mut c = self.read_checked(path.as_ref())?;
        let saved = self.take_params(&mut c)?;
        self.restore_owned(c)?;
        for (v, s) in values.iter_mut().zip(saved) {
            v.copy_from_slice(&s);
        }
        Ok(())
    }

    /// Moves each registered parameter's saved values out of `c.tensors`, checked.
    pub(crate) fn take_params(&self, c: &mut Checkpoint) -> Result<Vec<Vec<f32>>, CheckpointError> {
        self.params()
            .iter()
            .map(|(name, len)| match c.tensors.remove(name) {
                Some(t) if t.values.len() == *len => Ok(t.values),
                Some(t) => Err(CheckpointError::Params {
                    detail: format!(
                        "the file holds {} values for `{name}`, which has {len}",
                        t.values.len()
                    ),
                }),
                None => Err(CheckpointError::Params {
                    detail: format!(
                        "the file holds no values for parameter `{name}` (it was saved without the parameters: `save`, not `save_with_params`)"
                    ),
                }),
            })
            .collect()
    }

    /// Reads `path`, refusing it (before reading any tensor) if it belongs to another
    /// configuration or other parameters.
    pub(crate) fn read_checked(&self, path: &Path) -> Result<Checkpoint, CheckpointError> {
        match open(path)? {
            Opened::Json(c) => {
                self.check_identity(&c)?;
                Ok(*c)
            }
            Opened::Tensors(t) => {
                self.check_identity(&t.header)?;
                t.read_all(path)
            }
        }
    }
}

/// A state file opened and its header read.
enum Opened {
    /// A version-1 file, read whole.
    Json(Box<Checkpoint>),
    Tensors(Box<TensorFile>),
}

/// A safetensors state file whose headers were read and checked, positioned at its data.
struct TensorFile {
    file: File,
    /// optimc's header: every buffer present with no values, no tensors.
    header: Checkpoint,
    /// The tensors, in the order of their data.
    tensors: Vec<(String, TensorInfo)>,
}

fn corrupt(path: &Path, message: impl Into<String>) -> CheckpointError {
    CheckpointError::Corrupt {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn open(path: &Path) -> Result<Opened, CheckpointError> {
    let io = |source| CheckpointError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut prefix = [0u8; 8];
    let got = read_up_to(&mut file, &mut prefix).map_err(io)?;
    let header_len = u64::from_le_bytes(prefix);
    if got == 8 && header_len <= MAX_STATE_HEADER {
        if 8 + header_len > file_len {
            return Err(corrupt(
                path,
                format!("its header claims {header_len} bytes, but the file has {file_len} in all"),
            ));
        }
        return read_tensor_header(path, file, file_len, header_len)
            .map(|t| Opened::Tensors(Box::new(t)));
    }
    if prefix[..got].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let mut bytes = prefix[..got].to_vec();
        file.read_to_end(&mut bytes).map_err(io)?;
        return read_json(path, &bytes).map(|c| Opened::Json(Box::new(c)));
    }
    Err(corrupt(
        path,
        if got < 8 {
            format!("it has only {got} bytes")
        } else {
            format!(
                "it starts neither with a safetensors header length (at most {MAX_STATE_HEADER} bytes; it claims {header_len}) nor with JSON"
            )
        },
    ))
}

/// Fills `buf` from `r` as far as `r` goes; returns how many bytes were read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_tensor_header(
    path: &Path,
    mut file: File,
    file_len: u64,
    header_len: u64,
) -> Result<TensorFile, CheckpointError> {
    let mut bytes = vec![0u8; header_len as usize];
    file.read_exact(&mut bytes)
        .map_err(|source| CheckpointError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
    let metadata: Metadata = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(path, format!("its safetensors header is not valid: {e}")))?;
    let data_len = metadata.data_len() as u64;
    if data_len.checked_add(8 + header_len) != Some(file_len) {
        return Err(corrupt(
            path,
            format!(
                "its header describes {} bytes of tensors, but {} follow it",
                data_len,
                file_len - 8 - header_len
            ),
        ));
    }
    let text = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or_else(|| {
            corrupt(
                path,
                format!("it is a safetensors file, but has no `{METADATA_KEY}` metadata: not an optimc state file"),
            )
        })?;
    let header = read_json(path, text.as_bytes())?;
    let tensors = metadata
        .offset_keys()
        .into_iter()
        .map(|name| {
            let info = metadata
                .info(&name)
                .cloned()
                .expect("offset_keys names the header's tensors");
            (name, info)
        })
        .collect();
    Ok(TensorFile {
        file,
        header,
        tensors,
    })
}

/// optimc's JSON header (version 2), or a whole version-1 file.
fn read_json(path: &Path, bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(path, e.to_string()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
        return Err(corrupt(
            path,
            format!("it does not start with `\"format\": \"{FORMAT_NAME}\"`"),
        ));
    }
    let version = value.get("version").and_then(|v| v.as_u64());
    if version != Some(u64::from(FORMAT_VERSION)) && version != Some(u64::from(JSON_FORMAT_VERSION))
    {
        return Err(CheckpointError::Version {
            found: version.and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
            writer: value
                .get("optimc")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown")
                .to_string(),
        });
    }
    serde_json::from_value(value).map_err(|e| corrupt(path, e.to_string()))
}

impl TensorFile {
    /// Reads every tensor into the header: buffers into the optimizer state (each must be one
    /// the header names), the others into [`Checkpoint::tensors`].
    fn read_all(mut self, path: &Path) -> Result<Checkpoint, CheckpointError> {
        let mut c = self.header;
        if !c.tensors.is_empty() {
            return Err(corrupt(path, "its header holds tensor values"));
        }
        let mut buffers: HashMap<String, (usize, String)> = HashMap::new();
        for (i, p) in c.optimizer.params.iter().enumerate() {
            for (buffer, values) in &p.buffers {
                if !values.is_empty() {
                    return Err(corrupt(path, "its header holds buffer values"));
                }
                buffers.insert(buffer_tensor(&p.name, buffer), (i, buffer.clone()));
            }
        }
        let mut staging = vec![0u8; CHUNK * 4];
        for (name, info) in std::mem::take(&mut self.tensors) {
            if info.dtype != Dtype::F32 {
                return Err(corrupt(
                    path,
                    format!("tensor `{name}` is {:?}; optimc's state is F32", info.dtype),
                ));
            }
            // Checked by `Metadata` against the shape (and the file's length): a multiple of 4.
            let n = (info.data_offsets.1 - info.data_offsets.0) / 4;
            let mut values = Vec::with_capacity(n);
            while values.len() < n {
                let k = (n - values.len()).min(CHUNK);
                let bytes = &mut staging[..k * 4];
                self.file
                    .read_exact(bytes)
                    .map_err(|source| CheckpointError::Io {
                        action: "read",
                        path: path.to_path_buf(),
                        source,
                    })?;
                values.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            }
            if let Some((i, buffer)) = buffers.remove(&name) {
                *c.optimizer.params[i]
                    .buffers
                    .get_mut(&buffer)
                    .expect("the map was built from these buffers") = values;
            } else if name.starts_with(OPTIMIZER_PREFIX) {
                return Err(corrupt(
                    path,
                    format!("tensor `{name}` is no buffer of the optimizer state in its header"),
                ));
            } else {
                c.tensors.insert(
                    name,
                    Tensor {
                        shape: info.shape,
                        values,
                    },
                );
            }
        }
        if let Some(missing) = buffers.keys().min() {
            return Err(corrupt(
                path,
                format!("its header names buffer `{missing}`, but the file has no such tensor"),
            ));
        }
        Ok(c)
    }
}

/// The tensor name of the averaged copy of parameter `param`.
fn average_tensor(param: &str) -> String {
    format!("{AVERAGE_PREFIX}{param}")
}

/// The tensor name of buffer `buffer` of parameter `param`. Unambiguous: buffer names hold no
/// `/`, and parameter names are unique.
fn buffer_tensor(param: &str, buffer: &str) -> String {
    format!("{OPTIMIZER_PREFIX}{param}/{buffer}")
}

/// A buffer's tensor shape: its parameter's when it has the parameter's length, else a vector.
fn buffer_shape(param_len: usize, param_shape: Option<&[usize]>, len: usize) -> Vec<usize> {
    match param_shape {
        Some(shape) if len == param_len => shape.to_vec(),
        _ => vec![len],
    }
}

/// The JSON text of `header`, checked to read back to the same text: a file `load` would
/// refuse must never replace a good one. A configuration that does not read back from its own
/// JSON (a lambda folded to a NaN constant is written `e -> NaN`) is left out rather than
/// failing the save: the state still resumes, only [`Checkpoint::diff`] cannot tell what
/// changed.
fn encode_header(header: &Checkpoint) -> Result<String, CheckpointError> {
    match encode_exactly(header) {
        Err(_) if header.configuration.is_some() => {
            let mut without = header.clone();
            without.configuration = None;
            encode_exactly(&without)
        }
        done => done,
    }
}

fn encode_exactly(header: &Checkpoint) -> Result<String, CheckpointError> {
    let unreadable = |e: serde_json::Error| CheckpointError::State {
        message: format!("the state would not read back, so it was not written: {e}"),
    };
    let json = serde_json::to_string(header).map_err(unreadable)?;
    let back: Checkpoint = serde_json::from_str(&json).map_err(unreadable)?;
    if serde_json::to_string(&back).map_err(unreadable)? != json {
        return Err(CheckpointError::State {
            message: "the state would not read back to the same values, so it was not written"
                .to_string(),
        });
    }
    Ok(json)
}

/// Writes `header` (no values in it) and `tensors` as a safetensors file, atomically: the
/// first `buffers` tensors are optimc's (the optimizer's buffers, the averaged parameters), the
/// others the caller's (whose names must not look like optimc's).
fn write_file(
    path: &Path,
    header: &Checkpoint,
    tensors: &[(String, Vec<usize>, &[f32])],
    buffers: usize,
) -> Result<(), CheckpointError> {
    let refuse = |message: String| CheckpointError::State { message };
    let mut names = BTreeSet::new();
    for (i, (name, _, _)) in tensors.iter().enumerate() {
        if i >= buffers {
            for (prefix, whose) in [
                (OPTIMIZER_PREFIX, "the optimizer's buffers"),
                (AVERAGE_PREFIX, "the averaged parameters"),
            ] {
                if name.starts_with(prefix) {
                    return Err(refuse(format!(
                        "tensor name `{name}` starts with `{prefix}`, which {whose} use"
                    )));
                }
            }
        }
        if !names.insert(name.as_str()) {
            return Err(refuse(format!("two tensors are named `{name}`")));
        }
    }
    let json = encode_header(header)?;
    let mut offset = 0;
    let infos = tensors
        .iter()
        .map(|(name, shape, values)| {
            let info = TensorInfo {
                dtype: Dtype::F32,
                shape: shape.clone(),
                data_offsets: (offset, offset + values.len() * 4),
            };
            offset += values.len() * 4;
            (name.clone(), info)
        })
        .collect();
    let metadata = Metadata::new(
        Some(HashMap::from([(METADATA_KEY.to_string(), json)])),
        infos,
    )
    .map_err(|e| {
        refuse(format!(
            "a tensor's shape does not fit its values ({e}), so nothing was written"
        ))
    })?;
    let mut head = serde_json::to_vec(&metadata)
        .map_err(|e| refuse(format!("the header would not serialize: {e}")))?;
    // safetensors aligns the data to 8 bytes by padding the header with spaces.
    head.resize(head.len().next_multiple_of(8), b' ');
    if head.len() as u64 > MAX_STATE_HEADER {
        return Err(refuse(format!(
            "the header would have {} bytes, more than the {MAX_STATE_HEADER} a state file may have",
            head.len()
        )));
    }
    crate::atomic::write_with(path, |w: &mut dyn Write| {
        w.write_all(&(head.len() as u64).to_le_bytes())?;
        w.write_all(&head)?;
        let mut bytes = Vec::with_capacity(CHUNK * 4);
        for (_, _, values) in tensors {
            for chunk in values.chunks(CHUNK) {
                bytes.clear();
                bytes.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
                w.write_all(&bytes)?;
            }
        }
        Ok(())
    })
    .map_err(|source| CheckpointError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
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

/// Whether the schedule of `new` is the one of `saved`, so its saved state still applies: the
/// same groups in the same order, each with the same schedule and the same initial lr and
/// momentum (which schedules start from).
fn same_schedule(saved: &Config, new: &Config) -> bool {
    saved.groups.len() == new.groups.len()
        && saved
            .groups
            .iter()
            .zip(&new.groups)
            .enumerate()
            .all(|(i, (a, b))| {
                a.name == b.name
                    && saved.schedule_of(i) == new.schedule_of(i)
                    && a.options.lr.to_bits() == b.options.lr.to_bits()
                    && a.options.momentum.to_bits() == b.options.momentum.to_bits()
                    && a.options.betas.0.to_bits() == b.options.betas.0.to_bits()
            })
}

impl Trainer {
    /// Resumes from a state file saved with another configuration, keeping the state that
    /// still applies, and says what changed ([`ConfigDiff`]) and what became of the state.
    /// With the same configuration and parameters it is [`load`](Self::load).
    ///
    /// - **Another optimizer kind** is refused ([`CheckpointError::Incompatible`]): Adam's
    ///   moments mean nothing to SGD.
    /// - **Parameters** are matched by name: one of the same shape keeps its buffers and step
    ///   count, whichever group it is in now; a new one, or one whose shape changed, starts
    ///   fresh; one the file has and this trainer does not is dropped. Each is a note.
    /// - **Groups** are matched by name. A group whose options are unchanged keeps the
    ///   hyperparameters it had when saved (changes made through
    ///   [`optimizer_mut`](Self::optimizer_mut) included); a changed or new group takes the new
    ///   configuration's.
    /// - **The schedule.** If every group keeps its schedule, initial lr and momentum, the
    ///   schedule continues from its saved state, bit for bit. Otherwise the new
    ///   configuration's schedule is built and stepped to the saved epoch, so the lr is what
    ///   the new schedule gives at that epoch (a cosine whose `t_max` went from 100 to 200,
    ///   resumed at epoch 50, continues at the lr the 200-epoch cosine has at epoch 50). This
    ///   is what PyTorch users do when they build a new scheduler and step it to the saved
    ///   epoch (or pass `last_epoch`); loading the old scheduler's `state_dict` into a new
    ///   scheduler would instead bring back the old `T_max` and `base_lrs` with the epoch. A
    ///   changed schedule with a `plateau` is refused: its reductions depend on the metrics of
    ///   past epochs, which the file does not hold (keep the schedule, and change the lr after
    ///   loading with [`set_lr`](Self::set_lr)).
    /// - **The average** (`average = ...`) continues from its saved values and `n_averaged`
    ///   when the kind is the same (`swa` stays `swa`, `ema` stays `ema`; a changed `decay`
    ///   or `start` applies from the next update, as loading an `AveragedModel`'s state into
    ///   one built with the new options does) and every parameter's averaged copy is in the
    ///   file at its size. Otherwise (another kind, a new or resized parameter, an average
    ///   newly declared) it starts empty, and the next update due copies the parameters; an
    ///   average no longer declared is dropped. Each is a note.
    ///
    /// On error `self` is unchanged.
    ///
    /// ```
    /// use optimc::optim::ParamMut;
    /// use optimc::{Config, Trainer};
    ///
    /// let old = Config::from_source("a.optim", "optimizer = adam(lr = 1e-3)\ngroup head { params = \"head.*\" }\nschedule = cosine(t_max = 100)")?;
    /// let mut trainer = Trainer::new(&old, &[("head.w", 2)])?;
    /// let mut w = [1.0f32, 2.0];
    /// for _ in 0..50 {
    ///     trainer.step(&mut [ParamMut::named("head.w", &mut w, &[0.5, -0.5])])?;
    ///     trainer.end_epoch()?;
    /// }
    /// # let dir = std::env::temp_dir().join(format!("optimc-ckpt-changed-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("run.safetensors");
    /// trainer.save(&path)?;
    ///
    /// // The run continues with a lower lr and a longer cosine.
    /// let new = Config::from_source("b.optim", "optimizer = adam(lr = 1e-3)\ngroup head { params = \"head.*\", lr = 5e-4 }\nschedule = cosine(t_max = 200)")?;
    /// let mut resumed = Trainer::new(&new, &[("head.w", 2)])?;
    /// assert!(resumed.load(&path).is_err()); // `load` refuses a changed configuration
    /// let diff = resumed.load_changed(&path)?;
    /// assert_eq!(diff.changes, ["group head: lr 0.001 -> 0.0005", "schedule cosine: t_max 100 -> 200"]);
    /// assert_eq!(resumed.epoch(), 50);
    /// // The Adam moments carried over; the lr is the new cosine's at epoch 50.
    /// assert_eq!(resumed.optimizer().state().params[0].step, 50.0);
    /// let mut fresh = Trainer::new(&new, &[("head.w", 2)])?;
    /// for _ in 0..50 {
    ///     fresh.end_epoch()?;
    /// }
    /// assert_eq!(resumed.lrs(), fresh.lrs());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// An [`Error`] of kind [`Checkpoint`](crate::error::ErrorKind::Checkpoint): as
    /// [`load`](Self::load) but for [`Config`](CheckpointError::Config) and
    /// [`Params`](CheckpointError::Params); [`CheckpointError::Incompatible`] for the changes
    /// above that cannot keep the state, and for a version-1 file of another configuration
    /// (which does not record what it was).
    pub fn load_changed(&mut self, path: impl AsRef<Path>) -> Result<ConfigDiff, Error> {
        let path = path.as_ref();
        let c = match open(path)? {
            Opened::Json(c) => *c,
            Opened::Tensors(t) => {
                if let Some(reason) = t.header.diff(self.config()).refused {
                    return Err(CheckpointError::Incompatible { reason }.into());
                }
                t.read_all(path)?
            }
        };
        Ok(self.restore_changed_owned(c)?)
    }

    /// [`load_changed`](Self::load_changed) from a [`Checkpoint`] in memory.
    ///
    /// # Errors
    /// As [`load_changed`](Self::load_changed).
    pub fn restore_changed(&mut self, c: &Checkpoint) -> Result<ConfigDiff, Error> {
        Ok(self.restore_changed_owned(c.clone())?)
    }

    /// What [`load_changed`](Self::load_changed) does with the saved average, on a fresh
    /// trainer (whose average is empty): kept if the kind is the same and every parameter's
    /// averaged copy is in `tensors` at its size, else left empty; the note says which.
    fn adopt_average(
        &mut self,
        saved: &Config,
        n_averaged: Option<u64>,
        tensors: &mut BTreeMap<String, Tensor>,
    ) -> Option<String> {
        let Some(a) = self.average() else {
            return n_averaged.filter(|&n| n > 0).map(|n| {
                format!(
                    "the saved average ({n} updates) is dropped: the configuration declares none"
                )
            });
        };
        let kind = a.config().name();
        let Some(n) = n_averaged else {
            return Some(format!(
                "the average ({kind}) starts empty: the state file holds none"
            ));
        };
        let was = saved.average.map(|s| s.name());
        if was != Some(kind) {
            return Some(format!(
                "the average starts empty: it was {}, it is {kind}",
                was.unwrap_or("none")
            ));
        }
        let values = if n == 0 {
            None
        } else {
            let mut values = Vec::with_capacity(self.params().len());
            for (name, _) in self.params() {
                match tensors.remove(&average_tensor(name)) {
                    Some(t) => values.push(t.values),
                    None => {
                        return Some(format!(
                            "the average ({kind}) starts empty: the state file holds no average of parameter `{name}`"
                        ))
                    }
                }
            }
            Some(values)
        };
        match a.restored(n, values) {
            Ok(restored) => {
                self.set_average(Some(restored));
                Some(format!(
                    "the average ({kind}) continues from its {n} saved updates"
                ))
            }
            Err(why) => Some(format!("the average ({kind}) starts empty: {why}")),
        }
    }

    fn restore_changed_owned(&mut self, mut c: Checkpoint) -> Result<ConfigDiff, CheckpointError> {
        if c.format != FORMAT_NAME
            || (c.version != FORMAT_VERSION && c.version != JSON_FORMAT_VERSION)
        {
            return Err(CheckpointError::Version {
                found: c.version,
                writer: c.optimc.clone(),
            });
        }
        if c.config == self.fingerprint() && c.params == self.params() {
            self.restore_owned(c)?;
            return Ok(ConfigDiff::default());
        }
        let mut d = c.diff(self.config());
        if let Some(reason) = d.refused.clone() {
            return Err(CheckpointError::Incompatible { reason });
        }
        let saved = c
            .configuration
            .clone()
            .unwrap_or_else(|| self.config().clone());
        let state = |message: String| CheckpointError::State { message };
        let shapes: Vec<Vec<usize>> = (0..self.params().len())
            .map(|i| self.optimizer().param_shape(i).to_vec())
            .collect();
        let named: Vec<(&str, &[usize])> = self
            .params()
            .iter()
            .zip(&shapes)
            .map(|((n, _), s)| (n.as_str(), s.as_slice()))
            .collect();
        let mut fresh =
            Trainer::with_shapes(self.config(), &named).map_err(|e| state(e.to_string()))?;
        fresh.set_threads(self.optimizer().threads());
        let unchanged: Vec<bool> = self
            .config()
            .groups
            .iter()
            .map(|g| {
                saved
                    .groups
                    .iter()
                    .any(|s| s.name == g.name && s.options == g.options)
            })
            .collect();
        let notes = fresh
            .optimizer_mut()
            .adopt(c.optimizer, &unchanged)
            .map_err(|e| state(e.to_string()))?;
        d.notes.extend(notes);
        let mut schedule = fresh.schedule().clone();
        if same_schedule(&saved, self.config()) {
            schedule
                .restore(&c.schedule)
                .map_err(|e| state(e.to_string()))?;
            if schedule.epoch() != c.epoch {
                return Err(state(format!(
                    "epoch {} does not match the schedule's {}",
                    c.epoch,
                    schedule.epoch()
                )));
            }
            d.notes.push(format!(
                "the schedule continues from its saved state at epoch {}",
                c.epoch
            ));
        } else {
            if schedule.needs_metric() {
                return Err(CheckpointError::Incompatible {
                    reason: "the schedule changed, and it has a `plateau`, whose reductions depend on the metrics of past epochs, which a state file does not hold; keep the schedule and the groups' lrs as they were, and change the lr after loading with `Trainer::set_lr`".to_string(),
                });
            }
            if c.epoch > crate::limits::MAX_EPOCHS {
                return Err(state(format!(
                    "epoch {} is past the {} epochs a schedule is replayed over",
                    c.epoch,
                    crate::limits::MAX_EPOCHS
                )));
            }
            for _ in 0..c.epoch {
                schedule.step_counting_plateaus(); // no plateau: checked above
            }
            let lrs: Vec<String> = self
                .config()
                .groups
                .iter()
                .zip(schedule.lrs())
                .map(|(g, lr)| {
                    format!("{} {}", g.name, crate::diagnostic::text::format_number(*lr))
                })
                .collect();
            d.notes.push(format!(
                "the schedule is the new configuration's, stepped to epoch {}: lr {}",
                c.epoch,
                lrs.join(", ")
            ));
        }
        fresh.set_schedule(schedule);
        if let Some(note) = fresh.adopt_average(&saved, c.n_averaged, &mut c.tensors) {
            d.notes.push(note);
        }
        fresh.sync();
        *self = fresh;
        Ok(d)
    }
}

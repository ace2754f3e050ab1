//! Training [candle](https://github.com/huggingface/candle) models with a `.optim` file
//! (cargo feature `candle`, off by default).
//!
//! A [`CandleTrainer`] is a [`Trainer`] over named `candle_core::Var`s: the names are matched
//! against the groups' `params` patterns, [`step`](CandleTrainer::step) takes the gradients of a
//! `GradStore` (what `loss.backward()` returns) and updates the `Var`s in place, and
//! [`end_batch`](CandleTrainer::end_batch) after every step and
//! [`end_epoch`](CandleTrainer::end_epoch) after every epoch step the schedule where the file
//! says (`run = per_step(...)`: after every batch; else once per epoch; see
//! [`Trainer`]'s loop). The optimizers and schedules are
//! optimc's own (PyTorch's arithmetic, bit for bit): this layer only copies values between the
//! `Var`s and the trainer, so a `Var` ends up with exactly the values the plain [`Trainer`] would
//! give the same numbers.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use candle_nn::{Init, Linear, Module, VarBuilder, VarMap};
//! use optimc::{candle::CandleTrainer, Config};
//!
//! let config = Config::from_source("linear.optim", r#"
//!     optimizer = sgd(lr = 0.1, momentum = 0.9)
//!     group weights { params = "*.weight" }
//!     group biases  { params = "*.bias", lr = 0.05 }
//!     schedule = step(step_size = 100, gamma = 0.5)
//! "#)?;
//! // The model's Vars live in a VarMap, by name: `fc.weight` and `fc.bias`.
//! let varmap = VarMap::new();
//! let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu).pp("fc");
//! let model = Linear::new(
//!     vb.get_with_hints((1, 2), "weight", Init::Const(0.0))?,
//!     Some(vb.get_with_hints(1, "bias", Init::Const(0.0))?),
//! );
//! let mut trainer = CandleTrainer::from_varmap(&config, &varmap)?;
//!
//! // y = 2·x0 − x1 + 0.5
//! let x = Tensor::new(&[[1f32, 0.], [0., 1.], [1., 1.], [-1., 2.]], &Device::Cpu)?;
//! let y = Tensor::new(&[[2.5f32], [-0.5], [1.5], [-3.5]], &Device::Cpu)?;
//! let mse = |model: &Linear| model.forward(&x)?.sub(&y)?.sqr()?.mean_all();
//! for _epoch in 0..200 {
//!     trainer.step(&mse(&model)?.backward()?)?; // the GradStore of `loss.backward()`
//!     trainer.end_epoch()?;
//! }
//! let loss = mse(&model)?.to_scalar::<f32>()?;
//! assert!(loss < 1e-8, "{loss}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What it accepts, and what it does:
//!
//! - **Names.** [`CandleTrainer::new`] takes `(name, Var)` pairs, in the order of your choice;
//!   [`CandleTrainer::from_varmap`] takes every `Var` of a `candle_nn::VarMap`, sorted by name
//!   (a `VarMap` has no order of its own). `Var`s added to the map later are not seen. Every name
//!   must match a group, else [`ErrorKind::Groups`](crate::error::ErrorKind::Groups) lists all the unmatched ones; the same
//!   `Var` may not be registered under two names ([`CandleError::SharedVar`]: PyTorch refuses a
//!   parameter in two groups too).
//! - **Shapes.** Each `Var` is registered with its shape (`dims()`), as PyTorch sees a
//!   parameter's: optimizers that look at dimensions (a matrix's rows and columns) see the
//!   `Var`'s.
//! - **Gradients.** A `Var` with no gradient in the `GradStore` (it did not take part in the
//!   loss) is skipped, as PyTorch skips a parameter whose `grad` is `None`: its values and its
//!   optimizer state, step count included, stay as they are.
//! - **Dtype and device.** `Var`s may be f32, bf16 or f16 tensors on any device, stored
//!   contiguously; [`CandleError::Unsupported`] lists every one that is not. The optimizers
//!   compute in f32, as PyTorch's fused AdamW does for bf16 parameters: the optimizer state
//!   (moments, momentum buffers) is f32 whatever the dtype, and each step reads the parameter
//!   and its gradient as f32, updates it in f32, and writes it back rounded to the `Var`'s dtype
//!   (round to nearest, ties to even). An f32 `Var` ends with exactly the plain [`Trainer`]'s
//!   values; a bf16 or f16 one with those values rounded after every step.
//! - **Devices other than the CPU** (CUDA, Metal) cost a host copy every step: optimc's kernels
//!   are CPU code, so each step copies every stepped `Var`'s values and gradient from its device
//!   to the host, steps there, and writes the result back to the `Var` on its device, in its
//!   dtype (`Var::set` from a tensor built on that device). That is two device transfers per
//!   `Var` and step, which on a GPU may well cost more than the step itself. The values are
//!   those of a CPU `Var`, bit for bit (the host-copy path, forced on the CPU, is tested against
//!   the direct one for f32, bf16 and f16, save/load and the average included), but the path
//!   has not run on a real GPU here: this crate's tests run on machines without one.
//! - **Allocation.** Buffers are allocated once, in [`CandleTrainer::new`]; a step copies each
//!   gradient and parameter into them, steps the optimizer, and writes each updated parameter back
//!   with an in-place candle op (`Tensor::inplace_op1`), so no tensor is created. optimc's own
//!   code allocates nothing per step; candle's in-place op allocates a few bytes per `Var` for its
//!   aliasing check (pinned by `tests/it/candle.rs`). Building the `GradStore` (`backward`)
//!   allocates far more, in candle. A `Var` off the CPU reuses the same f32 buffers (and one
//!   bf16 or f16 buffer, allocated in `new`, for rounding the update to its dtype): nothing is
//!   allocated per step beyond what candle's device transfers themselves allocate (the host
//!   copies of the values and gradient, and the update's tensor on the device).
//! - **Checkpoints.** [`CandleTrainer::save`] writes the optimizer's and schedule's state and
//!   every `Var`'s values to one safetensors file ([`crate::checkpoint`]), the `Var`s under
//!   their names (as f32; bf16 and f16 widen exactly), so candle's `VarMap::load` reads f32
//!   weights straight from it; [`CandleTrainer::load`] puts both back (rounding to each
//!   `Var`'s dtype gives back the saved bf16/f16 values exactly). The [`Trainer`]'s own
//!   `save` / `load` keep the state alone, and `load_changed` resumes with a changed
//!   configuration.

use crate::config::Config;
use crate::error::Error;
use crate::host::{unsupported_message, HostBuffers};
use crate::train::Trainer;
use candle_core::{
    backprop::GradStore, CpuStorage, DType, Device, InplaceOp1, Layout, Storage, Tensor, Var,
    WithDType,
};

/// What the candle layer refuses: a `Var` it cannot step, or a gradient it cannot read. It
/// comes as the [`ErrorKind::Candle`](crate::error::ErrorKind::Candle) kind of an [`Error`];
/// names that match no group are [`ErrorKind::Groups`](crate::error::ErrorKind::Groups), and
/// gradients of the wrong size [`ErrorKind::Step`](crate::error::ErrorKind::Step), as for a
/// plain [`Trainer`].
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CandleError {
    /// Some `Var`s are not f32, bf16 or f16 tensors stored contiguously. Lists all of them.
    #[error("{}", unsupported_message("Var", .vars))]
    #[diagnostic(
        code(optimc::candle_unsupported_var),
        help("optimc's optimizers step f32, bf16 and f16 values: build the model with one of those dtypes (e.g. `VarBuilder::from_varmap(&varmap, DType::BF16, &device)`), and make a non-contiguous tensor contiguous before `Var::from_tensor`")
    )]
    Unsupported {
        /// Each refused `Var`: its name and what is wrong with it (e.g. "dtype f16").
        vars: Vec<(String, String)>,
    },
    /// The same `Var` is registered under two names.
    #[error("`{second}` is the same Var as `{first}`")]
    #[diagnostic(
        code(optimc::candle_shared_var),
        help("register each Var once: a parameter in two places would be stepped twice (PyTorch refuses a parameter in two groups too)")
    )]
    SharedVar { first: String, second: String },
    /// The gradient of a `Var` in the `GradStore` is not an f32, bf16 or f16 tensor.
    #[error("the gradient of `{name}` is {found}, but optimc reads f32, bf16 and f16 gradients")]
    #[diagnostic(
        code(optimc::candle_gradient),
        help("pass the GradStore that `loss.backward()` returned for this model; a gradient inserted by hand must have the parameter's dtype and device")
    )]
    Gradient { name: String, found: String },
    /// candle failed while reading a gradient or writing a parameter back.
    #[error("candle failed on `{name}`")]
    #[diagnostic(code(optimc::candle))]
    Candle {
        name: String,
        #[source]
        source: candle_core::Error,
    },
}

/// A [`Trainer`] stepping candle `Var`s from a `GradStore`. See the [module documentation](self).
#[derive(Debug)]
pub struct CandleTrainer {
    trainer: Trainer,
    /// The registered `Var`s, in registration order (the trainer's parameter order).
    vars: Vec<Var>,
    /// Per `Var`: its values and gradient as f32, for the step.
    host: HostBuffers,
    /// Whether every `Var` goes through a host copy, on the CPU too ([`transfer`]): tests force
    /// the path a GPU takes.
    force_host_copy: bool,
    /// The update of a bf16 or f16 `Var` written through a host copy, rounded to its dtype.
    rounded: RoundedScratch,
}

impl CandleTrainer {
    /// Builds the trainer of `config` over `vars` (full name, `Var`), registered in the given
    /// order: e.g. `[("fc.weight", w.clone()), ("fc.bias", b.clone())]`.
    ///
    /// # Errors
    /// [`CandleError::Unsupported`] listing every `Var` that is not a contiguous f32, bf16 or
    /// f16 tensor; [`CandleError::SharedVar`] if a `Var` comes twice; the
    /// [`Groups`](crate::error::ErrorKind::Groups) kind if names match no group (all of them
    /// listed) or a name comes twice.
    pub fn new<N: Into<String>>(
        config: &Config,
        vars: impl IntoIterator<Item = (N, Var)>,
    ) -> Result<CandleTrainer, Error> {
        CandleTrainer::build(config, vars, false)
    }

    /// [`new`](Self::new) with every `Var` going through the host copy a `Var` off the CPU takes,
    /// so tests on a machine without a GPU run that path.
    #[cfg(test)]
    pub(crate) fn new_through_host<N: Into<String>>(
        config: &Config,
        vars: impl IntoIterator<Item = (N, Var)>,
    ) -> Result<CandleTrainer, Error> {
        CandleTrainer::build(config, vars, true)
    }

    fn build<N: Into<String>>(
        config: &Config,
        vars: impl IntoIterator<Item = (N, Var)>,
        force_host_copy: bool,
    ) -> Result<CandleTrainer, Error> {
        let (names, vars): (Vec<String>, Vec<Var>) =
            vars.into_iter().map(|(n, v)| (n.into(), v)).unzip();
        let unsupported: Vec<(String, String)> = names
            .iter()
            .zip(&vars)
            .filter_map(|(name, var)| Some((name.clone(), unsupported(var)?)))
            .collect();
        if !unsupported.is_empty() {
            return Err(CandleError::Unsupported { vars: unsupported }.into());
        }
        for (i, var) in vars.iter().enumerate() {
            if let Some(j) = vars[..i].iter().position(|v| v.id() == var.id()) {
                return Err(CandleError::SharedVar {
                    first: names[j].clone(),
                    second: names[i].clone(),
                }
                .into());
            }
        }
        let params: Vec<(&str, &[usize])> = names
            .iter()
            .zip(&vars)
            .map(|(n, v)| (n.as_str(), v.dims()))
            .collect();
        let trainer = Trainer::with_shapes(config, &params)?;
        let largest_through_host = |dtype: DType| {
            vars.iter()
                .filter(|v| {
                    v.dtype() == dtype
                        && transfer(v.device(), force_host_copy) == Transfer::HostCopy
                })
                .map(|v| v.elem_count())
                .max()
                .unwrap_or(0)
        };
        let rounded = RoundedScratch {
            bf16: CpuStorage::BF16(Vec::with_capacity(largest_through_host(DType::BF16))),
            f16: CpuStorage::F16(Vec::with_capacity(largest_through_host(DType::F16))),
        };
        Ok(CandleTrainer {
            trainer,
            host: HostBuffers::new(vars.iter().map(|v| v.elem_count())),
            vars,
            force_host_copy,
            rounded,
        })
    }

    /// Builds the trainer of `config` over every `Var` of `varmap`, registered in name order.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_varmap(
        config: &Config,
        varmap: &candle_nn::VarMap,
    ) -> Result<CandleTrainer, Error> {
        let mut vars: Vec<(String, Var)> = {
            let data = varmap.data().lock().unwrap_or_else(|e| e.into_inner());
            data.iter().map(|(n, v)| (n.clone(), v.clone())).collect()
        };
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        CandleTrainer::new(config, vars)
    }

    /// One optimizer step with the current epoch's lrs (call it once per batch): every `Var`
    /// with a gradient in `grads` is updated in place; the others are skipped, their optimizer
    /// state untouched.
    ///
    /// # Errors
    /// [`CandleError::Gradient`] if a gradient is not f32 on the CPU, the
    /// [`Step`](crate::error::ErrorKind::Step) kind if one has the wrong number of values; no
    /// `Var` and no optimizer state is changed then. [`CandleError::Candle`] if candle fails to
    /// write a parameter back (the `Var`s before it in registration order are already updated
    /// then).
    pub fn step(&mut self, grads: &GradStore) -> Result<(), Error> {
        // The average (`average = ...`) reads every parameter, those without a gradient too.
        let averaging = self.trainer.averaging_due();
        for (i, var) in self.vars.iter().enumerate() {
            let name = &self.trainer.params()[i].0;
            let transfer = transfer(var.device(), self.force_host_copy);
            self.host.has_grad[i] = match grads.get(var) {
                Some(grad) => {
                    copy_out(grad, transfer, &mut self.host.grads[i]).map_err(
                        |found| match found {
                            Problem::Candle(source) => CandleError::Candle {
                                name: name.clone(),
                                source,
                            },
                            Problem::Unsupported(found) => CandleError::Gradient {
                                name: name.clone(),
                                found,
                            },
                        },
                    )?;
                    read_var(name, var, transfer, &mut self.host.data[i])?;
                    true
                }
                None => {
                    if averaging {
                        read_var(name, var, transfer, &mut self.host.data[i])?;
                    }
                    false
                }
            };
        }
        self.host.step(&mut self.trainer)?;
        for (i, var) in self.vars.iter().enumerate() {
            if self.host.has_grad[i] {
                let transfer = transfer(var.device(), self.force_host_copy);
                write_back(var, &self.host.data[i], transfer, &mut self.rounded).map_err(
                    |source| CandleError::Candle {
                        name: self.trainer.params()[i].0.clone(),
                        source,
                    },
                )?;
            }
        }
        Ok(())
    }

    crate::host::trainer_loop_calls!();

    /// The registered `Var`s with their names, in registration order.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &Var)> + '_ {
        self.trainer
            .params()
            .iter()
            .zip(&self.vars)
            .map(|((name, _), var)| (name.as_str(), var))
    }

    /// The averaged copy of `Var` `name` (`average = ...`, see [`Trainer::averaged`]) as an
    /// f32 tensor of the `Var`'s shape on the CPU, as `AveragedModel.module`'s parameter:
    /// `None` without an average, for a name that is not registered, or before the first
    /// update.
    ///
    /// # Errors
    /// [`CandleError::Candle`] if candle cannot build the tensor.
    pub fn averaged(&self, name: &str) -> Result<Option<candle_core::Tensor>, Error> {
        let Some(values) = self.trainer.averaged(name) else {
            return Ok(None);
        };
        let i = self
            .trainer
            .params()
            .iter()
            .position(|(n, _)| n == name)
            .expect("an averaged parameter is registered");
        let t =
            candle_core::Tensor::from_slice(values, self.vars[i].dims(), &candle_core::Device::Cpu)
                .map_err(|source| CandleError::Candle {
                    name: name.to_string(),
                    source,
                })?;
        Ok(Some(t))
    }

    /// Copies the averaged parameters (`average = ...`) into the `Var`s of `varmap` that have
    /// the registered names (e.g. the `VarMap` of an evaluation copy of the model, as
    /// `AveragedModel.module` is evaluated in PyTorch), converted to each `Var`'s dtype and
    /// moved to its device; other
    /// `Var`s of `varmap` are left as they are. Returns how many `Var`s were written: 0
    /// without an average or before its first update.
    ///
    /// # Errors
    /// [`CandleError::Candle`] if a `Var` of `varmap` has another shape than the registered
    /// one, or candle cannot write it (the `Var`s before it, in registration order, are
    /// written then).
    pub fn copy_averaged_into(&self, varmap: &candle_nn::VarMap) -> Result<usize, Error> {
        let data = varmap.data().lock().unwrap_or_else(|e| e.into_inner());
        let mut copied = 0;
        for (name, _) in self.trainer.params() {
            let (Some(var), Some(avg)) = (data.get(name), self.averaged(name)?) else {
                continue;
            };
            avg.to_dtype(var.dtype())
                .and_then(|t| t.to_device(var.device()))
                .and_then(|t| var.set(&t))
                .map_err(|source| CandleError::Candle {
                    name: name.clone(),
                    source,
                })?;
            copied += 1;
        }
        Ok(copied)
    }

    /// How many updates the average holds (`AveragedModel.n_averaged`); 0 without one.
    pub fn n_averaged(&self) -> u64 {
        self.trainer.n_averaged()
    }

    /// Saves the trainer's state and every `Var`'s values to `path`, atomically (see
    /// [`crate::checkpoint`]): the `Var`s under their registered names and shapes, as f32.
    ///
    /// # Errors
    /// As [`Trainer::save`]; [`CandleError::Candle`] if a `Var` cannot be read.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let mut values = Vec::with_capacity(self.vars.len());
        for (i, var) in self.vars.iter().enumerate() {
            let name = &self.trainer.params()[i].0;
            let mut v = Vec::with_capacity(var.elem_count());
            read_var(
                name,
                var,
                transfer(var.device(), self.force_host_copy),
                &mut v,
            )?;
            values.push(v);
        }
        let views: Vec<(String, Vec<usize>, &[f32])> = self
            .vars
            .iter()
            .zip(self.trainer.params())
            .zip(&values)
            .map(|((var, (name, _)), v)| (name.clone(), var.dims().to_vec(), v.as_slice()))
            .collect();
        self.trainer.save_tensors(path.as_ref(), &views)
    }

    /// Loads a state file written by [`save`](Self::save) into the trainer and the `Var`s
    /// (each rounded to its dtype). A file of the same configuration and `Var`s only; on error
    /// neither the trainer nor any `Var` has changed (but for a `Var` candle fails to write,
    /// reported as [`CandleError::Candle`], after the state was restored).
    ///
    /// # Errors
    /// As [`Trainer::load`]; [`Params`](crate::checkpoint::CheckpointError::Params) if the
    /// file holds no values for a `Var` (it was saved with `trainer().save`).
    pub fn load(&mut self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let mut c = self.trainer.read_checked(path.as_ref())?;
        let values = self.trainer.take_params(&mut c)?;
        self.trainer.restore_owned(c)?;
        for ((var, v), (name, _)) in self.vars.iter().zip(&values).zip(self.trainer.params()) {
            let transfer = transfer(var.device(), self.force_host_copy);
            write_back(var, v, transfer, &mut self.rounded).map_err(|source| {
                CandleError::Candle {
                    name: name.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }
}

/// What [`candle_nn::Optimizer::new`] takes for a [`CandleTrainer`]: the configuration, and the
/// names of the `Var`s, in the order of the `Vec<Var>` given to `new` (the trait passes `Var`s
/// without names, but groups match names).
///
/// `CandleConfig::from(config)` (or `config.into()`) gives no names: the `Var`s are then named
/// by their position, `"0"`, `"1"`, ..., which a file without groups (one group, `params =
/// "*"`) matches.
///
/// ```
/// use candle_core::{DType, Device, Tensor, Var};
/// use candle_nn::Optimizer;
/// use optimc::{candle::{CandleConfig, CandleTrainer}, Config};
///
/// let config = Config::from_source("sgd.optim", "optimizer = sgd(lr = 0.1)")?;
/// let w = Var::new(&[1.0f32, 2.0], &Device::Cpu)?;
/// let mut opt = CandleTrainer::new_optimizer(vec![w.clone()], CandleConfig::from(config))?;
/// let loss = w.as_tensor().sqr()?.sum_all()?; // gradient 2·w
/// opt.backward_step(&loss)?;
/// let w = w.to_vec1::<f32>()?;
/// assert!((w[0] - 0.8).abs() < 1e-6 && (w[1] - 1.6).abs() < 1e-6, "{w:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CandleConfig {
    pub config: Config,
    /// One name per `Var`, or none (named by position).
    pub names: Vec<String>,
}

impl From<Config> for CandleConfig {
    fn from(config: Config) -> Self {
        CandleConfig {
            config,
            names: Vec::new(),
        }
    }
}

impl CandleTrainer {
    /// [`candle_nn::Optimizer::new`] by another name, so it needs no `use candle_nn::Optimizer`
    /// (the trait's `new` and [`CandleTrainer::new`] share a name).
    ///
    /// # Errors
    /// As [`new`](Self::new) (as a `candle_core::Error` wrapping the [`Error`]); also if
    /// `config.names` is neither empty nor one name per `Var`.
    pub fn new_optimizer(vars: Vec<Var>, config: CandleConfig) -> candle_core::Result<Self> {
        <CandleTrainer as candle_nn::Optimizer>::new(vars, config)
    }
}

/// candle's optimizer interface, so a `CandleTrainer` drops into code written for
/// `candle_nn::AdamW` or `candle_nn::SGD`: `backward_step(&loss)` and `step(&grads)` take one
/// optimizer step with the schedule's current lrs. The schedule steps only on
/// [`CandleTrainer::end_batch`] / [`end_epoch`](CandleTrainer::end_epoch) (where the file's
/// `run` says) or [`step_schedule`](CandleTrainer::step_schedule).
/// Errors come as a `candle_core::Error` wrapping optimc's [`Error`] (its message and help).
impl candle_nn::Optimizer for CandleTrainer {
    type Config = CandleConfig;

    fn new(vars: Vec<Var>, config: CandleConfig) -> candle_core::Result<Self> {
        let names = if config.names.is_empty() {
            (0..vars.len()).map(|i| i.to_string()).collect()
        } else if config.names.len() == vars.len() {
            config.names
        } else {
            candle_core::bail!(
                "CandleConfig has {} names for {} Vars: give one name per Var, in order, or none",
                config.names.len(),
                vars.len()
            )
        };
        CandleTrainer::new(&config.config, names.into_iter().zip(vars)).map_err(to_candle)
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        CandleTrainer::step(self, grads).map_err(to_candle)
    }

    /// Group 0's lr in force.
    fn learning_rate(&self) -> f64 {
        self.trainer.optimizer().lr(0)
    }

    /// Sets every group's lr to `lr` ([`Trainer::set_lr`]: the schedule continues from it).
    fn set_learning_rate(&mut self, lr: f64) {
        for group in 0..self.trainer.optimizer().num_groups() {
            let set = self.trainer.set_lr(group, lr);
            debug_assert!(set.is_ok(), "group {group} exists");
        }
    }
}

/// An optimc error as a candle one, rendered with its help line.
fn to_candle(e: Error) -> candle_core::Error {
    candle_core::Error::wrap(format!("{e:?}"))
}

/// Why `var` cannot be stepped, or `None` if it can. Any device will do ([`transfer`]).
fn unsupported(var: &Var) -> Option<String> {
    if !matches!(var.dtype(), DType::F32 | DType::BF16 | DType::F16) {
        Some(format!("dtype {}", var.dtype().as_str()))
    } else if !var.is_contiguous() {
        Some("not contiguous".to_string())
    } else {
        None
    }
}

/// How a step reads a `Var` and writes it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transfer {
    /// Read from its CPU storage, written back in place ([`WriteBack`]).
    InPlace,
    /// Copied to the host, written back by `Var::set` from a tensor of its dtype built on its
    /// device: what a `Var` off the CPU (CUDA, Metal) needs, as optimc's kernels are CPU code.
    HostCopy,
}

/// The one place that decides how a `Var` on `device` is stepped: in place on the CPU, through
/// a host copy elsewhere (or everywhere when `force_host_copy`, for tests).
fn transfer(device: &Device, force_host_copy: bool) -> Transfer {
    if device.is_cpu() && !force_host_copy {
        Transfer::InPlace
    } else {
        Transfer::HostCopy
    }
}

/// Why [`copy_out`] could not read a tensor.
enum Problem {
    /// Not an f32, bf16 or f16 tensor: what it is instead.
    Unsupported(String),
    /// candle failed to make it contiguous or to copy it to the host.
    Candle(candle_core::Error),
}

/// [`copy_out`] of a `Var`'s values, its failures as a [`CandleError`].
fn read_var(name: &str, var: &Var, transfer: Transfer, out: &mut Vec<f32>) -> Result<(), Error> {
    copy_out(var, transfer, out).map_err(|found| {
        match found {
            Problem::Candle(source) => CandleError::Candle {
                name: name.to_string(),
                source,
            },
            Problem::Unsupported(why) => CandleError::Unsupported {
                vars: vec![(name.to_string(), why)],
            },
        }
        .into()
    })
}

/// Copies the values of `t` into `out` as f32 (cleared first; no allocation once `out` has the
/// capacity); bf16 and f16 values widen exactly. A tensor off the CPU (always, with
/// [`Transfer::HostCopy`]) is first copied to the host, and a non-contiguous one made
/// contiguous, by candle (which allocates).
fn copy_out(t: &Tensor, transfer: Transfer, out: &mut Vec<f32>) -> Result<(), Problem> {
    let t = if transfer == Transfer::HostCopy || !t.device().is_cpu() {
        t.to_device(&Device::Cpu).map_err(Problem::Candle)?
    } else {
        t.clone()
    };
    let t = t.contiguous().map_err(Problem::Candle)?;
    let (storage, layout) = t.storage_and_layout();
    let unsupported = || Problem::Unsupported(format!("dtype {}", t.dtype().as_str()));
    let Storage::Cpu(cpu) = &*storage else {
        unreachable!("copied to the CPU above")
    };
    let (start, end) = layout.contiguous_offsets().ok_or_else(unsupported)?;
    out.clear();
    match cpu {
        CpuStorage::F32(values) => out.extend_from_slice(&values[start..end]),
        CpuStorage::BF16(values) => out.extend(values[start..end].iter().map(|v| v.to_f32())),
        CpuStorage::F16(values) => out.extend(values[start..end].iter().map(|v| v.to_f32())),
        _ => return Err(unsupported()),
    }
    Ok(())
}

/// Writes the updated `values` into `var`, rounded to its dtype: in place on the CPU, or as a
/// tensor built on its device from the host values (rounded in `rounded` first for bf16 and
/// f16, so the device gets the `Var`'s own dtype and candle's upload is the only allocation).
fn write_back(
    var: &Var,
    values: &[f32],
    transfer: Transfer,
    rounded: &mut RoundedScratch,
) -> candle_core::Result<()> {
    if transfer == Transfer::InPlace {
        return var.inplace_op1(&WriteBack(values));
    }
    fn upload<T: WithDType>(
        buffer: &mut Vec<T>,
        values: &[f32],
        var: &Var,
    ) -> candle_core::Result<Tensor> {
        buffer.clear();
        buffer.extend(values.iter().map(|&v| round::<T>(v)));
        Tensor::from_slice(buffer, var.shape(), var.device())
    }
    let update = match (var.dtype(), &mut rounded.bf16, &mut rounded.f16) {
        (DType::F32, _, _) => Tensor::from_slice(values, var.shape(), var.device())?,
        (DType::BF16, CpuStorage::BF16(buffer), _) => upload(buffer, values, var)?,
        (DType::F16, _, CpuStorage::F16(buffer)) => upload(buffer, values, var)?,
        _ => candle_core::bail!("optimc writes f32, bf16 and f16 parameters only"),
    };
    var.set(&update)
}

/// `v` rounded to `T` (to nearest, ties to even: through f64, which holds every f32 exactly,
/// so this is the one rounding of f32 to bf16 or f16).
fn round<T: WithDType>(v: f32) -> T {
    T::from_f64(f64::from(v))
}

/// The host buffers a `Var` written through a host copy is rounded into, sized in `new` for the
/// largest such `Var` of each dtype (empty without one): always `CpuStorage::BF16` and
/// `CpuStorage::F16`.
#[derive(Debug)]
struct RoundedScratch {
    bf16: CpuStorage,
    f16: CpuStorage,
}

/// The in-place op writing updated values into a `Var`'s storage on the CPU, rounded to its
/// dtype ([`round`]).
struct WriteBack<'a>(&'a [f32]);

impl InplaceOp1 for WriteBack<'_> {
    fn name(&self) -> &'static str {
        "optimc-write-back"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("optimc writes contiguous parameters only")
        };
        fn round_all<T: WithDType>(out: &mut [T], values: &[f32]) {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = round(v);
            }
        }
        match storage {
            CpuStorage::F32(values) => values[start..end].copy_from_slice(self.0),
            CpuStorage::BF16(values) => round_all(&mut values[start..end], self.0),
            CpuStorage::F16(values) => round_all(&mut values[start..end], self.0),
            _ => candle_core::bail!("optimc writes f32, bf16 and f16 parameters only"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adam with two groups, an average, and a `Var` without a gradient at some steps.
    const SOURCE: &str = r#"
optimizer = adamw(lr = 0.01, weight_decay = 1e-2, amsgrad = true)
group weights { params = "*.weight" }
group biases  { params = "*.bias", lr = 0.05, weight_decay = 0 }
schedule = step(step_size = 2, gamma = 0.5)
average = ema(decay = 0.75, start = 1)
"#;

    const SHAPES: [(&str, &[usize]); 2] = [("fc.weight", &[2, 3]), ("fc.bias", &[3])];

    fn bits(t: &Tensor) -> Vec<u32> {
        let t = t.flatten_all().unwrap().to_dtype(DType::F32).unwrap();
        t.to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    fn vars(dtype: DType, scale: f32) -> Vec<(String, Var)> {
        SHAPES
            .iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                let v: Vec<f32> = (0..n).map(|i| scale * (0.3 * i as f32 - 0.7)).collect();
                let t = Tensor::from_vec(v, *shape, &Device::Cpu).unwrap();
                let var = Var::from_tensor(&t.to_dtype(dtype).unwrap()).unwrap();
                (name.to_string(), var)
            })
            .collect()
    }

    /// Step `step`'s gradients (in the `Var`s' dtype); the bias has none at step 2.
    fn grads(vars: &[(String, Var)], step: usize) -> GradStore {
        let mut store = GradStore::default();
        for (k, (name, var)) in vars.iter().enumerate() {
            if name == "fc.bias" && step == 2 {
                continue;
            }
            let n = var.elem_count();
            let g: Vec<f32> = (0..n)
                .map(|i| ((step * 7 + i * 3 + k) % 5) as f32 * 0.031 - 0.06)
                .collect();
            let t = Tensor::from_vec(g, var.shape(), &Device::Cpu).unwrap();
            store.insert(var, t.to_dtype(var.dtype()).unwrap());
        }
        store
    }

    fn assert_same(direct: &CandleTrainer, host: &CandleTrainer, what: &str) {
        for ((name, a), (_, b)) in direct.vars().zip(host.vars()) {
            assert_eq!(a.dtype(), b.dtype(), "{name} {what}");
            assert_eq!(bits(a), bits(b), "{name} {what}");
            let (a, b) = (direct.averaged(name).unwrap(), host.averaged(name).unwrap());
            assert_eq!(
                a.as_ref().map(bits),
                b.as_ref().map(bits),
                "average of {name} {what}"
            );
        }
        assert_eq!(direct.n_averaged(), host.n_averaged(), "{what}");
        assert_eq!(direct.lrs(), host.lrs(), "{what}");
        assert_eq!(
            direct.trainer().optimizer().state(),
            host.trainer().optimizer().state(),
            "{what}"
        );
    }

    fn run(trainer: &mut CandleTrainer, steps: std::ops::Range<usize>) {
        for step in steps {
            let vars: Vec<(String, Var)> = trainer
                .vars()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect();
            trainer.step(&grads(&vars, step)).unwrap();
            if step % 2 == 1 {
                trainer.end_epoch().unwrap();
            }
        }
    }

    #[test]
    fn only_the_cpu_is_stepped_in_place_unless_forced() {
        assert_eq!(transfer(&Device::Cpu, false), Transfer::InPlace);
        assert_eq!(transfer(&Device::Cpu, true), Transfer::HostCopy);
    }

    /// The host-copy path a `Var` off the CPU takes (forced here, on the CPU) gives the direct
    /// path's bits for each dtype: steps, the average, save and load (either way round), and
    /// the averaged copy written into a `VarMap`.
    #[test]
    fn the_host_copy_path_matches_the_direct_path_bit_for_bit() {
        let config = Config::from_source("host.optim", SOURCE).unwrap();
        let dir = std::env::temp_dir().join(format!("optimc-candle-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for dtype in [DType::F32, DType::BF16, DType::F16] {
            let mut direct = CandleTrainer::new(&config, vars(dtype, 1.0)).unwrap();
            let mut host = CandleTrainer::new_through_host(&config, vars(dtype, 1.0)).unwrap();
            assert!(!direct.force_host_copy && host.force_host_copy);
            // The rounding buffer of the dtype is sized for the largest Var, once.
            let capacity = |r: &RoundedScratch| match (&r.bf16, &r.f16) {
                (CpuStorage::BF16(b), CpuStorage::F16(f)) => (b.capacity(), f.capacity()),
                _ => unreachable!(),
            };
            let expected = match dtype {
                DType::BF16 => (6, 0),
                DType::F16 => (0, 6),
                _ => (0, 0),
            };
            assert_eq!(capacity(&host.rounded), expected, "{dtype:?}");
            assert_eq!(capacity(&direct.rounded), (0, 0), "{dtype:?}");

            for step in 0..4 {
                run(&mut direct, step..step + 1);
                run(&mut host, step..step + 1);
                assert_same(&direct, &host, &format!("{dtype:?} after step {step}"));
            }
            assert_eq!(capacity(&host.rounded), expected, "{dtype:?} no regrowth");

            let (direct_path, host_path) = (dir.join("direct.st"), dir.join("host.st"));
            direct.save(&direct_path).unwrap();
            host.save(&host_path).unwrap();
            let (a, b) = (std::fs::read(&direct_path), std::fs::read(&host_path));
            assert_eq!(a.unwrap(), b.unwrap(), "{dtype:?}: the same file");
            // Fresh Vars of other values, each path loading the other's file.
            let mut direct2 = CandleTrainer::new(&config, vars(dtype, -2.0)).unwrap();
            let mut host2 = CandleTrainer::new_through_host(&config, vars(dtype, -2.0)).unwrap();
            direct2.load(&host_path).unwrap();
            host2.load(&direct_path).unwrap();
            assert_same(&direct, &host2, &format!("{dtype:?} loaded"));
            assert_same(&direct2, &host2, &format!("{dtype:?} loaded"));
            for trainer in [&mut direct, &mut host, &mut direct2, &mut host2] {
                run(trainer, 4..8);
            }
            assert_same(&direct, &host, &format!("{dtype:?} at the end"));
            assert_same(&direct, &host2, &format!("{dtype:?} resumed"));
            assert_same(&direct, &direct2, &format!("{dtype:?} resumed"));

            let eval = |trainer: &CandleTrainer| {
                let varmap = candle_nn::VarMap::new();
                let vb = candle_nn::VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
                for (name, shape) in SHAPES {
                    vb.get(shape, name).unwrap();
                }
                assert_eq!(trainer.copy_averaged_into(&varmap).unwrap(), 2);
                let data = varmap.data().lock().unwrap();
                SHAPES
                    .iter()
                    .map(|(name, _)| bits(data[*name].as_tensor()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(eval(&direct), eval(&host), "{dtype:?} averaged copy");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

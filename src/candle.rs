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
//! - **Dtype and device.** `Var`s may be f32, bf16 or f16 tensors on `Device::Cpu`, stored
//!   contiguously; [`CandleError::Unsupported`] lists every one that is not. The optimizers
//!   compute in f32, as PyTorch's fused AdamW does for bf16 parameters: the optimizer state
//!   (moments, momentum buffers) is f32 whatever the dtype, and each step reads the parameter
//!   and its gradient as f32, updates it in f32, and writes it back rounded to the `Var`'s dtype
//!   (round to nearest, ties to even). An f32 `Var` ends with exactly the plain [`Trainer`]'s
//!   values; a bf16 or f16 one with those values rounded after every step.
//! - **Allocation.** Buffers are allocated once, in [`CandleTrainer::new`]; a step copies each
//!   gradient and parameter into them, steps the optimizer, and writes each updated parameter back
//!   with an in-place candle op (`Tensor::inplace_op1`), so no tensor is created. optimc's own
//!   code allocates nothing per step; candle's in-place op allocates a few bytes per `Var` for its
//!   aliasing check (pinned by `tests/it/candle.rs`). Building the `GradStore` (`backward`)
//!   allocates far more, in candle.
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
    backprop::GradStore, CpuStorage, DType, InplaceOp1, Layout, Storage, Tensor, Var, WithDType,
};

/// What the candle layer refuses: a `Var` it cannot step, or a gradient it cannot read. It
/// comes as the [`ErrorKind::Candle`](crate::error::ErrorKind::Candle) kind of an [`Error`];
/// names that match no group are [`ErrorKind::Groups`](crate::error::ErrorKind::Groups), and
/// gradients of the wrong size [`ErrorKind::Step`](crate::error::ErrorKind::Step), as for a
/// plain [`Trainer`].
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CandleError {
    /// Some `Var`s are not f32, bf16 or f16 tensors on the CPU, stored contiguously. Lists all
    /// of them.
    #[error("{}", unsupported_message("Var", .vars))]
    #[diagnostic(
        code(optimc::candle_unsupported_var),
        help("optimc's optimizers step f32, bf16 and f16 values on the CPU: build the model on `Device::Cpu` with one of those dtypes (e.g. `VarBuilder::from_varmap(&varmap, DType::BF16, &Device::Cpu)`), and make a non-contiguous tensor contiguous before `Var::from_tensor`")
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
    /// The gradient of a `Var` in the `GradStore` is not an f32, bf16 or f16 tensor on the CPU.
    #[error("the gradient of `{name}` is {found}, but optimc reads f32, bf16 and f16 gradients on the CPU")]
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
}

impl CandleTrainer {
    /// Builds the trainer of `config` over `vars` (full name, `Var`), registered in the given
    /// order: e.g. `[("fc.weight", w.clone()), ("fc.bias", b.clone())]`.
    ///
    /// # Errors
    /// [`CandleError::Unsupported`] listing every `Var` that is not a contiguous f32 tensor on
    /// the CPU; [`CandleError::SharedVar`] if a `Var` comes twice; the
    /// [`Groups`](crate::error::ErrorKind::Groups) kind if names match no group (all of them
    /// listed) or a name comes twice.
    pub fn new<N: Into<String>>(
        config: &Config,
        vars: impl IntoIterator<Item = (N, Var)>,
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
        Ok(CandleTrainer {
            trainer,
            host: HostBuffers::new(vars.iter().map(|v| v.elem_count())),
            vars,
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
            self.host.has_grad[i] = match grads.get(var) {
                Some(grad) => {
                    copy_out(grad, &mut self.host.grads[i]).map_err(|found| match found {
                        Problem::Candle(source) => CandleError::Candle {
                            name: name.clone(),
                            source,
                        },
                        Problem::Unsupported(found) => CandleError::Gradient {
                            name: name.clone(),
                            found,
                        },
                    })?;
                    copy_out(var, &mut self.host.data[i]).map_err(|found| match found {
                        Problem::Candle(source) => CandleError::Candle {
                            name: name.clone(),
                            source,
                        },
                        Problem::Unsupported(why) => CandleError::Unsupported {
                            vars: vec![(name.clone(), why)],
                        },
                    })?;
                    true
                }
                None => {
                    if averaging {
                        copy_out(var, &mut self.host.data[i]).map_err(|found| match found {
                            Problem::Candle(source) => CandleError::Candle {
                                name: name.clone(),
                                source,
                            },
                            Problem::Unsupported(why) => CandleError::Unsupported {
                                vars: vec![(name.clone(), why)],
                            },
                        })?;
                    }
                    false
                }
            };
        }
        self.host.step(&mut self.trainer)?;
        for (i, var) in self.vars.iter().enumerate() {
            if self.host.has_grad[i] {
                var.inplace_op1(&WriteBack(&self.host.data[i]))
                    .map_err(|source| CandleError::Candle {
                        name: self.trainer.params()[i].0.clone(),
                        source,
                    })?;
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
    /// `AveragedModel.module` is evaluated in PyTorch), converted to each `Var`'s dtype; other
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
            copy_out(var, &mut v).map_err(|found| match found {
                Problem::Candle(source) => CandleError::Candle {
                    name: name.clone(),
                    source,
                },
                Problem::Unsupported(why) => CandleError::Unsupported {
                    vars: vec![(name.clone(), why)],
                },
            })?;
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
            var.inplace_op1(&WriteBack(v))
                .map_err(|source| CandleError::Candle {
                    name: name.clone(),
                    source,
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
            self.trainer.set_lr(group, lr);
        }
    }
}

/// An optimc error as a candle one, rendered with its help line.
fn to_candle(e: Error) -> candle_core::Error {
    candle_core::Error::wrap(format!("{e:?}"))
}

/// Why `var` cannot be stepped, or `None` if it can.
fn unsupported(var: &Var) -> Option<String> {
    if !var.device().is_cpu() {
        Some(format!("on {:?}", var.device().location()))
    } else if !matches!(var.dtype(), DType::F32 | DType::BF16 | DType::F16) {
        Some(format!("dtype {}", var.dtype().as_str()))
    } else if !var.is_contiguous() {
        Some("not contiguous".to_string())
    } else {
        None
    }
}

/// Why [`copy_out`] could not read a tensor.
enum Problem {
    /// Not an f32, bf16 or f16 tensor on the CPU: what it is instead.
    Unsupported(String),
    /// candle failed to make it contiguous.
    Candle(candle_core::Error),
}

/// Copies the values of `t` into `out` as f32 (cleared first; no allocation once `out` has the
/// capacity); bf16 and f16 values widen exactly. A non-contiguous `t` is first made contiguous
/// by candle (which allocates).
fn copy_out(t: &Tensor, out: &mut Vec<f32>) -> Result<(), Problem> {
    let t = t.contiguous().map_err(Problem::Candle)?;
    let (storage, layout) = t.storage_and_layout();
    let cpu = match &*storage {
        Storage::Cpu(cpu) => cpu,
        _ => {
            let location = t.device().location();
            return Err(Problem::Unsupported(format!("on {location:?}")));
        }
    };
    let unsupported = || Problem::Unsupported(format!("dtype {}", t.dtype().as_str()));
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

/// The in-place op writing updated values into a `Var`'s storage, rounded to its dtype (to
/// nearest, ties to even: through f64, which holds every f32 exactly, so this is the one
/// rounding of f32 to bf16 or f16).
struct WriteBack<'a>(&'a [f32]);

impl InplaceOp1 for WriteBack<'_> {
    fn name(&self) -> &'static str {
        "optimc-write-back"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("optimc writes contiguous parameters only")
        };
        fn round<T: WithDType>(out: &mut [T], values: &[f32]) {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = T::from_f64(f64::from(v));
            }
        }
        match storage {
            CpuStorage::F32(values) => values[start..end].copy_from_slice(self.0),
            CpuStorage::BF16(values) => round(&mut values[start..end], self.0),
            CpuStorage::F16(values) => round(&mut values[start..end], self.0),
            _ => candle_core::bail!("optimc writes f32, bf16 and f16 parameters only"),
        }
        Ok(())
    }
}

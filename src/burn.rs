//! Training [burn](https://burn.dev) modules with a `.optim` file (cargo feature `burn`, off by
//! default).
//!
//! Two ways in, depending on how much of the file you want burn to see:
//!
//! - **[`BurnTrainer`]: the whole file.** A [`Trainer`] over a burn module's float parameters,
//!   named by their paths in the module (`fc1.weight`, `layers.0.bias`, as burn's own
//!   `ParamGroup::from_path` names them). The names are matched against the groups' `params`
//!   patterns, so every per-group option (lr, weight decay, momentum, betas, ...) applies;
//!   [`step`](BurnTrainer::step) takes the `GradientsParams` of a backward pass, as burn's
//!   optimizers do, and returns the updated module; [`end_batch`](BurnTrainer::end_batch) after
//!   every step and [`end_epoch`](BurnTrainer::end_epoch) after every epoch step the schedule
//!   where the file says (`run = per_step(...)`: after every batch; else once per epoch; see
//!   [`Trainer`]'s loop). The optimizers and schedules are optimc's own (PyTorch's arithmetic, bit for
//!   bit): this layer only copies values between the module's tensors and the trainer, so an f32
//!   parameter ends up with exactly the values the plain [`Trainer`] gives the same numbers.
//! - **[`BurnSchedule`]: only the lrs, for burn's optimizers.** A group's schedule as burn's
//!   `LrScheduler` (each `step()` returns the lr in force, then moves on one step, as burn's own
//!   schedulers do), and [`module_lr_scheduler`], every group's schedule as a burn
//!   `ModuleLrScheduler` whose parameter groups are the `.optim` file's: burn's `AdamW` or `Sgd`
//!   then steps each parameter with its group's lr. Only the lr comes from the file there;
//!   burn's optimizer keeps its own options and arithmetic.
//!
//! ```
//! use burn::module::Module;
//! use burn::nn::{Linear, LinearConfig};
//! use burn::optim::GradientsParams;
//! use burn::tensor::{Device, Tensor};
//! use optimc::{burn::BurnTrainer, Config};
//!
//! #[derive(Module, Debug)]
//! struct Model {
//!     fc: Linear,
//! }
//!
//! let config = Config::from_source("linear.optim", r#"
//!     optimizer = sgd(lr = 0.1, momentum = 0.9)
//!     group weights { params = "*.weight" }
//!     group biases  { params = "*.bias", lr = 0.05 }
//!     schedule = step(step_size = 100, gamma = 0.5)
//! "#)?;
//! let device = Device::default().autodiff();
//! let mut model = Model { fc: LinearConfig::new(2, 1).init(&device) };
//! let mut trainer = BurnTrainer::new(&config, &model)?; // `fc.weight`, `fc.bias`
//!
//! // y = 2·x0 − x1 + 0.5
//! let x = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]], &device);
//! let y = Tensor::<2>::from_floats([[2.5], [-0.5], [1.5], [-3.5]], &device);
//! let mse = |model: &Model| (model.fc.forward(x.clone()) - y.clone()).square().mean();
//! for _epoch in 0..200 {
//!     let grads = GradientsParams::from_grads(mse(&model).backward(), &model);
//!     model = trainer.step(&model, grads)?;
//!     trainer.end_epoch()?;
//! }
//! let loss: f32 = mse(&model).into_scalar();
//! assert!(loss < 1e-8, "{loss}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What [`BurnTrainer`] accepts, and what it does:
//!
//! - **Names.** Every float parameter of the module given to [`BurnTrainer::new`], in the
//!   module's visiting order (the order of its fields), named by its path. Every name must match
//!   a group, else the [`Groups`](crate::error::ErrorKind::Groups) kind lists all the unmatched
//!   ones; a parameter met twice (the same `ParamId`) is refused ([`BurnError::SharedParam`]:
//!   PyTorch refuses a parameter in two groups too).
//! - **Steps.** [`step`](BurnTrainer::step) reads the module by reference and returns the updated
//!   one (burn's modules are cheap to clone: tensors are shared handles), so on an error the
//!   caller still has its module. Parameters are found by `ParamId`: a module of the same shape
//!   but other ids (another `init`) is refused ([`BurnError::Unregistered`]). A parameter with no
//!   gradient in the `GradientsParams` is skipped, as PyTorch skips a parameter whose `grad` is
//!   `None`: its values and its optimizer state, step count included, stay as they are.
//! - **Dtype and device.** Parameters may be f32, bf16 or f16 tensors on any device;
//!   [`BurnError::Unsupported`] lists every one that is not. The optimizers compute in f32, as
//!   PyTorch's fused AdamW does for bf16 parameters: the optimizer state is f32 whatever the
//!   dtype, and each step reads the parameter and its gradient as f32, updates it, and writes it
//!   back as a new tensor of the parameter's dtype on its device, with its autodiff settings
//!   (`require_grad`, gradient checkpointing). On a GPU every step copies the parameters to the
//!   host and back.
//! - **Allocation.** optimc's own buffers are allocated once, in [`BurnTrainer::new`], and its
//!   kernels allocate nothing per step; burn allocates the host copy of each parameter and
//!   gradient it reads, and each updated tensor, as any burn optimizer creates new tensors.
//! - **Averaging.** With `average = swa(...)` / `ema(...)` in the file, the trainer keeps an
//!   averaged copy of the parameters (as PyTorch's `AveragedModel`, see [`Trainer::averaged`]):
//!   [`averaged`](BurnTrainer::averaged) gives one as a burn tensor,
//!   [`copy_averaged_into`](BurnTrainer::copy_averaged_into) writes all of them into a module
//!   (an evaluation copy of the model), [`n_averaged`](BurnTrainer::n_averaged) counts the
//!   updates.
//! - **Checkpoints.** [`trainer`](BurnTrainer::trainer) / [`trainer_mut`](BurnTrainer::trainer_mut)
//!   give the [`Trainer`], whose `save` / `load` keep the optimizer's and schedule's state; save
//!   the module itself with burn (`Module::save_file`).

use crate::config::Config;
use crate::error::Error;
use crate::host::{unsupported_message, HostBuffers};
use crate::limits::{MAX_EPOCHS, MAX_WORK};
use crate::optim::Optimizer;
use crate::schedule::Schedule;
use crate::train::Trainer;
use ::burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use ::burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use ::burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamGroup, ParamId};
use ::burn::optim::GradientsParams;
use ::burn::tensor::{DType, Device, Tensor, TensorData};
use std::collections::HashMap;

/// What the burn layer refuses. It comes as the
/// [`ErrorKind::Burn`](crate::error::ErrorKind::Burn) kind of an [`Error`]; names that match no
/// group are [`ErrorKind::Groups`](crate::error::ErrorKind::Groups), and gradients of the wrong
/// size [`ErrorKind::Step`](crate::error::ErrorKind::Step), as for a plain [`Trainer`].
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BurnError {
    /// Some parameters are not f32, bf16 or f16 tensors. Lists all of them.
    #[error("{}", unsupported_message("parameter", .params))]
    #[diagnostic(
        code(optimc::burn_unsupported_param),
        help("optimc's optimizers step f32, bf16 and f16 parameters: build the module with one of those float dtypes")
    )]
    Unsupported {
        /// Each refused parameter: its path and its dtype.
        params: Vec<(String, String)>,
    },
    /// The same parameter (`ParamId`) is met twice in the module.
    #[error("`{second}` is the same parameter as `{first}`")]
    #[diagnostic(
        code(optimc::burn_shared_param),
        help("a parameter in two places would be stepped twice (PyTorch refuses a parameter in two groups too): keep one copy of it in the module")
    )]
    SharedParam { first: String, second: String },
    /// The module given to a step has parameters the trainer was not built with.
    #[error("{}", unregistered_message(.params))]
    #[diagnostic(
        code(optimc::burn_unregistered_param),
        help("step the module the trainer was built from (or what its steps returned): parameters are known by their `ParamId`, which a new `init` of the same model does not share")
    )]
    Unregistered {
        /// The paths of the unknown parameters.
        params: Vec<String>,
    },
    /// burn could not read a parameter or its gradient back to the host.
    #[error("burn could not read {what} of `{name}`: {message}")]
    #[diagnostic(code(optimc::burn_read))]
    Read {
        name: String,
        /// "the values" or "the gradient".
        what: &'static str,
        message: String,
    },
    /// [`BurnSchedule::new`] for a group the configuration does not have.
    #[error("the configuration has {groups} parameter groups, so there is no group {group}")]
    #[diagnostic(
        code(optimc::burn_no_group),
        help("groups are numbered from 0 in the order the file writes them (`Optimizer::group_name` names them)")
    )]
    NoGroup { group: usize, groups: usize },
    /// [`BurnSchedule::new`] for a schedule with a `plateau`: burn's `LrScheduler::step()` takes
    /// no metric.
    #[error("the schedule has a `plateau`, which needs a metric at every step, but burn's `LrScheduler::step()` takes none")]
    #[diagnostic(
        code(optimc::burn_metric_needed),
        help("drive this schedule with `BurnTrainer::end_epoch_with(metric)` (or `Trainer::end_epoch_with`), or use a schedule without `plateau`")
    )]
    MetricNeeded,
    /// [`BurnSchedule::try_load_record`] of a record whose step count is more than optimc
    /// replays: loading replays the schedule step by step, which would take hours or forever.
    #[error("the record says the schedule took {steps} steps; optimc replays at most {MAX_EPOCHS} steps and {MAX_WORK} schedule operations (this schedule costs about {work_per_step} per step)")]
    #[diagnostic(
        code(optimc::burn_record_too_long),
        help("the record is corrupt or not this run's: load the record the run saved, or start the schedule fresh; the schedule was left as it was")
    )]
    RecordTooLong { steps: u64, work_per_step: u64 },
    /// [`BurnTrainer::averaged`] asked for a tensor of another rank than the parameter's.
    #[error(
        "`{name}` has {rank} dimensions, but its average was asked for as a tensor of {asked}"
    )]
    #[diagnostic(
        code(optimc::burn_average_rank),
        help("ask for the parameter's rank: `averaged::<{rank}>(...)`")
    )]
    AverageRank {
        name: String,
        rank: usize,
        asked: usize,
    },
    /// [`BurnTrainer::copy_averaged_into`] a module whose parameter of a registered path has
    /// another shape than the trained one.
    #[error(
        "`{name}` has shape {found:?} in the module, but the averaged parameter has {expected:?}"
    )]
    #[diagnostic(
        code(optimc::burn_average_shape),
        help("copy the average into a module of the trained model's architecture (its `clone()`, or another `init` of the same configuration); the module was not changed")
    )]
    AverageShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
}

fn unregistered_message(params: &[String]) -> String {
    let list = params
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if params.len() == 1 {
        format!("parameter {list} is not one the trainer was built with")
    } else {
        format!(
            "{} parameters are not ones the trainer was built with: {list}",
            params.len()
        )
    }
}

/// One float parameter of a module, as [`Collect`] finds it.
struct Found {
    path: String,
    id: ParamId,
    shape: Vec<usize>,
    dtype: DType,
}

/// Walks a module, listing its float parameters with their paths (`fc1.weight`: the names of
/// the fields entered, joined by dots, as burn's `ModuleOptimizer` names them).
#[derive(Default)]
struct Collect {
    path: Vec<String>,
    found: Vec<Found>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.base();
        self.found.push(Found {
            path: self.path.join("."),
            id: param.id,
            shape: tensor.dims().to_vec(),
            dtype: tensor.dtype(),
        });
    }
}

/// The float parameters of `module`, in visiting order.
fn collect<M: Module>(module: &M) -> Vec<Found> {
    let mut collect = Collect::default();
    module.visit(&mut collect);
    collect.found
}

/// Whether optimc steps parameters of this dtype (read and written as f32).
fn supported(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::Flex32 | DType::BF16 | DType::F16)
}

/// A [`Trainer`] stepping a burn module's parameters. See the [module documentation](self).
#[derive(Debug)]
pub struct BurnTrainer {
    trainer: Trainer,
    /// Each registered parameter's position, by id.
    index: HashMap<ParamId, usize>,
    /// Per parameter: its values and gradient as f32, for the step.
    host: HostBuffers,
}

impl BurnTrainer {
    /// Builds the trainer of `config` over every float parameter of `module`, named by its path
    /// and registered in the module's visiting order.
    ///
    /// # Errors
    /// [`BurnError::Unsupported`] listing every parameter that is not f32, bf16 or f16;
    /// [`BurnError::SharedParam`] if a parameter comes twice; the
    /// [`Groups`](crate::error::ErrorKind::Groups) kind if names match no group (all of them
    /// listed).
    pub fn new<M: Module>(config: &Config, module: &M) -> Result<BurnTrainer, Error> {
        let found = collect(module);
        let unsupported: Vec<(String, String)> = found
            .iter()
            .filter(|p| !supported(p.dtype))
            .map(|p| (p.path.clone(), format!("dtype {:?}", p.dtype)))
            .collect();
        if !unsupported.is_empty() {
            return Err(BurnError::Unsupported {
                params: unsupported,
            }
            .into());
        }
        let mut index = HashMap::with_capacity(found.len());
        for (i, p) in found.iter().enumerate() {
            if let Some(j) = index.insert(p.id, i) {
                return Err(BurnError::SharedParam {
                    first: found[j].path.clone(),
                    second: p.path.clone(),
                }
                .into());
            }
        }
        let shapes: Vec<(&str, &[usize])> = found
            .iter()
            .map(|p| (p.path.as_str(), p.shape.as_slice()))
            .collect();
        let trainer = Trainer::with_shapes(config, &shapes)?;
        Ok(BurnTrainer {
            trainer,
            index,
            host: HostBuffers::new(found.iter().map(|p| p.shape.iter().product::<usize>())),
        })
    }

    /// One optimizer step with the current epoch's lrs (call it once per batch): returns `module`
    /// with every parameter that has a gradient in `grads` updated; the others are as they were,
    /// their optimizer state untouched. `grads` is what burn's optimizers take:
    /// `GradientsParams::from_grads(loss.backward(), &module)`.
    ///
    /// # Errors
    /// [`BurnError::Unregistered`] if `module` has parameters the trainer was not built with,
    /// [`BurnError::Read`] if burn cannot read a value back, the
    /// [`Step`](crate::error::ErrorKind::Step) kind if a gradient has the wrong number of values;
    /// the optimizer state is unchanged then, and `module` is the caller's still.
    pub fn step<M: Module>(&mut self, module: &M, grads: GradientsParams) -> Result<M, Error> {
        self.host.has_grad.iter_mut().for_each(|h| *h = false);
        let mut read = Read {
            path: Vec::new(),
            index: &self.index,
            grads,
            data: &mut self.host.data,
            grad_values: &mut self.host.grads,
            has_grad: &mut self.host.has_grad,
            all_values: self.trainer.averaging_due(),
            unregistered: Vec::new(),
            failed: None,
        };
        module.visit(&mut read);
        let (unregistered, failed) = (read.unregistered, read.failed);
        if !unregistered.is_empty() {
            return Err(BurnError::Unregistered {
                params: unregistered,
            }
            .into());
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
        self.host.step(&mut self.trainer)?;
        Ok(module.clone().map(&mut Write {
            index: &self.index,
            data: &self.host.data,
            has_grad: &self.host.has_grad,
        }))
    }

    crate::host::trainer_loop_calls!();

    /// The registered parameters' paths, in registration order (the trainer's parameter order).
    pub fn param_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.trainer.params().iter().map(|(name, _)| name.as_str())
    }

    /// The averaged copy of parameter `name` (`average = ...`, see [`Trainer::averaged`]) as an
    /// f32 tensor of the parameter's shape on `device`, as `AveragedModel.module`'s parameter:
    /// `None` without an average, for a path that is not registered, or before the first
    /// update. `D` is the parameter's rank (2 for a `Linear` weight, 1 for its bias).
    ///
    /// # Errors
    /// [`BurnError::AverageRank`] if `D` is not the parameter's rank.
    pub fn averaged<const D: usize>(
        &self,
        name: &str,
        device: &Device,
    ) -> Result<Option<Tensor<D>>, Error> {
        let Some(values) = self.trainer.averaged(name) else {
            return Ok(None);
        };
        let i = self
            .trainer
            .params()
            .iter()
            .position(|(n, _)| n == name)
            .expect("an averaged parameter is registered");
        let shape = self.trainer.optimizer().param_shape(i);
        if shape.len() != D {
            return Err(BurnError::AverageRank {
                name: name.to_string(),
                rank: shape.len(),
                asked: D,
            }
            .into());
        }
        let data = TensorData::new(values.to_vec(), shape.to_vec());
        Ok(Some(Tensor::<D>::from_data(data, (device, DType::F32))))
    }

    /// `module` with the averaged parameters (`average = ...`) written into its float
    /// parameters of the registered paths, each as a new tensor of that parameter's dtype on
    /// its device with its autodiff settings and `ParamId` (as [`step`](Self::step) writes
    /// them); its other parameters are as they were. `module` is an evaluation copy of the
    /// model, as `AveragedModel.module` is evaluated in PyTorch: the trained model's `clone()`,
    /// or another `init` of the same configuration (parameters are found by path here, not by
    /// id). Without an average, or before its first update, `module` comes back unchanged.
    ///
    /// # Errors
    /// [`BurnError::AverageShape`] if a parameter of a registered path has another shape than
    /// the trained one; nothing is written then.
    pub fn copy_averaged_into<M: Module>(&self, module: &M) -> Result<M, Error> {
        let params = self.trainer.params();
        for p in collect(module) {
            let Some(i) = params.iter().position(|(n, _)| *n == p.path) else {
                continue;
            };
            let expected = self.trainer.optimizer().param_shape(i);
            if expected != p.shape.as_slice() {
                return Err(BurnError::AverageShape {
                    name: p.path,
                    expected: expected.to_vec(),
                    found: p.shape,
                }
                .into());
            }
        }
        Ok(module.clone().map(&mut WriteAverage {
            path: Vec::new(),
            trainer: &self.trainer,
        }))
    }

    /// How many updates the average holds (`AveragedModel.n_averaged`); 0 without one.
    pub fn n_averaged(&self) -> u64 {
        self.trainer.n_averaged()
    }
}

/// The write pass of [`BurnTrainer::copy_averaged_into`]: each float parameter whose path has
/// an average becomes a new tensor holding it.
struct WriteAverage<'a> {
    path: Vec<String>,
    trainer: &'a Trainer,
}

impl ModuleMapper for WriteAverage<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = match self.trainer.averaged(&self.path.join(".")) {
            Some(values) => replace(tensor, values, id),
            None => tensor,
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// The read pass of a step: each registered parameter with a gradient has its gradient and
/// values copied into the trainer's buffers.
struct Read<'a> {
    path: Vec<String>,
    index: &'a HashMap<ParamId, usize>,
    grads: GradientsParams,
    data: &'a mut [Vec<f32>],
    grad_values: &'a mut [Vec<f32>],
    has_grad: &'a mut [bool],
    /// Paths of parameters the trainer does not know.
    unregistered: Vec<String>,
    /// The first failure to read a value.
    failed: Option<BurnError>,
    /// Whether to read the values of parameters without a gradient too: the average
    /// (`average = ...`) reads every parameter.
    all_values: bool,
}

impl ModuleVisitor for Read<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(&i) = self.index.get(&param.id) else {
            self.unregistered.push(self.path.join("."));
            return;
        };
        if self.failed.is_some() {
            return;
        }
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            if self.all_values {
                if let Err(message) = copy_out(&param.base(), &mut self.data[i]) {
                    self.failed = Some(BurnError::Read {
                        name: self.path.join("."),
                        what: "the values",
                        message,
                    });
                }
            }
            return;
        };
        let read = copy_out(&grad, &mut self.grad_values[i])
            .map_err(|message| (message, "the gradient"))
            .and_then(|()| {
                copy_out(&param.base(), &mut self.data[i]).map_err(|m| (m, "the values"))
            });
        match read {
            Ok(()) => self.has_grad[i] = true,
            Err((message, what)) => {
                self.failed = Some(BurnError::Read {
                    name: self.path.join("."),
                    what,
                    message,
                })
            }
        }
    }
}

/// Copies the values of `t` into `out` as f32 (cleared first); bf16 and f16 values widen
/// exactly. burn reads the tensor back to the host (which allocates).
fn copy_out<const D: usize>(t: &Tensor<D>, out: &mut Vec<f32>) -> Result<(), String> {
    let data = t.try_to_data_as::<f32>().map_err(|e| e.to_string())?;
    let values = data.as_slice::<f32>().map_err(|e| format!("{e:?}"))?;
    out.clear();
    out.extend_from_slice(values);
    Ok(())
}

/// The write pass of a step: each stepped parameter becomes a new tensor with the updated
/// values.
struct Write<'a> {
    index: &'a HashMap<ParamId, usize>,
    data: &'a [Vec<f32>],
    has_grad: &'a [bool],
}

impl ModuleMapper for Write<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = match self.index.get(&id) {
            Some(&i) if self.has_grad[i] => replace(tensor, &self.data[i], id),
            _ => tensor,
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// A tensor with `old`'s shape, dtype, device and autodiff settings, holding `values` (rounded
/// to `old`'s dtype: round to nearest, ties to even). As burn's own optimizers do, the new
/// value is built without autodiff and lifted back, so it is a leaf of no graph.
fn replace<const D: usize>(old: Tensor<D>, values: &[f32], id: ParamId) -> Tensor<D> {
    let require_grad = old.is_require_grad();
    let distributed = old.is_distributed();
    let checkpointing = old.gradient_checkpointing_strategy();
    let autodiff = old.is_autodiff();
    let (shape, dtype) = (old.shape(), old.dtype());
    let device = old.inner().device();
    let data = TensorData::new(values.to_vec(), shape);
    let mut new = Tensor::<D>::from_data(data, (&device, dtype));
    if autodiff {
        new = Tensor::from_inner(new);
        if let Some(strategy) = checkpointing {
            new = new.with_gradient_checkpointing_strategy(strategy);
        }
    }
    if require_grad {
        new = new.require_grad();
    }
    if distributed {
        new = new.set_distributed(id);
    }
    new
}

/// One group's schedule as burn's `LrScheduler`: each [`step`](LrScheduler::step) returns the
/// lr in force, then steps the schedule, as burn's own schedulers do (the first `step()` gives
/// the initial lr). So the `k`-th call (from 0) gives what [`Schedule::lrs`] gives after `k`
/// schedule steps, and a burn loop that calls `step()` once per batch steps the schedule per
/// batch: write the file's `epochs`, `t_max`, `step_size`... in batches then.
///
/// ```
/// use burn::lr_scheduler::LrScheduler;
/// use optimc::{burn::BurnSchedule, Config};
///
/// let config = Config::from_source("s.optim", r#"
///     optimizer = adamw(lr = 1e-3)
///     group backbone { params = "backbone.*", lr = 1e-4 }
///     group head     { params = "head.*" }
///     schedule = step(step_size = 2, gamma = 0.5)
/// "#)?;
/// let mut head = BurnSchedule::new(&config, 1)?;
/// let lrs: Vec<f64> = (0..5).map(|_| head.step()).collect();
/// assert_eq!(lrs, [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4]);
/// # Ok::<(), optimc::Error>(())
/// ```
///
/// Its record (`to_record` / `load_record`, for burn's checkpoints) holds the number of steps
/// taken; loading one replays the schedule from the start to that step, which gives the same
/// lrs as the run that saved it. The replay is bounded (at most [`MAX_EPOCHS`] steps and
/// [`MAX_WORK`] schedule operations): a record asking for more, corrupt or hostile, is
/// refused by [`try_load_record`](BurnSchedule::try_load_record) and ignored by
/// `load_record`, instead of hanging the load.
#[derive(Clone, Debug)]
pub struct BurnSchedule {
    schedule: Schedule,
    /// The schedule before any step, replayed by `load_record`.
    initial: Schedule,
    group: usize,
    /// What one step costs, in schedule operations: bounds the replay of a record.
    work_per_step: u64,
}

impl BurnSchedule {
    /// Group `group`'s schedule (groups are numbered from 0 in the file's order; a file without
    /// groups has one, 0).
    ///
    /// # Errors
    /// [`BurnError::NoGroup`] if the configuration has no such group;
    /// [`BurnError::MetricNeeded`] if the schedule has a `plateau`.
    pub fn new(config: &Config, group: usize) -> Result<BurnSchedule, Error> {
        let schedule = Schedule::new(config);
        let groups = schedule.lrs().len();
        if group >= groups {
            return Err(BurnError::NoGroup { group, groups }.into());
        }
        if schedule.needs_metric() {
            return Err(BurnError::MetricNeeded.into());
        }
        Ok(BurnSchedule {
            initial: schedule.clone(),
            schedule,
            group,
            work_per_step: crate::trace::work_per_step(config),
        })
    }

    /// The lr the next [`step`](LrScheduler::step) returns.
    pub fn lr(&self) -> f64 {
        self.schedule.lrs()[self.group]
    }

    /// The group this schedule is of.
    pub fn group(&self) -> usize {
        self.group
    }

    /// How many steps have been taken.
    pub fn steps(&self) -> u64 {
        self.schedule.epoch()
    }

    /// [`load_record`](LrScheduler::load_record), saying what it did: `Ok(true)` if the record
    /// holds a step count and the schedule was replayed from the start to it, `Ok(false)` for
    /// a record without one (another scheduler's), which changes nothing.
    ///
    /// ```
    /// use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
    /// use optimc::{burn::BurnSchedule, Config};
    ///
    /// let config = Config::from_source("s.optim", "optimizer = sgd(lr = 0.1)\nschedule = exponential(gamma = 0.5)")?;
    /// let mut schedule = BurnSchedule::new(&config, 0)?;
    /// assert!(schedule.try_load_record(&LrSchedulerRecord::new().with_scalar("steps", 2u64))?);
    /// assert_eq!(schedule.lr(), 0.025);
    /// let corrupt = LrSchedulerRecord::new().with_scalar("steps", u64::MAX);
    /// assert!(schedule.try_load_record(&corrupt).is_err()); // at once, and nothing changed
    /// assert_eq!(schedule.lr(), 0.025);
    /// # Ok::<(), optimc::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`BurnError::RecordTooLong`] if the step count is more than optimc replays (more than
    /// [`MAX_EPOCHS`] steps, or [`MAX_WORK`] schedule operations: seconds of work); the
    /// schedule is unchanged then.
    pub fn try_load_record(&mut self, record: &LrSchedulerRecord) -> Result<bool, Error> {
        let Some(steps) = record.scalar::<u64>(STEPS) else {
            return Ok(false);
        };
        if steps > MAX_EPOCHS || steps.saturating_mul(self.work_per_step) > MAX_WORK {
            return Err(BurnError::RecordTooLong {
                steps,
                work_per_step: self.work_per_step,
            }
            .into());
        }
        self.schedule = self.initial.clone();
        for _ in 0..steps {
            self.schedule.step_counting_plateaus();
        }
        Ok(true)
    }
}

/// The record's key for the number of steps taken.
const STEPS: &str = "steps";

impl LrScheduler for BurnSchedule {
    fn step(&mut self) -> f64 {
        let lr = self.lr();
        // No plateau: `BurnSchedule::new` refused it.
        self.schedule.step_counting_plateaus();
        lr
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar(STEPS, self.steps())
    }

    /// Replays the schedule from the start to the record's step count
    /// ([`BurnSchedule::try_load_record`]). A record without one (another scheduler's) is
    /// ignored, as burn's own schedulers ignore records they cannot read; so is one whose step
    /// count is more than optimc replays (corrupt or hostile), which `try_load_record`
    /// refuses with an error: this trait method has no way to return one.
    fn load_record(&mut self, record: LrSchedulerRecord) {
        // The refusal leaves the schedule as it was; `try_load_record` reports it.
        let _ = self.try_load_record(&record);
    }
}

/// Every group's schedule as a burn `ModuleLrScheduler`: its parameter groups are the `.optim`
/// file's groups, each holding the paths of `module`'s parameters that the group's `params`
/// patterns match (as [`BurnTrainer`] matches them), with that group's [`BurnSchedule`]. Pass
/// what its `step()` returns to a burn `ModuleOptimizer`'s `step` and each parameter gets its
/// group's lr; the rest of the file (weight decay, momentum, ...) is not burn's to see: use a
/// [`BurnTrainer`] for that.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::optim::{GradientsParams, SgdConfig};
/// use burn::tensor::{Device, Tensor};
/// use optimc::{burn::module_lr_scheduler, Config};
///
/// #[derive(Module, Debug)]
/// struct Model {
///     fc: Linear,
/// }
///
/// let config = Config::from_source("two_lrs.optim", r#"
///     optimizer = sgd(lr = 0.1)
///     group weights { params = "*.weight" }
///     group biases  { params = "*.bias", lr = 0.0 }
///     schedule = exponential(gamma = 0.9)
/// "#)?;
/// let device = Device::default().autodiff();
/// let mut model = Model { fc: LinearConfig::new(2, 1).init(&device) };
/// let bias_before = model.fc.bias.as_ref().unwrap().val().into_data();
///
/// let mut lrs = module_lr_scheduler(&config, &model)?;
/// let mut optimizer = SgdConfig::new().init();
/// let x = Tensor::<2>::ones([4, 2], &device);
/// for _ in 0..3 {
///     let grads = GradientsParams::from_grads(model.fc.forward(x.clone()).sum().backward(), &model);
///     model = optimizer.step(lrs.step(), model, grads);
/// }
/// // The biases' group has lr 0: burn's Sgd left them as they were.
/// assert_eq!(model.fc.bias.as_ref().unwrap().val().into_data(), bias_before);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`BurnSchedule::new`]; the [`Groups`](crate::error::ErrorKind::Groups) kind if a
/// parameter's path matches no group.
pub fn module_lr_scheduler<M: Module>(
    config: &Config,
    module: &M,
) -> Result<ModuleLrScheduler, Error> {
    let found = collect(module);
    let sizes: Vec<(&str, usize)> = found
        .iter()
        .map(|p| (p.path.as_str(), p.shape.iter().product()))
        .collect();
    let optimizer = Optimizer::new(config, &sizes)?;
    // The base scheduler covers parameters in no group; every parameter is in one (else
    // `Optimizer::new` refused them), so it is never asked: group 0's schedule fills the slot.
    let mut scheduler = ModuleLrScheduler::new(BurnSchedule::new(config, 0)?);
    for group in 0..optimizer.num_groups() {
        let paths: Vec<&str> = found
            .iter()
            .filter(|p| optimizer.group_of(&p.path) == Some(group))
            .map(|p| p.path.as_str())
            .collect();
        scheduler = scheduler.with_group(
            ParamGroup::from_paths(paths),
            BurnSchedule::new(config, group)?,
        );
    }
    Ok(scheduler)
}

//! Optimizers: PyTorch's `torch.optim` algorithms over f32 parameters, with parameter groups.
//!
//! - [`Optimizer`] assigns named parameters to the groups of a [`Config`] by glob pattern and
//!   steps them all; its lr and momentum can be driven between steps by a schedule.
//! - [`kernels`] holds one fused, allocation-free kernel per optimizer, bit-compatible with
//!   PyTorch's single-tensor CPU implementation in float32.
//! - [`OptimizerState`] is a serde snapshot for checkpoints.
//!
//! ```
//! use optimc::config::{Config, GroupConfig, Hyperparams, OptimizerKind};
//! use optimc::optim::{Optimizer, ParamMut};
//!
//! let kind = OptimizerKind::Sgd;
//! let mut hp = Hyperparams::defaults(kind);
//! hp.lr = 0.1;
//! let config = Config {
//!     optimizer: kind,
//!     defaults: hp,
//!     groups: vec![GroupConfig::catch_all(hp)],
//!     schedule: None,
//!     run: None,
//!     average: None,
//! };
//! let mut opt = Optimizer::new(&config, &[("w", 2)]).unwrap();
//! let mut w = [1.0f32, 2.0];
//! opt.step(&mut [ParamMut::new(&mut w, &[1.0, -1.0])]).unwrap();
//! assert_eq!(w, [0.9, 2.1]);
//! ```

mod glob;
pub mod kernels;
mod ops;
mod state;
mod threads;

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod tests;

pub use glob::{glob_match, GroupMatcher};
pub use state::{GroupState, OptimizerState, ParamState};

use crate::config::{Config, Hyperparams, OptimizerKind};
use crate::limits::MAX_THREADS;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use threads::Pool;

/// One parameter handed to [`Optimizer::step`]: its values, updated in place, and its gradient.
/// A parameter without a gradient (`grad: None`, PyTorch's `p.grad is None`) is skipped and its
/// state, step count included, is left alone.
///
/// Its `name`, when given ([`named`](Self::named), [`with_name`](Self::with_name)), is checked
/// against the name registered at its position, so two parameters of the same size passed in the
/// wrong order are refused instead of silently getting each other's group and state.
/// [`Trainer::step`](crate::Trainer::step) requires it; [`Optimizer::step`] checks it when given.
#[derive(Debug)]
pub struct ParamMut<'a> {
    pub data: &'a mut [f32],
    pub grad: Option<&'a [f32]>,
    /// The parameter's registered full name (e.g. `"fc.weight"`), or `None` (position only).
    pub name: Option<&'a str>,
}

impl<'a> ParamMut<'a> {
    /// A parameter with a gradient, identified by its position only.
    pub fn new(data: &'a mut [f32], grad: &'a [f32]) -> Self {
        ParamMut {
            data,
            grad: Some(grad),
            name: None,
        }
    }

    /// A parameter with a gradient, identified by its registered name (checked on each step:
    /// a string comparison, no allocation).
    pub fn named(name: &'a str, data: &'a mut [f32], grad: &'a [f32]) -> Self {
        ParamMut::new(data, grad).with_name(name)
    }

    /// A parameter without a gradient this step.
    pub fn without_grad(data: &'a mut [f32]) -> Self {
        ParamMut {
            data,
            grad: None,
            name: None,
        }
    }

    /// The same parameter, identified by its registered name: e.g.
    /// `ParamMut::without_grad(&mut b).with_name("fc.bias")`.
    pub fn with_name(self, name: &'a str) -> Self {
        ParamMut {
            name: Some(name),
            ..self
        }
    }
}

/// Parameters could not be assigned to groups.
#[derive(Clone, Debug, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum GroupError {
    /// Some parameters match no group's `params` patterns. Lists all of them.
    #[error("{}", unmatched_message(.names))]
    #[diagnostic(code(optimc::unmatched_parameters))]
    Unmatched {
        /// Every unmatched parameter name, in registration order.
        names: Vec<String>,
        /// Each group with its patterns, in declaration order.
        groups: Vec<(String, Vec<String>)>,
        #[help]
        help: String,
    },
    /// The same parameter name was registered twice.
    /// The optimizer does not take a parameter of this shape (Muon takes only matrices).
    #[error("{optimizer} takes only 2-D parameters, but `{name}` has shape {shape:?}")]
    #[diagnostic(
        code(optimc::unsupported_shape),
        help("PyTorch's {optimizer} refuses it too: it orthogonalizes matrix updates. Register only the model's 2-D weights with this optimizer and step the others (biases, norms, embeddings of other ranks) with a second one, e.g. `adamw` in another .optim file")
    )]
    Shape {
        name: String,
        shape: Vec<usize>,
        optimizer: &'static str,
    },
    #[error("parameter `{name}` is registered twice")]
    #[diagnostic(
        code(optimc::duplicate_parameter),
        help("give every parameter a unique full name, e.g. `layer1.weight`")
    )]
    Duplicate { name: String },
    /// A group selects by shape (`where = ndim ...`) but the parameters were registered by
    /// length ([`Optimizer::new`], [`Trainer::new`](crate::Trainer::new)), whose shapes are unknown.
    #[error("group `{group}` selects parameters by shape (`where = {condition}`), but they were registered without shapes")]
    #[diagnostic(
        code(optimc::shapes_needed),
        help("register the parameters with their shapes (`Optimizer::with_shapes`, `Trainer::with_shapes`, replay's `shapes`): a length alone does not say how many dimensions a parameter has")
    )]
    ShapesNeeded { group: String, condition: String },
}

fn unmatched_message(names: &[String]) -> String {
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() == 1 {
        format!("parameter {list} matches no group")
    } else {
        format!("{} parameters match no group: {list}", names.len())
    }
}

/// [`Optimizer::step`] was given parameters that do not fit the ones it was built for.
#[derive(Clone, Debug, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum StepError {
    #[error("step was given {got} parameters, but the optimizer was built for {expected}")]
    #[diagnostic(
        code(optimc::step_param_count),
        help("pass every registered parameter, in registration order (use `ParamMut::without_grad` for one without a gradient)")
    )]
    ParamCount { expected: usize, got: usize },
    #[error("parameter {position} is `{got}`, but `{expected}` was registered there")]
    #[diagnostic(
        code(optimc::step_param_name),
        help("pass the parameters in registration order; see `Optimizer::param_names` (or `Trainer::params`)")
    )]
    Name {
        /// The position in the list handed to `step`, from 0.
        position: usize,
        expected: String,
        got: String,
    },
    #[error("parameter {position} (`{expected}`) has no name")]
    #[diagnostic(
        code(optimc::step_param_unnamed),
        help("`Trainer::step` checks every parameter by name: build it with `ParamMut::named(name, data, grad)` or `.with_name(name)`")
    )]
    Unnamed {
        /// The position in the list handed to `step`, from 0.
        position: usize,
        /// The name registered at that position.
        expected: String,
    },
    #[error("parameter `{name}` has {got} values, but it was registered with {expected}")]
    #[diagnostic(
        code(optimc::step_param_size),
        help("pass the parameters in registration order; see `Optimizer::param_names`")
    )]
    DataLength {
        name: String,
        expected: usize,
        got: usize,
    },
    #[error("the gradient of `{name}` has {got} values, but the parameter has {expected}")]
    #[diagnostic(
        code(optimc::step_grad_size),
        help("a gradient must have exactly one value per parameter value")
    )]
    GradLength {
        name: String,
        expected: usize,
        got: usize,
    },
}

/// [`Optimizer::restore`] refused a snapshot that does not belong to this optimizer.
#[derive(Clone, Debug, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    #[error("the state was saved by {found}, but this optimizer is {expected}")]
    #[diagnostic(
        code(optimc::state_kind),
        help("restore a state saved by the same optimizer, or start this one fresh")
    )]
    Kind {
        expected: &'static str,
        found: &'static str,
    },
    #[error("the state has {found} groups, but this optimizer has {expected}")]
    #[diagnostic(
        code(optimc::state_groups),
        help("the configuration's groups changed since the state was saved")
    )]
    GroupCount { expected: usize, found: usize },
    #[error("group {index} of the state is `{found}`, but here it is `{expected}`")]
    #[diagnostic(
        code(optimc::state_groups),
        help("the configuration's groups changed since the state was saved")
    )]
    GroupName {
        index: usize,
        expected: String,
        found: String,
    },
    #[error("the state has {found} parameters, but this optimizer has {expected}")]
    #[diagnostic(
        code(optimc::state_params),
        help("the model's parameters changed since the state was saved")
    )]
    ParamCount { expected: usize, found: usize },
    #[error("parameter {index} of the state is `{found}`, but here it is `{expected}`")]
    #[diagnostic(
        code(optimc::state_params),
        help("the model's parameters changed (or were registered in another order) since the state was saved")
    )]
    ParamName {
        index: usize,
        expected: String,
        found: String,
    },
    #[error("parameter `{name}` has {found} values in the state, but {expected} here")]
    #[diagnostic(
        code(optimc::state_size),
        help("the parameter's shape changed since the state was saved")
    )]
    ParamLength {
        name: String,
        expected: usize,
        found: usize,
    },
    #[error("parameter `{name}` has shape {found:?} in the state, but {expected:?} here")]
    #[diagnostic(
        code(optimc::state_size),
        help("the parameter's shape changed since the state was saved")
    )]
    ParamShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("parameter `{name}` was in group {found} when the state was saved, but is in group {expected} here")]
    #[diagnostic(
        code(optimc::state_groups),
        help("the groups' `params` patterns changed since the state was saved")
    )]
    ParamGroup {
        name: String,
        expected: usize,
        found: usize,
    },
    #[error("buffer `{buffer}` of parameter `{name}` has {found} values, but the parameter has {expected}")]
    #[diagnostic(
        code(optimc::state_size),
        help("the state file is damaged or was edited")
    )]
    BufferLength {
        name: String,
        buffer: String,
        expected: usize,
        found: usize,
    },
    #[error("{optimizer} keeps no buffer `{buffer}` (found on parameter `{name}`)")]
    #[diagnostic(code(optimc::state_buffer), help("{optimizer} keeps: {known}"))]
    UnknownBuffer {
        name: String,
        buffer: String,
        optimizer: &'static str,
        known: String,
    },
    #[error("parameter `{name}` has no buffer `{buffer}`, which {optimizer} always keeps")]
    #[diagnostic(
        code(optimc::state_buffer),
        help("the state file is damaged or was edited")
    )]
    MissingBuffer {
        name: String,
        buffer: String,
        optimizer: &'static str,
    },
}

/// Buffer names (PyTorch's state keys) of `kind`, at most 3; and how many of the first ones
/// every parameter always has once stepped (the others are optional).
fn buffer_names(kind: OptimizerKind) -> (&'static [&'static str], usize) {
    use OptimizerKind::*;
    match kind {
        Sgd => (&["momentum_buffer"], 0),
        Adam | AdamW => (&["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], 2),
        RmsProp => (&["square_avg", "momentum_buffer", "grad_avg"], 1),
        Adagrad => (&["sum"], 1),
        Adadelta => (&["square_avg", "acc_delta"], 2),
        Adamax => (&["exp_avg", "exp_inf"], 2),
        NAdam | RAdam => (&["exp_avg", "exp_avg_sq"], 2),
        Rprop => (&["prev", "step_size"], 2),
        Asgd => (&["ax"], 1),
        Lion => (&["exp_avg"], 1),
        Lamb => (&["exp_avg", "exp_avg_sq"], 2),
        Adafactor => (&["variance", "row_var", "col_var"], 0),
        Muon => (&["momentum_buffer"], 1),
    }
}

/// Which buffers (by position in [`buffer_names`]) a parameter of shape `shape` may keep, with
/// their lengths and whether it always keeps them once stepped. Only Adafactor's depend on the
/// shape: a matrix (or a batch of them) keeps row and column means, anything else `variance`.
fn buffer_layout(kind: OptimizerKind, shape: &[usize]) -> [Option<(usize, bool)>; 3] {
    let len: usize = shape.iter().product();
    if kind == OptimizerKind::Adafactor {
        return match kernels::adafactor_factoring(shape) {
            Some((batch, rows, cols)) => {
                [None, Some((batch * rows, true)), Some((batch * cols, true))]
            }
            None => [Some((len, true)), None, None],
        };
    }
    let (names, required) = buffer_names(kind);
    std::array::from_fn(|i| (i < names.len()).then_some((len, i < required)))
}

/// Whether `kind`'s step reduces over the whole tensor (a norm, a mean or a matrix product), so
/// that it cannot be cut into independent chunks: its kernel splits its passes among the threads
/// itself, summing fixed blocks in a fixed order (Lamb, Adafactor, cautious Lion), or runs on
/// the calling thread and shares out its matrix products' output columns (Muon).
fn whole_tensor(kind: OptimizerKind, hp: &Hyperparams) -> bool {
    use OptimizerKind::*;
    match kind {
        Lamb | Adafactor | Muon => true,
        Lion => hp.caution,
        Sgd | Adam | AdamW | RmsProp | Adagrad | Adadelta | Adamax | NAdam | RAdam | Rprop
        | Asgd => false,
    }
}

#[derive(Clone, Debug)]
struct Group {
    name: String,
    hp: Hyperparams,
    /// Lamb's step count, which timm keeps per group (0 for the other optimizers).
    step: f32,
}

/// A parameter's scalar state: PyTorch's float32 `step`, NAdam's `mu_product`, ASGD's `eta`
/// and `mu`. Each chunk of a split step starts from the same values.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Counters {
    step: f32,
    mu_product: f32,
    eta: f32,
    mu: f32,
}

impl Counters {
    const FRESH: Counters = Counters {
        step: 0.0,
        mu_product: 1.0,
        eta: 0.0,
        mu: 1.0,
    };
}

/// What one step of a parameter needs beyond its group's hyperparameters and its own state.
#[derive(Clone, Copy, Debug)]
struct StepContext {
    /// The optimizer's own lr (timm's `max_lr` snapshot for `corrected_weight_decay`).
    max_lr: f64,
    /// Lamb: the divisor of every gradient (the global norm clip), if clipping is on.
    lamb_clip: Option<f32>,
    /// Lamb: the parameter's group's step count, this step included.
    group_step: f32,
}

/// A parameter's buffers, by position in [`buffer_names`]; `None` where PyTorch has no tensor.
type Buffers = [Option<Vec<f32>>; 3];

/// Work space of a parameter's step that is not state (allocated once, with the state).
#[derive(Clone, Debug)]
enum Scratch {
    None,
    /// Lamb: the norms' partial sums of each block, for a threaded step (empty for a
    /// parameter too small to be split).
    Lamb(Vec<kernels::lamb::LambSums>),
    /// Adafactor: one value per column of every matrix (for the column sums), and the partial
    /// sums of each block for a threaded step (empty for a parameter too small to be split).
    Adafactor {
        col_sums: Vec<f32>,
        sums: Vec<kernels::adafactor::AdafactorSums>,
    },
    /// Muon: the Newton-Schulz iteration's matrices.
    Muon(Box<kernels::MuonScratch>),
}

/// One registered parameter and its state.
#[derive(Clone, Debug)]
struct Slot {
    name: String,
    /// The parameter's shape (`[len]` for one registered by length only).
    shape: Vec<usize>,
    len: usize,
    group: usize,
    counters: Counters,
    /// By position in [`buffer_names`]; `None` where PyTorch has no tensor.
    bufs: [Option<Vec<f32>>; 3],
    scratch: Scratch,
}

/// A PyTorch optimizer over named f32 parameters, grouped as a [`Config`] says.
///
/// Built once from the config and the model's parameter names and lengths; then
/// [`step`](Self::step) is called with the parameters and their gradients, in the same order.
/// Each group's hyperparameters start as `config.groups[i].options`; a schedule changes the lr
/// (and momentum / `betas[0]`) between steps with [`set_lr`](Self::set_lr) and
/// [`set_momentum`](Self::set_momentum).
///
/// State buffers are allocated when the optimizer is built, or, for buffers PyTorch creates
/// lazily (SGD's momentum buffer), the first time they are needed; steps after that allocate
/// nothing.
///
/// Steps run on the calling thread unless [`set_threads`](Self::set_threads) asks for more.
#[derive(Clone, Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    /// The optimizer's own options (timm's Lion and Lamb read `lr` and `max_grad_norm` there).
    defaults: Hyperparams,
    groups: Vec<Group>,
    slots: Vec<Slot>,
    /// Worker threads for large parameters (shared by clones); `None`: single-threaded.
    pool: Option<Arc<Pool>>,
}

impl Optimizer {
    /// Builds the optimizer for parameters `params` (full name, number of values), in the order
    /// they will be passed to [`step`](Self::step).
    ///
    /// Each parameter joins the FIRST group, in declaration order, one of whose `params` glob
    /// patterns matches its full name (see [`glob_match`]) and whose `exclude` patterns and
    /// `where` condition do not turn it away; [`GroupMatcher`] finds it without trying every
    /// group for every parameter.
    ///
    /// # Errors
    /// [`GroupError::Unmatched`] listing every parameter no group matches, with the groups'
    /// patterns; [`GroupError::Duplicate`] if a name is registered twice.
    /// A group that selects by shape (`where = ndim >= 2`) cannot be served from lengths:
    /// [`GroupError::ShapesNeeded`] (use [`with_shapes`](Self::with_shapes)).
    pub fn new(config: &Config, params: &[(&str, usize)]) -> Result<Optimizer, GroupError> {
        if let Some(g) = config.groups.iter().find(|g| !g.ndim.is_any()) {
            return Err(GroupError::ShapesNeeded {
                group: g.name.clone(),
                condition: g.ndim.to_source(),
            });
        }
        let lens: Vec<[usize; 1]> = params.iter().map(|&(_, len)| [len]).collect();
        let shaped: Vec<(&str, &[usize])> = params
            .iter()
            .zip(&lens)
            .map(|(&(name, _), len)| (name, &len[..]))
            .collect();
        Optimizer::with_shapes(config, &shaped)
    }

    /// Builds the optimizer for parameters `params` given with their shapes (full name, shape
    /// as in PyTorch: `[out, in]` for a linear layer's weight, `[n]` for a bias), in the order
    /// they will be passed to [`step`](Self::step). Values are passed flat, row-major.
    /// Optimizers that look at a parameter's dimensions (Adafactor factors matrices, Muon
    /// takes only matrices) need the shape; the others see the same flat values either way.
    ///
    /// Groups are assigned as by [`new`](Self::new).
    ///
    /// ```
    /// # let config = optimc::Config::from_source("a.optim", "optimizer = sgd(lr = 0.1)").unwrap();
    /// let opt = optimc::optim::Optimizer::with_shapes(&config, &[("w", &[4, 3]), ("b", &[4])]).unwrap();
    /// assert_eq!(opt.param_shape(0), &[4, 3]);
    /// assert_eq!(opt.param_len(0), 12);
    /// ```
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_shapes(
        config: &Config,
        params: &[(&str, &[usize])],
    ) -> Result<Optimizer, GroupError> {
        let mut seen = HashMap::with_capacity(params.len());
        for &(name, _) in params {
            if seen.insert(name, ()).is_some() {
                return Err(GroupError::Duplicate { name: name.into() });
            }
        }
        let kind = config.optimizer;
        let groups: Vec<Group> = config
            .groups
            .iter()
            .map(|g| Group {
                name: g.name.clone(),
                hp: g.options,
                step: 0.0,
            })
            .collect();
        let mut slots = Vec::with_capacity(params.len());
        let mut unmatched = Vec::new();
        let matcher = GroupMatcher::new(config.groups.iter().map(|g| g.params.as_slice()));
        for &(name, shape) in params {
            if !kind.takes_shape(shape) {
                return Err(GroupError::Shape {
                    name: name.into(),
                    shape: shape.to_vec(),
                    optimizer: kind.torch_name(),
                });
            }
            // The first group whose patterns match and whose `exclude` and `where` let the
            // parameter in; one that turns it away hands it on to the groups after it.
            let mut group = matcher.first_match(name);
            while let Some(g) = group {
                if config.groups[g].admits(name, shape) {
                    break;
                }
                group = matcher.first_match_from(name, g + 1);
            }
            match group {
                Some(group) => slots.push(Slot::new(
                    kind,
                    &groups[group].hp,
                    &config.defaults,
                    name,
                    shape,
                    group,
                )),
                None => unmatched.push(name.to_string()),
            }
        }
        if !unmatched.is_empty() {
            let groups: Vec<(String, Vec<String>)> = config
                .groups
                .iter()
                .map(|g| (g.name.clone(), g.params.clone()))
                .collect();
            let available = if groups.is_empty() {
                "there are no groups".to_string()
            } else {
                let list = groups
                    .iter()
                    .map(|(n, ps)| {
                        let ps = ps
                            .iter()
                            .map(|p| format!("\"{p}\""))
                            .collect::<Vec<_>>()
                            .join(", ");
                        format!("{n} [{ps}]")
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                format!("the groups' patterns are: {list}")
            };
            let help = format!(
                "every parameter must match a group's `params` pattern (`*` matches any run of characters, dots too; `?` one character); {available}; add a pattern, or a last group with `params = \"*\"` to catch the rest"
            );
            return Err(GroupError::Unmatched {
                names: unmatched,
                groups,
                help,
            });
        }
        Ok(Optimizer {
            kind,
            defaults: config.defaults,
            groups,
            slots,
            pool: None,
        })
    }

    /// Uses `threads` threads (the caller's included) for each parameter of at least 32,768
    /// values per thread; smaller parameters, and every parameter when `threads <= 1` (the
    /// default), are stepped on the calling thread. The results are bit-identical whatever the
    /// thread count:
    /// - the elementwise optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax,
    ///   NAdam, RAdam, Rprop, ASGD, Lion) run the same kernel on each thread over its own
    ///   contiguous piece of the tensor;
    /// - Lamb (trust ratio), Adafactor (row and column factors, parameter and update RMS) and
    ///   Lion with `caution` (the mask's mean) split each pass the same way, and sum their
    ///   norms in fixed blocks of 32,768 values (whole rows for Adafactor's update), each on
    ///   one thread, then add the blocks in order on the calling thread; every row and column
    ///   sum is one thread's. The blocks do not depend on the thread count; a parameter of one
    ///   block sums as one run, a larger one in blocks (on one thread as well);
    /// - Muon steps on the calling thread and shares out the output columns of its
    ///   Newton-Schulz matrix products, each output computed whole by one thread.
    ///
    /// The threads are started here (at most 64) and kept until the optimizer and its clones
    /// are dropped; steps still allocate nothing (the blocks' partial sums are allocated with
    /// the state).
    ///
    /// ```
    /// # let config = optimc::Config::from_source("a.optim", "optimizer = adam(lr = 1e-3)").unwrap();
    /// let mut opt = optimc::optim::Optimizer::new(&config, &[("w", 1 << 20)]).unwrap();
    /// opt.set_threads(2);
    /// assert_eq!(opt.threads(), 2);
    /// ```
    pub fn set_threads(&mut self, threads: usize) {
        let threads = threads.min(MAX_THREADS);
        if threads != self.threads() {
            self.pool = (threads > 1).then(|| Arc::new(Pool::new(threads)));
        }
        // Muon's matrix products need packing buffers per thread, allocated here rather than
        // in a step.
        for slot in &mut self.slots {
            if let Scratch::Muon(scratch) = &mut slot.scratch {
                scratch.set_threads(threads);
            }
        }
    }

    /// The number of threads a step may use (see [`set_threads`](Self::set_threads)).
    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.threads())
    }

    /// The optimizer's kind.
    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// How many groups there are (`len(param_groups)`).
    pub fn num_groups(&self) -> usize {
        self.groups.len()
    }

    /// The name of group `group`.
    ///
    /// # Panics
    /// If `group` is out of range (as for every `group` argument below).
    pub fn group_name(&self, group: usize) -> &str {
        &self.groups[group].name
    }

    /// The registered parameter names, in registration order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.slots.iter().map(|s| s.name.as_str())
    }

    /// The shape parameter `index` (in registration order) was registered with (`[len]` if
    /// it was registered by length).
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn param_shape(&self, index: usize) -> &[usize] {
        &self.slots[index].shape
    }

    /// The number of values of parameter `index` (in registration order).
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn param_len(&self, index: usize) -> usize {
        self.slots[index].len
    }

    /// The group index of parameter `param`, or `None` if no such parameter was registered.
    pub fn group_of(&self, param: &str) -> Option<usize> {
        self.slots.iter().find(|s| s.name == param).map(|s| s.group)
    }

    /// Group `group`'s current hyperparameters.
    pub fn hyperparams(&self, group: usize) -> &Hyperparams {
        &self.groups[group].hp
    }

    /// Group `group`'s hyperparameters, to change between steps (PyTorch's
    /// `param_groups[i][key] = value`). Values are not validated here; see [`validate`](crate::config::validate).
    pub fn hyperparams_mut(&mut self, group: usize) -> &mut Hyperparams {
        &mut self.groups[group].hp
    }

    /// Group `group`'s current learning rate.
    pub fn lr(&self, group: usize) -> f64 {
        self.groups[group].hp.lr
    }

    /// Sets group `group`'s learning rate for the following steps.
    ///
    /// # Errors
    /// [`ErrorKind::NoGroup`](crate::error::ErrorKind::NoGroup) if there is no group `group`
    /// (see [`num_groups`](Self::num_groups)); nothing changes then.
    pub fn set_lr(&mut self, group: usize, lr: f64) -> Result<(), crate::Error> {
        self.check_group(group)?;
        self.put_lr(group, lr);
        Ok(())
    }

    /// [`set_lr`](Self::set_lr) of a group known to exist.
    pub(crate) fn put_lr(&mut self, group: usize, lr: f64) {
        self.groups[group].hp.lr = lr;
    }

    /// [`ErrorKind::NoGroup`](crate::error::ErrorKind::NoGroup) unless there is a group
    /// `group`.
    fn check_group(&self, group: usize) -> Result<(), crate::Error> {
        if group < self.groups.len() {
            return Ok(());
        }
        let names: Vec<String> = self.groups.iter().map(|g| g.name.clone()).collect();
        crate::Error::check_group(group, &names)
    }

    /// Group `group`'s momentum as `cyclic` / `one_cycle` see it: `betas[0]` for optimizers
    /// with betas (Lion and Lamb too), `momentum` for SGD, RMSprop and Muon, `None` for the
    /// others.
    pub fn momentum(&self, group: usize) -> Option<f64> {
        let hp = &self.groups[group].hp;
        if self.kind.has_betas() {
            Some(hp.betas.0)
        } else if self.kind.has_momentum() {
            Some(hp.momentum)
        } else {
            None
        }
    }

    /// Sets `betas[0]` (optimizers with betas) or `momentum` (SGD, RMSprop, Muon) of group
    /// `group`, as `cyclic` and `one_cycle` do. Returns whether the optimizer has such an
    /// option; for the others (Adagrad, Adadelta, Rprop, ASGD, Adafactor) nothing changes and
    /// `false` is returned.
    ///
    /// # Errors
    /// [`ErrorKind::NoGroup`](crate::error::ErrorKind::NoGroup) if there is no group `group`;
    /// nothing changes then.
    pub fn set_momentum(&mut self, group: usize, m: f64) -> Result<bool, crate::Error> {
        self.check_group(group)?;
        Ok(self.put_momentum(group, m))
    }

    /// [`set_momentum`](Self::set_momentum) of a group known to exist.
    pub(crate) fn put_momentum(&mut self, group: usize, m: f64) -> bool {
        let hp = &mut self.groups[group].hp;
        if self.kind.has_betas() {
            hp.betas.0 = m;
            true
        } else if self.kind.has_momentum() {
            hp.momentum = m;
            true
        } else {
            false
        }
    }

    /// One optimizer step (`optimizer.step()`): updates every parameter that has a gradient,
    /// with its group's current hyperparameters. `params` are in registration order; those with
    /// a [`name`](ParamMut::name) must carry the one registered at their position.
    ///
    /// Sizes are checked before anything is changed. Allocates nothing, except a buffer
    /// PyTorch creates lazily the first time it is needed.
    ///
    /// # Errors
    /// [`StepError`] if the number of parameters, a name or any length differs from
    /// registration.
    pub fn step(&mut self, params: &mut [ParamMut<'_>]) -> Result<(), StepError> {
        if params.len() != self.slots.len() {
            return Err(StepError::ParamCount {
                expected: self.slots.len(),
                got: params.len(),
            });
        }
        for (position, (p, slot)) in params.iter().zip(&self.slots).enumerate() {
            if let Some(name) = p.name {
                if name != slot.name {
                    return Err(StepError::Name {
                        position,
                        expected: slot.name.clone(),
                        got: name.to_string(),
                    });
                }
            }
            if p.data.len() != slot.len {
                return Err(StepError::DataLength {
                    name: slot.name.clone(),
                    expected: slot.len,
                    got: p.data.len(),
                });
            }
            if let Some(g) = p.grad {
                if g.len() != slot.len {
                    return Err(StepError::GradLength {
                        name: slot.name.clone(),
                        expected: slot.len,
                        got: g.len(),
                    });
                }
            }
        }
        let mut ctx = StepContext {
            max_lr: self.defaults.lr,
            lamb_clip: None,
            group_step: 0.0,
        };
        if self.kind == OptimizerKind::Lamb {
            // timm counts every group's step, with or without gradients, and clips every
            // gradient by the norm of all of them (with the optimizer's `max_grad_norm`).
            for g in &mut self.groups {
                g.step += 1.0;
            }
            let norms = params.iter().filter_map(|p| p.grad).map(kernels::l2_norm);
            let mut norms = norms.peekable();
            if norms.peek().is_some() {
                ctx.lamb_clip = self
                    .defaults
                    .max_grad_norm
                    .map(|max| kernels::lamb_clip_factor(norms, max));
            }
        }
        for (p, slot) in params.iter_mut().zip(&mut self.slots) {
            if let Some(grad) = p.grad {
                let group = &self.groups[slot.group];
                ctx.group_step = group.step;
                slot.step(
                    self.kind,
                    &group.hp,
                    &ctx,
                    p.data,
                    grad,
                    self.pool.as_deref(),
                );
            }
        }
        Ok(())
    }

    /// A snapshot of the whole state: groups' hyperparameters, step counts, every buffer.
    pub fn state(&self) -> OptimizerState {
        self.snapshot(true)
    }

    /// [`state`](Self::state) with every buffer's values left out (each buffer present with no
    /// values), for a checkpoint that stores them apart ([`buffers`](Self::buffers)).
    pub(crate) fn state_without_values(&self) -> OptimizerState {
        self.snapshot(false)
    }

    /// Every buffer that exists: parameter index, PyTorch's name, values.
    pub(crate) fn buffers(&self) -> impl Iterator<Item = (usize, &'static str, &[f32])> + '_ {
        let (names, _) = buffer_names(self.kind);
        self.slots.iter().enumerate().flat_map(move |(i, s)| {
            names
                .iter()
                .zip(&s.bufs)
                .filter_map(move |(n, b)| Some((i, *n, b.as_deref()?)))
        })
    }

    fn snapshot(&self, values: bool) -> OptimizerState {
        let (names, _) = buffer_names(self.kind);
        OptimizerState {
            optimizer: self.kind,
            groups: self
                .groups
                .iter()
                .map(|g| GroupState {
                    name: g.name.clone(),
                    options: g.hp,
                    step: (self.kind == OptimizerKind::Lamb).then_some(g.step),
                })
                .collect(),
            params: self
                .slots
                .iter()
                .map(|s| ParamState {
                    name: s.name.clone(),
                    len: s.len,
                    shape: (s.shape.len() != 1).then(|| s.shape.clone()),
                    group: s.group,
                    step: s.counters.step,
                    mu_product: (self.kind == OptimizerKind::NAdam)
                        .then_some(s.counters.mu_product),
                    eta: (self.kind == OptimizerKind::Asgd).then_some(s.counters.eta),
                    mu: (self.kind == OptimizerKind::Asgd).then_some(s.counters.mu),
                    buffers: names
                        .iter()
                        .zip(&s.bufs)
                        .filter_map(|(n, b)| {
                            let b = b.as_ref()?;
                            Some((n.to_string(), if values { b.clone() } else { Vec::new() }))
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Replaces the whole state with snapshot `s` (PyTorch's `load_state_dict`): groups'
    /// hyperparameters, step counts and buffers. The optimizer continues exactly as the one that
    /// saved `s` would have.
    ///
    /// # Errors
    /// [`StateError`] if `s` was saved by another optimizer kind, for other groups, or for
    /// other parameter names, lengths or group assignments, or if its buffers do not fit.
    /// Nothing is changed on error.
    pub fn restore(&mut self, s: &OptimizerState) -> Result<(), StateError> {
        self.restore_owned(s.clone())
    }

    /// [`restore`](Self::restore), moving the buffers out of `s` instead of copying them.
    pub(crate) fn restore_owned(&mut self, s: OptimizerState) -> Result<(), StateError> {
        if s.optimizer != self.kind {
            return Err(StateError::Kind {
                expected: self.kind.torch_name(),
                found: s.optimizer.torch_name(),
            });
        }
        if s.groups.len() != self.groups.len() {
            return Err(StateError::GroupCount {
                expected: self.groups.len(),
                found: s.groups.len(),
            });
        }
        for (index, (g, mine)) in s.groups.iter().zip(&self.groups).enumerate() {
            if g.name != mine.name {
                return Err(StateError::GroupName {
                    index,
                    expected: mine.name.clone(),
                    found: g.name.clone(),
                });
            }
        }
        if s.params.len() != self.slots.len() {
            return Err(StateError::ParamCount {
                expected: self.slots.len(),
                found: s.params.len(),
            });
        }
        let mut taken = Vec::with_capacity(self.slots.len());
        for (index, (mut p, slot)) in s.params.into_iter().zip(&self.slots).enumerate() {
            if p.name != slot.name {
                return Err(StateError::ParamName {
                    index,
                    expected: slot.name.clone(),
                    found: p.name,
                });
            }
            if p.group != slot.group {
                return Err(StateError::ParamGroup {
                    name: slot.name.clone(),
                    expected: slot.group,
                    found: p.group,
                });
            }
            taken.push(self.take_param_state(slot, &mut p)?);
        }
        for (g, mine) in s.groups.iter().zip(&mut self.groups) {
            mine.hp = g.options;
            mine.step = g.step.unwrap_or(0.0);
        }
        for (slot, (counters, bufs)) in self.slots.iter_mut().zip(taken) {
            slot.counters = counters;
            slot.bufs = bufs;
        }
        Ok(())
    }

    /// Takes what still applies of `s`, saved by an optimizer of another configuration, into
    /// this fresh one: parameters are matched by name and keep their counters and buffers when
    /// their shape fits (else they stay fresh); groups are matched by name and keep their
    /// hyperparameters where `unchanged[group]` says the configuration did not change them
    /// (Lamb's group step count either way). Returns a note for each parameter that starts
    /// fresh, is dropped, or changed group.
    ///
    /// # Errors
    /// [`StateError::Kind`] if `s` is another optimizer's; nothing is changed then.
    pub(crate) fn adopt(
        &mut self,
        s: OptimizerState,
        unchanged: &[bool],
    ) -> Result<Vec<String>, StateError> {
        if s.optimizer != self.kind {
            return Err(StateError::Kind {
                expected: self.kind.torch_name(),
                found: s.optimizer.torch_name(),
            });
        }
        let mut notes = Vec::new();
        for (i, g) in self.groups.iter_mut().enumerate() {
            if let Some(saved) = s.groups.iter().find(|x| x.name == g.name) {
                if unchanged.get(i).copied().unwrap_or(false) {
                    g.hp = saved.options;
                }
                g.step = saved.step.unwrap_or(0.0);
            }
        }
        let group_names: Vec<String> = s.groups.iter().map(|g| g.name.clone()).collect();
        let mut saved: HashMap<String, ParamState> =
            s.params.into_iter().map(|p| (p.name.clone(), p)).collect();
        for i in 0..self.slots.len() {
            let name = self.slots[i].name.clone();
            let Some(mut p) = saved.remove(&name) else {
                notes.push(format!(
                    "parameter `{name}` is not in the state file: it starts fresh"
                ));
                continue;
            };
            match self.take_param_state(&self.slots[i], &mut p) {
                Ok((counters, bufs)) => {
                    let slot = &mut self.slots[i];
                    slot.counters = counters;
                    slot.bufs = bufs;
                    let now = &self.groups[slot.group].name;
                    match group_names.get(p.group) {
                        Some(was) if was != now => notes.push(format!(
                            "parameter `{name}` moves from group {was} to group {now}, keeping its state"
                        )),
                        _ => {}
                    }
                }
                Err(e) => notes.push(format!("parameter `{name}` starts fresh: {e}")),
            }
        }
        let mut dropped: Vec<&String> = saved.keys().collect();
        dropped.sort();
        for name in dropped {
            notes.push(format!(
                "parameter `{name}` of the state file is not registered here: its state is dropped"
            ));
        }
        Ok(notes)
    }

    /// Checks saved parameter state `p` against `slot` (length, shape, buffers and their
    /// lengths, the counters ASGD needs) and moves its buffers out; the name and group are the
    /// caller's to check.
    fn take_param_state(
        &self,
        slot: &Slot,
        p: &mut ParamState,
    ) -> Result<(Counters, Buffers), StateError> {
        let (names, _) = buffer_names(self.kind);
        if p.len != slot.len {
            return Err(StateError::ParamLength {
                name: slot.name.clone(),
                expected: slot.len,
                found: p.len,
            });
        }
        if let Some(shape) = p.shape.as_ref().filter(|&s| *s != slot.shape) {
            return Err(StateError::ParamShape {
                name: slot.name.clone(),
                expected: slot.shape.clone(),
                found: shape.clone(),
            });
        }
        let layout = buffer_layout(self.kind, &slot.shape);
        let mut bufs: [Option<Vec<f32>>; 3] = [None, None, None];
        for (buffer, data) in &mut p.buffers {
            let found = names.iter().position(|n| n == buffer);
            let Some((i, (len, _))) = found.and_then(|i| Some((i, layout[i]?))) else {
                let known: Vec<&str> = names
                    .iter()
                    .zip(&layout)
                    .filter_map(|(n, l)| l.map(|_| *n))
                    .collect();
                return Err(StateError::UnknownBuffer {
                    name: slot.name.clone(),
                    buffer: buffer.clone(),
                    optimizer: self.kind.torch_name(),
                    known: known.join(", "),
                });
            };
            if data.len() != len {
                return Err(StateError::BufferLength {
                    name: slot.name.clone(),
                    buffer: buffer.clone(),
                    expected: len,
                    found: data.len(),
                });
            }
            bufs[i] = Some(std::mem::take(data));
        }
        if let Some(missing) = names
            .iter()
            .zip(&layout)
            .zip(&bufs)
            .find_map(|((n, l), b)| (l.is_some_and(|l| l.1) && b.is_none()).then_some(n))
        {
            return Err(StateError::MissingBuffer {
                name: slot.name.clone(),
                buffer: missing.to_string(),
                optimizer: self.kind.torch_name(),
            });
        }
        if self.kind == OptimizerKind::Asgd && p.step > 0.0 {
            if let Some(missing) = [("eta", p.eta), ("mu", p.mu)]
                .into_iter()
                .find_map(|(n, v)| v.is_none().then_some(n))
            {
                return Err(StateError::MissingBuffer {
                    name: slot.name.clone(),
                    buffer: missing.to_string(),
                    optimizer: self.kind.torch_name(),
                });
            }
        }
        let counters = Counters {
            step: p.step,
            mu_product: p.mu_product.unwrap_or(1.0),
            eta: p.eta.unwrap_or(Counters::FRESH.eta),
            mu: p.mu.unwrap_or(Counters::FRESH.mu),
        };
        Ok((counters, bufs))
    }
}

impl Slot {
    /// A fresh parameter with the state PyTorch creates at its first step (allocated now).
    /// `defaults` are the optimizer's own options: PyTorch's Adagrad fills `sum` with the
    /// constructor's `initial_accumulator_value`, ignoring a group's override.
    fn new(
        kind: OptimizerKind,
        hp: &Hyperparams,
        defaults: &Hyperparams,
        name: &str,
        shape: &[usize],
        group: usize,
    ) -> Slot {
        let len = shape.iter().product();
        use OptimizerKind::*;
        let zeros = || Some(vec![0.0f32; len]);
        let mut scratch = Scratch::None;
        // Whether a threaded step may split the parameter (see `Slot::step`).
        let splittable = len >= 2 * MIN_PER_THREAD;
        let bufs = match kind {
            Sgd => [None, None, None],
            Adam | AdamW => [zeros(), zeros(), if hp.amsgrad { zeros() } else { None }],
            RmsProp => [
                zeros(),
                if hp.momentum > 0.0 { zeros() } else { None },
                if hp.centered { zeros() } else { None },
            ],
            Adagrad => [
                Some(vec![defaults.initial_accumulator_value as f32; len]),
                None,
                None,
            ],
            // Rprop's step sizes start at the lr of the first step (Slot::prepare).
            Adadelta | Adamax | NAdam | RAdam | Rprop | Lamb => [zeros(), zeros(), None],
            Asgd | Lion | Muon => [zeros(), None, None],
            Adafactor => {
                let [variance, row, col] =
                    buffer_layout(kind, shape).map(|l| l.map(|(n, _)| vec![0.0f32; n]));
                let cols = kernels::adafactor_factoring(shape).map_or(0, |(b, _, c)| b * c);
                let blocks = if splittable {
                    kernels::adafactor::adafactor_partials(shape)
                } else {
                    0
                };
                scratch = Scratch::Adafactor {
                    col_sums: vec![0.0; cols],
                    sums: vec![Default::default(); blocks],
                };
                [variance, row, col]
            }
        };
        if kind == Lamb && splittable {
            let blocks = len.div_ceil(kernels::REDUCE_BLOCK);
            scratch = Scratch::Lamb(vec![Default::default(); blocks]);
        }
        if let (Muon, &[rows, cols]) = (kind, shape) {
            scratch = Scratch::Muon(Box::new(kernels::MuonScratch::new(rows, cols)));
        }
        Slot {
            name: name.to_string(),
            shape: shape.to_vec(),
            len,
            group,
            counters: Counters::FRESH,
            bufs,
            scratch,
        }
    }

    /// One step of this parameter: creates the buffers PyTorch creates lazily, then runs the
    /// kernel over the whole tensor, or over one chunk per thread of `pool` when the tensor is
    /// large enough to be worth splitting (a kernel that reduces over the whole tensor,
    /// [`whole_tensor`], is given the threads and splits its passes itself).
    /// Each chunk starts from the same [`Counters`] and computes the same scalars, so the
    /// result is bit-identical to the single-threaded one.
    fn step(
        &mut self,
        kind: OptimizerKind,
        hp: &Hyperparams,
        ctx: &StepContext,
        param: &mut [f32],
        grad: &[f32],
        pool: Option<&Pool>,
    ) {
        let first_momentum = self.prepare(kind, hp);
        let parts = pool.map_or(1, |p| p.threads().min(self.len / MIN_PER_THREAD).max(1));
        if whole_tensor(kind, hp) {
            let workers = match pool {
                Some(pool) if parts > 1 => threads::Workers::new(pool, parts),
                _ => threads::Workers::SERIAL,
            };
            return self.step_whole(kind, hp, ctx, first_momentum, param, grad, workers, pool);
        }
        let [b0, b1, b2] = &mut self.bufs;
        let bufs = [b0.as_deref_mut(), b1.as_deref_mut(), b2.as_deref_mut()];
        let pool = match pool {
            Some(pool) if parts > 1 => pool,
            _ => {
                let c = &mut self.counters;
                return kernel(kind, hp, ctx, c, first_momentum, param, grad, bufs);
            }
        };
        let chunks: [Mutex<Option<Chunk<'_>>>; MAX_THREADS] =
            std::array::from_fn(|_| Mutex::new(None));
        let mut rest = Chunk { param, grad, bufs };
        let mut start = 0;
        for (i, slot) in chunks.iter().enumerate().take(parts) {
            let r = threads::bounds(self.len, parts, CHUNK_ALIGN, i);
            let (head, tail) = rest.split_at(r.end - start);
            start = r.end;
            rest = tail;
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(head);
        }
        let counters = self.counters;
        let out = Mutex::new(counters);
        pool.run(&|i| {
            let Some(chunk) = chunks
                .get(i)
                .and_then(|c| c.lock().unwrap_or_else(PoisonError::into_inner).take())
            else {
                return;
            };
            let mut c = counters;
            let Chunk { param, grad, bufs } = chunk;
            kernel(kind, hp, ctx, &mut c, first_momentum, param, grad, bufs);
            if i == 0 {
                *out.lock().unwrap_or_else(PoisonError::into_inner) = c;
            }
        });
        self.counters = out.into_inner().unwrap_or_else(PoisonError::into_inner);
    }

    /// One step of a kernel that reduces over the whole tensor (Lamb, Adafactor, cautious
    /// Lion), its passes split over `workers`, or that needs the whole tensor at once (Muon, on
    /// the calling thread, its matrix products on the threads of `pool`, which share out their
    /// output elements).
    #[allow(clippy::too_many_arguments)]
    fn step_whole(
        &mut self,
        kind: OptimizerKind,
        hp: &Hyperparams,
        ctx: &StepContext,
        first_momentum: bool,
        param: &mut [f32],
        grad: &[f32],
        workers: threads::Workers<'_>,
        pool: Option<&Pool>,
    ) {
        use kernels::*;
        use OptimizerKind::*;
        const MISSING: &str = "Slot::new creates every buffer the kernel needs";
        let [b0, b1, b2] = &mut self.bufs;
        match kind {
            Lamb => {
                let o = LambOptions {
                    lr: hp.lr,
                    bias_correction: hp.bias_correction,
                    betas: hp.betas,
                    eps: hp.eps,
                    weight_decay: hp.weight_decay,
                    grad_averaging: hp.grad_averaging,
                    trust_clip: hp.trust_clip,
                    always_adapt: hp.always_adapt,
                    caution: hp.caution,
                    decoupled_decay: hp.decoupled_decay,
                    max_lr: hp.corrected_weight_decay.then_some(ctx.max_lr),
                };
                let state = LambState {
                    step: ctx.group_step,
                    exp_avg: b0.as_deref_mut().expect(MISSING),
                    exp_avg_sq: b1.as_deref_mut().expect(MISSING),
                };
                let sums = match &mut self.scratch {
                    Scratch::Lamb(sums) => &mut sums[..],
                    _ => &mut [],
                };
                let block = kernels::REDUCE_BLOCK;
                lamb::lamb_on(&o, ctx.lamb_clip, param, grad, state, sums, workers, block);
            }
            Adafactor => {
                let o = AdafactorOptions {
                    lr: hp.lr,
                    beta2_decay: hp.beta2_decay,
                    eps: hp.adafactor_eps,
                    d: hp.d,
                    weight_decay: hp.weight_decay,
                    maximize: hp.maximize,
                };
                let Scratch::Adafactor { col_sums, sums } = &mut self.scratch else {
                    unreachable!("Slot::new gives Adafactor its scratch")
                };
                let moments = match kernels::adafactor_factoring(&self.shape) {
                    Some((_, rows, cols)) => AdafactorMoments::Factored {
                        rows,
                        cols,
                        row_var: b1.as_deref_mut().expect(MISSING),
                        col_var: b2.as_deref_mut().expect(MISSING),
                        col_sums,
                    },
                    None => AdafactorMoments::Full {
                        variance: b0.as_deref_mut().expect(MISSING),
                    },
                };
                let state = AdafactorState {
                    step: &mut self.counters.step,
                    moments,
                };
                let block = kernels::REDUCE_BLOCK;
                adafactor::adafactor_on(&o, param, grad, state, sums, workers, block);
            }
            Muon => {
                let o = MuonOptions {
                    lr: hp.lr,
                    weight_decay: hp.weight_decay,
                    momentum: hp.momentum,
                    nesterov: hp.nesterov,
                    ns_coefficients: hp.ns_coefficients,
                    eps: hp.eps,
                    ns_steps: hp.ns_steps as usize,
                    adjust_lr: hp.adjust_lr_fn.unwrap_or(MuonAdjustLr::Original),
                };
                let Scratch::Muon(scratch) = &mut self.scratch else {
                    unreachable!("Optimizer::with_shapes gives Muon only matrices")
                };
                let state = MuonState {
                    momentum_buffer: b0.as_deref_mut().expect(MISSING),
                    scratch,
                };
                muon_on(&o, param, grad, state, pool);
            }
            Lion => {
                let o = LionOptions {
                    lr: hp.lr,
                    betas: hp.betas,
                    weight_decay: hp.weight_decay,
                    caution: hp.caution,
                    maximize: hp.maximize,
                    max_lr: hp.corrected_weight_decay.then_some(ctx.max_lr),
                };
                let state = LionState {
                    exp_avg: b0.as_deref_mut().expect(MISSING),
                };
                lion::lion_on(&o, param, grad, state, workers);
            }
            _ => {
                let bufs = [b0.as_deref_mut(), b1.as_deref_mut(), b2.as_deref_mut()];
                let c = &mut self.counters;
                kernel(kind, hp, ctx, c, first_momentum, param, grad, bufs);
            }
        }
    }

    /// Creates the buffers this step needs that do not exist yet (as PyTorch creates them on
    /// first use) and sets the state PyTorch creates from the lr of the first step; returns
    /// whether SGD's momentum buffer is new (`momentum_buffer is None`).
    fn prepare(&mut self, kind: OptimizerKind, hp: &Hyperparams) -> bool {
        use OptimizerKind::*;
        let len = self.len;
        let zeros = |b: &mut Option<Vec<f32>>| {
            b.get_or_insert_with(|| vec![0.0; len]);
        };
        let fresh = self.counters.step == 0.0;
        let [b0, b1, b2] = &mut self.bufs;
        match kind {
            Sgd => {
                let first = hp.momentum != 0.0 && b0.is_none();
                if hp.momentum != 0.0 {
                    zeros(b0);
                }
                return first;
            }
            Adam | AdamW => {
                zeros(b0);
                zeros(b1);
                if hp.amsgrad {
                    zeros(b2);
                }
            }
            RmsProp => {
                zeros(b0);
                if hp.momentum > 0.0 {
                    zeros(b1);
                }
                if hp.centered {
                    zeros(b2);
                }
            }
            Adagrad => {
                let init = hp.initial_accumulator_value as f32;
                b0.get_or_insert_with(|| vec![init; len]);
            }
            Adadelta | Adamax | NAdam | RAdam | Lamb => {
                zeros(b0);
                zeros(b1);
            }
            Rprop => {
                zeros(b0);
                let size = kernels::rprop_initial_step_size(hp.lr);
                match b1 {
                    Some(b) if fresh => b.fill(size),
                    Some(_) => {}
                    None => *b1 = Some(vec![size; len]),
                }
            }
            Asgd => {
                zeros(b0);
                if fresh {
                    self.counters.eta = kernels::asgd_initial_eta(hp.lr);
                    self.counters.mu = 1.0;
                }
            }
            Lion | Muon => zeros(b0),
            // Slot::new creates them for the parameter's shape.
            Adafactor => {}
        }
        false
    }
}

/// Tensors shorter than this many values per thread are not split.
const MIN_PER_THREAD: usize = 1 << 15;

/// Chunk boundaries fall on multiples of this many values (1 KiB, whole cache lines).
const CHUNK_ALIGN: usize = 256;

/// A parameter, its gradient and its buffers (by position in [`buffer_names`]), or one
/// contiguous piece of each.
struct Chunk<'a> {
    param: &'a mut [f32],
    grad: &'a [f32],
    bufs: [Option<&'a mut [f32]>; 3],
}

impl<'a> Chunk<'a> {
    /// The first `at` values of everything, and the rest.
    fn split_at(self, at: usize) -> (Chunk<'a>, Chunk<'a>) {
        let (p0, p1) = self.param.split_at_mut(at);
        let (g0, g1) = self.grad.split_at(at);
        let [b0, b1, b2] = self.bufs.map(|b| match b {
            Some(b) => {
                let (x, y) = b.split_at_mut(at);
                (Some(x), Some(y))
            }
            None => (None, None),
        });
        (
            Chunk {
                param: p0,
                grad: g0,
                bufs: [b0.0, b1.0, b2.0],
            },
            Chunk {
                param: p1,
                grad: g1,
                bufs: [b0.1, b1.1, b2.1],
            },
        )
    }
}

/// Runs `kind`'s kernel over one parameter (or chunk) whose buffers [`Slot::prepare`] created.
#[allow(clippy::too_many_arguments)]
fn kernel(
    kind: OptimizerKind,
    hp: &Hyperparams,
    ctx: &StepContext,
    counters: &mut Counters,
    first_momentum: bool,
    param: &mut [f32],
    grad: &[f32],
    bufs: [Option<&mut [f32]>; 3],
) {
    use kernels::*;
    use OptimizerKind::*;
    const MISSING: &str = "Slot::prepare creates every buffer the kernel needs";
    let [b0, b1, b2] = bufs;
    let Counters {
        step,
        mu_product,
        eta,
        mu,
    } = counters;
    match kind {
        Sgd => {
            let state = match b0 {
                None => SgdState::NoMomentum,
                Some(_) if hp.momentum == 0.0 => SgdState::NoMomentum,
                Some(b) if first_momentum => SgdState::FirstMomentum(b),
                Some(b) => SgdState::Momentum(b),
            };
            sgd(hp, param, grad, state);
        }
        Adam | AdamW => {
            let mut hp = *hp;
            hp.decoupled_weight_decay |= kind == AdamW;
            let state = AdamState {
                step,
                exp_avg: b0.expect(MISSING),
                exp_avg_sq: b1.expect(MISSING),
                max_exp_avg_sq: if hp.amsgrad { b2 } else { None },
            };
            adam(&hp, param, grad, state);
        }
        RmsProp => {
            let state = RmsPropState {
                step,
                square_avg: b0.expect(MISSING),
                momentum_buffer: b1,
                grad_avg: b2,
            };
            rmsprop(hp, param, grad, state);
        }
        Adagrad => adagrad(
            hp,
            param,
            grad,
            AdagradState {
                step,
                sum: b0.expect(MISSING),
            },
        ),
        Adadelta => adadelta(
            hp,
            param,
            grad,
            AdadeltaState {
                step,
                square_avg: b0.expect(MISSING),
                acc_delta: b1.expect(MISSING),
            },
        ),
        Adamax => adamax(
            hp,
            param,
            grad,
            AdamaxState {
                step,
                exp_avg: b0.expect(MISSING),
                exp_inf: b1.expect(MISSING),
            },
        ),
        NAdam => nadam(
            hp,
            param,
            grad,
            NAdamState {
                step,
                mu_product,
                exp_avg: b0.expect(MISSING),
                exp_avg_sq: b1.expect(MISSING),
            },
        ),
        RAdam => radam(
            hp,
            param,
            grad,
            RAdamState {
                step,
                exp_avg: b0.expect(MISSING),
                exp_avg_sq: b1.expect(MISSING),
            },
        ),
        Rprop => rprop(
            &RpropOptions {
                etas: hp.etas,
                step_sizes: hp.step_sizes,
                maximize: hp.maximize,
            },
            param,
            grad,
            RpropState {
                step,
                prev: b0.expect(MISSING),
                step_size: b1.expect(MISSING),
            },
        ),
        Asgd => asgd(
            &AsgdOptions {
                lr: hp.lr,
                lambd: hp.lambd,
                alpha: hp.alpha,
                t0: hp.t0,
                weight_decay: hp.weight_decay,
                maximize: hp.maximize,
            },
            param,
            grad,
            AsgdState {
                step,
                eta,
                mu,
                ax: b0.expect(MISSING),
            },
        ),
        Lion => lion(
            &LionOptions {
                lr: hp.lr,
                betas: hp.betas,
                weight_decay: hp.weight_decay,
                caution: hp.caution,
                maximize: hp.maximize,
                max_lr: hp.corrected_weight_decay.then_some(ctx.max_lr),
            },
            param,
            grad,
            LionState {
                exp_avg: b0.expect(MISSING),
            },
        ),
        // Whole-tensor kernels, run by `Slot::step_whole` (never split, never here).
        Lamb | Adafactor | Muon => unreachable!("{kind:?} steps whole tensors"),
    }
}

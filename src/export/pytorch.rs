//! A checked [`Config`] as a Python snippet that builds the same `torch.optim` optimizer and
//! `torch.optim.lr_scheduler` scheduler (`optimc export FILE --to pytorch`).
//!
//! The snippet defines `build(model) -> (optimizer, scheduler)`:
//!
//! - parameter groups come from `model.named_parameters()`, each name going to the first group
//!   (in declaration order) with a matching glob, exactly as optimc matches (`*` any run of
//!   characters, dots too; `?` one character; no `[...]` classes, so `fnmatch` is not used);
//!   a name that matches no group raises `ValueError`;
//! - the optimizer gets the options that differ from PyTorch's defaults (and always `lr`), each
//!   group the options that differ from the optimizer's; `lion` and `lamb` are timm's
//!   (`from timm.optim import Lion`), the others `torch.optim`'s; `none` is Python's `None`;
//! - `chain` and `sequence` build their children first, then `ChainedScheduler`/`SequentialLR`;
//!   a `warmup` is `SequentialLR([warmup, then], milestones=[steps])` with `LinearLR`,
//!   `ConstantLR` or a `LambdaLR` for the warmup; one PyTorch has no class for (`then` beneath
//!   it, `clock = overlap | follow`, or stepped every n steps, `then_every`, or warming the
//!   momentum up, `start_momentum`), or where that `SequentialLR` would not be exact (nested
//!   in `chain`/`sequence`/`warmup`, over a `chain`/`sequence`, over a `then` not starting at
//!   the groups' lrs) is the snippet's `Warmup` scheduler over `then`, which mirrors
//!   `schedule/warmup.rs` step for step (it sets each group's `momentum`, or `betas`'s first
//!   entry, as `OneCycleLR` does);
//! - a group's `lr_scale` goes into its dict (`"lr_scale": 0.5625`, as timm's
//!   `param_groups_layer_decay` puts it), and the scheduler is wrapped in `LrScale`, which
//!   runs it on the unscaled lrs and gives each group `lr * group["lr_scale"]` after every step;
//! - per-group schedules become `LambdaLR`/`MultiplicativeLR` with one function per group, or,
//!   where some set the lr itself (`absolute`, fairseq's...), one `AbsoluteLR` with a function
//!   per group (a lambda's is `base_lr * f(step)`); combinations PyTorch cannot express
//!   (per-group schedules of other kinds, `plateau` inside `chain`/`sequence`/`warmup`) make
//!   `build` raise `NotImplementedError` saying why;
//! - the snippet's own schedulers (`Warmup`, `AbsoluteLR`, `LrScale`) have `state_dict` and
//!   `load_state_dict` that `torch.save`/`torch.load(weights_only=True)` carry;
//! - lambdas become Python functions of a float epoch (`math.` functions, `//`, `%`, `**`,
//!   conditional expressions, `min(max(x, lo), hi)` for `clamp`). Python raises where optimc
//!   yields an infinity or NaN (`1 / 0`, `math.log(0)`, `math.sqrt(-1)`).

use crate::ast::{BinaryOp, UnaryOp};
use crate::config::{
    AverageConfig, Config, Hyperparams, OptionName, OptionValue, PerGroup, ScheduleConfig,
    Stepping, WarmupClock, WarmupShape,
};
use crate::expr::{Func, Lambda, NodeKind, NodeRef, UnaryFn};
use crate::schedule::named::PyRule;
use crate::schedule::{ParamType, ParamValue, Word};
use std::fmt::Write as _;

/// The Python snippet for `config` (see the module documentation).
pub fn to_pytorch(config: &Config) -> String {
    crate::limits::with_stack(crate::limits::PASS_STACK, || snippet(config))
}

fn snippet(config: &Config) -> String {
    let mut w = Writer::default();
    let body = w.build_body(config);
    let mut out = String::new();
    let kind = config.optimizer;
    if kind.python_module() == "torch.optim" {
        out.push_str(HEADER);
    } else {
        // timm's optimizers (Lion, Lamb) are imported by name.
        let import = format!(
            "import torch\nfrom {} import {}\n",
            kind.python_module(),
            kind.torch_name()
        );
        out.push_str(&HEADER.replacen("import torch\n", &import, 1));
    }
    let filters = config.groups.iter().any(|g| g.filters());
    if filters {
        out.push_str(
            "# With each group, the patterns a parameter must not match and the range of its ndim.\n",
        );
    }
    if w.functions.iter().any(|f| f == WARMUP) {
        // The warmup class copies `then`'s state to run it ahead, and silences the warning
        // that stepping it before the first `optimizer.step()` gives.
        out = out.replacen(
            "import math\nimport re\n",
            "import copy\nimport math\nimport re\nimport warnings\n",
            1,
        );
    }
    out.push_str("GROUPS = [\n");
    let py_list = |ps: &[String]| {
        let ps: Vec<String> = ps.iter().map(|p| py_str(p)).collect();
        format!("[{}]", ps.join(", "))
    };
    for g in &config.groups {
        if filters {
            let max = g.ndim.max.map_or("None".to_string(), |m| m.to_string());
            let _ = writeln!(
                out,
                "    ({}, {}, {}, ({}, {max})),",
                py_str(&g.name),
                py_list(&g.params),
                py_list(&g.exclude),
                g.ndim.min
            );
        } else {
            let _ = writeln!(out, "    ({}, {}),", py_str(&g.name), py_list(&g.params));
        }
    }
    out.push_str("]\n\n\n");
    out.push_str(if filters { MATCHING_FILTERS } else { MATCHING });
    for f in &w.functions {
        out.push_str("\n\n");
        out.push_str(f);
    }
    out.push_str("\n\ndef build(model):\n");
    match config.run {
        // Without `run`, the text of every earlier export.
        None => out.push_str(
            "    \"\"\"The optimizer and scheduler for `model`: call `optimizer.step()` then \
             `scheduler.step()`\n    once per optimc epoch",
        ),
        Some(run) => {
            let when = match run.stepping {
                Stepping::PerStep => "after every batch",
                Stepping::PerEpoch => "once per epoch",
            };
            let _ = write!(
                out,
                "    \"\"\"The optimizer and scheduler for `model`: call `optimizer.step()` then \
                 `scheduler.step()`\n    {when} (`run = {run}`)"
            );
        }
    }
    if config.groups.iter().enumerate().any(|(i, _)| {
        config
            .schedule_of(i)
            .is_some_and(ScheduleConfig::needs_metric)
    }) {
        out.push_str(" (`scheduler.step(val_loss)` for ReduceLROnPlateau)");
    }
    out.push_str(".\"\"\"\n");
    out.push_str(&body);
    if let Some(a) = &config.average {
        out.push_str(&averaged_model(a, config.stepping()));
    }
    out
}

/// `averaged(model)`: the `AveragedModel` of an `average = ...` statement, and
/// `update_average(...)`: where optimc's `Trainer` calls `update_parameters` (after every
/// optimizer step, once `start` schedule steps have been taken).
fn averaged_model(a: &AverageConfig, stepping: Stepping) -> String {
    let (what, call) = match a {
        AverageConfig::Swa { .. } => (
            "The equal average (SWA)".to_string(),
            "torch.optim.swa_utils.AveragedModel(model)".to_string(),
        ),
        AverageConfig::Ema { decay, .. } => (
            format!("An exponential moving average (decay {})", py_float(*decay)),
            format!(
                "torch.optim.swa_utils.AveragedModel(\n        model, \
                 multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn({})\n    )",
                py_float(*decay)
            ),
        ),
    };
    let unit = match stepping {
        Stepping::PerStep => "batches ended (the file steps its schedule per batch)",
        Stepping::PerEpoch => "epochs ended",
    };
    format!(
        "\n\n# `update_parameters` starts once this many `scheduler.step()` calls were made: {unit}.\n\
         AVERAGE_START = {start}\n\n\n\
         def averaged(model):\n    \"\"\"{what} of `model`'s parameters (the first update copies them).\"\"\"\n    \
         return {call}\n\n\n\
         def update_average(averaged_model, model, scheduler_steps):\n    \
         \"\"\"Call after every `optimizer.step()`, with the number of `scheduler.step()` calls made so far\n    \
         ({unit}), as optimc's Trainer does.\"\"\"\n    \
         if scheduler_steps >= AVERAGE_START:\n        \
         averaged_model.update_parameters(model)\n",
        start = a.start()
    )
}

const HEADER: &str = r#""""Built by `optimc export --to pytorch`: the optimizer and lr scheduler of an .optim file."""
import math
import re

import torch

# (name, glob patterns) of every parameter group, in declaration order.
"#;

const MATCHING: &str = r#"def _glob(pattern):
    """optimc's glob as a regex: `*` any run of characters (dots too), `?` one character."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def param_groups(model):
    """The parameters of `model`, one list per group: a parameter joins the first group with a
    matching pattern; a parameter matching no group is an error."""
    globs = [[_glob(p) for p in patterns] for _, patterns in GROUPS]
    params = [[] for _ in GROUPS]
    unmatched = []
    for name, param in model.named_parameters():
        for i, group in enumerate(globs):
            if any(g.fullmatch(name) for g in group):
                params[i].append(param)
                break
        else:
            unmatched.append(name)
    if unmatched:
        raise ValueError("parameters that match no group: " + ", ".join(unmatched))
    return params
"#;

/// timm's `lr_scale` around any scheduler: the scheduler runs on the unscaled lrs (put back
/// before each of its steps), and each group gets `lr * group["lr_scale"]` after, one
/// multiplication as in timm's `update_groups`.
const LR_SCALE: &str = r#"class LrScale:
    """Every lr `scheduler` writes for a group, times the group's "lr_scale" (timm's layer-wise
    lr decay, `value * group["lr_scale"]`); `scheduler` (or None: a constant lr) runs on the
    unscaled lrs."""

    def __init__(self, optimizer, scheduler):
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.unscaled = [g["lr"] for g in optimizer.param_groups]
        self._scale()

    def _scale(self):
        for g, lr in zip(self.optimizer.param_groups, self.unscaled):
            g["lr"] = lr * g["lr_scale"] if "lr_scale" in g else lr

    def step(self, *args, **kwargs):
        if self.scheduler is not None:
            for g, lr in zip(self.optimizer.param_groups, self.unscaled):
                g["lr"] = lr
            self.scheduler.step(*args, **kwargs)
            self.unscaled = [g["lr"] for g in self.optimizer.param_groups]
        self._scale()

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        inner = None if self.scheduler is None else self.scheduler.state_dict()
        return {"unscaled": self.unscaled, "scheduler": inner}

    def load_state_dict(self, state_dict):
        # (The optimizer's own state_dict brings back the scaled lrs.)
        self.unscaled = list(state_dict["unscaled"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state_dict["scheduler"])
"#;

/// [`MATCHING`] for groups that also `exclude` patterns or select by `ndim` (`where`).
const MATCHING_FILTERS: &str = r#"def _glob(pattern):
    """optimc's glob as a regex: `*` any run of characters (dots too), `?` one character."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def param_groups(model):
    """The parameters of `model`, one list per group: a parameter joins the first group with a
    matching pattern, no matching `exclude` pattern and an ndim in its range; a parameter no
    group takes is an error."""
    groups = [
        ([_glob(p) for p in patterns], [_glob(p) for p in exclude], lo, hi)
        for _, patterns, exclude, (lo, hi) in GROUPS
    ]
    params = [[] for _ in GROUPS]
    unmatched = []
    for name, param in model.named_parameters():
        for i, (globs, exclude, lo, hi) in enumerate(groups):
            if (
                any(g.fullmatch(name) for g in globs)
                and not any(g.fullmatch(name) for g in exclude)
                and lo <= param.ndim
                and (hi is None or param.ndim <= hi)
            ):
                params[i].append(param)
                break
        else:
            unmatched.append(name)
    if unmatched:
        raise ValueError("parameters that match no group: " + ", ".join(unmatched))
    return params
"#;

/// `LambdaLR` for the schedules that give the lr itself rather than a factor of it (fairseq's,
/// nanoGPT's, timm's, `absolute`): `lr_at(step, base_lr)` is each group's lr, one function for
/// every group or a list of one per group.
const ABSOLUTE_LR: &str = r#"class AbsoluteLR(torch.optim.lr_scheduler.LRScheduler):
    """Like LambdaLR, but `lr_at(step, base_lr)` is the group's lr itself, not a factor of it
    (`lr_at` is one function for every group, or a list of one per group)."""

    def __init__(self, optimizer, lr_at, last_epoch=-1):
        if isinstance(lr_at, (list, tuple)):
            self.lr_ats = list(lr_at)
        else:
            self.lr_ats = [lr_at] * len(optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [lr_at(self.last_epoch, b) for lr_at, b in zip(self.lr_ats, self.base_lrs)]

    def state_dict(self):
        # The functions are code, not state (LambdaLR leaves its lambdas out too).
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_ats")}
"#;

/// optimc's `warmup` where PyTorch has no class for it: `then` running beneath the warmup
/// (`clock = overlap | follow`), stepping every n steps (`then_every`), or a warmup of the
/// momentum (`start_momentum`). It mirrors `schedule/warmup.rs` step for step, so that its lrs
/// and momenta are optimc's to the bit; `_fraction` is the one place that computes how far along
/// the ramp a step is.
const WARMUP: &str = r#"class Warmup(torch.optim.lr_scheduler.LRScheduler):
    """optimc's `warmup(steps, then, ...)` over the scheduler `then` (built first, on the same
    optimizer). For `steps` steps each group's lr ramps from its start (`start_lrs`, or
    `start_factor` times `then`'s first lr) towards its end, along `shape` ("linear", "cosine"
    or "constant": the start throughout). Where the ramp ends and when `then` runs (`clock`):

    - "after": `then` starts when the warmup ends, which rises to `then`'s first lr
      (SequentialLR's warmup);
    - "overlap": `then` runs beneath the warmup from step 0, which rises to the lr `then` has at
      step `steps` (detectron2's WarmupParamScheduler);
    - "follow": `then` runs beneath the warmup from step 0, which heads at every step for
      `then`'s lr of that step, a moving target (YOLO's warmup).

    `then` steps once every `then_every` steps (a per-epoch schedule under a per-batch warmup).

    With `start_momenta` (one per group), each group's momentum (`betas[0]` where the optimizer
    has betas) ramps too, along the same shape from its start to the value the group had when
    the warmup was built (the optimizer's), which it is from step `steps` on (YOLO's
    `warmup_momentum`), whatever the clock.
    """

    def __init__(self, optimizer, then, steps, start_factor=0.0, start_lrs=None,
                 shape="linear", clock="after", then_every=1, start_momenta=None):
        self.then = then
        self.steps = steps
        self.start_factor = start_factor
        self.start_lrs = start_lrs
        self.shape = shape
        self.clock = clock
        self.then_every = then_every
        self.optimizer = optimizer
        self.start_momenta = start_momenta
        self.end_momenta = [self._momentum(g) for g in optimizer.param_groups]
        self._begin()
        if clock == "overlap":
            self.end = self._lrs_of_then_at_end()
        # Set by the first step: any later step to 0 (SequentialLR's) starts the warmup over.
        self.started = False
        super().__init__(optimizer)

    def _lrs(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def _set_lrs(self, lrs):
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr

    def _begin(self):
        """Starts from `then`'s lrs as the groups hold them now (`then` just built)."""
        self.held = self._lrs()  # `then`'s own lrs, which the ramp replaces in the groups
        if self.clock != "overlap":
            self.end = list(self.held)
        if self.start_lrs is not None:
            self.start = list(self.start_lrs)
        else:
            self.start = [self.start_factor * lr for lr in self.held]

    def _lrs_of_then_at_end(self):
        """The lrs `then` has at step `steps`: it runs ahead, then is put back as it was."""
        saved, lrs = copy.deepcopy(self.then.state_dict()), self._lrs()
        with warnings.catch_warnings():
            # (Stepping a scheduler before the first `optimizer.step()` warns.)
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(self.steps // self.then_every):
                self.then.step()
        ahead = self._lrs()
        self.then.load_state_dict(saved)
        self._set_lrs(lrs)
        return ahead

    def _fraction(self, step):
        """How far along the ramp warmup step `step` (< `steps`) is: 0 at its start."""
        t = step / self.steps
        if self.shape == "linear":
            return t
        if self.shape == "cosine":
            return 0.5 * (1.0 - math.cos(math.pi * t))
        return 0.0

    def _ramp(self, step):
        """Every group's lr at warmup step `step` (< `steps`)."""
        f = self._fraction(step)
        ends = self.held if self.clock == "follow" else self.end
        return [start + (end - start) * f for start, end in zip(self.start, ends)]

    @staticmethod
    def _momentum(group):
        return group["betas"][0] if "betas" in group else group.get("momentum")

    def _write_momenta(self, momenta):
        for g, m in zip(self.optimizer.param_groups, momenta):
            if "betas" in g:
                g["betas"] = (m, *g["betas"][1:])
            else:
                g["momentum"] = m

    def _set_momenta(self, step):
        """With `start_momenta`: every group's momentum at warmup step `step`, the ramp's before
        `steps`, the end at `steps`; after that nothing else sets it, so it stays."""
        if self.start_momenta is None or step > self.steps:
            return
        if step == self.steps:
            self._write_momenta(self.end_momenta)
            return
        f = self._fraction(step)
        self._write_momenta(
            [start + (end - start) * f for start, end in zip(self.start_momenta, self.end_momenta)]
        )

    @classmethod
    def put_back_momenta(cls, scheduler):
        """What optimc's `sequence` does to its later children, all built at once: the momenta
        their warmups wrote when built go back to the optimizer's until their turn comes."""
        if isinstance(scheduler, cls):
            cls.put_back_momenta(scheduler.then)
            if scheduler.start_momenta is not None:
                scheduler._write_momenta(scheduler.end_momenta)
        elif isinstance(scheduler, (torch.optim.lr_scheduler.ChainedScheduler,
                                    torch.optim.lr_scheduler.SequentialLR)):
            for s in scheduler._schedulers:
                cls.put_back_momenta(s)

    @classmethod
    def _restart(cls, scheduler):
        """Starts `scheduler` over as freshly built from the groups' current lrs, as optimc
        does: a warmup restarts its `then` and ramps anew, a ChainedScheduler restarts every
        child, a SequentialLR goes back to the initial lrs and its first child, any other
        scheduler redoes its initial step."""
        if isinstance(scheduler, cls):
            cls._restart(scheduler.then)
            scheduler._begin()
            scheduler.last_epoch = 0
            scheduler._set_lrs(scheduler._ramp(0))
            scheduler._set_momenta(0)
        elif isinstance(scheduler, torch.optim.lr_scheduler.ChainedScheduler):
            for s in scheduler._schedulers:
                cls._restart(s)
        elif isinstance(scheduler, torch.optim.lr_scheduler.SequentialLR):
            for g in scheduler.optimizer.param_groups:
                g["lr"] = g["initial_lr"]
            scheduler.last_epoch = 0
            cls._restart(scheduler._schedulers[0])
        else:
            scheduler.last_epoch = -1
            scheduler._initial_step()

    def _step_then(self, step):
        if step % self.then_every == 0:
            self.then.step()

    def get_lr(self):
        s = self.last_epoch
        self._set_momenta(s)
        if s == 0:
            if self.started:
                # SequentialLR starts this child (its first, or at its milestone): from the
                # initial lrs, as freshly built.
                self._set_lrs([g["initial_lr"] for g in self.optimizer.param_groups])
                self._restart(self.then)
                self._begin()
            self.started = True
            return self._ramp(0)
        if self.clock == "after":
            if s < self.steps:
                return self._ramp(s)
            if s == self.steps:
                return list(self.end)  # `then` takes over at its first lrs
            self._step_then(s - self.steps)
            return self._lrs()
        if s > self.steps:
            self._step_then(s)
            return self._lrs()
        # `then` steps on its own lrs; the ramp, while it lasts, replaces them in the groups.
        self._set_lrs(self.held)
        self._step_then(s)
        self.held = self._lrs()
        return self._ramp(s) if s < self.steps else list(self.held)

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "then")}
        state["then"] = self.then.state_dict()
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        self.then.load_state_dict(state.pop("then"))
        self.__dict__.update(state)
"#;

#[derive(Default)]
struct Writer {
    /// Module-level `def`s (lambdas), in order.
    functions: Vec<String>,
    /// How many schedulers were named so far.
    schedulers: usize,
    /// Every group's lr (a `warmup` from an absolute `start_lr` is a `LambdaLR` of its ratio).
    group_lrs: Vec<f64>,
}

/// A Python string literal.
fn py_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Python float literal that reads back as exactly `v`.
fn py_float(v: f64) -> String {
    if v.is_nan() {
        "math.nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "math.inf" } else { "-math.inf" }.into()
    } else {
        format!("{v:?}")
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn py_per_group(p: &PerGroup) -> String {
    match p {
        PerGroup::All(v) => py_float(*v),
        PerGroup::Each(vs) => {
            let items: Vec<String> = vs.iter().map(|v| py_float(*v)).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn py_option(name: OptionName, hp: &Hyperparams) -> String {
    match hp.get(name) {
        OptionValue::Number(v) => py_float(v),
        OptionValue::Bool(b) => py_bool(b).into(),
        OptionValue::Pair(a, b) => format!("({}, {})", py_float(a), py_float(b)),
        OptionValue::MaybePair(a, b) => {
            format!("({}, {})", a.map_or("None".into(), py_float), py_float(b))
        }
        OptionValue::Triple(a, b, c) => {
            format!("({}, {}, {})", py_float(a), py_float(b), py_float(c))
        }
        OptionValue::Count(n) => n.to_string(),
        OptionValue::MaybeNumber(v) => v.map_or("None".into(), py_float),
        OptionValue::Choice(c) => c.map_or("None".into(), py_str),
    }
}

/// Whether two hyperparameter sets agree on `name` (bit for bit, so `-0.0` differs from `0.0`).
fn same(name: OptionName, a: &Hyperparams, b: &Hyperparams) -> bool {
    py_option(name, a) == py_option(name, b)
}

const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "math", "float", "min", "max", "abs", "round", "re", "torch",
];

/// A lambda as a Python function named `name` of one float argument.
///
/// ```
/// let lambda = optimc::expr::Lambda::from_text("e -> if e < 5 then clamp(e / 5, 0.1, 1) else 0.5 ** (e // 10)").unwrap();
/// assert_eq!(
///     optimc::export::pytorch::lambda_to_python(&lambda, "f"),
///     "def f(e):\n    e = float(e)\n    return min(max(e / 5.0, 0.1), 1.0) if e < 5.0 else 0.5 ** (e // 10.0)\n",
/// );
/// ```
///
/// Local values (`let c = value in body`) at the top of the body become assignments before the
/// `return`; one deeper in (in a branch, say) becomes `(lambda c: body)(value)`. Both compute
/// the value once, before the body, as optimc does.
pub fn lambda_to_python(lambda: &Lambda, name: &str) -> String {
    let param = PyNames::of(lambda).param;
    format!("def {name}({param}):\n{}", python_body(lambda, &param))
}

/// The statements of a Python function computing `lambda` of its argument `arg`: the
/// parameter as a float, the local values, the `return` (each line indented four spaces).
fn python_body(lambda: &Lambda, arg: &str) -> String {
    let names = PyNames::of(lambda);
    let param = &names.param;
    let mut out = format!("    {param} = float({arg})\n");
    let mut body = lambda.body();
    while let NodeKind::Let {
        name: local,
        value,
        body: rest,
    } = body.kind()
    {
        let _ = write!(out, "    {} = ", names.local(local));
        write_node(&mut out, value, &names, 0);
        out.push('\n');
        body = rest;
    }
    out.push_str("    return ");
    write_node(&mut out, body, &names, 0);
    out.push('\n');
    out
}

/// The Python names of a lambda's parameter and local values: as written, but for Python's
/// keywords and the names the generated code uses (`math`, `min`, ...), which get a `_` after
/// them (more than one if that name is taken too).
struct PyNames {
    param: String,
    locals: std::collections::HashMap<String, String>,
}

impl PyNames {
    fn of(lambda: &Lambda) -> PyNames {
        let mut written = vec![lambda.param().to_string()];
        let mut stack = vec![lambda.body()];
        while let Some(node) = stack.pop() {
            match node.kind() {
                NodeKind::Let { name, value, body } => {
                    if !written.iter().any(|w| w == name) {
                        written.push(name.to_string());
                    }
                    stack.extend([value, body]);
                }
                NodeKind::Unary(_, x) => stack.push(x),
                NodeKind::Binary(_, l, r) => stack.extend([l, r]),
                NodeKind::If(c, t, e) => stack.extend([c, t, e]),
                NodeKind::Call(_, args) => stack.extend(args.iter()),
                NodeKind::Number(_) | NodeKind::Bool(_) | NodeKind::Param | NodeKind::Local(_) => {}
            }
        }
        let mut taken: Vec<String> = written.clone();
        let mut python = |name: &str| -> String {
            if !(PY_KEYWORDS.contains(&name) || name.starts_with("__")) {
                return name.to_string();
            }
            let mut out = format!("{name}_");
            while taken.contains(&out) || PY_KEYWORDS.contains(&out.as_str()) {
                out.push('_');
            }
            taken.push(out.clone());
            out
        };
        let param = python(&written[0]);
        let locals = written[1..]
            .iter()
            .map(|n| (n.clone(), python(n)))
            .collect();
        PyNames { param, locals }
    }

    fn local<'a>(&'a self, name: &'a str) -> &'a str {
        self.locals.get(name).map_or(name, String::as_str)
    }
}

/// Python's precedence levels, loosest first (they match the language's).
fn precedence(node: NodeRef<'_>) -> u8 {
    match node.kind() {
        NodeKind::If(..) => 0,
        // `(lambda c: body)(value)` is a call.
        NodeKind::Let { .. } => 9,
        NodeKind::Binary(op, ..) => match op {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            op if op.is_comparison() => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Pow => 8,
            _ => 6,
        },
        NodeKind::Unary(UnaryOp::Not, _) => 3,
        NodeKind::Unary(UnaryOp::Neg, _) => 7,
        NodeKind::Number(v) if v < 0.0 || v.is_sign_negative() => 7,
        _ => 9,
    }
}

fn write_node(out: &mut String, node: NodeRef<'_>, names: &PyNames, min_prec: u8) {
    let prec = precedence(node);
    let parens = prec < min_prec;
    if parens {
        out.push('(');
    }
    match node.kind() {
        NodeKind::Number(v) => out.push_str(&py_float(v)),
        NodeKind::Bool(b) => out.push_str(py_bool(b)),
        NodeKind::Param => out.push_str(&names.param),
        NodeKind::Local(name) => out.push_str(names.local(name)),
        NodeKind::Let { name, value, body } => {
            let _ = write!(out, "(lambda {}: ", names.local(name));
            write_node(out, body, names, 0);
            out.push_str(")(");
            write_node(out, value, names, 0);
            out.push(')');
        }
        NodeKind::Unary(UnaryOp::Neg, x) => {
            out.push('-');
            write_node(out, x, names, 7);
        }
        NodeKind::Unary(UnaryOp::Not, x) => {
            out.push_str("not ");
            write_node(out, x, names, 3);
        }
        NodeKind::Binary(op, l, r) => {
            let (lp, rp) = match op {
                BinaryOp::Pow => (prec + 1, 7),
                op if op.is_comparison() => (prec + 1, prec + 1),
                _ => (prec, prec + 1),
            };
            write_node(out, l, names, lp);
            let _ = write!(out, " {} ", op.symbol());
            write_node(out, r, names, rp);
        }
        NodeKind::If(c, t, e) => {
            write_node(out, t, names, 1);
            out.push_str(" if ");
            write_node(out, c, names, 1);
            out.push_str(" else ");
            write_node(out, e, names, 0);
        }
        NodeKind::Call(func, args) => {
            // (The checker made sure of the arity.)
            let arg = |out: &mut String, i: usize| {
                if let Some(a) = args.get(i) {
                    write_node(out, a, names, 0)
                }
            };
            match func {
                Func::Unary(f) => {
                    let (open, close) = match f {
                        UnaryFn::Abs => ("abs(", ")"),
                        UnaryFn::Floor => ("float(math.floor(", "))"),
                        UnaryFn::Ceil => ("float(math.ceil(", "))"),
                        UnaryFn::Round => ("float(round(", "))"),
                        _ => ("", ")"),
                    };
                    if open.is_empty() {
                        let _ = write!(out, "math.{}(", func.name());
                    } else {
                        out.push_str(open);
                    }
                    arg(out, 0);
                    out.push_str(close);
                }
                Func::Min | Func::Max => {
                    out.push_str(func.name());
                    out.push('(');
                    for i in 0..args.len() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        arg(out, i);
                    }
                    out.push(')');
                }
                Func::Clamp => {
                    out.push_str("min(max(");
                    arg(out, 0);
                    out.push_str(", ");
                    arg(out, 1);
                    out.push_str("), ");
                    arg(out, 2);
                    out.push(')');
                }
            }
        }
    }
    if parens {
        out.push(')');
    }
}

impl Writer {
    /// Adds a module-level function for `lambda` and returns its name.
    fn function(&mut self, lambda: &Lambda, base: &str) -> String {
        let name = self.free_name(base);
        self.functions.push(lambda_to_python(lambda, &name));
        name
    }

    /// `base`, or `base_N` if a module-level function is already called `base`.
    fn free_name(&self, base: &str) -> String {
        if self
            .functions
            .iter()
            .any(|f| f.starts_with(&format!("def {base}(")))
        {
            format!("{base}_{}", self.functions.len() + 1)
        } else {
            base.to_string()
        }
    }

    /// Adds a module-level `def NAME(step, base_lr):` with `body` (a schedule that gives the lr
    /// itself) and, once, the `AbsoluteLR` class that runs it; returns the function's name.
    fn lr_function(&mut self, base: &str, body: &str) -> String {
        if !self.functions.iter().any(|f| f == ABSOLUTE_LR) {
            self.functions.push(ABSOLUTE_LR.to_string());
        }
        let name = self.free_name(base);
        self.functions
            .push(format!("def {name}(step, base_lr):\n{body}"));
        name
    }

    /// The body of `build(model)`.
    fn build_body(&mut self, config: &Config) -> String {
        let kind = config.optimizer;
        self.group_lrs = config.groups.iter().map(|g| g.options.lr).collect();
        let pytorch_defaults = Hyperparams::defaults(kind);
        let (options, _) = kind.options();
        let mut out = String::from("    params = param_groups(model)\n");
        if kind.python_module() == "torch.optim" {
            let _ = writeln!(out, "    optimizer = torch.optim.{}(", kind.torch_name());
        } else {
            let _ = writeln!(out, "    optimizer = {}(", kind.torch_name());
        }
        out.push_str("        [\n");
        for (i, g) in config.groups.iter().enumerate() {
            let mut entries = vec![format!("\"params\": params[{i}]")];
            for &o in options {
                if !same(o, &g.options, &config.defaults) {
                    entries.push(format!("\"{}\": {}", o.name(), py_option(o, &g.options)));
                }
            }
            if g.lr_scale != 1.0 {
                entries.push(format!("\"lr_scale\": {}", py_float(g.lr_scale)));
            }
            let _ = writeln!(out, "            {{{}}},  # {}", entries.join(", "), g.name);
        }
        out.push_str("        ],\n");
        for &o in options {
            if o == OptionName::Lr || !same(o, &config.defaults, &pytorch_defaults) {
                let _ = writeln!(
                    out,
                    "        {}={},",
                    o.name(),
                    py_option(o, &config.defaults)
                );
            }
        }
        out.push_str("    )\n");
        let mut scheduler = self.top_schedule(config, &mut out);
        // A constant lr is scaled too (`LrScale` of `None`); what PyTorch cannot express has
        // raised already.
        if config.groups.iter().any(|g| g.lr_scale != 1.0)
            && !out.contains("raise NotImplementedError")
        {
            self.functions.push(LR_SCALE.to_string());
            let _ = writeln!(out, "    scheduler = LrScale(optimizer, {scheduler})");
            scheduler = "scheduler".into();
        }
        let _ = writeln!(out, "    return optimizer, {scheduler}");
        out
    }

    /// Writes the statements building the scheduler; returns the expression naming it.
    fn top_schedule(&mut self, config: &Config, out: &mut String) -> String {
        let own = config.groups.iter().any(|g| g.schedule.is_some());
        if !own {
            return match &config.schedule {
                None => {
                    out.push_str("    # No schedule: the lr stays constant.\n");
                    "None".into()
                }
                Some(s) => self.schedule(s, out, false),
            };
        }
        let effective: Vec<Option<&ScheduleConfig>> = (0..config.groups.len())
            .map(|i| config.schedule_of(i))
            .collect();
        if effective.iter().all(|s| *s == effective[0]) {
            if let Some(s) = effective[0] {
                return self.schedule(s, out, false);
            }
        }
        let all = |f: fn(&ScheduleConfig) -> bool| effective.iter().all(|s| s.is_none_or(f));
        let lambda_list = |w: &mut Writer, class: &str, base: &str, out: &mut String| {
            let mut names = Vec::new();
            for (i, s) in effective.iter().enumerate() {
                match s {
                    Some(ScheduleConfig::Lambda { lr_lambda })
                    | Some(ScheduleConfig::Multiplicative { lr_lambda }) => {
                        names.push(w.function(lr_lambda, &format!("{base}_{i}")))
                    }
                    _ => names.push("lambda epoch: 1.0".to_string()),
                }
            }
            let _ = writeln!(out, "    scheduler = torch.optim.lr_scheduler.{class}(");
            out.push_str("        optimizer,\n        [\n");
            for (i, name) in names.iter().enumerate() {
                let what = if effective[i].is_some() {
                    ""
                } else {
                    " (constant)"
                };
                let _ = writeln!(
                    out,
                    "            {name},  # {}{what}",
                    config.groups[i].name
                );
            }
            out.push_str("        ],\n    )\n");
            "scheduler".to_string()
        };
        if all(|s| matches!(s, ScheduleConfig::Lambda { .. })) {
            return lambda_list(self, "LambdaLR", "lr_lambda", out);
        }
        if all(|s| matches!(s, ScheduleConfig::Multiplicative { .. })) {
            return lambda_list(self, "MultiplicativeLR", "lr_lambda", out);
        }
        // Lambdas beside schedules that set the lr itself (`absolute`, fairseq's...): an
        // `AbsoluteLR` with one function per group, a lambda's being `base_lr * f(step)` (the
        // multiplication LambdaLR makes).
        fn sets_lr(s: &ScheduleConfig) -> bool {
            matches!(s, ScheduleConfig::Absolute { .. })
                || matches!(s.named_rule().map(|r| r.python()), Some(PyRule::Lr(_)))
        }
        if all(|s| matches!(s, ScheduleConfig::Lambda { .. }) || sets_lr(s))
            && effective.iter().flatten().any(|s| sets_lr(s))
        {
            let mut entries = Vec::new();
            for (i, s) in effective.iter().enumerate() {
                let (entry, what) = match s {
                    None => ("lambda step, base_lr: base_lr".to_string(), " (constant)"),
                    Some(ScheduleConfig::Lambda { lr_lambda }) => {
                        let f = self.function(lr_lambda, &format!("lr_lambda_{i}"));
                        (format!("lambda step, base_lr: base_lr * {f}(step)"), "")
                    }
                    Some(ScheduleConfig::Absolute { lr_lambda }) => {
                        let body = python_body(lr_lambda, "step");
                        (self.lr_function(&format!("lr_at_{i}"), &body), "")
                    }
                    Some(s) => match s.named_rule().map(|r| r.python()) {
                        Some(PyRule::Lr(body)) => {
                            let base = format!("{}_lr_{i}", s.kind().name());
                            (self.lr_function(&base, &body), "")
                        }
                        _ => unreachable!("a schedule that sets the lr"),
                    },
                };
                entries.push(format!(
                    "            {entry},  # {}{what}",
                    config.groups[i].name
                ));
            }
            let _ = writeln!(
                out,
                "    scheduler = AbsoluteLR(\n        optimizer,\n        lr_at=[\n{}\n        ],\n    )",
                entries.join("\n")
            );
            return "scheduler".into();
        }
        out.push_str(
            "    # PyTorch gives per-group schedules only as LambdaLR or MultiplicativeLR lists;\n    \
             # this file's groups follow different kinds of schedule:\n",
        );
        for (i, s) in effective.iter().enumerate() {
            let what = s.map_or("a constant lr", |s| s.kind().torch_name());
            let _ = writeln!(out, "    #   {}: {what}", config.groups[i].name);
        }
        out.push_str(
            "    raise NotImplementedError(\"per-group schedules of different kinds have no \
             torch.optim.lr_scheduler equivalent\")\n",
        );
        "None".into()
    }

    /// Writes the statements building `s` (its children first); returns its variable's name.
    fn schedule(&mut self, s: &ScheduleConfig, out: &mut String, nested: bool) -> String {
        if nested && matches!(s, ScheduleConfig::Plateau { .. }) {
            out.push_str(
                "    # ReduceLROnPlateau needs the metric in step(metric), which ChainedScheduler and\n    \
                 # SequentialLR never pass; optimc allows `plateau` inside `chain`/`sequence`, PyTorch does not.\n",
            );
            out.push_str(
                "    raise NotImplementedError(\"ReduceLROnPlateau inside ChainedScheduler or \
                 SequentialLR\")\n",
            );
            return "None".into();
        }
        if let ScheduleConfig::Warmup { .. } = s {
            return self.warmup(s, out, nested);
        }
        // SWALR is in `torch.optim.swa_utils`; every other class in `lr_scheduler`.
        let module = match s {
            ScheduleConfig::Swa { .. } => "swa_utils",
            _ => "lr_scheduler",
        };
        let mut class = format!("torch.optim.{module}.{}", s.kind().torch_name());
        let args: Vec<String> = match s {
            ScheduleConfig::Chain { children } => {
                let names: Vec<String> = children
                    .iter()
                    .map(|c| self.schedule(c, out, true))
                    .collect();
                vec![
                    format!("[{}]", names.join(", ")),
                    "optimizer=optimizer".into(),
                ]
            }
            ScheduleConfig::Sequence {
                children,
                milestones,
            } => {
                let names: Vec<String> = children
                    .iter()
                    .map(|c| self.schedule(c, out, true))
                    .collect();
                vec![
                    "optimizer".into(),
                    format!("schedulers=[{}]", names.join(", ")),
                    format!("milestones={}", py_ints(milestones)),
                ]
            }
            // The lambda gives the lr itself: `AbsoluteLR` returns it for every group, where
            // `LambdaLR` would multiply it by the group's initial lr.
            ScheduleConfig::Absolute { lr_lambda } => {
                class = "AbsoluteLR".into();
                let body = python_body(lr_lambda, "step");
                vec![format!("lr_at={}", self.lr_function("lr_at", &body))]
            }
            _ => match s.named_rule().map(|rule| rule.python()) {
                // What its library builds: a LambdaLR of the same factor.
                Some(PyRule::Factor(lambda)) => {
                    class = "torch.optim.lr_scheduler.LambdaLR".into();
                    vec![format!("lr_lambda={lambda}")]
                }
                // The library sets the lr itself: the same function of the step and the
                // group's initial lr.
                Some(PyRule::Lr(body)) => {
                    class = "AbsoluteLR".into();
                    vec![format!(
                        "lr_at={}",
                        self.lr_function(&format!("{}_lr", s.kind().name()), &body)
                    )]
                }
                None => self.keyword_args(s),
            },
        };
        let name = self.scheduler_name(nested);
        let mut args = args;
        if !matches!(
            s,
            ScheduleConfig::Chain { .. } | ScheduleConfig::Sequence { .. }
        ) {
            args.insert(0, "optimizer".into());
        }
        write_call(out, &name, &class, &args);
        // optimc's `sequence` keeps a later child's warmup of the momentum from acting before
        // its milestone (building it wrote the momentum): `SequentialLR` does not.
        if let ScheduleConfig::Sequence { children, .. } = s {
            if children.iter().skip(1).any(|c| c.momentum_setters().0 > 0) {
                if !self.functions.iter().any(|f| f == WARMUP) {
                    self.functions.push(WARMUP.to_string());
                }
                let _ = writeln!(
                    out,
                    "    for later in {name}._schedulers[1:]:\n        Warmup.put_back_momenta(later)"
                );
            }
        }
        name
    }

    /// The variable of the next scheduler: `scheduler` at the top, `scheduler_N` inside.
    fn scheduler_name(&mut self, nested: bool) -> String {
        if nested {
            self.schedulers += 1;
            format!("scheduler_{}", self.schedulers)
        } else {
            "scheduler".to_string()
        }
    }

    /// A `warmup`, as PyTorch users write one: `SequentialLR([warmup, then], milestones=[steps])`
    /// whose warmup is `LinearLR`/`ConstantLR` from a factor, or a `LambdaLR` (from 0, along a
    /// cosine, or from an absolute lr: one function per group). PyTorch has nothing that runs
    /// `then` beneath the warmup (`overlap`, `follow`), steps it every n steps or warms the
    /// momentum up (`start_momentum`): those are the snippet's `Warmup`.
    fn warmup(&mut self, s: &ScheduleConfig, out: &mut String, nested: bool) -> String {
        let ScheduleConfig::Warmup {
            steps,
            then,
            start_factor,
            start_lr,
            shape,
            clock,
            then_every,
            start_momentum,
        } = s
        else {
            unreachable!("a warmup")
        };
        // (Without steps the momentum is the optimizer's from the start: nothing to warm up.)
        if *steps == 0 {
            return self.schedule(then, out, nested);
        }
        // `SequentialLR([ramp, then])` is optimc's warmup only at the top, over a `then` that
        // starts at the groups' own lrs (where the ramp ends) and that `SequentialLR` can start
        // at the milestone (`_update_lr(0)`: no `SequentialLR` or `ChainedScheduler`, which have
        // no `get_lr`). Anywhere else the warmup is the `Warmup` class (`clock = "after"`), as is
        // one that warms the momentum up (no torch.optim.lr_scheduler class sets the momentum).
        let composite = matches!(
            **then,
            ScheduleConfig::Chain { .. } | ScheduleConfig::Sequence { .. }
        );
        let from_own_lrs = || {
            let first = crate::schedule::first_lrs(then, &self.group_lrs);
            first
                .iter()
                .zip(&self.group_lrs)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        };
        if nested
            || composite
            || *clock != WarmupClock::After
            || *then_every != 1
            || start_momentum.is_some()
            || !from_own_lrs()
        {
            return self.warmup_class(s, out, nested);
        }
        let ramp = |step: &str| match shape {
            WarmupShape::Linear => format!("{step} / {steps}"),
            WarmupShape::Cosine => format!("0.5 * (1.0 - math.cos(math.pi * {step} / {steps}))"),
            WarmupShape::Constant => "0.0".into(),
        };
        let (class, args) = match (start_lr, shape) {
            (None, WarmupShape::Linear) if *start_factor > 0.0 => (
                "LinearLR",
                vec![
                    format!("start_factor={}", py_float(*start_factor)),
                    format!("total_iters={steps}"),
                ],
            ),
            (None, WarmupShape::Constant) => (
                "ConstantLR",
                vec![
                    format!("factor={}", py_float(*start_factor)),
                    format!("total_iters={steps}"),
                ],
            ),
            (None, _) if *start_factor == 0.0 => (
                "LambdaLR",
                vec![format!("lr_lambda=lambda step: {}", ramp("step"))],
            ),
            (None, _) => {
                let f = py_float(*start_factor);
                let ramp = ramp("step");
                (
                    "LambdaLR",
                    vec![format!("lr_lambda=lambda step: {f} + (1 - {f}) * ({ramp})")],
                )
            }
            (Some(lr), _) => {
                // One function per group: the ratio of the ramp's lr to the group's.
                let ramp = ramp("step");
                let lambdas: Vec<String> = self
                    .group_lrs
                    .iter()
                    .enumerate()
                    .map(|(i, &base)| {
                        let (s, b) = (py_float(lr.get(i)), py_float(base));
                        format!("lambda step: ({s} + ({b} - {s}) * ({ramp})) / {b}")
                    })
                    .collect();
                (
                    "LambdaLR",
                    vec![format!("lr_lambda=[{}]", lambdas.join(", "))],
                )
            }
        };
        let warm = self.scheduler_name(true);
        let mut warm_args = vec!["optimizer".to_string()];
        warm_args.extend(args);
        write_call(
            out,
            &warm,
            &format!("torch.optim.lr_scheduler.{class}"),
            &warm_args,
        );
        let then = self.schedule(then, out, true);
        let name = self.scheduler_name(nested);
        let args = [
            "optimizer".to_string(),
            format!("schedulers=[{warm}, {then}]"),
            format!("milestones=[{steps}]"),
        ];
        write_call(out, &name, "torch.optim.lr_scheduler.SequentialLR", &args);
        name
    }

    /// A `warmup` PyTorch has no class for (`then` beneath it, or stepped every n steps): the
    /// snippet's `Warmup` scheduler over `then`, built first.
    fn warmup_class(&mut self, s: &ScheduleConfig, out: &mut String, nested: bool) -> String {
        let ScheduleConfig::Warmup {
            steps,
            then,
            start_factor,
            start_lr,
            shape,
            clock,
            then_every,
            start_momentum,
        } = s
        else {
            unreachable!("a warmup")
        };
        if then.needs_metric() {
            out.push_str(
                "    # ReduceLROnPlateau needs the metric in step(metric), which the warmup's step() does not pass.\n",
            );
            out.push_str("    raise NotImplementedError(\"ReduceLROnPlateau beneath a Warmup\")\n");
            return "None".into();
        }
        if !self.functions.iter().any(|f| f == WARMUP) {
            self.functions.push(WARMUP.to_string());
        }
        let then = self.schedule(then, out, true);
        let mut args = vec![
            "optimizer".to_string(),
            format!("then={then}"),
            format!("steps={steps}"),
        ];
        match start_lr {
            Some(lr) => {
                let lrs: Vec<String> = (0..self.group_lrs.len())
                    .map(|i| py_float(lr.get(i)))
                    .collect();
                args.push(format!("start_lrs=[{}]", lrs.join(", ")));
            }
            None if *start_factor != 0.0 => {
                args.push(format!("start_factor={}", py_float(*start_factor)))
            }
            None => {}
        }
        if *shape != WarmupShape::Linear {
            args.push(format!("shape=\"{}\"", WarmupShape::NAMES[shape.index()]));
        }
        args.push(format!("clock=\"{}\"", WarmupClock::NAMES[clock.index()]));
        if *then_every != 1 {
            args.push(format!("then_every={then_every}"));
        }
        if let Some(m) = start_momentum {
            let momenta: Vec<String> = (0..self.group_lrs.len())
                .map(|i| py_float(m.get(i)))
                .collect();
            args.push(format!("start_momenta=[{}]", momenta.join(", ")));
        }
        let name = self.scheduler_name(nested);
        write_call(out, &name, "Warmup", &args);
        name
    }

    /// `name=value` for every parameter the schedule holds, in PyTorch's spelling: the call of
    /// every `torch.optim.lr_scheduler` class optimc runs as a leaf. Lambdas become functions
    /// named after their parameter.
    fn keyword_args(&mut self, s: &ScheduleConfig) -> Vec<String> {
        let info = s.kind().info();
        let params = s.params();
        let mut args = Vec::with_capacity(params.len());
        for &(name, value) in &params {
            // `CyclicLR` reads `scale_mode` only with a `scale_fn` (its `mode` decides
            // otherwise): left out without one.
            if name == "scale_mode" && !params.iter().any(|(n, _)| *n == "scale_fn") {
                continue;
            }
            let p = info.param(name);
            let value = match value {
                ParamValue::Number(v) => py_float(v),
                ParamValue::Whole(v) => v.to_string(),
                ParamValue::Bool(b) => py_bool(b).into(),
                ParamValue::Word(i) => match p.ty {
                    ParamType::Word(choices) => format!("\"{}\"", choices[i]),
                    _ => unreachable!("`{name}` holds a word"),
                },
                ParamValue::PerGroup(v) => py_per_group(v),
                ParamValue::Lambda(f) => self.function(f, name),
                ParamValue::WholeList(v) => py_ints(v),
            };
            args.push(format!("{}={value}", p.torch));
        }
        args
    }
}

/// `    name = Class(args)` (`Class` qualified: `torch.optim.lr_scheduler.LambdaLR`), on one line
/// if it fits in 100 columns.
fn write_call(out: &mut String, name: &str, class: &str, args: &[String]) {
    let one_line = format!("    {name} = {class}({})", args.join(", "));
    if one_line.len() <= 100 {
        out.push_str(&one_line);
        out.push('\n');
    } else {
        let _ = writeln!(out, "    {name} = {class}(");
        for a in args {
            let _ = writeln!(out, "        {a},");
        }
        out.push_str("    )\n");
    }
}

fn py_ints(xs: &[u64]) -> String {
    let items: Vec<String> = xs.iter().map(u64::to_string).collect();
    format!("[{}]", items.join(", "))
}

//! Schedules: the signature of every schedule kind, and one small builder per kind that reads
//! its arguments into a [`ScheduleConfig`].

use super::args::Bound;
use super::{Checker, Value};
use crate::ast::{self, Span};
use crate::config::{
    AnnealStrategy, CyclicMode, PlateauMode, ScaleMode, ScheduleConfig, ThresholdMode,
};
use crate::diagnostic::{Code, Diagnostic};

/// The schedules the language knows, with their parameters in PyTorch's positional order.
pub(super) struct Signature {
    name: &'static str,
    torch: &'static str,
    params: &'static [&'static str],
    /// How many leading parameters are required.
    required: usize,
    /// Takes any number of positional schedules (`chain`, `sequence`).
    variadic: bool,
}

const SCHEDULES: &[Signature] = &[
    Signature {
        name: "lambda",
        torch: "LambdaLR",
        params: &["lr_lambda"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "multiplicative",
        torch: "MultiplicativeLR",
        params: &["lr_lambda"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "step",
        torch: "StepLR",
        params: &["step_size", "gamma"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "multistep",
        torch: "MultiStepLR",
        params: &["milestones", "gamma"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "exponential",
        torch: "ExponentialLR",
        params: &["gamma"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "constant",
        torch: "ConstantLR",
        params: &["factor", "total_iters"],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "linear",
        torch: "LinearLR",
        params: &["start_factor", "end_factor", "total_iters"],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "polynomial",
        torch: "PolynomialLR",
        params: &["total_iters", "power"],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "cosine",
        torch: "CosineAnnealingLR",
        params: &["t_max", "eta_min"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "cosine_restarts",
        torch: "CosineAnnealingWarmRestarts",
        params: &["t_0", "t_mult", "eta_min"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "cyclic",
        torch: "CyclicLR",
        params: &[
            "base_lr",
            "max_lr",
            "step_size_up",
            "step_size_down",
            "mode",
            "gamma",
            "scale_fn",
            "scale_mode",
            "cycle_momentum",
            "base_momentum",
            "max_momentum",
        ],
        required: 2,
        variadic: false,
    },
    Signature {
        name: "one_cycle",
        torch: "OneCycleLR",
        params: &[
            "max_lr",
            "total_steps",
            "epochs",
            "steps_per_epoch",
            "pct_start",
            "anneal_strategy",
            "cycle_momentum",
            "base_momentum",
            "max_momentum",
            "div_factor",
            "final_div_factor",
            "three_phase",
        ],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "plateau",
        torch: "ReduceLROnPlateau",
        params: &[
            "mode",
            "factor",
            "patience",
            "threshold",
            "threshold_mode",
            "cooldown",
            "min_lr",
            "eps",
        ],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "chain",
        torch: "ChainedScheduler",
        params: &[],
        required: 0,
        variadic: true,
    },
    Signature {
        name: "sequence",
        torch: "SequentialLR",
        params: &["milestones"],
        required: 1,
        variadic: true,
    },
];

pub(super) fn schedule_signature(name: &str) -> Option<&'static Signature> {
    SCHEDULES.iter().find(|s| s.name == name)
}

/// The schedule names, for suggestions.
pub fn schedule_names() -> impl Iterator<Item = &'static str> {
    SCHEDULES.iter().map(|s| s.name)
}

impl Checker {
    pub(super) fn schedule_value(&mut self, e: &ast::Expr) -> Option<ScheduleConfig> {
        let v = self.arg_value(e)?;
        match v {
            Value::Schedule(s) => Some(s),
            other => {
                let help = match &other {
                    Value::Lambda(_) => "wrap it: `lambda(epoch -> ...)` multiplies the initial lr by it".to_string(),
                    Value::Number(_) => "a constant lr is the optimizer's `lr`; leave `schedule` out, or use e.g. `step(step_size = 30)`".to_string(),
                    _ => format!("schedules are: {}", schedule_names().collect::<Vec<_>>().join(", ")),
                };
                self.type_error(&other, e.span, "a schedule", Some(help));
                None
            }
        }
    }

    pub(super) fn schedule_call(
        &mut self,
        sig: &Signature,
        call: &ast::Call,
    ) -> Option<ScheduleConfig> {
        let errors_before = self.error_count();
        let b = self.bind(
            call,
            sig.name,
            sig.params,
            sig.params.len(),
            sig.required,
            sig.variadic,
        );
        let config = self.build_schedule(sig, &b);
        if self.error_count() > errors_before {
            None
        } else {
            config
        }
    }

    /// Reports calls that cycle momentum when the optimizer has neither momentum nor betas.
    pub(super) fn check_momentum_cyclers(&mut self) {
        if let Some(kind) = self.optimizer {
            if !kind.has_betas() && !kind.has_momentum() {
                for span in std::mem::take(&mut self.momentum_cyclers) {
                    self.error(
                        Diagnostic::error(
                            Code::InvalidCombination,
                            span,
                            format!("`{}` has neither momentum nor betas to cycle", kind.name()),
                        )
                        .with_label("cycle_momentum is on (the default)")
                        .with_help("add `cycle_momentum = false`, or use an optimizer with momentum (sgd, rmsprop) or betas (adam, adamw, ...)"),
                    );
                }
            }
        }
    }

    fn build_schedule(&mut self, sig: &Signature, b: &Bound) -> Option<ScheduleConfig> {
        let _ = sig.torch;
        match sig.name {
            "lambda" => self.lambda_schedule(b),
            "multiplicative" => self.multiplicative_schedule(b),
            "step" => Some(self.step_schedule(b)),
            "multistep" => Some(self.multistep_schedule(b)),
            "exponential" => Some(self.exponential_schedule(b)),
            "constant" => Some(self.constant_schedule(b)),
            "linear" => Some(self.linear_schedule(b)),
            "polynomial" => Some(self.polynomial_schedule(b)),
            "cosine" => Some(self.cosine_schedule(b)),
            "cosine_restarts" => Some(self.cosine_restarts_schedule(b)),
            "cyclic" => self.cyclic_schedule(b),
            "one_cycle" => Some(self.one_cycle_schedule(b)),
            "plateau" => Some(self.plateau_schedule(b)),
            "chain" | "sequence" => Some(self.combined_schedule(sig, b)),
            _ => None,
        }
    }

    fn lambda_schedule(&mut self, b: &Bound) -> Option<ScheduleConfig> {
        Some(ScheduleConfig::Lambda {
            lr_lambda: self.lambda_arg(b, "lr_lambda")?,
        })
    }

    fn multiplicative_schedule(&mut self, b: &Bound) -> Option<ScheduleConfig> {
        Some(ScheduleConfig::Multiplicative {
            lr_lambda: self.lambda_arg(b, "lr_lambda")?,
        })
    }

    fn step_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let step_size = self.whole(b, "step_size", 1);
        self.range(
            b,
            "step_size",
            step_size as f64,
            step_size >= 1,
            "at least 1",
        );
        ScheduleConfig::Step {
            step_size,
            gamma: self.number(b, "gamma", 0.1),
        }
    }

    fn multistep_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let items = self
            .whole_list(b, "milestones")
            .map(|(m, _)| m)
            .unwrap_or_default();
        let gamma = self.number(b, "gamma", 0.1);
        self.lint_milestones("multistep", &items, gamma);
        ScheduleConfig::Multistep {
            milestones: items.into_iter().map(|(m, _)| m).collect(),
            gamma,
        }
    }

    fn exponential_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        ScheduleConfig::Exponential {
            gamma: self.number(b, "gamma", 1.0),
        }
    }

    fn constant_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let factor = self.number(b, "factor", 1.0 / 3.0);
        self.range(
            b,
            "factor",
            factor,
            (0.0..=1.0).contains(&factor),
            "between 0 and 1",
        );
        ScheduleConfig::Constant {
            factor,
            total_iters: self.whole(b, "total_iters", 5),
        }
    }

    fn linear_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let start_factor = self.number(b, "start_factor", 1.0 / 3.0);
        self.range(
            b,
            "start_factor",
            start_factor,
            start_factor > 0.0 && start_factor <= 1.0,
            "greater than 0 and at most 1",
        );
        let end_factor = self.number(b, "end_factor", 1.0);
        self.range(
            b,
            "end_factor",
            end_factor,
            (0.0..=1.0).contains(&end_factor),
            "between 0 and 1",
        );
        ScheduleConfig::Linear {
            start_factor,
            end_factor,
            total_iters: self.whole(b, "total_iters", 5),
        }
    }

    fn polynomial_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        ScheduleConfig::Polynomial {
            total_iters: self.whole(b, "total_iters", 5),
            power: self.number(b, "power", 1.0),
        }
    }

    fn cosine_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let t_max = self.whole(b, "t_max", 1);
        self.range(b, "t_max", t_max as f64, t_max >= 1, "at least 1");
        ScheduleConfig::Cosine {
            t_max,
            eta_min: self.number(b, "eta_min", 0.0),
        }
    }

    fn cosine_restarts_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let t_0 = self.whole(b, "t_0", 1);
        self.range(b, "t_0", t_0 as f64, t_0 >= 1, "at least 1");
        let t_mult = self.whole(b, "t_mult", 1);
        self.range(b, "t_mult", t_mult as f64, t_mult >= 1, "at least 1");
        ScheduleConfig::CosineRestarts {
            t_0,
            t_mult,
            eta_min: self.number(b, "eta_min", 0.0),
        }
    }

    fn cyclic_schedule(&mut self, b: &Bound) -> Option<ScheduleConfig> {
        let base_lr = self.per_group(b, "base_lr", 0.0);
        let max_lr = self.per_group(b, "max_lr", 0.0);
        let step_size_up = self.number(b, "step_size_up", 2000.0);
        self.range(
            b,
            "step_size_up",
            step_size_up,
            step_size_up > 0.0,
            "greater than 0",
        );
        let step_size_down = self.number_opt(b, "step_size_down");
        if let Some(down) = step_size_down {
            self.range(b, "step_size_down", down, down > 0.0, "greater than 0");
        }
        let mode = match self.word(b, "mode", &["triangular", "triangular2", "exp_range"]) {
            Some(1) => CyclicMode::Triangular2,
            Some(2) => CyclicMode::ExpRange,
            _ => CyclicMode::Triangular,
        };
        let gamma = self.number(b, "gamma", 1.0);
        let scale_fn = if b.get("scale_fn").is_some() {
            Some(self.lambda_arg(b, "scale_fn")?)
        } else {
            None
        };
        let scale_mode = match self.word(b, "scale_mode", &["cycle", "iterations"]) {
            Some(1) => ScaleMode::Iterations,
            _ => ScaleMode::Cycle,
        };
        let cycle_momentum = self.cycle_momentum(b);
        Some(ScheduleConfig::Cyclic {
            base_lr,
            max_lr,
            step_size_up,
            step_size_down,
            mode,
            gamma,
            scale_fn,
            scale_mode,
            cycle_momentum,
            base_momentum: self.per_group(b, "base_momentum", 0.8),
            max_momentum: self.per_group(b, "max_momentum", 0.9),
        })
    }

    /// `cycle_momentum` (on by default), noting where it is on for [`Self::check_momentum_cyclers`].
    fn cycle_momentum(&mut self, b: &Bound) -> bool {
        let cycle_momentum = self.boolean(b, "cycle_momentum", true);
        if cycle_momentum {
            self.momentum_cyclers.push(
                b.get("cycle_momentum")
                    .map(|e| e.span)
                    .unwrap_or(b.call.name.span),
            );
        }
        cycle_momentum
    }

    fn one_cycle_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let max_lr = self.per_group(b, "max_lr", 0.0);
        let total = self.one_cycle_total_steps(b);
        let pct_start = self.number(b, "pct_start", 0.3);
        self.range(
            b,
            "pct_start",
            pct_start,
            (0.0..=1.0).contains(&pct_start),
            "between 0 and 1",
        );
        let anneal_strategy = match self.word(b, "anneal_strategy", &["cos", "linear"]) {
            Some(1) => AnnealStrategy::Linear,
            _ => AnnealStrategy::Cos,
        };
        let cycle_momentum = self.cycle_momentum(b);
        ScheduleConfig::OneCycle {
            max_lr,
            total_steps: total,
            pct_start,
            anneal_strategy,
            cycle_momentum,
            base_momentum: self.per_group(b, "base_momentum", 0.85),
            max_momentum: self.per_group(b, "max_momentum", 0.95),
            div_factor: self.number(b, "div_factor", 25.0),
            final_div_factor: self.number(b, "final_div_factor", 1e4),
            three_phase: self.boolean(b, "three_phase", false),
        }
    }

    /// `one_cycle`'s length: `total_steps`, or `epochs` × `steps_per_epoch`.
    fn one_cycle_total_steps(&mut self, b: &Bound) -> u64 {
        let total_steps = self.whole_opt(b, "total_steps");
        let epochs = self.whole_opt(b, "epochs");
        let steps_per_epoch = self.whole_opt(b, "steps_per_epoch");
        match (total_steps, epochs, steps_per_epoch) {
            (Some(t), _, _) => {
                self.range(b, "total_steps", t as f64, t >= 1, "at least 1");
                t
            }
            (None, Some(e), Some(s)) => {
                self.range(b, "epochs", e as f64, e >= 1, "at least 1");
                self.range(b, "steps_per_epoch", s as f64, s >= 1, "at least 1");
                e.saturating_mul(s)
            }
            _ => {
                if b.get("total_steps").is_none()
                    && (b.get("epochs").is_none() || b.get("steps_per_epoch").is_none())
                {
                    self.error(
                        Diagnostic::error(
                            Code::MissingArgument,
                            b.call.span,
                            "`one_cycle` needs `total_steps`, or both `epochs` and `steps_per_epoch`",
                        )
                        .with_label("cannot tell how long the cycle is")
                        .with_help("add e.g. `total_steps = 1000`"),
                    );
                }
                1
            }
        }
    }

    fn plateau_schedule(&mut self, b: &Bound) -> ScheduleConfig {
        let mode = match self.word(b, "mode", &["min", "max"]) {
            Some(1) => PlateauMode::Max,
            _ => PlateauMode::Min,
        };
        let factor = self.number(b, "factor", 0.1);
        self.range(b, "factor", factor, factor < 1.0, "less than 1");
        ScheduleConfig::Plateau {
            mode,
            factor,
            patience: self.whole(b, "patience", 10),
            threshold: self.number(b, "threshold", 1e-4),
            threshold_mode: match self.word(b, "threshold_mode", &["rel", "abs"]) {
                Some(1) => ThresholdMode::Abs,
                _ => ThresholdMode::Rel,
            },
            cooldown: self.whole(b, "cooldown", 0),
            min_lr: self.per_group(b, "min_lr", 0.0),
            eps: self.number(b, "eps", 1e-8),
        }
    }

    /// `chain` and `sequence`: their positional arguments are schedules.
    fn combined_schedule(&mut self, sig: &Signature, b: &Bound) -> ScheduleConfig {
        let mut children = Vec::with_capacity(b.rest.len());
        for child in &b.rest {
            if let Some(s) = self.schedule_value(child) {
                children.push(s);
            }
        }
        if b.rest.is_empty() {
            self.error(
                Diagnostic::error(
                    Code::MissingArgument,
                    b.call.span,
                    format!("`{}` needs at least one schedule", sig.name),
                )
                .with_label("no schedules")
                .with_help(format!(
                    "write e.g. `{}(linear(total_iters = 5), cosine(t_max = 95){})`",
                    sig.name,
                    if sig.name == "sequence" {
                        ", milestones = [5]"
                    } else {
                        ""
                    }
                )),
            );
        }
        if sig.name == "chain" {
            return ScheduleConfig::Chain { children };
        }
        let (items, span) = self.whole_list(b, "milestones").unwrap_or_default();
        self.lint_milestones("sequence", &items, 1.0);
        let milestones: Vec<u64> = items.into_iter().map(|(m, _)| m).collect();
        if b.get("milestones").is_some()
            && !b.rest.is_empty()
            && milestones.len() + 1 != b.rest.len()
            && span != Span::default()
        {
            self.error(
                Diagnostic::error(
                    Code::MilestoneCount,
                    span,
                    format!(
                        "`sequence` has {} schedule{} so it needs {} milestone{}, but {} {} given",
                        b.rest.len(),
                        if b.rest.len() == 1 { "" } else { "s" },
                        b.rest.len() - 1,
                        if b.rest.len() == 2 { "" } else { "s" },
                        milestones.len(),
                        if milestones.len() == 1 { "is" } else { "are" },
                    ),
                )
                .with_label(format!(
                    "{} milestone{}",
                    milestones.len(),
                    if milestones.len() == 1 { "" } else { "s" }
                ))
                .with_help("milestone k is the epoch at which schedule k + 1 takes over; give one fewer milestone than schedules"),
            );
        }
        ScheduleConfig::Sequence {
            children,
            milestones,
        }
    }
}

/// A plausible value for a required argument, for "add `name = value`" help lines.
pub(super) fn example_value(param: &str) -> &'static str {
    match param {
        "lr_lambda" => "epoch -> 0.95 ** epoch",
        "step_size" => "30",
        "milestones" => "[30, 60]",
        "gamma" => "0.1",
        "t_max" => "100",
        "t_0" => "10",
        "base_lr" => "0.001",
        "max_lr" => "0.1",
        _ => "...",
    }
}

/// The optimc spelling of a PyTorch scheduler class name, for users who write the class.
pub(super) fn torch_schedule(name: &str) -> Option<&'static str> {
    SCHEDULES
        .iter()
        .find(|s| s.torch.eq_ignore_ascii_case(name))
        .map(|s| s.name)
}

//! Schedules: one small builder per schedule kind, reading its arguments into a
//! [`ScheduleConfig`]. What a kind takes (names, order, defaults, ranges) is its row of
//! [`KINDS`](crate::schedule::KINDS); a builder says only how the arguments make the config.

use super::args::Bound;
use super::{Checker, Value};
use crate::ast::{self, Span};
use crate::config::{
    AnnealStrategy, CyclicMode, InverseSqrt, Noam, PerGroup, PlateauMode, ScaleMode,
    ScheduleConfig, ThresholdMode, WarmupConstant, WarmupCosine, WarmupLinear, Wsd, WsdShape,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::Lambda;
use crate::schedule::{KindInfo, Param, ParamDefault, ParamType, ScheduleKind};

impl Checker {
    pub(super) fn schedule_value(&mut self, e: &ast::Expr) -> Option<ScheduleConfig> {
        let v = self.arg_value(e)?;
        match v {
            Value::Schedule(s) => Some(s),
            other => {
                let help = match &other {
                    Value::Lambda(_) => "wrap it: `lambda(epoch -> ...)` multiplies the initial lr by it".to_string(),
                    Value::Number(_) => "a constant lr is the optimizer's `lr`; leave `schedule` out, or use e.g. `step(step_size = 30)`".to_string(),
                    _ => format!("schedules are: {}", ScheduleKind::names().collect::<Vec<_>>().join(", ")),
                };
                self.type_error(&other, e.span, "a schedule", Some(help));
                None
            }
        }
    }

    pub(super) fn schedule_call(
        &mut self,
        k: &'static KindInfo,
        call: &ast::Call,
    ) -> Option<ScheduleConfig> {
        let errors_before = self.error_count();
        let b = self.bind(
            call,
            k.name,
            k.params,
            k.params.len(),
            k.required,
            k.variadic,
        );
        let config = self.build_schedule(k, &b);
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

    /// One builder per kind; the match is exhaustive, so a kind added to the table without a
    /// builder does not compile.
    fn build_schedule(&mut self, k: &'static KindInfo, b: &Bound) -> Option<ScheduleConfig> {
        match k.kind {
            ScheduleKind::Lambda => Some(ScheduleConfig::Lambda {
                lr_lambda: self.lambda_arg(b, "lr_lambda")?,
            }),
            ScheduleKind::Multiplicative => Some(ScheduleConfig::Multiplicative {
                lr_lambda: self.lambda_arg(b, "lr_lambda")?,
            }),
            ScheduleKind::Step => Some(ScheduleConfig::Step {
                step_size: self.whole_param(b, k, "step_size"),
                gamma: self.number_param(b, k, "gamma"),
            }),
            ScheduleKind::Multistep => Some(self.multistep_schedule(b, k)),
            ScheduleKind::Exponential => Some(ScheduleConfig::Exponential {
                gamma: self.number_param(b, k, "gamma"),
            }),
            ScheduleKind::Constant => Some(ScheduleConfig::Constant {
                factor: self.number_param(b, k, "factor"),
                total_iters: self.whole_param(b, k, "total_iters"),
            }),
            ScheduleKind::Linear => Some(ScheduleConfig::Linear {
                start_factor: self.number_param(b, k, "start_factor"),
                end_factor: self.number_param(b, k, "end_factor"),
                total_iters: self.whole_param(b, k, "total_iters"),
            }),
            ScheduleKind::Polynomial => Some(ScheduleConfig::Polynomial {
                total_iters: self.whole_param(b, k, "total_iters"),
                power: self.number_param(b, k, "power"),
            }),
            ScheduleKind::Cosine => Some(ScheduleConfig::Cosine {
                t_max: self.whole_param(b, k, "t_max"),
                eta_min: self.number_param(b, k, "eta_min"),
            }),
            ScheduleKind::InverseSqrt => Some(ScheduleConfig::InverseSqrt(InverseSqrt {
                warmup: self.whole_param(b, k, "warmup"),
                timescale: self.whole_opt_param(b, k, "timescale"),
            })),
            ScheduleKind::Noam => Some(ScheduleConfig::Noam(Noam {
                d_model: self.whole_param(b, k, "d_model"),
                warmup: self.whole_param(b, k, "warmup"),
                factor: self.number_param(b, k, "factor"),
            })),
            ScheduleKind::Wsd => self.wsd_schedule(b, k),
            ScheduleKind::WarmupCosine => Some(ScheduleConfig::WarmupCosine(WarmupCosine {
                warmup: self.whole_param(b, k, "warmup"),
                total: self.whole_param(b, k, "total"),
                num_cycles: self.number_param(b, k, "num_cycles"),
                min_lr_ratio: self.number_param(b, k, "min_lr_ratio"),
            })),
            ScheduleKind::WarmupLinear => Some(ScheduleConfig::WarmupLinear(WarmupLinear {
                warmup: self.whole_param(b, k, "warmup"),
                total: self.whole_param(b, k, "total"),
            })),
            ScheduleKind::WarmupConstant => Some(ScheduleConfig::WarmupConstant(WarmupConstant {
                warmup: self.whole_param(b, k, "warmup"),
            })),
            ScheduleKind::CosineRestarts => Some(ScheduleConfig::CosineRestarts {
                t_0: self.whole_param(b, k, "t_0"),
                t_mult: self.whole_param(b, k, "t_mult"),
                eta_min: self.number_param(b, k, "eta_min"),
            }),
            ScheduleKind::Cyclic => self.cyclic_schedule(b, k),
            ScheduleKind::OneCycle => Some(self.one_cycle_schedule(b, k)),
            ScheduleKind::Plateau => Some(self.plateau_schedule(b, k)),
            ScheduleKind::Chain | ScheduleKind::Sequence => Some(self.combined_schedule(k, b)),
        }
    }

    // ----- the table's parameters: the argument or the default, checked against the range -----

    fn number_param(&mut self, b: &Bound, k: &KindInfo, name: &str) -> f64 {
        let p = k.param(name);
        let v = self.number(b, name, p.default_number().unwrap_or(0.0));
        self.param_range(b, p, v);
        v
    }

    fn number_param_opt(&mut self, b: &Bound, k: &KindInfo, name: &str) -> Option<f64> {
        let v = self.number_opt(b, name)?;
        self.param_range(b, k.param(name), v);
        Some(v)
    }

    fn whole_param(&mut self, b: &Bound, k: &KindInfo, name: &str) -> u64 {
        let p = k.param(name);
        let default = match p.default {
            ParamDefault::Whole(v) => v,
            _ => 0,
        };
        let v = self.whole(b, name, default);
        self.param_range(b, p, v as f64);
        v
    }

    fn whole_opt_param(&mut self, b: &Bound, k: &KindInfo, name: &str) -> Option<u64> {
        let v = self.whole_opt(b, name)?;
        self.param_range(b, k.param(name), v as f64);
        Some(v)
    }

    fn per_group_param(&mut self, b: &Bound, k: &KindInfo, name: &str) -> PerGroup {
        let default = k.param(name).default_number().unwrap_or(0.0);
        self.per_group(b, name, default)
    }

    fn bool_param(&mut self, b: &Bound, k: &KindInfo, name: &str) -> bool {
        let default = matches!(k.param(name).default, ParamDefault::Bool(true));
        self.boolean(b, name, default)
    }

    /// The index of the word among the parameter's choices (its default when left out or wrong).
    fn word_param(&mut self, b: &Bound, k: &KindInfo, name: &str) -> usize {
        let p = k.param(name);
        let (ParamType::Word(choices), ParamDefault::Word(default)) = (p.ty, p.default) else {
            unreachable!("`{}` is not a word parameter", p.name)
        };
        self.word(b, name, choices).unwrap_or(default)
    }

    fn lambda_param_opt(&mut self, b: &Bound, name: &str) -> Option<Option<Lambda>> {
        if b.get(name).is_none() {
            return Some(None);
        }
        self.lambda_arg(b, name).map(Some)
    }

    /// Reports `value` if it is outside the parameter's range.
    fn param_range(&mut self, b: &Bound, p: &Param, value: f64) {
        if let Some(r) = p.range {
            self.range(b, p.name, value, r.admits(value), r.expected());
        }
    }

    // ----- the kinds whose config is more than their arguments -----

    fn multistep_schedule(&mut self, b: &Bound, k: &KindInfo) -> ScheduleConfig {
        let items = self
            .whole_list(b, "milestones")
            .map(|(m, _)| m)
            .unwrap_or_default();
        let gamma = self.number_param(b, k, "gamma");
        self.lint_milestones(ScheduleKind::Multistep, &items, gamma);
        ScheduleConfig::Multistep {
            milestones: items.into_iter().map(|(m, _)| m).collect(),
            gamma,
        }
    }

    fn cyclic_schedule(&mut self, b: &Bound, k: &KindInfo) -> Option<ScheduleConfig> {
        let base_lr = self.per_group_param(b, k, "base_lr");
        let max_lr = self.per_group_param(b, k, "max_lr");
        let step_size_up = self.number_param(b, k, "step_size_up");
        let step_size_down = self.number_param_opt(b, k, "step_size_down");
        let mode = [
            CyclicMode::Triangular,
            CyclicMode::Triangular2,
            CyclicMode::ExpRange,
        ][self.word_param(b, k, "mode")];
        let gamma = self.number_param(b, k, "gamma");
        let scale_fn = self.lambda_param_opt(b, "scale_fn")?;
        let scale_mode =
            [ScaleMode::Cycle, ScaleMode::Iterations][self.word_param(b, k, "scale_mode")];
        let cycle_momentum = self.cycle_momentum(b, k);
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
            base_momentum: self.per_group_param(b, k, "base_momentum"),
            max_momentum: self.per_group_param(b, k, "max_momentum"),
        })
    }

    /// `cycle_momentum` (on by default), noting where it is on for [`Self::check_momentum_cyclers`].
    fn cycle_momentum(&mut self, b: &Bound, k: &KindInfo) -> bool {
        let cycle_momentum = self.bool_param(b, k, "cycle_momentum");
        if cycle_momentum {
            self.momentum_cyclers.push(
                b.get("cycle_momentum")
                    .map(|e| e.span)
                    .unwrap_or(b.call.name.span),
            );
        }
        cycle_momentum
    }

    fn one_cycle_schedule(&mut self, b: &Bound, k: &KindInfo) -> ScheduleConfig {
        let max_lr = self.per_group_param(b, k, "max_lr");
        let total_steps = self.one_cycle_total_steps(b, k);
        let pct_start = self.number_param(b, k, "pct_start");
        let anneal_strategy =
            [AnnealStrategy::Cos, AnnealStrategy::Linear][self.word_param(b, k, "anneal_strategy")];
        let cycle_momentum = self.cycle_momentum(b, k);
        ScheduleConfig::OneCycle {
            max_lr,
            total_steps,
            pct_start,
            anneal_strategy,
            cycle_momentum,
            base_momentum: self.per_group_param(b, k, "base_momentum"),
            max_momentum: self.per_group_param(b, k, "max_momentum"),
            div_factor: self.number_param(b, k, "div_factor"),
            final_div_factor: self.number_param(b, k, "final_div_factor"),
            three_phase: self.bool_param(b, k, "three_phase"),
        }
    }

    /// `one_cycle`'s length: `total_steps`, or `epochs` × `steps_per_epoch`.
    fn one_cycle_total_steps(&mut self, b: &Bound, k: &KindInfo) -> u64 {
        let total_steps = self.whole_opt(b, "total_steps");
        let epochs = self.whole_opt(b, "epochs");
        let steps_per_epoch = self.whole_opt(b, "steps_per_epoch");
        match (total_steps, epochs, steps_per_epoch) {
            (Some(t), _, _) => {
                self.param_range(b, k.param("total_steps"), t as f64);
                t
            }
            (None, Some(e), Some(s)) => {
                self.param_range(b, k.param("epochs"), e as f64);
                self.param_range(b, k.param("steps_per_epoch"), s as f64);
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

    /// transformers' `get_wsd_schedule`: the stable phase is `stable`, or what `total` leaves
    /// after warmup and decay (`stable` wins when both are given, as there).
    fn wsd_schedule(&mut self, b: &Bound, k: &KindInfo) -> Option<ScheduleConfig> {
        let warmup = self.whole_param(b, k, "warmup");
        let decay = self.whole_param(b, k, "decay");
        let total = self.whole_opt_param(b, k, "total");
        let stable = match (self.whole_opt_param(b, k, "stable"), total) {
            (Some(stable), _) => stable,
            (None, Some(total)) => match total.checked_sub(warmup.saturating_add(decay)) {
                Some(stable) => stable,
                None => {
                    self.error(
                        Diagnostic::error(
                            Code::OutOfRange,
                            b.span_of("total").unwrap_or(b.call.span),
                            format!(
                                "`total` ({total}) is shorter than `warmup` + `decay` ({})",
                                warmup.saturating_add(decay)
                            ),
                        )
                        .with_label("leaves a negative stable phase")
                        .with_help("make `total` at least `warmup + decay`, or give `stable`"),
                    );
                    return None;
                }
            },
            (None, None) => {
                if b.get("total").is_none() && b.get("stable").is_none() {
                    self.error(
                        Diagnostic::error(
                            Code::MissingArgument,
                            b.call.span,
                            "`wsd` needs `total` or `stable`",
                        )
                        .with_label("cannot tell how long the stable phase is")
                        .with_help("add e.g. `total = 10000` (the stable phase is what warmup and decay leave)"),
                    );
                }
                return None;
            }
        };
        let shapes = [WsdShape::Linear, WsdShape::Cosine, WsdShape::OneMinusSqrt];
        Some(ScheduleConfig::Wsd(Wsd {
            warmup,
            stable,
            decay,
            warmup_shape: shapes[self.word_param(b, k, "warmup_shape")],
            decay_shape: shapes[self.word_param(b, k, "decay_shape")],
            min_lr_ratio: self.number_param(b, k, "min_lr_ratio"),
            num_cycles: self.number_param(b, k, "num_cycles"),
        }))
    }

    fn plateau_schedule(&mut self, b: &Bound, k: &KindInfo) -> ScheduleConfig {
        let mode = [PlateauMode::Min, PlateauMode::Max][self.word_param(b, k, "mode")];
        let factor = self.number_param(b, k, "factor");
        ScheduleConfig::Plateau {
            mode,
            factor,
            patience: self.whole_param(b, k, "patience"),
            threshold: self.number_param(b, k, "threshold"),
            threshold_mode: [ThresholdMode::Rel, ThresholdMode::Abs]
                [self.word_param(b, k, "threshold_mode")],
            cooldown: self.whole_param(b, k, "cooldown"),
            min_lr: self.per_group_param(b, k, "min_lr"),
            eps: self.number_param(b, k, "eps"),
        }
    }

    /// `chain` and `sequence`: their positional arguments are schedules.
    fn combined_schedule(&mut self, k: &KindInfo, b: &Bound) -> ScheduleConfig {
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
                    format!("`{}` needs at least one schedule", k.name),
                )
                .with_label("no schedules")
                .with_help(format!(
                    "write e.g. `{}(linear(total_iters = 5), cosine(t_max = 95){})`",
                    k.name,
                    if k.kind == ScheduleKind::Sequence {
                        ", milestones = [5]"
                    } else {
                        ""
                    }
                )),
            );
        }
        if k.kind == ScheduleKind::Chain {
            return ScheduleConfig::Chain { children };
        }
        let (items, span) = self.whole_list(b, "milestones").unwrap_or_default();
        self.lint_milestones(ScheduleKind::Sequence, &items, 1.0);
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

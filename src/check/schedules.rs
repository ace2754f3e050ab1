//! Schedules: a call to a schedule kind read into a [`ScheduleConfig`]. What a kind takes
//! (names, order, types, defaults, ranges) is its entry in the schedule table
//! (`schedule/kind.rs`), which also writes the builder of every kind whose config is its
//! arguments ([`ScheduleConfig::from_args`]); this file gives it the typed readers of one
//! argument ([`Arguments`]) and the few builders that do more than read.

use super::args::Bound;
use super::{Checker, ScheduleSource, Value};
use crate::ast::{self, Span};
use crate::config::{
    AnnealStrategy, PerGroup, ScheduleConfig, TimmDecayFn, TimmStableFn, WarmupClock, WarmupShape,
    WsdShape,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::Lambda;
use crate::schedule::{
    Arguments, KindInfo, Param, ParamDefault, ParamType, ParamValue, ScheduleKind, Word,
};

impl Checker {
    /// The schedule `e` is, with where it is written (used at `e`).
    pub(super) fn schedule_value(
        &mut self,
        e: &ast::Expr,
    ) -> Option<(ScheduleConfig, ScheduleSource)> {
        let v = self.arg_value(e)?;
        match v {
            Value::Schedule(s, source) => Some((
                s,
                ScheduleSource {
                    at: e.span,
                    ..*source
                },
            )),
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
    ) -> Option<(ScheduleConfig, ScheduleSource)> {
        let errors_before = self.error_count();
        let b = self.bind(
            call,
            k.name,
            k.params,
            k.params.len(),
            k.required,
            k.variadic,
        );
        let config = ScheduleConfig::from_args(k, &mut Reader { c: self, b: &b, k });
        // Set by `combined_schedule` for this call (its children took theirs already).
        let mut source = self.built_source.take().unwrap_or(ScheduleSource {
            at: call.span,
            ..ScheduleSource::default()
        });
        source.args = b
            .named
            .iter()
            .map(|&(name, _, span)| (name, span))
            .collect();
        if let Some(c) = &config {
            self.note_momentum_cycling(c, &b);
        }
        if self.error_count() > errors_before {
            None
        } else {
            config.map(|c| (c, source))
        }
    }

    /// Reports calls that cycle momentum (or warm it up) when the optimizer has neither
    /// momentum nor betas.
    pub(super) fn check_momentum_cyclers(&mut self) {
        if let Some(kind) = self.optimizer {
            if !kind.has_betas() && !kind.has_momentum() {
                for (span, warms) in std::mem::take(&mut self.momentum_cyclers) {
                    let diagnostic = if warms {
                        Diagnostic::error(
                            Code::InvalidCombination,
                            span,
                            format!("`{}` has neither momentum nor betas to warm up", kind.name()),
                        )
                        .with_label("`start_momentum` warms momentum up")
                        .with_help("remove `start_momentum`, or use an optimizer with momentum (sgd, rmsprop) or betas (adam, adamw, ...)")
                    } else {
                        Diagnostic::error(
                            Code::InvalidCombination,
                            span,
                            format!("`{}` has neither momentum nor betas to cycle", kind.name()),
                        )
                        .with_label("cycle_momentum is on (the default)")
                        .with_help("add `cycle_momentum = false`, or use an optimizer with momentum (sgd, rmsprop) or betas (adam, adamw, ...)")
                    };
                    self.error(diagnostic);
                }
            }
        }
    }

    /// Notes where a schedule built from `b` cycles momentum (`cycle_momentum`, on by default)
    /// or warms it up (`warmup`'s `start_momentum`), for [`Self::check_momentum_cyclers`].
    fn note_momentum_cycling(&mut self, config: &ScheduleConfig, b: &Bound) {
        let params = config.params();
        let cycles = params
            .iter()
            .any(|(name, v)| *name == "cycle_momentum" && matches!(v, ParamValue::Bool(true)));
        if cycles {
            self.momentum_cyclers.push((
                b.get("cycle_momentum")
                    .map(|e| e.span)
                    .unwrap_or(b.call.name.span),
                false,
            ));
        }
        if let Some(span) = params
            .iter()
            .any(|(name, _)| *name == "start_momentum")
            .then(|| b.span_of("start_momentum"))
            .flatten()
        {
            self.momentum_cyclers.push((span, true));
        }
    }

    /// Reports a `warmup` with `start_momentum` in a schedule where something else sets
    /// momentum too (its `then`, or another part of a `chain` or `sequence`): the two would
    /// overwrite each other's momentum step by step. (`cyclic` and `one_cycle` together are
    /// PyTorch's business, and left alone.)
    pub(super) fn check_momentum_setters(
        &mut self,
        schedule: &ScheduleConfig,
        source: Option<&ScheduleSource>,
    ) {
        let mut setters = Vec::new();
        momentum_setters(schedule, source, &mut setters);
        let Some(warmup) = setters.iter().position(|(_, what)| what.is_none()) else {
            return;
        };
        let Some(other) = (0..setters.len()).find(|&k| k != warmup) else {
            return;
        };
        let ((warmup_span, _), (other_span, other)) = (setters[warmup], setters[other]);
        let (message, related, help) = match other {
            Some(kind) => (
                format!("`start_momentum` warms momentum up, but `{kind}` in the same schedule cycles it"),
                format!("`{kind}` cycles momentum (`cycle_momentum` is on)"),
                format!("set momentum in one place: remove `start_momentum`, or add `cycle_momentum = false` to `{kind}`"),
            ),
            None => (
                "two warmups of the same schedule warm momentum up".to_string(),
                "this one warms it up too".to_string(),
                "keep `start_momentum` on one warmup: each ramps momentum to the optimizer's".to_string(),
            ),
        };
        self.error(
            Diagnostic::error(Code::InvalidCombination, warmup_span, message)
                .with_label("the warmup ramps momentum to the optimizer's")
                .with_related(other_span, related)
                .with_help(help),
        );
    }

    // ----- the table's parameters: the argument or the default, checked against the range -----

    fn number_param(&mut self, b: &Bound, p: &Param) -> f64 {
        let v = self.number(b, p.name, p.default_number().unwrap_or(0.0));
        self.param_range(b, p, v);
        v
    }

    fn number_param_opt(&mut self, b: &Bound, p: &Param) -> Option<f64> {
        let v = self.number_opt(b, p.name)?;
        self.param_range(b, p, v);
        Some(v)
    }

    fn whole_param(&mut self, b: &Bound, p: &Param) -> u64 {
        let default = match p.default {
            ParamDefault::Whole(v) => v,
            _ => 0,
        };
        let v = self.whole(b, p.name, default);
        self.param_range(b, p, v as f64);
        v
    }

    fn whole_opt_param(&mut self, b: &Bound, p: &Param) -> Option<u64> {
        let v = self.whole_opt(b, p.name)?;
        self.param_range(b, p, v as f64);
        Some(v)
    }

    /// The index of the word among the parameter's choices (its default when left out or wrong).
    fn word_param(&mut self, b: &Bound, p: &Param) -> usize {
        let (ParamType::Word(choices), ParamDefault::Word(default)) = (p.ty, p.default) else {
            unreachable!("`{}` is not a word parameter", p.name)
        };
        self.word(b, p.name, choices).unwrap_or(default)
    }

    /// The milestones, each with its span (empty where they are missing or wrong).
    fn milestones(&mut self, b: &Bound) -> (Vec<(u64, Span)>, Span) {
        self.whole_list(b, "milestones").unwrap_or_default()
    }

    /// Reports `value` if it is outside the parameter's range.
    fn param_range(&mut self, b: &Bound, p: &Param, value: f64) {
        let Some(r) = p.range else { return };
        // `warmup` is optimc's own: PyTorch has no opinion on its arguments.
        if b.call.name.name == ScheduleKind::Warmup.name() && !r.admits(value) {
            let span = b.get(p.name).map_or(b.call.span, |e| e.span);
            self.error(
                Diagnostic::error(
                    Code::OutOfRange,
                    span,
                    format!(
                        "`{}` must be {}, not {}",
                        p.name,
                        r.expected(),
                        crate::diagnostic::text::format_number(value)
                    ),
                )
                .with_label(format!("must be {}", r.expected()))
                .with_help(match p.name {
                    "start_factor" => "the warmup starts at `start_factor` times `then`'s first lr: 0 starts from 0, 1 from that lr; for an absolute start write `start_lr = ...`".to_string(),
                    name => format!("choose `{name}` {}", r.expected()),
                }),
            );
            return;
        }
        self.range(b, p.name, value, r.admits(value), r.expected());
    }

    // ----- the kinds whose config is more than their arguments -----

    fn multistep_schedule(&mut self, b: &Bound, k: &KindInfo) -> ScheduleConfig {
        let (items, _) = self.milestones(b);
        let gamma = self.number_param(b, k.param("gamma"));
        self.lint_milestones(ScheduleKind::Multistep, &items, gamma);
        ScheduleConfig::Multistep {
            milestones: items.into_iter().map(|(m, _)| m).collect(),
            gamma,
        }
    }

    fn one_cycle_schedule(&mut self, b: &Bound, k: &'static KindInfo) -> ScheduleConfig {
        let mut r = Reader { c: self, b, k };
        let max_lr = r.per_group(k.param("max_lr"));
        let total_steps = r.c.one_cycle_total_steps(b, k);
        ScheduleConfig::OneCycle {
            max_lr,
            total_steps,
            pct_start: r.number(k.param("pct_start")),
            anneal_strategy: AnnealStrategy::ALL[r.word(k.param("anneal_strategy"))],
            cycle_momentum: r.boolean(k.param("cycle_momentum")),
            base_momentum: r.per_group(k.param("base_momentum")),
            max_momentum: r.per_group(k.param("max_momentum")),
            div_factor: r.number(k.param("div_factor")),
            final_div_factor: r.number(k.param("final_div_factor")),
            three_phase: r.boolean(k.param("three_phase")),
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
        let warmup = self.whole_param(b, k.param("warmup"));
        let decay = self.whole_param(b, k.param("decay"));
        let total = self.whole_opt_param(b, k.param("total"));
        let stable = match (self.whole_opt_param(b, k.param("stable")), total) {
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
        Some(ScheduleConfig::Wsd {
            warmup,
            stable,
            decay,
            warmup_shape: WsdShape::ALL[self.word_param(b, k.param("warmup_shape"))],
            decay_shape: WsdShape::ALL[self.word_param(b, k.param("decay_shape"))],
            min_lr_ratio: self.number_param(b, k.param("min_lr_ratio")),
            num_cycles: self.number_param(b, k.param("num_cycles")),
        })
    }

    /// `warmup`: its `then` is a schedule, and it starts from `start_factor` or from
    /// `start_lr`, not both.
    fn warmup_schedule(&mut self, b: &Bound, k: &KindInfo) -> Option<ScheduleConfig> {
        let steps = self.whole_param(b, k.param("steps"));
        // A missing `then` is reported as a missing argument.
        let then = b.get("then").and_then(|e| self.schedule_value(e));
        let start_factor = self.number_param(b, k.param("start_factor"));
        let start_lr = self.per_group_opt(b, "start_lr");
        if let (Some(factor), Some(lr)) = (b.span_of("start_factor"), b.span_of("start_lr")) {
            self.error(
                Diagnostic::error(
                    Code::InvalidCombination,
                    lr,
                    "`warmup` starts from `start_factor` or from `start_lr`, not both",
                )
                .with_label("an absolute start")
                .with_related(factor, "a start relative to `then`'s first lr")
                .with_help("keep one: `start_factor = 0.1` starts at a tenth of `then`'s first lr, `start_lr = 0.001` at that lr"),
            );
        }
        let shape = WarmupShape::ALL[self.word_param(b, k.param("shape"))];
        let clock = WarmupClock::ALL[self.word_param(b, k.param("clock"))];
        let then_every = self.whole_param(b, k.param("then_every"));
        let start_momentum = self.per_group_opt(b, "start_momentum");
        if let Some(m) = &start_momentum {
            self.start_momentum_range(b, k.param("start_momentum"), m);
        }
        let (then, then_source) = then?;
        // Set last: building `then` took the source of its own call.
        self.built_source = Some(ScheduleSource {
            at: b.call.span,
            children: vec![then_source],
            ..ScheduleSource::default()
        });
        Some(ScheduleConfig::Warmup {
            steps,
            then: Box::new(then),
            start_factor,
            start_lr,
            shape,
            clock,
            then_every,
            start_momentum,
        })
    }

    /// Reports a `start_momentum` outside `0 <= m < 1`: PyTorch refuses such a `betas[0]`, and
    /// an SGD momentum of 1 or more makes the steps grow without bound.
    fn start_momentum_range(&mut self, b: &Bound, p: &Param, m: &PerGroup) {
        let Some(range) = p.range else { return };
        let values: &[f64] = match m {
            PerGroup::All(v) => std::slice::from_ref(v),
            PerGroup::Each(vs) => vs,
        };
        let Some(&bad) = values.iter().find(|&&v| !range.admits(v)) else {
            return;
        };
        let span = b.get(p.name).map_or(b.call.span, |e| e.span);
        self.error(
            Diagnostic::error(
                Code::OutOfRange,
                span,
                format!(
                    "`start_momentum` must be {}, not {}",
                    range.expected(),
                    crate::diagnostic::text::format_number(bad)
                ),
            )
            .with_label(format!("must be {}", range.expected()))
            .with_help("the warmup starts each group's momentum (or `betas[0]`) there and ramps it to the optimizer's, e.g. `start_momentum = 0.8` up to `momentum = 0.937`"),
        );
    }

    /// transformers' `get_polynomial_decay_schedule_with_warmup`: `lr_end` is checked against
    /// `lr_init` once the optimizer's lr is known ([`Self::check_polynomial_ends`]).
    fn warmup_polynomial_schedule(&mut self, b: &Bound, k: &KindInfo) -> ScheduleConfig {
        let warmup = self.whole_param(b, k.param("warmup"));
        let total = self.whole_param(b, k.param("total"));
        let lr_end = self.number_param(b, k.param("lr_end"));
        let power = self.number_param(b, k.param("power"));
        let lr_init = self.number_param_opt(b, k.param("lr_init"));
        let span = b.span_of("lr_end").unwrap_or(b.call.span);
        self.polynomial_ends.push((lr_end, lr_init, span));
        ScheduleConfig::WarmupPolynomial {
            warmup,
            total,
            lr_end,
            power,
            lr_init,
        }
    }

    /// Reports each `warmup_polynomial` whose `lr_end` is not below its `lr_init` (the
    /// optimizer's lr, `optimizer_lr`, where not given), as transformers raises.
    pub(super) fn check_polynomial_ends(&mut self, optimizer_lr: f64) {
        for (lr_end, lr_init, span) in std::mem::take(&mut self.polynomial_ends) {
            let init = lr_init.unwrap_or(optimizer_lr);
            if init > lr_end {
                continue;
            }
            let number = crate::diagnostic::text::format_number;
            let whose = if lr_init.is_some() {
                "`lr_init`"
            } else {
                "the optimizer's lr"
            };
            self.error(
                Diagnostic::error(
                    Code::OutOfRange,
                    span,
                    format!("`lr_end` ({}) must be smaller than {whose} ({})", number(lr_end), number(init)),
                )
                .with_label("the decay would not go down")
                .with_help("transformers refuses this too: the lr decays from the optimizer's lr down to `lr_end`; choose a smaller `lr_end`"),
            );
        }
    }

    /// `nanogpt_cosine`: nanoGPT divides by `lr_decay_iters - warmup_iters` at iteration
    /// `warmup_iters`, so the two must differ.
    fn nanogpt_cosine_schedule(&mut self, b: &Bound, k: &KindInfo) -> Option<ScheduleConfig> {
        let warmup_iters = self.whole_param(b, k.param("warmup_iters"));
        let lr_decay_iters = self.whole_param(b, k.param("lr_decay_iters"));
        let min_lr = self.number_param(b, k.param("min_lr"));
        let learning_rate = self.number_param_opt(b, k.param("learning_rate"));
        if lr_decay_iters == warmup_iters && b.get("lr_decay_iters").is_some() {
            self.error(
                Diagnostic::error(
                    Code::OutOfRange,
                    b.span_of("lr_decay_iters").unwrap_or(b.call.span),
                    format!("`lr_decay_iters` equals `warmup_iters` ({warmup_iters})"),
                )
                .with_label("nanoGPT divides by `lr_decay_iters - warmup_iters`, here 0")
                .with_help("make `lr_decay_iters` the iteration the cosine ends at, after the warmup (e.g. `max_iters`)"),
            );
            return None;
        }
        Some(ScheduleConfig::NanogptCosine {
            warmup_iters,
            lr_decay_iters,
            min_lr,
            learning_rate,
        })
    }

    /// `timm_wsd`: timm raises unless `0 < decay_t <= t_initial`, and a decaying stable phase
    /// needs a positive timescale (`stable_timescale`, or `warmup_t` by default).
    fn timm_wsd_schedule(&mut self, b: &Bound, k: &KindInfo) -> Option<ScheduleConfig> {
        let t_initial = self.whole_param(b, k.param("t_initial"));
        let decay_t = self.whole_param(b, k.param("decay_t"));
        let lr_min = self.number_param(b, k.param("lr_min"));
        let stable_fn = TimmStableFn::ALL[self.word_param(b, k.param("stable_fn"))];
        let stable_timescale = self.number_param_opt(b, k.param("stable_timescale"));
        let stable_power = self.number_param(b, k.param("stable_power"));
        let decay_fn = TimmDecayFn::ALL[self.word_param(b, k.param("decay_fn"))];
        let decay_power = self.number_param(b, k.param("decay_power"));
        let decay_ratio = self.number_param(b, k.param("decay_ratio"));
        let warmup_t = self.whole_param(b, k.param("warmup_t"));
        let warmup_lr_init = self.number_param(b, k.param("warmup_lr_init"));
        let mut ok = true;
        if decay_t > t_initial && b.get("decay_t").is_some() {
            self.error(
                Diagnostic::error(
                    Code::OutOfRange,
                    b.span_of("decay_t").unwrap_or(b.call.span),
                    format!("`decay_t` ({decay_t}) is longer than `t_initial` ({t_initial})"),
                )
                .with_label("the decay is the last `decay_t` steps of `t_initial`")
                .with_help("timm refuses this too: make `decay_t` at most `t_initial` (`t_initial` is the stable phase and the decay together; the warmup comes before)"),
            );
            ok = false;
        }
        if stable_fn != TimmStableFn::Constant && stable_timescale.is_none() && warmup_t == 0 {
            let name = TimmStableFn::NAMES[stable_fn.index()];
            self.error(
                Diagnostic::error(
                    Code::MissingArgument,
                    b.span_of("stable_fn").unwrap_or(b.call.span),
                    format!("`stable_fn = {name}` needs a timescale, and there is no warmup to take it from"),
                )
                .with_label("`stable_timescale` defaults to `warmup_t`, here 0")
                .with_help("timm refuses this too: give `stable_timescale` (e.g. `stable_timescale = 1000`) or a warmup"),
            );
            ok = false;
        }
        ok.then_some(ScheduleConfig::TimmWsd {
            t_initial,
            decay_t,
            lr_min,
            stable_fn,
            stable_timescale,
            stable_power,
            decay_fn,
            decay_power,
            decay_ratio,
            warmup_t,
            warmup_lr_init,
        })
    }

    /// `chain` and `sequence`: their positional arguments are schedules.
    fn combined_schedule(&mut self, b: &Bound, k: &KindInfo) -> ScheduleConfig {
        let mut children = Vec::with_capacity(b.rest.len());
        let mut sources = Vec::with_capacity(b.rest.len());
        for child in &b.rest {
            if let Some((s, source)) = self.schedule_value(child) {
                children.push(s);
                sources.push(source);
            }
        }
        let mut built = ScheduleSource {
            at: b.call.span,
            children: sources,
            ..ScheduleSource::default()
        };
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
            self.built_source = Some(built);
            return ScheduleConfig::Chain { children };
        }
        let (items, span) = self.whole_list(b, "milestones").unwrap_or_default();
        built.milestones = items.iter().map(|&(_, span)| span).collect();
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
        self.built_source = Some(built);
        ScheduleConfig::Sequence {
            children,
            milestones,
        }
    }
}

/// The checker reading one call's arguments for [`ScheduleConfig::from_args`].
struct Reader<'c, 'b, 'a> {
    c: &'c mut Checker,
    b: &'b Bound<'a>,
    k: &'static KindInfo,
}

impl Arguments for Reader<'_, '_, '_> {
    fn number(&mut self, p: &'static Param) -> f64 {
        self.c.number_param(self.b, p)
    }
    fn number_opt(&mut self, p: &'static Param) -> Option<f64> {
        self.c.number_param_opt(self.b, p)
    }
    fn whole(&mut self, p: &'static Param) -> u64 {
        self.c.whole_param(self.b, p)
    }
    fn whole_opt(&mut self, p: &'static Param) -> Option<u64> {
        self.c.whole_opt_param(self.b, p)
    }
    fn boolean(&mut self, p: &'static Param) -> bool {
        let default = matches!(p.default, ParamDefault::Bool(true));
        self.c.boolean(self.b, p.name, default)
    }
    fn word(&mut self, p: &'static Param) -> usize {
        self.c.word_param(self.b, p)
    }
    fn per_group(&mut self, p: &'static Param) -> PerGroup {
        self.c
            .per_group(self.b, p.name, p.default_number().unwrap_or(0.0))
    }
    fn lambda(&mut self, p: &'static Param) -> Option<Lambda> {
        self.c.lambda_arg(self.b, p.name)
    }
    fn lambda_opt(&mut self, p: &'static Param) -> Option<Option<Lambda>> {
        if self.b.get(p.name).is_none() {
            return Some(None);
        }
        self.c.lambda_arg(self.b, p.name).map(Some)
    }

    fn multistep(&mut self) -> Option<ScheduleConfig> {
        Some(self.c.multistep_schedule(self.b, self.k))
    }
    fn one_cycle(&mut self) -> Option<ScheduleConfig> {
        Some(self.c.one_cycle_schedule(self.b, self.k))
    }
    fn chain(&mut self) -> Option<ScheduleConfig> {
        Some(self.c.combined_schedule(self.b, self.k))
    }
    fn sequence(&mut self) -> Option<ScheduleConfig> {
        Some(self.c.combined_schedule(self.b, self.k))
    }
    fn wsd(&mut self) -> Option<ScheduleConfig> {
        self.c.wsd_schedule(self.b, self.k)
    }
    fn warmup(&mut self) -> Option<ScheduleConfig> {
        self.c.warmup_schedule(self.b, self.k)
    }
    fn warmup_polynomial(&mut self) -> Option<ScheduleConfig> {
        Some(self.c.warmup_polynomial_schedule(self.b, self.k))
    }
    fn nanogpt_cosine(&mut self) -> Option<ScheduleConfig> {
        self.c.nanogpt_cosine_schedule(self.b, self.k)
    }
    fn timm_wsd(&mut self) -> Option<ScheduleConfig> {
        self.c.timm_wsd_schedule(self.b, self.k)
    }
}

/// Every part of `schedule` that sets momentum, in order, with where it is written: a `warmup`
/// with `start_momentum` (`None`) or the kind that cycles it (`cyclic`, `one_cycle`).
fn momentum_setters(
    schedule: &ScheduleConfig,
    source: Option<&ScheduleSource>,
    out: &mut Vec<(Span, Option<&'static str>)>,
) {
    let at = |name: &str| source.map_or(Span::default(), |s| s.arg(name).unwrap_or(s.at));
    match schedule {
        ScheduleConfig::Warmup {
            start_momentum: Some(_),
            ..
        } => out.push((at("start_momentum"), None)),
        ScheduleConfig::Cyclic {
            cycle_momentum: true,
            ..
        }
        | ScheduleConfig::OneCycle {
            cycle_momentum: true,
            ..
        } => out.push((at("cycle_momentum"), Some(schedule.kind().info().name))),
        _ => {}
    }
    for (k, child) in schedule.children().iter().enumerate() {
        momentum_setters(child, source.and_then(|s| s.child(k)), out);
    }
}

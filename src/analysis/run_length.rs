//! `run_length_mismatch`: a schedule whose own course (a cosine's `t_max`, `one_cycle`'s
//! `total_steps`, a decay's `total_iters`, a `warmup` and its `then`, the last child of a
//! `sequence`, transformers' `total`) ends before or after the run the file declares
//! (`run = per_step(steps = ...)`). Ending before, the lr sits at its floor (or a cosine climbs
//! back up) for the rest of the run; ending after, the decay never finishes. A schedule that
//! ends at 0 and stays there is left to `lr_stays_zero`, which the trajectories report, and a
//! warmup followed by a constant lr (or an open-ended decay) may end as early as it likes.

use super::{plural, Analysis};
use crate::ast::Span;
use crate::check::ScheduleSource as Src;
use crate::config::{ScheduleConfig, WarmupClock};
use crate::diagnostic::{Code, Diagnostic};

/// Where a schedule's own course ends, in the schedule steps of the whole tree.
struct Course {
    /// The step at which it ends.
    end: u64,
    /// What ends there: "its annealing", "its decay", "its warmup", "its cycle".
    what: &'static str,
    /// The schedule (innermost) whose argument sets `end`.
    name: &'static str,
    /// Only a warmup ends at `end`; after it the lr stays (or keeps decaying without end), so
    /// a longer run is fine.
    warmup_only: bool,
    /// After `end` the lr is 0 for good (`lr_stays_zero` reports a run that goes on).
    zero_after: bool,
    /// What the lr does after `end`.
    after: &'static str,
    /// The argument that sets `end`, and where it is written (the call when it is not).
    arg: &'static str,
    span: Span,
    /// `end = offset + stretch × arg`: the steps before the schedule's own, and how many
    /// steps each of its own takes (`warmup`'s `then_every`).
    offset: u64,
    stretch: u64,
}

impl Course {
    /// A course set by argument `arg` of the schedule at `src`, ending at `end`.
    fn of(
        name: &'static str,
        src: &Src,
        arg: &'static str,
        end: u64,
        what: &'static str,
    ) -> Course {
        Course {
            end,
            what,
            name,
            warmup_only: false,
            zero_after: false,
            after: "",
            arg,
            span: src.arg(arg).unwrap_or(src.at),
            offset: 0,
            stretch: 1,
        }
    }

    fn after(self, after: &'static str, zero_after: bool) -> Course {
        Course {
            after,
            zero_after,
            ..self
        }
    }

    fn warmup(self) -> Course {
        Course {
            warmup_only: true,
            after: "stays where the warmup ends",
            ..self
        }
    }

    /// The same course run after `before` steps, each of its steps `every` steps long.
    fn shifted(self, before: u64, every: u64) -> Course {
        Course {
            end: before.saturating_add(self.end.saturating_mul(every)),
            offset: before.saturating_add(self.offset.saturating_mul(every)),
            stretch: self.stretch.saturating_mul(every),
            ..self
        }
    }
}

/// The course of `cfg` (written at `src`), for the kinds whose course has an end.
fn course(cfg: &ScheduleConfig, src: &Src) -> Option<Course> {
    let name = cfg.kind().name();
    let c = match cfg {
        ScheduleConfig::Cosine { t_max, .. } => Course::of(name, src, "t_max", *t_max, "its annealing")
            .after("climbs back toward the initial lr (`CosineAnnealingLR` is periodic: down over `t_max`, up over the next `t_max`)", false),
        ScheduleConfig::OneCycle { total_steps, .. } => {
            let arg = if src.arg("total_steps").is_some() || src.arg("epochs").is_none() {
                "total_steps"
            } else {
                "epochs"
            };
            let mut c = Course::of(name, src, arg, *total_steps, "its cycle")
                .after("is past the cycle's last step (PyTorch's `OneCycleLR` raises an error there)", false);
            if arg == "epochs" {
                // `total_steps = epochs × steps_per_epoch`: no single number to suggest.
                c.stretch = 0;
            }
            c
        }
        ScheduleConfig::Linear {
            start_factor,
            end_factor,
            total_iters,
        } => {
            let c = Course::of(name, src, "total_iters", *total_iters, "its decay");
            if start_factor < end_factor {
                Course { what: "its warmup", ..c }.warmup()
            } else if start_factor > end_factor {
                c.after("stays at `end_factor` times the initial lr", *end_factor == 0.0)
            } else {
                return None;
            }
        }
        ScheduleConfig::Polynomial { total_iters, .. } => {
            Course::of(name, src, "total_iters", *total_iters, "its decay").after("stays at 0", true)
        }
        ScheduleConfig::Constant {
            factor,
            total_iters,
        } if *factor != 1.0 => {
            Course::of(name, src, "total_iters", *total_iters, "its warmup").warmup()
        }
        ScheduleConfig::Warmup {
            steps,
            then,
            clock,
            then_every,
            ..
        } => {
            let own = Course::of(name, src, "steps", *steps, "its warmup").warmup();
            let inner = src.child(0).and_then(|s| course(then, s));
            match (inner, clock) {
                (Some(inner), WarmupClock::After) => inner.shifted(*steps, *then_every),
                (Some(inner), WarmupClock::Overlap | WarmupClock::Follow) => {
                    let inner = inner.shifted(0, *then_every);
                    if inner.end >= *steps {
                        inner
                    } else {
                        own
                    }
                }
                (None, _) => own,
            }
        }
        ScheduleConfig::Sequence {
            children,
            milestones,
        } => {
            let last = children.len().checked_sub(1)?;
            let start = super::start_of(milestones, last);
            course(&children[last], src.child(last)?)?.shifted(start, 1)
        }
        ScheduleConfig::WarmupCosine { total, .. } | ScheduleConfig::WarmupCosineLrRate { total, .. } => {
            Course::of(name, src, "total", *total, "its annealing")
                .after("follows the cosine on past `total`, back up (transformers does not stop it there)", false)
        }
        ScheduleConfig::WarmupCosineRestarts { total, .. } => {
            Course::of(name, src, "total", *total, "its annealing").after("is 0", true)
        }
        ScheduleConfig::WarmupLinear { total, .. } => {
            Course::of(name, src, "total", *total, "its decay").after("is 0", true)
        }
        ScheduleConfig::WarmupPolynomial { total, lr_end, .. } => {
            Course::of(name, src, "total", *total, "its decay").after("stays at `lr_end`", *lr_end == 0.0)
        }
        ScheduleConfig::Wsd {
            warmup,
            stable,
            decay,
            min_lr_ratio,
            ..
        } => {
            let end = warmup.saturating_add(*stable).saturating_add(*decay);
            let (arg, offset) = if src.arg("total").is_some() {
                ("total", 0)
            } else if src.arg("stable").is_some() {
                ("stable", warmup.saturating_add(*decay))
            } else {
                ("decay", warmup.saturating_add(*stable))
            };
            Course {
                offset,
                ..Course::of(name, src, arg, end, "its decay")
            }
            .after("stays at `min_lr_ratio` times the initial lr", *min_lr_ratio == 0.0)
        }
        ScheduleConfig::TimmCosine {
            lr_min,
            cycle_mul,
            cycle_limit,
            warmup_t,
            warmup_prefix,
            ..
        }
        | ScheduleConfig::TimmPoly {
            lr_min,
            cycle_mul,
            cycle_limit,
            warmup_t,
            warmup_prefix,
            ..
        } => {
            let end = cfg.extent();
            let offset = if *warmup_prefix { *warmup_t } else { 0 };
            // Equal cycles: `end = offset + cycle_limit × t_initial`; growing or shrinking
            // ones have no single `t_initial` to suggest.
            let stretch = if *cycle_mul == 1.0 {
                (*cycle_limit).max(1)
            } else {
                0
            };
            Course {
                offset,
                stretch,
                ..Course::of(name, src, "t_initial", end, "its annealing")
            }
            .after("stays at `lr_min`", *lr_min == 0.0)
        }
        ScheduleConfig::TimmWsd {
            t_initial,
            lr_min,
            warmup_t,
            ..
        } => Course {
            offset: *warmup_t,
            ..Course::of(name, src, "t_initial", warmup_t.saturating_add(*t_initial), "its decay")
        }
        .after("stays at `lr_min`", *lr_min == 0.0),
        ScheduleConfig::InverseSqrt { warmup, .. }
        | ScheduleConfig::Noam { warmup, .. }
        | ScheduleConfig::WarmupConstant { warmup } => {
            Course::of(name, src, "warmup", *warmup, "its warmup").warmup()
        }
        _ => return None,
    };
    (c.end > 0).then_some(c)
}

impl Analysis<'_> {
    /// Reports a schedule whose course ends before or after the declared run (at `run`).
    pub(super) fn run_length_lint(&mut self, cfg: &ScheduleConfig, src: &Src, run: Span) {
        let (Some(len), Some(c)) = (self.config.run_length(), course(cfg, src)) else {
            return;
        };
        let unit = self.unit;
        let run_arg = crate::config::Run::params(self.config.stepping())[0];
        // The value of the schedule's argument that ends it with the run, if there is one.
        let fits = len
            .checked_sub(c.offset)
            .filter(|&rest| rest > 0 && c.stretch > 0 && rest % c.stretch == 0)
            .map(|rest| rest / c.stretch);
        let set_arg =
            fits.map(|v| format!("set `{} = {v}` so that {} ends with the run", c.arg, c.what));
        let set_run = format!(
            "declare the run as long as the schedule (`{run_arg} = {}`)",
            c.end
        );
        let name = c.name;
        let d = if len > c.end && !c.warmup_only && !c.zero_after {
            let rest = len - c.end;
            Diagnostic::warning(
                Code::RunLengthMismatch,
                c.span,
                format!(
                    "`{name}` ends {} at {unit} {}, but the run is {len} {unit}s long",
                    c.what, c.end
                ),
            )
            .with_label(ends_at(&c, unit))
            .with_related(run, format!("the run is {len} {unit}s"))
            .with_help(format!(
                "for the last {rest} {unit}{} the lr {}; {}",
                plural(rest),
                c.after,
                match set_arg {
                    Some(s) => format!("{s}, or {set_run}"),
                    None => set_run,
                }
            ))
        } else if len < c.end {
            Diagnostic::warning(
                Code::RunLengthMismatch,
                c.span,
                format!(
                    "the run ends at {unit} {len}, before `{name}`'s {} ends at {unit} {}",
                    c.what.trim_start_matches("its "),
                    c.end
                ),
            )
            .with_label(ends_at(&c, unit))
            .with_related(run, format!("the run is {len} {unit}s"))
            .with_help(format!(
                "training stops with {} {} of {} to go, so the lr never gets where the schedule takes it; {}",
                c.end - len,
                plural_unit(unit, c.end - len),
                c.what.trim_start_matches("its "),
                match set_arg {
                    Some(s) => format!("{s}, or {set_run}"),
                    None => set_run,
                }
            ))
        } else {
            return;
        };
        self.out.push(d);
    }
}

/// "ends at step 10500", with the steps before the schedule's own where there are some.
fn ends_at(c: &Course, unit: &str) -> String {
    match c.offset {
        0 => format!("ends at {unit} {}", c.end),
        before => format!(
            "ends at {unit} {}, {before} {} after the start",
            c.end,
            plural_unit(unit, before)
        ),
    }
}

fn plural_unit(unit: &str, n: u64) -> String {
    format!("{unit}{}", plural(n))
}

#[cfg(test)]
mod tests {
    use crate::analysis::{analyze, Options};
    use crate::diagnostic::Code;

    /// The `run_length_mismatch` messages and the text each points at.
    fn mismatches(source: &str) -> Vec<(String, String)> {
        let file = crate::parse::parse(source).unwrap();
        let checked = crate::check::check(&file);
        let config = checked.config.expect("checks");
        analyze(&checked.sources, source, &config, &Options::default())
            .into_iter()
            .filter(|d| d.code == Code::RunLengthMismatch)
            .map(|d| {
                assert_eq!(d.related.len(), 1, "{}", d.message);
                let help = d.help.unwrap_or_default();
                (
                    d.message,
                    format!("{} | {help}", &source[d.span.start..d.span.end]),
                )
            })
            .collect()
    }

    fn file(schedule: &str, run: &str) -> String {
        format!("optimizer = sgd(lr = 0.1)\nschedule = {schedule}\nrun = {run}\n")
    }

    #[test]
    fn a_schedule_that_ends_with_the_run_or_has_no_end_is_fine() {
        for (schedule, run) in [
            ("cosine(t_max = 100)", "per_epoch(epochs = 100)"),
            (
                "cosine(t_max = 300)",
                "per_step(epochs = 3, steps_per_epoch = 100)",
            ),
            (
                "warmup(steps = 10, then = cosine(t_max = 90))",
                "per_step(steps = 100)",
            ),
            (
                "sequence(linear(0.1, total_iters = 5), cosine(t_max = 95), milestones = [5])",
                "per_epoch(100)",
            ),
            ("step(step_size = 30)", "per_epoch(epochs = 1000)"),
            ("exponential(0.9)", "per_epoch(epochs = 1000)"),
            ("lambda(e -> 0.9 ** e)", "per_epoch(epochs = 1000)"),
            // A warmup, then a constant or open-ended lr: any longer run is fine.
            (
                "linear(start_factor = 0.1, total_iters = 5)",
                "per_epoch(epochs = 90)",
            ),
            (
                "warmup(steps = 500, then = exponential(0.999))",
                "per_step(steps = 8000)",
            ),
            ("inverse_sqrt(warmup = 4000)", "per_step(steps = 100000)"),
            // Ending at 0 for good is `lr_stays_zero`'s to report.
            ("polynomial(total_iters = 50)", "per_epoch(epochs = 90)"),
            (
                "warmup_linear(warmup = 10, total = 100)",
                "per_step(steps = 200)",
            ),
            (
                "linear(start_factor = 1, end_factor = 0, total_iters = 10)",
                "per_epoch(epochs = 20)",
            ),
        ] {
            assert_eq!(mismatches(&file(schedule, run)), [], "{schedule} / {run}");
        }
        // No declared length: nothing to compare with.
        let source = "optimizer = sgd(lr = 0.1)\nschedule = cosine(t_max = 10)\nrun = per_step()\n";
        assert_eq!(mismatches(source), []);
    }

    #[test]
    fn each_kind_of_course_is_measured_against_the_run() {
        let cases = [
            (
                "one_cycle(0.1, total_steps = 1000)",
                "per_step(steps = 800)",
                "the run ends at step 800, before `one_cycle`'s cycle ends at step 1000",
                "total_steps = 1000 | training stops with 200 steps of cycle to go, so the lr never gets where the schedule takes it; set `total_steps = 800` so that its cycle ends with the run, or declare the run as long as the schedule (`steps = 1000`)",
            ),
            (
                "linear(start_factor = 1, end_factor = 0.1, total_iters = 50)",
                "per_epoch(epochs = 90)",
                "`linear` ends its decay at epoch 50, but the run is 90 epochs long",
                "total_iters = 50 | for the last 40 epochs the lr stays at `end_factor` times the initial lr; set `total_iters = 90` so that its decay ends with the run, or declare the run as long as the schedule (`epochs = 50`)",
            ),
            (
                "linear(start_factor = 0.1, total_iters = 50)",
                "per_epoch(epochs = 20)",
                "the run ends at epoch 20, before `linear`'s warmup ends at epoch 50",
                "total_iters = 50 | training stops with 30 epochs of warmup to go, so the lr never gets where the schedule takes it; set `total_iters = 20` so that its warmup ends with the run, or declare the run as long as the schedule (`epochs = 50`)",
            ),
            (
                "sequence(linear(0.1, total_iters = 5), cosine(t_max = 50), milestones = [5])",
                "per_epoch(epochs = 100)",
                "`cosine` ends its annealing at epoch 55, but the run is 100 epochs long",
                "t_max = 50 | for the last 45 epochs the lr climbs back toward the initial lr (`CosineAnnealingLR` is periodic: down over `t_max`, up over the next `t_max`); set `t_max = 95` so that its annealing ends with the run, or declare the run as long as the schedule (`epochs = 55`)",
            ),
            (
                // `then` steps once every 10 steps: its 40 steps are 400.
                "warmup(steps = 100, then = cosine(t_max = 40), then_every = 10)",
                "per_step(steps = 1000)",
                "`cosine` ends its annealing at step 500, but the run is 1000 steps long",
                "t_max = 40 | for the last 500 steps the lr climbs back toward the initial lr (`CosineAnnealingLR` is periodic: down over `t_max`, up over the next `t_max`); set `t_max = 90` so that its annealing ends with the run, or declare the run as long as the schedule (`steps = 500`)",
            ),
            (
                "wsd(warmup = 10, decay = 20, stable = 50, min_lr_ratio = 0.1)",
                "per_step(steps = 100)",
                "`wsd` ends its decay at step 80, but the run is 100 steps long",
                "stable = 50 | for the last 20 steps the lr stays at `min_lr_ratio` times the initial lr; set `stable = 70` so that its decay ends with the run, or declare the run as long as the schedule (`steps = 80`)",
            ),
            (
                "warmup_cosine(warmup = 10, total = 100)",
                "per_step(steps = 90)",
                "the run ends at step 90, before `warmup_cosine`'s annealing ends at step 100",
                "total = 100 | training stops with 10 steps of annealing to go, so the lr never gets where the schedule takes it; set `total = 90` so that its annealing ends with the run, or declare the run as long as the schedule (`steps = 100`)",
            ),
        ];
        for (schedule, run, message, at_and_help) in cases {
            assert_eq!(
                mismatches(&file(schedule, run)),
                [(message.to_string(), at_and_help.to_string())],
                "{schedule} / {run}"
            );
        }
    }

    #[test]
    fn a_default_length_points_at_the_call_and_groups_are_measured_too() {
        // `polynomial`'s `total_iters` defaults to 5: the call is what to change.
        let source = "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a.*\", schedule = constant(factor = 0.5) }\ngroup b { params = \"*\" }\nrun = per_epoch(epochs = 3)\n";
        let found = mismatches(source);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].0,
            "the run ends at epoch 3, before `constant`'s warmup ends at epoch 5"
        );
        assert!(
            found[0].1.starts_with("constant(factor = 0.5) | "),
            "{found:?}"
        );
    }
}

//! `ignored_lr`: an `lr` that no lr depends on, because the schedule sets every lr itself.
//!
//! Which schedules read a group's own `lr` (its `initial_lr`) and which do not:
//!
//! - `absolute(f)` never does: every group's lr is `f(step)` (times its `lr_scale`);
//! - `fairseq_inverse_sqrt` with `lr = ...` and `nanogpt_cosine` with `learning_rate = ...`
//!   write that lr into every group, as their training loops do; without it each group's own
//!   lr stands in (they read it then);
//! - `one_cycle` and `cyclic` never do: as PyTorch's `OneCycleLR` and `CyclicLR`, they set every
//!   group's lr (and `initial_lr`) from their `max_lr` (`base_lr`), one value or one per group;
//! - a `warmup` reads it only through its `then` (its start is `start_factor` × `then`'s first
//!   lr, or the absolute `start_lr`); a `sequence` reads it if any child does;
//! - every other kind (PyTorch's, timm's, the `LambdaLR` factors, `chain`) starts from or scales
//!   the group's lr.
//!
//! A group's `lr` under a schedule that never reads it is always reported. The optimizer's `lr`
//! is only when it contradicts the lr the schedule writes instead (`fairseq_inverse_sqrt(lr =
//! 5e-4)` beside `adam(lr = 1e-3)`): beside `absolute`, it is PyTorch's `initial_lr`, which the
//! training loops of BEiT and MAE pass too.
//!
//! `ignored_lr_scale`: `lr_scale` on `rprop`, which reads the lr only at its first step.

use crate::ast::Span;
use crate::check::{Checker, ScheduleSource};
use crate::config::{Config, OptimizerKind, ScheduleConfig};
use crate::diagnostic::text::format_number;
use crate::diagnostic::{Code, Diagnostic};

/// The schedule that sets a group's every lr without reading the group's own.
enum Setter {
    /// `absolute(f)`.
    Absolute,
    /// A named kind given the lr it writes into every group: its name, the argument's name and
    /// value.
    Given(&'static str, &'static str, f64),
    /// `one_cycle` or `cyclic`, whose own arguments (`max_lr`, `base_lr`) give every group its
    /// lrs: its name and the arguments that take one value per group.
    Cycle(&'static str, &'static str),
}

/// What sets every lr of a group whose schedule is `s` (written at `src`), if no lr depends on
/// the group's own, and where it is written (the lr argument of a named kind, else the call).
fn setter(s: &ScheduleConfig, src: &ScheduleSource) -> Option<(Setter, Span)> {
    let given = |kind, arg, v: f64| {
        let at = src.arg(arg).unwrap_or(src.at);
        Some((Setter::Given(kind, arg, v), at))
    };
    match s {
        ScheduleConfig::Absolute { .. } => Some((Setter::Absolute, src.at)),
        ScheduleConfig::OneCycle { .. } => Some((
            Setter::Cycle("one_cycle", "`max_lr`"),
            src.arg("max_lr").unwrap_or(src.at),
        )),
        ScheduleConfig::Cyclic { .. } => Some((
            Setter::Cycle("cyclic", "`base_lr` and `max_lr`"),
            src.arg("base_lr").unwrap_or(src.at),
        )),
        ScheduleConfig::FairseqInverseSqrt { lr: Some(v), .. } => {
            given("fairseq_inverse_sqrt", "lr", *v)
        }
        ScheduleConfig::NanogptCosine {
            learning_rate: Some(v),
            ..
        } => given("nanogpt_cosine", "learning_rate", *v),
        ScheduleConfig::Warmup { then, .. } => setter(then, src.child(0)?),
        ScheduleConfig::Sequence { children, .. } => {
            let mut first = None;
            for (k, c) in children.iter().enumerate() {
                let found = setter(c, src.child(k)?)?;
                first.get_or_insert(found);
            }
            first
        }
        _ => None,
    }
}

impl Checker {
    /// A group's `lr` (or the optimizer's) that no lr depends on: see the module documentation.
    pub(in crate::check) fn lint_ignored_lr(&mut self, config: &Config) {
        let mut diags = Vec::new();
        // (group, its setter) of the groups that inherit the optimizer's lr.
        let mut inheriting: Vec<Option<(Setter, Span)>> = Vec::new();
        for (i, g) in config.groups.iter().enumerate() {
            let own_lr = self.lr_spans.groups.get(i).and_then(|s| s.0);
            let source = if g.schedule.is_some() {
                self.sources.groups.get(i).and_then(Option::as_ref)
            } else {
                self.sources.file.as_ref()
            };
            let found = match (config.schedule_of(i), source) {
                (Some(s), Some(src)) => setter(s, src),
                _ => None,
            };
            let Some(lr_span) = own_lr else {
                inheriting.push(found);
                continue;
            };
            let Some((setter, at)) = found else { continue };
            let (what, help) = match setter {
                Setter::Absolute => (
                    "`absolute` gives every group the lambda's value".to_string(),
                    "remove it; to give this group other lrs than the lambda's, scale them with \
                     `lr_scale = ...` (the lambda's value times it), or give the group its own \
                     `schedule`"
                        .to_string(),
                ),
                Setter::Cycle(kind, args) => (
                    format!("`{kind}` sets every group's lr from its {args}"),
                    format!(
                        "remove it; to give this group lrs of its own, give {args} of `{kind}` a \
                         list with one value per group (as PyTorch's lists)"
                    ),
                ),
                Setter::Given(kind, arg, v) => (
                    format!(
                        "`{kind}({arg} = {})` writes its `{arg}` into every group",
                        format_number(v)
                    ),
                    format!(
                        "remove it; to give each group its own lr, remove `{arg} = ...` from \
                         `{kind}` (each group's `lr` then stands in, as when the library is given \
                         none), or scale this group with `lr_scale = ...`"
                    ),
                ),
            };
            diags.push(
                Diagnostic::warning(
                    Code::IgnoredLr,
                    lr_span,
                    format!("group `{}`'s `lr` changes nothing: {what}", g.name),
                )
                .with_label("no effect")
                .with_related(at, "sets every lr of the group")
                .with_help(help),
            );
        }
        // The optimizer's lr, where every group that inherits it is given another one.
        if let (Some(lr_span), Some(Some((Setter::Given(kind, arg, v), at)))) =
            (self.lr_spans.optimizer_lr, inheriting.first())
        {
            let contradicted = inheriting.iter().all(|f| {
                matches!(f, Some((Setter::Given(_, _, w), _)) if w.to_bits() != config.defaults.lr.to_bits())
            });
            if contradicted {
                diags.push(
                    Diagnostic::warning(
                        Code::IgnoredLr,
                        lr_span,
                        format!(
                            "the optimizer's `lr = {}` changes nothing: `{kind}({arg} = {})` writes its `{arg}` into every group",
                            format_number(config.defaults.lr),
                            format_number(*v)
                        ),
                    )
                    .with_label("no effect")
                    .with_related(*at, "the lr every group gets")
                    .with_help(format!(
                        "write the lr once: set the optimizer's `lr` to {}, or remove `{arg} = ...` \
                         from `{kind}` so that the optimizer's lr stands in",
                        format_number(*v)
                    )),
                );
            }
        }
        self.diags.extend(diags);
    }

    /// `lr_scale` on `rprop`: Rprop reads the lr only at its first step, where it seeds every
    /// step size, so `lr_scale` there is only a smaller first lr, not a layer-wise decay of the
    /// lrs a schedule writes (which Rprop does not follow either: see `ignored_schedule`).
    pub(in crate::check) fn lint_rprop_lr_scale(&mut self, config: &Config) {
        if config.optimizer != OptimizerKind::Rprop {
            return;
        }
        let mut diags = Vec::new();
        for (i, g) in config.groups.iter().enumerate() {
            let Some(span) = self.lr_spans.groups.get(i).and_then(|s| s.1) else {
                continue;
            };
            diags.push(
                Diagnostic::warning(
                    Code::IgnoredLrScale,
                    span,
                    format!(
                        "`rprop` reads the lr only at its first step, so group `{}`'s `lr_scale` only scales its first step sizes",
                        g.name
                    ),
                )
                .with_label("a smaller first lr, nothing after")
                .with_help(format!(
                    "Rprop (PyTorch's too) starts each value's step size at the lr of the first step, \
                     then grows or shrinks it by `etas` whatever the lr is; remove `lr_scale` and set \
                     the group's `lr` to the step size to start from (`lr = {}`)",
                    format_number(g.options.lr * g.lr_scale)
                )),
            );
        }
        self.diags.extend(diags);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::lints::codes;

    fn ignored(source: &str) -> Vec<String> {
        codes(source)
            .into_iter()
            .filter(|(c, _)| c == "optimc::ignored_lr")
            .map(|(_, s)| s)
            .collect()
    }

    #[test]
    fn a_group_lr_under_a_schedule_that_sets_every_lr_is_reported() {
        let groups = "optimizer = adam(lr = 1e-3)\ngroup a { params = \"a\", lr = 2e-3 }\ngroup b { params = \"b\" }\n";
        for schedule in [
            "absolute(s -> 1e-3 * 0.9 ** s)",
            "fairseq_inverse_sqrt(warmup_updates = 10, lr = 1e-3)",
            "nanogpt_cosine(warmup_iters = 5, lr_decay_iters = 50, learning_rate = 1e-3)",
            "warmup(steps = 5, then = absolute(s -> 1e-3))",
            "sequence(absolute(s -> 1e-3), fairseq_inverse_sqrt(lr = 1e-4), milestones = [5])",
            "one_cycle(max_lr = 0.01, total_steps = 100)",
            "cyclic(base_lr = 1e-4, max_lr = 1e-2, step_size_up = 10)",
        ] {
            assert_eq!(
                ignored(&format!("{groups}schedule = {schedule}\n")),
                ["lr = 2e-3"],
                "{schedule}"
            );
        }
        // Schedules that read the group's lr.
        for schedule in [
            "fairseq_inverse_sqrt(warmup_updates = 10)",
            "nanogpt_cosine(warmup_iters = 5, lr_decay_iters = 50)",
            "timm_cosine(t_initial = 20)",
            "lambda(s -> 0.9 ** s)",
            "warmup(steps = 5, then = cosine(t_max = 10))",
            "sequence(absolute(s -> 1e-3), exponential(0.9), milestones = [5])",
            "chain(absolute(s -> 1e-3), exponential(0.9))",
        ] {
            assert!(
                ignored(&format!("{groups}schedule = {schedule}\n")).is_empty(),
                "{schedule}"
            );
        }
        // A group's own schedule decides for that group alone.
        assert_eq!(
            ignored(
                "optimizer = adam(lr = 1e-3)\n\
                 group a { params = \"a\", lr = 2e-3, schedule = absolute(s -> 1e-3) }\n\
                 group b { params = \"b\", lr = 3e-3 }\nschedule = exponential(0.9)\n"
            ),
            ["lr = 2e-3"]
        );
    }

    #[test]
    fn the_optimizer_lr_is_reported_only_when_the_schedule_writes_another() {
        let fairseq = |opt: &str, lr: &str| {
            ignored(&format!(
                "optimizer = adam(lr = {opt})\nschedule = fairseq_inverse_sqrt(lr = {lr})\n"
            ))
        };
        assert_eq!(fairseq("1e-3", "5e-4"), ["lr = 1e-3"]);
        assert!(fairseq("5e-4", "5e-4").is_empty());
        // BEiT's and MAE's loops pass the optimizer an lr beside their absolute values too.
        assert!(
            ignored("optimizer = adamw(lr = 1e-3)\nschedule = absolute(s -> 1e-3)\n").is_empty()
        );
        // A group that inherits the optimizer's lr and reads it keeps it meaningful.
        assert!(ignored(
            "optimizer = adam(lr = 1e-3)\ngroup a { params = \"a\", schedule = exponential(0.9) }\n\
             group b { params = \"b\" }\nschedule = fairseq_inverse_sqrt(lr = 5e-4)\n"
        )
        .is_empty());
    }

    #[test]
    fn lr_scale_on_rprop_is_reported_and_elsewhere_not() {
        let source = "optimizer = rprop(lr = 0.01)\ngroup a { params = \"a\", lr_scale = 0.5 }\ngroup b { params = \"b\" }\n";
        assert_eq!(
            codes(source),
            [(
                "optimc::ignored_lr_scale".to_string(),
                "lr_scale = 0.5".to_string()
            )]
        );
        assert!(codes(&source.replace("rprop", "sgd")).is_empty());
    }
}

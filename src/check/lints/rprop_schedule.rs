//! `ignored_schedule`: a schedule on `rprop`, which reads the lr only at its first step.

use crate::check::{Checker, ScheduleSource};
use crate::config::{Config, OptimizerKind};
use crate::diagnostic::{Code, Diagnostic};

impl Checker {
    /// A schedule (the file's, or a group's own) under `rprop`: PyTorch's Rprop sets each
    /// value's step size to the lr of its first step (`state["step_size"] =
    /// full_like(grad, lr)`), then adapts it by `etas` alone, so the lr the schedule writes
    /// later changes nothing.
    pub(in crate::check) fn lint_rprop_schedule(&mut self, config: &Config) {
        if config.optimizer != OptimizerKind::Rprop {
            return;
        }
        let mut at: Vec<(Option<&str>, &ScheduleSource)> = Vec::new();
        if config.schedule.is_some() {
            at.extend(self.sources.file.as_ref().map(|s| (None, s)));
        }
        for (g, s) in config.groups.iter().zip(&self.sources.groups) {
            if g.schedule.is_some() {
                at.extend(s.as_ref().map(|s| (Some(g.name.as_str()), s)));
            }
        }
        let diags: Vec<Diagnostic> = at
            .into_iter()
            .map(|(group, source)| {
                let whose = match group {
                    Some(g) => format!("group `{g}`'s schedule"),
                    None => "the schedule".to_string(),
                };
                Diagnostic::warning(
                    Code::IgnoredSchedule,
                    source.at,
                    format!("`rprop` reads the lr only at its first step, so {whose} changes nothing after it"),
                )
                .with_label("only its first lr is used")
                .with_help(
                    "Rprop (PyTorch's too) starts each value's step size at the lr of the first \
                     step, then grows or shrinks it by `etas` within `step_sizes` whatever the lr \
                     is; remove the schedule and set `lr` to the step size to start from, or use \
                     an optimizer whose steps follow the lr",
                )
            })
            .collect();
        self.diags.extend(diags);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::lints::codes;

    #[test]
    fn a_group_schedule_on_rprop_is_warned_about_and_other_optimizers_are_not() {
        let source = "optimizer = rprop(lr = 0.01)\ngroup a { params = \"a\", schedule = exponential(gamma = 0.9) }\ngroup b { params = \"b\" }\n";
        assert_eq!(
            codes(source),
            [(
                "optimc::ignored_schedule".to_string(),
                "exponential(gamma = 0.9)".to_string()
            )]
        );
        assert!(codes(&source.replace("rprop", "sgd")).is_empty());
        assert!(codes("optimizer = rprop(lr = 0.01)\n").is_empty());
    }
}

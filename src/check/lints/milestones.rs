//! `unsorted_milestones` and `duplicate_milestone`: milestones of `multistep` or `sequence` out
//! of order, or listed twice.

use crate::ast::Span;
use crate::check::Checker;
use crate::diagnostic::text::rounded;
use crate::diagnostic::{Code, Diagnostic};
use crate::schedule::ScheduleKind;
use std::collections::HashMap;

impl Checker {
    /// Milestones out of order, or listed twice, in `multistep` or `sequence`.
    pub(in crate::check) fn lint_milestones(
        &mut self,
        kind: ScheduleKind,
        items: &[(u64, Span)],
        gamma: f64,
    ) {
        if let Some(i) = (1..items.len()).find(|&i| items[i].0 < items[i - 1].0) {
            let mut sorted: Vec<u64> = items.iter().map(|(m, _)| *m).collect();
            sorted.sort_unstable();
            let sorted = if sorted.len() <= 16 {
                let sorted: Vec<String> = sorted.iter().map(u64::to_string).collect();
                format!(", `[{}]`", sorted.join(", "))
            } else {
                String::new()
            };
            let help = if kind == ScheduleKind::Multistep {
                format!("write them in increasing order{sorted}: MultiStepLR counts every milestone whatever the order, so the lr does not change, but readers expect epochs in order")
            } else {
                format!("write them in increasing order{sorted}: SequentialLR bisects the list to find the running schedule, so out of order it switches schedules at the wrong epochs")
            };
            self.diags.push(
                Diagnostic::warning(
                    Code::UnsortedMilestones,
                    items[i].1,
                    format!(
                        "the milestones of `{}` are not in increasing order",
                        kind.name()
                    ),
                )
                .with_label(format!("{} comes after {}", items[i].0, items[i - 1].0))
                .with_related(items[i - 1].1, "the larger milestone before it")
                .with_help(help),
            );
        }
        let mut first: HashMap<u64, usize> = HashMap::new();
        for i in 0..items.len() {
            let j = *first.entry(items[i].0).or_insert(i);
            if j == i {
                continue;
            }
            let m = items[i].0;
            let times = items.iter().filter(|(x, _)| *x == m).count();
            let count = match times {
                2 => "twice".to_string(),
                n => format!("{n} times"),
            };
            let (message, help) = if kind == ScheduleKind::Multistep {
                (
                    format!("milestone {m} is listed {count}, so the lr is multiplied by gamma {count} at epoch {m}"),
                    format!(
                        "PyTorch's MultiStepLR does the same: at epoch {m} the lr is multiplied by {} ** {times} = {}; if you meant one decay, remove the repeat, and if you meant the larger drop, say so with a smaller `gamma`",
                        crate::diagnostic::text::format_number(gamma),
                        rounded(gamma.powi(times as i32))
                    ),
                )
            } else {
                (
                    format!("milestone {m} is listed twice, so the schedule between the two never runs"),
                    format!("SequentialLR switches twice at epoch {m}, skipping the schedule in between; remove the repeat, or give that schedule its own epochs"),
                )
            };
            self.diags.push(
                Diagnostic::warning(Code::DuplicateMilestone, items[i].1, message)
                    .with_label("listed again here")
                    .with_related(items[j].1, "first listed here")
                    .with_help(help),
            );
            break;
        }
    }
}

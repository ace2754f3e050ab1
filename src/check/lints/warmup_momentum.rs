//! `warmup_momentum_to_zero`: `warmup(start_momentum = ...)` on a group whose momentum is 0.
//!
//! The warmup ramps each group's momentum from `start_momentum` to the group's own momentum
//! (ultralytics' `np.interp(ni, [0, nw], [warmup_momentum, momentum])`). `sgd`'s and
//! `rmsprop`'s momentum defaults to 0, so a file that sets `start_momentum` but forgets the
//! optimizer's `momentum` ramps the momentum *down* to none, the opposite of a warmup.

use crate::ast::Span;
use crate::check::{Checker, ScheduleSource};
use crate::config::{Config, PerGroup, ScheduleConfig};
use crate::diagnostic::text::format_number;
use crate::diagnostic::{Code, Diagnostic};

/// Every warmup with `start_momentum` in `s` (written at `src`): its values and where they
/// are written.
fn momentum_warmups<'a>(
    s: &'a ScheduleConfig,
    src: &ScheduleSource,
    out: &mut Vec<(&'a PerGroup, Span)>,
) {
    if let ScheduleConfig::Warmup {
        start_momentum: Some(m),
        ..
    } = s
    {
        out.push((m, src.arg("start_momentum").unwrap_or(src.at)));
    }
    for (k, child) in s.children().iter().enumerate() {
        if let Some(child_src) = src.child(k) {
            momentum_warmups(child, child_src, out);
        }
    }
}

impl Checker {
    /// A warmup whose momentum ramp ends at 0 for a group (see the module documentation).
    pub(in crate::check) fn lint_warmup_momentum_to_zero(&mut self, config: &Config) {
        if !config.optimizer.has_momentum() {
            return;
        }
        // (where `start_momentum` is written, the groups it ramps down to 0, their first start)
        let mut found: Vec<(Span, Vec<&str>, f64)> = Vec::new();
        for (i, g) in config.groups.iter().enumerate() {
            if g.options.momentum != 0.0 {
                continue;
            }
            let source = if g.schedule.is_some() {
                self.sources.groups.get(i).and_then(Option::as_ref)
            } else {
                self.sources.file.as_ref()
            };
            let (Some(schedule), Some(source)) = (config.schedule_of(i), source) else {
                continue;
            };
            let mut warmups = Vec::new();
            momentum_warmups(schedule, source, &mut warmups);
            for (start, at) in warmups {
                let start = start.get(i);
                if start <= 0.0 {
                    continue;
                }
                match found.iter_mut().find(|(span, ..)| *span == at) {
                    Some((_, groups, _)) => groups.push(&g.name),
                    None => found.push((at, vec![&g.name], start)),
                }
            }
        }
        let optimizer = config.optimizer.name();
        let diags: Vec<Diagnostic> = found
            .into_iter()
            .map(|(at, groups, start)| {
                let names = groups
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let (whose, own) = match groups.len() {
                    1 => (format!("group {names}"), "the group's"),
                    _ => (format!("groups {names}"), "their"),
                };
                Diagnostic::warning(
                    Code::WarmupMomentumToZero,
                    at,
                    format!(
                        "this warmup ramps the momentum of {whose} from {} down to 0, {own} own \
                         momentum",
                        format_number(start)
                    ),
                )
                .with_label("ends at the group's momentum, 0")
                .with_help(format!(
                    "`start_momentum` warms each group's momentum up to its own; {optimizer}'s \
                     `momentum` defaults to 0, so set the momentum to end at (`{optimizer}(..., \
                     momentum = 0.937)`, YOLO's), or remove `start_momentum`"
                ))
            })
            .collect();
        self.diags.extend(diags);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::lints::codes;

    #[test]
    fn a_warmup_to_a_zero_momentum_is_warned_about_once_per_warmup() {
        let source = "optimizer = sgd(lr = 0.01)\n\
                      group a { params = \"a\" }\n\
                      group b { params = \"b\", momentum = 0.9 }\n\
                      group c { params = \"c\" }\n\
                      schedule = warmup(steps = 5, then = constant(factor = 1, total_iters = 0), start_momentum = 0.8)\n";
        let got = codes(source);
        assert_eq!(
            got,
            [(
                "optimc::warmup_momentum_to_zero".to_string(),
                "start_momentum = 0.8".to_string()
            )]
        );
        let (_, diagnostics) = crate::check_source("a.optim", source);
        let message = &diagnostics.items[0].message;
        assert!(
            message.contains("of groups `a`, `c` from 0.8 down to 0"),
            "{message}"
        );
    }

    #[test]
    fn a_momentum_to_warm_up_to_is_not_warned_about() {
        for source in [
            // the optimizer's momentum
            "optimizer = sgd(lr = 0.01, momentum = 0.937)\nschedule = warmup(steps = 5, then = step(step_size = 2), start_momentum = 0.8)\n",
            // a start of 0 for the group whose momentum is 0
            "optimizer = sgd(lr = 0.01)\ngroup a { params = \"a\", momentum = 0.9 }\ngroup b { params = \"b\" }\nschedule = warmup(steps = 5, then = step(step_size = 2), start_momentum = [0.8, 0])\n",
            // betas[0], not momentum
            "optimizer = adamw(lr = 0.01)\nschedule = warmup(steps = 5, then = step(step_size = 2), start_momentum = 0.8)\n",
        ] {
            assert!(codes(source).is_empty(), "{source}: {:?}", codes(source));
        }
    }

    #[test]
    fn a_nested_warmup_is_found() {
        let source = "optimizer = rmsprop(lr = 0.01)\n\
                      schedule = sequence(step(step_size = 2), warmup(steps = 3, then = exponential(gamma = 0.9), start_momentum = 0.5), milestones = [4])\n";
        assert_eq!(
            codes(source),
            [(
                "optimc::warmup_momentum_to_zero".to_string(),
                "start_momentum = 0.5".to_string()
            )]
        );
    }
}

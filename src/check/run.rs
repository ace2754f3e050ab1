//! `run = per_step(...)` / `run = per_epoch(...)`: when the schedule steps, and the run's length.

use super::Checker;
use crate::ast::{self, Span};
use crate::config::{Run, Stepping};
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};

/// What people coming from other tools call stepping after every optimizer step.
const PER_STEP_SYNONYMS: &[&str] = &[
    "per_batch",
    "per_iteration",
    "per_iter",
    "per_update",
    "per_optimizer_step",
    "per_steps",
    "step",
    "steps",
    "batch",
    "iteration",
];
/// ... and once per epoch.
const PER_EPOCH_SYNONYMS: &[&str] = &["per_epochs", "epoch", "epochs"];

impl Checker {
    /// Checks `run = NAME(args)`: the call names the stepping, its arguments the run's length.
    pub(super) fn run_call(&mut self, call: &ast::Call) -> Option<Run> {
        let name = call.name.name.as_str();
        let Some(stepping) = Stepping::from_call_name(name) else {
            self.unknown_stepping(&call.name);
            return None;
        };
        let errors_before = self.error_count();
        let b = self.bind(call, name, Run::params(stepping), 1, 0, false);
        let whole = |checker: &mut Checker, key: &str| {
            let n = checker.whole_opt(&b, key)?;
            if n == 0 {
                let span = b.get(key).map_or(b.call.span, |e| e.span);
                checker.error(
                    Diagnostic::error(Code::OutOfRange, span, format!("`{key}` must be at least 1"))
                        .with_label("a run of no length")
                        .with_help(format!(
                            "give the number of {} the run has, or leave `{key}` out if it is not known",
                            key.replace('_', " ")
                        )),
                );
                return None;
            }
            Some(n)
        };
        let run = Run {
            stepping,
            epochs: whole(self, "epochs"),
            steps: whole(self, "steps"),
            steps_per_epoch: whole(self, "steps_per_epoch"),
        };
        if self.error_count() != errors_before {
            return None;
        }
        if let Some(problem) = run.problem() {
            self.error(
                Diagnostic::error(Code::InvalidCombination, call.span, problem)
                    .with_label("these numbers disagree")
                    .with_help(
                        "give two of `epochs`, `steps` and `steps_per_epoch`; optimc works out the third",
                    ),
            );
            return None;
        }
        Some(run)
    }

    /// Where `call` (checked as `run`) gives the run's length in schedule steps: the argument
    /// in the unit it steps in (`steps` of `per_step`), else the whole call (the length is
    /// worked out from two arguments).
    pub(super) fn run_length_span(&self, call: &ast::Call, run: Run) -> Span {
        let key = Run::params(run.stepping)[0];
        let given = match run.stepping {
            Stepping::PerStep => run.steps,
            Stepping::PerEpoch => run.epochs,
        };
        let by_name = call
            .args
            .iter()
            .find(|a| a.name.as_ref().is_some_and(|n| n.name == key));
        // The first positional argument is the length in the unit the call steps in.
        let by_position = call.args.first().filter(|a| a.name.is_none());
        match (given, by_name.or(by_position)) {
            (Some(_), Some(arg)) => arg.span(),
            _ => call.span,
        }
    }

    fn unknown_stepping(&mut self, name: &ast::Ident) {
        let word = name.name.as_str();
        let lower = word.to_ascii_lowercase();
        let help = if PER_STEP_SYNONYMS.contains(&lower.as_str()) {
            "optimc calls stepping after every optimizer step (every batch) `per_step`: \
             `run = per_step(steps = 10000)`"
                .to_string()
        } else if PER_EPOCH_SYNONYMS.contains(&lower.as_str()) {
            "write `run = per_epoch(epochs = 90)` to step the schedule once per epoch".to_string()
        } else if let Some(s) = did_you_mean(word, ["per_step", "per_epoch"]) {
            format!("did you mean `{s}`?")
        } else {
            "write `run = per_step(steps = ...)` to step the schedule after every optimizer step, \
             or `run = per_epoch(epochs = ...)` to step it once per epoch"
                .to_string()
        };
        self.error(
            Diagnostic::error(
                Code::UnknownEnumValue,
                name.span,
                format!("`{word}` is not a way to step the schedule"),
            )
            .with_label("expected `per_step` or `per_epoch`")
            .with_help(help),
        );
    }
}

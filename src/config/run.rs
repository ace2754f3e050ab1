//! The run a file declares: when its schedule steps (`run = per_step(...)` or
//! `run = per_epoch(...)`) and, where the file knows them, how long the run is and how many
//! optimizer steps an epoch has.

use serde::{Deserialize, Serialize};

/// When `scheduler.step()` is called: after every optimizer step (one batch: what PyTorch
/// Lightning calls `interval = "step"`, and what `OneCycleLR`, transformers' and timm's
/// per-update schedules expect), or once per epoch (the `torch.optim.lr_scheduler`
/// examples' default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stepping {
    /// `run = per_step(...)`: one schedule step after every optimizer step.
    PerStep,
    /// `run = per_epoch(...)`, and a file without `run`: one schedule step per epoch.
    PerEpoch,
}

impl Stepping {
    /// The name of one schedule step in output: `"step"` or `"epoch"`.
    pub fn unit(self) -> &'static str {
        match self {
            Stepping::PerStep => "step",
            Stepping::PerEpoch => "epoch",
        }
    }

    /// The name of the `run` call that declares it.
    pub fn call_name(self) -> &'static str {
        match self {
            Stepping::PerStep => "per_step",
            Stepping::PerEpoch => "per_epoch",
        }
    }

    /// The stepping that `run = NAME(...)` declares.
    pub fn from_call_name(name: &str) -> Option<Stepping> {
        match name {
            "per_step" => Some(Stepping::PerStep),
            "per_epoch" => Some(Stepping::PerEpoch),
            _ => None,
        }
    }
}

/// `run = per_step(steps = ..., epochs = ..., steps_per_epoch = ...)` (or `per_epoch`): the
/// numbers as written; [`Run::length`] is the run in schedule steps.
///
/// Any two of `epochs`, `steps` and `steps_per_epoch` give the third; given all three, they
/// agree (`steps = epochs × steps_per_epoch`), which the checker and the JSON/TOML import
/// check ([`Run::problem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub stepping: Stepping,
    /// The run's length in epochs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u64>,
    /// The run's length in optimizer steps (batches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// Optimizer steps (batches) in one epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_per_epoch: Option<u64>,
}

impl Run {
    /// The argument names of `per_step` and `per_epoch`, in positional order: the first is
    /// the length in the unit the call steps in.
    pub fn params(stepping: Stepping) -> &'static [&'static str] {
        match stepping {
            Stepping::PerStep => &["steps", "epochs", "steps_per_epoch"],
            Stepping::PerEpoch => &["epochs", "steps", "steps_per_epoch"],
        }
    }

    /// Optimizer steps per epoch: as declared, or `steps / epochs`.
    pub fn steps_per_epoch(&self) -> Option<u64> {
        self.steps_per_epoch.or(match (self.steps, self.epochs) {
            (Some(s), Some(e)) if e > 0 && s % e == 0 => Some(s / e),
            _ => None,
        })
    }

    /// The run's length in optimizer steps: as declared, or `epochs × steps_per_epoch`.
    pub fn total_steps(&self) -> Option<u64> {
        self.steps.or(match (self.epochs, self.steps_per_epoch) {
            (Some(e), Some(k)) => e.checked_mul(k),
            _ => None,
        })
    }

    /// The run's length in epochs: as declared, or `steps / steps_per_epoch` (when whole).
    pub fn total_epochs(&self) -> Option<u64> {
        self.epochs.or(match (self.steps, self.steps_per_epoch) {
            (Some(s), Some(k)) if k > 0 && s % k == 0 => Some(s / k),
            _ => None,
        })
    }

    /// The run's length in schedule steps (the unit of [`Run::stepping`]), where known.
    pub fn length(&self) -> Option<u64> {
        match self.stepping {
            Stepping::PerStep => self.total_steps(),
            Stepping::PerEpoch => self.total_epochs(),
        }
    }

    /// What is wrong with the numbers, if anything: a zero, three that disagree, or a run
    /// stepped per epoch whose steps are not a whole number of epochs.
    pub fn problem(&self) -> Option<String> {
        for (name, value) in [
            ("epochs", self.epochs),
            ("steps", self.steps),
            ("steps_per_epoch", self.steps_per_epoch),
        ] {
            if value == Some(0) {
                return Some(format!("`{name}` must be at least 1"));
            }
        }
        match (self.epochs, self.steps, self.steps_per_epoch) {
            (Some(e), Some(s), Some(k)) if e.checked_mul(k) != Some(s) => Some(format!(
                "`steps` = {s} is not `epochs` × `steps_per_epoch` = {e} × {k}; give two of the three"
            )),
            (Some(e), Some(s), None) if s % e != 0 => Some(format!(
                "`steps` = {s} is not a whole number of `epochs` = {e}; give `steps_per_epoch` instead of one of them"
            )),
            (None, Some(s), Some(k)) if self.stepping == Stepping::PerEpoch && s % k != 0 => {
                Some(format!(
                    "a run stepped per epoch has whole epochs, but `steps` = {s} is not a multiple of `steps_per_epoch` = {k}; give `epochs` instead"
                ))
            }
            _ => None,
        }
    }
}

/// The call as a file writes it: `per_step(steps = 10000, steps_per_epoch = 500)`.
impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<String> = Run::params(self.stepping)
            .iter()
            .filter_map(|&name| {
                let value = match name {
                    "epochs" => self.epochs,
                    "steps" => self.steps,
                    _ => self.steps_per_epoch,
                };
                value.map(|v| format!("{name} = {v}"))
            })
            .collect();
        write!(f, "{}({})", self.stepping.call_name(), args.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stepping: Stepping, epochs: Option<u64>, steps: Option<u64>, k: Option<u64>) -> Run {
        Run {
            stepping,
            epochs,
            steps,
            steps_per_epoch: k,
        }
    }

    #[test]
    fn any_two_numbers_give_the_third() {
        let r = run(Stepping::PerStep, Some(3), None, Some(500));
        assert_eq!(
            (r.length(), r.total_steps(), r.total_epochs()),
            (Some(1500), Some(1500), Some(3))
        );
        let r = run(Stepping::PerEpoch, None, Some(1500), Some(500));
        assert_eq!((r.length(), r.steps_per_epoch()), (Some(3), Some(500)));
        let r = run(Stepping::PerEpoch, Some(3), Some(1500), None);
        assert_eq!((r.length(), r.steps_per_epoch()), (Some(3), Some(500)));
        let r = run(Stepping::PerStep, Some(90), None, None);
        assert_eq!((r.length(), r.total_epochs()), (None, Some(90)));
        assert_eq!(run(Stepping::PerStep, None, None, None).length(), None);
    }

    #[test]
    fn a_run_is_written_as_its_call() {
        let r = run(Stepping::PerStep, Some(3), None, Some(500));
        assert_eq!(r.to_string(), "per_step(epochs = 3, steps_per_epoch = 500)");
        let r = run(Stepping::PerEpoch, Some(90), None, None);
        assert_eq!(r.to_string(), "per_epoch(epochs = 90)");
        assert_eq!(
            run(Stepping::PerStep, None, None, None).to_string(),
            "per_step()"
        );
    }

    #[test]
    fn disagreeing_numbers_are_a_problem() {
        assert_eq!(
            run(Stepping::PerStep, Some(3), Some(1500), Some(500)).problem(),
            None
        );
        for bad in [
            run(Stepping::PerStep, Some(3), Some(1501), Some(500)),
            run(Stepping::PerStep, Some(3), Some(1501), None),
            run(Stepping::PerEpoch, None, Some(1501), Some(500)),
            run(Stepping::PerEpoch, Some(0), None, None),
        ] {
            assert!(bad.problem().is_some(), "{bad:?}");
        }
        // Per step, a partial last epoch is fine.
        assert_eq!(
            run(Stepping::PerStep, None, Some(1501), Some(500)).problem(),
            None
        );
        // A huge product does not overflow.
        let huge = run(Stepping::PerStep, Some(u64::MAX), Some(1), Some(2));
        assert!(huge.problem().is_some());
        assert_eq!(
            run(Stepping::PerStep, Some(u64::MAX), None, Some(2)).length(),
            None
        );
    }
}

//! Recording a schedule over a horizon: every group's lr (and momentum, where a schedule cycles
//! it) at every epoch. `optimc trace` prints a [`Trace`] and `optimc plot` draws one
//! ([`crate::plot`]).
//!
//! ```
//! use optimc::{trace::Trace, Config};
//!
//! let config = Config::from_source("step.optim", r#"
//!     optimizer = sgd(lr = 0.1)
//!     schedule = step(step_size = 2, gamma = 0.5)
//! "#)?;
//! let trace = Trace::record(&config, 5, None)?;
//! assert_eq!(trace.groups, ["default"]);
//! assert_eq!(trace.lr[0], [0.1, 0.1, 0.05, 0.05, 0.025]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::config::{ScheduleConfig, WarmupClock};
use crate::limits::{MAX_EPOCHS, MAX_VALUES, MAX_WORK};
use crate::number::Num;
use crate::{Config, Schedule};

/// What a trace records: every group's lr and, where a schedule cycles it, momentum.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The group names, in declaration order.
    pub groups: Vec<String>,
    /// `lr[group][epoch]`: the lr in force during each epoch.
    pub lr: Vec<Vec<f64>>,
    /// `None` when no schedule cycles momentum; else `momentum[group]` is the momentum (or
    /// `betas[0]`) of each epoch for the groups whose schedule cycles it, `None` for the others.
    pub momentum: Option<Vec<Option<Vec<f64>>>>,
}

/// Why a schedule cannot be traced over the horizon asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// More than [`MAX_EPOCHS`] epochs.
    #[error("--epochs {epochs} is more than the {MAX_EPOCHS} optimc traces")]
    TooManyEpochs { epochs: u64 },
    /// A `plateau` needs a metric each epoch and none was given.
    #[error("the schedule uses `plateau`, which needs a metric each epoch: pass --metrics FILE (a JSON array or one number per line)")]
    NeedsMetrics,
    /// Fewer metrics than the steps between the epochs.
    #[error("--metrics has {have} values but tracing {epochs} epochs needs {need}")]
    TooFewMetrics { have: usize, epochs: u64, need: u64 },
    /// More values (epochs × columns) than [`MAX_VALUES`].
    #[error("tracing {epochs} epochs of {columns} columns is {values} values; optimc traces at most {MAX_VALUES}: pass a smaller --epochs")]
    TooManyValues {
        epochs: u64,
        columns: u64,
        values: u64,
    },
    /// More schedule and lambda operations than [`MAX_WORK`].
    #[error("tracing {epochs} epochs would run about {work} schedule operations ({per_epoch} per epoch, most of them in lambdas); optimc runs at most {MAX_WORK}: pass a smaller --epochs")]
    TooMuchWork {
        epochs: u64,
        work: u64,
        per_epoch: u64,
    },
    /// A `one_cycle` would step past its `total_steps`, where PyTorch raises.
    #[error("one_cycle has total_steps = {total_steps}, so it can be traced for at most {} epochs (PyTorch raises after that)", total_steps + 1)]
    PastOneCycle { total_steps: u64 },
}

/// Why a metrics file could not be read as numbers.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// Text starting with `[` that is not a JSON array of numbers.
    #[error("expected a JSON array of numbers: {0}")]
    Json(String),
    /// A line (1-based) that is not a number.
    #[error("line {line}: `{text}` is not a number")]
    NotANumber { line: usize, text: String },
    /// A line (1-based) whose number is too large for an f64.
    #[error(
        "line {line}: `{text}` is too large for a number (write `inf` for an infinite metric)"
    )]
    OutOfRange { line: usize, text: String },
}

impl Trace {
    /// Runs the schedules of `config` for `epochs` epochs: at each epoch the lr in force is
    /// read, then the schedule steps (with the epoch's metric, for schedules with a `plateau`;
    /// `metrics[e]` is the metric at the end of epoch `e`).
    ///
    /// Refused (see [`TraceError`]): more than [`MAX_EPOCHS`] epochs, a `plateau` without
    /// enough metrics, a `one_cycle` stepped past its `total_steps`.
    pub fn record(
        config: &Config,
        epochs: u64,
        metrics: Option<&[f64]>,
    ) -> Result<Trace, TraceError> {
        check_horizon(config, epochs, metrics)?;
        Ok(record_unchecked(config, epochs, metrics))
    }

    /// How many epochs were recorded.
    pub fn epochs(&self) -> usize {
        self.lr.first().map_or(0, Vec::len)
    }
}

fn check_horizon(config: &Config, epochs: u64, metrics: Option<&[f64]>) -> Result<(), TraceError> {
    if epochs > MAX_EPOCHS {
        return Err(TraceError::TooManyEpochs { epochs });
    }
    within_budget(config, epochs)?;
    let needs_metric = schedules(config).any(ScheduleConfig::needs_metric);
    if needs_metric {
        let need = epochs.saturating_sub(1);
        match metrics {
            None => return Err(TraceError::NeedsMetrics),
            Some(m) if (m.len() as u64) < need => {
                return Err(TraceError::TooFewMetrics {
                    have: m.len(),
                    epochs,
                    need,
                })
            }
            _ => {}
        }
    }
    if let Some(total_steps) = one_cycle_limit(config) {
        if epochs > total_steps + 1 {
            return Err(TraceError::PastOneCycle { total_steps });
        }
    }
    Ok(())
}

/// Refuses traces whose output or work is out of proportion (many groups, costly lambdas).
fn within_budget(config: &Config, epochs: u64) -> Result<(), TraceError> {
    let groups = config.groups.len() as u64;
    let columns = if schedules(config).any(ScheduleConfig::cycles_momentum) {
        2 * groups
    } else {
        groups
    };
    let values = epochs.saturating_mul(columns);
    if values > MAX_VALUES {
        return Err(TraceError::TooManyValues {
            epochs,
            columns,
            values,
        });
    }
    let per_epoch = work_per_step(config);
    let work = epochs.saturating_mul(per_epoch);
    if work > MAX_WORK {
        return Err(TraceError::TooMuchWork {
            epochs,
            work,
            per_epoch,
        });
    }
    Ok(())
}

/// Roughly what one step of `config`'s schedules costs, in schedule operations (at least 1):
/// what [`MAX_WORK`] bounds, with the number of steps.
pub(crate) fn work_per_step(config: &Config) -> u64 {
    let groups = config.groups.len() as u64;
    // The file's schedule runs once per group; a group's own schedule once.
    config
        .schedule
        .as_ref()
        .map_or(0, |s| step_cost(s).saturating_mul(groups))
        .saturating_add(
            config
                .groups
                .iter()
                .filter_map(|g| g.schedule.as_ref())
                .map(step_cost)
                .fold(0, u64::saturating_add),
        )
        .max(1)
}

/// Roughly what one step of a schedule costs: one per schedule, plus its lambdas' operations.
fn step_cost(s: &ScheduleConfig) -> u64 {
    let own = match s {
        ScheduleConfig::Lambda { lr_lambda }
        | ScheduleConfig::Multiplicative { lr_lambda }
        | ScheduleConfig::Absolute { lr_lambda } => lr_lambda.ops() as u64,
        ScheduleConfig::Cyclic {
            scale_fn: Some(f), ..
        } => f.ops() as u64,
        s => s
            .children()
            .iter()
            .map(step_cost)
            .fold(0, u64::saturating_add),
    };
    own.saturating_add(1)
}

/// Every schedule of the file: the file's own, then each group's.
fn schedules(config: &Config) -> impl Iterator<Item = &ScheduleConfig> {
    config
        .schedule
        .iter()
        .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()))
}

/// The shortest `one_cycle` in the file, whose `total_steps` bounds how far it can run.
fn one_cycle_limit(config: &Config) -> Option<u64> {
    fn walk(s: &ScheduleConfig) -> Option<u64> {
        match s {
            ScheduleConfig::OneCycle { total_steps, .. } => Some(*total_steps),
            // `then`'s steps are `then_every` apart, and after the warmup under `after`.
            ScheduleConfig::Warmup {
                steps,
                then,
                clock,
                then_every,
                ..
            } => walk(then).map(|limit| {
                let limit = limit.saturating_mul(*then_every);
                match clock {
                    WarmupClock::After => limit.saturating_add(*steps),
                    WarmupClock::Overlap | WarmupClock::Follow => limit,
                }
            }),
            s => s.children().iter().filter_map(walk).min(),
        }
    }
    schedules(config).filter_map(walk).min()
}

fn record_unchecked(config: &Config, epochs: u64, metrics: Option<&[f64]>) -> Trace {
    let mut schedule = Schedule::new(config);
    let groups: Vec<String> = config.groups.iter().map(|g| g.name.clone()).collect();
    let n = groups.len();
    let capacity = epochs as usize;
    let mut lr = vec![Vec::with_capacity(capacity); n];
    let cycles = schedule.cycles_momentum();
    let mut momentum: Vec<Option<Vec<f64>>> = (0..n)
        .map(|g| (cycles && schedule.momentum(g).is_some()).then(|| Vec::with_capacity(capacity)))
        .collect();
    for e in 0..epochs {
        for (g, lrs) in lr.iter_mut().enumerate() {
            lrs.push(schedule.lrs()[g]);
            if let Some(m) = &mut momentum[g] {
                m.push(schedule.momentum(g).unwrap_or(f64::NAN));
            }
        }
        if e + 1 == epochs {
            break;
        }
        match metrics.and_then(|m| m.get(e as usize)) {
            Some(&metric) if schedule.needs_metric() => schedule.step_with(metric),
            _ => schedule.step_counting_plateaus(),
        }
    }
    Trace {
        groups,
        lr,
        momentum: cycles.then_some(momentum),
    }
}

/// Reads metrics written as a JSON array of numbers, or as one number per line (blank lines
/// skipped). Both take the same values: a finite number (one too large for an f64, `1e999`,
/// is refused), or inf, -inf or NaN written as [`crate::number`] names them (in JSON as
/// strings, `"NaN"`; in text bare, `NaN`; any case, `inf` or `infinity`).
///
/// ```
/// assert_eq!(optimc::trace::parse_metrics("[1, 0.5]"), Ok(vec![1.0, 0.5]));
/// assert_eq!(optimc::trace::parse_metrics("1\n\n0.5\n"), Ok(vec![1.0, 0.5]));
/// assert!(optimc::trace::parse_metrics("1\nnope").is_err());
/// assert_eq!(optimc::trace::parse_metrics("[\"inf\"]"), optimc::trace::parse_metrics("inf"));
/// assert!(optimc::trace::parse_metrics("1e999").is_err());
/// ```
pub fn parse_metrics(text: &str) -> Result<Vec<f64>, MetricsError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str::<Vec<Num<f64>>>(trimmed)
            .map(|v| v.into_iter().map(|n| n.0).collect())
            .map_err(|e| MetricsError::Json(e.to_string()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let (line, text) = (i + 1, l.trim());
            if let Some(v) = crate::number::parse_non_finite(text) {
                return Ok(v);
            }
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                // `1e999`: refused as in JSON, rather than read as inf.
                Ok(_) => Err(MetricsError::OutOfRange {
                    line,
                    text: text.to_string(),
                }),
                Err(_) => Err(MetricsError::NotANumber {
                    line,
                    text: text.to_string(),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: &str) -> Config {
        Config::from_source("test.optim", source).unwrap()
    }

    #[test]
    fn refuses_what_pytorch_would_not_run() {
        let plateau = config("optimizer = sgd(lr = 0.1)\nschedule = plateau(patience = 0)");
        assert_eq!(
            Trace::record(&plateau, 5, None),
            Err(TraceError::NeedsMetrics)
        );
        assert_eq!(
            Trace::record(&plateau, 5, Some(&[1.0, 1.0])),
            Err(TraceError::TooFewMetrics {
                have: 2,
                epochs: 5,
                need: 4
            })
        );
        let trace = Trace::record(&plateau, 5, Some(&[1.0, 1.0, 1.0, 1.0])).unwrap();
        // Patience 0 and a metric that never improves: every step after the first cuts the lr.
        let expected = [0.1, 0.1, 0.01, 0.001, 0.0001];
        assert_eq!(trace.lr[0].len(), expected.len());
        for (lr, want) in trace.lr[0].iter().zip(expected) {
            assert!((lr - want).abs() <= 1e-12 * want, "{:?}", trace.lr[0]);
        }

        let one_cycle = config(
            "optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = one_cycle(max_lr = 1, total_steps = 10)",
        );
        assert!(Trace::record(&one_cycle, 11, None).is_ok());
        assert_eq!(
            Trace::record(&one_cycle, 12, None),
            Err(TraceError::PastOneCycle { total_steps: 10 })
        );
        let momentum = Trace::record(&one_cycle, 3, None)
            .unwrap()
            .momentum
            .unwrap();
        assert_eq!(momentum[0].as_ref().unwrap()[0], 0.95);

        let constant = config("optimizer = sgd(lr = 0.1)");
        assert_eq!(
            Trace::record(&constant, MAX_EPOCHS + 1, None),
            Err(TraceError::TooManyEpochs {
                epochs: MAX_EPOCHS + 1
            })
        );
        let empty = Trace::record(&constant, 0, None).unwrap();
        assert_eq!((empty.epochs(), empty.momentum), (0, None));
    }

    #[test]
    fn text_and_json_metrics_take_the_same_values() {
        let same = |text: &str, json: &str| {
            let (a, b) = (parse_metrics(text), parse_metrics(json));
            match (&a, &b) {
                (Ok(a), Ok(b)) => {
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(a), bits(b), "{text:?} vs {json:?}");
                }
                (Err(_), Err(_)) => {}
                _ => panic!("{text:?} gives {a:?}, {json:?} gives {b:?}"),
            }
        };
        same("1\n-0.5\n", "[1, -0.5]");
        same(
            "inf\n-inf\nNaN\n-NaN\n",
            r#"["inf", "-inf", "NaN", "-NaN"]"#,
        );
        same("nan\nInfinity\n", r#"["nan", "Infinity"]"#);
        same("1e999\n", "[1e999]");
        same("-1e999\n", "[-1e999]");
        same("1e-999\n", "[1e-999]");
        same("nope\n", r#"["nope"]"#);
        assert!(parse_metrics("1e999").is_err());
        assert_eq!(
            parse_metrics("1\n1e999"),
            Err(MetricsError::OutOfRange {
                line: 2,
                text: "1e999".to_string()
            })
        );
    }

    #[test]
    fn metrics_errors_say_where() {
        assert_eq!(
            parse_metrics("1\n\n  x  \n"),
            Err(MetricsError::NotANumber {
                line: 3,
                text: "x".to_string()
            })
        );
        assert!(matches!(
            parse_metrics("[1, \"a\"]"),
            Err(MetricsError::Json(_))
        ));
    }
}

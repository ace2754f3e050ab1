//! `optimc trace FILE --epochs N [--metrics M] [--format table|csv|json]`

use super::{cannot_run, load, read_file, Format, OK};
use optimc::config::{format_number, ScheduleConfig};
use optimc::{Config, Schedule};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim file.
    file: PathBuf,
    /// How many epochs (scheduler steps) to trace.
    #[arg(long)]
    epochs: u64,
    /// The metric of each epoch, for `plateau`: a JSON array of numbers, or one number per line.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// The most epochs a trace prints; more is almost certainly a typo and would only fill the disk.
const MAX_EPOCHS: u64 = 10_000_000;

/// What a trace records: every group's lr and, where a schedule cycles it, momentum.
pub struct Trace {
    pub groups: Vec<String>,
    pub lr: Vec<Vec<f64>>,
    pub momentum: Option<Vec<Option<Vec<f64>>>>,
}

pub fn run(args: Args) -> u8 {
    if args.epochs > MAX_EPOCHS {
        return cannot_run(format!(
            "--epochs {} is more than the {MAX_EPOCHS} optimc traces",
            args.epochs
        ));
    }
    let config = match load(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let metrics = match &args.metrics {
        Some(path) => match read_metrics(path) {
            Ok(m) => Some(m),
            Err(message) => return cannot_run(message),
        },
        None => None,
    };
    let needs_metric = config
        .schedule
        .iter()
        .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()))
        .any(ScheduleConfig::needs_metric);
    if needs_metric {
        match &metrics {
            None => return cannot_run(format!("{} uses `plateau`, which needs a metric each epoch: pass --metrics FILE (a JSON array or one number per line)", args.file.display())),
            Some(m) if (m.len() as u64) < args.epochs.saturating_sub(1) => {
                return cannot_run(format!("--metrics has {} values but tracing {} epochs needs {}", m.len(), args.epochs, args.epochs.saturating_sub(1)));
            }
            _ => {}
        }
    }
    if let Some(limit) = one_cycle_limit(&config) {
        if args.epochs > limit + 1 {
            return cannot_run(format!(
                "one_cycle has total_steps = {limit}, so it can be traced for at most {} epochs (PyTorch raises after that)",
                limit + 1
            ));
        }
    }
    if let Err(message) = within_budget(&config, args.epochs) {
        return cannot_run(message);
    }
    let trace = record(&config, args.epochs, metrics.as_deref());
    let text = match args.format {
        Format::Table => table(&trace),
        Format::Csv => csv(&trace),
        Format::Json => json(&trace),
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        // A closed pipe (e.g. `| head`) is not an error worth reporting.
        return OK;
    }
    OK
}

/// The most values a trace holds and prints (epochs × columns): a few hundred megabytes of text.
const MAX_VALUES: u64 = 10_000_000;

/// The most work a trace does, in schedule steps and lambda operations: a few seconds.
const MAX_WORK: u64 = 1_000_000_000;

/// Refuses traces whose output or work is out of proportion (many groups, costly lambdas).
fn within_budget(config: &Config, epochs: u64) -> Result<(), String> {
    let groups = config.groups.len() as u64;
    let schedules = || {
        config
            .schedule
            .iter()
            .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()))
    };
    let columns = if schedules().any(ScheduleConfig::cycles_momentum) {
        2 * groups
    } else {
        groups
    };
    let values = epochs.saturating_mul(columns);
    if values > MAX_VALUES {
        return Err(format!(
            "tracing {epochs} epochs of {columns} columns is {values} values; optimc traces at most {MAX_VALUES}: pass a smaller --epochs"
        ));
    }
    // The file's schedule runs once per group; a group's own schedule once.
    let per_epoch = config
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
        .max(1);
    let work = epochs.saturating_mul(per_epoch);
    if work > MAX_WORK {
        return Err(format!(
            "tracing {epochs} epochs would run about {work} schedule operations ({per_epoch} per epoch, most of them in lambdas); optimc runs at most {MAX_WORK}: pass a smaller --epochs"
        ));
    }
    Ok(())
}

/// Roughly what one step of a schedule costs: one per schedule, plus its lambdas' operations.
fn step_cost(s: &ScheduleConfig) -> u64 {
    let own = match s {
        ScheduleConfig::Lambda { lr_lambda } | ScheduleConfig::Multiplicative { lr_lambda } => {
            lr_lambda.ops() as u64
        }
        ScheduleConfig::Cyclic {
            scale_fn: Some(f), ..
        } => f.ops() as u64,
        ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } => {
            children.iter().map(step_cost).fold(0, u64::saturating_add)
        }
        _ => 0,
    };
    own.saturating_add(1)
}

/// The shortest `one_cycle` in the file, whose `total_steps` bounds how far it can run.
fn one_cycle_limit(config: &Config) -> Option<u64> {
    fn walk(s: &ScheduleConfig, min: &mut Option<u64>) {
        match s {
            ScheduleConfig::OneCycle { total_steps, .. } => {
                *min = Some(min.map_or(*total_steps, |m| m.min(*total_steps)))
            }
            ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } => {
                children.iter().for_each(|c| walk(c, min))
            }
            _ => {}
        }
    }
    let mut min = None;
    for s in config
        .schedule
        .iter()
        .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()))
    {
        walk(s, &mut min);
    }
    min
}

/// Runs the schedule: at each epoch the lr in force is read, then the schedule steps.
pub fn record(config: &Config, epochs: u64, metrics: Option<&[f64]>) -> Trace {
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
            _ => schedule.step(),
        }
    }
    Trace {
        groups,
        lr,
        momentum: cycles.then_some(momentum),
    }
}

fn read_metrics(path: &Path) -> Result<Vec<f64>, String> {
    let bytes = read_file(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str::<Vec<f64>>(trimmed)
            .map_err(|e| format!("{}: expected a JSON array of numbers: {e}", path.display()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.trim().parse::<f64>().map_err(|_| {
                format!(
                    "{}:{}: `{}` is not a number",
                    path.display(),
                    i + 1,
                    l.trim()
                )
            })
        })
        .collect()
}

fn columns(trace: &Trace) -> Vec<(String, &[f64])> {
    let mut cols: Vec<(String, &[f64])> = trace
        .groups
        .iter()
        .zip(&trace.lr)
        .map(|(g, v)| (format!("{g} lr"), v.as_slice()))
        .collect();
    if let Some(m) = &trace.momentum {
        for (g, v) in trace.groups.iter().zip(m) {
            if let Some(v) = v {
                cols.push((format!("{g} momentum"), v.as_slice()));
            }
        }
    }
    cols
}

fn table(trace: &Trace) -> String {
    let cols = columns(trace);
    let epochs = trace.lr.first().map_or(0, Vec::len);
    // Each cell is formatted twice (for the widths, then for the text) rather than held: a
    // long trace would need a String per cell.
    let widths: Vec<usize> = cols
        .iter()
        .map(|(h, v)| {
            v.iter()
                .map(|x| compact(*x).len())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let epoch_width = "epoch".len().max(epochs.to_string().len());
    let mut out = String::new();
    let _ = write!(out, "{:>epoch_width$}", "epoch");
    for ((h, _), w) in cols.iter().zip(&widths) {
        let _ = write!(out, "  {h:>w$}");
    }
    out.push('\n');
    for e in 0..epochs {
        let _ = write!(out, "{e:>epoch_width$}");
        for ((_, v), w) in cols.iter().zip(&widths) {
            let _ = write!(out, "  {:>w$}", compact(v[e]));
        }
        out.push('\n');
    }
    out
}

/// A value rounded to 6 significant digits for the table (csv and json keep every digit).
fn compact(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format_number(v);
    }
    let rounded: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    format_number(rounded)
}

fn csv(trace: &Trace) -> String {
    let cols = columns(trace);
    let epochs = trace.lr.first().map_or(0, Vec::len);
    let mut out = String::from("epoch");
    for (h, _) in &cols {
        let _ = write!(out, ",{}", h.replace(' ', "_"));
    }
    out.push('\n');
    for e in 0..epochs {
        let _ = write!(out, "{e}");
        for (_, v) in &cols {
            let _ = write!(out, ",{:?}", v[e]);
        }
        out.push('\n');
    }
    out
}

fn json(trace: &Trace) -> String {
    // Serialized from the trace itself: a `serde_json::Value` would take 32 bytes per number.
    #[derive(serde::Serialize)]
    struct Json<'a> {
        groups: &'a [String],
        lr: &'a [Vec<f64>],
        momentum: &'a Option<Vec<Option<Vec<f64>>>>,
    }
    let value = Json {
        groups: &trace.groups,
        lr: &trace.lr,
        momentum: &trace.momentum,
    };
    let mut s = serde_json::to_string(&value).unwrap_or_default();
    s.push('\n');
    s
}

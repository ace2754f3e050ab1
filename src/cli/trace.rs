//! `optimc trace FILE [--epochs N] [--metrics M] [--format table|csv|json]`: the numbers come from
//! `optimc::trace`; the table ends with one sparkline per group (`optimc::plot::sparkline`).

use super::output::{self, Stdout};
use super::{cannot_run, load, read_file, Format, OK};
use optimc::diagnostic::text::format_number;
use optimc::number::Nums;
use optimc::plot::Scale;
use optimc::trace::{parse_metrics, MetricsError, Trace, TraceError};
use optimc::Config;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim file.
    file: PathBuf,
    /// How many epochs (scheduler steps) to trace. Default: the run the file declares
    /// (`run = per_step(steps = N)` or `run = per_epoch(epochs = N)`).
    #[arg(long, visible_alias = "steps")]
    epochs: Option<u64>,
    /// The metric of each epoch, for `plateau`: a JSON array of numbers, or one number per line.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Output format; `table` ends with a sparkline of each group's lr.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: Args) -> u8 {
    let (config, metrics) = match load_with_metrics(&args.file, args.metrics.as_deref()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let epochs = match horizon(&args.file, &config, args.epochs) {
        Ok(epochs) => epochs,
        Err(code) => return code,
    };
    let trace = match Trace::record(&config, epochs, metrics.as_deref()) {
        Ok(trace) => trace,
        Err(e) => return cannot_trace(&args.file, &e),
    };
    let unit = config.stepping().unit();
    // The unit is written into the JSON only where the file declares its run, so that the
    // output of a file without `run` stays what it was.
    let json_unit = config.run.is_some().then_some(unit);
    let mut out = Stdout::lock();
    let written = match args.format {
        Format::Table => table(&trace, unit, &mut out),
        Format::Csv => csv(&trace, unit, &mut out),
        Format::Json => json(&trace, json_unit, &mut out),
    };
    output::finish(written.and_then(|()| out.flush()), OK)
}

/// How many schedule steps to trace or plot: `--epochs` (`--steps`) if given, else the length
/// of the run the file declares; `Err` holds the exit code after saying that neither is there.
pub fn horizon(file: &Path, config: &Config, flag: Option<u64>) -> Result<u64, u8> {
    if let Some(n) = flag {
        return Ok(n);
    }
    config.run_length().ok_or_else(|| {
        let unit = config.stepping().unit();
        cannot_run(format!(
            "{}: how many {unit}s? pass --epochs N, or declare the run's length in the file: `run = {}({unit}s = N)`",
            file.display(),
            config.stepping().call_name(),
        ))
    })
}

/// Loads and checks `file`, and reads `--metrics` if given: what `trace` and `plot` start from.
pub fn load_with_metrics(
    file: &Path,
    metrics: Option<&Path>,
) -> Result<(Config, Option<Vec<f64>>), u8> {
    let config = load(file)?;
    let metrics = match metrics {
        Some(path) => Some(read_metrics(path).map_err(cannot_run)?),
        None => None,
    };
    Ok((config, metrics))
}

/// Reports why `file` cannot be traced over the horizon asked for.
pub fn cannot_trace(file: &Path, error: &TraceError) -> u8 {
    match error {
        TraceError::NeedsMetrics => cannot_run(format!("{}: {error}", file.display())),
        _ => cannot_run(error),
    }
}

fn read_metrics(path: &Path) -> Result<Vec<f64>, String> {
    let bytes = read_file(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    parse_metrics(&text).map_err(|e| match e {
        MetricsError::NotANumber { line, text } => {
            format!("{}:{line}: `{text}` is not a number", path.display())
        }
        e => format!("{}: {e}", path.display()),
    })
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

fn table(trace: &Trace, unit: &str, out: &mut impl Write) -> io::Result<()> {
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
    let epoch_width = unit.len().max(epochs.to_string().len());
    write!(out, "{unit:>epoch_width$}")?;
    for ((h, _), w) in cols.iter().zip(&widths) {
        write!(out, "  {h:>w$}")?;
    }
    writeln!(out)?;
    for e in 0..epochs {
        write!(out, "{e:>epoch_width$}")?;
        for ((_, v), w) in cols.iter().zip(&widths) {
            write!(out, "  {:>w$}", compact(v[e]))?;
        }
        writeln!(out)?;
    }
    out.write_all(sparklines(trace, unit).as_bytes())
}

/// The most characters a sparkline takes: longer traces are resampled to this width.
const SPARKLINE_WIDTH: usize = 60;

/// Below the table: every group's lr as a sparkline on a log scale, with its range.
fn sparklines(trace: &Trace, unit: &str) -> String {
    let epochs = trace.epochs();
    if epochs == 0 {
        return String::new();
    }
    let mut out = String::new();
    let marks = epochs.min(SPARKLINE_WIDTH);
    let per_mark = if marks == epochs {
        format!("one mark per {unit}")
    } else {
        format!("{marks} marks over {epochs} {unit}s")
    };
    let _ = writeln!(out, "\nlr, log scale ({per_mark}):");
    let name_width = trace
        .groups
        .iter()
        .map(|g| g.chars().count())
        .max()
        .unwrap_or(0);
    for (group, lr) in trace.groups.iter().zip(&trace.lr) {
        let (min, max) = lr
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let (line, scale) = optimc::plot::sparkline(lr, SPARKLINE_WIDTH);
        let mut parts = Vec::new();
        if min == max {
            parts.push(compact(min));
        } else if min < max {
            parts.push(format!("{} .. {}", compact(min), compact(max)));
        }
        // The values that are drawn with their own mark, not a bar.
        for (mark, name, is) in optimc::plot::NON_FINITE_MARKS {
            if lr.iter().any(|&v| is(v)) {
                parts.push(format!("{mark} {name}"));
            }
        }
        let mut range = parts.join(", ");
        if scale == Scale::Linear {
            range.push_str(" (linear scale: some lrs are negative)");
        }
        let _ = writeln!(out, "  {group:<name_width$}  {line}  {range}");
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

fn csv(trace: &Trace, unit: &str, out: &mut impl Write) -> io::Result<()> {
    let cols = columns(trace);
    let epochs = trace.lr.first().map_or(0, Vec::len);
    write!(out, "{unit}")?;
    for (h, _) in &cols {
        write!(out, ",{}", h.replace(' ', "_"))?;
    }
    writeln!(out)?;
    for e in 0..epochs {
        write!(out, "{e}")?;
        for (_, v) in &cols {
            match optimc::number::non_finite_name(v[e]) {
                Some(name) => write!(out, ",{name}")?,
                None => write!(out, ",{:?}", v[e])?,
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

fn json(trace: &Trace, unit: Option<&str>, out: &mut impl Write) -> io::Result<()> {
    // Serialized from the trace itself: a `serde_json::Value` would take 32 bytes per number.
    // Numbers as `optimc::number` writes them: an infinite or NaN lr is a string, not `null`.
    #[derive(serde::Serialize)]
    struct Json<'a> {
        /// What one entry of each list is: "step" or "epoch" (only with a declared run).
        #[serde(skip_serializing_if = "Option::is_none")]
        unit: Option<&'a str>,
        groups: &'a [String],
        lr: Vec<Nums<'a, f64>>,
        momentum: Option<Vec<Option<Nums<'a, f64>>>>,
    }
    let value = Json {
        unit,
        groups: &trace.groups,
        lr: trace.lr.iter().map(|v| Nums(v)).collect(),
        momentum: trace
            .momentum
            .as_ref()
            .map(|m| m.iter().map(|v| v.as_deref().map(Nums)).collect()),
    };
    serde_json::to_writer(&mut *out, &value)?;
    writeln!(out)
}

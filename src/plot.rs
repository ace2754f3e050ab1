//! Drawing a schedule: `optimc plot` as a library. A [`Trace`] of the configuration is drawn as
//! one curve per group on a log-scale lr axis, with the schedule's milestones as dashed vertical
//! lines and, when a schedule cycles momentum, the momentum of those groups on a second panel.
//!
//! ```
//! use optimc::{plot::{self, PlotOptions}, Config};
//!
//! let config = Config::from_source("finetune.optim", r#"
//!     optimizer = sgd(lr = 0.1, momentum = 0.9)
//!     group backbone { params = "backbone.*", lr = 0.01 }
//!     group head     { params = "head.*" }
//!     schedule = multistep(milestones = [30, 80], gamma = 0.1)
//! "#)?;
//! let options = PlotOptions::new(100).title("finetune.optim");
//! let svg = plot::render_svg(&config, &options)?;
//! assert!(svg.starts_with("<svg"));
//! assert_eq!(plot::milestones(&config, 100).epochs, [30.0, 80.0]);
//! let png = plot::render_png(&config, &options.size(640, 400))?;
//! assert!(png.starts_with(b"\x89PNG"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The lr axis is logarithmic, so an lr of 0 (a `cosine` down to `eta_min = 0`, say) has no
//! place on it: such values are drawn at a floor a decade below the smallest positive lr, and
//! the axis title says so. When some finite lr is negative (a lambda gone wrong, most likely)
//! the axis is linear instead, and its title says that. An lr that is not finite is drawn at the
//! top edge (inf) or the bottom edge (-inf, NaN), over a shaded band, and the title says so.

use crate::config::{ScheduleConfig, WarmupClock};
use crate::diagnostic::text::short;
use crate::limits::{MAX_MILESTONES, MAX_SIDE, MIN_SIDE};
use crate::trace::{Trace, TraceError};
use crate::Config;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::sync::Once;

/// The font every label is drawn with, embedded so that plots render the same on machines
/// without system fonts (DejaVu Sans; see `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";

/// One colour per group, in order (the Tableau 10 palette), then again from the start.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// On the log axis, lrs below this (and 0) are drawn at the floor: an lr decayed this far is 0
/// for any purpose, and its logarithm would leave the range of normal floats.
const LOG_FLOOR: f64 = 1e-300;

const MILESTONE_COLOR: RGBColor = RGBColor(120, 120, 120);
/// The shading of epochs where some lr is not finite.
const NON_FINITE_COLOR: RGBAColor = RGBAColor(220, 60, 60, 0.18);
const CURVE_WIDTH: u32 = 2;

/// What to plot and how big: the horizon, the metrics a `plateau` needs, a title and the size.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotOptions<'a> {
    /// How many epochs (scheduler steps) to trace.
    pub epochs: u64,
    /// The metric at the end of each epoch, for schedules with a `plateau`.
    pub metrics: Option<&'a [f64]>,
    /// The start of the title (a file name, say); the optimizer's name follows it.
    pub title: Option<&'a str>,
    /// Width and height in pixels (SVG user units), each within `MIN_SIDE..=MAX_SIDE`.
    pub width: u32,
    pub height: u32,
}

impl<'a> PlotOptions<'a> {
    /// `epochs` epochs, no metrics, no title, 1000 × 600 pixels.
    pub fn new(epochs: u64) -> Self {
        PlotOptions {
            epochs,
            metrics: None,
            title: None,
            width: 1000,
            height: 600,
        }
    }

    /// With the metrics a `plateau` reads, one per epoch.
    pub fn metrics(self, metrics: &'a [f64]) -> Self {
        PlotOptions {
            metrics: Some(metrics),
            ..self
        }
    }

    /// With a title (the optimizer's name is appended).
    pub fn title(self, title: &'a str) -> Self {
        PlotOptions {
            title: Some(title),
            ..self
        }
    }

    /// With a size in pixels.
    pub fn size(self, width: u32, height: u32) -> Self {
        PlotOptions {
            width,
            height,
            ..self
        }
    }
}

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The schedule cannot be traced over the horizon (see [`TraceError`]).
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// Nothing to draw.
    #[error("--epochs must be at least 1 to plot")]
    NoEpochs,
    /// A side outside `MIN_SIDE..=MAX_SIDE`.
    #[error(
        "a plot of {width}x{height} pixels: each side must be between {MIN_SIDE} and {MAX_SIDE}"
    )]
    Size { width: u32, height: u32 },
    /// The drawing library failed (not expected with the embedded font).
    #[error("cannot draw the plot: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("cannot encode the PNG: {0}")]
    Png(String),
}

/// Draws the plot of `config` as an SVG document.
pub fn render_svg(config: &Config, options: &PlotOptions) -> Result<String, PlotError> {
    let plot = Prepared::new(config, options)?;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (options.width, options.height)).into_drawing_area();
        plot.draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Draws the plot of `config` as PNG-encoded bytes (8-bit RGB).
pub fn render_png(config: &Config, options: &PlotOptions) -> Result<Vec<u8>, PlotError> {
    let plot = Prepared::new(config, options)?;
    let (width, height) = (options.width, options.height);
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        plot.draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&rgb))
        .map_err(|e| PlotError::Png(e.to_string()))?;
    Ok(png)
}

/// The epochs where a schedule of `config` has a milestone, within the first `epochs` epochs
/// (after epoch 0, up to epoch `epochs - 1`), sorted and without repeats.
#[derive(Clone, Debug, PartialEq)]
pub struct Milestones {
    /// The epochs (fractional for `one_cycle`, whose phases end between steps); empty when
    /// there are too many to draw.
    pub epochs: Vec<f64>,
    /// Whether there are more than [`MAX_MILESTONES`] (and `epochs` was left empty).
    pub too_many: bool,
}

/// The milestones of every schedule of `config` within `epochs` epochs: `step`'s every
/// `step_size`, `multistep`'s and `sequence`'s milestones, `cosine_restarts`' restarts and the
/// ends of `one_cycle`'s phases. Those of a `sequence`'s children are counted from the child's
/// start, as PyTorch's `SequentialLR` does; those of a `chain`'s children all apply.
pub fn milestones(config: &Config, epochs: u64) -> Milestones {
    let mut found = Found::default();
    let file_schedule_used = config.groups.iter().any(|g| g.schedule.is_none());
    let used = config
        .schedule
        .iter()
        .filter(|_| file_schedule_used)
        .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()));
    let horizon = epochs as f64;
    for schedule in used {
        walk(schedule, 0.0, horizon, &mut found);
    }
    found.epochs.sort_by(f64::total_cmp);
    found.epochs.dedup();
    let too_many = found.full || found.epochs.len() > MAX_MILESTONES;
    if too_many {
        found.epochs.clear();
    }
    Milestones {
        epochs: found.epochs,
        too_many,
    }
}

#[derive(Default)]
struct Found {
    epochs: Vec<f64>,
    /// Set when more milestones were found than could be drawn; the search then stops.
    full: bool,
}

impl Found {
    /// Keeps `start + at` if it falls in `(0, end)`; says whether later milestones of a
    /// periodic series are still worth looking for.
    fn push(&mut self, start: f64, at: f64, end: f64) -> bool {
        let epoch = start + at;
        if epoch.is_nan() || epoch >= end {
            return false;
        }
        if epoch > 0.0 {
            // Repeats are only removed at the end, so allow for some before calling it full.
            if self.epochs.len() >= 4 * MAX_MILESTONES {
                self.full = true;
                return false;
            }
            self.epochs.push(epoch);
        }
        true
    }
}

/// Milestones of `s`, which starts at epoch `start` and runs until `end` (exclusive: the next
/// phase of a sequence, or the horizon).
fn walk(s: &ScheduleConfig, start: f64, end: f64, found: &mut Found) {
    match s {
        ScheduleConfig::Step { step_size, .. } if *step_size > 0 => {
            let mut at = *step_size as f64;
            while found.push(start, at, end) {
                at += *step_size as f64;
            }
        }
        ScheduleConfig::Multistep { milestones, .. } => {
            for &m in milestones {
                found.push(start, m as f64, end);
            }
        }
        ScheduleConfig::CosineRestarts { t_0, t_mult, .. } if *t_0 > 0 => {
            let (mut period, mut at) = (*t_0 as f64, *t_0 as f64);
            while found.push(start, at, end) {
                period *= (*t_mult).max(1) as f64;
                at += period;
            }
        }
        ScheduleConfig::OneCycle {
            total_steps,
            pct_start,
            three_phase,
            ..
        } => {
            // PyTorch's phase `end_step`s: where the lr peaks, (where it is back at the
            // start,) and where the schedule ends.
            let total = *total_steps as f64;
            let rise = pct_start * total - 1.0;
            let mut ends = vec![rise];
            if *three_phase {
                ends.push(2.0 * pct_start * total - 2.0);
            }
            ends.push(total - 1.0);
            for at in ends {
                found.push(start, at, end);
            }
        }
        ScheduleConfig::Chain { children } => {
            for child in children {
                walk(child, start, end, found);
            }
        }
        ScheduleConfig::Warmup {
            steps,
            then,
            clock,
            then_every,
            ..
        } => {
            found.push(start, *steps as f64, end);
            // `then`'s own milestones, where its clock is the plot's.
            if *then_every == 1 {
                let then_start = match clock {
                    WarmupClock::After => start + *steps as f64,
                    WarmupClock::Overlap | WarmupClock::Follow => start,
                };
                if then_start < end {
                    walk(then, then_start, end, found);
                }
            }
        }
        ScheduleConfig::Sequence {
            children,
            milestones,
        } => {
            let starts: Vec<f64> = std::iter::once(start)
                .chain(milestones.iter().map(|&m| start + m as f64))
                .collect();
            for &m in milestones {
                found.push(start, m as f64, end);
            }
            for (i, child) in children.iter().enumerate() {
                let child_start = starts.get(i).copied().unwrap_or(end);
                let child_end = starts.get(i + 1).map_or(end, |&next| next.min(end));
                if child_start < child_end {
                    walk(child, child_start, child_end, found);
                }
            }
        }
        _ => {}
    }
}

/// How a [`sparkline`] (or the lr axis of a plot) scales its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Logarithmic: equal ratios take equal steps (a ×0.1 decay is as tall at any lr).
    Log,
    /// Linear, used when some value is negative and has no place on a log scale.
    Linear,
}

/// A mark of [`NON_FINITE_MARKS`]: `(mark, name, whether a value gets it)`.
pub type NonFiniteMark = (char, &'static str, fn(f64) -> bool);

/// How [`sparkline`] draws a value that is not finite, in place of a bar.
pub const NON_FINITE_MARKS: [NonFiniteMark; 3] = [
    ('↑', "inf", |v| v == f64::INFINITY),
    ('↓', "-inf", |v| v == f64::NEG_INFINITY),
    ('×', "NaN", f64::is_nan),
];

/// A unicode sparkline (`▁▂▃▄▅▆▇█`) of `values`, at most `width` characters wide, from the
/// series' own (finite) minimum (`▁`) to its maximum (`█`); a constant series is a flat `▄`
/// line.
///
/// The scale is logarithmic unless a finite value is negative (then linear); on the log scale
/// values of 0 are drawn as the lowest bar. A value that is not finite is drawn with its own
/// mark ([`NON_FINITE_MARKS`]: `↑` inf, `↓` -inf, `×` NaN), never as a bar. A series longer
/// than `width` is cut into `width` runs of epochs, each drawn at its mean (geometric on the
/// log scale), or with the mark of its first value that is not finite.
///
/// ```
/// use optimc::plot::{sparkline, Scale};
/// assert_eq!(sparkline(&[1.0, 0.1, 0.001], 60), ("█▆▁".to_string(), Scale::Log));
/// assert_eq!(sparkline(&[1.0, 1.0, 0.001, 0.001], 2).0, "█▁");
/// assert_eq!(sparkline(&[1.0, -1.0, 0.5], 60), ("█▁▆".to_string(), Scale::Linear));
/// assert_eq!(sparkline(&[f64::INFINITY, 1.0, 0.1, f64::NAN], 60).0, "↑█▁×");
/// ```
pub fn sparkline(values: &[f64], width: usize) -> (String, Scale) {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let scale = if values.iter().any(|v| v.is_finite() && *v < 0.0) {
        Scale::Linear
    } else {
        Scale::Log
    };
    let columns = values.len().min(width.max(1));
    let run = |c: usize| &values[c * values.len() / columns..(c + 1) * values.len() / columns];
    // Each column's level on the chosen scale; `None` for what the scale cannot place.
    let levels: Vec<Option<f64>> = (0..columns)
        .map(|c| {
            let run = run(c);
            let placed: Vec<f64> = run
                .iter()
                .filter(|v| v.is_finite() && (scale == Scale::Linear || **v > 0.0))
                .map(|v| if scale == Scale::Log { v.ln() } else { *v })
                .collect();
            (placed.len() == run.len()).then(|| placed.iter().sum::<f64>() / run.len() as f64)
        })
        .collect();
    let known = levels.iter().flatten();
    let lo = known.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = known.copied().fold(f64::NEG_INFINITY, f64::max);
    let flat = hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0);
    let bars = levels
        .iter()
        .enumerate()
        .map(|(c, l)| match l {
            // A run with a value that is not finite shows the first such value's mark.
            None if run(c).iter().any(|v| !v.is_finite()) => {
                let v = run(c).iter().find(|v| !v.is_finite()).copied();
                NON_FINITE_MARKS
                    .iter()
                    .find(|(_, _, is)| v.is_some_and(is))
                    .map_or(BARS[0], |(mark, _, _)| *mark)
            }
            None => BARS[0],
            Some(_) if flat => BARS[3],
            Some(l) => BARS[((l - lo) / (hi - lo) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect();
    (bars, scale)
}

fn draw_error(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

fn register_embedded_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is a fixed, valid TrueType file: this cannot fail, and if it somehow did the
        // first text drawn would report it as a `PlotError::Draw`.
        let _ = register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

/// Everything the drawing needs, computed before any backend is opened.
struct Prepared {
    title: String,
    groups: Vec<String>,
    /// Per group: the points of its lr curve, `(epoch, lr)` with lr at least `floor`.
    lr: Vec<Vec<(f64, f64)>>,
    lr_range: (f64, f64),
    lr_scale: Scale,
    /// On a log scale, the value drawn in place of lrs of 0, if there are any.
    floor: Option<f64>,
    /// The runs of epochs `(from, to)` where some group's lr is not finite: shaded.
    non_finite: Vec<(f64, f64)>,
    /// Per group whose schedule cycles it: its momentum curve.
    momentum: Vec<(usize, Vec<(f64, f64)>)>,
    momentum_range: (f64, f64),
    /// The right end of the epoch axis: epoch `e` is drawn over `e..e + 1`.
    end: f64,
    milestones: Milestones,
    /// The x axis's unit: "step" where the file steps its schedule per step, else "epoch".
    unit: &'static str,
}

impl Prepared {
    fn new(config: &Config, options: &PlotOptions) -> Result<Prepared, PlotError> {
        let (width, height) = (options.width, options.height);
        if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
            return Err(PlotError::Size { width, height });
        }
        if options.epochs == 0 {
            return Err(PlotError::NoEpochs);
        }
        let trace = Trace::record(config, options.epochs, options.metrics)?;
        // A curve keeps at most two points per pixel column (see `reduce`).
        let columns = width as usize;

        // A log axis, unless some finite lr is negative; on it, lrs of 0 are drawn at a floor a
        // decade below the smallest positive one. An lr that is not finite has no place on
        // either axis: inf is drawn at the top edge, -inf and NaN at the bottom, and their
        // epochs are shaded (`non_finite`), so that neither looks like an lr.
        let all_lrs = || trace.lr.iter().flatten().copied().filter(|v| v.is_finite());
        let scale = if all_lrs().any(|v| v < 0.0) {
            Scale::Linear
        } else {
            Scale::Log
        };
        let placeable = |v: f64| scale == Scale::Linear || v >= LOG_FLOOR;
        let floor = match scale {
            Scale::Log if !all_lrs().all(placeable) => {
                let smallest = all_lrs()
                    .filter(|v| placeable(*v))
                    .fold(f64::INFINITY, f64::min);
                Some(if smallest.is_finite() {
                    (smallest / 10.0).max(LOG_FLOOR)
                } else {
                    1e-6
                })
            }
            _ => None,
        };
        let stand_in = floor.unwrap_or(0.0);
        let place = |v: f64| if placeable(v) { v } else { stand_in };
        let (lo, hi) = range(all_lrs().map(place));
        let (lo, hi) = if scale == Scale::Log && lo <= 0.0 {
            (1e-3, 1e-1)
        } else {
            (lo, hi)
        };
        let lr_range = match scale {
            Scale::Log => {
                // 5% of the span on either side, computed on logarithms: a decay over many
                // epochs can span hundreds of decades, whose ratio would overflow.
                let (ln_lo, ln_hi) = (lo.ln(), hi.ln());
                let pad = if hi > lo {
                    (ln_hi - ln_lo) * 0.05
                } else {
                    2f64.ln()
                };
                (
                    (ln_lo - pad).exp().max(LOG_FLOOR / 10.0),
                    (ln_hi + pad).exp(),
                )
            }
            Scale::Linear => {
                let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.05 };
                (lo - pad, hi + pad)
            }
        };
        let lr: Vec<Vec<(f64, f64)>> = trace
            .lr
            .iter()
            .map(|values| {
                let placed: Vec<f64> = values
                    .iter()
                    .map(|&v| match v {
                        f64::INFINITY => lr_range.1,
                        v if v.is_finite() => place(v),
                        _ => lr_range.0,
                    })
                    .collect();
                stairs(&reduce(&placed, columns), options.epochs as f64)
            })
            .collect();
        let non_finite = non_finite_spans(&trace.lr, columns);

        let momentum: Vec<(usize, Vec<(f64, f64)>)> = trace
            .momentum
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(g, m)| {
                m.as_ref()
                    .map(|m| (g, stairs(&reduce(m, columns), options.epochs as f64)))
            })
            .collect();
        let (lo, hi) = range(momentum.iter().flat_map(|(_, m)| m.iter().map(|p| p.1)));
        let pad = if hi > lo { (hi - lo) * 0.08 } else { 0.05 };
        let momentum_range = (lo - pad, hi + pad);

        let optimizer = config.optimizer.name();
        let title = match options.title {
            Some(t) => format!("{t} — {optimizer}"),
            None => optimizer.to_string(),
        };
        Ok(Prepared {
            title,
            groups: trace.groups,
            lr,
            lr_range,
            lr_scale: scale,
            floor,
            non_finite,
            momentum,
            momentum_range,
            end: options.epochs as f64,
            milestones: milestones(config, options.epochs),
            unit: config.stepping().unit(),
        })
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        register_embedded_font();
        root.fill(&WHITE).map_err(draw_error)?;
        let (width, height) = root.dim_in_pixel();
        let title_size = (height as f64 * 0.04).clamp(16.0, 30.0);
        let label_size = (title_size * 0.62).max(12.0);
        let root = root
            .titled(&self.title, (FONT_FAMILY, title_size).into_font())
            .map_err(draw_error)?;

        // A legend column on the right, as wide as the longest group name.
        let longest = self.groups.iter().map(|g| g.chars().count()).max();
        let legend_width = ((longest.unwrap_or(0) as f64 + 4.0) * label_size * 0.62)
            .min(width as f64 * 0.3) as u32;
        let (charts, legend) = root.split_horizontally(width.saturating_sub(legend_width));

        let (lr_area, momentum_area) = if self.momentum.is_empty() {
            (charts, None)
        } else {
            let (_, h) = charts.dim_in_pixel();
            let (top, bottom) = charts.split_vertically((h as f64 * 0.64) as u32);
            (top, Some(bottom))
        };
        self.draw_lr(&lr_area, label_size)?;
        if let Some(area) = momentum_area {
            self.draw_momentum(&area, label_size)?;
        }
        self.draw_legend(&legend, label_size)
    }

    fn draw_lr<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        label_size: f64,
    ) -> Result<(), PlotError> {
        let font = (FONT_FAMILY, label_size).into_font();
        let (lo, hi) = self.lr_range;
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(label_size * 3.0)
            .y_label_area_size(label_size * 5.5)
            .build_cartesian_2d(0.0..self.end, LrAxis::new(self.lr_scale, lo, hi))
            .map_err(draw_error)?;
        let mut y_desc = match (self.lr_scale, self.floor) {
            (Scale::Log, Some(floor)) => format!("lr (log scale; 0 drawn at {})", short(floor)),
            (Scale::Log, None) => "lr (log scale)".to_string(),
            (Scale::Linear, _) => "lr (linear scale: some lrs are negative)".to_string(),
        };
        if !self.non_finite.is_empty() {
            y_desc.push_str("; shaded: inf (top) or NaN, -inf (bottom)");
        }
        let unit = self.unit;
        let x_desc = if self.milestones.too_many {
            format!("{unit} (more than {MAX_MILESTONES} milestones: not drawn)")
        } else if self.milestones.epochs.is_empty() {
            unit.to_string()
        } else {
            format!("{unit} (dashed: milestones)")
        };
        chart
            .configure_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(font.clone())
            .axis_desc_style(font.clone())
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_labels(8)
            .max_light_lines(1)
            .x_label_formatter(&|x| short(*x))
            .y_label_formatter(&|y| short(*y))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(self.non_finite.iter().map(|&(from, to)| {
                Rectangle::new([(from, lo), (to, hi)], NON_FINITE_COLOR.filled())
            }))
            .map_err(draw_error)?;
        for &m in &self.milestones.epochs {
            chart
                .draw_series(DashedLineSeries::new(
                    [(m, lo), (m, hi)],
                    6,
                    4,
                    MILESTONE_COLOR.stroke_width(1),
                ))
                .map_err(draw_error)?;
        }
        for (g, points) in self.lr.iter().enumerate() {
            let color = PALETTE[g % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(CURVE_WIDTH),
                ))
                .map_err(draw_error)?;
        }
        Ok(())
    }

    fn draw_momentum<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        label_size: f64,
    ) -> Result<(), PlotError> {
        let font = (FONT_FAMILY, label_size).into_font();
        let (lo, hi) = self.momentum_range;
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(label_size * 3.0)
            .y_label_area_size(label_size * 5.5)
            .build_cartesian_2d(0.0..self.end, lo..hi)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(font.clone())
            .axis_desc_style(font)
            .x_desc(self.unit)
            .y_desc("momentum (scheduled)")
            .y_labels(6)
            .max_light_lines(1)
            .x_label_formatter(&|x| short(*x))
            .y_label_formatter(&|y| short(*y))
            .draw()
            .map_err(draw_error)?;
        for &m in &self.milestones.epochs {
            chart
                .draw_series(DashedLineSeries::new(
                    [(m, lo), (m, hi)],
                    6,
                    4,
                    MILESTONE_COLOR.stroke_width(1),
                ))
                .map_err(draw_error)?;
        }
        for (g, points) in &self.momentum {
            let color = PALETTE[g % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(CURVE_WIDTH),
                ))
                .map_err(draw_error)?;
        }
        Ok(())
    }

    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        label_size: f64,
    ) -> Result<(), PlotError> {
        let font = (FONT_FAMILY, label_size).into_font().color(&BLACK);
        let row = (label_size * 1.6) as i32;
        let swatch = (label_size * 0.8) as i32;
        let top = 12 + (label_size * 0.6) as i32;
        for (g, name) in self.groups.iter().enumerate() {
            let y = top + g as i32 * row;
            let color = PALETTE[g % PALETTE.len()];
            area.draw(&Rectangle::new(
                [(4, y), (4 + swatch * 2, y + swatch)],
                color.filled(),
            ))
            .map_err(draw_error)?;
            area.draw(&Text::new(
                name.as_str(),
                (10 + swatch * 2, y - swatch / 4),
                font.clone(),
            ))
            .map_err(draw_error)?;
        }
        Ok(())
    }
}

/// The lr axis. Its log form ticks round numbers: every power of ten, or 1-2-5 or 1…9 times
/// them when there is room, so that a range within one decade still gets labels (plotters' own
/// log scale only ticks from the first power of ten up).
enum LrAxis {
    Log { lo: f64, hi: f64 },
    Linear(RangedCoordf64),
}

impl LrAxis {
    fn new(scale: Scale, lo: f64, hi: f64) -> LrAxis {
        match scale {
            Scale::Log => LrAxis::Log { lo, hi },
            Scale::Linear => LrAxis::Linear((lo..hi).into()),
        }
    }
}

impl Ranged for LrAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        match self {
            LrAxis::Log { lo, hi } => {
                let t = (value.ln() - lo.ln()) / (hi.ln() - lo.ln());
                (limit.0 as f64 + t * (limit.1 - limit.0) as f64).round() as i32
            }
            LrAxis::Linear(linear) => linear.map(value, limit),
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match self {
            LrAxis::Log { lo, hi } => log_ticks(*lo, *hi, hint.max_num_points()),
            LrAxis::Linear(linear) => linear.key_points(hint),
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        match self {
            LrAxis::Log { lo, hi } => *lo..*hi,
            LrAxis::Linear(linear) => linear.range(),
        }
    }
}

/// At most `max` round numbers in `lo..=hi` (see [`LrAxis`]).
fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if !(lo > 0.0 && lo < hi && hi.is_finite()) {
        return Vec::new();
    }
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let within = |mantissas: &[f64], every: usize| -> Vec<f64> {
        (first..=last)
            .filter(|k| ((k - first) as usize).is_multiple_of(every))
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            // Round away the error of m × 10^k so that labels read 0.3, not 0.30000000000000004.
            .map(|v| format!("{v:.12e}").parse::<f64>().unwrap_or(v))
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    for mantissas in [
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0][..],
        &[1.0, 2.0, 5.0],
        &[1.0],
    ] {
        let ticks = within(mantissas, 1);
        if ticks.len() <= max {
            return ticks;
        }
    }
    let decades = (last - first) as usize + 1;
    within(&[1.0], decades.div_ceil(max.max(1)))
}

/// The epochs where some lr is not finite, as merged runs `(from, to)` (epoch `e` covers
/// `e..e + 1`); past `columns` epochs, whole runs of `epochs / columns` epochs, so that there
/// are never more rectangles than pixel columns.
fn non_finite_spans(lr: &[Vec<f64>], columns: usize) -> Vec<(f64, f64)> {
    let epochs = lr.first().map_or(0, Vec::len);
    let cells = epochs.min(columns.max(1));
    let mut spans: Vec<(f64, f64)> = Vec::new();
    for c in 0..cells {
        let (from, to) = (c * epochs / cells, (c + 1) * epochs / cells);
        if lr
            .iter()
            .any(|v| v[from..to].iter().any(|x| !x.is_finite()))
        {
            match spans.last_mut() {
                Some(last) if last.1 == from as f64 => last.1 = to as f64,
                _ => spans.push((from as f64, to as f64)),
            }
        }
    }
    spans
}

/// The smallest and largest finite value (0..1 when there is none).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// `values` as `(epoch, value)` points; past `columns` points, each of `columns` runs of epochs
/// keeps only its lowest and highest point (in epoch order), which draws the same line.
fn reduce(values: &[f64], columns: usize) -> Vec<(f64, f64)> {
    if values.len() <= 2 * columns {
        return values
            .iter()
            .enumerate()
            .map(|(e, &v)| (e as f64, v))
            .collect();
    }
    let mut points = Vec::with_capacity(2 * columns);
    for c in 0..columns {
        let (from, to) = (c * values.len() / columns, (c + 1) * values.len() / columns);
        let run = &values[from..to];
        let (mut low, mut high) = (0, 0);
        for (i, v) in run.iter().enumerate() {
            if v < &run[low] {
                low = i;
            }
            if v > &run[high] {
                high = i;
            }
        }
        let mut pair = [low, high];
        pair.sort_unstable();
        points.push(((from + pair[0]) as f64, run[pair[0]]));
        if pair[1] != pair[0] {
            points.push(((from + pair[1]) as f64, run[pair[1]]));
        }
    }
    points
}

/// A step line through `points`: each value holds until the next point's epoch (the lr is
/// constant within an epoch), the last one until `end`. Runs of equal values become one
/// segment.
fn stairs(points: &[(f64, f64)], end: f64) -> Vec<(f64, f64)> {
    let mut line = Vec::with_capacity(points.len() * 2);
    let Some(&(x0, mut level)) = points.first() else {
        return line;
    };
    line.push((x0, level));
    for &(x, v) in &points[1..] {
        if v != level {
            line.push((x, level));
            line.push((x, v));
            level = v;
        }
    }
    line.push((end, level));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: &str) -> Config {
        Config::from_source("test.optim", source).unwrap()
    }

    #[test]
    fn milestones_of_each_kind() {
        let step =
            config("optimizer = sgd(lr = 0.1)\nschedule = step(step_size = 30, gamma = 0.1)");
        assert_eq!(milestones(&step, 100).epochs, [30.0, 60.0, 90.0]);
        assert_eq!(milestones(&step, 90).epochs, [30.0, 60.0]);
        let seq = config(
            "optimizer = sgd(lr = 0.1)\nschedule = sequence(linear(start_factor = 0.01, total_iters = 5), multistep(milestones = [30, 80], gamma = 0.1), milestones = [5])",
        );
        assert_eq!(milestones(&seq, 100).epochs, [5.0, 35.0, 85.0]);
        let restarts =
            config("optimizer = sgd(lr = 0.1)\nschedule = cosine_restarts(t_0 = 10, t_mult = 2)");
        assert_eq!(milestones(&restarts, 100).epochs, [10.0, 30.0, 70.0]);
        let one_cycle = config(
            "optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = one_cycle(max_lr = 1, total_steps = 100, pct_start = 0.3)",
        );
        assert_eq!(milestones(&one_cycle, 101).epochs, [29.0, 99.0]);
        let many = config("optimizer = sgd(lr = 0.1)\nschedule = step(step_size = 1)");
        let m = milestones(&many, 1000);
        assert!(m.epochs.is_empty() && m.too_many);
        let just_enough = milestones(&many, MAX_MILESTONES as u64 + 1);
        assert_eq!(just_enough.epochs.len(), MAX_MILESTONES);
        assert!(!just_enough.too_many);
    }

    #[test]
    fn reduce_keeps_every_extreme() {
        let values: Vec<f64> = (0..10_000).map(|i| ((i % 7) as f64).sin()).collect();
        let points = reduce(&values, 100);
        assert!(points.len() <= 200);
        let (lo, hi) = range(values.iter().copied());
        let (plo, phi) = range(points.iter().map(|p| p.1));
        assert_eq!((lo, hi), (plo, phi));
        assert!(points.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(reduce(&[1.0, 2.0], 100), [(0.0, 1.0), (1.0, 2.0)]);
    }

    #[test]
    fn stairs_hold_each_value_for_its_epoch() {
        let points = reduce(&[0.1, 0.1, 0.1, 0.01, 0.01], 100);
        assert_eq!(
            stairs(&points, 5.0),
            [(0.0, 0.1), (3.0, 0.1), (3.0, 0.01), (5.0, 0.01)]
        );
        assert_eq!(stairs(&[(0.0, 1.0)], 1.0), [(0.0, 1.0), (1.0, 1.0)]);
    }

    #[test]
    fn log_ticks_are_round_numbers() {
        assert_eq!(
            log_ticks(0.015, 0.11, 10),
            [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]
        );
        assert_eq!(log_ticks(0.015, 0.11, 5), [0.02, 0.05, 0.1]);
        assert_eq!(log_ticks(1e-7, 1e-3, 10), [1e-7, 1e-6, 1e-5, 1e-4, 1e-3]);
        assert_eq!(log_ticks(1e-9, 1.0, 4), [1e-9, 1e-6, 1e-3, 1.0]);
        assert!(log_ticks(0.0, 1.0, 4).is_empty());
        assert_eq!(log_ticks(1e-301, 1.0, 4).len(), 4);
    }

    #[test]
    fn sparkline_scales_logarithmically() {
        let bars = |values: &[f64]| sparkline(values, 60).0;
        assert_eq!(bars(&[0.1, 0.01, 0.001, 0.0001]), "█▆▃▁");
        assert_eq!(bars(&[0.5; 5]), "▄▄▄▄▄");
        assert_eq!(bars(&[1.0, 0.0, 0.1]), "█▁▁");
        assert_eq!(bars(&[]), "");
        let long: Vec<f64> = (1..=600).map(f64::from).collect();
        assert_eq!(bars(&long).chars().count(), 60);
        // Negative values switch to a linear scale.
        assert_eq!(
            sparkline(&[-1.0, 0.5, 1.0], 60),
            ("▁▆█".to_string(), Scale::Linear)
        );
    }
}

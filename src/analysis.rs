//! Numeric analysis: the stage after [`check`](crate::check), on files without errors. It runs
//! every group's real [`Schedule`] over a horizon of epochs and reports, as warnings, what
//! training would otherwise find out hours in:
//!
//! * an lr that becomes NaN or infinite (`non_finite_lr`), naming the epoch and the
//!   sub-expression of the lambda that breaks first (`sin(epoch) / epoch` is 0 / 0 at epoch 0);
//! * an lr that becomes negative (`negative_lr`), or reaches 0 and stays there until the end of
//!   the horizon (`lr_stays_zero`);
//! * a lambda whose value changes more than tenfold from one epoch to the next (`lambda_jump`);
//!
//! and, from the shape of the schedule tree:
//!
//! * a `sequence` milestone that replaces a child before its warmup, annealing or cycle ends
//!   (`schedule_cut_short`);
//! * `one_cycle` or `cyclic` chained with other schedules, which then overwrite each other's lr
//!   (`conflicting_schedules`);
//! * a `plateau` that can never lower the lr, because a schedule chained with it sets the lr
//!   from scratch every epoch or its `sequence` replaces it before its patience runs out
//!   (`missing_metric`;
//! * a schedule whose own length (`t_max`, `total_steps`, `total_iters`, a warmup and its
//!   `then`, ...) ends before or after the run the file declares (`run_length_mismatch`,
//!   `run_length.rs`).
//!
//! `plateau` is run with a constant metric, the worst case (no improvement ever), so it lowers
//! the lr as often as its patience and cooldown allow. The horizon is [`default_horizon`] (the
//! declared run, `run = per_step(steps = ...)`, where the file has one) unless
//! [`Options::horizon`] says otherwise, and never more than [`MAX_HORIZON`] schedule steps
//! ([`horizon`]); the cost is one schedule step per epoch plus one evaluation per lambda per
//! epoch. A schedule stepped per step (`run = per_step(...)`) is analysed in steps, and the
//! warnings say "step" where they would say "epoch".

use crate::ast::Span;
use crate::check::{ScheduleSource as Src, Sources};
use crate::config::{Config, ScheduleConfig, WarmupClock};
use crate::diagnostic::text::{approx, rounded};
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::Lambda;
use crate::limits::{MAX_HORIZON, WORK_BUDGET};
use crate::schedule::{start_of, ParamValue, Schedule};
use std::collections::HashMap;

mod run_length;

/// The shortest default horizon, in epochs.
pub const MIN_HORIZON: u64 = 100;
/// A lambda whose value changes by more than this factor between two epochs is reported.
pub const JUMP_FACTOR: f64 = 10.0;

/// How the analysis runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// How many epochs (0 to `horizon - 1`) to simulate; `None` picks [`default_horizon`].
    pub horizon: Option<u64>,
}

/// The declared run (`run = ...` with its length), else long enough to cover every milestone,
/// period and total written in the file, and at least [`MIN_HORIZON`] epochs; at most
/// [`MAX_HORIZON`] schedule steps either way.
pub fn default_horizon(config: &Config) -> u64 {
    if let Some(length) = config.run_length() {
        return length.clamp(1, MAX_HORIZON);
    }
    let schedules = config
        .schedule
        .iter()
        .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()));
    let extent = schedules.map(ScheduleConfig::extent).max().unwrap_or(0);
    extent.saturating_add(1).clamp(MIN_HORIZON, MAX_HORIZON)
}

/// What one epoch of the analysis costs: every group's lr, every schedule node stepped, every
/// lambda operation evaluated (once by the schedule, once by the jump scan).
fn work_per_epoch(config: &Config) -> u64 {
    fn size(s: &ScheduleConfig) -> u64 {
        1 + match s {
            ScheduleConfig::Lambda { lr_lambda }
            | ScheduleConfig::Multiplicative { lr_lambda }
            | ScheduleConfig::Absolute { lr_lambda } => 2 * lr_lambda.ops() as u64,
            ScheduleConfig::Cyclic {
                scale_fn: Some(f), ..
            } => f.ops() as u64,
            ScheduleConfig::Chain { children } | ScheduleConfig::Sequence { children, .. } => {
                children.iter().map(size).sum()
            }
            // Its lrs copied in and out of `then` each warmup step.
            ScheduleConfig::Warmup { then, .. } => 1 + size(then),
            // Each step looks the epoch up among the milestones.
            ScheduleConfig::Multistep { milestones, .. } => milestones.len() as u64,
            _ => 0,
        }
    }
    let schedules = config
        .schedule
        .iter()
        .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()));
    schedules
        .map(size)
        .sum::<u64>()
        .saturating_add(config.groups.len() as u64)
        .max(1)
}

/// How many schedule steps (0 to `horizon - 1`) the analysis of `config` runs: `options`'
/// horizon or [`default_horizon`], at most [`MAX_HORIZON`], and less on a file so large that
/// its steps would exceed [`WORK_BUDGET`]. A declared run longer than this is analysed over
/// its first `horizon` steps only (`optimc check` says so).
pub fn horizon(config: &Config, options: &Options) -> u64 {
    options
        .horizon
        .unwrap_or_else(|| default_horizon(config))
        .clamp(1, MAX_HORIZON)
        .min((WORK_BUDGET / work_per_epoch(config)).max(1))
}

/// Analyses a checked file: `config` and `sources` must be what
/// [`check`](crate::check::check) made of the file whose text is `source`. Returns warnings
/// only, in no particular order.
pub fn analyze(
    sources: &Sources,
    source: &str,
    config: &Config,
    options: &Options,
) -> Vec<Diagnostic> {
    analyze_on(sources, source, config, options, parallel(config))
}

/// Schedule instances (groups with their own schedule, and the file's) from which the analysis
/// runs the schedule on a thread of its own; below, a thread costs more than it saves.
const PARALLEL_INSTANCES: usize = 64;

/// Whether to run the schedule beside the rest of the analysis: for files with many schedules,
/// when a second core is there.
fn parallel(config: &Config) -> bool {
    let instances = config
        .groups
        .iter()
        .filter(|g| g.schedule.is_some())
        .count()
        + usize::from(config.schedule.is_some());
    instances >= PARALLEL_INSTANCES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// [`analyze`], with the schedule run on a second thread (`parallel`) while this one lints
/// every schedule. The diagnostics are the same, in the same
/// order (lr problems first, then the schedules' lints), either way.
fn analyze_on(
    sources: &Sources,
    source: &str,
    config: &Config,
    options: &Options,
    parallel: bool,
) -> Vec<Diagnostic> {
    let horizon = horizon(config, options);
    let run = || Paths::of(Schedule::new(config), horizon);
    let mut lints = Analysis {
        source,
        config,
        horizon,
        unit: config.stepping().unit(),
        out: Vec::new(),
    };
    let paths = if parallel {
        std::thread::scope(|scope| {
            let runner = scope.spawn(run);
            lints.schedule_lints(sources);
            runner
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    } else {
        lints.schedule_lints(sources);
        run()
    };
    let mut a = Analysis {
        out: Vec::new(),
        ..lints
    };
    a.trajectories(sources, &paths);
    a.out.append(&mut lints.out);
    a.out
}

/// The first epoch at which each group's lr is NaN or infinite (and whether NaN), negative,
/// and 0 until the end of the horizon, as the real schedule runs.
#[derive(Debug)]
struct Paths {
    non_finite: Vec<Option<u64>>,
    nan: Vec<bool>,
    negative: Vec<Option<u64>>,
    zero_since: Vec<Option<u64>>,
}

impl Paths {
    /// Runs `schedule` (just built) over `horizon` epochs.
    fn of(mut schedule: Schedule, horizon: u64) -> Paths {
        let n = schedule.lrs().len();
        let needs_metric = schedule.needs_metric();
        let mut p = Paths {
            non_finite: vec![None; n],
            nan: vec![false; n],
            negative: vec![None; n],
            zero_since: vec![None; n],
        };
        for epoch in 0..horizon {
            for (g, &lr) in schedule.lrs().iter().enumerate() {
                if !lr.is_finite() {
                    if p.non_finite[g].is_none() {
                        p.non_finite[g] = Some(epoch);
                        p.nan[g] = lr.is_nan();
                    }
                } else if lr < 0.0 {
                    p.negative[g].get_or_insert(epoch);
                }
                if lr == 0.0 {
                    p.zero_since[g].get_or_insert(epoch);
                } else {
                    p.zero_since[g] = None;
                }
            }
            if epoch + 1 < horizon {
                if needs_metric {
                    // The worst case for `plateau`: a metric that never improves.
                    schedule.step_with(0.0);
                } else {
                    schedule.step_counting_plateaus(); // no plateau here
                }
            }
        }
        p
    }
}

// ----- where each schedule node was written (the checker noted it: `check::Sources`) -----

/// The source of the schedule driving group `g`.
fn source_of_group<'s>(sources: &'s Sources, config: &Config, g: usize) -> Option<&'s Src> {
    if config.groups[g].schedule.is_some() {
        sources.groups.get(g)?.as_ref()
    } else {
        sources.file.as_ref()
    }
}

/// Every schedule written in the file, once, with its source.
fn distinct<'c>(sources: &'c Sources, config: &'c Config) -> Vec<(&'c ScheduleConfig, &'c Src)> {
    let mut out = Vec::new();
    if let (Some(cfg), Some(src)) = (&config.schedule, &sources.file) {
        out.push((cfg, src));
    }
    for (g, src) in config.groups.iter().zip(&sources.groups) {
        if let (Some(cfg), Some(src)) = (&g.schedule, src) {
            out.push((cfg, src));
        }
    }
    out
}

// ----- the analysis -----

struct Analysis<'e> {
    source: &'e str,
    config: &'e Config,
    horizon: u64,
    /// What one schedule step is called: "epoch", or "step" for `run = per_step(...)`.
    unit: &'static str,
    out: Vec<Diagnostic>,
}

/// What can go wrong with a group's lr over the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Problem {
    NonFinite,
    Negative,
    StaysZero,
}

/// The place in the source responsible for a problem, and what to say there.
struct Culprit {
    span: Span,
    label: String,
    help: String,
}

impl Analysis<'_> {
    fn text(&self, span: Span) -> &str {
        self.source.get(span.start..span.end).unwrap_or("")
    }

    /// The lints of every schedule written in the file: lambda jumps, the tree's shape, and
    /// its length against the declared run's.
    fn schedule_lints(&mut self, sources: &Sources) {
        for (cfg, src) in distinct(sources, self.config) {
            self.lambda_jumps(cfg, src, self.horizon);
            self.tree_lints(cfg, src);
            if let Some(run) = sources.run {
                self.run_length_lint(cfg, src, run);
            }
        }
    }

    /// Reports each group's first NaN or infinite, negative, or for-good-zero lr, from the
    /// paths the real schedule took over the horizon ([`Paths::of`]).
    fn trajectories(&mut self, sources: &Sources, paths: &Paths) {
        let n = self.config.groups.len();
        let Paths {
            non_finite,
            nan,
            negative,
            zero_since,
        } = paths;
        // One warning per place in the source, naming every group it affects. Groups sharing
        // the file's schedule usually break at the same epoch: find the culprit once.
        let mut found: Vec<(Problem, u64, Culprit, Vec<usize>)> = Vec::new();
        let mut index: HashMap<(Problem, u64, Span), usize> = HashMap::new();
        let mut culprits: HashMap<(Problem, u64, Option<usize>), Span> = HashMap::new();

        for g in 0..n {
            let Some(cfg) = self.config.schedule_of(g) else {
                continue;
            };
            let src = source_of_group(sources, self.config, g);

            let stays_zero = zero_since[g]
                .filter(|&z| z + 1 < self.horizon && self.config.groups[g].options.lr != 0.0);
            let problems = [
                (Problem::NonFinite, non_finite[g]),
                (Problem::Negative, negative[g]),
                (Problem::StaysZero, stays_zero),
            ];
            let own = self.config.groups[g].schedule.is_some().then_some(g);
            for (problem, epoch) in problems {
                let Some(epoch) = epoch else { continue };
                if let Some(span) = culprits.get(&(problem, epoch, own)) {
                    if let Some(&i) = index.get(&(problem, epoch, *span)) {
                        found[i].3.push(g);
                        continue;
                    }
                }
                let culprit = self.culprit(problem, cfg, src, epoch);
                culprits.insert((problem, epoch, own), culprit.span);
                match index.get(&(problem, epoch, culprit.span)) {
                    Some(&i) => found[i].3.push(g),
                    None => {
                        index.insert((problem, epoch, culprit.span), found.len());
                        found.push((problem, epoch, culprit, vec![g]));
                    }
                }
            }
        }
        for (problem, epoch, culprit, groups) in found {
            let whose = self.whose(&groups);
            let (code, message) = match problem {
                Problem::NonFinite => {
                    let lr = if groups.iter().any(|&g| nan[g]) { "NaN" } else { "infinite" };
                    (
                        Code::NonFiniteLr,
                        format!("{whose} becomes {lr} at {} {epoch}", self.unit),
                    )
                }
                Problem::Negative => (
                    Code::NegativeLr,
                    format!("{whose} becomes negative at {} {epoch}", self.unit),
                ),
                Problem::StaysZero => (
                    Code::LrStaysZero,
                    format!(
                        "{whose} reaches 0 at {unit} {epoch} and stays 0 until the end of the {end} ({unit} {})",
                        self.horizon - 1,
                        unit = self.unit,
                        end = if self.to_end_of_run() { "run" } else { "horizon" },
                    ),
                ),
            };
            self.out.push(
                Diagnostic::warning(code, culprit.span, message)
                    .with_label(culprit.label)
                    .with_help(culprit.help),
            );
        }
    }

    /// "the lr", "the lr of group `a`", "the lr of groups `a` and `b`".
    fn whose(&self, groups: &[usize]) -> String {
        let declared = !(self.config.groups.len() == 1 && self.config.groups[0].name == "default");
        if !declared {
            return "the lr".into();
        }
        let mut names: Vec<String> = groups
            .iter()
            .take(4)
            .map(|&g| format!("`{}`", self.config.groups[g].name))
            .collect();
        if groups.len() > 4 {
            names.truncate(3);
            names.push(format!("{} other groups", groups.len() - 3));
        }
        match names.split_last() {
            Some((last, [])) => format!("the lr of group {last}"),
            Some((last, rest)) => format!("the lr of groups {} and {last}", rest.join(", ")),
            None => "the lr".into(),
        }
    }

    /// The schedule node (and, in a lambda, the sub-expression) responsible for `problem` at
    /// `epoch`.
    fn culprit(
        &self,
        problem: Problem,
        cfg: &ScheduleConfig,
        src: Option<&Src>,
        epoch: u64,
    ) -> Culprit {
        let at = src.map_or(Span::default(), |s| s.at);
        match cfg {
            ScheduleConfig::Sequence {
                children,
                milestones,
            } => {
                let k = milestones
                    .partition_point(|&m| m <= epoch)
                    .min(children.len().saturating_sub(1));
                let local = if k == 0 {
                    epoch
                } else {
                    epoch.saturating_sub(milestones[k - 1])
                };
                let child_src = src.and_then(|s| s.child(k));
                if let Some(child) = children.get(k) {
                    if child_src.is_some() {
                        return self.culprit(problem, child, child_src, local);
                    }
                }
            }
            ScheduleConfig::Warmup {
                steps,
                then,
                clock,
                then_every,
                ..
            } => {
                // Past the warmup the lr is `then`'s, on `then`'s own clock.
                if epoch >= *steps {
                    let local = match clock {
                        WarmupClock::After => epoch - steps,
                        WarmupClock::Overlap | WarmupClock::Follow => epoch,
                    } / (*then_every).max(1);
                    let child_src = src.and_then(|s| s.child(0));
                    if child_src.is_some() {
                        return self.culprit(problem, then, child_src, local);
                    }
                }
            }
            ScheduleConfig::Chain { children } => {
                // A lambda that breaks explains it best; otherwise the chain as a whole.
                for (k, child) in children.iter().enumerate() {
                    let child_src = src.and_then(|s| s.child(k));
                    if let Some(c) =
                        child_src.and_then(|_| self.lambda_culprit(problem, child, epoch))
                    {
                        return c;
                    }
                }
            }
            _ => {
                if let Some(c) = src.and_then(|_| self.lambda_culprit(problem, cfg, epoch)) {
                    return c;
                }
            }
        }
        self.generic_culprit(problem, cfg, at, epoch)
    }

    /// The lambda of a `lambda` or `multiplicative` node, when it is what breaks.
    fn lambda_culprit(
        &self,
        problem: Problem,
        cfg: &ScheduleConfig,
        epoch: u64,
    ) -> Option<Culprit> {
        let (lambda, multiplicative) = match cfg {
            ScheduleConfig::Lambda { lr_lambda } | ScheduleConfig::Absolute { lr_lambda } => {
                (lr_lambda, false)
            }
            ScheduleConfig::Multiplicative { lr_lambda } => (lr_lambda, true),
            _ => return None,
        };
        let bad = |v: f64| match problem {
            Problem::NonFinite => !v.is_finite(),
            Problem::Negative => v < 0.0,
            Problem::StaysZero => v == 0.0,
        };
        // `lambda` sets lr = initial × f(epoch); `multiplicative` multiplies by f(epoch) from
        // epoch 1 on, so the first bad factor up to `epoch` is the one to blame.
        let x = if multiplicative {
            (1..=epoch).find(|&x| bad(lambda.eval(x as f64)))?
        } else {
            epoch
        };
        let v = lambda.eval(x as f64);
        if !bad(v) {
            return None;
        }
        let (param, body) = (lambda.param(), lambda.body_span());
        let when = format!("when {param} = {x}");
        let whole = self.text(body).to_string();
        Some(match problem {
            Problem::NonFinite => {
                let (span, label) = match lambda.first_fault(x as f64) {
                    Some(fault) => (
                        fault.span,
                        format!(
                            "`{}` is {} = {} {when}",
                            self.text(fault.span),
                            fault.operation,
                            value_word(fault.value)
                        ),
                    ),
                    None => (body, format!("this is {} {when}", value_word(v))),
                };
                Culprit {
                    span,
                    label,
                    help: self.non_finite_help(lambda, multiplicative, param, x, &whole),
                }
            }
            Problem::Negative => Culprit {
                span: body,
                label: format!("this is {} {when}", rounded(v)),
                help: format!(
                    "a negative lr makes the optimizer climb the loss instead of descending it; keep the lambda at or above 0, e.g. `{param} -> max(0, {whole})`, or end the decay by the last epoch"
                ),
            },
            Problem::StaysZero => Culprit {
                span: body,
                label: format!("this is 0 {when} and after"),
                help: self.zero_help(epoch),
            },
        })
    }

    /// How to make `lambda`, first NaN or infinite at `x`, finite: guarding that epoch, where
    /// it is the only one over the horizon (a guard that leaves later epochs broken is no fix),
    /// or else where it breaks.
    fn non_finite_help(
        &self,
        lambda: &Lambda,
        multiplicative: bool,
        param: &str,
        x: u64,
        whole: &str,
    ) -> String {
        let why = "PyTorch would train with this lr and turn the weights into NaN";
        let first = u64::from(multiplicative);
        let mut bad = (first..self.horizon).filter(|&e| !lambda.eval(e as f64).is_finite());
        let count = 1 + bad.by_ref().filter(|&e| e != x).count();
        let unit = self.unit;
        if count == 1 {
            return format!(
                "{why}; make the lambda finite at every {unit}, e.g. `{param} -> if {param} == {x} then 1 else {whole}`"
            );
        }
        format!(
            "{why}; make the lambda finite at every {unit}: it is infinite or NaN at {count} of {unit}s {first} to {}, so guarding one {unit} is not enough. Keep the arguments of `log` and `sqrt` positive and divisors away from 0 over the whole run",
            self.horizon - 1
        )
    }

    fn generic_culprit(
        &self,
        problem: Problem,
        cfg: &ScheduleConfig,
        span: Span,
        epoch: u64,
    ) -> Culprit {
        let name = kind_name(cfg);
        match problem {
            Problem::NonFinite => Culprit {
                span,
                label: format!("`{name}` makes the lr infinite or NaN by {} {epoch}", self.unit),
                help: "PyTorch would train with this lr and turn the weights into NaN; keep every factor of the schedule finite (a `gamma` above 1 grows the lr without bound)".into(),
            },
            Problem::Negative => Culprit {
                span,
                label: format!("`{name}` makes the lr negative by {} {epoch}", self.unit),
                help: "a negative lr makes the optimizer climb the loss; keep every lr and factor of the schedule at or above 0".into(),
            },
            Problem::StaysZero => {
                let why = match cfg {
                    ScheduleConfig::Polynomial { total_iters, .. }
                    | ScheduleConfig::Linear { total_iters, .. } => format!(
                        "`{name}` ends at 0 after `total_iters = {total_iters}` {unit}s; set `total_iters` to the number of {unit}s you train",
                        unit = self.unit,
                    ),
                    ScheduleConfig::Step { gamma, .. }
                    | ScheduleConfig::Multistep { gamma, .. }
                    | ScheduleConfig::Exponential { gamma } => {
                        if *gamma == 0.0 {
                            format!("`{name}` with `gamma = 0` sets the lr to 0; use a factor such as `gamma = 0.1`")
                        } else {
                            format!(
                                "`{name}` multiplies the lr by {} so many times that it underflows to 0",
                                rounded(*gamma)
                            )
                        }
                    }
                    _ => format!("`{name}` brings the lr to 0"),
                };
                Culprit {
                    span,
                    label: format!("the lr is 0 from {} {epoch} on", self.unit),
                    help: format!("{why}. {}", self.zero_help(epoch)),
                }
            }
        }
    }

    fn zero_help(&self, epoch: u64) -> String {
        if epoch == 0 {
            return "this group never learns; check the operators and parentheses (`**` binds tighter than `*`, `/` and `//`)".into();
        }
        let (unit, call) = (self.unit, self.config.stepping().call_name());
        if self.to_end_of_run() {
            return format!(
                "A group with lr 0 stops learning, and the declared run goes on to {unit} {}; end the decay with the run, or if training ends by {unit} {epoch}, say so with `run = {call}({unit}s = {epoch})`",
                self.horizon - 1,
            );
        }
        if self.config.run.is_some() {
            return format!(
                "A group with lr 0 stops learning; if training ends by {unit} {epoch}, say so with `run = {call}({unit}s = {epoch})`"
            );
        }
        format!(
            "A group with lr 0 stops learning; if training ends by epoch {epoch}, say so with `--horizon {epoch}`"
        )
    }

    /// Whether the horizon is the whole declared run (`run = ...` with its length).
    fn to_end_of_run(&self) -> bool {
        self.config.run_length() == Some(self.horizon)
    }

    /// Reports the first epoch where a lambda's value changes more than [`JUMP_FACTOR`]-fold,
    /// over the epochs the lambda actually runs (`len`, counted from where it starts).
    fn lambda_jumps(&mut self, cfg: &ScheduleConfig, src: &Src, len: u64) {
        match cfg {
            ScheduleConfig::Lambda { lr_lambda } | ScheduleConfig::Absolute { lr_lambda } => {
                self.jump(lr_lambda, 0, len)
            }
            ScheduleConfig::Multiplicative { lr_lambda } => self.jump(lr_lambda, 1, len),
            ScheduleConfig::Chain { children } => {
                for (k, c) in children.iter().enumerate() {
                    if let Some(s) = src.child(k) {
                        self.lambda_jumps(c, s, len);
                    }
                }
            }
            ScheduleConfig::Sequence {
                children,
                milestones,
            } => {
                for (k, c) in children.iter().enumerate() {
                    let start = start_of(milestones, k);
                    let end = milestones.get(k).copied().unwrap_or(self.horizon);
                    if let Some(s) = src.child(k) {
                        self.lambda_jumps(c, s, end.saturating_sub(start).min(len));
                    }
                }
            }
            ScheduleConfig::Warmup {
                then, then_every, ..
            } => {
                if let Some(s) = src.child(0) {
                    self.lambda_jumps(then, s, len / (*then_every).max(1));
                }
            }
            _ => {}
        }
    }

    fn jump(&mut self, lambda: &Lambda, first: u64, len: u64) {
        let (param, body) = (lambda.param(), lambda.body_span());
        let mut prev = if first < len {
            lambda.eval(first as f64)
        } else {
            return;
        };
        for x in first + 1..len {
            let v = lambda.eval(x as f64);
            // Zeros, signs and NaNs are for the other warnings; this one compares magnitudes.
            // Below 1e-12 a factor is 0 up to rounding (`cos(pi / 2)` is 6e-17, not 0).
            let usable = |a: f64| a.is_finite() && a > 1e-12;
            if usable(prev) && usable(v) {
                let ratio = (v / prev).abs().max((prev / v).abs());
                if ratio > JUMP_FACTOR * (1.0 + 1e-9) && !on_a_ramp(lambda, first, len, x, prev, v)
                {
                    let direction = if v.abs() < prev.abs() {
                        "drops"
                    } else {
                        "rises"
                    };
                    self.out.push(
                        Diagnostic::warning(
                            Code::LambdaJump,
                            body,
                            format!(
                                "this lambda {direction} {}-fold in one epoch, from {param} = {} to {param} = {x}",
                                approx(ratio),
                                x - 1
                            ),
                        )
                        .with_label(format!(
                            "{} when {param} = {}, {} when {param} = {x}",
                            rounded(prev),
                            x - 1,
                            rounded(v)
                        ))
                        .with_help(if v < prev {
                            format!(
                                "an lr that falls more than {}-fold between epochs usually means a misplaced parenthesis or a wrong constant; if the drop is meant, `multistep(milestones = [{x}], gamma = {})` says so plainly",
                                rounded(JUMP_FACTOR),
                                approx(v / prev)
                            )
                        } else {
                            format!(
                                "an lr that rises more than {}-fold between epochs usually means a misplaced parenthesis or a wrong constant; a warmup rises gradually, e.g. `{param} -> min(1, ({param} + 1) / 5)`",
                                rounded(JUMP_FACTOR)
                            )
                        }),
                    );
                    return;
                }
            }
            prev = v;
        }
    }

    /// Warnings about the shape of the schedule tree: children of `sequence` cut short,
    /// schedules in `chain` that overwrite each other, plateaus that can never act.
    fn tree_lints(&mut self, cfg: &ScheduleConfig, src: &Src) {
        match cfg {
            ScheduleConfig::Chain { children } => {
                self.chain_lints(children, src);
                for (k, c) in children.iter().enumerate() {
                    if let Some(s) = src.child(k) {
                        self.tree_lints(c, s);
                    }
                }
            }
            ScheduleConfig::Sequence {
                children,
                milestones,
            } => {
                self.sequence_lints(children, milestones, src);
                for (k, c) in children.iter().enumerate() {
                    if let Some(s) = src.child(k) {
                        self.tree_lints(c, s);
                    }
                }
            }
            ScheduleConfig::Warmup { then, steps, .. } => {
                if let Some(s) = src.child(0) {
                    self.warmup_lints(*steps, then, s);
                    self.tree_lints(then, s);
                }
            }
            _ => {}
        }
    }

    /// A `warmup` before a schedule that warms up itself: the two warmups follow each other.
    fn warmup_lints(&mut self, steps: u64, then: &ScheduleConfig, then_src: &Src) {
        let own = then
            .params()
            .into_iter()
            .find_map(|(name, v)| match (name, v) {
                (name, ParamValue::Whole(n)) if n > 0 && OWN_WARMUPS.contains(&name) => {
                    Some((name, n))
                }
                _ => None,
            });
        let (Some((param, own)), true) = (own, steps > 0) else {
            return;
        };
        let name = kind_name(then);
        // fairseq's `warmup_updates` is at least 1: only the outer warmup can go.
        let help = if param == "warmup_updates" {
            format!("keep one warmup: drop the outer `warmup(...)` and give its steps to `{name}`'s `{param}`")
        } else {
            format!("keep one warmup: give `{name}` `{param} = 0`, or drop the outer `warmup(...)`")
        };
        self.out.push(
            Diagnostic::warning(
                Code::ConflictingSchedules,
                then_src.at,
                format!("`{name}` warms up again after this `warmup`: {steps} steps of warmup, then {own} more of its own"),
            )
            .with_label(format!("`{name}` has `{param} = {own}`"))
            .with_help(help),
        );
    }

    fn chain_lints(&mut self, children: &[ScheduleConfig], src: &Src) {
        let span = |k: usize| src.child(k).map_or(src.at, |s| s.at);
        let cycler = children.iter().position(|c| {
            matches!(
                c,
                ScheduleConfig::OneCycle { .. } | ScheduleConfig::Cyclic { .. }
            )
        });
        if let (Some(k), true) = (cycler, children.len() > 1) {
            let name = kind_name(&children[k]);
            let mut d = Diagnostic::warning(
                    Code::ConflictingSchedules,
                    span(k),
                    format!("`{name}` sets the lr itself every epoch, so the schedules chained with it fight over the lr"),
                )
                .with_label(format!("`{name}` overwrites the lr"))
                .with_help(if name == "cyclic" {
                    "use `cyclic` alone: `mode = triangular2`, or `mode = exp_range` with a `gamma`, shrinks the cycles over time; or run schedules one after the other with `sequence(..., milestones = [...])`".to_string()
                } else {
                    format!("use `{name}` alone (it has its own warmup and annealing), or run schedules one after the other with `sequence(..., milestones = [...])`")
                });
            let others = children.iter().enumerate().filter(|(j, _)| *j != k);
            for (j, other) in others.take(3) {
                d = d.with_related(
                    span(j),
                    format!("`{}` also changes the lr", kind_name(other)),
                );
            }
            self.out.push(d);
        }
        let Some(j) = children.iter().position(sets_lr_from_scratch) else {
            return;
        };
        for (k, c) in children.iter().enumerate() {
            if !matches!(c, ScheduleConfig::Plateau { .. }) {
                continue;
            }
            let other = kind_name(&children[j]);
            self.out.push(
                Diagnostic::warning(
                    Code::MissingMetric,
                    span(k),
                    format!("this `plateau` can never lower the lr for long: `{other}` sets the lr from scratch every epoch"),
                )
                .with_label("its reductions are overwritten the next epoch")
                .with_related(span(j), format!("`{other}` recomputes the lr from the initial lr"))
                .with_help(format!(
                    "the metric has no lasting effect here; use the plateau alone, or after `{other}` in a `sequence`"
                )),
            );
        }
    }

    fn sequence_lints(&mut self, children: &[ScheduleConfig], milestones: &[u64], src: &Src) {
        for (k, child) in children.iter().enumerate().take(milestones.len()) {
            let start = start_of(milestones, k);
            let end = milestones[k];
            if end < start {
                // Out of order: `unsorted_milestones` says so.
                continue;
            }
            let runs = end - start;
            let at = src.child(k).map_or(src.at, |s| s.at);
            let name = kind_name(child);
            let milestone = src.milestones.get(k).copied();
            if let ScheduleConfig::Plateau { patience, .. } = child {
                // A plateau lowers the lr after `patience + 1` epochs without improvement,
                // counted after its first metric (which always improves on "none yet"), and the
                // lowered lr shows the epoch after: it needs `patience + 3` epochs.
                if runs < patience + 3 {
                    let mut d = Diagnostic::warning(
                        Code::MissingMetric,
                        at,
                        format!("this `plateau` runs for {runs} epoch{}, too few to ever lower the lr", plural(runs)),
                    )
                    .with_label(format!("lowers the lr only after {} epochs without improvement", patience + 1))
                    .with_help(if runs >= 3 {
                        format!(
                            "the metric cannot change anything here: move the milestone to {} or later, or set `patience = {}` or less",
                            start + patience + 3,
                            runs - 3
                        )
                    } else {
                        format!(
                            "the metric cannot change anything here: move the milestone to {} or later",
                            start + patience + 3
                        )
                    });
                    if let Some(m) = milestone {
                        d = d.with_related(m, format!("replaced at epoch {end}"));
                    }
                    self.out.push(d);
                }
                continue;
            }
            let Some((needs, what, fix)) = child.length() else {
                continue;
            };
            if runs >= needs {
                continue;
            }
            let mut d = Diagnostic::warning(
                Code::ScheduleCutShort,
                at,
                if what.ends_with(" happens") {
                    format!("`sequence` replaces `{name}` at epoch {end}, before {what}")
                } else {
                    format!("`sequence` replaces `{name}` at epoch {end}, before {what} ends")
                },
            )
            .with_label(format!("runs {runs} epoch{} of the {needs} it needs", plural(runs)))
            .with_help(match fix {
                Some(arg) => format!(
                    "move the milestone to {}, or set `{arg} = {runs}` so that {what} fits the epochs it runs",
                    start + needs
                ),
                None => format!("move the milestone to {}", start + needs),
            });
            if let Some(m) = milestone {
                d = d.with_related(m, format!("the next schedule takes over at epoch {end}"));
            }
            self.out.push(d);
        }
    }
}

/// Whether the change from `prev` (at `x - 1`) to `v` (at `x`) is a step of a steady ramp
/// rather than a jump: the epoch before or after (within `first..len`) changes the lambda in
/// the same direction by at least half as much. A linear warmup from a small start rises
/// tenfold and more in its first epoch, but by the same amount in the next; a cliff does not.
fn on_a_ramp(lambda: &Lambda, first: u64, len: u64, x: u64, prev: f64, v: f64) -> bool {
    let step = v - prev;
    let steady = |a: f64, b: f64| {
        let d = b - a;
        d.is_finite() && d != 0.0 && (d > 0.0) == (step > 0.0) && 2.0 * d.abs() >= step.abs()
    };
    (x + 1 < len && steady(v, lambda.eval((x + 1) as f64)))
        || (x >= first + 2 && steady(lambda.eval((x - 2) as f64), prev))
}

/// Schedules whose lr is computed from the initial lr each epoch, not from the current one.
fn sets_lr_from_scratch(s: &ScheduleConfig) -> bool {
    s.kind().info().from_scratch
}

/// The language's name for a schedule.
fn kind_name(s: &ScheduleConfig) -> &'static str {
    s.kind().name()
}

fn value_word(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The arguments in which a named schedule warms up by itself (transformers' `warmup`,
/// fairseq's `warmup_updates`, nanoGPT's `warmup_iters`, timm's `warmup_t`).
const OWN_WARMUPS: &[&str] = &["warmup", "warmup_updates", "warmup_iters", "warmup_t"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GroupConfig, Hyperparams, OptimizerKind};

    fn analyse(source: &str) -> Vec<Diagnostic> {
        let file = crate::parse::parse(source).unwrap();
        let checked = crate::check::check(&file);
        analyze(
            &checked.sources,
            source,
            &checked.config.unwrap(),
            &Options::default(),
        )
    }

    fn config_with(schedule: ScheduleConfig) -> Config {
        let options = Hyperparams {
            lr: 1.0,
            ..Hyperparams::defaults(OptimizerKind::Sgd)
        };
        Config {
            optimizer: OptimizerKind::Sgd,
            defaults: options,
            groups: vec![GroupConfig::catch_all(options)],
            schedule: Some(schedule),
            run: None,
            average: None,
        }
    }

    fn plateau(patience: u64) -> ScheduleConfig {
        let source = format!(
            "optimizer = sgd(lr = 1)\nschedule = plateau(factor = 0.5, patience = {patience})"
        );
        crate::Config::from_source("p.optim", &source)
            .unwrap()
            .schedule
            .unwrap()
    }

    /// `missing_metric` for a plateau in a `sequence` fires exactly when the real schedule,
    /// fed a metric that never improves, cannot lower the lr before the milestone.
    #[test]
    fn the_short_plateau_threshold_matches_the_runtime() {
        for patience in 0..6u64 {
            for runs in 1..patience + 6 {
                let config = config_with(ScheduleConfig::Sequence {
                    children: vec![
                        plateau(patience),
                        ScheduleConfig::Exponential { gamma: 1.0 },
                    ],
                    milestones: vec![runs],
                });
                let mut schedule = Schedule::new(&config);
                let mut lowered = false;
                for _ in 0..runs {
                    lowered |= schedule.lrs()[0] < 1.0;
                    schedule.step_with(0.0);
                }
                let source = format!(
                    "optimizer = sgd(lr = 1)\nschedule = sequence(plateau(factor = 0.5, patience = {patience}), exponential(gamma = 1), milestones = [{runs}])"
                );
                let warned = analyse(&source)
                    .iter()
                    .any(|d| d.code == Code::MissingMetric);
                assert_eq!(warned, !lowered, "patience {patience}, runs {runs}");
            }
        }
    }

    /// The schedules said to set the lr from scratch are exactly those that undo a chained
    /// plateau's reduction at the next step.
    #[test]
    fn from_scratch_schedules_undo_a_chained_plateau() {
        let leaves = [
            "lambda(e -> 0.99 ** e)",
            "multiplicative(e -> 0.99)",
            "step(step_size = 3, gamma = 0.9)",
            "multistep(milestones = [2, 4], gamma = 0.9)",
            "exponential(gamma = 0.99)",
            "constant(factor = 0.5, total_iters = 3)",
            "linear(start_factor = 0.5, total_iters = 3)",
            "polynomial(total_iters = 20, power = 1)",
            "cosine(t_max = 20)",
            "cosine_restarts(t_0 = 5)",
            "cyclic(base_lr = 0.1, max_lr = 1, step_size_up = 4)",
            "one_cycle(max_lr = 1, total_steps = 30)",
        ];
        for leaf in leaves {
            let run = |schedule: &str| {
                let source =
                    format!("optimizer = sgd(lr = 1, momentum = 0.9)\nschedule = {schedule}");
                let config = crate::Config::from_source("c.optim", &source).unwrap();
                let mut s = Schedule::new(&config);
                for _ in 0..8 {
                    s.step_with(0.0);
                }
                s.lrs()[0]
            };
            let alone = run(leaf);
            let chained = run(&format!(
                "chain({leaf}, plateau(factor = 0.5, patience = 0))"
            ));
            let config = crate::Config::from_source(
                "c.optim",
                &format!("optimizer = sgd(lr = 1, momentum = 0.9)\nschedule = {leaf}"),
            )
            .unwrap();
            // Six reductions by half compound to 1/64 unless the leaf undoes them.
            let undone = chained / alone > 0.25;
            assert_eq!(
                sets_lr_from_scratch(config.schedule.as_ref().unwrap()),
                undone,
                "{leaf}: alone {alone}, chained {chained}"
            );
        }
    }

    /// Running the schedule on a second thread changes nothing: the same diagnostics in the
    /// same order, on every fixture and example and on a large file of mixed schedules.
    #[test]
    fn the_parallel_analysis_says_what_the_serial_one_says() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut sources: Vec<String> = Vec::new();
        for dir in ["tests/fixtures/warnings", "examples"] {
            for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "optim") {
                    sources.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        assert!(sources.len() > 30, "{} files", sources.len());
        // Many groups with their own schedule (some breaking at various epochs), groups sharing
        // the file's, a plateau somewhere (so every schedule gets the metric).
        let mut big = String::from(
            "optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = chain(exponential(gamma = 0.9), plateau(patience = 2))\n",
        );
        for g in 0..300 {
            let schedule = match g % 6 {
                0 => format!("lambda(e -> 1 / (e - {}))", g % 17),
                1 => format!("lambda(e -> 1 - e / {})", 5 + g % 40),
                2 => format!("multiplicative(e -> if e < {} then 1 else 12)", g % 23),
                3 => format!("step(step_size = {}, gamma = 0)", 1 + g % 9),
                4 => "sequence(linear(total_iters = 10), cosine(t_max = 5), milestones = [4])"
                    .to_string(),
                _ => String::new(),
            };
            let field = if schedule.is_empty() {
                String::new()
            } else {
                format!(", schedule = {schedule}")
            };
            big.push_str(&format!("group g{g} {{ params = \"g{g}.*\"{field} }}\n"));
        }
        sources.push(big);
        let mut compared = 0;
        for source in &sources {
            let file = crate::parse::parse(source).unwrap();
            let checked = crate::check::check(&file);
            let Some(config) = checked.config else {
                continue;
            };
            for options in [Options::default(), Options { horizon: Some(7) }] {
                let serial = analyze_on(&checked.sources, source, &config, &options, false);
                let parallel = analyze_on(&checked.sources, source, &config, &options, true);
                assert_eq!(serial, parallel, "{source}");
                compared += serial.len();
            }
        }
        assert!(compared > 100, "{compared} diagnostics compared");
        // The large file is one that runs in parallel where there are two cores.
        let config = crate::Config::from_source("big.optim", sources.last().unwrap()).unwrap();
        let own = config
            .groups
            .iter()
            .filter(|g| g.schedule.is_some())
            .count();
        assert!(own >= PARALLEL_INSTANCES, "{own}");
    }

    #[test]
    fn the_seed_names_epoch_0_and_the_division() {
        let source = "optimizer = sgd(lr = 1e-2)\nschedule = lambda(epoch -> sin(epoch) / epoch)";
        let found = analyse(source);
        let d = found.iter().find(|d| d.code == Code::NonFiniteLr).unwrap();
        assert_eq!(d.message, "the lr becomes NaN at epoch 0");
        assert_eq!(&source[d.span.start..d.span.end], "sin(epoch) / epoch");
        assert_eq!(
            d.label,
            "`sin(epoch) / epoch` is 0 / 0 = NaN when epoch = 0"
        );
    }

    #[test]
    fn a_break_inside_a_let_is_named_where_the_let_is_written() {
        // A `let` constant that broke, and a `let` lambda inlined into the one that breaks.
        let source = "let c = log(0)\nlet f = x -> 1 / (x - 2)\noptimizer = sgd(lr = 1)\ngroup a { params = \"a.*\", schedule = lambda(e -> c * e) }\ngroup b { params = \"b.*\", schedule = lambda(e -> f(e)) }";
        let found = analyse(source);
        let labels: Vec<(&str, &str)> = found
            .iter()
            .filter(|d| d.code == Code::NonFiniteLr)
            .map(|d| (&source[d.span.start..d.span.end], d.label.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("log(0)", "`log(0)` is log(0) = -inf when e = 0"),
                ("1 / (x - 2)", "`1 / (x - 2)` is 1 / 0 = inf when e = 2"),
            ]
        );
    }

    #[test]
    fn a_nan_inside_a_sequence_is_found_in_the_running_child() {
        let source = "optimizer = sgd(lr = 1)\nschedule = sequence(linear(total_iters = 5), lambda(e -> 1 / (e - 3)), milestones = [5])";
        let found = analyse(source);
        let d = found.iter().find(|d| d.code == Code::NonFiniteLr).unwrap();
        // The lambda counts from its milestone: e = 3 is epoch 8.
        assert_eq!(d.message, "the lr becomes infinite at epoch 8");
        assert_eq!(&source[d.span.start..d.span.end], "1 / (e - 3)");
        assert!(d.label.ends_with("when e = 3"), "{}", d.label);
    }

    #[test]
    fn clean_schedules_get_no_warnings() {
        for schedule in [
            "step(step_size = 30)",
            "sequence(linear(start_factor = 0.01, total_iters = 5), cosine(t_max = 95), milestones = [5])",
            "lambda(e -> min(1, (e + 1) / 5) * 0.5 * (1 + cos(pi * e / 100)))",
            "one_cycle(max_lr = 0.1, total_steps = 100)",
            "chain(linear(start_factor = 0.1, total_iters = 3), exponential(gamma = 0.95))",
            "cosine(t_max = 100)",
            "plateau(patience = 3)",
            "lambda(e -> 0.1 ** (e // 30))",
        ] {
            let source = format!("optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = {schedule}");
            let found = analyse(&source);
            assert!(found.is_empty(), "{schedule}: {found:?}");
        }
    }

    #[test]
    fn a_linear_warmup_from_a_small_start_is_not_a_jump() {
        // Its first epoch rises 11-fold (1e-3 to 0.011 of the lr), but by as much as the next.
        for schedule in [
            "lambda(t -> if t < 100 then (1e-5 + t * ((0.01 - 1e-5) / 100)) / 0.01 else 1)",
            "lambda(e -> max(1e-4, 1 - e / 50))",
        ] {
            let source = format!("optimizer = sgd(lr = 0.01)\nschedule = {schedule}");
            let found = analyse(&source);
            assert!(found.is_empty(), "{schedule}: {found:?}");
        }
        // A cliff, or a steep geometric step, still is.
        for schedule in [
            "lambda(e -> if e < 5 then 0.01 else 1)",
            "lambda(e -> if e < 5 then 0.01 else 1 + e / 10)",
            "lambda(e -> min(1, 100 ** (e - 3)))",
            "lambda(e -> 0.95 ** (e * 100))",
        ] {
            let source = format!("optimizer = sgd(lr = 0.01)\nschedule = {schedule}");
            let found = analyse(&source);
            assert!(
                found.iter().any(|d| d.code == Code::LambdaJump),
                "{schedule}: {found:?}"
            );
        }
    }

    #[test]
    fn the_non_finite_fix_holds_over_the_horizon_or_is_not_offered() {
        let help = |schedule: &str| {
            let source = format!("optimizer = sgd(lr = 0.01)\nschedule = {schedule}");
            let found = analyse(&source);
            let d = found.iter().find(|d| d.code == Code::NonFiniteLr).unwrap();
            d.help.clone().unwrap()
        };
        // Broken at epoch 0 alone: guarding it is the fix.
        assert!(help("lambda(e -> 1 / sqrt(e))").contains("`e -> if e == 0 then 1 else"));
        // Broken from epoch 10 on: guarding epoch 10 would leave epoch 11 broken.
        let h = help("lambda(e -> log(10 - e))");
        assert!(!h.contains("if e =="), "{h}");
        assert!(h.contains("at 90 of epochs 0 to 99"), "{h}");
    }

    #[test]
    fn a_declared_run_is_the_horizon_in_its_unit() {
        // Without `run`, the analysis stops just after the decay's end and sees nothing.
        let decay = "optimizer = sgd(lr = 0.1)\nschedule = linear(start_factor = 1, end_factor = 0, total_iters = 1000)";
        assert!(analyse(decay).is_empty());
        let found = analyse(&format!("{decay}\nrun = per_step(steps = 2000)"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].message,
            "the lr reaches 0 at step 1000 and stays 0 until the end of the run (step 1999)"
        );
        // Per epoch, in epochs; a run that ends with the decay is fine.
        let found = analyse(&format!("{decay}\nrun = per_epoch(epochs = 1500)"));
        assert!(found[0].message.contains("at epoch 1000"), "{found:?}");
        assert!(analyse(&format!("{decay}\nrun = per_step(1001)")).is_empty());
        // A run too long to simulate is analysed over its first MAX_HORIZON steps, at once.
        let source = format!("{decay}\nrun = per_step(steps = 1_000_000_000_000)");
        let file = crate::parse::parse(&source).unwrap();
        let config = crate::check::check(&file).config.unwrap();
        assert_eq!(horizon(&config, &Options::default()), MAX_HORIZON);
        assert_eq!(horizon(&config, &Options { horizon: Some(7) }), 7);
        let found = analyse(&source);
        assert!(
            found[0]
                .message
                .ends_with("end of the horizon (step 999999)"),
            "{found:?}"
        );
    }

    #[test]
    fn a_frozen_group_is_not_stuck_at_zero() {
        // lr = 0 on purpose (a frozen backbone) stays 0: that is what was asked for.
        let source = "optimizer = sgd(lr = 0.1)\ngroup backbone { params = \"b.*\", lr = 0 }\ngroup head { params = \"h.*\" }\nschedule = step(step_size = 30)";
        assert!(analyse(source).is_empty());
        // The same file with a schedule that zeroes the head is reported for the head only.
        let source = source.replace("step(step_size = 30)", "step(step_size = 30, gamma = 0)");
        let found = analyse(&source);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].message,
            "the lr of group `head` reaches 0 at epoch 30 and stays 0 until the end of the horizon (epoch 99)"
        );
    }

    /// The spans come from the checker: through `let` names and the branch of an `if` it took,
    /// to the child as it is used and the milestone as it is written.
    #[test]
    fn a_cut_short_child_is_found_through_lets_and_ifs() {
        let source = "optimizer = sgd(lr = 1)\n\
            let short = 1\n\
            let warm = linear(start_factor = 0.1, total_iters = 10)\n\
            let plan = if short == 1 then sequence(warm, cosine(t_max = 50), milestones = [5]) \
            else sequence(warm, cosine(t_max = 50), milestones = [20])\n\
            schedule = (plan)\n";
        let found = analyse(source);
        let d = found
            .iter()
            .find(|d| d.code == Code::ScheduleCutShort)
            .unwrap();
        let then = source.find("then").unwrap();
        assert_eq!(d.span.start, then + source[then..].find("warm").unwrap());
        assert_eq!(&source[d.span.start..d.span.end], "warm");
        let milestone = d.related[0].span;
        assert_eq!(
            milestone.start,
            then + source[then..].find("[5]").unwrap() + 1
        );
        assert_eq!(&source[milestone.start..milestone.end], "5");
    }

    #[test]
    fn a_bad_horizon_is_clamped_not_trusted() {
        let source = "optimizer = sgd(lr = 1)\nschedule = polynomial(total_iters = 5)";
        let file = crate::parse::parse(source).unwrap();
        let checked = crate::check::check(&file);
        let config = checked.config.unwrap();
        for horizon in [0, 1, 6, u64::MAX] {
            let found = analyze(
                &checked.sources,
                source,
                &config,
                &Options {
                    horizon: Some(horizon),
                },
            );
            assert_eq!(found.len(), usize::from(horizon > 6), "horizon {horizon}");
        }
    }
}

//! Export: a checked [`Config`] written out for other tools, and read back.
//!
//! - JSON and TOML through serde ([`to_json`], [`to_toml`], [`Config::from_json`],
//!   [`Config::from_toml`]): every default filled in, `let`s substituted, groups in declaration
//!   order, lambdas as text (`"e -> 0.95 ** e"`). A hand-written or edited file may leave
//!   optimizer options (and `groups`) out; it is checked on the way in with the checker's rules
//!   (per-group list lengths, milestone counts, value ranges, PyTorch's optimizer argument
//!   checks, no unknown keys), and refused with diagnostics pointing into it.
//! - A Python snippet that builds the same `torch.optim` optimizer and scheduler
//!   ([`pytorch::to_pytorch`]).

pub mod pytorch;

use crate::ast::Span;
use crate::config::{
    AverageConfig, Config, GroupConfig, HyperparamOverrides, Hyperparams, OptimizerKind, PerGroup,
    Run, ScheduleConfig,
};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::error::Error;
use crate::schedule::{ParamValue, Range};
use serde::Deserialize;

/// The configuration as pretty-printed JSON (numbers round-trip exactly).
pub fn to_json(config: &Config) -> String {
    let mut text = crate::limits::with_stack(crate::limits::PASS_STACK, || {
        serde_json::to_string_pretty(config)
    })
    .expect("a Config always serializes");
    text.push('\n');
    text
}

/// The configuration as TOML: top-level `optimizer`, then `[defaults]`, `[schedule]` and one
/// `[[groups]]` table per group. `[defaults]` and each group's `[groups.options]` hold only the
/// options the optimizer takes (every one, PyTorch's default where the file gives none): the
/// others are values no step reads, which [`Config::from_toml`] puts back.
pub fn to_toml(config: &Config) -> String {
    let text = crate::limits::with_stack(crate::limits::PASS_STACK, || {
        crate::config::writing_toml(|| toml::to_string(config))
    })
    .expect("a Config always serializes to TOML");
    only_taken_options(&text, config.optimizer)
}

/// `text` (TOML written from a `Config`) without the `key = value` lines of the options tables
/// (`[defaults]`, `[groups.options]`) whose key is not an option `optimizer` takes. Each option
/// is one line there: numbers, booleans and pairs are written inline.
fn only_taken_options(text: &str, optimizer: OptimizerKind) -> String {
    let taken: Vec<&str> = optimizer
        .options()
        .0
        .iter()
        .map(|o| o.field_name())
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut in_options = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_options = trimmed == "[defaults]" || trimmed == "[groups.options]";
        } else if in_options {
            if let Some((key, _)) = trimmed.split_once(" = ") {
                if !taken.contains(&key) {
                    continue;
                }
            }
        }
        out.push_str(line);
    }
    out
}

impl Config {
    /// Reads a configuration written as TOML (what `optimc export --to toml` prints), and checks
    /// it as the checker checks a `.optim` file. A refused text is an [`Error`] of kind
    /// [`Config`](crate::error::ErrorKind::Config), whose diagnostics are about the file
    /// `<toml>`.
    ///
    /// ```
    /// let config = optimc::Config::from_source("a.optim", "optimizer = sgd(lr = 0.1)\nschedule = step(5)").unwrap();
    /// let text = optimc::export::to_toml(&config);
    /// assert_eq!(optimc::Config::from_toml(&text).unwrap(), config);
    /// assert!(optimc::Config::from_toml(&text.replace("step_size = 5", "step_size = 0")).is_err());
    /// ```
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        crate::limits::with_stack(crate::limits::PASS_STACK, || Config::from_toml_text(text))
            .map_err(Error::from)
    }

    fn from_toml_text(text: &str) -> Result<Config, Diagnostics> {
        let config: Written = toml::from_str(text).map_err(|e| {
            let span = e
                .span()
                .map_or(Span::new(0, 0), |r| Span::new(r.start, r.end));
            let message = e.message().to_string();
            refused("<toml>", text, vec![serde_problem(span, message)])
        })?;
        validated("<toml>", text, config.resolve(), Syntax::Toml)
    }

    /// Reads a configuration written as JSON (what `optimc export --to json` prints), and checks
    /// it as [`Config::from_toml`] does.
    pub fn from_json(text: &str) -> Result<Config, Error> {
        crate::limits::with_stack(crate::limits::PASS_STACK, || Config::from_json_text(text))
            .map_err(Error::from)
    }

    fn from_json_text(text: &str) -> Result<Config, Diagnostics> {
        let config: Written = serde_json::from_str(text).map_err(|e| {
            let at = offset_of(text, e.line(), e.column());
            let message = e.to_string();
            // serde_json appends " at line L column C"; the caret shows where.
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            refused(
                "<json>",
                text,
                vec![serde_problem(Span::new(at, at), message)],
            )
        })?;
        validated("<json>", text, config.resolve(), Syntax::Json)
    }
}

/// A configuration as a person may write it: what `export` prints, or less. Options left out
/// take PyTorch's defaults (`defaults`) or the optimizer's (a group's `options`); without
/// `groups` there is one group `default` with `params = ["*"]`, as in a `.optim` file. Unknown
/// keys are refused, so that a misspelt option is not silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    optimizer: OptimizerKind,
    #[serde(default)]
    defaults: HyperparamOverrides,
    #[serde(default)]
    groups: Vec<WrittenGroup>,
    #[serde(default)]
    schedule: Option<ScheduleConfig>,
    #[serde(default)]
    run: Option<Run>,
    #[serde(default)]
    average: Option<AverageConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenGroup {
    name: String,
    params: Vec<String>,
    #[serde(default)]
    options: HyperparamOverrides,
    #[serde(default)]
    schedule: Option<ScheduleConfig>,
    #[serde(default = "one")]
    lr_scale: f64,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    ndim: crate::config::NdimRange,
}

fn one() -> f64 {
    1.0
}

impl Written {
    fn resolve(self) -> Config {
        let defaults = self.defaults.over(Hyperparams::defaults(self.optimizer));
        let groups = if self.groups.is_empty() {
            vec![GroupConfig::catch_all(defaults)]
        } else {
            self.groups
                .into_iter()
                .map(|g| GroupConfig {
                    name: g.name,
                    params: g.params,
                    options: g.options.over(defaults),
                    schedule: g.schedule,
                    lr_scale: g.lr_scale,
                    exclude: g.exclude,
                    ndim: g.ndim,
                })
                .collect()
        };
        let mut config = Config {
            optimizer: self.optimizer,
            defaults,
            groups,
            schedule: self.schedule,
            run: self.run,
            average: self.average,
        };
        config.resolve_from_optimizer();
        config
    }
}

fn serde_problem(span: Span, message: String) -> Diagnostic {
    Diagnostic::error(Code::TypeMismatch, span, message)
        .with_label("here")
        .with_help(
            "compare with the output of `optimc export FILE --to json|toml`: optimizer options may \
             be left out, schedule arguments may not; counts are whole numbers; lambdas are \
             strings like \"e -> 0.95 ** e\"",
        )
}

fn refused(file_name: &str, source: &str, items: Vec<Diagnostic>) -> Diagnostics {
    Diagnostics {
        file_name: file_name.to_string(),
        source: source.to_string(),
        items,
    }
}

/// The byte offset of 1-based `line` and `column` (serde_json's position of an error).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)).min(text.len())
}

#[derive(Clone, Copy)]
enum Syntax {
    Toml,
    Json,
}

/// Where `key` is first written in `text` (best effort: the message names the full path).
fn locate(text: &str, key: &str, syntax: Syntax) -> Span {
    let pattern = match syntax {
        Syntax::Toml => key.to_string(),
        Syntax::Json => format!("\"{key}\""),
    };
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(i) = text[from..].find(&pattern) {
        let at = from + i;
        let end = at + pattern.len();
        let clean_start = at == 0 || !word(bytes[at - 1]);
        let clean_end = end >= bytes.len() || !word(bytes[end]);
        if clean_start && clean_end {
            return Span::new(at, end);
        }
        from = end;
    }
    Span::new(0, 0)
}

fn validated(
    file_name: &str,
    text: &str,
    config: Config,
    syntax: Syntax,
) -> Result<Config, Diagnostics> {
    let problems = problems(&config);
    if problems.is_empty() {
        return Ok(config);
    }
    // Locating a problem searches the text: report a bounded number of them.
    let mut problems = problems;
    let more = problems
        .len()
        .saturating_sub(crate::limits::MAX_DIAGNOSTICS);
    problems.truncate(crate::limits::MAX_DIAGNOSTICS);
    let mut items: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| {
            Diagnostic::error(
                p.code,
                locate(text, p.key, syntax),
                format!("{}: {}", p.path, p.message),
            )
            .with_label(format!("`{}`", p.key))
            .with_help(p.help)
        })
        .collect();
    if more > 0 {
        items.push(
            Diagnostic::error(
                Code::TooLarge,
                Span::new(0, 0),
                format!(
                    "{more} more problems are not shown; optimc reports the first {}",
                    crate::limits::MAX_DIAGNOSTICS
                ),
            )
            .with_help("fix the problems above and check again"),
        );
    }
    Err(refused(file_name, text, items))
}

/// One thing wrong with a deserialized configuration.
struct Problem {
    code: Code,
    /// Where, e.g. `groups[1].options` or `schedule.children[0]`.
    path: String,
    /// The field at fault.
    key: &'static str,
    message: String,
    help: String,
}

/// `config` if it passes the checker's rules, else every problem, one per line: what
/// deserializing a [`Config`] directly (without [`Config::from_json`]) reports.
pub(crate) fn checked(config: Config) -> Result<Config, String> {
    let problems = problems(&config);
    if problems.is_empty() {
        return Ok(config);
    }
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {} ({})", p.path, p.message, p.help))
        .collect();
    Err(format!("invalid configuration: {}", lines.join("; ")))
}

/// The checker's rules, applied to a configuration that did not come from a `.optim` file.
fn problems(config: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |code, path: &str, key, message: String, help: &str| {
        out.push(Problem {
            code,
            path: path.to_string(),
            key,
            message,
            help: help.to_string(),
        })
    };
    if config.groups.is_empty() {
        push(
            Code::MissingParams,
            "groups",
            "groups",
            "there must be at least one group".into(),
            "add a group with `params = [\"*\"]`",
        );
    }
    let mut option_sets = vec![("defaults".to_string(), &config.defaults)];
    for (i, g) in config.groups.iter().enumerate() {
        let path = format!("groups[{i}] ({:?})", g.name);
        if g.params.is_empty() {
            push(
                Code::MissingParams,
                &path,
                "params",
                "`params` is empty, so the group can hold no parameter".into(),
                "give at least one glob pattern, e.g. `params = [\"head.*\"]`",
            );
        }
        if config.groups[..i].iter().any(|h| h.name == g.name) {
            push(
                Code::DuplicateDefinition,
                &path,
                "name",
                format!("the group name {:?} is used twice", g.name),
                "give every group its own name",
            );
        }
        if !(g.lr_scale >= 0.0 && g.lr_scale.is_finite()) {
            push(
                Code::OutOfRange,
                &path,
                "lr_scale",
                format!(
                    "`lr_scale` must be a finite number >= 0, not {}",
                    crate::diagnostic::text::format_number(g.lr_scale)
                ),
                "every lr of the group is multiplied by it: give a factor such as 0.75 ** 3",
            );
        }
        if g.ndim.max.is_some_and(|max| max < g.ndim.min) {
            push(
                Code::OutOfRange,
                &path,
                "ndim",
                format!(
                    "`ndim` keeps no number of dimensions: {}",
                    g.ndim.to_source()
                ),
                "give `min` at most `max`",
            );
        }
        option_sets.push((format!("{path}.options"), &g.options));
    }
    for (path, hp) in option_sets {
        for p in crate::config::validate(config.optimizer, hp) {
            push(Code::OutOfRange, &path, p.option.name(), p.message, &p.help);
        }
    }
    let cycles = config
        .schedule
        .iter()
        .chain(config.groups.iter().filter_map(|g| g.schedule.as_ref()));
    if cycles.clone().any(ScheduleConfig::cycles_momentum)
        && !config.optimizer.has_momentum()
        && !config.optimizer.has_betas()
    {
        if cycles.clone().any(|s| s.momentum_setters().0 > 0) {
            push(
                Code::InvalidCombination,
                "schedule",
                "start_momentum",
                format!(
                    "a warmup has `start_momentum` but {} has neither `momentum` nor `betas`",
                    config.optimizer.name()
                ),
                "remove `start_momentum`, or use an optimizer with momentum (sgd, rmsprop) or betas",
            );
        } else {
            push(
                Code::InvalidCombination,
                "schedule",
                "cycle_momentum",
                format!(
                    "`cycle_momentum` is true but {} has neither `momentum` nor `betas`",
                    config.optimizer.name()
                ),
                "set `cycle_momentum = false`, or use an optimizer with momentum (sgd, rmsprop) or betas",
            );
        }
    }
    for s in cycles {
        if let (warmups @ 1.., setters @ 2..) = s.momentum_setters() {
            push(
                Code::InvalidCombination,
                "schedule",
                "start_momentum",
                format!(
                    "a warmup has `start_momentum` but {} other part{} of the same schedule set{} momentum too",
                    setters - 1,
                    if setters == 2 { "" } else { "s" },
                    if setters == 2 { "s" } else { "" },
                ),
                if warmups == setters {
                    "keep `start_momentum` on one warmup"
                } else {
                    "set momentum in one place: remove `start_momentum`, or set `cycle_momentum = false`"
                },
            );
        }
    }
    let n = config.groups.len();
    if let Some(s) = &config.schedule {
        schedule_problems(s, "schedule", n, &mut out);
    }
    for (i, g) in config.groups.iter().enumerate() {
        if let Some(s) = &g.schedule {
            schedule_problems(s, &format!("groups[{i}].schedule"), n, &mut out);
        }
    }
    if let Some(message) = config.run.and_then(|r| r.problem()) {
        out.push(Problem {
            code: Code::OutOfRange,
            path: "run".into(),
            key: "run",
            message,
            help: "give the run's length once: `steps`, or `epochs` (with `steps_per_epoch` to \
                   know the steps)"
                .into(),
        });
    }
    if let Some(AverageConfig::Ema { decay, .. }) = config.average {
        if !(0.0..=1.0).contains(&decay) {
            out.push(Problem {
                code: Code::OutOfRange,
                path: "average".into(),
                key: "decay",
                message: format!("`decay` must be between 0 and 1, not {decay}"),
                help: "PyTorch's get_ema_multi_avg_fn refuses it too; e.g. `decay = 0.999`".into(),
            });
        }
    }
    out
}

fn schedule_problems(s: &ScheduleConfig, path: &str, groups: usize, out: &mut Vec<Problem>) {
    let mut sink = Sink { out, path };
    let info = s.kind().info();
    let params = s.params();
    // PyTorch's ranges (the table's, as the checker applies them), then every other number's
    // finiteness, then the per-group lists.
    let mut finite: Vec<(&'static str, f64)> = Vec::new();
    let mut per_group: Vec<(&'static str, &PerGroup, Option<Range>)> = Vec::new();
    for &(key, value) in &params {
        let range = info.param(key).range;
        match (value, range) {
            (ParamValue::Number(v), Some(r)) => sink.range(key, v, r.admits(v), r.expected()),
            (ParamValue::Whole(v), Some(r)) => {
                sink.range(key, v as f64, r.admits(v as f64), r.expected())
            }
            (ParamValue::Number(v), None) => finite.push((key, v)),
            (ParamValue::PerGroup(v), range) => per_group.push((key, v, range)),
            _ => {}
        }
    }
    match s {
        ScheduleConfig::Chain { children } if children.is_empty() => {
            sink.push(
                Code::MissingArgument,
                "children",
                "`chain` needs at least one schedule".into(),
                "list the schedules to compose in `children`".into(),
            );
        }
        ScheduleConfig::Sequence {
            children,
            milestones,
        } => {
            if children.is_empty() {
                sink.push(
                    Code::MissingArgument,
                    "children",
                    "`sequence` needs at least one schedule".into(),
                    "list the schedules to run one after another in `children`".into(),
                );
            } else if milestones.len() + 1 != children.len() {
                sink.push(
                    Code::MilestoneCount,
                    "milestones",
                    format!(
                        "`sequence` has {} schedules, so it needs {} milestones, not {}",
                        children.len(),
                        children.len() - 1,
                        milestones.len()
                    ),
                    "give one milestone per schedule after the first".into(),
                );
            }
        }
        // The other kinds' problems are their parameters' (above).
        _ => {}
    }
    for (key, value) in finite {
        sink.range(key, value, true, "a finite number");
    }
    for (key, value, range) in per_group {
        let (admits, expected) = match range {
            Some(r) => (Some(r), r.expected()),
            None => (None, "a finite number"),
        };
        let ok = |v: f64| admits.is_none_or(|r| r.admits(v));
        match value {
            PerGroup::All(v) => sink.range(key, *v, ok(*v), expected),
            PerGroup::Each(vs) => {
                if vs.len() != groups {
                    sink.push(
                        Code::GroupCountMismatch,
                        key,
                        format!(
                            "`{key}` has {} entries but there are {groups} groups",
                            vs.len()
                        ),
                        format!("give one `{key}` per group, in the order of `groups`, or a single number"),
                    );
                }
                for v in vs {
                    sink.range(key, *v, ok(*v), expected);
                }
            }
        }
    }
    match s {
        ScheduleConfig::Warmup { then, .. } => {
            schedule_problems(then, &format!("{path}.then"), groups, sink.out)
        }
        s => {
            for (i, child) in s.children().iter().enumerate() {
                schedule_problems(child, &format!("{path}.children[{i}]"), groups, sink.out);
            }
        }
    }
}

/// Collects the problems of one schedule.
struct Sink<'o, 'p> {
    out: &'o mut Vec<Problem>,
    path: &'p str,
}

impl Sink<'_, '_> {
    fn push(&mut self, code: Code, key: &'static str, message: String, help: String) {
        self.out.push(Problem {
            code,
            path: self.path.to_string(),
            key,
            message,
            help,
        });
    }

    /// Reports `key` unless `ok` and finite.
    fn range(&mut self, key: &'static str, value: f64, ok: bool, expected: &str) {
        if !ok || !value.is_finite() {
            self.push(
                Code::OutOfRange,
                key,
                format!(
                    "`{key}` must be {expected}, not {}",
                    crate::diagnostic::text::format_number(value)
                ),
                format!("PyTorch refuses this value too; choose `{key}` {expected}"),
            );
        }
    }
}

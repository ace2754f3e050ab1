//! Checking: [`ast::File`] → [`Config`], reporting every problem found in one run.
//!
//! The checker resolves `let` names (defined once, before use), binds call arguments in PyTorch's
//! positional order or by name, checks each value's type and range, and fills in PyTorch's defaults.
//! It never stops at the first error: a value that fails is reported and replaced by a harmless
//! stand-in so that the rest of the file is still checked.
//!
//! One file per concern: `scope` (the `let` names, and names that are not defined), `values`
//! (evaluating expressions to check-time values), `args` (binding a call's arguments to
//! parameters, and the typed readers of one argument), `schedules` (one small builder per
//! schedule kind), `optimizer` (the optimizer call and the groups) and `lints/` (warnings about
//! files that work but probably do not do what was meant, one file per lint).

mod args;
mod average;
mod lints;
mod optimizer;
mod run;
mod schedules;
mod scope;
mod values;

use crate::ast::{self, Span, Statement};
use crate::config::{Config, GroupConfig, Hyperparams, OptimizerKind, Run, ScheduleConfig};
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::{self, Lambda};
use optimizer::GroupOverrides;
use std::cell::Cell;
use std::collections::HashMap;

/// The outcome of checking a file: the configuration if there were no errors, and every
/// diagnostic (errors and warnings), sorted by position.
#[derive(Debug)]
pub struct Checked {
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
    /// Where the config's schedules are written, for the [`analysis`](crate::analysis)
    /// (empty without a config).
    pub sources: Sources,
}

/// Where one schedule of the config is written, as the checker found it while building the
/// schedule (`let` names followed, `if`s decided as it decided them), so that the analysis can
/// point at the source without walking the tree again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScheduleSource {
    /// Where it is used (e.g. the name of a `let` inside `sequence(...)`).
    pub at: Span,
    /// The children of `chain` and `sequence`, in order; `warmup`'s `then`.
    pub children: Vec<ScheduleSource>,
    /// The spans of a `sequence`'s milestones.
    pub milestones: Vec<Span>,
    /// Each argument written in the call, by parameter name, with the span of `name = value`
    /// (or of the value, given by position): where a lint points to say "change this".
    pub args: Vec<(&'static str, Span)>,
}

impl ScheduleSource {
    /// The source of child `k` of a `chain` or `sequence`.
    pub fn child(&self, k: usize) -> Option<&ScheduleSource> {
        self.children.get(k)
    }

    /// Where argument `name` is written, if it is.
    pub fn arg(&self, name: &str) -> Option<Span> {
        self.args.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }
}

/// The source of the file's schedule and of each group's own, beside [`Config::schedule`] and
/// [`Config::groups`] (by index).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    pub file: Option<ScheduleSource>,
    pub groups: Vec<Option<ScheduleSource>>,
    /// Where the run's length is written: the `run = ...` statement's argument that gives it
    /// in the unit the schedule steps in (`steps = 10000` of `per_step`), else the call.
    pub run: Option<Span>,
}

/// Checks a parsed file. Safe on a thread of any stack size: see [`crate::limits`].
pub fn check(file: &ast::File) -> Checked {
    crate::limits::with_stack(crate::limits::PASS_STACK, || check_file(file))
}

fn check_file(file: &ast::File) -> Checked {
    let mut checker = Checker::new(file);
    let config = checker.run(file);
    if let Some(c) = &config {
        checker.lint_rprop_schedule(c);
        checker.lint_rprop_lr_scale(c);
        checker.lint_ignored_lr(c);
        checker.lint_warmup_momentum_to_zero(c);
    }
    // An error can stop evaluation before a name is reached; only a clean file says "unused".
    if checker.error_count() == 0 {
        checker.lint_unused_lets();
    }
    let mut diagnostics = checker.diags;
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    let (config, sources) = if diagnostics.iter().any(Diagnostic::is_error) {
        (None, Sources::default())
    } else {
        (config, std::mem::take(&mut checker.sources))
    };
    Checked {
        config,
        diagnostics,
        sources,
    }
}

/// A value computed at check time.
#[derive(Clone, Debug)]
enum Value {
    Number(f64),
    Bool(bool),
    Str(String),
    /// A bare name that is not defined: an enum word where the context takes one.
    Word(String),
    List(Vec<Item>),
    Tuple(Vec<Item>),
    /// A schedule, with where its children, milestones and arguments are written (boxed: the
    /// other values are small).
    Schedule(ScheduleConfig, Box<ScheduleSource>),
    Lambda(Lambda),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Number(v) => {
                format!("the number {}", crate::diagnostic::text::format_number(*v))
            }
            Value::Bool(b) => format!("`{b}`"),
            Value::Str(_) => "a string".into(),
            Value::Word(w) => format!("the undefined name `{w}`"),
            Value::List(_) => "a list".into(),
            Value::Tuple(_) => "a tuple".into(),
            Value::Schedule(..) => "a schedule".into(),
            Value::Lambda(_) => "a lambda".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Item {
    value: Value,
    span: Span,
}

/// What the file says about one `let` name.
struct LetEntry {
    span: Span,
    /// `None` until its statement has been checked, or if its value had errors.
    value: Option<Value>,
    defined: bool,
    /// For a number that came out NaN or infinite, the operation that broke, which the
    /// analysis names when a lambda using it breaks.
    fault: Option<expr::Fault>,
    /// Whether anything refers to it (for the `unused_let` lint).
    used: Cell<bool>,
}

struct Checker {
    diags: Vec<Diagnostic>,
    lets: HashMap<String, LetEntry>,
    group_count: usize,
    /// Optimizer kind once known (the statement may come after groups and schedules).
    optimizer: Option<OptimizerKind>,
    /// Calls that cycle momentum (`false`) or warm it up (`true`: `start_momentum`), checked
    /// against the optimizer at the end.
    momentum_cyclers: Vec<(Span, bool)>,
    /// Each `warmup_polynomial`'s `lr_end`, its `lr_init` if given and where `lr_end` is written:
    /// transformers refuses an `lr_end` not below `lr_init` (the optimizer's lr by default).
    polynomial_ends: Vec<(f64, Option<f64>, Span)>,
    /// Each group's name and `params` patterns with their spans, for the `shadowed_group` lint.
    /// (The patterns themselves are the group's `params`: by index into the groups, the span of
    /// the group's name and of each pattern.)
    group_patterns: Vec<(usize, Span, Vec<Span>)>,
    /// How many groups have been checked so far.
    groups_checked: usize,
    /// What the file's lambdas may still inline (see [`crate::limits::MAX_INLINED_OPS`]).
    inline_budget: expr::InlineBudget,
    /// The errors among `diags[..counted.1]` is `counted.0` (see [`Checker::error_count`]).
    counted: Cell<(usize, usize)>,
    /// Whether the expression being evaluated is inside one that [`Checker::guard_depth`]
    /// accepted: every sub-expression of an accepted expression is accepted too.
    guarded: bool,
    /// The name span of the `let` whose value is being checked, which that value cannot use.
    current_let: Option<Span>,
    /// Where the file's schedule and each group's are written (see [`Checked::sources`]).
    sources: Sources,
    /// The children and milestones of the `chain` or `sequence` just built, which
    /// [`Checker::schedule_call`] takes (a builder returns only the config).
    built_source: Option<ScheduleSource>,
    /// Where the optimizer's `lr` and each group's `lr` and `lr_scale` are written (by group
    /// index), for the lints about an lr that changes nothing.
    lr_spans: LrSpans,
}

/// Where lrs are written: `lr = ...` in the optimizer call, and per group (by index) its `lr` and
/// `lr_scale` fields.
#[derive(Default)]
struct LrSpans {
    optimizer_lr: Option<Span>,
    /// `(lr, lr_scale)` of each group.
    groups: Vec<(Option<Span>, Option<Span>)>,
}

impl Checker {
    fn new(file: &ast::File) -> Self {
        let mut lets: HashMap<String, LetEntry> = HashMap::new();
        let mut diags = Vec::new();
        let mut group_count = 0;
        for st in &file.statements {
            match st {
                Statement::Let { name, .. } => {
                    if let Some(first) = lets.get(&name.name) {
                        diags.push(
                            Diagnostic::error(
                                Code::DuplicateDefinition,
                                name.span,
                                format!("`{}` is defined twice", name.name),
                            )
                            .with_label("defined again here")
                            .with_related(first.span, "first defined here")
                            .with_help(format!(
                                "a `let` name is defined once; rename one of them or remove one definition of `{}`",
                                name.name
                            )),
                        );
                    } else {
                        lets.insert(
                            name.name.clone(),
                            LetEntry {
                                span: name.span,
                                value: None,
                                defined: false,
                                fault: None,
                                used: Cell::new(false),
                            },
                        );
                    }
                }
                Statement::Group { .. } => group_count += 1,
                _ => {}
            }
        }
        Checker {
            diags,
            lets,
            group_count: group_count.max(1),
            optimizer: None,
            momentum_cyclers: Vec::new(),
            polynomial_ends: Vec::new(),
            group_patterns: Vec::with_capacity(group_count),
            groups_checked: 0,
            inline_budget: expr::InlineBudget::default(),
            counted: Cell::new((0, 0)),
            guarded: false,
            current_let: None,
            sources: Sources {
                file: None,
                groups: Vec::with_capacity(group_count),
                run: None,
            },
            built_source: None,
            lr_spans: LrSpans::default(),
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn run(&mut self, file: &ast::File) -> Option<Config> {
        self.check_singletons(file);

        let mut defaults: Option<Hyperparams> = None;
        // Sized once: a large file's groups would otherwise be copied each time they outgrow
        // their vector (`new` counted them).
        let mut groups: Vec<GroupConfig> = Vec::with_capacity(self.group_count);
        let mut group_names: HashMap<&str, Span> = HashMap::with_capacity(self.group_count);
        let mut schedule: Option<ScheduleConfig> = None;
        let mut run: Option<Run> = None;
        let mut seen_run = false;
        let mut seen_optimizer = false;
        let mut seen_schedule = false;
        let mut average = None;
        let mut seen_average = false;
        // Group options are applied on top of the optimizer's values, which may be defined later
        // in the file; keep each group's overrides and apply them at the end.
        let mut overrides: Vec<GroupOverrides> = Vec::with_capacity(self.group_count);

        for st in &file.statements {
            match st {
                Statement::Let { name, value, .. } => {
                    self.current_let = Some(name.span);
                    let v = self.arg_value(value);
                    self.current_let = None;
                    let fault = match v {
                        Some(Value::Number(n)) if !n.is_finite() => self.fault_in(value),
                        _ => None,
                    };
                    if let Some(entry) = self.lets.get_mut(&name.name) {
                        if entry.span == name.span {
                            entry.defined = true;
                            entry.value = v;
                            entry.fault = fault;
                        }
                    }
                }
                Statement::Optimizer { call, .. } => {
                    if seen_optimizer {
                        continue;
                    }
                    seen_optimizer = true;
                    defaults = self.optimizer_call(call);
                }
                Statement::Group { name, fields, .. } => {
                    if let Some(first) = group_names.get(name.name.as_str()) {
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateDefinition,
                                name.span,
                                format!("group `{}` is defined twice", name.name),
                            )
                            .with_label("second definition")
                            .with_related(*first, "first defined here")
                            .with_help("give each group its own name"),
                        );
                    } else {
                        group_names.insert(&name.name, name.span);
                    }
                    let (group, opts) = self.group(name, fields);
                    groups.push(group);
                    overrides.push(opts);
                }
                Statement::Schedule { value, .. } => {
                    if seen_schedule {
                        continue;
                    }
                    seen_schedule = true;
                    let built = self.schedule_value(value);
                    (schedule, self.sources.file) = built.unzip();
                }
                Statement::Run { call, .. } => {
                    if seen_run {
                        continue;
                    }
                    seen_run = true;
                    run = self.run_call(call);
                    self.sources.run = run.map(|r| self.run_length_span(call, r));
                }
                Statement::Average { call, .. } => {
                    if seen_average {
                        continue;
                    }
                    seen_average = true;
                    average = self.average_call(call);
                }
            }
        }
        self.check_momentum_cyclers();
        if let Some(s) = &schedule {
            let source = self.sources.file.clone();
            self.check_momentum_setters(s, source.as_ref());
        }
        for (k, g) in groups.iter().enumerate() {
            if let Some(s) = &g.schedule {
                let source = self.sources.groups.get(k).cloned().flatten();
                self.check_momentum_setters(s, source.as_ref());
            }
        }

        let kind = self.optimizer?;
        let defaults = defaults?;
        self.finish_groups(&mut groups, overrides, kind, defaults);
        self.check_polynomial_ends(defaults.lr);
        let mut config = Config {
            optimizer: kind,
            defaults,
            groups,
            schedule,
            run,
            average,
        };
        config.resolve_from_optimizer();
        Some(config)
    }

    /// Reports a second `optimizer = ...` or `schedule = ...`, or no optimizer at all, and notes
    /// the optimizer's kind: it decides which options groups may set, so it is found first.
    fn check_singletons(&mut self, file: &ast::File) {
        let mut optimizer_stmt: Option<(&ast::Call, Span)> = None;
        let mut schedule_stmt: Option<Span> = None;
        let mut run_stmt: Option<Span> = None;
        let mut average_stmt: Option<Span> = None;
        for st in &file.statements {
            match st {
                Statement::Optimizer { call, keyword, .. } => {
                    if let Some((_, first)) = optimizer_stmt {
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateStatement,
                                *keyword,
                                "`optimizer = ...` appears twice",
                            )
                            .with_label("second optimizer")
                            .with_related(first, "first optimizer")
                            .with_help("a file has exactly one optimizer; remove one of them"),
                        );
                    } else {
                        optimizer_stmt = Some((call, *keyword));
                        self.optimizer = OptimizerKind::from_name(&call.name.name);
                    }
                }
                Statement::Schedule { keyword, .. } => {
                    if let Some(first) = schedule_stmt {
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateStatement,
                                *keyword,
                                "`schedule = ...` appears twice",
                            )
                            .with_label("second schedule")
                            .with_related(first, "first schedule")
                            .with_help("combine them with `chain(a, b)` (both apply every epoch) or `sequence(a, b, milestones = [m])` (one after the other)"),
                        );
                    } else {
                        schedule_stmt = Some(*keyword);
                    }
                }
                Statement::Run { keyword, .. } => {
                    if let Some(first) = run_stmt {
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateStatement,
                                *keyword,
                                "`run = ...` appears twice",
                            )
                            .with_label("second run")
                            .with_related(first, "first run")
                            .with_help("a file declares its run once; remove one of them"),
                        );
                    } else {
                        run_stmt = Some(*keyword);
                    }
                }
                Statement::Average { keyword, .. } => {
                    if let Some(first) = average_stmt {
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateStatement,
                                *keyword,
                                "`average = ...` appears twice",
                            )
                            .with_label("second average")
                            .with_related(first, "first average")
                            .with_help("a file keeps at most one average; remove one of them"),
                        );
                    } else {
                        average_stmt = Some(*keyword);
                    }
                }
                _ => {}
            }
        }
        if optimizer_stmt.is_none() {
            let at = file
                .statements
                .first()
                .map(|s| Span::new(s.span().start, s.span().start))
                .unwrap_or_default();
            self.error(
                Diagnostic::error(Code::MissingOptimizer, at, "this file has no optimizer")
                    .with_label("expected `optimizer = ...` in this file")
                    .with_help("add a line such as `optimizer = sgd(lr = 0.1, momentum = 0.9)`"),
            );
        }
    }

    /// How many errors `diags` holds. Diagnostics are only ever appended until the checker
    /// is done, so only those added since the last call are counted (this is called for every
    /// call in the file; counting them all each time would be quadratic).
    fn error_count(&self) -> usize {
        let (mut errors, seen) = self.counted.get();
        debug_assert!(seen <= self.diags.len(), "diagnostics were removed");
        errors += self.diags[seen..].iter().filter(|d| d.is_error()).count();
        self.counted.set((errors, self.diags.len()));
        errors
    }
}

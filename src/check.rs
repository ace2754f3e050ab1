//! Checking: [`ast::File`] → [`Config`], reporting every problem found in one run.
//!
//! The checker resolves `let` names (defined once, before use), binds call arguments in PyTorch's
//! positional order or by name, checks each value's type and range, and fills in PyTorch's defaults.
//! It never stops at the first error: a value that fails is reported and replaced by a harmless
//! stand-in so that the rest of the file is still checked.

use crate::ast::{self, BinaryOp, ExprKind, Span, Statement, UnaryOp};
use crate::config::{
    AnnealStrategy, Config, CyclicMode, GroupConfig, Hyperparams, OptimizerKind, OptionName,
    OptionValueKind, PerGroup, PlateauMode, ScaleMode, ScheduleConfig, ThresholdMode,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::{self, Func, Lambda, Lookup};
use std::cell::Cell;
use std::collections::HashMap;

/// How many pattern-character pairs the `shadowed_group` lint may compare in one file.
const SHADOW_BUDGET: usize = 10_000_000;

/// Expressions nested deeper than this are refused (they would only come from generated input).
pub const MAX_EXPR_DEPTH: usize = 200;

/// The outcome of checking a file: the configuration if there were no errors, and every
/// diagnostic (errors and warnings), sorted by position.
#[derive(Debug)]
pub struct Checked {
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks a parsed file. Safe on a thread of any stack size: see [`crate::limits`].
pub fn check(file: &ast::File) -> Checked {
    crate::limits::with_stack(crate::limits::PASS_STACK, || check_file(file))
}

fn check_file(file: &ast::File) -> Checked {
    let mut checker = Checker::new(file);
    let config = checker.run(file);
    // An error can stop evaluation before a name is reached; only a clean file says "unused".
    if checker.error_count() == 0 {
        checker.lint_unused_lets();
    }
    let mut diagnostics = checker.diags;
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    let config = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        config
    };
    Checked {
        config,
        diagnostics,
    }
}

/// The closest candidate to `name`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score = if c.eq_ignore_ascii_case(name) || c.replace('_', "") == lower.replace('_', "")
        {
            2.0
        } else if c.len() >= 3 && (lower.starts_with(c) || c.starts_with(lower.as_str())) {
            1.5
        } else {
            let distance = strsim::levenshtein(&lower, c);
            let limit = (name.len().max(c.len()) / 3).max(1);
            if distance > limit {
                continue;
            }
            strsim::jaro_winkler(&lower, c)
        };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The schedules the language knows, with their parameters in PyTorch's positional order.
struct Signature {
    name: &'static str,
    torch: &'static str,
    params: &'static [&'static str],
    /// How many leading parameters are required.
    required: usize,
    /// Takes any number of positional schedules (`chain`, `sequence`).
    variadic: bool,
}

const SCHEDULES: &[Signature] = &[
    Signature {
        name: "lambda",
        torch: "LambdaLR",
        params: &["lr_lambda"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "multiplicative",
        torch: "MultiplicativeLR",
        params: &["lr_lambda"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "step",
        torch: "StepLR",
        params: &["step_size", "gamma"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "multistep",
        torch: "MultiStepLR",
        params: &["milestones", "gamma"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "exponential",
        torch: "ExponentialLR",
        params: &["gamma"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "constant",
        torch: "ConstantLR",
        params: &["factor", "total_iters"],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "linear",
        torch: "LinearLR",
        params: &["start_factor", "end_factor", "total_iters"],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "polynomial",
        torch: "PolynomialLR",
        params: &["total_iters", "power"],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "cosine",
        torch: "CosineAnnealingLR",
        params: &["t_max", "eta_min"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "cosine_restarts",
        torch: "CosineAnnealingWarmRestarts",
        params: &["t_0", "t_mult", "eta_min"],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "cyclic",
        torch: "CyclicLR",
        params: &[
            "base_lr",
            "max_lr",
            "step_size_up",
            "step_size_down",
            "mode",
            "gamma",
            "scale_fn",
            "scale_mode",
            "cycle_momentum",
            "base_momentum",
            "max_momentum",
        ],
        required: 2,
        variadic: false,
    },
    Signature {
        name: "one_cycle",
        torch: "OneCycleLR",
        params: &[
            "max_lr",
            "total_steps",
            "epochs",
            "steps_per_epoch",
            "pct_start",
            "anneal_strategy",
            "cycle_momentum",
            "base_momentum",
            "max_momentum",
            "div_factor",
            "final_div_factor",
            "three_phase",
        ],
        required: 1,
        variadic: false,
    },
    Signature {
        name: "plateau",
        torch: "ReduceLROnPlateau",
        params: &[
            "mode",
            "factor",
            "patience",
            "threshold",
            "threshold_mode",
            "cooldown",
            "min_lr",
            "eps",
        ],
        required: 0,
        variadic: false,
    },
    Signature {
        name: "chain",
        torch: "ChainedScheduler",
        params: &[],
        required: 0,
        variadic: true,
    },
    Signature {
        name: "sequence",
        torch: "SequentialLR",
        params: &["milestones"],
        required: 1,
        variadic: true,
    },
];

fn schedule_signature(name: &str) -> Option<&'static Signature> {
    SCHEDULES.iter().find(|s| s.name == name)
}

/// The schedule names, for suggestions.
pub fn schedule_names() -> impl Iterator<Item = &'static str> {
    SCHEDULES.iter().map(|s| s.name)
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
    Schedule(ScheduleConfig),
    Lambda(Lambda),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Number(v) => format!("the number {}", crate::config::format_number(*v)),
            Value::Bool(b) => format!("`{b}`"),
            Value::Str(_) => "a string".into(),
            Value::Word(w) => format!("the undefined name `{w}`"),
            Value::List(_) => "a list".into(),
            Value::Tuple(_) => "a tuple".into(),
            Value::Schedule(_) => "a schedule".into(),
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
    /// Whether anything refers to it (for the `unused_let` lint).
    used: Cell<bool>,
}

struct Checker {
    diags: Vec<Diagnostic>,
    lets: HashMap<String, LetEntry>,
    group_count: usize,
    /// Optimizer kind once known (the statement may come after groups and schedules).
    optimizer: Option<OptimizerKind>,
    /// Calls that cycle momentum, checked against the optimizer at the end.
    momentum_cyclers: Vec<Span>,
    /// Each group's name and `params` patterns with their spans, for the `shadowed_group` lint.
    /// (The patterns themselves are the group's `params`: by index into the groups, the span of
    /// the group's name and of each pattern.)
    group_patterns: Vec<(usize, Span, Vec<Span>)>,
    /// How many groups have been checked so far.
    groups_checked: usize,
    /// What the file's lambdas may still inline (see [`expr::MAX_INLINED_OPS`]).
    inline_budget: expr::InlineBudget,
    /// The errors among `diags[..counted.1]` is `counted.0` (see [`Checker::error_count`]).
    counted: Cell<(usize, usize)>,
    /// Whether the expression being evaluated is inside one that [`Checker::guard_depth`]
    /// accepted: every sub-expression of an accepted expression is accepted too.
    guarded: bool,
}

/// Arguments bound to a signature's parameter names.
struct Bound<'a> {
    call: &'a ast::Call,
    /// Each bound parameter with its value and the span of the argument that gave it (a
    /// signature has at most a dozen parameters: a list beats a map).
    named: Vec<(&'static str, &'a ast::Expr, Span)>,
    rest: Vec<&'a ast::Expr>,
}

impl<'a> Bound<'a> {
    fn get(&self, name: &str) -> Option<&'a ast::Expr> {
        self.named
            .iter()
            .find(|(p, ..)| *p == name)
            .map(|(_, e, _)| *e)
    }

    fn span_of(&self, name: &str) -> Option<Span> {
        self.named
            .iter()
            .find(|(p, ..)| *p == name)
            .map(|(.., s)| *s)
    }
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
            group_patterns: Vec::with_capacity(group_count),
            groups_checked: 0,
            inline_budget: expr::InlineBudget::default(),
            counted: Cell::new((0, 0)),
            guarded: false,
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn run(&mut self, file: &ast::File) -> Option<Config> {
        // The optimizer decides which options groups may set, so find it first.
        let mut optimizer_stmt: Option<(&ast::Call, Span)> = None;
        let mut schedule_stmt: Option<Span> = None;
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

        let mut defaults: Option<Hyperparams> = None;
        // Sized once: a large file's groups would otherwise be copied each time they outgrow
        // their vector (`new` counted them).
        let mut groups: Vec<GroupConfig> = Vec::with_capacity(self.group_count);
        let mut group_names: HashMap<&str, Span> = HashMap::with_capacity(self.group_count);
        let mut schedule: Option<ScheduleConfig> = None;
        let mut seen_optimizer = false;
        let mut seen_schedule = false;
        // Group options are applied on top of the optimizer's values, which may be defined later
        // in the file; keep each group's overrides and apply them at the end.
        let mut overrides: Vec<Vec<(OptionName, OptionValue, Span)>> =
            Vec::with_capacity(self.group_count);

        for st in &file.statements {
            match st {
                Statement::Let { name, value, .. } => {
                    let v = self.arg_value(value);
                    if let Some(entry) = self.lets.get_mut(&name.name) {
                        if entry.span == name.span {
                            entry.defined = true;
                            entry.value = v;
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
                    schedule = self.schedule_value(value);
                }
            }
        }

        if let Some(kind) = self.optimizer {
            if !kind.has_betas() && !kind.has_momentum() {
                for span in std::mem::take(&mut self.momentum_cyclers) {
                    self.error(
                        Diagnostic::error(
                            Code::InvalidCombination,
                            span,
                            format!("`{}` has neither momentum nor betas to cycle", kind.name()),
                        )
                        .with_label("cycle_momentum is on (the default)")
                        .with_help("add `cycle_momentum = false`, or use an optimizer with momentum (sgd, rmsprop) or betas (adam, adamw, ...)"),
                    );
                }
            }
        }

        let kind = self.optimizer?;
        let defaults = defaults?;
        if groups.is_empty() {
            groups.push(GroupConfig {
                name: "default".into(),
                params: vec!["*".into()],
                options: defaults,
                schedule: None,
            });
        } else {
            for (group, opts) in groups.iter_mut().zip(overrides) {
                group.options = defaults;
                for (option, value, span) in opts {
                    if value == option_value_of(&defaults, option) {
                        self.diags.push(
                            Diagnostic::warning(
                                Code::RedundantOption,
                                span,
                                format!(
                                    "group `{}` sets `{} = {value}`, the value it already inherits from the optimizer",
                                    group.name,
                                    option.name()
                                ),
                            )
                            .with_label("same as in `optimizer = ...`")
                            .with_help("remove it: a group inherits every option it does not set"),
                        );
                    }
                    apply_option(&mut group.options, option, value);
                }
            }
            self.lint_shadowed_groups(&groups);
        }
        Some(Config {
            optimizer: kind,
            defaults,
            groups,
            schedule,
        })
    }

    /// Refuses expressions nested too deeply to walk recursively.
    fn guard_depth(&mut self, e: &ast::Expr) -> bool {
        let mut stack = Vec::with_capacity(32);
        stack.push((e, 1usize));
        while let Some((e, depth)) = stack.pop() {
            if depth > MAX_EXPR_DEPTH {
                self.error(
                    Diagnostic::error(
                        Code::TooLarge,
                        e.span,
                        format!("this expression is nested more than {MAX_EXPR_DEPTH} levels deep"),
                    )
                    .with_label("nested too deeply")
                    .with_help("simplify it or split it with `let`"),
                );
                return false;
            }
            match &e.kind {
                ExprKind::List(items) | ExprKind::Tuple(items) => {
                    stack.extend(items.iter().map(|c| (c, depth + 1)))
                }
                ExprKind::Call(call) => {
                    stack.extend(call.args.iter().map(|a| (&a.value, depth + 1)))
                }
                ExprKind::Paren(x) => stack.push((x, depth + 1)),
                ExprKind::Unary { operand, .. } => stack.push((operand, depth + 1)),
                ExprKind::Binary { lhs, rhs, .. } => {
                    stack.push((lhs, depth + 1));
                    stack.push((rhs, depth + 1));
                }
                ExprKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    stack.push((cond, depth + 1));
                    stack.push((then, depth + 1));
                    stack.push((otherwise, depth + 1));
                }
                ExprKind::Lambda { body, .. } => stack.push((body, depth + 1)),
                ExprKind::Number(_)
                | ExprKind::String(_)
                | ExprKind::Bool(_)
                | ExprKind::Name(_) => {}
            }
        }
        true
    }

    // ----- values -----

    fn lookup_for_lambda(&self, name: &str) -> Lookup {
        let entry = self.lets.get(name);
        if let Some(entry) = entry {
            entry.used.set(true);
        }
        match entry {
            Some(entry) if entry.defined => match &entry.value {
                Some(Value::Number(v)) => Lookup::Number(*v),
                Some(Value::Bool(b)) => Lookup::Bool(*b),
                Some(Value::Lambda(l)) => Lookup::Lambda(l.clone()),
                Some(Value::Str(_)) => Lookup::Other("a string"),
                Some(Value::List(_)) => Lookup::Other("a list"),
                Some(Value::Tuple(_)) => Lookup::Other("a tuple"),
                Some(Value::Schedule(_)) => Lookup::Other("a schedule"),
                // An errored `let` was reported already; stand in a number to avoid repeats.
                Some(Value::Word(_)) | None => Lookup::Number(1.0),
            },
            Some(entry) => Lookup::Later(entry.span),
            None => Lookup::Undefined,
        }
    }

    fn compile_lambda(&mut self, param: &ast::Ident, body: &ast::Expr) -> Option<Lambda> {
        let mut diags = Vec::new();
        let mut budget = std::mem::take(&mut self.inline_budget);
        let lookup = |n: &str| self.lookup_for_lambda(n);
        let lambda = expr::compile_within(param, body, &lookup, &mut diags, &mut budget);
        self.inline_budget = budget;
        self.diags.extend(diags);
        lambda
    }

    /// Evaluates an expression to a value. `None` means an error was reported.
    fn eval(&mut self, e: &ast::Expr) -> Option<Value> {
        match &e.kind {
            ExprKind::Number(v) => Some(Value::Number(*v)),
            ExprKind::Bool(b) => Some(Value::Bool(*b)),
            ExprKind::String(s) => Some(Value::Str(s.clone())),
            ExprKind::Paren(inner) => self.eval(inner),
            ExprKind::Name(name) => self.name(name, e.span),
            ExprKind::List(items) => Some(Value::List(self.items(items)?)),
            ExprKind::Tuple(items) => Some(Value::Tuple(self.items(items)?)),
            ExprKind::Lambda { param, body } => self.compile_lambda(param, body).map(Value::Lambda),
            ExprKind::Call(call) => self.call(call),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand)?;
                match op {
                    UnaryOp::Neg => Some(Value::Number(-self.as_number(v, operand.span)?)),
                    UnaryOp::Not => Some(Value::Bool(!self.as_bool(v, operand.span)?)),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.eval(lhs);
                let r = self.eval(rhs);
                let (l, r) = (l?, r?);
                if op.is_logical() {
                    let l = self.as_bool(l, lhs.span);
                    let r = self.as_bool(r, rhs.span);
                    let (l, r) = (l?, r?);
                    return Some(Value::Bool(if *op == BinaryOp::And {
                        l && r
                    } else {
                        l || r
                    }));
                }
                let l = self.as_number(l, lhs.span);
                let r = self.as_number(r, rhs.span);
                let v = expr::binary(*op, l?, r?);
                Some(if op.is_comparison() {
                    Value::Bool(v != 0.0)
                } else {
                    Value::Number(v)
                })
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.eval(cond)?;
                let c = self.as_bool(c, cond.span)?;
                if c {
                    self.eval(then)
                } else {
                    self.eval(otherwise)
                }
            }
        }
    }

    fn items(&mut self, items: &[ast::Expr]) -> Option<Vec<Item>> {
        let values: Vec<Option<Item>> = items
            .iter()
            .map(|e| {
                self.eval(e).map(|value| Item {
                    value,
                    span: e.span,
                })
            })
            .collect();
        values.into_iter().collect()
    }

    fn name(&mut self, name: &str, span: Span) -> Option<Value> {
        let entry = self.lets.get(name);
        if let Some(entry) = entry {
            entry.used.set(true);
        }
        match entry {
            Some(entry) if entry.defined => return entry.value.clone(),
            Some(entry) => {
                let def = entry.span;
                self.error(
                    Diagnostic::error(
                        Code::UsedBeforeDefinition,
                        span,
                        format!("`{name}` is used before it is defined"),
                    )
                    .with_label("used here")
                    .with_related(def, "defined here")
                    .with_help(format!("move `let {name} = ...` above its first use")),
                );
                return None;
            }
            None => {}
        }
        match name {
            "pi" => Some(Value::Number(std::f64::consts::PI)),
            "tau" => Some(Value::Number(std::f64::consts::TAU)),
            _ => Some(Value::Word(name.to_string())),
        }
    }

    /// Reports an undefined name used where a value is needed.
    fn undefined(&mut self, word: &str, span: Span) {
        let help = match word {
            "True" | "False" => format!("booleans are lower case: `{}`", word.to_ascii_lowercase()),
            "None" => "leave the argument out to get PyTorch's default (None)".to_string(),
            "math" => "math functions are called directly: `cos(x)`, not `math.cos(x)`".to_string(),
            // Past the diagnostics that will be shown, skip the search (it is linear in the
            // number of `let`s, so quadratic over a file of undefined names).
            _ if self.diags.len() >= crate::limits::MAX_DIAGNOSTICS => {
                format!("define it first with `let {word} = ...`")
            }
            _ => {
                let names: Vec<&str> = self.lets.keys().map(String::as_str).collect();
                match did_you_mean(
                    word,
                    names.iter().copied().chain(["pi", "tau", "true", "false"]),
                ) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("define it first with `let {word} = ...`"),
                }
            }
        };
        self.error(
            Diagnostic::error(
                Code::UndefinedName,
                span,
                format!("`{word}` is not defined"),
            )
            .with_label("unknown name")
            .with_help(help),
        );
    }

    fn type_error(&mut self, v: &Value, span: Span, expected: &str, help: Option<String>) {
        if let Value::Word(w) = v {
            let w = w.clone();
            self.undefined(&w, span);
            return;
        }
        let mut d = Diagnostic::error(
            Code::TypeMismatch,
            span,
            format!("expected {expected}, found {}", v.describe()),
        )
        .with_label(format!("expected {expected}"));
        d = d.with_help(help.unwrap_or_else(|| format!("write {expected} here")));
        self.error(d);
    }

    fn as_number(&mut self, v: Value, span: Span) -> Option<f64> {
        match v {
            Value::Number(n) => Some(n),
            other => {
                let help = match &other {
                    Value::Bool(_) => Some("use 1 or 0 for a number".to_string()),
                    Value::Str(_) => Some("numbers are written without quotes".to_string()),
                    _ => None,
                };
                self.type_error(&other, span, "a number", help);
                None
            }
        }
    }

    fn as_bool(&mut self, v: Value, span: Span) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(b),
            other => {
                let help = match &other {
                    Value::Number(n) => Some(format!(
                        "booleans are written `true` and `false`, not {}; write `{}`",
                        crate::config::format_number(*n),
                        *n != 0.0
                    )),
                    Value::Str(s) => Some(format!("booleans are written without quotes: `{s}`")),
                    _ => None,
                };
                self.type_error(&other, span, "`true` or `false`", help);
                None
            }
        }
    }

    fn call(&mut self, call: &ast::Call) -> Option<Value> {
        let name = call.name.name.as_str();
        if let Some(sig) = schedule_signature(name) {
            return self.schedule_call(sig, call).map(Value::Schedule);
        }
        if let Some(func) = Func::from_name(name) {
            if let Some(d) = expr::arity_error(func, call) {
                self.error(d);
                return None;
            }
            let mut args = Vec::new();
            for a in &call.args {
                if let Some(n) = &a.name {
                    self.error(
                        Diagnostic::error(
                            Code::BadArgumentOrder,
                            n.span,
                            format!("`{name}` takes no named arguments"),
                        )
                        .with_label("named argument")
                        .with_help("pass the values by position"),
                    );
                    return None;
                }
                let v = self.eval(&a.value)?;
                args.push(self.as_number(v, a.value.span)?);
            }
            return Some(Value::Number(func.apply(&args)));
        }
        if let Some(entry) = self.lets.get(name) {
            entry.used.set(true);
        }
        let lambda = match self.lets.get(name).and_then(|e| e.value.as_ref()) {
            Some(Value::Lambda(lambda)) => Some(lambda.clone()),
            _ => None,
        };
        if let Some(lambda) = lambda {
            if call.args.len() != 1 || call.args[0].name.is_some() {
                self.error(
                    Diagnostic::error(
                        Code::WrongArity,
                        call.span,
                        format!("`{name}` takes 1 positional argument"),
                    )
                    .with_label(format!(
                        "{} argument{}",
                        call.args.len(),
                        if call.args.len() == 1 {
                            " by name"
                        } else {
                            "s"
                        }
                    ))
                    .with_help(format!("call it as `{name}(x)`")),
                );
                return None;
            }
            let v = self.eval(&call.args[0].value)?;
            let x = self.as_number(v, call.args[0].value.span)?;
            return Some(Value::Number(lambda.eval(x)));
        }
        if let Some(kind) = OptimizerKind::from_name(name) {
            self.error(
                Diagnostic::error(
                    Code::TypeMismatch,
                    call.span,
                    format!(
                        "`{}` is an optimizer; it can only appear in `optimizer = ...`",
                        kind.name()
                    ),
                )
                .with_label("an optimizer, not a value")
                .with_help(format!(
                    "write `optimizer = {}(...)` on its own line",
                    kind.name()
                )),
            );
            return None;
        }
        let help = match did_you_mean(name, schedule_names().chain(Func::NAMES.iter().copied())) {
            Some(s) => format!("did you mean `{s}`?"),
            None => match torch_schedule(name) {
                Some(s) => format!("PyTorch's `{name}` is written `{s}(...)` here"),
                None => format!(
                    "schedules are: {}",
                    schedule_names().collect::<Vec<_>>().join(", ")
                ),
            },
        };
        self.error(
            Diagnostic::error(
                Code::UnknownSchedule,
                call.name.span,
                format!("there is no schedule or function `{name}`"),
            )
            .with_label("unknown name")
            .with_help(help),
        );
        None
    }

    /// Binds a call's arguments to `params` (PyTorch's order; the first `positional` may be given
    /// by position). Reports order problems, unknown names, duplicates and missing required ones.
    fn bind<'a>(
        &mut self,
        call: &'a ast::Call,
        what: &str,
        params: &'static [&'static str],
        positional: usize,
        required: usize,
        variadic: bool,
    ) -> Bound<'a> {
        let mut bound = Bound {
            call,
            named: Vec::new(),
            rest: Vec::new(),
        };
        let mut seen_named: Option<Span> = None;
        let mut position = 0;
        // A misplaced or misspelled argument explains a "missing" one; report only the cause.
        let errors_before = self.error_count();
        for arg in &call.args {
            match &arg.name {
                None => {
                    if let Some(named) = seen_named {
                        self.error(
                            Diagnostic::error(
                                Code::BadArgumentOrder,
                                arg.value.span,
                                "a positional argument cannot follow a named one",
                            )
                            .with_label("positional")
                            .with_related(named, "named argument before it")
                            .with_help("put positional arguments first, or name this one too"),
                        );
                        continue;
                    }
                    if variadic {
                        bound.rest.push(&arg.value);
                        continue;
                    }
                    if position >= positional.min(params.len()) {
                        let list = params[..positional.min(params.len())].join(", ");
                        let help = if params.len() > positional {
                            format!(
                                "`{what}` takes at most {positional} positional argument{} ({list}); name the others, e.g. `{} = ...`",
                                if positional == 1 { "" } else { "s" },
                                params[positional.min(params.len() - 1)]
                            )
                        } else {
                            format!(
                                "`{what}` takes at most {positional} argument{} ({list})",
                                if positional == 1 { "" } else { "s" }
                            )
                        };
                        self.error(
                            Diagnostic::error(
                                Code::BadArgumentOrder,
                                arg.value.span,
                                format!("too many positional arguments for `{what}`"),
                            )
                            .with_label("extra argument")
                            .with_help(help),
                        );
                        continue;
                    }
                    let p = params[position];
                    position += 1;
                    bound.named.push((p, &arg.value, arg.value.span));
                }
                Some(name) => {
                    seen_named.get_or_insert(name.span);
                    let Some(&p) = params.iter().find(|p| **p == name.name) else {
                        self.unknown_argument(what, name, params);
                        continue;
                    };
                    if let Some(first) = bound.span_of(p) {
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateArgument,
                                name.span,
                                format!("`{p}` is given twice"),
                            )
                            .with_label("given again here")
                            .with_related(first, "first given here")
                            .with_help(format!("remove one of the two values of `{p}`")),
                        );
                        continue;
                    }
                    bound
                        .named
                        .push((p, &arg.value, name.span.to(arg.value.span)));
                }
            }
        }
        let missing: Vec<&str> = params[..required]
            .iter()
            .copied()
            .filter(|p| bound.get(p).is_none())
            .collect();
        if !missing.is_empty() && self.error_count() == errors_before {
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and ");
            let example = missing
                .iter()
                .map(|m| format!("`{m} = {}`", example_value(m)))
                .collect::<Vec<_>>()
                .join(", ");
            self.error(
                Diagnostic::error(
                    Code::MissingArgument,
                    call.span,
                    format!("`{what}` needs {list}"),
                )
                .with_label(format!("missing {list}"))
                .with_help(format!("add {example}")),
            );
        }
        bound
    }

    fn unknown_argument(&mut self, what: &str, name: &ast::Ident, params: &[&str]) {
        let n = name.name.as_str();
        let help = if matches!(
            n,
            "last_epoch"
                | "verbose"
                | "optimizer"
                | "foreach"
                | "fused"
                | "capturable"
                | "differentiable"
        ) {
            format!("optimc manages `{n}` itself; remove it")
        } else if let Some(p) = params.iter().find(|p| p.eq_ignore_ascii_case(n)) {
            format!("named arguments are lower case here: `{p}`")
        } else if let Some(s) = did_you_mean(n, params.iter().copied()) {
            format!("did you mean `{s}`?")
        } else if params.is_empty() {
            format!("`{what}` takes no named arguments")
        } else {
            format!("`{what}` takes: {}", params.join(", "))
        };
        self.error(
            Diagnostic::error(
                Code::UnknownOption,
                name.span,
                format!("`{what}` has no argument `{n}`"),
            )
            .with_label("unknown argument")
            .with_help(help),
        );
    }

    // ----- typed argument readers -----

    /// Evaluates `e` after making sure it is not nested too deeply to walk recursively. Inside
    /// an expression already accepted (an argument of an argument), there is nothing to check
    /// again: walking every argument of every call again would make the check quadratic in the
    /// nesting depth.
    fn arg_value(&mut self, e: &ast::Expr) -> Option<Value> {
        if self.guarded {
            return self.eval(e);
        }
        if !self.guard_depth(e) {
            return None;
        }
        self.guarded = true;
        let v = self.eval(e);
        self.guarded = false;
        v
    }

    fn number(&mut self, b: &Bound, name: &str, default: f64) -> f64 {
        self.number_opt(b, name).unwrap_or(default)
    }

    fn number_opt(&mut self, b: &Bound, name: &str) -> Option<f64> {
        let e = b.get(name)?;
        let v = self.arg_value(e)?;
        let n = self.as_number(v, e.span)?;
        if !n.is_finite() {
            self.error(
                Diagnostic::error(Code::OutOfRange, e.span, format!("`{name}` is {n}"))
                    .with_label("not a finite number")
                    .with_help(format!("give `{name}` a finite value")),
            );
            return None;
        }
        Some(n)
    }

    fn whole(&mut self, b: &Bound, name: &str, default: u64) -> u64 {
        self.whole_opt(b, name).unwrap_or(default)
    }

    fn whole_opt(&mut self, b: &Bound, name: &str) -> Option<u64> {
        let e = b.get(name)?;
        let v = self.arg_value(e)?;
        self.as_whole(v, e.span, name)
    }

    fn as_whole(&mut self, v: Value, span: Span, name: &str) -> Option<u64> {
        let n = self.as_number(v, span)?;
        // Counts go through f64: past 2^53 they are no longer exact.
        const MAX_COUNT: f64 = 9.007_199_254_740_992e15;
        if n.fract() == 0.0 && n > MAX_COUNT {
            self.error(
                Diagnostic::error(
                    Code::OutOfRange,
                    span,
                    format!(
                        "`{name}` = {} is more than optimc counts (at most 2^53 = 9007199254740992)",
                        crate::config::format_number(n)
                    ),
                )
                .with_label("too large")
                .with_help(format!("`{name}` counts epochs or steps; no training run reaches this many")),
            );
            return None;
        }
        if n.fract() != 0.0 || !(0.0..=MAX_COUNT).contains(&n) {
            let help = if n < 0.0 {
                format!("`{name}` counts epochs, so it cannot be negative")
            } else if n.is_finite() {
                format!(
                    "`{name}` counts epochs; use a whole number such as {}",
                    n.round().max(0.0)
                )
            } else {
                format!("give `{name}` a whole number")
            };
            self.error(
                Diagnostic::error(
                    Code::NotAnInteger,
                    span,
                    format!(
                        "`{name}` must be a whole, non-negative number, not {}",
                        crate::config::format_number(n)
                    ),
                )
                .with_label("not a whole number")
                .with_help(help),
            );
            return None;
        }
        Some(n as u64)
    }

    fn boolean(&mut self, b: &Bound, name: &str, default: bool) -> bool {
        let Some(e) = b.get(name) else {
            return default;
        };
        let Some(v) = self.arg_value(e) else {
            return default;
        };
        self.as_bool(v, e.span).unwrap_or(default)
    }

    /// An enum-valued argument: a bare word from `choices`.
    fn word(&mut self, b: &Bound, name: &str, choices: &[&'static str]) -> Option<usize> {
        let e = b.get(name)?;
        let word = match &e.unparen().kind {
            ExprKind::Name(w) if !self.lets.contains_key(w) => w.clone(),
            ExprKind::String(s) => {
                if let Some(i) = choices.iter().position(|c| c == s) {
                    self.error(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            e.span,
                            format!("`{name}` takes a bare word, not a string"),
                        )
                        .with_label("a string")
                        .with_help(format!("write `{name} = {}` without quotes", choices[i])),
                    );
                    return Some(i);
                }
                s.clone()
            }
            _ => {
                let v = self.arg_value(e)?;
                self.type_error(
                    &v,
                    e.span,
                    &format!("one of {}", choices.join(", ")),
                    Some(format!("write e.g. `{name} = {}`", choices[0])),
                );
                return None;
            }
        };
        if let Some(i) = choices.iter().position(|c| *c == word) {
            return Some(i);
        }
        let help = match did_you_mean(&word, choices.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("`{name}` is one of: {}", choices.join(", ")),
        };
        self.error(
            Diagnostic::error(
                Code::UnknownEnumValue,
                e.span,
                format!("`{word}` is not a valid `{name}`"),
            )
            .with_label(format!("expected one of {}", choices.join(", ")))
            .with_help(help),
        );
        None
    }

    /// A number for every group, or a list with one number per group.
    fn per_group(&mut self, b: &Bound, name: &str, default: f64) -> PerGroup {
        self.per_group_opt(b, name)
            .unwrap_or(PerGroup::All(default))
    }

    fn per_group_opt(&mut self, b: &Bound, name: &str) -> Option<PerGroup> {
        let e = b.get(name)?;
        let v = self.arg_value(e)?;
        match v {
            Value::List(items) | Value::Tuple(items) => {
                if items.len() != self.group_count {
                    self.error(
                        Diagnostic::error(
                            Code::GroupCountMismatch,
                            e.span,
                            format!(
                                "`{name}` has {} value{} but the file has {} group{}",
                                items.len(),
                                if items.len() == 1 { "" } else { "s" },
                                self.group_count,
                                if self.group_count == 1 { "" } else { "s" },
                            ),
                        )
                        .with_label(format!("{} values", items.len()))
                        .with_help(
                            "give one value per group, in the order the groups are declared, or a single number for all of them",
                        ),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.as_number(item.value, item.span)?);
                }
                Some(PerGroup::Each(out))
            }
            other => Some(PerGroup::All(self.as_number(other, e.span)?)),
        }
    }

    /// A list of whole numbers, each with its span, and the list's span.
    fn whole_list(&mut self, b: &Bound, name: &str) -> Option<(Vec<(u64, Span)>, Span)> {
        let e = b.get(name)?;
        let v = self.arg_value(e)?;
        match v {
            Value::List(items) | Value::Tuple(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.as_whole(item.value, item.span, name) {
                        Some(n) => out.push((n, item.span)),
                        None => ok = false,
                    }
                }
                ok.then_some((out, e.span))
            }
            other => {
                self.type_error(
                    &other,
                    e.span,
                    "a list of whole numbers",
                    Some(format!("write e.g. `{name} = [30, 60]`")),
                );
                None
            }
        }
    }

    fn lambda_arg(&mut self, b: &Bound, name: &str) -> Option<Lambda> {
        let e = b.get(name)?;
        let v = self.arg_value(e)?;
        match v {
            Value::Lambda(l) => Some(l),
            other => {
                let example = match &other {
                    Value::Number(n) => format!("`epoch -> {}`", crate::config::format_number(*n)),
                    _ => "`epoch -> 0.95 ** epoch`".to_string(),
                };
                if let Value::Word(w) = &other {
                    if w == "lambda" {
                        self.type_error(&other, e.span, "a lambda", Some("write lambdas as `epoch -> expr`, not Python's `lambda epoch: expr`".into()));
                        return None;
                    }
                }
                self.error(
                    Diagnostic::error(
                        Code::BadLambda,
                        e.span,
                        format!("`{name}` must be a lambda, found {}", other.describe()),
                    )
                    .with_label("expected a lambda")
                    .with_help(format!("write a function of the epoch, e.g. {example}")),
                );
                None
            }
        }
    }

    fn range(&mut self, b: &Bound, name: &str, value: f64, ok: bool, expected: &str) {
        if ok {
            return;
        }
        let span = b.get(name).map(|e| e.span).unwrap_or(b.call.span);
        self.error(
            Diagnostic::error(
                Code::OutOfRange,
                span,
                format!(
                    "`{name}` must be {expected}, not {}",
                    crate::config::format_number(value)
                ),
            )
            .with_label(format!("must be {expected}"))
            .with_help(format!(
                "PyTorch refuses this value too; choose `{name}` {expected}"
            )),
        );
    }

    // ----- schedules -----

    fn schedule_value(&mut self, e: &ast::Expr) -> Option<ScheduleConfig> {
        let v = self.arg_value(e)?;
        match v {
            Value::Schedule(s) => Some(s),
            other => {
                let help = match &other {
                    Value::Lambda(_) => "wrap it: `lambda(epoch -> ...)` multiplies the initial lr by it".to_string(),
                    Value::Number(_) => "a constant lr is the optimizer's `lr`; leave `schedule` out, or use e.g. `step(step_size = 30)`".to_string(),
                    _ => format!("schedules are: {}", schedule_names().collect::<Vec<_>>().join(", ")),
                };
                self.type_error(&other, e.span, "a schedule", Some(help));
                None
            }
        }
    }

    fn schedule_call(&mut self, sig: &Signature, call: &ast::Call) -> Option<ScheduleConfig> {
        let errors_before = self.error_count();
        let b = self.bind(
            call,
            sig.name,
            sig.params,
            sig.params.len(),
            sig.required,
            sig.variadic,
        );
        let config = self.build_schedule(sig, &b);
        if self.error_count() > errors_before {
            None
        } else {
            config
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

    fn build_schedule(&mut self, sig: &Signature, b: &Bound) -> Option<ScheduleConfig> {
        let _ = sig.torch;
        Some(match sig.name {
            "lambda" => ScheduleConfig::Lambda {
                lr_lambda: self.lambda_arg(b, "lr_lambda")?,
            },
            "multiplicative" => ScheduleConfig::Multiplicative {
                lr_lambda: self.lambda_arg(b, "lr_lambda")?,
            },
            "step" => {
                let step_size = self.whole(b, "step_size", 1);
                self.range(
                    b,
                    "step_size",
                    step_size as f64,
                    step_size >= 1,
                    "at least 1",
                );
                ScheduleConfig::Step {
                    step_size,
                    gamma: self.number(b, "gamma", 0.1),
                }
            }
            "multistep" => {
                let items = self
                    .whole_list(b, "milestones")
                    .map(|(m, _)| m)
                    .unwrap_or_default();
                let gamma = self.number(b, "gamma", 0.1);
                self.lint_milestones("multistep", &items, gamma);
                ScheduleConfig::Multistep {
                    milestones: items.into_iter().map(|(m, _)| m).collect(),
                    gamma,
                }
            }
            "exponential" => ScheduleConfig::Exponential {
                gamma: self.number(b, "gamma", 1.0),
            },
            "constant" => {
                let factor = self.number(b, "factor", 1.0 / 3.0);
                self.range(
                    b,
                    "factor",
                    factor,
                    (0.0..=1.0).contains(&factor),
                    "between 0 and 1",
                );
                ScheduleConfig::Constant {
                    factor,
                    total_iters: self.whole(b, "total_iters", 5),
                }
            }
            "linear" => {
                let start_factor = self.number(b, "start_factor", 1.0 / 3.0);
                self.range(
                    b,
                    "start_factor",
                    start_factor,
                    start_factor > 0.0 && start_factor <= 1.0,
                    "greater than 0 and at most 1",
                );
                let end_factor = self.number(b, "end_factor", 1.0);
                self.range(
                    b,
                    "end_factor",
                    end_factor,
                    (0.0..=1.0).contains(&end_factor),
                    "between 0 and 1",
                );
                ScheduleConfig::Linear {
                    start_factor,
                    end_factor,
                    total_iters: self.whole(b, "total_iters", 5),
                }
            }
            "polynomial" => ScheduleConfig::Polynomial {
                total_iters: self.whole(b, "total_iters", 5),
                power: self.number(b, "power", 1.0),
            },
            "cosine" => {
                let t_max = self.whole(b, "t_max", 1);
                self.range(b, "t_max", t_max as f64, t_max >= 1, "at least 1");
                ScheduleConfig::Cosine {
                    t_max,
                    eta_min: self.number(b, "eta_min", 0.0),
                }
            }
            "cosine_restarts" => {
                let t_0 = self.whole(b, "t_0", 1);
                self.range(b, "t_0", t_0 as f64, t_0 >= 1, "at least 1");
                let t_mult = self.whole(b, "t_mult", 1);
                self.range(b, "t_mult", t_mult as f64, t_mult >= 1, "at least 1");
                ScheduleConfig::CosineRestarts {
                    t_0,
                    t_mult,
                    eta_min: self.number(b, "eta_min", 0.0),
                }
            }
            "cyclic" => {
                let base_lr = self.per_group(b, "base_lr", 0.0);
                let max_lr = self.per_group(b, "max_lr", 0.0);
                let step_size_up = self.number(b, "step_size_up", 2000.0);
                self.range(
                    b,
                    "step_size_up",
                    step_size_up,
                    step_size_up > 0.0,
                    "greater than 0",
                );
                let step_size_down = self.number_opt(b, "step_size_down");
                if let Some(down) = step_size_down {
                    self.range(b, "step_size_down", down, down > 0.0, "greater than 0");
                }
                let mode = match self.word(b, "mode", &["triangular", "triangular2", "exp_range"]) {
                    Some(1) => CyclicMode::Triangular2,
                    Some(2) => CyclicMode::ExpRange,
                    _ => CyclicMode::Triangular,
                };
                let gamma = self.number(b, "gamma", 1.0);
                let scale_fn = if b.get("scale_fn").is_some() {
                    Some(self.lambda_arg(b, "scale_fn")?)
                } else {
                    None
                };
                let scale_mode = match self.word(b, "scale_mode", &["cycle", "iterations"]) {
                    Some(1) => ScaleMode::Iterations,
                    _ => ScaleMode::Cycle,
                };
                let cycle_momentum = self.boolean(b, "cycle_momentum", true);
                if cycle_momentum {
                    self.momentum_cyclers.push(
                        b.get("cycle_momentum")
                            .map(|e| e.span)
                            .unwrap_or(b.call.name.span),
                    );
                }
                ScheduleConfig::Cyclic {
                    base_lr,
                    max_lr,
                    step_size_up,
                    step_size_down,
                    mode,
                    gamma,
                    scale_fn,
                    scale_mode,
                    cycle_momentum,
                    base_momentum: self.per_group(b, "base_momentum", 0.8),
                    max_momentum: self.per_group(b, "max_momentum", 0.9),
                }
            }
            "one_cycle" => {
                let max_lr = self.per_group(b, "max_lr", 0.0);
                let total_steps = self.whole_opt(b, "total_steps");
                let epochs = self.whole_opt(b, "epochs");
                let steps_per_epoch = self.whole_opt(b, "steps_per_epoch");
                let total = match (total_steps, epochs, steps_per_epoch) {
                    (Some(t), _, _) => {
                        self.range(b, "total_steps", t as f64, t >= 1, "at least 1");
                        t
                    }
                    (None, Some(e), Some(s)) => {
                        self.range(b, "epochs", e as f64, e >= 1, "at least 1");
                        self.range(b, "steps_per_epoch", s as f64, s >= 1, "at least 1");
                        e.saturating_mul(s)
                    }
                    _ => {
                        if b.get("total_steps").is_none()
                            && (b.get("epochs").is_none() || b.get("steps_per_epoch").is_none())
                        {
                            self.error(
                                Diagnostic::error(
                                    Code::MissingArgument,
                                    b.call.span,
                                    "`one_cycle` needs `total_steps`, or both `epochs` and `steps_per_epoch`",
                                )
                                .with_label("cannot tell how long the cycle is")
                                .with_help("add e.g. `total_steps = 1000`"),
                            );
                        }
                        1
                    }
                };
                let pct_start = self.number(b, "pct_start", 0.3);
                self.range(
                    b,
                    "pct_start",
                    pct_start,
                    (0.0..=1.0).contains(&pct_start),
                    "between 0 and 1",
                );
                let anneal_strategy = match self.word(b, "anneal_strategy", &["cos", "linear"]) {
                    Some(1) => AnnealStrategy::Linear,
                    _ => AnnealStrategy::Cos,
                };
                let cycle_momentum = self.boolean(b, "cycle_momentum", true);
                if cycle_momentum {
                    self.momentum_cyclers.push(
                        b.get("cycle_momentum")
                            .map(|e| e.span)
                            .unwrap_or(b.call.name.span),
                    );
                }
                ScheduleConfig::OneCycle {
                    max_lr,
                    total_steps: total,
                    pct_start,
                    anneal_strategy,
                    cycle_momentum,
                    base_momentum: self.per_group(b, "base_momentum", 0.85),
                    max_momentum: self.per_group(b, "max_momentum", 0.95),
                    div_factor: self.number(b, "div_factor", 25.0),
                    final_div_factor: self.number(b, "final_div_factor", 1e4),
                    three_phase: self.boolean(b, "three_phase", false),
                }
            }
            "plateau" => {
                let mode = match self.word(b, "mode", &["min", "max"]) {
                    Some(1) => PlateauMode::Max,
                    _ => PlateauMode::Min,
                };
                let factor = self.number(b, "factor", 0.1);
                self.range(b, "factor", factor, factor < 1.0, "less than 1");
                ScheduleConfig::Plateau {
                    mode,
                    factor,
                    patience: self.whole(b, "patience", 10),
                    threshold: self.number(b, "threshold", 1e-4),
                    threshold_mode: match self.word(b, "threshold_mode", &["rel", "abs"]) {
                        Some(1) => ThresholdMode::Abs,
                        _ => ThresholdMode::Rel,
                    },
                    cooldown: self.whole(b, "cooldown", 0),
                    min_lr: self.per_group(b, "min_lr", 0.0),
                    eps: self.number(b, "eps", 1e-8),
                }
            }
            "chain" | "sequence" => {
                let mut children = Vec::with_capacity(b.rest.len());
                for child in &b.rest {
                    if let Some(s) = self.schedule_value(child) {
                        children.push(s);
                    }
                }
                if b.rest.is_empty() {
                    self.error(
                        Diagnostic::error(
                            Code::MissingArgument,
                            b.call.span,
                            format!("`{}` needs at least one schedule", sig.name),
                        )
                        .with_label("no schedules")
                        .with_help(format!(
                            "write e.g. `{}(linear(total_iters = 5), cosine(t_max = 95){})`",
                            sig.name,
                            if sig.name == "sequence" {
                                ", milestones = [5]"
                            } else {
                                ""
                            }
                        )),
                    );
                }
                if sig.name == "chain" {
                    ScheduleConfig::Chain { children }
                } else {
                    let (items, span) = self.whole_list(b, "milestones").unwrap_or_default();
                    self.lint_milestones("sequence", &items, 1.0);
                    let milestones: Vec<u64> = items.into_iter().map(|(m, _)| m).collect();
                    if b.get("milestones").is_some()
                        && !b.rest.is_empty()
                        && milestones.len() + 1 != b.rest.len()
                        && span != Span::default()
                    {
                        self.error(
                            Diagnostic::error(
                                Code::MilestoneCount,
                                span,
                                format!(
                                    "`sequence` has {} schedule{} so it needs {} milestone{}, but {} {} given",
                                    b.rest.len(),
                                    if b.rest.len() == 1 { "" } else { "s" },
                                    b.rest.len() - 1,
                                    if b.rest.len() == 2 { "" } else { "s" },
                                    milestones.len(),
                                    if milestones.len() == 1 { "is" } else { "are" },
                                ),
                            )
                            .with_label(format!("{} milestone{}", milestones.len(), if milestones.len() == 1 { "" } else { "s" }))
                            .with_help("milestone k is the epoch at which schedule k + 1 takes over; give one fewer milestone than schedules"),
                        );
                    }
                    ScheduleConfig::Sequence {
                        children,
                        milestones,
                    }
                }
            }
            _ => return None,
        })
    }

    // ----- optimizer and groups -----

    fn optimizer_call(&mut self, call: &ast::Call) -> Option<Hyperparams> {
        let name = call.name.name.as_str();
        let Some(kind) = OptimizerKind::from_name(name) else {
            let names: Vec<&str> = OptimizerKind::ALL.iter().map(|k| k.name()).collect();
            let help = match did_you_mean(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("optimizers are: {}", names.join(", ")),
            };
            self.error(
                Diagnostic::error(
                    Code::UnknownOptimizer,
                    call.name.span,
                    format!("there is no optimizer `{name}`"),
                )
                .with_label("unknown optimizer")
                .with_help(help),
            );
            return None;
        };
        let (options, positional) = kind.options();
        let names: &'static [&'static str] = option_names(kind);
        let errors_before = self.error_count();
        let b = self.bind(call, kind.name(), names, positional, 0, false);
        let pytorch = Hyperparams::defaults(kind);
        let mut hp = pytorch;
        for option in options {
            if let Some(e) = b.get(option.name()) {
                if let Some(v) = self.option_value(*option, e) {
                    // `lr` stays even at its default: PyTorch's SGD requires it.
                    if *option != OptionName::Lr && v == option_value_of(&pytorch, *option) {
                        let span = call
                            .args
                            .iter()
                            .find(|a| a.value.span == e.span)
                            .map_or(e.span, ast::Arg::span);
                        self.diags.push(
                            Diagnostic::warning(
                                Code::RedundantOption,
                                span,
                                format!(
                                    "`{} = {}` is already {}'s default",
                                    option.name(),
                                    v,
                                    kind.torch_name()
                                ),
                            )
                            .with_label("PyTorch's default")
                            .with_help("remove it"),
                        );
                    }
                    apply_option(&mut hp, *option, v);
                }
            }
        }
        // Options set in the call (not groups) are checked here against PyTorch's own rules.
        self.validate_hyperparams(kind, &hp, &|o| {
            b.get(o.name()).map(|e| e.span).unwrap_or(call.span)
        });
        (self.error_count() == errors_before).then_some(hp)
    }

    fn validate_hyperparams(
        &mut self,
        kind: OptimizerKind,
        hp: &Hyperparams,
        span_of: &dyn Fn(OptionName) -> Span,
    ) {
        for problem in crate::optim::validate(kind, hp) {
            self.error(
                Diagnostic::error(Code::OutOfRange, span_of(problem.option), problem.message)
                    .with_label(format!("invalid `{}`", problem.option.name()))
                    .with_help(problem.help),
            );
        }
    }

    fn option_value(&mut self, option: OptionName, e: &ast::Expr) -> Option<OptionValue> {
        let v = self.arg_value(e)?;
        match option.value_kind() {
            OptionValueKind::Number => {
                let n = self.as_number(v, e.span)?;
                if !n.is_finite() {
                    self.error(
                        Diagnostic::error(
                            Code::OutOfRange,
                            e.span,
                            format!("`{}` is {n}", option.name()),
                        )
                        .with_label("not a finite number")
                        .with_help(format!("give `{}` a finite value", option.name())),
                    );
                    return None;
                }
                Some(OptionValue::Number(n))
            }
            OptionValueKind::Bool => Some(OptionValue::Bool(self.as_bool(v, e.span)?)),
            OptionValueKind::Pair => match v {
                Value::Tuple(items) | Value::List(items) if items.len() == 2 => {
                    let mut it = items.into_iter();
                    let (a, b) = (it.next()?, it.next()?);
                    let a = self.as_number(a.value, a.span);
                    let b = self.as_number(b.value, b.span);
                    Some(OptionValue::Pair(a?, b?))
                }
                other => {
                    self.type_error(
                        &other,
                        e.span,
                        "a pair of numbers",
                        Some(format!("write e.g. `{} = (0.9, 0.999)`", option.name())),
                    );
                    None
                }
            },
        }
    }

    fn group(
        &mut self,
        name: &ast::Ident,
        fields: &[ast::Field],
    ) -> (GroupConfig, Vec<(OptionName, OptionValue, Span)>) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut params: Option<Vec<String>> = None;
        let mut schedule = None;
        let mut overrides = Vec::new();
        for field in fields {
            let key = field.key.name.as_str();
            if let Some(first) = seen.get(key) {
                self.error(
                    Diagnostic::error(
                        Code::DuplicateField,
                        field.key.span,
                        format!("`{key}` is set twice in group `{}`", name.name),
                    )
                    .with_label("set again here")
                    .with_related(*first, "first set here")
                    .with_help(format!("remove one of the two values of `{key}`")),
                );
                continue;
            }
            seen.insert(key, field.key.span);
            match key {
                "params" => {
                    params = self.patterns(&field.value).map(|patterns| {
                        let spans = patterns.iter().map(|(_, span)| *span).collect();
                        self.group_patterns
                            .push((self.groups_checked, name.span, spans));
                        patterns.into_iter().map(|(p, _)| p).collect()
                    })
                }
                "schedule" => schedule = self.schedule_value(&field.value),
                _ => {
                    let option = OptionName::from_name(key);
                    let allowed = self.optimizer.map(|k| k.options().0);
                    match (option, allowed) {
                        (Some(o), Some(allowed)) if allowed.contains(&o) => {
                            if let Some(v) = self.option_value(o, &field.value) {
                                overrides.push((o, v, field.key.span.to(field.value.span)));
                            }
                        }
                        (Some(o), None) => {
                            // Unknown optimizer: still check the value's type.
                            let _ = self.option_value(o, &field.value);
                        }
                        _ => self.unknown_field(name, &field.key, option),
                    }
                }
            }
        }
        if params.is_none() && !seen.contains_key("params") {
            self.error(
                Diagnostic::error(
                    Code::MissingParams,
                    name.span,
                    format!("group `{}` has no `params`", name.name),
                )
                .with_label("which parameters belong here?")
                .with_help(format!(
                    "add `params = \"{}.*\"` (a glob over parameter names) to the group",
                    name.name
                )),
            );
        }
        self.groups_checked += 1;
        (
            GroupConfig {
                name: name.name.clone(),
                params: params.unwrap_or_default(),
                options: Hyperparams::defaults(self.optimizer.unwrap_or(OptimizerKind::Sgd)),
                schedule,
            },
            overrides,
        )
    }

    fn unknown_field(&mut self, group: &ast::Ident, key: &ast::Ident, option: Option<OptionName>) {
        let kind = self.optimizer;
        let allowed: Vec<&str> = kind
            .map(|k| k.options().0.iter().map(|o| o.name()).collect())
            .unwrap_or_default();
        let help = match option {
            Some(o) => {
                let owners: Vec<&str> = OptimizerKind::ALL
                    .iter()
                    .filter(|k| k.options().0.contains(&o))
                    .map(|k| k.name())
                    .collect();
                let owners = match owners.split_last() {
                    Some((last, [])) => last.to_string(),
                    Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                    None => String::new(),
                };
                let mut help = format!(
                    "`{}` is an option of {owners}, not of {}",
                    o.name(),
                    kind.map(|k| k.name()).unwrap_or("this optimizer")
                );
                if o == OptionName::Momentum && kind.is_some_and(OptimizerKind::has_betas) {
                    help.push_str("; its momentum is `betas[0]`, e.g. `betas = (0.9, 0.999)`");
                }
                help
            }
            None => match did_you_mean(
                &key.name,
                allowed.iter().copied().chain(["params", "schedule"]),
            ) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "a group takes `params`, `schedule` and the optimizer's options: {}",
                    allowed.join(", ")
                ),
            },
        };
        self.error(
            Diagnostic::error(
                Code::UnknownOption,
                key.span,
                format!(
                    "`{}` is not a field of group `{}`{}",
                    key.name,
                    group.name,
                    kind.map(|k| format!(" (the optimizer is {})", k.name()))
                        .unwrap_or_default()
                ),
            )
            .with_label("unknown field")
            .with_help(help),
        );
    }

    fn patterns(&mut self, e: &ast::Expr) -> Option<Vec<(String, Span)>> {
        let v = self.arg_value(e)?;
        let items = match v {
            Value::Str(s) => vec![Item {
                value: Value::Str(s),
                span: e.span,
            }],
            Value::List(items) => items,
            other => {
                self.type_error(
                    &other,
                    e.span,
                    "a pattern string or a list of them",
                    Some("write e.g. `params = \"encoder.*\"` or `params = [\"*.bias\", \"*.norm.*\"]`".into()),
                );
                return None;
            }
        };
        if items.is_empty() {
            self.error(
                Diagnostic::error(Code::MissingParams, e.span, "`params` is an empty list")
                    .with_label("matches nothing")
                    .with_help("list at least one pattern, e.g. `params = [\"head.*\"]`"),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item.value {
                Value::Str(s) => out.push((s, item.span)),
                other => self.type_error(
                    &other,
                    item.span,
                    "a pattern string",
                    Some("patterns are quoted, e.g. \"encoder.*\"".into()),
                ),
            }
        }
        Some(out)
    }
}

// ----- lints: warnings about files that work but probably do not do what was meant -----

impl Checker {
    fn lint_unused_lets(&mut self) {
        let mut unused: Vec<(&String, Span)> = self
            .lets
            .iter()
            .filter(|(_, e)| e.defined && !e.used.get())
            .map(|(name, e)| (name, e.span))
            .collect();
        unused.sort_by_key(|(_, span)| span.start);
        let warnings: Vec<Diagnostic> = unused
            .into_iter()
            .map(|(name, span)| {
                Diagnostic::warning(Code::UnusedLet, span, format!("`{name}` is never used"))
                    .with_label("defined here, used nowhere")
                    .with_help(format!(
                        "remove `let {name} = ...`, or use it where you meant to (a typo in a later name?)"
                    ))
            })
            .collect();
        self.diags.extend(warnings);
    }

    /// A parameter goes to the first group whose pattern matches it, so a group whose every
    /// pattern is covered by an earlier group's gets nothing.
    fn lint_shadowed_groups(&mut self, groups: &[GroupConfig]) {
        let patterns: Vec<Vec<&str>> = self
            .group_patterns
            .iter()
            .map(|(g, ..)| groups[*g].params.iter().map(String::as_str).collect())
            .collect();
        let mut warnings = Vec::new();
        for shadow in shadowed_groups(&patterns, SHADOW_BUDGET).shadows {
            let (g, name_span, _) = &self.group_patterns[shadow.group];
            let name = &groups[*g];
            let (by, _, spans) = &self.group_patterns[shadow.by];
            let group = &groups[*by];
            let q = &group.params[shadow.pattern];
            let span = &spans[shadow.pattern];
            warnings.push(
                Diagnostic::warning(
                    Code::ShadowedGroup,
                    *name_span,
                    format!("group `{}` gets no parameters", name.name),
                )
                .with_label("every pattern of this group is matched by an earlier group")
                .with_related(*span, format!("`{q}` in group `{}` matches them first", group.name))
                .with_help(format!(
                    "a parameter goes to the first group that matches it: move group `{}` above group `{}`, or narrow `{q}`",
                    name.name, group.name
                )),
            );
        }
        self.diags.extend(warnings);
    }

    /// Milestones out of order, or listed twice, in `multistep` or `sequence`.
    fn lint_milestones(&mut self, schedule: &str, items: &[(u64, Span)], gamma: f64) {
        if let Some(i) = (1..items.len()).find(|&i| items[i].0 < items[i - 1].0) {
            let mut sorted: Vec<u64> = items.iter().map(|(m, _)| *m).collect();
            sorted.sort_unstable();
            let sorted = if sorted.len() <= 16 {
                let sorted: Vec<String> = sorted.iter().map(u64::to_string).collect();
                format!(", `[{}]`", sorted.join(", "))
            } else {
                String::new()
            };
            let help = if schedule == "multistep" {
                format!("write them in increasing order{sorted}: MultiStepLR counts every milestone whatever the order, so the lr does not change, but readers expect epochs in order")
            } else {
                format!("write them in increasing order{sorted}: SequentialLR bisects the list to find the running schedule, so out of order it switches schedules at the wrong epochs")
            };
            self.diags.push(
                Diagnostic::warning(
                    Code::UnsortedMilestones,
                    items[i].1,
                    format!("the milestones of `{schedule}` are not in increasing order"),
                )
                .with_label(format!("{} comes after {}", items[i].0, items[i - 1].0))
                .with_related(items[i - 1].1, "the larger milestone before it")
                .with_help(help),
            );
        }
        let mut first: HashMap<u64, usize> = HashMap::new();
        for i in 0..items.len() {
            let j = *first.entry(items[i].0).or_insert(i);
            if j == i {
                continue;
            }
            let m = items[i].0;
            let times = items.iter().filter(|(x, _)| *x == m).count();
            let count = match times {
                2 => "twice".to_string(),
                n => format!("{n} times"),
            };
            let (message, help) = if schedule == "multistep" {
                (
                    format!("milestone {m} is listed {count}, so the lr is multiplied by gamma {count} at epoch {m}"),
                    format!(
                        "PyTorch's MultiStepLR does the same: at epoch {m} the lr is multiplied by {} ** {times} = {}; if you meant one decay, remove the repeat, and if you meant the larger drop, say so with a smaller `gamma`",
                        crate::config::format_number(gamma),
                        rounded(gamma.powi(times as i32))
                    ),
                )
            } else {
                (
                    format!("milestone {m} is listed twice, so the schedule between the two never runs"),
                    format!("SequentialLR switches twice at epoch {m}, skipping the schedule in between; remove the repeat, or give that schedule its own epochs"),
                )
            };
            self.diags.push(
                Diagnostic::warning(Code::DuplicateMilestone, items[i].1, message)
                    .with_label("listed again here")
                    .with_related(items[j].1, "first listed here")
                    .with_help(help),
            );
            break;
        }
    }
}

/// A checked value for one optimizer option.
#[derive(Clone, Copy, Debug, PartialEq)]
enum OptionValue {
    Number(f64),
    Bool(bool),
    Pair(f64, f64),
}

fn apply_option(hp: &mut Hyperparams, option: OptionName, value: OptionValue) {
    use OptionName::*;
    match (option, value) {
        (Lr, OptionValue::Number(v)) => hp.lr = v,
        (Momentum, OptionValue::Number(v)) => hp.momentum = v,
        (Dampening, OptionValue::Number(v)) => hp.dampening = v,
        (WeightDecay, OptionValue::Number(v)) => hp.weight_decay = v,
        (Eps, OptionValue::Number(v)) => hp.eps = v,
        (Alpha, OptionValue::Number(v)) => hp.alpha = v,
        (LrDecay, OptionValue::Number(v)) => hp.lr_decay = v,
        (InitialAccumulatorValue, OptionValue::Number(v)) => hp.initial_accumulator_value = v,
        (Rho, OptionValue::Number(v)) => hp.rho = v,
        (MomentumDecay, OptionValue::Number(v)) => hp.momentum_decay = v,
        (Nesterov, OptionValue::Bool(b)) => hp.nesterov = b,
        (Maximize, OptionValue::Bool(b)) => hp.maximize = b,
        (Amsgrad, OptionValue::Bool(b)) => hp.amsgrad = b,
        (Centered, OptionValue::Bool(b)) => hp.centered = b,
        (DecoupledWeightDecay, OptionValue::Bool(b)) => hp.decoupled_weight_decay = b,
        (Betas, OptionValue::Pair(a, b)) => hp.betas = (a, b),
        // The option's kind decides the value's kind, so no other pairing is built.
        _ => {}
    }
}

impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::config::format_number as num;
        match self {
            OptionValue::Number(v) => f.write_str(&num(*v)),
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Pair(a, b) => write!(f, "({}, {})", num(*a), num(*b)),
        }
    }
}

/// `v` to 6 significant digits, as a person would write it (`0.01`, not `0.010000000000000002`).
pub(crate) fn rounded(v: f64) -> String {
    let short: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    crate::config::format_number(short)
}

/// The value `hp` holds for `option`.
fn option_value_of(hp: &Hyperparams, option: OptionName) -> OptionValue {
    use OptionName::*;
    let n = OptionValue::Number;
    match option {
        Lr => n(hp.lr),
        Momentum => n(hp.momentum),
        Dampening => n(hp.dampening),
        WeightDecay => n(hp.weight_decay),
        Eps => n(hp.eps),
        Alpha => n(hp.alpha),
        LrDecay => n(hp.lr_decay),
        InitialAccumulatorValue => n(hp.initial_accumulator_value),
        Rho => n(hp.rho),
        MomentumDecay => n(hp.momentum_decay),
        Nesterov => OptionValue::Bool(hp.nesterov),
        Maximize => OptionValue::Bool(hp.maximize),
        Amsgrad => OptionValue::Bool(hp.amsgrad),
        Centered => OptionValue::Bool(hp.centered),
        DecoupledWeightDecay => OptionValue::Bool(hp.decoupled_weight_decay),
        Betas => OptionValue::Pair(hp.betas.0, hp.betas.1),
    }
}

/// A group all of whose patterns are covered by earlier groups' patterns: `group` gets no
/// parameters because of pattern `pattern` of group `by` (the first that covers its first pattern).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shadow {
    group: usize,
    by: usize,
    pattern: usize,
}

/// The `shadowed_group` lint over every group's `params` patterns, in file order.
///
/// For each pattern `p` the answer is the first pattern, in file order, of an earlier group that
/// covers `p` ([`glob_covers`]). Comparing `p` with every earlier pattern would be quadratic in
/// the number of groups, so only the patterns that can cover `p` are compared: a pattern covers
/// `p` only if its literal prefix (up to its first `*` or `?`) is a prefix of `p` and its
/// literal suffix (after its last `*` or `?`) a suffix of `p`. Earlier literal prefixes are kept
/// in a trie, which yields those that are prefixes of `p` in one walk along `p`.
///
/// `budget` bounds the work as it always has: a comparison of `q` with `p` is charged
/// `(q.len() + 1) × (p.len() + 1)`, and every earlier pattern up to the first one that covers
/// `p` (all of them if none does) is charged, compared or not; once the budget runs out the
/// lint stops, without an answer for the group at hand. So the answers are exactly those of
/// comparing every pair in order, while far fewer pairs are compared.
fn shadowed_groups(groups: &[Vec<&str>], budget: usize) -> ShadowLint {
    // All patterns in file order; `charge[f]` is what comparing `p` with the patterns before
    // pattern `f` costs, divided by `p.len() + 1`.
    let mut owner: Vec<(usize, usize)> = Vec::new();
    let mut charge: Vec<usize> = vec![0];
    let mut first_of: Vec<usize> = Vec::with_capacity(groups.len());
    for (g, patterns) in groups.iter().enumerate() {
        first_of.push(owner.len());
        for (k, q) in patterns.iter().enumerate() {
            owner.push((g, k));
            let last = *charge.last().unwrap_or(&0);
            charge.push(last.saturating_add(q.len() + 1));
        }
    }
    let flat: Vec<&str> = groups.iter().flatten().copied().collect();
    let mut trie = PrefixTrie::new(flat.len());
    let mut budget = budget;
    let mut out = ShadowLint::default();
    let mut heads: Vec<u32> = Vec::new();
    for (i, patterns) in groups.iter().enumerate() {
        let earlier = first_of[i];
        let mut shadows: Vec<Option<usize>> = Vec::with_capacity(patterns.len());
        for p in patterns {
            let per_pair = p.len() + 1;
            // Candidates in file order: merge the (sorted) lists of the prefixes of `p`.
            heads.clear();
            trie.lists_along(p.as_bytes(), &mut heads);
            let mut found = None;
            let mut exhausted = false;
            while let Some((h, &f)) = heads.iter().enumerate().min_by_key(|(_, f)| **f) {
                let f = f as usize;
                if f >= earlier {
                    break;
                }
                if per_pair.saturating_mul(charge[f + 1]) > budget {
                    exhausted = true;
                    break;
                }
                heads[h] = trie.next_entry[f];
                if heads[h] == NO_ENTRY {
                    heads.swap_remove(h);
                }
                let q = flat[f];
                if !p.ends_with(literal_suffix(q)) {
                    continue;
                }
                out.compared += 1;
                if glob_covers(q, p) {
                    found = Some(f);
                    break;
                }
            }
            let cost = per_pair.saturating_mul(charge[found.map_or(earlier, |f| f + 1)]);
            if exhausted || cost > budget {
                budget = 0;
                shadows.push(None);
            } else {
                budget -= cost;
                shadows.push(found);
            }
        }
        if budget == 0 {
            break;
        }
        for (k, p) in patterns.iter().enumerate() {
            trie.insert(literal_prefix(p).as_bytes(), (first_of[i] + k) as u32);
        }
        if patterns.is_empty() || shadows.iter().any(Option::is_none) {
            continue;
        }
        if let Some(f) = shadows[0] {
            let (by, pattern) = owner[f];
            out.shadows.push(Shadow {
                group: i,
                by,
                pattern,
            });
        }
    }
    out
}

/// What [`shadowed_groups`] found, and how many pairs of patterns it compared.
#[derive(Debug, Default)]
struct ShadowLint {
    shadows: Vec<Shadow>,
    compared: usize,
}

/// The text a glob starts with, before its first wildcard.
fn literal_prefix(glob: &str) -> &str {
    &glob[..glob.find(['*', '?']).unwrap_or(glob.len())]
}

/// The text a glob ends with, after its last wildcard.
fn literal_suffix(glob: &str) -> &str {
    &glob[glob.rfind(['*', '?']).map_or(0, |i| i + 1)..]
}

const NO_ENTRY: u32 = u32::MAX;

/// A trie of glob literal prefixes over bytes, each node listing the patterns whose prefix ends
/// there, in the order they were inserted. Children and lists are linked lists in flat arrays:
/// no allocation per node, and at most 256 siblings to step over per byte.
struct PrefixTrie {
    nodes: Vec<TrieNode>,
    /// The next pattern in the same node's list, by pattern index.
    next_entry: Vec<u32>,
}

#[derive(Clone, Copy)]
struct TrieNode {
    child: u32,
    sibling: u32,
    byte: u8,
    first: u32,
    last: u32,
}

impl PrefixTrie {
    fn new(patterns: usize) -> Self {
        PrefixTrie {
            nodes: vec![TrieNode {
                child: NO_ENTRY,
                sibling: NO_ENTRY,
                byte: 0,
                first: NO_ENTRY,
                last: NO_ENTRY,
            }],
            next_entry: vec![NO_ENTRY; patterns],
        }
    }

    fn child(&self, node: u32, byte: u8) -> Option<u32> {
        let mut c = self.nodes[node as usize].child;
        while c != NO_ENTRY {
            let n = &self.nodes[c as usize];
            if n.byte == byte {
                return Some(c);
            }
            c = n.sibling;
        }
        None
    }

    /// Adds pattern `index` (greater than every index added before) under `prefix`.
    fn insert(&mut self, prefix: &[u8], index: u32) {
        let mut node = 0u32;
        for &b in prefix {
            node = match self.child(node, b) {
                Some(c) => c,
                None => {
                    let c = self.nodes.len() as u32;
                    let parent = &mut self.nodes[node as usize];
                    let sibling = parent.child;
                    parent.child = c;
                    self.nodes.push(TrieNode {
                        child: NO_ENTRY,
                        sibling,
                        byte: b,
                        first: NO_ENTRY,
                        last: NO_ENTRY,
                    });
                    c
                }
            };
        }
        let n = &mut self.nodes[node as usize];
        if n.first == NO_ENTRY {
            n.first = index;
        } else {
            self.next_entry[n.last as usize] = index;
        }
        n.last = index;
    }

    /// The first pattern of each list whose prefix is a prefix of `text`.
    fn lists_along(&self, text: &[u8], heads: &mut Vec<u32>) {
        let mut node = 0u32;
        let mut bytes = text.iter();
        loop {
            let first = self.nodes[node as usize].first;
            if first != NO_ENTRY {
                heads.push(first);
            }
            match bytes.next().and_then(|&b| self.child(node, b)) {
                Some(c) => node = c,
                None => break,
            }
        }
    }
}

/// Whether every name the glob `inner` matches is also matched by the glob `outer`. Sound, not
/// complete: `true` is always right; some containments (rare, contrived ones) answer `false`.
fn glob_covers(outer: &str, inner: &str) -> bool {
    let q: Vec<char> = outer.chars().collect();
    let p: Vec<char> = inner.chars().collect();
    // ok[i][j]: q[i..] covers p[j..].
    let mut ok = vec![vec![false; p.len() + 1]; q.len() + 1];
    ok[q.len()][p.len()] = true;
    for i in (0..q.len()).rev() {
        for j in (0..=p.len()).rev() {
            ok[i][j] = match q[i] {
                '*' => ok[i + 1][j] || (j < p.len() && ok[i][j + 1]),
                '?' => j < p.len() && p[j] != '*' && ok[i + 1][j + 1],
                c => j < p.len() && p[j] == c && c != '?' && c != '*' && ok[i + 1][j + 1],
            };
        }
    }
    ok[0][0]
}

/// The option names of `kind` as a static list, in PyTorch's positional order.
fn option_names(kind: OptimizerKind) -> &'static [&'static str] {
    match kind {
        OptimizerKind::Sgd => &[
            "lr",
            "momentum",
            "dampening",
            "weight_decay",
            "nesterov",
            "maximize",
        ],
        OptimizerKind::Adam => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "amsgrad",
            "maximize",
            "decoupled_weight_decay",
        ],
        OptimizerKind::AdamW => &["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
        OptimizerKind::RmsProp => &[
            "lr",
            "alpha",
            "eps",
            "weight_decay",
            "momentum",
            "centered",
            "maximize",
        ],
        OptimizerKind::Adagrad => &[
            "lr",
            "lr_decay",
            "weight_decay",
            "initial_accumulator_value",
            "eps",
            "maximize",
        ],
        OptimizerKind::Adadelta => &["lr", "rho", "eps", "weight_decay", "maximize"],
        OptimizerKind::Adamax => &["lr", "betas", "eps", "weight_decay", "maximize"],
        OptimizerKind::NAdam => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "momentum_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
        OptimizerKind::RAdam => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
    }
}

/// A plausible value for a required argument, for "add `name = value`" help lines.
fn example_value(param: &str) -> &'static str {
    match param {
        "lr_lambda" => "epoch -> 0.95 ** epoch",
        "step_size" => "30",
        "milestones" => "[30, 60]",
        "gamma" => "0.1",
        "t_max" => "100",
        "t_0" => "10",
        "base_lr" => "0.001",
        "max_lr" => "0.1",
        _ => "...",
    }
}

/// The optimc spelling of a PyTorch scheduler class name, for users who write the class.
fn torch_schedule(name: &str) -> Option<&'static str> {
    SCHEDULES
        .iter()
        .find(|s| s.torch.eq_ignore_ascii_case(name))
        .map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_names_follow_the_kind_table() {
        for kind in OptimizerKind::ALL {
            let names: Vec<&str> = kind.options().0.iter().map(|o| o.name()).collect();
            assert_eq!(names, option_names(kind), "{kind:?}");
        }
    }

    #[test]
    fn glob_cover() {
        assert!(glob_covers("*", "head.*"));
        assert!(glob_covers("*", ""));
        assert!(glob_covers("head.*", "head.classifier.*"));
        assert!(glob_covers("head.*", "head.bias"));
        assert!(glob_covers("*.bias", "head.*.bias"));
        assert!(glob_covers("layer?.*", "layer1.weight"));
        assert!(glob_covers("layer?.*", "layer?.weight"));
        assert!(glob_covers("a*b", "a*b"));
        assert!(!glob_covers("head.*", "*"));
        assert!(!glob_covers("head.*", "backbone.*"));
        assert!(!glob_covers("layer1.*", "layer?.*"));
        assert!(!glob_covers("?", "*"));
        assert!(!glob_covers("*.weight", "*.bias"));
        assert!(!glob_covers("*norm*", "*.bias"));
    }

    /// Containment agrees with matching: whenever `glob_covers(q, p)`, every name `p` matches
    /// (here, every short name over a small alphabet) is matched by `q`.
    #[test]
    fn glob_cover_is_sound() {
        use crate::optim::glob_match;
        let patterns = [
            "*", "a*", "*b", "a?", "?b", "a*b", "ab", "?", "??", "*a*", "a", "b*a",
        ];
        let mut names = vec![String::new()];
        for len in 1..=4 {
            for i in 0..(1 << len) {
                names.push(
                    (0..len)
                        .map(|k| if i >> k & 1 == 1 { 'b' } else { 'a' })
                        .collect(),
                );
            }
        }
        for q in patterns {
            for p in patterns {
                let contained = names.iter().all(|n| !glob_match(p, n) || glob_match(q, n));
                if glob_covers(q, p) {
                    assert!(contained, "{q} said to cover {p}");
                }
            }
        }
    }

    /// The `shadowed_group` lint as it was first written: every pattern against every earlier
    /// pattern, in order, within the budget. The indexed lint must answer exactly the same.
    fn shadowed_groups_pairwise(groups: &[Vec<&str>], budget: usize) -> Vec<Shadow> {
        let budget = Cell::new(budget);
        let covers = |q: &str, p: &str| {
            let cost = (q.len() + 1).saturating_mul(p.len() + 1);
            if cost > budget.get() {
                budget.set(0);
                return None;
            }
            budget.set(budget.get() - cost);
            Some(glob_covers(q, p))
        };
        let mut out = Vec::new();
        for (i, patterns) in groups.iter().enumerate() {
            let earlier = &groups[..i];
            let shadow_of = |p: &str| {
                earlier.iter().enumerate().find_map(|(g, qs)| {
                    qs.iter()
                        .position(|q| covers(q, p).unwrap_or(false))
                        .map(|k| (g, k))
                })
            };
            let shadows: Vec<_> = patterns.iter().map(|p| shadow_of(p)).collect();
            if budget.get() == 0 {
                break;
            }
            if patterns.is_empty() || shadows.iter().any(Option::is_none) {
                continue;
            }
            if let Some((by, pattern)) = shadows[0] {
                out.push(Shadow {
                    group: i,
                    by,
                    pattern,
                });
            }
        }
        out
    }

    #[test]
    fn the_indexed_shadow_lint_answers_as_the_pairwise_one() {
        // A small deterministic generator (xorshift) over an alphabet where covers are common.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet = ["a", "b", ".", "*", "?", "é"];
        let mut found = 0;
        let mut exhausted = 0;
        for round in 0..3000 {
            let groups: Vec<Vec<String>> = (0..1 + next(9))
                .map(|_| {
                    (0..next(4))
                        .map(|_| {
                            (0..next(7))
                                .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let groups: Vec<Vec<&str>> = groups
                .iter()
                .map(|g| g.iter().map(String::as_str).collect())
                .collect();
            let budget = [0, 1, 20, 60, 150, 400, 2000, SHADOW_BUDGET][round % 8];
            let expected = shadowed_groups_pairwise(&groups, budget);
            let got = shadowed_groups(&groups, budget).shadows;
            assert_eq!(got, expected, "{groups:?} with budget {budget}");
            found += expected.len();
            let unlimited = shadowed_groups_pairwise(&groups, usize::MAX);
            exhausted += usize::from(unlimited != expected);
        }
        // The generated cases do exercise both the warnings and the budget running out.
        assert!(found > 500, "{found}");
        assert!(exhausted > 100, "{exhausted}");
    }

    /// Ten thousand groups with their own literal prefixes (as in the benchmark file) compare
    /// almost no pairs of patterns: only patterns whose prefix and suffix fit are compared.
    #[test]
    fn the_shadow_lint_compares_only_plausible_pairs() {
        let n = 10_000;
        let mut groups: Vec<Vec<String>> = (0..n)
            .map(|g| vec![format!("model.layer{g}.*"), format!("aux.layer{g}.bias")])
            .collect();
        groups.push(vec!["model.layer5000.attn.*".to_string()]);
        groups.push(vec!["*".to_string()]);
        let groups: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(String::as_str).collect())
            .collect();
        let lint = shadowed_groups(&groups, usize::MAX);
        assert_eq!(
            lint.shadows,
            [Shadow {
                group: n,
                by: 5000,
                pattern: 0
            }]
        );
        // Pairwise, that is 2 × 10^8 comparisons.
        assert!(lint.compared <= 10, "{} pairs compared", lint.compared);
        // With the real budget the lint gives up early, exactly where the pairwise one did.
        let small: Vec<Vec<&str>> = groups[..300].to_vec();
        assert_eq!(
            shadowed_groups(&small, SHADOW_BUDGET).shadows,
            shadowed_groups_pairwise(&small, SHADOW_BUDGET)
        );
    }

    #[test]
    fn literal_ends_of_globs() {
        assert_eq!(literal_prefix("model.layer1.*"), "model.layer1.");
        assert_eq!(literal_prefix("a?b*"), "a");
        assert_eq!(literal_prefix("*"), "");
        assert_eq!(literal_prefix("head.bias"), "head.bias");
        assert_eq!(literal_suffix("*.bias"), ".bias");
        assert_eq!(literal_suffix("a*b?c"), "c");
        assert_eq!(literal_suffix("a*"), "");
        assert_eq!(literal_suffix("head.bias"), "head.bias");
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("gama", ["gamma", "step_size"]), Some("gamma"));
        assert_eq!(did_you_mean("T_max", ["t_max", "eta_min"]), Some("t_max"));
        assert_eq!(did_you_mean("SGD", ["sgd", "adam"]), Some("sgd"));
        assert_eq!(did_you_mean("xyz", ["gamma"]), None);
    }
}

//! Arguments: binding a call's arguments to a signature's parameters (PyTorch's positional order
//! or by name), and the typed readers of one bound argument, each with its own diagnostics.

use super::{Checker, Value};
use crate::ast::{self, ExprKind, Span};
use crate::config::PerGroup;
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::Lambda;
use crate::limits::MAX_COUNT;
use crate::schedule::Param;

/// Arguments bound to a signature's parameter names.
pub(super) struct Bound<'a> {
    pub(super) call: &'a ast::Call,
    /// Each bound parameter with its value and the span of the argument that gave it (a
    /// signature has at most a dozen parameters: a list beats a map).
    pub(super) named: Vec<(&'static str, &'a ast::Expr, Span)>,
    pub(super) rest: Vec<&'a ast::Expr>,
}

impl<'a> Bound<'a> {
    pub(super) fn get(&self, name: &str) -> Option<&'a ast::Expr> {
        self.named
            .iter()
            .find(|(p, ..)| *p == name)
            .map(|(_, e, _)| *e)
    }

    pub(super) fn span_of(&self, name: &str) -> Option<Span> {
        self.named
            .iter()
            .find(|(p, ..)| *p == name)
            .map(|(.., s)| *s)
    }
}

/// A parameter [`Checker::bind`] binds to: a schedule kind's [`Param`] from its table, or an
/// optimizer option's name.
pub(super) trait ParamName {
    fn name(&self) -> &'static str;
    /// A plausible value, for "add `name = value`" help lines.
    fn example(&self) -> &'static str {
        "..."
    }
}

impl ParamName for &'static str {
    fn name(&self) -> &'static str {
        self
    }
}

impl ParamName for Param {
    fn name(&self) -> &'static str {
        self.name
    }
    fn example(&self) -> &'static str {
        self.example
    }
}

fn names<P: ParamName>(params: &[P]) -> Vec<&'static str> {
    params.iter().map(P::name).collect()
}

impl Checker {
    /// Binds a call's arguments to `params` (PyTorch's order; the first `positional` may be given
    /// by position). Reports order problems, unknown names, duplicates and missing required ones.
    pub(super) fn bind<'a, P: ParamName>(
        &mut self,
        call: &'a ast::Call,
        what: &str,
        params: &'static [P],
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
                        let list = names(&params[..positional.min(params.len())]).join(", ");
                        let help = if params.len() > positional {
                            format!(
                                "`{what}` takes at most {positional} positional argument{} ({list}); name the others, e.g. `{} = ...`",
                                if positional == 1 { "" } else { "s" },
                                params[positional.min(params.len() - 1)].name()
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
                    let p = params[position].name();
                    position += 1;
                    bound.named.push((p, &arg.value, arg.value.span));
                }
                Some(name) => {
                    seen_named.get_or_insert(name.span);
                    let Some(p) = params.iter().map(P::name).find(|p| *p == name.name) else {
                        self.unknown_argument(what, name, &names(params));
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
        let missing: Vec<(&str, &str)> = params[..required]
            .iter()
            .filter(|p| bound.get(p.name()).is_none())
            .map(|p| (p.name(), p.example()))
            .collect();
        if !missing.is_empty() && self.error_count() == errors_before {
            self.missing_arguments(call, what, &missing);
        }
        bound
    }

    /// Reports required arguments that a call leaves out, with an example value for each.
    fn missing_arguments(&mut self, call: &ast::Call, what: &str, missing: &[(&str, &str)]) {
        let list = missing
            .iter()
            .map(|(m, _)| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        let example = missing
            .iter()
            .map(|(m, example)| format!("`{m} = {example}`"))
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

    pub(super) fn unknown_argument(&mut self, what: &str, name: &ast::Ident, params: &[&str]) {
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
        } else if n == "t_in_epochs" {
            "the file's `run` says when the schedule steps: timm's `t_in_epochs=False` is \
             `run = per_step(...)`, `True` is `run = per_epoch(...)` (the default); remove it"
                .to_string()
        } else if n.starts_with("noise_") {
            format!("optimc adds no random noise to the lr (timm's `{n}`); remove it")
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
    pub(super) fn arg_value(&mut self, e: &ast::Expr) -> Option<Value> {
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

    pub(super) fn number(&mut self, b: &Bound, name: &str, default: f64) -> f64 {
        self.number_opt(b, name).unwrap_or(default)
    }

    pub(super) fn number_opt(&mut self, b: &Bound, name: &str) -> Option<f64> {
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

    pub(super) fn whole(&mut self, b: &Bound, name: &str, default: u64) -> u64 {
        self.whole_opt(b, name).unwrap_or(default)
    }

    pub(super) fn whole_opt(&mut self, b: &Bound, name: &str) -> Option<u64> {
        let e = b.get(name)?;
        let v = self.arg_value(e)?;
        self.as_whole(v, e.span, name)
    }

    pub(super) fn as_whole(&mut self, v: Value, span: Span, name: &str) -> Option<u64> {
        let n = self.as_number(v, span)?;
        if n.fract() == 0.0 && n > MAX_COUNT {
            self.error(
                Diagnostic::error(
                    Code::OutOfRange,
                    span,
                    format!(
                        "`{name}` = {} is more than optimc counts (at most 2^53 = 9007199254740992)",
                        crate::diagnostic::text::format_number(n)
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
                        crate::diagnostic::text::format_number(n)
                    ),
                )
                .with_label("not a whole number")
                .with_help(help),
            );
            return None;
        }
        Some(n as u64)
    }

    pub(super) fn boolean(&mut self, b: &Bound, name: &str, default: bool) -> bool {
        let Some(e) = b.get(name) else {
            return default;
        };
        let Some(v) = self.arg_value(e) else {
            return default;
        };
        self.as_bool(v, e.span).unwrap_or(default)
    }

    /// An enum-valued argument: a bare word from `choices`.
    pub(super) fn word(
        &mut self,
        b: &Bound,
        name: &str,
        choices: &[&'static str],
    ) -> Option<usize> {
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
    pub(super) fn per_group(&mut self, b: &Bound, name: &str, default: f64) -> PerGroup {
        self.per_group_opt(b, name)
            .unwrap_or(PerGroup::All(default))
    }

    pub(super) fn per_group_opt(&mut self, b: &Bound, name: &str) -> Option<PerGroup> {
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
    pub(super) fn whole_list(&mut self, b: &Bound, name: &str) -> Option<(Vec<(u64, Span)>, Span)> {
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

    pub(super) fn lambda_arg(&mut self, b: &Bound, name: &str) -> Option<Lambda> {
        let e = b.get(name)?;
        let v = self.arg_value(e)?;
        match v {
            Value::Lambda(l) => Some(l),
            other => {
                let example = match &other {
                    Value::Number(n) => {
                        format!("`epoch -> {}`", crate::diagnostic::text::format_number(*n))
                    }
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

    pub(super) fn range(&mut self, b: &Bound, name: &str, value: f64, ok: bool, expected: &str) {
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
                    crate::diagnostic::text::format_number(value)
                ),
            )
            .with_label(format!("must be {expected}"))
            .with_help(format!(
                "{} refuses this value too; choose `{name}` {expected}",
                refuser(&b.call.name.name)
            )),
        );
    }
}

/// Who refuses an argument out of range: PyTorch, or for a library schedule its library (the
/// first word of its `torch` name, `fairseq.InverseSquareRootSchedule`).
fn refuser(callee: &str) -> &'static str {
    match crate::schedule::ScheduleKind::from_name(callee) {
        Some(kind) => match kind.torch_name().split_once('.') {
            Some((library, _)) => library,
            None => "PyTorch",
        },
        None => "PyTorch",
    }
}

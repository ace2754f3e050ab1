//! Evaluating expressions to check-time values: literals, names, arithmetic, calls of schedules,
//! math functions and `let` lambdas, and the errors for a value of the wrong type.

use super::{Checker, Item, Value};
use crate::ast::{self, BinaryOp, ExprKind, Span, UnaryOp};
use crate::config::OptimizerKind;
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::{self, Func};
use crate::limits::MAX_TREE_DEPTH;
use crate::schedule::ScheduleKind;

impl Checker {
    /// Refuses expressions nested too deeply to walk recursively.
    pub(super) fn guard_depth(&mut self, e: &ast::Expr) -> bool {
        let mut stack = Vec::with_capacity(32);
        stack.push((e, 1usize));
        while let Some((e, depth)) = stack.pop() {
            if depth > MAX_TREE_DEPTH {
                self.error(
                    Diagnostic::error(
                        Code::TooLarge,
                        e.span,
                        format!("this expression is nested more than {MAX_TREE_DEPTH} levels deep"),
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
                ExprKind::LetIn { value, body, .. } => {
                    stack.push((value, depth + 1));
                    stack.push((body, depth + 1));
                }
                ExprKind::Number(_)
                | ExprKind::String(_)
                | ExprKind::Bool(_)
                | ExprKind::Name(_) => {}
            }
        }
        true
    }

    /// Evaluates an expression to a value. `None` means an error was reported.
    pub(super) fn eval(&mut self, e: &ast::Expr) -> Option<Value> {
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
            ExprKind::LetIn { name, .. } => {
                let keyword = Span::new(e.span.start, name.span.end);
                self.error(
                    Diagnostic::error(
                        Code::BadLambda,
                        keyword,
                        "`let ... in` names a value inside a lambda's body, not here",
                    )
                    .with_label("outside any lambda")
                    .with_help(format!(
                        "define it for the whole file on a line of its own, `let {} = ...`, or move it into the lambda that uses it: `e -> let {} = ... in ...`",
                        name.name, name.name
                    )),
                );
                None
            }
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

    pub(super) fn items(&mut self, items: &[ast::Expr]) -> Option<Vec<Item>> {
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

    pub(super) fn type_error(
        &mut self,
        v: &Value,
        span: Span,
        expected: &str,
        help: Option<String>,
    ) {
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

    pub(super) fn as_number(&mut self, v: Value, span: Span) -> Option<f64> {
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

    pub(super) fn as_bool(&mut self, v: Value, span: Span) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(b),
            other => {
                let help = match &other {
                    Value::Number(n) => Some(format!(
                        "booleans are written `true` and `false`, not {}; write `{}`",
                        crate::diagnostic::text::format_number(*n),
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

    pub(super) fn call(&mut self, call: &ast::Call) -> Option<Value> {
        let name = call.name.name.as_str();
        if let Some(kind) = ScheduleKind::from_name(name) {
            return self
                .schedule_call(kind.info(), call)
                .map(|(s, source)| Value::Schedule(s, Box::new(source)));
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
            let def = entry.span;
            if self.current_let == Some(def) {
                self.error(expr::refers_to_itself(name, call.name.span, def, true));
                return None;
            }
            if !entry.defined {
                self.error(expr::used_before_definition(name, call.name.span, def));
                return None;
            }
            // `None`: its errors were reported where it is defined.
            entry.value.as_ref()?;
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
        let help = match did_you_mean(
            name,
            ScheduleKind::names().chain(Func::NAMES.iter().copied()),
        ) {
            Some(s) => format!("did you mean `{s}`?"),
            None => match ScheduleKind::from_torch_name(name) {
                Some(s) => format!("PyTorch's `{name}` is written `{}(...)` here", s.name()),
                None => format!(
                    "schedules are: {}",
                    ScheduleKind::names().collect::<Vec<_>>().join(", ")
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
}

//! Lambda bodies: type-checked once, compiled into a flat stack program that evaluates without
//! allocating.
//!
//! Arithmetic follows Python, because lambdas are ported from PyTorch code: `//` floors and `%`
//! takes the divisor's sign (CPython's `float_divmod`), `round` rounds half to even, `min`/`max`
//! keep the first of equal (or unordered) values. Where Python raises (division by zero, `log(0)`,
//! `sqrt(-1)`), optimc follows IEEE 754 and yields an infinity or NaN, which `optimc check` reports.
//!
//! [`Lambda`] and its API are here; `tree.rs` holds the body as a tree (what [`Lambda::body`]
//! returns and `Display` writes), `compile.rs` the type check and the compiler, `run.rs` the
//! stack program, its evaluation and Python's arithmetic.

mod compile;
mod run;
mod tree;

pub(crate) use compile::{arity_error, refers_to_itself, used_before_definition};
pub use compile::{compile, compile_within, constant, InlineBudget, Lookup};
pub use run::{binary, python_floordiv, python_mod, Fault, Operation};
pub use tree::{Args, Func, NodeKind, NodeRef, UnaryFn};

use crate::ast::{self, ExprKind, Span};
use crate::diagnostic::{Code, Diagnostic};
use run::{Op, Stack};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;
use tree::Tree;

/// A compiled one-parameter function `x -> expr`.
///
/// ```
/// let config = optimc::Config::from_source("lr.optim", "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 0.5 ** (e // 10))").unwrap();
/// let optimc::config::ScheduleConfig::Lambda { lr_lambda } = config.schedule.unwrap() else { unreachable!() };
/// assert_eq!(lr_lambda.eval(25.0), 0.25);
/// assert_eq!(lr_lambda.to_string(), "e -> 0.5 ** (e // 10)");
/// ```
#[derive(Clone)]
pub struct Lambda {
    // Shared, so that a clone (every schedule instance built from a config holds its lambdas)
    // copies three pointers instead of a tree and a program.
    param: Arc<str>,
    body: Arc<Tree>,
    code: Arc<[Op]>,
    /// Where the program comes from, for diagnostics ([`Lambda::first_fault`]); kept apart
    /// from `code` so that [`Lambda::eval`] runs exactly as it would without it.
    origin: Arc<Origin>,
    /// The stack the program needs, which decides how [`Lambda::eval`] runs it.
    stack: Stack,
}

/// The side table of a lambda's program: what [`Lambda::first_fault`] reports.
#[derive(Debug)]
struct Origin {
    /// The body as written (for a `let` lambda, in its `let`).
    body: Span,
    /// `spans[pc]`: where operation `pc` was written.
    spans: Box<[Span]>,
    /// `(pc, fault)`, by `pc`: a folded constant that broke, evaluated just before operation
    /// `pc` (see [`Fault`]).
    faults: Box<[(u32, Fault)]>,
}

impl Lambda {
    /// How many operations one evaluation runs (at most [`MAX_LAMBDA_OPS`](crate::limits::MAX_LAMBDA_OPS)).
    pub fn ops(&self) -> usize {
        self.code.len()
    }

    /// The parameter's name.
    pub fn param(&self) -> &str {
        &self.param
    }

    /// Where the body is written: in the source the lambda was compiled from (for a `let`
    /// lambda, its `let`; for [`Lambda::from_text`], that text).
    pub fn body_span(&self) -> Span {
        self.origin.body
    }

    /// The body, with `let` constants substituted and calls to `let` lambdas inlined.
    pub fn body(&self) -> NodeRef<'_> {
        self.body.at(self.body.root)
    }

    /// Reads back a lambda written as text, such as `"e -> 0.95 ** e"` (what [`Display`](fmt::Display)
    /// prints). Only the parameter, numbers and math functions may appear.
    pub fn from_text(text: &str) -> Result<Lambda, Vec<Diagnostic>> {
        let expr = crate::parse::parse_expr(text)?;
        crate::limits::with_stack(crate::limits::PASS_STACK, || Lambda::from_expr(&expr))
    }

    fn from_expr(expr: &ast::Expr) -> Result<Lambda, Vec<Diagnostic>> {
        let ExprKind::Lambda { param, body } = &expr.unparen().kind else {
            return Err(vec![Diagnostic::error(
                Code::BadLambda,
                expr.span,
                "expected a lambda such as `e -> 0.95 ** e`",
            )
            .with_label("not a lambda")
            .with_help("write a function of the epoch, e.g. `e -> 0.95 ** e`")]);
        };
        let mut diags = Vec::new();
        match compile(param, body, &|_| Lookup::Undefined, &mut diags) {
            // A warning (an unused local value) does not stop a lambda from reading back.
            Some(lambda) if !diags.iter().any(Diagnostic::is_error) => Ok(lambda),
            _ => Err(diags),
        }
    }
}

impl PartialEq for Lambda {
    fn eq(&self, other: &Self) -> bool {
        self.param == other.param && self.body() == other.body()
    }
}

impl fmt::Debug for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lambda({self})")
    }
}

impl fmt::Display for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> ", self.param)?;
        self.body().write(f, &self.param, 0)
    }
}

impl Serialize for Lambda {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lambda {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Lambda::from_text(&text).map_err(|diags| {
            let why = diags.first().map(|d| d.message.clone()).unwrap_or_default();
            serde::de::Error::custom(format!("invalid lambda `{text}`: {why}"))
        })
    }
}

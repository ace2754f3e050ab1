//! The syntax tree of a `.optim` file, as written.
//!
//! Every node keeps the byte range of the source it came from, so that every later stage
//! (checking, compiling, formatting) can point diagnostics at the exact text.

use std::fmt;

/// A byte range `start..end` in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start, span.len()).into()
    }
}

/// A whole `.optim` file.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub statements: Vec<Statement>,
    /// Every `# ...` comment, in source order (kept for the formatter).
    pub comments: Vec<Comment>,
}

/// A `# ...` comment; `text` excludes the `#` and the line break.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `let NAME = expr`
    Let {
        name: Ident,
        value: Expr,
        span: Span,
    },
    /// `optimizer = NAME(args)`; `keyword` is the span of the word `optimizer`.
    Optimizer {
        keyword: Span,
        call: Call,
        span: Span,
    },
    /// `group NAME { key = value, ... }`
    Group {
        name: Ident,
        fields: Vec<Field>,
        span: Span,
    },
    /// `schedule = expr`; `keyword` is the span of the word `schedule`.
    Schedule {
        keyword: Span,
        value: Expr,
        span: Span,
    },
    /// `run = per_step(...)` or `run = per_epoch(...)`: when the schedule steps and how long the
    /// run is; `keyword` is the span of the word `run`.
    Run {
        keyword: Span,
        call: Call,
        span: Span,
    },
    /// `average = NAME(args)` (`swa(...)` or `ema(...)`); `keyword` is the span of the word
    /// `average`, which is not reserved: it starts a statement only at a statement's start.
    Average {
        keyword: Span,
        call: Call,
        span: Span,
    },
}

impl Statement {
    pub fn span(&self) -> Span {
        match self {
            Statement::Let { span, .. }
            | Statement::Optimizer { span, .. }
            | Statement::Group { span, .. }
            | Statement::Schedule { span, .. }
            | Statement::Run { span, .. }
            | Statement::Average { span, .. } => *span,
        }
    }
}

/// `key = value` inside `group { }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub key: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(f64),
    String(String),
    Bool(bool),
    /// A `let` name, a lambda parameter, a math constant (`pi`, `tau`) or an enum word (`max`).
    Name(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    // Boxed, as is a lambda's parameter, so that every other node (most are numbers, names and
    // operators) stays 48 bytes instead of 96: a large file's tree is half the memory.
    Call(Box<Call>),
    /// `( expr )`, kept so that tools can reproduce what was written.
    Paren(Box<Expr>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Lambda {
        param: Box<Ident>,
        body: Box<Expr>,
    },
    /// `let name = value in body`: a local name inside a lambda's body, computed once.
    LetIn {
        name: Box<Ident>,
        value: Box<Expr>,
        body: Box<Expr>,
    },
}

impl Expr {
    /// The expression with any parentheses around it removed.
    pub fn unparen(&self) -> &Expr {
        let mut e = self;
        while let ExprKind::Paren(inner) = &e.kind {
            e = inner;
        }
        e
    }
}

/// `name(positional..., key = value...)`
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// `Some` for `key = value`, `None` for a positional argument.
    pub name: Option<Ident>,
    pub value: Expr,
}

impl Arg {
    pub fn span(&self) -> Span {
        match &self.name {
            Some(name) => name.span.to(self.value.span),
            None => self.value.span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::FloorDiv => "//",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "**",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne
        )
    }

    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

//! The pest path: the grammar (`grammar/optim.pest`, the definition of the language) and the
//! syntax tree built from its pairs, with the checks only a tree can make (chained
//! comparisons, overflowing numbers, escapes, the depth limit). Its syntax errors are worded by
//! `hints.rs`.

use super::hints::syntax_error;
use crate::ast::{self, BinaryOp, Comment, Expr, ExprKind, Ident, Span, Statement, UnaryOp};
use crate::diagnostic::{Code, Diagnostic};
use crate::limits::MAX_TREE_DEPTH;
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/optim.pest"]
pub(super) struct OptimParser;

pub(super) fn parse_checked(source: &str) -> Result<ast::File, Vec<Diagnostic>> {
    let pairs = OptimParser::parse(Rule::file, source)
        .map_err(|e| vec![syntax_error(source, Rule::file, e)])?;
    let mut builder = Builder::default();
    let file_pair = pairs
        .into_iter()
        .next()
        .expect("the file rule always yields one pair");
    let mut statements = Vec::new();
    for pair in file_pair.into_inner() {
        if pair.as_rule() != Rule::EOI {
            statements.push(builder.statement(pair, source));
        }
    }
    if builder.errors.is_empty() {
        Ok(ast::File {
            statements,
            comments: comments(source),
        })
    } else {
        Err(builder.errors)
    }
}

pub(super) fn parse_expr_checked(source: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
    let pairs = OptimParser::parse(Rule::expr_only, source)
        .map_err(|e| vec![syntax_error(source, Rule::expr_only, e)])?;
    let mut builder = Builder::default();
    let pair = pairs.into_iter().next().expect("expr_only yields one pair");
    let expr_pair = pair
        .into_inner()
        .next()
        .expect("expr_only holds an expression");
    let expr = builder.expr(expr_pair);
    if builder.errors.is_empty() {
        Ok(expr)
    } else {
        Err(builder.errors)
    }
}

/// Every `# ...` comment outside strings.
fn comments(source: &str) -> Vec<Comment> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => {
                let end = source[i..].find('\n').map_or(source.len(), |n| i + n);
                out.push(Comment {
                    text: source[i + 1..end].trim_end_matches('\r').to_string(),
                    span: Span::new(i, end),
                });
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn span_of(pair: &Pair<Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

#[derive(Default)]
struct Builder {
    errors: Vec<Diagnostic>,
}

impl Builder {
    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: span_of(&pair),
        }
    }

    fn statement(&mut self, pair: Pair<Rule>, source: &str) -> Statement {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let keyword = span_of(&inner.next().expect("statements start with a keyword"));
        match rule {
            Rule::let_stmt => {
                let name = self.ident(inner.next().expect("let has a name"));
                let value = self.expr(inner.next().expect("let has a value"));
                Statement::Let { name, value, span }
            }
            Rule::optimizer_stmt => {
                let call = self.call(inner.next().expect("optimizer has a call"));
                Statement::Optimizer {
                    keyword,
                    call,
                    span,
                }
            }
            Rule::run_stmt => {
                let call = self.call(inner.next().expect("run has a call"));
                Statement::Run {
                    keyword,
                    call,
                    span,
                }
            }
            Rule::average_stmt => {
                let call = self.call(inner.next().expect("average has a call"));
                Statement::Average {
                    keyword,
                    call,
                    span,
                }
            }
            Rule::schedule_stmt => {
                let value = self.expr(inner.next().expect("schedule has a value"));
                Statement::Schedule {
                    keyword,
                    value,
                    span,
                }
            }
            Rule::group_stmt => {
                let name = self.ident(inner.next().expect("group has a name"));
                let mut fields: Vec<ast::Field> = Vec::new();
                let mut comma_before = true;
                for p in inner {
                    match p.as_rule() {
                        Rule::comma => comma_before = true,
                        Rule::field => {
                            let p_span = span_of(&p);
                            if let (Some(prev), false) = (fields.last(), comma_before) {
                                let between = &source[prev.value.span.end..p_span.start];
                                if !between.contains('\n') {
                                    self.errors.push(
                                        Diagnostic::error(
                                            Code::Syntax,
                                            Span::new(p_span.start, p_span.start + p.as_str().find('=').unwrap_or(1)),
                                            "two group fields on one line need a comma between them",
                                        )
                                        .with_label("expected `,` before this field")
                                        .with_help(format!(
                                            "write `{}, {}` or put each field on its own line",
                                            &source[prev.key.span.start..prev.value.span.end],
                                            p.as_str().trim()
                                        )),
                                    );
                                }
                            }
                            let mut f = p.into_inner();
                            let key = self.ident(f.next().expect("field has a key"));
                            let value = self.expr(f.next().expect("field has a value"));
                            fields.push(ast::Field { key, value });
                            comma_before = false;
                        }
                        _ => {}
                    }
                }
                Statement::Group { name, fields, span }
            }
            _ => unreachable!("the grammar has four statements"),
        }
    }

    /// Builds an expression; refuses (with one error) trees deeper than [`MAX_TREE_DEPTH`].
    fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        self.node(pair).0
    }

    /// A placeholder for a subtree that was refused, so building can continue.
    fn refused(&mut self, span: Span) -> (Expr, usize) {
        if !self.errors.iter().any(|e| e.code == Code::TooLarge) {
            self.errors.push(
                Diagnostic::error(
                    Code::TooLarge,
                    span,
                    format!("this expression is nested more than {MAX_TREE_DEPTH} levels deep"),
                )
                .with_label("too deep")
                .with_help("simplify it, or split it into several `let`s"),
            );
        }
        (
            Expr {
                kind: ExprKind::Number(0.0),
                span,
            },
            1,
        )
    }

    fn make(&mut self, kind: ExprKind, span: Span, depth: usize) -> (Expr, usize) {
        if depth > MAX_TREE_DEPTH {
            return self.refused(span);
        }
        (Expr { kind, span }, depth)
    }

    fn node(&mut self, pair: Pair<Rule>) -> (Expr, usize) {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::expr | Rule::atom => {
                let inner = pair
                    .into_inner()
                    .next()
                    .expect("expr wraps one alternative");
                self.node(inner)
            }
            Rule::lambda => self.lambda(pair),
            Rule::let_in => self.let_in(pair),
            Rule::if_chain => self.if_chain(pair),
            Rule::or_expr | Rule::and_expr | Rule::sum | Rule::product => self.left_assoc(pair),
            Rule::cmp_expr => self.comparison(pair, span),
            Rule::not_expr | Rule::unary | Rule::exponent => self.prefixed(pair),
            Rule::power => self.power(pair),
            Rule::number => self.number(pair, span),
            Rule::string => {
                let body = pair.into_inner().next().expect("string has a body");
                let text = self.unescape(body.as_str(), body.as_span().start());
                (
                    Expr {
                        kind: ExprKind::String(text),
                        span,
                    },
                    1,
                )
            }
            Rule::kw_true | Rule::kw_false => (
                Expr {
                    kind: ExprKind::Bool(pair.as_rule() == Rule::kw_true),
                    span,
                },
                1,
            ),
            Rule::ident => (
                Expr {
                    kind: ExprKind::Name(pair.as_str().to_string()),
                    span,
                },
                1,
            ),
            Rule::call => {
                let call = self.call(pair);
                // Arguments were depth-limited as they were built; a call adds one level.
                (
                    Expr {
                        kind: ExprKind::Call(Box::new(call)),
                        span,
                    },
                    2,
                )
            }
            Rule::paren
                if !pair
                    .clone()
                    .into_inner()
                    .any(|p| p.as_rule() == Rule::tuple_comma) =>
            {
                let (inner, d) =
                    self.node(pair.into_inner().next().expect("paren holds an expression"));
                self.make(ExprKind::Paren(Box::new(inner)), span, d + 1)
            }
            // A `paren` with a comma is a tuple.
            Rule::paren | Rule::list => self.sequence(pair, span),
            other => unreachable!("no expression rule {other:?}"),
        }
    }

    /// `x -> body` (and `x -> y -> body`).
    fn lambda(&mut self, pair: Pair<Rule>) -> (Expr, usize) {
        let mut parts: Vec<Pair<Rule>> = pair.into_inner().collect();
        let body = parts.pop().expect("lambda has a body");
        let (mut acc, mut depth) = self.node(body);
        // `x -> y -> body` nests right to left.
        for p in parts.into_iter().rev() {
            let param = self.ident(p);
            let s = Span::new(param.span.start, acc.span.end);
            (acc, depth) = self.make(
                ExprKind::Lambda {
                    param: Box::new(param),
                    body: Box::new(acc),
                },
                s,
                depth + 1,
            );
        }
        (acc, depth)
    }

    /// `let a = x in let b = y in body`, nested right to left.
    fn let_in(&mut self, pair: Pair<Rule>) -> (Expr, usize) {
        // Layout: (let name = value in)+ body
        let mut bindings = Vec::new();
        let mut it = pair.into_inner();
        let mut last = None;
        while let Some(p) = it.next() {
            if p.as_rule() == Rule::kw_let {
                let let_start = p.as_span().start();
                let name = self.ident(it.next().expect("let has a name"));
                let value = self.node(it.next().expect("let has a value"));
                it.next(); // in
                bindings.push((let_start, name, value));
            } else {
                last = Some(self.node(p));
            }
        }
        let (mut acc, mut depth) = last.expect("let ... in has a body");
        for (let_start, name, (value, vd)) in bindings.into_iter().rev() {
            let s = Span::new(let_start, acc.span.end);
            let d = 1 + vd.max(depth);
            (acc, depth) = self.make(
                ExprKind::LetIn {
                    name: Box::new(name),
                    value: Box::new(value),
                    body: Box::new(acc),
                },
                s,
                d,
            );
        }
        (acc, depth)
    }

    /// `if c then a else if ... else b`.
    fn if_chain(&mut self, pair: Pair<Rule>) -> (Expr, usize) {
        let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
        // Layout: (if cond then value else)+ last
        let mut branches = Vec::new();
        let mut it = parts.into_iter();
        let mut last = None;
        while let Some(p) = it.next() {
            if p.as_rule() == Rule::kw_if {
                let if_start = p.as_span().start();
                let cond = self.node(it.next().expect("if has a condition"));
                it.next(); // then
                let value = self.node(it.next().expect("if has a value"));
                it.next(); // else
                branches.push((if_start, cond, value));
            } else {
                last = Some(self.node(p));
            }
        }
        let (mut acc, mut depth) = last.expect("if has an else branch");
        for (if_start, (cond, cd), (value, vd)) in branches.into_iter().rev() {
            let s = Span::new(if_start, acc.span.end);
            let d = 1 + cd.max(vd).max(depth);
            (acc, depth) = self.make(
                ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(value),
                    otherwise: Box::new(acc),
                },
                s,
                d,
            );
        }
        (acc, depth)
    }

    /// `a < b`; a chained comparison is an error.
    fn comparison(&mut self, pair: Pair<Rule>, span: Span) -> (Expr, usize) {
        let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
        if parts.len() > 3 {
            let op_span = span_of(&parts[3]);
            let first = parts[0].as_str().trim();
            let middle = parts[2].as_str().trim();
            let last = parts[4].as_str().trim();
            self.errors.push(
                Diagnostic::error(Code::Syntax, op_span, "comparisons cannot be chained")
                    .with_label("second comparison")
                    .with_help(format!(
                        "write `{first} {} {middle} and {middle} {} {last}`",
                        parts[1].as_str(),
                        parts[3].as_str()
                    )),
            );
        }
        self.left_assoc_parts(parts, span)
    }

    /// An operand after `not`s and minus signs.
    fn prefixed(&mut self, pair: Pair<Rule>) -> (Expr, usize) {
        let mut parts: Vec<Pair<Rule>> = pair.into_inner().collect();
        let operand = parts.pop().expect("a prefix chain ends in an operand");
        let (mut acc, mut depth) = self.node(operand);
        for p in parts.into_iter().rev() {
            let op = if p.as_rule() == Rule::neg {
                UnaryOp::Neg
            } else {
                UnaryOp::Not
            };
            let s = Span::new(p.as_span().start(), acc.span.end);
            (acc, depth) = self.make(
                ExprKind::Unary {
                    op,
                    operand: Box::new(acc),
                },
                s,
                depth + 1,
            );
        }
        (acc, depth)
    }

    /// `a ** b ** c`.
    fn power(&mut self, pair: Pair<Rule>) -> (Expr, usize) {
        // atom (** exponent)*: right-associative.
        let mut operands: Vec<(Expr, usize)> = Vec::new();
        for p in pair.into_inner() {
            if p.as_rule() != Rule::pow_op {
                operands.push(self.node(p));
            }
        }
        let (mut acc, mut depth) = operands.pop().expect("power has an operand");
        // `a ** -b ** c` is `a ** -(b ** c)`: an exponent's own minus signs apply to
        // everything on its right, so they are moved outward as the chain folds.
        while let Some((base, bd)) = operands.pop() {
            let (core, negs) = peel_negations(base);
            let s = Span::new(core.span.start, acc.span.end);
            (acc, depth) = self.make(
                ExprKind::Binary {
                    op: BinaryOp::Pow,
                    lhs: Box::new(core),
                    rhs: Box::new(acc),
                },
                s,
                1 + bd.max(depth),
            );
            for neg_start in negs.into_iter().rev() {
                let s = Span::new(neg_start, acc.span.end);
                (acc, depth) = self.make(
                    ExprKind::Unary {
                        op: UnaryOp::Neg,
                        operand: Box::new(acc),
                    },
                    s,
                    depth + 1,
                );
            }
        }
        (acc, depth)
    }

    /// A number literal (`1_000`, `2.5e-4`); an overflowing one is an error.
    fn number(&mut self, pair: Pair<Rule>, span: Span) -> (Expr, usize) {
        let text: String = pair.as_str().chars().filter(|c| *c != '_').collect();
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => (
                Expr {
                    kind: ExprKind::Number(v),
                    span,
                },
                1,
            ),
            _ => {
                self.errors.push(
                    Diagnostic::error(
                        Code::Syntax,
                        span,
                        format!("`{}` is too large for a number", pair.as_str()),
                    )
                    .with_label("overflows f64")
                    .with_help("numbers must be below about 1.8e308"),
                );
                (
                    Expr {
                        kind: ExprKind::Number(0.0),
                        span,
                    },
                    1,
                )
            }
        }
    }

    /// A list, or a `paren` with a comma: a tuple.
    fn sequence(&mut self, pair: Pair<Rule>, span: Span) -> (Expr, usize) {
        let is_list = pair.as_rule() == Rule::list;
        let mut depth = 1;
        let items: Vec<Expr> = pair
            .into_inner()
            .filter(|p| p.as_rule() != Rule::tuple_comma)
            .map(|p| {
                let (e, d) = self.node(p);
                depth = depth.max(d + 1);
                e
            })
            .collect();
        let kind = if is_list {
            ExprKind::List(items)
        } else {
            ExprKind::Tuple(items)
        };
        self.make(kind, span, depth)
    }

    fn left_assoc(&mut self, pair: Pair<Rule>) -> (Expr, usize) {
        let span = span_of(&pair);
        let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
        self.left_assoc_parts(parts, span)
    }

    fn left_assoc_parts(&mut self, parts: Vec<Pair<Rule>>, span: Span) -> (Expr, usize) {
        let mut it = parts.into_iter();
        let first = it.next().expect("an operator chain has a first operand");
        let (mut acc, mut depth) = self.node(first);
        while let Some(op_pair) = it.next() {
            let op = binary_op(op_pair.as_str());
            let (rhs, rd) = self.node(it.next().expect("an operator has a right operand"));
            let s = Span::new(acc.span.start, rhs.span.end);
            (acc, depth) = self.make(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(acc),
                    rhs: Box::new(rhs),
                },
                s,
                1 + depth.max(rd),
            );
        }
        let _ = span;
        (acc, depth)
    }

    fn call(&mut self, pair: Pair<Rule>) -> ast::Call {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next().expect("call has a name"));
        let mut args = Vec::new();
        for arg in inner {
            let mut parts: Vec<Pair<Rule>> = arg.into_inner().collect();
            let value = self.expr(parts.pop().expect("argument has a value"));
            let name = parts.pop().map(|p| self.ident(p));
            args.push(ast::Arg { name, value });
        }
        ast::Call { name, args, span }
    }

    fn unescape(&mut self, body: &str, start: usize) -> String {
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((j, other)) => {
                    self.errors.push(
                        Diagnostic::error(
                            Code::Syntax,
                            Span::new(start + i, start + j + other.len_utf8()),
                            format!("`\\{other}` is not an escape optimc knows"),
                        )
                        .with_label("unknown escape")
                        .with_help("strings know `\\\"`, `\\\\`, `\\n` and `\\t`; write `\\\\` for a backslash"),
                    );
                }
                None => {}
            }
        }
        out
    }
}

/// Splits leading unary minus signs off an expression: `- - x` → (`x`, [start of each `-`]).
fn peel_negations(mut e: Expr) -> (Expr, Vec<usize>) {
    let mut starts = Vec::new();
    loop {
        match e.kind {
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => {
                starts.push(e.span.start);
                e = *operand;
            }
            kind => {
                return (Expr { kind, span: e.span }, starts);
            }
        }
    }
}

fn binary_op(symbol: &str) -> BinaryOp {
    match symbol {
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "//" => BinaryOp::FloorDiv,
        "%" => BinaryOp::Mod,
        "**" => BinaryOp::Pow,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "and" => BinaryOp::And,
        _ => BinaryOp::Or,
    }
}

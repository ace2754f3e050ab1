//! The formatter: a parsed `.optim` file → its one canonical layout (`optimc fmt`).
//!
//! The layout, in full:
//!
//! - one statement per line; four spaces of indentation inside brackets and braces;
//! - one space on each side of `=`, `->` and binary operators, none inside brackets, one after
//!   each comma; `-x` and `not x` as written;
//! - a blank line between statements of different kinds (`let`, `optimizer`, `group`,
//!   `schedule`), and wherever the source had one or more blank lines (kept as one);
//! - a group's fields on one line (`group head { params = "head.*", lr = 1e-3 }`) when that fits
//!   in [`MAX_WIDTH`] columns and no comment sits between the items of a list inside it, else one per line with a trailing comma; the same for the
//!   arguments of a call and the items of a list or tuple;
//! - numbers, strings and parentheses kept exactly as written;
//! - comments kept: a comment after code on the same line stays there (two spaces before the
//!   `#`), a comment on its own line stays on its own line before what followed it. A comment
//!   the layout has no place for (inside an arithmetic expression that spans lines) moves to
//!   the line before its statement.
//!
//! Formatting is idempotent: formatting formatted text changes nothing.

use crate::ast::{self, Comment, Expr, ExprKind, Span, Statement, UnaryOp};
use crate::diagnostic::Diagnostics;
use std::collections::HashMap;

/// The widest line the formatter puts a whole group, call or list on.
pub const MAX_WIDTH: usize = 100;

const INDENT: &str = "    ";

/// Formats a `.optim` source in the canonical layout.
///
/// Returns the parser's diagnostics (file name `<source>`) when the text does not parse;
/// a file that parses but does not check (an unknown option, say) is still formatted.
///
/// ```
/// let text = "optimizer=sgd(lr=0.1)\ngroup head{params=\"head.*\"}";
/// assert_eq!(
///     optimc::format::format_source(text).unwrap(),
///     "optimizer = sgd(lr = 0.1)\n\ngroup head { params = \"head.*\" }\n",
/// );
/// ```
pub fn format_source(source: &str) -> Result<String, Diagnostics> {
    let file = crate::parse::parse(source).map_err(|items| Diagnostics {
        file_name: "<source>".to_string(),
        source: source.to_string(),
        items,
    })?;
    Ok(format_file(source, &file))
}

/// Formats an already parsed file; `source` is the text it was parsed from. Safe on a thread
/// of any stack size: see [`crate::limits`].
pub fn format_file(source: &str, file: &ast::File) -> String {
    crate::limits::with_stack(crate::limits::PASS_STACK, || format_parsed(source, file))
}

fn format_parsed(source: &str, file: &ast::File) -> String {
    let slot: Vec<Slot> = file
        .comments
        .iter()
        .map(|c| slot_of(c.span, &file.statements))
        .collect();
    let mut lists: HashMap<Span, Vec<usize>> = HashMap::new();
    let mut hoisted: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut list_positions = Vec::new();
    for (i, s) in slot.iter().enumerate() {
        match s {
            Slot::TopLevel => {}
            Slot::List(span) => {
                lists.entry(*span).or_default().push(i);
                list_positions.push(file.comments[i].span.start);
            }
            Slot::Hoisted(stmt) => hoisted.entry(*stmt).or_default().push(i),
        }
    }
    let mut f = Formatter {
        src: source,
        comments: &file.comments,
        slot,
        lists,
        hoisted,
        list_positions,
    };
    f.file(&file.statements)
}

/// Where a comment goes in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Between statements.
    TopLevel,
    /// Between the items of the bracketed list (group, call, list, tuple) with this span.
    List(Span),
    /// Inside statement `i` where the layout has no place for it: moved before the statement.
    Hoisted(usize),
}

fn contains(outer: Span, inner: Span) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Where an expression's text ends. (The parser's spans of some nodes also cover the whitespace
/// and comments after them.)
fn end_of(e: &Expr) -> usize {
    match &e.kind {
        ExprKind::Unary { operand, .. } => end_of(operand),
        ExprKind::Binary { rhs, .. } => end_of(rhs),
        ExprKind::If { otherwise, .. } => end_of(otherwise),
        ExprKind::Lambda { body, .. } | ExprKind::LetIn { body, .. } => end_of(body),
        _ => e.span.end,
    }
}

fn espan(e: &Expr) -> Span {
    Span::new(e.span.start, end_of(e))
}

/// A statement's text, without anything after its last token.
fn stmt_span(s: &Statement) -> Span {
    match s {
        Statement::Let { value, span, .. } | Statement::Schedule { value, span, .. } => {
            Span::new(span.start, end_of(value))
        }
        Statement::Optimizer { call, span, .. }
        | Statement::Run { call, span, .. }
        | Statement::Average { call, span, .. } => Span::new(span.start, call.span.end),
        Statement::Group { span, .. } => *span,
    }
}

/// The index of the item of `items` (in source order, not overlapping) whose span contains
/// `inner`; a binary search, so that long files format in O(n log n).
fn containing<T>(items: &[T], inner: Span, span: impl Fn(&T) -> Span) -> Option<usize> {
    let after = items.partition_point(|x| span(x).start <= inner.start);
    let k = after.checked_sub(1)?;
    contains(span(&items[k]), inner).then_some(k)
}

fn slot_of(comment: Span, statements: &[Statement]) -> Slot {
    let Some(i) = containing(statements, comment, stmt_span) else {
        return Slot::TopLevel;
    };
    let stmt = &statements[i];
    let found = match stmt {
        Statement::Let { value, .. } | Statement::Schedule { value, .. } => {
            expr_slot(comment, value)
        }
        Statement::Optimizer { call, .. }
        | Statement::Run { call, .. }
        | Statement::Average { call, .. } => call_slot(comment, call),
        Statement::Group { fields, span, .. } => {
            match containing(fields, comment, |f| f.key.span.to(espan(&f.value))) {
                Some(k) => expr_slot(comment, &fields[k].value),
                None => Some(Slot::List(*span)),
            }
        }
    };
    found.unwrap_or(Slot::Hoisted(i))
}

fn call_slot(comment: Span, call: &ast::Call) -> Option<Slot> {
    if !contains(call.span, comment) {
        return None;
    }
    match containing(&call.args, comment, arg_span) {
        Some(k) => expr_slot(comment, &call.args[k].value),
        None => Some(Slot::List(call.span)),
    }
}

/// The list slot of a comment inside `e`, or `None` when it is not between the items of a list.
fn expr_slot(comment: Span, e: &Expr) -> Option<Slot> {
    if !contains(espan(e), comment) {
        return None;
    }
    match &e.kind {
        ExprKind::Call(call) => call_slot(comment, call),
        ExprKind::List(items) | ExprKind::Tuple(items) => match containing(items, comment, espan) {
            Some(k) => expr_slot(comment, &items[k]),
            None => Some(Slot::List(e.span)),
        },
        ExprKind::Paren(inner) => expr_slot(comment, inner),
        ExprKind::Unary { operand, .. } => expr_slot(comment, operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            expr_slot(comment, lhs).or_else(|| expr_slot(comment, rhs))
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => expr_slot(comment, cond)
            .or_else(|| expr_slot(comment, then))
            .or_else(|| expr_slot(comment, otherwise)),
        ExprKind::Lambda { body, .. } => expr_slot(comment, body),
        ExprKind::LetIn { value, body, .. } => {
            expr_slot(comment, value).or_else(|| expr_slot(comment, body))
        }
        ExprKind::Number(_) | ExprKind::String(_) | ExprKind::Bool(_) | ExprKind::Name(_) => None,
    }
}

fn kind_of(s: &Statement) -> u8 {
    match s {
        Statement::Let { .. } => 0,
        Statement::Optimizer { .. } => 1,
        Statement::Group { .. } => 2,
        Statement::Schedule { .. } => 3,
        Statement::Run { .. } => 4,
        Statement::Average { .. } => 5,
    }
}

/// One item of a bracketed list, as the layout sees it.
struct Item<'e> {
    /// `key = ` for fields and named arguments.
    name: Option<&'e str>,
    value: &'e Expr,
    span: Span,
}

struct Formatter<'a> {
    src: &'a str,
    comments: &'a [Comment],
    slot: Vec<Slot>,
    /// The comments of each list, in source order.
    lists: HashMap<Span, Vec<usize>>,
    /// The comments moved above each statement, in source order.
    hoisted: HashMap<usize, Vec<usize>>,
    /// Where the comments that sit between list items start, sorted.
    list_positions: Vec<usize>,
}

/// Whether `text` holds a blank line (a line with only whitespace between two line breaks).
fn has_blank_line(text: &str) -> bool {
    text.split('\n')
        .skip(1)
        .collect::<Vec<_>>()
        .split_last()
        .is_some_and(|(_, middle)| middle.iter().any(|l| l.trim().is_empty()))
}

fn last_line_len(text: &str) -> usize {
    text.rsplit('\n').next().unwrap_or("").chars().count()
}

impl Formatter<'_> {
    fn comment_text(&self, i: usize) -> String {
        format!("#{}", self.comments[i].text.trim_end())
    }

    /// The comments between the items of the list with this span, in source order.
    fn comments_of(&self, list: Span) -> Vec<usize> {
        self.lists.get(&list).cloned().unwrap_or_default()
    }

    /// Whether a comment sits between the items of some list inside `span`.
    fn has_list_comments(&self, span: Span) -> bool {
        let first = self.list_positions.partition_point(|&p| p < span.start);
        self.list_positions
            .get(first)
            .is_some_and(|&p| p < span.end)
    }

    /// Whether the first comment in `comments` follows `end` on the same source line, before
    /// `next` (where the next item or statement starts); returns it. A comment after a later
    /// item on a shared line belongs to that item, not to this one.
    fn trailing(&self, end: usize, next: usize, comments: &[usize]) -> Option<usize> {
        let first = *comments.first()?;
        let start = self.comments[first].span.start;
        (start >= end && start < next && !self.src[end..start].contains('\n')).then_some(first)
    }

    fn file(&mut self, statements: &[Statement]) -> String {
        // Top-level units in source order: standalone comments and statements.
        enum Unit {
            Comment(usize),
            Statement(usize),
        }
        let top: Vec<usize> = (0..self.comments.len())
            .filter(|&i| self.slot[i] == Slot::TopLevel)
            .collect();
        let mut trailing_of = vec![None; statements.len()];
        let mut units = Vec::new();
        let (mut ci, mut si) = (0, 0);
        while ci < top.len() || si < statements.len() {
            let comment_first = match (top.get(ci), statements.get(si)) {
                (Some(&c), Some(s)) => self.comments[c].span.start < stmt_span(s).start,
                (Some(_), None) => true,
                _ => false,
            };
            if comment_first {
                units.push(Unit::Comment(top[ci]));
                ci += 1;
            } else {
                let end = stmt_span(&statements[si]).end;
                let next = statements
                    .get(si + 1)
                    .map_or(usize::MAX, |s| stmt_span(s).start);
                if let Some(t) = self.trailing(end, next, &top[ci..]) {
                    trailing_of[si] = Some(t);
                    ci += 1;
                }
                units.push(Unit::Statement(si));
                si += 1;
            }
        }
        let source_range = |u: &Unit| -> Span {
            match u {
                Unit::Comment(c) => self.comments[*c].span,
                Unit::Statement(s) => {
                    let own = stmt_span(&statements[*s]);
                    let end = trailing_of[*s].map_or(own.end, |t| self.comments[t].span.end);
                    Span::new(own.start, end)
                }
            }
        };
        // blank_after[m]: the source has a blank line between unit m and unit m + 1.
        let blank_after: Vec<bool> = (0..units.len())
            .map(|m| {
                units.get(m + 1).is_some_and(|next| {
                    let gap = Span::new(source_range(&units[m]).end, source_range(next).start);
                    has_blank_line(&self.src[gap.start..gap.end])
                })
            })
            .collect();
        // block[m]: the kind of the statement unit m leads to through comments directly above
        // it (no blank line between), if any.
        let mut block: Vec<Option<u8>> = vec![None; units.len()];
        for m in (0..units.len()).rev() {
            block[m] = match &units[m] {
                Unit::Statement(s) => Some(kind_of(&statements[*s])),
                Unit::Comment(_) if !blank_after[m] => block.get(m + 1).copied().flatten(),
                Unit::Comment(_) => None,
            };
        }
        let mut out = String::new();
        let mut previous_kind: Option<u8> = None;
        for (k, unit) in units.iter().enumerate() {
            if k > 0 {
                // A statement's block starts at the comments directly above it; blocks of a
                // different kind than the statement before are set apart.
                let after_statement = matches!(units[k - 1], Unit::Statement(_));
                let new_kind = after_statement && block[k].is_some() && block[k] != previous_kind;
                if blank_after[k - 1] || new_kind {
                    out.push('\n');
                }
            }
            match unit {
                Unit::Comment(c) => {
                    out.push_str(&self.comment_text(*c));
                    out.push('\n');
                }
                Unit::Statement(s) => {
                    for &c in self.hoisted.get(s).map_or(&[][..], Vec::as_slice) {
                        out.push_str(&self.comment_text(c));
                        out.push('\n');
                    }
                    out.push_str(&self.statement(&statements[*s]));
                    if let Some(t) = trailing_of[*s] {
                        out.push_str("  ");
                        out.push_str(&self.comment_text(t));
                    }
                    out.push('\n');
                    previous_kind = Some(kind_of(&statements[*s]));
                }
            }
        }
        out
    }

    fn statement(&self, s: &Statement) -> String {
        match s {
            Statement::Let { name, value, .. } => {
                let head = format!("let {} = ", name.name);
                let body = self.expr(value, 0, head.len(), 0);
                head + &body
            }
            Statement::Optimizer { call, .. }
            | Statement::Run { call, .. }
            | Statement::Average { call, .. } => {
                let head = if matches!(s, Statement::Run { .. }) {
                    "run = "
                } else if matches!(s, Statement::Average { .. }) {
                    "average = "
                } else {
                    "optimizer = "
                };
                let e = Expr {
                    kind: ExprKind::Call(Box::new(call.clone())),
                    span: call.span,
                };
                format!("{head}{}", self.expr(&e, 0, head.len(), 0))
            }
            Statement::Schedule { value, .. } => {
                let head = "schedule = ";
                format!("{head}{}", self.expr(value, 0, head.len(), 0))
            }
            Statement::Group { name, fields, span } => {
                let items: Vec<Item> = fields
                    .iter()
                    .map(|f| Item {
                        name: Some(&f.key.name),
                        value: &f.value,
                        span: f.key.span.to(espan(&f.value)),
                    })
                    .collect();
                let head = format!("group {} ", name.name);
                let flat = if items.is_empty() {
                    "{}".to_string()
                } else {
                    format!("{{ {} }}", self.flat_items(&items))
                };
                let comments = self.comments_of(*span);
                // Comments between the items of a list or call inside a field need the broken
                // layout too, as in `expr`: the one-line form has no place for them.
                if !self.has_list_comments(*span) && head.len() + flat.len() <= MAX_WIDTH {
                    return head + &flat;
                }
                head + &self.broken(&items, "{", "}", &comments, 0)
            }
        }
    }

    /// `items` one per line, each followed by a comma, between `open` and `close`.
    fn broken(
        &self,
        items: &[Item],
        open: &str,
        close: &str,
        comments: &[usize],
        level: usize,
    ) -> String {
        let inner = INDENT.repeat(level + 1);
        let mut out = format!("{open}\n");
        let mut rest = comments;
        for (k, item) in items.iter().enumerate() {
            while let Some((&c, tail)) = rest.split_first() {
                if self.comments[c].span.start >= item.span.start {
                    break;
                }
                out.push_str(&format!("{inner}{}\n", self.comment_text(c)));
                rest = tail;
            }
            let head = match item.name {
                Some(name) => format!("{inner}{name} = "),
                None => inner.clone(),
            };
            let value = self.expr(item.value, level + 1, head.len(), 1);
            out.push_str(&head);
            out.push_str(&value);
            out.push(',');
            let next = items.get(k + 1).map_or(usize::MAX, |n| n.span.start);
            if let Some(t) = self.trailing(item.span.end, next, rest) {
                out.push_str(&format!("  {}", self.comment_text(t)));
                rest = &rest[1..];
            }
            out.push('\n');
        }
        for &c in rest {
            out.push_str(&format!("{inner}{}\n", self.comment_text(c)));
        }
        out.push_str(&INDENT.repeat(level));
        out.push_str(close);
        out
    }

    fn flat_items(&self, items: &[Item]) -> String {
        items
            .iter()
            .map(|item| match item.name {
                Some(name) => format!("{name} = {}", self.flat(item.value)),
                None => self.flat(item.value),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn text(&self, span: Span) -> &str {
        &self.src[span.start..span.end]
    }

    /// `e` on one line.
    fn flat(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Number(_) | ExprKind::String(_) => self.text(e.span).to_string(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Name(name) => name.clone(),
            ExprKind::List(items) => {
                let inner: Vec<String> = items.iter().map(|x| self.flat(x)).collect();
                format!("[{}]", inner.join(", "))
            }
            ExprKind::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(|x| self.flat(x)).collect();
                if inner.len() == 1 {
                    format!("({},)", inner[0])
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            ExprKind::Call(call) => {
                format!("{}({})", call.name.name, self.flat_items(&call_items(call)))
            }
            ExprKind::Paren(inner) => format!("({})", self.flat(inner)),
            ExprKind::Unary { op, operand } => match op {
                UnaryOp::Neg => format!("-{}", self.flat(operand)),
                UnaryOp::Not => format!("not {}", self.flat(operand)),
            },
            ExprKind::Binary { op, lhs, rhs } => {
                format!("{} {} {}", self.flat(lhs), op.symbol(), self.flat(rhs))
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => format!(
                "if {} then {} else {}",
                self.flat(cond),
                self.flat(then),
                self.flat(otherwise)
            ),
            ExprKind::Lambda { param, body } => format!("{} -> {}", param.name, self.flat(body)),
            ExprKind::LetIn { name, value, body } => format!(
                "let {} = {} in {}",
                name.name,
                self.flat(value),
                self.flat(body)
            ),
        }
    }

    /// A `let ... in` chain that does not fit on one line: each `let name = value in` on a
    /// line of its own, then the body, every line after the first indented `level + 1` times.
    /// The first line starts at column `col`.
    fn let_chain(&self, e: &Expr, level: usize, col: usize, suffix: usize) -> String {
        let indent = INDENT.repeat(level + 1);
        let mut out = String::new();
        let mut e = e;
        let mut at = col;
        while let ExprKind::LetIn { name, value, body } = &e.kind {
            let head = format!("let {} = ", name.name);
            out += &head;
            out += &self.expr(value, level + 1, at + head.len(), 3);
            out += " in\n";
            out += &indent;
            at = indent.len();
            e = body;
        }
        out + &self.expr(e, level + 1, at, suffix)
    }

    /// `e` laid out starting at column `col` of a line indented `level` times, with `suffix`
    /// more characters to follow it on its last line.
    fn expr(&self, e: &Expr, level: usize, col: usize, suffix: usize) -> String {
        let flat = self.flat(e);
        if col + flat.chars().count() + suffix <= MAX_WIDTH && !self.has_list_comments(espan(e)) {
            return flat;
        }
        let list = |items: Vec<Item>, open: &str, close: &str| {
            let comments = self.comments_of(e.span);
            if items.is_empty() && comments.is_empty() {
                return format!("{open}{close}");
            }
            self.broken(&items, open, close, &comments, level)
        };
        match &e.kind {
            ExprKind::Call(call) => {
                let open = format!("{}(", call.name.name);
                let comments = self.comments_of(call.span);
                let items = call_items(call);
                if items.is_empty() && comments.is_empty() {
                    return flat;
                }
                self.broken(&items, &open, ")", &comments, level)
            }
            ExprKind::List(items) => list(plain(items), "[", "]"),
            ExprKind::Tuple(items) => list(plain(items), "(", ")"),
            ExprKind::Paren(inner) => format!("({})", self.expr(inner, level, col + 1, suffix + 1)),
            ExprKind::Unary { op, operand } => {
                let head = match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "not ",
                };
                format!(
                    "{head}{}",
                    self.expr(operand, level, col + head.len(), suffix)
                )
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let left = self.expr(lhs, level, col, 0);
                let head = format!("{left} {} ", op.symbol());
                let at = if head.contains('\n') {
                    last_line_len(&head)
                } else {
                    col + head.len()
                };
                head + &self.expr(rhs, level, at, suffix)
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let mut out = String::from("if ");
                let at = |out: &String| {
                    if out.contains('\n') {
                        last_line_len(out)
                    } else {
                        col + out.len()
                    }
                };
                out += &self.expr(cond, level, at(&out), 0);
                out += " then ";
                out += &self.expr(then, level, at(&out), 0);
                out += " else ";
                out += &self.expr(otherwise, level, at(&out), suffix);
                out
            }
            // A body of local values starts on the next line, as the chain goes on.
            ExprKind::Lambda { param, body } if matches!(body.kind, ExprKind::LetIn { .. }) => {
                let indent = INDENT.repeat(level + 1);
                format!(
                    "{} ->\n{indent}{}",
                    param.name,
                    self.let_chain(body, level, indent.len(), suffix)
                )
            }
            ExprKind::Lambda { param, body } => {
                let head = format!("{} -> ", param.name);
                let body = self.expr(body, level, col + head.len(), suffix);
                head + &body
            }
            ExprKind::LetIn { .. } => self.let_chain(e, level, col, suffix),
            ExprKind::Number(_) | ExprKind::String(_) | ExprKind::Bool(_) | ExprKind::Name(_) => {
                flat
            }
        }
    }
}

fn plain(xs: &[Expr]) -> Vec<Item<'_>> {
    xs.iter()
        .map(|x| Item {
            name: None,
            value: x,
            span: espan(x),
        })
        .collect()
}

fn call_items(call: &ast::Call) -> Vec<Item<'_>> {
    call.args
        .iter()
        .map(|a| Item {
            name: a.name.as_ref().map(|n| n.name.as_str()),
            value: &a.value,
            span: arg_span(a),
        })
        .collect()
}

fn arg_span(a: &ast::Arg) -> Span {
    match &a.name {
        Some(name) => Span::new(name.span.start, end_of(&a.value)),
        None => espan(&a.value),
    }
}

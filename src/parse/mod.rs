//! Parsing: source text → [`ast::File`], with the pest grammar in `grammar/optim.pest`.
//!
//! Syntax errors become [`Diagnostic`]s that point at the offending token and say, in words,
//! what was expected there. Hostile input is refused before pest sees it (NUL bytes, nesting
//! deeper than [`MAX_NESTING`]), and trees deeper than [`MAX_TREE_DEPTH`] are never built, so
//! no input can exhaust the stack of this or any later stage.
//!
//! Two parsers read the same language. `fast.rs`, a hand-written recursive-descent parser,
//! reads valid input some thirty times faster than pest (the 3.1 MB benchmark file of
//! `benches/parse_check.rs`: 1.3 s → 40 ms) and builds the identical tree; on anything it does
//! not accept it gives up, and the pest grammar with the builder below, the definition of the
//! language and the only source of syntax diagnostics, parses the input as it always has. So
//! diagnostics are unchanged by construction. `fast.rs` says why the two agree, and
//! `tests/it/parse_equivalence.rs` tests it.
//!
//! A large source (256 KiB or more: a generated file, as hand-written ones are a few KiB) is
//! read by the fast parser on two threads, each taking about half the statements: the parse is
//! much of what `optimc check` spends on such a file, and a second core is usually idle then.
//! `precheck`, which reads every byte anyway, notes where a statement starts a line near the
//! middle; `fast_in_two` says why the two halves give exactly the tree the fast parser gives
//! on one thread, and wherever they might not, the one-thread parse answers.

mod fast;

use crate::ast::{self, BinaryOp, Comment, Expr, ExprKind, Ident, Span, Statement, UnaryOp};
use crate::diagnostic::{Code, Diagnostic};
use crate::limits::{MAX_NESTING, MAX_SOURCE_LEN, MAX_TREE_DEPTH};
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/optim.pest"]
struct OptimParser;

/// Parses a whole file. `Err` holds every syntax problem found.
///
/// Safe on a thread of any stack size: see [`crate::limits`].
pub fn parse(source: &str) -> Result<ast::File, Vec<Diagnostic>> {
    let shape = precheck(source)?;
    crate::limits::with_stack(crate::limits::parse_stack(shape.nesting), || {
        fast_file(source, &shape).map_or_else(|| parse_checked(source), Ok)
    })
}

/// Sources at least this large are parsed on two threads. The fast parser reads about 70 MB/s,
/// so at this size a parse takes some 4 ms, against the tens of microseconds it costs to start
/// a thread; below it, the time saved is too small to matter, and every file a person writes
/// (a few KiB) keeps to the one-thread path.
const SPLIT_MIN_LEN: usize = 256 * 1024;

/// The fast parser: on two threads when `precheck` found where to split the source, else (or
/// when that does not answer) on this one. `None` where pest must parse.
fn fast_file(source: &str, shape: &Prechecked) -> Option<ast::File> {
    shape
        .split
        .and_then(|at| fast_in_two(source, at, shape.nesting))
        .or_else(|| fast::file(source, shape.nesting))
}

/// The fast parser's answer on `source`, with the statements before `at` parsed on this thread
/// and the rest on another; `None` if either half does not parse, if `at` is not a line start
/// followed by a statement keyword, or if no thread can be started. The caller provides
/// [`parse_stack`](crate::limits::parse_stack)`(nesting)` of stack, as for [`fast::file`].
///
/// # Why the answer is the one-thread parse's
///
/// The head, `source[..at]`, is parsed as a file of its own, and the tail as the rest of the
/// whole source from `at` on (so its spans and comments are positions in `source`). The parser
/// is deterministic and never backtracks, and no token or comment runs across the newline
/// before `at`. So the head's parse reads the same bytes before `at` as the one-thread parse
/// and makes the same choices, but for those it makes on looking at the token at `at`: the end
/// of the input for the head's parse, a statement keyword (`let`, `optimizer`, `group` or
/// `schedule`, as a whole word) for the one-thread parse. A statement keyword continues no
/// expression: it is no operator, bracket, comma, `=`, `->`, `then` or `else`, and no name.
/// So every such choice is the same, but two: inside a group's braces or a call's parentheses
/// the keyword could start a field or argument (`schedule = ...`), where the end of the input
/// fails the head's parse (the bracket is never closed); and at the top level, where it starts
/// the next statement. Hence if the head parses, the one-thread parse builds the same
/// statements and comments, is between two statements at `at`, and goes on from there exactly
/// as the tail's parse does (between statements the parser keeps nothing that a statement
/// reads before setting it), so the two halves together are its answer. If a half does not
/// parse, the one-thread parse answers instead (a waste only on input that has no answer or a
/// split that was not between statements: `precheck` counts brackets, not the grammar's
/// rules, so a field named `else` can fool it).
fn fast_in_two(source: &str, at: usize, nesting: usize) -> Option<ast::File> {
    if !is_statement_start(source.as_bytes(), at) {
        return None;
    }
    let head = source.get(..at)?;
    let need = crate::limits::parse_stack(nesting);
    std::thread::scope(|scope| {
        // The tail's thread gets twice the stack it needs, as `with_stack` would allocate, so
        // that `with_stack` in it runs the parse right there.
        let tail = std::thread::Builder::new()
            .name("optimc-parse".into())
            .stack_size(need.saturating_mul(2))
            .spawn_scoped(scope, || {
                crate::limits::with_stack(need, || fast::file_from(source, at, nesting))
            })
            .ok()?;
        let head = fast::file(head, nesting);
        let tail = tail
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (mut file, tail) = (head?, tail?);
        file.statements.extend(tail.statements);
        file.comments.extend(tail.comments);
        Some(file)
    })
}

/// The two parsers apart, for the tests that compare them (`tests/it/parse_equivalence.rs`). Not
/// part of the API: [`parse`] and [`parse_expr`] are.
#[doc(hidden)]
pub mod paths {
    use super::*;

    /// The fast parser alone, as [`parse`] runs it (on two threads for a large source):
    /// `None` where [`parse`] would fall back to pest (or refuse the input before parsing).
    pub fn fast_file(source: &str) -> Option<ast::File> {
        let shape = precheck(source).ok()?;
        crate::limits::with_stack(crate::limits::parse_stack(shape.nesting), || {
            super::fast_file(source, &shape)
        })
    }

    /// The fast parser on one thread, whatever the size of the source.
    pub fn fast_file_one_thread(source: &str) -> Option<ast::File> {
        let depth = precheck(source).ok()?.nesting;
        crate::limits::with_stack(crate::limits::parse_stack(depth), || {
            fast::file(source, depth)
        })
    }

    /// The size from which [`parse`] parses a source on two threads.
    pub const SPLIT_MIN_LEN: usize = super::SPLIT_MIN_LEN;

    /// Where [`parse`] splits `source` to parse it on two threads, if it does.
    pub fn split_point(source: &str) -> Option<usize> {
        precheck(source).ok()?.split
    }

    /// The two-thread parse alone, split at `at` (any position, whatever the source's size):
    /// `None` where [`parse`] would parse on one thread instead.
    pub fn fast_file_split_at(source: &str, at: usize) -> Option<ast::File> {
        let depth = precheck(source).ok()?.nesting;
        crate::limits::with_stack(crate::limits::parse_stack(depth), || {
            fast_in_two(source, at, depth)
        })
    }

    /// The pest parser alone.
    pub fn pest_file(source: &str) -> Result<ast::File, Vec<Diagnostic>> {
        let depth = precheck(source)?.nesting;
        crate::limits::with_stack(crate::limits::parse_stack(depth), || parse_checked(source))
    }

    /// [`parse_expr`]'s fast parser alone.
    pub fn fast_expr(source: &str) -> Option<ast::Expr> {
        let depth = precheck(source).ok()?.nesting;
        crate::limits::with_stack(crate::limits::parse_stack(depth), || {
            fast::expr_only(source, depth)
        })
    }

    /// [`parse_expr`]'s pest parser alone.
    pub fn pest_expr(source: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
        let depth = precheck(source)?.nesting;
        crate::limits::with_stack(crate::limits::parse_stack(depth), || {
            parse_expr_checked(source)
        })
    }
}

fn parse_checked(source: &str) -> Result<ast::File, Vec<Diagnostic>> {
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

/// Parses a lone expression (used to read back lambdas such as `"e -> 0.95 ** e"`).
pub fn parse_expr(source: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
    let depth = precheck(source)?.nesting;
    crate::limits::with_stack(crate::limits::parse_stack(depth), || {
        fast::expr_only(source, depth).map_or_else(|| parse_expr_checked(source), Ok)
    })
}

fn parse_expr_checked(source: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
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

/// What [`precheck`] finds in a source it accepts.
struct Prechecked {
    /// How deeply brackets and `if`s nest.
    nesting: usize,
    /// Where to split the source to parse it on two threads: see [`scan`].
    split: Option<usize>,
}

/// Refuses input that pest should not even try: NUL bytes, huge sources, deep nesting. Says
/// how deeply the source nests and, if it is at least [`SPLIT_MIN_LEN`] bytes, where to split
/// it near the middle.
fn precheck(source: &str) -> Result<Prechecked, Vec<Diagnostic>> {
    let split_from = if source.len() >= SPLIT_MIN_LEN {
        source.len() / 2
    } else {
        usize::MAX
    };
    scan(source, split_from)
}

/// [`precheck`], with the split sought from byte `split_from` on: the first line start there
/// outside brackets (and `if`s), strings and comments where a statement keyword begins.
fn scan(source: &str, split_from: usize) -> Result<Prechecked, Vec<Diagnostic>> {
    if source.len() > MAX_SOURCE_LEN {
        return Err(vec![Diagnostic::error(
            Code::TooLarge,
            Span::new(0, 0),
            format!(
                "this file is {} bytes; optimc reads files of up to {MAX_SOURCE_LEN} bytes",
                source.len()
            ),
        )
        .with_help("split the configuration, or generate less of it")]);
    }
    if let Some(at) = source.find('\0') {
        return Err(vec![Diagnostic::error(Code::Encoding, Span::new(at, at + 1), "this file contains a NUL byte")
            .with_label("NUL byte")
            .with_help("a .optim file is plain text; remove the NUL byte (was a binary file passed by mistake?)")]);
    }
    // A lone CR (the line end of classic Mac OS) is shown as a line break by many editors, but
    // the grammar, like Python, ends lines and comments only at LF: what follows the CR would
    // silently join the line before it (say, a statement after a comment, which would vanish).
    // Both parsers pass through here, so they agree on refusing it.
    if let Some((at, _)) = source
        .match_indices('\r')
        .find(|(i, _)| source.as_bytes().get(i + 1) != Some(&b'\n'))
    {
        return Err(vec![Diagnostic::error(
            Code::Encoding,
            Span::new(at, at + 1),
            "this file has a carriage return (CR) that is not part of a CRLF line end",
        )
        .with_label("lone CR")
        .with_help(
            "end lines with LF or CRLF: an editor may show this CR as a line break, but optimc \
             would read what follows it as part of the same line (of a comment, say); \
             `mac2unix` converts a whole file",
        )]);
    }
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let (mut split, mut split_from) = (None, split_from);
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                // The newline that ends the comment may precede a split point: look at it.
                continue;
            }
            b'\n' if depth == 0 && i >= split_from && is_statement_start(bytes, i + 1) => {
                split = Some(i + 1);
                split_from = usize::MAX;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > MAX_NESTING {
                    return Err(vec![too_deep(i, i + 1)]);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'i' | b'e' if i == 0 || !is_word_byte(bytes[i - 1]) => {
                let word_end = bytes[i..]
                    .iter()
                    .position(|b| !is_word_byte(*b))
                    .map_or(bytes.len(), |n| i + n);
                match &source[i..word_end] {
                    "if" => {
                        depth += 1;
                        deepest = deepest.max(depth);
                        if depth > MAX_NESTING {
                            return Err(vec![too_deep(i, word_end)]);
                        }
                    }
                    "else" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                i = word_end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(Prechecked {
        nesting: deepest,
        split,
    })
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a line starts at `at` with a statement keyword, as a whole word.
fn is_statement_start(bytes: &[u8], at: usize) -> bool {
    let (Some(b'\n'), Some(rest)) = (
        at.checked_sub(1).and_then(|i| bytes.get(i)),
        bytes.get(at..),
    ) else {
        return false;
    };
    STATEMENT_KEYWORDS.iter().any(|k| {
        rest.starts_with(k.as_bytes()) && !rest.get(k.len()).copied().is_some_and(is_word_byte)
    })
}

fn too_deep(start: usize, end: usize) -> Diagnostic {
    Diagnostic::error(
        Code::TooLarge,
        Span::new(start, end),
        format!("brackets and `if`s nest more than {MAX_NESTING} levels deep here"),
    )
    .with_label("too deep")
    .with_help(
        "no configuration needs this much nesting; simplify the expression or split it with `let`",
    )
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
            Rule::lambda => {
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
            Rule::if_chain => {
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
            Rule::or_expr | Rule::and_expr | Rule::sum | Rule::product => self.left_assoc(pair),
            Rule::cmp_expr => {
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
            Rule::not_expr | Rule::unary | Rule::exponent => {
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
            Rule::power => {
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
            Rule::number => {
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
            Rule::paren | Rule::list => {
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
            other => unreachable!("no expression rule {other:?}"),
        }
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

/// Turns pest's error into a diagnostic that says, in words, what was expected and what was found.
fn syntax_error(source: &str, start_rule: Rule, error: pest::error::Error<Rule>) -> Diagnostic {
    if let pest::error::ErrorVariant::CustomError { message } = &error.variant {
        // pest's own guard against exhausting the stack.
        return Diagnostic::error(
            Code::TooLarge,
            Span::new(0, 0),
            format!("this input is too deeply nested to parse ({message})"),
        )
        .with_help("simplify the deepest expression or split it with `let`");
    }
    let mut at = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    // Parse again with pest's detailed tracking to learn the literal tokens it expected.
    pest::set_error_detail(true);
    let detailed = OptimParser::parse(start_rule, source).err();
    pest::set_error_detail(false);
    let mut expected: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !expected.contains(&s) {
            expected.push(s);
        }
    };
    let attempts = detailed.as_ref().and_then(|e| e.parse_attempts());
    // pest reports the furthest failed *rule*; a literal such as the `{` after `group name`
    // fails further in, and that is where the mistake is. Only structural tokens count: the
    // character ranges tried inside a word or a keyword's lookahead would point mid-word.
    let further = attempts.as_ref().filter(|a| {
        a.max_position > at
            && a.expected_tokens()
                .iter()
                .any(|t| token_phrase(&t.to_string()).is_some())
    });
    match further {
        Some(attempts) => at = attempts.max_position,
        None => {
            if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
                for rule in positives {
                    if let Some(phrase) = rule_phrase(*rule) {
                        push(phrase.to_string());
                    }
                }
            }
        }
    }
    if let Some(attempts) = attempts {
        if attempts.max_position == at {
            for token in attempts.expected_tokens() {
                if let Some(phrase) = token_phrase(&token.to_string()) {
                    push(phrase);
                }
            }
        }
    }
    // Operators are always possible after a complete value; name them only when nothing else is.
    let structural: Vec<String> = expected
        .iter()
        .filter(|e| e.as_str() != "an operator")
        .cloned()
        .collect();
    let expected = if structural.is_empty() {
        expected
    } else {
        structural
    };
    let found = token_at(source, at);
    let expected_text = match expected.len() {
        0 if unclosed_bracket(&source[..at]).is_none() => {
            rule_phrase(Rule::let_stmt).unwrap_or_default().to_string()
        }
        0 => "something else".to_string(),
        1 => expected[0].clone(),
        n => format!("{} or {}", expected[..n - 1].join(", "), expected[n - 1]),
    };
    let end = if found.len == 0 { at } else { at + found.len };
    let mut d = Diagnostic::error(
        Code::Syntax,
        Span::new(at, end),
        format!("expected {expected_text}, found {}", found.describe),
    )
    .with_label(format!("expected {expected_text}"));
    d = match hint(source, at, &found, &expected) {
        Some((help, related)) => {
            if let Some((span, text)) = related {
                d = d.with_related(span, text);
            }
            d.with_help(help)
        }
        None => d.with_help("check the text just before this point: a missing `,`, `=` or closing bracket is the usual cause"),
    };
    d
}

/// What is at a position, for "found ...".
struct Found {
    text: String,
    len: usize,
    describe: String,
}

fn token_at(source: &str, at: usize) -> Found {
    let rest = &source[at.min(source.len())..];
    let Some(c) = rest.chars().next() else {
        return Found {
            text: String::new(),
            len: 0,
            describe: "the end of the file".into(),
        };
    };
    let len = if c.is_ascii_alphanumeric() || c == '_' {
        rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
            .unwrap_or(rest.len())
    } else if ["->", "**", "//", "<=", ">=", "==", "!="]
        .iter()
        .any(|op| rest.starts_with(op))
    {
        2
    } else {
        c.len_utf8()
    };
    let text = rest[..len].to_string();
    let describe = match c {
        '\n' | '\r' => "the end of the line".to_string(),
        _ => format!("`{text}`"),
    };
    Found {
        text,
        len,
        describe,
    }
}

fn rule_phrase(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::let_stmt
        | Rule::optimizer_stmt
        | Rule::group_stmt
        | Rule::schedule_stmt
        | Rule::kw_let
        | Rule::kw_optimizer
        | Rule::kw_group
        | Rule::kw_schedule => "a statement (`let`, `optimizer`, `group` or `schedule`)",
        Rule::field | Rule::field_key => "a field such as `lr = 0.1`",
        Rule::arg | Rule::arg_name => "an argument",
        Rule::comma => "`,`",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::ident | Rule::word => "a name",
        Rule::call => "a call such as `sgd(lr = 0.1)`",
        Rule::cmp_op | Rule::add_op | Rule::mul_op | Rule::pow_op | Rule::kw_and | Rule::kw_or => {
            "an operator"
        }
        Rule::expr
        | Rule::lambda
        | Rule::if_chain
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::sum
        | Rule::product
        | Rule::unary
        | Rule::power
        | Rule::exponent
        | Rule::atom
        | Rule::number
        | Rule::string
        | Rule::paren
        | Rule::list
        | Rule::kw_true
        | Rule::kw_false
        | Rule::kw_if
        | Rule::kw_not
        | Rule::neg => "a value",
        _ => return None,
    })
}

fn token_phrase(token: &str) -> Option<String> {
    match token {
        "(" | ")" | "[" | "]" | "{" | "}" | "," | "=" | "->" => Some(format!("`{token}`")),
        _ => None,
    }
}

type Related = Option<(Span, String)>;

/// A help line (and maybe a related place) for common mistakes.
fn hint(source: &str, at: usize, found: &Found, expected: &[String]) -> Option<(String, Related)> {
    let rest = &source[at.min(source.len())..];
    let before = source[..at.min(source.len())].trim_end();
    let expects = |phrase: &str| expected.iter().any(|e| e == phrase);
    let expects_value = expected.iter().any(|e| e.starts_with("a value"));
    let at_line_start = source[..at.min(source.len())]
        .rsplit('\n')
        .next()
        .is_some_and(|line| line.trim().is_empty());
    if let Some(q) = rest
        .chars()
        .next()
        .filter(|c| "\u{201c}\u{201d}\u{201e}\u{2018}\u{2019}".contains(*c))
    {
        return Some((
            format!("`{q}` is a typographic quote (text pasted from a document?); use straight double quotes: \"base.*\""),
            None,
        ));
    }
    if let Some(help) = misdirected(source, at, found, expected) {
        return Some((help, None));
    }
    for (python, ours) in [("&&", "and"), ("||", "or")] {
        if rest.starts_with(python) {
            return Some((
                format!("write `{ours}` instead of `{python}`, e.g. `e > 1 {ours} e < 5`"),
                None,
            ));
        }
    }
    if rest.starts_with('!') && !rest.starts_with("!=") {
        return Some(("write `not` instead of `!`, e.g. `not warm`".into(), None));
    }
    if rest.starts_with(';') {
        return Some((
            "remove the `;`: a statement ends at the end of its line".into(),
            None,
        ));
    }
    if rest.starts_with('>') && before.ends_with('-') {
        return Some((
            "a lambda has one parameter, the epoch: `lambda(epoch -> 0.95 ** epoch)`".into(),
            None,
        ));
    }
    if let Some(close) = rest.chars().next().filter(|c| ")]}".contains(*c)) {
        match unclosed_bracket(&source[..at]) {
            None => {
                return Some((format!("this `{close}` closes nothing: remove it"), None));
            }
            Some((open_at, open)) if matching_close(open) != close => {
                return Some((
                    format!("close the `{open}` with `{}`", matching_close(open)),
                    Some((
                        Span::new(open_at, open_at + 1),
                        format!("this `{open}` is closed by `{close}`"),
                    )),
                ));
            }
            Some(_) => {}
        }
        if close == ')' && before.ends_with('(') && expects_value {
            return Some((
                "a tuple needs its values, e.g. `betas = (0.9, 0.999)`; leave the option out to get its default".into(),
                None,
            ));
        }
    }
    if expects_value {
        let operators = [
            "**", "//", "<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "and", "or",
        ];
        if let Some(op) = operators.iter().find(|op| {
            before.ends_with(*op)
                && (op.chars().all(|c| !c.is_alphabetic())
                    || !before[..before.len() - op.len()]
                        .ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        }) {
            if found.len == 0 || ")],".contains(rest.chars().next().unwrap_or(' ')) {
                return Some((
                    format!("`{op}` needs a value on its right, e.g. `0.95 ** epoch`"),
                    None,
                ));
            }
        }
        if found.text == "not" {
            return Some((
                "put `not` and its operand in parentheses here: `(not warm)`".into(),
                None,
            ));
        }
        if before.ends_with('=')
            && STATEMENT_KEYWORDS.contains(&found.text.as_str())
            && at_line_start
        {
            return Some((
                "the line above ends without a value: write one after its `=`".into(),
                None,
            ));
        }
    }
    if expects("`{`") {
        return Some((
            "a group's fields go in braces: `group base { params = \"base.*\", lr = 0.1 }`".into(),
            None,
        ));
    }
    if expects("`(`") && expected.len() == 1 {
        return Some((
            "give the arguments in parentheses, e.g. `sgd(lr = 0.1)`".into(),
            None,
        ));
    }
    if expects("`else`") {
        return Some((
            "an `if` needs both branches: `if e < 5 then 1 else 0.1`".into(),
            None,
        ));
    }
    if found.text == "if" && expected.iter().any(|e| e == "`,`" || e.starts_with("`)`")) {
        return Some((
            "conditionals read `if c then a else b`, e.g. `if e < 5 then 1 else 0.1`".into(),
            None,
        ));
    }
    if expects("a name") && before.ends_with("let") && found.text == "=" {
        return Some(("give the value a name: `let warmup = 5`".into(), None));
    }
    if expects("a name") && before.ends_with("optimizer =") {
        return Some((
            "the optimizer is a call with its options inside, e.g. `sgd(lr = 0.1)`".into(),
            None,
        ));
    }
    if at_line_start
        && unclosed_bracket(&source[..at]).is_none()
        && found.text.chars().next().is_some_and(|c| c.is_alphabetic())
        && !STATEMENT_KEYWORDS.contains(&found.text.as_str())
    {
        let guess = STATEMENT_KEYWORDS
            .iter()
            .map(|k| (strsim::jaro_winkler(k, &found.text), *k))
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        return Some((
            match guess {
                Some((_, k)) => format!("did you mean `{k}`?"),
                None => format!(
                    "a line starts with `let`, `optimizer`, `group` or `schedule`; to name a value, write `let {} = ...`",
                    found.text
                ),
            },
            None,
        ));
    }
    if rest.starts_with(':') {
        let before = source[..at].trim_end();
        if before.ends_with("lambda")
            || before
                .rsplit(|c: char| !c.is_alphanumeric() && c != '_')
                .nth(1)
                == Some("lambda")
        {
            return Some((
                "write lambdas as `epoch -> expr`, e.g. `lambda(epoch -> 0.95 ** epoch)`".into(),
                None,
            ));
        }
        return Some(("use `=` to give a value, e.g. `lr = 0.1`".into(), None));
    }
    if found.text == "lambda"
        || (found.text.chars().all(|c| c.is_alphanumeric() || c == '_')
            && rest[found.len..].trim_start().starts_with(':')
            && source[..at].trim_end().ends_with("lambda"))
    {
        return Some((
            "write lambdas as `epoch -> expr`, e.g. `lambda(epoch -> 0.95 ** epoch)`".into(),
            None,
        ));
    }
    if rest.starts_with('\'') {
        return Some(("strings use double quotes: \"encoder.*\"".into(), None));
    }
    if rest.starts_with('"') {
        let line_end = rest.find('\n').unwrap_or(rest.len());
        if !rest[1..line_end].contains('"') {
            return Some((
                "this string is never closed: add `\"` at its end".into(),
                None,
            ));
        }
    }
    if expected.iter().any(|e| e == "a name") && KEYWORDS.contains(&found.text.as_str()) {
        return Some((
            format!(
                "`{}` is a keyword and cannot be used as a name; choose another name",
                found.text
            ),
            None,
        ));
    }
    if rest.starts_with('^') {
        return Some((
            "powers are written `**`, as in Python: `0.95 ** e`".into(),
            None,
        ));
    }
    if rest.starts_with('.')
        && ["math", "torch", "np", "numpy"]
            .iter()
            .any(|m| before.ends_with(m))
    {
        return Some((
            "functions and constants need no module: write `cos(pi * e / 50)`, not `math.cos(math.pi * e / 50)`".into(),
            None,
        ));
    }
    if rest.starts_with('.') && source[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
        return Some((
            "names cannot contain `.`; parameter patterns are quoted strings, e.g. `params = \"head.*\"`".into(),
            None,
        ));
    }
    let runs_into_statement = STATEMENT_KEYWORDS.contains(&found.text.as_str());
    if let Some((open_at, open)) =
        unclosed_bracket(&source[..at]).filter(|_| found.len == 0 || runs_into_statement)
    {
        let close = matching_close(open);
        {
            return Some((
                format!("close the `{open}` with `{close}`"),
                Some((
                    Span::new(open_at, open_at + 1),
                    format!("this `{open}` is not closed"),
                )),
            ));
        }
    }
    if expected.iter().any(|e| e == "`,`" || e.starts_with("`)`"))
        && found.text.chars().next().is_some_and(|c| c.is_alphabetic())
    {
        return Some(("separate arguments and list items with `,`".into(), None));
    }
    None
}

/// The name (letters, digits, `_`) at the end of `text`.
fn word_ending(text: &str) -> &str {
    let start = text
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
        .len();
    &text[start..]
}

/// Help for mistakes whose generic help would point the wrong way: a habit from Python or C
/// that the grammar happens to stop at somewhere else than the mistake.
fn misdirected(source: &str, at: usize, found: &Found, expected: &[String]) -> Option<String> {
    let rest = &source[at.min(source.len())..];
    let before = source[..at.min(source.len())].trim_end();
    let expects = |phrase: &str| expected.iter().any(|e| e == phrase);
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if found.text == "elif" {
        return Some(
            "write `else if`: `if e < 5 then 1 else if e < 10 then 0.5 else 0.1`".to_string(),
        );
    }
    if rest.starts_with("//") && !expected.iter().any(|e| e.starts_with("a value")) {
        return Some("comments start with `#`: `# a note`".to_string());
    }
    if found.text == "=" && expects("`then`") {
        return Some(
            "`=` gives a value; to compare, write `==`: `if e == 0 then 1 else 0.5`".to_string(),
        );
    }
    // `group layer-2 {`, `let warm-up = 5`: a name with a `-` in it.
    if rest.starts_with('-')
        && rest[1..].starts_with(is_word)
        && source[..at].ends_with(is_word)
        && (expects("`{`") || expects("`=`"))
    {
        let tail_len = rest
            .find(|c: char| !(is_word(c) || c == '-'))
            .unwrap_or(rest.len());
        let name = format!("{}{}", word_ending(&source[..at]), &rest[..tail_len]);
        return Some(format!(
            "names cannot contain `-`: write `{}`",
            name.replace('-', "_")
        ));
    }
    // `torch.optim.SGD(...)`, `torch.optim.lr_scheduler.StepLR(...)`.
    if rest.starts_with('.') && source[..at].ends_with(is_word) {
        let start = source[..at]
            .trim_end_matches(|c: char| is_word(c) || c == '.')
            .len();
        let end = at
            + rest
                .find(|c: char| !(is_word(c) || c == '.'))
                .unwrap_or(rest.len());
        let path = &source[start..end];
        let last = path.rsplit('.').next().unwrap_or_default();
        if path.starts_with("torch.") && last.starts_with(|c: char| c.is_ascii_uppercase()) {
            let ours = match last {
                "OneCycleLR" => "one_cycle".to_string(),
                "CosineAnnealingLR" => "cosine".to_string(),
                "CosineAnnealingWarmRestarts" => "cosine_restarts".to_string(),
                "ReduceLROnPlateau" => "plateau".to_string(),
                "SequentialLR" => "sequence".to_string(),
                "ChainedScheduler" => "chain".to_string(),
                _ => last.strip_suffix("LR").unwrap_or(last).to_ascii_lowercase(),
            };
            return Some(format!(
                "optimizers and schedules are named without a module: write `{ours}(...)`, not `{path}(...)`"
            ));
        }
    }
    // Quotes where a name goes: `mode = 'min'`, `{ 'params': "head.*" }`.
    if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = &rest[1..];
        let close = body
            .find([quote, '\n'])
            .filter(|&n| body[n..].starts_with(quote))?;
        let inner = &body[..close];
        let is_name = inner.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && inner.chars().all(is_word);
        if !is_name {
            return None;
        }
        if body[close + 1..].trim_start().starts_with(':') {
            return Some(format!(
                "a field is `name = value` with the name unquoted (a group is not a Python dict): `{inner} = ...`"
            ));
        }
        let key = word_ending(before.strip_suffix('=')?.trim_end());
        if quote == '\'' && !key.is_empty() && key != "params" {
            return Some(format!(
                "`{key}` takes a name, not a string: write `{key} = {inner}`, without quotes"
            ));
        }
    }
    None
}

/// The grammar's reserved words, the statement keywords first.
const KEYWORDS: [&str; 12] = [
    "let",
    "optimizer",
    "group",
    "schedule",
    "if",
    "then",
    "else",
    "and",
    "or",
    "not",
    "true",
    "false",
];

/// The words that start a statement.
const STATEMENT_KEYWORDS: &[&str] = KEYWORDS.split_at(4).0;

fn matching_close(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// The innermost bracket opened in `text` and not closed, outside strings and comments.
fn unclosed_bracket(text: &str) -> Option<(usize, char)> {
    let mut stack = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => stack.push((i, bytes[i] as char)),
            b')' | b']' | b'}' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    stack.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders an expression fully parenthesised, to test precedence and associativity.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Number(v) => format!("{v}"),
            ExprKind::String(s) => format!("{s:?}"),
            ExprKind::Bool(b) => format!("{b}"),
            ExprKind::Name(n) => n.clone(),
            ExprKind::List(items) => format!(
                "[{}]",
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Tuple(items) => format!(
                "tuple({})",
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Call(c) => format!(
                "{}({})",
                c.name.name,
                c.args
                    .iter()
                    .map(|a| match &a.name {
                        Some(n) => format!("{}={}", n.name, show(&a.value)),
                        None => show(&a.value),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ExprKind::Paren(x) => show(x),
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => format!("(-{})", show(operand)),
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => format!("(not {})", show(operand)),
            ExprKind::Binary { op, lhs, rhs } => {
                format!("({} {} {})", show(lhs), op.symbol(), show(rhs))
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => format!(
                "(if {} then {} else {})",
                show(cond),
                show(then),
                show(otherwise)
            ),
            ExprKind::Lambda { param, body } => format!("({} -> {})", param.name, show(body)),
        }
    }

    fn p(src: &str) -> String {
        show(&parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e:?}")))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(p("1 + 2 * 3"), "(1 + (2 * 3))");
        assert_eq!(p("1 - 2 - 3"), "((1 - 2) - 3)");
        assert_eq!(p("2 ** 3 ** 2"), "(2 ** (3 ** 2))");
        assert_eq!(p("-2 ** 2"), "(-(2 ** 2))");
        assert_eq!(p("2 ** -1"), "(2 ** (-1))");
        assert_eq!(p("2 ** -1 ** 2"), "(2 ** (-(1 ** 2)))");
        assert_eq!(p("a // b % c * d"), "(((a // b) % c) * d)");
        assert_eq!(p("not a < b and c or d"), "(((not (a < b)) and c) or d)");
        assert_eq!(
            p("e -> if e < 5 then 1 else if e < 9 then 2 else 3"),
            "(e -> (if (e < 5) then 1 else (if (e < 9) then 2 else 3)))"
        );
        assert_eq!(p("(1, 2)"), "tuple(1, 2)");
        assert_eq!(p("(1,)"), "tuple(1)");
        assert_eq!(p("(1)"), "1");
        assert_eq!(p("[1, 2,]"), "[1, 2]");
        assert_eq!(p("f(1, x = 2,)"), "f(1, x=2)");
        assert_eq!(p("f(a == b)"), "f((a == b))");
        assert_eq!(p("1_000 + 2.5E+4 + .5"), "((1000 + 25000) + 0.5)");
        assert_eq!(p("\"a\\\"b\\n\""), "\"a\\\"b\\n\"");
    }

    #[test]
    fn statements_and_comments() {
        let file = parse("# head\nlet a = 1 optimizer = sgd(lr = a) # tail\ngroup g {\n params = \"x\"\n lr = 2,\n}\nschedule = step(3)").unwrap();
        assert_eq!(file.statements.len(), 4);
        assert_eq!(file.comments.len(), 2);
        assert_eq!(file.comments[1].text, " tail");
        let Statement::Group { fields, .. } = &file.statements[2] else {
            panic!()
        };
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].key.name, "lr");
    }

    /// Where `scan` would split `source`, seeking from its start; `marker` is the text there.
    fn split_at(source: &str) -> Option<&str> {
        scan(source, 0).unwrap().split.map(|at| &source[at..])
    }

    #[test]
    fn the_split_is_a_line_that_starts_with_a_statement_outside_brackets_strings_and_comments() {
        let cases = [
            ("let a = 1\nlet b = 2", Some("let b = 2")),
            ("let a = 1\r\n\n# c\ngroup g {}", Some("group g {}")),
            (
                "# a comment \"\noptimizer = sgd()",
                Some("optimizer = sgd()"),
            ),
            ("let s = \"# (\"\nschedule = 1", Some("schedule = 1")),
            ("let a = f(\nschedule = 1)\ngroup g{}", Some("group g{}")),
            ("group g {\nschedule = 1\n}\nlet b = 2", Some("let b = 2")),
            (
                "let a = if x then 1\nlet\nelse 2\nlet b = 2",
                Some("let b = 2"),
            ),
            // Not a line start, not a statement keyword, not a whole word, an unclosed string.
            ("let a = 1 let b = 2", None),
            ("let a = 1\n let b = 2", None),
            ("let a = 1\nlambda = 2\nif = 3", None),
            ("let a = 1\ngrouping = 2\nlet_x\nlet", Some("let")),
            ("let s = \"a\\ngroup g {}\"", None),
            ("let s = \"a\ngroup g {}\"", None),
            ("let a = [\ngroup g {}\n", None),
        ];
        for (source, expected) in cases {
            assert_eq!(split_at(source), expected, "{source:?}");
        }
        // The first one from `split_from` on.
        let source = "let a = 1\nlet b = 2\nlet c = 3";
        assert_eq!(scan(source, 0).unwrap().split, Some(10));
        assert_eq!(scan(source, 10).unwrap().split, Some(20));
        assert_eq!(scan(source, 20).unwrap().split, None);
    }

    #[test]
    fn only_large_sources_are_split_and_near_the_middle() {
        let line = "let a = 1\n";
        let small = line.repeat(SPLIT_MIN_LEN / line.len() - 1);
        assert_eq!(precheck(&small).unwrap().split, None);
        let large = line.repeat(SPLIT_MIN_LEN / line.len() + 1);
        let at = precheck(&large).unwrap().split.unwrap();
        assert!(at >= large.len() / 2 && at < large.len() / 2 + line.len());
        assert!(large[at..].starts_with(line));
    }

    #[test]
    fn a_lone_carriage_return_is_refused_by_both_parsers() {
        let text = "optimizer = sgd(lr = 0.1) # note\rschedule = step(step_size = 3)\n";
        for e in [
            parse(text).unwrap_err(),
            paths::pest_file(text).unwrap_err(),
        ] {
            assert_eq!(e[0].code, Code::Encoding);
            assert_eq!(e[0].span, Span::new(32, 33));
        }
        assert!(paths::fast_file(text).is_none());
        assert_eq!(parse_expr("1 +\r2").unwrap_err()[0].code, Code::Encoding);
        // CRLF line ends are fine, also at the end of a comment and of the file.
        let crlf = "optimizer = sgd(lr = 0.1) # note\r\nschedule = step(step_size = 3)\r\n";
        assert_eq!(parse(crlf).unwrap().statements.len(), 2);
    }

    #[test]
    fn errors_are_plain_words() {
        let e = parse("optimizer = sgd(lr = 0.1 momentum = 0.9)").unwrap_err();
        assert_eq!(e[0].code, Code::Syntax);
        assert!(e[0].message.contains("expected"), "{}", e[0].message);
        assert!(!e[0].message.contains("Rule"), "{}", e[0].message);
        let e = parse("group g { params = \"a\" lr = 1 }\noptimizer = sgd()").unwrap_err();
        assert!(e[0].message.contains("comma"), "{}", e[0].message);
        let e = parse("optimizer = sgd(lr = 1e999)").unwrap_err();
        assert!(e[0].message.contains("too large"));
        let e = parse(&format!(
            "optimizer = sgd(lr = {}1{})",
            "(".repeat(500),
            ")".repeat(500)
        ))
        .unwrap_err();
        assert_eq!(e[0].code, Code::TooLarge);
        let e = parse(&format!("optimizer = sgd(lr = {}1)", "- ".repeat(100_000))).unwrap_err();
        assert_eq!(e[0].code, Code::TooLarge);
        let e = parse(&format!(
            "optimizer = sgd(lr = 1{})",
            " + 1".repeat(100_000)
        ))
        .unwrap_err();
        assert_eq!(e[0].code, Code::TooLarge);
        let e = parse(&format!(
            "schedule = lambda(e -> 2{})",
            " ** 2".repeat(100_000)
        ))
        .unwrap_err();
        assert_eq!(e[0].code, Code::TooLarge);
        let e = parse(&format!(
            "schedule = lambda(e -> {}1)",
            "not ".repeat(100_000)
        ))
        .unwrap_err();
        assert_eq!(e[0].code, Code::TooLarge);
        let e = parse(&format!(
            "schedule = lambda(e -> {}1{})",
            "if e then ".repeat(10_000),
            " else 2".repeat(10_000)
        ))
        .unwrap_err();
        assert_eq!(e[0].code, Code::TooLarge);
    }
}

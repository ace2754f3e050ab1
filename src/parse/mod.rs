//! Parsing: source text → [`ast::File`], with the pest grammar in `grammar/optim.pest`.
//!
//! Syntax errors become [`Diagnostic`]s that point at the offending token and say, in words,
//! what was expected there. Hostile input is refused before pest sees it (NUL bytes, nesting
//! deeper than [`MAX_NESTING`](crate::limits::MAX_NESTING)), and trees deeper than [`MAX_TREE_DEPTH`] are never built, so
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
//! The files: `precheck.rs` (what is refused before any parser runs, and where a large source
//! splits), `fast.rs`, `builder.rs` (the pest grammar and the tree built from its pairs) and
//! `hints.rs` (pest's errors in words, with help for common mistakes).
//!
//! A large source (256 KiB or more: a generated file, as hand-written ones are a few KiB) is
//! read by the fast parser on two threads, each taking about half the statements: the parse is
//! much of what `optimc check` spends on such a file, and a second core is usually idle then.
//! `precheck`, which reads every byte anyway, notes where a statement starts a line near the
//! middle; `fast_in_two` says why the two halves give exactly the tree the fast parser gives
//! on one thread, and wherever they might not, the one-thread parse answers.

mod builder;
mod fast;
mod hints;
mod precheck;

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::limits::MAX_TREE_DEPTH;
use builder::{parse_checked, parse_expr_checked};
use precheck::{is_statement_start, precheck, Prechecked};

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
/// `schedule`, as a whole word, or the unreserved `average`: see [`STATEMENT_WORDS`]) for the
/// one-thread parse. A statement keyword continues no expression: it is no operator, bracket,
/// comma, `=`, `->`, `then`, `else` or `in`, and no name (`average` is a name, but a complete
/// expression is never followed by one). (`let` starts an expression, `let c = ... in ...`, but only where one is expected,
/// where the end of the input fails the head's parse.) So every such choice is the same, but
/// two: inside a group's braces or a call's parentheses
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

/// Parses a lone expression (used to read back lambdas such as `"e -> 0.95 ** e"`).
pub fn parse_expr(source: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
    let depth = precheck(source)?.nesting;
    crate::limits::with_stack(crate::limits::parse_stack(depth), || {
        fast::expr_only(source, depth).map_or_else(|| parse_expr_checked(source), Ok)
    })
}

/// The grammar's reserved words, the statement keywords first.
const KEYWORDS: [&str; 13] = [
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
    "in",
];

/// The words that start a statement.
const STATEMENT_KEYWORDS: &[&str] = KEYWORDS.split_at(4).0;

/// Every word that starts a statement: the keywords, and `run` and `average`, which are not
/// reserved (`let run = 3` is valid). A line that starts with one of those is as good a place
/// to split a source as one that starts with a keyword (see `fast_in_two`): a name does not
/// continue a complete expression either, and an incomplete one fails the head's parse.
const STATEMENT_WORDS: [&str; 6] = ["let", "optimizer", "group", "schedule", "run", "average"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Expr, ExprKind, Span, Statement, UnaryOp};
    use crate::diagnostic::Code;

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
            ExprKind::LetIn { name, value, body } => {
                format!("(let {} = {} in {})", name.name, show(value), show(body))
            }
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
        // `let ... in` takes everything after `in`, and `in` ends its value.
        assert_eq!(
            p("e -> let c = e // 10 in let d = c + 1 in d * 2 + c"),
            "(e -> (let c = (e // 10) in (let d = (c + 1) in ((d * 2) + c))))"
        );
        assert_eq!(
            p("e -> if e < 1 then let a = e in a else let b = 2 in x -> b"),
            "(e -> (if (e < 1) then (let a = e in a) else (let b = 2 in (x -> b))))"
        );
        assert_eq!(
            p("e -> let a = let b = e in b in (let c = a in c) * 2"),
            "(e -> (let a = (let b = e in b) in ((let c = a in c) * 2)))"
        );
        // The spans: from `let` to the end of the body.
        let e = parse_expr("x -> let c = x in c * 2").unwrap();
        let ExprKind::Lambda { body, .. } = &e.kind else {
            panic!()
        };
        assert_eq!(body.span, Span::new(5, 23));
    }

    #[test]
    fn in_is_a_keyword() {
        for text in ["let in = 3", "let f = in -> 1"] {
            assert_eq!(parse(text).unwrap_err()[0].code, Code::Syntax, "{text}");
        }
        // Not as part of a longer name, nor as a field or argument name.
        assert!(parse("let index = 3\nlet inner = index\ngroup g { in = 1 }").is_ok());
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

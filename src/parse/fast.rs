//! The fast path of the parser: a hand-written recursive-descent parser for *valid* input.
//!
//! # Why two parsers
//!
//! The pest grammar (`grammar/optim.pest`) and the [`Builder`](super) are the definition of the
//! language and the source of every syntax diagnostic, but pest spends most of `optimc check`'s
//! time on a large file (it records a token queue of every rule it enters, then the builder
//! walks it). This module reads the same language directly from the bytes, in one pass, and
//! builds the same [`ast::File`] some thirty times faster (most of what is left is allocating
//! the tree's nodes and names). It only ever answers for input it
//! fully accepts: on anything else (a syntax error, something the builder would refuse such as
//! a comparison chain, a number too large, an unknown escape or a tree deeper than
//! [`MAX_TREE_DEPTH`], or merely a construct it does not follow) it returns `None` and
//! [`parse`](super::parse) runs the pest path, which produces the diagnostics exactly as
//! before. So error messages have a single source, and this module never has to explain
//! anything.
//!
//! # Why the results are the same
//!
//! Each function below is a transcription of one grammar rule, and each makes a choice only
//! where pest's ordered choice would make the same one:
//!
//! * A PEG choice `A | B` takes `A` whenever `A` succeeds. This parser commits to `A` on a
//!   condition every successful `A` meets (e.g. a word that is not a keyword, then `->`, for
//!   `lambda`); if `A` then fails, it gives up (`None`) instead of trying `B` as pest would.
//!   It takes `B` only when `A` cannot succeed at all. Repetitions (`x*`) work the same way:
//!   an iteration is entered on a condition every successful one meets, and a failing one
//!   gives up rather than rolling back.
//! * So whenever this parser succeeds, pest succeeds with the same parse tree, and the nodes
//!   are built by the same folds as the builder's (left-associative operators, prefix chains
//!   folded from the right, `**` folded from the right with the exponents' minus signs moved
//!   outward), with the same spans and the same depth accounting, so it gives up exactly
//!   where the builder would refuse a tree as too deep. A rule's span runs from its first
//!   token to its last, except where pest takes in the whitespace after it: the spans of
//!   `let` and `schedule` statements usually do (see [`Parser::expr_end`]).
//! * Where pest would backtrack out of a repetition and still succeed, this parser gives up:
//!   in `group g { a = x` ⏎ `or = 1 }`, `or` is taken as an operator, its operand fails, and
//!   pest parses the file (a field named `or`). Such input is rare and still parsed, by pest.
//! * Whitespace and comments may stand between any two tokens of the grammar's non-atomic
//!   rules, so they are skipped after every token; the comments found that way are, in a file
//!   that parses, exactly those that the pest path's `comments` finds.
//!
//! The equivalence is tested, not just argued: `tests/it/parse_equivalence.rs` compares the two
//! parsers on every `.optim` file of the repository and on generated and mutated sources.
//!
//! # Hostile input
//!
//! [`precheck`](super::precheck) runs first, as for pest. Loops stand for the grammar's
//! repetitions, so only brackets, `if` branches and lambda bodies recurse; the recursion is
//! bounded by [`max_levels`] (derived from the nesting `precheck` measured, whose stack the
//! caller provides), and a deeper input is left to pest. Every byte is looked at a bounded
//! number of times, so parsing is linear in the size of the input.

use super::MAX_TREE_DEPTH;
use crate::ast::{self, BinaryOp, Comment, Expr, ExprKind, Ident, Span, Statement, UnaryOp};

/// Parses a whole file, or `None` if it is not valid (or not certainly parsed the way pest
/// parses it). `nesting` is the depth [`precheck`](super::precheck) measured.
pub(super) fn file(source: &str, nesting: usize) -> Option<ast::File> {
    file_from(source, 0, nesting)
}

/// [`file`] from byte `start` of `source` on: the statements and comments there, with their
/// positions in `source`. Where `start` is the start of a statement that [`file`] reads, this
/// is what [`file`] reads from there (see `fast_in_two` in `super`).
pub(super) fn file_from(source: &str, start: usize, nesting: usize) -> Option<ast::File> {
    if !source.is_char_boundary(start) {
        return None;
    }
    let mut p = Parser::new(source, nesting, true);
    (p.pos, p.prev_end) = (start, start);
    p.skip();
    let mut statements = Vec::new();
    while p.pos < p.bytes.len() {
        statements.push(p.statement()?);
    }
    Some(ast::File {
        statements,
        comments: p.comments,
    })
}

/// Parses a lone expression (the `expr_only` rule), or `None`.
pub(super) fn expr_only(source: &str, nesting: usize) -> Option<Expr> {
    let mut p = Parser::new(source, nesting, false);
    p.skip();
    let (expr, _) = p.expr_value()?;
    (p.pos == p.bytes.len()).then_some(expr)
}

/// How many nested expressions the parser enters before it leaves the input to pest. Each
/// level is a bracket or an `if` that `precheck` counted, except lambda bodies and last `else`
/// branches, which it does not count; the margin covers those in any sensible input. The
/// stack the caller provides is sized for pest at `nesting` levels (see
/// [`crate::limits::parse_stack`]), several times what this parser uses per level.
pub(super) fn max_levels(nesting: usize) -> usize {
    2 * nesting + 16
}

/// A node and its depth, or `None` when the input is not (certainly) valid.
type Parsed = Option<(Expr, usize)>;

/// `Some` when a rule matched (and pushed its node on `values`), `None` when the input is not
/// (certainly) valid.
type Done = Option<()>;

struct Parser<'s> {
    source: &'s str,
    bytes: &'s [u8],
    /// The start of the next token: whitespace and comments are skipped after every token.
    pos: usize,
    /// The end of the last token taken, where the rule that took it ends.
    prev_end: usize,
    /// The end of the word at `pos`, or `pos` if no word starts there (kept by `skip`, so that
    /// the several rules that look at the next word scan it once).
    word_end: usize,
    comments: Vec<Comment>,
    collect_comments: bool,
    /// Whether the rule that ended last took the whitespace after its last token into its span
    /// (see [`Parser::expr`]).
    loose: bool,
    /// Nested expressions entered, and the most allowed.
    levels: usize,
    max_levels: usize,
    /// Stacks that lists under construction (arguments, items, fields, ...) share: each rule
    /// pushes above what its callers left there and, when done, moves its part out into a
    /// vector of the exact size. This saves the allocations of growing many small vectors
    /// (and the memory of their spare capacity), which is most of the parser's time.
    stacks: Stacks,
    /// The nodes built and not yet taken by their parents, with their depths.
    values: Vec<(Expr, usize)>,
}

#[derive(Default)]
struct Stacks {
    args: Vec<ast::Arg>,
    items: Vec<Expr>,
    fields: Vec<ast::Field>,
    params: Vec<Ident>,
    /// Where each `if` of the chains being built starts.
    ifs: Vec<usize>,
    /// The `let`s of the `let ... in` chains being built: where each starts, and its name.
    lets: Vec<(usize, Ident)>,
    /// Operands of `**` chains: the atom, its depth, and how many minus signs before it
    /// (their starts are on `starts`).
    operands: Vec<(Expr, usize, usize)>,
    /// Where `-` and `not` signs start.
    starts: Vec<usize>,
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `word` is one of [`super::KEYWORDS`] (a `match`, which the parser's word loop
/// needs to be quick; a test checks that the two lists agree).
fn is_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"let"
            | b"optimizer"
            | b"group"
            | b"schedule"
            | b"if"
            | b"then"
            | b"else"
            | b"and"
            | b"or"
            | b"not"
            | b"true"
            | b"false"
            | b"in"
    )
}

/// A node at tree depth `depth`; `None` where the builder would refuse it as too deep.
fn make(kind: ExprKind, span: Span, depth: usize) -> Parsed {
    (depth <= MAX_TREE_DEPTH).then_some((Expr { kind, span }, depth))
}

/// Wraps `acc` in one unary `op` per start in `starts`, the last start innermost (a prefix
/// chain folded from the right, as the builder does).
fn prefix_chain(op: UnaryOp, starts: &[usize], (mut acc, mut depth): (Expr, usize)) -> Parsed {
    for &start in starts.iter().rev() {
        let span = Span::new(start, acc.span.end);
        (acc, depth) = make(
            ExprKind::Unary {
                op,
                operand: Box::new(acc),
            },
            span,
            depth + 1,
        )?;
    }
    Some((acc, depth))
}

impl<'s> Parser<'s> {
    fn new(source: &'s str, nesting: usize, collect_comments: bool) -> Self {
        Parser {
            source,
            bytes: source.as_bytes(),
            pos: 0,
            prev_end: 0,
            word_end: 0,
            comments: Vec::new(),
            collect_comments,
            loose: false,
            levels: 0,
            max_levels: max_levels(nesting),
            stacks: Stacks::default(),
            values: Vec::new(),
        }
    }

    // --- tokens ---

    /// Where whitespace and comments starting at `at` end (`WHITESPACE` and `COMMENT`).
    fn skip_from(&self, mut at: usize) -> usize {
        let b = self.bytes;
        while at < b.len() {
            match b[at] {
                b' ' | b'\t' | b'\r' | b'\n' => at += 1,
                0xEF if b[at..].starts_with("\u{FEFF}".as_bytes()) => at += 3,
                b'#' => {
                    while at < b.len() && b[at] != b'\n' {
                        at += 1;
                    }
                }
                _ => break,
            }
        }
        at
    }

    /// Skips whitespace and comments at `pos`, keeping the comments.
    fn skip(&mut self) {
        let b = self.bytes;
        let mut at = self.pos;
        while at < b.len() {
            match b[at] {
                b' ' | b'\t' | b'\r' | b'\n' => at += 1,
                0xEF if b[at..].starts_with("\u{FEFF}".as_bytes()) => at += 3,
                b'#' => {
                    let start = at;
                    while at < b.len() && b[at] != b'\n' {
                        at += 1;
                    }
                    if self.collect_comments {
                        self.comments.push(Comment {
                            text: self.source[start + 1..at]
                                .trim_end_matches('\r')
                                .to_string(),
                            span: Span::new(start, at),
                        });
                    }
                }
                _ => break,
            }
        }
        self.pos = at;
        // `word`: a letter or `_`, then letters, digits, `_`.
        let mut end = at;
        if end < b.len() && (b[end].is_ascii_alphabetic() || b[end] == b'_') {
            end += 1;
            while end < b.len() && is_ident_char(b[end]) {
                end += 1;
            }
        }
        self.word_end = end;
    }

    /// Takes the token `pos..end`.
    fn advance(&mut self, end: usize) {
        self.prev_end = end;
        self.pos = end;
        self.skip();
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at(&self, literal: &[u8]) -> bool {
        self.bytes[self.pos..].starts_with(literal)
    }

    /// Takes `literal` if it comes next.
    fn eat(&mut self, literal: &[u8]) -> bool {
        let found = self.at(literal);
        if found {
            self.advance(self.pos + literal.len());
        }
        found
    }

    fn expect(&mut self, literal: &[u8]) -> Option<()> {
        self.eat(literal).then_some(())
    }

    /// The end of the word at `pos`, if a word comes next.
    fn word_end(&self) -> Option<usize> {
        (self.word_end > self.pos).then_some(self.word_end)
    }

    /// The next word, if a word comes next.
    fn peek_word(&self) -> Option<&'s [u8]> {
        let bytes = self.bytes;
        self.word_end().map(|end| &bytes[self.pos..end])
    }

    /// Whether keyword `kw` comes next (`kw_...`: the word, not followed by a word character).
    fn at_keyword(&self, kw: &[u8]) -> bool {
        self.peek_word() == Some(kw)
    }

    /// Takes keyword `kw` if it comes next, returning its span.
    fn eat_keyword(&mut self, kw: &[u8]) -> Option<Span> {
        if self.at_keyword(kw) {
            let span = Span::new(self.pos, self.pos + kw.len());
            self.advance(span.end);
            Some(span)
        } else {
            None
        }
    }

    /// Takes any word (`field_key`, `arg_name`, or `ident` once checked).
    fn word(&mut self) -> Option<Ident> {
        let start = self.pos;
        let end = self.word_end()?;
        self.advance(end);
        Some(Ident {
            name: self.source[start..end].to_string(),
            span: Span::new(start, end),
        })
    }

    /// Takes an `ident`: a word that is not a keyword.
    fn ident(&mut self) -> Option<Ident> {
        let word = self.peek_word()?;
        if is_keyword(word) {
            return None;
        }
        self.word()
    }

    /// Whether an `ident` and then `->` come next: the start of every `lambda`.
    fn at_lambda(&self) -> bool {
        match self.peek_word() {
            Some(word) if !is_keyword(word) => {
                let after = self.skip_from(self.pos + word.len());
                self.bytes[after..].starts_with(b"->")
            }
            _ => false,
        }
    }

    /// Whether a word, then `=` but not `==`, come next (`field_key ~ !"==" ~ "="`).
    fn at_assignment(&self) -> bool {
        match self.word_end() {
            Some(end) => {
                let after = self.skip_from(end);
                let rest = &self.bytes[after..];
                rest.starts_with(b"=") && !rest.starts_with(b"==")
            }
            None => false,
        }
    }

    // --- statements ---

    fn statement(&mut self) -> Option<Statement> {
        let start = self.pos;
        match self.peek_word()? {
            b"let" => {
                self.eat_keyword(b"let")?;
                let name = self.ident()?;
                self.expect(b"=")?;
                let (value, _) = self.expr_value()?;
                Some(Statement::Let {
                    name,
                    value,
                    span: Span::new(start, self.expr_end()),
                })
            }
            b"optimizer" => {
                let keyword = self.eat_keyword(b"optimizer")?;
                self.expect(b"=")?;
                let name = self.ident()?;
                let call = self.call(name)?;
                Some(Statement::Optimizer {
                    keyword,
                    call,
                    span: Span::new(start, self.prev_end),
                })
            }
            b"run" => {
                // `run` is a statement's first word but not a keyword (`is_keyword`).
                let keyword = self.eat_keyword(b"run")?;
                self.expect(b"=")?;
                let name = self.ident()?;
                let call = self.call(name)?;
                Some(Statement::Run {
                    keyword,
                    call,
                    span: Span::new(start, self.prev_end),
                })
            }
            b"average" => {
                let keyword = self.eat_keyword(b"average")?;
                self.expect(b"=")?;
                let name = self.ident()?;
                let call = self.call(name)?;
                Some(Statement::Average {
                    keyword,
                    call,
                    span: Span::new(start, self.prev_end),
                })
            }
            b"schedule" => {
                let keyword = self.eat_keyword(b"schedule")?;
                self.expect(b"=")?;
                let (value, _) = self.expr_value()?;
                Some(Statement::Schedule {
                    keyword,
                    value,
                    span: Span::new(start, self.expr_end()),
                })
            }
            b"group" => {
                self.eat_keyword(b"group")?;
                let name = self.ident()?;
                self.expect(b"{")?;
                let fields = self.fields()?;
                self.expect(b"}")?;
                Some(Statement::Group {
                    name,
                    fields,
                    span: Span::new(start, self.prev_end),
                })
            }
            _ => None,
        }
    }

    /// `(field ~ (comma? ~ field)* ~ comma?)?` inside a group's braces.
    fn fields(&mut self) -> Option<Vec<ast::Field>> {
        let base = self.stacks.fields.len();
        let mut comma_before = true;
        while self.at_assignment() {
            let key = self.word()?;
            // The builder refuses two fields on one line without a comma between them.
            if !comma_before && self.stacks.fields.len() > base {
                let prev = self.stacks.fields.last()?;
                if !self.source[prev.value.span.end..key.span.start].contains('\n') {
                    return None;
                }
            }
            self.expect(b"=")?;
            let (value, _) = self.expr_value()?;
            self.stacks.fields.push(ast::Field { key, value });
            comma_before = self.eat(b",");
            if self.peek() == Some(b'}') {
                break;
            }
            // Anything else must be the next field.
            if !self.at_assignment() {
                return None;
            }
        }
        Some(self.stacks.fields.drain(base..).collect())
    }

    // --- expressions, loosest first ---

    /// Where the `expr` rule just parsed ends in pest's eyes, which is the end of a `let` or
    /// `schedule` statement's span. pest skips whitespace between the parts of a sequence
    /// even when the part after it is a repetition that then matches nothing, so a rule such
    /// as `sum = product ~ (add_op ~ product)*` that ends with an empty repetition ends after
    /// the whitespace (and comments) that follow its last token: it is *loose*. A rule that
    /// ends with a rule ends where that one does. Each rule below sets `loose` as it returns.
    fn expr_end(&self) -> usize {
        if self.loose {
            self.pos
        } else {
            self.prev_end
        }
    }

    /// `expr` (`lambda | let_in | if_chain | or_expr`); a lambda's body is
    /// `let_in | if_chain | or_expr` (`lambda` false), the body of a `let ... in` chain is
    /// `lambda | if_chain | or_expr` (`let_` false) and the last branch of an `if` chain is
    /// `lambda | let_in | or_expr` (`if_` false).
    ///
    /// Each expression rule pushes its node, with its depth as the builder counts it, on
    /// `values`, and an operator's rule takes its operands from there: a node is moved only
    /// when it is built into its parent, not once per precedence level on its way up.
    fn expr(&mut self, lambda: bool, let_: bool, if_: bool) -> Done {
        if self.levels >= self.max_levels {
            return None;
        }
        self.levels += 1;
        if lambda && self.at_lambda() {
            self.lambda()?;
        } else if let_ && self.at_keyword(b"let") {
            self.let_in()?;
        } else if if_ && self.at_keyword(b"if") {
            self.if_chain()?;
        } else {
            self.or_expr()?;
        }
        self.levels -= 1;
        Some(())
    }

    /// Parses an `expr` and takes its node.
    fn expr_value(&mut self) -> Option<(Expr, usize)> {
        self.expr(true, true, true)?;
        self.values.pop()
    }

    /// Pushes a node at tree depth `depth`; `None` where the builder would refuse it as too
    /// deep.
    fn push(&mut self, kind: ExprKind, span: Span, depth: usize) -> Done {
        let node = make(kind, span, depth)?;
        self.values.push(node);
        Some(())
    }

    /// Replaces the two nodes on top of `values` with `lhs op rhs` (the builder's
    /// `left_assoc`).
    fn binary(&mut self, op: BinaryOp) -> Done {
        let (rhs, rd) = self.values.pop()?;
        let (lhs, ld) = self.values.pop()?;
        let span = Span::new(lhs.span.start, rhs.span.end);
        self.push(
            ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
            1 + ld.max(rd),
        )
    }

    /// Wraps the node on top of `values` in one `op` per start on `starts` above `base`, and
    /// takes those starts.
    fn prefix(&mut self, op: UnaryOp, base: usize) -> Done {
        let operand = self.values.pop()?;
        let node = prefix_chain(op, &self.stacks.starts[base..], operand)?;
        self.stacks.starts.truncate(base);
        self.values.push(node);
        Some(())
    }

    /// `(ident ~ "->")+ ~ (if_chain | or_expr)`, nested right to left.
    fn lambda(&mut self) -> Done {
        let base = self.stacks.params.len();
        loop {
            let param = self.ident()?;
            self.stacks.params.push(param);
            self.expect(b"->")?;
            if !self.at_lambda() {
                break;
            }
        }
        self.expr(false, true, true)?;
        let (mut acc, mut depth) = self.values.pop()?;
        while self.stacks.params.len() > base {
            let param = self.stacks.params.pop()?;
            let span = Span::new(param.span.start, acc.span.end);
            (acc, depth) = make(
                ExprKind::Lambda {
                    param: Box::new(param),
                    body: Box::new(acc),
                },
                span,
                depth + 1,
            )?;
        }
        self.values.push((acc, depth));
        Some(())
    }

    /// `(kw_let ~ ident ~ "=" ~ expr ~ kw_in)+ ~ (lambda | if_chain | or_expr)`, nested right
    /// to left (the builder's `let_in`). Each binding's value stays on `values` until the chain
    /// is folded.
    fn let_in(&mut self) -> Done {
        let base = self.stacks.lets.len();
        while let Some(kw) = self.eat_keyword(b"let") {
            let name = self.ident()?;
            self.expect(b"=")?;
            self.expr(true, true, true)?;
            self.eat_keyword(b"in")?;
            self.stacks.lets.push((kw.start, name));
        }
        self.expr(true, false, true)?;
        let (mut acc, mut depth) = self.values.pop()?;
        while self.stacks.lets.len() > base {
            let (let_start, name) = self.stacks.lets.pop()?;
            let (value, vd) = self.values.pop()?;
            let span = Span::new(let_start, acc.span.end);
            (acc, depth) = make(
                ExprKind::LetIn {
                    name: Box::new(name),
                    value: Box::new(value),
                    body: Box::new(acc),
                },
                span,
                1 + vd.max(depth),
            )?;
        }
        self.values.push((acc, depth));
        Some(())
    }

    /// `(kw_if ~ expr ~ kw_then ~ expr ~ kw_else)+ ~ (lambda | let_in | or_expr)`, nested right to left.
    /// Each branch's condition and value stay on `values` until the chain is folded.
    fn if_chain(&mut self) -> Done {
        let base = self.stacks.ifs.len();
        while let Some(kw) = self.eat_keyword(b"if") {
            self.expr(true, true, true)?;
            self.eat_keyword(b"then")?;
            self.expr(true, true, true)?;
            self.eat_keyword(b"else")?;
            self.stacks.ifs.push(kw.start);
        }
        self.expr(true, true, false)?;
        let (mut acc, mut depth) = self.values.pop()?;
        while self.stacks.ifs.len() > base {
            let if_start = self.stacks.ifs.pop()?;
            let (value, vd) = self.values.pop()?;
            let (cond, cd) = self.values.pop()?;
            let span = Span::new(if_start, acc.span.end);
            let d = 1 + cd.max(vd).max(depth);
            (acc, depth) = make(
                ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(value),
                    otherwise: Box::new(acc),
                },
                span,
                d,
            )?;
        }
        self.values.push((acc, depth));
        Some(())
    }

    /// `and_expr ~ (kw_or ~ and_expr)*`
    fn or_expr(&mut self) -> Done {
        self.and_expr()?;
        if self.at_keyword(b"or") {
            while self.eat_keyword(b"or").is_some() {
                self.and_expr()?;
                self.binary(BinaryOp::Or)?;
            }
        } else {
            self.loose = true;
        }
        Some(())
    }

    /// `not_expr ~ (kw_and ~ not_expr)*`
    fn and_expr(&mut self) -> Done {
        self.not_expr()?;
        if self.at_keyword(b"and") {
            while self.eat_keyword(b"and").is_some() {
                self.not_expr()?;
                self.binary(BinaryOp::And)?;
            }
        } else {
            self.loose = true;
        }
        Some(())
    }

    /// `kw_not* ~ cmp_expr`
    fn not_expr(&mut self) -> Done {
        if !self.at_keyword(b"not") {
            return self.cmp_expr();
        }
        let base = self.stacks.starts.len();
        while let Some(kw) = self.eat_keyword(b"not") {
            self.stacks.starts.push(kw.start);
        }
        self.cmp_expr()?;
        self.prefix(UnaryOp::Not, base)
    }

    /// `sum ~ (cmp_op ~ sum)*`; a chain of two or more comparisons is left to pest (the
    /// builder refuses it).
    fn cmp_expr(&mut self) -> Done {
        self.sum()?;
        let Some(op) = self.cmp_op() else {
            self.loose = true;
            return Some(());
        };
        self.sum()?;
        if self.cmp_op().is_some() {
            return None;
        }
        self.binary(op)
    }

    /// Takes a `cmp_op` if one comes next.
    fn cmp_op(&mut self) -> Option<BinaryOp> {
        let (op, len) = match self.bytes.get(self.pos..self.pos + 2) {
            Some(b"<=") => (BinaryOp::Le, 2),
            Some(b">=") => (BinaryOp::Ge, 2),
            Some(b"==") => (BinaryOp::Eq, 2),
            Some(b"!=") => (BinaryOp::Ne, 2),
            _ => match self.peek() {
                Some(b'<') => (BinaryOp::Lt, 1),
                Some(b'>') => (BinaryOp::Gt, 1),
                _ => return None,
            },
        };
        self.advance(self.pos + len);
        Some(op)
    }

    /// `product ~ (add_op ~ product)*`
    fn sum(&mut self) -> Done {
        self.product()?;
        let mut empty = true;
        loop {
            let op = match self.peek() {
                Some(b'+') => BinaryOp::Add,
                Some(b'-') => BinaryOp::Sub,
                _ => {
                    self.loose |= empty;
                    return Some(());
                }
            };
            empty = false;
            self.advance(self.pos + 1);
            self.product()?;
            self.binary(op)?;
        }
    }

    /// `unary ~ (mul_op ~ unary)*`, with `mul_op = "//" | "*" | "/" | "%"`.
    fn product(&mut self) -> Done {
        self.unary()?;
        let mut empty = true;
        loop {
            let (op, len) = match self.peek() {
                Some(b'/') if self.at(b"//") => (BinaryOp::FloorDiv, 2),
                Some(b'*') => (BinaryOp::Mul, 1),
                Some(b'/') => (BinaryOp::Div, 1),
                Some(b'%') => (BinaryOp::Mod, 1),
                _ => {
                    self.loose |= empty;
                    return Some(());
                }
            };
            empty = false;
            self.advance(self.pos + len);
            self.unary()?;
            self.binary(op)?;
        }
    }

    /// Takes `neg*`, pushing where each `-` starts; returns how many there were.
    fn negations(&mut self) -> usize {
        let mut n = 0;
        while self.peek() == Some(b'-') {
            self.stacks.starts.push(self.pos);
            self.advance(self.pos + 1);
            n += 1;
        }
        n
    }

    /// `neg* ~ power`
    fn unary(&mut self) -> Done {
        if self.peek() != Some(b'-') {
            return self.power();
        }
        let base = self.stacks.starts.len();
        self.negations();
        self.power()?;
        self.prefix(UnaryOp::Neg, base)
    }

    /// `atom ~ (pow_op ~ exponent)*` with `exponent = neg* ~ atom`, right-associative:
    /// `a ** -b ** c` is `a ** -(b ** c)`, as the builder folds it.
    fn power(&mut self) -> Done {
        self.atom()?;
        if !self.at(b"**") {
            self.loose = true;
            return Some(());
        }
        // Each operand: its atom, the atom's depth, and how many minus signs it has (their
        // starts are pushed on `starts` in the same order, above `starts_base`).
        let (base, starts_base) = (self.stacks.operands.len(), self.stacks.starts.len());
        let (first, first_depth) = self.values.pop()?;
        self.stacks.operands.push((first, first_depth, 0));
        while self.eat(b"**") {
            let negs = self.negations();
            self.atom()?;
            let (atom, depth) = self.values.pop()?;
            // The builder builds each exponent with its minus signs first.
            if depth + negs > MAX_TREE_DEPTH {
                return None;
            }
            self.stacks.operands.push((atom, depth, negs));
        }
        // The last exponent's atom ends with a token.
        self.loose = false;
        let (last, last_depth, last_negs) = self.stacks.operands.pop()?;
        let mut negs_end = self.stacks.starts.len();
        let (mut acc, mut depth) = prefix_chain(
            UnaryOp::Neg,
            &self.stacks.starts[negs_end - last_negs..negs_end],
            (last, last_depth),
        )?;
        negs_end -= last_negs;
        while self.stacks.operands.len() > base {
            let (core, core_depth, negs) = self.stacks.operands.pop()?;
            let base_depth = core_depth + negs;
            let span = Span::new(core.span.start, acc.span.end);
            (acc, depth) = make(
                ExprKind::Binary {
                    op: BinaryOp::Pow,
                    lhs: Box::new(core),
                    rhs: Box::new(acc),
                },
                span,
                1 + base_depth.max(depth),
            )?;
            (acc, depth) = prefix_chain(
                UnaryOp::Neg,
                &self.stacks.starts[negs_end - negs..negs_end],
                (acc, depth),
            )?;
            negs_end -= negs;
        }
        debug_assert_eq!(negs_end, starts_base);
        self.stacks.starts.truncate(starts_base);
        self.values.push((acc, depth));
        Some(())
    }

    /// `number | string | kw_true | kw_false | call | ident | paren | tuple | list`
    fn atom(&mut self) -> Done {
        let start = self.pos;
        let kind = match self.peek()? {
            b'0'..=b'9' | b'.' => ExprKind::Number(self.number()?),
            b'"' => ExprKind::String(self.string()?),
            b'(' => return self.paren_or_tuple(),
            b'[' => return self.list(),
            _ => match self.peek_word()? {
                b"true" => {
                    self.advance(start + 4);
                    ExprKind::Bool(true)
                }
                b"false" => {
                    self.advance(start + 5);
                    ExprKind::Bool(false)
                }
                _ => {
                    let name = self.ident()?;
                    if self.peek() == Some(b'(') {
                        // A call; the builder counts it as depth 2 whatever its arguments.
                        let call = self.call(name)?;
                        let span = call.span;
                        self.values.push((
                            Expr {
                                kind: ExprKind::Call(Box::new(call)),
                                span,
                            },
                            2,
                        ));
                        return Some(());
                    }
                    ExprKind::Name(name.name)
                }
            },
        };
        let span = Span::new(start, self.prev_end);
        self.values.push((Expr { kind, span }, 1));
        Some(())
    }

    /// `number`, converted as the builder converts it (`_` dropped, finite `f64`).
    fn number(&mut self) -> Option<f64> {
        let b = self.bytes;
        let start = self.pos;
        let digits = |mut at: usize| -> Option<usize> {
            // `ASCII_DIGIT ~ ("_"? ~ ASCII_DIGIT)*`
            if !b.get(at)?.is_ascii_digit() {
                return None;
            }
            at += 1;
            loop {
                match b.get(at) {
                    Some(d) if d.is_ascii_digit() => at += 1,
                    Some(b'_') if b.get(at + 1).is_some_and(u8::is_ascii_digit) => at += 2,
                    _ => return Some(at),
                }
            }
        };
        let mut at = match digits(start) {
            Some(end) if b.get(end) == Some(&b'.') => digits(end + 1).unwrap_or(end + 1),
            Some(end) => end,
            None if b[start] == b'.' => digits(start + 1)?,
            None => return None,
        };
        if matches!(b.get(at), Some(b'e' | b'E')) {
            let mut exp = at + 1;
            if matches!(b.get(exp), Some(b'+' | b'-')) {
                exp += 1;
            }
            if let Some(end) = digits(exp) {
                at = end;
            }
        }
        if b.get(at).is_some_and(|c| is_ident_char(*c)) {
            return None;
        }
        let text = &self.source[start..at];
        let value = if text.len() <= 15 && text.bytes().all(|c| c.is_ascii_digit()) {
            // A whole number below 10^15 is exact in an `f64`: what `parse` returns too.
            text.bytes().fold(0u64, |n, c| n * 10 + u64::from(c - b'0')) as f64
        } else if text.contains('_') {
            text.replace('_', "").parse::<f64>().ok()?
        } else {
            text.parse::<f64>().ok()?
        };
        self.advance(at);
        value.is_finite().then_some(value)
    }

    /// `string`, unescaped; `None` for an unknown escape (the builder refuses it).
    fn string(&mut self) -> Option<String> {
        let b = self.bytes;
        let body = self.pos + 1;
        let mut at = body;
        let mut escaped = false;
        loop {
            match *b.get(at)? {
                b'"' => break,
                b'\n' => return None,
                b'\\' => {
                    if !matches!(b.get(at + 1)?, b'"' | b'\\' | b'n' | b't') {
                        return None;
                    }
                    escaped = true;
                    at += 2;
                }
                _ => at += 1,
            }
        }
        let raw = &self.source[body..at];
        let text = if escaped {
            let mut out = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                out.push(match chars.next()? {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
            out
        } else {
            raw.to_string()
        };
        self.advance(at + 1);
        Some(text)
    }

    /// The rest of `call` after its name: `"(" ~ (arg ~ ("," ~ arg)* ~ ","?)? ~ ")"`.
    fn call(&mut self, name: Ident) -> Option<ast::Call> {
        self.expect(b"(")?;
        let base = self.stacks.args.len();
        while !self.eat(b")") {
            // `arg = (arg_name ~ !"==" ~ "=")? ~ expr`
            let arg_name = if self.at_assignment() {
                let n = self.word()?;
                self.expect(b"=")?;
                Some(n)
            } else {
                None
            };
            let (value, _) = self.expr_value()?;
            self.stacks.args.push(ast::Arg {
                name: arg_name,
                value,
            });
            if !self.eat(b",") {
                self.expect(b")")?;
                break;
            }
        }
        let span = Span::new(name.span.start, self.prev_end);
        let args = self.stacks.args.drain(base..).collect();
        Some(ast::Call { name, args, span })
    }

    /// `paren` (`"(" ~ expr ~ ")"`) or, when a `,` follows the first expression, `tuple`.
    fn paren_or_tuple(&mut self) -> Done {
        let start = self.pos;
        self.expect(b"(")?;
        let (first, first_depth) = self.expr_value()?;
        if self.eat(b")") {
            let span = Span::new(start, self.prev_end);
            return self.push(ExprKind::Paren(Box::new(first)), span, first_depth + 1);
        }
        self.expect(b",")?;
        let base = self.stacks.items.len();
        self.stacks.items.push(first);
        let depth = self.items(b')', first_depth + 1)?;
        let items = self.stacks.items.drain(base..).collect();
        self.push(
            ExprKind::Tuple(items),
            Span::new(start, self.prev_end),
            depth,
        )
    }

    /// `"[" ~ (expr ~ ("," ~ expr)* ~ ","?)? ~ "]"`
    fn list(&mut self) -> Done {
        let start = self.pos;
        self.expect(b"[")?;
        let base = self.stacks.items.len();
        let depth = self.items(b']', 1)?;
        let items = self.stacks.items.drain(base..).collect();
        self.push(
            ExprKind::List(items),
            Span::new(start, self.prev_end),
            depth,
        )
    }

    /// `(expr ~ ("," ~ expr)* ~ ","?)? ~ close`, after an opening bracket (or a tuple's first
    /// `,`), pushing the items on `items`; returns `depth` or the deepest item's depth plus
    /// one.
    fn items(&mut self, close: u8, mut depth: usize) -> Option<usize> {
        while !self.eat(&[close]) {
            let (item, d) = self.expr_value()?;
            depth = depth.max(d + 1);
            self.stacks.items.push(item);
            if !self.eat(b",") {
                self.expect(&[close])?;
                break;
            }
        }
        Some(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_keyword_knows_exactly_the_grammar_keywords() {
        for k in super::super::KEYWORDS {
            assert!(is_keyword(k.as_bytes()), "{k}");
            // Neither a prefix nor an extension of a keyword is one.
            assert!(!is_keyword(&k.as_bytes()[1..]), "{k}");
            assert!(!is_keyword(format!("{k}s").as_bytes()), "{k}");
        }
        for word in ["epoch", "lambda", "e", "max", "True", "Let"] {
            assert!(!is_keyword(word.as_bytes()), "{word}");
        }
    }

    /// A valid source that nests `calls` calls deep (what `precheck` counts) and then `chain`
    /// lambdas in `else` branches (what it does not count): `1 + calls + 2 * chain` levels.
    fn deep(calls: usize, chain: usize) -> String {
        format!(
            "let a = {}{}1{}",
            "f(".repeat(calls),
            "x -> if c then 1 else ".repeat(chain),
            ")".repeat(calls)
        )
    }

    #[test]
    fn the_stack_the_caller_provides_is_enough_at_the_deepest() {
        // `parse` runs this parser on `parse_stack(nesting)` bytes of stack (sized for pest);
        // here it runs on exactly that much, as deep as it goes before it gives up.
        for calls in [0, 1, 8, 64, 127] {
            // Each `if` counts one level until its `else`.
            let nesting = calls + 1;
            let within = (max_levels(nesting) - 1 - calls) / 2;
            for (chain, parses) in [(within, true), (within + 1, false)] {
                let source = deep(calls, chain);
                assert_eq!(super::super::precheck(&source).unwrap().nesting, nesting);
                let stack = crate::limits::parse_stack(nesting);
                let parsed = std::thread::Builder::new()
                    .stack_size(stack)
                    .spawn(move || file(&source, nesting).is_some())
                    .unwrap()
                    .join()
                    .unwrap();
                assert_eq!(parsed, parses, "{calls} calls, {chain} lambdas");
            }
        }
    }
}

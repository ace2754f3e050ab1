//! Syntax errors in words: pest's error turned into a diagnostic that says what was expected
//! and what was found, with a help line for the common mistakes (another language's syntax,
//! brackets, missing values, misplaced keywords).

use super::builder::{OptimParser, Rule};
use super::{KEYWORDS, STATEMENT_KEYWORDS, STATEMENT_WORDS};
use crate::ast::Span;
use crate::diagnostic::{Code, Diagnostic};
use pest::Parser as _;

/// Turns pest's error into a diagnostic that says, in words, what was expected and what was found.
pub(super) fn syntax_error(
    source: &str,
    start_rule: Rule,
    error: pest::error::Error<Rule>,
) -> Diagnostic {
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
    // Where a value may come, `let` starts one (`let c = ... in ...`), not a statement.
    let value_expected = expected.iter().any(|e| e == "a value");
    let statement = rule_phrase(Rule::let_stmt).unwrap_or_default();
    let structural: Vec<String> = expected
        .iter()
        .filter(|e| e.as_str() != "an operator")
        .filter(|e| !(value_expected && e.as_str() == statement))
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
        | Rule::run_stmt
        | Rule::kw_run
        | Rule::average_stmt
        | Rule::kw_let
        | Rule::kw_optimizer
        | Rule::kw_group
        | Rule::kw_schedule
        | Rule::kw_average => {
            "a statement (`let`, `optimizer`, `group`, `schedule`, `run` or `average`)"
        }
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
        Rule::kw_in => "`in`",
        Rule::expr
        | Rule::lambda
        | Rule::let_in
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

/// Where a syntax error is, as [`hint`] reads it.
#[derive(Clone, Copy)]
struct Place<'s> {
    source: &'s str,
    at: usize,
    found: &'s Found,
    expected: &'s [String],
    /// The source from the error on.
    rest: &'s str,
    /// The source before the error, without trailing whitespace.
    before: &'s str,
    /// Only whitespace precedes the error on its line.
    at_line_start: bool,
    /// A value is among what was expected.
    expects_value: bool,
}

/// A help line (and maybe a related place) for common mistakes: the first of the checks below,
/// in this order, that recognises one.
fn hint(source: &str, at: usize, found: &Found, expected: &[String]) -> Option<(String, Related)> {
    let p = Place {
        source,
        at,
        found,
        expected,
        rest: &source[at.min(source.len())..],
        before: source[..at.min(source.len())].trim_end(),
        at_line_start: source[..at.min(source.len())]
            .rsplit('\n')
            .next()
            .is_some_and(|line| line.trim().is_empty()),
        expects_value: expected.iter().any(|e| e.starts_with("a value")),
    };
    other_language(&p)
        .or_else(|| stray_close(&p))
        .or_else(|| missing_value(&p))
        .or_else(|| grammar_words(&p))
        .or_else(|| foreign_punctuation(&p))
        .or_else(|| unclosed(&p))
}

/// A character or operator from another language (typographic quotes, `&&`, `!`, `;`, a
/// Python lambda's `->` mistakes), or a token that belongs elsewhere ([`misdirected`]).
fn other_language(p: &Place) -> Option<(String, Related)> {
    let Place {
        source,
        at,
        found,
        expected,
        rest,
        before,
        ..
    } = *p;
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
    None
}

/// A closing bracket that closes nothing or the wrong bracket, or an empty tuple.
fn stray_close(p: &Place) -> Option<(String, Related)> {
    let Place {
        source,
        at,
        rest,
        before,
        expects_value,
        ..
    } = *p;
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
    None
}

/// An operator, `not` or `=` left without the value it needs.
fn missing_value(p: &Place) -> Option<(String, Related)> {
    let Place {
        found,
        rest,
        before,
        at_line_start,
        expects_value,
        ..
    } = *p;
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
    None
}

/// A word the grammar needs missing (braces, parentheses, `else`, a name), or a line that
/// starts with something other than a statement keyword.
fn grammar_words(p: &Place) -> Option<(String, Related)> {
    let Place {
        source,
        at,
        found,
        expected,
        before,
        at_line_start,
        ..
    } = *p;
    let expects = |phrase: &str| expected.iter().any(|e| e == phrase);
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
    if expects("`in`") {
        return Some((
            "a local value reads `let name = value in body`, e.g. `let c = e // 10 in 0.5 ** c`"
                .into(),
            None,
        ));
    }
    if found.text == "in" && at_line_start_of_let(source, at) {
        return Some((
            "`let ... in` names a value inside a lambda's body; a `let` statement needs no `in`: write `let c = 3` and use `c` below it".into(),
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
    if expects("a name") && before.ends_with("run =") {
        return Some((
            "the run is a call: `run = per_step(steps = 10000)` or `run = per_epoch(epochs = 90)`"
                .into(),
            None,
        ));
    }
    if at_line_start
        && unclosed_bracket(&source[..at]).is_none()
        && found.text.chars().next().is_some_and(|c| c.is_alphabetic())
        && !STATEMENT_KEYWORDS.contains(&found.text.as_str())
        && !STATEMENT_WORDS.contains(&found.text.as_str())
    {
        let guess = STATEMENT_WORDS
            .iter()
            .map(|k| (strsim::jaro_winkler(k, &found.text), *k))
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        return Some((
            match guess {
                Some((_, k)) => format!("did you mean `{k}`?"),
                None => format!(
                    "a line starts with `let`, `optimizer`, `group`, `schedule`, `run` or `average`; to name a value, write `let {} = ...`",
                    found.text
                ),
            },
            None,
        ));
    }
    None
}

/// `:` for `=`, Python lambdas, single quotes, unclosed strings, keywords as names, `^`,
/// module prefixes and dotted names.
fn foreign_punctuation(p: &Place) -> Option<(String, Related)> {
    let Place {
        source,
        at,
        found,
        expected,
        rest,
        before,
        ..
    } = *p;
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
    None
}

/// An unclosed bracket, or a missing comma between arguments.
fn unclosed(p: &Place) -> Option<(String, Related)> {
    let Place {
        source,
        at,
        found,
        expected,
        ..
    } = *p;
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

/// Whether the line of `at` is a `let` statement (it starts with `let`), as in `let c = 3 in 4`.
fn at_line_start_of_let(source: &str, at: usize) -> bool {
    let line_start = source[..at.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    source[line_start..].trim_start().starts_with("let ")
}

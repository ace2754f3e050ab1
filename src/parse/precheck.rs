//! What is refused before any parser runs (huge sources, NUL bytes, lone carriage returns,
//! nesting deeper than [`MAX_NESTING`]), measured in one pass over the bytes that also finds
//! where a large source splits for the two-thread parse.

use super::{SPLIT_MIN_LEN, STATEMENT_WORDS};
use crate::ast::Span;
use crate::diagnostic::{Code, Diagnostic};
use crate::limits::{MAX_NESTING, MAX_SOURCE_LEN};

/// What [`precheck`] finds in a source it accepts.
pub(super) struct Prechecked {
    /// How deeply brackets and `if`s nest.
    pub(super) nesting: usize,
    /// Where to split the source to parse it on two threads: see [`scan`].
    pub(super) split: Option<usize>,
}

/// Refuses input that pest should not even try: NUL bytes, huge sources, deep nesting. Says
/// how deeply the source nests and, if it is at least [`SPLIT_MIN_LEN`] bytes, where to split
/// it near the middle.
pub(super) fn precheck(source: &str) -> Result<Prechecked, Vec<Diagnostic>> {
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

/// Whether a line starts at `at` with a word that starts a statement, as a whole word.
pub(super) fn is_statement_start(bytes: &[u8], at: usize) -> bool {
    let (Some(b'\n'), Some(rest)) = (
        at.checked_sub(1).and_then(|i| bytes.get(i)),
        bytes.get(at..),
    ) else {
        return false;
    };
    STATEMENT_WORDS.iter().any(|k| {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            ("let a = 1\nrun = per_step()", Some("run = per_step()")),
            ("let a = 1\nrunning = 2\nrun_x", None),
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
}

//! `optimc fmt` keeps every comment: a property test over generated and mutated files with
//! comments inserted at every kind of place a comment can go (between any two tokens, at the
//! start and end of lines, inside groups, calls, lists and tuples), and the cases of issue 11.

use crate::common::proptest_config as config;
use crate::proptest_pipeline::{corpus, file, mutate, mutation};
use proptest::prelude::*;

/// The comment texts of a source, sorted (a multiset), or `None` if it does not parse.
fn comment_texts(text: &str) -> Option<Vec<String>> {
    let mut texts: Vec<String> = optimc::parse::parse(text)
        .ok()?
        .comments
        .into_iter()
        .map(|c| c.text.trim_end().to_string())
        .collect();
    texts.sort();
    Some(texts)
}

/// The places where `# ...\n` may be inserted without joining or splitting a token: before
/// whitespace, after an opening bracket or a comma, before a closing bracket, and at the ends,
/// outside strings and comments.
fn gaps(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = vec![0, bytes.len()];
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
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b' ' | b'\n' | b')' | b']' | b'}' | b',' => out.push(i),
            _ => {}
        }
        if bytes.get(i).is_some_and(|b| b"([{,".contains(b)) {
            out.push(i + 1);
        }
        i += 1;
    }
    out.retain(|&p| p <= bytes.len() && text.is_char_boundary(p));
    out.sort_unstable();
    out.dedup();
    out
}

/// `text` with a comment inserted at each chosen gap (an index into [`gaps`], taken modulo its
/// length); each comment ends its line, so the code after it moves to the next line.
fn with_comments(text: &str, at: &[prop::sample::Index]) -> String {
    let places = gaps(text);
    let mut chosen: Vec<usize> = at.iter().map(|i| places[i.index(places.len())]).collect();
    chosen.sort_unstable();
    chosen.dedup();
    let mut out = String::with_capacity(text.len() + 16 * chosen.len());
    let mut from = 0;
    for (n, &p) in chosen.iter().enumerate() {
        out.push_str(&text[from..p]);
        out.push_str(&format!("  # c{n} (note)\n"));
        from = p;
    }
    out.push_str(&text[from..]);
    out
}

/// Formats `text` (if it parses) and checks that no comment is lost, added or changed, and that
/// formatting the result changes nothing.
fn assert_keeps_comments(text: &str) -> Result<(), TestCaseError> {
    let Some(before) = comment_texts(text) else {
        return Ok(()); // nothing to format
    };
    let once = optimc::format::format_source(text).expect("it parses");
    let after = comment_texts(&once)
        .ok_or_else(|| TestCaseError::fail(format!("formatted text does not parse:\n{once}")))?;
    prop_assert_eq!(
        &before,
        &after,
        "comments changed\n--- source\n{}\n--- formatted\n{}",
        text,
        once
    );
    let twice = optimc::format::format_source(&once).expect("formatted text parses");
    prop_assert_eq!(&once, &twice, "not idempotent");
    Ok(())
}

/// Sources with every bracketed construct, as group fields, call arguments and `let` values,
/// some short enough for one line and some not.
const SHAPES: &[&str] = &[
    "group head { params = [\"classifier.*\", \"pooler.*\"], lr = 1e-3 }\n",
    "group g { params = \"g.*\", betas = (0.9, 0.95), lr = min(1, 2) }\n",
    "optimizer = adamw(lr = 3e-4, betas = (0.9, 0.95), eps = 1e-8, weight_decay = 0.05, amsgrad = false, maximize = false)\n",
    "let a = [1, [2, 3], (4, 5)]\nlet b = 1 let c = 2\n",
    "schedule = sequence(linear(start_factor = 0.01, total_iters = 5), multistep(milestones = [30, 80], gamma = 0.1), milestones = [5])\n",
    "schedule = lambda(e -> if e < 5 then (e + 1) / 5 else 0.5 ** (e // 10))\n",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn generated_files_keep_their_comments(
        text in prop_oneof![file(), prop::sample::select(SHAPES).prop_map(str::to_string)],
        at in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        assert_keeps_comments(&with_comments(&text, &at))?;
    }

    #[test]
    fn mutated_files_keep_their_comments(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..3),
        at in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let corpus = corpus();
        let original = corpus[which.index(corpus.len())].clone();
        let Ok(text) = String::from_utf8(mutate(original, &mutations)) else {
            return Ok(());
        };
        assert_keeps_comments(&with_comments(&text, &at))?;
    }
}

#[test]
fn every_gap_of_every_shape_keeps_its_comment() {
    // The exhaustive version of the property on the shapes: one comment at each gap in turn.
    for shape in SHAPES {
        for k in 0..gaps(shape).len() {
            let text = {
                let p = gaps(shape)[k];
                format!("{}  # here\n{}", &shape[..p], &shape[p..])
            };
            assert_keeps_comments(&text).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn a_comment_inside_a_list_keeps_a_one_line_group_broken() {
    let text = "group head { params = [\n    \"classifier.*\",  # the new head, trained from scratch\n    \"pooler.*\",\n], lr = 1e-3 }\n";
    assert_eq!(
        optimc::format::format_source(text).unwrap(),
        "group head {\n    params = [\n        \"classifier.*\",  # the new head, trained from scratch\n        \"pooler.*\",\n    ],\n    lr = 1e-3,\n}\n"
    );
}

#[test]
fn a_comment_stays_after_the_item_it_followed() {
    let text = "optimizer = adamw(lr = 3e-4, betas = (0.9, 0.95), eps = 1e-8, weight_decay = 0.05, amsgrad = false,  # try true\n    maximize = false)\n";
    assert_eq!(
        optimc::format::format_source(text).unwrap(),
        "optimizer = adamw(\n    lr = 3e-4,\n    betas = (0.9, 0.95),\n    eps = 1e-8,\n    weight_decay = 0.05,\n    amsgrad = false,  # try true\n    maximize = false,\n)\n"
    );
    // The same for statements that share a line.
    assert_eq!(
        optimc::format::format_source("let a = 1 let b = 2  # b\n").unwrap(),
        "let a = 1\nlet b = 2  # b\n"
    );
}

//! Property tests: generated `.optim` files (from a strategy that follows the grammar) and byte
//! mutations of the examples and fixtures go through parse → check → render, fmt (re-parses,
//! idempotent), export (round-trips) and a short trace, without a panic. The same body is the
//! `cargo fuzz` target (fuzz/fuzz_targets/check.rs), which this compiles on stable.

#[path = "../../fuzz/exercise.rs"]
mod exercise;

use crate::common::proptest_config as config;
use proptest::prelude::*;
use std::path::Path;

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..200).prop_map(|n| n.to_string()),
        (0.0f64..2.0).prop_map(|x| format!("{x:.3}")),
        Just("1e-3".to_string()),
        Just("0".to_string()),
        Just("1e308".to_string()),
        Just("1e999".to_string()),
        Just("-1".to_string()),
        Just("0.5".to_string()),
    ]
}

/// A lambda body over `e`: arithmetic, comparisons, `if`, math calls and `let` names.
fn lambda_body() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("e".to_string()),
        number(),
        Just("pi".to_string()),
        Just("k".to_string()),
        Just("warm(e)".to_string()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "//", "%", "**"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (
                prop::sample::select(vec!["cos", "exp", "log", "sqrt", "abs", "floor", "round"]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("min({a}, {b})")),
            (
                inner.clone(),
                prop::sample::select(vec!["<", "<=", "==", ">"]),
                inner.clone(),
                inner.clone(),
                inner
            )
                .prop_map(|(a, c, b, t, o)| format!("if {a} {c} {b} then {t} else {o}")),
        ]
    })
}

fn schedule() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        lambda_body().prop_map(|b| format!("lambda(e -> {b})")),
        lambda_body().prop_map(|b| format!("multiplicative(e -> {b})")),
        (1u32..40, number()).prop_map(|(s, g)| format!("step(step_size = {s}, gamma = {g})")),
        prop::collection::vec(0u32..60, 0..5)
            .prop_map(|m| format!("multistep(milestones = {m:?}, gamma = 0.5)")),
        number().prop_map(|g| format!("exponential(gamma = {g})")),
        (1u32..50).prop_map(|t| format!("cosine(t_max = {t})")),
        (1u32..30).prop_map(|t| format!("linear(start_factor = 0.1, total_iters = {t})")),
        (1u32..100).prop_map(|t| format!("one_cycle(max_lr = 1, total_steps = {t})")),
        Just("plateau(patience = 2)".to_string()),
        Just("cyclic(base_lr = 0.01, max_lr = 0.1, step_size_up = 4)".to_string()),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3)
                .prop_map(|c| format!("chain({})", c.join(", "))),
            (inner.clone(), inner, 1u32..20)
                .prop_map(|(a, b, m)| format!("sequence({a}, {b}, milestones = [{m}])")),
        ]
    })
}

fn optimizer() -> impl Strategy<Value = String> {
    prop_oneof![
        number().prop_map(|lr| format!("sgd(lr = {lr}, momentum = 0.9)")),
        number().prop_map(|lr| format!("adam(lr = {lr})")),
        Just("adamw(lr = 1e-3, weight_decay = 0.01)".to_string()),
        Just("rmsprop(lr = 0.01)".to_string()),
        Just("adagrad()".to_string()),
    ]
}

/// A whole file: `let`s, an optimizer, groups and a schedule, in a shuffled order.
pub(crate) fn file() -> impl Strategy<Value = String> {
    (
        optimizer(),
        prop::collection::vec(("[a-z]{1,3}", number()), 0..4),
        proptest::option::of(schedule()),
        lambda_body(),
        any::<bool>(),
    )
        .prop_map(|(opt, groups, schedule, warm, shuffle)| {
            let mut lines = vec![
                "let k = 10".to_string(),
                format!("let warm = e -> {warm}"),
                format!("optimizer = {opt}"),
            ];
            for (name, lr) in groups {
                lines.push(format!(
                    "group {name} {{ params = \"{name}.*\", lr = {lr} }}"
                ));
            }
            if let Some(s) = schedule {
                lines.push(format!("schedule = {s}  # the schedule"));
            }
            if shuffle {
                lines.reverse();
            }
            lines.join("\n") + "\n"
        })
}

/// The examples and the invalid fixtures, as bytes.
pub(crate) fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["examples", "tests/fixtures/invalid"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "optim"))
            .collect();
        paths.sort();
        files.extend(paths.iter().map(|p| std::fs::read(p).unwrap()));
    }
    assert!(files.len() > 20);
    files
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    Delete(usize, usize),
    Insert(usize, &'static [u8]),
    Duplicate(usize, usize),
    Flip(usize, u8),
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    const SNIPPETS: &[&[u8]] = &[
        b"(",
        b")",
        b"[",
        b"]",
        b"{",
        b"}",
        b",",
        b"=",
        b"->",
        b"**",
        b"-",
        b"not ",
        b"if ",
        b" then ",
        b" else ",
        b"\"",
        b"\\",
        b"#",
        b"\n",
        b"1e999",
        b"\xff",
        b"\0",
        b"e",
        b"lambda(e -> ",
        b"chain(",
        b"group g { ",
        b"let a = ",
        b"schedule = ",
        b"[1, 2]",
    ];
    prop_oneof![
        (any::<usize>(), 1usize..16).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), prop::sample::select(SNIPPETS))
            .prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), 1usize..32).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
    ]
}

pub(crate) fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *m {
            Mutation::Delete(i, n) => {
                let start = at(i);
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::Insert(i, s) => {
                let start = at(i);
                bytes.splice(start..start, s.iter().copied());
            }
            Mutation::Duplicate(i, n) => {
                let start = at(i);
                let chunk = bytes[start..(start + n).min(len)].to_vec();
                bytes.splice(start..start, chunk);
            }
            Mutation::Flip(i, b) if len > 0 => bytes[i % len] = b,
            Mutation::Flip(..) => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn generated_files_never_panic(text in file()) {
        exercise::exercise(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn mutated_files_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let corpus = corpus();
        let original = corpus[which.index(corpus.len())].clone();
        exercise::exercise(&mutate(original, &mutations));
    }
}

#[test]
fn the_generator_makes_valid_files_too() {
    // A property test of a generator that only made invalid files would test little.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = file();
    let valid = (0..60)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            optimc::Config::from_source("gen.optim", &text).is_ok()
        })
        .count();
    assert!(valid >= 10, "only {valid} of 60 generated files check");
}

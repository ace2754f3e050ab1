//! Hostile input: deep nesting, long chains, big files, enormous numbers, long lists, NUL bytes
//! and invalid UTF-8, costly lambdas, thousands of errors. Every subcommand that reads a file
//! answers each with a diagnostic (exit 1) or a refusal (exit 2), or completes: never a panic
//! (exit 101), a signal (a stack overflow aborts) or a hang. The library entry points are run on
//! 2 MiB threads, the size `std::thread::spawn` gives, to show they need no big stack.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("optimc-hostile-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn optimc(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(args)
        .arg(file)
        .output()
        .unwrap()
}

const REPLAY_TRACE: &str = r#"{"epochs": 2, "metrics": null, "init": {"w": [1.0]}, "grads": [{"w": [0.5]}, {"w": [0.25]}]}"#;

/// Every way the binary reads a `.optim` file.
fn readers(dir: &Scratch) -> Vec<Vec<String>> {
    let trace = dir.file("replay.json", REPLAY_TRACE);
    let trace = trace.to_str().unwrap().to_string();
    [
        vec!["check"],
        vec!["check", "--format", "json"],
        vec!["trace", "--epochs", "5"],
        vec!["fmt", "--check"],
        vec!["export", "--to", "json"],
        vec!["export", "--to", "toml"],
        vec!["export", "--to", "pytorch"],
        vec!["replay", "--trace", &trace],
    ]
    .into_iter()
    .map(|a| a.into_iter().map(String::from).collect())
    .collect()
}

/// Runs `bytes` through every reader; `expect` sees each run's exit code and output.
fn through_every_reader(name: &str, bytes: &[u8], expect: impl Fn(&[String], i32, &str, &str)) {
    through(name, bytes, true, expect)
}

/// Runs `bytes` through every reader, or only `optimc check`: every reader parses and checks
/// the same way, so one case of each kind goes through all of them (unoptimized builds are slow
/// on big inputs).
fn through(name: &str, bytes: &[u8], all: bool, expect: impl Fn(&[String], i32, &str, &str)) {
    let dir = Scratch::new(name);
    let path = dir.file(&format!("{name}.optim"), bytes);
    let mut readers = readers(&dir);
    if !all {
        readers.truncate(1);
    }
    for args in readers {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = optimc(&argv, &path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Some(code) = out.status.code() else {
            panic!("{name} {args:?}: killed by a signal\n{stderr}");
        };
        assert!(
            !stderr.contains("panicked") && code != 101,
            "{name} {args:?}: panicked\n{stderr}"
        );
        expect(&args, code, &stdout, &stderr);
    }
}

/// Every reader refuses the file with exit code 1 and the parser's diagnostic `optimc::<code>`.
fn refused(name: &str, bytes: &[u8], code_name: &str) {
    refused_by(name, bytes, code_name, true, true)
}

/// Like [`refused`], for a checker's diagnostic, which `optimc fmt` (it only parses) does not
/// give; fmt must still complete.
fn invalid(name: &str, bytes: &[u8], code_name: &str) {
    refused_by(name, bytes, code_name, false, true)
}

fn refused_by(name: &str, bytes: &[u8], code_name: &str, parse_level: bool, all: bool) {
    through(name, bytes, all, |args, code, stdout, stderr| {
        if args[0] == "fmt" && !parse_level {
            assert!(code == 0 || code == 1, "{name} {args:?}: {code}\n{stderr}");
            return;
        }
        assert_eq!(code, 1, "{name} {args:?}\n{stderr}");
        let shown = if args.contains(&"json".to_string()) && args[0] == "check" {
            stdout
        } else {
            stderr
        };
        assert!(
            shown.contains(code_name),
            "{name} {args:?}: expected {code_name}\n{shown}"
        );
    });
}

/// Every reader completes: success, a diagnostic, or a refusal to run.
fn survives(name: &str, bytes: &[u8]) {
    through_every_reader(name, bytes, |args, code, _, stderr| {
        assert!((0..=2).contains(&code), "{name} {args:?}: {code}\n{stderr}");
    });
}

const HEAD: &str = "optimizer = sgd(lr = 0.1, momentum = 0.9)\n";

fn lambda(body: &str) -> String {
    format!("{HEAD}schedule = lambda(e -> {body})\n")
}

/// Runs `f` on a thread with a 2 MiB stack and returns its result.
fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn a_hundred_thousand_nested_brackets_are_refused() {
    let n = 100_000;
    let text = format!("{HEAD}let x = {}1{}\n", "(".repeat(n), ")".repeat(n));
    refused("deep_parens", text.as_bytes(), "optimc::too_large");
    let cases = [
        format!("{HEAD}let x = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        // Unclosed, and braces (which only groups use).
        format!("{HEAD}let x = {}", "(".repeat(n)),
        format!("{HEAD}group g {}", "{".repeat(n)),
        // Calls nested inside calls.
        format!(
            "{HEAD}schedule = {}step(step_size = 1){}\n",
            "chain(".repeat(n),
            ")".repeat(n)
        ),
        // `if` nested in conditions.
        lambda(&format!(
            "{}e < 1{}",
            "if ".repeat(n),
            " then 1 else 2".repeat(n)
        )),
    ];
    for (i, text) in cases.iter().enumerate() {
        refused_by(
            &format!("deep{i}"),
            text.as_bytes(),
            "optimc::too_large",
            true,
            false,
        );
    }
}

/// A syntax error at the bottom of the deepest nesting the parser accepts is found at once:
/// no bracket is parsed twice (a grammar with separate rules for `(e)` and `(e, f)` once took
/// time exponential in the depth here, hours at 30 levels).
#[test]
fn a_syntax_error_under_deep_brackets_is_found_at_once() {
    let depth = optimc::limits::MAX_NESTING - 8;
    for (name, open, tail) in [
        ("parens", "(", "\""),
        ("tuples", "(1, ", "1 +"),
        ("calls", "min(", "]"),
        ("lists_of_tuples", "[(", "("),
    ] {
        let source = format!("{HEAD}let x = {}{tail}\n", open.repeat(depth / 2));
        refused(name, source.as_bytes(), "optimc::syntax");
    }
}

#[test]
fn chains_of_a_hundred_thousand_operators_are_refused() {
    let n = 100_000;
    let cases = [
        ("minus", lambda(&format!("{}e", "- ".repeat(n)))),
        (
            "not",
            lambda(&format!("if {}e < 1 then 1 else 2", "not ".repeat(n))),
        ),
        ("power", lambda(&format!("e{}", " ** e".repeat(n)))),
        ("sum", lambda(&format!("e{}", " + 1".repeat(n)))),
        ("product", lambda(&format!("e{}", " * 1".repeat(n / 10)))),
        (
            "and",
            lambda(&format!(
                "if e < 1{} then 1 else 2",
                " and e < 1".repeat(n / 10)
            )),
        ),
        (
            // 30 bytes an `if`: 10^4 of them is already a 300 KB line.
            "else_if",
            lambda(&format!(
                "{}0",
                (0..n / 10)
                    .map(|i| format!("if e < {i} then {i} else "))
                    .collect::<String>()
            )),
        ),
        (
            "lambda_params",
            format!("{HEAD}let f = {}e\n", "e -> ".repeat(n)),
        ),
    ];
    for (i, (name, text)) in cases.iter().enumerate() {
        refused_by(name, text.as_bytes(), "optimc::too_large", true, i == 0);
    }
}

#[test]
fn the_deepest_accepted_nesting_runs_through_every_reader() {
    // Nested as deep as the parser accepts: the parser and every later pass recurse this deep.
    let d = optimc::limits::MAX_NESTING - 3;
    let cases = [
        (
            "parens",
            lambda(&format!("{}e{}", "(".repeat(d), ")".repeat(d))),
        ),
        (
            "left_sums",
            lambda(&format!("{}e{}", "(".repeat(d / 2), " + 1)".repeat(d / 2))),
        ),
        (
            "lists",
            format!("{HEAD}let x = {}1{}\n", "[".repeat(d), "]".repeat(d)),
        ),
        (
            "chains",
            format!(
                "{HEAD}schedule = {}step(step_size = 2){}\n",
                "chain(".repeat(d - 2),
                ")".repeat(d - 2)
            ),
        ),
        (
            "sums",
            lambda(&format!(
                "e{}",
                " + 1".repeat(optimc::limits::MAX_TREE_DEPTH - 5)
            )),
        ),
    ];
    for (name, text) in cases {
        survives(name, text.as_bytes());
        let (config, diagnostics) = optimc::check_source("deep.optim", &text);
        assert!(config.is_some(), "{name}: {diagnostics}");
    }
}

#[test]
fn the_library_needs_no_big_stack() {
    let d = optimc::limits::MAX_NESTING - 3;
    let sources = [
        lambda(&format!("{}e{}", "(".repeat(d), ")".repeat(d))),
        format!("{HEAD}let x = {}1{}\n", "[".repeat(d), "]".repeat(d)),
        format!(
            "{HEAD}schedule = {}step(step_size = 2){}\n",
            "chain(".repeat(d - 2),
            ")".repeat(d - 2)
        ),
        lambda(&format!(
            "e{}",
            " + 1".repeat(optimc::limits::MAX_TREE_DEPTH - 5)
        )),
        format!(
            "{HEAD}let x = {}1{}\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
    ];
    on_small_stack(move || {
        for text in &sources {
            let (config, _) = optimc::check_source("deep.optim", text);
            let _ = optimc::format::format_source(text);
            if let Some(config) = config {
                let json = optimc::export::to_json(&config);
                let toml = optimc::export::to_toml(&config);
                let _ = optimc::export::pytorch::to_pytorch(&config);
                // Deep schedules may exceed the JSON and TOML readers' own nesting limits:
                // then they are refused, not overflowed.
                let _ = optimc::Config::from_json(&json);
                let _ = optimc::Config::from_toml(&toml);
                let mut schedule = optimc::Schedule::new(&config);
                let _ = schedule.step(); // a plateau refuses: an error, not a panic
            }
        }
        let text = format!("e -> {}e{}", "(".repeat(d), ")".repeat(d));
        assert!(optimc::expr::Lambda::from_text(&text).is_ok());
    });
}

#[test]
fn deeply_nested_json_and_toml_are_refused() {
    let n = 100_000;
    let json = format!(
        r#"{{"optimizer": "sgd", "schedule": {}{{"kind": "step", "step_size": 1, "gamma": 0.5}}{}}}"#,
        r#"{"kind": "chain", "children": ["#.repeat(n),
        "]}".repeat(n)
    );
    let arrays = format!(
        "optimizer = \"sgd\"\nx = {}1{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let tables = format!(
        "optimizer = \"sgd\"\nx = {}1{}\n",
        "{a = ".repeat(n),
        "}".repeat(n)
    );
    let chains = format!(
        "optimizer = \"sgd\"\nschedule = {}{{kind = \"step\", step_size = 1, gamma = 0.5}}{}\n",
        "{kind = \"chain\", children = [".repeat(n),
        "]}".repeat(n)
    );
    on_small_stack(move || {
        let e = optimc::Config::from_json(&json).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
        for toml in [arrays, tables, chains] {
            assert!(optimc::Config::from_toml(&toml).is_err());
        }
    });
}

/// A file of about `bytes` bytes: many groups, `let` lambdas and a schedule that uses them.
fn big_file(bytes: usize) -> String {
    let mut text = String::from("optimizer = adamw(lr = 1e-3, weight_decay = 0.01)\n");
    let mut i = 0;
    while text.len() < bytes / 2 {
        text += &format!(
            "group g{i} {{ params = \"layer{i}.*\", lr = {}e-4, weight_decay = 0.0{} }}\n",
            i % 9 + 1,
            i % 10
        );
        i += 1;
    }
    let mut j = 0;
    while text.len() < bytes {
        text += &format!(
            "let f{j} = e -> if e < {k} then (e + 1) / {k} else 0.5 * (1 + cos(pi * (e - {k}) / 100))\n",
            k = j % 50 + 1
        );
        j += 1;
    }
    text + "schedule = lambda(e -> f1(e) * f2(e))\n"
}

#[test]
fn a_big_file_completes() {
    // 200 KB through each of the 8 readers here, as tests run unoptimized; the README gives
    // release timings for 10 MB.
    let text = big_file(200 << 10);
    through_every_reader("big", text.as_bytes(), |args, code, _, stderr| {
        let expected = if args[0] == "fmt" { 1 } else { 0 };
        let expected = if args[0] == "replay" { 1 } else { expected }; // `w` matches no group
        assert_eq!(code, expected, "{args:?}\n{stderr}");
    });
}

#[test]
fn a_source_over_the_size_limit_is_refused() {
    let text = " ".repeat(optimc::limits::MAX_SOURCE_LEN + 1);
    let (config, diagnostics) = optimc::check_source("huge.optim", &text);
    assert!(config.is_none());
    assert_eq!(
        diagnostics.items[0].code,
        optimc::diagnostic::Code::TooLarge
    );
    // The binary: a diagnostic about the file (exit 1) up to what it reads, then a refusal to
    // read (exit 2); the README's limits table says the same.
    let dir = Scratch::new("huge");
    let huge = dir.file("huge.optim", &text);
    let out = optimc(&["check"], &huge);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("optimc::too_large"));
    let unread = dir.0.join("unread.optim");
    std::fs::File::create(&unread)
        .unwrap()
        .set_len(257 << 20) // sparse: costs no disk
        .unwrap();
    let out = optimc(&["check"], &unread);
    assert_eq!(out.status.code(), Some(2));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| file size |"))
        .expect("the README's limits table has a file size row");
    assert!(
        row.contains("`optimc::too_large`, exit 1")
            && row.contains("256 MiB")
            && row.ends_with("exit 2 |"),
        "the README's file size row disagrees with the binary: {row}"
    );
}

#[test]
fn enormous_numbers_get_diagnostics() {
    let cases: Vec<(String, &str)> = vec![
        (format!("{HEAD}let x = 1e400\n"), "optimc::syntax"),
        (
            format!("{HEAD}let x = {}\n", "9".repeat(400)),
            "optimc::syntax",
        ),
        (
            format!("{HEAD}let x = 1{}\n", "0".repeat(100_000)),
            "optimc::syntax",
        ),
        (
            format!("{HEAD}schedule = lambda(e -> e * 1e999)\n"),
            "optimc::syntax",
        ),
        (
            format!("{HEAD}schedule = multistep(milestones = [1e18])\n"),
            "optimc::out_of_range",
        ),
        (
            format!("{HEAD}schedule = multistep(milestones = [9223372036854775808])\n"),
            "optimc::out_of_range",
        ),
        (
            format!("{HEAD}schedule = multistep(milestones = [18446744073709551616])\n"),
            "optimc::out_of_range",
        ),
        (
            format!("{HEAD}schedule = step(step_size = 1e300)\n"),
            "optimc::out_of_range",
        ),
        (
            format!("{HEAD}schedule = cosine(t_max = 1e20)\n"),
            "optimc::out_of_range",
        ),
        (
            format!("{HEAD}schedule = one_cycle(max_lr = 1, total_steps = 1e19)\n"),
            "optimc::out_of_range",
        ),
    ];
    for (i, (text, code)) in cases.iter().enumerate() {
        let parse_level = *code == "optimc::syntax";
        refused_by(
            &format!("number{i}"),
            text.as_bytes(),
            code,
            parse_level,
            i % 4 == 0,
        );
    }
    // Tiny, long and extreme-but-finite numbers are fine.
    for (i, text) in [
        format!("{HEAD}let x = 0.{}1\n", "0".repeat(100_000)),
        format!("{HEAD}let x = 1.7976931348623157e308\n"),
        format!("{HEAD}schedule = multistep(milestones = [9007199254740992])\n"),
        format!("{HEAD}schedule = step(step_size = 1, gamma = 1e308)\n"),
        format!("{HEAD}schedule = one_cycle(max_lr = 1, total_steps = 9007199254740992)\n"),
        format!("{HEAD}schedule = cyclic(base_lr = 0.1, max_lr = 1e308, step_size_up = 1e300)\n"),
    ]
    .iter()
    .enumerate()
    {
        survives(&format!("finite{i}"), text.as_bytes());
    }
}

#[test]
fn huge_epoch_counts_are_refused() {
    let dir = Scratch::new("epochs");
    let two_groups = dir.file(
        "two.optim",
        format!("{HEAD}group a {{ params = \"a.*\" }}\ngroup b {{ params = \"b.*\" }}\nschedule = step(step_size = 2)\n"),
    );
    for epochs in [
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "1e30",
        "10000001",
        "6000000",
    ] {
        let out = optimc(&["trace", "--epochs", epochs], &two_groups);
        assert_eq!(out.status.code(), Some(2), "--epochs {epochs}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn long_lists_complete() {
    let n = 100_000;
    let milestones: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    let text = format!(
        "{HEAD}schedule = multistep(milestones = [{}], gamma = 0.999)\n",
        milestones.join(", ")
    );
    through(
        "milestones",
        text.as_bytes(),
        false,
        |args, code, _, stderr| {
            assert_eq!(code, 0, "{args:?}\n{stderr}");
        },
    );
    let dir = Scratch::new("milestones_trace");
    let path = dir.file("m.optim", &text);
    let out = optimc(&["trace", "--epochs", "2000", "--format", "csv"], &path);
    assert_eq!(out.status.code(), Some(0));
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(last.starts_with("1999,"), "{last}");
    // A per-group list as long, for one group.
    let lrs = vec!["0.1"; n].join(", ");
    let text = format!("{HEAD}schedule = one_cycle(max_lr = [{lrs}], total_steps = 10)\n");
    refused_by(
        "per_group",
        text.as_bytes(),
        "optimc::group_count_mismatch",
        false,
        false,
    );
}

#[test]
fn nul_bytes_and_invalid_utf8_are_refused() {
    let good = format!("{HEAD}# a comment\nschedule = step(step_size = \"x\")\n").into_bytes();
    let mut cases: Vec<(String, Vec<u8>, &str)> = Vec::new();
    for at in [0, 5, HEAD.len() + 3, good.len() - 5, good.len()] {
        let mut nul = good.clone();
        nul.insert(at, 0);
        cases.push((format!("nul{at}"), nul, "optimc::encoding"));
        for (k, bad) in [
            &[0xff][..],
            &[0xc0, 0xaf],
            &[0x80],
            &[0xed, 0xa0, 0x80],
            &[0xe2, 0x82],
        ]
        .iter()
        .enumerate()
        {
            let mut b = good.clone();
            b.splice(at..at, bad.iter().copied());
            cases.push((format!("utf8_{at}_{k}"), b, "optimc::encoding"));
        }
    }
    cases.push((
        "utf16".into(),
        b"\xff\xfeo\0p\0t\0".to_vec(),
        "optimc::encoding",
    ));
    cases.push(("all_nul".into(), vec![0; 10_000], "optimc::encoding"));
    for (name, bytes, code) in cases {
        refused(&name, &bytes, code);
    }
}

#[test]
fn costly_lambdas_are_bounded() {
    // Too many operations to evaluate each epoch.
    let wide = lambda(&format!("min(e{})", ", e".repeat(20_000)));
    refused_by("wide", wide.as_bytes(), "optimc::too_large", false, false);
    // Each `let` calls the one before twice: the inlined size doubles with every line.
    let mut doubling = String::from(HEAD);
    doubling += "let f0 = e -> e + 1\n";
    for i in 1..60 {
        doubling += &format!("let f{i} = e -> f{p}(f{p}(e))\n", p = i - 1);
    }
    doubling += "schedule = lambda(e -> f59(e))\n";
    invalid("doubling", doubling.as_bytes(), "optimc::too_large");
    // Many `let`s each inlining a big one exhaust the file's budget.
    let mut many = String::from(HEAD);
    many += &format!("let big = e -> min(e{})\n", ", e".repeat(4_000));
    for i in 0..400 {
        many += &format!("let g{i} = e -> big(e) + {i}\n");
    }
    many += "schedule = lambda(e -> g1(e))\n";
    refused_by("budget", many.as_bytes(), "optimc::too_large", false, false);
    // A lambda within the limits, traced for many epochs: refused before the work starts.
    let dir = Scratch::new("costly");
    let big = dir.file(
        "big.optim",
        lambda(&format!("min(e{})", ", e".repeat(4_000))),
    );
    let out = optimc(&["check"], &big);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = optimc(&["trace", "--epochs", "1000000"], &big);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schedule operations"));
    let out = optimc(&["trace", "--epochs", "100"], &big);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn thousands_of_errors_are_capped() {
    let mut text = String::from(HEAD);
    for i in 0..1_500 {
        text += &format!("let a{i} = nofunc{i}(1)\nlet b{i} = undefined{i} + 1\n");
    }
    let cap = optimc::limits::MAX_DIAGNOSTICS;
    through_every_reader("errors", text.as_bytes(), |args, code, stdout, stderr| {
        assert_eq!(code, 1, "{args:?}");
        if args[0] == "check" && args.len() > 1 {
            let items: Vec<serde_json::Value> = serde_json::from_str(stdout).unwrap();
            assert_eq!(items.len(), cap + 1);
            assert!(items[cap]["message"]
                .as_str()
                .unwrap()
                .contains("2900 more diagnostics"));
        } else if args[0] != "fmt" {
            assert_eq!(stderr.matches("optimc::").count(), cap + 1, "{args:?}");
        }
    });
}

#[test]
fn hostile_side_files_are_refused() {
    let dir = Scratch::new("side");
    let plateau = dir.file("plateau.optim", format!("{HEAD}schedule = plateau()\n"));
    let simple = dir.file(
        "simple.optim",
        format!("{HEAD}schedule = step(step_size = 2)\n"),
    );
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    for (i, metrics) in [
        deep.clone(),
        "[1e999]".into(),
        "\0\u{1}".into(),
        "1\n2\nx\n".into(),
    ]
    .iter()
    .enumerate()
    {
        let m = dir.file(&format!("m{i}"), metrics);
        let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .args(["trace", "--epochs", "3", "--metrics"])
            .arg(&m)
            .arg(&plateau)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "metrics {i}");
    }
    let deep_object = format!("{}1{}", "{\"a\": ".repeat(100_000), "}".repeat(100_000));
    for (i, trace) in [
        deep,
        deep_object,
        r#"{"epochs": 1e30, "init": {}, "grads": []}"#.into(),
        r#"{"epochs": 18446744073709551615, "init": {}, "grads": []}"#.into(),
        r#"{"epochs": 1, "init": {"w": [1e300]}, "grads": [{"w": [1]}]}"#.into(),
        "\u{0}".into(),
    ]
    .iter()
    .enumerate()
    {
        let t = dir.file(&format!("t{i}.json"), trace);
        let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .args(["replay", "--trace"])
            .arg(&t)
            .arg(&simple)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "trace {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn endless_input_is_not_read_into_memory() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let out = optimc(&["check"], Path::new("/dev/zero"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than 256 MiB"));
    let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(["fmt", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

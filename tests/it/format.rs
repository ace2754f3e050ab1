//! `optimc fmt`: idempotent, meaning-preserving, and careful with files on disk.

use crate::common::{optim_files, optimc_in, scratch};

/// The error codes of a check, for files that do not check.
fn outcome(name: &str, text: &str) -> (Option<optimc::Config>, Vec<String>) {
    let (config, diagnostics) = optimc::check_source(name, text);
    let mut codes: Vec<String> = diagnostics
        .items
        .iter()
        .map(|d| format!("{:?} {}", d.severity, d.code))
        .collect();
    codes.sort();
    (config, codes)
}

/// Formats `text` twice and checks that the second pass changes nothing and that the formatted
/// text means what the original meant.
fn assert_stable(name: &str, text: &str) -> bool {
    let Ok(once) = optimc::format::format_source(text) else {
        return false;
    };
    let twice = optimc::format::format_source(&once)
        .unwrap_or_else(|e| panic!("{name}: formatted text does not parse:\n{once}\n{e}"));
    assert_eq!(once, twice, "{name}: fmt is not idempotent");
    let (before, before_codes) = outcome(name, text);
    let (after, after_codes) = outcome(name, &once);
    assert_eq!(
        before, after,
        "{name}: the formatted file means something else:\n{once}"
    );
    assert_eq!(
        before_codes, after_codes,
        "{name}: the formatted file checks differently:\n{once}"
    );
    true
}

#[test]
fn every_file_is_formatted_stably_and_keeps_its_meaning() {
    let mut checked = 0;
    for dir in [
        "examples",
        "examples/recipes",
        "tests/conformance/torch",
        "tests/fixtures/invalid",
        "tests/fixtures/warnings",
    ] {
        for path in optim_files(&[dir]) {
            let bytes = std::fs::read(&path).unwrap();
            let Ok(text) = String::from_utf8(bytes) else {
                continue; // the encoding fixture: nothing to format
            };
            let name = path.display().to_string();
            let parses = assert_stable(&name, &text);
            if dir != "tests/fixtures/invalid" {
                assert!(parses, "{name} does not parse");
                // The comments survive, in order.
                let formatted = optimc::format::format_source(&text).unwrap();
                let comments = |t: &str| {
                    optimc::parse::parse(t)
                        .unwrap()
                        .comments
                        .into_iter()
                        .map(|c| c.text.trim_end().to_string())
                        .collect::<Vec<_>>()
                };
                assert_eq!(comments(&text), comments(&formatted), "{name}");
            }
            checked += usize::from(parses);
        }
    }
    assert!(checked > 70, "only {checked} files formatted");
}

#[test]
fn every_parseable_prefix_of_every_example_is_formatted_stably() {
    for path in optim_files(&["examples"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let cuts = (0..text.len())
            .step_by(5)
            .filter(|&i| text.is_char_boundary(i));
        for cut in cuts {
            assert_stable(&format!("{}[..{cut}]", path.display()), &text[..cut]);
        }
    }
}

#[test]
fn the_layout() {
    let source = r#"# header

let warm=5 # epochs
optimizer = adam( # the optimizer
  lr = 1e-3,   # peak
  # betas next
  betas = (0.9, 0.99)
)
group head{params="head.*"
  lr = 2 *
    # moved up: it sits inside arithmetic
    1e-3 }
group rest { params = ["encoder.layer1.*", "encoder.layer2.*", "encoder.layer3.*", "encoder.layer4.*"] }
schedule = sequence(linear(start_factor = 0.01, total_iters = warm), cosine(t_max = 100 - warm, eta_min = 1_000e-9), milestones = [warm])
"#;
    let expected = r#"# header

let warm = 5  # epochs

optimizer = adam(
    # the optimizer
    lr = 1e-3,  # peak
    # betas next
    betas = (0.9, 0.99),
)

# moved up: it sits inside arithmetic
group head { params = "head.*", lr = 2 * 1e-3 }
group rest {
    params = ["encoder.layer1.*", "encoder.layer2.*", "encoder.layer3.*", "encoder.layer4.*"],
}

schedule = sequence(
    linear(start_factor = 0.01, total_iters = warm),
    cosine(t_max = 100 - warm, eta_min = 1_000e-9),
    milestones = [warm],
)
"#;
    assert_eq!(optimc::format::format_source(source).unwrap(), expected);
}

#[test]
fn local_values_go_one_per_line_when_a_lambda_does_not_fit() {
    let source = "let short = e -> let c = e // 10 in c*2\n\
        let f = it -> let e = it % 15 / 15 + it // 15 in let w = e < 2 in if w then e / 2 else 0.5 * (1 + cos(pi * (e - 2) / 8))\n\
        optimizer = sgd(lr = 0.1)\n\
        schedule = lambda(step -> let cycle = step // 1000 in let t = step - 1000 * cycle in 0.5 ** cycle * (1 + cos(pi * t / 1000)))\n";
    let expected = "let short = e -> let c = e // 10 in c * 2
let f = it ->
    let e = it % 15 / 15 + it // 15 in
    let w = e < 2 in
    if w then e / 2 else 0.5 * (1 + cos(pi * (e - 2) / 8))

optimizer = sgd(lr = 0.1)

schedule = lambda(
    step ->
        let cycle = step // 1000 in
        let t = step - 1000 * cycle in
        0.5 ** cycle * (1 + cos(pi * t / 1000)),
)
";
    let formatted = optimc::format::format_source(source).unwrap();
    assert_eq!(formatted, expected);
    assert_eq!(
        optimc::format::format_source(&formatted).unwrap(),
        formatted
    );
}

#[test]
fn parentheses_numbers_and_strings_are_kept_as_written() {
    let source = "optimizer = sgd(lr = (1E-2))\nschedule = lambda(e -> -(2) ** 2 + ((e)) // 3 % 0.5_0)\ngroup g { params = \"a\\\"b\\\\.*\" }\n";
    let formatted = optimc::format::format_source(source).unwrap();
    assert!(formatted.contains("sgd(lr = (1E-2))"), "{formatted}");
    assert!(
        formatted.contains("e -> -(2) ** 2 + ((e)) // 3 % 0.5_0"),
        "{formatted}"
    );
    assert!(formatted.contains(r#"params = "a\"b\\.*""#), "{formatted}");
    let one = optimc::format::format_source("let t = (1,)\noptimizer = sgd()").unwrap();
    assert_eq!(one, "let t = (1,)\n\noptimizer = sgd()\n");
}

#[test]
fn unparseable_text_is_refused_with_diagnostics() {
    let e = optimc::format::format_source("optimizer = sgd(lr = )").unwrap_err();
    assert!(e.has_errors());
    assert_eq!(e.items[0].code, optimc::diagnostic::Code::Syntax);
}

#[test]
fn cli_check_lists_files_that_would_change_and_writes_nothing() {
    let dir = scratch("check");
    std::fs::write(dir.join("ugly.optim"), "optimizer=sgd(lr=0.1)\n").unwrap();
    std::fs::write(dir.join("tidy.optim"), "optimizer = sgd(lr = 0.1)\n").unwrap();
    let out = optimc_in(&dir, &["fmt", "--check", "ugly.optim", "tidy.optim"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ugly.optim\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("ugly.optim")).unwrap(),
        "optimizer=sgd(lr=0.1)\n"
    );
    let out = optimc_in(&dir, &["fmt", "--check", "tidy.optim"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_rewrites_in_place_keeping_permissions_and_nothing_else_in_the_directory() {
    let dir = scratch("write");
    let path = dir.join("ugly.optim");
    std::fs::write(&path, "optimizer=sgd(lr=0.1)\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let out = optimc_in(&dir, &["fmt", "ugly.optim"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "optimizer = sgd(lr = 0.1)\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "a temporary file was left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_never_rewrites_a_file_it_cannot_parse() {
    let dir = scratch("broken");
    let text = "optimizer=sgd(lr=0.1\ngroup g { params = \"x\" }\n";
    std::fs::write(dir.join("broken.optim"), text).unwrap();
    let out = optimc_in(&dir, &["fmt", "broken.optim"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("optimc::syntax"), "{stderr}");
    assert!(stderr.contains("broken.optim"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.optim")).unwrap(),
        text
    );
    let out = optimc_in(&dir, &["fmt", "missing.optim"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_deepest_accepted_nesting_formats() {
    let depth = optimc::limits::MAX_NESTING - 2;
    let parens = format!(
        "optimizer = sgd(lr = {}0.1{})\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let chain = format!(
        "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> {}e)\n",
        "1 + ".repeat(optimc::limits::MAX_TREE_DEPTH - 10)
    );
    let lists = format!(
        "let x = {}1{}\noptimizer = sgd(lr = 0.1)\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    // The parser (pest's recursive descent) needs tens of KB of stack per bracket in
    // unoptimized builds; the release binary parses these on its main thread.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            for text in [parens, chain, lists] {
                optimc::format::format_source(&text).unwrap_or_else(|e| panic!("{e}"));
                assert_stable("deep", &text);
            }
        })
        .unwrap();
    worker.join().unwrap();
}

#[cfg(unix)]
#[test]
fn cli_formats_the_target_of_a_symlink_and_keeps_the_link() {
    let dir = scratch("symlink");
    std::fs::create_dir(dir.join("real")).unwrap();
    std::fs::write(dir.join("real/run.optim"), "optimizer=sgd(lr=0.1)\n").unwrap();
    std::os::unix::fs::symlink("real/run.optim", dir.join("link.optim")).unwrap();
    let out = optimc_in(&dir, &["fmt", "link.optim"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = std::fs::symlink_metadata(dir.join("link.optim")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        std::fs::read_to_string(dir.join("real/run.optim")).unwrap(),
        "optimizer = sgd(lr = 0.1)\n"
    );
    // No temporary file beside the link or the target.
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(dir.join("real")).unwrap())
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["link.optim", "real", "run.optim"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn cli_refuses_to_rewrite_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("readonly");
    let path = dir.join("locked.optim");
    std::fs::write(&path, "optimizer=sgd(lr=0.1)\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Checked by the mode bits: the tests may run as root, whom 0444 does not stop.
    let out = optimc_in(&dir, &["fmt", "locked.optim"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write locked.optim") && stderr.contains("read-only (mode 0444)"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "optimizer=sgd(lr=0.1)\n"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o444
    );
    // Reading it is fine.
    let out = optimc_in(&dir, &["fmt", "--check", "locked.optim"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "locked.optim\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every `.optim` file under `examples/`, at any depth, relative to the root.
fn shipped_examples() -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![crate::common::root().join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "optim") {
                let relative = path.strip_prefix(crate::common::root()).unwrap();
                files.push(relative.to_str().unwrap().to_string());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_shipped_examples_and_the_readme_intro_are_formatted() {
    // What users copy should look like what `optimc fmt` makes of it.
    let files = shipped_examples();
    assert!(files.len() >= 10, "{files:?}");
    let mut args = vec!["fmt", "--check"];
    args.extend(files.iter().map(String::as_str));
    let out = optimc_in(crate::common::root(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "not formatted (run `optimc fmt` on them):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The README's first example is examples/finetune.optim, as formatted.
    let readme = std::fs::read_to_string(crate::common::root().join("README.md")).unwrap();
    let start = readme
        .find("```\n# finetune.optim")
        .expect("the README's intro snippet")
        + "```\n".len();
    let snippet = &readme[start..start + readme[start..].find("```").unwrap()];
    let example =
        std::fs::read_to_string(crate::common::root().join("examples/finetune.optim")).unwrap();
    assert_eq!(snippet, example, "the README's intro snippet");
}

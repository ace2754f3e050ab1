//! Every file in `tests/fixtures/warnings/` is a working configuration with one mistake that
//! `optimc check` warns about; its name starts with the code of that warning. Each is
//! snapshotted as text; every fixture (warnings and `invalid/`) is snapshotted as JSON, as
//! editors and CI read it. Together they cover every diagnostic code.

use optimc::diagnostic::{Code, Severity};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn optimc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "optim"))
        .collect();
    files.sort();
    files
}

#[test]
fn warning_fixtures_render_helpful_warnings() {
    insta::glob!(
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/warnings/*.optim",
        |path| {
            let bytes = std::fs::read(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy();
            let (config, diagnostics) = optimc::check_bytes(&name, &bytes);
            assert!(config.is_some(), "{name} was refused:\n{diagnostics}");
            assert!(!diagnostics.has_errors(), "{name}: errors");
            let warnings: Vec<_> = diagnostics.warnings().collect();
            assert!(!warnings.is_empty(), "{name}: no warning");
            for w in &warnings {
                assert!(
                name.starts_with(w.code.name()),
                "{name}: one mistake per fixture, named after its code, but it also warns `{}`: {}",
                w.code,
                w.message
            );
                assert!(w.help.is_some(), "{name}: `{}` has no help line", w.message);
                assert!(!w.label.is_empty(), "{name}: `{}` has no label", w.message);
                assert!(
                    w.span.end <= diagnostics.source.len() && !w.span.is_empty(),
                    "{name}: bad span {:?}",
                    w.span
                );
            }
            insta::assert_snapshot!(diagnostics.render(false, 100));
        }
    );
}

/// The invalid fixtures whose JSON is snapshotted: one per error code (with the warning
/// fixtures, every code). Every other fixture's JSON is checked field by field, not
/// snapshotted, so that new fixtures need only their text snapshot.
const JSON_SNAPSHOTS: &[&str] = &[
    "average_unknown_kind.optim",
    "bool_written_as_number.optim",
    "cycle_momentum_adagrad.optim",
    "duplicate_argument.optim",
    "duplicate_field.optim",
    "duplicate_let.optim",
    "duplicate_schedule.optim",
    "encoding_latin1.optim",
    "group_count_mismatch.optim",
    "lambda_given_number.optim",
    "milestone_count.optim",
    "missing_argument.optim",
    "missing_optimizer.optim",
    "missing_params.optim",
    "not_an_integer.optim",
    "out_of_range_factor.optim",
    "positional_after_named.optim",
    "syntax_colon_instead_of_equals.optim",
    "too_deep.optim",
    "undefined_name.optim",
    "unknown_enum_value.optim",
    "unknown_function_in_lambda.optim",
    "unknown_optimizer.optim",
    "unknown_option_typo.optim",
    "unknown_schedule_torch_name.optim",
    "used_before_definition.optim",
    "wrong_arity.optim",
];

/// `optimc check --format json` on every fixture, invalid and warnings alike.
#[test]
fn every_fixture_as_json() {
    for dir in ["invalid", "warnings"] {
        for path in fixtures(dir) {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let rel = format!("tests/fixtures/{dir}/{name}");
            let out = optimc(&["check", "--format", "json", &rel]);
            let expected = if dir == "invalid" { 1 } else { 0 };
            assert_eq!(out.status.code(), Some(expected), "{rel}");
            let stdout = String::from_utf8(out.stdout).unwrap();
            let items: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
            assert!(!items.is_empty(), "{rel}: no diagnostics");
            for item in &items {
                for field in [
                    "code", "severity", "message", "file", "line", "column", "span", "label",
                    "help",
                ] {
                    assert!(item.get(field).is_some(), "{rel}: no `{field}` in {item}");
                }
                assert!(item["code"].as_str().unwrap().starts_with("optimc::"));
                assert!(item["help"].is_string(), "{rel}: no help in {item}");
                assert!(
                    !item["label"].as_str().unwrap().is_empty(),
                    "{rel}: no label in {item}"
                );
                assert_eq!(item["file"], rel.as_str());
            }
            let positions: Vec<(u64, u64)> = items
                .iter()
                .map(|i| (i["line"].as_u64().unwrap(), i["column"].as_u64().unwrap()))
                .collect();
            assert!(
                positions.windows(2).all(|w| w[0] <= w[1]),
                "{rel}: not sorted by position: {positions:?}"
            );
            if dir == "warnings" || JSON_SNAPSHOTS.contains(&name.as_str()) {
                insta::assert_snapshot!(format!("json@{dir}__{name}"), stdout);
            }
        }
    }
}

#[test]
fn every_code_has_a_json_snapshot() {
    let mut seen = BTreeSet::new();
    for path in fixtures("warnings")
        .into_iter()
        .chain(JSON_SNAPSHOTS.iter().map(|name| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/invalid")
                .join(name)
        }))
    {
        let bytes = std::fs::read(&path).unwrap();
        let (_, diagnostics) = optimc::check_bytes("fixture.optim", &bytes);
        seen.extend(diagnostics.items.iter().map(|d| d.code));
    }
    let missing: Vec<Code> = Code::ALL
        .iter()
        .copied()
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a JSON snapshot: {missing:?}"
    );
}

#[test]
fn every_code_has_a_fixture() {
    let mut seen = BTreeSet::new();
    let mut count = 0;
    for dir in ["invalid", "warnings"] {
        for path in fixtures(dir) {
            let bytes = std::fs::read(&path).unwrap();
            let (_, diagnostics) = optimc::check_bytes("fixture.optim", &bytes);
            seen.extend(diagnostics.items.iter().map(|d| d.code));
            count += 1;
        }
    }
    let missing: Vec<Code> = Code::ALL
        .iter()
        .copied()
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
    assert!(count >= 60, "only {count} fixtures");
}

#[test]
fn warnings_exit_0_unless_denied() {
    let file = "tests/fixtures/warnings/unused_let_warmup.optim";
    let out = optimc(&["check", file]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("optimc::unused_let"), "{stderr}");
    assert!(stderr.contains("help:"), "{stderr}");
    assert!(stderr.contains(&format!("{file}:2:5")), "{stderr}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("ok: {file} (1 warning)\n")
    );
    let denied = optimc(&["check", "--deny-warnings", file]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(denied.stdout.is_empty(), "a denied file is not ok");
    // A clean file passes either way, in one line; `-q` leaves that line out.
    let clean = optimc(&["check", "--deny-warnings", "examples/finetune.optim"]);
    assert_eq!(clean.status.code(), Some(0));
    assert!(clean.stderr.is_empty());
    assert_eq!(clean.stdout, b"ok: examples/finetune.optim\n");
    let quiet = optimc(&["check", "-q", "examples/finetune.optim"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
    let invalid = optimc(&["check", "tests/fixtures/invalid/negative_lr.optim"]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(invalid.stdout.is_empty(), "a file with errors is not ok");
}

#[test]
fn output_to_a_pipe_is_plain_text() {
    // NO_COLOR is not set here: stderr is a pipe, which alone must turn colour off.
    let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(["check", "examples/seed_sin_over_epoch.optim"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("non_finite_lr"), "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "escape codes in piped output: {stderr:?}"
    );
}

/// The seed example from the issue: `optimc check` names epoch 0 and the 0/0.
#[test]
fn the_seed_lambda_warns_about_epoch_0() {
    let path = "examples/seed_sin_over_epoch.optim";
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let (config, diagnostics) = optimc::check_source(path, &source);
    assert!(config.is_some());
    let first = diagnostics.items.first().unwrap();
    assert_eq!(first.code, Code::NonFiniteLr);
    assert_eq!(first.severity, Severity::Warning);
    assert_eq!(
        first.message,
        "the lr of groups `base` and `classifier` becomes NaN at epoch 0"
    );
    assert_eq!(
        &source[first.span.start..first.span.end],
        "sin(epoch) / epoch"
    );
    assert!(first.label.contains("0 / 0"), "{}", first.label);
}

/// Every example but the seed that exists to show a warning checks without one.
#[test]
fn examples_have_no_warnings() {
    for path in fixtures("../../examples") {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let (config, diagnostics) = optimc::check_bytes(&name, &bytes);
        assert!(config.is_some(), "{name}");
        let codes: BTreeSet<Code> = diagnostics.items.iter().map(|d| d.code).collect();
        if name == "seed_sin_over_epoch.optim" {
            assert!(codes.contains(&Code::NonFiniteLr), "{name}: {codes:?}");
        } else {
            assert!(codes.is_empty(), "{name}:\n{diagnostics}");
        }
    }
}

#[test]
fn the_horizon_bounds_the_analysis() {
    // `polynomial` reaches 0 at epoch 5: within the default horizon (100) that is a warning,
    // but a run of 5 epochs (0 to 4) never sees it.
    let file = "tests/fixtures/warnings/lr_stays_zero_polynomial_default_total.optim";
    let default = optimc(&["check", "--deny-warnings", file]);
    assert_eq!(default.status.code(), Some(1));
    let stderr = String::from_utf8(default.stderr).unwrap();
    assert!(
        stderr.contains("until the end of the horizon (epoch 99)"),
        "{stderr}"
    );
    let short = optimc(&["check", "--deny-warnings", "--horizon", "5", file]);
    assert_eq!(short.status.code(), Some(0), "{short:?}");
    let long = optimc(&["check", "--horizon", "1000", file]);
    let stderr = String::from_utf8(long.stderr).unwrap();
    assert!(stderr.contains("(epoch 999)"), "{stderr}");
    // More than the cap is refused as a bad flag.
    let too_long = optimc(&["check", "--horizon", "1000001", file]);
    assert_eq!(too_long.status.code(), Some(2));
    let stderr = String::from_utf8(too_long.stderr).unwrap();
    assert!(stderr.contains("1..=1000000"), "{stderr}");
    let zero = optimc(&["check", "--horizon", "0", file]);
    assert_eq!(zero.status.code(), Some(2));
}

#[test]
fn the_default_horizon_covers_the_file() {
    use optimc::analysis::{default_horizon, MIN_HORIZON};
    use optimc::limits::MAX_HORIZON;
    let horizon = |schedule: &str| {
        let source = format!("optimizer = sgd(lr = 0.1)\nschedule = {schedule}");
        default_horizon(&optimc::Config::from_source("h.optim", &source).unwrap())
    };
    assert_eq!(horizon("step(step_size = 30)"), MIN_HORIZON);
    assert_eq!(horizon("cosine(t_max = 300)"), 301);
    assert_eq!(
        horizon("sequence(linear(total_iters = 10), cosine(t_max = 290), milestones = [10])"),
        301
    );
    assert_eq!(
        horizon("one_cycle(max_lr = 1, epochs = 30, steps_per_epoch = 100)"),
        3001
    );
    assert_eq!(horizon("multistep(milestones = [30, 250])"), 251);
    assert_eq!(
        horizon("one_cycle(max_lr = 1, total_steps = 50000000)"),
        MAX_HORIZON
    );
}

/// Errors and warnings of one file come in one run, told apart and sorted by position.
#[test]
fn errors_and_warnings_together_sorted_by_position() {
    let source = "optimizer = adam(lr = 1e-3, eps = 1e-8, weight_decay = -1)\n\
                  group head { params = \"head.*\", lr = 1e-3 }\n\
                  group body { params = \"body.*\", betas = (0.9, 0.999, 0.9) }\n";
    let (config, diagnostics) = optimc::check_source("mixed.optim", source);
    assert!(config.is_none());
    let found: Vec<(Code, Severity)> = diagnostics
        .items
        .iter()
        .map(|d| (d.code, d.severity))
        .collect();
    assert_eq!(
        found,
        [
            (Code::RedundantOption, Severity::Warning),
            (Code::OutOfRange, Severity::Error),
            (Code::TypeMismatch, Severity::Error),
        ]
    );
    let starts: Vec<usize> = diagnostics.items.iter().map(|d| d.span.start).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    let text = diagnostics.render(false, 100);
    assert!(
        text.contains("⚠ `eps = 1e-8` is already Adam's default"),
        "{text}"
    );
    assert!(text.contains("× "), "{text}");
}

/// Generated files far larger than any real one: the lints and the analysis stay bounded (this
/// test would hang, not fail, if they were quadratic or unbounded), and a warning on a line too
/// long to show is still rendered (miette alone panics past column 65535).
#[test]
fn huge_files_are_analysed_within_bounds() {
    use std::fmt::Write;
    let mut groups = String::from("optimizer = sgd(lr = 0.1)\n");
    for i in 0..2000 {
        writeln!(groups, "group g{i} {{ params = \"layer{i}.*\" }}").unwrap();
    }
    let (config, _) = optimc::check_source("groups.optim", &groups);
    assert!(config.is_some());

    let milestones: Vec<String> = (0..20_000).map(|i| (10_000 + i).to_string()).collect();
    let source = format!(
        "optimizer = sgd(lr = 0.1)\nschedule = multistep(milestones = [{}, 5, 5])",
        milestones.join(", ")
    );
    let (_, diagnostics) = optimc::check_source("milestones.optim", &source);
    let codes: BTreeSet<Code> = diagnostics.items.iter().map(|d| d.code).collect();
    assert!(codes.contains(&Code::UnsortedMilestones), "{codes:?}");
    assert!(codes.contains(&Code::DuplicateMilestone), "{codes:?}");
    let text = diagnostics.render(false, 100);
    assert!(
        text.contains("milestones.optim:2:140036]") && text.contains("too long to show"),
        "{}",
        &text[..text.len().min(2000)]
    );

    // A mistake at the start of a long line: the line is not shown either.
    let source = format!(
        "optimizer = sgd(lr = 0.1)\nschedule = multistep(milestones = [7, 7, {}])",
        milestones.join(", ")
    );
    let (_, diagnostics) = optimc::check_source("early.optim", &source);
    let text = diagnostics.render(false, 100);
    assert!(
        text.contains("early.optim:2:") && text.contains("too long to show") && text.len() < 2000,
        "{}",
        &text[..text.len().min(2000)]
    );

    let mut source = String::from(
        "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\" }\nschedule = chain(step(step_size = 1000000)",
    );
    for _ in 0..1000 {
        source.push_str(",\n    exponential(gamma = 1)");
    }
    source.push_str(",\n    lambda(e -> 1 / e),\n)\n");
    let (config, diagnostics) = optimc::check_source("chain.optim", &source);
    assert!(config.is_some());
    let inf = diagnostics
        .items
        .iter()
        .find(|d| d.code == Code::NonFiniteLr)
        .unwrap();
    assert_eq!(
        inf.message,
        "the lr of groups `a` and `b` becomes infinite at epoch 0"
    );
    assert_eq!(&source[inf.span.start..inf.span.end], "1 / e");
}

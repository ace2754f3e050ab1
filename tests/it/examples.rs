//! Every `examples/*.optim` checks cleanly, and its `optimc trace` output is snapshotted.

use std::path::Path;
use std::process::Command;

fn optimc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn examples_trace() {
    insta::glob!(env!("CARGO_MANIFEST_DIR"), "examples/*.optim", |path| {
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .to_string_lossy()
            .to_string();
        let check = optimc(&["check", &rel]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{rel}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let source = std::fs::read_to_string(path).unwrap();
        let mut args = vec!["trace", rel.as_str(), "--epochs", "60"];
        if source.contains("plateau(") {
            args.extend(["--metrics", "examples/val_loss.txt"]);
        }
        let out = optimc(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
    });
}

#[test]
fn trace_formats_agree() {
    let json = optimc(&[
        "trace",
        "examples/finetune.optim",
        "--epochs",
        "35",
        "--format",
        "json",
    ]);
    assert_eq!(json.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["groups"], serde_json::json!(["base", "classifier"]));
    let base = value["lr"][0].as_array().unwrap();
    assert_eq!(base.len(), 35);
    assert_eq!(base[29].as_f64(), Some(0.01));
    assert!((base[30].as_f64().unwrap() - 0.001).abs() < 1e-15);
    assert!(value["momentum"].is_null());

    let csv = optimc(&[
        "trace",
        "examples/finetune.optim",
        "--epochs",
        "35",
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("epoch,base_lr,classifier_lr"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 35);
    for (row, expected) in rows.iter().zip(base) {
        let lr: f64 = row.split(',').nth(1).unwrap().parse().unwrap();
        assert_eq!(lr, expected.as_f64().unwrap());
    }
}

#[test]
fn momentum_is_traced_where_cycled() {
    let out = optimc(&[
        "trace",
        "examples/one_cycle.optim",
        "--epochs",
        "5",
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let momentum = value["momentum"][0]
        .as_array()
        .expect("momentum of group 0");
    assert_eq!(momentum[0].as_f64(), Some(0.95));
}

#[test]
fn exit_codes() {
    assert_eq!(
        optimc(&["check", "examples/does_not_exist.optim"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        optimc(&["check", "--no-such-flag", "examples/finetune.optim"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        optimc(&["trace", "examples/finetune.optim"]).status.code(),
        Some(2),
        "--epochs is required"
    );
    let no_metrics = optimc(&["trace", "examples/plateau_val_loss.optim", "--epochs", "10"]);
    assert_eq!(no_metrics.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_metrics.stderr).contains("--metrics"));
    let invalid = Path::new("tests/fixtures/invalid/undefined_name.optim");
    assert_eq!(
        optimc(&["trace", invalid.to_str().unwrap(), "--epochs", "3"])
            .status
            .code(),
        Some(1)
    );
    let both = optimc(&[
        "check",
        "examples/finetune.optim",
        "tests/fixtures/invalid/undefined_name.optim",
    ]);
    assert_eq!(both.status.code(), Some(1));
}

//! `run = per_step(...)` / `run = per_epoch(...)`: the commands read the run's unit and length
//! from the file (trace and plot need no `--epochs`, an explicit one still wins), label their
//! output with the unit, and the library's `Trainer` steps the schedule where the file says.

use crate::common::{root, scratch};
use optimc::error::ErrorKind;
use optimc::optim::ParamMut;
use optimc::{Config, Stepping, Trainer};
use std::process::{Command, Output};

const FILE: &str = "tests/fixtures/run/per_step_linear.optim";

fn optimc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = optimc(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn trace_reads_the_declared_run_and_says_step() {
    insta::assert_snapshot!("trace_table", stdout(&["trace", FILE]));
    insta::assert_snapshot!("trace_csv", stdout(&["trace", FILE, "--format", "csv"]));
    insta::assert_snapshot!("trace_json", stdout(&["trace", FILE, "--format", "json"]));
    // An explicit length wins, under either name.
    let csv = stdout(&["trace", FILE, "--steps", "2", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert_eq!(
        csv,
        stdout(&["trace", FILE, "--epochs", "2", "--format", "csv"])
    );
}

#[test]
fn without_a_declared_length_trace_asks_for_one() {
    let out = optimc(&["trace", "examples/finetune.optim"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pass --epochs N"), "{stderr}");
    assert!(stderr.contains("run = per_epoch(epochs = N)"), "{stderr}");
}

#[test]
fn plot_labels_the_axis_with_the_unit() {
    let dir = scratch("run-units");
    let svg = dir.join("p.svg");
    stdout(&["plot", FILE, "-o", svg.to_str().unwrap()]);
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(texts.iter().any(|t| t.starts_with("step")), "{texts:?}");
    assert!(!texts.iter().any(|t| t.starts_with("epoch")), "{texts:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn export_keeps_the_declaration() {
    let json = stdout(&["export", FILE, "--to", "json"]);
    assert!(
        json.contains("\"run\": {\n    \"stepping\": \"per_step\",\n    \"epochs\": 2,\n    \"steps_per_epoch\": 3\n  }"),
        "{json}"
    );
    let config = Config::from_path(root().join(FILE)).unwrap();
    assert_eq!(Config::from_json(&json).unwrap(), config);
    let toml = stdout(&["export", FILE, "--to", "toml"]);
    assert_eq!(Config::from_toml(&toml).unwrap(), config);
    let py = stdout(&["export", FILE, "--to", "pytorch"]);
    assert!(
        py.contains("after every batch (`run = per_step(epochs = 2, steps_per_epoch = 3)`)"),
        "{py}"
    );
    // Numbers that disagree are refused on the way in too.
    let bad = json.replace("\"epochs\": 2", "\"epochs\": 2,\n    \"steps\": 7");
    let err = Config::from_json(&bad).unwrap_err();
    assert!(err.to_string().contains("steps_per_epoch"), "{err}");
}

#[test]
fn the_trainer_steps_the_schedule_where_the_file_says() {
    let config = Config::from_path(root().join(FILE)).unwrap();
    assert_eq!(config.stepping(), Stepping::PerStep);
    assert_eq!(config.run_length(), Some(6));
    let mut trainer = Trainer::new(&config, &[("w", 1)]).unwrap();
    assert_eq!(trainer.stepping(), Stepping::PerStep);
    let mut w = [0.0f32];
    let mut lrs = Vec::new();
    for _epoch in 0..2 {
        for _batch in 0..3 {
            lrs.push(trainer.lrs()[0]);
            trainer
                .step(&mut [ParamMut::named("w", &mut w, &[1.0])])
                .unwrap();
            trainer.end_batch().unwrap();
        }
        trainer.end_epoch().unwrap();
    }
    let trace = optimc::trace::Trace::record(&config, 6, None).unwrap();
    assert_eq!(lrs, trace.lr[0]);
    // A loop written for per-epoch stepping would never step this schedule: an error.
    let before = trainer.lrs()[0];
    let err = trainer.end_epoch().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::BatchesNotEnded), "{err}");
    assert_eq!(trainer.lrs()[0], before);

    // Stepped per epoch (the default), end_batch only counts and end_epoch steps.
    let per_epoch = Config::from_source(
        "e.optim",
        "optimizer = sgd(lr = 1)\nschedule = step(step_size = 1, gamma = 0.5)",
    )
    .unwrap();
    let mut trainer = Trainer::new(&per_epoch, &[("w", 1)]).unwrap();
    assert_eq!(trainer.stepping(), Stepping::PerEpoch);
    trainer.end_batch().unwrap();
    trainer.end_batch().unwrap();
    assert_eq!(trainer.lrs(), [1.0]);
    trainer.end_epoch().unwrap();
    assert_eq!(trainer.lrs(), [0.5]);
    // step_schedule steps now, whatever the file says.
    trainer.step_schedule().unwrap();
    assert_eq!(trainer.lrs(), [0.25]);
}

#[test]
fn a_plateau_is_not_stepped_without_its_metric() {
    let config = Config::from_source(
        "p.optim",
        "optimizer = sgd(lr = 1)\nschedule = plateau(patience = 0)",
    )
    .unwrap();
    let mut schedule = optimc::Schedule::new(&config);
    let err = schedule.step().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::MetricNeeded), "{err}");
    assert!(err.to_string().contains("plateau"), "{err}");
    assert_eq!(schedule.epoch(), 0);
    assert_eq!(schedule.lrs(), [1.0]);
    let mut trainer = Trainer::new(&config, &[("w", 1)]).unwrap();
    assert!(trainer.step_schedule().is_err());
    trainer.step_schedule_with(1.0);
    assert_eq!(trainer.epoch(), 1);
}

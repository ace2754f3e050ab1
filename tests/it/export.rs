//! `optimc export`: JSON and TOML read back to the same configuration and the same lrs; hand-written
//! files with bad values are refused with diagnostics.

use crate::common::{example_and_conformance_files, optim_files};
use optimc::{Config, Schedule};
use std::path::Path;
use std::process::Command;

/// A validation loss that falls, stalls and rises, so that `plateau` acts.
fn metric(epoch: usize) -> f64 {
    let e = epoch as f64;
    1.0 / (1.0 + e / 7.0) + 0.05 * ((e / 9.0).sin()).abs()
}

/// Every group's lr (and momentum) at each of 200 epochs, as bits.
fn lr_bits(config: &Config) -> Vec<u64> {
    let mut schedule = Schedule::new(config);
    let mut out = Vec::new();
    for epoch in 0..200 {
        for (g, lr) in schedule.lrs().iter().enumerate() {
            out.push(lr.to_bits());
            out.push(schedule.momentum(g).map_or(u64::MAX, f64::to_bits));
        }
        if schedule.needs_metric() {
            schedule.step_with(metric(epoch));
        } else {
            schedule.step().unwrap();
        }
    }
    out
}

#[test]
fn json_and_toml_round_trip_every_example_and_conformance_case() {
    let issue_15 = optim_files(&["tests/conformance/optimizers"]);
    for path in example_and_conformance_files().into_iter().chain(issue_15) {
        let name = path.display().to_string();
        let config = Config::from_path(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bits = lr_bits(&config);
        let json = optimc::export::to_json(&config);
        let back = Config::from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}\n{json}"));
        assert_eq!(back, config, "{name} (json)");
        assert_eq!(lr_bits(&back), bits, "{name} (json lrs)");
        let toml = optimc::export::to_toml(&config);
        let back = Config::from_toml(&toml).unwrap_or_else(|e| panic!("{name}: {e}\n{toml}"));
        assert_eq!(back, config, "{name} (toml)");
        assert_eq!(lr_bits(&back), bits, "{name} (toml lrs)");
    }
}

fn finetune_toml() -> String {
    let config = Config::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plateau_val_loss.optim"),
    )
    .unwrap();
    optimc::export::to_toml(&config)
}

fn refusal(text: &str) -> String {
    let e = Config::from_toml(text).expect_err("bad values must be refused");
    let e = e.diagnostics().expect("a refused file has diagnostics");
    assert!(e.has_errors());
    e.render(false, 100)
}

#[test]
fn the_toml_shape_is_readable() {
    let text = finetune_toml();
    assert!(text.starts_with("optimizer = \"sgd\"\n"), "{text}");
    // Only the options SGD takes: no `betas`, no `amsgrad`.
    assert!(text.contains("[defaults]\nlr = "), "{text}");
    assert!(
        !text.contains("betas") && !text.contains("amsgrad"),
        "{text}"
    );
    assert!(
        text.contains("[schedule]\nkind = \"plateau\"\nmode = \"min\""),
        "{text}"
    );
    assert!(
        text.contains("min_lr = [1e-7, 1e-6]") || text.contains("min_lr = [0.0000001, 0.000001]"),
        "{text}"
    );
    let config = Config::from_source(
        "l.optim",
        "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> if e < 5 then (e + 1) / 5 else 0.95 ** (e - 5))",
    )
    .unwrap();
    let toml = optimc::export::to_toml(&config);
    assert!(
        toml.contains("lr_lambda = \"e -> if e < 5 then (e + 1) / 5 else 0.95 ** (e - 5)\""),
        "{toml}"
    );
}

#[test]
fn hand_written_values_are_checked() {
    let text = finetune_toml();
    // A per-group list of the wrong length.
    let r = refusal(&text.replace("min_lr = [", "min_lr = [0.5, "));
    assert!(
        r.contains("group_count_mismatch") && r.contains("3 entries but there are 2 groups"),
        "{r}"
    );
    // A count that is not whole.
    let r = refusal(&text.replace("patience = 3", "patience = 3.5"));
    assert!(
        r.contains("patience") || r.contains("u64") || r.contains("integer"),
        "{r}"
    );
    assert!(
        r.contains("3.5") && r.contains("[schedule]"),
        "the caret shows the table: {r}"
    );
    // PyTorch's optimizer checks.
    let r = refusal(&text.replacen("momentum = 0.9", "momentum = -0.9", 1));
    assert!(r.contains("out_of_range") && r.contains("momentum"), "{r}");
    // A schedule range the checker enforces.
    let r = refusal(&text.replace("factor = 0.5", "factor = 1.5"));
    assert!(r.contains("`factor` must be less than 1, not 1.5"), "{r}");
    // An unknown enum word and a bad lambda.
    let r = refusal(&text.replace("mode = \"min\"", "mode = \"smallest\""));
    assert!(r.contains("smallest"), "{r}");
    // Momentum cycling needs an optimizer with momentum or betas.
    let cyclic = Config::from_source(
        "c.optim",
        "optimizer = sgd(lr = 0.1, momentum = 0.9)\nschedule = cyclic(base_lr = 0.01, max_lr = 0.1)",
    )
    .unwrap();
    let toml =
        optimc::export::to_toml(&cyclic).replace("optimizer = \"sgd\"", "optimizer = \"adagrad\"");
    let r = refusal(&toml);
    assert!(
        r.contains("invalid_combination") && r.contains("adagrad has neither"),
        "{r}"
    );
    // So does warming it up, within `0 <= m < 1`, and as the only part that sets momentum.
    let warm = Config::from_source(
        "w.optim",
        "optimizer = sgd(lr = 0.1, momentum = 0.9)\n\
         schedule = warmup(steps = 5, then = cosine(t_max = 10), start_momentum = 0.8)",
    )
    .unwrap();
    let toml = optimc::export::to_toml(&warm);
    assert!(toml.contains("start_momentum = 0.8"), "{toml}");
    assert_eq!(Config::from_toml(&toml).unwrap(), warm);
    let r = refusal(&toml.replace("optimizer = \"sgd\"", "optimizer = \"adagrad\""));
    assert!(
        r.contains("start_momentum") && r.contains("adagrad has neither"),
        "{r}"
    );
    let r = refusal(&toml.replace("start_momentum = 0.8", "start_momentum = 1.0"));
    assert!(
        r.contains("`start_momentum` must be at least 0 and less than 1, not 1"),
        "{r}"
    );
    let both = Config::from_source(
        "b.optim",
        "optimizer = sgd(lr = 0.1, momentum = 0.9)\n\
         schedule = warmup(steps = 5, then = cyclic(base_lr = 0.01, max_lr = 0.1, cycle_momentum = false), start_momentum = 0.8)",
    )
    .unwrap();
    let toml =
        optimc::export::to_toml(&both).replace("cycle_momentum = false", "cycle_momentum = true");
    let r = refusal(&toml);
    assert!(
        r.contains("a warmup has `start_momentum` but 1 other part of the same schedule"),
        "{r}"
    );
    // A misspelt option is refused, not ignored.
    let r = refusal("optimizer = \"sgd\"\n[defaults]\nlr = 0.1\nmomentun = 0.9\n");
    assert!(
        r.contains("unknown field `momentun`") && r.contains("momentun = 0.9"),
        "{r}"
    );
    // A schedule argument left out.
    let r = refusal("optimizer = \"sgd\"\n[schedule]\nkind = \"step\"\nstep_size = 3\n");
    assert!(r.contains("missing field `gamma`"), "{r}");
}

/// A group's `lr_scale` is written only where it is not 1, read back, and checked.
#[test]
fn lr_scale_round_trips_and_is_checked() {
    let config = Config::from_source(
        "l.optim",
        "optimizer = adamw(lr = 1e-3)\ngroup low { params = \"a.*\", lr_scale = 0.75 ** 2 }\ngroup rest { params = \"*\" }",
    )
    .unwrap();
    let toml = optimc::export::to_toml(&config);
    assert_eq!(toml.matches("lr_scale").count(), 1, "{toml}");
    assert!(toml.contains("lr_scale = 0.5625"), "{toml}");
    assert_eq!(Config::from_toml(&toml).unwrap(), config);
    let json = optimc::export::to_json(&config);
    assert_eq!(Config::from_json(&json).unwrap(), config);
    let r = refusal(&toml.replace("lr_scale = 0.5625", "lr_scale = -0.5625"));
    assert!(
        r.contains("out_of_range") && r.contains("`lr_scale` must be a finite number >= 0"),
        "{r}"
    );
}

#[test]
fn hand_written_files_may_leave_options_out() {
    let toml = r#"
optimizer = "sgd"

[defaults]
lr = 0.1
momentum = 0.9

[[groups]]
name = "backbone"
params = ["backbone.*"]
options = { lr = 0.01 }

[[groups]]
name = "head"
params = ["head.*"]

[schedule]
kind = "multistep"
milestones = [30, 80]
gamma = 0.1
"#;
    let source = "optimizer = sgd(lr = 0.1, momentum = 0.9)\n\
                  group backbone { params = \"backbone.*\", lr = 0.01 }\n\
                  group head { params = \"head.*\" }\n\
                  schedule = multistep([30, 80])";
    let expected = Config::from_source("m.optim", source).unwrap();
    assert_eq!(Config::from_toml(toml).unwrap(), expected);
    let json = r#"{"optimizer": "adam", "schedule": {"kind": "exponential", "gamma": 0.9}}"#;
    let expected =
        Config::from_source("m.optim", "optimizer = adam()\nschedule = exponential(0.9)").unwrap();
    assert_eq!(Config::from_json(json).unwrap(), expected);
}

/// Issue 15's options as written by hand: `none` as JSON's null or TOML's "none", choices as
/// strings, checked as the checker checks them.
#[test]
fn hand_written_none_choices_and_tuples() {
    let toml = r#"
optimizer = "muon"

[defaults]
lr = 0.02
adjust_lr_fn = "match_rms_adamw"
ns_coefficients = [3.0, -3.2, 1.2]
ns_steps = 3

[[groups]]
name = "all"
params = ["*"]
options = { adjust_lr_fn = "none" }
"#;
    let source = "optimizer = muon(lr = 0.02, adjust_lr_fn = \"match_rms_adamw\", ns_coefficients = (3, -3.2, 1.2), ns_steps = 3)\n\
                  group all { params = \"*\", adjust_lr_fn = none }";
    let expected = Config::from_source("m.optim", source).unwrap();
    assert_eq!(Config::from_toml(toml).unwrap(), expected);
    let json = r#"{"optimizer": "lamb", "defaults": {"max_grad_norm": null}}"#;
    let expected =
        Config::from_source("l.optim", "optimizer = lamb(max_grad_norm = none)").unwrap();
    assert_eq!(Config::from_json(json).unwrap(), expected);
    let json = r#"{"optimizer": "adafactor", "defaults": {"adafactor_eps": [null, 0.01]}}"#;
    let expected =
        Config::from_source("a.optim", "optimizer = adafactor(eps = (none, 0.01))").unwrap();
    assert_eq!(Config::from_json(json).unwrap(), expected);
    // Out of range, refused with PyTorch's rule; an unknown choice is a serde error.
    let err = refusal("optimizer = \"rprop\"\n[defaults]\netas = [1.2, 0.5]\n");
    assert!(err.contains("0 < etas[0] < 1 < etas[1]"), "{err}");
    let err = Config::from_json(r#"{"optimizer": "muon", "defaults": {"adjust_lr_fn": "foo"}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("foo"), "{err}");
}

#[test]
fn bad_lambdas_and_json_errors_point_at_the_text() {
    let config = Config::from_source(
        "l.optim",
        "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 0.9 ** e)",
    )
    .unwrap();
    let json = optimc::export::to_json(&config);
    let e = Config::from_json(&json.replace("0.9 ** e", "0.9 ** x")).unwrap_err();
    let r = e.to_string();
    assert!(r.contains("invalid lambda"), "{r}");
    let e = Config::from_json("{\"optimizer\": \"sgd\",}").unwrap_err();
    let e = e.diagnostics().unwrap();
    assert!(e.items[0].span.start > 0, "{:?}", e.items);
    let e = Config::from_json(&json.replace("\"kind\": \"lambda\"", "\"kind\": \"lambada\""))
        .unwrap_err();
    assert!(e.to_string().contains("lambada"));
}

#[test]
fn cli_prints_json_and_toml() {
    for to in ["json", "toml"] {
        let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .args(["export", "examples/finetune.optim", "--to", to])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        let back = if to == "json" {
            Config::from_json(&text)
        } else {
            Config::from_toml(&text)
        }
        .unwrap();
        assert_eq!(back, Config::from_path("examples/finetune.optim").unwrap());
    }
}

/// `export --to toml` writes, in `[defaults]` and every group's options, exactly the options the
/// optimizer takes; reading it back gives the same configuration (the rest are held values).
#[test]
fn toml_holds_only_the_options_the_optimizer_takes() {
    use optimc::config::OptimizerKind;
    for kind in OptimizerKind::ALL {
        let source = format!(
            "optimizer = {}(lr = 0.01)\ngroup a {{ params = \"a.*\", lr = 0.001 }}\ngroup b {{ params = \"*\" }}\n",
            kind.name()
        );
        let config = Config::from_source("t.optim", &source).unwrap();
        let text = optimc::export::to_toml(&config);
        let table: toml::Table = toml::from_str(&text).unwrap();
        let mut taken: Vec<&str> = kind.options().0.iter().map(|o| o.field_name()).collect();
        taken.sort_unstable();
        let tables = [
            &table["defaults"],
            &table["groups"][0]["options"],
            &table["groups"][1]["options"],
        ];
        for options in tables {
            let mut keys: Vec<&str> = options
                .as_table()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, taken, "{kind:?}\n{text}");
        }
        assert_eq!(
            Config::from_toml(&text).unwrap(),
            config,
            "{kind:?}\n{text}"
        );
    }
}

/// `exclude` and `where` are written only where a group has them, and read back.
#[test]
fn exclude_and_where_round_trip() {
    let config = Config::from_source(
        "w.optim",
        "optimizer = adamw(lr = 1e-3)\ngroup decay { params = \"*\", exclude = [\"*.bias\", \"*norm*\"], where = ndim >= 2 }\ngroup flat { params = \"*\", where = ndim == 1 }\ngroup rest { params = \"*\", weight_decay = 0 }",
    )
    .unwrap();
    assert_eq!(config.groups[0].exclude, ["*.bias", "*norm*"]);
    assert_eq!(config.groups[0].ndim.to_source(), "ndim >= 2");
    assert_eq!(config.groups[1].ndim.to_source(), "ndim == 1");
    assert!(!config.groups[2].filters());
    let toml = optimc::export::to_toml(&config);
    assert_eq!(Config::from_toml(&toml).unwrap(), config, "{toml}");
    let json = optimc::export::to_json(&config);
    assert_eq!(json.matches("\"exclude\"").count(), 1, "{json}");
    assert_eq!(Config::from_json(&json).unwrap(), config);
}

#[test]
fn an_average_round_trips_and_is_checked() {
    let config = Config::from_source(
        "a.optim",
        "optimizer = sgd(lr = 0.1)\naverage = ema(decay = 0.99, start = 3)",
    )
    .unwrap();
    let json = optimc::export::to_json(&config);
    assert!(
        json.contains(
            "\"average\": {\n    \"kind\": \"ema\",\n    \"decay\": 0.99,\n    \"start\": 3\n  }"
        ),
        "{json}"
    );
    let toml = optimc::export::to_toml(&config);
    assert!(
        toml.contains("[average]\nkind = \"ema\"\ndecay = 0.99\nstart = 3\n"),
        "{toml}"
    );
    assert_eq!(Config::from_toml(&toml).unwrap(), config);
    let e = Config::from_toml(&toml.replace("decay = 0.99", "decay = 1.5")).unwrap_err();
    assert!(
        format!("{e:?}").contains("`decay` must be between 0 and 1"),
        "{e:?}"
    );
    let e = Config::from_toml(&toml.replace("kind = \"ema\"", "kind = \"mean\"")).unwrap_err();
    assert!(format!("{e:?}").contains("unknown variant `mean`"), "{e:?}");
    // Without an average the serialized form (and so the fingerprint) has no `average` key.
    let plain = Config::from_source("p.optim", "optimizer = sgd(lr = 0.1)").unwrap();
    assert!(!optimc::export::to_json(&plain).contains("average"));
}

//! `optimc checkpoint diff STATE FILE`: the changes in words on stdout; exit 0 when the
//! configuration is the same, 1 when it changed, 2 (with a diagnostic on stderr) when the state
//! file or the .optim file cannot be used.

use crate::common::{optimc_in, scratch};
use optimc::{Config, Trainer};
use std::path::Path;

const SAVED: &str = r#"optimizer = adamw(lr = 1e-3)
group head { params = "head.*" }
group rest { params = "*", exclude = "*.bias" }
schedule = cosine(t_max = 100)
run = per_epoch(epochs = 100)
"#;

/// Saves a state file of `SAVED` as `run.safetensors` in `dir`, after two epochs.
fn save(dir: &Path) {
    let config = Config::from_source("saved.optim", SAVED).unwrap();
    let mut trainer = Trainer::new(&config, &[("head.w", 2), ("body.w", 3)]).unwrap();
    trainer.end_epoch().unwrap();
    trainer.end_epoch().unwrap();
    trainer.save(dir.join("run.safetensors")).unwrap();
}

/// Exit code, stdout and stderr of `optimc checkpoint diff STATE FILE` in `dir`.
fn diff(dir: &Path, state: &str, file: &str) -> String {
    let out = optimc_in(dir, &["checkpoint", "diff", state, file]);
    format!(
        "exit code: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_same_configuration_exits_0_and_a_changed_one_1_with_the_changes() {
    let dir = scratch("checkpoint-diff");
    save(&dir);
    std::fs::write(dir.join("same.optim"), SAVED).unwrap();
    let changed = SAVED
        .replace("\"head.*\" }", "\"head.*\", lr = 5e-4, lr_scale = 0.5 }")
        .replace("exclude = \"*.bias\"", "exclude = [\"*.bias\", \"*.norm\"]")
        .replace("t_max = 100", "t_max = 200")
        .replace("epochs = 100", "epochs = 200");
    std::fs::write(dir.join("longer.optim"), changed).unwrap();
    let sgd = SAVED.replace("adamw", "sgd");
    std::fs::write(dir.join("sgd.optim"), sgd).unwrap();
    insta::assert_snapshot!("same", diff(&dir, "run.safetensors", "same.optim"));
    insta::assert_snapshot!("changed", diff(&dir, "run.safetensors", "longer.optim"));
    insta::assert_snapshot!(
        "another_optimizer",
        diff(&dir, "run.safetensors", "sgd.optim")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unusable_files_exit_2_with_a_diagnostic() {
    let dir = scratch("checkpoint-diff-bad");
    save(&dir);
    std::fs::write(dir.join("same.optim"), SAVED).unwrap();
    std::fs::write(dir.join("bad.optim"), "optimizer = adamw(lr = -1)\n").unwrap();
    std::fs::write(dir.join("junk.safetensors"), "not a state file").unwrap();
    insta::assert_snapshot!("bad_optim", diff(&dir, "run.safetensors", "bad.optim"));
    insta::assert_snapshot!(
        "corrupt_state",
        diff(&dir, "junk.safetensors", "same.optim")
    );
    insta::assert_snapshot!(
        "missing_state",
        diff(&dir, "missing.safetensors", "same.optim")
    );
    insta::assert_snapshot!(
        "missing_optim",
        diff(&dir, "run.safetensors", "missing.optim")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

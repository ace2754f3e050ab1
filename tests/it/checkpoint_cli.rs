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

/// `checkpoint diff` reads the header alone: a file whose tensors optimc would refuse (an f16
/// tensor) still diffs, and the library's `read_header` leaves the buffers without values.
#[test]
fn only_the_header_is_read() {
    let dir = scratch("checkpoint-diff-header");
    let config = Config::from_source("saved.optim", SAVED).unwrap();
    let mut trainer = Trainer::new(&config, &[("head.w", 2), ("body.w", 3)]).unwrap();
    let (mut h, mut b) = ([1.0f32, 2.0], [3.0f32, 4.0, 5.0]);
    trainer
        .step(&mut [
            optimc::optim::ParamMut::named("head.w", &mut h, &[0.5, 0.5]),
            optimc::optim::ParamMut::named("body.w", &mut b, &[0.5, 0.5, 0.5]),
        ])
        .unwrap();
    trainer.save(dir.join("run.safetensors")).unwrap();
    std::fs::write(dir.join("same.optim"), SAVED).unwrap();
    let header = optimc::checkpoint::Checkpoint::read_header(dir.join("run.safetensors")).unwrap();
    let whole = optimc::checkpoint::Checkpoint::read(dir.join("run.safetensors")).unwrap();
    assert_eq!(header.configuration, whole.configuration);
    let buffers = |c: &optimc::checkpoint::Checkpoint| -> Vec<(String, usize)> {
        c.optimizer.params[0]
            .buffers
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    };
    assert_eq!(
        buffers(&whole),
        [("exp_avg".into(), 2), ("exp_avg_sq".into(), 2)]
    );
    assert_eq!(
        buffers(&header),
        [("exp_avg".into(), 0), ("exp_avg_sq".into(), 0)]
    );

    // The same header over an f16 tensor, which `read` refuses and `diff` never reads.
    let bytes = std::fs::read(dir.join("run.safetensors")).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let json: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let optimc_header = json["__metadata__"]["optimc"].as_str().unwrap().to_string();
    let data = [0u8; 4];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![2], &data).unwrap();
    let metadata = std::collections::HashMap::from([("optimc".to_string(), optimc_header)]);
    let odd = dir.join("odd.safetensors");
    safetensors::serialize_to_file([("extra", view)], Some(metadata), &odd).unwrap();
    let err = optimc::checkpoint::Checkpoint::read(&odd).unwrap_err();
    assert!(err.to_string().contains("is F16"), "{err}");
    assert_eq!(
        diff(&dir, "odd.safetensors", "same.optim"),
        diff(&dir, "run.safetensors", "same.optim")
    );
    assert!(diff(&dir, "odd.safetensors", "same.optim").starts_with("exit code: Some(0)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A truncated state file and absurd header lengths exit 2 with a diagnostic, before anything
/// is allocated for the header they claim.
#[test]
fn truncated_files_and_absurd_header_lengths_exit_2() {
    let dir = scratch("checkpoint-diff-truncated");
    save(&dir);
    std::fs::write(dir.join("same.optim"), SAVED).unwrap();
    let bytes = std::fs::read(dir.join("run.safetensors")).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    let corrupt = |message: &str| {
        format!(
            "exit code: Some(2)\n--- stdout\n--- stderr\noptimc::state_corrupt\n\n  × {message}"
        )
    };
    // Cut in the header, and cut to less than the length itself.
    let half = 8 + len as usize / 2;
    std::fs::write(dir.join("cut.safetensors"), &bytes[..half]).unwrap();
    let out = diff(&dir, "cut.safetensors", "same.optim");
    let expected = format!("its header claims {len} bytes, but the file has {half} in all");
    assert!(out.starts_with(&corrupt("cut.safetensors")), "{out}");
    assert!(out.replace("\n  │ ", " ").contains(&expected), "{out}");
    std::fs::write(dir.join("stub.safetensors"), &bytes[..5]).unwrap();
    let out = diff(&dir, "stub.safetensors", "same.optim");
    assert!(out.contains("it has only 5 bytes"), "{out}");

    // The longest header a state file may have, claimed by a file of 10 bytes; and one past it.
    let mut claims_max = (64u64 << 20).to_le_bytes().to_vec();
    claims_max.extend_from_slice(b"{}");
    std::fs::write(dir.join("claims_max.safetensors"), claims_max).unwrap();
    let mut absurd = u64::MAX.to_le_bytes().to_vec();
    absurd.extend_from_slice(b"{}");
    std::fs::write(dir.join("absurd.safetensors"), absurd).unwrap();
    insta::assert_snapshot!(
        "header_claims_the_limit",
        diff(&dir, "claims_max.safetensors", "same.optim")
    );
    insta::assert_snapshot!(
        "header_length_absurd",
        diff(&dir, "absurd.safetensors", "same.optim")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

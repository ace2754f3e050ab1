//! Resumable state files: a run saved at epoch k and resumed in a fresh trainer is bit-identical
//! to an uninterrupted run; bad files are refused and leave the trainer untouched.

use optimc::checkpoint::CheckpointError;
use optimc::config::OptimizerKind;
use optimc::error::ErrorKind;
use optimc::optim::ParamMut;
use optimc::{Config, Trainer};
use std::path::{Path, PathBuf};

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("optimc-ckpt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Parameter names (the first pattern of every group, with `*` made concrete) and shapes:
/// `[2, 3 + i]` matrices (Muon takes nothing else; Adafactor factors them).
fn params_of(config: &Config) -> Vec<(String, [usize; 2])> {
    config
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.params[0].replace('*', "weight"), [2, 3 + i]))
        .collect()
}

/// Everything observable after an epoch, as bits.
type Snapshot = (Vec<Vec<u32>>, Vec<u64>, Vec<Option<u64>>);

struct Run {
    trainer: Trainer,
    values: Vec<Vec<f32>>,
}

impl Run {
    fn new(config: &Config) -> Run {
        let params = params_of(config);
        let registered: Vec<(&str, &[usize])> =
            params.iter().map(|(n, s)| (n.as_str(), &s[..])).collect();
        let values = params
            .iter()
            .enumerate()
            .map(|(i, (_, s))| {
                (0..s[0] * s[1])
                    .map(|j| 0.5 - 0.3 * (i + j) as f32)
                    .collect()
            })
            .collect();
        Run {
            trainer: Trainer::with_shapes(config, &registered).unwrap(),
            values,
        }
    }

    /// One epoch of two steps; gradients depend on the parameters, so state matters.
    fn epoch(&mut self, e: usize) -> Snapshot {
        for s in 0..2 {
            let grads: Vec<Vec<f32>> = self
                .values
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    p.iter()
                        .enumerate()
                        .map(|(j, &x)| x - 0.25 + 0.1 * ((e * 7 + s * 3 + i + j) as f32).sin())
                        .collect()
                })
                .collect();
            let names: Vec<String> = self.trainer.params().iter().map(|p| p.0.clone()).collect();
            let mut handles: Vec<ParamMut<'_>> = self
                .values
                .iter_mut()
                .zip(&grads)
                .zip(&names)
                .map(|((p, g), n)| ParamMut::named(n, p, g))
                .collect();
            self.trainer.step(&mut handles).unwrap();
        }
        let loss: f64 = self
            .values
            .iter()
            .flatten()
            .map(|&x| f64::from(x - 0.25).powi(2))
            .sum();
        if self.trainer.schedule().needs_metric() {
            // A loss that stalls, so plateau reduces.
            self.trainer.end_epoch_with(loss.max(0.01).round());
        } else {
            self.trainer.end_epoch().unwrap();
        }
        let n = self.trainer.optimizer().num_groups();
        (
            self.values
                .iter()
                .map(|p| p.iter().map(|x| x.to_bits()).collect())
                .collect(),
            self.trainer.lrs().iter().map(|x| x.to_bits()).collect(),
            (0..n)
                .map(|g| self.trainer.optimizer().momentum(g).map(f64::to_bits))
                .collect(),
        )
    }
}

fn assert_resumes(name: &str, source: &str, epochs: usize, k: usize) {
    let config = Config::from_source(name, source).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut straight = Run::new(&config);
    let expected: Vec<Snapshot> = (0..epochs).map(|e| straight.epoch(e)).collect();

    let dir = tmp_dir(name);
    let path = dir.join("state.json");
    let mut first = Run::new(&config);
    for e in 0..k {
        first.epoch(e);
    }
    first.trainer.save(&path).unwrap();
    let mut resumed = Run::new(&config);
    resumed.values = first.values.clone();
    drop(first);
    resumed.trainer.load(&path).unwrap();
    assert_eq!(resumed.trainer.epoch(), k as u64, "{name}");
    for (e, want) in expected.iter().enumerate().skip(k) {
        assert_eq!(
            &resumed.epoch(e),
            want,
            "{name}: epoch {e} differs after resuming"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_optimizer_resumes_bit_identically() {
    for kind in OptimizerKind::ALL {
        let extra = match kind {
            OptimizerKind::Sgd | OptimizerKind::RmsProp => ", momentum = 0.9",
            _ => "",
        };
        let source = format!(
            "optimizer = {}(lr = 0.01{extra})\ngroup a {{ params = \"a.*\" }}\ngroup b {{ params = \"b.*\", lr = 0.005 }}\nschedule = step(step_size = 3, gamma = 0.5)\n",
            kind.name()
        );
        assert_resumes(kind.name(), &source, 12, 5);
    }
}

#[test]
fn plateau_cyclic_and_sequence_schedules_resume_bit_identically() {
    let cases = [
        (
            "plateau",
            "optimizer = sgd(lr = 0.1, momentum = 0.9)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\", lr = 0.05 }\nschedule = plateau(mode = min, factor = 0.5, patience = 1)\n",
        ),
        (
            "cyclic_sgd",
            "optimizer = sgd(lr = 0.1, momentum = 0.9)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\" }\nschedule = cyclic(base_lr = 0.01, max_lr = 0.1, step_size_up = 3)\n",
        ),
        (
            "cyclic_adam",
            "optimizer = adam(lr = 0.001)\ngroup a { params = \"a.*\" }\nschedule = cyclic(base_lr = 0.001, max_lr = 0.01, step_size_up = 2, cycle_momentum = true, base_momentum = 0.8, max_momentum = 0.9)\n",
        ),
    ];
    for (name, source) in cases {
        assert_resumes(name, source, 14, 6);
    }
    let sequence = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/conformance/torch/sequential_linear_cosine.optim"),
    )
    .unwrap();
    assert_resumes("sequence", &sequence, 14, 4);
    assert_resumes("sequence_late", &sequence, 14, 9);
}

const BASE: &str = "optimizer = adam(lr = 0.01)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\", lr = 0.005 }\nschedule = plateau(mode = min, factor = 0.5, patience = 1)\n";

/// A trainer of `source` after three epochs, saved to `dir/state.json`.
fn saved(source: &str, dir: &Path) -> (Run, PathBuf) {
    let config = Config::from_source("base.optim", source).unwrap();
    let mut run = Run::new(&config);
    for e in 0..3 {
        run.epoch(e);
    }
    let path = dir.join("state.json");
    run.trainer.save(&path).unwrap();
    (run, path)
}

/// Loads `path` into a fresh trainer of BASE that ran one epoch; checks the error has a help
/// line and the trainer did not change.
/// The checkpoint kind of `err` (every error of `save`/`load` is one).
fn checkpoint_error(err: optimc::Error) -> CheckpointError {
    match err.into_kind() {
        ErrorKind::Checkpoint(e) => e,
        other => panic!("not a checkpoint error: {other:?}"),
    }
}

fn refused(path: &Path, config_source: &str) -> CheckpointError {
    let config = Config::from_source("base.optim", config_source).unwrap();
    let mut run = Run::new(&config);
    run.epoch(0);
    let before = run.trainer.checkpoint();
    let err = run
        .trainer
        .load(path)
        .map_err(checkpoint_error)
        .expect_err("the file must be refused");
    assert_eq!(
        run.trainer.checkpoint(),
        before,
        "a refused load changed the trainer"
    );
    let help = miette::Diagnostic::help(&err).map(|h| h.to_string());
    assert!(help.is_some_and(|h| !h.is_empty()), "{err}: no help line");
    err
}

#[test]
fn truncated_and_corrupt_files_are_refused() {
    let dir = tmp_dir("corrupt");
    let (_, path) = saved(BASE, &dir);
    let good = std::fs::read(&path).unwrap();
    let bad = dir.join("bad.json");
    for cut in [0, 1, good.len() / 3, good.len() / 2, good.len() - 3] {
        std::fs::write(&bad, &good[..cut]).unwrap();
        let err = refused(&bad, BASE);
        assert!(
            matches!(err, CheckpointError::Corrupt { .. }),
            "cut {cut}: {err}"
        );
    }
    std::fs::write(&bad, b"{\"hello\": 1}").unwrap();
    assert!(matches!(
        refused(&bad, BASE),
        CheckpointError::Corrupt { .. }
    ));
    let text = String::from_utf8(good.clone()).unwrap();
    std::fs::write(&bad, text.replacen("\"epoch\"", "\"epoch_\"", 1)).unwrap();
    let err = refused(&bad, BASE);
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    let missing = refused(&dir.join("missing.json"), BASE);
    assert!(matches!(missing, CheckpointError::Io { .. }), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn other_versions_configs_and_parameters_are_refused() {
    let dir = tmp_dir("mismatch");
    let (_, path) = saved(BASE, &dir);
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, text.replacen("\"version\": 1", "\"version\": 99", 1)).unwrap();
    let err = refused(&bad, BASE);
    assert!(
        matches!(err, CheckpointError::Version { found: 99, .. }),
        "{err}"
    );

    let other = BASE.replace("lr = 0.005", "lr = 0.004");
    let err = refused(&path, &other);
    assert!(matches!(err, CheckpointError::Config { .. }), "{err}");

    // Same config, other parameters: rename and resize in the file itself.
    let (name, len) = ("\"a.weight\"", "a.weight");
    assert!(text.contains(name));
    std::fs::write(&bad, text.replace(len, "a.other")).unwrap();
    let err = refused(&bad, BASE);
    assert!(matches!(err, CheckpointError::Params { .. }), "{err}");
    let config = Config::from_source("base.optim", BASE).unwrap();
    let mut t =
        Trainer::with_shapes(&config, &[("a.weight", &[2, 3]), ("b.weight", &[5])]).unwrap();
    let before = t.checkpoint();
    let err = t
        .load(&path)
        .map_err(checkpoint_error)
        .expect_err("other sizes");
    assert!(matches!(err, CheckpointError::Params { .. }), "{err}");
    assert!(err.to_string().contains("b.weight"), "{err}");
    assert_eq!(t.checkpoint(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn saving_is_atomic_and_leaves_no_temporary_files() {
    let dir = tmp_dir("atomic");
    let (mut run, path) = saved(BASE, &dir);
    let first = std::fs::read(&path).unwrap();
    run.epoch(3);
    run.trainer.save(&path).unwrap();
    let second = std::fs::read(&path).unwrap();
    assert_ne!(first, second, "the second save must replace the file");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["state.json"], "temporary files left behind");
    // A save that cannot happen reports it and does not touch anything.
    let err = run
        .trainer
        .save(dir.join("no/such/dir/state.json"))
        .map_err(checkpoint_error)
        .expect_err("missing directory");
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    // A directory in the way: the good file beside it is untouched.
    std::fs::create_dir(dir.join("blocked.json")).unwrap();
    assert!(run.trainer.save(dir.join("blocked.json")).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn edited_state_that_does_not_fit_is_refused() {
    let dir = tmp_dir("edited");
    let (_, path) = saved(BASE, &dir);
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = dir.join("bad.json");
    // The optimizer part names another group than the configuration's.
    assert!(text.contains("\"name\": \"a\""), "{text}");
    std::fs::write(&bad, text.replacen("\"name\": \"a\"", "\"name\": \"z\"", 1)).unwrap();
    let err = refused(&bad, BASE);
    assert!(matches!(err, CheckpointError::State { .. }), "{err}");
    // The recorded epoch disagrees with the schedule's.
    assert!(text.contains("\"epoch\": 3"), "{text}");
    std::fs::write(&bad, text.replacen("\"epoch\": 3", "\"epoch\": 7", 1)).unwrap();
    let err = refused(&bad, BASE);
    assert!(matches!(err, CheckpointError::State { .. }), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every schedule kind, each driven to infinite and NaN lrs (and so NaN parameters and buffers)
/// by an overflowing lambda before or after it: every epoch's state is saved, loads into a
/// fresh trainer with the same bits, and the resumed run continues bit for bit.
#[test]
fn non_finite_state_saves_loads_and_resumes_exactly() {
    let kinds = [
        "lambda(e -> 10 ** (200 * e))",
        "multiplicative(e -> if e % 2 == 0 then 0/0 else 1)",
        "step(step_size = 2, gamma = 0.5)",
        "multistep(milestones = [1, 3], gamma = 0.5)",
        "exponential(gamma = 0.5)",
        "constant(factor = 0.5, total_iters = 2)",
        "linear(start_factor = 0.5, total_iters = 3)",
        "polynomial(total_iters = 4, power = 2)",
        "cosine(t_max = 3)",
        "cosine_restarts(t_0 = 2)",
        "cyclic(base_lr = 0.01, max_lr = 0.1, step_size_up = 2)",
        "one_cycle(max_lr = 1, total_steps = 20)",
        "plateau(patience = 0)",
    ];
    let overflowing = [
        "multiplicative(e -> 1e300)",
        "multiplicative(e -> -1e300)",
        "lambda(e -> 0/0)",
    ];
    let dir = tmp_dir("non_finite");
    let path = dir.join("state.json");
    for kind in kinds {
        let mut non_finite = false;
        for over in overflowing {
            for schedule in [
                format!("chain({over}, {kind})"),
                format!("chain({kind}, {over})"),
                format!("sequence({over}, {kind}, milestones = [2])"),
            ] {
                let source = format!(
                    "optimizer = adam(lr = 0.1, amsgrad = true)\ngroup a {{ params = \"a.*\" }}\ngroup b {{ params = \"b.*\", lr = 0.05 }}\nschedule = {schedule}\n"
                );
                let config = Config::from_source("overflow.optim", &source)
                    .unwrap_or_else(|e| panic!("{schedule}: {e}"));
                let mut run = Run::new(&config);
                for e in 0..6 {
                    run.epoch(e);
                    run.trainer
                        .save(&path)
                        .unwrap_or_else(|err| panic!("{schedule}, epoch {e}: save: {err}"));
                    let mut resumed = Run::new(&config);
                    resumed.values = run.values.clone();
                    resumed
                        .trainer
                        .load(&path)
                        .unwrap_or_else(|err| panic!("{schedule}, epoch {e}: load: {err}"));
                    // The encoding is exact, so equal text is equal bits (NaN != NaN as floats).
                    let text = |t: &Trainer| serde_json::to_string(&t.checkpoint()).unwrap();
                    assert_eq!(
                        text(&resumed.trainer),
                        text(&run.trainer),
                        "{schedule}, epoch {e}"
                    );
                    let mut straight = Run::new(&config);
                    straight.values = run.values.clone();
                    straight.trainer = run.trainer.clone();
                    assert_eq!(
                        resumed.epoch(e + 1),
                        straight.epoch(e + 1),
                        "{schedule}: epoch {} differs after resuming",
                        e + 1
                    );
                }
                let last = serde_json::to_string(&run.trainer.checkpoint()).unwrap();
                non_finite |= last.contains("inf\"") || last.contains("NaN");
            }
        }
        assert!(
            non_finite,
            "{kind}: nothing became infinite or NaN, so this tests nothing"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

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

/// Everything observable after an epoch, as bits: parameters, lrs, momenta, and the averaged
/// parameters with `n_averaged`.
type Snapshot = (
    Vec<Vec<u32>>,
    Vec<u64>,
    Vec<Option<u64>>,
    (Vec<Option<Vec<u32>>>, u64),
);

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
            (
                self.trainer
                    .params()
                    .iter()
                    .map(|(name, _)| {
                        let avg = self.trainer.averaged(name)?;
                        Some(avg.iter().map(|x| x.to_bits()).collect())
                    })
                    .collect(),
                self.trainer.n_averaged(),
            ),
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
    let json = dir.join("state-v1.json");
    write_version_1(&first.trainer, &json);
    for (file, format) in [(&path, "safetensors"), (&json, "version-1 JSON")] {
        let mut resumed = Run::new(&config);
        resumed.values = first.values.clone();
        resumed.trainer.load(file).unwrap();
        assert_eq!(resumed.trainer.epoch(), k as u64, "{name}");
        for (e, want) in expected.iter().enumerate().skip(k) {
            assert_eq!(
                &resumed.epoch(e),
                want,
                "{name}: epoch {e} differs after resuming from {format}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A state file as optimc wrote them before safetensors (format version 1): the whole
/// checkpoint as pretty JSON, without the configuration.
fn write_version_1(trainer: &Trainer, path: &Path) {
    let mut c = trainer.checkpoint();
    c.version = 1;
    c.configuration = None;
    let mut text = serde_json::to_vec_pretty(&c).unwrap();
    text.push(b'\n');
    std::fs::write(path, text).unwrap();
}

/// Rewrites optimc's JSON header inside safetensors file `bytes` with `edit`, keeping the
/// file well-formed (length prefix, padding), as a hand edit or another build might.
fn edit_header(bytes: &[u8], edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut outer: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let meta = &mut outer["__metadata__"]["optimc"];
    *meta = serde_json::Value::String(edit(meta.as_str().unwrap().to_string()));
    let mut head = serde_json::to_vec(&outer).unwrap();
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut out = (head.len() as u64).to_le_bytes().to_vec();
    out.extend(head);
    out.extend(&bytes[8 + n..]);
    out
}

/// optimc's JSON header of the state file at `path`.
fn header_text(path: &Path) -> String {
    let mut text = None;
    edit_header(&std::fs::read(path).unwrap(), |t| {
        text = Some(t.clone());
        t
    });
    text.unwrap()
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

/// A resumed run keeps averaging bit-identically, saved before and after the average started,
/// with `swa` schedules inside `sequence` (saved before, at and after the hand-over).
#[test]
fn averages_and_swa_schedules_resume_bit_identically() {
    let swa = "optimizer = sgd(lr = 0.1, momentum = 0.9)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\", lr = 0.05 }\nschedule = sequence(cosine(t_max = 5), swa(swa_lr = [0.02, 0.01], anneal_epochs = 3), milestones = [5])\naverage = swa(start = 4)\n";
    let ema = "optimizer = adamw(lr = 0.01)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\" }\nschedule = swa(swa_lr = 0.001, anneal_epochs = 4, anneal_strategy = linear)\naverage = ema(decay = 0.8, start = 0)\n";
    for k in [2, 5, 6, 9] {
        assert_resumes(&format!("swa_{k}"), swa, 14, k);
        assert_resumes(&format!("ema_{k}"), ema, 14, k);
    }
    // A state without the average is refused by a trainer that has one.
    let dir = tmp_dir("average_mismatch");
    let plain = swa.replace("average = swa(start = 4)\n", "");
    let (_, path) = saved(&plain, &dir);
    // The fingerprints differ too: make them agree, so that the average itself is refused.
    let config = Config::from_source("x.optim", swa).unwrap();
    let plain_fingerprint = Config::from_source("x.optim", &plain)
        .unwrap()
        .fingerprint();
    let bytes = edit_header(&std::fs::read(&path).unwrap(), |t| {
        t.replace(&plain_fingerprint, &config.fingerprint())
    });
    std::fs::write(&path, bytes).unwrap();
    let mut run = Run::new(&config);
    let before = run.trainer.checkpoint();
    let err = checkpoint_error(run.trainer.load(&path).unwrap_err());
    assert!(
        err.to_string().contains("but the state has no average"),
        "{err}"
    );
    assert_eq!(run.trainer.checkpoint(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The averaged copy is saved as tensors `average/{parameter}`, shaped as the parameter, and
/// `n_averaged` in the header; before the first update there are no such tensors. A
/// checkpoint read and written again keeps them, and resumes.
#[test]
fn averages_are_tensors_and_their_count_is_in_the_header() {
    let source = "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\" }\naverage = ema(decay = 0.9, start = 2)\n";
    let config = Config::from_source("x.optim", source).unwrap();
    let dir = tmp_dir("average_tensors");
    let path = dir.join("state.safetensors");
    let mut run = Run::new(&config);
    run.epoch(0);
    run.trainer.save(&path).unwrap();
    let c = optimc::checkpoint::Checkpoint::read(&path).unwrap();
    assert_eq!(c.n_averaged, Some(0));
    assert!(c.tensors.is_empty(), "{:?}", c.tensors.keys());
    run.epoch(1);
    run.epoch(2);
    run.epoch(3);
    assert_eq!(
        run.trainer.n_averaged(),
        4,
        "two steps in each of epochs 2 and 3"
    );
    run.trainer.save(&path).unwrap();
    assert!(header_text(&path).contains("\"n_averaged\":4"));
    assert!(!header_text(&path).contains("average/"));
    let c = optimc::checkpoint::Checkpoint::read(&path).unwrap();
    let names: Vec<&str> = c.tensors.keys().map(String::as_str).collect();
    assert_eq!(names, ["average/a.weight", "average/b.weight"]);
    assert_eq!(c.tensors["average/b.weight"].shape, [2, 4]);
    assert_eq!(
        c.tensors["average/a.weight"].values,
        run.trainer.averaged("a.weight").unwrap()
    );
    assert_eq!(c, run.trainer.checkpoint());
    let again = dir.join("again.safetensors");
    c.write(&again).unwrap();
    let mut resumed = Run::new(&config);
    resumed.trainer.load(&again).unwrap();
    assert_eq!(resumed.trainer.checkpoint(), run.trainer.checkpoint());
    // A caller's tensor may not take the averaged parameters' names.
    let values: Vec<&[f32]> = run.values.iter().map(Vec::as_slice).collect();
    let plain = Config::from_source("p.optim", "optimizer = sgd(lr = 0.1)").unwrap();
    let t = Trainer::new(&plain, &[("average/x", 2)]).unwrap();
    let err = t
        .save_with_params(dir.join("x.safetensors"), &[&values[0][..2]])
        .unwrap_err();
    assert!(err.to_string().contains("`average/`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `load_changed` keeps the average when its kind stays (a new decay applies from the next
/// update), starts it empty for another kind or one newly declared, drops one no longer
/// declared; each is a note.
#[test]
fn load_changed_keeps_an_average_of_the_same_kind() {
    let ema = "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\" }\naverage = ema(decay = 0.9)\n";
    let dir = tmp_dir("average_changed");
    let (run, path) = saved(ema, &dir);
    let n = run.trainer.n_averaged();
    assert_eq!(n, 6);
    let load = |source: &str| {
        let config = Config::from_source("y.optim", source).unwrap();
        let mut t = Run::new(&config);
        let d = t.trainer.load_changed(&path).unwrap();
        (t, d)
    };
    let (t, d) = load(&ema.replace("0.9", "0.99"));
    assert_eq!(d.changes, ["average ema: decay 0.9 -> 0.99"]);
    assert!(
        d.notes
            .contains(&"the average (ema) continues from its 6 saved updates".to_string()),
        "{d}"
    );
    assert_eq!(t.trainer.n_averaged(), n);
    assert_eq!(
        t.trainer.averaged("b.weight"),
        run.trainer.averaged("b.weight")
    );
    let (t, d) = load(&ema.replace("ema(decay = 0.9)", "swa(start = 0)"));
    assert_eq!(d.changes, ["average: ema -> swa"]);
    assert!(
        d.notes
            .contains(&"the average starts empty: it was ema, it is swa".to_string()),
        "{d}"
    );
    assert_eq!(
        (t.trainer.n_averaged(), t.trainer.averaged("a.weight")),
        (0, None)
    );
    let plain = ema.replace("average = ema(decay = 0.9)\n", "");
    let (t, d) = load(&plain);
    assert_eq!(d.changes, ["average removed (was ema)"]);
    assert!(
        d.notes.contains(
            &"the saved average (6 updates) is dropped: the configuration declares none"
                .to_string()
        ),
        "{d}"
    );
    assert!(!t.trainer.has_average());
    let (_, plain_path) = saved(&plain, &tmp_dir("average_changed_plain"));
    let config = Config::from_source("y.optim", ema).unwrap();
    let mut t = Run::new(&config);
    let d = t.trainer.load_changed(&plain_path).unwrap();
    assert_eq!(d.changes, ["average added: ema"]);
    assert!(
        d.notes
            .contains(&"the average (ema) starts empty: the state file holds none".to_string()),
        "{d}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(tmp_dir("average_changed_plain"));
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
    std::fs::write(
        &bad,
        edit_header(&good, |t| t.replacen("\"epoch\"", "\"epoch_\"", 1)),
    )
    .unwrap();
    let err = refused(&bad, BASE);
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    // The same in a version-1 file.
    let (run, _) = saved(BASE, &dir);
    let json = dir.join("v1.json");
    write_version_1(&run.trainer, &json);
    let text = std::fs::read_to_string(&json).unwrap();
    for cut in [1, text.len() / 2, text.len() - 3] {
        std::fs::write(&bad, &text.as_bytes()[..cut]).unwrap();
        let err = refused(&bad, BASE);
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    }
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
    let good = std::fs::read(&path).unwrap();
    let text = header_text(&path);
    let bad = dir.join("bad.json");
    assert!(text.contains("\"version\":2"), "{text}");
    std::fs::write(
        &bad,
        edit_header(&good, |t| t.replacen("\"version\":2", "\"version\":99", 1)),
    )
    .unwrap();
    let err = refused(&bad, BASE);
    assert!(
        matches!(err, CheckpointError::Version { found: 99, .. }),
        "{err}"
    );

    // Another configuration: refused, with the difference in words.
    let other = BASE.replace("lr = 0.005", "lr = 0.004");
    let err = refused(&path, &other);
    assert!(matches!(err, CheckpointError::Config { .. }), "{err}");
    assert!(
        err.to_string().contains("group b: lr 0.005 -> 0.004"),
        "{err}"
    );

    // Same config, other parameters: rename in the file itself (header and tensors).
    assert!(text.contains("\"a.weight\""));
    let renamed = edit_header(&good, |t| t.replace("a.weight", "a.other"));
    std::fs::write(&bad, renamed).unwrap();
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
    let good = std::fs::read(&path).unwrap();
    let text = header_text(&path);
    let bad = dir.join("bad.json");
    // The optimizer part names another group than the configuration's (the configuration
    // recorded in the header comes first and keeps its name).
    let optimizer_part = text.find("\"optimizer\":{\"optimizer\"").unwrap();
    let at = optimizer_part + text[optimizer_part..].find("\"name\":\"a\"").unwrap();
    let edited = format!("{}\"name\":\"z\"{}", &text[..at], &text[at + 10..]);
    std::fs::write(&bad, edit_header(&good, |_| edited)).unwrap();
    let err = refused(&bad, BASE);
    assert!(matches!(err, CheckpointError::State { .. }), "{err}");
    // The recorded epoch disagrees with the schedule's.
    assert!(text.contains("\"epoch\":3"), "{text}");
    std::fs::write(
        &bad,
        edit_header(&good, |t| t.replacen("\"epoch\":3", "\"epoch\":7", 1)),
    )
    .unwrap();
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

/// A state file is a safetensors file other tools read: the optimizer's buffers under
/// `optimizer/{param}/{buffer}` with the parameter's shape, the parameters under their own
/// names when saved with them; and `load_with_params` gives them back.
#[test]
fn the_file_is_safetensors_with_the_parameters_under_their_names() {
    let dir = tmp_dir("params");
    let config = Config::from_source("base.optim", BASE).unwrap();
    let mut run = Run::new(&config);
    for e in 0..3 {
        run.epoch(e);
    }
    let path = dir.join("run.safetensors");
    let values: Vec<&[f32]> = run.values.iter().map(Vec::as_slice).collect();
    run.trainer.save_with_params(&path, &values).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        [
            "a.weight",
            "b.weight",
            "optimizer/a.weight/exp_avg",
            "optimizer/a.weight/exp_avg_sq",
            "optimizer/b.weight/exp_avg",
            "optimizer/b.weight/exp_avg_sq",
        ]
    );
    let w = file.tensor("b.weight").unwrap();
    assert_eq!(w.shape(), [2, 4]);
    assert_eq!(w.dtype(), safetensors::Dtype::F32);
    let state = run.trainer.optimizer().state();
    let m = file.tensor("optimizer/b.weight/exp_avg").unwrap();
    let bits: Vec<u32> = m
        .data()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let want: Vec<u32> = state.params[1].buffers["exp_avg"]
        .iter()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(bits, want);

    let mut resumed = Run::new(&config);
    let mut back: Vec<Vec<f32>> = run.values.iter().map(|v| vec![0.0; v.len()]).collect();
    let mut slots: Vec<&mut [f32]> = back.iter_mut().map(Vec::as_mut_slice).collect();
    resumed.trainer.load_with_params(&path, &mut slots).unwrap();
    assert_eq!(back, run.values);
    assert_eq!(resumed.trainer.checkpoint(), run.trainer.checkpoint());
    let read = optimc::checkpoint::Checkpoint::read(&path).unwrap();
    assert_eq!(read.tensors["a.weight"].values, run.values[0]);
    assert_eq!(read.tensors["a.weight"].shape, [2, 3]);

    // A file saved without the parameters says so.
    run.trainer.save(&path).unwrap();
    let mut slots: Vec<&mut [f32]> = back.iter_mut().map(Vec::as_mut_slice).collect();
    let err = resumed
        .trainer
        .load_with_params(&path, &mut slots)
        .map_err(checkpoint_error)
        .unwrap_err();
    assert!(
        err.to_string().contains("saved without the parameters"),
        "{err}"
    );

    // Extra tensors travel with the checkpoint; a name the optimizer uses is refused.
    let mut c = run.trainer.checkpoint();
    c.tensors.insert(
        "swa/a.weight".into(),
        optimc::checkpoint::Tensor {
            shape: vec![2, 3],
            values: vec![f32::NAN, -0.0, f32::INFINITY, 1.0, 2.0, 3.0],
        },
    );
    c.write(&path).unwrap();
    let back = optimc::checkpoint::Checkpoint::read(&path).unwrap();
    let bits = |c: &optimc::checkpoint::Checkpoint| {
        c.tensors["swa/a.weight"]
            .values
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&back), bits(&c));
    c.tensors.insert(
        "optimizer/a.weight/exp_avg".into(),
        optimc::checkpoint::Tensor {
            shape: vec![6],
            values: vec![0.0; 6],
        },
    );
    assert!(c.write(&path).is_err());
    c.tensors.clear();
    c.tensors.insert(
        "bad".into(),
        optimc::checkpoint::Tensor {
            shape: vec![4],
            values: vec![0.0; 3],
        },
    );
    assert!(c.write(&path).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hostile state files: a header length past the limit or the file, tensors whose sizes do
/// not add up, another dtype, missing or unknown buffers, parameters larger than the
/// trainer's, and every single-byte corruption of the header: each is refused (or, for a byte
/// inside a tensor's values, read as other values), never a panic, a hang or a huge
/// allocation.
#[test]
fn hostile_state_files_are_refused_without_panicking() {
    let dir = tmp_dir("hostile");
    let (_, path) = saved(BASE, &dir);
    let good = std::fs::read(&path).unwrap();
    let bad = dir.join("bad.safetensors");
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;

    let mut huge = good.clone();
    huge[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    std::fs::write(&bad, &huge).unwrap();
    assert!(matches!(
        refused(&bad, BASE),
        CheckpointError::Corrupt { .. }
    ));
    let mut past = good.clone();
    past[..8].copy_from_slice(&((good.len() + 8) as u64).to_le_bytes());
    std::fs::write(&bad, &past).unwrap();
    assert!(matches!(
        refused(&bad, BASE),
        CheckpointError::Corrupt { .. }
    ));
    // One value too many or too few after the header.
    let mut longer = good.clone();
    longer.extend([0; 4]);
    std::fs::write(&bad, &longer).unwrap();
    assert!(matches!(
        refused(&bad, BASE),
        CheckpointError::Corrupt { .. }
    ));

    let outer = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_slice(&good[8..8 + n]).unwrap();
        edit(&mut v);
        let mut head = serde_json::to_vec(&v).unwrap();
        head.resize(head.len().next_multiple_of(8), b' ');
        let mut out = (head.len() as u64).to_le_bytes().to_vec();
        out.extend(head);
        out.extend(&good[8 + n..]);
        out
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "F16",
            outer(&|v| v["optimizer/a.weight/exp_avg"]["dtype"] = "F16".into()),
        ),
        (
            "shape",
            outer(&|v| {
                v["optimizer/a.weight/exp_avg"]["shape"] =
                    serde_json::json!([4, 1_000_000_000_000u64])
            }),
        ),
        (
            "offsets",
            outer(&|v| v["optimizer/a.weight/exp_avg"]["data_offsets"] = serde_json::json!([0, 4])),
        ),
        (
            "no metadata",
            outer(&|v| {
                v.as_object_mut().unwrap().remove("__metadata__");
            }),
        ),
        (
            "renamed buffer",
            outer(&|v| {
                let o = v.as_object_mut().unwrap();
                let t = o.remove("optimizer/a.weight/exp_avg").unwrap();
                o.insert("optimizer/a.weight/other".into(), t);
            }),
        ),
        (
            "no optimc",
            edit_header(&good, |t| t.replace("optimc-training-state", "other")),
        ),
        (
            "huge parameter",
            edit_header(&good, |t| {
                t.replace("[\"a.weight\",6]", "[\"a.weight\",600000000000]")
            }),
        ),
    ];
    for (what, bytes) in cases {
        std::fs::write(&bad, &bytes).unwrap();
        let err = refused(&bad, BASE);
        assert!(
            matches!(
                err,
                CheckpointError::Corrupt { .. } | CheckpointError::Params { .. }
            ),
            "{what}: {err}"
        );
    }
    // Every byte of the length and the header flipped, one at a time (and a sample of the
    // values): never a panic.
    let config = Config::from_source("base.optim", BASE).unwrap();
    for at in (0..8)
        .chain((8..8 + n).step_by(3))
        .chain((8 + n..good.len()).step_by(37))
    {
        let mut b = good.clone();
        b[at] ^= 0x5a;
        std::fs::write(&bad, &b).unwrap();
        let mut run = Run::new(&config);
        let _ = run.trainer.load(&bad);
        let _ = run.trainer.load_changed(&bad);
        let _ = optimc::checkpoint::Checkpoint::read(&bad);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `load_changed`: a lowered lr and a longer cosine are reported in words, the optimizer's
/// state is kept, and the schedule is the new one stepped to the saved epoch; a new group
/// moves a parameter with its state; a new parameter starts fresh; another optimizer, and a
/// changed schedule with a plateau, are refused and leave the trainer untouched.
#[test]
fn a_changed_configuration_resumes_with_its_changes_said_in_words() {
    let dir = tmp_dir("changed");
    let base = "optimizer = adam(lr = 0.01)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\", lr = 0.005 }\nschedule = cosine(t_max = 10)\n";
    let (run, path) = saved(base, &dir);
    let saved_state = run.trainer.optimizer().state();

    let changed = base
        .replace("lr = 0.005", "lr = 0.0025")
        .replace("t_max = 10", "t_max = 20");
    let config = Config::from_source("changed.optim", &changed).unwrap();
    let mut resumed = Run::new(&config);
    let diff = resumed.trainer.load_changed(&path).unwrap();
    assert_eq!(
        diff.changes,
        [
            "group b: lr 0.005 -> 0.0025",
            "schedule cosine: t_max 10 -> 20"
        ]
    );
    assert!(
        diff.notes.iter().any(|n| n.contains("stepped to epoch 3")),
        "{diff}"
    );
    assert_eq!(resumed.trainer.epoch(), 3);
    // The buffers and step counts carried over, bit for bit.
    let state = resumed.trainer.optimizer().state();
    for (p, q) in state.params.iter().zip(&saved_state.params) {
        assert_eq!(p.step, q.step);
        assert_eq!(p.buffers, q.buffers);
    }
    // The lrs are the new schedule's at epoch 3, and the optimizer uses them.
    let mut fresh = Run::new(&config);
    for _ in 0..3 {
        fresh.trainer.end_epoch().unwrap();
    }
    assert_eq!(resumed.trainer.lrs(), fresh.trainer.lrs());
    assert_eq!(
        resumed.trainer.optimizer().lr(1).to_bits(),
        fresh.trainer.lrs()[1].to_bits()
    );

    // Only weight decay changed: the schedule continues from its saved state, bit for bit.
    let decay = base.replace(
        "group a { params = \"a.*\" }",
        "group a { params = \"a.*\", weight_decay = 0.1 }",
    );
    let config = Config::from_source("decay.optim", &decay).unwrap();
    let mut resumed = Run::new(&config);
    let diff = resumed.trainer.load_changed(&path).unwrap();
    assert_eq!(diff.changes, ["group a: weight_decay 0 -> 0.1"]);
    assert!(
        diff.notes
            .iter()
            .any(|n| n.contains("continues from its saved state")),
        "{diff}"
    );
    assert_eq!(resumed.trainer.lrs(), run.trainer.lrs());
    assert_eq!(resumed.trainer.optimizer().hyperparams(0).weight_decay, 0.1);

    // A new group takes `b.weight` with its state; a new parameter starts fresh.
    let regrouped = base.replace(
        "group b {",
        "group head { params = \"b.*\", lr = 0.001 }\ngroup b {",
    );
    let config = Config::from_source("regrouped.optim", &regrouped).unwrap();
    let mut t = Trainer::with_shapes(
        &config,
        &[
            ("a.weight", &[2, 3]),
            ("b.weight", &[2, 4]),
            ("a.extra", &[3]),
        ],
    )
    .unwrap();
    let diff = t.load_changed(&path).unwrap();
    assert!(
        diff.changes
            .contains(&"new group `head` (params \"b.*\")".to_string()),
        "{diff}"
    );
    assert!(
        diff.notes.contains(
            &"parameter `b.weight` moves from group b to group head, keeping its state".to_string()
        ),
        "{diff}"
    );
    assert!(
        diff.notes
            .contains(&"parameter `a.extra` is not in the state file: it starts fresh".to_string()),
        "{diff}"
    );
    let state = t.optimizer().state();
    assert_eq!(state.params[1].buffers, saved_state.params[1].buffers);
    assert_eq!(state.params[2].step, 0.0);

    // Refused: another optimizer; a changed plateau schedule; the trainer does not change.
    for (other, words) in [
        (base.replace("adam(", "sgd("), "means nothing"),
        (
            base.replace("cosine(t_max = 10)", "plateau(patience = 2)"),
            "plateau",
        ),
    ] {
        let config = Config::from_source("other.optim", &other).unwrap();
        let mut run = Run::new(&config);
        run.epoch(0);
        let before = run.trainer.checkpoint();
        let err = run
            .trainer
            .load_changed(&path)
            .map_err(checkpoint_error)
            .unwrap_err();
        assert!(matches!(err, CheckpointError::Incompatible { .. }), "{err}");
        assert!(err.to_string().contains(words), "{err}");
        assert_eq!(run.trainer.checkpoint(), before);
    }

    // The same configuration: `load_changed` is `load`, and says nothing changed.
    let config = Config::from_source("base.optim", base).unwrap();
    let mut same = Run::new(&config);
    assert!(same.trainer.load_changed(&path).unwrap().is_empty());
    assert_eq!(same.trainer.checkpoint(), run.trainer.checkpoint());

    // A version-1 file does not record its configuration: a changed one is refused in words.
    let json = dir.join("v1.json");
    write_version_1(&run.trainer, &json);
    let config = Config::from_source("changed.optim", &changed).unwrap();
    let mut t = Run::new(&config);
    let err = t
        .trainer
        .load_changed(&json)
        .map_err(checkpoint_error)
        .unwrap_err();
    assert!(err.to_string().contains("does not record"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

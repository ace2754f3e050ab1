//! `optimc export --to pytorch`: snapshots of the snippet for every example, valid Python for every
//! example and conformance case, lambdas that compute what optimc computes, and (where PyTorch is
//! installed) the same lr trace as `optimc trace`.

use crate::common::{example_and_conformance_files, optim_files, root, scratch};
use optimc::config::ScheduleConfig;
use optimc::export::pytorch::{lambda_to_python, to_pytorch};
use optimc::expr::Lambda;
use optimc::Config;
use std::process::Command;

/// Whether `python3` runs here; prints why a test is skipped when not.
fn python(probe: &str, what: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", probe])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: skipping {what}: `python3 -c {probe:?}` does not run here");
    }
    ok
}

#[test]
fn snippets_of_the_examples() {
    insta::glob!(env!("CARGO_MANIFEST_DIR"), "examples/*.optim", |path| {
        let config = Config::from_path(path).unwrap();
        insta::assert_snapshot!(to_pytorch(&config));
    });
}

#[test]
fn every_snippet_is_valid_python() {
    if !python("import py_compile", "the py_compile check") {
        return;
    }
    let dir = scratch("compile");
    let mut files = Vec::new();
    for path in example_and_conformance_files() {
        let config = Config::from_path(&path).unwrap();
        let out = dir.join(format!(
            "{}.py",
            path.file_stem().unwrap().to_string_lossy()
        ));
        std::fs::write(&out, to_pytorch(&config)).unwrap();
        files.push(out);
    }
    assert!(files.len() > 70);
    let out = Command::new("python3")
        .args([
            "-c",
            "import py_compile, sys\nfor f in sys.argv[1:]:\n    py_compile.compile(f, doraise=True)",
        ])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn lambdas_of(s: &ScheduleConfig, out: &mut Vec<Lambda>) {
    match s {
        ScheduleConfig::Lambda { lr_lambda } | ScheduleConfig::Multiplicative { lr_lambda } => {
            out.push(lr_lambda.clone())
        }
        ScheduleConfig::Cyclic {
            scale_fn: Some(f), ..
        } => out.push(f.clone()),
        s => s.children().iter().for_each(|c| lambdas_of(c, out)),
    }
}

/// Every lambda the translation is checked on: those of the examples and conformance cases, and
/// some that exercise each operator and function.
fn lambdas() -> Vec<Lambda> {
    let mut out = Vec::new();
    for path in example_and_conformance_files() {
        let config = Config::from_path(&path).unwrap();
        config.schedule.iter().for_each(|s| lambdas_of(s, &mut out));
        for g in &config.groups {
            g.schedule.iter().for_each(|s| lambdas_of(s, &mut out));
        }
    }
    let written = [
        "e -> -2 ** 2 + e",
        "e -> (-2) ** 2 + e",
        "e -> 2 ** -e",
        "e -> 2 ** 3 ** -1 * e",
        "e -> (e - 7) // 3 + (e - 7) % 3 + (e - 7) % -3 + -(e // -4)",
        "e -> (e * 0.37) // 0.1 + (e * 0.37) % 0.1",
        "e -> if e < 3 then 0.1 else if e >= 10 and not (e == 12 or e != e) then 2 else 1",
        "e -> clamp(e / 10, 0.2, 0.8) + min(e, 3, 2) - max(1, e / 7)",
        "e -> round(e / 4) + round(2.5) + round(-0.5) + floor(e / 3) + ceil(-e / 3) + abs(5 - e)",
        "e -> sin(e) + cos(e) + tan(e / 100) + atan(e) + sinh(e / 50) + cosh(e / 50) + tanh(e)",
        "e -> asin(e / 100) + acos(e / 100) + exp(-e) + log(e + 1) + log2(e + 1) + log10(e + 1)",
        "e -> sqrt(e) * pi / tau",
        "epoch -> 1 / (1 + epoch) ** 0.5",
        "lambda -> lambda * 2",
        "float -> float + 1",
        "e -> 1e-3 * 1_000 + 2.5E+1",
        "e -> 1 / e",
        "e -> log(e)",
        // Local values: assignments at the top, `(lambda c: ...)(v)` deeper in, Python's
        // names escaped apart from each other.
        "e -> let c = e // 10 in let t = e - 10 * c in 0.5 ** c * (1 - t / 10)",
        "e -> let w = e < 5 in if w then (let s = e / 5 in s * s) else 0.9 ** (e - 5)",
        "e -> 2 * (let c = sin(e) in c * c) + (let d = cos(e) in d - 1)",
        "math -> let min = math * 2 in let min_ = min + 1 in let float = min_ * min in float - math",
    ];
    for text in written {
        out.push(Lambda::from_text(text).unwrap_or_else(|e| panic!("{text}: {e:?}")));
    }
    out
}

#[test]
fn lambdas_compute_in_python_what_they_compute_in_optimc() {
    if !python("import math", "the lambda translation check") {
        return;
    }
    let lambdas = lambdas();
    let epochs: Vec<f64> = (0..60).map(f64::from).collect();
    let mut script = String::from("import math\n\n");
    for (i, l) in lambdas.iter().enumerate() {
        script.push_str(&lambda_to_python(l, &format!("f{i}")));
        script.push('\n');
    }
    script.push_str(&format!(
        "for f in [{}]:\n    for e in range({}):\n        try:\n            v = f(e)\n            \
         print(repr(v) if isinstance(v, float) else 'raise')\n        except (ArithmeticError, ValueError):\n            \
         print('raise')\n",
        (0..lambdas.len()).map(|i| format!("f{i}")).collect::<Vec<_>>().join(", "),
        epochs.len()
    ));
    let dir = scratch("lambdas");
    let file = dir.join("lambdas.py");
    std::fs::write(&file, &script).unwrap();
    let out = Command::new("python3").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let mut compared = 0;
    for (i, l) in lambdas.iter().enumerate() {
        for &e in &epochs {
            let line = lines.next().expect("one line per value");
            let ours = l.eval(e);
            if line == "raise" {
                // Python raises (or goes complex) exactly where optimc yields an inf or NaN.
                assert!(
                    !ours.is_finite(),
                    "f{i} = {l} at {e}: python raised, optimc gives {ours}"
                );
                continue;
            }
            let theirs: f64 = line.parse().unwrap();
            assert!(
                theirs.to_bits() == ours.to_bits() || (theirs.is_nan() && ours.is_nan()),
                "f{i} = {l} at {e}: python {theirs:?}, optimc {ours:?}\n{}",
                lambda_to_python(l, "f")
            );
            compared += 1;
        }
    }
    assert!(compared > 1000, "only {compared} values compared");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn snippet(source: &str) -> String {
    to_pytorch(&Config::from_source("t.optim", source).unwrap())
}

/// Checks that `text` is valid Python, where python3 runs.
fn compile(text: &str) {
    if !python("import ast", "a syntax check") {
        return;
    }
    let out = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.argv[1])", text])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn local_values_become_assignments_or_an_applied_lambda() {
    let f = Lambda::from_text(
        "it -> let e = it / 15 in let w = e < 2 in if w then e / 2 else (let c = cos(e) in c * c)",
    )
    .unwrap();
    let text = lambda_to_python(&f, "f");
    assert_eq!(
        text,
        "def f(it):\n    it = float(it)\n    e = it / 15.0\n    w = e < 2.0\n    \
         return e / 2.0 if w else (lambda c: c * c)(math.cos(e))\n"
    );
    compile(&text);
}

#[test]
fn per_group_lambdas_become_one_lambda_list() {
    let text = snippet(
        "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a.*\", schedule = lambda(e -> 0.9 ** e) }\n\
         group b { params = \"b.*\" }\nschedule = lambda(e -> 1 / (1 + e))",
    );
    assert!(text.contains("LambdaLR(\n        optimizer,\n        [\n            lr_lambda_0,  # a\n            lr_lambda_1,  # b\n        ],"), "{text}");
    assert!(
        text.contains("def lr_lambda_0(e):\n    e = float(e)\n    return 0.9 ** e\n"),
        "{text}"
    );
    assert!(
        text.contains("def lr_lambda_1(e):\n    e = float(e)\n    return 1.0 / (1.0 + e)\n"),
        "{text}"
    );
    let text = snippet(
        "optimizer = sgd(lr = 0.1)\ngroup b { params = \"b.*\" }\n\
         group a { params = \"a.*\", schedule = multiplicative(e -> 0.9) }",
    );
    assert!(text.contains("MultiplicativeLR("), "{text}");
    assert!(
        text.contains(
            "            lambda epoch: 1.0,  # b (constant)\n            lr_lambda_1,  # a\n"
        ),
        "{text}"
    );
    compile(&text);
}

#[test]
fn what_pytorch_cannot_express_raises_and_says_why() {
    let text = snippet(
        "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a.*\", schedule = step(5) }\n\
         group b { params = \"b.*\" }\nschedule = exponential(0.9)",
    );
    assert!(
        text.contains("#   a: StepLR\n    #   b: ExponentialLR\n    raise NotImplementedError("),
        "{text}"
    );
    let text = snippet("optimizer = sgd(lr = 0.1)\nschedule = chain(step(5), plateau())");
    assert!(
        text.contains("raise NotImplementedError(\"ReduceLROnPlateau inside"),
        "{text}"
    );
}

/// A `warmup` is written as PyTorch users write one: its warmup scheduler, `then`, and a
/// `SequentialLR` of both (checked against torch in `the_snippet_matches_optimc_trace` through
/// `examples/warmup_cosine.optim`); one whose `then` runs beneath it has no PyTorch form.
#[test]
fn warmups_become_sequential_lr() {
    let warmup = |args: &str| {
        snippet(&format!(
            "optimizer = sgd(lr = 0.1)\ngroup a {{ params = \"a\" }}\n\
             group b {{ params = \"b\", lr = 0.2 }}\nschedule = warmup({args})"
        ))
    };
    let cases = [
        (
            "steps = 5, then = step(10)",
            "scheduler_1 = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda step: step / 5)",
        ),
        (
            "steps = 5, start_factor = 0.1, then = step(10)",
            "scheduler_1 = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)",
        ),
        (
            "steps = 5, start_factor = 0.1, shape = constant, then = step(10)",
            "scheduler_1 = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=0.1, total_iters=5)",
        ),
        (
            "steps = 5, shape = cosine, then = step(10)",
            "lr_lambda=lambda step: 0.5 * (1.0 - math.cos(math.pi * step / 5))",
        ),
        (
            "steps = 5, start_lr = [0.5, 0.01], then = step(10)",
            "lambda step: (0.5 + (0.1 - 0.5) * (step / 5)) / 0.1, \
             lambda step: (0.01 + (0.2 - 0.01) * (step / 5)) / 0.2",
        ),
    ];
    for (args, expected) in cases {
        let text = warmup(args);
        assert!(text.contains(expected), "{args}:\n{text}");
        assert!(
            text.contains("schedulers=[scheduler_1, scheduler_2],\n        milestones=[5],"),
            "{args}:\n{text}"
        );
        compile(&text);
    }
    // What PyTorch has no class for: the snippet's `Warmup`, over `then` built first.
    for (args, call) in [
        (
            "steps = 5, clock = overlap, then = step(10)",
            "scheduler = Warmup(optimizer, then=scheduler_1, steps=5, clock=\"overlap\")",
        ),
        (
            "steps = 5, start_lr = [0.5, 0.01], shape = cosine, clock = follow, then = step(10)",
            "scheduler = Warmup(\n        optimizer,\n        then=scheduler_1,\n        steps=5,\n        \
             start_lrs=[0.5, 0.01],\n        shape=\"cosine\",\n        clock=\"follow\",\n    )",
        ),
        (
            "steps = 5, start_factor = 0.25, then_every = 3, then = step(10)",
            "scheduler = Warmup(\n        optimizer,\n        then=scheduler_1,\n        steps=5,\n        \
             start_factor=0.25,\n        clock=\"after\",\n        then_every=3,\n    )",
        ),
    ] {
        let text = warmup(args);
        assert!(text.contains(call), "{args}:\n{text}");
        assert!(
            text.contains("scheduler_1 = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.1)"),
            "{args}:\n{text}"
        );
        assert!(text.contains("\nclass Warmup(torch.optim.lr_scheduler.LRScheduler):\n"));
        assert!(text.contains("import copy\nimport math\nimport re\nimport warnings\n"));
        assert!(!text.contains("NotImplementedError"), "{args}:\n{text}");
        compile(&text);
    }
    // Where `SequentialLR([ramp, then])` would not be exact (nested, over a `sequence`, over a
    // `then` that starts below the groups' lrs): the class too, with the default clock.
    for schedule in [
        "sequence(exponential(0.9), warmup(steps = 5, then = step(10)), milestones = [3])",
        "chain(warmup(steps = 5, then = step(10)), exponential(0.9))",
        "warmup(steps = 5, then = sequence(step(10), exponential(0.9), milestones = [3]))",
        "warmup(steps = 5, then = linear(start_factor = 0.5, total_iters = 4))",
    ] {
        let text = snippet(&format!("optimizer = sgd(lr = 0.1)\nschedule = {schedule}"));
        assert!(
            text.contains("Warmup(optimizer, then=scheduler_") && text.contains("clock=\"after\""),
            "{schedule}:\n{text}"
        );
        compile(&text);
    }
    // Only a snippet that uses the class has it (and its imports).
    let text = warmup("steps = 5, then = step(10)");
    assert!(!text.contains("class Warmup") && !text.contains("import copy"));
    let text = warmup("steps = 5, clock = overlap, then = plateau()");
    assert!(
        text.contains("raise NotImplementedError(\"ReduceLROnPlateau beneath a Warmup\")"),
        "{text}"
    );
}

#[test]
fn the_optimizer_gets_only_what_differs_from_pytorch() {
    let text = snippet("optimizer = adam(lr = 1e-3, betas = (0.9, 0.95))\ngroup a { params = [\"a.*\", \"b?\"], weight_decay = 0.1 }");
    assert!(text.contains("(\"a\", [\"a.*\", \"b?\"]),"), "{text}");
    assert!(
        text.contains("{\"params\": params[0], \"weight_decay\": 0.1},  # a"),
        "{text}"
    );
    assert!(
        text.contains("        lr=0.001,\n        betas=(0.9, 0.95),\n    )"),
        "{text}"
    );
    assert!(
        text.contains("    # No schedule: the lr stays constant.\n    return optimizer, None"),
        "{text}"
    );
}

/// The Python that has PyTorch: `$OPTIMC_PYTHON` (`.ci/run` points it at the venv it installs
/// torch 2.15 into), else `python3`.
fn torch_python() -> String {
    std::env::var("OPTIMC_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs every snippet's `build` in one Python process (one `import torch`, not one per file) and
/// steps it for `epochs` epochs; prints one JSON line per driver: `{"lr": [[...], ...]}` or
/// `{"error": "ExceptionName: message"}`.
const TORCH_RUNNER: &str = r#"
import importlib.util, json, sys, traceback
import torch

class Model(torch.nn.Module):
    def __init__(self, names):
        super().__init__()
        self.ps = [(n, torch.nn.Parameter(torch.zeros(1))) for n in names]
    def named_parameters(self, *a, **k):
        return iter(self.ps)

jobs = json.load(open(sys.argv[1]))
for job in jobs:
    try:
        spec = importlib.util.spec_from_file_location("snippet", job["file"])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        optimizer, scheduler = module.build(Model(job["names"]))
        lrs = [[] for _ in optimizer.param_groups]
        moms = [[] for _ in optimizer.param_groups]
        for e in range(job["epochs"]):
            for i, g in enumerate(optimizer.param_groups):
                lrs[i].append(g["lr"])
                moms[i].append(g["betas"][0] if "betas" in g else g.get("momentum"))
            optimizer.step()
            if scheduler is not None:
                scheduler.step(job["metrics"][e]) if job["needs_metric"] else scheduler.step()
        print(json.dumps({"lr": lrs, "momentum": moms}))
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
"#;

// Ignored by default (it needs torch, a 3 GB install) so that the skip shows in `cargo test`'s
// summary instead of passing silently; `.ci/run` installs torch and runs it with `--ignored`,
// where a missing torch is a failure.
#[test]
#[ignore = "needs PyTorch: run by .ci/run, or `OPTIMC_PYTHON=venv/bin/python cargo test -- --ignored`"]
fn the_snippet_matches_optimc_trace() {
    let probe = Command::new(torch_python())
        .args(["-c", "import torch"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", torch_python()));
    assert!(
        probe.status.success(),
        "`{} -c 'import torch'` fails: {}",
        torch_python(),
        String::from_utf8_lossy(&probe.stderr)
    );
    let dir = scratch("torch");
    // The recipes' references run up to 300 steps (YOLO's warmup alone is 125): their whole
    // length is compared, past every warmup; the other files over 60 epochs.
    let (epochs, recipe_steps) = (60, 300);
    let metrics: Vec<f64> = std::fs::read_to_string(root().join("examples/val_loss.txt"))
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    // (file, optimc's trace) of every case PyTorch can run, and the jobs for the runner.
    let mut cases = Vec::new();
    let mut jobs = Vec::new();
    // (file, why) of every file not compared: never a recipe.
    let mut skipped: Vec<(String, String)> = Vec::new();
    let recipes = optim_files(&["examples/recipes"]);
    for path in example_and_conformance_files()
        .into_iter()
        .chain(recipes.iter().cloned())
    {
        let is_recipe = recipes.contains(&path);
        let epochs = if is_recipe { recipe_steps } else { epochs };
        let config = Config::from_path(&path).unwrap();
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .to_string();
        let needs_metric = (0..config.groups.len()).any(|i| {
            config
                .schedule_of(i)
                .is_some_and(ScheduleConfig::needs_metric)
        });
        let text = to_pytorch(&config);
        // What PyTorch cannot run (`plateau` inside `sequence`...), the snippet says it raises.
        if let Some(at) = text.find("raise NotImplementedError(") {
            assert!(!is_recipe, "{rel}: the export of a recipe raises:\n{text}");
            let why = text[at..].lines().next().unwrap_or_default().to_string();
            skipped.push((rel, why));
            continue;
        }
        let mut args = vec![
            "trace".to_string(),
            rel.clone(),
            "--epochs".into(),
            epochs.to_string(),
            "--format".into(),
            "json".into(),
        ];
        if needs_metric {
            args.extend(["--metrics".into(), "examples/val_loss.txt".into()]);
        }
        let trace = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .args(&args)
            .current_dir(root())
            .output()
            .unwrap();
        // A `one_cycle` shorter than the horizon cannot be traced that far (PyTorch raises
        // past `total_steps` too); those cases are compared in conformance_lr.rs instead.
        if trace.status.code() == Some(2)
            && String::from_utf8_lossy(&trace.stderr).contains("one_cycle has total_steps")
        {
            assert!(!is_recipe, "{rel}: a recipe shorter than {epochs} steps");
            skipped.push((rel, "one_cycle shorter than the horizon".into()));
            continue;
        }
        assert!(trace.status.success(), "{rel}");
        let expected: serde_json::Value = serde_json::from_slice(&trace.stdout).unwrap();
        // One parameter per group, named so that exactly its own patterns claim it first.
        let names: Vec<String> = config
            .groups
            .iter()
            .map(|g| g.params[0].replace('*', "x").replace('?', "y"))
            .collect();
        let file = dir.join(format!("snippet_{}.py", cases.len()));
        std::fs::write(&file, &text).unwrap();
        jobs.push(serde_json::json!({
            "file": file, "names": names, "epochs": epochs,
            "metrics": metrics, "needs_metric": needs_metric,
        }));
        cases.push((rel, expected));
    }
    assert!(cases.len() > 60, "only {} cases", cases.len());
    for (rel, why) in &skipped {
        eprintln!("note: {rel} is not compared: {why}");
    }
    let compared_recipes = cases
        .iter()
        .filter(|(rel, _)| rel.starts_with("examples/recipes/"))
        .count();
    assert_eq!(compared_recipes, recipes.len(), "every recipe is compared");
    let jobs_file = dir.join("jobs.json");
    std::fs::write(&jobs_file, serde_json::to_string(&jobs).unwrap()).unwrap();
    let runner = dir.join("runner.py");
    std::fs::write(&runner, TORCH_RUNNER).unwrap();
    let out = Command::new(torch_python())
        .arg(&runner)
        .arg(&jobs_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), cases.len());
    for ((rel, expected), got) in cases.iter().zip(&results) {
        // Where optimc's lr is not finite, Python raises instead of dividing by zero or
        // overflowing: the README documents that difference.
        let finite = expected["lr"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g.as_array().unwrap())
            .all(|v| v.as_f64().is_some_and(f64::is_finite));
        if !finite {
            let error = got["error"].as_str().unwrap_or("");
            assert!(
                ["ZeroDivisionError", "OverflowError", "ValueError"]
                    .iter()
                    .any(|e| error.starts_with(e)),
                "{rel}: optimc's lr is not finite, so Python should raise; it gave {got}"
            );
            continue;
        }
        assert_eq!(got["lr"], expected["lr"], "{rel}: PyTorch gave {got}");
        assert_same_momenta(rel, &expected["momentum"], &got["momentum"]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Where optimc's trace has a momentum for a group (its schedule sets it), PyTorch's group
/// holds the same at every step, to the bit.
fn assert_same_momenta(name: &str, expected: &serde_json::Value, got: &serde_json::Value) {
    let Some(expected) = expected.as_array() else {
        return; // no schedule sets momentum
    };
    for (g, want) in expected.iter().enumerate() {
        if !want.is_null() {
            assert_eq!(
                &got[g], want,
                "{name}: group {g}'s momentum, PyTorch gave {got}"
            );
        }
    }
}

#[test]
fn nested_schedules_build_children_first() {
    let text = snippet(
        "optimizer = sgd(lr = 0.1, momentum = 0.9)\n\
         schedule = sequence(chain(constant(0.5, 3), exponential(0.9)), \
         cyclic(0.01, 0.1, scale_fn = x -> 1 / (2 ** (x - 1)), scale_mode = cycle), milestones = [10])",
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{text}"))
    };
    assert!(
        at("scheduler_1 = torch.optim.lr_scheduler.ConstantLR(")
            < at("scheduler_3 = torch.optim.lr_scheduler.ChainedScheduler(")
    );
    assert!(at("scheduler_2 = torch.optim.lr_scheduler.ExponentialLR(") < at("scheduler_3 ="));
    assert!(at("scheduler_3 =") < at("scheduler_4 = torch.optim.lr_scheduler.CyclicLR("));
    assert!(
        text.contains("schedulers=[scheduler_3, scheduler_4],"),
        "{text}"
    );
    assert!(text.contains("scale_fn=scale_fn,"), "{text}");
    assert!(
        text.contains("def scale_fn(x):\n    x = float(x)\n    return 1.0 / 2.0 ** (x - 1.0)\n"),
        "{text}"
    );
    compile(&text);
}

#[test]
fn issue_15_optimizers_are_written_with_their_classes_and_none() {
    let text = snippet("optimizer = adafactor(lr = 0.01, eps = (none, 1e-2))\ngroup a { params = \"a.*\", eps = (1e-30, 1e-3) }");
    assert!(
        text.contains("optimizer = torch.optim.Adafactor("),
        "{text}"
    );
    assert!(text.contains("        eps=(None, 0.01),\n"), "{text}");
    assert!(text.contains("\"eps\": (1e-30, 0.001)"), "{text}");
    compile(&text);
    let text = snippet("optimizer = muon(lr = 0.02, adjust_lr_fn = \"match_rms_adamw\", ns_steps = 3, ns_coefficients = (3, -3.2, 1.2))\ngroup a { params = \"*\", adjust_lr_fn = none }");
    assert!(text.contains("optimizer = torch.optim.Muon("), "{text}");
    assert!(text.contains("adjust_lr_fn=\"match_rms_adamw\","), "{text}");
    assert!(text.contains("ns_steps=3,"), "{text}");
    assert!(text.contains("ns_coefficients=(3.0, -3.2, 1.2),"), "{text}");
    assert!(text.contains("\"adjust_lr_fn\": None"), "{text}");
    compile(&text);
    for (source, class) in [
        ("asgd(lr = 0.01, t0 = 100)", "torch.optim.ASGD("),
        ("rprop(lr = 0.01, etas = (0.4, 1.5))", "torch.optim.Rprop("),
    ] {
        let text = snippet(&format!("optimizer = {source}"));
        assert!(text.contains(class), "{text}");
        assert!(!text.contains("timm"), "{text}");
        compile(&text);
    }
    // timm's Lion and Lamb are imported by name.
    for (source, class) in [
        ("lion(lr = 1e-4, caution = true)", "Lion"),
        ("lamb(lr = 1e-3, max_grad_norm = none)", "Lamb"),
    ] {
        let text = snippet(&format!("optimizer = {source}"));
        assert!(
            text.contains(&format!("import torch\nfrom timm.optim import {class}\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("    optimizer = {class}(\n")),
            "{text}"
        );
        assert!(!text.contains("torch.optim.L"), "{text}");
        compile(&text);
    }
    assert!(snippet("optimizer = lamb(lr = 1e-3, max_grad_norm = none)")
        .contains("max_grad_norm=None,"));
}

#[test]
fn swa_is_written_as_swa_utils_swalr() {
    let text = snippet(
        "optimizer = sgd(lr = 0.05, momentum = 0.9)\ngroup a { params = \"a.*\" }\ngroup b { params = \"b.*\" }\n\
         schedule = sequence(cosine(t_max = 20), swa(swa_lr = [0.02, 0.005], anneal_epochs = 5, \
         anneal_strategy = linear), milestones = [20])",
    );
    assert!(
        text.contains(
            "    scheduler_2 = torch.optim.swa_utils.SWALR(\n        optimizer,\n        \
             swa_lr=[0.02, 0.005],\n        anneal_epochs=5,\n        anneal_strategy=\"linear\",\n    )\n"
        ),
        "{text}"
    );
    compile(&text);
}

#[test]
fn an_average_becomes_an_averaged_model() {
    let ema = snippet(
        "optimizer = sgd(lr = 0.1)\nschedule = cosine(t_max = 10)\naverage = ema(decay = 0.99, start = 3)",
    );
    assert!(ema.contains("\nAVERAGE_START = 3\n"), "{ema}");
    assert!(
        ema.contains(
            "    return torch.optim.swa_utils.AveragedModel(\n        model, \
             multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.99)\n    )\n"
        ),
        "{ema}"
    );
    compile(&ema);
    let swa = snippet("optimizer = sgd(lr = 0.1)\naverage = swa(start = 7)");
    assert!(swa.contains("\nAVERAGE_START = 7\n"), "{swa}");
    assert!(
        swa.contains("    return torch.optim.swa_utils.AveragedModel(model)\n"),
        "{swa}"
    );
    compile(&swa);
    assert!(
        swa.contains("    if scheduler_steps >= AVERAGE_START:\n        averaged_model.update_parameters(model)\n"),
        "{swa}"
    );
    assert!(swa.contains(": epochs ended.\nAVERAGE_START"), "{swa}");
    let per_step = snippet(
        "optimizer = sgd(lr = 0.1)\nrun = per_step(steps = 100)\naverage = swa(start = 70)",
    );
    assert!(
        per_step.contains(
            ": batches ended (the file steps its schedule per batch).\nAVERAGE_START = 70\n"
        ),
        "{per_step}"
    );
    assert!(!snippet("optimizer = sgd(lr = 0.1)").contains("AveragedModel"));
}

/// Trains a module with one parameter per group (shaped as the case's) with the snippet's
/// optimizer, scheduler, `averaged(model)` and `update_average` (one step per epoch), on the
/// case's gradients; prints `{"lr", "averaged"}` as JSON.
const AVERAGE_RUNNER: &str = r#"
import importlib.util, json, sys
import torch

case = json.load(open(sys.argv[2]))
spec = importlib.util.spec_from_file_location("snippet", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        for g in case["groups"]:
            init = torch.tensor(case["init"][g["name"]], dtype=torch.float32)
            self.register_parameter(g["name"], torch.nn.Parameter(init.reshape(g["shape"])))

model = Model()
optimizer, scheduler = module.build(model)
averaged_model = module.averaged(model)
lrs = [[] for _ in optimizer.param_groups]
averaged = []
for e in range(case["epochs"]):
    for i, g in enumerate(optimizer.param_groups):
        lrs[i].append(g["lr"])
    for g in case["groups"]:
        p = getattr(model, g["name"])
        p.grad = torch.tensor(case["grads"][e][g["name"]], dtype=torch.float32).reshape(p.shape)
    optimizer.step()
    module.update_average(averaged_model, model, e)
    if e >= module.AVERAGE_START:
        averaged.append({g["name"]: getattr(averaged_model.module, g["name"]).detach().flatten().tolist()
                         for g in case["groups"]})
    else:
        averaged.append(None)
    if scheduler is not None:
        scheduler.step()
print(json.dumps({"lr": lrs, "averaged": averaged}))
"#;

/// The snippet of every recorded averaging case, run by real PyTorch, reproduces the recorded
/// lrs and averaged parameters.
#[test]
#[ignore = "needs PyTorch: run by .ci/run, or `OPTIMC_PYTHON=venv/bin/python cargo test -- --ignored`"]
fn averaged_snippets_reproduce_the_recorded_cases() {
    let dir = scratch("torch-average");
    let runner = dir.join("runner.py");
    std::fs::write(&runner, AVERAGE_RUNNER).unwrap();
    let mut ran = 0;
    for name in ["swa_cos_sequential", "ema_averaged", "ema_start_cosine"] {
        let case_dir = root().join("tests/conformance/optimizers");
        let config = Config::from_path(case_dir.join(format!("{name}.optim"))).unwrap();
        let file = dir.join(format!("{name}.py"));
        std::fs::write(&file, to_pytorch(&config)).unwrap();
        let json_path = case_dir.join(format!("{name}.json"));
        let out = Command::new(torch_python())
            .arg(&runner)
            .arg(&file)
            .arg(&json_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        assert_eq!(got["lr"], case["expected"]["lr"], "{name}: lrs");
        // The same torch computed both: equal to the bit.
        assert_eq!(
            got["averaged"], case["expected"]["averaged"],
            "{name}: averaged"
        );
        ran += 1;
    }
    assert_eq!(ran, 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs each job's snippet `build` for `steps` steps twice: straight through, and stopped at
/// `resume` to go on from a second `build` given the first one's `state_dict`s (through
/// `torch.save` and `torch.load(weights_only=True)`, as a checkpoint would). Prints one line per
/// job, `{"lr": ..., "resumed": ...}`: each group's lrs, the resumed run's from step `resume` on.
const RESUME_RUNNER: &str = r#"
import importlib.util, io, json, sys
import torch

class Model(torch.nn.Module):
    def __init__(self, names):
        super().__init__()
        self.ps = [(n, torch.nn.Parameter(torch.zeros(1))) for n in names]
    def named_parameters(self, *a, **k):
        return iter(self.ps)

def run(optimizer, scheduler, start, stop, lrs, moms):
    for _ in range(start, stop):
        for i, g in enumerate(optimizer.param_groups):
            lrs[i].append(g["lr"])
            moms[i].append(g["betas"][0] if "betas" in g else g.get("momentum"))
        optimizer.step()
        scheduler.step()

for job in json.load(open(sys.argv[1])):
    spec = importlib.util.spec_from_file_location("snippet", job["file"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    optimizer, scheduler = module.build(Model(job["names"]))
    lrs = [[] for _ in optimizer.param_groups]
    moms = [[] for _ in optimizer.param_groups]
    run(optimizer, scheduler, 0, job["steps"], lrs, moms)

    optimizer, scheduler = module.build(Model(job["names"]))
    skipped = [[] for _ in optimizer.param_groups]
    run(optimizer, scheduler, 0, job["resume"], skipped, [[] for _ in skipped])
    saved = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, saved)
    saved.seek(0)
    state = torch.load(saved, weights_only=True)
    optimizer, scheduler = module.build(Model(job["names"]))
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    resumed = [[] for _ in optimizer.param_groups]
    resumed_moms = [[] for _ in optimizer.param_groups]
    run(optimizer, scheduler, job["resume"], job["steps"], resumed, resumed_moms)
    print(json.dumps({"lr": lrs, "resumed": resumed, "momentum": moms,
                      "resumed_momentum": resumed_moms}), flush=True)
"#;

/// The lrs of every `(name, .optim text)` traced by optimc and by its PyTorch snippet (all in
/// one Python process), compared to the bit, straight through and resumed from `state_dict`s at
/// step `resume`. Returns the snippets.
fn compare_with_torch(cases: &[(&str, String)], steps: usize, resume: usize) -> Vec<String> {
    let dir = scratch("torch-resume");
    let mut jobs = Vec::new();
    let mut expected = Vec::new();
    let mut texts = Vec::new();
    for (i, (name, source)) in cases.iter().enumerate() {
        let optim = dir.join(format!("{name}.optim"));
        std::fs::write(&optim, source).unwrap();
        let config = Config::from_path(&optim).unwrap();
        let text = to_pytorch(&config);
        assert!(!text.contains("NotImplementedError"), "{name}:\n{text}");
        let trace = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .arg("trace")
            .arg(&optim)
            .args(["--epochs", &steps.to_string(), "--format", "json"])
            .output()
            .unwrap();
        assert!(
            trace.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&trace.stderr)
        );
        expected.push(serde_json::from_slice::<serde_json::Value>(&trace.stdout).unwrap());
        let file = dir.join(format!("snippet_{i}.py"));
        std::fs::write(&file, &text).unwrap();
        let names: Vec<String> = config
            .groups
            .iter()
            .map(|g| g.params[0].replace('*', "x").replace('?', "y"))
            .collect();
        jobs.push(
            serde_json::json!({"file": file, "names": names, "steps": steps, "resume": resume}),
        );
        texts.push(text);
    }
    let jobs_file = dir.join("jobs.json");
    std::fs::write(&jobs_file, serde_json::to_string(&jobs).unwrap()).unwrap();
    let runner = dir.join("runner.py");
    std::fs::write(&runner, RESUME_RUNNER).unwrap();
    let out = Command::new(torch_python())
        .arg(&runner)
        .arg(&jobs_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A Python error names the case it stopped at: the first without a result.
    assert!(
        out.status.success(),
        "{}: {}",
        cases.get(results.len()).map_or("?", |c| c.0),
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, ((name, _), got)) in cases.iter().zip(&results).enumerate() {
        let text = &texts[i];
        assert_eq!(
            got["lr"], expected[i]["lr"],
            "{name}: PyTorch gave {got}\n{text}"
        );
        let tail: Vec<Vec<serde_json::Value>> = expected[i]["lr"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_array().unwrap()[resume..].to_vec())
            .collect();
        assert_eq!(got["resumed"], serde_json::json!(tail), "{name}: resumed");
        assert_same_momenta(name, &expected[i]["momentum"], &got["momentum"]);
        // Resumed from the optimizer's and scheduler's `state_dict`s, the momenta go on too.
        let momentum_tail: Vec<serde_json::Value> = expected[i]["momentum"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| match g.as_array() {
                Some(m) => serde_json::json!(m[resume..]),
                None => serde_json::Value::Null,
            })
            .collect();
        assert_same_momenta(
            &format!("{name} (resumed)"),
            &serde_json::json!(momentum_tail),
            &got["resumed_momentum"],
        );
    }
    assert_eq!(results.len(), cases.len());
    std::fs::remove_dir_all(&dir).unwrap();
    texts
}
/// The snippet's `Warmup` class computes optimc's lrs to the bit for every clock, shape and
/// `then_every`, beneath or inside `sequence` and `chain` (where `SequentialLR` starts it over),
/// and resumes from its `state_dict`; with `start_momentum`, its momenta (or `betas[0]`) too.
#[test]
#[ignore = "needs PyTorch: run by .ci/run, or `OPTIMC_PYTHON=venv/bin/python cargo test -- --ignored`"]
fn the_warmup_class_matches_optimc_trace() {
    let groups = "optimizer = sgd(lr = 0.1, momentum = 0.9)\ngroup a { params = \"a\" }\n\
                  group b { params = \"b\", lr = 0.03 }\n";
    let cases = [
        (
            "overlap_cosine_every",
            "warmup(steps = 7, start_factor = 0.1, shape = cosine, clock = overlap, then_every = 3, \
             then = step(step_size = 2, gamma = 0.5))",
        ),
        (
            "after_every",
            "warmup(steps = 6, start_factor = 0.2, then_every = 4, then = exponential(gamma = 0.9))",
        ),
        (
            "follow_start_lr_every",
            "warmup(steps = 9, start_lr = [0.2, 0.001], clock = follow, then_every = 2, \
             then = multistep(milestones = [3, 5], gamma = 0.5))",
        ),
        (
            "follow_constant_shape",
            "warmup(steps = 8, start_factor = 0.3, shape = constant, clock = follow, \
             then = cosine(t_max = 12))",
        ),
        (
            "overlap_beneath_a_sequence",
            "warmup(steps = 6, clock = overlap, \
             then = sequence(constant(factor = 0.5, total_iters = 3), exponential(0.9), milestones = [4]))",
        ),
        (
            "overlap_later_in_a_sequence",
            "sequence(exponential(0.95), warmup(steps = 5, start_factor = 0.1, clock = overlap, \
             then = cosine(t_max = 20)), milestones = [8])",
        ),
        (
            "follow_first_in_a_sequence",
            "sequence(warmup(steps = 5, clock = follow, then_every = 2, \
             then = linear(start_factor = 0.5, total_iters = 4)), exponential(0.9), milestones = [12])",
        ),
        (
            "nested_warmups_in_a_sequence",
            "sequence(exponential(0.9), warmup(steps = 4, clock = overlap, \
             then = warmup(steps = 3, start_factor = 0.5, clock = follow, then = exponential(0.8))), \
             milestones = [6])",
        ),
        // Warmups of the default clock (`after`) wherever a schedule may be: a `SequentialLR`
        // cannot be a later child of another (it has no `get_lr` for the milestone's restart).
        (
            "after_later_in_a_sequence",
            "sequence(exponential(0.95), warmup(steps = 5, start_factor = 0.1, \
             then = cosine(t_max = 20)), milestones = [8])",
        ),
        (
            "after_from_zero_first_in_a_sequence",
            "sequence(warmup(steps = 4, shape = cosine, then = exponential(0.9)), \
             step(step_size = 3, gamma = 0.5), milestones = [10])",
        ),
        (
            "after_start_lr_later_in_a_sequence",
            "sequence(constant(factor = 0.5, total_iters = 3), exponential(0.9), \
             warmup(steps = 6, start_lr = [0.001, 0.2], then = step(step_size = 4, gamma = 0.5)), \
             milestones = [5, 12])",
        ),
        (
            "after_in_a_chain",
            "chain(warmup(steps = 6, start_factor = 0.25, then = exponential(0.9)), \
             constant(factor = 0.5, total_iters = 10))",
        ),
        (
            "after_constant_in_a_chain_second",
            "chain(exponential(0.95), warmup(steps = 5, start_factor = 0.2, shape = constant, \
             then = step(step_size = 3, gamma = 0.5)))",
        ),
        (
            "after_over_a_sequence",
            "warmup(steps = 5, then = sequence(constant(factor = 0.5, total_iters = 3), \
             exponential(0.9), milestones = [4]))",
        ),
        (
            "after_over_a_chain",
            "warmup(steps = 5, start_factor = 0.1, then = chain(exponential(0.9), \
             multistep(milestones = [3, 6], gamma = 0.5)))",
        ),
        (
            "after_over_an_after_warmup",
            "warmup(steps = 3, then = warmup(steps = 4, start_factor = 0.5, then = exponential(0.9)))",
        ),
        // A `then` that starts below the groups' lrs: the ramp rises to its first lrs, where
        // `SequentialLR`'s warmup would rise to the groups' own.
        (
            "after_over_a_lower_start",
            "warmup(steps = 3, start_factor = 0.2, then = linear(start_factor = 0.5, total_iters = 4))",
        ),
        (
            "overlap_in_a_chain",
            "chain(warmup(steps = 6, clock = overlap, then = exponential(0.9)), \
             constant(factor = 0.5, total_iters = 10))",
        ),
        // Warmups of the momentum: YOLO's, every clock and shape, in a sequence (first, and
        // later: the momentum is the optimizer's until the milestone), resumed mid-warmup.
        (
            "follow_momentum_every",
            "warmup(steps = 9, start_lr = [0.2, 0.001], start_momentum = [0.8, 0.5], \
             clock = follow, then_every = 2, then = multistep(milestones = [3, 5], gamma = 0.5))",
        ),
        (
            "after_momentum_cosine",
            "warmup(steps = 8, start_momentum = 0.7, shape = cosine, \
             then = exponential(gamma = 0.9))",
        ),
        (
            "overlap_momentum_constant",
            "warmup(steps = 7, start_factor = 0.1, start_momentum = 0.6, shape = constant, \
             clock = overlap, then = cosine(t_max = 20))",
        ),
        (
            "momentum_first_in_a_sequence",
            "sequence(warmup(steps = 9, start_momentum = 0.5, then = constant(factor = 1)), \
             exponential(0.9), milestones = [12])",
        ),
        (
            "momentum_later_in_a_sequence",
            "sequence(exponential(0.95), warmup(steps = 6, start_momentum = 0.5, clock = follow, \
             then = cosine(t_max = 20)), milestones = [3])",
        ),
    ];
    let mut cases: Vec<(&str, String)> = cases
        .iter()
        .map(|(name, schedule)| (*name, format!("{groups}schedule = {schedule}")))
        .collect();
    // Under `LrScale`, which runs the warmup on the unscaled lrs.
    cases.push((
        "follow_lr_scale",
        "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a\", lr_scale = 0.25 }\n\
         group b { params = \"b\", lr = 0.03 }\nschedule = warmup(steps = 7, start_lr = [0.3, 0], \
         clock = follow, then_every = 3, then = exponential(0.8))"
            .to_string(),
    ));
    // `betas[0]` of an optimizer with betas.
    cases.push((
        "adamw_betas_momentum",
        "optimizer = adamw(lr = 0.01, betas = (0.95, 0.999))\ngroup a { params = \"a\" }\n\
         group b { params = \"b\", betas = (0.9, 0.98) }\n\
         schedule = warmup(steps = 9, start_momentum = [0.85, 0.8], clock = follow, \
         then_every = 3, then = cosine(t_max = 10))"
            .to_string(),
    ));
    for (text, (name, _)) in compare_with_torch(&cases, 40, 5).iter().zip(&cases) {
        assert!(text.contains("Warmup("), "{name}:\n{text}");
    }
}

/// Per-group schedules that set the lr itself (`absolute`, fairseq's...), beside lambdas and
/// constant groups, are one `AbsoluteLR` with a function per group, equal to optimc's lrs to the
/// bit; so are the whole-file ones, which resume from their `state_dict` too.
#[test]
#[ignore = "needs PyTorch: run by .ci/run, or `OPTIMC_PYTHON=venv/bin/python cargo test -- --ignored`"]
fn absolute_lr_schedules_match_optimc_trace() {
    let cases: Vec<(&str, String)> = [
        (
            "per_group_mixed",
            "optimizer = adamw(lr = 1e-3)\n\
             group a { params = \"a\", schedule = absolute(s -> 2e-3 * 0.9 ** s) }\n\
             group b { params = \"b\", lr = 3e-4, schedule = lambda(s -> 0.5 ** (s // 4)) }\n\
             group c { params = \"c\" }\n\
             group d { params = \"d\", lr = 0.3, schedule = fairseq_inverse_sqrt(warmup_updates = 5) }",
        ),
        (
            "per_group_absolute_lr_scale",
            "optimizer = sgd(lr = 0.1)\n\
             group a { params = \"a\", lr_scale = 0.5, schedule = absolute(s -> if s < 3 then 0.1 * (s + 1) / 3 else 0.1 * 0.95 ** s) }\n\
             group b { params = \"b\", schedule = absolute(s -> let c = s // 5 in 0.02 / (1 + c)) }",
        ),
        (
            "whole_file_absolute",
            "optimizer = sgd(lr = 0.1)\ngroup a { params = \"a\" }\ngroup b { params = \"b\", lr = 0.5 }\n\
             schedule = absolute(s -> 0.05 * 0.9 ** s)",
        ),
        (
            "whole_file_nanogpt",
            "optimizer = adamw(lr = 6e-4)\ngroup a { params = \"a\" }\ngroup b { params = \"b\", lr = 1e-3 }\n\
             schedule = nanogpt_cosine(warmup_iters = 5, lr_decay_iters = 30)",
        ),
    ]
    .iter()
    .map(|(name, source)| (*name, source.to_string()))
    .collect();
    for (text, (name, _)) in compare_with_torch(&cases, 40, 7).iter().zip(&cases) {
        assert!(text.contains("= AbsoluteLR("), "{name}:\n{text}");
    }
}

#[test]
fn per_group_absolute_schedules_are_one_absolute_lr() {
    let text = snippet(
        "optimizer = sgd(lr = 0.1)\n\
         group a { params = \"a\", schedule = absolute(s -> 0.1 * 0.9 ** s) }\n\
         group b { params = \"b\", schedule = lambda(s -> 0.5 ** s) }\n\
         group c { params = \"c\" }",
    );
    assert!(
        text.contains(
            "    scheduler = AbsoluteLR(\n        optimizer,\n        lr_at=[\n            \
             lr_at_0,  # a\n            lambda step, base_lr: base_lr * lr_lambda_1(step),  # b\n            \
             lambda step, base_lr: base_lr,  # c (constant)\n        ],\n    )\n"
        ),
        "{text}"
    );
    assert!(text
        .contains("def lr_at_0(step, base_lr):\n    s = float(step)\n    return 0.1 * 0.9 ** s\n"));
    assert!(!text.contains("NotImplementedError"), "{text}");
    compile(&text);
    // Other kinds beside them still have no PyTorch form.
    let text = snippet(
        "optimizer = sgd(lr = 0.1)\n\
         group a { params = \"a\", schedule = absolute(s -> 0.1 * 0.9 ** s) }\n\
         group b { params = \"b\", schedule = step(step_size = 3) }",
    );
    assert!(
        text.contains("raise NotImplementedError(\"per-group schedules"),
        "{text}"
    );
}

//! Every subcommand's stdout, when it cannot be written: a full device (`> /dev/full`) is a
//! diagnostic and exit 2; a pipe whose reader has gone (`| head -1`) ends the output quietly
//! with the exit code the command would have had. Never a panic.

use crate::common::{root, scratch};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[derive(Clone, Copy, Debug)]
enum Sink {
    /// `> /dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose read end is closed before optimc starts: every write fails with EPIPE.
    ClosedPipe,
}

fn run(args: &[&str], stdin: Option<&Path>, stdout: Sink) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_optimc"));
    command.args(args).current_dir(root()).env("NO_COLOR", "1");
    command.stdin(match stdin {
        Some(path) => Stdio::from(File::open(path).unwrap()),
        None => Stdio::null(),
    });
    match stdout {
        Sink::Full => {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full exists on Linux");
            command.stdout(full);
        }
        Sink::ClosedPipe => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            command.stdout(writer);
        }
    }
    command.stderr(Stdio::piped());
    command.output().unwrap()
}

/// One command line, what it reads on stdin, and its exit code when its output is read.
struct Case {
    args: Vec<String>,
    stdin: Option<PathBuf>,
    code: i32,
    /// Whether it writes to stdout at all (`check -q` and `plot` do not).
    writes: bool,
}

fn case(args: &[&str], code: i32) -> Case {
    Case {
        args: args.iter().map(|a| a.to_string()).collect(),
        stdin: None,
        code,
        writes: true,
    }
}

fn cases(dir: &Path) -> Vec<Case> {
    let unformatted = dir.join("unformatted.optim");
    std::fs::write(&unformatted, "optimizer=sgd(lr=0.1)\n").unwrap();
    let unformatted = unformatted.to_str().unwrap().to_string();
    let svg = dir.join("lr.svg").to_str().unwrap().to_string();
    let mut cases = vec![
        case(&["check", "examples/finetune.optim"], 0),
        Case {
            writes: false,
            ..case(&["check", "-q", "examples/finetune.optim"], 0)
        },
        case(&["check", "--format", "json", "examples/finetune.optim"], 0),
        case(
            &[
                "check",
                "--format",
                "json",
                "tests/fixtures/invalid/negative_lr.optim",
            ],
            1,
        ),
        case(
            &[
                "replay",
                "tests/conformance/torch/adam_amsgrad.optim",
                "--trace",
                "tests/conformance/torch/adam_amsgrad.json",
            ],
            0,
        ),
        Case {
            stdin: Some(root().join("examples/finetune.optim")),
            ..case(&["fmt", "-"], 0)
        },
        case(&["fmt", "--check", &unformatted], 1),
        Case {
            writes: false,
            ..case(
                &[
                    "plot",
                    "examples/finetune.optim",
                    "--epochs",
                    "50",
                    "-o",
                    &svg,
                ],
                0,
            )
        },
        case(&["--help"], 0),
        case(&["--version"], 0),
    ];
    for format in ["table", "csv", "json"] {
        cases.push(case(
            &[
                "trace",
                "examples/finetune.optim",
                "--epochs",
                "100000",
                "--format",
                format,
            ],
            0,
        ));
    }
    for to in ["json", "toml", "pytorch"] {
        cases.push(case(&["export", "examples/finetune.optim", "--to", to], 0));
    }
    for shell in ["bash", "zsh", "fish"] {
        cases.push(case(&["completions", shell], 0));
    }
    cases
}

#[test]
fn a_full_device_is_an_error_and_a_closed_pipe_is_not() {
    let dir = scratch("output-errors");
    for case in cases(&dir) {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let what = args.join(" ");

        let out = run(&args, case.stdin.as_deref(), Sink::Full);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{what} > /dev/full: {stderr}");
        if case.writes {
            assert_eq!(out.status.code(), Some(2), "{what} > /dev/full: {stderr}");
            assert!(
                stderr.contains("optimc: cannot write to stdout: No space left on device"),
                "{what} > /dev/full: {stderr}"
            );
        } else {
            assert_eq!(
                out.status.code(),
                Some(case.code),
                "{what} > /dev/full: {stderr}"
            );
        }

        let out = run(&args, case.stdin.as_deref(), Sink::ClosedPipe);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(case.code),
            "{what} | (closed): {stderr}"
        );
        if case.code == 0 {
            assert_eq!(stderr, "", "{what} | (closed)");
        }
        assert!(!stderr.contains("panicked"), "{what} | (closed): {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Diagnostics go to stderr; when that fails too there is nowhere left to say so, and the exit
/// code still tells what happened.
#[test]
fn a_failing_stderr_keeps_the_exit_code() {
    for (args, code) in [
        (&["check", "missing.optim"][..], 2),
        (&["check", "tests/fixtures/invalid/negative_lr.optim"], 1),
        (
            &[
                "trace",
                "tests/fixtures/invalid/negative_lr.optim",
                "--epochs",
                "3",
            ],
            1,
        ),
        (&["check", "--nope"], 2),
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .args(args)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?} 2> /dev/full");
    }
}

//! `optimc completions SHELL`: a script for each shell that knows every subcommand.

use std::process::Command;

#[test]
fn each_shell_gets_a_script_naming_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.len() > 500, "{shell}: {script}");
        for word in [
            "check",
            "trace",
            "fmt",
            "export",
            "completions",
            "--check",
            "pytorch",
        ] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    // Where bash is installed, its script must at least parse.
    let script = Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(["completions", "bash"])
        .output()
        .unwrap()
        .stdout;
    let path = std::env::temp_dir().join(format!("optimc-completion-{}.bash", std::process::id()));
    std::fs::write(&path, script).unwrap();
    match Command::new("bash").arg("-n").arg(&path).output() {
        Ok(out) => assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("note: bash is not installed; the bash script's syntax is not checked"),
    }
    let _ = std::fs::remove_file(&path);
    let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
        .args(["completions", "powershell-ish"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

//! Every file in `tests/fixtures/invalid/` holds one mistake. Each must be refused with a
//! diagnostic that points at a line and says how to fix it; the rendered text is snapshotted.

use std::path::Path;
use std::process::Command;

#[test]
fn invalid_fixtures_render_helpful_diagnostics() {
    insta::glob!(
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/invalid/*.optim",
        |path| {
            let bytes = std::fs::read(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy();
            let (config, diagnostics) = optimc::check_bytes(&name, &bytes);
            assert!(config.is_none(), "{name} was accepted");
            let errors: Vec<_> = diagnostics.errors().collect();
            assert!(!errors.is_empty(), "{name}: no error reported");
            for e in &errors {
                assert!(e.help.is_some(), "{name}: `{}` has no help line", e.message);
                assert!(
                    e.span.end <= diagnostics.source.len(),
                    "{name}: span past the end"
                );
            }
            insta::assert_snapshot!(diagnostics.render(false, 80));
        }
    );
}

#[test]
fn the_binary_exits_1_on_each_invalid_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new(env!("CARGO_BIN_EXE_optimc"))
            .arg("check")
            .arg(&path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("help:"), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(&format!("{}:", path.display())),
            "{}: no file:line in\n{stderr}",
            path.display()
        );
        count += 1;
    }
    assert!(count >= 25, "only {count} invalid fixtures");
}

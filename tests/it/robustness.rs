//! No input makes optimc panic: truncated and garbled versions of every example and conformance
//! file go through parse, check and (when they check) a schedule run.

use std::path::{Path, PathBuf};

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["examples", "tests/conformance/torch"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "optim") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn exercise(bytes: &[u8]) {
    let (config, _) = optimc::check_bytes("fuzz.optim", bytes);
    if let Some(config) = config {
        let mut schedule = optimc::Schedule::new(&config);
        for e in 0..50 {
            let _ = schedule.lrs();
            if schedule.needs_metric() {
                schedule.step_with(1.0 / (e as f64 + 1.0));
            } else {
                schedule.step().unwrap();
            }
        }
    }
}

#[test]
fn truncated_files_never_panic() {
    for path in sources() {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.char_indices() {
            exercise(&text.as_bytes()[..i]);
        }
    }
}

#[test]
fn garbled_files_never_panic() {
    const SNIPPETS: &[&[u8]] = &[
        b"(",
        b")",
        b"[",
        b"]",
        b"{",
        b"}",
        b",",
        b"=",
        b"->",
        b"**",
        b"//",
        b"-",
        b"not ",
        b"if ",
        b" then ",
        b" else ",
        b"\"",
        b"\\",
        b"#",
        b"\n",
        b"1e999",
        b"-1",
        b"0",
        b"1_000",
        b"nan",
        b"lambda(",
        b"chain(",
        b"sequence(",
        b"plateau(",
        b"x -> ",
        b"\xff",
        b"\0",
        b"group g { ",
        b"let a = ",
        b"schedule = ",
        b"optimizer = ",
        b"milestones = [",
        b"1e-300",
        b"e // 0",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for path in sources() {
        let original = std::fs::read(&path).unwrap();
        for _ in 0..40 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(4) {
                    0 => {
                        let end = (at + 1 + rng.below(8)).min(bytes.len());
                        bytes.drain(at.min(end)..end);
                    }
                    1 => {
                        let s = SNIPPETS[rng.below(SNIPPETS.len())];
                        bytes.splice(at..at, s.iter().copied());
                    }
                    2 => {
                        let end = (at + rng.below(16)).min(bytes.len());
                        let chunk: Vec<u8> = bytes[at.min(end)..end].to_vec();
                        bytes.splice(at..at, chunk);
                    }
                    _ => {
                        if !bytes.is_empty() {
                            let i = rng.below(bytes.len());
                            let j = rng.below(bytes.len());
                            bytes.swap(i, j);
                        }
                    }
                }
            }
            exercise(&bytes);
        }
    }
}

#[test]
fn the_binary_survives_garbage() {
    let dir = std::env::temp_dir().join(format!("optimc-garbage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: &[&[u8]] = &[
        b"",
        b"\xff\xfe\x00",
        b"optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 1 / 0)",
        b"optimizer = sgd(lr = 0.1)\nschedule = one_cycle(max_lr = 1, total_steps = 3)",
        b"optimizer = sgd(lr = 0.1)\nschedule = multistep(milestones = [18446744073709551615])",
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let path = dir.join(format!("case{i}.optim"));
        std::fs::write(&path, bytes).unwrap();
        for args in [vec!["check"], vec!["trace", "--epochs", "10"]] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_optimc"))
                .args(&args)
                .arg(&path)
                .output()
                .unwrap();
            let code = out.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "case {i} {args:?}: {code:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !String::from_utf8_lossy(&out.stderr).contains("panicked"),
                "case {i}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

//! Any bytes through the whole pipeline: parse, check, diagnostics rendering, fmt (which must
//! re-parse and be idempotent), export and a short trace. See `exercise.rs`, which the normal
//! test suite also compiles and runs (tests/proptest_pipeline.rs).
#![no_main]

#[path = "../exercise.rs"]
mod exercise;

libfuzzer_sys::fuzz_target!(|data: &[u8]| exercise::exercise(data));

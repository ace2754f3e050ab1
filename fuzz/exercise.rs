//! What the fuzz target and the property tests do with one input: everything a user can do
//! with a file, asserting only what must hold for every input. Any panic is a bug.

/// Runs `bytes` through parse → check → render, fmt, export and a trace of a few epochs.
pub fn exercise(bytes: &[u8]) {
    let (config, diagnostics) = optimc::check_bytes("fuzz.optim", bytes);
    let rendered = diagnostics.render(false, 80);
    assert_eq!(rendered.is_empty(), diagnostics.items.is_empty());
    assert!(diagnostics.items.len() <= optimc::limits::MAX_DIAGNOSTICS + 1);
    if config.is_none() {
        assert!(
            diagnostics.errors().next().is_some(),
            "refused without an error"
        );
    }
    if let Ok(source) = std::str::from_utf8(bytes) {
        if let Ok(formatted) = optimc::format::format_source(source) {
            let again = optimc::format::format_source(&formatted)
                .unwrap_or_else(|e| panic!("fmt output does not parse:\n{formatted}\n{e}"));
            assert_eq!(again, formatted, "fmt is not idempotent");
        }
    }
    let Some(config) = config else { return };
    let json = optimc::export::to_json(&config);
    let toml = optimc::export::to_toml(&config);
    let _ = optimc::export::pytorch::to_pytorch(&config);
    // Export round-trips (unless the schedule nests deeper than the JSON/TOML readers allow).
    if let Ok(back) = optimc::Config::from_json(&json) {
        assert_eq!(back, config, "JSON export does not round-trip:\n{json}");
    }
    if let Ok(back) = optimc::Config::from_toml(&toml) {
        assert_eq!(back, config, "TOML export does not round-trip:\n{toml}");
    }
    let mut schedule = optimc::Schedule::new(&config);
    for epoch in 0..20 {
        let _ = schedule.lrs();
        if schedule.needs_metric() {
            schedule.step_with(1.0 / (epoch as f64 + 1.0));
        } else {
            schedule.step().expect("no plateau");
        }
    }
}

//! Infinite and NaN values in what the commands print and read (issue 11 point 8): one JSON
//! encoding (`optimc::number`) that reads back exactly, and marks of their own in sparklines.

use crate::common::{optimc_in, scratch};
use optimc::number::Num;
use serde_json::Value;

/// The lr of every epoch of group 0 in JSON output, each read back with the documented
/// encoding (which refuses the `null` that main wrote for them).
fn lrs(json: &Value) -> Vec<f64> {
    serde_json::from_value::<Vec<Num<f64>>>(json["lr"][0].clone())
        .expect("every lr reads back")
        .into_iter()
        .map(|n| n.0)
        .collect()
}

#[test]
fn trace_json_writes_inf_and_nan_so_that_they_read_back() {
    let dir = scratch("non-finite-trace");
    // inf at epoch 0, then finite; and -inf, NaN.
    let cases: [(&str, &[f64]); 3] = [
        ("e -> 1/e", &[f64::INFINITY, 0.1, 0.05]),
        ("e -> -1/e + 0 * e", &[f64::NEG_INFINITY, -0.1, -0.05]),
        ("e -> if e == 1 then 0/0 else 1", &[0.1, f64::NAN, 0.1]),
    ];
    for (lambda, want) in cases {
        std::fs::write(
            dir.join("a.optim"),
            format!("optimizer = sgd(lr = 0.1)\nschedule = lambda({lambda})\n"),
        )
        .unwrap();
        let out = optimc_in(
            &dir,
            &["trace", "a.optim", "--epochs", "3", "--format", "json"],
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let got = lrs(&serde_json::from_str(&text).unwrap());
        assert_eq!(got.len(), want.len(), "{text}");
        for (g, w) in got.iter().zip(want) {
            assert!(g == w || (g.is_nan() && w.is_nan()), "{lambda}: {text}");
        }
    }
}

#[test]
fn sparklines_mark_non_finite_values_and_ranges_skip_them() {
    let dir = scratch("non-finite-sparkline");
    std::fs::write(
        dir.join("nan.optim"),
        "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 0/0)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("inf.optim"),
        "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 1/e)\n",
    )
    .unwrap();
    let table = |file: &str| {
        let out = optimc_in(&dir, &["trace", file, "--epochs", "4"]);
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines().last().unwrap().trim().to_string()
    };
    assert_eq!(table("nan.optim"), "default  ××××  × NaN");
    // inf is drawn as its own mark, not as the lowest bar; the range is of the finite lrs.
    assert_eq!(table("inf.optim"), "default  ↑█▄▁  0.0333333 .. 0.1, ↑ inf");
}

#[test]
fn replay_reads_and_writes_inf_and_nan_exactly() {
    let dir = scratch("non-finite-replay");
    std::fs::write(
        dir.join("a.optim"),
        "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 1/e)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("t.json"),
        r#"{"epochs": 2, "metrics": null, "init": {"w": [1.0, "NaN", 2.0]},
            "grads": [{"w": [0.5, "inf", "-inf"]}, {"w": [0.25, 1, 0]}]}"#,
    )
    .unwrap();
    let out = optimc_in(&dir, &["replay", "a.optim", "--trace", "t.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(lrs(&json)[0], f64::INFINITY, "{text}");
    let params: Vec<Num<f32>> = serde_json::from_value(json["params"][1]["w"].clone()).unwrap();
    // w[0] stepped with lr = inf: 1 - inf * 0.5; w[1] is NaN; w[2] = 2 - 0.1 * -inf.
    assert_eq!(params[0].0, f32::NEG_INFINITY, "{text}");
    assert!(params[1].0.is_nan(), "{text}");
    assert_eq!(params[2].0, f32::INFINITY, "{text}");

    // A number too large for an f32 is still refused; so is a string that names nothing.
    for bad in [r#"1e39"#, r#""big""#] {
        std::fs::write(
            dir.join("t.json"),
            format!(r#"{{"epochs": 1, "init": {{"w": [{bad}]}}, "grads": [{{"w": [1]}}]}}"#),
        )
        .unwrap();
        let out = optimc_in(&dir, &["replay", "a.optim", "--trace", "t.json"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

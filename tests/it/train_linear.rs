//! Runs the logic of `examples/train_linear.rs` and checks that the loss falls to the noise.

#[allow(dead_code)]
#[path = "../../examples/train_linear.rs"]
mod example;

#[test]
fn linear_regression_converges() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/train_linear.optim");
    let config = optimc::Config::from_path(path).unwrap();
    let losses = example::train(&config, 100).unwrap();
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < first * 1e-3, "loss {first} -> {last}");
    // The data's noise is uniform in ±0.01 per output: its mean square is about 1e-4 for 3 outputs.
    assert!(last < 1e-3, "loss did not reach the noise level: {last}");
}

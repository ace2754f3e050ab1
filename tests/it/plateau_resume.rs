//! Runs `examples/plateau_resume.rs`: a `plateau` run stopped, saved and resumed ends
//! bit-identical to an uninterrupted one, and the plateau did reduce the lr.

#[allow(dead_code)]
#[path = "../../examples/plateau_resume.rs"]
mod example;

#[test]
fn a_plateau_run_resumes_bit_for_bit() {
    let state = std::env::temp_dir().join(format!(
        "optimc-it-plateau-resume-{}.json",
        std::process::id()
    ));
    let (w, lr) = example::train(40, 20, &state).unwrap();
    std::fs::remove_file(&state).unwrap();
    let (w_once, lr_once) = example::train_uninterrupted(40).unwrap();
    assert_eq!(w.map(f32::to_bits), w_once.map(f32::to_bits));
    assert_eq!(lr.to_bits(), lr_once.to_bits());
    assert!(lr < 0.1, "the plateau never reduced the lr: {lr}");
}

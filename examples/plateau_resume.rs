//! Training with a `plateau` schedule, stopping half-way and resuming from the saved state.
//!
//! `cargo run --example plateau_resume` fits `w` to a target while a validation loss drives
//! `ReduceLROnPlateau`; the run is stopped after 20 epochs, its state saved with
//! `Trainer::save`, and a fresh trainer (a new process, in real life) loads it and finishes.
//! The resumed run ends bit-identical to an uninterrupted one.

use optimc::optim::ParamMut;
use optimc::{Config, Trainer};
use std::path::Path;

const SOURCE: &str = "optimizer = sgd(lr = 0.1, momentum = 0.5)\n\
                      group weights { params = \"*.weight\" }\n\
                      schedule = plateau(mode = min, factor = 0.5, patience = 2)\n";
const TARGET: [f32; 4] = [1.0, -2.0, 0.5, 3.0];

/// One epoch: a step on the training loss, then the schedule with the validation loss.
fn epoch(trainer: &mut Trainer, w: &mut [f32; 4]) -> Result<f64, optimc::Error> {
    let grad: [f32; 4] = std::array::from_fn(|i| w[i] - TARGET[i]);
    trainer.step(&mut [ParamMut::named("fc.weight", w, &grad)])?;
    // The validation loss: a noisy measurement that stops improving, so the plateau reduces.
    let loss: f64 = w
        .iter()
        .zip(TARGET)
        .map(|(&a, t)| f64::from(a - t).powi(2))
        .sum();
    let val_loss = (loss * 100.0).round().max(1.0);
    trainer.end_epoch_with(val_loss);
    Ok(val_loss)
}

/// Trains `epochs` epochs from scratch, saving the state to `state` after `stop_at` epochs and
/// resuming from it in a new trainer. Returns the final weights and lr.
pub fn train(
    epochs: usize,
    stop_at: usize,
    state: &Path,
) -> Result<([f32; 4], f64), Box<dyn std::error::Error>> {
    let config = Config::from_source("plateau.optim", SOURCE)?;
    let params = [("fc.weight", 4)];
    let mut trainer = Trainer::new(&config, &params)?;
    let mut w = [0.0f32; 4];
    for _ in 0..stop_at {
        epoch(&mut trainer, &mut w)?;
    }
    // Save what resuming needs: the trainer's state (optimizer buffers, schedule counters,
    // epoch) and the model's weights (here kept beside it; candle users save their VarMap).
    trainer.save(state)?;
    let saved_w = w;
    drop(trainer);

    // Later, in a fresh process: the same config and parameters, then `load`.
    let mut trainer = Trainer::new(&config, &params)?;
    trainer.load(state)?;
    let mut w = saved_w;
    for _ in stop_at..epochs {
        epoch(&mut trainer, &mut w)?;
    }
    Ok((w, trainer.lrs()[0]))
}

/// The same run without the interruption.
pub fn train_uninterrupted(epochs: usize) -> Result<([f32; 4], f64), Box<dyn std::error::Error>> {
    let config = Config::from_source("plateau.optim", SOURCE)?;
    let mut trainer = Trainer::new(&config, &[("fc.weight", 4)])?;
    let mut w = [0.0f32; 4];
    for _ in 0..epochs {
        epoch(&mut trainer, &mut w)?;
    }
    Ok((w, trainer.lrs()[0]))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let state = std::env::temp_dir().join(format!("optimc-plateau-{}.json", std::process::id()));
    let (w, lr) = train(40, 20, &state)?;
    std::fs::remove_file(&state)?;
    let (w_once, lr_once) = train_uninterrupted(40)?;
    println!("resumed:       w = {w:?}, lr = {lr}");
    println!("uninterrupted: w = {w_once:?}, lr = {lr_once}");
    assert_eq!(w.map(f32::to_bits), w_once.map(f32::to_bits));
    assert_eq!(lr.to_bits(), lr_once.to_bits());
    Ok(())
}

//! How long saving and loading a 10^7-parameter Adam state takes, and how large the file is.
//!
//! `cargo run --release --example checkpoint_speed [DIR]` registers ten 10^6-value parameters
//! with Adam, steps once (so both moment buffers hold values), then times `Trainer::save`
//! and `Trainer::load` into a fresh trainer (the file goes to DIR, default the temporary
//! directory, and is removed at the end). BENCHMARKS.md has the figures.

use optimc::optim::ParamMut;
use optimc::{Config, Trainer};
use std::time::Instant;

const PARAMS: usize = 10;
const LEN: usize = 1_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(std::env::temp_dir, Into::into);
    let path = dir.join(format!(
        "optimc-checkpoint-speed-{}.state",
        std::process::id()
    ));
    let config = Config::from_source("adam.optim", "optimizer = adam(lr = 1e-3)")?;
    let names: Vec<String> = (0..PARAMS).map(|i| format!("layer{i}.weight")).collect();
    let registered: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), LEN)).collect();
    let mut trainer = Trainer::new(&config, &registered)?;
    let mut values: Vec<Vec<f32>> = (0..PARAMS)
        .map(|i| (0..LEN).map(|j| ((i * LEN + j) as f32).sin()).collect())
        .collect();
    let grads: Vec<Vec<f32>> = values
        .iter()
        .map(|v| v.iter().map(|x| x * 0.5 - 0.1).collect())
        .collect();
    let mut handles: Vec<ParamMut<'_>> = values
        .iter_mut()
        .zip(&grads)
        .zip(&names)
        .map(|((v, g), n)| ParamMut::named(n, v, g))
        .collect();
    trainer.step(&mut handles)?;

    let start = Instant::now();
    trainer.save(&path)?;
    let save = start.elapsed();
    let bytes = std::fs::metadata(&path)?.len();

    let mut fresh = Trainer::new(&config, &registered)?;
    let start = Instant::now();
    fresh.load(&path)?;
    let load = start.elapsed();
    std::fs::remove_file(&path)?;
    assert_eq!(fresh.optimizer().state(), trainer.optimizer().state());
    let state_mb = (2 * PARAMS * LEN * 4) as f64 / 1e6;
    println!(
        "Adam, {} parameters ({state_mb:.0} MB of f32 state): file {:.1} MB, save {:.3} s, load {:.3} s",
        PARAMS * LEN,
        bytes as f64 / 1e6,
        save.as_secs_f64(),
        load.as_secs_f64()
    );
    Ok(())
}

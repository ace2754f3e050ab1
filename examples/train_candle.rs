//! A small candle MLP (2 → 16 → 1, tanh) fitted to `y = sin(πx₀) · x₁`, trained with the
//! optimizer and schedule of `examples/train_candle.optim` (two parameter groups: weights and
//! biases) through `optimc::candle::CandleTrainer`. Gradients come from candle's autograd.
//!
//! `cargo run --example train_candle --features candle` prints the loss falling.

use candle_core::{Device, Tensor, Var};
use candle_nn::{Linear, Module};
use optimc::candle::CandleTrainer;
use optimc::Config;

const INPUTS: usize = 2;
const HIDDEN: usize = 16;
const SAMPLES: usize = 128;
const BATCH: usize = 32;

/// A tiny deterministic generator (xorshift64*), uniform in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// `n` values uniform in ±`scale`.
    fn fill(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| scale * self.next()).collect()
    }
}

/// The model: its named `Var`s (for the trainer) and the layers built on them.
struct Mlp {
    vars: Vec<(String, Var)>,
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    /// PyTorch's default init (uniform in ±1/√fan_in), from a fixed seed.
    fn new(rng: &mut Rng, device: &Device) -> candle_core::Result<Mlp> {
        let mut var = |n: usize, shape: &[usize], fan_in: usize| {
            let scale = 1.0 / (fan_in as f32).sqrt();
            Var::from_vec(rng.fill(n, scale), shape, device)
        };
        let vars = vec![
            (
                "fc1.weight".to_string(),
                var(HIDDEN * INPUTS, &[HIDDEN, INPUTS], INPUTS)?,
            ),
            ("fc1.bias".to_string(), var(HIDDEN, &[HIDDEN], INPUTS)?),
            ("fc2.weight".to_string(), var(HIDDEN, &[1, HIDDEN], HIDDEN)?),
            ("fc2.bias".to_string(), var(1, &[1], HIDDEN)?),
        ];
        // `as_tensor` is the Var itself: gradients flow to it and the trainer's updates show.
        let t = |i: usize| vars[i].1.as_tensor().clone();
        let fc1 = Linear::new(t(0), Some(t(1)));
        let fc2 = Linear::new(t(2), Some(t(3)));
        Ok(Mlp { vars, fc1, fc2 })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(x)?.tanh()?)
    }
}

/// Trains for `epochs` epochs and returns the mean squared error over the data after each.
pub fn train(config: &Config, epochs: usize) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    let device = Device::Cpu;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let xs = rng.fill(SAMPLES * INPUTS, 1.0);
    let ys: Vec<f32> = xs
        .chunks(INPUTS)
        .map(|x| (std::f32::consts::PI * x[0]).sin() * x[1])
        .collect();
    let xs = Tensor::from_vec(xs, (SAMPLES, INPUTS), &device)?;
    let ys = Tensor::from_vec(ys, (SAMPLES, 1), &device)?;

    let model = Mlp::new(&mut rng, &device)?;
    let mut trainer = CandleTrainer::new(config, model.vars.iter().cloned())?;
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        for batch in (0..SAMPLES).step_by(BATCH) {
            let (x, y) = (xs.narrow(0, batch, BATCH)?, ys.narrow(0, batch, BATCH)?);
            let loss = model.forward(&x)?.sub(&y)?.sqr()?.mean_all()?;
            trainer.step(&loss.backward()?)?;
        }
        trainer.end_epoch()?;
        let loss = model.forward(&xs)?.sub(&ys)?.sqr()?.mean_all()?;
        losses.push(loss.to_scalar::<f32>()?);
    }
    Ok(losses)
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/train_candle.optim");
    let config = Config::from_path(path).map_err(|e| e.to_string())?;
    let losses = train(&config, 150)?;
    for (epoch, loss) in losses.iter().enumerate() {
        if epoch % 10 == 0 || epoch + 1 == losses.len() {
            println!("epoch {epoch:3}  loss {loss:.6}");
        }
    }
    Ok(())
}

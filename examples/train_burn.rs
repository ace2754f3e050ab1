//! A small burn MLP (2 → 16 → 1, tanh) fitted to `y = sin(πx₀) · x₁`, trained with the
//! optimizer and schedule of `examples/train_burn.optim` (two parameter groups: weights and
//! biases) through `optimc::burn::BurnTrainer`. Gradients come from burn's autodiff, on burn's
//! pure-Rust CPU backend (`flex`).
//!
//! `cargo run --example train_burn --features burn` prints the loss falling.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use optimc::burn::BurnTrainer;
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

/// The model; its parameters are `fc1.weight`, `fc1.bias`, `fc2.weight` and `fc2.bias`.
#[derive(Module, Debug)]
struct Mlp {
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    /// PyTorch's default init (uniform in ±1/√fan_in), from a fixed seed, so every run is the
    /// same. (burn's weights are `[inputs, outputs]`.)
    fn new(rng: &mut Rng, device: &Device) -> Mlp {
        let mut param = |shape: Vec<usize>, fan_in: usize| {
            let n = shape.iter().product();
            let values = rng.fill(n, 1.0 / (fan_in as f32).sqrt());
            TensorData::new(values, shape)
        };
        let mut linear = |inputs: usize, outputs: usize| Linear {
            weight: Param::from_data(param(vec![inputs, outputs], inputs), device),
            bias: Some(Param::from_data(param(vec![outputs], inputs), device)),
        };
        Mlp {
            fc1: linear(INPUTS, HIDDEN),
            fc2: linear(HIDDEN, 1),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(self.fc1.forward(x).tanh())
    }
}

/// Trains for `epochs` epochs and returns the mean squared error over the data after each.
pub fn train(config: &Config, epochs: usize) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    let device = Device::default().autodiff();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let xs = rng.fill(SAMPLES * INPUTS, 1.0);
    let ys: Vec<f32> = xs
        .chunks(INPUTS)
        .map(|x| (std::f32::consts::PI * x[0]).sin() * x[1])
        .collect();
    let xs = Tensor::<2>::from_data(TensorData::new(xs, [SAMPLES, INPUTS]), &device);
    let ys = Tensor::<2>::from_data(TensorData::new(ys, [SAMPLES, 1]), &device);
    let mse = |model: &Mlp, x: Tensor<2>, y: Tensor<2>| (model.forward(x) - y).square().mean();

    let mut model = Mlp::new(&mut rng, &device);
    let mut trainer = BurnTrainer::new(config, &model)?;
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        for batch in (0..SAMPLES).step_by(BATCH) {
            let x = xs.clone().narrow(0, batch, BATCH);
            let y = ys.clone().narrow(0, batch, BATCH);
            let loss = mse(&model, x, y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = trainer.step(&model, grads)?;
        }
        trainer.end_epoch()?;
        let loss = mse(&model, xs.clone(), ys.clone());
        losses.push(loss.into_scalar::<f32>());
    }
    Ok(losses)
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/train_burn.optim");
    let config = Config::from_path(path)?;
    let losses = train(&config, 150)?;
    for (epoch, loss) in losses.iter().enumerate() {
        if epoch % 10 == 0 || epoch + 1 == losses.len() {
            println!("epoch {epoch:3}  loss {loss:.6}");
        }
    }
    Ok(())
}

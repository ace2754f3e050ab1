//! Linear regression `y = W x + b` trained with the optimizer and schedule of
//! `examples/train_linear.optim` (two parameter groups: weights and biases).
//!
//! `cargo run --example train_linear` prints the loss falling.

use optimc::optim::ParamMut;
use optimc::{Config, Trainer};

const INPUTS: usize = 4;
const OUTPUTS: usize = 3;
const SAMPLES: usize = 64;
const BATCH: usize = 16;

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
}

/// Trains for `epochs` epochs and returns the mean squared error over the data after each.
pub fn train(config: &Config, epochs: usize) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let true_w: Vec<f32> = (0..OUTPUTS * INPUTS).map(|_| 2.0 * rng.next()).collect();
    let true_b: Vec<f32> = (0..OUTPUTS).map(|_| rng.next()).collect();
    let xs: Vec<[f32; INPUTS]> = (0..SAMPLES)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    let ys: Vec<[f32; OUTPUTS]> = xs
        .iter()
        .map(|x| std::array::from_fn(|o| predict(&true_w, &true_b, x, o) + 0.01 * rng.next()))
        .collect();

    let mut w = vec![0.0f32; OUTPUTS * INPUTS];
    let mut b = vec![0.0f32; OUTPUTS];
    let (mut gw, mut gb) = (vec![0.0f32; w.len()], vec![0.0f32; b.len()]);
    let mut trainer = Trainer::new(
        config,
        &[("linear.weight", w.len()), ("linear.bias", b.len())],
    )?;
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        for batch in (0..SAMPLES).step_by(BATCH) {
            gw.fill(0.0);
            gb.fill(0.0);
            for (x, y) in xs[batch..batch + BATCH].iter().zip(&ys[batch..]) {
                for o in 0..OUTPUTS {
                    let err = (predict(&w, &b, x, o) - y[o]) / BATCH as f32;
                    gb[o] += err;
                    for i in 0..INPUTS {
                        gw[o * INPUTS + i] += err * x[i];
                    }
                }
            }
            trainer.step(&mut [
                ParamMut::named("linear.weight", &mut w, &gw),
                ParamMut::named("linear.bias", &mut b, &gb),
            ])?;
        }
        trainer.end_epoch()?;
        let loss = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| {
                (0..OUTPUTS)
                    .map(|o| (predict(&w, &b, x, o) - y[o]).powi(2))
                    .sum::<f32>()
            })
            .sum::<f32>()
            / SAMPLES as f32;
        losses.push(loss);
    }
    Ok(losses)
}

fn predict(w: &[f32], b: &[f32], x: &[f32; INPUTS], o: usize) -> f32 {
    b[o] + (0..INPUTS).map(|i| w[o * INPUTS + i] * x[i]).sum::<f32>()
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/train_linear.optim");
    let config = Config::from_path(path).map_err(|e| e.to_string())?;
    let losses = train(&config, 100)?;
    for (epoch, loss) in losses.iter().enumerate() {
        if epoch % 10 == 0 || epoch + 1 == losses.len() {
            println!("epoch {epoch:3}  loss {loss:.6}");
        }
    }
    Ok(())
}

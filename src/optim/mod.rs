//! Optimizers: PyTorch's `torch.optim` algorithms over f32 parameters, with parameter groups.

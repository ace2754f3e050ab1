#!/usr/bin/env python3
"""Record learning-rate recipes from the libraries people train with (issue 13).

Run:  /work/venv/bin/python tests/conformance/generate_recipes.py
It rewrites tests/conformance/recipes/<name>.json (one case per file) and removes
stale .json files there. Deterministic: no randomness is involved.

Libraries run for real (versions are written into every case): torch,
transformers, timm, fvcore (detectron2's schedules are built from fvcore's
ParamScheduler classes). Recipes whose library cannot be installed here
(nanoGPT, fairseq, detectron2 itself, ultralytics/YOLO, the Annotated
Transformer's Noam rate, MAE, BEiT) are transcribed below from their source
files, cited by repository, path and commit; their cases say so in "source".

Every case records the lr that sits in optimizer.param_groups[i]["lr"] at the
START of each step (before optimizer.step()), for `steps` steps, at full repr
precision. See README.md ("recipes/") for the exact loop of each kind of
stepping.
"""
import bisect
import json
import math
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch

# The libraries below are needed only by the cases that run them: with case names on the
# command line (see main) the others may be missing, e.g. to regenerate the transcribed
# YOLO cases with torch and numpy alone.
try:
    import transformers
    import transformers.optimization as hf
except ImportError:
    transformers = hf = None
try:
    import timm
    import timm.scheduler as ts
except ImportError:
    timm = ts = None
try:
    import fvcore
    from fvcore.common import param_scheduler as fvs
except ImportError:
    fvcore = fvs = None

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float32)

HERE = Path(__file__).resolve().parent
OUT = HERE / "recipes"

TORCH = torch.__version__
HF = getattr(transformers, "__version__", None)
TIMM = getattr(timm, "__version__", None)
FVCORE = getattr(fvcore, "__version__", "unknown")
NUMPY = np.__version__

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


# ---------------------------------------------------------------- helpers


def make_optimizer(opt_type, defaults, groups):
    """One dummy 1-element parameter per group; options exactly as recorded."""
    cls = getattr(torch.optim, opt_type)
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in groups]
    pg = [dict(params=[p], **g["options"]) for p, g in zip(params, groups)]
    return cls(pg, **defaults)


def run(opt, steps, begin=None, end=None, momentum=False):
    """Generic loop: begin(k) may set lrs; record; optimizer.step(); end(k) advances."""
    lrs = [[] for _ in opt.param_groups]
    moms = [[] for _ in opt.param_groups]
    for k in range(steps):
        if begin is not None:
            begin(k)
        for i, g in enumerate(opt.param_groups):
            lrs[i].append(float(g["lr"]))
            if momentum:
                moms[i].append(float(g["momentum"]))
        opt.step()  # no grads: a no-op, but keeps torch's step-order bookkeeping honest
        if end is not None:
            end(k)
    out = {"lr": lrs}
    if momentum:
        out["momentum"] = moms
    return out


def pack(name, source, library_version, description, call, opt_type, defaults, groups, steps, expected, **extra):
    d = {
        "name": name,
        "source": source,
        "library_version": library_version,
        "torch_version": TORCH,
        "description": description,
        "call": call,
        "optimizer": {"type": opt_type, "defaults": defaults},
        "groups": groups,
        "steps": steps,
    }
    d.update(extra)
    d["expected"] = expected
    return d


def G(name, **options):
    return {"name": name, "options": options}


PER_STEP_TORCH = (
    "torch LRScheduler built right after the optimizer; per step: record lr, "
    "optimizer.step(), scheduler.step()"
)


def hf_case(name, fn_name, kwargs, description, steps, opt_type="AdamW", defaults=None, groups=None):
    defaults = defaults or {"lr": 0.001}
    groups = groups or [G("base"), G("head", lr=defaults["lr"] * 0.5)]
    opt = make_optimizer(opt_type, defaults, groups)
    sched = getattr(hf, fn_name)(opt, **kwargs)
    exp = run(opt, steps, end=lambda k: sched.step())
    return pack(
        name,
        f"transformers {HF} {fn_name}",
        f"transformers {HF}",
        description,
        {"function": f"transformers.{fn_name}", "kwargs": kwargs, "returns": "torch.optim.lr_scheduler.LambdaLR",
         "stepping": PER_STEP_TORCH},
        opt_type, defaults, groups, steps, exp,
    )


# ---------------------------------------------------------------- transformers


@case
def hf_linear_warmup():
    return hf_case(
        "hf_linear_warmup", "get_linear_schedule_with_warmup",
        {"num_warmup_steps": 10, "num_training_steps": 100},
        "HF linear warmup from 0 over 10 steps, linear decay to 0 at step 100; "
        "recorded to step 110 (clamped at 0 past the end)", 110)


@case
def hf_cosine_warmup():
    return hf_case(
        "hf_cosine_warmup", "get_cosine_schedule_with_warmup",
        {"num_warmup_steps": 10, "num_training_steps": 100},
        "HF cosine with warmup, num_cycles 0.5 (default); recorded 20 steps past "
        "num_training_steps: the cosine turns back up after the end (no floor hold)", 120)


@case
def hf_cosine_warmup_1p5_cycles():
    return hf_case(
        "hf_cosine_warmup_1p5_cycles", "get_cosine_schedule_with_warmup",
        {"num_warmup_steps": 20, "num_training_steps": 200, "num_cycles": 1.5},
        "HF cosine with warmup and num_cycles 1.5 (down, up, down); max(0, .) clamp", 210)


@case
def hf_cosine_hard_restarts():
    return hf_case(
        "hf_cosine_hard_restarts", "get_cosine_with_hard_restarts_schedule_with_warmup",
        {"num_warmup_steps": 10, "num_training_steps": 100, "num_cycles": 3},
        "HF cosine with 3 hard restarts after 10 warmup steps; 0 from progress >= 1", 110)


@case
def hf_polynomial_power1():
    return hf_case(
        "hf_polynomial_power1", "get_polynomial_decay_schedule_with_warmup",
        {"num_warmup_steps": 10, "num_training_steps": 100, "lr_end": 1e-05, "power": 1.0},
        "HF polynomial decay power 1 to lr_end 1e-5. lr_init is optimizer.defaults['lr'] (1e-3): "
        "the lambda is (lr_range*pct**power + lr_end)/lr_init, so the head group (lr 5e-4) ends at "
        "lr_end*0.5, not lr_end; past num_training_steps it holds lr_end/lr_init", 110)


@case
def hf_polynomial_power2():
    return hf_case(
        "hf_polynomial_power2", "get_polynomial_decay_schedule_with_warmup",
        {"num_warmup_steps": 25, "num_training_steps": 250, "lr_end": 1e-07, "power": 2.0},
        "HF polynomial decay power 2, lr_end 1e-7 (the default), warmup 25 of 250; recorded to 270", 270,
        defaults={"lr": 0.0003}, groups=[G("base"), G("head", lr=0.003)])


@case
def hf_constant():
    return hf_case(
        "hf_constant", "get_constant_schedule", {},
        "HF constant schedule (LambdaLR returning 1)", 50)


@case
def hf_constant_warmup():
    return hf_case(
        "hf_constant_warmup", "get_constant_schedule_with_warmup",
        {"num_warmup_steps": 15},
        "HF constant after a 15-step linear warmup from exactly 0", 60)


@case
def hf_inverse_sqrt():
    return hf_case(
        "hf_inverse_sqrt", "get_inverse_sqrt_schedule",
        {"num_warmup_steps": 20},
        "HF inverse sqrt, timescale defaults to num_warmup_steps (20): "
        "lr = 1/sqrt((step + timescale - warmup)/timescale) after warmup", 150)


@case
def hf_inverse_sqrt_timescale():
    return hf_case(
        "hf_inverse_sqrt_timescale", "get_inverse_sqrt_schedule",
        {"num_warmup_steps": 10, "timescale": 50},
        "HF inverse sqrt with timescale 50 != warmup 10: the value jumps at the end of warmup "
        "(1/sqrt((10+40)/50) = 1 here, then decays slower)", 150)


@case
def hf_inverse_sqrt_no_warmup():
    return hf_case(
        "hf_inverse_sqrt_no_warmup", "get_inverse_sqrt_schedule",
        {"num_warmup_steps": 0},
        "HF inverse sqrt with num_warmup_steps 0: timescale becomes 10_000 "
        "(`num_warmup_steps or 10_000`), a very slow decay", 100)


@case
def hf_wsd_linear():
    return hf_case(
        "hf_wsd_linear", "get_wsd_schedule",
        {"num_warmup_steps": 10, "num_decay_steps": 30, "num_training_steps": 100,
         "warmup_type": "linear", "decay_type": "linear", "min_lr_ratio": 0.1},
        "HF warmup-stable-decay: linear warmup from min_lr_ratio (0.1, not 0), stable 60, linear decay "
        "over 30 to min_lr_ratio; min_lr_ratio held after step 100", 110)


@case
def hf_wsd_cosine():
    return hf_case(
        "hf_wsd_cosine", "get_wsd_schedule",
        {"num_warmup_steps": 10, "num_decay_steps": 30, "num_stable_steps": 50,
         "warmup_type": "cosine", "decay_type": "cosine"},
        "HF WSD given num_stable_steps (no num_training_steps): cosine warmup 10, stable 50, cosine "
        "decay 30 (num_cycles 0.5), min_lr_ratio 0 (default); 0 after step 90", 100)


@case
def hf_wsd_1sqrt():
    return hf_case(
        "hf_wsd_1sqrt", "get_wsd_schedule",
        {"num_warmup_steps": 20, "num_decay_steps": 40, "num_training_steps": 200,
         "warmup_type": "1-sqrt", "decay_type": "1-sqrt", "min_lr_ratio": 0.05},
        "HF WSD with 1-sqrt warmup (1 - sqrt(1 - progress)) and 1-sqrt decay to min_lr_ratio 0.05", 210)


@case
def hf_wsd_cosine_num_cycles():
    return hf_case(
        "hf_wsd_cosine_num_cycles", "get_wsd_schedule",
        {"num_warmup_steps": 5, "num_decay_steps": 40, "num_training_steps": 80,
         "decay_type": "cosine", "min_lr_ratio": 0.2, "num_cycles": 1.0},
        "HF WSD cosine decay with num_cycles 1.0: the 'decay' goes down and back up to 1 within the "
        "decay phase, then drops to min_lr_ratio (0.2) after it", 90)


@case
def hf_cosine_min_lr():
    return hf_case(
        "hf_cosine_min_lr", "get_cosine_with_min_lr_schedule_with_warmup",
        {"num_warmup_steps": 10, "num_training_steps": 100, "min_lr": 1e-05},
        "HF cosine to an absolute min_lr 1e-5. min_lr is divided by optimizer.defaults['lr'] (1e-3) "
        "into min_lr_rate, so the head group (lr 5e-4) floors at 5e-6. Past num_training_steps the "
        "cosine turns back up: the floor is NOT held", 120)


@case
def hf_cosine_min_lr_rate():
    return hf_case(
        "hf_cosine_min_lr_rate", "get_cosine_with_min_lr_schedule_with_warmup",
        {"num_warmup_steps": 30, "num_training_steps": 300, "min_lr_rate": 0.1},
        "HF cosine to min_lr_rate 0.1 of each group's lr, warmup 30 of 300", 300,
        defaults={"lr": 0.0002}, groups=[G("base"), G("head", lr=0.002)])


@case
def hf_cosine_min_lr_warmup_lr_rate_default():
    return hf_case(
        "hf_cosine_min_lr_warmup_lr_rate_default", "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
        {"num_warmup_steps": 10, "num_training_steps": 100, "min_lr_rate": 0.1},
        "HF cosine-with-min-lr '_lr_rate' variant, warmup_lr_rate None: warmup is (step+1)/warmup "
        "(starts at 1/warmup, reaches 1 at step warmup-1) and the cosine progress is "
        "(step - warmup + 1)/(total - warmup): both shifted by one versus the plain variant", 110)


@case
def hf_cosine_min_lr_warmup_lr_rate():
    return hf_case(
        "hf_cosine_min_lr_warmup_lr_rate", "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
        {"num_warmup_steps": 10, "num_training_steps": 100, "min_lr": 1e-05, "warmup_lr_rate": 0.05},
        "HF '_lr_rate' variant with warmup_lr_rate 0.05: warmup 0.05 + 0.95*step/(warmup-1)", 110)


# ---------------------------------------------------------------- timm


def timm_epoch_case(name, cls_name, kwargs, description, epochs, defaults=None, groups=None, opt_type="SGD"):
    """timm train.py with t_in_epochs=True: lr_scheduler.step(epoch + 1) after every epoch
    (step_update(num_updates) after every update is a no-op for epoch schedules)."""
    defaults = defaults or {"lr": 0.1, "momentum": 0.9}
    groups = groups or [G("base"), G("head", lr=0.01)]
    opt = make_optimizer(opt_type, defaults, groups)
    sched = getattr(ts, cls_name)(opt, **kwargs)
    exp = run(opt, epochs, end=lambda e: sched.step(e + 1))
    return pack(
        name, f"timm {TIMM} {cls_name}", f"timm {TIMM}", description,
        {"function": f"timm.scheduler.{cls_name}", "kwargs": kwargs,
         "stepping": "per epoch, as timm's train.py: record lr, optimizer.step(), "
                     "scheduler.step(epoch + 1)  (t_in_epochs=True; step_update() would be a no-op)",
         "t_in_epochs": True},
        opt_type, defaults, groups, epochs, exp)


def timm_update_case(name, cls_name, kwargs, description, updates_per_epoch, epochs, defaults=None, groups=None,
                     opt_type="AdamW"):
    """timm train.py with t_in_epochs=False: num_updates += 1 after each optimizer step, then
    step_update(num_updates); at each epoch end step(epoch + 1) (a no-op for update schedules)."""
    defaults = defaults or {"lr": 0.001, "weight_decay": 0.05}
    groups = groups or [G("decay"), G("no_decay", lr=defaults["lr"] * 0.5, weight_decay=0.0)]
    opt = make_optimizer(opt_type, defaults, groups)
    sched = getattr(ts, cls_name)(opt, **kwargs)

    def end(k):
        sched.step_update(num_updates=k + 1)
        if (k + 1) % updates_per_epoch == 0:
            sched.step((k + 1) // updates_per_epoch)

    steps = updates_per_epoch * epochs
    exp = run(opt, steps, end=end)
    return pack(
        name, f"timm {TIMM} {cls_name}", f"timm {TIMM}", description,
        {"function": f"timm.scheduler.{cls_name}", "kwargs": kwargs,
         "stepping": "per update, as timm's train.py: record lr, optimizer.step(), num_updates += 1, "
                     "scheduler.step_update(num_updates); after the last update of each epoch also "
                     "scheduler.step(epoch + 1), which is a no-op with t_in_epochs=False",
         "t_in_epochs": False, "updates_per_epoch": updates_per_epoch},
        opt_type, defaults, groups, steps, exp, steps_per_epoch=updates_per_epoch)


@case
def timm_cosine_epochs():
    return timm_epoch_case(
        "timm_cosine_epochs", "CosineLRScheduler",
        {"t_initial": 50, "lr_min": 1e-05, "warmup_t": 5, "warmup_lr_init": 1e-06},
        "timm cosine per epoch, 5 warmup epochs from warmup_lr_init (warmup_prefix False: the warmup "
        "overlaps the first 5 of t_initial epochs), cycle_limit 1: lr_min from epoch 50 on", 60)


@case
def timm_cosine_restarts():
    return timm_epoch_case(
        "timm_cosine_restarts", "CosineLRScheduler",
        {"t_initial": 20, "lr_min": 1e-05, "cycle_mul": 2.0, "cycle_decay": 0.5, "cycle_limit": 3,
         "warmup_t": 3, "warmup_lr_init": 1e-05},
        "timm cosine with restarts: cycles of 20, 40, 80 epochs (cycle_mul 2), peak halved per cycle "
        "(cycle_decay 0.5), cycle_limit 3, then lr_min; cycle index from floor(log(...)) of a float", 150)


@case
def timm_cosine_kdecay_prefix():
    return timm_epoch_case(
        "timm_cosine_kdecay_prefix", "CosineLRScheduler",
        {"t_initial": 30, "lr_min": 0.0001, "cycle_decay": 0.8, "cycle_limit": 2, "k_decay": 2.0,
         "warmup_t": 5, "warmup_lr_init": 0.0, "warmup_prefix": True},
        "timm cosine k-decay 2 (cos(pi * t**k / T**k)), two equal cycles of 30 (cycle_mul 1) with the "
        "second peak at 0.8x, warmup_prefix True (t shifted by warmup_t after warmup), from exactly 0", 70)


@case
def timm_cosine_updates():
    return timm_update_case(
        "timm_cosine_updates", "CosineLRScheduler",
        {"t_initial": 120, "lr_min": 1e-06, "warmup_t": 20, "warmup_lr_init": 1e-06, "t_in_epochs": False},
        "timm cosine stepped per update (--sched-on-updates): create_scheduler_v2 multiplies epochs by "
        "updates_per_epoch (12 epochs x 10 -> t_initial 120, 2 warmup epochs -> warmup_t 20)", 10, 13)


@case
def timm_cosine_lr_scale():
    defaults = {"lr": 0.001, "weight_decay": 0.05}
    groups = [G("layer_0", lr_scale=0.5625), G("layer_1", lr_scale=0.75), G("head", lr_scale=1.0)]
    return timm_update_case(
        "timm_cosine_lr_scale", "CosineLRScheduler",
        {"t_initial": 100, "lr_min": 1e-06, "warmup_t": 10, "warmup_lr_init": 1e-06, "t_in_epochs": False},
        "timm cosine per update on groups carrying 'lr_scale' (timm's layer-wise lr decay): every value "
        "timm writes, including the initial warmup_lr_init, is multiplied by the group's lr_scale "
        "(lr_min too)", 10, 11, defaults=defaults, groups=groups)


@case
def timm_step():
    return timm_epoch_case(
        "timm_step", "StepLRScheduler",
        {"decay_t": 10, "decay_rate": 0.5, "warmup_t": 3, "warmup_lr_init": 0.0001},
        "timm step decay x0.5 every 10 epochs, 3 warmup epochs; warmup_prefix defaults to True for "
        "StepLRScheduler (t - warmup_t after warmup), unlike cosine/poly", 50)


@case
def timm_step_no_prefix():
    return timm_epoch_case(
        "timm_step_no_prefix", "StepLRScheduler",
        {"decay_t": 8, "decay_rate": 0.1, "warmup_t": 4, "warmup_lr_init": 0.001, "warmup_prefix": False},
        "timm step decay x0.1 every 8 epochs with warmup_prefix False (decay counted from epoch 0)", 30)


@case
def timm_poly_warmup():
    return timm_epoch_case(
        "timm_poly_warmup", "PolyLRScheduler",
        {"t_initial": 50, "power": 0.5, "lr_min": 1e-05, "warmup_t": 5, "warmup_lr_init": 1e-05},
        "timm polynomial (power 0.5, the default) per epoch with 5 warmup epochs, lr_min after 50", 60)


@case
def timm_poly_updates():
    return timm_update_case(
        "timm_poly_updates", "PolyLRScheduler",
        {"t_initial": 100, "power": 2.0, "lr_min": 0.0, "warmup_t": 15, "warmup_lr_init": 0.0,
         "warmup_prefix": True, "k_decay": 1.5, "t_in_epochs": False},
        "timm polynomial power 2, k_decay 1.5, per update, warmup_prefix True (total 115 updates)",
        10, 12)


@case
def timm_wsd_updates():
    return timm_update_case(
        "timm_wsd_updates", "WSDLRScheduler",
        {"t_initial": 100, "decay_t": 30, "lr_min": 1e-06, "decay_fn": "1-sqrt", "warmup_t": 10,
         "warmup_lr_init": 0.0, "t_in_epochs": False},
        "timm warmup-stable-decay per update: warmup 10 (always a prefix), stable 70, 1-sqrt decay "
        "over the last 30 of t_initial; lr_min held after", 10, 12)


# ---------------------------------------------------------------- nanoGPT (transcribed)

# karpathy/nanoGPT train.py @ e2221318e607eb5ee0669d6b7641af25a2111545 (get_lr and the loop that
# assigns it to every param group at the top of each iteration; iter_num runs 0..max_iters inclusive)
def nanogpt_get_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
    # 1) linear warmup for warmup_iters steps
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    # 2) if it > lr_decay_iters, return min learning rate
    if it > lr_decay_iters:
        return min_lr
    # 3) in between, use cosine decay down to min learning rate
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff ranges 0..1
    return min_lr + coeff * (learning_rate - min_lr)


@case
def nanogpt_cosine():
    kw = {"learning_rate": 0.0006, "warmup_iters": 20, "lr_decay_iters": 150, "min_lr": 6e-05}
    max_iters = 200
    defaults = {"lr": 0.0006, "betas": [0.9, 0.95], "weight_decay": 0.1}
    groups = [G("decay", weight_decay=0.1), G("nodecay", weight_decay=0.0)]
    opt = make_optimizer("AdamW", {**defaults, "betas": (0.9, 0.95)}, groups)

    def begin(it):
        lr = nanogpt_get_lr(it, **kw)
        for g in opt.param_groups:
            g["lr"] = lr

    steps = max_iters + 1
    exp = run(opt, steps, begin=begin)
    return pack(
        "nanogpt_cosine",
        "transcribed from karpathy/nanoGPT train.py get_lr @ e2221318e607eb5ee0669d6b7641af25a2111545",
        "nanoGPT master (commit e2221318)",
        "nanoGPT: warmup (it+1)/(warmup_iters+1) (never exactly 0, never exactly peak), cosine to min_lr at "
        "lr_decay_iters 150, min_lr held after; the loop runs iter_num 0..max_iters inclusive (201 "
        "steps) and assigns the same lr to every group (decay / nodecay)",
        {"function": "nanoGPT train.py get_lr(it)", "kwargs": {**kw, "max_iters": max_iters},
         "stepping": "per iteration: at the top of iteration it, lr = get_lr(it) is written to every "
                     "param group; record; optimizer.step()"},
        "AdamW", defaults, groups, steps, exp)


# ---------------------------------------------------------------- fairseq (transcribed)

# facebookresearch/fairseq fairseq/optim/lr_scheduler/inverse_square_root_schedule.py
# @ 2519cd40514b73d3e6c1b7a8c65d7689f648dab2 (the later dataclass version, cfg.* instead of args.*,
# has the same arithmetic). The trainer calls step_update(0) right after building the scheduler
# (trainer.py _build_optimizer) and step_update(num_updates) after every update; set_lr writes one
# lr into every param group (FairseqOptimizer.set_lr).
class FairseqInverseSquareRoot:
    def __init__(self, optimizer, lr, warmup_updates=4000, warmup_init_lr=-1):
        self.optimizer = optimizer
        if len(lr) > 1:
            raise ValueError("Cannot use a fixed learning rate schedule with inverse_sqrt.")
        warmup_end_lr = lr[0]
        if warmup_init_lr < 0:
            warmup_init_lr = 0 if warmup_updates > 0 else warmup_end_lr
        self.warmup_init_lr = warmup_init_lr
        self.warmup_updates = warmup_updates
        # linearly warmup for the first args.warmup_updates
        self.lr_step = (warmup_end_lr - warmup_init_lr) / warmup_updates
        # then, decay prop. to the inverse square root of the update number
        self.decay_factor = warmup_end_lr * warmup_updates ** 0.5
        # initial learning rate
        self.lr = warmup_init_lr
        self.set_lr(self.lr)

    def set_lr(self, lr):
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def step_update(self, num_updates):
        if num_updates < self.warmup_updates:
            self.lr = self.warmup_init_lr + num_updates * self.lr_step
        else:
            self.lr = self.decay_factor * num_updates ** -0.5
        self.set_lr(self.lr)
        return self.lr


def fairseq_case(name, kwargs, description, steps, groups):
    defaults = {"lr": kwargs["lr"][0], "betas": [0.9, 0.98], "eps": 1e-08}
    opt = make_optimizer("Adam", {**defaults, "betas": (0.9, 0.98)}, groups)
    sched = FairseqInverseSquareRoot(opt, **kwargs)
    sched.step_update(0)
    exp = run(opt, steps, end=lambda k: sched.step_update(k + 1))
    return pack(
        name,
        "transcribed from facebookresearch/fairseq fairseq/optim/lr_scheduler/inverse_square_root_schedule.py "
        "@ 2519cd40514b73d3e6c1b7a8c65d7689f648dab2 (InverseSquareRootSchedule)",
        "fairseq main (commit 2519cd40; formula unchanged in the dataclass version)",
        description,
        {"function": "fairseq InverseSquareRootSchedule", "kwargs": kwargs,
         "stepping": "per update, as fairseq's trainer: step_update(0) once after construction; per "
                     "update: record lr, optimizer.step(), step_update(num_updates) with num_updates = "
                     "updates done so far; every group gets the same lr"},
        "Adam", defaults, groups, steps, exp)


@case
def fairseq_inverse_sqrt():
    return fairseq_case(
        "fairseq_inverse_sqrt", {"lr": [0.0005], "warmup_updates": 20, "warmup_init_lr": 1e-07},
        "fairseq inverse_sqrt: linear from warmup_init_lr 1e-7 to lr over 20 updates, then "
        "lr*sqrt(20)/sqrt(num_updates)", 150, [G("base")])


@case
def fairseq_inverse_sqrt_default_init():
    return fairseq_case(
        "fairseq_inverse_sqrt_default_init", {"lr": [0.0007], "warmup_updates": 25, "warmup_init_lr": -1},
        "fairseq inverse_sqrt with warmup_init_lr -1 (the default): the warmup starts from 0; fairseq's "
        "set_lr writes the same lr into both groups (the head group's own lr is overwritten)", 120,
        [G("base"), G("head", lr=0.0001)])


# ---------------------------------------------------------------- detectron2

# Transcribed from facebookresearch/detectron2 detectron2/solver/lr_scheduler.py
# @ 606437e6008b3e91acfff572061dbd1d71110087 (WarmupParamScheduler, LRMultiplier) and
# detectron2/solver/build.py build_lr_scheduler @ 012c8986baac12c9e7c2f8877a51ff5e97e7fe96;
# they run on fvcore's real ParamScheduler classes (installed from PyPI).
class WarmupParamScheduler(fvs.CompositeParamScheduler if fvs is not None else object):  # see the imports
    def __init__(self, scheduler, warmup_factor, warmup_length, warmup_method="linear", rescale_interval=False):
        end_value = scheduler(0.0) if rescale_interval else scheduler(warmup_length)
        start_value = warmup_factor * scheduler(0.0)
        if warmup_method == "constant":
            warmup = fvs.ConstantParamScheduler(start_value)
        elif warmup_method == "linear":
            warmup = fvs.LinearParamScheduler(start_value, end_value)
        else:
            raise ValueError("Unknown warmup method: {}".format(warmup_method))
        super().__init__(
            [warmup, scheduler],
            interval_scaling=["rescaled", "rescaled" if rescale_interval else "fixed"],
            lengths=[warmup_length, 1 - warmup_length],
        )


class LRMultiplier(torch.optim.lr_scheduler.LRScheduler):
    def __init__(self, optimizer, multiplier, max_iter, last_iter=-1):
        if not isinstance(multiplier, fvs.ParamScheduler):
            raise ValueError("multiplier must be an fvcore ParamScheduler")
        self._multiplier = multiplier
        self._max_iter = max_iter
        super().__init__(optimizer, last_epoch=last_iter)

    def get_lr(self):
        multiplier = self._multiplier(self.last_epoch / self._max_iter)
        return [base_lr * multiplier for base_lr in self.base_lrs]


def d2_build_lr_scheduler(optimizer, SOLVER):
    name = SOLVER["LR_SCHEDULER_NAME"]
    if name == "WarmupMultiStepLR":
        steps = [x for x in SOLVER["STEPS"] if x <= SOLVER["MAX_ITER"]]
        sched = fvs.MultiStepParamScheduler(
            values=[SOLVER["GAMMA"] ** k for k in range(len(steps) + 1)],
            milestones=steps,
            num_updates=SOLVER["MAX_ITER"],
        )
    elif name == "WarmupCosineLR":
        end_value = SOLVER["BASE_LR_END"] / SOLVER["BASE_LR"]
        assert 0.0 <= end_value <= 1.0, end_value
        sched = fvs.CosineParamScheduler(1, end_value)
    else:
        raise ValueError("Unknown LR scheduler: {}".format(name))
    sched = WarmupParamScheduler(
        sched,
        SOLVER["WARMUP_FACTOR"],
        min(SOLVER["WARMUP_ITERS"] / SOLVER["MAX_ITER"], 1.0),
        SOLVER["WARMUP_METHOD"],
    )
    return LRMultiplier(optimizer, multiplier=sched, max_iter=SOLVER["MAX_ITER"])


# The deprecated torch-style classes of the same names, same file and commit ("no longer needed",
# but still shipped and still used by older configs and forks).
def _get_warmup_factor_at_iter(method, iter, warmup_iters, warmup_factor):
    if iter >= warmup_iters:
        return 1.0
    if method == "constant":
        return warmup_factor
    elif method == "linear":
        alpha = iter / warmup_iters
        return warmup_factor * (1 - alpha) + alpha
    else:
        raise ValueError("Unknown warmup method: {}".format(method))


class LegacyWarmupMultiStepLR(torch.optim.lr_scheduler.LRScheduler):
    def __init__(self, optimizer, milestones, gamma=0.1, warmup_factor=0.001, warmup_iters=1000,
                 warmup_method="linear", last_epoch=-1):
        self.milestones = milestones
        self.gamma = gamma
        self.warmup_factor = warmup_factor
        self.warmup_iters = warmup_iters
        self.warmup_method = warmup_method
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        warmup_factor = _get_warmup_factor_at_iter(
            self.warmup_method, self.last_epoch, self.warmup_iters, self.warmup_factor)
        return [base_lr * warmup_factor * self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class LegacyWarmupCosineLR(torch.optim.lr_scheduler.LRScheduler):
    def __init__(self, optimizer, max_iters, warmup_factor=0.001, warmup_iters=1000, warmup_method="linear",
                 last_epoch=-1):
        self.max_iters = max_iters
        self.warmup_factor = warmup_factor
        self.warmup_iters = warmup_iters
        self.warmup_method = warmup_method
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        warmup_factor = _get_warmup_factor_at_iter(
            self.warmup_method, self.last_epoch, self.warmup_iters, self.warmup_factor)
        return [base_lr * warmup_factor * 0.5 * (1.0 + math.cos(math.pi * self.last_epoch / self.max_iters))
                for base_lr in self.base_lrs]


D2_STEPPING = ("per iteration, as detectron2's LRScheduler hook: record lr, optimizer.step(), "
               "scheduler.step(); iterations 0..MAX_ITER-1")
D2_GROUPS = [G("weights"), G("biases", lr=0.04, weight_decay=0.0)]  # BIAS_LR_FACTOR 2.0
D2_DEFAULTS = {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001}


def d2_case(name, solver, description):
    opt = make_optimizer("SGD", D2_DEFAULTS, D2_GROUPS)
    sched = d2_build_lr_scheduler(opt, solver)
    steps = solver["MAX_ITER"]
    exp = run(opt, steps, end=lambda k: sched.step())
    return pack(
        name,
        "transcribed from facebookresearch/detectron2 detectron2/solver/build.py build_lr_scheduler "
        "@ 012c8986baac12c9e7c2f8877a51ff5e97e7fe96 and detectron2/solver/lr_scheduler.py "
        "(WarmupParamScheduler, LRMultiplier) @ 606437e6008b3e91acfff572061dbd1d71110087, "
        f"running fvcore {FVCORE}'s real ParamScheduler classes",
        f"detectron2 main (transcribed) + fvcore {FVCORE}",
        description,
        {"function": "detectron2.solver.build_lr_scheduler(cfg, optimizer)", "kwargs": {"SOLVER": solver},
         "stepping": D2_STEPPING},
        "SGD", D2_DEFAULTS, D2_GROUPS, steps, exp)


def d2_legacy_case(name, cls, kwargs, description, steps):
    opt = make_optimizer("SGD", D2_DEFAULTS, D2_GROUPS)
    sched = cls(opt, **kwargs)
    exp = run(opt, steps, end=lambda k: sched.step())
    cname = cls.__name__.replace("Legacy", "")
    return pack(
        name,
        f"transcribed from facebookresearch/detectron2 detectron2/solver/lr_scheduler.py {cname} "
        "@ 606437e6008b3e91acfff572061dbd1d71110087 (deprecated class, still shipped)",
        "detectron2 main (transcribed)",
        description,
        {"function": f"detectron2.solver.lr_scheduler.{cname}", "kwargs": kwargs, "stepping": D2_STEPPING},
        "SGD", D2_DEFAULTS, D2_GROUPS, steps, exp)


@case
def d2_multistep_linear():
    return d2_case("d2_multistep_linear", {
        "LR_SCHEDULER_NAME": "WarmupMultiStepLR", "BASE_LR": 0.02, "MAX_ITER": 200, "STEPS": [120, 160],
        "GAMMA": 0.1, "WARMUP_FACTOR": 0.001, "WARMUP_ITERS": 20, "WARMUP_METHOD": "linear"},
        "detectron2 WarmupMultiStepLR as built today (fvcore MultiStepParamScheduler wrapped in "
        "WarmupParamScheduler, via LRMultiplier): linear warmup from 0.001x over 20 iterations, x0.1 at "
        "120 and 160. The multiplier is evaluated at where = iter/MAX_ITER (fvcore adds WHERE_EPSILON 1e-6 "
        "when locating milestones and the warmup/main boundary)")


@case
def d2_multistep_constant():
    return d2_case("d2_multistep_constant", {
        "LR_SCHEDULER_NAME": "WarmupMultiStepLR", "BASE_LR": 0.02, "MAX_ITER": 150, "STEPS": [100, 130, 999],
        "GAMMA": 0.5, "WARMUP_FACTOR": 0.1, "WARMUP_ITERS": 15, "WARMUP_METHOD": "constant"},
        "detectron2 WarmupMultiStepLR with constant warmup (0.1x for 15 iterations), gamma 0.5; the "
        "milestone 999 > MAX_ITER is dropped (with a warning) before building the schedule")


@case
def d2_cosine_linear():
    return d2_case("d2_cosine_linear", {
        "LR_SCHEDULER_NAME": "WarmupCosineLR", "BASE_LR": 0.02, "BASE_LR_END": 0.0, "MAX_ITER": 200,
        "WARMUP_FACTOR": 0.001, "WARMUP_ITERS": 25, "WARMUP_METHOD": "linear"},
        "detectron2 WarmupCosineLR as built today: fvcore CosineParamScheduler(1, 0) over the whole run "
        "(interval 'fixed': the cosine is not re-timed after warmup), linear warmup from 0.001x to the "
        "cosine's value at warmup end")


@case
def d2_cosine_constant_end():
    return d2_case("d2_cosine_constant_end", {
        "LR_SCHEDULER_NAME": "WarmupCosineLR", "BASE_LR": 0.02, "BASE_LR_END": 0.0002, "MAX_ITER": 120,
        "WARMUP_FACTOR": 0.01, "WARMUP_ITERS": 10, "WARMUP_METHOD": "constant"},
        "detectron2 WarmupCosineLR with BASE_LR_END 2e-4 (end_value 0.01) and constant warmup 0.01x")


@case
def d2_legacy_warmup_multistep():
    return d2_legacy_case(
        "d2_legacy_warmup_multistep", LegacyWarmupMultiStepLR,
        {"milestones": [120, 160], "gamma": 0.1, "warmup_factor": 0.001, "warmup_iters": 20,
         "warmup_method": "linear"},
        "detectron2's deprecated WarmupMultiStepLR class: base*warmup_factor(iter)*gamma**bisect_right(...)",
        200)


@case
def d2_legacy_warmup_cosine():
    return d2_legacy_case(
        "d2_legacy_warmup_cosine", LegacyWarmupCosineLR,
        {"max_iters": 200, "warmup_factor": 0.001, "warmup_iters": 20, "warmup_method": "constant"},
        "detectron2's deprecated WarmupCosineLR class: the full-run half cosine multiplied by the warmup "
        "factor (constant 0.001 for 20 iterations), not a cosine started after warmup", 200)


# ---------------------------------------------------------------- torchvision reference recipe

# pytorch/vision references/classification/train.py @ 017e9b99b5daddec3d82d5b05fe26f6834c48fa9:
# the main scheduler is built FIRST, then the warmup one, then SequentialLR; lr_scheduler.step()
# once per epoch after train_one_epoch. (Later versions pass eta_min=args.lr_min, default 0.0.)
def torchvision_case(name, args, description, main):
    defaults = {"lr": args["lr"], "momentum": args["momentum"], "weight_decay": args["weight_decay"]}
    groups = [G("norm", weight_decay=args["norm_weight_decay"]), G("other", weight_decay=args["weight_decay"])]
    opt = make_optimizer("SGD", defaults, groups)
    sch = torch.optim.lr_scheduler
    if main == "cosineannealinglr":
        main_s = sch.CosineAnnealingLR(opt, T_max=args["epochs"] - args["lr_warmup_epochs"])
        main_desc = {"type": "CosineAnnealingLR", "kwargs": {"T_max": args["epochs"] - args["lr_warmup_epochs"]}}
    else:
        main_s = sch.StepLR(opt, step_size=args["lr_step_size"], gamma=args["lr_gamma"])
        main_desc = {"type": "StepLR", "kwargs": {"step_size": args["lr_step_size"], "gamma": args["lr_gamma"]}}
    if args["lr_warmup_method"] == "linear":
        warm = sch.LinearLR(opt, start_factor=args["lr_warmup_decay"], total_iters=args["lr_warmup_epochs"])
        warm_desc = {"type": "LinearLR", "kwargs": {"start_factor": args["lr_warmup_decay"],
                                                    "total_iters": args["lr_warmup_epochs"]}}
    else:
        warm = sch.ConstantLR(opt, factor=args["lr_warmup_decay"], total_iters=args["lr_warmup_epochs"])
        warm_desc = {"type": "ConstantLR", "kwargs": {"factor": args["lr_warmup_decay"],
                                                      "total_iters": args["lr_warmup_epochs"]}}
    seq = sch.SequentialLR(opt, schedulers=[warm, main_s], milestones=[args["lr_warmup_epochs"]])
    exp = run(opt, args["epochs"], end=lambda e: seq.step())
    return pack(
        name,
        "transcribed from pytorch/vision references/classification/train.py "
        "@ 017e9b99b5daddec3d82d5b05fe26f6834c48fa9 (scheduler construction), running torch's own schedulers",
        f"torchvision reference scripts (transcribed) + torch {TORCH}",
        description,
        {"function": "references/classification/train.py main()", "kwargs": args,
         "built": [main_desc, warm_desc,
                   {"type": "SequentialLR", "kwargs": {"milestones": [args["lr_warmup_epochs"]]},
                    "children": ["warmup", "main"]}],
         "stepping": "per epoch: the main scheduler is constructed first, then the warmup one, then "
                     "SequentialLR([warmup, main]); record lr, optimizer.step(), lr_scheduler.step()"},
        "SGD", defaults, groups, args["epochs"], exp)


@case
def torchvision_resnet_v2():
    return torchvision_case("torchvision_resnet_v2", {
        "lr": 0.5, "momentum": 0.9, "weight_decay": 2e-05, "norm_weight_decay": 0.0, "epochs": 60,
        "lr_scheduler": "cosineannealinglr", "lr_warmup_epochs": 5, "lr_warmup_method": "linear",
        "lr_warmup_decay": 0.01},
        "torchvision's 'new recipe' (ResNet50 v2 style, shortened to 60 epochs): LinearLR(0.01, 5) then "
        "CosineAnnealingLR(T_max = epochs - warmup) in SequentialLR, per epoch; norm layers in their own "
        "group with weight_decay 0", "cosineannealinglr")


@case
def torchvision_constant_warmup_step():
    return torchvision_case("torchvision_constant_warmup_step", {
        "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0001, "norm_weight_decay": 0.0, "epochs": 40,
        "lr_scheduler": "steplr", "lr_step_size": 10, "lr_gamma": 0.1, "lr_warmup_epochs": 3,
        "lr_warmup_method": "constant", "lr_warmup_decay": 0.01},
        "torchvision reference script with its default warmup method 'constant' (ConstantLR 0.01 for 3 "
        "epochs) before StepLR(10, 0.1); SequentialLR restarts StepLR at the milestone", "steplr")


# ---------------------------------------------------------------- YOLO / ultralytics (transcribed)

# ultralytics/ultralytics ultralytics/utils/torch_utils.py one_cycle @ 0009995d900e4a1697c8a6d7d928dcb2e75da9e0
def one_cycle(y1=0.0, y2=1.0, steps=100):
    return lambda x: max((1 - math.cos(x * math.pi / steps)) / 2, 0) * (y2 - y1) + y1


def yolo_case(name, args, nb, description):
    # ultralytics/ultralytics ultralytics/engine/trainer.py @ 3c5ac618ec954b0f238c8f4ae558dac6e7f9991b:
    # build_optimizer: SGD(g[2] biases, lr, momentum, nesterov=True), then add_param_group(g[0] weights,
    # weight_decay=decay), add_param_group(g[1] norm weights, weight_decay=0). _setup_scheduler: lf =
    # one_cycle(1, lrf, epochs) if cos_lr else linear; LambdaLR(optimizer, lf); scheduler.last_epoch =
    # start_epoch - 1. _do_train: scheduler.step() at the START of each epoch; per batch, while
    # ni = i + nb*epoch <= nw (nw = max(round(warmup_epochs*nb), 100)), every group's lr and momentum are
    # np.interp-ed; bias group (j == 0) from warmup_bias_lr, others from 0.0, to initial_lr*lf(epoch).
    epochs = args["epochs"]
    lr0, lrf, momentum = args["lr0"], args["lrf"], args["momentum"]
    decay = args["weight_decay"]  # batch == nbs here, so no weight-decay scaling and accumulate == 1
    defaults = {"lr": lr0, "momentum": momentum, "nesterov": True}
    groups = [G("bias"), G("weight", weight_decay=decay), G("norm", weight_decay=0.0)]
    opt = make_optimizer("SGD", defaults, groups)
    if args["cos_lr"]:
        lf = one_cycle(1, lrf, epochs)
    else:
        lf = lambda x: max(1 - x / epochs, 0) * (1.0 - lrf) + lrf  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lf)
    sched.last_epoch = 0 - 1  # start_epoch - 1
    nw = max(round(args["warmup_epochs"] * nb), 100) if args["warmup_epochs"] > 0 else -1

    def begin(ni):
        epoch, i = divmod(ni, nb)
        if i == 0:
            sched.step()
        if ni <= nw:
            xi = [0, nw]
            for j, x in enumerate(opt.param_groups):
                x["lr"] = np.interp(ni, xi, [args["warmup_bias_lr"] if j == 0 else 0.0, x["initial_lr"] * lf(epoch)])
                if "momentum" in x:
                    x["momentum"] = np.interp(ni, xi, [args["warmup_momentum"], momentum])

    steps = epochs * nb
    exp = run(opt, steps, begin=begin, momentum=True)
    return pack(
        name,
        "transcribed from ultralytics/ultralytics ultralytics/engine/trainer.py "
        "@ 3c5ac618ec954b0f238c8f4ae558dac6e7f9991b (_setup_scheduler, _do_train warmup) and "
        "ultralytics/utils/torch_utils.py one_cycle @ 0009995d900e4a1697c8a6d7d928dcb2e75da9e0",
        f"ultralytics main (transcribed) + torch {TORCH} LambdaLR + numpy {NUMPY} interp",
        description,
        {"function": "ultralytics BaseTrainer (_setup_scheduler + warmup in _do_train)",
         "kwargs": {**args, "nb": nb, "nw": nw},
         "stepping": "per batch ni = i + nb*epoch: at i == 0 scheduler.step() (LambdaLR, last_epoch reset "
                     "to -1 after construction, so epoch e uses lf(e)); while ni <= nw every group's lr is "
                     "np.interp(ni, [0, nw], [warmup_bias_lr if group 0 else 0.0, initial_lr*lf(epoch)]) "
                     "and momentum np.interp(ni, [0, nw], [warmup_momentum, momentum]); record; "
                     "optimizer.step()"},
        "SGD", defaults, groups, steps, exp, steps_per_epoch=nb)


@case
def yolo_one_cycle_warmup():
    return yolo_case("yolo_one_cycle_warmup", {
        "epochs": 12, "lr0": 0.01, "lrf": 0.01, "momentum": 0.937, "weight_decay": 0.0005, "cos_lr": True,
        "warmup_epochs": 3.0, "warmup_momentum": 0.8, "warmup_bias_lr": 0.1}, 15,
        "YOLO cos_lr one-cycle (1 -> lrf over epochs) per epoch with per-batch warmup: 3 warmup epochs of "
        "15 batches is 45 iterations but nw = max(45, 100) = 100 (the 100-iteration minimum), so warmup "
        "spans 6.7 epochs and interpolates towards the moving target initial_lr*lf(epoch); the bias group "
        "falls from 0.1, the others rise from 0; momentum 0.8 -> 0.937")


@case
def yolo_linear_warmup():
    return yolo_case("yolo_linear_warmup", {
        "epochs": 10, "lr0": 0.01, "lrf": 0.01, "momentum": 0.937, "weight_decay": 0.0005, "cos_lr": False,
        "warmup_epochs": 5.0, "warmup_momentum": 0.8, "warmup_bias_lr": 0.1}, 25,
        "YOLO default linear lambda max(1 - x/epochs, 0)*(1 - lrf) + lrf with warmup_epochs 5 of 25 "
        "batches: nw = 125 > 100")


# ---------------------------------------------------------------- Noam (transcribed)

# harvardnlp/annotated-transformer the_annotated_transformer.py @ 0a91a254735c07532e23733dce8a693e504f3a08
def noam_rate(step, model_size, factor, warmup):
    """
    we have to default the step to 1 for LambdaLR function
    to avoid zero raising to negative power.
    """
    if step == 0:
        step = 1
    return factor * (model_size ** (-0.5) * min(step ** (-0.5), step * warmup ** (-1.5)))


def noam_case(name, kw, defaults, groups, steps, description):
    opt = make_optimizer("Adam", {**defaults, "betas": (0.9, 0.98)}, groups)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda step: noam_rate(step, **kw))
    exp = run(opt, steps, end=lambda k: sched.step())
    return pack(
        name,
        "transcribed from harvardnlp/annotated-transformer the_annotated_transformer.py rate() "
        "@ 0a91a254735c07532e23733dce8a693e504f3a08, run in torch's LambdaLR",
        f"annotated-transformer (transcribed) + torch {TORCH} LambdaLR",
        description,
        {"function": "LambdaLR(optimizer, lambda step: rate(step, model_size, factor, warmup))", "kwargs": kw,
         "stepping": PER_STEP_TORCH},
        "Adam", defaults, groups, steps, exp)


@case
def noam_annotated_transformer():
    return noam_case("noam_annotated_transformer", {"model_size": 512, "factor": 1.0, "warmup": 30},
                     {"lr": 1.0, "betas": [0.9, 0.98], "eps": 1e-09}, [G("base")], 200,
                     "Noam rate with base lr 1.0 (train_worker's config): lr is the absolute "
                     "factor*d**-0.5*min(s**-0.5, s*warmup**-1.5); steps 0 and 1 are equal (step 0 -> 1)")


@case
def noam_base_lr_half():
    return noam_case("noam_base_lr_half", {"model_size": 64, "factor": 2.0, "warmup": 20},
                     {"lr": 0.5, "betas": [0.9, 0.98], "eps": 1e-09}, [G("base"), G("head", lr=1.0)], 150,
                     "Noam rate under LambdaLR with base lrs 0.5 and 1.0 (example_simple_model uses lr 0.5): "
                     "the rate multiplies each group's base lr")


# ---------------------------------------------------------------- MAE / BEiT layer-wise decay (transcribed)

class TinyViT(torch.nn.Module):
    """Parameter names and order of a timm VisionTransformer with 4 blocks (shapes shrunk)."""

    def __init__(self, depth=4, dim=3):
        super().__init__()
        self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = torch.nn.Parameter(torch.zeros(1, 2, dim))
        self.patch_embed = torch.nn.Module()
        self.patch_embed.proj = torch.nn.Linear(2, dim)
        self.blocks = torch.nn.ModuleList()
        for _ in range(depth):
            b = torch.nn.Module()
            b.norm1 = torch.nn.LayerNorm(dim)
            b.attn = torch.nn.Linear(dim, dim)
            self.blocks.append(b)
        self.fc_norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, 2)


# facebookresearch/mae util/lr_decay.py @ be47fef7a727943547afb0c670cf1b26034c3c89
def param_groups_lrd(model, weight_decay=0.05, no_weight_decay_list=[], layer_decay=.75):
    param_group_names = {}
    param_groups = {}
    num_layers = len(model.blocks) + 1
    layer_scales = list(layer_decay ** (num_layers - i) for i in range(num_layers + 1))
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim == 1 or n in no_weight_decay_list:
            g_decay = "no_decay"
            this_decay = 0.
        else:
            g_decay = "decay"
            this_decay = weight_decay
        layer_id = get_layer_id_for_vit(n, num_layers)
        group_name = "layer_%d_%s" % (layer_id, g_decay)
        if group_name not in param_group_names:
            this_scale = layer_scales[layer_id]
            param_group_names[group_name] = {"lr_scale": this_scale, "weight_decay": this_decay, "params": []}
            param_groups[group_name] = {"lr_scale": this_scale, "weight_decay": this_decay, "params": []}
        param_group_names[group_name]["params"].append(n)
        param_groups[group_name]["params"].append(p)
    return list(param_groups.values()), param_group_names


def get_layer_id_for_vit(name, num_layers):
    if name in ['cls_token', 'pos_embed']:
        return 0
    elif name.startswith('patch_embed'):
        return 0
    elif name.startswith('blocks'):
        return int(name.split('.')[1]) + 1
    else:
        return num_layers


# facebookresearch/mae util/lr_sched.py @ be47fef7a727943547afb0c670cf1b26034c3c89
def mae_adjust_learning_rate(optimizer, epoch, args):
    """Decay the learning rate with half-cycle cosine after warmup"""
    if epoch < args["warmup_epochs"]:
        lr = args["lr"] * epoch / args["warmup_epochs"]
    else:
        lr = args["min_lr"] + (args["lr"] - args["min_lr"]) * 0.5 * \
            (1. + math.cos(math.pi * (epoch - args["warmup_epochs"]) / (args["epochs"] - args["warmup_epochs"])))
    for param_group in optimizer.param_groups:
        if "lr_scale" in param_group:
            param_group["lr"] = lr * param_group["lr_scale"]
        else:
            param_group["lr"] = lr
    return lr


@case
def mae_finetune_layer_decay():
    args = {"lr": 0.001, "min_lr": 1e-06, "warmup_epochs": 2, "epochs": 10, "layer_decay": 0.75,
            "weight_decay": 0.05, "depth": 4}
    nb = 15
    model = TinyViT(depth=args["depth"])
    pgs, names = param_groups_lrd(model, args["weight_decay"], {"cls_token", "pos_embed"}, args["layer_decay"])
    opt = torch.optim.AdamW(pgs, lr=args["lr"])
    groups = [G(n, lr_scale=v["lr_scale"], weight_decay=v["weight_decay"]) for n, v in names.items()]
    for g, (n, v) in zip(groups, names.items()):
        g["param_names"] = v["params"]

    def begin(k):
        epoch, data_iter_step = divmod(k, nb)
        mae_adjust_learning_rate(opt, data_iter_step / nb + epoch, args)

    steps = args["epochs"] * nb
    exp = run(opt, steps, begin=begin)
    return pack(
        "mae_finetune_layer_decay",
        "transcribed from facebookresearch/mae util/lr_decay.py param_groups_lrd, util/lr_sched.py "
        "adjust_learning_rate and engine_finetune.py @ be47fef7a727943547afb0c670cf1b26034c3c89",
        "MAE main (transcribed)",
        "MAE fine-tuning: param_groups_lrd on a 4-block ViT (num_layers = depth + 1 = 5, "
        "lr_scale = 0.75**(5 - layer_id): embeddings 0.75**5 ... head 1.0; 1-D params and cls_token/"
        "pos_embed without weight decay), then per iteration adjust_learning_rate(optimizer, "
        "data_iter_step / len(data_loader) + epoch) — a fractional epoch — linear warmup from exactly 0 "
        "and half-cycle cosine to min_lr, times each group's lr_scale",
        {"function": "util.lr_sched.adjust_learning_rate(optimizer, data_iter_step / len(data_loader) + epoch, args)",
         "kwargs": {**args, "no_weight_decay_list": ["cls_token", "pos_embed"], "accum_iter": 1},
         "groups_from": "util.lr_decay.param_groups_lrd(model, weight_decay, no_weight_decay_list, layer_decay)",
         "stepping": "per iteration k = epoch*steps_per_epoch + data_iter_step: adjust_learning_rate with "
                     "epoch_float = data_iter_step / steps_per_epoch + epoch (Python float division then "
                     "addition), record, optimizer.step()"},
        "AdamW", {"lr": args["lr"]}, groups, steps, exp, steps_per_epoch=nb)


# microsoft/unilm beit/utils.py cosine_scheduler @ 806b7d078dbf0c35d4077dad83122d17d6fe3d7b
def beit_cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0,
                          start_warmup_value=0, warmup_steps=-1):
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_steps > 0:
        warmup_iters = warmup_steps
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = np.array(
        [final_value + 0.5 * (base_value - final_value) * (1 + math.cos(math.pi * i / (len(iters)))) for i in iters])
    schedule = np.concatenate((warmup_schedule, schedule))
    assert len(schedule) == epochs * niter_per_ep
    return schedule


@case
def beit_finetune_layer_decay():
    args = {"lr": 0.002, "min_lr": 1e-06, "warmup_epochs": 2, "epochs": 10, "layer_decay": 0.65,
            "num_layers": 4, "warmup_lr": 0}
    nb = 12
    num_layers = args["num_layers"]
    # beit/run_class_finetuning.py: LayerDecayValueAssigner(list(layer_decay ** (num_layers + 1 - i)
    # for i in range(num_layers + 2))); group "layer_<id>" gets lr_scale = values[id].
    values = list(args["layer_decay"] ** (num_layers + 1 - i) for i in range(num_layers + 2))
    groups = [G(f"layer_{i}", lr_scale=v) for i, v in enumerate(values)]
    opt = make_optimizer("AdamW", {"lr": args["lr"]}, groups)
    sched = beit_cosine_scheduler(args["lr"], args["min_lr"], args["epochs"], nb,
                                  warmup_epochs=args["warmup_epochs"], start_warmup_value=args["warmup_lr"])

    def begin(it):
        for param_group in opt.param_groups:
            param_group["lr"] = sched[it] * param_group["lr_scale"]

    steps = args["epochs"] * nb
    exp = run(opt, steps, begin=begin)
    return pack(
        "beit_finetune_layer_decay",
        "transcribed from microsoft/unilm beit/utils.py cosine_scheduler @ 806b7d078dbf0c35d4077dad83122d17d6fe3d7b "
        "(and the lr_scale assignment of beit/engine_for_finetuning.py / run_class_finetuning.py)",
        f"BEiT (transcribed) + numpy {NUMPY}",
        "BEiT/DeiT/DINO-style per-iteration table: np.linspace(start_warmup_value, base, warmup_iters) "
        "(reaches base exactly at the LAST warmup iteration), then cosine final + 0.5*(base - final)*"
        "(1 + cos(pi*i/len)) over the rest (never reaches final); each group's lr is table[it] * "
        "lr_scale with lr_scale = layer_decay**(num_layers + 1 - layer_id) (6 groups for 4 layers)",
        {"function": "utils.cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs, "
                     "start_warmup_value)",
         "kwargs": {"base_value": args["lr"], "final_value": args["min_lr"], "epochs": args["epochs"],
                    "niter_per_ep": nb, "warmup_epochs": args["warmup_epochs"],
                    "start_warmup_value": args["warmup_lr"], "layer_decay": args["layer_decay"],
                    "num_layers": num_layers},
         "stepping": "per iteration it: param_group['lr'] = table[it] * param_group['lr_scale'] for every "
                     "group; record; optimizer.step()"},
        "AdamW", {"lr": args["lr"]}, groups, steps, exp, steps_per_epoch=nb)


# ---------------------------------------------------------------- main


def main(names):
    """Every case (and stale files removed), or only the cases named on the command line."""
    unknown = set(names) - {fn.__name__ for fn in CASES}
    if unknown:
        sys.exit(f"no such case: {', '.join(sorted(unknown))}")
    missing = [lib for lib, m in (("transformers", hf), ("timm", ts), ("fvcore", fvs)) if m is None]
    if missing and not names:
        sys.exit(f"regenerating every case needs {', '.join(missing)}; "
                 "or name the cases to regenerate (e.g. yolo_linear_warmup)")
    OUT.mkdir(parents=True, exist_ok=True)
    written = set()
    for fn in CASES:
        if names and fn.__name__ not in names:
            continue
        d = fn()
        assert d["name"] == fn.__name__, (d["name"], fn.__name__)
        n = d["steps"]
        for series in d["expected"].values():
            assert len(series) == len(d["groups"]) and all(len(s) == n for s in series), d["name"]
            assert all(math.isfinite(v) for s in series for v in s), d["name"]
        path = OUT / f"{d['name']}.json"
        path.write_text(json.dumps(d, indent=1) + "\n")
        written.add(path.name)
    if not names:
        for p in OUT.glob("*.json"):
            if p.name not in written:
                p.unlink()
    print(f"wrote {len(written)} recipe cases to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

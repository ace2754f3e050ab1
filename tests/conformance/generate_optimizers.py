#!/usr/bin/env python3
"""Record reference trajectories of the optimizers optimc does not have yet (issue 15).

Run:  /work/venv/bin/python tests/conformance/generate_optimizers.py
It rewrites tests/conformance/optimizers/<name>.json (one case per file, stale files
removed) and tests/conformance/optimizer_argument_checks.json. Deterministic.

Same data and loop as tests/conformance/torch (see README.md), with shaped
parameters: each group is ONE tensor of shape `shape` (2-D [rows, cols] or 1-D
[n]); init, grads and params are flattened row-major. Data come from numpy
default_rng(crc32(name)): for each group in order standard_normal(size) as
float32 (init), then for each epoch, for each group, standard_normal(size) as
float32 (grads); LBFGS instead draws A and b after init (no grads).

Optimizers: torch 2.15 Adafactor, Muon, ASGD, Rprop, LBFGS; timm Lion and Lamb;
torch.optim.swa_utils SWALR (as a scheduler) and AveragedModel (SWA and EMA).
Default dtype float32, CPU, single-tensor path (foreach=False passed where the
optimizer takes it and recorded in "defaults").
"""
import json
import math
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.optim._muon as torch_muon
from torch.optim import swa_utils
import timm
import timm.optim

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float32)

HERE = Path(__file__).resolve().parent
OUT = HERE / "optimizers"
CHECKS = HERE / "optimizer_argument_checks.json"

TORCH = torch.__version__
TIMM = timm.__version__

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def G(name, shape, **options):
    return {"name": name, "shape": list(shape), "options": options}


def jsonable(x):
    if isinstance(x, tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, list):
        return [jsonable(v) for v in x]
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    return x


def size_of(shape):
    return int(np.prod(shape))


def draw(name, groups, epochs):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    init = {g["name"]: rng.standard_normal(size_of(g["shape"])).astype(np.float32) for g in groups}
    grads = [{g["name"]: rng.standard_normal(size_of(g["shape"])).astype(np.float32) for g in groups}
             for _ in range(epochs)]
    return rng, init, grads


def optimizer_class(opt_type):
    if opt_type in ("Lion", "Lamb"):
        return getattr(timm.optim, opt_type)
    return getattr(torch.optim, opt_type)


def build_scheduler(opt, spec):
    if spec is None:
        return None
    t = spec["type"]
    if t == "SequentialLR":
        children = [build_scheduler(opt, c) for c in spec["children"]]
        return torch.optim.lr_scheduler.SequentialLR(opt, schedulers=children, milestones=spec["kwargs"]["milestones"])
    if t == "SWALR":
        return swa_utils.SWALR(opt, **spec["kwargs"])
    if t == "SWA_switch":
        children = [build_scheduler(opt, c) for c in spec["children"]]
        return ("switch", spec["kwargs"]["swa_start"], children[0], children[1])
    return getattr(torch.optim.lr_scheduler, t)(opt, **spec["kwargs"])


class Model(torch.nn.Module):
    """One parameter per group, registered in group order (for AveragedModel)."""

    def __init__(self, tensors):
        super().__init__()
        self.names = list(tensors)
        for n, t in tensors.items():
            self.register_parameter(n, torch.nn.Parameter(t))


def round_bf16(x):
    """float32 -> nearest bfloat16 (ties to even) -> float32, as torch's .to(torch.bfloat16)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


def fma_f32(a, b, c):
    """a*b + c rounded once to float32 (exact product in float64; as f32::mul_add up to double rounding)."""
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


def matmul_f32(a, b):
    """Row-by-column products accumulated in float32 with fused multiply-adds, in index order."""
    out = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            s = np.float32(0.0)
            for k in range(a.shape[1]):
                s = fma_f32(a[i, k], b[k, j], s)
            out[i, j] = s
    return out


def addmm_f32(c, a, b, beta, alpha):
    """torch.addmm(c, a, b, beta=beta, alpha=alpha) before the final bf16 rounding: fma(beta, c, alpha*(a@b))."""
    acc = matmul_f32(a, b)
    scaled = (np.float32(alpha) * acc).astype(np.float32)
    out = np.zeros_like(acc)
    for idx in np.ndindex(acc.shape):
        out[idx] = fma_f32(np.float32(beta), c[idx], scaled[idx])
    return out


def emulate_newton_schulz(grad, ns_coefficients, ns_steps, eps):
    """torch.optim._muon._zeropower_via_newtonschulz on CPU (torch 2.15, x86 AVX512), reproduced bit for
    bit for every call recorded here: each bfloat16 op computes in float32 and rounds its result to
    bfloat16 (round to nearest even); the matmuls accumulate with FMAs and addmm ends with
    fma(beta, C, alpha*acc). (Which accumulation order torch's kernel uses could not be pinned down
    from these small matrices; in-order FMA reproduces all of them.)"""
    a, b, c = ns_coefficients
    x = round_bf16(grad)
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = np.ascontiguousarray(x.T)
    norm = round_bf16(np.sqrt(np.float32(np.sum(x * x, dtype=np.float32))))
    norm = max(norm, round_bf16(np.float32(eps)))
    x = round_bf16(x / norm)
    for _ in range(ns_steps):
        gram = round_bf16(matmul_f32(x, np.ascontiguousarray(x.T)))
        upd = round_bf16(addmm_f32(gram, gram, gram, b, c))
        x = round_bf16(addmm_f32(x, upd, x, a, 1.0))
    return x.T if transposed else x


def flat(t):
    return t.detach().reshape(-1).tolist()


def run_case(name, description, opt_type, defaults, groups, epochs, scheduler=None, averaging=None,
             extra_state=None):
    """The loop of tests/conformance/torch, with shaped tensors; see README.md."""
    for g in groups:
        g["size"] = size_of(g["shape"])
    _, init, grads = draw(name, groups, epochs)
    tensors = {g["name"]: torch.tensor(init[g["name"]]).reshape(g["shape"]) for g in groups}
    model = Model(tensors)
    params = [getattr(model, g["name"]) for g in groups]
    opt = optimizer_class(opt_type)(
        [dict(params=[p], **jsonable_to_args(g["options"])) for p, g in zip(params, groups)],
        **jsonable_to_args(defaults))
    sched = build_scheduler(opt, scheduler)
    avg = None
    if averaging is not None:
        if averaging["avg"] == "swa":
            avg = swa_utils.AveragedModel(model)
        else:
            avg = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(averaging["decay"]))

    ns_log = []
    if opt_type == "Muon":
        orig = torch_muon._zeropower_via_newtonschulz

        def spy(grad, ns_coefficients, ns_steps, eps):
            out = orig(grad, ns_coefficients, ns_steps, eps)
            got = out.detach().to(torch.float32).numpy()
            want = emulate_newton_schulz(grad.detach().numpy(), ns_coefficients, ns_steps, eps)
            assert np.array_equal(got, want), "the bf16 Newton-Schulz emulation (README) no longer matches torch"
            ns_log.append(out.detach().to(torch.float64).reshape(-1).tolist())
            return out

        torch_muon._zeropower_via_newtonschulz = spy

    exp = {"lr": [[] for _ in groups], "params": []}
    if avg is not None:
        exp["averaged"] = []
        exp["n_averaged"] = []
    if opt_type == "Muon":
        exp["ns_output"] = []
    if extra_state:
        for k in extra_state:
            exp[k] = []
    try:
        for e in range(epochs):
            for i, g in enumerate(opt.param_groups):
                exp["lr"][i].append(float(g["lr"]))
            for p, g in zip(params, groups):
                p.grad = torch.tensor(grads[e][g["name"]]).reshape(g["shape"])
            ns_log.clear()
            opt.step()
            exp["params"].append({g["name"]: flat(p) for p, g in zip(params, groups)})
            if opt_type == "Muon":
                assert len(ns_log) == len(groups)
                exp["ns_output"].append({g["name"]: v for g, v in zip(groups, ns_log)})
            if extra_state:
                for k in extra_state:
                    row = {}
                    for p, g in zip(params, groups):
                        v = opt.state[p][k]
                        row[g["name"]] = flat(v) if v.dim() > 0 else float(v.item())
                    exp[k].append(row)
            # averaging and scheduler stepping
            if isinstance(sched, tuple):  # the torch.optim.swa_utils documentation pattern
                _, swa_start, main, swa_sched = sched
                if e > swa_start:
                    avg.update_parameters(model)
                    swa_sched.step()
                else:
                    main.step()
                averaged_now = e > swa_start
            else:
                averaged_now = avg is not None and e >= averaging["start"]
                if averaged_now:
                    avg.update_parameters(model)
                if sched is not None:
                    sched.step()
            if avg is not None:
                if averaged_now:
                    exp["averaged"].append({g["name"]: flat(getattr(avg.module, g["name"])) for g in groups})
                else:
                    exp["averaged"].append(None)
                exp["n_averaged"].append(int(avg.n_averaged.item()))
    finally:
        if opt_type == "Muon":
            torch_muon._zeropower_via_newtonschulz = orig

    d = {"name": name, "torch_version": TORCH}
    if opt_type in ("Lion", "Lamb"):
        d["timm_version"] = TIMM
    d.update({
        "description": description,
        "optimizer": {"type": opt_type, "defaults": jsonable(defaults)},
        "groups": [{"name": g["name"], "size": g["size"], "shape": g["shape"], "options": jsonable(g["options"])}
                   for g in groups],
        "scheduler": jsonable(scheduler),
    })
    if averaging is not None:
        d["averaging"] = jsonable(averaging)
    d.update({
        "epochs": epochs,
        "metrics": None,
        "init": {k: v.tolist() for k, v in init.items()},
        "grads": [{k: v.tolist() for k, v in row.items()} for row in grads],
        "expected": exp,
    })
    return d


def jsonable_to_args(d):
    """JSON lists back to the tuples torch wants (betas, etas, step_sizes, eps pairs, ns_coefficients)."""
    out = {}
    for k, v in d.items():
        out[k] = tuple(v) if isinstance(v, list) and k in ("betas", "etas", "step_sizes", "eps", "ns_coefficients") else v
    return out


A = (4, 3)
B = (6, 5)

# ---------------------------------------------------------------- Adafactor


@case
def adafactor_default():
    return run_case("adafactor_default", "Adafactor defaults (lr 0.01, beta2_decay -0.8, eps (None, 1e-3), d 1); "
                    "two 2-D params, factored second moments",
                    "Adafactor", {"foreach": False}, [G("w1", A), G("w2", B)], 30)


@case
def adafactor_1d_wd_cosine():
    return run_case("adafactor_1d_wd_cosine", "Adafactor weight_decay 0.01 on a 2-D and a 1-D param (1-D: unfactored "
                    "variance); bias overrides lr and weight_decay; CosineAnnealingLR(T_max 40)",
                    "Adafactor", {"lr": 0.02, "weight_decay": 0.01, "foreach": False},
                    [G("weight", B), G("bias", (5,), lr=0.005, weight_decay=0.0)], 40,
                    scheduler={"type": "CosineAnnealingLR", "kwargs": {"T_max": 40, "eta_min": 0.0}})


@case
def adafactor_beta2_d_eps():
    return run_case("adafactor_beta2_d_eps", "Adafactor beta2_decay -0.5, d 2.0, eps (1e-6, 1e-2) on [4,3]; "
                    "group 'vec' [7] overrides d 1.5 and eps (None, 1e-3); lr 0.5 > 1/sqrt(t) for t >= 5",
                    "Adafactor", {"lr": 0.5, "beta2_decay": -0.5, "d": 2.0, "eps": [1e-06, 0.01], "foreach": False},
                    [G("mat", A), G("vec", (7,), d=1.5, eps=[None, 0.001])], 25)


@case
def adafactor_maximize():
    return run_case("adafactor_maximize", "Adafactor maximize on the first group only, weight_decay 0.1 on the "
                    "second; StepLR(10, 0.5)",
                    "Adafactor", {"lr": 0.03, "foreach": False},
                    [G("up", A, maximize=True), G("down", B, weight_decay=0.1)], 30,
                    scheduler={"type": "StepLR", "kwargs": {"step_size": 10, "gamma": 0.5}})


# ---------------------------------------------------------------- Muon


@case
def muon_default():
    return run_case("muon_default", "Muon defaults (momentum 0.95 nesterov, ns_steps 5, wd 0.1, adjust_lr_fn None = "
                    "'original': lr*sqrt(max(1, rows/cols))) with lr 0.02; second group lr 0.01 and no weight decay. "
                    "expected.ns_output: the Newton-Schulz output per step (computed in bfloat16)",
                    "Muon", {"lr": 0.02}, [G("w1", A), G("w2", B, lr=0.01, weight_decay=0.0)], 30)


@case
def muon_match_rms_adamw():
    return run_case("muon_match_rms_adamw", "Muon adjust_lr_fn 'match_rms_adamw' (0.2*sqrt(max(A,B))), nesterov "
                    "False, ns_steps 3, momentum 0.9; second group overrides adjust_lr_fn 'spectral_unclamped' "
                    "(sqrt(A/B)) on a wide [3,7] matrix",
                    "Muon", {"lr": 0.01, "momentum": 0.9, "nesterov": False, "ns_steps": 3,
                             "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.01},
                    [G("tall", B), G("wide", (3, 7), adjust_lr_fn="spectral_unclamped")], 30)


@case
def muon_original_schedule():
    return run_case("muon_original_schedule", "Muon adjust_lr_fn 'original' given explicitly, ns_steps 7, eps 1e-5, "
                    "custom ns_coefficients (3, -3.2, 1.2) on the second group; LinearLR warmup (0.1 -> 1 over 5)",
                    "Muon", {"lr": 0.05, "adjust_lr_fn": "original", "ns_steps": 7, "eps": 1e-05},
                    [G("w1", (5, 4)), G("w2", (4, 6), ns_coefficients=[3.0, -3.2, 1.2], momentum=0.8)], 25,
                    scheduler={"type": "LinearLR", "kwargs": {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 5}})


# ---------------------------------------------------------------- ASGD

ASGD_STATE = ["ax", "eta", "mu"]


@case
def asgd_default():
    return run_case("asgd_default", "ASGD defaults (lr 0.01, lambd 1e-4, alpha 0.75, t0 1e6: no averaging, ax "
                    "follows the params). expected.ax/eta/mu: optimizer state after each step",
                    "ASGD", {"foreach": False}, [G("w1", A), G("w2", B)], 30, extra_state=ASGD_STATE)


@case
def asgd_t0_wd():
    return run_case("asgd_t0_wd", "ASGD t0 10 (averaging from step 11: mu = 1/max(1, step - t0)), lambd 1e-3, "
                    "alpha 0.6, weight_decay 0.01; second group lr 0.05 and maximize",
                    "ASGD", {"lr": 0.02, "lambd": 0.001, "alpha": 0.6, "t0": 10.0, "weight_decay": 0.01,
                             "foreach": False},
                    [G("w1", A), G("w2", B, lr=0.05, maximize=True)], 40, extra_state=ASGD_STATE)


@case
def asgd_steplr():
    return run_case("asgd_steplr", "ASGD with StepLR(5, 0.5): the step uses eta from the previous step (eta is "
                    "recomputed from the group lr AFTER the update, stored as a float32 tensor), so a schedule acts "
                    "one step late; t0 5",
                    "ASGD", {"lr": 0.1, "t0": 5.0, "foreach": False},
                    [G("w1", B), G("w2", A, lambd=0.01)], 30, extra_state=ASGD_STATE,
                    scheduler={"type": "StepLR", "kwargs": {"step_size": 5, "gamma": 0.5}})


# ---------------------------------------------------------------- Rprop


@case
def rprop_default():
    return run_case("rprop_default", "Rprop defaults (lr 0.01, etas (0.5, 1.2), step_sizes (1e-6, 50))",
                    "Rprop", {"foreach": False}, [G("w1", A), G("w2", B)], 30)


@case
def rprop_options():
    return run_case("rprop_options", "Rprop etas (0.4, 1.5), step_sizes (1e-4, 0.05); second group lr 0.02, "
                    "maximize, etas (0.6, 1.1)",
                    "Rprop", {"lr": 0.005, "etas": [0.4, 1.5], "step_sizes": [0.0001, 0.05], "foreach": False},
                    [G("w1", B), G("w2", A, lr=0.02, maximize=True, etas=[0.6, 1.1])], 40)


@case
def rprop_schedule():
    return run_case("rprop_schedule", "Rprop under ExponentialLR(0.8): the group lr only seeds step_size at the "
                    "first step; later lr changes have no effect on the params",
                    "Rprop", {"lr": 0.01, "foreach": False}, [G("w1", A), G("w2", B, lr=0.03)], 25,
                    scheduler={"type": "ExponentialLR", "kwargs": {"gamma": 0.8}})


# ---------------------------------------------------------------- LBFGS (closure)


def lbfgs_case(name, description, defaults, shape, m, epochs):
    groups = [G("w", shape)]
    groups[0]["size"] = size_of(shape)
    n = size_of(shape)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    init = rng.standard_normal(n).astype(np.float32)
    col_scale = np.logspace(0.0, 1.0, n)  # condition the problem so that it takes many steps
    A_np = (rng.standard_normal((m, n)) * col_scale / math.sqrt(m)).astype(np.float32)
    b_np = rng.standard_normal(m).astype(np.float32)
    p = torch.nn.Parameter(torch.tensor(init).reshape(shape))
    A_t = torch.tensor(A_np)
    b_t = torch.tensor(b_np)
    opt = torch.optim.LBFGS([p], **defaults)
    evals = [0]

    def closure():
        evals[0] += 1
        opt.zero_grad()
        r = A_t @ p.reshape(-1) - b_t
        loss = 0.5 * (r * r).sum()
        loss.backward()
        return loss

    exp = {"lr": [[]], "params": [], "loss": [], "closure_evals": []}
    for e in range(epochs):
        exp["lr"][0].append(float(opt.param_groups[0]["lr"]))
        evals[0] = 0
        loss = opt.step(closure)
        exp["params"].append({"w": flat(p)})
        exp["loss"].append(float(loss.item()))
        exp["closure_evals"].append(evals[0])
    return {
        "name": name, "torch_version": TORCH, "description": description,
        "optimizer": {"type": "LBFGS", "defaults": jsonable(defaults)},
        "groups": [{"name": "w", "size": n, "shape": list(shape), "options": {}}],
        "scheduler": None,
        "epochs": epochs, "metrics": None,
        "init": {"w": init.tolist()},
        "grads": None,
        "closure": {
            "type": "quadratic",
            "loss": "0.5 * sum((A @ w_flat - b) ** 2), computed in float32 as r = A @ w_flat - b; "
                    "0.5 * (r * r).sum(); its gradient by autograd is A^T r",
            "A_shape": [m, n], "A": A_np.reshape(-1).tolist(), "b": b_np.tolist(),
            "zero_grad": "the closure calls optimizer.zero_grad() before computing the loss",
        },
        "expected": exp,
    }


@case
def lbfgs_quadratic():
    return lbfgs_case("lbfgs_quadratic", "LBFGS, no line search, lr 1, max_iter 2, history_size 5, on a fixed "
                      "quadratic closure (A, b stored); one group (LBFGS refuses several). expected.loss: the loss "
                      "step() returns (its first closure evaluation); expected.closure_evals: evaluations per step",
                      {"lr": 1.0, "max_iter": 2, "history_size": 5}, A, 16, 25)


@case
def lbfgs_strong_wolfe():
    return lbfgs_case("lbfgs_strong_wolfe", "LBFGS with line_search_fn 'strong_wolfe', max_iter 3, history_size 4, "
                      "lr 0.8 on a fixed quadratic closure; tolerance_grad 1e-7 / tolerance_change 1e-9 (defaults) end "
                      "steps early once it converges",
                      {"lr": 0.8, "max_iter": 3, "history_size": 4, "line_search_fn": "strong_wolfe"}, B, 40, 20)


# ---------------------------------------------------------------- timm Lion / Lamb


@case
def lion_default():
    return run_case("lion_default", "timm Lion, lr 0.01 (default 1e-4 is too small to see), betas (0.9, 0.99); "
                    "first group weight_decay 0.1; second group lr 0.003",
                    "Lion", {"lr": 0.01, "foreach": False},
                    [G("w1", A, weight_decay=0.1), G("w2", B, lr=0.003)], 30)


@case
def lion_corrected_wd_cosine():
    return run_case("lion_corrected_wd_cosine", "timm Lion corrected_weight_decay (decay scaled lr**2/max_lr, max_lr "
                    "snapshotted from the CONSTRUCTOR lr, also for a group with its own lr), weight_decay 1.0, betas "
                    "(0.95, 0.98); second group lr 0.002 and maximize; CosineAnnealingLR(T_max 30, eta_min 1e-4)",
                    "Lion", {"lr": 0.005, "betas": [0.95, 0.98], "weight_decay": 1.0, "corrected_weight_decay": True,
                             "foreach": False},
                    [G("w1", B), G("w2", A, lr=0.002, maximize=True)], 30,
                    scheduler={"type": "CosineAnnealingLR", "kwargs": {"T_max": 30, "eta_min": 0.0001}})


@case
def lion_caution():
    return run_case("lion_caution", "timm Lion caution=True (updates masked where sign(update) != sign(grad), "
                    "rescaled by the mask mean)",
                    "Lion", {"lr": 0.01, "caution": True, "weight_decay": 0.05, "foreach": False},
                    [G("w1", A), G("w2", B, caution=False)], 25)


@case
def lamb_default():
    return run_case("lamb_default", "timm Lamb defaults with lr 0.01 (weight_decay 0.01, max_grad_norm 1.0: global "
                    "norm over ALL groups' grads, read from optimizer.defaults); second group weight_decay 0 so "
                    "no trust ratio there (always_adapt False)",
                    "Lamb", {"lr": 0.01, "foreach": False},
                    [G("w1", A), G("w2", B, weight_decay=0.0)], 30)


@case
def lamb_options_warmup():
    return run_case("lamb_options_warmup", "timm Lamb bias_correction False, grad_averaging False, trust_clip, "
                    "always_adapt, max_grad_norm None, decoupled_decay, eps 1e-8; LinearLR warmup 0.01 -> 1 over 10",
                    "Lamb", {"lr": 0.02, "bias_correction": False, "grad_averaging": False, "trust_clip": True,
                             "always_adapt": True, "max_grad_norm": None, "decoupled_decay": True,
                             "weight_decay": 0.05, "eps": 1e-08, "foreach": False},
                    [G("w1", B), G("w2", A, lr=0.01, trust_clip=False)], 30,
                    scheduler={"type": "LinearLR", "kwargs": {"start_factor": 0.01, "end_factor": 1.0,
                                                              "total_iters": 10}})


@case
def lamb_clip_caution():
    return run_case("lamb_clip_caution", "timm Lamb max_grad_norm 0.5 (so the global clip is active every step), "
                    "caution, betas (0.9, 0.98), per-group weight_decay",
                    "Lamb", {"lr": 0.01, "max_grad_norm": 0.5, "caution": True, "betas": [0.9, 0.98],
                             "foreach": False},
                    [G("w1", A, weight_decay=0.1), G("w2", B)], 25)


# ---------------------------------------------------------------- SWA: SWALR and AveragedModel


@case
def swa_cos_sequential():
    return run_case("swa_cos_sequential", "SGD momentum; SequentialLR([CosineAnnealingLR(T_max 20, eta_min 0.01), "
                    "SWALR(swa_lr per group [0.02, 0.005], anneal_epochs 5, 'cos')], milestones [20]); "
                    "AveragedModel SWA (equal average) updated after the optimizer step from epoch 20 on",
                    "SGD", {"lr": 0.05, "momentum": 0.9}, [G("w1", A), G("w2", B, lr=0.02)], 40,
                    scheduler={"type": "SequentialLR", "kwargs": {"milestones": [20]}, "children": [
                        {"type": "CosineAnnealingLR", "kwargs": {"T_max": 20, "eta_min": 0.01}},
                        {"type": "SWALR", "kwargs": {"swa_lr": [0.02, 0.005], "anneal_epochs": 5,
                                                     "anneal_strategy": "cos"}}]},
                    averaging={"type": "AveragedModel", "avg": "swa", "start": 20})


@case
def swa_linear_docs_pattern():
    return run_case("swa_linear_docs_pattern", "The torch.optim.swa_utils documentation loop: CosineAnnealingLR(T_max "
                    "30) and SWALR(swa_lr 0.01, anneal_epochs 3, 'linear') both built up front; after each epoch e: "
                    "if e > swa_start (10): swa_model.update_parameters(model); swa_scheduler.step(); else "
                    "scheduler.step()",
                    "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0005}, [G("w1", B), G("w2", A)], 30,
                    scheduler={"type": "SWA_switch", "kwargs": {"swa_start": 10}, "children": [
                        {"type": "CosineAnnealingLR", "kwargs": {"T_max": 30}},
                        {"type": "SWALR", "kwargs": {"swa_lr": 0.01, "anneal_epochs": 3,
                                                     "anneal_strategy": "linear"}}]},
                    averaging={"type": "AveragedModel", "avg": "swa", "start": 11})


@case
def swalr_anneal_zero():
    return run_case("swalr_anneal_zero", "SequentialLR([ConstantLR(0.5, 4), SWALR(swa_lr 0.002, anneal_epochs 0)], "
                    "milestones [8]): with anneal_epochs 0 the swa_lr applies at once",
                    "Adam", {"lr": 0.01}, [G("w1", A), G("w2", B, lr=0.004)], 20,
                    scheduler={"type": "SequentialLR", "kwargs": {"milestones": [8]}, "children": [
                        {"type": "ConstantLR", "kwargs": {"factor": 0.5, "total_iters": 4}},
                        {"type": "SWALR", "kwargs": {"swa_lr": 0.002, "anneal_epochs": 0}}]})


@case
def ema_averaged():
    return run_case("ema_averaged", "AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9)) updated after every "
                    "optimizer step from epoch 0: the first update copies the params, later ones lerp(ema, param, "
                    "1 - decay) (torch._foreach_lerp_)",
                    "AdamW", {"lr": 0.01, "weight_decay": 0.01}, [G("w1", A), G("w2", B, lr=0.003)], 30,
                    averaging={"type": "AveragedModel", "avg": "ema", "decay": 0.9, "start": 0})


@case
def ema_start_cosine():
    return run_case("ema_start_cosine", "EMA (decay 0.75) starting at epoch 5 under CosineAnnealingLR(T_max 25), SGD "
                    "nesterov",
                    "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, [G("w1", B), G("w2", A, lr=0.01)], 25,
                    scheduler={"type": "CosineAnnealingLR", "kwargs": {"T_max": 25}},
                    averaging={"type": "AveragedModel", "avg": "ema", "decay": 0.75, "start": 5})


# ---------------------------------------------------------------- argument checks


def argument_checks():
    """Constructor errors, as torch/timm raise them (type and message)."""
    p2 = lambda: [torch.nn.Parameter(torch.zeros(4, 3))]  # noqa: E731
    p1 = lambda: [torch.nn.Parameter(torch.zeros(5))]  # noqa: E731
    checks = [
        ("Muon", "1-D parameter", lambda: torch.optim.Muon(p1()), {"shapes": [[5]]}),
        ("Muon", "3-D parameter", lambda: torch.optim.Muon([torch.nn.Parameter(torch.zeros(2, 3, 4))]),
         {"shapes": [[2, 3, 4]]}),
        ("Muon", "adjust_lr_fn 'foo'", lambda: torch.optim.Muon(p2(), adjust_lr_fn="foo"), {"adjust_lr_fn": "foo"}),
        ("Muon", "lr -1", lambda: torch.optim.Muon(p2(), lr=-1.0), {"lr": -1.0}),
        ("Muon", "momentum -0.1", lambda: torch.optim.Muon(p2(), momentum=-0.1), {"momentum": -0.1}),
        ("Muon", "weight_decay -1", lambda: torch.optim.Muon(p2(), weight_decay=-1.0), {"weight_decay": -1.0}),
        ("Adafactor", "beta2_decay 0.5", lambda: torch.optim.Adafactor(p2(), beta2_decay=0.5), {"beta2_decay": 0.5}),
        ("Adafactor", "d 0.5", lambda: torch.optim.Adafactor(p2(), d=0.5), {"d": 0.5}),
        ("Adafactor", "eps (-1, 1e-3)", lambda: torch.optim.Adafactor(p2(), eps=(-1.0, 1e-3)), {"eps": [-1.0, 0.001]}),
        ("Adafactor", "eps (None, -1)", lambda: torch.optim.Adafactor(p2(), eps=(None, -1.0)), {"eps": [None, -1.0]}),
        ("Adafactor", "lr -0.1", lambda: torch.optim.Adafactor(p2(), lr=-0.1), {"lr": -0.1}),
        ("Adafactor", "weight_decay -0.1", lambda: torch.optim.Adafactor(p2(), weight_decay=-0.1),
         {"weight_decay": -0.1}),
        ("ASGD", "lr -0.1", lambda: torch.optim.ASGD(p2(), lr=-0.1), {"lr": -0.1}),
        ("ASGD", "weight_decay -0.1", lambda: torch.optim.ASGD(p2(), weight_decay=-0.1), {"weight_decay": -0.1}),
        ("Rprop", "etas (1.2, 0.5)", lambda: torch.optim.Rprop(p2(), etas=(1.2, 0.5)), {"etas": [1.2, 0.5]}),
        ("Rprop", "lr -0.1", lambda: torch.optim.Rprop(p2(), lr=-0.1), {"lr": -0.1}),
        ("LBFGS", "two param groups",
         lambda: torch.optim.LBFGS([{"params": p2()}, {"params": p1()}]), {"groups": 2}),
        ("LBFGS", "lr -1", lambda: torch.optim.LBFGS(p2(), lr=-1.0), {"lr": -1.0}),
        ("SWALR", "anneal_strategy 'exp'",
         lambda: swa_utils.SWALR(torch.optim.SGD(p2(), lr=0.1), swa_lr=0.05, anneal_strategy="exp"),
         {"anneal_strategy": "exp"}),
        ("SWALR", "anneal_epochs -1",
         lambda: swa_utils.SWALR(torch.optim.SGD(p2(), lr=0.1), swa_lr=0.05, anneal_epochs=-1),
         {"anneal_epochs": -1}),
        ("SWALR", "anneal_epochs 2.5",
         lambda: swa_utils.SWALR(torch.optim.SGD(p2(), lr=0.1), swa_lr=0.05, anneal_epochs=2.5),
         {"anneal_epochs": 2.5}),
        ("SWALR", "swa_lr list of 2 for 1 group",
         lambda: swa_utils.SWALR(torch.optim.SGD(p2(), lr=0.1), swa_lr=[0.05, 0.01]), {"swa_lr": [0.05, 0.01]}),
        ("get_ema_multi_avg_fn", "decay 1.5", lambda: swa_utils.get_ema_multi_avg_fn(1.5), {"decay": 1.5}),
        ("Lion", "betas (1.0, 0.99)", lambda: timm.optim.Lion(p2(), betas=(1.0, 0.99)), {"betas": [1.0, 0.99]}),
        ("Lion", "lr -0.1", lambda: timm.optim.Lion(p2(), lr=-0.1), {"lr": -0.1}),
        ("Lamb", "betas (0.9, 1.0)", lambda: timm.optim.Lamb(p2(), betas=(0.9, 1.0)), {"betas": [0.9, 1.0]}),
        ("Lamb", "eps -1", lambda: timm.optim.Lamb(p2(), eps=-1.0), {"eps": -1.0}),
    ]
    out = []
    for opt, what, fn, args in checks:
        try:
            fn()
            out.append({"optimizer": opt, "case": what, "args": args, "error": None, "message": None})
        except Exception as ex:  # noqa: BLE001
            out.append({"optimizer": opt, "case": what, "args": args, "error": type(ex).__name__,
                        "message": str(ex)})
    return {"torch_version": TORCH, "timm_version": TIMM,
            "description": "Constructor argument checks: what torch 2.15 / timm raise (error null: accepted)",
            "checks": out}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    written = set()
    for fn in CASES:
        d = fn()
        assert d["name"] == fn.__name__, (d["name"], fn.__name__)
        n = d["epochs"]
        assert all(len(s) == n for s in d["expected"]["lr"]) and len(d["expected"]["params"]) == n
        for row in d["expected"]["params"]:
            assert all(math.isfinite(v) for vs in row.values() for v in vs), d["name"]
        path = OUT / f"{d['name']}.json"
        path.write_text(json.dumps(d, indent=1) + "\n")
        written.add(path.name)
    for p in OUT.glob("*.json"):
        if p.name not in written:
            p.unlink()
    CHECKS.write_text(json.dumps(argument_checks(), indent=1) + "\n")
    print(f"wrote {len(written)} optimizer cases to {OUT} and {CHECKS.name}", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Side-by-side performance of optimc and PyTorch, with the targets of BENCHMARKS.md.

optimc's side runs through the `bench_compare` example (built here with
`cargo build --release --example bench_compare`), which times the workloads of
`benches/common/mod.rs`; PyTorch's side (when `torch` imports) runs the same workloads
here: same schedules and hyperparameters, same parameter counts and values, same number of
steps per repetition, same warm-up, same thread count (`torch.set_num_threads`), and the
median over the same number of repetitions. A STREAM-style copy / triad / update over
arrays of the same size gives the machine's memory bandwidth in the same run.

    python3 bench/compare.py                # everything (a few minutes)
    python3 bench/compare.py --quick        # fewer sizes and repetitions
    python3 bench/compare.py --only schedule,lambda
    python3 bench/compare.py --no-memory    # skip the /usr/bin/time -v peak-memory runs

Prints markdown tables (the ones BENCHMARKS.md holds) and exits 0; a target that is not met
is shown as such, not hidden.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "examples" / "bench_compare"

SCHEDULE_STEPS = 1000  # benches/common/mod.rs: SCHEDULE_STEPS

# (name, target ratio torch/optimc) in the order of benches/common/mod.rs: SCHEDULES.
SCHEDULE_TARGETS = {
    "step": 500, "multistep": 500, "exponential": 500, "constant": 500,
}
OPT_TARGETS = ["adam", "adamw", "sgd_momentum", "rmsprop"]


def torch_schedulers(L):
    """The PyTorch equivalent of every entry of SCHEDULES in benches/common/mod.rs."""
    return {
        "lambda": lambda o: L.LambdaLR(o, lambda e: 0.95 ** e),
        "multiplicative": lambda o: L.MultiplicativeLR(o, lambda e: 0.95),
        "step": lambda o: L.StepLR(o, step_size=30, gamma=0.1),
        "multistep": lambda o: L.MultiStepLR(o, milestones=[30, 80, 120], gamma=0.1),
        "exponential": lambda o: L.ExponentialLR(o, gamma=0.99),
        "constant": lambda o: L.ConstantLR(o, factor=0.5, total_iters=5),
        "linear": lambda o: L.LinearLR(o, start_factor=0.1, total_iters=100),
        "polynomial": lambda o: L.PolynomialLR(o, total_iters=1000, power=2),
        "cosine": lambda o: L.CosineAnnealingLR(o, T_max=1000, eta_min=1e-5),
        "cosine_restarts": lambda o: L.CosineAnnealingWarmRestarts(o, T_0=100, T_mult=2),
        "cyclic": lambda o: L.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=100),
        "one_cycle": lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=1000),
        "plateau": lambda o: L.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=5),
        "chain": lambda o: L.ChainedScheduler([
            L.LinearLR(o, start_factor=0.1, total_iters=10), L.ExponentialLR(o, gamma=0.99)]),
        "sequence": lambda o: L.SequentialLR(o, [
            L.LinearLR(o, start_factor=0.1, total_iters=10), L.CosineAnnealingLR(o, T_max=990)],
            milestones=[10]),
    }


def torch_optimizers(torch):
    """The PyTorch equivalent of OPTIMIZERS in benches/common/mod.rs, as constructors taking
    the parameter list and the fast-path keyword (`fused=True` or `foreach=True`)."""
    o = torch.optim
    return {
        "adam": lambda p, k: o.Adam(p, lr=1e-3, **k),
        "adamw": lambda p, k: o.AdamW(p, lr=1e-3, weight_decay=0.01, **k),
        "sgd_momentum": lambda p, k: o.SGD(p, lr=0.01, momentum=0.9, **k),
        "rmsprop": lambda p, k: o.RMSprop(p, lr=0.01, **k),
        "adagrad": lambda p, k: o.Adagrad(p, lr=0.01, **k),
        "adadelta": lambda p, k: o.Adadelta(p, lr=1.0, **k),
        "adamax": lambda p, k: o.Adamax(p, lr=2e-3, **k),
        "nadam": lambda p, k: o.NAdam(p, lr=2e-3, **k),
        "radam": lambda p, k: o.RAdam(p, lr=1e-3, **k),
        "adam_amsgrad": lambda p, k: o.Adam(p, lr=1e-3, amsgrad=True, **k),
        "rprop": lambda p, k: o.Rprop(p, lr=0.01, **k),
        "asgd": lambda p, k: o.ASGD(p, lr=0.01, **k),
        "adafactor": lambda p, k: o.Adafactor(p, lr=0.01, **k),
        "muon": lambda p, k: o.Muon(p, lr=0.02, **k),
        # timm's (the reference of optimc's lion and lamb), where timm is there.
        "lion": lambda p, k: timm_optim("lion").Lion(p, lr=1e-4, weight_decay=0.01, **k),
        "lion_caution": lambda p, k: timm_optim("lion").Lion(p, lr=1e-4, caution=True, **k),
        "lamb": lambda p, k: timm_optim("lamb").Lamb(p, lr=1e-3, **k),
    }


# Issue 15's optimizers, run at 10^7 values only (Muon on its 4096 x 2048 matrix).
NEW_OPTIMIZERS = ["rprop", "asgd", "lion", "lion_caution", "lamb", "adafactor", "muon"]
MUON_ROWS = 4096  # benches/common/mod.rs: MUON_ROWS
# Timed repetitions of one Muon step (after each side's 3 warm-up steps): a 4096 x 2048 step
# takes seconds, so the row costs about (4 + MUON_REPS) steps a side.
MUON_REPS = 3


def shape_of(name, n):
    """benches/common/mod.rs: shape_of (Adafactor a matrix with rows of 1,000, Muon one of
    MUON_ROWS rows)."""
    if name == "adafactor" and n % 1000 == 0:
        return (n // 1000, 1000)
    if name == "muon" and n % MUON_ROWS == 0:
        return (MUON_ROWS, n // MUON_ROWS)
    return (n,)


def timm_optim(module):
    """`timm.optim.<module>`. timm's package imports torchvision, which has no build for this
    torch; the optimizer modules do not need it, so they are loaded without the package's
    `__init__` when `import timm.optim` fails. Raises ImportError without timm."""
    import importlib
    try:
        return importlib.import_module(f"timm.optim.{module}")
    except ImportError:
        import importlib.util
        import types
        spec = importlib.util.find_spec("timm")
        if spec is None:
            raise
        root = Path(spec.submodule_search_locations[0])
        for name, path in [("timm", root), ("timm.optim", root / "optim")]:
            stub = types.ModuleType(name)
            stub.__path__ = [str(path)]
            sys.modules[name] = stub
        return importlib.import_module(f"timm.optim.{module}")


def metric(e):
    """benches/common/mod.rs: metric."""
    return 1.0 / (1.0 + e / 10.0) + (e % 17) * 1e-3


def run_optimc(*args):
    out = subprocess.run([str(BIN), *map(str, args)], check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


# This machine runs for tens of milliseconds at a time in a fast or a 1.5× slower mode (the
# host's doing: see BENCHMARKS.md). So the two sides take turns, ROUNDS times: each round runs
# optimc's side (for schedules, in a fresh process) and then PyTorch's, and each figure is the
# median of the rounds' medians (and the best of their bests). Both sides then meet the same
# spells of either mode, instead of one side's whole measurement falling in one of them.
ROUNDS = 5


def schedule_side_by_side(torch, reps):
    """optimc's rows and PyTorch's {name: (median, best)} ns per step, in alternating rounds."""
    runs, theirs = [], []
    for _ in range(ROUNDS):
        runs.append(run_optimc("schedule", reps))
        if torch:
            torch.set_num_threads(1)
            theirs.append({r["name"]: torch_schedule(torch, r["name"], reps) for r in runs[-1]})
    ours = []
    for rows in zip(*runs):
        ours.append({
            "kind": "schedule",
            "name": rows[0]["name"],
            "ns_per_step": statistics.median(r["ns_per_step"] for r in rows),
            "best_ns_per_step": min(r["best_ns_per_step"] for r in rows),
        })
    torch_ns = {name: (statistics.median(t[name][0] for t in theirs),
                       min(t[name][1] for t in theirs)) for name in (theirs[0] if theirs else {})}
    return ours, torch_ns


def optimizer_side_by_side(torch, name, n, threads, steps, reps, rounds):
    """optimc's result row and PyTorch's (ms, path), in alternating rounds (see ROUNDS)."""
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(run_optimc("optimizer", name, n, threads, steps, reps)[0])
        if torch:
            torch.set_num_threads(threads)
            theirs.append(torch_optimizer(torch, name, n, steps, reps))
    row = dict(ours[0])
    row["ms_per_step"] = statistics.median(r["ms_per_step"] for r in ours)
    row["gb_per_s"] = statistics.median(r["gb_per_s"] for r in ours)
    theirs = [t for t in theirs if t is not None]
    if not theirs:
        return row, None
    return row, (statistics.median(ms for ms, _ in theirs), theirs[0][1])


def median_of(reps, f):
    for _ in range(3):
        f()
    return statistics.median(f() for _ in range(reps))


def median_and_best(reps, f):
    for _ in range(3):
        f()
    times = [f() for _ in range(reps)]
    return statistics.median(times), min(times)


# ---------------------------------------------------------------- PyTorch side

def torch_schedule(torch, name, reps):
    L = torch.optim.lr_scheduler
    make = torch_schedulers(L)[name]
    metrics = [metric(e) for e in range(SCHEDULE_STEPS)]

    def run():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        s = make(opt)
        opt.step()  # no gradient: changes nothing, silences the step-order warning
        step = s.step
        t = time.perf_counter_ns()
        if name == "plateau":
            for m in metrics:
                step(m)
        else:
            for _ in range(SCHEDULE_STEPS):
                step()
        return (time.perf_counter_ns() - t) / SCHEDULE_STEPS

    return median_and_best(reps, run)


def torch_fill(torch, n, scale):
    i = torch.arange(n, dtype=torch.int64)
    return scale * (((i * 7919) % 2001).to(torch.float32) - 1000.0) / 1000.0


def torch_optimizer(torch, name, n, steps, reps):
    """ms per step on PyTorch's fastest CPU path: fused=True where it exists, else foreach,
    else the default (Muon has neither); None where the optimizer is not there (timm's)."""
    make = torch_optimizers(torch)[name]
    shape = shape_of(name, n)
    for path in ({"fused": True}, {"foreach": True}, {}):
        p = torch.nn.Parameter(torch_fill(torch, n, 0.5).reshape(shape))
        p.grad = torch_fill(torch, n, 1e-2).reshape(shape)
        try:
            opt = make([p], path)
            opt.step()
        except ImportError:
            return None
        except (RuntimeError, TypeError, ValueError):
            continue
        label = next(iter(path), "default")

        def run():
            t = time.perf_counter()
            for _ in range(steps):
                opt.step()
            return (time.perf_counter() - t) / steps

        return median_of(reps, run) * 1e3, label
    raise RuntimeError(f"no fast path for {name}")


# ---------------------------------------------------------------- tables

def fmt_ratio(r, target):
    ok = "yes" if r >= target else "**no**"
    return f"{r:,.0f}×", ok


def schedule_table(res, torch_ns, reps):
    print(f"\n### Schedule step (ns per step over runs of {SCHEDULE_STEPS} steps from a fresh "
          f"schedule; median of {reps} runs, best run in brackets; each side: median of the "
          f"medians of {ROUNDS} alternating rounds, optimc's each in a fresh process)\n")
    print("| schedule | PyTorch `scheduler.step()` | optimc `Schedule::step` | ratio of medians | "
          "ratio of bests | target | met (medians) |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    for r in res:
        name = r["name"]
        ours, ours_best = r["ns_per_step"], r["best_ns_per_step"]
        target = SCHEDULE_TARGETS.get(name, 100)
        if name in torch_ns:
            med, best = torch_ns[name]
            ratio, ok = fmt_ratio(med / ours, target)
            print(f"| {name} | {med:,.0f} ({best:,.0f}) | {ours:.1f} ({ours_best:.1f}) | {ratio} | "
                  f"{best / ours_best:,.0f}× | {target}× | {ok} |")
        else:
            print(f"| {name} | – | {ours:.1f} ({ours_best:.1f}) | – | – | {target}× | – |")


def lambda_table(res, reps):
    print(f"\n### Lambda evaluation (one core; median of {reps} runs of 10^6 evaluations, "
          "best run in brackets)\n")
    print("| lambda | ns per evaluation | evaluations per second | target | met (median) |")
    print("|---|---:|---:|---:|:---:|")
    for r in res:
        target = 50e6 if r["name"] == "simple" else None
        met = ("yes" if r["evals_per_sec"] >= target else "**no**") if target else "–"
        t = "50 M/s" if target else "–"
        best = r["best_ns_per_eval"]
        print(f"| {r['name']} | {r['ns_per_eval']:.1f} ({best:.1f}) | "
              f"{r['evals_per_sec'] / 1e6:.1f} M ({1e3 / best:.1f} M) | {t} | {met} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    ap.add_argument("--only", default="schedule,lambda,optimizer,check,memory",
                    help="comma-separated sections")
    ap.add_argument("--threads", default=None,
                    help="thread counts for the optimizer steps (default: 1 and the core count)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if args.no_memory:
        only.discard("memory")

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "bench_compare"],
                       cwd=ROOT, check=True)
    try:
        import torch
    except ImportError:
        torch = None
        print("_torch is not importable: PyTorch columns are left empty._")

    cores = os.cpu_count() or 1
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cores})
    reps_sched = 11 if args.quick else 31
    print(f"machine: {cores} cores ({platform_line()}); torch {torch.__version__ if torch else '–'}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
          f"{os.getloadavg()[0]:.1f}")

    if "schedule" in only:
        res, torch_ns = schedule_side_by_side(torch, reps_sched)
        schedule_table(res, torch_ns, reps_sched)

    if "lambda" in only:
        reps = 11 if args.quick else 31
        lambda_table(run_optimc("lambda", reps), reps)

    if "optimizer" in only:
        sizes = [1_000_000, 10_000_000] if args.quick else [100_000, 1_000_000, 10_000_000]
        names = OPT_TARGETS if args.quick else OPT_TARGETS + [
            "adagrad", "adadelta", "adamax", "nadam", "radam", "adam_amsgrad"]
        reps = 5 if args.quick else 7
        # Alternating rounds (see ROUNDS) at 10^7, where a step takes milliseconds.
        rounds = 3 if args.quick else 5
        print(f"\n### Optimizer step (ms per step, median of {reps} repetitions, at 10^7 the "
              f"median of {rounds} alternating rounds of them; "
              "bandwidth fraction = bytes moved per step / time ÷ the best STREAM "
              "copy, triad, update or update3 repetition at the same size and thread count)\n")
        print("| optimizer | params | threads | PyTorch path | PyTorch ms | optimc ms | ratio | "
              "optimc GB/s | STREAM GB/s | fraction of bandwidth | met (≥1× and ≥0.77) |")
        print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|:---:|")
        stream_rows = []
        for n in sizes:
            steps = max(3, 20_000_000 // n // 10)
            for t in threads:
                stream = run_optimc("stream", n, t, 3 * reps)
                bw = max(s["best_gb_per_s"] for s in stream)
                stream_rows.append((n, t, stream))
                runs = [(name, n) for name in names]
                if n == 10_000_000:
                    runs += [(name, MUON_ROWS * 2048 if name == "muon" else n)
                             for name in NEW_OPTIMIZERS]
                for name, m in runs:
                    if name == "muon":
                        # A 4096 x 2048 step takes seconds on either side: one step per
                        # repetition, MUON_REPS repetitions, one round.
                        ours, theirs = optimizer_side_by_side(torch, name, m, t, 1, MUON_REPS, 1)
                    else:
                        ours, theirs = optimizer_side_by_side(
                            torch, name, m, t, steps, reps, rounds if n >= 10_000_000 else 1)
                    frac = ours["gb_per_s"] / bw
                    if theirs:
                        tms, path = theirs
                        ratio = tms / ours["ms_per_step"]
                        tcol = f"{path} | {tms:.3f} | {ours['ms_per_step']:.3f} | {ratio:.2f}×"
                    else:
                        ratio = None
                        tcol = f"– | – | {ours['ms_per_step']:.3f} | –"
                    if name in OPT_TARGETS and n == 10_000_000:
                        met = "yes" if (ratio is None or ratio >= 1.0) and frac >= 1 / 1.3 else "**no**"
                    else:
                        met = "–"
                    print(f"| {name} | {m:,} | {t} | {tcol} | {ours['gb_per_s']:.1f} | {bw:.1f} | "
                          f"{frac:.2f} | {met} |", flush=True)

        print("\n#### STREAM-style bandwidth (GB/s, median / best of "
              f"{3 * reps}; bytes counted as STREAM does)\n")
        print("| values per array | threads | copy | triad | update (a += s·b) | "
              "update3 (3 arrays += s·g) |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n, t, stream in stream_rows:
            cols = " | ".join(f"{s['gb_per_s']:.1f} / {s['best_gb_per_s']:.1f}" for s in stream)
            print(f"| {n:,} | {t} | {cols} |")

    if "check" in only:
        res = run_optimc("check", 1000, 3)
        print("\n### `optimc check` (parse + check, generated files with long lambdas)\n")
        print("| groups | bytes | ms | MB/s | target | met |")
        print("|---:|---:|---:|---:|---|:---:|")
        for r in res:
            met = "yes" if r["mb_per_s"] >= 20 else "**no**"
            print(f"| {r['groups']:,} | {r['bytes']:,} | {r['ms']:.1f} | {r['mb_per_s']:.2f} | ≥ 20 MB/s | {met} |")
        if len(res) == 2:
            growth = res[1]["ms"] / res[0]["ms"]
            size = res[1]["bytes"] / res[0]["bytes"]
            met = "yes" if growth <= 1.1 * size else "**no**"
            print(f"\nTime grows {growth:.2f}× for {size:.2f}× the bytes (target ≤ 1.1 × the size "
                  f"ratio): {met}")
        # A process takes a fraction of a second, and its time moves with the host's load (a
        # fresh process's page faults are much of it), so take many.
        cli = cli_check([1000, 10_000], 21 if args.quick else 41)
        print("\nThe command itself, `target/release/optimc check FILE` on the same files written "
              "to disk (wall time of the whole process: start, read, parse, check, analysis, "
              "report; median of the runs, best in brackets):\n")
        print("| groups | bytes | ms | MB/s | target | met |")
        print("|---:|---:|---:|---:|---|:---:|")
        for groups, size, med, best in cli:
            mbs = size / med / 1e6
            met = "yes" if mbs >= 20 else "**no**"
            print(f"| {groups:,} | {size:,} | {med * 1e3:.1f} ({best * 1e3:.1f}) | {mbs:.2f} "
                  f"({size / best / 1e6:.2f}) | ≥ 20 MB/s | {met} |")
        if len(cli) == 2:
            growth = cli[1][2] / cli[0][2]
            size = cli[1][1] / cli[0][1]
            met = "yes" if growth <= 1.1 * size else "**no**"
            print(f"\nThe command's time grows {growth:.2f}× for {size:.2f}× the bytes: {met}")

    if "memory" in only:
        gnu_time = shutil.which("time") or "/usr/bin/time"
        print("\n### Peak memory, 10^7 parameters (`/usr/bin/time -v`, one thread)\n")
        print("| optimizer | state per parameter | expected data (param + grad + state) | "
              "peak RSS | overhead |")
        print("|---|---|---:|---:|---:|")
        n = 10_000_000
        for name, bufs in [("sgd_momentum", 1), ("adam", 2), ("adamw", 2), ("adam_amsgrad", 3),
                           ("rmsprop", 1)]:
            out = subprocess.run([gnu_time, "-v", str(BIN), "optimizer", name, str(n), "1", "2", "1"],
                                 capture_output=True, text=True, check=True)
            rss_kb = next(int(line.split(":")[1]) for line in out.stderr.splitlines()
                          if "Maximum resident set size" in line)
            expected = (2 + bufs) * 4 * n
            rss = rss_kb * 1024
            print(f"| {name} | {bufs} × f32 | {expected / 1e6:.0f} MB | {rss / 1e6:.0f} MB | "
                  f"{(rss - expected) / 1e6:+.0f} MB |")


def cli_check(group_counts, reps):
    """Wall time of `optimc check` on the generated files: (groups, bytes, median s, best s)."""
    import tempfile
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "optimc"], cwd=ROOT,
                   check=True)
    optimc = ROOT / "target" / "release" / "optimc"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for groups in group_counts:
            path = Path(tmp) / f"large{groups}.optim"
            path.write_text(subprocess.run([str(BIN), "source", str(groups)], check=True,
                                           capture_output=True, text=True).stdout)
            times = []
            for _ in range(reps + 1):  # the first run warms the page cache
                start = time.perf_counter()
                subprocess.run([str(optimc), "check", str(path)], capture_output=True)
                times.append(time.perf_counter() - start)
            times = times[1:]
            rows.append((groups, path.stat().st_size, statistics.median(times), min(times)))
    return rows


def platform_line():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())

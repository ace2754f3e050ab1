"""The rows of BENCHMARKS.md's "Quiet re-run after the threading and Muon's blocked products":
lamb, adafactor and cautious lion at 10^7, Muon at 4096 x 128 and 4096 x 2048, Adam as the
yardstick, on 1 and 2 threads, side by side with PyTorch (compare.py's `optimizer_side_by_side`;
run from the repository root with torch and timm importable, after
`cargo build --release --example bench_compare`). Prints markdown rows: optimizer, parameters,
threads, PyTorch ms, PyTorch path, optimc ms, ratio, optimc GB/s."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare as C  # noqa: E402
import torch  # noqa: E402

for threads in (1, 2):
    for name, n in [("lion_caution", 10_000_000), ("lamb", 10_000_000), ("adafactor", 10_000_000),
                    ("adam", 10_000_000), ("muon", C.MUON_ROWS * 128), ("muon", C.MUON_ROWS * 2048)]:
        if name == "muon":
            steps, reps, rounds = (1, 5, 1) if n < 10**6 else (1, C.MUON_REPS, 1)
        else:
            steps, reps, rounds = (3, 5, 3)
        ours, theirs = C.optimizer_side_by_side(torch, name, n, threads, steps, reps, rounds)
        t = f"{theirs[0]:.3f} | {theirs[1]}" if theirs else "– | –"
        ratio = f"{theirs[0] / ours['ms_per_step']:.2f}×" if theirs else "–"
        print(f"| {name} | {n:,} | {threads} | {t} | {ours['ms_per_step']:.3f} | {ratio} | {ours['gb_per_s']:.1f} |", flush=True)

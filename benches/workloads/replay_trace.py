#!/usr/bin/env python3
"""Writes a large `optimc replay` trace for measuring replay's memory (BENCHMARKS.md).

    python3 benches/workloads/replay_trace.py /tmp/replay-64mb.json
    python3 benches/workloads/replay_trace.py --short /tmp/replay-64mb-short.json
    /usr/bin/time -v target/release/optimc replay \
        tests/conformance/torch/adam_amsgrad.optim --trace /tmp/replay-64mb.json >/dev/null

The trace fits tests/conformance/torch/adam_amsgrad.optim (parameters `base` and
`classifier`): 300 epochs of gradients for 10,000 + 1,000 values, each an f32 written as Python
writes the f64 it equals (about 19 characters, as PyTorch-generated conformance files have
them), about 64 MB in all. With `--short`, every value is one of a few short numbers (`0.5`,
`-2`: about 4 characters) and there are 1,300 epochs: the text spends least per number there, so
that is the worst case for memory per byte of input. The values are pseudo-random with a fixed
seed, so every run writes the same file.
"""

import json
import random
import struct
import sys

EPOCHS = 300
SIZES = {"base": 10_000, "classifier": 1_000}


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def values(rng, n):
    return [f32(rng.gauss(0.0, 1.0)) for _ in range(n)]


SHORT = [0.5, -2, 1, 0.25, -0.5, 3, -1, 0.125]


def short_values(rng, n):
    return [rng.choice(SHORT) for _ in range(n)]


def main():
    short = sys.argv[1] == "--short"
    epochs, make = (1300, short_values) if short else (EPOCHS, values)
    rng = random.Random(11)
    trace = {
        "epochs": epochs,
        "metrics": None,
        "init": {name: make(rng, n) for name, n in SIZES.items()},
        "grads": [{name: make(rng, n) for name, n in SIZES.items()} for _ in range(epochs)],
    }
    with open(sys.argv[-1], "w") as out:
        json.dump(trace, out)


if __name__ == "__main__":
    main()

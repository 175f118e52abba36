"""Time one training step of network3's ReLU two-conv net (ours) against the same net in PyTorch CPU, in one run.

The network is the chapter-6 row: ConvPool(20 5×5, max-pool 2×2) → ConvPool(40 5×5, max-pool 2×2)
→ FC 100 → softmax, ReLU, float32, log-likelihood cost, plain SGD.  A step is forward, backward and
the update on one mini-batch.  The two take turns over ``--repeats`` rounds of ``--steps`` steps;
the table gives the median milliseconds per step, the seconds per epoch of 50,000 images this
implies (steps only, no evaluation), and the median of the per-round ratios.  numpy's BLAS and
PyTorch's intra-op pool both run on one thread.  PyTorch is optional: without it only our row prints.

    python benchmarks/bench_conv_net.py                      # mini-batch 10, as network3
    python benchmarks/bench_conv_net.py --batch 64
    python benchmarks/bench_conv_net.py --repeats 1 --steps 2   # a smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # read when numpy (and torch) load, so set before the imports

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tinygrad_bp import Tensor  # noqa: E402

from nets.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer  # noqa: E402
from nets.optim import SGD  # noqa: E402


def _ours(x: np.ndarray, y: np.ndarray, m: int) -> Callable[[], None]:
    f32 = np.float32
    net = Network(
        [
            ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2), ReLU, rng=0, dtype=f32),
            ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12), (2, 2), ReLU, rng=1, dtype=f32),
            FullyConnectedLayer(640, 100, ReLU, rng=2, dtype=f32),
            SoftmaxLayer(100, 10, dtype=f32),
        ],
        m,
    )
    opt = SGD(net.parameters(), lr=0.03)
    tx = Tensor(x)

    def step() -> None:
        opt.zero_grad()
        net.cost(tx, y, 0.0, 1).backward()
        opt.step()

    return step


def _torch(x: np.ndarray, y: np.ndarray) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(20, 40, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(640, 100), nn.ReLU(), nn.Linear(100, 10),
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.03)
    tx, ty = torch.tensor(x.reshape(-1, 1, 28, 28)), torch.tensor(y)

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(net(tx), ty).backward()
        opt.step()

    return step


def _time(fn: Callable[[], None], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps * 1e3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5, help="rounds; each implementation runs once per round")
    p.add_argument("--steps", type=int, default=50, help="training steps per round")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, args.batch)
    impls: dict[str, Any] = {"tinygrad_bp": _ours(x, y, args.batch), "pytorch": _torch(x, y)}
    impls = {k: v for k, v in impls.items() if v is not None}
    times: dict[str, list[float]] = {k: [] for k in impls}
    with threadpool_limits(limits=1):
        for fn in impls.values():
            fn()  # warm-up
        for _ in range(args.repeats):
            for name, fn in impls.items():
                times[name].append(_time(fn, args.steps))
    steps_per_epoch = 50_000 // args.batch
    print(f"network3 ReLU two-conv net, one SGD step on a mini-batch of {args.batch}, float32, 1 thread, "
          f"median of {args.repeats} rounds x {args.steps} steps")
    row: dict[str, Any] = {"batch": args.batch}
    for name, ts in times.items():
        ms = statistics.median(ts)
        print(f"  {name:12s} {ms:8.2f} ms/step  {ms * steps_per_epoch / 1e3:7.1f} s per epoch of 50,000 images")
        row[f"{name}_ms"], row[f"{name}_s_per_epoch"] = ms, ms * steps_per_epoch / 1e3
    if "pytorch" in times:
        ratio = statistics.median(a / b for a, b in zip(times["tinygrad_bp"], times["pytorch"]))
        print(f"  ratio tinygrad_bp / pytorch: {ratio:.2f}x")
        row["ratio"] = ratio
    else:
        print("  (PyTorch is not installed: no comparison row)")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

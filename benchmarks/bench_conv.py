"""Time conv2d forward + backward against PyTorch's CPU conv2d on the same shapes, in one run.

Default shapes: a batch of 32 MNIST-size images (1×28×28), 20 filters of 5×5, with bias (the first
layer of a LeNet-style network).  Each call is a forward, a sum, and a backward that fills the gradients
of the input, the weight and the bias.  The implementations take turns over ``--repeats`` rounds of
``--calls`` calls each; the table gives the median milliseconds per call and the median of the per-round
ratios.  BLAS (numpy's) and PyTorch's intra-op pool both run on one thread, so both sides use one core.
PyTorch is optional: without it, only tinygrad_bp's row is printed.

    python benchmarks/bench_conv.py
    python benchmarks/bench_conv.py --batch 2 --size 8 --filters 3 --repeats 1 --calls 2   # a smoke run
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
from tinygrad_bp import Tensor, conv2d  # noqa: E402


def _ours(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Callable[[], None]:
    tx, tw, tb = (Tensor(a, requires_grad=True) for a in (x, w, b))

    def call() -> None:
        tx.grad = tw.grad = tb.grad = None
        conv2d(tx, tw, tb).sum().backward()

    return call


def _torch(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))

    def call() -> None:
        tx.grad = tw.grad = tb.grad = None
        torch.nn.functional.conv2d(tx, tw, tb).sum().backward()

    return call


def _time(fn: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=28, help="image height and width")
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--filters", type=int, default=20)
    p.add_argument("--kernel", type=int, default=5)
    p.add_argument("--repeats", type=int, default=7, help="rounds; each implementation runs once per round")
    p.add_argument("--calls", type=int, default=20, help="calls per round")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    dt = np.dtype(args.dtype)
    x = rng.standard_normal((args.batch, args.channels, args.size, args.size)).astype(dt)
    w = (rng.standard_normal((args.filters, args.channels, args.kernel, args.kernel)) * 0.1).astype(dt)
    b = np.zeros(args.filters, dt)
    impls: dict[str, Any] = {"tinygrad_bp": _ours(x, w, b), "pytorch": _torch(x, w, b)}
    impls = {k: v for k, v in impls.items() if v is not None}
    times: dict[str, list[float]] = {k: [] for k in impls}
    with threadpool_limits(limits=1):
        for fn in impls.values():
            fn()  # warm-up: imports, allocator, BLAS initialisation
        for _ in range(args.repeats):
            for name, fn in impls.items():
                times[name].append(_time(fn, args.calls))
    shape = f"x {x.shape}, w {w.shape}, b {b.shape}, {args.dtype}"
    print(f"conv2d forward + backward, {shape}, 1 thread, median of {args.repeats} rounds x {args.calls} calls")
    row: dict[str, Any] = {"batch": args.batch, "size": args.size, "filters": args.filters, "kernel": args.kernel, "dtype": args.dtype}
    for name, ts in times.items():
        print(f"  {name:12s} {statistics.median(ts):8.3f} ms/call")
        row[f"{name}_ms"] = statistics.median(ts)
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

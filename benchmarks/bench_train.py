"""Time Network.SGD (autodiff) against hand-written numpy backprop, in one run.

Three hand-written baselines do the same training (same initial weights, same shuffles):

- ``plain numpy``: the matrix-form loop a numpy user writes (``plain_epoch`` below, the speed issue's
  baseline); our ratio against it is printed first;
- ``reference``: nets.reference's matrix form, network.py's algorithm with the per-example loop
  replaced by one ``backprop_batch`` per mini-batch (``train_matrix_form``);
- ``tuned``: the same hand-derived backprop tuned for speed (``train_reference``: η/m folded into
  δᴸ, in-place updates interleaved with BP2, σ′ from stored activations).

Each configuration (mini-batch size × dtype) trains one epoch with each, in turn, over ``--repeats``
rounds; the table gives median seconds per epoch and the median of the per-round ratios, and one
JSON line per configuration follows.  Peak memory is the maximum RSS of a child process that loads
the data and trains one epoch with one implementation.

    python benchmarks/bench_train.py --data ../shared/mnist            # real MNIST
    python benchmarks/bench_train.py --synthetic 2000 --repeats 1      # a smoke run, no data needed
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable


def _threads(argv: list[str]) -> int:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


# BLAS reads its thread count when numpy loads, so it is set before the import.  One thread by default:
# on a small shared machine a second BLAS thread mostly waits for a busy core, and every implementation
# (numpy baselines, autodiff, PyTorch) is then measured on the same footing.
THREADS = _threads(sys.argv)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import numpy as np  # noqa: E402

from nets import Network  # noqa: E402
from nets.reference import train_matrix_form, train_reference  # noqa: E402

SIZES = [784, 30, 10]
ETA = 3.0


def load(args: argparse.Namespace, dtype: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Return the training images, their labels, and the test set (None for synthetic data)."""
    if args.synthetic:
        rng = np.random.default_rng(0)
        return rng.random((args.synthetic, SIZES[0])).astype(dtype), rng.integers(0, SIZES[-1], args.synthetic), None
    from nets.mnist import load_data

    (X, y), _, test = load_data(args.data, dtype=dtype)
    return X, y, test


def machine() -> dict[str, Any]:
    """Return what the figures depend on: the CPU, the core count, Python, numpy, its BLAS, PyTorch."""
    import platform

    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    blas = sorted({f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in threadpool_info()
                   if i.get("user_api") == "blas"})
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "blas": ", ".join(blas), "torch": torch_version}


def autodiff_epoch(net: Network, X: np.ndarray, y: np.ndarray, batch: int) -> None:
    net.SGD((X, y), 1, batch, ETA, verbose=False)


def reference_epoch(net: Network, X: np.ndarray, y: np.ndarray, batch: int) -> None:
    # The baselines train Nielsen-shaped copies with a copy of the network's generator: the same path.
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    train_matrix_form(weights, biases, (X, y), 1, batch, ETA, rng=copy.deepcopy(net.rng))


def tuned_epoch(net: Network, X: np.ndarray, y: np.ndarray, batch: int) -> None:
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    train_reference(weights, biases, (X, y), 1, batch, ETA, rng=copy.deepcopy(net.rng))


def plain_epoch(net: Network, X: np.ndarray, y: np.ndarray, batch: int) -> list[np.ndarray]:
    """Return [W1, b1, W2, b2] after one epoch of the plain matrix-form loop, on copies of ``net``'s weights and generator."""
    W1, W2 = (lin.w.data.copy() for lin in net._linears)  # (n_in, n_out), as the row-batch loop reads them
    b1, b2 = (lin.b.data.copy() for lin in net._linears)
    Y = np.eye(SIZES[-1], dtype=X.dtype)[y]
    n, m = len(X), batch
    perm = copy.deepcopy(net.rng).permutation(n)

    def sig(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    with np.errstate(over="ignore"):  # e⁻ᶻ = inf for very negative z gives σ = 0, as it should
        for k in range(0, n, m):
            idx = perm[k:k + m]; x = X[idx]; yy = Y[idx]  # noqa: E702 - the issue's loop, as written
            a1 = sig(x @ W1 + b1); a2 = sig(a1 @ W2 + b2)  # noqa: E702
            d2 = (a2 - yy) * a2 * (1 - a2)  # BP1
            d1 = (d2 @ W2.T) * a1 * (1 - a1)  # BP2
            s = ETA / len(idx)
            W2 -= s * (a1.T @ d2); b2 -= s * d2.sum(0)  # BP3, BP4  # noqa: E702
            W1 -= s * (x.T @ d1); b1 -= s * d1.sum(0)  # noqa: E702
    return [W1, b1, W2, b2]


def torch_epoch(X: np.ndarray, y: np.ndarray, batch: int, dtype: Any) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    Xt = torch.from_numpy(X)
    Yt = torch.from_numpy(np.eye(SIZES[-1], dtype=dtype)[y])
    gen = torch.Generator().manual_seed(0)
    layers = [torch.nn.Linear(a, b, dtype=tdt) for a, b in zip(SIZES[:-1], SIZES[1:])]
    params = [p for layer in layers for p in layer.parameters()]
    opt = torch.optim.SGD(params, lr=ETA)

    def run() -> None:
        order = torch.randperm(len(Xt), generator=gen)
        for k in range(0, len(Xt), batch):
            idx = order[k : k + batch]
            a = Xt[idx]
            for layer in layers:
                a = torch.sigmoid(layer(a))
            cost = 0.5 * ((a - Yt[idx]) ** 2).sum() / len(idx)
            opt.zero_grad()
            cost.backward()
            opt.step()

    return run


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def child_peak_rss(args: argparse.Namespace, impl: str, batch: int, dtype: str) -> float:
    """Return the peak RSS in MiB of a fresh process that loads the data and trains one epoch."""
    cmd = [sys.executable, __file__, "--child", impl, "--batches", str(batch), "--dtypes", dtype, "--threads", str(THREADS)]
    cmd += ["--synthetic", str(args.synthetic)] if args.synthetic else (["--data", args.data] if args.data else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def run_child(args: argparse.Namespace) -> None:
    dtype = np.dtype(args.dtypes[0])
    X, y, _ = load(args, dtype)
    net = Network(SIZES, seed=0, dtype=dtype)
    {"autodiff": autodiff_epoch, "plain": plain_epoch, "reference": reference_epoch, "tuned": tuned_epoch}[args.child](
        net, X, y, args.batches[0]
    )
    print(peak_rss_mib())


def peak_rss_mib() -> float:
    """Return this process's peak resident memory in MiB.

    Linux's VmHWM starts afresh at exec; ru_maxrss does not, so a child forked from a large
    benchmark process would report the parent's size.  ru_maxrss is the fallback elsewhere.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("MNIST_DIR"), help="MNIST folder or .pkl.gz (default: $MNIST_DIR)")
    p.add_argument("--synthetic", type=int, default=0, metavar="N", help="use N random images instead of MNIST")
    p.add_argument("--repeats", type=int, default=5, help="A/B rounds per configuration (default 5)")
    p.add_argument("--batches", type=lambda s: [int(v) for v in s.split(",")], default=[10, 100])
    p.add_argument("--dtypes", type=lambda s: s.split(","), default=["float64", "float32"])
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    p.add_argument("--threads", type=int, default=1, help="BLAS (and PyTorch) threads for every implementation (default 1)")
    p.add_argument("--json", metavar="FILE", help="also write the run (machine, command, rows) to FILE as JSON, "
                   "for tools/gen_performance.py")
    p.add_argument("--child", choices=["autodiff", "plain", "reference", "tuned"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        run_child(args)
        return 0
    if not args.synthetic and not args.data:
        p.error("give --data PATH, set MNIST_DIR, or use --synthetic N")

    rows = []
    for dtype_name in args.dtypes:
        dtype = np.dtype(dtype_name)
        X, y, test = load(args, dtype)
        for batch in args.batches:
            net = Network(SIZES, seed=0, dtype=dtype)
            start_w = [w.copy() for w in net.weights]
            start_b = [b.copy() for b in net.biases]
            start_rng = copy.deepcopy(net.rng)
            torch_run = torch_epoch(X, y, batch, dtype)
            t_ad, t_plain, t_ref, t_tuned, t_torch, ratios, tuned_ratios, plain_ratios = [], [], [], [], [], [], [], []
            correct = None
            for _ in range(args.repeats):
                # Every round starts from the same weights and shuffle, so all do identical work.
                net.weights, net.biases, net.rng = start_w, start_b, copy.deepcopy(start_rng)
                p = timed(lambda: plain_epoch(net, X, y, batch))
                b = timed(lambda: reference_epoch(net, X, y, batch))
                c = timed(lambda: tuned_epoch(net, X, y, batch))
                a = timed(lambda: autodiff_epoch(net, X, y, batch))
                if correct is None and test is not None:  # network.py's "Epoch 0: n / 10000" of this run
                    correct = net.evaluate(test)
                t_ad.append(a)
                t_plain.append(p)
                plain_ratios.append(a / p)
                t_ref.append(b)
                t_tuned.append(c)
                ratios.append(a / b)
                tuned_ratios.append(a / c)
                if torch_run is not None:
                    t_torch.append(timed(torch_run))
            row: dict[str, Any] = {
                "batch": batch,
                "dtype": dtype_name,
                "autodiff_s": round(statistics.median(t_ad), 4),
                "plain_s": round(statistics.median(t_plain), 4),
                "plain_ratio": round(statistics.median(plain_ratios), 3),
                "reference_s": round(statistics.median(t_ref), 4),
                "ratio": round(statistics.median(ratios), 3),
                "tuned_s": round(statistics.median(t_tuned), 4),
                "tuned_ratio": round(statistics.median(tuned_ratios), 3),
            }
            if correct is not None:
                row["epoch0_correct"] = correct
            if t_torch:
                row["torch_s"] = round(statistics.median(t_torch), 4)
            if not args.no_memory:
                row["autodiff_peak_mib"] = round(child_peak_rss(args, "autodiff", batch, dtype_name), 1)
                row["reference_peak_mib"] = round(child_peak_rss(args, "reference", batch, dtype_name), 1)
                row["plain_peak_mib"] = round(child_peak_rss(args, "plain", batch, dtype_name), 1)
                row["memory_ratio"] = round(row["autodiff_peak_mib"] / row["reference_peak_mib"], 3)
                row["plain_memory_ratio"] = round(row["autodiff_peak_mib"] / row["plain_peak_mib"], 3)
            rows.append(row)

    n = args.synthetic or "MNIST"
    print(
        f"seconds per epoch, [784, 30, 10], eta {ETA}, {n} training images, "
        f"median of {args.repeats} rounds, {THREADS} BLAS thread(s)"
    )
    head = f"{'batch':>5} {'dtype':>8} {'autodiff':>9} {'plain':>7} {'ratio':>6} {'reference':>9} {'ratio':>6} {'tuned':>7} {'ratio':>6}"
    head += f" {'torch':>7}" if any("torch_s" in r for r in rows) else ""
    head += f" {'peak MiB (ad/plain)':>19}" if not args.no_memory else ""
    print(head)
    for r in rows:
        line = f"{r['batch']:>5} {r['dtype']:>8} {r['autodiff_s']:>9.3f} {r['plain_s']:>7.3f} {r['plain_ratio']:>6.3f}"
        line += f" {r['reference_s']:>9.3f} {r['ratio']:>6.3f}"
        line += f" {r['tuned_s']:>7.3f} {r['tuned_ratio']:>6.3f}"
        if "torch_s" in r:
            line += f" {r['torch_s']:>7.3f}"
        if "memory_ratio" in r:
            line += f" {r['autodiff_peak_mib']:>9.0f}/{r['plain_peak_mib']:<9.0f}"
        print(line)
    for r in rows:
        print(json.dumps(r))
    if args.json:
        command = "python benchmarks/bench_train.py " + " ".join(sys.argv[1:] if argv is None else argv)
        run = {"date": time.strftime("%Y-%m-%d"), "command": command, "threads": THREADS, "repeats": args.repeats,
               "images": args.synthetic or len(X), "machine": machine(), "rows": rows}
        with open(args.json, "w") as f:
            json.dump(run, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

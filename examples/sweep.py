"""Grid search over Network hyper-parameters on MNIST, printing a Markdown table of test accuracy.

Every combination of the given values is trained once per seed; the table shows, per combination,
the final and the best test accuracy (mean ± sample standard deviation over the seeds).

    python examples/sweep.py --data /path/to/mnist --eta 0.1 0.5 3 10 --epochs 30 --seeds 0 1 2

The MNIST data is loaded once and shared by all runs.  ``run`` and ``table`` are also used by
``examples/experiments.py``.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from typing import Any, Callable, Sequence

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nets import Network  # noqa: E402
from nets.mnist import load_data  # noqa: E402

__all__ = ["run", "mean_std", "table", "main"]

Data = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def run(
    data: Data,
    *,
    sizes: Sequence[int] = (784, 30, 10),
    epochs: int = 30,
    batch_size: int = 10,
    eta: float = 3.0,
    lmbda: float = 0.0,
    l1: float = 0.0,
    cost: str = "quadratic",
    init: str = "large",
    activation: str = "sigmoid",
    train_size: int | None = None,
    eta_schedule: int | None = None,
    early_stop: int | None = None,
    seed: int = 0,
    test_every: int = 1,
) -> dict[str, Any]:
    """Return the record of one training run: per-epoch test accuracy, final train and test accuracy, seconds.

    ``test_every`` evaluates the test set only every that many epochs (and after the last one), to save time
    on long runs over small subsets.
    """
    (x, y), (x_val, y_val), (x_test, y_test) = data
    if train_size is not None:
        x, y = x[:train_size], y[:train_size]
    net = Network(list(sizes), cost=cost, init=init, seed=seed, activation=activation)
    curve: list[tuple[int, float]] = []
    etas: list[float] = []
    stopped: list[str] = []

    def after_epoch(epoch: int, info: dict) -> None:
        etas.append(info["eta"])
        last = epoch == epochs - 1 or info.get("stop_reason")
        if epoch % test_every == test_every - 1 or last:
            curve.append((epoch, net.evaluate((x_test, y_test)) / len(y_test)))
        if info.get("stop_reason"):
            stopped.append(f"epoch {epoch}")

    watch = eta_schedule is not None or early_stop is not None
    start = time.perf_counter()
    net.SGD(
        (x, y),
        epochs,
        batch_size,
        eta,
        lmbda=lmbda,
        l1=l1,
        eta_schedule=eta_schedule,
        early_stop=early_stop,
        evaluation_data=(x_val, y_val) if watch else None,
        verbose=False,
        epoch_callback=after_epoch,
    )
    seconds = time.perf_counter() - start
    if not np.all(np.isfinite(np.concatenate([w.ravel() for w in net.weights]))):
        final_train = float("nan")
    else:
        final_train = net.evaluate((x, y)) / len(y)
    return {
        "test_curve": curve,
        "final_test": curve[-1][1],
        "best_test": max(a for _, a in curve),
        "final_train": final_train,
        "epochs_run": len(etas),
        "final_eta": etas[-1] if etas else eta,
        "stopped": stopped[0] if stopped else None,
        "seconds": seconds,
    }


def mean_std(values: Sequence[float], scale: float = 100.0, digits: int = 2) -> str:
    """Return ``"mean ± std"`` of ``values`` times ``scale`` (sample standard deviation; just the mean for one value)."""
    v = np.asarray(values, dtype=float) * scale
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, report: Callable[[str], Any] = print) -> int:
    """Return 0 after running the grid given on the command line and printing its table."""
    p = argparse.ArgumentParser(prog="python examples/sweep.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="MNIST folder (default: nets.mnist's lookup)")
    p.add_argument("--eta", type=float, nargs="+", default=[3.0])
    p.add_argument("--batch-size", type=int, nargs="+", default=[10])
    p.add_argument("--width", type=int, nargs="+", default=[30], help="hidden-layer widths to try (one hidden layer)")
    p.add_argument("--lmbda", type=float, nargs="+", default=[0.0])
    p.add_argument("--l1", type=float, nargs="+", default=[0.0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--cost", default="quadratic", choices=("quadratic", "cross-entropy"))
    p.add_argument("--init", default="large", choices=("large", "default"))
    p.add_argument("--train-size", type=int, default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = p.parse_args(argv)
    data = load_data(args.data)
    grid = list(itertools.product(args.eta, args.batch_size, args.width, args.lmbda, args.l1))
    rows = []
    for eta, m, width, lmbda, l1 in grid:
        records = [
            run(
                data, sizes=(784, width, 10), epochs=args.epochs, batch_size=m, eta=eta, lmbda=lmbda, l1=l1,
                cost=args.cost, init=args.init, train_size=args.train_size, seed=s,
            )
            for s in args.seeds
        ]
        rows.append(
            (eta, m, width, lmbda, l1, mean_std([r["final_test"] for r in records]),
             mean_std([r["best_test"] for r in records]), f"{np.mean([r['seconds'] for r in records]):.0f}")
        )
    report(table(("η", "batch", "width", "λ (L2)", "λ₁ (L1)", "final test %", "best test %", "s/run"), rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

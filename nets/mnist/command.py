"""What ``python -m nets.mnist`` does, step by step: check the outputs, load the data, build the net, train, save.

:func:`train` reads top to bottom as the run itself; each step is a small function below it.  Signals are
handled by :class:`Stop`: while training, Ctrl-C, SIGTERM and SIGHUP only raise a flag checked after each
mini-batch (so the run ends cleanly and is saved); before training they interrupt at once, without a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
from typing import Any

import numpy as np

from ..persistence import check_writable
from .data import load_data
from .errors import MNISTError
from .fetch import Fetch, Log, find_data

__all__ = ["Stop", "Interrupted", "stderr", "train", "evaluate_saved"]

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_NAMES = {signal.SIGINT: "Ctrl-C"}


def stderr(msg: str) -> None:
    """Return nothing; print one line of progress or warning to stderr."""
    print(msg, file=sys.stderr, flush=True)


class Interrupted(Exception):
    """A signal that arrived before or outside training: the run stops at once, without a traceback."""

    def __init__(self, signum: int, what: str) -> None:
        super().__init__(what)
        self.signum = signum


class Stop:
    """A context that turns SIGINT, SIGTERM and SIGHUP into a stop request while ``training`` is True.

    Outside training a signal raises :class:`Interrupted`; during training the first one sets ``signum``
    (checked after each mini-batch) and a second one of the same kind falls back to the default action.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.training = False
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """Return whether a signal asked training to stop."""
        return self.signum is not None

    def _handler(self, signum: int, frame: Any) -> None:
        if not self.training:
            raise Interrupted(signum, "while loading the data" if self.signum is None else "")
        self.signum = signum
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)

    def __enter__(self) -> "Stop":
        for s in _SIGNALS:
            try:
                self._previous[s] = signal.signal(s, self._handler)
            except ValueError:  # not the main thread: leave the signals alone
                break
        return self

    def __exit__(self, *exc: object) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)


# ---- the steps ------------------------------------------------------------------------------------


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before any training if --plot cannot work or --save/--plot cannot be written."""
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise MNISTError(
                "--plot needs matplotlib, which is not installed; install it with: pip install 'tinygrad-bp[plot]'"
            ) from None
        from matplotlib.figure import Figure

        ext = os.path.splitext(args.plot)[1].lstrip(".").lower()
        supported = Figure().canvas.get_supported_filetypes()
        if ext not in supported:
            raise MNISTError(f"--plot {args.plot}: unknown image type {ext!r}; use one of {', '.join(sorted(supported))}")
    for flag in ("save", "plot"):
        target = getattr(args, flag)
        if target is not None:
            try:
                check_writable(target, f"--{flag}")
            except OSError as e:
                raise MNISTError(str(e.strerror)) from None


def _load(args: argparse.Namespace, fetch: Fetch | None, log: Log | None) -> tuple[Any, Any, Any, Any]:
    """Return the training, validation and test splits and where they came from."""
    source = find_data(args.data, fetch=fetch, log=log, argument="--data ")
    (x, y), val, test = load_data(source, np.dtype(args.dtype), argument="--data ")
    if args.train_size is not None:
        if args.train_size > len(x):
            raise MNISTError(f"--train-size {args.train_size} is more than the {len(x)} training images in {source}")
        x, y = x[: args.train_size], y[: args.train_size]
    if log:
        log(f"data: {source} ({len(x)} training, {len(test[0])} test images)")
    return (x, y), val, test, source


def _network(args: argparse.Namespace, n_pixels: int, log: Log | None) -> Any:
    """Return the network the arguments describe, after checking it fits the data."""
    from ..mlp import Network

    if args.sizes[0] != n_pixels or args.sizes[-1] != 10 or len(args.sizes) < 2:
        raise MNISTError(
            f"--sizes {' '.join(map(str, args.sizes))} does not fit the data: the first width must be the "
            f"{n_pixels} pixels and the last the 10 digits"
        )
    seed = args.seed
    if seed is None:
        # Draw the seed here, rather than let Network do it, so the run can be repeated.
        seed = int(np.random.SeedSequence().generate_state(1)[0])
        if log:
            log(f"seed: {seed} (pass --seed {seed} to repeat this run)")
    try:
        return Network(args.sizes, cost=args.cost, init=args.init, seed=seed, dtype=args.dtype, activation=args.activation)
    except ValueError as e:  # e.g. sizes whose parameters cannot fit in memory
        raise MNISTError(f"--sizes {' '.join(map(str, args.sizes))}: {e}") from None


def _print_grad_norms(net: Any, x: np.ndarray, y: np.ndarray, m: int) -> None:
    batches = [(x[k : k + m], y[k : k + m]) for k in range(0, min(len(x), 10 * m), m)]
    norms = np.mean([net.gradient_norms(b) for b in batches], axis=0)
    shown = "  ".join(f"layer {l + 1}: {v:.3g}" for l, v in enumerate(norms))
    print(f"Gradient norms |dC/db| at the start (mean of {len(batches)} mini-batches): {shown}", flush=True)


class _Progress:
    """The per-batch and per-epoch callbacks of one run: the progress bar, the epoch lines and the history."""

    def __init__(self, args: argparse.Namespace, stop: Stop, n_val: int) -> None:
        self.args, self.stop, self.n_val = args, stop, n_val
        self.watch = args.eta_schedule is not None or args.early_stop is not None
        self.tqdm = _progress_bar(sys.stdout.isatty() and not args.quiet)
        self.bar: Any = None
        self.where = {"epoch": 0, "batch": 0, "n_batches": 0}
        self.history: list[tuple[int, int, int, float]] = []
        self.lines: list[str] = []

    def after_batch(self, epoch: int, k: int, n_batches: int) -> bool:
        self.where.update(epoch=epoch, batch=k + 1, n_batches=n_batches)
        if self.tqdm is not None:
            if self.bar is None:
                self.bar = self.tqdm(total=n_batches, desc=f"Epoch {epoch}", unit="batch", leave=False, file=sys.stdout)
            self.bar.update(1)
            if k + 1 == n_batches or self.stop.requested:
                self.bar.close()
                self.bar = None
        return self.stop.requested

    def after_epoch(self, epoch: int, info: dict) -> bool:
        self.history.append((epoch, info["correct"], info["n_test"], info["seconds"]))
        line = f"Epoch {epoch}: {info['correct']} / {info['n_test']}  ({info['seconds']:.2f} s)"
        if self.watch:
            line += f"  validation {info['evaluation_accuracy']} / {self.n_val}"
        if self.args.eta_schedule is not None:
            line += f"  eta {info['eta']:g}"
        if info.get("stop_reason"):
            line += f"\nStopped: {info['stop_reason']}"
        self.lines.append(line)
        if not self.args.quiet:
            print(line, flush=True)
        return self.stop.requested


def _fit(net: Any, args: argparse.Namespace, train: Any, val: Any, test: Any, progress: _Progress, stop: Stop) -> None:
    from tinygrad_bp import detect_anomaly

    # A diverging run is reported once, by SGD or anomaly mode, instead of through numpy warnings.
    checks = detect_anomaly() if args.detect_anomaly else contextlib.nullcontext()
    stop.training = True
    try:
        with np.errstate(all="ignore"), checks, _as_mnist_error(ValueError):
            net.SGD(
                train, args.epochs, args.batch_size, args.eta, lmbda=args.lmbda, l1=args.l1,
                eta_schedule=args.eta_schedule, early_stop=args.early_stop,
                evaluation_data=val if progress.watch else None, test_data=test, verbose=False,
                callback=progress.after_batch, epoch_callback=progress.after_epoch,
            )
    finally:
        stop.training = False


@contextlib.contextmanager
def _as_mnist_error(*kinds: type) -> Any:
    # Network's own argument checks (e.g. a weight decay factor ≤ 0) name the argument; say it in one line.
    try:
        yield
    except kinds as e:
        raise MNISTError(str(e)) from None


def _save(net: Any, path: str) -> None:
    """Save to ``path``; if that fails after all, save to a fresh temporary file and say where, in one line."""
    try:
        net.save(path)
    except OSError as e:
        fd, fallback = tempfile.mkstemp(prefix="nets-mnist-", suffix=".json")
        os.close(fd)
        net.save(fallback)
        raise MNISTError(
            f"cannot save the network to {path}: {e.strerror or e}; the trained network was saved to {fallback} instead"
        ) from None


def _finish(net: Any, args: argparse.Namespace, progress: _Progress, stop: Stop, log: Log | None) -> int:
    if args.quiet and progress.lines:
        print(progress.lines[-1], flush=True)
    saved = ""
    if args.save is not None:
        _save(net, args.save)
        saved = f"; saved the network to {args.save}"
        if log and not stop.requested:
            log(f"saved the network to {args.save}")
    if args.plot is not None and progress.history:
        _plot(args.plot, progress.history)
        if log:
            log(f"plotted test accuracy to {args.plot}")
    if stop.signum is None:
        return 0
    w = progress.where
    if w["batch"] == w["n_batches"]:
        done = f"after epoch {w['epoch']}"
    else:
        done = f"in epoch {w['epoch']} after mini-batch {w['batch']} of {w['n_batches']}"
    how = _NAMES.get(stop.signum, f"by signal {signal.Signals(stop.signum).name}")
    print(f"Interrupted ({how}) {done}{saved}.", file=sys.stderr, flush=True)
    return 128 + stop.signum


def train(args: argparse.Namespace, fetch: Fetch | None, log: Log | None, stop: Stop) -> int:
    """Return the exit code of a training run: every failure that can be foreseen is raised before training."""
    _check_outputs(args)
    (x, y), (x_val, y_val), (x_test, y_test), _ = _load(args, fetch, log)
    net = _network(args, x.shape[1], log)
    if args.grad_norms:
        _print_grad_norms(net, x, y, args.batch_size)
    progress = _Progress(args, stop, len(y_val))
    _fit(net, args, (x, y), (x_val, y_val), (x_test, y_test), progress, stop)
    return _finish(net, args, progress, stop, log)


def evaluate_saved(args: argparse.Namespace, fetch: Fetch | None, log: Log | None) -> int:
    """Return 0 after printing a saved network's test accuracy (``--load``)."""
    from ..mlp import Network

    try:
        net = Network.load(args.load)
    except OSError as e:
        raise MNISTError(f"{args.load}: cannot read the model: {e.strerror or e}") from None
    except ValueError as e:  # Network.load's message already names the file and the problem
        raise MNISTError(str(e)) from None
    _, _, (x_test, y_test) = load_data(args.data, net.dtype, fetch=fetch, log=log, argument="--data ")
    if net.sizes[0] != x_test.shape[1] or net.sizes[-1] != 10:
        raise MNISTError(f"{args.load}: sizes {net.sizes} do not fit images of {x_test.shape[1]} pixels and 10 digits")
    correct = net.evaluate((x_test, y_test))
    print(f"Test: {correct} / {len(y_test)}", flush=True)
    return 0


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _plot(path: str, history: list[tuple[int, int, int, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.plot([h[0] for h in history], [100.0 * h[1] / h[2] for h in history], marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except (OSError, ValueError) as e:
        raise MNISTError(f"cannot write the plot {path}: {e}") from None
    finally:
        plt.close(fig)

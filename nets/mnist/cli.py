"""The command ``python -m nets.mnist`` (the ``nets-mnist`` script): its arguments and its one-line errors."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

import numpy as np

from .errors import MNISTError, MNISTNotFoundError
from .fetch import Fetch

__all__ = ["build_parser", "main"]

# With --load only these apply; any other option given a non-default value is a usage error.
_LOAD_OPTIONS = ("load", "data", "quiet")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _float_in(low: float, *, open_low: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not np.isfinite(v) or v < low or (open_low and v == low):
            raise argparse.ArgumentTypeError(f"expected a finite number {'>' if open_low else '>='} {low}, got {text!r}")
        return v

    return parse


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def _prog() -> str:
    # The console script's own name (nets-mnist); "python -m nets.mnist" when run as a module.
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m nets.mnist" if name in ("", "__main__.py", "-c") else name


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m nets.mnist``; its defaults are Nielsen's network.py run.

    Examples
    --------
    >>> from nets.mnist import build_parser
    >>> a = build_parser().parse_args([])
    >>> a.sizes, a.cost, a.epochs, a.batch_size, a.eta, a.init
    ([784, 30, 10], 'quadratic', 30, 10, 3.0, 'large')
    """
    p = argparse.ArgumentParser(
        prog=prog or _prog(),
        description="Train Nielsen's sigmoid network on MNIST with autodiff backprop, printing "
        "'Epoch j: correct / 10000' after each epoch, as network.py does.",
        epilog="Data lookup: --data, then $MNIST_DIR, then the cache ($XDG_CACHE_HOME or ~/.cache)/tinygrad-bp/mnist, "
        "then a download into that cache, md5-verified. Ctrl-C, SIGTERM or SIGHUP stop after the current "
        "mini-batch (and save, with --save). Errors print one line and exit 1; usage errors exit 2.",
    )
    p.add_argument("--arch", choices=("mlp", "conv"), default="mlp",
                   help="mlp: Nielsen's network (--sizes); conv: network3's ReLU two-conv net, ConvPool 20 and 40 "
                   "5x5, FC 100, softmax, eta 0.03 and lmbda 0.1 unless given (default mlp)")
    p.add_argument("--epochs", type=_positive_int, default=30, help="passes over the training set (default 30)")
    p.add_argument("--batch-size", type=_positive_int, default=10, help="mini-batch size (default 10)")
    p.add_argument("--eta", type=_float_in(0.0, open_low=True), default=3.0, help="learning rate η (default 3.0)")
    p.add_argument("--sizes", type=_positive_int, nargs="+", default=[784, 30, 10], metavar="N",
                   help="layer widths, input first (default 784 30 10)")
    p.add_argument("--cost", choices=("quadratic", "cross-entropy"), default="quadratic", help="default quadratic")
    p.add_argument("--init", choices=("large", "default"), default="large",
                   help="large: N(0,1) as network.py; default: N(0,1/n_in) weights as network2 (default large)")
    p.add_argument("--lmbda", type=_float_in(0.0, open_low=False), default=0.0,
                   help="L2 strength λ, network2's (1-ηλ/n) decay with n = training-set size (default 0)")
    p.add_argument("--l1", type=_float_in(0.0, open_low=False), default=0.0, metavar="LAMBDA1",
                   help="L1 strength λ₁: weights also step by -(ηλ₁/n)·sgn(w), n = training-set size (default 0)")
    p.add_argument("--eta-schedule", type=_positive_int, default=None, metavar="K",
                   help="halve η whenever validation accuracy has not improved for K epochs (default: constant η)")
    p.add_argument("--early-stop", type=_positive_int, default=None, metavar="N",
                   help="stop once validation accuracy has not improved for N epochs (default: train all epochs)")
    p.add_argument("--train-size", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training images only (default: all of them, 50,000 for MNIST)")
    p.add_argument("--grad-norms", action="store_true",
                   help="before training, print each layer's gradient norm |dC/db|, the mean over the first "
                   "10 mini-batches (in file order)")
    p.add_argument("--activation", choices=("sigmoid", "tanh", "relu"), default="sigmoid",
                   help="activation of the hidden layers; the output layer gets the one the cost needs (sigmoid for "
                   "cross-entropy), else this one (default sigmoid, as network.py)")
    p.add_argument("--seed", type=_non_negative_int, default=None, help="seed for initialisation and shuffling (default: random)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="default float64")
    p.add_argument("--data", metavar="PATH", default=None,
                   help="a folder with the four MNIST IDX files (.gz or raw), or Nielsen's mnist.pkl.gz")
    p.add_argument("--save", metavar="MODEL.json", default=None, help="save the trained network (network2 JSON)")
    p.add_argument("--plot", metavar="CURVES.png", default=None,
                   help="plot test accuracy per epoch (needs matplotlib: pip install 'tinygrad-bp[plot]')")
    p.add_argument("--quiet", action="store_true", help="print only the last epoch's line; no progress bar")
    p.add_argument("--threads", type=_non_negative_int, default=1, metavar="N",
                   help="BLAS threads for training (default 1: on a small or shared machine more threads mostly "
                   "wait for busy cores; 0 keeps the BLAS library's own default)")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="check every op's output and gradient during training and stop at the first NaN/Inf, "
                   "naming the op and where it was made (slow: for debugging)")
    p.add_argument("--load", metavar="MODEL.json", default=None,
                   help="evaluate a saved network on the test set instead of training (only --data and --quiet "
                   "apply with it)")
    return p


def _check_load_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    ignored = [
        "--" + dest.replace("_", "-")
        for dest in vars(args)
        if dest not in _LOAD_OPTIONS and getattr(args, dest) != parser.get_default(dest)
    ]
    if ignored:
        parser.error(f"--load evaluates a saved network; {', '.join(ignored)} would be ignored: drop them")


def _conv_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse the MLP-only options with --arch conv, and give it its own η and λ when they are not set."""
    from .conv_command import CONV_ETA, CONV_LMBDA, MLP_ONLY

    mlp_only = ["--" + d.replace("_", "-") for d in MLP_ONLY if getattr(args, d) != parser.get_default(d)]
    if mlp_only:
        parser.error(f"--arch conv trains a fixed conv net; {', '.join(mlp_only)} describe the MLP: drop them")
    if args.eta == parser.get_default("eta"):
        args.eta = CONV_ETA
    if args.lmbda == parser.get_default("lmbda"):
        args.lmbda = CONV_LMBDA


def main(argv: Sequence[str] | None = None, *, fetch: Fetch | None = None) -> int:
    """Return the exit code of ``python -m nets.mnist``: train (or, with ``--load``, evaluate) on MNIST.

    Every error about the data, the arguments' fit to it, a model file, an output path or memory prints one
    line to stderr (``error: ...``) and returns 1; a usage error (argparse) exits with 2; Ctrl-C returns 130,
    SIGTERM 143 and SIGHUP 129, after saving with ``--save``.  ``fetch`` replaces the downloader (see
    :func:`download`).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from nets.mnist import FILES, main, write_idx
    >>> d = tempfile.mkdtemp()
    >>> for key, stem in FILES.items():
    ...     shape = (12, 28, 28) if key.endswith("images") else (12,)
    ...     write_idx(os.path.join(d, stem), np.zeros(shape, np.uint8))
    >>> main(["--data", d, "--epochs", "1", "--seed", "0", "--quiet"])  # doctest: +ELLIPSIS
    Epoch 0: ... / 12  (... s)
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.load is not None:
        _check_load_args(parser, args)
    elif args.arch == "conv":
        _conv_args(parser, args)
    from tinygrad_bp import AnomalyError

    from .. import persistence3
    from ..training import TrainingDivergedError
    from . import command, conv_command

    log = None if args.quiet else command.stderr
    try:
        with command.Stop() as stop:
            if args.load is not None:
                if persistence3.is_network3_file(args.load):
                    return conv_command.evaluate_saved(args, fetch, log)
                return command.evaluate_saved(args, fetch, log)
            if args.arch == "conv":
                return conv_command.train(args, fetch, log, stop)
            return command.train(args, fetch, log, stop)
    except command.Interrupted as e:
        print(f"Interrupted {e}.", file=sys.stderr)
        return 128 + e.signum
    except (MNISTError, MNISTNotFoundError, TrainingDivergedError, AnomalyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except MemoryError:
        print("error: out of memory: use smaller --sizes, --train-size or --dtype float32", file=sys.stderr)
        return 1
    except OSError as e:  # a file that cannot be read or written, named by the message
        print(f"error: {e.filename + ': ' if e.filename else ''}{e.strerror or e}", file=sys.stderr)
        return 1

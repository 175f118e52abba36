"""``python -m nets.mnist --arch conv``: train network3's ReLU two-conv net with the command's bar, lines and files.

The net is chapter 6's best single-net row without expansion or dropout: ConvPool(20 5×5, max-pool
2×2) → ConvPool(40 5×5, max-pool 2×2) → FC 100 → softmax, ReLU, log-likelihood cost, plain SGD
with η 0.03 and λ 0.1 unless ``--eta`` / ``--lmbda`` say otherwise; mini-batches are reshuffled each
epoch (with ``--seed``).  The epoch lines, progress bar, ``--save``, ``--plot`` and signal handling
are the MLP command's (``nets.mnist.command``).
"""
from __future__ import annotations

import argparse
import contextlib
from typing import Any

import numpy as np

from . import command
from .errors import MNISTError
from .fetch import Fetch, Log

__all__ = ["CONV_ETA", "CONV_LMBDA", "MLP_ONLY", "conv_network", "train"]

CONV_ETA, CONV_LMBDA = 0.03, 0.1
MLP_ONLY = ("sizes", "cost", "init", "l1", "eta_schedule", "early_stop", "grad_norms", "activation")
"""The options that describe or train the MLP only: with ``--arch conv`` setting one is a usage error."""


def conv_network(seed: int, dtype: Any, m: int) -> Any:
    """Return the command's conv net for 28×28 images (network3 layers), its parameters drawn from ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.mnist.conv_command import conv_network
    >>> [type(l).__name__ for l in conv_network(0, np.float32, 10).layers]
    ['ConvPoolLayer', 'ConvPoolLayer', 'FullyConnectedLayer', 'SoftmaxLayer']
    """
    from ..network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer

    rng = np.random.default_rng(seed)
    return Network(
        [
            ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2), ReLU, rng=rng, dtype=dtype),
            ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12), (2, 2), ReLU, rng=rng, dtype=dtype),
            FullyConnectedLayer(40 * 4 * 4, 100, ReLU, rng=rng, dtype=dtype),
            SoftmaxLayer(100, 10, rng=rng, dtype=dtype),
        ],
        m,
    )


def train(args: argparse.Namespace, fetch: Fetch | None, log: Log | None, stop: command.Stop) -> int:
    """Return the exit code of a conv training run (``--arch conv``); failures that can be foreseen come first."""
    from tinygrad_bp import detect_anomaly

    command._check_outputs(args)
    (x, y), (x_val, y_val), (x_test, y_test), source = command._load(args, fetch, log)
    if x.shape[1] != 784:
        raise MNISTError(f"--arch conv needs 28x28 images (784 pixels); {source} has {x.shape[1]} pixels per image")
    seed = args.seed
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
        if log:
            log(f"seed: {seed} (pass --seed {seed} to repeat this run)")
    net = conv_network(seed, np.dtype(args.dtype), args.batch_size)
    if log:
        log(f"conv net: eta {args.eta:g}, lmbda {args.lmbda:g}, mini-batch {args.batch_size}")
    progress = command._Progress(args, stop, len(y_val))

    def epoch_line(record: dict[str, Any]) -> None:
        correct = int((net.predict(x_test) == y_test).sum())
        progress.after_epoch(record["epoch"], {"correct": correct, "n_test": len(y_test), "seconds": record["seconds"]})

    checks = detect_anomaly() if args.detect_anomaly else contextlib.nullcontext()
    stop.training = True
    try:
        with np.errstate(all="ignore"), checks, command._as_mnist_error(ValueError):
            net.SGD((x, y), args.epochs, args.batch_size, args.eta, (x_val, y_val), None, args.lmbda, shuffle=True,
                    seed=seed, log=None, on_epoch=epoch_line, callback=progress.after_batch)
    finally:
        stop.training = False
    return command._finish(net, args, progress, stop, log)


def evaluate_saved(args: argparse.Namespace, fetch: Fetch | None, log: Log | None) -> int:
    """Return 0 after printing a saved conv network's test accuracy (``--load`` of a network3 file)."""
    from ..network3 import Network
    from .data import load_data

    try:
        net = Network.load(args.load)
    except OSError as e:
        raise MNISTError(f"{args.load}: cannot read the model: {e.strerror or e}") from None
    except ValueError as e:
        raise MNISTError(str(e)) from None
    dtype = net.layers[0].w.dtype
    _, _, (x_test, y_test) = load_data(args.data, dtype, fetch=fetch, log=log, argument="--data ")
    if x_test.shape[1] != net.n_in or net.layers[-1].n_out != 10:
        raise MNISTError(f"{args.load}: a net for {net.n_in} pixels and {net.layers[-1].n_out} classes does not fit "
                         f"images of {x_test.shape[1]} pixels and 10 digits")
    correct = int((net.predict(x_test) == y_test).sum())
    print(f"Test: {correct} / {len(y_test)}", flush=True)
    return 0

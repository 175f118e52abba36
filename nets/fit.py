"""Gradients and training for ``Network``: backprop, gradient norms, ``SGD`` and ``update_mini_batch``.

These are ``Network``'s methods (the class binds them), kept in their own module so that the data
model and the training loop can each be read on their own.  ``SGD`` converts and checks the data
once, then every mini-batch goes through :func:`update_mini_batch`: zero the gradients, forward,
the mean cost C, backward (so each parameter's ``.grad`` is ∂C/∂p itself, not η times it), and the
optimizer's step with learning rate ``opt.lr``.
"""
from __future__ import annotations

import time
from math import isfinite
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from tinygrad_bp import Tensor, enable_grad, grad

from . import optim
from .checks import count, is_number, numbers, one_hot
from .training import Monitors, Plateau, TrainingDivergedError, check_sgd_args, diverged

if TYPE_CHECKING:
    from .mlp import Network

__all__: list[str] = []  # the functions here are public as Network's methods


class _Batch(tuple):
    """An (X, Y) mini-batch that ``SGD`` has already converted and checked, so a step skips the checks."""


def backprop(self: Network, x: Any, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return ``(nabla_b, nabla_w)`` of one example's cost, in Nielsen's shapes, computed by autodiff.

    Parameters
    ----------
    x : ndarray
        One input, (n_in, 1) or (n_in,).
    y : ndarray or int
        Its target, (n_out, 1) or (n_out,), or an int label (one-hot encoded).

    No parameter's ``.grad`` is touched.

    Examples
    --------
    >>> import numpy as np
    >>> from nets import Network
    >>> net = Network([784, 30, 10], seed=0)
    >>> nabla_b, nabla_w = net.backprop(np.zeros((784, 1)), 3)
    >>> [b.shape for b in nabla_b], [w.shape for w in nabla_w]
    ([(30, 1), (10, 1)], [(30, 784), (10, 30)])
    """
    rows, kind = self._rows(x, "backprop")
    if rows.shape[0] != 1:
        raise ValueError(f"Network.backprop: takes one example, got input of shape {np.shape(x)}")
    n_out = self.sizes[-1]
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        target = one_hot([y], n_out, self.dtype)
    else:
        y = numbers(y, "Network.backprop", "y")
        if y.size != n_out:
            raise ValueError(f"Network.backprop: y of shape {y.shape} does not fit {n_out} outputs")
        target = np.asarray(y, dtype=self.dtype).reshape(1, n_out)
    params = [p for lin in self._linears for p in (lin.w, lin.b)]
    with enable_grad():
        c = self.cost.fn(self.model.forward(Tensor(rows)), Tensor(target))
        grads = grad(c, params)
    nabla_w = [g.T for g in grads[0::2]]
    nabla_b = [g[:, None] for g in grads[1::2]]
    return nabla_b, nabla_w

def gradient_norms(self: Network, data: Any) -> list[float]:
    """Return ‖∂C/∂bˡ‖ for every layer l, from autodiff's retained δˡ = ∂C/∂zˡ on one batch.

    C is the mean cost over the rows of ``data``, so ∂C/∂bˡ is the sum of the rows of zˡ's
    retained gradient.  This is the "speed of learning" of each layer that Nielsen plots when
    he shows gradients vanishing in deep sigmoid nets.  No parameter's ``.grad`` changes.

    Parameters
    ----------
    data : (X, Y) or list of (x, y) pairs
        One batch, in any form ``SGD`` accepts for training data.

    Examples
    --------
    >>> import numpy as np
    >>> from nets import Network
    >>> net = Network([4, 3, 3, 2], init="default", seed=0)
    >>> norms = net.gradient_norms((np.ones((5, 4)), np.array([0, 1, 0, 1, 1])))
    >>> len(norms), all(v > 0 for v in norms)
    (3, True)
    """
    X, T = self._arrays(data, "gradient_norms")
    params = self.parameters()
    before = [p.grad for p in params]
    try:
        with enable_grad():
            zs, activations = self.forward_trace(X, retain_grad=True)
            self.cost.fn(activations[-1], Tensor(self._targets(T))).backward()
        return [float(np.linalg.norm(z.grad.sum(axis=0))) for z in zs]
    finally:
        for p, g in zip(params, before):
            p.grad = g

def SGD(  # noqa: N802 - Nielsen's name
    self: Network,
    training_data: Any,
    epochs: int,
    mini_batch_size: int,
    eta: float,
    lmbda: float = 0.0,
    test_data: Any = None,
    evaluation_data: Any = None,
    monitor_evaluation_cost: bool = False,
    monitor_evaluation_accuracy: bool = False,
    monitor_training_cost: bool = False,
    monitor_training_accuracy: bool = False,
    *,
    momentum: float = 0.0,
    l1: float = 0.0,
    eta_schedule: int | None = None,
    early_stop: int | None = None,
    verbose: bool = True,
    callback: Callable[[int, int, int], Any] | None = None,
    epoch_callback: Callable[[int, dict], Any] | None = None,
) -> tuple[list[float], list[int], list[float], list[int]]:
    """Return network2's monitor lists after training by mini-batch SGD, with gradients from autodiff.

    Every epoch shuffles the training set with ``self.rng``, cuts it into mini-batches (the
    last may be short), and for each runs forward, the cost, backward and the update
    w ← (1 − ηλ/n)·w − (η/m)·Σₓ∇wₓ, b ← b − (η/m)·Σₓ∇bₓ, with m = len(mini_batch) and
    n = len(training_data).

    Parameters
    ----------
    training_data : list of (x, y) pairs, or (X, Y)
        Nielsen's pairs x (n_in, 1), y (n_out, 1); or the fast path, arrays X (N, n_in) and
        Y (N, n_out) or int labels (N,).  Converted to arrays once, up front.
    epochs, mini_batch_size : int
    eta, lmbda : float
        Learning rate η and L2 strength λ.
    test_data : list of (x, int label), or (X, labels), optional
        Evaluated after every epoch: prints ``Epoch {j}: {correct} / {n}`` (otherwise
        ``Epoch {j} complete``), as network.py does.
    evaluation_data, monitor_* :
        network2's monitoring: cost and accuracy on the evaluation and training data, each
        printed and collected per epoch.
    momentum : float
        Nielsen's momentum coefficient μ (0: plain SGD).
    l1 : float
        L1 strength λ₁, network2-style: weights also move by −(ηλ₁/n)·sgn(w) each step,
        and the monitored costs gain (λ₁/n)·Σ|w|.  Biases are not regularised.
    eta_schedule : int, optional
        Halve η whenever the accuracy on ``evaluation_data`` has not improved for this many
        epochs in a row (network2's "no improvement in n" rule; the count restarts after each
        halving).  Needs ``evaluation_data``.
    early_stop : int, optional
        Stop training once the accuracy on ``evaluation_data`` has not improved for this many
        epochs in a row.  Needs ``evaluation_data``.
    verbose : bool
        Whether to print.
    callback : callable, optional
        ``callback(epoch, batch_index, n_batches)`` after every mini-batch's update (for a
        progress bar); a true result stops training at once, without the epoch's report.
    epoch_callback : callable, optional
        ``epoch_callback(epoch, info)`` after each epoch's report, ``info`` holding
        ``seconds`` (training time of the epoch), ``correct`` and ``n_test`` (or None), the
        epoch's monitor values, and ``eta`` (the η the epoch trained with) and ``stop_reason``
        (None, or why the schedule or early stopping ends training); a true result stops training.

    Returns
    -------
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy : lists
        One entry per epoch for each monitor that is on, as network2 returns them.

    Examples
    --------
    >>> import numpy as np
    >>> from nets import Network
    >>> net = Network([2, 2], seed=0)
    >>> X, labels = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
    >>> _ = net.SGD((X, labels), 2, 1, 3.0, test_data=(X, labels))
    Epoch 0: 2 / 2
    Epoch 1: 2 / 2
    """
    check_sgd_args(
        epochs, mini_batch_size, eta, lmbda, l1, evaluation_data,
        monitor_evaluation_cost or monitor_evaluation_accuracy,
        {"eta_schedule": eta_schedule, "early_stop": early_stop},
    )
    X, T = self._arrays(training_data, "SGD")
    Y = self._targets(T)
    n = X.shape[0]
    test = _labelled(self, test_data, "SGD(test_data)")
    evaluation = _labelled(self, evaluation_data, "SGD(evaluation_data)", with_targets=True)
    train_labels = self._labels(T) if monitor_training_accuracy else None
    monitors = Monitors(
        lambda X_, Y_: self._total_cost(X_, Y_, lmbda, l1), self._count_correct, (X, Y, train_labels), evaluation,
        {"training_cost": monitor_training_cost, "training_accuracy": monitor_training_accuracy,
         "evaluation_cost": monitor_evaluation_cost, "evaluation_accuracy": monitor_evaluation_accuracy},
    )
    if not isfinite(float(eta) * float(lmbda) / n) or not isfinite(float(eta) * float(l1) / n):
        raise ValueError(f"Network.SGD: eta·lmbda/n (or eta·l1/n) overflows for eta = {eta:g}, lmbda = {lmbda:g}, "
                         f"l1 = {l1:g}; lower lmbda or l1")
    # Weight decay and L1 are given relative to the learning rate: the optimizer applies
    # w ← (1 − lr·λ/n)·w − lr·∂C/∂w, network2's step, and a schedule changes opt.lr alone.
    opt = optim.SGD(self.parameters(), lr=float(eta), momentum=momentum,
                    weight_decay=float(lmbda) / n, l1=float(l1) / n)
    plateau = Plateau(opt, eta_schedule, early_stop)
    self._forwards = [layer.forward for layer in self.model.layers]  # bound once per training, for the step
    try:
        with enable_grad():
            for j in range(int(epochs)):
                info: dict[str, Any] = {"epoch": j, "eta": opt.lr, "correct": None, "n_test": None}
                start = time.perf_counter()
                if not _epoch(self, X, Y, int(mini_batch_size), opt, j, callback):
                    break  # the per-batch callback asked to stop: no report for this epoch
                info["seconds"] = time.perf_counter() - start
                _report(self, info, test, verbose)
                monitors.run(info, verbose)
                if verbose and self._epoch_gap:
                    print()
                info["stop_reason"] = (
                    plateau.update(monitors.evaluation_accuracy(info), verbose) if plateau.active else None
                )
                if epoch_callback is not None and epoch_callback(j, info):
                    break
                if info["stop_reason"] is not None:
                    break
    finally:
        opt.zero_grad()  # the last batch's gradients are not left behind after training
    return monitors.results()

def _labelled(self: Network, data: Any, who: str, with_targets: bool = False) -> Any:
    """Return ``data`` as (X, labels), or (X, one-hot Y, labels); None stays None."""
    if data is None:
        return None
    X, T = self._arrays(data, who)
    return (X, self._targets(T), self._labels(T)) if with_targets else (X, self._labels(T))

def _report(self: Network, info: dict[str, Any], test: Any, verbose: bool) -> None:
    """Return nothing; count the test data's correct answers into ``info`` and print network.py's epoch line."""
    j = info["epoch"]
    if test is not None:
        info.update(correct=self._count_correct(*test), n_test=len(test[1]))
        if verbose:
            print(f"Epoch {j}: {info['correct']} / {info['n_test']}")
    elif verbose:
        print(self._epoch_done.format(j))

def _epoch(self: Network, X: np.ndarray, Y: np.ndarray, m: int, opt: optim.SGD, j: int,
           callback: Callable[[int, int, int], Any] | None) -> bool:
    """Return False if ``callback`` stopped training, else True after one shuffled pass of update_mini_batch."""
    n = X.shape[0]
    n_batches = -(-n // m)
    order = self.rng.permutation(n)
    step = self.update_mini_batch
    for k in range(n_batches):
        # Gathering each mini-batch's rows is cheaper than permuting all of X per epoch.
        idx = order[k * m : (k + 1) * m]
        try:
            step(_Batch((X[idx], Y[idx])), opt.lr, optimizer=opt)
        except TrainingDivergedError as e:
            where = f"in epoch {j}, mini-batch {k + 1} of {n_batches}"
            raise diverged("Network.SGD", e.cost, opt.lr, where) from None  # type: ignore[attr-defined]
        if callback is not None and callback(j, k, n_batches):
            return False
    return True

def update_mini_batch(
    self: Network, mini_batch: Any, eta: float, lmbda: float = 0.0, n: int | None = None, *, optimizer: Any = None
) -> float:
    """Return the mini-batch's mean cost, after one gradient-descent step on it (Nielsen's update_mini_batch).

    Forward, the cost C (the mean over the batch), backward, then the step
    w ← (1 − ηλ/n)·w − η·∂C/∂w, b ← b − η·∂C/∂b.  Afterwards every parameter's ``.grad``
    holds ∂C/∂p of this batch at the parameters before the step (``SGD`` clears them when
    training ends).

    Parameters
    ----------
    mini_batch : list of (x, y) pairs, or (X, Y)
        As ``SGD``'s training data.
    eta : float
        The learning rate η.
    lmbda, n : float, int
        network2's L2 strength λ and the size n of the whole training set (needed when λ ≠ 0).
    optimizer : nets.SGD, optional
        Step with this optimizer over the network's parameters instead (it carries momentum,
        L1 and weight decay across calls; its ``lr`` is set to ``eta``).  ``SGD`` passes its own.

    Examples
    --------
    >>> import numpy as np
    >>> from nets import Network
    >>> net = Network([2, 1], init="zeros")
    >>> net.update_mini_batch([(np.ones((2, 1)), np.ones((1, 1)))], 4.0)   # ½(σ(0) − 1)²
    0.125
    >>> net.biases[0], net.model[0].b.grad    # ∂C/∂b = (σ(0) − 1)·σ′(0) = −1/8, b = 0 − 4·(−1/8)
    (array([[0.5]]), array([-0.125]))
    """
    if mini_batch.__class__ is _Batch:  # SGD's own batches: converted and checked once, up front
        X, Y = mini_batch
    else:
        X, Y, optimizer = _step_args(self, mini_batch, eta, lmbda, n, optimizer)
        self._forwards = [layer.forward for layer in self.model.layers]
    optimizer.lr = eta
    optimizer.zero_grad()
    a = Tensor(X)
    for forward in self._forwards:
        a = forward(a)
    cost = self.cost.fn(a, Tensor(Y))
    if not isfinite(cost.data):  # one test of the 0-d cost forward already computed
        err = diverged("Network.update_mini_batch", float(cost.data), eta)
        err.cost = float(cost.data)  # type: ignore[attr-defined]
        raise err
    cost.backward(self._one)
    optimizer.step()
    return float(cost.data)

def _step_args(self: Network, mini_batch: Any, eta: Any, lmbda: Any, n: Any, optimizer: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Return (X, Y, optimizer) for a step called by the user, after checking the arguments."""
    who = "Network.update_mini_batch"
    if not is_number(eta) or not eta > 0:
        raise (ValueError if is_number(eta) else TypeError)(f"{who}: eta must be a number > 0, got {eta!r}")
    if not is_number(lmbda) or lmbda < 0:
        raise (ValueError if is_number(lmbda) else TypeError)(f"{who}: lmbda must be a number >= 0, got {lmbda!r}")
    X, T = self._arrays(mini_batch, "update_mini_batch")
    if optimizer is None:
        if lmbda and n is None:
            raise ValueError(f"{who}: lmbda needs n, the size of the whole training set (network2's argument)")
        n = X.shape[0] if n is None else count(n, who, "n", 1)
        optimizer = optim.SGD(self.parameters(), lr=float(eta), weight_decay=float(lmbda) / n)
    elif lmbda or n is not None:
        raise ValueError(f"{who}: with an optimizer, give weight decay to the optimizer, not lmbda and n")
    elif not all(p is q for p, q in zip(getattr(optimizer, "params", ()), self.parameters())):
        raise ValueError(f"{who}: the optimizer must hold this network's parameters, in order")
    return X, self._targets(T), optimizer

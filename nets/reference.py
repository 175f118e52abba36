"""The oracle: backpropagation derived by hand from the four equations, in plain numpy.

Notation (Nielsen's): layer l has weights Wˡ (out, in) and biases bˡ (out, 1);
zˡ = Wˡ aˡ⁻¹ + bˡ, aˡ = σ(zˡ), a⁰ = x, and L is the output layer.

- BP1  δᴸ = ∇ₐC ⊙ σ′(zᴸ)
- BP2  δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ)
- BP3  ∂C/∂bˡ = δˡ
- BP4  ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ

For the quadratic cost ∇ₐC = a − y; for the cross-entropy cost ∇ₐC = (a − y) / (a(1 − a)), so
σ′ cancels and δᴸ = a − y.  L2 regularisation adds (λ/2n)·Σ‖W‖² to the cost, hence (λ/n)·W to
each ∂C/∂W and nothing to ∂C/∂b.

Nothing here uses tinygrad_bp: these functions are what the autodiff gradients are tested against,
and ``train_reference`` is the hand-written matrix-form training that the speed benchmark times
``Network.SGD`` against.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from .init import as_generator

__all__ = [
    "Gradients",
    "sigmoid",
    "sigmoid_prime",
    "feedforward_example",
    "backprop_example",
    "backprop_batch",
    "update_mini_batch",
    "train_reference",
]


class Gradients(NamedTuple):
    """Return-value bundle of a hand-derived backprop: per-layer δˡ, ∂C/∂bˡ and ∂C/∂Wˡ (index 0 = first layer).

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import backprop_example
    >>> g = backprop_example([np.zeros((2, 3))], [np.zeros((2, 1))], np.ones((3, 1)), np.zeros((2, 1)))
    >>> g.deltas[0].shape, g.nabla_b[0].shape, g.nabla_w[0].shape
    ((2, 1), (2, 1), (2, 3))
    """

    deltas: list[np.ndarray]
    nabla_b: list[np.ndarray]
    nabla_w: list[np.ndarray]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Return σ(z) = 1 / (1 + e⁻ᶻ); for z < −709 e⁻ᶻ overflows to inf and σ correctly becomes 0.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import sigmoid
    >>> sigmoid(np.array([0.0, -1000.0]))
    array([0.5, 0. ])
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """Return σ′(z) = σ(z)(1 − σ(z)).

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import sigmoid_prime
    >>> sigmoid_prime(np.array([0.0]))
    array([0.25])
    """
    s = sigmoid(z)
    return s * (1 - s)


def _is_cross_entropy(cost: Any) -> bool:
    name = cost if isinstance(cost, str) else getattr(cost, "name", getattr(cost, "__name__", None))
    if name in ("quadratic", "QuadraticCost"):
        return False
    if name in ("cross-entropy", "CrossEntropyCost"):
        return True
    raise ValueError(f"reference: unknown cost {cost!r}; expected 'quadratic' or 'cross-entropy'")


def _check_net(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], who: str) -> None:
    if len(weights) != len(biases) or not weights:
        raise ValueError(f"{who}: need as many weight matrices as bias vectors (at least one)")
    for l, (w, b) in enumerate(zip(weights, biases)):
        if w.ndim != 2 or b.shape != (w.shape[0], 1):
            raise ValueError(f"{who}: layer {l} has weights {w.shape} and biases {b.shape}; expected (out, in), (out, 1)")
        if l and w.shape[1] != weights[l - 1].shape[0]:
            raise ValueError(f"{who}: layer {l} weights {w.shape} do not follow layer {l - 1} weights {weights[l - 1].shape}")


# ============================================================================ per example, column vectors
def feedforward_example(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Return the output aᴸ for one column vector x (n_in, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import feedforward_example
    >>> feedforward_example([np.zeros((2, 3))], [np.zeros((2, 1))], np.ones((3, 1))).ravel()
    array([0.5, 0.5])
    """
    a = x
    for w, b in zip(weights, biases):
        a = sigmoid(w @ a + b)
    return a


def backprop_example(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    cost: Any = "quadratic",
    lmbda: float = 0.0,
    n: int = 1,
) -> Gradients:
    """Return δˡ, ∂C/∂bˡ and ∂C/∂Wˡ of one example's cost, in Nielsen's column shapes.

    Parameters
    ----------
    weights, biases : lists of ndarray
        Wˡ (out, in) and bˡ (out, 1).
    x, y : ndarray
        The input (n_in, 1) and the target (n_out, 1).
    cost : "quadratic" or "cross-entropy" (or a cost class with that ``name``)
    lmbda, n : float, int
        L2 strength λ and training-set size n: the cost gains (λ/2n)·Σ‖W‖².

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import backprop_example
    >>> g = backprop_example([np.zeros((1, 2))], [np.zeros((1, 1))], np.ones((2, 1)), np.ones((1, 1)))
    >>> g.deltas[0], g.nabla_w[0]
    (array([[-0.125]]), array([[-0.125, -0.125]]))
    """
    _check_net(weights, biases, "backprop_example")
    ce = _is_cross_entropy(cost)
    # forward: keep every zˡ and aˡ
    activations = [x]
    zs = []
    a = x
    for w, b in zip(weights, biases):
        z = w @ a + b
        a = sigmoid(z)
        zs.append(z)
        activations.append(a)
    # backward
    n_layers = len(weights)
    deltas: list[np.ndarray] = [np.empty(0)] * n_layers
    if ce:
        delta = a - y  # BP1, cross-entropy: ∇ₐC ⊙ σ′(zᴸ) = a − y
    else:
        delta = (a - y) * sigmoid_prime(zs[-1])  # BP1, quadratic
    deltas[-1] = delta
    for l in range(n_layers - 2, -1, -1):
        delta = (weights[l + 1].T @ delta) * sigmoid_prime(zs[l])  # BP2
        deltas[l] = delta
    nabla_b = [d.copy() for d in deltas]  # BP3
    nabla_w = [d @ activations[l].T for l, d in enumerate(deltas)]  # BP4
    if lmbda:
        nabla_w = [nw + (lmbda / n) * w for nw, w in zip(nabla_w, weights)]
    return Gradients(deltas, nabla_b, nabla_w)


# ============================================================================ matrix form, row batches
def backprop_batch(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    cost: Any = "quadratic",
    lmbda: float = 0.0,
    n: int = 1,
) -> Gradients:
    """Return δˡ, ∂C/∂bˡ and ∂C/∂Wˡ of the mean cost over a row batch, all examples at once.

    The batch is x (m, n_in), y (m, n_out); zˡ = aˡ⁻¹ (Wˡ)ᵀ + (bˡ)ᵀ row by row.  The cost is
    C = (1/m)·Σₓ Cₓ (+ (λ/2n)·Σ‖W‖²), so ``deltas[l]`` is (m, out) and holds ∂C/∂zˡ, which is each
    example's own δˡ divided by m; ``nabla_b`` and ``nabla_w`` are in Nielsen's shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import backprop_batch
    >>> g = backprop_batch([np.zeros((1, 2))], [np.zeros((1, 1))], np.ones((4, 2)), np.ones((4, 1)))
    >>> g.deltas[0].shape, g.nabla_b[0], g.nabla_w[0]
    ((4, 1), array([[-0.125]]), array([[-0.125, -0.125]]))
    """
    _check_net(weights, biases, "backprop_batch")
    ce = _is_cross_entropy(cost)
    m = x.shape[0]
    activations = [x]
    zs = []
    a = x
    for w, b in zip(weights, biases):
        z = a @ w.T + b.T
        a = sigmoid(z)
        zs.append(z)
        activations.append(a)
    n_layers = len(weights)
    deltas: list[np.ndarray] = [np.empty(0)] * n_layers
    if ce:
        delta = (a - y) / m  # BP1, cross-entropy, for the mean cost
    else:
        delta = (a - y) * sigmoid_prime(zs[-1]) / m  # BP1, quadratic, for the mean cost
    deltas[-1] = delta
    for l in range(n_layers - 2, -1, -1):
        delta = (delta @ weights[l + 1]) * sigmoid_prime(zs[l])  # BP2, in rows: δˡ⁺¹ Wˡ⁺¹ ⊙ σ′(zˡ)
        deltas[l] = delta
    nabla_b = [d.sum(axis=0).reshape(-1, 1) for d in deltas]  # BP3, summed over the batch's rows
    nabla_w = [d.T @ activations[l] for l, d in enumerate(deltas)]  # BP4, summed over the batch's rows
    if lmbda:
        nabla_w = [nw + (lmbda / n) * w for nw, w in zip(nabla_w, weights)]
    return Gradients(deltas, nabla_b, nabla_w)


def update_mini_batch(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    eta: float,
    cost: Any = "quadratic",
    lmbda: float = 0.0,
    n: int = 1,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return new (weights, biases) after network2's step w ← (1 − ηλ/n)·w − (η/m)·Σₓ∇wₓ, b ← b − (η/m)·Σₓ∇bₓ.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import update_mini_batch
    >>> w, b = update_mini_batch([np.zeros((1, 1))], [np.zeros((1, 1))], np.ones((2, 1)), np.ones((2, 1)), 8.0)
    >>> w[0], b[0]
    (array([[1.]]), array([[1.]]))
    """
    g = backprop_batch(weights, biases, x, y, cost)  # the mean gradient (1/m)·Σₓ∇ₓ, unregularised
    shrink = 1.0 - eta * lmbda / n
    new_w = [shrink * w - eta * nw for w, nw in zip(weights, g.nabla_w)]
    new_b = [b - eta * nb for b, nb in zip(biases, g.nabla_b)]
    return new_w, new_b


def _targets(y: np.ndarray, n_out: int, dtype: Any, who: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iu":
        if y.size and (y.min() < 0 or y.max() >= n_out):
            raise ValueError(f"{who}: labels must lie in [0, {n_out}), got range [{y.min()}, {y.max()}]")
        onehot = np.zeros((y.shape[0], n_out), dtype=dtype)
        onehot[np.arange(y.shape[0]), y] = 1
        return onehot
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(f"{who}: targets of shape {y.shape} do not fit {n_out} outputs; pass (N, {n_out}) or int labels (N,)")
    return np.asarray(y, dtype=dtype)


def _training_set(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], training_data: Any, mini_batch_size: int, who: str
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Return X, one-hot Y (both in the weights' dtype), n and m, checked against the network."""
    _check_net(weights, biases, who)
    dtype = weights[0].dtype
    X, Y = training_data
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2 or X.shape[1] != weights[0].shape[1]:
        raise ValueError(f"{who}: X of shape {X.shape} does not fit weights[0] of shape {weights[0].shape}")
    Y = _targets(Y, weights[-1].shape[0], dtype, who)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"{who}: X has {X.shape[0]} rows but Y has {Y.shape[0]}")
    m = int(mini_batch_size)
    if m < 1:
        raise ValueError(f"{who}: mini_batch_size must be at least 1, got {mini_batch_size}")
    return X, Y, X.shape[0], m


def train_reference(
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    training_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    mini_batch_size: int,
    eta: float,
    lmbda: float = 0.0,
    cost: Any = "quadratic",
    rng: Any = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return (weights, biases) after mini-batch SGD by hand-written matrix-form backprop, updated in place.

    This is the same training as ``Network.SGD`` on ``training_data=(X, Y)``: each epoch draws
    ``rng.permutation(N)`` and takes the mini-batches in that order (the last one may be short),
    stepping by η/len(mini_batch).  Give it a copy of the network's initial parameters and a
    Generator in the network's state (``copy.deepcopy(net.rng)``) and it follows the same path.
    σ′(zˡ) is taken as aˡ(1 − aˡ) from the stored activations, and δᴸ is scaled by η/m once,
    since everything downstream of it is linear in δ.

    Parameters
    ----------
    weights, biases : lists of ndarray
        Wˡ (out, in) and bˡ (out, 1); modified in place.  Their dtype sets the computation's dtype.
    training_data : (X, Y)
        X (N, n_in), and Y (N, n_out) targets or int labels (N,).
    epochs, mini_batch_size, eta, lmbda : numbers
        As in ``Network.SGD``; L2 uses n = N.
    cost : "quadratic" or "cross-entropy"
    rng : int, numpy Generator or None
        The source of the shuffles.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import train_reference
    >>> X, labels = np.eye(2), np.array([0, 1])
    >>> w, b = [np.zeros((2, 2))], [np.zeros((2, 1))]
    >>> w, b = train_reference(w, b, (X, labels), epochs=50, mini_batch_size=1, eta=3.0, rng=0)
    >>> np.argmax(X @ w[0].T + b[0].T, axis=1).tolist()
    [0, 1]
    """
    X, Y, n, m = _training_set(weights, biases, training_data, mini_batch_size, "train_reference")
    ce = _is_cross_entropy(cost)
    g = as_generator(rng)
    shrink = 1.0 - eta * lmbda / n
    wts = [w.T for w in weights]  # (in, out) views: the row-form forward reads a @ Wᵀ
    b_rows = [b.reshape(-1) for b in biases]
    if any(not np.shares_memory(br, b) for br, b in zip(b_rows, biases)):
        raise ValueError("train_reference: biases must be contiguous arrays, so they can be updated in place")
    n_layers = len(weights)
    with np.errstate(over="ignore"):  # σ(z) for z < −709: e⁻ᶻ = inf gives exactly 0
        for _ in range(int(epochs)):
            order = g.permutation(n)
            for k in range(0, n, m):
                idx = order[k : k + m]
                a = X[idx]
                y = Y[idx]
                activations = [a]
                for wt, b in zip(wts, b_rows):
                    a = 1.0 / (1.0 + np.exp(-(a @ wt + b)))
                    activations.append(a)
                scale = eta / len(idx)
                if ce:
                    delta = (a - y) * scale  # BP1 (cross-entropy), times η/m
                else:
                    delta = (a - y) * (a * (1 - a)) * scale  # BP1 (quadratic), times η/m
                for l in range(n_layers - 1, -1, -1):
                    a_prev = activations[l]
                    eta_nabla_w = delta.T @ a_prev  # BP4, summed over the rows
                    eta_nabla_b = delta.sum(axis=0)  # BP3, summed over the rows
                    if l:
                        delta = (delta @ weights[l]) * (a_prev * (1 - a_prev))  # BP2, before Wˡ changes
                    w = weights[l]
                    if shrink != 1.0:
                        w *= shrink
                    w -= eta_nabla_w
                    b_rows[l] -= eta_nabla_b
    return weights, biases


def train_matrix_form(
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    training_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    mini_batch_size: int,
    eta: float,
    lmbda: float = 0.0,
    cost: Any = "quadratic",
    rng: Any = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return (weights, biases) after mini-batch SGD that calls the matrix-form oracle once per mini-batch.

    This is network.py's algorithm with its per-example loop replaced by :func:`backprop_batch`
    (:func:`update_mini_batch` per mini-batch), shuffled exactly as ``Network.SGD`` and
    :func:`train_reference` shuffle.  :func:`train_reference` is the same training hand-tuned for
    speed; the benchmark times both.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.reference import train_matrix_form
    >>> X, labels = np.eye(2), np.array([0, 1])
    >>> w, b = train_matrix_form([np.zeros((2, 2))], [np.zeros((2, 1))], (X, labels), 50, 1, 3.0, rng=0)
    >>> np.argmax(X @ w[0].T + b[0].T, axis=1).tolist()
    [0, 1]
    """
    X, Y, n, m = _training_set(weights, biases, training_data, mini_batch_size, "train_matrix_form")
    g = as_generator(rng)
    for _ in range(int(epochs)):
        order = g.permutation(n)
        for k in range(0, n, m):
            idx = order[k : k + m]
            weights, biases = update_mini_batch(weights, biases, X[idx], Y[idx], eta, cost, lmbda, n)
    return weights, biases

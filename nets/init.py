"""Weight initialisation: Nielsen's two schemes, drawn from a seeded ``numpy.random.Generator``.

- ``"large"``: weights and biases N(0, 1), as in network.py.
- ``"default"``: weights N(0, 1/n_in), biases N(0, 1), network2's default initializer.  Scaling by
  1/sqrt(n_in) keeps z = w·a + b from saturating the sigmoid when a layer has many inputs.
- ``"zeros"``: all zero, for layers whose values are about to be overwritten.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .checks import layer_sizes

__all__ = ["INITS", "as_generator", "init_params", "init_linear"]

INITS = ("large", "default", "zeros")


def as_generator(rng: Any = None) -> np.random.Generator:
    """Return a ``numpy.random.Generator``: ``rng`` itself, or a new one seeded with ``rng`` (None: fresh entropy).

    Examples
    --------
    >>> from nets.init import as_generator
    >>> float(as_generator(0).standard_normal()) == float(as_generator(0).standard_normal())
    True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"as_generator: expected None, an int seed or a numpy Generator, got {type(rng).__name__}")


def _check_init(init: str, who: str) -> None:
    if init not in INITS:
        raise ValueError(f"{who}: init must be one of {INITS}, got {init!r}")


def init_params(
    sizes: Sequence[int], init: str = "large", rng: Any = None, dtype: Any = np.float64
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return ``(weights, biases)`` in Nielsen's shapes, weights[l] (out, in) and biases[l] (out, 1).

    The draws follow network.py's order, all biases and then all weights, each in Nielsen's shape,
    so a Generator in a given state always yields the same network whatever the dtype (values are
    drawn in float64, then cast).

    Examples
    --------
    >>> from nets.init import init_params
    >>> w, b = init_params([3, 4, 2], "default", rng=0)
    >>> [x.shape for x in w], [x.shape for x in b]
    ([(4, 3), (2, 4)], [(4, 1), (2, 1)])
    """
    _check_init(init, "init_params")
    sizes = layer_sizes(sizes, "init_params")
    g = as_generator(rng)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    if init == "zeros":
        biases = [np.zeros((n_out, 1)) for _, n_out in pairs]
        weights = [np.zeros((n_out, n_in)) for n_in, n_out in pairs]
    else:
        biases = [g.standard_normal((n_out, 1)) for _, n_out in pairs]
        weights = [g.standard_normal((n_out, n_in)) for n_in, n_out in pairs]
        if init == "default":
            weights = [w / np.sqrt(n_in) for w, (n_in, _) in zip(weights, pairs)]
    dt = np.dtype(dtype)
    return [w.astype(dt, copy=False) for w in weights], [b.astype(dt, copy=False) for b in biases]


def init_linear(
    n_in: int, n_out: int, init: str = "default", rng: Any = None, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(w, b)`` for one row-form linear layer: w (n_in, n_out), b (n_out,).

    The values are those ``init_params([n_in, n_out], init, rng)`` draws, rearranged.

    Examples
    --------
    >>> from nets.init import init_linear
    >>> w, b = init_linear(3, 2, "large", rng=0)
    >>> w.shape, b.shape
    ((3, 2), (2,))
    """
    _check_init(init, "init_linear")
    (w,), (b,) = init_params([n_in, n_out], init, rng, dtype)
    # w keeps network.py's (out, in) memory order, seen as its (in, out) transpose: BLAS computes
    # x @ w and the gradient (δᵀ x)ᵀ markedly faster in that layout than with a C-ordered (in, out) w.
    return np.ascontiguousarray(w).T, b.reshape(n_out)

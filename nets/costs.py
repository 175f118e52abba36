"""Cost functions in network2's style: ``fn(a, y)`` on Tensors for autodiff, and the hand-derived
``delta(z, a, y)`` (BP1's output error) on ndarrays, kept for comparison with autodiff.

Both costs sum over the outputs and average over the rows of a batch, so for a batch of m rows
autodiff's ∂C/∂zᴸ is ``delta(z, a, y) / m`` row by row.  ``delta`` assumes a sigmoid output layer,
as Nielsen's costs do.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_bp import Tensor
from tinygrad_bp.ops import QuadraticCost as QuadraticCostOp

from .checks import numbers

__all__ = ["QuadraticCost", "CrossEntropyCost", "COSTS", "get_cost"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def _as_tensor(v: Any, who: str, dtype: Any = None) -> Tensor:
    if isinstance(v, Tensor):
        return v
    try:
        return Tensor(v, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{who}: {e}") from None


def _target(y: Any, a: Tensor, who: str) -> Tensor:
    return _as_tensor(y, who, a.data.dtype)


def _delta_args(who: str, z: Any, a: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return z, a, y as float arrays of one shape, or raise naming ``who``: delta is plain numpy, unchecked otherwise."""
    out = []
    for name, v in (("z", z), ("a", a), ("y", y)):
        arr = numbers(v, who, name)
        out.append(arr if arr.dtype.kind == "f" else arr.astype(np.float64))
    if not out[0].shape == out[1].shape == out[2].shape:
        raise ValueError(f"{who}: z, a and y must have one shape, got {out[0].shape}, {out[1].shape} and {out[2].shape}")
    return out[0], out[1], out[2]


class QuadraticCost:
    """Return the quadratic cost C = ½‖a − y‖² per example, as a network2-style cost class (``fn``, ``delta``).

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets import QuadraticCost
    >>> QuadraticCost.fn(Tensor([[1.0, 0.0]]), Tensor([[0.0, 0.0]])).item()
    0.5
    >>> QuadraticCost.delta(np.zeros((2, 1)), np.full((2, 1), 0.5), np.zeros((2, 1))).ravel()
    array([0.125, 0.125])
    """

    name = "QuadraticCost"
    output = None
    """The output activation the cost needs: None, any (Nielsen uses it with sigmoid outputs)."""

    @staticmethod
    def fn(a: Tensor, y: Any) -> Tensor:
        """Return ½‖a − y‖² summed over the outputs and averaged over the rows, as one graph node.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets import QuadraticCost
        >>> QuadraticCost.fn(Tensor([[1.0], [3.0]]), Tensor([[0.0], [0.0]])).item()
        2.5
        """
        if a.__class__ is not Tensor:
            a = _as_tensor(a, "QuadraticCost.fn")
        return QuadraticCostOp.apply(a, y if y.__class__ is Tensor else _target(y, a, "QuadraticCost.fn"))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return BP1's output error for one example (or each row): δᴸ = (a − y) ⊙ σ′(zᴸ).

        Examples
        --------
        >>> import numpy as np
        >>> from nets import QuadraticCost
        >>> float(QuadraticCost.delta(np.array([0.0]), np.array([0.5]), np.array([1.0]))[0])
        -0.125
        """
        z, a, y = _delta_args("QuadraticCost.delta", z, a, y)
        s = _sigmoid(z)
        return (a - y) * (s * (1 - s))  # BP1


class CrossEntropyCost:
    """Return network2's binary cross-entropy −Σⱼ [yⱼ ln aⱼ + (1 − yⱼ) ln(1 − aⱼ)] as a cost class.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets import CrossEntropyCost
    >>> round(CrossEntropyCost.fn(Tensor([[0.5]]), Tensor([[1.0]])).item(), 6)
    0.693147
    >>> CrossEntropyCost.delta(np.zeros((1, 1)), np.full((1, 1), 0.25), np.ones((1, 1)))
    array([[-0.75]])
    """

    name = "CrossEntropyCost"
    output = "sigmoid"
    """The output activation the cost needs: it takes ln a and ln(1 − a), so a must lie in (0, 1)."""

    @staticmethod
    def fn(a: Tensor, y: Any) -> Tensor:
        """Return the binary cross-entropy summed over the outputs and averaged over the rows.

        A term whose target makes it vanish stays exactly 0 with a zero gradient even when a
        saturated sigmoid gives a = 0 or a = 1: where y = 0 the y·ln a term is computed as
        0·ln(a + 1), and where y = 1 the (1 − y)·ln(1 − a) term as 0·ln(2 − a).  Elsewhere the
        added mask is 0.0, so the value is unchanged.  (network2 instead turns nan into 0.)

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets import CrossEntropyCost
        >>> CrossEntropyCost.fn(Tensor([[0.0, 1.0]]), Tensor([[0.0, 1.0]])).item() == 0
        True
        """
        a = _as_tensor(a, "CrossEntropyCost.fn")
        if a.data.dtype.kind != "f":
            raise TypeError(f"CrossEntropyCost.fn: a must be float activations in [0, 1], got dtype {a.data.dtype}")
        y = _target(y, a, "CrossEntropyCost.fn")
        if y.data.dtype.kind != "f":  # int or bool targets (never differentiated) as numbers of a's dtype
            y = Tensor(y.data.astype(a.data.dtype))
        if a.data.shape != y.data.shape:  # broadcasting a against y would average the wrong terms, silently
            raise ValueError(f"CrossEntropyCost.fn: a has shape {a.data.shape} but y has shape {y.data.shape}")
        dt = a.data.dtype
        off0 = Tensor((y.data == 0).astype(dt))
        off1 = Tensor((y.data == 1).astype(dt))
        per_entry = y * (a + off0).log() + (1 - y) * ((1 - a) + off1).log()
        m = a.data.shape[0] if a.data.ndim > 1 else 1
        if m == 0:
            raise ValueError(f"CrossEntropyCost.fn: a batch of 0 rows (shape {a.data.shape}) has no mean cost")
        return per_entry.sum() * (-1.0 / m)

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return BP1's output error for one example (or each row): δᴸ = a − y (σ′ cancels).

        Examples
        --------
        >>> import numpy as np
        >>> from nets import CrossEntropyCost
        >>> CrossEntropyCost.delta(np.zeros(2), np.array([0.2, 0.9]), np.array([0.0, 1.0]))
        array([ 0.2, -0.1])
        """
        z, a, y = _delta_args("CrossEntropyCost.delta", z, a, y)
        return a - y  # BP1


COSTS: dict[str, type] = {
    "QuadraticCost": QuadraticCost,
    "CrossEntropyCost": CrossEntropyCost,
    "quadratic": QuadraticCost,
    "cross-entropy": CrossEntropyCost,
}
"""The allow-list of costs by name: network2's class names (as saved in JSON) and the command-line names."""


def get_cost(cost: Any) -> Any:
    """Return the cost class for ``cost``: a name from ``COSTS``, or a cost object with ``fn`` and ``delta``.

    Examples
    --------
    >>> from nets.costs import get_cost
    >>> get_cost("cross-entropy").name
    'CrossEntropyCost'
    """
    if isinstance(cost, str):
        try:
            return COSTS[cost]
        except KeyError:
            raise ValueError(f"get_cost: unknown cost {cost!r}; expected one of {sorted(COSTS)}") from None
    if not (callable(getattr(cost, "fn", None)) and callable(getattr(cost, "delta", None))):
        raise TypeError(f"get_cost: {cost!r} is not a cost (it needs fn(a, y) and delta(z, a, y))")
    return cost


def cost_name(cost: Any) -> str:
    """Return the name a model file stores for ``cost``: its ``name`` attribute or class name, as network2 does.

    Examples
    --------
    >>> from nets.costs import CrossEntropyCost, cost_name
    >>> cost_name(CrossEntropyCost)
    'CrossEntropyCost'
    """
    return str(getattr(cost, "name", None) or getattr(cost, "__name__", None) or type(cost).__name__)

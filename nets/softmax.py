"""The softmax output layer and the log-likelihood cost, computed from the logits so it never overflows."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_bp import Tensor

from .costs import _as_tensor, _delta_args
from .module import Module

__all__ = ["Softmax", "LogLikelihoodCost"]


class Softmax(Module):
    """A layer returning softmax(z) along the last axis, computed as exp(log_softmax(z)) (no overflow).

    Train it with ``LogLikelihoodCost.fn_logits`` on the logits z rather than the log of this output.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets.softmax import Softmax
    >>> Softmax()(Tensor([[1000.0, 1000.0]])).numpy()
    array([[0.5, 0.5]])
    """

    def forward(self, z: Tensor) -> Tensor:
        """Return the probabilities exp(zⱼ) / Σₖ exp(zₖ) of each row.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets.softmax import Softmax
        >>> Softmax().forward(Tensor([[0.0, 0.0, 0.0, 0.0]])).numpy()
        array([[0.25, 0.25, 0.25, 0.25]])
        """
        z = z if isinstance(z, Tensor) else Tensor(z)
        return z.log_softmax(axis=-1).exp()


def _targets(y: Any, z: Tensor, who: str) -> Tensor:
    """Return y as a one-hot (or soft) target Tensor of z's shape and dtype; int labels (N,) are one-hot encoded."""
    arr = np.asarray(y.data if isinstance(y, Tensor) else y)
    if arr.dtype.kind in "iu" and arr.ndim == z.ndim - 1:
        k = z.shape[-1]
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            raise ValueError(f"{who}: labels must be in [0, {k}), got values from {arr.min()} to {arr.max()}")
        arr = np.eye(k, dtype=z.dtype)[arr]
    elif arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: y must hold numbers, got dtype {arr.dtype}")
    if arr.shape != z.shape:
        raise ValueError(f"{who}: z has shape {z.shape} but y has shape {arr.shape} (expected one-hot rows or int labels)")
    return Tensor(arr.astype(z.dtype, copy=False))


class LogLikelihoodCost:
    """The log-likelihood cost −ln a_y of a softmax output, averaged over the rows (network3's SoftmaxLayer cost).

    ``fn_logits(z, y)`` takes the logits and is the one to train with: ∂C/∂z = (softmax(z) − y)/m,
    exact and finite for any z.  ``fn(a, y)`` takes probabilities, for a network that holds them.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.softmax import LogLikelihoodCost
    >>> round(LogLikelihoodCost.fn_logits(Tensor([[0.0, 0.0]]), np.array([1])).item(), 6)
    0.693147
    >>> LogLikelihoodCost.fn_logits(Tensor([[1000.0, -1000.0]]), np.array([1])).item()
    2000.0
    """

    name = "LogLikelihoodCost"
    output = "softmax"
    """The output activation the cost needs."""

    @staticmethod
    def fn_logits(z: Tensor, y: Any) -> Tensor:
        """Return −(1/m) Σ_rows Σⱼ yⱼ · log_softmax(z)ⱼ, for logits z (m, K) and one-hot rows or int labels y.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets.softmax import LogLikelihoodCost
        >>> z = Tensor([[2.0, 0.0]], requires_grad=True)
        >>> LogLikelihoodCost.fn_logits(z, [[1.0, 0.0]]).backward()
        >>> z.grad.round(4)     # softmax(z) − y
        array([[-0.1192,  0.1192]])
        """
        z = _as_tensor(z, "LogLikelihoodCost.fn_logits")
        if z.ndim != 2 or z.shape[0] == 0:
            raise ValueError(f"LogLikelihoodCost.fn_logits: z must be logits of shape (m, K) with m ≥ 1, got {z.shape}")
        y = _targets(y, z, "LogLikelihoodCost.fn_logits")
        return (y * z.log_softmax(axis=-1)).sum() * (-1.0 / z.shape[0])

    @staticmethod
    def fn(a: Tensor, y: Any) -> Tensor:
        """Return −(1/m) Σ_rows Σⱼ yⱼ ln aⱼ for probabilities a (m, K); a zero target term stays 0 at a = 0.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets.softmax import LogLikelihoodCost
        >>> round(LogLikelihoodCost.fn(Tensor([[0.5, 0.5]]), [[1.0, 0.0]]).item(), 6)
        0.693147
        """
        a = _as_tensor(a, "LogLikelihoodCost.fn")
        if a.ndim != 2 or a.shape[0] == 0:
            raise ValueError(f"LogLikelihoodCost.fn: a must be probabilities of shape (m, K) with m ≥ 1, got {a.shape}")
        y = _targets(y, a, "LogLikelihoodCost.fn")
        off = Tensor((y.data == 0).astype(a.dtype))  # ln(a + 1) where y = 0: the term is 0·finite, not 0·(−inf)
        return (y * (a + off).log()).sum() * (-1.0 / a.shape[0])

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return BP1's output error for a softmax output: δᴸ = a − y.

        Examples
        --------
        >>> import numpy as np
        >>> from nets.softmax import LogLikelihoodCost
        >>> LogLikelihoodCost.delta(np.zeros(2), np.array([0.3, 0.7]), np.array([0.0, 1.0]))
        array([ 0.3, -0.3])
        """
        z, a, y = _delta_args("LogLikelihoodCost.delta", z, a, y)
        return a - y  # BP1

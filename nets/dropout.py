"""`Dropout`: inverted dropout, deterministic under a seed and the identity in evaluation mode."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_bp import Tensor

from .init import as_generator
from .module import Module

__all__ = ["Dropout", "dropout"]


def _probability(p: Any, who: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0.0 <= float(p) < 1.0:
        raise ValueError(f"{who}: p must be a probability in [0, 1), got {p!r}")
    return float(p)


def dropout(x: Tensor, p: float, rng: Any = None) -> Tensor:
    """Return x with each entry zeroed with probability p and the survivors scaled by 1/(1 − p).

    Composed from ``*`` with a constant mask, so its gradient is the same mask times ``grad_out``.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.dropout import dropout
    >>> out = dropout(Tensor(np.ones((2, 4))), 0.5, rng=0).numpy()
    >>> sorted(set(out.ravel().tolist()))
    [0.0, 2.0]
    """
    p = _probability(p, "dropout")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if p == 0.0:
        return x
    keep = as_generator(rng).random(x.shape) >= p
    return x * Tensor((keep / (1.0 - p)).astype(x.dtype))


class Dropout(Module):
    """A layer that drops each input with probability ``p`` while training, scaling survivors by 1/(1 − p).

    In evaluation mode (``eval()``) it is the identity, so no rescaling is needed at test time
    (network3 instead scales the weights by 1 − p at test time; the two agree in expectation).

    Parameters
    ----------
    p : float in [0, 1)
    rng : int, numpy Generator or None
        The source of the masks: the same seed gives the same masks in the same order.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.dropout import Dropout
    >>> layer = Dropout(0.5, rng=0)
    >>> float(layer(Tensor(np.ones(1000))).numpy().mean()) > 0.8
    True
    >>> layer.eval()(Tensor(np.ones(3))).numpy()
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        self.p = _probability(p, "Dropout")
        self._rng = as_generator(rng)

    def forward(self, x: Tensor) -> Tensor:
        """Return dropout(x) in training mode and x itself in evaluation mode.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.dropout import Dropout
        >>> Dropout(0.0)(Tensor([1.0, 2.0])).numpy()
        array([1., 2.])
        """
        if not self.training or self.p == 0.0:
            return x if isinstance(x, Tensor) else Tensor(x)
        return dropout(x, self.p, self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"

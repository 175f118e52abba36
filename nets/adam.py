"""Adam, with PyTorch's defaults and update rule (``torch.optim.Adam``, L2 weight decay added to the gradient)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from tinygrad_bp import Tensor

from .optim import _as_array

__all__ = ["Adam"]


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Adam: {name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not (low <= v < high) or v != v:
        raise ValueError(f"Adam: {name} must be in [{low}, {high}), got {value}")
    return v


class Adam:
    """An optimizer taking Adam steps on parameters in place, from their ``.grad``, as ``torch.optim.Adam`` does.

    At step t, for each parameter w with gradient g (plus ``weight_decay``·w when decay is on):
    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  w ← w − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε).

    Parameters
    ----------
    params : iterable of Tensor
    lr : float
        PyTorch's default 1e-3.
    betas : (float, float)
        (0.9, 0.999).
    eps : float
        1e-8, added to √v̂ (outside the square root, as PyTorch).
    weight_decay : float
        L2 strength λ' added to the gradient of every parameter (PyTorch applies it to all, biases too).

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.adam import Adam
    >>> w = Tensor(np.array([1.0]), requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = np.array([5.0])
    >>> opt.step()
    >>> w.data.round(6)     # the first step moves by lr whatever the gradient's size
    array([0.9])
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or p.data.dtype.kind != "f":
                raise TypeError(f"Adam: parameter {i} must be a float Tensor, got {type(p).__name__}")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("Adam: a parameter appears more than once in params")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair of numbers, got {betas!r}")
        self.lr = _number(lr, "lr", 0.0, float("inf"))
        self.betas = (_number(betas[0], "betas[0]", 0.0, 1.0), _number(betas[1], "betas[1]", 0.0, 1.0))
        self.eps = _number(eps, "eps", 0.0, float("inf"))
        self.weight_decay = _number(weight_decay, "weight_decay", 0.0, float("inf"))
        self._m: list[np.ndarray | None] = [None] * len(self.params)
        self._v: list[np.ndarray | None] = [None] * len(self.params)
        self._t = [0] * len(self.params)  # per parameter, as PyTorch keeps a step count in each one's state

    def step(self) -> None:
        """Return nothing; take one Adam step for every parameter that has a gradient.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.adam import Adam
        >>> x = Tensor([3.0], requires_grad=True)
        >>> opt = Adam([x], lr=0.5)
        >>> for _ in range(100):
        ...     opt.zero_grad(); (x * x).sum().backward(); opt.step()
        >>> abs(float(x.data[0])) < 0.1
        True
        """
        b1, b2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = _as_array(p.grad)
            w = p.data
            if g.shape != w.shape:
                raise ValueError(f"Adam: parameter {i} has shape {w.shape} but its .grad has shape {g.shape}")
            if self.weight_decay:
                g = g + self.weight_decay * w
            if self._m[i] is None:
                self._m[i], self._v[i] = np.zeros_like(w), np.zeros_like(w)
            m, v = self._m[i], self._v[i]
            self._t[i] += 1
            t = self._t[i]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            step = self.lr / (1.0 - b1**t)
            denom = np.sqrt(v / (1.0 - b2**t)) + self.eps
            w -= (step * m / denom).astype(w.dtype, copy=False)

    def zero_grad(self) -> None:
        """Return nothing; set every parameter's ``.grad`` to None.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.adam import Adam
        >>> x = Tensor([1.0], requires_grad=True)
        >>> x.grad = np.ones(1)
        >>> Adam([x]).zero_grad()
        >>> x.grad is None
        True
        """
        for p in self.params:
            p.grad = None

    def __repr__(self) -> str:
        return f"Adam({len(self.params)} parameters, lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"

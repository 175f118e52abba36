"""Stochastic gradient descent, with Nielsen's L2 and L1 regularisation and momentum."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from tinygrad_bp import Tensor

from .checks import number

__all__ = ["SGD"]


def _number(value: Any, name: str, low: float = 0.0, high: float = float("inf")) -> float:
    return number(value, "SGD", name, low, high)


class SGD:
    """Return an optimizer that updates parameters in place from their ``.grad``.

    With learning rate η = ``lr``, weight decay λ' = ``weight_decay``, L1 strength κ = ``l1`` and
    momentum μ, each decayed parameter w (gradient g) is updated as

    - μ = 0, κ = 0:  w ← (1 − η·λ')·w − η·g, which is network2's L2 update
      w ← (1 − ηλ/n)·w − (η/m)·Σₓ∇wₓ when λ' = λ/n and g is the batch-mean gradient;
    - otherwise: g' = g + λ'·w + κ·sgn(w); v ← μ·v − η·g'; w ← w + v
      (Nielsen's momentum, and his L1 update w ← w − (ηκ)·sgn(w) − η·g when μ = 0).

    Parameters that are not decayed (biases, by default) take g' = g.

    Parameters
    ----------
    params : iterable of Tensor
        The tensors to update, e.g. ``model.parameters()``.
    lr : float
        The learning rate η; it may be changed between steps through ``opt.lr``.
    momentum, weight_decay, l1 : float
        μ in [0, 1), λ' ≥ 0, κ ≥ 0.  In Nielsen's notation λ' = λ/n for L2 and κ = λ/n for L1.
    decay_mask : None, callable or sequence of bool
        Which parameters weight decay and L1 apply to.  None: those with two or more dimensions
        (weight matrices), not the 1-D biases, as network2 does.  A callable is asked once per
        parameter; a sequence gives one flag per parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets import SGD
    >>> w = Tensor(np.ones((1, 1)), requires_grad=True)
    >>> b = Tensor(np.ones(1), requires_grad=True)
    >>> opt = SGD([w, b], lr=0.5, weight_decay=0.5)
    >>> w.grad, b.grad = np.ones((1, 1)), np.ones(1)
    >>> opt.step()
    >>> float(w.data[0, 0]), float(b.data[0])   # (1 - 0.25)*1 - 0.5 and 1 - 0.5
    (0.25, 0.5)
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        decay_mask: Callable[[Tensor], bool] | Sequence[bool] | None = None,
    ) -> None:
        if isinstance(params, Tensor) or not hasattr(params, "__iter__"):
            raise TypeError(
                f"SGD: params must be an iterable of Tensors (e.g. model.parameters()), got {type(params).__name__}"
            )
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"SGD: parameter {i} is a {type(p).__name__}, not a Tensor")
            if p.data.dtype.kind != "f":
                raise TypeError(f"SGD: parameter {i} has dtype {p.data.dtype}; parameters must be float")
        ids = [id(p) for p in self.params]
        if len(set(ids)) != len(ids):
            raise ValueError("SGD: a parameter appears more than once in params")
        self.lr = _number(lr, "lr")
        self.momentum = _number(momentum, "momentum", 0.0, 1.0)
        self.weight_decay = _number(weight_decay, "weight_decay")
        self.l1 = _number(l1, "l1")
        if decay_mask is None:
            flags = [p.data.ndim >= 2 for p in self.params]
        elif callable(decay_mask):
            flags = [bool(decay_mask(p)) for p in self.params]
        else:
            flags = [bool(f) for f in decay_mask]
            if len(flags) != len(self.params):
                raise ValueError(f"SGD: decay_mask has {len(flags)} flags for {len(self.params)} parameters")
        self.decay = flags
        self._pairs = list(zip(self.params, flags))
        self._velocity: list[np.ndarray | None] = [None] * len(self.params)
        # One scratch array per parameter for η·g, so the hot step allocates nothing and .grad stays ∂C/∂p.
        self._hot = [(p, flag, np.empty_like(p.data)) for p, flag in self._pairs]

    def step(self) -> None:
        """Return nothing; update every parameter that has a gradient, in place.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets import SGD
        >>> x = Tensor([3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> SGD([x], lr=0.25).step()
        >>> x.data
        array([1.5])
        """
        try:
            self._update()
        except (ValueError, TypeError) as e:  # only a .grad set by hand can fail: say which parameter
            raise _bad_grad(self.params, e) from None

    def _update(self) -> None:
        lr = self.lr
        if self.momentum == 0.0 and self.l1 == 0.0:
            # The training hot path: at most three in-place ufunc calls per parameter, no allocation.
            shrink = 1.0 - lr * self.weight_decay
            for p, decay, buf in self._hot:
                g = p.grad
                if g is None:
                    continue
                if g.__class__ is not np.ndarray:
                    g = _as_array(g)
                w = p.data
                if decay and shrink != 1.0:
                    w *= shrink
                if lr == 1.0:
                    w -= g
                else:
                    w -= np.multiply(g, lr, buf)  # a wrongly shaped .grad fails here, as w -= lr * g would
            return
        mu, wd, l1 = self.momentum, self.weight_decay, self.l1
        for i, (p, decay) in enumerate(self._pairs):
            g = p.grad
            if g is None:
                continue
            if g.__class__ is not np.ndarray:
                g = _as_array(g)
            w = p.data
            if decay:
                if wd:
                    g = g + wd * w
                if l1:
                    g = g + l1 * np.sign(w)
            if mu:
                v = self._velocity[i]
                if v is None:
                    v = self._velocity[i] = np.zeros_like(w)
                v *= mu
                v -= lr * g
                w += v
            else:
                w -= lr * g

    def zero_grad(self) -> None:
        """Return nothing; set every parameter's ``.grad`` to None.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets import SGD
        >>> x = Tensor([1.0], requires_grad=True)
        >>> x.grad = np.ones(1)
        >>> SGD([x], lr=0.1).zero_grad()
        >>> x.grad is None
        True
        """
        for p in self.params:
            p.grad = None

    def __repr__(self) -> str:
        return (
            f"SGD({len(self.params)} parameters, lr={self.lr}, momentum={self.momentum}, "
            f"weight_decay={self.weight_decay}, l1={self.l1})"
        )


def _bad_grad(params: list[Tensor], error: Exception) -> Exception:
    for i, p in enumerate(params):
        g = p.grad
        if g is None:
            continue
        try:
            arr = np.asarray(g.data if isinstance(g, Tensor) else g)
        except ValueError:
            return ValueError(f"SGD: parameter {i}'s .grad is not an array of numbers")
        if arr.shape != p.data.shape or arr.dtype.kind not in "biuf":
            return ValueError(
                f"SGD: parameter {i} has shape {p.data.shape} but its .grad has shape {arr.shape} and dtype {arr.dtype}"
            )
    return (TypeError if isinstance(error, TypeError) else ValueError)(f"SGD: the update failed: {error}")


def _as_array(g: Any) -> np.ndarray:
    # A gradient left by backward(create_graph=True) is a Tensor; the update uses its value.
    return g.data if isinstance(g, Tensor) else np.asarray(g)

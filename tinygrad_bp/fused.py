"""Fused ops for the MLP: z = x @ w + b and the quadratic cost, each one node instead of several.

At mini-batch 10 the engine's per-node Python work costs as much as the numpy work, so the layers an
MLP repeats every step are single primitives whose backwards are the hand-derived BP lines.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .function import Function, _lift
from .tensor import Tensor

__all__ = ["Linear", "QuadraticCost", "linear", "quadratic_cost"]


class Linear(Function):
    """z = x @ w + b in one node (like addmm): x (..., n_in), w (n_in, n_out), b (n_out,)."""

    __slots__ = ()

    def forward(ctx, x, w, b=None):
        if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[0]:
            raise ValueError(f"linear: x of shape {x.shape} does not fit w of shape {w.shape}")
        if b is not None and b.shape != (w.shape[1],):
            raise ValueError(f"linear: b of shape {b.shape} does not fit w of shape {w.shape}")
        ctx.saved = (x, w)
        z = x @ w
        if b is None:
            return z
        if b.dtype == z.dtype:
            z += b  # z is our own fresh buffer
            return z
        return z + b

    def backward(ctx, delta):
        x, w = ctx.saved
        need = ctx.needs_input_grad
        gx = delta @ w.T if need[0] else None  # BP2, before its ⊙ σ′(z): δˡ⁺¹ Wˡ⁺¹ᵀ
        if x.ndim != 2:
            x = x.reshape((-1, x.shape[-1]))
            delta = delta.reshape((-1, delta.shape[-1]))
        if not need[1]:
            gw = None
        elif w.__class__ is np.ndarray and w.flags.f_contiguous:  # match w's memory order (a Tensor, under create_graph, has none)
            gw = (delta.T @ x).T  # BP4: ∂C/∂W = aᵀ δ
        else:
            gw = x.T @ delta  # BP4: ∂C/∂W = aᵀ δ
        if len(need) == 2:
            return gx, gw
        return gx, gw, (delta.sum(axis=0) if need[2] else None)  # BP3: ∂C/∂b = δ summed over the batch


def linear(x: Any, w: Any, b: Any = None) -> Tensor:
    """Return ``x @ w + b`` as one graph node (row batches: x (N, n_in), w (n_in, n_out), b (n_out,)).

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, linear
    >>> linear(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4))), Tensor(np.zeros(4))).shape
    (2, 4)
    """
    return Linear.apply(x, w) if b is None else Linear.apply(x, w, b)


class QuadraticCost(Function):
    """C = ½‖a − y‖² summed over outputs and averaged over the batch (rows), in one node."""

    __slots__ = ()

    def forward(ctx, a, y):
        if a.shape != y.shape:
            raise ValueError(f"quadratic_cost: a has shape {a.shape} but y has shape {y.shape}")
        n = a.shape[0] if a.ndim > 1 else 1
        if n == 0:
            raise ValueError(f"quadratic_cost: a batch of 0 rows (shape {a.shape}) has no mean cost")
        d = a - y
        ctx.saved = (a, y, d)
        return np.asarray(0.5 * np.vdot(d, d) / n)  # an array already: the engine need not convert it

    def backward(ctx, grad_out):
        a, y, d = ctx.saved
        n = a.shape[0] if a.ndim > 1 else 1
        if grad_out.__class__ is np.ndarray and grad_out.ndim == 0:
            # One multiply by a Python float instead of a 0-d division, then a multiply (half the time at
            # mini-batch 10).  g/n is rounded once to d's dtype either way: as exact as the division in it.
            grad_a = d * (float(grad_out) / n)  # ∇ₐC, the first factor of BP1
        else:
            if isinstance(grad_out, Tensor):  # under create_graph, a − y must be recorded, not a constant
                d = a - y
            grad_a = d * (grad_out / n)  # ∇ₐC, the first factor of BP1
        need_a, need_y = ctx.needs_input_grad
        return (grad_a if need_a else None, -grad_a if need_y else None)


def quadratic_cost(a: Any, y: Any) -> Tensor:
    """Return ½‖a − y‖² summed over the outputs and averaged over the rows of a batch.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, quadratic_cost
    >>> quadratic_cost(Tensor([[1.0, 2.0]]), Tensor([[0.0, 0.0]])).item()
    2.5
    """
    if not isinstance(a, Tensor):
        a = Tensor(a)
    return QuadraticCost.apply(a, _lift(y, a))

"""Second-order helpers built on ``grad(create_graph=True)``: Hessian-vector products and small Hessians.

Both differentiate the recorded backward pass of ``f`` once more, so they need nothing beyond
the ops' own backwards; neither touches any ``.grad``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._checks import numpy_error
from .autograd import grad
from .tensor import Tensor, _new

__all__ = ["hvp", "hessian"]


def _as_variable(x: Any, create_graph: bool, who: str) -> Tensor:
    """Return the Tensor to differentiate at: ``x`` itself only when its graph must reach the result."""
    if isinstance(x, Tensor):
        if create_graph and x.requires_grad:
            return x
        data = x.data
    else:
        try:
            data = np.asarray(x)
        except (ValueError, TypeError, OverflowError) as e:
            raise numpy_error(e, f"{who}: x must be numbers, got {type(x).__name__}: {e}") from None
        if data.dtype.kind in "biu":
            data = data.astype(np.float64)
    if data.dtype.kind != "f":
        raise TypeError(f"{who}: x must hold floating numbers, got dtype {data.dtype}")
    return _new(data, True, None)  # a fresh leaf sharing x's data, so x's own graph is left alone


def _gradient(f: Callable[[Tensor], Tensor], x: Tensor, who: str) -> Tensor | None:
    """Return ∇f(x) recorded as a graph (None when f does not depend on x)."""
    y = f(x)
    if not isinstance(y, Tensor):
        raise TypeError(f"{who}: f must return a Tensor, got {type(y).__name__}")
    if y.data.size != 1:
        raise ValueError(f"{who}: f must return a scalar (one-element) Tensor, got shape {y.shape}")
    if not y.requires_grad:
        return None
    (g,) = grad(y, x, create_graph=True, allow_unused=True)
    return g


def hvp(f: Callable[[Tensor], Tensor], x: Any, v: Any, create_graph: bool = False) -> Tensor:
    """Return the Hessian-vector product ∇²f(x) v of a scalar function ``f``, without forming the Hessian.

    One forward pass, one recorded backward pass and one backward pass through that: the
    directional derivative of ∇f along ``v``, at about three times the cost of a gradient.

    Parameters
    ----------
    f : callable
        Maps a Tensor of ``x``'s shape to a one-element Tensor.
    x : Tensor or array_like
        The point.
    v : Tensor or array_like
        The direction, of ``x``'s shape.
    create_graph : bool
        Record this computation too, so the result can be differentiated again (with respect to
        ``x`` when ``x`` is a Tensor that requires grad, and to ``v`` when it is one).

    Returns
    -------
    Tensor
        ∇²f(x) v, of ``x``'s shape.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, hvp
    >>> f = lambda x: (x * x * x).sum()  # Hessian diag(6 x)
    >>> hvp(f, Tensor([1.0, 2.0]), Tensor([1.0, 1.0])).numpy()
    array([ 6., 12.])
    """
    xv = _as_variable(x, create_graph, "hvp")
    if not isinstance(v, Tensor):
        try:
            v = Tensor(np.asarray(v, dtype=xv.data.dtype))
        except (ValueError, TypeError, OverflowError) as e:
            raise numpy_error(e, f"hvp: v must be numbers of x's dtype {xv.data.dtype}, got {type(v).__name__}: {e}") from None
    if v.shape != xv.shape:
        raise ValueError(f"hvp: v has shape {v.shape} but x has shape {xv.shape}")
    g = _gradient(f, xv, "hvp")
    if g is None or not g.requires_grad:  # f is at most linear in x
        return _new(np.zeros(xv.shape, xv.data.dtype), False, None)
    seed = v if create_graph else v.data
    (hv,) = grad(g, xv, grad_outputs=seed, create_graph=create_graph, allow_unused=True)
    if hv is None:
        return _new(np.zeros(xv.shape, xv.data.dtype), False, None)
    return hv if isinstance(hv, Tensor) else _new(hv, False, None)


def hessian(f: Callable[[Tensor], Tensor], x: Any) -> Tensor:
    """Return the Hessian ∇²f(x) of a scalar function ``f``, of shape ``x.shape + x.shape``.

    Row by row: one backward pass through the recorded gradient per element of ``x``, so it
    is meant for small inputs (a few hundred elements).  For curvature along a direction,
    ``hvp`` costs one pass instead of ``x.size``.

    Parameters
    ----------
    f : callable
        Maps a Tensor of ``x``'s shape to a one-element Tensor.
    x : Tensor or array_like
        The point.

    Returns
    -------
    Tensor
        ``H[i..., j...] = ∂²f / ∂x[i...] ∂x[j...]``, not part of any graph.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, hessian
    >>> A = Tensor([[1.0, 2.0], [0.0, 3.0]])
    >>> hessian(lambda x: x @ (A @ x), np.array([0.5, -1.0])).numpy()  # A + Aᵀ
    array([[2., 2.],
           [2., 6.]])
    """
    xv = _as_variable(x, False, "hessian")
    shape, n = xv.shape, xv.data.size
    rows = np.zeros((n,) + shape, dtype=xv.data.dtype)
    g = _gradient(f, xv, "hessian")
    if g is not None and g.requires_grad:
        for i in range(n):
            e = np.zeros(n, dtype=g.data.dtype)  # fresh each time: a backward may hand its grad_out back as a result
            e[i] = 1.0
            (row,) = grad(g, xv, grad_outputs=e.reshape(shape), allow_unused=True)
            if row is not None:
                rows[i] = row
    return _new(rows.reshape(shape + shape), False, None)

"""Reductions beyond sum/mean/max: prod, cumsum, var, std, logsumexp, argmax, argmin (numpy's axis rules).

``Prod`` and ``Cumsum`` are primitives; ``var``, ``std`` and ``logsumexp`` are compositions.  Each accepts
PyTorch's ``dim=``/``keepdim=`` besides numpy's ``axis=``/``keepdims=``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .function import Function, register
from ._checks import Axis
from ._checks import norm_axis as _norm_axis
from ._checks import one_axis as _one_axis
from .ops import Sum, _keepdims_shape
from .ops_math import Where, _axis_alias
from .tensor import Tensor, _new

__all__: list[str] = []


# ============================================================================ reductions
def _others_product(x: np.ndarray) -> np.ndarray:
    """Return, along the last axis, the product of every element but the one in place (exact with zeros)."""
    ones = np.ones(x.shape[:-1] + (1,), x.dtype)
    left = np.cumprod(np.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, x[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return left * right


class Prod(Function):
    """Product over axes; the gradient is the product of the others, exact where some factors are 0."""

    __slots__ = ()

    def forward(ctx, x, axes, keepdims):
        ctx.saved = (x, axes, keepdims)
        return np.prod(x, axis=axes, keepdims=keepdims)

    def backward(ctx, grad_out):
        x, axes, keepdims = ctx.saved
        shape = x.shape
        if not keepdims:
            grad_out = grad_out.reshape(_keepdims_shape(shape, axes))
        rest = [i for i in range(len(shape)) if i not in axes]
        order = tuple(rest) + tuple(axes)
        n = int(np.prod([shape[a] for a in axes]))
        moved = x.transpose(order).reshape(tuple(shape[i] for i in rest) + (n,))
        if isinstance(moved, Tensor):
            # Recorded: the product of the others as a product over an n×n grid with 1 on the diagonal.
            eye = np.eye(n, dtype=bool)
            grid = Where.apply(Tensor(np.ones((), x.dtype)), moved.reshape(moved.shape[:-1] + (1, n)), cond=eye)
            others = Prod.apply(grid, axes=(grid.ndim - 1,), keepdims=False)
        else:
            others = _others_product(moved)
        others = others.reshape(tuple(shape[i] for i in order)).transpose(tuple(np.argsort(order)))
        return (grad_out * others,)


def _prod(self: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Tensor:
    """Return the product over ``axis`` (all axes by default); exact gradients even with zero factors.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> x = Tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> x.prod().backward()
    >>> x.grad
    array([0., 6., 0.])
    """
    axis, keepdims = _axis_alias("prod", axis, dim, keepdims, keepdim)
    return Prod.apply(self, axes=_norm_axis(axis, self.data.ndim, "prod"), keepdims=keepdims)


def _flip_axis(v: Any, axis: int) -> Any:
    return v[(slice(None),) * axis + (slice(None, None, -1),)]


class Cumsum(Function):
    """Running sum along one axis; its adjoint is the running sum from the other end."""

    __slots__ = ()

    def forward(ctx, x, axis):
        ctx.saved = (axis,)
        return np.cumsum(x, axis=axis)

    def backward(ctx, grad_out):
        (axis,) = ctx.saved
        flipped = _flip_axis(grad_out, axis)
        summed = np.cumsum(flipped, axis=axis) if isinstance(flipped, np.ndarray) else Cumsum.apply(flipped, axis=axis)
        return (_flip_axis(summed, axis),)


def _cumsum(self: Tensor, axis: Any = None, *, dim: Any = None) -> Tensor:
    """Return the running sum along ``axis`` (of the flattened tensor when None, as numpy does).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).cumsum(axis=1).numpy()
    array([[1., 3.],
           [3., 7.]])
    """
    axis, _ = _axis_alias("cumsum", axis, dim)
    if axis is None:
        return Cumsum.apply(self.reshape(-1), axis=0)
    return Cumsum.apply(self, axis=_one_axis(axis, self.data.ndim, "cumsum"))


def _count(self: Tensor, axes: tuple[int, ...]) -> int:
    return int(np.prod([self.data.shape[a] for a in axes if a < self.data.ndim]))


def _var(self: Tensor, axis: Axis = None, ddof: int = 0, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Tensor:
    """Return the variance over ``axis`` with ``ddof`` delta degrees of freedom (numpy's default 0).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> round(Tensor([1.0, 2.0, 3.0, 4.0]).var(ddof=1).item(), 6)
    1.666667
    """
    axis, keepdims = _axis_alias("var", axis, dim, keepdims, keepdim)
    axes = _norm_axis(axis, self.data.ndim, "var")
    n = _count(self, axes)
    if n - ddof <= 0:
        raise ValueError(f"var: {n} element(s) over axes {axes} of {self.shape} leave no degrees of freedom with ddof={ddof}")
    d = self - self.mean(axis=axes, keepdims=True)
    return Sum.apply(d * d, axes=axes, keepdims=keepdims) * (1.0 / (n - ddof))


def _std(self: Tensor, axis: Axis = None, ddof: int = 0, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Tensor:
    """Return the standard deviation over ``axis`` with ``ddof`` delta degrees of freedom.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([1.0, 3.0]).std().item()
    1.0
    """
    axis, keepdims = _axis_alias("std", axis, dim, keepdims, keepdim)
    return _var(self, axis, ddof, keepdims).sqrt()


def _logsumexp(self: Tensor, axis: Axis = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Tensor:
    """Return log(Σ exp(x)) over ``axis``, shifted by the maximum so it never overflows.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> round(Tensor([1000.0, 1000.0]).logsumexp().item() - 1000.0, 6)
    0.693147
    """
    axis, keepdims = _axis_alias("logsumexp", axis, dim, keepdims, keepdim)
    axes = _norm_axis(axis, self.data.ndim, "logsumexp")
    if _count(self, axes) == 0:
        raise ValueError(f"logsumexp: reducing {self.shape} over axes {axes} sums zero elements")
    m = np.max(self.data, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(self.data.dtype)  # the shift is a constant: any finite value is exact
    shift = _new(m, False, None)
    out = Sum.apply((self - shift).exp(), axes=axes, keepdims=True).log() + shift
    return out if keepdims else out.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))


def _arg(name: str, fn: Any) -> Any:
    def method(self: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Tensor:
        axis, keepdims = _axis_alias(name, axis, dim, keepdims, keepdim)
        if axis is not None:
            axis = _one_axis(axis, self.data.ndim, name)
        if self.data.size == 0:
            raise ValueError(f"{name}: an empty tensor of shape {self.shape} has no {name[3:]}")
        return _new(np.asarray(fn(self.data, axis=axis, keepdims=keepdims)), False, None)

    method.__name__ = name
    method.__doc__ = f"Return the int64 indices of the {name[3:]}imum along ``axis`` (of the flattened tensor when None); no gradient."
    return method


register("prod", _prod)
register("cumsum", _cumsum)
register("var", _var)
register("std", _std)
register("logsumexp", _logsumexp)
register("argmax", _arg("argmax", np.argmax))
register("argmin", _arg("argmin", np.argmin))

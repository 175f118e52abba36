"""Elementwise math beyond the MLP's: sqrt … expm1, maximum/minimum/where/clip, leaky_relu, square, reciprocal.

Primitives are one class each; ``square``, ``reciprocal`` and ``leaky_relu`` are compositions, with no
backward of their own.  Backwards keep to what arrays and Tensors share, with
masks (which have no derivative) computed from the data, so each op is differentiable again.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .function import Function, _lift, register, register_binary
from .ops import _sum_to
from .tensor import Tensor

__all__ = ["maximum", "minimum", "where"]


def _data(v: Any) -> np.ndarray:
    """Return the array behind ``v``: masks and signs are taken from values, never differentiated."""
    return v.data if isinstance(v, Tensor) else v


def _axis_alias(op: str, axis: Any, dim: Any, keepdims: Any = False, keepdim: Any = None) -> tuple[Any, bool]:
    """Return (axis, keepdims) from numpy's or PyTorch's spelling (``dim=``, ``keepdim=``), refusing both at once."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: pass axis= or its alias dim=, not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


# ============================================================================ elementwise unary
def _unary(cls: type[Function], name: str) -> None:
    def method(self: Tensor) -> Tensor:
        return cls.apply(self)

    method.__name__ = name
    method.__doc__ = f"Return the elementwise {cls.__doc__}"
    register(name, method)


class Sqrt(Function):
    """square root (derivative 1 / (2√x))."""

    __slots__ = ()

    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.saved = (out,)
        return out

    def backward(ctx, grad_out):
        (out,) = ctx.saved
        return (grad_out / (out * 2),)


class Abs(Function):
    """absolute value (subgradient 0 at 0, as in PyTorch)."""

    __slots__ = ()

    def forward(ctx, x):
        ctx.saved = (x,)
        return np.abs(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * np.sign(_data(x)),)


class Sign(Function):
    """sign −1, 0 or 1 (its gradient is zero)."""

    __slots__ = ()

    def forward(ctx, x):
        return np.sign(x)

    def backward(ctx, grad_out):
        return (grad_out * 0,)


def _sin(v: Any) -> Any:
    return np.sin(v) if isinstance(v, np.ndarray) else Sin.apply(v)


def _cos(v: Any) -> Any:
    return np.cos(v) if isinstance(v, np.ndarray) else Cos.apply(v)


class Sin(Function):
    """sine."""

    __slots__ = ()

    def forward(ctx, x):
        ctx.saved = (x,)
        return np.sin(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * _cos(x),)


class Cos(Function):
    """cosine."""

    __slots__ = ()

    def forward(ctx, x):
        ctx.saved = (x,)
        return np.cos(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (-(grad_out * _sin(x)),)


def _sigmoid(v: Any) -> Any:
    return v.sigmoid() if isinstance(v, Tensor) else np.exp(-np.logaddexp(0.0, -v))


class Softplus(Function):
    """softplus ln(1 + eˣ), computed without overflow (derivative σ(x))."""

    __slots__ = ()

    def forward(ctx, x):
        ctx.saved = (x,)
        return np.logaddexp(0.0, x).astype(x.dtype, copy=False)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * _sigmoid(x),)


class Log1p(Function):
    """ln(1 + x), accurate for small x."""

    __slots__ = ()

    def forward(ctx, x):
        ctx.saved = (x,)
        return np.log1p(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out / (x + 1),)


class Expm1(Function):
    """eˣ − 1, accurate for small x."""

    __slots__ = ()

    def forward(ctx, x):
        out = np.expm1(x)
        ctx.saved = (out,)
        return out

    def backward(ctx, grad_out):
        (out,) = ctx.saved
        return (grad_out * (out + 1),)


for _cls, _name in ((Sqrt, "sqrt"), (Abs, "abs"), (Sign, "sign"), (Sin, "sin"), (Cos, "cos"), (Softplus, "softplus"), (Log1p, "log1p"), (Expm1, "expm1")):
    _unary(_cls, _name)
register("__abs__", lambda self: Abs.apply(self))


class Clip(Function):
    """Values limited to [lo, hi]; the gradient is 1 inside (ends included, as PyTorch's clamp) and 0 outside."""

    __slots__ = ()

    def forward(ctx, x, lo, hi):
        out = np.clip(x, lo, hi)
        inside = np.ones(x.shape, bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.saved = (inside,)
        return out.astype(x.dtype, copy=False)

    def backward(ctx, grad_out):
        (inside,) = ctx.saved
        return (grad_out * inside.astype(grad_out.dtype),)


def _clip(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - numpy's and PyTorch's names
    """Return the tensor with values limited to [min, max] (either may be None); gradient 1 inside, 0 outside.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([-2.0, 0.5, 3.0]).clip(-1, 1).numpy()
    array([-1. ,  0.5,  1. ])
    """
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    lo, hi = (None if v is None else _data(v) for v in (min, max))
    return Clip.apply(self, lo=lo, hi=hi)


register("clip", _clip)
register("clamp", _clip)


# ============================================================================ elementwise binary and selection
class _Extremum(Function):
    """Shared by Maximum and Minimum: the winner takes the gradient, a tie splits it in halves (as PyTorch)."""

    __slots__ = ()
    pick: Any = None

    def forward(ctx, x, y):
        out = np.asarray(type(ctx).pick(x, y))
        wins = np.where(x == y, 0.5, out == x).astype(out.dtype)
        ctx.saved = (x.shape, y.shape, wins)
        return out

    def backward(ctx, grad_out):
        xs, ys, wins = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        gx = _sum_to(grad_out * wins, xs) if need_x else None
        gy = _sum_to(grad_out * (1 - wins), ys) if need_y else None
        return gx, gy


class Maximum(_Extremum):
    """Elementwise maximum of two broadcast tensors."""

    __slots__ = ()
    pick = staticmethod(np.maximum)


class Minimum(_Extremum):
    """Elementwise minimum of two broadcast tensors."""

    __slots__ = ()
    pick = staticmethod(np.minimum)


register_binary(Maximum, "maximum")
register_binary(Minimum, "minimum")


def _pair_of(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, _lift(b, a)
    if isinstance(b, Tensor):
        return _lift(a, b), b
    return Tensor(a), Tensor(b)


def maximum(a: Any, b: Any) -> Tensor:
    """Return the elementwise maximum of two tensors, like ``np.maximum``; ties split the gradient equally.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, maximum
    >>> maximum(Tensor([1.0, 5.0]), 2.0).numpy()
    array([2., 5.])
    """
    return Maximum.apply(*_pair_of(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Return the elementwise minimum of two tensors, like ``np.minimum``; ties split the gradient equally.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, minimum
    >>> minimum(Tensor([1.0, 5.0]), 2.0).numpy()
    array([1., 2.])
    """
    return Minimum.apply(*_pair_of(a, b))


class Where(Function):
    """``a`` where ``cond`` holds, else ``b`` (all three broadcast); each side's gradient is masked by cond."""

    __slots__ = ()

    def forward(ctx, a, b, cond):
        ctx.saved = (a.shape, b.shape, cond)
        return np.where(cond, a, b)

    def backward(ctx, grad_out):
        a_shape, b_shape, cond = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        mask = cond.astype(grad_out.dtype)
        ga = _sum_to(grad_out * mask, a_shape) if need_a else None
        gb = _sum_to(grad_out * (1 - mask), b_shape) if need_b else None
        return ga, gb


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Return ``a`` where ``cond`` is true and ``b`` elsewhere, broadcasting like ``np.where``.

    ``cond`` is data (a boolean array, Tensor or list), never differentiated.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, where
    >>> x = Tensor([-1.0, 2.0])
    >>> where(x > 0, x, 0.0).numpy()
    array([0., 2.])
    """
    c = np.asarray(_data(cond))
    if c.dtype != np.bool_:
        raise TypeError(f"where: the condition must be boolean, got dtype {c.dtype}")
    ta, tb = _pair_of(a, b)
    return Where.apply(ta, tb, cond=c)


def _leaky_relu(self: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Return x where x > 0 and ``negative_slope``·x elsewhere (slope ``negative_slope`` at 0, as in PyTorch).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([-2.0, 3.0]).leaky_relu(0.1).numpy()
    array([-0.2,  3. ])
    """
    return Where.apply(self, self * negative_slope, cond=self.data > 0)


def _square(self: Tensor) -> Tensor:
    """Return the elementwise square x·x."""
    return self * self


def _reciprocal(self: Tensor) -> Tensor:
    """Return the elementwise reciprocal 1 / x."""
    return self**-1


register("leaky_relu", _leaky_relu)
register("square", _square)
register("reciprocal", _reciprocal)

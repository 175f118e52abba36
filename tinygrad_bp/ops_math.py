"""Elementwise math and reductions beyond the MLP's: sqrt … expm1, maximum/minimum/where/clip, prod … argmax.

Primitives are one class each; ``square``, ``reciprocal``, ``leaky_relu``, ``var``, ``std`` and ``logsumexp``
are compositions, with no backward of their own.  Backwards keep to what arrays and Tensors share, with
masks (which have no derivative) computed from the data, so each op is differentiable again.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .function import Function, _lift, register, register_binary
from ._checks import Axis
from ._checks import norm_axis as _norm_axis
from ._checks import one_axis as _one_axis
from .ops import Sum, _keepdims_shape, _sum_to
from .tensor import Tensor, _new

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

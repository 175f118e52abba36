"""The primitive ops: one class each, with forward, backward and registration side by side.

Every backward here uses only what numpy arrays and Tensors share (operators, ``.T``, ``.sum``,
``.reshape``, ``.transpose``) or the small dispatching helpers below, so that
``backward(create_graph=True)`` can record it and differentiate it again.  The fused MLP ops are
in ``fused.py``; ops written with these (sub, div, mean, softmax, stack, ...) in ``composites.py``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import Axis, int_tuple, is_int, norm_axis, numpy_error, one_axis, star_args
from .function import Function, register, register_binary
from .tensor import Tensor


# ============================================================================ helpers
def _sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Return ``g`` summed down to ``shape``: the adjoint of numpy broadcasting."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _expand(g: Any, shape: tuple[int, ...]) -> Any:
    """Return ``g`` broadcast to ``shape``, as an array or a recorded Tensor, whichever ``g`` is."""
    if g.shape == shape:
        return g
    if isinstance(g, Tensor):
        return Expand.apply(g, shape=shape)
    return np.broadcast_to(g, shape)


def _where_zero(mask: np.ndarray, v: Any) -> Any:
    """Return ``v`` with the entries under ``mask`` set to exactly 0 (a recorded product for a Tensor)."""
    if not mask.any():
        return v
    if isinstance(v, Tensor):
        return v * (~mask).astype(v.dtype)
    return np.where(mask, np.zeros((), v.dtype), v)


def _exp(v: Any) -> Any:
    return Exp.apply(v) if isinstance(v, Tensor) else np.exp(v)


def _log(v: Any) -> Any:
    return Log.apply(v) if isinstance(v, Tensor) else np.log(v)


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ============================================================================ elementwise binary
class Add(Function):
    __slots__ = ()

    def forward(ctx, x, y):
        ctx.saved = (x.shape, y.shape)
        return x + y

    def backward(ctx, grad_out):
        xs, ys = ctx.saved
        return _sum_to(grad_out, xs), _sum_to(grad_out, ys)


register_binary(Add, "add", "__add__", "__radd__")


class Mul(Function):
    __slots__ = ()

    def forward(ctx, x, y):
        ctx.saved = (x, y)
        return x * y

    def backward(ctx, grad_out):
        x, y = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        return (
            _sum_to(grad_out * y, x.shape) if need_x else None,
            _sum_to(grad_out * x, y.shape) if need_y else None,
        )


register_binary(Mul, "mul", "__mul__", "__rmul__")


class Pow(Function):
    """x ** y; where the limit exists, the gradient at x = 0 takes it (as PyTorch and JAX do), not 0·∞."""

    __slots__ = ()

    def forward(ctx, x, y):
        out = np.power(x, y)
        ctx.saved = (x, y, out)
        return out

    def backward(ctx, grad_out):
        x, y, out = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        xa, ya = _value(x), _value(y)
        shape, dtype = np.broadcast_shapes(xa.shape, ya.shape), _value(out).dtype
        gx = gy = None
        if need_x:  # d/dx x**y = y·x**(y−1), which is 0 wherever y = 0, also at x = 0 where it reads 0·∞
            y0 = np.broadcast_to((ya == 0) & (xa == 0), shape)
            gx = _sum_to(_where_zero(y0, grad_out * (y * x ** (y - 1 + y0.astype(dtype)))), x.shape)
        if need_y:  # d/dy x**y = x**y·log x, whose limit at x = 0 is 0 for y ≥ 0
            x0 = np.broadcast_to((xa == 0) & (ya >= 0), shape)
            gy = _sum_to(_where_zero(x0, grad_out * (out * _log(x + x0.astype(dtype)))), y.shape)
        return gx, gy


def _value(v: Any) -> np.ndarray:
    return v.data if isinstance(v, Tensor) else v


register_binary(Pow, "pow", "__pow__", "__rpow__")


class Matmul(Function):
    """Matrix product with ``np.matmul`` semantics: 1-D operands and broadcast batch dimensions."""

    __slots__ = ()

    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul needs operands with at least 1 dimension, got shapes {x.shape} and {y.shape}")
        ctx.saved = (x, y)
        return np.matmul(x, y)

    def backward(ctx, grad_out):
        x, y = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        if x.ndim == 2 and y.ndim == 2:
            return (grad_out @ y.T if need_x else None, x.T @ grad_out if need_y else None)
        x2 = x.reshape((1,) + x.shape) if x.ndim == 1 else x
        y2 = y.reshape(y.shape + (1,)) if y.ndim == 1 else y
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        g = grad_out.reshape(batch + (x2.shape[-2], y2.shape[-1]))
        gx = _sum_to(g @ y2.swapaxes(-1, -2), x2.shape).reshape(x.shape) if need_x else None
        gy = _sum_to(x2.swapaxes(-1, -2) @ g, y2.shape).reshape(y.shape) if need_y else None
        return gx, gy


register_binary(Matmul, "matmul", "__matmul__", "__rmatmul__")


# ============================================================================ elementwise unary
class Neg(Function):
    __slots__ = ()

    def forward(ctx, x):
        return -x

    def backward(ctx, grad_out):
        return (-grad_out,)


register("neg", lambda self: Neg.apply(self))
register("__neg__", lambda self: Neg.apply(self))


class Exp(Function):
    __slots__ = ()

    def forward(ctx, x):
        out = np.exp(x)
        ctx.saved = (out,)
        return out

    def backward(ctx, grad_out):
        (out,) = ctx.saved
        return (grad_out * out,)


register("exp", lambda self: Exp.apply(self))


class Log(Function):
    __slots__ = ()

    def forward(ctx, x):
        ctx.saved = (x,)
        return np.log(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out / x,)


register("log", lambda self: Log.apply(self))


class Sigmoid(Function):
    """σ(z) = 1 / (1 + e⁻ᶻ); saves its output, since σ′(z) = σ(z)(1 − σ(z))."""

    __slots__ = ()

    def forward(ctx, z):
        # e⁻ᶻ overflows for very negative z; clamping −z just below that bound changes σ by less than
        # the smallest normal float and keeps numpy quiet.  Inside the bound this is the textbook formula.
        t = np.negative(z)
        if t.__class__ is not np.ndarray:  # a 0-d z gives a numpy scalar, which cannot be an out= buffer
            t = np.asarray(t)
        limit = _EXP_LIMITS.get(t.dtype)
        np.minimum(t, limit if limit is not None else _exp_limit(t.dtype), out=t)
        np.exp(t, out=t)
        t += 1.0
        a = np.reciprocal(t, out=t)
        ctx.saved = (a,)
        return a

    def backward(ctx, grad_out):
        (a,) = ctx.saved
        return (grad_out * (a * (1 - a)),)  # the ⊙ σ′(z) of BP1 and BP2


# 0-d arrays of each dtype: numpy compares against one about 1.5x faster than against a Python float,
# which it must convert on every call (measured at mini-batch 10 and 100).
_EXP_LIMITS: dict[np.dtype, np.ndarray] = {}


def _exp_limit(dtype: np.dtype) -> np.ndarray:
    limit = _EXP_LIMITS.get(dtype)
    if limit is None:
        limit = _EXP_LIMITS[dtype] = np.array(np.floor(np.log(np.finfo(dtype).max)), dtype)
    return limit


register("sigmoid", lambda self: Sigmoid.apply(self))


class Tanh(Function):
    __slots__ = ()

    def forward(ctx, x):
        out = np.tanh(x)
        ctx.saved = (out,)
        return out

    def backward(ctx, grad_out):
        (out,) = ctx.saved
        return (grad_out * (1 - out * out),)


register("tanh", lambda self: Tanh.apply(self))


class ReLU(Function):
    """max(x, 0), with relu′(0) = 0 as in PyTorch."""

    __slots__ = ()

    def forward(ctx, x):
        mask = x > 0
        ctx.saved = (mask,)
        return np.maximum(x, 0)  # not x * mask, which gives −0.0 for negative x

    def backward(ctx, grad_out):
        (mask,) = ctx.saved
        return (grad_out * mask,)


register("relu", lambda self: ReLU.apply(self))


class Cast(Function):
    __slots__ = ()

    def forward(ctx, x, dtype):
        ctx.saved = (x.dtype,)
        return x.astype(dtype)

    def backward(ctx, grad_out):
        (dtype,) = ctx.saved
        return (grad_out.astype(dtype),)


def _astype(self: Tensor, dtype: Any) -> Tensor:
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"astype: {dtype!r} is not a dtype ({e})") from None
    if dt == self.data.dtype:
        return self
    if dt.kind not in "biuf":
        raise TypeError(f"astype: cannot convert a tensor of shape {self.shape} to {dt}; expected a float, int or bool dtype")
    if dt.kind != "f":
        return Tensor(self.data.astype(dt), dtype=dt)
    return Cast.apply(self, dtype=dt)


register("astype", _astype)


# ============================================================================ reductions
class Sum(Function):
    __slots__ = ()

    def forward(ctx, x, axes, keepdims):
        ctx.saved = (x.shape, axes, keepdims)
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(ctx, grad_out):
        shape, axes, keepdims = ctx.saved
        if not keepdims:
            grad_out = grad_out.reshape(_keepdims_shape(shape, axes))
        return (_expand(grad_out, shape),)


def _sum(self: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Sum.apply(self, axes=norm_axis(axis, self.data.ndim, "sum"), keepdims=keepdims)


register("sum", _sum)


class Max(Function):
    """Maximum over axes; tied maxima share the gradient equally."""

    __slots__ = ()

    def forward(ctx, x, axes, keepdims):
        if x.size == 0:
            raise ValueError(f"max of an empty tensor of shape {x.shape} has no identity")
        m = x.max(axis=axes, keepdims=True)
        mask = x == m
        share = mask / mask.sum(axis=axes, keepdims=True)
        ctx.saved = (x.shape, axes, keepdims, share)
        return m if keepdims else m.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(ctx, grad_out):
        shape, axes, keepdims, share = ctx.saved
        if not keepdims:
            grad_out = grad_out.reshape(_keepdims_shape(shape, axes))
        return (grad_out * share,)


def _max(self: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Max.apply(self, axes=norm_axis(axis, self.data.ndim, "max"), keepdims=keepdims)


register("max", _max)


class LogSoftmax(Function):
    """log softmax along one axis, shifted by the maximum so it never overflows."""

    __slots__ = ()

    def forward(ctx, x, axis):
        s = x - x.max(axis=axis, keepdims=True)
        out = s - np.log(np.exp(s).sum(axis=axis, keepdims=True))
        ctx.saved = (out, axis)
        return out

    def backward(ctx, grad_out):
        out, axis = ctx.saved
        return (grad_out - _exp(out) * grad_out.sum(axis=axis, keepdims=True),)


def _log_softmax(self: Tensor, axis: int = -1) -> Tensor:
    return LogSoftmax.apply(self, axis=one_axis(axis, self.data.ndim, "log_softmax"))


register("log_softmax", _log_softmax)


# ============================================================================ shape ops
class Reshape(Function):
    __slots__ = ()

    def forward(ctx, x, shape):
        ctx.saved = (x.shape,)
        return x.reshape(shape)

    def backward(ctx, grad_out):
        (shape,) = ctx.saved
        return (grad_out.reshape(shape),)


def _reshape(self: Tensor, *shape: Any) -> Tensor:
    return Reshape.apply(self, shape=star_args(shape))


register("reshape", _reshape)


class Permute(Function):
    __slots__ = ()

    def forward(ctx, x, axes):
        ctx.saved = (axes,)
        return x.transpose(axes)

    def backward(ctx, grad_out):
        (axes,) = ctx.saved
        return (grad_out.transpose(tuple(np.argsort(axes))),)


def _transpose(self: Tensor, *axes: Any) -> Tensor:
    axes, nd = star_args(axes), self.data.ndim
    if not axes:
        axes = tuple(range(nd))[::-1]
    if not all(is_int(a) for a in axes):
        raise TypeError(f"transpose: axes must be ints, got {axes!r}")
    if sorted(a % nd if -nd <= a < nd else a for a in axes) != list(range(nd)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {nd} dimension(s) of {self.shape}")
    return Permute.apply(self, axes=tuple(a % nd for a in axes))


def _swapaxes(self: Tensor, a: int, b: int) -> Tensor:
    nd = self.data.ndim
    if not (is_int(a) and is_int(b)):
        raise TypeError(f"swapaxes: axes must be ints, got {a!r} and {b!r}")
    if not (-nd <= a < nd and -nd <= b < nd):
        raise ValueError(f"swapaxes: axes {a} and {b} are out of range for a tensor with {nd} dimension(s)")
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return _transpose(self, tuple(axes))


register("transpose", _transpose)
register("permute", _transpose)
register("swapaxes", _swapaxes)
register("T", property(lambda self: _transpose(self), doc="Return the tensor with its axes reversed."))


class Expand(Function):
    """Broadcast to a larger shape (numpy's ``broadcast_to``); its adjoint is a sum."""

    __slots__ = ()

    def forward(ctx, x, shape):
        ctx.saved = (x.shape,)
        return np.broadcast_to(x, shape)

    def backward(ctx, grad_out):
        (shape,) = ctx.saved
        return (_sum_to(grad_out, shape),)


def _broadcast_to(self: Tensor, shape: Any) -> Tensor:
    return Expand.apply(self, shape=int_tuple(shape, "broadcast_to"))


register("broadcast_to", _broadcast_to)


def _normalize_key(key: Any) -> tuple[Any, bool]:
    """Return the index with Tensors replaced by arrays, and whether it holds integer arrays (so may repeat)."""
    items = key if isinstance(key, tuple) else (key,)
    fancy = False
    out = []
    for k in items:
        if isinstance(k, Tensor):
            k = k.data
        if isinstance(k, (list, np.ndarray)):
            try:
                k = np.asarray(k)
            except ValueError as e:
                raise ValueError(f"getitem: an index list must be rectangular, got {k!r} ({e})") from None
            if k.dtype.kind == "f":
                raise TypeError(f"getitem: index arrays must be integer or boolean, got {k.dtype}")
            fancy = fancy or k.dtype.kind in "iu"
        out.append(k)
    return (tuple(out) if isinstance(key, tuple) else out[0]), fancy


class Index(Function):
    """``x[key]``: basic slicing and integer/boolean array indexing."""

    __slots__ = ()

    def forward(ctx, x, key, fancy):
        ctx.saved = (x.shape, key, fancy)
        return np.array(x[key]) if fancy else x[key]

    def backward(ctx, grad_out):
        shape, key, fancy = ctx.saved
        return (_scatter(grad_out, key, fancy, shape),)


def _getitem(self: Tensor, key: Any) -> Tensor:
    key, fancy = _normalize_key(key)
    return Index.apply(self, key=key, fancy=fancy)


register("__getitem__", _getitem)


class IndexAdd(Function):
    """Scatter-add ``g`` into zeros of ``shape`` at ``key``; repeated indices accumulate.  The adjoint of Index."""

    __slots__ = ()

    def forward(ctx, g, key, fancy, shape):
        ctx.saved = (key, fancy)
        return _scatter_array(g, key, fancy, shape)

    def backward(ctx, grad_out):
        key, fancy = ctx.saved
        return (Index.apply(grad_out, key=key, fancy=fancy) if isinstance(grad_out, Tensor) else grad_out[key],)


def _scatter(g: Any, key: Any, fancy: bool, shape: tuple[int, ...]) -> Any:
    if isinstance(g, Tensor):
        return IndexAdd.apply(g, key=key, fancy=fancy, shape=shape)
    return _scatter_array(np.asarray(g), key, fancy, shape)


def _scatter_array(g: np.ndarray, key: Any, fancy: bool, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    if fancy:
        np.add.at(out, key, g)
    else:
        out[key] = g
    return out


class Concat(Function):
    __slots__ = ()

    def forward(ctx, *xs, axis):
        ctx.saved = (axis, [x.shape[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    def backward(ctx, grad_out):
        axis, sizes = ctx.saved
        grads, start = [], 0
        lead = (slice(None),) * axis
        for n in sizes:
            grads.append(grad_out[lead + (slice(start, start + n),)])
            start += n
        return tuple(grads)




# The fused MLP ops live in fused.py; layers written against tinygrad_bp.ops still find them here.
from .fused import Linear, QuadraticCost, linear, quadratic_cost  # noqa: E402,F401

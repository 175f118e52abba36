"""The primitive ops: one class each, with forward, backward and registration side by side.

Every backward here uses only what numpy arrays and Tensors share (operators, ``.T``, ``.sum``,
``.reshape``, ``.transpose``) or the small dispatching helpers below, so that
``backward(create_graph=True)`` can record it and differentiate it again.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .function import Function, _lift, register, register_binary
from .tensor import Tensor

Axis = int | tuple[int, ...] | None


# ============================================================================ helpers
def _sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Return ``g`` summed down to ``shape``: the adjoint of numpy broadcasting."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _broadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    if g.shape == shape:
        return g
    if isinstance(g, np.ndarray):
        return np.broadcast_to(g, shape)
    return Expand.apply(g, shape=shape)


def _exp(v: Any) -> Any:
    return np.exp(v) if isinstance(v, np.ndarray) else Exp.apply(v)


def _log(v: Any) -> Any:
    return np.log(v) if isinstance(v, np.ndarray) else Log.apply(v)


def _norm_axis(axis: Axis, ndim: int, op: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis) if isinstance(axis, (tuple, list)) else None
    if axes is None or not all(isinstance(a, (int, np.integer)) for a in axes):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {axis!r} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _one_axis(axis: Any, ndim: int, op: str) -> int:
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    return _norm_axis(axis, ndim, op)[0]


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
    __slots__ = ()

    def forward(ctx, x, y):
        out = np.power(x, y)
        ctx.saved = (x, y, out)
        return out

    def backward(ctx, grad_out):
        x, y, out = ctx.saved
        need_x, need_y = ctx.needs_input_grad
        # d/dx x**y = y * x**(y-1); d/dy x**y = x**y * log(x)
        gx = _sum_to(grad_out * (y * x ** (y - 1)), x.shape) if need_x else None
        gy = _sum_to(grad_out * (out * _log(x)), y.shape) if need_y else None
        return gx, gy


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


_EXP_LIMITS: dict[np.dtype, float] = {}


def _exp_limit(dtype: np.dtype) -> float:
    limit = _EXP_LIMITS.get(dtype)
    if limit is None:
        limit = _EXP_LIMITS[dtype] = float(np.floor(np.log(np.finfo(dtype).max)))
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
    except TypeError as e:
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
        return (_broadcast_to(grad_out, shape),)


def _sum(self: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Sum.apply(self, axes=_norm_axis(axis, self.data.ndim, "sum"), keepdims=keepdims)


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
    return Max.apply(self, axes=_norm_axis(axis, self.data.ndim, "max"), keepdims=keepdims)


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
    return LogSoftmax.apply(self, axis=_one_axis(axis, self.data.ndim, "log_softmax"))


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
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(self, shape=shape)


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
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    nd = self.data.ndim
    if not axes:
        axes = tuple(range(nd))[::-1]
    if not all(isinstance(a, (int, np.integer)) for a in axes):
        raise TypeError(f"transpose: axes must be ints, got {axes!r}")
    if sorted(a % nd if -nd <= a < nd else a for a in axes) != list(range(nd)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {nd} dimension(s) of {self.shape}")
    return Permute.apply(self, axes=tuple(a % nd for a in axes))


def _swapaxes(self: Tensor, a: int, b: int) -> Tensor:
    nd = self.data.ndim
    if not (isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer))):
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
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if not (isinstance(shape, (tuple, list)) and all(isinstance(n, (int, np.integer)) for n in shape)):
        raise TypeError(f"broadcast_to: shape must be an int or a tuple of ints, got {shape!r}")
    return Expand.apply(self, shape=tuple(shape))


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
            k = np.asarray(k)
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
    if isinstance(g, np.ndarray):
        return _scatter_array(g, key, fancy, shape)
    return IndexAdd.apply(g, key=key, fancy=fancy, shape=shape)


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


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Return the tensors joined along an existing ``axis``, like ``np.concatenate``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, concatenate
    >>> concatenate([Tensor([1.0]), Tensor([2.0, 3.0])]).numpy()
    array([1., 2., 3.])
    """
    ts = _tensor_seq(tensors, "concatenate")
    ndims = {t.data.ndim for t in ts}
    if 0 in ndims or len(ndims) != 1:
        raise ValueError(
            f"concatenate: needs tensors with the same number (>= 1) of dimensions, got shapes {[t.shape for t in ts]}"
        )
    return Concat.apply(*ts, axis=_one_axis(axis, ts[0].data.ndim, "concatenate"))


def _tensor_seq(tensors: Any, op: str) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expects a list or tuple of tensors, got {type(tensors).__name__}")
    if len(tensors) == 0:
        raise ValueError(f"{op}: needs at least one tensor")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Return the tensors joined along a new ``axis``, like ``np.stack``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, stack
    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], axis=1).shape
    (2, 2)
    """
    ts = _tensor_seq(tensors, "stack")
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"stack: axis must be an int, got {axis!r}")
    shapes = {t.shape for t in ts}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    nd = ts[0].data.ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"stack: axis {axis} is out of range for {nd} dimension(s)")
    ax = axis % nd
    new_shape = ts[0].shape[:ax] + (1,) + ts[0].shape[ax:]
    return Concat.apply(*[t.reshape(new_shape) for t in ts], axis=ax)


# ============================================================================ fused ops for the MLP
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
        return 0.5 * np.vdot(d, d) / n

    def backward(ctx, grad_out):
        a, y, d = ctx.saved
        if isinstance(grad_out, Tensor):  # under create_graph, a − y must be recorded, not a constant
            d = a - y
        n = a.shape[0] if a.ndim > 1 else 1
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


# ============================================================================ composites (no backward of their own)
def _sub(self: Tensor, other: Any) -> Tensor:
    return self + (-_lift(other, self))


def _rsub(self: Tensor, other: Any) -> Tensor:
    return (-self) + other


def _truediv(self: Tensor, other: Any) -> Tensor:
    if isinstance(other, (int, float)) and other != 0:
        try:
            return self * (1.0 / other)
        except OverflowError:  # 1 / (an int beyond float range): let _lift say it does not fit
            pass
    return self * _lift(other, self) ** -1


def _rtruediv(self: Tensor, other: Any) -> Tensor:
    return _lift(other, self) * self**-1


def _mean(self: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    axes = _norm_axis(axis, self.data.ndim, "mean")
    n = int(np.prod([self.data.shape[a] for a in axes if a < self.data.ndim]))  # a 0-d tensor's axis 0 has 1
    if n == 0:
        raise ValueError(f"mean: reducing {self.shape} over axes {axes} averages zero elements")
    return Sum.apply(self, axes=axes, keepdims=keepdims) * (1.0 / n)


def _min(self: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return -_max(-self, axis, keepdims)


def _softmax(self: Tensor, axis: int = -1) -> Tensor:
    return _log_softmax(self, axis).exp()


register("sub", _sub)
register("__sub__", _sub)
register("__rsub__", _rsub)
register("div", _truediv)
register("__truediv__", _truediv)
register("__rtruediv__", _rtruediv)
register("mean", _mean)
register("min", _min)
register("softmax", _softmax)
register("flatten", lambda self: _reshape(self, (-1,)))

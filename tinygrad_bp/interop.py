"""numpy calls on Tensors: ``np.exp(t)``, ``np.sum(t)``, ``a + t`` record the graph like the Tensor methods.

Tensor implements numpy's two override protocols.  ``__array_ufunc__`` maps a ufunc called on Tensors
(and arrays or numbers mixed in) to the matching op; ``__array_function__`` does the same for numpy's
functions.  A function that only inspects values (``np.allclose``, ``np.shape``) runs on the data.
Anything else, and any ``out=`` or ``dtype=`` argument, raises a TypeError naming the Tensor method to
use or ``t.numpy()`` for a plain array: never numpy's own message about an unexpected keyword.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import contract, ops_math, ops_shape
from .composites import concatenate, stack
from .tensor import Tensor, _new

__all__: list[str] = []


def _t(v: Any, like: Any = None) -> Tensor:
    if isinstance(v, Tensor):
        return v
    if like is not None:
        return ops_math._pair_of(like, v)[1]
    return Tensor(v)


def _binary(method: str) -> Callable[[Any, Any], Tensor]:
    def op(a: Any, b: Any) -> Tensor:
        ta, tb = ops_math._pair_of(a, b)
        return getattr(ta, method)(tb)

    return op


_UFUNCS: dict[Any, Callable[..., Tensor]] = {
    np.add: _binary("__add__"),
    np.subtract: _binary("__sub__"),
    np.multiply: _binary("__mul__"),
    np.true_divide: _binary("__truediv__"),
    np.power: _binary("__pow__"),
    np.matmul: _binary("__matmul__"),
    np.maximum: _binary("maximum"),
    np.minimum: _binary("minimum"),
    np.negative: lambda a: -_t(a),
    np.positive: lambda a: _t(a),
}
for _name in ("exp", "log", "sqrt", "sign", "square", "reciprocal", "sin", "cos", "tanh", "log1p", "expm1"):
    _UFUNCS[getattr(np, _name)] = (lambda m: lambda a: getattr(_t(a), m)())(_name)
_UFUNCS[np.absolute] = lambda a: _t(a).abs()

# Comparisons go to Tensor's own (reflected when the Tensor is on the right), so messages name the same op.
_COMPARISONS = {
    np.equal: np.equal, np.not_equal: np.not_equal, np.less: np.greater,
    np.less_equal: np.greater_equal, np.greater: np.less, np.greater_equal: np.less_equal,
}  # fmt: skip
# Other ufuncs with boolean results have no derivative: they run on the data, into a Tensor like the comparisons.
_PREDICATES = {
    np.isnan, np.isinf, np.isfinite, np.signbit, np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
}  # fmt: skip
_REDUCE_HINTS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}


def _array_ufunc(self: Tensor, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    name = ufunc.__name__
    if kwargs.get("out") is not None:
        raise TypeError(f"np.{name}(..., out=...) cannot write into a Tensor's graph; use the result: y = np.{name}(t)")
    extra = sorted(k for k, v in kwargs.items() if k != "out" and v is not None)
    if method != "__call__":
        hint = "t.cumsum(axis)" if method == "accumulate" and name == "add" else f"t.{_REDUCE_HINTS[name]}(axis)" if name in _REDUCE_HINTS and method == "reduce" else "t.numpy() for a plain array"
        raise TypeError(f"np.{name}.{method} is not supported on a Tensor; use {hint}")
    if ufunc in _COMPARISONS and not extra:
        a, b = inputs
        return a._compare(b, ufunc) if isinstance(a, Tensor) else b._compare(a, _COMPARISONS[ufunc])
    if ufunc in _PREDICATES and not extra:
        try:
            return _new(np.asarray(ufunc(*[x.data if isinstance(x, Tensor) else x for x in inputs])), False, None)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{name}: {e}") from None
    impl = _UFUNCS.get(ufunc)
    if impl is None:
        raise TypeError(f"np.{name} has no Tensor version (no gradient is defined); call it on t.numpy() for a plain array")
    if extra:
        raise TypeError(f"np.{name} on a Tensor takes no {', '.join(extra)} argument; use t.astype(...) to change dtype")
    return impl(*inputs)


# ============================================================================ numpy functions
def _plain(**given: Any) -> None:
    """Refuse numpy arguments a Tensor op has no use for (``out``, ``dtype``, ``where``, ...), unless left at default."""
    bad = sorted(k for k, v in given.items() if v is not None and v is not np._NoValue)
    if bad:
        raise TypeError(f"numpy's {', '.join(bad)} argument(s) are not supported on a Tensor; call the Tensor method, or use t.numpy()")


def _reduction(method: str) -> Callable[..., Tensor]:
    def impl(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False, **rest: Any) -> Tensor:
        _plain(dtype=dtype, out=out, **rest)
        return getattr(_t(a), method)(axis=axis, keepdims=bool(keepdims) if keepdims is not np._NoValue else False)

    return impl


def _moments(method: str) -> Callable[..., Tensor]:
    def impl(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0, keepdims: Any = False, **rest: Any) -> Tensor:
        _plain(dtype=dtype, out=out, **rest)
        return getattr(_t(a), method)(axis=axis, ddof=ddof, keepdims=bool(keepdims) if keepdims is not np._NoValue else False)

    return impl


def _arg(method: str) -> Callable[..., Tensor]:
    def impl(a: Any, axis: Any = None, out: Any = None, *, keepdims: Any = False) -> Tensor:
        _plain(out=out)
        return getattr(_t(a), method)(axis=axis, keepdims=bool(keepdims) if keepdims is not np._NoValue else False)

    return impl


def _where(cond: Any, *xy: Any) -> Tensor:
    if len(xy) != 2:
        raise TypeError("np.where(cond) with one argument gives indices: call it on the data, np.where(t.numpy())")
    return ops_math.where(cond, *xy)


def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *, min: Any = None, max: Any = None, **rest: Any) -> Tensor:  # noqa: A002
    _plain(out=out, **rest)
    lo = min if a_min is None or a_min is np._NoValue else a_min
    hi = max if a_max is None or a_max is np._NoValue else a_max
    return _t(a).clip(lo, hi)


def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Tensor:
    _plain(dtype=dtype, out=out)
    return _t(a).cumsum(axis)


def _einsum(subscripts: str, *operands: Any, out: Any = None, optimize: Any = None, **rest: Any) -> Tensor:
    _plain(out=out, **rest)  # optimize only picks the contraction order: the result is the same
    return contract.einsum(subscripts, *operands)


def _dot(a: Any, b: Any, out: Any = None) -> Tensor:
    _plain(out=out)
    ta, tb = ops_math._pair_of(a, b)
    if ta.ndim == 0 or tb.ndim == 0:
        return ta * tb
    if ta.ndim > 2 or tb.ndim > 2:
        raise TypeError("np.dot of arrays with more than 2 dimensions is not supported on a Tensor; use np.matmul or np.tensordot")
    return ta @ tb


def _joined(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def impl(arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None, casting: Any = None) -> Tensor:
        _plain(out=out, dtype=dtype)
        return fn(list(arrays), axis=axis)

    return impl


_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: _reduction("sum"),
    np.mean: _reduction("mean"),
    np.max: _reduction("max"),
    np.min: _reduction("min"),
    np.prod: _reduction("prod"),
    np.var: _moments("var"),
    np.std: _moments("std"),
    np.argmax: _arg("argmax"),
    np.argmin: _arg("argmin"),
    np.cumsum: _cumsum,
    np.clip: _clip,
    np.where: _where,
    np.reshape: lambda a, shape=None, order="C", **kw: _t(a).reshape(shape if shape is not None else kw["newshape"]),
    np.transpose: lambda a, axes=None: _t(a).transpose(*(() if axes is None else (tuple(axes),))),
    np.swapaxes: lambda a, axis1, axis2: _t(a).swapaxes(axis1, axis2),
    np.squeeze: lambda a, axis=None: _t(a).squeeze(axis),
    np.expand_dims: lambda a, axis: _t(a).expand_dims(axis),
    np.ravel: lambda a, order="C": _t(a).ravel(),
    np.flip: lambda m, axis=None: _t(m).flip(axis),
    np.repeat: lambda a, repeats, axis=None: _t(a).repeat(repeats, axis),
    np.tile: lambda A, reps: _t(A).tile(reps),
    np.pad: lambda array, pad_width, mode="constant", constant_values=0, **kw: ops_shape.pad(array, pad_width, mode, constant_values),
    np.split: lambda ary, indices_or_sections, axis=0: _t(ary).split(indices_or_sections, axis),
    np.broadcast_to: lambda array, shape, subok=False: _t(array).broadcast_to(shape),
    np.concatenate: _joined(concatenate),
    np.stack: _joined(stack),
    np.tensordot: lambda a, b, axes=2: contract.tensordot(a, b, axes),
    np.einsum: _einsum,
    np.outer: lambda a, b, out=None: (_plain(out=out), contract.outer(a, b))[1],
    np.inner: lambda a, b: contract.inner(a, b),
    np.dot: _dot,
}
_FUNCTIONS[np.amax] = _FUNCTIONS[np.max]
_FUNCTIONS[np.amin] = _FUNCTIONS[np.min]

# Functions that only look at values or shapes: they run on the data and return what numpy returns.
_QUERIES = {
    np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.array_equiv, np.count_nonzero,
    np.nonzero, np.argsort, np.sort, np.unique, np.any, np.all, np.isfinite, np.isnan, np.may_share_memory,
    np.shares_memory, np.result_type, np.copy, np.array_repr, np.array_str, np.array2string,
}  # fmt: skip


def _unwrap(v: Any) -> Any:
    if isinstance(v, Tensor):
        return v.data
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x) for x in v)
    return v


def _array_function(self: Tensor, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    impl = _FUNCTIONS.get(func)
    if impl is not None:
        try:
            return impl(*args, **kwargs)
        except TypeError as e:
            if "unexpected keyword" in str(e) or "positional argument" in str(e):
                raise TypeError(f"np.{func.__name__} on a Tensor: {e}; call the Tensor method instead") from None
            raise
    if func in _QUERIES:
        return func(*_unwrap(args), **_unwrap(kwargs))
    name = func.__name__
    where = func.__module__.replace("numpy", "np", 1) if func.__module__.startswith("numpy") else "np"
    method = f"t.{name}(...)" if hasattr(Tensor, name) else "t.numpy() for a plain array (no gradient)"
    raise TypeError(f"{where}.{name} has no Tensor version; use {method}")


Tensor.__array_ufunc__ = _array_ufunc  # type: ignore[assignment]
Tensor.__array_function__ = _array_function  # type: ignore[attr-defined]

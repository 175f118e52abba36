"""Ops written with other ops, so they need no backward of their own (micrograd: ``a / b`` is ``a * b**-1``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._checks import Axis, is_int, norm_axis, one_axis
from .function import _lift, register
from .ops import Concat, Sum
from .tensor import Tensor

__all__ = ["concatenate", "stack"]


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
    axes = norm_axis(axis, self.data.ndim, "mean")
    n = int(np.prod([self.data.shape[a] for a in axes if a < self.data.ndim]))  # a 0-d tensor's axis 0 has 1
    if n == 0:
        raise ValueError(f"mean: reducing {self.shape} over axes {axes} averages zero elements")
    return Sum.apply(self, axes=axes, keepdims=keepdims) * (1.0 / n)


def _min(self: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return -(-self).max(axis, keepdims)


def _softmax(self: Tensor, axis: int = -1) -> Tensor:
    return self.log_softmax(axis).exp()


register("sub", _sub)
register("__sub__", _sub)
register("__rsub__", _rsub)
register("div", _truediv)
register("__truediv__", _truediv)
register("__rtruediv__", _rtruediv)
register("mean", _mean)
register("min", _min)
register("softmax", _softmax)
register("flatten", lambda self: self.reshape(-1))


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
    return Concat.apply(*ts, axis=one_axis(axis, ts[0].data.ndim, "concatenate"))


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
    if not is_int(axis):
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

"""Argument checks shared by the Tensor, the engine and the ops, written once.

Every public entry point reports bad input as a TypeError or ValueError whose message starts with the
op's name (docs/errors.md); these helpers make those messages, so each rule lives in one place.
"""
from __future__ import annotations

from typing import Any

import numpy as np

Axis = int | tuple[int, ...] | None


def numpy_error(e: BaseException, message: str) -> Exception:
    """Return the documented exception for a numpy error: TypeError stays one, IndexError stays one, else ValueError."""
    if isinstance(e, TypeError):
        return TypeError(message)
    if type(e) is IndexError:
        return IndexError(message)
    return ValueError(message)


def is_int(v: Any) -> bool:
    """Return whether ``v`` is an integer in the sense of an axis or a size (numpy's timedelta64 is not one)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, np.timedelta64)


def float_dtype_for_grad(dtype: np.dtype, who: str) -> None:
    """Refuse ``requires_grad`` on anything but a floating dtype."""
    if dtype.kind != "f":
        raise TypeError(f"{who}: requires_grad=True needs a floating dtype, got {dtype}")


def norm_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Return ``axis`` (None, an int or a sequence of ints) as sorted non-negative axes of an ``ndim``-d tensor."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if is_int(axis) else tuple(axis) if isinstance(axis, (tuple, list)) else None
    if axes is None or not all(is_int(a) for a in axes):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {axis!r} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def one_axis(axis: Any, ndim: int, op: str) -> int:
    """Return a single axis, normalised; anything but one int is a TypeError."""
    if not is_int(axis):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    return norm_axis(axis, ndim, op)[0]


def int_tuple(value: Any, op: str, what: str = "shape") -> tuple[int, ...]:
    """Return ``value`` (an int, or a tuple/list of ints) as a tuple of ints."""
    if is_int(value):
        return (int(value),)
    if not (isinstance(value, (tuple, list)) and all(is_int(n) for n in value)):
        raise TypeError(f"{op}: {what} must be an int or a tuple of ints, got {value!r}")
    return tuple(int(n) for n in value)


def star_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return ``f(2, 3)`` and ``f((2, 3))`` alike as ``(2, 3)``, the numpy spelling of shapes and axes."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args

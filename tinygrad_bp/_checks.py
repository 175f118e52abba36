"""Checks written once: of arguments (shared by the Tensor, the engine and the ops) and of what a backward returns.

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


def grad_flag(value: Any, who: str) -> bool:
    """Return a ``requires_grad`` argument as a bool; anything but a bool (or 0 and 1) is a TypeError."""
    if not isinstance(value, (bool, np.bool_)) and not (isinstance(value, int) and value in (0, 1)):
        raise TypeError(f"{who}: requires_grad must be True or False, got {type(value).__name__}")
    return bool(value)


def tensor_data(data: Any, requires_grad: bool, dtype: Any) -> np.ndarray:
    """Return ``Tensor(data, requires_grad, dtype)``'s array: floats as they are, ints and bools as float64."""
    try:
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as e:
        to = "" if dtype is None else f" of dtype {dtype!r}"
        raise numpy_error(e, f"Tensor: cannot make a tensor{to} from {type(data).__name__} data: {e}") from None
    if arr.dtype.kind != "f":
        if dtype is None and arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
        elif dtype is None or arr.dtype.kind not in "biu":
            raise TypeError(
                f"Tensor: cannot make a tensor from data of dtype {arr.dtype}; expected numbers (a float dtype, "
                "or an explicit int or bool dtype)"
            )
    if requires_grad:
        float_dtype_for_grad(arr.dtype, "Tensor")
    return arr


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


# ---- what the engine checks of a node during backward --------------------------------------------
def check_versions(ctx: Any, out: Any) -> None:
    """Refuse a backward whose saved input or output was changed in place after the node was made."""
    arrays = ctx.__dict__.get("args") or [p.data for p in ctx.parents]
    saved = {id(s) for s in ctx.saved if isinstance(s, np.ndarray)}
    for t, a in list(zip(ctx.parents, arrays)) + [(out, out.data)]:
        if t._stamp is not None and t._stamp[0] > ctx._epoch and id(a) in saved:
            raise RuntimeError(
                f"{type(ctx).__name__}: a tensor of shape {t.shape} that this op saved for backward was modified "
                "by an in-place operation after the op ran, so its gradient would be wrong; "
                "change a copy instead, or update it only after backward"
            )


def check_arity(ctx: Any, grads: Any) -> tuple[Any, ...]:
    """Return a backward's result as a tuple of one gradient per input, or refuse it."""
    if grads.__class__ is not tuple:
        grads = tuple(grads) if isinstance(grads, list) else (grads,)
    if len(grads) != len(ctx.parents):
        raise RuntimeError(
            f"{type(ctx).__name__}.backward returned {len(grads)} gradient(s) for {len(ctx.parents)} input(s)"
        )
    return grads


def check_grad(ctx: Any, p: Any, g: Any, create_graph: bool) -> Any:
    """Return the gradient a backward gave for input ``p`` as the engine needs it, or say what is wrong with it."""
    from .tensor import Tensor

    name, i = type(ctx).__name__, next(k for k, q in enumerate(ctx.parents) if q is p)
    if create_graph:
        if not isinstance(g, Tensor):
            raise RuntimeError(
                f"{name}: backward returned a plain array for input {i} under create_graph=True, "
                "so it cannot be differentiated again; write it with Tensor-compatible ops or set "
                "once_differentiable = True"
            )
    elif isinstance(g, Tensor):
        raise TypeError(
            f"{name}.backward returned a Tensor for input {i} in a first-order backward; it must return numpy "
            "arrays there (a helper that dispatches on the type of its argument probably got it wrong)"
        )
    else:
        g = np.asarray(g)
    if g.shape != p.data.shape:
        raise ValueError(f"{name}.backward returned a gradient of shape {g.shape} for input {i} of shape {p.data.shape}")
    if g.dtype != p.data.dtype:
        if g.dtype.kind != "f":
            raise TypeError(f"{name}.backward returned a gradient of dtype {g.dtype} for input {i} of dtype {p.data.dtype}")
        g = g.astype(p.data.dtype)
    return g


# ---- grad()'s arguments -------------------------------------------------------------------------
def tensor_list(value: Any, what: str) -> list[Any]:
    """Return ``grad()``'s ``outputs`` or ``inputs`` as a list of Tensors, or refuse them."""
    from .tensor import Tensor

    if isinstance(value, Tensor):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"grad: {what} must be a Tensor or a list of Tensors, got {type(value).__name__}")
    for i, v in enumerate(value):
        if not isinstance(v, Tensor):
            raise TypeError(f"grad: {what}[{i}] is a {type(v).__name__}, not a Tensor")
    return list(value)


def grad_arguments(outputs: Any, inputs: Any, grad_outputs: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """Return ``grad()``'s outputs, inputs and one grad_output per output, checked."""
    outs, ins = tensor_list(outputs, "outputs"), tensor_list(inputs, "inputs")
    if grad_outputs is None or not isinstance(grad_outputs, (list, tuple)):
        if not (grad_outputs is None or isinstance(grad_outputs, (np.ndarray, int, float)) or hasattr(grad_outputs, "_ctx")):
            raise TypeError(f"grad: grad_outputs must be None, an array, or a list with one per output, got {type(grad_outputs).__name__}")
        gos = [grad_outputs] * len(outs) if len(outs) == 1 or grad_outputs is None else [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise ValueError(f"grad: {len(gos)} grad_outputs for {len(outs)} outputs")
    if not all(o.requires_grad for o in outs):
        raise RuntimeError("grad: an output does not require grad and has no graph")
    for x in ins:
        if not x.requires_grad:
            raise RuntimeError(f"grad: an input of shape {x.shape} does not require grad")
    return outs, ins, gos

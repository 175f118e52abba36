"""Shape ops with numpy's names: squeeze … split, ``mT``, constant padding, and a differentiable scatter-add.

All but ``Pad`` are compositions of reshape, broadcast and indexing, whose backwards already exist
(indexing's is a scatter-add, so repeated indices accumulate); ``scatter_add`` and ``index_add`` expose
that scatter-add as an op of its own.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .function import Function, register
from ._checks import norm_axis as _norm_axis
from ._checks import one_axis as _one_axis
from .ops import IndexAdd, _normalize_key
from .tensor import Tensor

__all__ = ["pad", "scatter_add"]


def _ints(value: Any, op: str, what: str) -> tuple[int, ...]:
    items = (value,) if isinstance(value, (int, np.integer)) else tuple(value) if isinstance(value, (tuple, list)) else None
    if items is None or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{op}: {what} must be an int or a tuple of ints, got {value!r}")
    return tuple(int(v) for v in items)


# ============================================================================ adding and removing axes
def _squeeze(self: Tensor, axis: Any = None) -> Tensor:
    """Return the tensor without its length-1 axes (only those in ``axis`` when given; they must have length 1).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([[[1.0], [2.0]]]).squeeze().shape
    (2,)
    """
    shape = self.shape
    axes = tuple(i for i, n in enumerate(shape) if n == 1) if axis is None else _norm_axis(axis, self.ndim, "squeeze")
    for a in axes:
        if a < len(shape) and shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of a tensor of shape {shape} has length {shape[a]}, not 1")
    return self.reshape(tuple(n for i, n in enumerate(shape) if i not in axes))


def _expand_dims(self: Tensor, axis: Any) -> Tensor:
    """Return the tensor with new length-1 axes at the positions ``axis`` of the result, like ``np.expand_dims``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([1.0, 2.0]).expand_dims((0, -1)).shape
    (1, 2, 1)
    """
    axes = _ints(axis, "expand_dims", "axis")
    nd = self.ndim + len(axes)
    new = _norm_axis(axes, nd, "expand_dims")
    it = iter(self.shape)
    return self.reshape(tuple(1 if i in new else next(it) for i in range(nd)))


def _unsqueeze(self: Tensor, dim: int) -> Tensor:
    """Return the tensor with a new length-1 axis at ``dim`` (PyTorch's name for expand_dims with one axis)."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"unsqueeze: dim must be an int, got {dim!r}")
    return _expand_dims(self, dim)


def _flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Return the tensor with axes ``start_dim..end_dim`` merged into one (all of them by default: 1-D).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> import numpy as np
    >>> Tensor(np.zeros((2, 3, 4))).flatten(1).shape
    (2, 12)
    """
    if self.ndim == 0:
        return self.reshape((1,))
    start, end = _one_axis(start_dim, self.ndim, "flatten"), _one_axis(end_dim, self.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
    s = self.shape
    return self.reshape(s[:start] + (int(np.prod(s[start : end + 1])),) + s[end + 1 :])


def _ravel(self: Tensor) -> Tensor:
    """Return the tensor as 1-D, like ``np.ravel``."""
    return self.reshape((-1,))


register("squeeze", _squeeze)
register("expand_dims", _expand_dims)
register("unsqueeze", _unsqueeze)
register("flatten", _flatten)
register("ravel", _ravel)
register("mT", property(lambda self: self.swapaxes(-1, -2), doc="Return the tensor with its last two axes exchanged."))


# ============================================================================ rearranging and repeating
def _flip(self: Tensor, axis: Any = None) -> Tensor:
    """Return the tensor reversed along ``axis`` (all axes by default), like ``np.flip``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).flip(1).numpy()
    array([[2., 1.],
           [4., 3.]])
    """
    axes = _norm_axis(axis, self.ndim, "flip")
    return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]


def _repeat(self: Tensor, repeats: Any, axis: Any = None) -> Tensor:
    """Return each element repeated ``repeats`` times along ``axis`` (of the flattened tensor when None), like ``np.repeat``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([1.0, 2.0]).repeat(2).numpy()
    array([1., 1., 2., 2.])
    """
    x = self.reshape((-1,)) if axis is None else self
    ax = 0 if axis is None else _one_axis(axis, x.ndim, "repeat")
    reps = np.asarray(repeats)
    if reps.dtype.kind not in "iu" or (reps < 0).any():
        raise ValueError(f"repeat: repeats must be non-negative ints, got {repeats!r}")
    try:
        index = np.repeat(np.arange(x.shape[ax]), reps)
    except ValueError as e:
        raise ValueError(f"repeat: {e} (repeats {repeats!r}, axis of length {x.shape[ax]})") from None
    return x[(slice(None),) * ax + (index,)]


def _tile(self: Tensor, reps: Any) -> Tensor:
    """Return the tensor tiled ``reps`` times along each axis, like ``np.tile``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> Tensor([[1.0, 2.0]]).tile((2, 2)).numpy()
    array([[1., 2., 1., 2.],
           [1., 2., 1., 2.]])
    """
    reps = _ints(reps, "tile", "reps")
    if min(reps, default=0) < 0:
        raise ValueError(f"tile: reps must be non-negative, got {reps}")
    nd = max(len(reps), self.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    shape = (1,) * (nd - self.ndim) + self.shape
    # (s0, s1) -> (1, s0, 1, s1) -> broadcast to (r0, s0, r1, s1) -> (r0·s0, r1·s1)
    spread = self.reshape(tuple(v for n in shape for v in (1, n)))
    big = spread.broadcast_to(tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return big.reshape(tuple(r * n for r, n in zip(reps, shape)))


def _split(self: Tensor, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Return the tensor cut into pieces along ``axis``: ``n`` equal sections, or at the given indices (``np.split``).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> import numpy as np
    >>> [p.shape for p in Tensor(np.zeros((5, 2))).split([1, 3])]
    [(1, 2), (2, 2), (2, 2)]
    """
    ax = _one_axis(axis, self.ndim, "split")
    n = self.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into {indices_or_sections!r} equal sections")
        cuts = [i * (n // k) for i in range(1, k)]
    else:
        cuts = list(_ints(indices_or_sections, "split", "indices"))
    edges = [0] + cuts + [n]
    lead = (slice(None),) * ax
    return [self[lead + (slice(a, b),)] for a, b in zip(edges[:-1], edges[1:])]


register("flip", _flip)
register("repeat", _repeat)
register("tile", _tile)
register("split", _split)


# ============================================================================ padding
class Pad(Function):
    """Constant padding of every axis; the adjoint is the slice of the original region."""

    __slots__ = ()

    def forward(ctx, x, widths, value):
        ctx.saved = (tuple(slice(a, a + n) for (a, _), n in zip(widths, x.shape)),)
        if not widths:  # a 0-d tensor: nothing to pad
            return x.copy()
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(ctx, grad_out):
        (region,) = ctx.saved
        return (grad_out[region],)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: float = 0.0) -> Tensor:
    """Return ``x`` padded with ``constant_values``; ``pad_width`` is numpy's: n, (before, after) or one pair per axis.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, pad
    >>> pad(Tensor([1.0, 2.0]), (1, 2)).numpy()
    array([0., 1., 2., 0., 0.])
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got mode={mode!r}")
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2)) if x.ndim else np.zeros((0, 2), int)
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {x.shape}") from None
    if widths.size and (widths.dtype.kind not in "iu" or (widths < 0).any()):
        raise ValueError(f"pad: pad_width must be non-negative ints, got {pad_width!r}")
    return Pad.apply(x, widths=tuple((int(a), int(b)) for a, b in widths), value=float(constant_values))


def _pad_method(self: Tensor, pad_width: Any, mode: str = "constant", constant_values: float = 0.0) -> Tensor:
    """Return the tensor padded with ``constant_values`` (see ``tinygrad_bp.pad``)."""
    return pad(self, pad_width, mode, constant_values)


register("pad", _pad_method)


# ============================================================================ scatter-add
def scatter_add(x: Any, key: Any, values: Any) -> Tensor:
    """Return a copy of ``x`` with ``values`` added at ``x[key]``, repeated indices accumulating (``np.add.at``, out of place).

    Both ``x`` and ``values`` get gradients: ``x``'s passes straight through, ``values``' is the
    gradient read back at ``key``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, scatter_add
    >>> scatter_add(Tensor([0.0, 0.0, 0.0]), [0, 0, 2], Tensor([1.0, 2.0, 5.0])).numpy()
    array([3., 0., 5.])
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    key, fancy = _normalize_key(key)
    target = np.empty(x.shape, dtype=bool)[key].shape  # the shape values must broadcast to
    v = values if isinstance(values, Tensor) else Tensor(values, dtype=x.dtype)
    try:
        v = v.broadcast_to(target)
    except ValueError:
        raise ValueError(f"scatter_add: values of shape {v.shape} do not fit x[key] of shape {target}") from None
    return x + IndexAdd.apply(v, key=key, fancy=True, shape=x.shape)


def _index_add(self: Tensor, axis: int, index: Any, source: Any) -> Tensor:
    """Return a copy with ``source``'s slices added at positions ``index`` along ``axis`` (PyTorch's index_add).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> import numpy as np
    >>> Tensor(np.zeros((3, 2))).index_add(0, [2, 2], Tensor([[1.0, 1.0], [2.0, 2.0]])).numpy()
    array([[0., 0.],
           [0., 0.],
           [3., 3.]])
    """
    ax = _one_axis(axis, self.ndim, "index_add")
    idx = np.asarray(index.data if isinstance(index, Tensor) else index)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise ValueError(f"index_add: index must be a 1-D integer array, got shape {idx.shape} and dtype {idx.dtype}")
    source = source if isinstance(source, Tensor) else Tensor(source, dtype=self.dtype)
    expect = self.shape[:ax] + (len(idx),) + self.shape[ax + 1 :]
    if source.shape != expect:
        raise ValueError(f"index_add: source of shape {source.shape} does not fit {len(idx)} indices along axis {ax} of {self.shape}; expected {expect}")
    return scatter_add(self, (slice(None),) * ax + (idx,), source)


register("index_add", _index_add)

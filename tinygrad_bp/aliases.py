"""PyTorch's spellings where they cost nothing: ``dim=``/``keepdim=``, ``view``, ``numel``, ``float``, ``double``, ``t``.

numpy's names stay primary (and in the docs); these are thin wrappers over them.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .function import register
from .ops_math import _axis_alias
from .tensor import Tensor

__all__: list[str] = []


def _with_dim(name: str, numpy_form: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Return ``numpy_form`` (axis, keepdims) also accepting PyTorch's ``dim=`` and ``keepdim=``."""

    def method(self: Tensor, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Tensor:
        axis, keepdims = _axis_alias(name, axis, dim, keepdims, keepdim)
        return numpy_form(self, axis, keepdims)

    method.__name__ = name
    method.__doc__ = numpy_form.__doc__
    return method


def _with_one_dim(name: str, numpy_form: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(self: Tensor, axis: int = -1, *, dim: Any = None) -> Tensor:
        if dim is not None:
            if axis != -1:
                raise TypeError(f"{name}: pass axis= or its alias dim=, not both")
            axis = dim
        return numpy_form(self, axis)

    method.__name__ = name
    method.__doc__ = numpy_form.__doc__
    return method


for _name in ("sum", "mean", "max", "min"):
    register(_name, _with_dim(_name, getattr(Tensor, _name)))
for _name in ("softmax", "log_softmax"):
    register(_name, _with_one_dim(_name, getattr(Tensor, _name)))


def _view(self: Tensor, *shape: Any) -> Tensor:
    """Return the tensor with a new shape (PyTorch's name for reshape; the data is shared when numpy can)."""
    return self.reshape(*shape)


def _numel(self: Tensor) -> int:
    """Return the number of elements (PyTorch's name for ``size``)."""
    return int(self.data.size)


def _float(self: Tensor) -> Tensor:
    """Return the tensor as float32, differentiably (PyTorch's ``.float()``)."""
    return self.astype(np.float32)


def _double(self: Tensor) -> Tensor:
    """Return the tensor as float64, differentiably (PyTorch's ``.double()``)."""
    return self.astype(np.float64)


def _t(self: Tensor) -> Tensor:
    """Return a tensor of at most 2 dimensions transposed (PyTorch's ``.t()``; use ``.T`` or ``.mT`` beyond)."""
    if self.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dimensions, got shape {self.shape}; use .mT or .transpose(...)")
    return self.transpose()


register("view", _view)
register("numel", _numel)
register("float", _float)
register("double", _double)
register("t", _t)

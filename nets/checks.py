"""Argument checks shared by the ``nets`` modules, written once: numbers, float dtypes, ints, labels, one-hot.

Every check raises a TypeError (wrong kind of value) or ValueError (right kind, bad value) whose
message starts with ``who``, the public function or method that was called.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_bp import Tensor

__all__ = ["is_number", "number", "count", "numbers", "float_dtype", "labels", "one_hot", "layer_sizes", "excerpt"]

MAX_PARAM_BYTES = 1 << 36
"""64 GiB: a network whose parameters need more is refused, naming its sizes, before anything is allocated."""


def is_number(value: Any) -> bool:
    """Return whether ``value`` is a real number (a Python or numpy int or float, not a bool).

    Examples
    --------
    >>> from nets.checks import is_number
    >>> is_number(3), is_number(2.5), is_number(True), is_number("1")
    (True, True, False, False)
    """
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def number(value: Any, who: str, name: str, low: float = 0.0, high: float = float("inf")) -> float:
    """Return ``value`` as a float after checking it is a number in [low, high).

    Examples
    --------
    >>> from nets.checks import number
    >>> number(3, "SGD", "lr")
    3.0
    >>> try:
    ...     number(-1.0, "SGD", "lr")
    ... except ValueError as e:
    ...     print(e)
    SGD: lr must be in [0.0, inf), got -1.0
    """
    if not is_number(value):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not (low <= v < high):  # also refuses NaN
        raise ValueError(f"{who}: {name} must be in [{low}, {high}), got {value}")
    return v


def count(value: Any, who: str, name: str, low: int = 0) -> int:
    """Return ``value`` as an int after checking it is an int (not a bool) of at least ``low``.

    Examples
    --------
    >>> from nets.checks import count
    >>> count(30, "Network.SGD", "epochs")
    30
    >>> try:
    ...     count(2.5, "Network.SGD", "epochs")
    ... except TypeError as e:
    ...     print(e)
    Network.SGD: epochs must be an int >= 0, got 2.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be an int >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{who}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def numbers(value: Any, who: str, what: str, dtype: Any = None) -> np.ndarray:
    """Return ``value`` as a numeric array (of ``dtype`` when given), or raise naming ``who`` and ``what``.

    Examples
    --------
    >>> from nets.checks import numbers
    >>> numbers([[1, 2]], "f", "x", "float64")
    array([[1., 2.]])
    >>> try:
    ...     numbers([[1], [2, 3]], "f", "x")
    ... except ValueError as e:
    ...     print(str(e).split(" (")[0])
    f: x is not a rectangular array of numbers
    """
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{who}: {what} is a masked array; pass plain numbers (e.g. value.filled())")
    try:
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
    except ValueError as e:
        raise ValueError(f"{who}: {what} is not a rectangular array of numbers ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {what} must hold numbers, got {type(value).__name__} of dtype {arr.dtype}")
    return arr if dtype is None else arr.astype(dtype, copy=False)


def float_dtype(dtype: Any, who: str, allowed: tuple[str, ...] | None = None) -> np.dtype:
    """Return ``dtype`` as a numpy float dtype (one of ``allowed`` when given), or raise a TypeError naming ``who``.

    Examples
    --------
    >>> from nets.checks import float_dtype
    >>> float_dtype("float32", "Network")
    dtype('float32')
    >>> try:
    ...     float_dtype(int, "load_data", ("float32", "float64"))
    ... except TypeError as e:
    ...     print(e)
    load_data: dtype must be one of float32, float64, got int64
    """
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: dtype must be a float dtype, got {dtype!r}") from None
    if allowed is not None and dt.name not in allowed:
        raise TypeError(f"{who}: dtype must be one of {', '.join(allowed)}, got {dt}")
    if dt.kind != "f":
        raise TypeError(f"{who}: dtype must be a float dtype, got {dt}")
    return dt


def labels(value: Any, n_out: int, who: str, what: str = "labels") -> np.ndarray:
    """Return int class labels as a 1-D array after checking they lie in [0, n_out).

    Examples
    --------
    >>> from nets.checks import labels
    >>> labels([2, 0], 3, "one_hot")
    array([2, 0])
    >>> try:
    ...     labels([3], 3, "one_hot")
    ... except ValueError as e:
    ...     print(e)
    one_hot: labels must lie in [0, 3), got range [3, 3]
    """
    arr = numbers(value, who, what) if not isinstance(value, np.ndarray) else value
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{who}: {what} must be a 1-D int array, got shape {arr.shape} and dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n_out):
        raise ValueError(f"{who}: {what} must lie in [0, {n_out}), got range [{arr.min()}, {arr.max()}]")
    return arr


def one_hot(values: Any, n_out: int, dtype: Any = np.float64, who: str = "one_hot") -> np.ndarray:
    """Return int labels (N,) as one-hot rows (N, n_out).

    Examples
    --------
    >>> from nets.checks import one_hot
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    n_out = count(n_out, who, "n_out", 1)
    arr = labels(values, n_out, who).astype(np.intp, copy=False)
    out = np.zeros((arr.shape[0], n_out), dtype=float_dtype(dtype, who))
    out[np.arange(arr.shape[0]), arr] = 1
    return out


def excerpt(value: Any, limit: int = 60) -> str:
    """Return ``repr(value)`` cut to about ``limit`` characters, for quoting user or file content in a message.

    Examples
    --------
    >>> from nets.checks import excerpt
    >>> excerpt("x" * 1000)[:10], len(excerpt("x" * 1000)) < 80
    ("'xxxxxxxxx", True)
    """
    if isinstance(value, (list, str)) and len(value) > limit:
        return f"{value[:limit]!r}"[:limit] + f"… ({type(value).__name__} of {len(value)} cut)"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def layer_sizes(sizes: Any, who: str, itemsize: int = 8) -> list[int]:
    """Return layer widths as a list of ints after checking them, and that their parameters can fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.checks import layer_sizes
    >>> layer_sizes(np.array([784, 30, 10]), "Network")
    [784, 30, 10]
    >>> try:
    ...     layer_sizes([784, 100000000, 10], "Network")
    ... except ValueError as e:
    ...     print(str(e).split(";")[0])
    Network: sizes [784, 100000000, 10] need 592 GiB of parameters (width 100000000 of layer 1)
    """
    if isinstance(sizes, np.ma.MaskedArray):
        raise TypeError(f"{who}: sizes must be a sequence of ints, got a masked array")
    if isinstance(sizes, (str, bytes, dict)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"{who}: sizes must be a sequence of ints, got {type(sizes).__name__}")
    sizes = list(sizes)
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        raise TypeError(f"{who}: sizes must be a sequence of ints, got {excerpt(sizes)}")
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"{who}: sizes needs at least two positive layer widths, got {excerpt(sizes)}")
    need = itemsize * sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    if need > MAX_PARAM_BYTES:
        big = max(range(len(sizes)), key=lambda i: sizes[i])
        raise ValueError(
            f"{who}: sizes {excerpt(sizes)} need {need / 2**30:.0f} GiB of parameters (width {sizes[big]} of "
            f"layer {big}); that cannot fit in memory"
        )
    return sizes

"""Data conversion for ``Network``: Nielsen's lists of (x, y) pairs or (X, Y) arrays, as row matrices, checked once.

A network trains on rows: X (N, n_in) in its dtype, and targets that are either int labels (N,)
or rows (N, n_out).  Everything a user may pass is turned into that here, up front, so that the
training loop only slices arrays.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .checks import labels, numbers, one_hot

__all__ = ["as_arrays", "targets", "label_array"]


def _is_array_pair(data: Any) -> bool:
    return (
        isinstance(data, tuple)
        and len(data) == 2
        and isinstance(data[0], np.ndarray)
        and isinstance(data[1], np.ndarray)
        and data[0].ndim >= 2
        and data[1].ndim >= 1
        and data[0].shape[0] == data[1].shape[0]
    )


def _from_arrays(data: tuple[np.ndarray, np.ndarray], n_in: int, dtype: np.dtype, who: str) -> tuple[np.ndarray, np.ndarray]:
    X, T = data
    if X.ndim == 3 and X.shape[2] == 1:  # a stack of Nielsen's (n, 1) columns
        X = X[:, :, 0]
    if T.ndim == 3 and T.shape[2] == 1:
        T = T[:, :, 0]
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"{who}: X of shape {data[0].shape} does not fit {n_in} inputs; pass (N, {n_in})")
    X = numbers(X, who, "X", dtype)
    if T.dtype.kind not in "biuf":
        raise TypeError(f"{who}: targets must hold numbers, got dtype {T.dtype}")
    return X, T


def _from_pairs(data: Any, n_in: int, n_out: int, dtype: np.dtype, who: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, np.ndarray):
        raise TypeError(f"{who}: got one array of shape {data.shape}; pass (X, Y) as a tuple, or a list of (x, y) pairs")
    try:
        pairs = list(data)
    except TypeError:
        raise TypeError(f"{who}: data must be a list of (x, y) pairs or an (X, Y) tuple of arrays") from None
    if not pairs:
        raise ValueError(f"{who}: the data set is empty")
    xs, ts = [], []
    for i, item in enumerate(pairs):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise TypeError(f"{who}: item {i} is not an (x, y) pair")
        x, t = item
        x = numbers(x, who, f"item {i}'s x")
        if x.size != n_in:
            raise ValueError(f"{who}: item {i} has x of shape {x.shape}; expected ({n_in}, 1)")
        xs.append(x.reshape(n_in))
        ts.append(t)
    X = np.array(xs, dtype=dtype)
    if all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in ts):
        return X, np.array(ts, dtype=np.intp)
    vecs = []
    for i, t in enumerate(ts):
        t = numbers(t, who, f"item {i}'s y")
        if t.dtype.kind not in "iuf" or t.size != n_out or t.ndim == 0:
            raise ValueError(f"{who}: item {i} has y of shape {t.shape}; expected an int label or ({n_out}, 1)")
        vecs.append(t.reshape(n_out))
    return X, np.array(vecs, dtype=dtype)


def as_arrays(data: Any, n_in: int, n_out: int, dtype: np.dtype, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``data`` as X (N, n_in) of ``dtype`` and its raw targets: int labels (N,) or rows (N, n_out).

    Examples
    --------
    >>> import numpy as np
    >>> from nets.batches import as_arrays
    >>> X, T = as_arrays([(np.zeros((3, 1)), 2), (np.ones((3, 1)), 0)], 3, 4, np.dtype("float64"), "f")
    >>> X.shape, T.tolist()
    ((2, 3), [2, 0])
    """
    if _is_array_pair(data):
        X, T = _from_arrays(data, n_in, dtype, who)
    else:
        X, T = _from_pairs(data, n_in, n_out, dtype, who)
    if T.ndim == 1:
        if T.dtype.kind not in "iu":
            raise ValueError(f"{who}: 1-D targets must be int labels, got dtype {T.dtype}")
        labels(T, n_out, who)
    elif T.ndim != 2 or T.shape[1] != n_out:
        raise ValueError(f"{who}: targets of shape {T.shape} do not fit {n_out} outputs; pass (N, {n_out}) or labels (N,)")
    if X.shape[0] == 0:
        raise ValueError(f"{who}: the data set is empty")
    return X, T


def targets(T: np.ndarray, n_out: int, dtype: np.dtype) -> np.ndarray:
    """Return the targets ``as_arrays`` gave as rows (N, n_out): int labels one-hot encoded.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.batches import targets
    >>> targets(np.array([1]), 2, np.dtype("float32"))
    array([[0., 1.]], dtype=float32)
    """
    return one_hot(T, n_out, dtype) if T.ndim == 1 else np.asarray(T, dtype=dtype)


def label_array(T: np.ndarray) -> np.ndarray:
    """Return the int classes of the targets ``as_arrays`` gave: the labels, or the argmax of each row.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.batches import label_array
    >>> label_array(np.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
    [1, 0]
    """
    return T if T.ndim == 1 else np.argmax(T, axis=1)

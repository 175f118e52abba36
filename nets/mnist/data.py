"""MNIST as arrays: the IDX folder and Nielsen's pickle read into (X, y) splits, and Nielsen's list form.

``X`` is (N, 784) floats in [0, 1] and ``y`` (N,) int64.  Where the data comes from is :mod:`.fetch`'s job.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import float_dtype
from . import safe_pickle
from .errors import MNISTError
from .fetch import find_data
from .idx import CHUNK, FILES, MAX_BYTES, find_idx, missing_idx, open_data_file, read_idx

__all__ = ["load_idx_folder", "load_pickle", "load_data", "load_data_wrapper", "MAX_FLOAT_BYTES"]

_VALIDATION_SIZE = 10_000
MAX_FLOAT_BYTES = 1 << 31
"""The largest float image array a load converts to (2 GiB): a larger images file is refused, not converted."""


def _float_dtype(dtype: Any, who: str) -> np.dtype:
    return float_dtype(dtype, who, ("float32", "float64"))


def _pixels(raw: np.ndarray, path: Path, dtype: np.dtype) -> np.ndarray:
    if raw.ndim != 3:
        raise MNISTError(f"{path}: expected an images file with 3 dimensions (N, rows, cols), got shape {raw.shape}")
    if raw.dtype != np.uint8:
        raise MNISTError(f"{path}: expected unsigned-byte pixels (IDX type 0x08), got {raw.dtype}")
    if raw.shape[0] == 0:
        raise MNISTError(f"{path}: the header declares 0 images; an images file must hold at least one")
    need = raw.size * dtype.itemsize
    if need > MAX_FLOAT_BYTES:
        # Refused rather than converted in chunks: the result itself would not fit in a sane budget.
        raise MNISTError(
            f"{path}: refused: {raw.shape[0]} images need {need / 2**20:.0f} MiB as {dtype} "
            f"(limit {MAX_FLOAT_BYTES / 2**20:.0f} MiB); use float32 or a smaller file"
        )
    x = raw.reshape(raw.shape[0], -1).astype(dtype)
    x /= 255.0
    return x


def _labels(raw: np.ndarray, path: Path) -> np.ndarray:
    if raw.ndim != 1:
        raise MNISTError(f"{path}: expected a labels file with 1 dimension (N,), got shape {raw.shape}")
    if raw.dtype.kind not in "iu":
        raise MNISTError(f"{path}: expected integer labels, got {raw.dtype}")
    if raw.size and (raw.min() < 0 or raw.max() > 9):
        raise MNISTError(f"{path}: labels must be digits 0..9, found values from {raw.min()} to {raw.max()}")
    return raw.astype(np.int64)


def load_idx_folder(
    folder: str | os.PathLike[str], dtype: Any = np.float64
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``((X_train, y_train), (X_test, y_test))`` from the four standard IDX files in ``folder``.

    X is (N, rows*cols) with pixels in [0, 1] of ``dtype``; y is (N,) int64.

    Raises
    ------
    MNISTError
        naming the file when one is missing, corrupted, or when image and label counts differ.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from nets.mnist import FILES, load_idx_folder, write_idx
    >>> d = tempfile.mkdtemp()
    >>> for key, stem in FILES.items():
    ...     shape = (4, 28, 28) if key.endswith("images") else (4,)
    ...     write_idx(os.path.join(d, stem + ".gz"), np.full(shape, 255 if key.endswith("images") else 7, np.uint8))
    >>> (X, y), (X_test, y_test) = load_idx_folder(d)
    >>> X.shape, float(X.max()), y.tolist()
    ((4, 784), 1.0, [7, 7, 7, 7])
    """
    folder = Path(folder)
    dtype = _float_dtype(dtype, "load_idx_folder")
    missing = missing_idx(folder)
    if missing:
        raise MNISTError(f"{folder}: missing {', '.join(missing)} (.gz or uncompressed)")
    out = []
    for split in ("train", "test"):
        ipath = find_idx(folder, FILES[f"{split}_images"])
        lpath = find_idx(folder, FILES[f"{split}_labels"])
        assert ipath is not None and lpath is not None
        x = _pixels(read_idx(ipath), ipath, dtype)
        y = _labels(read_idx(lpath), lpath)
        if len(x) != len(y):
            raise MNISTError(f"{ipath}: {len(x)} images but {lpath.name} has {len(y)} labels")
        out.append((x, y))
    return out[0], out[1]




def _read_bounded(path: Path) -> bytes:
    # Decompressed in chunks, so the memory follows the data present, never a size the file declares.
    parts, total = [], 0
    try:
        with open_data_file(path) as f:
            while chunk := f.read(CHUNK):
                total += len(chunk)
                if total > MAX_BYTES:
                    raise MNISTError(f"{path}: refused: more than {MAX_BYTES} bytes once decompressed")
                parts.append(chunk)
    except (OSError, EOFError, zlib.error) as e:
        raise MNISTError(f"{path}: cannot read: {e.strerror if isinstance(e, OSError) and e.strerror else e}") from None
    return b"".join(parts)


def _check_split(obj: Any, path: Path, name: str, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(obj, tuple) and len(obj) == 2):
        raise MNISTError(f"{path}: the {name} set must be a tuple (images, labels), got {type(obj).__name__}")
    x, y = obj
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
        raise MNISTError(f"{path}: the {name} set must hold two numpy arrays")
    if x.ndim != 2 or x.dtype.kind != "f":
        raise MNISTError(f"{path}: {name} images must be a 2-D float array (N, 784), got {x.dtype} {x.shape}")
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise MNISTError(f"{path}: {name} labels must be a 1-D int array (N,), got {y.dtype} {y.shape}")
    if len(x) != len(y):
        raise MNISTError(f"{path}: {name} set has {len(x)} images but {len(y)} labels")
    if len(x) == 0:
        raise MNISTError(f"{path}: the {name} set holds no images")
    if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
        raise MNISTError(f"{path}: {name} pixels must be finite and in [0, 1]")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise MNISTError(f"{path}: {name} labels must be digits 0..9, found {y.min()}..{y.max()}")
    return x.astype(dtype), y.astype(np.int64)


def load_pickle(
    path: str | os.PathLike[str], dtype: Any = np.float64
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Return Nielsen's ``(training, validation, test)`` array pairs from ``mnist.pkl.gz``, without running code.

    The file is never unpickled: :mod:`nets.mnist.safe_pickle` walks its opcodes and accepts only the grammar of
    Nielsen's file (tuples of numpy arrays of plain numeric dtypes), so a pickle naming any other global
    (``os.system``, ``builtins.eval``, a class, ...) or any other construct is refused, naming the offset and the
    opcode, and nothing it names is imported or called.  Python 2 pickles (Nielsen's file) and Python 3 ones
    (numpy 1.x or 2.x, protocols 2 to 5) both load.

    Raises
    ------
    MNISTError
        naming the file: refused content, corrupted gzip or pickle, or arrays of the wrong shape, type or range.

    Examples
    --------
    >>> import gzip, pickle, tempfile, os, numpy as np
    >>> from nets.mnist import load_pickle
    >>> p = os.path.join(tempfile.mkdtemp(), "mnist.pkl.gz")
    >>> pair = (np.zeros((2, 784), np.float32), np.array([1, 2]))
    >>> with gzip.open(p, "wb") as f:
    ...     pickle.dump((pair, pair, pair), f, protocol=2)
    >>> [x.shape for x, y in load_pickle(p)]
    [(2, 784), (2, 784), (2, 784)]
    """
    path = Path(path)
    dtype = _float_dtype(dtype, "load_pickle")
    raw = _read_bounded(path)
    try:
        obj = safe_pickle.parse(raw)
    except safe_pickle.PickleRefused as e:
        raise MNISTError(f"{path}: refused: {e}") from None
    finally:
        del raw
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise MNISTError(f"{path}: expected a tuple (training, validation, test), got {type(obj).__name__}")
    splits = tuple(_check_split(s, path, n, dtype) for s, n in zip(obj, ("training", "validation", "test")))
    widths = {x.shape[1] for x, _ in splits}
    if len(widths) != 1:
        raise MNISTError(f"{path}: the three sets have different image sizes {sorted(widths)}")
    return splits


def _is_pickle(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".pkl.gz") or path.name.endswith(".pkl"))


def load_data(
    data: str | os.PathLike[str] | None = None,
    dtype: Any = np.float64,
    *,
    validation_size: int = _VALIDATION_SIZE,
    **lookup: Any,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``((X, y), (X_val, y_val), (X_test, y_test))``: X (N, 784) floats in [0, 1], y (N,) int64.

    Nielsen's split: the first 50,000 training images train, the last ``validation_size`` (10,000) validate,
    the 10,000 test images test.  A training set no bigger than ``validation_size`` (a small synthetic set)
    keeps its last sixth for validation, MNIST's own ratio.  ``data`` and ``lookup`` go to :func:`find_data`.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from nets.mnist import FILES, load_data, write_idx
    >>> d = tempfile.mkdtemp()
    >>> for key, stem in FILES.items():
    ...     shape = (12, 28, 28) if key.endswith("images") else (12,)
    ...     write_idx(os.path.join(d, stem), np.zeros(shape, np.uint8))
    >>> [(X.shape, y.shape) for X, y in load_data(d, np.float32)]
    [((10, 784), (10,)), ((2, 784), (2,)), ((12, 784), (12,))]
    """
    dtype = _float_dtype(dtype, "load_data")
    source = find_data(data, **lookup)
    if _is_pickle(source):
        train, val, test = load_pickle(source, dtype)
        return train, val, test
    (x, y), test = load_idx_folder(source, dtype)
    n_val = validation_size if len(x) > validation_size else len(x) // 6
    cut = len(x) - n_val
    return (x[:cut], y[:cut]), (x[cut:], y[cut:]), test


def load_data_wrapper(
    data: str | os.PathLike[str] | None = None, dtype: Any = np.float64, **lookup: Any
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, int]], list[tuple[np.ndarray, int]]]:
    """Return Nielsen's ``(training_data, validation_data, test_data)`` lists of ``(x, y)`` pairs.

    Training pairs are x (784, 1) and a one-hot y (10, 1); validation and test pairs are x (784, 1) and an int.
    Arguments are those of :func:`load_data`.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from nets.mnist import FILES, load_data_wrapper, write_idx
    >>> d = tempfile.mkdtemp()
    >>> for key, stem in FILES.items():
    ...     shape = (12, 28, 28) if key.endswith("images") else (12,)
    ...     write_idx(os.path.join(d, stem), np.full(shape, 3, np.uint8))
    >>> tr, va, te = load_data_wrapper(d)
    >>> tr[0][0].shape, tr[0][1].ravel().tolist(), va[0][1]
    ((784, 1), [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 3)
    """
    (x, y), (x_val, y_val), (x_test, y_test) = load_data(data, dtype, **lookup)
    eye = np.eye(10, dtype=x.dtype)
    training = [(xi.reshape(-1, 1), eye[yi].reshape(10, 1)) for xi, yi in zip(x, y)]
    validation = [(xi.reshape(-1, 1), int(yi)) for xi, yi in zip(x_val, y_val)]
    test = [(xi.reshape(-1, 1), int(yi)) for xi, yi in zip(x_test, y_test)]
    return training, validation, test

"""MNIST for ``nets``: IDX and ``mnist.pkl.gz`` readers, data lookup with a verified download, and the training command.

Run ``python -m nets.mnist --help`` (or the ``nets-mnist`` console script) for the command.  The data layer is usable
on its own::

    from nets import mnist
    training_data, validation_data, test_data = mnist.load_data_wrapper()   # Nielsen's lists of (x, y) pairs
    (X, y), (X_val, y_val), (X_test, y_test) = mnist.load_data()          # arrays: X (N, 784), y (N,)
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import os
import pickle
import signal
import struct
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Sequence

import numpy as np

__all__ = [
    "MNISTError",
    "MNISTNotFoundError",
    "FILES",
    "MIRRORS",
    "CHECKSUMS",
    "build_parser",
    "read_idx",
    "write_idx",
    "load_idx_folder",
    "load_pickle",
    "load_data",
    "load_data_wrapper",
    "find_data",
    "default_cache_dir",
    "download",
    "main",
]

# The four standard file stems, in the order (train images, train labels, test images, test labels).
FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# md5 of the .gz files every public mirror serves, and of their uncompressed content (a re-compressed copy of
# the same data, e.g. one made by a different gzip, still verifies through the second table).
_MD5_GZ: dict[str, str] = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
_MD5_RAW: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# IDX type byte -> big-endian numpy dtype (the IDX format's own table).
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt: code for code, dt in _IDX_DTYPES.items()}

# No MNIST file comes near this; it only stops a corrupted header or a gzip bomb from exhausting memory.
MAX_BYTES = 1 << 30
_CHUNK = 1 << 20
_VALIDATION_SIZE = 10_000


class MNISTError(ValueError):
    """Return the error raised for a data file that breaks its format: magic, dimensions, counts, length, content.

    Its message starts with the file's path.

    Examples
    --------
    >>> import os, tempfile
    >>> from nets.mnist import MNISTError, read_idx
    >>> p = os.path.join(tempfile.mkdtemp(), "bad-idx1-ubyte")
    >>> with open(p, "wb") as f:
    ...     _ = f.write(b"\x01\x02")
    >>> try:
    ...     read_idx(p)
    ... except MNISTError as e:
    ...     print(str(e).endswith("truncated header: expected 4 bytes, found 2"))
    True
    """


class MNISTNotFoundError(FileNotFoundError):
    """Return the error raised when no MNIST data is where we looked and none could be downloaded.

    Examples
    --------
    >>> from nets.mnist import MNISTNotFoundError, find_data
    >>> try:
    ...     find_data("/no/such/folder")
    ... except MNISTNotFoundError as e:
    ...     print(str(e).splitlines()[0])
    no MNIST data: --data /no/such/folder does not exist.
    """


# --------------------------------------------------------------------------------------------------------------
# IDX


def _open_maybe_gzip(path: Path) -> IO[bytes]:
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _read_exact(f: IO[bytes], n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise MNISTError(f"{path}: truncated {what}: expected {n} bytes, found {len(data)}")
    return data


def _read_payload(f: IO[bytes], n: int, path: Path) -> bytearray:
    # Grow the buffer with the data actually present, never with the size the header declares: a lying header
    # in a small file must fail on the length check, not on a huge allocation.
    buf = bytearray()
    while len(buf) <= n:
        chunk = f.read(min(_CHUNK, n + 1 - len(buf)))
        if not chunk:
            break
        buf += chunk
    if len(buf) < n:
        raise MNISTError(f"{path}: truncated: the header declares {n} data bytes, the file has {len(buf)}")
    if len(buf) > n:
        raise MNISTError(f"{path}: too long: data continues after the {n} bytes the header declares")
    return buf


def read_idx(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Return the array stored in an IDX file (gzip-compressed or raw), after checking its header and length.

    The header is two zero bytes, a type byte (0x08 ubyte ... 0x0E double), the number of dimensions and
    one big-endian uint32 per dimension.  The declared size is checked against the file before any
    allocation of that size.

    Parameters
    ----------
    path : path-like
        An IDX file; gzip is recognised by its magic bytes, whatever the name.
    max_bytes : int
        Refuse files declaring more data than this.

    Returns
    -------
    numpy.ndarray
        The data in native byte order, with the declared shape (uint8 for MNIST).

    Raises
    ------
    MNISTError
        (a ValueError) naming the file and the problem: bad magic, unknown type, zero or absurd dimensions,
        truncated or over-long data, corrupted gzip stream.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from nets.mnist import read_idx, write_idx
    >>> p = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte.gz")
    >>> write_idx(p, np.array([3, 1, 4], dtype=np.uint8))
    >>> read_idx(p)
    array([3, 1, 4], dtype=uint8)
    """
    path = Path(path)
    try:
        f = _open_maybe_gzip(path)
    except OSError as e:
        raise MNISTError(f"{path}: cannot open: {e.strerror or e}") from None
    gz = isinstance(f, gzip.GzipFile)
    try:
        with f:
            magic = _read_exact(f, 4, path, "header")
            if magic[0] != 0 or magic[1] != 0:
                raise MNISTError(
                    f"{path}: bad magic number 0x{magic.hex()}: an IDX file starts with two zero bytes "
                    "(0x00000801 for labels, 0x00000803 for images)"
                )
            dtype = _IDX_DTYPES.get(magic[2])
            if dtype is None:
                raise MNISTError(f"{path}: bad magic number 0x{magic.hex()}: unknown IDX type byte 0x{magic[2]:02x}")
            ndim = magic[3]
            if ndim == 0:
                raise MNISTError(f"{path}: bad magic number 0x{magic.hex()}: zero dimensions")
            dims = tuple(int(d) for d in np.frombuffer(_read_exact(f, 4 * ndim, path, "dimensions"), ">u4"))
            nbytes = dtype.itemsize
            for d in dims:
                nbytes *= d
            if nbytes > max_bytes:
                raise MNISTError(f"{path}: the header declares dimensions {dims}, {nbytes} bytes (limit {max_bytes})")
            if not gz:
                actual = os.path.getsize(path) - 4 - 4 * ndim
                if actual != nbytes:
                    kind = "truncated" if actual < nbytes else "too long"
                    raise MNISTError(
                        f"{path}: {kind}: dimensions {dims} need {nbytes} data bytes, the file has {actual}"
                    )
            payload = _read_payload(f, nbytes, path)
    except (OSError, EOFError, zlib.error) as e:
        # gzip reports a cut-off or damaged stream as EOFError / BadGzipFile (an OSError) / zlib.error.
        raise MNISTError(f"{path}: corrupted gzip data: {e}") from None
    return np.frombuffer(payload, dtype).reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Return nothing; write ``array`` as an IDX file, gzip-compressed when the name ends in ``.gz``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from nets.mnist import read_idx, write_idx
    >>> p = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte")
    >>> write_idx(p, np.zeros((2, 3, 3), dtype=np.uint8))
    >>> read_idx(p).shape
    (2, 3, 3)
    """
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = _IDX_CODES.get(dtype)
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise TypeError(f"write_idx: cannot store dtype {array.dtype} with shape {array.shape} in IDX")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    body = header + np.ascontiguousarray(array, dtype).tobytes()
    opener: Callable[..., IO[bytes]] = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(body)


def _find_idx(folder: Path, stem: str) -> Path | None:
    # The standard names, plus the dotted spelling some mirrors and archives use.
    dotted = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, dotted + ".gz", dotted):
        if (folder / name).is_file():
            return folder / name
    return None


def _missing_idx(folder: Path) -> list[str]:
    return [stem for stem in FILES.values() if _find_idx(folder, stem) is None]


def _pixels(raw: np.ndarray, path: Path, dtype: np.dtype) -> np.ndarray:
    if raw.ndim != 3:
        raise MNISTError(f"{path}: expected an images file with 3 dimensions (N, rows, cols), got shape {raw.shape}")
    if raw.dtype != np.uint8:
        raise MNISTError(f"{path}: expected unsigned-byte pixels (IDX type 0x08), got {raw.dtype}")
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
    missing = _missing_idx(folder)
    if missing:
        raise MNISTError(f"{folder}: missing {', '.join(missing)} (.gz or uncompressed)")
    out = []
    for split in ("train", "test"):
        ipath = _find_idx(folder, FILES[f"{split}_images"])
        lpath = _find_idx(folder, FILES[f"{split}_labels"])
        assert ipath is not None and lpath is not None
        x = _pixels(read_idx(ipath), ipath, dtype)
        y = _labels(read_idx(lpath), lpath)
        if len(x) != len(y):
            raise MNISTError(f"{ipath}: {len(x)} images but {lpath.name} has {len(y)} labels")
        out.append((x, y))
    return out[0], out[1]


def _float_dtype(dtype: Any, who: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{who}: dtype must be float32 or float64, got {dt}")
    return dt


# --------------------------------------------------------------------------------------------------------------
# Nielsen's mnist.pkl.gz, through an unpickler that can only rebuild numeric numpy arrays and tuples

_NDARRAY = object()  # stands in for numpy.ndarray: only _reconstruct may use it; calling it is refused


def _np_private(name: str) -> Any:
    # numpy 2 moved numpy.core to numpy._core; look in both so pickles from either generation load.
    for mod in ("numpy._core.multiarray", "numpy._core.numeric", "numpy.core.multiarray", "numpy.core.numeric"):
        try:
            m = __import__(mod, fromlist=[name])
        except ImportError:
            continue
        if hasattr(m, name):
            return getattr(m, name)
    raise ImportError(f"numpy has no {name}")  # pragma: no cover


class _Refused(pickle.UnpicklingError):
    pass


def _shape_arg(shape: Any, who: str) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or not all(type(d) is int and 0 <= d for d in shape):
        raise _Refused(f"{who}: shape must be a tuple of non-negative ints, got {shape!r}")
    n = 1
    for d in shape:
        n *= d
    if n > MAX_BYTES:
        raise _Refused(f"{who}: shape {shape} is too large")
    return shape


def _safe_dtype(spec: Any, align: Any = False, copy: Any = False) -> np.dtype:
    if not isinstance(spec, str) or not isinstance(align, bool) or not isinstance(copy, bool):
        raise _Refused(f"numpy.dtype: refused arguments {spec!r}, {align!r}, {copy!r}")
    dt = np.dtype(spec, align=align, copy=copy)
    if dt.kind not in "biuf" or dt.fields is not None or dt.subdtype is not None:
        raise _Refused(f"numpy.dtype: refused dtype {spec!r}: only plain numeric dtypes are allowed")
    return dt


def _safe_reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    if subtype is not _NDARRAY or typecode not in (b"b", "b"):
        raise _Refused("numpy _reconstruct: only plain numpy.ndarray may be rebuilt")
    return _np_private("_reconstruct")(np.ndarray, _shape_arg(shape, "_reconstruct"), b"b")


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    if not isinstance(buf, (bytes, bytearray, pickle.PickleBuffer)) or not isinstance(dtype, np.dtype):
        raise _Refused("numpy _frombuffer: refused arguments")
    if dtype.kind not in "biuf" or dtype.fields is not None or order not in ("C", "F"):
        raise _Refused(f"numpy _frombuffer: refused dtype {dtype} / order {order!r}")
    return np.frombuffer(buf, dtype=dtype).reshape(_shape_arg(shape, "_frombuffer"), order=order)


def _safe_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode: refused arguments ({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _safe_dtype,
    ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _safe_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _safe_frombuffer,
    ("_codecs", "encode"): _safe_encode,
}


class _RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    # Every global a pickle names goes through find_class, so a pickle can only ever call the wrappers above.
    # The pure-Python unpickler, not the C one: the C unpickler allocates the byte count an opcode declares
    # before reading the bytes, so a few bytes claiming 2 GiB allocate 2 GiB.  This one reads through
    # _GrowingReader, whose buffers grow with the data actually present.  (MNIST pickles hold a few large
    # opcodes, so the speed is the same.)
    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"refused global {module}.{name}: only numpy arrays and tuples may be unpickled") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("refused persistent id")

    def _load_bytearray8(self) -> None:
        # The stock loader allocates bytearray(declared size) first; read the bytes, then copy.
        (n,) = struct.unpack("<Q", self.read(8))
        self.append(bytearray(self.read(n)))

    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8


class _GrowingReader:
    """A read-only stream for the unpickler: ``read(n)`` fetches ``n`` bytes in chunks, so its memory follows
    the bytes present rather than ``n``; a short read is an error; more than ``limit`` bytes in all is refused."""

    def __init__(self, f: IO[bytes], limit: int) -> None:
        self._f, self._left = f, limit

    def _count(self, n: int) -> None:
        self._left -= n
        if self._left < 0:
            raise _Refused(f"more than {MAX_BYTES} bytes of data")

    def read(self, n: int) -> bytes:
        if n <= _CHUNK:
            data = self._f.read(n)
        else:
            parts, got = [], 0
            while got < n:
                chunk = self._f.read(min(_CHUNK, n - got))
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
                if got > self._left:
                    raise _Refused(f"more than {MAX_BYTES} bytes of data")
            data = b"".join(parts)
        self._count(len(data))
        if len(data) < n:
            raise EOFError(f"truncated: expected {n} more bytes, the file has {len(data)}")
        return data

    def readline(self) -> bytes:
        line = self._f.readline(self._left + 1)
        self._count(len(line))
        return line


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
    if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
        raise MNISTError(f"{path}: {name} pixels must be finite and in [0, 1]")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise MNISTError(f"{path}: {name} labels must be digits 0..9, found {y.min()}..{y.max()}")
    return x.astype(dtype), y.astype(np.int64)


def load_pickle(
    path: str | os.PathLike[str], dtype: Any = np.float64
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Return Nielsen's ``(training, validation, test)`` array pairs from ``mnist.pkl.gz``, without running code.

    The unpickler only knows how to rebuild numeric numpy arrays, their dtypes and tuples; a pickle that names
    any other global (``os.system``, ``builtins.eval``, a class, ...) is refused before anything is called.
    Python 2 pickles (Nielsen's file) and Python 3 ones (numpy 1.x or 2.x) both load.

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
    try:
        with _open_maybe_gzip(path) as f:
            obj = _RestrictedUnpickler(_GrowingReader(f, MAX_BYTES), encoding="latin1").load()
    except _Refused as e:
        raise MNISTError(f"{path}: refused: {e}") from None
    except (OSError, EOFError, zlib.error) as e:
        raise MNISTError(f"{path}: cannot read: {e}") from None
    except Exception as e:  # a malformed pickle can raise almost anything from inside the unpickler
        raise MNISTError(f"{path}: not a valid MNIST pickle: {type(e).__name__}: {e}") from None
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise MNISTError(f"{path}: expected a tuple (training, validation, test), got {type(obj).__name__}")
    splits = tuple(_check_split(s, path, n, dtype) for s, n in zip(obj, ("training", "validation", "test")))
    widths = {x.shape[1] for x, _ in splits}
    if len(widths) != 1:
        raise MNISTError(f"{path}: the three sets have different image sizes {sorted(widths)}")
    return splits


# --------------------------------------------------------------------------------------------------------------
# Where the data comes from: --data, $MNIST_DIR, the per-user cache, a verified download into that cache

Fetch = Callable[[str, IO[bytes]], None]
Log = Callable[[str], None]

# Accepted md5s per file: of the .gz the mirrors serve, and of its uncompressed content.
CHECKSUMS: dict[str, tuple[str, ...]] = {stem: (_MD5_GZ[stem], _MD5_RAW[stem]) for stem in FILES.values()}


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """Return the per-user cache folder for MNIST: ``$XDG_CACHE_HOME/tinygrad-bp/mnist`` or ``~/.cache/...``.

    Examples
    --------
    >>> from nets.mnist import default_cache_dir
    >>> str(default_cache_dir({"XDG_CACHE_HOME": "/tmp/c"}))
    '/tmp/c/tinygrad-bp/mnist'
    """
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path(env.get("HOME") or Path.home()) / ".cache"
    return base / "tinygrad-bp" / "mnist"


def _url_fetch(url: str, out: IO[bytes]) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": "tinygrad-bp-mnist"})
    with urllib.request.urlopen(req, timeout=30) as r:
        expected = r.headers.get("Content-Length") if hasattr(r, "headers") else None
        got = 0
        while chunk := r.read(_CHUNK):
            got += len(chunk)
            if got > MAX_BYTES:
                raise OSError(f"more than {MAX_BYTES} bytes")
            out.write(chunk)
    if expected is not None and expected.isdigit() and int(expected) != got:
        raise OSError(f"partial download: {got} of {expected} bytes")


def _md5_problem(path: Path, accepted: Sequence[str]) -> str | None:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
        gz = f.seek(0) == 0 and f.read(2) == b"\x1f\x8b"
    if h.hexdigest() in accepted:
        return None
    got = h.hexdigest()
    if gz:
        # A re-compressed copy of the same bytes has another .gz digest but the same content digest.
        inner = hashlib.md5()
        try:
            with gzip.open(path, "rb") as g:
                n = 0
                while chunk := g.read(_CHUNK):
                    n += len(chunk)
                    if n > MAX_BYTES:
                        return f"more than {MAX_BYTES} bytes once decompressed"
                    inner.update(chunk)
        except (OSError, EOFError, zlib.error) as e:
            return f"md5 mismatch (got {got}, expected {' or '.join(accepted)}); corrupted gzip: {e}"
        if inner.hexdigest() in accepted:
            return None
    return f"md5 mismatch (got {got}, expected {' or '.join(accepted)})"


def download(
    stem: str,
    dest: str | os.PathLike[str],
    *,
    fetch: Fetch | None = None,
    mirrors: Sequence[str] = MIRRORS,
    checksums: dict[str, tuple[str, ...]] | None = None,
    log: Log | None = _stderr,
) -> Path:
    """Return the path of ``dest/<stem>.gz`` after downloading it from the first mirror whose copy verifies.

    Each attempt goes to a temporary file in ``dest``; only a copy whose md5 is one of ``checksums[stem]`` is
    renamed into place, so a partial or mismatching download is deleted, reported through ``log`` and never used.

    Parameters
    ----------
    stem : str
        One of :data:`FILES`' values, e.g. ``"t10k-labels-idx1-ubyte"``.
    dest : path-like
        The folder to write into (created if needed).
    fetch : callable, optional
        ``fetch(url, binary_file)`` writes the resource at ``url`` into the open file; raises OSError on failure.
        Defaults to urllib (which also understands ``file://`` URLs).  Tests inject their own.
    mirrors : sequence of str
        Base URLs tried in order.
    checksums : dict, optional
        stem -> accepted md5 hex digests; defaults to :data:`CHECKSUMS`.
    log : callable or None
        Receives one line per failed attempt when a later mirror succeeds.

    Raises
    ------
    MNISTNotFoundError
        when no mirror gave a verified copy; the message lists each mirror's problem.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from nets.mnist import download
    >>> def fetch(url, out):
    ...     out.write(b"abc")
    >>> ok = {"t10k-labels-idx1-ubyte": (hashlib.md5(b"abc").hexdigest(),)}
    >>> download("t10k-labels-idx1-ubyte", tempfile.mkdtemp(), fetch=fetch, mirrors=["https://x/"],
    ...          checksums=ok).name
    't10k-labels-idx1-ubyte.gz'
    """
    dest = Path(dest)
    fetch = _url_fetch if fetch is None else fetch
    accepted = (CHECKSUMS if checksums is None else checksums)[stem]
    log = log or (lambda msg: None)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / (stem + ".gz")
    problems = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + stem + ".gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".part", dir=dest)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                fetch(url, out)
            problem = _md5_problem(tmp, accepted)
            if problem is None:
                os.replace(tmp, final)
                # Report what went wrong on the way; when every mirror fails, the exception says it instead.
                for p in problems:
                    log(p)
                return final
            problems.append(f"{url}: {problem}; the download was deleted")
        except (OSError, ValueError) as e:  # urllib's URLError/HTTPError are OSErrors; a bad URL is a ValueError
            problems.append(f"{url}: {e}")
        finally:
            tmp.unlink(missing_ok=True)
    err = MNISTNotFoundError(f"could not download {stem}.gz: " + "; ".join(problems or ["no mirrors"]))
    err.problems = problems  # type: ignore[attr-defined]
    raise err


def _source_in(path: Path) -> Path | None:
    # A folder with the four IDX files, a folder holding mnist.pkl.gz, or a pickle file itself.
    if path.is_file():
        return path
    if path.is_dir():
        if not _missing_idx(path):
            return path
        for name in ("mnist.pkl.gz", "mnist.pkl"):
            if (path / name).is_file():
                return path / name
    return None


def find_data(
    data: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    fetch: Fetch | None = None,
    mirrors: Sequence[str] = MIRRORS,
    checksums: dict[str, tuple[str, ...]] | None = None,
    log: Log | None = _stderr,
) -> Path:
    """Return where MNIST is: ``data``, else ``$MNIST_DIR``, else the user cache, else a verified download into it.

    An explicit ``data`` or ``$MNIST_DIR`` is trusted as given (a folder of the four IDX files, a folder holding
    ``mnist.pkl.gz``, or that file); if it has no data that is an error, not a reason to download.  Files in the
    cache are checked against their md5s; a bad one is deleted and downloaded again.

    Raises
    ------
    MNISTNotFoundError
        with a short message saying where it looked and how to supply the data.

    Examples
    --------
    >>> import tempfile
    >>> from nets.mnist import MNISTNotFoundError, find_data
    >>> def offline(url, out):
    ...     raise OSError("offline")
    >>> try:
    ...     find_data(environ={}, cache_dir=tempfile.mkdtemp(), fetch=offline, log=None)
    ... except MNISTNotFoundError as e:
    ...     print(str(e).splitlines()[-1])
    Supply the four IDX files (or Nielsen's mnist.pkl.gz) with --data PATH or MNIST_DIR=PATH.
    """
    env = os.environ if environ is None else environ
    how = "Supply the four IDX files (or Nielsen's mnist.pkl.gz) with --data PATH or MNIST_DIR=PATH."
    for label, value in (("--data", data), ("$MNIST_DIR", env.get("MNIST_DIR") or None)):
        if value is not None:
            found = _source_in(Path(value))
            if found is None:
                what = "does not exist" if not Path(value).exists() else "has neither the four IDX files nor mnist.pkl.gz"
                raise MNISTNotFoundError(f"no MNIST data: {label} {value} {what}.\n{how}")
            return found
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(env)
    sums = CHECKSUMS if checksums is None else checksums
    log = log or (lambda msg: None)
    for stem in FILES.values():
        cached = cache / (stem + ".gz")
        if cached.is_file():
            problem = _md5_problem(cached, sums[stem])
            if problem is not None:
                log(f"{cached}: {problem}; deleting it and downloading again")
                cached.unlink()
    missing = [stem for stem in FILES.values() if not (cache / (stem + ".gz")).is_file()]
    if missing:
        log(f"downloading MNIST into {cache} ...")
    try:
        for stem in missing:
            download(stem, cache, fetch=fetch, mirrors=mirrors, checksums=sums, log=log)
    except (MNISTNotFoundError, OSError) as e:
        problems = getattr(e, "problems", None) or [str(e)]
        more = f" (and {len(problems) - 1} more mirror{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise MNISTNotFoundError(
            f"no MNIST data: --data not given, $MNIST_DIR not set, {len(missing)} of 4 files missing from the "
            f"cache {cache}, and the download failed: {problems[0]}{more}.\n{how}"
        ) from None
    return cache


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


# --------------------------------------------------------------------------------------------------------------
# The training command


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _float_in(low: float, *, open_low: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not np.isfinite(v) or v < low or (open_low and v == low):
            raise argparse.ArgumentTypeError(f"expected a finite number {'>' if open_low else '>='} {low}, got {text!r}")
        return v

    return parse


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m nets.mnist``; its defaults are Nielsen's network.py run.

    Examples
    --------
    >>> from nets.mnist import build_parser
    >>> a = build_parser().parse_args([])
    >>> a.sizes, a.cost, a.epochs, a.batch_size, a.eta, a.init
    ([784, 30, 10], 'quadratic', 30, 10, 3.0, 'large')
    """
    p = argparse.ArgumentParser(
        prog="python -m nets.mnist",
        description="Train Nielsen's sigmoid network on MNIST with autodiff backprop, printing "
        "'Epoch j: correct / 10000' after each epoch, as network.py does.",
        epilog="Data lookup: --data, then $MNIST_DIR, then the cache ($XDG_CACHE_HOME or ~/.cache)/tinygrad-bp/mnist, "
        "then a download into that cache, md5-verified. Ctrl-C stops after the current mini-batch "
        "(and saves, with --save).",
    )
    p.add_argument("--epochs", type=_positive_int, default=30, help="passes over the training set (default 30)")
    p.add_argument("--batch-size", type=_positive_int, default=10, help="mini-batch size (default 10)")
    p.add_argument("--eta", type=_float_in(0.0, open_low=True), default=3.0, help="learning rate η (default 3.0)")
    p.add_argument("--sizes", type=_positive_int, nargs="+", default=[784, 30, 10], metavar="N",
                   help="layer widths, input first (default 784 30 10)")
    p.add_argument("--cost", choices=("quadratic", "cross-entropy"), default="quadratic", help="default quadratic")
    p.add_argument("--init", choices=("large", "default"), default="large",
                   help="large: N(0,1) as network.py; default: N(0,1/n_in) weights as network2 (default large)")
    p.add_argument("--lmbda", type=_float_in(0.0, open_low=False), default=0.0,
                   help="L2 strength λ, network2's (1-ηλ/n) decay with n = training-set size (default 0)")
    p.add_argument("--l1", type=_float_in(0.0, open_low=False), default=0.0, metavar="LAMBDA1",
                   help="L1 strength λ₁: weights also step by -(ηλ₁/n)·sgn(w), n = training-set size (default 0)")
    p.add_argument("--eta-schedule", type=_positive_int, default=None, metavar="K",
                   help="halve η whenever validation accuracy has not improved for K epochs (default: constant η)")
    p.add_argument("--early-stop", type=_positive_int, default=None, metavar="N",
                   help="stop once validation accuracy has not improved for N epochs (default: train all epochs)")
    p.add_argument("--train-size", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training images only (default: all of them, 50,000 for MNIST)")
    p.add_argument("--grad-norms", action="store_true",
                   help="before training, print each layer's gradient norm |dC/db|, the mean over the first "
                   "10 mini-batches (in file order)")
    p.add_argument("--activation", choices=("sigmoid", "tanh", "relu"), default="sigmoid",
                   help="activation of every layer (default sigmoid, as network.py)")
    p.add_argument("--seed", type=int, default=None, help="seed for initialisation and shuffling (default: random)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="default float64")
    p.add_argument("--data", metavar="PATH", default=None,
                   help="a folder with the four MNIST IDX files (.gz or raw), or Nielsen's mnist.pkl.gz")
    p.add_argument("--save", metavar="MODEL.json", default=None, help="save the trained network (network2 JSON)")
    p.add_argument("--plot", metavar="CURVES.png", default=None,
                   help="plot test accuracy per epoch (needs matplotlib: pip install 'tinygrad-bp[plot]')")
    p.add_argument("--quiet", action="store_true", help="print only the last epoch's line; no progress bar")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="check every op's output and gradient during training and stop at the first NaN/Inf, "
                   "naming the op and where it was made (slow: for debugging)")
    p.add_argument("--load", metavar="MODEL.json", default=None,
                   help="evaluate a saved network on the test set instead of training")
    return p


class _Stop:
    # The first Ctrl-C only raises a flag that training checks after each mini-batch; a second one aborts.
    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self) -> "_Stop":
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _plot(path: str, history: list[tuple[int, int, int, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.plot([h[0] for h in history], [100.0 * h[1] / h[2] for h in history], marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _evaluate_saved(args: argparse.Namespace, fetch: Fetch | None, log: Log | None) -> int:
    from .network import Network

    try:
        net = Network.load(args.load)
    except OSError as e:
        raise MNISTError(f"{args.load}: cannot read the model: {e.strerror or e}") from None
    except ValueError as e:  # Network.load's message already names the file and the problem
        raise MNISTError(str(e)) from None
    _, _, (x_test, y_test) = load_data(args.data, net.dtype, fetch=fetch, log=log)
    if net.sizes[0] != x_test.shape[1] or net.sizes[-1] != 10:
        raise MNISTError(f"{args.load}: sizes {net.sizes} do not fit images of {x_test.shape[1]} pixels and 10 digits")
    correct = net.evaluate((x_test, y_test))
    print(f"Test: {correct} / {len(y_test)}", flush=True)
    return 0


def _train(args: argparse.Namespace, fetch: Fetch | None, log: Log | None) -> int:
    from .network import Network

    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise MNISTError(
                "--plot needs matplotlib, which is not installed; install it with: pip install 'tinygrad-bp[plot]'"
            ) from None
    dtype = np.dtype(args.dtype)
    source = find_data(args.data, fetch=fetch, log=log)
    (x, y), (x_val, y_val), (x_test, y_test) = load_data(source, dtype)
    if args.train_size is not None:
        if args.train_size > len(x):
            raise MNISTError(f"--train-size {args.train_size} is more than the {len(x)} training images in {source}")
        x, y = x[: args.train_size], y[: args.train_size]
    if log:
        log(f"data: {source} ({len(x)} training, {len(x_test)} test images)")
    if args.sizes[0] != x.shape[1] or args.sizes[-1] != 10 or len(args.sizes) < 2:
        raise MNISTError(
            f"--sizes {' '.join(map(str, args.sizes))} does not fit the data: the first width must be the "
            f"{x.shape[1]} pixels and the last the 10 digits"
        )
    seed = args.seed
    if seed is None:
        # Draw the seed here, rather than let Network do it, so the run can be repeated.
        seed = int(np.random.SeedSequence().generate_state(1)[0])
        if log:
            log(f"seed: {seed} (pass --seed {seed} to repeat this run)")
    net = Network(args.sizes, cost=args.cost, init=args.init, seed=seed, dtype=dtype, activation=args.activation)
    if args.grad_norms:
        m = args.batch_size
        batches = [(x[k : k + m], y[k : k + m]) for k in range(0, min(len(x), 10 * m), m)]
        norms = np.mean([net.gradient_norms(b) for b in batches], axis=0)
        shown = "  ".join(f"layer {l + 1}: {v:.3g}" for l, v in enumerate(norms))
        print(f"Gradient norms |dC/db| at the start (mean of {len(batches)} mini-batches): {shown}", flush=True)
    watch = args.eta_schedule is not None or args.early_stop is not None
    lines: list[str] = []

    tqdm = _progress_bar(sys.stdout.isatty() and not args.quiet)
    history: list[tuple[int, int, int, float]] = []
    where = {"epoch": 0, "batch": 0, "n_batches": 0}
    bar: Any = None

    from tinygrad_bp import detect_anomaly

    # A diverging run is reported once, by SGD or anomaly mode, instead of through numpy warnings.
    checks = detect_anomaly() if args.detect_anomaly else contextlib.nullcontext()
    with _Stop() as stop, np.errstate(all="ignore"), checks:

        def after_batch(epoch: int, k: int, n_batches: int) -> bool:
            nonlocal bar
            where.update(epoch=epoch, batch=k + 1, n_batches=n_batches)
            if tqdm is not None:
                if bar is None:
                    bar = tqdm(total=n_batches, desc=f"Epoch {epoch}", unit="batch", leave=False, file=sys.stdout)
                bar.update(1)
                if k + 1 == n_batches or stop.requested:
                    bar.close()
                    bar = None
            return stop.requested

        def after_epoch(epoch: int, info: dict) -> bool:
            history.append((epoch, info["correct"], info["n_test"], info["seconds"]))
            line = f"Epoch {epoch}: {info['correct']} / {info['n_test']}  ({info['seconds']:.2f} s)"
            if watch:
                line += f"  validation {info['evaluation_accuracy']} / {len(y_val)}"
            if args.eta_schedule is not None:
                line += f"  eta {info['eta']:g}"
            if info.get("stop_reason"):
                line += f"\nStopped: {info['stop_reason']}"
            lines.append(line)
            if not args.quiet:
                print(line, flush=True)
            return stop.requested

        net.SGD(
            (x, y),
            args.epochs,
            args.batch_size,
            args.eta,
            lmbda=args.lmbda,
            l1=args.l1,
            eta_schedule=args.eta_schedule,
            early_stop=args.early_stop,
            evaluation_data=(x_val, y_val) if watch else None,
            test_data=(x_test, y_test),
            verbose=False,
            callback=after_batch,
            epoch_callback=after_epoch,
        )
        interrupted = stop.requested

    if args.quiet and history:
        print(lines[-1], flush=True)
    saved = ""
    if args.save is not None:
        net.save(args.save)
        saved = f"; saved the network to {args.save}"
        if log and not interrupted:
            log(f"saved the network to {args.save}")
    if args.plot is not None and history:
        _plot(args.plot, history)
        if log:
            log(f"plotted test accuracy to {args.plot}")
    if interrupted:
        if where["batch"] == where["n_batches"]:
            done = f"after epoch {where['epoch']}"
        else:
            done = f"in epoch {where['epoch']} after mini-batch {where['batch']} of {where['n_batches']}"
        print(f"Interrupted {done}{saved}.", file=sys.stderr, flush=True)
        return 130
    return 0


def main(argv: Sequence[str] | None = None, *, fetch: Fetch | None = None) -> int:
    """Return the exit code of ``python -m nets.mnist``: train (or, with ``--load``, evaluate) on MNIST.

    Errors about the data, the flags' fit to it, or a model file print one line (or two) to stderr and return
    1; Ctrl-C returns 130.  ``fetch`` replaces the downloader (see :func:`download`).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from nets.mnist import FILES, main, write_idx
    >>> d = tempfile.mkdtemp()
    >>> for key, stem in FILES.items():
    ...     shape = (12, 28, 28) if key.endswith("images") else (12,)
    ...     write_idx(os.path.join(d, stem), np.zeros(shape, np.uint8))
    >>> main(["--data", d, "--epochs", "1", "--seed", "0", "--quiet"])  # doctest: +ELLIPSIS
    Epoch 0: ... / 12  (... s)
    0
    """
    args = build_parser().parse_args(argv)
    log = None if args.quiet else _stderr
    from tinygrad_bp import AnomalyError

    from .network import TrainingDivergedError

    try:
        if args.load is not None:
            return _evaluate_saved(args, fetch, log)
        return _train(args, fetch, log)
    except (MNISTError, MNISTNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (TrainingDivergedError, AnomalyError) as e:  # NaN/Inf in training: one line, nothing saved
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

"""The IDX format: read and write the arrays of the four MNIST files, checking the header against the data.

Also where the four files live in a folder (:data:`FILES`, :func:`find_idx`) and the one way every reader
opens a data file (:func:`open_data_file`: regular files only, gzip recognised by its magic bytes).
"""
from __future__ import annotations

import gzip
import os
import stat
import zlib
from pathlib import Path
from typing import IO, Callable

import numpy as np

from .errors import MNISTError

__all__ = ["FILES", "MAX_BYTES", "read_idx", "write_idx", "find_idx", "missing_idx", "open_data_file"]

# The four standard file stems, in the order (train images, train labels, test images, test labels).
FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

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
CHUNK = 1 << 20
_MAX_DIMS = 32  # numpy's limit is 64; MNIST uses 1 or 3


def open_data_file(path: str | os.PathLike[str]) -> IO[bytes]:
    """Return ``path`` opened for binary reading, decompressing if it is gzip; refuse anything but a regular file.

    Raises MNISTError for a FIFO, device or directory (a FIFO would block forever), OSError when it cannot be opened.

    Examples
    --------
    >>> from nets.mnist.idx import open_data_file
    >>> try:
    ...     open_data_file("/dev/zero")
    ... except ValueError as e:
    ...     print(e)
    /dev/zero: not a regular file (a FIFO, device or directory); MNIST data must be a file
    """
    # O_NONBLOCK so that opening a FIFO returns at once (to be refused) instead of waiting for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    f = os.fdopen(fd, "rb")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MNISTError(f"{path}: not a regular file (a FIFO, device or directory); MNIST data must be a file")
        gz = f.read(2) == b"\x1f\x8b"
        f.seek(0)
    except BaseException:
        f.close()
        raise
    return gzip.GzipFile(fileobj=f, mode="rb") if gz else f


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
        chunk = f.read(min(CHUNK, n + 1 - len(buf)))
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
        f = open_data_file(path)
    except OSError as e:
        raise MNISTError(f"{path}: cannot open: {e.strerror or e}") from None
    gz = isinstance(f, gzip.GzipFile)
    try:
        with f, (f.fileobj if gz else f):  # type: ignore[union-attr]
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
            if ndim == 0 or ndim > _MAX_DIMS:
                raise MNISTError(
                    f"{path}: bad magic number 0x{magic.hex()}: {ndim or 'zero'} dimensions (an IDX file has 1 to {_MAX_DIMS})"
                )
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


def find_idx(folder: Path, stem: str) -> Path | None:
    """Return the path of the IDX file ``stem`` in ``folder`` (.gz or raw, dashed or dotted name), or None.

    Raises MNISTError when the folder cannot be searched (e.g. no permission).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from nets.mnist.idx import find_idx
    >>> find_idx(Path(tempfile.mkdtemp()), "t10k-labels-idx1-ubyte") is None
    True
    """
    # The standard names, plus the dotted spelling some mirrors and archives use.
    dotted = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, dotted + ".gz", dotted):
        try:
            if (folder / name).is_file():
                return folder / name
        except OSError as e:  # is_file raises on EACCES
            raise MNISTError(f"{folder}: cannot look for {name}: {e.strerror or e}") from None
    return None


def missing_idx(folder: Path) -> list[str]:
    """Return the stems of :data:`FILES` that ``folder`` lacks.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from nets.mnist.idx import missing_idx
    >>> len(missing_idx(Path(tempfile.mkdtemp())))
    4
    """
    return [stem for stem in FILES.values() if find_idx(folder, stem) is None]

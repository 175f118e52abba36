"""The two errors of ``nets.mnist``: a data file that breaks its format, and data that cannot be found."""
from __future__ import annotations

__all__ = ["MNISTError", "MNISTNotFoundError"]


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
    no MNIST data: data=/no/such/folder does not exist.
    """

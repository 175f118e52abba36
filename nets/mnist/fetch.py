"""Where MNIST comes from: ``data``, then ``$MNIST_DIR``, then the per-user cache, then a verified download into it."""
from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import IO, Callable, Sequence

from .errors import MNISTError, MNISTNotFoundError
from .idx import CHUNK, FILES, MAX_BYTES, missing_idx

__all__ = ["MIRRORS", "CHECKSUMS", "default_cache_dir", "download", "find_data", "Fetch", "Log"]

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
        while chunk := r.read(CHUNK):
            got += len(chunk)
            if got > MAX_BYTES:
                raise OSError(f"more than {MAX_BYTES} bytes")
            out.write(chunk)
    if expected is not None and expected.isdigit() and int(expected) != got:
        raise OSError(f"partial download: {got} of {expected} bytes")


def _md5_problem(path: Path, accepted: Sequence[str]) -> str | None:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
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
                while chunk := g.read(CHUNK):
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
    try:
        if path.is_file():
            return path
        if path.is_dir():
            if not missing_idx(path):
                return path
            for name in ("mnist.pkl.gz", "mnist.pkl"):
                if (path / name).is_file():
                    return path / name
    except OSError as e:  # e.g. a folder that may not be searched
        raise MNISTError(f"{path}: cannot look for MNIST files: {e.strerror or e}") from None
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
    argument: str = "data=",
) -> Path:
    """Return where MNIST is: ``data``, else ``$MNIST_DIR``, else the user cache, else a verified download into it.

    An explicit ``data`` or ``$MNIST_DIR`` is trusted as given (a folder of the four IDX files, a folder holding
    ``mnist.pkl.gz``, or that file); if it has no data that is an error, not a reason to download.  Files in the
    cache are checked against their md5s; a bad one is deleted and downloaded again.

    ``argument`` is how messages name the ``data`` argument (the command passes ``"--data "``).

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
    Supply the four IDX files (or Nielsen's mnist.pkl.gz) with data=PATH or MNIST_DIR=PATH.
    """
    env = os.environ if environ is None else environ
    how = f"Supply the four IDX files (or Nielsen's mnist.pkl.gz) with {argument}PATH or MNIST_DIR=PATH."
    for label, value in ((argument, data), ("$MNIST_DIR ", env.get("MNIST_DIR") or None)):
        if value is not None:
            found = _source_in(Path(value))
            if found is None:
                what = "does not exist" if not Path(value).exists() else "has neither the four IDX files nor mnist.pkl.gz"
                raise MNISTNotFoundError(f"no MNIST data: {label}{value} {what}.\n{how}")
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
            f"no MNIST data: {argument.strip(' =')} not given, $MNIST_DIR not set, {len(missing)} of 4 files missing from the "
            f"cache {cache}, and the download failed: {problems[0]}{more}.\n{how}"
        ) from None
    return cache

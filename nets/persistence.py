"""Model files: network2's JSON layout, written atomically and read back under a schema with bounded work.

Writing: the JSON goes to a short temporary name in the target's folder, is flushed to disk and
renamed over the target, so a crash leaves the old file or the new one, never half of one.  The
new file gets the mode a plain ``open(path, "w")`` would give it (an existing file keeps its
mode; a new one gets 0o666 minus the umask).  A symlink is followed, as ``open`` follows it: the
file it points to is replaced and the link stays.  Temporaries left by a save that was killed are
deleted by the next save of the same target.

Reading: only a regular file (no FIFO, device or ``/dev/zero``), no bigger than its declared
``sizes`` can need, with at most :data:`MAX_LAYERS` layers; every key, shape, number and name is
checked before a network is built, and values quoted in messages are cut to a short excerpt.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from typing import Any, Callable

import numpy as np

from .checks import excerpt

__all__ = ["MAX_LAYERS", "model_dict", "write_json_atomic", "check_writable", "read_model"]

MAX_LAYERS = 1024
"""The most layers a model file may declare: far beyond a trainable sigmoid MLP, and it bounds the work of load."""

_MAX_MODEL_BYTES = 1 << 30  # an absolute cap, whatever the sizes say
_BYTES_PER_NUMBER = 64  # a float's repr is at most 24 characters; the rest allows indented (pretty-printed) JSON
_SLACK = 1 << 16
_MODEL_KEYS = ("sizes", "weights", "biases", "cost")
_OPTIONAL_KEYS = ("dtype", "activation", "output_activation")
_DTYPES = ("float64", "float32")
_SIZES = re.compile(rb'"sizes"\s*:\s*\[([0-9\s,]{0,100000})\]')


# ---- writing ---------------------------------------------------------------------------------------


def _tmp_stem(path: str) -> str:
    # Short whatever the target's name (a 250-character name plus a suffix would pass NAME_MAX).
    return "." + hashlib.sha1(os.path.basename(path).encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _remove_stale(folder: str, stem: str) -> None:
    # Temporaries of this target whose writer process is gone: a save that was killed half-way.
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        parts = name.split(".")
        if not (name.startswith(stem + ".") and name.endswith(".tmp") and len(parts) == 5 and parts[2].isdigit()):
            continue
        pid = int(parts[2])
        try:
            os.kill(pid, 0)
            continue  # alive (possibly saving right now): leave its file alone
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _fsync_folder(folder: str) -> None:
    # Make the rename itself durable; some file systems and platforms cannot open a folder, which is fine.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_writable(path: str | os.PathLike, who: str) -> str:
    """Return the real path a save to ``path`` writes, after checking a file can be created there.

    Raises an OSError naming ``path`` and the reason (missing folder, a directory, no permission,
    a read-only file system) by actually creating and deleting a temporary file in the folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from nets.persistence import check_writable
    >>> d = tempfile.mkdtemp()
    >>> check_writable(os.path.join(d, "net.json"), "save") == os.path.join(os.path.realpath(d), "net.json")
    True
    """
    target = os.path.realpath(os.fspath(path))
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, f"{who}: {os.fspath(path)} is a directory, not a file name")
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"{who}: the folder {folder} of {os.fspath(path)} does not exist")
    probe = os.path.join(folder, f"{_tmp_stem(target)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        raise type(e)(e.errno, f"{who}: cannot write {os.fspath(path)}: {e.strerror}") from None
    os.unlink(probe)
    return target


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Return nothing; write ``data`` as JSON to ``path`` atomically (see the module docstring for the rules).

    Examples
    --------
    >>> import json, os, tempfile
    >>> from nets.persistence import write_json_atomic
    >>> p = os.path.join(tempfile.mkdtemp(), "a.json")
    >>> write_json_atomic(p, {"x": 1})
    >>> json.load(open(p))
    {'x': 1}
    """
    target = os.path.realpath(os.fspath(path))  # follow a symlink, as open() does
    folder = os.path.dirname(target)
    stem = _tmp_stem(target)
    _remove_stale(folder, stem)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)  # an existing file keeps its mode
    except OSError:
        mode = None
    tmp = os.path.join(folder, f"{stem}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def model_dict(sizes: list[int], weights: list[np.ndarray], biases: list[np.ndarray], cost: str,
               dtype: np.dtype, activation: str, where: str, output_activation: str | None = None) -> dict[str, Any]:
    """Return network2's JSON object for a network, refusing NaN or Inf so a diverged net never replaces a good file.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.persistence import model_dict
    >>> sorted(model_dict([1, 1], [np.ones((1, 1))], [np.zeros((1, 1))], "QuadraticCost",
    ...                   np.dtype("float64"), "sigmoid", "net.json"))
    ['biases', 'cost', 'sizes', 'weights']
    """
    for key, arrays in (("weights", weights), ("biases", biases)):
        for l, arr in enumerate(arrays):
            if not np.isfinite(arr).all():
                raise ValueError(f"Network.save: {key}[{l}] holds NaN or Inf; not saving over {where!r}")
    data: dict[str, Any] = {
        "sizes": list(sizes),
        "weights": [w.tolist() for w in weights],
        "biases": [b.tolist() for b in biases],
        "cost": cost,
    }
    if dtype != np.float64:
        data["dtype"] = dtype.name
    if activation != "sigmoid":
        data["activation"] = activation
    if output_activation is not None:  # only when it is not the one the loader infers from the cost and activation
        data["output_activation"] = output_activation
    return data


# ---- reading ---------------------------------------------------------------------------------------


def _read_regular(path: str, who: str) -> bytes:
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it only matters for non-regular files.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{who} is not a regular file (a FIFO, device or socket); a model is a JSON file")
        if st.st_size > _MAX_MODEL_BYTES:
            raise ValueError(f"{who} is {st.st_size} bytes, more than a model file may be ({_MAX_MODEL_BYTES})")
        raw = f.read(st.st_size + 1)  # a file growing while read is still bounded
    _check_budget(raw, who)
    return raw


def _check_budget(raw: bytes, who: str) -> None:
    # The sizes list bounds how much text the arrays can take; refuse a file larger than that before parsing
    # it, since json builds ~30 bytes of Python objects per number it reads.  Arrays hold only numbers and
    # names cannot hold a bare quote, so a model file has exactly one "sizes" token.
    size = len(raw)
    if size <= _SLACK:
        return
    found = list(_SIZES.finditer(raw))
    if len(found) != 1:
        raise ValueError(f"{who} is {size} bytes but has {len(found) or 'no'} \"sizes\" lists; it is not a model file")
    sizes = [int(s) for s in found[0].group(1).replace(b",", b" ").split()]
    if len(sizes) > MAX_LAYERS + 1:
        raise ValueError(f"{who} declares {len(sizes) - 1} layers; a model file may have at most {MAX_LAYERS}")
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    need = _SLACK + _BYTES_PER_NUMBER * n_params + 8 * sum(sizes)
    if size > need:
        raise ValueError(f"{who} is {size} bytes, more than its sizes {excerpt(sizes)} can need ({need} bytes)")


def _parse_array(value: Any, shape: tuple[int, int], dt: np.dtype, where: str, sizes: list[int]) -> np.ndarray:
    if not (isinstance(value, list) and all(isinstance(row, list) for row in value)):
        raise ValueError(f"{where} is not a rectangular array of numbers (a list of rows)")
    widths = sorted({len(row) for row in value})
    if len(widths) > 1:
        raise ValueError(f"{where} is not a rectangular array of numbers: its rows have lengths {excerpt(widths)}")
    got = (len(value), widths[0] if widths else 0)
    if got != shape:
        raise ValueError(f"{where} has shape {got}; sizes {excerpt(sizes)} need {shape}")
    for i, row in enumerate(value):
        for j, x in enumerate(row):
            if x.__class__ is not float and x.__class__ is not int:  # not bool, str, null, list or dict
                raise ValueError(f"{where}[{i}][{j}] is {excerpt(x)}, not a number")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{where} holds an integer too large for a float") from None
    with np.errstate(over="ignore"):
        arr = arr.astype(dt)
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{where}[{i}][{j}] is {excerpt(value[i][j])}, not a finite {dt.name}")
    return arr


def _name(data: dict, key: str, default: str, known: Callable[[str], bool], who: str, what: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not known(value):
        raise ValueError(f"{who} names the {what} {excerpt(value)}, {_HOW[key]}")
    return value


_HOW = {
    "cost": "which is neither built in nor the cost= class given to load",
    "activation": "which is neither built in nor the activation= class given to load",
    "output_activation": "which is neither built in nor the activation= class given to load",
    "dtype": f"which is not one of {list(_DTYPES)}",
}


def read_model(path: str | os.PathLike, dtype: Any, known_cost: Callable[[str], bool],
               known_activation: Callable[[str], bool]) -> dict[str, Any]:
    """Return a checked model file's parts: ``sizes``, ``cost`` and ``activation`` names, ``dtype``, ``weights``, ``biases``.

    ``known_cost`` and ``known_activation`` say which names may be loaded.  Raises ValueError
    naming the file and the key, or OSError when it cannot be read.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from nets.persistence import read_model
    >>> p = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> json.dump({"sizes": [1, 1], "weights": [[[0.5]]], "biases": [[[0.0]]], "cost": "QuadraticCost"}, open(p, "w"))
    >>> read_model(p, None, lambda c: True, lambda a: True)["weights"]
    [array([[0.5]])]
    """
    path = os.fspath(path)
    who = f"Network.load: {path}"
    raw = _read_regular(path, who)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{who} is not a JSON model file (not UTF-8 text)") from None
    except RecursionError:
        raise ValueError(f"{who} is not a model file: its JSON is nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, or an integer literal too long to convert
        raise ValueError(f"{who} is not a JSON model file, or it is truncated ({excerpt(str(e), 120)})") from None
    del raw
    if not isinstance(data, dict):
        raise ValueError(f"{who} holds a JSON {type(data).__name__}, not an object with keys {list(_MODEL_KEYS)}")
    missing = [k for k in _MODEL_KEYS if k not in data]
    if missing:
        raise ValueError(f"{who} lacks the key(s) {missing}")
    unknown = sorted(k for k in data if k not in _MODEL_KEYS + _OPTIONAL_KEYS)
    if unknown:
        raise ValueError(f"{who} has unknown key(s) {excerpt(unknown)}; a model file holds {list(_MODEL_KEYS + _OPTIONAL_KEYS)}")
    sizes = data["sizes"]
    if not (isinstance(sizes, list) and 2 <= len(sizes) and all(s.__class__ is int and s >= 1 for s in sizes)):
        raise ValueError(f"{who} has sizes {excerpt(sizes)}; expected a list of at least two positive ints")
    if len(sizes) > MAX_LAYERS + 1:
        raise ValueError(f"{who} declares {len(sizes) - 1} layers; a model file may have at most {MAX_LAYERS}")
    cost = _name(data, "cost", "", known_cost, who, "cost")
    activation = _name(data, "activation", "sigmoid", known_activation, who, "activation")
    output_activation = None
    if "output_activation" in data:
        output_activation = _name(data, "output_activation", "", known_activation, who, "output activation")
    if dtype is not None:
        try:
            data = dict(data, dtype=np.dtype(dtype).name)
        except TypeError:
            data = dict(data, dtype=repr(dtype))
    dt = np.dtype(_name(data, "dtype", "float64", lambda d: d in _DTYPES, who, "dtype"))
    n_layers = len(sizes) - 1
    arrays: dict[str, list[np.ndarray]] = {}
    for key in ("weights", "biases"):
        values = data[key]
        if not isinstance(values, list) or len(values) != n_layers:
            raise ValueError(f"{who}: '{key}' must be a list of {n_layers} arrays for sizes {excerpt(sizes)}")
        arrays[key] = [
            # Nielsen's shapes: weights[l] (out, in) and biases[l] (out, 1).
            _parse_array(v, (sizes[l + 1], sizes[l] if key == "weights" else 1), dt, f"{who}: {key}[{l}]", sizes)
            for l, v in enumerate(values)
        ]
    return {"sizes": sizes, "cost": cost, "activation": activation, "output_activation": output_activation, "dtype": dt,
            **arrays}

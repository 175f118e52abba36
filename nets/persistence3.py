"""Model files for `nets.network3` networks: one JSON object listing the layers, checked before anything is built.

Layout: ``{"format": "network3", "mini_batch_size": m, "dtype": "float32" | "float64", "layers": [...]}``
where each layer is ``{"type": "ConvPoolLayer", "filter_shape", "image_shape", "poolsize",
"activation_fn", "w", "b"}``, ``{"type": "FullyConnectedLayer", "n_in", "n_out", "activation_fn",
"p_dropout", "w", "b"}`` or ``{"type": "SoftmaxLayer", "n_in", "n_out", "p_dropout", "w", "b"}``;
``w`` and ``b`` are flat lists of numbers in C order, of the sizes the layer's settings give.
Writing is nets.persistence's atomic write; reading accepts only a regular file of at most
:data:`MAX_BYTES`, only the keys above, allow-listed names and finite numbers.
"""
from __future__ import annotations

import json
import os
import stat
from typing import Any

import numpy as np

from .checks import excerpt
from .persistence import write_json_atomic

__all__ = ["FORMAT", "MAX_BYTES", "save", "load", "is_network3_file"]

FORMAT = "network3"
MAX_BYTES = 256 << 20
"""The largest network3 model file read: ~10 million parameters as JSON text."""
MAX_LAYERS = 64

_COMMON = ("type", "w", "b")
_KEYS = {
    "ConvPoolLayer": ("filter_shape", "image_shape", "poolsize", "activation_fn"),
    "FullyConnectedLayer": ("n_in", "n_out", "activation_fn", "p_dropout"),
    "SoftmaxLayer": ("n_in", "n_out", "p_dropout"),
}


def _layer_dict(layer: Any, i: int, where: str) -> dict[str, Any]:
    kind = type(layer).__name__
    if kind not in _KEYS:
        raise TypeError(f"network3 save: layer {i} is a {kind}, which the network3 format cannot hold")
    out: dict[str, Any] = {"type": kind}
    for key in _KEYS[kind]:
        value = getattr(layer, "activation" if key == "activation_fn" else key)
        out[key] = list(value) if isinstance(value, tuple) else value
    for key in ("w", "b"):
        arr = getattr(layer, key).data
        if not np.isfinite(arr).all():
            raise ValueError(f"network3 save: layer {i}'s {key} holds NaN or Inf; not saving over {where!r}")
        out[key] = arr.ravel().tolist()
    return out


def save(net: Any, path: str | os.PathLike) -> None:
    """Return nothing; write a network3 ``Network`` to ``path`` as JSON, atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> from nets.network3 import Network, SoftmaxLayer
    >>> from nets import persistence3
    >>> p = os.path.join(tempfile.mkdtemp(), "net.json")
    >>> persistence3.save(Network([SoftmaxLayer(4, 2)], 10), p)
    >>> persistence3.load(p).layers
    [SoftmaxLayer(n_in=4, n_out=2, p_dropout=0.0)]
    """
    where = os.fspath(path)
    data = {
        "format": FORMAT,
        "mini_batch_size": net.mini_batch_size,
        "dtype": net.layers[0].w.dtype.name,
        "layers": [_layer_dict(layer, i, where) for i, layer in enumerate(net.layers)],
    }
    write_json_atomic(where, data)


def _read(path: str, who: str) -> Any:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{who} is not a regular file (a FIFO, device or socket); a model is a JSON file")
        if st.st_size > MAX_BYTES:
            raise ValueError(f"{who} is {st.st_size} bytes, more than a network3 model file may be ({MAX_BYTES})")
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"{who} grew past {MAX_BYTES} bytes while being read")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as e:
        raise ValueError(f"{who} is not a JSON model file, or it is truncated ({excerpt(str(e), 120)})") from None


def is_network3_file(path: str | os.PathLike) -> bool:
    """Return whether ``path`` starts like a network3 model file (its first bytes hold ``"format": "network3"``).

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> _ = open(p, "w").write('{"sizes": [1, 1]}')
    >>> is_network3_file(p)
    False
    """
    try:
        with open(path, "rb") as f:
            head = f.read(200)
    except OSError:
        return False
    return b'"format": "network3"' in head or b'"format":"network3"' in head


def _ints(value: Any, n: int, where: str) -> list[int]:
    if not (isinstance(value, list) and len(value) == n and all(v.__class__ is int and v >= 1 for v in value)):
        raise ValueError(f"{where} is {excerpt(value)}; expected a list of {n} positive ints")
    return value


def _array(value: Any, shape: tuple[int, ...], dt: np.dtype, where: str) -> np.ndarray:
    size = int(np.prod(shape))
    if not isinstance(value, list) or len(value) != size:
        raise ValueError(f"{where} must be a flat list of {size} numbers (shape {shape}), got {excerpt(value)}")
    for k, v in enumerate(value):
        if v.__class__ is not float and v.__class__ is not int:
            raise ValueError(f"{where}[{k}] is {excerpt(v)}, not a number")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{where} holds an integer too large for a float") from None
    with np.errstate(over="ignore"):
        arr = arr.astype(dt).reshape(shape)
    if not np.isfinite(arr).all():
        raise ValueError(f"{where} holds a value that is not a finite {dt.name}")
    return arr


def _layer(spec: Any, i: int, dt: np.dtype, who: str) -> Any:
    from . import network3

    where = f"{who}: layers[{i}]"
    if not isinstance(spec, dict) or spec.get("type") not in _KEYS:
        raise ValueError(f"{where} must be an object whose type is one of {list(_KEYS)}, got {excerpt(spec)}")
    kind = spec["type"]
    keys = _COMMON + _KEYS[kind]
    wrong = sorted(set(spec) ^ set(keys))
    if wrong:
        raise ValueError(f"{where} ({kind}) has missing or unknown key(s) {excerpt(wrong)}; it holds {list(keys)}")
    act = spec.get("activation_fn", "linear")
    if act not in network3.ACTIVATION_FNS:
        raise ValueError(f"{where} names the activation {excerpt(act)}, not one of {sorted(network3.ACTIVATION_FNS)}")
    p = spec.get("p_dropout", 0.0)
    if not (p.__class__ in (int, float) and 0.0 <= p < 1.0):
        raise ValueError(f"{where} has p_dropout {excerpt(p)}; expected a number in [0, 1)")
    fn = network3.ACTIVATION_FNS[act]
    if kind == "ConvPoolLayer":
        fs, im, pool = (_ints(spec[k], n, f"{where}.{k}") for k, n in (("filter_shape", 4), ("image_shape", 4), ("poolsize", 2)))
        layer = network3.ConvPoolLayer(fs, im, pool, fn, rng=0, dtype=dt)
    else:
        n_in, n_out = _ints([spec["n_in"], spec["n_out"]], 2, f"{where}.(n_in, n_out)")
        if kind == "SoftmaxLayer":
            layer = network3.SoftmaxLayer(n_in, n_out, p, dtype=dt)
        else:
            layer = network3.FullyConnectedLayer(n_in, n_out, fn, p, rng=0, dtype=dt)
    layer.w.data[...] = _array(spec["w"], layer.w.shape, dt, f"{where}.w")
    layer.b.data[...] = _array(spec["b"], layer.b.shape, dt, f"{where}.b")
    return layer


def load(path: str | os.PathLike) -> Any:
    """Return the network3 ``Network`` stored at ``path``; raise ValueError naming the file and the key otherwise.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from nets import persistence3
    >>> p = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> json.dump({"format": "network3", "mini_batch_size": 1, "dtype": "float64", "layers": []}, open(p, "w"))
    >>> persistence3.load(p)
    Traceback (most recent call last):
    ...
    ValueError: network3 load: ... 'layers' must be a non-empty list of at most 64 layers
    """
    path = os.fspath(path)
    who = f"network3 load: {path}"
    data = _read(path, who)
    keys = ("format", "mini_batch_size", "dtype", "layers")
    if not isinstance(data, dict) or sorted(data) != sorted(keys) or data["format"] != FORMAT:
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{who} is not a network3 model file: expected the keys {list(keys)} with format 'network3', got {excerpt(got)}")
    if data["dtype"] not in ("float32", "float64"):
        raise ValueError(f"{who} names the dtype {excerpt(data['dtype'])}, not float32 or float64")
    m = data["mini_batch_size"]
    if m.__class__ is not int or m < 1:
        raise ValueError(f"{who} has mini_batch_size {excerpt(m)}; expected a positive int")
    layers = data["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise ValueError(f"{who}: 'layers' must be a non-empty list of at most {MAX_LAYERS} layers")
    from .network3 import Network

    dt = np.dtype(data["dtype"])
    built = [_layer(spec, i, dt, who) for i, spec in enumerate(layers)]
    try:
        return Network(built, m)
    except ValueError as e:
        raise ValueError(f"{who}: {e}") from None

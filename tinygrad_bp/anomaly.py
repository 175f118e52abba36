"""Anomaly mode: stop at the first op whose forward output or backward gradient holds NaN or Inf.

Outside ``detect_anomaly`` nothing here runs: ``Function.apply`` and the backward walk each test one
thread-local value, which holds the checker only inside the block, in the thread that entered it.
"""
from __future__ import annotations

import functools
import linecache
import os
import sys
import sysconfig
import threading
from types import FrameType
from typing import Any, Callable, TypeVar

import numpy as np

from .function import Function
from .tensor import Tensor, _clock, _modes

__all__ = ["AnomalyError", "detect_anomaly", "is_anomaly_enabled"]

F = TypeVar("F", bound=Callable[..., Any])

_LOCK = threading.Lock()  # guards the count of threads in anomaly mode
_HERE = os.path.dirname(os.path.abspath(__file__))
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"])


class AnomalyError(FloatingPointError):
    """Return the error anomaly mode raises at the first NaN or Inf an op produces, forward or backward.

    The message names the op (its ``Function`` class), whether forward or backward produced the
    value, the shapes, and where the op was created.

    Examples
    --------
    >>> from tinygrad_bp import AnomalyError, Tensor, detect_anomaly
    >>> with detect_anomaly():
    ...     try:
    ...         Tensor([-1.0]).log()
    ...     except AnomalyError as e:
    ...         print(str(e).split(";")[0])
    anomaly: the forward of Log (tinygrad_bp.ops.Log) produced nan in its output of shape (1,)
    """


def is_anomaly_enabled() -> bool:
    """Return whether anomaly mode is on.

    Examples
    --------
    >>> from tinygrad_bp import detect_anomaly, is_anomaly_enabled
    >>> with detect_anomaly():
    ...     is_anomaly_enabled()
    True
    >>> is_anomaly_enabled()
    False
    """
    return _modes.anomaly is not None


class detect_anomaly:
    """Return a context manager (also a decorator) inside which every op's output and every gradient is checked.

    At the first NaN or Inf it raises :class:`AnomalyError` naming the op's ``Function`` class
    and the source line that created the op: the innermost frame outside tinygrad_bp (and outside
    ``nets``, when the op was made by a layer there).  The check costs a pass over each array, so
    use it to find the op that goes wrong, then train without it.

    Examples
    --------
    >>> from tinygrad_bp import AnomalyError, Tensor, detect_anomaly
    >>> x = Tensor([0.0, 1.0], requires_grad=True)
    >>> with detect_anomaly():
    ...     try:
    ...         (x ** 0.5).sum().backward()
    ...     except AnomalyError as e:
    ...         print(str(e).split(";")[0])
    anomaly: the backward of Pow (tinygrad_bp.ops.Pow) produced inf in the gradient for input 0 of shape (2,)
    """

    def __enter__(self) -> None:
        self._prev = _modes.anomaly
        if self._prev is None:
            with _LOCK:
                _clock.anomaly_threads += 1
        _modes.anomaly = _CHECKER

    def __exit__(self, *exc: object) -> None:
        _modes.anomaly = self._prev
        if self._prev is None:
            with _LOCK:
                _clock.anomaly_threads -= 1

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


# ---- where an op was created --------------------------------------------------------------------
_WHERE: dict[str, int] = {}  # file name -> 0 inside tinygrad_bp, 1 inside nets, 2 the user's, 3 stdlib/frozen


def _where(filename: str) -> int:
    # Cached per file name: anomaly mode asks for every op of every mini-batch.
    kind = _WHERE.get(filename)
    if kind is None:
        path = os.path.abspath(filename)
        nets = getattr(sys.modules.get("nets"), "__file__", None)
        if path.startswith(_HERE + os.sep):
            kind = 0
        elif nets and path.startswith(os.path.dirname(os.path.abspath(nets)) + os.sep):
            kind = 1  # nets builds its ops inside its layers; the line worth showing is the caller of those
        elif filename.startswith("<frozen") or path.startswith(_STDLIB + os.sep):
            kind = 3  # e.g. runpy under `python -m nets.mnist`
        else:
            kind = 2
        _WHERE[filename] = kind
    return kind


def _capture_site() -> tuple[tuple[str, int, str] | None, tuple[str, int, str] | None]:
    """Return (innermost frame outside tinygrad_bp, innermost frame outside tinygrad_bp and nets, if the user's)."""
    f: FrameType | None = sys._getframe(2)
    while f is not None and _where(f.f_code.co_filename) == 0:
        f = f.f_back
    if f is None:
        return None, None
    near = (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)
    while f is not None and _where(f.f_code.co_filename) < 2:
        f = f.f_back
    if f is None or _where(f.f_code.co_filename) == 3:
        return near, None  # the library line is the best there is
    return near, (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)


def _format_frame(frame: tuple[str, int, str]) -> str:
    filename, lineno, func = frame
    line = linecache.getline(filename, lineno).strip()
    return f"{filename}:{lineno} in {func}" + (f": `{line}`" if line else "")


def _format_site(site: Any) -> str:
    if not site:
        return "created at an unknown place"
    near, user = site
    if near is None:
        return "created at an unknown place"
    if user is None or user == near:
        return "created at " + _format_frame(near)
    return f"created at {_format_frame(user)} (op made at {_format_frame(near)})"


# ---- the checks -----------------------------------------------------------------------------------
def _bad_value(a: Any) -> str | None:
    """Return "nan" / "inf" / "-inf" when the float array ``a`` holds one (NaN first), else None."""
    if a.__class__ is not np.ndarray:
        a = np.asarray(a)
    if a.dtype.kind not in "fc":
        return None
    if a.dtype.kind == "c":
        return _bad_value(a.real) or _bad_value(a.imag)
    if np.isfinite(a).all():
        return None
    if np.isnan(a).any():
        return "nan"
    return "inf" if (a == np.inf).any() else "-inf"


def _op_name(cls: type) -> str:
    return f"{cls.__name__} ({cls.__module__}.{cls.__qualname__})"


def _checked_apply(cls: type[Function], inputs: tuple[Tensor, ...], kwargs: dict[str, Any]) -> Tensor:
    site = _capture_site()
    _modes.anomaly = None  # run the op itself unchecked, then look at what it made
    try:
        out = cls.apply(*inputs, **kwargs)
    finally:
        _modes.anomaly = _CHECKER
    bad = _bad_value(out.data)
    if bad is not None:
        notes = []
        for i, x in enumerate(inputs):
            kind = _bad_value(x.data if isinstance(x, Tensor) else x)
            if kind is not None:
                notes.append(f"input {i} already held {kind}")
        cause = "; " + ", ".join(notes) + ", so the bad value came from earlier (data or parameters)" if notes else ""
        raise AnomalyError(
            f"anomaly: the forward of {_op_name(cls)} produced {bad} in its output of shape {out.data.shape}; "
            f"{_format_site(site)}{cause}"
        )
    ctx = out._ctx
    if ctx is not None:
        ctx._anomaly_site = site
    return out


def _check_backward(ctx: Function, grad_out: Any, grads: tuple[Any, ...]) -> None:
    cls = type(ctx)
    site = ctx.__dict__.get("_anomaly_site")
    bad = _bad_value(grad_out.data if isinstance(grad_out, Tensor) else grad_out)
    if bad is not None:
        raise AnomalyError(
            f"anomaly: the gradient arriving at the backward of {_op_name(cls)} holds {bad} "
            f"(shape {np.shape(grad_out.data if isinstance(grad_out, Tensor) else grad_out)}), "
            f"from the seed given to backward or from summing the gradients of its uses; {_format_site(site)}"
        )
    for i, g in enumerate(grads):
        if g is None:
            continue
        arr = g.data if isinstance(g, Tensor) else g
        bad = _bad_value(arr)
        if bad is not None:
            raise AnomalyError(
                f"anomaly: the backward of {_op_name(cls)} produced {bad} in the gradient for input {i} "
                f"of shape {np.shape(arr)}; {_format_site(site)}"
            )


class _Checker:
    # What Function.apply and the backward walk call while anomaly mode is on in this thread.
    apply = staticmethod(_checked_apply)
    backward = staticmethod(_check_backward)


_CHECKER = _Checker()

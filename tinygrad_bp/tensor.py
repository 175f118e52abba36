"""The Tensor: an array that records the ops applied to it, the grad modes, and in-place updates.

The walk that turns a recorded graph into gradients lives in ``autograd.py``; the ops live in
``ops.py`` and attach themselves to Tensor as methods.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import float_dtype_for_grad, grad_flag, numpy_error, tensor_data

if TYPE_CHECKING:
    from .function import Function

__all__ = ["Tensor", "no_grad", "enable_grad", "is_grad_enabled"]


class _Modes(threading.local):
    # Per thread, as in PyTorch: one thread's no_grad() block must not switch off another thread's graph.
    grad = True
    anomaly: Any = None  # set by tinygrad_bp.anomaly inside detect_anomaly(): the checker of each op


_modes = _Modes()


class _Clock:
    # ``now`` counts in-place updates, process-wide.  A node remembers the count when it was made; a tensor
    # remembers the count of its last in-place update, so "modified after it was saved" is one comparison.
    # ``anomaly_threads`` counts threads inside detect_anomaly(): while it is 0, Function.apply skips the
    # thread-local look-up (a plain attribute costs a fifth of a thread-local one, on every op).
    __slots__ = ("now", "anomaly_threads")

    def __init__(self) -> None:
        self.now = 0
        self.anomaly_threads = 0


_clock = _Clock()


class no_grad:
    """A context manager (also a decorator) inside which no op records a graph, in the current thread.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, no_grad
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _target = False

    def __enter__(self) -> None:
        self._prev = _modes.grad
        _modes.grad = self._target

    def __exit__(self, *exc: object) -> None:
        _modes.grad = self._prev

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """A context manager that turns graph recording back on (for example inside ``no_grad``).

    Examples
    --------
    >>> from tinygrad_bp import Tensor, enable_grad, no_grad
    >>> with no_grad(), enable_grad():
    ...     (Tensor(1.0, requires_grad=True) * 2).requires_grad
    True
    """

    _target = True


def is_grad_enabled() -> bool:
    """Return whether ops record a graph in the current thread.

    Examples
    --------
    >>> from tinygrad_bp import is_grad_enabled
    >>> is_grad_enabled()
    True
    """
    return _modes.grad


def _new(data: np.ndarray, requires_grad: bool, ctx: Function | None) -> Tensor:
    # The hot path: ops build their outputs here, skipping __init__'s conversions.
    t = object.__new__(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._ctx = ctx
    t._retain = False
    t._stamp = None
    return t


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    Parameters
    ----------
    data : array_like
        Numbers, nested lists or an ndarray.  Floating arrays keep their dtype and are not copied;
        ints, bools and Python numbers become float64 unless ``dtype`` says otherwise.
    requires_grad : bool
        Whether ``backward`` should compute a gradient for this tensor (float dtypes only).
    dtype : numpy dtype, optional
        The dtype to convert ``data`` to.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([[2., 4.],
           [6., 8.]])
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain", "_stamp", "__weakref__")
    # Make `ndarray (op) Tensor` defer to Tensor's reflected operators instead of looping elementwise.
    __array_ufunc__ = None

    data: np.ndarray
    grad: Any
    requires_grad: bool
    _ctx: Function | None
    _retain: bool
    _stamp: list[int] | None  # [clock count of the last in-place update], shared with detach()es; None if never

    def __init__(self, data: Any, requires_grad: Any = False, dtype: Any = None) -> None:
        requires_grad = grad_flag(requires_grad, "Tensor")
        self.data = tensor_data(data.data if isinstance(data, Tensor) else data, requires_grad, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._retain = False
        self._stamp = None

    # ---- array-like attributes -------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Return the shape of the underlying array.")
    ndim = property(lambda self: self.data.ndim, doc="Return the number of dimensions.")
    size = property(lambda self: self.data.size, doc="Return the number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="Return the numpy dtype.")
    is_leaf = property(lambda self: self._ctx is None, doc="Return whether no recorded op made this tensor.")

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len: a 0-d tensor has no length")
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def numpy(self) -> np.ndarray:
        """Return the underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """Return the value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, got shape {self.data.shape}")
        return self.data.item()

    def __float__(self) -> float:
        if self.data.size != 1:
            raise TypeError(f"float: only a one-element tensor converts to a number, got shape {self.data.shape}")
        return float(self.data.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.data.shape} is ambiguous; reduce it first "
                "(.sum(), .max(), .min())"
            )
        return bool(self.data.item())

    def detach(self) -> Tensor:
        """Return a tensor sharing this data but cut from the graph (and sharing its in-place history)."""
        if self._stamp is None:
            self._stamp = [0]
        t = _new(self.data, False, None)
        t._stamp = self._stamp
        return t

    def zero_grad(self) -> None:
        """Reset ``.grad`` to None, so the next ``backward`` starts from zero."""
        self.grad = None

    def retain_grad(self) -> Tensor:
        """Return self, after asking ``backward`` to keep this non-leaf tensor's ``.grad``."""
        self._retain = True
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Return self after setting ``requires_grad`` on a leaf."""
        if grad_flag(requires_grad, "requires_grad_"):
            float_dtype_for_grad(self.data.dtype, "requires_grad_")
        elif self._ctx is not None:
            raise RuntimeError("requires_grad_: requires_grad_(False) only applies to leaves; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self.data.dtype != np.float64:
            extra += f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ---- comparisons: elementwise, like numpy, and never part of a graph --------------------
    __hash__ = object.__hash__

    def _compare(self, other: Any, op: Any) -> Tensor:
        o = other.data if isinstance(other, Tensor) else other
        try:
            return _new(np.asarray(op(self.data, o)), False, None)
        except (ValueError, TypeError, OverflowError) as e:
            what = f"shape {o.shape}" if isinstance(o, np.ndarray) else type(o).__name__
            raise numpy_error(e, f"{op.__name__}: cannot compare a tensor of shape {self.data.shape} with {what}: {e}") from None

    __eq__ = lambda self, other: self._compare(other, np.equal)  # type: ignore[assignment]  # noqa: E731
    __ne__ = lambda self, other: self._compare(other, np.not_equal)  # type: ignore[assignment]  # noqa: E731
    __lt__ = lambda self, other: self._compare(other, np.less)  # noqa: E731
    __le__ = lambda self, other: self._compare(other, np.less_equal)  # noqa: E731
    __gt__ = lambda self, other: self._compare(other, np.greater)  # noqa: E731
    __ge__ = lambda self, other: self._compare(other, np.greater_equal)  # noqa: E731

    # ---- in-place updates ---------------------------------------------------------------------
    def _writable(self, op: str) -> bool:
        """Return whether ``op`` may write into this tensor's array (False: record it out of place instead)."""
        if not (self.requires_grad and _modes.grad):
            return True
        if self._ctx is None:
            raise RuntimeError(
                f"{op}: a leaf tensor of shape {self.shape} that requires grad cannot be changed in place while "
                "grad mode is on (the graph would lose the value it used); update it inside `with no_grad():`"
            )
        return False

    def _update(self, op: str, ufunc: Any, other: Any) -> Tensor:
        o = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, o, out=self.data, casting="same_kind")
        except (ValueError, TypeError, OverflowError) as e:
            what = f"shape {np.shape(o)}" if isinstance(o, np.ndarray) else type(o).__name__
            raise numpy_error(e, f"{op}: cannot update a tensor of shape {self.shape} ({self.dtype}) in place with {what}: {e}") from None
        _clock.now += 1
        if self._stamp is None:
            self._stamp = [0]
        self._stamp[0] = _clock.now
        return self

    # A non-leaf inside a recorded graph is updated out of place and the name rebound, as Python does for
    # a type without in-place operators: the graph keeps the value it used, and the gradient stays right.
    def _inplace(op: str, ufunc: Any, name: str) -> Any:  # noqa: N805 - builds the methods below
        def method(self: Tensor, other: Any) -> Tensor:
            return self._update(op, ufunc, other) if self._writable(op) else getattr(self, name)(other)

        return method

    __iadd__ = _inplace("+=", np.add, "__add__")
    __isub__ = _inplace("-=", np.subtract, "__sub__")
    __imul__ = _inplace("*=", np.multiply, "__mul__")
    __itruediv__ = _inplace("/=", np.true_divide, "__truediv__")
    del _inplace

    def zero_(self) -> Tensor:
        """Return self, after setting every element to zero in place (refused on a leaf that requires grad in grad mode).

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> Tensor([1.0, 2.0]).zero_()
        Tensor([0., 0.])
        """
        return self.copy_(0.0)

    def copy_(self, src: Any) -> Tensor:
        """Return self, after copying ``src`` (broadcast to this shape) into it in place.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> Tensor([1.0, 2.0]).copy_([3.0, 4.0])
        Tensor([3., 4.])
        """
        if not self._writable("copy_"):
            raise RuntimeError(f"copy_: a tensor of shape {self.shape} inside a recorded graph cannot be overwritten")
        return self._update("copy_", lambda dst, s, out, casting: np.copyto(out, s, casting=casting), src)

    # ---- reverse mode -------------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: Any = None, create_graph: bool = False) -> None:
        """Return nothing; accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        Parameters
        ----------
        grad : array_like, optional
            The gradient with respect to this tensor; required unless it holds one element.  It is copied:
            no ``.grad`` ever shares memory with it.
        retain_graph : bool, optional
            Accepted for PyTorch code and ignored: the graph is always kept, so a second ``backward``
            through it accumulates into ``.grad`` again.
        create_graph : bool
            Record the backward pass as a graph, so that the ``.grad`` values (then Tensors)
            can be differentiated again.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> x = Tensor(3.0, requires_grad=True)
        >>> (x * x + x).backward()
        >>> x.grad
        array(7.)
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph; "
                "create its inputs with requires_grad=True"
            )
        _autograd.run([self], [_autograd.seed(self, grad, create_graph, "backward")], create_graph, None)


from . import autograd as _autograd  # noqa: E402  (autograd needs Tensor defined first)

"""The `Function` base class: one differentiable primitive, its saved context and its registration."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

from ._checks import numpy_error
from .tensor import Tensor, _clock, _modes, _new

__all__ = ["Function", "register", "register_binary"]


class Function:
    """A differentiable primitive: the base class of every op, and the graph node an op call leaves behind.

    A subclass writes ``forward(ctx, *arrays, **kwargs) -> ndarray`` on numpy arrays and
    ``backward(ctx, grad_out) -> tuple`` returning one gradient per input (``None`` where the
    input needs none) as numpy arrays, never changing ``grad_out``; it is called as
    ``MyOp.apply(t1, t2, ..., **settings)``.  The instance ``ctx`` is the node: it keeps what
    ``save_for_backward`` saved, and ``needs_input_grad`` says which inputs want a gradient.

    **The saving contract.**  Save the arrays ``forward`` received and the array it returns
    themselves, not copies or views of them: under ``backward(create_graph=True)`` each such value
    is replaced by the Tensor it belongs to (matched by identity, and two input Tensors that share
    one array are handed to ``forward`` as two distinct views, so the match is never ambiguous).
    Any other float array saved is a constant of the local derivative; integer and boolean arrays
    (indices, masks) and Python values stay as they are.  A backward written with operators and
    methods that arrays and Tensors share (``*``, ``@``, ``.T``, ``.sum(axis, keepdims=True)``,
    ``.reshape``) is then differentiable again; a Function that cannot be sets
    ``once_differentiable = True``.  Changing a saved input in place before ``backward`` is an error
    that backward reports, naming the op.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Function, Tensor
    >>> class Square(Function):
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     def backward(ctx, grad_out):
    ...         (x,) = ctx.saved
    ...         return (2 * x * grad_out,)
    >>> x = Tensor([1.0, 3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward()
    >>> x.grad
    array([2., 6.])
    """

    __slots__ = ("parents", "needs_input_grad", "saved", "kwargs", "_epoch", "__dict__")
    once_differentiable: ClassVar[bool] = False

    parents: tuple[Tensor, ...]
    needs_input_grad: tuple[bool, ...]
    saved: tuple[Any, ...]
    kwargs: dict[str, Any]  # the settings forward was called with (capture replays them)
    _epoch: int  # the in-place clock when the node was made

    def save_for_backward(self, *values: Any) -> None:
        """Keep the forward's input arrays, its output array or other values for ``backward`` as ``ctx.saved``."""
        self.saved = values

    def forward(ctx, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:  # noqa: N805
        raise NotImplementedError(f"{type(ctx).__name__} must define forward(ctx, *arrays)")

    def backward(ctx, grad_out: Any) -> Any:  # noqa: N805
        raise NotImplementedError(f"{type(ctx).__name__} must define backward(ctx, grad_out)")

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Return the output Tensor of this op on ``inputs``, recording the node when a gradient is needed."""
        for x in inputs:
            if x.__class__ is not Tensor:
                inputs = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
                break
        if _clock.anomaly_threads and _modes.anomaly is not None:
            return _modes.anomaly.apply(cls, inputs, kwargs)
        on = _modes.grad
        ctx = object.__new__(cls)
        ctx.saved = ()
        ctx.kwargs = kwargs
        try:
            # Unrolled for one, two and three inputs, the ops of every MLP step: list building costs as much as the rest.
            if len(inputs) == 1:
                x = inputs[0]
                ctx.needs_input_grad = need = (x.requires_grad and on,)
                data = cls.forward(ctx, x.data, **kwargs)
            elif len(inputs) == 2 and inputs[0].data is not inputs[1].data:
                x, y = inputs
                ctx.needs_input_grad = need = (x.requires_grad and on, y.requires_grad and on)
                data = cls.forward(ctx, x.data, y.data, **kwargs)
            elif len(inputs) == 3 and _distinct3(*inputs):
                x, y, z = inputs
                ctx.needs_input_grad = need = (x.requires_grad and on, y.requires_grad and on, z.requires_grad and on)
                data = cls.forward(ctx, x.data, y.data, z.data, **kwargs)
            else:
                ctx.needs_input_grad = need = tuple([x.requires_grad and on for x in inputs])
                arrays = [x.data for x in inputs]
                if len({id(a) for a in arrays}) < len(arrays):
                    ctx.args = arrays = _distinct(inputs, arrays)
                data = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, TypeError, IndexError, OverflowError) as e:
            # numpy's own message, prefixed with the op and the shapes it was given.
            shapes = ", ".join(str(x.data.shape) for x in inputs)
            raise numpy_error(e, f"{cls.__name__}: {e} (input shapes {shapes})") from e
        if data.__class__ is not np.ndarray:
            data = _as_output(ctx, data)
        out = object.__new__(Tensor)  # _new, inline: this runs once per op
        out.data = data
        out.grad = None
        out._retain = False
        out._stamp = None
        if True in need:
            ctx.parents = inputs
            ctx._epoch = _clock.now
            out.requires_grad = True
            out._ctx = ctx
        else:
            out.requires_grad = False
            out._ctx = None
        return out


def _distinct3(x: Tensor, y: Tensor, z: Tensor) -> bool:
    a, b, c = x.data, y.data, z.data
    return a is not b and a is not c and b is not c


def _distinct(inputs: tuple[Tensor, ...], arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Return the arrays with a fresh view wherever two different Tensors hold one array, so identity names the input."""
    first: dict[int, Tensor] = {}
    out = []
    for x, a in zip(inputs, arrays):
        holder = first.setdefault(id(a), x)
        out.append(a if holder is x else a.view())
    return out


def _as_output(ctx: Function, value: Any) -> np.ndarray:
    # numpy hands a 0-d result back as a scalar; if the op saved it, the saved value must become the
    # output's own array, or backward(create_graph=True) would take the output for a constant.
    data = np.asarray(value)
    if ctx.saved:
        ctx.saved = tuple([data if s is value else s for s in ctx.saved])
    return data


def register(name: str, method: Callable[..., Any]) -> None:
    """Attach ``method`` to Tensor as ``name``; each op registers itself right below its class."""
    setattr(Tensor, name, method)


def _lift(other: Any, like: Tensor) -> Tensor:
    """Return ``other`` as a Tensor; a Python number takes ``like``'s float dtype, as numpy's weak scalars do."""
    if isinstance(other, Tensor):
        return other
    if isinstance(other, (int, float)) and like.data.dtype.kind == "f":
        try:
            return _new(np.asarray(other, dtype=like.data.dtype), False, None)
        except OverflowError:
            raise ValueError(f"Tensor: the number {other!r} does not fit the tensor's dtype {like.data.dtype}") from None
    return Tensor(other)


def register_binary(cls: type[Function], name: str, dunder: str | None = None, reflected: str | None = None) -> None:
    """Attach a two-input op as ``Tensor.name`` (and its operator and reflected operator)."""

    def method(self: Tensor, other: Any) -> Tensor:
        return cls.apply(self, other if other.__class__ is Tensor else _lift(other, self))

    def rmethod(self: Tensor, other: Any) -> Tensor:
        return cls.apply(_lift(other, self), self)

    method.__name__ = name
    method.__doc__ = f"Return the elementwise/broadcast ``{name}`` of this Tensor and ``other`` (op {cls.__name__})."
    register(name, method)
    if dunder:
        register(dunder, method)
    if reflected:
        register(reflected, rmethod)

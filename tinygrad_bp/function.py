"""The `Function` base class: one differentiable primitive, its saved context and its registration."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

from .tensor import Tensor, _grad_mode, _new

__all__ = ["Function", "register", "register_binary"]



class Function:
    """Base class of every differentiable primitive.

    A subclass writes ``forward(ctx, *arrays, **kwargs) -> ndarray`` on numpy arrays and
    ``backward(ctx, grad_out) -> tuple`` returning one gradient per input (``None`` where
    the input needs none), and is called as ``MyOp.apply(t1, t2, ...)``.  The instance
    ``ctx`` is the node of the graph: it keeps what ``save_for_backward`` saved.

    A backward written with operators and methods that numpy arrays and Tensors share
    (``*``, ``@``, ``.T``, ``.sum(axis, keepdims=True)``, ``.reshape``) is differentiable
    again under ``backward(create_graph=True)``; a Function that cannot be sets
    ``once_differentiable = True``.

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

    __slots__ = ("parents", "needs_input_grad", "saved", "__dict__")
    once_differentiable: ClassVar[bool] = False

    parents: tuple[Tensor, ...]
    needs_input_grad: tuple[bool, ...]
    saved: tuple[Any, ...]

    def save_for_backward(self, *values: Any) -> None:
        """Keep arrays (or other values) for ``backward``; read them back as ``ctx.saved``."""
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
        ctx = object.__new__(cls)
        ctx.saved = ()
        try:
            # Unrolled for one and two inputs: this runs once per op, and list building costs as much as the rest.
            if len(inputs) == 1:
                x = inputs[0]
                ctx.needs_input_grad = need = (x.requires_grad and _grad_mode.enabled,)
                data = cls.forward(ctx, x.data, **kwargs)
            elif len(inputs) == 2:
                x, y = inputs
                on = _grad_mode.enabled
                ctx.needs_input_grad = need = (x.requires_grad and on, y.requires_grad and on)
                data = cls.forward(ctx, x.data, y.data, **kwargs)
            else:
                on = _grad_mode.enabled
                ctx.needs_input_grad = need = tuple([x.requires_grad and on for x in inputs])
                data = cls.forward(ctx, *[x.data for x in inputs], **kwargs)
        except (ValueError, TypeError, IndexError, OverflowError) as e:
            # numpy's own message, prefixed with the op and the shapes it was given (IndexError stays one,
            # as numpy users expect from indexing; an overflow in a conversion is a bad value).
            shapes = ", ".join(str(x.data.shape) for x in inputs)
            kind = TypeError if isinstance(e, TypeError) else IndexError if type(e) is IndexError else ValueError
            raise kind(f"{cls.__name__}: {e} (input shapes {shapes})") from e
        if data.__class__ is not np.ndarray:
            scalar, data = data, np.asarray(data)
            # numpy hands a 0-d result back as a scalar; if the op saved it, the saved value must become the
            # output's own array, or backward(create_graph=True) would take the output for a constant.
            saved = ctx.saved
            for i, s in enumerate(saved):
                if s is scalar:
                    ctx.saved = saved[:i] + (data,) + saved[i + 1 :]
                    break
        out = object.__new__(Tensor)
        out.data = data
        out.grad = None
        out._retain = False
        if True in need:
            ctx.parents = inputs
            out.requires_grad = True
            out._ctx = ctx
        else:
            out.requires_grad = False
            out._ctx = None
        return out


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

"""The `Module` base class: automatic parameter discovery, gradients reset and named state.

A module's parameters are the public ``Tensor`` attributes it holds, and those of the modules it
holds, directly or in lists and tuples.  Attributes whose name starts with ``_`` are private and
never discovered, so a module can keep caches or shortcut lists without duplicating parameters.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from tinygrad_bp import Tensor

__all__ = ["Module", "Layer"]


class Module:
    """Return a building block of a network; subclasses write ``forward`` and hold their parameters as attributes.

    Parameters are found without registration: every public attribute that is a ``Tensor``, a
    ``Module``, or a list/tuple of them (nested freely) is walked in attribute order.  A tensor
    reachable twice (a shared layer) is reported once, under its first name.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets import Module
    >>> class Scale(Module):
    ...     def __init__(self, n):
    ...         self.s = Tensor(np.ones(n), requires_grad=True)
    ...     def forward(self, x):
    ...         return x * self.s
    >>> layer = Scale(3)
    >>> [name for name, _ in layer.named_parameters()]
    ['s']
    >>> layer(Tensor([[1.0, 2.0, 3.0]])).numpy()
    array([[1., 2., 3.]])
    """

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Return the module's output; every subclass must define it.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets import Sigmoid
        >>> Sigmoid().forward(Tensor([0.0])).numpy()
        array([0.5])
        """
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- discovery -----------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Any]]:
        """Return an iterator over (name, value) of the public attributes that may hold parameters.

        Subclasses holding their layers in a custom way (``Sequential``) override this.

        Examples
        --------
        >>> from nets import Linear
        >>> [name for name, _ in Linear(2, 3).named_children()]
        ['w', 'b']
        """
        for name, value in vars(self).items():
            if not name.startswith("_"):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Return an iterator over (dotted name, tensor) of every parameter, each tensor once.

        Examples
        --------
        >>> from nets import Linear, Sequential, Sigmoid
        >>> [n for n, _ in Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1)).named_parameters()]
        ['0.w', '0.b', '2.w', '2.b']
        """
        seen: set[int] = set()
        yield from _walk(self, prefix, seen)

    def parameters(self) -> list[Tensor]:
        """Return the list of parameter tensors, in the order of ``named_parameters``.

        Examples
        --------
        >>> from nets import Linear
        >>> [p.shape for p in Linear(2, 3).parameters()]
        [(2, 3), (3,)]
        """
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Return nothing; set every parameter's ``.grad`` to None, so the next backward starts afresh.

        Examples
        --------
        >>> from nets import Linear
        >>> layer = Linear(2, 1)
        >>> layer.w.grad = np.ones((2, 1))
        >>> layer.zero_grad()
        >>> layer.w.grad is None
        True
        """
        for p in self.parameters():
            p.grad = None

    # ---- modes and dtype -----------------------------------------------------------------------
    training: bool = True
    """Whether the module is in training mode (``Dropout`` drops only then); set by ``train``/``eval``."""

    def modules(self) -> Iterator["Module"]:
        """Return an iterator over this module and every module it holds, each once, depth first.

        Examples
        --------
        >>> from nets import Linear, Sequential, Sigmoid
        >>> [type(m).__name__ for m in Sequential(Linear(2, 3), Sigmoid()).modules()]
        ['Sequential', 'Linear', 'Sigmoid']
        """
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield mod
            children = [m for name, value in mod.named_children() for _, m in _modules_in(name, value)]
            stack.extend(reversed(children))

    def train(self, mode: bool = True) -> "Module":
        """Return this module after setting training mode (``mode``) on it and every module it holds.

        Examples
        --------
        >>> from nets import Linear, Sequential
        >>> model = Sequential(Linear(2, 2)).train(False)
        >>> model.training, model[0].training
        (False, False)
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for mod in self.modules():
            mod.training = mode
        return self

    def eval(self) -> "Module":
        """Return this module after switching it and every module it holds to evaluation mode.

        Examples
        --------
        >>> from nets import Linear
        >>> Linear(2, 2).eval().training
        False
        """
        return self.train(False)

    def to(self, dtype: Any) -> "Module":
        """Return this module after converting every parameter, in place, to the float ``dtype``.

        Each parameter keeps its identity (optimizers holding it stay valid); its gradient is dropped.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Linear
        >>> Linear(2, 2).to(np.float32).w.dtype
        dtype('float32')
        """
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to: dtype must be a float dtype, got {dtype!r}") from None
        if dt.kind != "f":
            raise TypeError(f"to: dtype must be a float dtype, got {dt}")
        for p in self.parameters():
            p.data = p.data.astype(dt)
            p.grad = None
        return self

    # ---- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Return a plain dict mapping each parameter's dotted name to a copy of its array.

        Examples
        --------
        >>> from nets import Linear
        >>> {k: v.shape for k, v in Linear(2, 3).state_dict().items()}
        {'w': (2, 3), 'b': (3,)}
        """
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Return nothing; copy ``state``'s arrays into the parameters, in place.

        Writing in place keeps every view of a parameter (such as ``Network.weights``) valid.

        Parameters
        ----------
        state : mapping of str to array
            As made by ``state_dict``.
        strict : bool
            Whether names missing from ``state``, or names in ``state`` that match no parameter,
            are an error.

        Raises
        ------
        KeyError
            Names missing or unexpected (with ``strict``).
        ValueError
            An array's shape differs from its parameter's.
        TypeError
            An array's dtype differs from its parameter's.

        Examples
        --------
        >>> from nets import Linear
        >>> a, b = Linear(2, 3), Linear(2, 3)
        >>> b.load_state_dict(a.state_dict())
        >>> bool((a.w.data == b.w.data).all())
        True
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: state must map parameter names to arrays, got {type(state).__name__}")
        params = dict(self.named_parameters())
        if strict:
            missing = [k for k in params if k not in state]
            unexpected = [k for k in state if k not in params]
            if missing or unexpected:
                raise KeyError(
                    f"load_state_dict: {type(self).__name__} state does not match its parameters; "
                    f"missing {missing}, unexpected {unexpected}"
                )
        # Check everything before writing anything, so a bad state leaves the module unchanged.
        todo = []
        for name, p in params.items():
            if name not in state:
                continue
            arr = state[name]
            try:
                arr = arr.data if isinstance(arr, Tensor) else np.asarray(arr)
            except ValueError as e:
                raise ValueError(f"load_state_dict: '{name}' is not an array ({e})") from None
            if arr.shape != p.data.shape:
                raise ValueError(
                    f"load_state_dict: '{name}' has shape {arr.shape} but the parameter has shape {p.data.shape}"
                )
            if arr.dtype != p.data.dtype:
                raise TypeError(
                    f"load_state_dict: '{name}' has dtype {arr.dtype} but the parameter has dtype {p.data.dtype}"
                )
            todo.append((p, arr))
        for p, arr in todo:
            p.data[...] = arr

    # ---- display -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Return the text shown between the parentheses of this module's repr (empty by default).

        Examples
        --------
        >>> from nets import Linear, Sigmoid
        >>> Linear(2, 3).extra_repr(), Sigmoid().extra_repr()
        ('n_in=2, n_out=3', '')
        """
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if id(self) in _IN_REPR:  # a module reachable from itself is shown once
            return head + " ...)"
        _IN_REPR.add(id(self))
        try:
            lines = []
            for name, value in self.named_children():
                for label, mod in _modules_in(name, value):
                    body = repr(mod).replace("\n", "\n  ")
                    lines.append(f"  ({label}): {body}")
        finally:
            _IN_REPR.discard(id(self))
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


Layer = Module
"""Another name for ``Module``, for code that speaks of layers."""

_IN_REPR: set[int] = set()  # ids of the modules whose repr is being built, to cut loops


def _modules_in(name: str, value: Any) -> Iterator[tuple[str, Module]]:
    if isinstance(value, Module):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _modules_in(f"{name}.{i}", v)


def _walk(obj: Any, prefix: str, seen: set[int]) -> Iterator[tuple[str, Tensor]]:
    if isinstance(obj, Tensor):
        if id(obj) not in seen:
            seen.add(id(obj))
            yield prefix, obj
    elif isinstance(obj, Module):
        if id(obj) in seen:  # a shared layer, or a module that refers back to its owner
            return
        seen.add(id(obj))
        for name, value in obj.named_children():
            yield from _walk(value, f"{prefix}.{name}" if prefix else name, seen)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{prefix}.{i}" if prefix else str(i), seen)

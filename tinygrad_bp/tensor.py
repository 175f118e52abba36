"""The Tensor and the reverse-mode engine: an iterative topological walk that accumulates gradients."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:
    from .function import Function

__all__ = ["Tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad"]


class _GradMode:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


_grad_mode = _GradMode()

# Set by tinygrad_bp.anomaly while detect_anomaly() is on: called with (ctx, grad_out, grads) for every node.
_anomaly_hook: Any = None


class no_grad:
    """Return a context manager (also a decorator) inside which no op records a graph.

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
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = self._target

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self._prev

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Return a context manager that turns graph recording back on (for example inside ``no_grad``)."""

    _target = True


def is_grad_enabled() -> bool:
    """Return whether ops currently record a graph."""
    return _grad_mode.enabled


def _new(data: np.ndarray, requires_grad: bool, ctx: Function | None) -> Tensor:
    # The hot path: ops build their outputs here, skipping __init__'s conversions.
    t = object.__new__(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._ctx = ctx
    t._retain = False
    return t


class Tensor:
    """Return an n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

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

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain", "__weakref__")
    # Make `ndarray (op) Tensor` defer to Tensor's reflected operators instead of looping elementwise.
    __array_ufunc__ = None

    data: np.ndarray
    grad: Any
    requires_grad: bool
    _ctx: Function | None
    _retain: bool

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        try:
            arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
        except (ValueError, TypeError, OverflowError) as e:
            kind = TypeError if isinstance(e, TypeError) else ValueError
            to = "" if dtype is None else f" of dtype {dtype!r}"
            raise kind(f"Tensor: cannot make a tensor{to} from {type(data).__name__} data: {e}") from None
        if arr.dtype.kind != "f":
            if dtype is None and arr.dtype.kind in "biu":
                arr = arr.astype(np.float64)
            elif dtype is None or arr.dtype.kind not in "biu":
                raise TypeError(
                    f"Tensor: cannot make a tensor from data of dtype {arr.dtype}; expected numbers (a float dtype, "
                    "or an explicit int or bool dtype)"
                )
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad=True needs a floating dtype, got {arr.dtype}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._retain = False

    # ---- array-like attributes -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Return the shape of the underlying array."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Return the number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """Return the number of elements."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """Return the numpy dtype."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """Return whether this tensor was made by the user rather than by an op that records a graph."""
        return self._ctx is None

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
        """Return a tensor sharing this data but cut from the graph."""
        return _new(self.data, False, None)

    def zero_grad(self) -> None:
        """Reset ``.grad`` to None, so the next ``backward`` starts from zero."""
        self.grad = None

    def retain_grad(self) -> Tensor:
        """Return self, after asking ``backward`` to keep this non-leaf tensor's ``.grad``."""
        self._retain = True
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Return self after setting ``requires_grad`` on a leaf."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad=True needs a floating dtype, got {self.data.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("Tensor: requires_grad_(False) only applies to leaves; use detach()")
        self.requires_grad = requires_grad
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
            kind = TypeError if isinstance(e, TypeError) else ValueError
            what = f"shape {o.shape}" if isinstance(o, np.ndarray) else type(o).__name__
            raise kind(f"{op.__name__}: cannot compare a tensor of shape {self.data.shape} with {what}: {e}") from None

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    # ---- reverse mode -------------------------------------------------------------------------
    def backward(self, grad: Any = None, create_graph: bool = False) -> None:
        """Return nothing; accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        Parameters
        ----------
        grad : array_like, optional
            The gradient with respect to this tensor; required unless it holds one element.
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
        seed = _seed(self, grad, create_graph, "backward")
        _run_backward([self], [seed], create_graph, None)


def _seed(t: Tensor, grad: Any, create_graph: bool, who: str) -> Any:
    data = t.data
    if grad is None:
        if data.size != 1:
            raise RuntimeError(
                f"{who}: grad can be implicit only for a one-element output, got shape {data.shape}; "
                "pass grad= with that shape"
            )
        g: Any = np.ones(data.shape, data.dtype)
    elif create_graph and isinstance(grad, Tensor):
        g = grad
    elif grad.__class__ is np.ndarray and grad.dtype == data.dtype and t._ctx is not None:
        g = grad  # the engine never writes into arrays it did not allocate, so no copy is needed
    else:
        try:
            g = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=data.dtype)
        except (ValueError, TypeError, OverflowError) as e:
            kind = TypeError if isinstance(e, TypeError) else ValueError
            raise kind(f"{who}: grad must be numbers of the output's dtype {data.dtype}, got {type(grad).__name__}: {e}") from None
    if g.shape != data.shape:
        raise ValueError(f"{who}: grad has shape {g.shape} but the output has shape {data.shape}")
    if create_graph and not isinstance(g, Tensor):
        g = _new(g, False, None)
    return g


def _toposort(roots: Sequence[Tensor]) -> list[Tensor]:
    """Return the recorded nodes reachable from ``roots``, every node after all the nodes it was computed from."""
    if len(roots) == 1:
        # A chain (each node has at most one recorded parent, as in an MLP) needs no search.
        chain, t = [], roots[0]
        while t is not None and t._ctx is not None:
            chain.append(t)
            nxt = None
            for p in t._ctx.parents:
                if p._ctx is not None:
                    if nxt is not None:
                        break
                    nxt = p
            else:
                t = nxt
                continue
            break
        else:
            chain.reverse()
            return chain
    # Iterative depth-first post-order over recorded nodes only, so deep graphs never hit the recursion limit.
    order: list[Tensor] = []
    seen: set[Tensor] = set()
    for root in roots:
        if root._ctx is None or root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root._ctx.parents))]
        while stack:
            t, it = stack[-1]
            for p in it:
                if p._ctx is not None and p not in seen:
                    seen.add(p)
                    stack.append((p, iter(p._ctx.parents)))
                    break
            else:
                stack.pop()
                order.append(t)
    return order


def _as_graph_saved(ctx: Function, out: Tensor) -> tuple[Any, ...]:
    # Under create_graph, backward must see inputs and the output as Tensors so its own ops are recorded;
    # any other saved float array is a constant of the local derivative.  Integer and boolean arrays
    # (indices, masks) stay arrays: they are never differentiated, and numpy indexing needs them as they are.
    # Tensors may share one array (``detach()`` does), so an array is matched to the Tensors holding it in
    # order: the k-th time it was saved, the k-th of them, inputs first, as every op saves its inputs in order.
    lookup: dict[int, list[Tensor]] = {}
    for p in ctx.parents:
        lookup.setdefault(id(p.data), []).append(p)
    lookup.setdefault(id(out.data), []).append(out)
    seen: dict[int, int] = {}
    result = []
    for s in ctx.saved:
        if isinstance(s, np.ndarray) and s.dtype.kind == "f":
            holders = lookup.get(id(s))
            if holders is None:
                s = _new(s, False, None)
            else:
                k = seen.get(id(s), 0)
                seen[id(s)] = k + 1
                s = holders[min(k, len(holders) - 1)]
        result.append(s)
    return tuple(result)


def _run_backward(
    roots: Sequence[Tensor], seeds: Sequence[Any], create_graph: bool, wanted: set[Tensor] | None
) -> dict[Tensor, Any]:
    """Walk the graph from ``roots`` in reverse topological order.

    With ``wanted`` None, gradients land in leaves' (and retained tensors') ``.grad``.  Otherwise
    nothing's ``.grad`` is touched and the gradients of the ``wanted`` tensors are returned.
    """
    pending: dict[Tensor, Any] = {}
    for r, s in zip(roots, seeds):
        pending[r] = s if r not in pending else _plus(pending[r], s)
    owned: set[Tensor] = set()  # pending buffers the engine allocated itself, safe to `+=` into
    given: set[int] = set()  # ids of the arrays handed out as .grad by this pass
    found: dict[Tensor, Any] = {}
    to_leaves = wanted is None
    order = _toposort(roots)
    order.reverse()
    prev_mode = _grad_mode.enabled
    _grad_mode.enabled = create_graph
    try:
        for t in order:
            grad_out = pending.pop(t, None)
            if grad_out is None:
                continue
            if t._retain or not to_leaves:
                _deliver(t, grad_out, wanted, found, given, create_graph)
            ctx = t._ctx
            if create_graph:
                grads = _graph_backward(ctx, t, grad_out)
            else:
                grads = type(ctx).backward(ctx, grad_out)
            parents = ctx.parents
            if grads.__class__ is not tuple or len(grads) != len(parents):
                grads = _check_arity(ctx, grads)
            if _anomaly_hook is not None:
                _anomaly_hook(ctx, grad_out, grads)
            for p, g in zip(parents, grads):
                if g is None or not p.requires_grad:
                    continue
                if create_graph or g.__class__ is not np.ndarray or g.shape != p.data.shape or g.dtype != p.data.dtype:
                    g = _check_grad(ctx, p, g, create_graph)
                if p._ctx is None and to_leaves:
                    if not create_graph and p.grad is None and g.base is None and id(g) not in given:
                        given.add(id(g))  # the common case, inline: a fresh array becomes the leaf's .grad
                        p.grad = g
                    else:
                        _deliver(p, g, None, found, given, create_graph)
                    continue
                acc = pending.get(p)
                if acc is None:
                    pending[p] = g
                elif p in owned:
                    acc += g
                else:
                    pending[p] = _plus(acc, g)
                    if not create_graph:
                        owned.add(p)
    finally:
        _grad_mode.enabled = prev_mode
    for p, g in pending.items():  # roots that are leaves, and (for wanted) leaves
        _deliver(p, g, wanted, found, given, create_graph)
    return found


def _deliver(t: Tensor, g: Any, wanted: set[Tensor] | None, found: dict[Tensor, Any], given: set[int], graph: bool) -> None:
    """Add ``g`` into ``t.grad`` (or, when gradients are ``wanted``, into ``found``)."""
    if wanted is not None:
        if t in wanted:
            found[t] = _plus(found[t], g) if t in found else g
    elif t.grad is None:
        # Every tensor's .grad must be its own writable array: an op may pass one array to several
        # inputs (Add does) or a view of one (Reshape does), and a broadcast view is read-only.
        if not graph:
            owner = id(g) if g.base is None else id(g.base)
            if owner in given or not g.flags.writeable:
                g = g.copy()
                owner = id(g)
            given.add(owner)
        t.grad = g
    else:
        t.grad = _plus(t.grad, g)


def _graph_backward(ctx: Function, out: Tensor, grad_out: Tensor) -> Any:
    cls = type(ctx)
    if cls.once_differentiable:
        raise RuntimeError(
            f"{cls.__name__}: this op is once-differentiable; its backward cannot be recorded with create_graph=True"
        )
    saved = ctx.saved
    ctx.saved = _as_graph_saved(ctx, out)
    try:
        return type(ctx).backward(ctx, grad_out)
    except (TypeError, AttributeError) as e:
        # Typically a numpy function or array attribute applied to a Tensor: say which op, and what to do.
        kind = TypeError if isinstance(e, TypeError) else AttributeError
        raise kind(
            f"{cls.__name__}: its backward cannot be recorded with create_graph=True ({e}); write it with "
            "operators and methods that Tensors share with arrays, or set once_differentiable = True"
        ) from e
    finally:
        ctx.saved = saved


def _check_arity(ctx: Function, grads: Any) -> tuple[Any, ...]:
    if grads.__class__ is not tuple:
        grads = tuple(grads) if isinstance(grads, list) else (grads,)
    if len(grads) != len(ctx.parents):
        raise RuntimeError(
            f"{type(ctx).__name__}.backward returned {len(grads)} gradient(s) for {len(ctx.parents)} input(s)"
        )
    return grads


def _plus(acc: Any, g: Any) -> Any:
    total = acc + g
    return np.asarray(total) if isinstance(total, np.generic) else total


def _check_grad(ctx: Function, p: Tensor, g: Any, create_graph: bool) -> Any:
    name = type(ctx).__name__
    i = next(k for k, q in enumerate(ctx.parents) if q is p)
    if create_graph:
        if not isinstance(g, Tensor):
            raise RuntimeError(
                f"{name}: backward returned a plain array for input {i} under create_graph=True, "
                "so it cannot be differentiated again; write it with Tensor-compatible ops or set "
                "once_differentiable = True"
            )
    elif g.__class__ is not np.ndarray:
        if isinstance(g, Tensor):
            g = g.data
        g = np.asarray(g)
    if g.shape != p.data.shape:
        raise ValueError(f"{name}.backward returned a gradient of shape {g.shape} for input {i} of shape {p.data.shape}")
    if g.dtype != p.data.dtype:
        if g.dtype.kind != "f":
            raise TypeError(
                f"{name}.backward returned a gradient of dtype {g.dtype} for input {i} of dtype {p.data.dtype}"
            )
        g = g.astype(p.data.dtype)
    return g


def _tensor_list(value: Any, what: str) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"grad: {what} must be a Tensor or a list of Tensors, got {type(value).__name__}")
    for i, v in enumerate(value):
        if not isinstance(v, Tensor):
            raise TypeError(f"grad: {what}[{i}] is a {type(v).__name__}, not a Tensor")
    return list(value)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs``, leaving every ``.grad`` untouched.

    Like ``torch.autograd.grad``: with ``create_graph=True`` the results are Tensors that can be
    differentiated again.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, grad
    >>> x = Tensor(2.0, requires_grad=True)
    >>> (dx,) = grad(x * x * x, x, create_graph=True)
    >>> (d2x,) = grad(dx, x)
    >>> float(dx), float(d2x)
    (12.0, 12.0)
    """
    outs = _tensor_list(outputs, "outputs")
    ins = _tensor_list(inputs, "inputs")
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray, int, float)):
        gos = [grad_outputs] * len(outs) if len(outs) == 1 or grad_outputs is None else [grad_outputs]
    elif isinstance(grad_outputs, (list, tuple)):
        gos = list(grad_outputs)
    else:
        raise TypeError(f"grad: grad_outputs must be None, an array, or a list with one per output, got {type(grad_outputs).__name__}")
    if len(gos) != len(outs):
        raise ValueError(f"grad: {len(gos)} grad_outputs for {len(outs)} outputs")
    for o in outs:
        if not o.requires_grad:
            raise RuntimeError("grad: an output does not require grad and has no graph")
    for x in ins:
        if not x.requires_grad:
            raise RuntimeError(f"grad: an input of shape {x.shape} does not require grad")
    seeds = [_seed(o, g, create_graph, "grad") for o, g in zip(outs, gos)]
    found = _run_backward(outs, seeds, create_graph, set(ins))
    result = []
    for i, x in enumerate(ins):
        if x not in found and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) is not used by the outputs; pass allow_unused=True")
        result.append(found.get(x))
    return tuple(result)

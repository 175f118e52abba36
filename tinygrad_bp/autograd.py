"""Reverse mode: seed the output, order the recorded nodes, walk them backwards and deliver gradients.

Gradients accumulate with ``+=`` across fan-out; the order is an iterative depth-first post-order,
so a chain of 10⁵ ops needs no recursion.  ``grad()`` runs the same walk but returns gradients
instead of writing ``.grad``; ``create_graph=True`` runs it with grad mode on, recording the
backward pass itself.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ._checks import check_arity, check_grad, check_versions, grad_arguments, numpy_error
from .tensor import Tensor, _clock, _modes, _new

if TYPE_CHECKING:
    from .function import Function

__all__ = ["grad"]


def seed(t: Tensor, grad: Any, create_graph: bool, who: str) -> Any:
    """Return the starting gradient for ``t``: ones for a one-element output, else a copy of ``grad``."""
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
    else:
        try:  # a copy: a .grad must never be an array the caller holds
            g = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=data.dtype)
        except (ValueError, TypeError, OverflowError) as e:
            raise numpy_error(e, f"{who}: grad must be numbers of the output's dtype {data.dtype}, got {type(grad).__name__}: {e}") from None
    if g.shape != data.shape:
        raise ValueError(f"{who}: grad has shape {g.shape} but the output has shape {data.shape}")
    return _new(g, False, None) if create_graph and not isinstance(g, Tensor) else g


def toposort(roots: Sequence[Tensor]) -> list[Tensor]:
    """Return the recorded nodes reachable from ``roots``, every node after all the nodes it was computed from."""
    if len(roots) == 1 and roots[0]._ctx is not None:
        # A chain (each node has at most one recorded parent, as in an MLP) needs no search.
        chain, t = [], roots[0]
        while t is not None:
            chain.append(t)
            up = None
            for p in t._ctx.parents:
                if p._ctx is not None:
                    if up is not None:
                        break  # two recorded parents: not a chain
                    up = p
            else:
                t = up
                continue
            break
        else:
            chain.reverse()
            return chain
    order: list[Tensor] = []
    seen: set[int] = set()
    for root in roots:
        if root._ctx is None or id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root._ctx.parents))]
        while stack:
            t, it = stack[-1]
            for p in it:
                if p._ctx is not None and id(p) not in seen:
                    seen.add(id(p))
                    stack.append((p, iter(p._ctx.parents)))
                    break
            else:
                stack.pop()
                order.append(t)
    return order


def run(roots: Sequence[Tensor], seeds: Sequence[Any], create_graph: bool, wanted: set[Tensor] | None) -> dict[Tensor, Any]:
    """Walk the graph from ``roots`` in reverse topological order.

    With ``wanted`` None, gradients land in leaves' (and retained tensors') ``.grad``.  Otherwise
    nothing's ``.grad`` is touched and the gradients of the ``wanted`` tensors are returned.
    """
    pending: dict[Tensor, Any] = {}
    for r, s in zip(roots, seeds):
        pending[r] = _plus(pending[r], s) if r in pending else s
    owned: set[Tensor] = set()  # pending sums the engine allocated itself, safe to `+=` into
    given: set[int] = set()  # ids of the arrays handed out as .grad by this pass
    found: dict[Tensor, Any] = {}
    to_leaves = wanted is None
    anomaly = _modes.anomaly
    prev, _modes.grad = _modes.grad, create_graph
    try:
        for t in reversed(toposort(roots)):
            grad_out = pending.pop(t, None)
            if grad_out is None:
                continue
            if t._retain or not to_leaves:
                _deliver(t, grad_out, wanted, found, given, create_graph)
            ctx = t._ctx
            if create_graph:
                grads = _graph_backward(ctx, t, grad_out)
            else:  # _backward, inline: this runs once per node of every step
                if ctx._epoch != _clock.now:
                    check_versions(ctx, t)
                grads = type(ctx).backward(ctx, grad_out)
                if grads.__class__ is not tuple or len(grads) != len(ctx.parents):
                    grads = check_arity(ctx, grads)
            if anomaly is not None:
                anomaly.backward(ctx, grad_out, grads)
            for p, g in zip(ctx.parents, grads):
                if g is None or not p.requires_grad:
                    continue
                if create_graph or g.__class__ is not np.ndarray or g.shape != p.data.shape or g.dtype != p.data.dtype:
                    g = check_grad(ctx, p, g, create_graph)
                if p._ctx is None and to_leaves:
                    if p.grad is None and not create_graph and g.base is None and id(g) not in given:
                        given.add(id(g))  # the common case, inline: a fresh array becomes the leaf's .grad
                        p.grad = g
                    else:
                        _deliver(p, g, None, found, given, create_graph)
                elif p not in pending:
                    pending[p] = g
                elif p in owned:
                    pending[p] += g
                else:
                    pending[p] = _plus(pending[p], g)
                    if not create_graph:
                        owned.add(p)
    finally:
        _modes.grad = prev
    for p, g in pending.items():  # roots that are leaves
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


def _backward(ctx: Function, out: Tensor, grad_out: Any) -> tuple[Any, ...]:
    if ctx._epoch != _clock.now:
        check_versions(ctx, out)
    grads = type(ctx).backward(ctx, grad_out)
    if grads.__class__ is not tuple or len(grads) != len(ctx.parents):
        grads = check_arity(ctx, grads)
    return grads


def _graph_backward(ctx: Function, out: Tensor, grad_out: Tensor) -> tuple[Any, ...]:
    cls = type(ctx)
    if cls.once_differentiable:
        raise RuntimeError(
            f"{cls.__name__}: this op is once-differentiable; its backward cannot be recorded with create_graph=True"
        )
    saved = ctx.saved
    ctx.saved = _as_graph_saved(ctx, out)
    try:
        return _backward(ctx, out, grad_out)
    except (TypeError, AttributeError) as e:
        # Typically a numpy function or array attribute applied to a Tensor: say which op, and what to do.
        kind = TypeError if isinstance(e, TypeError) else AttributeError
        raise kind(
            f"{cls.__name__}: its backward cannot be recorded with create_graph=True ({e}); write it with "
            "operators and methods that Tensors share with arrays, or set once_differentiable = True"
        ) from e
    finally:
        ctx.saved = saved


def _as_graph_saved(ctx: Function, out: Tensor) -> tuple[Any, ...]:
    # The saving contract (Function's docstring): a saved float array that *is* an array forward received
    # or returned becomes that Tensor; apply gave aliased inputs distinct views, so the match is unique.
    holders = {id(a): p for p, a in zip(ctx.parents, ctx.__dict__.get("args") or [p.data for p in ctx.parents])}
    holders.setdefault(id(out.data), out)
    result = []
    for s in ctx.saved:
        if isinstance(s, np.ndarray) and s.dtype.kind == "f":
            h = holders.get(id(s))
            s = _new(s, False, None) if h is None else h
        result.append(s)
    return tuple(result)


def _plus(acc: Any, g: Any) -> Any:
    total = acc + g
    return np.asarray(total) if isinstance(total, np.generic) else total


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs``, leaving every ``.grad`` untouched.

    Like ``torch.autograd.grad``: with ``create_graph=True`` the results are Tensors that can be
    differentiated again.  ``retain_graph`` is accepted and ignored: graphs are never freed.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, grad
    >>> x = Tensor(2.0, requires_grad=True)
    >>> (dx,) = grad(x * x * x, x, create_graph=True)
    >>> (d2x,) = grad(dx, x)
    >>> float(dx), float(d2x)
    (12.0, 12.0)
    """
    outs, ins, gos = grad_arguments(outputs, inputs, grad_outputs)
    seeds = [seed(o, g, create_graph, "grad") for o, g in zip(outs, gos)]
    found = run(outs, seeds, create_graph, set(ins))
    result = []
    for i, x in enumerate(ins):
        if x not in found and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) is not used by the outputs; pass allow_unused=True")
        result.append(found.get(x))
    return tuple(result)

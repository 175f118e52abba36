"""Capture a training step once and replay it: the same kernels in the same order, without the graph's objects.

At mini-batch 10 most of a step's time is the engine's Python work (building Tensors and nodes,
ordering them, routing gradients), not numpy's.  When a step has a fixed structure, that work is the
same every time, so :func:`capture` records it from the graph the step builds and then replays only
the ops' own ``forward`` and ``backward`` calls, in the order the plain engine makes them, so the
results are the same bits.  Early tinygrad's ``TinyJit`` and CUDA graphs rest on the same idea.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .autograd import _deliver, toposort
from .function import Function, _as_output
from .tensor import Tensor, _modes

__all__ = ["capture", "Captured"]

# Where a node's input comes from: ("in", k) the step's k-th array, ("param", t) a leaf Tensor read
# afresh at each replay, ("node", j) the output of node j, ("const", array) a value fixed at capture.
_Source = tuple[str, Any]


class _Plan:
    """A recorded step: nodes in forward order, each with its op, settings, inputs and gradient routes."""

    __slots__ = ("nodes", "sources", "kwargs", "key", "constants", "ok")

    def __init__(self, loss: Tensor, arrays: tuple[np.ndarray, ...]) -> None:
        order = toposort([loss])
        index = {id(t): j for j, t in enumerate(order)}
        by_array = {id(a): k for k, a in enumerate(arrays)}
        self.nodes: list[Function] = [t._ctx for t in order]  # type: ignore[misc]
        self.kwargs = [t._ctx.kwargs for t in order]  # type: ignore[union-attr]
        self.sources: list[list[_Source]] = []
        self.constants: list[np.ndarray] = []
        self.ok = all(not t._retain for t in order)  # a retained .grad is delivered only by the plain walk
        for t in order:
            srcs: list[_Source] = []
            for p in t._ctx.parents:  # type: ignore[union-attr]
                if p._ctx is not None:
                    srcs.append(("node", index[id(p)]))
                elif id(p.data) in by_array:
                    # An input that wants a gradient would need a Tensor of its own each call: not replayable.
                    self.ok = self.ok and not p.requires_grad
                    srcs.append(("in", by_array[id(p.data)]))
                elif p.requires_grad:
                    srcs.append(("param", p))
                else:
                    srcs.append(("const", p.data))
                    self.constants.append(p.data)
            self.sources.append(srcs)
        self.key = (_signature(arrays, self.sources), tuple(ctx.needs_input_grad for ctx in self.nodes))

    def same_as(self, other: _Plan) -> bool:
        """Return whether ``other`` recorded the same ops, settings, routes and constant values."""
        if self.key != other.key or len(self.nodes) != len(other.nodes):
            return False
        for a, b, ka, kb in zip(self.nodes, other.nodes, self.kwargs, other.kwargs):
            if type(a) is not type(b) or not _equal(ka, kb):
                return False
        return len(self.constants) == len(other.constants) and all(
            x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
            for x, y in zip(self.constants, other.constants)
        )

    def replay(self, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        """Return the loss after running forward and backward, gradients delivered as the engine would."""
        outs: list[Any] = [None] * len(self.nodes)
        for j, (ctx, srcs, kw) in enumerate(zip(self.nodes, self.sources, self.kwargs)):
            args = [_value(s, arrays, outs) for s in srcs]
            ctx.saved = ()
            out = type(ctx).forward(ctx, *args, **kw)
            outs[j] = out if out.__class__ is np.ndarray else _as_output(ctx, out)
        loss = outs[-1]
        pending: list[Any] = [None] * len(self.nodes)
        pending[-1] = np.ones(loss.shape, loss.dtype)
        given: set[int] = set()
        for j in range(len(self.nodes) - 1, -1, -1):
            grad_out = pending[j]
            if grad_out is None:
                continue
            ctx = self.nodes[j]
            grads = type(ctx).backward(ctx, grad_out)
            for (kind, ref), g in zip(self.sources[j], grads):
                if g is None or kind == "in" or kind == "const":
                    continue
                like = ref.data if kind == "param" else outs[ref]
                if g.__class__ is not np.ndarray or g.dtype != like.dtype:  # as the engine's check_grad converts
                    g = np.asarray(g).astype(like.dtype, copy=False)
                if kind == "param":
                    _deliver(ref, g, None, {}, given, False)
                else:  # the first gradient is kept, later ones summed, in the engine's order: the same bits
                    pending[ref] = g if pending[ref] is None else pending[ref] + g
        return loss


def _value(src: _Source, arrays: tuple[np.ndarray, ...], outs: list[Any]) -> Any:
    kind, ref = src
    if kind == "node":
        return outs[ref]
    if kind == "in":
        return arrays[ref]
    return ref.data if kind == "param" else ref


def _signature(arrays: tuple[np.ndarray, ...], sources: list[list[_Source]]) -> tuple[Any, ...]:
    """Return what must stay the same for a replay: the arrays' shapes and dtypes, and which parameters feed which ops."""
    params = tuple(
        (id(ref), ref.data.shape, ref.data.dtype.str, ref.requires_grad)
        for srcs in sources
        for kind, ref in srcs
        if kind == "param"
    )
    return tuple((a.shape, a.dtype.str) for a in arrays), params


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


class Captured:
    """A step function that runs through the engine twice, then replays its recorded ops while nothing changes.

    Call it like the function.  The first two calls run ``fn`` normally and record the graph its
    loss has; when both recordings agree (the same ops, settings and constants) later calls with
    arrays of the same shapes and dtypes, and the same parameters, replay the recording: the same
    ``forward`` and ``backward`` calls in the same order, so ``.grad`` gets the same bits, but no
    Tensor, node, ordering or routing is built again.  Anything else (other shapes, a parameter
    replaced, anomaly mode, a retained gradient, recordings that differ) runs ``fn`` normally.

    The contract: ``fn(*arrays)`` builds Tensors from its arrays, returns a one-element loss Tensor,
    and does nothing else that has to happen every call; its ops may depend on the arrays' shapes,
    never on their values.  ``fn``'s own Python code is not run during a replay.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, capture
    >>> w = Tensor(np.ones((3, 2)), requires_grad=True)
    >>> step = capture(lambda x: (Tensor(x) @ w).sigmoid().sum())
    >>> for k in range(4):
    ...     w.grad = None
    ...     loss = step(np.full((5, 3), 0.1 * k))
    >>> step.replays, w.grad.shape
    (2, (3, 2))
    """

    def __init__(self, fn: Callable[..., Tensor]) -> None:
        self.fn = fn
        self.plan: _Plan | None = None
        self.candidate: _Plan | None = None
        self.signature: tuple[Any, ...] | None = None
        self.replays = 0
        self.disabled = False

    def __call__(self, *arrays: Any) -> Tensor:
        arrays = tuple(np.asarray(a) for a in arrays)
        plan = self.plan
        if plan is not None and _modes.grad and _modes.anomaly is None and _signature(arrays, plan.sources) == self.signature:
            self.replays += 1
            return Tensor(plan.replay(arrays))
        loss = self.fn(*arrays)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise TypeError(f"capture: the step must return a one-element loss Tensor, got {type(loss).__name__}")
        if loss.requires_grad:
            loss.backward()
            if not self.disabled:
                self._record(loss, arrays)
        return loss

    def _record(self, loss: Tensor, arrays: tuple[np.ndarray, ...]) -> None:
        if not _modes.grad or _modes.anomaly is not None:
            return
        fresh = _Plan(loss, arrays)
        if not fresh.ok:
            self.plan = self.candidate = None
            self.disabled = True
        elif self.candidate is not None and self.candidate.same_as(fresh):
            self.plan, self.candidate = fresh, None
            self.signature = _signature(arrays, fresh.sources)
        elif self.plan is None:
            self.candidate = fresh


def capture(fn: Callable[..., Tensor]) -> Captured:
    """Return ``fn`` (arrays in, a one-element loss Tensor out) as a step that also runs ``backward``, captured.

    See :class:`Captured` for when it replays and the contract ``fn`` must keep.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, capture
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> step = capture(lambda x: (Tensor(x) * w).sum())
    >>> float(step(np.array([3.0, 4.0]))), w.grad
    (11.0, array([3., 4.]))
    """
    return Captured(fn)

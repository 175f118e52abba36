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
from .tensor import Tensor, _modes, _new

__all__ = ["capture", "Captured"]

# Where a node's input comes from: ("in", k) the step's k-th array, ("param", t) a leaf Tensor read
# afresh at each replay, ("node", j) the output of node j, ("const", array) a value fixed at capture.
_Source = tuple[str, Any]


class _Plan:
    """A recorded step: nodes in forward order, each with its op, settings, inputs and gradient routes."""

    __slots__ = ("nodes", "sources", "kwargs", "key", "constants", "ok", "arrays", "run")

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
        self.arrays = tuple((a.shape, a.dtype) for a in arrays)  # what a replay's arrays must match
        self.run: Callable[[tuple[Any, ...]], Any] | None = None

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

    def replay(self, arrays: tuple[np.ndarray, ...]) -> np.ndarray | None:
        """Return the loss after running forward and backward, gradients delivered as the engine would.

        None, with nothing run, when an array or a parameter no longer has the recorded shape and dtype.
        """
        if self.run is None:
            self.run = _compile(self)
        return self.run(arrays)


def _compile(plan: _Plan) -> Callable[[tuple[Any, ...]], Any]:
    """Return the plan as one generated Python function: the same calls in the same order, no lists or loops.

    A generic replay (a loop over nodes, a list of arguments per call, a loop over gradient routes)
    costs about as much Python time as the ops' own numpy calls at mini-batch 10; straight-line code
    with every value in a local variable is the cheapest way Python has to make the same calls.  The
    guard at its top checks what the signature records (the arrays' and parameters' shapes and
    dtypes, and that parameters still want gradients), so a replay never runs on changed inputs.
    """
    env: dict[str, Any] = {"ndarray": np.ndarray, "asarray": np.asarray, "_as_output": _as_output,
                           "_deliver": _deliver, "_convert": _convert, "_found": {}}
    params: dict[int, str] = {}
    lines = ["def run(arrays):", f"    if len(arrays) != {len(plan.arrays)}: return None"]
    for k, (shape, dtype) in enumerate(plan.arrays):
        env[f"S{k}"], env[f"D{k}"] = shape, dtype
        lines.append(f"    in{k} = arrays[{k}]")
        lines.append(f"    if in{k}.__class__ is not ndarray: in{k} = asarray(in{k})")
        lines.append(f"    if in{k}.shape != S{k} or in{k}.dtype != D{k}: return None")
    for srcs in plan.sources:
        for kind, ref in srcs:
            if kind == "param" and id(ref) not in params:
                name = params[id(ref)] = f"P{len(params)}"
                env[name], env[name + "s"], env[name + "d"] = ref, ref.data.shape, ref.data.dtype
                lines.append(f"    if not {name}.requires_grad or {name}.data.shape != {name}s or {name}.data.dtype != {name}d: return None")
    n = len(plan.nodes)
    for j, (ctx, srcs, kw) in enumerate(zip(plan.nodes, plan.sources, plan.kwargs)):
        env[f"c{j}"], env[f"F{j}"], env[f"B{j}"] = ctx, type(ctx).forward, type(ctx).backward
        args = []
        for k, (kind, ref) in enumerate(srcs):
            if kind == "node":
                args.append(f"o{ref}")
            elif kind == "in":
                args.append(f"in{ref}")
            elif kind == "param":
                args.append(f"{params[id(ref)]}.data")
            else:
                env[f"K{j}_{k}"] = ref
                args.append(f"K{j}_{k}")
        if kw:
            env[f"W{j}"] = kw
            args.append(f"**W{j}")
        lines.append(f"    c{j}.saved = ()")
        lines.append(f"    o{j} = F{j}(c{j}, {', '.join(args)})")
        lines.append(f"    if o{j}.__class__ is not ndarray: o{j} = _as_output(c{j}, o{j})")
        if j < n - 1:
            lines.append(f"    g{j} = None")
    env["_ones"] = np.ones
    lines.append(f"    g{n - 1} = _ones(o{n - 1}.shape, o{n - 1}.dtype)")
    lines.append("    given = set()")
    for j in range(n - 1, -1, -1):
        srcs = plan.sources[j]
        routes = [(k, kind, ref) for k, (kind, ref) in enumerate(srcs) if kind in ("node", "param")]
        pad = "    "
        if j < n - 1:
            lines.append(f"    if g{j} is not None:")
            pad = "        "
        lines.append(f"{pad}gs = B{j}(c{j}, g{j})")
        lines.append(f"{pad}c{j}.saved = ()")  # as the engine's graph dies after its step, free what it saved
        for k, kind, ref in routes:
            like = f"o{ref}" if kind == "node" else f"{params[id(ref)]}.data"
            lines.append(f"{pad}g = gs[{k}]")
            lines.append(f"{pad}if g is not None:")
            lines.append(f"{pad}    if g.__class__ is not ndarray or g.dtype != {like}.dtype: g = _convert(g, {like}.dtype)")
            if kind == "param":
                lines.append(f"{pad}    _deliver({params[id(ref)]}, g, None, _found, given, False)")
            else:  # the first gradient is kept, later ones summed, in the engine's order: the same bits
                lines.append(f"{pad}    g{ref} = g if g{ref} is None else g{ref} + g")
    lines.append(f"    return o{n - 1}")
    exec(compile("\n".join(lines), "<capture replay>", "exec"), env)  # the plan's own code, nothing foreign
    return env["run"]


def _convert(g: Any, dtype: np.dtype) -> np.ndarray:
    return np.asarray(g).astype(dtype, copy=False)  # as the engine's check_grad converts


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
        self.replays = 0
        self.disabled = False

    def __call__(self, *arrays: Any) -> Tensor:
        plan = self.plan
        if plan is not None and _modes.grad and _modes.anomaly is None:
            loss = plan.replay(arrays)  # None when the arrays or parameters changed shape or dtype
            if loss is not None:
                self.replays += 1
                return _new(loss, False, None)
        arrays = tuple(np.asarray(a) for a in arrays)
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

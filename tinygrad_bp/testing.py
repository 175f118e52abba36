"""Test helpers for users of tinygrad_bp: hypothesis strategies and ``assert_layer_conforms``.

hypothesis is a test-only dependency: the strategies import it when first called, and say how
to install it if it is missing.  ``assert_layer_conforms`` needs only numpy.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .function import Function
from .gradcheck import _first_derivative, _vjp_mismatches
from .autograd import toposort as _toposort
from .tensor import Tensor

__all__ = [
    "ConformanceError",
    "assert_layer_conforms",
    "shapes",
    "arrays",
    "broadcastable_shapes",
    "matmul_shapes",
]


def _hypothesis() -> tuple[Any, Any]:
    try:
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp
    except ImportError as e:  # pragma: no cover - exercised with hypothesis hidden
        raise ImportError(
            "tinygrad_bp.testing: the strategies need hypothesis, a test-only dependency; "
            "install it with  pip install 'tinygrad-bp[test]'  (or  pip install hypothesis)"
        ) from e
    return st, hnp


# ============================================================================ strategies
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> Any:
    """Return a strategy for array shapes with ``min_dims..max_dims`` dimensions of ``min_side..max_side``.

    Examples
    --------
    >>> from hypothesis import find
    >>> from tinygrad_bp.testing import shapes
    >>> find(shapes(min_dims=2), lambda s: True)
    (1, 1)
    """
    _, hnp = _hypothesis()
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def arrays(
    shape: Any,
    lo: float = -2.0,
    hi: float = 2.0,
    *,
    avoid: Sequence[float] = (),
    distinct: bool = False,
    margin: float = 0.05,
) -> Any:
    """Return a strategy for float64 arrays with elements in ``[lo, hi]``, optionally kept off kinks.

    Finite differences are wrong within ``eps`` of a point where the function is not
    differentiable, so a gradient check needs inputs a margin away from such points:

    - relu (kink at 0): ``arrays(shape, avoid=(0.0,))``;
    - max (kinks at ties): ``arrays(shape, distinct=True)``, elements pairwise at least
      ``margin`` apart (drawn from a grid of step ``margin``, so at most
      ``(hi - lo) / margin + 1`` elements);
    - log (singular at 0): ``arrays(shape, lo=0.1)``.

    Parameters
    ----------
    shape : tuple of int or strategy of shapes
    lo, hi : float
        Bounds of the elements.
    avoid : sequence of float
        Points every element stays at least ``margin`` away from.
    distinct : bool
        Keep all elements at least ``margin`` apart from each other.
    margin : float
        The distance kept from kinks and between distinct elements.

    Examples
    --------
    >>> from hypothesis import find
    >>> from tinygrad_bp.testing import arrays
    >>> x = find(arrays((3,), avoid=(0.0,)), lambda x: True)
    >>> bool((abs(x) >= 0.05).all())
    True
    """
    st, hnp = _hypothesis()
    if not lo < hi:
        raise ValueError(f"arrays: need lo < hi, got lo={lo}, hi={hi}")
    avoid = tuple(float(k) for k in avoid)

    def clear(v: float) -> bool:
        return all(abs(v - k) >= margin for k in avoid)

    if distinct:
        grid = [k * margin for k in range(math.ceil(lo / margin), math.floor(hi / margin) + 1)]
        grid = [v for v in grid if clear(v)]
        if not grid:
            raise ValueError(f"arrays: no grid point in [{lo}, {hi}] is {margin} away from {avoid}")
        elements = st.sampled_from(grid)
    else:
        elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        if avoid:
            elements = elements.filter(clear)
    return hnp.arrays(np.float64, shape, elements=elements, unique=distinct)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4) -> Any:
    """Return a strategy for tuples of ``num_shapes`` shapes that broadcast together under numpy's rules.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import find
    >>> from tinygrad_bp.testing import broadcastable_shapes
    >>> a, b = find(broadcastable_shapes(), lambda s: len(s[0]) == 2 and len(s[1]) == 1)
    >>> np.broadcast_shapes(a, b)
    (1, 1)
    """
    _, hnp = _hypothesis()
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda b: tuple(b.input_shapes))


def matmul_shapes(max_batch_dims: int = 2, max_side: int = 4) -> Any:
    """Return a strategy for pairs of shapes ``np.matmul`` accepts: 1-D, 2-D and broadcast batches.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import find
    >>> from tinygrad_bp.testing import matmul_shapes
    >>> a, b = find(matmul_shapes(), lambda s: len(s[0]) == 1)
    >>> np.matmul(np.ones(a), np.ones(b)).shape
    ()
    """
    _, hnp = _hypothesis()
    return hnp.mutually_broadcastable_shapes(
        signature="(n?,k),(k,m?)->(n?,m?)", min_dims=0, max_dims=max_batch_dims, min_side=1, max_side=max_side
    ).map(lambda b: tuple(b.input_shapes))


# ============================================================================ assert_layer_conforms
class ConformanceError(AssertionError):
    """Raised by ``assert_layer_conforms``; the message names the check and the input that failed.

    Examples
    --------
    >>> from tinygrad_bp.testing import ConformanceError
    >>> issubclass(ConformanceError, AssertionError)
    True
    """


class _Cotangent(Function):
    """<v, x> as one node whose backward hands back ``v`` itself, so a write into grad_out shows in ``v``."""

    def forward(ctx, x, v):
        ctx.v = v
        return np.asarray(np.sum(x * v))

    def backward(ctx, grad_out):  # only ever reached with grad_out = 1: it is the root of the check's graphs
        return (ctx.v, None)


def _pair_up(x: Tensor, v: np.ndarray) -> Tensor:
    return _Cotangent.apply(x, Tensor(v))


def _saved_arrays(out: Tensor) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (description, live array, copy) for every ndarray a node of ``out``'s graph keeps."""
    found = []
    for t in _toposort([out]):
        ctx = t._ctx
        if isinstance(ctx, _Cotangent):
            continue
        name = type(ctx).__name__
        items = [(f"saved[{k}]", s) for k, s in enumerate(ctx.saved)]
        items += [(f"ctx.{k}", s) for k, s in getattr(ctx, "__dict__", {}).items()]
        for where, s in items:
            if isinstance(s, np.ndarray):
                found.append((f"{name}.{where} (shape {s.shape})", s, s.copy()))
    return found


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def assert_layer_conforms(
    make_layer_or_function: Any,
    inputs: Sequence[Any] | None = None,
    *,
    input_shapes: Sequence[tuple[int, ...]] | None = None,
    input_range: tuple[float, float] = (-2.0, 2.0),
    kwargs: Mapping[str, Any] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    mode: str = "full",
    seed: int = 0,
    order: int = 1,
) -> None:
    """Return None if a Function, function or layer backpropagates correctly; raise ConformanceError if not.

    Checks, all in float64:

    1. the gradients (of the inputs and of a layer's parameters) match central finite
       differences (``gradcheck`` on ``<v, f(x)>`` with a random cotangent ``v``);
    2. each gradient has its input's exact shape and dtype;
    3. accumulation: a second backward over the same graph doubles ``.grad``, a third over
       a fresh graph triples it;
    4. fan-out: using the inputs in two calls whose outputs are summed gives the summed
       gradients; the same Tensor in two argument positions (when two have one shape) gets the
       sum of both positions' gradients;
    5. backward mutates neither the arrays the graph saved, nor grad_out, nor the inputs;
    6. ``needs_input_grad``: an input (or frozen parameters) with ``requires_grad=False`` is
       marked as such for the op, gets no gradient, and leaves the other gradients unchanged;
    7. with ``order=2``: the backward can be recorded (``create_graph=True``) and its own
       derivatives match finite differences of the first derivatives (``gradgradcheck``, for the
       inputs and parameters together).

    Parameters
    ----------
    make_layer_or_function : Function subclass, layer or callable
        A ``Function`` subclass (called with ``.apply``), a layer (any callable with a
        ``parameters()`` method returning Tensors, whose gradients are checked too; float32
        parameters are switched to float64 for the check and restored), or a plain callable
        on Tensors.  It must return one Tensor.
    inputs : sequence, optional
        The point to check at.  Float arrays and Tensors with ``requires_grad=True`` are
        checked (on float64 copies); Tensors with ``requires_grad=False`` and non-float values
        are passed through as constants.
    input_shapes : sequence of shapes, optional
        Instead of ``inputs``: draw them uniformly from ``input_range`` with ``seed``.
    input_range : (float, float)
        The range of drawn inputs (use e.g. ``(0.1, 2.0)`` for an op with a log).
    kwargs : mapping, optional
        Keyword arguments for every call.
    eps, atol, rtol, mode : see ``gradcheck``.
    seed : int
        Seed of the drawn inputs and cotangents.
    order : {1, 2}
        2 adds check 7, the second derivatives.

    Raises
    ------
    ConformanceError
        Naming the check that failed, and the input (by position) or parameter it failed for.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Function
    >>> from tinygrad_bp.testing import assert_layer_conforms
    >>> class Cube(Function):
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x**3
    ...     def backward(ctx, grad_out):
    ...         (x,) = ctx.saved
    ...         return (3 * x * x * grad_out,)
    >>> assert_layer_conforms(Cube, input_shapes=[(2, 3)])
    """
    obj = make_layer_or_function
    kw = dict(kwargs or {})
    params: list[Tensor] = []
    op_cls: type[Function] | None = None
    if isinstance(obj, type) and issubclass(obj, Function):
        op_cls = obj
        name = obj.__name__

        def call(*xs: Any) -> Any:
            return obj.apply(*xs, **kw)

    elif callable(obj) and callable(getattr(obj, "parameters", None)):
        name = type(obj).__name__
        params = list(obj.parameters())
        for k, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"assert_layer_conforms: {name}.parameters() item {k} is {type(p).__name__}, not a Tensor")

        def call(*xs: Any) -> Any:
            return obj(*xs, **kw)

    elif callable(obj):
        name = getattr(obj, "__name__", type(obj).__name__)

        def call(*xs: Any) -> Any:
            return obj(*xs, **kw)

    else:
        raise TypeError(
            f"assert_layer_conforms: expected a Function subclass, a layer or a callable, got {type(obj).__name__}"
        )
    who = f"assert_layer_conforms({name})"
    if order not in (1, 2):
        raise ValueError(f"{who}: order must be 1 or 2, got {order!r}")

    rng = np.random.default_rng(seed)
    if (inputs is None) == (input_shapes is None):
        raise ValueError(f"{who}: pass exactly one of inputs and input_shapes")
    if inputs is None:
        inputs = [rng.uniform(*input_range, size=tuple(s)) for s in input_shapes]  # type: ignore[union-attr]
    base: list[Any] = []  # float64 arrays for checked inputs, the value itself for constants
    checked: list[int] = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            if x.requires_grad:
                checked.append(i)
                base.append(x.data.astype(np.float64))
            else:
                base.append(x)
        elif isinstance(x, (np.ndarray, list, float)) and np.asarray(x).dtype.kind == "f":
            checked.append(i)
            base.append(np.array(x, dtype=np.float64))
        else:
            base.append(x)
    live_params = [p for p in params if p.requires_grad]
    if not checked and not live_params:
        raise ValueError(f"{who}: no input or parameter requires grad, so there is nothing to check")

    def fresh(frozen: int | None = None, alias: tuple[int, int] | None = None) -> list[Any]:
        """Return new leaf Tensors at the base point (input ``frozen`` without grad; position ``alias[1]`` reusing ``alias[0]``)."""
        xs = [Tensor(b.copy(), requires_grad=(i != frozen)) if i in checked else b for i, b in enumerate(base)]
        if alias is not None:
            xs[alias[1]] = xs[alias[0]]
        return xs

    def one_output(out: Any) -> Tensor:
        if not isinstance(out, Tensor):
            raise TypeError(f"{who}: expected one Tensor as output, got {type(out).__name__}")
        return out

    def grads_of(xs: list[Any]) -> list[Any]:
        return [xs[i].grad for i in checked] + [p.grad for p in live_params]

    labels = [f"input {i}" for i in checked] + [f"parameter {k} (shape {p.shape})" for k, p in enumerate(params) if p.requires_grad]

    def fail(check: str, detail: str) -> None:
        raise ConformanceError(f"{who}: {check}: {detail}")

    saved_state = [(p, p.data, p.grad, p.requires_grad) for p in params]
    try:
        for p in params:
            p.data = p.data.astype(np.float64)  # a fresh, writeable copy the finite differences may perturb
            p.grad = None

        # 5 first: a backward that writes into what it reads would corrupt every later check
        xs = fresh()
        input_copies = [(xs[i], xs[i].data.copy()) for i in checked] + [(p, p.data.copy()) for p in live_params]
        out = one_output(call(*xs))
        if not out.requires_grad:
            fail("graph", "the output does not require grad although an input does")
        v = rng.standard_normal(out.shape)
        v_copy = v.copy()
        saved = _saved_arrays(out)
        root = _pair_up(out, v)
        root.backward()
        g1 = [None if g is None else np.array(g) for g in grads_of(xs)]
        for label, t, g in zip(labels, [xs[i] for i in checked] + live_params, g1):
            if g is not None and (g.shape != t.shape or g.dtype != t.dtype):
                fail("gradient shape", f"{label} has shape {t.shape} and dtype {t.dtype}, its .grad {g.shape} {g.dtype}")
        if not np.array_equal(v, v_copy):
            fail("grad_out mutated", f"a backward wrote into the grad_out it received (output shape {out.shape})")
        for what, arr, copy in saved:
            if not np.array_equal(arr, copy, equal_nan=True):
                fail("saved array mutated", f"{what} changed during backward")
        for label, (t, copy) in zip(labels, input_copies):
            if not np.array_equal(t.data, copy):
                fail("input mutated", f"the data of {label} changed during forward/backward")
        # 1. the VJP against finite differences
        n = len(base)
        probe = fresh()
        mism = _vjp_mismatches(
            lambda *a: one_output(call(*a[:n])),
            probe + live_params,
            eps, atol, rtol, mode, seed, who, labels=labels,
        )
        if mism:
            fail(
                "gradient disagrees with finite differences",
                f"(atol={atol}, rtol={rtol})\n" + "\n".join("  " + m.report() for m in mism),
            )
        # 7. second derivatives: the recorded first derivative, differentiated, against its finite differences
        if order == 2:
            first = _first_derivative(lambda *a: one_output(call(*a[:n])), None, seed, who)
            try:
                mism = _vjp_mismatches(first, fresh() + live_params, eps, atol, rtol, mode, seed, who, labels=labels)
            except (RuntimeError, TypeError, AttributeError) as e:  # an op that cannot be differentiated twice
                fail("double backward", str(e))
            if mism:
                fail(
                    "second derivative disagrees with finite differences of the first",
                    f"(atol={atol}, rtol={rtol})\n" + "\n".join("  " + m.report() for m in mism),
                )

        # 2, 3: the same graph again (accumulation), then a fresh graph
        root.backward()
        for label, a, g in zip(labels, g1, grads_of(xs)):
            if a is not None and not _close(g, 2 * a):
                fail("accumulation", f"a second backward over the same graph did not double the gradient of {label}")
        root = _pair_up(one_output(call(*xs)), v)
        root.backward()
        for label, a, g in zip(labels, g1, grads_of(xs)):
            if a is not None and not _close(g, 3 * a):
                fail("accumulation", f"a backward over a fresh graph did not add to the gradient of {label}")

        # 4. fan-out: two calls on the same inputs, outputs summed
        for p in live_params:
            p.grad = None
        w = rng.standard_normal(out.shape)
        xs_w = fresh()
        _pair_up(one_output(call(*xs_w)), w).backward()
        gw = [None if g is None else np.array(g) for g in grads_of(xs_w)]
        for p in live_params:
            p.grad = None
        xs = fresh()
        (_pair_up(one_output(call(*xs)), v) + _pair_up(one_output(call(*xs)), w)).backward()
        for label, a, b, g in zip(labels, g1, gw, grads_of(xs)):
            if a is not None and (g is None or b is None or not _close(g, a + b)):
                fail("fan-out", f"{label} used by two calls did not get the sum of both gradients")
        # ... and one Tensor in two argument positions
        same = [(i, j) for a_, i in enumerate(checked) for j in checked[a_ + 1 :] if base[i].shape == base[j].shape]
        if same:
            i, j = same[0]
            twin = list(base)
            base[j] = base[i]
            try:
                for p in live_params:
                    p.grad = None
                xs = fresh()
                _pair_up(one_output(call(*xs)), v).backward()
                gi, gj = xs[i].grad, xs[j].grad
                expect = None if gi is None or gj is None else gi + gj
                for p in live_params:
                    p.grad = None
                xs = fresh(alias=(i, j))
                _pair_up(one_output(call(*xs)), v).backward()
                if expect is not None and (xs[i].grad is None or not _close(xs[i].grad, expect)):
                    fail("diamond", f"the same Tensor passed as input {i} and input {j} did not get the sum of both gradients")
            finally:
                base[:] = twin

        # 6. needs_input_grad
        for k, i in enumerate(checked):
            for p in live_params:
                p.grad = None
            xs = fresh(frozen=i)
            out = one_output(call(*xs))
            if op_cls is not None and out._ctx is not None and out._ctx.needs_input_grad[i]:
                fail("needs_input_grad", f"input {i} does not require grad but the op was told it does")
            if not out.requires_grad:
                if len(checked) > 1 or live_params:
                    fail("needs_input_grad", f"with input {i} frozen the output no longer requires grad")
                continue
            _pair_up(out, v).backward()
            if xs[i].grad is not None:
                fail("needs_input_grad", f"input {i} does not require grad but got a gradient")
            for label, a, g in zip(labels, g1, grads_of(xs)):
                if label != f"input {i}" and a is not None and (g is None or not _close(g, a)):
                    fail("needs_input_grad", f"freezing input {i} changed the gradient of {label}")
        if live_params:
            for p in live_params:
                p.grad = None
                p.requires_grad = False
            try:
                xs = fresh()
                out = one_output(call(*xs))
                if out.requires_grad:
                    _pair_up(out, v).backward()
                    for k, p in enumerate(live_params):
                        if p.grad is not None:
                            fail("needs_input_grad", f"frozen parameter {k} (shape {p.shape}) got a gradient")
                    for k, i in enumerate(checked):
                        if g1[k] is not None and not _close(xs[i].grad, g1[k]):
                            fail("needs_input_grad", f"freezing the parameters changed the gradient of input {i}")
            finally:
                for p in live_params:
                    p.requires_grad = True
    finally:
        for p, data, g, rg in saved_state:
            p.data, p.grad, p.requires_grad = data, g, rg

"""Test helpers for users of tinygrad_bp: hypothesis strategies and ``assert_layer_conforms``.

hypothesis is a test-only dependency: the strategies import it when first called, and say how
to install it if it is missing.  ``assert_layer_conforms`` needs only numpy.
"""
# Longer than the house ~450 lines: the kit is one import for users (strategies + the conformance
# checks), and the length is the checks' docstrings; each function stays small.
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple, NoReturn, Sequence

import numpy as np

from .function import Function
from .gradcheck import _first_derivative, _vjp_mismatches
from .autograd import grad
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


def _as_call(obj: Any, kw: Mapping[str, Any]) -> tuple[str, Callable[..., Any], type[Function] | None, list[Tensor]]:
    """Return the name, the call on Tensors, the Function class (if one) and the parameters of what is checked."""
    if isinstance(obj, type) and issubclass(obj, Function):
        return obj.__name__, lambda *xs: obj.apply(*xs, **kw), obj, []
    if not callable(obj):
        raise TypeError(
            f"assert_layer_conforms: expected a Function subclass, a layer or a callable, got {type(obj).__name__}"
        )
    if callable(getattr(obj, "parameters", None)):
        name = type(obj).__name__
        params = list(obj.parameters())
        for k, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"assert_layer_conforms: {name}.parameters() item {k} is {type(p).__name__}, not a Tensor")
        return name, lambda *xs: obj(*xs, **kw), None, params
    return getattr(obj, "__name__", type(obj).__name__), lambda *xs: obj(*xs, **kw), None, []


def _base_point(inputs: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """Return the point (a float64 array per checked input, the value itself for a constant) and the checked positions."""
    base: list[Any] = []
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
    return base, checked


class _Subject:
    """What every check reads: the callable, the point, the options, and one reference backward there.

    The reference (``take_reference``) is one backward of ``<v, f(x)>`` at fresh leaves ``xs``:
    its output ``out``, the cotangent ``v`` (and a copy), its graph ``root``, the gradients
    ``g1`` (copies, one per label, inputs first) and the arrays the graph saved (with copies).
    """

    def __init__(self, who: str, call: Callable[..., Any], op_cls: type[Function] | None, params: list[Tensor],
                 base: list[Any], checked: list[int], options: dict[str, Any]) -> None:
        self.who, self.call, self.op_cls, self.params = who, call, op_cls, params
        self.base, self.checked = base, checked
        self.live_params = [p for p in params if p.requires_grad]
        self.labels = [f"input {i}" for i in checked]
        self.labels += [f"parameter {k} (shape {p.shape})" for k, p in enumerate(params) if p.requires_grad]
        self.eps, self.atol, self.rtol = options["eps"], options["atol"], options["rtol"]
        self.mode, self.seed, self.rng = options["mode"], options["seed"], options["rng"]

    def fail(self, check: str, detail: str) -> NoReturn:
        raise ConformanceError(f"{self.who}: {check}: {detail}")

    def output(self, xs: Sequence[Any]) -> Tensor:
        out = self.call(*xs[: len(self.base)])  # the parameters a gradient check appends are not arguments
        if not isinstance(out, Tensor):
            raise TypeError(f"{self.who}: expected one Tensor as output, got {type(out).__name__}")
        return out

    def fn(self, *xs: Any) -> Tensor:
        return self.output(xs)

    def fresh(self, frozen: int | None = None, alias: tuple[int, int] | None = None, point: list[Any] | None = None) -> list[Any]:
        """Return new leaves at ``point`` (default the base point): input ``frozen`` without grad, position ``alias[1]`` reusing ``alias[0]``."""
        point = self.base if point is None else point
        xs = [Tensor(b.copy(), requires_grad=(i != frozen)) if i in self.checked else b for i, b in enumerate(point)]
        if alias is not None:
            xs[alias[1]] = xs[alias[0]]
        return xs

    def variables(self, xs: Sequence[Any]) -> list[Tensor]:
        return [xs[i] for i in self.checked] + self.live_params

    def grads_of(self, xs: Sequence[Any]) -> list[Any]:
        return [t.grad for t in self.variables(xs)]

    def clear_param_grads(self) -> None:
        for p in self.live_params:
            p.grad = None

    def take_reference(self) -> None:
        self.xs = self.fresh()
        self.input_copies = [t.data.copy() for t in self.variables(self.xs)]
        self.out = self.output(self.xs)
        if not self.out.requires_grad:
            self.fail("graph", "the output does not require grad although an input does")
        self.v = self.rng.standard_normal(self.out.shape)
        self.v_copy = self.v.copy()
        self.saved = _saved_arrays(self.out)
        self.root = _pair_up(self.out, self.v)
        self.root.backward()
        self.g1 = [None if g is None else np.array(g) for g in self.grads_of(self.xs)]

    def report(self, mismatches: list[Any]) -> str:
        return f"(atol={self.atol}, rtol={self.rtol})\n" + "\n".join("  " + m.report() for m in mismatches)


def _same_shape_pair(s: _Subject) -> tuple[int, int] | None:
    """Return the first two checked inputs of one shape, or None."""
    for a, i in enumerate(s.checked):
        for j in s.checked[a + 1 :]:
            if s.base[i].shape == s.base[j].shape:
                return i, j
    return None


# ---------------------------------------------------------------------------- the checks, in the order they run
def _check_gradient_shapes(s: _Subject) -> None:
    """Each gradient has its input's exact shape and dtype.

    numpy would broadcast a (1, n) gradient into an (m, n) parameter without a word, so a
    wrong shape must be caught here rather than by some later sum.
    """
    for label, t, g in zip(s.labels, s.variables(s.xs), s.g1):
        if g is not None and (g.shape != t.shape or g.dtype != t.dtype):
            s.fail("gradient shape", f"{label} has shape {t.shape} and dtype {t.dtype}, its .grad {g.shape} {g.dtype}")


def _check_grad_out_kept(s: _Subject) -> None:
    """Backward never writes into the grad_out it receives: the same array may reach other consumers."""
    if not np.array_equal(s.v, s.v_copy):
        s.fail("grad_out mutated", f"a backward wrote into the grad_out it received (output shape {s.out.shape})")


def _check_saved_kept(s: _Subject) -> None:
    """Backward leaves the arrays forward saved unchanged: a second backward, or a double backward, reads them again."""
    for what, arr, copy in s.saved:
        if not np.array_equal(arr, copy, equal_nan=True):
            s.fail("saved array mutated", f"{what} changed during backward")


def _check_inputs_kept(s: _Subject) -> None:
    """Neither forward nor backward changes the data of the inputs or parameters: it belongs to the caller."""
    for label, t, copy in zip(s.labels, s.variables(s.xs), s.input_copies):
        if not np.array_equal(t.data, copy):
            s.fail("input mutated", f"the data of {label} changed during forward/backward")


def _check_first_derivative(s: _Subject) -> None:
    """The gradients match central finite differences of ``<v, f(x)>`` (``gradcheck``): the math is right."""
    mism = _vjp_mismatches(s.fn, s.fresh() + s.live_params, s.eps, s.atol, s.rtol, s.mode, s.seed, s.who, labels=s.labels)
    if mism:
        s.fail("gradient disagrees with finite differences", s.report(mism))


def _check_second_derivative(s: _Subject) -> None:
    """(order 2) The recorded backward (``create_graph=True``), differentiated again, matches finite
    differences of the first derivative (``gradgradcheck``), for the inputs and parameters together."""
    first = _first_derivative(s.fn, None, s.seed, s.who)
    try:
        mism = _vjp_mismatches(first, s.fresh() + s.live_params, s.eps, s.atol, s.rtol, s.mode, s.seed, s.who, labels=s.labels)
    except (RuntimeError, TypeError, AttributeError) as e:  # an op that cannot be differentiated twice
        s.fail("double backward", str(e))
    if mism:
        s.fail("second derivative disagrees with finite differences of the first", s.report(mism))


def _derivatives(s: _Subject, args: list[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return the first derivative ``J^T v`` and its own VJP (the second derivative), with gradgradcheck's cotangents."""
    d1 = _first_derivative(s.fn, None, s.seed, s.who)(*args)
    variables = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    rng = np.random.default_rng(s.seed)  # the second cotangents gradgradcheck draws
    us = [np.ones(d.shape) if d.data.size == 1 else rng.standard_normal(d.shape) for d in d1]
    live = [(d, u) for d, u in zip(d1, us) if d.requires_grad]
    d2: Sequence[Any] = [None] * len(variables)
    if live:
        d2 = grad([d for d, _ in live], variables, [u for _, u in live], allow_unused=True)
    return [np.array(d.data) for d in d1], [np.zeros(x.shape) if g is None else np.array(g.data) for x, g in zip(variables, d2)]


def _check_aliased_inputs(s: _Subject) -> None:
    """(order 2) Two Tensors sharing one ndarray get the derivatives two distinct copies get.

    ``y = x.detach()`` makes a second Tensor over the same array, so nothing about an array
    says which input it came from; an op or engine that guesses (by identity, in order) gives a
    wrong double backward.  For the first two checked inputs i, j of one shape, at a point where
    they are equal, with j a detached alias of i, i one of j, and both requiring grad: the first
    and second derivatives must equal those of distinct copies (which check 6 compared with
    finite differences).  Not finite differences here: the point x_i = x_j is exactly where an
    op like relu(x_i - x_j) has its kink.
    """
    pair = _same_shape_pair(s)
    if pair is None:
        return
    i, j = pair
    point = list(s.base)
    point[j] = point[i]
    for frozen, how in ((j, f"input {j} a detached alias of input {i}"), (i, f"input {i} a detached alias of input {j}"),
                        (None, f"inputs {i} and {j} one array, both requiring grad")):
        labels = [f"input {k}" for k in s.checked if k != frozen] + s.labels[len(s.checked) :]
        distinct = s.fresh(frozen=frozen, point=point) + s.live_params
        aliased = s.fresh(frozen=frozen, point=point) + s.live_params
        aliased[j] = Tensor(aliased[i].data, requires_grad=(j != frozen))  # one ndarray behind both
        try:
            got, want = _derivatives(s, aliased), _derivatives(s, distinct)
        except (RuntimeError, TypeError, AttributeError) as e:
            s.fail("aliased inputs", f"with {how}: {e}")
        for order, a, b in ((1, got[0], want[0]), (2, got[1], want[1])):
            for label, x, y in zip(labels, a, b):
                if not np.allclose(x, y, rtol=s.rtol, atol=s.atol):
                    k = np.unravel_index(np.argmax(np.abs(x - y)), x.shape)
                    s.fail("aliased inputs", f"with {how}, derivative {order} of {label} at element {tuple(map(int, k))} "
                           f"is {float(x[k])!r}, but {float(y[k])!r} on distinct copies")


def _check_accumulation(s: _Subject) -> None:
    """``.grad`` accumulates: a second backward over the reference graph doubles it, a fresh graph adds a third.

    Gradient accumulation over mini-batches relies on it, and it shows a backward that frees or
    overwrites state it needs.  It starts from the reference gradients, whatever ran before.
    """
    for t, g in zip(s.variables(s.xs), s.g1):
        t.grad = None if g is None else g.copy()
    s.root.backward()
    for label, a, g in zip(s.labels, s.g1, s.grads_of(s.xs)):
        if a is not None and not _close(g, 2 * a):
            s.fail("accumulation", f"a second backward over the same graph did not double the gradient of {label}")
    _pair_up(s.output(s.xs), s.v).backward()
    for label, a, g in zip(s.labels, s.g1, s.grads_of(s.xs)):
        if a is not None and not _close(g, 3 * a):
            s.fail("accumulation", f"a backward over a fresh graph did not add to the gradient of {label}")


def _check_fan_out(s: _Subject) -> None:
    """Inputs used by two calls whose outputs are summed get the sum of both calls' gradients.

    A backward that writes into one buffer shared across calls passes alone and fails here.
    """
    s.clear_param_grads()
    w = s.rng.standard_normal(s.out.shape)
    xs_w = s.fresh()
    _pair_up(s.output(xs_w), w).backward()
    gw = [None if g is None else np.array(g) for g in s.grads_of(xs_w)]
    s.clear_param_grads()
    xs = s.fresh()
    (_pair_up(s.output(xs), s.v) + _pair_up(s.output(xs), w)).backward()
    for label, a, b, g in zip(s.labels, s.g1, gw, s.grads_of(xs)):
        if a is not None and (g is None or b is None or not _close(g, a + b)):
            s.fail("fan-out", f"{label} used by two calls did not get the sum of both gradients")


def _check_diamond(s: _Subject) -> None:
    """One Tensor passed in two argument positions (of one shape) gets the sum of both positions' gradients.

    An op that treats ``x is y`` as "one input" drops a gradient; checked for the first pair of
    checked inputs of one shape, at a point where they are equal.
    """
    pair = _same_shape_pair(s)
    if pair is None:
        return
    i, j = pair
    point = list(s.base)
    point[j] = point[i]
    s.clear_param_grads()
    xs = s.fresh(point=point)
    _pair_up(s.output(xs), s.v).backward()
    gi, gj = xs[i].grad, xs[j].grad
    s.clear_param_grads()
    xs = s.fresh(alias=(i, j), point=point)
    _pair_up(s.output(xs), s.v).backward()
    if gi is not None and gj is not None and (xs[i].grad is None or not _close(xs[i].grad, gi + gj)):
        s.fail("diamond", f"the same Tensor passed as input {i} and input {j} did not get the sum of both gradients")


def _check_frozen_inputs(s: _Subject) -> None:
    """An input with ``requires_grad=False`` is marked so in ``needs_input_grad``, gets no gradient, and
    leaves the other gradients unchanged: an op may skip work for it, never change the answer."""
    for i in s.checked:
        s.clear_param_grads()
        xs = s.fresh(frozen=i)
        out = s.output(xs)
        if s.op_cls is not None and out._ctx is not None and out._ctx.needs_input_grad[i]:
            s.fail("needs_input_grad", f"input {i} does not require grad but the op was told it does")
        if not out.requires_grad:
            if len(s.checked) > 1 or s.live_params:
                s.fail("needs_input_grad", f"with input {i} frozen the output no longer requires grad")
            continue
        _pair_up(out, s.v).backward()
        if xs[i].grad is not None:
            s.fail("needs_input_grad", f"input {i} does not require grad but got a gradient")
        for label, a, g in zip(s.labels, s.g1, s.grads_of(xs)):
            if label != f"input {i}" and a is not None and (g is None or not _close(g, a)):
                s.fail("needs_input_grad", f"freezing input {i} changed the gradient of {label}")


def _check_frozen_parameters(s: _Subject) -> None:
    """A layer's parameters switched to ``requires_grad=False`` get no gradient and leave the inputs' unchanged
    (fine-tuning freezes layers this way)."""
    if not s.live_params:
        return
    for p in s.live_params:
        p.grad = None
        p.requires_grad = False
    try:
        xs = s.fresh()
        out = s.output(xs)
        if not out.requires_grad:
            return
        _pair_up(out, s.v).backward()
        for k, p in enumerate(s.live_params):
            if p.grad is not None:
                s.fail("needs_input_grad", f"frozen parameter {k} (shape {p.shape}) got a gradient")
        for k, i in enumerate(s.checked):
            if s.g1[k] is not None and not _close(xs[i].grad, s.g1[k]):
                s.fail("needs_input_grad", f"freezing the parameters changed the gradient of input {i}")
    finally:
        for p in s.live_params:
            p.requires_grad = True


class _Check(NamedTuple):
    name: str
    order: int  # the least ``order`` argument of assert_layer_conforms that runs it
    run: Callable[[_Subject], None]


# The checks in the order they run; assert_layer_conforms's docstring and docs/extending.md list them
# the same way (a test keeps the three in step).  The mutation checks come first: a backward that
# writes into what it reads would corrupt every later check.  To add one, write a small
# ``_check_<what>(s)`` with a docstring, give it a negative control in tests/test_testing.py,
# and list it here and in both documents.
_CHECKS: tuple[_Check, ...] = (
    _Check("gradient shapes", 1, _check_gradient_shapes),
    _Check("grad_out kept", 1, _check_grad_out_kept),
    _Check("saved arrays kept", 1, _check_saved_kept),
    _Check("inputs kept", 1, _check_inputs_kept),
    _Check("first derivative", 1, _check_first_derivative),
    _Check("second derivative", 2, _check_second_derivative),
    _Check("aliased inputs", 2, _check_aliased_inputs),
    _Check("accumulation", 1, _check_accumulation),
    _Check("fan-out", 1, _check_fan_out),
    _Check("diamond", 1, _check_diamond),
    _Check("frozen inputs", 1, _check_frozen_inputs),
    _Check("frozen parameters", 1, _check_frozen_parameters),
)


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

    All in float64, one reference backward of ``<v, f(x)>`` (a random cotangent ``v``; the
    output must require grad) is taken, then these checks run in this order:

    1. gradient shapes: each gradient has its input's exact shape and dtype;
    2. grad_out kept: backward does not write into the grad_out it receives;
    3. saved arrays kept: backward does not change what forward saved;
    4. inputs kept: forward and backward leave the inputs' and parameters' data alone;
    5. first derivative: the gradients (of the inputs and of a layer's parameters) match
       central finite differences (``gradcheck``);
    6. second derivative (``order=2``): the backward can be recorded (``create_graph=True``)
       and its own derivatives match finite differences of the first derivatives
       (``gradgradcheck``, inputs and parameters together);
    7. aliased inputs (``order=2``): two inputs of one shape given as two Tensors over one
       ndarray (one a ``detach()`` of the other, or both requiring grad) get the first and
       second derivatives that distinct copies get;
    8. accumulation: a second backward over the same graph doubles ``.grad``, a third over
       a fresh graph triples it;
    9. fan-out: the inputs used in two calls whose outputs are summed get the summed gradients;
    10. diamond: the same Tensor in two argument positions (when two have one shape) gets the
        sum of both positions' gradients;
    11. frozen inputs: an input with ``requires_grad=False`` is marked so in
        ``needs_input_grad``, gets no gradient, and leaves the other gradients unchanged;
    12. frozen parameters: a layer's parameters with ``requires_grad=False`` get no gradient
        and leave the inputs' gradients unchanged.

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
        2 adds checks 6 and 7, the second derivatives.

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
    name, call, op_cls, params = _as_call(make_layer_or_function, dict(kwargs or {}))
    who = f"assert_layer_conforms({name})"
    if order not in (1, 2):
        raise ValueError(f"{who}: order must be 1 or 2, got {order!r}")
    if (inputs is None) == (input_shapes is None):
        raise ValueError(f"{who}: pass exactly one of inputs and input_shapes")
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = [rng.uniform(*input_range, size=tuple(shape)) for shape in input_shapes]  # type: ignore[union-attr]
    base, checked = _base_point(inputs)
    options = {"eps": eps, "atol": atol, "rtol": rtol, "mode": mode, "seed": seed, "rng": rng}
    s = _Subject(who, call, op_cls, params, base, checked, options)
    if not checked and not s.live_params:
        raise ValueError(f"{who}: no input or parameter requires grad, so there is nothing to check")
    restore = [(p, p.data, p.grad, p.requires_grad) for p in params]
    try:
        for p in params:
            p.data = p.data.astype(np.float64)  # a fresh, writeable copy the finite differences may perturb
            p.grad = None
        s.take_reference()
        for check in _CHECKS:
            if order >= check.order:
                check.run(s)
    finally:
        for p, data, g, rg in restore:
            p.data, p.grad, p.requires_grad = data, g, rg

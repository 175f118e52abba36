"""API fuzzing: the public API of tinygrad_bp and nets driven with random shapes, dtypes, values and argument kinds.

Every call either works or raises one of the documented exceptions (docs/errors.md), with a message that starts
with the name of the function or op that refused: ValueError and TypeError everywhere, IndexError only from
indexing, RuntimeError only from misusing backward/grad, KeyError only from ``load_state_dict``.  Anything else
(an AttributeError, a numpy error escaping from deep inside, a RecursionError, ...) fails the test.

The examples are cheap, so each test sets its own ``max_examples``: its share of the ``FUZZ_EXAMPLES`` the file
runs in all, which tests/conftest.py sets from the hypothesis profile (10,000 under ``ci``, 1,000 under the
default ``dev``) unless it is set in the environment (see ``EXAMPLES``).
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import Tensor
from nets import SGD, CrossEntropyCost, Linear, Network, QuadraticCost, ReLU, Sequential, Sigmoid, Tanh, get_cost
from nets import TrainingDivergedError

# NaN, Inf and overflow are inputs here on purpose; numpy's warnings about them are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

_SHARES = {
    "tensor": 1500,
    "unary": 2500,
    "binary": 2000,
    "functions": 1000,
    "layers": 1000,
    "costs": 1000,
    "network": 600,
    "training": 400,
}  # per 10,000 examples
EXAMPLES = {key: max(1, n * int(os.environ.get("FUZZ_EXAMPLES", "10000")) // 10_000) for key, n in _SHARES.items()}
"""Examples per test; they sum to FUZZ_EXAMPLES (10,000 under the ci profile)."""


def _settings(key: str) -> Any:
    return settings(
        max_examples=EXAMPLES[key],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


# ============================================================================ the contract
class Refused(Exception):
    """Internal marker: the call raised an allowed exception with a well-formed message."""


def attempt(fn: Callable[[], Any], names: tuple[str, ...], *extra: type[BaseException]) -> Any:
    """Return ``fn()``, or ``Refused`` when it raised an allowed exception whose message starts with one of ``names``.

    Any other exception propagates and fails the test.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn()
    except (ValueError, TypeError, *extra) as e:
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        assert any(msg.startswith(n) for n in names), f"{type(e).__name__} message does not name {names}: {msg!r}"
        return Refused


# ============================================================================ strategies
_FLOAT_DTYPES = [np.float64, np.float32, np.float16]
_OTHER_DTYPES = [np.int64, np.int32, np.int8, np.uint8, np.bool_]
_ALIEN_DTYPES = [np.complex128, np.object_, np.str_, np.datetime64]
_SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-310, 65504.0, 1e20]

small_shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)
nonempty_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@st.composite
def numeric_arrays(draw: st.DrawFn, dtypes: list[Any] | None = None, shape: Any = None) -> np.ndarray:
    """Return an array of a numeric dtype whose values mix ordinary numbers with NaN, ±Inf, huge and tiny ones."""
    dtype = draw(st.sampled_from(dtypes or _FLOAT_DTYPES + _OTHER_DTYPES))
    shape = draw(small_shapes) if shape is None else shape
    n = int(np.prod(shape))
    values = draw(st.lists(st.one_of(st.sampled_from(_SPECIALS), st.floats(-3, 3)), min_size=n, max_size=n))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = np.array(values, dtype=np.float64).reshape(shape)
        if np.dtype(dtype).kind in "iub":
            base = np.nan_to_num(base, nan=0.0, posinf=7.0, neginf=-7.0).clip(-100, 100)
        return base.astype(dtype)


@st.composite
def alien_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(_ALIEN_DTYPES))
    shape = draw(small_shapes)
    if dtype is np.object_:
        out = np.empty(shape, dtype=object)
        for i in np.ndindex(shape):
            out[i] = draw(st.one_of(st.floats(), st.none(), st.text(max_size=2), st.integers()))
        return out
    if dtype is np.datetime64:
        return np.zeros(shape, dtype="datetime64[s]")
    if dtype is np.str_:
        return np.full(shape, draw(st.text(max_size=3)))
    return np.full(shape, complex(draw(st.floats(-2, 2)), draw(st.floats(-2, 2))))


python_scalars = st.one_of(
    st.floats(),
    st.integers(-(10**30), 10**30),
    st.sampled_from([10**400, -(10**400), True, False, 1j, None, "1.5", "x", b"\x00"]),
)
nested_lists = st.recursive(
    st.one_of(st.floats(-3, 3), st.integers(-3, 3)), lambda c: st.lists(c, max_size=3), max_leaves=8
)
foreign = st.sampled_from([{}, {1: 2}, set(), object(), print, slice(1), Ellipsis, [None, "a"], [[1], [1, 2]]])
anything = st.one_of(numeric_arrays(), alien_arrays(), python_scalars, nested_lists, foreign)


@st.composite
def tensors(draw: st.DrawFn, dtypes: list[Any] | None = None, shape: Any = None) -> Tensor:
    """Return a Tensor of any numeric dtype; float ones require grad at random, sometimes through a graph."""
    a = draw(numeric_arrays(dtypes, shape))
    if a.dtype.kind != "f":
        t = Tensor(a, dtype=a.dtype)
        return (t > 0) if draw(st.booleans()) and a.dtype.kind != "b" else t
    t = Tensor(a, requires_grad=draw(st.booleans()))
    if t.requires_grad and draw(st.booleans()):
        t = t * 1.0  # an interior node, not a leaf
    return t


operands = st.one_of(tensors(), numeric_arrays(), python_scalars, nested_lists, foreign, alien_arrays())

axes = st.one_of(
    st.none(),
    st.integers(-4, 4),
    st.lists(st.integers(-4, 4), max_size=3).map(tuple),
    st.sampled_from([1.0, "0", [0], np.int64(0), True, (0, 0), ()]),
    # built, not sampled: hypothesis hashes sampled values, and a unitless timedelta64 cannot be hashed
    st.builds(np.timedelta64, st.just(1)),
    st.builds(np.timedelta64, st.just(1), st.just("s")),
)
shape_args = st.one_of(
    st.lists(st.integers(-2, 6), max_size=4).map(tuple),
    st.lists(st.integers(-2, 6), max_size=4),
    st.sampled_from([(2.0,), ("a",), (None,), -1, 4, (10**20,), ((2, 3),), (np.timedelta64(1, "s"), 0)]),
)
flags = st.one_of(st.booleans(), st.sampled_from([np.True_, np.array([True, False]), np.array([], bool)]))
dtype_args = st.sampled_from(
    [np.float64, np.float32, np.float16, "float32", np.int64, bool, np.complex128, object, "nonsense", 3, None, str, np, math]
)


def _index_keys(t: Tensor) -> st.SearchStrategy[Any]:
    n = t.shape[0] if t.ndim else 1
    return st.one_of(
        st.integers(-5, 5),
        st.slices(max(n, 1)),
        st.sampled_from([None, Ellipsis, (), 1.5, "a", (0, 0, 0, 0), [True], [0, 0, 1], (slice(None), None), [[0, 1], [0]]]),
        st.lists(st.integers(-4, 4), max_size=4),
        st.lists(st.integers(-3, 3), max_size=3).map(lambda v: np.array(v, dtype=np.int64)),
        st.just(np.ones(t.shape, dtype=bool)),
        st.lists(st.integers(0, 2), max_size=3).map(lambda v: Tensor(np.array(v), dtype=np.int64)),
        st.just(Tensor([0.0])),
        st.tuples(st.integers(-3, 3), st.slices(3)),
    )


# ============================================================================ backward after every successful op
_BACKWARD = ("backward", "Tensor")


def _maybe_backward(out: Any, draw: st.DrawFn, names: tuple[str, ...]) -> None:
    """Run backward on ``out`` with a random kind of seed, when it is a Tensor in a graph."""
    if not (isinstance(out, Tensor) and out.requires_grad):
        return
    kind = draw(st.sampled_from(["implicit", "ones", "wrong-shape", "ints", "text", "scalar", "nan", "graph"]))
    seed: Any = {
        "implicit": None,
        "ones": np.ones(out.shape, out.dtype),
        "wrong-shape": np.ones(out.shape + (2,)),
        "ints": np.ones(out.shape, np.int64),
        "text": "grad",
        "scalar": 1.0,
        "nan": np.full(out.shape, np.nan, out.dtype),
        "graph": None,
    }[kind]
    allowed = names + _BACKWARD
    result = attempt(lambda: out.backward(seed, create_graph=kind == "graph"), allowed, RuntimeError)
    if result is Refused:
        return
    leaves = [p for p in _leaves(out) if p.requires_grad]
    for p in leaves:
        g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
        assert g is None or (isinstance(g, np.ndarray) and g.shape == p.shape and g.dtype == p.dtype)


def _leaves(out: Tensor) -> list[Tensor]:
    seen, stack, found = set(), [out], []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._ctx is None:
            found.append(t)
        else:
            stack.extend(t._ctx.parents)
    return found


# ============================================================================ Tensor construction
@_settings("tensor")
@given(data=st.one_of(anything, tensors()), requires_grad=flags, dtype=st.one_of(st.none(), dtype_args))
def test_fuzz_tensor_construction(data: Any, requires_grad: Any, dtype: Any) -> None:
    t = attempt(lambda: Tensor(data, requires_grad=requires_grad, dtype=dtype), ("Tensor",))
    if t is Refused:
        return
    assert isinstance(t.data, np.ndarray)
    assert t.data.dtype.kind in ("f" if dtype is None else "biuf")
    assert t.requires_grad is bool(requires_grad) and (not requires_grad or t.data.dtype.kind == "f")
    assert t.is_leaf and t.grad is None


# ============================================================================ unary ops and methods
_UNARY: dict[str, tuple[Callable[[Tensor, st.DrawFn], Any], tuple[str, ...]]] = {
    "neg": (lambda t, d: -t, ("Neg",)),
    "exp": (lambda t, d: t.exp(), ("Exp",)),
    "log": (lambda t, d: t.log(), ("Log",)),
    "sigmoid": (lambda t, d: t.sigmoid(), ("Sigmoid",)),
    "tanh": (lambda t, d: t.tanh(), ("Tanh",)),
    "relu": (lambda t, d: t.relu(), ("ReLU",)),
    "sum": (lambda t, d: t.sum(d(axes), keepdims=d(st.booleans())), ("sum", "Sum")),
    "mean": (lambda t, d: t.mean(d(axes), keepdims=d(st.booleans())), ("mean", "Sum", "Mul")),
    "max": (lambda t, d: t.max(d(axes), keepdims=d(st.booleans())), ("max", "Max")),
    "min": (lambda t, d: t.min(d(axes), keepdims=d(st.booleans())), ("min", "max", "Max", "Neg")),
    "softmax": (lambda t, d: t.softmax(d(axes)), ("softmax", "log_softmax", "LogSoftmax", "Exp")),
    "log_softmax": (lambda t, d: t.log_softmax(d(axes)), ("log_softmax", "LogSoftmax")),
    "reshape": (lambda t, d: t.reshape(d(shape_args)), ("reshape", "Reshape")),
    "reshape*": (lambda t, d: t.reshape(*d(st.lists(st.integers(-2, 4), max_size=3))), ("reshape", "Reshape")),
    "flatten": (lambda t, d: t.flatten(), ("flatten", "Reshape")),
    "transpose": (lambda t, d: t.transpose(*d(st.lists(st.integers(-4, 4), max_size=4))), ("transpose", "Permute")),
    "permute": (lambda t, d: t.permute(d(shape_args)), ("transpose", "permute", "Permute")),
    "swapaxes": (lambda t, d: t.swapaxes(d(st.integers(-4, 4)), d(axes)), ("swapaxes", "transpose", "Permute")),
    "T": (lambda t, d: t.T, ("transpose", "Permute")),
    "astype": (lambda t, d: t.astype(d(dtype_args)), ("astype", "Cast", "Tensor")),
    "broadcast_to": (lambda t, d: t.broadcast_to(d(shape_args)), ("broadcast_to", "Expand")),
    "getitem": (lambda t, d: t[d(_index_keys(t))], ("getitem", "Index")),
    "item": (lambda t, d: t.item(), ("item",)),
    "float": (lambda t, d: float(t), ("float",)),
    "bool": (lambda t, d: bool(t), ("bool",)),
    "len": (lambda t, d: len(t), ("len",)),
    "repr": (lambda t, d: repr(t), ("repr",)),
    "numpy": (lambda t, d: t.numpy(), ("numpy",)),
    "array": (lambda t, d: np.asarray(t, dtype=d(st.sampled_from([None, np.float32, np.int64]))), ("array",)),
    "detach": (lambda t, d: t.detach(), ("detach",)),
    "retain_grad": (lambda t, d: t.retain_grad() * 2.0, ("Mul",)),
    "requires_grad_": (lambda t, d: t.requires_grad_(d(flags)), ("Tensor", "requires_grad_")),
    "compare": (lambda t, d: t < d(st.one_of(st.floats(), st.integers(-2, 2))), ("less",)),
    "pow": (lambda t, d: t ** d(st.sampled_from([2, 0.5, -1, 0, 3.0, -0.5, 10**400, True])), ("Pow", "pow", "Tensor")),
}


@_settings("unary")
@given(t=tensors(), op=st.sampled_from(sorted(_UNARY)), data=st.data())
def test_fuzz_unary_ops_and_methods(t: Tensor, op: str, data: st.DataObject) -> None:
    fn, names = _UNARY[op]
    extra = (IndexError,) if op == "getitem" else (RuntimeError,) if op == "requires_grad_" else ()
    out = attempt(lambda: fn(t, data.draw), names, *extra)
    if out is Refused:
        return
    if isinstance(out, Tensor):
        assert isinstance(out.data, np.ndarray)
        _maybe_backward(out, data.draw, names)


# ============================================================================ binary operators
_BINARY: dict[str, tuple[Callable[[Any, Any], Any], tuple[str, ...]]] = {
    "+": (lambda a, b: a + b, ("Add", "add", "Tensor")),
    "-": (lambda a, b: a - b, ("Add", "Neg", "sub", "Tensor")),
    "*": (lambda a, b: a * b, ("Mul", "mul", "Tensor")),
    "/": (lambda a, b: a / b, ("Mul", "Pow", "div", "Tensor")),
    "**": (lambda a, b: a**b, ("Pow", "pow", "Tensor")),
    "@": (lambda a, b: a @ b, ("Matmul", "matmul", "Tensor")),
    "==": (lambda a, b: a == b, ("equal",)),
    "<=": (lambda a, b: a <= b, ("less_equal", "greater_equal")),
    "add": (lambda a, b: a.add(b), ("Add", "add", "Tensor")),
    "matmul": (lambda a, b: a.matmul(b), ("Matmul", "matmul", "Tensor")),
}


@_settings("binary")
@given(
    a=tensors(),
    b=operands,
    op=st.sampled_from(sorted(_BINARY)),
    swap=st.booleans(),
    data=st.data(),
)
def test_fuzz_binary_operators(a: Tensor, b: Any, op: str, swap: bool, data: st.DataObject) -> None:
    fn, names = _BINARY[op]
    if swap and not isinstance(b, Tensor) and not op.isalpha():
        left, right = b, a  # reflected: a number, list or ndarray on the left
    else:
        left, right = a, b
    out = attempt(lambda: fn(left, right), names)
    if out is Refused or out is NotImplemented:
        return
    if isinstance(out, Tensor):
        _maybe_backward(out, data.draw, names)


# ============================================================================ module-level functions
@_settings("functions")
@given(
    which=st.sampled_from(["concatenate", "stack", "linear", "quadratic_cost", "grad", "hvp", "hessian"]),
    xs=st.lists(operands, min_size=0, max_size=3),
    axis=axes,
    data=st.data(),
)
def test_fuzz_functions(which: str, xs: list[Any], axis: Any, data: st.DataObject) -> None:
    draw = data.draw
    if which == "concatenate":
        call, names = (lambda: tg.concatenate(xs, axis=axis)), ("concatenate", "Concat", "Tensor")
    elif which == "stack":
        call, names = (lambda: tg.stack(xs, axis=axis)), ("stack", "Concat", "Reshape", "Tensor")
    elif which == "linear":
        x, w = draw(operands), draw(operands)
        b = draw(st.one_of(st.none(), operands))
        call, names = (lambda: tg.linear(x, w, b)), ("linear", "Linear", "Tensor")
    elif which == "quadratic_cost":
        a, y = draw(operands), draw(operands)
        call, names = (lambda: tg.quadratic_cost(a, y)), ("quadratic_cost", "QuadraticCost", "Tensor")
    elif which == "hvp":
        x, v = draw(st.one_of(operands, nested_lists)), draw(st.one_of(operands, nested_lists))
        call, names = (lambda: tg.hvp(_cubic, x, v)), ("hvp", "Tensor", "Mul", "Sum")
    elif which == "hessian":
        x = draw(st.one_of(operands, nested_lists))
        call, names = (lambda: tg.hessian(_cubic, x)), ("hessian", "Tensor", "Mul", "Sum")
    else:
        outs, ins = draw(st.one_of(operands, st.lists(operands, max_size=2))), draw(
            st.one_of(operands, st.lists(operands, max_size=2))
        )
        grad_outputs, graph = draw(st.one_of(st.none(), operands)), draw(st.booleans())
        call = lambda: tg.grad(outs, ins, grad_outputs, create_graph=graph)  # noqa: E731
        names = ("grad", "backward", "Tensor")
    out = attempt(call, names, RuntimeError) if which == "grad" else attempt(call, names)
    if isinstance(out, Tensor):
        _maybe_backward(out, draw, names)


def _cubic(x: Tensor) -> Tensor:
    return (x * x * x).sum()


# ============================================================================ nets: layers, modules, optimizer
_widths = st.one_of(st.integers(-2, 5), st.sampled_from([0, 2.5, "3", None, True, np.int64(2), 10**30]))


@_settings("layers")
@given(which=st.sampled_from(["linear", "activation", "sequential", "state", "sgd"]), data=st.data())
def test_fuzz_layers_modules_and_optimizer(which: str, data: st.DataObject) -> None:
    draw = data.draw
    if which == "linear":
        n_in, n_out = draw(_widths), draw(_widths)
        init = draw(st.sampled_from(["default", "large", "zeros", "bogus", None, 3]))
        rng = draw(st.one_of(st.none(), st.integers(0, 5), st.sampled_from([-1, "seed", 1.5])))
        dtype = draw(dtype_args)
        make = lambda: Linear(n_in, n_out, init=init, rng=rng, dtype=dtype)  # noqa: E731
        layer = attempt(make, ("Linear", "init", "as_generator"))
        if layer is Refused:
            return
        x = draw(st.one_of(tensors(), operands))
        out = attempt(lambda: layer(x), ("Linear", "linear", "Tensor"))
        _maybe_backward(out, draw, ("Linear",))
    elif which == "activation":
        layer = draw(st.sampled_from([Sigmoid, Tanh, ReLU]))()
        x = draw(operands)
        name = {Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "ReLU"}[type(layer)]
        out = attempt(lambda: layer(x), (name, "Tensor"))
        _maybe_backward(out, draw, (name,))
    elif which == "sequential":
        layers = st.sampled_from([Sigmoid(), Tanh(), ReLU(), Linear(2, 2, rng=0)])
        items = draw(st.lists(st.one_of(layers, foreign), max_size=3))
        model = attempt(lambda: Sequential(*items), ("Sequential",))
        if model is Refused:
            return
        x = draw(operands)
        out = attempt(lambda: model(x), ("Sequential", "Linear", "linear", "Sigmoid", "Tanh", "ReLU", "Tensor"))
        _maybe_backward(out, draw, ("Sequential",))
    elif which == "state":
        layer = Linear(2, 3, rng=0)
        state = draw(
            st.one_of(
                st.just(layer.state_dict()),
                st.dictionaries(st.sampled_from(["w", "b", "x"]), st.one_of(numeric_arrays(), operands), max_size=3),
                foreign,
            )
        )
        attempt(lambda: layer.load_state_dict(state, strict=draw(st.booleans())), ("load_state_dict",), KeyError)
    else:
        params = draw(st.lists(st.one_of(tensors(), operands), max_size=3))
        kwargs = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "momentum": st.one_of(st.floats(), st.sampled_from([0.5, 1.0, "0.9", None])),
                    "weight_decay": st.one_of(st.floats(), st.sampled_from([0.1, -1.0, None])),
                    "l1": st.floats(),
                },
            )
        )
        lr = draw(st.one_of(st.floats(), st.integers(-1, 3), st.sampled_from(["0.1", None, True])))
        opt = attempt(lambda: SGD(params, lr=lr, **kwargs), ("SGD",))
        if opt is Refused:
            return
        for p in opt.params:
            p.grad = draw(st.one_of(st.none(), st.just(np.ones_like(p.data)), numeric_arrays(_FLOAT_DTYPES)))
        attempt(opt.step, ("SGD",))
        opt.zero_grad()


# ============================================================================ nets: costs
@_settings("costs")
@given(
    cost=st.sampled_from([QuadraticCost, CrossEntropyCost]),
    method=st.sampled_from(["fn", "delta"]),
    args=st.lists(st.one_of(numeric_arrays(), tensors(), operands), min_size=3, max_size=3),
    name=st.one_of(st.sampled_from(["quadratic", "cross-entropy", "QuadraticCost", "os.system", "__class__"]), foreign),
    data=st.data(),
)
def test_fuzz_costs(cost: Any, method: str, args: list[Any], name: Any, data: st.DataObject) -> None:
    where = f"{cost.__name__}.{method}"
    if method == "fn":
        out = attempt(lambda: cost.fn(args[0], args[1]), (where, cost.__name__, "Tensor", "QuadraticCost"))
        _maybe_backward(out, data.draw, (where,))
    else:
        out = attempt(lambda: cost.delta(*args), (where,))
        if out is not Refused:
            assert isinstance(out, (np.ndarray, np.floating))
    got = attempt(lambda: get_cost(name), ("get_cost",))
    assert got is Refused or got in (QuadraticCost, CrossEntropyCost) or got is name


# ============================================================================ nets: Network
network_args = st.fixed_dictionaries(
    {"sizes": st.one_of(st.lists(_widths, max_size=4), foreign, python_scalars)},
    optional={
        "cost": st.sampled_from([QuadraticCost, CrossEntropyCost, "quadratic", "bogus", None, 3, print]),
        "init": st.sampled_from(["large", "default", "zeros", "bogus", None]),
        "seed": st.one_of(st.integers(0, 3), st.sampled_from([None, -1, "x", 1.5])),
        "dtype": dtype_args,
        "activation": st.sampled_from(["sigmoid", "tanh", "relu", "softplus", None, Sigmoid, int]),
    },
)


@_settings("network")
@given(
    kwargs=network_args,
    which=st.sampled_from(["feedforward", "evaluate", "total_cost", "backprop", "weights"]),
    data=st.data(),
)
def test_fuzz_network_construction_and_queries(kwargs: dict[str, Any], which: str, data: st.DataObject) -> None:
    net = attempt(lambda: Network(**kwargs), ("Network", "get_cost", "as_generator", "init"))
    if net is Refused:
        net = Network([2, 3, 2], seed=0)
    draw = data.draw
    n_in, n_out = net.sizes[0], net.sizes[-1]
    X = draw(st.one_of(numeric_arrays(shape=(2, n_in)), numeric_arrays(), operands))
    if which == "feedforward":
        out = attempt(lambda: net.feedforward(X), (f"Network.{which}",))
        assert out is Refused or isinstance(out, np.ndarray)
    elif which in ("evaluate", "total_cost"):
        Y = draw(st.one_of(st.just(np.zeros(2, np.int64)), numeric_arrays(shape=(2, n_out)), operands))
        shaped = draw(st.sampled_from(["tuple", "pairs", "raw"]))
        dataset: Any = X
        if shaped == "tuple":
            dataset = (X, Y)
        elif shaped == "pairs" and isinstance(X, np.ndarray) and isinstance(Y, np.ndarray) and X.ndim and Y.ndim:
            dataset = list(zip(X, Y))  # Nielsen's list of (x, y) pairs
        lmbda = draw(st.one_of(st.floats(), st.sampled_from(["0.1", None])))
        call = (lambda: net.evaluate(dataset)) if which == "evaluate" else (lambda: net.total_cost(dataset, lmbda))
        out = attempt(call, (f"Network.{which}", "one_hot", "Network.total_cost", "Network.evaluate"))
        assert out is Refused or isinstance(out, (int, float))
    elif which == "backprop":
        y = draw(st.one_of(st.integers(-1, n_out), numeric_arrays(shape=(n_out, 1)), operands))
        x = draw(st.one_of(numeric_arrays(shape=(n_in, 1)), operands))
        out = attempt(lambda: net.backprop(x, y), ("Network.backprop", "one_hot"))
        assert out is Refused or len(out) == 2
    else:
        values = draw(st.lists(st.one_of(numeric_arrays(), operands), max_size=3))
        which_attr = draw(st.sampled_from(["weights", "biases"]))
        attempt(lambda: setattr(net, which_attr, values), ("Network.weights", "Network.biases"))


@_settings("training")
@given(
    epochs=st.one_of(st.integers(-1, 2), st.sampled_from([1.5, "2", None])),
    batch=st.one_of(st.integers(-1, 5), st.sampled_from([2.0, None])),
    eta=st.one_of(st.floats(), st.sampled_from([3.0, "3", None, True, 1e300])),
    lmbda=st.one_of(st.floats(), st.sampled_from([0.0, (1, 2), None])),
    momentum=st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, -0.5])),
    X=numeric_arrays(_FLOAT_DTYPES, shape=(4, 2)),
    labels=st.one_of(st.just(np.array([0, 1, 1, 0])), numeric_arrays(shape=(4,)), numeric_arrays(shape=(4, 2))),
)
def test_fuzz_network_sgd(
    epochs: Any, batch: Any, eta: Any, lmbda: Any, momentum: float, X: np.ndarray, labels: np.ndarray
) -> None:
    net = Network([2, 3, 2], seed=0)
    out = attempt(
        lambda: net.SGD((X, labels), epochs, batch, eta, lmbda, momentum=momentum, verbose=False),
        ("Network.SGD", "SGD", "one_hot"),
        TrainingDivergedError,  # NaN/Inf data or a huge η make the cost non-finite
    )
    assert out is Refused or isinstance(out, tuple)


# ============================================================================ regressions: raw numpy errors the fuzz found
# Each of these once escaped as numpy's own error (no op named, sometimes a numpy-only subclass).
_RAGGED = [[1.0], [1.0, 2.0]]
_LEAKS: dict[str, tuple[Callable[[], Any], tuple[str, ...]]] = {
    "hvp_ragged_x": (lambda: tg.hvp(_cubic, _RAGGED, [1.0, 2.0]), ("hvp",)),
    "hvp_ragged_v": (lambda: tg.hvp(_cubic, [1.0, 2.0], _RAGGED), ("hvp",)),
    "hessian_ragged": (lambda: tg.hessian(_cubic, _RAGGED), ("hessian",)),
    "requires_grad_array": (lambda: Tensor([1.0, 2.0], requires_grad=np.array([True, False])), ("Tensor",)),
    "requires_grad__array": (lambda: Tensor([1.0, 2.0]).requires_grad_(np.array([True, False])), ("Tensor", "requires_grad_")),
    "astype_numpy_module": (lambda: Tensor([1.0]).astype(np), ("astype", "Cast")),
    "astype_math_module": (lambda: Tensor([1.0]).astype(math), ("astype", "Cast")),
    "getitem_ragged_list": (lambda: Tensor(np.ones((2, 3)))[[[0, 1], [0]]], ("getitem", "Index")),
    "linear_dtype_numpy_module": (lambda: Linear(2, 2, dtype=np), ("Linear",)),
    "network_dtype_numpy_module": (lambda: Network([2, 2], dtype=np), ("Network",)),
    "network_negative_seed": (lambda: Network([2, 2], seed=-1), ("Network", "as_generator")),
    "linear_negative_rng": (lambda: Linear(2, 2, rng=-1), ("Linear", "as_generator")),
}


@pytest.mark.parametrize("call, names", _LEAKS.values(), ids=_LEAKS.keys())
def test_fuzz_regression_refuses_with_the_op_named(call: Callable[[], Any], names: tuple[str, ...]) -> None:
    allowed = (TypeError, ValueError, IndexError) if "Index" in names else (TypeError, ValueError)  # IndexError: indexing only
    with pytest.raises(allowed) as info:
        call()
    assert type(info.value) in allowed, f"a numpy-only exception type: {info.value!r}"
    assert str(info.value).startswith(names), f"the message does not name {names}: {info.value}"


_AXIS_OPS: dict[str, Callable[[Tensor, Any], Any]] = {
    "sum": lambda t, a: t.sum(a),
    "mean": lambda t, a: t.mean(a),
    "max": lambda t, a: t.max(a),
    "min": lambda t, a: t.min(a),
    "softmax": lambda t, a: t.softmax(a),
    "log_softmax": lambda t, a: t.log_softmax(a),
    "permute": lambda t, a: t.permute(a, 0),
    "transpose": lambda t, a: t.transpose(a, 0),
    "swapaxes": lambda t, a: t.swapaxes(a, 0),
}


@pytest.mark.parametrize("axis", [np.timedelta64(1), np.timedelta64(1, "s")], ids=["timedelta", "timedelta_s"])
@pytest.mark.parametrize("op", sorted(_AXIS_OPS))
def test_fuzz_regression_timedelta_axis_is_a_type_error(op: str, axis: Any) -> None:
    # numpy refuses a timedelta as an axis with a TypeError ("cannot be interpreted as an integer"); so do we.
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    names = _UNARY[op][1]
    with pytest.raises(TypeError) as info:
        _AXIS_OPS[op](t, axis)
    assert type(info.value) is TypeError and str(info.value).startswith(names), f"{type(info.value).__name__}: {info.value}"


@pytest.mark.parametrize("join", ["concatenate", "stack"])
def test_fuzz_regression_timedelta_axis_of_a_join_is_a_type_error(join: str) -> None:
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError) as info:
        getattr(tg, join)([t, t], axis=np.timedelta64(1, "s"))
    assert type(info.value) is TypeError and str(info.value).startswith((join, "Concat")), str(info.value)


@pytest.mark.parametrize("flag", [np.True_, np.False_, True, False])
def test_fuzz_regression_requires_grad_is_stored_as_a_bool(flag: Any) -> None:
    for t in (Tensor([1.0], requires_grad=flag), Tensor([1.0]).requires_grad_(flag)):
        assert t.requires_grad is bool(flag)

"""Every primitive and composite op: forward equals numpy, and gradcheck passes over random (broadcast) shapes.

One table, one line per op; two shared helpers run the forward and the gradient check.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_bp as tg
from tinygrad_bp import Function, GradcheckError, Tensor, gradcheck
from tinygrad_bp.ops import Mul, Sigmoid
from tinygrad_bp.testing import arrays, broadcastable_shapes, matmul_shapes, shapes


# ============================================================================ input strategies
# Each yields (arrays, params): the op is called as fn(*tensors, **params), numpy as ref(*arrays, **params).
def _no_params(s: st.SearchStrategy) -> st.SearchStrategy:
    return s.map(lambda xs: (tuple(xs), {}))


def unary(**kw: Any) -> st.SearchStrategy:
    return _no_params(st.tuples(arrays(shapes(), **kw)))


def binary(rhs: dict[str, Any] | None = None) -> st.SearchStrategy:
    """Two arrays of mutually broadcastable shapes; ``rhs`` sets the second one's elements."""
    return _no_params(broadcastable_shapes().flatmap(lambda s: st.tuples(arrays(s[0]), arrays(s[1], **(rhs or {})))))


def matmul_inputs() -> st.SearchStrategy:
    return _no_params(matmul_shapes().flatmap(lambda s: st.tuples(arrays(s[0]), arrays(s[1]))))


def _axis(ndim: int) -> st.SearchStrategy:
    whole = st.none()
    if ndim == 0:
        return whole | st.just(())
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), unique=True).map(tuple)
    return whole | one | several


def reduction(**kw: Any) -> st.SearchStrategy:
    return shapes().flatmap(
        lambda s: st.tuples(st.tuples(arrays(s, **kw)), st.fixed_dictionaries({"axis": _axis(len(s)), "keepdims": st.booleans()}))
    )


def one_axis(param: str = "axis") -> st.SearchStrategy:
    return shapes(min_dims=1).flatmap(
        lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries({param: st.integers(-len(s), len(s) - 1)}))
    )


def reshaped() -> st.SearchStrategy:
    # Any ordering of the dimensions (and a flattened form) has the same size.
    return shapes().flatmap(
        lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries({"shape": st.permutations(s).map(tuple) | st.just((-1,))}))
    )


def permuted() -> st.SearchStrategy:
    return shapes().flatmap(
        lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries({"axes": st.permutations(range(len(s))).map(tuple)}))
    )


def expanded() -> st.SearchStrategy:
    return broadcastable_shapes().flatmap(
        lambda s: st.tuples(st.tuples(arrays(s[0])), st.just({"shape": np.broadcast_shapes(*s)}))
    )


def _index_of(shape: tuple[int, ...]) -> st.SearchStrategy:
    basic = hnp.basic_indices(shape, allow_ellipsis=True)
    if not shape:
        return basic
    # Integer arrays drawn with replacement, so repeated indices (which must accumulate) are common.
    fancy = hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5))
    first_axis = hnp.arrays(np.int64, st.integers(1, 6), elements=st.integers(-shape[0], shape[0] - 1))
    mask = hnp.arrays(np.bool_, shape)
    return basic | fancy | first_axis | mask


def indexed() -> st.SearchStrategy:
    return shapes().flatmap(lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries({"key": _index_of(s)})))


def joined(new_axis: bool) -> st.SearchStrategy:
    """Two or three arrays that concatenate (or stack) along a drawn axis."""

    def build(s: tuple[int, ...]) -> st.SearchStrategy:
        ndim = len(s) + new_axis
        return st.tuples(st.integers(-ndim, ndim - 1), st.lists(st.integers(1, 3), min_size=1, max_size=3)).flatmap(
            lambda a: st.tuples(
                st.tuples(*[arrays(s if new_axis else s[: a[0] % ndim] + (n,) + s[a[0] % ndim + 1 :]) for n in a[1]]),
                st.just({"axis": a[0]}),
            )
        )

    return shapes(min_dims=0 if new_axis else 1).flatmap(build)


def linear_inputs(bias: bool) -> st.SearchStrategy:
    sizes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
    return _no_params(
        sizes.flatmap(lambda n: st.tuples(arrays((n[0], n[1])), arrays((n[1], n[2])), *([arrays((n[2],))] if bias else [])))
    )


def same_shape_pair() -> st.SearchStrategy:
    return _no_params(shapes(min_dims=1, max_dims=2).flatmap(lambda s: st.tuples(arrays(s), arrays(s))))


# ============================================================================ numpy references
def np_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def np_quadratic_cost(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = a.shape[0] if a.ndim > 1 else 1
    return np.asarray(0.5 * np.sum((a - y) ** 2) / n)


# ============================================================================ the table
@dataclass
class Case:
    name: str
    fn: Callable[..., Tensor]
    ref: Callable[..., Any]
    inputs: st.SearchStrategy
    check: dict[str, Any] = field(default_factory=dict)  # gradcheck tolerances, where the default does not fit


POSITIVE = {"lo": 0.2}  # keeps log and non-integer powers real, and quotients bounded
NONZERO = {"avoid": (0.0,), "margin": 0.2}

CASES = [
    Case("add", lambda x, y: x + y, np.add, binary()),
    Case("radd_scalar", lambda x: 1.5 + x, lambda x: 1.5 + x, unary()),
    Case("sub", lambda x, y: x - y, np.subtract, binary()),
    Case("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x, unary()),
    Case("mul", lambda x, y: x * y, np.multiply, binary()),
    Case("div", lambda x, y: x / y, np.divide, binary(rhs=NONZERO)),
    Case("rdiv_scalar", lambda x: 2.0 / x, lambda x: 2.0 / x, unary(**NONZERO)),
    Case("neg", lambda x: -x, np.negative, unary()),
    Case("pow_scalar_int", lambda x: x**3, lambda x: x**3, unary()),
    Case("pow_scalar_negative", lambda x: x**-2, lambda x: x**-2.0, unary(**NONZERO)),
    Case("pow_scalar_fraction", lambda x: x**1.5, lambda x: x**1.5, unary(**POSITIVE)),
    Case("pow_tensor", lambda x, y: x**y, np.power, _no_params(broadcastable_shapes().flatmap(lambda s: st.tuples(arrays(s[0], **POSITIVE), arrays(s[1]))))),
    Case("rpow_scalar", lambda x: 2.0**x, lambda x: 2.0**x, unary()),
    Case("matmul", lambda x, y: x @ y, np.matmul, matmul_inputs()),
    Case("sum", lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims), lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), reduction()),
    Case("mean", lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims), lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims), reduction()),
    Case("max", lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims), lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), reduction(distinct=True)),
    Case("min", lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims), lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), reduction(distinct=True)),
    Case("exp", lambda x: x.exp(), np.exp, unary()),
    Case("log", lambda x: x.log(), np.log, unary(lo=0.1)),
    Case("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), unary(lo=-6.0, hi=6.0)),
    Case("tanh", lambda x: x.tanh(), np.tanh, unary()),
    Case("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0.0), unary(avoid=(0.0,))),
    Case("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), reshaped()),
    Case("flatten", lambda x: x.flatten(), np.ravel, unary()),
    Case("permute", lambda x, axes: x.permute(axes), np.transpose, permuted()),
    Case("transpose", lambda x: x.transpose(), np.transpose, unary()),
    Case("T", lambda x: x.T, np.transpose, unary()),
    Case("swapaxes", lambda x: x.swapaxes(0, -1), lambda x: np.swapaxes(x, 0, -1), _no_params(st.tuples(arrays(shapes(min_dims=1))))),
    Case("expand", lambda x, shape: x.broadcast_to(shape), np.broadcast_to, expanded()),
    Case("getitem", lambda x, key: x[key], lambda x, key: x[key], indexed()),
    Case("concatenate", lambda *xs, axis: tg.concatenate(xs, axis=axis), lambda *xs, axis: np.concatenate(xs, axis=axis), joined(new_axis=False)),
    Case("stack", lambda *xs, axis: tg.stack(xs, axis=axis), lambda *xs, axis: np.stack(xs, axis=axis), joined(new_axis=True)),
    Case("log_softmax", lambda x, axis: x.log_softmax(axis), np_log_softmax, one_axis()),
    Case("softmax", lambda x, axis: x.softmax(axis), lambda x, axis: np.exp(np_log_softmax(x, axis)), one_axis()),
    Case("linear", lambda x, w, b: tg.linear(x, w, b), lambda x, w, b: x @ w + b, linear_inputs(bias=True)),
    Case("linear_no_bias", lambda x, w: tg.linear(x, w), np.matmul, linear_inputs(bias=False)),
    Case("quadratic_cost", lambda a, y: tg.quadratic_cost(a, y), np_quadratic_cost, same_shape_pair()),
    # A float32 round trip: linear, so the finite difference is exact up to float32 rounding of x +- eps.
    Case("astype", lambda x: x.astype(np.float32), lambda x: x.astype(np.float32), unary(), {"eps": 1e-2, "atol": 1e-4, "rtol": 1e-3}),
]
IDS = [c.name for c in CASES]


# ============================================================================ the shared helpers
def check_forward(case: Case, drawn: tuple[tuple[np.ndarray, ...], dict[str, Any]]) -> None:
    xs, params = drawn
    out = case.fn(*[Tensor(x) for x in xs], **params)
    expected = np.asarray(case.ref(*xs, **params))
    assert isinstance(out, Tensor)
    assert out.shape == expected.shape
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def check_gradient(case: Case, drawn: tuple[tuple[np.ndarray, ...], dict[str, Any]]) -> None:
    xs, params = drawn
    ts = [Tensor(x, requires_grad=True) for x in xs]
    assert gradcheck(lambda *a: case.fn(*a, **params), *ts, **case.check)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=30)
@given(data=st.data())
def test_op_forward_matches_numpy(case: Case, data: st.DataObject) -> None:
    check_forward(case, data.draw(case.inputs, label="inputs"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_op_gradient_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_gradient(case, data.draw(case.inputs, label="inputs"))


# ============================================================================ negative controls for the table
class _SigmoidWrongDerivative(Sigmoid):
    def backward(ctx, grad_out):
        (a,) = ctx.saved
        return (grad_out * a,)  # forgets the (1 - a) factor of σ′


class _MulSwapped(Mul):
    def backward(ctx, grad_out):
        x, y = ctx.saved
        return (grad_out * x, grad_out * y)  # each input gets its own value instead of the other's


class _AddBroadcastGradDropped(Function):
    def forward(ctx, x, y):
        return x + y

    def backward(ctx, grad_out):
        # Right for equal shapes only: a broadcast input's gradient should be summed, not dropped.
        y_shape = ctx.parents[1].shape
        return grad_out, (grad_out if grad_out.shape == y_shape else np.zeros(y_shape))


_rng = np.random.default_rng(7)
BROKEN = [
    ("sigmoid_wrong", lambda x: _SigmoidWrongDerivative.apply(x), [_rng.uniform(-2, 2, (2, 3))]),
    ("mul_swapped", lambda x, y: _MulSwapped.apply(x, y), [_rng.uniform(-2, 2, (3,)), _rng.uniform(-2, 2, (3,))]),
    ("add_not_reduced", lambda x, y: _AddBroadcastGradDropped.apply(x, y), [_rng.uniform(-2, 2, (2, 3)), _rng.uniform(-2, 2, (3,))]),
]


@pytest.mark.parametrize("name, fn, xs", BROKEN, ids=[b[0] for b in BROKEN])
def test_op_gradient_check_rejects_wrong_backward(name: str, fn: Callable[..., Tensor], xs: list[np.ndarray]) -> None:
    # The helper that checks every op above must fail on a wrong backward, naming the input.
    case = Case(name, fn, None, st.nothing())
    with pytest.raises(GradcheckError, match=r"input \d \(shape"):
        check_gradient(case, (tuple(xs), {}))


# ============================================================================ op-specific properties
def test_max_ties_share_gradient_equally() -> None:
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_max_ties_share_gradient_over_all_axes() -> None:
    x = Tensor([[4.0, 1.0], [4.0, 4.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad, [[1 / 3, 0], [1 / 3, 1 / 3]])


def test_relu_derivative_at_zero_is_zero() -> None:
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


@given(arrays(shapes(), lo=-1e4, hi=1e4))
def test_sigmoid_large_inputs_stay_finite_and_quiet(z: np.ndarray) -> None:
    t = Tensor(z, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = t.sigmoid()
        a.sum().backward()
    assert np.all(np.isfinite(a.data)) and np.all((a.data >= 0) & (a.data <= 1))
    assert np.all(np.isfinite(t.grad)) and np.all(t.grad >= 0)
    with np.errstate(all="ignore"):  # np.where evaluates both branches
        expected = np.where(z < 0, np.exp(z) / (1 + np.exp(z)), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(a.data, expected, rtol=1e-12, atol=1e-300)


def test_sigmoid_extremes_are_exact() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = Tensor([-1e4, 0.0, 1e4]).sigmoid().numpy()
    assert a[0] < 1e-300 and a[1] == 0.5 and a[2] == 1.0


def test_log_softmax_large_inputs_stay_finite() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Tensor([[1000.0, 0.0, -1000.0]]).log_softmax(axis=1).numpy()
        p = Tensor([[1000.0, 1000.0]]).softmax().numpy()
    np.testing.assert_allclose(out, [[0.0, -1000.0, -2000.0]])
    np.testing.assert_allclose(p, [[0.5, 0.5]])


def test_getitem_repeated_indices_accumulate() -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_getitem_boolean_mask_routes_gradient() -> None:
    x = Tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    mask = x.numpy() > 0
    (x[mask] * Tensor([10.0, 20.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[10.0, 0.0], [0.0, 20.0]])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x + 2.0,
        lambda x: 2.0 - x,
        lambda x: x * 3,
        lambda x: x / 2.0,
        lambda x: 2.0 / (x + 5.0),
        lambda x: x**2,
        lambda x: 2.0**x,
        lambda x: (-x).exp().log(),
        lambda x: x.sigmoid().tanh().relu(),
        lambda x: x.log_softmax(-1).softmax(-1),
        lambda x: x.mean(axis=0).sum() + x.max(),
        lambda x: tg.quadratic_cost(x, np.zeros(x.shape, np.float32)),
        lambda x: tg.linear(x, np.ones((3, 2), np.float32), np.zeros(2, np.float32)),
    ],
    ids=["add", "rsub", "mul", "div", "rdiv", "pow", "rpow", "exp", "unary_chain", "softmax", "reductions", "cost", "linear"],
)
def test_float32_stays_float32_through_scalar_ops(fn: Callable[[Tensor], Tensor]) -> None:
    x = Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_astype_gradient_returns_to_source_dtype() -> None:
    x = Tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [2.0, -4.0])


def test_astype_to_int_leaves_the_graph() -> None:
    x = Tensor([1.7, -2.2], requires_grad=True)
    i = x.astype(np.int64)
    assert i.dtype == np.int64 and not i.requires_grad
    np.testing.assert_array_equal(i.numpy(), [1, -2])


def test_relu_forward_has_no_negative_zero() -> None:
    # x * (x > 0) would give −0.0 for negative x; max(x, 0) gives +0.0, as numpy's maximum does.
    out = Tensor([-3.0, -0.0, 0.0, 2.0]).relu().data
    assert not np.signbit(out).any()
    assert out.tolist() == [0.0, 0.0, 0.0, 2.0]

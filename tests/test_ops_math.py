"""The elementwise ops and reductions of tinygrad_bp.ops_math and ops_reduce: numpy's values, first and second derivatives.

Same table style as test_ops.py (whose helpers run it).  Kinks are kept out of the finite differences:
abs, sign and leaky_relu avoid 0, clip avoids its ends, maximum/minimum draw the two sides from two
interleaved grids (never within 0.05 of a tie); the kink points themselves have tests of their own.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_bp as tg
from tinygrad_bp import Function, GradcheckError, Tensor, gradcheck, gradgradcheck
from tinygrad_bp.ops_math import Abs, Sin
from tinygrad_bp.ops_reduce import Prod
from tinygrad_bp.testing import arrays, broadcastable_shapes, shapes

from test_ops import Case, _axis, _no_params, binary, check_forward, check_gradient, unary


def check_second(case: Case, drawn: tuple[tuple[np.ndarray, ...], dict[str, Any]]) -> None:
    xs, params = drawn
    assert gradgradcheck(lambda *a: case.fn(*a, **params), *[Tensor(x, requires_grad=True) for x in xs], **case.check)


# ============================================================================ strategies
def _grid(shape: Any, offset: float) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=st.integers(-20, 19).map(lambda k: k * 0.1 + offset))


def apart() -> st.SearchStrategy:
    """Two broadcastable arrays whose elements are never within 0.05 of each other (no ties for max/min)."""
    return _no_params(broadcastable_shapes().flatmap(lambda s: st.tuples(_grid(s[0], 0.0), _grid(s[1], 0.05))))


def selection() -> st.SearchStrategy:
    return broadcastable_shapes(3).flatmap(
        lambda s: st.tuples(st.tuples(arrays(s[1]), arrays(s[2])), st.fixed_dictionaries({"cond": hnp.arrays(np.bool_, s[0])}))
    )


def reduction(min_side: int = 1, **kw: Any) -> st.SearchStrategy:
    return shapes(min_side=min_side).flatmap(
        lambda s: st.tuples(st.tuples(arrays(s, **kw)), st.fixed_dictionaries({"axis": _axis(len(s)), "keepdims": st.booleans()}))
    )


def with_zeros() -> st.SearchStrategy:
    """Arrays where some elements are exactly 0 (once or several times): prod's gradient must stay exact."""
    elements = st.sampled_from([0.0, 0.0, -1.5, 0.5, 1.25, 2.0]) | st.floats(-2, 2)
    return shapes().flatmap(
        lambda s: st.tuples(
            st.tuples(hnp.arrays(np.float64, s, elements=elements)),
            st.fixed_dictionaries({"axis": _axis(len(s)), "keepdims": st.booleans()}),
        )
    )


def moments() -> st.SearchStrategy:
    """Distinct elements (so a standard deviation is never 0) over axes holding at least ddof + 1 of them."""
    return shapes(min_dims=1, min_side=2, max_side=3).flatmap(
        lambda s: st.tuples(
            st.tuples(arrays(s, distinct=True, margin=0.1)),
            st.fixed_dictionaries({"axis": _axis(len(s)).filter(lambda a: a != ()), "ddof": st.integers(0, 1), "keepdims": st.booleans()}),
        )
    )


def one_axis_or_none() -> st.SearchStrategy:
    return shapes(min_dims=1).flatmap(
        lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries({"axis": st.none() | st.integers(-len(s), len(s) - 1)}))
    )


def np_logsumexp(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else tuple(range(x.ndim)))


def np_softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


CASES = [
    Case("sqrt", lambda x: x.sqrt(), np.sqrt, unary(lo=0.2)),
    Case("abs", lambda x: x.abs(), np.abs, unary(avoid=(0.0,))),
    Case("abs_builtin", lambda x: abs(x), np.abs, unary(avoid=(0.0,))),
    Case("sign", lambda x: x.sign(), np.sign, unary(avoid=(0.0,))),
    Case("square", lambda x: x.square(), np.square, unary()),
    Case("reciprocal", lambda x: x.reciprocal(), np.reciprocal, unary(avoid=(0.0,), margin=0.2)),
    Case("sin", lambda x: x.sin(), np.sin, unary()),
    Case("cos", lambda x: x.cos(), np.cos, unary()),
    Case("maximum", lambda x, y: tg.maximum(x, y), np.maximum, apart()),
    Case("minimum", lambda x, y: x.minimum(y), np.minimum, apart()),
    Case("clip", lambda x: x.clip(-1.0, 0.5), lambda x: np.clip(x, -1.0, 0.5), unary(avoid=(-1.0, 0.5))),
    Case("clip_upper_only", lambda x: x.clip(max=0.5), lambda x: np.clip(x, None, 0.5), unary(avoid=(0.5,))),
    Case("where", lambda a, b, cond: tg.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b), selection()),
    Case("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: np.where(x > 0, x, 0.1 * x), unary(avoid=(0.0,))),
    Case("softplus", lambda x: x.softplus(), np_softplus, unary(lo=-5.0, hi=5.0)),
    Case("log1p", lambda x: x.log1p(), np.log1p, unary(lo=-0.8)),
    Case("expm1", lambda x: x.expm1(), np.expm1, unary()),
    Case("prod", lambda x, axis, keepdims: x.prod(axis=axis, keepdims=keepdims), lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims), reduction()),
    Case("prod_with_zeros", lambda x, axis, keepdims: x.prod(axis=axis, keepdims=keepdims), lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims), with_zeros()),
    Case("var", lambda x, **p: x.var(**p), lambda x, **p: np.var(x, **p), moments()),
    Case("std", lambda x, **p: x.std(**p), lambda x, **p: np.std(x, **p), moments()),
    Case("logsumexp", lambda x, axis, keepdims: x.logsumexp(axis=axis, keepdims=keepdims), np_logsumexp, reduction()),
    Case("cumsum", lambda x, axis: x.cumsum(axis=axis), lambda x, axis: np.cumsum(x, axis=axis), one_axis_or_none()),
]
IDS = [c.name for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=30)
@given(data=st.data())
def test_math_op_forward_matches_numpy(case: Case, data: st.DataObject) -> None:
    check_forward(case, data.draw(case.inputs, label="inputs"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_math_op_gradient_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_gradient(case, data.draw(case.inputs, label="inputs"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=20)
@given(data=st.data())
def test_math_op_second_derivative_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_second(case, data.draw(case.inputs, label="inputs"))


# ============================================================================ negative controls
class _AbsNoSign(Abs):
    def backward(ctx, grad_out):
        return (grad_out * 1.0,)  # forgets the sign: right for x > 0 only


class _SinFrozenCos(Sin):
    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * np.cos(x.data if isinstance(x, Tensor) else x),)  # first order right, second order flat


class _ProdDividing(Prod):
    def backward(ctx, grad_out):
        x, axes, keepdims = ctx.saved
        out = np.prod(x, axis=axes, keepdims=True)
        g = grad_out if keepdims else grad_out.reshape(out.shape)
        with np.errstate(all="ignore"):
            return (g * (out / x),)  # the product over x_i: 0/0 where x_i = 0


def test_math_gradient_checks_reject_wrong_backwards() -> None:
    x = Tensor(np.array([-1.5, -0.5, 0.5, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0"):
        gradcheck(_AbsNoSign.apply, x)
    assert gradcheck(_SinFrozenCos.apply, x)
    with pytest.raises(GradcheckError, match=r"input 0"):
        gradgradcheck(_SinFrozenCos.apply, x)
    z = Tensor(np.array([[2.0, 0.0, 3.0], [1.0, 4.0, 0.5]]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0"):
        gradcheck(lambda t: _ProdDividing.apply(t, axes=(1,), keepdims=False), z)


# ============================================================================ kinks, ties, zeros
def test_abs_and_leaky_relu_gradients_at_zero_follow_pytorch() -> None:
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 1.0])
    x.grad = None
    x.leaky_relu(0.1).sum().backward()
    np.testing.assert_allclose(x.grad, [0.1, 0.1, 1.0])


def test_maximum_and_minimum_ties_split_the_gradient() -> None:
    x, y = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([2.0, 2.0, 2.0], requires_grad=True)
    tg.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(y.grad, [1.0, 0.5, 0.0])
    b = Tensor(2.0, requires_grad=True)
    tg.minimum(x, b).sum().backward()  # a broadcast side collects all its shares
    assert b.grad == 1.0 + 0.5


def test_clip_gradient_is_one_inside_including_the_ends() -> None:
    x = Tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_sign_has_zero_gradient() -> None:
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.sign().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


def test_prod_gradient_with_one_and_two_zeros_is_exact() -> None:
    x = Tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], requires_grad=True)
    x.prod(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])
    (h,) = tg.grad(x.prod(axis=1).sum(), x, create_graph=True)
    (hh,) = tg.grad(h[0, 1], x)
    np.testing.assert_array_equal(hh, [[3.0, 0.0, 2.0], [0.0, 0.0, 0.0]])


def test_logsumexp_is_finite_for_large_and_infinite_inputs() -> None:
    assert Tensor([1000.0, 1000.0]).logsumexp().item() == pytest.approx(1000.0 + np.log(2.0))
    assert Tensor([-np.inf, -np.inf]).logsumexp().item() == -np.inf


def test_argmax_argmin_follow_numpy_and_have_no_gradient() -> None:
    x = np.array([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]])
    t = Tensor(x, requires_grad=True)
    for name in ("argmax", "argmin"):
        for axis in (None, 0, 1, -1):
            for keepdims in (False, True):
                out = getattr(t, name)(axis=axis, keepdims=keepdims)
                expect = getattr(np, name)(x, axis=axis, keepdims=keepdims)
                assert out.dtype == np.int64 and not out.requires_grad
                np.testing.assert_array_equal(out.numpy(), expect)


@pytest.mark.parametrize(
    "fn",
    [lambda x: x.sqrt(), lambda x: x.abs(), lambda x: x.sin(), lambda x: x.cos(), lambda x: x.softplus(), lambda x: x.log1p(),
     lambda x: x.expm1(), lambda x: x.clip(0.2, 0.5), lambda x: tg.maximum(x, 0.3), lambda x: tg.where(x.numpy() > 0.3, x, 0.0),
     lambda x: x.leaky_relu(), lambda x: x.prod(axis=0), lambda x: x.var(axis=1), lambda x: x.std(), lambda x: x.logsumexp(axis=1),
     lambda x: x.cumsum(axis=1), lambda x: x.square().reciprocal()],
    ids=["sqrt", "abs", "sin", "cos", "softplus", "log1p", "expm1", "clip", "maximum", "where", "leaky_relu", "prod", "var", "std", "logsumexp", "cumsum", "square_reciprocal"],
)
def test_math_ops_keep_float32(fn: Any) -> None:
    x = Tensor(np.linspace(0.1, 0.9, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_reductions_accept_pytorch_dim_and_keepdim() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3))
    for name in ("sum", "mean", "max", "min", "prod", "logsumexp", "var", "std"):
        a, b = getattr(x, name)(dim=1, keepdim=True), getattr(x, name)(axis=1, keepdims=True)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a.shape == (2, 1)
        with pytest.raises(TypeError, match=rf"^{name}: pass axis= or its alias dim=, not both"):
            getattr(x, name)(axis=0, dim=1)
    np.testing.assert_array_equal(x.argmax(dim=0).numpy(), [1, 1, 1])
    np.testing.assert_array_equal(x.cumsum(dim=1).numpy(), np.cumsum(x.numpy(), axis=1))
    np.testing.assert_allclose(x.softmax(dim=0).numpy(), x.softmax(axis=0).numpy())


def test_math_bad_arguments_name_the_op() -> None:
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^var: 2 element\(s\) over axes \(0,\) of \(2, 3\) leave no degrees of freedom with ddof=2"):
        x.var(axis=0, ddof=2)
    with pytest.raises(ValueError, match=r"^clip: give at least one of min and max"):
        x.clip()
    with pytest.raises(TypeError, match=r"^where: the condition must be boolean"):
        tg.where(np.ones(3), x, x)
    with pytest.raises(ValueError, match=r"^prod: axis 2 is out of range"):
        x.prod(axis=2)
    with pytest.raises(ValueError, match=r"^argmax: an empty tensor"):
        Tensor(np.ones((0,))).argmax()
    with pytest.raises(ValueError, match=r"^Maximum: .*input shapes \(2, 3\), \(4,\)"):
        tg.maximum(x, Tensor(np.ones(4)))


def test_composites_have_no_backward_of_their_own() -> None:
    # square, reciprocal, var, std, leaky_relu and logsumexp are built from primitives: their graphs hold only those.
    x = Tensor(np.array([[0.5, 1.0], [1.5, 2.0]]), requires_grad=True)
    names = {type(t._ctx).__name__ for t in tg.autograd.toposort([x.var().sqrt() + x.logsumexp() + x.square().reciprocal().sum()])}
    assert all(issubclass(getattr(tg.ops, n, getattr(tg.ops_math, n, getattr(tg.ops_reduce, n, Function))), Function) for n in names)
    assert not {"Var", "Std", "Square", "Reciprocal", "LogSumExp"} & names

"""Gradients of gradients: double backward of every op, gradgradcheck, hvp/hessian, known Hessians, third order.

The op table is test_ops.py's, so every op it covers is also differentiated twice here.  Each
family of checks has a negative control: an op whose first derivative is right but whose backward,
once recorded, hides part of its dependence on the input (a "frozen slope"), must fail the same check.
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import Function, GradcheckError, Tensor, grad, gradcheck, gradgradcheck, hessian, hvp
from tinygrad_bp.ops import IndexAdd, Matmul, Sigmoid, _normalize_key
from tinygrad_bp.testing import ConformanceError, arrays, assert_layer_conforms, shapes

from test_ops import CASES, IDS, Case, indexed, linear_inputs  # the shared op table and its strategies

from nets import Module, Network


# ============================================================================ ops with a wrong double backward
def _frozen(v: Any) -> Any:
    """Return v's values cut from any graph: a backward using this hides v's dependence on the input."""
    return v.data if isinstance(v, Tensor) else v


class CubeFrozenSlope(Function):
    """x³ with the right first derivative, whose slope 3x² is a constant once recorded (misses 6x)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        x = _frozen(x)
        return (grad_out * (3 * x * x),)


class SigmoidFrozenSlope(Sigmoid):
    """σ with σ′ = σ(1 − σ) right to first order but constant under create_graph: σ″ comes out 0."""

    def backward(ctx, grad_out):
        (a,) = ctx.saved
        a = _frozen(a)
        return (grad_out * (a * (1 - a)),)


class MatmulFrozenSlope(Matmul):
    """Matmul whose backward reads its operands as constants: right to first order, flat to second."""

    def backward(ctx, grad_out):
        saved = ctx.saved
        ctx.saved = tuple(_frozen(s) for s in saved)
        try:
            return Matmul.backward(ctx, grad_out)
        finally:
            ctx.saved = saved


class FrozenSigmoidLayer(Module):
    def forward(self, z: Tensor) -> Tensor:
        return SigmoidFrozenSlope.apply(z)


class OnceOnly(Function):
    """A Function that declares it cannot be differentiated twice."""

    once_differentiable = True

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (2 * x * grad_out,)


class ReturnsArray(Function):
    """A backward that leaves the graph by returning a plain array even under create_graph."""

    def forward(ctx, x):
        return 2 * x

    def backward(ctx, grad_out):
        return (2 * np.asarray(_frozen(grad_out)),)


class UsesNumpyFunction(Function):
    """A backward written with a numpy function that has no Tensor version, so a recorded grad_out cannot pass through."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sinh(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * np.cosh(x),)


# ============================================================================ every op, differentiated twice
def check_second_derivative(case: Case, drawn: tuple[tuple[np.ndarray, ...], dict[str, Any]]) -> None:
    xs, params = drawn
    ts = [Tensor(x, requires_grad=True) for x in xs]
    assert gradgradcheck(lambda *a: case.fn(*a, **params), *ts, **case.check)


def index_add_inputs() -> st.SearchStrategy:
    """IndexAdd called directly (test_ops reaches it only as Index's backward): g of x[key]'s shape, scattered back."""

    def build(drawn: tuple[tuple[np.ndarray, ...], dict[str, Any]]) -> st.SearchStrategy:
        (x,), p = drawn
        key, fancy = _normalize_key(p["key"])
        return st.tuples(st.tuples(arrays(np.shape(x[key]))), st.just({"key": key, "fancy": fancy, "shape": x.shape}))

    return indexed().flatmap(build)


def _linear_rows(batch: tuple[int, ...]) -> st.SearchStrategy:
    """linear with x of any batch shape (1-D, 3-D) and a bias."""
    sizes = st.tuples(st.integers(1, 3), st.integers(1, 3))
    return sizes.flatmap(
        lambda n: st.tuples(arrays(batch + (n[0],)), arrays((n[0], n[1])), arrays((n[1],)))
    ).map(lambda xs: (tuple(xs), {}))


EXTRA = [
    Case("index_add", lambda g, key, fancy, shape: IndexAdd.apply(g, key=key, fancy=fancy, shape=shape), None, index_add_inputs()),
    Case("linear_1d_x", lambda x, w, b: tg.linear(x, w, b), None, _linear_rows(())),
    Case("linear_3d_x", lambda x, w, b: tg.linear(x, w, b), None, _linear_rows((2, 2))),
    Case("quadratic_cost_1d", lambda a, y: tg.quadratic_cost(a, y), None,
         shapes(min_dims=1, max_dims=1).flatmap(lambda s: st.tuples(arrays(s), arrays(s))).map(lambda xs: (tuple(xs), {}))),
    Case("cube_chain", lambda x: (x * x * x).tanh().sigmoid() * x.exp(), None, linear_inputs(bias=False).map(lambda d: ((d[0][0],), {}))),
    Case("matmul_chain", lambda x, w: (x @ w).tanh() @ w.T, None, linear_inputs(bias=False)),
]


@pytest.mark.parametrize("case", CASES + EXTRA, ids=IDS + [c.name for c in EXTRA])
@settings(max_examples=30)
@given(data=st.data())
def test_op_second_derivative_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_second_derivative(case, data.draw(case.inputs, label="inputs"))


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 2)), ((2, 2, 3), (3, 2)), ((2, 1, 2, 3), (3, 3, 2))]


@pytest.mark.parametrize("sx, sy", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_second_derivative_for_vectors_matrices_and_batches(sx: tuple[int, ...], sy: tuple[int, ...]) -> None:
    # hypothesis draws these too; listing them makes sure each kind is always covered
    rng = np.random.default_rng(len(sx) * 10 + len(sy))
    x, y = (Tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in (sx, sy))
    assert gradgradcheck(lambda a, b: (a @ b).tanh(), x, y)
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda a, b: MatmulFrozenSlope.apply(a, b).tanh(), x, y)


def test_cast_second_derivative_returns_to_float32() -> None:
    x = Tensor(np.array([0.5, -1.5], np.float32), requires_grad=True)
    (g,) = grad((x.astype(np.float64) ** 3).sum(), x, create_graph=True)
    assert g.dtype == np.float32 and g.requires_grad
    (g2,) = grad(g.sum(), x)
    assert g2.dtype == np.float32
    np.testing.assert_allclose(g2, 6 * x.data, rtol=1e-6)


# ---- negative controls for the same helper
_rng = np.random.default_rng(3)
BROKEN = [
    ("cube_frozen_slope", lambda x: CubeFrozenSlope.apply(x), [_rng.uniform(0.5, 2, (2, 3))]),
    ("sigmoid_frozen_slope", lambda x: SigmoidFrozenSlope.apply(x), [_rng.uniform(-2, 2, (3,))]),
    ("frozen_inside_a_chain", lambda x, w: CubeFrozenSlope.apply(x @ w).sum(), [_rng.uniform(0.5, 2, (2, 3)), _rng.uniform(0.5, 2, (3,))]),
]


@pytest.mark.parametrize("name, fn, xs", BROKEN, ids=[b[0] for b in BROKEN])
def test_op_second_derivative_check_rejects_wrong_double_backward(name: str, fn: Callable[..., Tensor], xs: list[np.ndarray]) -> None:
    ts = [Tensor(x, requires_grad=True) for x in xs]
    assert gradcheck(fn, *ts)  # the first derivative is right: only the second order can catch it
    with pytest.raises(GradcheckError, match=r"gradgradcheck: .*\n  input \d \(shape"):
        check_second_derivative(Case(name, fn, None, st.nothing()), (tuple(xs), {}))


@settings(max_examples=25)
@given(arrays(shapes(min_dims=1), lo=0.5, hi=2.0), st.sampled_from(["full", "projection"]))
def test_gradgradcheck_rejects_frozen_slope_in_both_modes(x: np.ndarray, mode: str) -> None:
    with pytest.raises(GradcheckError, match=r"input 0 \(shape"):
        gradgradcheck(lambda t: CubeFrozenSlope.apply(t), Tensor(x, requires_grad=True), mode=mode)


@settings(max_examples=25)
@given(arrays(shapes(min_dims=1), lo=0.5, hi=2.0), st.sampled_from(["full", "projection"]))
def test_gradgradcheck_accepts_right_cube_in_both_modes(x: np.ndarray, mode: str) -> None:
    assert gradgradcheck(lambda t: t**3, Tensor(x, requires_grad=True), mode=mode)


# ============================================================================ gradgradcheck's contract
def test_gradgradcheck_report_names_input_element_and_values() -> None:
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(lambda t: CubeFrozenSlope.apply(t), x, grad_outputs=np.ones((1, 2)), seed=1)
    msg = str(info.value)
    assert "second derivative" in msg and "(atol=1e-05, rtol=0.001)" in msg
    assert re.search(r"input 0 \(shape \(1, 2\)\) at element \(0, [01]\) \(2 of 2 elements out of tolerance\)", msg)
    assert "analytic 0.0" in msg  # the frozen slope records nothing: its second derivative reads as zero


def test_gradgradcheck_raise_exception_false_returns_false() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert gradgradcheck(lambda t: CubeFrozenSlope.apply(t), x, raise_exception=False) is False
    assert gradgradcheck(lambda t: t**3, x, raise_exception=False) is True


def test_gradgradcheck_leaves_inputs_and_grads_untouched() -> None:
    x = Tensor([0.3, -1.2], requires_grad=True)
    before = x.data.copy()
    gradgradcheck(lambda t: (t * t).sigmoid(), x)
    assert x.grad is None
    np.testing.assert_array_equal(x.data, before)


def test_gradgradcheck_grad_outputs_and_their_shape() -> None:
    x = Tensor([0.3, -1.2], requires_grad=True)
    assert gradgradcheck(lambda t: t.tanh(), x, grad_outputs=[np.array([1.0, -2.0])])
    with pytest.raises(ValueError, match=r"gradgradcheck: grad_outputs\[0\] has shape \(3,\) but output 0 has shape \(2,\)"):
        gradgradcheck(lambda t: t.tanh(), x, grad_outputs=np.ones(3))
    with pytest.raises(ValueError, match="gradgradcheck: 2 grad_outputs for 1 outputs"):
        gradgradcheck(lambda t: t.tanh(), x, grad_outputs=[np.ones(2), np.ones(2)])


def test_gradgradcheck_tuple_outputs_unused_inputs_and_constants() -> None:
    x = Tensor([0.3, -1.2], requires_grad=True)
    unused = Tensor([1.0], requires_grad=True)
    assert gradgradcheck(lambda a, u, k: (a.exp() * k, a.sigmoid()), x, unused, 3.0)


class HalfCurvature(Function):
    """x² whose slope x + x (the right 2x) has one term frozen, so the recorded curvature is 1, not 2."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * (x + _frozen(x)),)


def test_gradgradcheck_linear_function_has_zero_second_derivative() -> None:
    x = Tensor([0.3, -1.2], requires_grad=True)
    w = Tensor([2.0, 1.0])
    assert gradgradcheck(lambda t: t * w + 1.0, x)
    assert gradcheck(lambda t: t * w + HalfCurvature.apply(t), x)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2,\)\)"):
        gradgradcheck(lambda t: t * w + HalfCurvature.apply(t), x)


def test_gradgradcheck_float32_input_warns_of_precision_only() -> None:
    x = Tensor(np.array([0.5, -1.0], np.float32), requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert gradgradcheck(lambda t: t * 2.0, x)  # linear: a constant first derivative is not an unused input
    messages = [str(w.message) for w in caught]
    assert any("float64 copy" in m and "too noisy" in m for m in messages)
    assert not any("never used" in m for m in messages)


def test_gradgradcheck_warns_when_a_copied_input_goes_unused() -> None:
    held = Tensor([1.5], requires_grad=True)  # the variable the function really reads
    x = Tensor(np.array([0.5], np.float32), requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradgradcheck(lambda t: held * held * held, x)
    unused = [w for w in caught if "never used" in str(w.message)]
    assert len(unused) == 1 and "gradgradcheck: input 0 had to be checked on a float64 copy" in str(unused[0].message)
    assert unused[0].filename == __file__  # points at the caller


def test_gradgradcheck_is_exported() -> None:
    assert tg.gradgradcheck is gradgradcheck and "gradgradcheck" in tg.__all__
    assert {"hvp", "hessian"} <= set(tg.__all__)


# ============================================================================ ops that cannot be differentiated twice
def test_once_differentiable_first_order_still_works() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    OnceOnly.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0])


@pytest.mark.parametrize("op", [OnceOnly, ReturnsArray, UsesNumpyFunction], ids=lambda c: c.__name__)
def test_double_backward_unsupported_raises_naming_the_op(op: type[Function]) -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    with pytest.raises((RuntimeError, TypeError), match=rf"^{op.__name__}: .*create_graph=True"):
        grad(op.apply(x).sum(), x, create_graph=True)
    with pytest.raises((RuntimeError, TypeError), match=rf"^{op.__name__}: "):
        Tensor.backward(op.apply(x).sum(), create_graph=True)
    with pytest.raises((RuntimeError, TypeError), match=rf"^{op.__name__}: "):
        gradgradcheck(lambda t: op.apply(t), x)


@pytest.mark.parametrize("op", [OnceOnly, UsesNumpyFunction], ids=lambda c: c.__name__)
def test_conforms_order_2_reports_op_that_cannot_be_differentiated_twice(op: type[Function]) -> None:
    assert_layer_conforms(op, input_shapes=[(2, 3)])  # fine at first order
    with pytest.raises(ConformanceError, match=rf"double backward: {op.__name__}: "):
        assert_layer_conforms(op, input_shapes=[(2, 3)], order=2)


# ============================================================================ assert_layer_conforms(order=2)
def test_conforms_order_2_accepts_primitives_and_a_layer() -> None:
    from tinygrad_bp.ops import Linear, LogSoftmax, Matmul

    assert_layer_conforms(Matmul, input_shapes=[(2, 3), (3, 2)], order=2)
    assert_layer_conforms(Linear, input_shapes=[(2, 3), (3, 2), (2,)], order=2)
    assert_layer_conforms(LogSoftmax, input_shapes=[(2, 3)], kwargs={"axis": 1}, order=2)
    net = Network([3, 2, 2], seed=0)
    assert_layer_conforms(net.model, input_shapes=[(4, 3)], order=2)


@pytest.mark.parametrize("op", [CubeFrozenSlope, SigmoidFrozenSlope], ids=lambda c: c.__name__)
def test_conforms_order_2_rejects_wrong_double_backward(op: type[Function]) -> None:
    assert_layer_conforms(op, input_shapes=[(2, 3)], input_range=(0.5, 2.0))  # right at first order
    with pytest.raises(ConformanceError, match=r"second derivative disagrees .*\n  input 0 \(shape \(2, 3\)\)"):
        assert_layer_conforms(op, input_shapes=[(2, 3)], input_range=(0.5, 2.0), order=2)


def test_conforms_order_2_rejects_wrong_double_backward_in_a_layer_parameter() -> None:
    net = Network([2, 2], seed=0, activation=FrozenSigmoidLayer)
    with pytest.raises(ConformanceError, match=r"(?s)second derivative .*\n  parameter \d \(shape"):
        assert_layer_conforms(net.model, input_shapes=[(3, 2)], order=2)


def test_conforms_rejects_bad_order() -> None:
    with pytest.raises(ValueError, match="order must be 1 or 2, got 3"):
        assert_layer_conforms(OnceOnly, input_shapes=[(2,)], order=3)


# ============================================================================ Hessians and Hessian-vector products
def fd_hessian(f: Callable[[Tensor], Tensor], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Return central differences of the engine's first-order gradient of f, row by row: (x.size, x.size)."""

    def gradient(at: np.ndarray) -> np.ndarray:
        t = Tensor(at, requires_grad=True)
        (g,) = grad(f(t), t, allow_unused=True)
        return np.zeros(at.size) if g is None else np.asarray(g).reshape(-1)

    rows = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        rows.append((gradient(x + step) - gradient(x - step)) / (2 * eps))
    return np.array(rows).reshape(x.shape + x.shape)


def assert_close(analytic: np.ndarray, numeric: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6, err_msg=what)


COMPOSITES: list[tuple[str, Callable[[Tensor], Tensor]]] = [
    ("cubic", lambda x: (x * x * x).sum()),
    ("tanh_product", lambda x: (x.tanh() * x.sigmoid()).sum() + (x * x).mean()),
    ("softmax_entropy", lambda x: -(x.reshape(-1).softmax() * x.reshape(-1).log_softmax()).sum()),
    ("max_relu", lambda x: (x.exp() + x).max() * x.relu().sum()),
]


@pytest.mark.parametrize("name, f", COMPOSITES, ids=[c[0] for c in COMPOSITES])
@settings(max_examples=20)
@given(x=arrays(shapes(min_dims=1, max_dims=2, max_side=3), distinct=True, avoid=(0.0,), margin=0.1))
def test_hessian_matches_finite_differences_of_gradients(name: str, f: Callable[[Tensor], Tensor], x: np.ndarray) -> None:
    h = hessian(f, x).numpy()
    assert h.shape == x.shape + x.shape
    assert_close(h, fd_hessian(f, x), name)
    np.testing.assert_allclose(h.reshape(x.size, x.size), h.reshape(x.size, x.size).T, atol=1e-10)


@pytest.mark.parametrize("name, f", COMPOSITES, ids=[c[0] for c in COMPOSITES])
@settings(max_examples=20)
@given(data=st.data())
def test_hvp_matches_finite_differences_of_gradients(name: str, f: Callable[[Tensor], Tensor], data: st.DataObject) -> None:
    x = data.draw(arrays(shapes(min_dims=1, max_dims=3, max_side=3), distinct=True, avoid=(0.0,), margin=0.1), label="x")
    v = data.draw(arrays(x.shape), label="v")
    eps = 1e-6
    hv = hvp(f, Tensor(x), v)
    assert isinstance(hv, Tensor) and hv.shape == x.shape and not hv.requires_grad
    (gp,) = grad(f(t := Tensor(x + eps * v, requires_grad=True)), t, allow_unused=True)
    (gm,) = grad(f(t := Tensor(x - eps * v, requires_grad=True)), t, allow_unused=True)
    numeric = (np.asarray(gp) - np.asarray(gm)) / (2 * eps)
    assert_close(hv.numpy(), numeric, name)
    # and it is one row-combination of the full Hessian
    np.testing.assert_allclose(hv.numpy().reshape(-1), hessian(f, x).numpy().reshape(x.size, x.size) @ v.reshape(-1), atol=1e-10)


@pytest.mark.parametrize("wrong", [CubeFrozenSlope, SigmoidFrozenSlope], ids=lambda c: c.__name__)
def test_hessian_and_hvp_checks_reject_wrong_double_backward(wrong: type[Function]) -> None:
    x = np.array([0.7, 1.3, 1.9])
    f = lambda t: wrong.apply(t).sum() + (t * t).sum()  # noqa: E731
    with pytest.raises(AssertionError):
        assert_close(hessian(f, x).numpy(), fd_hessian(f, x), wrong.__name__)
    with pytest.raises(AssertionError):
        assert_close(hvp(f, x, np.ones(3)).numpy(), fd_hessian(f, x) @ np.ones(3), wrong.__name__)


@pytest.mark.parametrize("op, right", [(Matmul, True), (MatmulFrozenSlope, False)], ids=["matmul", "frozen_slope"])
@settings(max_examples=30)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(arrays((n, n)), arrays((n,)))))
def test_hessian_of_quadratic_form_is_a_plus_a_transpose(op: type[Function], right: bool, ax: tuple[np.ndarray, np.ndarray]) -> None:
    a, x = ax
    A = Tensor(a)
    h = hessian(lambda t: op.apply(t, A @ t), x).numpy()
    ok = np.allclose(h, a + a.T, rtol=1e-12, atol=1e-12)
    assert ok == right or not right and np.allclose(a + a.T, 0)


def _sigmoid_second(z: np.ndarray) -> np.ndarray:
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s) * (1 - 2 * s)


@pytest.mark.parametrize("op, right", [(Sigmoid, True), (SigmoidFrozenSlope, False)], ids=["sigmoid", "frozen_slope"])
@settings(max_examples=30)
@given(z=arrays(shapes(), lo=-6.0, hi=6.0))
def test_sigmoid_second_derivative_is_s_1ms_1m2s(op: type[Function], right: bool, z: np.ndarray) -> None:
    expected = _sigmoid_second(z)
    ok = np.allclose(elementwise_derivative(op, z, 2), expected, rtol=1e-10, atol=1e-12)
    assert ok == right or not right and np.allclose(expected, 0, atol=1e-12)


def elementwise_derivative(op: type[Function], z: np.ndarray, order: int) -> np.ndarray:
    """Return the order-th derivative of an elementwise op at each element, by nested grad calls."""
    t = Tensor(z, requires_grad=True)
    g = op.apply(t)
    for k in range(order):
        if not g.requires_grad:  # a frozen slope records nothing more to differentiate
            return np.zeros(z.shape)
        # elementwise, so the gradient of the sum is the derivative at each element
        (g,) = grad(g.sum(), t, create_graph=k < order - 1, allow_unused=True)
        if g is None:
            return np.zeros(z.shape)
    return np.asarray(g.data if isinstance(g, Tensor) else g)


# ---- the MLP's quadratic cost, over all parameters of a tiny nets.Network
def _network_hessian(net: Network, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (the Hessian of the cost over all parameters by double backward, the same by differences of gradients)."""
    params = list(net.parameters())

    def cost() -> Tensor:
        return net.cost.fn(net.forward(Tensor(X)), Y)

    gs = grad(cost(), params, create_graph=True)
    flat = tg.concatenate([g.reshape(-1) for g in gs])
    n = flat.shape[0]
    rows = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        row = grad(flat, params, grad_outputs=e, allow_unused=True)
        rows.append(np.concatenate([np.zeros(p.size) if r is None else np.asarray(r).reshape(-1) for p, r in zip(params, row)]))
    analytic = np.array(rows)

    def gradient() -> np.ndarray:
        return np.concatenate([np.asarray(g).reshape(-1) for g in grad(cost(), params)])

    eps, numeric = 1e-5, []
    for p in params:
        d = p.data
        for idx in np.ndindex(d.shape):
            orig = d[idx]
            d[idx] = orig + eps
            plus = gradient()
            d[idx] = orig - eps
            minus = gradient()
            d[idx] = orig
            numeric.append((plus - minus) / (2 * eps))
    return analytic, np.array(numeric)


@pytest.mark.parametrize("activation, right", [("sigmoid", True), (FrozenSigmoidLayer, False)], ids=["sigmoid", "frozen_slope"])
@pytest.mark.parametrize("seed", [0, 1])
def test_network_quadratic_cost_hessian_matches_finite_differences(activation: Any, right: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = Network([2, 3, 2], seed=seed, activation=activation)
    X, Y = rng.uniform(-1, 1, (4, 2)), rng.uniform(0, 1, (4, 2))
    analytic, numeric = _network_hessian(net, X, Y)
    assert analytic.shape == (17, 17)  # 2·3 + 3 + 3·2 + 2 parameters
    close = np.allclose(analytic, numeric, rtol=1e-4, atol=1e-7)
    assert close == right
    if right:
        np.testing.assert_allclose(analytic, analytic.T, atol=1e-12)


# ============================================================================ third derivatives
def _sigmoid_third(z: np.ndarray) -> np.ndarray:
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s) * (1 - 6 * s + 6 * s * s)


def third_directional(f: Callable[[Tensor], Tensor], x: np.ndarray, u: np.ndarray) -> tuple[float, float]:
    """Return D³f(x)[u, u, u] by three nested backward passes, and by second differences of first-order gradients.

    The reference uses only plain (first-order) backward passes, so an op whose recorded backward is
    wrong cannot make both sides agree.
    """
    t = Tensor(x, requires_grad=True)
    uu = Tensor(u)
    curvature = (hvp(f, t, uu, create_graph=True) * uu).sum()
    (g3,) = grad(curvature, t)
    analytic = float(np.sum(np.asarray(g3) * u))

    def slope(at: np.ndarray) -> float:  # <u, ∇f(at)>
        a = Tensor(at, requires_grad=True)
        (g,) = grad(f(a), a)
        return float(np.sum(np.asarray(g) * u))

    eps = 1e-3
    numeric = (slope(x + eps * u) - 2 * slope(x) + slope(x - eps * u)) / eps**2
    return analytic, numeric


def _third_close(analytic: float, numeric: float) -> bool:
    return abs(analytic - numeric) <= 1e-5 + 1e-4 * abs(numeric)


@settings(max_examples=30)
@given(data=st.data())
def test_third_derivative_of_composite_matches_finite_differences(data: st.DataObject) -> None:
    x = data.draw(arrays(shapes(min_dims=1, max_dims=2, max_side=3)), label="x")
    u = data.draw(arrays(x.shape), label="u")
    w = Tensor(np.linspace(-1, 1, x.shape[-1] ** 2).reshape(x.shape[-1], x.shape[-1]))
    f = lambda t: ((t @ w).tanh() * t.sigmoid()).sum() + (t.exp() * t).mean()  # noqa: E731
    analytic, numeric = third_directional(f, x, u)
    assert _third_close(analytic, numeric)


def test_third_derivative_check_rejects_frozen_slope() -> None:
    x, u = np.array([0.6, 1.1, 1.7]), np.array([1.0, -0.5, 2.0])
    f = lambda t: SigmoidFrozenSlope.apply(t).sum() + (t * t * t).sum()  # noqa: E731
    assert _third_close(*third_directional(lambda t: Sigmoid.apply(t).sum() + (t * t * t).sum(), x, u))
    assert not _third_close(*third_directional(f, x, u))


@pytest.mark.parametrize("op, right", [(Sigmoid, True), (SigmoidFrozenSlope, False)], ids=["sigmoid", "frozen_slope"])
@settings(max_examples=30)
@given(z=arrays(shapes(min_dims=1), lo=-5.0, hi=5.0))
def test_sigmoid_third_derivative_closed_form(op: type[Function], right: bool, z: np.ndarray) -> None:
    expected = _sigmoid_third(z)
    ok = np.allclose(elementwise_derivative(op, z, 3), expected, rtol=1e-9, atol=1e-12)
    assert ok == right or not right and np.allclose(expected, 0, atol=1e-12)


# ============================================================================ create_graph through .grad, gradient penalties
def test_backward_create_graph_gives_differentiable_grads() -> None:
    x = Tensor([0.5, -1.5], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.data**2)
    (d2,) = grad(x.grad.sum(), x)
    np.testing.assert_allclose(d2, 6 * x.data)


@pytest.mark.parametrize(
    "f",
    [lambda t: (t.detach() * t * t).sum(), lambda t: (t * t * t.detach()).sum(), lambda t: t.detach() @ (t * t)],
    ids=["detached_first", "detached_last", "matmul"],
)
def test_detached_copy_sharing_data_stays_a_constant_in_the_second_derivative(f: Callable[[Tensor], Tensor]) -> None:
    # detach() shares the array, so the recorded backward must tell the constant from the variable by position
    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(hessian(f, x).numpy(), np.diag(2 * x), atol=1e-12)


def test_detached_copy_check_rejects_treating_it_as_the_variable() -> None:
    x = np.array([0.5, -1.5, 2.0])
    # x·x·x (the detached factor taken for the variable) would have Hessian diag(6x), not diag(2x)
    assert not np.allclose(hessian(lambda t: (t * t * t).sum(), x).numpy(), np.diag(2 * x))


def test_backward_create_graph_accumulates_into_existing_grad() -> None:
    x = Tensor([0.5, -1.5], requires_grad=True)
    (x * x).sum().backward()
    (x**3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.data + 3 * x.data**2)
    (d2,) = grad(x.grad.sum(), x)
    np.testing.assert_allclose(d2, 6 * x.data)  # the first, plain gradient is a constant


def test_plain_backward_keeps_array_grads() -> None:
    x = Tensor([0.5, -1.5], requires_grad=True)
    (x**3).sum().backward()
    assert type(x.grad) is np.ndarray


@settings(max_examples=20)
@given(data=st.data())
def test_gradient_penalty_gradient_matches_finite_differences(data: st.DataObject) -> None:
    # d/dw ‖∂C/∂x‖², the input-gradient penalty: a second derivative mixing x and w
    n, m = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    x = Tensor(data.draw(arrays((2, n))), requires_grad=True)
    w = Tensor(data.draw(arrays((n, m))), requires_grad=True)
    b = Tensor(data.draw(arrays((m,))), requires_grad=True)

    def penalty(w: Tensor, b: Tensor) -> Tensor:
        (gx,) = grad(tg.linear(x, w, b).sigmoid().sum(), x, create_graph=True)
        return (gx * gx).sum()

    assert gradcheck(penalty, w, b)


def test_gradient_penalty_check_rejects_frozen_slope() -> None:
    x = Tensor([[0.3, -0.8]], requires_grad=True)
    w = Tensor([[0.5], [1.5]], requires_grad=True)

    def penalty(w: Tensor) -> Tensor:
        (gx,) = grad(SigmoidFrozenSlope.apply(x @ w).sum(), x, create_graph=True)
        return (gx * gx).sum()

    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 1\)\)"):
        gradcheck(penalty, w)


# ============================================================================ hvp / hessian contract
def test_hvp_and_hessian_leave_grads_and_graph_alone() -> None:
    x = Tensor([0.5, 1.0], requires_grad=True)
    hvp(lambda t: (t**3).sum(), x, [1.0, 0.0])
    hessian(lambda t: (t**3).sum(), x)
    assert x.grad is None


def test_hvp_of_linear_or_constant_function_is_zero() -> None:
    np.testing.assert_array_equal(hvp(lambda t: (t * 2.0).sum(), [1.0, 2.0], [1.0, 1.0]).numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(hvp(lambda t: Tensor(3.0), [1.0, 2.0], [1.0, 1.0]).numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(hessian(lambda t: (t * 2.0).sum(), [1.0, 2.0]).numpy(), np.zeros((2, 2)))


def test_hessian_of_matrix_input_has_doubled_shape() -> None:
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])
    h = hessian(lambda t: (t * t * t).sum(), x).numpy()
    assert h.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(h.reshape(6, 6), np.diag(6 * x.reshape(-1)))


def test_hvp_create_graph_is_differentiable_in_x_and_v() -> None:
    x = Tensor([0.5, -1.0], requires_grad=True)
    v = Tensor([1.0, 2.0], requires_grad=True)
    hv = hvp(lambda t: (t**3).sum(), x, v, create_graph=True)  # 6 x ⊙ v
    np.testing.assert_allclose(hv.numpy(), 6 * x.data * v.data)
    gx, gv = grad(hv.sum(), [x, v])
    np.testing.assert_allclose(gx, 6 * v.data)
    np.testing.assert_allclose(gv, 6 * x.data)


def test_hvp_and_hessian_bad_arguments() -> None:
    f = lambda t: (t * t).sum()  # noqa: E731
    with pytest.raises(ValueError, match=r"hvp: v has shape \(3,\) but x has shape \(2,\)"):
        hvp(f, [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"hvp: f must return a scalar \(one-element\) Tensor, got shape \(2,\)"):
        hvp(lambda t: t * t, [1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"hessian: f must return a scalar"):
        hessian(lambda t: t * t, [1.0, 2.0])
    with pytest.raises(TypeError, match="hessian: f must return a Tensor, got float"):
        hessian(lambda t: 1.0, [1.0, 2.0])
    with pytest.raises(TypeError, match="hvp: x must hold floating numbers"):
        hvp(f, np.array(["a"]), [1.0])


class _CubeSavingOutputFirst(Function):
    # Saves its output before its input: a 0-d output comes back from numpy as a scalar, and must still be
    # recognised as the output wherever it was saved.
    def forward(ctx, x):
        out = x * x * x
        ctx.save_for_backward(out, x)
        return out

    def backward(ctx, grad_out):
        out, x = ctx.saved
        return (grad_out * 3 * out / x,)  # 3x² written through the output, so d²/dx² needs out's graph


def test_function_zero_d_output_saved_first_differentiates_twice() -> None:
    x = Tensor(2.0, requires_grad=True)
    (dx,) = grad(_CubeSavingOutputFirst.apply(x), x, create_graph=True)
    (d2x,) = grad(dx, x)
    assert float(dx) == 12.0
    # 6x = 12; an output taken for a constant would give d/dx (3c/x) = −3c/x² = −6.
    assert float(d2x) == 12.0

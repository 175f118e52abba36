"""The Tensor and the engine: construction, operators, backward semantics, grad modes and error messages."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import Function, Tensor, no_grad
from tinygrad_bp.testing import arrays, broadcastable_shapes, shapes


# ============================================================================ construction and attributes
@pytest.mark.parametrize(
    "data, dtype",
    [(1, np.float64), (2.5, np.float64), ([1, 2], np.float64), (np.arange(3), np.float64), ([True, False], np.float64),
     (np.ones(2, np.float32), np.float32), (np.ones(2), np.float64)],
)
def test_tensor_default_dtypes(data: object, dtype: type) -> None:
    assert Tensor(data).dtype == dtype


def test_tensor_keeps_float_arrays_without_copy() -> None:
    a = np.ones(3)
    assert Tensor(a).data is a


def test_tensor_explicit_dtype_converts() -> None:
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert Tensor([1.5, 2.5], dtype=np.int64).dtype == np.int64


def test_tensor_requires_grad_on_int_raises_type_error() -> None:
    with pytest.raises(TypeError, match="requires_grad=True needs a floating dtype, got int64"):
        Tensor([1, 2], dtype=np.int64, requires_grad=True)
    with pytest.raises(TypeError, match="floating dtype"):
        Tensor([1, 2], dtype=np.int64).requires_grad_()


def test_tensor_non_numeric_data_raises_type_error() -> None:
    with pytest.raises(TypeError, match="Tensor: cannot make a tensor from data of dtype"):
        Tensor(["a", "b"])


def test_tensor_attributes() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert (x.shape, x.ndim, x.size, x.dtype, len(x)) == ((2, 3), 2, 6, np.float64, 2)
    assert x.T.shape == (3, 2)
    assert x.grad is None and x.requires_grad and x.is_leaf
    assert x.numpy() is x.data
    assert np.asarray(x) is x.data
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert Tensor([[4.0]]).item() == 4.0
    assert float(Tensor(2.0)) == 2.0


def test_tensor_repr_is_readable() -> None:
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert repr(Tensor([1.0], dtype=np.float32)) == "Tensor([1.], dtype=float32)"
    x = Tensor([1.0], requires_grad=True)
    assert "grad_fn=Mul" in repr(x * 2)


def test_tensor_comparisons_are_elementwise_and_off_graph() -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    np.testing.assert_array_equal(m.numpy(), [False, True, True])
    assert not m.requires_grad
    np.testing.assert_array_equal((x == Tensor([1.0, 0.0, 3.0])).numpy(), [True, False, True])
    assert len({x, x}) == 1  # hashing is by identity


# ============================================================================ operators and promotion
@pytest.mark.parametrize(
    "op",
    [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a**b],
    ids=["add", "sub", "mul", "div", "pow"],
)
@pytest.mark.parametrize(
    "left, right",
    [("tensor", "array"), ("array", "tensor"), ("tensor", "scalar"), ("scalar", "tensor"), ("tensor", "tensor")],
)
def test_operators_accept_tensor_array_or_scalar_on_either_side(op: object, left: str, right: str) -> None:
    x = np.array([0.5, 1.5, 2.0])
    y = np.array([1.5, 0.5, 3.0])
    wrap = {"tensor": lambda a: Tensor(a, requires_grad=True), "array": lambda a: a, "scalar": lambda a: float(a[0])}
    a, b = wrap[left](x), wrap[right](y)
    out = op(a, b)  # type: ignore[operator]
    assert isinstance(out, Tensor) and out.requires_grad
    plain = lambda v: v.data if isinstance(v, Tensor) else v  # noqa: E731
    np.testing.assert_allclose(out.data, op(plain(a), plain(b)))  # type: ignore[operator]


@pytest.mark.parametrize(
    "a, b, dtype",
    [(np.float32, np.float32, np.float32), (np.float32, np.float64, np.float64), (np.float64, np.float32, np.float64)],
)
def test_binary_ops_follow_numpy_promotion(a: type, b: type, dtype: type) -> None:
    x, y = Tensor(np.ones(2, a)), Tensor(np.ones(2, b))
    for out in (x + y, x * y, x - y, x / y, x**y, x @ y):
        assert out.dtype == dtype


def test_requires_grad_propagates() -> None:
    x, c = Tensor([1.0], requires_grad=True), Tensor([2.0])
    assert (x * c).requires_grad and (c * x).requires_grad
    assert not (c * c).requires_grad and (c * c).is_leaf


# ============================================================================ backward
def test_backward_diamond_accumulates_both_paths() -> None:
    x = Tensor(3.0, requires_grad=True)
    a = x * 2.0
    b = x.exp()
    (a * b).backward()  # d/dx 2x e^x = 2 e^x + 2x e^x
    np.testing.assert_allclose(x.grad, 2 * np.exp(3.0) * (1 + 3.0))


def test_backward_same_tensor_twice_in_one_op() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0])


def test_backward_chain_of_100000_ops() -> None:
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert y.item() == 100_001.0
    assert x.grad == 1.0


def test_backward_accumulates_across_calls() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [7.0, 11.0])
    x.zero_grad()
    assert x.grad is None


def test_backward_explicit_grad_for_non_scalar() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [3.0, -3.0])


def test_backward_leaf_grads_do_not_alias() -> None:
    # Add hands its grad_out to both inputs; each leaf must still own its .grad.
    x, y = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    z = (x + y).retain_grad()
    z.backward(np.ones(3))
    x.grad += 1.0
    np.testing.assert_array_equal(y.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(z.grad, [1.0, 1.0, 1.0])


def test_backward_does_not_mutate_the_given_grad() -> None:
    g = np.array([1.0, 2.0])
    x = Tensor([1.0, 1.0], requires_grad=True)
    y = x * 1.0
    (y + y).backward(g)
    np.testing.assert_array_equal(g, [1.0, 2.0])


@given(broadcastable_shapes().flatmap(lambda s: st.tuples(arrays(s[0]), arrays(s[1]))))
def test_backward_reduces_broadcast_gradients_to_input_shapes(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = Tensor(xy[0], requires_grad=True), Tensor(xy[1], requires_grad=True)
    out = x * y + x
    out.backward(np.ones(out.shape))
    assert x.grad.shape == x.shape and y.grad.shape == y.shape
    n = out.size
    np.testing.assert_allclose(y.grad.sum(), (np.broadcast_to(xy[0], out.shape)).sum())
    np.testing.assert_allclose(x.grad.sum(), (np.broadcast_to(xy[1], out.shape)).sum() + n)


def test_intermediate_grads_are_dropped_unless_retained() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    kept = (h * 3.0).retain_grad()
    kept.sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(kept.grad, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_no_grad_records_nothing() -> None:
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2.0
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf


def test_no_grad_as_decorator_and_enable_grad_inside() -> None:
    x = Tensor([1.0], requires_grad=True)

    @no_grad()
    def f(t: Tensor) -> tuple[Tensor, Tensor]:
        with tg.enable_grad():
            inner = t * 2.0
        return t * 2.0, inner

    outer, inner = f(x)
    assert not outer.requires_grad and inner.requires_grad
    assert tg.is_grad_enabled()


def test_detach_cuts_graph_and_shares_data() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2.0).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # d counted as a constant


# ============================================================================ errors
def test_matmul_shape_mismatch_names_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"Matmul: .*\(input shapes \(2, 3\), \(4, 5\)\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_matmul_scalar_operand_raises() -> None:
    with pytest.raises(ValueError, match=r"matmul needs operands with at least 1 dimension"):
        Tensor(2.0) @ Tensor(np.ones(2))


def test_broadcast_mismatch_names_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"Add: .*\(input shapes \(2, 3\), \(4,\)\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"Mul: .*\(input shapes \(2,\), \(3,\)\)"):
        Tensor(np.ones(2)) * np.ones(3)


def test_backward_without_grad_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_backward_non_scalar_without_grad_raises() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"one-element output, got shape \(2,\)"):
        (x * 2.0).backward()


def test_backward_grad_of_wrong_shape_raises() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the output has shape \(2,\)"):
        (x * 2.0).backward(np.ones(3))


@pytest.mark.parametrize(
    "grads, error, message",
    [
        (lambda g: (g, g), RuntimeError, r"Bad.backward returned 2 gradient\(s\) for 1 input\(s\)"),
        (lambda g: (g[:1],), ValueError, r"Bad.backward returned a gradient of shape \(1,\) for input 0 of shape \(2,\)"),
        (lambda g: (np.ones(2, np.int64),), TypeError, r"Bad.backward returned a gradient of dtype int64 for input 0"),
    ],
    ids=["count", "shape", "dtype"],
)
def test_function_bad_backward_is_named(grads: object, error: type, message: str) -> None:
    class Bad(Function):
        def forward(ctx, x):
            return x * 2

        def backward(ctx, grad_out):
            return grads(grad_out)  # type: ignore[operator]

    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=message):
        Bad.apply(x).sum().backward()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: x.sum(axis=3), r"sum: axis 3 is out of range"),
        (lambda x: x.transpose(0, 0), r"transpose: axes \(0, 0\) are not a permutation"),
        (lambda x: x.reshape(5), r"Reshape: .*\(input shapes \(2, 3\)\)"),
        (lambda x: tg.stack([x, x[:1]]), r"stack: all tensors must have the same shape"),
        (lambda x: tg.quadratic_cost(x, np.ones(3)), r"quadratic_cost: a has shape \(2, 3\) but y has shape \(3,\)"),
        (lambda x: tg.linear(x, np.ones((2, 2))), r"linear: x of shape \(2, 3\) does not fit w of shape \(2, 2\)"),
    ],
    ids=["sum_axis", "transpose", "reshape", "stack", "cost", "linear"],
)
def test_bad_arguments_name_the_function_and_shapes(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(Tensor(np.ones((2, 3))))  # type: ignore[operator]


def test_float_index_array_raises_type_error() -> None:
    with pytest.raises(TypeError, match="getitem: index arrays must be integer or boolean"):
        Tensor(np.ones(3))[np.array([0.0, 1.0])]


# ============================================================================ Function mechanics
def test_function_sees_needs_input_grad() -> None:
    seen = []

    class Probe(Function):
        def forward(ctx, x, y):
            seen.append(ctx.needs_input_grad)
            return x * y

        def backward(ctx, grad_out):
            return grad_out, None

    Probe.apply(Tensor([1.0], requires_grad=True), Tensor([2.0]))
    with no_grad():
        Probe.apply(Tensor([1.0], requires_grad=True), Tensor([2.0]))
    assert seen == [(True, False), (False, False)]


def test_function_none_gradient_means_no_contribution() -> None:
    class FirstOnly(Function):
        def forward(ctx, x, y):
            return x + y

        def backward(ctx, grad_out):
            return grad_out, None

    x, y = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    FirstOnly.apply(x, y).sum().backward()
    assert y.grad is None and x.grad == 1.0


@given(arrays(shapes()))
def test_grad_function_leaves_dot_grad_untouched(a: np.ndarray) -> None:
    x = Tensor(a, requires_grad=True)
    (g,) = tg.grad((x * x).sum(), x)
    np.testing.assert_allclose(g, 2 * a)
    assert x.grad is None

"""The engine's second edition: saved values under create_graph, limits at zero, true seeds, thread-local
modes, in-place updates with version checks, and first-order backwards that return arrays."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import Function, Tensor, detect_anomaly, grad, no_grad
from tinygrad_bp import fused, ops


# ---- saved values under create_graph ------------------------------------------------------------
class MulSavedReversed(Function):
    """x·y, saving its inputs in the other order: legal, and the engine must still tell them apart."""

    def forward(ctx, x, y):
        ctx.save_for_backward(y, x)
        return x * y

    def backward(ctx, grad_out):
        y, x = ctx.saved
        return grad_out * y, grad_out * x


def _second_derivative(op: type[Function], x: Tensor, other: Tensor) -> np.ndarray:
    (dx,) = grad(op.apply(x, other).sum(), x, create_graph=True)
    if not dx.requires_grad:  # the recorded first derivative does not depend on x at all
        return np.zeros_like(x.data)
    (d2x,) = grad(dx.sum(), x, allow_unused=True)
    return np.zeros_like(x.data) if d2x is None else d2x


def test_graph_saved_aliased_inputs_map_to_their_own_tensors() -> None:
    x = Tensor([1.5, -2.0], requires_grad=True)
    c = x.detach()  # another Tensor over the very same array
    assert c.data is x.data
    # f = x·c with c constant: df/dx = c, d²f/dx² = 0 (the first edition said 1).
    np.testing.assert_array_equal(_second_derivative(MulSavedReversed, x, c), [0.0, 0.0])
    np.testing.assert_array_equal(_second_derivative(ops.Mul, x, c), [0.0, 0.0])


def test_graph_saved_same_tensor_twice_is_differentiated_twice() -> None:
    # The negative control of the test above: with the same Tensor twice, f = x², so d²f/dx² = 2.
    x = Tensor([1.5, -2.0], requires_grad=True)
    np.testing.assert_array_equal(_second_derivative(MulSavedReversed, x, x), [2.0, 2.0])


def test_graph_saved_aliased_inputs_forward_sees_distinct_arrays() -> None:
    seen = []

    class Spy(Function):
        def forward(ctx, x, y):
            seen.append((x, y))
            return x + y

        def backward(ctx, grad_out):
            return grad_out, grad_out

    x = Tensor([1.0], requires_grad=True)
    Spy.apply(x, x.detach())
    (a, b), = seen
    assert a is not b and np.shares_memory(a, b)


# ---- gradients at zero: the limit, never 0·∞ -------------------------------------------------------
def test_pow_gradient_at_zero_matches_pytorch_values() -> None:
    x = Tensor([0.0, 1.0, 2.0], requires_grad=True)
    y = Tensor(2.0, requires_grad=True)
    (x**y).sum().backward()
    np.testing.assert_allclose(y.grad, 2.772588722239781)  # 1·log 1 + 4·log 2; the 0·log 0 term is 0
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 4.0])
    z = Tensor([0.0, 4.0], requires_grad=True)
    (z**0).sum().backward()
    np.testing.assert_array_equal(z.grad, [0.0, 0.0])


@given(
    x=st.lists(st.sampled_from([0.0, 0.0, -0.0, 0.5, 1.0, 2.0]), min_size=1, max_size=5),
    k=st.sampled_from([0.0, 1.0, 2.0, 3.0, 0.5, 1.5]),
)
def test_backward_at_exact_zeros_is_finite_where_the_derivative_exists(x: list[float], k: float) -> None:
    xs = np.array(x)
    t = Tensor(xs, requires_grad=True)
    e = Tensor(np.full(xs.shape, k), requires_grad=True)
    (t**e).sum().backward()
    with np.errstate(divide="ignore", invalid="ignore"):
        d_dx = np.where(k == 0, 0.0, k * np.abs(xs) ** (k - 1))  # exists (finite) for k = 0 or k ≥ 1
        d_dk = np.where(xs == 0, 0.0, np.abs(xs) ** k * np.log(np.abs(xs)))
    if k == 0 or k >= 1:
        np.testing.assert_allclose(t.grad, d_dx, rtol=1e-12)
    np.testing.assert_allclose(e.grad, d_dk, rtol=1e-12, atol=1e-300)
    for op in (lambda a: a * a, lambda a: a * 0.0, lambda a: a.sigmoid(), lambda a: a.tanh(), lambda a: (a * 2).relu()):
        u = Tensor(xs, requires_grad=True)
        op(u).sum().backward()
        assert np.isfinite(u.grad).all()


# ---- .grad is the engine's own array -------------------------------------------------------------
def test_backward_leaf_grad_never_aliases_the_seed() -> None:
    seed = np.array([1.0, 1.0])
    x = Tensor([2.0, 3.0], requires_grad=True)
    x.backward(seed)
    assert x.grad is not seed and not np.shares_memory(x.grad, seed)
    y = Tensor([2.0, 3.0], requires_grad=True)
    (y + 0.0).backward(seed)  # Add hands its grad_out straight through
    assert not np.shares_memory(y.grad, seed)
    y.grad *= 0.5
    z = Tensor([2.0, 3.0], requires_grad=True)
    (z + 0.0).backward(seed)
    np.testing.assert_array_equal(z.grad, [1.0, 1.0])


def test_backward_retained_root_grad_never_aliases_the_seed() -> None:
    seed = np.array([1.0, 2.0])
    x = Tensor([2.0, 3.0], requires_grad=True)
    y = (x * 2.0).retain_grad()
    y.backward(seed)
    assert not np.shares_memory(y.grad, seed)


# ---- first-order backwards return arrays --------------------------------------------------------
def _every_op_graph() -> list[Tensor]:
    a = Tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]), requires_grad=True)
    b = Tensor(np.array([[1.0, 2.0, 0.5], [0.5, 1.5, 2.0]]), requires_grad=True)
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    return [
        a + b, a * b, b**a, a @ w, -a, a.exp(), b.log(), a.sigmoid(), a.tanh(), a.relu(), a.astype(np.float32),
        a.sum(axis=0), a.max(axis=1), a.log_softmax(), a.reshape(3, 2), a.T, a.broadcast_to((4, 2, 3)),
        a[[0, 0, 1]], a[0], tg.concatenate([a, b]), tg.linear(a, w, Tensor(np.zeros(2), requires_grad=True)),
        tg.quadratic_cost(a, b),
    ]


def test_backward_first_order_returns_arrays_for_every_primitive() -> None:
    for out in _every_op_graph():
        ctx = out._ctx
        grads = type(ctx).backward(ctx, np.ones(out.shape, out.dtype))
        for g in grads:
            assert g is None or type(g) is np.ndarray, f"{type(ctx).__name__} returned {type(g).__name__}"


def test_backward_returning_a_tensor_in_first_order_is_refused() -> None:
    class LeaksTensor(Function):
        def forward(ctx, x):
            return 2 * x

        def backward(ctx, grad_out):
            return (Tensor(2 * grad_out),)

    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="^LeaksTensor.backward returned a Tensor for input 0"):
        LeaksTensor.apply(x).sum().backward()


def test_ops_modules_keep_the_fused_names() -> None:
    assert ops.Linear is fused.Linear and ops.QuadraticCost is fused.QuadraticCost


# ---- grad mode and anomaly mode are per thread ---------------------------------------------------
def _interleave(inside: threading.Event, done: threading.Event, enter: object) -> threading.Thread:
    def hold() -> None:
        with enter:  # type: ignore[attr-defined]
            inside.set()
            done.wait(10)

    th = threading.Thread(target=hold)
    th.start()
    assert inside.wait(10)
    return th


def test_grad_mode_is_per_thread() -> None:
    inside, done = threading.Event(), threading.Event()
    th = _interleave(inside, done, no_grad())
    try:
        w = Tensor([1.0, 2.0], requires_grad=True)
        (w * w).sum().backward()  # another thread is inside no_grad(); this one still records
        np.testing.assert_array_equal(w.grad, [2.0, 4.0])
        assert tg.is_grad_enabled()
    finally:
        done.set()
        th.join()


def test_anomaly_mode_is_per_thread() -> None:
    inside, done = threading.Event(), threading.Event()
    th = _interleave(inside, done, detect_anomaly())
    try:
        assert not tg.is_anomaly_enabled()
        with np.errstate(invalid="ignore"):
            assert np.isnan(Tensor([-1.0]).log().data).all()  # no check here: the mode is the other thread's
    finally:
        done.set()
        th.join()


# ---- in-place updates ----------------------------------------------------------------------------
def test_inplace_on_leaf_that_requires_grad_is_refused_in_grad_mode() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    for update in (lambda: w.__isub__(0.1 * w.grad), lambda: w.__iadd__(1.0), lambda: w.__imul__(2.0),
                   lambda: w.__itruediv__(2.0), w.zero_, lambda: w.copy_([0.0, 0.0])):
        with pytest.raises(RuntimeError, match="in place while grad mode is on.*no_grad"):
            update()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_inplace_under_no_grad_updates_the_same_array() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    data = w.data
    (w * w).sum().backward()
    with no_grad():
        w -= 0.5 * w.grad
        assert w.data is data
        np.testing.assert_array_equal(w.data, [0.0, 0.0])
        w += 1.0
        w *= Tensor([2.0, 3.0])
        w /= 2.0
        np.testing.assert_array_equal(w.data, [1.0, 1.5])
        w.zero_()
        np.testing.assert_array_equal(w.data, [0.0, 0.0])
        w.copy_(np.array([4.0, 5.0]))
    assert w.data is data and w.requires_grad
    np.testing.assert_array_equal(w.data, [4.0, 5.0])


def test_inplace_on_a_non_leaf_records_out_of_place() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    before = y
    y += x  # y = 3x + x
    assert y is not before
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_inplace_bad_operand_names_the_op_and_shapes() -> None:
    t = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"^\+=: cannot update a tensor of shape \(2,\)"):
        t += np.ones(3)
    i = Tensor([1, 2], dtype=np.int64)
    with pytest.raises(TypeError, match=r"^/=: cannot update a tensor of shape \(2,\) \(int64\)"):
        i /= 2.0


def test_version_saved_input_modified_in_place_fails_backward() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    y = (w * x).sum()
    x += 1.0  # Mul saved x: w's gradient would silently be the new x
    with pytest.raises(RuntimeError, match=r"^Mul: a tensor of shape \(2,\) that this op saved .* in-place"):
        y.backward()


def test_version_saved_output_modified_in_place_fails_backward() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    a = w.sigmoid()  # Sigmoid saves its output
    s = a.sum()  # Sum saves no values, so only Sigmoid can notice
    with no_grad():
        a += 1.0
    with pytest.raises(RuntimeError, match="^Sigmoid: .*modified by an in-place operation"):
        s.backward()


def test_version_change_through_detach_fails_backward() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with no_grad():
        d = w.detach()
    d += 1.0  # the same array as w's
    with pytest.raises(RuntimeError, match="^Mul: "):
        y.backward()


def test_version_change_of_an_unsaved_input_is_fine() -> None:
    # The negative control: Add saves no values, so changing its input afterwards changes no gradient.
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    y = (w + x).sum()
    x += 1.0
    y.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_version_update_after_backward_then_new_step_is_fine() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        w.grad = None
        (w * w).sum().backward()
        with no_grad():
            w -= 0.1 * w.grad
    np.testing.assert_allclose(w.data, [0.64, 1.28])


# ---- retain_graph ----------------------------------------------------------------------------------
def test_backward_retain_graph_is_accepted_and_a_second_backward_accumulates() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=False)
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    (g,) = grad(y, x, retain_graph=True)
    np.testing.assert_array_equal(g, [2.0, 4.0])

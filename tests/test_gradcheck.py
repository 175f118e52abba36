"""gradcheck itself: it passes right gradients, fails wrong ones with a useful report, and keeps its contract."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import Function, GradcheckError, Tensor, gradcheck
from tinygrad_bp.testing import arrays, broadcastable_shapes, shapes


class ScaledMul(Function):
    """x * y whose backward scales y's gradient by ``wrong`` (1.0 is right): the negative control."""

    wrong = 1.0

    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    def backward(ctx, grad_out):
        x, y = ctx.saved
        return grad_out * y, grad_out * x * type(ctx).wrong


class WrongMul(ScaledMul):
    wrong = 1.1


def _point(seed: int = 0, shape: tuple[int, ...] = (2, 3)) -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    return (Tensor(rng.uniform(0.5, 2, shape), requires_grad=True), Tensor(rng.uniform(0.5, 2, shape), requires_grad=True))


# ============================================================================ passes right, fails wrong
@pytest.mark.parametrize("mode", ["full", "projection"])
@given(shapes().flatmap(lambda s: st.tuples(arrays(s), arrays(s))))
def test_gradcheck_accepts_a_right_backward(mode: str, xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = (Tensor(a, requires_grad=True) for a in xy)
    assert gradcheck(lambda a, b: ScaledMul.apply(a, b).tanh(), x, y, mode=mode)


@pytest.mark.parametrize("mode", ["full", "projection"])
@given(broadcastable_shapes().flatmap(lambda s: st.tuples(arrays(s[0]), arrays(s[1]))))
def test_gradcheck_accepts_broadcasting_graphs(mode: str, xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = (Tensor(a, requires_grad=True) for a in xy)
    assert gradcheck(lambda a, b: (a * b).tanh() + a.sigmoid(), x, y, mode=mode)


@pytest.mark.parametrize("mode", ["full", "projection"])
@given(arrays(shapes(min_dims=1), lo=0.5, hi=2.0))
def test_gradcheck_rejects_a_wrong_backward(mode: str, a: np.ndarray) -> None:
    x, y = Tensor(a, requires_grad=True), Tensor(a[::-1].copy(), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape"):
        gradcheck(lambda p, q: WrongMul.apply(p, q), x, y, mode=mode)


def test_gradcheck_report_names_input_element_values_and_errors() -> None:
    x, y = _point()
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: WrongMul.apply(a, b), x, y)
    msg = str(info.value)
    assert "input 0" not in msg  # x's gradient is right
    line = re.search(
        r"input 1 \(shape \(2, 3\)\) at element \((\d), (\d)\) \(6 of 6 elements out of tolerance\): "
        r"analytic (\S+), numeric (\S+), abs error (\S+), rel error (\S+)",
        msg,
    )
    assert line, msg
    i, j = int(line[1]), int(line[2])
    analytic, numeric, abs_err, rel_err = (float(line[k]) for k in range(3, 7))
    # The cotangent is random, so compare ratios, which do not depend on it.
    assert analytic / numeric == pytest.approx(1.1, rel=1e-6)
    assert abs_err == pytest.approx(abs(analytic - numeric), rel=1e-2)
    assert rel_err == pytest.approx(0.1, rel=1e-2)
    assert (i, j) in set(np.ndindex(2, 3))
    assert "atol=1e-05, rtol=0.001" in msg


def test_gradcheck_reports_every_failing_input() -> None:
    class BothWrong(Function):
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        def backward(ctx, grad_out):
            x, y = ctx.saved
            return grad_out * x, grad_out * y

    x, y = _point()
    with pytest.raises(GradcheckError, match=r"(?s)input 0 \(shape.*input 1 \(shape"):
        gradcheck(lambda a, b: BothWrong.apply(a, b), x, y)


def test_gradcheck_scalar_output_reports_the_gradient_itself() -> None:
    x = Tensor([2.0], requires_grad=True)
    y = Tensor([3.0], requires_grad=True)
    with pytest.raises(GradcheckError, match=r"analytic 2\.2\d*, numeric (2\.0|1\.9)\d*"):
        gradcheck(lambda a, b: WrongMul.apply(a, b).sum(), x, y)


def test_gradcheck_raise_exception_false_returns_false() -> None:
    x, y = _point()
    assert gradcheck(lambda a, b: WrongMul.apply(a, b), x, y, raise_exception=False) is False
    assert gradcheck(lambda a, b: ScaledMul.apply(a, b), x, y, raise_exception=False) is True


def test_gradcheck_error_is_an_assertion_error() -> None:
    assert issubclass(GradcheckError, AssertionError)


def test_gradcheck_catches_nan_gradients() -> None:
    class NanGrad(Function):
        def forward(ctx, x):
            return x * 2

        def backward(ctx, grad_out):
            return (grad_out * np.nan,)

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda a: NanGrad.apply(a), Tensor([1.0, 2.0], requires_grad=True))


# ============================================================================ contract
def test_gradcheck_checks_only_inputs_that_require_grad() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])  # a constant: WrongMul's wrong gradient for it is never asked for
    assert gradcheck(lambda a, b: WrongMul.apply(a, b), x, c)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2,\)\)"):
        gradcheck(lambda a, b: WrongMul.apply(a, b), c, x)


def test_gradcheck_passes_non_tensor_arguments_through() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert gradcheck(lambda t, axis: (t * t).sum(axis=axis), x, 1)


def test_gradcheck_unused_input_has_zero_gradient() -> None:
    x, y = _point()
    assert gradcheck(lambda a, b: a.exp(), x, y)


def test_gradcheck_output_independent_of_inputs_is_checked_as_zero() -> None:
    x = Tensor([1.0], requires_grad=True)
    assert gradcheck(lambda a: Tensor([5.0]), x)


def test_gradcheck_same_tensor_passed_twice_is_one_variable() -> None:
    x = Tensor([0.5, -1.5], requires_grad=True)
    assert gradcheck(lambda a, b: a * b.exp(), x, x)


def test_gradcheck_tuple_outputs() -> None:
    x, y = _point()
    assert gradcheck(lambda a, b: (a * b, (a - b).exp()), x, y)
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda a, b: (a.exp(), WrongMul.apply(a, b)), x, y)


def test_gradcheck_leaves_inputs_and_their_grads_untouched() -> None:
    x, y = _point()
    before = x.data.copy(), y.data.copy()
    x.grad = np.full(x.shape, 7.0)
    gradcheck(lambda a, b: a * b, x, y)
    np.testing.assert_array_equal(x.data, before[0])
    np.testing.assert_array_equal(y.data, before[1])
    np.testing.assert_array_equal(x.grad, 7.0)
    assert y.grad is None


def test_gradcheck_restores_inputs_when_fn_raises() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def f(a: Tensor) -> Tensor:
        calls.append(1)
        if len(calls) > 1:  # fails inside the finite differences, with an element perturbed
            raise ZeroDivisionError
        return a * a

    with pytest.raises(ZeroDivisionError):
        gradcheck(f, x)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_gradcheck_float32_inputs_checked_in_float64_with_warning() -> None:
    x = Tensor(np.array([0.3, -1.2, 2.0], np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match=r"gradcheck: input 0 \(float32\) checked on a float64 copy"):
        assert gradcheck(lambda a: (a * a).sigmoid(), x)
    assert x.dtype == np.float32 and x.grad is None


def test_gradcheck_warns_when_a_copied_input_goes_unused() -> None:
    # A float32 variable the function reads from elsewhere (a layer's parameter) cannot be perturbed
    # through a copy; without the warning the check would pass vacuously.
    w = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    with pytest.warns(UserWarning) as record:
        gradcheck(lambda a, _: tg.linear(a, w), x, w)
    messages = [str(r.message) for r in record]
    assert any("input 1 had to be checked on a float64 copy, which the function never used" in m for m in messages)


def test_gradcheck_float64_inputs_do_not_warn() -> None:
    x = Tensor([0.3, -1.2], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda a: a.exp(), x)


def test_gradcheck_non_leaf_input_is_checked_as_a_variable() -> None:
    x = Tensor([0.3, -1.2], requires_grad=True) * 2.0
    assert gradcheck(lambda a: a.tanh(), x)


def test_gradcheck_projection_mode_is_cheap_for_big_inputs() -> None:
    calls = []
    x = Tensor(np.random.default_rng(1).uniform(-1, 1, (50, 40)), requires_grad=True)
    w = Tensor(np.random.default_rng(2).uniform(-1, 1, (40, 3)), requires_grad=True)

    def f(a: Tensor, b: Tensor) -> Tensor:
        calls.append(1)
        return (a @ b).sigmoid()

    assert gradcheck(f, x, w, mode="projection")
    assert len(calls) == 1 + 2 * 2  # the graph once, then two evaluations per input


def test_gradcheck_bad_arguments() -> None:
    x = Tensor([1.0])
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        gradcheck(lambda a: a * 2, x)
    y = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="gradcheck: mode must be 'full' or 'projection'"):
        gradcheck(lambda a: a * 2, y, mode="fast")
    with pytest.raises(ValueError, match="gradcheck: eps must be positive"):
        gradcheck(lambda a: a * 2, y, eps=0.0)
    with pytest.raises(TypeError, match="gradcheck: the function must return a Tensor"):
        gradcheck(lambda a: a.numpy() * 2, y)


def test_gradcheck_is_exported() -> None:
    assert tg.gradcheck is gradcheck and tg.GradcheckError is GradcheckError

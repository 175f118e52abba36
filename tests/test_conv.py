"""conv2d, max_pool2d, avg_pool2d: values against plain-numpy loops, shapes, gradients of first and second order.

The negative controls: a convolution whose input gradient forgets to flip the kernel, and a max-pool
that sends the gradient to the wrong element of each window, must fail the same checks.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_bp import GradcheckError, Tensor, avg_pool2d, conv2d, gradcheck, gradgradcheck, max_pool2d
from tinygrad_bp.conv import Conv2d
from tinygrad_bp.testing import arrays, assert_layer_conforms


# ============================================================================ plain-numpy references
def np_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, padding: int, dilation: int) -> np.ndarray:
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride : i * stride + dilation * (kh - 1) + 1 : dilation, j * stride : j * stride + dilation * (kw - 1) + 1 : dilation]
            out[:, :, i, j] = np.einsum("ncij,fcij->nf", patch, w)
    return out if b is None else out + b[None, :, None, None]


def np_pool(x: np.ndarray, k: int, stride: int, padding: int, reduce: Any, fill: float) -> np.ndarray:
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = reduce(xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k], axis=(2, 3))
    return out


# ============================================================================ strategies
@st.composite
def conv_cases(draw: Any, bias: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict[str, int]]:
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    s = {"stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, 2)), "dilation": draw(st.integers(1, 2))}
    for size, k in ((h, kh), (w, kw)):
        assume(size + 2 * s["padding"] - s["dilation"] * (k - 1) - 1 >= 0)
    b = draw(arrays((f,))) if bias and draw(st.booleans()) else None
    return draw(arrays((n, c, h, w))), draw(arrays((f, c, kh, kw))), b, s


@st.composite
def pool_cases(draw: Any, distinct: bool = False) -> tuple[np.ndarray, dict[str, int]]:
    k = draw(st.integers(1, 3))
    s = {"kernel_size": k, "stride": draw(st.integers(1, 3)), "padding": draw(st.integers(0, k // 2))}
    h, w = draw(st.integers(max(1, k - 2 * s["padding"]), 6)), draw(st.integers(max(1, k - 2 * s["padding"]), 6))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w)
    assume(not distinct or np.prod(shape) <= 60)
    # Distinct values on a grid: a max-pool's finite differences are wrong within eps of a tie.
    return draw(arrays(shape, lo=-2.0, hi=2.0, distinct=distinct, margin=0.05)), s


def _conv(s: dict[str, int]) -> Any:
    return lambda x, w, *b: conv2d(x, w, *b, **s)


def _tensors(*xs: np.ndarray | None) -> list[Tensor]:
    return [Tensor(x, requires_grad=True) for x in xs if x is not None]


# ============================================================================ conv2d
@settings(max_examples=40)
@given(conv_cases())
def test_conv2d_forward_matches_numpy_loop(case: Any) -> None:
    x, w, b, s = case
    out = conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), **s)
    np.testing.assert_allclose(out.numpy(), np_conv2d(x, w, b, **s), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "size, k, stride, padding, dilation, expect",
    [(28, 5, 1, 0, 1, 24), (28, 5, 2, 2, 1, 14), (7, 3, 2, 1, 1, 4), (7, 3, 1, 0, 2, 3), (5, 1, 3, 0, 1, 2), (4, 3, 1, 1, 1, 4), (3, 3, 1, 0, 1, 1)],
)
def test_conv2d_output_shape_follows_the_formula(size: int, k: int, stride: int, padding: int, dilation: int, expect: int) -> None:
    out = conv2d(Tensor(np.zeros((2, 3, size, size + 1))), Tensor(np.zeros((4, 3, k, k))), stride=stride, padding=padding, dilation=dilation)
    expect_w = (size + 1 + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    assert out.shape == (2, 4, expect, expect_w)


def test_conv2d_accepts_pairs_for_each_setting() -> None:
    x, w = np.ones((1, 1, 6, 7)), np.ones((1, 1, 2, 3))
    out = conv2d(Tensor(x), Tensor(w), stride=(1, 2), padding=(0, 1), dilation=(2, 1))
    assert out.shape == (1, 1, 4, 4)


@given(conv_cases())
def test_conv2d_gradient_matches_finite_differences(case: Any) -> None:
    x, w, b, s = case
    assert gradcheck(_conv(s), *_tensors(x, w, b))


@settings(max_examples=25)
@given(conv_cases())
def test_conv2d_second_derivative_matches_finite_differences(case: Any) -> None:
    x, w, b, s = case
    assert gradgradcheck(_conv(s), *_tensors(x, w, b))


def test_conv2d_conforms_to_first_and_second_order() -> None:
    kw = {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}
    assert_layer_conforms(Conv2d, input_shapes=[(2, 2, 5, 6), (3, 2, 2, 2), (3,)], kwargs=kw, order=2)


def test_conv2d_float32_stays_float32() -> None:
    x = Tensor(np.ones((1, 2, 4, 4), np.float32), requires_grad=True)
    w = Tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True)
    b = Tensor(np.zeros(3, np.float32), requires_grad=True)
    out = conv2d(x, w, b, padding=1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


class _ConvDirect(Conv2d):
    """A stride-1 convolution whose input gradient is the textbook full correlation of δ with the flipped kernel."""

    flip = True

    def backward(ctx, grad_out):
        x, w, _, (_, padding, _) = ctx.saved
        k = w.shape[2]
        kernel = w[:, :, ::-1, ::-1] if type(ctx).flip else w
        gx = np_conv2d(grad_out, np.ascontiguousarray(kernel.transpose(1, 0, 2, 3)), None, 1, k - 1 - padding[0], 1)
        return (gx,) + Conv2d.backward(ctx, grad_out)[1:]


class _ConvForgetsFlip(_ConvDirect):
    flip = False  # correlates δ with the kernel as it is


@pytest.mark.parametrize("op, right", [(_ConvDirect, True), (_ConvForgetsFlip, False)], ids=["flipped", "forgets_flip"])
def test_conv2d_gradient_check_rejects_a_kernel_left_unflipped(op: type[Conv2d], right: bool) -> None:
    rng = np.random.default_rng(3)
    x, w = _tensors(rng.uniform(-2, 2, (2, 2, 5, 5)), rng.uniform(-2, 2, (3, 2, 3, 3)))
    fn = lambda x, w: op.apply(x, w, stride=(1, 1), padding=(1, 1), dilation=(1, 1))  # noqa: E731
    if right:
        assert gradcheck(fn, x, w)
    else:
        with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 2, 5, 5\)\)"):
            gradcheck(fn, x, w)


@pytest.mark.parametrize(
    "x, w, kw, error, match",
    [
        ((1, 1, 4), (1, 1, 2, 2), {}, ValueError, r"conv2d: expected an input of shape \(N, C, H, W\), got shape \(1, 1, 4\)"),
        ((1, 2, 4, 4), (1, 3, 2, 2), {}, ValueError, r"conv2d: input of shape \(1, 2, 4, 4\) has 2 channels"),
        ((1, 1, 4, 4), (1, 1, 2), {}, ValueError, r"conv2d: expected a weight of shape \(F, C, kh, kw\)"),
        ((1, 1, 2, 2), (1, 1, 3, 3), {}, ValueError, r"conv2d: the kernel .* is larger than the input's padded height 2"),
        ((1, 1, 4, 4), (1, 1, 2, 2), {"stride": 0}, ValueError, r"conv2d: stride must be at least 1"),
        ((1, 1, 4, 4), (1, 1, 2, 2), {"padding": 1.5}, TypeError, r"conv2d: padding must be an int or a pair"),
        ((1, 1, 4, 4), (1, 1, 2, 2), {"groups": 2}, ValueError, r"conv2d: only groups=1"),
        ((1, 1, 4, 4), (2, 1, 2, 2), {"b": np.zeros(3)}, ValueError, r"conv2d: bias of shape \(3,\) does not fit"),
    ],
)
def test_conv2d_bad_arguments_name_the_op_and_shapes(x: Any, w: Any, kw: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        conv2d(Tensor(np.zeros(x)), Tensor(np.zeros(w)), **kw)


# ============================================================================ pooling
@settings(max_examples=40)
@given(pool_cases())
def test_max_pool2d_forward_matches_numpy_loop(case: Any) -> None:
    x, s = case
    ref = np_pool(x, s["kernel_size"], s["stride"], s["padding"], np.max, -np.inf)
    np.testing.assert_array_equal(max_pool2d(Tensor(x), **s).numpy(), ref)


@settings(max_examples=40)
@given(pool_cases())
def test_avg_pool2d_forward_matches_numpy_loop(case: Any) -> None:
    x, s = case
    ref = np_pool(x, s["kernel_size"], s["stride"], s["padding"], np.mean, 0.0)
    np.testing.assert_allclose(avg_pool2d(Tensor(x), **s).numpy(), ref, rtol=1e-12, atol=1e-12)


def test_pool_stride_defaults_to_the_kernel() -> None:
    x = Tensor(np.zeros((1, 1, 7, 9)))
    assert max_pool2d(x, 2).shape == avg_pool2d(x, 2).shape == (1, 1, 3, 4)
    assert max_pool2d(x, (3, 2), stride=1, padding=(1, 0)).shape == (1, 1, 7, 8)


@given(pool_cases(distinct=True))
def test_max_pool2d_gradient_matches_finite_differences(case: Any) -> None:
    x, s = case
    assert gradcheck(lambda t: max_pool2d(t, **s), Tensor(x, requires_grad=True))
    assert gradgradcheck(lambda t: max_pool2d(t, **s), Tensor(x, requires_grad=True))


@given(pool_cases())
def test_avg_pool2d_gradient_matches_finite_differences(case: Any) -> None:
    x, s = case
    assert gradcheck(lambda t: avg_pool2d(t, **s), Tensor(x, requires_grad=True))
    assert gradgradcheck(lambda t: avg_pool2d(t, **s), Tensor(x, requires_grad=True))


def test_max_pool2d_ties_share_the_gradient() -> None:
    x = Tensor(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_allclose(x.grad[0, 0], [[1 / 3, 1 / 3], [0.0, 1 / 3]])


def _wrong_max_pool(x: Tensor, **s: Any) -> Tensor:
    # Picks the window's minimum position for the gradient: the values are max-pool's, the slopes are not.
    out = max_pool2d(x, **s)
    return out.detach() + (-max_pool2d(-x, **s)) - (-max_pool2d(-x, **s)).detach()


def test_max_pool2d_gradient_check_rejects_the_wrong_element() -> None:
    x = Tensor(np.random.default_rng(0).permutation(16).reshape(1, 1, 4, 4) / 4.0, requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: _wrong_max_pool(t, kernel_size=2), x)


@pytest.mark.parametrize("op", [max_pool2d, avg_pool2d])
def test_pool_bad_arguments_name_the_op(op: Any) -> None:
    name = op.__name__
    with pytest.raises(ValueError, match=rf"{name}: expected an input of shape \(N, C, H, W\)"):
        op(Tensor(np.zeros((4, 4))), 2)
    with pytest.raises(ValueError, match=rf"{name}: padding \(2, 2\) must be at most half"):
        op(Tensor(np.zeros((1, 1, 4, 4))), 2, padding=2)
    with pytest.raises(ValueError, match=rf"{name}: the kernel"):
        op(Tensor(np.zeros((1, 1, 2, 2))), 3)

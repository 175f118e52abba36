"""nets' image and output layers (Conv2d, MaxPool2d, AvgPool2d, Flatten, Dropout, Softmax, LogLikelihoodCost).

Each layer goes through ``assert_layer_conforms`` (second order where it is twice differentiable)
with a negative control: the same layer with a deliberately wrong backward must fail.  Values are
checked against plain-numpy loops; dropout's masks by their statistics and eval-mode identity.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_bp import Function, Tensor, gradcheck
from tinygrad_bp.conv import Conv2d as ConvOp
from tinygrad_bp.testing import ConformanceError, arrays, assert_layer_conforms

from nets import Linear, Sequential
from nets.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from nets.dropout import Dropout, dropout
from nets.softmax import LogLikelihoodCost, Softmax


def np_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int) -> np.ndarray:
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, wd = x.shape
    f, c, kh, kw = w.shape
    out = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            for k in range(f):
                out[:, k, i, j] = (x[:, :, i : i + kh, j : j + kw] * w[k]).sum(axis=(1, 2, 3)) + b[k]
    return out


def np_pool(x: np.ndarray, k: int, reduce: Any) -> np.ndarray:
    n, c, h, w = x.shape
    out = np.zeros((n, c, h // k, w // k))
    for i in range(h // k):
        for j in range(w // k):
            out[:, :, i, j] = reduce(x[:, :, i * k : (i + 1) * k, j * k : (j + 1) * k], axis=(2, 3))
    return out


# ---- values against numpy ---------------------------------------------------------------------------------------
@given(x=arrays((2, 2, 5, 5)), seed=st.integers(0, 100), padding=st.integers(0, 1))
def test_conv2d_layer_matches_numpy_loops(x: np.ndarray, seed: int, padding: int) -> None:
    layer = Conv2d(2, 3, 3, padding=padding, rng=seed)
    layer.b.data[:] = np.random.default_rng(seed).standard_normal(3)
    out = layer(Tensor(x)).numpy()
    np.testing.assert_allclose(out, np_conv(x, layer.w.data, layer.b.data, padding), rtol=1e-10, atol=1e-12)


@given(x=arrays((2, 3, 4, 6)))
def test_pool_layers_match_numpy_loops(x: np.ndarray) -> None:
    np.testing.assert_allclose(MaxPool2d(2)(Tensor(x)).numpy(), np_pool(x, 2, np.max))
    np.testing.assert_allclose(AvgPool2d(2)(Tensor(x)).numpy(), np_pool(x, 2, np.mean), atol=1e-12)


def test_flatten_matches_numpy_reshape() -> None:
    x = np.arange(48.0).reshape(2, 3, 2, 4)
    np.testing.assert_array_equal(Flatten()(Tensor(x)).numpy(), x.reshape(2, 24))


def test_conv2d_layer_init_scale_and_errors() -> None:
    w = Conv2d(8, 64, 5, rng=0).w.data
    assert abs(w.std() * np.sqrt(8 * 25) - 1.0) < 0.05
    with pytest.raises(ValueError, match="Conv2d: in_channels"):
        Conv2d(0, 2, 3)
    with pytest.raises(ValueError, match="conv2d: input of shape"):
        Conv2d(3, 2, 3)(Tensor(np.zeros((1, 1, 5, 5))))


# ---- conformance, with a negative control each ---------------------------------------------------------------------
class _ConvBiasTwice(ConvOp):
    """Conv2d whose bias gradient is doubled: the negative control."""

    def backward(ctx, grad_out):
        gx, gw, gb = super().backward(grad_out)
        return gx, gw, 2 * gb


class _BrokenConv(Conv2d):
    def forward(self, x: Tensor) -> Tensor:
        return _ConvBiasTwice.apply(x, self.w, self.b, stride=(1, 1), padding=(1, 1), dilation=(1, 1))


def test_conv2d_layer_conforms_to_second_order() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, (2, 2, 4, 4))
    assert_layer_conforms(Conv2d(2, 2, 3, padding=1, rng=1), [x], order=2)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(_BrokenConv(2, 2, 3, padding=1, rng=1), [x])


class _PoolSpread(Function):
    """2×2 max-pool whose backward spreads grad_out evenly over the window (avg-pool's gradient): wrong."""

    def forward(ctx, x):
        ctx.saved = x.shape
        return np_pool(x, 2, np.max)

    def backward(ctx, grad_out):
        return (np.repeat(np.repeat(grad_out, 2, axis=2), 2, axis=3) / 4.0,)


class _PoolNoMean(Function):
    """2×2 avg-pool whose backward forgets to divide by the window size: wrong."""

    def forward(ctx, x):
        return np_pool(x, 2, np.mean)

    def backward(ctx, grad_out):
        return (np.repeat(np.repeat(grad_out, 2, axis=2), 2, axis=3),)


def test_max_pool_layer_conforms_and_negative_control() -> None:
    x = np.random.default_rng(1).permutation(64).reshape(1, 4, 4, 4) / 10.0  # distinct values: no ties
    assert_layer_conforms(MaxPool2d(2), [x], eps=1e-4)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(_PoolSpread, [x], eps=1e-4)


def test_avg_pool_layer_conforms_to_second_order_and_negative_control() -> None:
    x = np.random.default_rng(2).uniform(-1, 1, (2, 2, 4, 4))
    assert_layer_conforms(AvgPool2d(2), [x], order=2)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(_PoolNoMean, [x])


class _FlattenTransposed(Function):
    """Flatten whose backward reshapes the gradient in the wrong (column-major) order."""

    def forward(ctx, x):
        ctx.saved = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(ctx, grad_out):
        return (grad_out.reshape(ctx.saved, order="F"),)


def test_flatten_conforms_to_second_order_and_negative_control() -> None:
    x = np.random.default_rng(3).uniform(-1, 1, (2, 2, 3))
    assert_layer_conforms(Sequential(Flatten(), Linear(6, 2, rng=0)), [x], order=2)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(_FlattenTransposed, [x])


# ---- dropout ---------------------------------------------------------------------------------------------------
class _DropoutUnscaled(Function):
    """Dropout (mask of seed 0) whose backward forgets the 1/(1 − p) scaling."""

    def forward(ctx, x, p):
        keep = np.random.default_rng(0).random(x.shape) >= p
        ctx.saved = keep
        return x * keep / (1 - p)

    def backward(ctx, grad_out):
        return (grad_out * ctx.saved, None)


def test_dropout_conforms_to_second_order_and_negative_control() -> None:
    x = np.random.default_rng(4).uniform(-1, 1, (4, 5))
    assert_layer_conforms(lambda t: dropout(t, 0.3, rng=0), [x], order=2)  # one seed: the same mask every call
    with pytest.raises(ConformanceError):
        assert_layer_conforms(_DropoutUnscaled, [x, 0.3])


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_mask_statistics(p: float) -> None:
    out = Dropout(p, rng=0)(Tensor(np.ones((200, 500)))).numpy()
    kept = out != 0
    assert abs(kept.mean() - (1 - p)) < 0.005  # 100,000 Bernoulli draws: 4 standard deviations is < 0.006
    np.testing.assert_allclose(out[kept], 1.0 / (1 - p))
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the mean


def test_dropout_eval_is_identity_and_seed_is_deterministic() -> None:
    x = Tensor(np.random.default_rng(5).standard_normal((3, 4)))
    layer = Dropout(0.5, rng=7)
    assert layer.eval()(x) is x
    a = Dropout(0.5, rng=7)(x).numpy()
    b = Dropout(0.5, rng=7)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert layer.train()(x).numpy().tolist() == a.tolist()


def test_dropout_rejects_bad_p() -> None:
    with pytest.raises(ValueError, match="Dropout: p must be a probability"):
        Dropout(1.0)


# ---- softmax and the log-likelihood ---------------------------------------------------------------------------------
class _SoftmaxDiagonal(Function):
    """Softmax whose backward keeps only the Jacobian's diagonal s(1 − s): a classic bug."""

    def forward(ctx, z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        s = e / e.sum(axis=-1, keepdims=True)
        ctx.saved = s
        return s

    def backward(ctx, grad_out):
        s = ctx.saved
        return (grad_out * s * (1 - s),)


def test_softmax_conforms_to_second_order_and_negative_control() -> None:
    z = np.random.default_rng(6).uniform(-2, 2, (3, 4))
    assert_layer_conforms(Softmax(), [z], order=2)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(_SoftmaxDiagonal, [z])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@settings(max_examples=30)
@given(z=arrays((3, 4)), labels=st.lists(st.integers(0, 3), min_size=3, max_size=3))
def test_loglik_gradient_is_softmax_minus_y(z: np.ndarray, labels: list[int]) -> None:
    y = np.eye(4)[labels]
    t = Tensor(z, requires_grad=True)
    LogLikelihoodCost.fn_logits(t, np.array(labels)).backward()
    np.testing.assert_allclose(t.grad, (_softmax(z) - y) / 3, atol=1e-12)
    gradcheck(lambda v: LogLikelihoodCost.fn_logits(v, y), Tensor(z, requires_grad=True))  # and against finite differences


class _LoglikNoMean(Function):
    """The log-likelihood of logits (labels fixed) whose backward forgets the 1/m of the mean."""

    def forward(ctx, z):
        s = _softmax(z)
        ctx.saved = s
        return np.asarray(-np.log(s[np.arange(len(z)), [0, 1, 2]]).mean())

    def backward(ctx, grad_out):
        return (grad_out * (ctx.saved - np.eye(4)[[0, 1, 2]]),)


def test_loglik_conforms_to_second_order_and_negative_control() -> None:
    z = np.random.default_rng(7).uniform(-2, 2, (3, 4))
    assert_layer_conforms(lambda t: LogLikelihoodCost.fn_logits(t, np.array([0, 1, 2])), [z], order=2)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(_LoglikNoMean, [z])


def test_loglik_and_softmax_overflow_free_at_1000() -> None:
    z = Tensor(np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]]), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is the right answer
        cost = LogLikelihoodCost.fn_logits(z, np.array([1, 2]))
        cost.backward()
        probs = Softmax()(Tensor(z.data)).numpy()
    assert cost.item() == pytest.approx(1000.0)  # row 1 costs 2000, row 2 costs 0
    np.testing.assert_allclose(z.grad, (_softmax(z.data) - np.eye(3)[[1, 2]]) / 2)
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1.0)


def test_loglik_rejects_bad_targets() -> None:
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        LogLikelihoodCost.fn_logits(Tensor(np.zeros((2, 3))), np.array([0, 3]))
    with pytest.raises(ValueError, match="z has shape"):
        LogLikelihoodCost.fn_logits(Tensor(np.zeros((2, 3))), np.zeros((2, 4)))

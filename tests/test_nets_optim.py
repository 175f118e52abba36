"""SGD: the plain step, Nielsen's L2 (biases not decayed), L1, momentum, and the bookkeeping."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets import SGD, Linear
from tinygrad_bp import Tensor
from tinygrad_bp.testing import arrays

lr_st = st.sampled_from([0.01, 0.5, 1.0, 3.0])


def _params(w: np.ndarray, b: np.ndarray, gw: np.ndarray, gb: np.ndarray) -> tuple[Tensor, Tensor]:
    wt, bt = Tensor(w.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)
    wt.grad, bt.grad = gw.copy(), gb.copy()
    return wt, bt


wb_st = st.tuples(st.integers(1, 4), st.integers(1, 4)).flatmap(
    lambda s: st.tuples(arrays(s), arrays((s[1],)), arrays(s), arrays((s[1],)))
)


@given(wb_st, lr_st)
def test_sgd_plain_step_is_w_minus_lr_grad(wb: tuple, lr: float) -> None:
    w, b, gw, gb = wb
    wt, bt = _params(w, b, gw, gb)
    SGD([wt, bt], lr=lr).step()
    np.testing.assert_allclose(wt.data, w - lr * gw, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(bt.data, b - lr * gb, rtol=1e-15, atol=1e-15)


@given(wb_st, lr_st, st.sampled_from([0.1, 5.0]), st.integers(1, 1000), st.integers(1, 16))
def test_sgd_weight_decay_is_nielsens_l2_and_leaves_biases(wb: tuple, eta: float, lmbda: float, n: int, m: int) -> None:
    w, b, sum_gw, sum_gb = wb  # read the drawn gradients as sums over a mini-batch of m examples
    wt, bt = _params(w, b, sum_gw / m, sum_gb / m)
    SGD([wt, bt], lr=eta, weight_decay=lmbda / n).step()
    # network2: w ← (1 − ηλ/n)·w − (η/m)·Σ∇w,  b ← b − (η/m)·Σ∇b
    np.testing.assert_allclose(wt.data, (1 - eta * (lmbda / n)) * w - (eta / m) * sum_gw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bt.data, b - (eta / m) * sum_gb, rtol=1e-12, atol=1e-12)


def test_sgd_l2_check_catches_decayed_biases() -> None:
    # Negative control: decaying every parameter (biases too) breaks the bias half of the check above.
    w, b = np.ones((2, 2)), np.ones(2)
    wt, bt = _params(w, b, np.zeros((2, 2)), np.zeros(2))
    SGD([wt, bt], lr=1.0, weight_decay=0.5, decay_mask=lambda p: True).step()
    np.testing.assert_allclose(wt.data, 0.5 * w)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(bt.data, b)


@given(wb_st, lr_st, st.sampled_from([0.01, 0.3]))
def test_sgd_l1_is_nielsens_update(wb: tuple, eta: float, kappa: float) -> None:
    w, b, gw, gb = wb
    wt, bt = _params(w, b, gw, gb)
    SGD([wt, bt], lr=eta, l1=kappa).step()
    # w ← w − (ηλ/n)·sgn(w) − η·∂C₀/∂w, with κ = λ/n
    np.testing.assert_allclose(wt.data, w - eta * kappa * np.sign(w) - eta * gw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bt.data, b - eta * gb, rtol=1e-12, atol=1e-12)


@given(wb_st, lr_st, st.sampled_from([0.5, 0.9]), st.sampled_from([0.0, 0.2]))
def test_sgd_momentum_is_nielsens_velocity_update(wb: tuple, eta: float, mu: float, wd: float) -> None:
    w, b, gw, gb = wb
    wt, bt = _params(w, b, gw, gb)
    opt = SGD([wt, bt], lr=eta, momentum=mu, weight_decay=wd)
    v_w, v_b, w_hand, b_hand = np.zeros_like(w), np.zeros_like(b), w.copy(), b.copy()
    for step in range(3):
        g_w, g_b = gw * (step + 1), gb * (step + 1)
        wt.grad, bt.grad = g_w.copy(), g_b.copy()
        opt.step()
        v_w = mu * v_w - eta * (g_w + wd * w_hand)  # v ← μv − η∇C,  w ← w + v
        v_b = mu * v_b - eta * g_b
        w_hand, b_hand = w_hand + v_w, b_hand + v_b
    np.testing.assert_allclose(wt.data, w_hand, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bt.data, b_hand, rtol=1e-12, atol=1e-12)


def test_sgd_updates_in_place_keeps_dtype_and_skips_missing_grads() -> None:
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    w_arr, b_arr = layer.w.data, layer.b.data
    b_before = b_arr.copy()
    layer.w.grad = np.ones((3, 2), dtype=np.float32)
    opt = SGD(layer.parameters(), lr=0.5, weight_decay=0.1)
    opt.step()
    assert layer.w.data is w_arr and layer.w.data.dtype == np.float32
    np.testing.assert_array_equal(layer.b.data, b_before)  # no gradient, no change
    opt.zero_grad()
    assert layer.w.grad is None and layer.b.grad is None


def test_sgd_lr_can_change_between_steps() -> None:
    x = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([x], lr=0.5)
    for lr in (0.5, 0.25):
        opt.lr = lr
        x.grad = np.array([1.0])
        opt.step()
    assert x.data[0] == pytest.approx(0.25)


def test_sgd_decay_mask_forms() -> None:
    w, b = Tensor(np.ones((2, 2)), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    assert SGD([w, b], lr=0.1).decay == [True, False]
    assert SGD([w, b], lr=0.1, decay_mask=[False, True]).decay == [False, True]
    assert SGD([w, b], lr=0.1, decay_mask=lambda p: p.ndim == 1).decay == [False, True]
    with pytest.raises(ValueError, match="SGD: decay_mask has 1 flags for 2 parameters"):
        SGD([w, b], lr=0.1, decay_mask=[True])


def test_sgd_rejects_bad_arguments() -> None:
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"SGD: lr must be in \[0.0, inf\)"):
        SGD([w], lr=-1.0)
    with pytest.raises(ValueError, match=r"SGD: momentum must be in \[0.0, 1.0\)"):
        SGD([w], lr=0.1, momentum=1.0)
    with pytest.raises(TypeError, match="SGD: lr must be a number, got str"):
        SGD([w], lr="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SGD: parameter 0 is a ndarray, not a Tensor"):
        SGD([np.ones(2)], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="SGD: a parameter appears more than once"):
        SGD([w, w], lr=0.1)
    assert repr(SGD([w], lr=0.1)).startswith("SGD(1 parameters, lr=0.1")

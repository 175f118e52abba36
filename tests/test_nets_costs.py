"""The costs: values, stability at saturation, and the hand-derived δᴸ against autodiff's ∂C/∂zᴸ."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets import COSTS, CrossEntropyCost, QuadraticCost, get_cost
from tinygrad_bp import Function, GradcheckError, Tensor, gradcheck

shape_st = st.tuples(st.integers(1, 16), st.integers(1, 12))


@st.composite
def batches(draw: object, soft: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return z (m, k) in [-4, 4] and targets y (m, k): one-hot or soft."""
    m, k = draw(shape_st)  # type: ignore[operator]
    seed = draw(st.integers(0, 2**32 - 1))  # type: ignore[operator]
    use_soft = draw(st.booleans()) if soft is None else soft  # type: ignore[operator]
    rng = np.random.default_rng(seed)
    z = rng.uniform(-4, 4, (m, k))
    y = rng.uniform(0, 1, (m, k)) if use_soft else np.eye(k)[rng.integers(0, k, m)]
    return z, y


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# ============================================================================ values
@given(batches())
def test_quadratic_cost_is_half_squared_norm_averaged_over_rows(zy: tuple[np.ndarray, np.ndarray]) -> None:
    z, y = zy
    a = _sigmoid(z)
    want = np.mean(0.5 * np.sum((a - y) ** 2, axis=1))
    assert QuadraticCost.fn(Tensor(a), Tensor(y)).item() == pytest.approx(want, rel=1e-13)
    assert QuadraticCost.fn(Tensor(a), y).item() == pytest.approx(want, rel=1e-13)  # a plain array target


@given(batches())
def test_cross_entropy_cost_is_network2s_averaged_over_rows(zy: tuple[np.ndarray, np.ndarray]) -> None:
    z, y = zy
    a = _sigmoid(z)
    per_example = [np.sum(np.nan_to_num(-yy * np.log(aa) - (1 - yy) * np.log(1 - aa))) for aa, yy in zip(a, y)]
    assert CrossEntropyCost.fn(Tensor(a), Tensor(y)).item() == pytest.approx(np.mean(per_example), rel=1e-12)


def test_cross_entropy_is_finite_at_saturation_when_the_target_agrees() -> None:
    y = np.array([[0.0, 1.0, 1.0]])
    a = Tensor(np.array([[0.0, 1.0, 0.5]]), requires_grad=True)  # exactly saturated outputs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log(0), no 0 * inf
        c = CrossEntropyCost.fn(a, y)
        c.backward()
    assert c.item() == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_array_equal(a.grad, [[1.0, -1.0, -2.0]])  # ∂C/∂a = (1 − y)/(1 − a) − y/a, terms with y = 0 or 1 only
    # Through a saturated sigmoid (σ(40) rounds to exactly 1.0): still δᴸ = a − y.
    z = Tensor(np.array([[-800.0, 40.0, 0.0]]), requires_grad=True)
    s = z.sigmoid()
    assert s.data[0, 1] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CrossEntropyCost.fn(s, y).backward()
    np.testing.assert_allclose(z.grad, CrossEntropyCost.delta(z.data, s.data, y), atol=1e-15)


# ============================================================================ delta == autodiff
def _autodiff_dc_dz(cost: type, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    zt = Tensor(z, requires_grad=True)
    cost.fn(zt.sigmoid(), Tensor(y)).backward()
    return zt.grad


@pytest.mark.parametrize("cost", [QuadraticCost, CrossEntropyCost], ids=lambda c: c.name)
@given(zy=batches())
def test_cost_delta_equals_autodiff_dc_dz(cost: type, zy: tuple[np.ndarray, np.ndarray]) -> None:
    z, y = zy
    m = z.shape[0]
    # The cost averages over the m rows, so ∂C/∂zᴸ is each row's own δᴸ divided by m.
    np.testing.assert_allclose(
        _autodiff_dc_dz(cost, z, y) * m, cost.delta(z, _sigmoid(z), y), rtol=1e-10, atol=1e-12
    )
    # Nielsen's column vectors, one example: the same δᴸ.
    col = z[:1].T
    np.testing.assert_allclose(cost.delta(col, _sigmoid(col), y[:1].T).T, cost.delta(z[:1], _sigmoid(z[:1]), y[:1]))


@pytest.mark.parametrize("cost, wrong", [(QuadraticCost, CrossEntropyCost), (CrossEntropyCost, QuadraticCost)], ids=["quadratic", "cross-entropy"])
def test_cost_delta_check_catches_the_other_costs_delta(cost: type, wrong: type) -> None:
    rng = np.random.default_rng(0)
    z, y = rng.uniform(-4, 4, (5, 3)), np.eye(3)[[0, 1, 2, 0, 1]]
    # Sanity: the cost's own delta passes this very comparison, so the failure below is the wrong delta's.
    np.testing.assert_allclose(_autodiff_dc_dz(cost, z, y) * 5, cost.delta(z, _sigmoid(z), y), rtol=1e-10, atol=1e-12)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(_autodiff_dc_dz(cost, z, y) * 5, wrong.delta(z, _sigmoid(z), y), rtol=1e-10, atol=1e-12)


# ============================================================================ gradcheck of fn
@pytest.mark.parametrize("cost", [QuadraticCost, CrossEntropyCost], ids=lambda c: c.name)
@given(zy=batches())
def test_cost_fn_gradients_match_finite_differences(cost: type, zy: tuple[np.ndarray, np.ndarray]) -> None:
    z, y = zy
    a = Tensor(np.clip(_sigmoid(z), 0.05, 0.95), requires_grad=True)  # away from log's singularity
    assert gradcheck(lambda a: cost.fn(a, Tensor(y)), a, atol=1e-7, rtol=1e-5)


class QuadraticWithoutMean(Function):
    """½‖a − y‖² averaged over rows, whose backward forgets the 1/m: the negative control."""

    def forward(ctx, a, y):
        ctx.save_for_backward(a, y)
        return np.asarray(0.5 * np.sum((a - y) ** 2) / a.shape[0])

    def backward(ctx, grad_out):
        a, y = ctx.saved
        return (a - y) * grad_out, None


def test_cost_gradcheck_catches_a_backward_missing_the_mean() -> None:
    a = Tensor(np.full((3, 2), 0.4), requires_grad=True)
    y = Tensor(np.eye(3)[:, :2])
    with pytest.raises(GradcheckError):
        gradcheck(lambda a: QuadraticWithoutMean.apply(a, y), a, atol=1e-7, rtol=1e-5)


# ============================================================================ names
def test_costs_by_name() -> None:
    assert get_cost("QuadraticCost") is QuadraticCost and get_cost("quadratic") is QuadraticCost
    assert get_cost("CrossEntropyCost") is CrossEntropyCost and get_cost("cross-entropy") is CrossEntropyCost
    assert {c.name for c in COSTS.values()} == {"QuadraticCost", "CrossEntropyCost"}
    assert get_cost(QuadraticCost) is QuadraticCost
    with pytest.raises(ValueError, match="get_cost: unknown cost 'hinge'"):
        get_cost("hinge")
    with pytest.raises(TypeError, match="get_cost: .* is not a cost"):
        get_cost(42)

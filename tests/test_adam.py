"""Adam against a hand-written numpy Adam (PyTorch's update rule), and against torch.optim.Adam when installed."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_bp import Tensor
from tinygrad_bp.testing import arrays

from nets.adam import Adam


def numpy_adam(w: np.ndarray, grads: list[np.ndarray], lr: float, b1: float, b2: float, eps: float, wd: float) -> np.ndarray:
    w, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return w


@settings(max_examples=30)
@given(w=arrays((3, 2)), g=arrays((4, 3, 2)), wd=st.sampled_from([0.0, 0.1]), lr=st.sampled_from([1e-3, 0.1]))
def test_adam_matches_numpy_adam(w: np.ndarray, g: np.ndarray, wd: float, lr: float) -> None:
    p = Tensor(w.copy(), requires_grad=True)  # Tensor keeps the array: the reference needs the start
    opt = Adam([p], lr=lr, weight_decay=wd)
    for k in range(len(g)):
        p.grad = g[k]
        opt.step()
    np.testing.assert_allclose(p.data, numpy_adam(w, list(g), lr, 0.9, 0.999, 1e-8, wd), rtol=1e-12, atol=1e-14)


def test_adam_negative_control_eps_inside_sqrt_differs() -> None:
    # The reference must tell apart a common variant (ε inside the square root), or the test above could not fail.
    w, g = np.ones(3), [np.full(3, 1e-6)] * 3
    p = Tensor(w.copy(), requires_grad=True)  # Tensor keeps the array: the reference needs the start
    opt = Adam([p], lr=0.1, eps=1e-6)
    for gk in g:
        p.grad = gk
        opt.step()
    wrong = numpy_adam(w, g, 0.1, 0.9, 0.999, 0.0, 0.0)  # eps = 0
    assert not np.allclose(p.data, wrong, rtol=1e-6)
    np.testing.assert_allclose(p.data, numpy_adam(w, g, 0.1, 0.9, 0.999, 1e-6, 0.0), rtol=1e-12)


def test_adam_defaults_are_pytorchs() -> None:
    opt = Adam([Tensor(np.zeros(1), requires_grad=True)])
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)


def test_adam_skips_parameters_without_grad_and_rejects_bad_settings() -> None:
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = Adam([a, b], lr=0.5)
    a.grad = np.ones(2)
    opt.step()
    assert b.data.tolist() == [1.0, 1.0] and np.allclose(a.data, 0.5)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\]"):
        Adam([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Adam: a parameter appears more than once"):
        Adam([a, a])
    a.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"Adam: parameter 0 has shape \(2,\)"):
        opt.step()


def test_adam_matches_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch is optional: only to compare against")
    rng = np.random.default_rng(0)
    w, grads = rng.standard_normal((4, 3)), rng.standard_normal((5, 4, 3))
    tw = torch.tensor(w, requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.01, weight_decay=0.05)
    p = Tensor(w.copy(), requires_grad=True)  # Tensor keeps the array: the reference needs the start
    opt = Adam([p], lr=0.01, weight_decay=0.05)
    for g in grads:
        tw.grad = torch.tensor(g)
        topt.step()
        p.grad = g
        opt.step()
    np.testing.assert_allclose(p.data, tw.detach().numpy(), rtol=1e-10, atol=1e-12)

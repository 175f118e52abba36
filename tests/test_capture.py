"""capture(): a replayed step gives the same bits as the plain engine, and falls back whenever it cannot."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_bp import Tensor, capture, detect_anomaly, linear, quadratic_cost

capture_module = sys.modules["tinygrad_bp.capture"]  # the package's `capture` is the function


def _params(seed: int, sizes: list[int]) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    ps = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        ps += [Tensor(rng.standard_normal((n_in, n_out)), requires_grad=True), Tensor(rng.standard_normal(n_out), requires_grad=True)]
    return ps


def _loss(ps: list[Tensor]):  # type: ignore[no-untyped-def]
    def loss(x: np.ndarray, y: np.ndarray) -> Tensor:
        a = Tensor(x)
        for w, b in zip(ps[::2], ps[1::2]):
            a = linear(a, w, b).sigmoid()
        diamond = a * a + a  # fan-out: gradients from two uses are summed
        return quadratic_cost(diamond, Tensor(y))

    return loss


def _train(captured: bool, seed: int, sizes: list[int], n: int, m: int) -> tuple[list[Tensor], int]:
    rng = np.random.default_rng(seed + 1)
    X, Y = rng.random((n, sizes[0])), rng.random((n, sizes[-1]))
    ps = _params(seed, sizes)
    loss = _loss(ps)
    step = capture(loss) if captured else None
    for k in range(0, n, m):
        for p in ps:
            p.grad = None
        if step is None:
            loss(X[k : k + m], Y[k : k + m]).backward()
        else:
            step(X[k : k + m], Y[k : k + m])
        for p in ps:
            p.data -= 0.5 * p.grad
    return ps, (step.replays if step is not None else 0)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**16),
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    n=st.integers(4, 23),
    m=st.integers(1, 5),
)
def test_capture_replay_is_bit_identical_to_the_plain_engine(seed: int, sizes: list[int], n: int, m: int) -> None:
    plain, _ = _train(False, seed, sizes, n, m)
    replayed, replays = _train(True, seed, sizes, n, m)
    full_batches = n // m
    assert replays == max(0, full_batches - 2)  # two recordings, then every full batch; the short one falls back
    for a, b in zip(plain, replayed):
        assert np.array_equal(a.data, b.data)


def test_capture_replay_negative_control_a_lost_route_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # A replay that drops the second use of a fan-out (keeps the first gradient only) must fail the comparison.
    real = capture_module._Plan.replay

    def lossy(self, arrays):  # type: ignore[no-untyped-def]
        for srcs in self.sources:
            if len(srcs) == 2 and srcs[0] == srcs[1]:  # a * a: route only one of the two gradients
                srcs[1] = ("const", np.zeros(()))
        return real(self, arrays)

    monkeypatch.setattr(capture_module._Plan, "replay", lossy)
    plain, _ = _train(False, 3, [3, 4, 2], 20, 2)
    replayed, replays = _train(True, 3, [3, 4, 2], 20, 2)
    assert replays > 0
    assert not all(np.array_equal(a.data, b.data) for a, b in zip(plain, replayed))


def test_capture_refuses_data_dependent_constants() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    step = capture(lambda x: (Tensor(x * 2.0) * w).sum())  # x * 2 is a new array: a constant that changes
    for k in range(5):
        w.grad = None
        step(np.array([k, k + 1.0]))
        np.testing.assert_array_equal(w.grad, [2.0 * k, 2.0 * k + 2.0])
    assert step.replays == 0


def test_capture_falls_back_under_anomaly_mode_and_for_new_shapes() -> None:
    w = Tensor([[1.0], [2.0]], requires_grad=True)
    step = capture(lambda x: (Tensor(x) @ w).sum())
    for _ in range(3):
        w.grad = None
        step(np.ones((4, 2)))
    assert step.replays == 1
    w.grad = None
    with detect_anomaly():
        step(np.ones((4, 2)))
    w.grad = None
    step(np.ones((3, 2)))
    np.testing.assert_array_equal(w.grad, [[3.0], [3.0]])
    assert step.replays == 1


def test_capture_refuses_retained_gradients_and_inputs_that_require_grad() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    step = capture(lambda x: (Tensor(x) * w).retain_grad().sum())
    for _ in range(4):
        step(np.ones(2))
    assert step.replays == 0
    step2 = capture(lambda x: (Tensor(x, requires_grad=True) * w).sum())
    for _ in range(4):
        step2(np.ones(2))
    assert step2.replays == 0


def test_capture_step_must_return_a_one_element_tensor() -> None:
    with pytest.raises(TypeError, match="^capture: the step must return a one-element loss Tensor"):
        capture(lambda x: Tensor(x))(np.ones(3))

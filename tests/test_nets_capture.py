"""Network.SGD replays its captured step: the same weights, bit for bit, as training through the engine."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nets.fit as fit
from nets import Network, Sigmoid
from tinygrad_bp import Tensor


def _train(monkeypatch: pytest.MonkeyPatch, captured: bool, net_args: dict, sgd_args: dict, n: int, seed: int):
    """Return the trained net and the capture SGD made (None when it trained through the engine)."""
    made = []
    real = fit._captured_step

    def spy(self):  # type: ignore[no-untyped-def]
        step = real(self) if captured else None
        made.append(step)
        return step

    monkeypatch.setattr(fit, "_captured_step", spy)
    net = Network(seed=seed, **net_args)
    rng = np.random.default_rng(seed + 1)
    sizes = net_args["sizes"]
    X = rng.uniform(-2, 2, (n, sizes[0])).astype(net.dtype)
    net.SGD((X, rng.integers(0, sizes[-1], n)), verbose=False, **sgd_args)
    monkeypatch.setattr(fit, "_captured_step", real)
    return net, made[0]


@settings(max_examples=25)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    n=st.integers(3, 30),
    m=st.integers(1, 7),
    dtype=st.sampled_from(["float64", "float32"]),
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
    lmbda=st.sampled_from([0.0, 1.0]),
    momentum=st.sampled_from([0.0, 0.5]),
    seed=st.integers(0, 2**16),
)
def test_sgd_captured_weights_are_bit_identical_to_the_engine(
    sizes: list[int], n: int, m: int, dtype: str, activation: str, lmbda: float, momentum: float, seed: int
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        net_args = {"sizes": sizes, "dtype": dtype, "activation": activation}
        sgd_args = {"epochs": 2, "mini_batch_size": m, "eta": 0.5, "lmbda": lmbda, "momentum": momentum}
        plain, _ = _train(mp, False, net_args, sgd_args, n, seed)
        replayed, step = _train(mp, True, net_args, sgd_args, n, seed)
    full = n // m  # full mini-batches per epoch; the short last one (if any) goes through the engine
    assert step is not None and step.replays == max(0, 2 * full - 2)
    for a, b in zip(plain.weights + plain.biases, replayed.weights + replayed.biases):
        assert np.array_equal(a, b)


def test_sgd_captured_negative_control_a_stale_parameter_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # A replay that reads the first layer's weights as recorded, not as they are now, must give other weights.
    real = fit._captured_step

    def stale(self):  # type: ignore[no-untyped-def]
        step, w = real(self), self.model.layers[0].w
        record = step._record

        def record_then_freeze(loss, arrays):  # type: ignore[no-untyped-def]
            record(loss, arrays)
            for srcs in step.plan.sources if step.plan is not None else ():
                srcs[:] = [("const", ref.data.copy()) if ref is w else (kind, ref) for kind, ref in srcs]

        step._record = record_then_freeze
        made.append(step)
        return step

    made: list = []
    args = {"sizes": [4, 3, 2]}, {"epochs": 1, "mini_batch_size": 2, "eta": 0.5}
    plain, _ = _train(monkeypatch, False, *args, n=20, seed=3)
    monkeypatch.setattr(fit, "_captured_step", stale)
    net = Network([4, 3, 2], seed=3)
    rng = np.random.default_rng(4)
    net.SGD((rng.uniform(-2, 2, (20, 4)).astype(net.dtype), rng.integers(0, 2, 20)), 1, 2, 0.5, verbose=False)
    assert made[0].replays == 8
    assert not all(np.array_equal(a, b) for a, b in zip(plain.weights, net.weights))


class _Doubling(Sigmoid):
    def forward(self, z: Tensor) -> Tensor:
        return super().forward(z) * 2.0


@pytest.mark.parametrize(
    "net_args",
    [{"sizes": [3, 2], "cost": "cross-entropy"}, {"sizes": [3, 2], "activation": _Doubling}],
    ids=["cross-entropy cost", "custom activation"],
)
def test_sgd_trains_through_the_engine_where_a_replay_is_not_known_to_be_exact(net_args: dict) -> None:
    # The cross-entropy cost makes masks from the targets, and a custom layer may branch on values.
    net = Network(seed=0, **net_args)
    assert fit._captured_step(net) is None


def test_sgd_captured_diverging_run_is_reported_with_its_batch() -> None:
    # Mini-batches 1 and 2 record the step; the 5th, after the weights turn NaN, is a replay.
    net = Network([2, 1], seed=0)

    def poison(epoch: int, k: int, n_batches: int) -> None:
        if k == 3:
            net.weights[0][...] = np.nan

    with pytest.raises(fit.TrainingDivergedError, match="in epoch 0, mini-batch 5 of 6"):
        net.SGD((np.ones((12, 2)), np.ones((12, 1))), 1, 2, 3.0, verbose=False, callback=poison)
    assert all(p.grad is None for p in net.parameters())

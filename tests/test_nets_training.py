"""Training internals: .grad is the true gradient ∂C/∂p during SGD, update_mini_batch, the schedule acts on opt.lr."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets import SGD, CrossEntropyCost, Network, QuadraticCost, TrainingDivergedError, reference
from nets.training import Monitors, Plateau

COSTS = {"quadratic": QuadraticCost, "cross-entropy": CrossEntropyCost}


def _data(seed: int, sizes: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (n, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]


def _grads_seen_in_sgd(net: Network, x: np.ndarray, y: np.ndarray, m: int, eta: float, lmbda: float):
    """Return, per mini-batch, (the .grad of every parameter seen by the callback, the parameters before the step,
    the batch's rows), with the batches recomputed from a copy of the net's generator."""
    rng = copy.deepcopy(net.rng)
    before = [[w.copy() for w in net.weights], [b.copy() for b in net.biases]]
    seen = []

    def callback(epoch: int, k: int, n_batches: int) -> None:
        nonlocal before
        grads = [(lin.w.grad.copy(), lin.b.grad.copy()) for lin in net.model.layers[0::2]]
        seen.append((grads, before, k))
        before = [[w.copy() for w in net.weights], [b.copy() for b in net.biases]]

    net.SGD((x, y), 2, m, eta, lmbda=lmbda, verbose=False, callback=callback)
    orders = [rng.permutation(len(x)) for _ in range(2)]
    per_epoch = -(-len(x) // m)
    return [(g, b, orders[i // per_epoch][k * m : (k + 1) * m]) for i, (g, b, k) in enumerate(seen)]


@given(
    st.sampled_from([[3, 4, 2], [2, 3]]),
    st.integers(1, 7),
    st.integers(1, 3),
    st.sampled_from(["quadratic", "cross-entropy"]),
    st.sampled_from([0.0, 2.0]),
    st.integers(0, 2**32 - 1),
)
def test_sgd_grad_is_the_true_gradient_in_every_step(
    sizes: list[int], n: int, m: int, cost: str, lmbda: float, seed: int
) -> None:
    eta = 3.0
    net = Network(sizes, cost=COSTS[cost], seed=seed)
    x, y = _data(seed, sizes, n)
    for grads, (weights, biases), idx in _grads_seen_in_sgd(net, x, y, m, eta, lmbda):
        want = reference.backprop_batch(weights, biases, x[idx], y[idx], cost)  # ∂C/∂p of the mean cost, no L2
        for l, (gw, gb) in enumerate(grads):
            np.testing.assert_allclose(gw, want.nabla_w[l].T, rtol=1e-10, atol=1e-13)  # BP4, row form (in, out)
            np.testing.assert_allclose(gb, want.nabla_b[l][:, 0], rtol=1e-10, atol=1e-13)  # BP3


def test_sgd_true_gradient_check_catches_eta_times_the_gradient() -> None:
    # Negative control: .grad scaled by η (the old seeded backward) fails the comparison above.
    sizes, eta = [3, 4, 2], 3.0
    net = Network(sizes, seed=1)
    x, y = _data(1, sizes, 4)
    grads, (weights, biases), idx = _grads_seen_in_sgd(net, x, y, 2, eta, 0.0)[0]
    want = reference.backprop_batch(weights, biases, x[idx], y[idx], "quadratic")
    np.testing.assert_allclose(grads[0][0], want.nabla_w[0].T, rtol=1e-10)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(eta * grads[0][0], want.nabla_w[0].T, rtol=1e-10)


def test_sgd_leaves_no_gradients_behind() -> None:
    net = Network([3, 2], seed=0)
    net.SGD(_data(0, [3, 2], 5), 1, 2, 1.0, verbose=False)
    assert all(p.grad is None for p in net.parameters())


@given(st.integers(1, 6), st.sampled_from([0.0, 5.0]), st.integers(0, 2**32 - 1))
def test_update_mini_batch_is_network2s_step_with_true_gradients(m: int, lmbda: float, seed: int) -> None:
    sizes, eta, n = [3, 4, 2], 0.7, 50
    net = Network(sizes, cost=CrossEntropyCost, seed=seed)
    x, y = _data(seed, sizes, m)
    pairs = [(a[:, None], b[:, None]) for a, b in zip(x, y)]
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    want_w, want_b = reference.update_mini_batch(w0, b0, x, y, eta, "cross-entropy", lmbda, n)
    cost = net.update_mini_batch(pairs, eta, lmbda, n)
    g = reference.backprop_batch(w0, b0, x, y, "cross-entropy")
    for l in range(2):
        np.testing.assert_allclose(net.weights[l], want_w[l], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(net.biases[l], want_b[l], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(net.model[2 * l].w.grad, g.nabla_w[l].T, rtol=1e-10, atol=1e-13)
    assert cost > 0


def test_update_mini_batch_with_the_networks_optimizer_keeps_momentum() -> None:
    net = Network([2, 2], seed=0)
    x, y = _data(0, [2, 2], 4)
    opt = SGD(net.parameters(), lr=1.0, momentum=0.9)
    net.update_mini_batch((x, y), 0.5, optimizer=opt)
    assert opt.lr == 0.5 and opt._velocity[0] is not None
    with pytest.raises(ValueError, match="give weight decay to the optimizer"):
        net.update_mini_batch((x, y), 0.5, 1.0, 10, optimizer=opt)
    with pytest.raises(ValueError, match="this network's parameters"):
        net.update_mini_batch((x, y), 0.5, optimizer=SGD(Network([2, 2]).parameters(), lr=1.0))


@pytest.mark.parametrize(
    "args, error, words",
    [((0.0,), ValueError, "eta must be a number > 0"), (("3",), TypeError, "eta"),
     ((1.0, 2.0), ValueError, "lmbda needs n"), ((1.0, -1.0, 5), ValueError, "lmbda must be")],
)
def test_update_mini_batch_bad_arguments_are_named(args: tuple, error: type, words: str) -> None:
    net = Network([2, 2], seed=0)
    with pytest.raises(error, match=words):
        net.update_mini_batch(_data(0, [2, 2], 3), *args)


def test_update_mini_batch_divergence_is_reported() -> None:
    net = Network([2, 1], seed=0)
    net.weights[0][...] = np.nan
    with pytest.raises(TrainingDivergedError, match="Network.update_mini_batch: training diverged"):
        net.update_mini_batch((np.ones((2, 2)), np.ones((2, 1))), 1.0)


def test_plateau_changes_only_the_learning_rate() -> None:
    net = Network([2, 2], seed=0)
    opt = SGD(net.parameters(), lr=2.0, weight_decay=0.1, l1=0.01)
    plateau = Plateau(opt, eta_schedule=1, early_stop=None)
    for acc in (3, 2, 2):
        assert plateau.update(acc, verbose=False) is None
    assert (opt.lr, opt.weight_decay, opt.l1) == (0.5, 0.1, 0.01)


def test_sgd_eta_schedule_halves_opt_lr_and_step_follows_it() -> None:
    # With λ > 0 the step after a halving must shrink weights by (1 − (η/2)·λ/n): decay follows opt.lr.
    sizes, n, lmbda = [2, 2], 6, 3.0
    x, y = _data(2, sizes, n)
    net = Network(sizes, seed=2)
    net.weights[0][...] = 0.0  # every epoch is equally (in)accurate: the schedule halves η each epoch
    net.biases[0][...] = 0.0
    etas: list[float] = []
    net.SGD((x, y), 3, n, 1.0, lmbda=lmbda, evaluation_data=(x, y), eta_schedule=1, verbose=False,
            epoch_callback=lambda j, info: etas.append(info["eta"]))
    assert etas[0] == 1.0 and etas[-1] < 1.0 and all(a >= b for a, b in zip(etas, etas[1:]))


def test_monitors_print_in_network2s_order(capsys: pytest.CaptureFixture[str]) -> None:
    X, Y, labels = np.zeros((3, 1)), np.eye(3), np.arange(3)
    mon = Monitors(lambda X_, Y_: 1.5, lambda X_, t: 2, (X, Y, labels), (X, Y, labels),
                   dict.fromkeys(Monitors.ORDER, True))
    info: dict = {}
    mon.run(info, verbose=True)
    assert capsys.readouterr().out.splitlines() == [
        "Cost on training data: 1.5", "Accuracy on training data: 2 / 3",
        "Cost on evaluation data: 1.5", "Accuracy on evaluation data: 2 / 3",
    ]
    assert mon.results() == ([1.5], [2], [1.5], [2]) and info["evaluation_accuracy"] == 2

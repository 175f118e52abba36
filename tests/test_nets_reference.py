"""The oracle tests: autodiff's gradients of the network equal the hand-derived BP1–BP4.

Random architectures (2 to 5 layers, widths 1 to 12), mini-batches of 1 to 16, inputs in [-2, 2],
one-hot and soft targets, both costs, with and without L2, all in float64.  The largest relative
difference seen between autodiff and the reference is printed at the end of the module.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nets import CrossEntropyCost, Network, QuadraticCost, reference
from tinygrad_bp import GradcheckError, Tensor, gradcheck

RTOL, ATOL = 1e-10, 1e-12
COSTS = {"quadratic": QuadraticCost, "cross-entropy": CrossEntropyCost}

# Filled in by the tests, reported once at the end of the module.
STATS: dict[str, Any] = {"examples": {}, "max_rel": 0.0, "max_rel_where": "", "max_abs": 0.0}


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not STATS["examples"]:
        return
    total = sum(STATS["examples"].values())
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\nnets oracle: {total} hypothesis examples compared "
            f"({', '.join(f'{k}: {v}' for k, v in STATS['examples'].items())}); "
            f"largest relative difference autodiff vs reference {STATS['max_rel']:.3g} "
            f"({STATS['max_rel_where']}), largest absolute {STATS['max_abs']:.3g}"
        )


def _count(test: str) -> None:
    STATS["examples"][test] = STATS["examples"].get(test, 0) + 1


def assert_same(actual: np.ndarray, expected: np.ndarray, what: str, track: bool = True) -> None:
    """assert_allclose at the oracle tolerance, recording the largest differences seen."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)
    if track and actual.size:
        diff = np.abs(actual - expected)
        STATS["max_abs"] = max(STATS["max_abs"], float(diff.max()))
        big = np.abs(expected) >= 1e-8  # relative differences of values near 0 say nothing
        if big.any():
            rel = float((diff[big] / np.abs(expected[big])).max())
            if rel > STATS["max_rel"]:
                STATS["max_rel"], STATS["max_rel_where"] = rel, what


# ============================================================================ problems
@dataclass
class Problem:
    net: Network
    x: np.ndarray  # (m, n_in)
    y: np.ndarray  # (m, n_out)
    cost: str

    @property
    def weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.net.weights]

    @property
    def biases(self) -> list[np.ndarray]:
        return [b.copy() for b in self.net.biases]


@st.composite
def problems(draw: Any, min_layers: int = 2, costs: tuple[str, ...] = ("quadratic", "cross-entropy")) -> Problem:
    n_layers = draw(st.integers(min_layers, 5))
    sizes = draw(st.lists(st.integers(1, 12), min_size=n_layers, max_size=n_layers))
    m = draw(st.integers(1, 16))
    cost = draw(st.sampled_from(costs))
    soft = draw(st.booleans())
    init = draw(st.sampled_from(["large", "default"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (m, sizes[0]))
    if soft:
        y = rng.uniform(0, 1, (m, sizes[-1]))
    else:
        y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    return Problem(Network(sizes, cost=COSTS[cost], init=init, seed=rng), x, y, cost)


def autodiff(p: Problem, lmbda: float = 0.0, n: int = 1) -> reference.Gradients:
    """Return autodiff's δˡ (grads of the retained zˡ), ∇b and ∇W in the reference's shapes."""
    net = p.net
    net.zero_grad()
    zs, acts = net.forward_trace(p.x, retain_grad=True)
    c = net.cost.fn(acts[-1], Tensor(p.y))
    if lmbda:
        for lin in net.model.layers[0::2]:
            c = c + (lin.w * lin.w).sum() * (lmbda / (2 * n))
    c.backward()
    lins = net.model.layers[0::2]
    return reference.Gradients(
        [z.grad for z in zs], [lin.b.grad[:, None] for lin in lins], [lin.w.grad.T for lin in lins]
    )


def assert_gradients_equal(got: reference.Gradients, want: reference.Gradients, track: bool = True) -> None:
    for l, (d, dr) in enumerate(zip(got.deltas, want.deltas)):
        assert_same(d, dr, f"delta[{l}]", track)
    for l, (b, br) in enumerate(zip(got.nabla_b, want.nabla_b)):
        assert_same(b, br, f"nabla_b[{l}]", track)
    for l, (w, wr) in enumerate(zip(got.nabla_w, want.nabla_w)):
        assert_same(w, wr, f"nabla_w[{l}]", track)


def total_cost(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray, cost: str,
               lmbda: float = 0.0, n: int = 1) -> float:
    """Return the mean cost over the rows (+ L2), computed in plain numpy for finite differences."""
    a = np.stack([reference.feedforward_example(weights[:-1], biases[:-1], row[:, None])[:, 0] for row in x])
    z = a @ weights[-1].T + biases[-1].T
    if cost == "quadratic":
        per = 0.5 * np.sum((reference.sigmoid(z) - y) ** 2, axis=1)
    else:
        # ln σ(z) = −ln(1 + e⁻ᶻ) and ln(1 − σ(z)) = −ln(1 + eᶻ): taken from z, because 1 − a rounds
        # away the digits that finite differences of a saturated output need.
        per = np.sum(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z), axis=1)
    return float(per.mean() + 0.5 * (lmbda / n) * sum(np.sum(w * w) for w in weights))


def finite_differences(p: Problem, lmbda: float = 0.0, n: int = 1, eps: float = 1e-4) -> tuple[list, list]:
    # The five-point stencil: with N(0, 1) weights a deep sigmoid net is curved enough that plain central
    # differences miss 1e-5 relative accuracy at any step size; this one's error is O(eps⁴).
    weights, biases = p.weights, p.biases
    out = []
    for arrays in (biases, weights):
        grads = []
        for arr in arrays:
            g = np.empty_like(arr)
            for idx in np.ndindex(*arr.shape):
                orig = arr[idx]
                f = {}
                for k in (-2, -1, 1, 2):
                    arr[idx] = orig + k * eps
                    f[k] = total_cost(weights, biases, p.x, p.y, p.cost, lmbda, n)
                arr[idx] = orig
                g[idx] = (f[-2] - 8 * f[-1] + 8 * f[1] - f[2]) / (12 * eps)
            grads.append(g)
        out.append(grads)
    return out[0], out[1]


# ============================================================================ autodiff == reference
@settings(max_examples=200)  # about 2 ms an example
@given(problems())
def test_reference_batch_equals_autodiff_gradients_and_deltas(p: Problem) -> None:
    _count("batch δ, ∇b, ∇W")
    want = reference.backprop_batch(p.weights, p.biases, p.x, p.y, p.cost)
    assert_gradients_equal(autodiff(p), want)


@settings(max_examples=200)
@given(problems(), st.sampled_from([0.1, 1.0, 5.0]), st.integers(1, 100))
def test_reference_batch_with_l2_equals_autodiff(p: Problem, lmbda: float, n: int) -> None:
    _count("batch with L2")
    want = reference.backprop_batch(p.weights, p.biases, p.x, p.y, p.cost, lmbda=lmbda, n=n)
    assert_gradients_equal(autodiff(p, lmbda, n), want)


@settings(max_examples=200)
@given(problems())
def test_reference_example_equals_network_backprop(p: Problem) -> None:
    _count("per-example backprop")
    x, y = p.x[:1].T, p.y[:1].T  # Nielsen's columns
    want = reference.backprop_example(p.weights, p.biases, x, y, p.cost)
    nabla_b, nabla_w = p.net.backprop(x, y)
    assert [b.shape for b in nabla_b] == [b.shape for b in p.net.biases]
    assert [w.shape for w in nabla_w] == [w.shape for w in p.net.weights]
    for l in range(len(nabla_b)):
        assert_same(nabla_b[l], want.nabla_b[l], f"example nabla_b[{l}]")
        assert_same(nabla_w[l], want.nabla_w[l], f"example nabla_w[{l}]")
    # For one example the row form's δ is the column form's δ, transposed.
    got = autodiff(Problem(p.net, p.x[:1], p.y[:1], p.cost))
    for l, d in enumerate(got.deltas):
        assert_same(d.T, want.deltas[l], f"example delta[{l}]")


@given(problems(), st.sampled_from([0.0, 2.0]))
def test_reference_example_forms_average_to_the_batch_form(p: Problem, lmbda: float) -> None:
    _count("per-example vs batch")
    n = 7
    batch = reference.backprop_batch(p.weights, p.biases, p.x, p.y, p.cost, lmbda=lmbda, n=n)
    per = [reference.backprop_example(p.weights, p.biases, x[:, None], y[:, None], p.cost) for x, y in zip(p.x, p.y)]
    m = len(per)
    for l in range(len(batch.nabla_w)):
        mean_b = sum(g.nabla_b[l] for g in per) / m
        mean_w = sum(g.nabla_w[l] for g in per) / m + (lmbda / n) * p.net.weights[l]
        np.testing.assert_allclose(batch.nabla_b[l], mean_b, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(batch.nabla_w[l], mean_w, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(batch.deltas[l], np.hstack([g.deltas[l] for g in per]).T / m, rtol=RTOL, atol=ATOL)


# ============================================================================ both == finite differences
@settings(max_examples=30, deadline=None)  # finite differences over every parameter: slow by design
@given(problems(), st.sampled_from([0.0, 1.5]))
def test_reference_and_autodiff_equal_finite_differences(p: Problem, lmbda: float) -> None:
    n = 10
    if p.cost == "cross-entropy":
        # The autodiff cost is a function of a = σ(z); once 1 − a has lost its digits to rounding, finite
        # differences of ln(1 − a) are noise, whatever the gradient.  Keep the outputs off the rails.
        a_out = p.net.feedforward(p.x)
        assume(np.all(np.minimum(a_out, 1 - a_out) > 1e-4))
    _count("finite differences")
    fd_b, fd_w = finite_differences(p, lmbda, n)
    ref = reference.backprop_batch(p.weights, p.biases, p.x, p.y, p.cost, lmbda=lmbda, n=n)
    for l in range(len(fd_b)):
        np.testing.assert_allclose(ref.nabla_b[l], fd_b[l], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(ref.nabla_w[l], fd_w[l], rtol=1e-5, atol=1e-7)

    net = p.net
    lins = net.model.layers[0::2]

    def cost(*params: Tensor) -> Tensor:
        c = net.cost.fn(net.forward(Tensor(p.x)), Tensor(p.y))
        for lin in lins:
            c = c + (lin.w * lin.w).sum() * (lmbda / (2 * n))
        return c

    assert gradcheck(cost, *net.parameters(), atol=1e-7, rtol=1e-5)


# ============================================================================ negative controls
def _wrong_sigmoid_prime(z: np.ndarray) -> np.ndarray:
    return np.ones_like(z)  # σ′ dropped


def _control_problems() -> list[Problem]:
    # Fixed cases with a hidden layer and the cross-entropy cost, whose BP1 has no σ′: dropping
    # σ′ then changes BP2 alone.
    out = []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        sizes = [3, 4, 2] if seed % 2 else [5, 3, 6, 2]
        x = rng.uniform(-2, 2, (4, sizes[0]))
        y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 4)]
        out.append(Problem(Network(sizes, cost=CrossEntropyCost, seed=rng), x, y, "cross-entropy"))
    return out


@pytest.mark.parametrize("p", _control_problems(), ids=lambda p: str(p.net.sizes))
def test_reference_without_sigma_prime_in_bp2_is_caught(p: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # Sanity: the right reference passes the very comparisons used below.
    assert_gradients_equal(autodiff(p), reference.backprop_batch(p.weights, p.biases, p.x, p.y, p.cost), track=False)
    monkeypatch.setattr(reference, "sigmoid_prime", _wrong_sigmoid_prime)
    wrong_batch = reference.backprop_batch(p.weights, p.biases, p.x, p.y, p.cost)
    with pytest.raises(AssertionError):
        assert_gradients_equal(autodiff(p), wrong_batch, track=False)
    wrong_example = reference.backprop_example(p.weights, p.biases, p.x[:1].T, p.y[:1].T, p.cost)
    nabla_b, nabla_w = p.net.backprop(p.x[:1].T, p.y[:1].T)
    with pytest.raises(AssertionError):
        for l in range(len(nabla_w)):
            assert_same(nabla_w[l], wrong_example.nabla_w[l], "control", track=False)
            assert_same(nabla_b[l], wrong_example.nabla_b[l], "control", track=False)
    fd_b, fd_w = finite_differences(p)
    with pytest.raises(AssertionError):
        for l in range(len(fd_w)):
            np.testing.assert_allclose(wrong_batch.nabla_w[l], fd_w[l], rtol=1e-5, atol=1e-7)


def test_autodiff_with_a_wrong_sigmoid_backward_fails_gradcheck() -> None:
    from nets import Sigmoid
    from tinygrad_bp import Function

    class SigmoidNoPrime(Function):
        def forward(ctx, z):
            return 1.0 / (1.0 + np.exp(-z))

        def backward(ctx, grad_out):
            return (grad_out,)  # σ′ dropped

    class BadSigmoid(Sigmoid):
        def forward(self, z: Tensor) -> Tensor:
            return SigmoidNoPrime.apply(z)

    p = _control_problems()[1]
    net = p.net
    net.model.layers[1] = BadSigmoid()

    def cost(*params: Tensor) -> Tensor:
        return net.cost.fn(net.forward(Tensor(p.x)), Tensor(p.y))

    with pytest.raises(GradcheckError):
        gradcheck(cost, *net.parameters(), atol=1e-7, rtol=1e-5)


# ============================================================================ the reference's own training
@settings(max_examples=25)
@given(
    problems(costs=("quadratic", "cross-entropy")),
    st.integers(1, 5),
    st.sampled_from([0.0, 0.5]),
    st.integers(1, 3),
)
def test_train_reference_follows_network_sgd(p: Problem, m: int, lmbda: float, epochs: int) -> None:
    _count("train_reference vs Network.SGD")
    net = p.net
    weights, biases, rng = p.weights, p.biases, copy.deepcopy(net.rng)
    one_hot = bool(np.isin(p.y, (0.0, 1.0)).all())
    y = np.argmax(p.y, axis=1) if one_hot else p.y  # one-hot targets go in as int labels, to cover that path
    reference.train_reference(weights, biases, (p.x, y), epochs, m, 0.5, lmbda=lmbda, cost=p.cost, rng=rng)
    net.SGD((p.x, y), epochs, m, 0.5, lmbda=lmbda, verbose=False)
    for l in range(len(weights)):
        np.testing.assert_allclose(net.weights[l], weights[l], rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(net.biases[l], biases[l], rtol=1e-9, atol=1e-11)
    assert net.rng.bit_generator.state == rng.bit_generator.state  # the same shuffles were drawn


@given(problems(), st.sampled_from([0.0, 3.0]))
def test_update_mini_batch_is_nielsens_step(p: Problem, lmbda: float) -> None:
    eta, n = 0.7, 20
    w, b = reference.update_mini_batch(p.weights, p.biases, p.x, p.y, eta, p.cost, lmbda=lmbda, n=n)
    per = [reference.backprop_example(p.weights, p.biases, x[:, None], y[:, None], p.cost) for x, y in zip(p.x, p.y)]
    m = len(per)
    for l in range(len(w)):
        want_w = (1 - eta * lmbda / n) * p.net.weights[l] - (eta / m) * sum(g.nabla_w[l] for g in per)
        want_b = p.net.biases[l] - (eta / m) * sum(g.nabla_b[l] for g in per)
        np.testing.assert_allclose(w[l], want_w, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b[l], want_b, rtol=1e-12, atol=1e-12)


def test_reference_rejects_mismatched_layers_and_unknown_costs() -> None:
    w = [np.zeros((3, 2)), np.zeros((1, 4))]
    b = [np.zeros((3, 1)), np.zeros((1, 1))]
    with pytest.raises(ValueError, match="backprop_batch: layer 1"):
        reference.backprop_batch(w, b, np.zeros((1, 2)), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="unknown cost"):
        reference.backprop_example([np.zeros((1, 2))], [np.zeros((1, 1))], np.zeros((2, 1)), np.zeros((1, 1)), "hinge")
    with pytest.raises(ValueError, match="train_reference: X of shape"):
        reference.train_reference([np.zeros((1, 2))], [np.zeros((1, 1))], (np.zeros((4, 3)), np.zeros(4, int)), 1, 1, 1.0)

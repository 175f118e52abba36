"""The Nielsen-compatible Network: views, feedforward, SGD (one step by hand, batching, seeding), monitors, JSON."""
from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nets.persistence as persistence_module
from nets import CrossEntropyCost, Network, QuadraticCost, load, reference
from tinygrad_bp import Tensor

COSTS = {"quadratic": QuadraticCost, "cross-entropy": CrossEntropyCost}


def _data(seed: int, sizes: list[int], n: int, soft: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, sizes[0]))
    y = rng.uniform(0, 1, (n, sizes[-1])) if soft else np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return x, y


def _pairs(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Nielsen's training data: a list of (x (n_in, 1), y (n_out, 1))."""
    return [(a[:, None].copy(), b[:, None].copy()) for a, b in zip(x, y)]


sizes_st = st.integers(2, 4).flatmap(lambda k: st.lists(st.integers(1, 8), min_size=k, max_size=k))


# ============================================================================ construction and views
def test_network_init_draws_like_network_py() -> None:
    sizes = [5, 4, 3]
    for init in ("large", "default"):
        net = Network(sizes, init=init, seed=7)
        rng = np.random.default_rng(7)
        biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
        if init == "default":
            weights = [w / np.sqrt(x) for w, x in zip(weights, sizes[:-1])]
        for got, want in zip(net.weights + net.biases, weights + biases):
            np.testing.assert_array_equal(got, want)
    assert net.num_layers == 3 and net.sizes == sizes


def test_network_weights_and_biases_are_writable_views() -> None:
    net = Network([3, 4, 2], seed=0)
    lin = net.model.layers[0]
    w = np.arange(12.0).reshape(4, 3)
    net.weights[0][...] = w
    np.testing.assert_array_equal(lin.w.data, w.T)
    net.biases[1][...] = [[5.0], [6.0]]
    np.testing.assert_array_equal(net.model.layers[2].b.data, [5.0, 6.0])
    lin.w.data[0, 0] = -1.0  # and the other way round
    assert net.weights[0][0, 0] == -1.0
    net.weights = [np.ones((4, 3)), np.zeros((2, 4))]
    np.testing.assert_array_equal(lin.w.data, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"Network.weights: layer 1 needs shape \(2, 4\)"):
        net.weights = [np.ones((4, 3)), np.zeros((4, 2))]
    with pytest.raises(ValueError, match="Network.biases: got 1 arrays for 2 layers"):
        net.biases = [np.zeros((4, 1))]


def test_network_parameters_are_the_layers_in_order() -> None:
    net = Network([3, 4, 2], seed=0)
    names = [name for name, _ in net.named_parameters()]
    assert names == ["model.0.w", "model.0.b", "model.2.w", "model.2.b"]
    assert [p.shape for p in net.parameters()] == [(3, 4), (4,), (4, 2), (2,)]


def test_network_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="Network: sizes needs at least two"):
        Network([3])
    with pytest.raises(ValueError, match="Network: init must be one of"):
        Network([3, 2], init="huge")
    with pytest.raises(TypeError, match="Network: dtype must be a float dtype"):
        Network([3, 2], dtype=np.int64)
    with pytest.raises(ValueError, match="Network: activation must be one of"):
        Network([3, 2], activation="softsign")
    with pytest.raises(ValueError, match="get_cost: unknown cost"):
        Network([3, 2], cost="hinge")


def test_network_repr_is_readable() -> None:
    assert repr(Network([784, 30, 10], seed=0)) == "Network(sizes=[784, 30, 10], cost=QuadraticCost, init='large', dtype=float64)"


# ============================================================================ feedforward
@given(sizes_st, st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_network_feedforward_columns_and_rows_match_the_reference(sizes: list[int], n: int, seed: int) -> None:
    net = Network(sizes, seed=seed)
    x, _ = _data(seed, sizes, n)
    rows = net.feedforward(x)
    if x.shape == (sizes[0], 1):  # one input and one row: read as Nielsen's column, as documented
        rows = rows.T
    assert rows.shape == (n, sizes[-1])
    for i in range(n):
        col = x[i][:, None]
        want = reference.feedforward_example(net.weights, net.biases, col)
        got = net.feedforward(col)
        assert got.shape == (sizes[-1], 1)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rows[i], want[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.feedforward(x[0]), rows[0], rtol=1e-12, atol=1e-15)


def test_network_feedforward_rejects_wrong_shapes() -> None:
    net = Network([3, 2], seed=0)
    with pytest.raises(ValueError, match=r"Network.feedforward: input of shape \(2, 1\)"):
        net.feedforward(np.zeros((2, 1)))


# ============================================================================ backprop (Nielsen's API)
@given(sizes_st, st.sampled_from(["quadratic", "cross-entropy"]), st.integers(0, 2**32 - 1))
def test_network_backprop_gives_nielsen_shapes_and_reference_values(sizes: list[int], cost: str, seed: int) -> None:
    net = Network(sizes, cost=COSTS[cost], seed=seed)
    x, y = _data(seed, sizes, 1)
    nabla_b, nabla_w = net.backprop(x.T, y.T)
    want = reference.backprop_example(net.weights, net.biases, x.T, y.T, cost)
    for l in range(len(sizes) - 1):
        assert nabla_b[l].shape == (sizes[l + 1], 1) and nabla_w[l].shape == (sizes[l + 1], sizes[l])
        np.testing.assert_allclose(nabla_b[l], want.nabla_b[l], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(nabla_w[l], want.nabla_w[l], rtol=1e-10, atol=1e-12)
    assert all(p.grad is None for p in net.parameters())  # backprop leaves .grad alone


def test_network_backprop_accepts_an_int_label() -> None:
    net = Network([4, 3], seed=1)
    x = np.linspace(-1, 1, 4)[:, None]
    by_label = net.backprop(x, 2)
    by_vector = net.backprop(x, np.eye(3)[2][:, None])
    for a, b in zip(by_label[0] + by_label[1], by_vector[0] + by_vector[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(net.cost_derivative(np.ones((3, 1)), np.eye(3)[:, :1]), [[0.0], [1.0], [1.0]])


# ============================================================================ SGD
def _hand_update(net_weights, net_biases, xs, ys, eta, cost, lmbda, n, decay_biases=False):
    """Return network2's update written out: w ← (1 − ηλ/n)·w − (η/m)·Σₓ∇wₓ, b ← b − (η/m)·Σₓ∇bₓ."""
    per = [reference.backprop_example(net_weights, net_biases, x[:, None], y[:, None], cost) for x, y in zip(xs, ys)]
    m = len(per)
    weights = [
        (1 - eta * lmbda / n) * w - (eta / m) * sum(g.nabla_w[l] for g in per) for l, w in enumerate(net_weights)
    ]
    shrink_b = 1 - eta * lmbda / n if decay_biases else 1.0  # decay_biases: the deliberate slip
    biases = [shrink_b * b - (eta / m) * sum(g.nabla_b[l] for g in per) for l, b in enumerate(net_biases)]
    return weights, biases


@given(
    sizes_st,
    st.integers(1, 16),
    st.sampled_from(["quadratic", "cross-entropy"]),
    st.sampled_from([0.0, 0.1, 5.0]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_network_sgd_one_step_equals_the_hand_update(
    sizes: list[int], m: int, cost: str, lmbda: float, soft: bool, seed: int
) -> None:
    net = Network(sizes, cost=COSTS[cost], seed=seed)
    x, y = _data(seed, sizes, m, soft)
    want_w, want_b = _hand_update(
        [w.copy() for w in net.weights], [b.copy() for b in net.biases], x, y, 0.8, cost, lmbda, n=m
    )
    # One epoch with one mini-batch holding the whole (list-of-pairs) training set is one step.
    net.SGD(_pairs(x, y), epochs=1, mini_batch_size=m, eta=0.8, lmbda=lmbda, verbose=False)
    for l in range(len(want_w)):
        np.testing.assert_allclose(net.weights[l], want_w[l], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(net.biases[l], want_b[l], rtol=1e-12, atol=1e-12)


@settings(max_examples=30)
@given(st.integers(1, 9), st.integers(1, 4), st.sampled_from([0.0, 2.0]), st.integers(0, 2**32 - 1))
def test_network_sgd_shuffles_and_batches_like_network2(n: int, m: int, lmbda: float, seed: int) -> None:
    sizes = [3, 4, 2]
    net = Network(sizes, cost=CrossEntropyCost, seed=seed)
    x, y = _data(seed, sizes, n)
    weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    rng = copy.deepcopy(net.rng)
    for _ in range(2):
        order = rng.permutation(n)
        for k in range(0, n, m):  # the last mini-batch may be short; it divides by its own size
            batch = order[k : k + m]
            weights, biases = _hand_update(weights, biases, x[batch], y[batch], 1.5, "cross-entropy", lmbda, n)
    net.SGD((x, y), 2, m, 1.5, lmbda=lmbda, verbose=False)
    for l in range(len(weights)):
        np.testing.assert_allclose(net.weights[l], weights[l], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(net.biases[l], biases[l], rtol=1e-10, atol=1e-12)


def test_network_sgd_hand_update_check_catches_decayed_biases() -> None:
    # Negative control for the update checks above: decaying biases too (a common L2 slip) is caught.
    sizes, m, lmbda = [3, 4, 2], 5, 5.0
    net = Network(sizes, seed=3)
    x, y = _data(3, sizes, m)
    start = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    _, right_b = _hand_update(*start, x, y, 0.8, "quadratic", lmbda, m)
    _, wrong_b = _hand_update(*start, x, y, 0.8, "quadratic", lmbda, m, decay_biases=True)
    net.SGD((x, y), 1, m, 0.8, lmbda=lmbda, verbose=False)
    for l in range(len(right_b)):
        np.testing.assert_allclose(net.biases[l], right_b[l], rtol=1e-12, atol=1e-12)
    with pytest.raises(AssertionError):
        for l in range(len(wrong_b)):
            np.testing.assert_allclose(net.biases[l], wrong_b[l], rtol=1e-12, atol=1e-12)


def test_network_sgd_same_seed_gives_bit_identical_weights() -> None:
    sizes = [6, 5, 3]
    x, y = _data(0, sizes, 23)
    runs = []
    for _ in range(2):
        net = Network(sizes, cost=CrossEntropyCost, init="default", seed=42)
        net.SGD((x, y), 3, 4, 0.5, lmbda=0.3, verbose=False)
        runs.append(net.weights + net.biases)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    other = Network(sizes, cost=CrossEntropyCost, init="default", seed=43)
    other.SGD((x, y), 3, 4, 0.5, lmbda=0.3, verbose=False)
    assert not np.array_equal(other.weights[0], runs[0][0])


def test_network_sgd_list_and_array_inputs_train_identically() -> None:
    sizes = [4, 3, 3]
    x, y = _data(1, sizes, 11)
    labels = np.argmax(y, axis=1)
    results = []
    for data in (_pairs(x, y), (x, y), (x, labels), list(zip(list(x[:, :, None]), list(labels))), zip(x[:, :, None], y[:, :, None])):
        net = Network(sizes, seed=5)
        net.SGD(data, 2, 3, 2.0, verbose=False)
        results.append(net.weights + net.biases)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_network_sgd_prints_network_py_lines(capsys: pytest.CaptureFixture[str]) -> None:
    sizes = [4, 5, 3]
    x, y = _data(2, sizes, 12)
    labels = np.argmax(y, axis=1)
    net = Network(sizes, seed=0)
    net.SGD((x, y), 2, 5, 3.0, test_data=list(zip(x[:, :, None], labels)))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 0", "Epoch 1"]
    assert lines[1] == f"Epoch 1: {net.evaluate((x, labels))} / 12"
    net.SGD((x, y), 1, 5, 3.0)
    assert capsys.readouterr().out == "Epoch 0 complete\n"
    net.SGD((x, y), 1, 5, 3.0, verbose=False)
    assert capsys.readouterr().out == ""


def test_network_sgd_returns_network2_monitors() -> None:
    sizes = [4, 5, 3]
    x, y = _data(4, sizes, 20)
    xe, ye = _data(5, sizes, 7)
    labels_e = np.argmax(ye, axis=1)
    net = Network(sizes, cost=CrossEntropyCost, init="default", seed=0)
    seen = []
    ec, ea, tc, ta = net.SGD(
        (x, y), 3, 4, 0.5, lmbda=2.0, evaluation_data=(xe, labels_e),
        monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
        monitor_training_cost=True, monitor_training_accuracy=True, verbose=False,
        epoch_callback=lambda j, info: seen.append(dict(info)),
    )
    assert len(ec) == len(ea) == len(tc) == len(ta) == 3 == len(seen)
    # The last entries describe the final network; recompute them network2's way, example by example.
    a = np.stack([reference.feedforward_example(net.weights, net.biases, r[:, None])[:, 0] for r in x])
    l2 = 0.5 * (2.0 / 20) * sum(np.linalg.norm(w) ** 2 for w in net.weights)
    per = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=1)
    assert tc[-1] == pytest.approx(per.mean() + l2, rel=1e-12)
    assert ta[-1] == int((np.argmax(a, axis=1) == np.argmax(y, axis=1)).sum())
    ae = np.stack([reference.feedforward_example(net.weights, net.biases, r[:, None])[:, 0] for r in xe])
    ye1 = np.eye(3)[labels_e]
    per_e = -np.sum(ye1 * np.log(ae) + (1 - ye1) * np.log(1 - ae), axis=1)
    assert ec[-1] == pytest.approx(per_e.mean() + 0.5 * (2.0 / 7) * sum(np.linalg.norm(w) ** 2 for w in net.weights), rel=1e-12)
    assert ea[-1] == int((np.argmax(ae, axis=1) == labels_e).sum())
    assert seen[-1]["training_cost"] == tc[-1] and seen[-1]["evaluation_accuracy"] == ea[-1]
    assert seen[0]["epoch"] == 0 and seen[0]["seconds"] >= 0 and seen[0]["correct"] is None
    assert net.SGD((x, y), 2, 4, 0.5, verbose=False) == ([], [], [], [])


def test_network_sgd_callbacks_can_stop_training() -> None:
    sizes = [3, 2]
    x, y = _data(6, sizes, 10)
    calls = []
    net = Network(sizes, seed=0)
    net.SGD((x, y), 5, 3, 1.0, verbose=False, callback=lambda j, k, nb: calls.append((j, k, nb)) or len(calls) == 6)
    assert calls == [(0, 0, 4), (0, 1, 4), (0, 2, 4), (0, 3, 4), (1, 0, 4), (1, 1, 4)]
    epochs = []
    net.SGD((x, y), 5, 3, 1.0, verbose=False, epoch_callback=lambda j, info: epochs.append(j) or j == 1)
    assert epochs == [0, 1]


def test_network_sgd_float32_stays_float32() -> None:
    sizes = [5, 4, 3]
    x, y = _data(7, sizes, 13)
    net = Network(sizes, seed=0, dtype=np.float32)
    arrays = [p.data for p in net.parameters()]
    dtypes = []

    def spy(j: int, k: int, nb: int) -> None:
        dtypes.extend(p.data.dtype for p in net.parameters())

    net.SGD((x, y), 2, 4, 3.0, verbose=False, callback=spy)
    assert set(dtypes) == {np.dtype(np.float32)}
    assert all(p.data is a for p, a in zip(net.parameters(), arrays))  # updated in place
    zs, acts = net.forward_trace(x.astype(np.float32), retain_grad=True)
    net.cost.fn(acts[-1], y.astype(np.float32)).backward()
    assert {z.grad.dtype for z in zs} | {p.grad.dtype for p in net.parameters()} == {np.dtype(np.float32)}
    assert net.feedforward(x).dtype == np.float32


def test_network_sgd_rejects_bad_arguments() -> None:
    net = Network([3, 2], seed=0)
    x, y = _data(8, [3, 2], 4)
    with pytest.raises(TypeError, match="lmbda must be a number.*test_data"):
        net.SGD((x, y), 1, 2, 1.0, list(zip(x, [0, 1, 0, 1])))
    with pytest.raises(ValueError, match=r"Network.SGD: X of shape \(4, 2\) does not fit 3 inputs"):
        net.SGD((x[:, :2], y), 1, 2, 1.0)
    with pytest.raises(ValueError, match=r"Network.SGD: targets of shape \(4, 3\)"):
        net.SGD((x, np.zeros((4, 3))), 1, 2, 1.0)
    with pytest.raises(ValueError, match=r"Network.SGD: labels must lie in \[0, 2\)"):
        net.SGD((x, np.array([0, 1, 2, 0])), 1, 2, 1.0)
    with pytest.raises(ValueError, match="mini_batch_size must be an int >= 1"):
        net.SGD((x, y), 1, 0, 1.0)
    with pytest.raises(ValueError, match="the data set is empty"):
        net.SGD([], 1, 1, 1.0)
    with pytest.raises(ValueError, match="item 1 has x of shape"):
        net.SGD([(x[0][:, None], y[0][:, None]), (x[1][:2, None], y[1][:, None])], 1, 1, 1.0)
    with pytest.raises(ValueError, match="monitoring the evaluation data needs evaluation_data"):
        net.SGD((x, y), 1, 1, 1.0, monitor_evaluation_accuracy=True)


def test_network_evaluate_counts_argmax_hits() -> None:
    net = Network([2, 3], init="zeros")
    net.biases[0][...] = [[0.0], [2.0], [1.0]]  # every input predicts class 1
    x = np.zeros((5, 2))
    assert net.evaluate((x, np.array([1, 1, 0, 2, 1]))) == 3
    assert net.evaluate(list(zip(x[:, :, None], [1, 0, 0, 0, 0]))) == 1
    assert net.accuracy((x, np.eye(3)[[1, 1, 0, 0, 0]])) == 2  # one-hot targets count by argmax


def test_network_runs_other_activations() -> None:
    x, y = _data(9, [3, 4, 2], 6)
    for act in ("tanh", "relu"):
        net = Network([3, 4, 2], seed=0, activation=act)
        net.SGD((x, y), 1, 2, 0.1, verbose=False)
        assert np.all(np.isfinite(net.feedforward(x)))
        assert act in repr(net)


# ============================================================================ save / load
def test_network_save_load_round_trip(tmp_path: pytest.TempPathFactory) -> None:
    for dtype, cost in ((np.float64, QuadraticCost), (np.float32, CrossEntropyCost)):
        net = Network([4, 6, 3], cost=cost, init="default", seed=1, dtype=dtype)
        path = tmp_path / f"net-{np.dtype(dtype).name}.json"
        net.save(path)
        back = load(path)
        assert back.sizes == net.sizes and back.cost is cost and back.dtype == np.dtype(dtype)
        for a, b in zip(net.weights + net.biases, back.weights + back.biases):
            np.testing.assert_array_equal(a, b)
        assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # no temporary file left behind
    data = json.loads((tmp_path / "net-float64.json").read_text())
    assert sorted(data) == ["biases", "cost", "sizes", "weights"]  # network2's layout exactly


def test_network_loads_a_network2_file_written_by_hand(tmp_path: pytest.TempPathFactory) -> None:
    w1 = [[0.5, -1.0], [2.0, 0.0], [0.1, 0.2]]
    b1 = [[0.0], [1.0], [-1.0]]
    w2 = [[1.0, -2.0, 0.5]]
    b2 = [[0.25]]
    path = tmp_path / "network2.json"
    with open(path, "w") as f:
        json.dump({"sizes": [2, 3, 1], "weights": [w1, w2], "biases": [b1, b2], "cost": "CrossEntropyCost"}, f)
    net = Network.load(path)
    assert net.cost is CrossEntropyCost and net.sizes == [2, 3, 1]
    x = np.array([[0.3], [-0.7]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    want = sig(np.array(w2) @ sig(np.array(w1) @ x + np.array(b1)) + np.array(b2))
    np.testing.assert_allclose(net.feedforward(x), want, rtol=1e-14)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not a JSON model file"),
        ("[1, 2]", "holds a JSON list"),
        ('{"sizes": [2, 1], "weights": [[[1, 2]]], "biases": [[[0]]]}', r"lacks the key\(s\) \['cost'\]"),
        ('{"sizes": [2, 1], "weights": [[[1, 2]]], "biases": [[[0]]], "cost": "os.system"}', "names the cost 'os.system'"),
        ('{"sizes": [2, 1], "weights": [[[1, 2, 3]]], "biases": [[[0]]], "cost": "QuadraticCost"}', r"weights\[0\] has shape \(1, 3\)"),
        ('{"sizes": [2, 1], "weights": [[[1], [2, 3]]], "biases": [[[0]]], "cost": "QuadraticCost"}', "not a rectangular array"),
        ('{"sizes": [2], "weights": [], "biases": [], "cost": "QuadraticCost"}', "has sizes"),
    ],
)
def test_network_load_rejects_bad_files(tmp_path: pytest.TempPathFactory, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        Network.load(path)
    assert str(path) in str(info.value)


def test_network_save_is_atomic(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.json"
    Network([3, 2], seed=0).save(path)
    before = path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(persistence_module.json, "dump", crash)
    with pytest.raises(OSError, match="disk full"):
        Network([3, 2], seed=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_network_state_dict_round_trip_keeps_views() -> None:
    a, b = Network([3, 4, 2], seed=0), Network([3, 4, 2], seed=1)
    view = b.weights[0]
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(view, a.weights[0])
    assert isinstance(b.forward(Tensor(np.zeros((1, 3)))), Tensor)

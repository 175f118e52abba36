"""The training options behind docs/experiments.md: L1, the η schedule, early stopping, gradient norms, and their CLI flags."""
from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nets import Network, mnist, reference
from _mnist_files import write_set

ROOT = Path(__file__).resolve().parent.parent


def _data(seed: int, sizes: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (n, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]


def _hand_l1_epochs(net: Network, x, y, epochs, m, eta, l1, n_for_l1):
    """Return network2-style L1 training written out: w ← w − (ηλ₁/n)·sgn(w) − (η/m)·Σₓ∇wₓ, biases unregularised."""
    weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    rng = copy.deepcopy(net.rng)
    n = len(x)
    for _ in range(epochs):
        order = rng.permutation(n)
        for k in range(0, n, m):
            idx = order[k : k + m]
            g = reference.backprop_batch(weights, biases, x[idx], y[idx])  # the batch-mean gradient
            weights = [w - (eta * l1 / n_for_l1) * np.sign(w) - eta * nw for w, nw in zip(weights, g.nabla_w)]
            biases = [b - eta * nb for b, nb in zip(biases, g.nabla_b)]
    return weights, biases


# ============================================================================ L1
@settings(max_examples=30)
@given(st.integers(2, 9), st.integers(1, 4), st.sampled_from([0.5, 3.0]), st.integers(0, 2**32 - 1))
def test_network_sgd_l1_equals_the_hand_update(n: int, m: int, l1: float, seed: int) -> None:
    sizes = [3, 4, 2]
    net = Network(sizes, seed=seed)
    x, y = _data(seed, sizes, n)
    want_w, want_b = _hand_l1_epochs(net, x, y, 2, m, 1.5, l1, n_for_l1=n)
    net.SGD((x, y), 2, m, 1.5, l1=l1, verbose=False)
    for l in range(len(want_w)):
        np.testing.assert_allclose(net.weights[l], want_w[l], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(net.biases[l], want_b[l], rtol=1e-10, atol=1e-12)


def test_network_sgd_l1_check_catches_scaling_by_the_batch_size() -> None:
    # Negative control: the same comparison with the L1 step scaled by m (the mini-batch) instead of n fails.
    sizes, n, m = [3, 4, 2], 8, 2
    net = Network(sizes, seed=5)
    x, y = _data(5, sizes, n)
    right_w, _ = _hand_l1_epochs(net, x, y, 1, m, 1.5, 3.0, n_for_l1=n)
    wrong_w, _ = _hand_l1_epochs(net, x, y, 1, m, 1.5, 3.0, n_for_l1=m)
    net.SGD((x, y), 1, m, 1.5, l1=3.0, verbose=False)
    # Sanity: the right hand update passes the positive test's comparison on this very case.
    for l in range(len(right_w)):
        np.testing.assert_allclose(net.weights[l], right_w[l], rtol=1e-10, atol=1e-12)
    assert not np.allclose(net.weights[0], wrong_w[0], rtol=1e-6, atol=1e-9)


def test_network_sgd_l1_enters_the_monitored_cost() -> None:
    sizes, n = [3, 2], 6
    net = Network(sizes, seed=1)
    x, y = _data(1, sizes, n)
    plain = net.total_cost((x, y))
    l1_term = (2.0 / n) * sum(np.abs(w).sum() for w in net.weights)
    # η = 0 leaves the parameters alone, so the monitored cost is the initial one plus the L1 term.
    _, _, training_cost, _ = net.SGD((x, y), 1, 2, 0.0, l1=2.0, monitor_training_cost=True, verbose=False)
    assert training_cost[0] == pytest.approx(plain + l1_term, rel=1e-12)
    assert l1_term > 0


# ============================================================================ η schedule and early stopping
def _stalled_setup(seed: int = 0):
    """Return a net with one output and labels all 0: accuracy is always 100 %, so it improves only at epoch 0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (6, 3))
    y = rng.uniform(0, 1, (6, 1))
    evaluation = (rng.uniform(-2, 2, (4, 3)), np.zeros(4, dtype=np.int64))
    return Network([3, 2, 1], seed=seed), x, y, evaluation


def test_network_sgd_eta_schedule_halves_after_k_stalled_epochs() -> None:
    net, x, y, evaluation = _stalled_setup()
    etas: list[float] = []
    net.SGD((x, y), 7, 2, 2.0, evaluation_data=evaluation, eta_schedule=2, verbose=False,
            epoch_callback=lambda j, info: etas.append(info["eta"]))
    # epoch 0 sets the best; epochs 1-2 stall, so η halves for epoch 3; 3-4 stall, halves for 5; 5-6 stall.
    assert etas == [2.0, 2.0, 2.0, 1.0, 1.0, 0.5, 0.5]


def test_network_sgd_eta_schedule_trains_like_separate_runs_at_the_halved_rates() -> None:
    net, x, y, evaluation = _stalled_setup(3)
    twin = copy.deepcopy(net)
    net.SGD((x, y), 5, 2, 2.0, evaluation_data=evaluation, eta_schedule=2, verbose=False)
    # The same shuffles (one rng), trained in pieces at the rates the schedule should use.
    twin.SGD((x, y), 3, 2, 2.0, verbose=False)
    twin.SGD((x, y), 2, 2, 1.0, verbose=False)
    for a, b in zip(net.weights, twin.weights):
        np.testing.assert_array_equal(a, b)
    # Negative control: the schedule really changed training; a constant η ends elsewhere.
    constant, *_ = _stalled_setup(3)
    constant.SGD((x, y), 5, 2, 2.0, verbose=False)
    assert not np.allclose(constant.weights[0], net.weights[0])


def test_network_sgd_eta_schedule_scales_the_regularisation_with_eta() -> None:
    net, x, y, evaluation = _stalled_setup(4)
    twin = copy.deepcopy(net)
    net.SGD((x, y), 4, 3, 1.0, lmbda=2.0, l1=1.0, evaluation_data=evaluation, eta_schedule=1, verbose=False)
    for eta in (1.0, 1.0, 0.5, 0.25):  # the best is epoch 0; every later epoch stalls and halves η
        twin.SGD((x, y), 1, 3, eta, lmbda=2.0, l1=1.0, verbose=False)
    for a, b in zip(net.weights, twin.weights):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_network_sgd_early_stop_ends_after_n_stalled_epochs() -> None:
    net, x, y, evaluation = _stalled_setup()
    infos: list[dict] = []
    net.SGD((x, y), 10, 2, 1.0, evaluation_data=evaluation, early_stop=3, verbose=False,
            epoch_callback=lambda j, info: infos.append(info))
    assert [i["epoch"] for i in infos] == [0, 1, 2, 3]
    assert infos[-1]["stop_reason"] and "3 epochs" in infos[-1]["stop_reason"]
    assert all(i["stop_reason"] is None for i in infos[:-1])


def test_network_sgd_early_stop_keeps_going_while_accuracy_improves() -> None:
    # Negative control for the stop rule: accuracy that keeps rising never triggers it.
    net, x, y, evaluation = _stalled_setup()
    rising = iter(range(100))
    net._count_correct = lambda X, labels: next(rising)  # type: ignore[method-assign]
    infos: list[dict] = []
    net.SGD((x, y), 6, 2, 1.0, evaluation_data=evaluation, early_stop=1, verbose=False,
            epoch_callback=lambda j, info: infos.append(info))
    assert len(infos) == 6 and infos[-1]["stop_reason"] is None


def test_network_sgd_early_stop_prints_why(capsys: pytest.CaptureFixture[str]) -> None:
    net, x, y, evaluation = _stalled_setup()
    net.SGD((x, y), 10, 2, 1.0, evaluation_data=evaluation, early_stop=1, eta_schedule=1)
    out = capsys.readouterr().out
    assert "Early stop: no improvement in evaluation accuracy for 1 epochs" in out
    assert out.count("Epoch ") == 2


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"l1": -1.0}, "l1 must be a number >= 0"),
        ({"l1": "0.1"}, "l1 must be a number"),
        ({"eta_schedule": 0, "evaluation_data": "ev"}, "eta_schedule must be None or an int >= 1"),
        ({"early_stop": 2.5, "evaluation_data": "ev"}, "early_stop must be None or an int >= 1"),
        ({"early_stop": True, "evaluation_data": "ev"}, "early_stop must be None or an int >= 1"),
        ({"eta_schedule": 2}, "eta_schedule watches the accuracy on evaluation_data"),
        ({"early_stop": 2}, "early_stop watches the accuracy on evaluation_data"),
    ],
)
def test_network_sgd_rejects_bad_schedule_arguments(kwargs: dict, words: str) -> None:
    net, x, y, evaluation = _stalled_setup()
    if kwargs.get("evaluation_data") == "ev":
        kwargs = dict(kwargs, evaluation_data=evaluation)
    with pytest.raises(ValueError, match="Network.SGD") as e:
        net.SGD((x, y), 1, 2, 1.0, verbose=False, **kwargs)
    assert words in str(e.value)


# ============================================================================ gradient norms
@settings(max_examples=30)
@given(
    st.lists(st.integers(1, 5), min_size=3, max_size=5),
    st.integers(1, 6),
    st.sampled_from(["quadratic", "cross-entropy"]),
    st.integers(0, 2**32 - 1),
)
def test_network_gradient_norms_equal_the_hand_derived_nabla_b(sizes: list[int], m: int, cost: str, seed: int) -> None:
    net = Network(sizes, cost=cost, init="default", seed=seed)
    x, y = _data(seed, sizes, m)
    g = reference.backprop_batch(net.weights, net.biases, x, y, cost)
    want = [np.linalg.norm(nb) for nb in g.nabla_b]
    np.testing.assert_allclose(net.gradient_norms((x, y)), want, rtol=1e-10, atol=1e-14)


def test_network_gradient_norms_check_catches_the_wrong_cost() -> None:
    # Negative control: the quadratic cost's oracle does not match a cross-entropy network's norms.
    sizes = [4, 3, 3, 2]
    net = Network(sizes, cost="cross-entropy", init="default", seed=7)
    x, y = _data(7, sizes, 5)
    wrong = [np.linalg.norm(nb) for nb in reference.backprop_batch(net.weights, net.biases, x, y, "quadratic").nabla_b]
    assert not np.allclose(net.gradient_norms((x, y)), wrong, rtol=1e-6)


def test_network_gradient_norms_leave_parameter_grads_alone() -> None:
    net = Network([3, 4, 2], seed=0)
    sentinel = np.full((3, 4), 7.0)
    net.model[0].w.grad = sentinel
    net.gradient_norms(_data(0, [3, 4, 2], 5))
    assert net.model[0].w.grad is sentinel
    assert all(p.grad is None for p in net.parameters()[1:])


def test_network_gradient_norms_vanish_towards_the_input_in_a_deep_sigmoid_net() -> None:
    sizes = [20, 8, 8, 8, 8, 3]
    x, y = _data(0, sizes, 50)
    norms = np.mean([Network(sizes, init="default", seed=s).gradient_norms((x, y)) for s in range(5)], axis=0)
    assert norms[0] < norms[1] < norms[2] < norms[3]


# ============================================================================ the command line
def _write_set(folder: Path, n_train: int = 60, n_test: int = 10) -> None:
    write_set(folder, n_train, n_test, gz=False)


def _spy_sgd(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []
    original = Network.SGD

    def spy(self, *args, **kwargs):
        calls.append({"n": len(args[0][0]), **kwargs})
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Network, "SGD", spy)
    return calls


def test_main_forwards_l1_schedule_early_stop_and_train_size(tmp_path, monkeypatch, capsys) -> None:
    _write_set(tmp_path)
    calls = _spy_sgd(monkeypatch)
    argv = ["--data", str(tmp_path), "--epochs", "2", "--seed", "0", "--l1", "0.25", "--eta-schedule", "3",
            "--early-stop", "4", "--train-size", "20"]
    assert mnist.main(argv) == 0
    (call,) = calls
    assert call["n"] == 20 and call["l1"] == 0.25 and call["eta_schedule"] == 3 and call["early_stop"] == 4
    assert len(call["evaluation_data"][0]) == 10  # the validation split: the last sixth of 60 training images
    out = capsys.readouterr().out
    assert "validation " in out and "eta 3" in out


def test_main_without_watch_flags_passes_no_evaluation_data(tmp_path, monkeypatch, capsys) -> None:
    _write_set(tmp_path)
    calls = _spy_sgd(monkeypatch)
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1", "--seed", "0", "--quiet"]) == 0
    assert calls[0]["evaluation_data"] is None and calls[0]["l1"] == 0.0 and calls[0]["n"] == 50
    assert "validation" not in capsys.readouterr().out


def test_main_early_stop_says_it_stopped(tmp_path, capsys) -> None:
    _write_set(tmp_path)
    # η tiny: validation accuracy cannot improve after epoch 0, so --early-stop 1 ends training after epoch 1.
    assert mnist.main(["--data", str(tmp_path), "--epochs", "9", "--seed", "0", "--eta", "1e-9", "--early-stop", "1"]) == 0
    out = capsys.readouterr().out
    assert "Epoch 1:" in out and "Epoch 2:" not in out
    assert "Stopped: early stop: no improvement in evaluation accuracy for 1 epochs" in out


def test_main_grad_norms_prints_one_norm_per_layer(tmp_path, capsys) -> None:
    _write_set(tmp_path)
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1", "--seed", "0", "--sizes", "784", "5", "5", "10",
                       "--init", "default", "--grad-norms", "--quiet"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("Gradient norms"))
    assert "mean of 5 mini-batches" in line  # 50 training images, batches of 10
    assert [w for w in line.split() if w.startswith("layer")] == ["layer", "layer", "layer"]


@pytest.mark.parametrize("argv, words", [
    (["--train-size", "51"], "--train-size 51 is more than the 50 training images"),
])
def test_main_rejects_a_train_size_beyond_the_data(tmp_path, capsys, argv, words) -> None:
    _write_set(tmp_path)
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1", *argv]) == 1
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--l1", "-1"), ("--eta-schedule", "0"), ("--early-stop", "x"), ("--train-size", "0")])
def test_main_parser_rejects_bad_new_flags(flag: str, value: str, capsys) -> None:
    with pytest.raises(SystemExit):
        mnist.build_parser().parse_args([flag, value])
    assert flag in capsys.readouterr().err


# ============================================================================ the example scripts
def _examples():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import experiments
        import sweep
    finally:
        sys.path.pop(0)
    return sweep, experiments


def _tiny_data(tmp_path: Path):
    _write_set(tmp_path, n_train=36, n_test=8)
    return mnist.load_data(tmp_path)


def test_sweep_main_prints_one_row_per_grid_point(tmp_path) -> None:
    sweep, _ = _examples()
    _write_set(tmp_path, n_train=36, n_test=8)
    printed: list[str] = []
    sweep.main(["--data", str(tmp_path), "--eta", "0.5", "3", "--batch-size", "5", "--width", "4", "6",
                "--epochs", "1", "--seeds", "0", "1"], report=printed.append)
    lines = printed[0].splitlines()
    assert lines[0].startswith("| η | batch | width")
    assert len(lines) == 2 + 4
    assert sum(1 for l in lines if l.startswith("| 0.5 |")) == 2


def test_sweep_run_reports_train_test_and_the_stop(tmp_path) -> None:
    sweep, _ = _examples()
    data = _tiny_data(tmp_path)
    r = sweep.run(data, sizes=(784, 4, 10), epochs=5, eta=1e-9, early_stop=1, seed=0)
    assert r["epochs_run"] == 2 and r["stopped"] == "epoch 1"
    assert 0 <= r["final_train"] <= 1 and r["final_test"] == r["test_curve"][-1][1]


def test_experiments_render_tables_from_stored_results() -> None:
    _, experiments = _examples()
    fake = {"final_test": 0.95, "best_test": 0.96, "final_train": 0.99, "seconds": 10.0, "epochs_run": 30,
            "final_eta": 3.0, "test_curve": [[e, 0.9 + e / 1000] for e in range(30)]}
    results = {f"{key}/seed={s}": fake for key, _ in experiments.q1_configs() for s in experiments.SEEDS}
    text = experiments.render(results)
    assert "### Q1" in text and "| η | 0.1 | 95.00 ± 0.00 |" in text
    assert "### Q2" not in text


def test_experiments_doc_tables_match_the_stored_results() -> None:
    # docs/experiments.md quotes the rendered tables; they must come from examples/results/experiments.json.
    _, experiments = _examples()
    if not os.path.exists(experiments.RESULTS):
        pytest.skip("no stored experiment results")
    doc = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    rendered = experiments.render(experiments.load_results())
    tables = [block for block in rendered.split("\n\n") if block.startswith("|")]
    assert tables
    for block in tables:
        assert block in doc, f"docs/experiments.md lacks this table, rendered from the stored results:\n{block}"

"""The book's own usage, as chapters 1 and 3 print it, with only the import line changed, on a small data subset."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from _mnist_files import write_set


@pytest.fixture
def book_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_set(tmp_path / "mnist", n_train=60, n_test=20)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "mnist"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_book_chapter1_network_py_usage(book_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nets import mnist_loader

    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    training_data = list(training_data)
    from nets import network

    net = network.Network([784, 30, 10])
    assert net.SGD(training_data, 3, 10, 3.0, test_data=test_data) is None
    lines = capsys.readouterr().out.splitlines()
    assert [re.fullmatch(r"Epoch (\d+): (\d+) / 20", line).group(1) for line in lines] == ["0", "1", "2"]
    # network.py's other names, as the book uses them
    x, y = training_data[0]
    assert x.shape == (784, 1) and y.shape == (10, 1)
    nabla_b, nabla_w = net.backprop(x, y)
    assert [w.shape for w in nabla_w] == [(30, 784), (10, 30)]
    net.update_mini_batch(training_data[:10], 3.0)
    assert 0 <= net.evaluate(test_data) <= 20
    np.testing.assert_allclose(network.sigmoid(np.zeros(2)), [0.5, 0.5])
    np.testing.assert_allclose(network.sigmoid_prime(np.zeros(1)), [0.25])
    net.SGD(training_data, 1, 10, 3.0)
    assert capsys.readouterr().out == "Epoch 0 complete\n"


def test_book_chapter3_network2_py_usage(book_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nets import mnist_loader

    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    training_data = list(training_data)
    from nets import network2

    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    net.SGD(training_data, 2, 10, 0.5, evaluation_data=test_data, monitor_evaluation_accuracy=True)
    out = capsys.readouterr().out
    assert re.fullmatch(r"(Epoch \d training complete\nAccuracy on evaluation data: \d+ / 20\n\n){2}", out), out

    # network2's positional order: lmbda, evaluation_data, then the four monitor flags
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
        training_data[:50], 2, 10, 0.5, 5.0, validation_data, True, True, True, True
    )
    assert len(evaluation_cost) == len(evaluation_accuracy) == len(training_cost) == len(training_accuracy) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        "Epoch 0 training complete",
        f"Cost on training data: {training_cost[0]}",
        f"Accuracy on training data: {training_accuracy[0]} / 50",
        f"Cost on evaluation data: {evaluation_cost[0]}",
        f"Accuracy on evaluation data: {evaluation_accuracy[0]} / 10",
        "",
    ]
    assert net.accuracy(validation_data) == evaluation_accuracy[-1]
    assert net.accuracy(training_data[:50], convert=True) == training_accuracy[-1]
    assert net.total_cost(training_data[:50], 5.0) == pytest.approx(training_cost[-1])
    assert net.total_cost(validation_data, 5.0, convert=True) == pytest.approx(evaluation_cost[-1])
    net.default_weight_initializer()
    assert float(np.abs(net.weights[0]).std()) < 0.1  # N(0, 1/784)
    net.save("net.json")
    loaded = network2.load("net.json")
    assert isinstance(loaded, network2.Network) and loaded.sizes == [784, 30, 10]
    np.testing.assert_array_equal(loaded.weights[0], net.weights[0])
    assert network2.vectorized_result(4).argmax() == 4 and mnist_loader.vectorized_result(4).shape == (10, 1)


def test_book_network2_default_is_the_default_initializer() -> None:
    from nets import network, network2

    # network2.Network(sizes) draws N(0, 1/n_in) weights; network.Network(sizes) draws N(0, 1)
    w2 = network2.Network([400, 5], seed=0).weights[0]
    w1 = network.Network([400, 5], seed=0).weights[0]
    np.testing.assert_allclose(w2, w1 / np.sqrt(400))
    assert network2.Network([3, 2]).cost.name == "CrossEntropyCost" and network.Network([3, 2]).cost.name == "QuadraticCost"


def test_book_mnist_loader_load_data_gives_array_pairs(book_data: Path) -> None:
    from nets import mnist_loader

    tr, va, te = mnist_loader.load_data()
    assert tr[0].shape == (50, 784) and va[0].shape == (10, 784) and te[1].shape == (20,)

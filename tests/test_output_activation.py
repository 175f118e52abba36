"""Per-layer activations in `Network`: the output layer gets the activation its cost needs, or is refused up front."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _mnist_files import write_set
from nets import CrossEntropyCost, Network, ReLU, Sigmoid, Tanh
from nets.mnist import main


def test_network_cross_entropy_gets_a_sigmoid_output_under_relu_hidden_layers() -> None:
    net = Network([4, 5, 3], cost="cross-entropy", activation="relu", seed=0)
    kinds = [type(layer) for layer in net.model.layers[1::2]]
    assert kinds == [ReLU, Sigmoid] and net.output_activation == "sigmoid"
    a = net.feedforward(np.random.default_rng(0).normal(size=(6, 4)) * 10)
    assert ((a >= 0) & (a <= 1)).all()  # a ReLU output would exceed 1 at these inputs


def test_network_quadratic_keeps_the_hidden_activation_on_the_output() -> None:
    net = Network([4, 5, 3], activation="tanh", seed=0)
    assert [type(layer) for layer in net.model.layers[1::2]] == [Tanh, Tanh]
    assert type(Network([4, 3], activation="tanh", output_activation="sigmoid").model.layers[-1]) is Sigmoid


@pytest.mark.parametrize("out", ["relu", "tanh", Tanh])
def test_network_refuses_a_cost_that_cannot_work_with_its_output(out: object) -> None:
    with pytest.raises(ValueError, match="CrossEntropyCost needs a sigmoid output layer .* cannot work with the output activation"):
        Network([4, 3], cost=CrossEntropyCost, activation="relu", output_activation=out)


def test_network_relu_cross_entropy_trains_where_it_used_to_diverge() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((200, 8))
    y = np.eye(2)[(x[:, 0] > 0.5).astype(int)]
    net = Network([8, 16, 2], cost="cross-entropy", init="default", activation="relu", seed=0)
    net.SGD((x, y), 5, 10, 0.5, verbose=False)
    assert net.evaluate((x, y.argmax(axis=1))) > 150


def test_network_output_activation_survives_save_and_load(tmp_path: Path) -> None:
    net = Network([3, 4, 2], activation="relu", output_activation="sigmoid", seed=0)
    path = tmp_path / "m.json"
    net.save(path)
    assert json.loads(path.read_text())["output_activation"] == "sigmoid"
    back = Network.load(path)
    assert back.output_activation == "sigmoid" and back.activation == "relu"
    np.testing.assert_array_equal(back.feedforward(np.ones((3, 1))), net.feedforward(np.ones((3, 1))))
    plain = tmp_path / "plain.json"
    Network([3, 2], cost="cross-entropy", activation="relu").save(plain)
    assert "output_activation" not in json.loads(plain.read_text())  # inferred from the cost on load


def test_cli_relu_with_cross_entropy_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_set(tmp_path, n_train=24, n_test=6)
    code = main(["--data", str(tmp_path), "--epochs", "1", "--seed", "0", "--activation", "relu", "--cost",
                 "cross-entropy", "--init", "default", "--eta", "0.5", "--quiet"])
    assert code == 0 and capsys.readouterr().out.startswith("Epoch 0:")

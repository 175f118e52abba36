"""nets.network3 (network3's drop-in), nets.expand, Module.train/eval/to.

The network3 layers go through ``assert_layer_conforms`` with a negative control each (the same
layer computing its activation through a deliberately wrong backward).  A network3-style script
trains end to end on synthetic images in seconds; a 1,000-image MNIST run needs ``MNIST_DIR``.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from tinygrad_bp import Function, Tensor
from tinygrad_bp.testing import ConformanceError, assert_layer_conforms

from nets import Linear, Sequential
from nets.adam import Adam
from nets.dropout import Dropout
from nets.expand import expand_data
from nets import network3
from nets.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer, sigmoid


class _SigmoidPrimeWrong(Function):
    """σ whose backward uses σ instead of σ(1 − σ): the negative control's bug."""

    def forward(ctx, z):
        s = 1.0 / (1.0 + np.exp(-z))
        ctx.saved = s
        return s

    def backward(ctx, grad_out):
        return (grad_out * ctx.saved,)


def _with_wrong_sigmoid(layer: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(network3.ACTIVATION_FNS, "sigmoid", lambda z: _SigmoidPrimeWrong.apply(z))


def test_conv_pool_layer_conforms_and_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = ConvPoolLayer((2, 1, 3, 3), (2, 1, 6, 6), (2, 2), sigmoid, rng=0)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 36))
    assert_layer_conforms(layer, [x], eps=1e-5)
    _with_wrong_sigmoid(layer, monkeypatch)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(layer, [x], eps=1e-5)


def test_fully_connected_layer_conforms_to_second_order_and_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = FullyConnectedLayer(4, 3, sigmoid, rng=0)
    x = np.random.default_rng(1).uniform(-1, 1, (3, 4))
    assert_layer_conforms(layer, [x], order=2)
    _with_wrong_sigmoid(layer, monkeypatch)
    with pytest.raises(ConformanceError):
        assert_layer_conforms(layer, [x])


class _DoubledGrad(Function):
    """The identity whose backward doubles grad_out."""

    def forward(ctx, z):
        return z.copy()

    def backward(ctx, grad_out):
        return (2 * grad_out,)


def test_softmax_layer_conforms_to_second_order_and_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = SoftmaxLayer(4, 3, rng=0)
    layer.w.data[:] = np.random.default_rng(2).standard_normal((4, 3))
    x = np.random.default_rng(3).uniform(-1, 1, (2, 4))
    assert_layer_conforms(layer.output, [x], order=2)  # a callable: the parameters' gradients are checked below
    assert_layer_conforms(layer, [x], order=2)
    monkeypatch.setitem(network3.ACTIVATION_FNS, "linear", lambda z: _DoubledGrad.apply(z))
    with pytest.raises(ConformanceError):
        assert_layer_conforms(layer, [x])


def test_layers_reject_inputs_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match=r"ConvPoolLayer: input of shape \(2, 10\) does not fit image_shape"):
        ConvPoolLayer((2, 1, 3, 3), (2, 1, 6, 6))(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="filter_shape .* expects 3 input maps"):
        ConvPoolLayer((2, 3, 3, 3), (2, 1, 6, 6))
    with pytest.raises(ValueError, match="activation_fn must be one of"):
        FullyConnectedLayer(2, 2, np.tanh)
    with pytest.raises(ValueError, match="layer 0 .* gives 10 values but layer 1 .* takes 7"):
        Network([FullyConnectedLayer(4, 10), SoftmaxLayer(7, 2)], 10)
    with pytest.raises(ValueError, match="the last layer must be a SoftmaxLayer"):
        Network([FullyConnectedLayer(4, 10)], 10)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return n 8×8 images of 4 classes: a bright 3×3 square in one quadrant, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.uniform(0, 0.3, (n, 8, 8))
    for k, (r, c) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4)]):
        x[y == k, r + 1 : r + 4, c + 1 : c + 4] += 0.7
    return x.reshape(n, 64), y


def test_network3_script_trains_end_to_end_on_synthetic_images(capsys: pytest.CaptureFixture[str]) -> None:
    train, val, test = _synthetic(400, 0), _synthetic(100, 1), _synthetic(100, 2)
    m = 10
    net = Network(
        [
            ConvPoolLayer((4, 1, 3, 3), (m, 1, 8, 8), (2, 2), ReLU, rng=0),
            FullyConnectedLayer(4 * 3 * 3, 20, ReLU, p_dropout=0.2, rng=1),
            SoftmaxLayer(20, 4, p_dropout=0.2, rng=2),
        ],
        m,
    )
    history = net.SGD(train, 3, m, 0.1, val, test, lmbda=0.1)
    out = capsys.readouterr().out
    assert "Epoch 0: validation accuracy" in out and "The corresponding test accuracy is" in out
    assert "Finished training network." in out and "Corresponding test accuracy of" in out
    assert len(history) == 3 and history[-1]["validation_accuracy"] > 0.95
    assert net.training  # SGD leaves the network in training mode; accuracy() evaluated in eval mode


def test_network3_sgd_accepts_adam_and_rejects_bad_data() -> None:
    train, val = _synthetic(100, 0), _synthetic(40, 1)
    net = Network([FullyConnectedLayer(64, 10, ReLU, rng=0), SoftmaxLayer(10, 4)], 10)
    hist = net.SGD(train, 3, 10, 0.0, val, optimizer=lambda p: Adam(p, lr=0.01), shuffle=True, seed=0, log=None)
    assert hist[-1]["validation_accuracy"] > 0.9
    with pytest.raises(ValueError, match=r"training_data X has shape \(100, 63\); the first layer takes 64"):
        net.SGD((train[0][:, :63], train[1]), 1, 10, 0.1, val, log=None)
    with pytest.raises(ValueError, match=r"validation_data labels must be in \[0, 4\)"):
        net.SGD(train, 1, 10, 0.1, (val[0], val[1] + 4), log=None)
    with pytest.raises(TypeError, match="must be a pair"):
        net.SGD(list(zip(*train)), 1, 10, 0.1, val, log=None)


def test_network3_dropout_is_off_in_eval_and_deterministic_under_a_seed() -> None:
    x = np.random.default_rng(0).uniform(0, 1, (5, 64))
    layer = FullyConnectedLayer(64, 8, ReLU, p_dropout=0.5, rng=3)
    a = layer(x).numpy()
    assert not np.allclose(a, layer(x).numpy())  # a fresh mask each call while training
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


def test_network3_dropout_is_network3s_unscaled_masks_then_one_minus_p() -> None:
    x = np.random.default_rng(1).uniform(0, 1, (4, 6))
    layer = FullyConnectedLayer(6, 3, network3.linear, p_dropout=0.25, rng=0)
    w, b = layer.w.data.copy(), layer.b.data.copy()
    keep = np.random.default_rng(0)
    keep.standard_normal((6, 3)), keep.standard_normal(3)  # the draws of the initial parameters
    mask = keep.random((4, 6)) >= 0.25
    np.testing.assert_allclose(layer(x).numpy(), (x * mask) @ w + b)
    np.testing.assert_allclose(layer.eval()(x).numpy(), (0.75 * x) @ w + b)


@pytest.mark.skipif(not os.environ.get("MNIST_DIR"), reason="real MNIST: set MNIST_DIR")
def test_network3_on_1000_mnist_images() -> None:
    from nets.mnist import load_data

    (x, y), (xv, yv), _ = load_data(os.environ["MNIST_DIR"], np.float32)
    m = 10
    net = Network(
        [
            ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2), ReLU, rng=0, dtype=np.float32),
            FullyConnectedLayer(20 * 12 * 12, 100, ReLU, rng=1, dtype=np.float32),
            SoftmaxLayer(100, 10, dtype=np.float32),
        ],
        m,
    )
    hist = net.SGD((x[:1000], y[:1000]), 2, m, 0.03, (xv[:500], yv[:500]), lmbda=0.1, log=None)
    assert hist[-1]["validation_accuracy"] > 0.5  # chance is 0.1; 200 steps of η 0.03 give about 0.66


# ---- expanded data ------------------------------------------------------------------------------------------------
def test_expand_data_matches_shifted_loops() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.random((3, 20)), np.array([4, 5, 6])
    x5, y5 = expand_data(x, y, (4, 5), shuffle=False)
    for i in range(3):
        img = x[i].reshape(4, 5)
        want = [img, np.zeros_like(img), np.zeros_like(img), np.zeros_like(img), np.zeros_like(img)]
        for r in range(4):
            for c in range(5):
                if r >= 1:
                    want[1][r, c] = img[r - 1, c]
                if r <= 2:
                    want[2][r, c] = img[r + 1, c]
                if c >= 1:
                    want[3][r, c] = img[r, c - 1]
                if c <= 3:
                    want[4][r, c] = img[r, c + 1]
        for k in range(5):
            np.testing.assert_array_equal(x5[5 * i + k].reshape(4, 5), want[k])
    assert y5.tolist() == [4] * 5 + [5] * 5 + [6] * 5


def test_expand_data_shuffle_keeps_pairs_and_rejects_bad_shapes() -> None:
    x = np.arange(6.0).reshape(6, 1).repeat(4, axis=1)  # image i is all i: its label
    x5, y5 = expand_data(x, np.arange(6), (2, 2), rng=0)
    assert sorted(y5.tolist()) == sorted(list(range(6)) * 5)
    assert all(set(row[row != 0].tolist()) <= {float(lab)} for row, lab in zip(x5, y5))
    with pytest.raises(ValueError, match=r"expand_data: x must be \(N, 784\)"):
        expand_data(np.zeros((2, 10)), np.zeros(2))


# ---- Module modes and dtype -------------------------------------------------------------------------------------------
def test_module_train_eval_reach_every_submodule() -> None:
    model = Sequential(Linear(2, 2), Dropout(0.5), Sequential(Dropout(0.1)))
    model.eval()
    assert [m.training for m in model.modules()] == [False] * 5
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match="train: mode must be a bool"):
        model.train("no")  # type: ignore[arg-type]


def test_module_to_converts_parameters_in_place() -> None:
    model = Sequential(Linear(3, 2, rng=0), ConvPoolLayer((2, 1, 2, 2), (1, 1, 3, 3), (1, 1)))
    params = model.parameters()
    model.to(np.float32)
    assert [p is q for p, q in zip(params, model.parameters())] == [True] * len(params)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert model[0](Tensor(np.zeros((1, 3), np.float32))).dtype == np.float32
    with pytest.raises(TypeError, match="to: dtype must be a float dtype"):
        model.to(np.int32)

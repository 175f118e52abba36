"""Hardening: anomaly mode, training divergence, model-file validation and atomic saving, untrusted data
(IDX and pickle fuzzing) and resource bounds.

The 10⁵-node backward without RecursionError is tests/test_tensor.py::test_backward_chain_of_100000_ops.
"""
from __future__ import annotations

import gc
import gzip
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import tracemalloc
import weakref
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import AnomalyError, Function, Tensor, detect_anomaly
from tinygrad_bp import tensor as tensor_module
from nets import Network, Sigmoid, TrainingDivergedError
from nets.mnist import FILES, MNISTError, load_pickle, main, read_idx, write_idx

# NaN and Inf are this file's subject: numpy's warnings about them are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

HERE = os.path.abspath(__file__)


def _line_of(marker: str) -> int:
    """Return the line number in this file of the line ending with ``# <marker>``."""
    with open(HERE, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.rstrip().endswith(f"# {marker}"):
                return i
    raise AssertionError(marker)


# ============================================================================ anomaly mode
def test_detect_anomaly_forward_names_op_class_and_source_line() -> None:
    x = Tensor([1.0, -1.0])
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        x.log()  # forward-site
    msg = str(info.value)
    assert "forward of Log (tinygrad_bp.ops.Log) produced nan" in msg
    assert "shape (2,)" in msg
    assert f"{HERE}:{_line_of('forward-site')} in test_detect_anomaly_forward_names_op_class_and_source_line" in msg
    assert "`x.log()  # forward-site`" in msg


def test_detect_anomaly_backward_names_op_and_where_it_was_created() -> None:
    x = Tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = x**0.5  # backward-site
        s = y.sum()
        with pytest.raises(AnomalyError) as info:
            s.backward()
    msg = str(info.value)
    assert "backward of Pow (tinygrad_bp.ops.Pow) produced inf in the gradient for input 0 of shape (2,)" in msg
    assert f"{HERE}:{_line_of('backward-site')}" in msg


class _NanBackward(Function):
    def forward(ctx, x):
        return x * 2.0

    def backward(ctx, grad_out):
        return (grad_out * np.nan,)


class _TwiceBackward(Function):
    # The correct backward of the same op: the control for the test below.
    def forward(ctx, x):
        return x * 2.0

    def backward(ctx, grad_out):
        return (grad_out * 2.0,)


def test_detect_anomaly_catches_a_custom_backward_and_passes_its_correct_twin() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        _TwiceBackward.apply(x).sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, 2.0])
        y = _NanBackward.apply(x)  # custom-site
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "backward of _NanBackward (test_hardening._NanBackward) produced nan in the gradient for input 0" in msg
    assert f"{HERE}:{_line_of('custom-site')}" in msg


def test_detect_anomaly_reports_a_nan_seed_flowing_into_backward() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        y = x * 3.0
        with pytest.raises(AnomalyError, match=r"gradient arriving at the backward of Mul .* holds nan"):
            y.backward(np.array([1.0, np.nan]))


def test_detect_anomaly_says_when_the_bad_value_came_in_with_an_input() -> None:
    with detect_anomaly(), pytest.raises(AnomalyError, match="input 0 already held inf"):
        Tensor([np.inf]) * 0.0


def test_detect_anomaly_points_past_nets_layers_to_the_user_line() -> None:
    net = Network([2, 2], seed=0)
    net.weights[0][0, 0] = np.nan
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        net.feedforward(np.ones((1, 2)))  # net-site
    msg = str(info.value)
    assert "forward of Linear (tinygrad_bp.ops.Linear)" in msg
    assert f"{HERE}:{_line_of('net-site')}" in msg and "layers.py" in msg
    assert "input 1 already held nan" in msg  # the weights


def test_detect_anomaly_checks_create_graph_backward() -> None:
    x = Tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = (x**1.5).sum()
        (gx,) = tg.grad(y, x, create_graph=True)
        with pytest.raises(AnomalyError, match="Pow"):
            gx.sum().backward()  # d/dx 1.5·x^0.5 is inf at 0


def test_detect_anomaly_off_lets_nan_through_and_restores_the_plain_engine() -> None:
    plain = Function.__dict__["apply"]
    x = Tensor([-1.0], requires_grad=True)
    assert np.isnan(x.log().data).all()  # off: numpy semantics, no check
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            with detect_anomaly():  # nesting keeps the mode on until the outer block ends
                pass
            assert tg.is_anomaly_enabled()
            x.log()
    assert not tg.is_anomaly_enabled()
    assert Function.__dict__["apply"] is plain and tensor_module._anomaly_hook is None
    z = Tensor([0.0], requires_grad=True)
    (z**0.5).sum().backward()  # no hook: the infinite gradient is accepted
    assert np.isinf(z.grad).all()


def test_detect_anomaly_as_a_decorator() -> None:
    @detect_anomaly()
    def f(t: Tensor) -> Tensor:
        return t.log()

    with pytest.raises(AnomalyError):
        f(Tensor([0.0]))
    assert not tg.is_anomaly_enabled()


def test_detect_anomaly_passes_a_finite_training_step_unchanged() -> None:
    # Control: anomaly mode must not change results or flag anything on a healthy network.
    X = np.random.default_rng(0).random((8, 3))
    labels = np.arange(8) % 2
    a, b = Network([3, 4, 2], seed=1), Network([3, 4, 2], seed=1)
    a.SGD((X, labels), 2, 4, 3.0, verbose=False)
    with detect_anomaly():
        b.SGD((X, labels), 2, 4, 3.0, verbose=False)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)


# ============================================================================ training divergence
def _blobs(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)) + labels[:, None]
    return X, labels


def test_sgd_divergence_stops_with_epoch_batch_and_advice(capsys: pytest.CaptureFixture[str]) -> None:
    X, labels = _blobs()
    net = Network([4, 5, 3], cost="cross-entropy", seed=0)
    with np.errstate(all="ignore"), pytest.raises(TrainingDivergedError) as info:
        net.SGD((X, labels), 30, 4, 1000.0, test_data=(X, labels))
    msg = str(info.value)
    assert "training diverged: the cost is" in msg and ("inf" in msg or "nan" in msg)
    assert "in epoch 0, mini-batch" in msg and "of 10" in msg
    assert "η = 1000" in msg and "lower it" in msg
    assert "Epoch" not in capsys.readouterr().out  # no garbage epochs printed before it stopped


def test_sgd_moderate_eta_trains_without_a_divergence_error() -> None:
    # Control for the test above: the same set-up with Nielsen's η runs to the end.
    X, labels = _blobs()
    net = Network([4, 5, 3], cost="cross-entropy", seed=0)
    net.SGD((X, labels), 3, 4, 0.5, verbose=False)
    assert all(np.isfinite(w).all() for w in net.weights)


def _tiny_idx(folder: Path, n: int = 24, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    for key, stem in FILES.items():
        write_idx(folder / stem, images if key.endswith("images") else labels)
    return folder


@pytest.mark.parametrize("extra, words", [([], "training diverged"), (["--detect-anomaly"], "error: anomaly: the ")])
def test_main_divergence_is_one_line_nonzero_exit_and_nothing_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    data = _tiny_idx(tmp_path)
    model = tmp_path / "net.json"
    argv = ["--data", str(data), "--epochs", "3", "--eta", "1000", "--cost", "cross-entropy", "--seed", "0"]
    argv += ["--sizes", "784", "10", "10", "--batch-size", "4", "--quiet", "--save", str(model), *extra]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err and "Warning" not in err
    assert not model.exists()


def test_main_detect_anomaly_flag_is_parsed_and_a_healthy_run_succeeds(tmp_path: Path) -> None:
    data = _tiny_idx(tmp_path)
    argv = ["--data", str(data), "--epochs", "1", "--seed", "0", "--quiet", "--detect-anomaly"]
    assert main(argv) == 0
    assert not tg.is_anomaly_enabled()

"""``python -m nets.mnist --arch conv``: trains, saves, plots and loads a conv net; MLP-only options are refused.

Also the network3 model files: a save/load round trip and clean refusals of broken files.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _mnist_files import write_set
from nets import persistence3
from nets.mnist import main
from nets.mnist.conv_command import conv_network
from nets.network3 import FullyConnectedLayer, Network, ReLU, SoftmaxLayer


def test_conv_cli_trains_saves_and_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_set(tmp_path, n_train=24, n_test=6)
    model = tmp_path / "conv.json"
    code = main(["--arch", "conv", "--data", str(tmp_path), "--epochs", "2", "--batch-size", "4", "--seed", "0",
                 "--dtype", "float32", "--save", str(model)])
    out = capsys.readouterr()
    assert code == 0
    assert [line.split(":")[0] for line in out.out.splitlines() if line.startswith("Epoch")] == ["Epoch 0", "Epoch 1"]
    assert "/ 6" in out.out and "eta 0.03, lmbda 0.1" in out.err
    data = json.loads(model.read_text())
    assert data["format"] == "network3" and [l["type"] for l in data["layers"]][-1] == "SoftmaxLayer"
    assert main(["--load", str(model), "--data", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Test: ")


def test_conv_cli_refuses_mlp_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--arch", "conv", "--sizes", "784", "10", "--activation", "relu"])
    assert e.value.code == 2
    assert "--sizes, --activation describe the MLP" in capsys.readouterr().err


def test_network3_file_round_trip_is_exact(tmp_path: Path) -> None:
    net = conv_network(3, np.float32, 10)
    path = tmp_path / "m.json"
    net.save(path)
    back = Network.load(path)
    for a, b in zip(net.parameters(), back.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
        assert a.dtype == b.dtype
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    np.testing.assert_array_equal(net.predict(x), back.predict(x))


def _saved(tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "m.json"
    Network([FullyConnectedLayer(4, 3, ReLU, p_dropout=0.5, rng=0), SoftmaxLayer(3, 2)], 2).save(path)
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(extra=1), "expected the keys"),
        (lambda d: d.update(dtype="int8"), "names the dtype"),
        (lambda d: d["layers"][0].update(activation_fn="os.system"), "names the activation"),
        (lambda d: d["layers"][0].update(type="Lambda"), "whose type is one of"),
        (lambda d: d["layers"][0].update(p_dropout=1.5), "p_dropout"),
        (lambda d: d["layers"][0]["w"].pop(), "must be a flat list of 12 numbers"),
        (lambda d: d["layers"][1]["b"].__setitem__(0, "1"), r"b\[0\] is '1', not a number"),
        (lambda d: d["layers"][1].update(n_in=5, w=[0.0] * 10), "gives 3 values but layer 1"),
        (lambda d: d["layers"][0].pop("n_out"), "missing or unknown key"),
    ],
)
def test_network3_load_refuses_broken_files(tmp_path: Path, change: object, message: str) -> None:
    path, data = _saved(tmp_path)
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        persistence3.load(path)


def test_network3_load_refuses_nan_and_save_refuses_to_overwrite_with_nan(tmp_path: Path) -> None:
    path, data = _saved(tmp_path)
    text = path.read_text()
    net = Network.load(path)
    net.layers[0].w.data[0, 0] = np.nan
    with pytest.raises(ValueError, match="holds NaN or Inf; not saving"):
        net.save(path)
    assert path.read_text() == text
    data["layers"][0]["w"][0] = 1e400  # overflows to inf when parsed
    path.write_text(json.dumps(data).replace("Infinity", "1e400"))
    with pytest.raises(ValueError, match="not a finite float64"):
        persistence3.load(path)

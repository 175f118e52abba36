"""Measure how far onnxruntime and PyTorch are from nets on the exported models (max abs output difference).

    python tools/compare_export.py

Needs onnx, onnxruntime and torch (none of them a dependency of nets).  Inputs are uniform in [0, 1)
(pixel-like, as MNIST) and in [-3, 3) (far into the sigmoid's flat tails); 1000 rows each.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from nets import Linear, Network, ReLU, Sequential, Sigmoid, Tanh  # noqa: E402
from nets.export import from_onnx, to_onnx, to_torch, torch_state_dict  # noqa: E402
from tinygrad_bp import Tensor, no_grad  # noqa: E402


def models(dt: type) -> dict[str, tuple[object, int]]:
    mixed = Sequential(Linear(6, 8, rng=1, dtype=dt), Tanh(), Linear(8, 5, rng=2, dtype=dt), ReLU(),
                       Linear(5, 3, rng=3, dtype=dt), Sigmoid())
    return {"Network [784, 30, 10]": (Network([784, 30, 10], seed=0, dtype=dt), 784), "tanh/relu/sigmoid": (mixed, 6)}


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    print(f"{'model':24} {'dtype':8} {'inputs':8} {'onnxruntime':>12} {'torch':>12} {'from_onnx':>10}")
    for dt in (np.float32, np.float64):
        for name, (model, n_in) in models(dt).items():
            path = folder / "m.onnx"
            to_onnx(model, path, (None, n_in))
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            twin = to_torch(model)
            twin.load_state_dict({k: torch.from_numpy(v) for k, v in torch_state_dict(model).items()})  # strict: names fit
            back = from_onnx(path)
            for lo, hi in ((0, 1), (-3, 3)):
                x = np.random.default_rng(0).uniform(lo, hi, (1000, n_in)).astype(dt)
                with no_grad():
                    ours, again = model(Tensor(x)).data, back(Tensor(x)).data
                with torch.no_grad():
                    t = twin(torch.from_numpy(x)).numpy()
                o = session.run(None, {"input": x})[0]
                d = [np.abs(v - ours).max() for v in (o, t, again)]
                print(f"{name:24} {np.dtype(dt).name:8} [{lo}, {hi})  {d[0]:12.3g} {d[1]:12.3g} {d[2]:10.3g}")


if __name__ == "__main__":
    main()

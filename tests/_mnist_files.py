"""Small synthetic MNIST folders for the tests: four IDX files under their standard names."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nets import mnist
from nets.mnist import FILES


def write_set(folder: Path, n_train: int = 12, n_test: int = 6, gz: bool = True, seed: int = 0) -> dict:
    """Return the arrays written: random 28×28 uint8 images and labels, as .gz or raw IDX files."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in FILES.items():
        mnist.write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays

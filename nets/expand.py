"""Expanded training data as network3's ``expand_mnist.py``: each image plus its four one-pixel shifts."""
from __future__ import annotations

from typing import Any

import numpy as np

from .init import as_generator

__all__ = ["expand_data"]


def expand_data(
    x: Any, y: Any, shape: tuple[int, int] = (28, 28), *, shuffle: bool = True, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (X5, y5): every image of x (N, H·W) followed by its shifts one pixel down, up, right and left.

    Vacated pixels are 0, as ``expand_mnist.py``; the 5·N images are then shuffled (with ``rng``)
    as it does, unless ``shuffle`` is False (then image i's five versions are rows 5i … 5i + 4).

    Examples
    --------
    >>> import numpy as np
    >>> from nets.expand import expand_data
    >>> x = np.arange(9.0).reshape(1, 9)
    >>> X5, y5 = expand_data(x, np.array([7]), (3, 3), shuffle=False)
    >>> X5.reshape(5, 3, 3)[1]      # shifted down one row, the top row cleared
    array([[0., 0., 0.],
           [0., 1., 2.],
           [3., 4., 5.]])
    >>> y5.tolist()
    [7, 7, 7, 7, 7]
    """
    x, y = np.asarray(x), np.asarray(y)
    h, w = shape
    if x.ndim != 2 or x.shape[1] != h * w:
        raise ValueError(f"expand_data: x must be (N, {h * w}) images of shape {shape}, got shape {x.shape}")
    if y.shape[:1] != x.shape[:1]:
        raise ValueError(f"expand_data: x has {x.shape[0]} images but y has shape {y.shape}")
    img = x.reshape(-1, h, w)
    out = np.zeros((img.shape[0], 5, h, w), dtype=x.dtype)
    out[:, 0] = img
    out[:, 1, 1:, :] = img[:, :-1, :]  # down
    out[:, 2, :-1, :] = img[:, 1:, :]  # up
    out[:, 3, :, 1:] = img[:, :, :-1]  # right
    out[:, 4, :, :-1] = img[:, :, 1:]  # left
    x5, y5 = out.reshape(-1, h * w), np.repeat(y, 5, axis=0)
    if shuffle:
        order = as_generator(rng).permutation(len(x5))
        x5, y5 = x5[order], y5[order]
    return x5, y5

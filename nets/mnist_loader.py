"""Nielsen's ``mnist_loader.py`` as a drop-in: ``load_data()``, ``load_data_wrapper()`` and ``vectorized_result``.

The data is looked up as :func:`nets.mnist.find_data` does (``$MNIST_DIR``, the user cache, a verified
download), after the book's own place, ``../data/mnist.pkl.gz``, when that file exists.  Both functions
return lists (the book's Python 2 code did; its Python 3 ports call ``list()`` on them, which still works).

Examples
--------
>>> from nets import mnist_loader
>>> mnist_loader.vectorized_result(1).shape
(10, 1)
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import mnist
from .network2 import vectorized_result

__all__ = ["load_data", "load_data_wrapper", "vectorized_result"]

_BOOK_PATH = os.path.join("..", "data", "mnist.pkl.gz")


def _where(data: Any) -> Any:
    if data is None and not os.environ.get("MNIST_DIR") and os.path.isfile(_BOOK_PATH):
        return _BOOK_PATH
    return data


def load_data(data: Any = None) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Return ``(training_data, validation_data, test_data)``, each a tuple (images (N, 784), labels (N,)).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from nets import mnist_loader
    >>> from nets.mnist import FILES, write_idx
    >>> d = tempfile.mkdtemp()
    >>> for key, stem in FILES.items():
    ...     write_idx(os.path.join(d, stem), np.zeros((12, 28, 28) if key.endswith("images") else 12, np.uint8))
    >>> [x.shape for x, y in mnist_loader.load_data(d)]
    [(10, 784), (2, 784), (12, 784)]
    """
    return mnist.load_data(_where(data))


def load_data_wrapper(data: Any = None) -> tuple[list, list, list]:
    """Return Nielsen's lists: training pairs (x (784, 1), one-hot y (10, 1)), validation and test (x, int).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from nets import mnist_loader
    >>> from nets.mnist import FILES, write_idx
    >>> d = tempfile.mkdtemp()
    >>> for key, stem in FILES.items():
    ...     write_idx(os.path.join(d, stem), np.ones((12, 28, 28) if key.endswith("images") else 12, np.uint8))
    >>> tr, va, te = mnist_loader.load_data_wrapper(d)
    >>> len(tr), tr[0][1].shape, va[0][1]
    (10, (10, 1), 1)
    """
    return mnist.load_data_wrapper(_where(data))

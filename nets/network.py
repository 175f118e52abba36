"""Nielsen's ``network.py`` as a drop-in: ``from nets import network`` and the book's chapter 1 code runs.

``network.Network(sizes)`` is a quadratic-cost sigmoid network with N(0, 1) weights and biases, and
``SGD(training_data, epochs, mini_batch_size, eta, test_data=None)`` takes network.py's positional
arguments, prints ``Epoch j: correct / n`` (or ``Epoch j complete``) and returns None.  It is a
:class:`nets.Network` (same gradients, same speed, every other method), trained by autodiff.

Examples
--------
>>> import numpy as np
>>> from nets import network
>>> net = network.Network([2, 3, 1], seed=0)
>>> data = [(np.array([[0.0], [1.0]]), np.array([[1.0]]))] * 4
>>> net.SGD(data, 1, 2, 3.0)
Epoch 0 complete
"""
from __future__ import annotations

from typing import Any

from .checks import one_hot
from .costs import QuadraticCost
from .mlp import Network as _Network
from .mlp import load
from .reference import sigmoid, sigmoid_prime
from .training import TrainingDivergedError

__all__ = ["Network", "sigmoid", "sigmoid_prime", "load", "one_hot", "TrainingDivergedError"]


class Network(_Network):
    """A network.py network: quadratic cost, N(0, 1) initial weights and biases, network.py's ``SGD``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, e.g. ``[784, 30, 10]``.
    **options
        Any of :class:`nets.Network`'s keyword arguments (``seed``, ``dtype``, ``cost``, ``init``,
        ``activation``), for what network.py does not have.

    Examples
    --------
    >>> from nets import network
    >>> network.Network([784, 30, 10], seed=0).biases[0].shape
    (30, 1)
    """

    def __init__(self, sizes: Any, **options: Any) -> None:
        options.setdefault("cost", QuadraticCost)
        options.setdefault("init", "large")
        super().__init__(sizes, **options)

    def SGD(  # type: ignore[override]  # noqa: N802 - Nielsen's name
        self, training_data: Any, epochs: int, mini_batch_size: int, eta: float, test_data: Any = None
    ) -> None:
        """Return None after training by mini-batch SGD, printing network.py's line after every epoch.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import network
        >>> net = network.Network([2, 2], seed=0)
        >>> X, labels = np.eye(2), np.array([0, 1])
        >>> net.SGD(list(zip(X[:, :, None], np.eye(2)[:, :, None])), 1, 1, 3.0, test_data=list(zip(X[:, :, None], labels)))
        Epoch 0: 2 / 2
        """
        _Network.SGD(self, training_data, epochs, mini_batch_size, eta, test_data=test_data)

"""Nielsen's ``network2.py`` as a drop-in: ``from nets import network2`` and the book's chapter 3 code runs.

``network2.Network(sizes, cost=network2.CrossEntropyCost)`` starts with network2's default
initialisation (weights N(0, 1/n_in), biases N(0, 1)), has ``large_weight_initializer()`` and
``default_weight_initializer()``, takes network2's positional order in
``SGD(training_data, epochs, mini_batch_size, eta, lmbda, evaluation_data, monitor_...)``, prints
``Epoch j training complete`` and the monitors' lines, and returns the four monitor lists.
``accuracy(data, convert=...)`` and ``total_cost(data, lmbda, convert=...)`` accept the book's
``convert`` flag; the kind of target (one-hot vectors or int labels) is read from the data itself,
so either value gives the right answer.

Examples
--------
>>> import numpy as np
>>> from nets import network2
>>> net = network2.Network([2, 10], cost=network2.CrossEntropyCost, seed=0)
>>> data = [(np.array([[1.0], [0.0]]), network2.vectorized_result(0))] * 4
>>> _ = net.SGD(data, 1, 2, 0.5, monitor_training_cost=True)   # doctest: +ELLIPSIS
Epoch 0 training complete
Cost on training data: ...
<BLANKLINE>
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .costs import CrossEntropyCost, QuadraticCost
from .init import init_params
from .mlp import Network as _Network
from .reference import sigmoid, sigmoid_prime

__all__ = ["Network", "QuadraticCost", "CrossEntropyCost", "load", "vectorized_result", "sigmoid", "sigmoid_prime"]


def vectorized_result(j: int) -> np.ndarray:
    """Return a (10, 1) column with 1.0 at index ``j`` and zeros elsewhere, as network2.py and mnist_loader do.

    Examples
    --------
    >>> from nets.network2 import vectorized_result
    >>> vectorized_result(3).ravel().tolist()
    [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < 10:
        raise ValueError(f"vectorized_result: j must be a digit 0..9, got {j!r}")
    e = np.zeros((10, 1))
    e[int(j)] = 1.0
    return e


class Network(_Network):
    """A network2.py network: cross-entropy by default, N(0, 1/n_in) weights, network2's ``SGD`` and monitors.

    Parameters
    ----------
    sizes : sequence of int
    cost : cost class
        ``network2.CrossEntropyCost`` (default) or ``network2.QuadraticCost``.
    **options
        Any of :class:`nets.Network`'s other keyword arguments (``seed``, ``dtype``, ``init``, ``activation``).

    Examples
    --------
    >>> from nets import network2
    >>> net = network2.Network([784, 30, 10], seed=0)
    >>> net.cost.name, net.init
    ('CrossEntropyCost', 'default')
    """

    _epoch_done = "Epoch {} training complete"
    _epoch_gap = True  # network2 prints an empty line after each epoch's report

    def __init__(self, sizes: Any, cost: Any = CrossEntropyCost, **options: Any) -> None:
        options.setdefault("init", "default")
        super().__init__(sizes, cost=cost, **options)

    def _reinitialize(self, init: str) -> None:
        weights, biases = init_params(self.sizes, init, self.rng, self.dtype)
        self.weights, self.biases = weights, biases
        self.init = init

    def default_weight_initializer(self) -> None:
        """Return nothing; redraw weights N(0, 1/n_in) and biases N(0, 1) from ``self.rng``.

        Examples
        --------
        >>> from nets import network2
        >>> net = network2.Network([100, 2], seed=0)
        >>> net.default_weight_initializer()
        >>> float(abs(net.weights[0]).max()) < 1.0
        True
        """
        self._reinitialize("default")

    def large_weight_initializer(self) -> None:
        """Return nothing; redraw weights and biases N(0, 1) from ``self.rng``, as network.py starts.

        Examples
        --------
        >>> from nets import network2
        >>> net = network2.Network([100, 2], seed=0)
        >>> net.large_weight_initializer()
        >>> float(abs(net.weights[0]).max()) > 1.0
        True
        """
        self._reinitialize("large")

    def SGD(  # type: ignore[override]  # noqa: N802 - Nielsen's name
        self,
        training_data: Any,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        lmbda: float = 0.0,
        evaluation_data: Any = None,
        monitor_evaluation_cost: bool = False,
        monitor_evaluation_accuracy: bool = False,
        monitor_training_cost: bool = False,
        monitor_training_accuracy: bool = False,
    ) -> tuple[list[float], list[int], list[float], list[int]]:
        """Return network2's four monitor lists after training, with network2's positional arguments and output.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import network2
        >>> net = network2.Network([2, 2], seed=0)
        >>> data = [(np.array([[1.0], [0.0]]), 0), (np.array([[0.0], [1.0]]), 1)]
        >>> net.SGD(data, 1, 1, 0.5, 0.0, data, False, True)
        Epoch 0 training complete
        Accuracy on evaluation data: 2 / 2
        <BLANKLINE>
        ([], [2], [], [])
        """
        return _Network.SGD(
            self, training_data, epochs, mini_batch_size, eta, lmbda, evaluation_data=evaluation_data,
            monitor_evaluation_cost=monitor_evaluation_cost, monitor_evaluation_accuracy=monitor_evaluation_accuracy,
            monitor_training_cost=monitor_training_cost, monitor_training_accuracy=monitor_training_accuracy,
        )

    def accuracy(self, data: Any, convert: bool = False) -> int:  # type: ignore[override]
        """Return how many inputs of ``data`` the network classifies right (``convert`` is accepted, see the module).

        Examples
        --------
        >>> import numpy as np
        >>> from nets import network2
        >>> net = network2.Network([2, 2], init="zeros")
        >>> net.accuracy([(np.zeros((2, 1)), network2.vectorized_result(0)[:2])], convert=True)
        1
        """
        return self.evaluate(data)

    def total_cost(self, data: Any, lmbda: float = 0.0, convert: bool = False) -> float:  # type: ignore[override]
        """Return network2's total cost of ``data`` with L2 strength ``lmbda`` (``convert`` is accepted, see the module).

        Examples
        --------
        >>> import numpy as np
        >>> from nets import network2
        >>> net = network2.Network([1, 1], cost=network2.QuadraticCost, init="zeros")
        >>> net.total_cost([(np.zeros((1, 1)), np.ones((1, 1)))], 0.0)
        0.125
        """
        return _Network.total_cost(self, data, lmbda)


def load(filename: Any) -> Network:
    """Return the ``network2.Network`` saved at ``filename`` by ``save`` (network2's ``load``).

    Examples
    --------
    >>> import os, tempfile
    >>> from nets import network2
    >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
    >>> network2.Network([2, 3, 1], seed=0).save(path)
    >>> type(network2.load(path)).__name__, network2.load(path).sizes
    ('Network', [2, 3, 1])
    """
    return Network.load(filename)

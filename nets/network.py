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

API_TABLE = """
How the book's classes differ from the main API, `nets.Network` (all three are `nets.Network` subclasses or wrappers):

| | `network.Network` (book ch. 1) | `network2.Network` (book ch. 3) | `nets.Network` |
|---|---|---|---|
| `Network(sizes)` | quadratic cost, N(0, 1) init | cross-entropy, N(0, 1/n_in) weights | quadratic, N(0, 1); `cost=`, `init=`, `seed=`, `dtype=`, `activation=` |
| `SGD` positional order | `training_data, epochs, mini_batch_size, eta, test_data` | `..., eta, lmbda, evaluation_data, monitor_evaluation_cost, monitor_evaluation_accuracy, monitor_training_cost, monitor_training_accuracy` | `..., eta, lmbda, test_data, evaluation_data, monitor_...`, then keyword-only `momentum`, `l1`, `eta_schedule`, `early_stop`, `verbose`, `callback`, `epoch_callback` |
| `SGD` prints | `Epoch j: correct / n` or `Epoch j complete` | `Epoch j training complete`, the monitor lines, an empty line | as network.py, then the monitor lines (`verbose=False` for none) |
| `SGD` returns | None | the four monitor lists | the four monitor lists |
| weight initialisers | — | `large_weight_initializer()`, `default_weight_initializer()` | `init=` at construction |
| `accuracy`, `total_cost` | — | accept `convert=` (the target kind is read from the data) | no `convert`; same detection |
| `load` | `nets.load` → `nets.Network` | `network2.load` → `network2.Network` | `Network.load(path, cost=, activation=)` |
| data | `mnist_loader.load_data_wrapper()` | same | `nets.mnist.load_data()` arrays, or `(X, Y)` tuples anywhere |

All of them: mini-batches go through forward and backward as whole matrices, `.grad` holds the true
gradient ∂C/∂p of the batch's mean cost during training, and the learning rate lives in the optimizer.
"""


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

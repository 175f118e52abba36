"""network3's interface on tinygrad_bp: `ConvPoolLayer`, `FullyConnectedLayer`, `SoftmaxLayer` and `Network`.

A drop-in for Nielsen's chapter-6 ``network3.py`` without Theano: the data are plain arrays
``(X, y)`` with X (N, 784) floats and y (N,) int labels (no shared variables), gradients come from
our engine, and every layer is a `Module`.  Dropout is network3's (unscaled masks while training,
inputs scaled by 1 − p at test time).  One addition: ``SGD`` can shuffle the mini-batches each
epoch and take another optimizer (network3 does neither).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from tinygrad_bp import Tensor, no_grad

from .init import as_generator
from .layers3 import ACTIVATION_FNS, ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer, linear, sigmoid, tanh
from .module import Module
from .optim import SGD as SGDOptimizer
from .softmax import LogLikelihoodCost

__all__ = ["ACTIVATION_FNS", "sigmoid", "tanh", "ReLU", "linear", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "Network"]


# ---- the network ----------------------------------------------------------------------------------------------
Data = tuple[Any, Any]


def _split(data: Any, n_in: int, n_classes: int, name: str, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Return (X, y) as arrays (X of ``dtype``, y int64), or raise naming ``name`` and the shapes."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"Network.SGD: {name} must be a pair (X, y) of arrays, got {type(data).__name__}")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != n_in:
        raise ValueError(f"Network.SGD: {name} X has shape {x.shape}; the first layer takes {n_in} values per image")
    if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"Network.SGD: {name} y must be {x.shape[0]} int labels (shape ({x.shape[0]},)), got shape {y.shape} dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"Network.SGD: {name} labels must be in [0, {n_classes}), got {y.min()}..{y.max()}")
    return x.reshape(x.shape[0], -1).astype(dtype, copy=False), y.astype(np.int64, copy=False)


def _n_in(layer: Module) -> int:
    if isinstance(layer, ConvPoolLayer):
        _, c, h, w = layer.image_shape
        return c * h * w
    return int(getattr(layer, "n_in"))


class Network(Module):
    """A network3 network: a list of layers ending in a `SoftmaxLayer`, trained by ``SGD`` on the log-likelihood.

    Parameters
    ----------
    layers : list of ConvPoolLayer / FullyConnectedLayer / SoftmaxLayer
        Each layer's output size must equal the next one's input size.
    mini_batch_size : int

    Examples
    --------
    >>> import numpy as np
    >>> from nets.network3 import FullyConnectedLayer, Network, SoftmaxLayer
    >>> net = Network([FullyConnectedLayer(4, 3, rng=0), SoftmaxLayer(3, 2)], 2)
    >>> net.predict(np.zeros((5, 4))).shape
    (5,)
    """

    def __init__(self, layers: Sequence[Module], mini_batch_size: int) -> None:
        self.layers = list(layers)
        if not self.layers or not isinstance(self.layers[-1], SoftmaxLayer):
            raise ValueError("Network: the last layer must be a SoftmaxLayer (network3 trains on its log-likelihood)")
        for i, (a, b) in enumerate(zip(self.layers, self.layers[1:])):
            if a.n_out != _n_in(b):
                raise ValueError(f"Network: layer {i} ({type(a).__name__}) gives {a.n_out} values but layer {i + 1} ({type(b).__name__}) takes {_n_in(b)}")
        if isinstance(mini_batch_size, bool) or not isinstance(mini_batch_size, (int, np.integer)) or mini_batch_size < 1:
            raise ValueError(f"Network: mini_batch_size must be a positive int, got {mini_batch_size!r}")
        self.mini_batch_size = int(mini_batch_size)

    @property
    def n_in(self) -> int:
        """Return the number of input values per image.

        Examples
        --------
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> Network([SoftmaxLayer(784, 10)], 10).n_in
        784
        """
        return _n_in(self.layers[0])

    def forward(self, x: Any) -> Tensor:
        """Return the logits (N, classes) of a batch x (N, n_in).

        Examples
        --------
        >>> import numpy as np
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> Network([SoftmaxLayer(3, 2)], 1)(np.ones((4, 3))).shape
        (4, 2)
        """
        for layer in self.layers:
            x = layer(x)
        return x

    def predict(self, x: Any, batch: int = 1000) -> np.ndarray:
        """Return the predicted class of each row of x, in evaluation mode (no dropout), ``batch`` rows at a time.

        Examples
        --------
        >>> import numpy as np
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> Network([SoftmaxLayer(3, 2)], 1).predict(np.ones((2, 3))).tolist()
        [0, 0]
        """
        was = self.training
        self.eval()
        dtype = self.layers[0].w.dtype
        try:
            with no_grad():
                x = np.asarray(x)
                outs = [self(Tensor(x[i : i + batch].astype(dtype, copy=False))).numpy().argmax(axis=1) for i in range(0, len(x), batch)]
        finally:
            self.train(was)
        return np.concatenate(outs) if outs else np.zeros(0, dtype=np.int64)

    def accuracy(self, data: Data) -> float:
        """Return the fraction of (X, y) classified correctly.

        Examples
        --------
        >>> import numpy as np
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> Network([SoftmaxLayer(3, 2)], 1).accuracy((np.ones((2, 3)), np.array([0, 1])))
        0.5
        """
        x, y = _split(data, self.n_in, self.layers[-1].n_out, "data", self.layers[0].w.dtype)
        return float(np.mean(self.predict(x) == y))

    def save(self, path: Any) -> None:
        """Return nothing; write the network to ``path`` as JSON (the layout is in ``nets.persistence3``).

        Examples
        --------
        >>> import os, tempfile
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> p = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> Network([SoftmaxLayer(3, 2)], 5).save(p)
        >>> Network.load(p).mini_batch_size
        5
        """
        from . import persistence3

        persistence3.save(self, path)

    @classmethod
    def load(cls, path: Any) -> "Network":
        """Return the network saved at ``path`` by ``save``, after checking every key, shape and number.

        Examples
        --------
        >>> import os, tempfile
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> p = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> Network([SoftmaxLayer(3, 2)], 5).save(p)
        >>> Network.load(p).layers[0].n_in
        3
        """
        from . import persistence3

        return persistence3.load(path)

    def cost(self, x: Tensor, y: np.ndarray, lmbda: float, n_batches: int) -> Tensor:
        """Return network3's cost: the mean log-likelihood plus ½·λ·Σw²/n_batches (biases not decayed).

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> round(Network([SoftmaxLayer(3, 2)], 1).cost(Tensor(np.ones((1, 3))), np.array([0]), 0.0, 1).item(), 6)
        0.693147
        """
        c = LogLikelihoodCost.fn_logits(self(x), y)
        if lmbda:
            l2 = sum(((layer.w * layer.w).sum() for layer in self.layers), Tensor(0.0, dtype=self.layers[0].w.dtype))
            c = c + l2 * (0.5 * lmbda / n_batches)
        return c

    def SGD(  # noqa: N802 (network3's name)
        self,
        training_data: Data,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        validation_data: Data,
        test_data: Data | None = None,
        lmbda: float = 0.0,
        *,
        optimizer: Callable[[list[Tensor]], Any] | None = None,
        shuffle: bool = False,
        seed: Any = None,
        log: Callable[[str], None] | None = print,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        callback: Callable[[int, int, int], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Return the per-epoch history after training with mini-batch SGD, printing network3's lines.

        As network3: batches taken in order (``shuffle=True`` reshuffles each epoch), the test accuracy
        measured whenever the validation accuracy is the best so far.  ``optimizer`` builds another
        optimizer from the parameters (e.g. ``lambda p: Adam(p, lr=1e-3)``; ``eta`` is then unused).
        ``on_epoch`` receives each epoch's record (epoch, validation/test accuracy, seconds);
        ``callback(epoch, k, n_batches)`` runs after each mini-batch and stops training when it returns True.

        Examples
        --------
        >>> import numpy as np
        >>> from nets.network3 import Network, SoftmaxLayer
        >>> rng = np.random.default_rng(0)
        >>> x = rng.random((40, 4)); y = (x[:, 0] > 0.5).astype(int)
        >>> net = Network([SoftmaxLayer(4, 2)], 10)
        >>> hist = net.SGD((x, y), 1, 10, 1.0, (x, y), log=None)
        >>> sorted(hist[0])
        ['epoch', 'seconds', 'test_accuracy', 'validation_accuracy']
        """
        dtype = self.layers[0].w.dtype
        n_classes = self.layers[-1].n_out
        x, y = _split(training_data, self.n_in, n_classes, "training_data", dtype)
        val = _split(validation_data, self.n_in, n_classes, "validation_data", dtype)
        test = None if test_data is None else _split(test_data, self.n_in, n_classes, "test_data", dtype)
        m = int(mini_batch_size)
        n_batches = len(x) // m
        if n_batches < 1:
            raise ValueError(f"Network.SGD: {len(x)} training images make no mini-batch of {m}")
        params = self.parameters()
        opt = optimizer(params) if optimizer is not None else SGDOptimizer(params, lr=eta)
        say = log or (lambda _text: None)
        g = as_generator(seed)
        best_val, best_iter, test_acc = -1.0, 0, None
        history: list[dict[str, Any]] = []
        for epoch in range(epochs):
            start = time.perf_counter()
            order = g.permutation(len(x)) if shuffle else np.arange(len(x))
            self.train()
            for j in range(n_batches):
                iteration = n_batches * epoch + j
                if iteration % 1000 == 0:
                    say(f"Training mini-batch number {iteration}")
                idx = order[j * m : (j + 1) * m]
                opt.zero_grad()
                self.cost(Tensor(x[idx]), y[idx], lmbda, n_batches).backward()
                opt.step()
                if callback is not None and callback(epoch, j, n_batches):
                    return history
            seconds = time.perf_counter() - start
            val_acc = self.accuracy(val)
            say(f"Epoch {epoch}: validation accuracy {val_acc:.2%}")
            if val_acc >= best_val:
                say("This is the best validation accuracy to date.")
                best_val, best_iter = val_acc, n_batches * (epoch + 1) - 1
                if test is not None:
                    test_acc = self.accuracy(test)
                    say(f"The corresponding test accuracy is {test_acc:.2%}")
            record = {"epoch": epoch, "validation_accuracy": val_acc, "test_accuracy": test_acc, "seconds": seconds}
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)
        say("Finished training network.")
        say(f"Best validation accuracy of {best_val:.2%} obtained at iteration {best_iter}")
        if test is not None:
            say(f"Corresponding test accuracy of {test_acc:.2%}")
        return history

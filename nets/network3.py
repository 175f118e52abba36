"""network3's interface on tinygrad_bp: `ConvPoolLayer`, `FullyConnectedLayer`, `SoftmaxLayer` and `Network`.

A drop-in for Nielsen's chapter-6 ``network3.py`` without Theano: the data are plain arrays
``(X, y)`` with X (N, 784) floats and y (N,) int labels (no shared variables), gradients come from
our engine, and every layer is a `Module`.  Two deliberate differences, both documented where they
act: dropout is inverted (survivors scaled by 1/(1 − p) while training, identity at test time, where
network3 scales the weights by 1 − p at test time; equal in expectation), and ``SGD`` can shuffle
the mini-batches each epoch and take another optimizer (network3 does neither).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from tinygrad_bp import Tensor, conv2d, linear as linear_op, max_pool2d, no_grad

from .dropout import dropout
from .init import as_generator
from .module import Module
from .optim import SGD as SGDOptimizer
from .softmax import LogLikelihoodCost

__all__ = ["sigmoid", "tanh", "ReLU", "linear", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "Network"]


# ---- activation functions, named as network3 names them ----------------------------------------------------------
def sigmoid(z: Tensor) -> Tensor:
    """Return σ(z) elementwise (network3's default activation).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets.network3 import sigmoid
    >>> sigmoid(Tensor([0.0])).numpy()
    array([0.5])
    """
    return z.sigmoid()


def tanh(z: Tensor) -> Tensor:
    """Return tanh(z) elementwise.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets.network3 import tanh
    >>> tanh(Tensor([0.0])).numpy()
    array([0.])
    """
    return z.tanh()


def ReLU(z: Tensor) -> Tensor:  # noqa: N802 (network3's name)
    """Return max(z, 0) elementwise.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets.network3 import ReLU
    >>> ReLU(Tensor([-1.0, 2.0])).numpy().tolist() == [0.0, 2.0]
    True
    """
    return z.relu()


def linear(z: Tensor) -> Tensor:
    """Return z unchanged (network3's ``linear``).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets.network3 import linear
    >>> linear(Tensor([3.0])).numpy()
    array([3.])
    """
    return z


ACTIVATION_FNS: dict[str, Callable[[Tensor], Tensor]] = {"sigmoid": sigmoid, "tanh": tanh, "ReLU": ReLU, "linear": linear}


def _activation_name(fn: Any, who: str) -> str:
    for name, f in ACTIVATION_FNS.items():
        if fn is f:
            return name
    raise ValueError(f"{who}: activation_fn must be one of nets.network3's {sorted(ACTIVATION_FNS)}, got {fn!r}")


def _ints(value: Any, n: int, who: str, name: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: {name} must be a tuple of {n} ints, got {value!r}") from None
    if len(out) != n or min(out) < 1:
        raise ValueError(f"{who}: {name} must be {n} positive ints, got {value!r}")
    return out


# ---- layers ---------------------------------------------------------------------------------------------------
class ConvPoolLayer(Module):
    """A convolutional layer followed by max-pooling, then the activation of (pooled + b), as network3's.

    Parameters
    ----------
    filter_shape : (F, C, fh, fw)
        Number of filters, input feature maps, filter height and width.
    image_shape : (mini_batch_size, C, H, W)
        The input's shape; the batch size is not enforced (any N works), C, H and W are.
    poolsize : (ph, pw)
    activation_fn : one of sigmoid, tanh, ReLU, linear
    rng : int, numpy Generator or None
        Weights ~ N(0, 1/n_out) with n_out = F·fh·fw/(ph·pw), biases ~ N(0, 1), as network3.
    dtype : numpy float dtype

    Examples
    --------
    >>> import numpy as np
    >>> from nets.network3 import ConvPoolLayer, ReLU
    >>> layer = ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), (2, 2), ReLU, rng=0)
    >>> layer(np.zeros((3, 784))).shape
    (3, 20, 12, 12)
    >>> layer.n_out
    2880
    """

    def __init__(
        self,
        filter_shape: Sequence[int],
        image_shape: Sequence[int],
        poolsize: Sequence[int] = (2, 2),
        activation_fn: Callable[[Tensor], Tensor] = sigmoid,
        *,
        rng: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        who = "ConvPoolLayer"
        self.filter_shape = _ints(filter_shape, 4, who, "filter_shape")
        self.image_shape = _ints(image_shape, 4, who, "image_shape")
        self.poolsize = _ints(poolsize, 2, who, "poolsize")
        self.activation = _activation_name(activation_fn, who)
        f, c, fh, fw = self.filter_shape
        _, c_img, h, w = self.image_shape
        if c != c_img:
            raise ValueError(f"{who}: filter_shape {self.filter_shape} expects {c} input maps but image_shape {self.image_shape} has {c_img}")
        if fh > h or fw > w:
            raise ValueError(f"{who}: filters {fh}x{fw} are larger than the images {h}x{w}")
        g = as_generator(rng)
        n_out = f * fh * fw / (self.poolsize[0] * self.poolsize[1])
        self.w = Tensor((g.standard_normal(self.filter_shape) * np.sqrt(1.0 / n_out)).astype(dtype), requires_grad=True)
        self.b = Tensor(g.standard_normal(f).astype(dtype), requires_grad=True)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Return (F, H_out, W_out), the shape of one image's output (max-pooling ignores the border, as network3).

        Examples
        --------
        >>> from nets.network3 import ConvPoolLayer
        >>> ConvPoolLayer((40, 20, 5, 5), (10, 20, 12, 12)).out_shape
        (40, 4, 4)
        """
        f, _, fh, fw = self.filter_shape
        _, _, h, w = self.image_shape
        return f, (h - fh + 1) // self.poolsize[0], (w - fw + 1) // self.poolsize[1]

    @property
    def n_out(self) -> int:
        """Return the number of outputs per image, F·H_out·W_out.

        Examples
        --------
        >>> from nets.network3 import ConvPoolLayer
        >>> ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28)).n_out
        2880
        """
        f, h, w = self.out_shape
        return f * h * w

    def forward(self, x: Any) -> Tensor:
        """Return activation(max_pool(conv(x, w)) + b) for x of shape (N, C·H·W) or (N, C, H, W).

        Examples
        --------
        >>> import numpy as np
        >>> from nets.network3 import ConvPoolLayer, linear
        >>> layer = ConvPoolLayer((1, 1, 2, 2), (1, 1, 3, 3), (2, 2), linear, rng=0)
        >>> layer(np.zeros((1, 9))).shape
        (1, 1, 1, 1)
        """
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.w.dtype)
        _, c, h, w = self.image_shape
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != c * h * w:
            raise ValueError(f"ConvPoolLayer: input of shape {x.shape} does not fit image_shape {self.image_shape}")
        x = x.reshape((x.shape[0], c, h, w))
        pooled = max_pool2d(conv2d(x, self.w), self.poolsize)
        return ACTIVATION_FNS[self.activation](pooled + self.b.reshape((1, -1, 1, 1)))

    def extra_repr(self) -> str:
        return f"filter_shape={self.filter_shape}, image_shape={self.image_shape}, poolsize={self.poolsize}, activation_fn={self.activation}"


class FullyConnectedLayer(Module):
    """A fully connected layer activation(dropout(x) @ w + b), as network3's (dropout inverted, see the module).

    Weights ~ N(0, 1/n_out), biases ~ N(0, 1), as network3.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.network3 import FullyConnectedLayer, ReLU
    >>> FullyConnectedLayer(640, 100, ReLU, p_dropout=0.5, rng=0)(np.ones((2, 640))).shape
    (2, 100)
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation_fn: Callable[[Tensor], Tensor] = sigmoid,
        p_dropout: float = 0.0,
        *,
        rng: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        who = type(self).__name__
        self.n_in, self.n_out = _ints((n_in, n_out), 2, who, "(n_in, n_out)")
        self.activation = _activation_name(activation_fn, who)
        if not 0.0 <= float(p_dropout) < 1.0:
            raise ValueError(f"{who}: p_dropout must be in [0, 1), got {p_dropout!r}")
        self.p_dropout = float(p_dropout)
        self._rng = as_generator(rng)
        self._init_params(dtype)

    def _init_params(self, dtype: Any) -> None:
        g = self._rng
        self.w = Tensor((g.standard_normal((self.n_in, self.n_out)) * np.sqrt(1.0 / self.n_out)).astype(dtype), requires_grad=True)
        self.b = Tensor(g.standard_normal(self.n_out).astype(dtype), requires_grad=True)

    def _inputs(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.w.dtype)
        if x.ndim < 1 or int(np.prod(x.shape[1:])) != self.n_in:
            raise ValueError(f"{type(self).__name__}: input of shape {x.shape} does not have n_in = {self.n_in} values per row")
        x = x.reshape((x.shape[0], self.n_in))
        if self.training and self.p_dropout:
            x = dropout(x, self.p_dropout, self._rng)
        return x

    def forward(self, x: Any) -> Tensor:
        """Return the layer's activations for x (N, n_in), or any (N, …) holding n_in values per row.

        Examples
        --------
        >>> import numpy as np
        >>> from nets.network3 import FullyConnectedLayer, linear
        >>> layer = FullyConnectedLayer(2, 1, linear, rng=0)
        >>> layer.w.data[:] = 1.0; layer.b.data[:] = 0.0
        >>> layer(np.array([[1.0, 2.0]])).numpy()
        array([[3.]])
        """
        return ACTIVATION_FNS[self.activation](linear_op(self._inputs(x), self.w, self.b))

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, activation_fn={self.activation}, p_dropout={self.p_dropout}"


class SoftmaxLayer(FullyConnectedLayer):
    """A softmax output layer; ``forward`` returns the logits z = dropout(x) @ w + b, ``output`` the probabilities.

    Weights and biases start at zero, as network3's.  Train with the log-likelihood of the logits
    (``LogLikelihoodCost.fn_logits``), which is exact and overflow-free.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.network3 import SoftmaxLayer
    >>> SoftmaxLayer(100, 10).output(np.ones((1, 100))).numpy().round(2)
    array([[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]])
    """

    def __init__(self, n_in: int, n_out: int, p_dropout: float = 0.0, *, rng: Any = None, dtype: Any = np.float64) -> None:
        super().__init__(n_in, n_out, linear, p_dropout, rng=rng, dtype=dtype)

    def _init_params(self, dtype: Any) -> None:
        self.w = Tensor(np.zeros((self.n_in, self.n_out), dtype=dtype), requires_grad=True)
        self.b = Tensor(np.zeros(self.n_out, dtype=dtype), requires_grad=True)

    def output(self, x: Any) -> Tensor:
        """Return softmax(forward(x)), the class probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> from nets.network3 import SoftmaxLayer
        >>> SoftmaxLayer(2, 2).output(np.zeros((1, 2))).numpy()
        array([[0.5, 0.5]])
        """
        return self.forward(x).log_softmax(axis=-1).exp()

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, p_dropout={self.p_dropout}"


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
    ) -> list[dict[str, Any]]:
        """Return the per-epoch history after training with mini-batch SGD, printing network3's lines.

        As network3: batches taken in order (``shuffle=True`` reshuffles each epoch), the test accuracy
        measured whenever the validation accuracy is the best so far.  ``optimizer`` builds another
        optimizer from the parameters (e.g. ``lambda p: Adam(p, lr=1e-3)``; ``eta`` is then unused).
        ``on_epoch`` receives each epoch's record (epoch, validation/test accuracy, seconds).

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

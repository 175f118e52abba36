"""network3's layers and activation functions: `ConvPoolLayer`, `FullyConnectedLayer`, `SoftmaxLayer`.

Written with the public extension API (tinygrad_bp's ops, nets' `Module`); ``nets.network3``
re-exports them with its `Network`.  Dropout is network3's own: while training each input is
kept or zeroed (unscaled), and at test time the inputs are scaled by 1 − p (``nets.Dropout`` is
PyTorch's inverted form instead; with network3's η the inverted form's 1/(1 − p) per layer made
the chapter's dropout net diverge, so the drop-in keeps network3's).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tinygrad_bp import Tensor, conv2d, linear as linear_op, max_pool2d

from .init import as_generator
from .module import Module

__all__ = ["sigmoid", "tanh", "ReLU", "linear", "ACTIVATION_FNS", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer"]


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
    """A fully connected layer activation(mask ⊙ x @ w + b) while training, activation((1 − p)·x @ w + b) at test time.

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
        if self.p_dropout and self.training:  # network3's dropout: survivors unscaled while training
            keep = self._rng.random(x.shape) >= self.p_dropout
            x = x * Tensor(keep.astype(x.dtype))
        elif self.p_dropout:  # ... and every input scaled by 1 − p at test time
            x = x * (1.0 - self.p_dropout)
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

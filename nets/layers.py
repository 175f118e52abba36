"""Layer types: `Linear` (row batches), the activations `Sigmoid`, `Tanh`, `ReLU`, and `Sequential`.

Each layer's forward is one graph node of tinygrad_bp, so a step through Nielsen's net records
Linear → Sigmoid → Linear → Sigmoid → cost and nothing else.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from tinygrad_bp import Tensor
from tinygrad_bp.ops import Linear as LinearOp
from tinygrad_bp.ops import ReLU as ReLUOp
from tinygrad_bp.ops import Sigmoid as SigmoidOp
from tinygrad_bp.ops import Tanh as TanhOp

from .init import init_linear
from .module import Module

__all__ = ["Linear", "Sigmoid", "Tanh", "ReLU", "Sequential", "ACTIVATIONS"]


class Linear(Module):
    """Return a fully connected layer z = x @ w + b for row batches x (N, n_in).

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths: w is (n_in, n_out), b is (n_out,).
    init : {"default", "large", "zeros"}
        ``"default"``: w ~ N(0, 1/n_in), b ~ N(0, 1) (network2); ``"large"``: both N(0, 1) (network.py).
    rng : int, numpy Generator or None
        The source of the random draws.
    dtype : numpy float dtype
        The parameters' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets import Linear
    >>> layer = Linear(3, 2, rng=0)
    >>> layer(Tensor(np.ones((5, 3)))).shape
    (5, 2)
    >>> layer
    Linear(n_in=3, n_out=2)
    """

    def __init__(
        self, n_in: int, n_out: int, *, init: str = "default", rng: Any = None, dtype: Any = np.float64
    ) -> None:
        for name, n in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"Linear: {name} must be an int, got {n!r}")
        if n_in < 1 or n_out < 1:
            raise ValueError(f"Linear: widths must be positive, got n_in={n_in}, n_out={n_out}")
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Linear: dtype must be a float dtype, got {dtype!r}") from None
        if dt.kind != "f":
            raise TypeError(f"Linear: dtype must be a float dtype, got {dt}")
        try:
            w, b = init_linear(int(n_in), int(n_out), init, rng, dt)
        except ValueError as e:
            raise ValueError(f"Linear: cannot make a layer of widths ({n_in}, {n_out}): {e}") from None
        self.w = Tensor(w, requires_grad=True)
        self.b = Tensor(b, requires_grad=True)

    @property
    def n_in(self) -> int:
        """Return the input width.

        Examples
        --------
        >>> from nets import Linear
        >>> Linear(4, 2).n_in
        4
        """
        return self.w.data.shape[0]

    @property
    def n_out(self) -> int:
        """Return the output width.

        Examples
        --------
        >>> from nets import Linear
        >>> Linear(4, 2).n_out
        2
        """
        return self.w.data.shape[1]

    def forward(self, x: Tensor) -> Tensor:
        """Return z = x @ w + b, recorded as a single node.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets import Linear
        >>> layer = Linear(2, 1, init="zeros")
        >>> layer.b.data[:] = 1.0
        >>> layer.forward(Tensor(np.ones((3, 2)))).numpy().ravel()
        array([1., 1., 1.])
        """
        return LinearOp.apply(x, self.w, self.b)

    def extra_repr(self) -> str:
        dt = self.w.data.dtype
        return f"n_in={self.n_in}, n_out={self.n_out}" + ("" if dt == np.float64 else f", dtype={dt}")


class Sigmoid(Module):
    """Return the elementwise logistic function σ(z) = 1 / (1 + e⁻ᶻ) as a layer.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets import Sigmoid
    >>> Sigmoid()(Tensor([0.0])).numpy()
    array([0.5])
    """

    def forward(self, z: Tensor) -> Tensor:
        """Return σ(z).

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets import Sigmoid
        >>> Sigmoid().forward(Tensor([0.0])).numpy()
        array([0.5])
        """
        return SigmoidOp.apply(z)


class Tanh(Module):
    """Return the elementwise hyperbolic tangent as a layer.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets import Tanh
    >>> Tanh()(Tensor([0.0])).numpy()
    array([0.])
    """

    def forward(self, z: Tensor) -> Tensor:
        """Return tanh(z).

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets import Tanh
        >>> Tanh().forward(Tensor([0.0])).numpy()
        array([0.])
        """
        return TanhOp.apply(z)


class ReLU(Module):
    """Return the elementwise max(z, 0) as a layer (derivative 0 at z = 0).

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from nets import ReLU
    >>> ReLU()(Tensor([-1.0, 2.0])).numpy().tolist() == [0.0, 2.0]
    True
    """

    def forward(self, z: Tensor) -> Tensor:
        """Return max(z, 0).

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets import ReLU
        >>> ReLU().forward(Tensor([3.0])).numpy()
        array([3.])
        """
        return ReLUOp.apply(z)


ACTIVATIONS: dict[str, type[Module]] = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}
"""The activation layers by the names the command line and ``Network(activation=...)`` use."""


class Sequential(Module):
    """Return a chain of layers applied in order; its parameters are named by position.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets import Linear, Sequential, Sigmoid
    >>> model = Sequential(Linear(4, 3, rng=0), Sigmoid(), Linear(3, 2, rng=1))
    >>> model(Tensor(np.zeros((1, 4)))).shape
    (1, 2)
    >>> len(model), type(model[1]).__name__
    (3, 'Sigmoid')
    """

    def __init__(self, *layers: Module) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def named_children(self) -> Iterator[tuple[str, Any]]:
        """Return an iterator over (position as text, layer).

        Examples
        --------
        >>> from nets import Sequential, Sigmoid, Tanh
        >>> [(name, type(layer).__name__) for name, layer in Sequential(Tanh(), Sigmoid()).named_children()]
        [('0', 'Tanh'), ('1', 'Sigmoid')]
        """
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x: Tensor) -> Tensor:
        """Return the output of the last layer after passing ``x`` through all of them.

        Examples
        --------
        >>> from tinygrad_bp import Tensor
        >>> from nets import ReLU, Sequential, Tanh
        >>> Sequential(Tanh(), ReLU()).forward(Tensor([0.5])).numpy().round(4)
        array([0.4621])
        """
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


def activation_class(activation: Any, who: str) -> type:
    """Return the activation layer class for a name in ``ACTIVATIONS`` or a ``Module`` subclass, or raise naming ``who``.

    Examples
    --------
    >>> from nets.layers import activation_class
    >>> activation_class("tanh", "Network").__name__
    'Tanh'
    """
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(f"{who}: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        return ACTIVATIONS[activation]
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation
    raise TypeError(f"{who}: activation must be a name or a Module class, got {activation!r}")

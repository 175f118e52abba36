"""The Nielsen-compatible `Network`: network.py's and network2.py's interface, trained by autodiff.

Internally the net is a ``Sequential`` of row-form ``Linear`` layers and activations, and a
mini-batch goes through forward and backward as whole-matrix ops.  ``weights`` and ``biases``
show the same parameters in Nielsen's shapes, as views that write through.  During training each
parameter's ``.grad`` is the true gradient ∂C/∂p of the mini-batch's mean cost; the learning rate
lives in the optimizer (``nets.SGD``'s ``lr``).
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np

from tinygrad_bp import Tensor, no_grad

from . import fit, persistence
from .batches import as_arrays, label_array, targets
from .checks import float_dtype, is_number, layer_sizes, numbers, one_hot
from .costs import COSTS, QuadraticCost, cost_name, get_cost
from .init import INITS, as_generator, init_params
from .layers import ACTIVATIONS, Linear, Sequential, activation_class
from .module import Module
from .training import TrainingDivergedError

__all__ = ["Network", "TrainingDivergedError", "load", "one_hot"]

_EVAL_CHUNK = 10_000  # rows per forward pass when evaluating, to bound memory


class Network(Module):
    """Return a fully connected sigmoid network with Nielsen's ``network.py``/``network2.py`` interface.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, e.g. ``[784, 30, 10]``.
    cost : cost class or name
        ``QuadraticCost`` (network.py) or ``CrossEntropyCost`` (network2), or ``"quadratic"`` /
        ``"cross-entropy"``.
    init : {"large", "default", "zeros"}
        ``"large"``: weights and biases N(0, 1), as network.py; ``"default"``: weights N(0, 1/n_in),
        biases N(0, 1), as network2.
    seed : int, numpy Generator or None
        Seeds ``self.rng``, which draws the initial parameters and then every epoch's shuffle,
        so the same seed gives bit-identical training.
    dtype : numpy float dtype
        The dtype of parameters and of all computation; data is converted once, up front.
    activation : {"sigmoid", "tanh", "relu"} or Module class
        The activation of the hidden layers.  ``cost.delta`` and ``nets.reference`` assume sigmoid.
    output_activation : {"sigmoid", "tanh", "relu"}, Module class or None
        The output layer's activation.  None: the one the cost needs (``cost.output``: sigmoid for
        ``CrossEntropyCost``), else ``activation`` (the quadratic cost works with any output).  A cost
        that cannot work with the output given is refused with a ValueError that says so.

    Attributes
    ----------
    sizes, num_layers, cost, rng, dtype, model
        ``model`` is the ``Sequential`` of ``Linear`` and activation layers holding the parameters.
    weights, biases : list of ndarray
        Nielsen's shapes, weights[l] (out, in) and biases[l] (out, 1), as views of the layers'
        parameters: ``net.weights[0][...] = w`` changes the first layer.

    Examples
    --------
    >>> import numpy as np
    >>> from nets import Network
    >>> net = Network([2, 3, 1], seed=0)
    >>> net.weights[0].shape, net.biases[1].shape
    ((3, 2), (1, 1))
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0], [1.0], [1.0], [1.0]])
    >>> _ = net.SGD((X, Y), epochs=300, mini_batch_size=2, eta=3.0, verbose=False)
    >>> np.round(net.feedforward(X)).ravel()
    array([0., 1., 1., 1.])
    """

    _epoch_done = "Epoch {} complete"  # network.py's line when there is no test data
    _epoch_gap = False  # whether an empty line ends each epoch's report (network2's output)

    def __init__(
        self,
        sizes: Sequence[int],
        cost: Any = QuadraticCost,
        init: str = "large",
        seed: Any = None,
        dtype: Any = np.float64,
        activation: Any = "sigmoid",
        output_activation: Any = None,
    ) -> None:
        dt = float_dtype(dtype, "Network")
        sizes = layer_sizes(sizes, "Network", dt.itemsize)
        if init not in INITS:
            raise ValueError(f"Network: init must be one of {INITS}, got {init!r}")
        act_cls = activation_class(activation, "Network")
        self.sizes = sizes
        self.num_layers = len(sizes)
        self.cost = get_cost(cost)
        out_cls = _output_class(self.cost, activation, output_activation)
        self.output_activation = next((k for k, v in ACTIVATIONS.items() if v is out_cls), out_cls.__name__)
        self._act_cls, self._out_cls = act_cls, out_cls
        self.init = init
        self.dtype = dt
        self.activation = activation if isinstance(activation, str) else act_cls.__name__
        self.rng = as_generator(seed)
        try:
            weights, biases = init_params(sizes, init, self.rng, dt)
        except ValueError as e:  # e.g. widths beyond numpy's maximum dimension
            raise ValueError(f"Network: cannot make layers of sizes {sizes}: {e}") from None
        layers: list[Module] = []
        for l, (w, b) in enumerate(zip(weights, biases)):
            lin = Linear(w.shape[1], w.shape[0], init="zeros", dtype=dt)
            lin.w.data[...] = w.T
            lin.b.data[...] = b[:, 0]
            layers += [lin, (out_cls if l == len(weights) - 1 else act_cls)()]
        self.model = Sequential(layers)
        self._linears: list[Linear] = layers[0::2]  # type: ignore[assignment]
        self._one = np.ones((), dt)  # backward's seed: .grad is ∂C/∂p itself
        self._forwards = [layer.forward for layer in layers]  # the step's forward, re-bound by SGD

    # ---- Nielsen's views of the parameters --------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """Return weights[l] (out, in) for every layer, as writable views of the Linear layers' w (in, out).

        Examples
        --------
        >>> from nets import Network
        >>> net = Network([3, 2], seed=0)
        >>> net.weights[0][...] = 1.0
        >>> net.model[0].w.data
        array([[1., 1.],
               [1., 1.],
               [1., 1.]])
        """
        return [lin.w.data.T for lin in self._linears]

    @weights.setter
    def weights(self, values: Sequence[Any]) -> None:
        self._assign(values, self.weights, "weights")

    @property
    def biases(self) -> list[np.ndarray]:
        """Return biases[l] (out, 1) for every layer, as writable views of the Linear layers' b (out,).

        Examples
        --------
        >>> from nets import Network
        >>> net = Network([3, 2], seed=0)
        >>> net.biases[0][...] = [[1.0], [2.0]]
        >>> net.model[0].b.data
        array([1., 2.])
        """
        return [lin.b.data[:, None] for lin in self._linears]

    @biases.setter
    def biases(self, values: Sequence[Any]) -> None:
        self._assign(values, self.biases, "biases")

    def _assign(self, values: Sequence[Any], views: list[np.ndarray], what: str) -> None:
        values = list(values)
        if len(values) != len(views):
            raise ValueError(f"Network.{what}: got {len(values)} arrays for {len(views)} layers")
        arrays = [numbers(v, f"Network.{what}", f"layer {l}") for l, v in enumerate(values)]
        for l, (v, view) in enumerate(zip(arrays, views)):
            if v.shape != view.shape:
                raise ValueError(f"Network.{what}: layer {l} needs shape {view.shape}, got {v.shape}")
        for v, view in zip(arrays, views):
            view[...] = v

    # ---- forward ---------------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """Return the output Tensor for a row batch Tensor x (N, n_in), recording the graph.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets import Network
        >>> Network([3, 2], seed=0).forward(Tensor(np.zeros((4, 3)))).shape
        (4, 2)
        """
        return self.model.forward(x)

    def forward_trace(self, x: Any, retain_grad: bool = False) -> tuple[list[Tensor], list[Tensor]]:
        """Return ``(zs, activations)`` of a row batch: zs[l] = zˡ⁺¹ and activations[0] = x, as Tensors.

        With ``retain_grad=True`` every zˡ keeps its ``.grad`` after ``backward``, which is then
        autodiff's δˡ = ∂C/∂zˡ.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> net = Network([3, 4, 2], seed=0)
        >>> zs, acts = net.forward_trace(np.ones((5, 3)), retain_grad=True)
        >>> net.cost.fn(acts[-1], np.zeros((5, 2))).backward()
        >>> [z.grad.shape for z in zs]
        [(5, 4), (5, 2)]
        """
        a = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.dtype))
        zs, activations = [], [a]
        layers = self.model.layers
        for lin, act in zip(layers[0::2], layers[1::2]):
            z = lin.forward(a)
            if retain_grad:
                z.retain_grad()
            a = act.forward(z)
            zs.append(z)
            activations.append(a)
        return zs, activations

    def _rows(self, a: Any, who: str) -> tuple[np.ndarray, str]:
        a = numbers(a, f"Network.{who}", "the input", self.dtype)
        n_in = self.sizes[0]
        if a.ndim == 1 and a.shape[0] == n_in:
            return a[None, :], "vector"
        if a.ndim == 2 and a.shape == (n_in, 1):
            return a.T, "column"
        if a.ndim == 2 and a.shape[1] == n_in:
            return a, "rows"
        raise ValueError(
            f"Network.{who}: input of shape {a.shape} fits neither a column ({n_in}, 1) nor rows (N, {n_in})"
        )

    def feedforward(self, a: Any) -> np.ndarray:
        """Return the network's output for a column (n_in, 1) as (n_out, 1), or for rows (N, n_in) as (N, n_out).

        A shape (n_in, 1) is always read as one column, as network.py does; a 1-D (n_in,) input
        gives a 1-D output.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> net = Network([784, 30, 10], seed=0)
        >>> net.feedforward(np.zeros((784, 1))).shape, net.feedforward(np.zeros((7, 784))).shape
        ((10, 1), (7, 10))
        """
        rows, kind = self._rows(a, "feedforward")
        with no_grad():
            out = self.model.forward(Tensor(rows)).data
        if kind == "column":
            return out.T.copy()
        return out[0] if kind == "vector" else out

    def _arrays(self, data: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``data`` as X (N, n_in) in the net's dtype and raw targets: int labels (N,) or rows (N, n_out)."""
        return as_arrays(data, self.sizes[0], self.sizes[-1], self.dtype, f"Network.{who}")

    def _targets(self, T: np.ndarray) -> np.ndarray:
        return targets(T, self.sizes[-1], self.dtype)

    _labels = staticmethod(label_array)

    def _predict(self, X: np.ndarray) -> Iterable[tuple[slice, np.ndarray]]:
        with no_grad():
            for k in range(0, X.shape[0], _EVAL_CHUNK):
                part = slice(k, k + _EVAL_CHUNK)
                yield part, self.model.forward(Tensor(X[part])).data

    def _count_correct(self, X: np.ndarray, labels: np.ndarray) -> int:
        return int(sum(int((np.argmax(a, axis=1) == labels[part]).sum()) for part, a in self._predict(X)))

    def _total_cost(self, X: np.ndarray, Y: np.ndarray, lmbda: float, l1: float = 0.0) -> float:
        n = X.shape[0]
        total = 0.0
        with no_grad():
            for part, a in self._predict(X):
                total += float(self.cost.fn(Tensor(a), Tensor(Y[part])).data) * a.shape[0]
        cost = total / n
        if lmbda:
            cost += 0.5 * (lmbda / n) * sum(float(np.sum(np.square(w, dtype=np.float64))) for w in self.weights)
        if l1:
            cost += (l1 / n) * sum(float(np.sum(np.abs(w), dtype=np.float64)) for w in self.weights)
        return cost

    def evaluate(self, test_data: Any) -> int:
        """Return how many inputs' largest output is at their label.

        ``test_data`` is Nielsen's list of (x (n_in, 1), int label), or an ``(X, labels)`` tuple;
        one-hot targets instead of labels count by their argmax, like network2's ``accuracy``.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> net = Network([2, 2], init="zeros")
        >>> net.biases[0][...] = [[1.0], [0.0]]
        >>> net.evaluate((np.zeros((3, 2)), np.array([0, 0, 1])))
        2
        """
        X, T = self._arrays(test_data, "evaluate")
        return self._count_correct(X, self._labels(T))

    accuracy = evaluate

    def total_cost(self, data: Any, lmbda: float = 0.0) -> float:
        """Return network2's total cost: the mean of the cost over ``data`` plus (λ/2n)·Σ‖W‖², n = len(data).

        Int labels are one-hot encoded first (network2's ``convert=True``).

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> net = Network([1, 1], init="zeros")
        >>> net.total_cost((np.zeros((4, 1)), np.ones((4, 1))))
        0.125
        """
        if not is_number(lmbda):
            raise TypeError(f"Network.total_cost: lmbda must be a number, got {type(lmbda).__name__}")
        X, T = self._arrays(data, "total_cost")
        return self._total_cost(X, self._targets(T), lmbda)

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return ∂Cₓ/∂a = a − y of the quadratic cost, as network.py does.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> Network([1, 1]).cost_derivative(np.array([[0.75]]), np.array([[1.0]]))
        array([[-0.25]])
        """
        return output_activations - y

    # ---- gradients and training (their code is in nets.fit, one topic per module) ------------------
    backprop = fit.backprop
    gradient_norms = fit.gradient_norms
    SGD = fit.SGD
    update_mini_batch = fit.update_mini_batch

    # ---- persistence (the format and its checks are in nets.persistence) -------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Return nothing; write the network as network2's JSON (sizes, weights, biases, cost), atomically.

        The file is written to a short temporary name in the same folder and renamed over
        ``path``, so a crash never leaves a half-written model; a symlink is followed, and the file
        gets the mode ``open(path, "w")`` would give it.  A non-float64 dtype or a non-sigmoid
        activation is recorded in extra keys, which network2's loader ignores.  A custom cost or
        activation class is saved by its name: load such a file with ``Network.load(path,
        cost=MyCost)`` or ``activation=MyActivation``.

        Examples
        --------
        >>> import os, tempfile
        >>> from nets import Network
        >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> Network([3, 2], seed=0).save(path)
        >>> Network.load(path).sizes
        [3, 2]
        """
        where = os.fspath(path)
        inferred = _output_class(self.cost, self._act_cls, None)
        out = None if self._out_cls is inferred else self.output_activation
        data = persistence.model_dict(
            self.sizes, self.weights, self.biases, cost_name(self.cost), self.dtype, self.activation, where,
            output_activation=out,
        )
        persistence.write_json_atomic(where, data)

    @classmethod
    def load(
        cls, path: str | os.PathLike, seed: Any = None, dtype: Any = None, *, cost: Any = None, activation: Any = None
    ) -> "Network":
        """Return the network stored at ``path`` in network2's JSON layout.

        The cost and activation are looked up by name in fixed allow-lists (``nets.costs.COSTS``,
        ``nets.layers.ACTIVATIONS``), never by evaluating anything from the file; a model saved
        with a custom class loads when that class is passed as ``cost=`` or ``activation=`` (its
        name must match the file's).

        Everything is checked before the network is built: the file is a regular file no bigger
        than its ``sizes`` can need, with at most ``nets.persistence.MAX_LAYERS`` layers; the keys
        (``sizes``, ``weights``, ``biases``, ``cost``, and optionally ``dtype`` and ``activation``,
        nothing else); that sizes are positive ints; that every array is a rectangular list of JSON
        numbers whose shape fits ``sizes``; that every value is finite in the dtype.  So a corrupted
        or hostile file can neither allocate more than its own size suggests nor yield a network
        holding NaN.

        Raises
        ------
        ValueError
            The file is not a regular file, is not UTF-8 JSON (binary, truncated), is larger than
            its sizes need, breaks the schema, names an unknown cost, dtype or activation, holds
            arrays whose shapes do not fit ``sizes``, or a NaN or infinite value; the message names
            the file and the key, and quotes at most a short excerpt of the file.
        OSError
            The file cannot be opened.

        Examples
        --------
        >>> import os, tempfile
        >>> from nets import Network
        >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> Network([2, 1], seed=0).save(path)
        >>> Network.load(path).cost.name
        'QuadraticCost'
        """
        costs = dict(COSTS) if cost is None else {cost_name(get_cost(cost)): get_cost(cost)}
        acts: dict[str, Any] = dict(ACTIVATIONS)
        if activation is not None:
            act_cls = activation_class(activation, "Network.load")
            acts = {activation if isinstance(activation, str) else act_cls.__name__: act_cls}
        parts = persistence.read_model(path, dtype, costs.__contains__, acts.__contains__)
        act = parts["activation"] if parts["activation"] in ACTIVATIONS else acts[parts["activation"]]
        out = parts["output_activation"]
        out = out if out is None or out in ACTIVATIONS else acts[out]
        net = cls(parts["sizes"], cost=costs[parts["cost"]], init="zeros", seed=seed, dtype=parts["dtype"], activation=act,
                  output_activation=out)
        for view, arr in zip(net.weights + net.biases, parts["weights"] + parts["biases"]):
            view[...] = arr
        return net

    def __repr__(self) -> str:
        extra = "" if self.activation == "sigmoid" else f", activation={self.activation!r}"
        return (
            f"Network(sizes={self.sizes}, cost={getattr(self.cost, 'name', self.cost)}, "
            f"init={self.init!r}, dtype={self.dtype.name}{extra})"
        )


def load(filename: str | os.PathLike, seed: Any = None, dtype: Any = None, *, cost: Any = None,
         activation: Any = None) -> Network:
    """Return the ``Network`` saved at ``filename`` (network2's ``load``).

    Examples
    --------
    >>> import os, tempfile
    >>> from nets import Network, load
    >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
    >>> Network([2, 3, 1], seed=0).save(path)
    >>> load(path).num_layers
    3
    """
    return Network.load(filename, seed=seed, dtype=dtype, cost=cost, activation=activation)


def _output_class(cost: Any, activation: Any, output_activation: Any) -> type:
    """Return the output layer's activation class: the one given, else the cost's need, else the hidden one.

    Raises ValueError when the cost needs another output than the one given, before any training.
    """
    needed = getattr(cost, "output", None)
    if output_activation is None:
        return activation_class(needed if needed is not None else activation, "Network")
    out_cls = activation_class(output_activation, "Network")
    if needed is not None and out_cls is not activation_class(needed, "Network"):
        given = output_activation if isinstance(output_activation, str) else out_cls.__name__
        raise ValueError(
            f"Network: {cost_name(cost)} needs a {needed} output layer (its logarithms need outputs in (0, 1)), "
            f"so it cannot work with the output activation {given!r}; leave output_activation unset to get {needed}"
        )
    return out_cls

"""The Nielsen-compatible `Network`: network.py's and network2.py's interface, trained by autodiff.

Internally the net is a ``Sequential`` of row-form ``Linear`` layers and activations, and a
mini-batch goes through forward and backward as whole-matrix ops.  ``weights`` and ``biases``
show the same parameters in Nielsen's shapes, as views that write through.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from math import isfinite
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from tinygrad_bp import Tensor, enable_grad, grad, no_grad

from . import optim
from .costs import COSTS, QuadraticCost, _numbers, get_cost
from .init import INITS, as_generator, init_params
from .layers import ACTIVATIONS, Linear, Sequential
from .module import Module

__all__ = ["Network", "TrainingDivergedError", "load", "one_hot"]

_EVAL_CHUNK = 10_000  # rows per forward pass when evaluating, to bound memory
_DTYPES = ("float64", "float32")


def one_hot(labels: Any, n_out: int, dtype: Any = np.float64) -> np.ndarray:
    """Return int labels (N,) as one-hot rows (N, n_out).

    Examples
    --------
    >>> from nets.network import one_hot
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"one_hot: labels must be a 1-D int array, got shape {labels.shape} and dtype {labels.dtype}")
    labels = labels.astype(np.intp, copy=False)
    if labels.size and (labels.min() < 0 or labels.max() >= n_out):
        raise ValueError(f"one_hot: labels must lie in [0, {n_out}), got range [{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.shape[0], n_out), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


class TrainingDivergedError(FloatingPointError):
    """Return the error ``Network.SGD`` raises when the cost of a mini-batch is NaN or infinite.

    The message gives the epoch, the mini-batch and η, and advises a smaller η.  By then the
    parameters hold the result of the step that overflowed, so reload or re-initialise the net.

    Examples
    --------
    >>> import numpy as np
    >>> from nets import Network, TrainingDivergedError
    >>> net = Network([2, 1], seed=0)
    >>> net.weights[0][...] = np.nan
    >>> try:
    ...     net.SGD((np.ones((4, 2)), np.ones((4, 1))), 1, 2, 3.0, verbose=False)
    ... except TrainingDivergedError as e:
    ...     print(str(e).split(";")[0])
    Network.SGD: training diverged: the cost is nan in epoch 0, mini-batch 1 of 2
    """


def _diverged(cost: float, epoch: int, k: int, n_batches: int, eta: float) -> str:
    return (
        f"Network.SGD: training diverged: the cost is {cost} in epoch {epoch}, mini-batch {k + 1} of {n_batches}; "
        f"the learning rate η = {eta:g} is too large for this network: lower it (try η = {eta / 10:g}) and "
        "train again from a fresh or saved network"
    )


_MAX_MODEL_BYTES = 1 << 30  # far beyond any MLP this package trains; stops a wrong file from filling memory
_MODEL_KEYS = ("sizes", "weights", "biases", "cost")
_OPTIONAL_KEYS = ("dtype", "activation")


def _fsync_folder(folder: str) -> None:
    # Make the rename itself durable; some file systems and platforms cannot open a folder, which is fine.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _parse_array(value: Any, shape: tuple[int, int], dt: np.dtype, where: str, sizes: list[int]) -> np.ndarray:
    """Return a JSON list of rows of numbers as an array of ``shape``, or raise ValueError saying what is wrong."""
    if not (isinstance(value, list) and all(isinstance(row, list) for row in value)):
        raise ValueError(f"{where} is not a rectangular array of numbers (a list of rows)")
    widths = sorted({len(row) for row in value})
    if len(widths) > 1:
        raise ValueError(f"{where} is not a rectangular array of numbers: its rows have lengths {widths}")
    got = (len(value), widths[0] if widths else 0)
    if got != shape:
        raise ValueError(f"{where} has shape {got}; sizes {sizes} need {shape}")
    for i, row in enumerate(value):
        for j, x in enumerate(row):
            if x.__class__ is not float and x.__class__ is not int:  # not bool, str, null, list or dict
                raise ValueError(f"{where}[{i}][{j}] is {x!r}, not a number")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{where} holds an integer too large for a float") from None
    with np.errstate(over="ignore"):
        arr = arr.astype(dt)
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{where}[{i}][{j}] is {value[i][j]!r}, not a finite {dt.name}")
    return arr


def _parse_model(
    data: Any, who: str, dtype: Any
) -> tuple[list[int], str, str, str, list[np.ndarray], list[np.ndarray]]:
    """Return (sizes, cost, dtype, activation, weights, biases) of a parsed model file after checking all of it."""
    if not isinstance(data, dict):
        raise ValueError(f"{who} holds a JSON {type(data).__name__}, not an object with keys {list(_MODEL_KEYS)}")
    missing = [k for k in _MODEL_KEYS if k not in data]
    if missing:
        raise ValueError(f"{who} lacks the key(s) {missing}")
    unknown = sorted(k for k in data if k not in _MODEL_KEYS + _OPTIONAL_KEYS)
    if unknown:
        raise ValueError(f"{who} has unknown key(s) {unknown}; a model file holds {list(_MODEL_KEYS + _OPTIONAL_KEYS)}")
    cost = data["cost"]
    if not isinstance(cost, str) or cost not in COSTS:
        raise ValueError(f"{who} names the cost {cost!r}, which is not one of {sorted(COSTS)}")
    sizes = data["sizes"]
    if not (
        isinstance(sizes, list) and len(sizes) >= 2 and all(s.__class__ is int and s >= 1 for s in sizes)
    ):
        raise ValueError(f"{who} has sizes {sizes!r}; expected a list of at least two positive ints")
    if dtype is not None:
        try:
            dt = np.dtype(dtype).name
        except TypeError:
            dt = repr(dtype)
    else:
        dt = data.get("dtype", "float64")
    if not isinstance(dt, str) or dt not in _DTYPES:
        raise ValueError(f"{who} asks for dtype {dt!r}; expected one of {list(_DTYPES)}")
    activation = data.get("activation", "sigmoid")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"{who} names the activation {activation!r}, which is not one of {sorted(ACTIVATIONS)}")
    n_layers = len(sizes) - 1
    arrays: dict[str, list[np.ndarray]] = {}
    for key in ("weights", "biases"):
        values = data[key]
        if not isinstance(values, list) or len(values) != n_layers:
            raise ValueError(f"{who}: '{key}' must be a list of {n_layers} arrays for sizes {sizes}")
        arrays[key] = [
            # Nielsen's shapes: weights[l] (out, in) and biases[l] (out, 1).
            _parse_array(v, (sizes[l + 1], sizes[l] if key == "weights" else 1), np.dtype(dt), f"{who}: {key}[{l}]", sizes)
            for l, v in enumerate(values)
        ]
    return sizes, cost, dt, activation, arrays["weights"], arrays["biases"]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


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
        The activation after every layer.  ``cost.delta`` and ``nets.reference`` assume sigmoid.

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

    def __init__(
        self,
        sizes: Sequence[int],
        cost: Any = QuadraticCost,
        init: str = "large",
        seed: Any = None,
        dtype: Any = np.float64,
        activation: Any = "sigmoid",
    ) -> None:
        try:
            sizes = [int(n) for n in sizes]
        except (TypeError, ValueError):
            raise TypeError(f"Network: sizes must be a sequence of ints, got {sizes!r}") from None
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"Network: sizes needs at least two positive layer widths, got {sizes}")
        if init not in INITS:
            raise ValueError(f"Network: init must be one of {INITS}, got {init!r}")
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Network: dtype must be a float dtype, got {dtype!r}") from None
        if dt.kind != "f":
            raise TypeError(f"Network: dtype must be a float dtype, got {dt}")
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"Network: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
            act_cls = ACTIVATIONS[activation]
        elif isinstance(activation, type) and issubclass(activation, Module):
            act_cls = activation
        else:
            raise TypeError(f"Network: activation must be a name or a Module class, got {activation!r}")
        self.sizes = sizes
        self.num_layers = len(sizes)
        self.cost = get_cost(cost)
        self.init = init
        self.dtype = dt
        self.activation = activation if isinstance(activation, str) else act_cls.__name__
        self.rng = as_generator(seed)
        try:
            weights, biases = init_params(sizes, init, self.rng, dt)
        except ValueError as e:  # e.g. widths beyond numpy's maximum dimension
            raise ValueError(f"Network: cannot make layers of sizes {sizes}: {e}") from None
        layers: list[Module] = []
        for w, b in zip(weights, biases):
            lin = Linear(w.shape[1], w.shape[0], init="zeros", dtype=dt)
            lin.w.data[...] = w.T
            lin.b.data[...] = b[:, 0]
            layers += [lin, act_cls()]
        self.model = Sequential(layers)
        self._linears: list[Linear] = layers[0::2]  # type: ignore[assignment]

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
        arrays = [_numbers(v, f"Network.{what}", f"layer {l}") for l, v in enumerate(values)]
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
        a = _numbers(a, f"Network.{who}", "the input", self.dtype)
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

    # ---- data handling ---------------------------------------------------------------------------
    def _arrays(self, data: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``data`` as X (N, n_in) in the net's dtype and raw targets: int labels (N,) or rows (N, n_out)."""
        n_in, n_out = self.sizes[0], self.sizes[-1]
        if (
            isinstance(data, tuple)
            and len(data) == 2
            and isinstance(data[0], np.ndarray)
            and isinstance(data[1], np.ndarray)
            and data[0].ndim >= 2
            and data[1].ndim >= 1
            and data[0].shape[0] == data[1].shape[0]
        ):
            X, T = data
            if X.ndim == 3 and X.shape[2] == 1:
                X = X[:, :, 0]
            if T.ndim == 3 and T.shape[2] == 1:
                T = T[:, :, 0]
            if X.ndim != 2 or X.shape[1] != n_in:
                raise ValueError(f"Network.{who}: X of shape {data[0].shape} does not fit {n_in} inputs; pass (N, {n_in})")
            X = _numbers(X, f"Network.{who}", "X", self.dtype)
            if T.dtype.kind not in "biuf":
                raise TypeError(f"Network.{who}: targets must hold numbers, got dtype {T.dtype}")
        else:
            if isinstance(data, np.ndarray):
                raise TypeError(
                    f"Network.{who}: got one array of shape {data.shape}; pass (X, Y) as a tuple, or a list of (x, y) pairs"
                )
            try:
                pairs = list(data)
            except TypeError:
                raise TypeError(f"Network.{who}: data must be a list of (x, y) pairs or an (X, Y) tuple of arrays") from None
            if not pairs:
                raise ValueError(f"Network.{who}: the data set is empty")
            xs, ts = [], []
            for i, item in enumerate(pairs):
                if not (isinstance(item, (tuple, list)) and len(item) == 2):
                    raise TypeError(f"Network.{who}: item {i} is not an (x, y) pair")
                x, t = item
                x = _numbers(x, f"Network.{who}", f"item {i}'s x")
                if x.size != n_in:
                    raise ValueError(f"Network.{who}: item {i} has x of shape {x.shape}; expected ({n_in}, 1)")
                xs.append(x.reshape(n_in))
                ts.append(t)
            X = np.array(xs, dtype=self.dtype)
            if all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in ts):
                T = np.array(ts, dtype=np.intp)
            else:
                vecs = []
                for i, t in enumerate(ts):
                    t = _numbers(t, f"Network.{who}", f"item {i}'s y")
                    if t.dtype.kind not in "iuf" or t.size != n_out or t.ndim == 0:
                        raise ValueError(
                            f"Network.{who}: item {i} has y of shape {t.shape}; expected an int label or ({n_out}, 1)"
                        )
                    vecs.append(t.reshape(n_out))
                T = np.array(vecs, dtype=self.dtype)
        if T.ndim == 1:
            if T.dtype.kind not in "iu":
                raise ValueError(f"Network.{who}: 1-D targets must be int labels, got dtype {T.dtype}")
            if T.size and (T.min() < 0 or T.max() >= n_out):
                raise ValueError(f"Network.{who}: labels must lie in [0, {n_out}), got range [{T.min()}, {T.max()}]")
        elif T.ndim != 2 or T.shape[1] != n_out:
            raise ValueError(f"Network.{who}: targets of shape {T.shape} do not fit {n_out} outputs; pass (N, {n_out}) or labels (N,)")
        if X.shape[0] == 0:
            raise ValueError(f"Network.{who}: the data set is empty")
        return X, T

    def _targets(self, T: np.ndarray) -> np.ndarray:
        if T.ndim == 1:
            return one_hot(T, self.sizes[-1], self.dtype)
        return np.asarray(T, dtype=self.dtype)

    @staticmethod
    def _labels(T: np.ndarray) -> np.ndarray:
        return T if T.ndim == 1 else np.argmax(T, axis=1)

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
        if not _is_number(lmbda):
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

    # ---- gradients -------------------------------------------------------------------------------
    def backprop(self, x: Any, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return ``(nabla_b, nabla_w)`` of one example's cost, in Nielsen's shapes, computed by autodiff.

        Parameters
        ----------
        x : ndarray
            One input, (n_in, 1) or (n_in,).
        y : ndarray or int
            Its target, (n_out, 1) or (n_out,), or an int label (one-hot encoded).

        No parameter's ``.grad`` is touched.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> net = Network([784, 30, 10], seed=0)
        >>> nabla_b, nabla_w = net.backprop(np.zeros((784, 1)), 3)
        >>> [b.shape for b in nabla_b], [w.shape for w in nabla_w]
        ([(30, 1), (10, 1)], [(30, 784), (10, 30)])
        """
        rows, kind = self._rows(x, "backprop")
        if rows.shape[0] != 1:
            raise ValueError(f"Network.backprop: takes one example, got input of shape {np.shape(x)}")
        n_out = self.sizes[-1]
        if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
            target = one_hot([y], n_out, self.dtype)
        else:
            y = _numbers(y, "Network.backprop", "y")
            if y.size != n_out:
                raise ValueError(f"Network.backprop: y of shape {y.shape} does not fit {n_out} outputs")
            target = np.asarray(y, dtype=self.dtype).reshape(1, n_out)
        params = [p for lin in self._linears for p in (lin.w, lin.b)]
        with enable_grad():
            c = self.cost.fn(self.model.forward(Tensor(rows)), Tensor(target))
            grads = grad(c, params)
        nabla_w = [g.T for g in grads[0::2]]
        nabla_b = [g[:, None] for g in grads[1::2]]
        return nabla_b, nabla_w

    def gradient_norms(self, data: Any) -> list[float]:
        """Return ‖∂C/∂bˡ‖ for every layer l, from autodiff's retained δˡ = ∂C/∂zˡ on one batch.

        C is the mean cost over the rows of ``data``, so ∂C/∂bˡ is the sum of the rows of zˡ's
        retained gradient.  This is the "speed of learning" of each layer that Nielsen plots when
        he shows gradients vanishing in deep sigmoid nets.  No parameter's ``.grad`` changes.

        Parameters
        ----------
        data : (X, Y) or list of (x, y) pairs
            One batch, in any form ``SGD`` accepts for training data.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> net = Network([4, 3, 3, 2], init="default", seed=0)
        >>> norms = net.gradient_norms((np.ones((5, 4)), np.array([0, 1, 0, 1, 1])))
        >>> len(norms), all(v > 0 for v in norms)
        (3, True)
        """
        X, T = self._arrays(data, "gradient_norms")
        params = self.parameters()
        before = [p.grad for p in params]
        try:
            with enable_grad():
                zs, activations = self.forward_trace(X, retain_grad=True)
                self.cost.fn(activations[-1], Tensor(self._targets(T))).backward()
            return [float(np.linalg.norm(z.grad.sum(axis=0))) for z in zs]
        finally:
            for p, g in zip(params, before):
                p.grad = g

    # ---- training --------------------------------------------------------------------------------
    def SGD(  # noqa: N802 - Nielsen's name
        self,
        training_data: Any,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        lmbda: float = 0.0,
        test_data: Any = None,
        evaluation_data: Any = None,
        monitor_evaluation_cost: bool = False,
        monitor_evaluation_accuracy: bool = False,
        monitor_training_cost: bool = False,
        monitor_training_accuracy: bool = False,
        *,
        momentum: float = 0.0,
        l1: float = 0.0,
        eta_schedule: int | None = None,
        early_stop: int | None = None,
        verbose: bool = True,
        callback: Callable[[int, int, int], Any] | None = None,
        epoch_callback: Callable[[int, dict], Any] | None = None,
    ) -> tuple[list[float], list[int], list[float], list[int]]:
        """Return network2's monitor lists after training by mini-batch SGD, with gradients from autodiff.

        Every epoch shuffles the training set with ``self.rng``, cuts it into mini-batches (the
        last may be short), and for each runs forward, the cost, backward and the update
        w ← (1 − ηλ/n)·w − (η/m)·Σₓ∇wₓ, b ← b − (η/m)·Σₓ∇bₓ, with m = len(mini_batch) and
        n = len(training_data).

        Parameters
        ----------
        training_data : list of (x, y) pairs, or (X, Y)
            Nielsen's pairs x (n_in, 1), y (n_out, 1); or the fast path, arrays X (N, n_in) and
            Y (N, n_out) or int labels (N,).  Converted to arrays once, up front.
        epochs, mini_batch_size : int
        eta, lmbda : float
            Learning rate η and L2 strength λ.
        test_data : list of (x, int label), or (X, labels), optional
            Evaluated after every epoch: prints ``Epoch {j}: {correct} / {n}`` (otherwise
            ``Epoch {j} complete``), as network.py does.
        evaluation_data, monitor_* :
            network2's monitoring: cost and accuracy on the evaluation and training data, each
            printed and collected per epoch.
        momentum : float
            Nielsen's momentum coefficient μ (0: plain SGD).
        l1 : float
            L1 strength λ₁, network2-style: weights also move by −(ηλ₁/n)·sgn(w) each step,
            and the monitored costs gain (λ₁/n)·Σ|w|.  Biases are not regularised.
        eta_schedule : int, optional
            Halve η whenever the accuracy on ``evaluation_data`` has not improved for this many
            epochs in a row (network2's "no improvement in n" rule; the count restarts after each
            halving).  Needs ``evaluation_data``.
        early_stop : int, optional
            Stop training once the accuracy on ``evaluation_data`` has not improved for this many
            epochs in a row.  Needs ``evaluation_data``.
        verbose : bool
            Whether to print.
        callback : callable, optional
            ``callback(epoch, batch_index, n_batches)`` after every mini-batch's update (for a
            progress bar); a true result stops training at once, without the epoch's report.
        epoch_callback : callable, optional
            ``epoch_callback(epoch, info)`` after each epoch's report, ``info`` holding
            ``seconds`` (training time of the epoch), ``correct`` and ``n_test`` (or None), the
            epoch's monitor values, and ``eta`` (the η the epoch trained with) and ``stop_reason``
            (None, or why the schedule or early stopping ends training); a true result stops training.

        Returns
        -------
        evaluation_cost, evaluation_accuracy, training_cost, training_accuracy : lists
            One entry per epoch for each monitor that is on, as network2 returns them.

        Examples
        --------
        >>> import numpy as np
        >>> from nets import Network
        >>> net = Network([2, 2], seed=0)
        >>> X, labels = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
        >>> _ = net.SGD((X, labels), 2, 1, 3.0, test_data=(X, labels))
        Epoch 0: 2 / 2
        Epoch 1: 2 / 2
        """
        if not _is_number(lmbda):
            raise TypeError(
                f"Network.SGD: lmbda must be a number, got {type(lmbda).__name__}; "
                "pass test data by name: SGD(training_data, epochs, mini_batch_size, eta, test_data=...)"
            )
        if not _is_number(eta):
            raise TypeError(f"Network.SGD: eta must be a number, got {type(eta).__name__}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"Network.SGD: epochs must be an int >= 0, got {epochs!r}")
        if not isinstance(mini_batch_size, (int, np.integer)) or mini_batch_size < 1:
            raise ValueError(f"Network.SGD: mini_batch_size must be an int >= 1, got {mini_batch_size!r}")
        if (monitor_evaluation_cost or monitor_evaluation_accuracy) and evaluation_data is None:
            raise ValueError("Network.SGD: monitoring the evaluation data needs evaluation_data")
        if not _is_number(l1) or l1 < 0:
            raise ValueError(f"Network.SGD: l1 must be a number >= 0, got {l1!r}")
        for name, patience in (("eta_schedule", eta_schedule), ("early_stop", early_stop)):
            if patience is None:
                continue
            if not isinstance(patience, (int, np.integer)) or isinstance(patience, bool) or patience < 1:
                raise ValueError(f"Network.SGD: {name} must be None or an int >= 1 (epochs), got {patience!r}")
            if evaluation_data is None:
                raise ValueError(f"Network.SGD: {name} watches the accuracy on evaluation_data; pass evaluation_data")

        X, T = self._arrays(training_data, "SGD")
        Y = self._targets(T)
        n = X.shape[0]
        m = int(mini_batch_size)
        test = None
        if test_data is not None:
            Xt, Tt = self._arrays(test_data, "SGD(test_data)")
            test = (Xt, self._labels(Tt))
        evaluation = None
        if evaluation_data is not None:
            Xe, Te = self._arrays(evaluation_data, "SGD(evaluation_data)")
            evaluation = (Xe, Te)
        train_labels = self._labels(T) if monitor_training_accuracy else None

        # Backward is seeded with η rather than 1, so each .grad is already η·∂C/∂p and the update
        # w ← (1 − ηλ/n)·w − η·∂C/∂w needs no separate pass to scale the gradient.  An optimizer
        # with lr = 1 and weight decay ηλ/n then applies exactly network2's step.
        eta = float(eta)
        seed = np.asarray(eta, dtype=self.dtype)
        opt = optim.SGD(
            self.parameters(), lr=1.0, momentum=momentum, weight_decay=eta * float(lmbda) / n, l1=eta * float(l1) / n
        )
        watch = eta_schedule is not None or early_stop is not None
        best_accuracy, since_best, since_change = -1, 0, 0
        forwards = [layer.forward for layer in self.model.layers]
        cost_fn = self.cost.fn
        step, zero_grad = opt.step, opt.zero_grad
        rng = self.rng
        n_batches = -(-n // m)

        evaluation_cost: list[float] = []
        evaluation_accuracy: list[int] = []
        training_cost: list[float] = []
        training_accuracy: list[int] = []
        with enable_grad():
            for j in range(int(epochs)):
                start = time.perf_counter()
                order = rng.permutation(n)
                for k in range(n_batches):
                    # Gathering each mini-batch's rows is cheaper than permuting all of X per epoch.
                    idx = order[k * m : (k + 1) * m]
                    a = Tensor(X[idx])
                    for f in forwards:
                        a = f(a)
                    cost = cost_fn(a, Tensor(Y[idx]))
                    if not isfinite(cost.data):  # one test of the 0-d cost forward already computed
                        raise TrainingDivergedError(_diverged(float(cost.data), j, k, n_batches, float(seed)))
                    cost.backward(seed)
                    step()
                    zero_grad()
                    if callback is not None and callback(j, k, n_batches):
                        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy
                seconds = time.perf_counter() - start

                info: dict[str, Any] = {"epoch": j, "seconds": seconds, "correct": None, "n_test": None}
                if test is not None:
                    correct = self._count_correct(*test)
                    info.update(correct=correct, n_test=len(test[1]))
                    if verbose:
                        print(f"Epoch {j}: {correct} / {len(test[1])}")
                elif verbose:
                    print(f"Epoch {j} complete")
                if monitor_training_cost:
                    c = self._total_cost(X, Y, lmbda, l1)
                    training_cost.append(c)
                    info["training_cost"] = c
                    if verbose:
                        print(f"Cost on training data: {c}")
                if monitor_training_accuracy:
                    acc = self._count_correct(X, train_labels)
                    training_accuracy.append(acc)
                    info["training_accuracy"] = acc
                    if verbose:
                        print(f"Accuracy on training data: {acc} / {n}")
                if monitor_evaluation_cost:
                    c = self._total_cost(evaluation[0], self._targets(evaluation[1]), lmbda, l1)
                    evaluation_cost.append(c)
                    info["evaluation_cost"] = c
                    if verbose:
                        print(f"Cost on evaluation data: {c}")
                if monitor_evaluation_accuracy:
                    acc = self._count_correct(evaluation[0], self._labels(evaluation[1]))
                    evaluation_accuracy.append(acc)
                    info["evaluation_accuracy"] = acc
                    if verbose:
                        print(f"Accuracy on evaluation data: {acc} / {len(evaluation[0])}")
                info["eta"] = eta
                info["stop_reason"] = None
                if watch:
                    acc = info.get("evaluation_accuracy")
                    if acc is None:
                        acc = info["evaluation_accuracy"] = self._count_correct(evaluation[0], self._labels(evaluation[1]))
                    if acc > best_accuracy:
                        best_accuracy, since_best, since_change = acc, 0, 0
                    else:
                        since_best += 1
                        since_change += 1
                    if early_stop is not None and since_best >= early_stop:
                        info["stop_reason"] = f"early stop: no improvement in evaluation accuracy for {early_stop} epochs"
                    elif eta_schedule is not None and since_change >= eta_schedule:
                        # The new η takes effect from the next epoch: the seed of backward and the
                        # optimizer's decay terms all carry η.
                        eta /= 2
                        seed = np.asarray(eta, dtype=self.dtype)
                        opt.weight_decay = eta * float(lmbda) / n
                        opt.l1 = eta * float(l1) / n
                        since_change = 0
                        if verbose:
                            print(f"No improvement in {eta_schedule} epochs: eta halved to {eta:g}")
                    if info["stop_reason"] is not None and verbose:
                        print(info["stop_reason"].capitalize())
                if epoch_callback is not None and epoch_callback(j, info):
                    break
                if info["stop_reason"] is not None:
                    break
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    # ---- persistence -----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Return nothing; write the network as network2's JSON (sizes, weights, biases, cost), atomically.

        The file is written to a temporary name in the same folder and renamed over ``path``, so
        a crash never leaves a half-written model.  A non-float64 dtype or a non-sigmoid
        activation is recorded in extra keys, which network2's loader ignores.

        Examples
        --------
        >>> import os, tempfile
        >>> from nets import Network
        >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> Network([3, 2], seed=0).save(path)
        >>> Network.load(path).sizes
        [3, 2]
        """
        name = getattr(self.cost, "name", getattr(self.cost, "__name__", None))
        if COSTS.get(name) is not self.cost:
            raise ValueError(f"Network.save: the cost {self.cost!r} has no saveable name; expected one of {sorted(COSTS)}")
        data: dict[str, Any] = {
            "sizes": self.sizes,
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "cost": name,
        }
        for key in ("weights", "biases"):
            for l, arr in enumerate(getattr(self, key)):
                if not np.isfinite(arr).all():
                    # Refuse before touching the file, so a diverged net never replaces a good saved one.
                    raise ValueError(f"Network.save: {key}[{l}] holds NaN or Inf; not saving over {os.fspath(path)!r}")
        if self.dtype != np.float64:
            data["dtype"] = self.dtype.name
        if self.activation != "sigmoid":
            data["activation"] = self.activation
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        _fsync_folder(folder)

    @classmethod
    def load(cls, path: str | os.PathLike, seed: Any = None, dtype: Any = None) -> "Network":
        """Return the network stored at ``path`` in network2's JSON layout.

        The cost is looked up by name in a fixed allow-list (``nets.costs.COSTS``), never by
        evaluating anything from the file.

        Everything is checked before the network is built: the keys (``sizes``, ``weights``,
        ``biases``, ``cost``, and optionally ``dtype`` and ``activation``, nothing else), that sizes
        are positive ints, that every array is a rectangular list of JSON numbers whose shape fits
        ``sizes``, that every value is finite in the dtype, and that the dtype, cost and activation
        are names from fixed lists.  So a corrupted or hostile file can neither allocate more than
        its own size suggests nor yield a network holding NaN.

        Raises
        ------
        ValueError
            The file is not UTF-8 JSON (binary, truncated), breaks the schema, names an unknown
            cost, dtype or activation, holds arrays whose shapes do not fit ``sizes``, or a NaN or
            infinite value; the message names the file and the key.
        OSError
            The file cannot be read.

        Examples
        --------
        >>> import os, tempfile
        >>> from nets import Network
        >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> Network([2, 1], seed=0).save(path)
        >>> Network.load(path).cost.name
        'QuadraticCost'
        """
        path = os.fspath(path)
        who = f"Network.load: {path}"
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > _MAX_MODEL_BYTES:
                raise ValueError(f"{who} is {size} bytes, more than a model file may be ({_MAX_MODEL_BYTES})")
            raw = f.read()  # not read(limit), which would allocate the whole limit up front
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"{who} is not a JSON model file (not UTF-8 text)") from None
        except RecursionError:
            raise ValueError(f"{who} is not a model file: its JSON is nested too deeply") from None
        except ValueError as e:  # JSONDecodeError, or an integer literal too long to convert
            raise ValueError(f"{who} is not a JSON model file, or it is truncated ({e})") from None
        sizes, cost, dt, activation, weights, biases = _parse_model(data, who, dtype)
        net = cls(sizes, cost=COSTS[cost], init="zeros", seed=seed, dtype=dt, activation=activation)
        for view, arr in zip(net.weights + net.biases, weights + biases):
            view[...] = arr
        return net

    def __repr__(self) -> str:
        extra = "" if self.activation == "sigmoid" else f", activation={self.activation!r}"
        return (
            f"Network(sizes={self.sizes}, cost={getattr(self.cost, 'name', self.cost)}, "
            f"init={self.init!r}, dtype={self.dtype.name}{extra})"
        )


def load(filename: str | os.PathLike, seed: Any = None, dtype: Any = None) -> Network:
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
    return Network.load(filename, seed=seed, dtype=dtype)

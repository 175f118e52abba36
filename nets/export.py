"""Carry a model to PyTorch and ONNX and back: PyTorch-layout state dicts, ``torch.nn`` twins, ONNX files.

Every layer type is one entry of ``CONVERTERS``: its ``torch.nn`` class, its single ONNX op, and how its
parameters are named and laid out in PyTorch.  A model (``Network``, ``Sequential``, or one layer) is
exported layer by layer through that table, so a new layer type needs one entry and nothing else.

A ``Network`` exports as the ``torch.nn.Sequential`` that computes the same function, with the keys
``0.weight``, ``0.bias``, ``2.weight``, ... and PyTorch's (out_features, in_features) weight layout
(which is Nielsen's ``weights[l]`` layout; our row-form ``Linear.w`` is its transpose).

Nothing here imports torch, and onnx only inside ``to_onnx`` / ``from_onnx`` (the ``[onnx]`` extra), which
live in ``nets.onnx_file``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

# Only the public API of nets (the package's names, and nets.layers' ACTIVATIONS), so that a reshuffle of
# its private modules leaves this file alone.
from . import Linear, Module, Network, QuadraticCost, ReLU, Sequential, Sigmoid, Tanh
from .layers import ACTIVATIONS

__all__ = [
    "Param",
    "Converter",
    "CONVERTERS",
    "torch_state_dict",
    "load_torch_state_dict",
    "to_torch",
    "to_onnx",
    "from_onnx",
    "as_network",
]

Shape = tuple[Any, ...]  # ints, with None (or a name) for a dimension fixed only at run time



@dataclass(frozen=True)
class Param:
    """A parameter's PyTorch name (``"weight"``) and our attribute (``"w"``), and whether the layouts are transposed.

    Examples
    --------
    >>> from nets.export import Param
    >>> Param("weight", "w", transpose=True).torch_name
    'weight'
    """

    torch_name: str
    attr: str
    transpose: bool = False

    def to_torch(self, layer: Module) -> np.ndarray:
        """Return the parameter of ``layer`` as a fresh array in PyTorch's layout.

        Examples
        --------
        >>> from nets import Linear
        >>> from nets.export import Param
        >>> Param("weight", "w", transpose=True).to_torch(Linear(3, 2)).shape
        (2, 3)
        """
        arr = getattr(layer, self.attr).data
        return np.array(arr.T if self.transpose else arr, order="C")  # a copy even when the layout matches


def _no_attrs(layer: Module) -> dict[str, Any]:
    return {}


def _same_shape(layer: Module, shape: Shape) -> Shape:
    return shape


@dataclass(frozen=True)
class Converter:
    """A layer type's translation table: its ``torch.nn`` class name, its ONNX op, its parameters and shapes.

    Parameters
    ----------
    layer : Module subclass
        Our layer type (matched exactly, so a subclass with another forward is not mistaken for it).
    torch_name : str
        The class in ``torch.nn`` that computes the same function.
    onnx_op : str
        The one ONNX operator that computes it; its inputs are the layer's input, then ``params`` in order.
    params : tuple of Param
        The parameters in PyTorch's order and names.
    torch_args : callable(layer) -> dict
        Keyword arguments of the ``torch.nn`` constructor.
    onnx_attrs : callable(layer) -> dict
        The ONNX node's attributes; ``from_onnx`` reads only nodes whose attributes are exactly these.
    out_shape : callable(layer, shape) -> shape
        The output shape for an input shape; raises ValueError when the input does not fit.
    build : callable(arrays, attrs) -> layer
        A new layer of the right hyper-parameters, from PyTorch-layout arrays (by ``torch_name``) and ONNX
        attributes; its parameters are filled in afterwards.

    Examples
    --------
    >>> from nets import Linear
    >>> from nets.export import CONVERTERS
    >>> c = CONVERTERS[Linear]
    >>> c.torch_name, c.onnx_op, [p.torch_name for p in c.params]
    ('Linear', 'Gemm', ['weight', 'bias'])
    """

    layer: type
    torch_name: str
    onnx_op: str
    build: Callable[[dict[str, np.ndarray], dict[str, Any]], Module]
    params: tuple[Param, ...] = ()
    torch_args: Callable[[Module], dict[str, Any]] = field(default=_no_attrs)
    onnx_attrs: Callable[[Module], dict[str, Any]] = field(default=_no_attrs)
    out_shape: Callable[[Module, Shape], Shape] = field(default=_same_shape)


def _linear_out_shape(layer: Module, shape: Shape) -> Shape:
    # ONNX Gemm multiplies matrices only, so the exported Linear takes row batches (N, n_in).
    if len(shape) != 2 or shape[1] != layer.n_in:
        raise ValueError(f"{layer!r} needs input of shape (N, {layer.n_in}), got {shape}")
    return (shape[0], layer.n_out)


def _linear_build(arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> Module:
    n_out, n_in = arrays["weight"].shape
    return Linear(n_in, n_out, init="zeros", dtype=arrays["weight"].dtype)


CONVERTERS: dict[type, Converter] = {
    Linear: Converter(
        Linear, "Linear", "Gemm", _linear_build,
        params=(Param("weight", "w", transpose=True), Param("bias", "b")),
        torch_args=lambda layer: {"in_features": layer.n_in, "out_features": layer.n_out},
        onnx_attrs=lambda layer: {"transB": 1},  # Gemm(x, weight, bias) = x @ weightᵀ + bias
        out_shape=_linear_out_shape,
    ),
    Sigmoid: Converter(Sigmoid, "Sigmoid", "Sigmoid", lambda arrays, attrs: Sigmoid()),
    Tanh: Converter(Tanh, "Tanh", "Tanh", lambda arrays, attrs: Tanh()),
    ReLU: Converter(ReLU, "ReLU", "Relu", lambda arrays, attrs: ReLU()),
}
"""The export table: one ``Converter`` per layer type, keyed by the layer's class."""


# ============================================================================ walking a model
def _converter(layer: Any, where: str, who: str) -> Converter:
    conv = CONVERTERS.get(type(layer))
    if conv is None:
        known = ", ".join(c.__name__ for c in CONVERTERS)
        raise TypeError(
            f"{who}: {where} is a {type(layer).__name__}, which has no converter (known: {known}); "
            "add a Converter for it to nets.export.CONVERTERS"
        )
    return conv


def _layers(model: Any, who: str, prefix: str = "") -> Iterator[tuple[str, Module, Converter]]:
    """Yield (PyTorch key prefix, layer, converter) for every layer, in order; a Network stands for its Sequential."""
    if isinstance(model, Network):
        model = model.model
    if isinstance(model, Sequential):
        for name, child in model.named_children():
            yield from _layers(child, who, f"{prefix}{name}.")
    elif isinstance(model, Module):
        where = f"layer '{prefix[:-1]}'" if prefix else "the model"
        yield prefix, model, _converter(model, where, who)
    else:
        raise TypeError(f"{who}: expected a Network, a Sequential or a layer, got {type(model).__name__}")


def torch_state_dict(model: Any) -> dict[str, np.ndarray]:
    """Return the model's parameters under PyTorch's names and layouts, as fresh numpy arrays.

    The keys and shapes are those of the equivalent ``torch.nn.Sequential`` (see ``to_torch``), so
    ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})`` accepts them.

    Examples
    --------
    >>> from nets import Network
    >>> from nets.export import torch_state_dict
    >>> {k: v.shape for k, v in torch_state_dict(Network([4, 3, 2], seed=0)).items()}
    {'0.weight': (3, 4), '0.bias': (3,), '2.weight': (2, 3), '2.bias': (2,)}
    """
    return {
        prefix + p.torch_name: p.to_torch(layer)
        for prefix, layer, conv in _layers(model, "torch_state_dict")
        for p in conv.params
    }


def _as_array(value: Any, key: str, who: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{who}: '{key}' is not an array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: '{key}' must hold numbers, got dtype {arr.dtype}")
    return arr


def _check_param(layer: Module, p: Param, arr: np.ndarray, key: str, who: str) -> tuple[Any, np.ndarray]:
    """Return (parameter tensor, array in our layout and dtype) after checking the shape against PyTorch's."""
    target = getattr(layer, p.attr)
    need = target.data.T.shape if p.transpose else target.data.shape
    if arr.shape != need:
        raise ValueError(f"{who}: '{key}' has shape {arr.shape} but {layer!r} needs {need} (PyTorch's layout)")
    arr = arr.T if p.transpose else arr
    return target, arr.astype(target.data.dtype, copy=False)


def _state_dtype(state: dict[str, np.ndarray], who: str) -> np.dtype:
    """Return the one dtype of all parameters (float64 for a model without any), or raise TypeError."""
    dtypes = {v.dtype for v in state.values()} or {np.dtype(np.float64)}
    if len(dtypes) > 1:
        raise TypeError(f"{who}: the parameters mix dtypes {sorted(d.name for d in dtypes)}")
    return dtypes.pop()


def load_torch_state_dict(model: Any, state: Mapping[str, Any], strict: bool = True) -> None:
    """Return nothing; copy a PyTorch-style state dict into the model's parameters, in place.

    Values may be numpy arrays or torch tensors; they are converted to each parameter's dtype, as
    ``torch.nn.Module.load_state_dict`` does.  Everything is checked before anything is written.

    Parameters
    ----------
    model : Network, Sequential or layer
    state : mapping of str to array
        Keys and layouts as ``torch_state_dict`` makes them (or a ``torch.nn.Sequential``'s ``state_dict()``).
    strict : bool
        Whether missing or unexpected keys are an error.

    Raises
    ------
    KeyError
        Keys missing or unexpected (with ``strict``), all of them named.
    ValueError
        An array whose shape does not fit: the message names the key, its shape and the one needed.
    TypeError
        A value that does not hold numbers, or a layer type without a converter.

    Examples
    --------
    >>> from nets import Network
    >>> from nets.export import load_torch_state_dict, torch_state_dict
    >>> a, b = Network([3, 2], seed=0), Network([3, 2], seed=1)
    >>> load_torch_state_dict(b, torch_state_dict(a))
    >>> bool((a.weights[0] == b.weights[0]).all())
    True
    >>> try:
    ...     load_torch_state_dict(b, {"0.weight": [[1.0, 2.0]], "0.bias": [0.0, 0.0]})
    ... except ValueError as e:
    ...     print(e)
    load_torch_state_dict: '0.weight' has shape (1, 2) but Linear(n_in=3, n_out=2) needs (2, 3) (PyTorch's layout)
    """
    who = "load_torch_state_dict"
    if not isinstance(state, Mapping):
        raise TypeError(f"{who}: state must map names to arrays, got {type(state).__name__}")
    wanted = {prefix + p.torch_name: (layer, p) for prefix, layer, conv in _layers(model, who) for p in conv.params}
    if strict:
        missing = [k for k in wanted if k not in state]
        unexpected = [k for k in state if k not in wanted]
        if missing or unexpected:
            raise KeyError(f"{who}: the state does not fit the model; missing {missing}, unexpected {unexpected}")
    todo = [
        _check_param(layer, p, _as_array(state[key], key, who), key, who)
        for key, (layer, p) in wanted.items()
        if key in state
    ]
    for target, arr in todo:
        target.data[...] = arr


def as_network(model: Sequential, cost: Any = QuadraticCost) -> Network:
    """Return a ``Network`` with the parameters of a Sequential of Linear layers each followed by one activation.

    This is the way back to Nielsen's interface (``feedforward``, ``SGD``, ``save``) after ``from_onnx``.

    Examples
    --------
    >>> from nets import Linear, Sequential, Sigmoid
    >>> from nets.export import as_network
    >>> as_network(Sequential(Linear(4, 3), Sigmoid(), Linear(3, 2), Sigmoid())).sizes
    [4, 3, 2]
    """
    layers = list(model) if isinstance(model, Sequential) else None
    acts = {cls: name for name, cls in ACTIVATIONS.items()}
    ok = bool(layers) and len(layers) % 2 == 0 and all(type(l) is Linear for l in layers[0::2])
    ok = ok and len({type(l) for l in layers[1::2]}) == 1 and type(layers[1]) in acts
    if not ok:
        got = [type(l).__name__ for l in layers] if layers else type(model).__name__
        raise ValueError(f"as_network: need a Sequential of Linear, activation, Linear, activation, ...; got {got}")
    sizes = [layers[0].n_in] + [l.n_out for l in layers[0::2]]
    dtype = layers[0].w.data.dtype
    net = Network(sizes, cost=cost, init="zeros", dtype=dtype, activation=acts[type(layers[1])],
                  output_activation=acts[type(layers[1])])  # the model as it is, whatever the cost would pick
    try:
        net.model.load_state_dict(model.state_dict())
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(f"as_network: the layers do not chain into one network ({e})") from None
    return net


# ============================================================================ torch
def to_torch(model: Any) -> Any:
    """Return the ``torch.nn`` module that computes the same function, holding copies of the parameters.

    A Network or Sequential becomes a ``torch.nn.Sequential``, a single layer its ``torch.nn`` class;
    the dtype is the parameters' (float64 by default).  Needs torch, which nets does not depend on.

    Examples
    --------
    >>> import pytest
    >>> torch = pytest.importorskip("torch")
    >>> from nets import Network
    >>> from nets.export import to_torch
    >>> to_torch(Network([4, 3, 2], seed=0))
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): Sigmoid()
      (2): Linear(in_features=3, out_features=2, bias=True)
      (3): Sigmoid()
    )
    """
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch needs PyTorch, which nets does not install: pip install torch") from None

    def build(obj: Any, where: str) -> Any:
        if isinstance(obj, Network):
            obj = obj.model
        if isinstance(obj, Sequential):
            return torch.nn.Sequential(*[build(c, f"{where}{n}.") for n, c in obj.named_children()])
        conv = _converter(obj, f"layer '{where[:-1]}'" if where else "the model", "to_torch")
        return getattr(torch.nn, conv.torch_name)(**conv.torch_args(obj))

    state = torch_state_dict(model)
    module = build(model, "").to(getattr(torch, _state_dtype(state, "to_torch").name))
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return module.eval()


# The ONNX half builds on the table above, so it is imported once the table exists.
from .onnx_file import from_onnx, to_onnx  # noqa: E402

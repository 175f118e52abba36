"""ONNX files of nets models: ``to_onnx`` writes one node per layer, ``from_onnx`` reads those graphs back.

Both are used as ``nets.export.to_onnx`` / ``nets.export.from_onnx``; they need the ``[onnx]`` extra and go
through the same converter table (``nets.export.CONVERTERS``) as the PyTorch state dicts.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

# nets.export imports this module at its end, so the table is imported here inside the functions: this
# module then loads in either order.
from . import Module, Sequential

if TYPE_CHECKING:
    from .export import Converter, Shape

__all__ = ["to_onnx", "from_onnx"]

OPSET = 17  # ONNX opset written by to_onnx: Relu takes float64 from opset 14 on
IR_VERSION = 8  # the IR version that goes with opset 17, read by runtimes a few years old


def _onnx(who: str) -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{who} needs the onnx package: pip install 'tinygrad-bp[onnx]' (or pip install onnx)") from None
    return onnx


def _check_input_shape(input_shape: Any) -> Shape:
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise ValueError(f"to_onnx: input_shape must be a non-empty tuple such as (None, 784), got {input_shape!r}")
    for d in input_shape:
        ok_int = isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
        if not (ok_int or d is None or (isinstance(d, str) and d)):
            raise ValueError(f"to_onnx: input_shape holds {d!r}; use positive ints, and None for the batch size")
    return tuple(int(d) if isinstance(d, (int, np.integer)) else d for d in input_shape)


def _dims(shape: Shape) -> list[Any]:
    return [("N" if k == 0 else f"d{k}") if d is None else d for k, d in enumerate(shape)]


def to_onnx(model: Any, path: str | os.PathLike, input_shape: Sequence[Any], dtype: Any = None) -> Any:
    """Return the ONNX ModelProto of the model, after writing it to ``path``.

    One ONNX node per layer (``Linear`` → Gemm, ``Sigmoid``, ``Tanh``, ``Relu``); the parameters are
    initializers named by their ``torch_state_dict`` keys.  Needs the ``[onnx]`` extra.

    Parameters
    ----------
    model : Network, Sequential or layer
    path : str or PathLike
        Where to write the ``.onnx`` file.
    input_shape : tuple
        The input's shape, None for a size given at run time: ``(None, 784)`` for row batches.
    dtype : numpy float dtype, optional
        The graph's dtype; by default the parameters' dtype (float64 unless made otherwise).

    Examples
    --------
    >>> import os, tempfile, pytest
    >>> onnx = pytest.importorskip("onnx")
    >>> from nets import Network
    >>> from nets.export import to_onnx
    >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
    >>> proto = to_onnx(Network([4, 3, 2], seed=0), path, (None, 4))
    >>> [node.op_type for node in proto.graph.node]
    ['Gemm', 'Sigmoid', 'Gemm', 'Sigmoid']
    """
    onnx = _onnx("to_onnx")
    from onnx import helper, numpy_helper

    from .export import _layers, _state_dtype, torch_state_dict

    shape = _check_input_shape(input_shape)
    items = list(_layers(model, "to_onnx"))
    if not items:
        raise ValueError("to_onnx: the model has no layers")
    state = torch_state_dict(model)
    if dtype is None:
        dt = _state_dtype(state, "to_onnx")
    else:
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"to_onnx: dtype must be a float dtype, got {dt}")
    elem = helper.np_dtype_to_tensor_dtype(dt)
    nodes, inits, x = [], [], "input"
    for i, (prefix, layer, conv) in enumerate(items):
        try:
            shape = conv.out_shape(layer, shape)
        except ValueError as e:
            raise ValueError(f"to_onnx: layer {i} does not fit the input_shape {tuple(input_shape)}: {e}") from None
        names = [prefix + p.torch_name for p in conv.params]
        inits += [numpy_helper.from_array(state[n].astype(dt, copy=False), n) for n in names]
        out = "output" if i == len(items) - 1 else f"x{i + 1}"
        name = f"{prefix or '0.'}{conv.onnx_op}"
        nodes.append(helper.make_node(conv.onnx_op, [x, *names], [out], name=name, **conv.onnx_attrs(layer)))
        x = out
    graph = helper.make_graph(
        nodes, "tinygrad_bp_model", [helper.make_tensor_value_info("input", elem, _dims(tuple(input_shape)))],
        [helper.make_tensor_value_info("output", elem, _dims(shape))], initializer=inits,
    )
    proto = helper.make_model(graph, producer_name="tinygrad-bp", opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    onnx.save(proto, os.fspath(path))
    return proto


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else list(v) if isinstance(v, (list, tuple)) else v
    return out


def from_onnx(path: str | os.PathLike) -> Sequential:
    """Return the Sequential stored in an ONNX file that ``to_onnx`` wrote.

    Only the graphs ``to_onnx`` writes are read: a chain of one node per layer, each an op of
    ``CONVERTERS`` with exactly the attributes its converter writes.  External data files are refused,
    so the file cannot make the loader read any other file.

    Raises
    ------
    ValueError
        The file is not a valid ONNX model, or its graph is not one that ``to_onnx`` writes; the message
        names the file and the node.

    Examples
    --------
    >>> import os, tempfile, pytest
    >>> onnx = pytest.importorskip("onnx")
    >>> from nets import Network
    >>> from nets.export import from_onnx, to_onnx
    >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
    >>> _ = to_onnx(Network([4, 3, 2], seed=0), path, (None, 4))
    >>> from_onnx(path)
    Sequential(
      (0): Linear(n_in=4, n_out=3)
      (1): Sigmoid()
      (2): Linear(n_in=3, n_out=2)
      (3): Sigmoid()
    )
    """
    onnx = _onnx("from_onnx")
    from onnx import numpy_helper

    who = f"from_onnx: {os.fspath(path)}"
    try:
        proto = onnx.load(os.fspath(path), load_external_data=False)
    except OSError:
        raise
    except Exception as e:  # protobuf's DecodeError is not exported under a stable name
        raise ValueError(f"{who} is not an ONNX file ({type(e).__name__}: {e})") from None
    g = proto.graph
    # Before the checker, which would look for the external files on disk.
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in g.initializer):
        raise ValueError(f"{who} keeps tensors in external files, which from_onnx does not read")
    try:
        onnx.checker.check_model(proto)
    except (onnx.checker.ValidationError, ValueError, TypeError) as e:
        raise ValueError(f"{who} is not a valid ONNX model ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    inits = {t.name: t for t in g.initializer}
    inputs = [v.name for v in g.input if v.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1 or not g.node:
        raise ValueError(f"{who}: expected one input, one output and at least one node; got {len(inputs)}, {len(g.output)}, {len(g.node)}")
    from .export import CONVERTERS

    by_op = {c.onnx_op: c for c in CONVERTERS.values()}
    layers, x = [], inputs[0]
    for i, node in enumerate(g.node):
        layers.append(_layer_from_node(i, node, x, by_op, inits, numpy_helper, who))
        x = node.output[0]
    if x != g.output[0].name:
        raise ValueError(f"{who}: the last node's output '{x}' is not the graph's output '{g.output[0].name}'")
    return Sequential(layers)


def _layer_from_node(i: int, node: Any, x: str, by_op: dict[str, Converter], inits: dict, numpy_helper: Any, who: str) -> Module:
    from .export import _as_array, _check_param

    where = f"{who}: node {i} ({node.op_type} '{node.name}')"
    conv = by_op.get(node.op_type)
    if conv is None:
        raise ValueError(f"{where} is not an op nets reads (known: {sorted(by_op)})")
    if len(node.input) != 1 + len(conv.params) or node.input[0] != x or len(node.output) != 1:
        raise ValueError(f"{where}: expected inputs ['{x}'] + {len(conv.params)} parameter(s) and one output, got {list(node.input)}")
    names = list(node.input[1:])
    missing = [n for n in names if n not in inits]
    if missing:
        raise ValueError(f"{where}: the inputs {missing} are not initializers (stored parameters)")
    arrays = {p.torch_name: numpy_helper.to_array(inits[n]) for p, n in zip(conv.params, names)}
    attrs = _attrs(node)
    try:
        layer = conv.build(arrays, attrs)
        written = conv.onnx_attrs(layer)
        if {k: list(v) if isinstance(v, tuple) else v for k, v in written.items()} != attrs:
            raise ValueError(f"has attributes {attrs}, but nets writes {written}")
        for (p, n) in zip(conv.params, names):
            target, arr = _check_param(layer, p, _as_array(arrays[p.torch_name], n, where), n, where)
            target.data[...] = arr
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise ValueError(f"{where} cannot be read: {e}") from None
    return layer

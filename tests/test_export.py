"""nets.export: PyTorch-layout state dicts, the torch twin, ONNX files; compared with torch and onnxruntime.

The state-dict tests need nothing optional.  The ONNX tests need onnx (in the [test] extra); the comparisons
need onnxruntime or torch, which the project never depends on, and skip without them.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nets import Linear, Module, Network, QuadraticCost, ReLU, Sequential, Sigmoid, Tanh
from nets import export
from nets.export import (
    CONVERTERS,
    Converter,
    Param,
    as_network,
    from_onnx,
    load_torch_state_dict,
    to_onnx,
    torch_state_dict,
)
from tinygrad_bp import Tensor, no_grad

ACTS = (Sigmoid, Tanh, ReLU)


def _out(model: Module, x: np.ndarray) -> np.ndarray:
    with no_grad():
        return model(Tensor(x)).data


@st.composite
def mlps(draw: st.DrawFn, dtype: object = np.float64) -> Sequential:
    """Return a small Sequential of Linear layers, each followed by a random activation."""
    widths = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    seed = draw(st.integers(0, 2**16))
    layers: list[Module] = []
    for k, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        layers += [Linear(n_in, n_out, rng=seed + k, dtype=dtype), draw(st.sampled_from(ACTS))()]
    return Sequential(layers)


def _inputs(model: Module, n: int = 7, seed: int = 0, dtype: object = np.float64) -> np.ndarray:
    n_in = next(iter(model)).n_in if isinstance(model, Sequential) else model.sizes[0]
    return np.random.default_rng(seed).uniform(-2, 2, (n, n_in)).astype(dtype)


# ============================================================================ state dicts (no optional package)
def test_torch_state_dict_uses_pytorch_names_and_nielsens_weight_layout() -> None:
    net = Network([4, 3, 2], seed=0)
    sd = torch_state_dict(net)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for l, k in enumerate((0, 2)):
        np.testing.assert_array_equal(sd[f"{k}.weight"], net.weights[l])  # (out, in), as Nielsen and nn.Linear
        np.testing.assert_array_equal(sd[f"{k}.bias"], net.biases[l][:, 0])
        assert sd[f"{k}.weight"].flags.c_contiguous
    sd["0.weight"][...] = 0.0  # a copy, not a view
    assert net.weights[0].any()


def test_torch_state_dict_of_one_layer_has_unprefixed_keys() -> None:
    assert sorted(torch_state_dict(Linear(3, 2))) == ["bias", "weight"]
    assert torch_state_dict(Sigmoid()) == {}


def test_torch_state_dict_of_nested_sequential_has_dotted_keys() -> None:
    model = Sequential(Sequential(Linear(2, 3), Tanh()), Linear(3, 1))
    assert list(torch_state_dict(model)) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]


@given(mlps(), st.integers(0, 2**16))
def test_load_torch_state_dict_round_trip_gives_equal_outputs(model: Sequential, seed: int) -> None:
    other = Sequential([type(l)(l.n_in, l.n_out, rng=seed) if isinstance(l, Linear) else type(l)() for l in model])
    load_torch_state_dict(other, torch_state_dict(model))
    x = _inputs(model, seed=seed)
    np.testing.assert_array_equal(_out(other, x), _out(model, x))


def test_load_torch_state_dict_into_network_writes_through_its_views() -> None:
    a, b = Network([3, 4, 2], seed=0), Network([3, 4, 2], seed=1)
    w0 = b.weights[0]  # a view taken before loading stays valid
    load_torch_state_dict(b, torch_state_dict(a))
    np.testing.assert_array_equal(w0, a.weights[0])
    x = _inputs(a)
    np.testing.assert_array_equal(b.feedforward(x), a.feedforward(x))


def test_load_torch_state_dict_converts_the_dtype_like_torch() -> None:
    net = Network([3, 2], seed=0)  # float64
    sd = {k: v.astype(np.float32) for k, v in torch_state_dict(Network([3, 2], seed=1)).items()}
    load_torch_state_dict(net, sd)
    assert net.weights[0].dtype == np.float64
    np.testing.assert_array_equal(net.weights[0], sd["0.weight"].astype(np.float64))


def test_load_torch_state_dict_wrong_shape_names_the_key_and_shapes_and_writes_nothing() -> None:
    net = Network([3, 4, 2], seed=0)
    before = [w.copy() for w in net.weights]
    sd = torch_state_dict(net)
    sd["0.weight"] = np.zeros((4, 5))
    sd["2.weight"] = np.ones((2, 4))  # a good value must not be written either
    with pytest.raises(ValueError, match=r"'0\.weight' has shape \(4, 5\) but Linear\(n_in=3, n_out=4\) needs \(4, 3\)"):
        load_torch_state_dict(net, sd)
    for w, w0 in zip(net.weights, before):
        np.testing.assert_array_equal(w, w0)
    sd["0.weight"] = np.zeros((3, 4))  # our own (in, out) layout is not PyTorch's
    with pytest.raises(ValueError, match=r"needs \(4, 3\) \(PyTorch's layout\)"):
        load_torch_state_dict(net, sd)


def test_load_torch_state_dict_missing_and_unexpected_keys_are_named() -> None:
    net = Network([3, 2], seed=0)
    with pytest.raises(KeyError, match=r"missing \['0\.bias'\], unexpected \['0\.b'\]"):
        load_torch_state_dict(net, {"0.weight": np.zeros((2, 3)), "0.b": np.zeros(2)})
    load_torch_state_dict(net, {"0.weight": np.zeros((2, 3))}, strict=False)
    assert not net.weights[0].any() and net.biases[0].any()


def test_load_torch_state_dict_rejects_values_that_are_not_numbers() -> None:
    net = Network([3, 2], seed=0)
    sd = torch_state_dict(net)
    with pytest.raises(TypeError, match="'0.bias' must hold numbers"):
        load_torch_state_dict(net, {**sd, "0.bias": np.array(["a", "b"])})
    with pytest.raises(ValueError, match="'0.bias' is not an array"):
        load_torch_state_dict(net, {**sd, "0.bias": [[1.0], [1.0, 2.0]]})
    with pytest.raises(TypeError, match="state must map names"):
        load_torch_state_dict(net, [("0.bias", np.zeros(2))])  # type: ignore[arg-type]


def test_export_of_a_layer_without_converter_names_it() -> None:
    class Double(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x * 2

    with pytest.raises(TypeError, match=r"layer '1' is a Double, which has no converter .*CONVERTERS"):
        torch_state_dict(Sequential(Linear(2, 2), Double()))
    with pytest.raises(TypeError, match="expected a Network, a Sequential or a layer"):
        torch_state_dict([Linear(2, 2)])

    class MySigmoid(Sigmoid):  # a subclass may compute something else: matched exactly, so refused
        pass

    with pytest.raises(TypeError, match="MySigmoid"):
        torch_state_dict(Sequential(MySigmoid()))


def test_converter_table_takes_a_new_layer_type_in_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    class Scale(Module):
        def __init__(self, n: int) -> None:
            self.s = Tensor(np.arange(1.0, n + 1), requires_grad=True)

        def forward(self, x: Tensor) -> Tensor:
            return x * self.s

    entry = Converter(Scale, "Scale", "Mul", lambda arrays, attrs: Scale(arrays["weight"].shape[0]), params=(Param("weight", "s"),))
    monkeypatch.setitem(CONVERTERS, Scale, entry)
    model = Sequential(Linear(2, 3), Scale(3))
    assert list(torch_state_dict(model)) == ["0.weight", "0.bias", "1.weight"]
    other = Sequential(Linear(2, 3), Scale(3))
    other[1].s.data[...] = 0
    load_torch_state_dict(other, torch_state_dict(model))
    np.testing.assert_array_equal(other[1].s.data, [1.0, 2.0, 3.0])


@given(mlps(), st.sampled_from(["quadratic", "cross-entropy"]))
def test_as_network_keeps_the_function_when_one_activation_is_used(model: Sequential, cost: str) -> None:
    act = type(model[1])
    for k in range(1, len(model), 2):
        model.layers[k] = act()
    if act is not Sigmoid and "ross" in str(cost):  # cross-entropy needs a sigmoid output: refused up front
        with pytest.raises(ValueError, match="needs a sigmoid output layer"):
            as_network(model, cost=cost)
        return
    net = as_network(model, cost=cost)
    assert net.sizes == [model[0].n_in] + [l.n_out for l in model.layers[0::2]]
    assert net.activation == {Sigmoid: "sigmoid", Tanh: "tanh", ReLU: "relu"}[act]
    x = _inputs(model)
    np.testing.assert_array_equal(net.feedforward(x), _out(model, x))


def test_as_network_refuses_what_is_not_a_plain_mlp() -> None:
    for bad in (Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1), Tanh()), Sequential(Linear(2, 3)), Sequential(), Linear(2, 2)):
        with pytest.raises(ValueError, match="as_network: need a Sequential of Linear, activation"):
            as_network(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="do not chain"):
        as_network(Sequential(Linear(2, 3), Sigmoid(), Linear(4, 1), Sigmoid()))


# ============================================================================ ONNX files (onnx in the [test] extra)
def test_to_onnx_writes_one_node_per_layer_with_state_dict_names(tmp_path) -> None:
    pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (pip install 'tinygrad-bp[onnx]')")
    net = Network([4, 3, 2], seed=0, activation="tanh")
    proto = to_onnx(net, tmp_path / "net.onnx", (None, 4))
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Tanh", "Gemm", "Tanh"]
    assert [t.name for t in proto.graph.initializer] == list(torch_state_dict(net))
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["N", 2]
    assert proto.graph.input[0].type.tensor_type.elem_type == 11  # DOUBLE: the net's float64


@settings(max_examples=20)
@given(mlps(), st.sampled_from([np.float32, np.float64]))
def test_from_onnx_round_trip_gives_the_same_layers_and_outputs(tmp_path_factory, model: Sequential, dtype) -> None:
    pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (pip install 'tinygrad-bp[onnx]')")
    model = Sequential([type(l)(l.n_in, l.n_out, rng=1, dtype=dtype) if isinstance(l, Linear) else l for l in model])
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    to_onnx(model, path, (5, model[0].n_in))
    back = from_onnx(path)
    assert [type(l) for l in back] == [type(l) for l in model]
    for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert a.dtype == b.dtype == np.dtype(dtype), k
        np.testing.assert_array_equal(a, b)


def test_to_onnx_refuses_an_input_shape_that_does_not_fit(tmp_path) -> None:
    pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (pip install 'tinygrad-bp[onnx]')")
    net = Network([4, 3], seed=0)
    with pytest.raises(ValueError, match=r"layer 0 does not fit the input_shape \(None, 5\): Linear\(n_in=4, n_out=3\) needs input of shape \(N, 4\)"):
        to_onnx(net, tmp_path / "a.onnx", (None, 5))
    with pytest.raises(ValueError, match="needs input of shape"):
        to_onnx(net, tmp_path / "a.onnx", (2, 3, 4))
    for bad in ((), 4, (None, 0), (None, 4.0), (True, 4)):
        with pytest.raises(ValueError, match="to_onnx: input_shape"):
            to_onnx(net, tmp_path / "a.onnx", bad)
    with pytest.raises(ValueError, match="no layers"):
        to_onnx(Sequential(), tmp_path / "a.onnx", (None, 4))
    assert not (tmp_path / "a.onnx").exists()


def _edit_and_save(path, edit) -> None:
    import onnx

    proto = onnx.load(str(path))
    edit(proto)
    onnx.save(proto, str(path))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda p: setattr(p.graph.node[1], "op_type", "Softmax"), r"node 1 \(Softmax '1.Sigmoid'\) is not an op nets reads"),
        (lambda p: p.graph.node[0].attribute[0].__setattr__("i", 0), r"node 0 \(Gemm .*has attributes \{'transB': 0\}"),
        (lambda p: p.graph.node[2].input.__setitem__(0, "input"), r"node 2 .*expected inputs \['x2'\]"),
        (lambda p: p.graph.node[2].input.__setitem__(1, "input"), r"node 2 .*\['input'\] are not initializers"),
        (lambda p: p.graph.initializer.pop(), r"is not a valid ONNX model \(Nodes in a graph must be topologically sorted"),
    ],
)
def test_from_onnx_refuses_graphs_it_does_not_write(tmp_path, edit, message) -> None:
    pytest.importorskip("onnx", reason="the ONNX import needs the onnx package (pip install 'tinygrad-bp[onnx]')")
    path = tmp_path / "net.onnx"
    to_onnx(Network([4, 3, 2], seed=0), path, (None, 4))
    _edit_and_save(path, edit)
    with pytest.raises(ValueError, match=message):
        from_onnx(path)


def test_from_onnx_refuses_a_wrong_shape_garbage_and_external_data(tmp_path) -> None:
    onnx = pytest.importorskip("onnx", reason="the ONNX import needs the onnx package (pip install 'tinygrad-bp[onnx]')")
    from onnx import numpy_helper

    path = tmp_path / "net.onnx"
    to_onnx(Network([4, 3, 2], seed=0), path, (None, 4))

    def wrong_bias(p):
        p.graph.initializer[1].CopyFrom(numpy_helper.from_array(np.zeros(5), "0.bias"))

    _edit_and_save(path, wrong_bias)
    with pytest.raises(ValueError, match=r"'0.bias' has shape \(5,\) but Linear\(n_in=4, n_out=3\) needs \(3,\)"):
        from_onnx(path)
    (tmp_path / "junk.onnx").write_bytes(b"\x00\xffnot protobuf" * 10)
    with pytest.raises(ValueError, match="junk.onnx is not a"):
        from_onnx(tmp_path / "junk.onnx")
    to_onnx(Network([4, 3, 2], seed=0), path, (None, 4))
    proto = onnx.load(str(path))
    onnx.save_model(proto, str(tmp_path / "ext.onnx"), save_as_external_data=True, size_threshold=0, location="w.bin")
    with pytest.raises(ValueError, match="external files"):
        from_onnx(tmp_path / "ext.onnx")
    with pytest.raises(FileNotFoundError):
        from_onnx(tmp_path / "missing.onnx")


# ============================================================================ against onnxruntime
def _ort_run(path, x: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime", reason="comparing with an ONNX runtime needs onnxruntime (pip install onnxruntime)")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


MODELS = {
    "network-784-30-10": lambda dt: Network([784, 30, 10], seed=0, dtype=dt),
    "tanh-relu-sigmoid": lambda dt: Sequential(
        Linear(6, 8, rng=1, dtype=dt), Tanh(), Linear(8, 5, rng=2, dtype=dt), ReLU(), Linear(5, 3, rng=3, dtype=dt), Sigmoid()
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)], ids=["float32", "float64"])
def test_onnxruntime_outputs_equal_ours_on_random_inputs(tmp_path, name, dtype, tol) -> None:
    pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (pip install 'tinygrad-bp[onnx]')")
    model = MODELS[name](dtype)
    path = tmp_path / "m.onnx"
    n_in = 784 if name.startswith("network") else 6
    to_onnx(model, path, (None, n_in))
    for seed in range(3):
        x = np.random.default_rng(seed).uniform(0, 1, (50, n_in)).astype(dtype)  # MNIST-like pixels
        got = _ort_run(path, x)
        assert got.dtype == np.dtype(dtype)
        assert np.abs(got - _out(model, x)).max() <= tol


def test_onnxruntime_runs_a_network2_json_file_like_we_do(tmp_path) -> None:
    pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (pip install 'tinygrad-bp[onnx]')")
    rng = np.random.default_rng(0)
    data = {"sizes": [5, 4, 3], "cost": "CrossEntropyCost",
            "weights": [rng.normal(size=(4, 5)).tolist(), rng.normal(size=(3, 4)).tolist()],
            "biases": [rng.normal(size=(4, 1)).tolist(), rng.normal(size=(3, 1)).tolist()]}
    (tmp_path / "network2.json").write_text(json.dumps(data))
    net = Network.load(tmp_path / "network2.json")
    to_onnx(net, tmp_path / "n2.onnx", (None, 5))
    x = rng.uniform(0, 1, (9, 5))
    assert np.abs(_ort_run(tmp_path / "n2.onnx", x) - net.feedforward(x)).max() <= 1e-12


# ============================================================================ against torch
def _torch():
    return pytest.importorskip("torch", reason="comparing with PyTorch needs torch, which nets never installs")


def _torch_twin(torch, net: Network):
    """Return the torch.nn.Sequential for ``net``, built by hand here rather than by to_torch."""
    nn = torch.nn
    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[net.activation]
    layers = []
    for n_in, n_out in zip(net.sizes, net.sizes[1:]):
        layers += [nn.Linear(n_in, n_out), act()]
    return nn.Sequential(*layers).double()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_torch_sequential_load_state_dict_gives_equal_outputs(activation: str) -> None:
    torch = _torch()
    net = Network([784, 30, 10], seed=0, activation=activation)
    twin = _torch_twin(torch, net)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in torch_state_dict(net).items()}, strict=True)
    x = np.random.default_rng(1).uniform(0, 1, (50, 784))
    with torch.no_grad():
        got = twin(torch.from_numpy(x)).numpy()
    assert np.abs(got - net.feedforward(x)).max() <= 1e-12


def test_torch_state_dict_comes_back_into_our_network() -> None:
    torch = _torch()
    torch.manual_seed(0)
    net = Network([6, 5, 3], seed=0)
    twin = _torch_twin(torch, net)  # torch's own initialisation, unrelated to ours
    load_torch_state_dict(net, twin.state_dict())
    x = np.random.default_rng(2).uniform(-2, 2, (20, 6))
    with torch.no_grad():
        want = twin(torch.from_numpy(x)).numpy()
    assert np.abs(net.feedforward(x) - want).max() <= 1e-12
    sd = twin.float().state_dict()  # float32 tensors load into the float64 net
    load_torch_state_dict(net, sd)
    np.testing.assert_array_equal(net.weights[1], sd["2.weight"].numpy().astype(np.float64))


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)], ids=["float32", "float64"])
def test_to_torch_builds_the_same_function(dtype, tol) -> None:
    torch = _torch()
    model = MODELS["tanh-relu-sigmoid"](dtype)
    twin = export.to_torch(model)
    assert [type(m).__name__ for m in twin] == ["Linear", "Tanh", "Linear", "ReLU", "Linear", "Sigmoid"]
    x = np.random.default_rng(3).uniform(-2, 2, (40, 6)).astype(dtype)
    with torch.no_grad():
        got = twin(torch.from_numpy(x)).numpy()
    assert got.dtype == np.dtype(dtype)
    assert np.abs(got - _out(model, x)).max() <= tol


def test_torch_comparison_catches_a_converter_that_forgets_the_transpose(monkeypatch: pytest.MonkeyPatch) -> None:
    # Negative control: with Linear's weight exported in our (in, out) layout, a square net still loads into
    # torch, and only the comparison of outputs can tell; it must.
    torch = _torch()
    net = Network([5, 5, 5], seed=0)
    wrong = Converter(Linear, "Linear", "Gemm", CONVERTERS[Linear].build, params=(Param("weight", "w"), Param("bias", "b")))
    monkeypatch.setitem(CONVERTERS, Linear, wrong)
    twin = _torch_twin(torch, net)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in torch_state_dict(net).items()})
    x = np.random.default_rng(4).uniform(0, 1, (10, 5))
    with torch.no_grad():
        got = twin(torch.from_numpy(x)).numpy()
    assert np.abs(got - net.feedforward(x)).max() > 1e-3


def test_quadratic_cost_is_the_default_of_as_network() -> None:
    assert as_network(Sequential(Linear(2, 1), Sigmoid())).cost is QuadraticCost

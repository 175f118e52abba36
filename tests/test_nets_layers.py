"""Module discovery and state, the layer types, and initialisation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets import SGD, Layer, Linear, Module, ReLU, Sequential, Sigmoid, Tanh
from nets.init import init_linear, init_params
from tinygrad_bp import Function, Tensor
from tinygrad_bp.testing import ConformanceError, arrays, assert_layer_conforms


class Scale(Module):
    """A new layer type in a handful of lines: one parameter, found without registration."""

    def __init__(self, n: int) -> None:
        self.s = Tensor(np.full(n, 2.0), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.s


class Holder(Module):
    def __init__(self) -> None:
        self.first = Linear(2, 3, rng=0)
        self.blocks = [Linear(3, 3, rng=1), (Sigmoid(), Linear(3, 1, rng=2))]
        self.shared = self.first  # the same layer twice: its tensors are listed once
        self.scale = Tensor(np.ones(1), requires_grad=True)
        self._cache = Linear(5, 5, rng=3)  # private: never discovered
        self.note = "not a parameter"
        self.parent = self  # a loop back must not recurse forever

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks[1][1](self.blocks[1][0](self.blocks[0](self.first(x)))) * self.scale


# ============================================================================ Module
def test_module_discovers_attributes_lists_and_tuples_once() -> None:
    h = Holder()
    names = [n for n, _ in h.named_parameters()]
    assert names == ["first.w", "first.b", "blocks.0.w", "blocks.0.b", "blocks.1.1.w", "blocks.1.1.b", "scale"]
    ids = [id(p) for p in h.parameters()]
    assert len(ids) == len(set(ids))
    assert Layer is Module


def test_module_call_is_forward_and_zero_grad_clears() -> None:
    h = Holder()
    out = h(Tensor(np.ones((4, 2))))
    assert out.shape == (4, 1)
    out.sum().backward()
    assert all(p.grad is not None for p in h.parameters())
    h.zero_grad()
    assert all(p.grad is None for p in h.parameters())
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        Module()(1)


def test_module_state_dict_round_trip_copies_and_writes_in_place() -> None:
    a, b = Holder(), Holder()
    for p in b.parameters():
        p.data[...] = 0.0
    state = a.state_dict()
    assert list(state) == [n for n, _ in a.named_parameters()]
    state["first.w"][0, 0] = 99.0  # a copy: the module is unchanged
    assert a.first.w.data[0, 0] != 99.0
    arrays_before = [p.data for p in b.parameters()]
    b.load_state_dict(a.state_dict())
    for p, q, arr in zip(a.parameters(), b.parameters(), arrays_before):
        np.testing.assert_array_equal(p.data, q.data)
        assert q.data is arr


def test_module_load_state_dict_errors_are_clear_and_change_nothing() -> None:
    h = Holder()
    good = h.state_dict()
    before = h.state_dict()
    with pytest.raises(KeyError, match=r"missing \['scale'\], unexpected \[\]"):
        h.load_state_dict({k: v for k, v in good.items() if k != "scale"})
    with pytest.raises(KeyError, match=r"unexpected \['extra'\]"):
        h.load_state_dict({**good, "extra": np.zeros(1)})
    bad_shape = {**good, "first.w": np.zeros((3, 2)), "first.b": np.full(3, 7.0)}
    with pytest.raises(ValueError, match=r"'first.w' has shape \(3, 2\) but the parameter has shape \(2, 3\)"):
        h.load_state_dict(bad_shape)
    bad_dtype = {**good, "blocks.0.b": np.zeros(3, dtype=np.float32)}
    with pytest.raises(TypeError, match="'blocks.0.b' has dtype float32 but the parameter has dtype float64"):
        h.load_state_dict(bad_dtype)
    for k, v in h.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    h.load_state_dict({"scale": np.full(1, 3.0)}, strict=False)
    assert h.scale.data[0] == 3.0


def test_module_repr_is_readable() -> None:
    model = Sequential(Linear(784, 30, rng=0), Sigmoid(), Linear(30, 10, rng=0, dtype=np.float32), Sigmoid())
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(n_in=784, n_out=30)\n"
        "  (1): Sigmoid()\n"
        "  (2): Linear(n_in=30, n_out=10, dtype=float32)\n"
        "  (3): Sigmoid()\n"
        ")"
    )
    text = repr(Holder())
    assert "(blocks.1.0): Sigmoid()" in text and "(parent): Holder( ...)" in text


def test_module_new_layer_type_trains_with_sgd() -> None:
    model = Sequential(Scale(3), Linear(3, 1, rng=0))
    assert [n for n, _ in model.named_parameters()] == ["0.s", "1.w", "1.b"]
    x, y = Tensor(np.ones((2, 3))), Tensor(np.zeros((2, 1)))
    opt = SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        loss = ((model(x) - y) * (model(x) - y)).mean()
        losses.append(loss.item())
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert losses[-1] < losses[0]


# ============================================================================ layers
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_linear_forward_is_x_at_w_plus_b_in_one_node(n_in: int, n_out: int, n: int, seed: int) -> None:
    layer = Linear(n_in, n_out, rng=seed)
    x = Tensor(np.random.default_rng(seed).uniform(-2, 2, (n, n_in)))
    z = layer(x)
    np.testing.assert_allclose(z.data, x.data @ layer.w.data + layer.b.data, rtol=1e-14)
    assert z._ctx is not None and len(z._ctx.parents) == 3
    assert all(p is q for p, q in zip(z._ctx.parents, (x, layer.w, layer.b)))


@pytest.mark.parametrize("make", [lambda: Linear(3, 2, rng=0), Sigmoid, Tanh, lambda: Sequential(Linear(3, 4, rng=1), Tanh(), Linear(4, 2, rng=2), Sigmoid())])
def test_layer_conforms(make: object) -> None:
    assert_layer_conforms(make(), input_shapes=[(4, 3)])


def test_relu_layer_conforms_away_from_its_kink() -> None:
    x = np.array([[-1.5, 0.3, 2.0], [0.7, -0.2, -1.1]])
    assert_layer_conforms(ReLU(), [x])
    np.testing.assert_array_equal(ReLU()(Tensor(x)).data, np.maximum(x, 0))


@given(arrays((3, 4)))
def test_activations_match_numpy(x: np.ndarray) -> None:
    t = Tensor(x)
    np.testing.assert_allclose(Sigmoid()(t).data, 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(Tanh()(t).data, np.tanh(x), rtol=1e-14)
    np.testing.assert_array_equal(ReLU()(t).data, np.maximum(x, 0))


def test_layer_conformance_catches_a_wrong_backward() -> None:
    class SigmoidNoPrime(Function):
        def forward(ctx, z):
            return 1 / (1 + np.exp(-z))

        def backward(ctx, grad_out):
            return (grad_out,)  # σ′ dropped: the negative control

    class BadSigmoid(Module):
        def forward(self, z: Tensor) -> Tensor:
            return SigmoidNoPrime.apply(z)

    with pytest.raises(ConformanceError):
        assert_layer_conforms(Sequential(Linear(3, 2, rng=0), BadSigmoid()), input_shapes=[(4, 3)])


def test_linear_rejects_bad_shapes_and_arguments() -> None:
    layer = Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"linear: x of shape \(4, 5\) does not fit w of shape \(3, 2\)"):
        layer(Tensor(np.zeros((4, 5))))
    with pytest.raises(ValueError, match="Linear: widths must be positive"):
        Linear(0, 2)
    with pytest.raises(TypeError, match="Linear: dtype must be a float dtype"):
        Linear(2, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="init_linear: init must be one of"):
        Linear(2, 2, init="xavier")
    with pytest.raises(TypeError, match="Sequential: item 1 is a str"):
        Sequential(Sigmoid(), "relu")  # type: ignore[arg-type]


def test_sequential_composes_and_indexes() -> None:
    a, b = Linear(3, 2, rng=0), Sigmoid()
    model = Sequential([a, b])
    assert len(model) == 2 and model[0] is a and list(model) == [a, b]
    x = Tensor(np.ones((1, 3)))
    np.testing.assert_array_equal(model(x).data, b(a(x)).data)


# ============================================================================ initialisation
def test_init_scales_and_seeding() -> None:
    w, b = init_linear(400, 300, "default", rng=0)
    assert w.shape == (400, 300) and b.shape == (300,)
    assert abs(w.std() - 1 / np.sqrt(400)) < 0.05 / np.sqrt(400)
    assert abs(b.std() - 1) < 0.2
    w_large, _ = init_linear(400, 300, "large", rng=0)
    assert abs(w_large.std() - 1) < 0.05
    np.testing.assert_allclose(w_large, w * np.sqrt(400), rtol=1e-15)  # same draws, only scaled
    again, _ = init_linear(400, 300, "default", rng=0)
    np.testing.assert_array_equal(w, again)
    other, _ = init_linear(400, 300, "default", rng=1)
    assert not np.array_equal(w, other)
    (w32,), _ = init_params([3, 2], "large", rng=5, dtype=np.float32)
    (w64,), _ = init_params([3, 2], "large", rng=5)
    assert w32.dtype == np.float32 and np.array_equal(w32, w64.astype(np.float32))
    zw, zb = init_linear(3, 2, "zeros")
    assert not zw.any() and not zb.any()
    with pytest.raises(TypeError, match="as_generator: expected None, an int seed or a numpy Generator"):
        init_params([2, 1], rng="seed")

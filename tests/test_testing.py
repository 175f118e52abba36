"""tinygrad_bp.testing: its strategies keep their promises, and assert_layer_conforms catches each kind of bug."""
from __future__ import annotations

import builtins
import importlib
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given

import tinygrad_bp as tg
from tinygrad_bp import Function, Tensor
from tinygrad_bp.testing import (
    ConformanceError,
    arrays,
    assert_layer_conforms,
    broadcastable_shapes,
    matmul_shapes,
    shapes,
)


# ============================================================================ strategies
@given(shapes(min_dims=1, max_dims=3, max_side=4))
def test_shapes_respect_bounds(s: tuple[int, ...]) -> None:
    assert 1 <= len(s) <= 3 and all(1 <= n <= 4 for n in s)


@given(arrays(shapes()))
def test_arrays_are_bounded_float64(x: np.ndarray) -> None:
    assert x.dtype == np.float64 and np.all(np.abs(x) <= 2.0)


@given(arrays((3, 4), avoid=(0.0, 1.0), margin=0.1))
def test_arrays_avoid_kinks_by_margin(x: np.ndarray) -> None:
    assert np.all(np.abs(x) >= 0.1) and np.all(np.abs(x - 1.0) >= 0.1)


@given(arrays(shapes(), distinct=True))
def test_arrays_distinct_elements_are_margin_apart(x: np.ndarray) -> None:
    v = np.sort(x.ravel())
    assert np.all(np.diff(v) >= 0.05 - 1e-12)


@given(arrays(shapes(), lo=0.1))
def test_arrays_positive_lower_bound(x: np.ndarray) -> None:
    assert np.all(x >= 0.1)


@given(broadcastable_shapes(num_shapes=3))
def test_broadcastable_shapes_broadcast(s: tuple[tuple[int, ...], ...]) -> None:
    assert len(s) == 3
    np.broadcast_shapes(*s)


@given(matmul_shapes())
def test_matmul_shapes_are_accepted_by_numpy(s: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    a, b = s
    assert len(a) >= 1 and len(b) >= 1
    np.matmul(np.ones(a), np.ones(b))


def test_matmul_shapes_cover_vectors_matrices_and_batches() -> None:
    from hypothesis import find

    find(matmul_shapes(), lambda s: len(s[0]) == 1)
    find(matmul_shapes(), lambda s: len(s[1]) == 1)
    find(matmul_shapes(), lambda s: len(s[0]) == 2 and len(s[1]) == 2)
    find(matmul_shapes(), lambda s: len(s[0]) >= 3 or len(s[1]) >= 3)


def test_arrays_reject_empty_range() -> None:
    with pytest.raises(ValueError, match="arrays: need lo < hi"):
        arrays((2,), lo=1.0, hi=1.0)


def test_testing_without_hypothesis_gives_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_hypothesis(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ImportError("No module named 'hypothesis'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hypothesis)
    monkeypatch.delitem(sys.modules, "tinygrad_bp.testing")
    monkeypatch.setattr(tg, "testing", sys.modules["tinygrad_bp"].testing)  # the re-import rebinds it; undo after
    module = importlib.import_module("tinygrad_bp.testing")  # importable: only the strategies need hypothesis
    with pytest.raises(ImportError, match=r"strategies need hypothesis.*pip install"):
        module.shapes()


# ============================================================================ assert_layer_conforms: accepts
class Cube(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (3 * x * x * grad_out,)


class WeightedSum(Function):
    """sum(x * w, axis=-1): a custom op with broadcasting and two inputs that honours needs_input_grad."""

    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return (x * w).sum(axis=-1)

    def backward(ctx, grad_out):
        x, w = ctx.saved
        g = grad_out[..., None]
        gx = g * w if ctx.needs_input_grad[0] else None
        gw = (g * x).reshape(-1, w.shape[-1]).sum(axis=0) if ctx.needs_input_grad[1] else None
        return gx, gw


class Dense:
    """A minimal layer: sigmoid(x @ w + b) with its parameters."""

    def __init__(self, n_in: int, n_out: int, dtype: Any = np.float64) -> None:
        rng = np.random.default_rng(0)
        self.w = Tensor(rng.standard_normal((n_in, n_out)).astype(dtype), requires_grad=True)
        self.b = Tensor(np.zeros(n_out, dtype), requires_grad=True)

    def parameters(self) -> list[Tensor]:
        return [self.w, self.b]

    def __call__(self, x: Tensor) -> Tensor:
        return tg.linear(x, self.w, self.b).sigmoid()


@given(arrays(shapes(min_dims=1, max_dims=2), avoid=(0.0,)))
def test_conforms_custom_function(x: np.ndarray) -> None:
    assert_layer_conforms(Cube, [x])


def test_conforms_custom_function_with_broadcast_and_two_inputs() -> None:
    assert_layer_conforms(WeightedSum, input_shapes=[(2, 3, 4), (4,)])
    assert_layer_conforms(WeightedSum, input_shapes=[(4,), (4,)])  # two inputs of one shape: reused as one


@pytest.mark.parametrize("mode", ["full", "projection"])
def test_conforms_plain_callable(mode: str) -> None:
    assert_layer_conforms(lambda x, y: (x @ y).tanh().sum(axis=0), input_shapes=[(3, 2), (2, 4)], mode=mode)


def test_conforms_builtin_ops_with_kwargs_and_constants() -> None:
    from tinygrad_bp.ops import LogSoftmax, QuadraticCost

    assert_layer_conforms(LogSoftmax, input_shapes=[(3, 4)], kwargs={"axis": 1})
    y = Tensor(np.eye(3)[:2])  # a constant target: passed through, never checked
    assert_layer_conforms(QuadraticCost, [np.ones((2, 3)) * 0.3, y])


def test_conforms_layer_checks_and_restores_parameters() -> None:
    layer = Dense(3, 2, dtype=np.float32)
    w_before = layer.w.data
    assert_layer_conforms(layer, input_shapes=[(4, 3)])
    assert layer.w.data is w_before and layer.w.dtype == np.float32
    assert layer.w.grad is None and layer.b.grad is None and layer.w.requires_grad


def test_conforms_input_range_keeps_log_defined() -> None:
    assert_layer_conforms(lambda x: x.log(), input_shapes=[(3,)], input_range=(0.5, 2.0))


def test_conforms_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="exactly one of inputs and input_shapes"):
        assert_layer_conforms(Cube)
    with pytest.raises(ValueError, match="nothing to check"):
        assert_layer_conforms(Cube, [Tensor([1.0])])
    with pytest.raises(TypeError, match="expected a Function subclass, a layer or a callable"):
        assert_layer_conforms(3, input_shapes=[(2,)])
    with pytest.raises(TypeError, match="expected one Tensor as output"):
        assert_layer_conforms(lambda x: (x, x), input_shapes=[(2,)])


# ============================================================================ assert_layer_conforms: negative controls
class WrongSecondInput(Function):
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    def backward(ctx, grad_out):
        x, y = ctx.saved
        return grad_out * y, grad_out * x * 1.1


class MutatesSaved(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x * 1.0)
        return x * x

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        x *= 2.0  # right gradient (2x), computed by overwriting what forward saved
        return (grad_out * x,)


class MutatesGradOut(Function):
    def forward(ctx, x):
        return 3.0 * x

    def backward(ctx, grad_out):
        grad_out *= 3.0
        return (grad_out,)


class ConsumesState(Function):
    def forward(ctx, x):
        ctx.scale = 2.0
        return x * x

    def backward(ctx, grad_out):
        g = grad_out * ctx.scale * ctx.parents[0].data
        ctx.scale = 0.0  # "frees" its state: a second backward over the graph gets nothing
        return (g,)


class SharedBuffer(Function):
    """Writes every gradient into one array shared by all calls: fine alone, wrong under fan-out."""

    buffer: dict[tuple[int, ...], np.ndarray] = {}

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 2.0 * x

    def backward(ctx, grad_out):
        buf = SharedBuffer.buffer.setdefault(grad_out.shape, np.empty(grad_out.shape))
        np.multiply(grad_out, 2.0, out=buf)
        return (buf,)


class Unfreezes(Dense):
    """A layer that switches its weights back on at every call, ignoring a frozen requires_grad."""

    def __call__(self, x: Tensor) -> Tensor:
        self.w.requires_grad = True
        return super().__call__(x)


class AliasBlind(Function):
    """x * y whose backward is right only when x and y are different arrays."""

    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    def backward(ctx, grad_out):
        x, y = ctx.saved
        gy = grad_out * x
        if x is y:
            return gy, np.zeros_like(gy)  # "the same input: one gradient is enough"
        return grad_out * y, gy


@pytest.mark.parametrize(
    "subject, kwargs, message",
    [
        (WrongSecondInput, {"input_shapes": [(2, 3), (2, 3)]}, r"gradient disagrees with finite differences.*\n  input 1 \(shape \(2, 3\)\)"),
        (lambda x, y: x * y.detach(), {"input_shapes": [(2,), (2,)]}, r"gradient disagrees.*\n  input 1 \(shape \(2,\)\)"),
        (MutatesSaved, {"input_shapes": [(2, 2)]}, r"saved array mutated: MutatesSaved.saved\[0\] \(shape \(2, 2\)\)"),
        (MutatesGradOut, {"input_shapes": [(3,)]}, r"grad_out mutated"),
        (ConsumesState, {"input_shapes": [(3,)]}, r"accumulation: .* same graph did not double the gradient of input 0"),
        (SharedBuffer, {"input_shapes": [(3,)]}, r"fan-out: input 0 used by two calls"),
        (AliasBlind, {"input_shapes": [(3,), (3,)]}, r"diamond: the same Tensor passed as input 0 and input 1"),
        (Unfreezes(3, 2), {"input_shapes": [(4, 3)]}, r"needs_input_grad: frozen parameter 0 \(shape \(3, 2\)\) got a gradient"),
    ],
    ids=["wrong_vjp", "wrong_vjp_callable", "saved_mutated", "grad_out_mutated", "accumulation", "fan_out", "diamond", "frozen_parameter"],
)
def test_conforms_rejects_each_kind_of_bug(subject: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        assert_layer_conforms(subject, **kwargs)


def test_conforms_rejects_wrong_parameter_gradient() -> None:
    class WrongBias(Dense):
        def __call__(self, x: Tensor) -> Tensor:
            return tg.linear(x, self.w) + _Twice.apply(self.b)

    with pytest.raises(ConformanceError, match=r"\n  parameter 1 \(shape \(2,\)\)"):
        assert_layer_conforms(WrongBias(3, 2), input_shapes=[(4, 3)])


class _Twice(Function):
    def forward(ctx, x):
        return x.copy()  # identity forward ...

    def backward(ctx, grad_out):
        return (2.0 * grad_out,)  # ... with a gradient twice too large


def test_conforms_rejects_op_that_changes_with_frozen_input() -> None:
    def depends_on_flag(x: Tensor, y: Tensor) -> Tensor:
        return x * y if y.requires_grad else x * y * 2.0

    with pytest.raises(ConformanceError, match=r"needs_input_grad: freezing input 1 changed the gradient of input 0"):
        assert_layer_conforms(depends_on_flag, input_shapes=[(2,), (2,)])


# ============================================================================ assert_layer_conforms: aliased inputs (order 2)
class MulSavedReversed(Function):
    """x * y, a legal op that saves its inputs in the other order than it takes them."""

    def forward(ctx, x, y):
        ctx.save_for_backward(y, x)
        return x * y

    def backward(ctx, grad_out):
        y, x = ctx.saved
        return grad_out * y, grad_out * x


class SharesMemoryAsOne(Function):
    """x * y that takes inputs sharing memory for one variable (d(x²)/dx = 2x): right only for one Tensor twice."""

    def forward(ctx, x, y):
        ctx.one = bool(np.shares_memory(x, y))  # memory, not identity: still true if the engine hands out views
        ctx.save_for_backward(x, y)
        return x * y

    def backward(ctx, grad_out):
        x, y = ctx.saved
        if ctx.one:
            return grad_out * (x + y), None
        return grad_out * y, grad_out * x


class DetachesWhenShared(SharesMemoryAsOne):
    """x * y whose first derivative is right, but which cuts its backward from the graph for inputs sharing memory."""

    def backward(ctx, grad_out):
        x, y = ctx.saved
        if ctx.one and isinstance(x, Tensor):  # under create_graph: a second derivative of 0 instead of [[0, 1], [1, 0]]
            x, y = x.detach(), y.detach()
        return grad_out * y, grad_out * x


def test_conforms_aliased_inputs_accepts_correct_ops() -> None:
    from tinygrad_bp.ops import Mul

    assert_layer_conforms(Mul, input_shapes=[(2, 3), (2, 3)], order=2)
    assert_layer_conforms(lambda x, y: (x * y).tanh() + x.exp() * y, input_shapes=[(3,), (3,)], order=2)
    assert_layer_conforms(lambda x, y, z: tg.linear(x, y, z).sigmoid(), input_shapes=[(2, 2), (2, 2), (2,)], order=2)
    # A kink where the two inputs are equal (where aliases must be): no finite differences are taken there.
    assert_layer_conforms(lambda x, y: (x - y).relu() * (x - y).relu(), input_shapes=[(3,), (3,)], order=2)


def test_conforms_aliased_inputs_accepts_an_op_saving_its_inputs_in_another_order() -> None:
    # A legal op: expected to fail until the engine maps saved arrays to inputs unambiguously (issue 11, item 1);
    # today's engine reports d²f/dx² = 1 for f(x, x.detach()) (the truth is 0).
    assert_layer_conforms(MulSavedReversed, input_shapes=[(2, 3), (2, 3)])  # first order: fine today
    assert_layer_conforms(MulSavedReversed, input_shapes=[(2, 3), (2, 3)], order=2)


def test_mul_saved_reversed_with_a_detached_alias_has_second_derivative_zero() -> None:
    # The same bug stated directly: d/dx of d/dx <1, x * c> is 0 when c = x.detach() shares x's array.
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    (g,) = tg.grad(MulSavedReversed.apply(x, x.detach()).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, x.data)
    if g.requires_grad:  # a recorded first derivative that depends on x would have to give 0 here
        (h,) = tg.grad(g.sum(), x, allow_unused=True)
        assert h is None or np.allclose(np.asarray(h), 0.0), f"d²f/dx² = {h}, the truth is 0"


@pytest.mark.parametrize(
    "op, message",
    [
        (SharesMemoryAsOne, r"aliased inputs: with input 1 a detached alias of input 0, derivative 1 of input 0 at element"),
        (DetachesWhenShared, r"aliased inputs: with inputs 0 and 1 one array, both requiring grad, derivative 2 of input 0"),
    ],
    ids=["first_derivative", "second_derivative"],
)
def test_conforms_aliased_inputs_rejects_ops_wrong_for_shared_arrays(op: type[Function], message: str) -> None:
    assert_layer_conforms(op, input_shapes=[(2, 3), (2, 3)])  # right for distinct arrays
    with pytest.raises(ConformanceError, match=message):
        assert_layer_conforms(op, input_shapes=[(2, 3), (2, 3)], order=2)


def test_conforms_docs_list_the_checks_in_the_order_they_run() -> None:
    import re
    from pathlib import Path

    from tinygrad_bp import testing

    names = [c.name for c in testing._CHECKS]
    listed = re.findall(r"^\s+\d+\. ([\w_ -]+?)(?: \(``order=2``\))?:", testing.assert_layer_conforms.__doc__, re.M)
    assert listed == names
    doc = (Path(__file__).resolve().parents[1] / "docs" / "extending.md").read_text()
    assert re.findall(r"^\d+\. \*\*([\w_ -]+)\*\*", doc, re.M) == names

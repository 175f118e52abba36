"""Shape ops, every numpy indexing form, pad and scatter-add: numpy's values, first and second derivatives."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_bp as tg
from tinygrad_bp import Function, GradcheckError, Tensor, gradcheck
from tinygrad_bp.ops_shape import Pad
from tinygrad_bp.testing import arrays, shapes

from test_ops import Case, _axis, _no_params, check_forward, check_gradient, unary
from test_ops_math import check_second


# ============================================================================ strategies
def _with(params: Any, min_dims: int = 0) -> st.SearchStrategy:
    """Arrays of drawn shape with parameters drawn from ``params(shape)``."""
    return shapes(min_dims=min_dims).flatmap(lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries(params(s))))


def _one_axis(s: tuple[int, ...]) -> st.SearchStrategy:
    return st.integers(-len(s), len(s) - 1)


def squeezable() -> st.SearchStrategy:
    def build(s: tuple[int, ...]) -> Any:
        ones = [i for i, n in enumerate(s) if n == 1]
        return {"axis": st.none() | (st.lists(st.sampled_from(ones), unique=True).map(tuple) if ones else st.none())}

    return shapes(max_side=2).flatmap(lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries(build(s))))


def index_of(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Every numpy indexing form: basic with None/Ellipsis/negative steps, integer arrays (repeats), masks, mixtures."""
    basic = hnp.basic_indices(shape, allow_ellipsis=True, allow_newaxis=True)
    if not shape:
        return basic | st.just(None) | st.just(True)
    fancy = hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
    mask = hnp.arrays(np.bool_, shape)
    first_mask = hnp.arrays(np.bool_, shape[:1])
    ints = hnp.arrays(np.int64, st.integers(1, 4), elements=st.integers(-shape[-1], shape[-1] - 1))
    ints1 = hnp.arrays(np.int64, 1, elements=st.integers(-shape[-1], shape[-1] - 1))  # broadcasts with any mask
    mixed = st.tuples(first_mask, st.just(Ellipsis), ints1) if len(shape) >= 2 else st.tuples(st.just(None), ints)
    reverse = st.just(tuple(slice(None, None, -k) for k in (1, 2, 1)[: len(shape)]))
    return basic | fancy | mask | mixed | reverse


def indexed() -> st.SearchStrategy:
    return shapes().flatmap(lambda s: st.tuples(st.tuples(arrays(s)), st.fixed_dictionaries({"key": index_of(s)})))


def scattered() -> st.SearchStrategy:
    def build(s: tuple[int, ...]) -> st.SearchStrategy:
        key = hnp.integer_array_indices(s, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)) if s else st.just(())
        return key.flatmap(lambda k: st.tuples(st.tuples(arrays(s), arrays(np.empty(s)[k].shape)), st.just({"key": k})))

    return shapes().flatmap(build)


def padded() -> st.SearchStrategy:
    def widths(s: tuple[int, ...]) -> Any:
        pair = st.tuples(st.integers(0, 2), st.integers(0, 2))
        return {"pad_width": st.integers(0, 2) | pair | st.tuples(*[pair] * len(s)), "constant_values": st.sampled_from([0.0, -1.5])}

    return _with(widths, min_dims=1)


def split_points(s: tuple[int, ...]) -> Any:
    return {"axis": st.just(0), "indices_or_sections": st.lists(st.integers(0, s[0]), max_size=3).map(sorted) | st.just(1)}


def np_flatten(x: np.ndarray, start_dim: int, end_dim: int) -> np.ndarray:
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1 :]) if s <= e else x


CASES = [
    Case("squeeze", lambda x, axis: x.squeeze(axis), lambda x, axis: np.squeeze(x, axis), squeezable()),
    Case("expand_dims", lambda x, axis: x.expand_dims(axis), np.expand_dims, _with(lambda s: {"axis": st.integers(-len(s) - 1, len(s))})),
    Case("unsqueeze", lambda x, axis: x.unsqueeze(axis), np.expand_dims, _with(lambda s: {"axis": st.integers(-len(s) - 1, len(s))})),
    Case("flatten", lambda x, **p: x.flatten(**p), np_flatten, _with(lambda s: {"start_dim": _one_axis(s), "end_dim": st.just(-1)}, min_dims=1)),
    Case("ravel", lambda x: x.ravel(), np.ravel, unary()),
    Case("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), _no_params(st.tuples(arrays(shapes(min_dims=2))))),
    Case("flip", lambda x, axis: x.flip(axis), lambda x, axis: np.flip(x, axis), _with(lambda s: {"axis": _axis(len(s))})),
    Case("repeat", lambda x, **p: x.repeat(**p), lambda x, **p: np.repeat(x, **p),
         _with(lambda s: {"repeats": st.integers(0, 3), "axis": st.none() | _one_axis(s)}, min_dims=1)),
    Case("repeat_each", lambda x, repeats: x.repeat(repeats, axis=0), lambda x, repeats: np.repeat(x, repeats, axis=0),
         _with(lambda s: {"repeats": st.lists(st.integers(0, 2), min_size=s[0], max_size=s[0])}, min_dims=1)),
    Case("tile", lambda x, reps: x.tile(reps), np.tile, _with(lambda s: {"reps": st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple)})),
    Case("pad", lambda x, **p: tg.pad(x, **p), lambda x, **p: np.pad(x, **p), padded()),
    Case("split", lambda x, **p: tg.concatenate([q * (i + 1) for i, q in enumerate(x.split(**p))]),
         lambda x, **p: np.concatenate([q * (i + 1) for i, q in enumerate(np.split(x, **p))]), _with(split_points, min_dims=1)),
    Case("getitem", lambda x, key: x[key], lambda x, key: x[key], indexed()),
    Case("scatter_add", lambda x, v, key: tg.scatter_add(x, key, v), lambda x, v, key: _np_add_at(x, key, v), scattered()),
]
IDS = [c.name for c in CASES]


def _np_add_at(x: np.ndarray, key: Any, v: np.ndarray) -> np.ndarray:
    out = x.copy()
    np.add.at(out, key, v)
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=30)
@given(data=st.data())
def test_shape_op_forward_matches_numpy(case: Case, data: st.DataObject) -> None:
    check_forward(case, data.draw(case.inputs, label="inputs"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_shape_op_gradient_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_gradient(case, data.draw(case.inputs, label="inputs"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=20)
@given(data=st.data())
def test_shape_op_second_derivative_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_second(case, data.draw(case.inputs, label="inputs"))


# ============================================================================ negative control and specifics
class _PadShifted(Pad):
    def backward(ctx, grad_out):
        (region,) = ctx.saved
        shifted = tuple(slice(0, r.stop - r.start) for r in region)
        return (grad_out[shifted],)  # reads the gradient from the corner, not from where x was placed


def test_shape_gradient_check_rejects_a_shifted_pad_backward() -> None:
    x = Tensor(np.random.default_rng(0).uniform(-2, 2, (2, 3)), requires_grad=True)
    fn = lambda t: _PadShifted.apply(t, widths=((1, 0), (2, 1)), value=0.0) * Tensor(np.arange(18.0).reshape(3, 6) / 7)  # noqa: E731
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 3\)\)"):
        gradcheck(fn, x)


def test_index_add_accumulates_and_routes_both_gradients() -> None:
    x = Tensor(np.zeros((3, 2)), requires_grad=True)
    src = Tensor(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), requires_grad=True)
    out = x.index_add(0, [2, 0, 2], src)
    np.testing.assert_array_equal(out.numpy(), [[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])
    (out * Tensor(np.array([[1.0, 1.0], [1.0, 1.0], [10.0, 10.0]]))).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0], [1.0, 1.0], [10.0, 10.0]])
    np.testing.assert_array_equal(src.grad, [[10.0, 10.0], [1.0, 1.0], [10.0, 10.0]])
    assert gradcheck(lambda a, b: a.index_add(1, [1, 1], b), Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones((2, 2)), requires_grad=True))


def test_getitem_negative_steps_none_and_ellipsis_route_gradient() -> None:
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    out = x[None, ::-2, ..., 3:0:-2]
    np.testing.assert_array_equal(out.numpy(), np.arange(12.0).reshape(3, 4)[None, ::-2, ..., 3:0:-2])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0, 1], [0, 0, 0, 0], [0, 1, 0, 1]])


def test_pytorch_spellings_of_shape_ops() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.view(3, 2).shape == x.view((3, 2)).shape == (3, 2)
    assert x.numel() == 6
    assert x.float().dtype == np.float32 and x.float().double().dtype == np.float64
    np.testing.assert_array_equal(x.t().numpy(), x.numpy().T)
    assert x.unsqueeze(1).shape == (2, 1, 3)
    x.float().sum().backward()
    assert x.grad.dtype == np.float64
    with pytest.raises(ValueError, match=r"^t: expects a tensor of at most 2 dimensions"):
        Tensor(np.zeros((2, 2, 2))).t()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: x.squeeze(0), ValueError, r"^squeeze: axis 0 of a tensor of shape \(2, 3\) has length 2"),
        (lambda x: x.flatten(1, 0), ValueError, r"^flatten: start_dim 1 comes after end_dim 0"),
        (lambda x: x.split(4, axis=1), ValueError, r"^split: axis 1 of length 3 does not divide into 4"),
        (lambda x: x.repeat(-1), ValueError, r"^repeat: repeats must be non-negative ints"),
        (lambda x: x.tile(1.5), TypeError, r"^tile: reps must be an int or a tuple of ints"),
        (lambda x: tg.pad(x, ((1, 1), (1, 1), (1, 1))), ValueError, r"^pad: pad_width .* does not fit a tensor of shape \(2, 3\)"),
        (lambda x: tg.pad(x, 1, mode="reflect"), ValueError, r"^pad: only mode='constant'"),
        (lambda x: tg.pad(x, -1), ValueError, r"^pad: pad_width must be non-negative"),
        (lambda x: tg.scatter_add(x, [0, 1], np.ones(4)), ValueError, r"^scatter_add: values of shape \(4,\) do not fit x\[key\] of shape \(2, 3\)"),
        (lambda x: x.index_add(0, [0], np.ones((2, 3))), ValueError, r"^index_add: source of shape \(2, 3\) does not fit 1 indices"),
        (lambda x: x.expand_dims(3), ValueError, r"^expand_dims: axis"),
    ],
)
def test_shape_bad_arguments_name_the_op(call: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call(Tensor(np.zeros((2, 3))))

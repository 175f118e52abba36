"""numpy's functions and ufuncs on Tensors: a recorded Tensor result, or a TypeError that says what to call."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_bp as tg
from tinygrad_bp import Tensor, gradcheck

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])

CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("sum", lambda x: np.sum(x, axis=1)),
    ("mean", lambda x: np.mean(x, axis=0, keepdims=True)),
    ("max", lambda x: np.max(x)),
    ("amin", lambda x: np.amin(x, axis=1)),
    ("prod", lambda x: np.prod(x, axis=0)),
    ("var", lambda x: np.var(x, ddof=1)),
    ("std", lambda x: np.std(x, axis=1)),
    ("cumsum", lambda x: np.cumsum(x, axis=1)),
    ("exp", np.exp),
    ("log_abs", lambda x: np.log(np.abs(x))),
    ("sqrt_square", lambda x: np.sqrt(np.square(x) + 1)),
    ("sin_cos", lambda x: np.sin(x) * np.cos(x)),
    ("tanh", np.tanh),
    ("log1p_expm1", lambda x: np.log1p(np.expm1(x) + 2)),
    ("array_left", lambda x: np.arange(3.0) * x - np.ones(3) / (x * x + 1)),
    ("power", lambda x: np.power(x, 2)),
    ("maximum", lambda x: np.maximum(x, 0.3)),
    ("clip", lambda x: np.clip(x, -0.5, 1.0)),
    ("where", lambda x: np.where(np.asarray(X) > 0, x, -x)),
    ("reshape", lambda x: np.reshape(x, (3, 2))),
    ("transpose", np.transpose),
    ("concatenate", lambda x: np.concatenate([x, x * 2], axis=1)),
    ("stack", lambda x: np.stack([x, x])),
    ("matmul", lambda x: np.matmul(x, np.ones((3, 2)))),
    ("dot", lambda x: np.dot(x, np.ones(3))),
    ("tensordot", lambda x: np.tensordot(x, x, axes=([1], [1]))),
    ("einsum", lambda x: np.einsum("ij,ij->i", x, x)),
    ("outer", lambda x: np.outer(x[0], x[1])),
    ("pad", lambda x: np.pad(x, 1)),
    ("flip_tile", lambda x: np.tile(np.flip(x, 0), 2)),
    ("squeeze", lambda x: np.squeeze(np.expand_dims(x, 0))),
]


@pytest.mark.parametrize("name, call", CALLS, ids=[c[0] for c in CALLS])
def test_numpy_call_on_tensor_records_the_graph_and_matches_numpy(name: str, call: Callable[[Any], Any]) -> None:
    t = Tensor(X.copy(), requires_grad=True)
    out = call(t)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_allclose(out.numpy(), call(X.copy()), rtol=1e-12)
    assert gradcheck(call, Tensor(X.copy(), requires_grad=True))


def test_numpy_split_returns_tensors() -> None:
    parts = np.split(Tensor(X, requires_grad=True), 3, axis=1)
    assert [type(p) for p in parts] == [Tensor] * 3 and parts[1].shape == (2, 1)


def test_numpy_queries_run_on_the_data() -> None:
    t = Tensor(X)
    assert np.shape(t) == (2, 3) and np.ndim(t) == 2 and np.size(t) == 6
    assert np.allclose(t, X) and np.array_equal(t, X)
    np.testing.assert_allclose(t, X)
    cmp = X < t
    assert isinstance(cmp, Tensor) and not cmp.numpy().any()
    assert isinstance(np.isfinite(t), Tensor)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda t: np.sum(t, out=np.empty(())), r"numpy's out argument\(s\) are not supported on a Tensor"),
        (lambda t: np.exp(t, out=np.empty((2, 3))), r"^np\.exp\(\.\.\., out=\.\.\.\) cannot write into a Tensor"),
        (lambda t: np.mean(t, dtype=np.float32), r"numpy's dtype argument\(s\) are not supported"),
        (lambda t: np.add.reduce(t), r"^np\.add\.reduce is not supported on a Tensor; use t\.sum\(axis\)"),
        (lambda t: np.floor(t), r"^np\.floor has no Tensor version .* t\.numpy\(\)"),
        (lambda t: np.linalg.norm(t), r"^np\.linalg\.norm has no Tensor version; use t\.numpy\(\)"),
        (lambda t: np.diff(t), r"^np\.diff has no Tensor version"),
        (lambda t: np.where(t.numpy() > 0), None),
    ],
)
def test_numpy_call_without_tensor_version_raises_type_error_saying_what_to_use(call: Any, match: str | None) -> None:
    t = Tensor(X, requires_grad=True)
    if match is None:  # one-argument np.where gives indices: it must be told to use the data
        with pytest.raises(TypeError, match=r"np\.where\(t\.numpy\(\)\)"):
            np.where(t > 0)
        return
    with pytest.raises(TypeError, match=match):
        call(t)


def test_numpy_inplace_ufunc_into_an_array_is_refused() -> None:
    a = np.zeros((2, 3))
    with pytest.raises(TypeError, match=r"out="):
        a += Tensor(X)


def test_array_on_the_left_keeps_the_tensor_dtype_for_numpy_scalars() -> None:
    t = Tensor(X.astype(np.float32), requires_grad=True)
    assert (np.float64(2.0) * t).dtype == np.float32
    assert (np.ones(3, np.float32) + t).dtype == np.float32

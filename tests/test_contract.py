"""einsum, tensordot, outer, inner and batched matmul: numpy's values, first and second derivatives."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import GradcheckError, Tensor, gradcheck
from tinygrad_bp.contract import Einsum
from tinygrad_bp.testing import arrays, shapes

from test_ops import Case, _no_params, check_forward, check_gradient
from test_ops_math import check_second

# (subscripts, operand shapes): products, traces, diagonals, transposes, sums inside one operand, three operands.
EINSUM_FORMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("bii->b", [(2, 3, 3)]),
    ("iij,j->i", [(3, 3, 2), (2,)]),
    ("ij,ij->i", [(2, 3), (2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij,kl->ijkl", [(2, 1), (1, 3)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("ijk,ikl,l->j", [(2, 3, 2), (2, 2, 3), (3,)]),
]


def einsum_inputs() -> st.SearchStrategy:
    return st.sampled_from(EINSUM_FORMS).flatmap(
        lambda f: st.tuples(st.tuples(*[arrays(s) for s in f[1]]), st.just({"subscripts": f[0]}))
    )


def tensordot_inputs() -> st.SearchStrategy:
    def build(s: tuple[int, ...]) -> st.SearchStrategy:
        return st.integers(0, len(s)).flatmap(
            lambda n: st.one_of(
                st.tuples(st.tuples(arrays(s), arrays(s[len(s) - n :] + (2,))), st.just({"axes": n})),
                st.permutations(range(len(s))).flatmap(
                    lambda p: st.tuples(
                        st.tuples(arrays(s), arrays(tuple(s[i] for i in p[:n]) + (3,))),
                        st.just({"axes": (list(p[:n]), list(range(n)))}),
                    )
                ),
            )
        )

    return shapes(max_dims=3, max_side=3).flatmap(build)


def batched_matmul() -> st.SearchStrategy:
    """Rank-3 and rank-4 operands with broadcast batch axes."""
    def build(b: tuple[int, ...]) -> st.SearchStrategy:
        lhs = tuple(1 if i % 2 else n for i, n in enumerate(b))
        return st.tuples(arrays(b + (2, 3)), arrays(lhs + (3, 2)))

    return _no_params(shapes(min_dims=1, max_dims=2, max_side=3).flatmap(build))


CASES = [
    Case("einsum", lambda *xs, subscripts: tg.einsum(subscripts, *xs), lambda *xs, subscripts: np.einsum(subscripts, *xs), einsum_inputs()),
    Case("tensordot", lambda a, b, axes: tg.tensordot(a, b, axes), lambda a, b, axes: np.tensordot(a, b, axes), tensordot_inputs()),
    Case("outer", tg.outer, np.outer, _no_params(st.tuples(arrays(shapes(max_dims=2)), arrays(shapes(max_dims=2))))),
    Case("inner", tg.inner, np.inner, _no_params(shapes(max_dims=2).flatmap(lambda s: st.tuples(arrays(s), arrays(s[-1:] if s else ()))))),
    Case("batched_matmul", lambda a, b: a @ b, np.matmul, batched_matmul()),
]
IDS = [c.name for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=30)
@given(data=st.data())
def test_contraction_forward_matches_numpy(case: Case, data: st.DataObject) -> None:
    check_forward_close(case, data.draw(case.inputs, label="inputs"))


def check_forward_close(case: Case, drawn: Any) -> None:
    # The summation order differs from numpy's (matmul vs einsum loops): equal up to rounding.
    xs, params = drawn
    out = case.fn(*[Tensor(x) for x in xs], **params)
    expected = np.asarray(case.ref(*xs, **params))
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_contraction_gradient_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_gradient(case, data.draw(case.inputs, label="inputs"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=20)
@given(data=st.data())
def test_contraction_second_derivative_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    check_second(case, data.draw(case.inputs, label="inputs"))


class _EinsumNoDiagonal(Einsum):
    def backward(ctx, grad_out):
        *xs, subs, out = ctx.saved
        return (np.broadcast_to(grad_out, xs[0].shape).copy(),)  # for "ii->": spreads over the whole matrix, not the diagonal


def test_einsum_gradient_check_rejects_a_gradient_off_the_diagonal() -> None:
    x = Tensor(np.random.default_rng(0).uniform(-2, 2, (3, 3)), requires_grad=True)
    assert gradcheck(lambda t: tg.einsum("ii->", t), x)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3, 3\)\)"):
        gradcheck(lambda t: _EinsumNoDiagonal.apply(t, subs=("ii",), out=""), x)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda a: tg.einsum("ij,jk->ik", a, a.T.reshape(3, 2)[:2]), r"^einsum: letter 'j' has length 3 and 2"),
        (lambda a: tg.einsum("ij->ii", a), r"^einsum: the output 'ii' repeats a letter"),
        (lambda a: tg.einsum("...j->j", a), r"^einsum: ellipsis \('\.\.\.'\) is not supported"),
        (lambda a: tg.einsum("ij,jk->ik", a), r"^einsum: 'ij,jk->ik' names 2 operand\(s\) but 1 were given"),
        (lambda a: tg.einsum("ijk->i", a), r"^einsum: operand of shape \(2, 3\) has 2 dimension\(s\)"),
        (lambda a: tg.tensordot(a, a, axes=([1], [1, 0])), r"^tensordot: axes \[1\] of \(2, 3\) and \[1, 0\]"),
        (lambda a: tg.tensordot(a, a, axes=3), r"^tensordot: axes=3 does not fit"),
    ],
)
def test_contraction_bad_arguments_name_the_op(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call(Tensor(np.ones((2, 3))))

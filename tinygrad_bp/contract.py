"""Contractions: einsum (one node, whose gradients are einsums again), tensordot, outer and inner.

``Einsum``'s gradient for an operand is the einsum of the output's gradient with the other operands,
written back to that operand's subscripts.  Two cases need a constant operand in that einsum: a letter
summed away inside one operand alone (a ``ones`` vector brings it back), and a letter repeated in one
operand, a diagonal (an identity matrix spreads the gradient onto it).  Since the gradient is an einsum
again, every order of derivative is one.  tensordot, outer and inner are reshapes around a matmul.
"""
from __future__ import annotations

import string
from typing import Any

import numpy as np

from .function import Function
from .tensor import Tensor

__all__ = ["einsum", "tensordot", "outer", "inner"]


def _einsum(spec: str, *ops: Any) -> Any:
    if all(isinstance(o, np.ndarray) for o in ops):
        return np.einsum(spec, *ops, optimize=len(ops) > 2)
    ins, out = spec.split("->")
    return Einsum.apply(*ops, subs=tuple(ins.split(",")), out=out)


class Einsum(Function):
    """A sum of products over explicit subscripts, like ``np.einsum`` (letters only, no ellipsis)."""

    __slots__ = ()

    def forward(ctx, *xs, subs, out):
        ctx.saved = xs + (subs, out)
        return np.asarray(np.einsum(",".join(subs) + "->" + out, *xs, optimize=len(xs) > 2))

    def backward(ctx, grad_out):
        *xs, subs, out = ctx.saved
        sizes = {c: n for x, s in zip(xs, subs) for c, n in zip(s, x.shape)}
        dtype = grad_out.dtype
        fresh = iter(c for c in string.ascii_letters if c not in sizes)
        grads = []
        for i, s in enumerate(subs):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            ops, terms = [grad_out], [out]
            for j, (x, t) in enumerate(zip(xs, subs)):
                if j != i:
                    ops.append(x)
                    terms.append(t)
            present = set("".join(terms))
            target, seen = "", set()
            for c in s:
                if c in seen:  # a diagonal: a new letter tied to the first by an identity matrix
                    d = next(fresh)
                    ops.append(np.eye(sizes[c], dtype=dtype))
                    terms.append(c + d)
                    target += d
                    continue
                seen.add(c)
                target += c
                if c not in present:  # summed inside this operand alone: its gradient is constant along c
                    ops.append(np.ones(sizes[c], dtype=dtype))
                    terms.append(c)
                    present.add(c)
            grads.append(_einsum(",".join(terms) + "->" + target, *ops))
        return tuple(grads)


def _parse(subscripts: str, n_ops: int) -> tuple[tuple[str, ...], str]:
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string, got {type(subscripts).__name__}")
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise ValueError(f"einsum: ellipsis ('...') is not supported, write the letters out (got {subscripts!r})")
    ins, arrow, out = spec.partition("->")
    subs = tuple(ins.split(","))
    letters = "".join(subs)
    if not all(c in string.ascii_letters for c in letters + out):
        raise ValueError(f"einsum: subscripts may hold only letters, commas and '->', got {subscripts!r}")
    if not arrow:  # numpy's implicit mode: the letters used once, in alphabetical order
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if len(subs) != n_ops:
        raise ValueError(f"einsum: {subscripts!r} names {len(subs)} operand(s) but {n_ops} were given")
    if len(set(out)) != len(out) or not set(out) <= set(letters):
        raise ValueError(f"einsum: the output {out!r} repeats a letter or uses one no operand has ({subscripts!r})")
    return subs, out


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Return the einsum of the operands over explicit subscripts (``'ij,jk->ik'``), like ``np.einsum``.

    Any number of operands; repeated letters (traces, diagonals) and the implicit form without ``->``
    work as in numpy.  Ellipsis is not supported.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, einsum
    >>> a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> einsum("ij,ij->i", a, a).numpy()
    array([ 5., 50.])
    >>> einsum("ii->", Tensor(np.eye(3))).item()
    3.0
    """
    subs, out = _parse(subscripts, len(operands))
    ts = [o if isinstance(o, Tensor) else Tensor(o) for o in operands]
    sizes: dict[str, int] = {}
    for t, s in zip(ts, subs):
        if t.ndim != len(s):
            raise ValueError(f"einsum: operand of shape {t.shape} has {t.ndim} dimension(s) but subscripts {s!r} name {len(s)}")
        for c, n in zip(s, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter {c!r} has length {sizes[c]} and {n} in {subscripts!r} (shapes {[t.shape for t in ts]})")
    return Einsum.apply(*ts, subs=subs, out=out)


def _axes_list(axes: Any, ndim: int, who: str) -> list[int]:
    items = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(f"tensordot: axis {a!r} of {who} is out of range for {ndim} dimension(s)")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"tensordot: repeated axis in {axes!r} for {who}")
    return out


def tensordot(a: Any, b: Any, axes: Any = 2) -> Tensor:
    """Return the sum of products over the given axes of ``a`` and ``b``, like ``np.tensordot``.

    ``axes`` is an int n (the last n of ``a`` with the first n of ``b``) or a pair of axis lists.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, tensordot
    >>> tensordot(Tensor(np.ones((2, 3, 4))), Tensor(np.ones((4, 3, 5))), axes=([1, 2], [1, 0])).shape
    (2, 5)
    """
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} does not fit shapes {a.shape} and {b.shape}")
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        try:
            first, second = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
        ax_a, ax_b = _axes_list(first, a.ndim, "a"), _axes_list(second, b.ndim, "b")
    if [a.shape[i] for i in ax_a] != [b.shape[i] for i in ax_b]:
        raise ValueError(f"tensordot: axes {ax_a} of {a.shape} and {ax_b} of {b.shape} have different lengths")
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = int(np.prod([a.shape[i] for i in ax_a]))
    ma = a.transpose(tuple(free_a + ax_a)).reshape((-1, k))
    mb = b.transpose(tuple(ax_b + free_b)).reshape((k, -1))
    return (ma @ mb).reshape(tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def outer(a: Any, b: Any) -> Tensor:
    """Return the outer product of the two tensors, flattened first, like ``np.outer``.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, outer
    >>> outer(Tensor([1.0, 2.0]), Tensor([1.0, 10.0, 100.0])).shape
    (2, 3)
    """
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    return a.reshape((-1, 1)) * b.reshape((1, -1))


def inner(a: Any, b: Any) -> Tensor:
    """Return the sum of products over the last axes of ``a`` and ``b``, like ``np.inner`` (a product for 0-d).

    Examples
    --------
    >>> from tinygrad_bp import Tensor, inner
    >>> inner(Tensor([1.0, 2.0, 3.0]), Tensor([0.0, 1.0, 0.0])).item()
    2.0
    """
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, axes=([-1], [-1]))

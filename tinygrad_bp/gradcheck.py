"""Finite-difference checks of reverse-mode gradients.

``gradcheck`` compares the vector-Jacobian product the engine computes with central
differences in float64.  The pieces it is built from (``_vjp_mismatches``, ``_Mismatch`` and
``_finish``) are shared with checks of higher order, which wrap the function whose
gradient they test and hand it to the same comparison.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .autograd import grad
from .tensor import Tensor, _new

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when an analytic gradient disagrees with finite differences.

    Examples
    --------
    >>> from tinygrad_bp import GradcheckError
    >>> issubclass(GradcheckError, AssertionError)
    True
    """


@dataclass
class _Mismatch:
    """The worst disagreement found for one checked input."""

    label: str
    shape: tuple[int, ...]
    index: tuple[int, ...] | None  # None in projection mode: one number per input, no element to name
    analytic: float
    numeric: float
    n_bad: int
    n_total: int

    @property
    def abs_err(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def rel_err(self) -> float:
        return self.abs_err / abs(self.numeric) if self.numeric != 0 else float("inf")

    def report(self) -> str:
        """Return one line naming the input, the worst element and the two values."""
        where = (
            f"at element {self.index} ({self.n_bad} of {self.n_total} elements out of tolerance)"
            if self.index is not None
            else "along a random direction u (comparing <u, J^T v>)"
        )
        return (
            f"{self.label} (shape {self.shape}) {where}: analytic {self.analytic!r}, numeric {self.numeric!r}, "
            f"abs error {self.abs_err:.3g}, rel error {self.rel_err:.3g}"
        )


def _compare(
    label: str, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float, projected: bool
) -> _Mismatch | None:
    """Return the worst element where |analytic - numeric| > atol + rtol |numeric|, or None if there is none."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    # A NaN on either side can never be confirmed, so it counts as the worst possible disagreement.
    excess = np.where(np.isnan(excess), np.inf, excess)
    bad = excess > 0
    if not bad.any():
        return None
    flat = int(np.argmax(excess))
    index = None if projected else tuple(int(i) for i in np.unravel_index(flat, analytic.shape))
    return _Mismatch(
        label=label,
        shape=analytic.shape if not projected else (),
        index=index,
        analytic=float(analytic.reshape(-1)[flat]),
        numeric=float(numeric.reshape(-1)[flat]),
        n_bad=int(bad.sum()),
        n_total=int(bad.size),
    )


def _as_outputs(out: Any, who: str) -> list[Tensor]:
    items = list(out) if isinstance(out, (tuple, list)) else [out]
    for k, o in enumerate(items):
        if not isinstance(o, Tensor):
            raise TypeError(f"{who}: the function must return a Tensor or a tuple of Tensors; output {k} is {type(o).__name__}")
        if o.data.dtype.kind != "f":
            raise TypeError(f"{who}: output {k} has dtype {o.data.dtype}; only floating outputs can be differentiated")
    return items


def _prepare_inputs(inputs: Sequence[Any], who: str, stacklevel: int = 4) -> tuple[list[Any], list[int]]:
    """Return the arguments to call the function with, and the positions of those to check.

    A float64 leaf with a writeable array is perturbed in place (and restored), so a layer that
    holds it as a parameter sees the perturbation.  Anything else is checked on a float64 leaf copy.
    """
    args: list[Any] = []
    checked: list[int] = []
    copies: dict[int, Tensor] = {}  # by id, so one Tensor passed twice stays one variable
    low_precision = []
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            args.append(x)
            continue
        checked.append(i)
        d = x.data
        if d.dtype == np.float64 and x.is_leaf and d.flags.writeable:
            args.append(x)
            continue
        if id(x) not in copies:
            if d.dtype.itemsize < 8:
                low_precision.append(f"input {i} ({d.dtype})")
            copies[id(x)] = Tensor(d.astype(np.float64), requires_grad=True)
        args.append(copies[id(x)])
    if not checked:
        raise ValueError(f"{who}: no input requires grad, so there is nothing to check")
    if low_precision:
        warnings.warn(
            f"{who}: {', '.join(low_precision)} checked on a float64 copy; finite differences "
            "in low precision are too noisy to compare",
            UserWarning,
            stacklevel=stacklevel,  # point at the caller of gradcheck
        )
    return args, checked


def _vjp_mismatches(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float,
    atol: float,
    rtol: float,
    mode: str,
    seed: int,
    who: str,
    labels: Sequence[str] | None = None,
) -> list[_Mismatch]:
    """Return, for each checked input whose J^T v disagrees with finite differences, its worst mismatch.

    ``labels`` names the inputs that require grad, in order (default: "input <position>").
    """
    if mode not in ("full", "projection"):
        raise ValueError(f"{who}: mode must be 'full' or 'projection', got {mode!r}")
    if not eps > 0:
        raise ValueError(f"{who}: eps must be positive, got {eps}")
    args, checked = _prepare_inputs(inputs, who)
    if labels is None:
        labels = [f"input {i}" for i in checked]
    elif len(labels) != len(checked):
        raise ValueError(f"{who}: {len(labels)} labels for {len(checked)} checked inputs")
    rng = np.random.default_rng(seed)

    outs = _as_outputs(fn(*args), who)
    # A one-element output is contracted with 1, so the analytic values reported are the gradient itself.
    vs = [np.ones(o.shape) if o.data.size == 1 else rng.standard_normal(o.shape) for o in outs]

    def phi() -> float:
        now = _as_outputs(fn(*args), who)
        return float(sum(np.sum(v * o.data, dtype=np.float64) for v, o in zip(vs, now)))

    xs = [args[i] for i in checked]
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    found: tuple[Any, ...] = (None,) * len(xs)
    if live:
        found = grad([o for o, _ in live], xs, [v for _, v in live], allow_unused=True)
    analytic = [np.zeros(x.shape) if g is None else np.asarray(g, dtype=np.float64) for x, g in zip(xs, found)]
    unused_copies = [label for label, i, g in zip(labels, checked, found) if g is None and args[i] is not inputs[i]]
    if unused_copies:
        # The function reads these variables from somewhere else (a layer's own parameter, say), so
        # neither the engine nor the finite differences see them and the check would pass vacuously.
        warnings.warn(
            f"{who}: {', '.join(unused_copies)} had to be checked on a float64 copy, which the function "
            "never used; pass float64 leaf tensors to check variables the function holds itself",
            UserWarning,
            stacklevel=3,
        )
    del outs, live  # free the recorded graph before the many forward passes below

    mismatches: list[_Mismatch] = []
    for label, x, a in zip(labels, xs, analytic):
        d = x.data
        if mode == "full":
            numeric = np.empty(d.shape)
            for idx in np.ndindex(*d.shape):
                orig = d[idx]
                try:
                    d[idx] = orig + eps
                    plus = phi()
                    d[idx] = orig - eps
                    minus = phi()
                finally:
                    d[idx] = orig
                numeric[idx] = (plus - minus) / (2 * eps)
            m = _compare(label, a, numeric, atol, rtol, projected=False)
        else:
            u = rng.standard_normal(d.shape)
            orig_arr = d.copy()
            try:
                d[...] = orig_arr + eps * u
                plus = phi()
                d[...] = orig_arr - eps * u
                minus = phi()
            finally:
                d[...] = orig_arr
            numeric_u = np.asarray((plus - minus) / (2 * eps))
            m = _compare(label, np.asarray(np.sum(u * a)), numeric_u, atol, rtol, projected=True)
            if m is not None:
                m.shape = d.shape
        if m is not None:
            mismatches.append(m)
    return mismatches


def _finish(mismatches: list[_Mismatch], raise_exception: bool, headline: str, atol: float, rtol: float) -> bool:
    """Return True when nothing mismatched; otherwise raise GradcheckError (or return False)."""
    if not mismatches:
        return True
    if raise_exception:
        lines = "\n".join("  " + m.report() for m in mismatches)
        raise GradcheckError(f"{headline} (atol={atol}, rtol={rtol}):\n{lines}")
    return False


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    mode: str = "full",
    seed: int = 0,
) -> bool:
    """Return True if the gradients of ``fn`` at ``inputs`` match central finite differences.

    Every input that is a Tensor with ``requires_grad=True`` is checked; other arguments are
    passed through unchanged.  Outputs with more than one element (or several outputs) are
    contracted with a random cotangent ``v`` drawn from ``seed``: the engine's ``J^T v`` is
    compared, element by element, with the central difference of ``<v, fn(x)>``.  An element
    fails when ``|analytic - numeric| > atol + rtol * |numeric|``.

    Parameters
    ----------
    fn : callable
        Takes the inputs, returns a Tensor or a tuple of Tensors.
    *inputs : Tensor or any
        The point to check at.  float64 leaves are perturbed in place and restored; float32 (or
        non-leaf) inputs are checked on float64 copies, with a warning for low precision.
    eps : float
        The finite-difference step.
    atol, rtol : float
        Absolute and relative tolerance.
    raise_exception : bool
        Raise ``GradcheckError`` on failure (default) instead of returning False.
    mode : {"full", "projection"}
        "full" differentiates every element (two calls of ``fn`` each); "projection" compares
        ``<u, J^T v>`` with one central difference along a random direction ``u`` per input,
        which costs two calls per input whatever its size.
    seed : int
        Seed of the random cotangent and directions.

    Returns
    -------
    bool
        True on success; False on failure when ``raise_exception`` is False.

    Raises
    ------
    GradcheckError
        On failure: the message names each failing input by position, the worst element's index,
        the analytic and numeric values and the absolute and relative error.

    Examples
    --------
    >>> from tinygrad_bp import Tensor, gradcheck
    >>> x = Tensor([[0.5, -1.0], [2.0, 0.3]], requires_grad=True)
    >>> w = Tensor([1.5, -0.5], requires_grad=True)
    >>> gradcheck(lambda x, w: (x * w).tanh(), x, w)
    True
    """
    mismatches = _vjp_mismatches(fn, inputs, eps, atol, rtol, mode, seed, "gradcheck")
    return _finish(
        mismatches,
        raise_exception,
        f"gradcheck: the analytic gradient disagrees with finite differences ({mode} mode)",
        atol,
        rtol,
    )


def _first_derivative(
    fn: Callable[..., Any], grad_outputs: Any, seed: int, who: str, copied: Sequence[str] = ()
) -> Callable[..., tuple[Tensor, ...]]:
    """Return x -> J(x)^T v as a function of the same arguments as ``fn``, recorded so it can be differentiated.

    The cotangent ``v`` is ``grad_outputs``, or drawn from ``seed`` on the first call and then fixed,
    so that every finite-difference evaluation differentiates the same function.  ``copied`` labels
    (per input requiring grad, "" if not a copy) the inputs that were replaced by float64 copies.
    """
    fixed: list[Any] = []

    def first(*args: Any) -> tuple[Tensor, ...]:
        nonlocal copied
        outs = _as_outputs(fn(*args), who)
        if not fixed:
            if grad_outputs is None:
                rng = np.random.default_rng([seed, 2])  # a stream apart from the second cotangent's
                fixed.extend(rng.standard_normal(o.shape) for o in outs)
            else:
                gos = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
                if len(gos) != len(outs):
                    raise ValueError(f"{who}: {len(gos)} grad_outputs for {len(outs)} outputs")
                for k, (g, o) in enumerate(zip(gos, outs)):
                    g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=np.float64)
                    if g.shape != o.shape:
                        raise ValueError(f"{who}: grad_outputs[{k}] has shape {g.shape} but output {k} has shape {o.shape}")
                    fixed.append(g)
        xs = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        live = [(o, v) for o, v in zip(outs, fixed) if o.requires_grad]
        found: tuple[Any, ...] = (None,) * len(xs)
        if live:
            found = grad([o for o, _ in live], xs, [v for _, v in live], create_graph=True, allow_unused=True)
        if copied:  # checked once, on the first call
            unused = [label for label, g in zip(copied, found) if label and g is None]
            if unused:  # as in gradcheck: the function holds the variable itself, so the check would be vacuous
                warnings.warn(
                    f"{who}: {', '.join(unused)} had to be checked on a float64 copy, which the function "
                    "never used; pass float64 leaf tensors to check variables the function holds itself",
                    UserWarning,
                    stacklevel=4,
                )
            copied = ()
        # An input the output does not depend on has a zero first derivative, constant in every input.
        return tuple(_new(np.zeros(x.shape), False, None) if g is None else g for x, g in zip(xs, found))

    return first


def gradgradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    mode: str = "full",
    seed: int = 0,
) -> bool:
    """Return True if the second derivatives of ``fn`` at ``inputs`` match finite differences of its first derivatives.

    The first derivative is the function ``x -> J(x)^T v`` (``grad(fn(x), x, v, create_graph=True)``)
    for a fixed cotangent ``v``; its own vector-Jacobian product, with a random second cotangent,
    is what the engine computes by differentiating the recorded backward pass.  That product is
    compared with central differences of ``J(x)^T v`` exactly as ``gradcheck`` compares a first
    derivative, and a failure is reported the same way.

    Parameters
    ----------
    fn : callable
        Takes the inputs, returns a Tensor or a tuple of Tensors.
    *inputs : Tensor or any
        The point to check at; as for ``gradcheck``.
    grad_outputs : ndarray, Tensor, or a tuple or list of them, optional
        The cotangent ``v``: one array for one output, else one per output (default: standard
        normal draws from ``seed``).
    eps, atol, rtol, raise_exception, mode, seed
        As for ``gradcheck``.

    Returns
    -------
    bool
        True on success; False on failure when ``raise_exception`` is False.

    Raises
    ------
    GradcheckError
        On failure, naming each failing input, the worst element, both values and the errors.
    RuntimeError
        When an op on the way cannot be differentiated twice (its message names the op).

    Examples
    --------
    >>> from tinygrad_bp import Tensor, gradgradcheck
    >>> x = Tensor([[0.5, -1.0], [2.0, 0.3]], requires_grad=True)
    >>> w = Tensor([1.5, -0.5], requires_grad=True)
    >>> gradgradcheck(lambda x, w: (x * w).tanh(), x, w)
    True
    """
    who = "gradgradcheck"
    # Copy low-precision inputs here, not inside the comparison: a function linear in an input has a
    # constant first derivative, which the comparison would mistake for an unused copy.
    args, checked = _prepare_inputs(inputs, who, stacklevel=3)
    copied = [f"input {i}" if args[i] is not inputs[i] else "" for i in checked]
    first = _first_derivative(fn, grad_outputs, seed, who, copied)
    mismatches = _vjp_mismatches(first, args, eps, atol, rtol, mode, seed, who)
    return _finish(
        mismatches,
        raise_exception,
        f"{who}: the analytic second derivative disagrees with finite differences of the first derivative ({mode} mode)",
        atol,
        rtol,
    )

"""Pictures of the graph behind a tensor: Graphviz DOT text, and SVG or PNG through the ``graphviz`` package.

``to_dot`` needs nothing but this library; ``render`` needs the ``[viz]`` extra and Graphviz's ``dot``.
"""
from __future__ import annotations

import os
from typing import Any, Iterator, Mapping

import numpy as np

from . import Tensor

__all__ = ["to_dot", "render"]

_INSTALL = (
    "install the graphviz Python package (pip install 'tinygrad-bp[viz]', or pip install graphviz) and the "
    "Graphviz programs themselves (apt-get install graphviz, brew install graphviz, or https://graphviz.org/download)"
)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(t: Tensor) -> str:
    return "(" + ", ".join(str(n) for n in t.data.shape) + ("," if t.data.ndim == 1 else "") + ")"


def _norm(g: Any) -> str:
    g = g.data if isinstance(g, Tensor) else np.asarray(g)
    return f"‖grad‖ = {float(np.sqrt(np.sum(np.abs(g) ** 2))):.4g}"


def _walk(root: Tensor) -> Iterator[Tensor]:
    """Yield every tensor of the graph once, the root first, then depth-first through the inputs in order."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        yield t
        if t._ctx is not None:
            stack.extend(reversed(t._ctx.parents))


def _checked_labels(value: Any, what: str) -> dict[int, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"to_dot: {what} must map Tensors to text, got {type(value).__name__}")
    out = {}
    for t, text in value.items():
        if not isinstance(t, Tensor) or not isinstance(text, str):
            raise TypeError(f"to_dot: {what} must map Tensors to text, got {type(t).__name__} → {type(text).__name__}")
        out[id(t)] = text
    return out


def to_dot(
    tensor: Tensor,
    names: Mapping[Tensor, str] | None = None,
    edge_labels: Mapping[Tensor, str] | None = None,
    title: str | None = None,
) -> str:
    """Return Graphviz DOT text of the graph that produced ``tensor``, drawn in data-flow direction.

    One box per op (its Function's name, output shape and dtype), one ellipse per leaf (its shape and
    dtype, whether it requires grad, and after ``backward()`` the norm of its gradient).  A non-leaf
    tensor is the edge from the op that made it to each op that uses it; one that kept its gradient
    (``retain_grad``) shows the norm there.  The text depends only on the graph, so it is reproducible.

    Parameters
    ----------
    tensor : Tensor
        The output whose graph is drawn (usually the cost).
    names : mapping of Tensor to str, optional
        Names shown on leaves and on the edges of other tensors (``{w: "w¹", x: "x"}``).
    edge_labels : mapping of Tensor to str, optional
        Extra text on the edges leaving a tensor, such as the equation that computes its gradient.
    title : str, optional
        A caption for the whole picture.

    Examples
    --------
    >>> from tinygrad_bp import Tensor
    >>> from tinygrad_bp.viz import to_dot
    >>> w = Tensor([[1.0], [2.0]], requires_grad=True)
    >>> y = (Tensor([[3.0, 4.0]]) @ w).sigmoid()
    >>> y.backward()
    >>> print(to_dot(y, names={w: "w"}), end="")
    digraph tinygrad_bp {
      rankdir=LR;
      node [fontname="Helvetica", fontsize=11];
      edge [fontname="Helvetica", fontsize=10];
      n0 [shape=box, style="rounded,filled", fillcolor="#dbe9f6", label="Sigmoid\\n(1, 1) float64"];
      n1 [shape=box, style="rounded,filled", fillcolor="#dbe9f6", label="Matmul\\n(1, 1) float64"];
      n2 [shape=ellipse, label="leaf\\n(1, 2) float64"];
      n3 [shape=ellipse, style=filled, fillcolor="#fde6c8", label="w\\n(2, 1) float64\\nrequires grad\\n‖grad‖ = 8.351e-05"];
      n1 -> n0;
      n2 -> n1;
      n3 -> n1;
    }
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"to_dot: title must be text, got {type(title).__name__}")
    named = _checked_labels(names, "names")
    extra = _checked_labels(edge_labels, "edge_labels")
    tensors = list(_walk(tensor))
    ids = {id(t): f"n{k}" for k, t in enumerate(tensors)}
    lines = ["digraph tinygrad_bp {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f'  labelloc=t; fontname="Helvetica"; label={_quote(title)};')
    for t in tensors:
        head = f"{_shape(t)} {t.data.dtype}"
        if t._ctx is not None:
            label = f"{type(t._ctx).__name__}\n{head}"
            lines.append(f'  {ids[id(t)]} [shape=box, style="rounded,filled", fillcolor="#dbe9f6", label={_quote(label)}];')
            continue
        parts = [named.get(id(t), "leaf"), head]
        if t.requires_grad:
            parts.append("requires grad")
            if t.grad is not None:
                parts.append(_norm(t.grad))
        style = ' style=filled, fillcolor="#fde6c8",' if t.requires_grad else ""
        lines.append(f"  {ids[id(t)]} [shape=ellipse,{style} label={_quote(chr(10).join(parts))}];")
    for t in tensors:
        if t._ctx is None:
            continue
        for p in t._ctx.parents:
            text = [s for s in (named.get(id(p)) if p._ctx is not None else None, extra.get(id(p))) if s]
            if p._ctx is not None and p.grad is not None:
                text.append(_norm(p.grad))
            attrs = f" [label={_quote(chr(10).join(text))}]" if text else ""
            lines.append(f"  {ids[id(p)]} -> {ids[id(t)]}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(tensor: Tensor, path: str | os.PathLike, **to_dot_args: Any) -> str:
    """Return ``path`` after drawing the graph of ``tensor`` into it as SVG or PNG (chosen by the suffix).

    Needs the ``graphviz`` Python package (the ``[viz]`` extra) and Graphviz's ``dot`` program; without
    them it raises ImportError or RuntimeError saying how to install them.  ``to_dot_args`` are passed
    to ``to_dot``.

    Examples
    --------
    >>> import os, tempfile, shutil, pytest
    >>> _ = pytest.importorskip("graphviz")
    >>> if shutil.which("dot") is None:
    ...     pytest.skip("Graphviz's dot program is not installed")
    >>> from tinygrad_bp import Tensor
    >>> from tinygrad_bp.viz import render
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> path = render((w * w).sum(), os.path.join(tempfile.mkdtemp(), "graph.svg"))
    >>> open(path).read().count("<svg")
    1
    """
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise ValueError(f"render: {path!r} must end in .svg or .png")
    dot = to_dot(tensor, **to_dot_args)
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"render needs the graphviz package: {_INSTALL}") from None
    try:
        data = graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(f"render: Graphviz's dot program was not found; {_INSTALL}") from None
    with open(path, "wb") as f:
        f.write(data)
    return path

"""Generate docs/api.md: every public name of tinygrad_bp and nets, with its signature and one-line summary.

    python tools/gen_api.py            # rewrite docs/api.md
    python tools/gen_api.py --check    # exit 1 if docs/api.md is out of date

Public names are each module's ``__all__`` plus the public methods and properties of the public
classes.  The summary is the first line of the docstring; a few names cannot carry a docstring of
their own (Tensor methods registered as lambdas, data attributes, module constants) and take theirs
from ``FALLBACK`` below or from the comment or string next to the constant in its module.  A public
name with no summary at all stops the generator, so nothing is left out silently.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "api.md")

# (module, title): a package first, then the modules whose __all__ adds names the package does not re-export.
MODULES = [
    ("tinygrad_bp", "The autodiff engine"),
    ("tinygrad_bp.testing", "Test helpers for your own ops and layers (hypothesis needed for the strategies)"),
    ("tinygrad_bp.viz", "Pictures of the graph (DOT text; rendering needs the [viz] extra)"),
    ("nets", "Nielsen's network on the engine"),
    ("nets.costs", None),
    ("nets.layers", None),
    ("nets.init", None),
    ("nets.network", "Drop-in for the book's network.py (and, below, network2.py and mnist_loader.py)"),
    ("nets.network2", "Drop-in for the book's network2.py"),
    ("nets.mnist_loader", "Drop-in for the book's mnist_loader.py"),
    ("nets.reference", "The hand-derived BP1–BP4 oracle (plain numpy)"),
    ("nets.mnist", "MNIST data and the training command"),
    ("nets.export", "To PyTorch and ONNX and back (ONNX needs the [onnx] extra)"),
    ("nets.network3", "Drop-in for the book's network3.py (chapter 6: conv, softmax, dropout)"),
    ("nets.persistence3", "Model files of network3 networks"),
]

# Decisions on the PyTorch habits a user brings, written here so the reference states them next to the names.
PYTORCH_HABITS = """## Coming from PyTorch: what the engine does with its habits

| habit | here |
|---|---|
| `w -= lr * w.grad` on a parameter | `+=`, `-=`, `*=`, `/=`, `zero_()` and `copy_()` change the array itself. On a leaf that requires grad they are refused while grad mode is on (PyTorch's rule): write the update inside `with no_grad():`. On a non-leaf inside a recorded graph, `+=` and friends record an out-of-place op and rebind the name, as Python does for types without in-place operators; `zero_()`/`copy_()` are refused there. |
| changing a saved tensor in place | Each tensor carries the clock count of its last in-place update (shared with its `detach()`es); a backward whose saved input or output changed after the op ran raises `RuntimeError` naming the op and the shape, like PyTorch's "modified by an inplace operation". A view made by an op (indexing, reshape) is a new tensor, so changing it is not tracked. |
| `backward(retain_graph=...)`, `grad(..., retain_graph=...)` | Accepted and ignored: a graph is never freed, so a second `backward` through it accumulates into `.grad` again (PyTorch needs `retain_graph=True` for that). |
| `.grad` during training | Always ∂C/∂p itself, never scaled by the learning rate; the optimizer holds `lr`. `.grad` is the engine's own array: never the seed passed to `backward`. |
| `torch.no_grad()` in one thread | Grad mode and anomaly mode are per thread, as in PyTorch. |
| a custom `Function` | `forward` gets arrays and returns an array; `backward` returns one numpy array (or `None`) per input. Save the inputs and the output themselves: see docs/extending.md, "The saving contract". |"""

FALLBACK = {
    "Function.kwargs": "The settings ``forward`` was called with (``apply(**kwargs)``); ``capture`` replays them.",
    "FORMAT": "The format tag of network3 model files.",
    "ACTIVATION_FNS": "network3's activation functions by name.",
    "CrossEntropyCost.output": "The output activation the cost needs (None: any).",
    "QuadraticCost.output": "The output activation the cost needs (None: any).",
    "LogLikelihoodCost.output": "The output activation the cost needs (None: any).",
    "LogLikelihoodCost.name": "The name a model file stores for the cost.",
    "Module.training": "Whether the module is in training mode (Dropout drops only then); set by train() and eval().",
    "Tensor.data": "The underlying numpy array.",
    "Tensor.grad": "The accumulated gradient (an ndarray; a Tensor after backward(create_graph=True)), or None.",
    "Tensor.requires_grad": "Whether backward computes a gradient for this tensor.",
    "Tensor.astype": "Return the tensor converted to another dtype (differentiable between float dtypes).",
    "Tensor.broadcast_to": "Return the tensor broadcast to a larger shape, like np.broadcast_to.",
    "Tensor.div": "Return the elementwise/broadcast division by ``other`` (the ``/`` operator).",
    "Tensor.sub": "Return the elementwise/broadcast difference with ``other`` (the ``-`` operator).",
    "Tensor.exp": "Return the elementwise exponential.",
    "Tensor.log": "Return the elementwise natural logarithm.",
    "Tensor.neg": "Return the elementwise negation (the unary ``-`` operator).",
    "Tensor.sigmoid": "Return the elementwise logistic function σ(z) = 1 / (1 + e⁻ᶻ).",
    "Tensor.tanh": "Return the elementwise hyperbolic tangent.",
    "Tensor.relu": "Return the elementwise max(x, 0) (derivative 0 at 0).",
    "Tensor.sum": "Return the sum over ``axis`` (all axes by default), optionally keeping dimensions.",
    "Tensor.mean": "Return the mean over ``axis`` (all axes by default), optionally keeping dimensions.",
    "Tensor.max": "Return the maximum over ``axis``; tied maxima share the gradient equally.",
    "Tensor.min": "Return the minimum over ``axis``; tied minima share the gradient equally.",
    "Tensor.log_softmax": "Return log softmax along ``axis`` (default -1), computed without overflow.",
    "Tensor.softmax": "Return softmax along ``axis`` (default -1).",
    "Tensor.reshape": "Return the tensor with a new shape (given as a tuple or as separate ints).",
    "Tensor.transpose": "Return the tensor with its axes permuted (reversed by default).",
    "Tensor.permute": "Return the tensor with its axes permuted (same as transpose).",
    "Tensor.swapaxes": "Return the tensor with two axes exchanged.",
    "Function.forward": "Return the op's output array from its input arrays (a subclass defines it).",
    "Function.backward": "Return one gradient per input (None where not needed) from grad_out (a subclass defines it).",
    "Function.parents": "The input Tensors of this node (set when a gradient is needed).",
    "Function.needs_input_grad": "One flag per input: whether backward must compute that input's gradient.",
    "Function.saved": "What forward passed to save_for_backward.",
    "Function.once_differentiable": "Set True in a subclass whose backward cannot be recorded under create_graph=True.",
    "QuadraticCost.name": "The cost's name, as network2's JSON files store it.",
    "CrossEntropyCost.name": "The cost's name, as network2's JSON files store it.",
    "Gradients.deltas": "Per layer, δˡ = ∂C/∂zˡ.",
    "Gradients.nabla_b": "Per layer, ∂C/∂bˡ in Nielsen's shape (out, 1).",
    "Gradients.nabla_w": "Per layer, ∂C/∂Wˡ in Nielsen's shape (out, in).",
    "Param.torch_name": "The parameter's name in PyTorch (``weight``, ``bias``).",
    "Param.attr": "The layer attribute holding the parameter (``w``, ``b``).",
    "Param.transpose": "Whether PyTorch's layout is the transpose of ours (True for Linear's weight).",
    "Converter.layer": "Our layer class, matched exactly.",
    "Converter.torch_name": "The torch.nn class that computes the same function.",
    "Converter.onnx_op": "The one ONNX operator that computes it.",
    "Converter.build": "Return a new layer from PyTorch-layout arrays and ONNX attributes (parameters filled in later).",
    "Converter.params": "The parameters, in PyTorch's order and names.",
    "Converter.torch_args": "Return the torch.nn constructor's keyword arguments for a layer.",
    "Converter.onnx_attrs": "Return the ONNX node's attributes for a layer.",
    "Converter.out_shape": "Return the output shape for an input shape, or raise ValueError.",
    "INITS": "The names of the weight initialisations: 'large', 'default', 'zeros'.",
    "MIRRORS": "The download mirrors, tried in order.",
    "FILES": "The four standard file stems, in the order (train images, train labels, test images, test labels).",
    "CHECKSUMS": "The md5 sums a downloaded or cached MNIST file must match.",
}


def _first_line(doc: str | None) -> str | None:
    if not doc:
        return None
    line = inspect.cleandoc(doc).splitlines()[0].strip()
    return line or None


def _constant_doc(module: Any, name: str) -> str | None:
    """Return the string literal right after ``name = ...`` in the module's source, or the comment right above it."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    lines = source.splitlines()
    body = tree.body
    for i, node in enumerate(body):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            nxt = body[i + 1] if i + 1 < len(body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                return _first_line(nxt.value.value)
            above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
            if above.startswith("#"):
                return above.lstrip("# ").strip()
    return None


def _default(value: Any) -> str:
    """Return a default value as the reader would write it: a public constant or class by name, never an address."""
    for modname, _ in MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            if getattr(module, name) is value and not isinstance(value, (int, float, str, bool)):
                return name
    if value is np.float64:
        return "np.float64"
    if inspect.isfunction(value) or inspect.isclass(value):
        return value.__name__
    return repr(value)


def _signature(obj: Any) -> str:
    """Return ``(name=default, ...)`` without annotations (they are in the docstrings) and without self/cls/ctx."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    parts = []
    star = False
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls", "ctx"):
        params = params[1:]
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            star = True
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        else:
            if p.kind is p.KEYWORD_ONLY and not star:
                parts.append("*")
                star = True
            parts.append(p.name if p.default is p.empty else f"{p.name}={_default(p.default)}")
    return "(" + ", ".join(parts) + ")"


def _summary(key: str, obj: Any, name: str | None = None) -> str:
    if key in FALLBACK:
        return FALLBACK[key]
    text = None
    if callable(obj) or isinstance(obj, (property, staticmethod, classmethod)):
        text = _first_line(obj.__doc__ if not isinstance(obj, (staticmethod, classmethod)) else obj.__func__.__doc__)
    elif name is not None:
        # A constant: its docstring or comment sits in whichever of our modules assigns it.
        for modname, _ in MODULES:
            text = _constant_doc(importlib.import_module(modname), name)
            if text:
                break
    if not text:
        raise SystemExit(f"gen_api: {key} is public but has no docstring or summary; document it or add it to FALLBACK")
    return text


def _members(cls: type) -> list[tuple[str, Any]]:
    """Return the public methods, properties and attributes a class defines itself (inherited ones are listed
    under the base class)."""
    out: dict[str, Any] = {}
    for name, value in vars(cls).items():
        if not name.startswith("_"):
            out[name] = value
    for name in getattr(cls, "__slots__", ()):
        if not name.startswith("_"):
            out.setdefault(name, None)
    for name in getattr(cls, "__annotations__", {}):
        if not name.startswith("_") and name not in out:
            out[name] = None
    return sorted(out.items())


def _entry(obj: Any, name: str) -> list[str]:
    if inspect.isclass(obj):
        lines = [f"- **`{name}{_signature(obj)}`** — {_summary(name, obj)}"]
        bases = [b.__name__ for b in obj.__mro__[1:-1] if b.__module__.split(".")[0] in ("tinygrad_bp", "nets")]
        if bases:
            lines.append(f"  - *also has the members of* `{bases[0]}`")
        for mname, member in _members(obj):
            mqual = f"{name}.{mname}"
            if isinstance(member, property):
                sig = ""
            elif isinstance(member, (staticmethod, classmethod)):
                sig = _signature(member.__func__)
            elif callable(member):
                sig = _signature(member)
                sig = sig.replace("(self, ", "(").replace("(self)", "()").replace("(ctx, ", "(").replace("(ctx)", "()")
            else:
                sig = ""
            if member is None and mqual not in FALLBACK:
                raise SystemExit(f"gen_api: {mqual} is public but has no summary; add it to FALLBACK")
            inherited = _first_line(inspect.getdoc(getattr(obj, mname))) if callable(member) else None
            summary = FALLBACK.get(mqual) or _first_line(getattr(member, "__doc__", None)) if callable(member) else None
            # A method overriding a documented one without a docstring of its own inherits its summary.
            summary = summary or inherited or _summary(mqual, member)
            lines.append(f"  - `{mname}{sig}` — {summary}")
        return lines
    if callable(obj):
        return [f"- **`{name}{_signature(obj)}`** — {_summary(name, obj)}"]
    return [f"- **`{name}`** — {_summary(name, obj, name)}"]


def generate() -> str:
    """Return the text of docs/api.md."""
    sys.path.insert(0, ROOT)
    out = [
        "# API reference",
        "",
        "Every public name of the two packages, with its signature and the first line of its docstring.",
        "Generated by `python tools/gen_api.py` (the test suite checks it is up to date); the docstrings,",
        "each with a runnable example, hold the details: `help(tinygrad_bp.Tensor)`.",
        "",
        *PYTORCH_HABITS.splitlines(),
        "",
    ]
    listed: dict[int, str] = {}
    for modname, title in MODULES:
        module = importlib.import_module(modname)
        names = [n for n in module.__all__ if id(getattr(module, n)) not in listed or modname.count(".") == 0]
        if not names:
            continue
        heading = f"## `{modname}`" + (f" — {title}" if title else "")
        out += [heading, ""]
        if module.__doc__ and title:
            out += [_first_line(module.__doc__) or "", ""]
        table = getattr(module, "API_TABLE", None)  # a hand-written table a module wants shown with its names
        if table:
            out += [table.strip(), ""]
        for name in names:
            obj = getattr(module, name)
            if id(obj) in listed:
                out.append(f"- **`{name}`** — Another name for `{listed[id(obj)]}`.")
                continue
            out += _entry(obj, name)
            listed[id(obj)] = name
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = generate()
    if "--check" in argv:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                print("docs/api.md is out of date: run python tools/gen_api.py", file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

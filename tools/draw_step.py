"""Draw the graph of one training step of Nielsen's [784, 30, 10] network, with BP1–BP4 on the edges they compute.

    python tools/draw_step.py            # rewrite docs/backprop_step.dot, and docs/backprop_step.svg where dot exists
    python tools/draw_step.py --check    # exit 1 if docs/backprop_step.dot is not what this script makes

The mini-batch is random (seeded) rather than MNIST, so the picture is the same on every machine; only
the gradient norms in it depend on the data.  docs/backprop.md shows the SVG, and its test checks that the
DOT text this script makes equals the committed one.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nets import Network  # noqa: E402
from tinygrad_bp import Tensor  # noqa: E402
from tinygrad_bp.viz import render, to_dot  # noqa: E402

DOT_PATH = ROOT / "docs" / "backprop_step.dot"
SVG_PATH = ROOT / "docs" / "backprop_step.svg"
SIZES = [784, 30, 10]
BATCH = 10


def step_graph() -> tuple[Tensor, dict[str, Any]]:
    """Return the cost of one mini-batch after backward, and ``to_dot``'s names, equations on edges and title."""
    net = Network(SIZES, seed=0)
    rng = np.random.default_rng(0)
    x = Tensor(rng.uniform(0, 1, (BATCH, SIZES[0])))  # pixel-like inputs
    y = Tensor(np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], BATCH)])  # one-hot targets
    zs, activations = net.forward_trace(x, retain_grad=True)
    cost = net.cost.fn(activations[-1], y)
    cost.backward()
    linears = net.model.layers[0::2]
    names: dict[Tensor, str] = {x: f"x: a mini-batch of {BATCH}", y: "y: one-hot targets"}
    labels: dict[Tensor, str] = {}
    sup = "¹²³"
    for l, (lin, z, a) in enumerate(zip(linears, zs, activations[1:])):
        k = sup[l]
        names[lin.w] = f"w{k} (= W{k}ᵀ)"
        names[lin.b] = f"b{k}"
        names[z] = f"z{k}"
        names[a] = f"a{k}"
        labels[lin.w] = f"BP4: ∂C/∂W{k} = δ{k} (a{sup[l - 1] if l else '⁰'})ᵀ, summed over the batch"
        labels[lin.b] = f"BP3: ∂C/∂b{k} = δ{k}, summed over the batch"
    last, hidden = sup[len(zs) - 1], sup[len(zs) - 2]
    labels[zs[-1]] = f"BP1: δ{last} = ∇ₐC ⊙ σ′(z{last})"
    labels[zs[-2]] = f"BP2: δ{hidden} = ((W{last})ᵀ δ{last}) ⊙ σ′(z{hidden})"
    title = (
        f"One mini-batch step of the {SIZES} network: forward along the arrows, backward against them; "
        "each equation labels the edge whose gradient it computes"
    )
    return cost, {"names": names, "edge_labels": labels, "title": title}


def step_dot() -> str:
    """Return the DOT text of the picture in docs/backprop_step.svg."""
    cost, args = step_graph()
    return to_dot(cost, **args)


def main(argv: list[str]) -> int:
    dot = step_dot()
    if argv == ["--check"]:
        same = DOT_PATH.exists() and DOT_PATH.read_text(encoding="utf-8") == dot
        if not same:
            print(f"{DOT_PATH.relative_to(ROOT)} is out of date: run python tools/draw_step.py", file=sys.stderr)
        return 0 if same else 1
    DOT_PATH.write_text(dot, encoding="utf-8")
    if shutil.which("dot") is None:
        print(f"wrote {DOT_PATH}; Graphviz's dot is not installed, so {SVG_PATH.name} was left as it was")
        return 0
    cost, args = step_graph()
    render(cost, SVG_PATH, **args)
    print(f"wrote {DOT_PATH} and {SVG_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

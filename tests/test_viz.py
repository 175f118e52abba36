"""tinygrad_bp.viz: DOT text of the graph (no optional package), rendering (graphviz package and dot program)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets import Network
from tinygrad_bp import Tensor, no_grad
from tinygrad_bp.viz import render, to_dot

ROOT = Path(__file__).resolve().parent.parent
NODE = re.compile(r"^  (n\d+) \[shape=(box|ellipse),.*label=\"(.*)\"\];$", re.M)
EDGE = re.compile(r"^  (n\d+) -> (n\d+)(?: \[label=\"(.*)\"\])?;$", re.M)


def _nodes(dot: str) -> dict[str, tuple[str, str]]:
    return {m[1]: (m[2], m[3]) for m in NODE.finditer(dot)}


def _edges(dot: str) -> list[tuple[str, str, str | None]]:
    return [(m[1], m[2], m[3]) for m in EDGE.finditer(dot)]


def _net_step(sizes: list[int], batch: int, seed: int) -> tuple[Network, Tensor]:
    net = Network(sizes, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return net, net.cost.fn(net(Tensor(x)), Tensor(y))


@given(st.lists(st.integers(1, 5), min_size=2, max_size=4), st.integers(1, 4), st.integers(0, 100))
def test_to_dot_draws_one_node_per_op_and_leaf_with_edges_in_data_flow(sizes: list[int], batch: int, seed: int) -> None:
    net, cost = _net_step(sizes, batch, seed)
    dot = to_dot(cost)
    nodes, edges = _nodes(dot), _edges(dot)
    n_layers = len(sizes) - 1
    ops = [label.split("\\n")[0] for shape, label in nodes.values() if shape == "box"]
    assert sorted(ops) == sorted(["Linear", "Sigmoid"] * n_layers + ["QuadraticCost"])
    leaves = [label for shape, label in nodes.values() if shape == "ellipse"]
    assert len(leaves) == 2 * n_layers + 2  # every w and b, and x and y
    assert sum("requires grad" in label for label in leaves) == 2 * n_layers
    assert len(edges) == 3 * n_layers + n_layers + 2  # Linear takes x, w, b; Sigmoid z; the cost a and y
    sinks = {dst for _, dst, _ in edges} - {src for src, _, _ in edges}
    assert [nodes[s][1].split("\\n")[0] for s in sinks] == ["QuadraticCost"]  # all arrows lead to the cost
    assert all(nodes[dst][0] == "box" for _, dst, _ in edges)  # only ops consume
    assert f"Linear\\n({batch}, {sizes[1]}) float64" in dot
    assert f"({sizes[0]}, {sizes[1]}) float64\\nrequires grad" in dot  # w¹ in row form (in, out)


def test_to_dot_shows_each_leafs_gradient_norm_only_after_backward() -> None:
    w = Tensor([[3.0, -4.0]], requires_grad=True)
    y = (w * 2.0).sum()
    assert "grad‖" not in to_dot(y)
    y.backward()
    assert 'requires grad\\n‖grad‖ = 2.828"' in to_dot(y)  # ‖(2, 2)‖ = 2√2


def test_to_dot_draws_a_shared_input_once_with_one_edge_per_use() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    dot = to_dot(y, names={x: "x"})
    assert dot.count('label="x\\n') == 1
    x_id = next(k for k, (_, label) in _nodes(dot).items() if label.startswith("x\\n"))
    assert [e for e in _edges(dot) if e[0] == x_id] == [(x_id, "n1", None)] * 2


def test_to_dot_is_the_same_text_for_the_same_graph() -> None:
    assert to_dot(_net_step([4, 3, 2], 5, 0)[1]) == to_dot(_net_step([4, 3, 2], 5, 0)[1])


def test_to_dot_puts_names_and_labels_on_the_edges_of_inner_tensors() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    z = x * 3.0
    z.retain_grad()
    y = z.relu().sum()
    y.backward()
    dot = to_dot(y, names={z: "z"}, edge_labels={z: 'δ "here"', x: "into Mul"}, title="t")
    assert 'label="z\\nδ \\"here\\"\\n‖grad‖ = 1"' in dot  # z's gradient (1, 0): norm 1; quotes escaped
    assert '[label="into Mul"]' in dot
    assert 'labelloc=t; fontname="Helvetica"; label="t";' in dot


def test_to_dot_of_a_leaf_or_a_no_grad_result_is_one_node() -> None:
    w = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = w * 2.0
    for t in (w, y):
        dot = to_dot(t)
        assert len(_nodes(dot)) == 1 and _edges(dot) == []


def test_to_dot_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(TypeError, match="to_dot: expected a Tensor, got ndarray"):
        to_dot(np.zeros(2))  # type: ignore[arg-type]
    t = Tensor([1.0])
    with pytest.raises(TypeError, match="names must map Tensors to text"):
        to_dot(t, names={"t": "x"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="edge_labels must map Tensors to text"):
        to_dot(t, edge_labels=[t])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="title must be text"):
        to_dot(t, title=3)  # type: ignore[arg-type]


# ============================================================================ render
def test_render_without_the_graphviz_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now fails
    with pytest.raises(ImportError, match=r"pip install 'tinygrad-bp\[viz\]'.*apt-get install graphviz"):
        render(Tensor([1.0]), tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_render_without_the_dot_program_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    pytest.importorskip("graphviz", reason="needs the graphviz package (pip install 'tinygrad-bp[viz]')")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere
    with pytest.raises(RuntimeError, match="dot program was not found.*apt-get install graphviz"):
        render(Tensor([1.0]), tmp_path / "g.png")


def test_render_refuses_a_suffix_it_cannot_write(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"must end in \.svg or \.png"):
        render(Tensor([1.0]), tmp_path / "g.pdf")


def _needs_dot() -> None:
    pytest.importorskip("graphviz", reason="needs the graphviz package (pip install 'tinygrad-bp[viz]')")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed (apt-get install graphviz)")


def test_render_writes_svg_and_png(tmp_path) -> None:
    _needs_dot()
    cost = _net_step([4, 3, 2], 5, 0)[1]
    cost.backward()
    svg = render(cost, tmp_path / "g.svg", title="step")
    assert Path(svg).read_text(encoding="utf-8").count("QuadraticCost") == 1
    png = Path(render(cost, tmp_path / "g.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ============================================================================ the picture in docs/backprop.md
def test_docs_backprop_picture_dot_text_is_what_the_script_makes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "draw_step.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout
    dot = (ROOT / "docs" / "backprop_step.dot").read_text(encoding="utf-8")
    for k in range(1, 5):
        assert dot.count(f"BP{k}:") == (1 if k <= 2 else 2)  # BP3 and BP4 once per layer


def test_docs_backprop_picture_svg_is_the_rendered_dot_text(tmp_path) -> None:
    svg = (ROOT / "docs" / "backprop_step.svg").read_text(encoding="utf-8")
    assert "(784, 30) float64" in svg and all(f"BP{k}:" in svg for k in range(1, 5))
    _needs_dot()
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from draw_step import step_graph
    finally:
        sys.path.remove(str(ROOT / "tools"))
    cost, args = step_graph()
    fresh = Path(render(cost, tmp_path / "step.svg", **args)).read_text(encoding="utf-8")
    texts = lambda s: re.findall(r"<text[^>]*>([^<]*)</text>", s)  # noqa: E731 - the words, not the layout
    assert texts(fresh) == texts(svg)

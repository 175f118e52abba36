"""The docs cannot rot: every ```python block in docs/*.md runs, quotes of the code are verbatim, api.md is current.

Fence conventions (the first word is the language, so renderers still highlight Python):

- ```python                      run, in order, in one namespace per file (fresh for each file);
- ```python file=PATH            run too; all blocks naming PATH, joined, must equal that file in the repo;
- ```python quote PATH NAME      not run; each non-blank line must appear verbatim in function/class NAME of PATH;
- ```python no-run               not run (only for what cannot run in the suite, such as a full MNIST training).
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# A fence may be indented (a block inside a list item); its body is read with that indentation removed.
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


def code_blocks(text: str) -> list[tuple[str, str, int]]:
    """Return (info string, body, line number) of every fenced code block."""
    blocks = []
    for m in FENCE.finditer(text):
        indent = m["indent"]
        body = "".join(line[len(indent):] if line.startswith(indent) else line for line in m["body"].splitlines(True))
        blocks.append((m["info"].strip(), body, text.count("\n", 0, m.start()) + 1))
    return blocks


def _runs(info: str) -> bool:
    words = info.split()
    return bool(words) and words[0] == "python" and (len(words) == 1 or words[1].startswith("file="))


def _doc_ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(DOCS).as_posix() for p in paths]


DOC_FILES = sorted(DOCS.glob("*.md")) + sorted(DOCS.glob("zh/*.md"))  # docs/zh: the Chinese walk-through
RUNNABLE = [p for p in DOC_FILES if any(_runs(info) for info, _, _ in code_blocks(p.read_text(encoding="utf-8")))]


# ============================================================================ every python block runs
@pytest.mark.parametrize("path", RUNNABLE, ids=_doc_ids(RUNNABLE))
def test_docs_python_blocks_run_in_order(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    for info, body, line in code_blocks(path.read_text(encoding="utf-8")):
        if not _runs(info):
            continue
        code = compile(body, f"{path.relative_to(ROOT)}, block at line {line}", "exec")
        exec(code, namespace)  # noqa: S102 - running the docs is the point


def test_docs_have_runnable_blocks() -> None:
    names = {p.name for p in RUNNABLE}
    assert {"backprop.md", "extending.md", "cli.md", "experiments.md", "export.md", "network_py.md"} <= names


@pytest.mark.parametrize("path", DOC_FILES, ids=_doc_ids(DOC_FILES))
def test_docs_fences_are_ones_the_suite_understands(path: Path) -> None:
    # A typo such as ```py or ```python3 would silently skip a block; so would a REPL transcript.
    for info, body, line in code_blocks(path.read_text(encoding="utf-8")):
        words = info.split()
        if words and words[0].lower().startswith("py"):
            assert words[0] == "python", f"{path.name}:{line}: write ```python, not ```{words[0]}"
            assert len(words) == 1 or words[1] in ("no-run", "quote") or words[1].startswith("file="), (
                f"{path.name}:{line}: unknown option {words[1]!r} after ```python"
            )
            if _runs(info):
                assert not body.lstrip().startswith(">>>"), f"{path.name}:{line}: a runnable block must be a script"


def test_docs_no_run_blocks_are_few() -> None:
    skipped = [(p.name, line) for p in DOC_FILES for info, _, line in code_blocks(p.read_text(encoding="utf-8"))
               if info.split()[:2] == ["python", "no-run"]]
    assert len(skipped) <= 3, f"too many ```python no-run blocks: {skipped}"


# ============================================================================ quotes of the code are verbatim
def _definition_source(path: Path, name: str) -> str:
    """Return the source of function, class or Class.method ``name`` in ``path``."""
    source = path.read_text(encoding="utf-8")
    scope: list[ast.stmt] = ast.parse(source).body
    node = None
    for part in name.split("."):
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part), None)
        if node is None:
            raise AssertionError(f"{path.relative_to(ROOT)} has no {name}")
        scope = node.body
    lines = source.splitlines()  # whole lines, so a comment after the last statement is part of the quote
    return "\n".join(lines[node.lineno - 1 : node.end_lineno])


def missing_quotes(doc_text: str) -> list[str]:
    """Return the quoted lines of ```python quote PATH NAME blocks that are not verbatim in NAME."""
    missing = []
    for info, body, line in code_blocks(doc_text):
        words = info.split()
        if words[:2] != ["python", "quote"]:
            continue
        if len(words) != 4:
            missing.append(f"line {line}: write ```python quote PATH NAME")
            continue
        have = {l.strip() for l in _definition_source(ROOT / words[2], words[3]).splitlines()}
        missing += [f"line {line}: {q.strip()}" for q in body.splitlines() if q.strip() and q.strip() not in have]
    return missing


def test_backprop_doc_quotes_each_tagged_line_verbatim() -> None:
    text = (DOCS / "backprop.md").read_text(encoding="utf-8")
    assert missing_quotes(text) == []


def test_backprop_doc_quotes_all_four_equations_from_the_reference() -> None:
    text = (DOCS / "backprop.md").read_text(encoding="utf-8")
    quoted = "".join(body for info, body, _ in code_blocks(text) if info.startswith("python quote nets/reference.py"))
    for k in range(1, 5):
        assert f"# BP{k}" in quoted, f"docs/backprop.md quotes no # BP{k} line of nets/reference.py"


def test_quote_check_catches_an_edited_line_and_a_wrong_function() -> None:
    # Negative control for the two tests above.
    edited = "```python quote nets/reference.py backprop_example\n    nabla_b = [d for d in deltas]  # BP3\n```\n"
    assert len(missing_quotes(edited)) == 1
    elsewhere = "```python quote nets/reference.py backprop_batch\n    nabla_b = [d.copy() for d in deltas]  # BP3\n```\n"
    assert len(missing_quotes(elsewhere)) == 1
    right = "```python quote nets/reference.py backprop_example\n    nabla_b = [d.copy() for d in deltas]  # BP3\n```\n"
    assert missing_quotes(right) == []


@pytest.mark.parametrize("path", DOC_FILES, ids=_doc_ids(DOC_FILES))
def test_docs_quotes_in_every_page_are_verbatim(path: Path) -> None:
    assert missing_quotes(path.read_text(encoding="utf-8")) == []


# ============================================================================ the example test file is the docs
def _file_blocks() -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for path in DOC_FILES:
        for info, body, _ in code_blocks(path.read_text(encoding="utf-8")):
            words = info.split()
            if len(words) == 2 and words[0] == "python" and words[1].startswith("file="):
                files.setdefault(words[1][len("file="):], []).append(body)
    return files


def test_docs_file_blocks_equal_the_files_in_the_repo() -> None:
    files = _file_blocks()
    assert "tests/test_docs_example_layer.py" in files
    for rel, bodies in files.items():
        in_repo = (ROOT / rel).read_text(encoding="utf-8")
        assert "\n".join(bodies) == in_repo, f"{rel} differs from its blocks in docs/; copy the blocks into it"


# ============================================================================ the API reference is current
def test_api_doc_is_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_api.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + "\nrun: python tools/gen_api.py"


def test_api_doc_lists_every_public_name() -> None:
    import importlib

    text = (DOCS / "api.md").read_text(encoding="utf-8")
    for modname in ("tinygrad_bp", "tinygrad_bp.testing", "nets", "nets.mnist", "nets.reference"):
        module = importlib.import_module(modname)
        for name in module.__all__:
            assert f"**`{name}" in text, f"docs/api.md does not list {modname}.{name}"


def test_docs_links_point_at_files_that_exist() -> None:
    for path in [ROOT / "README.md", *DOC_FILES]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (path.parent / target).exists(), f"{path.name} links to {target}, which does not exist"


def test_cli_doc_describes_every_flag() -> None:
    from nets.mnist import build_parser

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    flags = [s for action in build_parser()._actions for s in action.option_strings if s.startswith("--") and s != "--help"]
    assert flags
    missing = [f for f in flags if f"`{f}" not in text]
    assert not missing, f"docs/cli.md does not describe {missing}"


def test_readme_python_example_runs_on_real_mnist(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The README's example loads MNIST through the normal lookup; run it only where the data is local.
    import os

    if not (os.environ.get("MNIST_DIR") and Path(os.environ["MNIST_DIR"]).is_dir()):
        pytest.skip("real MNIST not available: set MNIST_DIR (CI uses ../shared/mnist)")
    blocks = [body for info, body, _ in code_blocks((ROOT / "README.md").read_text(encoding="utf-8")) if _runs(info)]
    assert len(blocks) == 1
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    out = capsys.readouterr().out
    correct = int(out.split("Epoch 0: ")[1].split(" /")[0])
    assert correct > 8500


def test_performance_doc_is_regenerated_from_the_benchmark_json() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_performance.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + "\nrun: python tools/gen_performance.py"

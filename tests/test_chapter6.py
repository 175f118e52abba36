"""examples/chapter6.py: its rows run end to end on a small synthetic MNIST, and docs/experiments.md quotes its table."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from _mnist_files import write_set

ROOT = Path(__file__).resolve().parents[1]


def _chapter6():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("chapter6", ROOT / "examples" / "chapter6.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chapter6_rows_run_end_to_end_on_synthetic_mnist(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    ch6 = _chapter6()
    write_set(tmp_path / "data", n_train=60, n_test=20)
    out = tmp_path / "results"
    assert ch6.main(["run", "conv2", "dropout", "--epochs", "1", "--subset", "40", "--data", str(tmp_path / "data"),
                     "--out", str(out)]) == 0
    assert "Epoch 0: validation accuracy" in capsys.readouterr().out
    record = json.loads((out / "dropout.json").read_text())
    assert record["finished"] and record["train_size"] == 200 and len(record["history"]) == 1  # expanded: 5 × 40
    assert ch6.main(["render", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| + dropout on two FC 1000 layers | 99.60 % (40) |" in table and "not run" in table


def test_experiments_doc_quotes_the_chapter6_table() -> None:
    ch6 = _chapter6()
    table = ch6.render(ch6.load_rows())
    assert table in (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")

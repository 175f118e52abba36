"""Smoke test of the conv benchmark: it runs on tiny shapes and its JSON line parses (no timing is asserted)."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_conv.py"


def test_bench_conv_runs_and_reports_milliseconds() -> None:
    args = ["--batch", "2", "--size", "8", "--filters", "3", "--repeats", "1", "--calls", "2"]
    out = subprocess.run([sys.executable, str(BENCH), *args], check=True, capture_output=True, text=True, timeout=300).stdout
    row = json.loads(out.splitlines()[-1])
    assert (row["batch"], row["size"], row["filters"]) == (2, 8, 3)
    assert row["tinygrad_bp_ms"] > 0
    if "pytorch_ms" in row:
        assert row["ratio"] > 0

"""Smoke test of the conv-net benchmark: it runs two steps and its JSON line parses (no timing is asserted)."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_conv_net.py"


def test_bench_conv_net_runs_and_reports_seconds_per_epoch() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--batch", "2", "--repeats", "1", "--steps", "2"],
                         check=True, capture_output=True, text=True, timeout=300).stdout
    row = json.loads(out.splitlines()[-1])
    assert row["batch"] == 2 and row["tinygrad_bp_ms"] > 0
    assert row["tinygrad_bp_s_per_epoch"] == row["tinygrad_bp_ms"] * 25_000 / 1e3
    if "pytorch_ms" in row:
        assert row["ratio"] > 0

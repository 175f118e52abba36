"""Smoke test of the training benchmark: it runs end to end on tiny synthetic data and its JSON parses.

No timing is asserted: speed is judged from the benchmark's own printed ratios, never in tests.
"""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_train.py"


def test_bench_train_json_lines_parse() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--synthetic", "300", "--repeats", "1", "--batches", "10,100", "--dtypes", "float64,float32"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(r["batch"], r["dtype"]) for r in rows] == [(10, "float64"), (100, "float64"), (10, "float32"), (100, "float32")]
    for r in rows:
        for key in ("autodiff_s", "reference_s", "ratio", "tuned_s", "tuned_ratio", "autodiff_peak_mib", "reference_peak_mib"):
            assert r[key] > 0, (key, r)
        assert abs(r["ratio"] - r["autodiff_s"] / r["reference_s"]) < 0.5 * r["ratio"]


def test_bench_train_without_data_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, str(BENCH)], capture_output=True, text=True, env={"PATH": ""}, timeout=120)
    assert proc.returncode == 2
    assert "--data" in proc.stderr

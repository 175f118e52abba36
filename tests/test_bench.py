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
        for key in ("autodiff_s", "plain_s", "plain_ratio", "reference_s", "ratio", "tuned_s", "tuned_ratio",
                    "autodiff_peak_mib", "reference_peak_mib", "plain_peak_mib"):
            assert r[key] > 0, (key, r)
        assert abs(r["ratio"] - r["autodiff_s"] / r["reference_s"]) < 0.5 * r["ratio"]
    assert out.splitlines()[1].split()[2:5] == ["autodiff", "plain", "ratio"]  # the plain loop's ratio comes first


def test_bench_plain_loop_trains_as_network_sgd() -> None:
    # The baseline does the same work: same initial weights, same shuffle, the same updates up to rounding.
    import numpy as np

    from nets import Network

    sys.path.insert(0, str(BENCH.parent))
    try:
        import bench_train
    finally:
        sys.path.remove(str(BENCH.parent))
    rng = np.random.default_rng(1)
    X, y = rng.random((45, 784)), rng.integers(0, 10, 45)
    net = Network(bench_train.SIZES, seed=0)
    got = bench_train.plain_epoch(net, X, y, 10)
    net.SGD((X, y), 1, 10, bench_train.ETA, verbose=False)
    want = [p.data for p in net.parameters()]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_bench_train_without_data_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, str(BENCH)], capture_output=True, text=True, env={"PATH": ""}, timeout=120)
    assert proc.returncode == 2
    assert "--data" in proc.stderr

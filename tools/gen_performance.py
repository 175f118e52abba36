"""Regenerate the measured parts of docs/performance.md from the training benchmark's JSON files.

    python benchmarks/bench_train.py --data ../shared/mnist --json benchmarks/results/bench_train.json
    python benchmarks/bench_train.py --data ../shared/mnist --threads 2 --dtypes float64 --repeats 3 \\
        --no-memory --json benchmarks/results/bench_train_threads2.json
    python tools/gen_performance.py            # rewrite the generated blocks of docs/performance.md
    python tools/gen_performance.py --check    # exit 1 if they are out of date

Every figure in a block between ``<!-- generated: NAME -->`` and ``<!-- end generated -->`` comes
from those files, with the command that produced it, so the page's tables always reproduce: rerun
the commands, then this script.  The prose around the blocks is written by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "performance.md")
RESULTS = os.path.join(ROOT, "benchmarks", "results")
MAIN = os.path.join(RESULTS, "bench_train.json")
THREADS = os.path.join(RESULTS, "bench_train_threads2.json")

# The speed issue's targets for autodiff over the plain numpy loop, by mini-batch size.
TARGETS = {10: 1.15, 100: 1.05}

_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def machine(run: dict[str, Any]) -> str:
    m = run["machine"]
    torch = f", PyTorch {m['torch']}" if m.get("torch") else ""
    return (
        f"Measured on {run['date']}: {m['cpu']}, {m['cores']} cores (shared with other work), Python {m['python']}, "
        f"numpy {m['numpy']} with {m['blas']}{torch}. BLAS on {run['threads']} thread(s) for every implementation; "
        f"{run['images']:,} training images, median of {run['repeats']} alternating rounds.\n\n"
        f"`{run['command']}`\n"
    )


def main_table(run: dict[str, Any]) -> str:
    rows = run["rows"]
    torch = any("torch_s" in r for r in rows)
    memory = any("plain_peak_mib" in r for r in rows)
    head = ["batch", "dtype", "autodiff", "plain numpy", "**ratio**", "target", "reference", "ratio", "tuned", "ratio"]
    head += ["PyTorch"] if torch else []
    head += ["peak MiB (autodiff / plain)"] if memory else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        target = TARGETS.get(r["batch"])
        cells = [
            str(r["batch"]), r["dtype"], f"{r['autodiff_s']:.3f}", f"{r['plain_s']:.3f}", f"**{r['plain_ratio']:.2f}**",
            f"≤ {target:.2f}" if target else "—", f"{r['reference_s']:.3f}", f"{r['ratio']:.2f}",
            f"{r['tuned_s']:.3f}", f"{r['tuned_ratio']:.2f}",
        ]
        cells += [f"{r['torch_s']:.3f}" if "torch_s" in r else "—"] if torch else []
        if memory:
            cells.append(f"{r['autodiff_peak_mib']:.0f} / {r['plain_peak_mib']:.0f} ({r['plain_memory_ratio']:.2f}×)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def accuracy(run: dict[str, Any]) -> str:
    seen = [r for r in run["rows"] if "epoch0_correct" in r]
    if not seen:
        return "(no test accuracy in this run: it used synthetic data)\n"
    parts = [f"batch {r['batch']}, {r['dtype']}: `Epoch 0: {r['epoch0_correct']} / 10000`" for r in seen]
    return "After the first timed epoch (seed 0, η = 3.0): " + "; ".join(parts) + ".\n"


def threads_table(run: dict[str, Any]) -> str:
    if not os.path.exists(THREADS):
        return "(no multi-thread run recorded: see the commands above)\n"
    many = _load(THREADS)
    one = {(r["batch"], r["dtype"]): r for r in run["rows"]}
    n = many["threads"]
    lines = [
        f"`{many['command']}` ({many['date']}), against the one-thread run above.\n",
        f"| batch | dtype | autodiff, 1 thread | autodiff, {n} threads | {n} threads / 1 | plain, 1 thread | plain, {n} threads |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in many["rows"]:
        base = one.get((r["batch"], r["dtype"]))
        if base is None:
            continue
        lines.append(
            f"| {r['batch']} | {r['dtype']} | {base['autodiff_s']:.3f} | {r['autodiff_s']:.3f} | "
            f"{r['autodiff_s'] / base['autodiff_s']:.1f}× | {base['plain_s']:.3f} | {r['plain_s']:.3f} |"
        )
    return "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable[[dict[str, Any]], str]] = {
    "machine": machine, "main": main_table, "accuracy": accuracy, "threads": threads_table,
}


def render(text: str, run: dict[str, Any]) -> str:
    """Return ``text`` with every generated block refilled from ``run``; an unknown block name is an error."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in BLOCKS:
            raise SystemExit(f"gen_performance: docs/performance.md has an unknown block {name!r}")
        return match.group(1) + BLOCKS[name](run) + match.group(4)

    return _BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if docs/performance.md is out of date")
    args = p.parse_args(argv)
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    new = render(text, _load(MAIN))
    if args.check:
        if new != text:
            print("docs/performance.md is out of date: run python tools/gen_performance.py", file=sys.stderr)
            return 1
        return 0
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

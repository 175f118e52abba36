"""Reproduce every table of docs/experiments.md: the four open questions of Nielsen's network.py chapter, on MNIST.

    python examples/experiments.py --data /path/to/mnist run q1 q2 q3 q4   # train; results go to the JSON file
    python examples/experiments.py render                                   # print the Markdown tables

Each finished run is written to ``examples/results/experiments.json`` at once, and ``run`` skips runs
already there, so an interrupted session resumes where it stopped (delete the file to start over).
``q3`` also draws ``docs/vanishing_gradients.png`` (needs matplotlib, the ``[plot]`` extra).
Runs go one at a time; set ``OPENBLAS_NUM_THREADS=1`` on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

from sweep import mean_std, run, table  # noqa: E402

from nets import Network  # noqa: E402
from nets.mnist import load_data  # noqa: E402

RESULTS = os.path.join(HERE, "results", "experiments.json")
PLOT = os.path.join(HERE, "..", "docs", "vanishing_gradients.png")
SEEDS = (0, 1, 2)

# Q1: one factor at a time around network.py's run (η = 3.0, mini-batch 10, 30 hidden neurons, quadratic cost).
Q1_BASE = {"eta": 3.0, "batch_size": 10, "width": 30}
Q1_FACTORS = {"eta": (0.1, 0.5, 3.0, 10.0), "batch_size": (1, 10, 100), "width": (10, 30, 100)}
# Q2: network2's weight-initialisation comparison (chapter 3): cross-entropy, η = 0.1, λ = 5.0, mini-batch 10.
Q2 = {"sizes": (784, 30, 10), "cost": "cross-entropy", "eta": 0.1, "lmbda": 5.0, "batch_size": 10}
Q2_INITS = ("large", "default")
# Q3: a deep net at initialisation (network2's default init, as in chapter 5).
Q3_SIZES = (784, 30, 30, 30, 30, 10)
Q3_VARIANTS = (
    ("sigmoid, quadratic", "sigmoid", "quadratic"),
    ("tanh, quadratic", "tanh", "quadratic"),
    ("relu, quadratic", "relu", "quadratic"),
    ("sigmoid, cross-entropy", "sigmoid", "cross-entropy"),
)
Q3_BATCH, Q3_BATCHES = 10, 100
# Q4: network2's overfitting set-up (chapter 3): cross-entropy, η = 0.5, mini-batch 10, N(0, 1) init.
Q4 = {"sizes": (784, 30, 10), "cost": "cross-entropy", "eta": 0.5, "batch_size": 10, "init": "large"}
Q4_SETS = {"subset": {"train_size": 1000, "epochs": 400, "test_every": 10}, "full": {"epochs": 30}}
Q4_REGS = {"subset": {"none": {}, "L2": {"lmbda": 0.1}, "L1": {"l1": 0.1}},
           "full": {"none": {}, "L2": {"lmbda": 5.0}, "L1": {"l1": 5.0}}}
# Extra: the learning-rate schedule and early stopping on network.py's run.
SCHED = {"epochs": 60, "eta": 3.0, "batch_size": 10}
SCHED_VARIANTS = {"constant η, 60 epochs": {}, "--eta-schedule 5": {"eta_schedule": 5},
                  "--early-stop 10": {"early_stop": 10}, "--eta-schedule 5 --early-stop 10": {"eta_schedule": 5, "early_stop": 10}}


def load_results(path: str = RESULTS) -> dict[str, Any]:
    """Return the stored results (an empty dict when there are none yet)."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_results(results: dict[str, Any], path: str = RESULTS) -> None:
    """Return nothing; write the results atomically, so an interrupted run never leaves a broken file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def q1_configs() -> list[tuple[str, dict[str, Any]]]:
    """Return (result key, setting) for Q1's one-factor-at-a-time cells, the shared base cell once."""
    seen, out = set(), []
    for factor, values in Q1_FACTORS.items():
        for v in values:
            cfg = dict(Q1_BASE, **{factor: v})
            key = f"q1/eta={cfg['eta']:g}/batch={cfg['batch_size']}/width={cfg['width']}"
            if key not in seen:
                seen.add(key)
                out.append((key, cfg))
    return out


def jobs(section: str) -> list[tuple[str, dict[str, Any]]]:
    """Return (result key, keyword arguments of ``sweep.run``) for every training run of a section."""
    out = []
    if section == "q1":
        for key, cfg in q1_configs():
            for s in SEEDS:
                out.append((f"{key}/seed={s}", {"sizes": (784, cfg["width"], 10), "eta": cfg["eta"],
                                                "batch_size": cfg["batch_size"], "epochs": 30, "seed": s}))
        # mini-batch 1 is by far the slowest run: do it last
        out.sort(key=lambda job: job[1]["batch_size"] == 1)
    elif section == "q2":
        for init in Q2_INITS:
            for s in SEEDS:
                out.append((f"q2/init={init}/seed={s}", dict(Q2, init=init, epochs=30, seed=s)))
    elif section == "q4":
        for which, extra in Q4_SETS.items():
            for reg, kw in Q4_REGS[which].items():
                for s in SEEDS:
                    out.append((f"q4/{which}/{reg}/seed={s}", dict(Q4, **extra, **kw, seed=s)))
    elif section == "sched":
        for name, kw in SCHED_VARIANTS.items():
            for s in SEEDS:
                out.append((f"sched/{name}/seed={s}", dict(SCHED, **kw, seed=s)))
    return out


def q3_norms(data: Any) -> dict[str, Any]:
    """Return per variant and seed the per-layer ‖∂C/∂bˡ‖ at initialisation, the mean over the first mini-batches."""
    (x, y), _, _ = data
    out: dict[str, Any] = {}
    for name, activation, cost in Q3_VARIANTS:
        for s in SEEDS:
            net = Network(list(Q3_SIZES), cost=cost, init="default", seed=s, activation=activation)
            batches = [(x[k : k + Q3_BATCH], y[k : k + Q3_BATCH]) for k in range(0, Q3_BATCH * Q3_BATCHES, Q3_BATCH)]
            out[f"q3/{name}/seed={s}"] = np.mean([net.gradient_norms(b) for b in batches], axis=0).tolist()
    return out


def plot_q3(results: dict[str, Any], path: str = PLOT) -> None:
    """Return nothing; draw the mean gradient norm per layer (log scale) of each Q3 variant into a small PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=100)
    layers = np.arange(1, len(Q3_SIZES))
    for (name, _, _), marker in zip(Q3_VARIANTS, "osd^"):
        norms = np.array([results[f"q3/{name}/seed={s}"] for s in SEEDS])
        ax.errorbar(layers, norms.mean(axis=0), yerr=norms.std(axis=0, ddof=1), marker=marker, capsize=3, label=name)
    ax.set_yscale("log")
    ax.set_xticks(layers, [f"{l}" + (" (out)" if l == layers[-1] else "") for l in layers])
    ax.set_xlabel("layer (hidden 1-4, then output)")
    ax.set_ylabel("‖∂C/∂b‖ at initialisation")
    ax.set_title("[784, 30, 30, 30, 30, 10], N(0, 1/n_in) init", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------- render
def _seeds(results: dict[str, Any], key: str) -> list[Any]:
    return [results[f"{key}/seed={s}"] for s in SEEDS if f"{key}/seed={s}" in results]


def _n(records: list[Any]) -> str:
    return "" if len(records) == len(SEEDS) else f" (n={len(records)})"


def render(results: dict[str, Any]) -> str:
    """Return the Markdown tables of every section that has results."""
    parts = []
    rows = []
    for factor, values in Q1_FACTORS.items():
        for v in values:
            cfg = dict(Q1_BASE, **{factor: v})
            recs = _seeds(results, f"q1/eta={cfg['eta']:g}/batch={cfg['batch_size']}/width={cfg['width']}")
            if recs:
                rows.append((factor.replace("batch_size", "mini-batch").replace("eta", "η"), f"{v:g}",
                             mean_std([r["final_test"] for r in recs]) + _n(recs),
                             mean_std([r["best_test"] for r in recs]),
                             f"{np.mean([r['seconds'] for r in recs]):.0f}"))
    if rows:
        parts.append("### Q1\n\n" + table(("varied", "value", "final test % (epoch 30)", "best epoch's test %", "wall s/run"), rows))
    rows = []
    for init in Q2_INITS:
        recs = _seeds(results, f"q2/init={init}")
        if recs:
            per_epoch = [mean_std([dict(r["test_curve"])[e] for r in recs]) for e in range(5)]
            rows.append(("N(0, 1)" if init == "large" else "N(0, 1/n_in)", *per_epoch,
                         mean_std([r["final_test"] for r in recs]) + _n(recs)))
    if rows:
        parts.append("### Q2\n\n" + table(("weights", "epoch 1", "epoch 2", "epoch 3", "epoch 4", "epoch 5", "epoch 30"), rows))
    rows = []
    for name, _, _ in Q3_VARIANTS:
        recs = _seeds(results, f"q3/{name}")
        if recs:
            norms = np.array(recs)
            cells = [f"{m:.3g} ± {sd:.1g}" for m, sd in zip(norms.mean(axis=0), norms.std(axis=0, ddof=1))]
            ratio = norms[:, -2] / norms[:, 0]
            rows.append((name, *cells, f"{ratio.mean():.3g}"))
    if rows:
        head = ("variant", *[f"hidden {l}" for l in range(1, len(Q3_SIZES) - 1)], "output", "hidden 4 / hidden 1")
        parts.append("### Q3\n\n" + table(head, rows))
    rows = []
    for which in Q4_SETS:
        for reg, kw in Q4_REGS[which].items():
            recs = _seeds(results, f"q4/{which}/{reg}")
            if recs:
                strength = ", ".join(f"{'λ' if k == 'lmbda' else 'λ₁'} = {v:g}" for k, v in kw.items()) or "—"
                gap = [r["final_train"] - r["final_test"] for r in recs]
                rows.append((f"{'1,000 images, 400 epochs' if which == 'subset' else '50,000 images, 30 epochs'}",
                             f"{reg} ({strength})" if kw else reg,
                             mean_std([r["final_train"] for r in recs]), mean_std([r["final_test"] for r in recs]) + _n(recs),
                             mean_std(gap), mean_std([r["best_test"] for r in recs])))
    if rows:
        parts.append("### Q4\n\n" + table(("training set", "regularisation", "train %", "test %", "train − test", "best test %"), rows))
    rows = []
    for name in SCHED_VARIANTS:
        recs = _seeds(results, f"sched/{name}")
        if recs:
            rows.append((name, mean_std([r["final_test"] for r in recs]) + _n(recs),
                         f"{np.mean([r['epochs_run'] for r in recs]):.0f} ({', '.join(str(r['epochs_run']) for r in recs)})",
                         ", ".join(f"{r['final_eta']:.3g}" for r in recs)))
    if rows:
        parts.append("### Schedule and early stopping\n\n" + table(("training", "final test %", "epochs run (per seed)", "final η (per seed)"), rows))
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Return 0 after running the requested sections (skipping stored runs) and printing every table."""
    p = argparse.ArgumentParser(prog="python examples/experiments.py", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("run", "render"))
    p.add_argument("sections", nargs="*", default=["q1", "q2", "q3", "q4"],
                   help="with run: any of q1 q2 q3 q4 sched (default the four questions)")
    p.add_argument("--data", default=None, help="MNIST folder (default: nets.mnist's lookup)")
    p.add_argument("--results", default=RESULTS, help=f"the JSON results file (default {RESULTS})")
    args = p.parse_args(argv)
    results = load_results(args.results)
    if args.command == "run":
        data = load_data(args.data)
        for section in args.sections:
            if section == "q3":
                results.update(q3_norms(data))
                save_results(results, args.results)
                plot_q3(results)
                print("q3 done", flush=True)
                continue
            for key, kw in jobs(section):
                if key in results:
                    continue
                results[key] = run(data, **kw)
                save_results(results, args.results)
                r = results[key]
                print(f"{key}: test {100 * r['final_test']:.2f}%  train {100 * r['final_train']:.2f}%  "
                      f"({r['seconds']:.0f} s)", flush=True)
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Reproduce Nielsen's chapter-6 table (network3 on MNIST) with nets.network3, and render it.

    OPENBLAS_NUM_THREADS=1 python examples/chapter6.py --data /path/to/mnist run relu            # one row
    python examples/chapter6.py run fc conv1 --epochs 3 --subset 1000                           # a quick look
    python examples/chapter6.py render                 # the Markdown table; --plot draws the curves PNG

Each row writes ``examples/results/chapter6/<row>.json`` after every epoch (an interrupted run keeps
the epochs it finished; ``run`` restarts a row from scratch) and ``render`` merges them into
``examples/results/chapter6.json``.  Rows follow network3's settings (mini-batch 10, batches in
order, test accuracy taken at the best validation epoch); the epochs actually trained are recorded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from nets.adam import Adam  # noqa: E402
from nets.expand import expand_data  # noqa: E402
from nets.mnist import load_data  # noqa: E402
from nets.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer, sigmoid  # noqa: E402

RESULTS_DIR = os.path.join(HERE, "results", "chapter6")
RESULTS = os.path.join(HERE, "results", "chapter6.json")
PLOT = os.path.join(HERE, "..", "docs", "chapter6_curves.png")
DOC = os.path.join(HERE, "..", "docs", "experiments.md")
MARK, END_MARK = "<!-- chapter6-table -->", "<!-- /chapter6-table -->"

# The optimizers a row can be trained with, and how the table labels the ones that are not network3's.
OPTIMIZERS = {
    "sgd": "",
    "adam": " — **Adam** (lr 1e-3, shuffled batches) instead of SGD",
    "adam-anneal": " — **Adam** (lr 1e-3, then 1e-4 for the last epoch, shuffled batches) instead of SGD",
}

# name: (description, Nielsen's test accuracy, Nielsen's epochs, settings)
ROWS: dict[str, tuple[str, float, int, dict[str, Any]]] = {
    "fc": ("FC 100 sigmoid + softmax, η 0.1", 97.80, 60, {"conv": 0, "act": "sigmoid", "eta": 0.1, "lmbda": 0.0}),
    "conv1": ("+ ConvPool(20 5×5, pool 2×2)", 98.78, 60, {"conv": 1, "act": "sigmoid", "eta": 0.1, "lmbda": 0.0}),
    "conv2": ("+ second ConvPool(40 5×5)", 99.06, 60, {"conv": 2, "act": "sigmoid", "eta": 0.1, "lmbda": 0.0}),
    "relu": ("ReLU, η 0.03, λ 0.1", 99.23, 60, {"conv": 2, "act": "relu", "eta": 0.03, "lmbda": 0.1}),
    "expanded": ("+ expanded data", 99.37, 60, {"conv": 2, "act": "relu", "eta": 0.03, "lmbda": 0.1, "expand": True}),
    "dropout": (
        "+ dropout on two FC 1000 layers",
        99.60,
        40,
        {"conv": 2, "act": "relu", "eta": 0.03, "lmbda": 0.0, "expand": True, "fc": (1000, 1000), "p": 0.5},
    ),
}


def build(settings: dict[str, Any], m: int, seed: int, dtype: Any) -> Network:
    """Return the row's network3 network (network3's chapter-6 code, layer for layer)."""
    act = ReLU if settings["act"] == "relu" else sigmoid
    rng = np.random.default_rng(seed)
    layers: list[Any] = []
    n = 784
    if settings["conv"] >= 1:
        layers.append(ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2), act, rng=rng, dtype=dtype))
        n = layers[-1].n_out
    if settings["conv"] >= 2:
        layers.append(ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12), (2, 2), act, rng=rng, dtype=dtype))
        n = layers[-1].n_out
    p = settings.get("p", 0.0)
    for width in settings.get("fc", (100,)):
        layers.append(FullyConnectedLayer(n, width, act, p_dropout=p, rng=rng, dtype=dtype))
        n = width
    layers.append(SoftmaxLayer(n, 10, p_dropout=p, rng=rng, dtype=dtype))
    return Network(layers, m)


def run_row(name: str, data: Any, epochs: int, subset: int | None, seed: int, optimizer: str, out_dir: str) -> dict[str, Any]:
    """Return the row's record after training it, writing it to ``out_dir/<name>.json`` after every epoch."""
    desc, nielsen, nielsen_epochs, settings = ROWS[name]
    (x, y), val, test = data
    if subset:
        x, y = x[:subset], y[:subset]
        val, test = (val[0][: subset // 5], val[1][: subset // 5]), (test[0][: subset // 5], test[1][: subset // 5])
    if settings.get("expand"):
        x, y = expand_data(x, y, rng=seed)
    m = 10
    net = build(settings, m, seed, np.float32)
    record: dict[str, Any] = {
        "row": name, "network": desc, "nielsen": nielsen, "nielsen_epochs": nielsen_epochs, "epochs_planned": epochs,
        "train_size": len(x), "mini_batch_size": m, "eta": settings["eta"], "lmbda": settings["lmbda"],
        "optimizer": optimizer, "seed": seed, "dtype": "float32", "history": [], "finished": False,
    }
    path = os.path.join(out_dir, f"{_key(name, optimizer)}.json")
    os.makedirs(out_dir, exist_ok=True)

    def save(epoch_record: dict[str, Any]) -> None:
        record["history"].append(epoch_record)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, path)

    # The Adam variant (a faster equivalent, labelled as such): PyTorch's default Adam, batches reshuffled each epoch.
    # "adam-anneal" also divides the rate by 10 for the last epoch: the end of training without Adam's step noise.
    opts: list[Adam] = []

    def make_opt(params: list[Any]) -> Adam:
        opts.append(Adam(params, lr=1e-3))
        return opts[-1]

    def after_epoch(record_: dict[str, Any]) -> None:
        save(record_)
        if optimizer == "adam-anneal" and record_["epoch"] == epochs - 2:
            opts[0].lr = 1e-4

    adam = optimizer.startswith("adam")
    print(f"== {name} ({optimizer}): {desc}; {epochs} epochs on {len(x)} images", flush=True)
    net.SGD((x, y), epochs, m, settings["eta"], val, test, settings["lmbda"], optimizer=make_opt if adam else None,
            shuffle=adam, seed=seed, log=lambda s: print(s, flush=True), on_epoch=after_epoch)
    record["finished"] = True
    save_final = dict(record)
    with open(path, "w") as f:
        json.dump(save_final, f, indent=1)
    return record


def _key(name: str, optimizer: str) -> str:
    return name if optimizer == "sgd" else f"{name}_{optimizer}"


def load_rows(out_dir: str = RESULTS_DIR) -> dict[str, Any]:
    """Return the rows recorded so far, by file name (``relu``, ``relu_adam``), in the table's order."""
    rows = {}
    for name in ROWS:
        for optimizer in OPTIMIZERS:  # sgd first
            path = os.path.join(out_dir, f"{_key(name, optimizer)}.json")
            if os.path.exists(path):
                with open(path) as f:
                    rows[_key(name, optimizer)] = json.load(f)
    return rows


def render(rows: dict[str, Any]) -> str:
    """Return the Markdown table: Nielsen's accuracy and epochs beside ours."""
    lines = ["| network | Nielsen (epochs) | ours: test accuracy at best validation | epochs trained | best validation | s/epoch |",
             "|---|---|---|---|---|---|"]
    for key in [k for name in ROWS for k in [name] + [f"{name}_{o}" for o in list(OPTIMIZERS)[1:]] if k in rows or k == name]:
        desc, nielsen, n_ep, _ = ROWS[key.split("_")[0]]
        r = rows.get(key)
        if not r or not r["history"]:
            lines.append(f"| {desc} | {nielsen:.2f} % ({n_ep}) | not run | – | – | – |")
            continue
        h = r["history"]
        best = max(h, key=lambda e: e["validation_accuracy"])
        test = h[-1]["test_accuracy"]
        secs = float(np.median([e["seconds"] for e in h]))
        extra = OPTIMIZERS[r["optimizer"]]
        lines.append(f"| {desc}{extra} | {nielsen:.2f} % ({n_ep}) | {100 * test:.2f} % | {len(h)}{'' if r['finished'] else ' (stopped)'} "
                     f"| {100 * best['validation_accuracy']:.2f} % | {secs:.0f} |")
    return "\n".join(lines)


def plot(rows: dict[str, Any], path: str = PLOT) -> None:
    """Draw each row's validation accuracy per epoch to ``path`` (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in rows.items():
        h = r["history"]
        label = ROWS[name.split("_")[0]][0] + {"sgd": "", "adam": " (Adam)", "adam-anneal": " (Adam, annealed)"}[r["optimizer"]]
        ax.plot([e["epoch"] + 1 for e in h], [100 * e["validation_accuracy"] for e in h], marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(96, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("network3 on tinygrad_bp: MNIST validation accuracy per epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_doc(table: str, path: str = DOC) -> None:
    """Put ``table`` between the chapter-6 markers of docs/experiments.md, replacing what was there."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.index(MARK) + len(MARK), text.index(END_MARK)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:start] + "\n" + table + "\n" + text[end:])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "render"))
    parser.add_argument("rows", nargs="*", choices=[*ROWS, []], default=[])
    parser.add_argument("--data", default=os.environ.get("MNIST_DIR"), help="the MNIST folder (default $MNIST_DIR)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images (and N/5 validation/test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd")
    parser.add_argument("--out", default=RESULTS_DIR, help="the folder of per-row JSON files")
    parser.add_argument("--plot", action="store_true", help="with render: also draw docs/chapter6_curves.png")
    parser.add_argument("--doc", action="store_true", help="with render: also write the table into docs/experiments.md")
    args = parser.parse_args(argv)
    if args.command == "run":
        data = load_data(args.data, np.float32)
        for name in args.rows or list(ROWS):
            start = time.perf_counter()
            run_row(name, data, args.epochs, args.subset, args.seed, args.optimizer, args.out)
            print(f"== {name} done in {time.perf_counter() - start:.0f} s", flush=True)
        return 0
    rows = load_rows(args.out)
    with open(RESULTS if args.out == RESULTS_DIR else os.path.join(args.out, "chapter6.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(render(rows))
    if args.plot:
        plot(rows)
    if args.doc:
        write_doc(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

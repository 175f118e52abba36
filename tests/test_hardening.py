"""Hardening: anomaly mode, training divergence, model-file validation and atomic saving, untrusted data
(IDX and pickle fuzzing) and resource bounds.

The 10⁵-node backward without RecursionError is tests/test_tensor.py::test_backward_chain_of_100000_ops.
"""
from __future__ import annotations

import gc
import gzip
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import tracemalloc
import weakref
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import tinygrad_bp as tg
from tinygrad_bp import AnomalyError, Function, Tensor, detect_anomaly
from tinygrad_bp import tensor as tensor_module
from nets import Network, Sigmoid, TrainingDivergedError
from nets.mnist import FILES, MNISTError, load_pickle, main, read_idx, write_idx

# NaN and Inf are this file's subject: numpy's warnings about them are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

HERE = os.path.abspath(__file__)


def _line_of(marker: str) -> int:
    """Return the line number in this file of the line ending with ``# <marker>``."""
    with open(HERE, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.rstrip().endswith(f"# {marker}"):
                return i
    raise AssertionError(marker)


# ============================================================================ anomaly mode
def test_detect_anomaly_forward_names_op_class_and_source_line() -> None:
    x = Tensor([1.0, -1.0])
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        x.log()  # forward-site
    msg = str(info.value)
    assert "forward of Log (tinygrad_bp.ops.Log) produced nan" in msg
    assert "shape (2,)" in msg
    assert f"{HERE}:{_line_of('forward-site')} in test_detect_anomaly_forward_names_op_class_and_source_line" in msg
    assert "`x.log()  # forward-site`" in msg


def test_detect_anomaly_backward_names_op_and_where_it_was_created() -> None:
    x = Tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = x**0.5  # backward-site
        s = y.sum()
        with pytest.raises(AnomalyError) as info:
            s.backward()
    msg = str(info.value)
    assert "backward of Pow (tinygrad_bp.ops.Pow) produced inf in the gradient for input 0 of shape (2,)" in msg
    assert f"{HERE}:{_line_of('backward-site')}" in msg


class _NanBackward(Function):
    def forward(ctx, x):
        return x * 2.0

    def backward(ctx, grad_out):
        return (grad_out * np.nan,)


class _TwiceBackward(Function):
    # The correct backward of the same op: the control for the test below.
    def forward(ctx, x):
        return x * 2.0

    def backward(ctx, grad_out):
        return (grad_out * 2.0,)


def test_detect_anomaly_catches_a_custom_backward_and_passes_its_correct_twin() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        _TwiceBackward.apply(x).sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, 2.0])
        y = _NanBackward.apply(x)  # custom-site
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "backward of _NanBackward (test_hardening._NanBackward) produced nan in the gradient for input 0" in msg
    assert f"{HERE}:{_line_of('custom-site')}" in msg


def test_detect_anomaly_reports_a_nan_seed_flowing_into_backward() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with detect_anomaly():
        y = x * 3.0
        with pytest.raises(AnomalyError, match=r"gradient arriving at the backward of Mul .* holds nan"):
            y.backward(np.array([1.0, np.nan]))


def test_detect_anomaly_says_when_the_bad_value_came_in_with_an_input() -> None:
    with detect_anomaly(), pytest.raises(AnomalyError, match="input 0 already held inf"):
        Tensor([np.inf]) * 0.0


def test_detect_anomaly_points_past_nets_layers_to_the_user_line() -> None:
    net = Network([2, 2], seed=0)
    net.weights[0][0, 0] = np.nan
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        net.feedforward(np.ones((1, 2)))  # net-site
    msg = str(info.value)
    assert "forward of Linear (tinygrad_bp.fused.Linear)" in msg
    assert f"{HERE}:{_line_of('net-site')}" in msg and "layers.py" in msg
    assert "input 1 already held nan" in msg  # the weights


def test_detect_anomaly_checks_create_graph_backward() -> None:
    x = Tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = (x**1.5).sum()
        (gx,) = tg.grad(y, x, create_graph=True)
        with pytest.raises(AnomalyError, match="Pow"):
            gx.sum().backward()  # d/dx 1.5·x^0.5 is inf at 0


def test_detect_anomaly_off_lets_nan_through_and_restores_the_plain_engine() -> None:
    plain = Function.__dict__["apply"]
    x = Tensor([-1.0], requires_grad=True)
    assert np.isnan(x.log().data).all()  # off: numpy semantics, no check
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            with detect_anomaly():  # nesting keeps the mode on until the outer block ends
                pass
            assert tg.is_anomaly_enabled()
            x.log()
    assert not tg.is_anomaly_enabled()
    assert Function.__dict__["apply"] is plain and tensor_module._modes.anomaly is None
    z = Tensor([0.0], requires_grad=True)
    (z**0.5).sum().backward()  # no hook: the infinite gradient is accepted
    assert np.isinf(z.grad).all()


def test_detect_anomaly_as_a_decorator() -> None:
    @detect_anomaly()
    def f(t: Tensor) -> Tensor:
        return t.log()

    with pytest.raises(AnomalyError):
        f(Tensor([0.0]))
    assert not tg.is_anomaly_enabled()


def test_detect_anomaly_passes_a_finite_training_step_unchanged() -> None:
    # Control: anomaly mode must not change results or flag anything on a healthy network.
    X = np.random.default_rng(0).random((8, 3))
    labels = np.arange(8) % 2
    a, b = Network([3, 4, 2], seed=1), Network([3, 4, 2], seed=1)
    a.SGD((X, labels), 2, 4, 3.0, verbose=False)
    with detect_anomaly():
        b.SGD((X, labels), 2, 4, 3.0, verbose=False)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)


# ============================================================================ training divergence
def _blobs(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)) + labels[:, None]
    return X, labels


def test_sgd_divergence_stops_with_epoch_batch_and_advice(capsys: pytest.CaptureFixture[str]) -> None:
    X, labels = _blobs()
    net = Network([4, 5, 3], cost="cross-entropy", seed=0)
    with np.errstate(all="ignore"), pytest.raises(TrainingDivergedError) as info:
        net.SGD((X, labels), 30, 4, 1000.0, test_data=(X, labels))
    msg = str(info.value)
    assert "training diverged: the cost is" in msg and ("inf" in msg or "nan" in msg)
    assert "in epoch 0, mini-batch" in msg and "of 10" in msg
    assert "η = 1000" in msg and "lower it" in msg
    assert "Epoch" not in capsys.readouterr().out  # no garbage epochs printed before it stopped


def test_sgd_moderate_eta_trains_without_a_divergence_error() -> None:
    # Control for the test above: the same set-up with Nielsen's η runs to the end.
    X, labels = _blobs()
    net = Network([4, 5, 3], cost="cross-entropy", seed=0)
    net.SGD((X, labels), 3, 4, 0.5, verbose=False)
    assert all(np.isfinite(w).all() for w in net.weights)


def _tiny_idx(folder: Path, n: int = 24, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    for key, stem in FILES.items():
        write_idx(folder / stem, images if key.endswith("images") else labels)
    return folder


@pytest.mark.parametrize("extra, words", [([], "training diverged"), (["--detect-anomaly"], "error: anomaly: the ")])
def test_main_divergence_is_one_line_nonzero_exit_and_nothing_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    data = _tiny_idx(tmp_path)
    model = tmp_path / "net.json"
    argv = ["--data", str(data), "--epochs", "3", "--eta", "1000", "--cost", "cross-entropy", "--seed", "0"]
    argv += ["--sizes", "784", "10", "10", "--batch-size", "4", "--quiet", "--save", str(model), *extra]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err and "Warning" not in err
    assert not model.exists()


def test_main_detect_anomaly_flag_is_parsed_and_a_healthy_run_succeeds(tmp_path: Path) -> None:
    data = _tiny_idx(tmp_path)
    argv = ["--data", str(data), "--epochs", "1", "--seed", "0", "--quiet", "--detect-anomaly"]
    assert main(argv) == 0
    assert not tg.is_anomaly_enabled()


# ============================================================================ model files: validation
def _saved(tmp_path: Path, sizes: list[int] = [2, 3, 1], **kw: object) -> tuple[Path, Network]:
    net = Network(sizes, seed=0, **kw)
    path = tmp_path / "net.json"
    net.save(path)
    return path, net


def _model_text(**changes: object) -> str:
    data: dict[str, object] = {
        "sizes": [2, 1],
        "weights": [[[0.5, -0.25]]],
        "biases": [[[0.125]]],
        "cost": "QuadraticCost",
    }
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None})


_BAD_MODELS = [
    ("", "is not a JSON model file, or it is truncated"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
    (gzip.compress(b'{"sizes": [2, 1]}'), "not UTF-8 text"),
    ("[" * 100_000 + "]" * 100_000, 'no "sizes" lists; it is not a model file'),  # refused before parsing
    ("[" * 30_000 + "]" * 30_000, "nested too deeply"),
    ("123", "holds a JSON int"),
    (_model_text(cost=None), r"lacks the key\(s\) \['cost'\]"),
    (_model_text(extra=1), r"unknown key\(s\) \['extra'\]"),
    (_model_text(cost="os.system"), "names the cost 'os.system', which is neither built in nor the cost= class"),
    (_model_text(cost="__class__"), "names the cost '__class__'"),
    (_model_text(cost=["QuadraticCost"]), "names the cost"),
    (_model_text(sizes=[True, 1]), "has sizes"),
    (_model_text(sizes=[2.0, 1]), "has sizes"),
    (_model_text(sizes=[2, 0]), "has sizes"),
    (_model_text(sizes=[100_000, 100_000]), r"weights\[0\] has shape \(1, 2\); sizes \[100000, 100000\] need \(100000, "),
    (_model_text(weights=[[[0.5, -0.25, 1.0]]]), r"weights\[0\] has shape \(1, 3\)"),
    (_model_text(weights=[[[0.5], [1.0, 2.0]]]), "not a rectangular array"),
    (_model_text(weights=[[0.5, -0.25]]), "not a rectangular array"),
    (_model_text(weights=[]), r"'weights' must be a list of 1 arrays"),
    (_model_text(biases=[[0.125]]), "not a rectangular array"),
    (_model_text(weights=[[[True, 0.5]]]), r"weights\[0\]\[0\]\[0\] is True, not a number"),
    (_model_text(weights=[[["0.5", 0.5]]]), r"weights\[0\]\[0\]\[0\] is '0.5', not a number"),
    (_model_text(weights=[[[None, 0.5]]]), r"weights\[0\]\[0\]\[0\] is None, not a number"),
    (_model_text(dtype="float16"), "names the dtype 'float16', which is not one of"),
    (_model_text(dtype="object"), "names the dtype 'object'"),
    (_model_text(dtype={"names": ["a"]}), "names the dtype"),
    (_model_text(activation=["relu"]), "names the activation"),
    (_model_text(activation="softplus"), "names the activation 'softplus'"),
    (_model_text().replace("0.5", "NaN"), r"weights\[0\]\[0\]\[0\] is nan, not a finite float64"),
    (_model_text().replace("0.125", "-Infinity"), r"biases\[0\]\[0\]\[0\] is -inf, not a finite float64"),
    (_model_text().replace("0.5", "1e999"), "is inf, not a finite float64"),
    (_model_text().replace("0.5", "1" + "0" * 400), "integer too large for a float"),
    (_model_text().replace("0.5", "1" + "0" * 5000), "is not a JSON model file"),
    (_model_text(dtype="float32").replace("0.5", "1e300"), "not a finite float32"),
]


@pytest.mark.parametrize("content, words", _BAD_MODELS, ids=range(len(_BAD_MODELS)))
def test_network_load_rejects_each_corruption_clearly(tmp_path: Path, content: str | bytes, words: str) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=words) as info:
        Network.load(path)
    assert str(info.value).startswith(f"Network.load: {path}")


def test_network_load_accepts_the_good_twin_of_the_corruptions(tmp_path: Path) -> None:
    # Control: the file every corruption above starts from loads, with its values.
    path = tmp_path / "model.json"
    path.write_text(_model_text())
    net = Network.load(path)
    np.testing.assert_array_equal(net.weights[0], [[0.5, -0.25]])
    np.testing.assert_array_equal(net.biases[0], [[0.125]])


def test_network_load_of_a_truncated_save_names_the_file(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    text = path.read_bytes()
    for cut in (1, len(text) // 3, len(text) - 1):
        path.write_bytes(text[:cut])
        with pytest.raises(ValueError, match="is not a JSON model file, or it is truncated"):
            Network.load(path)


def test_network_load_huge_declared_sizes_allocate_nothing_big(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(_model_text(sizes=[100_000, 100_000]))  # 10¹⁰ floats = 80 GB if trusted
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="has shape"):
            Network.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


_MODEL_SEED = _model_text(
    sizes=[2, 2, 1], weights=[[[0.5, -0.25], [1.0, 2.0]], [[3.0, -4.0]]], biases=[[[0.1], [0.2]], [[0.3]]]
)
_JSON_CHARS = list('0123456789.,-[]{}"eE:natrufl ')


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_MODEL_SEED)), st.integers(0, 3), st.sampled_from(_JSON_CHARS)),
        min_size=1,
        max_size=4,
    )
)
def test_network_load_fuzzed_files_load_clean_or_fail_clean(tmp_path: Path, edits: list[tuple[int, int, str]]) -> None:
    text = _MODEL_SEED
    for pos, n_cut, ch in edits:
        pos = min(pos, len(text))
        text = text[:pos] + ch + text[pos + n_cut :]
    path = tmp_path / "fuzz.json"
    path.write_text(text)
    try:
        net = Network.load(path)
    except ValueError as e:
        assert str(e).startswith(f"Network.load: {path}")
        event(f"refused: {str(e)[len(str(path)) + 15 :][:20]}")
        return
    event("loaded")
    assert all(np.isfinite(a).all() for a in net.weights + net.biases)
    assert [w.shape for w in net.weights] == [(m, k) for k, m in zip(net.sizes[:-1], net.sizes[1:])]


def test_network_save_refuses_nan_and_keeps_the_previous_file(tmp_path: Path) -> None:
    path, net = _saved(tmp_path)
    before = path.read_bytes()
    net.weights[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"Network.save: weights\[1\] holds NaN or Inf; not saving over"):
        net.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


# ============================================================================ model files: atomic saving
def test_network_save_failure_between_write_and_rename_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, old = _saved(tmp_path)
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        assert Path(src).read_bytes() != before  # the new model is fully written, only not yet renamed
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        Network([2, 3, 1], seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]  # the temporary file is gone
    np.testing.assert_array_equal(Network.load(path).weights[0], old.weights[0])


_CHILD_SAVE = r"""
import json, os, sys, time
import nets.persistence as persistence
import nets.network as network
from nets import Network

def pause(*args, **kwargs):
    print("ready", flush=True)
    time.sleep(60)

if sys.argv[2] == "mid-write":
    def dump(data, f):
        text = json.dumps(data)
        f.write(text[: len(text) // 2])
        f.flush()
        pause()
    persistence.json.dump = dump
else:  # written and flushed, killed before the rename
    os.fsync = pause
Network([30, 40, 10], seed=1).save(sys.argv[1])
"""


@pytest.mark.parametrize("when", ["mid-write", "before-rename"])
def test_network_save_killed_mid_save_keeps_the_previous_file_loadable(tmp_path: Path, when: str) -> None:
    path, old = _saved(tmp_path, [30, 40, 10])
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD_SAVE, str(path), when], stdout=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(HERE)),
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        leftovers = [p for p in tmp_path.iterdir() if p.name != "net.json"]
        assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0  # the half-done temporary file
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert path.read_bytes() == before
    loaded = Network.load(path)
    for a, b in zip(loaded.weights + loaded.biases, old.weights + old.biases):
        np.testing.assert_array_equal(a, b)
    loaded.save(path)  # the next save of the same target removes the killed save's temporary file
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


# ============================================================================ untrusted data: IDX and pickle fuzzing
class _Hang(Exception):
    pass


class _watchdog:
    """Fail (instead of hanging the suite) if the body runs for more than ``seconds``: a hang is a bug here."""

    def __init__(self, seconds: int = 30) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        def fire(signum: int, frame: object) -> None:
            raise _Hang(f"no result after {self.seconds} s")

        self._old = signal.signal(signal.SIGALRM, fire)
        signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self._old)


def _mutate(data: bytes, draw: st.DrawFn, header: int) -> bytes:
    """Return ``data`` with a few hypothesis-chosen edits, biased to the first ``header`` bytes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["byte", "length", "cut", "insert"]))
        limit = header if draw(st.booleans()) else len(out)
        pos = draw(st.integers(0, max(limit, 1) - 1)) if out else 0
        if kind == "byte" and out:
            out[pos % len(out)] = draw(st.integers(0, 255))
        elif kind == "length":  # a count or size field rewritten with a big value, in either byte order
            big = draw(st.sampled_from([0, 1, 255, 2**16, 2**24, 2**31 - 1, 2**31, 2**32 - 1]))
            out[pos : pos + 4] = big.to_bytes(4, draw(st.sampled_from(["big", "little"])))
        elif kind == "cut":
            del out[pos:]
        else:
            out[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(out)


def _load_fuzzed(path: Path, load: Callable[[Path], Any]) -> tuple[Any, int]:
    """Return (what ``load`` read from ``path`` or None when it refused, peak traced bytes); only MNISTError may escape ``load``."""
    tracemalloc.start()
    try:
        with _watchdog():
            try:
                out = load(path)
                event("loaded")
            except MNISTError as e:
                assert str(e).startswith(str(path))
                event(f"refused: {str(e)[len(str(path)) + 2 :][:20]}")
                out = None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


def _idx_seeds() -> list[bytes]:
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, (3, 4, 4)).astype(np.uint8),
        rng.integers(0, 10, 6).astype(np.uint8),
        rng.normal(size=(2, 3)).astype(">f4"),
        rng.integers(-5, 5, (2, 2, 2)).astype(">i2"),
    ]
    seeds = []
    for a in arrays:
        buf = io.BytesIO()
        header = bytes([0, 0, {1: 0x08, 2: 0x0B, 4: 0x0D}[a.dtype.itemsize], a.ndim])
        buf.write(header + np.asarray(a.shape, ">u4").tobytes() + a.tobytes())
        seeds.append(buf.getvalue())
    return seeds


_IDX_SEEDS = _idx_seeds()


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(_IDX_SEEDS), gz=st.booleans(), data=st.data())
def test_read_idx_fuzzed_headers_fail_clean_fast_and_small(
    tmp_path: Path, seed: bytes, gz: bool, data: st.DataObject
) -> None:
    raw = _mutate(seed, data.draw, header=16)
    path = tmp_path / ("fuzz-idx.gz" if gz else "fuzz-idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    arr, peak = _load_fuzzed(path, read_idx)
    # Proportional to the data present (plus the reader's fixed 1 MiB chunk), whatever the header declares.
    assert peak < 64 * len(raw) + (4 << 20)
    if arr is not None:  # a mutation that is still a valid file: the array is exactly what the header says
        ndim = raw[3]
        dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        assert arr.shape == dims and arr.nbytes == len(raw) - 4 - 4 * ndim


def test_read_idx_fuzz_seeds_are_valid_files(tmp_path: Path) -> None:
    # Control for the fuzz test: unmutated, every seed loads.
    for i, seed in enumerate(_IDX_SEEDS):
        path = tmp_path / f"seed{i}"
        path.write_bytes(seed)
        assert read_idx(path).size > 0


_CANARY_CALLS: list[str] = []


def _canary(arg: str) -> str:
    _CANARY_CALLS.append(arg)
    return arg


class _CallsCanary:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_canary, ("ran",))


def _pickle_seeds() -> list[bytes]:
    rng = np.random.default_rng(1)
    split = (rng.uniform(0, 1, (3, 6)).astype(np.float32), rng.integers(0, 10, 3))
    seeds = [pickle.dumps((split, split, split), protocol=p) for p in (2, 4, 5)]
    seeds.append(pickle.dumps((split, (split[0], _CallsCanary()), split), protocol=2))
    return seeds


_PICKLE_SEEDS = _pickle_seeds()


def test_pickle_fuzz_seeds_are_valid_and_the_canary_is_live() -> None:
    # Controls for the fuzz test: the clean seeds load, and an ordinary unpickler does run the canary.
    for seed in _PICKLE_SEEDS[:3]:
        assert len(pickle.loads(seed)) == 3
    _CANARY_CALLS.clear()
    pickle.loads(_PICKLE_SEEDS[3])
    assert _CANARY_CALLS == ["ran"]
    _CANARY_CALLS.clear()


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(_PICKLE_SEEDS), gz=st.booleans(), data=st.data())
def test_load_pickle_fuzzed_files_fail_clean_and_run_nothing(
    tmp_path: Path, seed: bytes, gz: bool, data: st.DataObject
) -> None:
    raw = _mutate(seed, data.draw, header=len(seed))
    path = tmp_path / ("fuzz.pkl.gz" if gz else "fuzz.pkl")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    _CANARY_CALLS.clear()
    splits, peak = _load_fuzzed(path, load_pickle)
    assert _CANARY_CALLS == []
    assert peak < 64 * len(raw) + (4 << 20)
    if splits is not None:
        assert all(x.ndim == 2 and y.ndim == 1 and len(x) == len(y) for x, y in splits)


# ============================================================================ resource bounds
# The 10⁵-node chain backward without RecursionError: tests/test_tensor.py::test_backward_chain_of_100000_ops.


class _TracedSigmoid(Sigmoid):
    """A sigmoid layer that keeps a weak reference to every output, tagged with the mini-batch that made it."""

    refs: list[tuple[int, weakref.ref]] = []
    batch = 0

    def forward(self, z: Tensor) -> Tensor:
        a = super().forward(z)
        _TracedSigmoid.refs.append((_TracedSigmoid.batch, weakref.ref(a)))
        return a


class _HoardingSigmoid(_TracedSigmoid):
    """The negative control: a layer that keeps its last outputs (and so their graphs) alive."""

    def forward(self, z: Tensor) -> Tensor:
        a = super().forward(z)
        self.__dict__.setdefault("_kept", []).append(a)
        return a


def _graphs_alive_across_batches(activation: type) -> tuple[list[tuple[int, int]], list[int]]:
    """Return ((batch, older batch) pairs whose outputs were still alive, batches alive after SGD returned)."""
    X, labels = _blobs(60)
    net = Network([4, 6, 5, 3], seed=0, activation=activation)
    _TracedSigmoid.refs, _TracedSigmoid.batch = [], 0
    leaks: list[tuple[int, int]] = []

    def after_batch(epoch: int, k: int, n_batches: int) -> None:
        now = epoch * n_batches + k
        leaks.extend((now, b) for b, ref in _TracedSigmoid.refs if b < now and ref() is not None)
        _TracedSigmoid.batch = now + 1

    gc.disable()  # reference counting alone must free each graph: no cycles through Tensors and nodes
    try:
        net.SGD((X, labels), 2, 7, 3.0, verbose=False, callback=after_batch)
        del net
        alive_after = [b for b, ref in _TracedSigmoid.refs if ref() is not None]
    finally:
        gc.enable()
    assert len(_TracedSigmoid.refs) == 2 * 9 * 3  # epochs × batches × activation layers: the tracing ran
    return leaks, alive_after


def test_sgd_keeps_no_graph_alive_across_mini_batches() -> None:
    assert _graphs_alive_across_batches(_TracedSigmoid) == ([], [])


def test_sgd_graph_tracing_catches_a_layer_that_hoards_outputs() -> None:
    leaks, alive_after = _graphs_alive_across_batches(_HoardingSigmoid)
    assert leaks and alive_after == []  # alive during training; freed with the network


def test_sgd_memory_returns_to_baseline_after_training() -> None:
    rng = np.random.default_rng(0)
    X, labels = rng.random((600, 784)), rng.integers(0, 10, 600)
    net = Network([784, 30, 10], seed=0)
    net.SGD((X, labels), 1, 10, 3.0, verbose=False)  # warm-up: caches, interned objects
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        net.SGD((X, labels), 3, 10, 3.0, verbose=False)
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Nothing accumulates over 1800 mini-batches (measured: 48 bytes), and the peak is one mini-batch's graph,
    # one set of gradients (w¹ alone is 188 KB) and the one-hot targets (measured: 330 KB), not a copy of X.
    assert after - before < 16 * 1024
    assert peak - before < 1 << 20

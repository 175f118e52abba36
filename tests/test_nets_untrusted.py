"""Crafted files: each attack on the MNIST pickle, IDX and model readers gets a file that tries it and must be refused."""
from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from nets import Network, mnist
from nets.mnist import MNISTError

ROOT = Path(__file__).resolve().parents[1]


def _g(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _s(text: str) -> bytes:
    raw = text.encode("latin-1")
    return b"U" + bytes([len(raw)]) + raw if len(raw) < 256 else b"T" + struct.pack("<I", len(raw)) + raw


def _int(v: int) -> bytes:
    return b"J" + struct.pack("<i", v)


_DTYPE_F8 = _g("numpy", "dtype") + _s("f8") + b"\x89\x88\x87R"  # numpy.dtype('f8', False, True)


def _array_with_dtype_state(state: bytes) -> bytes:
    # _reconstruct(ndarray, (0,), b'b'), then BUILD (1, (3, 784), <dtype with the given BUILD state>, False, data)
    data = bytes(3 * 784 * 8)
    return (
        b"\x80\x02" + _g("numpy.core.multiarray", "_reconstruct") + _g("numpy", "ndarray") + b"K\x00\x85" + _s("b")
        + b"\x87R" + b"(" + b"K\x01" + b"M\x03\x00M\x10\x03\x86" + _DTYPE_F8 + state + b"b" + b"\x89"
        + b"B" + struct.pack("<I", len(data)) + data + b"tb."
    )


def _write_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


# ---------------------------------------------------------------------------------------------- the pickle
def test_untrusted_pickle_subarray_dtype_is_refused_not_a_segfault(tmp_path: Path) -> None:
    # The dtype state gives f8 a 2**24-element subarray while its itemsize stays 8: read past the buffer.
    state = (b"(K\x03" + _s("<") + _DTYPE_F8 + b"J\x00\x00\x00\x01\x85\x86" + b"NN" + b"K\x08K\x01K\x00t")
    payload = _array_with_dtype_state(state)
    path = _write_gz(tmp_path / "mnist.pkl.gz", payload)
    with pytest.raises(MNISTError, match=r"refused: offset \d+ \(BUILD\): refused dtype state"):
        mnist.load_pickle(path)
    proc = subprocess.run([sys.executable, "-m", "nets.mnist", "--data", str(path), "--epochs", "1"],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and len(proc.stderr.splitlines()) == 1


def test_untrusted_pickle_plain_dtype_state_control_loads(tmp_path: Path) -> None:
    # Control for the test above: the same file with numpy's plain state is an array (the split check then fails).
    state = b"(K\x03" + _s("<") + b"NNN" + _int(-1) + _int(-1) + b"K\x00t"
    from nets.mnist.safe_pickle import parse

    arr = parse(_array_with_dtype_state(state))
    assert arr.shape == (3, 784) and arr.dtype == np.float64


def test_untrusted_pickle_build_on_a_callable_changes_nothing(tmp_path: Path) -> None:
    before = dict(vars(np.dtype)), np.dtype.__init__
    payload = b"\x80\x02" + _g("numpy", "dtype") + b"(" + _s("x") + b"K\x01t" + b"b."
    with pytest.raises(MNISTError, match=r"\(BUILD\): BUILD may only complete a numpy array or dtype"):
        mnist.load_pickle(_write_gz(tmp_path / "a.pkl.gz", payload))
    assert (dict(vars(np.dtype)), np.dtype.__init__) == before
    split = (np.zeros((2, 784), np.float32), np.array([1, 2]))
    good = _write_gz(tmp_path / "b.pkl.gz", pickle.dumps((split,) * 3, protocol=2))
    assert [x.shape for x, _ in mnist.load_pickle(good)] == [(2, 784)] * 3  # the next load is unaffected


def test_untrusted_pickle_of_many_empty_dicts_is_refused_at_once(tmp_path: Path) -> None:
    path = _write_gz(tmp_path / "d.pkl.gz", b"\x80\x02" + b"}" * 19_000 + b".")
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(MNISTError, match=r"offset 2 \(EMPTY_DICT\): refused opcode"):
        mnist.load_pickle(path)
    seconds, (_, peak) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 5 * 2**20


def test_untrusted_pickle_work_is_bounded_by_the_opcode_count(tmp_path: Path) -> None:
    path = _write_gz(tmp_path / "n.pkl.gz", b"\x80\x02" + b"N0" * 100_000 + b"N.")
    with pytest.raises(MNISTError, match="refused opcode|more than 5000 opcodes"):
        mnist.load_pickle(path)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_untrusted_pickle_legitimate_empty_arrays_load_then_the_split_check_speaks(tmp_path: Path, protocol: int) -> None:
    from nets.mnist.safe_pickle import parse

    empty = (np.zeros((0, 784), np.float32), np.zeros(0, np.int64))
    got = parse(pickle.dumps((empty,) * 3, protocol=protocol))
    assert got[0][0].shape == (0, 784) and got[2][1].dtype == np.int64
    path = _write_gz(tmp_path / "e.pkl.gz", pickle.dumps((empty,) * 3, protocol=protocol))
    with pytest.raises(MNISTError, match="holds no images"):
        mnist.load_pickle(path)


def _in_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_untrusted_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "mnist.pkl.gz"
    os.mkfifo(fifo)
    code = (
        "import sys\nfrom nets import mnist, Network\n"
        "for f in (mnist.load_pickle, mnist.read_idx, Network.load):\n"
        "    try:\n        f(sys.argv[1])\n    except ValueError as e:\n        print(e)\n"
    )
    out = _in_child(code, str(fifo), timeout=30).stdout.splitlines()
    assert len(out) == 3 and all("regular file" in line for line in out), out


# ---------------------------------------------------------------------------------------------- model JSON
def test_untrusted_model_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "net.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        Network.load(link)


def test_untrusted_model_far_larger_than_its_sizes_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    zeros = ", ".join(["0"] * 2_000_000)
    path.write_text('{"sizes": [1, 1], "weights": [[[' + zeros + ']]], "biases": [[[0]]], "cost": "QuadraticCost"}')
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"more than its sizes \[1, 1\] can need"):
        Network.load(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 3 * path.stat().st_size  # json would build ~60 bytes per number


def test_untrusted_model_with_300000_layers_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    n = 300_000
    path.write_text(json.dumps({"sizes": [1] * n, "weights": [[[0.5]]] * (n - 1), "biases": [[[0.0]]] * (n - 1),
                                "cost": "QuadraticCost"}))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="layers|sizes"):
        Network.load(path)
    assert time.perf_counter() - start < 3.0


def test_untrusted_model_message_quotes_only_an_excerpt(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"sizes": [1, 1], "weights": [[[0.5]]], "biases": [[[0.0]]], "cost": "x" * 50_000}))
    with pytest.raises(ValueError, match="names the cost") as info:
        Network.load(path)
    assert len(str(info.value)) < 400


# ---------------------------------------------------------------------------------------------- IDX
def _idx(dims: tuple[int, ...], body: bytes = b"", code: int = 8) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def test_untrusted_idx_with_more_than_64_dimensions_is_an_mnist_error(tmp_path: Path) -> None:
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(_idx((1,) * 70, b"\x00"))
    with pytest.raises(MNISTError, match="70 dimensions"):
        mnist.read_idx(path)


def test_untrusted_idx_declaring_zero_images_is_one_line_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from _mnist_files import write_set

    write_set(tmp_path)
    mnist.write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(0, np.uint8))
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "declares 0 images" in err and len(err.splitlines()) == 1


def test_untrusted_idx_too_many_images_to_convert_is_refused_before_converting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rule with a small limit: 2,000 images need 12 MB as float64; the check runs before the conversion.
    import nets.mnist.data as data_module
    from _mnist_files import write_set

    write_set(tmp_path)
    mnist.write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2000, 28, 28), np.uint8))
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(2000, np.uint8))
    monkeypatch.setattr(data_module, "MAX_FLOAT_BYTES", 4 * 2**20)
    with pytest.raises(MNISTError, match=r"refused: 2000 images need 12 MiB as float64 \(limit 4 MiB\)"):
        mnist.load_idx_folder(tmp_path)
    monkeypatch.setattr(data_module, "MAX_FLOAT_BYTES", 16 * 2**20)
    (x, _), _ = mnist.load_idx_folder(tmp_path)
    assert x.shape == (2000, 784)

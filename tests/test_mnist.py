"""Tests of nets.mnist: IDX and pickle readers, the data lookup and verified download, and the training command.

The real data is used only through $MNIST_DIR; everything else runs on small files the tests write, and no test
touches the network (every download goes through an injected ``fetch`` or a ``file://`` URL).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import re
import struct
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets import mnist
from nets.mnist import FILES, MNISTError, MNISTNotFoundError
from _mnist_files import write_set

MNIST_DIR = os.environ.get("MNIST_DIR")
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR and Path(MNIST_DIR).is_dir()),
    reason="real MNIST not available: set MNIST_DIR to a folder with the four IDX files (CI uses ../shared/mnist)",
)


_write_set = write_set


def _never_fetch(url: str, out: object) -> None:
    raise AssertionError(f"the test tried to download {url}")


# ---------------------------------------------------------------------------------------------------- IDX reading

idx_arrays = st.tuples(
    st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.integers(0, 2**32 - 1),
)


@given(spec=idx_arrays, gz=st.booleans())
def test_read_idx_round_trip(spec, gz):
    dtype, shape, seed = spec
    rng = np.random.default_rng(seed)
    a = (rng.uniform(-2, 2, shape) * 50).astype(dtype) if np.dtype(dtype).kind != "u" else rng.integers(0, 256, shape).astype(dtype)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / ("x-idx" + (".gz" if gz else ""))
        mnist.write_idx(p, a)
        b = mnist.read_idx(p)
    assert b.shape == a.shape and b.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_load_idx_folder_scales_pixels_and_keeps_int_labels(tmp_path, gz, dtype):
    arrays = _write_set(tmp_path, gz=gz)
    (x, y), (x_test, y_test) = mnist.load_idx_folder(tmp_path, dtype=dtype)
    assert x.dtype == dtype and x.shape == (12, 784) and x_test.shape == (6, 784)
    assert y.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(x, (arrays["train_images"].reshape(12, 784) / 255.0).astype(dtype))
    np.testing.assert_array_equal(y, arrays["train_labels"])
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_load_idx_folder_finds_the_dotted_raw_names(tmp_path):
    arrays = _write_set(tmp_path / "std", gz=False)
    for key, stem in FILES.items():
        mnist.write_idx(tmp_path / stem.replace("-idx", ".idx"), arrays[key])
    (x, _), _ = mnist.load_idx_folder(tmp_path)
    assert x.shape == (12, 784)


def test_load_idx_folder_rejects_a_bad_dtype(tmp_path):
    _write_set(tmp_path)
    with pytest.raises(TypeError, match="load_idx_folder.*int32"):
        mnist.load_idx_folder(tmp_path, dtype=np.int32)


# Each corruption: (name, function turning the good raw IDX bytes into bad ones, words the error must contain).
def _labels_bytes(n: int = 5) -> bytes:
    return struct.pack(">I", 0x801) + struct.pack(">I", n) + bytes(i % 10 for i in range(n))


CORRUPTIONS = [
    ("magic", lambda b: b"\x01" + b[1:], "bad magic number"),
    ("type-byte", lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX type"),
    ("zero-dims", lambda b: b[:3] + b"\x00" + b[4:], "zero dimensions"),
    ("header-cut", lambda b: b[:3], "truncated header"),
    ("dims-cut", lambda b: b[:6], "truncated dimensions"),
    ("data-cut", lambda b: b[:-2], "truncated"),
    ("data-extra", lambda b: b + b"\x00", "too long"),
    ("count-too-big", lambda b: b[:4] + struct.pack(">I", 6) + b[8:], "truncated"),
    ("count-huge", lambda b: b[:4] + struct.pack(">I", 10**9) + b[8:], "truncated"),
    ("count-absurd", lambda b: b[:3] + b"\x03" + struct.pack(">III", 2**31, 2**31, 2), "limit"),
]


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("name,corrupt,words", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_read_idx_corruption_names_file_and_problem(tmp_path, gz, name, corrupt, words):
    good = tmp_path / "good"
    good.write_bytes(_labels_bytes())
    assert mnist.read_idx(good).tolist() == [0, 1, 2, 3, 4]  # the uncorrupted bytes do load
    bad = tmp_path / f"{name}-idx1-ubyte{'.gz' if gz else ''}"
    data = corrupt(_labels_bytes())
    bad.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(MNISTError, match=re.escape(str(bad))) as info:
        mnist.read_idx(bad)
    assert words in str(info.value)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_read_idx_huge_declared_count_allocates_nothing_big(tmp_path, gz):
    # 900 MB declared (under the 1 GiB limit), a few bytes present: must fail on the length, not allocate.
    data = struct.pack(">I", 0x803) + struct.pack(">III", 900, 1000, 1000) + bytes(100)
    p = tmp_path / "liar-idx3-ubyte"
    p.write_bytes(gzip.compress(data) if gz else data)
    tracemalloc.start()
    try:
        with pytest.raises(MNISTError, match="truncated"):
            mnist.read_idx(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_read_idx_damaged_gzip_names_file(tmp_path):
    raw = _labels_bytes(4000)
    z = bytearray(gzip.compress(raw))
    p_flip, p_cut = tmp_path / "flip-idx1-ubyte.gz", tmp_path / "cut-idx1-ubyte.gz"
    z_flip = z.copy()
    z_flip[-6] ^= 0xFF  # inside the CRC/length trailer: the stream inflates but fails its check
    p_flip.write_bytes(bytes(z_flip))
    p_cut.write_bytes(bytes(z[: len(z) // 2]))
    for p in (p_flip, p_cut):
        with pytest.raises(MNISTError, match=re.escape(str(p))):
            mnist.read_idx(p)


def test_read_idx_missing_file_is_an_mnist_error(tmp_path):
    with pytest.raises(MNISTError, match="nope-idx1.*cannot open"):
        mnist.read_idx(tmp_path / "nope-idx1")


def test_load_idx_folder_count_mismatch_names_both_files(tmp_path):
    _write_set(tmp_path)
    mnist.write_idx(tmp_path / (FILES["train_labels"] + ".gz"), np.zeros(11, np.uint8))
    with pytest.raises(MNISTError, match=r"train-images-idx3-ubyte\.gz: 12 images but train-labels-idx1-ubyte\.gz has 11"):
        mnist.load_idx_folder(tmp_path)


@pytest.mark.parametrize(
    "key,array,words",
    [
        ("test_labels", np.full(6, 10, np.uint8), "digits 0..9"),
        ("test_labels", np.zeros((6, 1), np.uint8), "1 dimension"),
        ("test_images", np.zeros((6, 784), np.uint8), "3 dimensions"),
        ("test_images", np.zeros((6, 28, 28), np.float32), "unsigned-byte"),
    ],
)
def test_load_idx_folder_rejects_wrong_content(tmp_path, key, array, words):
    _write_set(tmp_path)
    mnist.write_idx(tmp_path / (FILES[key] + ".gz"), array)
    with pytest.raises(MNISTError, match=FILES[key]) as info:
        mnist.load_idx_folder(tmp_path)
    assert words in str(info.value)


def test_load_idx_folder_missing_file_is_named(tmp_path):
    _write_set(tmp_path)
    (tmp_path / (FILES["test_labels"] + ".gz")).unlink()
    with pytest.raises(MNISTError, match="missing t10k-labels-idx1-ubyte"):
        mnist.load_idx_folder(tmp_path)


# ------------------------------------------------------------------------------------------------ the pickle

def _nielsen_like(n: int = 7, seed: int = 0):
    rng = np.random.default_rng(seed)
    return tuple(
        (rng.uniform(0, 1, (n, 784)).astype(np.float32), rng.integers(0, 10, n).astype(np.int64)) for _ in range(3)
    )


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    # Python 2 wrote byte strings with the STRING opcodes; reproduce that to test Nielsen's original file format.
    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def _save_py2_str(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


@pytest.mark.parametrize("protocol", ["py2", 2, 4, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_load_pickle_round_trip(tmp_path, protocol, dtype):
    data = _nielsen_like()
    p = tmp_path / "mnist.pkl.gz"
    with gzip.open(p, "wb") as f:
        if protocol == "py2":
            _Py2Pickler(f, protocol=2).dump(data)
        else:
            pickle.dump(data, f, protocol=protocol)
    got = mnist.load_pickle(p, dtype)
    for (x, y), (x0, y0) in zip(got, data):
        assert x.dtype == dtype and y.dtype == np.int64
        np.testing.assert_array_equal(x, x0.astype(dtype))
        np.testing.assert_array_equal(y, y0)


def test_load_data_reads_a_pickle_with_its_own_split(tmp_path, capsys):
    data = _nielsen_like(n=9)
    p = tmp_path / "mnist.pkl.gz"
    with gzip.open(p, "wb") as f:
        pickle.dump(data, f, protocol=2)
    got = mnist.load_data(p, np.float32, environ={}, fetch=_never_fetch)
    assert [x.shape for x, _ in got] == [(9, 784)] * 3
    np.testing.assert_array_equal(got[1][1], data[1][1])
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1", "--seed", "0"], fetch=_never_fetch) == 0
    assert EPOCH_LINE.match(capsys.readouterr().out.strip()).group(3) == "9"


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_load_pickle_refuses_os_system_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    x, y = _nielsen_like()[0]
    payload = pickle.dumps(((x, y), (x, _Evil(marker)), (x, y)), protocol=2)
    # Control: an ordinary unpickler really would run the command.
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()
    p = tmp_path / "evil.pkl.gz"
    p.write_bytes(gzip.compress(payload))
    with pytest.raises(MNISTError, match=r"evil\.pkl\.gz: refused: offset \d+ \(GLOBAL\): refused global (posix|os|nt)\.system"):
        mnist.load_pickle(p)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload,words",
    [
        (b"cbuiltins\neval\n(S'1'\ntR.", "refused global builtins.eval"),
        # numpy.ndarray called directly (could allocate any shape) instead of through _reconstruct
        (b"cnumpy\nndarray\n((I10\nttR.", "not callable"),
        (b"cnumpy\ndtype\n(S'O8'\nI00\nI01\ntR.", "only plain numeric dtypes"),
        (pickle.dumps(np.array([1, "a"], dtype=object), protocol=2), "refused"),
        (pickle.dumps(([1], [2], [3]), protocol=2), "offset 2 (EMPTY_LIST): refused opcode"),
        (pickle.dumps(((1, 2), (3, 4), (5, 6)), protocol=2), "holds a int, not arrays in tuples"),
        (pickle.dumps(((np.zeros((2, 784)), np.zeros(3, int)),) * 3, protocol=2), "2 images but 3 labels"),
        (pickle.dumps(((np.full((2, 784), 2.0), np.zeros(2, int)),) * 3, protocol=2), "in [0, 1]"),
        (b"\x80\x02garbage", "not a valid MNIST pickle"),
    ],
    ids=["eval", "ndarray-call", "object-dtype", "object-array", "lists", "ints", "count", "range", "garbage"],
)
def test_load_pickle_refuses_bad_content(tmp_path, payload, words):
    p = tmp_path / "bad.pkl.gz"
    p.write_bytes(gzip.compress(payload))
    with pytest.raises(MNISTError, match=re.escape(str(p))) as info:
        mnist.load_pickle(p)
    assert words in str(info.value)


# ------------------------------------------------------------------------------------ lookup, cache, download

def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def _fake_mirror(tmp_path: Path) -> tuple[dict[str, bytes], dict[str, tuple[str, ...]]]:
    src = tmp_path / "mirror"
    _write_set(src)
    blobs = {stem: (src / (stem + ".gz")).read_bytes() for stem in FILES.values()}
    return blobs, {stem: (_md5(b),) for stem, b in blobs.items()}


def test_download_mismatch_is_deleted_reported_and_next_mirror_used(tmp_path):
    blobs, sums = _fake_mirror(tmp_path)
    stem = FILES["test_labels"]
    seen, logged = [], []

    def fetch(url, out):
        seen.append(url)
        out.write(b"tampered" if url.startswith("https://bad") else blobs[stem])

    cache = tmp_path / "cache"
    got = mnist.download(stem, cache, fetch=fetch, mirrors=["https://bad/", "https://good/"], checksums=sums,
                         log=logged.append)
    assert got == cache / (stem + ".gz") and got.read_bytes() == blobs[stem]
    assert seen == [f"https://bad/{stem}.gz", f"https://good/{stem}.gz"]
    assert len(logged) == 1 and "md5 mismatch" in logged[0] and "deleted" in logged[0]
    assert sorted(os.listdir(cache)) == [stem + ".gz"]  # no temporary file left behind


def test_download_partial_or_mismatching_never_lands(tmp_path):
    blobs, sums = _fake_mirror(tmp_path)
    stem = FILES["train_labels"]

    def fetch(url, out):
        if "partial" in url:
            out.write(blobs[stem][:10])
            raise OSError("connection reset")
        out.write(blobs[stem][:-1])

    cache = tmp_path / "cache"
    with pytest.raises(MNISTNotFoundError, match="connection reset.*md5 mismatch"):
        mnist.download(stem, cache, fetch=fetch, mirrors=["https://partial/", "https://short/"], checksums=sums,
                       log=None)
    assert os.listdir(cache) == []


def test_download_file_url_with_the_default_fetch(tmp_path):
    blobs, sums = _fake_mirror(tmp_path)
    stem = FILES["test_images"]
    mirror = (tmp_path / "mirror").as_uri() + "/"
    got = mnist.download(stem, tmp_path / "ok", mirrors=[mirror], checksums=sums, log=None)
    assert got.read_bytes() == blobs[stem]
    wrong = {stem: (_md5(b"something else"),)}
    with pytest.raises(MNISTNotFoundError, match="md5 mismatch"):
        mnist.download(stem, tmp_path / "bad", mirrors=[mirror], checksums=wrong, log=None)
    assert os.listdir(tmp_path / "bad") == []


def test_find_data_downloads_into_the_xdg_cache_then_reuses_it(tmp_path):
    blobs, sums = _fake_mirror(tmp_path)
    calls = []

    def fetch(url, out):
        calls.append(url)
        out.write(blobs[url.rsplit("/", 1)[1][:-3]])

    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    where = mnist.find_data(environ=env, fetch=fetch, mirrors=["https://m/"], checksums=sums, log=None)
    assert where == tmp_path / "xdg" / "tinygrad-bp" / "mnist" and len(calls) == 4
    again = mnist.find_data(environ=env, fetch=_never_fetch, checksums=sums, log=None)
    assert again == where
    # A cached file that no longer verifies is deleted and downloaded again.
    bad = where / (FILES["train_labels"] + ".gz")
    bad.write_bytes(b"rot")
    logged = []
    mnist.find_data(environ=env, fetch=fetch, mirrors=["https://m/"], checksums=sums, log=logged.append)
    assert len(calls) == 5 and bad.read_bytes() == blobs[FILES["train_labels"]]
    assert any("md5 mismatch" in m for m in logged)


def test_find_data_order_data_then_env_then_cache(tmp_path):
    a, b, cache = tmp_path / "a", tmp_path / "b", tmp_path / "cache"
    _write_set(a)
    _write_set(b)
    _write_set(cache)
    pkl = tmp_path / "mnist.pkl.gz"
    pkl.write_bytes(b"")
    kw = dict(cache_dir=cache, fetch=_never_fetch, checksums={s: ("x",) for s in FILES.values()}, log=None)
    assert mnist.find_data(a, environ={"MNIST_DIR": str(b)}, **kw) == a
    assert mnist.find_data(pkl, environ={"MNIST_DIR": str(b)}, **kw) == pkl
    assert mnist.find_data(None, environ={"MNIST_DIR": str(b)}, **kw) == b
    with pytest.raises(MNISTNotFoundError, match=r"data=.*nowhere does not exist"):
        mnist.find_data(tmp_path / "nowhere", environ={"MNIST_DIR": str(b)}, **kw)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MNISTNotFoundError, match=r"\$MNIST_DIR .*empty has neither"):
        mnist.find_data(None, environ={"MNIST_DIR": str(tmp_path / "empty")}, **kw)
    kw["checksums"] = {s: (_md5((cache / (s + ".gz")).read_bytes()),) for s in FILES.values()}
    assert mnist.find_data(None, environ={"MNIST_DIR": ""}, **kw) == cache


def test_find_data_offline_says_where_it_looked_and_how_to_supply(tmp_path):
    def offline(url, out):
        raise OSError("Temporary failure in name resolution")

    with pytest.raises(MNISTNotFoundError) as info:
        mnist.find_data(environ={"XDG_CACHE_HOME": str(tmp_path)}, fetch=offline, log=None)
    msg = str(info.value)
    assert "Temporary failure" in msg and str(tmp_path) in msg
    assert "data=PATH" in msg and "--data" not in msg and "MNIST_DIR" in msg  # a library speaks of arguments
    assert not list(Path(tmp_path, "tinygrad-bp", "mnist").iterdir())


def test_default_cache_dir_respects_xdg_and_ignores_a_relative_one():
    assert mnist.default_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/tinygrad-bp/mnist")
    assert mnist.default_cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == Path("/h/.cache/tinygrad-bp/mnist")


# --------------------------------------------------------------------------------------------- splits and shapes

def test_load_data_splits_validation_from_the_end_of_training(tmp_path):
    arrays = _write_set(tmp_path, n_train=18)
    (x, y), (xv, yv), (xt, yt) = mnist.load_data(tmp_path, environ={}, fetch=_never_fetch)
    assert x.shape == (15, 784) and xv.shape == (3, 784) and xt.shape == (6, 784)
    np.testing.assert_array_equal(np.concatenate([y, yv]), arrays["train_labels"])
    (x2, _), (xv2, _), _ = mnist.load_data(tmp_path, validation_size=4, environ={}, fetch=_never_fetch)
    assert len(x2) == 14 and len(xv2) == 4


def test_load_data_wrapper_matches_nielsens_shapes(tmp_path):
    arrays = _write_set(tmp_path, n_train=12)
    training, validation, test = mnist.load_data_wrapper(tmp_path, environ={}, fetch=_never_fetch)
    assert (len(training), len(validation), len(test)) == (10, 2, 6)
    x, y = training[3]
    assert x.shape == (784, 1) and y.shape == (10, 1) and y.sum() == 1.0
    assert int(np.argmax(y)) == arrays["train_labels"][3]
    xv, yv = validation[1]
    assert xv.shape == (784, 1) and type(yv) is int and yv == arrays["train_labels"][11]
    np.testing.assert_array_equal(test[5][0].ravel(), arrays["test_images"][5].ravel() / 255.0)


@needs_mnist
def test_load_data_real_mnist_shapes_and_split():
    training, validation, test = mnist.load_data_wrapper(MNIST_DIR)
    assert (len(training), len(validation), len(test)) == (50_000, 10_000, 10_000)
    (x, y), (xv, yv), (xt, yt) = mnist.load_data(MNIST_DIR)
    assert x.shape == (50_000, 784) and xt.shape == (10_000, 784) and y.dtype == np.int64
    labels = mnist.read_idx(next(p for p in Path(MNIST_DIR).iterdir() if p.name.startswith(FILES["train_labels"])))
    np.testing.assert_array_equal(yv, labels[50_000:])
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_mnist
def test_download_verifies_real_files_through_a_file_url(tmp_path):
    # The published checksums, the default fetch and a file:// mirror: the real download path minus the network.
    where = mnist.find_data(environ={}, cache_dir=tmp_path, mirrors=[Path(MNIST_DIR).resolve().as_uri()], log=None)
    assert sorted(p.name for p in where.iterdir()) == sorted(s + ".gz" for s in FILES.values())


# ---------------------------------------------------------------------------------------------- the command

EPOCH_LINE = re.compile(r"^Epoch (\d+): (\d+) / (\d+)  \(\d+\.\d\d s\)$")


def _offline(url, out):
    raise OSError("network is unreachable")


def test_main_parser_defaults_are_nielsens():
    a = mnist.build_parser().parse_args([])
    assert (a.sizes, a.cost, a.init, a.epochs, a.batch_size, a.eta, a.lmbda) == (
        [784, 30, 10], "quadratic", "large", 30, 10, 3.0, 0.0)
    assert (a.activation, a.dtype, a.seed, a.data, a.save, a.plot, a.load, a.quiet) == (
        "sigmoid", "float64", None, None, None, None, None, False)


def test_main_parser_reads_every_flag():
    a = mnist.build_parser().parse_args(
        "--epochs 3 --batch-size 7 --eta 0.5 --sizes 784 100 30 10 --cost cross-entropy --init default "
        "--lmbda 5.0 --activation tanh --seed 4 --dtype float32 --data d --save m.json --plot c.png --quiet "
        "--load old.json".split()
    )
    assert (a.epochs, a.batch_size, a.eta, a.sizes, a.cost, a.init, a.lmbda, a.activation, a.seed, a.dtype) == (
        3, 7, 0.5, [784, 100, 30, 10], "cross-entropy", "default", 5.0, "tanh", 4, "float32")
    assert (a.data, a.save, a.plot, a.quiet, a.load) == ("d", "m.json", "c.png", True, "old.json")


@pytest.mark.parametrize(
    "argv", [["--epochs", "0"], ["--batch-size", "-1"], ["--eta", "0"], ["--eta", "nan"], ["--lmbda", "-1"],
             ["--cost", "hinge"], ["--sizes", "784", "x"], ["--dtype", "float16"]]
)
def test_main_parser_rejects_bad_values(argv, capsys):
    with pytest.raises(SystemExit) as info:
        mnist.build_parser().parse_args(argv)
    assert info.value.code == 2 and argv[0] in capsys.readouterr().err


def test_main_one_epoch_on_a_tiny_idx_set_prints_the_epoch_line(tmp_path, capsys):
    _write_set(tmp_path, n_train=24, n_test=6)
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1", "--seed", "0"], fetch=_never_fetch) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1 and EPOCH_LINE.match(lines[0]) and lines[0].startswith("Epoch 0: ")
    assert EPOCH_LINE.match(lines[0]).group(3) == "6"
    assert "\r" not in out  # not a terminal: no progress bar


def test_main_quiet_prints_only_the_last_epoch(tmp_path, capsys):
    _write_set(tmp_path)
    assert mnist.main(["--data", str(tmp_path), "--epochs", "3", "--seed", "1", "--quiet", "--dtype", "float32"]) == 0
    out, err = capsys.readouterr()
    assert [EPOCH_LINE.match(l).group(1) for l in out.splitlines()] == ["2"] and err == ""


def test_main_save_then_load_evaluates_the_same_network(tmp_path, capsys):
    _write_set(tmp_path / "d", n_train=30, n_test=40, seed=3)
    model = tmp_path / "m.json"
    argv = ["--data", str(tmp_path / "d"), "--epochs", "2", "--seed", "2", "--sizes", "784", "5", "10", "--save", str(model)]
    assert mnist.main(argv) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert mnist.main(["--data", str(tmp_path / "d"), "--load", str(model)]) == 0
    correct, n = EPOCH_LINE.match(last).group(2, 3)
    assert capsys.readouterr().out.strip() == f"Test: {correct} / {n}"


def test_main_offline_without_data_is_one_clean_message(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert mnist.main(["--epochs", "1", "--quiet"], fetch=_offline) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert err.startswith("error: no MNIST data") and "--data PATH" in err and "MNIST_DIR" in err
    assert str(tmp_path / "tinygrad-bp" / "mnist") in err and "network is unreachable" in err
    assert list((tmp_path / "tinygrad-bp" / "mnist").iterdir()) == []


@pytest.mark.parametrize(
    "extra,words",
    [
        (["--sizes", "100", "10"], "does not fit the data"),
        (["--sizes", "784", "30", "9"], "does not fit the data"),
        (["--load", "missing.json"], "cannot read the model"),
    ],
)
def test_main_bad_setup_is_one_clean_error(tmp_path, monkeypatch, capsys, extra, words):
    monkeypatch.chdir(tmp_path)
    _write_set(tmp_path / "d")
    epochs = [] if "--load" in extra else ["--epochs", "1"]  # --load refuses training options (a usage error)
    assert mnist.main(["--data", "d"] + epochs + extra, fetch=_never_fetch) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("error: ") and words in err and "Traceback" not in err


def test_main_corrupted_data_names_the_file(tmp_path, capsys):
    _write_set(tmp_path)
    p = tmp_path / (FILES["test_images"] + ".gz")
    p.write_bytes(p.read_bytes()[:-40])
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {p}:") and "Traceback" not in err


def test_main_plot_without_matplotlib_fails_before_training(tmp_path, monkeypatch, capsys):
    _write_set(tmp_path)
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert mnist.main(["--data", str(tmp_path), "--epochs", "1", "--plot", str(tmp_path / "c.png")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "matplotlib" in err and "pip install 'tinygrad-bp[plot]'" in err


def test_main_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    _write_set(tmp_path)
    assert mnist.main(["--data", str(tmp_path), "--epochs", "2", "--plot", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_main_progress_bar_only_on_a_terminal(tmp_path, monkeypatch):
    pytest.importorskip("tqdm", reason="tqdm is not installed")
    _write_set(tmp_path, n_train=60)
    argv = ["--data", str(tmp_path), "--epochs", "1", "--batch-size", "5", "--seed", "0"]
    term = _Terminal()
    monkeypatch.setattr("sys.stdout", term)
    assert mnist.main(argv) == 0
    assert "/10 [" in term.getvalue() and "\r" in term.getvalue()  # tqdm's bar over the 10 mini-batches
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stdout", pipe)
    assert mnist.main(argv) == 0
    assert "\r" not in pipe.getvalue() and EPOCH_LINE.match(pipe.getvalue().strip())


def test_main_ctrl_c_stops_saves_and_exits_with_one_line(tmp_path):
    import signal
    import subprocess
    import sys

    _write_set(tmp_path / "d", n_train=120)
    model = tmp_path / "m.json"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("MNIST_DIR", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # never used: --data is given
    proc = subprocess.Popen(
        [sys.executable, "-m", "nets.mnist", "--data", str(tmp_path / "d"), "--epochs", "1000000",
         "--batch-size", "1", "--seed", "0", "--save", str(model)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=Path(mnist.__file__).resolve().parents[1],
    )
    try:
        first = proc.stdout.readline()
        assert EPOCH_LINE.match(first.rstrip("\n")), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(
        r"Interrupted \(Ctrl-C\) (in epoch \d+ after mini-batch \d+ of 100|after epoch \d+); saved the network to .*m\.json\.",
        last), err
    assert "Traceback" not in err
    from nets import Network

    assert Network.load(model).sizes == [784, 30, 10]


@needs_mnist
def test_main_one_real_epoch_with_defaults_reaches_9000(capsys):
    assert mnist.main(["--data", MNIST_DIR, "--epochs", "1", "--seed", "0"], fetch=_never_fetch) == 0
    m = EPOCH_LINE.match(capsys.readouterr().out.strip())
    assert m and m.group(3) == "10000" and int(m.group(2)) >= 9000

"""The training command never loses a run and fails in one line; persistence and argument errors are the documented ones."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _mnist_files import write_set
from nets import SGD, Network, Sigmoid, init_params, mnist, one_hot
from nets.mnist import MNISTError

ROOT = Path(__file__).resolve().parents[1]


def _never_fetch(url: str, out: object) -> None:
    raise OSError("offline in tests")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = mnist.main(list(argv), fetch=_never_fetch)
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(code: int, out: str, err: str) -> str:
    # Progress lines (data:, seed:) may come first; the error is one line, the last.
    lines = err.strip().splitlines()
    assert code == 1 and "Traceback" not in err and lines[-1].startswith("error: "), err
    assert sum(line.startswith("error") for line in lines) == 1
    return lines[-1]


# ---------------------------------------------------------------------------------------------- outputs checked first
@pytest.mark.parametrize("where", ["missing-folder", "a-directory", "under-a-file", "read-only"])
@pytest.mark.parametrize("flag", ["--save", "--plot"])
def test_cli_bad_output_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, flag: str) -> None:
    if flag == "--plot":
        pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    write_set(tmp_path / "d")
    (tmp_path / "file").write_text("x")
    ext = ".json" if flag == "--save" else ".png"
    target = {"missing-folder": tmp_path / "no" / f"m{ext}", "a-directory": tmp_path, "under-a-file": tmp_path / "file" / f"m{ext}",
              "read-only": Path("/proc/sys") / f"m{ext}"}[where]
    if where == "read-only" and not Path("/proc/sys").is_dir():
        pytest.skip("no read-only /proc/sys here")
    code, out, err = _run(capsys, "--data", str(tmp_path / "d"), "--epochs", "1", flag, str(target))
    _one_line_error(code, out, err)
    assert "Epoch" not in out and flag in err


def test_cli_save_failing_after_training_keeps_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import nets.persistence as persistence

    write_set(tmp_path / "d")
    target = tmp_path / "m.json"
    real = persistence.write_json_atomic

    def disk_full(path, data):
        if os.path.realpath(path) == os.path.realpath(target):
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(persistence, "write_json_atomic", disk_full)
    code, out, err = _run(capsys, "--data", str(tmp_path / "d"), "--epochs", "1", "--seed", "0", "--save", str(target))
    err = _one_line_error(code, out, err)
    assert "Epoch 0" in out and "No space left" in err
    fallback = err.split("saved to ")[1].split(" instead")[0]
    try:
        assert Network.load(fallback).sizes == [784, 30, 10]
    finally:
        os.unlink(fallback)


# ---------------------------------------------------------------------------------------------- signals
_SLOW_RUN = ["--epochs", "100000",  # far more than 4 s even with the captured step; the signal ends it
             "--batch-size", "1", "--seed", "0", "--quiet"]


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_cli_sigterm_and_sighup_save_and_exit_like_ctrl_c(tmp_path: Path, signum: int, code: int) -> None:
    write_set(tmp_path / "d", n_train=300)
    model = tmp_path / "m.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "nets.mnist", "--data", str(tmp_path / "d"), "--save", str(model), *_SLOW_RUN],
        stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    time.sleep(4)  # loading and the first epochs
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == code, err
    assert f"Interrupted (by signal {signal.Signals(signum).name})" in err and "Traceback" not in err
    assert Network.load(model).sizes == [784, 30, 10]


def test_cli_ctrl_c_while_the_data_loads_exits_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import nets.mnist.command as command

    write_set(tmp_path / "d")
    real = command.find_data

    def slow_lookup(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(command, "find_data", slow_lookup)
    code, out, err = _run(capsys, "--data", str(tmp_path / "d"), "--epochs", "1")
    assert code == 130 and err.strip() == "Interrupted while loading the data." and out == ""


# ---------------------------------------------------------------------------------------------- one-line errors
def test_cli_negative_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        mnist.main(["--seed", "-1"])
    assert info.value.code == 2 and "expected an integer >= 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, words",
    [(["--lmbda", "1e308"], "lmbda"),
     (["--sizes", "784", "100000000", "10"], "100000000"),
     (["--load", "/dev/zero"], "not a regular file")],
    ids=["huge-lmbda", "huge-sizes", "dev-zero"],
)
def test_cli_bad_values_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list, words: str) -> None:
    write_set(tmp_path / "d")
    epochs = [] if "--load" in extra else ["--epochs", "1"]
    err = _one_line_error(*_run(capsys, "--data", str(tmp_path / "d"), *epochs, *extra))
    assert words in err


def test_cli_huge_model_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_set(tmp_path / "d")
    big = tmp_path / "big.json"
    big.write_text('{"sizes": [784, 10], "weights": [[' + "0, " * 3_000_000 + "0]]}")
    err = _one_line_error(*_run(capsys, "--data", str(tmp_path / "d"), "--load", str(big)))
    assert "can need" in err


def test_cli_unreadable_data_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write_set(tmp_path / "d")
    real = Path.is_file

    def denied(self: Path) -> bool:
        if self.parent == tmp_path / "d":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "is_file", denied)
    err = _one_line_error(*_run(capsys, "--data", str(tmp_path / "d"), "--epochs", "1"))
    assert "Permission denied" in err


def test_cli_unopenable_data_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    write_set(tmp_path / "d")
    real = os.open

    def denied(path, *args, **kwargs):
        if "t10k-images" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    err = _one_line_error(*_run(capsys, "--data", str(tmp_path / "d"), "--epochs", "1"))
    assert "t10k-images" in err and "Permission denied" in err


def test_cli_load_refuses_training_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        mnist.main(["--load", "m.json", "--epochs", "3", "--activation", "relu"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--epochs" in err and "--activation" in err


def test_cli_help_names_the_console_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/bin/nets-mnist", "--help"])
    assert mnist.build_parser().format_usage().startswith("usage: nets-mnist")
    monkeypatch.setattr(sys, "argv", ["/x/nets/mnist/__main__.py"])
    assert mnist.build_parser().format_usage().startswith("usage: python -m nets.mnist")


def test_library_lookup_speaks_of_arguments_not_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNIST_DIR", raising=False)
    with pytest.raises(mnist.MNISTNotFoundError) as info:
        mnist.load_data(cache_dir=tmp_path, fetch=_never_fetch, log=None)
    assert "--" not in str(info.value) and "data not given" in str(info.value)


# ---------------------------------------------------------------------------------------------- persistence
class Softsign(Sigmoid):
    """A custom activation (here: sigmoid under another name)."""


class MyCost:
    name = "MyCost"

    @staticmethod
    def fn(a, y):
        from nets import QuadraticCost

        return QuadraticCost.fn(a, y)

    @staticmethod
    def delta(z, a, y):
        return a - y


def test_persistence_custom_activation_and_cost_save_and_load_the_same_way(tmp_path: Path) -> None:
    for kwargs, arg, name in (({"activation": Softsign}, "activation", "Softsign"), ({"cost": MyCost}, "cost", "MyCost")):
        net = Network([3, 2], seed=0, **kwargs)
        path = tmp_path / f"{arg}.json"
        net.save(path)  # both save
        with pytest.raises(ValueError, match=rf"names the {arg} '{name}', which is neither built in nor the {arg}= class"):
            Network.load(path)
        loaded = Network.load(path, **kwargs)
        np.testing.assert_array_equal(loaded.feedforward(np.ones((3, 1))), net.feedforward(np.ones((3, 1))))


def test_persistence_mode_is_what_open_gives(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        Network([2, 1], seed=0).save(tmp_path / "new.json")
    finally:
        os.umask(old)
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o640
    existing = tmp_path / "existing.json"
    existing.write_text("{}")
    existing.chmod(0o600)
    Network([2, 1], seed=0).save(existing)
    assert existing.stat().st_mode & 0o777 == 0o600


def test_persistence_save_follows_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "real" / "net.json")
    Network([2, 1], seed=0).save(link)
    assert link.is_symlink() and (tmp_path / "real" / "net.json").is_file()
    assert Network.load(link).sizes == [2, 1]


def test_persistence_long_file_name_saves(tmp_path: Path) -> None:
    path = tmp_path / ("n" * 245 + ".json")
    Network([2, 1], seed=0).save(path)
    assert Network.load(path).sizes == [2, 1] and sorted(os.listdir(tmp_path)) == [path.name]


def test_persistence_stale_temporaries_of_the_target_are_removed(tmp_path: Path) -> None:
    from nets.persistence import _tmp_stem

    target = tmp_path / "net.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{_tmp_stem(str(target))}.{int(dead.stdout)}.abcd1234.tmp"
    stale.write_text("half")
    other = tmp_path / f"{_tmp_stem(str(tmp_path / 'other.json'))}.{int(dead.stdout)}.abcd1234.tmp"
    other.write_text("another target's")
    Network([2, 1], seed=0).save(target)
    assert not stale.exists() and other.exists()


# ---------------------------------------------------------------------------------------------- argument kinds
@pytest.mark.parametrize(
    "call, error, words",
    [(lambda: SGD(53, 0.1), TypeError, "SGD: params must be an iterable of Tensors"),
     (lambda: init_params(1), TypeError, "init_params: sizes must be a sequence of ints"),
     (lambda: one_hot([[1], [2, 3]], 4), ValueError, "one_hot: labels is not a rectangular array"),
     (lambda: Network(np.ma.array([2, 3], mask=[0, 1])), TypeError, "Network: sizes must be a sequence of ints, got a masked"),
     (lambda: Network([784, 10**8, 10]), ValueError, "cannot fit in memory")],
    ids=["sgd-int", "init-int", "ragged-labels", "masked-sizes", "huge-sizes"],
)
def test_public_functions_give_the_documented_errors(call, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        call()

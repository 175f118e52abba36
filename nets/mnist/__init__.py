"""MNIST for ``nets``: IDX and ``mnist.pkl.gz`` readers, data lookup with a verified download, and the training command.

Run ``python -m nets.mnist --help`` (or the ``nets-mnist`` console script) for the command.  The data layer is usable
on its own::

    from nets import mnist
    training_data, validation_data, test_data = mnist.load_data_wrapper()   # Nielsen's lists of (x, y) pairs
    (X, y), (X_val, y_val), (X_test, y_test) = mnist.load_data()          # arrays: X (N, 784), y (N,)

One module per job: :mod:`.idx` (the IDX format), :mod:`.safe_pickle` (Nielsen's pickle, parsed, never
unpickled), :mod:`.fetch` (lookup, cache, download), :mod:`.data` (the splits), :mod:`.cli` (the command's
arguments and errors) and :mod:`.command` (what a run does).
"""
from .cli import build_parser, main
from .data import load_data, load_data_wrapper, load_idx_folder, load_pickle
from .errors import MNISTError, MNISTNotFoundError
from .fetch import CHECKSUMS, MIRRORS, default_cache_dir, download, find_data
from .idx import FILES, MAX_BYTES, read_idx, write_idx
from ..expand import expand_data

__all__ = [
    "expand_data",
    "MNISTError",
    "MNISTNotFoundError",
    "FILES",
    "MIRRORS",
    "CHECKSUMS",
    "build_parser",
    "read_idx",
    "write_idx",
    "load_idx_folder",
    "load_pickle",
    "load_data",
    "load_data_wrapper",
    "find_data",
    "default_cache_dir",
    "download",
    "main",
]

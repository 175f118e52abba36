"""The pieces of ``Network.SGD`` around the step: argument checks, the per-epoch monitors, and the η schedule.

- :class:`Monitors` is network2's four monitors (cost and accuracy on the training and evaluation
  data) as one table, evaluated and printed once per epoch in network2's order;
- :class:`Plateau` is the "no improvement in k epochs" rule: it halves the optimizer's learning
  rate (``opt.lr``, nothing else) and decides early stopping.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from .checks import count, is_number

__all__ = ["TrainingDivergedError", "diverged", "check_sgd_args", "Monitors", "Plateau"]


class TrainingDivergedError(FloatingPointError):
    """Return the error ``Network.SGD`` raises when the cost of a mini-batch is NaN or infinite.

    The message gives the epoch, the mini-batch and η, and advises a smaller η.  By then the
    parameters hold the result of the step that overflowed, so reload or re-initialise the net.

    Examples
    --------
    >>> import numpy as np
    >>> from nets import Network, TrainingDivergedError
    >>> net = Network([2, 1], seed=0)
    >>> net.weights[0][...] = np.nan
    >>> try:
    ...     net.SGD((np.ones((4, 2)), np.ones((4, 1))), 1, 2, 3.0, verbose=False)
    ... except TrainingDivergedError as e:
    ...     print(str(e).split(";")[0])
    Network.SGD: training diverged: the cost is nan in epoch 0, mini-batch 1 of 2
    """


def diverged(who: str, cost: float, eta: float, where: str = "") -> TrainingDivergedError:
    """Return the TrainingDivergedError for a NaN or infinite ``cost`` at ``where`` (e.g. "in epoch 0, ...").

    Examples
    --------
    >>> from nets.training import diverged
    >>> str(diverged("Network.update_mini_batch", float("inf"), 3.0)).split(";")[0]
    'Network.update_mini_batch: training diverged: the cost is inf'
    """
    at = f" {where}" if where else ""
    return TrainingDivergedError(
        f"{who}: training diverged: the cost is {cost}{at}; the learning rate η = {eta:g} is too large for this "
        f"network: lower it (try η = {eta / 10:g}) and train again from a fresh or saved network"
    )


def check_sgd_args(
    epochs: Any, mini_batch_size: Any, eta: Any, lmbda: Any, l1: Any, evaluation_data: Any,
    monitor_evaluation: bool, patience: dict[str, Any],
) -> None:
    """Return nothing if ``Network.SGD``'s scalar arguments are valid; otherwise raise naming the argument.

    Examples
    --------
    >>> from nets.training import check_sgd_args
    >>> try:
    ...     check_sgd_args(1, 10, 3.0, 0.0, 0.0, None, False, {"early_stop": 2})
    ... except ValueError as e:
    ...     print(e)
    Network.SGD: early_stop watches the accuracy on evaluation_data; pass evaluation_data
    """
    who = "Network.SGD"
    if not is_number(lmbda):
        raise TypeError(
            f"{who}: lmbda must be a number, got {type(lmbda).__name__}; "
            "pass test data by name: SGD(training_data, epochs, mini_batch_size, eta, test_data=...)"
        )
    if not is_number(eta):
        raise TypeError(f"{who}: eta must be a number, got {type(eta).__name__}")
    for name, value, low in (("epochs", epochs, 0), ("mini_batch_size", mini_batch_size, 1)):
        try:
            count(value, who, name, low)
        except TypeError as e:  # historically a ValueError: keep one exception type for a bad count
            raise ValueError(str(e)) from None
    if monitor_evaluation and evaluation_data is None:
        raise ValueError(f"{who}: monitoring the evaluation data needs evaluation_data")
    if not is_number(l1) or l1 < 0:
        raise ValueError(f"{who}: l1 must be a number >= 0, got {l1!r}")
    for name, value in patience.items():
        if value is None:
            continue
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{who}: {name} must be None or an int >= 1 (epochs), got {value!r}")
        if evaluation_data is None:
            raise ValueError(f"{who}: {name} watches the accuracy on evaluation_data; pass evaluation_data")


class _Monitor(NamedTuple):
    key: str  # the info key, e.g. "training_cost"
    data: tuple[np.ndarray, np.ndarray]  # X and one-hot targets (cost) or labels (accuracy)
    measure: Callable[..., Any]
    line: str  # network2's printed line, formatted with the value and the data's size


class Monitors:
    """A table of network2's per-epoch monitors, evaluated in network2's print order.

    Parameters
    ----------
    cost, count_correct : callable
        ``cost(X, Y)`` (the regularised total cost on one-hot targets) and ``count_correct(X, labels)``.
    training, evaluation : (X, Y, labels) or None
        The data sets; Y are one-hot targets, ``labels`` the int classes.
    flags : dict
        Which monitors are on: ``training_cost``, ``training_accuracy``, ``evaluation_cost``,
        ``evaluation_accuracy``.

    Examples
    --------
    >>> import numpy as np
    >>> from nets.training import Monitors
    >>> X, Y = np.zeros((2, 1)), np.eye(2)
    >>> m = Monitors(lambda X, Y: 0.5, lambda X, t: 1, (X, Y, np.array([0, 1])), None,
    ...              {"training_cost": True, "training_accuracy": True})
    >>> m.run({}, verbose=True)
    Cost on training data: 0.5
    Accuracy on training data: 1 / 2
    >>> m.history["training_accuracy"]
    [1]
    """

    ORDER = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")

    def __init__(
        self,
        cost: Callable[[np.ndarray, np.ndarray], float],
        count_correct: Callable[[np.ndarray, np.ndarray], int],
        training: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        evaluation: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        flags: dict[str, bool],
    ) -> None:
        self.history: dict[str, list[Any]] = {key: [] for key in self.ORDER}
        self._count_correct = count_correct
        self._evaluation = evaluation
        self._table: list[_Monitor] = []
        for key in self.ORDER:
            if not flags.get(key):
                continue
            which, kind = key.split("_")
            X, Y, labels = training if which == "training" else evaluation  # type: ignore[misc]
            if kind == "cost":
                self._table.append(_Monitor(key, (X, Y), cost, f"Cost on {which} data: {{}}"))
            else:
                self._table.append(_Monitor(key, (X, labels), count_correct, f"Accuracy on {which} data: {{}} / {len(X)}"))

    def run(self, info: dict[str, Any], verbose: bool) -> None:
        """Return nothing; evaluate every monitor that is on, record it in ``info`` and the history, and print it."""
        for mon in self._table:
            value = mon.measure(*mon.data)
            self.history[mon.key].append(value)
            info[mon.key] = value
            if verbose:
                print(mon.line.format(value))

    def evaluation_accuracy(self, info: dict[str, Any]) -> int:
        """Return this epoch's accuracy on the evaluation data, from ``info`` or counted now (and recorded)."""
        if info.get("evaluation_accuracy") is None:
            X, _, labels = self._evaluation  # type: ignore[misc]
            info["evaluation_accuracy"] = self._count_correct(X, labels)
        return info["evaluation_accuracy"]

    def results(self) -> tuple[list[float], list[int], list[float], list[int]]:
        """Return network2's four lists: evaluation cost, evaluation accuracy, training cost, training accuracy."""
        h = self.history
        return h["evaluation_cost"], h["evaluation_accuracy"], h["training_cost"], h["training_accuracy"]


class Plateau:
    """A watcher of the evaluation accuracy that halves ``opt.lr`` and stops training when it stops improving.

    network2's "no improvement in n epochs" rule: after ``eta_schedule`` epochs in a row without a
    new best accuracy the learning rate is halved (and the count restarts); after ``early_stop``
    such epochs training stops.  Only the optimizer's ``lr`` changes: weight decay and L1 are kept
    relative to it, so the step stays network2's w ← (1 − ηλ/n)·w − η·∂C/∂w at the new η.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from nets.training import Plateau
    >>> opt = SimpleNamespace(lr=1.0)
    >>> p = Plateau(opt, eta_schedule=1, early_stop=3)
    >>> [p.update(acc, verbose=False) for acc in (5, 4, 4, 4)], opt.lr
    ([None, None, None, 'early stop: no improvement in evaluation accuracy for 3 epochs'], 0.25)
    """

    def __init__(self, opt: Any, eta_schedule: int | None, early_stop: int | None) -> None:
        self.opt = opt
        self.eta_schedule, self.early_stop = eta_schedule, early_stop
        self.best, self.since_best, self.since_change = -1, 0, 0

    @property
    def active(self) -> bool:
        """Return whether either rule is on (so the evaluation accuracy must be measured every epoch)."""
        return self.eta_schedule is not None or self.early_stop is not None

    def update(self, accuracy: int, verbose: bool) -> str | None:
        """Return why training should stop after an epoch with this evaluation ``accuracy``, or None."""
        if accuracy > self.best:
            self.best, self.since_best, self.since_change = accuracy, 0, 0
            return None
        self.since_best += 1
        self.since_change += 1
        if self.early_stop is not None and self.since_best >= self.early_stop:
            reason = f"early stop: no improvement in evaluation accuracy for {self.early_stop} epochs"
            if verbose:
                print(reason.capitalize())
            return reason
        if self.eta_schedule is not None and self.since_change >= self.eta_schedule:
            self.opt.lr /= 2  # takes effect from the next epoch's first step
            self.since_change = 0
            if verbose:
                print(f"No improvement in {self.eta_schedule} epochs: eta halved to {self.opt.lr:g}")
        return None

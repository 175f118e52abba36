"""Temporary: the main Network moved to nets.mlp (replaced by the network.py drop-in in a later commit)."""
from .mlp import Network, load, one_hot
from .training import TrainingDivergedError

__all__ = ["Network", "TrainingDivergedError", "load", "one_hot"]

"""nets: Nielsen's sigmoid MLP with quadratic cost and SGD, trained by tinygrad_bp's autodiff.

Examples
--------
>>> import numpy as np
>>> from nets import Network, QuadraticCost
>>> net = Network([4, 3, 2], cost=QuadraticCost, seed=0)
>>> net.feedforward(np.zeros((4, 1))).shape
(2, 1)
"""
from .costs import COSTS, CrossEntropyCost, QuadraticCost, get_cost
from .init import init_params
from .layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Layer, Module
from .mlp import Network, load
from .checks import one_hot
from .training import TrainingDivergedError
from .optim import SGD
from .adam import Adam
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .dropout import Dropout
from .softmax import LogLikelihoodCost, Softmax

__all__ = [
    "Module",
    "Layer",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "Sequential",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Dropout",
    "Softmax",
    "LogLikelihoodCost",
    "QuadraticCost",
    "CrossEntropyCost",
    "COSTS",
    "get_cost",
    "SGD",
    "Adam",
    "init_params",
    "Network",
    "TrainingDivergedError",
    "load",
    "one_hot",
]

"""tinygrad_bp: a small reverse-mode automatic differentiation library on numpy.

Examples
--------
>>> from tinygrad_bp import Tensor
>>> w = Tensor([[1.0], [2.0]], requires_grad=True)
>>> x = Tensor([[3.0, 4.0]])
>>> (x @ w).sigmoid().sum().backward()
>>> w.grad.shape
(2, 1)
"""
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad
from .autograd import grad
from .function import Function, register, register_binary
from . import ops as _ops  # noqa: F401  (registers the primitives as Tensor methods)
from .fused import linear, quadratic_cost
from .composites import concatenate, stack
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .functional import hessian, hvp
from .conv import avg_pool2d, conv2d, max_pool2d

__all__ = [
    "Tensor",
    "Function",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "grad",
    "register",
    "register_binary",
    "concatenate",
    "stack",
    "linear",
    "quadratic_cost",
    "gradcheck",
    "gradgradcheck",
    "hvp",
    "hessian",
    "GradcheckError",
    "detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
]
__version__ = "0.1.0"

"""Image layers: `Conv2d`, `MaxPool2d`, `AvgPool2d` and `Flatten`, on (N, C, H, W) batches.

Each is a thin `Module` over tinygrad_bp's `conv2d` / `max_pool2d` / `avg_pool2d`, so its gradient
comes from those ops' backwards and is checked by ``assert_layer_conforms`` like any user layer.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_bp import Tensor, avg_pool2d, conv2d, max_pool2d

from .init import as_generator
from .module import Module

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


def _positive_int(value: Any, who: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return int(value)


def _kernel(value: Any, who: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{who}: kernel_size must be an int or a pair of ints, got {value!r}")
    return _positive_int(pair[0], who, "kernel_size"), _positive_int(pair[1], who, "kernel_size")


def _float_dtype(dtype: Any, who: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{who}: dtype must be a float dtype, got {dtype!r}") from None
    if dt.kind != "f":
        raise TypeError(f"{who}: dtype must be a float dtype, got {dt}")
    return dt


class Conv2d(Module):
    """A 2-D convolution layer (cross-correlation, as PyTorch's ``nn.Conv2d``) with a bias per filter.

    Parameters
    ----------
    in_channels, out_channels : int
        C and F: w is (F, C, kh, kw), b is (F,).
    kernel_size : int or (int, int)
    stride, padding : int or (int, int)
        As in :func:`tinygrad_bp.conv2d`.
    init : {"default", "zeros"}
        ``"default"``: w ~ N(0, 1/fan_in) with fan_in = C·kh·kw (network2's scaling carried to filters)
        and b = 0; ``"zeros"``: both zero.
    rng : int, numpy Generator or None
    dtype : numpy float dtype

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.conv import Conv2d
    >>> layer = Conv2d(1, 4, 3, padding=1, rng=0)
    >>> layer(Tensor(np.zeros((2, 1, 5, 5)))).shape
    (2, 4, 5, 5)
    >>> layer
    Conv2d(1, 4, kernel_size=(3, 3), stride=1, padding=1)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        *,
        init: str = "default",
        rng: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        who = "Conv2d"
        c = _positive_int(in_channels, who, "in_channels")
        f = _positive_int(out_channels, who, "out_channels")
        kh, kw = _kernel(kernel_size, who)
        dt = _float_dtype(dtype, who)
        if init not in ("default", "zeros"):
            raise ValueError(f"{who}: init must be 'default' or 'zeros', got {init!r}")
        fan_in = c * kh * kw
        if init == "zeros":
            w = np.zeros((f, c, kh, kw), dtype=dt)
        else:
            w = (as_generator(rng).standard_normal((f, c, kh, kw)) / np.sqrt(fan_in)).astype(dt)
        self.w = Tensor(w, requires_grad=True)
        self.b = Tensor(np.zeros(f, dtype=dt), requires_grad=True)
        self.stride, self.padding = stride, padding

    def forward(self, x: Tensor) -> Tensor:
        """Return conv2d(x, w, b) for x of shape (N, C, H, W).

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.conv import Conv2d
        >>> layer = Conv2d(1, 1, 2, init="zeros")
        >>> layer.w.data[:] = 1.0
        >>> layer.forward(Tensor(np.ones((1, 1, 3, 3)))).numpy()[0, 0]
        array([[4., 4.],
               [4., 4.]])
        """
        return conv2d(x, self.w, self.b, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        f, c, kh, kw = self.w.data.shape
        dt = self.w.data.dtype
        text = f"{c}, {f}, kernel_size={(kh, kw)}, stride={self.stride}, padding={self.padding}"
        return text + ("" if dt == np.float64 else f", dtype={dt}")


class MaxPool2d(Module):
    """A max-pooling layer over (N, C, H, W) windows; ``stride`` defaults to ``kernel_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.conv import MaxPool2d
    >>> MaxPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        """Return the maximum of each window.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.conv import MaxPool2d
        >>> MaxPool2d(2).forward(Tensor(np.ones((1, 3, 4, 4)))).shape
        (1, 3, 2, 2)
        """
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """An average-pooling layer over (N, C, H, W) windows; ``stride`` defaults to ``kernel_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.conv import AvgPool2d
    >>> AvgPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    def forward(self, x: Tensor) -> Tensor:
        """Return the mean of each window.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.conv import AvgPool2d
        >>> AvgPool2d(2).forward(Tensor(np.ones((1, 1, 4, 4)))).numpy()[0, 0].tolist()
        [[1.0, 1.0], [1.0, 1.0]]
        """
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """A layer reshaping (N, d1, d2, …) to (N, d1·d2·…), between image layers and `Linear`.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor
    >>> from nets.conv import Flatten
    >>> Flatten()(Tensor(np.zeros((2, 3, 4, 4)))).shape
    (2, 48)
    """

    def forward(self, x: Tensor) -> Tensor:
        """Return x with every axis after the first merged into one.

        Examples
        --------
        >>> import numpy as np
        >>> from tinygrad_bp import Tensor
        >>> from nets.conv import Flatten
        >>> Flatten().forward(Tensor(np.zeros((1, 2, 2)))).shape
        (1, 4)
        """
        if x.ndim < 1:
            raise ValueError(f"Flatten: expected a batch with a leading axis, got shape {x.shape}")
        return x.reshape((x.shape[0], -1))

"""Convolution and pooling on (N, C, H, W) batches: a sliding-window view plus one matmul.

``Windows`` turns each image into its receptive fields, (N, C, H_out, W_out, kh, kw), as a strided view of
the padded input; its adjoint ``WindowsAdjoint`` scatter-adds windows back onto the image (col2im), one
strided slice per kernel offset, so no Python loop ever runs over pixels.  The two are each other's
backward, which keeps everything built on them differentiable to any order.  ``Conv2d`` is one node
whose backward is two matmuls and that adjoint; the poolings are plain functions of ``Windows``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .function import Function
from .tensor import Tensor

__all__ = ["conv2d", "max_pool2d", "avg_pool2d"]

Pair = tuple[int, int]


# ============================================================================ settings
def _pair(value: Any, name: str, op: str, minimum: int) -> Pair:
    """Return an int or a pair of ints as a pair, each at least ``minimum``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _out_size(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def _check_image(x: Tensor, op: str, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected an input of shape (N, C, H, W), got shape {x.shape}")
    for size, k, s, p, d, side in zip(x.shape[2:], kernel, stride, padding, dilation, ("height", "width")):
        if _out_size(size, k, s, p, d) < 1:
            raise ValueError(
                f"{op}: the kernel (size {kernel}, dilation {dilation}) is larger than the input's padded {side} "
                f"{size + 2 * p} (input shape {x.shape}, padding {padding})"
            )


# ============================================================================ windows and their adjoint
def _window_view(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, value: float) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    view = np.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def _window_sum(g: np.ndarray, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """Return windows ``g`` (N, C, Ho, Wo, kh, kw) added back onto an image of ``shape`` (col2im)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = shape
    ho, wo = g.shape[2:4]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    # One strided slice per kernel offset (kh·kw of them): every pixel of a slice is added at once.
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            out[:, :, rows, cols] += g[:, :, :, :, i, j]
    return out[:, :, ph : ph + h, pw : pw + w]


class Windows(Function):
    """The receptive fields of an (N, C, H, W) batch as (N, C, H_out, W_out, kh, kw): a strided view."""

    __slots__ = ()

    def forward(ctx, x, kernel, stride, padding, dilation, value=0.0):
        ctx.saved = (x.shape, kernel, stride, padding, dilation)
        return _window_view(x, kernel, stride, padding, dilation, value)

    def backward(ctx, grad_out):
        shape, *settings = ctx.saved
        return (_windows_adjoint(grad_out, shape, *settings),)


class WindowsAdjoint(Function):
    """Windows (N, C, H_out, W_out, kh, kw) summed back onto an (N, C, H, W) image: the adjoint of Windows."""

    __slots__ = ()

    def forward(ctx, g, shape, kernel, stride, padding, dilation):
        ctx.saved = (kernel, stride, padding, dilation)
        return _window_sum(g, shape, kernel, stride, padding, dilation)

    def backward(ctx, grad_out):
        return (_windows(grad_out, *ctx.saved),)


def _windows(x: Any, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Any:
    if isinstance(x, np.ndarray):
        return _window_view(x, kernel, stride, padding, dilation, 0.0)
    return Windows.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


def _windows_adjoint(g: Any, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Any:
    if isinstance(g, np.ndarray):
        return _window_sum(g, shape, kernel, stride, padding, dilation)
    return WindowsAdjoint.apply(g, shape=shape, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


# ============================================================================ convolution
def _columns(win: Any) -> Any:
    """Return windows (N, C, Ho, Wo, kh, kw) as the im2col matrix (N·Ho·Wo, C·kh·kw)."""
    n, c, ho, wo, kh, kw = win.shape
    return win.transpose((0, 2, 3, 1, 4, 5)).reshape((n * ho * wo, c * kh * kw))


class Conv2d(Function):
    """Cross-correlation of x (N, C, H, W) with w (F, C, kh, kw), plus an optional bias b (F,), in one node."""

    __slots__ = ()

    def forward(ctx, x, w, b=None, *, stride, padding, dilation):
        f, kernel = w.shape[0], w.shape[2:]
        cols = _columns(_window_view(x, kernel, stride, padding, dilation, 0.0))  # a copy, laid out for the matmul
        z = cols @ w.reshape((f, -1)).T  # (N·Ho·Wo, F)
        if b is not None:
            z += b
        n = x.shape[0]
        ho, wo = _out_size(x.shape[2], kernel[0], stride[0], padding[0], dilation[0]), _out_size(
            x.shape[3], kernel[1], stride[1], padding[1], dilation[1]
        )
        ctx.saved = (x, w, cols, (stride, padding, dilation))
        return np.ascontiguousarray(z.reshape((n, ho, wo, f)).transpose((0, 3, 1, 2)))

    def backward(ctx, grad_out):
        x, w, cols, (stride, padding, dilation) = ctx.saved
        need = ctx.needs_input_grad
        f, c, kh, kw = w.shape
        n, _, ho, wo = grad_out.shape
        g = grad_out.transpose((0, 2, 3, 1)).reshape((n * ho * wo, f))  # δ as rows, one per output pixel
        gx = gw = None
        if need[0]:
            # Each output pixel's δ, spread over its window by the kernel, then the windows summed back (col2im).
            gcols = (g @ w.reshape((f, c * kh * kw))).reshape((n, ho, wo, c, kh, kw)).transpose((0, 3, 1, 2, 4, 5))
            gx = _windows_adjoint(gcols, x.shape, (kh, kw), stride, padding, dilation)
        if need[1]:
            if isinstance(x, Tensor):  # under create_graph the columns must be recorded as a function of x
                cols = _columns(_windows(x, (kh, kw), stride, padding, dilation))
            gw = (g.T @ cols).reshape((f, c, kh, kw))
        if len(need) == 2:
            return gx, gw
        return gx, gw, (grad_out.sum(axis=(0, 2, 3)) if need[2] else None)


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """Return the 2-D convolution (cross-correlation, as in PyTorch) of a batch with a bank of filters.

    Parameters
    ----------
    x : Tensor (N, C, H, W)
    w : Tensor (F, C, kh, kw)
    b : Tensor (F,), optional
    stride, padding, dilation : int or (int, int)
        Step between windows, zeros added on each side, and spacing of the kernel's taps.
    groups : int
        Only 1 is supported.

    Returns
    -------
    Tensor (N, F, H_out, W_out), with H_out = (H + 2·padding − dilation·(kh − 1) − 1) // stride + 1.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, conv2d
    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    >>> w = Tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    >>> z = conv2d(x, w, padding=1)
    >>> z.shape
    (1, 2, 4, 4)
    >>> z.sum().backward()
    >>> x.grad[0, 0, 0]
    array([ 8., 12., 12.,  8.])
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    w = w if isinstance(w, Tensor) else Tensor(w)
    if groups != 1:
        raise ValueError(f"conv2d: only groups=1 is supported, got groups={groups!r}")
    if w.ndim != 4:
        raise ValueError(f"conv2d: expected a weight of shape (F, C, kh, kw), got shape {w.shape}")
    stride, padding, dilation = (
        _pair(stride, "stride", "conv2d", 1),
        _pair(padding, "padding", "conv2d", 0),
        _pair(dilation, "dilation", "conv2d", 1),
    )
    _check_image(x, "conv2d", w.shape[2:], stride, padding, dilation)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input of shape {x.shape} has {x.shape[1]} channels but weight of shape {w.shape} expects {w.shape[1]}")
    if x.dtype != w.dtype:
        raise TypeError(f"conv2d: input dtype {x.dtype} and weight dtype {w.dtype} differ")
    settings = {"stride": stride, "padding": padding, "dilation": dilation}
    if b is None:
        return Conv2d.apply(x, w, **settings)
    b = b if isinstance(b, Tensor) else Tensor(b, dtype=w.dtype)
    if b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias of shape {b.shape} does not fit weight of shape {w.shape}; expected ({w.shape[0]},)")
    return Conv2d.apply(x, w, b, **settings)


# ============================================================================ pooling (composites of Windows)
def _pool_settings(x: Any, kernel_size: Any, stride: Any, padding: Any, op: str) -> tuple[Tensor, dict[str, Pair]]:
    x = x if isinstance(x, Tensor) else Tensor(x)
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    _check_image(x, op, kernel, stride, padding, (1, 1))
    return x, {"kernel": kernel, "stride": stride, "padding": padding, "dilation": (1, 1)}


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Return the maximum of each window of an (N, C, H, W) batch; tied maxima share the gradient.

    ``stride`` defaults to ``kernel_size``; padding (at most half the kernel) never wins the maximum.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, max_pool2d
    >>> max_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    x, settings = _pool_settings(x, kernel_size, stride, padding, "max_pool2d")
    win = Windows.apply(x, value=-np.inf, **settings)
    return win.max(axis=(4, 5))


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Return the mean of each window of an (N, C, H, W) batch (zero padding counts, as PyTorch's default).

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_bp import Tensor, avg_pool2d
    >>> avg_pool2d(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x, settings = _pool_settings(x, kernel_size, stride, padding, "avg_pool2d")
    return Windows.apply(x, **settings).mean(axis=(4, 5))

"""Tests for a user-defined op (Softplus) and two layers (SoftplusLayer, a seeded Dropout).

This file is the code of docs/extending.md, joined: copy it, then replace the definitions with imports of your own.
"""
import numpy as np
import pytest
from hypothesis import given, settings

from nets import Module
from tinygrad_bp import Function, GradcheckError, Tensor, gradcheck
from tinygrad_bp.testing import ConformanceError, arrays, assert_layer_conforms, shapes

def _sigmoid(v):
    # Under backward(create_graph=True) the saved input comes back as a Tensor: keep to Tensor ops then, so
    # the second derivative is recorded too.  On arrays, σ(v) = exp(−softplus(−v)) never overflows.
    if isinstance(v, Tensor):
        return v.sigmoid()
    return np.exp(-np.logaddexp(0.0, -v))


class Softplus(Function):
    """Return softplus(x) = ln(1 + eˣ) elementwise, a smooth ReLU whose derivative is σ(x)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)  # ln(e⁰ + eˣ), without overflow

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * _sigmoid(x),)


def softplus(x):
    """Return softplus of a Tensor (the op's plain-function form)."""
    return Softplus.apply(x)

class SoftplusLayer(Module):
    """Return softplus as a layer, to use in Sequential in place of Sigmoid."""

    def forward(self, z):
        return Softplus.apply(z)


class Dropout(Module):
    """Return inverted dropout with a seeded mask: keep each unit with probability 1 − p and scale it by 1/(1 − p).

    The mask is drawn at the first call after ``resample()`` and reused until the next one, so a training
    loop calls ``resample()`` once per mini-batch, and a gradient check, which calls the layer many times,
    sees one fixed function.  With ``training = False`` the layer is the identity.
    """

    def __init__(self, p, seed=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self._rng = np.random.default_rng(seed)
        self._mask = None

    def resample(self):
        self._mask = None

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self._mask is None or self._mask.shape != x.shape:
            self._mask = (self._rng.random(x.shape) >= self.p) / (1.0 - self.p)
        return x * Tensor(self._mask.astype(x.dtype))  # composed from Mul: no backward to write

@settings(max_examples=30, deadline=None)
@given(arrays(shapes(min_dims=1, max_dims=3)))
def test_softplus_gradient_matches_finite_differences(x):
    assert gradcheck(softplus, Tensor(x, requires_grad=True))


def test_softplus_conforms_to_first_and_second_order():
    assert_layer_conforms(Softplus, input_shapes=[(3, 4)])
    assert_layer_conforms(Softplus, input_shapes=[(3, 4)], order=2)


def test_layers_conform():
    assert_layer_conforms(SoftplusLayer(), input_shapes=[(5, 3)])
    assert_layer_conforms(Dropout(0.5, seed=0), input_shapes=[(5, 3)])


def test_dropout_keeps_1_minus_p_of_the_units_and_the_mean():
    out = Dropout(0.25, seed=0)(Tensor(np.ones((200, 50)))).numpy()
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.02
    assert np.allclose(out[kept], 1 / 0.75)


def test_dropout_is_seeded_and_resample_draws_a_new_mask():
    x = Tensor(np.ones((4, 6)))
    a, b = Dropout(0.5, seed=1), Dropout(0.5, seed=1)
    first = a(x).numpy()
    assert np.array_equal(first, b(x).numpy())
    assert np.array_equal(first, a(x).numpy())
    a.resample()
    assert not np.array_equal(first, a(x).numpy())


def test_dropout_is_the_identity_when_not_training():
    layer = Dropout(0.5, seed=0)
    layer.training = False
    x = Tensor(np.arange(6.0))
    assert layer(x) is x


# Negative controls: a wrong backward, and a mask redrawn on every call, must fail the same checks.
class WrongSoftplus(Softplus):
    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return (grad_out * _sigmoid(-x),)  # σ(−x) = 1 − σ(x): a plausible slip


class RedrawingDropout(Dropout):
    def forward(self, x):
        self.resample()
        return super().forward(x)


def test_the_checks_catch_a_wrong_backward():
    with pytest.raises(GradcheckError):
        gradcheck(WrongSoftplus.apply, Tensor(np.linspace(-2, 2, 7), requires_grad=True))
    with pytest.raises(ConformanceError):
        assert_layer_conforms(WrongSoftplus, input_shapes=[(3, 4)])


def test_the_checks_catch_a_mask_redrawn_on_every_call():
    with pytest.raises(ConformanceError):
        assert_layer_conforms(RedrawingDropout(0.5, seed=0), input_shapes=[(5, 3)])

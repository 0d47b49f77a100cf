"""Ops private to ``autonn.nn``: the binary cross-entropies (stable forward, PyTorch's gradients)
and the Function behind ``Lambda(fn, derivative)``.

Like every autonn op, the gradient rules are written in autonn ops, so they differentiate again.
"""
import numpy as np

from ..engine import is_grad_enabled
from ..function import Function
from ..ops.activation import sigmoid
from ..ops.base import Op
from ..ops.elementwise import clip, log, maximum
from ..tensor import Tensor

_BCE_EPS = 1e-12  # PyTorch's floor on x (1 - x) in binary_cross_entropy's gradient


class BinaryCrossEntropy(Op):
    """``-(t log x + (1 - t) log(1 - x))`` elementwise, each log clamped at -100 as PyTorch;
    the gradient is ``(x - t) / max(x (1 - x), 1e-12)``, PyTorch's formula."""
    __slots__ = ()

    def forward(self, x, t):
        with np.errstate(divide="ignore", invalid="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        return -(t * log_x + (1 - t) * log_1mx)

    def vjp(self, g, out, x, t):
        gx = gt = None
        if x.requires_grad:
            gx = g * (x - t) / maximum(x * (1 - x), _BCE_EPS)
        if t.requires_grad:
            with np.errstate(divide="ignore"):
                gt = g * (clip(log(1 - x), -100) - clip(log(x), -100))
        return gx, gt


class BinaryCrossEntropyWithLogits(Op):
    """``max(x, 0) - x t + log(1 + exp(-|x|))`` elementwise: ``BCE(sigmoid(x), t)`` without
    overflow; the gradient is ``sigmoid(x) - t`` (and ``-x`` for the target)."""
    __slots__ = ()

    def forward(self, x, t):
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    def vjp(self, g, out, x, t):
        gx = g * (sigmoid(x) - t) if x.requires_grad else None
        gt = -g * x if t.requires_grad else None
        return gx, gt


def _derivative_values(derivative, x):
    """``derivative`` at the input Tensor ``x``.

    It is evaluated on the array first. A NumPy derivative gives an array: the gradient is then
    once-differentiable. A derivative that answers an array with a Tensor is written with autonn
    functions (``an.tanh``...); while a graph is recorded (``create_graph``) it is evaluated again
    on ``x`` itself, so that the gradient differentiates again. A derivative that only accepts
    Tensors is evaluated on ``x``. (Trying the Tensor first would be unsafe: a NumPy function
    applied to a Tensor silently becomes a constant, and second derivatives would be wrong.)
    """
    try:
        d = derivative(x.data)
    except Exception:  # noqa: BLE001 - a derivative written for Tensors only
        return derivative(x)
    if isinstance(d, Tensor) and is_grad_enabled():
        return derivative(x)
    return d


class LambdaFunction(Function):
    """``y = fn(x)`` elementwise with the hand-written backward ``g * derivative(x)``.

    A wrong ``derivative`` gives a wrong gradient: that is what lets ``an.gradcheck`` test it.
    A derivative written with autonn functions gives a twice-differentiable gradient, a NumPy
    one a once-differentiable gradient (see ``_derivative_values``).
    """

    @staticmethod
    def forward(ctx, x, fn, derivative):
        ctx.save_for_backward(x)
        ctx.derivative = derivative
        try:
            y = fn(x)
        except Exception:  # noqa: BLE001 - an fn written in autonn ops only: give it a Tensor
            y = fn(Tensor._make(x))
        y = np.asarray(y.data if isinstance(y, Tensor) else y)
        if y.shape != x.shape:
            try:
                y = np.broadcast_to(y, x.shape).copy()
            except ValueError:
                raise ValueError(f"Lambda: fn must act elementwise, but it maps an input of shape "
                                 f"{x.shape} to shape {y.shape}") from None
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors  # the input Tensor itself, so the result can differentiate again
        d = _derivative_values(ctx.derivative, x)
        if isinstance(d, Tensor) and is_grad_enabled():
            return g * d, None, None
        # Values only: the gradient is an array, so it is once-differentiable (a second
        # derivative through it raises a RuntimeError that says so).
        d = d.data if isinstance(d, Tensor) else np.asarray(d)
        return g.data * d, None, None

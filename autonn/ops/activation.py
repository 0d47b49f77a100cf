"""Activations. Forward and the fused backward ("derivative times incoming gradient") run in
``autonn.kernels``; each backward is itself an op (``TanhGrad``, ``ReluGrad``...) whose own rule
is written in autonn ops, so second derivatives work.
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..tensor import Tensor, TensorLike, as_tensor
from ._rules import elementwise, float_tensor, sum_terms
from .base import Op, _grad_state, apply, const
from .elementwise import exp


class _WithAlpha(Op):
    """An op with one constant parameter ``alpha`` (None: none), passed on to its kernels."""
    __slots__ = ("alpha",)

    def __init__(self, alpha=None):
        self.alpha = alpha

    def _args(self):
        return () if self.alpha is None else (self.alpha,)


class _Activation(_WithAlpha):
    """``y = f(x)``; subclasses name their kernels and say whether backward wants x or y."""
    __slots__ = ()
    uses_output = False  # the backward kernel takes y (the output) instead of x

    def forward(self, x):
        return self.fwd_kernel(x, *self._args())

    def vjp(self, g, out, x):
        return apply(self.grad_op(self.alpha), out if self.uses_output else x, g)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        return None if dx is None else self.vjp(dx, out, x)


class _ActivationGrad(_WithAlpha):
    """``grad_op(a, g) = f'(x) * g`` where ``a`` is x or y; linear in g."""
    __slots__ = ()

    def forward(self, a, g):
        return self.bwd_kernel(a, g, *self._args())

    def vjp(self, gg, out, a, g):
        ga = self.second(gg, a, g) if a.requires_grad else None
        gg_ = apply(type(self)(self.alpha), a, gg) if g.requires_grad else None
        return ga, gg_

    def jvp(self, tangents, out, a, g):
        da, dg = tangents
        return sum_terms(None if da is None else self.second(da, a, g),
                         None if dg is None else apply(type(self)(self.alpha), a, dg))

    def second(self, gg, a, g):
        """d(f'(x) * g)/da * gg, in autonn ops."""
        raise NotImplementedError


class _PiecewiseLinearGrad(_ActivationGrad):
    """The gradient of a piecewise-linear activation: f' is piecewise constant, f'' is 0."""
    __slots__ = ()

    def second(self, gg, x, g):
        return const(np.zeros(x.shape, dtype=x.dtype))


class ReluGrad(_PiecewiseLinearGrad):
    __slots__ = ()
    bwd_kernel = staticmethod(kernels.relu_backward)


class Relu(_Activation):
    __slots__ = ()
    fwd_kernel = staticmethod(kernels.relu_forward)
    grad_op = ReluGrad


class LeakyReluGrad(_PiecewiseLinearGrad):
    __slots__ = ()
    bwd_kernel = staticmethod(kernels.leaky_relu_backward)


class LeakyRelu(_Activation):
    __slots__ = ()
    fwd_kernel = staticmethod(kernels.leaky_relu_forward)
    grad_op = LeakyReluGrad


class EluGrad(_ActivationGrad):
    __slots__ = ()
    bwd_kernel = staticmethod(kernels.elu_backward)

    def second(self, gg, x, g):
        neg = const((x.data <= 0).astype(x.dtype))
        return gg * g * neg * self.alpha * exp(x * neg)


class Elu(_Activation):
    __slots__ = ()
    fwd_kernel = staticmethod(kernels.elu_forward)
    grad_op = EluGrad


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class GeluGrad(_ActivationGrad):
    """``g * gelu'(x)``; ``alpha`` may hold gelu'(x) itself, saved by the forward (see
    ``Gelu``), and then only the product is left to compute (the same bits either way)."""
    __slots__ = ()
    bwd_kernel = staticmethod(kernels.gelu_backward)

    def forward(self, x, g):
        d = self.alpha
        if not isinstance(d, np.ndarray) or d.shape != g.shape or d.dtype != g.dtype:
            return kernels.gelu_backward(x, g)
        return kernels.gelu_backward_from_derivative(d, g)

    def second(self, gg, x, g):
        phi = exp(x * x * -0.5) * _INV_SQRT_2PI
        return gg * g * phi * (2 - x * x)


class Gelu(_Activation):
    """``keep=True`` (what ``gelu`` passes for a tensor that records a graph): the forward also
    computes gelu'(x) in the same kernel pass (numba backend; with the twins it stays None) and
    keeps it for the first backward, which then only multiplies (float32, 1e6 elements, serial:
    1.6 + 0.14 ms instead of 1.4 + 1.5 ms), for one more x-sized array held in between
    (PyTorch keeps only x). The first vjp releases it:
    a plain backward (nothing recorded) multiplies into it in place, a recorded one
    (create_graph) hands it to its ``GeluGrad`` node. Any later vjp (retain_graph) recomputes."""
    __slots__ = ("keep", "_d")
    fwd_kernel = staticmethod(kernels.gelu_forward)
    grad_op = GeluGrad

    def __init__(self, keep=False):
        super().__init__()
        self.keep = keep
        self._d = None

    def forward(self, x):
        if not self.keep:
            return kernels.gelu_forward(x)
        y, self._d = kernels.gelu_forward_and_derivative(x)
        return y

    def vjp(self, g, out, x):
        d, self._d = self._d, None
        if d is None or d.shape != g.shape or d.dtype != g.dtype:
            return apply(GeluGrad(), x, g)
        if _grad_state.enabled:  # create_graph: the GeluGrad node keeps d for its own vjp
            return apply(GeluGrad(d), x, g)
        return const(kernels.gelu_backward_from_derivative(d, g.data, inplace=True))


class SigmoidGrad(_ActivationGrad):
    __slots__ = ()
    bwd_kernel = staticmethod(kernels.sigmoid_backward)

    def second(self, gg, y, g):
        return gg * g * (1 - 2 * y)


class Sigmoid(_Activation):
    __slots__ = ()
    uses_output = True
    fwd_kernel = staticmethod(kernels.sigmoid_forward)
    grad_op = SigmoidGrad


class TanhGrad(_ActivationGrad):
    __slots__ = ()
    bwd_kernel = staticmethod(kernels.tanh_backward)

    def second(self, gg, y, g):
        return gg * g * y * -2


class Tanh(_Activation):
    __slots__ = ()
    uses_output = True
    fwd_kernel = staticmethod(kernels.tanh_forward)
    grad_op = TanhGrad


class SoftplusGrad(_ActivationGrad):
    """alpha holds (beta, threshold)."""
    __slots__ = ()
    bwd_kernel = staticmethod(kernels.softplus_backward)

    def _args(self):
        return self.alpha

    def second(self, gg, x, g):
        beta, threshold = self.alpha
        s = apply(Sigmoid(), x * beta)
        below = const((x.data * beta <= threshold).astype(x.dtype))
        return gg * g * s * (1 - s) * beta * below


class Softplus(_Activation):
    __slots__ = ()
    fwd_kernel = staticmethod(kernels.softplus_forward)
    grad_op = SoftplusGrad

    def _args(self):
        return self.alpha


def relu(x: TensorLike) -> Tensor:
    """max(x, 0) elementwise; the gradient at 0 is 0, as PyTorch.

    >>> import autonn as an
    >>> an.relu(an.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return apply(Relu(), as_tensor(x))


def leaky_relu(x: TensorLike, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else ``negative_slope * x``.

    >>> import autonn as an
    >>> an.leaky_relu(an.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ])
    """
    return apply(LeakyRelu(float(negative_slope)), as_tensor(x))


def elu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else ``alpha * (exp(x) - 1)``.

    >>> import autonn as an
    >>> an.elu(an.tensor([0.0, 2.0]))
    tensor([0., 2.])
    """
    return apply(Elu(float(alpha)), float_tensor(x))


def gelu(x: TensorLike) -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)`` (exact, with erf; PyTorch's default).

    >>> import autonn as an
    >>> an.gelu(an.zeros(1))
    tensor([0.])
    """
    t = float_tensor(x)
    return apply(Gelu(_grad_state.enabled and t._requires_grad), t)


def sigmoid(x: TensorLike) -> Tensor:
    """Logistic function ``1 / (1 + exp(-x))``, stable for large |x|.

    >>> import autonn as an
    >>> an.sigmoid(an.zeros(1))
    tensor([0.5])
    """
    return apply(Sigmoid(), float_tensor(x))


_complex_tanh = elementwise(  # the kernels are real-only: a complex input takes NumPy's tanh
    "tanh", np.tanh, lambda g, out, x: g * (1 - out * out), complex=True,
    doc="Hyperbolic tangent of a complex Tensor (holomorphic: HIPS autograd's convention).")


def tanh(x: TensorLike) -> Tensor:
    """Hyperbolic tangent (also of complex Tensors).

    >>> import autonn as an
    >>> an.tanh(an.zeros(1))
    tensor([0.])
    """
    t = float_tensor(x)
    if t.data.dtype.kind == "c":
        return _complex_tanh(t)
    return apply(Tanh(), t)


def softplus(x: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold`` (PyTorch's Softplus).

    >>> import autonn as an
    >>> round(an.softplus(an.zeros(1)).item(), 4)
    0.6931
    """
    return apply(Softplus((float(beta), float(threshold))), float_tensor(x))


for _float_function in (elu, gelu, sigmoid, tanh, softplus):
    setattr(_float_function, "promotes_integers", True)  # noqa: B010  integer inputs are cast to the default float

__all__ = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus"]

"""Activation modules, and ``Lambda`` for a user-supplied activation with its derivative.

The activations that ``autonn.ops.nn.linear`` can fuse report it through ``_fused()``: a
``Sequential`` then runs ``Linear`` + activation as one kernel call.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import is_grad_enabled
from ..tensor import Tensor, as_tensor
from . import _ops, functional as F
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax",
           "LogSoftmax", "Lambda"]


class ReLU(Module):
    """``max(x, 0)`` elementwise.

    >>> import autonn as an
    >>> an.nn.ReLU()(an.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)

    def _fused(self):
        return "relu", 0.0

    def _config(self):
        return {}


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise.

    >>> import autonn as an
    >>> an.nn.Sigmoid()(an.zeros(1))
    tensor([0.5])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)

    def _fused(self):
        return "sigmoid", 0.0

    def _config(self):
        return {}


class Tanh(Module):
    """Hyperbolic tangent elementwise.

    >>> import autonn as an
    >>> an.nn.Tanh()(an.zeros(1))
    tensor([0.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)

    def _fused(self):
        return "tanh", 0.0

    def _config(self):
        return {}


class LeakyReLU(Module):
    """``x`` where positive, else ``negative_slope * x``.

    >>> import autonn as an
    >>> an.nn.LeakyReLU(0.1)(an.tensor([-1.0, 2.0]))
    tensor([-0.1,  2. ])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def _fused(self):
        return "leaky_relu", self.negative_slope

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def _config(self):
        return {"negative_slope": self.negative_slope}


class ELU(Module):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``.

    >>> import autonn as an
    >>> an.nn.ELU()(an.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def _fused(self):
        return "elu", self.alpha

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"

    def _config(self):
        return {"alpha": self.alpha}


class GELU(Module):
    """``x * Phi(x)`` (exact), or the tanh approximation with ``approximate="tanh"``.

    >>> import autonn as an
    >>> an.nn.GELU()(an.zeros(1))
    tensor([0.])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def _fused(self):
        return ("gelu", 0.0) if self.approximate == "none" else None

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"

    def _config(self):
        return {"approximate": self.approximate}


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``.

    >>> import autonn as an
    >>> round(an.nn.Softplus()(an.zeros(1)).item(), 4)
    0.6931
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def _fused(self):
        return ("softplus", 0.0) if (self.beta, self.threshold) == (1.0, 20.0) else None

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"

    def _config(self):
        return {"beta": self.beta, "threshold": self.threshold}


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim`` (the last axis by default).

    >>> import autonn as an
    >>> an.nn.Softmax(dim=1)(an.zeros((1, 4)))
    tensor([[0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = -1 if dim is None else int(dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def _config(self):
        return {"dim": self.dim}


class LogSoftmax(Module):
    """``x - logsumexp(x)`` along ``dim`` (the last axis by default).

    >>> import autonn as an
    >>> round(an.nn.LogSoftmax()(an.zeros(2))[0].item(), 4)
    -0.6931
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = -1 if dim is None else int(dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def _config(self):
        return {"dim": self.dim}


def _fn_name(f):
    return getattr(f, "__name__", type(f).__name__)


class Lambda(Module):
    """A user activation ``y = fn(x)`` applied elementwise.

    With ``derivative`` (a callable giving ``f'(x)`` elementwise, on NumPy arrays or on Tensors),
    backward computes ``g * derivative(x)``: the hand-written derivative is what is used, so
    ``an.gradcheck`` can check it against finite differences (a wrong derivative gives a wrong
    gradient). A NumPy derivative makes the gradient once-differentiable (a second derivative
    raises a RuntimeError saying so); one written with autonn functions (``an.tanh``, ``an.exp``...)
    differentiates again. Without ``derivative``, autograd differentiates ``fn``, which must then
    be written in autonn ops. A Lambda cannot be saved with ``save_network`` (files hold no code).

    >>> import autonn as an, numpy as np
    >>> cube = an.nn.Lambda(lambda x: x ** 3, derivative=lambda x: 3 * x ** 2)
    >>> x = an.tensor([1.0, 2.0], requires_grad=True)
    >>> cube(x).sum().backward(); x.grad
    tensor([ 3., 12.])
    >>> th = an.nn.Lambda(an.tanh, derivative=lambda x: 1 - an.tanh(x) ** 2)
    >>> z = an.tensor([0.5], requires_grad=True)
    >>> (g,) = an.grad(th(z).sum(), z, create_graph=True)   # a second derivative works
    >>> bool(abs(an.grad(g.sum(), z)[0].item() + 2 * np.tanh(0.5) / np.cosh(0.5) ** 2) < 1e-12)
    True
    >>> soft = an.nn.Lambda(lambda x: np.log1p(np.exp(x)), lambda x: 1 / (1 + np.exp(-x)))
    >>> round(soft(an.zeros(1)).item(), 4)
    0.6931
    """

    def __init__(self, fn: Callable[..., Any], derivative: Any = None) -> None:
        super().__init__()
        if not callable(fn):
            raise TypeError(f"Lambda: fn must be callable, got {type(fn).__name__}")
        if derivative is not None and not callable(derivative):
            raise TypeError(f"Lambda: derivative must be callable or None, got "
                            f"{type(derivative).__name__}")
        self.fn = fn
        self.derivative = derivative

    def forward(self, input: Tensor) -> Tensor:
        x = as_tensor(input)
        if self.derivative is not None:
            return _ops.LambdaFunction.apply(x, self.fn, self.derivative)
        y = self.fn(x)
        if not isinstance(y, Tensor):
            if x.requires_grad and is_grad_enabled():
                raise TypeError(
                    f"Lambda: fn {_fn_name(self.fn)} returned {type(y).__name__}, not a Tensor, so "
                    "autograd cannot differentiate it; write fn with autonn ops or pass "
                    "derivative=")
            y = as_tensor(y)
        return y

    def extra_repr(self) -> str:
        s = f"fn={_fn_name(self.fn)}"
        if self.derivative is not None:
            s += f", derivative={_fn_name(self.derivative)}"
        return s

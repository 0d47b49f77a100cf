"""Helpers of the distributions: standardizing, constant arguments, the support."""
from __future__ import annotations

import numpy as np

from ..ops.base import Op, apply, const
from ..ops.elementwise import where
from ..ops.special import gammaln_of, log_of  # noqa: F401  (for the distributions)
from ..tensor import Tensor, TensorLike, as_tensor


def tensor_arg(v: TensorLike) -> Tensor | float:
    """A Tensor for an array-like argument (a Python number stays a number: a weak scalar)."""
    if isinstance(v, int) and not isinstance(v, bool) and not -2**63 <= v < 2**63:
        raise ValueError(f"the integer argument {v} does not fit in int64 (NumPy would make it "
                         "an object array)")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return as_tensor(v)


def standardize(x: TensorLike, loc: TensorLike, scale: TensorLike) -> Tensor:
    """``(x - loc) / scale`` with x as a float Tensor (an integer x is promoted)."""
    t = as_tensor(x)
    if t.data.dtype.kind in "biu":
        from ..ops._rules import float_inputs
        (t,) = float_inputs(t)
    return (t - tensor_arg(loc)) / tensor_arg(scale)


def data_of(v: TensorLike) -> np.ndarray:
    return v.data if isinstance(v, Tensor) else np.asarray(v)


class _NoDerivative(Op):
    """Identity whose gradient raises: an argument without a derivative (a count)."""
    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message

    def forward(self, x):
        return x

    def vjp(self, g, out, x):
        raise NotImplementedError(self.message)

    def jvp(self, tangents, out, x):
        raise NotImplementedError(self.message)


def constant_arg(v: TensorLike, fn: str, arg: str, why: str) -> Tensor:
    """``v`` as a Tensor whose gradient raises ``NotImplementedError`` if asked for."""
    v = as_tensor(v)
    if not v.requires_grad:
        return v
    return apply(_NoDerivative(f"{fn}: no derivative with respect to {arg} ({why})"), v)


def on_support(inside, z, safe, formula, outside):
    """``formula(z)`` where the constant mask ``inside`` holds and ``outside`` elsewhere; ``z`` is
    replaced by ``safe`` outside first, so that no NaN reaches the gradients there."""
    if np.all(inside):
        return formula(z)
    inside = const(np.broadcast_to(inside, np.broadcast_shapes(np.shape(inside), z.shape)))
    z_safe = where(inside, z, const(np.asarray(safe, z.dtype)))
    return where(inside, formula(z_safe), const(np.asarray(outside, z.dtype)))

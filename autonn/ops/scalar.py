"""Arithmetic between a Tensor and a Python number. The number is a constant of the op, so
``x * 2.0`` costs one node and no array for the 2.0; NumPy's weak-scalar rule keeps dtypes
(a float32 tensor times a Python float stays float32)."""
import math

import numpy as np

from .base import Op, _grad_state, apply, const


class _ScalarOp(Op):
    __slots__ = ("c",)
    complex = True

    def __init__(self, c):
        self.c = c

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        return None if dx is None else self.vjp(dx, out, x)


class AddScalar(_ScalarOp):
    """``x + c``"""
    __slots__ = ()
    saves_values = False  # the rules use the constant only

    def forward(self, x):
        return x + self.c

    def vjp(self, g, out, x):
        return g

    def vjp_arrays(self, g, out, x):
        return g


class RSubScalar(_ScalarOp):
    """``c - x``"""
    __slots__ = ()
    saves_values = False  # the rules use the constant only

    def forward(self, x):
        return self.c - x

    def vjp(self, g, out, x):
        return -g

    def vjp_arrays(self, g, out, x):
        return np.negative(g)


class MulScalar(_ScalarOp):
    """``x * c``"""
    __slots__ = ()
    saves_values = False  # the rules use the constant only

    def forward(self, x):
        return x * self.c

    def vjp(self, g, out, x):
        if _grad_state.enabled:  # create_graph: a node, so the gradient differentiates again
            return apply(MulScalar(self.c), g)
        return const(self.vjp_arrays(g.data, out, x))  # called directly (autonn.func)

    def vjp_arrays(self, g, out, x):
        return g * self.c


class DivScalar(_ScalarOp):
    """``x / c``"""
    __slots__ = ()
    saves_values = False  # the rules use the constant only

    def forward(self, x):
        return x / self.c

    def vjp(self, g, out, x):
        if _grad_state.enabled:
            return apply(DivScalar(self.c), g)
        return const(self.vjp_arrays(g.data, out, x))

    def vjp_arrays(self, g, out, x):
        return g / self.c


class RDivScalar(_ScalarOp):
    """``c / x``"""
    __slots__ = ()

    def forward(self, x):
        return self.c / x

    def vjp(self, g, out, x):
        return -g * out / x


class PowScalar(_ScalarOp):
    """``x ** c``"""
    __slots__ = ()

    def forward(self, x):
        return x ** self.c

    def vjp(self, g, out, x):
        c = self.c
        if c == 0:
            return const(np.zeros(g.shape, dtype=g.dtype))
        if c == 1:
            return g
        return g * apply(MulScalar(c), apply(PowScalar(c - 1), x))


class RPowScalar(_ScalarOp):
    """``c ** x``"""
    __slots__ = ()

    def forward(self, x):
        return np.power(self.c, x)

    def vjp(self, g, out, x):
        if self.c == 0:  # 0 ** x is flat where it is differentiable (x > 0)
            return const(np.zeros(g.shape, dtype=g.dtype))
        return g * apply(MulScalar(math.log(self.c)), out)


def is_scalar(v):
    """A plain Python number (not bool, not an array): becomes an op constant."""
    return type(v) is float or type(v) is int

"""Complex parts: ``real``, ``imag``, ``conj``, ``angle``.

Gradients follow HIPS autograd's and JAX's convention: a rule maps the output's cotangent ``g``
through the Jacobian without conjugation, so for a real-valued loss ``L`` of a complex ``z = x + iy``
the gradient is ``dL/dx - i dL/dy`` (PyTorch reports its conjugate, ``dL/dx + i dL/dy``). A real
input that receives a complex gradient keeps its real part (the engine does that once).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, TensorLike, as_tensor
from ._rules import LinearOp
from .base import Op, apply
from .elementwise import cast, where

__all__ = ["real", "imag", "conj", "conjugate", "angle"]


class Real(LinearOp):
    __slots__ = ()

    def forward(self, x):
        return np.real(x).copy() if x.dtype.kind == "c" else x.copy()

    def vjp(self, g, out, x):
        return cast(g, x.dtype)


class Imag(LinearOp):
    __slots__ = ()

    def forward(self, x):
        return np.imag(x).copy() if x.dtype.kind == "c" else np.zeros_like(x)

    def vjp(self, g, out, x):
        if x.dtype.kind != "c":
            return g * 0  # imag of a real input is 0 whatever x is
        return cast(g, x.dtype) * (-1j)


class Conj(LinearOp):
    __slots__ = ()

    def forward(self, x):
        return np.conj(x)

    def vjp(self, g, out, x):
        return conj(g)


class Angle(Op):
    __slots__ = ()
    complex = True

    def forward(self, x):
        return np.angle(x)

    def _dz(self, x):
        """conj(i z) / |z|**2: d angle = Re(dz * conj(i z)) / |z|**2 (0 where z = 0)."""
        mag2 = real(x * conj(x))
        safe = where(mag2.data == 0, 1.0, mag2)
        return conj(x * 1j) / safe

    def vjp(self, g, out, x):
        if x.dtype.kind != "c":
            return g * 0  # angle of a real number is 0 or pi: flat
        return g * self._dz(x)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None or x.dtype.kind != "c":
            return None
        return real(dx * self._dz(x))


def real(x: TensorLike) -> Tensor:
    """The real part (a copy, as a new Tensor); real inputs come back unchanged in value.

    >>> import autonn as an
    >>> an.real(an.tensor([1 + 2j, 3 - 1j]))
    tensor([1., 3.])
    """
    return apply(Real(), as_tensor(x))


def imag(x: TensorLike) -> Tensor:
    """The imaginary part (zeros for a real input).

    >>> import autonn as an
    >>> an.imag(an.tensor([1 + 2j, 3 - 1j]))
    tensor([ 2., -1.])
    """
    return apply(Imag(), as_tensor(x))


def conj(x: TensorLike) -> Tensor:
    """The complex conjugate (a real input comes back unchanged in value).

    >>> import autonn as an
    >>> an.conj(an.tensor([1 + 2j]))
    tensor([1.-2.j], dtype=complex128)
    """
    return apply(Conj(), as_tensor(x))


conjugate = conj


def angle(x: TensorLike) -> Tensor:
    """The argument of each element, in radians in ``(-pi, pi]`` (NumPy's ``angle``).

    >>> import autonn as an
    >>> an.angle(an.tensor([1j, -1.0]))
    tensor([1.57079633, 3.14159265])
    """
    return apply(Angle(), as_tensor(x))

"""Piecewise functions: rounding (zero gradient, as in HIPS autograd, JAX and PyTorch),
remainders, NaN-ignoring extrema, ``fabs``, ``nan_to_num`` and ``real_if_close``.

A rounding function (``floor ceil round around rint fix trunc sign floor_divide``) is constant
between its jumps, so its gradient is exactly zero: it stays in the graph (``an.grad`` of it
returns zeros, no error) and keeps NumPy's dtype (``floor`` of an integer Tensor is an integer
Tensor). At the jumps themselves the derivative does not exist; zero is returned there too.
"""
from typing import Any

import numpy as np

from ..tensor import as_tensor
from ._rules import elementwise
from .base import Op, apply, const
from .complex_parts import real
from .elementwise import Maximum, Minimum, _binary, _MaskedLinear


def _zero(g, out, *inputs):
    return const(np.zeros(out.shape, g.dtype))


def _zero_array(g, out, *inputs):
    return np.zeros(out.shape, g.dtype)


def _rounding(name, ufunc, doc, nin=1):
    return elementwise(name, ufunc, *[_zero] * nin, arrays=(_zero_array,) * nin, doc=doc,
                       promote=False)


floor = _rounding("floor", np.floor, """Elementwise floor (largest integer <= x); zero gradient.

    >>> import autonn as an
    >>> an.floor(an.tensor([-1.5, 1.5]))
    tensor([-2.,  1.])
    """)

ceil = _rounding("ceil", np.ceil, """Elementwise ceiling (smallest integer >= x); zero gradient.

    >>> import autonn as an
    >>> an.ceil(an.tensor([-1.5, 1.5]))
    tensor([-1.,  2.])
    """)

rint = _rounding("rint", np.rint, """Elementwise round to the nearest integer (halves to even);
    zero gradient.

    >>> import autonn as an
    >>> an.rint(an.tensor([0.5, 1.5, 2.7]))
    tensor([0., 2., 3.])
    """)

trunc = _rounding("trunc", np.trunc, """Elementwise truncation towards zero; zero gradient.

    >>> import autonn as an
    >>> an.trunc(an.tensor([-1.7, 1.7]))
    tensor([-1.,  1.])
    """)

fix = _rounding("fix", np.fix, """Elementwise round towards zero (``numpy.fix``); zero gradient.

    >>> import autonn as an
    >>> an.fix(an.tensor([-1.7, 1.7]))
    tensor([-1.,  1.])
    """)

sign = _rounding("sign", np.sign, """Elementwise sign (-1, 0 or 1); zero gradient.

    >>> import autonn as an
    >>> an.sign(an.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """)

floor_divide = _rounding("floor_divide", np.floor_divide, """Elementwise ``floor(x / y)``
    (Python's ``//``), with broadcasting; zero gradient with respect to both operands.

    >>> import autonn as an
    >>> an.floor_divide(an.tensor([7.0, -7.0]), 2.0)
    tensor([ 3., -4.])
    """, nin=2)


class _Round(Op):
    """``numpy.round(x, decimals)``: zero gradient."""
    __slots__ = ("decimals",)
    elementwise = True

    def __init__(self, decimals):
        self.decimals = decimals

    def forward(self, x):
        return np.round(x, self.decimals)

    def vjp(self, g, out, x):
        return _zero(g, out)

    def vjp_arrays(self, g, out, x):
        return _zero_array(g, out)

    def jvp(self, tangents, out, x):
        return None if tangents[0] is None else _zero(tangents[0], out)


def round(a: Any, decimals: Any=0) -> Any:
    """Round to ``decimals`` decimals (halves to even), as ``numpy.round``; zero gradient.

    >>> import autonn as an
    >>> an.round(an.tensor([0.5, 1.5, 1.2345]), 2)
    tensor([0.5 , 1.5 , 1.23])
    """
    if int(decimals) != decimals:
        raise TypeError(f"round: decimals must be an integer, got {decimals!r}")
    return apply(_Round(int(decimals)), as_tensor(a))


round.elementwise = True
around = round


def _floor_ratio(x, y):
    return const(np.floor(x.data / y.data))


def _trunc_ratio(x, y):
    return const(np.trunc(x.data / y.data))


remainder = elementwise(
    "remainder", np.remainder,
    lambda g, out, x, y: g, lambda g, out, x, y: -g * _floor_ratio(x, y),
    arrays=(lambda g, out, x, y: g, lambda g, out, x, y: -g * np.floor(x / y)),
    promote=False,
    doc="""Elementwise remainder ``x - floor(x / y) * y`` with the sign of ``y`` (Python's ``%``;
    also named ``mod``), with broadcasting. The derivatives are 1 and ``-floor(x / y)``; they
    do not exist where ``x / y`` is an integer (a jump).

    >>> import autonn as an
    >>> an.remainder(an.tensor([7.0, -7.0]), 3.0)
    tensor([1., 2.])
    """)
mod = remainder

fmod = elementwise(
    "fmod", np.fmod,
    lambda g, out, x, y: g, lambda g, out, x, y: -g * _trunc_ratio(x, y),
    arrays=(lambda g, out, x, y: g, lambda g, out, x, y: -g * np.trunc(x / y)),
    promote=False,
    doc="""Elementwise C remainder ``x - trunc(x / y) * y``, with the sign of ``x``, with
    broadcasting. The derivatives are 1 and ``-trunc(x / y)``; they do not exist where
    ``x / y`` is a nonzero integer.

    >>> import autonn as an
    >>> an.fmod(an.tensor([7.0, -7.0]), 3.0)
    tensor([ 1., -1.])
    """)

fabs = elementwise(
    "fabs", np.fabs, lambda g, out, x: g * const(np.sign(x.data)),
    arrays=(lambda g, out, x: g * np.sign(x),),
    doc="""Elementwise absolute value of real numbers (always a float result); the gradient
    at 0 is 0.

    >>> import autonn as an
    >>> an.fabs(an.tensor([-2.0]))
    tensor([2.])
    """)


class _NanIgnoring:
    """Gradient masks of fmax/fmin: a NaN loses to a number; ties and two NaNs split evenly."""
    __slots__ = ()

    def _masks(self, x, y, dtype):
        xd, yd = x.data, y.data
        xnan, ynan = np.isnan(xd), np.isnan(yd)
        wins = self._wins(xd, yd) | (ynan & ~xnan)
        loses = self._wins(yd, xd) | (xnan & ~ynan)
        half_tie = (~wins & ~loses).astype(dtype) * 0.5
        return wins.astype(dtype) + half_tie, loses.astype(dtype) + half_tie


class Fmax(_NanIgnoring, Maximum):
    __slots__ = ()
    _fn = staticmethod(np.fmax)


class Fmin(_NanIgnoring, Minimum):
    __slots__ = ()
    _fn = staticmethod(np.fmin)


def fmax(x: Any, y: Any) -> Any:
    """Elementwise maximum ignoring NaNs (NaN only where both are NaN), with broadcasting;
    the gradient goes to the larger (a NaN's gradient is 0), ties split it evenly.

    >>> import autonn as an
    >>> an.fmax(an.tensor([1.0, float("nan")]), an.tensor([2.0, 3.0]))
    tensor([2., 3.])
    """
    return _binary(Fmax(), x, y)


def fmin(x: Any, y: Any) -> Any:
    """Elementwise minimum ignoring NaNs (NaN only where both are NaN), with broadcasting;
    the gradient goes to the smaller (a NaN's gradient is 0), ties split it evenly.

    >>> import autonn as an
    >>> an.fmin(an.tensor([1.0, float("nan")]), an.tensor([2.0, 3.0]))
    tensor([1., 3.])
    """
    return _binary(Fmin(), x, y)


fmax.elementwise = fmin.elementwise = True


class NanToNum(Op):
    __slots__ = ("nan", "posinf", "neginf")
    elementwise = True

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        return np.nan_to_num(x, copy=True, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def _mask(self, x, dtype):
        return np.isfinite(x.data).astype(dtype)

    def vjp(self, g, out, x):
        return apply(_MaskedLinear(self._mask(x, g.dtype)), g)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        return None if dx is None else apply(_MaskedLinear(self._mask(x, dx.dtype)), dx)


def nan_to_num(x: Any, copy: Any=True, nan: Any=0.0, posinf: Any=None, neginf: Any=None) -> Any:
    """NaN replaced by ``nan``, +-inf by ``posinf``/``neginf`` (default: the largest finite
    values), as ``numpy.nan_to_num``; the gradient passes where ``x`` is finite and is 0 at the
    replaced elements. The result is always a new Tensor (``copy=False`` does not modify ``x``).

    >>> import autonn as an
    >>> an.nan_to_num(an.tensor([1.0, float("nan"), float("inf")]), posinf=9.0)
    tensor([1., 0., 9.])
    """
    return apply(NanToNum(nan, posinf, neginf), as_tensor(x))


nan_to_num.elementwise = True


def real_if_close(a: Any, tol: Any=100) -> Any:
    """``a`` itself if it is real; for a complex ``a`` whose imaginary parts are all within
    ``tol`` machine epsilons of 0, its real part (as ``numpy.real_if_close``), else ``a``.
    The gradient is ``real``'s.

    >>> import autonn as an
    >>> an.real_if_close(an.tensor([2.0, 3.0]))
    tensor([2., 3.])
    """
    a = as_tensor(a)
    if a.data.dtype.kind != "c" or np.real_if_close(a.data, tol).dtype.kind == "c":
        return a
    return real(a)


real_if_close.elementwise = True

__all__ = ["floor", "ceil", "round", "around", "rint", "fix", "trunc", "sign", "floor_divide",
           "remainder", "mod", "fmod", "fabs", "fmax", "fmin", "nan_to_num", "real_if_close"]

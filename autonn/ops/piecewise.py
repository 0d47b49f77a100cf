"""Piecewise functions: rounding (zero gradient, as in HIPS autograd, JAX and PyTorch),
remainders, NaN-ignoring extrema, ``fabs``, ``nan_to_num`` and ``real_if_close``.

A rounding function (``floor ceil round around rint fix trunc sign floor_divide``) is constant
between its jumps, so its gradient is exactly zero: it stays in the graph (``an.grad`` of it
returns zeros, no error) and keeps NumPy's dtype (``floor`` of an integer Tensor is an integer
Tensor). At the jumps themselves the derivative does not exist; zero is returned there too.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..tensor import Tensor, TensorLike, as_tensor
from ._rules import ElementwiseFn, elementwise, marked_elementwise
from .base import Op, apply, const
from .complex_parts import real
from .elementwise import Maximum, Minimum, _binary, _MaskedLinear


def _zero(g: Tensor, out: Tensor, *inputs: Tensor) -> Tensor:
    return const(np.zeros(out.shape, g.dtype))


def _zero_array(g: np.ndarray, out: Tensor | np.ndarray, *inputs: Any) -> np.ndarray:
    return np.zeros(out.shape, g.dtype)


def _rounding(name: str, ufunc: Callable[..., Any], doc: str, nin: int = 1) -> ElementwiseFn:
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

    def __init__(self, decimals: int) -> None:
        self.decimals = decimals

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.round(x, self.decimals)

    def vjp(self, g: Tensor, out: Tensor, x: Tensor) -> Tensor:
        return _zero(g, out)

    def vjp_arrays(self, g: np.ndarray, out: Tensor, x: Tensor) -> np.ndarray:
        return _zero_array(g, out)

    def jvp(self, tangents: Sequence[Tensor | None], out: Tensor, x: Tensor) -> Tensor | None:
        return None if tangents[0] is None else _zero(tangents[0], out)


@marked_elementwise
def round(a: TensorLike, decimals: int = 0) -> Tensor:
    """Round to ``decimals`` decimals (halves to even), as ``numpy.round``; zero gradient.

    >>> import autonn as an
    >>> an.round(an.tensor([0.5, 1.5, 1.2345]), 2)
    tensor([0.5 , 1.5 , 1.23])
    """
    if int(decimals) != decimals:
        raise TypeError(f"round: decimals must be an integer, got {decimals!r}")
    return apply(_Round(int(decimals)), as_tensor(a))


around = round


def _floor_ratio(x: Tensor, y: Tensor) -> Tensor:
    return const(np.floor(x.data / y.data))


def _trunc_ratio(x: Tensor, y: Tensor) -> Tensor:
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
    _wins: Callable[..., Any]  # a comparison (np.greater, np.less): the class this is mixed into sets it

    def _masks(self, x: Tensor, y: Tensor, dtype: DTypeLike) -> tuple[np.ndarray, np.ndarray]:
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


@marked_elementwise
def fmax(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise maximum ignoring NaNs (NaN only where both are NaN), with broadcasting;
    the gradient goes to the larger (a NaN's gradient is 0), ties split it evenly.

    >>> import autonn as an
    >>> an.fmax(an.tensor([1.0, float("nan")]), an.tensor([2.0, 3.0]))
    tensor([2., 3.])
    """
    return _binary(Fmax(), x, y)


@marked_elementwise
def fmin(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise minimum ignoring NaNs (NaN only where both are NaN), with broadcasting;
    the gradient goes to the smaller (a NaN's gradient is 0), ties split it evenly.

    >>> import autonn as an
    >>> an.fmin(an.tensor([1.0, float("nan")]), an.tensor([2.0, 3.0]))
    tensor([1., 3.])
    """
    return _binary(Fmin(), x, y)


class NanToNum(Op):
    __slots__ = ("nan", "posinf", "neginf")
    elementwise = True

    def __init__(self, nan: float, posinf: float | None, neginf: float | None) -> None:
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num(x, copy=True, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def _mask(self, x: Tensor, dtype: DTypeLike) -> np.ndarray:
        return np.isfinite(x.data).astype(dtype)

    def vjp(self, g: Tensor, out: Tensor, x: Tensor) -> Tensor:
        return apply(_MaskedLinear(self._mask(x, g.dtype)), g)

    def jvp(self, tangents: Sequence[Tensor | None], out: Tensor, x: Tensor) -> Tensor | None:
        (dx,) = tangents
        return None if dx is None else apply(_MaskedLinear(self._mask(x, dx.dtype)), dx)


@marked_elementwise
def nan_to_num(x: TensorLike, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN replaced by ``nan``, +-inf by ``posinf``/``neginf`` (default: the largest finite
    values), as ``numpy.nan_to_num``; the gradient passes where ``x`` is finite and is 0 at the
    replaced elements. The result is always a new Tensor (``copy=False`` does not modify ``x``).

    >>> import autonn as an
    >>> an.nan_to_num(an.tensor([1.0, float("nan"), float("inf")]), posinf=9.0)
    tensor([1., 0., 9.])
    """
    return apply(NanToNum(nan, posinf, neginf), as_tensor(x))


@marked_elementwise
def real_if_close(a: TensorLike, tol: float = 100) -> Tensor:
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

__all__ = ["floor", "ceil", "round", "around", "rint", "fix", "trunc", "sign", "floor_divide",
           "remainder", "mod", "fmod", "fabs", "fmax", "fmin", "nan_to_num", "real_if_close"]

"""Special functions (``autonn.special``, as ``scipy.special``): forward values from SciPy, each
declared once by its partial derivatives written in autonn ops, so every order differentiates.

Arguments that are orders or shape parameters without a closed-form derivative (``betainc``'s
``a, b``, ``gammainc``'s ``a``, ``iv``'s ``v``, ``polygamma``'s ``n``...) may be Tensors, but
asking for a gradient with respect to them raises ``NotImplementedError`` naming the function and
the argument (HIPS autograd does not differentiate them either).

This module imports SciPy, so ``autonn`` loads it on first use of ``autonn.special``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np
import scipy.special as sc

from ..tensor import Axis, Tensor, TensorLike, as_tensor
from ._rules import ElementwiseFn, elementwise, marked_elementwise
from .base import const
from .elementary import exp, log, log1p
from .piecewise import _zero, _zero_array

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
ArrayFn = Callable[..., np.ndarray]  # a forward on NumPy arrays (SciPy's ufuncs)

# declared ahead: the derivative rules of functions above them use these
digamma: ElementwiseFn
polygamma: ElementwiseFn
i1: ElementwiseFn
iv: ElementwiseFn
ive: ElementwiseFn
j1: ElementwiseFn
jv: ElementwiseFn
y1: ElementwiseFn
yn: ElementwiseFn
xlogy: ElementwiseFn
xlog1py: ElementwiseFn


def _like_last(ufunc: ArrayFn) -> ArrayFn:
    """``ufunc`` with its result in the dtype of its last (float) argument, so that float32
    stays float32 where SciPy computes in float64 (integer orders, ``yn``)."""
    def forward(*arrays: np.ndarray) -> np.ndarray:
        out = ufunc(*arrays)
        return out.astype(arrays[-1].dtype, copy=False) if out.dtype != arrays[-1].dtype else out
    return forward


def _integer_order(ufunc: ArrayFn) -> ArrayFn:
    """``ufunc(n, x)`` with the order ``n`` as an integer array (SciPy warns on float ones)."""
    return _like_last(lambda n, x: ufunc(np.asarray(n).astype(np.int64), x))


def _no_derivative(fn: str, arg: str, why: str = "no closed form") -> Callable[..., NoReturn]:
    def rule(g: Tensor, out: Tensor, *inputs: Tensor) -> NoReturn:
        raise NotImplementedError(
            f"{fn}: no derivative with respect to {arg} ({why}; HIPS autograd has none either). "
            f"Pass {arg} as a constant (a number, an array or a Tensor that does not require "
            f"grad).")
    return rule


def _doc(text: str, example: tuple[str, str]) -> str:
    return f"""{text}

    >>> import autonn as an
    >>> {example[0]}
    {example[1]}
    """


erf = elementwise(
    "erf", sc.erf, lambda g, out, x: g * (2 / math.sqrt(math.pi)) * exp(-x * x),
    doc=_doc("Elementwise error function (``scipy.special.erf``).",
             ("an.special.erf(an.tensor([0.5]))", "tensor([0.52049988])")))

erfc = elementwise(
    "erfc", sc.erfc, lambda g, out, x: g * (-2 / math.sqrt(math.pi)) * exp(-x * x),
    doc=_doc("Elementwise complementary error function ``1 - erf(x)``.",
             ("an.special.erfc(an.tensor([0.5]))", "tensor([0.47950012])")))

erfinv = elementwise(
    "erfinv", sc.erfinv, lambda g, out, x: g * (math.sqrt(math.pi) / 2) * exp(out * out),
    doc=_doc("Elementwise inverse of ``erf``, on ``(-1, 1)``.",
             ("an.special.erfinv(an.tensor([0.5]))", "tensor([0.47693628])")))

erfcinv = elementwise(
    "erfcinv", sc.erfcinv, lambda g, out, x: g * (-math.sqrt(math.pi) / 2) * exp(out * out),
    doc=_doc("Elementwise inverse of ``erfc``, on ``(0, 2)``.",
             ("an.special.erfcinv(an.tensor([0.5]))", "tensor([0.47693628])")))

ndtr = elementwise(
    "ndtr", sc.ndtr, lambda g, out, x: g * exp(-x * x / 2 - _LOG_SQRT_2PI),
    doc=_doc("Elementwise standard normal CDF.",
             ("an.special.ndtr(an.tensor([0.0]))", "tensor([0.5])")))

log_ndtr = elementwise(
    "log_ndtr", sc.log_ndtr, lambda g, out, x: g * exp(-x * x / 2 - _LOG_SQRT_2PI - out),
    doc=_doc("Elementwise log of the standard normal CDF, accurate far in the left tail.",
             ("an.special.log_ndtr(an.tensor([0.0]))", "tensor([-0.69314718])")))

gammaln = elementwise(
    "gammaln", sc.gammaln, lambda g, out, x: g * digamma(x),
    doc=_doc("Elementwise ``log|Gamma(x)|``; poles at 0, -1, -2...",
             ("an.special.gammaln(an.tensor([4.0]))", "tensor([1.79175947])")))

digamma = elementwise(
    "digamma", sc.digamma, lambda g, out, x: g * polygamma(1, x),
    doc=_doc("Elementwise digamma ``d/dx log Gamma(x)`` (also named ``psi``); poles at 0, -1...",
             ("an.special.digamma(an.tensor([1.0]))", "tensor([-0.57721566])")))
psi = digamma

polygamma = elementwise(
    "polygamma", _integer_order(sc.polygamma), _no_derivative("polygamma", "the order n",
                                                              "an integer"),
    lambda g, out, n, x: g * polygamma(n + 1, x),
    doc=_doc("Elementwise ``n``-th derivative of digamma, ``polygamma(n, x)``; ``n`` is an "
             "integer order (no gradient).",
             ("an.special.polygamma(1, an.tensor([1.0]))", "tensor([1.64493407])")))

gamma = elementwise(
    "gamma", sc.gamma, lambda g, out, x: g * out * digamma(x),
    doc=_doc("Elementwise Gamma function; poles at 0, -1, -2...",
             ("an.special.gamma(an.tensor([4.0]))", "tensor([6.])")))

rgamma = elementwise(
    "rgamma", sc.rgamma, lambda g, out, x: -g * out * digamma(x),
    doc=_doc("Elementwise ``1 / Gamma(x)``. Its derivative, ``-digamma(x) / Gamma(x)``, is NaN "
             "exactly at 0, -1, -2... (0 times a pole).",
             ("an.special.rgamma(an.tensor([4.0]))", "tensor([0.16666667])")))

gammasgn = elementwise(
    "gammasgn", sc.gammasgn, _zero, arrays=(_zero_array,),
    doc=_doc("Elementwise sign of ``Gamma(x)``; zero gradient.",
             ("an.special.gammasgn(an.tensor([-0.5, 2.0]))", "tensor([-1.,  1.])")))

beta = elementwise(
    "beta", sc.beta,
    lambda g, out, a, b: g * out * (digamma(a) - digamma(a + b)),
    lambda g, out, a, b: g * out * (digamma(b) - digamma(a + b)),
    doc=_doc("Elementwise Beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``.",
             ("an.special.beta(an.tensor([2.0]), 3.0)", "tensor([0.08333333])")))

betaln = elementwise(
    "betaln", sc.betaln,
    lambda g, out, a, b: g * (digamma(a) - digamma(a + b)),
    lambda g, out, a, b: g * (digamma(b) - digamma(a + b)),
    doc=_doc("Elementwise ``log|beta(a, b)|``.",
             ("an.special.betaln(an.tensor([2.0]), 3.0)", "tensor([-2.48490665])")))


def _betainc_dx(g: Tensor, out: Tensor, a: Tensor, b: Tensor, x: Tensor) -> Tensor:
    return g * exp(xlogy(a - 1, x) + xlog1py(b - 1, -x) - betaln(a, b))


betainc = elementwise(
    "betainc", sc.betainc, _no_derivative("betainc", "a"), _no_derivative("betainc", "b"),
    _betainc_dx,
    doc=_doc("Elementwise regularized incomplete Beta function ``I_x(a, b)``; differentiable "
             "with respect to ``x`` only (``a`` and ``b`` raise: no closed form).",
             ("an.special.betainc(2.0, 3.0, an.tensor([0.5]))", "tensor([0.6875])")))


def _gammainc_dx(g: Tensor, out: Tensor, a: Tensor, x: Tensor) -> Tensor:
    return g * exp(xlogy(a - 1, x) - x - gammaln(a))


gammainc = elementwise(
    "gammainc", sc.gammainc, _no_derivative("gammainc", "a"), _gammainc_dx,
    doc=_doc("Elementwise regularized lower incomplete Gamma function ``P(a, x)``; "
             "differentiable with respect to ``x`` only (``a`` raises: no closed form).",
             ("an.special.gammainc(2.0, an.tensor([1.0]))", "tensor([0.26424112])")))

gammaincc = elementwise(
    "gammaincc", sc.gammaincc, _no_derivative("gammaincc", "a"),
    lambda g, out, a, x: -_gammainc_dx(g, out, a, x),
    doc=_doc("Elementwise regularized upper incomplete Gamma function ``Q(a, x) = 1 - P(a, x)``;"
             " differentiable with respect to ``x`` only (``a`` raises: no closed form).",
             ("an.special.gammaincc(2.0, an.tensor([1.0]))", "tensor([0.73575888])")))


@marked_elementwise
def multigammaln(a: TensorLike, d: int) -> Tensor:
    """Log of the multivariate Gamma function of dimension ``d`` (an integer), elementwise in
    ``a``: ``d (d - 1) / 4 log(pi) + sum_j gammaln(a - j / 2)``; needs ``a > (d - 1) / 2``.

    >>> import autonn as an
    >>> an.special.multigammaln(an.tensor([3.0]), 2)
    tensor([1.55019499])
    """
    if int(d) != d or d < 1:
        raise ValueError(f"multigammaln: d must be a positive integer, got {d!r}")
    d = int(d)
    a = as_tensor(a)
    if np.any(a.data <= 0.5 * (d - 1)):
        raise ValueError(f"multigammaln: a must be > (d - 1) / 2 = {0.5 * (d - 1)}, got values "
                         f"down to {np.min(a.data)}")
    out = gammaln(a)
    for j in range(1, d):
        out = out + gammaln(a - 0.5 * j)
    return out + d * (d - 1) / 4 * math.log(math.pi)

expit = elementwise(
    "expit", sc.expit, lambda g, out, x: g * out * (1 - out),
    doc=_doc("Elementwise logistic sigmoid ``1 / (1 + exp(-x))``.",
             ("an.special.expit(an.tensor([0.0]))", "tensor([0.5])")))

logit = elementwise(
    "logit", sc.logit, lambda g, out, x: g / (x * (1 - x)),
    doc=_doc("Elementwise ``log(p / (1 - p))``, on ``(0, 1)``.",
             ("an.special.logit(an.tensor([0.5]))", "tensor([0.])")))


def _nonzero_or_one(x: Tensor, y: Tensor) -> Tensor:
    """``y``, except 1 where ``x = y = 0``: the ``0 * log 0 = 0`` convention's safe
    denominator (``x / y`` is then 0, and its derivatives are those of ``x / y`` elsewhere)."""
    from .elementwise import where
    both = (x.data == 0) & (y.data == 0)
    if not np.any(both):
        return y
    return where(const(both), const(np.ones((), y.dtype)), y)


xlogy = elementwise(
    "xlogy", sc.xlogy,
    lambda g, out, x, y: g * log(y),
    lambda g, out, x, y: g * x / _nonzero_or_one(x, y),
    doc=_doc("Elementwise ``x * log(y)``, 0 where ``x = 0`` (even at ``y = 0``). "
             "d/dx is ``log(y)``; d/dy is ``x / y``, 0 where ``x = 0``.",
             ("an.special.xlogy(an.tensor([0.0, 2.0]), an.tensor([0.0, 1.0]))",
              "tensor([0., 0.])")))

xlog1py = elementwise(
    "xlog1py", sc.xlog1py,
    lambda g, out, x, y: g * log1p(y),
    lambda g, out, x, y: g * x / _nonzero_or_one(x, 1 + y),
    doc=_doc("Elementwise ``x * log1p(y)``, 0 where ``x = 0``.",
             ("an.special.xlog1py(an.tensor([0.0, 2.0]), an.tensor([-1.0, 0.0]))",
              "tensor([0., 0.])")))


def _entr_slope(g: Tensor, out: Tensor, x: Tensor) -> Tensor:
    return -g * (log(x) + 1)


entr = elementwise(
    "entr", sc.entr, _entr_slope,
    doc=_doc("Elementwise ``-x log(x)`` for ``x > 0``, 0 at 0, ``-inf`` for ``x < 0``; "
             "differentiable for ``x > 0``.",
             ("an.special.entr(an.tensor([0.0, 1.0]))", "tensor([ 0., -0.])")))

i0 = elementwise(
    "i0", sc.i0, lambda g, out, x: g * i1(x),
    doc=_doc("Elementwise modified Bessel function of the first kind, order 0.",
             ("an.special.i0(an.tensor([0.0]))", "tensor([1.])")))

def _iv2(x: Tensor) -> Tensor:
    """``iv(2, x)``, 0 where ``|x| < 1e-150``: there the value underflows anyway and SciPy's
    ``iv`` gives NaN near the smallest doubles."""
    from .elementwise import where
    tiny = const(np.abs(x.data) < 1e-150)
    return where(tiny, const(np.zeros((), x.dtype)), iv(2, where(tiny, const(np.ones((), x.dtype)),
                                                                 x)))


i1 = elementwise(
    "i1", sc.i1, lambda g, out, x: g * (i0(x) + _iv2(x)) / 2,
    doc=_doc("Elementwise modified Bessel function of the first kind, order 1.",
             ("an.special.i1(an.tensor([0.0]))", "tensor([0.])")))

iv = elementwise(
    "iv", _like_last(sc.iv), _no_derivative("iv", "the order v"),
    lambda g, out, v, x: g * (iv(v - 1, x) + iv(v + 1, x)) / 2,
    doc=_doc("Elementwise modified Bessel function of the first kind of real order ``v``; "
             "differentiable with respect to ``x`` (``v`` raises).",
             ("an.special.iv(0, an.tensor([0.0]))", "tensor([1.])")))

ive = elementwise(
    "ive", _like_last(sc.ive), _no_derivative("ive", "the order v"),
    lambda g, out, v, x: g * ((ive(v - 1, x) + ive(v + 1, x)) / 2 - const(np.sign(x.data)) * out),
    doc=_doc("Elementwise exponentially scaled ``iv(v, x) * exp(-|x|)``; differentiable with "
             "respect to ``x != 0`` (``v`` raises).",
             ("an.special.ive(0, an.tensor([0.0]))", "tensor([1.])")))

j0 = elementwise(
    "j0", sc.j0, lambda g, out, x: -g * j1(x),
    doc=_doc("Elementwise Bessel function of the first kind, order 0.",
             ("an.special.j0(an.tensor([0.0]))", "tensor([1.])")))

j1 = elementwise(
    "j1", sc.j1, lambda g, out, x: g * (j0(x) - jv(2, x)) / 2,
    doc=_doc("Elementwise Bessel function of the first kind, order 1.",
             ("an.special.j1(an.tensor([0.0]))", "tensor([0.])")))

jv = elementwise(
    "jv", _like_last(sc.jv), _no_derivative("jv", "the order v"),
    lambda g, out, v, x: g * (jv(v - 1, x) - jv(v + 1, x)) / 2,
    doc=_doc("Elementwise Bessel function of the first kind of real order ``v`` (also named "
             "``jn``); differentiable with respect to ``x`` (``v`` raises).",
             ("an.special.jv(0, an.tensor([0.0]))", "tensor([1.])")))
jn = jv

y0 = elementwise(
    "y0", sc.y0, lambda g, out, x: -g * y1(x),
    doc=_doc("Elementwise Bessel function of the second kind, order 0, for ``x > 0``.",
             ("an.special.y0(an.tensor([1.0]))", "tensor([0.08825696])")))

y1 = elementwise(
    "y1", sc.y1, lambda g, out, x: g * (y0(x) - yn(2, x)) / 2,
    doc=_doc("Elementwise Bessel function of the second kind, order 1, for ``x > 0``.",
             ("an.special.y1(an.tensor([1.0]))", "tensor([-0.78121282])")))

yn = elementwise(
    "yn", _integer_order(sc.yn), _no_derivative("yn", "the order n", "an integer"),
    lambda g, out, n, x: g * (yn(n - 1, x) - yn(n + 1, x)) / 2,
    doc=_doc("Elementwise Bessel function of the second kind of integer order ``n``, for "
             "``x > 0``; differentiable with respect to ``x``.",
             ("an.special.yn(0, an.tensor([1.0]))", "tensor([0.08825696])")))


def gammaln_of(v: TensorLike) -> float | Tensor:
    """``gammaln(v)``; for a Python number, a Python number (a weak scalar: keeps float32)."""
    return math.lgamma(v) if isinstance(v, (int, float)) else gammaln(v)


def log_of(v: TensorLike) -> float | Tensor:
    """``log(v)``; for a Python number, a Python number (a weak scalar: keeps float32)."""
    return math.log(v) if isinstance(v, (int, float)) else log(v)


def _t_logpdf(t: Tensor, df: Any) -> Tensor:
    """log of Student's t density with ``df`` degrees of freedom at ``t`` (autonn ops)."""
    return (gammaln_of((df + 1) / 2) - gammaln_of(df / 2) - 0.5 * log_of(df * math.pi)
            - (df + 1) / 2 * log1p(t * t / df))


stdtr = elementwise(
    "stdtr", sc.stdtr, _no_derivative("stdtr", "df"),
    lambda g, out, df, t: g * exp(_t_logpdf(t, df)),
    doc=_doc("Elementwise CDF of Student's t distribution with ``df`` degrees of freedom at "
             "``t``; differentiable with respect to ``t`` (``df`` raises: no closed form).",
             ("an.special.stdtr(3.0, an.tensor([0.0]))", "tensor([0.5])")))


def logsumexp(a: TensorLike, axis: Axis = None, b: TensorLike | None = None, keepdims: bool = False,
              return_sign: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``log(sum(b * exp(a)))`` over ``axis``, without overflow, as ``scipy.special.logsumexp``.
    ``b`` (weights, broadcast against ``a``) may be a Tensor and is differentiable. With
    ``return_sign=True`` (for negative weights) returns ``(log|s|, sign(s))``; the sign has no
    gradient.

    >>> import autonn as an
    >>> an.special.logsumexp(an.tensor([0.0, 0.0]), b=an.tensor([1.0, 3.0]))
    tensor(1.38629436)
    """
    from .elementary import abs as _abs
    from .reduce import logsumexp as _lse, sum as _sum
    a = as_tensor(a)
    if b is None and not return_sign:
        return _lse(a, axis=axis, keepdims=keepdims)
    if b is None:
        b = np.ones((), a.dtype)
    with np.errstate(divide="ignore"):
        m = np.max(a.data, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    s = _sum(b * exp(a - const(m)), axis=axis, keepdims=True)
    out = log(_abs(s)) + const(m)
    sign = np.sign(s.data)
    if not keepdims:
        from .shape import squeeze
        axes = tuple(range(out.ndim)) if axis is None else axis
        out = squeeze(out, axes)
        sign = np.squeeze(sign, axes)
    return (out, as_tensor(sign)) if return_sign else out


def softmax(x: TensorLike, axis: Axis = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` over ``axis`` (all elements when None, as SciPy).

    >>> import autonn as an
    >>> an.special.softmax(an.tensor([[0.0, 0.0], [0.0, 0.0]]))
    tensor([[0.25, 0.25],
            [0.25, 0.25]])
    """
    return _over_axis(x, axis, "softmax")


def log_softmax(x: TensorLike, axis: Axis = None) -> Tensor:
    """``x - logsumexp(x)`` over ``axis`` (all elements when None, as SciPy).

    >>> import autonn as an
    >>> an.special.log_softmax(an.tensor([0.0, 0.0]))
    tensor([-0.69314718, -0.69314718])
    """
    return _over_axis(x, axis, "log_softmax")


def _over_axis(x_like: TensorLike, axis: Axis, name: str) -> Tensor:
    from . import reduce
    fn = getattr(reduce, name)
    x = as_tensor(x_like)
    if x.data.dtype.kind in "biu":
        from ._rules import float_inputs
        (x,) = float_inputs(x)
    if axis is None:
        return fn(x.reshape(-1), axis=0).reshape(x.shape) if x.ndim else fn(x.reshape(1), 0)[0]
    if isinstance(axis, tuple):
        from .shape import transpose
        axes = tuple(sorted(a % x.ndim for a in axis))
        rest = [i for i in range(x.ndim) if i not in axes]
        perm = rest + list(axes)
        moved = transpose(x, perm)
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        y = fn(flat, axis=-1).reshape(moved.shape)
        return transpose(y, tuple(int(i) for i in np.argsort(perm)))
    return fn(x, axis=axis)


__all__ = ["erf", "erfc", "erfinv", "erfcinv", "ndtr", "log_ndtr", "gammaln", "digamma", "psi",
           "polygamma", "gamma", "rgamma", "gammasgn", "beta", "betaln", "betainc", "gammainc",
           "gammaincc", "multigammaln", "expit", "logit", "xlogy", "xlog1py", "entr", "i0", "i1",
           "iv", "ive", "j0", "j1", "jv", "jn", "y0", "y1", "yn", "stdtr", "logsumexp",
           "softmax", "log_softmax"]


from ._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "special.")  # errors name the function the user called

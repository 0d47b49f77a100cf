"""The Poisson distribution, as ``scipy.stats.poisson``: ``logpmf pmf cdf`` of
``(k, mu, loc=0)``, differentiable with respect to ``mu``. ``k`` is a count: asking for its
gradient raises ``NotImplementedError``.

>>> import autonn as an
>>> mu = an.tensor(2.0, requires_grad=True)
>>> an.stats.poisson.logpmf(3, mu).backward(); mu.grad        # k / mu - 1
tensor(0.5)
"""
from __future__ import annotations

import numpy as np

from ..ops.base import const
from ..ops.elementary import exp
from ..ops.special import gammaincc, gammaln, xlogy
from ..tensor import Tensor, TensorLike
from ._common import constant_arg, data_of, on_support, tensor_arg

_WHY = "a count, not a continuous variable"


def _count(k: TensorLike, loc: TensorLike, fn: str) -> Tensor:
    k = constant_arg(k, fn, "k", _WHY)
    if k.dtype.kind == "c":
        raise TypeError(f"{fn}: the count k must be real, got dtype {k.dtype}")
    loc = data_of(loc)
    return k - const(np.asarray(loc, k.dtype)) if np.any(loc != 0) else k


def _float_dtype(k, mu):
    """mu's float dtype (counts are exact in it), else k's promoted to float."""
    if not isinstance(mu, float) and mu.data.dtype.kind == "c":
        raise TypeError(f"poisson: the rate mu must be real, got dtype {mu.data.dtype}")
    if not isinstance(mu, float) and mu.data.dtype.kind == "f":
        return mu.data.dtype
    return np.result_type(k.data, float)


def logpmf(k: TensorLike, mu: TensorLike, loc: TensorLike = 0) -> Tensor:
    """Log of the probability ``xlogy(k, mu) - gammaln(k + 1) - mu`` of the count
    ``k - loc``; ``-inf`` (with a zero gradient) where it is not a nonnegative integer.

    >>> import autonn as an
    >>> an.stats.poisson.logpmf(an.tensor([0.0, 1.0]), 1.0)
    tensor([-1., -1.])
    """
    k = _count(k, loc, "poisson.logpmf")
    mu = tensor_arg(mu)
    dtype = _float_dtype(k, mu)
    if k.data.dtype != dtype and not k.requires_grad:
        k = const(k.data.astype(dtype))
    kd = k.data
    inside = (kd >= 0) & (kd == np.floor(kd))
    if not isinstance(mu, float):
        inside = np.broadcast_to(inside, np.broadcast_shapes(inside.shape, mu.shape))
    return on_support(inside, k, 0.0, lambda k: xlogy(k, mu) - gammaln(k + 1) - mu, -np.inf)


def pmf(k: TensorLike, mu: TensorLike, loc: TensorLike = 0) -> Tensor:
    """The probability of the count ``k - loc``.

    >>> import autonn as an
    >>> an.stats.poisson.pmf(an.tensor([0.0]), 1.0)
    tensor([0.36787944])
    """
    return exp(logpmf(k, mu, loc))


def cdf(k: TensorLike, mu: TensorLike, loc: TensorLike = 0) -> Tensor:
    """``P(K <= k - loc)``: ``gammaincc(floor(k - loc) + 1, mu)``, 0 for ``k - loc < 0``.

    >>> import autonn as an
    >>> an.stats.poisson.cdf(an.tensor([0.0]), 1.0)
    tensor([0.36787944])
    """
    k = _count(k, loc, "poisson.cdf")
    mu = tensor_arg(mu)
    n = np.floor(k.data)
    inside = n >= 0
    n = const(np.where(inside, n, 0).astype(_float_dtype(k, mu)))
    out = gammaincc(n + 1, mu)
    return on_support(np.broadcast_to(inside, out.shape), out, 0.5, lambda v: v, 0.0)


__all__ = ["logpmf", "pmf", "cdf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.poisson.")  # errors name the function the user called

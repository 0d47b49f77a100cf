"""The normal distribution, as ``scipy.stats.norm``: ``logpdf pdf cdf logcdf sf logsf`` of
``(x, loc=0, scale=1)``, differentiable with respect to all three.

>>> import autonn as an
>>> an.stats.norm.cdf(an.tensor([0.0]), loc=0.0, scale=2.0)
tensor([0.5])
"""
from __future__ import annotations

import math

from ..ops.elementary import exp
from ..ops.special import log_ndtr, ndtr
from ..tensor import Tensor, TensorLike
from ._common import log_of, standardize, tensor_arg

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def logpdf(x: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """Log of the normal density, ``-z**2/2 - log(scale) - log(sqrt(2 pi))``, z = (x-loc)/scale.

    >>> import autonn as an
    >>> an.stats.norm.logpdf(an.tensor([0.0]))
    tensor([-0.91893853])
    """
    z = standardize(x, loc, scale)
    return -0.5 * z * z - log_of(tensor_arg(scale)) - _LOG_SQRT_2PI


def pdf(x: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The normal density.

    >>> import autonn as an
    >>> an.stats.norm.pdf(an.tensor([0.0]))
    tensor([0.39894228])
    """
    return exp(logpdf(x, loc, scale))


def cdf(x: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The normal distribution function ``ndtr((x - loc) / scale)``.

    >>> import autonn as an
    >>> an.stats.norm.cdf(an.tensor([0.0]))
    tensor([0.5])
    """
    return ndtr(standardize(x, loc, scale))


def logcdf(x: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """Log of the normal distribution function, accurate far in the left tail.

    >>> import autonn as an
    >>> an.stats.norm.logcdf(an.tensor([0.0]))
    tensor([-0.69314718])
    """
    return log_ndtr(standardize(x, loc, scale))


def sf(x: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The survival function ``1 - cdf``, accurate in the right tail.

    >>> import autonn as an
    >>> an.stats.norm.sf(an.tensor([0.0]))
    tensor([0.5])
    """
    return ndtr(-standardize(x, loc, scale))


def logsf(x: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """Log of the survival function, accurate far in the right tail.

    >>> import autonn as an
    >>> an.stats.norm.logsf(an.tensor([0.0]))
    tensor([-0.69314718])
    """
    return log_ndtr(-standardize(x, loc, scale))


__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.norm.")  # errors name the function the user called

"""The chi-squared distribution, as ``scipy.stats.chi2``: ``logpdf pdf cdf`` of
``(x, df, loc=0, scale=1)``. The densities are differentiable with respect to all four
(HIPS autograd: ``x`` only); ``cdf`` with respect to ``x``, ``loc`` and ``scale`` (``df``
raises ``NotImplementedError``: no closed form).

>>> import autonn as an
>>> an.stats.chi2.cdf(an.tensor([2.0]), 2.0)
tensor([0.63212056])
"""
import math

import numpy as np

from ..ops.elementary import exp
from ..ops.special import gammainc, xlogy
from ._common import data_of, gammaln_of, log_of, on_support, standardize, tensor_arg

_LN2 = math.log(2)


def logpdf(x, df, loc=0.0, scale=1.0):
    """Log of the chi-squared density; ``-inf`` for ``z < 0``.

    >>> import autonn as an
    >>> an.stats.chi2.logpdf(an.tensor([2.0]), 2.0)
    tensor([-1.69314718])
    """
    z, k = standardize(x, loc, scale), tensor_arg(df)
    half = k / 2
    return on_support(data_of(z) >= 0, z, 1.0, lambda z: xlogy(half - 1, z) - z / 2, -np.inf) \
        - gammaln_of(half) - half * _LN2 - log_of(tensor_arg(scale))


def pdf(x, df, loc=0.0, scale=1.0):
    """The chi-squared density.

    >>> import autonn as an
    >>> an.stats.chi2.pdf(an.tensor([2.0]), 2.0)
    tensor([0.18393972])
    """
    return exp(logpdf(x, df, loc, scale))


def cdf(x, df, loc=0.0, scale=1.0):
    """The chi-squared distribution function ``gammainc(df / 2, z / 2)`` (``df`` not
    differentiable).

    >>> import autonn as an
    >>> an.stats.chi2.cdf(an.tensor([2.0]), 2.0)
    tensor([0.63212056])
    """
    z = standardize(x, loc, scale)
    return on_support(data_of(z) >= 0, z, 1.0, lambda z: gammainc(tensor_arg(df) / 2, z / 2),
                      0.0)


__all__ = ["logpdf", "pdf", "cdf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.chi2.")  # errors name the function the user called

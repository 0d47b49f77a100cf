"""The Beta distribution, as ``scipy.stats.beta``: ``logpdf pdf cdf`` of
``(x, a, b, loc=0, scale=1)``. The densities are differentiable with respect to all five;
``cdf`` with respect to ``x``, ``loc`` and ``scale`` (``a`` and ``b`` raise
``NotImplementedError``: no closed form, as in HIPS autograd).

>>> import autonn as an
>>> an.stats.beta.cdf(an.tensor([0.5]), 2.0, 2.0)
tensor([0.5])
"""
from __future__ import annotations

import numpy as np

from ..ops.elementary import exp
from ..ops.special import betainc, betaln, xlog1py, xlogy
from ..tensor import Tensor, TensorLike
from ._common import data_of, log_of, on_support, standardize, tensor_arg


def _betaln(a, b):
    if isinstance(a, float) and isinstance(b, float):
        from scipy.special import betaln as f
        return float(f(a, b))
    return betaln(a, b)


def logpdf(x: TensorLike, a: TensorLike, b: TensorLike, loc: TensorLike = 0.0,
           scale: TensorLike = 1.0) -> Tensor:
    """Log of the Beta density ``xlogy(a - 1, z) + xlog1py(b - 1, -z) - betaln(a, b) -
    log(scale)``; ``-inf`` outside ``[0, 1]``.

    >>> import autonn as an
    >>> an.stats.beta.logpdf(an.tensor([0.5]), 2.0, 2.0)
    tensor([0.40546511])
    """
    z, a, b = standardize(x, loc, scale), tensor_arg(a), tensor_arg(b)
    zd = data_of(z)
    return on_support((zd >= 0) & (zd <= 1), z, 0.5,
                      lambda z: xlogy(a - 1, z) + xlog1py(b - 1, -z), -np.inf) \
        - _betaln(a, b) - log_of(tensor_arg(scale))


def pdf(x: TensorLike, a: TensorLike, b: TensorLike, loc: TensorLike = 0.0,
        scale: TensorLike = 1.0) -> Tensor:
    """The Beta density.

    >>> import autonn as an
    >>> an.stats.beta.pdf(an.tensor([0.5]), 2.0, 2.0)
    tensor([1.5])
    """
    return exp(logpdf(x, a, b, loc, scale))


def cdf(x: TensorLike, a: TensorLike, b: TensorLike, loc: TensorLike = 0.0,
        scale: TensorLike = 1.0) -> Tensor:
    """The Beta distribution function ``betainc(a, b, z)`` (0 below 0, 1 above 1; ``a`` and
    ``b`` not differentiable).

    >>> import autonn as an
    >>> an.stats.beta.cdf(an.tensor([0.25]), 1.0, 1.0)
    tensor([0.25])
    """
    z = standardize(x, loc, scale)
    zd = data_of(z)
    return on_support((zd >= 0) & (zd <= 1), z, 0.5,
                      lambda z: betainc(tensor_arg(a), tensor_arg(b), z), (zd > 1) * 1.0)


__all__ = ["logpdf", "pdf", "cdf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.beta.")  # errors name the function the user called

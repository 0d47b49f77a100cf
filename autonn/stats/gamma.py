"""The Gamma distribution, as ``scipy.stats.gamma``: ``logpdf pdf cdf`` of
``(x, a, loc=0, scale=1)``. The densities are differentiable with respect to all four; ``cdf``
with respect to ``x``, ``loc`` and ``scale`` (``a`` raises ``NotImplementedError``: no closed
form, as in HIPS autograd).

>>> import autonn as an
>>> an.stats.gamma.pdf(an.tensor([1.0]), 1.0)
tensor([0.36787944])
"""
from __future__ import annotations

import numpy as np

from ..ops.elementary import exp
from ..ops.special import gammainc, xlogy
from ..tensor import Tensor, TensorLike
from ._common import data_of, gammaln_of, log_of, on_support, standardize, tensor_arg


def logpdf(x: TensorLike, a: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """Log of the Gamma density ``xlogy(a - 1, z) - z - gammaln(a) - log(scale)``; ``-inf``
    for ``z < 0``.

    >>> import autonn as an
    >>> an.stats.gamma.logpdf(an.tensor([1.0]), 2.0)
    tensor([-1.])
    """
    z, a = standardize(x, loc, scale), tensor_arg(a)
    return on_support(data_of(z) >= 0, z, 1.0, lambda z: xlogy(a - 1, z) - z, -np.inf) \
        - gammaln_of(a) - log_of(tensor_arg(scale))


def pdf(x: TensorLike, a: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The Gamma density.

    >>> import autonn as an
    >>> an.stats.gamma.pdf(an.tensor([1.0]), 2.0)
    tensor([0.36787944])
    """
    return exp(logpdf(x, a, loc, scale))


def cdf(x: TensorLike, a: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The Gamma distribution function ``gammainc(a, z)`` (0 for ``z < 0``; ``a`` not
    differentiable).

    >>> import autonn as an
    >>> an.stats.gamma.cdf(an.tensor([1.0]), 1.0)
    tensor([0.63212056])
    """
    z = standardize(x, loc, scale)
    return on_support(data_of(z) >= 0, z, 1.0, lambda z: gammainc(tensor_arg(a), z), 0.0)


__all__ = ["logpdf", "pdf", "cdf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.gamma.")  # errors name the function the user called

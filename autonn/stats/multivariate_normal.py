"""The multivariate normal distribution, as ``scipy.stats.multivariate_normal``: ``logpdf pdf``
of ``(x, mean=None, cov=1)`` and ``entropy(mean=None, cov=1)``, differentiable with respect to
``x``, ``mean`` and ``cov`` (every order). The last axis of ``x`` is the dimension (as SciPy:
for a one-dimensional distribution a vector ``x`` holds several points); ``cov`` is a symmetric
positive definite matrix, a vector (its diagonal) or a number (times the identity).

The gradient with respect to ``cov`` is the one of the formula with the full matrix
(``0.5 (S^-1 d d^T S^-1 - S^-1)`` for ``logpdf``, as HIPS autograd): it is not symmetrized, so a
parametrization of ``cov`` (e.g. ``L @ L.T``) gets the right gradient through it. As SciPy,
the result's unit axes are squeezed.

>>> import autonn as an
>>> an.stats.multivariate_normal.logpdf(an.tensor([0.0, 0.0]), cov=an.eye(2))
tensor(-1.83787707)
"""
from __future__ import annotations

import math

import numpy as np

from ..ops.elementary import exp
from ..ops.linalg import matmul
from ..ops.linalg_ops import inv, slogdet
from ..ops.reduce import sum as _sum
from ..ops.shape import squeeze
from ..tensor import Tensor, TensorLike
from ._common import standardize

_LOG_2PI = math.log(2 * math.pi)


def _parameters(mean, cov, fn):
    """``mean`` (a Tensor of shape (d,), or None) and ``cov`` as a (d, d) Tensor."""
    cov = standardize(cov, 0.0, 1.0)
    mean = None if mean is None else standardize(mean, 0.0, 1.0)
    d = mean.shape[-1] if mean is not None and mean.ndim else \
        cov.shape[0] if cov.ndim else 1
    if cov.ndim == 0 or cov.ndim == 1:
        from ..creation import eye
        cov = eye(d, dtype=cov.dtype) * cov  # c * I, or diag(v)
    if cov.ndim != 2 or cov.shape != (d, d) or (mean is not None and mean.ndim > 1):
        raise ValueError(f"{fn}: cov must be a number, a vector or a ({d}, {d}) matrix and mean "
                         f"a vector of {d}; got shapes {cov.shape} and "
                         f"{None if mean is None else mean.shape}")
    try:
        np.linalg.cholesky(cov.data)
    except np.linalg.LinAlgError:
        raise ValueError(f"{fn}: cov must be symmetric positive definite") from None
    return mean, cov, d


def logpdf(x: TensorLike, mean: TensorLike | None = None, cov: TensorLike = 1,
           allow_singular: bool = False) -> Tensor:
    """Log of the multivariate normal density at the points ``x`` (last axis: dimension).

    >>> import autonn as an
    >>> an.stats.multivariate_normal.logpdf(an.tensor([[0.0, 0.0], [1.0, 1.0]]),
    ...                                     mean=an.zeros(2), cov=an.eye(2))
    tensor([-1.83787707, -2.83787707])
    """
    if allow_singular:
        raise NotImplementedError("multivariate_normal.logpdf: allow_singular=True is not "
                                  "supported (not differentiable at a singular cov)")
    mean, cov, d = _parameters(mean, cov, "multivariate_normal.logpdf")
    x = standardize(x, 0.0, 1.0)
    if x.ndim == 0 or (d == 1 and x.ndim == 1):
        x = x.reshape(x.shape + (1,))  # one 1-d point, or many 1-d points
    if x.shape[-1] != d:
        raise ValueError(f"multivariate_normal.logpdf: x has {x.shape[-1]} components on its "
                         f"last axis, the distribution {d}")
    diff = x if mean is None else x - mean
    quad = _sum(matmul(diff, inv(cov)) * diff, axis=-1)
    out = -0.5 * (quad + slogdet(cov)[1] + d * _LOG_2PI)
    return squeeze(out) if 1 in out.shape else out  # SciPy squeezes unit axes


def pdf(x: TensorLike, mean: TensorLike | None = None, cov: TensorLike = 1,
        allow_singular: bool = False) -> Tensor:
    """The multivariate normal density.

    >>> import autonn as an
    >>> an.stats.multivariate_normal.pdf(an.tensor([0.0]), cov=1.0)
    tensor(0.39894228)
    """
    return exp(logpdf(x, mean, cov, allow_singular))


def entropy(mean: TensorLike | None = None, cov: TensorLike = 1) -> Tensor:
    """Differential entropy ``0.5 (d log(2 pi e) + log det cov)``; ``mean`` does not enter.

    >>> import autonn as an
    >>> an.stats.multivariate_normal.entropy(cov=an.eye(2))
    tensor(2.83787707)
    """
    mean, cov, d = _parameters(mean, cov, "multivariate_normal.entropy")
    return 0.5 * (slogdet(cov)[1] + d * (_LOG_2PI + 1))


__all__ = ["logpdf", "pdf", "entropy"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.multivariate_normal.")  # errors name the function the user called

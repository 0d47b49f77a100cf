"""The Dirichlet distribution, as ``scipy.stats.dirichlet``: ``logpdf pdf`` of ``(x, alpha)``,
differentiable with respect to both. As in SciPy, the components are along the *first* axis of
``x`` (shape ``(K,)`` or ``(K, N)`` for N points), which may also hold ``K - 1`` components (the
last is then ``1 - sum``); ``x`` must lie in the simplex.

>>> import autonn as an
>>> an.stats.dirichlet.pdf(an.tensor([0.2, 0.8]), an.tensor([1.0, 1.0]))
tensor(1.)
"""
from __future__ import annotations

import numpy as np

from ..ops.elementary import exp
from ..ops.reduce import sum as _sum
from ..ops.shape import concatenate, squeeze
from ..ops.special import gammaln, xlogy
from ..tensor import Tensor, TensorLike, as_tensor
from ._common import standardize


def _check(x, alpha):
    a, xd = alpha.data, x.data
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"dirichlet: alpha must be a vector of at least 2 entries, got shape "
                         f"{a.shape}")
    if np.any(a <= 0):
        raise ValueError("dirichlet: every entry of alpha must be > 0")
    if xd.ndim not in (1, 2) or xd.shape[0] not in (a.size, a.size - 1):
        raise ValueError(f"dirichlet: x must have shape (K,) or (K, N) with K = {a.size} "
                         f"(or K - 1) components along its first axis, got {xd.shape}")


def logpdf(x: TensorLike, alpha: TensorLike) -> Tensor:
    """Log of the Dirichlet density ``sum((alpha - 1) log x) - lnB(alpha)`` over the first
    axis (a scalar, or one value per column of a ``(K, N)`` x).

    >>> import autonn as an
    >>> an.stats.dirichlet.logpdf(an.tensor([0.5, 0.5]), an.tensor([2.0, 2.0]))
    tensor(0.40546511)
    """
    x = standardize(x, 0.0, 1.0)
    alpha = as_tensor(alpha)
    if alpha.data.dtype.kind != "f":
        alpha = standardize(alpha, 0.0, 1.0)
    _check(x, alpha)
    if x.shape[0] == alpha.shape[0] - 1:
        x = concatenate([x, 1 - _sum(x, axis=0, keepdims=True)], axis=0)
    xd = x.data
    if np.any(xd < 0) or np.any(xd > 1) or np.any(np.abs(np.sum(xd, 0) - 1) > 1e-9):
        raise ValueError(f"dirichlet: x must lie in the simplex (entries in [0, 1] summing to 1 "
                         f"along the first axis); the sums are {np.sum(xd, 0)}")
    column = alpha.reshape((alpha.shape[0],) + (1,) * (x.ndim - 1))
    log_b = _sum(gammaln(alpha)) - gammaln(_sum(alpha))
    out = _sum(xlogy(column - 1, x), axis=0) - log_b
    return squeeze(out) if 1 in out.shape else out  # SciPy squeezes unit axes


def pdf(x: TensorLike, alpha: TensorLike) -> Tensor:
    """The Dirichlet density.

    >>> import autonn as an
    >>> an.stats.dirichlet.pdf(an.tensor([0.5, 0.5]), an.tensor([2.0, 2.0]))
    tensor(1.5)
    """
    return exp(logpdf(x, alpha))


__all__ = ["logpdf", "pdf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.dirichlet.")  # errors name the function the user called

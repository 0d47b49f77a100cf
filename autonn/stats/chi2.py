"""The chi-squared distribution, as ``scipy.stats.chi2``: ``logpdf pdf cdf`` of
``(x, df, loc=0, scale=1)``, the Gamma distribution with ``a = df / 2`` and twice the scale
(``autonn.stats.gamma``). The densities are differentiable with respect to all four (HIPS
autograd: ``x`` only); ``cdf`` with respect to ``x``, ``loc`` and ``scale`` (``df`` raises
``NotImplementedError``: no closed form).

>>> import autonn as an
>>> an.stats.chi2.cdf(an.tensor([2.0]), 2.0)
tensor([0.63212056])
"""
from __future__ import annotations

from ..ops.elementary import exp
from ..tensor import Tensor, TensorLike
from . import gamma
from ._common import tensor_arg

# gamma's functions unwrapped (functools.wraps keeps them): an error names chi2's function only
_gamma_logpdf, _gamma_cdf = gamma.logpdf.__wrapped__, gamma.cdf.__wrapped__  # type: ignore[attr-defined]


def logpdf(x: TensorLike, df: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """Log of the chi-squared density; ``-inf`` for ``z < 0``.

    >>> import autonn as an
    >>> an.stats.chi2.logpdf(an.tensor([2.0]), 2.0)
    tensor([-1.69314718])
    """
    return _gamma_logpdf(x, tensor_arg(df) / 2, loc, 2 * tensor_arg(scale))


def pdf(x: TensorLike, df: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The chi-squared density.

    >>> import autonn as an
    >>> an.stats.chi2.pdf(an.tensor([2.0]), 2.0)
    tensor([0.18393972])
    """
    return exp(logpdf(x, df, loc, scale))


def cdf(x: TensorLike, df: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The chi-squared distribution function ``gammainc(df / 2, z / 2)`` (0 for ``z < 0``;
    ``df`` not differentiable).

    >>> import autonn as an
    >>> an.stats.chi2.cdf(an.tensor([2.0]), 2.0)
    tensor([0.63212056])
    """
    return _gamma_cdf(x, tensor_arg(df) / 2, loc, 2 * tensor_arg(scale))


__all__ = ["logpdf", "pdf", "cdf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.chi2.")  # errors name the function the user called

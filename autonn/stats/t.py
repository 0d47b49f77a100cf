"""Student's t distribution, as ``scipy.stats.t``: ``logpdf pdf cdf logcdf`` of
``(x, df, loc=0, scale=1)``. The densities are differentiable with respect to all four; the cdfs
with respect to ``x``, ``loc`` and ``scale`` (``df`` raises ``NotImplementedError``: no closed
form, as in HIPS autograd).

>>> import autonn as an
>>> an.stats.t.cdf(an.tensor([0.0]), 3.0)
tensor([0.5])
"""
from __future__ import annotations

from ..ops.elementary import exp, log
from ..ops.special import _t_logpdf, stdtr
from ..tensor import Tensor, TensorLike
from ._common import log_of, standardize, tensor_arg


def logpdf(x: TensorLike, df: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """Log of the t density.

    >>> import autonn as an
    >>> an.stats.t.logpdf(an.tensor([0.0]), 1.0)
    tensor([-1.14472989])
    """
    return _t_logpdf(standardize(x, loc, scale), tensor_arg(df)) - log_of(tensor_arg(scale))


def pdf(x: TensorLike, df: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The t density.

    >>> import autonn as an
    >>> an.stats.t.pdf(an.tensor([0.0]), 1.0)
    tensor([0.31830989])
    """
    return exp(logpdf(x, df, loc, scale))


def cdf(x: TensorLike, df: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """The t distribution function (``df`` not differentiable).

    >>> import autonn as an
    >>> an.stats.t.cdf(an.tensor([0.0]), 1.0)
    tensor([0.5])
    """
    return stdtr(tensor_arg(df), standardize(x, loc, scale))


def logcdf(x: TensorLike, df: TensorLike, loc: TensorLike = 0.0, scale: TensorLike = 1.0) -> Tensor:
    """Log of the t distribution function (``df`` not differentiable).

    >>> import autonn as an
    >>> an.stats.t.logcdf(an.tensor([0.0]), 1.0)
    tensor([-0.69314718])
    """
    return log(cdf(x, df, loc, scale))


__all__ = ["logpdf", "pdf", "cdf", "logcdf"]


from ..ops._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "stats.t.")  # errors name the function the user called

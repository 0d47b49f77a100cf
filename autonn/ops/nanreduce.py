"""Reductions that skip NaNs, weighted averages and ranges: ``nansum nanmean nanvar nanstd
average ptp amax amin``. NaN entries get a zero gradient."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..tensor import Tensor, as_tensor
from ._axes import normalize_axes, normalize_axis
from .elementwise import sqrt, where
from .reduce import max, min, sum


class WeightsSumToZero(ValueError, ZeroDivisionError):
    """Raised by ``average`` (NumPy raises ZeroDivisionError; this is also a ValueError)."""


__all__ = ["nansum", "nanmean", "nanvar", "nanstd", "average", "ptp", "amax", "amin"]


def _nan_parts(a, axis, dtype, op_name):
    """``a``'s NaN mask and ``a`` with its NaNs replaced by 0, cast to ``dtype`` if given (the
    axis argument is checked first, naming the op)."""
    a = as_tensor(a)
    normalize_axes(axis, a.ndim, op_name)
    nan = np.isnan(a.data)
    clean = where(nan, 0, a) if nan.any() else a
    return nan, clean if dtype is None else clean.astype(dtype)


def _count(nan, axis, keepdims):
    return np.sum(~nan, axis=axis, keepdims=keepdims)


def _mean_of_clean(clean, nan, axis, keepdims):
    """The mean of the elements that are not NaN (``clean`` holds them, and 0 for the NaNs):
    NaN where all are."""
    count = np.asarray(_count(nan, axis, keepdims), dtype=clean.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sum(clean, axis=axis, keepdims=keepdims) / Tensor._make(count)


def nansum(a: Any, axis: Any = None, dtype: DTypeLike | None = None,
           keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` treating NaNs as zero.

    >>> import autonn as an
    >>> an.nansum(an.tensor([1.0, float("nan"), 2.0])).item()
    3.0
    """
    _, clean = _nan_parts(a, axis, dtype, "nansum")
    return sum(clean, axis=axis, keepdims=keepdims)


def nanmean(a: Any, axis: Any = None, dtype: DTypeLike | None = None,
            keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` of the elements that are not NaN (NaN where all are).

    >>> import autonn as an
    >>> an.nanmean(an.tensor([1.0, float("nan"), 2.0])).item()
    1.5
    """
    nan, clean = _nan_parts(a, axis, dtype, "nanmean")
    return _mean_of_clean(clean, nan, axis, keepdims)


def nanvar(a: Any, axis: Any = None, dtype: DTypeLike | None = None, ddof: int = 0,
           keepdims: bool = False) -> Tensor:
    """Variance over ``axis`` of the elements that are not NaN, with NumPy's ``ddof``.

    >>> import autonn as an
    >>> an.nanvar(an.tensor([1.0, float("nan"), 3.0])).item()
    1.0
    """
    nan, clean = _nan_parts(a, axis, dtype, "nanvar")
    mean = _mean_of_clean(clean, nan, axis, True)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = where(nan, 0, clean - mean)
        dof = np.asarray(_count(nan, axis, keepdims) - ddof, dtype=clean.dtype)
        return sum(dev * dev, axis=axis, keepdims=keepdims) / Tensor._make(
            np.where(dof > 0, dof, np.nan).astype(clean.dtype))


def nanstd(a: Any, axis: Any = None, dtype: DTypeLike | None = None, ddof: int = 0,
           keepdims: bool = False) -> Tensor:
    """Standard deviation over ``axis`` of the elements that are not NaN.

    >>> import autonn as an
    >>> an.nanstd(an.tensor([1.0, float("nan"), 3.0])).item()
    1.0
    """
    return sqrt(nanvar(a, axis, dtype, ddof, keepdims))


def average(a: Any, axis: Any = None, weights: Any = None, returned: Any = False,
            keepdims: bool = False) -> Any:
    """Weighted mean over ``axis`` (NumPy's ``average``); differentiable in ``a`` and the
    ``weights``. With ``returned=True``, also the sum of the weights.

    >>> import autonn as an
    >>> an.average(an.tensor([1.0, 3.0]), weights=an.tensor([3.0, 1.0])).item()
    1.5
    """
    a = as_tensor(a)
    axes = normalize_axes(axis, a.ndim, "average")
    if weights is None:
        n = int(np.prod([a.shape[i] for i in axes]))
        if n == 0:
            raise ValueError(f"average: reducing axes {axes} of shape {a.shape} which have no "
                             "elements")
        avg = sum(a, axis=axis, keepdims=keepdims) / n
        scl = Tensor._make(np.full(avg.shape, n, dtype=avg.dtype))
    else:
        w = as_tensor(weights)
        if w.shape != a.shape:
            if axis is None:
                raise TypeError(f"average: axis must be given when the shapes of a {a.shape} and "
                                f"weights {w.shape} differ")
            if w.ndim != 1:
                raise TypeError(f"average: 1-D weights expected when the shapes of a {a.shape} "
                                f"and weights {w.shape} differ")
            ax = normalize_axis(axis, a.ndim, "average") if not isinstance(axis, tuple) else None
            if ax is None or w.shape[0] != a.shape[ax]:
                raise ValueError(f"average: the length of weights {w.shape} differs from that "
                                 f"of a {a.shape} along axis {axis}")
            w = w.reshape((1,) * ax + w.shape + (1,) * (a.ndim - ax - 1))
        scl = sum(w * np.ones(a.shape, dtype=np.result_type(w.data, a.data, 1.0)),
                  axis=axis, keepdims=keepdims)
        if np.any(scl.data == 0):
            raise WeightsSumToZero("average: the weights sum to zero, can't be normalized")
        avg = sum(a * w, axis=axis, keepdims=keepdims) / scl
    return (avg, scl) if returned else avg


def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Range (maximum minus minimum) over ``axis``.

    >>> import autonn as an
    >>> an.ptp(an.tensor([4.0, 9.0, 1.0])).item()
    8.0
    """
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def amax(a: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Largest value over ``axis`` (NumPy's ``amax``, the same as ``max``).

    >>> import autonn as an
    >>> an.amax(an.tensor([1.0, 5.0])).item()
    5.0
    """
    return max(a, axis=axis, keepdims=keepdims)


def amin(a: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Smallest value over ``axis`` (NumPy's ``amin``, the same as ``min``).

    >>> import autonn as an
    >>> an.amin(an.tensor([1.0, 5.0])).item()
    1.0
    """
    return min(a, axis=axis, keepdims=keepdims)


from .gather import name_errors  # noqa: E402

name_errors(globals())  # errors raised inside name the function called

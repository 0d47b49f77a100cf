"""Numba kernels of compiled plans (each with its NumPy twin in ``_kernels_numpy``).

* ``relu_backward_colsum``: the relu derivative times the incoming gradient and the column sums
  of the result (a linear layer's bias gradient), in one pass; the same bits as the eager
  ``where(pre > 0, g, 0)`` and ``np.add.reduce(axis=0)`` (rows added in order).
* ``cross_entropy_forward_backward``: softmax cross entropy's summed log-likelihood and its
  unscaled gradient ``softmax - onehot`` with one exponential per logit (libm's; eager mode
  takes ``exp(log_softmax)`` with NumPy's SIMD exp, one more rounding): within a few ulp of
  eager's values, see docs/compile.md. Returns NaN (and writes nothing) if a label is outside
  ``[0, C)``.
"""
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from ..kernels import _fastload


def _kernel(fn: Callable[..., Any]) -> Any:
    """A cached kernel whose cache hits load without Numba's compiler registries."""
    return _fastload.install(njit(cache=True)(fn))


@njit(cache=True)
def _scalar(dtype_like: np.ndarray, value: float) -> Any:
    """``value`` in the dtype of the array ``dtype_like`` (so arithmetic stays in it)."""
    t = np.empty(1, dtype_like.dtype)
    t[0] = value
    return t[0]


@_kernel
def relu_backward_colsum(pre: np.ndarray, g: np.ndarray, dpre: np.ndarray, db: np.ndarray) -> None:
    n, m = pre.shape
    zero = _scalar(g, 0.0)
    for j in range(m):
        db[j] = zero
    if n == 0:
        return
    for j in range(m):
        v = g[0, j] if pre[0, j] > 0 else zero
        dpre[0, j] = v
        db[j] = v
    for i in range(1, n):
        for j in range(m):
            v = g[i, j] if pre[i, j] > 0 else zero
            dpre[i, j] = v
            db[j] += v


@_kernel
def cross_entropy_forward_backward(x: np.ndarray, labels: np.ndarray, d: np.ndarray) -> float:
    n, C = x.shape
    for i in range(n):
        if labels[i] < 0 or labels[i] >= C:
            return np.nan  # the caller names the label
    total = 0.0
    one = _scalar(x, 1.0)
    for i in range(n):
        m = x[i, 0]
        for j in range(1, C):
            v = x[i, j]
            if m == m and not v <= m:  # NaN propagates, as np.maximum.reduce
                m = v
        s = 0.0
        for j in range(C):
            e = math.exp(x[i, j] - m)
            d[i, j] = e
            s += e
        lse = _scalar(x, math.log(s))
        r = _scalar(x, 1.0 / s)
        for j in range(C):
            d[i, j] *= r
        lab = labels[i]
        total += (x[i, lab] - m) - lse
        d[i, lab] -= one
    return total

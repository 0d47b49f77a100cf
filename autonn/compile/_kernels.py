"""Numba kernels of compiled plans (each with its NumPy twin in ``_kernels_numpy``).

* ``relu_backward_colsum``: the relu derivative times the incoming gradient and the column sums
  of the result (a linear layer's bias gradient), in one pass; the same bits as the eager
  ``where(pre > 0, g, 0)`` and ``np.add.reduce(axis=0)`` (rows added in order).
* ``cross_entropy_forward_backward``: softmax cross entropy's loss and its unscaled gradient
  ``softmax - onehot`` in one pass over the logits. The exponentials come from libm (eager
  mode's NumPy twin uses NumPy's SIMD exp): within 2 ulp of eager's values, see docs/compile.md.
"""
import math

import numpy as np
from numba import njit


@njit(cache=True)
def _scalar(dtype_like, value):
    """``value`` in the dtype of the array ``dtype_like`` (so arithmetic stays in it)."""
    t = np.empty(1, dtype_like.dtype)
    t[0] = value
    return t[0]


@njit(cache=True)
def relu_backward_colsum(pre, g, dpre, db):
    n, m = pre.shape
    zero = _scalar(g, 0.0)
    for j in range(m):
        db[j] = zero
    for i in range(n):
        for j in range(m):
            v = g[i, j] if pre[i, j] > 0 else zero
            dpre[i, j] = v
            db[j] = v if i == 0 else db[j] + v


@njit(cache=True)
def cross_entropy_forward_backward(x, labels, d):
    n, C = x.shape
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
            s += math.exp(x[i, j] - m)
        lse = _scalar(x, math.log(s))
        lab = labels[i]
        for j in range(C):
            lp = (x[i, j] - m) - lse
            p = math.exp(lp)
            if j == lab:
                total += lp
                p -= one
            d[i, j] = p
    return total

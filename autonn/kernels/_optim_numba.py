"""Numba kernels of the fused optimizer updates: one pass over a parameter, no temporaries.

Each loop body is its NumPy twin (``_optim_numpy``) written per element, with the same
roundings in the same order (the caller rounds every hyperparameter to the dtype first, as
NumPy's weak scalars do), so the results are bit-identical; the parity tests check it.
"""
import math

from numba import prange

from ._config import COST_ARITH, COST_POLY
from ._numba import kernel


@kernel((COST_ARITH, COST_ARITH))
def sgd_update(p, g, buf, lr, use_wd, wd, momentum, keep, use_momentum, first, nesterov,
               maximize):
    """p -= lr * d; d = g (+ wd p) through the momentum buffer (``keep`` = 1 - dampening)."""
    for i in prange(p.shape[0]):
        d = -g[i] if maximize else g[i]
        if use_wd:
            d = d + wd * p[i]
        if use_momentum:
            b = d if first else buf[i] * momentum + keep * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] - lr * d


@kernel((COST_POLY, COST_POLY))
def adam_update(p, g, m, v, vmax, amsgrad, lr_decay, use_wd, wd, w, one_minus_w, small_w, beta2,
                one_minus_beta2, bc2_sqrt, eps, neg_step_size, decoupled, maximize):
    """Adam/AdamW per element: the twin's decay, lerp, second moment, AMSGrad max, update."""
    for i in prange(p.shape[0]):
        gi = -g[i] if maximize else g[i]
        pi = p[i]
        if use_wd:
            if decoupled:
                pi = pi * lr_decay
            else:
                gi = gi + wd * pi
        mi = m[i]
        if small_w:
            mi = mi + w * (gi - mi)
        else:
            mi = gi - (gi - mi) * one_minus_w
        m[i] = mi
        vi = v[i] * beta2 + one_minus_beta2 * gi * gi
        v[i] = vi
        if amsgrad:
            vm = vmax[i]
            if vi > vm or vi != vi:  # np.maximum: NaN wins
                vm = vi
            vmax[i] = vm
            vi = vm
        denom = math.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + neg_step_size * (mi / denom)

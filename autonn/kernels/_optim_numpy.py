"""NumPy twins of the fused optimizer updates (the reference the Numba kernels match bit for bit).

Each function updates ``p`` (and its state arrays) in place with PyTorch's formulas, in the
parameter's dtype: Python-float hyperparameters act as NumPy weak scalars (rounded to the
dtype before each operation), exactly as the per-parameter NumPy code of ``an.optim`` did.
"""
import numpy as np


def sgd_step(p, g, lr, weight_decay=0.0, momentum=0.0, dampening=0.0, nesterov=False,
             maximize=False, buf=None):
    """PyTorch's SGD update of ``p`` in place; returns the momentum buffer (None without momentum).

    >>> p = np.array([1.0, 2.0]); sgd_step(p, np.array([2.0, 4.0]), lr=0.1); p
    array([0.8, 1.6])
    """
    d_p = -g if maximize else g
    if weight_decay != 0:
        d_p = d_p + weight_decay * p
    if momentum != 0:
        if buf is None:  # the first step: the buffer is the gradient
            buf = np.array(d_p, dtype=p.dtype, copy=True)
        else:
            buf *= momentum
            buf += (1 - dampening) * d_p
        d_p = d_p + momentum * buf if nesterov else buf
    p -= lr * d_p
    return buf


def _lerp_(a, b, w):
    """``a += w * (b - a)`` in place, with the two-sided form PyTorch's ``lerp_`` uses."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
              weight_decay=0.0, decoupled=False, maximize=False):
    """PyTorch's Adam (``decoupled``: AdamW) update of ``p`` and its moments in place, at step
    number ``step`` (1 for the first); ``max_exp_avg_sq`` is the AMSGrad state or None.

    >>> p = np.array([1.0]); m, v = np.zeros(1), np.zeros(1)
    >>> adam_step(p, np.array([2.0]), m, v, None, 1, 0.1, 0.9, 0.999, 1e-8); p.round(6)
    array([0.9])
    """
    grad = -g if maximize else g
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * p
    _lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = np.sqrt(max_exp_avg_sq) / bias_correction2_sqrt
    else:
        denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt
    denom += eps
    p += -step_size * (exp_avg / denom)

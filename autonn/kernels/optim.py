"""Fused optimizer updates: each parameter is updated in one pass with no temporaries.

``an.optim`` calls these for every parameter. Large float32/float64 C-contiguous
parameters run a Numba kernel, always the serial variant: an update is memory-bound (two
threads gain little on it), and a parallel region right after the backward's BLAS calls
fights BLAS's own threads for the cores (a 784-512-256-10 step went from 4.6 to 15 ms);
everything else runs the NumPy twin in ``_optim_numpy``, with the same bits.
"""
import numpy as np

from . import _numba_for, _optim_numpy as _ref


def _fusable(p, *arrays):
    """True when every array is a C-contiguous array of p's shape and dtype."""
    if not p.flags.c_contiguous:
        return False
    for a in arrays:
        if a is not None and (a.shape != p.shape or a.dtype != p.dtype
                              or not a.flags.c_contiguous):
            return False
    return True


def sgd_step(p, g, lr, weight_decay=0.0, momentum=0.0, dampening=0.0, nesterov=False,
             maximize=False, buf=None):
    """PyTorch's SGD update of ``p`` in place; returns the momentum buffer (None without momentum).

    >>> import numpy as np
    >>> p = np.array([1.0, 2.0]); buf = sgd_step(p, np.array([2.0, 4.0]), lr=0.1, momentum=0.9)
    >>> p, buf
    (array([0.8, 1.6]), array([2., 4.]))
    """
    nb = _numba_for(p)
    if nb is None or not _fusable(p, g, buf):
        return _ref.sgd_step(p, g, lr, weight_decay, momentum, dampening, nesterov, maximize, buf)
    from . import _optim_numba as onb
    T = p.dtype.type
    first = momentum != 0 and buf is None
    if first:
        buf = np.empty_like(p)
    flat = p.reshape(-1)
    onb.sgd_update.ser(flat, g.reshape(-1), flat if buf is None else buf.reshape(-1), T(lr),
                       weight_decay != 0, T(weight_decay), T(momentum), T(1 - dampening),
                       momentum != 0, first, bool(nesterov), bool(maximize))
    return buf


def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
              weight_decay=0.0, decoupled=False, maximize=False):
    """PyTorch's Adam (``decoupled``: AdamW) update of ``p`` and its moments in place, at step
    number ``step`` (1 for the first); ``max_exp_avg_sq`` is the AMSGrad state or None.

    >>> import numpy as np
    >>> p = np.array([1.0]); m, v = np.zeros(1), np.zeros(1)
    >>> adam_step(p, np.array([2.0]), m, v, None, 1, 0.1, 0.9, 0.999, 1e-8); p.round(6), m
    (array([0.9]), array([0.2]))
    """
    nb = _numba_for(p)
    if nb is None or not _fusable(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq):
        return _ref.adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2,
                              eps, weight_decay, decoupled, maximize)
    from . import _optim_numba as onb
    T = p.dtype.type
    w = 1 - beta1
    flat = p.reshape(-1)
    ams = max_exp_avg_sq is not None
    onb.adam_update.ser(flat, g.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
                        max_exp_avg_sq.reshape(-1) if ams else flat, ams, T(1 - lr * weight_decay),
                        weight_decay != 0, T(weight_decay), T(w), T(1 - w), abs(w) < 0.5,
                        T(beta2), T(1 - beta2), T((1 - beta2 ** step) ** 0.5), T(eps),
                        T(-(lr / (1 - beta1 ** step))), bool(decoupled), bool(maximize))

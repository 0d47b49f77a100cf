"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's)."""
import numpy as np

from ..engine import no_grad
from .optimizer import Optimizer, _check_nonneg, required


class SGD(Optimizer):
    r"""PyTorch's SGD: ``g += wd * p``; with momentum ``buf = g`` at the first step, then
    ``buf = momentum * buf + (1 - dampening) * g``; ``g = g + momentum * buf`` (Nesterov) or
    ``g = buf``; finally ``p -= lr * g``.

    >>> import autonn as an
    >>> w = an.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = an.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); w
    tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        if lr is not required:
            _check_nonneg("lr", "learning rate", lr)
        _check_nonneg("momentum", "momentum value", momentum)
        _check_nonneg("weight_decay", "weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a ``.grad``; returns ``closure()`` if given.

        >>> import autonn as an
        >>> w = an.tensor([1.0], requires_grad=True); opt = an.optim.SGD([w], lr=0.5, momentum=0.9)
        >>> (w * w).sum().backward(); opt.step(); opt.step(); w   # buf 2, then 0.9*2 + 2
        tensor([-1.9], requires_grad=True)
        """
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            if momentum == 0 and wd == 0 and not group.get("maximize", False):
                for p in group["params"]:  # plain SGD: one temporary per parameter
                    g = p.grad
                    if g is not None:
                        p.data -= lr * np.asarray(g.data)
                continue
            for p, grad in self._params_with_grad(group):
                d_p = -grad if group.get("maximize", False) else grad
                if wd != 0:
                    d_p = d_p + wd * p.data
                if momentum != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(d_p, dtype=p.dtype, copy=True)
                        state["momentum_buffer"] = buf
                    else:
                        buf *= momentum
                        buf += (1 - dampening) * d_p
                    d_p = d_p + momentum * buf if nesterov else buf
                p.data -= lr * d_p
        return loss

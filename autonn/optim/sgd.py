"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's)."""
from ..engine import no_grad
from ..saved import unlocked
from ..kernels import _config
from ..kernels import optim as fused
from .optimizer import Optimizer, _check_nonneg, required


_SMALL = _config.NUMBA_MIN_SIZE  # smaller parameters always take the NumPy twin


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
            maximize = group.get("maximize", False)
            if momentum == 0 and wd == 0 and not maximize:  # plain SGD: p -= lr * g
                for p in group["params"]:
                    g = p._grad
                    if g is None:
                        continue
                    with unlocked(p) as data:  # bumps p's version
                        if data.size < _SMALL:  # the twin's one expression, no dispatch
                            data -= lr * g.data
                        else:
                            fused.sgd_step(data, g.data, lr)
                continue
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                state = self.state.setdefault(p, {}) if momentum != 0 else None
                buf = None if state is None else state.get("momentum_buffer")
                with unlocked(p) as data:
                    buf = fused.sgd_step(data, g.data, lr, wd, momentum, dampening, nesterov,
                                         maximize, buf)
                if state is not None:
                    state["momentum_buffer"] = buf
        return loss

"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import no_grad
from ..kernels import _config, optim as fused
from ..saved import bump_all, unlocked
from .optimizer import Optimizer, Params, _check_nonneg, required

_SMALL = _config.NUMBA_MIN_SIZE  # smaller parameters always take the NumPy twin


def _plain_step(data, g, lr):
    """``data -= lr * g`` in place: the twin's one expression for small arrays (no dispatch)."""
    if data.size < _SMALL:
        data -= lr * g
    else:
        fused.sgd_step(data, g, lr)


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

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False) -> None:
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
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
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
                written = []  # parameters no graph holds (the usual case): written directly
                for p in group["params"]:
                    g = p._grad
                    if g is None:
                        continue
                    data = p.data
                    if not data.flags.writeable:  # held by a graph
                        with unlocked(p) as data:  # bumps p's version
                            _plain_step(data, g.data, lr)
                    elif data.size < _SMALL:  # the twin's one expression, no dispatch
                        data -= lr * g.data
                        written.append(data)
                    else:
                        fused.sgd_step(data, g.data, lr)
                        written.append(data)
                bump_all(written)  # their versions
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

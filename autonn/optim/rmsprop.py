"""RMSprop (PyTorch's algorithm, with momentum and the centered variant)."""
import numpy as np

from ..engine import no_grad
from ..saved import unlocked
from ..kernels._optim_numpy import _lerp_
from .optimizer import Optimizer, _check_nonneg, _step_count


class RMSprop(Optimizer):
    r"""PyTorch's RMSprop: ``g += wd * p``; ``v = alpha v + (1 - alpha) g²``; centered:
    ``ga = lerp(ga, g, 1 - alpha)``, ``avg = sqrt(v - ga²) + eps``, else ``avg = sqrt(v) + eps``;
    with momentum ``buf = momentum buf + g / avg``, ``p -= lr buf``; without, ``p -= lr g / avg``.

    >>> import autonn as an
    >>> w = an.tensor([1.0], requires_grad=True); opt = an.optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)   # 1 - 0.01 * 2 / sqrt(0.01 * 4)
    0.9
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        _check_nonneg("lr", "learning rate", lr)
        _check_nonneg("eps", "epsilon value", eps)
        _check_nonneg("momentum", "momentum value", momentum)
        _check_nonneg("weight_decay", "weight_decay value", weight_decay)
        _check_nonneg("alpha", "alpha value", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a ``.grad``; returns ``closure()`` if given.

        >>> import autonn as an
        >>> w = an.tensor([1.0], requires_grad=True); opt = an.optim.RMSprop([w], lr=0.01, momentum=0.9)
        >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
        0.9
        """
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p, grad in self._params_with_grad(group):
                if group.get("maximize", False):
                    grad = -grad
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = np.zeros((), dtype=np.float32)
                    state["square_avg"] = np.zeros_like(p.data)
                    if momentum > 0:
                        state["momentum_buffer"] = np.zeros_like(p.data)
                    if centered:
                        state["grad_avg"] = np.zeros_like(p.data)
                _step_count(state)
                if wd != 0:
                    grad = grad + wd * p.data
                square_avg = state["square_avg"]
                square_avg *= alpha
                square_avg += (1 - alpha) * grad * grad
                if centered:
                    grad_avg = state["grad_avg"]
                    _lerp_(grad_avg, grad, 1 - alpha)
                    avg = np.sqrt(square_avg - grad_avg * grad_avg)
                else:
                    avg = np.sqrt(square_avg)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += grad / avg
                    step = -lr * buf
                else:
                    step = -lr * (grad / avg)
                with unlocked(p) as data:  # bumps p's version
                    data += step
        return loss

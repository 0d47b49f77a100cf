"""Adam and AdamW (PyTorch's algorithms, including AMSGrad)."""
import numpy as np

from ..engine import no_grad
from ..saved import unlocked
from ..kernels import optim as fused
from .optimizer import Optimizer, _check_nonneg, _step_count


def _check_adam(lr, betas, eps, weight_decay):
    _check_nonneg("lr", "learning rate", lr)
    _check_nonneg("eps", "epsilon value", eps)
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    _check_nonneg("weight_decay", "weight_decay value", weight_decay)


class Adam(Optimizer):
    r"""PyTorch's Adam: ``g += wd * p``; ``m = lerp(m, g, 1 - b1)``;
    ``v = b2 v + (1 - b2) g²``; (AMSGrad: ``vmax = max(vmax, v)``, used for ``v``);
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

    >>> import autonn as an
    >>> w = an.tensor([1.0, -1.0], requires_grad=True); opt = an.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); w     # the first step moves each weight by ~lr
    tensor([ 0.9, -0.9], requires_grad=True)
    """
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False):
        _check_adam(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a ``.grad``; returns ``closure()`` if given.

        >>> import autonn as an
        >>> w = an.tensor([2.0], requires_grad=True); opt = an.optim.Adam([w], lr=0.5)
        >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)
        1.5
        """
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            wd, amsgrad = group["weight_decay"], group["amsgrad"]
            maximize = group.get("maximize", False)
            for p, grad in self._params_with_grad(group):
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = np.zeros((), dtype=np.float32)
                    state["exp_avg"] = np.zeros_like(p.data)
                    state["exp_avg_sq"] = np.zeros_like(p.data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(p.data)
                step = _step_count(state)
                with unlocked(p) as data:  # bumps p's version
                    fused.adam_step(data, grad, state["exp_avg"], state["exp_avg_sq"],
                                    state.get("max_exp_avg_sq") if amsgrad else None, step, lr,
                                    beta1, beta2, eps, wd, self._decoupled, maximize)
        return loss


class AdamW(Adam):
    r"""PyTorch's AdamW: Adam with decoupled weight decay, ``p *= 1 - lr * wd`` before the
    Adam update (which then sees no decay term in the gradient).

    >>> import autonn as an
    >>> w = an.tensor([1.0], requires_grad=True); opt = an.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (0 * w).sum().backward(); opt.step(); w     # zero gradient: only the decay acts
    tensor([0.95], requires_grad=True)
    """
    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)

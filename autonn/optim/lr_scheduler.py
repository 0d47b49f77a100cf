"""Learning-rate schedulers (PyTorch's ``torch.optim.lr_scheduler``): ``StepLR``, ``CosineAnnealingLR``.

As in PyTorch, building a scheduler performs its first ``step()`` (epoch 0), each group gets
an ``'initial_lr'`` entry, and ``get_lr`` is the chainable (recursive) form, so the sequence
of learning rates is PyTorch's to the last bit.
"""
from __future__ import annotations

import math
from typing import Any

from .optimizer import Optimizer


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and writes the new rates into the groups.

    >>> import autonn as an
    >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = an.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    >>> sched.step(); sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming an optimizer")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The rates for the current ``last_epoch`` (``step`` calls it; subclasses define it).

        >>> import autonn as an
        >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=1.0)
        >>> s = an.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5); s.last_epoch = 1
        >>> s.get_lr()
        [0.5]
        """
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step()`` set, one per parameter group.

        >>> import autonn as an
        >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=0.1)
        >>> an.optim.lr_scheduler.StepLR(opt, 10).get_last_lr()
        [0.1]
        """
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``, using the closed form) and set the rates.

        >>> import autonn as an
        >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=1.0)
        >>> s = an.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2); s.step(); s.get_last_lr()
        [0.5]
        """
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as PyTorch's.

        >>> import autonn as an
        >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=1.0)
        >>> an.optim.lr_scheduler.StepLR(opt, 3).state_dict()['last_epoch']
        0
        """
        return {k: (list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from ``state_dict()``.

        >>> import autonn as an
        >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=1.0)
        >>> s = an.optim.lr_scheduler.StepLR(opt, 3); s.load_state_dict({'last_epoch': 5}); s.last_epoch
        5
        """
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs:
    ``lr = base * gamma ** (epoch // step_size)``.

    >>> import autonn as an
    >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=1.0)
    >>> s = an.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    >>> rates = []
    >>> for _ in range(5): rates.append(round(s.get_last_lr()[0], 6)); opt.step(); s.step()
    >>> rates
    [1.0, 1.0, 0.1, 0.1, 0.01]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` epochs:
    ``lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2`` (computed recursively,
    as PyTorch does).

    >>> import autonn as an
    >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=1.0)
    >>> s = an.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    >>> rates = []
    >>> for _ in range(5): rates.append(round(s.get_last_lr()[0], 4)); opt.step(); s.step()
    >>> rates
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and self.last_epoch > 0:
            return [self.eta_min + (base - self.eta_min)
                    * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                    for base in self.base_lrs]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [group["lr"] + (base - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (group["lr"] - self.eta_min) + self.eta_min for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR"]

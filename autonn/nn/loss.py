"""Loss modules: ``reduction`` is ``'mean'`` (default), ``'sum'`` or ``'none'``, as PyTorch's.

An input/target shape mismatch is a ValueError naming the loss and both shapes.
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction='{self.reduction}'"

    def _config(self):
        return {"reduction": self.reduction}


class MSELoss(_Loss):
    """Mean squared error ``(input - target)**2``, reduced.

    >>> import autonn as an
    >>> an.nn.MSELoss()(an.tensor([1.0, 2.0]), an.tensor([1.0, 4.0]))
    tensor(2.)
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._mse(input, target, self.reduction, "MSELoss")


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``, reduced.

    >>> import autonn as an
    >>> an.nn.L1Loss(reduction="sum")(an.tensor([1.0, 2.0]), an.tensor([0.0, 4.0]))
    tensor(3.)
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._l1(input, target, self.reduction, "L1Loss")


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits ``(N, C)`` against integer class labels ``(N,)`` or class
    probabilities (e.g. one-hot) ``(N, C)``, in one fused op. ``label_smoothing`` mixes the target
    with the uniform distribution, as PyTorch.

    >>> import autonn as an
    >>> loss = an.nn.CrossEntropyLoss()
    >>> round(loss(an.zeros((2, 4)), an.tensor([0, 3])).item(), 4)
    1.3863
    >>> round(loss(an.zeros((1, 2)), an.tensor([[1.0, 0.0]])).item(), 4)
    0.6931
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.label_smoothing = float(label_smoothing)
        if not 0.0 <= self.label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got "
                             f"{label_smoothing}")

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._cross_entropy(input, target, self.reduction, self.label_smoothing,
                                "CrossEntropyLoss")

    def extra_repr(self) -> str:
        parts = [super().extra_repr()]
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(p for p in parts if p)

    def _config(self):
        return {"reduction": self.reduction, "label_smoothing": self.label_smoothing}


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities ``(N, C)`` at integer labels ``(N,)``.

    >>> import autonn as an
    >>> an.nn.NLLLoss()(an.tensor([[-1.0, -2.0], [-3.0, -4.0]]), an.tensor([1, 0]))
    tensor(2.5)
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._nll(input, target, self.reduction, "NLLLoss")


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities: ``-(t log x + (1 - t) log(1 - x))``, each log clamped
    at -100 as PyTorch (so a confident wrong answer costs 100, not inf).

    >>> import autonn as an
    >>> an.nn.BCELoss()(an.tensor([0.0]), an.tensor([1.0]))
    tensor(100.)
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._bce(input, target, self.reduction, "BCELoss")


class BCEWithLogitsLoss(_Loss):
    """``BCELoss(sigmoid(x), t)`` computed stably from logits ``x`` (no overflow for large |x|).

    >>> import autonn as an
    >>> an.nn.BCEWithLogitsLoss()(an.tensor([-1000.0]), an.tensor([1.0]))
    tensor(1000.)
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F._bce_logits(input, target, self.reduction, "BCEWithLogitsLoss")

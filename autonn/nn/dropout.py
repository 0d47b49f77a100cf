"""``Dropout``: inverted dropout in training mode, the identity in evaluation mode."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``;
    in eval mode, return the input. Uses autonn's global generator, so ``an.manual_seed`` makes the
    masks reproducible.

    >>> import autonn as an
    >>> drop = an.nn.Dropout(p=0.5)
    >>> an.manual_seed(0); y = drop(an.ones(6))
    >>> sorted(set(y.data.tolist()))
    [0.0, 2.0]
    >>> drop.eval()(an.ones(3))
    tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def _config(self):
        return {"p": self.p}

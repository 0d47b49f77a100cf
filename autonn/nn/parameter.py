"""``Parameter``: a Tensor that a Module registers as one of its weights."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default; assigning one to a Module attribute
    registers it.

    The data is shared with ``data`` when it is an ndarray or Tensor, as PyTorch's does.

    >>> import autonn as an
    >>> p = an.nn.Parameter(an.zeros(2))
    >>> p.requires_grad, p.shape
    (True, (2,))
    >>> p
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """
    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(self.data.copy(), self.requires_grad)
        if self.grad is not None:
            p.grad = Tensor(self.grad.data.copy())
        memo[id(self)] = p
        return p

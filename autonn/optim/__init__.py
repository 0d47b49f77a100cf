"""Optimizers and learning-rate schedulers with PyTorch's names, defaults and update formulas.

>>> import autonn as an
>>> w = an.tensor([1.0, 2.0], requires_grad=True)
>>> opt = an.optim.SGD([w], lr=0.1, momentum=0.9)
>>> for _ in range(3):
...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
>>> bool((abs(w.data) < [1.0, 2.0]).all())
True
"""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]

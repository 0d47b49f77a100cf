"""autonn: a NumPy autograd engine with higher-order gradients and Numba kernels.

>>> import autonn as an
>>> x = an.tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward(); x.grad
tensor([2., 4.])
"""
from ._dtype import set_default_dtype, get_default_dtype  # noqa: F401
from .tensor import Tensor, tensor, as_tensor  # noqa: F401
from .engine import no_grad, enable_grad, is_grad_enabled, grad  # noqa: F401
from .anomaly import detect_anomaly  # noqa: F401
from .creation import (zeros, ones, full, empty, zeros_like, ones_like, arange, eye,  # noqa: F401
                       rand, randn, manual_seed)
from .ops import *  # noqa: F401,F403  (every op: autonn.ops.__all__)
from .function import Function  # noqa: F401
from . import func  # noqa: F401
from . import ops  # noqa: F401

__version__ = "0.1.0"


def __getattr__(name):
    # Heavier subpackages load on first use, so `import autonn` stays fast.
    import importlib
    if name in ("nn", "optim", "data", "testing", "kernels", "datasets", "simple", "io", "fft", "linalg"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("gradcheck", "gradgradcheck", "gradcheck_report", "GradcheckError"):
        return getattr(importlib.import_module(".checking", __name__), name)
    if name in ("save", "load"):
        return getattr(importlib.import_module(".io", __name__), name)
    raise AttributeError(f"module 'autonn' has no attribute {name!r}")

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
from .ops.logic import shape  # noqa: F401  (said explicitly: a static reader takes ops.shape for the module)
from .function import Function  # noqa: F401
from .dlpack import from_dlpack  # noqa: F401
from . import func  # noqa: F401
from . import ops  # noqa: F401

__version__ = "0.1.0"

# Heavier parts load on first use, so `import autonn` stays fast: submodules by name, and
# names that live in a submodule.
_LAZY_MODULES = ("nn", "optim", "data", "testing", "kernels", "datasets", "simple", "io", "viz",
                 "fft", "linalg", "special", "stats")
_LAZY_NAMES = {"gradcheck": "checking", "gradgradcheck": "checking",
               "gradcheck_report": "checking", "GradcheckError": "checking",
               "save": "io", "load": "io", "compile": "compile", "CompileError": "compile"}


def __getattr__(name):
    import importlib
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'autonn' has no attribute {name!r}")


def __dir__():
    # tab completion offers the lazily loaded names too
    return sorted(set(globals()) | set(__all__) | set(_LAZY_MODULES))


__all__ = [  # (lists the API reference's static reader can follow)
    # tensors and the graph
    "Tensor", "tensor", "as_tensor", "from_dlpack", "set_default_dtype", "get_default_dtype",
    "no_grad", "enable_grad", "is_grad_enabled", "grad", "detect_anomaly", "Function",
    # creation
    "zeros", "ones", "full", "empty", "arange", "eye", "rand", "randn", "manual_seed",
    # (zeros_like, ones_like, empty_like, full_like: in ops.__all__, with the no-gradient ops)
    # loaded on first use (autonn.testing too, but it needs Hypothesis, the test extra, so
    # `from autonn import *` leaves it out; dir() lists it)
    "gradcheck", "gradgradcheck", "gradcheck_report", "GradcheckError", "save", "load",
    "compile", "CompileError",
    # submodules
    "func", "ops", "nn", "optim", "data", "kernels", "datasets", "simple", "io", "viz", "fft",
    "linalg", "special", "stats",
] + ops.__all__  # every op

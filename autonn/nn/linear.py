"""``Linear`` (row-vector convention: ``x @ W + b`` with ``W`` of shape ``(in, out)``),
``Identity`` and ``Flatten``."""
import math
import operator

import numpy as np

from .._dtype import get_default_dtype
from .._validate import check_size
from ..ops.shape import flatten
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Identity", "Flatten"]


def _dtype(dtype):
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"layers hold floating point parameters; got dtype {dtype}")
    return dtype


class Linear(Module):
    """``y = x @ weight + bias`` with ``weight`` of shape ``(in_features, out_features)`` (autonn's
    row-vector convention, the transpose of PyTorch's layout) and ``bias`` of shape
    ``(out_features,)``. Both start as U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's
    default initialisation.

    >>> import autonn as an
    >>> lin = an.nn.Linear(3, 2)
    >>> lin.weight.shape, lin.bias.shape
    ((3, 2), (2,))
    >>> lin(an.ones((5, 3))).shape
    (5, 2)
    >>> lin
    Linear(in_features=3, out_features=2, bias=True)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        dtype = _dtype(dtype)
        self.in_features = check_size(in_features, "in_features", "Linear")
        self.out_features = check_size(out_features, "out_features", "Linear")
        self.weight = Parameter(init._storage((self.in_features, self.out_features), dtype))
        if bias:
            self.bias = Parameter(init._storage(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's initialisation: kaiming_uniform_(a=sqrt(5)) for the weight, which is
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    @classmethod
    def _from_arrays(cls, weight, bias=None):
        """A Linear holding copies of ``weight`` (in, out) and ``bias``, without drawing random
        numbers."""
        lin = cls.__new__(cls)
        Module.__init__(lin)
        lin.in_features, lin.out_features = weight.shape
        lin.weight = Parameter(np.array(weight, copy=True))
        if bias is None:
            lin.register_parameter("bias", None)
        else:
            lin.bias = Parameter(np.array(bias, dtype=weight.dtype, copy=True))
        return lin

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def _config(self):
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None, "dtype": self.weight.dtype}


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored, as PyTorch's).

    >>> import autonn as an
    >>> an.nn.Identity()(an.ones(2))
    tensor([1., 1.])
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input

    def _config(self):
        return {}


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one (by default all but the batch axis).

    >>> import autonn as an
    >>> an.nn.Flatten()(an.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = operator.index(start_dim)
        self.end_dim = operator.index(end_dim)

    def forward(self, input):
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def _config(self):
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

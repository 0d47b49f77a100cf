"""Weight initialisation, in place, as ``torch.nn.init``; random draws come from autonn's global
generator, so ``an.manual_seed`` makes them reproducible.

Fan-in and fan-out follow autonn's layouts:

* a 2-D weight is a ``Linear`` weight in the row-vector layout ``(in_features, out_features)``, so
  ``fan_in = shape[0]`` and ``fan_out = shape[1]`` (the transpose of PyTorch's ``(out, in)``);
* a weight with 3 or more axes is a convolution kernel in PyTorch's layout
  ``(out_channels, in_channels, *kernel)``: ``fan_in = shape[1] * prod(kernel)`` and
  ``fan_out = shape[0] * prod(kernel)``, exactly as PyTorch.
"""
from __future__ import annotations

import contextlib
import math
import threading

import numpy as np

from .. import creation
from ..inplace import overwrite
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


_placeholders = threading.local()


@contextlib.contextmanager
def _placeholder_storage():
    """Inside this block (in this thread), layers get zero-byte read-only placeholders of the
    right shape instead of memory, and the init functions leave them alone: ``load_network``
    builds the architecture this way, checks the shapes against the file's arrays, and only then
    puts those arrays in. A layer declared in a file is never allocated or drawn at random."""
    before = getattr(_placeholders, "on", False)
    _placeholders.on = True
    try:
        yield
    finally:
        _placeholders.on = before


def _storage(shape, dtype, fill=None):
    """A layer's new parameter or buffer array: ``np.empty`` (or filled with ``fill``), or a
    placeholder inside ``_placeholder_storage()``."""
    if getattr(_placeholders, "on", False):
        return np.broadcast_to(np.zeros((), dtype=dtype), shape)
    if fill is None:
        return np.empty(shape, dtype=dtype)
    return np.full(shape, fill, dtype=dtype)


def _skip(tensor):
    return getattr(_placeholders, "on", False)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a non-linearity, as ``torch.nn.init.calculate_gain``.

    >>> import autonn as an
    >>> round(an.nn.init.calculate_gain("relu"), 4), an.nn.init.calculate_gain("tanh")
    (1.4142, 1.6666666666666667)
    """
    linear_fns = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d")
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (shape {shape})")
    if len(shape) == 2:  # autonn's Linear layout (in_features, out_features)
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    if _skip(tensor):
        return tensor
    return overwrite(tensor, values)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from U(a, b).

    >>> import autonn as an
    >>> w = an.nn.init.uniform_(an.empty(3, 4), -0.1, 0.1)
    >>> bool((abs(w.data) <= 0.1).all())
    True
    """
    if _skip(tensor):
        return tensor
    return _fill(tensor, creation.generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from N(mean, std**2).

    >>> import autonn as an
    >>> an.nn.init.normal_(an.empty(2, 2)).shape
    (2, 2)
    """
    if _skip(tensor):
        return tensor
    return _fill(tensor, creation.generator().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> import autonn as an
    >>> an.nn.init.constant_(an.empty(2), 0.5)
    tensor([0.5, 0.5])
    """
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    >>> import autonn as an
    >>> an.nn.init.zeros_(an.ones(2))
    tensor([0., 0.])
    """
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    >>> import autonn as an
    >>> an.nn.init.ones_(an.zeros(2))
    tensor([1., 1.])
    """
    return _fill(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    >>> import autonn as an
    >>> w = an.nn.init.xavier_uniform_(an.empty(30, 20))   # fan_in 30, fan_out 20
    >>> bool((abs(w.data) <= (6 / 50) ** 0.5).all())
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    >>> import autonn as an
    >>> an.nn.init.xavier_normal_(an.empty(3, 5)).shape
    (3, 5)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``, ``gain`` from
    ``calculate_gain(nonlinearity, a)``.

    >>> import autonn as an, math
    >>> w = an.nn.init.kaiming_uniform_(an.empty(16, 4), a=math.sqrt(5))   # Linear's default
    >>> bool((abs(w.data) <= 1 / math.sqrt(16)).all())
    True
    """
    if 0 in tensor.shape:
        return tensor
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, std**2) with ``std = gain / sqrt(fan)``.

    >>> import autonn as an
    >>> an.nn.init.kaiming_normal_(an.empty(8, 3), nonlinearity="relu").shape
    (8, 3)
    """
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)

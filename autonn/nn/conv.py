"""``Conv2d`` and ``MaxPool2d`` on NCHW inputs, with PyTorch's weight layout and initialisation;
the kernels are ``autonn.ops.nn.conv2d`` and ``max_pool2d``."""
from __future__ import annotations

import math

from numpy.typing import DTypeLike

from .._validate import check_pair, check_size
from ..tensor import Tensor
from . import functional as F, init
from .linear import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Conv2d", "MaxPool2d"]


class Conv2d(Module):
    """2-D cross-correlation of an ``(N, C_in, H, W)`` input; ``weight`` has PyTorch's shape
    ``(out_channels, in_channels, kh, kw)`` and PyTorch's initialisation
    (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = in_channels * kh * kw``, for the bias too).
    ``padding`` is an int, a pair, ``"valid"`` or ``"same"`` (stride 1; zeros added as PyTorch:
    the odd one at the bottom/right).

    >>> import autonn as an
    >>> conv = an.nn.Conv2d(3, 8, kernel_size=3, padding=1)
    >>> conv.weight.shape
    (8, 3, 3, 3)
    >>> conv(an.zeros((2, 3, 5, 5))).shape
    (2, 8, 5, 5)
    >>> conv
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1,
                 padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, bias: bool = True,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        dtype = _dtype(dtype)
        self.in_channels = check_size(in_channels, "in_channels", "Conv2d")
        self.out_channels = check_size(out_channels, "out_channels", "Conv2d")
        self.kernel_size = check_pair(kernel_size, "kernel_size", "Conv2d", minimum=1)
        self.stride = check_pair(stride, "stride", "Conv2d", minimum=1)
        self.dilation = check_pair(dilation, "dilation", "Conv2d", minimum=1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Conv2d: invalid padding string {padding!r}, should be one "
                                 "of 'valid', 'same'")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding: str | tuple[int, int] = padding
        else:
            self.padding = check_pair(padding, "padding", "Conv2d")
        self.weight = Parameter(init._storage((self.out_channels, self.in_channels)
                                              + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(init._storage(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: kaiming_uniform_(a=sqrt(5)) for the weight and
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def _config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
                "dilation": list(self.dilation),
                "bias": self.bias is not None, "dtype": self.weight.dtype}


class MaxPool2d(Module):
    """2-D max pooling of an ``(N, C, H, W)`` input; ``stride`` defaults to ``kernel_size``;
    padding counts as -inf; the gradient goes to the first maximum of each window, as PyTorch.
    ``return_indices=True`` also returns the flat (H*W) positions of the maxima.

    >>> import autonn as an
    >>> an.nn.MaxPool2d(2)(an.arange(16.0).reshape(1, 1, 4, 4))
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    >>> an.nn.MaxPool2d(2)
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)
        self.kernel_size = _int_or_pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _int_or_pair(stride, "stride", 1)
        self.padding = _int_or_pair(padding, "padding", 0)
        self.dilation = _int_or_pair(dilation, "dilation", 1)

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:  # with return_indices: (out, indices)
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def _config(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in
                (("kernel_size", self.kernel_size), ("stride", self.stride),
                 ("padding", self.padding), ("dilation", self.dilation),
                 ("return_indices", self.return_indices), ("ceil_mode", self.ceil_mode))}


def _int_or_pair(v, name, minimum):
    """MaxPool2d keeps an int as an int (as PyTorch's repr shows it) and a pair as a pair."""
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        return check_size(v, name, "MaxPool2d", minimum)
    return check_pair(v, name, "MaxPool2d", minimum)

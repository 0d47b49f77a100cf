"""``BatchNorm1d`` and ``LayerNorm``, as PyTorch's."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from .._validate import check_size, check_sizes
from ..tensor import Tensor, as_tensor
from . import functional as F, init
from .linear import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "LayerNorm"]


class BatchNorm1d(Module):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs over the channel axis 1.

    Training mode normalises with the batch mean and biased variance and updates
    ``running_mean``/``running_var`` as ``(1 - momentum) r + momentum s``, with the *unbiased*
    batch variance for ``running_var`` (``momentum=None``: cumulative average). Eval mode uses the
    running statistics (the batch ones when ``track_running_stats=False``).

    >>> import autonn as an
    >>> bn = an.nn.BatchNorm1d(2)
    >>> bn(an.tensor([[0.0, 1.0], [2.0, 5.0]])).data.round(4)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.running_mean, bn.running_var
    (tensor([0.1, 0.3]), tensor([1.1, 1.7]))
    >>> bn
    BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        dtype = _dtype(dtype)
        self.num_features = check_size(num_features, "num_features", "BatchNorm1d")
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        if self.affine:
            self.weight = Parameter(init._storage(self.num_features, dtype, 1))
            self.bias = Parameter(init._storage(self.num_features, dtype, 0))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(init._storage(self.num_features, dtype, 0)))
            self.register_buffer("running_var", Tensor(init._storage(self.num_features, dtype, 1)))
            self.register_buffer("num_batches_tracked", Tensor(init._storage((), np.int64, 0)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Reset the running statistics and the affine parameters (weight 1, bias 0)."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        x = as_tensor(input)
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (got {x.ndim}D input of shape "
                             f"{x.shape})")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: input of shape {x.shape} has {x.shape[1]} channels "
                             f"(axis 1) but the layer has num_features={self.num_features}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            factor = F._count_batch(self.num_batches_tracked, self.momentum)
        use_batch = self.training or self.running_mean is None
        update = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if update or not use_batch else None,
                            self.running_var if update or not use_batch else None,
                            self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")

    def _config(self):
        dtype = (self.weight if self.affine else self.running_mean).dtype \
            if (self.affine or self.track_running_stats) else None
        cfg = {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
               "affine": self.affine, "track_running_stats": self.track_running_stats}
        if dtype is not None:
            cfg["dtype"] = dtype
        return cfg


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes (biased variance), then scale by
    ``weight`` and shift by ``bias`` (both of ``normalized_shape``; ones and zeros at first).

    >>> import autonn as an
    >>> ln = an.nn.LayerNorm(3)
    >>> [round(v, 4) for v in ln(an.tensor([[1.0, 2.0, 3.0]])).data[0].tolist()]
    [-1.2247, 0.0, 1.2247]
    >>> ln
    LayerNorm((3,), eps=1e-05, elementwise_affine=True)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        dtype = _dtype(dtype)
        self.normalized_shape = check_sizes(normalized_shape, "normalized_shape", "LayerNorm")
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(init._storage(self.normalized_shape, dtype, 1))
            if bias:
                self.bias = Parameter(init._storage(self.normalized_shape, dtype, 0))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self._dtype = dtype

    def reset_parameters(self) -> None:
        """Weight 1, bias 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")

    def _config(self):
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine,
                "bias": self.bias is not None or not self.elementwise_affine,
                "dtype": self.weight.dtype if self.weight is not None else self._dtype}

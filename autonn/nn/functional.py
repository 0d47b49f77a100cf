"""``autonn.nn.functional`` (``import autonn.nn.functional as F``): the stateless forms of the
layers, activations and losses, with PyTorch's names and defaults.

Linear layers use autonn's row-vector convention: ``linear(x, W, b) = x @ W + b`` with ``W`` of
shape ``(in_features, out_features)``. The fused ops (linear + activation, softmax +
cross-entropy, convolution, pooling) are those of ``autonn.ops.nn``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, overload

import numpy as np

from .. import creation
from ..inplace import overwrite
from ..ops import activation as _act, nn as _nnops, reduce as _red
from ..ops.activation import tanh as _tanh
from ..ops.base import apply, const
from ..ops.elementwise import abs as _abs, sqrt
from ..ops.index import getitem
from ..ops.reduce import mean as _mean
from ..ops.shape import reshape
from ..tensor import Tensor, TensorLike, as_tensor
from . import _ops

__all__ = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "softmax",
           "log_softmax", "linear", "dropout", "mse_loss", "l1_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d", "max_pool2d",
           "layer_norm", "batch_norm", "embedding"]


# ----- activations -----
def relu(input: TensorLike) -> Tensor:
    """``max(x, 0)``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.relu(an.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _act.relu(input)


def sigmoid(input: TensorLike) -> Tensor:
    """``1 / (1 + exp(-x))``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.sigmoid(an.zeros(1))
    tensor([0.5])
    """
    return _act.sigmoid(input)


def tanh(input: TensorLike) -> Tensor:
    """Hyperbolic tangent.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.tanh(an.zeros(1))
    tensor([0.])
    """
    return _act.tanh(input)


def leaky_relu(input: TensorLike, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, else ``negative_slope * x``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.leaky_relu(an.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ])
    """
    return _act.leaky_relu(input, negative_slope)


def elu(input: TensorLike, alpha: float = 1.0) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.elu(an.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    return _act.elu(input, alpha)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input: TensorLike, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (exact), or PyTorch's tanh approximation with ``approximate="tanh"``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.gelu(an.zeros(2))
    tensor([0., 0.])
    """
    if approximate == "none":
        return _act.gelu(input)
    if approximate == "tanh":
        x = as_tensor(input)
        return 0.5 * x * (1 + _tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(input: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> round(F.softplus(an.zeros(1)).item(), 4)
    0.6931
    """
    return _act.softplus(input, beta, threshold)


def softmax(input: TensorLike, dim: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.softmax(an.zeros((1, 2)), dim=1)
    tensor([[0.5, 0.5]])
    """
    return _red.softmax(input, axis=dim)


def log_softmax(input: TensorLike, dim: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> round(F.log_softmax(an.zeros(2))[0].item(), 4)
    -0.6931
    """
    return _red.log_softmax(input, axis=dim)


# ----- layers -----
def linear(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None,
           activation: str = "identity", alpha: float | None = None) -> Tensor:
    """``act(x @ weight + bias)`` as one fused op; ``weight`` has shape ``(in, out)`` (row vectors).
    ``x`` may have any number of leading axes, as PyTorch's. ``activation`` is one of identity,
    relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus; ``alpha`` is the leaky_relu slope
    (default 0.01) or the elu alpha (default 1.0).

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.linear(an.ones((2, 3)), an.ones((3, 4)), an.zeros(4), activation="relu")
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    """
    return _nnops.linear(input, weight, bias, activation, alpha)


def dropout(input: TensorLike, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; the identity otherwise. Draws come from autonn's seeded generator.

    >>> import autonn as an, autonn.nn.functional as F
    >>> an.manual_seed(0); y = F.dropout(an.ones(1000), p=0.25)
    >>> sorted(set(y.data.round(4).tolist()))
    [0.0, 1.3333]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * const(np.zeros((), dtype=x.dtype))
    return x * const(_dropout_mask(x.shape, p, x.dtype))


def _dropout_mask(shape, p, dtype):
    """The scaled keep-mask of :func:`dropout`, drawn from autonn's generator (``autonn.compile``
    draws it again on every replay)."""
    keep = creation.generator().random(shape) >= p
    return (keep / (1.0 - p)).astype(dtype)


def conv2d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
           dilation: int | tuple[int, int] = 1) -> Tensor:
    """2-D cross-correlation of an NCHW input with an ``(out, in, kh, kw)`` weight, as PyTorch's;
    ``padding`` is an int, a pair, ``"valid"`` or ``"same"``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.conv2d(an.ones((1, 1, 4, 4)), an.ones((2, 1, 3, 3)), padding=1).shape
    (1, 2, 4, 4)
    """
    return _nnops.conv2d(input, weight, bias, stride, padding, dilation)


@overload
def max_pool2d(input: TensorLike, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = ..., padding: int | tuple[int, int] = ...,
               dilation: int | tuple[int, int] = ..., ceil_mode: bool = ...,
               return_indices: Literal[False] = ...) -> Tensor: ...
@overload
def max_pool2d(input: TensorLike, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = ..., padding: int | tuple[int, int] = ...,
               dilation: int | tuple[int, int] = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
@overload
def max_pool2d(input: TensorLike, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = ..., padding: int | tuple[int, int] = ...,
               dilation: int | tuple[int, int] = ..., ceil_mode: bool = ...,
               return_indices: bool = ...) -> Tensor | tuple[Tensor, Tensor]: ...
def max_pool2d(input: TensorLike, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
               dilation: int | tuple[int, int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """2-D max pooling of an NCHW input (``stride`` defaults to ``kernel_size``; padding counts as
    -inf); with ``return_indices`` also the flat (H*W) positions of the maxima.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.max_pool2d(an.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _nnops.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode,
                               return_indices)


def _norm_shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def layer_norm(input: TensorLike, normalized_shape: int | Sequence[int],
               weight: TensorLike | None = None, bias: TensorLike | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` axes (biased variance), then scale and
    shift elementwise.

    >>> import autonn as an, autonn.nn.functional as F
    >>> y = F.layer_norm(an.tensor([[1.0, 2.0, 3.0]]), 3)
    >>> [round(v, 4) for v in y.data[0].tolist()]
    [-1.2247, 0.0, 1.2247]
    """
    x = as_tensor(input)
    shape = _norm_shape(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"layer_norm: expected input with shape (*, "
                         f"{', '.join(map(str, shape))}), got input of shape {x.shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    d = x - _mean(x, axis=axes, keepdims=True)
    var = _mean(d * d, axis=axes, keepdims=True)
    out = d / sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input: TensorLike, running_mean: Tensor | None, running_var: Tensor | None,
               weight: TensorLike | None = None, bias: TensorLike | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over axis 1 of an ``(N, C)`` or ``(N, C, L)`` input, as PyTorch's.

    In training the batch statistics normalise (biased variance) and the running statistics, when
    given, are updated in place: ``r = (1 - momentum) r + momentum s``, with the *unbiased* batch
    variance for ``running_var``. Otherwise the running statistics normalise.

    >>> import autonn as an, autonn.nn.functional as F
    >>> rm, rv = an.zeros(2), an.ones(2)
    >>> y = F.batch_norm(an.tensor([[0.0, 1.0], [2.0, 5.0]]), rm, rv, training=True)
    >>> y.data.round(4)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> rm, rv
    (tensor([0.1, 0.3]), tensor([1.1, 1.7]))
    """
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected 2D or 3D input (got {x.ndim}D input of shape "
                         f"{x.shape})")
    c = x.shape[1]
    axes = (0,) if x.ndim == 2 else (0, 2)
    bshape = (1, c) if x.ndim == 2 else (1, c, 1)
    if training:
        n = x.size // c if c else 0
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {x.shape}")
        mean = _mean(x, axis=axes, keepdims=True)
        d = x - mean
        var = _mean(d * d, axis=axes, keepdims=True)
        _update_running_stats(running_mean, running_var, mean, var, momentum, n, c)
        out = d / sqrt(var + eps)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training")
        rm = const(np.asarray(running_mean.data if isinstance(running_mean, Tensor)
                              else running_mean).reshape(bshape))
        rv = const(np.asarray(running_var.data if isinstance(running_var, Tensor)
                              else running_var).reshape(bshape))
        out = (x - rm) / sqrt(rv + eps)
    if weight is not None:
        out = out * reshape(as_tensor(weight), bshape)
    if bias is not None:
        out = out + reshape(as_tensor(bias), bshape)
    return out


def _update_running_stats(running_mean, running_var, mean, var, momentum, n, c):
    """``r = (1 - momentum) r + momentum s`` in place, with the unbiased batch variance (a state
    update outside the graph: ``autonn.compile`` replays this call)."""
    if running_mean is not None:
        overwrite(running_mean, (1 - momentum) * running_mean.data
                  + momentum * mean.data.reshape(c))
    if running_var is not None:
        overwrite(running_var, (1 - momentum) * running_var.data
                  + momentum * var.data.reshape(c) * (n / (n - 1)))


def _count_batch(counter, momentum):
    """Add one to BatchNorm's ``num_batches_tracked`` and return the running-stat factor:
    ``momentum``, or ``1 / count`` for a cumulative average (``momentum=None``)."""
    overwrite(counter, counter.data + 1)
    return 1.0 / float(counter.data) if momentum is None else momentum


def embedding(input: TensorLike, weight: TensorLike) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input`` (any shape); the gradient scatter-adds
    into the picked rows.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.embedding(an.tensor([2, 0]), an.arange(6.0).reshape(3, 2))
    tensor([[4., 5.],
            [0., 1.]])
    """
    idx = input.data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    weight = as_tensor(weight)
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise IndexError(f"embedding: index {bad} out of range for {n} embeddings")
    return getitem(weight, idx)


# ----- losses -----
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, name):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction; expected "
                         "'mean', 'sum' or 'none'")


def _reduce(loss, reduction):
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _red.sum(loss)
    return loss


def _pair(input, target, name):
    """Input and same-shaped target, the target cast to the input's (float) dtype."""
    x = as_tensor(input)
    t = as_tensor(target)
    if x.shape != t.shape:
        raise ValueError(f"{name}: input shape {x.shape} and target shape {t.shape} differ; "
                         "they must be the same")
    if t.dtype != x.dtype:
        t = t.astype(x.dtype)
    return x, t


def _mse(input, target, reduction, name):
    _check_reduction(reduction, name)
    x, t = _pair(input, target, name)
    d = x - t
    return _reduce(d * d, reduction)


def _l1(input, target, reduction, name):
    _check_reduction(reduction, name)
    x, t = _pair(input, target, name)
    return _reduce(_abs(x - t), reduction)


def _bce(input, target, reduction, name):
    _check_reduction(reduction, name)
    x, t = _pair(input, target, name)
    if not np.all((x.data >= 0) & (x.data <= 1)):
        raise RuntimeError(f"{name}: all elements of input should be between 0 and 1")
    return _reduce(apply(_ops.BinaryCrossEntropy(), x, t), reduction)


def _bce_logits(input, target, reduction, name):
    _check_reduction(reduction, name)
    x, t = _pair(input, target, name)
    return _reduce(apply(_ops.BinaryCrossEntropyWithLogits(), x, t), reduction)


def _named(fn, name, *args):
    """Run an ``autonn.ops.nn`` loss; its argument errors are re-raised naming the loss module."""
    try:
        return fn(*args)
    except (ValueError, TypeError) as e:
        if name == fn.__name__:
            raise
        raise type(e)(f"{name}: {e}") from None


def _cross_entropy(input, target, reduction, label_smoothing, name):
    if label_smoothing == 0 and isinstance(input, Tensor) and isinstance(target, Tensor):
        loss = _nnops._cross_entropy_labels(input, target.data, reduction)  # the common case
        if loss is not None:
            return loss
    _check_reduction(reduction, name)
    x = as_tensor(input)
    t = target if isinstance(target, Tensor) else as_tensor(target)
    if t.dtype.kind == "f" and t.dtype != x.dtype:
        t = t.astype(x.dtype)
    return _named(_nnops.cross_entropy, name, x, t, reduction, label_smoothing)


def _nll(input, target, reduction, name):
    _check_reduction(reduction, name)
    return _named(_nnops.nll_loss, name, input, target, reduction)


def mse_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(x - t)**2``, reduced.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.mse_loss(an.tensor([1.0, 2.0]), an.tensor([1.0, 4.0]))
    tensor(2.)
    """
    return _mse(input, target, reduction, "mse_loss")


def l1_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|x - t|``, reduced.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.l1_loss(an.tensor([1.0, 2.0]), an.tensor([1.0, 4.0]))
    tensor(1.)
    """
    return _l1(input, target, reduction, "l1_loss")


def cross_entropy(input: TensorLike, target: TensorLike, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``(N, C)`` (also ``(C,)`` or ``(N, C, d1, ...)``) against
    integer labels ``(N,)`` or class probabilities of the logits' shape, in one fused op.

    >>> import autonn as an, autonn.nn.functional as F
    >>> round(F.cross_entropy(an.zeros((2, 4)), an.tensor([0, 3])).item(), 4)   # log(4)
    1.3863
    """
    return _cross_entropy(input, target, reduction, label_smoothing, "cross_entropy")


def nll_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``(N, C)`` (also ``(C,)`` or
    ``(N, C, d1, ...)``) at integer labels ``(N,)``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> F.nll_loss(an.tensor([[-1.0, -2.0], [-3.0, -4.0]]), an.tensor([1, 0]))
    tensor(2.5)
    """
    return _nll(input, target, reduction, "nll_loss")


def binary_cross_entropy(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """``-(t log x + (1 - t) log(1 - x))`` for probabilities ``x``; logs are clamped at -100.

    >>> import autonn as an, autonn.nn.functional as F
    >>> round(F.binary_cross_entropy(an.tensor([0.5]), an.tensor([1.0])).item(), 4)
    0.6931
    """
    return _bce(input, target, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: TensorLike, target: TensorLike,
                                     reduction: str = "mean") -> Tensor:
    """``binary_cross_entropy(sigmoid(x), t)`` computed stably from logits ``x``.

    >>> import autonn as an, autonn.nn.functional as F
    >>> round(F.binary_cross_entropy_with_logits(an.tensor([0.0]), an.tensor([1.0])).item(), 4)
    0.6931
    """
    return _bce_logits(input, target, reduction, "binary_cross_entropy_with_logits")

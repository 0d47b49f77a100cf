"""Reductions over ``axis`` (int, tuple or None) with ``keepdims``; ``dim``/``keepdim`` are aliases.

``max``/``min`` split the gradient evenly between tied maxima (as NumPy-based engines such as
MyGrad and HIPS autograd do); PyTorch's ``amax`` does the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..tensor import Axis, Tensor, TensorLike, as_tensor
from ._axes import check_flag, keepdims_shape, normalize_axes, normalize_axis, pick_axis
from .base import Op, apply
from .elementwise import _MaskedLinear, exp, sqrt, where
from .shape import BroadcastTo, Reshape, Sum


def _reduce_args(x, axis, dim, keepdims, keepdim, op_name) -> tuple[Tensor, Any, bool]:
    x = as_tensor(x)
    axes = normalize_axes(pick_axis(axis, dim, op_name), x.ndim, op_name)
    return x, axes, check_flag(keepdims, "keepdims", op_name) or check_flag(keepdim, "keepdim", op_name)


def _expand_back(g, axes, keepdims, shape):
    """A reduced gradient broadcast back to the input's shape."""
    if not keepdims:
        g = apply(Reshape(keepdims_shape(shape, axes)), g)
    return apply(BroadcastTo(shape), g)


def sum(x: TensorLike, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
        keepdim: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes by default).

    >>> import autonn as an
    >>> an.sum(an.ones((2, 3)), axis=0)
    tensor([2., 2., 2.])
    """
    x, axes, keep = _reduce_args(x, axis, dim, keepdims, keepdim, "sum")
    return apply(Sum(axes, keep), x)


def mean(x: TensorLike, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
         keepdim: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``.

    >>> import autonn as an
    >>> an.mean(an.tensor([1.0, 2.0, 6.0]))
    tensor(3.)
    """
    x, axes, keep = _reduce_args(x, axis, dim, keepdims, keepdim, "mean")
    count = int(np.prod([x.shape[a] for a in axes]))
    if count == 0:
        raise ValueError(f"mean: reducing axes {axes} of shape {x.shape} which have no elements")
    return apply(Sum(axes, keep), x) / count  # an int count: exact in every float dtype


class _Extreme(Op):
    """max/min over axes; the gradient goes to the extremal elements, ties split evenly."""
    __slots__ = ("axes", "keepdims")
    reducer = staticmethod(np.max)

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return self.reducer(x, axis=self.axes, keepdims=self.keepdims)

    def _weights(self, x, out):
        ref = out.data.reshape(keepdims_shape(x.shape, self.axes))
        hit = (x.data == ref) | (np.isnan(x.data) & np.isnan(ref))  # NaN wins, as PyTorch
        return hit / hit.sum(axis=self.axes, keepdims=True).astype(x.dtype)

    def vjp(self, g, out, x):
        return apply(_MaskedLinear(self._weights(x, out).astype(g.dtype)),
                     _expand_back(g, self.axes, self.keepdims, x.shape))

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None:
            return None
        return apply(Sum(self.axes, self.keepdims),
                     apply(_MaskedLinear(self._weights(x, out).astype(dx.dtype)), dx))


class Max(_Extreme):
    __slots__ = ()
    reducer = staticmethod(np.max)


class Min(_Extreme):
    __slots__ = ()
    reducer = staticmethod(np.min)


def max(x: TensorLike, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
        keepdim: bool = False) -> Tensor:
    """Largest value over ``axis`` (values only, as NumPy; see ``argmax``).

    >>> import autonn as an
    >>> an.max(an.tensor([[1.0, 5.0], [7.0, 2.0]]), axis=1)
    tensor([5., 7.])
    """
    x, axes, keep = _reduce_args(x, axis, dim, keepdims, keepdim, "max")
    return apply(Max(axes, keep), x)


def min(x: TensorLike, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
        keepdim: bool = False) -> Tensor:
    """Smallest value over ``axis``.

    >>> import autonn as an
    >>> an.min(an.tensor([[1.0, 5.0], [7.0, 2.0]]), axis=1)
    tensor([1., 2.])
    """
    x, axes, keep = _reduce_args(x, axis, dim, keepdims, keepdim, "min")
    return apply(Min(axes, keep), x)


def var(x: TensorLike, axis: Axis = None, ddof: int = 0, keepdims: bool = False, dim: Axis = None,
        keepdim: bool = False, correction: int | None = None) -> Tensor:
    """Variance with NumPy's ``ddof`` (0 by default; PyTorch's ``correction`` is an alias).

    >>> import autonn as an
    >>> an.var(an.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.25)
    """
    if correction is not None:
        ddof = correction
    x, axes, keep = _reduce_args(x, axis, dim, keepdims, keepdim, "var")
    n = int(np.prod([x.shape[a] for a in axes]))
    if n - ddof <= 0:
        raise ValueError(f"var: {n} elements over axes {axes} of shape {x.shape} with ddof={ddof} "
                         "leave no degrees of freedom")
    d = x - apply(Sum(axes, True), x) / n
    return apply(Sum(axes, keep), d * d) / (n - ddof)


def std(x: TensorLike, axis: Axis = None, ddof: int = 0, keepdims: bool = False, dim: Axis = None,
        keepdim: bool = False, correction: int | None = None) -> Tensor:
    """Standard deviation, ``sqrt(var)``, with NumPy's ``ddof``.

    >>> import autonn as an
    >>> an.std(an.tensor([1.0, 3.0]))
    tensor(1.)
    """
    try:
        v = var(x, axis, ddof, keepdims, dim, keepdim, correction)
    except (ValueError, TypeError) as e:
        raise type(e)(f"std: {str(e).removeprefix('var: ')}") from None
    zero = v.data == 0
    if not zero.any():
        return sqrt(v)
    # sqrt's slope is infinite at 0: where the variance is 0 the gradient is taken as 0 (std of
    # one element is identically 0; of equal elements, 0 is a subgradient), never 0 * inf = nan
    return where(zero, 0.0, sqrt(where(zero, 1.0, v)))


class LogSumExp(Op):
    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        m = np.max(x, axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True)) + m
        return out if self.keepdims else out.reshape(
            tuple(s for i, s in enumerate(x.shape) if i not in self.axes))

    def vjp(self, g, out, x):
        shape = keepdims_shape(x.shape, self.axes)
        soft = exp(x - apply(Reshape(shape), out))
        return _expand_back(g, self.axes, self.keepdims, x.shape) * soft

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None:
            return None
        soft = exp(x - apply(Reshape(keepdims_shape(x.shape, self.axes)), out))
        return apply(Sum(self.axes, self.keepdims), soft * dx)


def logsumexp(x: TensorLike, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
              keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed stably.

    >>> import autonn as an
    >>> round(an.logsumexp(an.tensor([1000.0, 1000.0])).item(), 4)
    1000.6931
    """
    x, axes, keep = _reduce_args(x, axis, dim, keepdims, keepdim, "logsumexp")
    return apply(LogSumExp(axes, keep), x)


def _along_last(fn, x, axis):
    """Run a row kernel on ``x`` with ``axis`` moved last and flattened to 2-D."""
    moved = np.moveaxis(x, axis, -1)
    flat = np.ascontiguousarray(moved.reshape(-1, moved.shape[-1]) if moved.size else moved)
    if moved.size == 0:
        return np.moveaxis(flat.copy(), -1, axis)
    return np.moveaxis(fn(flat).reshape(moved.shape), -1, axis)


class Softmax(Op):
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return _along_last(kernels.softmax_forward, x, self.axis)

    def vjp(self, g, out, x):
        return out * (g - apply(Sum((self.axis,), True), g * out))

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        return None if dx is None else self.vjp(dx, out, x)


class LogSoftmax(Op):
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return _along_last(kernels.log_softmax_forward, x, self.axis)

    def vjp(self, g, out, x):
        return g - exp(out) * apply(Sum((self.axis,), True), g)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None:
            return None
        return dx - apply(Sum((self.axis,), True), exp(out) * dx)


def softmax(x: TensorLike, axis: int = -1, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (last by default), stable for large inputs.

    >>> import autonn as an
    >>> an.softmax(an.zeros(4))
    tensor([0.25, 0.25, 0.25, 0.25])
    """
    x = as_tensor(x)
    axis = normalize_axis(pick_axis(axis, dim, "softmax", -1), x.ndim, "softmax")
    return apply(Softmax(axis), x)


def log_softmax(x: TensorLike, axis: int = -1, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x)`` along ``axis``, stable for large inputs.

    >>> import autonn as an
    >>> round(an.log_softmax(an.zeros(2))[0].item(), 4)
    -0.6931
    """
    x = as_tensor(x)
    axis = normalize_axis(pick_axis(axis, dim, "log_softmax", -1), x.ndim, "log_softmax")
    return apply(LogSoftmax(axis), x)


def _arg(fn, x, axis, keepdims, dim, keepdim, op_name):
    x = as_tensor(x)
    axis = pick_axis(axis, dim, op_name)
    if axis is not None:
        axis = normalize_axis(axis, x.ndim, op_name)
    if x.size == 0:
        raise ValueError(f"{op_name}: attempt to get {op_name} of an empty tensor (shape {x.shape})")
    return Tensor._make(np.asarray(fn(x.data, axis=axis, keepdims=bool(keepdims or keepdim))))


def argmax(x: TensorLike, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
           keepdim: bool = False) -> Tensor:
    """Index of the largest value (flattened when ``axis`` is None); no gradient.

    >>> import autonn as an
    >>> an.argmax(an.tensor([1.0, 9.0, 3.0])).item()
    1
    """
    return _arg(np.argmax, x, axis, keepdims, dim, keepdim, "argmax")


def argmin(x: TensorLike, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
           keepdim: bool = False) -> Tensor:
    """Index of the smallest value; no gradient.

    >>> import autonn as an
    >>> an.argmin(an.tensor([1.0, 9.0, 3.0])).item()
    0
    """
    return _arg(np.argmin, x, axis, keepdims, dim, keepdim, "argmin")


__all__ = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "softmax", "log_softmax",
           "argmax", "argmin"]

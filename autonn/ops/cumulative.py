"""Products and running sums along axes: ``prod cumsum cumprod diff``.

``prod``'s gradient is the product of the *other* elements, computed without dividing, so it is
right where the input holds zeros (as HIPS autograd's and JAX's). ``cumprod`` is a prefix-product
scan of multiplications (log2(n) levels, as JAX's associative scan), so its gradients are exact
at zeros too, to every order.
"""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..tensor import Tensor, as_tensor
from ._axes import check_flag, normalize_axes, normalize_axis, pick_axis
from ._rules import LinearOp
from .base import Op, apply, const, lift
from .shape import Concatenate, ExpandReduced, Sum, reshape, transpose

__all__ = ["prod", "cumsum", "cumprod", "diff"]


def _shifted_products(x):
    """Inclusive prefix products along the last axis, by doubling (Hillis-Steele)."""
    n, k = x.shape[-1], 1
    while k < n:
        x = apply(Concatenate(x.ndim - 1), x[..., :k], x[..., k:] * x[..., :n - k])
        k *= 2
    return x


def _exclusive_products(x):
    """Products of the elements strictly before each one along the last axis (1 for the first)."""
    ones = const(np.ones(x.shape[:-1] + (1,), dtype=x.dtype))
    return apply(Concatenate(x.ndim - 1), ones, _shifted_products(x)[..., :-1])


def products_of_others(x: Any, axes: Any) -> Tensor:
    """For each element, the product of the other elements over ``axes`` (no division)."""
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    perm = rest + tuple(axes)
    moved = transpose(x, perm) if perm != tuple(range(x.ndim)) else x
    flat = reshape(moved, moved.shape[:len(rest)] + (-1,))
    before = _exclusive_products(flat)
    after = _exclusive_products(flat[..., ::-1])[..., ::-1]
    others = reshape(before * after, moved.shape)
    if perm == tuple(range(x.ndim)):
        return others
    return transpose(others, tuple(int(i) for i in np.argsort(perm)))


class Prod(Op):
    __slots__ = ("axes", "keepdims")
    complex = True

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.asarray(np.prod(x, axis=self.axes, keepdims=self.keepdims))

    def vjp(self, g, out, x):
        return apply(ExpandReduced(self.axes, self.keepdims, x.shape), g) * \
            products_of_others(x, self.axes)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None:
            return None
        return apply(Sum(self.axes, self.keepdims), dx * products_of_others(x, self.axes))


def _dtype_arg(x, dtype):
    return x if dtype is None or x.dtype == dtype else x.astype(dtype)


def prod(a: Any, axis: Any = None, dtype: DTypeLike | None = None, keepdims: bool = False,
         dim: Any = None, keepdim: bool = False) -> Tensor:
    """Product of the elements over ``axis`` (all by default); the gradient is right where
    the input holds zeros.

    >>> import autonn as an
    >>> x = an.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> an.prod(x).backward(); x.grad
    tensor([0., 6., 0.])
    """
    a = _dtype_arg(as_tensor(a), dtype)
    axes = normalize_axes(pick_axis(axis, dim, "prod"), a.ndim, "prod")
    keep = check_flag(keepdims, "keepdims", "prod") or check_flag(keepdim, "keepdim", "prod")
    return apply(Prod(axes, keep), a)


class Cumsum(LinearOp):
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def vjp(self, g, out, x):
        rev = (slice(None),) * self.axis + (slice(None, None, -1),)
        return apply(Cumsum(self.axis), g[rev])[rev]


def _flat_or_axis(a, axis, op_name):
    a = as_tensor(a)
    if axis is None:
        return reshape(a, -1), 0
    return a, normalize_axis(axis, a.ndim, op_name)


def cumsum(a: Any, axis: Any = None, dtype: DTypeLike | None = None) -> Tensor:
    """Running sum along ``axis`` (of the flattened array when None).

    >>> import autonn as an
    >>> an.cumsum(an.tensor([1.0, 2.0, 3.0]))
    tensor([1., 3., 6.])
    """
    a, axis = _flat_or_axis(_dtype_arg(as_tensor(a), dtype), axis, "cumsum")
    return apply(Cumsum(axis), a)


def cumprod(a: Any, axis: Any = None, dtype: DTypeLike | None = None) -> Tensor:
    """Running product along ``axis`` (of the flattened array when None), as a scan of
    multiplications: its gradients are exact where the input holds zeros.

    >>> import autonn as an
    >>> x = an.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> an.cumprod(x).sum().backward(); x.grad
    tensor([1., 8., 0.])
    """
    a, axis = _flat_or_axis(_dtype_arg(as_tensor(a), dtype), axis, "cumprod")
    if a.shape[axis] <= 1:
        return a * 1
    last = a.ndim - 1
    moved = transpose(a, _swap(a.ndim, axis, last)) if axis != last else a
    out = _shifted_products(moved)
    return transpose(out, _swap(a.ndim, axis, last)) if axis != last else out


def _swap(nd, i, j):
    p = list(range(nd))
    p[i], p[j] = p[j], p[i]
    return tuple(p)


def diff(a: Any, n: Any = 1, axis: Any = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The ``n``-th discrete difference along ``axis`` (NumPy's ``diff``, with ``prepend`` and
    ``append``; a Python number there takes ``a``'s dtype).

    >>> import autonn as an
    >>> an.diff(an.tensor([1.0, 4.0, 9.0, 16.0]), n=2)
    tensor([2., 2.])
    """
    a = as_tensor(a)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"diff: n must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got n={n}")
    if a.ndim == 0:
        raise ValueError("diff: the input must be at least 1-d")
    axis = normalize_axis(axis, a.ndim, "diff")
    parts: list[Any] = []
    for extra in (prepend, append):
        if extra is None:
            parts.append(None)
            continue
        e = lift(extra, a)  # a Python number takes a's dtype
        if e.ndim == 0:
            shape = a.shape[:axis] + (1,) + a.shape[axis + 1:]
            from .shape import broadcast_to
            e = broadcast_to(e, shape)
        parts.append(e)
    if parts[0] is not None or parts[1] is not None:
        from .shape import concatenate
        seq = [p for p in (parts[0], a, parts[1]) if p is not None]
        try:
            a = concatenate(seq, axis=axis)
        except ValueError as e:
            raise ValueError(f"diff: {e}") from None
    pre = (slice(None),) * axis
    for _ in range(builtins.min(int(n), a.shape[axis] + 1)):  # past the length: empty anyway
        a = a[pre + (slice(1, None),)] - a[pre + (slice(None, -1),)]
    return a



from .gather import name_errors  # noqa: E402

name_errors(globals())  # errors raised inside name the function called

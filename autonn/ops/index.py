"""Indexing ``t[...]``, basic and advanced; the gradient scatter-adds, so repeated indices accumulate."""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..tensor import Tensor, TensorLike
from ._rules import LinearOp
from .base import apply


def index_to_numpy(index):
    """Replace Tensors inside an index by their arrays, and take the index's own copy of every
    array or list in it: the graph keeps the index for the backward, so a later in-place change
    to the caller's index array must not move the gradient (PyTorch raises there; autonn keeps
    the indices the forward used)."""
    if isinstance(index, tuple):
        return tuple(_own_index_part(i) for i in index)
    if isinstance(index, list):
        if any(isinstance(i, Tensor) for i in index):
            return np.asarray([i.data if isinstance(i, Tensor) else i for i in index])
        return copy.deepcopy(index)
    return _own_index_part(index)


def _own_index_part(i):
    if isinstance(i, Tensor):
        i = i.data
    if isinstance(i, np.ndarray):
        return i.copy()
    if isinstance(i, list):
        return copy.deepcopy(i)
    return i


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class GetItem(LinearOp):
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def vjp(self, g, out, x):
        return apply(ScatterAdd(self.index, x.shape), g)


class ScatterAdd(LinearOp):
    """zeros(shape) with ``g`` added at ``index`` (repeats accumulate): GetItem's adjoint."""
    __slots__ = ("index", "shape")

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        else:
            np.add.at(out, self.index, g)
        return out

    def vjp(self, gg, out, g):
        return apply(GetItem(self.index), gg)


def getitem(x: TensorLike, index: Any) -> Tensor:
    """``x[index]`` with NumPy's basic and advanced indexing.

    >>> import autonn as an
    >>> x = an.arange(5.0, requires_grad=True)
    >>> x[[0, 0, 3]].sum().backward(); x.grad
    tensor([2., 0., 0., 1., 0.])
    """
    index = index_to_numpy(index)
    return apply(GetItem(index), x)


class SetItem(LinearOp):
    """``x`` with ``x[index] = v`` (a new array): the gradient goes to ``v`` and to the
    entries of ``x`` that were not overwritten. Linear in ``(x, v)`` jointly."""
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        out = np.array(x, copy=True)
        out[self.index] = v
        return out

    def vjp(self, g, out, x, v):
        gx = apply(SetItem(self.index), g, Tensor._make(np.zeros((), g.dtype))) \
            if x.requires_grad else None
        return gx, apply(GetItem(self.index), g) if v.requires_grad else None

    def vjp_arrays(self, g, out, x, v):
        gx = None
        if x.requires_grad:
            gx = np.array(g, copy=True)
            gx[self.index] = 0
        return gx, np.array(g[self.index], copy=True) if v.requires_grad else None


def setitem(x, index, v):
    """``x`` with ``x[index] = v``, as a new tensor (``x`` is unchanged); ``t[index] = v`` is
    the in-place form. Differentiable in ``x`` (the entries kept) and in ``v``.

    >>> import autonn as an
    >>> x = an.zeros(3, requires_grad=True); v = an.tensor(2.0, requires_grad=True)
    >>> y = setitem(x, 1, v); y
    tensor([0., 2., 0.], grad_fn=<SetItem>)
    >>> (y * an.tensor([1.0, 3.0, 5.0])).sum().backward(); x.grad, v.grad
    (tensor([1., 0., 5.]), tensor(3.))
    """
    from .base import lift
    return apply(SetItem(index_to_numpy(index)), x, lift(v, x))


__all__ = ["getitem"]  # (setitem: the in-place t[index] = v, Tensor.__setitem__)

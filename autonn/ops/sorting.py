"""Sorting: ``sort msort partition`` route the gradient back through the permutation they
apply; the integer-valued ``argsort argpartition searchsorted argwhere nonzero flatnonzero``
return plain integer Tensors without a gradient (as in HIPS autograd and JAX)."""
import numpy as np

from ..tensor import Tensor, as_tensor
from ._axes import normalize_axis
from .base import apply
from .gather import Gather, numpy_call, positions
from .shape import reshape

__all__ = ["sort", "msort", "partition", "argsort", "argpartition", "searchsorted", "argwhere",
           "nonzero", "flatnonzero"]


def _flat_or_axis(a, axis, op_name):
    a = as_tensor(a)
    if axis is None:
        return reshape(a, -1), 0
    if a.ndim == 0:
        raise ValueError(f"{op_name}: a 0-d tensor has no axis {axis}; use axis=None")
    return a, normalize_axis(axis, a.ndim, op_name)


def _permute(a, order, axis):
    """``a`` rearranged along ``axis`` as ``order`` (indices along that axis) says."""
    flat = np.take_along_axis(positions(a), order, axis=axis)
    return apply(Gather(flat, True), a)


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted copy along ``axis`` (of the flattened array when None); NaNs go last, as NumPy's.
    The gradient of each output element goes to the input element it came from.

    >>> import autonn as an
    >>> x = an.tensor([3.0, 1.0, 2.0], requires_grad=True)
    >>> (an.sort(x) * an.tensor([1.0, 10.0, 100.0])).sum().backward(); x.grad
    tensor([100.,   1.,  10.])
    """
    if order is not None:
        raise ValueError("sort: order= applies to structured arrays, which Tensors are not")
    a, axis = _flat_or_axis(a, axis, "sort")
    return _permute(a, np.argsort(a.data, axis=axis, kind="stable"), axis)


def msort(a):
    """Sorted copy along the first axis (``sort(a, axis=0)``; removed from NumPy 2).

    >>> import autonn as an
    >>> an.msort(an.tensor([[2.0, 1.0], [1.0, 3.0]]))
    tensor([[1., 1.],
           [2., 3.]])
    """
    return sort(a, axis=0)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """NumPy's ``partition``: the ``kth`` element in its sorted place, smaller ones before it and
    larger ones after (the same arrangement as NumPy's). The gradient follows the elements.

    >>> import autonn as an
    >>> an.partition(an.tensor([3.0, 4.0, 2.0, 1.0]), 2)[2].item()
    3.0
    """
    if order is not None:
        raise ValueError("partition: order= applies to structured arrays, which Tensors are not")
    a, axis = _flat_or_axis(a, axis, "partition")
    out = numpy_call("partition", np.partition, a.data, kth, axis=axis, kind=kind)
    # the input element each output element is: match the two by rank (ties are equal values)
    by_rank_out = np.argsort(out, axis=axis, kind="stable")
    by_rank_in = np.argsort(a.data, axis=axis, kind="stable")
    source = np.empty_like(by_rank_in)
    np.put_along_axis(source, by_rank_out, by_rank_in, axis=axis)
    return _permute(a, source, axis)


def _int_result(arr):
    return Tensor._make(np.asarray(arr))


def _data(a, op_name):
    d = a.data if isinstance(a, Tensor) else np.asarray(a)
    if d.dtype.kind not in "biufc":
        raise TypeError(f"{op_name}: expects a numeric array, got dtype {d.dtype}")
    return d


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort ``a`` along ``axis`` (an integer Tensor, no gradient).

    >>> import autonn as an
    >>> an.argsort(an.tensor([3.0, 1.0, 2.0]))
    tensor([1, 2, 0])
    """
    d = _data(a, "argsort")
    return _int_result(numpy_call("argsort", np.argsort, d, axis=axis, kind=kind, order=order,
                                  stable=stable))


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition ``a`` (NumPy's ``argpartition``; an integer Tensor).

    >>> import autonn as an
    >>> an.argpartition(an.tensor([3.0, 4.0, 2.0, 1.0]), 2)[2].item()
    0
    """
    d = _data(a, "argpartition")
    return _int_result(numpy_call("argpartition", np.argpartition, d, kth, axis=axis, kind=kind,
                                  order=order))


def searchsorted(a, v, side="left", sorter=None):
    """Indices where the values ``v`` would be inserted into the sorted 1-D ``a`` (an integer
    Tensor).

    >>> import autonn as an
    >>> an.searchsorted(an.tensor([1.0, 2.0, 3.0]), an.tensor([2.5, 0.0]))
    tensor([2, 0])
    """
    d = _data(a, "searchsorted")
    if d.ndim != 1:
        raise ValueError(f"searchsorted: the sorted array must be 1-d, got shape {d.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    vd = _data(v, "searchsorted")
    s = None if sorter is None else _data(sorter, "searchsorted")
    return _int_result(numpy_call("searchsorted", np.searchsorted, d, vd, side=side, sorter=s))


def argwhere(a):
    """Indices of the non-zero elements, one row per element (an integer Tensor).

    >>> import autonn as an
    >>> an.argwhere(an.tensor([[0.0, 1.0], [2.0, 0.0]]))
    tensor([[0, 1],
           [1, 0]])
    """
    return _int_result(np.argwhere(_data(a, "argwhere")))


def nonzero(a):
    """Indices of the non-zero elements, one integer Tensor per axis (NumPy's ``nonzero``).

    >>> import autonn as an
    >>> an.nonzero(an.tensor([0.0, 3.0, 4.0]))
    (tensor([1, 2]),)
    """
    d = _data(a, "nonzero")
    if d.ndim == 0:
        raise ValueError("nonzero: a 0-d tensor has no indices; use atleast_1d(a).nonzero()")
    return tuple(_int_result(i) for i in np.nonzero(d))


def flatnonzero(a):
    """Indices of the non-zero elements of the flattened array (an integer Tensor).

    >>> import autonn as an
    >>> an.flatnonzero(an.tensor([[0.0, 1.0], [2.0, 0.0]]))
    tensor([1, 2])
    """
    return _int_result(np.flatnonzero(_data(a, "flatnonzero")))


from .gather import name_errors  # noqa: E402
name_errors(globals())  # errors raised inside name the function called

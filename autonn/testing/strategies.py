"""Hypothesis strategies for tensors and shapes, for your own property tests.

>>> from hypothesis import given
>>> import autonn as an
>>> from autonn.testing import strategies as ats
>>> @given(ats.tensors(shape=ats.shapes(max_dims=2)))
... def test_double(x):
...     assert ((x * 2).data == (x + x).data).all()
>>> test_double()
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes (tuples of ints), as ``hypothesis.extra.numpy.array_shapes``.

    >>> from autonn.testing.strategies import shapes
    >>> shape = shapes(max_dims=2).example()
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Tuples of ``num_shapes`` shapes that broadcast together.

    >>> from autonn.testing.strategies import broadcastable_shapes
    >>> a, b = broadcastable_shapes().example()
    """
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, min_side=min_side,
                                             max_side=max_side).map(lambda r: r.input_shapes)


def floats_away_from(low, high, avoid=(), margin=0.05, width=64):
    """Floats in ``[low, high]`` at least ``margin`` away from each point in ``avoid`` (kinks).

    >>> from autonn.testing.strategies import floats_away_from
    >>> v = floats_away_from(-1, 1, avoid=(0,)).example()
    """
    base = st.floats(low, high, allow_nan=False, allow_infinity=False, width=width)
    if not avoid:
        return base
    return base.filter(lambda v: all(abs(v - p) > margin for p in avoid))


def arrays(shape, dtype=np.float64, low=-3.0, high=3.0, avoid=(), margin=0.05, elements=None):
    """NumPy arrays of ``shape`` (a tuple or a strategy) with bounded finite values."""
    dtype = np.dtype(dtype)
    if elements is None:  # drawn in float64, then rounded to dtype
        elements = floats_away_from(low, high, avoid, margin)
        return hnp.arrays(np.float64, shape, elements=elements).map(lambda a: a.astype(dtype))
    return hnp.arrays(dtype, shape, elements=elements)


def tensors(shape=None, dtype=np.float64, elements=None, requires_grad=True, low=-3.0,
            high=3.0, avoid=()):
    """autonn Tensors with the given (or drawn) shape, dtype and element strategy.

    >>> from autonn.testing.strategies import tensors
    >>> t = tensors(shape=(2, 3)).example()
    >>> t.shape, t.requires_grad
    ((2, 3), True)
    """
    if shape is None:
        shape = shapes()
    return arrays(shape, dtype, low, high, avoid, elements=elements).map(
        lambda a: Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def axes(ndim, allow_none=True, allow_tuple=True):
    """An ``axis=`` argument for a tensor of ``ndim`` dimensions: None, an int (possibly
    negative) or a tuple of distinct axes.

    >>> from autonn.testing.strategies import axes
    >>> a = axes(3).example()
    """
    options = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                    unique=True).map(tuple))
    return st.one_of(*options) if options else st.none()

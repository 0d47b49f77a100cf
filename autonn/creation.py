"""Tensor creation: zeros, ones, full, arange, eye, random numbers and the global seed."""
import numpy as np

from ._dtype import get_default_dtype
from .tensor import Tensor

_rng = np.random.default_rng()


def manual_seed(seed):
    """Seed autonn's random generator (``rand``, ``randn``, layer init, Dropout, DataLoader).

    >>> import autonn as an
    >>> an.manual_seed(0); a = an.rand(2); an.manual_seed(0); bool(np.array_equal(a.data, an.rand(2).data))
    True
    """
    global _rng
    _rng = np.random.default_rng(int(seed))


def generator():
    """The global ``numpy.random.Generator`` that ``manual_seed`` seeds."""
    return _rng


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    return shape


def _leaf(data, requires_grad):
    t = Tensor._make(data)
    if requires_grad:
        t.requires_grad = True
    return t


def _float(dtype):
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros.

    >>> import autonn as an
    >>> an.zeros(2, 3).shape
    (2, 3)
    """
    return _leaf(np.zeros(_shape(shape), dtype=_float(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones.

    >>> import autonn as an
    >>> an.ones((2,))
    tensor([1., 1.])
    """
    return _leaf(np.ones(_shape(shape), dtype=_float(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad=False):
    """An uninitialised tensor.

    >>> import autonn as an
    >>> an.empty(3).shape
    (3,)
    """
    return _leaf(np.empty(_shape(shape), dtype=_float(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor filled with ``fill_value``.

    >>> import autonn as an
    >>> an.full((2,), 7.0)
    tensor([7., 7.])
    """
    if dtype is None and isinstance(fill_value, float):
        dtype = get_default_dtype()
    data = np.full(_shape((shape,) if isinstance(shape, int) else shape), fill_value, dtype=dtype)
    return _leaf(data, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with ``t``'s shape and dtype.

    >>> import autonn as an
    >>> an.zeros_like(an.ones(2))
    tensor([0., 0.])
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.zeros(data.shape, dtype=dtype or data.dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with ``t``'s shape and dtype.

    >>> import autonn as an
    >>> an.ones_like(an.zeros(2))
    tensor([1., 1.])
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.ones(data.shape, dtype=dtype or data.dtype), requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    """An uninitialised tensor with ``t``'s shape and dtype.

    >>> import autonn as an
    >>> an.empty_like(an.zeros((2, 3))).shape
    (2, 3)
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.empty(data.shape, dtype=dtype or data.dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` with ``t``'s shape and dtype, as ``numpy.full_like``.

    >>> import autonn as an
    >>> an.full_like(an.zeros(2), 7.0)
    tensor([7., 7.])
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.full(data.shape, fill_value, dtype=dtype or data.dtype), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in ``[start, stop)``, as ``numpy.arange``.

    >>> import autonn as an
    >>> an.arange(3.0)
    tensor([0., 1., 2.])
    """
    data = np.arange(start, stop, step) if stop is not None else np.arange(start, step=step)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype == np.float64:
        data = data.astype(get_default_dtype())
    return _leaf(data, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The identity matrix (``n`` by ``m``).

    >>> import autonn as an
    >>> an.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _leaf(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform random numbers in [0, 1).

    >>> import autonn as an
    >>> an.rand(2, 2).shape
    (2, 2)
    """
    data = _rng.random(_shape(shape)).astype(_float(dtype), copy=False)
    return _leaf(data, requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal random numbers.

    >>> import autonn as an
    >>> an.randn(3).shape
    (3,)
    """
    data = _rng.standard_normal(_shape(shape)).astype(_float(dtype), copy=False)
    return _leaf(data, requires_grad)

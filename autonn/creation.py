"""Tensor creation: zeros, ones, full, arange, eye, random numbers and the global seed."""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ._dtype import get_default_dtype
from ._validate import MAX_SIZE, check_size, check_sizes
from .tensor import Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed autonn's random generator (``rand``, ``randn``, layer init, Dropout, DataLoader).

    >>> import autonn as an
    >>> an.manual_seed(0); a = an.rand(2); an.manual_seed(0); bool(np.array_equal(a.data, an.rand(2).data))
    True
    """
    global _rng
    _rng = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The global ``numpy.random.Generator`` that ``manual_seed`` seeds."""
    return _rng


def _shape(shape, op):
    """A shape from ``f(2, 3)`` or ``f((2, 3))`` style arguments: integers only, as NumPy's."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return check_sizes(shape, "shape", op)


def _leaf(data, requires_grad):
    t = Tensor._make(data)
    if requires_grad:
        t.requires_grad = True
    return t


def _float(dtype):
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros.

    >>> import autonn as an
    >>> an.zeros(2, 3).shape
    (2, 3)
    """
    return _leaf(np.zeros(_shape(shape, "zeros"), dtype=_float(dtype)), requires_grad)


def ones(*shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones.

    >>> import autonn as an
    >>> an.ones((2,))
    tensor([1., 1.])
    """
    return _leaf(np.ones(_shape(shape, "ones"), dtype=_float(dtype)), requires_grad)


def empty(*shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor.

    >>> import autonn as an
    >>> an.empty(3).shape
    (3,)
    """
    return _leaf(np.empty(_shape(shape, "empty"), dtype=_float(dtype)), requires_grad)


def full(shape: int | Sequence[int], fill_value: Any, dtype: DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (a Tensor fill value keeps its graph).

    >>> import autonn as an
    >>> an.full((2,), 7.0)
    tensor([7., 7.])
    """
    if isinstance(fill_value, Tensor):  # differentiable in the fill value, as HIPS autograd's
        from .ops import broadcast_to
        value = fill_value if dtype is None else fill_value.astype(dtype)
        shape = check_sizes(shape, "shape", "full")
        try:
            ok = np.broadcast_shapes(value.shape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"full: a fill value of shape {value.shape} does not broadcast to "
                             f"{shape}")
        return broadcast_to(value, shape) * 1  # a new tensor, not a view of the fill value
    if dtype is None and isinstance(fill_value, float):
        dtype = get_default_dtype()
    shape = check_sizes(shape, "shape", "full")
    try:
        data = np.full(shape, fill_value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise TypeError(f"full: invalid fill value {fill_value!r:.40} or dtype {dtype!r}: {e}") from None
    if data.dtype.kind not in "biufc":
        raise TypeError(f"full: the fill value must be a number, got {fill_value!r:.40}")
    return _leaf(data, requires_grad)


def zeros_like(t: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``t``'s shape and dtype.

    >>> import autonn as an
    >>> an.zeros_like(an.ones(2))
    tensor([0., 0.])
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    if data.dtype.kind not in "biufc":
        raise TypeError(f"zeros_like: expects a numeric array or tensor, got dtype {data.dtype}")
    return _leaf(np.zeros(data.shape, dtype=dtype or data.dtype), requires_grad)


def ones_like(t: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``t``'s shape and dtype.

    >>> import autonn as an
    >>> an.ones_like(an.zeros(2))
    tensor([1., 1.])
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    if data.dtype.kind not in "biufc":
        raise TypeError(f"ones_like: expects a numeric array or tensor, got dtype {data.dtype}")
    return _leaf(np.ones(data.shape, dtype=dtype or data.dtype), requires_grad)


def empty_like(t: Any, dtype: Any=None, requires_grad: Any=False) -> Any:
    """An uninitialised tensor with ``t``'s shape and dtype.

    >>> import autonn as an
    >>> an.empty_like(an.zeros((2, 3))).shape
    (2, 3)
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.empty(data.shape, dtype=dtype or data.dtype), requires_grad)


def full_like(t: Any, fill_value: Any, dtype: Any=None, requires_grad: Any=False) -> Any:
    """``fill_value`` with ``t``'s shape and dtype, as ``numpy.full_like``.

    >>> import autonn as an
    >>> an.full_like(an.zeros(2), 7.0)
    tensor([7., 7.])
    """
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.full(data.shape, fill_value, dtype=dtype or data.dtype), requires_grad)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: DTypeLike | None = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in ``[start, stop)``, as ``numpy.arange``.

    >>> import autonn as an
    >>> an.arange(3.0)
    tensor([0., 1., 2.])
    >>> an.arange(0, 5, 0)
    Traceback (most recent call last):
        ...
    ValueError: arange: step must not be zero
    """
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if value is not None and (isinstance(value, (bool, np.bool_))
                                  or not isinstance(value, numbers.Real)):
            raise TypeError(f"arange: {name} must be a real number, got "
                            f"{type(value).__name__} {value!r:.60}")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if stop is None:
        start, stop = 0, start
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if not math.isfinite(value):
            raise ValueError(f"arange: {name} must be finite, got {value}")
    length = np.ceil((stop - start) / step)
    if length > MAX_SIZE:
        raise ValueError(f"arange: [{start}, {stop}) in steps of {step} has {length:.4g} "
                         f"elements, more than an array can hold")
    data = np.arange(start, stop, step)
    if data.dtype == object:
        raise ValueError(f"arange: [{start}, {stop}) in steps of {step} does not fit in int64 "
                         "or float64")
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype == np.float64:
        data = data.astype(get_default_dtype())
    return _leaf(data, requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (``n`` by ``m``).

    >>> import autonn as an
    >>> an.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    n = check_size(n, "n", "eye")
    m = None if m is None else check_size(m, "m", "eye")
    return _leaf(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [0, 1).

    >>> import autonn as an
    >>> an.rand(2, 2).shape
    (2, 2)
    """
    data = _rng.random(_shape(shape, "rand")).astype(_float(dtype), copy=False)
    return _leaf(data, requires_grad)


def randn(*shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal random numbers.

    >>> import autonn as an
    >>> an.randn(3).shape
    (3,)
    """
    data = _rng.standard_normal(_shape(shape, "randn")).astype(_float(dtype), copy=False)
    return _leaf(data, requires_grad)


class AllocationError(RuntimeError, MemoryError):
    """A tensor too large for the memory: a RuntimeError naming the constructor (as PyTorch's),
    and a MemoryError (as NumPy's)."""


def _allocating(fn):
    """``fn`` with a failed allocation reported as an :class:`AllocationError` naming it."""
    import functools

    @functools.wraps(fn)
    def constructor(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MemoryError as e:
            if isinstance(e, AllocationError):
                raise
            raise AllocationError(f"{fn.__name__}: cannot allocate the tensor: {e}") from None
        except (ValueError, TypeError) as e:  # NumPy's "array is too big", "data type not understood"
            if str(e).startswith(f"{fn.__name__}:"):
                raise
            raise (ValueError if isinstance(e, ValueError) else TypeError)(
                f"{fn.__name__}: {e}") from None
    return constructor


for _name in ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "arange", "eye",
              "rand", "randn"):
    globals()[_name] = _allocating(globals()[_name])

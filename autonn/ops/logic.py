"""Functions without a gradient, as in HIPS autograd: comparisons, logical functions, tests of
values (``isfinite``...), of arrays (``allclose``, ``array_equal``...) and of types, shape
queries and the ``*_like`` constructors.

They accept Tensors that require grad and never raise for it: array results are boolean or
integer Tensors outside the graph, and scalar results are plain Python values, as NumPy
returns them (``allclose`` a bool, ``shape`` a tuple, ``result_type`` a dtype).

>>> import autonn as an
>>> x = an.tensor([1.0, float("inf")], requires_grad=True)
>>> an.isfinite(x), an.allclose(x, x)
(tensor([ True, False]), True)
"""
from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..creation import empty_like, full_like, ones_like, zeros_like
from ..tensor import Axis, Tensor, TensorLike
from ._rules import marked_elementwise
from .elementwise import compare


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _unary(ufunc: Callable[[Any], Any], name: str, doc: str) -> Callable[[TensorLike], Tensor]:
    def fn(x: TensorLike) -> Tensor:
        return Tensor._make(np.asarray(ufunc(_data(x))))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return marked_elementwise(fn)


def _binary(ufunc: np.ufunc, name: str, doc: str) -> Callable[[TensorLike, TensorLike], Tensor]:
    def fn(x: TensorLike, y: TensorLike) -> Tensor:
        return compare(ufunc, x, y)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return marked_elementwise(fn)


isfinite = _unary(np.isfinite, "isfinite", """Elementwise: not infinite and not NaN.

    >>> import autonn as an
    >>> an.isfinite(an.tensor([1.0, float("nan")]))
    tensor([ True, False])
    """)
isinf = _unary(np.isinf, "isinf", """Elementwise: +inf or -inf.

    >>> import autonn as an
    >>> an.isinf(an.tensor([1.0, -float("inf")]))
    tensor([False,  True])
    """)
isnan = _unary(np.isnan, "isnan", """Elementwise: NaN.

    >>> import autonn as an
    >>> an.isnan(an.tensor([1.0, float("nan")]))
    tensor([False,  True])
    """)
isneginf = _unary(np.isneginf, "isneginf", """Elementwise: -inf.

    >>> import autonn as an
    >>> an.isneginf(an.tensor([float("inf"), -float("inf")]))
    tensor([False,  True])
    """)
isposinf = _unary(np.isposinf, "isposinf", """Elementwise: +inf.

    >>> import autonn as an
    >>> an.isposinf(an.tensor([float("inf"), -float("inf")]))
    tensor([ True, False])
    """)
iscomplex = _unary(np.iscomplex, "iscomplex", """Elementwise: a nonzero imaginary part.

    >>> import autonn as an
    >>> an.iscomplex(an.tensor([1.0]))
    tensor([False])
    """)
isreal = _unary(np.isreal, "isreal", """Elementwise: a zero imaginary part.

    >>> import autonn as an
    >>> an.isreal(an.tensor([1.0]))
    tensor([ True])
    """)
logical_not = _unary(np.logical_not, "logical_not", """Elementwise NOT (nonzero is True).

    >>> import autonn as an
    >>> an.logical_not(an.tensor([0.0, 2.0]))
    tensor([ True, False])
    """)
logical_and = _binary(np.logical_and, "logical_and", """Elementwise AND, with broadcasting.

    >>> import autonn as an
    >>> an.logical_and(an.tensor([0.0, 2.0]), 1.0)
    tensor([False,  True])
    """)
logical_or = _binary(np.logical_or, "logical_or", """Elementwise OR, with broadcasting.

    >>> import autonn as an
    >>> an.logical_or(an.tensor([0.0, 2.0]), 0.0)
    tensor([False,  True])
    """)
logical_xor = _binary(np.logical_xor, "logical_xor", """Elementwise XOR, with broadcasting.

    >>> import autonn as an
    >>> an.logical_xor(an.tensor([0.0, 2.0]), 1.0)
    tensor([ True, False])
    """)
greater = _binary(np.greater, "greater", """Elementwise ``x > y``.

    >>> import autonn as an
    >>> an.greater(an.tensor([1.0, 3.0]), 2.0)
    tensor([False,  True])
    """)
greater_equal = _binary(np.greater_equal, "greater_equal", """Elementwise ``x >= y``.

    >>> import autonn as an
    >>> an.greater_equal(an.tensor([1.0, 2.0]), 2.0)
    tensor([False,  True])
    """)
less = _binary(np.less, "less", """Elementwise ``x < y``.

    >>> import autonn as an
    >>> an.less(an.tensor([1.0, 3.0]), 2.0)
    tensor([ True, False])
    """)
less_equal = _binary(np.less_equal, "less_equal", """Elementwise ``x <= y``.

    >>> import autonn as an
    >>> an.less_equal(an.tensor([2.0, 3.0]), 2.0)
    tensor([ True, False])
    """)
equal = _binary(np.equal, "equal", """Elementwise ``x == y``.

    >>> import autonn as an
    >>> an.equal(an.tensor([2.0, 3.0]), 2.0)
    tensor([ True, False])
    """)
not_equal = _binary(np.not_equal, "not_equal", """Elementwise ``x != y``.

    >>> import autonn as an
    >>> an.not_equal(an.tensor([2.0, 3.0]), 2.0)
    tensor([False,  True])
    """)


@marked_elementwise
def isclose(a: TensorLike, b: TensorLike, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|a - b| <= atol + rtol * |b|``, as ``numpy.isclose``.

    >>> import autonn as an
    >>> an.isclose(an.tensor([1.0, 1.1]), 1.0)
    tensor([ True, False])
    """
    return Tensor._make(np.asarray(np.isclose(_data(a), _data(b), rtol, atol, equal_nan)))



def allclose(a: TensorLike, b: TensorLike, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether all elements are close (``isclose``): a Python bool.

    >>> import autonn as an
    >>> an.allclose(an.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    True
    """
    return builtins.bool(np.allclose(_data(a), _data(b), rtol, atol, equal_nan))


def array_equal(a1: TensorLike, a2: TensorLike, equal_nan: bool = False) -> bool:
    """Same shape and elements: a Python bool.

    >>> import autonn as an
    >>> an.array_equal(an.ones(2), [1.0, 1.0])
    True
    """
    return builtins.bool(np.array_equal(_data(a1), _data(a2), equal_nan=equal_nan))


def array_equiv(a1: TensorLike, a2: TensorLike) -> bool:
    """Equal after broadcasting: a Python bool.

    >>> import autonn as an
    >>> an.array_equiv(an.ones((2, 2)), [1.0, 1.0])
    True
    """
    return builtins.bool(np.array_equiv(_data(a1), _data(a2)))


def all(a: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Whether all elements (along ``axis``) are nonzero: a boolean Tensor.

    >>> import autonn as an
    >>> an.all(an.tensor([[1.0, 0.0], [2.0, 3.0]]), axis=1)
    tensor([False,  True])
    """
    return Tensor._make(np.asarray(np.all(_data(a), axis=axis, keepdims=keepdims)))


def any(a: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Whether any element (along ``axis``) is nonzero: a boolean Tensor.

    >>> import autonn as an
    >>> an.any(an.tensor([[1.0, 0.0], [0.0, 0.0]]), axis=1)
    tensor([ True, False])
    """
    return Tensor._make(np.asarray(np.any(_data(a), axis=axis, keepdims=keepdims)))


def count_nonzero(a: TensorLike, axis: Axis = None, keepdims: bool = False) -> int | Tensor:
    """The number of nonzero elements: a Python int, or an integer Tensor along ``axis``.

    >>> import autonn as an
    >>> an.count_nonzero(an.tensor([1.0, 0.0, 2.0]))
    2
    """
    out = np.count_nonzero(_data(a), axis=axis, keepdims=keepdims)
    return builtins.int(out) if np.ndim(out) == 0 and not keepdims else \
        Tensor._make(np.asarray(out))


def iscomplexobj(x: Any) -> bool:
    """Whether ``x`` has a complex dtype: a Python bool.

    >>> import autonn as an
    >>> an.iscomplexobj(an.ones(1))
    False
    """
    return builtins.bool(np.iscomplexobj(_data(x)))


def isscalar(element: Any) -> bool:
    """Whether ``element`` is a scalar (a Python or NumPy number, a string...); a Tensor, like
    an ndarray, is not: a Python bool.

    >>> import autonn as an
    >>> an.isscalar(3.0), an.isscalar(an.tensor(3.0))
    (True, False)
    """
    return builtins.bool(np.isscalar(element))


def ndim(a: TensorLike) -> int:
    """The number of dimensions: a Python int.

    >>> import autonn as an
    >>> an.ndim(an.ones((2, 3)))
    2
    """
    return np.ndim(_data(a))


def shape(a: TensorLike) -> tuple[int, ...]:
    """The shape: a tuple.

    >>> import autonn as an
    >>> an.shape(an.ones((2, 3)))
    (2, 3)
    """
    return np.shape(_data(a))


def size(a: TensorLike, axis: int | None = None) -> int:
    """The number of elements (along ``axis``): a Python int.

    >>> import autonn as an
    >>> an.size(an.ones((2, 3))), an.size(an.ones((2, 3)), 1)
    (6, 3)
    """
    return builtins.int(np.size(_data(a), axis))


def result_type(*arrays_and_dtypes: TensorLike | DTypeLike) -> np.dtype:
    """The dtype NumPy's promotion rules give for these Tensors, arrays, dtypes and numbers.

    >>> import autonn as an, numpy as np
    >>> an.result_type(an.ones(1, dtype=np.float32), np.float64)
    dtype('float64')
    """
    return np.result_type(*[_data(a) for a in arrays_and_dtypes])


__all__ = ["isfinite", "isinf", "isnan", "isneginf", "isposinf", "iscomplex", "isreal",
           "logical_not", "logical_and", "logical_or", "logical_xor", "greater",
           "greater_equal", "less", "less_equal", "equal", "not_equal", "isclose", "allclose",
           "array_equal", "array_equiv", "all", "any", "count_nonzero", "iscomplexobj",
           "isscalar", "ndim", "shape", "size", "result_type", "zeros_like", "ones_like",
           "empty_like", "full_like"]


from ._rules import name_errors_of  # noqa: E402

name_errors_of(globals(), "")  # errors name the function the user called

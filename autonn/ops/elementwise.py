"""Elementwise arithmetic, ``maximum``/``minimum``, ``clip`` and ``where``, with NumPy
broadcasting. (The elementary functions, ``exp``, ``sin``..., are in ``elementary``.)"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..tensor import Tensor, TensorLike, as_tensor
from ._rules import LinearOp, sum_terms
from .base import Op, apply, const, lift
from .elementary import abs, cos, exp, log, sin, sqrt  # noqa: F401  (their old home)
from .scalar import AddScalar, DivScalar, MulScalar, PowScalar, RDivScalar, RPowScalar, RSubScalar


def _binary(op, x, y):  # operand_pair, inlined: this is the hot path of x + y
    if isinstance(x, Tensor):
        y = lift(y, x)
    else:
        y = as_tensor(y) if not isinstance(y, Tensor) else y
        x = lift(x, y)
    return apply(op, x, y)


class Add(LinearOp):
    __slots__ = ()

    def forward(self, x, y):
        return x + y

    def vjp(self, g, out, x, y):
        return g, g


class Sub(LinearOp):
    __slots__ = ()

    def forward(self, x, y):
        return x - y

    def vjp(self, g, out, x, y):
        return g, -g


class Mul(Op):
    __slots__ = ()
    complex = True

    def forward(self, x, y):
        return x * y

    def vjp(self, g, out, x, y):
        return (g * y if x.requires_grad else None), (g * x if y.requires_grad else None)

    def jvp(self, tangents, out, x, y):
        dx, dy = tangents
        return sum_terms(None if dx is None else dx * y, None if dy is None else x * dy)


class Div(Op):
    __slots__ = ()
    complex = True

    def forward(self, x, y):
        return x / y

    def vjp(self, g, out, x, y):
        gx = g / y
        return (gx if x.requires_grad else None), (-gx * out if y.requires_grad else None)

    def jvp(self, tangents, out, x, y):
        dx, dy = tangents
        return sum_terms(None if dx is None else dx / y, None if dy is None else -dy * out / y)


class Pow(Op):
    __slots__ = ()
    complex = True

    def forward(self, x, y):
        return np.power(x, y)

    def vjp(self, g, out, x, y):
        # As PyTorch: no 0 * inf at x = 0 (d/dx x**0 is 0; d/dy 0**y is 0 for y >= 0).
        with np.errstate(divide="ignore", invalid="ignore"):  # the masked-out branches
            return self._vjp(g, out, x, y)

    def _vjp(self, g, out, x, y):
        gx = gy = None
        if x.requires_grad:
            zero_power = (y.data == 0) & (x.data == 0)  # 0 * inf: the derivative is 0
            gx = where(zero_power, const(np.zeros((), g.dtype)), g * y * x ** (y - 1))
        if y.requires_grad:
            zero_base = (x.data == 0) & (y.data >= 0)
            safe_x = where(zero_base, const(np.ones((), x.dtype)), x)
            gy = where(zero_base, const(np.zeros((), g.dtype)), g * out * log(safe_x))
        return gx, gy


class Neg(LinearOp):
    __slots__ = ()

    def forward(self, x):
        return np.negative(x)

    def vjp(self, g, out, x):
        return -g


class Cast(LinearOp):
    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        if x.dtype.kind == "c" and self.dtype.kind != "c":
            x = x.real  # complex to real keeps the real part (NumPy warns and does the same)
        return x.astype(self.dtype)

    def vjp(self, g, out, x):
        return cast(g, x.dtype)


class Where(LinearOp):
    """``where(cond, x, y)``; ``cond`` is a constant boolean array."""
    __slots__ = ("cond",)

    def __init__(self, cond):
        self.cond = cond

    def forward(self, x, y):
        return np.where(self.cond, x, y)

    def vjp(self, g, out, x, y):
        zero = const(np.zeros((), dtype=g.dtype))
        gx = where(self.cond, g, zero) if x.requires_grad else None
        gy = where(self.cond, zero, g) if y.requires_grad else None
        return gx, gy


class _MaskedLinear(LinearOp):
    """``x * mask`` with a constant mask: the gradient rule of max, min, clip, ties split evenly."""
    __slots__ = ("mask",)

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def vjp(self, g, out, x):
        return apply(_MaskedLinear(self.mask), g)


class Maximum(Op):
    __slots__ = ()
    _fn = staticmethod(np.maximum)
    _wins = staticmethod(np.greater)

    def forward(self, x, y):
        return self._fn(x, y)

    def _masks(self, x, y, dtype):
        """Constant masks routing the gradient to the winner; ties split it evenly."""
        wins = self._wins(x.data, y.data)
        half_tie = (x.data == y.data).astype(dtype) * 0.5
        loses = ~wins & (x.data != y.data)
        return wins.astype(dtype) + half_tie, loses.astype(dtype) + half_tie

    def vjp(self, g, out, x, y):
        mx, my = self._masks(x, y, g.dtype)
        return apply(_MaskedLinear(mx), g), apply(_MaskedLinear(my), g)

    def jvp(self, tangents, out, x, y):
        masks = self._masks(x, y, out.dtype)
        return sum_terms(*[apply(_MaskedLinear(m), d) for m, d in zip(masks, tangents)
                           if d is not None])


class Minimum(Maximum):
    __slots__ = ()
    _fn = staticmethod(np.minimum)
    _wins = staticmethod(np.less)


class Clip(Op):
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return np.clip(x, self.lo, self.hi)

    def _mask(self, x):
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return inside.astype(x.dtype)

    def vjp(self, g, out, x):
        return apply(_MaskedLinear(self._mask(x.data)), g)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        return None if dx is None else apply(_MaskedLinear(self._mask(x.data)), dx)


# ----- public functions -----
def add(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise ``x + y`` with broadcasting.

    >>> import autonn as an
    >>> an.add(an.ones(2), 1.5)
    tensor([2.5, 2.5])
    """
    if (type(y) is float or type(y) is int) and isinstance(x, Tensor):  # is_scalar, inlined
        return apply(AddScalar(y), x)
    if (type(x) is float or type(x) is int) and isinstance(y, Tensor):
        return apply(AddScalar(x), y)
    return _binary(Add(), x, y)


def sub(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise ``x - y``.

    >>> import autonn as an
    >>> an.sub(an.ones(2), 1.0)
    tensor([0., 0.])
    """
    if (type(y) is float or type(y) is int) and isinstance(x, Tensor):  # is_scalar, inlined
        return apply(AddScalar(-y), x)
    if (type(x) is float or type(x) is int) and isinstance(y, Tensor):
        return apply(RSubScalar(x), y)
    return _binary(Sub(), x, y)


def mul(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise ``x * y``.

    >>> import autonn as an
    >>> an.mul(an.ones(2), 3.0)
    tensor([3., 3.])
    """
    if (type(y) is float or type(y) is int) and isinstance(x, Tensor):  # is_scalar, inlined
        return apply(MulScalar(y), x)
    if (type(x) is float or type(x) is int) and isinstance(y, Tensor):
        return apply(MulScalar(x), y)
    return _binary(Mul(), x, y)


def div(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise ``x / y``.

    >>> import autonn as an
    >>> an.div(an.ones(2), 4.0)
    tensor([0.25, 0.25])
    """
    if (type(y) is float or type(y) is int) and isinstance(x, Tensor):  # is_scalar, inlined
        return apply(DivScalar(y), x)
    if (type(x) is float or type(x) is int) and isinstance(y, Tensor):
        return apply(RDivScalar(x), y)
    return _binary(Div(), x, y)


def pow(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise ``x ** y``.

    >>> import autonn as an
    >>> an.pow(an.tensor([2.0, 3.0]), 2)
    tensor([4., 9.])
    """
    if (type(y) is float or type(y) is int) and isinstance(x, Tensor):  # is_scalar, inlined
        return apply(PowScalar(y), x)
    if (type(x) is float or type(x) is int) and isinstance(y, Tensor):
        return apply(RPowScalar(x), y)
    return _binary(Pow(), x, y)


def neg(x: TensorLike) -> Tensor:
    """Elementwise ``-x``.

    >>> import autonn as an
    >>> an.neg(an.ones(1))
    tensor([-1.])
    """
    return apply(Neg(), as_tensor(x))


def cast(x: TensorLike, dtype: DTypeLike) -> Tensor:
    """``x`` converted to ``dtype``, differentiably (the gradient is cast back).

    >>> import autonn as an, numpy as np
    >>> an.cast(an.ones(1), np.float32).dtype
    dtype('float32')
    """
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind not in "fc":  # integers and booleans carry no gradient
        return Tensor._make(x.data.astype(dtype))
    return apply(Cast(dtype), x)


def maximum(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise maximum; at ties each side gets half the gradient.

    >>> import autonn as an
    >>> an.maximum(an.tensor([1.0, 5.0]), 2.0)
    tensor([2., 5.])
    """
    return _binary(Maximum(), x, y)


def minimum(x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise minimum; at ties each side gets half the gradient.

    >>> import autonn as an
    >>> an.minimum(an.tensor([1.0, 5.0]), 2.0)
    tensor([1., 2.])
    """
    return _binary(Minimum(), x, y)


def clip(x: TensorLike, a_min: Any = None, a_max: Any = None) -> Tensor:
    """Limit values to ``[a_min, a_max]`` (NumPy's ``clip``); the gradient passes where
    ``a_min <= x <= a_max``.

    >>> import autonn as an
    >>> an.clip(an.tensor([-2.0, 0.5, 3.0]), -1, 1)
    tensor([-1. ,  0.5,  1. ])
    """
    x = as_tensor(x)
    if a_min is None and a_max is None:
        raise ValueError("clip: at least one of a_min and a_max must be given")
    lo, hi = _bound(a_min, x, "a_min"), _bound(a_max, x, "a_max")
    if lo is not None and hi is not None and np.any(lo > hi):
        raise ValueError(f"clip: a_min ({a_min}) is greater than a_max ({a_max})")
    return apply(Clip(lo, hi), x)


def _bound(v, x, name):
    """A clip bound as a number or an array broadcastable to x (constant: no gradient)."""
    if v is None:
        return None
    v = v.data if isinstance(v, Tensor) else v
    try:
        if np.ndim(v) == 0:
            return float(v)
        arr = np.asarray(v, dtype=x.dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise TypeError(f"clip: {name} must be a number or an array of numbers, got {v!r:.40} "
                        f"({e})") from None
    try:
        if np.broadcast_shapes(arr.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"clip: {name} of shape {arr.shape} does not broadcast to the input "
                         f"shape {x.shape}") from None
    return arr


def where(condition: TensorLike, x: TensorLike, y: TensorLike) -> Tensor:
    """Elements of ``x`` where ``condition`` holds, else of ``y`` (broadcasting all three).

    >>> import autonn as an
    >>> an.where(an.tensor([True, False]), an.ones(2), an.zeros(2))
    tensor([1., 0.])
    """
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    cond = cond.astype(bool, copy=False)
    if isinstance(x, Tensor) or not isinstance(y, Tensor):
        x = as_tensor(x) if not isinstance(x, Tensor) else x
        y = lift(y, x)
    else:
        x = lift(x, y)
    try:
        shape = np.broadcast_shapes(cond.shape, x.shape, y.shape)
    except ValueError:
        raise ValueError(f"where: condition, x and y shapes {cond.shape}, {x.shape}, {y.shape} "
                         "do not broadcast together") from None
    if cond.shape != shape:
        cond = np.broadcast_to(cond, shape)
    return apply(Where(cond), x, y)


def compare(ufunc, x, y):
    """A comparison (no gradient): a boolean Tensor."""
    a = x.data if isinstance(x, Tensor) else x
    b = y.data if isinstance(y, Tensor) else y
    try:
        return Tensor._make(np.asarray(ufunc(a, b)))
    except ValueError:
        raise ValueError(f"{ufunc.__name__}: shapes {np.shape(a)} and {np.shape(b)} do not "
                         "broadcast together") from None


__all__ = ["add", "sub", "mul", "div", "pow", "neg", "cast", "maximum", "minimum", "clip",
           "where"]

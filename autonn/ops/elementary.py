"""Elementary functions (exp/log family, powers, trigonometric, hyperbolic), each declared once
by its NumPy forward and its partial derivatives (see ``autonn.ops._rules.elementwise``).

A rule ``lambda g, out, x: ...`` returns ``g * d(out)/dx`` in autonn ops, so it differentiates
again; the optional array rule (``arrays=``) is the same formula on NumPy arrays, for a plain
``backward()``. Adding an op here and one ``register`` line in ``autonn/testing/registry.py``
is all it takes (see docs/adding_ops.md).
"""
import numpy as np

from .base import const
from ._rules import elementwise

exp = elementwise(
    "exp", np.exp, lambda g, out, x: g * out, arrays=(lambda g, out, x: g * out,),
    complex=True,
    doc="""Elementwise e**x.

    >>> import autonn as an
    >>> an.exp(an.zeros(1))
    tensor([1.])
    """)

log = elementwise(
    "log", np.log, lambda g, out, x: g / x, arrays=(lambda g, out, x: g / x,),
    complex=True,
    doc="""Elementwise natural logarithm.

    >>> import autonn as an
    >>> an.log(an.ones(1))
    tensor([0.])
    """)

sqrt = elementwise(
    "sqrt", np.sqrt, lambda g, out, x: g / (2 * out), arrays=(lambda g, out, x: g / (2 * out),),
    complex=True,
    doc="""Elementwise square root.

    >>> import autonn as an
    >>> an.sqrt(an.tensor([4.0]))
    tensor([2.])
    """)


def _abs_rule(g, out, x):
    if x.dtype.kind == "c":  # d|z| = Re(conj(z) dz) / |z|: the cotangent times conj(z) / |z|
        from .complex_parts import conj
        from .elementwise import where
        return g * conj(x) / where(out.data == 0, 1.0, out)  # (0 at z = 0, as sign(0) for reals)
    return g * const(np.sign(x.data))


def _abs_rule_arrays(g, out, x):
    return g * (np.conj(_unit(x)) if x.dtype.kind == "c" else np.sign(x))


def _unit(z):
    """z / |z|, and 0 at 0 (the gradient of |z| there, as for real inputs)."""
    a = np.abs(z)
    return np.where(a == 0, 0, z / np.where(a == 0, 1, a))


abs = elementwise(
    "abs", np.abs, _abs_rule, arrays=(_abs_rule_arrays,), complex=True,
    doc="""Elementwise |x|; the gradient at 0 is 0 (sign(0)). For complex ``z`` the gradient is
    ``conj(z) / |z|`` times the cotangent (HIPS autograd's and JAX's convention).

    >>> import autonn as an
    >>> an.abs(an.tensor([-2.0]))
    tensor([2.])
    """)


def _abs_jvp(self, tangents, out, x):
    """|z| is not holomorphic: its tangent is the real part Re(conj(z) dz) / |z|."""
    (dx,) = tangents
    if dx is None:
        return None
    t = _abs_rule(dx, out, x)
    if x.dtype.kind == "c":
        from .complex_parts import real
        t = real(t)
    return t


abs.op.jvp = _abs_jvp

sin = elementwise(
    "sin", np.sin, lambda g, out, x: g * cos(x), arrays=(lambda g, out, x: g * np.cos(x),),
    complex=True,
    doc="""Elementwise sine.

    >>> import autonn as an
    >>> an.sin(an.zeros(1))
    tensor([0.])
    """)

cos = elementwise(
    "cos", np.cos, lambda g, out, x: -g * sin(x), arrays=(lambda g, out, x: -g * np.sin(x),),
    complex=True,
    doc="""Elementwise cosine.

    >>> import autonn as an
    >>> an.cos(an.zeros(1))
    tensor([1.])
    """)

tan = elementwise(
    "tan", np.tan, lambda g, out, x: g * (1 + out * out),
    complex=True,
    doc="""Elementwise tangent.

    >>> import autonn as an
    >>> an.tan(an.zeros(1))
    tensor([0.])
    """)

log1p = elementwise(
    "log1p", np.log1p, lambda g, out, x: g / (1 + x),
    complex=True,
    doc="""Elementwise ``log(1 + x)``, accurate for small x.

    >>> import autonn as an
    >>> an.log1p(an.zeros(1))
    tensor([0.])
    """)

expm1 = elementwise(
    "expm1", np.expm1, lambda g, out, x: g * (out + 1),
    complex=True,
    doc="""Elementwise ``exp(x) - 1``, accurate for small x.

    >>> import autonn as an
    >>> an.expm1(an.zeros(1))
    tensor([0.])
    """)

square = elementwise(
    "square", np.square, lambda g, out, x: g * x * 2,
    complex=True,
    doc="""Elementwise ``x * x``.

    >>> import autonn as an
    >>> an.square(an.tensor([-3.0]))
    tensor([9.])
    """)

reciprocal = elementwise(
    "reciprocal", np.reciprocal, lambda g, out, x: -g * out * out,
    complex=True,
    doc="""Elementwise ``1 / x``.

    >>> import autonn as an
    >>> an.reciprocal(an.tensor([4.0]))
    tensor([0.25])
    """)

sinh = elementwise(
    "sinh", np.sinh, lambda g, out, x: g * cosh(x),
    complex=True,
    doc="""Elementwise hyperbolic sine.

    >>> import autonn as an
    >>> an.sinh(an.zeros(1))
    tensor([0.])
    """)

cosh = elementwise(
    "cosh", np.cosh, lambda g, out, x: g * sinh(x),
    complex=True,
    doc="""Elementwise hyperbolic cosine.

    >>> import autonn as an
    >>> an.cosh(an.zeros(1))
    tensor([1.])
    """)

arctan = elementwise(
    "arctan", np.arctan, lambda g, out, x: g / (1 + x * x),
    complex=True,
    doc="""Elementwise inverse tangent, in ``(-pi/2, pi/2)``.

    >>> import autonn as an
    >>> an.arctan(an.zeros(1))
    tensor([0.])
    """)

arctan2 = elementwise(
    "arctan2", np.arctan2,
    lambda g, out, y, x: g * x / (x * x + y * y),
    lambda g, out, y, x: -g * y / (x * x + y * y),
    doc="""Elementwise angle of the point ``(x, y)``: ``arctan(y / x)`` in the right quadrant,
    in ``[-pi, pi]`` (NumPy's argument order: ``arctan2(y, x)``), with broadcasting.

    >>> import autonn as an
    >>> an.arctan2(an.tensor([1.0]), -1.0)
    tensor([2.35619449])
    """)

__all__ = ["exp", "log", "sqrt", "abs", "sin", "cos", "tan", "log1p", "expm1", "square",
           "reciprocal", "sinh", "cosh", "arctan", "arctan2"]

"""Elementary functions (exp/log family, powers, trigonometric, hyperbolic), each declared once
by its NumPy forward and its partial derivatives (see ``autonn.ops._rules.elementwise``).

A rule ``lambda g, out, x: ...`` returns ``g * d(out)/dx`` in autonn ops, so it differentiates
again; the optional array rule (``arrays=``) is the same formula on NumPy arrays, for a plain
``backward()`` (``arrays=True``: the rule itself, when it uses only arithmetic operators).
Adding an op here and one ``register`` line in ``autonn/testing/registry.py`` is all it takes
(see docs/adding_ops.md).
"""

import numpy as np

from ._rules import ElementwiseFn, elementwise
from .base import const

cos: ElementwiseFn   # declared ahead: sin's rule uses cos, defined below
cosh: ElementwiseFn  # likewise for sinh's rule

exp = elementwise(
    "exp", np.exp, lambda g, out, x: g * out, arrays=True,
    complex=True,
    doc="""Elementwise e**x.

    >>> import autonn as an
    >>> an.exp(an.zeros(1))
    tensor([1.])
    """)

log = elementwise(
    "log", np.log, lambda g, out, x: g / x, arrays=True,
    complex=True,
    doc="""Elementwise natural logarithm.

    >>> import autonn as an
    >>> an.log(an.ones(1))
    tensor([0.])
    """)

sqrt = elementwise(
    "sqrt", np.sqrt, lambda g, out, x: g / (2 * out), arrays=True,
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

_LN2, _LN10 = float(np.log(2)), float(np.log(10))

arcsin = elementwise(
    "arcsin", np.arcsin, lambda g, out, x: g / sqrt(1 - x * x),
    complex=True,
    doc="""Elementwise inverse sine, in ``[-pi/2, pi/2]``; defined on ``[-1, 1]``, differentiable
    inside.

    >>> import autonn as an
    >>> an.arcsin(an.ones(1))
    tensor([1.57079633])
    """)

arccos = elementwise(
    "arccos", np.arccos, lambda g, out, x: -g / sqrt(1 - x * x),
    complex=True,
    doc="""Elementwise inverse cosine, in ``[0, pi]``; defined on ``[-1, 1]``, differentiable
    inside.

    >>> import autonn as an
    >>> an.arccos(an.ones(1))
    tensor([0.])
    """)

arcsinh = elementwise(
    "arcsinh", np.arcsinh, lambda g, out, x: g / sqrt(x * x + 1),
    complex=True,
    doc="""Elementwise inverse hyperbolic sine.

    >>> import autonn as an
    >>> an.arcsinh(an.zeros(1))
    tensor([0.])
    """)

arccosh = elementwise(  # sqrt(x - 1) sqrt(x + 1): sqrt(x * x - 1) has the wrong sign for Re z < 0
    "arccosh", np.arccosh, lambda g, out, x: g / (sqrt(x - 1) * sqrt(x + 1)),
    complex=True,
    doc="""Elementwise inverse hyperbolic cosine; defined for ``x >= 1``, differentiable for
    ``x > 1`` (complex: everywhere off NumPy's branch cut, the real axis left of 1).

    >>> import autonn as an
    >>> an.arccosh(an.ones(1))
    tensor([0.])
    """)

arctanh = elementwise(
    "arctanh", np.arctanh, lambda g, out, x: g / (1 - x * x),
    complex=True,
    doc="""Elementwise inverse hyperbolic tangent, on ``(-1, 1)``.

    >>> import autonn as an
    >>> an.arctanh(an.zeros(1))
    tensor([0.])
    """)

log2 = elementwise(
    "log2", np.log2, lambda g, out, x: g / (x * _LN2),
    complex=True,
    doc="""Elementwise base-2 logarithm.

    >>> import autonn as an
    >>> an.log2(an.tensor([8.0]))
    tensor([3.])
    """)

log10 = elementwise(
    "log10", np.log10, lambda g, out, x: g / (x * _LN10),
    complex=True,
    doc="""Elementwise base-10 logarithm.

    >>> import autonn as an
    >>> an.log10(an.tensor([100.0]))
    tensor([2.])
    """)

exp2 = elementwise(
    "exp2", np.exp2, lambda g, out, x: g * out * _LN2,
    complex=True,
    doc="""Elementwise ``2**x``.

    >>> import autonn as an
    >>> an.exp2(an.tensor([3.0]))
    tensor([8.])
    """)

hypot = elementwise(
    "hypot", np.hypot, lambda g, out, x, y: g * x / out, lambda g, out, x, y: g * y / out,
    doc="""Elementwise ``sqrt(x**2 + y**2)``, with broadcasting; not differentiable where
    ``x = y = 0``.

    >>> import autonn as an
    >>> an.hypot(an.tensor([3.0]), 4.0)
    tensor([5.])
    """)

logaddexp = elementwise(
    "logaddexp", np.logaddexp,
    lambda g, out, x, y: g * exp(x - out), lambda g, out, x, y: g * exp(y - out),
    doc="""Elementwise ``log(exp(x) + exp(y))``, without overflow, with broadcasting.

    >>> import autonn as an
    >>> an.logaddexp(an.zeros(1), 0.0)
    tensor([0.69314718])
    """)

logaddexp2 = elementwise(
    "logaddexp2", np.logaddexp2,
    lambda g, out, x, y: g * exp2(x - out), lambda g, out, x, y: g * exp2(y - out),
    doc="""Elementwise ``log2(2**x + 2**y)``, without overflow, with broadcasting.

    >>> import autonn as an
    >>> an.logaddexp2(an.ones(1), 1.0)
    tensor([2.])
    """)


def _sinc_slope(g, out, x):
    """g * d sinc(x)/dx: (cos(pi x) - sinc(x)) / x, and its Taylor series near 0, where that
    formula cancels (-pi^2 x/3 + pi^4 x^3/30 - pi^6 x^5/840: relative error < 1e-13 for
    |x| < 1e-2)."""
    from .elementwise import where
    near = const(np.abs(x.data) < 1e-2)
    safe = where(near, const(np.ones((), x.dtype)), x)
    far = (cos(np.pi * safe) - sinc(safe)) / safe
    x2 = x * x
    series = x * (-np.pi ** 2 / 3 + x2 * (np.pi ** 4 / 30 - x2 * (np.pi ** 6 / 840)))
    return g * where(near, series, far)


sinc = elementwise(
    "sinc", np.sinc, _sinc_slope, complex=True,
    doc="""Elementwise normalized sinc, ``sin(pi x) / (pi x)`` (1 at 0), as ``numpy.sinc``; its
    derivative near 0 is computed from a Taylor series, so every order is accurate there.

    >>> import autonn as an
    >>> an.sinc(an.tensor([0.0, 0.5]))
    tensor([1.        , 0.63661977])
    """)

deg2rad = elementwise(
    "deg2rad", np.deg2rad, lambda g, out, x: g * (np.pi / 180),
    doc="""Degrees to radians, elementwise (also named ``radians``).

    >>> import autonn as an
    >>> an.deg2rad(an.tensor([180.0]))
    tensor([3.14159265])
    """)

rad2deg = elementwise(
    "rad2deg", np.rad2deg, lambda g, out, x: g * (180 / np.pi),
    doc="""Radians to degrees, elementwise (also named ``degrees``).

    >>> import autonn as an
    >>> an.rad2deg(an.tensor([3.141592653589793]))
    tensor([180.])
    """)

radians = deg2rad
degrees = rad2deg

__all__ = ["exp", "log", "sqrt", "abs", "sin", "cos", "tan", "log1p", "expm1", "square",
           "reciprocal", "sinh", "cosh", "arctan", "arctan2",
           "arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "log2", "log10", "exp2", "hypot",
           "logaddexp", "logaddexp2", "sinc", "deg2rad", "rad2deg", "radians", "degrees"]

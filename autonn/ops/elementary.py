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
    doc="""Elementwise e**x.

    >>> import autonn as an
    >>> an.exp(an.zeros(1))
    tensor([1.])
    """)

log = elementwise(
    "log", np.log, lambda g, out, x: g / x, arrays=(lambda g, out, x: g / x,),
    doc="""Elementwise natural logarithm.

    >>> import autonn as an
    >>> an.log(an.ones(1))
    tensor([0.])
    """)

sqrt = elementwise(
    "sqrt", np.sqrt, lambda g, out, x: g / (2 * out), arrays=(lambda g, out, x: g / (2 * out),),
    doc="""Elementwise square root.

    >>> import autonn as an
    >>> an.sqrt(an.tensor([4.0]))
    tensor([2.])
    """)

abs = elementwise(
    "abs", np.abs, lambda g, out, x: g * const(np.sign(x.data)),
    arrays=(lambda g, out, x: g * np.sign(x),),
    doc="""Elementwise |x|; the gradient at 0 is 0 (sign(0)).

    >>> import autonn as an
    >>> an.abs(an.tensor([-2.0]))
    tensor([2.])
    """)

sin = elementwise(
    "sin", np.sin, lambda g, out, x: g * cos(x), arrays=(lambda g, out, x: g * np.cos(x),),
    doc="""Elementwise sine.

    >>> import autonn as an
    >>> an.sin(an.zeros(1))
    tensor([0.])
    """)

cos = elementwise(
    "cos", np.cos, lambda g, out, x: -g * sin(x), arrays=(lambda g, out, x: -g * np.sin(x),),
    doc="""Elementwise cosine.

    >>> import autonn as an
    >>> an.cos(an.zeros(1))
    tensor([1.])
    """)

tan = elementwise(
    "tan", np.tan, lambda g, out, x: g * (1 + out * out),
    doc="""Elementwise tangent.

    >>> import autonn as an
    >>> an.tan(an.zeros(1))
    tensor([0.])
    """)

log1p = elementwise(
    "log1p", np.log1p, lambda g, out, x: g / (1 + x),
    doc="""Elementwise ``log(1 + x)``, accurate for small x.

    >>> import autonn as an
    >>> an.log1p(an.zeros(1))
    tensor([0.])
    """)

expm1 = elementwise(
    "expm1", np.expm1, lambda g, out, x: g * (out + 1),
    doc="""Elementwise ``exp(x) - 1``, accurate for small x.

    >>> import autonn as an
    >>> an.expm1(an.zeros(1))
    tensor([0.])
    """)

square = elementwise(
    "square", np.square, lambda g, out, x: g * x * 2,
    doc="""Elementwise ``x * x``.

    >>> import autonn as an
    >>> an.square(an.tensor([-3.0]))
    tensor([9.])
    """)

reciprocal = elementwise(
    "reciprocal", np.reciprocal, lambda g, out, x: -g * out * out,
    doc="""Elementwise ``1 / x``.

    >>> import autonn as an
    >>> an.reciprocal(an.tensor([4.0]))
    tensor([0.25])
    """)

sinh = elementwise(
    "sinh", np.sinh, lambda g, out, x: g * cosh(x),
    doc="""Elementwise hyperbolic sine.

    >>> import autonn as an
    >>> an.sinh(an.zeros(1))
    tensor([0.])
    """)

cosh = elementwise(
    "cosh", np.cosh, lambda g, out, x: g * sinh(x),
    doc="""Elementwise hyperbolic cosine.

    >>> import autonn as an
    >>> an.cosh(an.zeros(1))
    tensor([1.])
    """)

arctan = elementwise(
    "arctan", np.arctan, lambda g, out, x: g / (1 + x * x),
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

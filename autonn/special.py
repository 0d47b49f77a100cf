"""Special functions, as ``scipy.special``, differentiable (``an.special.erf``, ``gammaln``,
``digamma``, ``betainc``, Bessel functions...). Forward values come from SciPy; the derivatives
are declared in ``autonn.ops.special``. Loaded on first use (``import autonn`` does not import
SciPy).

>>> import autonn as an
>>> x = an.tensor([1.0], requires_grad=True)
>>> an.special.gammaln(x).sum().backward(); x.grad       # digamma(1) = -Euler's gamma
tensor([-0.57721566])
"""
from .ops.special import *  # noqa: F401,F403
from .ops.special import __all__  # noqa: F401

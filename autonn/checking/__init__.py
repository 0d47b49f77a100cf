"""Gradient checking (``autonn.checking``): ``an.gradcheck``, ``an.gradgradcheck``, ``an.gradcheck_report``.

Analytic derivatives (reverse mode, and forward mode with ``check_forward_ad=True``) are compared
with central finite differences, element by element as ``numpy.allclose``:
``|analytic - numeric| <= atol + rtol * |numeric|``.

Defaults per dtype (the least precise floating dtype among the checked inputs and outputs):

=========== ================================ ======== ========
dtype       step ``h`` (times max(|x|, 1))   atol     rtol
=========== ================================ ======== ========
float64     2**-18 = 3.8e-6  (eps**(1/3))    1e-6     1e-5
float32     2**-8  = 3.9e-3                  1e-3     1e-2
longdouble  2**-22 = 2.4e-7                  1e-8     1e-7
=========== ================================ ======== ========

With ``richardson=True`` the step is ``eps**(1/5)`` (2**-11 in float64, 2**-5 in float32) and
the estimate combines steps h and h/2. ``numeric_dtype=np.longdouble`` evaluates fn in extended
precision for the finite differences. ``fast_mode=True`` checks random projections and recomputes
the full Jacobian only when they disagree. Non-differentiable points (relu at 0, ties of max) are
detected from one-sided differences and reported in ``.nondifferentiable`` instead of failing.
When a check fails, ``.culprit`` names the first op whose own vjp disagrees with its own finite
differences, with the file:line that created it. See docs/gradcheck.md.

>>> import autonn as an
>>> x = an.tensor([1.0, 2.0], requires_grad=True)
>>> an.gradcheck(lambda t: an.exp(t) * t, (x,))
True
"""
from ._check import gradcheck, gradcheck_report, gradgradcheck
from ._report import (Culprit, DomainEdge, GradcheckError, GradcheckReport,  # noqa: F401
                      GradcheckWarning, InputReport, Kink, PairReport)
from ._tolerances import TOLERANCES, WIDENED  # noqa: F401

__all__ = ["gradcheck", "gradgradcheck", "gradcheck_report", "GradcheckError", "GradcheckReport",
           "GradcheckWarning", "InputReport", "PairReport", "Kink", "Culprit", "DomainEdge",
           "TOLERANCES", "WIDENED"]

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

float32 inputs of a ``fn`` that also runs in float64 take their finite differences from float64
evaluations at the same points (float64's step), with atol 1e-5 and rtol 1e-4 (``WIDENED``):
only the float32 rounding of the analytic side is left to cover. ``numeric_dtype=np.float32``
keeps the float32 check. A step that leaves fn's domain (a non-finite output where the output at
x is finite) is shrunk, or made one-sided, and reported in ``.domain_edges``, not as a mismatch.

With ``richardson=True`` the step is ``eps**(1/5)`` (2**-11 in float64, 2**-5 in float32) and
the estimate combines steps h and h/2. ``numeric_dtype=np.longdouble`` evaluates fn in extended
precision for the finite differences. ``fast_mode=True`` checks random projections and recomputes
the full Jacobian only when they disagree. Non-differentiable points (relu at 0, ties of max) are
detected from one-sided differences and reported in ``.nondifferentiable`` instead of failing.
When a check fails, ``.culprit`` names the first op whose own rule (vjp, jvp, or second
derivative for gradgradcheck) disagrees with its own finite differences, with the file:line that
created it. Complex inputs and outputs are checked as their real and imaginary parts, in
autonn's convention (HIPS autograd's and JAX's; see ``_parts``), and reports name the part.
See docs/gradcheck.md.

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

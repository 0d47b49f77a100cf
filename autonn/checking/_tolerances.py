"""Default tolerances per dtype and the finite-difference step per element.

The step. Central differences have two errors: truncation ``h**2 * f''' / 6`` and rounding
``eps * |f| / h`` (``eps`` the machine epsilon of the dtype the function is evaluated in). They
balance at ``h ~ eps**(1/3)`` times the scale of ``x``, where both are ``~ eps**(2/3)``: ~4e-11
in float64 but ~2.5e-5 in float32, which is why a fixed ``1e-6`` (rounding error ``0.1``) fails
float32 functions. With Richardson extrapolation the truncation error is ``O(h**4)`` and the best
step is ``eps**(1/5)``. The scale of element ``x_i`` is ``max(|x_i|, 1)``; the step is rounded
down to a power of two so that ``x +- h`` is exact in binary floating point (and the step that
was really taken, ``(x + h) - x``, is what the difference quotient divides by).

The tolerances. ``|analytic - numeric| <= atol + rtol * |numeric|`` per element, as
``numpy.allclose``, with defaults per dtype (the least precise floating dtype among the checked
inputs and outputs decides; a complex dtype counts as its real parts' dtype). When float32 inputs are checked against finite differences of the
same function evaluated in float64 (see ``_widen``), only the analytic side's float32 rounding is
left to cover, and ``WIDENED`` holds the (much tighter) defaults.
"""
import numpy as np

from ._parts import real_dtype

_LONGDOUBLE_IS_WIDER = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps

# kind of float -> (atol, rtol)
TOLERANCES = {
    "float16": (1e-2, 5e-2),
    "float32": (1e-3, 1e-2),
    "float64": (1e-6, 1e-5),
    "longdouble": (1e-8, 1e-7),
}

# least precise dtype of the analytic side -> (atol, rtol) when the numeric side is evaluated in
# float64. Measured: the largest error of the 64 registered ops (20 Hypothesis-drawn float32
# inputs each), MLPs and ill-conditioned softmax/var/matmul inputs was 0.05 of this allowance.
WIDENED = {
    "float32": (1e-5, 1e-4),
}


def _key(dtype):
    dtype = real_dtype(dtype)
    if dtype.itemsize <= 2:
        return "float16"
    if dtype.itemsize <= 4:
        return "float32"
    if dtype == np.float64 or not _LONGDOUBLE_IS_WIDER:
        return "float64"
    return "longdouble"


def default_tolerances(dtypes):
    """(atol, rtol) for the least precise of ``dtypes`` (float64's when there is none)."""
    keys = [_key(d) for d in dtypes if np.dtype(d).kind in "fc"] or ["float64"]
    order = ["float16", "float32", "float64", "longdouble"]
    worst = min(keys, key=order.index)
    return TOLERANCES[worst]


def least_precise(dtypes):
    floats = [real_dtype(d) for d in dtypes if np.dtype(d).kind in "fc"]
    return max(floats, key=lambda d: np.finfo(d).eps) if floats else np.dtype(np.float64)


def base_step(dtype, richardson=False):
    """``eps**(1/3)`` (``eps**(1/5)`` with Richardson) of ``dtype``, rounded down to a power of two:
    2**-18 (3.8e-6) for float64, 2**-8 (3.9e-3) for float32."""
    eps = float(np.finfo(dtype).eps)
    c = eps ** (1 / 5 if richardson else 1 / 3)
    return 2.0 ** np.floor(np.log2(c))


def element_scale(x):
    """``max(|x_i|, 1)`` rounded up to a power of two, per element, as float64."""
    mag = np.maximum(np.abs(np.asarray(x, dtype=np.float64)), 1.0)
    mag = np.where(np.isfinite(mag), mag, 1.0)
    f, e = np.frexp(mag)                     # mag = f * 2**e with 0.5 <= f < 1
    return np.ldexp(1.0, np.where(f == 0.5, e - 1, e)).astype(np.float64)


def steps(x, eval_dtype, eps=None, richardson=False):
    """The step for each element of ``x``: ``c * scale_i`` with ``c`` the dtype's base step (or the
    user's ``eps``) and ``scale_i = max(|x_i|, 1)`` (a power of two unless ``eps`` is given)."""
    if eps is None:
        return base_step(eval_dtype, richardson) * element_scale(x)
    return float(eps) * np.maximum(np.abs(np.asarray(x, dtype=np.float64)), 1.0)

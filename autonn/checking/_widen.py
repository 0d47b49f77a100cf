"""float32 checks with a float64 numeric side.

A float32 check that takes its finite differences in float32 needs tolerances as loose as the
float32 quotients are noisy (atol 1e-3, rtol 1e-2): a gradient 0.1% off passes. When ``fn`` also
runs in float64, the numeric side is taken from float64 evaluations of the same function at the
same points (a float32 value is exact in float64), and the tolerances only need to cover float32
rounding of the analytic side (``_tolerances.WIDENED``). That catches bugs that exist only on a
float32 code path, and small ones everywhere. ``fn`` is taken to run in float64 when, given its
float32 inputs as float64 arrays, it returns float64 outputs that agree with its float32 outputs
within the float32 tolerances (the same non-finite entries); otherwise the check stays in float32
and says why. complex64 counts as float32 here (and is widened to complex128).
"""
import numpy as np

from . import _tolerances
from ._parts import flat_real, real_dtype, working_dtype
from ._problem import Swapped

F64 = np.dtype(np.float64)


def numeric_dtypes(problem, outputs, xs, numeric_dtype):
    """``(eval_dtypes, widened, note)``: the dtype to evaluate each checked input in (complex
    for a complex input), whether the float32 inputs were widened to float64, and why not when
    they could not be (or None)."""
    own = [x.dtype for x in xs]
    if numeric_dtype is not None:
        return [working_dtype(numeric_dtype, d) for d in own], False, None
    least = _tolerances.least_precise(own + [o.dtype for o in outputs])
    if _tolerances._key(least) != "float32" or not any(real_dtype(d).itemsize == 4 for d in own):
        return own, False, None
    wide = [working_dtype(F64, d) if real_dtype(d).itemsize == 4 else d for d in own]
    why = _runs_in_float64(problem, outputs, wide)
    if why:
        return own, False, (f"the numeric side is evaluated in float32 because {why}; the "
                            "float32 tolerances apply")
    return wide, True, None


def _runs_in_float64(problem, outputs, wide):
    """None when fn runs in float64 consistently with its float32 run, else the reason."""
    try:
        with Swapped(problem, wide, np.float64) as swapped:
            outs64 = swapped.outputs()
    except Exception as e:  # noqa: BLE001 -- any failure means: not in float64
        return f"fn fails on float64 inputs ({type(e).__name__}: {e})"
    narrow = sorted({o.dtype.name for o in outs64 if real_dtype(o.dtype).itemsize < 8})
    if narrow:
        return f"fn returns {'/'.join(narrow)} outputs for float64 inputs"
    if not outs64:
        return None
    if [o.dtype.kind for o in outs64] != [o.dtype.kind for o in outputs]:
        return "fn's outputs for float64 inputs are not complex where its float32 ones are"
    a = np.concatenate([flat_real(o.data, np.float64) for o in outs64])
    b = np.concatenate([flat_real(o.data, np.float64) for o in outputs])
    atol, rtol = _tolerances.TOLERANCES["float32"]
    fin = np.isfinite(a)
    same_nonfinite = (a == b) | (np.isnan(a) & np.isnan(b))
    if np.any(fin != np.isfinite(b)) or np.any(~fin & ~same_nonfinite):
        return "fn's float64 and float32 outputs differ in their non-finite entries"
    diff = np.abs(a[fin] - b[fin])
    if np.any(diff > atol + rtol * np.abs(a[fin])):
        return (f"fn's float64 outputs differ from its float32 outputs by up to "
                f"{float(diff.max()):.3g} (more than float32 rounding)")
    return None

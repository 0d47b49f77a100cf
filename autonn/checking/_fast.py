"""Fast mode: random projections instead of whole Jacobians.

For each output ``k`` a random ``v_k`` and for each input ``p`` a random direction ``u_p`` (random
signs, magnitudes >= 1, scaled per element like the full check's steps): the analytic
``v_k^T J_kp u_p`` needs one backward per output (for all inputs at once), the numeric one two
forwards per input (for all outputs at once).
The allowance is ``atol + rtol*|numeric|`` plus an estimate of the numeric side's own error
(rounding ``~eps*|v*f|/h`` and truncation from the second difference), so that it stays honest for
float32. Any disagreement, or one-sided quotients that keep disagreeing at a quarter of the step
(a kink along ``u``), sends the caller to the full Jacobian, whose per-element verdict is the one
reported.

Complex inputs and outputs take part as their real views (``_parts``): ``u_p`` perturbs the real
and imaginary parts of a complex input, and ``v_k`` weighs those of a complex output (the
cotangent ``a - i b`` for weights ``(a, b)``).
"""
import numpy as np

from . import _tolerances
from ._analytic import forward_directional, max_difference, reverse_projection
from ._compare import TAU
from ._numeric import MARGIN, MAX_SHRINKS, SHRINK
from ._parts import real_dtype, real_shape
from ._report import PairReport

ROUNDING = 8.0  # rounding of one output ~ ROUNDING * eps * |f|


def _directions(rng, shape):
    """Random signs times magnitudes in [1, oo) (1 + |normal|): no element is projected away
    (an error in any single element shows up at least at its own size) and, the magnitudes being
    continuous, errors in several elements do not cancel exactly."""
    return rng.choice((-1.0, 1.0), size=shape) * (1.0 + np.abs(rng.standard_normal(shape)))


class FastResult:
    def __init__(self):
        self.pairs, self.forward_pairs = [], []
        self.suspects = []       # (input, output) pairs where u crosses a kink
        self.nondeterminism = 0.0
        self.evaluations = 0
        self.edges = []          # (input, first step, step used): the direction left the domain

    @property
    def passed(self):
        return (all(p.passed for p in self.pairs + self.forward_pairs) and not self.suspects)


def run(problem, outputs, xs, swapped, atol, rtol, eps, richardson, rng, check_forward_ad, acc,
        eval_dtypes):
    res = FastResult()
    vs = [_directions(rng, real_shape(o.shape, o.dtype)).astype(real_dtype(o.dtype))
          for o in outputs]
    rows = reverse_projection(outputs, xs, vs, acc)
    res.nondeterminism = max_difference(rows, reverse_projection(outputs, xs, vs, acc))
    f0 = swapped()
    res.evaluations = 1
    finite0 = np.isfinite(f0)

    def outside(f):
        return bool(np.any(finite0 & ~np.isfinite(f)))
    vflat = [np.asarray(v, dtype=acc).ravel() for v in vs]
    for p, (x, w) in enumerate(zip(xs, swapped.real_works)):
        edt = np.dtype(eval_dtypes[p])
        c = _tolerances.base_step(edt, richardson) if eps is None else float(eps)
        scale = (_tolerances.element_scale(w) if eps is None
                 else np.maximum(np.abs(w.astype(np.float64)), 1.0))
        u = _directions(rng, w.shape) * scale
        x0 = w.copy()

        def quotient(h):
            xp = (x0 + h * u).astype(w.dtype)
            xm = (x0 - h * u).astype(w.dtype)
            try:
                with np.errstate(all="ignore"):  # perturbed points may leave the domain
                    w[...] = xp
                    fp = swapped()
                    w[...] = xm
                    fm = swapped()
            finally:
                w[...] = x0
            res.evaluations += 2
            dp = xp.astype(acc) - x0.astype(acc)
            dm = x0.astype(acc) - xm.astype(acc)
            return fp, fm, (dp + dm) / (2 * h)

        fp, fm, delta = quotient(c)
        c_first, shrinks = c, 0
        while (outside(fp) or outside(fm)) and shrinks < MAX_SHRINKS:
            c, shrinks = c / SHRINK, shrinks + 1  # as the full check does (see _numeric)
            fp, fm, delta = quotient(c)
        if shrinks:
            if not (outside(fp) or outside(fm)):
                c /= MARGIN
                fp, fm, delta = quotient(c)
            res.edges.append((p, c_first, c))
        num = (fp - fm) / (2 * c)                     # ~ J delta, flat over outputs
        second = (fp + fm - 2 * f0) / (c * c)         # ~ f''(u, u)
        right, left = (fp - f0) / c, (f0 - fm) / c
        if richardson or shrinks:  # near a domain edge: the truncation error is large
            fp2, fm2, delta2 = quotient(c / 2)
            num = (4 * (fp2 - fm2) / c - num) / 3
            delta = (4 * delta2 - delta) / 3
        trunc = np.abs(second) * c * c
        rounding = ROUNDING * float(np.finfo(edt).eps) * np.abs(f0) / c
        fwd, strays = forward_directional(outputs, xs, p, delta.reshape(w.shape), acc) \
            if check_forward_ad else (None, None)
        suspects, jumps = [], []
        for k in range(len(outputs)):
            sl = problem.out_slice(k)
            v = vflat[k]
            n_s = float(v @ num[sl])
            a_s = float(np.sum(rows[k][p] * delta.reshape(w.shape)))
            noise = float(np.sqrt(np.sum((v * rounding[sl]) ** 2)) + np.abs(v) @ trunc[sl])
            allowed = atol + rtol * max(abs(n_s), abs(a_s)) + noise
            err = abs(a_s - n_s)
            res.pairs.append(_pair(problem, p, k, "reverse", err <= allowed, err, a_s, n_s,
                                   allowed))
            jump = float(v @ (right[sl] - left[sl]))
            side = max(abs(float(v @ right[sl])), abs(float(v @ left[sl])))
            jumps.append(jump)
            if abs(jump) > 2 * allowed + TAU * side:
                suspects.append((k, allowed, noise))
        if suspects:  # a kink's jump stays as the step shrinks; curvature's shrinks with it
            fp4, fm4, _ = quotient(c / 4)
            jump4 = (fp4 + fm4 - 2 * f0) / (c / 4)
            for k, allowed, noise in suspects:
                j4 = float(vflat[k] @ jump4[problem.out_slice(k)])
                if abs(j4) >= 0.5 * abs(jumps[k]) and abs(j4) > 2 * allowed + 4 * noise:
                    res.suspects.append((p, k))
        for k in range(len(outputs)):
            sl = problem.out_slice(k)
            if fwd is not None:
                a_v, n_v = fwd[k], num[sl]
                allow_v = atol + rtol * np.abs(n_v) + rounding[sl] + trunc[sl]
                err_v = np.abs(a_v - n_v)
                err_v = np.where(np.isnan(err_v), np.inf, err_v)
                j = int(np.argmax(err_v / allow_v)) if err_v.size else 0
                ok = bool(np.all(err_v <= allow_v))
                res.forward_pairs.append(_pair(
                    problem, p, k, "forward", ok, float(err_v.max()) if err_v.size else 0.0,
                    float(a_v[j]) if err_v.size else 0.0, float(n_v[j]) if err_v.size else 0.0,
                    float(allow_v[j]) if err_v.size else atol))
                if strays[k] is not None:  # a real output's tangent should have no imaginary part
                    stray = np.abs(strays[k])
                    j = int(np.argmax(stray)) if stray.size else 0
                    ok = not stray.size or bool(stray.max() <= atol)
                    res.forward_pairs.append(_pair(
                        problem, p, k, "forward", ok, float(stray.max()) if stray.size else 0.0,
                        float(strays[k][j]) if stray.size else 0.0, 0.0, atol, output_part="imag"))
    return res


def _pair(problem, p, k, mode, ok, err, a, n, allowed, output_part=None):
    i = problem.diff[p]
    return PairReport(input=i, output=k, input_name=problem.input_names[i],
                      output_name=problem.output_name(problem.checked[k]), mode=mode,
                      passed=bool(ok), max_abs_error=float(err),
                      max_rel_error=float(err / max(abs(n), 1e-300)), worst_index=None,
                      worst_output_index=None, analytic=a, numeric=n, allowed=float(allowed),
                      mismatches=0 if ok else 1, size=1, projected=True,
                      output_part=output_part)

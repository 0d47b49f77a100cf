"""Finite differences: the numeric Jacobian column by column, with one-sided quotients for kinks.

``Differ(evaluate, works, ...)`` differentiates ``evaluate()`` (a flat vector) with respect to the
arrays ``works`` that it reads; elements are perturbed in place and restored. Every quotient
divides by the step really taken (``(x + h) - x`` in the working dtype), so rounding of ``x + h``
does not bias it.
"""
import numpy as np

from . import _tolerances
from .._progress import progress

ROUNDING = 8.0  # an evaluated output is taken to carry rounding errors up to ROUNDING*eps*|f|


class Differ:
    def __init__(self, evaluate, works, acc, eps=None, richardson=False):
        self.evaluate, self.works, self.acc = evaluate, works, acc
        self.richardson = richardson
        self.f0 = evaluate()
        self.steps = [_tolerances.steps(w, w.dtype, eps, richardson) for w in works]
        self.evaluations = 1

    def _pair(self, p, e, h):
        w = self.works[p]
        old = w.flat[e]
        xp = w.dtype.type(old + w.dtype.type(h))
        xm = w.dtype.type(old - w.dtype.type(h))
        try:
            w.flat[e] = xp
            fp = self.evaluate()
            w.flat[e] = xm
            fm = self.evaluate()
        finally:
            w.flat[e] = old
        self.evaluations += 2
        acc = self.acc
        hp = acc(xp) - acc(old)
        hm = acc(old) - acc(xm)
        if hp <= 0 or hm <= 0:
            raise ValueError(f"gradcheck: the step {h:g} is lost in rounding at the value "
                             f"{float(old):g}; pass a larger eps")
        return fp, fm, hp, hm

    def column(self, p, e, scale=1.0):
        """(central, forward, backward) difference quotients of every output w.r.t. element ``e``
        (flat) of working array ``p``, with the step scaled by ``scale``."""
        h = self.steps[p].flat[e] * scale
        fp, fm, hp, hm = self._pair(p, e, h)
        central = (fp - fm) / (hp + hm)
        if self.richardson:  # D(h) = f' + c h^2 + O(h^4): eliminate c with the half step
            fp2, fm2, hp2, hm2 = self._pair(p, e, h / 2)
            c2 = (fp2 - fm2) / (hp2 + hm2)
            h1, h2 = (hp + hm) / 2, (hp2 + hm2) / 2
            central = (h1 * h1 * c2 - h2 * h2 * central) / (h1 * h1 - h2 * h2)
        forward = (fp - self.f0) / hp
        backward = (self.f0 - fm) / hm
        return central, forward, backward

    def noise(self, p, e=None, scale=1.0):
        """Rounding noise of a difference quotient at step ``h*scale``: ``ROUNDING*eps*|f0|/h``
        per output (a column), or an (M, n) array for all of array ``p`` when ``e`` is None."""
        eps = float(np.finfo(self.works[p].dtype).eps)
        f0 = np.abs(np.asarray(self.f0, dtype=np.float64))
        h = self.steps[p].ravel() * scale if e is None else self.steps[p].flat[e] * scale
        return ROUNDING * eps * (f0[:, None] / h[None, :] if e is None else f0 / h)

    def jacobian(self, p):
        """Central, forward and backward quotients for all of array ``p``: three (M, n) arrays."""
        n, m = self.works[p].size, self.f0.size
        C = np.empty((m, n), dtype=self.acc)
        P = np.empty((m, n), dtype=self.acc)
        B = np.empty((m, n), dtype=self.acc)
        for e in progress(range(n), f"gradcheck: finite differences of input {p}", unit="element"):
            C[:, e], P[:, e], B[:, e] = self.column(p, e)
        return C, P, B

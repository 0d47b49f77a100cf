"""Finite differences: the numeric Jacobian column by column, with one-sided quotients for kinks.

``Differ(evaluate, works, ...)`` differentiates ``evaluate()`` (a flat vector) with respect to the
arrays ``works`` that it reads; elements are perturbed in place and restored. Every quotient
divides by the step really taken (``(x + h) - x`` in the working dtype), so rounding of ``x + h``
does not bias it.

Domain edges. When ``x + h`` or ``x - h`` leaves the function's domain (an output that is finite
at ``x`` is not at the perturbed point: ``sqrt(x - h)`` with ``h > x``), the quotient is not a
mismatch to report but a step too large for the point. The step of that element is divided by 4
until both sides are inside, then by 16 more (the edge is then at least 16 steps away, where the
function is smooth on the scale of the step) and the central quotient is extrapolated from steps
h and h/2. If one side never gets inside (the point is on the edge), a one-sided second-order
difference on the other side is used. Each such element is recorded in ``edges``.
"""
import numpy as np

from . import _tolerances
from .._progress import progress

ROUNDING = 8.0  # an evaluated output is taken to carry rounding errors up to ROUNDING*eps*|f|
SHRINK = 4.0    # a step that leaves the domain is divided by this, ...
MARGIN = 16.0   # ... and, once both sides are inside, by this much more
MAX_SHRINKS = 40


class Edge:
    """An element whose step had to be changed because ``x +- h`` left fn's domain."""
    __slots__ = ("e", "first_step", "method", "p", "step")

    def __init__(self, p, e, method, step, first_step):
        self.p, self.e, self.method, self.step, self.first_step = p, e, method, step, first_step


class Differ:
    def __init__(self, evaluate, works, acc, eps=None, richardson=False):
        self.evaluate, self.works, self.acc = evaluate, works, acc
        self.richardson = richardson
        self.f0 = evaluate()
        self.finite0 = np.isfinite(self.f0)
        self.steps = [_tolerances.steps(w, w.dtype, eps, richardson) for w in works]
        self.evaluations = 1
        self.edges = {}   # (p, e) -> Edge

    def _pair(self, p, e, h):
        w = self.works[p]
        old = w.flat[e]
        xp = w.dtype.type(old + w.dtype.type(h))
        xm = w.dtype.type(old - w.dtype.type(h))
        try:
            with np.errstate(all="ignore"):  # perturbed points may leave the domain
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

    def _outside(self, f):
        """Does ``f`` (fn at a perturbed point) leave the domain: non-finite where f0 is not?"""
        return bool(np.any(self.finite0 & ~np.isfinite(f)))

    def _richardson(self, p, e, h, fp, fm, hp, hm):
        """D(h) = f' + c h^2 + O(h^4): eliminate c with the half step."""
        central = (fp - fm) / (hp + hm)
        fp2, fm2, hp2, hm2 = self._pair(p, e, h / 2)
        c2 = (fp2 - fm2) / (hp2 + hm2)
        h1, h2 = (hp + hm) / 2, (hp2 + hm2) / 2
        return (h1 * h1 * c2 - h2 * h2 * central) / (h1 * h1 - h2 * h2)

    def column(self, p, e, scale=1.0):
        """(central, forward, backward) difference quotients of every output w.r.t. element ``e``
        (flat) of working array ``p``, with the step scaled by ``scale``."""
        h = self.steps[p].flat[e] * scale
        edge = self.edges.get((p, e))
        if edge is not None and edge.method == "none":
            nan = np.full(self.f0.shape, np.nan, dtype=self.acc)
            return nan, nan, nan
        if edge is not None and edge.method != "central":  # one side is outside the domain
            second, first = self._one_sided(p, e, h, edge.method)
            return second, first, first
        fp, fm, hp, hm = self._pair(p, e, h)
        if edge is None and (self._outside(fp) or self._outside(fm)):
            return self._edge_column(p, e, h, scale)
        if self.richardson or edge is not None:
            central = self._richardson(p, e, h, fp, fm, hp, hm)
        else:
            central = (fp - fm) / (hp + hm)
        forward = (fp - self.f0) / hp
        backward = (self.f0 - fm) / hm
        return central, forward, backward

    def _edge_column(self, p, e, h, scale):
        """The column of an element whose step ``h`` leaves the domain (see the module doc)."""
        first, inside = h, {"forward": None, "backward": None}
        for _ in range(MAX_SHRINKS):
            h /= SHRINK
            try:
                fp, fm, _, _ = self._pair(p, e, h)
            except ValueError:  # the step is lost in rounding: no smaller one exists
                break
            out_p, out_m = self._outside(fp), self._outside(fm)
            if not (out_p or out_m):
                self.edges[(p, e)] = Edge(p, e, "central", h / MARGIN / scale, first / scale)
                self.steps[p].flat[e] = h / MARGIN / scale
                return self.column(p, e, scale)
            for side, out in (("forward", out_p), ("backward", out_m)):
                if not out and inside[side] is None:
                    inside[side] = h
        side = "forward" if inside["forward"] is not None else \
            "backward" if inside["backward"] is not None else None
        if side is None:  # no finite value on either side at any step: nothing to compare
            self.edges[(p, e)] = Edge(p, e, "none", first / scale, first / scale)
        else:  # the largest step whose points 2h away on that side are inside too
            h = inside[side] / 2
            self.edges[(p, e)] = Edge(p, e, side, h / scale, first / scale)
            self.steps[p].flat[e] = h / scale
        return self.column(p, e, scale)

    def _one_sided(self, p, e, h, side):
        """(second-order, first-order) one-sided quotients on ``side``: the second-order one is
        (-3 f0 + 4 f(x + s h) - f(x + 2 s h)) / (2 s h) for the steps really taken."""
        w = self.works[p]
        old = w.flat[e]
        sign = 1.0 if side == "forward" else -1.0
        pts = [w.dtype.type(old + w.dtype.type(sign * k * h)) for k in (1, 2)]
        fs = []
        try:
            with np.errstate(all="ignore"):
                for x in pts:
                    w.flat[e] = x
                    fs.append(self.evaluate())
        finally:
            w.flat[e] = old
        self.evaluations += 2
        h1 = self.acc(pts[0]) - self.acc(old)
        h2 = self.acc(pts[1]) - self.acc(old)
        if h1 == 0 or h2 == h1:
            raise ValueError(f"gradcheck: the step {h:g} is lost in rounding at the value "
                             f"{float(old):g}; pass a larger eps")
        # exact for quadratics through the three points actually used
        a = h2 / (h1 * (h2 - h1))
        b = -h1 / (h2 * (h2 - h1))
        return a * (fs[0] - self.f0) + b * (fs[1] - self.f0), (fs[0] - self.f0) / h1

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

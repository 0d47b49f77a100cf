"""Analytic vs numeric, element by element, as ``numpy.allclose``; settling doubtful elements.

An element that mismatches (or whose one-sided quotients disagree) is looked at again with
smaller steps (h/4, h/16), and with the Richardson extrapolation of each two successive ones: a
mismatch that disappears was the step's fault (a kink or strong curvature within one step, as
``sqrt`` near 0), and the better quotient is kept. A *kink* is an element whose
one-sided quotients keep disagreeing, by more than their rounding noise and by about the same
amount as the step shrinks (a smooth function's disagreement shrinks with h), while the analytic
value lies between them (a one-sided derivative or a subgradient, as relu'(0) = 0 or max
splitting ties): it is reported as non-differentiable and left out of the comparison. An
analytic value outside the one-sided range is still a mismatch.
"""
import numpy as np

TAU = 0.05          # one-sided quotients this far apart (relative) make an element a kink suspect
LEVELS = (0.25, 0.0625)


def _allowed(N, atol, rtol):
    return atol + rtol * np.abs(N)


def settle(A, C, P, B, differ, p, atol, rtol):
    """Compare the analytic block ``A`` with the central quotients ``C`` (one-sided ``P``, ``B``)
    of working array ``p`` of ``differ``. Returns ``(N, kink, left, right)``: the numeric values
    used, the mask of kinks, and the one-sided quotients that decided each kink."""
    N = np.array(C, copy=True)
    allowed = _allowed(N, atol, rtol)
    bad = ~(np.abs(A - N) <= allowed)
    jump = P - B
    kink = np.zeros(A.shape, dtype=bool)
    left, right = np.array(B, copy=True), np.array(P, copy=True)
    if differ is None:
        return N, kink, left, right
    noise = differ.noise(p)
    suspect = np.isfinite(jump) & (np.abs(jump) > 2 * allowed + 4 * noise
                                   + TAU * np.maximum(np.abs(P), np.abs(B)))
    for e in np.flatnonzero((bad | suspect).any(axis=0)):
        a = A[:, e]
        open_bad, open_suspect = bad[:, e].copy(), suspect[:, e] & ~bad[:, e]
        prev, prev_c = jump[:, e], C[:, e]
        plain = not differ.richardson and (p, e) not in differ.edges
        for s in LEVELS:
            if not (open_bad.any() or open_suspect.any()):
                break
            c2, p2, b2 = differ.column(p, e, s)
            settled = open_bad & (np.abs(a - c2) <= _allowed(c2, atol, rtol))
            N[settled, e] = c2[settled]
            open_bad &= ~settled
            if plain:  # strong curvature on the scale of the step: extrapolate (steps 4x apart)
                r = (16 * c2 - prev_c) / 15
                settled = open_bad & (np.abs(a - r) <= _allowed(r, atol, rtol))
                N[settled, e] = r[settled]
                open_bad &= ~settled
            prev_c = c2
            j2 = p2 - b2
            al = atol + rtol * np.maximum(np.abs(p2), np.abs(b2)) + 4 * differ.noise(p, e, s)
            lo, hi = np.minimum(p2, b2) - al, np.maximum(p2, b2) + al
            is_kink = ((open_bad | open_suspect) & (np.abs(j2) > 2 * al)
                       & (np.abs(j2) >= 0.5 * np.abs(prev)) & (a >= lo) & (a <= hi))
            kink[is_kink, e] = True
            left[is_kink, e], right[is_kink, e] = b2[is_kink], p2[is_kink]
            open_bad &= ~is_kink
            open_suspect[:] = False  # a suspect gets one look; only mismatches go finer
            prev = j2
    return N, kink, left, right


def errors(A, N, kink, atol, rtol):
    """(abs_err, rel_err, ratio, bad): per element; kinks count as no error. ``rel_err`` divides by
    ``max(|numeric|, atol)``; ``ratio`` is the error over its allowance (> 1 fails)."""
    abs_err = np.abs(A - N)
    abs_err = np.where(kink, 0.0, abs_err)
    abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
    denom = np.maximum(np.abs(N), atol)
    denom = np.where(np.isfinite(denom) & (denom > 0), denom, 1.0)
    rel_err = abs_err / denom
    allowed = _allowed(np.where(np.isfinite(N), N, 0.0), atol, rtol)
    ratio = np.divide(abs_err, allowed, out=np.where(abs_err > 0, np.inf, 0.0), where=allowed > 0)
    bad = ratio > 1
    return abs_err, rel_err, ratio, bad


class Block:
    """The comparison of one analytic block (all outputs x one input) with finite differences."""

    def __init__(self, A, CPB, differ, p, atol, rtol):
        C, P, B = CPB
        self.A = A
        self.N, self.kink, self.left, self.right = settle(A, C, P, B, differ, p, atol, rtol)
        skip = np.array(self.kink, copy=True)
        for (q, e), edge in (differ.edges.items() if differ is not None else ()):
            if q == p and edge.method == "none":  # no finite neighbour: nothing to compare
                skip[:, e] = True
        self.abs_err, self.rel_err, self.ratio, self.bad = errors(A, self.N, skip, atol, rtol)
        self.atol, self.rtol = atol, rtol

    def rows(self, rows, cols=None):
        """The worst element among ``rows`` (a slice or an index array) and ``cols`` (an index
        array; None: all): (passed, max_abs, max_rel, row, col, mismatches), with the row and
        column of the whole block."""
        rows = np.arange(self.A.shape[0])[rows]
        cols = np.arange(self.A.shape[1]) if cols is None else np.asarray(cols)
        at = np.ix_(rows, cols)
        ratio = self.ratio[at]
        if ratio.size == 0:
            return True, 0.0, 0.0, None, None, 0
        r, c = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        bad = int(self.bad[at].sum())
        return (bad == 0, float(self.abs_err[at].max()), float(self.rel_err[at].max()),
                int(rows[r]), int(cols[c]), bad)

    def allowed_at(self, r, c):
        n = float(self.N[r, c])
        return self.atol + self.rtol * (abs(n) if np.isfinite(n) else 0.0)

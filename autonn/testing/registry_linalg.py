"""Registry entries of ``autonn.linalg`` (numpy.linalg and the scipy.linalg solvers), with
inputs drawn where each gradient is defined: well-conditioned matrices for ``inv``/``solve``/
``det``, SPD ones for ``cholesky``/``sqrtm``, distinct eigenvalues for ``eigh`` and distinct
singular values for ``svd``. Decompositions are registered through functions of their
outputs that do not depend on the sign each eigen- or singular vector happens to get.
"""
import numpy as np
from hypothesis import strategies as st

import autonn as an

from .registry import Case, register
from .strategies import arrays


def _batch(draw):
    return tuple(draw(st.lists(st.integers(1, 2), max_size=1)))


def _well_conditioned(draw, dtype, n, batch=()):
    x = draw(arrays(batch + (n, n), np.float64, -1.0, 1.0))
    return (x + (n + 1) * np.eye(n)).astype(dtype)  # diagonally dominant


def _orthogonal(draw, n, batch=()):
    x = draw(arrays(batch + (n, n), np.float64, -1.0, 1.0)) + 2 * np.eye(n)
    return np.linalg.qr(x)[0]


def _spaced(draw, k, low=0.5):
    steps = draw(arrays((k,), np.float64, 0.5, 1.5))
    return low + np.cumsum(steps) - steps[0]


def square_cases(kind="general", extra=None, batched=True):
    """Square matrices: ``general`` (well conditioned), ``spd`` or ``distinct`` (symmetric with
    eigenvalues at least 0.5 apart)."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            n = draw(st.integers(1, 4))
            batch = _batch(draw) if batched else ()
            if kind == "general":
                a = _well_conditioned(draw, dtype, n, batch)
            elif kind == "spread":  # Gershgorin discs apart: distinct eigenvalues; no exact zeros,
                # where LAPACK's eig deflates a triangular matrix and orders its output otherwise
                x = draw(arrays(batch + (n, n), np.float64, -1.0, 1.0, avoid=(0,), margin=0.1))
                a = (x + np.diag(np.arange(n) * 2.0 * n)).astype(dtype)
            elif kind == "spd":
                x = draw(arrays(batch + (n, n), np.float64, -1.0, 1.0))
                a = (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dtype)
            else:
                q = _orthogonal(draw, n, batch)
                lam = _spaced(draw, n, draw(st.floats(-3.0, 1.0)))
                a = ((q * lam) @ np.swapaxes(q, -1, -2)).astype(dtype)
            arrays_ = (a,) if extra is None else (a,) + extra(draw, a, dtype)
            return Case(arrays_)
        return draw()
    return cases


def rect_cases(tall_only=False):
    """Matrices with distinct singular values at least 0.5 apart (and at least 0.5)."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
            if tall_only and m < n:
                m, n = n, m
            k = min(m, n)
            u = _orthogonal(draw, m)[:, :k]
            v = _orthogonal(draw, n)[:, :k]
            s = _spaced(draw, k)[::-1]
            return Case((((u * s) @ v.T).astype(dtype),))
        return draw()
    return cases


def _rhs(vector):
    def extra(draw, a, dtype):
        n = a.shape[-1]
        if vector:
            return (draw(arrays((n,), dtype)),)
        k = draw(st.integers(1, 3))
        return (draw(arrays(a.shape[:-2] + (n, k), dtype)),)
    return extra


def _signless_columns(v):
    """v * v[..., :1, :]: each column times its first entry, unchanged when a column flips sign."""
    return v * v[..., :1, :]


def _eigh_fn(a):
    w, v = an.linalg.eigh(a)
    return an.concatenate([an.reshape(w, -1), an.reshape(_signless_columns(v), -1)])


def _eigh_ref(a):
    w, v = np.linalg.eigh(a)
    return np.concatenate([w.ravel(), _signless_columns(v).ravel()])


def _svd_fn(a):
    u, s, vh = an.linalg.svd(a, full_matrices=False)
    return an.concatenate([an.reshape(s, -1), an.reshape(_signless_columns(u), -1),
                           an.reshape(_signless_columns(an.swapaxes(vh, -1, -2)), -1)])


def _svd_ref(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([s.ravel(), _signless_columns(u).ravel(),
                           _signless_columns(np.swapaxes(vh, -1, -2)).ravel()])


def _qr_fn(a):
    q, r = an.linalg.qr(a)
    sign = np.where(np.diagonal(r.data, axis1=-2, axis2=-1) < 0, -1, 1).astype(r.dtype)
    q, r = q * sign[..., None, :], r * sign[..., :, None]  # R's diagonal > 0: the unique QR
    return an.concatenate([an.reshape(q, -1), an.reshape(r, -1)])


def _qr_ref(a):
    q, r = np.linalg.qr(a)
    sign = np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)
    return np.concatenate([(q * sign[..., None, :]).ravel(), (r * sign[..., :, None]).ravel()])


def _norm_cases(dtype):
    @st.composite
    def draw(draw):
        kind = draw(st.sampled_from(["vector", "matrix"]))
        if kind == "vector":
            n = draw(st.integers(1, 4))
            a = draw(arrays((2, n), dtype, -2.0, 2.0, avoid=(0,), margin=0.1))
            ordv = draw(st.sampled_from([None, 1, 2, 3, np.inf, -np.inf, 0.5]))
            if ordv in (np.inf, -np.inf):  # max/min of |a|: no ties along the reduced axis
                a = (np.sign(a) * (np.abs(a) + 2.0 * np.arange(n))).astype(dtype)  # (as below)
            return Case((a,), {"ord": ordv, "axis": 1})
        ordv = draw(st.sampled_from([None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]))
        if ordv in (1, -1, np.inf, -np.inf):  # sums of |a|: entries away from abs's kink at 0
            shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
            a = draw(arrays(shape, np.float64, -2.0, 2.0, avoid=(0,), margin=0.1))
            # |a| grows by 2 per position: row sums and column sums all differ (no ties of max)
            a = np.sign(a) * (np.abs(a) + 2.0 * np.arange(a.size).reshape(shape))
            return Case((a.astype(dtype),), {"ord": ordv})
        a = draw(rect_cases()(dtype)).arrays[0]
        return Case((a,), {"ord": ordv})
    return draw()


def _tri_cases(dtype):
    @st.composite
    def draw(draw):
        n = draw(st.integers(1, 4))
        lower = draw(st.booleans())
        a = (np.tril if lower else np.triu)(draw(arrays((n, n), np.float64, -1.0, 1.0)))
        a = (a + 3 * np.eye(n)).astype(dtype)
        b = draw(arrays((n,) if draw(st.booleans()) else (n, 2), dtype))
        return Case((a, b), {"trans": draw(st.sampled_from([0, 1, "T"])), "lower": lower,
                             "unit_diagonal": draw(st.booleans())})
    return draw()


def _sylvester_cases(dtype):
    @st.composite
    def draw(draw):
        m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        return Case((_well_conditioned(draw, dtype, m), _well_conditioned(draw, dtype, n),
                     draw(arrays((m, n), dtype))))
    return draw()


def _banded_cases(dtype):
    @st.composite
    def draw(draw):
        n, l, u = draw(st.integers(1, 4)), draw(st.integers(0, 2)), draw(st.integers(0, 2))
        ab = draw(arrays((l + u + 1, n), np.float64, -1.0, 1.0))
        ab[u] += 5.0  # the main diagonal: diagonally dominant
        b = draw(arrays((n,) if draw(st.booleans()) else (n, 2), dtype))
        return Case((ab.astype(dtype), b), {"l_and_u": (l, u)})
    return draw()


def _pinv_cases(dtype):
    return rect_cases()(dtype)


L = an.linalg
register("linalg.inv", L.inv, np.linalg.inv, square_cases(), complex=True)
register("linalg.det", L.det, np.linalg.det, square_cases(), complex=True)
register("linalg.slogdet", lambda a: L.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1],
         square_cases(), complex=True)
register("linalg.solve", L.solve, np.linalg.solve, square_cases(extra=_rhs(False)), complex=True)
register("linalg.solve[vector]", L.solve, np.linalg.solve, square_cases(extra=_rhs(True)),
         covers=("linalg.solve",), complex=True)
register("linalg.pinv", L.pinv, np.linalg.pinv, _pinv_cases)
register("linalg.matrix_power", lambda a, n: L.matrix_power(a, n),
         lambda a, n: np.linalg.matrix_power(a, n),
         lambda dtype: st.tuples(square_cases()(dtype), st.sampled_from([-2, -1, 0, 1, 2, 3])).map(
             lambda cn: Case(cn[0].arrays, {"n": cn[1]})), complex=True)
register("linalg.norm", lambda a, **kw: L.norm(a, **kw), lambda a, **kw: np.linalg.norm(a, **kw),
         _norm_cases)
register("linalg.cholesky", L.cholesky, np.linalg.cholesky, square_cases("spd"))
register("linalg.eigh", _eigh_fn, _eigh_ref, square_cases("distinct"))
register("linalg.eigvalsh", L.eigvalsh, np.linalg.eigvalsh, square_cases("distinct"))
def _eig_fn(a):
    w, v = an.linalg.eig(a)
    return an.concatenate([an.reshape(an.real(w), -1), an.reshape(an.imag(w), -1),
                           an.reshape(an.real(v * an.conj(v)), -1)])  # |v|^2: phase-free


def _eig_ref(a):
    w, v = np.linalg.eig(a)
    return np.concatenate([w.real.ravel(), w.imag.ravel(), (np.abs(v) ** 2).ravel()])


register("linalg.eig", _eig_fn, _eig_ref, square_cases("spread"))
register("linalg.eigvals", lambda a: an.real(an.linalg.eigvals(a)),
         lambda a: np.real(np.linalg.eigvals(a)), square_cases("spread"))
register("linalg.svd", _svd_fn, _svd_ref, rect_cases())
register("linalg.svd[values]", lambda a: L.svd(a, compute_uv=False),
         lambda a: np.linalg.svd(a, compute_uv=False), rect_cases(), covers=("linalg.svd",))
register("linalg.qr", _qr_fn, _qr_ref, rect_cases(tall_only=True))


def _scipy_ref(name):
    def ref(*arrays, **kw):
        import scipy.linalg
        return getattr(scipy.linalg, name)(*arrays, **kw)
    return ref


register("linalg.sqrtm", L.sqrtm, lambda a: np.real(_scipy_ref("sqrtm")(a)),
         square_cases("spd", batched=False))
register("linalg.solve_triangular", lambda a, b, **kw: L.solve_triangular(a, b, **kw),
         _scipy_ref("solve_triangular"), _tri_cases)
register("linalg.solve_sylvester", L.solve_sylvester, _scipy_ref("solve_sylvester"),
         _sylvester_cases, complex=True)
register("linalg.solve_banded", lambda ab, b, l_and_u: L.solve_banded(l_and_u, ab, b),
         lambda ab, b, l_and_u: _scipy_ref("solve_banded")(l_and_u, ab, b), _banded_cases)

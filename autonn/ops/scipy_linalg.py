"""The scipy.linalg functions HIPS autograd differentiates: ``sqrtm``, ``solve_triangular``,
``solve_sylvester``, ``solve_banded`` (2-D inputs, as SciPy's; forward values from SciPy).

Rules follow HIPS autograd's ``scipy/linalg.py``, written in autonn ops so they differentiate
again: ``sqrtm`` and ``solve_sylvester`` through Sylvester equations, the triangular and banded
solvers through solves with the transposed matrix.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, TensorLike, as_tensor
from .base import Op, apply, const
from .index import getitem
from .linalg import matmul
from .shape import reshape, swapaxes, unsqueeze

__all__ = ["sqrtm", "solve_triangular", "solve_sylvester", "solve_banded"]


def _scipy():
    import scipy.linalg  # loaded on first use: importing scipy costs ~0.2 s
    return scipy.linalg


def _T(x):
    return swapaxes(x, -1, -2)


def _float2d(fn: str, x: TensorLike, name: str, square: bool = False) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    if x.ndim != 2 or (square and x.shape[0] != x.shape[1]):
        raise ValueError(f"linalg.{fn}: {name} must be a {'square ' if square else ''}matrix, "
                         f"got shape {x.shape}")
    return x


class Sqrtm(Op):
    __slots__ = ()
    complex = True

    def forward(self, a):
        return np.asarray(_scipy().sqrtm(a))

    def vjp(self, g, out, a):
        return solve_sylvester(_T(out), _T(out), g)

    def jvp(self, tangents, out, a):
        (da,) = tangents
        return None if da is None else solve_sylvester(out, out, da)


def sqrtm(A: TensorLike) -> Tensor:
    """The principal square root ``X`` of a matrix, ``X @ X = A`` (SciPy's ``linalg.sqrtm``).
    Its gradient solves ``X^T G + G X^T = g`` (it needs no eigenvalue of X to be the negative of
    another, so that the Sylvester equation has a unique solution).

    >>> import autonn as an
    >>> an.linalg.sqrtm(an.tensor([[4.0, 0.0], [0.0, 9.0]]))
    tensor([[2., 0.],
            [0., 3.]])
    """
    return apply(Sqrtm(), _float2d("sqrtm", A, "A", square=True))


class SolveSylvester(Op):
    __slots__ = ()
    complex = True

    def forward(self, a, b, q):
        return _scipy().solve_sylvester(a, b, q)

    def vjp(self, g, out, a, b, q):
        gq = solve_sylvester(_T(a), _T(b), g)
        ga = -matmul(gq, _T(out)) if a.requires_grad else None
        gb = -matmul(_T(out), gq) if b.requires_grad else None
        return ga, gb, (gq if q.requires_grad else None)

    def jvp(self, tangents, out, a, b, q):
        da, db, dq = tangents
        rhs = dq
        for term in (None if da is None else matmul(da, out), None if db is None else matmul(out, db)):
            if term is not None:
                rhs = -term if rhs is None else rhs - term
        return None if rhs is None else solve_sylvester(a, b, rhs)


def solve_sylvester(a: TensorLike, b: TensorLike, q: TensorLike) -> Tensor:
    """``X`` with ``a X + X b = q`` (SciPy's ``linalg.solve_sylvester``); unique when ``a`` and
    ``-b`` share no eigenvalue.

    >>> import autonn as an
    >>> an.linalg.solve_sylvester(an.tensor([[1.0]]), an.tensor([[2.0]]), an.tensor([[6.0]]))
    tensor([[2.]])
    """
    a, b = _float2d("solve_sylvester", a, "a", True), _float2d("solve_sylvester", b, "b", True)
    q = _float2d("solve_sylvester", q, "q")
    if q.shape != (a.shape[0], b.shape[0]):
        raise ValueError(f"linalg.solve_sylvester: q must have shape {(a.shape[0], b.shape[0])} "
                         f"for a of shape {a.shape} and b of shape {b.shape}, got {q.shape}")
    return apply(SolveSylvester(), a, b, q)


_TRANS = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}


class SolveTriangular(Op):
    __slots__ = ("trans", "lower", "unit_diagonal")
    complex = False

    def __init__(self, trans, lower, unit_diagonal):
        self.trans, self.lower, self.unit_diagonal = trans, lower, unit_diagonal

    def forward(self, a, b):
        return _scipy().solve_triangular(a, b, trans=self.trans, lower=self.lower,
                                         unit_diagonal=self.unit_diagonal)

    def _flipped(self):
        return SolveTriangular(1 - self.trans, self.lower, self.unit_diagonal)

    def vjp(self, g, out, a, b):
        gb = apply(self._flipped(), a, g)  # op(a)^T gb = g
        ga = None
        if a.requires_grad:
            gb2 = unsqueeze(gb, -1) if gb.ndim == 1 else gb
            x2 = unsqueeze(out, -1) if out.ndim == 1 else out
            prod = -matmul(gb2, _T(x2))  # the gradient for op(a)
            if self.trans:
                prod = _T(prod)
            ga = prod * const(self._mask(a.shape[0], a.dtype))
        return ga, (gb if b.requires_grad else None)

    def _mask(self, n, dtype):
        """The entries of ``a`` the solver reads: its triangle (the diagonal too unless unit)."""
        k = -1 if self.unit_diagonal else 0
        return (np.tril if self.lower else np.triu)(np.ones((n, n), dtype=dtype), k if self.lower else -k)

    def jvp(self, tangents, out, a, b):
        da, db = tangents
        rhs = db
        if da is not None:
            dm = da * const(self._mask(a.shape[0], a.dtype))
            dm = _T(dm) if self.trans else dm
            x2 = unsqueeze(out, -1) if out.ndim == 1 else out
            term = matmul(dm, x2)
            term = reshape(term, out.shape) if out.ndim == 1 else term
            rhs = -term if rhs is None else rhs - term
        if rhs is None:
            return None
        return apply(SolveTriangular(self.trans, self.lower, self.unit_diagonal), a, rhs)


def solve_triangular(a: TensorLike, b: TensorLike, trans: int | str = 0, lower: bool = False,
                     unit_diagonal: bool = False) -> Tensor:
    """``x`` with ``op(a) x = b`` for a triangular ``a`` (SciPy's ``linalg.solve_triangular``;
    ``trans`` 0/'N', 1/'T'; only the ``lower`` or upper triangle is read, and the gradient lands
    there; with ``unit_diagonal`` the diagonal is taken as ones and gets no gradient).

    >>> import autonn as an
    >>> an.linalg.solve_triangular(an.tensor([[2.0, 0.0], [1.0, 1.0]]), an.tensor([2.0, 3.0]), lower=True)
    tensor([1., 2.])
    """
    if trans not in _TRANS:
        raise ValueError(f"linalg.solve_triangular: trans must be 0, 1, 'N' or 'T', got {trans!r}")
    for flag, value in (("lower", lower), ("unit_diagonal", unit_diagonal)):
        if not isinstance(value, (bool, np.bool_, int, np.integer)):
            raise TypeError(f"linalg.solve_triangular: {flag} must be a bool, got {value!r}")
    trans = _TRANS[trans]
    if trans == 2:
        raise ValueError("linalg.solve_triangular: trans='C' (conjugate transpose) is not supported; "
                         "real inputs only")
    a = _float2d("solve_triangular", a, "a", square=True)
    b = as_tensor(b)
    if b.dtype.kind not in "fc":
        b = b.astype(np.float64)
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"linalg.solve_triangular: b of shape {b.shape} does not match a of shape "
                         f"{a.shape}: it needs {a.shape[0]} rows")
    return apply(SolveTriangular(trans, bool(lower), bool(unit_diagonal)), a, b)


class SolveBanded(Op):
    __slots__ = ("l", "u")
    complex = False

    def __init__(self, l, u):
        self.l, self.u = l, u

    def forward(self, ab, b):
        return _scipy().solve_banded((self.l, self.u), ab, b)

    def vjp(self, g, out, ab, b):
        gb = solve_banded((self.u, self.l), _transpose_banded(ab, self.l, self.u), g)
        gab = None
        if ab.requires_grad:  # -(gb x^T) restricted to the band, in banded storage
            gab = -_banded_outer(gb, out, self.l, self.u)
        return gab, (gb if b.requires_grad else None)

    def jvp(self, tangents, out, ab, b):
        dab, db = tangents
        rhs = db
        if dab is not None:
            term = _banded_matvec(dab, out, self.l, self.u)
            rhs = -term if rhs is None else rhs - term
        return None if rhs is None else solve_banded((self.l, self.u), ab, rhs)


def _band_index(n, l, u, rows):
    """For banded storage row r and column j: the index i of A[i, j] = ab[r, j] (i = r - u + j)
    and whether it lies inside the matrix."""
    r = np.arange(rows)[:, None]
    j = np.arange(n)[None, :]
    i = r - u + j
    return i, (i >= 0) & (i < n)


def _banded_outer(gb, x, l, u):
    """ab-shaped ``(gb x^T)[i, j]`` at every stored entry (zero outside the matrix)."""
    n = x.shape[0]
    i, inside = _band_index(n, l, u, l + u + 1)
    idx = np.where(inside, i, 0)
    if gb.ndim == 1:
        return getitem(gb, idx) * unsqueeze(x, 0) * const(inside.astype(gb.dtype))
    rows = getitem(gb, idx)  # (bands, n, k)
    return (rows * unsqueeze(x, 0)).sum(axis=-1) * const(inside.astype(gb.dtype))


def _banded_matvec(ab, x, l, u):
    """``A @ x`` for a matrix in banded storage, in autonn ops (through the dense matrix)."""
    n = ab.shape[1]
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    r = u + i - j  # dense[i, j] = ab[u + i - j, j] inside the band
    inside = (r >= 0) & (r <= l + u)
    dense = getitem(ab, (np.where(inside, r, 0), np.broadcast_to(j, (n, n)))) * const(inside.astype(ab.dtype))
    return matmul(dense, x)


def _transpose_banded(ab, l, u):
    """The banded storage (l' = u, u' = l) of A^T: abT[r, j] = ab[u + l - r, j + r - l]."""
    rows, n = ab.shape
    r = np.arange(rows)[:, None]
    j = np.arange(n)[None, :]
    src_r = np.broadcast_to(u + l - r, (rows, n))
    src_c = j + r - l
    inside = (src_c >= 0) & (src_c < n)
    return getitem(ab, (src_r, np.where(inside, src_c, 0))) * const(inside.astype(ab.dtype))


def solve_banded(l_and_u: tuple[int, int], ab: TensorLike, b: TensorLike) -> Tensor:
    """``x`` with ``A x = b`` for a banded ``A`` in LAPACK's banded storage,
    ``ab[u + i - j, j] = A[i, j]`` (SciPy's ``linalg.solve_banded``); gradients to ``ab`` (on
    the stored band) and ``b``.

    >>> import autonn as an
    >>> ab = an.tensor([[0.0, 1.0], [2.0, 2.0], [1.0, 0.0]])   # [[2, 1], [1, 2]]
    >>> an.linalg.solve_banded((1, 1), ab, an.tensor([3.0, 3.0]))
    tensor([1., 1.])
    """
    try:
        l, u = (int(v) for v in l_and_u)
    except (TypeError, ValueError):
        raise ValueError(
            f"linalg.solve_banded: l_and_u must be a pair of integers, got {l_and_u!r}") from None
    if l < 0 or u < 0:
        raise ValueError(f"linalg.solve_banded: l and u must be >= 0, got {(l, u)}")
    ab = _float2d("solve_banded", ab, "ab")
    b = as_tensor(b)
    if b.dtype.kind not in "fc":
        b = b.astype(np.float64)
    if ab.shape[0] != l + u + 1:
        raise ValueError(f"linalg.solve_banded: ab must have l + u + 1 = {l + u + 1} rows, got "
                         f"shape {ab.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != ab.shape[1]:
        raise ValueError(f"linalg.solve_banded: b of shape {b.shape} does not match ab of shape "
                         f"{ab.shape}: it needs {ab.shape[1]} rows")
    return apply(SolveBanded(l, u), ab, b)

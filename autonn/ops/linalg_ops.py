"""``numpy.linalg``'s functions, differentiable: ``inv det slogdet solve pinv matrix_power
norm cholesky eigh eigvalsh svd qr``.

Matrices are the last two axes and leading axes are batches, as in NumPy. Gradient formulas
follow M. Giles, "An extended collection of matrix derivative results" (2008), I. Murray,
"Differentiation of the Cholesky decomposition" (2016), J. Townsend, "Differentiating the
singular value decomposition" (2016), and HIPS autograd's ``numpy/linalg.py``; each rule is
written in autonn ops, so it differentiates again.

Where a gradient does not exist the docstring says so: ``eigh`` needs distinct eigenvalues
(the eigenvectors of a repeated eigenvalue are not unique), ``svd`` distinct non-zero singular
values and ``full_matrices=False`` (or a square input), ``qr`` a full-column-rank input with at
least as many rows as columns, ``inv``/``solve``/``det``'s rule an invertible matrix.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, TensorLike, as_tensor
from .base import Op, apply, const
from .complex_parts import conj, real
from .elementwise import where
from .linalg import matmul
from .multi import MultiOp, apply_multi, filled, outputs_of
from .reduce import sum as _sum
from .shape import reshape, swapaxes, unsqueeze

__all__ = ["inv", "det", "slogdet", "solve", "pinv", "matrix_power", "norm", "cholesky", "eigh",
           "eigvalsh", "eig", "eigvals", "svd", "qr"]


def _T(x):
    return swapaxes(x, -1, -2)


def _eye(n, dtype):
    return const(np.eye(n, dtype=dtype))


def _tril_mask(n, k=0, dtype=np.float64):
    return const(np.tril(np.ones((n, n), dtype=dtype), k))


def _diag_embed(v):
    """A batch of vectors as a batch of diagonal matrices."""
    n = v.shape[-1]
    return unsqueeze(v, -2) * _eye(n, v.dtype)


def _diagonal(m):
    """The diagonals of a batch of square matrices, as vectors."""
    n = m.shape[-1]
    return _sum(m * _eye(n, m.dtype), axis=-1)


def _square(fn: str, a: TensorLike, min_dims: int = 2) -> Tensor:
    a = as_tensor(a)
    if a.ndim < min_dims or a.shape[-1] != a.shape[-2]:
        raise np.linalg.LinAlgError(
            f"linalg.{fn}: expected a square matrix (or a batch of them) in the last two axes, "
            f"got shape {a.shape}")
    return _floating(fn, a)


def _matrix(fn: str, a: TensorLike) -> Tensor:
    a = as_tensor(a)
    if a.ndim < 2:
        raise np.linalg.LinAlgError(f"linalg.{fn}: expected a matrix (at least 2 dimensions), got "
                                    f"shape {a.shape}")
    return _floating(fn, a)


def _floating(fn: str, a: Tensor) -> Tensor:
    if a.dtype.kind not in "fc":
        return a.astype(np.result_type(a.dtype, np.float64))
    if a.dtype == np.longdouble or a.dtype == np.clongdouble:
        raise TypeError(f"linalg.{fn}: LAPACK has no {a.dtype} routines; cast to float64 first")
    return a


class _LinalgOp(Op):
    __slots__ = ()

    def forward(self, *arrays):
        try:
            return self._forward(*arrays)
        except np.linalg.LinAlgError as e:
            raise np.linalg.LinAlgError(f"linalg.{self.name.lower()}: {e}") from None


class Inv(_LinalgOp):
    __slots__ = ()
    complex = True

    def _forward(self, a):
        return np.linalg.inv(a)

    def vjp(self, g, out, a):
        return -matmul(matmul(_T(out), g), _T(out))

    def jvp(self, tangents, out, a):
        (da,) = tangents
        return None if da is None else -matmul(matmul(out, da), out)


def inv(a: TensorLike) -> Tensor:
    """The inverse of a square matrix (NumPy's ``linalg.inv``); gradient ``-A^-T g A^-T``.

    >>> import autonn as an
    >>> an.linalg.inv(an.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return apply(Inv(), _square("inv", a))


class Det(_LinalgOp):
    __slots__ = ()
    complex = True

    def _forward(self, a):
        return np.linalg.det(a)

    def vjp(self, g, out, a):
        return unsqueeze(unsqueeze(g * out, -1), -1) * _T(inv(a))

    def jvp(self, tangents, out, a):
        (da,) = tangents
        return None if da is None else out * _trace_product(inv(a), da)


def _trace_product(x, y):
    """trace(x @ y) over the last two axes, without forming the product."""
    return _sum(_sum(_T(x) * y, axis=-1), axis=-1)


def det(a: TensorLike) -> Tensor:
    """The determinant (NumPy's ``linalg.det``); gradient ``g det(A) A^-T`` (its rule needs an
    invertible matrix).

    >>> import autonn as an
    >>> an.linalg.det(an.tensor([[2.0, 1.0], [1.0, 3.0]]))
    tensor(5.)
    """
    return apply(Det(), _square("det", a))


class LogAbsDet(_LinalgOp):
    __slots__ = ()
    complex = True

    def _forward(self, a):
        return np.linalg.slogdet(a)[1]

    def vjp(self, g, out, a):
        return unsqueeze(unsqueeze(g, -1), -1) * _T(inv(a))

    def jvp(self, tangents, out, a):
        (da,) = tangents
        if da is None:
            return None
        t = _trace_product(inv(a), da)
        return real(t) if t.dtype.kind == "c" else t


class SlogdetResult(tuple):
    """``(sign, logabsdet)``, as NumPy's ``SlogdetResult`` (also unpacks as a pair)."""
    __slots__ = ()

    def __new__(cls, sign, logabsdet):
        return super().__new__(cls, (sign, logabsdet))

    sign = property(lambda self: self[0])
    logabsdet = property(lambda self: self[1])


def slogdet(a: TensorLike) -> SlogdetResult:
    """``(sign, log|det|)`` (NumPy's ``linalg.slogdet``); ``sign`` carries no gradient, and
    ``log|det|``'s is ``g A^-T``.

    >>> import autonn as an
    >>> sign, logdet = an.linalg.slogdet(an.tensor([[-2.0, 0.0], [0.0, 3.0]]))
    >>> sign, logdet
    (tensor(-1.), tensor(1.79175947))
    """
    a = _square("slogdet", a)
    sign = Tensor._make(np.linalg.slogdet(a.data)[0])
    return SlogdetResult(sign, apply(LogAbsDet(), a))


class Solve(_LinalgOp):
    __slots__ = ()
    complex = True

    def _forward(self, a, b):
        return np.linalg.solve(a, b)

    def vjp(self, g, out, a, b):
        vector = b.ndim == 1  # NumPy 2: a 1-D b is a vector (batched along a's leading axes)
        gb = _solve_columns(_T(a), g, vector)
        ga = None
        if a.requires_grad:
            gb2, x2 = (unsqueeze(gb, -1), unsqueeze(out, -1)) if vector else (gb, out)
            ga = -matmul(gb2, _T(x2))
        return ga, (gb if b.requires_grad else None)

    def jvp(self, tangents, out, a, b):
        da, db = tangents
        vector = b.ndim == 1
        rhs = db
        if da is not None:
            prod = reshape(matmul(da, unsqueeze(out, -1)), out.shape) if vector else matmul(da, out)
            rhs = -prod if rhs is None else rhs - prod
        return None if rhs is None else _solve_columns(a, rhs, vector)


def _solve_columns(a, rhs, vector):
    """solve(a, rhs) where ``rhs`` holds vectors (``vector``: one per batch of ``a``, in its last
    axis) or matrices, whatever its number of axes."""
    if vector and rhs.ndim > 1:
        return reshape(solve(a, unsqueeze(rhs, -1)), rhs.shape)
    return solve(a, rhs)


def solve(a: TensorLike, b: TensorLike) -> Tensor:
    """``x`` with ``a @ x = b`` (NumPy's ``linalg.solve``: ``b`` is a vector when 1-D, else a
    batch of matrices); gradients ``solve(A^T, g)`` and ``-solve(A^T, g) x^T``.

    >>> import autonn as an
    >>> an.linalg.solve(an.tensor([[2.0, 0.0], [0.0, 4.0]]), an.tensor([2.0, 2.0]))
    tensor([1. , 0.5])
    """
    a, b = _square("solve", a), _floating("solve", as_tensor(b))
    rows = b.shape[0] if b.ndim == 1 else b.shape[-2] if b.ndim >= 2 else None
    if rows != a.shape[-1]:
        raise ValueError(f"linalg.solve: a of shape {a.shape} and b of shape {b.shape} do not "
                         f"match: b needs {a.shape[-1]} rows")
    return apply(Solve(), a, b)


class Pinv(_LinalgOp):
    __slots__ = ()

    def _forward(self, a):
        return np.linalg.pinv(a)

    def vjp(self, g, out, a):
        # d pinv for a matrix of constant rank (Golub & Pereyra 1973), as HIPS autograd
        m, n = a.shape[-2], a.shape[-1]
        p = out
        term1 = -matmul(matmul(p, _T(g)), p)
        term2 = matmul(matmul(matmul(p, _T(p)), g), _eye(m, a.dtype) - matmul(a, p))
        term3 = matmul(matmul(matmul(_eye(n, a.dtype) - matmul(p, a), g), _T(p)), p)
        return _T(term1 + term2 + term3)


def pinv(a: TensorLike) -> Tensor:
    """The Moore-Penrose pseudo-inverse (NumPy's ``linalg.pinv`` with its default ``rcond``);
    the gradient exists where the rank is locally constant (real inputs).

    >>> import autonn as an
    >>> an.linalg.pinv(an.tensor([[2.0, 0.0]]))
    tensor([[0.5],
            [0. ]])
    """
    return apply(Pinv(), _matrix("pinv", a))


def matrix_power(a: TensorLike, n: int) -> Tensor:
    """``a`` multiplied by itself ``n`` times (``n < 0``: of its inverse; ``n = 0``: the
    identity), as NumPy's ``linalg.matrix_power``, by repeated squaring in autonn ops.

    >>> import autonn as an
    >>> an.linalg.matrix_power(an.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg.matrix_power: the exponent must be an integer, got {n!r}")
    a = _square("matrix_power", a)
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    if result is None:
        eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
        return Tensor._make(eye) if not a.requires_grad else a * 0 + const(eye)
    return result


class Norm2(Op):
    """sqrt(sum |x|^2) over ``axes``: the 2-norm of vectors, the Frobenius norm of matrices.
    Its gradient at 0 is 0 (a subgradient, as PyTorch), not NaN."""
    __slots__ = ("axes", "keepdims")
    complex = True

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        ax = np.abs(x) if x.dtype.kind == "c" else x
        return np.sqrt(np.sum(ax * ax, axis=self.axes, keepdims=self.keepdims))

    def _kept(self, t, x):
        if self.keepdims or self.axes is None:
            return t
        for a in sorted(a % x.ndim for a in self.axes):
            t = unsqueeze(t, a)
        return t

    def vjp(self, g, out, x):
        safe = where(out.data == 0, 1.0, out)
        return self._kept(g / safe, x) * (conj(x) if x.dtype.kind == "c" else x)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None:
            return None
        prod = (conj(x) if x.dtype.kind == "c" else x) * dx
        s = _sum(prod, axis=self.axes, keepdims=self.keepdims)
        s = real(s) if s.dtype.kind == "c" else s
        return s / where(out.data == 0, 1.0, out)


def norm(x: TensorLike, ord: float | str | None = None, axis: int | tuple[int, ...] | None = None,
         keepdims: bool = False) -> Tensor:
    """Vector or matrix norm (NumPy's ``linalg.norm``, every ``ord``). The 2-norm and the
    Frobenius norm have gradient 0 at 0; ``inf``, ``1`` and the like are max/sum of absolute
    values (their gradient splits at ties); ``2``, ``-2`` and ``'nuc'`` on matrices go through the
    singular values (distinct, for the gradient).

    >>> import autonn as an
    >>> an.linalg.norm(an.tensor([3.0, 4.0])), an.linalg.norm(an.tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    (tensor(5.), tensor(6.))
    """
    from . import elementary, reduce
    x = _floating("norm", as_tensor(x))
    if axis is None:
        if ord is None:
            return apply(Norm2(None, keepdims), x)
        if x.ndim not in (1, 2):
            raise ValueError(f"linalg.norm: ord={ord!r} with axis=None needs a 1-D or 2-D input, "
                             f"got shape {x.shape}")
        axis = tuple(range(x.ndim))
    if not isinstance(axis, (int, np.integer, tuple, list)) or isinstance(axis, bool):
        raise TypeError(f"linalg.norm: axis must be an int or a pair of ints, got {axis!r}")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) not in (1, 2):
        raise ValueError(f"linalg.norm: axis must be an int or a pair of ints, got {axis!r}")
    axes = tuple(int(a) for a in axes)
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"linalg.norm: axis {a} is out of bounds for shape {x.shape}")
    if len(axes) == 2 and axes[0] % x.ndim == axes[1] % x.ndim:
        raise ValueError(f"linalg.norm: duplicate axes {axis!r}")
    absx = elementary.abs(x)
    if len(axes) == 1:
        ax = axes[0]
        if ord is None or ord == 2:
            return apply(Norm2(axes, keepdims), x)
        if ord == np.inf:
            return reduce.max(absx, axis=ax, keepdims=keepdims)
        if ord == -np.inf:
            return reduce.min(absx, axis=ax, keepdims=keepdims)
        if ord == 0:
            return Tensor._make(np.sum(x.data != 0, axis=ax, keepdims=keepdims).astype(absx.dtype))
        if isinstance(ord, str):
            raise ValueError(f"linalg.norm: invalid norm order {ord!r} for vectors")
        return _sum(absx ** ord, axis=ax, keepdims=keepdims) ** (1.0 / ord)
    row, col = (a % x.ndim for a in axes)
    if ord in (None, "fro"):
        return apply(Norm2(axes, keepdims), x)
    if ord in (2, -2, "nuc"):
        moved = _move_to_end(x, row, col)
        s = svd(moved, compute_uv=False)
        r = _sum(s, axis=-1) if ord == "nuc" else \
            reduce.max(s, axis=-1) if ord == 2 else reduce.min(s, axis=-1)
        return _keep(r, x.ndim, (row, col)) if keepdims else r
    if ord in (1, -1, np.inf, -np.inf):
        over, then = (row, col) if ord in (1, -1) else (col, row)
        sums = _sum(absx, axis=over, keepdims=True)
        pick = reduce.max if ord in (1, np.inf) else reduce.min
        r = pick(sums, axis=then, keepdims=True)
        return r if keepdims else reshape(r, tuple(s for i, s in enumerate(r.shape)
                                                    if i not in (row, col)))
    raise ValueError(f"linalg.norm: invalid norm order {ord!r} for matrices")


def _move_to_end(x, row, col):
    from .shape import transpose
    rest = [i for i in range(x.ndim) if i not in (row, col)]
    return transpose(x, tuple(rest) + (row, col))


def _keep(r, ndim, axes):
    for a in sorted(axes):
        r = unsqueeze(r, a)
    return r


class Cholesky(_LinalgOp):
    __slots__ = ()

    def _forward(self, a):
        return np.linalg.cholesky(a)

    def vjp(self, g, out, a):
        # Murray (2016): A-bar = sym(L^-T Phi(L^T g) L^-1), Phi = lower triangle, diagonal halved
        n = a.shape[-1]
        phi = matmul(_T(out), g) * const(np.tril(np.ones((n, n))) - 0.5 * np.eye(n))
        s = _T(solve(_T(out), _T(solve(_T(out), _T(phi)))))
        sym = (s + _T(s)) * 0.5  # the gradient w.r.t. a symmetric A
        # NumPy's cholesky reads the lower triangle: each off-diagonal pair lands there
        return sym * _eye(n, a.dtype) + sym * const(2 * np.tril(np.ones((n, n)), -1))


def cholesky(a: TensorLike) -> Tensor:
    """The lower Cholesky factor ``L`` of a symmetric positive-definite matrix, ``A = L L^T``
    (NumPy's ``linalg.cholesky``; it reads the lower triangle, so the gradient lands there: the
    symmetric gradient of a symmetric parameterisation is ``(G + G^T) / 2`` of it).

    >>> import autonn as an
    >>> an.linalg.cholesky(an.tensor([[4.0, 2.0], [2.0, 2.0]]))
    tensor([[2., 0.],
            [1., 1.]])
    """
    return apply(Cholesky(), _square("cholesky", a))


class Eigh(MultiOp):
    __slots__ = ("uplo",)

    def __init__(self, uplo):
        self.uplo = uplo

    def forward(self, a):
        return tuple(np.linalg.eigh(a, UPLO=self.uplo))

    def vjp(self, g, pack, a):
        w, v = outputs_of(pack)
        gw, gv = filled(g, self.result)
        n = a.shape[-1]
        inner = _diag_embed(gw)
        if g[1] is not None:  # eigenvector part (needs distinct eigenvalues): only when used
            inner = inner + _spread(w) * matmul(_T(v), gv)
        full = matmul(matmul(v, inner), _T(v))
        # eigh reads one triangle: the diagonal once, each off-diagonal pair through its entry there
        lower = np.tril(np.ones((n, n)), -1) if self.uplo == "L" else np.triu(np.ones((n, n)), 1)
        return full * _eye(n, a.dtype) + (full + _T(full)) * const(lower)


def _spread(w):
    """F with F[i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    n = w.shape[-1]
    diff = unsqueeze(w, -2) - unsqueeze(w, -1)
    off = np.ones((n, n)) - np.eye(n)
    return const(off) / (diff + _eye(n, w.dtype))


class EighResult(tuple):
    """``(eigenvalues, eigenvectors)``, as NumPy's ``EighResult``."""
    __slots__ = ()

    def __new__(cls, eigenvalues, eigenvectors):
        return super().__new__(cls, (eigenvalues, eigenvectors))

    eigenvalues = property(lambda self: self[0])
    eigenvectors = property(lambda self: self[1])


def eigh(a: TensorLike, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, read from the ``UPLO``
    triangle (NumPy's ``linalg.eigh``). The eigenvalues' gradient always exists; the
    eigenvectors' needs distinct eigenvalues (at a repeated one they are not unique).

    >>> import autonn as an
    >>> w, v = an.linalg.eigh(an.tensor([[2.0, 0.0], [0.0, 1.0]]))
    >>> w
    tensor([1., 2.])
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return EighResult(*apply_multi(Eigh(UPLO), _square("eigh", a)))


def eigvalsh(a: TensorLike, UPLO: str = "L") -> Tensor:
    """The eigenvalues of a symmetric matrix (NumPy's ``linalg.eigvalsh``), differentiable.

    >>> import autonn as an
    >>> an.linalg.eigvalsh(an.tensor([[2.0, 1.0], [1.0, 2.0]]))
    tensor([1., 3.])
    """
    if not isinstance(a, Tensor) or a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        _square("eigvalsh", a)  # the error names eigvalsh
    return eigh(a, UPLO)[0]


class Eig(MultiOp):
    __slots__ = ()
    complex = True

    def forward(self, a):
        return tuple(np.linalg.eig(a))

    def vjp(self, g, pack, a):
        # Boeddeker et al. (2017), eq. 4.77, as HIPS autograd's grad_eig (unit-norm eigenvectors)
        e, u = outputs_of(pack)
        ge, gu = filled(g, self.result)
        n = a.shape[-1]
        eye = _eye(n, u.dtype)
        inner = _diag_embed(ge)
        if g[1] is not None:  # the eigenvectors' part needs distinct eigenvalues
            off = const(np.ones((n, n)) - np.eye(n))
            f = off / (unsqueeze(e, -2) - unsqueeze(e, -1) + _eye(n, e.dtype))
            ut = _T(u)
            utgu = matmul(ut, gu)
            inner = inner + f * utgu \
                - f * matmul(matmul(ut, conj(u)), real(utgu * _eye(n, utgu.dtype)) * eye)
        r = matmul(matmul(inv(_T(u)), inner), _T(u))
        return real(r) if a.dtype.kind != "c" else r


class EigResult(tuple):
    """``(eigenvalues, eigenvectors)``, as NumPy's ``EigResult``."""
    __slots__ = ()

    def __new__(cls, eigenvalues, eigenvectors):
        return super().__new__(cls, (eigenvalues, eigenvectors))

    eigenvalues = property(lambda self: self[0])
    eigenvectors = property(lambda self: self[1])


def eig(a: TensorLike) -> EigResult:
    """Eigenvalues and unit-norm eigenvectors of a general square matrix (NumPy's
    ``linalg.eig``; complex in general). The gradient follows the complex convention of
    ``autonn.ops.complex_parts``; the eigenvectors' needs distinct eigenvalues, and as their
    phase is arbitrary only phase-independent functions of them (``abs(v)``, ``v v^H``...) have a
    well-defined gradient.

    >>> import autonn as an
    >>> w, v = an.linalg.eig(an.tensor([[2.0, 0.0], [0.0, 3.0]]))
    >>> w
    tensor([2., 3.])
    """
    return EigResult(*apply_multi(Eig(), _square("eig", a)))


def eigvals(a: TensorLike) -> Tensor:
    """The eigenvalues of a general square matrix (NumPy's ``linalg.eigvals``), differentiable.

    >>> import autonn as an
    >>> an.linalg.eigvals(an.tensor([[0.0, 1.0], [-1.0, 0.0]]))
    tensor([0.+1.j, 0.-1.j], dtype=complex128)
    """
    if not isinstance(a, Tensor) or a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        _square("eigvals", a)  # the error names eigvals
    return eig(a)[0]


class Svd(MultiOp):
    __slots__ = ()

    def forward(self, a):
        return tuple(np.linalg.svd(a, full_matrices=False))

    def vjp(self, g, pack, a):
        # Townsend (2016), as HIPS autograd's grad_svd, for full_matrices=False
        u, s, vh = outputs_of(pack)
        gu, gs, gvh = filled(g, self.result)
        v, gv = _T(vh), _T(gvh)
        m, n = a.shape[-2], a.shape[-1]
        k = min(m, n)
        eye = _eye(k, a.dtype)
        s_row, s_col = unsqueeze(s, -2), unsqueeze(s, -1)
        f = const(np.ones((k, k)) - np.eye(k)) / (s_row * s_row - s_col * s_col + eye)
        utgu, vtgv = matmul(_T(u), gu), matmul(_T(v), gv)
        t = eye * unsqueeze(gs, -1)
        # the singular vectors' parts need distinct non-zero singular values: only when used
        if g[0] is not None:
            t = t + (f * (utgu - _T(utgu))) * s_row
        if g[2] is not None:
            t = t + s_col * (f * (vtgv - _T(vtgv)))
        out = matmul(matmul(u, t), _T(v))
        if m < n and g[2] is not None:
            out = out + matmul(matmul(u / s_row, _T(gv)), _eye(n, a.dtype) - matmul(v, _T(v)))
        elif m > n and g[0] is not None:
            out = out + _T(matmul(matmul(v / s_row, _T(gu)), _eye(m, a.dtype) - matmul(u, _T(u))))
        return out


class SingularValues(_LinalgOp):
    __slots__ = ()

    def _forward(self, a):
        return np.linalg.svd(a, compute_uv=False)

    def vjp(self, g, out, a):
        u, _, vh = apply_multi(Svd(), a)
        return matmul(u * unsqueeze(g, -2), vh)


class SVDResult(tuple):
    """``(U, S, Vh)``, as NumPy's ``SVDResult``."""
    __slots__ = ()

    def __new__(cls, U, S, Vh):
        return super().__new__(cls, (U, S, Vh))

    U = property(lambda self: self[0])
    S = property(lambda self: self[1])
    Vh = property(lambda self: self[2])


def svd(a: TensorLike, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> SVDResult | Tensor:  # Tensor: the singular values (compute_uv=False)
    """Singular value decomposition ``a = U diag(S) Vh`` (NumPy's ``linalg.svd``). Gradients:
    of ``S`` always (distinct values for a unique derivative); of ``U`` and ``Vh`` with
    distinct non-zero singular values and ``full_matrices=False`` (for a non-square input the
    extra columns of the full factors are not unique, so they have no gradient: it raises).

    >>> import autonn as an
    >>> an.linalg.svd(an.tensor([[3.0, 0.0], [0.0, -2.0]]), compute_uv=False)
    tensor([3., 2.])
    """
    a = _matrix("svd", a)
    if hermitian:
        raise NotImplementedError("linalg.svd: hermitian=True is not supported; use eigh")
    if not compute_uv:
        return apply(SingularValues(), a)
    m, n = a.shape[-2:]
    if full_matrices and m != n:
        if a.requires_grad:
            raise ValueError(
                f"linalg.svd: full_matrices=True on a {m}x{n} input has no gradient (the extra "
                "columns of the full factors are not unique); pass full_matrices=False")
        u, s, vh = np.linalg.svd(a.data, full_matrices=True)
        return SVDResult(Tensor._make(u), Tensor._make(s), Tensor._make(vh))
    return SVDResult(*apply_multi(Svd(), a))


class Qr(MultiOp):
    __slots__ = ()

    def forward(self, a):
        return tuple(np.linalg.qr(a, mode="reduced"))

    def vjp(self, g, pack, a):
        # reduced QR of a full-column-rank m x n input, m >= n (Seeger et al. 2017; as PyTorch):
        # A-bar = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q
        q, r = outputs_of(pack)
        gq, gr = filled(g, self.result)
        n = a.shape[-1]
        mm = matmul(r, _T(gr)) - matmul(_T(gq), q)
        low = const(np.tril(np.ones((n, n)), -1))
        copyltu = mm * low + _T(mm * low) + mm * _eye(n, a.dtype)
        b = gq + matmul(q, copyltu)
        return _T(solve(r, _T(b)))


class QRResult(tuple):
    """``(Q, R)``, as NumPy's ``QRResult``."""
    __slots__ = ()

    def __new__(cls, Q, R):
        return super().__new__(cls, (Q, R))

    Q = property(lambda self: self[0])
    R = property(lambda self: self[1])


def qr(a: TensorLike, mode: str = "reduced") -> QRResult | Tensor:  # Tensor: R (mode="r")
    """QR decomposition ``a = Q R`` (NumPy's ``linalg.qr``, ``mode='reduced'`` or ``'r'``).
    The gradient needs a full-column-rank input with at least as many rows as columns.

    >>> import autonn as an
    >>> q, r = an.linalg.qr(an.tensor([[3.0, 0.0], [4.0, 5.0]]))
    >>> abs(r.data).round(6).tolist()
    [[5.0, 4.0], [0.0, 3.0]]
    """
    a = _matrix("qr", a)
    if mode not in ("reduced", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced' or 'r' here, got {mode!r}")
    m, n = a.shape[-2:]
    if m < n and a.requires_grad:
        raise ValueError(f"linalg.qr: the gradient of a {m}x{n} QR (fewer rows than columns) "
                         "is not defined here: R's trailing columns are not determined uniquely")
    result = QRResult(*apply_multi(Qr(), a))
    return result.R if mode == "r" else result

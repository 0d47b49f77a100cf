"""Products: ``einsum`` and the products written with it (``dot vdot inner outer tensordot kron
trace cross``).

``einsum`` runs ``np.einsum(..., optimize=True)``, which picks the contraction order (and BLAS
for pairwise contractions). Its vjp for one operand is again an einsum (the output's cotangent
contracted with the other operands; identity matrices restore a repeated index, ones an index
summed away), so it differentiates again, and the same rule is right for complex inputs (no
conjugation: HIPS autograd's and JAX's convention).
"""
import string

import numpy as np

from ..tensor import Tensor, as_tensor
from ._axes import normalize_axis
from ._rules import sum_terms
from .base import Op, apply, const

__all__ = ["einsum", "dot", "vdot", "inner", "outer", "tensordot", "kron", "trace", "cross"]

_LETTERS = string.ascii_letters


class Einsum(Op):
    """``np.einsum(spec, *operands)`` with an explicit output; ``terms`` lists each operand's
    letters, ``output`` the result's."""
    __slots__ = ("terms", "output", "optimize")
    complex = True

    def __init__(self, terms, output, optimize=True):
        self.terms, self.output, self.optimize = terms, output, optimize

    @property
    def spec(self):
        return ",".join(self.terms) + "->" + self.output

    def forward(self, *arrays):
        return np.asarray(np.einsum(self.spec, *arrays, optimize=self.optimize))

    def vjp(self, g, out, *xs):
        return tuple(self._grad(g, xs, i) if x.requires_grad else None for i, x in enumerate(xs))

    def _grad(self, g, xs, i):
        target, x = self.terms[i], xs[i]
        used = set("".join(self.terms) + self.output)
        fresh = iter(c for c in _LETTERS if c not in used)
        terms = [self.output] + [t for j, t in enumerate(self.terms) if j != i]
        operands = [g] + [o for j, o in enumerate(xs) if j != i]
        named = set("".join(terms))
        result, seen = [], set()
        for letter, size in zip(target, x.shape):
            if letter in seen:  # a repeated index (a diagonal): an identity restores it
                new = _next_letter(fresh)
                terms.append(letter + new)
                operands.append(const(np.eye(size, dtype=x.dtype)))
                result.append(new)
                continue
            seen.add(letter)
            if letter not in named:  # summed away in the forward: it comes back as ones
                terms.append(letter)
                operands.append(const(np.ones(size, dtype=x.dtype)))
                named.add(letter)
            result.append(letter)
        return apply(Einsum(tuple(terms), "".join(result), self.optimize), *operands)

    def jvp(self, tangents, out, *xs):
        return sum_terms(*[None if t is None else
                           apply(self, *[t if j == i else x for j, x in enumerate(xs)])
                           for i, t in enumerate(tangents)])


def _next_letter(fresh):
    try:
        return next(fresh)
    except StopIteration:
        raise ValueError("einsum: the gradient needs more than 52 distinct indices") from None


def _sublists_to_string(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [sublistout]) as a subscripts string."""
    def term(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < 52:
                out.append(_LETTERS[s])
            else:
                raise ValueError(f"einsum: subscript {s!r} in a sublist is not an int in [0, 52)")
        return "".join(out)
    k = len(args) // 2
    operands, terms = list(args[0:2 * k:2]), [term(s) for s in args[1:2 * k:2]]
    spec = ",".join(terms) + ("->" + term(args[-1]) if len(args) % 2 else "")
    return spec, operands


def _parse(subscripts, shapes):
    """Each operand's letters and the output's, with ``...`` spelled out as letters; an index of
    length 1 that broadcasts against a longer one is given its own letter (summed away)."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, rhs = subscripts.split("->", 1)
        if "->" in rhs:
            raise ValueError("einsum: the subscripts hold '->' more than once")
    else:
        lhs, rhs = subscripts, None
    raw = lhs.split(",")
    if len(raw) != len(shapes):
        raise ValueError(f"einsum: {len(raw)} operand subscripts for {len(shapes)} operands")
    for t in raw + ([rhs] if rhs is not None else []):
        rest = t.replace("...", "", 1)
        if "." in rest or any(c not in _LETTERS for c in rest):
            raise ValueError(f"einsum: invalid subscript term {t!r} (letters and one '...' only)")
    used = set(c for c in subscripts if c in _LETTERS)
    spare = iter(c for c in _LETTERS if c not in used)
    n_ell = 0
    for t, shape in zip(raw, shapes):
        k = len(t.replace("...", ""))
        if "..." in t:
            if len(shape) < k:
                raise ValueError(f"einsum: term {t!r} has more indices than its operand's "
                                 f"dimensions {shape}")
            n_ell = max(n_ell, len(shape) - k)
        elif len(shape) != k:
            raise ValueError(f"einsum: term {t!r} has {k} indices for an operand of shape {shape}")
    ell = "".join(_next_letter(spare) for _ in range(n_ell))
    terms = []
    for t, shape in zip(raw, shapes):
        if "..." in t:
            e = len(shape) - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - e:] if e else "")
        terms.append(t)
    if rhs is None:
        counts = {c: "".join(terms).count(c) for c in set("".join(terms))}
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)  # without '...', the broadcast dimensions are summed
        if len(set(rhs)) != len(rhs):
            raise ValueError(f"einsum: the output subscripts {rhs!r} repeat an index")
        missing = [c for c in rhs if c not in "".join(terms)]
        if missing:
            raise ValueError(f"einsum: output index {missing[0]!r} appears in no operand")
    sizes = {}
    for t, shape in zip(terms, shapes):
        for c, n in zip(t, shape):
            if n != 1:
                if sizes.setdefault(c, n) != n:
                    raise ValueError(f"einsum: index {c!r} has lengths {sizes[c]} and {n} in "
                                     f"operands of shapes {list(shapes)}")
    fixed = []
    for t, shape in zip(terms, shapes):  # a length-1 index broadcast against a longer one
        fixed.append("".join(_next_letter(spare) if n == 1 and sizes.get(c, 1) != 1 else c
                             for c, n in zip(t, shape)))
    return tuple(fixed), rhs


def einsum(*operands, optimize=True, dtype=None):
    """Einstein summation, as NumPy's ``einsum`` (``'ij,jk->ik'``, implicit output, ``...``,
    and the sublist form), contracted in an optimised order (``optimize``).

    >>> import autonn as an
    >>> a, b = an.ones((2, 3)), an.ones((3, 4))
    >>> an.einsum("ij,jk->ik", a, b).shape, an.einsum("ii", an.eye(3)).item()
    ((2, 4), 3.0)
    """
    if not operands:
        raise TypeError("einsum: needs the subscripts and at least one operand")
    if isinstance(operands[0], str):
        subscripts, arrays = operands[0], list(operands[1:])
    else:
        subscripts, arrays = _sublists_to_string(operands)
    if not arrays:
        raise ValueError("einsum: needs at least one operand")
    ts = [as_tensor(a) for a in arrays]
    if dtype is not None:
        ts = [t.astype(dtype) for t in ts]
    if any(t.dtype.kind not in "biufc" for t in ts):
        raise TypeError("einsum: operands must be numeric")
    terms, output = _parse(subscripts, [t.shape for t in ts])
    return apply(Einsum(terms, output, optimize), *ts)


def tensordot(a, b, axes=2):
    """Sum products over the last ``axes`` axes of ``a`` and the first of ``b``, or over the
    axes pairs ``axes = (a_axes, b_axes)`` (NumPy's ``tensordot``).

    >>> import autonn as an
    >>> an.tensordot(an.ones((2, 3)), an.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    a, b = as_tensor(a), as_tensor(b)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(f"tensordot: axes={n} does not fit shapes {a.shape} and {b.shape}")
        ia, ib = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        try:
            ia, ib = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of axis lists, got "
                            f"{axes!r}") from None
        ia = [ia] if isinstance(ia, (int, np.integer)) else list(ia)
        ib = [ib] if isinstance(ib, (int, np.integer)) else list(ib)
        if len(ia) != len(ib):
            raise ValueError(f"tensordot: {len(ia)} axes of a paired with {len(ib)} axes of b")
        ia = [normalize_axis(i, a.ndim, "tensordot") for i in ia]
        ib = [normalize_axis(i, b.ndim, "tensordot") for i in ib]
        if len(set(ia)) != len(ia) or len(set(ib)) != len(ib):
            raise ValueError(f"tensordot: repeated axis in {axes!r}")
    for i, j in zip(ia, ib):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shape mismatch for sum: axis {i} of {a.shape} and "
                             f"axis {j} of {b.shape}")
    la = list(_LETTERS[:a.ndim])
    lb = list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for i, j in zip(ia, ib):
        lb[j] = la[i]
    out = [c for k, c in enumerate(la) if k not in ia] + [c for k, c in enumerate(lb) if k not in ib]
    return apply(Einsum(("".join(la), "".join(lb)), "".join(out)), a, b)


def dot(a, b):
    """NumPy's ``dot``: a product with a scalar, the inner product of vectors, the matrix
    product, or a sum over the last axis of ``a`` and the second-to-last of ``b``.

    >>> import autonn as an
    >>> an.dot(an.tensor([1.0, 2.0]), an.tensor([3.0, 4.0])).item()
    11.0
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _named("dot", tensordot, a, b, ([a.ndim - 1], [0 if b.ndim == 1 else b.ndim - 2]))


def _named(op_name, fn, *args):
    try:
        return fn(*args)
    except ValueError as e:
        raise ValueError(f"{op_name}: {e}") from None


def inner(a, b):
    """Sum of products over the last axes of ``a`` and ``b`` (NumPy's ``inner``).

    >>> import autonn as an
    >>> an.inner(an.ones((2, 3)), an.ones(3))
    tensor([3., 3.])
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _named("inner", tensordot, a, b, ([a.ndim - 1], [b.ndim - 1]))


def outer(a, b):
    """The outer product of the flattened inputs.

    >>> import autonn as an
    >>> an.outer(an.tensor([1.0, 2.0]), an.tensor([1.0, 10.0]))
    tensor([[ 1., 10.],
           [ 2., 20.]])
    """
    a, b = as_tensor(a), as_tensor(b)
    return apply(Einsum(("i", "j"), "ij"), a.reshape(-1), b.reshape(-1))


def vdot(a, b):
    """``sum(conj(a) * b)`` over the flattened inputs (NumPy's ``vdot``).

    >>> import autonn as an
    >>> an.vdot(an.tensor([1j, 2.0]), an.tensor([1j, 3.0])).item()
    (7+0j)
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.size != b.size:
        raise ValueError(f"vdot: the inputs have {a.size} and {b.size} elements (shapes "
                         f"{a.shape}, {b.shape})")
    if a.dtype.kind == "c":
        from .complex_parts import conj
        a = conj(a)
    return apply(Einsum(("i", "i"), ""), a.reshape(-1), b.reshape(-1))


def kron(a, b):
    """The Kronecker product: blocks ``a[i, j] * b`` (NumPy's ``kron``, any dimensions).

    >>> import autonn as an
    >>> an.kron(an.tensor([1.0, 10.0]), an.tensor([1.0, 2.0]))
    tensor([ 1.,  2., 10., 20.])
    """
    a, b = as_tensor(a), as_tensor(b)
    nd = max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    la, lb = _LETTERS[:nd], _LETTERS[nd:2 * nd]
    out = apply(Einsum((la, lb), "".join(x + y for x, y in zip(la, lb))),
                a.reshape(sa), b.reshape(sb))
    return out.reshape(tuple(x * y for x, y in zip(sa, sb)))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """Sum along a diagonal (NumPy's ``trace``).

    >>> import autonn as an
    >>> an.trace(an.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
    5.0
    """
    from .arrays import diagonal
    from .reduce import sum
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None:
        d = d.astype(dtype)
    return sum(d, axis=-1)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors along the given axes (NumPy's ``cross``; other axes
    broadcast).

    >>> import autonn as an
    >>> an.cross(an.tensor([1.0, 0.0, 0.0]), an.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    from .arrays import moveaxis
    from .shape import stack
    a, b = as_tensor(a), as_tensor(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("cross: the inputs must be at least 1-d")
    a = moveaxis(a, normalize_axis(axisa, a.ndim, "cross"), -1)
    b = moveaxis(b, normalize_axis(axisb, b.ndim, "cross"), -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError(f"cross: the vector axes must have length 3, got {a.shape[-1]} and "
                         f"{b.shape[-1]}")
    try:
        batch = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValueError(f"cross: shapes {a.shape} and {b.shape} do not broadcast") from None
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return moveaxis(c, -1, normalize_axis(axisc, len(batch) + 1, "cross"))


Tensor.dot = dot


from .gather import name_errors  # noqa: E402
name_errors(globals())  # errors raised inside name the function called

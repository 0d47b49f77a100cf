"""Registry entries of NumPy's array functions: reductions, products, sorting, shape and index
functions (``autonn.ops.arrays``, ``cumulative``, ``nanreduce``, ``products``, ``sorting``).
Imported by ``autonn.testing.registry``; see there for what an entry means.

>>> from autonn.testing.registry import REGISTRY
>>> REGISTRY["einsum"].complex, REGISTRY["argsort"].differentiable
(True, False)
"""
from typing import Any

import numpy as np
from hypothesis import assume, strategies as st

import autonn as an
from autonn.ops._rules import errors_named

from .registry import Case, reduction, register
from .strategies import arrays, axes, shapes as _shapes

LIN = {"linear": True, "complex": True}


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=3):
    """Shapes of at most 27 elements: finite differences cost two evaluations per element."""
    return _shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _case(make):
    """A cases factory from ``make(draw, dtype) -> Case``."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            return make(draw, dtype)
        return draw()
    return cases


def _arr(draw, shape, dtype, low=-3.0, high=3.0):
    return draw(arrays(tuple(shape), dtype, low, high))


def _distinct(draw, shape, dtype):
    """Values that are pairwise apart (no ties: sorting and max are differentiable there)."""
    n = int(np.prod(shape))
    vals = np.asarray(draw(st.permutations(range(n))), dtype=np.float64)
    return ((vals - n / 2) * draw(st.sampled_from([0.37, 0.61]))).reshape(shape).astype(dtype)


def _with_zeros(draw, shape, dtype):
    a = _arr(draw, shape, dtype, -1.5, 1.5)
    if a.size and draw(st.booleans()):
        flat = a.reshape(-1)
        for i in draw(st.lists(st.integers(0, a.size - 1), min_size=1, max_size=2)):
            flat[i] = 0
    return a


# ----- reductions -----
@_case
def _prod_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    return Case((_with_zeros(draw, shape, dtype),),
                {"axis": draw(axes(len(shape))), "keepdims": draw(st.booleans())})


@_case
def _scan_cases(draw, dtype):
    shape = draw(shapes(min_dims=0, max_dims=3))
    axis = draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    return Case((_with_zeros(draw, shape, dtype),), {"axis": axis})


register("prod", an.prod, np.prod, _prod_cases, complex=True)
register("cumsum", lambda x, axis: an.cumsum(x, axis), lambda a, axis: np.cumsum(a, axis),
         _scan_cases, **LIN)
register("cumprod", lambda x, axis: an.cumprod(x, axis), lambda a, axis: np.cumprod(a, axis),
         _scan_cases, complex=True)


def _nan_cases(min_count):
    """An array and where NaNs go (``nan_at``): the functions below put them in, so finite
    differences never step from a NaN input."""
    @_case
    def cases(draw, dtype):
        side = 2 if min_count == 1 else 4  # a reduced slice keeps min_count numbers
        shape = draw(shapes(min_dims=1, max_dims=2, min_side=side, max_side=side))
        a = _arr(draw, shape, dtype)
        axis = draw(axes(len(shape)))
        nan_at = np.zeros(shape, dtype=bool)
        if a.size > 1:
            nan_at.reshape(-1)[draw(st.integers(0, a.size - 1))] = True
        assume(np.all(np.sum(~nan_at, axis=axis) >= min_count))
        kw = {"nan_at": nan_at, "axis": axis, "keepdims": draw(st.booleans())}
        if min_count > 1:
            kw["ddof"] = draw(st.integers(0, min_count - 2))
            with np.errstate(invalid="ignore"):
                assume(np.all(np.nanvar(np.where(nan_at, np.nan, a.astype(np.float64)),
                                        axis=axis) > 1e-2))
        return Case((a,), kw)
    return cases


def _with_nans(fn, ref) -> Any:  # (fn, ref), spread into register
    return (errors_named(lambda x, nan_at, **kw: fn(an.where(nan_at, np.nan, x), **kw), fn.__name__),
            lambda a, nan_at, **kw: ref(np.where(nan_at, np.nan, a), **kw))


# linear in the entries that are not NaN
register("nansum", *_with_nans(an.nansum, np.nansum), _nan_cases(1), **LIN)
register("nanmean", *_with_nans(an.nanmean, np.nanmean), _nan_cases(1), **LIN)
register("nanvar", *_with_nans(an.nanvar, np.nanvar), _nan_cases(3))
register("nanstd", *_with_nans(an.nanstd, np.nanstd), _nan_cases(3))


@_case
def _average_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    a = _arr(draw, shape, dtype)
    if draw(st.booleans()):
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        w = _arr(draw, (shape[axis],), dtype, 0.5, 2.0)
    else:
        axis = draw(axes(len(shape), allow_tuple=False))
        w = _arr(draw, shape, dtype, 0.5, 2.0)
    return Case((a, w), {"axis": axis})


register("average", lambda a, w, axis: an.average(a, axis=axis, weights=w),
         lambda a, w, axis: np.average(a, axis=axis, weights=w), _average_cases, complex=True)
register("ptp", an.ptp, np.ptp, reduction(distinct=True), second_order=False)
register("amax", an.amax, np.amax, reduction(distinct=True), second_order=False)
register("amin", an.amin, np.amin, reduction(distinct=True), second_order=False)


@_case
def _diff_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    return Case((_arr(draw, shape, dtype),), {"n": draw(st.integers(0, 2)),
                                             "axis": draw(st.integers(-len(shape), len(shape) - 1))})


register("diff", an.diff, np.diff, _diff_cases, **LIN)


@_case
def _diff_edges_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=2))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    kw = {"axis": axis, "prepend": 0.5}
    if draw(st.booleans()):
        kw["append"] = -1.0
    return Case((_arr(draw, shape, dtype),), kw)


register("diff_prepend_append", lambda x, **kw: an.diff(x, **kw),
         lambda a, **kw: np.diff(a, **{k: np.asarray(v, a.dtype) for k, v in kw.items()  # type: ignore[call-overload]
                                       if k != "axis"}, axis=kw["axis"]),
         _diff_edges_cases, second_order=False, complex=True, covers=("diff",))  # affine

# ----- products -----
_EINSUM_SPECS = [  # spec, operand shapes in letters' sizes
    ("ij,jk->ik", "ij,jk"), ("ij,jk", "ij,jk"), ("ii->i", "ii"), ("ii", "ii"), ("ij->ji", "ij"),
    ("ij->", "ij"), ("i,i->", "i,i"), ("i,j->ij", "i,j"), ("iij->j", "iij"), ("bA", "bA"),
    ("ijk,ikl,lm->jm", "ijk,ikl,lm"), ("...ij,...jk->...ik", "bij,jk"), ("ij,ij->ij", "ij,ij"),
    ("i,i->i", "1,i"),
]


@_case
def _einsum_cases(draw, dtype):
    spec, layout = draw(st.sampled_from(_EINSUM_SPECS))
    sizes = {c: draw(st.integers(1, 3)) for c in set(layout) if c.isalpha()}
    ops = [_arr(draw, tuple(1 if c == "1" else sizes[c] for c in term), dtype)
           for term in layout.split(",")]
    return Case(tuple(ops), {"subscripts": spec})


register("einsum", lambda *xs, subscripts: an.einsum(subscripts, *xs),
         lambda *arrs, subscripts: np.einsum(subscripts, *arrs), _einsum_cases, complex=True)


@_case
def _einsum_sublist_cases(draw, dtype):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    return Case((_arr(draw, (n, k), dtype), _arr(draw, (k, m), dtype)), {})


register("einsum_sublists", lambda a, b: an.einsum(a, [0, 1], b, [1, 2], [2, 0]),
         lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [2, 0]), _einsum_sublist_cases,
         complex=True, covers=("einsum",))


@_case
def _dot_cases(draw, dtype):
    k = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["scalar", "vv", "mm", "nv", "nm"]))
    if kind == "scalar":
        sa, sb = (), draw(shapes(max_dims=2))
    elif kind == "vv":
        sa, sb = (k,), (k,)
    elif kind == "mm":
        sa, sb = (draw(st.integers(1, 3)), k), (k, draw(st.integers(1, 3)))
    elif kind == "nv":
        sa, sb = (2, draw(st.integers(1, 3)), k), (k,)
    else:
        sa, sb = (2, k), (draw(st.integers(1, 2)), k, 2)
    if draw(st.booleans()):
        sa, sb = (sb, sa) if kind == "scalar" else (sa, sb)
    return Case((_arr(draw, sa, dtype), _arr(draw, sb, dtype)))


register("dot", an.dot, np.dot, _dot_cases, complex=True)


@_case
def _vdot_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=2))
    n = int(np.prod(shape))
    return Case((_arr(draw, shape, dtype), _arr(draw, (n,), dtype)))


register("vdot", an.vdot, np.vdot, _vdot_cases, complex=True)


@_case
def _inner_cases(draw, dtype):
    k = draw(st.integers(1, 3))
    sa = draw(shapes(min_dims=0, max_dims=2))
    sb = draw(shapes(min_dims=0, max_dims=2))
    sa = sa[:-1] + (k,) if sa else sa
    sb = sb[:-1] + (k,) if sb and sa else sb
    return Case((_arr(draw, sa, dtype), _arr(draw, sb, dtype)))


register("inner", an.inner, np.inner, _inner_cases, complex=True)


@_case
def _outer_cases(draw, dtype):
    return Case((_arr(draw, draw(shapes(max_dims=2)), dtype),
                 _arr(draw, draw(shapes(max_dims=2)), dtype)))


register("outer", an.outer, np.outer, _outer_cases, complex=True)


@_case
def _tensordot_cases(draw, dtype):
    if draw(st.booleans()):
        n = draw(st.integers(0, 2))
        common = tuple(draw(st.integers(1, 3)) for _ in range(n))
        sa = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 1)))) + common
        sb = common + tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 1))))
        return Case((_arr(draw, sa, dtype), _arr(draw, sb, dtype)), {"axes": n})
    sa = (2, 3, draw(st.integers(1, 2)))
    sb = (3, sa[2], 2)
    return Case((_arr(draw, sa, dtype), _arr(draw, sb, dtype)), {"axes": ([1, -1], [0, 1])})


register("tensordot", an.tensordot, np.tensordot, _tensordot_cases, complex=True)


@_case
def _kron_cases(draw, dtype):
    return Case((_arr(draw, draw(shapes(max_dims=2, max_side=3)), dtype),
                 _arr(draw, draw(shapes(max_dims=2, max_side=3)), dtype)))


register("kron", an.kron, np.kron, _kron_cases, complex=True)


@_case
def _trace_cases(draw, dtype):
    shape = draw(shapes(min_dims=2, max_dims=3))
    a1, a2 = draw(st.permutations(range(len(shape))))[:2]
    return Case((_arr(draw, shape, dtype),), {"offset": draw(st.integers(-1, 1)), "axis1": a1,
                                             "axis2": a2})


register("trace", an.trace, np.trace, _trace_cases, **LIN)


@_case
def _cross_cases(draw, dtype):
    batch = draw(shapes(max_dims=2, max_side=3))
    sb = batch[-1:] if batch and draw(st.booleans()) else batch
    a = _arr(draw, batch + (3,), dtype)
    b = _arr(draw, sb + (3,), dtype)
    if batch and draw(st.booleans()):  # the vector axis elsewhere
        return Case((np.moveaxis(a, -1, 0), b), {"axisa": 0, "axisc": 0})
    return Case((a, b), {})


register("cross", an.cross, np.cross, _cross_cases, complex=True)


# ----- sorting -----
@_case
def _sort_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    return Case((_distinct(draw, shape, dtype),),
                {"axis": draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))})


register("sort", an.sort, np.sort, _sort_cases, second_order=False, complex=True)


@_case
def _msort_cases(draw, dtype):
    return Case((_distinct(draw, draw(shapes(min_dims=1, max_dims=3)), dtype),))


register("msort", an.msort, lambda a: np.sort(a, axis=0), _msort_cases, second_order=False,
         complex=True)


@_case
def _partition_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    kth = draw(st.integers(-shape[axis], shape[axis] - 1))
    return Case((_distinct(draw, shape, dtype),), {"kth": kth, "axis": axis})


register("partition", an.partition, np.partition, _partition_cases, second_order=False,
         complex=True)
register("argsort", an.argsort, np.argsort, _sort_cases, differentiable=False)
register("argpartition", an.argpartition, np.argpartition, _partition_cases, differentiable=False)


@_case
def _searchsorted_cases(draw, dtype):
    a = np.sort(_arr(draw, (draw(st.integers(1, 5)),), dtype))
    return Case((a, _arr(draw, draw(shapes(max_dims=2)), dtype)),
                {"side": draw(st.sampled_from(["left", "right"]))})


register("searchsorted", an.searchsorted, np.searchsorted, _searchsorted_cases,
         differentiable=False)


@_case
def _sparse_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    vals = draw(st.lists(st.sampled_from([0.0, 0.0, 1.5, -2.0]), min_size=int(np.prod(shape)),
                         max_size=int(np.prod(shape))))
    return Case((np.asarray(vals, dtype=dtype).reshape(shape),))


register("argwhere", an.argwhere, np.argwhere, _sparse_cases, differentiable=False)
register("nonzero", lambda x: an.stack(list(an.nonzero(x))), lambda a: np.stack(np.nonzero(a)),
         _sparse_cases, differentiable=False)
register("flatnonzero", an.flatnonzero, np.flatnonzero, _sparse_cases, differentiable=False)


# ----- shape and index -----
def _one(kwargs, min_dims=0, max_dims=3, min_side=1):
    """Cases of one array of a drawn shape, with ``kwargs(draw, shape)``."""
    @_case
    def cases(draw, dtype):
        shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side))
        return Case((_arr(draw, shape, dtype),), kwargs(draw, shape))
    return cases


def _axis_or_none(draw, shape):
    return draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))


def _repeat_kwargs(draw, shape):
    axis = _axis_or_none(draw, shape)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    reps = draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    return {"repeats": reps, "axis": axis}


register("repeat", an.repeat, np.repeat, _one(_repeat_kwargs), **LIN)
register("tile", an.tile, np.tile, _one(lambda d, s: {"reps": d(st.one_of(
    st.integers(1, 3), st.lists(st.integers(1, 2), min_size=1, max_size=4).map(tuple)))}), **LIN)


def _roll_kwargs(draw, shape):
    if shape and draw(st.booleans()):
        axs = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=2, unique=True))
        return {"shift": tuple(draw(st.integers(-5, 5)) for _ in axs), "axis": tuple(axs)}
    return {"shift": draw(st.integers(-5, 5)), "axis": _axis_or_none(draw, shape)}


register("roll", an.roll, np.roll, _one(_roll_kwargs), **LIN)
register("flip", an.flip, np.flip, _one(lambda d, s: {"axis": d(axes(len(s)))}), **LIN)
register("fliplr", an.fliplr, np.fliplr, _one(lambda d, s: {}, min_dims=2), **LIN)
register("flipud", an.flipud, np.flipud, _one(lambda d, s: {}, min_dims=1), **LIN)


def _rot90_kwargs(draw, shape):
    a, b = draw(st.permutations(range(len(shape))))[:2]
    return {"k": draw(st.integers(-2, 5)), "axes": (a, b - len(shape) * draw(st.integers(0, 1)))}


register("rot90", an.rot90, np.rot90, _one(_rot90_kwargs, min_dims=2), **LIN)


def _moveaxis_kwargs(draw, shape):
    nd = len(shape)
    k = draw(st.integers(1, nd))
    src = draw(st.permutations(range(nd)))[:k]
    dst = draw(st.permutations(range(-nd, 0)))[:k]
    if k == 1 and draw(st.booleans()):
        return {"source": src[0], "destination": dst[0]}
    return {"source": tuple(src), "destination": tuple(dst)}


register("moveaxis", an.moveaxis, np.moveaxis, _one(_moveaxis_kwargs, min_dims=1), **LIN)
register("rollaxis", an.rollaxis, np.rollaxis, _one(lambda d, s: {
    "axis": d(st.integers(-len(s), len(s) - 1)), "start": d(st.integers(-len(s), len(s)))},
    min_dims=1), **LIN)
for _nd in (1, 2, 3):
    register(f"atleast_{_nd}d", getattr(an, f"atleast_{_nd}d"), getattr(np, f"atleast_{_nd}d"),
             _one(lambda d, s: {}), **LIN)


def _joined(kind):
    """Sequences of arrays that NumPy's ``kind`` stack function joins."""
    @_case
    def cases(draw, dtype):
        count = draw(st.integers(1, 3))
        if kind in ("hstack", "vstack", "column_stack"):
            nd = draw(st.integers(1, 2))
        else:
            nd = draw(st.integers(1, 3))
        base = list(draw(shapes(min_dims=nd, max_dims=nd)))
        axis = {"hstack": 0 if nd == 1 else 1, "vstack": 0, "dstack": 2, "column_stack": 1}[kind]
        parts = []
        for _ in range(count):
            shp = list(base)
            if kind == "vstack" and nd == 2 or kind == "hstack" or (kind == "dstack" and nd == 3) \
                    or (kind == "column_stack" and nd == 2):
                shp[axis if axis < nd else -1] = draw(st.integers(1, 3))
            parts.append(_arr(draw, shp, dtype))
        return Case(tuple(parts))
    return cases


for _kind in ("hstack", "vstack", "dstack", "column_stack"):
    register(_kind, (lambda f: lambda *xs: f(list(xs)))(getattr(an, _kind)),
             (lambda f: lambda *arrs: f(list(arrs)))(getattr(np, _kind)), _joined(_kind),
             covers=(_kind, "row_stack") if _kind == "vstack" else (_kind,), **LIN)


@_case
def _append_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    if draw(st.booleans()):
        return Case((_arr(draw, shape, dtype), _arr(draw, draw(shapes(max_dims=2)), dtype)),
                    {"axis": None})
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[axis] = draw(st.integers(1, 3))
    return Case((_arr(draw, shape, dtype), _arr(draw, other, dtype)), {"axis": axis})


register("append", an.append, np.append, _append_cases, **LIN)


@_case
def _concat_flat_cases(draw, dtype):
    return Case(tuple(_arr(draw, draw(shapes(max_dims=3)), dtype)
                      for _ in range(draw(st.integers(1, 3)))))


register("concatenate_axis_none", lambda *xs: an.concatenate(xs, axis=None),
         lambda *arrs: np.concatenate(arrs, axis=None), _concat_flat_cases,
         covers=("concatenate",), **LIN)


def _pieces(fn, np_fn, **fixed) -> Any:  # (fn, ref), spread into register
    return (lambda x, **kw: an.concatenate([an.reshape(p, -1) for p in fn(x, **fixed, **kw)] or
                                           [an.zeros(0)]),
            lambda a, **kw: np.concatenate([p.ravel() for p in np_fn(a, **fixed, **kw)]))


def _sections(draw, n, equal):
    if draw(st.booleans()):
        if equal:
            return draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
        return draw(st.integers(1, n + 2))
    return sorted(draw(st.lists(st.integers(0, n), max_size=3)))


def _split_kwargs(axis_of, equal):
    def kwargs(draw, shape):
        return {"indices_or_sections": _sections(draw, shape[axis_of(shape)], equal)}
    return kwargs


@_case
def _array_split_cases(draw, dtype):
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(0, len(shape) - 1))
    return Case((_arr(draw, shape, dtype),),
                {"indices_or_sections": _sections(draw, shape[axis], False), "axis": axis})


register("array_split", *_pieces(an.array_split, np.array_split), _array_split_cases, **LIN)
register("hsplit", *_pieces(an.hsplit, np.hsplit),
         _one(_split_kwargs(lambda s: 1 if len(s) > 1 else 0, True), min_dims=1), **LIN)
register("vsplit", *_pieces(an.vsplit, np.vsplit), _one(_split_kwargs(lambda s: 0, True),
                                                       min_dims=2), **LIN)
register("dsplit", *_pieces(an.dsplit, np.dsplit), _one(_split_kwargs(lambda s: 2, True),
                                                       min_dims=3), **LIN)


def _take_kwargs(draw, shape):
    axis = _axis_or_none(draw, shape)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    mode = draw(st.sampled_from(["raise", "wrap", "clip"]))
    lo, hi = (-n, n - 1) if mode == "raise" else (-2 * n, 2 * n)
    idx = np.asarray(draw(st.lists(st.integers(lo, hi), min_size=1, max_size=4)))
    if draw(st.booleans()):
        idx = idx[0]  # a scalar index
    return {"indices": idx, "axis": axis, "mode": mode}


register("take", an.take, np.take, _one(_take_kwargs), **LIN)


def _take_along_kwargs(draw, shape):
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    ishape = list(shape)
    ishape[axis] = draw(st.integers(1, 4))
    idx = np.asarray(draw(st.lists(st.integers(0, shape[axis] - 1), min_size=int(np.prod(ishape)),
                                   max_size=int(np.prod(ishape))))).reshape(ishape)
    return {"indices": idx, "axis": axis}


register("take_along_axis", an.take_along_axis, np.take_along_axis,
         _one(_take_along_kwargs, min_dims=1), **LIN)
register("diag", an.diag, np.diag, _one(lambda d, s: {"k": d(st.integers(-2, 2))}, min_dims=1,
                                        max_dims=2), **LIN)


def _diagonal_kwargs(draw, shape):
    a1, a2 = draw(st.permutations(range(len(shape))))[:2]
    return {"offset": draw(st.integers(-2, 2)), "axis1": a1, "axis2": a2 - len(shape)}


register("diagonal", an.diagonal, np.diagonal, _one(_diagonal_kwargs, min_dims=2), **LIN)
register("tril", an.tril, np.tril, _one(lambda d, s: {"k": d(st.integers(-2, 2))}, min_dims=1),
         **LIN)
register("triu", an.triu, np.triu, _one(lambda d, s: {"k": d(st.integers(-2, 2))}, min_dims=1),
         **LIN)
register("ravel", an.ravel, np.ravel, _one(lambda d, s: {"order": d(st.sampled_from("CF"))}),
         **LIN)


def _expand_kwargs(draw, shape):
    k = draw(st.integers(1, 2))
    nd = len(shape) + k
    axs = draw(st.lists(st.integers(-nd, nd - 1), min_size=k, max_size=k,
                        unique_by=lambda a: a % nd))
    return {"axis": axs[0] if k == 1 else tuple(axs)}


register("expand_dims", an.expand_dims, np.expand_dims, _one(_expand_kwargs), **LIN)


@_case
def _select_cases(draw, dtype):
    shape = draw(shapes(max_dims=2))
    k = draw(st.integers(1, 3))
    conds = [np.asarray(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)),
                                      max_size=int(np.prod(shape))))).reshape(shape)
             for _ in range(k)]
    return Case(tuple(_arr(draw, shape, dtype) for _ in range(k + 1)), {"condlist": conds})


register("select", lambda *xs, condlist: an.select(condlist, list(xs[:-1]), xs[-1]),
         lambda *arrs, condlist: np.select(condlist, list(arrs[:-1]), arrs[-1]), _select_cases,
         **LIN)


@_case
def _linspace_cases(draw, dtype):
    shape = draw(st.sampled_from([(), (2,), (1, 3)]))
    num = draw(st.integers(0, 5))
    return Case((_arr(draw, shape, dtype), _arr(draw, shape, dtype)),
                {"num": num, "endpoint": draw(st.booleans()),
                 "axis": draw(st.integers(-len(shape) - 1, len(shape)))})


register("linspace", an.linspace, np.linspace, _linspace_cases, **LIN)


def _gradient_kwargs(draw, shape):
    edge = draw(st.integers(1, 2))
    kw = {"edge_order": edge}
    if draw(st.booleans()):
        kw["axis"] = draw(st.integers(-len(shape), len(shape) - 1))
    return kw


def _stacked(y):
    if isinstance(y, (list, tuple)):
        return an.stack(list(y)) if isinstance(y[0], an.Tensor) else np.stack(y)
    return y


register("gradient", lambda x, **kw: _stacked(an.gradient(x, 0.5, **kw)),
         lambda a, **kw: _stacked(np.gradient(a, 0.5, **kw)),
         _one(_gradient_kwargs, min_dims=1, min_side=3), **LIN)
register("full", lambda v, shape: an.full(shape, v), lambda a, shape: np.full(shape, a),
         _one(lambda d, s: {"shape": (2,) + s}, max_dims=2), covers=("broadcast_to",), **LIN)

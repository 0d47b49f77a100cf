"""NumPy's shape and index functions on Tensors: ``repeat tile roll flip rot90 moveaxis
atleast_1d hstack array_split take take_along_axis diag diagonal tril triu ravel expand_dims
select linspace gradient ...``, with NumPy's names, signatures and results.

Each is built from differentiable ops: reshapes and transposes, slices, ``concatenate`` and the
element gathers of ``autonn.ops.gather`` (NumPy's own function applied to the element positions,
so the semantics are NumPy's). All are linear in their array inputs (``select`` and
``linspace`` in each of their operands), right for complex inputs, and differentiate again.
"""
import builtins
import operator

import numpy as np

from ..tensor import Tensor, as_tensor
from ._axes import normalize_axes, normalize_axis
from .elementwise import where
from .gather import gather, numpy_call, scatter
from .shape import concatenate, reshape, transpose

__all__ = ["repeat", "tile", "roll", "flip", "fliplr", "flipud", "rot90", "moveaxis", "rollaxis",
           "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "append", "array_split", "hsplit", "vsplit", "dsplit", "take",
           "take_along_axis", "diag", "diagonal", "tril", "triu", "ravel", "expand_dims", "select",
           "linspace", "gradient"]

MAX_PIECES = 1 << 20  # splitting into more pieces than this (and than the axis is long) is refused


def _int(v, what, op_name):
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{op_name}: {what} must be an integer, got {v!r}") from None


def repeat(a, repeats, axis=None):
    """Repeat each element ``repeats`` times (NumPy's ``repeat``; the flattened input when
    ``axis`` is None). The gradient sums the copies.

    >>> import autonn as an
    >>> an.repeat(an.tensor([1.0, 2.0]), 2)
    tensor([1., 1., 2., 2.])
    """
    a = as_tensor(a)
    reps = repeats.data if isinstance(repeats, Tensor) else repeats
    if np.asarray(reps).dtype.kind not in "iub" and not isinstance(reps, (int, np.integer)):
        raise TypeError(f"repeat: repeats must be integers, got {repeats!r}")
    return gather(a, "repeat", np.repeat, reps, axis=axis, unique=False)


def tile(A, reps):
    """Repeat the whole array ``reps`` times along each axis (NumPy's ``tile``).

    >>> import autonn as an
    >>> an.tile(an.tensor([1.0, 2.0]), 2)
    tensor([1., 2., 1., 2.])
    """
    A = as_tensor(A)
    r = np.asarray(reps)
    if r.dtype.kind not in "iu":
        raise TypeError(f"tile: reps must be integers, got {reps!r}")
    if np.any(r < 0):
        raise ValueError(f"tile: reps must be non-negative, got {reps!r}")
    return gather(A, "tile", np.tile, reps, unique=False)


def roll(a, shift, axis=None):
    """Shift the elements cyclically along ``axis`` (the flattened array when None).

    >>> import autonn as an
    >>> an.roll(an.tensor([1.0, 2.0, 3.0]), 1)
    tensor([3., 1., 2.])
    """
    return gather(as_tensor(a), "roll", np.roll, shift, axis=axis)


def flip(m, axis=None):
    """Reverse the order of the elements along ``axis`` (all axes when None).

    >>> import autonn as an
    >>> an.flip(an.tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    tensor([[2., 1.],
           [4., 3.]])
    """
    m = as_tensor(m)
    axes = normalize_axes(axis, m.ndim, "flip")
    return m[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(m.ndim))]


def fliplr(m):
    """Reverse the columns (axis 1); ``m`` has at least 2 dimensions.

    >>> import autonn as an
    >>> an.fliplr(an.tensor([[1.0, 2.0]]))
    tensor([[2., 1.]])
    """
    m = as_tensor(m)
    if m.ndim < 2:
        raise ValueError(f"fliplr: the input must be at least 2-d, got shape {m.shape}")
    return flip(m, 1)


def flipud(m):
    """Reverse the rows (axis 0); ``m`` has at least 1 dimension.

    >>> import autonn as an
    >>> an.flipud(an.tensor([1.0, 2.0]))
    tensor([2., 1.])
    """
    m = as_tensor(m)
    if m.ndim < 1:
        raise ValueError("flipud: the input must be at least 1-d, got a scalar")
    return flip(m, 0)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (NumPy's ``rot90``).

    >>> import autonn as an
    >>> an.rot90(an.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[2., 4.],
           [1., 3.]])
    """
    return gather(as_tensor(m), "rot90", np.rot90, _int(k, "k", "rot90"), axes=axes)


def _check_axis_list(v, op_name, what):
    items = v if isinstance(v, (tuple, list)) else [v]
    for i in items:
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"{op_name}: {what} must be an int or a sequence of ints, got {v!r}")


def moveaxis(a, source, destination):
    """Move axes ``source`` to positions ``destination``; the others keep their order.

    >>> import autonn as an
    >>> an.moveaxis(an.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    a = as_tensor(a)
    _check_axis_list(source, "moveaxis", "source")
    _check_axis_list(destination, "moveaxis", "destination")
    moved = numpy_call("moveaxis", np.moveaxis, _axis_probe(a.ndim), source, destination)
    return transpose(a, tuple(n - 1 for n in moved.shape))


def _axis_probe(ndim):
    """An empty array whose axis i has length i + 1: NumPy's axis-moving functions applied to it
    tell the permutation they make (its new shape, minus one)."""
    return np.lib.stride_tricks.as_strided(np.zeros(1), shape=tuple(range(1, ndim + 1)),
                                           strides=(0,) * ndim)


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before ``start`` (NumPy's ``rollaxis``; prefer
    ``moveaxis``).

    >>> import autonn as an
    >>> an.rollaxis(an.zeros((2, 3, 4)), 2).shape
    (4, 2, 3)
    """
    a = as_tensor(a)
    axis, start = _int(axis, "axis", "rollaxis"), _int(start, "start", "rollaxis")
    moved = numpy_call("rollaxis", np.rollaxis, _axis_probe(a.ndim), axis, start)
    return transpose(a, tuple(s - 1 for s in moved.shape))


def _atleast(nd, arys, op_name):
    out = []
    for x in arys:
        x = as_tensor(x)
        if x.ndim >= nd:
            out.append(x)
        elif nd == 1:
            out.append(reshape(x, (1,)))
        elif nd == 2:
            out.append(reshape(x, (1,) * (2 - x.ndim) + x.shape))
        else:
            shape = {0: (1, 1, 1), 1: (1,) + x.shape + (1,), 2: x.shape + (1,)}[x.ndim]
            out.append(reshape(x, shape))
    if not out:
        raise TypeError(f"{op_name}: needs at least one array")
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys):
    """Each input viewed with at least one dimension (a tuple for several inputs).

    >>> import autonn as an
    >>> an.atleast_1d(an.tensor(3.0)).shape
    (1,)
    """
    return _atleast(1, arys, "atleast_1d")


def atleast_2d(*arys):
    """Each input viewed with at least two dimensions (``(N,)`` becomes ``(1, N)``).

    >>> import autonn as an
    >>> an.atleast_2d(an.ones(3)).shape
    (1, 3)
    """
    return _atleast(2, arys, "atleast_2d")


def atleast_3d(*arys):
    """Each input viewed with at least three dimensions (``(M, N)`` becomes ``(M, N, 1)``).

    >>> import autonn as an
    >>> an.atleast_3d(an.ones(3)).shape
    (1, 3, 1)
    """
    return _atleast(3, arys, "atleast_3d")


def _seq(tup, op_name):
    if isinstance(tup, Tensor) or not isinstance(tup, (list, tuple)):
        raise TypeError(f"{op_name}: expects a sequence of arrays (a list or tuple), got "
                        f"{type(tup).__name__}")
    if not tup:
        raise ValueError(f"{op_name}: needs at least one array")
    return [as_tensor(t) for t in tup]


def _join(ts, axis, op_name):
    try:
        return concatenate(ts, axis=axis)
    except ValueError as e:
        raise ValueError(f"{op_name}: {e}") from None


def hstack(tup):
    """Join along the second axis (the first for 1-D inputs), as NumPy's ``hstack``.

    >>> import autonn as an
    >>> an.hstack([an.ones(2), an.zeros(1)])
    tensor([1., 1., 0.])
    """
    ts = [atleast_1d(t) for t in _seq(tup, "hstack")]
    return _join(ts, 0 if ts[0].ndim == 1 else 1, "hstack")


def vstack(tup):
    """Join along the first axis after making inputs at least 2-D, as NumPy's ``vstack``.

    >>> import autonn as an
    >>> an.vstack([an.ones(2), an.zeros(2)]).shape
    (2, 2)
    """
    return _join([atleast_2d(t) for t in _seq(tup, "vstack")], 0, "vstack")


row_stack = vstack


def dstack(tup):
    """Join along the third axis after making inputs at least 3-D.

    >>> import autonn as an
    >>> an.dstack([an.ones((2, 2)), an.zeros((2, 2))]).shape
    (2, 2, 2)
    """
    return _join([atleast_3d(t) for t in _seq(tup, "dstack")], 2, "dstack")


def column_stack(tup):
    """Stack 1-D inputs as columns (2-D inputs are joined as they are).

    >>> import autonn as an
    >>> an.column_stack([an.ones(2), an.zeros(2)]).shape
    (2, 2)
    """
    ts = [reshape(t, (-1, 1)) if t.ndim < 2 else t for t in _seq(tup, "column_stack")]
    return _join(ts, 1, "column_stack")


def append(arr, values, axis=None):
    """``values`` appended to ``arr`` (both flattened when ``axis`` is None).

    >>> import autonn as an
    >>> an.append(an.ones(2), [5.0])
    tensor([1., 1., 5.])
    """
    arr, values = as_tensor(arr), as_tensor(values)
    if axis is None:
        return _join([reshape(arr, -1), reshape(values, -1)], 0, "append")
    return _join([arr, values], axis, "append")


def _split_bounds(n, indices_or_sections, op_name, equal):
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(indices_or_sections, bool):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"{op_name}: the number of sections must be larger than 0, got {k}")
        if k > builtins.max(n, MAX_PIECES):
            raise ValueError(f"{op_name}: {k} sections of an axis of length {n} would build {k} "
                             f"tensors (more than {MAX_PIECES}); pass fewer sections")
        if equal and n % k:
            raise ValueError(f"{op_name}: an axis of length {n} cannot be split into {k} equal "
                             "parts")
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        return list(np.cumsum([0] + sizes))
    try:
        cuts = [operator.index(i) for i in indices_or_sections]
    except TypeError:
        raise TypeError(f"{op_name}: indices_or_sections must be an int or a sequence of ints, "
                        f"got {indices_or_sections!r}") from None
    if len(cuts) > MAX_PIECES:
        raise ValueError(f"{op_name}: {len(cuts) + 1} pieces is more than {MAX_PIECES}")
    return [0] + cuts + [n]


def array_split(ary, indices_or_sections, axis=0):
    """Split into pieces along ``axis``: ``n`` nearly equal pieces (the first ones one longer),
    or cut before each index in a list. Returns a list of Tensors.

    >>> import autonn as an
    >>> [t.shape for t in an.array_split(an.arange(5.0), 2)]
    [(3,), (2,)]
    """
    return _split(ary, indices_or_sections, axis, "array_split", equal=False)


def _split(ary, indices_or_sections, axis, op_name, equal):
    ary = as_tensor(ary)
    axis = normalize_axis(axis, ary.ndim, op_name)
    bounds = _split_bounds(ary.shape[axis], indices_or_sections, op_name, equal)
    pre = (slice(None),) * axis
    return [ary[pre + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:])]


def hsplit(ary, indices_or_sections):
    """``split`` along the second axis (the first for 1-D inputs).

    >>> import autonn as an
    >>> [t.shape for t in an.hsplit(an.ones((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
    ary = as_tensor(ary)
    if ary.ndim == 0:
        raise ValueError("hsplit: only works on arrays of 1 or more dimensions")
    return _split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0, "hsplit", equal=True)


def vsplit(ary, indices_or_sections):
    """``split`` along the first axis of an array of 2 or more dimensions.

    >>> import autonn as an
    >>> [t.shape for t in an.vsplit(an.ones((4, 2)), [1])]
    [(1, 2), (3, 2)]
    """
    ary = as_tensor(ary)
    if ary.ndim < 2:
        raise ValueError(f"vsplit: only works on arrays of 2 or more dimensions, got shape {ary.shape}")
    return _split(ary, indices_or_sections, 0, "vsplit", equal=True)


def dsplit(ary, indices_or_sections):
    """``split`` along the third axis of an array of 3 or more dimensions.

    >>> import autonn as an
    >>> [t.shape for t in an.dsplit(an.ones((1, 1, 4)), 2)]
    [(1, 1, 2), (1, 1, 2)]
    """
    ary = as_tensor(ary)
    if ary.ndim < 3:
        raise ValueError(f"dsplit: only works on arrays of 3 or more dimensions, got shape {ary.shape}")
    return _split(ary, indices_or_sections, 2, "dsplit", equal=True)


def _indices(indices, op_name):
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu" and not (idx.dtype.kind == "f" and idx.size == 0):
        raise IndexError(f"{op_name}: indices must be integers, got dtype {idx.dtype}")
    return idx.astype(np.intp, copy=False)


def take(a, indices, axis=None, mode="raise"):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when None);
    ``mode`` is NumPy's ('raise', 'wrap' or 'clip'). Repeated indices add up in the gradient.

    >>> import autonn as an
    >>> an.take(an.tensor([4.0, 5.0, 6.0]), [2, 0, 2])
    tensor([6., 4., 6.])
    """
    a = as_tensor(a)
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return gather(a, "take", np.take, _indices(indices, "take"), axis=axis, mode=mode,
                  unique=False)


def take_along_axis(arr, indices, axis=-1):
    """NumPy's ``take_along_axis``: pick, along ``axis``, the elements ``indices`` names (for
    example the output of ``argsort``); ``axis=None`` works on the flattened array.

    >>> import autonn as an
    >>> x = an.tensor([[3.0, 1.0], [2.0, 5.0]])
    >>> an.take_along_axis(x, an.argsort(x, axis=1), axis=1)
    tensor([[1., 3.],
           [2., 5.]])
    """
    arr = as_tensor(arr)
    idx = _indices(indices, "take_along_axis")
    if axis is not None and idx.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} need as many dimensions "
                         f"as the array of shape {arr.shape}")
    return gather(arr, "take_along_axis", np.take_along_axis, idx, axis=axis, unique=False)


def diag(v, k=0):
    """The ``k``-th diagonal of a 2-D input, or a 2-D matrix with the 1-D input on its
    ``k``-th diagonal (NumPy's ``diag``).

    >>> import autonn as an
    >>> an.diag(an.tensor([1.0, 2.0]))
    tensor([[1., 0.],
           [0., 2.]])
    """
    v = as_tensor(v)
    k = _int(k, "k", "diag")
    if v.ndim == 1:
        n = v.shape[0] + builtins.abs(k)
        index = np.diag(np.arange(n * n).reshape(n, n), k)
        return scatter(v, (n, n), index)
    if v.ndim == 2:
        return gather(v, "diag", np.diag, k)
    raise ValueError(f"diag: the input must be 1-d or 2-d, got shape {v.shape}")


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal over ``axis1`` and ``axis2`` (NumPy's ``diagonal``: those axes are removed,
    the diagonal is the last axis of the result).

    >>> import autonn as an
    >>> an.diagonal(an.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 4.])
    """
    a = as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"diagonal: the input must be at least 2-d, got shape {a.shape}")
    return gather(a, "diagonal", np.diagonal, _int(offset, "offset", "diagonal"),
                  normalize_axis(axis1, a.ndim, "diagonal"), normalize_axis(axis2, a.ndim, "diagonal"))


def _triangle(m, k, op_name, lower):
    m = as_tensor(m)
    k = _int(k, "k", op_name)
    if m.ndim == 0:
        raise ValueError(f"{op_name}: the input must be at least 1-d, got a scalar")
    rows, cols = m.shape[-2:] if m.ndim >= 2 else (m.shape[0], m.shape[0])
    mask = np.tri(rows, cols, k=k if lower else k - 1, dtype=bool)
    return where(mask if lower else ~mask, m, 0)


def tril(m, k=0):
    """The lower triangle (on and below the ``k``-th diagonal) of the last two axes; zeros
    elsewhere.

    >>> import autonn as an
    >>> an.tril(an.ones((2, 2)))
    tensor([[1., 0.],
           [1., 1.]])
    """
    return _triangle(m, k, "tril", True)


def triu(m, k=0):
    """The upper triangle (on and above the ``k``-th diagonal) of the last two axes.

    >>> import autonn as an
    >>> an.triu(an.ones((2, 2)))
    tensor([[1., 1.],
           [0., 1.]])
    """
    return _triangle(m, k, "triu", False)


def ravel(a, order="C"):
    """The elements as a 1-D tensor, in row-major (``'C'``) or column-major (``'F'``) order.

    >>> import autonn as an
    >>> an.ravel(an.tensor([[1.0, 2.0], [3.0, 4.0]]), order="F")
    tensor([1., 3., 2., 4.])
    """
    a = as_tensor(a)
    if order == "C":
        return reshape(a, -1)
    if order == "F":
        return reshape(transpose(a), -1)
    raise ValueError(f"ravel: order must be 'C' or 'F', got {order!r}")


def expand_dims(a, axis):
    """Insert length-one axes at the positions ``axis`` (an int or a tuple) of the result.

    >>> import autonn as an
    >>> an.expand_dims(an.ones(3), (0, 2)).shape
    (1, 3, 1)
    """
    a = as_tensor(a)
    nd = a.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    axes = normalize_axes(axis, nd, "expand_dims")
    it = iter(a.shape)
    return reshape(a, tuple(1 if i in axes else next(it) for i in range(nd)))


def select(condlist, choicelist, default=0):
    """For each element, the first choice whose condition holds, else ``default`` (NumPy's
    ``select``). Differentiable in the choices and the default.

    >>> import autonn as an
    >>> x = an.tensor([-1.0, 0.5, 3.0])
    >>> an.select([x < 0, x > 1], [-x, x * 10], default=x)
    tensor([ 1. ,  0.5, 30. ])
    """
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise TypeError("select: condlist and choicelist must be lists")
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: condlist ({len(condlist)}) and choicelist ({len(choicelist)}) "
                         "must have the same length")
    conds = []
    for c in condlist:
        c = c.data if isinstance(c, Tensor) else np.asarray(c)
        if c.dtype != bool:
            raise TypeError(f"select: condition arrays must be boolean, got dtype {c.dtype}")
        conds.append(c)
    choices = [as_tensor(c) for c in choicelist]
    out = as_tensor(default)
    try:
        shape = np.broadcast_shapes(out.shape, *[c.shape for c in conds + choices])
        dtype = np.result_type(*[c.data for c in choices + [out]])
    except ValueError as e:
        raise ValueError(f"select: {e}") from None
    out = out.astype(dtype) if out.dtype != dtype else out
    for cond, choice in zip(conds[::-1], choices[::-1]):
        out = where(cond, choice, out)
    from .shape import broadcast_to
    return broadcast_to(out, shape)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (NumPy's ``linspace``);
    differentiable in ``start`` and ``stop`` (scalars or arrays).

    >>> import autonn as an
    >>> an.linspace(0.0, 1.0, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    num = _int(num, "num", "linspace")
    if num < 0:
        raise ValueError(f"linspace: the number of samples must be non-negative, got {num}")
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        out = numpy_call("linspace", np.linspace, start, stop, num, endpoint, retstep, dtype, axis)
        return (Tensor._make(out[0]), out[1]) if retstep else Tensor._make(out)
    start, stop = as_tensor(start), as_tensor(stop)
    ftype = np.result_type(start.data, stop.data, 1.0)
    start, stop = start.astype(ftype), stop.astype(ftype)
    div = (num - 1) if endpoint else num
    shape = np.broadcast_shapes(start.shape, stop.shape)
    nd = len(shape) + 1
    axis = normalize_axis(axis, nd, "linspace")
    t = np.arange(num, dtype=ftype) / (div if div > 0 else 1)
    if endpoint and num > 1:
        t[-1] = 1
    t = t.reshape((num,) + (1,) * len(shape))
    delta = stop - start
    out = reshape(start, (1,) + start.shape) + reshape(delta, (1,) + delta.shape) * Tensor._make(t)
    if axis:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = out.astype(dtype)
    if retstep:
        return out, (delta / div if div > 0 else delta * np.nan)
    return out


def gradient(f, *varargs, axis=None, edge_order=1):
    """NumPy's ``gradient``: second-order central differences inside, one-sided differences of
    order ``edge_order`` (1 or 2) at the edges, for uniform spacings (one scalar per axis, or
    one for all). Returns a Tensor for one axis, a list for several.

    >>> import autonn as an
    >>> an.gradient(an.tensor([1.0, 2.0, 4.0, 7.0]))
    tensor([1. , 1.5, 2.5, 3. ])
    """
    f = as_tensor(f)
    if axis is None:
        axes = tuple(range(f.ndim))
    else:
        normalize_axes(axis, f.ndim, "gradient")  # checks: ints, in range, no repeats
        axes = tuple(normalize_axis(a, f.ndim, "gradient")
                     for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    if len(varargs) == 0:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError(f"gradient: {len(varargs)} spacings given for {len(axes)} axes")
    hs = []
    for h in spacing:
        if np.ndim(h) != 0:
            raise TypeError("gradient: only scalar (uniform) spacings are supported, got an array; "
                            "compute non-uniform differences with an.diff")
        if isinstance(h, Tensor):
            h = h.item()
        hs.append(float(h))
    outs = []
    for ax, h in zip(axes, hs):
        n = f.shape[ax]
        if n < edge_order + 1:
            raise ValueError(f"gradient: shape {f.shape} is too small along axis {ax} for "
                             f"edge_order={edge_order} (needs at least {edge_order + 1} elements)")

        def s(a, b=None, ax=ax):
            return f[(slice(None),) * ax + (slice(a, b),)]
        parts = []
        if edge_order == 1:
            parts.append((s(1, 2) - s(0, 1)) / h)
        else:
            parts.append((s(0, 1) * -1.5 + s(1, 2) * 2.0 - s(2, 3) * 0.5) / h)
        if n > 2:
            parts.append((s(2, None) - s(0, n - 2)) / (2.0 * h))
        if edge_order == 1:
            parts.append((s(n - 1, n) - s(n - 2, n - 1)) / h)
        else:
            parts.append((s(n - 3, n - 2) * 0.5 - s(n - 2, n - 1) * 2.0 + s(n - 1, n) * 1.5) / h)
        outs.append(concatenate(parts, axis=ax))
    return outs[0] if len(outs) == 1 else outs


from .gather import name_errors  # noqa: E402
name_errors(globals())  # errors raised inside name the function called

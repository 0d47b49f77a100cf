"""Shape ops: reshape, transpose, squeeze, broadcast, concatenate, split, pad... All linear."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Axis, Tensor, TensorLike, as_tensor
from ._axes import normalize_axes, normalize_axis, pick_axis
from ._rules import LinearOp
from .base import apply


class Reshape(LinearOp):
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def vjp(self, g, out, x):
        return apply(Reshape(x.shape), g)


class Transpose(LinearOp):
    __slots__ = ("axes",)

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def vjp(self, g, out, x):
        return apply(Transpose(tuple(np.argsort(self.axes))), g)


_SMALL = 4096  # elements: below this, broadcasting materialises (cheaper than building a view)


class BroadcastTo(LinearOp):
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        if math.prod(self.shape) <= _SMALL:  # np.broadcast_to costs ~6 us; a small copy ~1 us
            out = np.empty(self.shape, dtype=x.dtype)
            out[...] = x
            return out
        return np.broadcast_to(x, self.shape)  # a read-only view: no copy of large data

    def vjp(self, g, out, x):
        return g  # the engine sums the broadcast axes back to x's shape


class Sum(LinearOp):
    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, g, out, x):
        return apply(ExpandReduced(self.axes, self.keepdims, x.data.shape), g)


class ExpandReduced(LinearOp):
    """A reduced gradient spread back over the reduced axes (Sum's adjoint), in one node."""
    __slots__ = ("axes", "keepdims", "shape")

    def __init__(self, axes, keepdims, shape):
        self.axes, self.keepdims, self.shape = axes, keepdims, shape

    def forward(self, g):
        if not self.keepdims:
            g = g.reshape(tuple(1 if i in self.axes else s for i, s in enumerate(self.shape)))
        return BroadcastTo.forward(self, g)

    def vjp(self, gg, out, g):
        return apply(Sum(self.axes, self.keepdims), gg)


class Concatenate(LinearOp):
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def vjp(self, g, out, *xs):
        grads, start = [], 0
        for x in xs:
            stop = start + x.shape[self.axis]
            index = (slice(None),) * self.axis + (slice(start, stop),)
            grads.append(g[index] if x.requires_grad else None)
            start = stop
        return tuple(grads)


class Stack(LinearOp):
    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def vjp(self, g, out, *xs):
        pre = (slice(None),) * self.axis
        return tuple(g[pre + (i,)] if x.requires_grad else None for i, x in enumerate(xs))


class Pad(LinearOp):
    """Constant padding; the other modes go through an index gather (see ``pad``)."""
    __slots__ = ("pad_width", "value")

    def __init__(self, pad_width, value):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        return np.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def vjp(self, g, out, x):
        return g[tuple(slice(lo, lo + n) for (lo, _), n in zip(self.pad_width, x.shape))]

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        return None if dx is None else apply(Pad(self.pad_width, 0), dx)


# ----- public functions -----
def _shape_arg(shape, op_name):
    if not isinstance(shape, (tuple, list, np.ndarray)):
        raise TypeError(f"{op_name}: shape must be an int or a sequence of ints, got {shape!r}")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op_name}: shape must be ints, got {shape!r}") from None


def reshape(x: TensorLike, *shape: Any) -> Tensor:
    """Same data in a new shape (one entry may be -1).

    >>> import autonn as an
    >>> an.reshape(an.arange(6.0), (2, 3)).shape
    (2, 3)
    """
    x = as_tensor(x)
    shape = _shape_arg(shape, "reshape")
    try:
        new = _resolve_reshape(x.shape, shape)
    except ValueError as e:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                         f"into {shape}: {e}") from None
    if new == x.shape:
        return x
    return apply(Reshape(new), x)


def _resolve_reshape(old, shape):
    size = int(np.prod(old))
    if shape.count(-1) > 1:
        raise ValueError("only one dimension can be -1")
    if any(s < -1 for s in shape):
        raise ValueError("negative dimension")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or size % known:
            raise ValueError("sizes do not match")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ValueError("sizes do not match")
    return shape


def transpose(x: TensorLike, axes: Any = None) -> Tensor:
    """Reverse the axes, or permute them as ``axes`` says (NumPy's ``transpose``).

    >>> import autonn as an
    >>> an.transpose(an.zeros((2, 3, 4)), (1, 0, 2)).shape
    (3, 2, 4)
    """
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    else:
        if not isinstance(axes, (tuple, list)):
            raise TypeError(f"transpose: axes must be a tuple or list of ints, got {axes!r}")
        axes = tuple(normalize_axis(a, x.ndim, "transpose") for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} "
                             f"axes of shape {x.shape}")
    if axes == tuple(range(x.ndim)):
        return x
    return apply(Transpose(axes), x)


def permute(x: TensorLike, *axes: Any) -> Tensor:
    """Permute the axes (``permute(x, (1, 0))`` or ``x.permute(1, 0)``).

    >>> import autonn as an
    >>> an.permute(an.zeros((2, 3)), (1, 0)).shape
    (3, 2)
    """
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return transpose(x, axes)


def swapaxes(x: TensorLike, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes.

    >>> import autonn as an
    >>> an.swapaxes(an.zeros((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    x = as_tensor(x)
    a = normalize_axis(axis1, x.ndim, "swapaxes")
    b = normalize_axis(axis2, x.ndim, "swapaxes")
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, tuple(axes))


def squeeze(x: TensorLike, axis: Axis = None, dim: Axis = None) -> Tensor:
    """Remove axes of length one (all of them, or those in ``axis``).

    >>> import autonn as an
    >>> an.squeeze(an.zeros((1, 3, 1))).shape
    (3,)
    """
    x = as_tensor(x)
    axis = pick_axis(axis, dim, "squeeze")
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = normalize_axes(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: cannot select axis {a} of length {x.shape[a]} "
                                 f"(shape {x.shape}); only length-1 axes can be squeezed")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


def unsqueeze(x: TensorLike, axis: int | None = None, dim: int | None = None) -> Tensor:
    """Insert a length-one axis at ``axis`` (NumPy's ``expand_dims``).

    >>> import autonn as an
    >>> an.unsqueeze(an.zeros(3), 0).shape
    (1, 3)
    """
    x = as_tensor(x)
    axis = pick_axis(axis, dim, "unsqueeze")
    if axis is None:
        raise TypeError("unsqueeze: missing the axis argument")
    axis = normalize_axis(axis, x.ndim + 1, "unsqueeze")
    shape = x.shape[:axis] + (1,) + x.shape[axis:]
    return reshape(x, shape)


def broadcast_to(x: TensorLike, shape: Any) -> Tensor:
    """View ``x`` broadcast to ``shape`` (NumPy rules); the gradient sums back.

    >>> import autonn as an
    >>> an.broadcast_to(an.ones(3), (2, 3)).shape
    (2, 3)
    """
    x = as_tensor(x)
    shape = _shape_arg((shape,) if isinstance(shape, int) else shape, "broadcast_to")
    try:
        np.broadcast_shapes(x.shape, shape)
        if len(shape) < x.ndim or np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {x.shape} to "
                         f"{shape}") from None
    if shape == x.shape:
        return x
    return apply(BroadcastTo(shape), x)


def expand(x: TensorLike, *shape: Any) -> Tensor:
    """PyTorch's ``expand``: broadcast to ``shape``, where -1 keeps that axis's size.

    >>> import autonn as an
    >>> an.expand(an.ones((3, 1)), -1, 4).shape
    (3, 4)
    """
    x = as_tensor(x)
    shape = _shape_arg(shape, "expand")
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the target shape {shape} has fewer dimensions than {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return broadcast_to(x, shape)


def flatten(x: TensorLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` into one (all of them by default).

    >>> import autonn as an
    >>> an.flatten(an.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    s = normalize_axis(start_dim, x.ndim, "flatten")
    e = normalize_axis(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return reshape(x, shape)


def _tensors(seq, op_name):
    if isinstance(seq, Tensor):
        seq = list(seq) if seq.ndim else [seq]
    elif not isinstance(seq, (list, tuple)):
        raise TypeError(f"{op_name}: expects a sequence of tensors, got {type(seq).__name__}")
    ts = [as_tensor(t) for t in seq]
    if not ts:
        raise ValueError(f"{op_name}: need at least one tensor")
    dtype = np.result_type(*[t.data for t in ts])
    from .elementwise import cast
    return [cast(t, dtype) for t in ts]


def concatenate(seq: Sequence[TensorLike], axis: int | None = 0, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (``axis=None``: the flattened tensors, as NumPy).

    >>> import autonn as an
    >>> an.concatenate([an.ones((2, 3)), an.zeros((1, 3))]).shape
    (3, 3)
    """
    ts = _tensors(seq, "concatenate")
    if axis is None and dim is None:  # NumPy: flatten the inputs first
        ts = [reshape(t, -1) for t in ts]
    axis = pick_axis(axis, dim, "concatenate", 0)
    nd = ts[0].ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    axis = normalize_axis(axis, nd, "concatenate")
    for t in ts:
        if t.ndim != nd or t.shape[:axis] + t.shape[axis + 1:] != ts[0].shape[:axis] + ts[0].shape[axis + 1:]:
            raise ValueError(f"concatenate: shapes {[t.shape for t in ts]} do not match except "
                             f"along axis {axis}")
    return apply(Concatenate(axis), *ts)


def stack(seq: Sequence[TensorLike], axis: int = 0, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis.

    >>> import autonn as an
    >>> an.stack([an.ones(3), an.zeros(3)], axis=1).shape
    (3, 2)
    """
    ts = _tensors(seq, "stack")
    for t in ts:
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in ts]}")
    axis = normalize_axis(pick_axis(axis, dim, "stack", 0), ts[0].ndim + 1, "stack")
    return apply(Stack(axis), *ts)


def split(x: TensorLike, indices_or_sections: Any, axis: int = 0,
          dim: int | None = None) -> list[Tensor]:
    """NumPy's ``split``: ``n`` equal parts, or cut before each index in a list.

    >>> import autonn as an
    >>> [t.shape for t in an.split(an.arange(6.0), [2, 5])]
    [(2,), (3,), (1,)]
    """
    from .arrays import _split
    return _split(x, indices_or_sections, pick_axis(axis, dim, "split", 0), "split", equal=True)


_GATHER_MODES = ("edge", "reflect", "symmetric", "wrap")  # each output copies one input element


def pad(x: TensorLike, pad_width: Any, mode: Any = "constant", constant_values: Any = 0) -> Tensor:
    """NumPy's ``pad``; every mode is differentiable (constant by slicing, the others by an
    index gather whose gradient scatter-adds).

    >>> import autonn as an
    >>> an.pad(an.ones(2), 1)
    tensor([0., 1., 1., 0.])
    """
    x = as_tensor(x)
    if np.asarray(pad_width).dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must be integers, got {pad_width!r}")
    try:
        width = tuple(tuple(int(v) for v in row)
                      for row in np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {x.shape}") from None
    if any(v < 0 for row in width for v in row):
        raise ValueError(f"pad: pad_width {pad_width!r} has negative entries")
    if mode == "constant":
        return apply(Pad(width, constant_values), x)
    if mode not in _GATHER_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; use one of "
                         f"{('constant',) + _GATHER_MODES}")
    try:
        index = np.pad(np.arange(x.size).reshape(x.shape), width, mode=mode)
    except ValueError as e:
        raise ValueError(f"pad: mode {mode!r} on shape {x.shape}: {e}") from None
    return reshape(x, -1)[index]


def sum_to_axes(shape, target, op_name):
    """The axes to sum (keeping dims) so that an array of ``shape`` comes back to ``target``,
    the reverse of broadcasting; a ValueError naming ``op_name`` if it cannot.

    >>> sum_to_axes((2, 3, 4), (3, 1), "sum_to")
    (0, 2)
    """
    lead = len(shape) - len(target)
    if lead < 0 or any(s != 1 and s != xs for s, xs in zip(target, shape[lead:])):
        raise ValueError(f"{op_name}: cannot sum a tensor of shape {shape} down to {target}")
    return tuple(range(lead)) + tuple(lead + i for i, s in enumerate(target)
                                      if s == 1 and shape[lead + i] != 1)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the reverse of broadcasting); used by the engine.

    >>> import autonn as an
    >>> an.ops.sum_to(an.ones((2, 3)), (3,))
    tensor([2., 2., 2.])
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x
    axes = sum_to_axes(x.shape, shape, "sum_to")
    out = apply(Sum(axes, True), x) if axes else x
    return reshape(out, shape)


__all__ = ["reshape", "transpose", "permute", "swapaxes", "squeeze", "unsqueeze", "broadcast_to",
           "expand", "flatten", "concatenate", "stack", "split", "pad"]

"""Axis arguments: NumPy's ``axis=`` with PyTorch's ``dim=`` alias, checked with clear errors."""
import numpy as np


def pick_axis(axis, dim, op_name, default=None):
    if dim is not None:
        if axis is not None and axis != dim:
            raise TypeError(f"{op_name}: got both axis={axis} and dim={dim}; pass one")
        return dim
    return default if axis is None else axis


def normalize_axes(axis, ndim, op_name):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes; None means all."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op_name}: axis must be an int or a tuple of ints, got {a!r}")
        a = int(a)
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{op_name}: axis {a} is out of bounds for a tensor of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op_name}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


def check_flag(value, name, op_name):
    """A boolean argument (``keepdims``): a bool or an integer, as NumPy accepts; never a float
    or a string."""
    if not isinstance(value, (bool, np.bool_, int, np.integer)):
        raise TypeError(f"{op_name}: {name} must be a bool, got {value!r}")
    return bool(value)


def normalize_axis(axis, ndim, op_name):
    """A single axis as a non-negative int."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op_name}: axis must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op_name}: axis {axis} is out of bounds for a tensor of dimension {ndim}")
    return axis % ndim


def keepdims_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))

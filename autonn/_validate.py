"""Argument checks shared by the constructors: sizes are integers in range, never coerced.

A size is an ``int`` or a NumPy integer (anything with ``__index__`` except ``bool``), as NumPy
and PyTorch require: ``1.5``, ``'3'`` and ``True`` are a ``TypeError``. A size outside its range
(negative, zero where a window needs at least one element, or past what an index can hold) is a
``ValueError``. Every message names the op and the argument.

>>> from autonn._validate import check_size
>>> check_size(3, "in_features", "Linear")
3
>>> check_size(1.5, "in_features", "Linear")
Traceback (most recent call last):
    ...
TypeError: Linear: in_features must be an integer, got float 1.5
"""
import operator

import numpy as np

__all__ = ["check_pair", "check_size", "check_sizes"]

MAX_SIZE = int(np.iinfo(np.intp).max)


def check_size(value, name, op, minimum=0):
    """``value`` as a Python ``int`` in ``[minimum, MAX_SIZE]``; TypeError for a non-integer,
    ValueError out of range.

    >>> from autonn._validate import check_size
    >>> check_size(0, "kernel_size", "Conv2d", minimum=1)
    Traceback (most recent call last):
        ...
    ValueError: Conv2d: kernel_size must be at least 1, got 0
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be an integer, got bool {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an integer, got {type(value).__name__} "
                        f"{value!r:.60}") from None
    if n < minimum:
        what = "non-negative" if minimum == 0 else f"at least {minimum}"
        raise ValueError(f"{op}: {name} must be {what}, got {n}")
    if n > MAX_SIZE:
        raise ValueError(f"{op}: {name} = {n} is too large (at most {MAX_SIZE})")
    return n


def check_sizes(values, name, op, minimum=0):
    """A shape: a tuple of sizes from an integer or a sequence of integers.

    >>> from autonn._validate import check_sizes
    >>> check_sizes((2, 3), "shape", "zeros")
    (2, 3)
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return (check_size(values, name, op, minimum),)
    return tuple(check_size(v, f"{name}[{i}]", op, minimum) for i, v in enumerate(values))


def check_pair(value, name, op, minimum=0):
    """An integer or a pair of integers, as a pair (Conv2d's ``kernel_size``, ``stride``...).

    >>> from autonn._validate import check_pair
    >>> check_pair(3, "kernel_size", "Conv2d", minimum=1)
    (3, 3)
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        n = check_size(value, name, op, minimum)
        return (n, n)
    pair = check_sizes(value, name, op, minimum)
    if len(pair) != 2:
        raise ValueError(f"{op}: {name} must be an integer or a pair of integers, got {value!r}")
    return pair

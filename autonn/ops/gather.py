"""Element gathers: the ops behind every function that only moves, copies or selects elements
(``roll``, ``tile``, ``repeat``, ``take``, ``diagonal``, ``sort``...).

Such a function is NumPy's own function applied to the *positions* of the elements
(``np.arange(x.size).reshape(x.shape)``): the result says which input element each output element
copies, so NumPy's semantics and argument checks come for free. ``Gather`` reads those positions;
its adjoint ``Scatter`` adds the gradient back to them (repeated positions accumulate). Both are
linear and right for complex inputs, and each is the other's vjp, so they differentiate again.
"""
import functools

import numpy as np

from ..tensor import Tensor
from ._rules import LinearOp
from .base import apply, renamed


class Gather(LinearOp):
    """``x.ravel()[index]``: an output of ``index``'s shape."""
    __slots__ = ("index", "unique")

    def __init__(self, index, unique):
        self.index, self.unique = index, unique

    def forward(self, x):
        return np.asarray(x.reshape(-1)[self.index])

    def vjp(self, g, out, x):
        return apply(Scatter(self.index, x.shape, self.unique), g)


class Scatter(LinearOp):
    """zeros(shape) with ``g`` added at the flat positions ``index`` (Gather's adjoint)."""
    __slots__ = ("index", "shape", "unique")

    def __init__(self, index, shape, unique):
        self.index, self.shape, self.unique = index, shape, unique

    def forward(self, g):
        size = int(np.prod(self.shape))
        flat, vals = self.index.reshape(-1), g.reshape(-1)
        if self.unique:
            out = np.zeros(size, dtype=g.dtype)
            out[flat] = vals
        elif g.dtype.kind == "f":
            out = np.bincount(flat, weights=vals, minlength=size).astype(g.dtype, copy=False)
        else:
            out = np.zeros(size, dtype=g.dtype)
            np.add.at(out, flat, vals)
        return out.reshape(self.shape)

    def vjp(self, gg, out, g):
        return apply(Gather(self.index, self.unique), gg)


def positions(x):
    """The flat position of each element of ``x``, in ``x``'s shape."""
    return np.arange(x.size, dtype=np.intp).reshape(x.shape)


def numpy_call(op_name, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with NumPy's errors re-raised naming ``op_name``."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, IndexError, TypeError) as e:
        raise type(e)(f"{op_name}: {e}") from None
    except OverflowError as e:
        raise ValueError(f"{op_name}: {e}") from None


def gather(x, op_name, fn, *args, unique=True, **kwargs):
    """``fn`` (a NumPy function that only moves elements) applied to ``x`` through a Gather:
    ``fn(positions(x), *args, **kwargs)`` says where each output element comes from."""
    index = numpy_call(op_name, fn, positions(x), *args, **kwargs)
    return apply(Gather(np.asarray(index, dtype=np.intp), unique), x)


def scatter(x, shape, index, unique=True):
    """A tensor of ``shape``, zero except ``x`` placed at the flat positions ``index``."""
    return apply(Scatter(np.asarray(index, dtype=np.intp), tuple(shape), unique), x)


def is_tensor(x):
    return isinstance(x, Tensor)


def named(fn):
    """``fn`` with its errors naming it: a ValueError, TypeError or IndexError raised inside
    (say by a function it calls) is re-raised, same type, as ``"<name>: <message>"``."""
    name = fn.__name__

    @functools.wraps(fn)
    def public(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError, IndexError) as e:
            msg = str(e)
            if msg.startswith((f"{name}:", f"{name}(")):
                raise
            raise renamed(e, f"{name}: {msg}") from None
        except OverflowError as e:  # a number too large for NumPy: an invalid value
            raise ValueError(f"{name}: {e}") from None
    return public


def name_errors(namespace):
    """Wrap every function of a module's ``__all__`` with :func:`named`."""
    for n in namespace["__all__"]:
        namespace[n] = named(namespace[n])

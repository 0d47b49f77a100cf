"""Ops with several outputs (``eigh``, ``svd``, ``qr``, ``slogdet``..., and ``an.Function``s
that return tuples).

Such an op is recorded as one *pack* node (an empty array whose op is the multi-output op);
each output is a :class:`TupleItem` node on top of it. The engine hands the pack node a tuple
of gradients, one per output (None where an output was not used), and the op's ``vjp``
receives that tuple. A rule that needs the outputs as differentiable Tensors gets them from
:func:`outputs_of`, which rebuilds them on the pack node.
"""
import numpy as np

from .. import engine
from ..tensor import Tensor
from .base import Op


class TupleItem(Op):
    """Output ``index`` of a multi-output op: passes its gradient into slot ``index``."""
    __slots__ = ("index", "count")
    complex = True

    def __init__(self, index, count):
        self.index, self.count = index, count

    def vjp(self, g, out, pack):
        return (tuple(g if i == self.index else None for i in range(self.count)),)

    def jvp(self, tangents, out, pack):
        (packed,) = tangents  # the tangents of all outputs, from the multi-output node
        return None if packed is None else packed[self.index]


class MultiOp(Op):
    """Base of ops with several outputs: ``forward`` returns a tuple of arrays, kept in
    ``result`` (as ``an.Function`` does) so that the rules and forward mode can read them."""
    __slots__ = ("result",)


def apply_multi(op, *inputs):
    """Run a :class:`MultiOp` on Tensors: a tuple of output Tensors, recorded when some input
    requires grad.

    >>> import numpy as np, autonn as an
    >>> from autonn.ops.linalg_ops import Eigh
    >>> from autonn.ops.multi import apply_multi
    >>> w, v = apply_multi(Eigh("L"), an.tensor(np.diag([2.0, 1.0])))
    >>> w
    tensor([1., 2.])
    """
    try:
        results = op.forward(*[t.data for t in inputs])
    except (ValueError, np.linalg.LinAlgError) as e:
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise type(e)(f"{op.name}: {e} (input shapes: {shapes})") from None
    op.result = results
    if engine.is_grad_enabled() and any(t.requires_grad for t in inputs):
        pack = Tensor._make(np.empty(0), op, inputs)
        _check_complex(op, inputs, results)
        n = len(results)
        return tuple(Tensor._make(r, TupleItem(i, n), (pack,)) for i, r in enumerate(results))
    return tuple(Tensor._make(r) for r in results)


def _check_complex(op, inputs, results):
    if op.complex:
        return
    if any(t.dtype.kind == "c" for t in inputs) or any(r.dtype.kind == "c" for r in results):
        dtypes = ", ".join(str(t.dtype) for t in inputs)
        raise TypeError(f"{op.name}: its gradient is not defined for complex inputs (dtypes "
                        f"{dtypes}); the ops that differentiate complex numbers are listed in the docs")


def outputs_of(pack):
    """The outputs of the multi-output node ``pack`` as Tensors: nodes on ``pack`` while a
    graph is being recorded (so rules that use them differentiate again), else constants."""
    results = pack._op.result
    if engine.is_grad_enabled():
        n = len(results)
        return tuple(Tensor._make(r, TupleItem(i, n), (pack,)) for i, r in enumerate(results))
    return tuple(Tensor._make(r) for r in results)


def filled(g, results):
    """A multi-output op's tuple of gradients with zeros for the outputs that got none."""
    return tuple(Tensor._make(np.zeros_like(r)) if gi is None else gi for gi, r in zip(g, results))

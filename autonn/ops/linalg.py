"""``matmul`` with NumPy's rules for 1-D, 2-D and batched N-D operands (matmul runs on BLAS)."""
import numpy as np

from ..tensor import Tensor, as_tensor
from ._rules import sum_terms
from .base import Op, apply
from .shape import reshape, sum_to, swapaxes


class MatMul(Op):
    __slots__ = ()
    complex = True

    def forward(self, a, b):
        return np.matmul(a, b)

    def vjp(self, g, out, a, b):
        # Promote 1-D operands as NumPy does, so both rules are plain batched matmuls.
        a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
        b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
        g2 = reshape(g, _out_shape(a2, b2))
        ga = gb = None
        if a.requires_grad:
            ga = reshape(sum_to(matmul(g2, swapaxes(b2, -1, -2)), a2.shape), a.shape)
        if b.requires_grad:
            gb = reshape(sum_to(matmul(swapaxes(a2, -1, -2), g2), b2.shape), b.shape)
        return ga, gb

    def jvp(self, tangents, out, a, b):
        da, db = tangents
        return sum_terms(None if da is None else matmul(da, b),
                         None if db is None else matmul(a, db))


def _out_shape(a2, b2):
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    return batch + (a2.shape[-2], b2.shape[-1])


def matmul(a, b):
    """Matrix product with NumPy's ``matmul`` rules (1-D operands are promoted, batches broadcast).

    >>> import autonn as an
    >>> an.matmul(an.ones((2, 3)), an.ones(3))
    tensor([3., 3.])
    """
    a = as_tensor(a) if not isinstance(a, Tensor) else a
    b = as_tensor(b) if not isinstance(b, Tensor) else b
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}; use * for scalars")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: {ka} (last "
                         f"axis of the first) != {kb} (axis {-1 if b.ndim == 1 else -2} of the second)")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: the batch dimensions of shapes {a.shape} and {b.shape} do not "
                         "broadcast together") from None
    return apply(MatMul(), a, b)


__all__ = ["matmul"]

"""Helpers shared by the fused network ops."""
from ...tensor import Tensor, as_tensor


def _t(x):
    return x if isinstance(x, Tensor) else as_tensor(x)


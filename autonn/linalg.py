"""``autonn.linalg``: NumPy's ``numpy.linalg`` and the scipy.linalg solvers HIPS autograd
differentiates, on Tensors, differentiable (see ``autonn.ops.linalg_ops`` for where a gradient
does not exist).

>>> import autonn as an
>>> a = an.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> an.linalg.det(a).backward(); a.grad          # det(A) A^-T
tensor([[ 3., -1.],
        [-1.,  2.]])
"""
from .ops import linalg_ops as _numpy_linalg
from .ops import scipy_linalg as _scipy_linalg
from .ops.linalg import matmul  # noqa: F401
from .ops.linalg_ops import *  # noqa: F401,F403
from .ops.scipy_linalg import *  # noqa: F401,F403

LinAlgError = __import__("numpy").linalg.LinAlgError

# (a sum of lists, which the API reference's static reader can follow)
__all__ = _numpy_linalg.__all__ + _scipy_linalg.__all__ + ["matmul", "LinAlgError"]

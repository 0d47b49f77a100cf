"""``autonn.linalg``: NumPy's ``numpy.linalg`` and the scipy.linalg solvers HIPS autograd
differentiates, on Tensors, differentiable (see ``autonn.ops.linalg_ops`` for where a gradient
does not exist).

>>> import autonn as an
>>> a = an.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> an.linalg.det(a).backward(); a.grad          # det(A) A^-T
tensor([[ 3., -1.],
        [-1.,  2.]])
"""
from .ops.linalg import matmul  # noqa: F401
from .ops.linalg_ops import *  # noqa: F401,F403
from .ops.linalg_ops import __all__ as _numpy_linalg
from .ops.scipy_linalg import *  # noqa: F401,F403
from .ops.scipy_linalg import __all__ as _scipy_linalg

LinAlgError = __import__("numpy").linalg.LinAlgError

__all__ = list(_numpy_linalg) + list(_scipy_linalg) + ["matmul", "LinAlgError"]

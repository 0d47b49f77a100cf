"""The op library: every differentiable operation, as functions on Tensors.

Each module lists its public functions in ``__all__``; this package re-exports them all
(``autonn.ops.__all__``, which ``autonn`` re-exports in turn), and the property suite checks that
every one of them is registered in ``autonn.testing.registry``. The fused network ops are in
``autonn.ops.nn``.
"""
from . import activation, complex_parts, elementary, elementwise, index, linalg, reduce, shape
from . import arrays, cumulative, nanreduce, products, sorting
from .activation import *  # noqa: F401,F403
from .complex_parts import *  # noqa: F401,F403
from .elementary import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .arrays import *  # noqa: F401,F403
from .cumulative import *  # noqa: F401,F403
from .nanreduce import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
# internals that Tensor and the engine use
from .base import Op, apply  # noqa: F401
from .elementwise import compare  # noqa: F401
from .index import index_to_numpy  # noqa: F401
from .shape import sum_to  # noqa: F401
from . import nn  # noqa: F401,E402  (fused network ops: linear, cross_entropy, conv2d, ...)

# Rounding and piecewise functions, NumPy's names, and the functions without a gradient.
from . import logic, numpy_names, piecewise  # noqa: E402

# (a sum of the modules' lists, which the API reference's static reader can follow)
__all__ = (elementwise.__all__ + elementary.__all__ + activation.__all__ + shape.__all__
           + index.__all__ + reduce.__all__ + linalg.__all__ + complex_parts.__all__
           + arrays.__all__ + cumulative.__all__ + nanreduce.__all__ + products.__all__
           + sorting.__all__ + piecewise.__all__ + numpy_names.__all__ + logic.__all__)

from .piecewise import *  # noqa: F401,F403,E402
from .numpy_names import *  # noqa: F401,F403,E402
# last: logic's ``shape`` function takes the name of the ``shape`` module here (reach the module
# as ``from autonn.ops.shape import ...``; ``autonn.ops.shape`` is NumPy's ``shape``)
from .logic import *  # type: ignore[no-redef]  # noqa: F401,F403,E402
from .logic import shape  # type: ignore[no-redef]  # noqa: F401,E402  (for the docs' reader)

"""The op library: every differentiable operation, as functions on Tensors."""
from .base import Op, apply  # noqa: F401
from .elementwise import (add, sub, mul, div, pow, neg, cast, exp, log, sqrt, abs, sin, cos,  # noqa: F401
                          maximum, minimum, clip, where, compare)
from .activation import relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus  # noqa: F401
from .shape import (reshape, transpose, permute, swapaxes, squeeze, unsqueeze, broadcast_to,  # noqa: F401
                    expand, flatten, concatenate, stack, split, pad, sum_to)
from .index import getitem, index_to_numpy  # noqa: F401
from .reduce import (sum, mean, max, min, var, std, logsumexp, softmax, log_softmax,  # noqa: F401
                     argmax, argmin)
from .linalg import matmul  # noqa: F401
from . import nn  # noqa: F401,E402  (fused network ops: linear, cross_entropy, conv2d, ...)

"""Fused neural-network ops: ``linear`` (matmul + bias + activation as one node), ``cross_entropy``
(softmax + negative log-likelihood as one node), ``nll_loss``, ``conv2d`` (im2col + one BLAS
matmul) and ``max_pool2d``.

Forwards run on NumPy/BLAS and ``autonn.kernels``. Every gradient rule is written in autonn ops,
so second derivatives work. Rules that need more than the saved arrays for a second derivative
(the pre-activation of ``linear``, the softmax of ``cross_entropy``) rebuild that value as ops
only when the graph of the gradient is recorded (``create_graph=True``, seen inside ``vjp`` as
``is_grad_enabled()``); a plain backward uses the saved arrays and the fused kernels directly.

Conventions: PyTorch's semantics with autonn's row-vector layout for ``linear``
(``weight`` is ``(in_features, out_features)``); NCHW and ``weight (out, in, kh, kw)`` for conv.
"""
from .conv import conv2d
from .linear_act import ACTIVATIONS, linear, _linear_fused  # noqa: F401
from .losses import cross_entropy, nll_loss, _cross_entropy_labels  # noqa: F401
from .pooling import max_pool2d

__all__ = ["linear", "cross_entropy", "nll_loss", "conv2d", "max_pool2d", "ACTIVATIONS"]

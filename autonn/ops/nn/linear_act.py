"""``linear``: matmul + bias + activation as one graph node (row-vector layout: ``weight``
is ``(in_features, out_features)``)."""
import numpy as np

from ... import engine, kernels
from ...tensor import Tensor, as_tensor
from .._rules import sum_terms
from ..activation import EluGrad, GeluGrad, LeakyReluGrad, ReluGrad, SigmoidGrad, SoftplusGrad, TanhGrad
from ..base import Op, apply, const
from ..linalg import MatMul
from ..shape import Reshape, Sum, Transpose, reshape

ACTIVATIONS = tuple(kernels.ACTIVATIONS)
_ACT_SET = frozenset(ACTIVATIONS)
_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}
_SOFTPLUS = (1.0, 20.0)  # (beta, threshold) of the fused softplus
# activation -> (grad op, whether it takes y (the output) instead of pre)
_GRAD = {
    "relu": (ReluGrad, False),
    "leaky_relu": (LeakyReluGrad, False),
    "elu": (EluGrad, False),
    "gelu": (GeluGrad, False),
    "softplus": (SoftplusGrad, False),
    "sigmoid": (SigmoidGrad, True),
    "tanh": (TanhGrad, True),
}
# activations whose second derivative needs the pre-activation as a graph node
_NEEDS_PRE = frozenset(("elu", "gelu", "softplus"))
# (x requires grad, W requires grad) -> the inputs the rules read: W for dx, x for dW
_READS = {(True, True): (0, 1), (True, False): (1,), (False, True): (0,), (False, False): ()}
_USES_Y = frozenset(a for a, (_, uses_y) in _GRAD.items() if uses_y)
_matmul = np.matmul


def _mm(a, b):
    return apply(MatMul(), a, b)


def _T(a):
    return apply(Transpose((1, 0)), a)


def _sum0(a):
    return apply(Sum((0,), False), a)



class LinearAct(Op):
    """``y = act(x @ W + b)`` for 2-D ``x``; one node. Inputs ``(x, W)`` or ``(x, W, b)``."""
    __slots__ = ("act", "alpha", "pre", "x_grad", "w_grad", "saved_inputs", "saves_output")

    def __init__(self, act, alpha, x_grad=True, w_grad=True):
        """``x_grad``/``w_grad``: whether x and W required grad when the node was made (the
        gradients the rules compute, as PyTorch fixes them in the forward pass)."""
        self.act, self.alpha, self.pre = act, alpha, None
        self.x_grad, self.w_grad = x_grad, w_grad
        # the rules read W for x's gradient and x for W's, the bias only to rebuild the
        # pre-activation for a second derivative, and the output only for sigmoid and tanh;
        # the pre-activation is kept here (self.pre), out of the user's reach
        self.saved_inputs = None if act in _NEEDS_PRE else _READS[x_grad, w_grad]
        self.saves_output = act in _USES_Y

    def forward(self, x, W, b=None):
        pre, y = kernels._linear_act(x, W, b, self.act, self.alpha)  # act checked by linear()
        self.pre = None if self.act in ("sigmoid", "tanh") else pre  # those rules use y
        return y

    def _grad_op(self):
        cls, uses_y = _GRAD[self.act]
        if self.act == "softplus":
            return cls(_SOFTPLUS), uses_y
        return cls(self.alpha if self.act in _DEFAULT_ALPHA else None), uses_y

    def _pre_tensor(self, x, W, b):
        """The pre-activation as a Tensor: a graph node when a second derivative needs it."""
        if self.act in _NEEDS_PRE and engine.is_grad_enabled():
            pre = _mm(x, W)
            return pre if b is None else pre + b
        return const(self.pre)

    def _dpre(self, g, out, x, W, b):
        """act'(pre) * g as an op (differentiable in g, and in pre/out where it matters)."""
        if self.act == "identity":
            return g
        op, uses_y = self._grad_op()
        return apply(op, out if uses_y else self._pre_tensor(x, W, b), g)

    def vjp_arrays(self, g, out, x, W, b=None):
        """The plain backward: the fused activation-backward kernel and BLAS, on arrays."""
        act = self.act
        dpre = g if act == "identity" else \
            kernels.act_backward(act, self.pre, out.data if act in _USES_Y else None, g,
                                 self.alpha)
        # np.matmul, not np.dot: with a transposed operand dot is up to 1.3x slower here
        return (_matmul(dpre, W.data.T) if self.x_grad and x._requires_grad else None,
                _matmul(x.data.T, dpre) if self.w_grad and W._requires_grad else None,
                np.add.reduce(dpre, axis=0) if b is not None and b._requires_grad else None)

    def vjp(self, g, out, x, W, b=None):
        if not engine.is_grad_enabled():  # called directly (autonn.func): the array rule
            return tuple(None if a is None else Tensor._make(a)
                         for a in self.vjp_arrays(g.data, out, x, W, b))
        dpre = self._dpre(g, out, x, W, b)
        return (_mm(dpre, _T(W)) if self.x_grad and x.requires_grad else None,
                _mm(_T(x), dpre) if self.w_grad and W.requires_grad else None,
                _sum0(dpre) if b is not None and b.requires_grad else None)

    def jvp(self, tangents, out, x, W, b=None):
        dx, dW = tangents[0], tangents[1]
        db = tangents[2] if len(tangents) > 2 else None
        dpre = sum_terms(*[_mm(dx, W) if dx is not None else None,
                           _mm(x, dW) if dW is not None else None, db])
        if dpre is None:
            return None
        return self._dpre(dpre, out, x, W, b)


def _check_activation(activation, op_name):
    if activation not in ACTIVATIONS:
        raise ValueError(f"{op_name}: unknown activation {activation!r}; expected one of "
                         f"{', '.join(repr(a) for a in ACTIVATIONS)}")


def linear(x, weight, bias=None, activation="identity", alpha=None):
    """``activation(x @ weight + bias)`` as one fused graph node (``weight`` is ``(in, out)``).

    ``x`` is ``(..., in)``; leading axes are flattened for the matmul and restored. ``activation``
    is one of ``'identity' 'relu' 'leaky_relu' 'elu' 'gelu' 'sigmoid' 'tanh' 'softplus'``;
    ``alpha`` is the leaky_relu slope (default 0.01) or the elu alpha (default 1.0), as PyTorch;
    softplus uses beta=1, threshold=20.

    >>> import autonn as an
    >>> from autonn.ops.nn import linear
    >>> x = an.tensor([[1.0, -2.0]]); W = an.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> linear(x, W, an.tensor([0.5, 0.5]), activation="relu")
    tensor([[1.5, 0. ]])
    """
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    if not isinstance(weight, Tensor):
        weight = as_tensor(weight)
    if activation not in _ACT_SET:
        _check_activation(activation, "linear")
    w_shape, x_shape = weight.data.shape, x.data.shape
    if len(w_shape) != 2:
        raise ValueError(f"linear: weight must be 2-D (in_features, out_features), got shape "
                         f"{w_shape} (input shape {x_shape})")
    n_in, n_out = w_shape
    if not x_shape or x_shape[-1] != n_in:
        raise ValueError(f"linear: input shape {x_shape} does not match weight shape "
                         f"{w_shape}: the input's last axis must be in_features={n_in} "
                         "(weight is (in_features, out_features))")
    if bias is None:
        inputs = (x, weight)
    else:
        if not isinstance(bias, Tensor):
            bias = as_tensor(bias)
        if bias.data.shape != (n_out,):
            if bias.size == n_out and bias.ndim == 2 and bias.shape[-1] == n_out:
                bias = reshape(bias, (n_out,))  # a (1, out) row bias, as the seed keeps it
            else:
                raise ValueError(f"linear: bias shape {bias.shape} does not match weight shape "
                                 f"{weight.shape}: expected ({n_out},) (input shape {x.shape})")
        inputs = (x, weight, bias)
    if alpha is None:
        alpha = _DEFAULT_ALPHA.get(activation, 0.0)
    op = LinearAct(activation, float(alpha), x._requires_grad, weight._requires_grad)
    if len(x_shape) == 2:
        return apply(op, *inputs)
    lead = x_shape[:-1]
    x2 = apply(Reshape((int(np.prod(lead, dtype=np.int64)), n_in)), x)
    y = apply(op, x2, *inputs[1:])
    return apply(Reshape(lead + (n_out,)), y)


def _linear_fused(x, weight, bias, activation, alpha, x_hidden=False):
    """:func:`linear` for ``Sequential``'s fused steps, whose activation name is valid: a 2-D
    input with matching Tensor weight and bias goes straight to the node; anything else (and
    every error message) takes :func:`linear`. ``x_hidden``: ``x`` is the output of the step
    before, which nothing outside the graph can reach (so nothing can write it): it is not
    held read-only."""
    if isinstance(x, Tensor) and isinstance(weight, Tensor):
        x_shape, w_shape = x.data.shape, weight.data.shape
        if len(x_shape) == 2 and len(w_shape) == 2 and x_shape[1] == w_shape[0]:
            if bias is None or (isinstance(bias, Tensor) and bias.data.shape == w_shape[1:]):
                x_grad, w_grad = x._requires_grad, weight._requires_grad
                op = LinearAct(activation, float(alpha), x_grad, w_grad)
                if x_hidden and w_grad and op.saved_inputs is not None:
                    op.saved_inputs = _READS[x_grad, False]  # (W still, for x's gradient)
                if bias is None:
                    return apply(op, x, weight)
                return apply(op, x, weight, bias)
    return linear(x, weight, bias, activation, alpha)


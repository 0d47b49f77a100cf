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
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import engine, kernels
from ..tensor import Tensor, as_tensor
from .activation import (EluGrad, GeluGrad, LeakyReluGrad, ReluGrad, SigmoidGrad,
                         SoftplusGrad, TanhGrad)
from .base import Op, apply, const
from .elementwise import _MaskedLinear, exp
from .index import GetItem, ScatterAdd
from .linalg import MatMul
from .reduce import LogSoftmax
from .shape import Reshape, Sum, Transpose, reshape, transpose

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
_REDUCTIONS = ("mean", "sum", "none")
_I64 = np.dtype(np.int64)
_matmul = np.matmul
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_arange = kernels._ref._arange  # cached read-only np.arange(n), for row gathers
_row_starts = kernels._ref._row_starts  # cached read-only np.arange(n) * C


def _t(x):
    return x if isinstance(x, Tensor) else as_tensor(x)


def _mm(a, b):
    return apply(MatMul(), a, b)


def _T(a):
    return apply(Transpose((1, 0)), a)


def _sum0(a):
    return apply(Sum((0,), False), a)


def _add_terms(parts):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


# =========================================================================== linear
class LinearAct(Op):
    """``y = act(x @ W + b)`` for 2-D ``x``; one node. Inputs ``(x, W)`` or ``(x, W, b)``."""
    __slots__ = ("act", "alpha", "pre")

    def __init__(self, act, alpha):
        self.act, self.alpha, self.pre = act, alpha, None

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
            kernels.act_backward(act, self.pre, out.data, g, self.alpha)
        # np.matmul, not np.dot: with a transposed operand dot is up to 1.3x slower here
        return (_matmul(dpre, W.data.T) if x._requires_grad else None,
                _matmul(x.data.T, dpre) if W._requires_grad else None,
                np.add.reduce(dpre, axis=0) if b is not None and b._requires_grad else None)

    def vjp(self, g, out, x, W, b=None):
        if not engine.is_grad_enabled():  # called directly (autonn.func): the array rule
            return tuple(None if a is None else Tensor._make(a)
                         for a in self.vjp_arrays(g.data, out, x, W, b))
        dpre = self._dpre(g, out, x, W, b)
        return (_mm(dpre, _T(W)) if x.requires_grad else None,
                _mm(_T(x), dpre) if W.requires_grad else None,
                _sum0(dpre) if b is not None and b.requires_grad else None)

    def jvp(self, tangents, out, x, W, b=None):
        dx, dW = tangents[0], tangents[1]
        db = tangents[2] if len(tangents) > 2 else None
        dpre = _add_terms([_mm(dx, W) if dx is not None else None,
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
    op = LinearAct(activation, float(alpha))
    if len(x_shape) == 2:
        return apply(op, *inputs)
    lead = x_shape[:-1]
    x2 = apply(Reshape((int(np.prod(lead, dtype=np.int64)), n_in)), x)
    y = apply(op, x2, *inputs[1:])
    return apply(Reshape(lead + (n_out,)), y)


def _linear_fused(x, weight, bias, activation, alpha):
    """:func:`linear` for ``Sequential``'s fused steps, whose activation name is valid: a 2-D
    input with matching Tensor weight and bias goes straight to the node; anything else (and
    every error message) takes :func:`linear`."""
    if isinstance(x, Tensor) and isinstance(weight, Tensor):
        x_shape, w_shape = x.data.shape, weight.data.shape
        if len(x_shape) == 2 and len(w_shape) == 2 and x_shape[1] == w_shape[0]:
            if bias is None:
                return apply(LinearAct(activation, float(alpha)), x, weight)
            if isinstance(bias, Tensor) and bias.data.shape == w_shape[1:]:
                return apply(LinearAct(activation, float(alpha)), x, weight, bias)
    return linear(x, weight, bias, activation, alpha)


# ==================================================================== cross entropy
def _check_reduction(reduction, op_name):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op_name}: reduction must be one of 'mean', 'sum', 'none', got "
                         f"{reduction!r}")


def _reduce_array(losses, reduction):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.asarray(losses.sum(), dtype=losses.dtype)
    if losses.size == 0:
        return np.asarray(np.nan, dtype=losses.dtype)
    return np.asarray(losses.mean(), dtype=losses.dtype)


def _reduce_tensor(losses, reduction, count):
    if reduction == "none":
        return losses
    total = apply(Sum(tuple(range(losses.ndim)), False), losses)
    if reduction == "sum":
        return total
    return total / count if count else total * np.nan  # an int count: exact in any dtype


class SoftmaxCrossEntropy(Op):
    """Cross entropy of ``(n, C)`` logits with int labels, the reduction fused in: one node.

    With label smoothing ``eps`` the target distribution is ``(1 - eps) onehot + eps / C``.
    """
    __slots__ = ("labels", "reduction", "smoothing", "lp", "flat")

    def __init__(self, labels, reduction, smoothing):
        self.labels, self.reduction, self.smoothing, self.lp = labels, reduction, smoothing, None
        self.flat = None

    def forward(self, logits):
        # the labels were validated by cross_entropy (int64, in range): no second check here
        self.lp = lp = kernels._cross_entropy_logprobs(logits)
        n, C = lp.shape
        # flat positions of the labels in lp (1-D fancy indexing is ~3x faster than 2-D)
        self.flat = flat = _row_starts(n, C) + self.labels
        picked = lp.reshape(-1)[flat] if C else lp[_arange(n), self.labels]
        eps = self.smoothing
        dt = lp.dtype
        if not eps and self.reduction != "none" and picked.size and (dt == _F32 or dt == _F64):
            # -sum(picked) == sum(-picked) exactly, and the division is ndarray.mean's (in
            # float64 by the count, then cast): the bits of _reduce_array without the per-row
            # losses, and without NumPy scalar arithmetic (slow)
            total = -float(np.add.reduce(picked))  # exact: a float32/float64 in a double
            if self.reduction == "mean":
                total /= picked.size  # one double division rounded once to dt, as mean's
            return np.asarray(total, dtype=dt)
        losses = np.negative(picked)
        if eps:
            losses = (1 - eps) * losses - eps * lp.mean(axis=1) if lp.shape[1] else losses
        return _reduce_array(losses, self.reduction)

    def _target(self, dtype):
        n, C = self.lp.shape
        eps = self.smoothing
        q = np.full((n, C), eps / C, dtype=dtype) if eps else np.zeros((n, C), dtype=dtype)
        q[np.arange(n), self.labels] += 1 - eps
        return q

    def _row_scale(self, g):
        """g as a factor broadcasting against the (n, C) gradient."""
        n = self.lp.shape[0]
        if self.reduction == "none":
            return apply(Reshape((n, 1)), g)
        return g / n if self.reduction == "mean" and n else g

    def _softmax_minus_target(self, logits):
        p = exp(apply(LogSoftmax(1), logits))  # a graph node, so this differentiates again
        return p - const(self._target(p.dtype))

    def vjp(self, g, out, logits):
        if engine.is_grad_enabled():
            return self._softmax_minus_target(logits) * self._row_scale(g)
        return Tensor._make(self.vjp_arrays(g.data, out, logits))

    def vjp_arrays(self, g, out, logits):
        """The plain backward: softmax minus the target, scaled, from the kept log-probs."""
        lp = self.lp
        n = lp.shape[0]
        if self.reduction == "none":
            rows = g.astype(lp.dtype, copy=False)
        elif not self.smoothing:  # one factor for every row: no (n,) array of it
            rows = lp.dtype.type(g / n if self.reduction == "mean" and n else g)
            return kernels._cross_entropy_grad(lp, self.labels, rows, self.flat)
        else:
            rows = np.full(n, g / n if self.reduction == "mean" and n else g, dtype=lp.dtype)
        if not self.smoothing:
            return kernels._cross_entropy_grad(lp, self.labels, rows)
        return (np.exp(lp) - self._target(lp.dtype)) * rows[:, None]

    def jvp(self, tangents, out, logits):
        (dl,) = tangents
        if dl is None:
            return None
        per_row = apply(Sum((1,), False), self._softmax_minus_target(logits) * dl)
        return _reduce_tensor(per_row, self.reduction, self.lp.shape[0])


def _labels_array(target, op_name):
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: class-index targets must be integers, got dtype {t.dtype} "
                        f"(shape {t.shape})")
    return t


def _labels_in_range(labels, C):
    """All integer labels in [0, C): the only label check of the op, one max over the labels
    seen as unsigned (a negative label becomes huge)."""
    return not labels.size or np.maximum.reduce(labels.view(_UNSIGNED[labels.dtype.itemsize]),
                                                axis=None) < C


def _class_layout(x, labels, op_name):
    """``x`` (N, C, d...) / (C,) and labels (N, d...) / () as (M, C) and (M,); also the labels'
    shape (the shape of the unreduced loss)."""
    if x.ndim == 1:
        if labels.ndim != 0:
            raise ValueError(f"{op_name}: input shape {x.shape} (one sample, C={x.shape[0]}) "
                             f"needs a scalar target, got shape {labels.shape}")
        return reshape(x, (1, x.shape[0])), labels.reshape(1), ()
    if x.ndim == 0:
        raise ValueError(f"{op_name}: input must be (N, C), (C,) or (N, C, d1, ...), got a scalar")
    expected = (x.shape[0],) + x.shape[2:]
    if labels.shape != expected:
        raise ValueError(f"{op_name}: input shape {x.shape} needs a target of shape {expected}, "
                         f"got {labels.shape}")
    C, shape = x.shape[1], x.shape
    if x.ndim > 2:  # move the class axis last, then flatten
        x = transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
        x = reshape(x, (-1, C))
        labels = labels.reshape(-1)
    if not _labels_in_range(labels, C):
        bad = (labels < 0) | (labels >= C)
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{op_name}: label {labels[first]} at index {first} is out of range "
                         f"for C={C} classes (valid: 0..{C - 1}); input shape {shape}")
    return x, labels if labels.dtype == _I64 else labels.astype(np.int64), expected


def _cross_entropy_labels(logits, labels, reduction):
    """:func:`cross_entropy` of a Tensor of ``(N, C)`` float logits and ``(N,)`` int64 labels in
    range, without label smoothing (the common case, checked once); None for anything else,
    which then takes the general path (and its error messages)."""
    x = logits.data
    if (x.ndim != 2 or labels.dtype != _I64 or labels.shape != x.shape[:1] or x.dtype.kind != "f"
            or reduction not in _REDUCTIONS):
        return None
    if not _labels_in_range(labels, x.shape[1]):
        return None  # the general path raises, naming the label
    return apply(SoftmaxCrossEntropy(labels, reduction, 0.0), logits)


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0):
    """Cross entropy of unnormalised ``logits`` and a target, as ``torch.nn.functional.cross_entropy``.

    ``logits`` is ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``. ``target`` holds integer class
    labels (``(N,)``, a scalar, ``(N, d1, ...)``; softmax and loss are one fused node) or class
    probabilities of the logits' shape (differentiable with respect to both).
    ``reduction`` is ``'mean'`` (over all samples), ``'sum'`` or ``'none'``.

    >>> import autonn as an
    >>> from autonn.ops.nn import cross_entropy
    >>> round(cross_entropy(an.tensor([[0.0, 0.0]]), an.tensor([1])).item(), 4)
    0.6931
    """
    logits = _t(logits)
    _check_reduction(reduction, "cross_entropy")
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    tdata = target.data if isinstance(target, Tensor) else np.asarray(target)
    if tdata.dtype.kind == "f" and tdata.shape == logits.shape and logits.ndim >= 1:
        return _soft_cross_entropy(logits, _t(target), reduction, eps)
    if tdata.dtype.kind == "f":
        raise TypeError(f"cross_entropy: float targets must be class probabilities of the logits' "
                        f"shape {logits.shape}, got shape {tdata.shape}; class-index targets must "
                        "be integers")
    labels = _labels_array(tdata, "cross_entropy")
    x2, labels, loss_shape = _class_layout(logits, labels, "cross_entropy")
    loss = apply(SoftmaxCrossEntropy(labels, reduction, eps), x2)
    if reduction == "none" and loss_shape != loss.shape:
        loss = reshape(loss, loss_shape)
    return loss


def _soft_cross_entropy(logits, q, reduction, eps):
    axis = 0 if logits.ndim == 1 else 1
    C = logits.shape[axis]
    if eps:
        q = q * (1 - eps) + eps / C
    lp = apply(LogSoftmax(axis), logits)
    losses = -apply(Sum((axis,), False), q * lp)
    count = losses.size
    return _reduce_tensor(losses, reduction, count)


def nll_loss(log_probs, target, reduction="mean"):
    """Negative log-likelihood ``-log_probs[i, target[i]]``, as ``torch.nn.functional.nll_loss``.

    ``log_probs`` is ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)`` (usually a ``log_softmax``);
    ``target`` holds integer class labels.

    >>> import autonn as an
    >>> from autonn.ops.nn import nll_loss
    >>> nll_loss(an.tensor([[-1.0, -2.0], [-3.0, -0.5]]), an.tensor([0, 1]))
    tensor(0.75)
    """
    log_probs = _t(log_probs)
    _check_reduction(reduction, "nll_loss")
    labels = _labels_array(target, "nll_loss")
    x2, labels, loss_shape = _class_layout(log_probs, labels, "nll_loss")
    m = labels.shape[0]
    losses = -apply(GetItem((np.arange(m), labels)), x2)
    if reduction == "none":
        return reshape(losses, loss_shape) if loss_shape != losses.shape else losses
    return _reduce_tensor(losses, reduction, m)


# ============================================================================ conv2d
def _pair(v, name, op_name, minimum):
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v), int(v))
    else:
        try:
            v = tuple(int(a) for a in v)
        except TypeError:
            raise TypeError(f"{op_name}: {name} must be an int or a pair of ints, got {v!r}") from None
        if len(v) != 2:
            raise ValueError(f"{op_name}: {name} must be an int or a pair of ints, got {v!r}")
    if min(v) < minimum:
        raise ValueError(f"{op_name}: {name} must be >= {minimum}, got {v}")
    return v


class _Geom:
    """Stride, padding ((top, bottom), (left, right)) and dilation of a convolution."""
    __slots__ = ("stride", "pad", "dilation")

    def __init__(self, stride, pad, dilation):
        self.stride, self.pad, self.dilation = stride, pad, dilation

    def padded(self, x, value=0):
        (pt, pb), (pl, pr) = self.pad
        if not (pt or pb or pl or pr):
            return x
        N, C, H, W = x.shape
        out = np.full((N, C, H + pt + pb, W + pl + pr), value, dtype=x.dtype)
        out[:, :, pt:pt + H, pl:pl + W] = x
        return out

    def out_size(self, H, W, kh, kw):
        (pt, pb), (pl, pr) = self.pad
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return ((H + pt + pb - dh * (kh - 1) - 1) // sh + 1,
                (W + pl + pr - dw * (kw - 1) - 1) // sw + 1)

    def windows(self, xp, kh, kw, Ho, Wo):
        """Read-only view (N, C, kh, kw, Ho, Wo) of the padded input's receptive fields."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        s0, s1, s2, s3 = xp.strides
        N, C = xp.shape[:2]
        return as_strided(xp, (N, C, kh, kw, Ho, Wo),
                          (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw), writeable=False)

    def im2col(self, x, kh, kw):
        """Columns (C*kh*kw, N*Ho*Wo) of ``x`` (N, C, H, W), and (Ho, Wo): one GEMM per op."""
        N, C, H, W = x.shape
        Ho, Wo = self.out_size(H, W, kh, kw)
        win = self.windows(self.padded(x), kh, kw, Ho, Wo)
        return win.transpose(1, 2, 3, 0, 4, 5).reshape(C * kh * kw, N * Ho * Wo), (Ho, Wo)

    def col2im(self, cols, x_shape, kh, kw, Ho, Wo):
        """Adjoint of im2col: scatter-add columns (C*kh*kw, N*Ho*Wo) into an (N, C, H, W) array."""
        N, C, H, W = x_shape
        (pt, pb), (pl, pr) = self.pad
        (sh, sw), (dh, dw) = self.stride, self.dilation
        out = np.zeros((N, C, H + pt + pb, W + pl + pr), dtype=cols.dtype)
        view = out.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp), matching the columns' layout
        c6 = cols.reshape(C, kh, kw, N, Ho, Wo)
        for i in range(kh):
            r = i * dh
            for j in range(kw):
                c = j * dw
                view[:, :, r:r + sh * (Ho - 1) + 1:sh, c:c + sw * (Wo - 1) + 1:sw] += c6[:, i, j]
        if pt or pb or pl or pr:
            out = np.ascontiguousarray(out[:, :, pt:pt + H, pl:pl + W])
        return out


def _rows_of(g):
    """(N, O, Ho, Wo) -> (O, N*Ho*Wo), the layout of a convolution's GEMM output."""
    N, O, Ho, Wo = g.shape
    return g.transpose(1, 0, 2, 3).reshape(O, N * Ho * Wo)


def _bilinear_jvp(op, tangents, a, b):
    da, db = tangents[0], tangents[1]
    return _add_terms([apply(op, da, b) if da is not None else None,
                       apply(op, a, db) if db is not None else None])


class Conv2d(Op):
    """2-D cross-correlation, NCHW; inputs ``(x, W)`` or ``(x, W, b)``. im2col + one batched GEMM."""
    __slots__ = ("geom",)

    def __init__(self, geom):
        self.geom = geom

    def forward(self, x, W, b=None):
        N = x.shape[0]
        O, C, kh, kw = W.shape
        cols, (Ho, Wo) = self.geom.im2col(x, kh, kw)
        y = np.dot(W.reshape(O, C * kh * kw), cols)  # (O, N*Ho*Wo)
        if b is not None:
            y += b.reshape(O, 1).astype(y.dtype, copy=False)
        return np.ascontiguousarray(y.reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3))

    def vjp(self, g, out, x, W, b=None):
        dx = apply(Conv2dInputGrad(self.geom, x.shape), g, W) if x.requires_grad else None
        dW = apply(Conv2dWeightGrad(self.geom, W.shape), x, g) if W.requires_grad else None
        db = apply(Sum((0, 2, 3), False), g) if b is not None and b.requires_grad else None
        return dx, dW, db

    def jvp(self, tangents, out, x, W, b=None):
        conv = Conv2d(self.geom)
        parts = [_bilinear_jvp(conv, tangents, x, W)]
        if b is not None and tangents[2] is not None:
            parts.append(apply(Reshape((b.shape[0], 1, 1)), tangents[2]))
        return _add_terms(parts)


class Conv2dInputGrad(Op):
    """``dx`` of a convolution from ``(g, W)`` (col2im of ``W^T g``); bilinear in (g, W)."""
    __slots__ = ("geom", "x_shape")

    def __init__(self, geom, x_shape):
        self.geom, self.x_shape = geom, x_shape

    def forward(self, g, W):
        N, O, Ho, Wo = g.shape
        _, C, kh, kw = W.shape
        cols = np.dot(W.reshape(O, C * kh * kw).T, _rows_of(g))
        return self.geom.col2im(cols, self.x_shape, kh, kw, Ho, Wo)

    def vjp(self, gg, out, g, W):
        dg = apply(Conv2d(self.geom), gg, W) if g.requires_grad else None
        dW = apply(Conv2dWeightGrad(self.geom, W.shape), gg, g) if W.requires_grad else None
        return dg, dW

    def jvp(self, tangents, out, g, W):
        return _bilinear_jvp(Conv2dInputGrad(self.geom, self.x_shape), tangents, g, W)


class Conv2dWeightGrad(Op):
    """``dW`` of a convolution from ``(x, g)``; bilinear in (x, g)."""
    __slots__ = ("geom", "w_shape")

    def __init__(self, geom, w_shape):
        self.geom, self.w_shape = geom, w_shape

    def forward(self, x, g):
        O, C, kh, kw = self.w_shape
        cols, _ = self.geom.im2col(x, kh, kw)
        return np.dot(_rows_of(g), cols.T).reshape(self.w_shape)

    def vjp(self, ww, out, x, g):
        dx = apply(Conv2dInputGrad(self.geom, x.shape), g, ww) if x.requires_grad else None
        dg = apply(Conv2d(self.geom), x, ww) if g.requires_grad else None
        return dx, dg

    def jvp(self, tangents, out, x, g):
        return _bilinear_jvp(Conv2dWeightGrad(self.geom, self.w_shape), tangents, x, g)


def _conv_padding(padding, kernel, dilation, stride):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"conv2d: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = _pair(padding, "padding", "conv2d", 0)
    return ((ph, ph), (pw, pw))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation) as ``torch.nn.functional.conv2d``.

    ``x`` is ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``), ``weight`` is
    ``(C_out, C_in, kh, kw)``, ``bias`` ``(C_out,)``. ``stride``, ``padding`` (zeros) and
    ``dilation`` are ints or pairs; ``padding`` may also be ``'valid'`` or ``'same'``.

    >>> import autonn as an
    >>> from autonn.ops.nn import conv2d
    >>> y = conv2d(an.ones((1, 1, 3, 3)), an.ones((2, 1, 2, 2)), padding=1)
    >>> y.shape, y[0, 0, 1, 1].item()
    ((1, 2, 4, 4), 4.0)
    """
    x, weight = _t(x), _t(weight)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got "
                         f"shape {weight.shape} (input shape {x.shape})")
    unbatched = x.ndim == 3
    if x.ndim not in (3, 4):
        raise ValueError(f"conv2d: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape "
                         f"{x.shape} (weight shape {weight.shape})")
    if unbatched:
        x = reshape(x, (1,) + x.shape)
    O, Cw, kh, kw = weight.shape
    N, C, H, W = x.shape
    if C != Cw:
        raise ValueError(f"conv2d: input shape {x.shape} has {C} channels but weight shape "
                         f"{weight.shape} expects {Cw} input channels (weight is "
                         "(out_channels, in_channels, kh, kw))")
    stride = _pair(stride, "stride", "conv2d", 1)
    dilation = _pair(dilation, "dilation", "conv2d", 1)
    geom = _Geom(stride, _conv_padding(padding, (kh, kw), dilation, stride), dilation)
    (pt, pb), (pl, pr) = geom.pad
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > H + pt + pb or ew > W + pl + pr or kh == 0 or kw == 0:
        raise ValueError(f"conv2d: kernel size ({kh}, {kw}) with dilation {dilation} (effective "
                         f"({eh}, {ew})) is larger than the padded input ({H + pt + pb}, "
                         f"{W + pl + pr}); input shape {x.shape}, weight shape {weight.shape}")
    inputs = (x, weight)
    if bias is not None:
        bias = _t(bias)
        if bias.shape != (O,):
            raise ValueError(f"conv2d: bias shape {bias.shape} does not match weight shape "
                             f"{weight.shape}: expected ({O},)")
        inputs += (bias,)
    y = apply(Conv2d(geom), *inputs)
    return reshape(y, y.shape[1:]) if unbatched else y


# ======================================================================== max_pool2d
class MaxPool2d(Op):
    """Max over windows; the gradient goes to the first maximum of each window (row-major), as
    PyTorch. The winners are kept as flat indices into x; the rule is a ScatterAdd of them (whose
    own rule is a GetItem), so second derivatives come for free."""
    __slots__ = ("kernel", "geom", "ceil_mode", "flat", "keep")

    def __init__(self, kernel, geom, ceil_mode):
        self.kernel, self.geom, self.ceil_mode = kernel, geom, ceil_mode
        self.flat = self.keep = None

    def out_size(self, H, W):
        sizes = []
        for n, k, s, (p, _), d in zip((H, W), self.kernel, self.geom.stride, self.geom.pad,
                                      self.geom.dilation):
            span = n + 2 * p - d * (k - 1) - 1
            o = (-(-span // s) if self.ceil_mode else span // s) + 1
            if self.ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside
                o -= 1
            sizes.append(o)
        return tuple(sizes)

    def forward(self, x):
        N, C, H, W = x.shape
        kh, kw = self.kernel
        (sh, sw), (dh, dw) = self.geom.stride, self.geom.dilation
        ph, pw = self.geom.pad[0][0], self.geom.pad[1][0]
        Ho, Wo = self.out_size(H, W)
        extra_h = max(0, (Ho - 1) * sh + dh * (kh - 1) + 1 - (H + 2 * ph))
        extra_w = max(0, (Wo - 1) * sw + dw * (kw - 1) + 1 - (W + 2 * pw))
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        geom = _Geom((sh, sw), ((ph, ph + extra_h), (pw, pw + extra_w)), (dh, dw))
        win = geom.windows(geom.padded(x, fill), kh, kw, Ho, Wo)  # (N, C, kh, kw, Ho, Wo)
        k = win.reshape(N, C, kh * kw, Ho, Wo).argmax(axis=2)     # first maximum, as PyTorch
        ki, kj = np.divmod(k, kw)
        r0 = (np.arange(Ho) * sh - ph)[:, None]
        c0 = np.arange(Wo) * sw - pw
        rows, cols = r0 + ki * dh, c0 + kj * dw
        empty = None
        if ph or pw or extra_h or extra_w:
            bad = (rows < 0) | (rows >= H) | (cols < 0) | (cols >= W)
            if bad.any():  # a padding cell won: the window's real cells are all -inf (or the
                # dtype's minimum); take the window's first real cell instead
                fi, fj = np.maximum(0, -(r0 // dh)), np.maximum(0, -(c0 // dw))
                rows = np.where(bad, r0 + fi * dh, rows)
                cols = np.where(bad, c0 + fj * dw, cols)
                # with dilation a window can hold no real cell at all: its output is the fill
                # value and it passes no gradient
                empty = bad & ~(((fi < kh) & (r0 + fi * dh < H)) & ((fj < kw) & (c0 + fj * dw < W)))
                if empty.any():
                    rows, cols = np.where(empty, 0, rows), np.where(empty, 0, cols)
                else:
                    empty = None
        planes = (np.arange(N).reshape(N, 1, 1, 1) * C + np.arange(C).reshape(1, C, 1, 1)) * (H * W)
        self.flat = (planes + rows * W + cols).reshape(-1)
        self.keep = None if empty is None else (~empty).astype(x.dtype)
        y = np.ascontiguousarray(x).reshape(-1)[self.flat].reshape(N, C, Ho, Wo)
        return y if empty is None else np.where(empty, fill, y)

    def vjp(self, g, out, x):
        if self.keep is not None:
            g = apply(_MaskedLinear(self.keep.astype(g.dtype, copy=False)), g)
        g = apply(ScatterAdd(self.flat, (x.size,)), apply(Reshape((g.size,)), g))
        return apply(Reshape(x.shape), g)

    def jvp(self, tangents, out, x):
        (dx,) = tangents
        if dx is None:
            return None
        y = apply(Reshape(out.shape), apply(GetItem(self.flat), apply(Reshape((x.size,)), dx)))
        if self.keep is not None:
            y = apply(_MaskedLinear(self.keep.astype(y.dtype, copy=False)), y)
        return y


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over NCHW input as ``torch.nn.functional.max_pool2d``.

    ``stride`` defaults to ``kernel_size``; ``padding`` pads with -inf and must be at most half
    the kernel. The gradient flows to the first maximum of each window (row-major order), as
    PyTorch. ``return_indices=True`` also returns the winners' flat positions in each (H, W) plane.

    >>> import autonn as an
    >>> from autonn.ops.nn import max_pool2d
    >>> max_pool2d(an.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    x = _t(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"max_pool2d: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got "
                         f"shape {x.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = reshape(x, (1,) + x.shape)
    kernel = _pair(kernel_size, "kernel_size", "max_pool2d", 1)
    stride = kernel if stride is None else _pair(stride, "stride", "max_pool2d", 1)
    padding = _pair(padding, "padding", "max_pool2d", 0)
    dilation = _pair(dilation, "dilation", "max_pool2d", 1)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"max_pool2d: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    H, W = x.shape[2:]
    eff = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    if eff[0] > H + 2 * padding[0] or eff[1] > W + 2 * padding[1]:
        raise ValueError(f"max_pool2d: kernel size {kernel} with dilation {dilation} (effective "
                         f"{eff}) is larger than the padded input ({H + 2 * padding[0]}, "
                         f"{W + 2 * padding[1]}); input shape {x.shape}")
    op = MaxPool2d(kernel, _Geom(stride, ((padding[0],) * 2, (padding[1],) * 2), dilation),
                   bool(ceil_mode))
    y = apply(op, x)
    if unbatched:
        y = reshape(y, y.shape[1:])
    if return_indices:  # flat positions in each (H, W) plane, as PyTorch
        idx = (op.flat % (H * W)).astype(np.int64, copy=False).reshape(y.shape)
        return y, Tensor._make(idx)
    return y


__all__ = ["linear", "cross_entropy", "nll_loss", "conv2d", "max_pool2d", "ACTIVATIONS"]

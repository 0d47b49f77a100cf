"""``cross_entropy`` (softmax + negative log-likelihood as one node) and ``nll_loss``."""
import numpy as np

from ... import engine, kernels
from ...tensor import Tensor
from ..base import Op, apply, const
from ..elementwise import exp
from ..index import GetItem
from ..reduce import LogSoftmax
from ..shape import Reshape, Sum, reshape, transpose
from ._common import _t

_REDUCTIONS = ("mean", "sum", "none")
_I64 = np.dtype(np.int64)
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_arange = kernels._ref._arange  # cached read-only np.arange(n), for row gathers
_row_starts = kernels._ref._row_starts  # cached read-only np.arange(n) * C
_NUMBA_MIN = kernels._config.NUMBA_MIN_SIZE  # (smaller arrays take the NumPy twins)


def _log_probs(logits):
    """``kernels._cross_entropy_logprobs(logits)`` for 2-D float logits. A small float32/float64
    array takes the NumPy twin's operations (``log_softmax_forward``) with the row maxima read
    down the columns of a transposed copy: NumPy reduces a short last axis row by row, 3x
    slower, and a maximum is exact in any order, so the values are the twin's."""
    n, C = logits.shape
    dt = logits.dtype
    if logits.size >= _NUMBA_MIN or not C or not n or (dt != _F32 and dt != _F64):
        return kernels._cross_entropy_logprobs(logits)
    if C == 1 or n < C:  # (nothing to gain)
        peak = np.maximum.reduce(logits, axis=-1, keepdims=True)
    else:
        peak = np.maximum.reduce(np.ascontiguousarray(logits.T), axis=0).reshape(n, 1)
    out = np.subtract(logits, peak)
    lse = np.log(np.add.reduce(np.exp(out), axis=-1, keepdims=True, dtype=_F64))
    np.subtract(out, lse if dt == _F64 else lse.astype(dt), out=out)
    return out


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


class _KeptLogSoftmax(LogSoftmax):
    """``log_softmax(logits, axis=1)`` as a graph node whose value is the log-probabilities a
    :class:`SoftmaxCrossEntropy` forward kept (the same values, not recomputed)."""
    __slots__ = ("lp",)

    def __init__(self, lp):
        super().__init__(1)
        self.lp = lp

    @property
    def name(self):
        return "LogSoftmax"

    def forward(self, logits):
        return self.lp


class SoftmaxCrossEntropy(Op):
    """Cross entropy of ``(n, C)`` logits with int labels, the reduction fused in: one node.

    With label smoothing ``eps`` the target distribution is ``(1 - eps) onehot + eps / C``.
    The rules read the log-probabilities kept by the forward, never the logits' or the
    output's values: nothing is held read-only for them, and a later in-place change of the
    logits does not change the gradient (as PyTorch, whose log_softmax saves its output).
    The forward copies the labels (n integers, small next to the (n, C) log-probs): they are
    often the caller's array, and a later write to it must not change the gradient either.
    """
    __slots__ = ("labels", "reduction", "smoothing", "lp", "flat")
    saves_values = False

    def __init__(self, labels, reduction, smoothing):
        self.labels, self.reduction, self.smoothing, self.lp = labels, reduction, smoothing, None
        self.flat = None

    def forward(self, logits):
        # the labels were validated by cross_entropy (int64, in range): no second check here;
        # our copy for the backward (a compiled replay rebinds .labels before each forward)
        self.labels = labels = self.labels.copy()
        self.lp = lp = _log_probs(logits)
        n, C = lp.shape
        # flat positions of the labels in lp (1-D fancy indexing is ~3x faster than 2-D)
        self.flat = flat = _row_starts(n, C) + labels
        picked = lp.reshape(-1)[flat] if C else lp[_arange(n), labels]
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
        p = exp(apply(_KeptLogSoftmax(self.lp), logits))  # a node: this differentiates again
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
    if not t.dtype.isnative:  # big-endian labels (from a file): native order, same values
        t = t.astype(t.dtype.newbyteorder("="))
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
    losses = -apply(GetItem((np.arange(m), labels.copy())), x2)  # the graph's own labels
    if reduction == "none":
        return reshape(losses, loss_shape) if loss_shape != losses.shape else losses
    return _reduce_tensor(losses, reduction, m)


"""Plain-NumPy reference twins of the autonn kernels.

Every function here has the same name and signature as the public kernel in
:mod:`autonn.kernels` and is the *reference* the compiled kernels are tested
against.  They work for any floating dtype (float16, float32, float64,
longdouble).  Integer/bool inputs are promoted to float64 (there is no integer
activation); otherwise the result dtype equals the dtype of the first array
argument (``x``, ``y``, ``pre``, ``z`` or ``logits``), also in the backwards
(a float64 ``g`` does not upcast a float32 gradient).  Inputs are never
mutated, except ``z`` in :func:`bias_act_forward` (documented there).

Numerical choices (mirrored exactly, operation by operation, in ``_numba.py``
so the two backends differ only by the rounding of the elementary functions):

* sigmoid: ``exp(-|x|)`` form, never overflows;
* softplus: ``max(z, 0) + log1p(exp(-|z|))`` with ``z = beta * x``;
* elu: ``alpha * expm1(x)`` (accurate near 0);
* gelu: ``x * 0.5 * erfc(-x / sqrt(2))`` (the erfc form keeps full relative
  accuracy in the negative tail, where ``1 + erf`` cancels).  NumPy has no
  erf, so a vectorised :func:`math.erfc` is used; the computation runs in
  float64 for float16/float32 inputs and the result is cast back.  For
  longdouble only the erfc call itself is limited to double precision;
* tanh backward: ``g * ((1 - y) * (1 + y))`` (same value as ``1 - y*y``,
  without the cancellation near ``|y| = 1``);
* softmax family: row max subtracted, row sums accumulated in at least
  float64 (``np.promote_types(dtype, float64)``).
"""

import math

import numpy as np

__all__ = [
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "elu_forward", "elu_backward",
    "gelu_forward", "gelu_backward",
    "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "softplus_forward", "softplus_backward",
    "bias_act_forward", "linear_act_forward", "act_backward",
    "softmax_forward", "softmax_backward",
    "log_softmax_forward", "log_softmax_backward",
    "cross_entropy_forward", "cross_entropy_backward",
    "ACTIVATIONS", "check_act", "check_labels",
]

#: activation names understood by bias_act_forward / act_backward
ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "gelu",
               "sigmoid", "tanh", "softplus")
_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}

_SQRT1_2 = 0.7071067811865476       # 1/sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1/sqrt(2*pi)
_erfc_obj = np.frompyfunc(math.erfc, 1, 1)


# ----------------------------------------------------------------- helpers
def _float(x):
    """x as an ndarray of a floating dtype (ints/bools promoted to float64)."""
    x = np.asarray(x)
    k = x.dtype.kind
    if k == "f":
        return x
    if k in "biu":
        return x.astype(np.float64)
    raise TypeError(f"autonn kernels need real floating input, got {x.dtype}")


def _out(r, dt):
    """r as an ndarray of dtype dt (also turns 0-d scalars into arrays)."""
    return np.asarray(r, dtype=dt)


def _wide(x):
    """float64 copy for float16/float32, unchanged for float64/longdouble."""
    if x.dtype.itemsize < 8:
        return x.astype(np.float64)
    return x


def _acc(dt):
    """accumulation dtype for row sums: at least float64."""
    return np.promote_types(dt, np.float64)


def _erfc(t):
    """vectorised math.erfc (double precision), returned in t's dtype."""
    return np.asarray(_erfc_obj(t), dtype=t.dtype)


def _sigmoid(x):
    """stable logistic of a float array (no overflow for any finite x)."""
    e = np.exp(-np.abs(x))
    d = 1 + e
    return np.where(x >= 0, 1 / d, e / d)


def check_act(act, alpha):
    """Validate an activation name; return (act, alpha) with alpha defaulted."""
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; expected one of "
                         f"{', '.join(ACTIVATIONS)}")
    if alpha is None:
        alpha = _DEFAULT_ALPHA.get(act, 0.0)
    return act, alpha


def check_labels(labels, n, C):
    """Validate class labels for an (n, C) logits array; return int64 labels.

    Raises ValueError naming the first bad label and C when a label is outside
    [0, C), and when the shape is not (n,).

    >>> check_labels(np.array([0, 2]), 2, 3)
    array([0, 2])
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array, got {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
    # one max over the labels seen as unsigned: a negative label becomes huge
    if n and np.maximum.reduce(labels.view(_UNSIGNED[labels.dtype.itemsize]), axis=None) >= C:
        bad = (labels < 0) | (labels >= C)
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"label {labels[first]} at index {first} is out "
                         f"of range for C={C} classes (valid: 0..{C - 1})")
    return labels if labels.dtype == _I64 else labels.astype(np.int64)


_I64 = np.dtype(np.int64)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_ARANGE = {}
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_SAME_INT = {_F32: np.dtype(np.int32), _F64: np.dtype(np.int64)}


def _row_starts(n, C):
    """A cached read-only ``np.arange(n) * C`` (int64): with labels added, the flat positions
    of ``a[arange(n), labels]`` in an (n, C) C-contiguous array (1-D fancy indexing is faster)."""
    key = (n, C)
    a = _ARANGE.get(key)
    if a is None:
        if len(_ARANGE) > 64:
            _ARANGE.clear()
        a = np.arange(0, n * C, C, dtype=np.int64) if C else np.zeros(n, np.int64)
        a.flags.writeable = False
        _ARANGE[key] = a
    return a


def _arange(n):
    """A cached read-only ``np.arange(n)`` (int64), for row gathers of (n, C) arrays."""
    a = _ARANGE.get(n)
    if a is None:
        if len(_ARANGE) > 64:
            _ARANGE.clear()
        a = np.arange(n, dtype=np.int64)
        a.flags.writeable = False
        _ARANGE[n] = a
    return a


# ------------------------------------------------------- elementwise twins
def relu_forward(x):
    """max(x, 0) (NaN propagates).

    >>> relu_forward(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    x = _float(x)
    dt = x.dtype
    if dt == _F32 or dt == _F64:  # same bits as the where (NaN kept, -0 -> +0)
        return np.maximum(x, 0)
    return _out(np.where(x <= 0, dt.type(0), x), dt)


def _relu_grad_bits(x, g, it):
    """``where(x > 0, g, 0)`` for same-shape float x and g (``it``: the int type of their
    width), 2-10x faster than np.where: g's bits times the 0/1 mask of x > 0 in integers,
    so +0.0 where x <= 0 or NaN, and g's exact bits (NaN/inf included) elsewhere."""
    out = np.empty(x.shape, x.dtype)  # owned (not a view): the engine may adopt it as .grad
    np.multiply(g.view(it), np.greater(x, 0), out=out.view(it), dtype=it)
    return out


def relu_backward(x, g):
    """g where x > 0, else 0.

    >>> relu_backward(np.array([-1.0, 2.0]), np.array([5.0, 5.0]))
    array([0., 5.])
    """
    x = _float(x)
    dt = x.dtype
    if getattr(g, "dtype", None) == dt and g.shape == x.shape:
        it = _SAME_INT.get(dt)
        if it is not None and x.ndim:  # (0-d ufunc results are scalars)
            return _relu_grad_bits(x, g, it)
        return np.where(x > 0, g, dt.type(0))
    return _out(np.where(x > 0, g, 0), dt)


def leaky_relu_forward(x, slope=0.01):
    """x if x > 0 else slope * x.

    >>> leaky_relu_forward(np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    x = _float(x)
    s = x.dtype.type(slope)
    return _out(np.where(x > 0, x, x * s), x.dtype)


def leaky_relu_backward(x, g, slope=0.01):
    """g if x > 0 else slope * g.

    >>> leaky_relu_backward(np.array([-1.0, 2.0]), np.array([1.0, 1.0]), 0.1)
    array([0.1, 1. ])
    """
    x = _float(x)
    s = x.dtype.type(slope)
    g = np.asarray(g)
    return _out(np.where(x > 0, g, g * s), x.dtype)


def elu_forward(x, alpha=1.0):
    """x if x > 0 else alpha * expm1(x).

    >>> elu_forward(np.array([0.0, 1.0]))
    array([0., 1.])
    """
    x = _float(x)
    a = x.dtype.type(alpha)
    zero = x.dtype.type(0)
    # where(x > 0, 0, x) rather than minimum(x, 0): it keeps -0, so elu(-0) = alpha*expm1(-0) = -0
    # (the kernels', PyTorch's and C99's expm1(-0) sign; np.minimum(-0., 0.) may give +0)
    neg = a * np.expm1(np.where(x > zero, zero, x))
    return _out(np.where(x > zero, x, neg), x.dtype)


def elu_backward(x, g, alpha=1.0):
    """g if x > 0 else g * (alpha * exp(x)).

    >>> elu_backward(np.array([0.0, 1.0]), np.array([2.0, 2.0]))
    array([2., 2.])
    """
    x = _float(x)
    a = x.dtype.type(alpha)
    g = np.asarray(g)
    d = a * np.exp(np.minimum(x, 0))
    return _out(np.where(x > 0, g, g * d), x.dtype)


def gelu_forward(x):
    """exact GELU x * Phi(x) = x * 0.5 * erfc(-x / sqrt(2)).

    >>> gelu_forward(np.array([0.0, 1.0])).round(6)
    array([0.      , 0.841345])
    """
    x = _float(x)
    xd = _wide(x)
    phi_cdf = 0.5 * _erfc(-xd * _SQRT1_2)
    return _out(xd * phi_cdf, x.dtype)


def gelu_backward(x, g):
    """g * (Phi(x) + x * phi(x)).

    >>> gelu_backward(np.array([0.0]), np.array([1.0]))
    array([0.5])
    """
    x = _float(x)
    xd = _wide(x)
    phi_cdf = 0.5 * _erfc(-xd * _SQRT1_2)
    pdf = np.exp(-0.5 * xd * xd) * _INV_SQRT_2PI
    # Phi + x phi as -((-x) phi - Phi): the same value (negation commutes with rounding), but -0
    # where both terms underflow (x < -38.5), the sign of the true derivative (negative below
    # x = -0.7518), as the kernels
    d = np.negative(np.subtract(np.negative(xd) * pdf, phi_cdf))
    return _out(g * d, x.dtype)


def sigmoid_forward(x):
    """1 / (1 + exp(-x)), overflow-free.

    >>> sigmoid_forward(np.array([0.0, -1000.0, 1000.0]))
    array([0.5, 0. , 1. ])
    """
    x = _float(x)
    return _out(_sigmoid(x), x.dtype)


def sigmoid_backward(y, g):
    """g * y * (1 - y) with y the sigmoid output.

    >>> sigmoid_backward(np.array([0.5]), np.array([1.0]))
    array([0.25])
    """
    y = _float(y)
    return _out(g * y * (1 - y), y.dtype)


def tanh_forward(x):
    """tanh(x).

    >>> tanh_forward(np.array([0.0]))
    array([0.])
    """
    x = _float(x)
    return _out(np.tanh(x), x.dtype)


def tanh_backward(y, g):
    """g * (1 - y*y), evaluated as g * ((1 - y) * (1 + y)); y the tanh output.

    >>> tanh_backward(np.array([0.5]), np.array([1.0]))
    array([0.75])
    """
    y = _float(y)
    return _out(g * ((1 - y) * (1 + y)), y.dtype)


def softplus_forward(x, beta=1.0, threshold=20.0):
    """PyTorch Softplus: log1p(exp(beta*x))/beta, x where beta*x > threshold.

    >>> softplus_forward(np.array([0.0, 30.0])).round(6)
    array([ 0.693147, 30.      ])
    """
    x = _float(x)
    b = x.dtype.type(beta)
    t = x.dtype.type(threshold)
    z = x * b
    soft = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / b
    return _out(np.where(z > t, x, soft), x.dtype)


def softplus_backward(x, g, beta=1.0, threshold=20.0):
    """g * sigmoid(beta*x), g where beta*x > threshold.

    >>> softplus_backward(np.array([0.0, 30.0]), np.array([1.0, 1.0]))
    array([0.5, 1. ])
    """
    x = _float(x)
    b = x.dtype.type(beta)
    t = x.dtype.type(threshold)
    g = np.asarray(g)
    z = x * b
    return _out(np.where(z > t, g, g * _sigmoid(z)), x.dtype)


_FWD = {
    "relu": lambda x, a: relu_forward(x),
    "leaky_relu": leaky_relu_forward,
    "elu": elu_forward,
    "gelu": lambda x, a: gelu_forward(x),
    "sigmoid": lambda x, a: sigmoid_forward(x),
    "tanh": lambda x, a: tanh_forward(x),
    "softplus": lambda x, a: softplus_forward(x, 1.0, 20.0),
}


# ------------------------------------------------------------ linear layer
def bias_act_forward(z, b, act="identity", alpha=None):
    """Fused epilogue of a linear layer: ``pre = z + b``, ``y = act(pre)``.

    Returns ``(pre, y)``.  **z is overwritten in place with pre** when it is a
    writeable floating array (which is the case for a fresh ``x @ W``); pass a
    copy if you still need it.  With ``b=None``, ``pre`` is ``z`` itself; for
    ``act='identity'``, ``y`` is ``pre`` (the same object).  ``alpha`` is the
    slope of leaky_relu (default 0.01) or the alpha of elu (default 1.0),
    ignored otherwise; softplus uses beta=1, threshold=20.

    >>> pre, y = bias_act_forward(np.array([[-1.0, 1.0]]), np.array([0.5, 0.5]), "relu")
    >>> pre, y
    (array([[-0.5,  1.5]]), array([[0. , 1.5]]))
    """
    act, alpha = check_act(act, alpha)
    z = np.asarray(z)
    if z.dtype.kind != "f":
        z = _float(z)
    if b is not None:
        b = np.asarray(b).astype(z.dtype, copy=False)
        if z.flags.writeable:
            np.add(z, b, out=z)
        else:
            z = z + b
    if act == "identity":
        return z, z
    return z, _FWD[act](z, alpha)


def linear_act_forward(x, W, b=None, act="identity", alpha=None):
    """``pre = x @ W + b``, ``y = act(pre)``; returns ``(pre, y)``.

    >>> pre, y = linear_act_forward(np.ones((1, 2)), np.ones((2, 3)), None, "tanh")
    >>> pre
    array([[2., 2., 2.]])
    """
    check_act(act, alpha)
    return bias_act_forward(np.dot(x, W), b, act, alpha)


def act_backward(act, pre, y, g, alpha=None):
    """Gradient w.r.t. ``pre`` of ``y = act(pre)`` given ``g = dL/dy``.

    >>> act_backward("relu", np.array([-1.0, 1.0]), np.array([0.0, 1.0]), np.ones(2))
    array([0., 1.])
    """
    act, alpha = check_act(act, alpha)
    if act == "identity":
        dt = _float(pre).dtype if pre is not None else np.asarray(g).dtype
        return np.array(g, dtype=dt, copy=True)
    if act == "relu":
        return relu_backward(pre, g)
    if act == "leaky_relu":
        return leaky_relu_backward(pre, g, alpha)
    if act == "elu":
        return elu_backward(pre, g, alpha)
    if act == "gelu":
        return gelu_backward(pre, g)
    if act == "sigmoid":
        return sigmoid_backward(y, g)
    if act == "tanh":
        return tanh_backward(y, g)
    return softplus_backward(pre, g, 1.0, 20.0)


# ---------------------------------------------------------- softmax family
def _rowsum(a, dt):
    return np.sum(a, axis=-1, keepdims=True, dtype=_acc(dt)).astype(dt)


def softmax_forward(x):
    """softmax along the last axis.

    >>> softmax_forward(np.array([[0.0, 0.0]]))
    array([[0.5, 0.5]])
    """
    x = _float(x)
    if x.shape[-1] == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return _out(e / _rowsum(e, x.dtype), x.dtype)


def softmax_backward(y, g):
    """y * (g - sum(g * y, axis=-1)) with y the softmax output.

    >>> softmax_backward(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    array([[ 0.25, -0.25]])
    """
    y = _float(y)
    g = np.asarray(g)
    return _out(y * (g - _rowsum(g * y, y.dtype)), y.dtype)


def log_softmax_forward(x):
    """log-softmax along the last axis.

    >>> log_softmax_forward(np.array([[0.0, 0.0]])).round(6)
    array([[-0.693147, -0.693147]])
    """
    x = _float(x)
    if x.shape[-1] == 0:
        return x.copy()
    dt = x.dtype
    # the ufunc reductions directly (np.max/np.sum add Python layers); one output buffer
    out = np.subtract(x, np.maximum.reduce(x, axis=-1, keepdims=True))
    acc = _F64 if dt == _F32 or dt == _F64 else _acc(dt)
    lse = np.log(np.add.reduce(np.exp(out), axis=-1, keepdims=True, dtype=acc))
    np.subtract(out, lse if lse.dtype == dt else lse.astype(dt), out=out)
    return out


def log_softmax_backward(y, g):
    """g - exp(y) * sum(g, axis=-1) with y the log-softmax output.

    >>> log_softmax_backward(np.log(np.array([[0.5, 0.5]])), np.array([[1.0, 0.0]]))
    array([[ 0.5, -0.5]])
    """
    y = _float(y)
    g = np.asarray(g)
    return _out(g - np.exp(y) * _rowsum(g, y.dtype), y.dtype)


def cross_entropy_forward(logits, labels):
    """Per-row cross entropy; returns ``(losses, log_probs)``.

    >>> losses, lp = cross_entropy_forward(np.array([[0.0, 0.0]]), np.array([1]))
    >>> losses.round(6)
    array([0.693147])
    """
    logits = _float(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D (n, C), got shape {logits.shape}")
    n, C = logits.shape
    labels = check_labels(labels, n, C)
    lp = log_softmax_forward(logits)
    return np.negative(lp[_arange(n), labels]), lp


def cross_entropy_backward(log_probs, labels, g):
    """g[:, None] * (softmax - onehot(labels)), from the log-probabilities.

    >>> cross_entropy_backward(np.log(np.array([[0.5, 0.5]])), np.array([1]), np.array([1.0]))
    array([[ 0.5, -0.5]])
    """
    lp = _float(log_probs)
    if lp.ndim != 2:
        raise ValueError(f"log_probs must be 2-D (n, C), got shape {lp.shape}")
    n, C = lp.shape
    labels = check_labels(labels, n, C)
    p = np.exp(lp)
    p[_arange(n), labels] -= 1
    g = np.asarray(g).reshape(n, 1)
    if g.dtype == lp.dtype:
        p *= g
        return p
    return _out(p * g, lp.dtype)

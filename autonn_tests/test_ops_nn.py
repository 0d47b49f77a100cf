"""Fused NN ops (autonn/ops/nn/) against independent NumPy references and finite differences."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autonn as an
from autonn.ops.nn import ACTIVATIONS, conv2d, cross_entropy, linear, max_pool2d, nll_loss

RNG = np.random.default_rng(1234)
_erf = np.vectorize(math.erf)


# ------------------------------------------------------------------ helpers
def numgrad(f, arrays, i, eps=1e-6):
    """Central finite differences of the scalar ``f(*arrays)`` w.r.t. ``arrays[i]`` (float64)."""
    a = [np.array(x, dtype=np.float64) for x in arrays]
    g = np.zeros_like(a[i])
    for idx in np.ndindex(a[i].shape):
        old = a[i][idx]
        a[i][idx] = old + eps
        fp = f(*a)
        a[i][idx] = old - eps
        fm = f(*a)
        a[i][idx] = old
        g[idx] = (fp - fm) / (2 * eps)
    return g


def _leaves(arrays):
    return [an.tensor(a, requires_grad=True) for a in arrays]


def first_grads(fn, arrays, v, create_graph=False, tensors=None):
    ts = tensors if tensors is not None else _leaves(arrays)
    out = fn(*ts)
    loss = (out * an.tensor(v)).sum()
    gs = an.grad(loss, ts, create_graph=create_graph, allow_unused=True)
    return ts, [np.zeros(t.shape) if g is None else g for g in gs]


def check_grads(fn, arrays, wrt=None, atol=1e-6, rtol=1e-5):
    """Reverse-mode gradients of ``sum(fn(*arrays) * v)`` vs finite differences."""
    wrt = range(len(arrays)) if wrt is None else wrt
    out_shape = fn(*[an.tensor(a) for a in arrays]).shape
    v = RNG.standard_normal(out_shape)
    _, gs = first_grads(fn, arrays, v)

    def scalar(*a):
        with an.no_grad():
            return float((fn(*[an.tensor(x) for x in a]).data * v).sum())
    for i in wrt:
        np.testing.assert_allclose(gs[i].data, numgrad(scalar, arrays, i), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i}")


def check_gradgrads(fn, arrays, wrt=None, atol=1e-5, rtol=1e-4):
    """Second derivatives: d/da_j sum_i <dL/da_i, w_i> by create_graph vs finite differences of
    the (already checked) first derivative."""
    wrt = range(len(arrays)) if wrt is None else wrt
    out_shape = fn(*[an.tensor(a) for a in arrays]).shape
    v = RNG.standard_normal(out_shape)
    ws = [RNG.standard_normal(np.shape(a)) for a in arrays]
    ts, gs = first_grads(fn, arrays, v, create_graph=True)
    s = sum(((g * an.tensor(w)).sum() for g, w in zip(gs, ws) if isinstance(g, an.Tensor)
             and g.requires_grad), an.tensor(0.0))
    if s.requires_grad:
        hs = an.grad(s, ts, allow_unused=True)
    else:
        hs = [None] * len(ts)

    def scalar(*a):
        _, g1 = first_grads(fn, a, v)
        return float(sum((np.asarray(getattr(g, "data", g)) * w).sum() for g, w in zip(g1, ws)))
    for j in wrt:
        got = np.zeros(np.shape(arrays[j])) if hs[j] is None else hs[j].data
        np.testing.assert_allclose(got, numgrad(scalar, arrays, j, eps=1e-5), atol=atol, rtol=rtol,
                                   err_msg=f"second derivative w.r.t. input {j}")


# ------------------------------------------------------------------ linear
def _np_act(name, z, alpha):
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, alpha * z)
    if name == "elu":
        return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))
    if name == "gelu":
        return z * 0.5 * (1 + _erf(z / math.sqrt(2)))
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softplus":
        return np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, 20))))
    raise AssertionError(name)


ALPHA = {"leaky_relu": 0.1, "elu": 0.7}


def _lin_data(n=5, i=4, o=3, dtype=np.float64, scale=1.0):
    x = (RNG.standard_normal((n, i)) * scale).astype(dtype)
    W = RNG.standard_normal((i, o)).astype(dtype)
    b = RNG.standard_normal(o).astype(dtype)
    return x, W, b


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_forward_matches_numpy(act, dtype):
    x, W, b = _lin_data(7, 6, 5, dtype, scale=2.0)
    a = ALPHA.get(act)
    ref = _np_act(act, x.astype(np.float64) @ W.astype(np.float64) + b, a or 0)
    y = linear(an.tensor(x), an.tensor(W), an.tensor(b), activation=act, alpha=a)
    assert y.dtype == dtype and y.shape == (7, 5)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.data, ref, rtol=tol, atol=tol)
    y0 = linear(an.tensor(x), an.tensor(W), activation=act, alpha=a)  # no bias
    np.testing.assert_allclose(y0.data, _np_act(act, x.astype(np.float64) @ W, a or 0),
                               rtol=tol, atol=tol)


def test_linear_default_alphas_are_pytorchs():
    x, W, b = _lin_data(4, 3, 2, scale=3.0)
    z = x @ W + b
    lr = linear(an.tensor(x), an.tensor(W), an.tensor(b), "leaky_relu").data
    np.testing.assert_allclose(lr, np.where(z > 0, z, 0.01 * z))
    el = linear(an.tensor(x), an.tensor(W), an.tensor(b), "elu").data
    np.testing.assert_allclose(el, np.where(z > 0, z, np.expm1(np.minimum(z, 0))))


def _linear_fn(act):
    return lambda x, W, b: linear(x, W, b, activation=act, alpha=ALPHA.get(act))


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_linear_gradients(act):
    x, W, b = _lin_data()
    check_grads(_linear_fn(act), [x, W, b])


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_linear_second_derivatives(act):
    x, W, b = _lin_data(3, 3, 2)
    check_gradgrads(_linear_fn(act), [x, W, b])


@pytest.mark.parametrize("act", ["relu", "tanh", "gelu"])
def test_linear_fast_and_create_graph_paths_agree(act):
    x, W, b = _lin_data()
    v = RNG.standard_normal((5, 3))
    _, g1 = first_grads(_linear_fn(act), [x, W, b], v)
    _, g2 = first_grads(_linear_fn(act), [x, W, b], v, create_graph=True)
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(a.data, c.data, rtol=1e-12, atol=1e-12)


def test_linear_float32_gradients_stay_float32():
    x, W, b = _lin_data(dtype=np.float32)
    ts = _leaves([x, W, b])
    linear(*ts, activation="sigmoid").sum().backward()
    assert all(t.grad.dtype == np.float32 for t in ts)


def test_linear_leading_dims_and_1d():
    x, W, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 5)), RNG.standard_normal(5)
    y = linear(an.tensor(x), an.tensor(W), an.tensor(b), "tanh")
    assert y.shape == (2, 3, 5)
    np.testing.assert_allclose(y.data, np.tanh(x @ W + b), rtol=1e-12)
    check_grads(lambda x, W, b: linear(x, W, b, "tanh"), [x, W, b])
    y1 = linear(an.tensor(x[0, 0]), an.tensor(W), an.tensor(b))
    assert y1.shape == (5,)
    np.testing.assert_allclose(y1.data, x[0, 0] @ W + b, rtol=1e-12)


def test_linear_row_bias_accepted():
    x, W, b = _lin_data()
    bt = an.tensor(b.reshape(1, 3), requires_grad=True)
    linear(an.tensor(x), an.tensor(W), bt, "relu").sum().backward()
    assert bt.grad.shape == (1, 3)


def test_linear_is_one_node():
    x, W, b = _leaves(_lin_data())
    y = linear(x, W, b, "relu")
    assert y.grad_fn.name == "LinearAct" and y._parents == (x, W, b)


def test_linear_jvp_matches_finite_difference():
    x, W, b = _lin_data()
    dx, dW, db = (RNG.standard_normal(a.shape) for a in (x, W, b))
    f = _linear_fn("gelu")
    _, t = an.func.jvp(f, (an.tensor(x), an.tensor(W), an.tensor(b)),
                       (an.tensor(dx), an.tensor(dW), an.tensor(db)))
    e = 1e-6
    fd = (f(an.tensor(x + e * dx), an.tensor(W + e * dW), an.tensor(b + e * db)).data
          - f(an.tensor(x - e * dx), an.tensor(W - e * dW), an.tensor(b - e * db)).data) / (2 * e)
    np.testing.assert_allclose(t.data, fd, rtol=1e-6, atol=1e-7)


def test_linear_errors():
    x, W, b = (an.tensor(a) for a in _lin_data(5, 4, 3))
    with pytest.raises(ValueError, match=r"linear.*\(5, 4\).*\(3, 3\)"):
        linear(x, an.ones((3, 3)))
    with pytest.raises(ValueError, match=r"linear.*\(4,\).*\(4, 3\)"):
        linear(x, W, an.ones(4))
    with pytest.raises(ValueError, match=r"linear.*2-D"):
        linear(x, an.ones(4))
    with pytest.raises(ValueError, match=r"linear.*'swish'.*'relu'.*'softplus'"):
        linear(x, W, b, activation="swish")


# ------------------------------------------------------------ cross entropy
def _np_log_softmax(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def _np_ce(z, t, reduction="mean", eps=0.0):
    lp = _np_log_softmax(z.astype(np.float64))
    C = z.shape[1]
    q = np.full(lp.shape, eps / C)
    q[np.arange(len(t)), t] += 1 - eps
    losses = -(q * lp).sum(1)
    return {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_forward(reduction, eps, dtype):
    z = (RNG.standard_normal((6, 4)) * 3).astype(dtype)
    t = RNG.integers(0, 4, 6)
    got = cross_entropy(an.tensor(z), an.tensor(t), reduction, label_smoothing=eps)
    assert got.dtype == dtype
    tol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.data, _np_ce(z, t, reduction, eps), rtol=tol, atol=tol)


def test_cross_entropy_large_logits_stable():
    z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    t = np.array([1, 2])
    for dtype in (np.float32, np.float64):
        zt = an.tensor(z.astype(dtype), requires_grad=True)
        loss = cross_entropy(zt, an.tensor(t), reduction="none")
        np.testing.assert_allclose(loss.data, [1e4, math.log(2)], rtol=1e-6)
        loss.sum().backward()
        assert np.isfinite(zt.grad.data).all()
        np.testing.assert_allclose(zt.grad.data, [[1, -1, 0], [0, 0.5, -0.5]], atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_gradients(reduction, eps):
    z = RNG.standard_normal((4, 3))
    t = RNG.integers(0, 3, 4)
    fn = lambda z: cross_entropy(z, an.tensor(t), reduction, label_smoothing=eps)  # noqa: E731
    check_grads(fn, [z])
    check_gradgrads(fn, [z])


def test_cross_entropy_fused_is_one_node():
    z = an.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    loss = cross_entropy(z, an.tensor([0, 1, 2, 0]))
    assert loss.grad_fn.name == "SoftmaxCrossEntropy" and loss._parents == (z,)


def test_cross_entropy_jvp_and_hessian():
    z = RNG.standard_normal((3, 4))
    t = an.tensor([3, 0, 1])
    f = lambda z: cross_entropy(z, t, "sum")  # noqa: E731
    dz = RNG.standard_normal(z.shape)
    _, tan = an.func.jvp(f, (an.tensor(z),), (an.tensor(dz),))
    p = np.exp(_np_log_softmax(z))
    onehot = np.eye(4)[t.data]
    np.testing.assert_allclose(tan.item(), ((p - onehot) * dz).sum(), rtol=1e-10)
    # Hessian of a row's CE is diag(p) - p p^T
    H = an.func.hessian(f)(an.tensor(z)).data.reshape(12, 12)
    blocks = np.zeros((12, 12))
    for i in range(3):
        blocks[4 * i:4 * i + 4, 4 * i:4 * i + 4] = np.diag(p[i]) - np.outer(p[i], p[i])
    np.testing.assert_allclose(H, blocks, atol=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_targets(reduction):
    z = RNG.standard_normal((5, 3))
    q = np.exp(_np_log_softmax(RNG.standard_normal((5, 3))))
    got = cross_entropy(an.tensor(z), an.tensor(q), reduction)
    losses = -(q * _np_log_softmax(z)).sum(1)
    ref = {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]
    np.testing.assert_allclose(got.data, ref, rtol=1e-12)
    fn = lambda z, q: cross_entropy(z, q, reduction, label_smoothing=0.1)  # noqa: E731
    check_grads(fn, [z, q])
    check_gradgrads(fn, [z, q])
    # one-hot probabilities equal class indices
    t = RNG.integers(0, 3, 5)
    np.testing.assert_allclose(cross_entropy(an.tensor(z), an.tensor(np.eye(3)[t]), reduction).data,
                               cross_entropy(an.tensor(z), an.tensor(t), reduction).data, rtol=1e-12)


def test_cross_entropy_single_sample_and_spatial():
    z = RNG.standard_normal(4)
    loss = cross_entropy(an.tensor(z), an.tensor(2), "none")
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), -_np_log_softmax(z)[2], rtol=1e-12)
    z = RNG.standard_normal((2, 3, 4, 5))  # (N, C, d1, d2)
    t = RNG.integers(0, 3, (2, 4, 5))
    ref = -np.take_along_axis(_np_log_softmax(z, 1), t[:, None], 1)[:, 0]
    for red, r in (("none", ref), ("mean", ref.mean()), ("sum", ref.sum())):
        np.testing.assert_allclose(cross_entropy(an.tensor(z), an.tensor(t), red).data, r,
                                   rtol=1e-12)
    check_grads(lambda z: cross_entropy(z, an.tensor(t)), [z])


def test_cross_entropy_errors():
    z = an.tensor(RNG.standard_normal((3, 4)))
    with pytest.raises(ValueError, match=r"cross_entropy.*label 7.*C=4"):
        cross_entropy(z, an.tensor([0, 7, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy.*label -1.*C=4"):
        cross_entropy(z, an.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match=r"reduction.*'avg'"):
        cross_entropy(z, an.tensor([0, 1, 1]), reduction="avg")
    with pytest.raises(ValueError, match=r"cross_entropy.*\(3, 4\).*\(3,\).*\(2,\)"):
        cross_entropy(z, an.tensor([0, 1]))
    with pytest.raises(TypeError, match=r"cross_entropy.*integers"):
        cross_entropy(z, an.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"label_smoothing"):
        cross_entropy(z, an.tensor([0, 1, 1]), label_smoothing=1.5)


def test_nll_loss():
    lp = _np_log_softmax(RNG.standard_normal((5, 4)))
    t = RNG.integers(0, 4, 5)
    picked = -lp[np.arange(5), t]
    for red, r in (("none", picked), ("mean", picked.mean()), ("sum", picked.sum())):
        np.testing.assert_allclose(nll_loss(an.tensor(lp), an.tensor(t), red).data, r, rtol=1e-12)
    check_grads(lambda lp: nll_loss(lp, an.tensor(t)), [lp])
    z = RNG.standard_normal((5, 4))
    np.testing.assert_allclose(nll_loss(an.log_softmax(an.tensor(z), axis=1), an.tensor(t)).data,
                               cross_entropy(an.tensor(z), an.tensor(t)).data, rtol=1e-12)
    check_gradgrads(lambda z: nll_loss(an.log_softmax(z, axis=1), an.tensor(t), "sum"), [z])
    with pytest.raises(ValueError, match=r"nll_loss.*label 4.*C=4"):
        nll_loss(an.tensor(lp), an.tensor([0, 1, 2, 3, 4]))


# -------------------------------------------------------------------- conv2d
def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv_ref(x, w, b=None, stride=1, padding=0, dilation=1):
    """Direct nested-loop cross-correlation (padding: int/pair or ((t, b), (l, r)))."""
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    if isinstance(padding, int) or isinstance(padding[0], int):
        ph, pw = _pair(padding)
        padding = ((ph, ph), (pw, pw))
    (pt, pb), (pl, pr) = padding
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.zeros((N, C, H + pt + pb, W + pl + pr), dtype=np.float64)
    xp[:, :, pt:pt + H, pl:pl + W] = x
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, O, Ho, Wo))
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    s = 0.0
                    for c in range(C):
                        for a in range(kh):
                            for e in range(kw):
                                s += xp[n, c, i * sh + a * dh, j * sw + e * dw] * w[o, c, a, e]
                    out[n, o, i, j] = s + (0.0 if b is None else b[o])
    return out


CONV_CASES = [  # (x shape, w shape, stride, padding, dilation)
    ((2, 3, 6, 5), (4, 3, 3, 3), 1, 0, 1),
    ((1, 2, 7, 7), (3, 2, 3, 2), 2, 1, 1),
    ((2, 1, 8, 6), (2, 1, 2, 3), (2, 1), (1, 2), (2, 1)),
    ((1, 2, 5, 5), (1, 2, 1, 1), 3, 0, 1),
    ((1, 1, 6, 6), (2, 1, 3, 3), 1, 2, 2),
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", CONV_CASES)
def test_conv2d_forward_and_gradients(xs, ws, stride, padding, dilation):
    x, w, b = RNG.standard_normal(xs), RNG.standard_normal(ws), RNG.standard_normal(ws[0])
    y = conv2d(an.tensor(x), an.tensor(w), an.tensor(b), stride, padding, dilation)
    np.testing.assert_allclose(y.data, conv_ref(x, w, b, stride, padding, dilation), rtol=1e-10,
                               atol=1e-12)
    check_grads(lambda x, w, b: conv2d(x, w, b, stride, padding, dilation), [x, w, b])


def test_conv2d_float32_and_no_bias():
    x, w = RNG.standard_normal((2, 3, 5, 5)).astype(np.float32), \
        RNG.standard_normal((2, 3, 3, 3)).astype(np.float32)
    xt, wt = an.tensor(x, requires_grad=True), an.tensor(w, requires_grad=True)
    y = conv2d(xt, wt, padding=1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, conv_ref(x, w, padding=1), rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert xt.grad.dtype == np.float32 and wt.grad.dtype == np.float32


def test_conv2d_second_derivatives():
    x, w, b = RNG.standard_normal((1, 2, 5, 4)), RNG.standard_normal((2, 2, 2, 3)), \
        RNG.standard_normal(2)
    fn = lambda x, w, b: an.tanh(conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)))  # noqa
    check_gradgrads(fn, [x, w, b])


def test_conv2d_same_padding_and_unbatched():
    x, w = RNG.standard_normal((1, 2, 5, 6)), RNG.standard_normal((3, 2, 2, 4))
    y = conv2d(an.tensor(x), an.tensor(w), padding="same")
    assert y.shape == (1, 3, 5, 6)  # even kernels pad the extra row/column at the end, as PyTorch
    np.testing.assert_allclose(y.data, conv_ref(x, w, padding=((0, 1), (1, 2))), rtol=1e-10)
    y3 = conv2d(an.tensor(x[0]), an.tensor(w), padding="valid")
    np.testing.assert_allclose(y3.data, conv_ref(x, w)[0], rtol=1e-10)


def test_conv2d_jvp():
    x, w = RNG.standard_normal((1, 2, 4, 4)), RNG.standard_normal((2, 2, 2, 2))
    dx, dw = RNG.standard_normal(x.shape), RNG.standard_normal(w.shape)
    f = lambda x, w: conv2d(x, w, stride=2, padding=1)  # noqa: E731
    _, t = an.func.jvp(f, (an.tensor(x), an.tensor(w)), (an.tensor(dx), an.tensor(dw)))
    ref = conv_ref(dx, w, stride=2, padding=1) + conv_ref(x, dw, stride=2, padding=1)
    np.testing.assert_allclose(t.data, ref, rtol=1e-10, atol=1e-12)


@given(st.data())
def test_conv2d_property(data):
    N, C, O = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    dil = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    pad = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    H = data.draw(st.integers(max(1, dil[0] * (kh - 1) + 1 - 2 * pad[0]), 7))
    W = data.draw(st.integers(max(1, dil[1] * (kw - 1) + 1 - 2 * pad[1]), 7))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C, kh, kw)), \
        rng.standard_normal(O)
    xt, wt, bt = _leaves([x, w, b])
    y = conv2d(xt, wt, bt, stride, pad, dil)
    np.testing.assert_allclose(y.data, conv_ref(x, w, b, stride, pad, dil), rtol=1e-10, atol=1e-12)
    # adjoint identities: <conv(x), g> = <x, dx(g)> = <w, dw(g)> (+ <b, db(g)>)
    g = rng.standard_normal(y.shape)
    (y * an.tensor(g)).sum().backward()
    lhs = (y.data * g).sum()
    np.testing.assert_allclose((x * xt.grad.data).sum(), lhs - (b * g.sum((0, 2, 3))).sum(),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose((w * wt.grad.data).sum(), lhs - (b * g.sum((0, 2, 3))).sum(),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(bt.grad.data, g.sum((0, 2, 3)), rtol=1e-10)


def test_conv2d_errors():
    x = an.ones((2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"conv2d.*\(2, 3, 5, 5\).*3 channels.*\(4, 2, 3, 3\)"):
        conv2d(x, an.ones((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d.*larger than the padded input.*\(2, 3, 5, 5\)"
                                         r".*\(1, 3, 6, 6\)"):
        conv2d(x, an.ones((1, 3, 6, 6)))
    with pytest.raises(ValueError, match=r"conv2d.*dilation \(3, 3\).*larger"):
        conv2d(x, an.ones((1, 3, 3, 3)), dilation=3)
    with pytest.raises(ValueError, match=r"conv2d.*bias shape \(3,\)"):
        conv2d(x, an.ones((4, 3, 3, 3)), an.ones(3))
    with pytest.raises(ValueError, match=r"conv2d.*4-D"):
        conv2d(an.ones((5, 5)), an.ones((4, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d.*stride"):
        conv2d(x, an.ones((4, 3, 3, 3)), stride=0)


# ---------------------------------------------------------------- max_pool2d
def pool_ref(x, k, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Loop max pooling; returns (values, gradient of sum(values * g) as a function of g)."""
    kh, kw = _pair(k)
    sh, sw = _pair(stride if stride is not None else k)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    N, C, H, W = x.shape

    def size(n, k, s, p, d):
        span = n + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        return o - 1 if ceil_mode and (o - 1) * s >= n + p else o
    Ho, Wo = size(H, kh, sh, ph, dh), size(W, kw, sw, pw, dw)
    out = np.zeros((N, C, Ho, Wo))
    arg = np.zeros((N, C, Ho, Wo, 2), dtype=int)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, where = -np.inf, None
                    for a in range(kh):
                        for e in range(kw):
                            r, q = i * sh - ph + a * dh, j * sw - pw + e * dw
                            if 0 <= r < H and 0 <= q < W and (where is None or x[n, c, r, q] > best):
                                best, where = x[n, c, r, q], (r, q)
                    out[n, c, i, j] = best  # -inf, and no gradient, for a window of padding only
                    arg[n, c, i, j] = (-1, -1) if where is None else where

    def grad(g):
        dx = np.zeros_like(x, dtype=np.float64)
        for idx in np.ndindex(N, C, Ho, Wo):
            r, q = arg[idx]
            if r >= 0:
                dx[idx[0], idx[1], r, q] += g[idx]
        return dx
    return out, grad, arg


POOL_CASES = [  # (x shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 2, 6, 6), 2, None, 0, 1, False),
    ((1, 2, 7, 5), 3, 2, 1, 1, False),
    ((1, 1, 7, 7), (2, 3), (1, 2), (1, 1), (2, 1), False),
    ((1, 2, 6, 7), 3, 2, 1, 1, True),
    ((1, 1, 5, 5), 2, 2, 0, 1, True),
]


@pytest.mark.parametrize("xs, k, s, p, d, ceil", POOL_CASES)
def test_max_pool2d_forward_and_gradient(xs, k, s, p, d, ceil):
    x = RNG.permutation(np.prod(xs)).reshape(xs) * 0.1 - 1.0  # distinct values: no ties
    xt = an.tensor(x, requires_grad=True)
    y = max_pool2d(xt, k, s, p, d, ceil_mode=ceil)
    ref, ref_grad, arg = pool_ref(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(y.data, ref)
    g = RNG.standard_normal(y.shape)
    y.backward(an.tensor(g))
    np.testing.assert_allclose(xt.grad.data, ref_grad(g), rtol=1e-12)
    check_grads(lambda x: max_pool2d(x, k, s, p, d, ceil_mode=ceil), [x])
    _, idx = max_pool2d(an.tensor(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(idx.data, arg[..., 0] * xs[3] + arg[..., 1])


@given(st.data())
def test_max_pool2d_property_with_ties(data):
    """Small integer values (many ties, some -inf): values, gradient and indices vs the loop."""
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    dil = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    pad = (data.draw(st.integers(0, kh // 2)), data.draw(st.integers(0, kw // 2)))
    ceil = data.draw(st.booleans())
    H = data.draw(st.integers(max(1, dil[0] * (kh - 1) + 1 - 2 * pad[0]), 7))
    W = data.draw(st.integers(max(1, dil[1] * (kw - 1) + 1 - 2 * pad[1]), 7))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x = rng.integers(-2, 3, (2, 2, H, W)).astype(np.float64)
    x[x == -2] = -np.inf
    xt = an.tensor(x, requires_grad=True)
    y, idx = max_pool2d(xt, (kh, kw), stride, pad, dil, ceil_mode=ceil, return_indices=True)
    ref, ref_grad, arg = pool_ref(x, (kh, kw), stride, pad, dil, ceil)
    np.testing.assert_array_equal(y.data, ref)
    real = arg[..., 0] >= 0
    np.testing.assert_array_equal(idx.data[real], (arg[..., 0] * W + arg[..., 1])[real])
    g = rng.standard_normal(y.shape)
    y.backward(an.tensor(g))
    np.testing.assert_allclose(xt.grad.data, ref_grad(g), rtol=1e-12)


def test_max_pool2d_ties_go_to_first_max():
    x = an.ones((1, 1, 4, 4), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)


def test_max_pool2d_all_minus_inf_with_padding():
    x = an.full((1, 1, 3, 3), -np.inf, requires_grad=True)
    y = max_pool2d(x, 2, 2, padding=1)
    assert y.shape == (1, 1, 2, 2) and np.all(y.data == -np.inf)
    y.backward(an.ones(y.shape))
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_max_pool2d_window_of_padding_only():
    # dilation 2, padding 1 on a 1-pixel-high input: the window rows are -1 and 1, both padding
    x = an.tensor(np.arange(3.0).reshape(1, 1, 1, 3), requires_grad=True)
    y = max_pool2d(x, (2, 1), stride=1, padding=(1, 0), dilation=(2, 1))
    np.testing.assert_array_equal(y.data, np.full((1, 1, 1, 3), -np.inf))
    y.backward(an.ones(y.shape))
    np.testing.assert_array_equal(x.grad.data, np.zeros((1, 1, 1, 3)))


def test_max_pool2d_second_order_and_float32():
    x = (RNG.permutation(32).reshape(1, 2, 4, 4) * 0.1).astype(np.float32)
    xt = an.tensor(x, requires_grad=True)
    y = max_pool2d(xt, 2)
    assert y.dtype == np.float32
    v = an.tensor(np.ones(y.shape, np.float32), requires_grad=True)
    (gx,) = an.grad(y, xt, v, create_graph=True)
    w = RNG.standard_normal(x.shape).astype(np.float32)
    (gv,) = an.grad((gx * an.tensor(w)).sum(), v)  # d<dx(v), w>/dv = w at the winners
    _, _, arg = pool_ref(x.astype(np.float64), 2)
    ref = np.take_along_axis(w.reshape(1, 2, 16), (arg[..., 0] * 4 + arg[..., 1]).reshape(1, 2, 4),
                             2).reshape(y.shape)
    np.testing.assert_allclose(gv.data, ref, rtol=1e-6)
    check_gradgrads(lambda x: max_pool2d(x * x, 2), [x.astype(np.float64)])


def test_max_pool2d_unbatched_and_errors():
    x = RNG.standard_normal((2, 4, 4))
    np.testing.assert_array_equal(max_pool2d(an.tensor(x), 2).data, pool_ref(x[None], 2)[0][0])
    with pytest.raises(ValueError, match=r"max_pool2d.*padding.*half"):
        max_pool2d(an.tensor(x), 2, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d.*larger.*\(1, 2, 4, 4\)"):
        max_pool2d(an.tensor(x), 5)
    with pytest.raises(ValueError, match=r"max_pool2d.*4-D"):
        max_pool2d(an.ones(4), 2)


# ------------------------------------------------------------- composition
def test_small_cnn_hvp_matches_finite_difference_of_gradient():
    """conv2d -> max_pool2d -> linear(tanh) -> cross_entropy: a Hessian-vector product through
    all fused ops vs central differences of the (reverse-mode) gradient."""
    x = an.tensor(RNG.standard_normal((2, 1, 6, 6)))
    t = an.tensor([1, 3])
    w1, W2 = RNG.standard_normal((3, 1, 3, 3)), RNG.standard_normal((12, 4)) * 0.5
    v1, v2 = RNG.standard_normal(w1.shape), RNG.standard_normal(W2.shape)

    def f(w1, W2):
        h = an.reshape(max_pool2d(conv2d(x, w1, padding=1), 3), (2, -1))
        return cross_entropy(linear(h, W2, activation="tanh"), t)

    _, (h1, h2) = an.func.hvp(f, (an.tensor(w1), an.tensor(W2)), (an.tensor(v1), an.tensor(v2)))
    e = 1e-5
    gp = an.func.grad(f, (0, 1))(an.tensor(w1 + e * v1), an.tensor(W2 + e * v2))
    gm = an.func.grad(f, (0, 1))(an.tensor(w1 - e * v1), an.tensor(W2 - e * v2))
    np.testing.assert_allclose(h1.data, (gp[0].data - gm[0].data) / (2 * e), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(h2.data, (gp[1].data - gm[1].data) / (2 * e), rtol=1e-4, atol=1e-7)

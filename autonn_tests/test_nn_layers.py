"""Layers against NumPy references written here; gradients against central finite differences."""
import math

import numpy as np
import pytest

import autonn as an
from autonn import nn
from autonn.nn import functional as F
from autonn_tests._fd import check_grads

RNG = np.random.default_rng(1234)


def randn(*shape, requires_grad=True):
    return an.tensor(RNG.standard_normal(shape), requires_grad=requires_grad)


# ----------------------------------------------------------------------------- Linear
def test_linear_forward_row_vector_convention():
    lin = nn.Linear(4, 3)
    assert lin.weight.shape == (4, 3) and lin.bias.shape == (3,)
    x = RNG.standard_normal((5, 4))
    np.testing.assert_allclose(lin(an.tensor(x)).data, x @ lin.weight.data + lin.bias.data,
                               rtol=1e-12, atol=1e-12)
    # leading batch axes and a single row vector, as PyTorch
    x3 = RNG.standard_normal((2, 5, 4))
    np.testing.assert_allclose(lin(an.tensor(x3)).data, x3 @ lin.weight.data + lin.bias.data,
                               rtol=1e-12, atol=1e-12)
    assert lin(an.tensor(x[0])).shape == (3,)
    nobias = nn.Linear(4, 3, bias=False)
    assert nobias.bias is None and [n for n, _ in nobias.named_parameters()] == ["weight"]
    np.testing.assert_allclose(nobias(an.tensor(x)).data, x @ nobias.weight.data, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(5, 3\)"):
        lin(an.ones((5, 3)))


def test_linear_init_uses_in_features_as_fan_in():
    an.manual_seed(0)
    wide_out = nn.Linear(4, 2000)      # bound 1/sqrt(4) = 0.5 (not 1/sqrt(2000))
    assert np.abs(wide_out.weight.data).max() <= 0.5
    assert np.abs(wide_out.weight.data).max() > 0.49
    assert np.abs(wide_out.bias.data).max() <= 0.5 and np.abs(wide_out.bias.data).max() > 0.49
    wide_in = nn.Linear(400, 20)      # bound 0.05
    assert np.abs(wide_in.weight.data).max() <= 0.05
    # U(-b, b) has variance b^2 / 3; 8000 draws give a relative standard error of ~1.3%
    var = wide_out.weight.data.var()
    assert abs(var - 0.25 / 3) < 0.05 * 0.25 / 3
    an.manual_seed(5)
    a = nn.Linear(3, 3).weight.data.copy()
    an.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(3, 3).weight.data, a)


def test_linear_gradients():
    lin = nn.Linear(3, 2)
    check_grads(lin, [randn(4, 3)], extra=list(lin.parameters()))


def test_linear_dtype():
    lin = nn.Linear(3, 2, dtype=np.float32)
    assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32
    assert lin(an.ones((2, 3), dtype=np.float32)).dtype == np.float32
    an.set_default_dtype(np.float32)
    try:
        assert nn.Linear(2, 2).weight.dtype == np.float32
    finally:
        an.set_default_dtype(np.float64)
    assert nn.Linear(2, 2, dtype=np.longdouble).weight.dtype == np.longdouble
    with pytest.raises(TypeError):
        nn.Linear(2, 2, dtype=np.int64)


_ACTS = [(nn.ReLU(), lambda z: np.maximum(z, 0)),
         (nn.Sigmoid(), lambda z: 1 / (1 + np.exp(-z))),
         (nn.Tanh(), np.tanh),
         (nn.LeakyReLU(0.2), lambda z: np.where(z > 0, z, 0.2 * z)),
         (nn.ELU(0.7), lambda z: np.where(z > 0, z, 0.7 * np.expm1(z))),
         (nn.GELU(), None),
         (nn.Softplus(), lambda z: np.log1p(np.exp(z)))]


@pytest.mark.parametrize("act, ref", _ACTS, ids=lambda a: type(a).__name__ if
                         isinstance(a, nn.Module) else "")
def test_sequential_fuses_linear_and_activation(act, ref):
    lin = nn.Linear(3, 4)
    seq = nn.Sequential(lin, act)
    x = randn(5, 3)
    y = seq(x)
    assert y.grad_fn.name == "LinearAct"  # one fused node
    z = x.data @ lin.weight.data + lin.bias.data
    if ref is not None:
        np.testing.assert_allclose(y.data, ref(z), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(y.data, act(lin(x)).data, rtol=1e-6, atol=1e-7)
    assert list(seq.state_dict()) == ["0.weight", "0.bias"]
    check_grads(seq, [x], extra=list(seq.parameters()))


def test_sequential_does_not_fuse_non_default_or_subclassed_layers():
    class MyLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    x = randn(2, 3)
    assert nn.Sequential(nn.Linear(3, 2), nn.Softplus(beta=2)).forward(x).grad_fn.name != \
        "LinearAct"
    lin = MyLinear(3, 2)
    y = nn.Sequential(lin, nn.ReLU())(x)
    np.testing.assert_allclose(y.data, np.maximum(2 * (x.data @ lin.weight.data
                                                       + lin.bias.data), 0), atol=1e-12)


# ---------------------------------------------------------------------- small layers
def test_identity_and_flatten():
    x = randn(2, 3, 4)
    assert nn.Identity(54, unused="x")(x) is x
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Flatten(1, 1)(x).shape == (2, 3, 4)
    check_grads(nn.Flatten(), [randn(2, 3, 2)])


def test_dropout_train_eval_and_seed():
    drop = nn.Dropout(p=0.3)
    x = an.ones(20000, requires_grad=True)
    an.manual_seed(7)
    y = drop(x)
    vals = np.unique(y.data)
    np.testing.assert_allclose(vals, [0.0, 1 / 0.7])
    # the dropped fraction is Binomial(20000, 0.3)/20000: standard error 0.0032, allow ~6 sigma
    assert abs(np.mean(y.data == 0) - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # gradient = mask / (1 - p)
    an.manual_seed(7)
    np.testing.assert_array_equal(drop(x).data, y.data)  # reproducible
    assert not np.array_equal(drop(x).data, y.data)     # and fresh on each call
    drop.eval()
    assert drop(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert np.all(F.dropout(x, 1.0).data == 0) and F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="1.5"):
        nn.Dropout(1.5)
    assert nn.Dropout(0.5)(an.ones(4, dtype=np.float32)).dtype == np.float32


# --------------------------------------------------------------------- normalisation
def _bn_ref(x, gamma, beta, eps, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batchnorm_training_forward_and_running_stats(shape):
    bn = nn.BatchNorm1d(3, momentum=0.2)
    bn.weight.data[...] = [1.0, 2.0, -0.5]
    bn.bias.data[...] = [0.1, 0.0, 0.3]
    axes = (0,) if len(shape) == 2 else (0, 2)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(3):
        x = RNG.standard_normal(shape) * 3 + 1
        y = bn(an.tensor(x))
        np.testing.assert_allclose(y.data, _bn_ref(x, bn.weight.data, bn.bias.data, 1e-5, axes),
                                   rtol=1e-10, atol=1e-10)
        n = x.size // 3
        rm = 0.8 * rm + 0.2 * x.mean(axis=axes)
        rv = 0.8 * rv + 0.2 * x.var(axis=axes) * n / (n - 1)   # unbiased
        np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.data, rv, rtol=1e-12)
        assert int(bn.num_batches_tracked.data) == step + 1
    bn.eval()
    x = RNG.standard_normal(shape)
    sh = (1, 3) + (1,) * (len(shape) - 2)
    ref = (x - rm.reshape(sh)) / np.sqrt(rv.reshape(sh) + 1e-5) * bn.weight.data.reshape(sh) \
        + bn.bias.data.reshape(sh)
    np.testing.assert_allclose(bn(an.tensor(x)).data, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, rm)  # eval does not update


def test_batchnorm_variants_and_errors():
    cma = nn.BatchNorm1d(2, momentum=None)
    xs = [RNG.standard_normal((5, 2)) for _ in range(3)]
    for x in xs:
        cma(an.tensor(x))
    np.testing.assert_allclose(cma.running_mean.data, np.mean([x.mean(0) for x in xs], axis=0))
    free = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
    assert free.running_mean is None and list(free.parameters()) == []
    x = RNG.standard_normal((5, 2))
    np.testing.assert_allclose(free(an.tensor(x)).data,
                               (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)
    with pytest.raises(ValueError, match="more than 1 value"):
        nn.BatchNorm1d(2)(an.ones((1, 2)))
    with pytest.raises(ValueError, match="4D"):
        nn.BatchNorm1d(2)(an.ones((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(3)(an.ones((2, 2)))


def test_batchnorm_gradients():
    bn = nn.BatchNorm1d(3)
    bn.weight.data[...] = RNG.standard_normal(3)
    check_grads(bn, [randn(5, 3)], extra=list(bn.parameters()), atol=1e-5)
    check_grads(bn, [randn(3, 3, 2)], extra=list(bn.parameters()), atol=1e-5)
    bn.eval()
    check_grads(bn, [randn(4, 3)], extra=list(bn.parameters()))


def test_layernorm_forward_and_gradients():
    ln = nn.LayerNorm((3, 4), eps=1e-3)
    ln.weight.data[...] = RNG.standard_normal((3, 4))
    ln.bias.data[...] = RNG.standard_normal((3, 4))
    x = RNG.standard_normal((2, 3, 4))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    ref = (x - mean) / np.sqrt(var + 1e-3) * ln.weight.data + ln.bias.data
    np.testing.assert_allclose(ln(an.tensor(x)).data, ref, rtol=1e-10, atol=1e-12)
    check_grads(ln, [an.tensor(x, requires_grad=True)], extra=list(ln.parameters()), atol=1e-5)
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    with pytest.raises(ValueError, match=r"\(2, 5\)"):
        nn.LayerNorm(4)(an.ones((2, 5)))


# ------------------------------------------------------------------------- Embedding
def test_embedding_lookup_and_scatter_add_gradient():
    an.manual_seed(3)
    emb = nn.Embedding(6, 3)
    # N(0, 1) init: 18 draws, just a sanity check on scale
    assert 0.2 < emb.weight.data.std() < 2.0
    idx = np.array([[1, 4, 1], [0, 1, 5]])
    out = emb(an.tensor(idx))
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    out.sum().backward()
    counts = np.bincount(idx.ravel(), minlength=6)[:, None] * np.ones((1, 3))
    np.testing.assert_array_equal(emb.weight.grad.data, counts)
    check_grads(lambda: emb(idx), [], extra=[emb.weight])
    with pytest.raises(IndexError):
        emb(an.tensor([6]))
    with pytest.raises(TypeError):
        emb(an.tensor([1.0]))


# ----------------------------------------------------------------------- Conv / pool
def _conv_ref(x, w, b, stride, padding, dilation):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for ni in range(n):
        for oi in range(o):
            for i in range(ho):
                for j in range(wo):
                    acc = b[oi] if b is not None else 0.0
                    for ci in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                acc += (xp[ni, ci, i * stride + p * dilation,
                                           j * stride + q * dilation] * w[oi, ci, p, q])
                    out[ni, oi, i, j] = acc
    return out


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
def test_conv2d_against_direct_loop(stride, padding, dilation):
    conv = nn.Conv2d(2, 3, kernel_size=3, stride=stride, padding=padding, dilation=dilation)
    assert conv.weight.shape == (3, 2, 3, 3)
    x = RNG.standard_normal((2, 2, 7, 6))
    ref = _conv_ref(x, conv.weight.data, conv.bias.data, stride, padding, dilation)
    np.testing.assert_allclose(conv(an.tensor(x)).data, ref, rtol=1e-10, atol=1e-12)


def test_conv2d_init_gradients_and_padding_modes():
    an.manual_seed(1)
    conv = nn.Conv2d(4, 500, kernel_size=(2, 3))
    bound = 1 / math.sqrt(4 * 2 * 3)  # fan_in = in_channels * kh * kw
    assert np.abs(conv.weight.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.98 * bound
    assert np.abs(conv.bias.data).max() <= bound
    small = nn.Conv2d(2, 2, 2, stride=1, padding=1)
    check_grads(small, [randn(1, 2, 3, 3)], extra=list(small.parameters()))
    same = nn.Conv2d(1, 1, 3, padding="same")
    assert same(an.ones((1, 1, 5, 4))).shape == (1, 1, 5, 4)
    assert nn.Conv2d(1, 1, 3, padding="valid")(an.ones((1, 1, 5, 4))).shape == (1, 1, 3, 2)
    with pytest.raises(ValueError):
        nn.Conv2d(1, 1, 3, padding="full")


def _pool_ref(x, k, s, p):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return out


@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 1, 1), (3, 2, 1)])
def test_maxpool2d_against_loop_and_gradient(k, s, p):
    pool = nn.MaxPool2d(k, stride=s, padding=p)
    x = RNG.standard_normal((2, 2, 6, 5))
    np.testing.assert_allclose(pool(an.tensor(x)).data, _pool_ref(x, k, s or k, p))
    check_grads(pool, [an.tensor(x, requires_grad=True)])
    assert pool.stride == (s or k)

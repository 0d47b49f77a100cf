"""an.nn.compress: the closed-form fold, prediction equality, BN folding, what must not fold."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autonn as an
from autonn import nn

RNG = np.random.default_rng(2024)


def _snapshot(model):
    return {k: v.data.copy() for k, v in model.state_dict().items()}


def _types(model):
    return [type(m).__name__ for m in model]


def test_closed_form_of_three_linears():
    l1, l2, l3 = nn.Linear(4, 6), nn.Linear(6, 5), nn.Linear(5, 3)
    net = nn.Sequential(l1, l2, l3)
    small = nn.compress(net)
    assert _types(small) == ["Linear"]
    W1, W2, W3 = l1.weight.data, l2.weight.data, l3.weight.data
    b1, b2, b3 = l1.bias.data, l2.bias.data, l3.bias.data
    W = W1 @ W2 @ W3
    b = b1 @ W2 @ W3 + b2 @ W3 + b3
    np.testing.assert_allclose(small[0].weight.data, W, rtol=1e-12)
    np.testing.assert_allclose(small[0].bias.data, b, rtol=1e-12)
    assert (small[0].in_features, small[0].out_features) == (4, 3)


def test_predictions_equal_and_input_model_unchanged():
    net = nn.Sequential(nn.Linear(5, 8), nn.Identity(), nn.Linear(8, 8, bias=False), nn.ReLU(),
                        nn.Sequential(nn.Linear(8, 4), nn.Sequential(nn.Linear(4, 6))),
                        nn.Tanh(), nn.Linear(6, 2))
    before = _snapshot(net)
    before_repr = repr(net)
    small = nn.compress(net)
    assert _types(small) == ["Linear", "ReLU", "Linear", "Tanh", "Linear"]
    x = an.tensor(RNG.standard_normal((7, 5)))
    np.testing.assert_allclose(small(x).data, net(x).data, rtol=1e-12, atol=1e-12)
    assert repr(net) == before_repr
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])
    # the single-Linear run is a copy, not the original
    assert small[4] is not net[6]
    np.testing.assert_array_equal(small[4].weight.data, net[6].weight.data)
    small[4].weight.data[...] = 0
    np.testing.assert_array_equal(net[6].weight.data, before["6.weight"])


def test_nothing_folds_across_nonlinearities():
    acts = [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(), nn.ELU(), nn.GELU(),
            nn.Softplus(), nn.Softmax(), nn.LogSoftmax(), nn.Lambda(np.tanh, lambda x: 1.0)]
    layers = []
    for a in acts:
        layers += [nn.Linear(3, 3), a]
    net = nn.Sequential(*layers, nn.Linear(3, 3))
    small = nn.compress(net)
    assert _types(small) == _types(net)
    x = an.tensor(RNG.standard_normal((4, 3)))
    np.testing.assert_allclose(small(x).data, net(x).data, rtol=1e-12)


def test_batchnorm_folding_in_eval_mode_only():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    bn = net[1]
    for _ in range(3):
        net(an.tensor(RNG.standard_normal((8, 3)) * 2 + 1))  # train: running stats move
    bn.weight.data[...] = RNG.standard_normal(4)
    bn.bias.data[...] = RNG.standard_normal(4)
    assert _types(nn.compress(net)) == ["Linear", "BatchNorm1d", "Linear"]  # train mode
    net.eval()
    small = nn.compress(net)
    assert _types(small) == ["Linear"] and not small.training
    s = bn.weight.data / np.sqrt(bn.running_var.data + bn.eps)
    shift = bn.bias.data - bn.running_mean.data * s
    W1, b1, W2, b2 = net[0].weight.data, net[0].bias.data, net[2].weight.data, net[2].bias.data
    np.testing.assert_allclose(small[0].weight.data, W1 @ np.diag(s) @ W2, rtol=1e-12)
    np.testing.assert_allclose(small[0].bias.data, (b1 * s + shift) @ W2 + b2, rtol=1e-12)
    x = an.tensor(RNG.standard_normal((5, 3)))
    np.testing.assert_allclose(small(x).data, net(x).data, rtol=1e-10, atol=1e-12)
    # BatchNorm first, and without affine parameters
    net2 = nn.Sequential(nn.BatchNorm1d(3, affine=False), nn.Linear(3, 2)).eval()
    net2[0].running_mean.data[...] = [1.0, -2.0, 0.5]
    net2[0].running_var.data[...] = [4.0, 0.25, 1.0]
    small2 = nn.compress(net2)
    assert _types(small2) == ["Linear"]
    np.testing.assert_allclose(small2(x).data, net2(x).data, rtol=1e-12)
    # a run with no Linear keeps its layers
    assert _types(nn.compress(nn.Sequential(nn.BatchNorm1d(3).eval(), nn.ReLU()))) == \
        ["BatchNorm1d", "ReLU"]


def test_dropout_folds_only_in_eval_mode():
    net = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.Linear(3, 2))
    assert _types(nn.compress(net)) == ["Linear", "Dropout", "Linear"]
    net.eval()
    small = nn.compress(net)
    assert _types(small) == ["Linear"]
    x = an.tensor(RNG.standard_normal((4, 3)))
    np.testing.assert_allclose(small(x).data, net(x).data, rtol=1e-12)


def test_unknown_modules_are_kept_and_top_level_cases():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    net = nn.Sequential(nn.Linear(2, 2), Double(), nn.Linear(2, 2), nn.Linear(2, 1))
    small = nn.compress(net)
    assert _types(small) == ["Linear", "Double", "Linear"]
    assert small[1] is not net[1]
    x = an.tensor(RNG.standard_normal((3, 2)))
    np.testing.assert_allclose(small(x).data, net(x).data, rtol=1e-12)
    lin = nn.Linear(2, 3)
    single = nn.compress(lin)
    assert isinstance(single, nn.Sequential) and _types(single) == ["Linear"]
    assert single[0] is not lin
    with pytest.raises(TypeError):
        nn.compress("not a model")


def test_compress_does_not_consume_the_random_stream():
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    an.manual_seed(4)
    a = an.rand(3).data
    an.manual_seed(4)
    nn.compress(net)
    np.testing.assert_array_equal(an.rand(3).data, a)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12),
                                        (np.longdouble, 1e-15)])
def test_dtypes(dtype, tol):
    net = nn.Sequential(nn.Linear(4, 5, dtype=dtype), nn.Linear(5, 5, dtype=dtype),
                        nn.ReLU(), nn.Linear(5, 3, dtype=dtype), nn.Linear(3, 2, dtype=dtype))
    small = nn.compress(net)
    assert all(p.dtype == dtype for p in small.parameters())
    x = an.tensor(RNG.standard_normal((6, 4)), dtype=dtype)
    out_small, out = small(x), net(x)
    assert out_small.dtype == dtype
    np.testing.assert_allclose(np.asarray(out_small.data, dtype=np.float64),
                               np.asarray(out.data, dtype=np.float64), rtol=tol, atol=tol)


_KINDS = st.sampled_from(["linear", "linear", "linear_nobias", "relu", "tanh", "identity",
                          "bn", "dropout"])


@given(kinds=st.lists(_KINDS, min_size=1, max_size=7),
       widths=st.lists(st.integers(1, 5), min_size=8, max_size=8),
       seed=st.integers(0, 2 ** 16))
def test_random_networks_predict_the_same(kinds, widths, seed):
    an.manual_seed(seed)
    layers, width = [], 3
    for kind, w in zip(kinds, widths):
        if kind.startswith("linear"):
            layers.append(nn.Linear(width, w, bias=kind == "linear"))
            width = w
        elif kind == "bn":
            bn = nn.BatchNorm1d(width)
            bn.running_mean.data[...] = an.randn(width).data
            bn.running_var.data[...] = an.rand(width).data + 0.5
            bn.weight.data[...] = an.randn(width).data
            layers.append(bn)
        else:
            layers.append({"relu": nn.ReLU, "tanh": nn.Tanh, "identity": nn.Identity,
                           "dropout": nn.Dropout}[kind]())
    net = nn.Sequential(*layers).eval()
    before = _snapshot(net)
    small = nn.compress(net)
    x = an.randn(4, 3)
    np.testing.assert_allclose(small(x).data, net(x).data, rtol=1e-9, atol=1e-10)
    n_lin = sum(type(m) is nn.Linear for m in small)
    assert n_lin <= sum(k.startswith("linear") for k in kinds)
    for a, b in zip(list(small)[:-1], list(small)[1:]):  # no two affine layers left adjacent
        assert not (type(a) is nn.Linear and type(b) is nn.Linear)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])

"""Losses against NumPy formulas, reductions, errors, and finite-difference gradients."""
import numpy as np
import pytest

import autonn as an
from autonn import nn
from autonn.nn import functional as F
from autonn_tests._fd import check_grads

RNG = np.random.default_rng(7)
REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_l1(reduction):
    x, t = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    mse = nn.MSELoss(reduction=reduction)
    l1 = nn.L1Loss(reduction=reduction)
    red = REDUCE[reduction]
    np.testing.assert_allclose(mse(an.tensor(x), an.tensor(t)).data, red((x - t) ** 2))
    np.testing.assert_allclose(l1(an.tensor(x), an.tensor(t)).data, red(np.abs(x - t)))
    xt = an.tensor(x, requires_grad=True)
    tt = an.tensor(t, requires_grad=True)
    check_grads(mse, [xt, tt])
    check_grads(l1, [xt, tt])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_labels_and_probabilities(reduction):
    z = RNG.standard_normal((5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    lp = _log_softmax(z)
    ce = nn.CrossEntropyLoss(reduction=reduction)
    ref = REDUCE[reduction](-lp[np.arange(5), labels])
    np.testing.assert_allclose(ce(an.tensor(z), an.tensor(labels)).data, ref, rtol=1e-12)
    np.testing.assert_allclose(ce(an.tensor(z), labels).data, ref, rtol=1e-12)  # array target
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(ce(an.tensor(z), an.tensor(onehot)).data, ref, rtol=1e-12)
    probs = RNG.dirichlet(np.ones(4), size=5)
    np.testing.assert_allclose(ce(an.tensor(z), an.tensor(probs)).data,
                               REDUCE[reduction](-(probs * lp).sum(axis=1)), rtol=1e-12)
    x = an.tensor(z, requires_grad=True)
    check_grads(lambda x: ce(x, labels), [x])
    check_grads(ce, [x, an.tensor(probs, requires_grad=True)])
    # the fused op: gradient of the mean loss is (softmax - onehot) / N
    if reduction == "mean":
        x.grad = None
        ce(x, labels).backward()
        np.testing.assert_allclose(x.grad.data, (np.exp(lp) - onehot) / 5, atol=1e-12)


def test_cross_entropy_label_smoothing_and_unbatched():
    z = RNG.standard_normal((3, 5))
    labels = np.array([4, 0, 2])
    eps = 0.1
    q = np.full((3, 5), eps / 5)
    q[np.arange(3), labels] += 1 - eps
    ref = np.mean(-(q * _log_softmax(z)).sum(axis=1))
    ce = nn.CrossEntropyLoss(label_smoothing=eps)
    np.testing.assert_allclose(ce(an.tensor(z), an.tensor(labels)).data, ref, rtol=1e-12)
    np.testing.assert_allclose(ce(an.tensor(z), an.tensor(np.eye(5)[labels])).data, ref,
                               rtol=1e-12)
    check_grads(lambda x: ce(x, labels), [an.tensor(z, requires_grad=True)])
    one = nn.CrossEntropyLoss(reduction="none")(an.tensor(z[0]), an.tensor(np.int64(4)))
    assert one.shape == () and np.isclose(one.item(), -_log_softmax(z[:1])[0, 4])


def test_nll_loss():
    lp = _log_softmax(RNG.standard_normal((4, 3)))
    labels = np.array([2, 0, 0, 1])
    for reduction in ("mean", "sum", "none"):
        out = nn.NLLLoss(reduction=reduction)(an.tensor(lp), an.tensor(labels))
        np.testing.assert_allclose(out.data, REDUCE[reduction](-lp[np.arange(4), labels]))
    check_grads(lambda x: F.nll_loss(x, labels), [an.tensor(lp, requires_grad=True)])
    # CrossEntropyLoss == NLLLoss(LogSoftmax)
    z = an.tensor(RNG.standard_normal((4, 3)))
    np.testing.assert_allclose(nn.CrossEntropyLoss()(z, labels).data,
                               nn.NLLLoss()(nn.LogSoftmax(dim=1)(z), labels).data, rtol=1e-12)


def _bce_ref(x, t):
    with np.errstate(divide="ignore"):
        return -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce(reduction):
    x = RNG.uniform(0.05, 0.95, (3, 4))
    t = RNG.uniform(0, 1, (3, 4))
    bce = nn.BCELoss(reduction=reduction)
    np.testing.assert_allclose(bce(an.tensor(x), an.tensor(t)).data,
                               REDUCE[reduction](_bce_ref(x, t)), rtol=1e-12)
    check_grads(bce, [an.tensor(x, requires_grad=True), an.tensor(t, requires_grad=True)])


def test_bce_clamps_the_log_at_minus_100_like_pytorch():
    x = an.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = an.tensor([1.0, 0.0, 0.0, 1.0])
    loss = nn.BCELoss(reduction="none")(x, t)
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    # PyTorch's gradient (x - t) / max(x (1 - x), 1e-12): finite
    np.testing.assert_allclose(x.grad.data, [-1e12, 1e12, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        nn.BCELoss()(an.tensor([1.5]), an.tensor([1.0]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_is_stable(reduction):
    z = np.array([[-800.0, -30.0, -1.0, 0.0], [0.5, 3.0, 40.0, 900.0]])
    t = np.array([[1.0, 0.0, 0.3, 1.0], [0.0, 1.0, 0.5, 0.0]])
    ref = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    out = nn.BCEWithLogitsLoss(reduction=reduction)(an.tensor(z), an.tensor(t))
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(out.data, REDUCE[reduction](ref), rtol=1e-12)
    x = an.tensor(z, requires_grad=True)
    nn.BCEWithLogitsLoss(reduction="sum")(x, an.tensor(t)).backward()
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(x.grad.data, 1 / (1 + np.exp(-z)) - t, atol=1e-15)
    # agrees with BCE(sigmoid) where the latter is accurate
    m = RNG.standard_normal((3, 3))
    tt = RNG.uniform(0, 1, (3, 3))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(an.tensor(m), an.tensor(tt)).data,
                               F.binary_cross_entropy(an.sigmoid(an.tensor(m)), an.tensor(tt)).data,
                               rtol=1e-10)
    check_grads(nn.BCEWithLogitsLoss(reduction=reduction),
                [an.tensor(m, requires_grad=True), an.tensor(tt, requires_grad=True)])


ALL_LOSSES = [nn.MSELoss, nn.L1Loss, nn.CrossEntropyLoss, nn.NLLLoss, nn.BCELoss,
              nn.BCEWithLogitsLoss]


@pytest.mark.parametrize("cls", ALL_LOSSES, ids=lambda c: c.__name__)
def test_bad_reduction_names_it(cls):
    with pytest.raises(ValueError, match="'average'"):
        cls(reduction="average")


def test_functional_bad_reduction():
    for f in (F.mse_loss, F.l1_loss, F.binary_cross_entropy,
              F.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match="'avg'"):
            f(an.ones(2) * 0.5, an.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="'avg'"):
        F.cross_entropy(an.ones((2, 2)), [0, 1], reduction="avg")


@pytest.mark.parametrize("cls", [nn.MSELoss, nn.L1Loss, nn.BCELoss, nn.BCEWithLogitsLoss],
                         ids=lambda c: c.__name__)
def test_shape_mismatch_names_loss_and_shapes(cls):
    with pytest.raises(ValueError) as info:
        cls()(an.ones((3, 1)) * 0.5, an.ones(3))
    msg = str(info.value)
    assert cls.__name__ in msg and "(3, 1)" in msg and "(3,)" in msg


def test_classification_shape_errors_name_the_loss():
    with pytest.raises(ValueError) as info:
        nn.CrossEntropyLoss()(an.ones((4, 3)), an.tensor([0, 1]))
    assert "CrossEntropyLoss" in str(info.value) and "(4, 3)" in str(info.value)
    with pytest.raises((ValueError, TypeError)) as info:
        nn.CrossEntropyLoss()(an.ones((4, 3)), an.ones((4, 2)))
    assert "CrossEntropyLoss" in str(info.value) and "(4, 2)" in str(info.value)
    with pytest.raises(ValueError, match="NLLLoss"):
        nn.NLLLoss()(an.ones((2, 3)), an.tensor([0, 3]))  # label out of range
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=2.0)


def test_float32_losses_stay_float32():
    x = an.tensor(RNG.uniform(0.1, 0.9, (3, 2)), dtype=np.float32)
    t = an.tensor(RNG.uniform(0, 1, (3, 2)))  # float64 target is cast to the input's dtype
    for loss in (nn.MSELoss(), nn.L1Loss(), nn.BCELoss(), nn.BCEWithLogitsLoss(),
                 nn.CrossEntropyLoss()):
        assert loss(x, t).dtype == np.float32


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_dtype", [np.int64, np.int32])
def test_cross_entropy_common_case_matches_the_formula(reduction, label_dtype):
    # (N, C) float logits with int64 labels take a shortcut past the general checks; int32
    # labels take the general path: both must give log-sum-exp minus the picked logit, and the
    # same gradient (softmax minus one-hot, scaled)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    xt = an.tensor(x, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction=reduction)(xt, an.tensor(y.astype(label_dtype)))
    per_row = np.log(np.exp(x).sum(1)) - x[np.arange(6), y]
    want = {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction]
    np.testing.assert_allclose(loss.data, want, rtol=1e-12)
    loss.backward(an.ones(loss.shape))
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    p[np.arange(6), y] -= 1
    np.testing.assert_allclose(xt.grad.data, p / 6 if reduction == "mean" else p, rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("bad", [4, -1])
def test_cross_entropy_label_out_of_range_names_the_module(bad):
    msg = rf"CrossEntropyLoss: .*label {bad} at index 1 is out of range for C=4"
    with pytest.raises(ValueError, match=msg):
        nn.CrossEntropyLoss()(an.ones((2, 4)), an.tensor([0, bad]))


def test_cross_entropy_label_smoothing_none_is_rejected():
    with pytest.raises(TypeError):
        nn.functional.cross_entropy(an.ones((2, 3)), an.tensor([0, 1]), label_smoothing=None)

"""Optimizers and schedulers against their update formulas written out in plain NumPy."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autonn as an
from autonn.optim.lr_scheduler import CosineAnnealingLR, StepLR

A = np.array([[0.5, 1.5, -2.0], [3.0, 0.25, 1.0]])
B = np.array([[1.0, -0.5, 0.3], [-2.0, 0.7, 0.0]])
P0 = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])


def grad_of(p):
    """Gradient of the test loss sum(A p^2 / 2 + B p + sin(p))."""
    return A * p + B + np.cos(p)


def loss_of(w):
    return (an.tensor(A) * w * w / 2 + an.tensor(B) * w + an.sin(w)).sum()


def run(opt_cls, steps, dtype=np.float64, p0=P0, **kw):
    w = an.tensor(p0, dtype=dtype, requires_grad=True)
    opt = opt_cls([w], **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(w).backward()
        opt.step()
    return w, opt


# ----------------------------------------------------------------------------- references
def ref_sgd(p, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    buf = None
    for _ in range(steps):
        g = grad_of(p)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    for t in range(1, steps + 1):
        g = grad_of(p)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        if amsgrad:  # PyTorch keeps the max of the raw second moment, then bias-corrects it
            vmax = np.maximum(vmax, v)
            v_hat = vmax / (1 - b2 ** t)
        else:
            v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def ref_rmsprop(p, steps, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False):
    v = np.zeros_like(p)
    g_avg = np.zeros_like(p)
    buf = np.zeros_like(p)
    for _ in range(steps):
        g = grad_of(p)
        if weight_decay:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            denom = np.sqrt(v - g_avg ** 2) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum > 0:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
    return p


SGD_CASES = [dict(lr=0.05), dict(lr=0.05, momentum=0.9), dict(lr=0.02, momentum=0.8, dampening=0.3),
             dict(lr=0.03, momentum=0.9, nesterov=True), dict(lr=0.05, weight_decay=0.1),
             dict(lr=0.02, momentum=0.5, weight_decay=0.01, nesterov=True),
             dict(lr=0.01, momentum=0.9, maximize=True)]
ADAM_CASES = [dict(lr=0.1), dict(lr=0.05, betas=(0.8, 0.99)), dict(lr=0.1, weight_decay=0.1),
              dict(lr=0.1, amsgrad=True), dict(lr=0.05, eps=1e-3, weight_decay=0.05, amsgrad=True)]
RMS_CASES = [dict(lr=0.01), dict(lr=0.01, alpha=0.9), dict(lr=0.01, momentum=0.9),
             dict(lr=0.005, centered=True), dict(lr=0.01, centered=True, momentum=0.5,
                                                 weight_decay=0.1), dict(lr=0.02, eps=1e-4)]


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_matches_formula(kw):
    w, _ = run(an.optim.SGD, 7, **kw)
    np.testing.assert_allclose(w.data, ref_sgd(P0, 7, **kw), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", ADAM_CASES)
def test_adam_matches_formula(kw):
    w, _ = run(an.optim.Adam, 8, **kw)
    np.testing.assert_allclose(w.data, ref_adam(P0, 8, **kw), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", ADAM_CASES + [dict(lr=0.1)])
def test_adamw_matches_formula(kw):
    kw = dict(kw)
    kw.setdefault("weight_decay", 1e-2)  # AdamW's default
    w, _ = run(an.optim.AdamW, 8, **kw)
    np.testing.assert_allclose(w.data, ref_adam(P0, 8, decoupled=True, **kw), rtol=1e-12,
                               atol=1e-12)


def test_adamw_default_weight_decay_is_0_01():
    w = an.tensor([1.0], requires_grad=True)
    assert an.optim.AdamW([w]).param_groups[0]["weight_decay"] == 1e-2
    assert an.optim.Adam([w]).param_groups[0]["weight_decay"] == 0


@pytest.mark.parametrize("kw", RMS_CASES)
def test_rmsprop_matches_formula(kw):
    w, _ = run(an.optim.RMSprop, 8, **kw)
    np.testing.assert_allclose(w.data, ref_rmsprop(P0, 8, **kw), rtol=1e-12, atol=1e-12)


@given(lr=st.floats(1e-4, 0.2), momentum=st.floats(0, 0.99), wd=st.floats(0, 0.5),
       nesterov=st.booleans())
def test_sgd_random_hyperparameters(lr, momentum, wd, nesterov):
    nesterov = nesterov and momentum > 0
    kw = dict(lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    w, _ = run(an.optim.SGD, 4, **kw)
    np.testing.assert_allclose(w.data, ref_sgd(P0, 4, **kw), rtol=1e-10, atol=1e-12)


@given(lr=st.floats(1e-4, 0.5), b1=st.floats(0, 0.99), b2=st.floats(0.5, 0.9999),
       amsgrad=st.booleans(), wd=st.floats(0, 0.3))
def test_adam_random_hyperparameters(lr, b1, b2, amsgrad, wd):
    kw = dict(lr=lr, betas=(b1, b2), amsgrad=amsgrad, weight_decay=wd)
    w, _ = run(an.optim.Adam, 4, **kw)
    np.testing.assert_allclose(w.data, ref_adam(P0, 4, **kw), rtol=1e-9, atol=1e-12)


def test_sgd_first_momentum_buffer_is_the_gradient():
    w, opt = run(an.optim.SGD, 1, lr=0.1, momentum=0.9, dampening=0.5)
    # the buffer is exactly the gradient autonn computed (not dampened on the first step) ...
    np.testing.assert_array_equal(opt.state[w]["momentum_buffer"], w.grad.data)
    # ... which is the hand-derived gradient up to rounding in the order of operations
    np.testing.assert_allclose(w.grad.data, grad_of(P0), rtol=1e-14, atol=1e-15)


def test_sgd_without_momentum_keeps_no_state():
    w, opt = run(an.optim.SGD, 2, lr=0.1)
    assert opt.state_dict()["state"] == {}


@pytest.mark.parametrize("cls,kw,ref", [
    (an.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True), ref_sgd),
    (an.optim.Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1), ref_adam),
    (an.optim.AdamW, dict(lr=0.05), lambda p, n, **k: ref_adam(p, n, weight_decay=1e-2,
                                                               decoupled=True, **k)),
    (an.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5), ref_rmsprop)])
def test_float32_is_preserved(cls, kw, ref):
    w, opt = run(cls, 5, dtype=np.float32, **kw)
    assert w.dtype == np.float32
    for v in opt.state[w].values():
        if v.shape == w.shape:
            assert v.dtype == np.float32
    np.testing.assert_allclose(w.data, ref(P0, 5, **kw), rtol=2e-5, atol=2e-5)


def test_longdouble_is_preserved():
    w, opt = run(an.optim.Adam, 3, dtype=np.longdouble, lr=0.1)
    assert w.dtype == np.longdouble and opt.state[w]["exp_avg"].dtype == np.longdouble


# ----------------------------------------------------------------------------- groups, grads
def test_param_groups_have_their_own_options():
    w1 = an.tensor(P0, requires_grad=True)
    w2 = an.tensor(P0, requires_grad=True)
    opt = an.optim.SGD([{"params": [w1]}, {"params": [w2], "lr": 0.01, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["lr"] == 0.01
    for _ in range(3):
        opt.zero_grad()
        (loss_of(w1) + loss_of(w2)).backward()
        opt.step()
    np.testing.assert_allclose(w1.data, ref_sgd(P0, 3, lr=0.1), rtol=1e-12)
    np.testing.assert_allclose(w2.data, ref_sgd(P0, 3, lr=0.01, momentum=0.9), rtol=1e-12)


@pytest.mark.parametrize("cls", [an.optim.SGD, an.optim.Adam, an.optim.AdamW, an.optim.RMSprop])
def test_params_without_grad_are_skipped(cls):
    used = an.tensor(P0, requires_grad=True)
    unused = an.tensor(P0, requires_grad=True)
    opt = cls([used, unused], lr=0.1)
    loss_of(used).backward()
    opt.step()
    np.testing.assert_array_equal(unused.data, P0)
    assert not np.array_equal(used.data, P0)
    assert unused not in opt.state


def test_zero_grad_modes():
    w = an.tensor(P0, requires_grad=True)
    opt = an.optim.SGD([w], lr=0.1)
    loss_of(w).backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.data.any() and w.grad.shape == w.shape
    loss_of(w).backward()
    np.testing.assert_allclose(w.grad.data, grad_of(P0))
    opt.zero_grad()
    assert w.grad is None


def test_step_builds_no_graph_and_keeps_leaf():
    w, opt = run(an.optim.Adam, 2, lr=0.1)
    assert w.is_leaf and w.grad_fn is None and w.requires_grad


def test_closure_is_called_and_returned():
    w = an.tensor(P0, requires_grad=True)
    opt = an.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = loss_of(w)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, an.Tensor)
    np.testing.assert_allclose(w.data, ref_sgd(P0, 1, lr=0.1))


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make,match", [
    (lambda w: an.optim.SGD([w], lr=-0.5), "-0.5"),
    (lambda w: an.optim.SGD([w], lr=0.1, momentum=-0.25), "-0.25"),
    (lambda w: an.optim.SGD([w], lr=0.1, weight_decay=-1.0), "weight_decay"),
    (lambda w: an.optim.SGD([w], lr=0.1, nesterov=True), "Nesterov"),
    (lambda w: an.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda w: an.optim.Adam([w], lr=-1e-3), "learning rate"),
    (lambda w: an.optim.Adam([w], betas=(1.0, 0.999)), "index 0: 1.0"),
    (lambda w: an.optim.AdamW([w], betas=(0.9, -0.1)), "index 1"),
    (lambda w: an.optim.Adam([w], eps=-1.0), "epsilon"),
    (lambda w: an.optim.RMSprop([w], alpha=-0.5), "alpha"),
    (lambda w: an.optim.RMSprop([w], momentum=-0.5), "momentum"),
    (lambda w: an.optim.SGD([], lr=0.1), "empty"),
    (lambda w: an.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1), "more than one"),
    (lambda w: an.optim.SGD([w * 2], lr=0.1), "non-leaf"),
])
def test_invalid_arguments_raise_value_error(make, match):
    w = an.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(".", r"\.")):
        make(w)


def test_a_single_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="iterable"):
        an.optim.SGD(an.tensor([1.0], requires_grad=True), lr=0.1)


# ----------------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("cls,kw", [
    (an.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (an.optim.Adam, dict(lr=0.05, amsgrad=True)),
    (an.optim.AdamW, dict(lr=0.05, weight_decay=0.1)),
    (an.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True))])
def test_state_dict_round_trip_continues_identically(cls, kw, tmp_path):
    w, opt = run(cls, 4, **kw)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0] and list(sd["state"]) == [0]
    assert sd["param_groups"][0]["lr"] == kw["lr"]
    path = tmp_path / "opt.npz"
    an.save(sd, path)
    loaded = an.load(path)
    w2 = an.tensor(w.data, requires_grad=True)
    other_kw = dict(kw, lr=kw["lr"] * 3)
    opt2 = cls([w2], **other_kw)
    opt2.load_state_dict(loaded)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    for wi, oi in ((w, opt), (w2, opt2)):
        for _ in range(3):
            oi.zero_grad()
            loss_of(wi).backward()
            oi.step()
    np.testing.assert_array_equal(w.data, w2.data)


def test_state_dict_is_a_snapshot():
    w, opt = run(an.optim.Adam, 2, lr=0.1)
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].copy()
    loss_of(w).backward()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)
    assert float(sd["state"][0]["step"]) == 2.0


def test_state_dict_indices_span_groups():
    ws = [an.tensor([float(i)], requires_grad=True) for i in range(3)]
    opt = an.optim.SGD([{"params": ws[:2]}, {"params": ws[2:], "lr": 0.5}], lr=0.1, momentum=0.9)
    (ws[0] * ws[1] * ws[2]).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sorted(sd["state"]) == [0, 1, 2]


def test_load_state_dict_rejects_mismatched_groups():
    w = an.tensor([1.0], requires_grad=True)
    sd = an.optim.SGD([w], lr=0.1).state_dict()
    v = an.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        an.optim.SGD([{"params": [w]}, {"params": [v]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="size"):
        an.optim.SGD([w, v], lr=0.1).load_state_dict(sd)


# ----------------------------------------------------------------------------- schedulers
def _opt(lrs=(0.1,)):
    return an.optim.SGD([{"params": [an.tensor([1.0], requires_grad=True)], "lr": lr}
                         for lr in lrs], lr=lrs[0])


@pytest.mark.parametrize("step_size,gamma", [(1, 0.5), (3, 0.1), (4, 0.9)])
def test_steplr_sequence(step_size, gamma):
    opt = _opt((0.1, 1.0))
    sched = StepLR(opt, step_size=step_size, gamma=gamma)
    for epoch in range(20):
        want = [base * gamma ** (epoch // step_size) for base in (0.1, 1.0)]
        np.testing.assert_allclose(sched.get_last_lr(), want, rtol=1e-12)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        opt.step()
        sched.step()


@pytest.mark.parametrize("T_max,eta_min", [(5, 0.0), (10, 0.001), (1, 0.01)])
def test_cosine_sequence_matches_closed_form(T_max, eta_min):
    opt = _opt((0.1, 0.5))
    sched = CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    for epoch in range(3 * T_max + 2):  # past T_max the schedule rises again, as PyTorch's
        want = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
                for base in (0.1, 0.5)]
        np.testing.assert_allclose(sched.get_last_lr(), want, rtol=1e-9, atol=1e-12)
        opt.step()
        sched.step()


def test_scheduler_sets_initial_lr_and_state_dict_resumes():
    opt = _opt()
    sched = CosineAnnealingLR(opt, T_max=8)
    assert opt.param_groups[0]["initial_lr"] == 0.1
    for _ in range(3):
        sched.step()
    sd = sched.state_dict()
    assert sd["last_epoch"] == 3 and sd["base_lrs"] == [0.1] and "optimizer" not in sd
    rest = []
    for _ in range(4):
        sched.step()
        rest.append(sched.get_last_lr()[0])
    opt2 = _opt()
    sched2 = CosineAnnealingLR(opt2, T_max=8)
    sched2.load_state_dict(sd)
    opt2.param_groups[0]["lr"] = sd["_last_lr"][0]
    again = []
    for _ in range(4):
        sched2.step()
        again.append(sched2.get_last_lr()[0])
    assert again == rest


def test_scheduler_drives_the_optimizer():
    w = an.tensor([1.0], requires_grad=True)
    opt = an.optim.SGD([w], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        (w * 1.0).sum().backward()  # gradient 1: each step moves w by the current lr
        opt.step()
        sched.step()
    assert w.item() == pytest.approx(1 - (1 + 0.5 + 0.25))

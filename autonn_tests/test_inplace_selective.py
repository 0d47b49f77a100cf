"""Only the values a gradient rule reads are held read-only: a write to anything else cannot
change the gradient, so it is allowed, and the gradient is still the one of the forward pass
that ran. Oracles: the gradients written out in NumPy from copies taken before the writes."""
import numpy as np
import pytest

import autonn as an


def _net(act, rng):
    layers = [an.nn.Linear(3, 5), act(), an.nn.Linear(5, 2)]
    model = an.nn.Sequential(*layers)
    x = an.tensor(rng.normal(size=(4, 3)))
    labels = an.tensor(rng.integers(0, 2, 4))
    return model, x, labels


def _numpy_grads(W1, b1, W2, b2, x, labels):
    """Gradients of mean cross entropy of ``relu(x W1 + b1) W2 + b2`` (row-vector layout)."""
    pre = x @ W1 + b1
    h = np.maximum(pre, 0)
    z = h @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(len(labels)), labels] -= 1
    d /= len(labels)
    dh = (d @ W2.T) * (pre > 0)
    return {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}


def test_writes_to_values_no_rule_reads_are_allowed_and_change_nothing():
    rng = np.random.default_rng(0)
    model, x, labels = _net(an.nn.ReLU, rng)
    lin1, lin2 = model[0], model[2]
    before = [a.data.copy() for a in (lin1.weight, lin1.bias, lin2.weight, lin2.bias, x)]
    loss = an.nn.functional.cross_entropy(model(x), labels)
    # read by the rules: the input (for W1's gradient) and W2 (for the hidden gradient)
    for held in (x, lin2.weight):
        with pytest.raises(ValueError, match="read-only"):
            held.data[0, 0] = 100.0
    # read by no rule (the pre-activation is kept inside the node): writable
    lin1.weight.data[...] = 7.0
    lin1.bias.data[...] = -3.0
    lin2.bias.data[...] = 9.0
    loss.backward()
    expected = _numpy_grads(*before[:4], before[4], labels.data)
    for name, p in (("W1", lin1.weight), ("b1", lin1.bias), ("W2", lin2.weight),
                    ("b2", lin2.bias)):
        np.testing.assert_allclose(p.grad.data, expected[name], rtol=1e-12, atol=1e-15)
    assert x.data.flags.writeable and lin2.weight.data.flags.writeable  # freed: writable


def test_cross_entropy_logits_changed_in_place_keep_the_forward_gradient():
    rng = np.random.default_rng(1)
    z0 = rng.normal(size=(3, 4))
    z = an.tensor(z0, requires_grad=True)
    labels = np.array([0, 3, 1])
    logits = z * 1.0
    loss = an.nn.functional.cross_entropy(logits, an.tensor(labels))
    logits.data[0, 0] = 50.0  # not read by the rule (it keeps its log-probabilities)
    with an.no_grad():
        logits.add_(1.0)  # a Tensor method: bumps the version, the rule does not care
    loss.backward()
    p = np.exp(z0 - z0.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(3), labels] -= 1
    np.testing.assert_allclose(z.grad.data, p / 3, rtol=1e-12, atol=1e-15)


def test_cross_entropy_second_derivative_still_differentiates_the_log_probs():
    rng = np.random.default_rng(2)
    z0 = rng.normal(size=(2, 3))
    labels = an.tensor(np.array([2, 0]))
    v = rng.normal(size=(2, 3))

    def hvp(z):  # d/dz <grad CE(z), v>
        z = an.tensor(z, requires_grad=True)
        (g,) = an.grad(an.nn.functional.cross_entropy(z, labels), z, create_graph=True)
        (h,) = an.grad((g * an.tensor(v)).sum(), z)
        return h.data

    def grad_np(z):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(2), labels.data] -= 1
        return p / 2

    eps = 1e-6  # central differences of the analytic gradient along v
    fd = (grad_np(z0 + eps * v) - grad_np(z0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hvp(z0), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("act, reads_bias, reads_out", [
    ("relu", False, False), ("tanh", False, True), ("sigmoid", False, True),
    ("elu", True, False), ("gelu", True, False), ("softplus", True, False)])
def test_fused_linear_holds_what_its_rules_read(act, reads_bias, reads_out):
    rng = np.random.default_rng(3)
    x = an.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    W = an.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = an.tensor(rng.normal(size=2), requires_grad=True)
    y = an.ops.nn.linear(x, W, b, activation=act)
    for t in (x, W):  # each is read for the other's gradient
        assert not t.data.flags.writeable
    assert b.data.flags.writeable is not reads_bias  # (a second derivative rebuilds pre)
    assert y.data.flags.writeable is not reads_out
    y.sum().backward()
    assert all(t.data.flags.writeable for t in (x, W, b, y))


def test_gradients_are_those_the_forward_asked_for():
    # as PyTorch: requires_grad set on an input after the forward does not add it to the graph
    rng = np.random.default_rng(4)
    x = an.tensor(rng.normal(size=(4, 3)))
    W = an.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    y = an.ops.nn.linear(x, W, activation="relu")
    assert W.data.flags.writeable  # x needs no gradient: W's value is read by no rule
    x.requires_grad = True
    y.sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(W.grad.data, x.data.T @ (x.data @ W.data > 0), rtol=1e-12)


def test_the_input_of_a_sequential_is_held_and_a_changed_one_is_detected():
    rng = np.random.default_rng(5)
    model, x, labels = _net(an.nn.Tanh, rng)
    loss = an.nn.functional.cross_entropy(model(x), labels)
    with pytest.raises(ValueError, match="read-only"):
        x.data[0, 0] = 1.0
    with an.no_grad():
        x[0, 0] = 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()

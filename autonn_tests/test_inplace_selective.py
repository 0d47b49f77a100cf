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


# ----------------------------------------------------------------- saved views, saved labels
# A graph that saves a view of a tensor (w.reshape, x.T, x[0]) holds the memory behind the
# view read-only too, so a raw write through the viewed tensor raises instead of changing the
# gradient; the arrays get back exactly the flags they had once the graph is freed.
_VIEWS = {  # name: (view, the viewed tensor's values, the view's values written out)
    "reshape": (lambda w: w.reshape(1, 2), np.array([2.0, 3.0]), [[2.0, 3.0]]),
    "transpose": (lambda w: w.T, np.array([[2.0, 3.0]]), [[2.0], [3.0]]),
    "getitem": (lambda w: w[0], np.array([[2.0, 3.0], [4.0, 5.0]]), [2.0, 3.0]),
}


@pytest.mark.parametrize("name", sorted(_VIEWS))
def test_raw_write_to_a_tensor_whose_view_was_saved_raises(name):
    view, w0, expected = _VIEWS[name]
    w = an.tensor(w0, requires_grad=True)
    x = an.tensor(np.ones(np.shape(expected)), requires_grad=True)
    y = (x * view(w)).sum()  # Mul saves the view (for x's gradient)
    with pytest.raises(ValueError, match="read-only"):
        w.data.reshape(-1)[0] = 5.0
    y.backward()
    # oracle: d/dx sum(x * v) = v, the view's values before the attempted write
    np.testing.assert_array_equal(x.grad.data, expected)
    assert w.data.flags.writeable  # the graph is freed: writable again
    w.data.reshape(-1)[0] = 5.0
    assert w.data.reshape(-1)[0] == 5.0


def test_tensor_method_write_to_the_viewed_tensor_is_a_version_error_naming_the_op():
    w = an.tensor([2.0, 3.0], requires_grad=True)
    x = an.tensor([[1.0, 1.0]], requires_grad=True)
    y = (x * w.reshape(1, 2)).sum()
    with an.no_grad():
        w.add_(1.0)  # allowed (bumps the version shared with the view), read-only again after
    assert not w.data.flags.writeable
    with pytest.raises(RuntimeError, match=r"\[Mul's input 1.*modified by an inplace|"
                                           r"modified by an inplace.*\[Mul's input 1"):
        y.backward()


def test_norm_layer_weights_saved_as_views_cannot_be_written_raw():
    rng = np.random.default_rng(1)
    for layer in (an.nn.BatchNorm1d(3), an.nn.LayerNorm(3)):
        x = an.tensor(rng.normal(size=(4, 3)), requires_grad=True)
        y = (layer(x) * an.tensor(rng.normal(size=(4, 3)))).sum()
        with pytest.raises(ValueError, match="read-only"):
            layer.weight.data[0] = 5.0
        y.backward()
        assert layer.weight.data.flags.writeable


def test_user_arrays_behind_a_saved_view_get_their_own_flags_back():
    writable = np.array([2.0, 3.0])
    frozen = np.array([2.0, 3.0])
    frozen.setflags(write=False)
    x = an.tensor([[1.0, 1.0]], requires_grad=True)
    a, b = an.as_tensor(writable), an.as_tensor(frozen)
    assert a.data is writable and b.data is frozen  # no copies: the user's arrays
    y = (x * a.reshape(1, 2) * b.reshape(1, 2)).sum()
    assert not writable.flags.writeable and not frozen.flags.writeable
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[4.0, 9.0]])
    assert writable.flags.writeable  # restored
    assert not frozen.flags.writeable  # read-only before: stays so


def test_array_held_directly_and_through_a_view_is_writable_after_both_graphs():
    w = an.tensor([2.0, 3.0], requires_grad=True)
    x = an.tensor([[1.0, 1.0]], requires_grad=True)
    y1 = (w * w).sum()  # holds w's own array
    y2 = (x * w.reshape(1, 2)).sum()  # holds it through a view
    y1.backward()
    assert not w.data.flags.writeable  # y2 still reads it
    y2.backward()
    assert w.data.flags.writeable
    np.testing.assert_array_equal(x.grad.data, [[2.0, 3.0]])
    # the other order
    y2 = (x * w.reshape(1, 2)).sum()
    y1 = (w * w).sum()
    y2.backward()
    assert not w.data.flags.writeable
    y1.backward()
    assert w.data.flags.writeable


def test_collected_graph_releases_the_arrays_behind_its_views():
    w = an.tensor([2.0, 3.0], requires_grad=True)
    x = an.tensor([[1.0, 1.0]], requires_grad=True)
    y = (x * w.reshape(1, 2)).sum()
    assert not w.data.flags.writeable
    del y
    import gc
    gc.collect()
    assert w.data.flags.writeable


def _ce_grad(z, labels):
    """d mean cross-entropy / d logits in NumPy: (softmax - onehot) / n."""
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


@pytest.mark.parametrize("as_tensor", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_labels_written_after_cross_entropy_do_not_change_the_gradient(as_tensor, smoothing):
    rng = np.random.default_rng(2)
    z0 = rng.normal(size=(5, 3))
    labels = np.array([0, 2, 1, 1, 0])
    kept = labels.copy()
    z = an.tensor(z0, requires_grad=True)
    loss = an.nn.functional.cross_entropy(z, an.as_tensor(labels) if as_tensor else labels,
                                          label_smoothing=smoothing)
    labels[:] = [2, 0, 0, 2, 1]  # the caller reuses its label buffer
    loss.backward()
    q = np.full((5, 3), smoothing / 3)
    q[np.arange(5), kept] += 1 - smoothing
    p = np.exp(z0 - z0.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.grad.data, (p - q) / 5, rtol=1e-12, atol=1e-15)
    if not smoothing:
        np.testing.assert_allclose(z.grad.data, _ce_grad(z0, kept), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("buffer", [bytearray, bytes])
def test_views_of_arrays_over_foreign_buffers_get_their_flags_back(buffer):
    owner = np.frombuffer(buffer(np.array([2.0, 3.0, 4.0]).tobytes()), dtype=np.float64)
    was = owner.flags.writeable  # bytearray: writable; bytes: read-only
    x = an.tensor([1.0, 1.0], requires_grad=True)
    y = (x * an.as_tensor(owner)[1:]).sum()  # a view of a view of the buffer
    assert not owner.flags.writeable
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    assert owner.flags.writeable == was


@pytest.mark.parametrize("wrap", [np.asarray, an.tensor, list], ids=["array", "tensor", "list"])
def test_an_index_changed_after_the_forward_leaves_the_gradient(wrap):
    """The graph keeps the indices the forward used (x[idx], and the labels of nll_loss): the
    caller's index changed in place afterwards does not move the gradient (hand-derived)."""
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = wrap([0, 1]) if wrap is not an.tensor else an.tensor(np.array([0, 1]))
    y = (x[idx] * an.tensor([1.0, 10.0])).sum()
    if isinstance(idx, an.Tensor):
        idx.data[1] = 2
    else:
        idx[1] = 2
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 10.0, 0.0])


def test_nll_loss_labels_changed_after_the_forward_leave_the_gradient():
    logp = an.tensor(np.log(np.full((2, 3), 1 / 3)), requires_grad=True)
    labels = np.array([0, 1])
    loss = an.nn.functional.nll_loss(logp, labels)
    labels[:] = 2
    loss.backward()
    expected = np.zeros((2, 3))
    expected[[0, 1], [0, 1]] = -0.5  # d mean(-logp[i, y_i]) / d logp[i, y_i]
    np.testing.assert_array_equal(logp.grad.data, expected)

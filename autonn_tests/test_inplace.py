"""In-place operations and version counters: a value changed after the forward pass either
makes backward raise or leaves the gradient right; never a silently wrong gradient."""
import gc

import numpy as np
import pytest

import autonn as an
from autonn_tests._helpers import square_function

MODIFIED = r"modified by an inplace operation.*version 1; expected version 0"


def modified(which, now=1, then=0):
    """PyTorch's message, naming the op and which of its values changed."""
    return (r"one of the variables needed for gradient computation has been modified by an "
            rf"inplace operation: \[{which}, .* is at version {now}; expected version {then} instead")


def _w():
    return an.tensor([1.0, 1.0, 1.0], requires_grad=True)


def _c():
    return an.tensor([4.0, 5.0, 6.0])


# ------------------------------------------------------------------ the nine scenarios
def test_1_setitem_on_a_saved_tensor_is_detected():
    w, c = _w(), _c()
    loss = (w * c).sum()
    c[0] = 100
    with pytest.raises(RuntimeError, match=modified("Mul's input 1")):
        loss.backward()


def test_2_zero_on_a_saved_tensor_is_detected():
    w, c = _w(), _c()
    loss = (w * c).sum()
    c.zero_()
    with pytest.raises(RuntimeError, match=modified("Mul's input 1")):
        loss.backward()


def test_3_setitem_on_a_saved_leaf_under_no_grad_is_detected():
    w, c = _w(), _c()
    loss = (w * w * c).sum()
    with an.no_grad():
        w[0] = 100
    with pytest.raises(RuntimeError, match=modified("Mul's input [01]")):
        loss.backward()


@pytest.mark.parametrize("make", [lambda p: an.optim.SGD(p, lr=0.1),
                                  lambda p: an.optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: an.optim.Adam(p, lr=0.1),
                                  lambda p: an.optim.AdamW(p, lr=0.1),
                                  lambda p: an.optim.RMSprop(p, lr=0.1)])
def test_4_optimizer_step_between_forward_and_backward_is_detected(make):
    w, c = _w(), _c()
    opt = make([w])
    (w * c).sum().backward()  # a gradient for the step
    loss = (w * w * c).sum()  # the next forward: w * w's rule reads w
    opt.step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match=modified("Mul's input [01]")):
        loss.backward()


def test_5_write_through_data_of_a_saved_constant_raises():
    w, c = _w(), _c()
    loss = (w * c).sum()
    with pytest.raises(ValueError, match="read-only"):
        c.data[0] = 100
    loss.backward()
    assert w.grad.tolist() == [4.0, 5.0, 6.0]  # the gradient of the forward that ran
    c.data[0] = 100  # the graph is freed: writable again
    assert c.data.flags.writeable


def test_6_write_through_data_of_a_saved_leaf_raises():
    w, c = _w(), an.tensor([4.0, 5.0, 6.0], requires_grad=True)
    loss = (w * c).sum()
    with pytest.raises(ValueError, match="read-only"):
        w.data[0] = 100
    with pytest.raises(ValueError, match="read-only"):
        w.data += 1
    loss.backward()
    assert c.grad.tolist() == [1.0, 1.0, 1.0]
    assert w.grad.tolist() == [4.0, 5.0, 6.0]
    w.data[0] = 100


def test_7_write_through_a_numpy_view_raises():
    w, c = _w(), _c()
    arr = c.numpy()
    loss = (w * c).sum()
    with pytest.raises(ValueError, match="read-only"):
        c.numpy()[0] = 100
    with pytest.raises(ValueError, match="read-only"):
        arr[0] = 100
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(c)[0] = 100
    loss.backward()
    assert w.grad.tolist() == [4.0, 5.0, 6.0]


@pytest.mark.parametrize("fn, deriv", [(an.tanh, lambda x, y: 1 - y * y),
                                       (an.exp, lambda x, y: y)])
def test_8_9_write_to_a_saved_output_raises_or_is_detected(fn, deriv):
    x = an.tensor([0.1, -0.7, 1.3], requires_grad=True)
    y = fn(x)
    with pytest.raises(ValueError, match="read-only"):
        y.data[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        y.detach().numpy()[1] = 0.0
    y.sum().backward(retain_graph=True)
    expected = deriv(x.data, np.array([np.tanh(v) if fn is an.tanh else np.exp(v)
                                       for v in x.data.tolist()]))
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-14)
    y.detach().zero_()  # a Tensor method: allowed, and it bumps the shared version
    name = "Tanh" if fn is an.tanh else "Exp"
    with pytest.raises(RuntimeError, match=modified(name + "'s output")):
        y.sum().backward()


# ------------------------------------------------------------------ read-only flags restored
def test_flags_are_restored_after_backward_and_after_collection():
    user = np.array([1.0, 2.0])
    frozen = np.array([3.0, 4.0])
    frozen.flags.writeable = False
    w = an.tensor([1.0, 1.0], requires_grad=True)
    a, b = an.as_tensor(user), an.as_tensor(frozen)
    assert a.data is user
    loss = (w * a * b).sum()
    assert not user.flags.writeable
    loss.backward()
    assert user.flags.writeable and not frozen.flags.writeable and w.data.flags.writeable
    loss = (w * a).sum()  # a graph dropped without backward
    assert not user.flags.writeable
    del loss
    gc.collect()
    assert user.flags.writeable and w.data.flags.writeable


def test_an_array_held_by_two_graphs_stays_read_only_until_both_are_freed():
    w, c = _w(), _c()
    loss1 = (w * c).sum()
    loss2 = (w * c * 2).sum()
    loss1.backward()
    with pytest.raises(ValueError, match="read-only"):
        c.data[0] = 100
    loss2.backward()
    c.data[0] = 100
    assert w.grad.tolist() == [12.0, 15.0, 18.0]


def test_retain_graph_keeps_arrays_read_only():
    w, c = _w(), _c()
    loss = (w * c).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(ValueError, match="read-only"):
        c.data[0] = 100
    loss.backward()
    assert c.data.flags.writeable


# ------------------------------------------------------------------ no_grad updates, leaves
def test_no_grad_augmented_assignment_updates_the_parameter_in_place():
    w = an.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    same, arr = w, w.data
    with an.no_grad():
        w -= 0.25 * w.grad
    assert w is same and w.data is arr and w.is_leaf and w.requires_grad
    assert w.tolist() == [0.5, 1.0] and w._version == 1
    params = [w]
    with an.no_grad():
        for p in params:
            p -= 0.5 * p.grad
    assert w.tolist() == [-0.5, -1.0]


@pytest.mark.parametrize("change", [lambda w: w.add_(1), lambda w: w.mul_(2),
                                    lambda w: w.__setitem__(0, 1.0), lambda w: w.zero_()])
def test_in_place_change_of_a_leaf_that_requires_grad_raises_in_grad_mode(change):
    w = _w()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*in-place"):
        change(w)
    with pytest.raises(RuntimeError, match="in-place"):
        w += 1
    assert w.tolist() == [1.0, 1.0, 1.0] and w._version == 0


def test_every_in_place_op_bumps_the_version_and_keeps_dtype_and_object():
    t = an.tensor([1.0, 2.0, 3.0], dtype=np.float32)
    arr = t.data
    ops = [lambda: t.add_(1), lambda: t.sub_(an.tensor([1.0, 1.0, 1.0])), lambda: t.mul_(2),
           lambda: t.div_(2), lambda: t.pow_(2), lambda: t.clamp_(0, 5), lambda: t.copy_(arr * 0 + 2),
           lambda: t.fill_(3), lambda: t.zero_(), lambda: t.__setitem__(1, 7)]
    for i, op in enumerate(ops, 1):
        assert op() is None or t is t
        assert t._version == i and t.data is arr and t.dtype == np.float32
    assert t.tolist() == [0.0, 7.0, 0.0]
    t += 1; t -= 0.5; t *= 4; t /= 2  # noqa: E702
    assert t.tolist() == [1.0, 15.0, 1.0] and t._version == 14


def test_in_place_results_match_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    cases = [("add_", (an.tensor(b),), {"alpha": 2}, a + 2 * b), ("sub_", (0.5,), {}, a - 0.5),
             ("mul_", (an.tensor(b),), {}, a * b), ("div_", (an.tensor(b),), {}, a / b),
             ("pow_", (2,), {}, a ** 2), ("clamp_", (-0.3, 0.4), {}, np.clip(a, -0.3, 0.4)),
             ("copy_", (an.tensor(b),), {}, np.broadcast_to(b, a.shape)),
             ("fill_", (1.5,), {}, np.full_like(a, 1.5)), ("zero_", (), {}, np.zeros_like(a))]
    for name, args, kw, expected in cases:
        t = an.tensor(a)
        getattr(t, name)(*args, **kw)
        np.testing.assert_array_equal(t.data, expected)


def test_in_place_errors_name_the_op():
    t = an.zeros(3, dtype=np.int64)
    with pytest.raises(RuntimeError, match="mul_: result type float64 can't be cast"):
        t.mul_(0.5)
    with pytest.raises(RuntimeError, match=r"add_: the result has shape \(2, 3\)"):
        an.zeros(3).add_(an.zeros((2, 3)))
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        an.as_tensor(frozen).add_(1)
    assert not frozen.flags.writeable


# ------------------------------------------------------------------ differentiable in-place ops
def _inplace_fn(x, y, v):
    h = x * 1.5  # a non-leaf: in-place ops rebase it
    h.add_(y, alpha=2)
    h.sub_(0.25)
    h.mul_(y)
    h.div_(y * y + 1)
    h.pow_(2)
    h.clamp_(-2.0, 0.9)
    h[1] = v * 3
    h += y
    h -= 0.5 * x
    h *= x
    h /= 1.5
    return h


def _inputs(seed=0, shape=(4,)):
    rng = np.random.default_rng(seed)
    return (an.tensor(rng.uniform(-1, 1, shape), requires_grad=True),
            an.tensor(rng.uniform(-1, 1, shape), requires_grad=True),
            an.tensor(rng.uniform(-1, 1), requires_grad=True))


def test_in_place_chain_matches_out_of_place_and_finite_differences():
    x, y, v = _inputs()
    out = _inplace_fn(x, y, v)
    h = ((x * 1.5 + 2 * y - 0.25) * y / (y * y + 1)) ** 2
    h = an.clip(h, -2.0, 0.9)
    ref = an.where(an.tensor([False, True, False, False]), v * 3, h)
    ref = ((ref + y) - 0.5 * x) * x / 1.5
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-14)
    assert an.gradcheck(_inplace_fn, (x, y, v), check_forward_ad=True)
    assert an.gradgradcheck(_inplace_fn, (x, y, v))


@pytest.mark.parametrize("index", [1, slice(1, 3), [0, 2], (Ellipsis,),
                                   np.array([True, False, True, False])])
def test_setitem_gradient_reaches_value_and_kept_entries(index):
    x, _, _ = _inputs(1)
    v = an.tensor(np.float64(0.7), requires_grad=True)

    def f(x, v):
        h = x * 2.0
        h[index] = v
        return h * an.tensor([1.0, 2.0, 3.0, 4.0])

    assert an.gradcheck(f, (x, v))
    f(x, v).sum().backward()
    kept = np.ones(4)
    kept[index] = 0
    np.testing.assert_allclose(x.grad.data, 2.0 * kept * [1, 2, 3, 4])
    assert v.grad.item() == pytest.approx(float(np.sum((1 - kept) * [1, 2, 3, 4])))


def test_setitem_into_a_constant_with_a_value_that_requires_grad():
    v = an.tensor([2.0, 3.0], requires_grad=True)
    c = an.zeros((2, 2))
    c[0] = v
    assert c.requires_grad and c.grad_fn.name == "SetItem"
    (c * an.tensor([[1.0, 10.0], [100.0, 1000.0]])).sum().backward()
    assert v.grad.tolist() == [1.0, 10.0]


def test_copy_and_fill_cut_the_old_value_from_the_gradient():
    x, y, v = _inputs(2)
    assert an.gradcheck(lambda x, y: (x * 1.0).copy_(y * 2) * x, (x, y))
    assert an.gradcheck(lambda x, v: (x * 3.0).fill_(v) * x, (x, v))
    h = x * 3.0
    h.zero_()
    (h + x).sum().backward()
    assert x.grad.tolist() == [1.0] * 4


def test_nodes_made_before_an_in_place_op_see_the_old_value_and_node():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    z = h + 1.0  # made before the change: routed to the old h
    h.mul_(2.0)
    (z + h).sum().backward()
    assert x.grad.tolist() == [9.0, 9.0]  # 3 from z, 6 from h
    x.grad = None
    h = x * 3.0
    z = h * 5.0
    h.add_(1)
    (z * h).sum().backward()  # d/dx (15x * (3x+1)) = 90x + 15
    assert x.grad.tolist() == [105.0, 195.0]


def test_an_in_place_change_of_a_value_a_rule_reads_is_detected():
    x = an.tensor([0.5, 1.5], requires_grad=True)
    y = x.exp()
    y.add_(1)  # exp's rule reads its output
    with pytest.raises(RuntimeError, match=modified("Exp's output")):
        y.sum().backward()
    x2 = an.tensor([0.5, 1.5], requires_grad=True)
    h = x2 * 1.0
    z = h * x2  # Mul saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match=modified("Mul's input 0")):
        (z + h).sum().backward()


def test_in_place_change_through_a_view_is_detected():
    w, c = _w(), _c()
    view = c[0:2]  # made before c was saved: writable, shares c's memory
    loss = (w * c).sum()
    view[0] = 100
    assert c._version == 1 and view._version == 1
    with pytest.raises(RuntimeError, match=modified("Mul's input 1")):
        loss.backward()
    w2, c2 = _w(), _c()
    loss2 = (w2 * c2).sum()
    later = c2[0:2]  # a view of an array a backward needs is read-only...
    with pytest.raises(ValueError, match="read-only"):
        later.data[0] = 100
    later[0] = 100  # ...except to Tensor methods, which bump the shared version
    with pytest.raises(RuntimeError, match=modified("Mul's input 1")):
        loss2.backward()
    assert not c2.data.flags.writeable  # still held: the backward stopped
    del loss2
    gc.collect()
    assert c2.data.flags.writeable and c2.tolist() == [100.0, 5.0, 6.0]


def test_fused_layers_plain_and_create_graph_paths():
    rng = np.random.default_rng(3)
    model = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.ReLU(), an.nn.Linear(4, 2), an.nn.Tanh())
    x = an.tensor(rng.normal(size=(5, 3)))
    out = model(x)
    with pytest.raises(ValueError, match="read-only"):
        x.data[0, 0] = 1.0
    with an.no_grad():
        x[0, 0] = 1.0
    with pytest.raises(RuntimeError, match=MODIFIED):
        out.sum().backward()
    opt = an.optim.SGD(model.parameters(), lr=0.1)
    loss = model(x).sum()
    loss.backward(create_graph=True)
    opt.step()  # the weights' second write (the init at construction was their first)
    with pytest.raises(RuntimeError, match=r"inplace operation.*version 2; expected version 1"):
        loss.backward()


def test_func_transforms_and_anomaly_mode_with_in_place_ops():
    x, y, v = _inputs(4)
    g = an.func.grad(lambda x: _inplace_fn(x, y, v).sum())(x)
    (g_ref,) = an.grad(_inplace_fn(x, y, v).sum(), x)
    np.testing.assert_allclose(g.data, g_ref.data, rtol=1e-14)
    with an.detect_anomaly():
        out = _inplace_fn(x, y, v).sum()
        out.backward()
    c = _c()
    with an.detect_anomaly():
        loss = (x[:3] * c).sum()
        c[1] = 0
        with pytest.raises(RuntimeError, match=MODIFIED):
            loss.backward()


def test_custom_function_inputs_changed_in_place_are_detected():
    Square = square_function(2, "Square")
    c = an.tensor([1.0, 2.0], requires_grad=True)
    h = c * 1.0
    y = Square.apply(h)
    with an.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()


def test_training_still_converges_with_every_optimizer():
    rng = np.random.default_rng(5)
    X = an.tensor(rng.normal(size=(64, 3)))
    Y = X.data @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    for make in (lambda p: an.optim.SGD(p, lr=0.1, momentum=0.9), lambda p: an.optim.Adam(p, lr=0.05),
                 lambda p: an.optim.RMSprop(p, lr=0.01)):
        model = an.nn.Linear(3, 1)
        opt = make(model.parameters())
        first = an.nn.functional.mse_loss(model(X), an.tensor(Y)).item()
        for _ in range(300):
            opt.zero_grad()
            loss = an.nn.functional.mse_loss(model(X), an.tensor(Y))
            loss.backward()
            opt.step()
        assert loss.item() < 1e-2 * first
        assert model.weight._version == 1 + 300  # the init at construction, as PyTorch's


def test_a_held_view_is_writable_again_once_its_base_is():
    x = an.tensor(np.arange(1.0, 7.0))
    v = x.reshape(2, 3)  # a NumPy view of x's array, writable: made before any hold
    w1 = an.ones(6, requires_grad=True)
    w2 = an.ones((2, 3), requires_grad=True)
    a = (w1 * x).sum()  # holds x's array
    b = (w2 * v).sum()  # holds the view
    assert not x.data.flags.writeable and not v.data.flags.writeable
    b.backward()  # the view's holder goes first, while its base is still held
    with pytest.raises(ValueError, match="read-only"):
        v.data[0, 0] = 0
    a.backward()
    assert x.data.flags.writeable and v.data.flags.writeable
    assert w2.grad.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_threads_sharing_a_model_keep_the_counts():
    import threading
    rng = np.random.default_rng(6)
    model = an.nn.Sequential(an.nn.Linear(4, 8), an.nn.Tanh(), an.nn.Linear(8, 1))
    X = an.tensor(rng.normal(size=(16, 4)))
    errors = []

    def work():
        try:
            for _ in range(200):
                model(X).sum().backward()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(p.data.flags.writeable for p in model.parameters())
    opt = an.optim.SGD(model.parameters(), lr=0.1)
    opt.step()


def test_pytorch_style_in_place_layers_give_the_out_of_place_gradients():
    rng = np.random.default_rng(8)
    x = an.tensor(rng.normal(size=(8, 4)))
    lin, bn = an.nn.Linear(4, 4), an.nn.BatchNorm1d(4)

    def grads(inplace):
        for p in list(lin.parameters()) + list(bn.parameters()):
            p.grad = None
        total = an.tensor(0.0)
        for _ in range(2):
            h = bn(lin(x))
            if inplace:
                h += x  # a residual added in place, then a ReLU in place
                h.clamp_(min=0)
                total += (h * h).mean()
            else:
                h = an.clip(h + x, 0, None)
                total = total + (h * h).mean()
        total.backward()
        return [p.grad.data.copy() for p in list(lin.parameters()) + list(bn.parameters())]

    for a, b in zip(grads(True), grads(False)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_refused_in_place_op_leaves_the_tensor_and_its_graph_as_they_were():
    x = an.tensor([0.5, 1.5], requires_grad=True)
    h = x.exp()
    with pytest.raises(RuntimeError, match=r"mul_: the result has shape \(3, 2\)"):
        h.mul_(an.ones((3, 2), requires_grad=True))
    assert h.grad_fn.name == "Exp" and h._version == 0
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([0.5, 1.5]), rtol=1e-15)
    assert x.data.flags.writeable and h.data.flags.writeable


def test_a_write_that_does_not_fit_names_the_op_and_the_shapes():
    # (no graph: the array is written directly, where NumPy's message named no op)
    for name, call in [("copy_", lambda t: t.copy_(np.ones((3, 3)))),
                       ("fill_", lambda t: t.fill_(np.ones(3))),
                       ("setitem", lambda t: t.__setitem__(0, np.ones(3)))]:
        t = an.ones((2, 2))
        message = rf"^{name}: could not broadcast .*\(the tensor has shape \(2, 2\)\)"
        with pytest.raises(ValueError, match=message):
            call(t)
        assert (t.data == 1).all()   # nothing written

"""Engine semantics: accumulation, retain_graph, diamonds, deep chains, grad modes, errors."""
import threading

import numpy as np
import pytest

import autonn as an


def test_gradients_accumulate_across_backward_calls():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3 + 2, 3 + 4])


def test_diamond_sums_both_paths():
    x = an.tensor(2.0, requires_grad=True)
    a = x * 3
    y = a * a + a  # dy/dx = (2a + 1) * 3
    y.backward()
    assert x.grad.item() == pytest.approx((2 * 6 + 1) * 3)


def test_same_tensor_used_twice_in_one_op():
    x = an.tensor([1.5, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, -4.0])


def test_deep_chain_does_not_recurse():
    x = an.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_second_backward_through_freed_graph_raises_and_says_what_to_do():
    x = an.tensor(1.0, requires_grad=True)
    y = an.exp(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = an.tensor(1.0, requires_grad=True)
    y = an.exp(x)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * np.e)


def test_backward_on_non_scalar_needs_gradient():
    x = an.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):
        (x * 2).backward()
    (x * 2).backward(an.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.data, [2, 4, 6])


def test_gradient_of_wrong_shape_is_rejected():
    x = an.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(an.ones(2))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating point"):
        an.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        an.tensor([1, 2]).requires_grad_()


def test_no_grad_records_nothing_and_enable_grad_restores():
    x = an.ones(2, requires_grad=True)
    with an.no_grad():
        y = x * 2
        with an.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None

    @an.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    assert an.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with an.no_grad():
        t = threading.Thread(target=lambda: seen.append(an.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_detach_cuts_the_graph_and_shares_data():
    x = an.ones(2, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (d * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.data, [2, 2])


def test_leaf_and_grad_fn_attributes():
    x = an.ones(2, requires_grad=True)
    y = x + 1
    assert x.is_leaf and not y.is_leaf
    assert y.grad_fn.name == "AddScalar"  # a Python number is a constant of the op
    y.retain_grad()
    (y * 3).sum().backward()
    np.testing.assert_allclose(y.grad.data, [3, 3])


def test_grad_returns_tuple_and_leaves_dot_grad_alone():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = an.tensor([3.0, 4.0], requires_grad=True)
    gx, gy = an.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(gx.data, [3, 4])
    np.testing.assert_allclose(gy.data, [1, 2])
    assert x.grad is None and y.grad is None


def test_grad_allow_unused():
    x = an.ones(2, requires_grad=True)
    z = an.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        an.grad((x * 2).sum(), [x, z])
    gx, gz = an.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx is not None


def test_grad_with_respect_to_an_intermediate():
    x = an.tensor(3.0, requires_grad=True)
    a = x * x
    y = a * 5
    (ga,) = an.grad(y, a)
    assert ga.item() == 5.0


def test_create_graph_false_records_nothing():
    x = an.tensor(2.0, requires_grad=True)
    (g,) = an.grad(x ** 3, x)
    assert not g.requires_grad


def test_higher_order_derivatives():
    x = an.tensor(0.7, requires_grad=True)
    y = an.sin(x) * x
    (d1,) = an.grad(y, x, create_graph=True)
    (d2,) = an.grad(d1, x, create_graph=True)
    (d3,) = an.grad(d2, x)
    v = 0.7
    assert d1.item() == pytest.approx(np.cos(v) * v + np.sin(v))
    assert d2.item() == pytest.approx(-np.sin(v) * v + 2 * np.cos(v))
    assert d3.item() == pytest.approx(-np.cos(v) * v - 3 * np.sin(v))


def test_broadcast_gradient_is_summed_back():
    x = an.ones((3, 1), requires_grad=True)
    y = an.ones((4,), requires_grad=True)
    (x * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((3, 1), 4.0))
    np.testing.assert_allclose(y.grad.data, np.full(4, 3.0))


def test_repeated_indices_accumulate():
    x = an.arange(4.0, requires_grad=True)
    x[np.array([1, 1, 3])].sum().backward()
    np.testing.assert_allclose(x.grad.data, [0, 2, 0, 1])


def test_iteration_and_len():
    x = an.arange(6.0, requires_grad=True).reshape(3, 2)
    rows = list(x)
    assert len(x) == 3 and len(rows) == 3 and rows[1].shape == (2,)
    sum(r.sum() * (i + 1) for i, r in enumerate(rows)).backward()


def test_comparisons_have_no_grad():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    c = x > 1.5
    assert c.dtype == bool and not c.requires_grad
    np.testing.assert_array_equal(c.data, [False, True])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.longdouble])
def test_dtypes_flow_end_to_end(dtype):
    x = an.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=dtype, requires_grad=True)
    w = an.tensor(np.ones((3, 2)), dtype=dtype, requires_grad=True)
    y = an.log_softmax(an.tanh(x @ w) * 2.0 + 1, axis=1).sum() + an.sigmoid(x).mean() + an.gelu(x).sum()
    assert y.dtype == dtype
    y.backward()
    assert x.grad.dtype == dtype and w.grad.dtype == dtype


def test_python_scalars_do_not_upcast_float32():
    x = an.ones(3, dtype=np.float32, requires_grad=True)
    y = 2.0 * x - 1.5 + x / 3.0 + x ** 2.0 + 1.0 / (x + 1)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_mixed_precision_grads_cast_back_to_input_dtype():
    a = an.ones(2, dtype=np.float32, requires_grad=True)
    b = an.ones(2, dtype=np.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_set_default_dtype():
    an.set_default_dtype(np.float32)
    try:
        assert an.tensor([1.0]).dtype == np.float32
        assert an.zeros(2).dtype == np.float32
        assert an.randn(2).dtype == np.float32
        assert an.tensor([1, 2]).dtype == np.int64
    finally:
        an.set_default_dtype(np.float64)


@pytest.mark.parametrize("fn, match", [
    (lambda: an.ones((2, 3)) + an.ones((4,)), r"Add.*\(2, 3\).*\(4,\)"),
    (lambda: an.ones((2, 3)) @ an.ones((2, 3)), r"matmul.*\(2, 3\).*\(2, 3\)"),
    (lambda: an.ones((2, 3)).reshape(4), r"reshape.*\(2, 3\).*\(4,\)"),
    (lambda: an.sum(an.ones((2, 3)), axis=2), r"sum: axis 2 .*dimension 2"),
    (lambda: an.softmax(an.ones(3), axis=1), r"softmax: axis 1"),
    (lambda: an.concatenate([an.ones((2, 3)), an.ones((2, 4))]), r"concatenate"),
    (lambda: an.squeeze(an.ones((2, 3)), 0), r"squeeze"),
    (lambda: an.broadcast_to(an.ones(3), (2, 4)), r"broadcast_to.*\(3,\).*\(2, 4\)"),
])
def test_errors_name_the_op_and_shapes(fn, match):
    with pytest.raises(ValueError, match=match):
        fn()


def test_item_numpy_and_repr():
    x = an.tensor([2.5], requires_grad=True)
    assert x.item() == 2.5
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<MulScalar>" in repr(x * 2) and "grad_fn=<Mul>" in repr(x * x)
    assert an.tensor([1, 2]).tolist() == [1, 2]


def test_creation_functions():
    assert an.zeros(2, 3).shape == (2, 3) and an.ones((4,)).data.sum() == 4
    assert an.full((2,), 3.0).data.tolist() == [3.0, 3.0]
    assert an.eye(3).data.trace() == 3
    assert an.arange(5).dtype == np.int64 and an.arange(5.0).dtype == np.float64
    assert an.zeros_like(an.ones(3)).data.sum() == 0 and an.ones_like(an.zeros(3)).data.sum() == 3
    assert an.empty(2, requires_grad=True).requires_grad
    an.manual_seed(3)
    a = an.randn(5).data
    an.manual_seed(3)
    np.testing.assert_array_equal(a, an.randn(5).data)
    assert an.rand(1000).data.min() >= 0 and an.rand(1000).data.max() < 1


def test_tensor_copies_its_data():
    arr = np.ones(3)
    t = an.tensor(arr)
    arr[0] = 5
    assert t.data[0] == 1


def test_setitem_refuses_on_tensors_in_the_graph():
    x = an.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 2.0
    y = an.zeros(3)
    y[1] = 4.0
    assert y.data.tolist() == [0, 4, 0]


def test_detect_anomaly_names_op_and_user_line():
    x = an.tensor([-1.0, 1.0], requires_grad=True)
    with an.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"Log.*test_engine\.py:\d+"):
            an.log(x)
        y = an.sqrt(x * x)  # forward is finite; backward of sqrt at 0 is not
        z = an.tensor([0.0, 1.0], requires_grad=True)
        w = an.sqrt(z)
        with pytest.raises(RuntimeError, match=r"backward of Sqrt.*test_engine\.py:\d+"):
            w.sum().backward()
        assert y.shape == (2,)


def test_max_splits_ties_evenly():
    x = an.tensor([3.0, 1.0, 3.0], requires_grad=True)
    an.max(x).backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0, 0.5])
    y = an.tensor([2.0, 2.0], requires_grad=True)
    an.maximum(y[0], y[1]).backward()
    np.testing.assert_allclose(y.grad.data, [0.5, 0.5])


def test_var_std_follow_numpy_ddof():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    np.testing.assert_allclose(an.var(an.tensor(a), axis=1).data, np.var(a, axis=1))
    np.testing.assert_allclose(an.std(an.tensor(a), axis=0, ddof=1).data, np.std(a, axis=0, ddof=1))
    np.testing.assert_allclose(an.tensor(a).var(dim=1, keepdim=True).data, np.var(a, 1, keepdims=True))


def test_softmax_family_is_stable():
    x = an.tensor([1e4, 0.0, -1e4], requires_grad=True)
    s = an.softmax(x)
    assert np.isfinite(s.data).all() and s.data[0] == pytest.approx(1)
    ls = an.log_softmax(x)
    assert np.isfinite(ls.data).all()
    assert an.logsumexp(x).item() == pytest.approx(1e4)
    ls.sum().backward()
    assert np.isfinite(x.grad.data).all()


def test_leaf_grads_own_their_memory():
    a = an.ones(3, requires_grad=True)
    b = an.ones(3, requires_grad=True)
    (a + b).sum().backward()  # Add hands the same gradient to both; Sum's is a broadcast view
    a.grad.zero_()
    np.testing.assert_allclose(b.grad.data, [1, 1, 1])
    grad_obj = a.grad
    (a * 2).sum().backward()
    assert a.grad is grad_obj  # accumulated in place
    np.testing.assert_allclose(a.grad.data, [2, 2, 2])


def test_leaf_grad_never_aliases_the_callers_gradient():
    x = an.ones(3, requires_grad=True)
    seed = an.tensor([1.0, 2.0, 3.0])
    (x + 0.0).backward(seed)  # Add passes the caller's gradient straight through
    x.grad.data[0] = 100.0
    assert seed.data.tolist() == [1.0, 2.0, 3.0]
    (x + 0.0).backward(seed)
    assert seed.data.tolist() == [1.0, 2.0, 3.0] and x.grad.data.tolist() == [101.0, 4.0, 6.0]


def test_leaf_gradients_summed_during_the_walk_leave_pending_gradients_alone():
    # A leaf's gradient lands as soon as it is made. Add hands one array to both its inputs:
    # the leaf adopts it while B still waits for it, so D's later contribution to A must not
    # be added into that array in place (B would then see 1 + cos(a) instead of 1).
    a = np.array([0.3, 0.7])
    A = an.tensor(a, requires_grad=True)
    B = an.exp(A)  # created before D, so visited after D
    D = an.sin(A)
    (((A + B) + D) * 2.0).sum().backward()
    np.testing.assert_allclose(A.grad.data, 2 * (1 + np.exp(a) + np.cos(a)), rtol=1e-14)


def test_create_graph_grad_is_not_updated_in_place_later():
    x, y = an.tensor([1., 2.], requires_grad=True), an.tensor([3., 4.], requires_grad=True)
    w = an.tensor([2., 2.])
    ((x + y) * w).sum().backward(create_graph=True)
    ((x + y) * w).sum().backward()
    np.testing.assert_allclose(x.grad.data, [4, 4])
    np.testing.assert_allclose(y.grad.data, [4, 4])


def test_grad_wrt_non_leaf_stops_there():
    x = an.tensor([1., 2.], requires_grad=True)
    y = x * x
    y.sum().backward()  # frees y's own node
    (g,) = an.grad((y * 3).sum(), y)  # needs nothing upstream of y
    np.testing.assert_allclose(g.data, [3, 3])
    x2 = an.tensor([1., 2.], requires_grad=True)
    y2 = x2 * x2
    z3 = an.tensor([1., 2.], requires_grad=True)
    y3 = z3 * z3
    an.grad((y3 * 3).sum(), y3)  # stops at y3: its own node is neither run nor freed
    y3.sum().backward()
    np.testing.assert_allclose(z3.grad.data, [2, 4])
    gy, gx = an.grad((y2 * 3).sum(), [y2, x2])  # x2 is upstream of y2: flows through it
    np.testing.assert_allclose(gy.data, [3, 3])
    np.testing.assert_allclose(gx.data, [6, 12])


def test_backward_through_a_copied_node():
    # copy.copy keeps the creation index; the walk must still order (and never compare) them
    import copy
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = copy.copy(y)
    (y.sum() + 3 * z.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [8.0, 8.0])


@pytest.mark.parametrize("order", ["newer_first", "older_first"])
def test_node_reached_first_waits_for_newer_consumers(order):
    # out's parents are z and w = 3 z: z must not be visited before w has sent it w's share.
    # The walk visits a freshly reached node directly only when nothing newer waits; d/dx of
    # 3 (2x) + 2x is 8 whichever input of out comes first (it is 2 if z goes too early).
    x = an.tensor([1.0, -2.0], requires_grad=True)
    z = x * 2.0
    w = z * 3.0
    out = (w + z) if order == "newer_first" else (z + w)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [8.0, 8.0])


def test_plain_backward_keeps_zero_d_gradients_as_arrays():
    # arithmetic on 0-d arrays gives NumPy scalars; gradients (and .grad) stay 0-d arrays
    x = an.tensor(1.5, requires_grad=True)
    a = x * 2.0
    (a * a + a * 3.0 + a).backward()
    assert isinstance(x.grad.data, np.ndarray) and x.grad.data.shape == ()
    assert x.grad.item() == 2 * (2 * 3.0 + 3.0 + 1.0)  # d/dx of a^2 + 4a at a = 3
    (g,) = an.grad(x * x, x)
    assert isinstance(g.data, np.ndarray) and g.item() == 3.0


def test_plain_and_create_graph_backward_agree_on_fused_layers():
    # the plain backward runs the ops' array rules (vjp_arrays), create_graph their Tensor
    # rules; both must give the same gradients (checked against finite differences elsewhere)
    rng = np.random.default_rng(3)
    x = an.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    lin = an.nn.Linear(4, 3, dtype=np.float64)
    labels = an.tensor(rng.integers(0, 3, 5))
    params = [x, lin.weight, lin.bias]
    loss = an.nn.functional.cross_entropy(an.relu(lin(x)) * 2.0 + 1.0, labels)
    plain = an.grad(loss, params, retain_graph=True)
    graph = an.grad(loss, params, create_graph=True)
    for a, b in zip(plain, graph):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-15)


def test_zero_d_leaf_used_twice_accumulates_over_backwards():
    # 0-d + 0-d is a NumPy scalar; the owned .grad must stay an array to be added into again
    s = an.tensor(2.0, requires_grad=True)
    ((s * 3.0) * s).backward()
    assert isinstance(s.grad.data, np.ndarray)
    ((s * 3.0) * s).backward()
    assert s.grad.item() == 2 * (6.0 * 2.0)  # d/ds 3 s^2 = 6 s, twice


def test_detect_anomaly_on_zero_d_graphs():
    w = an.tensor(np.ones((3, 2)), requires_grad=True)
    x = an.tensor(np.arange(6.0).reshape(2, 3))
    with an.detect_anomaly():
        loss = an.nn.functional.mse_loss(x @ w, an.zeros((2, 2)))
        (loss ** 2).backward()  # finite: no error
    np.testing.assert_allclose(w.grad.data, 2 * loss.item() * x.data.T @ (x.data @ w.data) / 2)
    with pytest.raises(RuntimeError, match="backward of Sqrt returned NaN/Inf"):
        with an.detect_anomaly(), np.errstate(divide="ignore"):
            an.sqrt(an.tensor(0.0, requires_grad=True)).backward()


def test_grad_through_a_freed_intermediate_raises():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    (y * y).sum().backward()  # frees y's node
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        an.grad((y * 3.0).sum(), x, allow_unused=True)
    (gy,) = an.grad((y * 3.0).sum(), y)  # y itself is wanted: nothing upstream is needed
    np.testing.assert_array_equal(gy.data, [3.0, 3.0])

"""Library code that writes parameters and buffers (``nn.init``, ``load_state_dict``,
``load_torch_state_dict``, ``reset_parameters``, BatchNorm's running statistics, optimizers,
``simple.Network.train``, ``distributed.broadcast``/``all_reduce``) writes in place through
``autonn.inplace.overwrite``, as PyTorch: while a graph holds the tensor (its array read-only)
the write succeeds, the tensor object and its memory stay the same, its version bumps, and a
later backward that needs the old value raises PyTorch's version-counter error. Oracles: the
values passed in, or hand formulas with a generator seeded as autonn's."""
import gc
import math
import re

import numpy as np
import pytest

import autonn as an
from autonn.inplace import overwrite
from autonn.simple import FullyConnectedLayer, Network, identity, identity_deriv


def version_error(now, then):
    """PyTorch's message, naming an op's saved value and the two versions."""
    return (r"one of the variables needed for gradient computation has been modified by an "
            rf"inplace operation: \[\w+'s (input \d|output), .* is at version {now}; expected "
            rf"version {then} instead")


def held(*tensors):
    """A graph whose backward reads each tensor's value (each times a ``c`` that requires
    grad, so the product saves it) and the ``c``s."""
    cs = [an.tensor(np.linspace(1.0, 2.0, t.size).reshape(t.shape), requires_grad=True)
          for t in tensors]
    y = sum((t * c).sum() for t, c in zip(tensors, cs))
    for t in tensors:
        assert not t.data.flags.writeable  # the graph holds it
    return y, cs


def snapshot(*tensors):
    """(object, array, version, read-only) of each tensor, before a write."""
    return [(t, t.data, t._version, not t.data.flags.writeable) for t in tensors]


def assert_in_place(before, n_writes=1):
    """Same object, same memory, version bumped by the number of writes, still read-only (the
    graph still holds it)."""
    for t, arr, v, read_only in before:
        assert t.data is arr
        assert t._version == v + n_writes
        assert t.data.flags.writeable != read_only


def assert_backward_raises(y, before, n_writes=1):
    versions = {(v + n_writes, v) for _, _, v, _ in before}
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert any(re.search(version_error(now, then), str(info.value))
               for now, then in versions), str(info.value)


def fresh_graph_works(t):
    """After the old graph is gone: a new graph through ``t`` backpropagates the new value."""
    gc.collect()
    assert t.data.flags.writeable  # writable again once nothing holds it
    c = an.tensor(np.full(t.shape, 3.0), requires_grad=True)
    (t * c).sum().backward()
    np.testing.assert_array_equal(c.grad.data, t.data)


# ------------------------------------------------------------------ nn.init
def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, shape)


SHAPE = (4, 3)  # a Linear weight in autonn's layout: fan_in 4, fan_out 3
INITS = {
    "uniform_": (lambda w: an.nn.init.uniform_(w, -0.5, 0.25),
                 lambda rng: rng.uniform(-0.5, 0.25, SHAPE)),
    "normal_": (lambda w: an.nn.init.normal_(w, 1.0, 2.0),
                lambda rng: rng.normal(1.0, 2.0, SHAPE)),
    "constant_": (lambda w: an.nn.init.constant_(w, 0.75), lambda rng: np.full(SHAPE, 0.75)),
    "zeros_": (an.nn.init.zeros_, lambda rng: np.zeros(SHAPE)),
    "ones_": (an.nn.init.ones_, lambda rng: np.ones(SHAPE)),
    "xavier_uniform_": (lambda w: an.nn.init.xavier_uniform_(w, gain=2.0),
                        lambda rng: _uniform(rng, 2.0 * math.sqrt(6 / 7), SHAPE)),
    "xavier_normal_": (an.nn.init.xavier_normal_,
                       lambda rng: rng.normal(0.0, math.sqrt(2 / 7), SHAPE)),
    "kaiming_uniform_": (lambda w: an.nn.init.kaiming_uniform_(w, a=1.0),
                         lambda rng: _uniform(rng, math.sqrt(3) * 1.0 / math.sqrt(4), SHAPE)),
    "kaiming_normal_": (lambda w: an.nn.init.kaiming_normal_(w, nonlinearity="relu"),
                        lambda rng: rng.normal(0.0, math.sqrt(2) / math.sqrt(4), SHAPE)),
}


@pytest.mark.parametrize("name", sorted(INITS))
def test_init_while_a_graph_holds_the_parameter(name):
    init, expected = INITS[name]
    w = an.nn.Parameter(np.full(SHAPE, 9.0))
    y, _ = held(w)
    before = snapshot(w)
    an.manual_seed(7)
    assert init(w) is w
    np.testing.assert_allclose(w.data, expected(np.random.default_rng(7)), rtol=1e-15)
    assert_in_place(before)
    assert_backward_raises(y, before)
    del y
    fresh_graph_works(w)


@pytest.mark.parametrize("name", sorted(INITS))
def test_init_without_a_graph(name):
    init, expected = INITS[name]
    w = an.nn.Parameter(np.full(SHAPE, 9.0))
    arr, v = w.data, w._version
    an.manual_seed(3)
    init(w)
    np.testing.assert_allclose(w.data, expected(np.random.default_rng(3)), rtol=1e-15)
    assert w.data is arr and w._version == v + 1
    fresh_graph_works(w)


def test_init_of_a_user_read_only_array_names_the_problem():
    w = an.zeros(3)
    w.data.setflags(write=False)  # the user's read-only array, not held by a graph
    with pytest.raises(ValueError, match=r"shape \(3,\).* is read-only"):
        an.nn.init.ones_(w)
    np.testing.assert_array_equal(w.data, np.zeros(3))


# ------------------------------------------------------------------ load_state_dict
def _linear_graph(m):
    x = an.tensor(np.arange(12.0).reshape(4, 3) / 7, requires_grad=True)
    return (an.relu(m(x)) * 2).sum()


def test_load_state_dict_while_a_graph_holds_the_parameters():
    m = an.nn.Linear(3, 2)
    y = _linear_graph(m)
    before = snapshot(m.weight, m.bias)
    W = np.array([[1.0, -2.0], [0.5, 4.0], [3.0, 0.25]])
    b = np.array([-1.0, 2.0])
    m.load_state_dict({"weight": W, "bias": an.tensor(b)})
    np.testing.assert_array_equal(m.weight.data, W)
    np.testing.assert_array_equal(m.bias.data, b)
    assert_in_place(before)
    assert_backward_raises(y, before)
    del y
    fresh_graph_works(m.weight)


def test_the_issue_example_init_load_reset_in_a_row():
    m = an.nn.Linear(3, 2)
    y = _linear_graph(m)
    before = snapshot(m.weight)
    an.nn.init.normal_(m.weight)
    m.load_state_dict({k: v.data * 0 for k, v in m.state_dict().items()})
    np.testing.assert_array_equal(m.weight.data, np.zeros((3, 2)))
    an.manual_seed(11)
    m.reset_parameters()
    rng = np.random.default_rng(11)
    np.testing.assert_allclose(m.weight.data, rng.uniform(-1 / math.sqrt(3), 1 / math.sqrt(3),
                                                          (3, 2)), rtol=1e-14, atol=0)
    assert_in_place(before, n_writes=3)
    assert_backward_raises(y, before, n_writes=3)


def test_load_state_dict_with_a_bad_shape_writes_nothing():
    m = an.nn.Linear(3, 2)
    y = _linear_graph(m)
    before = snapshot(m.weight, m.bias)
    old = m.weight.data.copy()
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        m.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(2)})
    np.testing.assert_array_equal(m.weight.data, old)
    assert_in_place(before, n_writes=0)
    y.backward()  # nothing changed: the old graph still works


def test_load_torch_state_dict_of_numpy_arrays_while_a_graph_holds_the_parameters():
    m = an.nn.Sequential(an.nn.Linear(3, 2), an.nn.BatchNorm1d(2))
    x = an.tensor(np.arange(12.0).reshape(4, 3) / 5, requires_grad=True)
    y = (m(x) * an.tensor([1.0, 3.0])).sum()
    y2, _ = held(m[1].running_mean)
    before = snapshot(*m.parameters(), m[1].running_mean)
    W_torch = np.array([[1.0, 2.0, 3.0], [-4.0, 5.0, -6.0]])  # PyTorch's (out, in)
    state = {"0.weight": W_torch, "0.bias": np.array([0.5, -0.5]),
             "1.weight": np.array([2.0, 3.0]), "1.bias": np.array([0.0, 1.0]),
             "1.running_mean": np.array([7.0, 8.0]), "1.running_var": np.array([2.0, 4.0]),
             "1.num_batches_tracked": np.array(5)}
    an.nn.load_torch_state_dict(m, state)
    np.testing.assert_array_equal(m[0].weight.data, W_torch.T)
    np.testing.assert_array_equal(m[0].bias.data, [0.5, -0.5])
    np.testing.assert_array_equal(m[1].running_mean.data, [7.0, 8.0])
    assert int(m[1].num_batches_tracked.data) == 5
    assert_in_place(before)
    assert_backward_raises(y, before[:-1])
    assert_backward_raises(y2, before[-1:])


# ------------------------------------------------------------------ reset_parameters
def _bound(fan_in):
    return 1 / math.sqrt(fan_in)


def _linear_expected(rng):
    return [rng.uniform(-_bound(3), _bound(3), (3, 2)), rng.uniform(-_bound(3), _bound(3), 2)]


def _conv_expected(rng):
    fan_in = 2 * 3 * 3
    return [rng.uniform(-_bound(fan_in), _bound(fan_in), (4, 2, 3, 3)),
            rng.uniform(-_bound(fan_in), _bound(fan_in), 4)]


RESETS = {
    "Linear": (lambda: an.nn.Linear(3, 2), _linear_expected),
    "Conv2d": (lambda: an.nn.Conv2d(2, 4, 3), _conv_expected),
    "Embedding": (lambda: an.nn.Embedding(5, 3), lambda rng: [rng.normal(0.0, 1.0, (5, 3))]),
    "LayerNorm": (lambda: an.nn.LayerNorm(3), lambda rng: [np.ones(3), np.zeros(3)]),
    "BatchNorm1d": (lambda: an.nn.BatchNorm1d(3),
                    lambda rng: [np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), 0]),
}


@pytest.mark.parametrize("name", sorted(RESETS))
def test_reset_parameters_while_a_graph_holds_them(name):
    build, expected = RESETS[name]
    m = build()
    tensors = list(m.parameters()) + [b for b in m.buffers() if b.dtype.kind == "f"]
    everything = list(m.parameters()) + list(m.buffers())
    with an.no_grad():
        for t in everything:
            t.fill_(9)  # values reset_parameters must replace
    y, _ = held(*tensors)
    before = snapshot(*tensors)
    an.manual_seed(5)
    m.reset_parameters()
    want = expected(np.random.default_rng(5))
    assert len(want) == len(everything)
    for t, w in zip(everything, want):  # (bounds computed another way: an ulp apart)
        np.testing.assert_allclose(t.data, w, rtol=1e-14, atol=0)
    assert_in_place(before)
    assert_backward_raises(y, before)
    del y
    gc.collect()
    for t in tensors:
        assert t.data.flags.writeable


# ------------------------------------------------------------------ BatchNorm's running statistics
def _bn_numpy(x, weight, bias, eps=1e-5):
    mean, var = x.mean(0), x.var(0)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def test_batchnorm_two_training_forwards_in_one_graph():
    bn = an.nn.BatchNorm1d(3)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((5, 3)), rng.standard_normal((6, 3)) + 2
    t1, t2 = an.tensor(x1, requires_grad=True), an.tensor(x2, requires_grad=True)
    loss = (bn(t1) * bn(t2)[:5]).sum()
    rm, rv = 0.9 * np.zeros(3) + 0.1 * x1.mean(0), 0.9 * np.ones(3) + 0.1 * x1.var(0, ddof=1)
    rm, rv = 0.9 * rm + 0.1 * x2.mean(0), 0.9 * rv + 0.1 * x2.var(0, ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-13)
    np.testing.assert_allclose(bn.running_var.data, rv, rtol=1e-13)
    assert int(bn.num_batches_tracked.data) == 2
    loss.backward()  # the running statistics are not part of the graph

    def f(a, b):
        return float((_bn_numpy(a, 1.0, 0.0) * _bn_numpy(b, 1.0, 0.0)[:5]).sum())
    h, i = 1e-6, (2, 1)
    e = np.zeros_like(x1)
    e[i] = h
    fd = (f(x1 + e, x2) - f(x1 - e, x2)) / (2 * h)
    assert abs(t1.grad.data[i] - fd) < 1e-6


def test_batchnorm_updates_running_stats_a_graph_holds():
    bn = an.nn.BatchNorm1d(2)
    y, _ = held(bn.running_mean, bn.running_var)
    before = snapshot(bn.running_mean, bn.running_var)
    x = np.array([[0.0, 1.0], [2.0, 5.0], [4.0, 0.0]])
    bn(an.tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.mean(0), rtol=1e-15)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-15)
    assert_in_place(before)
    assert_backward_raises(y, before)


def test_batchnorm_counter_held_by_a_graph_still_counts():
    bn = an.nn.BatchNorm1d(2, momentum=None)  # cumulative average: factor 1 / batches
    y, _ = held(bn.num_batches_tracked)
    x1, x2 = np.array([[0.0, 1.0], [2.0, 5.0]]), np.array([[4.0, 1.0], [6.0, 3.0]])
    bn(an.tensor(x1))
    bn(an.tensor(x2))
    assert int(bn.num_batches_tracked.data) == 2
    np.testing.assert_allclose(bn.running_mean.data, (x1.mean(0) + x2.mean(0)) / 2, rtol=1e-15)
    del y


def test_batchnorm_eval_graph_keeps_its_gradient_when_training_updates_the_stats():
    """An eval-mode graph reads the running statistics only in its forward (the gradient uses
    ``1 / sqrt(var + eps)`` computed then), so a training forward that updates them in place
    before its backward leaves that gradient right (PyTorch raises here instead, because its
    batch-norm kernel saves the buffers)."""
    bn = an.nn.BatchNorm1d(2)
    rm, rv = np.array([1.0, 2.0]), np.array([4.0, 9.0])
    bn.load_state_dict({"running_mean": rm, "running_var": rv}, strict=False)
    bn.eval()
    x = an.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    y = (bn(x) ** 2).sum()
    bn.train()
    bn(an.tensor(np.array([[10.0, -3.0], [0.0, 7.0]])))  # changes the running statistics
    assert not np.array_equal(bn.running_mean.data, rm)
    y.backward()
    z = (x.data - rm) / np.sqrt(rv + 1e-5)
    np.testing.assert_allclose(x.grad.data, 2 * z / np.sqrt(rv + 1e-5), rtol=1e-13)
    np.testing.assert_allclose(bn.weight.grad.data, (2 * z * z).sum(0), rtol=1e-13)


# ------------------------------------------------------------------ optimizers
@pytest.mark.parametrize("make", [lambda p: an.optim.SGD(p, lr=0.5),
                                  lambda p: an.optim.SGD(p, lr=0.5, momentum=0.9),
                                  lambda p: an.optim.Adam(p, lr=0.5),
                                  lambda p: an.optim.RMSprop(p, lr=0.5)],
                         ids=["sgd", "sgd-momentum", "adam", "rmsprop"])
def test_optimizer_step_while_a_graph_holds_the_parameter(make):
    w = an.nn.Parameter(np.array([1.0, 2.0]))
    opt = make([w])
    (w * w).sum().backward()
    y, _ = held(w)
    before = snapshot(w)
    old = w.data.copy()
    opt.step()
    assert not np.array_equal(w.data, old)
    if isinstance(opt, an.optim.SGD) and not opt.param_groups[0]["momentum"]:
        np.testing.assert_array_equal(w.data, old - 0.5 * 2 * old)  # grad 2w
    assert_in_place(before)
    assert_backward_raises(y, before)


# ------------------------------------------------------------------ overwrite itself
def test_overwrite_broadcasts_and_casts_like_copy():
    t = an.zeros((2, 3), dtype=np.float32)
    y, _ = held(t)
    assert overwrite(t, [1.0, 2.0, 3.0]) is t
    np.testing.assert_array_equal(t.data, np.array([[1, 2, 3], [1, 2, 3]], np.float32))
    assert t.dtype == np.float32
    with pytest.raises(ValueError):
        overwrite(t, np.zeros(4))  # does not broadcast to (2, 3)
    del y


def test_overwrite_under_grad_mode_leaves_no_graph():
    w = an.nn.Parameter(np.ones(2))
    v = an.tensor([2.0, 3.0], requires_grad=True)
    overwrite(w, v)
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_array_equal(w.data, [2.0, 3.0])


# ------------------------------------------------------------------ simple <-> nn bridge
def test_simple_network_train_while_a_graph_holds_its_weights():
    W0, b0 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5])
    net = Network([FullyConnectedLayer(identity, identity_deriv, W0, b0)])
    layer = net.layers[0]
    y, _ = held(layer.W, layer.b)
    before = snapshot(layer.W, layer.b)
    X, G = np.array([[1.0, 0.0], [2.0, 1.0]]), np.array([[1.0, -1.0], [0.5, 2.0]])
    net.train(X, G, lr=0.1)
    np.testing.assert_allclose(layer.W.data, W0 - 0.1 * X.T @ G, rtol=1e-15)
    np.testing.assert_allclose(layer.b.data, b0 - 0.1 * G.sum(0), rtol=1e-15)
    assert_in_place(before)
    assert_backward_raises(y, before)


def test_bridge_copies_so_writes_on_one_side_leave_the_other_alone():
    model = an.nn.Sequential(an.nn.Linear(2, 2))
    y = _linear_graph_2(model)
    net = Network.from_module(model)  # reads the held weights
    W = model[0].weight.data.copy()
    net.train(np.ones((1, 2)), np.ones((1, 2)), lr=1.0)
    np.testing.assert_array_equal(model[0].weight.data, W)  # the model is untouched
    back = net.to_module()
    an.nn.init.zeros_(back[0].weight)
    np.testing.assert_array_equal(net.layers[0].W.data, W - 1.0)  # so is the network
    y.backward()  # the model's graph is intact


def _linear_graph_2(m):
    x = an.tensor([[1.0, 2.0]], requires_grad=True)
    return m(x).sum()


# ------------------------------------------------------------------ distributed collectives
def test_broadcast_and_all_reduce_into_a_held_tensor():
    pytest.importorskip("mpi4py")
    from autonn import distributed as dist
    dist.init_process_group()
    t = an.tensor([1.0, 2.0])
    y, _ = held(t)
    before = snapshot(t)
    dist.broadcast(t, src=0)
    dist.all_reduce(t, op="max")
    np.testing.assert_array_equal(t.data, [1.0, 2.0])  # one rank: values unchanged
    assert_in_place(before, n_writes=2)
    assert_backward_raises(y, before, n_writes=2)
    u = an.zeros(3)
    u.data.setflags(write=False)  # the user's read-only array: a clear error, nothing written
    with pytest.raises(ValueError, match=r"broadcast: the tensor's data \(shape \(3,\)\) is "
                                         "read-only"):
        dist.broadcast(u)
    assert u._version == 0

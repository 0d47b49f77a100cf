"""``an.compile``: a recorded plan replays the eager computation (bitwise where it runs the same
kernels, within the stated ulp bound where it fuses softmax cross entropy), and refuses or
re-records whatever it could not replay faithfully."""
import tracemalloc

import numpy as np
import pytest

import autonn as an
from autonn.compile import _kernels_numpy as twins
from autonn.compile._fuse import FusedChain

F32 = np.float32
STEPS = 100


def _data(n_batches=5, batch=16, d_in=12, classes=5, seed=1):
    rng = np.random.default_rng(seed)
    xs = [an.tensor(rng.standard_normal((batch, d_in)).astype(F32)) for _ in range(n_batches)]
    ys = [an.tensor(rng.integers(0, classes, batch)) for _ in range(n_batches)]
    return xs, ys


def _model(extra=None, d_in=12, hidden=24, classes=5):
    an.manual_seed(0)
    mid = [] if extra is None else [extra()]
    return an.nn.Sequential(an.nn.Linear(d_in, hidden, dtype=F32), an.nn.ReLU(), *mid,
                            an.nn.Linear(hidden, classes, dtype=F32))


_OPTIMIZERS = {
    "sgd_momentum": lambda p: an.optim.SGD(p, lr=0.05, momentum=0.9),
    "adam": lambda p: an.optim.Adam(p, lr=0.01),
    "adamw": lambda p: an.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "sgd": lambda p: an.optim.SGD(p, lr=0.05),
}
_EXTRAS = {"plain": None, "dropout": lambda: an.nn.Dropout(0.3),
           "batchnorm": lambda: an.nn.BatchNorm1d(24)}


def _train_step(model, opt, loss_fn):
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _run(opt_name, extra, compiled, fuse=True, steps=STEPS):
    model = _model(_EXTRAS[extra])
    opt = _OPTIMIZERS[opt_name](model.parameters())
    step = _train_step(model, opt, an.nn.CrossEntropyLoss())
    if compiled:
        step = an.compile(step, fuse=fuse)
    xs, ys = _data()
    an.manual_seed(7)
    losses = [step(xs[i % 5], ys[i % 5]).item() for i in range(steps)]
    after = an.rand(3).data  # where the random stream stands
    return model, losses, after, step


def _state(model):
    return {k: v.data.copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("extra", sorted(_EXTRAS))
@pytest.mark.parametrize("opt_name", sorted(_OPTIMIZERS))
def test_unfused_plan_is_bitwise_eager(opt_name, extra):
    """fuse=False: the plan calls the ops' own forward and gradient rules: the same bits."""
    m1, l1, r1, _ = _run(opt_name, extra, compiled=False)
    m2, l2, r2, step = _run(opt_name, extra, compiled=True, fuse=False)
    assert step.stats["records"] == 1 and step.stats["replays"] == STEPS - 1
    assert l1 == l2
    for k, v in _state(m1).items():  # parameters, running statistics, batch counter
        np.testing.assert_array_equal(_state(m2)[k], v, err_msg=k)
    np.testing.assert_array_equal(r1, r2)  # the dropout masks drew the same numbers


def _ulp_distance(a, b):
    """|a - b| in units of the spacing at the tensor's largest magnitude."""
    return float(np.max(np.abs(a.astype(np.float64) - b)) / np.spacing(np.abs(a).max()))


@pytest.mark.parametrize("extra", sorted(_EXTRAS))
@pytest.mark.parametrize("opt_name", sorted(_OPTIMIZERS))
def test_fused_plan_within_two_ulp_per_step(opt_name, extra):
    """The fused plan (softmax cross entropy in one Numba pass, libm exp) stays within 2 ulp per
    step of eager mode: after 100 steps every parameter within 200 ulp (of its tensor's largest
    magnitude), the losses within 2 ulp each."""
    m1, l1, r1, _ = _run(opt_name, extra, compiled=False)
    m2, l2, r2, step = _run(opt_name, extra, compiled=True)
    assert step.stats["records"] == 1
    for k, v in _state(m1).items():
        if v.dtype.kind == "f":
            assert _ulp_distance(v, _state(m2)[k]) <= 2 * STEPS, k
        else:
            np.testing.assert_array_equal(_state(m2)[k], v)
    # per-step losses: the first is eager's own (the recording), each later one within 2 ulp
    # of eager's loss at that step plus the drift the bound allows the parameters
    assert l1[0] == l2[0]
    np.testing.assert_allclose(l2, l1, rtol=2 * STEPS * np.finfo(F32).eps)
    np.testing.assert_array_equal(r1, r2)


def test_fused_linear_layers_and_sgd_kernel_are_bitwise():
    """Without cross entropy every fused form is exact: relu layers (bias + relu, relu backward
    + bias gradient) and the one-kernel SGD update give eager's bits."""
    def run(compiled):
        model = _model()
        opt = an.optim.SGD(model.parameters(), lr=0.05)

        def step(x, t):
            opt.zero_grad()
            d = model(x) - t
            loss = (d * d).mean()
            loss.backward()
            opt.step()
            return loss
        if compiled:
            step = an.compile(step)
        xs, _ = _data()
        t = an.tensor(np.linspace(-1, 1, 16 * 5).reshape(16, 5).astype(F32))
        losses = [step(xs[i % 5], t).item() for i in range(STEPS)]
        return model, losses, step
    m1, l1, _ = run(False)
    m2, l2, step = run(True)
    assert l1 == l2
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    xs, _ = _data()
    src = step.plan_source(xs[0], an.tensor(np.zeros((16, 5), F32)))
    assert "SGDK" in src and "BIASRELU" in src  # the compiled forms did run


def test_no_grad_region_inside_the_step():
    def run(compiled):
        model = _model()
        teacher = _model(hidden=8)
        opt = an.optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            with an.no_grad():
                soft = an.softmax(teacher(x) * 0.5, axis=1)   # no graph: a constant target
            logits = model(x)
            loss = an.nn.functional.cross_entropy(logits, y) + \
                ((an.softmax(logits, axis=1) - soft) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        if compiled:
            step = an.compile(step, fuse=False)
        xs, ys = _data()
        losses = [step(xs[i % 5], ys[i % 5]).item() for i in range(30)]
        return model, teacher, losses
    m1, t1, l1 = run(False)
    m2, t2, l2 = run(True)
    assert l1 == l2
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    for a, b in zip(t1.parameters(), t2.parameters()):
        assert a.grad is None and b.grad is None  # nothing flowed into the no_grad branch


@pytest.mark.parametrize("fuse", [False, True])
def test_gradient_accumulation_over_two_calls(fuse):
    """The compiled function runs forward and backward only; gradients of two calls add up in
    .grad (the engine's own accumulation) before one optimizer step outside."""
    def run(compiled):
        model = _model()
        opt = an.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = an.nn.CrossEntropyLoss()

        def accumulate(x, y):
            loss = loss_fn(model(x), y) * 0.5
            loss.backward()
            return loss
        if compiled:
            accumulate = an.compile(accumulate, fuse=fuse)
        xs, ys = _data()
        for i in range(0, 40, 2):
            accumulate(xs[i % 5], ys[i % 5])
            accumulate(xs[(i + 1) % 5], ys[(i + 1) % 5])
            opt.step()
            opt.zero_grad()
        return model, accumulate
    m1, _ = run(False)
    m2, acc = run(True)
    assert acc.stats["records"] == 1
    for a, b in zip(m1.parameters(), m2.parameters()):
        if fuse:
            assert _ulp_distance(a.data, b.data) <= 2 * 40
        else:
            np.testing.assert_array_equal(a.data, b.data)


def test_elementwise_chain_is_fused_and_bitwise():
    def f(x, y):
        z = x
        for _i in range(20):
            z = (z * 1.0001 + 0.001) / 1.01 - y * 0.5
            z = -z + (2.0 - z) * y
        w = 1.0 / (z * z + 3.0)
        return (w * x).sum()

    def grads(compiled):
        fn = an.compile(lambda x, y: f(x, y).backward() or f(x, y)) if compiled else None
        rng = np.random.default_rng(3)
        out = []
        for _k in range(3):
            x = an.tensor(rng.uniform(0.1, 1, 7), requires_grad=True)
            y = an.tensor(rng.uniform(0.1, 1, 7), requires_grad=True)
            if compiled:
                v = fn(x, y)
            else:
                f(x, y).backward()
                v = f(x, y)
            out.append((v.item(), x.grad.data.copy(), y.grad.data.copy()))
        return out, fn, (x, y)
    eager, _, _ = grads(False)
    comp, fn, (x, y) = grads(True)
    for (v1, gx1, gy1), (v2, gx2, gy2) in zip(eager, comp):
        assert v1 == v2
        np.testing.assert_array_equal(gx1, gx2)
        np.testing.assert_array_equal(gy1, gy2)
    ops = fn.plan_ops(x, y)
    assert any(o.startswith("FusedChain") for o in ops)
    assert len(ops) < 20  # 200 elementwise ops became a few kernels


def test_chain_kernel_gradient_against_finite_differences():
    """An independent oracle for the fused backward: central differences in float64."""
    def f(x):
        return ((x * 3.0 - 1.0) / (x + 2.0) * x).sum()
    step = an.compile(lambda x: (f(x).backward(), x.grad)[1])
    x0 = np.array([0.3, -0.7, 1.9])
    x = an.tensor(x0, requires_grad=True)
    step(x)
    x.grad = None
    g = step(x).data
    h = 1e-6
    fd = [(f(an.tensor(x0 + h * e)).item() - f(an.tensor(x0 - h * e)).item()) / (2 * h)
          for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-7)


# ------------------------------------------------------------------------ safety
def test_new_shapes_dtypes_and_flags_record_new_plans_lru():
    f = an.compile(lambda x: (x * 2.0).sum(), max_plans=2)
    assert f(an.ones(3)).item() == 6.0
    assert f(an.ones(4)).item() == 8.0                       # another shape: a new plan
    assert f(an.ones(4, dtype=F32)).dtype == F32             # another dtype: a new plan
    assert f.stats["records"] == 3 and len(f.plans) == 2     # the oldest was dropped
    assert f(an.ones(4)).item() == 8.0 and f.stats["replays"] == 1
    x = an.ones(4, requires_grad=True)                       # another flag: a new plan
    assert f(x).item() == 8.0 and f.stats["records"] == 4


def test_replay_gives_fresh_results():
    f = an.compile(lambda x: x * 2.0)
    a, b = f(an.ones(2)), f(an.full((2,), 3.0))
    c = f(an.zeros(2))
    assert a.tolist() == [2.0, 2.0] and b.tolist() == [6.0, 6.0] and c.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("read", [
    lambda t: t.item(), lambda t: float(t), lambda t: bool(t > 0), lambda t: int(t),
    lambda t: t.numpy(), lambda t: t.tolist(), lambda t: np.asarray(t), lambda t: repr(t)])
def test_value_reads_are_refused_at_record_time(read):
    def f(x):
        s = (x * 2.0).sum()
        if read(s.detach()) is None:  # any use of the value
            return s
        return s
    with pytest.raises(an.CompileError, match="reads the value"):
        an.compile(f)(an.ones(3))


def test_value_dependent_branch_never_replays_wrongly():
    def f(x):
        loss = (x * x).sum()
        if loss.item() > 1:
            return loss * 10.0
        return loss
    g = an.compile(f)
    with pytest.raises(an.CompileError):
        g(an.ones(3))
    assert not g.plans


def test_random_draws_and_seeding_inside_are_refused():
    with pytest.raises(an.CompileError, match="random draw"):
        an.compile(lambda x: x + an.randn(3))(an.ones(3))
    with pytest.raises(an.CompileError, match="manual_seed"):
        an.compile(lambda x: (an.manual_seed(0), x * 2.0)[1])(an.ones(3))
    an.rand(1)  # the generator works again afterwards


def test_copy_of_an_argument_is_refused():
    with pytest.raises(an.CompileError, match="copied an argument"):
        an.compile(lambda x: an.tensor(x) * 2.0)(an.tensor([1.0, 2.0, 3.0]))
    f = an.compile(lambda x: an.as_tensor(x) * 2.0)  # no copy: fine, and follows the argument
    f(np.array([1.0, 2.0]))
    assert f(np.array([3.0, 4.0])).tolist() == [6.0, 8.0]


def test_in_place_tensor_writes_are_refused():
    w = an.zeros(3)
    with pytest.raises(an.CompileError, match="in-place"):
        an.compile(lambda x: (w.__setitem__(0, 1.0), x * w)[1])(an.ones(3))
    with pytest.raises(an.CompileError, match=r"\.grad"):
        an.compile(lambda x: setattr(x, "grad", an.ones(3)))(an.ones(3, requires_grad=True))


def test_unsupported_autograd_calls_are_refused():
    x = an.ones(2, requires_grad=True)
    with pytest.raises(an.CompileError, match="create_graph"):
        an.compile(lambda x: (x * x).sum().backward(create_graph=True))(x)
    with pytest.raises(an.CompileError, match="grad"):
        an.compile(lambda x: an.grad((x * x).sum(), x))(x)


def test_training_flag_change_records_again():
    model = an.nn.Sequential(an.nn.Linear(4, 4), an.nn.Dropout(0.5))
    f = an.compile(lambda x: model(x))
    x = an.ones((3, 4))
    an.manual_seed(0)
    f(x)
    model.eval()
    y = f(x)  # the guard sees training=False and records the eval plan
    assert f.stats["records"] == 2
    np.testing.assert_array_equal(y.data, model(x).data)  # no dropout in eval


def test_changed_parameter_shape_records_again():
    w = an.ones(3, requires_grad=True)
    f = an.compile(lambda x: (w * x).sum())
    f(an.ones(3))
    w.data = np.ones(4)
    assert f(an.ones(4)).item() == 4.0 and f.stats["records"] == 2


def test_out_of_range_label_at_replay_raises():
    model = _model()
    f = an.compile(lambda x, y: an.nn.functional.cross_entropy(model(x), y))
    xs, ys = _data()
    f(xs[0], ys[0])
    bad = an.tensor(np.full(16, 9))
    with pytest.raises(ValueError, match="out of range"):
        f(xs[0], bad)


@pytest.mark.parametrize("fuse", [False, True])
def test_ops_without_compiled_form_fall_back_to_their_own_code(fuse):
    """conv2d, max_pool2d, gelu, layer_norm have no compiled form: the plan calls the op's own
    forward and gradient rule, which gives eager's bits (fuse=False: everything does; with the
    fused cross entropy at the end, within its bound)."""
    def run(compiled):
        an.manual_seed(0)
        conv = an.nn.Conv2d(1, 3, 3, padding=1)
        norm = an.nn.LayerNorm(12)
        lin = an.nn.Linear(12, 2)
        params = list(conv.parameters()) + list(norm.parameters()) + list(lin.parameters())
        opt = an.optim.SGD(params, lr=0.1)

        def step(x, y):
            opt.zero_grad()
            h = an.nn.functional.max_pool2d(an.gelu(conv(x)), 2)
            loss = an.nn.functional.cross_entropy(lin(norm(h.reshape(4, 12))), y)
            loss.backward()
            opt.step()
            return loss
        if compiled:
            step = an.compile(step, fuse=fuse)
        rng = np.random.default_rng(0)
        x = an.tensor(rng.standard_normal((4, 1, 4, 4)))
        y = an.tensor(np.array([0, 1, 1, 0]))
        losses = [step(x, y).item() for _ in range(10)]
        return params, losses, step, (x, y)
    p1, loss1, _, _ = run(False)
    p2, loss2, step, args = run(True)
    for a, b in zip(p1, p2):
        if fuse:
            assert _ulp_distance(a.data, b.data) <= 2 * 10
        else:
            np.testing.assert_array_equal(a.data, b.data)
    if not fuse:
        assert loss1 == loss2
    ops = step.plan_ops(*args)
    assert {"Conv2d", "MaxPool2d", "Gelu"} <= set(ops)


def test_nested_compiled_function_is_inlined():
    inner = an.compile(lambda x: x * 3.0)
    outer = an.compile(lambda x: inner(x) + 1.0)
    outer(an.ones(2))
    assert outer(an.full((2,), 2.0)).tolist() == [7.0, 7.0]
    assert inner.stats["records"] == 0


def test_compiled_step_peak_memory_is_at_most_eager():
    """tracemalloc sees NumPy's allocations: the compiled step's peak is not above eager's."""
    def make():
        model = an.nn.Sequential(an.nn.Linear(64, 256, dtype=F32), an.nn.ReLU(),
                                 an.nn.Linear(256, 256, dtype=F32), an.nn.ReLU(),
                                 an.nn.Linear(256, 10, dtype=F32))
        opt = an.optim.SGD(model.parameters(), lr=0.01)
        return _train_step(model, opt, an.nn.CrossEntropyLoss())
    rng = np.random.default_rng(0)
    x = an.tensor(rng.standard_normal((128, 64)).astype(F32))
    y = an.tensor(rng.integers(0, 10, 128))

    def peak(step):
        step(x, y)
        step(x, y)
        tracemalloc.start()
        step(x, y)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p
    eager = peak(make())
    compiled = peak(an.compile(make()))
    assert compiled <= eager


# ------------------------------------------------------------------------ kernels
def test_kernel_twins_agree():
    from autonn.compile import _kernels as nb
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        pre = rng.standard_normal((9, 7)).astype(dt)
        pre[0, 0] = -0.0
        g = rng.standard_normal((9, 7)).astype(dt)
        outs = []
        for k in (nb, twins):
            dpre, db = np.empty_like(pre), np.empty(7, dt)
            k.relu_backward_colsum(pre, g, dpre, db)
            outs.append((dpre, db))
        np.testing.assert_array_equal(outs[0][0], outs[1][0])
        np.testing.assert_array_equal(outs[0][1], outs[1][1])  # rows added in order: exact
        np.testing.assert_array_equal(outs[0][0], np.where(pre > 0, g, 0))
        x = (rng.standard_normal((6, 5)) * 3).astype(dt)
        labels = rng.integers(0, 5, 6)
        res = []
        for k in (nb, twins):
            d = np.empty_like(x)
            res.append((k.cross_entropy_forward_backward(x, labels, d), d))
        # oracle in float64: softmax - onehot, and the summed log-likelihood
        x64 = x.astype(np.float64)
        lp = x64 - x64.max(1, keepdims=True)
        lp -= np.log(np.exp(lp).sum(1, keepdims=True))
        want = np.exp(lp)
        want[np.arange(6), labels] -= 1
        eps = np.finfo(dt).eps
        for tot, d in res:
            np.testing.assert_allclose(d, want, rtol=0, atol=4 * eps)
            assert abs(tot - lp[np.arange(6), labels].sum()) <= 8 * eps * np.abs(lp).sum()
        assert np.isnan(nb.cross_entropy_forward_backward(x, labels + 5, np.empty_like(x)))
        assert np.isnan(twins.cross_entropy_forward_backward(x, labels - 9, np.empty_like(x)))


def test_fused_chain_op_twin():
    """FusedChain's kernels against the ops they replace, run eagerly."""
    f = an.compile(lambda x, y: (x * y - 2.0) / (y + 1.0))
    x, y = an.tensor(np.arange(1.0, 6.0)), an.tensor(np.linspace(0.5, 2, 5))
    f(x, y)
    node_ops = [v for v in f.plans[next(iter(f.plans))][4].values() if isinstance(v, FusedChain)]
    assert len(node_ops) == 1
    np.testing.assert_array_equal(f(x, y).data, ((x * y - 2.0) / (y + 1.0)).data)


def test_gradients_handed_to_leaves_are_never_reused_buffers():
    """Cross entropy's gradient buffer is reused only behind a compiled linear layer; through
    any other op (which may hand it on as it is) a leaf's .grad gets a fresh array each call."""
    logits = an.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    y = an.tensor(np.array([0, 2, 1, 0]))
    f = an.compile(lambda: an.nn.functional.cross_entropy(logits + 0.0, y).backward())
    f()  # the recording (eager)
    logits.grad = None
    f()
    first = logits.grad
    logits.grad = None
    f()
    second = logits.grad
    assert first.data is not second.data
    np.testing.assert_array_equal(first.data, second.data)  # not overwritten by the next call


def test_values_computed_without_ops_are_computed_again():
    """Comparisons and argmax carry no gradient and are no ops; the plan computes them again
    (an accuracy inside the step follows the data)."""
    model = _model()
    f = an.compile(lambda x, y: ((model(x).argmax(axis=1) == y).astype(np.float64).mean(),
                                 an.where(model(x) > 0, model(x), 0.0).sum()))
    xs, ys = _data()
    for i in range(4):
        acc, s = f(xs[i], ys[i])
        logits = model(xs[i]).data
        assert acc.item() == np.mean(logits.argmax(1) == ys[i].data)
        assert s.item() == pytest.approx(np.where(logits > 0, logits, 0).sum(), rel=1e-6)
    assert f.stats["records"] == 1


def test_data_made_inside_the_call_is_refused():
    batches = iter([np.full((2, 3), 2.0), np.zeros((2, 3))])
    with pytest.raises(an.CompileError, match="made during the recorded call"):
        an.compile(lambda w: (w * an.tensor(next(batches))).sum())(an.ones((2, 3)))
    mask = np.array([1.0, 0.0, 1.0])  # an array the function refers to stays live
    f = an.compile(lambda x: x * an.as_tensor(mask))
    f(an.ones(3))
    mask[1] = 5.0
    assert f(an.ones(3)).tolist() == [1.0, 5.0, 1.0]


def _planted(tmp_path, name, source, evil):
    """The cache file autonn would use for ``source``, holding ``evil`` instead, plus bytecode for
    ``evil`` that Python's import system would run without looking at the source (an
    unchecked-hash .pyc in __pycache__)."""
    import hashlib
    import importlib.util
    import py_compile
    d = tmp_path / "compile"
    d.mkdir(mode=0o700, exist_ok=True)
    modname = f"autonn_gen_{name}_{hashlib.sha1(source.encode()).hexdigest()[:20]}"
    py = d / f"{modname}.py"
    py.write_text(evil)
    py_compile.compile(str(py), cfile=importlib.util.cache_from_source(str(py)),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return d


def test_generated_kernels_never_run_code_from_the_cache_directory(tmp_path, monkeypatch):
    from autonn.compile import _codegen
    monkeypatch.setenv("AUTONN_CACHE_DIR", str(tmp_path))
    marker = tmp_path / "ran"
    source = "def cache_probe_a(x):\n    return x + 1\n"
    evil = f"open({str(marker)!r}, 'w').close()\ndef cache_probe_a(x):\n    return x + 100\n"
    d = _planted(tmp_path, "cache_probe_a", source, evil)
    fn = _codegen.load("cache_probe_a", source)
    assert fn(1) == 2 and not marker.exists()
    assert (d / next(p.name for p in d.glob("*.py"))).read_text() == source  # rewritten


def test_generated_kernels_skip_a_cache_directory_others_can_write(tmp_path, monkeypatch):
    from autonn.compile import _codegen
    monkeypatch.setenv("AUTONN_CACHE_DIR", str(tmp_path))
    source = "def cache_probe_b(x):\n    return x * 3\n"
    d = _planted(tmp_path, "cache_probe_b", source, source)
    d.chmod(0o777)
    before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    assert _codegen.load("cache_probe_b", source)(2) == 6  # compiled in memory instead
    assert {p.name: p.stat().st_mtime_ns for p in d.iterdir()} == before  # nothing written there

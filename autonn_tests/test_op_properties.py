"""One property suite for every registered op (autonn.testing.registry): forward vs NumPy,
gradient, second derivative and jvp vs central finite differences, no input mutation, float32
kept float32, graph freed after backward; the properties each entry declares (elementwise,
linear, domain, kinks) hold; every exported op is registered."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autonn as an
from autonn.testing.registry import REGISTRY

NAMES = sorted(REGISTRY)
DIFFERENTIABLE = [n for n in NAMES if REGISTRY[n].differentiable]
H = 1e-6


def _call(spec, arrays, kwargs, requires_grad=True):
    xs = [an.Tensor(a, requires_grad=requires_grad) for a in arrays]  # shares memory with `arrays`
    return xs, spec.fn(*xs, **kwargs)


def _projection(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def _scalar(spec, arrays, kwargs, w):
    """L(arrays) = sum(f(arrays) * w) in float64 NumPy-land, through the autonn forward."""
    with an.no_grad():
        out = spec.fn(*[an.tensor(a) for a in arrays], **kwargs)
    return float(np.sum(out.data * w))


def _numeric_grad(fun, arrays, i):
    x = arrays[i]
    g = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        h = H * max(1.0, abs(x[idx]))
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[i][idx] += h
        minus[i][idx] -= h
        g[idx] = (fun(plus) - fun(minus)) / (2 * h)
    return g


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_forward_matches_numpy(name, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    _, out = _call(spec, case.arrays, case.kwargs)  # inputs that require grad
    expected = spec.ref(*case.arrays, **case.kwargs)
    if not spec.differentiable:  # exactly NumPy's result (a Tensor or a plain value), no graph
        got = out.data if isinstance(out, an.Tensor) else out
        assert not getattr(out, "requires_grad", False)
        assert np.asarray(got).dtype == np.asarray(expected).dtype
        np.testing.assert_array_equal(got, expected)
        return
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_gradient_matches_finite_differences(name, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    originals = [a.copy() for a in case.arrays]
    xs, out = _call(spec, case.arrays, case.kwargs)
    w = _projection(out.shape)
    (out * an.tensor(w)).sum().backward()
    for i, x in enumerate(xs):
        numeric = _numeric_grad(lambda arrs: _scalar(spec, arrs, case.kwargs, w), case.arrays, i)
        assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == np.float64
        np.testing.assert_allclose(x.grad.data, numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: d/d(input {i})")
    for a, o in zip(case.arrays, originals):  # (e) inputs not mutated
        np.testing.assert_array_equal(a, o)


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].second_order])
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    kw = case.kwargs
    w = None

    def first_dot_v(arrays, create_graph=False):
        xs, out = _call(spec, arrays, kw)
        gs = an.grad((out * an.tensor(w)).sum(), xs, create_graph=create_graph, allow_unused=True)
        total = None
        for g, v in zip(gs, vs):
            if g is not None:
                term = (g * an.tensor(v)).sum()
                total = term if total is None else total + term
        return xs, total

    _, probe = _call(spec, case.arrays, kw)
    w = _projection(probe.shape, 1)
    vs = [_projection(a.shape, 2 + i) for i, a in enumerate(case.arrays)]
    xs, s = first_dot_v(case.arrays, create_graph=True)
    # A first derivative without a graph is a constant: then the numeric one must be ~0 too.
    hv = an.grad(s, xs, allow_unused=True) if s.requires_grad else [None] * len(xs)
    for i, x in enumerate(xs):
        numeric = _numeric_grad(lambda arrs: first_dot_v(arrs)[1].item(), case.arrays, i)
        got = np.zeros(x.shape) if hv[i] is None else hv[i].data
        np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name}: second derivative wrt input {i}")


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_jvp_matches_finite_differences(name, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    tangents = [_projection(a.shape, 7 + i) - 1.0 for i, a in enumerate(case.arrays)]
    out, jvp_out = an.func.jvp(lambda *xs: spec.fn(*xs, **case.kwargs),
                               tuple(an.tensor(a) for a in case.arrays),
                               tuple(an.tensor(t) for t in tangents))
    h = 1e-6
    plus = spec.ref(*[a + h * t for a, t in zip(case.arrays, tangents)], **case.kwargs)
    minus = spec.ref(*[a - h * t for a, t in zip(case.arrays, tangents)], **case.kwargs)
    assert jvp_out.shape == out.shape
    np.testing.assert_allclose(jvp_out.data, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_float32_stays_float32(name, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float32))
    assert all(a.dtype == np.float32 for a in case.arrays)
    xs, out = _call(spec, case.arrays, case.kwargs)
    assert out.dtype == np.float32
    (out * 2.0).sum().backward()
    for x in xs:
        assert x.grad.dtype == np.float32
    np.testing.assert_allclose(out.data, spec.ref(*[a.astype(np.float64) for a in case.arrays],
                                                  **case.kwargs), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_graph_is_freed_after_backward(name):
    spec = REGISTRY[name]
    case = spec.cases(np.float64).example()
    xs, out = _call(spec, case.arrays, case.kwargs)
    if any(out is x for x in xs):  # a no-op case (e.g. reshape to the same shape) has no node
        return
    g = an.tensor(np.ones(out.shape))
    out.backward(g)
    assert out._parents is None  # the op's own node dropped its inputs
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward(g)


_NAMESPACES = ("fft", "linalg")  # public modules of ops; their entries are registered as "<module>.<name>"


def _exported_ops():
    """Every op autonn exports: ``autonn.ops.__all__``, the fused ``autonn.ops.nn`` ones, the
    ops of the public namespaces (functions re-exported from NumPy, e.g. ``fftfreq``, are not
    ops), ``autonn.special`` (as ``special.<name>``) and ``autonn.stats``
    (``stats.<dist>.<fn>``)."""
    names = list(an.ops.__all__) + [n for n in an.ops.nn.__all__ if callable(getattr(an.ops.nn, n))]
    for ns in _NAMESPACES:
        module = getattr(an, ns)
        names += [f"{ns}.{n}" for n in module.__all__
                  if getattr(getattr(module, n), "__module__", "").startswith("autonn")
                  and getattr(module, n) is not getattr(an, n, None)]  # an.linalg.matmul is an.matmul
    names += [f"special.{n}" for n in an.special.__all__]
    names += [f"stats.{d}.{f}" for d, fns in an.stats.DISTRIBUTIONS.items() for f in fns]
    return names


def test_every_exported_op_is_registered():
    covered = {c for spec in REGISTRY.values() for c in spec.covers}
    missing = [n for n in _exported_ops() if n not in covered]
    assert not missing, f"exported ops without a registry entry: {missing}"
    unknown = [c for c in covered if c not in _exported_ops()]
    assert not unknown, f"registry entries covering names that are not exported: {unknown}"


def test_autonn_reexports_every_op():
    assert len(an.ops.__all__) == len(set(an.ops.__all__)), "a name exported by two modules"
    for name in an.ops.__all__:
        assert getattr(an, name) is getattr(an.ops, name), name
        assert callable(getattr(an, name)), name


def test_declared_elementwise_ops_are_registered_as_elementwise():
    for spec in REGISTRY.values():
        if getattr(spec.fn, "elementwise", False):
            assert spec.elementwise, spec.name


def _is_array_kwarg(v):
    return isinstance(v, np.ndarray) and v.ndim > 0


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].elementwise])
@given(data=st.data())
def test_elementwise_ops_act_elementwise(name, data):
    """Permuting the elements of the (broadcast) inputs permutes the output the same way."""
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    with an.no_grad():
        out = spec.fn(*[an.tensor(a) for a in case.arrays], **case.kwargs).data
    perm = np.asarray(data.draw(st.permutations(range(out.size))), dtype=np.int64)

    def shuffle(a):
        return np.broadcast_to(a, out.shape).reshape(-1)[perm].reshape(out.shape)
    kwargs = {k: shuffle(v) if _is_array_kwarg(v) else v for k, v in case.kwargs.items()}
    with an.no_grad():
        got = spec.fn(*[an.tensor(shuffle(a)) for a in case.arrays], **kwargs).data
    np.testing.assert_array_equal(got, shuffle(out))


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].linear])
@given(data=st.data())
def test_linear_ops_are_linear(name, data):
    """f(a + 2 b) = f(a) + 2 f(b) for the ops declared linear."""
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    others = [_projection(a.shape, 3 + i) - 1.0 for i, a in enumerate(case.arrays)]

    def f(arrays):
        with an.no_grad():
            return spec.fn(*[an.tensor(a) for a in arrays], **case.kwargs).data
    combined = f([a + 2 * b for a, b in zip(case.arrays, others)])
    np.testing.assert_allclose(combined, f(case.arrays) + 2 * f(others), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in DIFFERENTIABLE if REGISTRY[n].elementwise])
@given(data=st.data())
def test_cases_stay_inside_the_domain_and_away_from_kinks(name, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    low, high = spec.domain
    for a in case.arrays:
        assert np.all((a > low) & (a < high)), f"{name}: a drawn input outside {spec.domain}"
        for k in spec.kinks:
            assert np.all(np.abs(a - k) > 0.04), f"{name}: a drawn input at the kink {k}"


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].zero_gradient])
@given(data=st.data())
def test_zero_gradient_ops_have_exactly_zero_gradient(name, data):
    """Rounding functions (floor, sign...): the gradient and the jvp are exactly 0, of the
    inputs' shapes, and the op stays in the graph (no error asking for it)."""
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    xs, out = _call(spec, case.arrays, case.kwargs)
    assert out.requires_grad
    grads = an.grad(out.sum(), xs)
    for g, x in zip(grads, xs):
        assert g.shape == x.shape and not np.any(g.data)
    _, tangent = an.func.jvp(lambda *ts: spec.fn(*ts, **case.kwargs),
                             tuple(an.tensor(a) for a in case.arrays),
                             tuple(an.tensor(np.ones_like(a)) for a in case.arrays))
    assert tangent.shape == out.shape and not np.any(tangent.data)

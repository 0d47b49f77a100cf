"""gradcheck, gradgradcheck, gradcheck_report: verdicts, messages, reports, kinks, culprit,
fast mode, forward mode, nondeterminism, precision options, the CLI, and the public strategies."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autonn as an
from autonn.checking import TOLERANCES, GradcheckWarning, _tolerances
from autonn.ops.base import Op, apply
from autonn.testing import assert_gradients_close, strategies as ats
from autonn_tests._helpers import Cube, square_function


def _t(values, dtype=np.float64, requires_grad=True):
    return an.tensor(np.asarray(values, dtype=dtype), requires_grad=requires_grad)


class WrongAt(an.Function):
    """x * y with the gradient of y wrong at one element (index ``bad``) by 1%."""
    bad = (1, 2)

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gy = (g * x).data.copy()
        gy[WrongAt.bad] *= 1.01
        return g * y, gy


PlantedSquare = square_function(2.01, "PlantedSquare")  # x**2 with the gradient 2.01 x, not 2 x


class WrongExpOp(Op):
    """An op written against the Op protocol whose vjp forgets the factor exp(x)."""
    __slots__ = ()

    def forward(self, x):
        return np.exp(x)

    def vjp(self, g, out, x):
        return g * 1.0


# ----------------------------------------------------------------------------- verdicts
def test_correct_functions_pass_in_both_modes():
    rng = np.random.default_rng(0)
    x, w = _t(rng.standard_normal((3, 4))), _t(rng.standard_normal((4, 2)))
    fn = lambda x, w: an.softmax(an.tanh(x @ w), axis=1) * an.sigmoid(x[:, :2])  # noqa: E731
    assert an.gradcheck(fn, (x, w)) is True
    assert an.gradcheck(fn, (x, w), fast_mode=True) is True
    assert an.gradcheck(fn, (x, w), check_forward_ad=True) is True


def test_an_gradcheck_is_the_function_after_the_module_is_imported():
    import autonn.checking as module
    assert an.gradcheck is module.gradcheck
    assert an.gradcheck(an.exp, (_t([0.5]),)) is True
    assert module.gradcheck_report is an.gradcheck_report
    assert "eps" in str(inspect.signature(an.gradcheck))


def test_failure_message_names_input_output_index_values_and_tolerances():
    rng = np.random.default_rng(1)
    x, y = _t(rng.uniform(1, 2, (2, 3))), _t(rng.uniform(1, 2, (2, 3)))
    with pytest.raises(an.GradcheckError) as info:
        an.gradcheck(WrongAt.apply, (x, y))
    msg = str(info.value)
    assert "input 1" in msg and "output 0" in msg
    assert "(1, 2)" in msg and "input 1[1, 2]" in msg and "output 0[1, 2]" in msg
    analytic, numeric = 1.01 * x.data[1, 2], x.data[1, 2]
    assert f"{analytic:.6g}"[:6] in msg and f"{numeric:.6g}"[:6] in msg
    assert "atol=1e-06" in msg and "rtol=1e-05" in msg
    assert "1 of 36 elements" in msg
    rep = info.value.report
    assert not rep.passed and rep.inputs[0].passed and not rep.inputs[1].passed
    assert rep.inputs[1].worst_index == (1, 2)
    assert rep.inputs[1].analytic == pytest.approx(analytic)
    assert rep.inputs[1].numeric == pytest.approx(numeric, rel=1e-8)
    assert rep.inputs[1].max_abs_error == pytest.approx(0.01 * numeric, rel=1e-6)
    assert rep.inputs[1].max_rel_error == pytest.approx(0.01, rel=1e-6)
    assert an.gradcheck(WrongAt.apply, (x, y), raise_exception=False) is False


def test_report_holds_the_jacobians_and_per_input_entries():
    x = _t([[1.0, 2.0], [3.0, 4.0]])
    c = _t([0.5, -1.0], requires_grad=False)
    rep = an.gradcheck_report(lambda x, k, c: (x * c * k, (x ** 2).sum()), (x, 3.0, c))
    assert rep.passed and len(rep.inputs) == 3
    assert rep.inputs[0].checked and not rep.inputs[1].checked and not rep.inputs[2].checked
    first, second = rep.inputs[0].pairs
    assert first.analytic_jacobian.shape == (2, 2, 2, 2)
    assert second.analytic_jacobian.shape == (2, 2)
    np.testing.assert_allclose(second.analytic_jacobian, 2 * x.data)
    np.testing.assert_allclose(second.numeric_jacobian, 2 * x.data, rtol=1e-8)


def test_outputs_that_do_not_depend_on_an_input_have_zero_jacobians():
    x, y = _t([1.0, 2.0]), _t([3.0])
    rep = an.gradcheck_report(lambda x, y: (x * 2, an.exp(y), an.tensor(7.0)), (x, y))
    assert rep.passed
    blocks = {(p.input, p.output): p for p in rep.inputs[0].pairs + rep.inputs[1].pairs}
    assert not blocks[(0, 1)].analytic_jacobian.any() and not blocks[(0, 1)].numeric_jacobian.any()
    assert not blocks[(1, 0)].analytic_jacobian.any()
    assert not blocks[(0, 2)].analytic_jacobian.any()


def test_a_hidden_dependence_through_no_grad_is_caught():
    x = _t([1.0, 2.0])

    def leaky(t):
        with an.no_grad():
            c = t * 3
        return t + c   # the analytic side misses d(c)/dt = 3
    assert not an.gradcheck(leaky, (x,), raise_exception=False)


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        an.gradcheck(an.exp, (_t([1.0], requires_grad=False),))


def test_the_same_tensor_twice_and_inputs_left_untouched():
    x = _t([0.3, 0.7])
    before = x.data.copy()
    data_id = id(x.data)
    assert an.gradcheck(lambda a, b: a * b + an.sin(a), (x, x))
    assert an.gradcheck(lambda a, b: a * b, (x, x), fast_mode=True)
    assert id(x.data) == data_id and np.array_equal(x.data, before) and x.grad is None


def test_inputs_computed_from_each_other_are_independent_variables():
    y = _t([0.3, -0.8])
    z = y * 2                        # a non-leaf input that depends on the other input
    assert an.gradcheck(lambda a, b: a * b + an.sin(b), (y, z))
    assert an.gradgradcheck(lambda a, b: a * an.tanh(b), (y, z))
    assert z.grad_fn is not None     # its graph is put back, and still usable
    z.sum().backward()
    np.testing.assert_allclose(y.grad.data, [2.0, 2.0])


def test_parameters_reached_through_a_closure_are_checked():
    net = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Tanh(), an.nn.Linear(4, 2))
    x = _t(np.ones((2, 3)), requires_grad=False)
    assert an.gradcheck(lambda *params: net(x), tuple(net.parameters()))


# ----------------------------------------------------------------------------- step, precision
def test_step_and_tolerances_depend_on_dtype():
    assert _tolerances.base_step(np.float64) == 2.0 ** -18
    assert _tolerances.base_step(np.float32) == 2.0 ** -8
    assert _tolerances.base_step(np.float64, richardson=True) == 2.0 ** -11
    np.testing.assert_array_equal(_tolerances.element_scale(np.array([0.1, 1.0, 3.0, -40.0])),
                                  [1.0, 1.0, 4.0, 64.0])
    assert TOLERANCES["float64"] == (1e-6, 1e-5) and TOLERANCES["float32"] == (1e-3, 1e-2)
    rep32 = an.gradcheck_report(an.tanh, (_t([0.3], np.float32),), numeric_dtype=np.float32)
    assert (rep32.atol, rep32.rtol) == TOLERANCES["float32"]


def test_float32_passes_where_a_fixed_tiny_step_fails():
    x = _t(np.linspace(-2, 2, 7), np.float32)
    fn = lambda t: an.exp(t) * an.tanh(t)  # noqa: E731
    assert an.gradcheck(fn, (x,))
    assert an.gradcheck(fn, (x,), fast_mode=True)
    f32 = {"numeric_dtype": np.float32}  # finite differences in float32 itself
    assert an.gradcheck(fn, (x,), **f32)
    assert an.gradcheck(fn, (x,), fast_mode=True, **f32)
    assert not an.gradcheck(fn, (x,), eps=1e-6, raise_exception=False, **f32)  # the classic


def test_richardson_and_extended_precision_shrink_the_numeric_error():
    x32 = _t([0.2, 1.3, -0.7], np.float32)
    f = lambda t: an.sin(t) * an.exp(t)  # noqa: E731
    f32 = {"numeric_dtype": np.float32}
    plain = an.gradcheck_report(f, (x32,), **f32).inputs[0].max_abs_error
    extrap = an.gradcheck_report(f, (x32,), richardson=True, **f32).inputs[0].max_abs_error
    assert extrap < plain / 10
    x = _t([0.2, 1.3, -0.7])
    plain64 = an.gradcheck_report(f, (x,)).inputs[0].max_abs_error
    wide = an.gradcheck_report(f, (x,), numeric_dtype=np.longdouble)
    if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps:
        assert wide.inputs[0].max_abs_error < plain64 / 10
    assert an.gradcheck(f, (x,), numeric_dtype=np.longdouble, atol=1e-13, rtol=1e-12)


# ----------------------------------------------------------------------------- kinks
def test_relu_at_zero_is_reported_as_non_differentiable_not_a_mismatch():
    x = _t([-1.0, 0.0, 2.0])
    rep = an.gradcheck_report(an.relu, (x,))
    assert rep.passed
    assert [(k.input, k.index) for k in rep.nondifferentiable] == [(0, (1,))]
    assert rep.inputs[0].nondifferentiable == [(1,)]
    kink = rep.nondifferentiable[0]
    assert (kink.left, kink.right, kink.analytic) == pytest.approx((0.0, 1.0, 0.0))
    assert "non-differentiable at index (1,) of input 0" in rep.message()
    with pytest.warns(GradcheckWarning, match="non-differentiable at index"):
        assert an.gradcheck(an.relu, (x,))
    rep_fast = an.gradcheck_report(an.relu, (x,), fast_mode=True)
    assert rep_fast.passed and [k.index for k in rep_fast.nondifferentiable] == [(1,)]


def test_max_with_ties_is_reported_as_non_differentiable():
    x = _t([[3.0, 1.0, 3.0], [0.5, 2.0, -1.0]])
    rep = an.gradcheck_report(lambda t: an.max(t, axis=1), (x,))
    assert rep.passed
    assert sorted(k.index for k in rep.nondifferentiable) == [(0, 0), (0, 2)]
    rep = an.gradcheck_report(an.maximum, (_t([1.0, 2.0]), _t([1.0, 0.0])))
    assert rep.passed and {(k.input, k.index) for k in rep.nondifferentiable} == {(0, (0,)),
                                                                                 (1, (0,))}


def test_a_wrong_value_at_a_kink_is_still_a_mismatch():
    class BadRelu(an.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.maximum(x, 0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g.data * np.where(x.data > 0, 1.0, np.where(x.data == 0, 5.0, 0.0))
    rep = an.gradcheck_report(BadRelu.apply, (_t([-1.0, 0.0, 2.0]),))
    assert not rep.passed and rep.inputs[0].worst_index == (1,)


def test_near_a_kink_the_step_is_refined_instead_of_failing():
    x = _t([1e-6, -2e-6, 0.5])   # within one default step of relu's kink
    assert an.gradcheck(an.relu, (x,))
    assert an.gradcheck(an.abs, (x,))


# ----------------------------------------------------------------------------- culprit
def _composite(x, w):
    h = x @ w                          # 1
    h = h + 0.5                        # 2
    h = an.tanh(h)                     # 3
    h = h * 1.5                        # 4
    h = an.exp(h * 0.1)                # 5, 6
    h = PlantedSquare.apply(h)         # the planted wrong op
    h = an.sigmoid(h)                  # 7
    h = h - an.mean(h, axis=0)         # 8, 9
    return an.softplus(h).sum(axis=1)  # 10, 11


def _line_of(text, fn):
    src, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(src) if text in line)


def test_culprit_names_the_planted_op_and_where_it_was_created():
    rng = np.random.default_rng(2)
    x, w = _t(rng.standard_normal((3, 4))), _t(rng.standard_normal((4, 2)))
    for fast in (False, True):
        rep = an.gradcheck_report(_composite, (x, w), fast_mode=fast)
        assert not rep.passed and rep.culprit is not None
        assert rep.culprit.name == "PlantedSquare" and rep.culprit.op == "PlantedSquare"
        assert rep.culprit.location == f"{__file__}:{_line_of('PlantedSquare.apply', _composite)}"
        assert rep.culprit.checked_ops >= 7  # the ops made before it were checked and passed
        assert rep.culprit.analytic == pytest.approx(1.005 * rep.culprit.numeric, rel=1e-6)
    with pytest.raises(an.GradcheckError, match="culprit: PlantedSquare created at .*test_grad"):
        an.gradcheck(_composite, (x, w))


def test_culprit_finds_a_wrong_op_class_and_is_none_when_passing():
    def f(x):
        h = an.sin(x) * 2
        h = apply(WrongExpOp(), h)
        return an.tanh(h)
    x = _t([0.1, 0.4])
    rep = an.gradcheck_report(f, (x,))
    assert rep.culprit.op == "WrongExpOp"
    assert rep.culprit.location.endswith(f":{_line_of('WrongExpOp()', f)}")
    assert an.gradcheck_report(an.sin, (x,)).culprit is None


# ----------------------------------------------------------------------------- modes
def test_fast_mode_catches_and_recomputes_the_full_jacobian():
    rng = np.random.default_rng(3)
    x, y = _t(rng.uniform(1, 2, (2, 3))), _t(rng.uniform(1, 2, (2, 3)))
    rep = an.gradcheck_report(WrongAt.apply, (x, y), fast_mode=True)
    assert not rep.passed and rep.recomputed_full
    assert rep.inputs[1].worst_index == (1, 2) and not rep.inputs[1].projected
    assert "fast mode flagged" in rep.message()
    ok = an.gradcheck_report(lambda a, b: a * b, (x, y), fast_mode=True)
    full = an.gradcheck_report(lambda a, b: a * b, (x, y))
    assert ok.passed and not ok.recomputed_full and ok.evaluations < full.evaluations


class WrongJvpSin(Op):
    """sin with a right vjp and a jvp 1% off."""
    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def vjp(self, g, out, x):
        return g * an.cos(x)

    def jvp(self, tangents, out, x):
        return tangents[0] * an.cos(x) * 1.01


def test_check_forward_ad_catches_a_wrong_jvp():
    x = _t([0.2, -0.4, 1.0])
    fn = lambda t: apply(WrongJvpSin(), t)  # noqa: E731
    assert an.gradcheck(fn, (x,))
    for fast in (False, True):
        rep = an.gradcheck_report(fn, (x,), check_forward_ad=True, fast_mode=fast)
        assert not rep.passed and rep.inputs[0].passed and not rep.forward[0].passed
        assert "forward mode" in rep.message()


def test_nondet_tol_compares_two_backward_passes():
    class Noisy(an.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.data * 2 + np.random.default_rng().uniform(-1e-9, 1e-9, g.shape)
    x = _t([1.0, 2.0])
    rep = an.gradcheck_report(Noisy.apply, (x,))
    assert not rep.passed and "not deterministic" in rep.message()
    assert an.gradcheck(Noisy.apply, (x,), nondet_tol=1e-7)
    assert an.gradcheck(Noisy.apply, (x,), nondet_tol=1e-7, fast_mode=True)


def test_gradgradcheck_checks_second_derivatives():
    x = _t([0.5, -1.2])
    assert an.gradcheck(DetachedCube.apply, (x,))
    with pytest.raises(an.GradcheckError, match="gradgradcheck failed"):
        an.gradgradcheck(DetachedCube.apply, (x,))
    y = _t([[0.3, -0.8], [1.1, 0.2]])
    for fast in (False, True):
        assert an.gradgradcheck(lambda a, b: (an.tanh(a @ b), a * b), (y, y + 0.0), fast_mode=fast)
    rep = an.gradgradcheck(an.sin, (x,), report=True)
    assert rep.passed and rep.order == 2 and [r.name for r in rep.inputs] == ["input 0",
                                                                              "grad_output 0"]


# ----------------------------------------------------------------------------- strategies
@settings(max_examples=8)
@given(net=ats.mlps(in_features=3, activations=("tanh", "sigmoid", "softplus", "gelu")),
       data=st.data())
def test_assert_gradients_close_on_random_mlps(net, data):
    x = data.draw(ats.tensors(shape=(2, 3), requires_grad=False))
    params = list(net.parameters())
    assert_gradients_close(lambda *p: net(x), *params)
    assert_gradients_close(lambda *p: net(x), *params, fast_mode=True)


@settings(max_examples=8)
@given(net=ats.mlps(in_features=2, out_features=3, hidden_layers=(1, 2), dtype=np.float32,
                    bias=True))
def test_mlps_respect_their_arguments(net):
    layers = [m for m in net.children() if isinstance(m, an.nn.Linear)]
    assert 2 <= len(layers) <= 3
    assert layers[0].in_features == 2 and layers[-1].out_features == 3
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert all(lin.bias is not None for lin in layers)


def test_assert_gradients_close_raises_assertion_error_with_the_message():
    x, y = _t(np.ones((2, 3)) * 1.5), _t(np.ones((2, 3)) * 1.2)
    with pytest.raises(AssertionError, match=r"input 1\[1, 2\]"):
        assert_gradients_close(WrongAt.apply, x, y)
    with pytest.raises(TypeError):
        assert_gradients_close(an.exp, np.ones(2))
    assert assert_gradients_close(an.sin, _t([0.1, 0.2]), order=2).passed


# ----------------------------------------------------------------------------- command line
def test_cli_prints_a_table_and_exits_zero(capsys):
    from autonn.cli import main
    assert main(["gradcheck", "--ops", "tanh", "matmul", "--examples", "2"]) == 0
    out = capsys.readouterr().out
    assert "max abs error" in out and "max rel error" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("tanh", "matmul"))]
    assert {(r[0], r[1], r[-1]) for r in rows} == {(op, dt, "pass") for op in ("tanh", "matmul")
                                                   for dt in ("float64", "float32")}


def test_cli_exits_non_zero_when_an_op_fails(capsys, monkeypatch):
    from autonn.cli import main
    from autonn.testing import registry
    spec = registry.REGISTRY["tanh"]
    monkeypatch.setitem(registry.REGISTRY, "broken_square",
                        registry.OpSpec("broken_square", PlantedSquare.apply, np.square,
                                        spec.cases))
    assert main(["gradcheck", "--ops", "broken_square", "--examples", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "culprit: PlantedSquare" in out
    assert main(["gradcheck", "--ops", "no_such_op"]) == 2


# ----------------------------------------------------------------------------- domain edges
class HalfLine(an.Function):
    """x**2 + 3x on x >= 0 only (NaN left of 0): its right derivative at 0 is 3."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return x * x + 3 * x + 0 * np.sqrt(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 * x + 3)


class SqrtOff(an.Function):
    """sqrt with a derivative 0.5% off: 0.5025 / sqrt(x)."""

    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x)

    @staticmethod
    def backward(ctx, g):
        return g.data * 0.5025 / np.sqrt(ctx._inputs[0].data)


def _diagonal(rep):
    return np.diagonal(rep.inputs[0].pairs[0].numeric_jacobian)


def test_sqrt_in_float32_near_zero_adapts_the_step_instead_of_failing():
    x = _t(np.geomspace(1e-4, 1e-2, 6), np.float32)
    exact = 0.5 / np.sqrt(x.data.astype(np.float64))   # hand-derived d sqrt(x) / dx
    rep = an.gradcheck_report(an.sqrt, (x,), numeric_dtype=np.float32)  # the float32 step 2**-8
    assert rep.passed and rep.culprit is None
    edges = [d.index for d in rep.domain_edges]
    assert edges == [(i,) for i in range(6) if x.data[i] < 2.0 ** -8]  # exactly where x < h
    assert all(d.method == "central" and d.step < x.data[d.index] for d in rep.domain_edges)
    near = [i for (i,) in edges]
    np.testing.assert_allclose(_diagonal(rep)[near], exact[near], rtol=1e-3)
    np.testing.assert_allclose(_diagonal(rep), exact, rtol=rep.rtol)
    assert "leaves fn's domain" in rep.message() and "nan" not in rep.message()
    assert an.gradcheck(an.sqrt, (x,), numeric_dtype=np.float32, fast_mode=True)
    assert an.gradcheck(an.sqrt, (x,))                  # numeric side in float64


@pytest.mark.parametrize("fn, derivative", [(an.sqrt, lambda x: 0.5 / np.sqrt(x)),
                                            (an.log, lambda x: 1 / x)])
def test_float64_steps_shrink_near_the_edge_of_the_domain(fn, derivative):
    x = _t(np.geomspace(1e-12, 1e-5, 8))
    for fast in (False, True):
        rep = an.gradcheck_report(fn, (x,), fast_mode=fast)
        assert rep.passed, rep.message()
        assert rep.domain_edges
    rep = an.gradcheck_report(fn, (x,))
    np.testing.assert_allclose(_diagonal(rep), derivative(x.data), rtol=rep.rtol / 4)


def test_a_wrong_derivative_near_the_edge_still_fails():
    x = _t(np.geomspace(1e-4, 1e-2, 4), np.float32)
    rep = an.gradcheck_report(SqrtOff.apply, (x,))
    assert not rep.passed and rep.culprit.name == "SqrtOff"
    x = _t(np.geomspace(1e-12, 1e-7, 4))
    rep = an.gradcheck_report(SqrtOff.apply, (x,))
    assert not rep.passed and rep.domain_edges and rep.culprit.name == "SqrtOff"


def test_on_the_edge_of_the_domain_the_difference_is_one_sided():
    x = _t([0.0, 0.5])
    rep = an.gradcheck_report(HalfLine.apply, (x,))
    assert rep.passed, rep.message()
    (edge,) = rep.domain_edges
    assert edge.index == (0,) and edge.method == "forward"
    assert _diagonal(rep) == pytest.approx([3.0, 4.0], rel=1e-9)   # 2x + 3
    assert "one-sided (forward)" in rep.message()


# ----------------------------------------------------------------------------- float32 vs float64
class Float32Bug(an.Function):
    """tanh whose backward is right in float64 and 0.2% off on the float32 path."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        grad = g * (1 - y * y)
        return grad * 1.002 if grad.dtype == np.float32 else grad


class OnlyFloat32(an.Function):
    """exp computed in float32 whatever the input dtype (a float32-only implementation)."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(np.asarray(x, dtype=np.float32))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


def _scaled(op, factor):
    """``op`` (an autonn function of one tensor) with its true vjp multiplied by ``factor``."""
    class Scaled(an.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.x = np.array(x, copy=True)
            return op(an.tensor(x)).data

        @staticmethod
        def backward(ctx, g):
            t = an.tensor(ctx.x, requires_grad=True)
            with an.enable_grad():
                (true,) = an.grad(op(t), (t,), g.detach())
            return true.data * factor
    return Scaled.apply


def test_float32_checks_take_the_numeric_side_from_float64():
    rng = np.random.default_rng(5)
    x = _t(rng.uniform(-2, 2, (3, 4)), np.float32)
    rep = an.gradcheck_report(an.tanh, (x,))
    assert rep.passed and (rep.atol, rep.rtol) == an.checking.WIDENED["float32"]
    assert "evaluated in float64 (fn also runs in float64" in rep.step
    exact = 1 - np.tanh(x.data.astype(np.float64)) ** 2            # hand-derived, in float64
    numeric = rep.inputs[0].pairs[0].numeric_jacobian.reshape(12, 12)
    np.testing.assert_allclose(np.diagonal(numeric), exact.ravel(), rtol=1e-9)
    # a bug on the float32 path only: invisible to float32 differences, caught now
    assert an.gradcheck(Float32Bug.apply, (x,), numeric_dtype=np.float32)
    rep = an.gradcheck_report(Float32Bug.apply, (x,))
    assert not rep.passed and rep.culprit.name == "Float32Bug"
    assert an.gradcheck(Float32Bug.apply, (_t(x.data, np.float64),))   # float64 path is right


@pytest.mark.parametrize("op", [an.tanh, an.exp, lambda t: an.softmax(t, axis=1),
                                lambda t: (t @ t.T).sum(axis=0)])
def test_a_gradient_off_by_a_tenth_of_a_percent_is_caught_in_float32(op):
    x = _t(np.random.default_rng(6).uniform(-1.5, 1.5, (3, 4)), np.float32)
    assert an.gradcheck(_scaled(op, 1.0), (x,))
    wrong = _scaled(op, 1 + 1e-3)
    assert an.gradcheck(wrong, (x,), numeric_dtype=np.float32)  # under float32's allowance
    assert not an.gradcheck(wrong, (x,), raise_exception=False)
    assert not an.gradcheck(wrong, (x,), raise_exception=False, fast_mode=True)


def test_functions_that_only_run_in_float32_keep_the_float32_check():
    x = _t([0.3, -1.0, 2.0], np.float32)
    rep = an.gradcheck_report(OnlyFloat32.apply, (x,))
    assert rep.passed and (rep.atol, rep.rtol) == TOLERANCES["float32"]
    assert "evaluated in float32" in rep.step
    assert any("fn returns float32 outputs for float64 inputs" in n for n in rep.notes)

    def refuses_float64(t):
        if t.dtype != np.float32:
            raise TypeError("float32 only")
        return an.sin(t)
    rep = an.gradcheck_report(refuses_float64, (x,))
    assert rep.passed and (rep.atol, rep.rtol) == TOLERANCES["float32"]
    assert any("fails on float64 inputs (TypeError: float32 only)" in n for n in rep.notes)


# ----------------------------------------------------------------------------- culprit: other rules
class DetachedCube(Cube):
    """x**3 whose backward has the right value but loses d/dx (x is detached): a wrong second
    derivative (0 instead of 6x) with a right first one."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x.detach() ** 2 * g


class DetachedSinOp(Op):
    """sin as an op whose vjp multiplies by cos(x) as a constant: d2/dx2 sin is lost."""
    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def vjp(self, g, out, x):
        return g * an.tensor(np.cos(x.data))


class WrongCosOp(Op):
    """cos with a wrong vjp (-1.01 sin x); used inside MySin's backward only."""
    __slots__ = ()

    def forward(self, x):
        return np.cos(x)

    def vjp(self, g, out, x):
        return -1.01 * g * an.sin(x)


class MySin(an.Function):
    """sin whose backward, written with autonn ops, uses WrongCosOp: its first derivative is
    right, and the op that makes the second one wrong is WrongCosOp's own vjp."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * apply(WrongCosOp(), x)


def _second_order_model(x):
    h = an.tanh(x) * 0.5
    h = DetachedCube.apply(h)          # the planted wrong second derivative
    return an.sin(h) + h


def test_culprit_search_finds_a_wrong_second_derivative():
    x = _t([0.4, -0.9, 1.3])
    assert an.gradcheck(_second_order_model, (x,))          # first derivatives are right
    rep = an.gradgradcheck(_second_order_model, (x,), report=True)
    assert not rep.passed and rep.culprit is not None
    c = rep.culprit
    assert (c.name, c.rule, c.argument) == ("DetachedCube", "second", 0)
    assert c.location == f"{__file__}:{_line_of('DetachedCube.apply', _second_order_model)}"
    # d/dh of its vjp 3 h**2 v is 6 h v (v: the incoming gradient, random), its analytic 0
    assert c.analytic == 0 and abs(c.numeric) > 0.1
    assert "culprit: DetachedCube created at" in rep.message()
    assert "second derivative" in rep.message()

    def f(x):
        return an.tanh(apply(DetachedSinOp(), x * 2))
    rep = an.gradgradcheck(f, (x,), report=True)
    assert rep.culprit.op == "DetachedSinOp" and rep.culprit.rule == "second"
    assert rep.culprit.location.endswith(f":{_line_of('DetachedSinOp()', f)}")


def test_a_wrong_first_order_rule_in_the_derivative_graph_is_blamed_first():
    x = _t([0.4, -0.9])
    assert an.gradcheck(MySin.apply, (x,))
    rep = an.gradgradcheck(lambda t: MySin.apply(t * 1.5), (x,), report=True)
    assert rep.culprit.op == "WrongCosOp" and rep.culprit.rule == "vjp"
    assert rep.culprit.location.endswith(f":{_line_of('WrongCosOp()', MySin.backward)}")


class WrongJvpCube(Cube):
    """x**3 with a right backward and a jvp 1% off."""

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3.03 * x ** 2 * t


def test_culprit_search_finds_a_wrong_jvp():
    def f(t):
        return an.tanh(WrongJvpCube.apply(an.sin(t)) * 2)
    x = _t([0.3, -0.7, 1.1])
    assert an.gradcheck(f, (x,))
    for fast in (False, True):
        rep = an.gradcheck_report(f, (x,), check_forward_ad=True, fast_mode=fast)
        assert not rep.passed and rep.inputs[0].passed and not rep.forward[0].passed
        c = rep.culprit
        assert (c.name, c.rule) == ("WrongJvpCube", "jvp")
        assert c.location.endswith(f":{_line_of('WrongJvpCube.apply', f)}")
        s = np.sin(x.data)
        assert c.analytic == pytest.approx(3.03 * s[c.worst_index] ** 2, rel=1e-9)
        assert c.numeric == pytest.approx(3 * s[c.worst_index] ** 2, rel=1e-6)
        assert "its jvp (forward mode)" in rep.message()


def test_culprit_search_finds_an_op_with_a_wrong_jvp_rule():
    def f(t):
        return an.exp(apply(WrongJvpSin(), t * t))
    rep = an.gradcheck_report(f, (_t([0.2, -0.4]),), check_forward_ad=True)
    assert rep.culprit.op == "WrongJvpSin" and rep.culprit.rule == "jvp"
    assert rep.searched == "jvp"


def test_no_culprit_names_the_rules_that_were_searched():
    class HiddenConstant(an.Function):
        """y = x * c where backward believes c = 2 but forward reads a global 2.5: every op's
        own rules are right (the Function's forward is re-run with the same global)."""
        scale = 2.5

        @staticmethod
        def forward(ctx, x):
            return x * HiddenConstant.scale

        @staticmethod
        def backward(ctx, g):
            return g * 2.0
    rep = an.gradcheck_report(HiddenConstant.apply, (_t([1.0]),))
    assert not rep.passed and rep.culprit is not None    # its own vjp is wrong: found
    x = _t([0.5])
    snap = {"v": 1.0}

    def leaky(t):   # reads the input's value as a constant: no op is wrong on its own
        return t * an.tensor(t.data * snap["v"])
    rep = an.gradgradcheck(leaky, (x,), report=True)
    assert not rep.passed and rep.culprit is None
    assert "every op's own vjp and second derivative agrees" in rep.message()


SquareOff = square_function(2.1, "SquareOff")  # 5% off, beyond even float32's allowance


def test_a_sqrt_near_the_edge_of_its_domain_is_not_blamed_for_another_ops_bug():
    def f(t):
        return SquareOff.apply(an.sqrt(t) + 1)   # Sqrt is made (and checked) first
    x = _t(np.geomspace(1e-4, 1e-2, 4), np.float32)
    for options in ({}, {"numeric_dtype": np.float32}):
        rep = an.gradcheck_report(f, (x,), **options)
        assert not rep.passed and rep.culprit.name == "SquareOff", rep.message()

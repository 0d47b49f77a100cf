"""gradcheck, gradgradcheck, gradcheck_report: verdicts, messages, reports, kinks, culprit,
fast mode, forward mode, nondeterminism, precision options, the CLI, and the public strategies."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autonn as an
from autonn.checking import GradcheckWarning, TOLERANCES
from autonn.checking import _tolerances
from autonn.ops.base import Op, apply
from autonn.testing import assert_gradients_close, strategies as ats


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


class PlantedSquare(an.Function):
    """x**2 with a wrong gradient: 2.01 x instead of 2 x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2.01 * x * g


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


def test_check_forward_ad_catches_a_wrong_jvp():
    class WrongJvpSin(Op):
        __slots__ = ()

        def forward(self, x):
            return np.sin(x)

        def vjp(self, g, out, x):
            return g * an.cos(x)

        def jvp(self, tangents, out, x):
            return tangents[0] * an.cos(x) * 1.01
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
    class FirstOrderOnly(an.Function):
        """x**3 whose backward is right but not differentiable correctly (x is detached)."""
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x.detach() ** 2 * g
    x = _t([0.5, -1.2])
    assert an.gradcheck(FirstOrderOnly.apply, (x,))
    with pytest.raises(an.GradcheckError, match="gradgradcheck failed"):
        an.gradgradcheck(FirstOrderOnly.apply, (x,))
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

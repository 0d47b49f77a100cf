"""an.Function (user-defined ops) and the an.func transforms, against hand-derived formulas."""
import numpy as np
import pytest

import autonn as an
from autonn import func
from autonn_tests._helpers import Cube


class CubeNumpy(Cube):
    """backward returns ndarrays: once-differentiable."""
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x.data ** 2 * g.data


class ScaleBy(an.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x * alpha

    @staticmethod
    def backward(ctx, g):
        return g * ctx.alpha, None


class SplitHalves(an.Function):
    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        return x[:n] * 2, x[n:] * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return an.concatenate([ga * 2, gb * 3])


def test_function_forward_backward_and_double_backward():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    np.testing.assert_allclose(y.data, [1, 8])
    (g,) = an.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, [3, 12])
    (gg,) = an.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, [6, 12])  # 6x


def test_numpy_backward_is_once_differentiable():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (g,) = an.grad(CubeNumpy.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, [3, 12])
    with pytest.raises(RuntimeError, match="once-differentiable"):
        an.grad(g.sum(), x)


def test_function_with_non_tensor_argument_and_ctx_attribute():
    x = an.tensor([1.0, -1.0], requires_grad=True)
    ScaleBy.apply(x, 2.5).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.5, 2.5])


def test_function_with_two_outputs():
    x = an.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a, b = SplitHalves.apply(x)
    (a.sum() + 10 * b.sum()).backward()
    np.testing.assert_allclose(x.grad.data, [2, 2, 30, 30])
    x.grad = None
    a, b = SplitHalves.apply(x)
    a.sum().backward()  # the unused output gets a zero gradient
    np.testing.assert_allclose(x.grad.data, [2, 2, 0, 0])


def test_function_wrong_gradient_count_is_an_error():
    class Bad(an.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    x = an.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="2 arguments"):
        Bad.apply(x, x).sum().backward()


def f_poly(x):
    return (x ** 3 * 2 + an.sin(x)).sum()


def test_grad_and_value_and_grad():
    x = an.tensor([0.3, -1.2])
    g = func.grad(f_poly)(x)
    np.testing.assert_allclose(g.data, 6 * x.data ** 2 + np.cos(x.data))
    assert not g.requires_grad
    v, g2 = func.value_and_grad(f_poly)(x)
    assert v.item() == pytest.approx(np.sum(2 * x.data ** 3 + np.sin(x.data)))
    np.testing.assert_allclose(g2.data, g.data)


def test_grad_argnums_tuple():
    f = lambda a, b: (a * b ** 2).sum()
    a, b = an.tensor([1.0, 2.0]), an.tensor([3.0, 4.0])
    ga, gb = func.grad(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga.data, b.data ** 2)
    np.testing.assert_allclose(gb.data, 2 * a.data * b.data)


def test_nested_grad():
    x = an.tensor(0.5)
    d3 = func.grad(func.grad(func.grad(lambda t: t ** 4)))(x)
    assert d3.item() == pytest.approx(24 * 0.5)


def test_vjp_and_jvp_agree_with_jacobian():
    A = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    f = lambda x: an.tanh(an.tensor(A) @ x)
    x = an.tensor([0.1, -0.2, 0.3])
    J = (1 - np.tanh(A @ x.data) ** 2)[:, None] * A
    jac = func.jacobian(f)(x)
    np.testing.assert_allclose(jac.data, J)
    out, vjp_fn = func.vjp(f, x)
    (vj,) = vjp_fn(an.tensor([1.0, 2.0]))
    np.testing.assert_allclose(vj.data, np.array([1.0, 2.0]) @ J)
    out, jv = func.jvp(f, (x,), (an.tensor([1.0, 0.0, -1.0]),))
    np.testing.assert_allclose(jv.data, J @ np.array([1.0, 0.0, -1.0]))


def test_hessian_and_hvp():
    f = lambda x: (x[0] ** 2 * x[1] + an.exp(x[1])).sum()
    x = an.tensor([1.5, 0.5])
    a, b = x.data
    H = np.array([[2 * b, 2 * a], [2 * a, np.exp(b)]])
    np.testing.assert_allclose(func.hessian(f)(x).data, H)
    v = np.array([0.3, -0.7])
    _, (hv,) = func.hvp(f, (x,), (an.tensor(v),))
    np.testing.assert_allclose(hv.data, H @ v)


def test_jvp_through_op_without_jvp_rule_uses_double_vjp():
    x = an.tensor([0.2, 0.4])
    _, t = func.jvp(lambda v: Cube.apply(v), (x,), (an.ones(2),))
    np.testing.assert_allclose(t.data, 3 * x.data ** 2)


def test_transforms_stay_connected_to_outer_graph():
    w = an.tensor(2.0, requires_grad=True)
    g = func.grad(lambda x: (w * x ** 2).sum())(an.tensor([1.0, 3.0]))  # 2 w x
    g.sum().backward()
    assert w.grad.item() == pytest.approx(2 * (1 + 3))


def test_transform_errors():
    with pytest.raises(RuntimeError, match="one-element"):
        func.grad(lambda x: x * 2)(an.ones(3))
    with pytest.raises(ValueError, match="tangent shape"):
        func.jvp(lambda x: x, (an.ones(2),), (an.ones(3),))


class ExpSavingOutput(an.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class ReturnsSavedTensor(an.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(w)
        return x * w

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return w, None


def test_function_saving_its_output_differentiates_twice():
    h = func.hessian(lambda z: ExpSavingOutput.apply(z).sum())(an.tensor([0.0, 1.0]))
    np.testing.assert_allclose(h.data, np.diag([1.0, np.e]))


def test_gradient_returned_from_saved_tensor_is_not_aliased():
    x, w = an.tensor([1.0, 2.0], requires_grad=True), an.tensor([1.0, 2.0])
    ReturnsSavedTensor.apply(x, w).sum().backward()
    ReturnsSavedTensor.apply(x, w).sum().backward()
    np.testing.assert_allclose(w.data, [1, 2])
    np.testing.assert_allclose(x.grad.data, [2, 4])


def test_transforms_work_inside_no_grad():
    with an.no_grad():
        g = func.grad(lambda z: (z ** 2).sum())(an.tensor([1.0, 2.0]))
        h = func.hessian(lambda z: (z ** 3).sum())(an.tensor([1.0, 2.0]))
    np.testing.assert_allclose(g.data, [2, 4])
    np.testing.assert_allclose(h.data, np.diag([6.0, 12.0]))
    assert not g.requires_grad


def test_jvp_through_a_multi_output_function():
    _, t = func.jvp(lambda z: SplitHalves.apply(z)[1], (an.tensor([1.0, 2.0, 3.0, 4.0]),),
                    (an.ones(4),))
    np.testing.assert_allclose(t.data, [3, 3])


def test_jacobian_of_tuple_outputs_and_hessian_of_tuple_argnums():
    x, y = an.tensor([1.0, 3.0]), an.tensor([2.0, 5.0])
    ja, jb = func.jacobian(lambda v: (v * 2, v ** 2))(x)
    np.testing.assert_allclose(ja.data, 2 * np.eye(2))
    np.testing.assert_allclose(jb.data, np.diag([2.0, 6.0]))
    (hxx, hxy), (hyx, hyy) = func.hessian(lambda a, b: (a * b * b).sum(), (0, 1))(x, y)
    np.testing.assert_allclose(hxx.data, 0)
    np.testing.assert_allclose(hxy.data, np.diag(2 * y.data))
    np.testing.assert_allclose(hyy.data, np.diag(2 * x.data))


def test_hvp_keeps_the_structure_of_primals():
    _, hv = func.hvp(lambda v: (v ** 3).sum(), an.tensor([1.0, 2.0]), an.ones(2))
    assert isinstance(hv, an.Tensor)
    np.testing.assert_allclose(hv.data, [6, 12])


# ----------------------------------------------------------------------------- Function.jvp
class Softsign(an.Function):
    """x / (1 + |x|) with backward and jvp; ``calls`` counts the jvp calls."""
    calls = 0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + np.abs(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + an.abs(x)) ** 2

    @staticmethod
    def jvp(ctx, t):
        Softsign.calls += 1
        (x,) = ctx.saved_tensors
        return t / (1 + an.abs(x)) ** 2


class AffineTwoOut(an.Function):
    """(a * x + y, x * y) with a non-Tensor ``a``; jvp from both tangents."""
    seen = None

    @staticmethod
    def forward(ctx, x, a, y):
        ctx.a = a
        ctx.save_for_forward(x, y)
        return a * x + y, x * y

    @staticmethod
    def backward(ctx, g1, g2):
        raise AssertionError("forward mode must not call backward when jvp exists")

    @staticmethod
    def jvp(ctx, tx, ta, ty):
        AffineTwoOut.seen = ta
        x, y = ctx.saved_tensors
        return ctx.a * tx + ty, (tx * y + x * ty).data   # an ndarray is accepted too


def test_function_jvp_is_used_by_forward_mode():
    x = np.array([-2.0, 0.5, 3.0])
    t = np.array([1.0, -2.0, 0.5])
    Softsign.calls = 0
    out, tan = func.jvp(Softsign.apply, (an.tensor(x),), (an.tensor(t),))
    np.testing.assert_allclose(out.data, x / (1 + np.abs(x)))
    np.testing.assert_allclose(tan.data, t / (1 + np.abs(x)) ** 2)    # hand-derived
    assert Softsign.calls == 1
    # inside a composition, with a chain rule around it
    _, tan = func.jvp(lambda z: an.exp(Softsign.apply(z * 2)), (an.tensor(x),), (an.tensor(t),))
    s = 2 * x / (1 + np.abs(2 * x))
    np.testing.assert_allclose(tan.data, np.exp(s) * 2 * t / (1 + np.abs(2 * x)) ** 2)
    assert Softsign.calls == 2


def test_function_jvp_with_two_outputs_and_a_non_tensor_argument():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    tx, ty = np.array([0.5, 1.0]), np.array([2.0, 0.0])
    primals, tangents = (an.tensor(x), an.tensor(y)), (an.tensor(tx), an.tensor(ty))
    _, t1 = func.jvp(lambda u, v: AffineTwoOut.apply(u, 1.5, v)[0], primals, tangents)
    assert AffineTwoOut.seen is None            # the float argument gets no tangent
    _, t2 = func.jvp(lambda u, v: AffineTwoOut.apply(u, 1.5, v)[1], primals, tangents)
    np.testing.assert_allclose(t1.data, 1.5 * tx + ty)
    np.testing.assert_allclose(t2.data, tx * y + x * ty)
    # a Tensor argument without a tangent (a constant) gets zeros
    _, t2 = func.jvp(lambda u: AffineTwoOut.apply(u, 1.5, an.tensor(y))[1], (an.tensor(x),),
                     (an.tensor(tx),))
    np.testing.assert_allclose(t2.data, tx * y)


def test_gradcheck_checks_function_jvp():
    x = an.tensor([-1.5, 0.2, 2.0], requires_grad=True)
    assert an.gradcheck(Softsign.apply, (x,), check_forward_ad=True)

    class WrongJvp(Softsign):
        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return t / (1 + an.abs(x)) ** 2 * 1.01
    assert an.gradcheck(WrongJvp.apply, (x,))                      # backward is right
    rep = an.gradcheck_report(WrongJvp.apply, (x,), check_forward_ad=True)
    assert not rep.passed and not rep.forward[0].passed and rep.inputs[0].passed
    assert rep.culprit.name == "WrongJvp" and rep.culprit.rule == "jvp"


def test_function_jvp_errors_name_the_function():
    class TooMany(Softsign):
        @staticmethod
        def jvp(ctx, t):
            return t, t

    class BadShape(Softsign):
        @staticmethod
        def jvp(ctx, t):
            return t.sum()
    x, t = (an.tensor([1.0, 2.0]),), (an.ones(2),)
    with pytest.raises(RuntimeError, match="TooMany.jvp returned 2 tangents but forward "
                                           "returned 1 outputs"):
        func.jvp(TooMany.apply, x, t)
    with pytest.raises(ValueError, match=r"BadShape.jvp returned a tangent of shape \(\) for "
                                         r"output 0 of shape \(2,\)"):
        func.jvp(BadShape.apply, x, t)


def test_function_without_jvp_uses_its_backward_in_forward_mode():
    _, t = func.jvp(Cube.apply, (an.tensor([1.0, -2.0]),), (an.tensor([1.0, 0.5]),))
    np.testing.assert_allclose(t.data, [3.0, 6.0])   # 3 x**2 t

"""Activation modules and Lambda against NumPy formulas and finite differences."""
import math

import numpy as np
import pytest

import autonn as an
from autonn import nn
from autonn.nn import functional as F
from autonn_tests._fd import check_grads, get_gradcheck

RNG = np.random.default_rng(99)
_erf = np.vectorize(math.erf)


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


CASES = [
    (nn.ReLU(), lambda z: np.maximum(z, 0)),
    (nn.Sigmoid(), lambda z: 1 / (1 + np.exp(-z))),
    (nn.Tanh(), np.tanh),
    (nn.LeakyReLU(), lambda z: np.where(z > 0, z, 0.01 * z)),
    (nn.LeakyReLU(0.3), lambda z: np.where(z > 0, z, 0.3 * z)),
    (nn.ELU(), lambda z: np.where(z > 0, z, np.expm1(z))),
    (nn.ELU(alpha=2.0), lambda z: np.where(z > 0, z, 2 * np.expm1(z))),
    (nn.GELU(), lambda z: 0.5 * z * (1 + _erf(z / math.sqrt(2)))),
    (nn.GELU(approximate="tanh"),
     lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))),
    (nn.Softplus(), lambda z: np.log1p(np.exp(z))),
    (nn.Softplus(beta=2.0, threshold=1.0),
     lambda z: np.where(2 * z > 1.0, z, np.log1p(np.exp(2 * z)) / 2)),
    (nn.Softmax(dim=1), lambda z: _softmax(z, 1)),
    (nn.Softmax(), lambda z: _softmax(z, -1)),
    (nn.Softmax(dim=0), lambda z: _softmax(z, 0)),
    (nn.LogSoftmax(dim=1), lambda z: np.log(_softmax(z, 1))),
]


@pytest.mark.parametrize("module, ref", CASES, ids=[repr(m) for m, _ in CASES])
def test_activation_forward_and_gradient(module, ref):
    z = RNG.standard_normal((4, 5)) * 2
    z[np.abs(z) < 1e-3] = 0.5  # keep finite differences away from kinks
    if isinstance(module, nn.Softplus) and module.beta == 2.0:
        z[np.abs(2 * z - 1.0) < 1e-3] = 0.9
    x = an.tensor(z, requires_grad=True)
    np.testing.assert_allclose(module(x).data, ref(z), rtol=1e-6, atol=1e-7)
    check_grads(module, [x], atol=1e-6)


def test_functional_names_match_modules():
    z = an.tensor(RNG.standard_normal((3, 4)))
    for f, m in [(F.relu, nn.ReLU()), (F.sigmoid, nn.Sigmoid()), (F.tanh, nn.Tanh()),
                 (F.gelu, nn.GELU()), (F.softplus, nn.Softplus()), (F.elu, nn.ELU()),
                 (F.leaky_relu, nn.LeakyReLU())]:
        np.testing.assert_array_equal(f(z).data, m(z).data)
    np.testing.assert_array_equal(F.softmax(z, dim=0).data, nn.Softmax(0)(z).data)
    np.testing.assert_array_equal(F.log_softmax(z, dim=1).data, nn.LogSoftmax(1)(z).data)


# ------------------------------------------------------------------------------ Lambda
def _swish(x):
    return x / (1 + np.exp(-x))


def _swish_deriv(x):
    s = 1 / (1 + np.exp(-x))
    return s + x * s * (1 - s)


def test_lambda_with_numpy_derivative_uses_it():
    act = nn.Lambda(_swish, _swish_deriv)
    z = RNG.standard_normal((3, 4))
    x = an.tensor(z, requires_grad=True)
    y = act(x)
    np.testing.assert_allclose(y.data, _swish(z), rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, _swish_deriv(z), rtol=1e-12)
    check_grads(act, [an.tensor(z, requires_grad=True)])
    assert repr(act) == "Lambda(fn=_swish, derivative=_swish_deriv)"


def test_lambda_wrong_derivative_gives_the_wrong_gradient():
    wrong = nn.Lambda(_swish, lambda x: 1 / (1 + np.exp(-x)))  # forgot the product rule
    z = RNG.standard_normal((3, 4))
    x = an.tensor(z, requires_grad=True)
    wrong(x).sum().backward()
    assert not np.allclose(x.grad.data, _swish_deriv(z), atol=1e-3)
    with pytest.raises(AssertionError):
        check_grads(wrong, [an.tensor(z, requires_grad=True)], use_gradcheck=False)
    gradcheck = get_gradcheck()
    if gradcheck is not None:
        assert not gradcheck(wrong, (an.tensor(z, requires_grad=True),), raise_exception=False)


def test_lambda_scalar_derivative_and_seed_style_activation():
    ident = nn.Lambda(lambda x: x, lambda x: 1)  # the seed writes `lambda x: 1`
    x = an.tensor([[1.0, -2.0]], requires_grad=True)
    ident(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 1.0]])
    relu = nn.Lambda(lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0)
    x = an.tensor([[-1.0, 2.0]], requires_grad=True)
    relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0]])


def test_lambda_derivative_in_autonn_ops_is_twice_differentiable():
    x = an.tensor([0.3, -1.2], requires_grad=True)
    t = np.tanh(x.data)
    for deriv in (lambda x: 1 - an.tanh(x) ** 2,   # autonn functions
                  lambda x: 1 - x.tanh() ** 2):     # Tensor methods only
        act = nn.Lambda(an.tanh, deriv)
        (g,) = an.grad(act(x).sum(), x, create_graph=True)
        np.testing.assert_allclose(g.data, 1 - t ** 2)
        (h,) = an.grad(g.sum(), x)
        np.testing.assert_allclose(h.data, -2 * t * (1 - t ** 2))


def test_lambda_mixed_numpy_derivative_is_never_silently_wrong_twice():
    # np.exp on a Tensor would turn into a constant: such a derivative must not be given the
    # Tensor, so the second derivative raises instead of being wrong
    act = nn.Lambda(_swish, _swish_deriv)
    x = an.tensor([0.3, -1.0], requires_grad=True)
    (g,) = an.grad(act(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, _swish_deriv(x.data))
    with pytest.raises(RuntimeError, match="once-differentiable"):
        an.grad(g.sum(), x)
    cube = nn.Lambda(lambda x: x ** 3, lambda x: 3 * x ** 2)  # plain arithmetic: NumPy values
    (g,) = an.grad(cube(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)


def test_lambda_numpy_derivative_is_once_differentiable():
    act = nn.Lambda(np.tanh, lambda x: 1 - np.tanh(np.asarray(x)) ** 2)
    x = an.tensor([0.3, -0.2], requires_grad=True)
    (g,) = an.grad(act(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 1 - np.tanh(x.data) ** 2)
    with pytest.raises(RuntimeError, match="once-differentiable"):
        an.grad(g.sum(), x)


def test_lambda_without_derivative_uses_autograd():
    act = nn.Lambda(lambda x: x * an.sigmoid(x))
    z = RNG.standard_normal((2, 3))
    x = an.tensor(z, requires_grad=True)
    act(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, _swish_deriv(z), rtol=1e-10)
    x = an.tensor(z, requires_grad=True)
    nn.Lambda(np.tanh)(x).sum().backward()  # NumPy's tanh on a Tensor dispatches to an.tanh
    np.testing.assert_allclose(x.grad.data, 1 - np.tanh(z) ** 2, rtol=1e-12)
    numpy_only = nn.Lambda(lambda t: np.tanh(np.asarray(t)))  # an array: no graph to follow
    with pytest.raises(TypeError, match="derivative"):
        numpy_only(an.tensor(z, requires_grad=True))
    np.testing.assert_allclose(numpy_only(an.tensor(z)).data, np.tanh(z))  # fine without grad
    with pytest.raises(TypeError):
        nn.Lambda(3)


def test_lambda_inside_sequential_and_gradcheck_of_whole_network():
    net = nn.Sequential(nn.Linear(3, 4), nn.Lambda(_swish, _swish_deriv), nn.Linear(4, 2))
    check_grads(net, [an.tensor(RNG.standard_normal((5, 3)), requires_grad=True)],
                extra=list(net.parameters()))

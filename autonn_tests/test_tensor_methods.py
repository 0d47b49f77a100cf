"""Tensor's methods are written out in the class (readable, visible to type checkers and IDEs).
They must stay in step with the autonn functions they call: same parameters, same results."""

import inspect

import numpy as np
import pytest

import autonn as an
from autonn import ops
from autonn.tensor import Tensor

# methods named after an autonn function that takes the tensor first
DELEGATING = sorted(
    name for name, member in vars(Tensor).items()
    if not name.startswith("_") and inspect.isfunction(member)
    and inspect.isfunction(getattr(ops, name, None))
    and name != "transpose")  # transpose also takes PyTorch's two-axis form; tested below


def _params(fn, skip):
    return [(p.name, p.kind, p.default) for p in list(inspect.signature(fn).parameters.values())[skip:]]


def test_the_method_list_covers_the_familiar_names():
    for name in ("exp", "sum", "mean", "max", "reshape", "relu", "softmax", "matmul", "clip", "flatten"):
        assert name in DELEGATING


@pytest.mark.parametrize("name", DELEGATING)
def test_method_has_the_functions_parameters(name):
    assert _params(getattr(Tensor, name), 1) == _params(getattr(ops, name), 1), name


def test_forward_operators_are_the_ops_themselves():
    # x + y calls ops.add with no wrapper frame in between
    assert Tensor.__add__ is ops.add and Tensor.__sub__ is ops.sub and Tensor.__mul__ is ops.mul
    assert Tensor.__truediv__ is ops.div and Tensor.__pow__ is ops.pow
    assert Tensor.__matmul__ is ops.matmul and Tensor.__neg__ is ops.neg


def test_methods_compute_what_numpy_does():
    a = np.arange(1.0, 7.0).reshape(2, 3)
    t = an.tensor(a)
    np.testing.assert_allclose(t.exp().data, np.exp(a), rtol=1e-15)
    np.testing.assert_allclose(t.sum(axis=1, keepdims=True).data, a.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(t.sum(dim=0).data, a.sum(axis=0))
    np.testing.assert_allclose(t.var(ddof=1).data, a.var(ddof=1), rtol=1e-14)
    np.testing.assert_allclose(t.clip(2.0, 5.0).data, np.clip(a, 2.0, 5.0))
    np.testing.assert_allclose(t.leaky_relu(0.5).data, a)  # all positive
    np.testing.assert_allclose(t.matmul(a.T).data, a @ a.T)
    np.testing.assert_allclose(t.maximum(3.0).data, np.maximum(a, 3.0))
    assert t.view(3, 2).shape == t.reshape((3, 2)).shape == (3, 2)
    assert t.transpose().shape == (3, 2) and an.zeros((2, 3, 4)).transpose(0, 2).shape == (4, 3, 2)
    assert t.flatten().shape == (6,) and t.unsqueeze(0).shape == (1, 2, 3)
    assert t.float().dtype == np.float32 and t.double().dtype == np.float64 and t.dim() == 2
    assert t.astype(np.float32).dtype == np.float32


def test_complex_parts_are_properties_as_in_numpy():
    z = an.tensor(np.array([1 + 2j, -3 - 4j]))
    np.testing.assert_array_equal(z.real.data, [1.0, -3.0])
    np.testing.assert_array_equal(z.imag.data, [2.0, -4.0])
    np.testing.assert_array_equal(z.conj().data, [1 - 2j, -3 + 4j])


def test_methods_carry_gradients():
    x = an.tensor([0.5, -1.0, 2.0], requires_grad=True)
    x.sigmoid().sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, s * (1 - s), rtol=1e-14)

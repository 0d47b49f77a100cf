"""The kernel-backed ops pass the same property checks with AUTONN_KERNELS=numpy (the twins)."""
import pytest

from autonn import kernels
from autonn_tests import test_op_properties as props

KERNEL_BACKED = [n for n in props.NAMES if n.split("[")[0] in (
    "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
    "linear", "cross_entropy")]


@pytest.fixture
def numpy_backend():
    kernels.set_backend("numpy")
    yield
    kernels.set_backend(None)


def test_kernel_backed_ops_are_known():
    assert len(KERNEL_BACKED) >= 18


@pytest.mark.parametrize("name", KERNEL_BACKED)
def test_forward_and_gradient_with_numpy_twins(name, numpy_backend):
    assert kernels.backend() == "numpy"
    props.test_forward_matches_numpy(name)
    props.test_gradient_matches_finite_differences(name)
    props.test_float32_stays_float32(name)

"""DLPack both ways without copies: NumPy and PyTorch read a Tensor's memory, an.from_dlpack
reads theirs; a write through one side is seen by the other."""
import numpy as np
import pytest

import autonn as an


def test_numpy_reads_a_tensor_without_a_copy():
    t = an.tensor([1.0, 2.0, 3.0])
    a = np.from_dlpack(t)
    assert np.shares_memory(a, t.data)
    a[1] = -5.0
    assert t.data.tolist() == [1.0, -5.0, 3.0]
    assert t.__dlpack_device__() == t.data.__dlpack_device__()


def test_from_dlpack_shares_a_numpy_arrays_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = an.from_dlpack(a)
    assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad and t.is_leaf
    t.data[0, 0] = 42.0
    assert a[0, 0] == 42.0
    # and the tensor takes part in a graph like any other leaf
    t.requires_grad_()
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad.data, 2 * a)


def test_non_contiguous_arrays_keep_their_strides():
    a = np.arange(12.0).reshape(3, 4)[:, ::2]
    t = an.from_dlpack(a)
    assert np.shares_memory(t.data, a) and t.data.strides == a.strides
    np.testing.assert_array_equal(t.data, a)


def test_a_tensor_that_requires_grad_is_not_exported():
    t = an.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        np.from_dlpack(t)
    assert np.shares_memory(np.from_dlpack(t.detach()), t.data)


def test_from_dlpack_rejects_objects_without_dlpack():
    with pytest.raises(TypeError, match=r"from_dlpack: expected an object with __dlpack__ .*got list"):
        an.from_dlpack([1.0, 2.0])


def test_unsupported_dtypes_name_the_function():
    with pytest.raises(BufferError, match="from_dlpack: ndarray could not be shared.*dtypes"):
        an.from_dlpack(np.array(["2020-01-01"], dtype="datetime64[D]"))


try:  # PyTorch is not a dependency (too big for the test extra); the tests below need it
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


@needs_torch
def test_torch_reads_a_tensor_and_writes_through():
    t = an.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    pt = torch.from_dlpack(t)
    assert pt.dtype == torch.float32 and tuple(pt.shape) == (2, 2)
    pt[0, 1] = 9.0                       # a write on PyTorch's side ...
    assert t.data[0, 1] == 9.0           # ... is in autonn's array
    t.data[1, 0] = -1.0                  # and the other way
    assert pt[1, 0].item() == -1.0
    assert pt.data_ptr() == t.data.ctypes.data


@needs_torch
def test_from_dlpack_reads_a_torch_tensor_and_round_trips():
    pt = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    t = an.from_dlpack(pt)
    assert t.shape == (2, 3) and t.dtype == np.float64
    assert t.data.ctypes.data == pt.data_ptr()
    t.data[1, 2] = 100.0
    assert pt[1, 2].item() == 100.0
    back = torch.from_dlpack(t)          # autonn -> torch again: still the same memory
    assert back.data_ptr() == pt.data_ptr()
    pt.mul_(2)
    np.testing.assert_array_equal(t.data, [[0, 2, 4], [6, 8, 200]])


@needs_torch
def test_a_torch_tensor_that_requires_grad_must_be_detached():
    pt = torch.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="from_dlpack.*detach"):  # (PyTorch's exception type)
        an.from_dlpack(pt)
    assert an.from_dlpack(pt.detach()).data.ctypes.data == pt.data_ptr()

"""``an.from_dlpack``: another library's array as a Tensor, sharing its memory (no copy)."""
import numpy as np

from .tensor import Tensor, _to_array


def from_dlpack(obj):
    """A Tensor viewing the memory of ``obj``, any object with ``__dlpack__`` (a NumPy array, a
    CPU ``torch.Tensor``, ...); writes through either side are seen by the other.

    The result is a leaf that does not require grad (call ``.requires_grad_()`` for one).
    PyTorch exports only tensors that do not require grad: pass ``t.detach()``.

    >>> import numpy as np, autonn as an
    >>> a = np.arange(3.0)
    >>> t = an.from_dlpack(a); a[0] = 5.0; t
    tensor([5., 1., 2.])
    """
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a NumPy array, a "
                        f"torch.Tensor, ...), got {type(obj).__name__}")
    try:
        arr = np.from_dlpack(obj)
    except (BufferError, RuntimeError, TypeError, ValueError) as e:
        raise type(e)(f"from_dlpack: {type(obj).__name__} could not be shared as a CPU array "
                      f"({e})") from None
    try:
        arr = _to_array(arr)
    except TypeError as e:
        raise TypeError(f"from_dlpack: {e}") from None
    return Tensor._make(arr)

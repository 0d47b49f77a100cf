"""The default floating dtype and the dtype rules shared by tensor creation and ops."""
from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

_default: np.dtype = np.dtype(np.float64)


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the dtype that float data and new layers get by default.

    >>> import autonn as an, numpy as np
    >>> an.set_default_dtype(np.float32); an.tensor([1.0]).dtype
    dtype('float32')
    >>> an.set_default_dtype(np.float64)
    """
    global _default
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {dtype}")
    _default = dtype


def get_default_dtype() -> np.dtype:
    """The current default float dtype (NumPy's float64 unless changed).

    >>> import autonn as an; an.get_default_dtype()
    dtype('float64')
    """
    return _default


def is_float(dtype):
    return dtype.kind == "f"

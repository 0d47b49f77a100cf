"""``detect_anomaly``: find the op, and the line of user code, where NaN or Inf first appears."""
import os
import sys
import threading

import numpy as np


class _AnomalyState(threading.local):
    on = False
    in_backward = False
    active = False  # on and not in_backward: read once per op by ``apply``


_state = _AnomalyState()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def enabled():
    """True inside detect_anomaly, except while the engine runs gradient rules (those are
    checked as a whole by ``check_backward``)."""
    return _state.active


class backward_pass:
    """Marks the engine's backward walk, so the ops inside gradient rules are not checked
    one by one as forward ops."""

    def __enter__(self):
        self._prev = _state.in_backward
        _state.in_backward = True
        _state.active = False

    def __exit__(self, *exc):
        _state.in_backward = self._prev
        _state.active = _state.on and not _state.in_backward
        return False


class detect_anomaly:
    """Context manager: a forward or backward that produces NaN/Inf raises ``RuntimeError``
    naming the op and the file:line of user code that created it.

    >>> import autonn as an
    >>> x = an.tensor([-1.0], requires_grad=True)
    >>> with an.detect_anomaly():
    ...     try:
    ...         an.log(x)
    ...     except RuntimeError as e:
    ...         print("Log" in str(e))
    True
    """

    def __enter__(self):
        self._prev = enabled()
        _state.on = True
        _state.active = not _state.in_backward
        return self

    def __exit__(self, *exc):
        _state.on = self._prev
        _state.active = _state.on and not _state.in_backward
        return False


def _user_location():
    """file:line of the innermost frame outside the autonn package."""
    return user_frame_location(sys._getframe(1))


def user_frame_location(frame):
    """file:line of ``frame`` or of the first caller of it outside the autonn package."""
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _bad(arr):
    return arr.dtype.kind in "fc" and not np.isfinite(arr).all()


def record(out):
    """Remember where ``out`` was made; raise if its value is already NaN/Inf."""
    out._trace = _user_location()
    check_forward(out, out._op)


def check_forward(out, op):
    if _bad(out.data):
        where = out._trace or _user_location()
        raise RuntimeError(f"detect_anomaly: {op.name} produced NaN/Inf in its forward output "
                           f"(shape {out.shape}), created at {where}")


def check_backward(grad, node):
    """Called by the engine for every input gradient (a Tensor or an array) an op's rule returns."""
    if _state.on and not isinstance(grad, tuple):
        arr = np.asarray(grad.data if hasattr(grad, "_op") else grad)  # a Tensor, an array
        if _bad(arr):
            raise RuntimeError(
                f"detect_anomaly: the backward of {node._op.name} returned NaN/Inf gradients "
                f"(shape {arr.shape}); the op was created at {node._trace or '<not recorded>'}")

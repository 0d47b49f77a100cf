"""The Op protocol and ``apply``, which runs an op forward and records it in the graph.

An op is a small class:

* ``forward(*arrays) -> ndarray`` computes on NumPy arrays (or kernels);
* ``vjp(g, out, *inputs)`` returns one gradient per input (a Tensor or None), written in
  autonn ops so that it is differentiable again; the engine sums broadcast axes back;
* ``vjp_arrays(g, out, *inputs)`` (optional) is the same rule for a plain backward (no
  ``create_graph``): ``g`` and the returned gradients are NumPy arrays, no graph is built;
* ``jvp(tangents, out, *inputs)`` (optional) returns the output tangent; ``tangents`` holds a
  Tensor or None (zero) per input. Ops without one get the double-vjp rule in ``autonn.func``.

Ops that are linear in their tensor inputs set ``linear = True`` and get ``jvp`` for free:
the op applied to the tangents.

``saves_values`` (default: ``not linear``) says whether the gradient rules read the values of
the inputs or the output. Nodes of such ops hold those arrays read-only until they are freed,
and the walk checks that they were not changed in place since (``autonn.saved``). An op whose
rules only use shapes and dtypes sets it False; nothing is checked or locked for it. An op
whose rules read only some of them names those: ``saved_inputs`` (indices of the inputs read,
None for all) and ``saves_output``; only those arrays are locked (a write to the others
cannot change the gradient).
"""
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import engine
from ..saved import hold_node as _hold_node
from ..tensor import Tensor, _Saving


class Op:
    """Base class of every differentiable operation."""
    __slots__ = ()
    linear = False
    complex = False  # True: the rules are right for complex inputs (HIPS autograd's / JAX's convention)
    saves_values = True
    saved_inputs: tuple[int, ...] | None = None  # the inputs whose values the rules read (None: all)
    saves_output = True  # whether the rules read the output's value

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "saves_values" not in cls.__dict__ and "linear" in cls.__dict__:
            cls.saves_values = not cls.linear

    @property
    def name(self):
        return type(self).__name__

    def forward(self, *arrays):
        raise NotImplementedError

    def vjp(self, g, out, *inputs):
        raise NotImplementedError(f"{self.name} has no gradient rule")

    vjp_arrays: Callable[..., Any] | None = None  # ops without one get their array gradient wrapped for vjp
    jvp: Callable[..., Any] | None = None

    def __repr__(self):
        return f"<{self.name}>"


def linear_jvp(self, tangents, out, *inputs):
    """jvp of an op linear in all its tensor inputs: the op applied to the tangents (0 for None)."""
    if all(t is None for t in tangents):
        return None
    ts = [Tensor._make(np.zeros_like(x.data)) if t is None else t for t, x in zip(tangents, inputs)]
    return apply(self, *ts)


def apply(op, *inputs):
    """Run ``op`` on Tensors and record the node when some input requires grad."""
    if _recording:  # autonn.compile is recording a call (one global read otherwise)
        return _record(op, inputs)
    try:
        n = len(inputs)
        if n == 1:
            data = op.forward(inputs[0].data)
        elif n == 2:
            data = op.forward(inputs[0].data, inputs[1].data)
        elif n == 3:  # (a linear layer)
            data = op.forward(inputs[0].data, inputs[1].data, inputs[2].data)
        else:
            data = op.forward(*[t.data for t in inputs])
    except (ValueError, IndexError, TypeError) as e:
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise renamed(e, f"{op.name}: {e} (input shapes: {shapes})") from None
    except OverflowError as e:  # a size or stride past what NumPy can index
        raise ValueError(f"{op.name}: {e} (input shapes: "
                         f"{', '.join(str(t.shape) for t in inputs)})") from None
    if _grad_state.enabled:
        for t in inputs:
            if t._requires_grad:
                if not op.complex and (data.dtype.kind == "c" or t.data.dtype.kind == "c"):
                    raise _complex_error(op, inputs)
                if op.saves_values:  # its arrays stay read-only while the node needs them
                    out = _Saving._make(data, op, inputs)
                    _hold_node(out, inputs, op)
                else:
                    out = Tensor._make(data, op, inputs)
                if _anomaly_state.active:
                    _anomaly.record(out)
                return out
    out = Tensor._make(data)
    if _anomaly_state.active:
        _anomaly.check_forward(out, op)
    return out


_recording = False  # set (with _record, its hook) by autonn.compile while it records a call
_record: Callable[..., Any] | None = None


def renamed(e, message):
    """An exception of ``e``'s type (or of its ValueError/TypeError/IndexError base, when that
    type is built otherwise) with ``message``."""
    try:
        return type(e)(message)
    except Exception:  # e.g. NumPy's UFuncTypeError takes other arguments
        return next(t for t in (ValueError, TypeError, IndexError) if isinstance(e, t))(message)


def _complex_error(op, inputs):
    dtypes = ", ".join(str(t.dtype) for t in inputs)
    return TypeError(f"{op.name}: its gradient is not defined for complex inputs (dtypes {dtypes}); "
                     "the ops that differentiate complex numbers are listed in the docs")


def lift(x: Any, like: Tensor) -> Tensor:
    """``x`` as a Tensor; Python scalars take ``like``'s dtype as NumPy's weak scalar rule says."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, complex)):
        dtype = like.data.dtype
        if dtype.kind not in "fc" or (isinstance(x, complex) and dtype.kind != "c"):
            dtype = np.result_type(like.data, x)  # NumPy's weak-scalar rule: int tensor * 0.5 is float64
        return Tensor._make(np.asarray(x, dtype=dtype))
    from ..tensor import as_tensor
    return as_tensor(x)


def const(arr: Any) -> Tensor:  # an ndarray, or anything np.asarray takes
    """A constant (no-grad) Tensor around an array."""
    return Tensor._make(arr)


from .. import anomaly as _anomaly  # noqa: E402

_anomaly_state = _anomaly._state
_grad_state = engine._state

"""``an.Function``: user-defined ops with a hand-written forward and backward, as PyTorch's."""
import weakref

import numpy as np

from . import engine
from .ops.base import Op
from .tensor import Tensor, as_tensor


class FunctionCtx:
    """The ``ctx`` handed to ``forward`` and ``backward``: saved values and plain attributes."""

    def __init__(self, inputs):
        self._inputs = inputs
        self._outputs = ()  # weak references to the output Tensors, set by apply
        self._saved = ()
        self.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in inputs)

    def save_for_backward(self, *values):
        """Keep arrays or Tensors for backward; they come back as Tensors in ``saved_tensors``."""
        self._saved = values

    @property
    def saved_tensors(self):
        """The saved values as Tensors. An array that is an input's or an output's data comes back
        as that Tensor itself, so a backward written in autonn ops differentiates again."""
        by_data = {id(a.data): a for a in self._inputs if isinstance(a, Tensor)}
        for ref in self._outputs:
            out = ref()
            if out is not None:
                by_data[id(out.data)] = out

        def as_saved(v):
            if v is None or isinstance(v, Tensor):
                return v
            return by_data[id(v)] if id(v) in by_data else Tensor._make(np.asarray(v))
        return tuple(as_saved(v) for v in self._saved)


class _OnceDifferentiable(Op):
    """The node behind a gradient that a backward returned as a NumPy array."""
    __slots__ = ("fn_name",)

    def __init__(self, fn_name):
        self.fn_name = fn_name

    def vjp(self, g, out, *inputs):
        raise RuntimeError(
            f"{self.fn_name}.backward returned NumPy arrays, so it is once-differentiable: it "
            "cannot be differentiated again. Write backward with autonn ops on the Tensors it "
            "receives to get higher-order gradients.")


class _FunctionOp(Op):
    __slots__ = ("fn", "ctx", "positions", "result")

    def __init__(self, fn, ctx, positions, result):
        self.fn, self.ctx, self.positions, self.result = fn, ctx, positions, result

    @property
    def name(self):
        return self.fn.__name__

    def forward(self, *arrays):
        return self.result

    def vjp(self, g, out, *inputs):
        if isinstance(g, tuple):  # several outputs: fill the unreached ones with zeros
            g = tuple(Tensor._make(np.zeros_like(r)) if gi is None else gi
                      for gi, r in zip(g, self.result))
            grads = self.fn.backward(self.ctx, *g)
        else:
            grads = self.fn.backward(self.ctx, g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        n_args = len(self.ctx._inputs)
        if len(grads) != n_args:
            raise RuntimeError(f"{self.name}.backward returned {len(grads)} gradients but forward "
                               f"took {n_args} arguments; return one per argument (None for none)")
        parents_g = g if isinstance(g, tuple) else (g,)
        result = []
        for pos, inp in zip(self.positions, inputs):
            gr = grads[pos]
            if gr is None:
                result.append(None)
                continue
            if isinstance(gr, Tensor) and not engine.is_grad_enabled():
                gr = Tensor._make(np.array(gr.data, copy=True))  # may be a saved tensor's data
            if not isinstance(gr, Tensor):
                arr = np.array(gr, dtype=inp.dtype)  # a copy: .grad may adopt it
                if engine.is_grad_enabled():
                    gr = Tensor._make(arr, _OnceDifferentiable(self.name), tuple(parents_g) + inputs)
                else:
                    gr = Tensor._make(arr)
            try:
                np.broadcast_shapes(gr.shape, inp.shape)
            except ValueError:
                raise ValueError(f"{self.name}.backward returned a gradient of shape {gr.shape} "
                                 f"for argument {pos} of shape {inp.shape}") from None
            result.append(gr)
        return tuple(result)


class _TupleItem(Op):
    """Output ``index`` of a multi-output Function: passes its gradient into slot ``index``."""
    __slots__ = ("index", "count")

    def __init__(self, index, count):
        self.index, self.count = index, count

    def vjp(self, g, out, pack):
        return (tuple(g if i == self.index else None for i in range(self.count)),)

    def jvp(self, tangents, out, pack):
        (packed,) = tangents  # the tangents of all outputs, from the Function node
        return None if packed is None else packed[self.index]


class Function:
    """Subclass with static ``forward(ctx, *arrays)`` and ``backward(ctx, *grads)``; call ``apply``.

    >>> import autonn as an
    >>> class Cube(an.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 3 * x ** 2 * g
    >>> x = an.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward(); x.grad
    tensor(12.)
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function subclasses define a static forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses define a static backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx(args)
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        with engine.no_grad():
            result = cls.forward(ctx, *arrays)
        multi = isinstance(result, tuple)
        outs = tuple(np.asarray(r.data if isinstance(r, Tensor) else r) for r in
                     (result if multi else (result,)))
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        inputs = tuple(args[i] for i in positions)
        record = engine.is_grad_enabled() and any(t.requires_grad for t in inputs)
        if not record:
            made = tuple(Tensor._make(o) for o in outs)
            return made if multi else made[0]
        op = _FunctionOp(cls, ctx, positions, outs if multi else outs[0])
        if not multi:
            made = (Tensor._make(outs[0], op, inputs),)
        else:
            pack = Tensor._make(np.empty(0), op, inputs)
            made = tuple(Tensor._make(o, _TupleItem(i, len(outs)), (pack,)) for i, o in enumerate(outs))
        ctx._outputs = tuple(weakref.ref(t) for t in made)
        return made if multi else made[0]


__all__ = ["Function", "FunctionCtx", "as_tensor"]

"""``an.Function``: user-defined ops with a hand-written forward, backward and (optionally) jvp,
as PyTorch's ``torch.autograd.Function``."""
import weakref

import numpy as np

from . import engine
from .ops.base import Op
from .ops.multi import TupleItem as _TupleItem  # one output of a multi-output node
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

    def save_for_forward(self, *values):
        """Keep arrays or Tensors for ``jvp`` (as PyTorch's): ``saved_tensors`` gives them back in
        ``jvp``, and still gives the values of ``save_for_backward`` in ``backward``."""
        self._saved_forward = values

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
        saved = self._saved
        if getattr(self, "_in_jvp", False) and hasattr(self, "_saved_forward"):
            saved = self._saved_forward
        return tuple(as_saved(v) for v in saved)


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


    @property
    def jvp(self):
        """The Function's own ``jvp`` as an op rule, or None (forward mode then uses the
        double-vjp rule)."""
        return None if self.fn.jvp is Function.jvp else self._function_jvp

    def _function_jvp(self, tangents, out, *inputs):
        ts = [None] * len(self.ctx._inputs)  # None for the arguments that are not Tensors
        for pos, t, inp in zip(self.positions, tangents, inputs):
            ts[pos] = Tensor._make(np.zeros_like(inp.data)) if t is None else t
        self.ctx._in_jvp = True
        try:
            result = self.fn.jvp(self.ctx, *ts)
        finally:
            self.ctx._in_jvp = False
        outs = self.result if isinstance(self.result, tuple) else (self.result,)
        got = result if isinstance(result, tuple) else (result,)
        if len(got) != len(outs):
            raise RuntimeError(f"{self.name}.jvp returned {len(got)} tangents but forward returned "
                               f"{len(outs)} outputs; return one per output")
        made = []
        for k, (t, o) in enumerate(zip(got, outs)):
            if t is None:
                t = Tensor._make(np.zeros_like(o))
            elif not isinstance(t, Tensor):
                t = Tensor._make(np.array(t, dtype=o.dtype))
            if t.shape != o.shape:
                raise ValueError(f"{self.name}.jvp returned a tangent of shape {t.shape} for "
                                 f"output {k} of shape {o.shape}")
            made.append(t)
        return tuple(made) if isinstance(self.result, tuple) else made[0]


class Function:
    """Subclass with static ``forward(ctx, *arrays)`` and ``backward(ctx, *grads)``; call ``apply``.

    An optional static ``jvp(ctx, *tangents)`` gives forward mode (``an.func.jvp``,
    ``gradcheck(check_forward_ad=True)``), as ``torch.autograd.Function.jvp``: one tangent per
    argument of forward (a Tensor, zeros for a Tensor without tangent, None for an argument that
    is not a Tensor), returning one tangent per output (Tensors or arrays). Without one, forward
    mode differentiates ``backward`` (the double-vjp rule).

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
    ...     @staticmethod
    ...     def jvp(ctx, t):
    ...         (x,) = ctx.saved_tensors
    ...         return 3 * x ** 2 * t
    >>> x = an.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward(); x.grad
    tensor(12.)
    >>> an.func.jvp(Cube.apply, (an.tensor(2.0),), (an.tensor(1.0),))[1]
    tensor(12.)
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function subclasses define a static forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses define a static backward(ctx, *grads)")

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError("Function subclasses may define a static jvp(ctx, *tangents)")

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

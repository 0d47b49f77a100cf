"""Function transforms, as ``torch.func``: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

They nest (``jacobian(jacobian(f))`` is the Hessian) because every gradient is computed with
``create_graph=True`` on inputs that stay connected to the caller's graph. Like torch.func they
work inside ``no_grad()`` too; their results then carry no graph.
Forward mode (``jvp``) pushes tangents along the recorded graph with each op's ``jvp`` rule;
an op without one uses the double-vjp trick (the vjp is linear in its cotangent u, so
``jvp(t) = d/du <vjp(u), t>``).
"""
import numpy as np

from . import engine
from .ops.base import apply
from .tensor import Tensor, as_tensor


class _Transform:
    """The frame of one transform call: connects the inputs, runs with grad on, and cuts the
    results from the graph unless the caller's graph (grad mode on, and a tensor of the
    caller's that requires grad) reaches them."""

    def __init__(self):
        self.outer_mode = engine.is_grad_enabled()
        self.fresh = []

    def connect(self, x):
        """A differentiable stand-in for input ``x``: a fresh leaf, or a node on top of ``x``."""
        x = as_tensor(x)
        if x.dtype.kind != "f":
            raise TypeError(f"func: inputs must be floating tensors to differentiate, got dtype "
                            f"{x.dtype}")
        if x.requires_grad and self.outer_mode:
            with engine.enable_grad():
                t = x * 1
        else:
            t = Tensor._make(x.data).requires_grad_()
        self.fresh.append(t)
        return t

    def result(self, values):
        seq = values if isinstance(values, tuple) else (values,)
        flat = [v for v in _flatten(seq) if v is not None]
        roots = [v for v in flat if v.requires_grad]
        fresh_ids = {id(f) for f in self.fresh}
        outer = self.outer_mode and any(
            t._op is None and id(t) not in fresh_ids for t in engine.toposort(roots))
        if outer:
            return values
        return _map(values, lambda v: None if v is None else v.detach())


def _flatten(values):
    for v in values:
        if isinstance(v, tuple):
            yield from _flatten(v)
        else:
            yield v


def _map(values, fn):
    if isinstance(values, tuple):
        return tuple(_map(v, fn) for v in values)
    return fn(values)


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"func: argnums {argnums} out of range for {n} arguments")
    return nums


def _zeros_for(x):
    return Tensor._make(np.zeros(x.shape, dtype=x.dtype))


def _grads(out, inputs, grad_out=None):
    if not out.requires_grad:
        return tuple(_zeros_for(x) for x in inputs)
    gs = engine.grad(out, inputs, grad_out, retain_graph=True, create_graph=True, allow_unused=True)
    return tuple(_zeros_for(x) if g is None else g for g, x in zip(gs, inputs))


def _as_tuple(values):
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def value_and_grad(f, argnums=0):
    """``f`` -> function returning ``(f(*args), df/dargs[argnums])``; ``f`` returns a scalar.

    >>> import autonn as an
    >>> v, g = an.func.value_and_grad(lambda x: (x ** 2).sum())(an.tensor([1.0, 2.0]))
    >>> g
    tensor([2., 4.])
    """
    def wrapped(*args):
        frame = _Transform()
        nums = _argnums(argnums, len(args))
        args = list(args)
        for i in nums:
            args[i] = frame.connect(args[i])
        with engine.enable_grad():
            out = f(*args)
            if not isinstance(out, Tensor) or out.size != 1:
                shape = getattr(out, "shape", type(out).__name__)
                raise RuntimeError(f"func.grad: f must return a one-element Tensor, got {shape}")
            gs = _grads(out, [args[i] for i in nums])
        value, gs = frame.result((out, gs))
        return value, (gs[0] if isinstance(argnums, int) else gs)
    return wrapped


def grad(f, argnums=0):
    """``f`` -> function returning the gradient of scalar ``f`` w.r.t. ``args[argnums]``.

    >>> import autonn as an
    >>> an.func.grad(an.func.grad(lambda x: x ** 3))(an.tensor(2.0))   # 6x
    tensor(12.)
    """
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


def vjp(f, *primals):
    """``(f(*primals), vjp_fn)`` where ``vjp_fn(v)`` gives ``v^T J`` per primal, as a tuple.

    >>> import autonn as an
    >>> out, fn = an.func.vjp(lambda x: x * 3, an.ones(2))
    >>> fn(an.tensor([1.0, 2.0]))
    (tensor([3., 6.]),)
    """
    frame = _Transform()
    xs = [frame.connect(p) for p in primals]
    with engine.enable_grad():
        out = f(*xs)

    def vjp_fn(v):
        v = as_tensor(v, dtype=out.dtype)
        if v.shape != out.shape:
            raise ValueError(f"vjp: cotangent shape {v.shape} does not match output shape {out.shape}")
        with engine.enable_grad():
            gs = _grads(out, xs, v)
        return frame.result(gs)

    return frame.result(out), vjp_fn


def _double_vjp_jvp(op, tangents, out, parents):
    """jvp of one op from its vjp: the vjp is linear in u, so d/du <vjp(u), t> = J t.
    A multi-output Function node (its outputs packed) gets one cotangent per output."""
    results = getattr(op, "result", None)
    multi = isinstance(results, tuple)
    shapes = [r.shape for r in results] if multi else [out.shape]
    us = [Tensor._make(np.zeros(s, dtype=out.dtype if not multi else r.dtype)).requires_grad_()
          for s, r in zip(shapes, results if multi else [out.data])]
    with engine.enable_grad():
        in_grads = op.vjp(tuple(us) if multi else us[0], out, *parents)
        if not isinstance(in_grads, (tuple, list)):
            in_grads = (in_grads,)
        total = None
        for gi, ti in zip(in_grads, tangents):
            if gi is None or ti is None:
                continue
            term = (engine._fit_to_input(gi, ti) * ti).sum()
            total = term if total is None else total + term
        if total is None or not total.requires_grad:
            return None
        res = engine.grad(total, us, create_graph=True, allow_unused=True)
    res = tuple(_zeros_for(u) if r is None else r for r, u in zip(res, us))
    return res if multi else res[0]


def _push_tangents(out, inputs, tangents):
    """Forward-mode: tangents of every node between ``inputs`` and ``out``, in graph order."""
    tan = {id(x): t for x, t in zip(inputs, tangents)}
    for node in engine.toposort([out]):
        if id(node) in tan or node._op is None:
            continue
        if node._parents is None:
            raise engine._freed_error(node)
        ts = [tan.get(id(p)) for p in node._parents]
        if all(t is None for t in ts):
            continue
        op = node._op
        if op.jvp is not None:
            result = op.jvp(ts, node, *node._parents)
        else:
            result = _double_vjp_jvp(op, ts, node, node._parents)
        if isinstance(result, Tensor) and result.shape != node.shape:
            result = apply(_broadcast_op(node.shape), result)
        tan[id(node)] = result
    return tan.get(id(out))


def _broadcast_op(shape):
    from .ops.shape import BroadcastTo
    return BroadcastTo(shape)


def jvp(f, primals, tangents):
    """Forward mode: ``(f(*primals), J @ tangents)``; ``primals`` and ``tangents`` are tuples.

    >>> import autonn as an
    >>> out, t = an.func.jvp(lambda x: x ** 2, (an.tensor(3.0),), (an.tensor(1.0),))
    >>> t
    tensor(6.)
    """
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    frame = _Transform()
    xs = [frame.connect(p) for p in primals]
    ts = []
    for x, t in zip(xs, tangents):
        t = as_tensor(t, dtype=x.dtype)
        if t.shape != x.shape:
            raise ValueError(f"jvp: tangent shape {t.shape} does not match primal shape {x.shape}")
        ts.append(t)
    with engine.enable_grad():
        out = f(*xs)
        t_out = _push_tangents(out, xs, ts) if out.requires_grad else None
    if t_out is None:
        t_out = _zeros_for(out)
    return frame.result((out, t_out))


def _jacobian_of(out, xs):
    """One Jacobian per input, each shaped ``out.shape + x.shape`` (one backward per output)."""
    from .ops.shape import reshape, stack
    rows = [[] for _ in xs]
    for k in range(out.size):
        e = np.zeros(out.size, dtype=out.dtype)
        e[k] = 1
        for r, g in zip(rows, _grads(out, xs, Tensor._make(e.reshape(out.shape)))):
            r.append(g)
    jacs = []
    for x, r in zip(xs, rows):
        j = stack(r) if r else Tensor._make(np.zeros((0,) + x.shape, dtype=x.dtype))
        jacs.append(reshape(j, out.shape + x.shape))
    return tuple(jacs)


def jacobian(f, argnums=0):
    """``f`` -> function giving the Jacobian, shaped ``out.shape + in.shape``. As torch.func:
    a tuple per input for tuple ``argnums``, and a tuple per output when ``f`` returns a tuple.

    >>> import autonn as an
    >>> an.func.jacobian(lambda x: x * 2)(an.ones(2))
    tensor([[2., 0.],
            [0., 2.]])
    """
    def wrapped(*args):
        frame = _Transform()
        nums = _argnums(argnums, len(args))
        args = list(args)
        for i in nums:
            args[i] = frame.connect(args[i])
        xs = [args[i] for i in nums]
        with engine.enable_grad():
            out = f(*args)
            outs = out if isinstance(out, tuple) else (out,)
            if not all(isinstance(o, Tensor) for o in _flatten(outs)):
                raise TypeError("func.jacobian: f must return a Tensor or a tuple of Tensors")
            per_out = tuple(_nested_jacobian(o, xs) for o in outs)
        per_out = frame.result(per_out)
        per_out = tuple(j[0] if isinstance(argnums, int) else j for j in per_out)
        return per_out if isinstance(out, tuple) else per_out[0]
    return wrapped


def _nested_jacobian(out, xs):
    if isinstance(out, tuple):  # jacobian of a function returning tuples (hessian of tuple argnums)
        return tuple(_nested_jacobian(o, xs) for o in out)
    return _jacobian_of(out, xs)


def hessian(f, argnums=0):
    """``f`` -> function giving the Hessian of scalar ``f`` (``jacobian(jacobian(f))``).

    >>> import autonn as an
    >>> an.func.hessian(lambda x: (x ** 3).sum())(an.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacobian(jacobian(f, argnums), argnums)


def hvp(f, primals, tangents):
    """``(f(*primals), H @ tangents)`` for scalar ``f``, as ``torch.autograd.functional.hvp``:
    the result has the structure of ``primals`` (a Tensor for a Tensor, a tuple for a tuple).

    >>> import autonn as an
    >>> _, hv = an.func.hvp(lambda x: (x ** 3).sum(), an.tensor([1.0, 2.0]), an.ones(2))
    >>> hv
    tensor([ 6., 12.])
    """
    single = isinstance(primals, Tensor)
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: {len(primals)} primals but {len(tangents)} tangents")
    frame = _Transform()
    xs = [frame.connect(p) for p in primals]
    with engine.enable_grad():
        out = f(*xs)
        if out.size != 1:
            raise RuntimeError(f"hvp: f must return a one-element Tensor, got shape {out.shape}")
        gs = _grads(out, xs)
        dot = None
        for g, t in zip(gs, tangents):
            t = as_tensor(t, dtype=g.dtype)
            if t.shape != g.shape:
                raise ValueError(f"hvp: tangent shape {t.shape} does not match primal shape {g.shape}")
            term = (g * t).sum()
            dot = term if dot is None else dot + term
        res = tuple(_zeros_for(x) for x in xs) if dot is None or not dot.requires_grad \
            else _grads(dot, xs)
    out, res = frame.result((out, res))
    return out, (res[0] if single else res)

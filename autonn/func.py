"""Function transforms, as ``torch.func``: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

They nest (``jacobian(jacobian(f))`` is the Hessian) because every gradient is computed with
``create_graph=True`` on inputs that stay connected to the caller's graph.
Forward mode (``jvp``) pushes tangents along the recorded graph with each op's ``jvp`` rule;
an op without one uses the double-vjp trick (the vjp is linear in its cotangent u, so
``jvp(t) = d/du <vjp(u), t>``).
"""
import numpy as np

from . import engine
from .ops.base import apply
from .tensor import Tensor, as_tensor


def _connect(x):
    """A differentiable stand-in for input ``x``: a fresh leaf, or a node on top of ``x``."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"func: inputs must be floating tensors to differentiate, got dtype {x.dtype}")
    if x.requires_grad and engine.is_grad_enabled():
        return x * 1
    return Tensor._make(x.data).requires_grad_()


def _detach_if_outer_free(values, fresh):
    """Cut results from the graph unless it reaches a tensor of the caller's that requires grad
    (an input from an enclosing transform, or a closed-over parameter): then nesting works."""
    seq = values if isinstance(values, tuple) else (values,)
    roots = [v for v in seq if v is not None and v.requires_grad]
    fresh_ids = {id(f) for f in fresh}
    outer = engine.is_grad_enabled() and any(
        t._op is None and id(t) not in fresh_ids for t in engine.toposort(roots))
    if outer:
        return values
    cut = tuple(None if v is None else v.detach() for v in seq)
    return cut if isinstance(values, tuple) else cut[0]


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


def value_and_grad(f, argnums=0):
    """``f`` -> function returning ``(f(*args), df/dargs[argnums])``; ``f`` returns a scalar.

    >>> import autonn as an
    >>> v, g = an.func.value_and_grad(lambda x: (x ** 2).sum())(an.tensor([1.0, 2.0]))
    >>> g
    tensor([2., 4.])
    """
    def wrapped(*args):
        nums = _argnums(argnums, len(args))
        args = list(args)
        for i in nums:
            args[i] = _connect(args[i])
        out = f(*args)
        if not isinstance(out, Tensor) or out.size != 1:
            shape = getattr(out, "shape", type(out).__name__)
            raise RuntimeError(f"func.grad: f must return a one-element Tensor, got {shape}")
        gs = _grads(out, [args[i] for i in nums])
        fresh = [args[i] for i in nums]
        gs = _detach_if_outer_free(gs, fresh)
        value = _detach_if_outer_free(out, fresh)
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
    xs = [_connect(p) for p in primals]
    out = f(*xs)

    def vjp_fn(v):
        v = as_tensor(v, dtype=out.dtype)
        if v.shape != out.shape:
            raise ValueError(f"vjp: cotangent shape {v.shape} does not match output shape {out.shape}")
        return _detach_if_outer_free(_grads(out, xs, v), xs)

    return _detach_if_outer_free(out, xs), vjp_fn


def _double_vjp_jvp(op, tangents, out, parents):
    """jvp of one op from its vjp: the vjp is linear in u, so d/du <vjp(u), t> = J t."""
    u = Tensor._make(np.zeros(out.shape, dtype=out.dtype)).requires_grad_()
    with engine.enable_grad():
        in_grads = op.vjp(u, out, *parents)
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
    (res,) = engine.grad(total, u, create_graph=True, allow_unused=True)
    return res


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
        if result is not None and result.shape != node.shape:
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
    primals = tuple(primals) if isinstance(primals, (tuple, list)) else (primals,)
    tangents = tuple(tangents) if isinstance(tangents, (tuple, list)) else (tangents,)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    xs = [_connect(p) for p in primals]
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
    return _detach_if_outer_free(out, xs), _detach_if_outer_free(t_out, xs)


def jacobian(f, argnums=0):
    """``f`` -> function giving the Jacobian, shaped ``out.shape + in.shape`` (a tuple for tuple argnums).

    >>> import autonn as an
    >>> an.func.jacobian(lambda x: x * 2)(an.ones(2))
    tensor([[2., 0.],
            [0., 2.]])
    """
    def wrapped(*args):
        nums = _argnums(argnums, len(args))
        args = list(args)
        for i in nums:
            args[i] = _connect(args[i])
        xs = [args[i] for i in nums]
        out = f(*args)
        rows = [[] for _ in xs]
        flat_n = out.size
        for k in range(flat_n):
            e = np.zeros(out.size, dtype=out.dtype)
            e[k] = 1
            gs = _grads(out, xs, Tensor._make(e.reshape(out.shape)))
            for r, g in zip(rows, gs):
                r.append(g)
        from .ops.shape import reshape, stack
        jacs = []
        for x, r in zip(xs, rows):
            j = stack(r) if r else Tensor._make(np.zeros((0,) + x.shape, dtype=x.dtype))
            jacs.append(reshape(j, out.shape + x.shape))
        jacs = _detach_if_outer_free(tuple(jacs), xs)
        return jacs[0] if isinstance(argnums, int) else jacs
    return wrapped


def hessian(f, argnums=0):
    """``f`` -> function giving the Hessian of scalar ``f`` (``jacobian(jacobian(f))``).

    >>> import autonn as an
    >>> an.func.hessian(lambda x: (x ** 3).sum())(an.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacobian(jacobian(f, argnums), argnums)


def hvp(f, primals, tangents):
    """``(f(*primals), H @ tangents)`` for scalar ``f``, as ``torch.autograd.functional.hvp``.

    >>> import autonn as an
    >>> _, hv = an.func.hvp(lambda x: (x ** 3).sum(), (an.tensor([1.0, 2.0]),), (an.ones(2),))
    >>> hv
    (tensor([ 6., 12.]),)
    """
    primals = tuple(primals) if isinstance(primals, (tuple, list)) else (primals,)
    tangents = tuple(tangents) if isinstance(tangents, (tuple, list)) else (tangents,)
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: {len(primals)} primals but {len(tangents)} tangents")
    xs = [_connect(p) for p in primals]
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
    if dot is None or not dot.requires_grad:
        res = tuple(_zeros_for(x) for x in xs)
    else:
        res = _grads(dot, xs)
    return _detach_if_outer_free(out, xs), _detach_if_outer_free(res, xs)

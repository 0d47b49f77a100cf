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
from ._tree import tree_flatten, tree_map, tree_unflatten

__all__ = ["grad", "value_and_grad", "elementwise_grad", "vjp", "jvp", "jacobian", "hessian",
           "hvp", "tree_flatten", "tree_unflatten", "tree_map"]


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
        if x.dtype.kind not in "fc":
            raise TypeError(f"func: inputs must be floating or complex tensors to differentiate, got dtype "
                            f"{x.dtype}")
        if x.requires_grad and self.outer_mode:
            with engine.enable_grad():
                t = x * 1
        else:
            t = Tensor._make(x.data).requires_grad_()
        self.fresh.append(t)
        return t

    def connect_tree(self, arg):
        """Connect every leaf of a nested list/tuple/dict argument: ``(leaves, new_arg, spec)``."""
        leaves, spec = tree_flatten(arg)
        xs = [self.connect(leaf) for leaf in leaves]
        return xs, tree_unflatten(spec, xs), spec

    def result(self, values):
        flat = [v for v in tree_flatten(values)[0] if isinstance(v, Tensor)]
        roots = [v for v in flat if v.requires_grad]
        fresh_ids = {id(f) for f in self.fresh}
        outer = self.outer_mode and any(
            t._op is None and id(t) not in fresh_ids for t in engine.toposort(roots))
        if outer:
            return values
        return tree_map(lambda v: v.detach() if isinstance(v, Tensor) else v, values)


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"func: argnums {argnums} out of range for {n} arguments")
    return nums


def _connect_args(frame, args, argnums):
    """Connect ``args[i]`` for each i of ``argnums``: ``(new_args, groups)``, a group per argnum
    holding its connected leaves and its structure."""
    args = list(args)
    groups = []
    for i in _argnums(argnums, len(args)):
        xs, args[i], spec = frame.connect_tree(args[i])
        groups.append((xs, spec))
    return args, groups


def _regroup(flat, groups):
    """Per-leaf results ``flat`` (in the order of the groups' leaves) back into one tree per group."""
    it = iter(flat)
    return tuple(tree_unflatten(spec, [next(it) for _ in xs]) for xs, spec in groups)


def _pick(per_group, argnums):
    return per_group[0] if isinstance(argnums, int) else per_group


def _split_aux(result, has_aux, name):
    if not has_aux:
        return result, None
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(f"func.{name}: with has_aux=True, f must return a pair (output, aux), "
                        f"got {type(result).__name__}")
    return result[0], result[1]


def _zeros_for(x):
    return Tensor._make(np.zeros(x.shape, dtype=x.dtype))


def _grads(outs, inputs, grad_outs=None):
    """Gradients of ``outs`` (a Tensor or a list) w.r.t. ``inputs``; zeros where unused."""
    if isinstance(outs, Tensor):
        outs, grad_outs = [outs], None if grad_outs is None else [grad_outs]
    grad_outs = [None] * len(outs) if grad_outs is None else list(grad_outs)
    used = [(o, g) for o, g in zip(outs, grad_outs) if o.requires_grad]
    if not used or not inputs:
        return tuple(_zeros_for(x) for x in inputs)
    gs = engine.grad([o for o, _ in used], inputs, [g for _, g in used], retain_graph=True,
                     create_graph=True, allow_unused=True)
    return tuple(_zeros_for(x) if g is None else g for g, x in zip(gs, inputs))


def _as_tuple(values):
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def _tensor_leaves(out, name):
    leaves, spec = tree_flatten(out)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise TypeError(f"func.{name}: f must return Tensors (or nested lists, tuples and "
                            f"dicts of them), got a {type(leaf).__name__}")
    return leaves, spec


def value_and_grad(f, argnums=0, has_aux=False):
    """``f`` -> function returning ``(f(*args), df/dargs[argnums])``; ``f`` returns a scalar.

    Arguments may be nested lists, tuples and dicts of Tensors or arrays; the gradient has the
    same structure. With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the result is
    ``((value, aux), grad)``, as in ``torch.func`` and JAX.

    >>> import autonn as an
    >>> v, g = an.func.value_and_grad(lambda x: (x ** 2).sum())(an.tensor([1.0, 2.0]))
    >>> g
    tensor([2., 4.])
    >>> an.func.value_and_grad(lambda p: p["a"] * p["b"])({"a": an.tensor(2.0), "b": an.tensor(3.0)})[1]
    {'a': tensor(3.), 'b': tensor(2.)}
    """
    def wrapped(*args):
        frame = _Transform()
        args, groups = _connect_args(frame, args, argnums)
        with engine.enable_grad():
            out, aux = _split_aux(f(*args), has_aux, "grad")
            if not isinstance(out, Tensor) or out.size != 1:
                shape = getattr(out, "shape", type(out).__name__)
                raise RuntimeError(f"func.grad: f must return a one-element Tensor, got {shape}")
            gs = _grads(out, [x for xs, _ in groups for x in xs])
        value, gs, aux = frame.result((out, gs, aux))
        g = _pick(_regroup(gs, groups), argnums)
        return ((value, aux), g) if has_aux else (value, g)
    return wrapped


def grad(f, argnums=0, has_aux=False):
    """``f`` -> function returning the gradient of scalar ``f`` w.r.t. ``args[argnums]``
    (with ``has_aux=True``: ``(grad, aux)``).

    >>> import autonn as an
    >>> an.func.grad(an.func.grad(lambda x: x ** 3))(an.tensor(2.0))   # 6x
    tensor(12.)
    >>> an.func.grad(lambda ws: (ws[0] * ws[1]).sum())([an.tensor(2.0), an.tensor(5.0)])
    [tensor(5.), tensor(2.)]
    """
    vg = value_and_grad(f, argnums, has_aux)

    def wrapped(*args):
        value, g = vg(*args)
        return (g, value[1]) if has_aux else g
    return wrapped


def elementwise_grad(f, argnums=0):
    """``f`` -> function giving the gradient of ``sum(f(*args))``, as HIPS autograd's
    ``elementwise_grad``: for an elementwise ``f`` it is the derivative at every element.

    >>> import autonn as an
    >>> an.func.elementwise_grad(an.tanh)(an.tensor([0.0, 1.0]))    # 1 - tanh(x)**2
    tensor([1.        , 0.41997434])
    """
    def summed(*args):
        leaves, _ = _tensor_leaves(f(*args), "elementwise_grad")
        total = leaves[0].sum()
        for leaf in leaves[1:]:
            total = total + leaf.sum()
        return total
    return grad(summed, argnums)


def vjp(f, *primals, has_aux=False):
    """``(f(*primals), vjp_fn)`` where ``vjp_fn(v)`` gives ``v^T J`` per primal, as a tuple.

    Primals and the output may be nested lists, tuples and dicts; ``v`` has the output's
    structure and each gradient its primal's. With ``has_aux=True``: ``(output, vjp_fn, aux)``.

    >>> import autonn as an
    >>> out, fn = an.func.vjp(lambda x: x * 3, an.ones(2))
    >>> fn(an.tensor([1.0, 2.0]))
    (tensor([3., 6.]),)
    """
    frame = _Transform()
    args, groups = _connect_args(frame, primals, tuple(range(len(primals))))
    with engine.enable_grad():
        out, aux = _split_aux(f(*args), has_aux, "vjp")
    outs, out_spec = _tensor_leaves(out, "vjp")
    xs = [x for g, _ in groups for x in g]

    def vjp_fn(v):
        vs, v_spec = tree_flatten(v)
        if v_spec != out_spec:
            raise ValueError(f"vjp: the cotangent's structure {v_spec!r} does not match the "
                             f"output's {out_spec!r}")
        cots = []
        for o, c in zip(outs, vs):
            c = as_tensor(c, dtype=o.dtype)
            if c.shape != o.shape:
                raise ValueError(f"vjp: cotangent shape {c.shape} does not match output shape "
                                 f"{o.shape}")
            cots.append(c)
        with engine.enable_grad():
            gs = _grads(outs, xs, cots)
        return frame.result(_regroup(gs, groups))

    out, aux = frame.result((out, aux))
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


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
        # (the vjp is complex-linear in u, so the holomorphic derivative, seeded with 1, is J t)
        seed = Tensor._make(np.ones((), dtype=total.dtype))
        res = engine.grad(total, us, seed, create_graph=True, allow_unused=True)
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


def jvp(f, primals, tangents, has_aux=False):
    """Forward mode: ``(f(*primals), J @ tangents)``; ``primals`` and ``tangents`` are tuples.

    Each primal may be a nested list, tuple or dict, with its tangent of the same structure;
    the output tangent has the output's structure. With ``has_aux=True``:
    ``(output, jvp_out, aux)``.

    >>> import autonn as an
    >>> out, t = an.func.jvp(lambda x: x ** 2, (an.tensor(3.0),), (an.tensor(1.0),))
    >>> t
    tensor(6.)
    """
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    frame = _Transform()
    args, groups = _connect_args(frame, primals, tuple(range(len(primals))))
    ts = []
    for (xs, spec), tangent in zip(groups, tangents):
        t_leaves, t_spec = tree_flatten(tangent)
        if t_spec != spec:
            raise ValueError(f"jvp: the tangent's structure {t_spec!r} does not match the "
                             f"primal's {spec!r}")
        for x, t in zip(xs, t_leaves):
            t = as_tensor(t, dtype=x.dtype)
            if t.shape != x.shape:
                raise ValueError(f"jvp: tangent shape {t.shape} does not match primal shape "
                                 f"{x.shape}")
            ts.append(t)
    xs = [x for g, _ in groups for x in g]
    with engine.enable_grad():
        out, aux = _split_aux(f(*args), has_aux, "jvp")
        outs, out_spec = _tensor_leaves(out, "jvp")
        t_outs = [_push_tangents(o, xs, ts) if o.requires_grad else None for o in outs]
    t_out = tree_unflatten(out_spec, [_zeros_for(o) if t is None else t
                                      for o, t in zip(outs, t_outs)])
    result = frame.result((out, t_out, aux))
    return result if has_aux else result[:2]


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


def jacobian(f, argnums=0, has_aux=False):
    """``f`` -> function giving the Jacobian, shaped ``out.shape + in.shape``. As torch.func:
    a tuple per input for tuple ``argnums``, and a tuple per output when ``f`` returns a tuple.
    Nested lists, tuples and dicts of inputs and outputs give Jacobians of the same nesting
    (the output's structure outside, the input's inside). With ``has_aux=True``: ``(jac, aux)``.

    >>> import autonn as an
    >>> an.func.jacobian(lambda x: x * 2)(an.ones(2))
    tensor([[2., 0.],
            [0., 2.]])
    """
    def wrapped(*args):
        frame = _Transform()
        args, groups = _connect_args(frame, args, argnums)
        xs = [x for g, _ in groups for x in g]
        with engine.enable_grad():
            out, aux = _split_aux(f(*args), has_aux, "jacobian")
            outs, out_spec = _tensor_leaves(out, "jacobian")
            per_out = [_pick(_regroup(_jacobian_of(o, xs), groups), argnums) for o in outs]
        jac, aux = frame.result((tree_unflatten(out_spec, per_out), aux))
        return (jac, aux) if has_aux else jac
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
    """``(f(*primals), H @ tangents)`` for scalar ``f``, as ``torch.autograd.functional.hvp``:
    the result has the structure of ``primals`` (a Tensor for a Tensor, a tuple for a tuple;
    a list or dict is one nested argument).

    >>> import autonn as an
    >>> _, hv = an.func.hvp(lambda x: (x ** 3).sum(), an.tensor([1.0, 2.0]), an.ones(2))
    >>> hv
    tensor([ 6., 12.])
    """
    single = not isinstance(primals, tuple)
    primals = (primals,) if single else primals
    tangents = (tangents,) if single else _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: {len(primals)} primals but {len(tangents)} tangents")
    frame = _Transform()
    args, groups = _connect_args(frame, primals, tuple(range(len(primals))))
    xs = [x for g, _ in groups for x in g]
    flat_t = []
    for (_, spec), tangent in zip(groups, tangents):
        t_leaves, t_spec = tree_flatten(tangent)
        if t_spec != spec:
            raise ValueError(f"hvp: the tangent's structure {t_spec!r} does not match the "
                             f"primal's {spec!r}")
        flat_t.extend(t_leaves)
    with engine.enable_grad():
        out = f(*args)
        if not isinstance(out, Tensor) or out.size != 1:
            shape = getattr(out, "shape", type(out).__name__)
            raise RuntimeError(f"hvp: f must return a one-element Tensor, got {shape}")
        gs = _grads(out, xs)
        dot = None
        for g, t in zip(gs, flat_t):
            t = as_tensor(t, dtype=g.dtype)
            if t.shape != g.shape:
                raise ValueError(f"hvp: tangent shape {t.shape} does not match primal shape {g.shape}")
            term = (g * t).sum()
            dot = term if dot is None else dot + term
        res = tuple(_zeros_for(x) for x in xs) if dot is None or not dot.requires_grad \
            else _grads(dot, xs)
    out, res = frame.result((out, _regroup(res, groups)))
    return out, (res[0] if single else res)

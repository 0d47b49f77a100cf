"""Reverse-mode autodiff: grad mode, the topological walk, backward() and grad().

A Tensor is its own graph node: ``t._op`` is the Op that made it and ``t._parents``
its inputs. The walk visits nodes children-first, asks each op for the
vector-Jacobian product of its inputs, and sums broadcast axes back here, once,
so that no op rule has to.
"""
from __future__ import annotations

import functools
import heapq
import operator
import threading
from typing import Any

import numpy as np


class _GradState(threading.local):
    enabled = True  # class default: every new thread starts with grad enabled


_state = _GradState()


def is_grad_enabled() -> bool:
    """True when new ops record the graph (the default; thread-local).

    >>> import autonn as an
    >>> with an.no_grad(): an.is_grad_enabled()
    False
    """
    return _state.enabled


def _set_grad_enabled(flag):
    _state.enabled = flag


class _GradMode:
    _flag = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_grad_enabled(self._flag)
        return self

    def __exit__(self, *exc):
        _set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        flag = self._flag

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            state = _state  # the thread's grad mode, set around the call (no context object)
            prev = state.enabled
            state.enabled = flag
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev
        return wrapper


class no_grad(_GradMode):
    """Context manager and decorator: ops inside record no graph.

    >>> import autonn as an
    >>> x = an.ones(3, requires_grad=True)
    >>> with an.no_grad(): y = x * 2
    >>> y.requires_grad
    False
    """
    _flag = False


class enable_grad(_GradMode):
    """Context manager and decorator: turn graph recording back on inside no_grad.

    >>> import autonn as an
    >>> x = an.ones(3, requires_grad=True)
    >>> with an.no_grad():
    ...     with an.enable_grad(): y = x * 2
    >>> y.requires_grad
    True
    """
    _flag = True


def toposort(roots, leaves=True):
    """Nodes reachable from ``roots`` that require grad, parents before children
    (``leaves=False``: only the nodes made by an op).

    Every tensor is created after its inputs, so sorting the reachable nodes by creation
    order gives a topological order without a recursive (or post-order) walk.
    """
    seen = set()
    stack = []
    for r in roots:
        if r not in seen and (leaves or r._op is not None):  # tensors hash by identity
            seen.add(r)
            stack.append(r)
    nodes = []
    gate = _saved.last_stamp  # nodes older than an in-place change may name a rebased input
    while stack:
        t = stack.pop()
        nodes.append(t)
        parents = t._parents if t._seq > gate else _saved.routed_parents(t)
        for p in parents or ():  # None: freed by an earlier backward
            if p._requires_grad and p not in seen and (leaves or p._op is not None):
                seen.add(p)
                stack.append(p)
    nodes.sort(key=_creation_order)
    return nodes


_creation_order = operator.attrgetter("_seq")  # a tensor's creation index


def _accumulate(a, b):
    if a is None:
        return b
    if isinstance(a, tuple):  # the packed outputs of a multi-output Function
        return tuple(y if x is None else x if y is None else _accumulate(x, y)
                     for x, y in zip(a, b))
    total = a + b
    return np.asarray(total) if isinstance(total, np.generic) else total  # 0-d arrays stay arrays


def _fit_to_input(grad, inp):
    """Sum broadcast axes and cast back so that a gradient matches its input's shape and dtype."""
    if grad.data.shape != inp.data.shape:
        grad = _tensor._ops.sum_to(grad, inp.data.shape)
    if grad.data.dtype != inp.data.dtype:
        grad = _tensor._ops.cast(grad, inp.data.dtype)
    return grad


class _Freed:
    """Deprecated marker kept for importers; a freed node now has ``_parents = None``."""


def _freed_error(t):
    return RuntimeError(
        f"Trying to backward through the graph a second time (through {t._op.name}): its "
        "intermediate values were freed by the first backward. Pass retain_graph=True to the "
        "first backward() or grad() call if you need to backward through it again.")


def run_backward(roots, root_grads, retain_graph, create_graph, inputs=None):
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    With ``inputs=None`` gradients accumulate into the ``.grad`` of leaves (and of
    non-leaves that called ``retain_grad``). Otherwise the gradients of ``inputs`` are
    returned in order (None where unreached) and no ``.grad`` is touched.

    A plain backward (no ``create_graph``) passes NumPy arrays between the ops
    (:func:`_walk_arrays`); with ``create_graph`` the gradients are Tensors whose
    graph is recorded, so they differentiate again (:func:`_walk`).
    """
    wanted = allowed = None
    if inputs is not None:  # grad(): visit only the nodes that lead to an input
        wanted = {t: None for t in inputs}
        allowed = _leading_to(toposort(roots, leaves=False), wanted)
    grads, pending = {}, []
    if create_graph:
        walk, deliver = _walk, _deliver
        handed = {id(g.data) for g in root_grads}  # arrays a leaf must not adopt
    else:
        walk, deliver = _walk_arrays, _deliver_array
        if len(roots) == 1:  # loss.backward(): no list building for one root
            g = root_grads[0].data
            handed = {id(g)}
            root_grads = (g,)
        else:
            root_grads = [g.data for g in root_grads]
            handed = {id(g) for g in root_grads}
    for r, g in zip(roots, root_grads):
        if r._op is None:  # a leaf root: its gradient is the one given
            deliver(r, g, wanted, handed)
        elif allowed is None or r in allowed:
            _send(r, g, grads, pending)
    plan = None  # post-accumulate-grad hooks (grad_hooks.py); none registered: no cost
    if _grad_hooks._hooks and wanted is None:
        plan = _grad_hooks.plan(roots, toposort)
        if plan is not None:
            _grad_hooks._running.append(plan)
    state = _state  # grad mode during the walk: on only to record the gradients' graph
    prev = state.enabled
    state.enabled = create_graph
    try:
        if _anomaly_state.on:  # ops inside gradient rules are not checked as forward ops
            with _anomaly.backward_pass():
                walk(pending, grads, wanted, allowed, retain_graph, handed, plan)
        else:
            walk(pending, grads, wanted, allowed, retain_graph, handed, plan)
        if plan is not None:
            plan.finish()
    finally:
        state.enabled = prev
        if plan is not None:
            _grad_hooks._running.pop()
    if wanted is None:
        return None
    if create_graph:
        return [wanted[t] for t in inputs]
    return [None if wanted[t] is None else _tensor.Tensor._make(wanted[t]) for t in inputs]


def _leading_to(order, wanted):
    """The nodes of ``order`` (and the wanted inputs) from which some wanted input can be
    reached, so that ``grad()`` neither runs nor frees anything upstream of its inputs."""
    leads = set(wanted)
    for t in order:  # parents come first
        parents = _saved.routed_parents(t)
        if parents is None or any(p in leads for p in parents):
            leads.add(t)  # (a node freed by an earlier backward may lead anywhere: the walk raises)
    return leads


def _send(t, g, grads, pending):
    """Add ``g`` to the gradient waiting at op node ``t``; the first one queues ``t``."""
    prev = grads.get(t)
    if prev is None:
        grads[t] = g
        heapq.heappush(pending, (-t._seq, id(t), t))
    else:
        grads[t] = _accumulate(prev, g)


def _walk_arrays(pending, grads, wanted, allowed, retain_graph, handed, plan=None):
    """The plain backward: visit the op nodes that have a gradient, newest first, turning
    each node's gradient into its inputs' gradients. A tensor is created after its inputs,
    so the newest queued node has received everything its consumers send (a topological
    order without a sort). A node reached for the first time that is newer than everything
    queued is visited next without going through the queue (a chain of ops never touches
    it). A leaf's gradient lands (in ``.grad`` or ``wanted``) as soon as it is made.
    Without retain_graph a visited node drops its inputs (``_parents = None``): freed.

    Gradients are NumPy arrays (a tuple of them for a multi-output Function). Ops with a
    ``vjp_arrays`` rule take and return arrays; the others get their gradient as a
    constant Tensor and return Tensors, unwrapped here.
    """
    anomaly_on = _anomaly_state.on
    pop, push = heapq.heappop, heapq.heappush
    ndarray = np.ndarray
    gate = _saved.last_stamp  # nodes older than the newest in-place change are checked
    _Saving = _tensor._Saving
    _make = _tensor.Tensor._make
    t = g = None
    while True:
        if t is None:
            if not pending:
                return
            t = pop(pending)[2]
            g = grads.pop(t)
        if wanted is not None:
            if t in wanted:
                wanted[t] = _accumulate(wanted[t], g)
        elif t._retains_grad:
            _accumulate_array(t, g, handed)
        parents = t._parents
        if parents is None:
            if wanted is not None and t in wanted:
                t = None
                continue  # a wanted input freed by an earlier backward: its gradient is all we need
            raise _freed_error(t)
        args, out = parents, t
        if t._seq < gate:  # inputs as this node saw them; changed values raise when read
            parents, args, out = _saved.check_node(t)
        if allowed is not None and not any(p in allowed for p in parents):
            t = None
            continue  # a wanted input with no other wanted input upstream: stop here
        op = t._op
        rule = op.vjp_arrays
        if rule is not None:
            in_grads = rule(g, out, *args)
        else:
            in_grads = op.vjp(_const_grad(g), out, *args)
        if in_grads.__class__ is not tuple and in_grads.__class__ is not list:
            in_grads = (in_grads,)  # a one-input op's single gradient
        nxt = nxt_g = None  # the first op node reached afresh, and its gradient (held here)
        for p, pg in zip(parents, in_grads):
            if pg is None or not p._requires_grad or (allowed is not None and p not in allowed):
                continue
            if pg.__class__ is ndarray:  # the common case: an array gradient
                d = p.data
                if pg.shape != d.shape or pg.dtype != d.dtype:
                    pg = _fit_array(pg, p, t)
                if anomaly_on:
                    check_backward(pg, t)
            else:  # a Tensor, or a multi-output Function's tuple
                pg = _array_grad(pg)
                if pg.__class__ is not tuple:
                    if pg.shape != p.data.shape or pg.dtype != p.data.dtype:
                        pg = _fit_array(pg, p, t)
                    if anomaly_on:
                        check_backward(pg, t)
            if p._op is None:  # a leaf: nothing upstream waits for its total
                if wanted is None:
                    if p._grad is None and pg.base is None and id(pg) not in handed \
                            and pg.flags.writeable:  # (its dtype is p's: fitted above)
                        handed.add(id(pg))  # a fresh array: adopted as .grad (_accumulate_array)
                        p._grad = _make(pg)
                        p._grad_owned = True
                    else:
                        _accumulate_array(p, pg, handed)
                elif p in wanted:
                    wanted[p] = _accumulate(wanted[p], pg)
            elif p is nxt:  # the same input twice (x * x)
                nxt_g = _accumulate(nxt_g, pg)
            elif p in grads:  # _send, inlined: this loop is the engine's hot path
                grads[p] = _accumulate(grads[p], pg)
            elif nxt is None:
                nxt, nxt_g = p, pg  # maybe visited next, without the queue
            else:
                grads[p] = pg
                push(pending, (-p._seq, id(p), p))  # id: copies share _seq
        if plan is not None:
            plan.visited(t)  # fires the hooks of the leaves whose gradient t completed
        if not retain_graph:
            if t.__class__ is _Saving:
                _saved.release_node(t)  # its held arrays are writable again
            t._parents = None
        if nxt is not None and pending and pending[0][0] < -nxt._seq:
            grads[nxt] = nxt_g  # a newer node waits: queue this one
            push(pending, (-nxt._seq, id(nxt), nxt))
            nxt = None
        t, g = nxt, nxt_g


def _const_grad(g):
    """An array gradient (or a Function's tuple of them) as constant Tensors for ``vjp``."""
    make = _tensor.Tensor._make
    if g.__class__ is tuple:
        return tuple(None if x is None else make(x) for x in g)
    return make(g)


def _array_grad(g):
    """A gradient returned by a rule (a Tensor, a tuple of them, or the NumPy scalar that
    arithmetic on 0-d arrays gives) as an array."""
    if g.__class__ is tuple:
        return tuple(None if x is None else _array_grad(x) for x in g)
    d = g.data if isinstance(g, _tensor.Tensor) else g
    return d if d.__class__ is np.ndarray else np.asarray(d)  # (a Tensor may hold one too)


def _sum_to_axes(shape, target, op_name):
    from .ops.shape import sum_to_axes  # the module (``autonn.ops.shape`` is np.shape's twin)
    return sum_to_axes(shape, target, op_name)


def _fit_array(g, inp, node):
    """Sum broadcast axes and cast back so that a gradient array from ``node``'s rule
    matches its input ``inp`` (as :func:`_fit_to_input` does for Tensors)."""
    shape, dtype = inp.data.shape, inp.data.dtype
    if g.shape != shape:
        axes = _sum_to_axes(g.shape, shape, f"backward of {node._op.name}")
        g = np.sum(g, axis=axes, keepdims=True).reshape(shape)  # as ops.sum_to
    if g.dtype != dtype:
        g = (g.real if g.dtype.kind == "c" and dtype.kind != "c" else g).astype(dtype)
    return g


def _walk(pending, grads, wanted, allowed, retain_graph, handed, plan=None):
    """The backward with ``create_graph``: as :func:`_walk_arrays`, with Tensor gradients
    whose graph is recorded (every ``vjp`` is written in differentiable ops)."""
    anomaly_on = _anomaly_state.on
    gate = _saved.last_stamp
    _Saving = _tensor._Saving
    while pending:
        t = heapq.heappop(pending)[2]
        g = grads.pop(t)
        if wanted is not None:
            if t in wanted:
                wanted[t] = _accumulate(wanted[t], g)
        elif t._retains_grad:
            _accumulate_into_grad(t, g)
        parents = t._parents
        if parents is None:
            if wanted is not None and t in wanted:
                continue  # a wanted input freed by an earlier backward: its gradient is all we need
            raise _freed_error(t)
        args, out = parents, t
        if t._seq < gate:
            parents, args, out = _saved.check_node(t)
        if allowed is not None and not any(p in allowed for p in parents):
            continue  # a wanted input with no other wanted input upstream: stop here
        in_grads = t._op.vjp(g, out, *args)
        if in_grads.__class__ is not tuple and in_grads.__class__ is not list:
            in_grads = (in_grads,)  # a one-input op's single gradient
        for p, pg in zip(parents, in_grads):
            if pg is None or not p._requires_grad or (allowed is not None and p not in allowed):
                continue
            if pg.__class__ is not tuple:  # a tuple: the packed outputs of a multi-output Function
                if pg.data.shape != p.data.shape or pg.data.dtype != p.data.dtype:
                    pg = _fit_to_input(pg, p)
                if anomaly_on:
                    check_backward(pg, t)
            if p._op is None:
                _deliver(p, pg, wanted, handed)
            else:
                _send(p, pg, grads, pending)
        if plan is not None:
            plan.visited(t)
        if not retain_graph:
            if t.__class__ is _Saving:
                _saved.release_node(t)
            t._parents = None


def _deliver(leaf, g, wanted, handed):
    """A leaf's Tensor gradient: into ``.grad`` (backward) or its ``wanted`` slot (grad())."""
    if wanted is None:
        _accumulate_into_grad(leaf, g)
    elif leaf in wanted:
        wanted[leaf] = _accumulate(wanted[leaf], g)


def _deliver_array(leaf, g, wanted, handed):
    """A leaf's array gradient: into ``.grad`` (backward) or its ``wanted`` slot (grad())."""
    if wanted is None:
        _accumulate_array(leaf, g, handed)
    elif leaf in wanted:
        wanted[leaf] = _accumulate(wanted[leaf], g)


def _accumulate_into_grad(t, g):
    """``t.grad += g`` with create_graph: ``.grad`` keeps the graph, never updated in place."""
    t._grad = g if t._grad is None else t._grad + g
    t._grad_owned = False


def _accumulate_array(t, arr, handed):
    """``t.grad += arr`` in a plain backward. The engine keeps ``.grad`` in an array it owns
    (``_grad_owned``) and adds into it in place. A fresh gradient array (not a view,
    writable, not the caller's, not already adopted by another leaf) is adopted as it is;
    anything else is copied first. An array adopted during this walk (``handed``) may still
    be another node's pending gradient (``Add`` hands one array to both inputs), so it is
    never added into in place."""
    grad = t._grad
    if grad is None:
        if (arr.base is None and arr.dtype == t.data.dtype and id(arr) not in handed
                and arr.flags.writeable):  # the common case: adopt a fresh array as it is
            handed.add(id(arr))
            t._grad = _tensor.Tensor._make(arr)
            t._grad_owned = True
            return
    elif t._grad_owned and grad.data.shape == t.data.shape and id(grad.data) not in handed \
            and grad.data.flags.writeable:  # (a .grad saved by a graph is read-only)
        np.add(grad.data, arr, out=grad.data, casting="unsafe")
        return
    if grad is not None:
        arr = np.asarray(grad.data + arr)  # (0-d + 0-d gives a NumPy scalar)
    if arr.dtype != t.data.dtype:
        arr = arr.astype(t.data.dtype)
    elif grad is None:  # a view, read-only, the caller's or another leaf's: copy
        arr = np.array(arr, copy=True)
    handed.add(id(arr))
    t._grad = _tensor.Tensor._make(arr)
    t._grad_owned = True


def _as_grad_tensors(outputs, grad_outputs, fn_name):
    Tensor, as_tensor = _tensor.Tensor, _tensor.as_tensor
    result = []
    for out, g in zip(outputs, grad_outputs):
        if g is None:
            if out.data.dtype.kind == "c":
                raise RuntimeError(
                    f"{fn_name}: grad can be implicitly created only for real scalar outputs, but "
                    f"the output is complex ({out.dtype}); take an.real(...) or an.abs(...) of it, "
                    "or pass gradient= (or grad_outputs=)")
            if out.data.size != 1:
                raise RuntimeError(
                    f"{fn_name}: grad can be implicitly created only for scalar outputs, but the "
                    f"output has shape {out.shape}; pass gradient= (or grad_outputs=) of that shape")
            g = Tensor._make(np.array(1, dtype=out.data.dtype).reshape(out.data.shape))
        else:
            g = as_tensor(g, dtype=out.dtype)
            if g.shape != out.shape:
                raise ValueError(
                    f"{fn_name}: gradient has shape {g.shape} but the output has shape {out.shape}")
        result.append(g)
    return result


def _check_differentiable(outputs, fn_name):
    for out in outputs:
        if not out.requires_grad:
            raise RuntimeError(
                f"{fn_name}: element of the outputs does not require grad and has no grad_fn "
                f"(shape {out.shape}); did you compute it under no_grad() or from tensors "
                "without requires_grad=True?")


def backward(tensor: Any, gradient: Any = None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad``.

    >>> import autonn as an
    >>> x = an.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward(); x.grad
    tensor([2., 4.])
    """
    data = tensor.data
    if gradient is None and tensor._requires_grad and data.size == 1 and data.dtype.kind != "c":
        # a loss: d/d = 1
        one = np.array(1, data.dtype) if data.shape == () else np.ones(data.shape, data.dtype)
        g = _tensor.Tensor._make(one)
    else:
        _check_differentiable([tensor], "backward")
        (g,) = _as_grad_tensors([tensor], [gradient], "backward")
    run_backward([tensor], [g], retain_graph or create_graph, create_graph)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Any, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is left alone.

    >>> import autonn as an
    >>> x = an.tensor(3.0, requires_grad=True)
    >>> (dx,) = an.grad(x ** 3, x, create_graph=True)
    >>> an.grad(dx, x)[0].item()   # d2/dx2 x^3 = 6x
    18.0
    """
    Tensor = _tensor.Tensor
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    _check_differentiable(outputs, "grad")
    gs = _as_grad_tensors(outputs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, gs, retain_graph, create_graph, inputs=inputs)
    for i, (t, g) in enumerate(zip(inputs, result)):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it")
    return tuple(result)


from . import (  # noqa: E402
    anomaly as _anomaly,
    grad_hooks as _grad_hooks,
)
from .anomaly import check_backward  # noqa: E402

_anomaly_state = _anomaly._state
from . import (  # noqa: E402  (tensor imports this module first)
    saved as _saved,
    tensor as _tensor,
)

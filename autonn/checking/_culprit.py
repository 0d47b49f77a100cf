"""Which op is wrong: re-run fn while recording where each node is made, then check every op's
own rule against its own finite differences, in creation order, and name the first that
disagrees. The rule is the one whose check failed: the vjp (reverse mode), the jvp (forward mode),
or the second derivative (the op's vjp differentiated again, for gradgradcheck).

Creation sites come from a profile hook (``sys.setprofile``) that watches ``ops.base.apply`` and
``Function.apply`` return while fn is re-run here, so ordinary runs pay nothing for it.
"""
import copy
import sys

import numpy as np

from .. import engine
from ..anomaly import user_frame_location as _user_frame_location
from ..function import Function, _FunctionOp, _OnceDifferentiable, _TupleItem
from ..ops import base as _base
from ..tensor import Tensor
from ._problem import FLOATING, as_outputs
from ._report import Culprit


class SiteRecorder:
    """Context manager: ``sites[id(t)]`` (file:line of user code) and ``order[id(t)]`` for every
    graph node made inside it."""

    _codes = frozenset({_base.apply.__code__, Function.apply.__func__.__code__})

    def __init__(self):
        self.sites, self.order, self._keep = {}, {}, []

    def _note(self, t, where):
        if isinstance(t, Tensor) and t._op is not None and id(t) not in self.sites:
            if isinstance(t._op, _TupleItem):
                self._note(t._parents[0], where)
            self.sites[id(t)] = where
            self.order[id(t)] = len(self.order)
            self._keep.append(t)  # ids stay valid while the recorder lives

    def _hook(self, frame, event, arg):
        if event == "return" and frame.f_code in self._codes and arg is not None:
            where = _user_frame_location(frame)
            for t in (arg if isinstance(arg, tuple) else (arg,)):
                self._note(t, where)

    def __enter__(self):
        self._prev = sys.getprofile()
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._prev)
        return False


FULL_LIMIT = 200_000   # local Jacobians larger than this (elements) are checked by projection


def _local_problem(node):
    """The op of ``node`` as a function of its own inputs, re-run from scratch at each call (a
    fresh copy of the op, or the user's Function again), with fresh leaves for its
    differentiable inputs and its other inputs as they were."""
    op, parents = node._op, node._parents
    args = [Tensor(t.data, requires_grad=True) if t.requires_grad and t.dtype.kind in FLOATING
            else Tensor._make(t.data) for t in parents]
    if isinstance(op, _FunctionOp):
        ctx_inputs = list(op.ctx._inputs)

        def fn(*ts):
            call = list(ctx_inputs)
            for pos, t in zip(op.positions, ts):
                call[pos] = t
            return op.fn.apply(*call)
    else:
        def fn(*ts):
            return _base.apply(copy.copy(op), *ts)
    return fn, args


def check_node(node, atol, rtol, eps=None, richardson=False, numeric_dtype=None, seed=0,
               rule="vjp"):
    """The failing blocks of ``node``'s op checked on its own, for one ``rule``: its ``vjp``
    against finite differences of its forward, its ``jvp`` (forward mode) against the same, or
    its ``second`` derivative (gradgradcheck of the op alone: its vjp against finite differences
    of its vjp). A list of failing ``PairReport``s (empty when the rule is right); None when
    there is nothing to check."""
    from ._check import _report, _second_order_problem
    from ._problem import Problem
    op, parents = node._op, node._parents
    if op is None or parents is None or isinstance(op, (_TupleItem, _OnceDifferentiable)):
        return None
    fn, args = _local_problem(node)
    if not any(a.requires_grad for a in args):
        return None
    size = node.size if not isinstance(op, _FunctionOp) or not isinstance(op.result, tuple) \
        else sum(r.size for r in op.result)
    n_in = sum(a.size for a in args if a.requires_grad)
    big = size * n_in * (2 if rule == "second" else 1) > FULL_LIMIT
    try:
        problem = _second_order_problem(fn, args, None, seed) if rule == "second" else \
            Problem(fn, args)
        rep = _report(problem, eps, atol, rtol, fast_mode=big, numeric_dtype=numeric_dtype,
                      richardson=richardson, seed=seed, culprit=False, full_on_failure=not big,
                      check_forward_ad=rule == "jvp", order=2 if rule == "second" else 1)
    except (NotImplementedError, TypeError, ValueError, RuntimeError):
        return None
    reports = rep.forward if rule == "jvp" else rep.inputs
    return [p for r in reports for p in r.pairs if not p.passed]


def _recorded_nodes(fn, inputs):
    """Run ``fn(*inputs)`` recording creation sites: (its graph's op nodes in creation order,
    the recorder)."""
    recorder = SiteRecorder()
    with recorder, engine.enable_grad():
        outs = as_outputs(fn(*inputs))
    roots = [o for o in outs if o.requires_grad]
    nodes = [n for n in engine.toposort(roots) if n._op is not None]
    nodes.sort(key=lambda n: recorder.order.get(id(n), len(recorder.order)))
    return nodes, recorder


def find_culprit(fn, inputs, atol, rtol, eps=None, richardson=False, numeric_dtype=None,
                 rule="vjp"):
    """Re-run ``fn(*inputs)`` recording creation sites and check each op on its own, for
    ``rule`` ('vjp', 'jvp' or 'second', see ``check_node``); return a ``Culprit`` for the first
    (in creation order) whose rule is wrong, or None."""
    nodes, recorder = _recorded_nodes(fn, inputs)
    for count, node in enumerate(nodes, 1):
        bad = check_node(node, atol, rtol, eps, richardson, numeric_dtype, rule=rule)
        if not bad:
            continue
        worst = max(bad, key=lambda p: abs(p.analytic - p.numeric) / p.allowed
                    if p.allowed else np.inf)
        op = node._op
        name = op.fn.__name__ if isinstance(op, _FunctionOp) else type(op).__name__
        where = recorder.sites.get(id(node), "<not recorded>")
        arg_name = ("incoming gradient" if rule == "second" and worst.input >= len(node._parents)
                    else f"argument {worst.input}")
        return Culprit(op=name, name=op.name, location=where,
                       argument=worst.input, worst_index=worst.worst_index,
                       output_index=worst.worst_output_index, analytic=worst.analytic,
                       numeric=worst.numeric, max_abs_error=worst.max_abs_error,
                       checked_ops=count, rule=rule, argument_name=arg_name,
                       output_name=worst.output_name if rule == "second" else "",
                       part=worst.input_part, output_part=worst.output_part)
    return None

"""Fusion of elementwise chains: consecutive arithmetic ops on same-shape float arrays become one
generated Numba kernel forward and one backward (which recomputes the values it needs instead
of keeping them).

Fused ops: ``Add Sub Mul Div Neg`` on inputs of one shape and dtype, and the scalar ops
``AddScalar RSubScalar MulScalar DivScalar RDivScalar``. Each is IEEE arithmetic in the array's
dtype, evaluated in the same order as the eager rules (scalars are cast to the dtype first, as
NumPy's weak-scalar rule does), and gradients are summed in the engine's order, so a fused chain
gives the same bits as eager mode. A chain ends where a value leaves it: an inner value used by
anything but later ops of the chain (another op, a backward, an effect, the result) ends it. An
outside input used several times gets one gradient per use, summed by the plan in the engine's
order.
"""
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ops.base import Op
from ..tensor import Tensor
from ._record import Event, Node, Recorder

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# forward expression, and per input the gradient expression ({g}: the incoming gradient,
# {a} {b}: the inputs, {o}: the output, {c}: the scalar)
_BINARY = {
    "Add": ("{a} + {b}", ("{g}", "{g}")),
    "Sub": ("{a} - {b}", ("{g}", "-{g}")),
    "Mul": ("{a} * {b}", ("{g} * {b}", "{g} * {a}")),
    "Div": ("{a} / {b}", ("{g} / {b}", "(-({g} / {b})) * {o}")),
}
_UNARY = {
    "Neg": ("-{a}", "-{g}"),
    "AddScalar": ("{a} + {c}", "{g}"),
    "RSubScalar": ("{c} - {a}", "-{g}"),
    "MulScalar": ("{a} * {c}", "{g} * {c}"),
    "DivScalar": ("{a} / {c}", "{g} / {c}"),
    "RDivScalar": ("{c} / {a}", "((-{g}) * {o}) / {a}"),
}
MIN_CHAIN = 2


def _fusible(node: Node) -> bool:
    name = type(node.op).__name__
    out = node.out.data
    if not isinstance(out, np.ndarray) or out.dtype not in _FLOATS or node.attrs:
        return False
    if name in _UNARY:
        if len(node.inputs) != 1:
            return False
        if name != "Neg" and type(getattr(node.op, "c", None)) not in (int, float):
            return False
    elif name in _BINARY:
        if len(node.inputs) != 2:
            return False
    else:
        return False
    return all(isinstance(t.data, np.ndarray) and t.data.shape == out.shape
               and t.data.dtype == out.dtype for t in node.inputs)


def _uses(events: Sequence[Event], result: Any) -> dict[int, int]:
    """How often each tensor (by id) is used by the events and the result."""
    count: dict[int, int] = {}

    def use(t: Any) -> None:
        count[id(t)] = count.get(id(t), 0) + 1
    for ev in events:
        if ev[0] == "op":
            for t in ev[1].inputs:
                use(t)
        elif ev[0] == "backward":
            for t in ev[1] + ev[2]:
                use(t)
        elif ev[0] == "effect":
            for a in ev[2]:
                use(a)
    stack = [result]
    while stack:
        r = stack.pop()
        if isinstance(r, (list, tuple)):
            stack.extend(r)
        elif isinstance(r, dict):
            stack.extend(r.values())
        else:
            use(r)
    return count


def fuse(events: list[Event], rec: Recorder, result: Any) -> list[Event]:
    """``events`` with every fusible chain of ops replaced by one op event."""
    uses = _uses(events, result)
    out: list[Event] = []
    run: list[Node] = []
    for ev in events + [("end",)]:
        if ev[0] == "op" and _fusible(ev[1]) and (not run or _alike(run[0], ev[1])):
            run.append(ev[1])
            continue
        out.extend(_segments(run, uses, rec))
        run = []
        if ev[0] == "op" and _fusible(ev[1]):
            run.append(ev[1])
        elif ev[0] != "end":
            out.append(ev)
    return out


def _alike(a: Node, b: Node) -> bool:
    return (a.out.data.shape == b.out.data.shape and a.out.data.dtype == b.out.data.dtype
            and a.out._requires_grad == b.out._requires_grad)


def _segments(run: list[Node], uses: dict[int, int], rec: Recorder) -> list[Event]:
    """Split a run of fusible ops into chains whose inner values are used only inside them
    (the last value of a chain may be used anywhere), each fused when long enough."""
    index = {id(n.out): k for k, n in enumerate(run)}
    consumers = [0] * len(run)  # uses of each value from later ops of the run
    last_use = [-1] * len(run)  # the last op of the run using it
    for k, n in enumerate(run):
        for t in n.inputs:
            m = index.get(id(t))
            if m is not None:
                consumers[m] += 1
                last_use[m] = k
    # an inner value is fine in a chain ending at j if all its uses are ops of the run up to j
    inside = [consumers[k] == uses.get(id(n.out), 0) for k, n in enumerate(run)]
    out: list[Event] = []
    i = 0
    while i < len(run):
        best, need = i, -1
        for j in range(i, len(run)):
            if j > i:  # run[j-1] becomes an inner value
                if not inside[j - 1]:
                    break
                need = max(need, last_use[j - 1])
            if need <= j:
                best = j
        seg = run[i:best + 1]
        if len(seg) >= MIN_CHAIN:
            out.append(("op", _chain_node(seg, rec)))
        else:
            out.extend(("op", n) for n in seg)
        i = best + 1
    return out


class FusedChain(Op):
    """A chain of elementwise ops run as one generated kernel (see the module docstring)."""
    __slots__ = ("fwd", "bwd", "consts", "grads", "shape", "dtype", "label")

    def __init__(self, fwd: Callable[..., Any], bwd: Callable[..., Any] | None, consts: np.ndarray,
                 grads: list[bool], shape: tuple[int, ...], dtype: np.dtype, label: str) -> None:
        self.fwd, self.bwd, self.consts, self.grads = fwd, bwd, consts, grads
        self.shape, self.dtype, self.label = shape, dtype, label

    @property
    def name(self) -> str:
        return self.label

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        self.fwd(out.reshape(-1), self.consts, *[_flat(a) for a in arrays])
        return out

    def vjp_arrays(self, g: np.ndarray, out: Tensor, *inputs: Tensor) -> tuple[np.ndarray | None, ...]:
        outs = [np.empty(self.shape, self.dtype) if need else None for need in self.grads]
        assert self.bwd is not None  # (a chain some of whose inputs need a gradient has one)
        self.bwd(_flat(g), self.consts, *[_flat(t.data) for t in inputs],
                 *[o.reshape(-1) for o in outs if o is not None])
        return tuple(outs)


def _flat(a: np.ndarray) -> np.ndarray:
    return (a if a.flags.c_contiguous else np.ascontiguousarray(a)).reshape(-1)


def _chain_node(run: list[Node], rec: Recorder) -> Node:
    """One node for the chain ``run``, with the outside inputs ordered as eager mode hands them
    their gradients (newest consumer first, then argument order)."""
    made = {id(n.out): k for k, n in enumerate(run)}
    ext: list[tuple[Tensor, int, int]] = []  # (tensor, consumer index, slot)
    for k in range(len(run) - 1, -1, -1):
        for s, t in enumerate(run[k].inputs):
            if id(t) not in made:
                ext.append((t, k, s))
    ext_index = {(k, s): j for j, (t, k, s) in enumerate(ext)}
    consts: list[float] = []
    const_of: dict[int, str] = {}  # chain index -> the constant's name
    fwd_lines: list[str] = []
    exprs: dict[int, str] = {}
    for k, n in enumerate(run):
        names = [f"t{made[id(t)]}" if id(t) in made else f"e{ext_index[(k, s)]}"
                 for s, t in enumerate(n.inputs)]
        name = type(n.op).__name__
        c = ""
        if name in _UNARY and name != "Neg":
            const_of[k] = c = f"c{len(consts)}"
            consts.append(n.op.c)  # type: ignore[attr-defined]  # a scalar op (MulScalar...) has c
        tmpl = _UNARY[name][0] if name in _UNARY else _BINARY[name][0]
        exprs[k] = tmpl.format(a=names[0], b=names[1] if len(names) > 1 else "", c=c)
        fwd_lines.append(f"t{k} = {exprs[k]}")
    dtype = run[-1].out.data.dtype
    shape = run[-1].out.data.shape
    grads = [bool(t._requires_grad) for t, _, _ in ext]
    n_ext = len(ext)
    loads = "".join(f"        e{j} = x{j}[i]\n" for j in range(n_ext))
    cload = "".join(f"    c{q} = cs[{q}]\n" for q in range(len(consts)))
    xs = ", ".join(f"x{j}" for j in range(n_ext))
    fwd_src = ("from numba import njit\n\n\n@njit(cache=True)\n"
               f"def chain_fwd(out, cs, {xs}):\n{cload}    for i in range(out.size):\n{loads}"
               + "".join(f"        {ln}\n" for ln in fwd_lines)
               + f"        out[i] = t{len(run) - 1}\n")
    # backward: recompute, then walk the statements newest first
    bl = [f"gt{len(run) - 1} = g[i]"]
    seen = {len(run) - 1}
    outs = []
    for k in range(len(run) - 1, -1, -1):
        n = run[k]
        name = type(n.op).__name__
        names = [f"t{made[id(t)]}" if id(t) in made else f"e{ext_index[(k, s)]}"
                 for s, t in enumerate(n.inputs)]
        rules = (_UNARY[name][1],) if name in _UNARY else _BINARY[name][1]
        for s, t in enumerate(n.inputs):
            expr = rules[s].format(g=f"gt{k}", a=names[0], b=names[1] if len(names) > 1 else "",
                                   o=f"t{k}", c=const_of.get(k, ""))
            if id(t) in made:
                m = made[id(t)]
                if m in seen:
                    bl.append(f"gt{m} = gt{m} + ({expr})")
                else:
                    bl.append(f"gt{m} = {expr}")
                    seen.add(m)
            else:
                j = ext_index[(k, s)]
                if grads[j]:
                    bl.append(f"o{j}[i] = {expr}")
                    outs.append(f"o{j}")
    bwd_src = ("from numba import njit\n\n\n@njit(cache=True)\n"
               f"def chain_bwd(g, cs, {xs}, {', '.join(outs)}):\n{cload}"
               "    for i in range(g.size):\n" + loads
               + "".join(f"        {ln}\n" for ln in fwd_lines + bl))
    from . import _codegen
    fwd = _codegen.load("chain_fwd", fwd_src)
    bwd = _codegen.load("chain_bwd", bwd_src) if any(grads) else None
    label = f"FusedChain[{len(run)} ops: {', '.join(type(n.op).__name__ for n in run[:4])}" + \
        (", ...]" if len(run) > 4 else "]")
    op = FusedChain(fwd, bwd, np.array(consts, dtype=dtype), grads, shape, dtype, label)
    return Node(op, tuple(t for t, _, _ in ext), run[-1].out, {}, [])

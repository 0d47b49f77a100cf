"""The plan: a recorded call turned into one straight-line Python function on arrays.

Every value of the call gets a local name: ``a<i>`` an argument's array, ``v<i>`` an op's output,
``d<i>`` a redrawn dropout mask, ``g<i>`` a gradient in a backward pass. Tensors created before the
call (parameters, buffers, data closed over) are read through their ``.data`` at each use, and
arrays created during the call from Python values are constants of the plan. Each op becomes one
call of its own ``forward`` (or of a fused kernel, see ``_fuse``); a backward becomes the same
walk the engine does (newest node first, the same accumulation order, leaves filled by the engine's
own ``_accumulate_array``), unrolled, with each gradient rule called directly. Locals are deleted
after their last use, so arrays are freed as early as in eager mode.

Rules that read ``.data`` or ``requires_grad`` of their inputs get holder Tensors (made once per
plan) whose ``.data`` is set just before the call and cleared just after.
"""
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import numpy as np

from .. import engine
from ..ops.base import Op
from ..tensor import Tensor
from . import _fast
from ._record import CompileError, Event, Node, Recorder

STALE = object()  # a guard failed: the caller records again


class _Builder:
    """Emits the lines of a plan (``lines``) and the globals they use (``ns``)."""

    def __init__(self, rec: Recorder, args: tuple[Any, ...], kwargs: dict[str, Any],
                 fn: Callable[..., Any] | None = None, fuse: bool = True) -> None:
        self.rec = rec
        self.fn = fn             # the recorded function (its closure and globals are searched)
        self.fast = fuse         # compiled forms of ops and fused chains (``_fast``, ``_fuse``)
        self.ns: dict[str, Any] = {
            "np": np, "ndarray": np.ndarray, "STALE": STALE, "MK": Tensor._make,
            "STATE": engine._state, "ACC": engine._accumulate_array, "SUM": engine._accumulate,
            "AGRAD": engine._array_grad, "FIT": engine._fit_array, "CONSTG": engine._const_grad}
        self.lines: list[tuple[int, str, tuple[str, ...]]] = []  # (indent, code, reads)
        self.names: dict[int, str] = {}  # id(tensor) -> local name or expression
        self.keep: list[Tensor] = []  # tensors whose ids are keys of names (kept alive)
        self.array_src: dict[int, str] = {}  # id(array) -> expression (for rebinding op attributes)
        self.guards: list[str] = []
        self.holders: dict[int, str] = {}
        self.sent: set[str] = set()  # gradient locals that have had a contribution emitted
        self.producer: dict[int, Node] = {}  # id(tensor) -> the node that made it
        self.consumers: dict[int, list[Node]] = {}  # id(tensor) -> the nodes that take it
        self.uses: dict[int, int] = {}  # id(tensor) -> how often anything uses it
        self.tensor_expr: dict[int, str] = {}  # id(tensor) -> expression of the Tensor itself (arguments)
        self.consts: list[np.ndarray] = []  # the plan's constant arrays
        self._live: set[int] | None = None  # ids of the arrays that outlive the call (live_arrays)
        self.n = 0
        self._args(args, kwargs)

    # ----------------------------------------------------------------- names
    def _glob(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{self.n}"
        self.n += 1
        self.ns[name] = value
        return name

    def _args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.arg_tensors: list[tuple[int | str, bool]] = []  # (position or keyword, a Tensor?)
        self.arg_arrays = [a.data if isinstance(a, Tensor) else a for a in
                           list(args) + list(kwargs.values()) if isinstance(a, (Tensor, np.ndarray))]
        items: list[tuple[int | str, Any]] = [*enumerate(args), *((k, kwargs[k]) for k in sorted(kwargs))]
        for key, a in items:
            if isinstance(a, Tensor):
                name = f"a{len(self.arg_tensors)}"
                self.arg_tensors.append((key, True))
                self.lines.append((0, f"{name} = A[{len(self.arg_tensors) - 1}].data", ()))
                self._bind(a, name)
                self.array_src[id(a.data)] = name
                self.tensor_expr[id(a)] = f"A[{len(self.arg_tensors) - 1}]"
            elif isinstance(a, np.ndarray):
                name = f"a{len(self.arg_tensors)}"
                self.arg_tensors.append((key, False))
                self.lines.append((0, f"{name} = A[{len(self.arg_tensors) - 1}]", ()))
                self.array_src[id(a)] = name

    def _bind(self, t: Tensor, expr: str) -> None:
        self.names[id(t)] = expr
        self.keep.append(t)

    def ref(self, t: Tensor) -> str:
        """The expression of Tensor ``t``'s array at this point of the plan."""
        name = self.names.get(id(t))
        if name is not None:
            return name
        if t._seq < self.rec.start:  # made before the call: read live, guarded
            g = self._glob("E", t)  # (dtype by identity: a non-canonical one records again)
            self.guards.append(f"{g}.data.shape != {t.data.shape!r} or {g}.data.dtype is not "
                               f"{self._glob('DT', t.data.dtype)} or {g}._requires_grad is not "
                               f"{t._requires_grad} or {g}.data.__class__ is not ndarray")
            expr = f"{g}.data"
            self._bind(t, expr)
            return expr
        src = self.array_src.get(id(t.data))
        if src is not None:
            self._bind(t, src)
            return src
        self._check_const(t)
        c = self._glob("C", t.data)  # a constant of the call (a lifted scalar, a ones gradient...)
        self.consts.append(t.data)
        self._bind(t, c)
        return c

    def _check_const(self, t: Tensor) -> None:
        """Refuse a tensor made during the call from data (``an.tensor(...)``, a batch from a
        loader, NumPy on ``.data``): a replay would reuse its first values. Scalars and views of
        arrays that live on (parameters, buffers, arrays the function refers to) are fine."""
        arr = t.data
        if not isinstance(arr, np.ndarray) or arr.size <= 1:
            return
        for x in self.arg_arrays:
            if x.shape == arr.shape and np.array_equal(x, arr):
                raise CompileError(
                    f"compile: the function copied an argument of shape {x.shape} into a new "
                    "tensor (an.tensor(x)?); a replay would reuse the first call's values. Use "
                    "the argument directly (an.as_tensor(x) does not copy)")
        live = self.live_arrays()
        a: np.ndarray | None = arr
        while a is not None:
            if id(a) in live:
                return
            a = a.base if isinstance(a.base, np.ndarray) else None
        raise CompileError(
            f"compile: a tensor of shape {arr.shape} was made during the recorded call from data "
            "(an.tensor(...), an.zeros(...), a batch drawn inside, NumPy on .data); a replay "
            "would reuse its first values. Pass it in as an argument, or make constants "
            "before calling the compiled function")

    def live_arrays(self) -> set[int]:
        if self._live is None:
            live: set[int] = set()
            tensors = list(self.rec.seen) + _referenced_tensors(self.fn)
            for m, _ in self.rec.modules.values():
                tensors.extend(v for v in m.__dict__.get("_parameters", {}).values()
                               if v is not None)
                tensors.extend(v for v in m.__dict__.get("_buffers", {}).values()
                               if isinstance(v, Tensor))
            for t in tensors:
                if t._seq < self.rec.start:
                    live.add(id(t.data))
            live.update(id(a) for a in _referenced_arrays(self.fn))
            self._live = live
        return self._live

    def holder(self, t: Tensor) -> tuple[str, str | None]:
        """A Tensor standing for ``t`` in a rule call (``t`` itself if it lives outside the call)."""
        if id(t) in self.tensor_expr:
            return self.tensor_expr[id(t)], None
        if t._seq < self.rec.start:
            self.ref(t)
            return self.names[id(t)].split(".")[0], None
        h = self.holders.get(id(t))
        if h is None:
            obj = Tensor._make(None)
            obj._requires_grad = t._requires_grad
            h = self.holders[id(t)] = self._glob("H", obj)
        return h, self.ref(t)

    def emit(self, code: str, reads: Iterable[str] = (), indent: int = 0) -> None:
        self.lines.append((indent, code, tuple(reads)))

    # ------------------------------------------------------------------ events
    def op(self, node: Node, i: int) -> None:
        op = node.op
        o = self._glob("OP", op)
        for attr, val in node.attrs.items():
            self.rebind(o, attr, val, op)
        args = [self.ref(t) for t in node.inputs]
        out = f"v{i}"
        node.name, node.opname = out, o
        if not (self.fast and _fast.forward(self, node, out, args)):
            if type(op).__name__ == "SoftmaxCrossEntropy":
                self._check_labels(o, node)  # before the op, as eager mode checks
            fwd = self._glob("F", op.forward)
            self.emit(f"{out} = {fwd}({', '.join(args)})", args)
        self._bind(node.out, out)
        self.array_src[id(node.out.data)] = out
        self.producer[id(node.out)] = node

    def rebind(self, o: str, attr: str, val: Any, op: Op) -> None:
        if isinstance(val, tuple):
            found = [self.array_src.get(id(a)) if isinstance(a, np.ndarray) else self._glob("K", a)
                     for a in val]
            parts = [p for p in found if p is not None]
            if len(parts) < len(found):
                self._unknown(op, attr)
            self.emit(f"{o}.{attr} = ({', '.join(parts)},)", parts)
            return
        src = self.array_src.get(id(val))
        if src is None:
            src = self._find_external(val)
        if src is None:
            self._unknown(op, attr)
        self.emit(f"{o}.{attr} = {src}", [src])

    def _find_external(self, arr: np.ndarray) -> str | None:
        """The expression of a tensor made before the call whose array is ``arr`` (an op keeps
        it, e.g. cross entropy's labels): among the tensors handed to modules and those the
        function refers to (closure cells, globals)."""
        for t in self.rec.seen + _referenced_tensors(self.fn):
            if t.data is arr and t._seq < self.rec.start:
                return self.ref(t)
        return None

    def _unknown(self, op: Op, attr: str) -> NoReturn:
        raise CompileError(
            f"compile: op {op.name} keeps an array ({attr}) that was computed outside autonn's "
            "ops during the recorded call (e.g. with NumPy on .data); a replay could not recompute "
            "it. Compute it with autonn ops, or pass it in as an argument")

    def _check_labels(self, o: str, node: Node, indent: int = 0) -> None:
        """Cross entropy's label check (eager mode's, made before the op)."""
        chk = self._glob("LBL", _labels_check)
        self.emit(f"{chk}({o}.labels, {node.inputs[0].data.shape[1]})", (), indent)

    def draw(self, arr: np.ndarray, func: Callable[..., Any], args: tuple[Any, ...], i: int) -> None:
        f = self._glob("DRAW", func)
        name = f"d{i}"
        self.emit(f"{name} = {f}(*{self._glob('K', args)})")
        self.array_src[id(arr)] = name

    def effect(self, func: Callable[..., Any], args: Sequence[Any]) -> None:
        f = self._glob("FX", func)
        parts: list[str] = []
        sets: list[tuple[str, str]] = []
        for a in args:
            if isinstance(a, Tensor):
                h, expr = self.holder(a)
                parts.append(h)
                if expr is not None:
                    sets.append((h, expr))
            else:
                parts.append(self._glob("K", a))
        for h, expr in sets:
            self.emit(f"{h}.data = {expr}", [expr])
        self.emit(f"{f}({', '.join(parts)})")
        for h, _ in sets:
            self.emit(f"{h}.data = None")

    def value(self, func: Callable[..., Any], args: Sequence[Any], out: Tensor, i: int) -> None:
        """A value computed without an op (a comparison, argmax): computed again."""
        parts = [self.ref(a) if isinstance(a, Tensor) else self._glob("K", a) for a in args]
        name = f"v{i}"
        self.emit(f"{name} = {self._glob('VF', func)}({', '.join(parts)})", parts)
        self._bind(out, name)
        self.array_src[id(out.data)] = name

    def call(self, func: Callable[..., Any], obj: Any, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> None:
        if self.fast and _fast.optimizer_call(self, func, obj, args, kwargs):
            return
        f = self._glob("CALL", func)
        self.emit(f"{f}({self._glob('OBJ', obj)}, *{self._glob('K', args)}, "
                  f"**{self._glob('K', kwargs)})")

    def backward(self, roots: list[Tensor], root_grads: list[Tensor], retain: bool,
                 nodes_by_out: dict[int, Node], i: int) -> None:
        """The engine's plain walk (``_walk_arrays``), unrolled for this graph."""
        hs = f"hs{i}"
        gnames: dict[int, str] = {}
        self.emit(f"{hs} = set()")
        reach: list[Node] = []
        seen: set[int] = set()
        stack: list[Tensor] = []
        for r in roots:
            if r._op is not None:
                stack.append(r)
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            node = nodes_by_out.get(id(t))
            if node is None:
                raise CompileError("compile: the backward reaches a tensor computed before the "
                                   f"compiled function was called (shape {t.shape}, made by "
                                   f"{t._op.name}); compute it inside, or detach it")
            reach.append(node)
            for p in node.inputs:
                if p._requires_grad and p._op is not None and id(p) not in seen:
                    stack.append(p)
        reach.sort(key=lambda nd: -nd.out._seq)
        for k, nd in enumerate(reach):
            gnames[id(nd.out)] = f"g{i}_{k}"
            self.emit(f"g{i}_{k} = None")
        for r, g in zip(roots, root_grads):
            gexpr = self.ref(g)
            self.emit(f"{hs}.add(id({gexpr}))", [gexpr])
            if r._op is None:
                self._deliver_leaf(r, gexpr, hs)
            else:
                self._send(gnames[id(r)], gexpr)
        for nd in reach:
            gname = gnames[id(nd.out)]
            op = nd.op
            self.emit(f"if {gname} is not None:", [gname])
            fast = getattr(nd, "fast", None) is not None and self.fast
            hold = [] if fast else [self.holder(nd.out)] + [self.holder(p) for p in nd.inputs]
            for h, expr in hold:
                if expr is not None:
                    self.emit(f"{h}.data = {expr}", [expr], 1)
            rule = op.vjp_arrays
            if fast:
                _fast.backward(self, nd, gname)  # r: a tuple of arrays of the inputs' shapes
            elif rule is not None:
                rule_name = self._glob("R", rule)
                self.emit(f"r = {rule_name}({gname}, {', '.join(h for h, _ in hold)})", [gname], 1)
            else:
                rule_name = self._glob("R", op.vjp)
                self.emit(f"r = {rule_name}(CONSTG({gname}), {', '.join(h for h, _ in hold)})",
                          [gname], 1)
            if not fast:
                self.emit("if r.__class__ is not tuple and r.__class__ is not list: r = (r,)",
                          indent=1)
            for j, p in enumerate(nd.inputs):
                if not p._requires_grad:
                    continue
                self.emit(f"pg = r[{j}]", indent=1)
                self.emit("if pg is not None:", indent=1)
                if not fast:
                    self.emit("if pg.__class__ is not ndarray: pg = AGRAD(pg)", indent=2)
                    ph, _ = self.holder(p)
                    self.emit(f"if pg.shape != {p.data.shape!r} or pg.dtype != "
                              f"{self._glob('DT', p.data.dtype)}: pg = FIT(pg, {ph}, "
                              f"{self._glob('NODE', nd.out)})", indent=2)
                if p._op is None:
                    self._deliver_leaf(p, "pg", hs, 2)
                else:
                    self._send(gnames[id(p)], "pg", 2)
            for h, expr in hold:
                if expr is not None:
                    self.emit(f"{h}.data = None", indent=1)
            if not retain and not fast:
                for attr in nd.state:
                    self.emit(f"{nd.opname}.{attr} = None", indent=1)
            self.emit(f"{gname} = None", indent=1)
        self.emit(f"del {hs}")

    def _send(self, gname: str, expr: str, indent: int = 0) -> None:
        if gname not in self.sent:  # the first contribution in program order
            self.sent.add(gname)
            self.emit(f"{gname} = {expr}", [expr], indent)
            return
        self.emit(f"{gname} = {expr} if {gname} is None else SUM({gname}, {expr})",
                  [gname, expr], indent)

    def _deliver_leaf(self, leaf: Tensor, expr: str, hs: str, indent: int = 0) -> None:
        if id(leaf) in self.tensor_expr:
            target = self.tensor_expr[id(leaf)]
        elif leaf._seq < self.rec.start:
            self.ref(leaf)
            target = self.names[id(leaf)].split(".")[0]
        else:
            target = self._glob("LEAF", leaf)
        self.emit(f"ACC({target}, {expr}, {hs})", [expr], indent)


def build(rec: Recorder, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any,
          fn: Callable[..., Any] | None = None,
          fuse: bool = True) -> tuple[str, dict[str, Any], list[Tensor]]:
    """Python source and namespace of the replay function of a recorded call."""
    b = _Builder(rec, args, kwargs, fn, fuse)
    events = rec.events
    if fuse:
        try:
            from . import _fuse
        except ImportError:
            pass
        else:
            events = _fuse.fuse(events, rec, result)
    b.uses = _fuse_uses(events, result)
    for ev in events:
        if ev[0] == "op":
            for t in ev[1].inputs:
                b.consumers.setdefault(id(t), []).append(ev[1])
    nodes_by_out: dict[int, Node] = {}
    for i, ev in enumerate(events):
        kind = ev[0]
        if kind == "op":
            b.op(ev[1], i)
            nodes_by_out[id(ev[1].out)] = ev[1]
        elif kind == "backward":
            b.backward(ev[1], ev[2], ev[3], nodes_by_out, i)
        elif kind == "call":
            b.call(*ev[1:])
        elif kind == "draw":
            b.draw(ev[1], ev[2], ev[3], i)
        elif kind == "effect":
            b.effect(ev[1], ev[2])
        elif kind == "value":
            b.value(ev[1], ev[2], ev[3], i)
    ret = _result(b, result)
    b.emit(f"return {ret}", _names_in(ret))
    _check_copies(b, args, kwargs)
    for m, training in rec.modules.values():
        b.guards.append(f"{b._glob('M', m)}.training is not {training}")
    return _source(b), b.ns, b.keep


def _fuse_uses(events: list[Event], result: Any) -> dict[int, int]:
    from ._fuse import _uses
    return _uses(events, result)


def _labels_check(labels: np.ndarray, C: int) -> None:
    """Cross entropy's label range check (eager mode makes it before building the op)."""
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        bad = (labels < 0) | (labels >= C)
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"cross_entropy: label {labels[first]} at index {first} is out of range "
                         f"for C={C} classes (valid: 0..{C - 1})")


def _referenced_tensors(fn: Any) -> list[Tensor]:
    """Tensors in ``fn``'s closure cells and the globals it names (one level into containers)."""
    found: list[Tensor] = []

    def add(v: Any) -> None:
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(x for x in v if isinstance(x, Tensor))
        elif isinstance(v, dict):
            found.extend(x for x in v.values() if isinstance(x, Tensor))
    code = getattr(fn, "__code__", None)
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            add(cell.cell_contents)
        except ValueError:
            pass
    if code is not None:
        g = getattr(fn, "__globals__", {})
        for name in code.co_names:
            if name in g:
                add(g[name])
    return found


def _referenced_arrays(fn: Any) -> list[np.ndarray]:
    """NumPy arrays in ``fn``'s closure cells and the globals it names."""
    found: list[np.ndarray] = []
    code = getattr(fn, "__code__", None)
    values: list[Any] = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:
            pass
    if code is not None:
        g = getattr(fn, "__globals__", {})
        values.extend(g[n] for n in code.co_names if n in g)
    for v in values:
        if isinstance(v, np.ndarray):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(x for x in v if isinstance(x, np.ndarray))
    return found


def _names_in(expr: str) -> list[str]:
    import re
    return re.findall(r"\b[avdg][0-9_]+\b", expr)


def _result(b: _Builder, r: Any) -> str:
    if r is None or isinstance(r, (bool, int, float, str)):
        return b._glob("K", r)
    if isinstance(r, Tensor):
        owner = _grad_owner(b, r)
        if owner is not None:  # a leaf's .grad: read after the replay's backward
            return f"{owner}.grad"
        if r._seq < b.rec.start:
            b.ref(r)
            return b.names[id(r)].split(".")[0]
        return f"MK({b.ref(r)})"
    if isinstance(r, (tuple, list)):
        inner = ", ".join(_result(b, x) for x in r)
        return f"({inner},)" if isinstance(r, tuple) else f"[{inner}]"
    if isinstance(r, dict):
        return "{" + ", ".join(f"{b._glob('K', k)}: {_result(b, v)}" for k, v in r.items()) + "}"
    raise CompileError(f"compile: the function returned a {type(r).__name__}; a compiled function "
                       "may return Tensors, None, numbers, and tuples/lists/dicts of them")


def _grad_owner(b: _Builder, r: Tensor) -> str | None:
    """The expression of the argument or outside tensor whose ``.grad`` is ``r``, or None."""
    for t in b.keep:
        if t._grad is r:
            if id(t) in b.tensor_expr:
                return b.tensor_expr[id(t)]
            if t._seq < b.rec.start:
                return b.names[id(t)].split(".")[0]
    return None


def _check_copies(b: _Builder, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a constant that holds a copy of an argument (``an.tensor(x)`` inside the function:
    a replay would reuse the first call's values)."""
    arrays = [a.data if isinstance(a, Tensor) else a for a in list(args) + list(kwargs.values())
              if isinstance(a, (Tensor, np.ndarray))]
    for c in b.consts:
        if not isinstance(c, np.ndarray) or c.size < 2:
            continue
        for a in arrays:
            if a.shape == c.shape and a is not c and np.array_equal(a, c):
                raise CompileError(
                    f"compile: the function copied an argument of shape {a.shape} into a new "
                    "tensor (an.tensor(x)?); a replay would reuse the first call's values. Use "
                    "the argument directly (an.as_tensor(x) does not copy)")


def _source(b: _Builder) -> str:
    lines = b.lines
    block_end = [0] * len(lines)  # the last line of the top-level statement holding line k
    end = len(lines) - 1
    for k in range(len(lines) - 1, -1, -1):
        block_end[k] = end
        if lines[k][0] == 0:
            end = k - 1
    last: dict[str, int] = {}  # a local -> the line after which it is dead
    for k, (_, _, reads) in enumerate(lines):
        for r in reads:
            if r[:1] in ("a", "v", "d") and r[1:].replace("_", "").isdigit():
                last[r] = block_end[k]
    dead_after: dict[int, list[str]] = {}
    for r, k in last.items():
        dead_after.setdefault(k, []).append(r)
    body = []
    for k, (indent, code, _reads) in enumerate(lines):
        body.append("    " * (indent + 2) + code)
        dead = dead_after.get(k)
        if dead and not code.startswith("return"):  # free locals after their last read
            body.append("    " * 2 + f"del {', '.join(sorted(dead))}")
    guard = " or ".join(f"({g})" for g in b.guards) or "False"
    return ("def replay(A):\n"
            f"    if {guard}:\n        return STALE\n"
            "    st = STATE\n    prev = st.enabled\n    st.enabled = False\n    try:\n"
            + "\n".join(body) + "\n    finally:\n        st.enabled = prev\n")

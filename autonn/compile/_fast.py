"""Compiled forms of the ops that dominate training steps: a plan runs these instead of the op's
own ``forward``/``vjp_arrays`` (every other op is called as it is).

* ``LinearAct`` with relu or no activation (2-D input, bias, float32/float64): the BLAS matmul,
  then bias + relu in one pass (the eager kernel); backward: relu derivative times the gradient
  and the bias gradient in one pass (``_kernels.relu_backward_colsum``), then the two BLAS
  matmuls. The same bits as eager mode. The pre-activation and its gradient live in buffers
  the plan allocates once (they never leave the plan).
* ``SoftmaxCrossEntropy`` (mean or sum, no label smoothing): loss and the unscaled gradient in
  one pass at forward time, into a buffer allocated once; the backward scales it in place.
  Within 2 ulp of eager mode (libm's exp instead of NumPy's SIMD exp).
"""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..tensor import Tensor
from ._record import Node

if TYPE_CHECKING:  # (_plan imports this module)
    from ._plan import _Builder

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernels() -> ModuleType:
    """The compiled kernels, or their NumPy twins when Numba is not installed."""
    try:
        from . import _kernels as compiled
        compiled.relu_backward_colsum  # noqa: B018
        return compiled
    except ImportError:  # no numba: the twins
        from . import _kernels_numpy as twins
        return twins


def _linear_ok(node: Node) -> bool:
    op: Any = node.op  # (a LinearAct, checked by name: compile does not import autonn.nn)
    if type(op).__name__ != "LinearAct" or op.act not in ("relu", "identity"):
        return False
    if len(node.inputs) != 3:
        return False
    x, W, b = (t.data for t in node.inputs)
    dt = x.dtype
    return (dt in _FLOATS and W.dtype == dt and b.dtype == dt and x.ndim == 2 and W.ndim == 2
            and b.shape == (W.shape[1],) and x.shape[1] == W.shape[0])


def _ce_ok(node: Node) -> bool:
    op: Any = node.op  # (a SoftmaxCrossEntropy, checked by name)
    if type(op).__name__ != "SoftmaxCrossEntropy" or op.smoothing or \
            op.reduction not in ("mean", "sum"):
        return False
    x = node.inputs[0].data
    return (x.dtype in _FLOATS and x.ndim == 2 and x.shape[0] > 0 and x.shape[1] > 0
            and op.labels.dtype == np.int64 and op.labels.shape == x.shape[:1])


def _stays_inside(b: _Builder, t: Tensor) -> bool:
    """True when every use of ``t`` is as the input of compiled linear layers (nothing else
    sees it, so it can live in a buffer the plan reuses)."""
    users = b.consumers.get(id(t), [])
    return (b.uses.get(id(t), 0) == len(users) > 0 and
            all(_linear_ok(n) and n.inputs[0] is t and all(u is not t for u in n.inputs[1:])
                for n in users))


def forward(b: _Builder, node: Node, name: str, args: list[str]) -> bool:
    """Emit ``node``'s compiled forward into builder ``b`` (True) or nothing (False)."""
    op: Any = node.op  # a LinearAct or a SoftmaxCrossEntropy when the checks below pass
    if _linear_ok(node):
        x, W, bias = args
        pre = f"{name}_1"
        if op.act == "relu":  # pre stays inside the plan: a buffer reused by every call
            shape = (node.inputs[0].data.shape[0], node.inputs[1].data.shape[1])
            buf = b._glob("BUF", np.empty(shape, node.inputs[0].data.dtype))
            b.emit(f"{pre} = np.dot({x}, {W}, out={buf})", [x])
        else:
            b.emit(f"{pre} = np.dot({x}, {W})", [x])
        if op.act == "identity":
            b.emit(f"np.add({pre}, {bias}, out={pre})", [pre])
            b.emit(f"{name} = {pre}", [pre])
        else:
            from .. import kernels
            nb: Any = kernels._nb if kernels._nb is not kernels._UNSET else kernels._load()
            n = node.inputs[0].data.shape[0] * node.inputs[1].data.shape[1]
            if nb is not None:  # the eager kernel's serial or parallel variant, by size
                k = b._glob("BIASRELU", nb.BIAS_ACT["relu"].pick(n, node.inputs[0].data.dtype))
                zero = b._glob("ZERO", node.inputs[0].data.dtype.type(0))
                if _stays_inside(b, node.out):
                    b.emit(f"{name} = {b._glob('BUF', np.empty_like(node.out.data))}")
                else:
                    b.emit(f"{name} = np.empty_like({pre})", [pre])
                b.emit(f"{k}({pre}, {bias}, {zero}, {name})", [pre])
            else:
                b.emit(f"np.add({pre}, {bias}, out={pre})", [pre])
                b.emit(f"{name} = np.maximum({pre}, 0)", [pre])
        node.fast = "linear"
        return True
    if _ce_ok(node):
        (x,) = args
        k = b._glob("CEK", _kernels().cross_entropy_forward_backward)
        n = node.inputs[0].data.shape[0]
        dt = b._glob("DT", node.inputs[0].data.dtype.type)
        d = f"{name}_1"
        src = b.producer.get(id(node.inputs[0]))
        if src is not None and src.fast == "linear":  # its gradient goes only to that layer's
            # compiled backward, never to a .grad: a buffer reused by every call
            b.emit(f"{d} = {b._glob('BUF', np.empty_like(node.inputs[0].data))}")
        else:
            b.emit(f"{d} = np.empty({x}.shape, {x}.dtype)", [x])
        b.emit(f"tot = {k}({x}, {node.opname}.labels, {d})", [x, d])
        b.emit("if tot != tot:")  # a label out of range (or NaN logits: then this passes)
        b._check_labels(node.opname, node, indent=1)
        if op.reduction == "mean":
            b.emit(f"{name} = np.asarray(-tot / {n}, dtype={dt})")
        else:
            b.emit(f"{name} = np.asarray(-tot, dtype={dt})")
        node.fast = "ce"
        return True
    return False


def backward(b: _Builder, node: Node, g: str) -> bool:
    """Emit code setting ``r`` (the input gradients) for a node whose forward was compiled."""
    op: Any = node.op  # a LinearAct or a SoftmaxCrossEntropy (see forward)
    kind = getattr(node, "fast", None)
    name = node.name
    if kind == "linear":
        x, W, bias = node.inputs
        xs, Ws = b.ref(x), b.ref(W)
        pre = f"{name}_1"
        if op.act == "relu":
            k = b._glob("RBC", _kernels().relu_backward_colsum)
            b.emit(f"dpre = {b._glob('BUF', np.empty_like(node.out.data))}", (), 1)
            b.emit(f"db = np.empty({pre}.shape[1], {pre}.dtype)", [pre], 1)
            b.emit(f"{k}({pre}, {g}, dpre, db)", [pre, g], 1)
        else:
            b.emit(f"dpre = {g}", [g], 1)
            b.emit("db = np.add.reduce(dpre, axis=0)" if bias._requires_grad else "db = None",
                   (), 1)
        dx = "np.matmul(dpre, " + Ws + ".T)" if x._requires_grad else "None"
        dW = "np.matmul(" + xs + ".T, dpre)" if W._requires_grad else "None"
        b.emit(f"r = ({dx}, {dW}, db if {bias._requires_grad} else None)", [xs], 1)
        b.emit("dpre = db = None", (), 1)
        return True
    if kind == "ce":
        d = f"{name}_1"
        n = node.inputs[0].data.shape[0]
        dt = b._glob("DT", node.inputs[0].data.dtype.type)
        scale = f"{g} / {n}" if op.reduction == "mean" else g
        b.emit(f"r = (np.multiply({d}, {dt}({scale}), out={d}),)", [d, g], 1)
        return True
    return False


# ------------------------------------------------------------------ optimizer
def _sgd_params(obj: Any) -> list[Tensor] | None:
    """The parameters of a plain SGD (no momentum, weight decay, maximize) that one generated
    kernel can update, or None."""
    if type(obj).__name__ != "SGD":
        return None
    params = []
    for g in obj.param_groups:
        if g["momentum"] != 0 or g["weight_decay"] != 0 or g.get("maximize", False) \
                or g["lr"].__class__ is not float:
            return None
        params.extend(g["params"])
    if not params:
        return None
    dt = params[0].data.dtype
    if dt not in _FLOATS or any(p.data.dtype != dt or not p.data.flags.c_contiguous
                                or p.data.size == 0 for p in params):
        return None
    return params


def _sgd_kernel(n: int) -> Callable[..., Any]:
    from . import _codegen
    args = ", ".join(f"lr{i}, p{i}, g{i}" for i in range(n))
    body = "".join(f"    a = p{i}.reshape(-1)\n    b = g{i}.reshape(-1)\n"
                   f"    for j in range(a.size):\n        a[j] -= lr{i} * b[j]\n"
                   for i in range(n))
    src = ("from numba import njit\n\n\n@njit(cache=True)\n"
           f"def sgd_update_{n}({args}):\n{body}")
    return _codegen.load(f"sgd_update_{n}", src)


def _zero_grad(b: _Builder, func: Callable[..., Any], obj: Any) -> bool:
    """``opt.zero_grad()`` (set to None) as assignments, behind a check that the parameter
    groups are the recorded ones."""
    from ..optim.optimizer import Optimizer
    if func is not Optimizer.__dict__["zero_grad"]:
        return False
    o = b._glob("OBJ", obj)
    checks = [f"len({o}.param_groups) == {len(obj.param_groups)}"]
    sets = []
    for j, g in enumerate(obj.param_groups):
        gn = b._glob("GRP", g)
        checks.append(f"{o}.param_groups[{j}] is {gn} and len({gn}['params']) == "
                      f"{len(g['params'])}")
        for k, p in enumerate(g["params"]):
            pn = b._glob("P", p)
            checks.append(f"{gn}['params'][{k}] is {pn}")
            sets.append(f"{pn}._grad = None; {pn}._grad_owned = False")
    b.emit("if " + " and ".join(checks) + ":")
    for line in sets:
        b.emit(line, (), 1)
    b.emit("else:")
    b.emit(f"{b._glob('CALL', func)}({o})", (), 1)
    return True


def optimizer_call(b: _Builder, func: Callable[..., Any], obj: Any, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> bool:
    """Emit a plain SGD step as one generated kernel call over every parameter (the same bits
    as ``p -= lr * g``), behind a live check of the options and gradients; anything else, or a
    failed check, calls the optimizer's own method."""
    if func.__name__ == "zero_grad" and not args and not kwargs:
        return _zero_grad(b, func, obj)
    if func.__name__ != "step" or args or kwargs:
        return False
    params = _sgd_params(obj)
    if params is None:
        return False
    try:
        k = b._glob("SGDK", _sgd_kernel(len(params)))
    except ImportError:  # no numba
        return False
    o = b._glob("OBJ", obj)
    dt = b._glob("DT", params[0].data.dtype.type)
    checks, call = [], []
    groups = [b._glob("GRP", g) for g in obj.param_groups]
    checks.append(f"len({o}.param_groups) == {len(groups)}")
    for j, g in enumerate(groups):
        checks.append(f"{o}.param_groups[{j}] is {g} and {g}['momentum'] == 0 and "
                      f"{g}['weight_decay'] == 0 and not {g}.get('maximize', False) and "
                      f"{g}['lr'].__class__ is float")
    i = 0
    for j, g in enumerate(obj.param_groups):
        for p in g["params"]:
            pn = b._glob("P", p)
            checks.append(f"{pn}._grad is not None and {pn}._grad.data.shape == {pn}.data.shape "
                          f"and {pn}._grad.data.dtype == {pn}.data.dtype and "
                          f"{pn}._grad.data.flags.c_contiguous and {pn}.data.flags.c_contiguous")
            call.append(f"{dt}({groups[j]}['lr']), {pn}.data, {pn}._grad.data")
            i += 1
    b.emit("if " + " and ".join(checks) + ":")
    b.emit(f"{k}({', '.join(call)})", (), 1)
    b.emit("else:")
    b.emit(f"{b._glob('CALL', func)}({o})", (), 1)
    return True

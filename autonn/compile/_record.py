"""The recorder: runs a function once, eagerly, with hooks that log what a replay must redo.

While a call is recorded (one at a time, under a process-wide lock) these hooks are in place and
are all removed afterwards:

* ``ops.base.apply`` logs every op with its input and output Tensors (``Node``);
* ``engine.run_backward`` logs a backward pass (and runs the real one);
* ``Optimizer.step``/``zero_grad`` (every subclass) and ``LRScheduler.step`` log an opaque call,
  which a replay makes again (so learning rates and optimizer state stay live);
* Dropout's mask draw and BatchNorm's running-statistic updates (``nn.functional``) log an effect;
* ``Module.__call__`` notes each module's ``training`` flag (a replay checks it);
* reading a Tensor's value (``item``, ``float``, ``bool``, ``int``, ``numpy``, ``tolist``,
  ``np.asarray``, ``repr``) raises :class:`CompileError`: control flow on values cannot replay;
* any other draw from autonn's random generator, and ``manual_seed``, raise too.
"""
import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import creation, engine
from ..ops import base
from ..tensor import Tensor

lock = threading.RLock()

# ("op", Node) | ("backward", roots, grads, retain) | ("call", func, obj, args, kwargs)
# | ("draw", array, func, args) | ("effect", func, args) | ("value", func, args, out)
Event = tuple[Any, ...]


class CompileError(RuntimeError):
    """A function cannot be compiled (recorded once and replayed) as it is written."""


class Node:
    """One recorded op: ``out = op(*inputs)``; ``attrs`` are the op's array attributes before its
    forward (a replay rebinds them), ``state`` the attributes its forward set (freed after use)."""
    __slots__ = ("op", "inputs", "out", "attrs", "state", "name", "opname", "fast")
    name: str    # the plan's local name of the output (set by the plan)
    opname: str  # the plan's global name of the op
    fast: str | None  # which compiled form the plan runs ("linear", "ce"), if any

    def __init__(self, op: base.Op, inputs: Sequence[Tensor], out: Tensor, attrs: dict[str, Any],
                 state: list[str]) -> None:
        self.op, self.inputs, self.out, self.attrs, self.state = op, inputs, out, attrs, state
        self.fast = None


def _slot_names(op: base.Op) -> list[str]:
    names: list[str] = []
    for cls in type(op).__mro__:
        s = cls.__dict__.get("__slots__", ())
        names.extend((s,) if isinstance(s, str) else s)
    return [n for n in names if n != "__weakref__"]


def _has_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) or (isinstance(v, tuple) and
                                         any(isinstance(a, np.ndarray) for a in v))


def _array_attrs(op: base.Op) -> dict[str, Any]:
    out = {}
    for n in _slot_names(op):
        v = getattr(op, n, None)
        if _has_array(v):
            out[n] = v
    return out


_READS = ("item", "tolist", "numpy", "__array__", "__bool__", "__float__", "__int__",
          "__index__", "__repr__")


class Recorder:
    """Collects the events of one recorded call (see the module docstring)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.modules: dict[int, tuple[Any, bool]] = {}  # id(module) -> (module, training)
        self.draws: dict[int, np.ndarray] = {}  # id(array) -> array: dropout masks drawn during the call
        self.suspended = 0
        self.seen: list[Tensor] = []  # tensors handed to modules (their arrays may become op attributes)
        self.start = Tensor._make(None)._seq  # tensors made from here on belong to the call

    # ------------------------------------------------------------------ hooks
    def apply(self, op: base.Op, inputs: Sequence[Tensor]) -> Tensor:
        before = _array_attrs(op)
        base._recording = False
        try:
            out = base.apply(op, *inputs)
        finally:
            base._recording = True
        after = _array_attrs(op)
        state = [n for n in _slot_names(op)
                 if n in after and (n not in before or after[n] is not before[n])]
        self.events.append(("op", Node(op, inputs, out, before, state)))
        return out

    @contextlib.contextmanager
    def suspend(self) -> Iterator[None]:
        """Run library code (a real backward, an optimizer step) without logging its insides."""
        self.suspended += 1
        base._recording = False
        try:
            yield
        finally:
            self.suspended -= 1
            base._recording = self.suspended == 0

    def backward(self, roots: Sequence[Tensor], root_grads: Sequence[Any], retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Tensor] | None = None) -> Any:
        if self.suspended:
            return _orig["run_backward"](roots, root_grads, retain_graph, create_graph, inputs)
        if create_graph:
            raise CompileError("compile: backward(create_graph=True) inside a compiled function "
                               "is not supported; call it outside, or do not compile this function")
        if inputs is not None:
            raise CompileError("compile: autonn.grad(...) inside a compiled function is not "
                               "supported; use loss.backward() (gradients land in .grad)")
        self.events.append(("backward", list(roots), list(root_grads), bool(retain_graph)))
        with self.suspend():
            return _orig["run_backward"](roots, root_grads, retain_graph, create_graph, inputs)

    def opaque(self, func: Callable[..., Any], name: str) -> Callable[..., Any]:
        rec = self

        @functools.wraps(func)
        def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if rec.suspended:
                return func(obj, *args, **kwargs)
            for a in list(args) + list(kwargs.values()):
                if a is not None and not isinstance(a, (int, float, str, bool)):
                    raise CompileError(f"compile: {type(obj).__name__}.{name}({a!r}) inside a "
                                       "compiled function: only plain arguments (no closure) "
                                       "can be replayed")
            rec.events.append(("call", func, obj, args, kwargs))
            with rec.suspend():
                return func(obj, *args, **kwargs)
        return wrapper

    def draw_mask(self, shape: tuple[int, ...], p: float, dtype: Any) -> np.ndarray:
        orig = _orig["_dropout_mask"]
        with self._real_generator():
            arr = orig(shape, p, dtype)
        if not self.suspended:
            self.events.append(("draw", arr, orig, (shape, p, dtype)))
            self.draws[id(arr)] = arr
        return arr

    def update_running_stats(self, running_mean: Any, running_var: Any, mean: Any, var: Any,
                             momentum: float, n: int, c: int) -> Any:
        args = (running_mean, running_var, mean, var, momentum, n, c)
        if not self.suspended:
            self.events.append(("effect", _orig["_update_running_stats"], args))
        return _orig["_update_running_stats"](*args)

    def count_batch(self, counter: Any, momentum: float | None) -> Any:
        if not self.suspended:
            if momentum is None:
                raise CompileError("compile: BatchNorm with momentum=None (a cumulative average, "
                                   "whose factor is 1 / batches seen) cannot be replayed; give it "
                                   "a momentum, or do not compile this function")
            self.events.append(("effect", _orig["_count_batch"], (counter, momentum)))
        return _orig["_count_batch"](counter, momentum)

    def _values(self, func: Callable[..., Any], replay: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` (a no-gradient function of tensors: comparisons, argmax) logged as a value
        the replay computes again with ``replay(*arrays_or_values)``."""
        rec = self

        def wrapper(*args: Any) -> Any:
            out = func(*args)
            if not rec.suspended:
                rec.events.append(("value", replay, args, out))
            return out
        return wrapper

    def module_call(self, call: Callable[..., Any], module: Any, *args: Any, **kwargs: Any) -> Any:
        self.modules.setdefault(id(module), (module, module.training))
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tensor):
                self.seen.append(a)
        return call(module, *args, **kwargs)

    def _grad_setter(self, fset: Callable[[Tensor, Any], None]) -> Callable[[Tensor, Any], None]:
        rec = self

        def set_grad(t: Tensor, value: Any) -> None:
            if not rec.suspended:
                if value is not None:
                    raise CompileError("compile: assigning a tensor to .grad inside a compiled "
                                       "function cannot be replayed; only `t.grad = None` can")
                rec.events.append(("effect", _clear_grad, (t,)))
            fset(t, value)
        return set_grad

    @contextlib.contextmanager
    def _real_generator(self) -> Iterator[None]:
        guarded = creation._rng
        creation._rng = guarded.real if isinstance(guarded, _GuardedGenerator) else guarded
        try:
            yield
        finally:
            creation._rng = guarded

    # ----------------------------------------------------------- installation
    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Put every hook in place for the duration of the recorded call."""
        undo: list[tuple[Any, str, bool, Any]] = []  # (owner, name, had its own, old value)

        def patch(owner: Any, name: str, value: Any) -> None:
            had = name in owner.__dict__
            old = owner.__dict__.get(name)
            undo.append((owner, name, had, old))
            setattr(owner, name, value)

        rec = self
        _orig["run_backward"] = engine.run_backward
        patch(engine, "run_backward", self.backward)
        for name in _READS:
            patch(Tensor, name, _value_read(self, getattr(Tensor, name), name))
        grad_prop = Tensor.__dict__["grad"]
        patch(Tensor, "grad", property(grad_prop.fget, self._grad_setter(grad_prop.fset)))
        for name in ("__setitem__", "zero_", "retain_grad"):
            patch(Tensor, name, _in_place(self, getattr(Tensor, name), name))
        real_rng = creation._rng
        patch(creation, "_rng", _GuardedGenerator(real_rng, self))
        for owner in (creation, sys.modules["autonn"]):
            patch(owner, "manual_seed", _forbidden("an.manual_seed()"))
        nn = sys.modules.get("autonn.nn.functional")
        if nn is not None:
            for name, hook in (("_dropout_mask", self.draw_mask),
                               ("_update_running_stats", self.update_running_stats),
                               ("_count_batch", self.count_batch)):
                _orig[name] = getattr(nn, name)
                patch(nn, name, hook)
        module = sys.modules.get("autonn.nn.module")
        if module is not None:
            call = module.Module.__call__
            patch(module.Module, "__call__",
                  lambda m, *a, **k: rec.module_call(call, m, *a, **k))
        optim = sys.modules.get("autonn.optim.optimizer")
        if optim is not None:
            for cls in _subclasses(optim.Optimizer):
                for name in ("step", "zero_grad"):
                    if name in cls.__dict__:
                        patch(cls, name, self.opaque(cls.__dict__[name], name))
        sched = sys.modules.get("autonn.optim.lr_scheduler")
        if sched is not None:
            for cls in _subclasses(sched.LRScheduler):
                if "step" in cls.__dict__:
                    patch(cls, "step", self.opaque(cls.__dict__["step"], "step"))
        ops = sys.modules["autonn.ops"]
        elementwise = sys.modules["autonn.ops.elementwise"]
        reduce = sys.modules["autonn.ops.reduce"]
        compare = elementwise.compare
        for owner in (ops, elementwise):
            patch(owner, "compare", self._values(compare, _compare_arrays))
        patch(reduce, "_arg", self._values(reduce._arg, _arg_arrays(reduce._arg)))
        base._record = self.apply
        base._recording = True
        try:
            yield
        finally:
            base._recording = False
            base._record = None
            for owner, name, had, old in reversed(undo):
                if owner is creation and name == "_rng":
                    if isinstance(creation._rng, _GuardedGenerator):
                        creation._rng = real_rng
                    continue
                if had:
                    setattr(owner, name, old)
                else:
                    delattr(owner, name)


_orig: dict[str, Callable[..., Any]] = {}  # the functions the hooks replace, by name


def _subclasses(cls: type) -> list[type]:
    out, stack = [], [cls]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.__subclasses__())
    return out


def _value_read(rec: Recorder, method: Callable[..., Any], name: str) -> Callable[..., Any]:
    what = {"__bool__": "bool(t) / if t", "__float__": "float(t)", "__int__": "int(t)",
            "__index__": "an index", "__array__": "np.asarray(t)", "__repr__": "repr/print(t)"}.get(
        name, f"t.{name}()")

    def read(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if rec.suspended:
            return method(self, *args, **kwargs)
        raise CompileError(
            f"compile: {what} reads the value of a tensor of shape {self.shape} while the "
            "function is recorded; a replay runs no Python, so control flow or numbers taken "
            "from values would be replayed wrongly. Return the tensor and read it outside "
            "the compiled function (e.g. step(x, y).item()), or do not compile this function")
    return read


def _compare_arrays(ufunc: np.ufunc, a: Any, b: Any) -> np.ndarray:
    return np.asarray(ufunc(a, b))


def _arg_arrays(arg: Callable[..., Tensor]) -> Callable[..., np.ndarray]:
    def replay(fn: Any, x: np.ndarray, *rest: Any) -> np.ndarray:
        return arg(fn, Tensor._make(x), *rest).data
    return replay


def _clear_grad(t: Tensor) -> None:
    t.grad = None


def _in_place(rec: Recorder, method: Callable[..., Any], name: str) -> Callable[..., Any]:
    def f(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if rec.suspended:
            return method(self, *args, **kwargs)
        raise CompileError(f"compile: {name} (an in-place change of a tensor outside autonn's ops) "
                           "inside a compiled function cannot be replayed; do it outside, or "
                           "build a new tensor with ops")
    return f


def _forbidden(what: str) -> Callable[..., Any]:
    def f(*args: Any, **kwargs: Any) -> Any:
        raise CompileError(f"compile: {what} inside a compiled function cannot be replayed; "
                           "call it outside")
    return f


class _GuardedGenerator:
    """autonn's generator during a recording: a draw outside Dropout raises (a replay would reuse
    its numbers)."""

    def __init__(self, real: np.random.Generator, rec: Recorder) -> None:
        self.real, self.rec = real, rec

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.real, name)
        if not callable(attr) or self.rec.suspended:
            return attr
        raise CompileError(f"compile: a random draw (generator().{name}, an.rand, an.randn, ...) "
                           "inside a compiled function would repeat the same numbers on every "
                           "replay; only Dropout's masks are drawn again. Draw outside and pass "
                           "the tensor in")

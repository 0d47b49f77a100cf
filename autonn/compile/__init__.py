"""``an.compile``: record a training step once, replay it as one straight-line plan on arrays.

>>> import autonn as an
>>> w = an.tensor([1.0, 2.0], requires_grad=True)
>>> opt = an.optim.SGD([w], lr=0.1)
>>> def step(x):
...     opt.zero_grad()
...     loss = ((w * x).sum() - 1.0) ** 2
...     loss.backward()
...     opt.step()
...     return loss
>>> fast = an.compile(step)
>>> x = an.tensor([0.5, 0.5])
>>> [round(fast(x).item(), 4) for _ in range(3)]   # recorded, then replayed twice
[0.25, 0.2025, 0.164]

How it works, what it guarantees and what falls back: ``docs/compile.md``.
"""
from typing import Any, overload

import builtins
import sys
import types
import collections
from collections.abc import Callable

import numpy as np

from .. import engine
from ..ops import base
from ..tensor import Tensor
from ._record import CompileError, Recorder, lock
from ._plan import STALE, build

__all__ = ["compile", "CompiledFunction", "CompileError"]

#: plans kept per compiled function (least recently used dropped first)
MAX_PLANS = 8

Key = tuple[Any, ...]  # a call's signature: shapes, dtypes, requires_grad flags, plain values
# a plan: (replay function, its source, the tensors it keeps alive, all arguments arrays?, its globals)
Plan = tuple[Callable[[Any], Any], str, list[Tensor], bool, dict[str, Any]]


class CompiledFunction:
    """``fn`` recorded once per input signature and replayed (see :func:`compile`).

    ``plans`` holds up to ``max_plans`` replays, least recently used dropped first; ``stats``
    counts records and replays; ``reset()`` drops every plan (after changing hyperparameters
    that the plan baked in, such as a Dropout's ``p``).
    """

    def __init__(self, fn: Callable[..., Any], max_plans: int = MAX_PLANS, fuse: bool = True) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a callable, got {type(fn).__name__}")
        if int(max_plans) < 1:
            raise ValueError(f"compile: max_plans must be >= 1, got {max_plans}")
        self.fn = fn
        self.max_plans = int(max_plans)
        self.fuse = fuse
        self.plans: collections.OrderedDict[Key, Plan] = collections.OrderedDict()
        self.stats: dict[str, float] = {"records": 0, "replays": 0, "record_seconds": 0.0}
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", "compiled")

    def reset(self) -> None:
        """Forget every plan: the next call records again."""
        self.plans.clear()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if base._recording:  # called while an outer compiled function records: inline it
            return self.fn(*args, **kwargs)
        key = _key(args, kwargs)
        plan = self.plans.get(key)
        if plan is not None:
            out = plan[0](args if not kwargs and plan[3] else _tensors(args, kwargs))
            if out is not STALE:
                self.plans.move_to_end(key)
                self.stats["replays"] += 1
                return out
            del self.plans[key]
        return self._record(key, args, kwargs)

    def _record(self, key: Key, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import time
        t0 = time.perf_counter()
        with lock:
            rec = Recorder()
            with rec.installed():
                result = self.fn(*args, **kwargs)
            src, ns, keep = build(rec, args, kwargs, result, fn=self.fn, fuse=self.fuse)
        code = builtins.compile(src, f"<autonn.compile plan of {self.__name__}>", "exec")
        exec(code, ns)
        all_tensors = all(isinstance(a, (Tensor, np.ndarray)) for a in args)
        self.plans[key] = (ns["replay"], src, keep, all_tensors, ns)
        while len(self.plans) > self.max_plans:
            self.plans.popitem(last=False)
        self.stats["records"] += 1
        self.stats["record_seconds"] += time.perf_counter() - t0
        return result

    def plan_ops(self, *args: Any, **kwargs: Any) -> list[str] | None:
        """Names of the ops a plan calls (fused chains as ``FusedChain[...]``), in plan order.

        >>> import autonn as an
        >>> f = an.compile(lambda x: x * 2.0 + 1.0)
        >>> _ = f(an.ones(2)); f.plan_ops(an.ones(2))
        ['FusedChain[2 ops: MulScalar, AddScalar]']
        """
        plan = self.plans.get(_key(args, kwargs))
        if plan is None:
            return None
        return [v.name for k, v in plan[4].items() if k.startswith("OP")]

    def plan_source(self, *args: Any, **kwargs: Any) -> str | None:
        """The Python source of the plan for these arguments (None if not recorded yet)."""
        plan = self.plans.get(_key(args, kwargs))
        return None if plan is None else plan[1]


def _key(args: tuple[Any, ...], kwargs: dict[str, Any], _state: Any = engine._state,
         _T: type[Tensor] = Tensor) -> Key:
    if not kwargs:  # the common case, without building lists
        parts: list[Any] = [_state.enabled]
        for a in args:
            if a.__class__ is _T:
                d = a.data
                parts.append((d.shape, d.dtype.num, a._requires_grad))
            else:
                return _key_general(args, kwargs)
        return tuple(parts)
    return _key_general(args, kwargs)


def _key_general(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Key:
    parts: list[Any] = [engine._state.enabled, "general"]
    for a in list(args) + [kwargs[k] for k in sorted(kwargs)]:
        if isinstance(a, Tensor):
            d = a.data
            parts.append(("T", d.shape, d.dtype.str, a._requires_grad))
        elif isinstance(a, np.ndarray):
            parts.append(("A", a.shape, a.dtype.str))
        else:
            try:
                hash(a)
            except TypeError:
                raise CompileError(f"compile: argument {a!r} is neither a Tensor/array nor "
                                   "hashable; pass tensors, arrays and plain values") from None
            parts.append(("V", type(a), a))
    return tuple(parts) + tuple(sorted(kwargs))


def _tensors(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Tensor | np.ndarray]:
    out = [a for a in args if isinstance(a, (Tensor, np.ndarray))]
    for k in sorted(kwargs):  # as the plan numbered them
        if isinstance(kwargs[k], (Tensor, np.ndarray)):
            out.append(kwargs[k])
    return out


@overload
def compile(fn: Callable[..., Any], *, max_plans: int = ..., fuse: bool = ...) -> CompiledFunction: ...
@overload
def compile(fn: None = None, *, max_plans: int = ...,
            fuse: bool = ...) -> Callable[[Callable[..., Any]], CompiledFunction]: ...
def compile(fn: Callable[..., Any] | None = None, *, max_plans: int = MAX_PLANS,
            fuse: bool = True) -> CompiledFunction | Callable[[Callable[..., Any]], CompiledFunction]:
    """Compile ``fn`` (a training step, or any function of Tensors): the first call runs it
    eagerly and records its ops, its backward and its optimizer update; later calls with
    arguments of the same shapes, dtypes and ``requires_grad`` flags replay the recorded plan
    (no Tensor objects, no graph walk, no per-op dispatch; elementwise chains fused into
    generated Numba kernels). Other arguments record another plan (``max_plans`` are kept, least
    recently used first out). Usable as ``@an.compile`` too.

    >>> import autonn as an
    >>> f = an.compile(lambda x: (x * 2.0 + 1.0).sum())
    >>> f(an.ones(3)).item(), f(an.zeros(3)).item()
    (9.0, 3.0)
    """
    if fn is None:
        return lambda f: CompiledFunction(f, max_plans, fuse)
    return CompiledFunction(fn, max_plans, fuse)


class _CallableModule(types.ModuleType):
    """``autonn.compile`` is this package once it is imported (Python sets the attribute of a
    parent package to its subpackage), so the package itself calls :func:`compile`."""

    def __call__(self, fn: Callable[..., Any] | None = None, **options: Any) -> Any:
        return compile(fn, **options)


sys.modules[__name__].__class__ = _CallableModule

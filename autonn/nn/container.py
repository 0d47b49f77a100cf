"""``Sequential`` (which fuses ``Linear`` + activation into one kernel call) and ``ModuleList``."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from operator import is_ as _is
from typing import Any

from ..ops.nn import _linear_fused
from ..tensor import Tensor
from .linear import Linear
from .module import Module

_MISSING = object()
_ALONE = object()               # plan marker: a Linear with no activation to fuse
_NO_ACT = ("identity", 0.0)     # Linear.forward's F.linear(input, weight, bias) arguments

__all__ = ["Sequential", "ModuleList"]


def _index(idx, n, kind):
    idx = int(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for a {kind} of length {n}")
    return idx % n


class Sequential(Module):
    """Modules applied in order. Accepts modules, or one ``OrderedDict`` of named modules.

    A ``Linear`` directly followed by ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU or Softplus runs as
    one fused ``linear(..., activation=...)`` call; the modules and the state dict are unchanged.

    >>> import autonn as an
    >>> net = an.nn.Sequential(an.nn.Linear(4, 8), an.nn.ReLU(), an.nn.Linear(8, 2))
    >>> net(an.ones((3, 4))).shape
    (3, 2)
    >>> len(net), type(net[-1]).__name__
    (3, 'Linear')
    >>> net
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=2, bias=True)
    )
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def _plan(self):
        """The steps of ``forward``: ``(module, None)``, ``(linear, _ALONE)`` for a Linear run
        directly, or ``(linear, activation)`` for a Linear followed by an activation that can
        fuse. Built once and rebuilt whenever the sequence of modules changes (compared by
        identity on every call: ``_modules`` may also be edited directly)."""
        mods = tuple(self._modules.values())
        cache = self.__dict__.get("_plan_cache")
        if cache is not None:
            old = cache[0]
            if len(old) == len(mods) and all(map(_is, mods, old)):
                return cache[1]
        steps, i, n = [], 0, len(mods)
        while i < n:
            m = mods[i]
            if type(m) is Linear:
                if i + 1 < n and callable(getattr(mods[i + 1], "_fused", None)):
                    steps.append((m, mods[i + 1]))
                    i += 2
                    continue
                steps.append((m, _ALONE))
            else:
                steps.append((m, None))
            i += 1
        steps = tuple(steps)
        self.__dict__["_plan_cache"] = (mods, steps)
        return steps

    def forward(self, input: Tensor) -> Tensor:
        x = input
        hidden = False  # x came out of a fused step: no module, hook or user code saw it
        for m, act in self._plan():
            if act is None:
                x = m(x)
                hidden = False
                continue
            if act is _ALONE:
                fused = _NO_ACT
            else:
                fused = act._fused()
                if fused is None:
                    x = act(m(x))
                    hidden = False
                    continue
            # Linear.forward (or the fused linear + activation) without the module call layers
            params = m._parameters
            w = params.get("weight", _MISSING)
            b = params.get("bias", _MISSING)
            if w is _MISSING or b is _MISSING:  # deleted: let Linear's lookup raise
                w, b = m.weight, m.bias
            x = _linear_fused(x, w, b, fused[0], fused[1], hidden)
            hidden = True
        return x

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx, module):
        keys = list(self._modules)
        setattr(self, keys[_index(idx, len(keys), "Sequential")], module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            for k in keys[idx]:
                delattr(self, k)
        else:
            delattr(self, keys[_index(idx, len(keys), "Sequential")])
        # renumber, as PyTorch does
        self.__dict__["_modules"] = OrderedDict((str(i), m) for i, m in
                                                enumerate(self._modules.values()))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add a module at the end; returns self.

        >>> import autonn as an
        >>> len(an.nn.Sequential().append(an.nn.ReLU()))
        1
        """
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append every module of an iterable; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert a module before ``index``; returns self."""
        mods = list(self._modules.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for a Sequential of length {n}")
        mods.insert(index, module)
        self.__dict__["_modules"] = OrderedDict()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (no ``forward`` of its own).

    >>> import autonn as an
    >>> layers = an.nn.ModuleList([an.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "ModuleList")]]

    def __setitem__(self, idx, module):
        keys = list(self._modules)
        setattr(self, keys[_index(idx, len(keys), "ModuleList")], module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of an iterable; returns self."""
        for m in modules:
            self.append(m)
        return self

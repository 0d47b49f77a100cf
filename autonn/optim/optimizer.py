"""``Optimizer``: parameter groups, per-parameter state and (de)serialisation, as PyTorch's.

Updates run in place on ``p.data`` with NumPy arithmetic: no graph is built, and a
parameter keeps its dtype (state arrays take the parameter's dtype too).
"""
from __future__ import annotations

import collections
import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor

Params = Iterable[Any]  # the tensors to optimize, or dicts of parameter groups ({'params': [...], 'lr': ...})


class _RequiredParameter:
    """Marks an option with no default (a group must give it)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of the optimizers: holds ``param_groups`` and ``state``; subclasses define ``step``.

    ``params`` is an iterable of Tensors, or of dicts each with a ``'params'`` entry and
    per-group options that override ``defaults``.

    >>> import autonn as an
    >>> w, b = an.ones(2, requires_grad=True), an.zeros(1, requires_grad=True)
    >>> opt = an.optim.SGD([{'params': [w]}, {'params': [b], 'lr': 0.5}], lr=0.1)
    >>> [g['lr'] for g in opt.param_groups]
    [0.1, 0.5]
    """

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: collections.defaultdict[Any, dict[str, Any]] = collections.defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``'params'`` and optional per-group options).

        >>> import autonn as an
        >>> opt = an.optim.SGD([an.ones(1, requires_grad=True)], lr=0.1)
        >>> opt.add_param_group({'params': [an.ones(2, requires_grad=True)], 'lr': 0.01})
        >>> len(opt.param_groups)
        2
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("a parameter group must have a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs; "
                            "use a list instead")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (the default), or to zeros.

        >>> import autonn as an
        >>> w = an.ones(2, requires_grad=True); (w * w).sum().backward()
        >>> opt = an.optim.SGD([w], lr=0.1); opt.zero_grad(); print(w.grad)
        None
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None  # the .grad setter's effect, without the property call
                    p._grad_owned = False
                else:  # a fresh array: the old gradient may be a read-only broadcast view
                    p.grad = Tensor._make(np.zeros_like(p._grad.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters once from their ``.grad`` (each subclass implements it).

        >>> import autonn as an
        >>> w = an.tensor([1.0], requires_grad=True); opt = an.optim.SGD([w], lr=0.5)
        >>> (3 * w).sum().backward(); opt.step(); w
        tensor([-0.5], requires_grad=True)
        """
        raise NotImplementedError

    def _run_closure(self, closure):
        if closure is None:
            return None
        from ..engine import enable_grad
        with enable_grad():
            return closure()

    def _params_with_grad(self, group):
        for p in group["params"]:
            if p.grad is not None:
                yield p, np.asarray(p.grad.data)

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as PyTorch lays it out: ``{'state': {index: {...}},
        'param_groups': [{...options..., 'params': [indices]}]}``. Arrays are copies.

        >>> import autonn as an
        >>> w = an.ones(2, requires_grad=True); opt = an.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward(); opt.step()
        >>> sd = opt.state_dict(); sd['param_groups'][0]['params'], list(sd['state'][0])
        ([0], ['momentum_buffer'])
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: _copy_value(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()`` (possibly via ``an.save``/``an.load``).

        >>> import autonn as an
        >>> w = an.ones(2, requires_grad=True); opt = an.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); sd = opt.state_dict()
        >>> opt2 = an.optim.Adam([w], lr=0.5); opt2.load_state_dict(sd); opt2.param_groups[0]['lr']
        0.1
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("load_state_dict expects a dict with 'state' and 'param_groups' "
                             "entries, as returned by state_dict()")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group ({i}) that doesn't match the "
                    f"size of optimizer's group: {len(s['params'])} vs {len(g['params'])} params")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            for p, k in zip(g["params"], s["params"]):
                id_map[_int_key(k)] = p
        new_state = {}
        for key, value in state_dict["state"].items():
            key = _int_key(key)
            if key not in id_map:
                raise ValueError(f"loaded state dict has state for parameter index {key}, which "
                                 "is in none of its parameter groups")
            p = id_map[key]
            entry = {}
            for name, v in value.items():
                if isinstance(v, Tensor):
                    v = v.data
                if name == "step":
                    entry[name] = np.array(v, dtype=np.float32)
                elif isinstance(v, np.ndarray):
                    if v.shape != p.shape:
                        raise ValueError(f"loaded state {name!r} of parameter {key} has shape "
                                         f"{v.shape}, but the parameter has shape {p.shape}")
                    entry[name] = np.array(v, dtype=p.dtype if v.dtype.kind == "f" else v.dtype)
                else:
                    entry[name] = copy.deepcopy(v)
            new_state[p] = entry
        self.state = collections.defaultdict(dict, new_state)
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            ng = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            if "betas" in ng and isinstance(ng["betas"], list):
                ng["betas"] = tuple(ng["betas"])
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.param_groups = new_groups

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _copy_value(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    return copy.deepcopy(v)


def _int_key(k):
    try:
        return int(k)
    except (TypeError, ValueError):
        raise ValueError(f"parameter index {k!r} in the state dict is not an integer") from None


def _check_nonneg(name, label, value):
    if not value >= 0.0:
        raise ValueError(f"Invalid {label}: {value}")


def _step_count(state):
    """Increment and return the float32 0-d ``'step'`` counter (a tensor in PyTorch)."""
    step = state["step"]
    step += 1
    return float(step)

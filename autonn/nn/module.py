"""``Module``: the base class of layers and networks, with PyTorch's registration rules.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; ``register_buffer`` adds
non-trainable state (such as BatchNorm's running statistics) that ``state_dict`` saves.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..inplace import overwrite
from ..tensor import Tensor
from .parameter import Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s, num_spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * num_spaces + line for line in lines)


def _as_array(value):
    if isinstance(value, Tensor):
        return value.data
    return np.asarray(value)


class Module:
    """Base class of every layer and network: subclass it, assign layers and ``Parameter``s in
    ``__init__`` and write ``forward``; calling the module calls ``forward``.

    >>> import autonn as an
    >>> class Affine(an.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = an.nn.Parameter(an.ones(3))
    ...         self.inner = an.nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return self.inner(x * self.scale)
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['scale', 'inner.weight', 'inner.bias']
    >>> m(an.ones((4, 3))).shape
    (4, 2)
    """

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ----- registration -----
    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (a ``Parameter`` or None) under ``name``.

        >>> import autonn as an
        >>> m = an.nn.Module(); m.register_parameter("w", an.nn.Parameter(an.zeros(2)))
        >>> [n for n, _ in m.named_parameters()]
        ['w']
        """
        self._check_init("parameters")
        self._check_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(an.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state saved in ``state_dict`` (when ``persistent``) but not trained.

        >>> import autonn as an
        >>> m = an.nn.Module(); m.register_buffer("count", an.zeros(1))
        >>> list(m.state_dict())
        ['count']
        """
        self._check_init("buffers")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            if isinstance(tensor, np.ndarray):
                tensor = Tensor(tensor)
            else:
                raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                                f"'{name}' (an.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module (or None) under ``name``.

        >>> import autonn as an
        >>> m = an.nn.Module(); m.add_module("fc", an.nn.Linear(2, 2))
        >>> [n for n, _ in m.named_children()]
        ['fc']
        """
        self._check_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def _check_name(self, name, kind, table):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain \".\", got {name!r}")
        if name not in table and name in self.__dict__:
            raise KeyError(f"attribute '{name}' already exists")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._remove_from(name, d, d["_buffers"], d["_modules"])
            d["_parameters"][name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(an.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("child modules")
            self._remove_from(name, d, params, d["_buffers"])
            d["_modules"][name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (an.nn.Module or None expected)")
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(an.Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, *tables):
        for table in tables:
            table.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # ----- traversal -----
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Every module of the tree (this one first) with its dotted name.

        >>> import autonn as an
        >>> net = an.nn.Sequential(an.nn.Linear(2, 3), an.nn.ReLU())
        >>> [name for name, _ in net.named_modules()]
        ['', '0', '1']
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """Every module of the tree, this one first.

        >>> import autonn as an
        >>> len(list(an.nn.Sequential(an.nn.Linear(2, 3), an.nn.ReLU()).modules()))
        3
        """
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct children with their names.

        >>> import autonn as an
        >>> [n for n, _ in an.nn.Sequential(an.nn.Linear(2, 3), an.nn.ReLU()).named_children()]
        ['0', '1']
        """
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct children.

        >>> import autonn as an
        >>> net = an.nn.Sequential(an.nn.Linear(2, 3), an.nn.ReLU())
        >>> [type(m).__name__ for m in net.children()]
        ['Linear', 'ReLU']
        """
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names (``"0.weight"``); a shared parameter appears once.

        >>> import autonn as an
        >>> [n for n, _ in an.nn.Sequential(an.nn.Linear(2, 3)).named_parameters()]
        ['0.weight', '0.bias']
        """
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters of this module and (by default) its descendants.

        >>> import autonn as an
        >>> sum(p.size for p in an.nn.Linear(3, 2).parameters())
        8
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Buffers with dotted names.

        >>> import autonn as an
        >>> [n for n, _ in an.nn.BatchNorm1d(2).named_buffers()]
        ['running_mean', 'running_var', 'num_batches_tracked']
        """
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers of this module and (by default) its descendants.

        >>> import autonn as an
        >>> len(list(an.nn.BatchNorm1d(2).buffers()))
        3
        """
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant named by a dotted path (``""`` is this module).

        >>> import autonn as an
        >>> net = an.nn.Sequential(an.nn.Sequential(an.nn.Linear(2, 2)))
        >>> type(net.get_submodule("0.0")).__name__
        'Linear'
        """
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            sub = mod._modules.get(item) if isinstance(mod, Module) else None
            if sub is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule `{item}` "
                                     f"(looking up {target!r})")
            mod = sub
        return mod

    # ----- state -----
    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """An ordered dict from dotted names to Tensors (detached, sharing the data) of every
        parameter and persistent buffer.

        >>> import autonn as an
        >>> sd = an.nn.Linear(2, 3).state_dict()
        >>> {k: v.shape for k, v in sd.items()}
        {'weight': (2, 3), 'bias': (3,)}
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Copy values (Tensors or ndarrays) into the existing parameters and buffers, in place.

        Missing or unexpected keys (with ``strict=True``) and wrong shapes raise a RuntimeError that
        names every offending key; then nothing is copied. Returns ``(missing_keys,
        unexpected_keys)``.

        >>> import autonn as an
        >>> a, b = an.nn.Linear(2, 3), an.nn.Linear(2, 3)
        >>> b.load_state_dict(a.state_dict())
        <All keys matched successfully>
        >>> bool((a.weight.data == b.weight.data).all())
        True
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError("Expected state_dict to be dict-like, got "
                            f"{type(state_dict).__name__}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, copies = [], []
        if strict:
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.append("Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        for key, target in own.items():
            if key not in state_dict:
                continue
            try:
                value = _as_array(state_dict[key])
            except Exception as e:  # noqa: BLE001 - reported with the key below
                errors.append(f'While copying the parameter named "{key}": {e}.')
                continue
            if value.dtype.kind not in "biuf":
                errors.append(f'While copying the parameter named "{key}": expected a numeric '
                              f"array, got dtype {value.dtype}.")
            elif value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{value.shape} from checkpoint, the shape in current model is "
                              f"{target.shape}.")
            else:
                copies.append((target, value))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for target, value in copies:
            overwrite(target, value)
        return _IncompatibleKeys(missing, unexpected)

    # ----- modes and gradients -----
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and its descendants.

        >>> import autonn as an
        >>> an.nn.Dropout().train(False).training
        False
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``; Dropout becomes the identity, BatchNorm uses its
        running statistics.

        >>> import autonn as an
        >>> an.nn.BatchNorm1d(3).eval().training
        False
        """
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter (e.g. to freeze a layer).

        >>> import autonn as an
        >>> lin = an.nn.Linear(2, 2).requires_grad_(False)
        >>> lin.weight.requires_grad
        False
        """
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (the default, as PyTorch) or to zeros.

        >>> import autonn as an
        >>> lin = an.nn.Linear(2, 1); lin(an.ones((1, 2))).sum().backward()
        >>> lin.zero_grad(); lin.weight.grad is None
        True
        """
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.grad.data))

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every descendant (children first) and on this module; return self.

        >>> import autonn as an
        >>> net = an.nn.Sequential(an.nn.Linear(2, 2), an.nn.Linear(2, 2))
        >>> def zero_bias(m):
        ...     if isinstance(m, an.nn.Linear):
        ...         an.nn.init.zeros_(m.bias)
        >>> _ = net.apply(zero_bias)
        >>> float(abs(net[1].bias.data).sum())
        0.0
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, dtype: DTypeLike | None = None) -> Module:
        """Cast floating parameters and buffers (and their gradients) to ``dtype``, in place.
        Device names such as ``"cpu"`` are accepted and ignored.

        >>> import autonn as an, numpy as np
        >>> an.nn.Linear(2, 2).to(np.float32).weight.dtype
        dtype('float32')
        """
        for a in args:
            if isinstance(a, str) and a.split(":")[0] == "cpu":
                continue
            if dtype is not None:
                raise TypeError("to(): dtype given twice")
            dtype = a
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to(): only floating dtypes are allowed, got {dtype}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dtype:
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.data.astype(dtype))
        return self

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32 (``to(np.float32)``)."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64 (``to(np.float64)``)."""
        return self.to(np.float64)

    # ----- repr -----
    def extra_repr(self) -> str:
        """The layer's own settings inside its repr; override in subclasses."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2)
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

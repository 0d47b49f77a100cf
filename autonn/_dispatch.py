"""NumPy's own functions on Tensors: ``Tensor.__array_ufunc__`` and ``__array_function__``
(NEP 13 and NEP 18), so that NumPy code keeps its gradient graph.

One table maps NumPy function objects to autonn functions. It is read, on first use, from the
``__all__`` of autonn's namespaces: ``numpy.<name>`` goes to ``autonn.<name>`` (``autonn.ops``),
``numpy.linalg.<name>`` to ``autonn.linalg.<name>``, ``numpy.fft.<name>`` to
``autonn.fft.<name>``, and, once ``scipy.special`` is imported, its ufuncs to
``autonn.special.<name>``. An op added to one of those ``__all__`` lists dispatches with no
further step.

* A NumPy function in the table runs the autonn function: the result is a Tensor with its graph.
  Arguments are matched by NumPy's signature; one the autonn function does not take (``dtype=``,
  ``where=``, ...) makes the call *unsupported*, unless it is NumPy's default value.
* An unsupported call (a function outside the table, or arguments autonn does not take) runs NumPy
  on the arrays and wraps array results as Tensors without a graph (integer, boolean and float
  alike, so the type of ``np.f(t)`` does not change when autonn learns ``f``). When a Tensor
  that requires grad is among the arguments (inside lists too) and grad mode is on, a result
  holding floating-point values raises a ``TypeError`` naming the function: the graph is never
  dropped silently. Integer, boolean and non-array results (``np.argsort``, ``np.isnan``,
  ``np.shape``, ``np.allclose``) carry no gradient and are returned.
* ``out=``: as PyTorch, an output argument cannot carry a graph, so it raises when a gradient
  would be recorded; otherwise the values are written into the given arrays or Tensors, which
  are returned, as NumPy does.

>>> import numpy as np, autonn as an
>>> x = an.tensor([0.0, 1.0], requires_grad=True)
>>> y = np.sum(np.exp(x)); y.backward(); x.grad
tensor([1.        , 2.71828183])
>>> np.median(x)
Traceback (most recent call last):
...
TypeError: numpy.median is not implemented by autonn and was given a Tensor that requires grad: ...
>>> np.median(x.detach())
tensor(0.5)
"""
import importlib
import inspect
import sys
from collections.abc import Callable, Collection, Sequence
from types import FrameType
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import engine
from .tensor import Tensor

Function = Callable[..., Any]  # a NumPy function or ufunc, or an autonn function
Params = list[inspect.Parameter]
Call = tuple[Sequence[Any], dict[str, Any]]  # positional and keyword arguments

# (NumPy namespace, autonn namespace): an autonn namespace that does not exist yet is skipped
_NAMESPACES = (("numpy", "autonn.ops"), ("numpy.linalg", "autonn.linalg"),
               ("numpy.fft", "autonn.fft"), ("scipy.special", "autonn.special"))
# ufunc methods in terms of autonn reductions (looked up by name when called)
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "logaddexp": "logsumexp"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}

_table: dict[Function, Function] = {}
_names: dict[Function, str] = {}  # NumPy function -> "numpy.linalg.norm", for messages
_loaded: set[str] = set()  # the NumPy namespaces read into the table
# NumPy function -> (NumPy's parameters or None, autonn's, one argument enough)
_signatures: dict[Function, tuple[Params | None, Params | None, bool]] = {}


def table() -> dict[Function, Function]:
    """The dispatch table, NumPy function -> autonn function (read on first use; scipy.special's
    ufuncs join when scipy.special has been imported).

    >>> import numpy as np, autonn as an
    >>> from autonn._dispatch import table
    >>> table()[np.exp] is an.exp
    True
    """
    if len(_loaded) < len(_NAMESPACES):
        for np_name, an_name in _NAMESPACES:
            if np_name not in _loaded and (np_name in sys.modules or np_name.startswith("numpy")):
                _read(np_name, an_name)
    return _table


def _reset() -> None:
    """Forget the table: the next use reads the namespaces again (for tests)."""
    _table.clear()
    _names.clear()
    _loaded.clear()
    _signatures.clear()


def _read(np_name: str, an_name: str) -> None:
    _loaded.add(np_name)
    numpy_ns = importlib.import_module(np_name)
    try:
        autonn_ns = importlib.import_module(an_name)
    except ModuleNotFoundError as e:
        if e.name != an_name:
            raise
        return
    for name in getattr(autonn_ns, "__all__", ()):  # (NumPy's names of arithmetic: ops.numpy_names)
        fn = getattr(autonn_ns, name, None)
        target = getattr(numpy_ns, name, None)
        if fn is None or fn is target or not callable(target) or isinstance(target, type):
            continue  # (autonn.fft re-exports NumPy's fftfreq: not an autonn function)
        if np_name == "scipy.special" and not isinstance(target, np.ufunc):
            continue  # scipy's Python functions do not dispatch: only its ufuncs reach here
        _table.setdefault(target, fn)
        _names.setdefault(target, f"{np_name}.{name}")
    if np_name == "numpy" and np.divmod not in _table and hasattr(autonn_ns, "remainder"):
        _table[np.divmod] = _divmod
        _names[np.divmod] = "numpy.divmod"


def _divmod(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    """``(x // y, x % y)``, as ``numpy.divmod``."""
    ops = sys.modules["autonn.ops"]
    return ops.floor_divide(x, y), ops.remainder(x, y)


def name_of(func: Function) -> str:
    """``"numpy.linalg.norm"`` for a NumPy function (its module and name)."""
    if func in _names:
        return _names[func]
    if isinstance(func, np.ufunc):
        return f"numpy.{func.__name__}" if getattr(np, func.__name__, None) is func \
            else f"ufunc {func.__name__!r}"
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{getattr(func, '__name__', func)}"


# ----- __array__: NumPy's conversion -----
def to_array(t: Tensor, dtype: DTypeLike | None = None, copy: bool | None = None,
             caller: FrameType | None = None) -> np.ndarray:
    """``Tensor.__array__``: the data (a copy if ``copy`` or ``dtype`` asks for one);
    ``caller`` is the frame that asked for the conversion (default: the caller of this function).

    Your own ``np.asarray(t)`` is an explicit conversion and gives the data even when ``t``
    requires grad. A conversion made *inside* NumPy or SciPy code (``np.mean([x, y])``: NumPy
    looks at the list, not at the Tensors in it, and converts them) would drop the graph
    silently, so it raises a ``TypeError`` naming the function while a gradient is recorded.

    >>> import numpy as np, autonn as an
    >>> x = an.tensor([1.0, 3.0], requires_grad=True)
    >>> np.asarray(x)
    array([1., 3.])
    >>> np.mean([x, x])
    Traceback (most recent call last):
    ...
    TypeError: numpy.mean converted a Tensor that requires grad to a NumPy array, ...
    """
    if t._requires_grad and engine.is_grad_enabled():
        label = _converting_function(sys._getframe(1) if caller is None else caller)
        if label is not None:
            raise TypeError(
                f"{label} converted a Tensor that requires grad to a NumPy array, which drops the "
                "gradient graph. Call autonn's function instead (it stacks a list of Tensors), "
                "or convert explicitly: np.asarray(t) or t.detach().")
    data = t.data
    if dtype is not None and data.dtype != dtype:
        return data.astype(dtype)
    return data.copy() if copy else data


def _converting_function(frame: FrameType | None) -> str | None:
    """The NumPy or SciPy function (outermost of their frames) that is converting, or None when
    the conversion was asked for by other code (the user's ``np.asarray``, numpy.testing)."""
    outer = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("numpy.", "scipy.")) or module.startswith("numpy.testing"):
            break
        outer, frame = frame, frame.f_back
    if outer is None:
        return None
    module = outer.f_globals["__name__"].split(".")
    public = next((i for i, part in enumerate(module) if part.startswith("_")), len(module))
    return ".".join(module[:public] + [outer.f_code.co_name])


# ----- NEP 18: functions -----
def array_function(self: Tensor, func: Function, types: Collection[type], args: Sequence[Any],
                   kwargs: dict[str, Any]) -> Any:
    """``Tensor.__array_function__``: the autonn function, or NumPy on the data (see above)."""
    if len(args) == 1 and not kwargs and types == (Tensor,):  # np.sum(t), np.linalg.norm(t)
        entry = _signatures.get(func)
        if entry is not None and entry[2]:
            return _table[func](args[0])
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented  # another array library is involved: let it (or NumPy) decide
    fn = table().get(func)
    out = kwargs.get("out")
    if out is not None:
        return _with_out(func, args, kwargs, lambda *a, **k: func(*a, **k), out)
    if fn is not None:
        call, reason = _match(func, fn, args, kwargs)
        if call is not None:
            return fn(*call[0], **call[1])
        return _on_data(func, args, kwargs, lambda *a, **k: func(*a, **k), reason)
    return _on_data(func, args, kwargs, lambda *a, **k: func(*a, **k), None)


def _match(func: Function, fn: Function, args: Sequence[Any],
           kwargs: dict[str, Any]) -> tuple[Call, None] | tuple[None, str]:
    """``(args, kwargs)`` for ``fn`` from a call of NumPy's ``func``, or ``(None, reason)``."""
    entry = _signatures.get(func)
    if entry is None:
        an_params = _parameters(fn)
        entry = _signatures[func] = (_parameters(func), an_params,
                                     an_params is not None and _takes_one(an_params))
    np_params, an_params, takes_one = entry
    if an_params is None or (takes_one and len(args) == 1 and not kwargs):
        return (args, kwargs), None
    if np_params is None:  # NumPy's signature is not known: pass the call as it is
        pos, named = list(args), dict(kwargs)
    else:
        try:
            bound = inspect.Signature(np_params).bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{name_of(func)}: {e}") from None
        pos, named = [], {}
        for i, p in enumerate(np_params):
            if p.name not in bound.arguments:
                continue
            value = bound.arguments[p.name]
            if p.kind is p.VAR_POSITIONAL:
                pos.extend(value)
            elif p.kind is p.VAR_KEYWORD:
                named.update(value)
            elif i == 0 or p.kind is p.POSITIONAL_ONLY:
                if len(pos) != i:  # a positional-only argument after a skipped one
                    return None, f"it needs {p.name!r} as a keyword"
                pos.append(value)
            else:
                named[p.name] = value
    an_by_name = {p.name: p for p in an_params}
    for key in list(named):
        an_p = an_by_name.get(key)
        if an_p is not None and an_p.kind is an_p.VAR_POSITIONAL and len(pos) == 1 and not any(
                q.kind is q.VAR_POSITIONAL for q in np_params or ()):
            pos.append(named.pop(key))  # NumPy's reshape(a, shape) to autonn's reshape(x, *shape)
            continue
        if (an_p is None or an_p.kind in (an_p.POSITIONAL_ONLY, an_p.VAR_POSITIONAL)) and not any(
                q.kind is q.VAR_KEYWORD for q in an_params):
            default = _np_default(np_params, key)
            if named[key] is None or named[key] is np._NoValue or (
                    default is not inspect.Parameter.empty and _same(named[key], default)):
                del named[key]  # NumPy's default value: nothing asked of autonn
                continue
            return None, f"it does not take {key}={named[key]!r}"
    positional = [p for p in an_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(pos) > len(positional) and not any(p.kind is p.VAR_POSITIONAL for p in an_params):
        return None, f"it takes {len(positional)} positional arguments, {len(pos)} were given"
    missing = [p.name for p in positional[len(pos):] if p.default is p.empty and p.name not in named]
    if missing:
        return None, f"it needs the argument {missing[0]!r}"
    return (pos, named), None


def _takes_one(params: Params) -> bool:
    """True if one positional argument is a complete call."""
    return bool(params) and params[0].kind in (params[0].POSITIONAL_ONLY,
                                               params[0].POSITIONAL_OR_KEYWORD,
                                               params[0].VAR_POSITIONAL) and not any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                            p.KEYWORD_ONLY) for p in params[1:])


def _np_default(np_params: Params | None, key: str) -> Any:
    for p in np_params or ():
        if p.name == key:
            return p.default
    return inspect.Parameter.empty


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):  # arrays compare elementwise: not a default value
        return False


def _parameters(f: Function) -> Params | None:
    try:
        return list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return None


# ----- NEP 13: ufuncs -----
_PLAIN = (Tensor, np.ndarray, np.generic, float, int, complex)  # no array protocol of their own
_UFUNC_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "dtype": None,
                   "subok": True, "signature": None}
_UFUNC_METHOD_ARGS = {"reduce": ("axis", "keepdims"), "accumulate": ("axis",)}


def array_ufunc(self: Tensor, ufunc: np.ufunc, method: str, inputs: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
    """``Tensor.__array_ufunc__(ufunc, method, *inputs, **kwargs)``: the autonn function, or
    NumPy on the data (see above). ``kwargs`` is the call's own dict: this function may change it."""
    if method == "__call__" and not kwargs:  # the common case first: np.exp(t), ndarray + t
        fn = _table.get(ufunc)
        if fn is not None:
            for x in inputs:
                if not isinstance(x, _PLAIN):
                    break
            else:
                return fn(*inputs)
    for x in inputs:
        if not isinstance(x, (Tensor, np.ndarray, np.generic)) and hasattr(x, "__array_ufunc__"):
            return NotImplemented  # another array library is involved: let it decide
    out = kwargs.pop("out", None)
    if out is not None and all(o is None for o in out):
        out = None
    allowed = _UFUNC_METHOD_ARGS.get(method, ())
    ignored = [k for k, v in kwargs.items()
               if k not in allowed and not _same(v, _UFUNC_DEFAULTS.get(k, object()))]

    def numpy_call(*a: Any, **k: Any) -> Any:
        return getattr(ufunc, method)(*a, **k)

    if out is not None:
        return _with_out(ufunc, inputs, kwargs, numpy_call, out if len(out) > 1 else out[0])
    if method == "at":  # in place on the first input: the output argument's rule
        return _with_out(ufunc, inputs[1:], kwargs, lambda *a, **k: _at(ufunc, inputs[0], a, k),
                         inputs[0], f"{name_of(ufunc)}.at")
    fn = _ufunc_function(ufunc, method) if not ignored else None
    if fn is not None:
        return fn(*inputs, **{k: v for k, v in kwargs.items() if k in allowed})
    label = name_of(ufunc) + ("" if method == "__call__" else f".{method}")
    reason = f"it does not take {ignored[0]}={kwargs[ignored[0]]!r}" if ignored else None
    return _on_data(ufunc, inputs, kwargs, numpy_call, reason, label)


def _ufunc_function(ufunc: np.ufunc, method: str) -> Function | None:
    fn = table().get(ufunc)
    if method == "__call__" or fn is None:
        return fn
    ops = sys.modules["autonn.ops"]
    if method == "outer":
        return lambda a, b: _outer(fn, a, b)
    names = {"reduce": _REDUCE, "accumulate": _ACCUMULATE}.get(method, {})
    reducer = getattr(ops, names.get(ufunc.__name__, ""), None)
    if reducer is None:
        return None
    if method == "reduce":
        return lambda a, axis=0, keepdims=False: reducer(a, axis=axis, keepdims=keepdims)
    return lambda a, axis=0: reducer(a, axis=axis)


def _outer(fn: Function, a: Any, b: Any) -> Any:
    """``ufunc.outer(a, b)``: ``a`` gets ``b.ndim`` trailing axes, then broadcasting does the rest."""
    b_ndim = np.ndim(_data(b))
    if b_ndim:
        a = sys.modules["autonn.ops"].reshape(a, np.shape(_data(a)) + (1,) * b_ndim)
    return fn(a, b)


# ----- the shared paths -----
def recording(args: Any) -> bool:
    """True if grad mode is on and a Tensor that requires grad is among ``args`` (lists,
    tuples and dicts are searched)."""
    return engine.is_grad_enabled() and _requires_grad(args)


def _requires_grad(x: Any) -> bool:
    if isinstance(x, Tensor):
        return x.requires_grad
    if isinstance(x, (list, tuple)):
        return any(_requires_grad(v) for v in x)
    if isinstance(x, dict):
        return any(_requires_grad(v) for v in x.values())
    return False


def _data(x: Any) -> Any:
    """``x`` with every Tensor replaced by its array (inside lists, tuples and dicts too)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_data(v) for v in x) if type(x) in (list, tuple) else x
    if isinstance(x, dict):
        return {k: _data(v) for k, v in x.items()}
    return x


def _wrap(r: Any) -> Any:
    """NumPy's result with arrays (and NumPy scalars) as Tensors outside the graph."""
    if isinstance(r, np.ndarray):
        return Tensor._make(r) if r.dtype.kind in "biufc" else r
    if isinstance(r, np.generic) and r.dtype.kind in "biufc":
        return Tensor._make(np.asarray(r))
    if type(r) in (list, tuple):
        return type(r)(_wrap(v) for v in r)
    if isinstance(r, tuple) and hasattr(r, "_fields"):  # NumPy's named tuples (slogdet, svd...)
        return type(r)(*(_wrap(v) for v in r))
    return r


def _holds_float(r: Any) -> bool:
    if isinstance(r, (np.ndarray, np.generic)):
        return r.dtype.kind in "fc"
    if isinstance(r, (float, complex)):
        return True
    if isinstance(r, (list, tuple)):
        return any(_holds_float(v) for v in r)
    return False


def _on_data(func: Function, args: Sequence[Any], kwargs: dict[str, Any], numpy_call: Function,
             reason: str | None, label: str | None = None) -> Any:
    """NumPy's function on the arrays; refuses to drop a graph (see the module docstring)."""
    label = label or name_of(func)
    result = numpy_call(*_data(args), **_data(kwargs))
    if _holds_float(result) and recording((args, kwargs)):
        what = ("is not implemented by autonn" if reason is None else
                f"is implemented by autonn, but not for this call ({reason})")
        raise TypeError(
            f"{label} {what} and was given a Tensor that requires grad: NumPy's result would drop "
            "the gradient graph. Use an autonn function, or pass t.detach() (or run under "
            "an.no_grad()) to compute without a gradient.")
    return _wrap(result)


def _at(ufunc: np.ufunc, target: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> np.ndarray:
    """``ufunc.at(target, ...)`` computed on a copy: the result is written back as an output."""
    values = np.array(_data(target), copy=True)
    ufunc.at(values, *args, **kwargs)
    return values


def _with_out(func: Function, args: Sequence[Any], kwargs: dict[str, Any], numpy_call: Function,
              out: Any, label: str | None = None) -> Any:
    """``out=``: refused while recording a graph (as PyTorch); otherwise NumPy writes the values
    into the outputs' arrays, and the outputs are returned."""
    if recording((args, kwargs, out)):
        label = label or f"{name_of(func)}(..., out=...)"
        raise TypeError(
            f"{label}: an output argument can't carry the gradient graph, and a Tensor that "
            "requires grad was given. Use the returned value (y = np.f(...)) or run under "
            "an.no_grad().")
    outs = out if isinstance(out, tuple) else (out,)
    kw = {k: v for k, v in kwargs.items() if k != "out"}
    result = numpy_call(*_data(args), **_data(kw))
    results = result if isinstance(out, tuple) else (result,)
    for target, value in zip(outs, results):
        if target is None:
            continue
        if isinstance(target, Tensor):
            _write_tensor(target, value)
        else:
            np.copyto(target, value, casting="same_kind")
    return None if label else out


def _write_tensor(target: Tensor, value: Any) -> None:
    copy_ = getattr(target, "copy_", None)
    if copy_ is not None:  # the in-place method: version counters stay right
        with engine.no_grad():
            copy_(Tensor._make(np.asarray(value)))
    else:
        np.copyto(target.data, value, casting="same_kind")

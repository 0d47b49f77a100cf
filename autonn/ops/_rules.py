"""Declaring an elementwise op by its partial derivatives, as HIPS autograd's ``defvjp`` and
JAX's ``defjvp`` do, and summing tangent terms.

An elementwise op's Jacobian is diagonal, so one rule per input,
``d(g, out, *inputs) -> g * d(out)/d(input)`` (linear in ``g``, written in autonn ops so it
differentiates again), gives both the vjp (``g`` is the output's cotangent) and the jvp (``g``
is that input's tangent; the jvp is the sum of the terms). For a holomorphic function the same
rule is right for complex inputs too, in HIPS autograd's and JAX's convention.
Broadcasting is not the rule's business: the engine sums broadcast axes back.

>>> import numpy as np, autonn as an
>>> from autonn.ops._rules import elementwise
>>> cube = elementwise("cube", lambda x: x ** 3, lambda g, out, x: g * 3 * x * x,
...                    doc="x cubed.")
>>> x = an.tensor(2.0, requires_grad=True)
>>> (dx,) = an.grad(cube(x), x, create_graph=True); dx.item(), an.grad(dx, x)[0].item()
(12.0, 12.0)
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import numpy as np

from .._dtype import get_default_dtype
from ..tensor import Tensor, TensorLike, as_tensor
from .base import Op, apply, lift, linear_jvp


class ElementwiseFn(Protocol):
    """The type of the functions ``elementwise`` makes: ``f(x)`` (or ``f(x, y)``) gives a Tensor."""
    op: type[Op]  # the Op class
    elementwise: bool

    def __call__(self, *xs: TensorLike) -> Tensor: ...


_F = TypeVar("_F", bound=Callable[..., Any])


def marked_elementwise(fn: _F) -> _F:
    """``fn``, flagged ``fn.elementwise = True``: a function written by hand that acts elementwise
    (``autonn.testing``'s registry reads the flag; ``elementwise`` sets it on the functions it makes).

    >>> from autonn.ops._rules import marked_elementwise
    >>> marked_elementwise(lambda x: x).elementwise
    True
    """
    fn.elementwise = True  # type: ignore[attr-defined]  # a function attribute: mypy does not model them
    return fn


class LinearOp(Op):
    """Base of the ops that are linear in their inputs (shape ops, indexing, ``real``, ``fft``...):
    right for complex inputs, no values saved, and the jvp is the op applied to the tangents."""
    __slots__ = ()
    complex = True
    linear = True
    jvp = linear_jvp


def sum_terms(*terms):
    """The sum of the terms that are not None (None if all are): a jvp's tangent terms.

    >>> from autonn.ops._rules import sum_terms
    >>> sum_terms(None, 2, None, 3), sum_terms(None, None)
    (5, None)
    """
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def operand_pair(x, y):
    """``x`` and ``y`` as Tensors for a binary op; a Python number takes the other operand's
    dtype (NumPy's weak-scalar rule)."""
    if isinstance(x, Tensor):
        return x, lift(y, x)
    y = y if isinstance(y, Tensor) else as_tensor(y)
    return lift(x, y), y


def float_inputs(*xs):
    """The Tensors ``xs`` with integer and boolean ones cast to a float dtype, as a float
    function (``exp``, ``erf``...) takes them: the dtype of the float operands if there are
    any, else the default float dtype (``an.exp(uint8 255)`` is ``exp(255.0)``, not float16's
    inf). No gradient flows through the cast: integer Tensors never require one.

    >>> import numpy as np, autonn as an
    >>> from autonn.ops._rules import float_inputs
    >>> [t.dtype for t in float_inputs(an.tensor(np.uint8(3)), an.tensor(np.float32(1)))]
    [dtype('float32'), dtype('float32')]
    """
    floats = [x.data.dtype for x in xs if x.data.dtype.kind in "fc"]
    dtype = floats[0] if len(floats) == 1 else \
        np.result_type(*floats) if floats else get_default_dtype()
    return tuple(Tensor._make(x.data.astype(dtype)) if x.data.dtype.kind in "biu" else x
                 for x in xs)


def float_tensor(x):
    """``x`` as a Tensor, cast to the default float dtype if it is integer or boolean: the
    input of a unary float function that is not declared with ``elementwise`` (``tanh``...).

    >>> import numpy as np, autonn as an
    >>> from autonn.ops._rules import float_tensor
    >>> float_tensor(np.arange(2)).dtype
    dtype('float64')
    """
    x = as_tensor(x)
    return float_inputs(x)[0] if x.data.dtype.kind in "biu" else x


def elementwise(name: str, forward, *partials, arrays=None, doc: str | None = None, module: str | None = None,
                complex: bool = False, promote: bool = True) -> ElementwiseFn:
    """Declare an elementwise op from its NumPy ``forward`` and one partial-derivative rule per
    input, and return its public function (one shared Op instance: the op has no state).

    * ``forward(*arrays) -> ndarray`` (a NumPy ufunc, typically);
    * ``partials[i](g, out, *inputs) -> g * d(out)/d(input i)``, in autonn ops, linear in ``g``
      (``out`` and ``inputs`` are Tensors);
    * ``promote`` (default True): a float function: integer and boolean inputs are cast to a
      float dtype first (see ``float_inputs``). False keeps NumPy's integer results
      (``floor``, ``sign``, ``mod``...);
    * ``arrays`` (optional): the same rules on NumPy arrays (``g``, ``out.data``...), used by a
      plain ``backward()`` so that it builds no Tensors; it must compute the same values
      (``arrays=True``: the partials themselves, when they use only arithmetic operators);
    * ``complex=True``: the rules are right for complex inputs too (true as written for a
      holomorphic function, in HIPS autograd's and JAX's convention: no conjugation).

    The function has ``.op`` (the Op class) and ``.elementwise = True``; its ``__name__`` is
    ``name``, its ``__doc__`` is ``doc`` and its ``__module__`` the caller's (or ``module``).
    The Op class is ``name`` in CamelCase (``log1p`` -> ``Log1p``).

    >>> import numpy as np, autonn as an
    >>> from autonn.ops._rules import elementwise
    >>> hypot = elementwise("hypot", np.hypot, lambda g, out, x, y: g * x / out,
    ...                     lambda g, out, x, y: g * y / out)
    >>> hypot(an.tensor(3.0), 4.0), hypot.op.__name__
    (tensor(5.), 'Hypot')
    """
    nin = len(partials)
    if nin == 0:
        raise ValueError(f"elementwise {name!r}: give one partial-derivative rule per input")
    if arrays is True:
        arrays = partials
    if arrays is not None and len(arrays) != nin:
        raise ValueError(f"elementwise {name!r}: {len(arrays)} array rules for {nin} inputs")
    body: dict[str, Any] = {"__slots__": (), "__doc__": doc, "elementwise": True, "nin": nin,
                            "complex": complex, "public_name": name, "forward": staticmethod(forward),
                            "partials": partials}
    if nin == 1:
        (d,) = partials
        body["vjp"] = staticmethod(d)  # called as vjp(g, out, x): no wrapper frame
        body["jvp"] = _unary_jvp
        if arrays is not None:
            body["vjp_arrays"] = _unary_vjp_arrays(arrays[0])
    else:
        body["vjp"] = _nary_vjp
        body["jvp"] = _nary_jvp
        if arrays is not None:
            body["array_partials"] = tuple(arrays)
            body["vjp_arrays"] = _nary_vjp_arrays
    cls = type("".join(w[:1].upper() + w[1:] for w in name.split("_")), (Op,), body)
    op = cls()

    fn: Any  # a function carrying .op and .elementwise
    if nin == 1:
        def fn(x):
            x = as_tensor(x)
            if promote and x.data.dtype.kind in "biu":
                (x,) = float_inputs(x)
            return apply(op, x)
    elif nin == 2:
        def fn(x, y):  # operand_pair, inlined
            if isinstance(x, Tensor):
                y = lift(y, x)
            else:
                y = y if isinstance(y, Tensor) else as_tensor(y)
                x = lift(x, y)
            if promote and (x.data.dtype.kind in "biu" or y.data.dtype.kind in "biu"):
                x, y = float_inputs(x, y)
            return apply(op, x, y)
    else:
        def fn(*xs):
            if len(xs) != nin:
                raise TypeError(f"{name}() takes {nin} arguments ({len(xs)} given)")
            like = next((v for v in xs if isinstance(v, Tensor)), None)
            xs = [as_tensor(v) if like is None else lift(v, like) for v in xs]
            if promote:
                xs = float_inputs(*xs)
            return apply(op, *xs)
    fn.__name__ = fn.__qualname__ = name
    fn.__annotations__ = {**{p: "TensorLike" for p in fn.__code__.co_varnames[:nin]}, "return": "Tensor"}
    fn.__doc__ = doc
    fn.__module__ = cls.__module__ = module or sys._getframe(1).f_globals["__name__"]
    fn.op = cls
    fn.elementwise = True
    fn.promotes_integers = bool(promote)
    return fn


def _unary_vjp_arrays(rule):
    def vjp_arrays(self, g, out, x):
        return rule(g, out.data, x.data)
    return vjp_arrays


def _unary_jvp(self, tangents, out, x):
    (dx,) = tangents
    return None if dx is None else self.vjp(dx, out, x)


def _nary_vjp(self, g, out, *inputs):
    return tuple(d(g, out, *inputs) if x._requires_grad else None
                 for d, x in zip(self.partials, inputs))


def _nary_vjp_arrays(self, g, out, *inputs):
    datas = [x.data for x in inputs]
    return tuple(d(g, out.data, *datas) if x._requires_grad else None
                 for d, x in zip(self.array_partials, inputs))


def _nary_jvp(self, tangents, out, *inputs):
    return sum_terms(*[None if t is None else d(t, out, *inputs)
                       for d, t in zip(self.partials, tangents)])


_ERROR_BASES = (ValueError, TypeError, IndexError)


def errors_named(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``fn`` whose ValueError, TypeError and IndexError messages begin with the public ``name``
    the user called (``stats.t.pdf: ...``), whichever op inside it raised.

    >>> import autonn as an
    >>> from autonn.ops._rules import errors_named
    >>> f = errors_named(lambda x: an.ones(2) + x, "my_fn")
    >>> f(an.ones(3))
    Traceback (most recent call last):
    ...
    ValueError: my_fn: ...
    """
    @functools.wraps(fn)
    def named(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AttributeError as e:  # NumPy's object-dtype fallback on a wrong argument type
            raise TypeError(f"{name}: unsupported argument type ({e})") from e
        except OverflowError as e:  # a Python int too large for NumPy's integers
            raise ValueError(f"{name}: {e}") from e
        except _ERROR_BASES as e:
            message = str(e)
            if message.startswith(name + ":"):
                raise
            try:
                error = type(e)(f"{name}: {message}")
            except Exception:  # an exception class with another constructor (UFuncTypeError)
                base = next(b for b in _ERROR_BASES if isinstance(e, b))
                error = base(f"{name}: {message}")
            raise error from e
    return named


def name_errors_of(namespace: dict, prefix: str = "") -> None:
    """Wrap every public function of a module's ``__all__`` with :func:`errors_named`."""
    wrapped: dict = {}  # an alias (psi for digamma) stays the same function
    for n in namespace["__all__"]:
        f = namespace[n]
        if callable(f) and not isinstance(f, type):
            if id(f) not in wrapped:
                wrapped[id(f)] = errors_named(f, prefix + n)
            namespace[n] = wrapped[id(f)]

"""Tensor: a NumPy array that remembers the op that made it.

Operators and methods delegate to the functions in ``autonn.ops``; the graph walk
lives in ``autonn.engine``.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import engine, saved
from ._dtype import get_default_dtype

Axis = int | tuple[int, ...] | None  # an axis argument: one axis, several, or all (None)
Scalar = int | float | complex | bool  # what item() gives (named before Tensor shadows float)

_creation = saved.clock  # a tensor is always created after its inputs: a topological order


class Tensor:
    """An n-dimensional array with an optional gradient graph.

    >>> import autonn as an
    >>> x = an.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x ** 2).sum(); y.backward(); x.grad
    tensor([2., 4., 6.])
    """
    __slots__ = ("data", "_grad", "_grad_owned", "_requires_grad", "_op", "_parents",
                 "_retains_grad", "_trace", "_seq", "_held", "_history", "__weakref__")
    # _history: (stamp, alias) per in-place rebase (autonn.saved.route), unset until the first
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator
    data: np.ndarray
    _grad: Tensor | None
    _grad_owned: bool
    _requires_grad: bool
    _op: Any  # the Op that made this tensor (None for a leaf)
    _parents: tuple[Tensor, ...]
    _retains_grad: bool
    _trace: Any
    _seq: int

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data = _to_array(data, dtype)
        self._grad = None
        self._grad_owned = False
        self._op = None
        self._parents = ()
        self._retains_grad = False
        self._trace = None
        self._seq = next(_creation)
        self._held = 0  # how many graph nodes hold this tensor's array read-only (autonn.saved)
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data, op=None, parents=(), _new=object.__new__, _next=_creation.__next__):
        t = _new(cls)
        t.data = data
        t._grad = None
        t._grad_owned = False
        t._op = op
        t._parents = parents
        t._requires_grad = op is not None
        t._retains_grad = False
        t._trace = None
        t._seq = _next()
        t._held = 0
        return t

    # ----- autograd attributes -----
    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        # an assigned gradient belongs to the caller: backward will not accumulate into it in place
        self._grad = value
        self._grad_owned = False

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = bool(flag)
        if flag and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating point tensors can require gradients, but this tensor has dtype "
                f"{self.data.dtype}; convert it first, e.g. an.tensor(x, dtype=np.float64)")
        if not flag and self._op is not None:
            raise RuntimeError(
                "you can only change requires_grad of leaf tensors; use detach() to get a "
                "tensor cut from the graph")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self.

        >>> import autonn as an
        >>> an.zeros(2).requires_grad_().requires_grad
        True
        """
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def grad_fn(self) -> Any:
        return self._op

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during backward.

        >>> import autonn as an
        >>> x = an.ones(2, requires_grad=True); y = x * 3; y.retain_grad()
        >>> y.sum().backward(); y.grad
        tensor([1., 1.])
        """
        self._retains_grad = True

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], Any]) -> Any:
        """Call ``hook(self)`` in each ``backward()`` once this leaf's ``.grad`` is complete
        (see ``autonn.grad_hooks``); returns a handle with ``remove()``.

        >>> import autonn as an
        >>> w = an.ones(2, requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda t: print(t.grad))
        >>> (3 * w).sum().backward()
        tensor([3., 3.])
        """
        from .grad_hooks import register_post_accumulate_grad_hook
        return register_post_accumulate_grad_hook(self, hook)

    def backward(self, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Backpropagate from this tensor into the ``.grad`` of the leaves.

        >>> import autonn as an
        >>> x = an.tensor(2.0, requires_grad=True)
        >>> (x * x).backward(); x.grad
        tensor(4.)
        """
        engine.backward(self, gradient, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph.

        >>> import autonn as an
        >>> an.ones(2, requires_grad=True).detach().requires_grad
        False
        """
        return Tensor._make(self.data)

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (shared with its views).

        >>> import autonn as an
        >>> t = an.zeros(2); _ = t.add_(1); t._version
        1
        """
        return saved.version(self.data)

    # ----- array attributes -----
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Tensor:
        return _ops.transpose(self)

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied); raises if the tensor requires grad, as PyTorch.

        >>> import autonn as an
        >>> an.ones(2).numpy()
        array([1., 1.])
        """
        if self.requires_grad:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number.

        >>> import autonn as an
        >>> an.tensor([2.5]).item()
        2.5
        """
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python "
                             f"scalars, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __dlpack__(self, **kwargs):
        """DLPack export of the data, shared and not copied (``np.from_dlpack(t)``,
        ``torch.from_dlpack(t)``); raises if the tensor requires grad, as PyTorch.

        >>> import autonn as an, numpy as np
        >>> t = an.zeros(2); np.from_dlpack(t)[0] = 7.0; t
        tensor([7., 0.])
        """
        if self.requires_grad:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad; "
                               "use tensor.detach()")
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        """The DLPack device of the data: ``(1, 0)``, the CPU."""
        return self.data.__dlpack_device__()

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.dtype(np.float64), np.dtype(np.int64), np.dtype(bool)) \
                or (self.data.dtype == np.float64 and get_default_dtype() != np.float64):
            extra += f", dtype={self.data.dtype}"
        if self._op is not None:
            extra += f", grad_fn=<{self._op.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with shape {self.shape} is ambiguous")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    # ----- operators -----
    # x + y calls autonn.ops.add(x, y) directly: the forward operators are the ops functions, bound at the
    # end of this module (autonn.ops imports this one), so the per-op hot path has no wrapper frame.
    __add__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __sub__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __mul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __truediv__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __pow__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __matmul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __neg__: ClassVar[Callable[[Tensor], Tensor]]
    # x += y and friends: autonn.inplace's functions, bound there
    __iadd__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __isub__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __imul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __itruediv__: ClassVar[Callable[[Tensor, Any], Tensor]]
    def __radd__(self, o): return _ops.add(o, self)
    def __rsub__(self, o): return _ops.sub(o, self)
    def __rmul__(self, o): return _ops.mul(o, self)
    def __rtruediv__(self, o): return _ops.div(o, self)
    def __rpow__(self, o): return _ops.pow(o, self)
    def __rmatmul__(self, o): return _ops.matmul(o, self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __getitem__(self, index): return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        inplace.setitem_(self, index, value)

    def __lt__(self, o): return _ops.compare(np.less, self, o)
    def __le__(self, o): return _ops.compare(np.less_equal, self, o)
    def __gt__(self, o): return _ops.compare(np.greater, self, o)
    def __ge__(self, o): return _ops.compare(np.greater_equal, self, o)
    def __eq__(self, o): return _ops.compare(np.equal, self, o)
    def __ne__(self, o): return _ops.compare(np.not_equal, self, o)

    # ----- Python's remaining number protocols: autonn's ops -----
    def __mod__(self, o: Any) -> Tensor:
        """``t % o``: ``autonn.remainder`` (Python's sign convention, as NumPy's ``%``)."""
        return _ops.remainder(self, o)

    def __rmod__(self, o: Any) -> Tensor:
        """``o % t``: ``autonn.remainder(o, t)``."""
        return _ops.remainder(o, self)

    def __floordiv__(self, o: Any) -> Tensor:
        """``t // o``: ``autonn.floor_divide`` (zero gradient)."""
        return _ops.floor_divide(self, o)

    def __rfloordiv__(self, o: Any) -> Tensor:
        """``o // t``: ``autonn.floor_divide(o, t)``."""
        return _ops.floor_divide(o, self)

    def __divmod__(self, o: Any) -> tuple[Tensor, Tensor]:
        """``divmod(t, o)``: ``(t // o, t % o)``, as ``numpy.divmod``."""
        return _ops.floor_divide(self, o), _ops.remainder(self, o)

    def __rdivmod__(self, o: Any) -> tuple[Tensor, Tensor]:
        """``divmod(o, t)``: ``(o // t, o % t)``."""
        return _ops.floor_divide(o, self), _ops.remainder(o, self)

    def __round__(self, ndigits: int | None = None) -> Tensor:
        """``round(t, ndigits)``: ``autonn.round`` to ``ndigits`` decimals (0 if None); a Tensor,
        as ``round`` of a NumPy array gives an array."""
        return _ops.round(self, 0 if ndigits is None else ndigits)

    def __complex__(self) -> complex:
        """``complex(t)`` of a one-element tensor."""
        return complex(self.item())

    def __format__(self, spec: str) -> str:
        """``format(t, spec)``: a one-element tensor formats its value (``f"{t:.4f}"``); an empty
        spec gives ``str(t)``; any other spec of a larger tensor raises a ``TypeError``.

        >>> import autonn as an
        >>> f"{an.tensor(3.14159):.2f}"
        '3.14'
        """
        if self.data.size == 1 and spec:
            return format(self.data.item(), spec)
        if spec:
            raise TypeError(f"format: the spec {spec!r} needs a one-element tensor, this one has "
                            f"shape {self.shape}")
        return str(self)

    # ----- NumPy's protocols: the rules are in autonn._dispatch -----
    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)``: the data (see ``autonn._dispatch.to_array``: a conversion made
        inside NumPy or SciPy code raises while a gradient is recorded)."""
        return _dispatch.to_array(self, dtype, copy, sys._getframe(1))

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NEP 13: ``np.exp(t)`` runs ``autonn.exp`` and keeps the graph (``autonn._dispatch``)."""
        return _dispatch.array_ufunc(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Collection[type],
                           args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """NEP 18: ``np.sum(t)`` runs ``autonn.sum`` and keeps the graph (``autonn._dispatch``)."""
        return _dispatch.array_function(self, func, types, args, kwargs)

    # ----- methods: each is the autonn function of the same name applied to this tensor -----
    def exp(self) -> Tensor:
        """``autonn.exp(self)``."""
        return _ops.exp(self)

    def log(self) -> Tensor:
        """``autonn.log(self)``."""
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        """``autonn.sqrt(self)``."""
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        """``autonn.abs(self)``."""
        return _ops.abs(self)

    def sin(self) -> Tensor:
        """``autonn.sin(self)``."""
        return _ops.sin(self)

    def cos(self) -> Tensor:
        """``autonn.cos(self)``."""
        return _ops.cos(self)

    def tanh(self) -> Tensor:
        """``autonn.tanh(self)``."""
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        """``autonn.sigmoid(self)``."""
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        """``autonn.relu(self)``."""
        return _ops.relu(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """``autonn.leaky_relu(self, negative_slope)``."""
        return _ops.leaky_relu(self, negative_slope)

    def elu(self, alpha: float = 1.0) -> Tensor:
        """``autonn.elu(self, alpha)``."""
        return _ops.elu(self, alpha)

    def gelu(self) -> Tensor:
        """``autonn.gelu(self)``."""
        return _ops.gelu(self)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        """``autonn.softplus(self, beta, threshold)``."""
        return _ops.softplus(self, beta, threshold)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Tensor:
        """``autonn.clip(self, a_min, a_max)``."""
        return _ops.clip(self, a_min, a_max)

    def sum(self, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
            keepdim: bool = False) -> Tensor:
        """``autonn.sum(self, ...)``; ``dim``/``keepdim`` are PyTorch's spellings of ``axis``/``keepdims``."""
        return _ops.sum(self, axis, keepdims, dim, keepdim)

    def mean(self, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
             keepdim: bool = False) -> Tensor:
        """``autonn.mean(self, ...)``."""
        return _ops.mean(self, axis, keepdims, dim, keepdim)

    def max(self, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
            keepdim: bool = False) -> Tensor:
        """``autonn.max(self, ...)``."""
        return _ops.max(self, axis, keepdims, dim, keepdim)

    def min(self, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
            keepdim: bool = False) -> Tensor:
        """``autonn.min(self, ...)``."""
        return _ops.min(self, axis, keepdims, dim, keepdim)

    def var(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False, dim: Axis = None,
            keepdim: bool = False, correction: int | None = None) -> Tensor:
        """``autonn.var(self, ...)``."""
        return _ops.var(self, axis, ddof, keepdims, dim, keepdim, correction)

    def std(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False, dim: Axis = None,
            keepdim: bool = False, correction: int | None = None) -> Tensor:
        """``autonn.std(self, ...)``."""
        return _ops.std(self, axis, ddof, keepdims, dim, keepdim, correction)

    def logsumexp(self, axis: Axis = None, keepdims: bool = False, dim: Axis = None,
                  keepdim: bool = False) -> Tensor:
        """``autonn.logsumexp(self, ...)``."""
        return _ops.logsumexp(self, axis, keepdims, dim, keepdim)

    def softmax(self, axis: int = -1, dim: int | None = None) -> Tensor:
        """``autonn.softmax(self, axis)``."""
        return _ops.softmax(self, axis, dim)

    def log_softmax(self, axis: int = -1, dim: int | None = None) -> Tensor:
        """``autonn.log_softmax(self, axis)``."""
        return _ops.log_softmax(self, axis, dim)

    def argmax(self, axis: int | None = None, keepdims: bool = False, dim: int | None = None,
               keepdim: bool = False) -> Tensor:
        """``autonn.argmax(self, ...)``."""
        return _ops.argmax(self, axis, keepdims, dim, keepdim)

    def argmin(self, axis: int | None = None, keepdims: bool = False, dim: int | None = None,
               keepdim: bool = False) -> Tensor:
        """``autonn.argmin(self, ...)``."""
        return _ops.argmin(self, axis, keepdims, dim, keepdim)

    def dot(self, b: Any) -> Tensor:
        """``autonn.dot(self, b)``, NumPy's ``dot``."""
        return _ops.dot(self, b)

    def matmul(self, b: Any) -> Tensor:
        """``autonn.matmul(self, b)``, i.e. ``self @ b``."""
        return _ops.matmul(self, b)

    def maximum(self, y: Any) -> Tensor:
        """``autonn.maximum(self, y)``."""
        return _ops.maximum(self, y)

    def minimum(self, y: Any) -> Tensor:
        """``autonn.minimum(self, y)``."""
        return _ops.minimum(self, y)

    def reshape(self, *shape: Any) -> Tensor:
        """``autonn.reshape(self, *shape)``: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        return _ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """PyTorch's name for :meth:`reshape`."""
        return _ops.reshape(self, *shape)

    def permute(self, *axes: Any) -> Tensor:
        """``autonn.permute(self, *axes)``."""
        return _ops.permute(self, *axes)

    def transpose(self, *axes: Any) -> Tensor:
        """NumPy's ``a.transpose(*axes)``; two axes on a tensor of other rank swap them, as PyTorch.

        >>> import autonn as an
        >>> an.zeros((2, 3, 4)).transpose(0, 2).shape, an.zeros((2, 3)).transpose().shape
        ((4, 3, 2), (3, 2))
        """
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            return _ops.transpose(self)
        if len(axes) == 2 and self.ndim != 2:
            return _ops.swapaxes(self, *axes)
        return _ops.transpose(self, axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """``autonn.swapaxes(self, axis1, axis2)``."""
        return _ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Axis = None, dim: Axis = None) -> Tensor:
        """``autonn.squeeze(self, axis)``."""
        return _ops.squeeze(self, axis, dim)

    def unsqueeze(self, axis: int | None = None, dim: int | None = None) -> Tensor:
        """``autonn.unsqueeze(self, axis)``."""
        return _ops.unsqueeze(self, axis, dim)

    def expand(self, *shape: Any) -> Tensor:
        """``autonn.expand(self, *shape)``."""
        return _ops.expand(self, *shape)

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """``autonn.broadcast_to(self, shape)``."""
        return _ops.broadcast_to(self, shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """``autonn.flatten(self, start_dim, end_dim)``."""
        return _ops.flatten(self, start_dim, end_dim)

    def astype(self, dtype: DTypeLike) -> Tensor:
        """A copy cast to ``dtype`` (differentiable between float and complex dtypes), as NumPy's."""
        return _ops.cast(self, dtype)

    def float(self) -> Tensor:
        """Cast to float32, as PyTorch's ``.float()``."""
        return _ops.cast(self, np.float32)

    def double(self) -> Tensor:
        """Cast to float64, as PyTorch's ``.double()``."""
        return _ops.cast(self, np.float64)

    def dim(self) -> int:
        """The number of dimensions, PyTorch's name for ``ndim``."""
        return self.data.ndim

    @property
    def real(self) -> Tensor:
        """The real part, as NumPy's ``.real``."""
        return _ops.real(self)

    @property
    def imag(self) -> Tensor:
        """The imaginary part, as NumPy's ``.imag``."""
        return _ops.imag(self)

    def conj(self) -> Tensor:
        """The complex conjugate, ``autonn.conj(self)``."""
        return _ops.conj(self)

    # ----- in-place methods (autonn.inplace: version counters, PyTorch's errors) -----
    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        """``self += alpha * other`` in place; returns self."""
        return inplace.add_(self, other, alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        """``self -= alpha * other`` in place; returns self."""
        return inplace.sub_(self, other, alpha)

    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place; returns self."""
        return inplace.mul_(self, other)

    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place; returns self."""
        return inplace.div_(self, other)

    def pow_(self, exponent: Any) -> Tensor:
        """``self **= exponent`` in place; returns self."""
        return inplace.pow_(self, exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit the values to ``[min, max]`` in place; returns self."""
        return inplace.clamp_(self, min, max)

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast, cast to this dtype) into self in place; returns self."""
        return inplace.copy_(self, src)

    def fill_(self, value: Any) -> Tensor:
        """Set every entry to ``value`` in place; returns self."""
        return inplace.fill_(self, value)

    def zero_(self) -> Tensor:
        """Fill with zeros in place; returns self.

        >>> import autonn as an
        >>> an.ones(2).zero_()
        tensor([0., 0.])
        """
        return inplace.zero_(self)


TensorLike = Tensor | ArrayLike  # what the functions accept: a Tensor, or anything NumPy makes an array of


def _public_caller(default="tensor"):
    """The name of the outermost public autonn function on the call stack (the one the user
    called), for error messages; only looked up when an error is raised."""
    import sys
    name, frame = default, sys._getframe(2)
    while frame is not None:
        module = sys.modules.get(frame.f_globals.get("__name__", ""))
        if module is not None and module.__name__.startswith("autonn."):
            code = frame.f_code.co_name
            if code in getattr(module, "__all__", ()):
                name = code
            elif module.__name__ == "autonn.ops._rules" and code == "fn":  # a declared op
                name = getattr(frame.f_locals.get("op"), "public_name", name)
        frame = frame.f_back
    return name


def _to_array(data, dtype=None):
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError as e:
            raise TypeError(f"{_public_caller()}: invalid dtype {dtype!r}: {e}") from None
    if isinstance(data, np.ndarray):
        arr = data
    else:
        try:
            arr = np.asarray(data)
        except (ValueError, TypeError, OverflowError) as e:
            raise type(e)(f"{_public_caller()}: can't make a tensor from {type(data).__name__} "
                          f"data: {e}") if not isinstance(e, OverflowError) else \
                ValueError(f"{_public_caller()}: can't make a tensor from {data!r}: {e}") from None
        if dtype is None and arr.dtype in (np.float64, np.complex128) \
                and get_default_dtype() != np.float64 and not isinstance(data, np.generic):
            # Python floats and complex numbers take the default dtype (complex: its complex twin)
            default = get_default_dtype()
            dtype = default if arr.dtype.kind == "f" else np.result_type(default, np.complex64)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{_public_caller()}: can't make a tensor from data of dtype {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def as_tensor(x: Any, dtype: DTypeLike | None = None) -> Tensor:
    """``x`` as a Tensor: Tensors pass through, anything array-like is wrapped (no copy when
    possible); a list or tuple holding Tensors is stacked, differentiably.

    >>> import autonn as an
    >>> x = an.tensor(1.0, requires_grad=True)
    >>> an.as_tensor([x, x * 3]).sum().backward(); x.grad
    tensor(4.)
    """
    if isinstance(x, Tensor):
        if dtype is not None and x.dtype != dtype:
            return _ops.cast(x, dtype)
        return x
    if isinstance(x, (list, tuple)) and _holds_tensor(x):  # NumPy's sequences, keeping the graph
        return _ops.stack([as_tensor(v, dtype) for v in x])
    return Tensor._make(_to_array(x, dtype))


def _holds_tensor(seq):
    return any(isinstance(v, Tensor) or (isinstance(v, (list, tuple)) and _holds_tensor(v))
               for v in seq)


def tensor(data: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    >>> import autonn as an
    >>> an.tensor([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    if isinstance(data, Tensor):
        data = data.data
    arr = _to_array(data, dtype)
    t = Tensor._make(np.array(arr, copy=True))
    if requires_grad:
        t.requires_grad = True
    return t


class _Saving(Tensor):
    """A node made by an op whose gradient reads values (``Op.saves_values``): it holds its
    inputs' and its own arrays read-only (``autonn.saved``) until freed or collected."""
    __slots__ = ()

    def __del__(self):
        if self._parents:  # not freed by a backward: let go of the held arrays
            try:
                saved.release_node(self)
            except Exception:  # (interpreter shutdown)
                pass


_DATA_SLOT: Any = Tensor.__dict__["data"]  # the slot's descriptor, which _Stale reads around


class _Stale(Tensor):
    """A saved value changed in place since it was saved, handed to a gradient rule: its
    shape and dtype answer, reading its values raises PyTorch's error (``autonn.saved``)."""
    __slots__ = ("_error",)

    def _raise(self):
        raise self._error

    data = property(_raise, lambda self, arr: _DATA_SLOT.__set__(self, arr))
    shape = property(lambda self: _DATA_SLOT.__get__(self).shape)
    dtype = property(lambda self: _DATA_SLOT.__get__(self).dtype)
    ndim = property(lambda self: _DATA_SLOT.__get__(self).ndim)
    size = property(lambda self: _DATA_SLOT.__get__(self).size)


from . import (  # noqa: E402  (both import Tensor from this module)
    inplace,
    ops as _ops,
)

# The forward operators are the ops themselves (declared in the class): no wrapper frame per op
Tensor.__add__, Tensor.__sub__, Tensor.__mul__ = _ops.add, _ops.sub, _ops.mul
Tensor.__truediv__, Tensor.__pow__, Tensor.__matmul__ = _ops.div, _ops.pow, _ops.matmul
Tensor.__neg__ = _ops.neg

from . import _dispatch  # noqa: E402  (the rules of NumPy's protocols; it imports Tensor from here)

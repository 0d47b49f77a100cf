"""In-place Tensor methods: ``add_ sub_ mul_ div_ pow_ clamp_ copy_ zero_ fill_``, the augmented
operators ``+= -= *= /=`` and ``t[index] = v``, differentiable as PyTorch's.

Each writes into the tensor's array and bumps its version (``autonn.saved``). With grad mode
on and a graph involved (the tensor or the value requires grad), the tensor is *rebased*:
the out-of-place op computes the new value from an alias of the old tensor, and the tensor
object becomes that op's node, so the gradient reaches the value and the old tensor's entries
that were kept. A leaf that requires grad may only be changed with grad mode off (as optimizers
do), as in PyTorch.
"""
import numpy as np

from . import engine, saved
from .ops import base as _base, elementwise as _ew
from .ops._rules import LinearOp
from .ops.index import SetItem, index_to_numpy
from .tensor import Tensor, _creation, _Saving


class _Snapshot(LinearOp):
    """A copy of the old value for an in-place op whose own rule reads it (as PyTorch's
    ``original_self``); the gradient passes through."""
    __slots__ = ()

    def forward(self, x):
        return np.array(x, copy=True)

    def vjp(self, g, out, x):
        return g

    def vjp_arrays(self, g, out, x):
        return g


class _Rebased(_Snapshot):
    """The node of a tensor changed in place: the in-place op's result, passed through (a copy:
    the result keeps its own array, which later in-place changes of the tensor don't touch).
    Named after the in-place op."""
    __slots__ = ("op_name",)

    def __init__(self, op_name):
        self.op_name = op_name

    @property
    def name(self):
        return self.op_name


def _graph_involved(self, args):
    return self._requires_grad or any(a.__class__ is not float and isinstance(a, Tensor)
                                      and a._requires_grad for a in args)


def _inplace(self, name, compute, args, needs_old=False, casting="same_kind", direct=None):
    """Run ``compute(old, *args)`` (out-of-place ops) and make ``self`` hold the result.
    Without a graph, ``direct(array, *args)`` (when given) writes the array itself."""
    state = engine._state
    if not (state.enabled and _graph_involved(self, args)):
        if direct is not None:
            with saved.unlocked(self) as a:
                try:
                    direct(a, *args)
                except ValueError as e:  # NumPy's message, with the op's name
                    raise ValueError(f"{name}: {e} (the tensor has shape {self.shape})") from None
            return self
        prev, state.enabled = state.enabled, False
        try:
            result = compute(self, *args)
        finally:
            state.enabled = prev
        _write(self, result.data, name, casting)
        return self
    if self._op is None and self._requires_grad:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad (shape {self.shape}) is being used in an "
            "in-place operation while grad mode is on; update it inside `with an.no_grad():` "
            "(as optimizers do), or change a copy")
    # the old node moves to an alias that shares the memory; nodes made before now reach it
    alias = Tensor._make(self.data, self._op, self._parents)
    alias._requires_grad, alias._seq, alias._trace = self._requires_grad, self._seq, self._trace
    src = _base.apply(_Snapshot(), alias) if needs_old else alias
    result = compute(src, *args)
    if result.data.dtype != self.data.dtype:
        _check_cast(name, result.data.dtype, self.data.dtype, casting)
        result = _ew.cast(result, self.data.dtype)
    _check_shape(name, result.data.shape, self.data.shape)  # (before anything changes)
    if self.__class__ is _Saving:  # the node holds its inputs and output: so does the alias
        alias.__class__ = _Saving
        saved.move_node_hold(self, alias)
    _write(self, result.data, name, casting)
    stamp = saved.last_stamp
    if result._op is None:  # nothing upstream requires grad any more
        self._op, self._parents, self._requires_grad = None, (), False
    else:  # the op's node keeps its own output array: later changes of self don't reach it
        self._op, self._parents, self._requires_grad = _Rebased(result._op.name), (result,), True
    self._trace = result._trace
    self._seq = next(_creation)  # newer than the change: this node saw the new value
    if self.__class__ is _Saving:
        self.__class__ = Tensor  # (its holds went to the alias)
    history = getattr(self, "_history", None)  # (unset until a first rebase)
    if history is None:
        history = self._history = []
    history.append((stamp, alias))
    return self


def _check_cast(name, src, dst, casting):
    if not np.can_cast(src, dst, casting=casting):
        raise RuntimeError(f"{name}: result type {src} can't be cast to the desired output "
                           f"type {dst} of the tensor changed in place")


def _check_shape(name, got, shape):
    if got != shape:
        raise RuntimeError(
            f"{name}: the result has shape {got}, which doesn't match the shape {shape} of "
            "the tensor changed in place (an in-place op can't broadcast the tensor itself)")


def _write(self, arr, name, casting):
    _check_shape(name, arr.shape, self.data.shape)
    if arr.dtype != self.data.dtype:
        _check_cast(name, arr.dtype, self.data.dtype, casting)
    with saved.unlocked(self) as a:
        np.copyto(a, arr, casting="unsafe")


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


def add_(self, other, alpha=1):
    """``self += alpha * other`` in place; returns self.

    >>> import autonn as an
    >>> t = an.ones(2); t.add_(an.tensor([1.0, 2.0]), alpha=2)
    tensor([3., 5.])
    """
    return _inplace(self, "add_", lambda x, o: x + _scaled(o, alpha), (other,))


def sub_(self, other, alpha=1):
    """``self -= alpha * other`` in place; returns self.

    >>> import autonn as an
    >>> an.ones(2).sub_(0.5)
    tensor([0.5, 0.5])
    """
    return _inplace(self, "sub_", lambda x, o: x - _scaled(o, alpha), (other,))


def _needs_old(other):
    return isinstance(other, Tensor) or not isinstance(other, (int, float))


def mul_(self, other):
    """``self *= other`` in place; returns self.

    >>> import autonn as an
    >>> an.ones(2).mul_(3)
    tensor([3., 3.])
    """
    return _inplace(self, "mul_", _ew.mul, (other,), needs_old=_needs_old(other))


def div_(self, other):
    """``self /= other`` in place; returns self.

    >>> import autonn as an
    >>> an.ones(2).div_(4)
    tensor([0.25, 0.25])
    """
    return _inplace(self, "div_", _ew.div, (other,), needs_old=_needs_old(other))


def pow_(self, exponent):
    """``self **= exponent`` in place; returns self.

    >>> import autonn as an
    >>> an.tensor([2.0, 3.0]).pow_(2)
    tensor([4., 9.])
    """
    return _inplace(self, "pow_", _ew.pow, (exponent,), needs_old=True)


def clamp_(self, min=None, max=None):
    """Limit the values to ``[min, max]`` in place; returns self.

    >>> import autonn as an
    >>> an.tensor([-1.0, 0.5, 2.0]).clamp_(min=0, max=1)
    tensor([0. , 0.5, 1. ])
    """
    return _inplace(self, "clamp_", lambda x: _ew.clip(x, min, max), (), needs_old=True)


def _assign(index):
    def compute(x, v):
        return _base.apply(SetItem(index), x, _base.lift(v, x))
    return compute


def _put(index):
    def direct(a, v):
        a[index] = v.data if isinstance(v, Tensor) else v
    return direct


def setitem_(self, index, value):
    """``self[index] = value`` (``Tensor.__setitem__``): the gradient goes to ``value`` and to
    the entries of ``self`` that were kept.

    >>> import autonn as an
    >>> t = an.zeros(3); t[1] = 5; t
    tensor([0., 5., 0.])
    """
    index = index_to_numpy(index)
    return _inplace(self, "setitem", _assign(index), (value,), casting="unsafe",
                    direct=_put(index))


def copy_(self, src):
    """Copy ``src`` (broadcast, cast to this dtype) into self in place; returns self.

    >>> import autonn as an
    >>> an.zeros((2, 2)).copy_(an.tensor([1.0, 2.0]))
    tensor([[1., 2.],
            [1., 2.]])
    """
    return _inplace(self, "copy_", _assign(Ellipsis), (src,), casting="unsafe",
                    direct=_put(Ellipsis))


def overwrite(tensor, value):
    """Write ``value`` (an array, number or Tensor; broadcast and cast to the tensor's dtype) into
    ``tensor`` in place with grad mode off, as ``torch.nn.init``, ``load_state_dict`` and
    BatchNorm's running statistics do: the same tensor object, its version bumped, so a backward
    that needs the value a graph saved before raises PyTorch's error. The one way autonn's
    library writes parameters and buffers (even while a graph holds them read-only).

    >>> import autonn as an
    >>> w = an.ones(2, requires_grad=True); y = (w * w).sum()
    >>> overwrite(w, [3.0, 4.0])
    tensor([3., 4.], requires_grad=True)
    >>> try:
    ...     y.backward()
    ... except RuntimeError as e:
    ...     print(str(e)[:70])
    one of the variables needed for gradient computation has been modified
    """
    with engine.no_grad():
        return copy_(tensor, value)


def fill_(self, value):
    """Set every entry to ``value`` in place; returns self.

    >>> import autonn as an
    >>> an.zeros(2).fill_(7)
    tensor([7., 7.])
    """
    return _inplace(self, "fill_", _assign(Ellipsis), (value,), casting="unsafe",
                    direct=_put(Ellipsis))


def zero_(self):
    """Fill with zeros in place; returns self.

    >>> import autonn as an
    >>> an.ones(2).zero_()
    tensor([0., 0.])
    """
    return _inplace(self, "zero_", _assign(Ellipsis), (0,), casting="unsafe",
                    direct=_put(Ellipsis))


def _iadd(self, other):
    return add_(self, other)


def _isub(self, other):
    return sub_(self, other)


def _imul(self, other):
    return mul_(self, other)


def _idiv(self, other):
    return div_(self, other)


# (the methods add_, sub_, ... are written out in Tensor and call these functions)
Tensor.__iadd__, Tensor.__isub__, Tensor.__imul__, Tensor.__itruediv__ = _iadd, _isub, _imul, _idiv

"""Discrete Fourier transforms (``numpy.fft``'s functions and signatures), differentiable.

Every transform is linear, so its jvp is the transform of the tangent. The vjps, in HIPS
autograd's and JAX's convention (the cotangent through the Jacobian, unconjugated):

* complex transforms (``fftn``/``ifftn`` and their 1-D and 2-D forms): the DFT matrix is
  symmetric, so the vjp is the same transform of the cotangent, cut or zero-padded back to the
  input's length where ``n``/``s`` changed it;
* ``rfftn`` keeps the first ``n//2 + 1`` outputs of a complex DFT of a real input: its vjp is
  the real part of the full complex transform of the cotangent zero-extended to ``n``;
* ``irfftn`` reads ``n//2 + 1`` inputs as a Hermitian half spectrum: its vjp is the inverse
  transform of the cotangent, cut to ``n//2 + 1``, with the mirrored bins counted twice.

Unlike HIPS autograd, odd lengths are supported, and so are repeated ``n``/``s``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..tensor import Tensor, TensorLike, as_tensor
from ._rules import LinearOp
from .base import apply, const
from .complex_parts import real
from .index import getitem
from .shape import pad

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "fftshift", "ifftshift"]

_NORMS = (None, "backward", "ortho", "forward")


class FFT(LinearOp):
    """One of ``fftn``, ``ifftn``, ``rfftn``, ``irfftn`` with every length resolved."""
    __slots__ = ("kind", "s", "axes", "norm")

    def __init__(self, kind, s, axes, norm):
        self.kind, self.s, self.axes, self.norm = kind, s, axes, norm

    @property
    def name(self):
        return self.kind

    def forward(self, x):
        return getattr(np.fft, self.kind)(x, s=self.s, axes=self.axes, norm=self.norm)

    def vjp(self, g, out, x):
        kind, s, axes, norm = self.kind, self.s, self.axes, self.norm
        last = axes[-1]
        if kind in ("fftn", "ifftn"):
            gx = apply(FFT(kind, s, axes, norm), g)
        elif kind == "rfftn":  # zero-extend the half spectrum to n, take the real part
            full = _fit(g, _with(g.shape, last, s[-1]), (last,))
            gx = real(apply(FFT("fftn", s, axes, norm), full))
        else:  # irfftn
            half = s[-1] // 2 + 1
            spectrum = apply(FFT("ifftn", s, axes, norm), g)
            gx = getitem(spectrum, _cut(g.ndim, last, half)) * const(_mirror_weights(s[-1], g.ndim, last))
        return _fit(gx, x.shape, axes)


def _with(shape, axis, n):
    return shape[:axis] + (n,) + shape[axis + 1:]


def _cut(ndim, axis, n):
    return (slice(None),) * axis + (slice(0, n),) + (slice(None),) * (ndim - axis - 1)


def _fit(t, shape, axes):
    """``t`` cut or zero-padded along ``axes`` to ``shape`` (as NumPy does to an input whose
    length differs from ``n``), differentiably."""
    for a in axes:
        have, want = t.shape[a], shape[a]
        if have > want:
            t = getitem(t, _cut(t.ndim, a, want))
        elif have < want:
            width = [(0, 0)] * t.ndim
            width[a] = (0, want - have)
            t = pad(t, width)
    return t


def _mirror_weights(n, ndim, axis):
    """2 for the bins of a half spectrum that stand for two bins of the full one, else 1."""
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.reshape((-1,) + (1,) * (ndim - axis - 1))


def _resolve(fn, x, s, axes, kind, one_d=False):
    """Check the arguments as NumPy does and resolve ``s`` and ``axes`` to full tuples."""
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    try:
        axes = tuple(int(a) for a in np.atleast_1d(axes))
    except TypeError:
        raise TypeError(f"fft.{fn}: axes must be integers, got {axes!r}") from None
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"fft.{fn}: axis {a} is out of bounds for an input of shape {x.shape}")
    axes = tuple(a % x.ndim for a in axes)
    if not axes:
        raise ValueError(f"fft.{fn}: no axes to transform for an input of shape {x.shape}")
    if len(set(axes)) != len(axes) and kind in ("rfftn", "irfftn"):
        raise ValueError(f"fft.{fn}: repeated axes {axes} are not supported by the real transforms")
    if s is None:
        s = [x.shape[a] for a in axes]
        if kind == "irfftn":
            s[-1] = 2 * (x.shape[axes[-1]] - 1)
    else:
        s = list(np.atleast_1d(s))
        if len(s) != len(axes):
            raise ValueError(f"fft.{fn}: s {tuple(s)} and axes {axes} have different lengths")
        for i, (n, a) in enumerate(zip(s, axes)):
            if n is None or n == -1:
                s[i] = x.shape[a] if not (kind == "irfftn" and i == len(s) - 1) \
                    else 2 * (x.shape[a] - 1)
            elif not isinstance(n, (int, np.integer)) or isinstance(n, bool):
                raise TypeError(f"fft.{fn}: {'n' if one_d else 's'} must hold integers, got {n!r}")
    s = tuple(int(n) for n in s)
    for n in s:
        if n < 1:
            raise ValueError(f"fft.{fn}: invalid number of data points ({n}); it must be >= 1")
    return s, axes


def _transform(fn, kind, x, s, axes, norm, one_d=False):
    x = as_tensor(x)
    if norm not in _NORMS:
        raise ValueError(f"fft.{fn}: norm must be one of 'backward', 'ortho', 'forward' or None, "
                         f"got {norm!r}")
    if x.ndim == 0:
        raise ValueError(f"fft.{fn}: the input must have at least one dimension")
    s, axes = _resolve(fn, x, s, axes, kind, one_d)
    if kind == "rfftn" and x.dtype.kind == "c":
        raise TypeError(f"fft.{fn}: the input is complex ({x.dtype}); rfft transforms real "
                        "input (use fft, or pass an.real(x))")
    if x.dtype.kind not in "fc":
        x = x.astype(np.result_type(x.dtype, np.float64))
    return apply(FFT(kind, s, axes, norm), x)


def fft(a: TensorLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Tensor:
    """1-D discrete Fourier transform (NumPy's ``fft.fft``).

    >>> import autonn as an
    >>> an.fft.fft(an.tensor([1.0, 0.0, 0.0, 0.0]))
    tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j], dtype=complex128)
    """
    return _transform("fft", "fftn", a, None if n is None else (n,), (axis,), norm, True)


def ifft(a: TensorLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Tensor:
    """1-D inverse discrete Fourier transform (NumPy's ``fft.ifft``).

    >>> import autonn as an
    >>> an.fft.ifft(an.fft.fft(an.tensor([1.0, 2.0]))).real
    tensor([1., 2.])
    """
    return _transform("ifft", "ifftn", a, None if n is None else (n,), (axis,), norm, True)


def fft2(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None) -> Tensor:
    """2-D discrete Fourier transform over ``axes`` (NumPy's ``fft.fft2``).

    >>> import autonn as an
    >>> an.fft.fft2(an.ones((2, 2)))
    tensor([[4.+0.j, 0.+0.j],
            [0.+0.j, 0.+0.j]], dtype=complex128)
    """
    return _transform("fft2", "fftn", a, s, axes, norm)


def ifft2(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    """2-D inverse discrete Fourier transform (NumPy's ``fft.ifft2``).

    >>> import autonn as an
    >>> an.fft.ifft2(an.fft.fft2(an.ones((2, 2)))).real
    tensor([[1., 1.],
            [1., 1.]])
    """
    return _transform("ifft2", "ifftn", a, s, axes, norm)


def fftn(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None) -> Tensor:
    """N-D discrete Fourier transform (NumPy's ``fft.fftn``; all axes by default).

    >>> import autonn as an
    >>> an.fft.fftn(an.ones((1, 2, 2))).shape
    (1, 2, 2)
    """
    return _transform("fftn", "fftn", a, s, axes, norm)


def ifftn(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """N-D inverse discrete Fourier transform (NumPy's ``fft.ifftn``).

    >>> import autonn as an
    >>> an.fft.ifftn(an.fft.fftn(an.ones((2, 2)))).real
    tensor([[1., 1.],
            [1., 1.]])
    """
    return _transform("ifftn", "ifftn", a, s, axes, norm)


def rfft(a: TensorLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Tensor:
    """1-D transform of a real input, the ``n//2 + 1`` non-negative frequencies (``fft.rfft``).

    >>> import autonn as an
    >>> an.fft.rfft(an.tensor([1.0, 1.0, 1.0]))
    tensor([3.+0.j, 0.+0.j], dtype=complex128)
    """
    return _transform("rfft", "rfftn", a, None if n is None else (n,), (axis,), norm, True)


def irfft(a: TensorLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of ``rfft``: a real output of length ``n`` (default ``2 * (m - 1)``).

    >>> import autonn as an
    >>> an.fft.irfft(an.fft.rfft(an.tensor([1.0, 2.0, 3.0])), n=3)
    tensor([1., 2., 3.])
    """
    return _transform("irfft", "irfftn", a, None if n is None else (n,), (axis,), norm, True)


def rfft2(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    """2-D transform of a real input (NumPy's ``fft.rfft2``).

    >>> import autonn as an
    >>> an.fft.rfft2(an.ones((2, 4))).shape
    (2, 3)
    """
    return _transform("rfft2", "rfftn", a, s, axes, norm)


def irfft2(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Tensor:
    """The inverse of ``rfft2`` (NumPy's ``fft.irfft2``).

    >>> import autonn as an
    >>> an.fft.irfft2(an.fft.rfft2(an.ones((2, 4)))).shape
    (2, 4)
    """
    return _transform("irfft2", "irfftn", a, s, axes, norm)


def rfftn(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """N-D transform of a real input (NumPy's ``fft.rfftn``).

    >>> import autonn as an
    >>> an.fft.rfftn(an.ones((2, 2, 4))).shape
    (2, 2, 3)
    """
    return _transform("rfftn", "rfftn", a, s, axes, norm)


def irfftn(a: TensorLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None) -> Tensor:
    """The inverse of ``rfftn`` (NumPy's ``fft.irfftn``).

    >>> import autonn as an
    >>> an.fft.irfftn(an.fft.rfftn(an.ones((2, 4)))).shape
    (2, 4)
    """
    return _transform("irfftn", "irfftn", a, s, axes, norm)


class Roll(LinearOp):
    """``np.roll`` by fixed shifts: a permutation, whose vjp rolls back."""
    __slots__ = ("shift", "axes")

    def __init__(self, shift, axes):
        self.shift, self.axes = shift, axes

    def forward(self, x):
        return np.roll(x, self.shift, self.axes)

    def vjp(self, g, out, x):
        return apply(Roll(tuple(-k for k in self.shift), self.axes), g)


def _shift(fn, x, axes, inverse):
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    axes = tuple(int(a) for a in np.atleast_1d(axes))
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"fft.{fn}: axis {a} is out of bounds for an input of shape {x.shape}")
    shifts = tuple((-(x.shape[a] // 2)) if inverse else x.shape[a] // 2 for a in axes)
    return apply(Roll(shifts, axes), x)


def fftshift(x: TensorLike, axes: int | Sequence[int] | None = None) -> Tensor:
    """Move the zero frequency to the centre (NumPy's ``fft.fftshift``).

    >>> import autonn as an
    >>> an.fft.fftshift(an.tensor([0.0, 1.0, 2.0, -2.0, -1.0]))
    tensor([-2., -1.,  0.,  1.,  2.])
    """
    return _shift("fftshift", x, axes, False)


def ifftshift(x: TensorLike, axes: int | Sequence[int] | None = None) -> Tensor:
    """The inverse of ``fftshift`` (NumPy's ``fft.ifftshift``).

    >>> import autonn as an
    >>> an.fft.ifftshift(an.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]))
    tensor([ 0.,  1.,  2., -2., -1.])
    """
    return _shift("ifftshift", x, axes, True)

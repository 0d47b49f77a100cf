"""Complex inputs and outputs as pairs of real ones.

A complex array of shape ``S`` is checked as the real array of shape ``S + (2,)`` that holds its
real parts at ``[..., 0]`` and its imaginary parts at ``[..., 1]`` (NumPy's memory layout of a
complex array, so the finite differences perturb a real *view* of the working copy in place).
Every element of the real Jacobian d(Re out, Im out) / d(Re in, Im in) is compared.

The analytic side, in autonn's convention (HIPS autograd's and JAX's). A jvp maps the tangent
``dz = dx + i dy`` to ``dw = du + i dv``, so the column of ``Re z_i`` is the tangent pushed from
``e_i`` and the column of ``Im z_i`` the one pushed from ``i e_i``; its real and imaginary parts
are the rows of ``Re w`` and ``Im w``. A vjp maps the cotangent of ``w``, ``dL/du - i dL/dv``, to
that of ``z``, ``dL/dx - i dL/dy``, through the Jacobian without conjugation: the cotangent
``e_j`` (``L = Re w_j``) gives the row of ``Re w_j`` as ``(Re g, -Im g)`` over ``(x, y)``, and
``-i e_j`` (``L = Im w_j``) gives the row of ``Im w_j`` the same way. (PyTorch's vjp returns the
conjugate, ``dL/dx + i dL/dy``, and its gradcheck reads its rows as ``(Re g, Im g)``.) A real
input's gradient is already real (the engine keeps the real part); a real output has only the row
of its real part, but a jvp that gives it an imaginary tangent is wrong and is reported as such.
"""
import numpy as np

PARTS = ("real", "imag")
WORDS = {"real": "real part", "imag": "imaginary part"}


def is_complex(dtype):
    return np.dtype(dtype).kind == "c"


def real_dtype(dtype):
    """float32 for complex64, float64 for complex128, longdouble for clongdouble; else itself."""
    dtype = np.dtype(dtype)
    return np.finfo(dtype).dtype if dtype.kind == "c" else dtype


def working_dtype(real, like):
    """The dtype to evaluate an input of dtype ``like`` in, at the precision of ``real``."""
    real = real_dtype(real)
    return np.result_type(real, np.complex64) if is_complex(like) else real


def real_shape(shape, dtype):
    """The shape of the real view: ``shape + (2,)`` for a complex dtype."""
    return tuple(shape) + (2,) if is_complex(dtype) else tuple(shape)


def real_size(shape, dtype):
    return int(np.prod(shape, dtype=np.int64)) * (2 if is_complex(dtype) else 1)


def real_view(w):
    """A real array sharing memory with the C-contiguous array ``w``: writing to it perturbs the
    real and imaginary parts of ``w`` (``w`` itself when it is real)."""
    if not is_complex(w.dtype):
        return w
    return w.reshape(-1).view(real_dtype(w.dtype)).reshape(w.shape + (2,))


def flat_real(a, acc):
    """Array ``a`` as a flat real vector in ``acc`` (a complex one interleaved: re, im, re, ...)."""
    a = np.asarray(a)
    if not is_complex(a.dtype):
        return np.asarray(a, dtype=acc).ravel()
    out = np.empty(a.shape + (2,), dtype=acc)
    out[..., 0], out[..., 1] = a.real, a.imag
    return out.ravel()


def gradient_row(g, x_dtype, acc):
    """A vjp's result for an input of dtype ``x_dtype`` as a flat real row: ``(Re g, -Im g)``
    interleaved for a complex input (the convention's ``dL/dx - i dL/dy``), ``g`` for a real one."""
    g = np.asarray(g)
    if not is_complex(x_dtype):
        return np.asarray(g.real if is_complex(g.dtype) else g, dtype=acc).ravel()
    return flat_real(np.conj(g.astype(np.result_type(g.dtype, np.complex64))), acc)


def cotangent(v, out_dtype):
    """The cotangent of an output of dtype ``out_dtype`` that selects the real combination ``v``
    (shaped as its real view) of its rows: ``a - i b`` for ``v = (a, b)``; ``v`` for a real one."""
    v = np.asarray(v)
    if not is_complex(out_dtype):
        return v.astype(out_dtype)
    return (v[..., 0] - 1j * v[..., 1]).astype(out_dtype)


def tangent(d, x_dtype):
    """The tangent of an input of dtype ``x_dtype`` for the real direction ``d`` (shaped as its
    real view): ``a + i b`` for ``d = (a, b)``; ``d`` for a real one."""
    d = np.asarray(d)
    if not is_complex(x_dtype):
        return d.astype(x_dtype)
    return (d[..., 0] + 1j * d[..., 1]).astype(x_dtype)


def tangent_rows(t, out_dtype, acc):
    """A jvp's result for an output of dtype ``out_dtype``: (the flat real column, the stray
    imaginary part of a real output's tangent as a flat array, or None)."""
    t = np.asarray(t)
    if is_complex(out_dtype) or not is_complex(t.dtype):
        return flat_real(t.astype(out_dtype) if is_complex(out_dtype) else t, acc), None
    return np.asarray(t.real, dtype=acc).ravel(), np.asarray(t.imag, dtype=acc).ravel()


def split_index(flat, shape, dtype):
    """A flat index into the real view: (multi-index into the array, 'real'/'imag' or None)."""
    idx = tuple(int(v) for v in np.unravel_index(int(flat), real_shape(shape, dtype)))
    if not is_complex(dtype):
        return idx, None
    return idx[:-1], PARTS[idx[-1]]


def part_indices(shape, dtype):
    """[(part, indices of that part's elements in the flat real view)]: one entry (part None)
    for a real dtype, two ('real', 'imag') for a complex one."""
    n = int(np.prod(shape, dtype=np.int64))
    if not is_complex(dtype):
        return [(None, np.arange(n))]
    return [(part, 2 * np.arange(n) + j) for j, part in enumerate(PARTS)]


def label(name, part):
    """``input 0`` or ``input 0 (imaginary part)``."""
    return name if part is None else f"{name} ({WORDS[part]})"

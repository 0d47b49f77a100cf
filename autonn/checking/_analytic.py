"""The analytic side: Jacobians from reverse mode (one backward per output element) and forward
mode (one tangent push per input element), and their random projections for fast mode.

Complex inputs and outputs are laid out as their real views (``_parts``): a complex output has a
row for the real and one for the imaginary part of each element, a complex input a column for
each part; the cotangents and tangents that produce them follow autonn's convention (see
``_parts``)."""
import numpy as np

from .. import engine
from ..func import _push_tangents
from ..tensor import Tensor
from ._parts import (
    cotangent,
    gradient_row,
    real_shape,
    real_size,
    tangent,
    tangent_rows,
)


def _grads(out, xs, g):
    if not out.requires_grad:
        return [None] * len(xs)
    return engine.grad(out, xs, Tensor._make(g), retain_graph=True, allow_unused=True)


def _size(t):
    return real_size(t.shape, t.dtype)


def reverse_jacobian(outputs, xs, acc):
    """``blocks[k][p]``: d outputs[k] / d xs[p] as an (outputs[k].size, xs[p].size) array (sizes
    of the real views: a complex output's rows and a complex input's columns come in pairs)."""
    blocks = []
    for out in outputs:
        m = _size(out)
        rows = [np.zeros((m, _size(x)), dtype=acc) for x in xs]
        e = np.zeros(m, dtype=acc)
        for j in range(m):
            e[:] = 0
            e[j] = 1
            g_out = cotangent(e.reshape(real_shape(out.shape, out.dtype)), out.dtype)
            for p, g in enumerate(_grads(out, xs, g_out)):
                if g is not None:
                    rows[p][j] = gradient_row(g.data, xs[p].dtype, acc)
        blocks.append(rows)
    return blocks


def reverse_projection(outputs, xs, vs, acc):
    """``rows[k][p] = v_k^T d outputs[k] / d xs[p]`` (shaped as the real view of xs[p]; ``v_k``
    shaped as that of outputs[k]), one backward per output."""
    rows = []
    for out, v in zip(outputs, vs):
        gs = _grads(out, xs, cotangent(v, out.dtype))
        rows.append([np.zeros(real_shape(x.shape, x.dtype), dtype=acc) if g is None else
                     gradient_row(g.data, x.dtype, acc).reshape(real_shape(x.shape, x.dtype))
                     for g, x in zip(gs, xs)])
    return rows


def _push(outputs, xs, tangents):
    uniq, tans, seen = [], [], {}
    for x, t in zip(xs, tangents):  # the same Tensor passed twice gets one tangent
        if id(x) in seen:
            if t is not None:
                tans[seen[id(x)]] = t
            continue
        seen[id(x)] = len(uniq)
        uniq.append(x)
        tans.append(t)
    with engine.enable_grad():
        return [None if not out.requires_grad else _push_tangents(out, uniq, tans)
                for out in outputs]


def forward_jacobian(outputs, xs, acc):
    """``(blocks, stray)``: ``blocks`` in the layout of ``reverse_jacobian``, column by column
    with forward-mode tangents; ``stray[k][p]``: the imaginary part of the tangents of a real
    output ``k`` (an (outputs[k].size, xs[p] real size) array) when a jvp made it complex, else
    None (it should be zero: a real output has no imaginary direction)."""
    blocks = [[np.zeros((_size(out), _size(x)), dtype=acc) for x in xs] for out in outputs]
    stray = [[None] * len(xs) for _ in outputs]
    for p, x in enumerate(xs):
        e = np.zeros(_size(x), dtype=acc)
        for i in range(e.size):
            e[:] = 0
            e[i] = 1
            tangents = [None] * len(xs)
            tangents[p] = Tensor._make(tangent(e.reshape(real_shape(x.shape, x.dtype)), x.dtype))
            for k, t in enumerate(_push(outputs, xs, tangents)):
                if t is not None:
                    col, imag = tangent_rows(t.data, outputs[k].dtype, acc)
                    blocks[k][p][:, i] = col
                    if imag is not None:
                        if stray[k][p] is None:
                            stray[k][p] = np.zeros((outputs[k].size, e.size), dtype=acc)
                        stray[k][p][:, i] = imag
    return blocks, stray


def forward_directional(outputs, xs, p, direction, acc):
    """``J_k d`` for every output k, with tangent ``direction`` (shaped as the real view of
    xs[p]) on xs[p]: ``(columns, strays)``, flat arrays, and the imaginary parts of real outputs'
    tangents (None where the tangent is real, as it should be)."""
    tangents = [None] * len(xs)
    tangents[p] = Tensor._make(tangent(direction, xs[p].dtype))
    res = _push(outputs, xs, tangents)
    cols, strays = [], []
    for out, t in zip(outputs, res):
        col, imag = (np.zeros(_size(out), dtype=acc), None) if t is None else \
            tangent_rows(t.data, out.dtype, acc)
        cols.append(col)
        strays.append(imag)
    return cols, strays


def max_difference(first, second):
    """Largest absolute difference between two nested lists of arrays (for the nondet check)."""
    worst = 0.0
    for a, b in zip(first, second):
        for x, y in zip(a, b):
            if x.size:
                with np.errstate(invalid="ignore"):  # inf - inf: the same infinity twice
                    d = np.abs(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64))
                same = (np.asarray(x) == np.asarray(y)) | (np.isnan(x) & np.isnan(y))
                d = np.where(same, 0.0, np.where(np.isnan(d), np.inf, d))
                worst = max(worst, float(d.max()))
    return worst

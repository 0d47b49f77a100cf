"""The analytic side: Jacobians from reverse mode (one backward per output element) and forward
mode (one tangent push per input element), and their random projections for fast mode."""
import numpy as np

from .. import engine
from ..func import _push_tangents
from ..tensor import Tensor


def _grads(out, xs, g):
    if not out.requires_grad:
        return [None] * len(xs)
    return engine.grad(out, xs, Tensor._make(g), retain_graph=True, allow_unused=True)


def reverse_jacobian(outputs, xs, acc):
    """``blocks[k][p]``: d outputs[k] / d xs[p] as an (outputs[k].size, xs[p].size) array."""
    blocks = []
    for out in outputs:
        rows = [np.zeros((out.size, x.size), dtype=acc) for x in xs]
        e = np.zeros(out.size, dtype=out.dtype)
        for j in range(out.size):
            e[:] = 0
            e[j] = 1
            for p, g in enumerate(_grads(out, xs, e.reshape(out.shape))):
                if g is not None:
                    rows[p][j] = np.asarray(g.data, dtype=acc).ravel()
        blocks.append(rows)
    return blocks


def reverse_projection(outputs, xs, vs, acc):
    """``rows[k][p] = v_k^T d outputs[k] / d xs[p]`` (shaped as xs[p]), one backward per output."""
    rows = []
    for out, v in zip(outputs, vs):
        gs = _grads(out, xs, np.asarray(v, dtype=out.dtype))
        rows.append([np.zeros(x.shape, dtype=acc) if g is None else np.asarray(g.data, dtype=acc)
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
    """Same layout as ``reverse_jacobian``, column by column with forward-mode tangents."""
    blocks = [[np.zeros((out.size, x.size), dtype=acc) for x in xs] for out in outputs]
    for p, x in enumerate(xs):
        e = np.zeros(x.size, dtype=x.dtype)
        for i in range(x.size):
            e[:] = 0
            e[i] = 1
            tangents = [None] * len(xs)
            tangents[p] = Tensor._make(e.reshape(x.shape).copy())
            for k, t in enumerate(_push(outputs, xs, tangents)):
                if t is not None:
                    blocks[k][p][:, i] = np.asarray(t.data, dtype=acc).ravel()
    return blocks


def forward_directional(outputs, xs, p, direction, acc):
    """``J_k d`` for every output k, with tangent ``direction`` on xs[p]: flat arrays."""
    tangents = [None] * len(xs)
    tangents[p] = Tensor._make(np.asarray(direction, dtype=xs[p].dtype))
    res = _push(outputs, xs, tangents)
    return [np.zeros(out.size, dtype=acc) if t is None else np.asarray(t.data, dtype=acc).ravel()
            for out, t in zip(outputs, res)]


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

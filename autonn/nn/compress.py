"""``compress(model)``: fold every run of affine layers into a single ``Linear``.

A run is a maximal sequence of layers with no non-linearity between them: ``Linear``,
``Identity``, ``Dropout`` in eval mode (or with ``p=0``) and ``BatchNorm1d`` in eval mode with
running statistics. In the row-vector convention, a run ``x -> x W1 + b1 -> ... -> x Wk + bk``
is the single affine map with ``W = W1 W2 ... Wk`` and
``b = b1 W2 ... Wk + b2 W3 ... Wk + ... + bk``;
an eval-mode BatchNorm1d is the affine map ``diag(s)``, ``beta - running_mean * s`` with
``s = gamma / sqrt(running_var + eps)``.
"""
import copy

import numpy as np

from .container import Sequential
from .dropout import Dropout
from .linear import Identity, Linear
from .module import Module
from .normalization import BatchNorm1d

__all__ = ["compress"]


def _leaves(model):
    """The layers of ``model`` in order, nested Sequentials flattened."""
    if type(model) is Sequential:
        out = []
        for m in model:
            out.extend(_leaves(m))
        return out
    return [model]


def _affine(m):
    """``(W, b)`` of an affine layer (``b`` may be None), ``"id"`` for an identity, else None."""
    t = type(m)
    if t is Linear:
        return m.weight.data, None if m.bias is None else m.bias.data
    if t is Identity:
        return "id"
    if t is Dropout and (not m.training or m.p == 0.0):
        return "id"
    if t is BatchNorm1d and not m.training and m.track_running_stats:
        s = 1.0 / np.sqrt(m.running_var.data + m.eps)
        shift = -m.running_mean.data * s
        if m.affine:
            s = s * m.weight.data
            shift = shift * m.weight.data + m.bias.data
        return np.diag(s), shift
    return None


def _fold(run):
    """One Linear for a run containing at least one Linear."""
    W = b = None
    for m in run:
        a = _affine(m)
        if isinstance(a, str):
            continue
        A, c = a
        if W is None:
            W, b = A.copy(), None if c is None else c.copy()
            continue
        if W.shape[1] != A.shape[0]:
            raise ValueError(f"compress: cannot chain an affine map with {W.shape[1]} outputs into "
                             f"{type(m).__name__} expecting {A.shape[0]} inputs")
        W = W @ A
        b = None if b is None else b @ A
        if c is not None:
            b = c.copy() if b is None else b + c
    return Linear._from_arrays(W, b)


def compress(model):
    """A smaller model with the same predictions: every run of affine layers with no
    non-linearity between them (Linear, Identity, eval-mode Dropout and eval-mode BatchNorm1d;
    nested Sequentials are flattened) becomes one ``Linear`` with ``W = W1 W2 ... Wk`` and
    ``b = b1 W2 ... Wk + ... + bk``. Everything else (activations, ``Lambda``, train-mode Dropout
    and BatchNorm1d, unknown modules) is kept, as a copy; a run without any Linear is kept as it
    is. The input model is not modified. Returns a ``Sequential``. BatchNorm1d is folded as the
    per-feature map of ``(N, C)`` inputs, the only shape a Linear after it accepts. A seed-style
    ``autonn.simple.Network`` is compressed through ``to_module()`` and comes back as a
    ``Network`` (its layers with the ``identity`` activation fold).

    >>> import autonn as an
    >>> net = an.nn.Sequential(an.nn.Linear(4, 16), an.nn.Linear(16, 8), an.nn.ReLU(),
    ...                        an.nn.Linear(8, 8), an.nn.Identity(), an.nn.Linear(8, 2))
    >>> small = an.nn.compress(net)
    >>> small
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=2, bias=True)
    )
    >>> x = an.randn(5, 4)
    >>> bool(abs(small(x) - net(x)).max().item() < 1e-12)
    True
    """
    if not isinstance(model, Module):
        from ..simple import Network
        if isinstance(model, Network):  # a seed-style network: compressed, and seed-style again
            return Network.from_module(compress(model.to_module()))
        raise TypeError(f"compress: expected an an.nn.Module or an autonn.simple.Network, got "
                        f"{type(model).__name__}")
    out, run = [], []

    def flush():
        if any(type(m) is Linear for m in run):
            out.append(_fold(run))
        else:
            out.extend(copy.deepcopy(m) for m in run)
        run.clear()

    for m in _leaves(model):
        if _affine(m) is not None:
            run.append(m)
        else:
            flush()
            out.append(copy.deepcopy(m))
    flush()
    result = Sequential(*out)
    result.__dict__["training"] = model.training
    return result

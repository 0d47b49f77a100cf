"""Small bundled and generated data sets: ``load_digits`` and ``make_moons``.

>>> from autonn.datasets import load_digits
>>> X, y = load_digits()
>>> X.shape, y.shape
((1797, 64), (1797,))
"""
from __future__ import annotations

import functools
import os

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["load_digits", "make_moons"]

_DIGITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")


@functools.lru_cache(maxsize=1)
def _digits_raw():
    raw = np.loadtxt(_DIGITS, delimiter=",", dtype=np.int64)
    if raw.ndim != 2 or raw.shape[1] != 65:
        raise ValueError(f"{_DIGITS}: expected rows of 64 pixels and a label, got shape {raw.shape}")
    raw.flags.writeable = False
    return raw


def _float_dtype(dtype):
    if dtype is None:
        from .._dtype import get_default_dtype
        return get_default_dtype()
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    return dtype


def load_digits(dtype: DTypeLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits (sklearn's copy of the UCI set): ``X`` of shape (1797, 64)
    with pixel intensities scaled to [0, 1] (``dtype``, default autonn's default float dtype)
    and ``y`` the int64 labels 0..9. NumPy arrays, fresh copies on each call.

    >>> import autonn as an
    >>> from autonn.datasets import load_digits
    >>> X, y = load_digits(dtype="float32")
    >>> X.dtype, float(X.max()), sorted(set(y.tolist())) == list(range(10))
    (dtype('float32'), 1.0, True)
    >>> ds = an.data.TensorDataset(an.tensor(X), an.tensor(y))
    """
    raw = _digits_raw()
    X = (raw[:, :64] / 16).astype(_float_dtype(dtype))
    y = raw[:, 64].astype(np.int64)
    return X, y


def make_moons(n_samples: int = 200, noise: float | None = 0.1, seed: int | None = 0, *,
               dtype: DTypeLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (the two-moons toy set, as sklearn's ``make_moons``),
    shuffled, with Gaussian noise of standard deviation ``noise``. Returns ``X`` of shape
    (n_samples, 2) and int64 labels ``y`` in {0, 1}; the same ``seed`` gives the same data.

    >>> from autonn.datasets import make_moons
    >>> X, y = make_moons(100, noise=0.05, seed=1)
    >>> X.shape, int(y.sum())
    ((100, 2), 50)
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 1:
        raise ValueError(f"make_moons: n_samples must be a positive integer, got {n_samples!r}")
    if noise is not None and not noise >= 0:
        raise ValueError(f"make_moons: noise must be >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.empty((n_samples, 2))
    X[:n_out, 0], X[:n_out, 1] = np.cos(t_out), np.sin(t_out)
    X[n_out:, 0], X[n_out:, 1] = 1 - np.cos(t_in), 0.5 - np.sin(t_in)
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    perm = rng.permutation(n_samples)
    X, y = X[perm], y[perm]
    if noise:
        X += rng.normal(scale=noise, size=X.shape)
    return X.astype(_float_dtype(dtype)), y

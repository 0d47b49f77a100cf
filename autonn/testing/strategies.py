"""Hypothesis strategies for tensors and shapes, for your own property tests.

>>> from hypothesis import given
>>> import autonn as an
>>> from autonn.testing import strategies as ats
>>> @given(ats.tensors(shape=ats.shapes(max_dims=2)))
... def test_double(x):
...     assert ((x * 2).data == (x + x).data).all()
>>> test_double()
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import DTypeLike

from ..tensor import Tensor


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    """Array shapes (tuples of ints), as ``hypothesis.extra.numpy.array_shapes``.

    >>> from autonn.testing.strategies import shapes
    >>> shape = shapes(max_dims=2).example()
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
                         max_side: int = 4) -> st.SearchStrategy:
    """Tuples of ``num_shapes`` shapes that broadcast together.

    >>> from autonn.testing.strategies import broadcastable_shapes
    >>> a, b = broadcastable_shapes().example()
    """
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, min_side=min_side,
                                             max_side=max_side).map(lambda r: r.input_shapes)


def floats_away_from(low: float, high: float, avoid: Sequence[float] = (), margin: float = 0.05,
                     width: Literal[16, 32, 64] = 64) -> st.SearchStrategy:
    """Floats in ``[low, high]`` at least ``margin`` away from each point in ``avoid`` (kinks).

    >>> from autonn.testing.strategies import floats_away_from
    >>> v = floats_away_from(-1, 1, avoid=(0,)).example()
    """
    base = st.floats(low, high, allow_nan=False, allow_infinity=False, width=width)
    if not avoid:
        return base
    return base.filter(lambda v: all(abs(v - p) > margin for p in avoid))


def arrays(shape: Any, dtype: DTypeLike = np.float64, low: float = -3.0, high: float = 3.0,
           avoid: Sequence[float] = (), margin: float = 0.05,
           elements: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """NumPy arrays of ``shape`` (a tuple or a strategy) with bounded finite values."""
    dtype = np.dtype(dtype)
    if elements is None:  # drawn in float64, then rounded to dtype
        elements = floats_away_from(low, high, avoid, margin)
        return hnp.arrays(np.float64, shape, elements=elements).map(lambda a: a.astype(dtype))
    return hnp.arrays(dtype, shape, elements=elements)


def tensors(shape: Any = None, dtype: DTypeLike = np.float64, elements: st.SearchStrategy | None = None,
            requires_grad: bool = True, low: float = -3.0, high: float = 3.0,
            avoid: Sequence[float] = ()) -> st.SearchStrategy:
    """autonn Tensors with the given (or drawn) shape, dtype and element strategy.

    >>> from autonn.testing.strategies import tensors
    >>> t = tensors(shape=(2, 3)).example()
    >>> t.shape, t.requires_grad
    ((2, 3), True)
    """
    if shape is None:
        shape = shapes()
    return arrays(shape, dtype, low, high, avoid, elements=elements).map(
        lambda a: Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def axes(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """An ``axis=`` argument for a tensor of ``ndim`` dimensions: None, an int (possibly
    negative) or a tuple of distinct axes.

    >>> from autonn.testing.strategies import axes
    >>> a = axes(3).example()
    """
    options: list[st.SearchStrategy] = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                    unique=True).map(tuple))
    return st.one_of(*options) if options else st.none()


MLP_ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "softplus",
                   "identity")
_ACTIVATION_MODULES = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "ReLU",
                       "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
                       "softplus": "Softplus", "identity": "Identity"}


def _features(value, widths):
    if value is None:
        return st.integers(*widths)
    if isinstance(value, int):
        return st.just(value)
    return value  # a strategy


def mlps(in_features: int | st.SearchStrategy | None = None,
         out_features: int | st.SearchStrategy | None = None,
         hidden_layers: tuple[int, int] = (0, 2), widths: tuple[int, int] = (1, 8),
         activations: Sequence[str] = MLP_ACTIVATIONS, dtype: DTypeLike = np.float64,
         bias: bool | None = None) -> st.SearchStrategy:
    """Random small multilayer perceptrons from ``autonn.nn``: ``Sequential(Linear, act, ...,
    Linear)`` with ``hidden_layers`` (a ``(min, max)`` count) hidden layers of ``widths``
    (``(min, max)``) units, an activation per hidden layer drawn from ``activations`` (names:
    tanh, sigmoid, relu, leaky_relu, elu, gelu, softplus, identity) and ``bias`` (True, False,
    or None to draw it). ``in_features``/``out_features`` are ints, strategies, or None (drawn
    from ``widths``). Weights are drawn from a Hypothesis-chosen seed with PyTorch's default
    U(-1/sqrt(in), 1/sqrt(in)), so failures replay and shrink.

    >>> import numpy as np
    >>> from hypothesis import given, settings, strategies as st
    >>> import autonn as an
    >>> from autonn.testing import assert_gradients_close, strategies as ats
    >>> @settings(max_examples=10, deadline=None)
    ... @given(net=ats.mlps(in_features=3, activations=("tanh", "sigmoid")), data=st.data())
    ... def test_mlp_gradients(net, data):
    ...     x = data.draw(ats.tensors(shape=(2, 3), requires_grad=False))
    ...     assert_gradients_close(lambda *params: net(x), *net.parameters())
    >>> test_mlp_gradients()
    """
    activations = tuple(activations)
    unknown = [a for a in activations if a not in _ACTIVATION_MODULES]
    if unknown:
        raise ValueError(f"mlps: unknown activation(s) {unknown}; choose from "
                         f"{', '.join(MLP_ACTIVATIONS)}")
    dtype = np.dtype(dtype)

    @st.composite
    def draw(draw):
        from .. import nn  # imported lazily: autonn.nn is heavier than the engine
        from ..inplace import overwrite
        n_hidden = draw(st.integers(*hidden_layers))
        sizes = [draw(_features(in_features, widths))]
        sizes += [draw(st.integers(*widths)) for _ in range(n_hidden)]
        sizes.append(draw(_features(out_features, widths)))
        use_bias = draw(st.booleans()) if bias is None else bool(bias)
        acts = [draw(st.sampled_from(activations)) for _ in range(n_hidden)]
        rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
        layers = []
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            lin = nn.Linear(n_in, n_out, bias=use_bias, dtype=dtype)
            bound = 1.0 / np.sqrt(n_in)
            overwrite(lin.weight, rng.uniform(-bound, bound, (n_in, n_out)))
            if use_bias:
                overwrite(lin.bias, rng.uniform(-bound, bound, n_out))
            layers.append(lin)
            if k < n_hidden:
                layers.append(getattr(nn, _ACTIVATION_MODULES[acts[k]])())
        return nn.Sequential(*layers)

    return draw()

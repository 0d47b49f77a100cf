"""The seed's builder API, run by the autonn engine: ``NNBuilder``, ``FullyConnectedLayer``, ``Network``.

A layer is ``Y = σ(X W + b)`` with one sample per row, ``W`` of shape ``(in, out)`` and ``b`` of
shape ``(out,)``. Activations and derivatives are plain Python callables on NumPy arrays:

* ``activation(z) -> Y``;
* a one-argument derivative ``derivative(z) -> σ'(z)`` (a scalar broadcasts: ``lambda z: 1``);
* a two-argument derivative ``derivative(Y, G) -> dL/dz`` given the layer's output ``Y`` and the
  gradient ``G`` arriving at it (the seed's ``relu_deriv(Y, G)`` form).

Each activation is an ``an.Function`` whose forward calls the activation and whose backward calls
the derivative, so ``train`` is an ordinary backward pass through the engine. ``train(X, G, lr)``
feeds ``G`` itself to the network's output as its incoming gradient: the output layer's derivative
turns the target into the loss gradient (``delta_cross_entropy(Y, G) = (Y - G) / N`` for a softmax
output), then every ``W`` and ``b`` takes one gradient step of size ``lr``.

The computation runs in the data's dtype (NumPy's promotion of the data and weight dtypes:
``np.longdouble`` data computes in long double, and training keeps the weights in that dtype).
``np.matrix`` inputs are converted with ``np.asarray``.

Networks are saved in a line-oriented text format (see ``autonn.simple_text``): ``Network.save``
writes it, ``NNBuilder.load`` reads it, and also reads the binary files that
``an.nn.save_network`` writes, taking the model's ``Linear`` layers in order.

``Network.to_module()`` and ``Network.from_module(module)`` convert to and from an ``an.nn``
``Sequential`` with the same predictions, bit for bit.

>>> import numpy as np
>>> from autonn.simple import NNBuilder, FullyConnectedLayer
>>> i = lambda x: x; i_ = lambda x: 1
>>> net = NNBuilder().build_all([i, i], [i_, i_], [FullyConnectedLayer] * 2, [(3, 4), (4, 2)])
>>> net.predict(np.ones((5, 3))).shape
(5, 2)
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from . import engine
from .function import Function
from .inplace import overwrite
from .nn.module import Module
from .simple_text import (
    ACTIVATION_NAMES,
    MAGIC,
    _is_text_format,
    _parse_text,
    read_text,
    read_text_layers,
    write_text,
)
from .tensor import Tensor, TensorLike, as_tensor

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .nn.container import Sequential

__all__ = ["NNBuilder", "FullyConnectedLayer", "Network", "Activation", "read_text",
           "read_text_layers", "write_text", "load_named", "ACTIVATIONS", "MAGIC"]



ActivationFn = Callable[[np.ndarray], Any]
"""An activation ``activation(z) -> Y`` on NumPy arrays."""
DerivativeFn = Callable[..., Any]
"""A derivative: ``derivative(z) -> σ'(z)`` or ``derivative(Y, G) -> dL/dz``."""


class Layer(Protocol):
    """What ``Network`` and ``NNBuilder`` use of a layer (``FullyConnectedLayer`` is one)."""
    W: Tensor
    b: Tensor

    @property
    def in_dim(self) -> int: ...

    @property
    def out_dim(self) -> int: ...

    def forward(self, x: Tensor) -> Tensor: ...

    def parameters(self) -> list[Tensor]: ...


# ----------------------------------------------------------------------------- activations
def _arity(fn):
    """1 for ``derivative(z)``, 2 for ``derivative(Y, G)``."""
    if isinstance(fn, np.ufunc):
        n = fn.nin
    else:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            raise TypeError(f"can't inspect the signature of derivative {fn!r}; pass a Python "
                            "function of (z) or of (Y, G)") from None
        params = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        n = sum(p.default is p.empty for p in params)
        if n == 0 and params:
            n = min(len(params), 2)
        elif n == 0 and any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
            n = 1
    if n not in (1, 2):
        raise TypeError(f"a derivative takes one argument (the pre-activation z) or two (the "
                        f"layer output Y and the incoming gradient G); {fn!r} takes {n}")
    return n


def _as_array(value, like, what):
    arr = np.asarray(value)
    if arr.dtype != like.dtype and arr.dtype.kind in "biuf":
        arr = arr.astype(like.dtype)
    if arr.shape != like.shape:
        try:
            arr = np.broadcast_to(arr, like.shape)
        except ValueError:
            raise ValueError(f"{what} returned shape {arr.shape}, expected {like.shape}") from None
    return arr


class _Activation(Function):
    """``Y = activation(z)``; backward: the layer's derivative, in its one- or two-argument form."""

    @staticmethod
    def forward(ctx, z, layer):
        y = _as_array(layer.activation(z), z, "activation")
        ctx.z, ctx.y, ctx.layer = z, y, layer
        return y

    @staticmethod
    def backward(ctx, g):
        layer, g = ctx.layer, g.data
        if layer._derivative_arity == 2:
            gz = _as_array(layer.derivative(ctx.y, g), ctx.z, "derivative(Y, G)")
        else:
            gz = g * _as_array(layer.derivative(ctx.z), ctx.z, "derivative(z)")
        return gz, None


# ----------------------------------------------------------------------------- named activations
def identity(z):
    """``z``: a linear layer's activation."""
    return z


def identity_deriv(z):
    """``1``, the identity's derivative (broadcasts)."""
    return 1


def relu(z):
    """``max(z, 0)``."""
    return np.maximum(z, 0)


def relu_deriv(Y, G):
    """The gradient through ReLU from its output ``Y``: ``G`` where ``Y > 0``."""
    return G * (Y > 0)


def sigmoid(z):
    """``1 / (1 + exp(-z))``."""
    return 1 / (1 + np.exp(-z))


def sigmoid_deriv(Y, G):
    """The gradient through the sigmoid from its output: ``G Y (1 - Y)``."""
    return G * Y * (1 - Y)


def tanh(z):
    """``tanh(z)``."""
    return np.tanh(z)


def tanh_deriv(Y, G):
    """The gradient through tanh from its output: ``G (1 - Y^2)``."""
    return G * (1 - Y * Y)


def softmax(z):
    """Softmax over the last axis (each row sums to 1)."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_deriv(Y, G):
    """The gradient through softmax from its output: ``Y (G - sum(G Y))`` per row."""
    return Y * (G - np.sum(G * Y, axis=-1, keepdims=True))


ACTIVATIONS: dict[str, tuple[ActivationFn, DerivativeFn]] = {
    "identity": (identity, identity_deriv), "relu": (relu, relu_deriv),
    "sigmoid": (sigmoid, sigmoid_deriv), "tanh": (tanh, tanh_deriv),
    "softmax": (softmax, softmax_deriv)}
"""The activations a text file can name (``act NAME``): name -> ``(activation, derivative)``,
plain NumPy functions in the seed's style."""
assert tuple(ACTIVATIONS) == ACTIVATION_NAMES


def _activation_name(layer):
    act = getattr(layer, "activation", None)
    return next((name for name, (f, _) in ACTIVATIONS.items() if f is act), None)


# ----------------------------------------------------------------------------- layers
class FullyConnectedLayer:
    """A dense layer ``Y = activation(X @ W + b)``; ``W`` (in, out) and ``b`` (out,) are Tensors.

    >>> import numpy as np
    >>> from autonn.simple import FullyConnectedLayer
    >>> layer = FullyConnectedLayer(np.tanh, lambda z: 1 - np.tanh(z) ** 2,
    ...                             W=np.eye(2), b=np.zeros(2))
    >>> layer.in_dim, layer.out_dim
    (2, 2)
    """

    def __init__(self, activation: ActivationFn, derivative: DerivativeFn, W: ArrayLike,
                 b: ArrayLike) -> None:
        if not callable(activation) or not callable(derivative):
            raise TypeError("FullyConnectedLayer: activation and derivative must be callables")
        W = np.array(np.asarray(W), copy=True)
        b = np.array(np.asarray(b), copy=True)
        if W.dtype.kind != "f":
            W = W.astype(np.float64)
        if b.dtype.kind != "f":
            b = b.astype(W.dtype)
        if W.ndim != 2:
            raise ValueError(f"FullyConnectedLayer: W must be 2-d (in, out), got shape {W.shape}")
        if b.shape != (W.shape[1],):
            raise ValueError(f"FullyConnectedLayer: b must have shape ({W.shape[1]},) to match "
                             f"W of shape {W.shape}, got {b.shape}")
        self.activation = activation
        self.derivative = derivative
        self._derivative_arity = _arity(derivative)
        self.W = Tensor(W, requires_grad=True)
        self.b = Tensor(b, requires_grad=True)

    @property
    def in_dim(self) -> int:
        return self.W.shape[0]

    @property
    def out_dim(self) -> int:
        return self.W.shape[1]

    def parameters(self) -> list[Tensor]:
        """``[W, b]``, the layer's trainable Tensors.

        >>> from autonn.simple import FullyConnectedLayer
        >>> [p.shape for p in FullyConnectedLayer(abs, abs, [[1.0, 2.0]], [0.0, 0.0]).parameters()]
        [(1, 2), (2,)]
        """
        return [self.W, self.b]

    def forward(self, x: Tensor) -> Tensor:
        """The layer on a Tensor ``x`` (rows are samples), recorded in the graph.

        >>> import autonn as an, numpy as np
        >>> from autonn.simple import FullyConnectedLayer
        >>> layer = FullyConnectedLayer(lambda z: z, lambda z: 1, np.eye(2), np.ones(2))
        >>> layer.forward(an.tensor([[1.0, 2.0]])).data
        array([[2., 3.]])
        """
        W, b = self.W, self.b
        if W.dtype != x.dtype:
            W = W.astype(x.dtype)
        if b.dtype != x.dtype:
            b = b.astype(x.dtype)
        return _Activation.apply(x @ W + b, self)

    __call__ = forward

    def __repr__(self):
        name = getattr(self.activation, "__name__", type(self.activation).__name__)
        return f"{type(self).__name__}(in={self.in_dim}, out={self.out_dim}, activation={name})"


class Activation(Module):
    """An ``an.nn`` module that runs a seed-style activation with its derivative (one-argument
    ``derivative(z)`` or two-argument ``derivative(Y, G)``), as ``FullyConnectedLayer`` does;
    ``Network.to_module`` puts one after each ``Linear``. It holds code, so ``save_network``
    cannot store it.

    >>> import autonn as an, numpy as np
    >>> from autonn.simple import Activation, ACTIVATIONS
    >>> act = Activation(*ACTIVATIONS["relu"])
    >>> x = an.tensor([-1.0, 2.0], requires_grad=True)
    >>> act(x).sum().backward(); x.grad
    tensor([0., 1.])
    """

    def __init__(self, activation: ActivationFn, derivative: DerivativeFn) -> None:
        super().__init__()
        if not callable(activation) or not callable(derivative):
            raise TypeError("Activation: activation and derivative must be callables")
        self.activation = activation
        self.derivative = derivative
        self._derivative_arity = _arity(derivative)

    def forward(self, input: TensorLike) -> Tensor:
        return _Activation.apply(as_tensor(input), self)

    def extra_repr(self) -> str:
        return f"activation={getattr(self.activation, '__name__', repr(self.activation))}"


# ----------------------------------------------------------------------------- network
class Network:
    """A stack of layers with the seed's ``predict``, ``train`` and ``get_cost``.

    >>> import numpy as np
    >>> from autonn.simple import Network, FullyConnectedLayer
    >>> net = Network([FullyConnectedLayer(lambda z: z, lambda z: 1, [[2.0]], [1.0])])
    >>> net.predict([[1.0], [2.0]])
    array([[3.],
           [5.]])
    """

    def __init__(self, layers: Iterable[Layer] = ()) -> None:
        self.layers: list[Layer] = []
        for layer in layers:
            self.add(layer)

    def add(self, layer: Layer) -> Network:
        """Append a layer (its ``in_dim`` must match the last layer's ``out_dim``); returns self.

        >>> from autonn.simple import Network, FullyConnectedLayer
        >>> i = lambda z: z; i_ = lambda z: 1
        >>> net = Network().add(FullyConnectedLayer(i, i_, [[1.0, 2.0]], [0.0, 0.0]))
        >>> len(net.add(FullyConnectedLayer(i, i_, [[1.0], [1.0]], [0.0])).layers)
        2
        """
        if self.layers:
            prev = self.layers[-1]
            if getattr(prev, "out_dim", None) is not None and \
                    getattr(layer, "in_dim", None) is not None and prev.out_dim != layer.in_dim:
                raise ValueError(f"add: the new layer takes {layer.in_dim} inputs but the last "
                                 f"layer gives {prev.out_dim} outputs")
        self.layers.append(layer)
        return self

    def parameters(self) -> list[Tensor]:
        """Every layer's ``W`` and ``b``, in order (e.g. to hand to an ``an.optim`` optimizer).

        >>> from autonn.simple import Network, FullyConnectedLayer
        >>> len(Network([FullyConnectedLayer(abs, abs, [[1.0]], [0.0])]).parameters())
        2
        """
        return [p for layer in self.layers for p in layer.parameters()]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        body = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Network({body}\n)" if body else "Network()"

    # --- data handling
    def _dtype(self, *arrays):
        dts = [a.dtype for a in arrays] + [p.dtype for p in self.parameters()]
        dt = np.result_type(*dts)
        if dt.kind != "f":
            dt = np.result_type(dt, np.float64)
        return dt

    def _inputs(self, X: ArrayLike, G: ArrayLike | None = None) -> tuple[np.ndarray, Any, np.dtype]:
        """X and G (None if not given) as arrays in the computation's dtype, and that dtype."""
        if not self.layers:
            raise ValueError("the network has no layers")
        X = np.asarray(X)
        arrays = [X]
        if G is not None:
            G = np.asarray(G)
            arrays.append(G)
        dt = self._dtype(*arrays)
        if X.shape[-1:] != (self.layers[0].in_dim,):
            raise ValueError(f"X has shape {X.shape}, but the network takes "
                             f"{self.layers[0].in_dim} features per row")
        X = X.astype(dt, copy=False)
        if G is not None:
            G = G.astype(dt, copy=False)
        return X, G, dt

    def forward(self, x: Tensor) -> Tensor:
        """The network on a Tensor, recorded in the graph (for use with the rest of autonn).

        >>> import autonn as an
        >>> from autonn.simple import Network, FullyConnectedLayer
        >>> net = Network([FullyConnectedLayer(lambda z: z, lambda z: 1, [[2.0]], [0.0])])
        >>> net.forward(an.tensor([[1.0]])).sum().backward(); net.layers[0].W.grad
        tensor([[1.]])
        """
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The network's output for the rows of ``X``, as an ndarray in the data's dtype.

        >>> import numpy as np
        >>> from autonn.simple import Network, FullyConnectedLayer
        >>> relu = lambda z: np.maximum(z, 0); relu_deriv = lambda Y, G: G * (Y > 0)
        >>> net = Network([FullyConnectedLayer(relu, relu_deriv, [[1.0, -1.0]], [0.0, 0.0])])
        >>> net.predict(np.array([[2.0]], dtype=np.longdouble)).dtype == np.longdouble
        True
        """
        X, _, _ = self._inputs(X)
        with engine.no_grad():
            return self.forward(Tensor._make(X)).data

    def get_cost(self, X: ArrayLike, G: ArrayLike) -> float:
        """The seed's cross-entropy ``-sum(G * log(Y)) / N`` with ``Y = predict(X)``, N rows.

        >>> import numpy as np
        >>> from autonn.simple import Network, FullyConnectedLayer
        >>> net = Network([FullyConnectedLayer(lambda z: z, lambda z: 1, [[0.5]], [0.0])])
        >>> print(net.get_cost([[1.0], [1.0]], [[1.0], [1.0]]) == -np.log(0.5))
        True
        """
        X, G, _ = self._inputs(X, G)
        Y = self.predict(X)
        n = Y.shape[0] if Y.ndim > 1 else 1
        return -np.sum(G * np.log(Y)) / n

    def train(self, X: ArrayLike, G: ArrayLike, lr: float) -> None:
        """One training step: forward ``X``, feed ``G`` to the output as its incoming gradient,
        backpropagate through each layer's derivative, and move every ``W`` and ``b`` by
        ``-lr`` times its gradient. The weights take the computation's dtype.

        >>> import numpy as np
        >>> from autonn.simple import Network, FullyConnectedLayer
        >>> mse_out = lambda Y, G: Y - G       # output derivative: d(0.5 |Y - G|^2)/dY
        >>> net = Network([FullyConnectedLayer(lambda z: z, mse_out, [[0.0]], [0.0])])
        >>> for _ in range(1000): net.train([[1.0], [2.0]], [[3.0], [5.0]], lr=0.1)
        >>> np.round(net.predict([[3.0]]), 3)    # learns y = 2x + 1
        array([[7.]])
        """
        x, g, dt = self._inputs(X, G)
        params = self.parameters()
        for p in params:
            if p.dtype != dt:
                p.data = p.data.astype(dt)
            p.grad = None
        with engine.enable_grad():
            out = self.forward(Tensor._make(x))
            if out.shape != g.shape:
                raise ValueError(f"train: G has shape {g.shape}, but the network's output has "
                                 f"shape {out.shape}")
            out.backward(Tensor._make(g))
        for p in params:
            if p.grad is not None:
                overwrite(p, p.data - lr * p.grad.data)  # (bumps p's version)
            p.grad = None

    def to_module(self) -> Sequential:
        """The network as an ``an.nn.Sequential``: per layer a ``Linear`` holding copies of
        ``W`` and ``b``, then an ``Activation`` module running the layer's own activation and
        derivative (nothing after a layer whose activation is ``identity``, so
        ``an.nn.compress`` folds runs of linear layers). Predictions are the same, bit for bit.

        >>> import numpy as np
        >>> from autonn.simple import NNBuilder, FullyConnectedLayer, ACTIVATIONS
        >>> i, i_ = ACTIVATIONS["identity"]
        >>> net = NNBuilder().build_all([i] * 3, [i_] * 3, [FullyConnectedLayer] * 3,
        ...                             [(4, 3), (3, 3), (3, 2)])
        >>> net.to_module()
        Sequential(
          (0): Linear(in_features=4, out_features=3, bias=True)
          (1): Linear(in_features=3, out_features=3, bias=True)
          (2): Linear(in_features=3, out_features=2, bias=True)
        )
        """
        from .nn import Linear, Sequential
        modules = []
        for k, layer in enumerate(self.layers):
            if getattr(type(layer), "forward", None) is not FullyConnectedLayer.forward:
                raise TypeError(f"to_module: layer {k} is a {type(layer).__name__} with its own "
                                "forward; only FullyConnectedLayer's activation(x @ W + b) "
                                "converts to Linear + Activation")
            modules.append(Linear._from_arrays(layer.W.data, layer.b.data))
            if getattr(layer, "activation", None) is not identity:
                fc = cast(FullyConnectedLayer, layer)  # its forward is FullyConnectedLayer's
                modules.append(Activation(fc.activation, fc.derivative))
        return Sequential(*modules)

    @classmethod
    def from_module(cls, module: Module, layer_class: Callable[..., Layer] | None = None) -> Network:
        """A seed-style ``Network`` with the predictions of ``module``, an ``an.nn.Sequential``
        of ``Linear`` layers each followed by at most one activation: an ``Activation``, a
        ``Lambda`` with a derivative, ``Identity``, or one of ``ReLU``, ``Sigmoid``, ``Tanh``,
        ``LeakyReLU``, ``ELU``, ``GELU``, ``Softplus``, ``Softmax`` (run through the module
        itself, so predictions are the same bit for bit). Anything else is a TypeError naming
        it. ``layer_class`` defaults to ``FullyConnectedLayer``.

        >>> import autonn as an, numpy as np
        >>> from autonn.simple import Network
        >>> model = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.ReLU(), an.nn.Linear(4, 2))
        >>> net = Network.from_module(model)
        >>> x = np.random.default_rng(0).standard_normal((5, 3))
        >>> bool((net.predict(x) == model(an.tensor(x)).data).all())
        True
        """
        from .nn import Linear, Sequential
        from .nn.compress import _leaves
        layer_class = FullyConnectedLayer if layer_class is None else layer_class
        if not isinstance(module, Sequential) and not isinstance(module, Linear):
            raise TypeError(f"from_module: expected an an.nn.Sequential of Linear layers and "
                            f"activations, got {type(module).__name__}")
        leaves, net, k = _leaves(module), cls(), 0
        while k < len(leaves):
            lin = leaves[k]
            if type(lin) is not Linear:
                raise TypeError(f"from_module: module {k} is {type(lin).__name__}, where a "
                                "Linear was expected (a seed network is Linear layers, each "
                                "followed by at most one activation)")
            act, der = ACTIVATIONS["identity"]
            if k + 1 < len(leaves) and type(leaves[k + 1]) is not Linear:
                act, der = _callables_of(leaves[k + 1], k + 1)
                k += 1
            W = lin.weight.data
            b = np.zeros(W.shape[1], W.dtype) if lin.bias is None else lin.bias.data
            net.add(layer_class(act, der, W, b))
            k += 1
        return net

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network's weights in the text format of the module docstring (atomically;
        reading back with ``NNBuilder().load`` gives the same values exactly).

        >>> import numpy as np, os, tempfile
        >>> from autonn.simple import NNBuilder, FullyConnectedLayer
        >>> i = lambda x: x; i_ = lambda x: 1
        >>> net = NNBuilder().build_all([i], [i_], [FullyConnectedLayer], [(2, 3)])
        >>> path = os.path.join(tempfile.mkdtemp(), "net.txt"); net.save(path)
        >>> net2 = NNBuilder().load([i], [i_], path, [FullyConnectedLayer], 2)
        >>> bool((net2.layers[0].W.data == net.layers[0].W.data).all())
        True
        """
        if not self.layers:
            raise ValueError("save: the network has no layers")
        write_text(path, [(layer.W.data, layer.b.data, _activation_name(layer))
                          for layer in self.layers])


def _callables_of(module, where):
    """``(activation, derivative)`` NumPy callables that run the an.nn activation ``module``."""
    from . import nn
    t = type(module)
    if t is Activation:
        return module.activation, module.derivative
    if t is nn.Identity:
        return ACTIVATIONS["identity"]
    if t is nn.Lambda and module.derivative is not None:
        return _module_activation(module), _numpy_derivative(module.derivative)
    if t in (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Softplus):
        return _module_activation(module), _elementwise_derivative(module)
    if t is nn.Softmax and module.dim in (-1, 1, None):
        return _module_activation(module), softmax_deriv
    raise TypeError(f"from_module: module {where} is {t.__name__}, which a seed-style layer "
                    "cannot run (supported: Activation, Identity, Lambda with a derivative, "
                    "ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU, Softplus, Softmax)")


def _module_activation(module):
    def activation(z):
        with engine.no_grad():
            return module(Tensor._make(np.asarray(z))).data
    activation.__name__ = type(module).__name__.lower()
    return activation


def _elementwise_derivative(module):
    def derivative(z):
        x = Tensor(np.asarray(z), requires_grad=True)
        with engine.enable_grad():
            module(x).sum().backward()
        return x.grad.data
    derivative.__name__ = type(module).__name__.lower() + "_deriv"
    return derivative


def _numpy_derivative(fn):
    def derivative(z):
        out = fn(z)
        return out.data if isinstance(out, Tensor) else out
    return derivative


def _read_source(path, name):
    """From one bounded read: ``("text", layers)`` with ``(W, b, activation_name)`` per layer
    of a text file, or ``("network", model)`` for a file written by ``an.nn.save_network``."""
    from ._bounded import read_regular
    raw = read_regular(path, "NNBuilder.load")
    if _is_text_format(raw):
        return "text", _parse_text(raw, name)
    from .nn.serialization import _network_from_bytes
    try:
        return "network", _network_from_bytes(raw, name)
    except ValueError as e:
        raise ValueError(f"{name}: neither the autonn simple text format (first line "
                         f"{MAGIC!r}) nor a network file that an.nn.load_network reads: "
                         f"{e}") from None


def _read_layers(path, name):
    """``(W, b, activation_name)`` per layer of a text file, or of the ``Linear`` layers of a
    file written by ``an.nn.save_network`` (names ``None``)."""
    kind, found = _read_source(path, name)
    if kind == "text":
        return found
    from .nn import Linear
    model, layers = found, []
    for m in model.modules():
        if isinstance(m, Linear):
            W = np.array(m.weight.data, copy=True)
            b = np.zeros(W.shape[1], W.dtype) if m.bias is None else np.array(m.bias.data)
            layers.append((W, b, None))
    if not layers:
        raise ValueError(f"{name}: the saved network has no Linear layers")
    return layers


def load_named(path: str | os.PathLike[str]) -> Network:
    """A ``Network`` from a file, with no code: a text file whose layers all name their
    activation (``act NAME``, one of ``ACTIVATIONS``; a ValueError names the first layer that
    does not), or a file written by ``an.nn.save_network`` (through ``Network.from_module``).

    >>> import numpy as np, os, tempfile
    >>> from autonn.simple import load_named, write_text
    >>> path = os.path.join(tempfile.mkdtemp(), "n.txt")
    >>> write_text(path, [(np.eye(2), np.zeros(2), "relu")])
    >>> load_named(path).predict([[1.0, -1.0]])
    array([[1., 0.]])
    """
    name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    kind, layers = _read_source(path, name)
    if kind == "network":
        return Network.from_module(layers)
    net = Network()
    for k, (W, b, act) in enumerate(layers):
        if act is None:
            raise ValueError(f"{name}: layer {k} does not name its activation ('layer {k} in "
                             f"{W.shape[0]} out {W.shape[1]} act NAME', NAME one of "
                             f"{', '.join(ACTIVATIONS)}), so its predictions are unknown "
                             "without code")
        net.add(FullyConnectedLayer(*ACTIVATIONS[act], W, b))
    return net


# ----------------------------------------------------------------------------- builder
class NNBuilder:
    """Builds ``Network`` objects: from a file (``load``), from layer sizes (``build_all``), or
    layer by layer (``add``). A class in ``layer_classes`` is called as
    ``cls(activation, derivative, W, b)`` and provides ``forward(x)``, ``parameters()``,
    ``in_dim``/``out_dim`` and ``W``/``b`` (as ``FullyConnectedLayer`` does).

    >>> from autonn.simple import NNBuilder, FullyConnectedLayer
    >>> i = lambda x: x; i_ = lambda x: 1
    >>> b = NNBuilder(); net = b.add(FullyConnectedLayer(i, i_, [[1.0]], [0.0]))
    >>> net is b.network, len(net)
    (True, 1)
    """

    def __init__(self) -> None:
        self.network = Network()

    @staticmethod
    def _check_lists(activations, derivatives, layer_classes, n, what):
        for name, seq in (("activations", activations), ("derivatives", derivatives),
                          ("layer_classes", layer_classes)):
            if len(seq) != n:
                raise ValueError(f"{len(seq)} {name} given for {n} layers ({what})")

    def _make(self, activations, derivatives, layer_classes, pairs):
        net = Network()
        for act, der, cls, (W, b) in zip(activations, derivatives, layer_classes, pairs):
            net.add(cls(act, der, W, b))
        self.network = net
        return net

    def load(self, activations: Sequence[ActivationFn], derivatives: Sequence[DerivativeFn],
             path: str | os.PathLike[str], layer_classes: Sequence[Callable[..., Layer]],
             input_dim: int) -> Network:
        """A network with the weights in ``path`` (the text format of the module docstring, or
        a file written by ``an.nn.save_network``) and the given activations and derivatives.
        ``input_dim`` must equal the first layer's ``in``; the file must have one layer per
        activation.

        >>> import numpy as np, os, tempfile
        >>> from autonn.simple import NNBuilder, FullyConnectedLayer, MAGIC
        >>> path = os.path.join(tempfile.mkdtemp(), "net.txt")
        >>> _ = open(path, "w").write(MAGIC + "\\nlayer 0 in 2 out 1\\nW\\n1\\n2\\nb\\n0.5\\n")
        >>> i = lambda x: x; i_ = lambda x: 1
        >>> NNBuilder().load([i], [i_], path, [FullyConnectedLayer], 2).predict([[1.0, 1.0]])
        array([[3.5]])
        """
        name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
        pairs = [(W, b) for W, b, _ in _read_layers(path, name)]
        if len(pairs) != len(activations):
            raise ValueError(f"{name} has {len(pairs)} layers but {len(activations)} "
                             "activations were given")
        if pairs[0][0].shape[0] != input_dim:
            raise ValueError(f"{name}: the first layer takes {pairs[0][0].shape[0]} inputs, "
                             f"but input_dim is {input_dim}")
        self._check_lists(activations, derivatives, layer_classes, len(pairs), name)
        return self._make(activations, derivatives, layer_classes, pairs)

    def build_all(self, activations: Sequence[ActivationFn], derivatives: Sequence[DerivativeFn],
                  layer_classes: Sequence[Callable[..., Layer]],
                  dims: Iterable[Sequence[int]]) -> Network:
        """A freshly initialised network, one layer per ``(in, out)`` pair of ``dims``. Weights
        and biases are uniform in ``±1/sqrt(in)`` (PyTorch's ``Linear`` default), drawn from
        autonn's global generator (``an.manual_seed``), in the default float dtype.

        >>> import numpy as np
        >>> from autonn.simple import NNBuilder, FullyConnectedLayer
        >>> relu = lambda z: np.maximum(z, 0); relu_deriv = lambda Y, G: G * (Y > 0)
        >>> net = NNBuilder().build_all([relu, relu], [relu_deriv, relu_deriv],
        ...                             [FullyConnectedLayer] * 2, [(4, 8), (8, 3)])
        >>> [layer.W.shape for layer in net.layers]
        [(4, 8), (8, 3)]
        """
        dims = [tuple(d) for d in dims]
        if not dims:
            raise ValueError("build_all: dims is empty")
        for k, d in enumerate(dims):
            if len(d) != 2 or any(isinstance(x, bool) or not isinstance(x, (int, np.integer))
                                  or x <= 0 for x in d):
                raise ValueError(f"build_all: dims[{k}] must be an (in, out) pair of positive "
                                 f"integers, got {d!r}")
            if k and dims[k - 1][1] != d[0]:
                raise ValueError(f"build_all: layer {k} takes {d[0]} inputs but layer {k - 1} "
                                 f"gives {dims[k - 1][1]} outputs")
        self._check_lists(activations, derivatives, layer_classes, len(dims), "dims")
        from ._dtype import get_default_dtype
        from .creation import generator
        rng, dt = generator(), get_default_dtype()
        pairs = []
        for d_in, d_out in dims:
            bound = 1.0 / np.sqrt(d_in)
            W = rng.uniform(-bound, bound, (d_in, d_out)).astype(dt)
            b = rng.uniform(-bound, bound, d_out).astype(dt)
            pairs.append((W, b))
        return self._make(activations, derivatives, layer_classes, pairs)

    def add(self, layer: Layer) -> Network:
        """Append ``layer`` to the builder's network and return that network.

        >>> from autonn.simple import NNBuilder, FullyConnectedLayer
        >>> net = NNBuilder().add(FullyConnectedLayer(lambda x: x, lambda x: 1, [[2.0]], [0.0]))
        >>> net.predict([[1.5]])
        array([[3.]])
        """
        return self.network.add(layer)

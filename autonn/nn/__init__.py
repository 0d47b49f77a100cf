"""``autonn.nn``: modules, layers, activations, losses, initialisation, compression and saving,
with PyTorch's names and semantics, in autonn's row-vector convention (``Linear.weight`` has shape
``(in_features, out_features)`` and a layer computes ``x @ W + b``).

>>> import autonn as an
>>> net = an.nn.Sequential(an.nn.Linear(4, 8), an.nn.ReLU(), an.nn.Linear(8, 3))
>>> loss = an.nn.CrossEntropyLoss()(net(an.randn(5, 4)), an.tensor([0, 1, 2, 1, 0]))
>>> loss.backward(); net[0].weight.grad.shape
(4, 8)
"""
from . import functional, init  # noqa: F401
from .activation import (ELU, GELU, Lambda, LeakyReLU, LogSoftmax, ReLU, Sigmoid,  # noqa: F401
                         Softmax, Softplus, Tanh)
from .compress import compress  # noqa: F401
from .container import ModuleList, Sequential  # noqa: F401
from .conv import Conv2d, MaxPool2d  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .linear import Flatten, Identity, Linear  # noqa: F401
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss,  # noqa: F401
                   NLLLoss)
from .module import Module  # noqa: F401
from .normalization import BatchNorm1d, LayerNorm  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .serialization import load_network, save_network  # noqa: F401
from .sparse import Embedding  # noqa: F401
from .torch_weights import load_torch_state_dict  # noqa: F401

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Identity", "Flatten",
           "Dropout", "BatchNorm1d", "LayerNorm", "Embedding", "Conv2d", "MaxPool2d", "ReLU",
           "Sigmoid", "Tanh", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax", "LogSoftmax",
           "Lambda", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss", "functional", "init", "compress", "save_network", "load_network",
           "load_torch_state_dict"]

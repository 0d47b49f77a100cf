"""The runnable examples in every autonn.nn docstring."""
import doctest
import importlib

import numpy as np
import pytest

import autonn as an

MODULES = ["autonn.nn", "autonn.nn.module", "autonn.nn.parameter", "autonn.nn.container",
           "autonn.nn.linear", "autonn.nn.activation", "autonn.nn.dropout",
           "autonn.nn.normalization", "autonn.nn.sparse", "autonn.nn.conv", "autonn.nn.loss",
           "autonn.nn.functional", "autonn.nn.init", "autonn.nn.compress",
           "autonn.nn.serialization", "autonn.nn.torch_weights"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    an.set_default_dtype(np.float64)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_public_name_is_documented_with_an_example():
    undocumented = []
    for name in an.nn.__all__:
        obj = getattr(an.nn, name)
        if isinstance(obj, type(an.nn)):
            continue
        if ">>>" not in (obj.__doc__ or ""):
            undocumented.append(name)
    for mod in (an.nn.functional, an.nn.init):
        for name in mod.__all__:
            if ">>>" not in (getattr(mod, name).__doc__ or ""):
                undocumented.append(f"{mod.__name__}.{name}")
    assert undocumented == []

"""The runnable examples in the docstrings of files, the seed's builder, creation and checks."""
import doctest
import importlib

import numpy as np
import pytest

import autonn as an

MODULES = ["autonn.io", "autonn.simple", "autonn._validate", "autonn.creation",
           "autonn.compress_cli", "autonn.nn.torch_weights"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    an.set_default_dtype(np.float64)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

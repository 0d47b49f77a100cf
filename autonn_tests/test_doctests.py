"""The runnable examples in the docstrings of the core modules (autonn.nn's are in
test_nn_doctests.py)."""
import doctest
import importlib

import numpy as np
import pytest

import autonn as an

MODULES = ["autonn", "autonn.tensor", "autonn.dlpack", "autonn.viz", "autonn.cli",
           "autonn._progress"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    an.set_default_dtype(np.float64)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

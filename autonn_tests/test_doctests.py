"""Every runnable example in every autonn docstring runs and gives the output it shows."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import autonn as an

_OPTIONAL = {"autonn.distributed",  # needs the `distributed` extra (mpi4py); tested on its own
             "autonn.__main__"}  # importing it runs the command line


def _modules():
    names = ["autonn"]
    for info in pkgutil.walk_packages(an.__path__, "autonn."):
        if not any(info.name == o or info.name.startswith(o + ".") for o in _OPTIONAL):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    an.set_default_dtype(np.float64)
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finally:
        an.set_default_dtype(np.float64)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"

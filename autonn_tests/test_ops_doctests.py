"""The runnable example in the docstring of every exported op (``autonn.ops.__all__`` and the
fused ``autonn.ops.nn`` ops) and of the op-declaration helpers: each has one, and it runs."""
import doctest

import numpy as np
import pytest

import autonn as an
from autonn.ops import _rules
from autonn.testing import registry

OPS = list(an.ops.__all__) + [n for n in an.ops.nn.__all__ if callable(getattr(an.ops.nn, n))]


def _run(obj, name):
    an.set_default_dtype(np.float64)
    finder, runner = doctest.DocTestFinder(recurse=False), doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(obj, name, globs={})
    assert tests and tests[0].examples, f"{name}: no runnable example in its docstring"
    for test in tests:
        runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", OPS)
def test_every_op_has_a_running_example(name):
    fn = getattr(an.ops, name, None) or getattr(an.ops.nn, name)
    assert _run(fn, name).failed == 0


SCIPY_NAMES = ([f"special.{n}" for n in an.special.__all__]
               + [f"stats.{d}.{f}" for d, fns in an.stats.DISTRIBUTIONS.items() for f in fns])


@pytest.mark.parametrize("name", SCIPY_NAMES)
def test_every_special_function_and_distribution_has_a_running_example(name):
    obj = an
    for part in name.split("."):
        obj = getattr(obj, part)
    assert _run(obj, name).failed == 0


@pytest.mark.parametrize("obj", [_rules, _rules.elementwise, _rules.sum_terms, registry.register])
def test_declaration_helpers_examples(obj):
    assert _run(obj, getattr(obj, "__name__", "_rules")).failed == 0

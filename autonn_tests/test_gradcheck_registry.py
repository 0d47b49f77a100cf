"""No false failures: every registered op, on Hypothesis-drawn inputs (the registry's own
strategies, built from ``autonn.testing.strategies``), passes ``assert_gradients_close`` with the
dtype-aware defaults, in float64 and float32, full and fast mode; and in float64 the forward-mode
and second-derivative checks pass too."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autonn as an
from autonn.testing import assert_gradients_close
from autonn.testing.registry import REGISTRY

NAMES = sorted(n for n in REGISTRY if REGISTRY[n].differentiable)


def _draw(name, dtype, data):
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.dtype(dtype)))
    xs = [an.tensor(a, requires_grad=True) for a in case.arrays]
    return (lambda *ts: spec.fn(*ts, **case.kwargs)), xs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=8)
@given(data=st.data())
def test_correct_ops_pass(name, dtype, data):
    fn, xs = _draw(name, dtype, data)
    assert_gradients_close(fn, *xs)
    assert_gradients_close(fn, *xs, fast_mode=True)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=2)
@given(data=st.data())
def test_forward_mode_and_second_derivatives_pass(name, data):
    fn, xs = _draw(name, "float64", data)
    assert_gradients_close(fn, *xs, check_forward_ad=True)
    if REGISTRY[name].second_order:
        rep = an.gradgradcheck(fn, xs, report=True)
        assert rep.passed, rep.message()

"""``assert_gradients_close``: gradcheck as an assertion, for your own (Hypothesis) tests."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..tensor import Tensor


def assert_gradients_close(fn: Callable[..., Any], *tensors: Any, order: int = 1, **tolerances: Any) -> Any:
    """Assert that the analytic derivatives of ``fn(*tensors)`` match finite differences.

    Raises ``AssertionError`` carrying gradcheck's message (input, output, worst index, both
    values, tolerances, culprit op) so that Hypothesis shrinks the failing example.
    ``tolerances`` are ``gradcheck``'s keyword arguments (``atol``, ``rtol``, ``eps``,
    ``fast_mode``, ``check_forward_ad``, ``numeric_dtype``, ``richardson``...); ``order=2`` also
    checks second derivatives (``gradgradcheck``). Non-differentiable points do not fail it.
    Returns the ``GradcheckReport`` (the last one with ``order=2``).

    >>> from hypothesis import given, settings
    >>> import autonn as an
    >>> from autonn.testing import assert_gradients_close, strategies as ats
    >>> @settings(max_examples=10, deadline=None)
    ... @given(ats.tensors(shape=ats.shapes(max_dims=2)), ats.tensors(shape=(), low=0.5, high=2))
    ... def test_scaled_softplus(x, beta):
    ...     assert_gradients_close(lambda x, b: an.softplus(x * b) / b, x, beta)
    >>> test_scaled_softplus()
    """
    from ..checking import gradcheck_report, gradgradcheck

    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"assert_gradients_close: argument {k} is a {type(t).__name__}, "
                            "not an autonn Tensor")
    report = gradcheck_report(fn, tensors, **tolerances)
    if not report.passed:
        raise AssertionError(report.message())
    if order >= 2:
        report = gradgradcheck(fn, tensors, report=True, **tolerances)
        if not report.passed:
            raise AssertionError(report.message())
    return report

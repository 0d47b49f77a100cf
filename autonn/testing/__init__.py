"""Property-testing support: Hypothesis strategies and gradient assertions for your own tests."""
from . import strategies  # noqa: F401


def __getattr__(name):
    if name == "assert_gradients_close":
        from .assertions import assert_gradients_close
        return assert_gradients_close
    raise AttributeError(name)

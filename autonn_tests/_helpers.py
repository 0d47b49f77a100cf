"""Fixtures several test files share: small user-defined ops (``an.Function``) with right or
planted-wrong backwards, and the complex versions of the registry's drawn cases."""
import numpy as np

import autonn as an
from autonn.testing.registry import REGISTRY


class Cube(an.Function):
    """x**3 with its right backward, ``3 x**2 g``, written in autonn ops (it differentiates again)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g


def square_function(slope, name):
    """An ``an.Function`` class called ``name`` computing x**2 whose backward is ``slope * x * g``:
    the right one for ``slope=2``, a planted bug for any other slope."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return slope * x * g
    return type(name, (an.Function,), {
        "__doc__": f"x**2 with the gradient {slope} x.", "__module__": __name__,
        "forward": staticmethod(forward), "backward": staticmethod(backward)})


# the registry's differentiable entries flagged complex (their rules are right for complex inputs)
COMPLEX_SPECS = sorted(n for n, s in REGISTRY.items() if s.complex and s.differentiable)


def complexify(a, rng):
    """A drawn real case as a complex one: a small imaginary part keeps it inside the real
    domain's neighbourhood (away from the branch cuts, which lie outside the real domain)."""
    return a + 0.3j * rng.uniform(-1, 1, size=np.shape(a))


def registered_complex_case(name, data):
    """The registry entry ``name``, a case drawn from it (float64) and its arrays complexified
    (the imaginary parts are seeded by the name: each op sees the same ones every run)."""
    spec = REGISTRY[name]
    case = data.draw(spec.cases(np.float64))
    rng = np.random.default_rng(len(name))
    return spec, case, [complexify(a, rng) for a in case.arrays]

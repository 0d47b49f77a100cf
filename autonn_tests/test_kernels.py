"""Tests of autonn.kernels: numba kernels vs NumPy twins vs plain formulas.

Accuracy bounds (ULP32 / ULP64 below) are the ones stated in the kernel
docstrings; they were established exhaustively over all finite float32 by
``python3 benchmarks/bench_kernels.py --ulp`` and are enforced here on random
data, dense grids and extreme values.  A comparison passes elementwise when
the ulp distance is within the bound *or*, for kernels whose result cancels
(gradients that subtract a row sum, gelu's derivative near its root), when
``|a - b| <= bound * eps * scale`` with ``scale`` the magnitude of the terms.

On a cold numba cache the module fixture first compiles the float32 and the
float64 specialisations in two concurrent subprocesses (numba compiles
single-threaded; ~100 specialisations), so the whole file stays well under a
minute; on a warm cache it takes a few seconds.
"""

import contextlib
import doctest
import importlib
import importlib.util
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _load_kernels():
    """import autonn.kernels; if autonn/__init__.py is broken, load by path."""
    try:
        return importlib.import_module("autonn.kernels")
    except Exception:
        d = REPO / "autonn" / "kernels"
        name = "autonn_kernels_standalone"
        spec = importlib.util.spec_from_file_location(
            name, d / "__init__.py", submodule_search_locations=[str(d)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod


K = _load_kernels()
R = importlib.import_module(K.__name__ + "._numpy")
CFG = importlib.import_module(K.__name__ + "._config")
HAVE_NUMBA = (importlib.util.find_spec("numba") is not None
              and os.environ.get("NUMBA_DISABLE_JIT", "0").strip() in ("", "0"))
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not importable, or JIT disabled")

FLOATS = (np.float32, np.float64)
#: the tests lower the (run-time adjustable) parallel threshold so that the
#: parallel variants are exercised on moderate sizes; BIG is above it for
#: every kernel (cost >= COST_ARITH)
TEST_THRESHOLD = 2 ** 17
BIG = TEST_THRESHOLD // CFG.COST_ARITH + 3
TEST_POOL_MIN_BYTES = 2 ** 18     # BIG float32 outputs (512 KiB) are pooled
SIZES = (0, 1, 100, BIG)      # 100: serial variant incl. all extremes
FAST = settings(max_examples=20, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------- accuracy bounds
# Every bound is on the error against the EXACT value of the function at the (dtype) inputs,
# never against the bits NumPy gives on one machine: NumPy's SIMD exp/expm1/tanh/... differ by
# an ulp or so between its AVX-512, AVX2 and baseline paths. The form is
#
#     |got - exact| <= U * eps * S        (eps of the dtype; S from `scale`, at least `tiny`)
#
# with S = |exact| for a plain function (a relative error: U units are at most U ulp; below the
# smallest normal `tiny` the error is absolute, as the spacing there), and S = |g| * (magnitude of
# the derivative's terms) for the backwards (the terms cancel, or the derivative is subnormal).
# `exact` gives the exact values: float64 for float32 inputs (its own error, ~2**-29 units, is
# far below these bounds), long double or mpmath for float64 inputs.
#
# KERNEL_U: the numba kernels' bounds, as stated in their docstrings.
# * float32: pure float32 arithmetic (the same bits on every CPU; FMAs are exact operations):
#   the maxima over every 61st float32 bit pattern and every 8th float32 of [-20, 20]
#   (``python -m autonn_tests.test_kernels float32 61``: tanh 3.21, gelu 2.83, elu 1.26,
#   sigmoid 1.50, softplus 1.37; derivatives (g = 1): elu 1.63, softplus 1.47, gelu 1.63),
#   rounded up to the next quarter.
# * float64: libm (math.exp, expm1, log1p, tanh, erfc), so derived from glibc's documented
#   maximal errors (libm-test-ulps, x86_64 and aarch64 double: exp, expm1, log1p, log 1 ulp,
#   tanh 2, erfc 5) with 1/2 per rounded operation, as for the twins below: elu 1 + 1/2,
#   its backward 1 + 1/2 + 1/2; sigmoid 1/(1 + w) of exp's 1 plus 1/2 + 1/2; tanh 2; softplus
#   (1 + 1) + 1/2 + 1/2, its backward sigmoid + 1/2; gelu: the argument -x/sqrt(2) carries 1
#   unit (the constant and the product round), which erfc turns into (1 + x**2) <= 2 w
#   (w = max(1, x**2), in S), erfc's own 5 and 1/2 for x *: 7.5; the derivative adds exp's
#   terms (<= 2.75 w units of |x| phi) and 1/2 for the sum: 7.5, + 1/2 for g.
#   Measured (``python -m autonn_tests.test_kernels float64``): elu 1.06, sigmoid 1.43, tanh
#   1.36, softplus 1.23, gelu 1.52; derivatives: elu 1.0, softplus 1.43, gelu 1.08.
# A backward with a general g rounds once more (g * d): its bound is the derivative's (g = 1)
# plus 1/2.
KERNEL_U = {
    np.float32: {"elu_forward": 1.5, "elu_backward": 1.75 + 0.5,
                 "gelu_forward": 3.0, "gelu_backward": 1.75 + 0.5,
                 "sigmoid_forward": 1.75, "tanh_forward": 3.5,
                 "softplus_forward": 1.5, "softplus_backward": 1.75 + 0.5},
    np.float64: {"elu_forward": 1.5, "elu_backward": 2.0,
                 "gelu_forward": 7.5, "gelu_backward": 7.5 + 0.5,
                 "sigmoid_forward": 2.0, "tanh_forward": 2.0,
                 "softplus_forward": 3.0, "softplus_backward": 2.5},
}
# TWIN_U: the NumPy twins' bounds, derived from NumPy's documented accuracy of its float
# functions (numpy/_core/tests/data/umath-validation-set-*.csv: at most k ulp from the correctly
# rounded value, so less than k + 1/2 units: float32 exp 3, expm1 3, log1p 2, tanh 2; float64
# exp 1, expm1 1, log1p 1, tanh 2), adding 1/2 per rounded operation after them (relative
# errors add under * and /):
# * tanh: the function alone, 2.5 | 2.5 (float32 | float64);
# * elu: alpha * expm1(x): 3.5 + 0.5 = 4 | 2; its backward g * (alpha * exp(x)): 4.5 | 2.5;
# * sigmoid: w = exp(-|x|), then 1/(1 + w) or w/(1 + w); the second is the worse: w's error
#   enters as 1/(1 + w) of itself, plus 1/2 for 1 + w and 1/2 for the division: 4.5 | 2.5;
# * softplus: (max(z, 0) + log1p(w)) / beta with w = exp(-|z|) (z = beta*x rounded, as in the
#   kernel): log1p passes w's relative error on at most once, so log1p(w) is within
#   3.5 + 2.5 | 1.5 + 1.5, the sum and the division add 1/2 each: 7 | 4; its backward
#   g * sigmoid(z): 5 | 3;
# * gelu, float32 inputs: computed in float64 (libm erfc) and rounded once: 1/2 plus the
#   float64 error (< 2**-19 units): 0.55; float64 inputs: the kernel's formula and derivation
#   (the same libm erfc; NumPy's exp, 1.5 instead of 1, stays within it): 7.5 | 7.5 + 1/2.
# A kernel and its twin agree within KERNEL_U + TWIN_U (the parity tests).
TWIN_U = {
    np.float32: {"elu_forward": 4.0, "elu_backward": 4.5, "gelu_forward": 0.55,
                 "gelu_backward": 0.55, "sigmoid_forward": 4.5, "tanh_forward": 2.5,
                 "softplus_forward": 7.0, "softplus_backward": 5.0},
    np.float64: {"elu_forward": 2.0, "elu_backward": 2.5, "gelu_forward": 7.5,
                 "gelu_backward": 8.0, "sigmoid_forward": 2.5, "tanh_forward": 2.5,
                 "softplus_forward": 4.0, "softplus_backward": 3.0},
}
#: kernels that do the twin's IEEE arithmetic operation for operation: the same bits
EXACT_KERNELS = ("relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
                 "sigmoid_backward", "tanh_backward")
#: float64 gelu computes erfc(-x/sqrt 2) from the rounded product -x * (1/sqrt 2) (relative error
#: <= eps), which erfc amplifies by about x**2 + 1 in the negative tail (kernel and twin alike):
#: its S carries a factor max(1, x**2) (capped at 40**2: beyond |x| = 40 gelu is x or underflows)
GELU64_TAIL_CAP = 1600.0


def kernel_u(name, dt):
    return 0.0 if name in EXACT_KERNELS else KERNEL_U[np.dtype(dt).type][name]


def twin_u(name, dt):
    return 0.0 if name in EXACT_KERNELS else TWIN_U[np.dtype(dt).type][name]


def _gelu_weight(x):
    """max(1, x**2) (capped) for float64 gelu, 1 for float32 (see GELU64_TAIL_CAP)."""
    if x.dtype != np.float64:
        return 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        return np.clip(x * x, 1.0, GELU64_TAIL_CAP)


def scale(name, x, g, params, mag):
    """S of the bound for kernel `name` at dtype inputs x, g (float64 magnitudes; S >= tiny).

    mag: |exact| (accuracy tests) or max(|kernel|, |twin|) (parity tests) for the forwards; the
    backwards' S depends on x and g only: |g| * max(|d|, tiny) for elu (tiny times alpha > 1:
    exp's floor, scaled) and softplus (d = sigmoid(beta*x), subnormal in the tail), and
    |g| * (Phi + |x| phi) for gelu (the two terms of its derivative cancel near x = -0.75).
    """
    dt = x.dtype
    tiny = float(np.finfo(dt).tiny)
    xd = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if name in ("elu_backward", "softplus_backward", "gelu_backward"):
            gd = np.abs(np.asarray(g, np.float64))
            if name == "elu_backward":
                a = abs(float(dt.type(params[0])))
                d = np.where(xd > 0, 1.0, a * np.exp(np.minimum(xd, 0)))
                s = gd * np.maximum(d, max(a, 1.0) * tiny)
            elif name == "softplus_backward":
                z = (x * dt.type(params[0])).astype(np.float64)
                d = np.where(z > 0, 1 / (1 + np.exp(-np.abs(z))),
                             np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
                s = gd * np.maximum(d, tiny)
            else:
                cdf = _erfc64(-xd / np.sqrt(2)) / 2
                pdf = np.exp(-0.5 * xd * xd) / np.sqrt(2 * np.pi)
                s = gd * np.maximum(cdf + np.abs(xd) * pdf, _gelu_floor(xd, tiny))
                s = s * _gelu_weight(x)
        else:
            s = np.abs(np.asarray(mag, np.float64))
            if name == "gelu_forward":
                s = np.maximum(s, _gelu_floor(xd, tiny)) * _gelu_weight(x)
        return np.maximum(np.nan_to_num(s, nan=tiny), tiny)


def _gelu_floor(xd, tiny):
    """where Phi(x) or phi(x) is subnormal (x < -37.5 in float64) its error is absolute, an ulp
    of the subnormals, which the factor x multiplies: tiny * max(1, |x|)."""
    return tiny * np.clip(np.abs(xd), 1.0, GELU64_TAIL_CAP)


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _erfc64(a):
    return _ERFC(a).astype(np.float64)


# ---------------------------------------------------------- exact values
#: long double carries at least 11 more bits than float64 (x86-64: 80-bit; aarch64 Linux:
#: IEEE quad). Where it does not (macOS arm64, Windows), mpmath computes the float64 references.
LD_WIDE = np.finfo(np.longdouble).nmant >= 63


class _Exact:
    """Arithmetic for the exact values at inputs of dtype dt: float64 arrays for float32 inputs,
    long double (or mpmath objects, see LD_WIDE) arrays for float64 inputs."""

    def __init__(self, dt):
        self.dt = np.dtype(dt)
        self.kind = "f64" if self.dt == np.float32 else ("ld" if LD_WIDE else "mp")
        if self.kind in ("f64", "ld"):    # NumPy's float64 / long double loops
            for f in ("exp", "expm1", "log1p", "tanh", "log"):
                setattr(self, f, getattr(np, f))
        else:
            import mpmath
            for f in ("exp", "expm1", "log1p", "tanh", "log"):
                fn = getattr(mpmath, f)
                setattr(self, f, lambda a, fn=fn: np.frompyfunc(fn, 1, 1)(a))

    def precision(self):
        """context for the arithmetic: mpmath at 120 bits (its default is 53)"""
        if self.kind != "mp":
            return contextlib.nullcontext()
        import mpmath
        return mpmath.workprec(120)

    def arr(self, a):
        """dtype values (exact) as the working type."""
        a = np.asarray(a, self.dt)
        if self.kind == "f64":
            return a.astype(np.float64)
        if self.kind == "ld":
            return a.astype(np.longdouble)
        import mpmath
        return np.frompyfunc(lambda v: mpmath.mpf(float(v)), 1, 1)(a)

    def normal(self, a):
        """(Phi(x), phi(x)) of dtype values a: math.erfc in float64 for float32 inputs (relative
        error ~1e-14 even at x = -14), mpmath otherwise."""
        if self.kind == "f64":
            xd = a.astype(np.float64)
            with np.errstate(under="ignore", over="ignore"):
                return (0.5 * _erfc64(-xd / np.sqrt(2)),
                        np.exp(-0.5 * xd * xd) / np.sqrt(2 * np.pi))
        import mpmath

        def both(v):
            with mpmath.workprec(120):
                v = mpmath.mpf(float(v))
                return self._back(mpmath.ncdf(v)), self._back(mpmath.npdf(v))
        cdf, pdf = np.frompyfunc(both, 1, 2)(np.asarray(a, np.float64))
        if self.kind == "ld":
            return cdf.astype(np.longdouble), pdf.astype(np.longdouble)
        return cdf, pdf

    def _back(self, v):
        if self.kind == "ld":   # an mpf into long double: hi + lo, exact to 106 bits
            hi = float(v)
            if not np.isfinite(hi) or hi == 0:
                return np.longdouble(hi)
            import mpmath
            with mpmath.workprec(120):
                return np.longdouble(hi) + np.longdouble(float(v - hi))
        return v

    def split(self, e):
        """(hi, lo) float64 with hi + lo = e to far below float64's ulp."""
        if self.kind == "f64":
            return np.asarray(e, np.float64), np.zeros(np.shape(e))
        if self.kind == "ld":
            e = np.asarray(e, np.longdouble)
            with np.errstate(invalid="ignore", over="ignore"):
                hi = e.astype(np.float64)
                lo = np.where(np.isfinite(hi), e - hi, 0).astype(np.float64)
            return hi, lo
        import mpmath

        def two(v):
            with mpmath.workprec(120):
                hi = float(v)
                return hi, (float(v - hi) if math.isfinite(hi) else 0.0)
        hi, lo = np.frompyfunc(two, 1, 2)(np.asarray(e, object))
        return hi.astype(np.float64), lo.astype(np.float64)


def exact(name, x, g=None, params=()):
    """(hi, lo): the exact value of kernel `name` at the dtype inputs x (and g), as float64
    hi + lo. softplus is exact at z = beta * x rounded to the dtype (the kernels and the twins
    both branch on that z); alpha and beta are rounded to the dtype, as the kernels do."""
    dt = x.dtype
    E = _Exact(dt)
    X = E.arr(x)
    one = E.arr(1.0)
    with np.errstate(all="ignore"), E.precision():
        if name == "tanh_forward":
            e = E.tanh(X)
        elif name == "sigmoid_forward":
            w = E.exp(-np.abs(X))
            e = np.where(x >= 0, one / (one + w), w / (one + w))
        elif name in ("elu_forward", "elu_backward"):
            a = E.arr(params[0])
            neg = np.where(x > 0, E.arr(0.0), X)
            if name == "elu_forward":
                e = np.where(x > 0, X, a * E.expm1(neg))
            else:
                e = E.arr(g) * np.where(x > 0, one, a * E.exp(neg))
        elif name in ("softplus_forward", "softplus_backward"):
            z = x * dt.type(params[0])
            Z = E.arr(z)
            w = E.exp(-np.abs(Z))
            big = z > dt.type(params[1])
            if name == "softplus_forward":
                soft = (np.where(z > 0, Z, E.arr(0.0)) + E.log1p(w)) / E.arr(params[0])
                e = np.where(big, X, soft)
            else:
                sig = np.where(z >= 0, one / (one + w), w / (one + w))
                e = E.arr(g) * np.where(big, one, sig)
        elif name in ("gelu_forward", "gelu_backward"):
            cdf, pdf = E.normal(x)
            e = X * cdf if name == "gelu_forward" else E.arr(g) * (cdf + X * pdf)
        else:
            raise KeyError(name)
    return E.split(e)


def _same(a, b):
    """elementwise: the same value (NaN == NaN, inf with its sign)."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def assert_within(got, hi, U, S, what="", lo=None):
    """|got - (hi + lo)| <= U * eps * S elementwise (hi, lo float64; eps of got's dtype); where
    hi is not finite, or rounds to inf in got's dtype, got must be that value."""
    got = np.asarray(got)
    dt = got.dtype
    assert dt in (np.float32, np.float64), dt
    hi = np.asarray(hi, np.float64)
    assert hi.shape == got.shape, (hi.shape, got.shape)
    lo = np.zeros_like(hi) if lo is None else np.asarray(lo, np.float64)
    eps = float(np.finfo(dt).eps)
    with np.errstate(all="ignore"):
        rd = hi.astype(dt)
        fin = np.isfinite(rd)
        err = np.abs((got.astype(np.float64) - hi) - lo)
        ok = np.where(fin, err <= U * eps * S, _same(got, rd))
    if not ok.all():
        i = np.flatnonzero(~ok.ravel())[:5]
        units = (err / (eps * S)).ravel()[i]
        pytest.fail(f"{what}: {(~ok).sum()} of {ok.size} elements off (bound {U} units of "
                    f"eps * S); got {got.ravel()[i]} exact {hi.ravel()[i]} units {units}")


def assert_specials_agree(got, twin, what=""):
    """where either is not finite, both are the same (NaN, or inf of one sign); where both are
    zero, they have the same sign."""
    with np.errstate(invalid="ignore"):
        special = ~np.isfinite(got) | ~np.isfinite(twin)
        bad = special & ~_same(got, twin)
        bad |= (got == 0) & (twin == 0) & (np.signbit(got) != np.signbit(twin))
    if bad.any():
        i = np.flatnonzero(bad.ravel())[:5]
        pytest.fail(f"{what}: kernel {got.ravel()[i]} twin {twin.ravel()[i]}")


def assert_parity(name, got, twin, x, g=None, params=(), what=None):
    """kernel vs twin: the same specials and signed zeros, and within KERNEL_U + TWIN_U
    (each is that close to the exact value); bit-identical for EXACT_KERNELS."""
    what = what or name
    got = np.asarray(got)
    twin = np.asarray(twin)
    assert got.dtype == twin.dtype and got.shape == twin.shape, (got.dtype, twin.dtype)
    if name in EXACT_KERNELS:
        np.testing.assert_array_equal(got, twin, err_msg=what)
        assert_specials_agree(got, twin, what)
        return
    assert_specials_agree(got, twin, what)
    dt = got.dtype
    U = kernel_u(name, dt) + twin_u(name, dt)
    eps = float(np.finfo(dt).eps)
    with np.errstate(invalid="ignore", over="ignore"):
        # |exact| <= max(|kernel|, |twin|) / (1 - U eps)
        mag = np.maximum(np.abs(got.astype(np.float64)), np.abs(twin.astype(np.float64)))
        mag = mag / (1 - U * eps)
    assert_within(got, twin.astype(np.float64), U, scale(name, x, g, params, mag), what)


def assert_accurate(name, got, x, g=None, params=(), U=None, what=None):
    """got (kernel or twin output) within U (default KERNEL_U) of the exact value."""
    hi, lo = exact(name, x, g, params)
    U = kernel_u(name, x.dtype) if U is None else U
    assert_within(got, hi, U, scale(name, x, g, params, np.abs(hi)), what or name, lo)


def extremes(dt):
    """finite extreme and special values where the kernels switch branches."""
    v = [0.0, -0.0, 1e-30, -1e-30, 1e-40, -1e-40, 4e-4, -4e-4, 0.5, -0.5,
         1.0, -1.0, 7.9, -7.9, 8.0, -8.0, 20.0, 20.000002, -20.0, 30.0,
         -30.0, 88.7, -88.7, 89.0, -89.0, -103.0, -104.0, -110.0, 100.0,
         -100.0, 1e4, -1e4, -0.7517915]
    if dt == np.float64:
        v += [700.0, -700.0, 710.0, -745.0, -750.0, 1e-310, -1e-310]
    return np.array(v, dtype=dt)


def make_x(n, dt, seed=0, scale=4.0):
    rng = np.random.default_rng(seed + n)
    x = (rng.standard_normal(n) * scale).astype(dt)
    ex = extremes(dt)
    if n >= 2 * len(ex):
        x[:len(ex)] = ex
        x[len(ex):2 * len(ex)] = ex * np.asarray(0.37, dt)
    return x


def make_g(n, dt, seed=1):
    return np.random.default_rng(seed + n).standard_normal(n).astype(dt)


# --------------------------------------------------- elementwise case table
# name -> (kind, params): kind 'x' = f(x, *p); 'xg' = f(x, g, *p);
# 'yg' = f(y, g) with y the forward output of the same activation.
CASES = {
    "relu_forward": ("x", ()), "relu_backward": ("xg", ()),
    "leaky_relu_forward": ("x", (0.1,)), "leaky_relu_backward": ("xg", (0.1,)),
    "elu_forward": ("x", (1.0,)), "elu_backward": ("xg", (1.0,)),
    "gelu_forward": ("x", ()), "gelu_backward": ("xg", ()),
    "sigmoid_forward": ("x", ()), "sigmoid_backward": ("yg", ()),
    "tanh_forward": ("x", ()), "tanh_backward": ("yg", ()),
    "softplus_forward": ("x", (1.0, 20.0)),
    "softplus_backward": ("xg", (1.0, 20.0)),
}
# non-default parameters, checked too (same bounds + 1 ulp for the extra op)
EXTRA_PARAMS = {
    "leaky_relu_forward": (0.2,), "leaky_relu_backward": (0.2,),
    "elu_forward": (1.7,), "elu_backward": (0.6,),
    "softplus_forward": (1.5, 10.0), "softplus_backward": (2.0, 5.0),
}


def call_args(name, x, g, params):
    kind = CASES[name][0]
    if kind == "x":
        return (x,) + tuple(params)
    if kind == "xg":
        return (x, g) + tuple(params)
    fwd = getattr(R, name.replace("_backward", "_forward"))
    return (fwd(x), g) + tuple(params)


_WARM = """
dt = np.dtype(sys.argv[1]).type
cfg = sys.modules[K.__name__ + '._config']
cfg.NUMBA_MIN_SIZE = 0     # compile for these small arrays too
K.set_backend('numba')
x = np.linspace(-3, 3, 64).astype(dt)
g = x[::-1].copy()
x2, g2, lab = x.reshape(8, 8), g.reshape(8, 8), np.arange(8)
for cfg.PARALLEL_THRESHOLD in (0, 10 ** 30):       # parallel, then serial
    for f in (K.relu_forward, K.gelu_forward, K.sigmoid_forward,
              K.tanh_forward):
        f(x)
    K.leaky_relu_forward(x, 0.1); K.elu_forward(x, 1.0)
    K.softplus_forward(x, 1.0, 20.0)
    for f in (K.relu_backward, K.gelu_backward, K.sigmoid_backward,
              K.tanh_backward):
        f(x, g)
    K.leaky_relu_backward(x, g, 0.1); K.elu_backward(x, g, 1.0)
    K.softplus_backward(x, g, 1.0, 20.0)
    y, d = K.gelu_forward_and_derivative(x)
    if d is not None:
        K.gelu_backward_from_derivative(d, g, inplace=True)
    for a in K.ACTIVATIONS:
        K.bias_act_forward(x2.copy(), g2[0].copy(), a)
    K.softmax_forward(x2); K.softmax_backward(x2, g2)
    K.log_softmax_forward(x2); K.log_softmax_backward(x2, g2)
    K.cross_entropy_forward(x2, lab)
    K.cross_entropy_backward(x2, lab, g2[:, 0].copy())
nbm = sys.modules[K.__name__ + '._numba']    # (used for outputs of 32 MiB and more)
for v in ('ser', 'par'):
    getattr(nbm.relu_fwd_stream, v)(x, np.empty_like(x))
    getattr(nbm.relu_bwd_stream, v)(x, g, np.empty_like(x))
"""


def _numba_cache_looks_cold():
    src = REPO / "autonn" / "kernels" / "_numba.py"
    cache = src.parent / "__pycache__"
    if os.environ.get("NUMBA_CACHE_DIR") or not cache.is_dir():
        return True
    fresh = [f for f in cache.glob("_numba.*.nbi")
             if f.stat().st_mtime >= src.stat().st_mtime]
    return len(fresh) < 40


def _warm_numba_cache():
    """Compile the kernels into numba's on-disk cache in two processes.

    numba compiles single-threaded; on a cold cache (~100 specialisations,
    ~55 s on the 2-vCPU reference box) the float32 and float64 variants are
    compiled concurrently, then the tests load them from the cache.  Any
    failure here is ignored: the tests then simply compile in-process.
    """
    if not HAVE_NUMBA or not _numba_cache_looks_cold():
        return
    env = dict(os.environ)
    env.pop("AUTONN_KERNELS", None)
    procs = [subprocess.Popen([sys.executable, "-c", _PRELUDE + _WARM, dt],
                              env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for dt in ("float32", "float64")]
    for p in procs:
        try:
            p.wait(timeout=300)
        except subprocess.TimeoutExpired:  # pragma: no cover
            p.kill()


@pytest.fixture(autouse=True, scope="module")
def _test_parallel_threshold():
    _warm_numba_cache()
    old = CFG.PARALLEL_THRESHOLD, CFG.NUMBA_MIN_SIZE, CFG.POOL_MIN_BYTES
    CFG.PARALLEL_THRESHOLD = TEST_THRESHOLD
    CFG.NUMBA_MIN_SIZE = 0  # every size goes to numba, so parity covers small arrays too
    # BIG outputs come from the large-output pool, so parity also runs on recycled memory
    CFG.POOL_MIN_BYTES = TEST_POOL_MIN_BYTES
    yield
    CFG.PARALLEL_THRESHOLD, CFG.NUMBA_MIN_SIZE, CFG.POOL_MIN_BYTES = old
    K.empty_cache()


@pytest.fixture
def numba_backend():
    K.set_backend("numba")
    yield
    K.set_backend(None)


@pytest.fixture
def numpy_backend():
    K.set_backend("numpy")
    yield
    K.set_backend(None)


# ------------------------------------------------------------ parity tests
@needs_numba
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_elementwise_parity(name, dt, n, numba_backend):
    assert K.backend() == "numba"
    x = make_x(n, dt)
    g = make_g(n, dt)
    args = call_args(name, x, g, CASES[name][1])
    copies = [np.copy(a) for a in args if isinstance(a, np.ndarray)]
    got = getattr(K, name)(*args)
    ref = getattr(R, name)(*args)
    for a, c in zip([a for a in args if isinstance(a, np.ndarray)], copies):
        np.testing.assert_array_equal(a, c)          # inputs not mutated
    assert got.dtype == dt and got.shape == x.shape
    params = CASES[name][1]
    assert_parity(name, got, ref, x, g, params)
    if name in EXTRA_PARAMS and n:
        params = EXTRA_PARAMS[name]
        args = call_args(name, x, g, params)
        assert_parity(name, getattr(K, name)(*args), getattr(R, name)(*args), x, g, params)


ACCURACY_NAMES = sorted(KERNEL_U[np.float32])


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ACCURACY_NAMES)
def test_elementwise_accuracy(name, dt, numba_backend):
    """the kernel within KERNEL_U and the twin within TWIN_U of the exact value, with the
    default and other parameters, on random values, the extremes and the IEEE specials."""
    x = np.concatenate([make_x(3000, dt), -extremes(dt) * np.asarray(1.7, dt),
                        np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], dt)])
    g = make_g(x.size, dt)
    for params in (CASES[name][1],) + ((EXTRA_PARAMS[name],) if name in EXTRA_PARAMS else ()):
        args = call_args(name, x, g, params)
        with np.errstate(invalid="ignore", over="ignore"):
            got, twin = getattr(K, name)(*args), getattr(R, name)(*args)
        assert_accurate(name, got, x, g, params, what=f"{name}{params} kernel")
        assert_accurate(name, twin, x, g, params, U=twin_u(name, dt), what=f"{name}{params} twin")


@needs_numba
def test_big_size_runs_parallel_variant(numba_backend):
    K.relu_forward(np.ones(3, np.float32))   # resolve the backend
    nbm = importlib.import_module(K.__name__ + "._numba")
    for k in nbm.ALL_KERNELS:
        for dt in FLOATS:
            assert k.pick(BIG, dt) is k.par, k.name
            assert k.pick(8, dt) is k.ser, k.name


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_serial_and_parallel_variants_identical(dt, numba_backend):
    nbm = importlib.import_module(K.__name__ + "._numba")
    x = make_x(5000, dt)
    g = make_g(5000, dt)
    for kern, args in [(nbm.tanh_fwd, (x,)), (nbm.gelu_bwd, (x, g)),
                       (nbm.softplus_fwd, (x, dt(1.5), dt(20.0))),
                       (nbm.softplus_bwd, (x, g, dt(1.5), dt(20.0))),
                       (nbm.sigmoid_fwd, (x,))]:
        o1, o2 = np.empty_like(x), np.empty_like(x)
        kern.ser(*args, o1)
        kern.par(*args, o2)
        np.testing.assert_array_equal(o1, o2)
    for kern in (nbm.bias_sigmoid, nbm.bias_tanh, nbm.bias_gelu):
        z1, z2 = x.reshape(50, 100).copy(), x.reshape(50, 100).copy()
        y1, y2 = np.empty_like(z1), np.empty_like(z1)
        kern.ser(z1, g[:100], dt(1.0), y1)
        kern.par(z2, g[:100], dt(1.0), y2)
        np.testing.assert_array_equal(z1, z2)
        np.testing.assert_array_equal(y1, y2)


def _float32_sample():
    """2**20 float32 bit patterns spread over all of them (every 4096th) and
    every float32 in [-9, 9] at a stride of 61, plus the specials."""
    a = np.arange(0, 2 ** 32, 4096, dtype=np.uint64).astype(np.uint32)
    lo, hi = np.array([0.0, 9.0], np.float32).view(np.uint32)
    b = np.arange(lo, hi, 61, dtype=np.uint32)
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3e38,
                   -3e38, 4e-4, -4e-4, 7.90531110763549805, 20.0, -104.0],
                  np.float32)
    return np.concatenate([a.view(np.float32), b.view(np.float32),
                           -b.view(np.float32), sp])


@needs_numba
def test_runtime_constants_change_no_bits(numba_backend):
    """tanh, sigmoid (softplus' backward, the linear epilogue) kernels take
    their float32 constants through ``_opaque`` (runtime values, so the
    parallel loop keeps them in registers): the same bits as the helpers with
    literal (folded) constants, serial and parallel."""
    from numba import njit
    nbm = importlib.import_module(K.__name__ + "._numba")

    @njit
    def literal(x, which, out):
        for i in range(x.shape[0]):
            if which == 0:
                out[i] = nbm._tanh32(x[i], nbm._TH_C)
            else:
                out[i] = nbm._sigmoid32(x[i], nbm._SG_C)

    x = _float32_sample()
    x = x[:x.size // 64 * 64]
    ref_t, ref_s = np.empty_like(x), np.empty_like(x)
    literal(x, 0, ref_t)
    literal(x, 1, ref_s)
    one, thr = np.float32(1.0), np.float32(np.inf)   # no threshold branch
    keep = ~((x == 0) & np.signbit(x))          # z + 0 (epilogue) turns -0 into +0

    def same(got, ref, mask=Ellipsis):
        """the same bits, NaN (of any payload: x*1 or x+0 quiets a signalling NaN) as NaN"""
        got, ref = got.ravel()[mask], ref.ravel()[mask]
        nan = np.isnan(ref)
        np.testing.assert_array_equal(np.isnan(got), nan)
        np.testing.assert_array_equal(got.view(np.uint32)[~nan], ref.view(np.uint32)[~nan])

    for v in ("ser", "par"):
        o = np.empty_like(x)
        getattr(nbm.tanh_fwd, v)(x, o)
        np.testing.assert_array_equal(o.view(np.uint32), ref_t.view(np.uint32))
        getattr(nbm.sigmoid_fwd, v)(x, o)
        np.testing.assert_array_equal(o.view(np.uint32), ref_s.view(np.uint32))
        getattr(nbm.softplus_bwd, v)(x, np.ones_like(x), one, thr, o)
        same(o, ref_s)
        for kern, ref in ((nbm.bias_tanh, ref_t), (nbm.bias_sigmoid, ref_s)):
            z = x.reshape(-1, 64).copy()
            y = np.empty_like(z)
            getattr(kern, v)(z, np.zeros(64, np.float32), one, y)
            same(y, ref, keep)


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["tanh_forward", "sigmoid_forward",
                                  "elu_forward", "softplus_forward",
                                  "gelu_forward",
                                  "elu_backward", "softplus_backward"])
def test_dense_grid_bound(name, dt, numba_backend):
    """kernels and twins hold their stated bounds against the exact values on a dense log grid
    (float64 gelu: every 25th point, its exact values come from mpmath)."""
    mag = np.logspace(-8, np.log10(120.0), 100_001).astype(dt)
    if dt == np.float64 and name.startswith("gelu"):
        mag = mag[::25]
    x = np.concatenate([mag, -mag, extremes(dt)])
    one = np.ones_like(x)
    params = CASES[name][1]
    args = call_args(name, x, one, params)
    with np.errstate(over="ignore"):
        assert_accurate(name, getattr(K, name)(*args), x, one, params, what=name + " kernel")
        assert_accurate(name, getattr(R, name)(*args), x, one, params, U=twin_u(name, dt),
                        what=name + " twin")


@needs_numba
def test_gelu_derivative_dense_grid_bound(numba_backend):
    """float32 gelu' alone (g = 1, no rounding of g * d) holds KERNEL_U less 1/2, also around
    its root x = -0.7518, where its two terms cancel."""
    mag = np.logspace(-8, np.log10(120.0), 100_001).astype(np.float32)
    x = np.concatenate([mag, -mag, -np.linspace(0.7, 0.8, 20001, dtype=np.float32),
                        extremes(np.float32)])
    one = np.ones_like(x)
    assert_accurate("gelu_backward", K.gelu_backward(x, one), x, one,
                    U=kernel_u("gelu_backward", np.float32) - 0.5, what="gelu derivative")


def _gelu_points(dt):
    """random values, extremes, the branch cuts of the float32 GELU, the
    subnormal tail, huge values and the IEEE specials."""
    x = make_x(4977, dt)         # 5000 values in all
    special = np.array([1.0, -1.0, np.nextafter(1, 0), -np.nextafter(1, 0),
                        15.0, -15.0, 16.2734375, -16.2734375, 16.3, -16.3,
                        -13.2, -13.5, -14.0, -14.5, 1e38, -1e38, 3e38, -3e38,
                        np.inf, -np.inf, np.nan, 0.0, -0.0])
    return np.concatenate([x, special.astype(dt)])


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_gelu_forward_and_derivative_bit_identical(dt, numba_backend):
    """the one-pass forward + derivative (what the Gelu op runs when it will
    be differentiated) gives exactly gelu_forward and gelu_backward(g = 1),
    serial and parallel; g * d (in place or not) is exactly gelu_backward."""
    nbm = importlib.import_module(K.__name__ + "._numba")
    x = _gelu_points(dt)
    g = make_g(x.size, dt)
    y0, d0 = K.gelu_forward(x), K.gelu_backward(x, np.ones_like(x))
    for variant in ("ser", "par"):
        y, d = np.empty_like(x), np.empty_like(x)
        getattr(nbm.gelu_fwd_d, variant)(x, y, d)
        np.testing.assert_array_equal(y, y0)
        np.testing.assert_array_equal(d, d0)
    y, d = K.gelu_forward_and_derivative(x.reshape(50, -1))
    assert y.shape == d.shape == (50, x.size // 50) and d.dtype == dt
    np.testing.assert_array_equal(y.ravel(), y0)
    np.testing.assert_array_equal(d.ravel(), d0)
    gx = K.gelu_backward(x, g)
    np.testing.assert_array_equal(K.gelu_backward_from_derivative(d0, g), gx)
    d1 = d0.copy()
    out = K.gelu_backward_from_derivative(d1, g, inplace=True)
    assert out is d1
    np.testing.assert_array_equal(out, gx)
    # the twins do not save a derivative (they recompute in the backward)
    K.set_backend("numpy")
    with np.errstate(invalid="ignore"):  # -inf * 0
        y, d = K.gelu_forward_and_derivative(x)
        np.testing.assert_array_equal(y, R.gelu_forward(x))
    assert d is None


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_gelu_specials_match_twin(dt, numba_backend):
    """+-inf, NaN, huge and subnormal-tail values: the same values (NaN where
    the twin's x*0 or inf*0 is NaN) as the twins."""
    x = _gelu_points(dt)[-23:]
    one = np.ones_like(x)
    with np.errstate(invalid="ignore", over="ignore"):
        ry, rd = R.gelu_forward(x), R.gelu_backward(x, one)
        assert_parity("gelu_forward", K.gelu_forward(x), ry, x)
        assert_parity("gelu_backward", K.gelu_backward(x, one), rd, x, one)
        assert_accurate("gelu_forward", K.gelu_forward(x), x)
        assert_accurate("gelu_backward", K.gelu_backward(x, one), x, one)
    assert np.isnan(rd[np.isinf(x)]).all() and np.isnan(ry[x == -np.inf]).all()


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_gelu_op_keeps_derivative_for_backward(dt, numba_backend, monkeypatch):
    """an.gelu on a tensor that records a graph computes gelu'(x) in its forward pass and the
    backward only multiplies: same bits as the kernels; the first vjp releases it; create_graph,
    retain_graph (a second backward recomputes) and second derivatives keep working."""
    an = importlib.import_module("autonn")
    Gelu = importlib.import_module("autonn.ops.activation").Gelu
    apply = importlib.import_module("autonn.ops.base").apply
    x = make_x(3000, dt, scale=3.0).reshape(60, 50)
    g = make_g(3000, dt).reshape(60, 50)
    gx = K.gelu_backward(x, g)
    xt = an.tensor(x, requires_grad=True)
    y = an.gelu(xt)
    op = y.grad_fn
    assert op.keep and op._d is not None
    np.testing.assert_array_equal(y.data, K.gelu_forward(x))
    (got,) = an.grad(y, [xt], an.tensor(g))
    np.testing.assert_array_equal(got.data, gx)
    assert op._d is None
    # no graph recorded: the plain forward kernel, nothing kept
    monkeypatch.setattr(K, "gelu_forward_and_derivative", None)
    with an.no_grad():
        np.testing.assert_array_equal(an.gelu(xt).data, y.data)
    np.testing.assert_array_equal(an.gelu(an.tensor(x)).data, y.data)
    monkeypatch.undo()
    # retain_graph: the second backward recomputes, same result
    xt = an.tensor(x, requires_grad=True)
    loss = (an.gelu(xt) * an.tensor(g)).sum()
    loss.backward(retain_graph=True)
    first = xt.grad.data.copy()
    xt.grad = None
    loss.backward()
    np.testing.assert_array_equal(first, gx)
    np.testing.assert_array_equal(xt.grad.data, gx)
    # create_graph: the GeluGrad node holds d; its gradients match the recomputing op's
    res = []
    for keep in (True, False):
        xt = an.tensor(x, requires_grad=True)
        gt = an.tensor(g, requires_grad=True)
        y = apply(Gelu(keep), xt)
        (g1,) = an.grad(y, [xt], gt, create_graph=True)
        h = an.tensor(make_g(3000, dt, seed=7).reshape(60, 50))
        s = (g1 * h).sum()
        twice = [an.grad(s, [xt, gt], retain_graph=True) for _ in range(2)]
        for a, b in zip(*twice):   # the kept d is never written into
            np.testing.assert_array_equal(a.data, b.data)
        res.append([g1.data] + [t.data for t in twice[0]])
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


@needs_numba
def test_sigmoid_float32_tail_specials_and_variants(numba_backend):
    """float32 sigmoid (one division of 2**64-scaled terms, |x| clamped at
    104): every float32 with 85 <= |x| <= 105 (the subnormal results and the
    underflow to 0) and the specials hold the bound vs the twin; 0 from
    x <= -104 and 1 from x >= 18 exactly; the serial and the parallel
    variant (constants passed as runtime values) and the sigmoid used by the
    linear epilogue and by softplus' backward give identical bits."""
    nbm = importlib.import_module(K.__name__ + "._numba")
    lo, hi = np.array([-85.0, -105.0], np.float32).view(np.int32)
    tail = np.arange(lo, hi + 1, dtype=np.int32).view(np.float32)
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3e38,
                   -3e38, 18.0, -104.0, 17.0, -17.0], np.float32)
    x = np.concatenate([tail, -tail, make_x(4099, np.float32), sp])
    y = K.sigmoid_forward(x)
    assert_parity("sigmoid_forward", y, R.sigmoid_forward(x), x)
    assert_accurate("sigmoid_forward", y, x)
    np.testing.assert_array_equal(y[-13:-4], [0.5, 0.5, 1, 0, np.nan, 0.5,
                                              0.5, 1, 0])
    assert (y[x <= -104] == 0).all() and (y[x >= 18] == 1).all()
    assert (y[(x > -104) & (x < -87.4)] < np.finfo(np.float32).tiny).all()
    o1, o2 = np.empty_like(x), np.empty_like(x)
    nbm.sigmoid_fwd.ser(x, o1)
    nbm.sigmoid_fwd.par(x, o2)
    np.testing.assert_array_equal(o1, y)
    np.testing.assert_array_equal(o2, y)
    z = x[:x.size // 8 * 8].reshape(-1, 8)
    _, ya = K.bias_act_forward(z.copy(), None, "sigmoid")
    np.testing.assert_array_equal(ya, y[:z.size].reshape(z.shape))
    ok = x <= 20                         # softplus' backward is g * sigmoid(x)
    sb = K.softplus_backward(x, np.ones_like(x), 1.0, 20.0)
    np.testing.assert_array_equal(sb[ok], y[ok])


@pytest.fixture
def fresh_pool(monkeypatch):
    """An empty large-output pool for the test, whatever other tests left in the shared one: a
    block still in use counts against POOL_BYTES, and pytest keeps the frames, and so the
    outputs, of failed tests alive (with them in use, this file's pool tests saw no room)."""
    monkeypatch.setattr(K, "_pool", [])
    monkeypatch.setattr(K, "_pool_state", {"bytes": 0})
    yield K._pool


@needs_numba
def test_large_outputs_come_from_a_pool(numba_backend, monkeypatch, fresh_pool):
    """outputs of at least POOL_MIN_BYTES are recycled: each is an owning array like a fresh
    np.empty (base None, writeable, C-contiguous, the requested shape); its memory is handed out
    again only when no array or view of it is alive, for the same dtype and size; the pool never
    holds more than POOL_BYTES; empty_cache drops the free blocks; POOL_BYTES = 0 turns it off."""
    monkeypatch.setattr(CFG, "POOL_MIN_BYTES", 1 << 16)
    monkeypatch.setattr(CFG, "POOL_BYTES", 1 << 20)
    n = 1 << 15                                      # float32: 128 KiB
    x, g = make_x(n, np.float32), make_g(n, np.float32)
    y = K.relu_forward(x)
    assert [b is y for b in K._pool] == [True]       # pooled (not a plain np.empty)
    assert y.base is None and y.flags.owndata and y.flags.writeable and y.flags.c_contiguous
    np.testing.assert_array_equal(y, R.relu_forward(x))
    p = y.ctypes.data
    v = y[::3]
    y.flags.writeable = False
    del y
    y2 = K.relu_backward(x, g)                       # the view keeps the block
    assert y2.ctypes.data != p
    np.testing.assert_array_equal(y2, R.relu_backward(x, g))
    assert len(K._pool) == 2 and any(b is y2 for b in K._pool)
    del v
    y3 = K.tanh_forward(x.reshape(128, -1))          # free again: reused, reshaped, writeable
    assert y3.ctypes.data == p and y3.shape == (128, n // 128) and y3.flags.writeable
    assert len(K._pool) == 2 and any(b is y3 for b in K._pool)
    assert_parity("tanh_forward", y3.ravel(), R.tanh_forward(x), x)
    x64 = make_x(n // 2, np.float64)                  # same bytes, other dtype: another block
    del y2
    y4 = K.relu_forward(x64)
    assert y4.dtype == np.float64 and y4.ctypes.data != p
    np.testing.assert_array_equal(y4, R.relu_forward(x64))
    held = [K.sigmoid_forward(x) for _ in range(12)]  # 1.5 MiB: past the cap, plain arrays
    # the pool is full (8 blocks of 128 KiB: y3's, y4's, the one y2 freed and 5 new ones) and
    # holds 6 of the 12; the other 6 are plain arrays
    assert K._pool_state["bytes"] == CFG.POOL_BYTES and len(K._pool) == 8
    assert sum(any(b is a for b in K._pool) for a in held) == 6
    assert len({a.ctypes.data for a in held + [y3, y4]}) == 14
    for a in held:
        np.testing.assert_array_equal(a, held[0])
    pooled = K._pool_state["bytes"]
    del held, y4, a
    assert K.empty_cache() > 0
    assert 0 < K._pool_state["bytes"] < pooled        # y3's block stays (in use)
    assert any(b is y3 for b in K._pool)
    del y3
    K.empty_cache()
    assert K._pool_state["bytes"] == 0 and not K._pool
    monkeypatch.setattr(CFG, "POOL_BYTES", 0)
    y = K.relu_forward(x)
    assert not K._pool and y.flags.owndata


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_relu_streaming_kernels_bit_identical(dt):
    """the hand-vectorised relu with streaming stores (scalar peel to a 32-byte boundary,
    aligned vector body, scalar tail, one call per 2**16 elements) gives the twins' bits,
    NaN, -0, infinities and subnormals included, at every offset and length."""
    nbm = importlib.import_module(K.__name__ + "._numba")
    it = np.uint32 if dt == np.float32 else np.uint64
    ch = nbm._STREAM_CHUNK
    for n in (0, 1, 7, 33, ch - 1, ch + 5, 2 * ch + 37):
        x = make_x(n + 8, dt)
        g = make_g(n + 8, dt)
        if n > 40:
            x[20:27] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-40, -1e-40]
            g[30:33] = [np.nan, np.inf, -0.0]
        for off in (0, 1, 3, 5):
            xs, gs = x[off:off + n], g[off:off + n]
            buf = np.full(n + 8, 7, dt)
            for v in ("ser", "par"):
                o = buf[off:off + n]
                getattr(nbm.relu_fwd_stream, v)(xs, o)
                np.testing.assert_array_equal(o.view(it), R.relu_forward(xs).view(it))
                getattr(nbm.relu_bwd_stream, v)(xs, gs, o)
                np.testing.assert_array_equal(o.view(it), R.relu_backward(xs, gs).view(it))
                assert (buf[:off] == 7).all() and (buf[off + n:] == 7).all()


@needs_numba
def test_big_relu_streams_into_reused_memory(numba_backend, monkeypatch, fresh_pool):
    """relu_forward/backward of at least STREAM_MIN_BYTES: a fresh output gets the plain kernel
    (streaming stores into just-faulted pages are slower), a reused pool block the streaming
    one (serial unless STREAM_PARALLEL); the same bits either way."""
    nbm = importlib.import_module(K.__name__ + "._numba")
    calls = []

    class Spy:
        def __init__(self, k):
            self.k = k

        def __getattr__(self, v):
            calls.append((self.k.name, v))
            return getattr(self.k, v)

    for name in ("relu_fwd_stream", "relu_bwd_stream"):
        monkeypatch.setattr(nbm, name, Spy(getattr(nbm, name)))
    K.empty_cache()
    monkeypatch.setattr(CFG, "POOL_MIN_BYTES", 1 << 16)
    monkeypatch.setattr(CFG, "STREAM_MIN_BYTES", 1 << 16)
    x, g = make_x(1 << 15, np.float32), make_g(1 << 15, np.float32)
    ry, rg = R.relu_forward(x), R.relu_backward(x, g)
    for par in (False, True):
        monkeypatch.setattr(CFG, "STREAM_PARALLEL", par)
        K.empty_cache()
        calls.clear()
        y, d = K.relu_forward(x), K.relu_backward(x, g)                 # fresh blocks
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(d, rg)
        assert calls == []
        del y, d
        y, d = K.relu_forward(x), K.relu_backward(x, g)                 # reused blocks
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(d, rg)
        del y, d
        v = "par" if par else "ser"
        assert calls == [("relu_fwd_stream", v), ("relu_bwd_stream", v)]
    x2 = x.reshape(64, -1).T                                           # non-contiguous
    np.testing.assert_array_equal(K.relu_forward(x2), R.relu_forward(x2))
    assert K.relu_backward(x, g.astype(np.float64)).dtype == np.float32  # mixed: the twin
    K.empty_cache()


@needs_numba
def test_pool_is_thread_safe(numba_backend, monkeypatch, fresh_pool):
    """threads that allocate and drop pooled outputs concurrently never share a live block."""
    import threading
    K.empty_cache()
    monkeypatch.setattr(CFG, "POOL_MIN_BYTES", 1 << 14)
    monkeypatch.setattr(CFG, "POOL_BYTES", 1 << 20)
    xs = [make_x(1 << 13, np.float32, seed=s) for s in range(4)]
    refs = [R.relu_forward(x) for x in xs]
    errors = []

    def work(k):
        try:
            for _ in range(100):
                a = K.relu_forward(xs[k])
                b = K.leaky_relu_forward(xs[k], 0.0)
                assert a.ctypes.data != b.ctypes.data
                np.testing.assert_array_equal(a, refs[k])
                np.testing.assert_array_equal(b, refs[k])
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[0]
    assert K._pool_state["bytes"] <= CFG.POOL_BYTES
    K.empty_cache()


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_non_contiguous_and_mixed_inputs(dt, numba_backend):
    x = make_x(2001, dt)[::2]
    g = make_g(2001, dt)[::2]
    assert not x.flags.c_contiguous
    assert_parity("tanh_forward", K.tanh_forward(x), R.tanh_forward(x), x)
    assert_parity("relu_backward", K.relu_backward(x, g), R.relu_backward(x, g), x, g)
    x2 = make_x(64, dt).reshape(8, 8).T          # 2-D, F-ordered
    y = K.sigmoid_forward(x2)
    assert y.shape == (8, 8) and y.dtype == dt
    assert_parity("sigmoid_forward", y, R.sigmoid_forward(x2), x2)
    other = np.float32 if dt == np.float64 else np.float64
    g2 = make_g(1001, other)                      # mixed dtypes -> the twin itself
    xx = make_x(1001, dt)
    out = K.elu_backward(xx, g2, 1.0)
    assert out.dtype == dt
    np.testing.assert_array_equal(out, R.elu_backward(xx, g2, 1.0))
    s = K.relu_forward(np.asarray(dt(-2.0)))      # 0-d
    assert isinstance(s, np.ndarray) and s.shape == () and s == 0


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_dtype_preserved_params_do_not_upcast(dt, backend):
    if backend == "numba" and not HAVE_NUMBA:
        pytest.skip("numba not importable")
    K.set_backend(backend)
    try:
        x = make_x(50, dt)
        g = make_g(50, dt)
        for name, (kind, params) in CASES.items():
            params = tuple(np.float64(p) for p in params)   # worst case
            out = getattr(K, name)(*call_args(name, x, g, params))
            assert out.dtype == dt, name
    finally:
        K.set_backend(None)


@pytest.mark.parametrize("dt", [np.longdouble, np.float16], ids=["ld", "f16"])
def test_other_dtypes_go_to_twins(dt, monkeypatch):
    class Boom:
        def __getattr__(self, item):
            raise AssertionError(f"{dt} reached numba ({item})")

    K.set_backend("numba")
    monkeypatch.setattr(K, "_nb", Boom())
    try:
        x = make_x(40, dt, scale=3.0)
        g = make_g(40, dt)
        for name, (kind, params) in CASES.items():
            args = call_args(name, x, g, params)
            got = getattr(K, name)(*args)
            assert got.dtype == dt, name
            np.testing.assert_array_equal(got, getattr(R, name)(*args))
        for f in (K.softmax_forward, K.log_softmax_forward):
            assert f(x.reshape(4, 10)).dtype == dt
        losses, lp = K.cross_entropy_forward(x.reshape(4, 10), [1, 2, 3, 0])
        assert losses.dtype == lp.dtype == dt
        pre, y = K.bias_act_forward(x.reshape(4, 10).copy(), g[:10], "tanh")
        assert pre.dtype == y.dtype == dt
    finally:
        monkeypatch.undo()
        K.set_backend(None)


def test_longdouble_twin_is_accurate():
    """longdouble results agree with float64 ones (sanity of the twins)."""
    x = make_x(300, np.float64, scale=3.0)
    g = make_g(300, np.float64)
    for name, (kind, params) in CASES.items():
        a64 = getattr(K, name)(*call_args(name, x, g, params))
        ald = getattr(K, name)(*call_args(name, x.astype(np.longdouble),
                                          g.astype(np.longdouble), params))
        assert ald.dtype == np.longdouble
        np.testing.assert_allclose(ald.astype(np.float64), a64, rtol=1e-13,
                                   atol=1e-14, err_msg=name)


# ------------------------------------------ twins vs independent formulas
def test_twins_against_plain_formulas():
    ld = np.longdouble
    x = np.concatenate([np.linspace(-700, 700, 20001), extremes(np.float64),
                        np.linspace(-5, 5, 10001)])
    xl = x.astype(ld)
    eps = np.finfo(np.float64).eps
    # sigmoid vs 1/(1+exp(-x)) in longdouble
    np.testing.assert_allclose(R.sigmoid_forward(x),
                               (1 / (1 + np.exp(-xl))).astype(np.float64),
                               rtol=4 * eps, atol=0)
    # softplus vs log1p(exp(x)) in longdouble (x <= 20) and x above
    ref = np.where(x > 20, xl, np.log1p(np.exp(np.minimum(xl, 20))))
    np.testing.assert_allclose(R.softplus_forward(x), ref.astype(np.float64),
                               rtol=4 * eps, atol=0)
    np.testing.assert_allclose(
        R.softplus_backward(x, np.ones_like(x)),
        np.where(x > 20, 1, 1 / (1 + np.exp(-xl))).astype(np.float64),
        rtol=4 * eps, atol=0)
    # elu vs longdouble expm1 / exp
    np.testing.assert_allclose(
        R.elu_forward(x, 1.3),
        np.where(xl > 0, xl, ld(1.3) * np.expm1(np.minimum(xl, 0))).astype(np.float64),
        rtol=4 * eps, atol=0)
    np.testing.assert_allclose(
        R.elu_backward(x, np.ones_like(x), 1.3),
        np.where(xl > 0, 1, ld(1.3) * np.exp(np.minimum(xl, 0))).astype(np.float64),
        rtol=4 * eps, atol=0)
    # relu / leaky relu vs the obvious formulas
    np.testing.assert_array_equal(R.relu_forward(x), np.maximum(x, 0))
    np.testing.assert_array_equal(R.leaky_relu_forward(x, 0.1),
                                  np.where(x > 0, x, 0.1 * x))
    # tanh backward vs 1 - y*y in longdouble
    y = np.tanh(x[:2000] / 300)
    np.testing.assert_allclose(R.tanh_backward(y, np.ones_like(y)),
                               (1 - y.astype(ld) ** 2).astype(np.float64),
                               rtol=4 * eps, atol=0)
    np.testing.assert_allclose(R.sigmoid_backward(y, 2 * np.ones_like(y)),
                               2 * y * (1 - y), rtol=4 * eps)


def test_gelu_twin_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    xs = np.concatenate([np.linspace(-30, 8, 381), [0.0, -0.7517915, 1e-8]])
    ref_f = np.array([float(v * mpmath.ncdf(v)) for v in map(mpmath.mpf, xs)])
    ref_d = np.array([float(mpmath.ncdf(v) + v * mpmath.npdf(v))
                      for v in map(mpmath.mpf, xs)])
    # relative condition number of x*Phi(x) grows like x**2 in the tail
    eps = np.finfo(np.float64).eps
    assert (np.abs(R.gelu_forward(xs) - ref_f)
            <= 4 * eps * (1 + xs ** 2) * np.abs(ref_f)).all()
    scale = np.array([float(mpmath.ncdf(v) + abs(v) * mpmath.npdf(v))
                      for v in map(mpmath.mpf, xs)])
    err = np.abs(R.gelu_backward(xs, np.ones_like(xs)) - ref_d)
    assert (err <= 4 * eps * (1 + xs ** 2) * scale).all()
    # float32 twin = float64 twin rounded once
    x32 = xs.astype(np.float32)
    np.testing.assert_array_equal(R.gelu_forward(x32),
                                  R.gelu_forward(x32.astype(np.float64)).astype(np.float32))


def test_float32_twins_close_to_float64():
    x = make_x(20000, np.float32, scale=6.0)
    g = make_g(20000, np.float32)
    for name, (kind, params) in CASES.items():
        if kind == "yg":
            continue
        a32 = getattr(R, name)(*call_args(name, x, g, params))
        a64 = getattr(R, name)(*call_args(name, x.astype(np.float64),
                                          g.astype(np.float64), params))
        # the float64 twin is the exact value to ~2**-50 (all parameters here are exact in
        # float32), except leaky_relu's slope 0.1: float32(0.1) and the product round once each
        U = 1.0 if name.startswith("leaky") else twin_u(name, np.float32) + 2.0 ** -20
        assert_within(a32, a64, U, scale(name, x, g, params, np.abs(a64)), name)


def test_softmax_twins_against_longdouble():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((20, 37)) * 30
    x[0] = 1e4
    x[1, 3] = 1e4
    xl = x.astype(np.longdouble)
    s = xl - xl.max(axis=1, keepdims=True)
    lse = np.log(np.exp(s).sum(axis=1, keepdims=True))
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(R.softmax_forward(x), np.exp(s - lse).astype(float),
                               rtol=64 * eps, atol=1e-300)
    np.testing.assert_allclose(R.log_softmax_forward(x), (s - lse).astype(float),
                               rtol=8 * eps, atol=8 * eps * 40)
    labels = rng.integers(0, 37, 20)
    losses, lp = R.cross_entropy_forward(x, labels)
    np.testing.assert_allclose(losses, -(s - lse)[np.arange(20), labels].astype(float),
                               rtol=8 * eps, atol=8 * eps * 40)
    g = rng.standard_normal(20)
    onehot = np.eye(37)[labels]
    np.testing.assert_allclose(R.cross_entropy_backward(lp, labels, g),
                               g[:, None] * (np.exp(s - lse).astype(float) - onehot),
                               rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ row kernels
ROW_SHAPES = [(1, 1), (3, 7), (4, 1000), (2, 3, 5), (BIG // 500 + 1, 500)]


def row_inputs(shape, dt, seed=3):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 8).astype(dt)
    flat = x.reshape(-1, shape[-1])
    if flat.shape[0] >= 3 and shape[-1] >= 4:
        flat[0, :] = 5.0
        flat[1, :] = -1e4
        flat[1, 1] = 1e4
        flat[2, :2] = [-100, 100]
    g = rng.standard_normal(shape).astype(dt)
    return x, g


def _pairwise_units(C):
    """Error of NumPy's float64 row sum (pairwise: 8 running sums of at most 16 terms, 3 levels
    combining them, one level per halving above 128 terms), in units of eps * sum|terms|."""
    if C < 8:
        return max(C - 1, 0)
    return 18 + max(0, int(np.ceil(np.log2(C / 128))))


def row_u(name, dt, C, twin):
    """Bound (units of eps * row_scale) of the softmax family against the exact values.

    With E the error of exp (units), s the row sum's error and L log's (all bounds from the
    docstrings of the kernels, or NumPy's documented accuracy for the twins), and 1/2 per
    rounded arithmetic operation:
    * softmax: exp(x_j - m) / sum: E + the sum's weighted E + s + 1/2; x_j - m rounds, which
      exp turns into a relative error |x_j - m| / 2 (in the scale): 2E + s + 1/2;
    * softmax backward y * (g - sum(g*y)): products 1/2, s, difference 1/2, product 1/2;
    * log_softmax (x - m) - log(sum): E + s + L + 1;
    * log_softmax backward g - exp(y) * sum(g): s + E + 1/2 + 1/2;
    * cross_entropy backward g * (exp(lp) - onehot): E + 1.
    E: float32 kernel 1.5 (Cephes expf, <= 1 ulp from the correctly rounded value), float64
    kernel 1 (libm), twins 3.5 | 1.5 (NumPy). s: the float32 sums run in float64 and are rounded
    once (1/2; 0 where the float64 sum goes into log), the float64 kernel's are compensated (2),
    the float64 twin's pairwise (`_pairwise_units`). L: 1/2 (float32, a float64 log rounded),
    1 (float64 kernel), 1.5 (float64 twin, NumPy's log).
    """
    f32 = np.dtype(dt) == np.float32
    if twin:
        E, s, L = (3.5, 0.5, 0.5) if f32 else (1.5, _pairwise_units(C), 1.5)
    else:
        E, s, L = (1.5, 0.5, 0.5) if f32 else (1.0, 2.0, 1.0)
    if name == "softmax_forward":
        return 2 * E + s + 0.5
    if name == "softmax_backward":
        return s + 1.5
    if name == "log_softmax_forward":
        return E + (0.0 if f32 else s) + L + 1
    if name == "log_softmax_backward":
        return s + E + 1
    if name == "cross_entropy_backward":
        return E + 1
    raise KeyError(name)


def exact_rows(name, a, g=None):
    """(hi, lo): the exact softmax-family values along the last axis (a: x, or y for the
    backwards, g the incoming gradient), in the working type of `_Exact`."""
    E = _Exact(a.dtype)
    A = E.arr(a)
    with E.precision():
        if name in ("softmax_forward", "log_softmax_forward"):
            t = A - A.max(axis=-1, keepdims=True)
            ex = E.exp(t)
            s = ex.sum(axis=-1, keepdims=True)
            e = ex / s if name == "softmax_forward" else t - E.log(s)
        elif name == "softmax_backward":
            G = E.arr(g)
            e = A * (G - (G * A).sum(axis=-1, keepdims=True))
        else:
            G = E.arr(g)
            e = G - E.exp(A) * G.sum(axis=-1, keepdims=True)
        return E.split(e)


def row_scale(name, a, g, y_exact):
    """S of the row bounds (float64, >= tiny): a = x (forwards) or the given y (backwards)."""
    tiny = float(np.finfo(a.dtype).tiny)
    ad = a.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if name in ("softmax_forward", "log_softmax_forward"):
            dist = np.abs(ad.max(axis=-1, keepdims=True) - ad)
            p = np.exp(-dist)
            p = p / p.sum(axis=-1, keepdims=True)
            spread = (p * dist).sum(axis=-1, keepdims=True)
            if name == "softmax_forward":
                s = np.abs(y_exact) * (1 + dist + spread)
            else:
                s = dist + np.abs(y_exact) + 1 + spread
        elif name == "softmax_backward":
            gd = g.astype(np.float64)
            s = np.abs(ad) * (np.abs(gd) + np.abs(gd * ad).sum(axis=-1, keepdims=True))
        else:
            gd = g.astype(np.float64)
            s = np.abs(gd) + np.exp(ad) * np.abs(gd).sum(axis=-1, keepdims=True)
    return np.maximum(s, tiny)


def assert_rows(name, got, twin, a, g=None, what=None):
    """kernel and twin each within their row_u of the exact values, hence within the sum of
    the two of each other; the same specials."""
    what = what or name
    hi, lo = exact_rows(name, a, g)
    S = row_scale(name, a, g, hi)
    C = a.shape[-1]
    assert_within(got, hi, row_u(name, a.dtype, C, False), S, what + " kernel", lo)
    assert_within(twin, hi, row_u(name, a.dtype, C, True), S, what + " twin", lo)
    assert_specials_agree(got, twin, what)


@needs_numba
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_softmax_family_parity(shape, dt, numba_backend):
    x, g = row_inputs(shape, dt)
    xc, gc = x.copy(), g.copy()
    y = K.softmax_forward(x)
    assert y.dtype == dt
    assert_rows("softmax_forward", y, R.softmax_forward(x), x)
    yr = R.softmax_forward(x)
    assert_rows("softmax_backward", K.softmax_backward(yr, g), R.softmax_backward(yr, g), yr, g)
    lp = R.log_softmax_forward(x)
    assert_rows("log_softmax_forward", K.log_softmax_forward(x), lp, x)
    assert_rows("log_softmax_backward", K.log_softmax_backward(lp, g),
                R.log_softmax_backward(lp, g), lp, g)
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(g, gc)
    if len(shape) == 2:
        n, C = shape
        labels = np.random.default_rng(4).integers(0, C, n)
        losses, lpk = K.cross_entropy_forward(x, labels)
        losses_r, lpr = R.cross_entropy_forward(x, labels)
        assert losses.dtype == lpk.dtype == dt and losses.shape == (n,)
        np.testing.assert_array_equal(lpk, K.log_softmax_forward(x))   # the same kernel
        np.testing.assert_array_equal(losses, -lpk[np.arange(n), labels])
        np.testing.assert_array_equal(losses_r, -lpr[np.arange(n), labels])
        gl = g[:, 0].copy()
        got = K.cross_entropy_backward(lpr, labels, gl)
        twin = R.cross_entropy_backward(lpr, labels, gl)
        onehot = np.eye(C)[labels]
        E = _Exact(dt)
        with E.precision():
            hi, lo = E.split(E.arr(gl)[:, None] * (E.exp(E.arr(lpr)) - E.arr(onehot)))
        S = np.maximum(np.abs(gl.astype(np.float64))[:, None]
                       * (np.exp(lpr.astype(np.float64)) + onehot), float(np.finfo(dt).tiny))
        for out, twin_side in ((got, False), (twin, True)):
            assert_within(out, hi, row_u("cross_entropy_backward", dt, C, twin_side), S,
                          f"cross_entropy_backward {'twin' if twin_side else 'kernel'}", lo)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_cross_entropy_bad_labels(backend):
    if backend == "numba" and not HAVE_NUMBA:
        pytest.skip("numba not importable")
    K.set_backend(backend)
    try:
        x = np.zeros((3, 4), np.float32)
        lp = R.log_softmax_forward(x)
        for bad in (-1, 4, 99):
            labels = np.array([0, bad, 1])
            with pytest.raises(ValueError, match=rf"label {bad}\b.*C=4"):
                K.cross_entropy_forward(x, labels)
            with pytest.raises(ValueError, match=rf"label {bad}\b.*C=4"):
                K.cross_entropy_backward(lp, labels, np.ones(3, np.float32))
        with pytest.raises(ValueError):
            K.cross_entropy_forward(x, np.array([0, 1]))
        with pytest.raises(TypeError):
            K.cross_entropy_forward(x, np.array([0.0, 1.0, 2.0]))
        losses, _ = K.cross_entropy_forward(x, np.array([0, 3, 1], np.int32))
        np.testing.assert_allclose(losses, np.log(4), rtol=1e-6)
    finally:
        K.set_backend(None)


# --------------------------------------------------------- linear epilogue
ACTS = [("identity", None), ("relu", None), ("leaky_relu", 0.2),
        ("elu", 0.7), ("gelu", None), ("sigmoid", None), ("tanh", None),
        ("softplus", None)]
ACT_NAME = {"identity": None, "relu": "relu_forward",
            "leaky_relu": "leaky_relu_forward", "elu": "elu_forward",
            "gelu": "gelu_forward", "sigmoid": "sigmoid_forward",
            "tanh": "tanh_forward", "softplus": "softplus_forward"}


def act_params(act, alpha):
    """the parameters of the activation's kernel (``bias_act_forward``'s defaults)."""
    alpha = {"leaky_relu": 0.01, "elu": 1.0}.get(act) if alpha is None else alpha
    return {"leaky_relu": (alpha,), "elu": (alpha,), "softplus": (1.0, 20.0)}.get(act, ())


def assert_act_parity(act, alpha, y, y_r, pre):
    if act == "identity":
        np.testing.assert_array_equal(y, y_r)
    else:
        assert_parity(ACT_NAME[act], y, y_r, pre, None, act_params(act, alpha))


@needs_numba
@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (5, 7), (BIG // 300 + 1, 300)],
                         ids=str)
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("act,alpha", ACTS)
def test_bias_act_parity(act, alpha, dt, shape, numba_backend):
    rng = np.random.default_rng(7)
    z = (rng.standard_normal(shape) * 4).astype(dt)
    b = rng.standard_normal(shape[1]).astype(dt)
    z1, z2 = z.copy(), z.copy()
    pre, y = K.bias_act_forward(z1, b, act, alpha)
    pre_r, y_r = R.bias_act_forward(z2, b, act, alpha)
    assert pre is z1                          # documented in-place update
    assert pre.dtype == y.dtype == dt and y.shape == shape
    np.testing.assert_array_equal(pre, pre_r)
    np.testing.assert_array_equal(pre, z + b)
    assert_act_parity(act, alpha, y, y_r, pre_r)
    # no bias: pre is z untouched; activation applied
    z3 = z.copy()
    pre, y = K.bias_act_forward(z3, None, act, alpha)
    assert pre is z3
    np.testing.assert_array_equal(z3, z)
    assert_act_parity(act, alpha, y, R.bias_act_forward(z.copy(), None, act, alpha)[1], z)
    # backward dispatch
    g = rng.standard_normal(shape).astype(dt)
    pre_c, y_c = pre_r.copy(), y_r.copy()
    gb = K.act_backward(act, pre_r, y_r, g, alpha)
    gb_r = R.act_backward(act, pre_r, y_r, g, alpha)
    assert gb.dtype == dt and gb is not g
    name = act + "_backward" if act != "identity" else None
    if name is None:
        np.testing.assert_array_equal(gb, gb_r)
    else:
        assert_parity(name, gb, gb_r, pre_r, g, act_params(act, alpha))
    np.testing.assert_array_equal(pre_r, pre_c)
    np.testing.assert_array_equal(y_r, y_c)


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_linear_act_forward(dt, numba_backend):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((33, 17)).astype(dt)
    W = rng.standard_normal((17, 9)).astype(dt)
    b = rng.standard_normal(9).astype(dt)
    xc, Wc, bc = x.copy(), W.copy(), b.copy()
    for act, alpha in ACTS:
        pre, y = K.linear_act_forward(x, W, b, act, alpha)
        pre_r, y_r = R.linear_act_forward(x, W, b, act, alpha)
        assert pre.dtype == y.dtype == dt
        np.testing.assert_array_equal(pre, pre_r)
        assert_act_parity(act, alpha, y, y_r, pre_r)
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(W, Wc)
    np.testing.assert_array_equal(b, bc)
    pre, y = K.linear_act_forward(x[0], W, b, "relu")      # 1-D input
    assert pre.shape == (9,)
    np.testing.assert_array_equal(y, np.maximum(x[0] @ W + b, 0))
    ro = np.dot(x, W)
    ro.flags.writeable = False                              # read-only z
    pre, y = K.bias_act_forward(ro, b, "tanh")
    assert pre is not ro
    with pytest.raises(ValueError, match="unknown activation"):
        K.bias_act_forward(np.dot(x, W), b, "swish")


# ---------------------------------------------------------------- backends
def test_set_backend_numpy_uses_twins(numpy_backend):
    assert K.backend() == "numpy"
    x = make_x(2000, np.float32)
    np.testing.assert_array_equal(K.tanh_forward(x), R.tanh_forward(x))
    np.testing.assert_array_equal(K.softmax_forward(x.reshape(20, 100)),
                                  R.softmax_forward(x.reshape(20, 100)))
    with pytest.raises(ValueError):
        K.set_backend("cupy")


_PRELUDE = textwrap.dedent(f"""
    import sys, importlib, importlib.util
    sys.path.insert(0, {str(REPO)!r})
    try:
        import autonn.kernels as K
    except Exception:
        d = {str(REPO / 'autonn' / 'kernels')!r}
        spec = importlib.util.spec_from_file_location(
            'autonn_kernels_standalone', d + '/__init__.py',
            submodule_search_locations=[d])
        K = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = K
        spec.loader.exec_module(K)
    import numpy as np
""")


def _run(code, **env):
    e = dict(os.environ)
    e.pop("AUTONN_KERNELS", None)
    e.update(env)
    r = subprocess.run([sys.executable, "-c", _PRELUDE + textwrap.dedent(code)],
                       capture_output=True, text=True, env=e, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_import_does_not_import_numba():
    out = _run("print('numba' in sys.modules)")
    assert out == ["False"]


def test_env_var_numpy_honoured():
    out = _run("""
        y = K.tanh_forward(np.ones(5, np.float32))
        print(K.backend(), 'numba' in sys.modules, y.dtype)
    """, AUTONN_KERNELS="numpy")
    assert out == ["numpy", "False", "float32"]


def test_parallel_threshold_env_override():
    out = _run("""
        cfg = sys.modules[K.__name__ + '._config']
        print(cfg.PARALLEL_THRESHOLD)
    """, AUTONN_PARALLEL_THRESHOLD="12345")
    assert out == ["12345"]


@needs_numba
def test_openmp_spin_is_short_unless_the_user_set_it():
    # Numba's OpenMP workers must not keep spinning next to BLAS's threads (see kernels): the
    # value is in the environment from `import autonn` on, before any libgomp (Numba's, or
    # one that torch imported after autonn brings) reads it
    code = """
        import os
        print(os.environ.get('GOMP_SPINCOUNT'))
        import autonn
        print(os.environ.get('GOMP_SPINCOUNT'))
        autonn.kernels.backend()  # loads numba
        print(os.environ.get('GOMP_SPINCOUNT'))
    """
    env = dict(os.environ)
    env.pop("GOMP_SPINCOUNT", None)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.stdout.split() == ["None", CFG.GOMP_SPINCOUNT, CFG.GOMP_SPINCOUNT], r.stderr
    env["GOMP_SPINCOUNT"] = "5"
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.stdout.split() == ["5", "5", "5"], r.stderr
    # a chosen OMP_WAIT_POLICY is left in charge (GOMP_SPINCOUNT would override it)
    env.pop("GOMP_SPINCOUNT")
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.stdout.split() == ["None", "None", "None"], r.stderr


def test_missing_numba_falls_back_silently():
    out = _run("""
        import warnings
        warnings.simplefilter('error')
        sys.modules['numba'] = None          # makes 'import numba' fail
        y = K.sigmoid_forward(np.array([0.0, 1000.0, -1000.0], np.float32))
        print(K.backend(), y.tolist())
    """)
    assert out == ["numpy", "[0.5,", "1.0,", "0.0]"]


# ------------------------------------------------------------- stability
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_extreme_values_no_warnings_and_finite(dt, backend, recwarn):
    if backend == "numba" and not HAVE_NUMBA:
        pytest.skip("numba not importable")
    K.set_backend(backend)
    try:
        x = np.array([-1e4, -100, -30, 0, 30, 100, 1e4], dt)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = K.sigmoid_forward(x)
            np.testing.assert_array_equal(s[[0, -1]], [0, 1])
            assert np.isfinite(K.softplus_forward(x)).all()
            assert np.isfinite(K.softplus_backward(x, np.ones_like(x))).all()
            np.testing.assert_array_equal(K.tanh_forward(x)[[0, -1]], [-1, 1])
            assert np.isfinite(K.elu_forward(x)).all()
            assert np.isfinite(K.gelu_forward(x)).all()
            sm = K.softmax_forward(x.reshape(1, -1))
            np.testing.assert_allclose(sm.sum(), 1, rtol=1e-6)
            assert np.isfinite(K.log_softmax_forward(x.reshape(1, -1))).all()
        np.testing.assert_array_equal(K.softplus_forward(x)[-3:], x[-3:])
        assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    finally:
        K.set_backend(None)


@needs_numba
def test_nan_propagates(numba_backend):
    for dt in FLOATS:
        x = np.array([np.nan, 1.0], dt)
        for name in ("relu_forward", "leaky_relu_forward", "elu_forward",
                     "gelu_forward", "sigmoid_forward", "tanh_forward",
                     "softplus_forward"):
            assert np.isnan(getattr(K, name)(x)[0]), name
            assert np.isnan(getattr(R, name)(x)[0]), name


def _edge_values(dt):
    """signed zeros, infinities, NaN, subnormals, the largest values, and the tails where the
    kernels' results underflow (sign of zero) or saturate."""
    fi = np.finfo(dt)
    v = [0.0, -0.0, np.inf, -np.inf, np.nan, float(fi.smallest_subnormal),
         -float(fi.smallest_subnormal), float(fi.tiny), -float(fi.tiny), float(fi.max),
         -float(fi.max), 1e30, -1e30, 88.0, -88.0, 40.0, -40.0, -38.6, -20.0, -17.0, -14.5,
         -104.0, -750.0, 750.0, 20.0, 20.5, -0.7517915]
    return np.array(v, dt)


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_edges_agree_with_twins(dt, numba_backend):
    """at the edges every elementwise kernel gives its twin's value, the sign of zero included
    (with g = 1, -1 and 0.5, serial and parallel, contiguous or not), and the right one:
    * elu(-0) = alpha * expm1(-0) = -0 (C99's expm1(-0); PyTorch's elu(-0) is -0 too);
    * gelu'(x) underflows to -0 for x << 0: the derivative Phi(x) + x phi(x) is negative below
      x = -0.7518, and an underflowed result keeps the sign of the exact one (the forward gives
      -0 there for the same reason). PyTorch gives +0 (0 + x*0).
    """
    x = np.tile(_edge_values(dt), 3)
    for gv in (1.0, -1.0, 0.5):
        g = np.full_like(x, gv)
        for name, (kind, params) in CASES.items():
            args = call_args(name, x, g, params)
            with np.errstate(all="ignore"):
                got, twin = getattr(K, name)(*args), getattr(R, name)(*args)
                assert_parity(name, got, twin, x, g, params, what=f"{name} g={gv}")
                # strided views take the same path (after a contiguous copy)
                args2 = call_args(name, np.repeat(x, 2)[::2], np.repeat(g, 2)[::2], params)
                np.testing.assert_array_equal(getattr(K, name)(*args2), got)
    minus0 = np.full(64, -0.0, dt)
    for a in (1.0, 1.7):
        for y in (K.elu_forward(minus0, a), R.elu_forward(minus0, a)):
            assert (y == 0).all() and np.signbit(y).all()
        _, y = K.bias_act_forward(minus0.reshape(8, 8).copy(), None, "elu", a)
        assert np.signbit(y).all()
    tail = np.full(64, -88.0, dt)
    for f in (K, R):
        d = f.gelu_backward(tail, np.ones_like(tail))
        assert (d == 0).all() and np.signbit(d).all()
        d = f.gelu_backward(tail, -np.ones_like(tail))
        assert (d == 0).all() and not np.signbit(d).any()
    y, d = K.gelu_forward_and_derivative(tail)
    assert np.signbit(y).all() and np.signbit(d).all()


@needs_numba
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("layout", ["C", "strided", "F"])
def test_softmax_family_edges_agree_with_twins(dt, layout, numba_backend):
    """rows holding +-inf or NaN: the kernels give the twins' values. softmax_backward with an
    inf in y: the row sum sum(g*y) is inf (the float64 kernel's compensated sum gave NaN), so the
    row is y * (g - inf): -inf where y > 0, NaN where y = 0 (0 * inf), as NumPy."""
    y = np.array([[0.2, np.inf, 0.3, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4, 0.0],
                  [0.5, -np.inf, 0.5, 0.0, 0.0], [0.5, np.nan, 0.5, 0.0, 0.0]] * 4, dt)
    g = np.tile(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dt), (16, 1))
    if layout == "strided":
        y, g = np.repeat(y, 2, axis=1)[:, ::2], np.repeat(g, 2, axis=1)[:, ::2]
    elif layout == "F":
        y, g = np.asfortranarray(y), np.asfortranarray(g)
    with np.errstate(all="ignore"):
        for name, args in (("softmax_backward", (y, g)), ("log_softmax_backward", (y, g)),
                           ("softmax_forward", (y,)), ("log_softmax_forward", (y,)),
                           ("log_softmax_backward", (g, y))):
            got, twin = getattr(K, name)(*args), getattr(R, name)(*args)
            assert_specials_agree(got, twin, name)
            fin = np.isfinite(twin)
            np.testing.assert_allclose(got[fin], twin[fin], rtol=1e3 * np.finfo(dt).eps,
                                       err_msg=name)
        sb = K.softmax_backward(y, g)
    np.testing.assert_array_equal(sb[0], [-np.inf] * 4 + [np.nan])
    assert np.isfinite(sb[1]).all()


def _numpy_simd_targets():
    """(NumPy's dispatch targets, those of them in use): its names (X86_V3, AVX512_ICL,
    ASIMDHP, ...) for the SIMD loops it builds beyond its baseline, and those this CPU has and
    the environment did not switch off. Switching all of them off (valid also for those the CPU
    lacks) leaves NumPy its baseline loops."""
    try:
        from numpy._core import _multiarray_umath as mu
    except ImportError:  # pragma: no cover  (NumPy 1.x)
        from numpy.core import _multiarray_umath as mu
    targets = list(mu.__cpu_dispatch__)
    return targets, [f for f in targets if mu.__cpu_features__.get(f)]


#: the tests that compare with NumPy's float functions (exp, expm1, log1p, tanh, log)
NUMPY_DEPENDENT = ("parity or accuracy or dense or twin or gelu_specials or sigmoid_float32 "
                   "or non_contiguous or hypothesis or edges or linear_act")


@needs_numba
def test_kernels_hold_their_bounds_on_numpy_baseline_paths():
    """NumPy's SIMD exp/tanh/... differ by an ulp or so between its dispatch targets (AVX-512,
    AVX2, baseline), so the NumPy-dependent kernel tests run once more, in a fresh process, with
    all of NumPy's dispatch targets switched off (NPY_DISABLE_CPU_FEATURES with the names from
    NumPy's own list, valid for any NumPy version and architecture): bounds that hold against
    the exact values hold on both. The main run covers the CPU's own best paths."""
    if os.environ.get("AUTONN_KERNELS_BASELINE_RUN"):
        pytest.skip("this is the baseline run itself")
    targets, in_use = _numpy_simd_targets()
    if not in_use:
        pytest.skip("NumPy runs its baseline loops here already (no dispatched features in use)")
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(targets),
               AUTONN_KERNELS_BASELINE_RUN="1")
    env.pop("AUTONN_KERNELS", None)
    code = ("import sys, numpy as np; from numpy._core import _multiarray_umath as mu; "
            "print([f for f in mu.__cpu_dispatch__ if mu.__cpu_features__.get(f)])")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)
    r = subprocess.run([sys.executable, "-m", "pytest", str(Path(__file__)), "-q",
                        "-p", "no:cacheprovider", "-k", NUMPY_DEPENDENT],
                       env=env, cwd=str(REPO), capture_output=True, text=True, timeout=900,
                       check=False)
    tail = "\n".join(r.stdout.splitlines()[-15:])
    assert r.returncode == 0 and " passed" in tail and "failed" not in tail, tail + r.stderr


# --------------------------------------------------------------- hypothesis
def float_arrays(dt, max_side=40):
    el = st.floats(-1e4, 1e4, width=32 if dt == np.float32 else 64,
                   allow_nan=False)
    return hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=2,
                                           max_side=max_side), elements=el)


@needs_numba
@FAST
@given(data=st.data())
def test_hypothesis_elementwise(data):
    dt = data.draw(st.sampled_from(FLOATS))
    x = data.draw(float_arrays(dt))
    g = data.draw(hnp.arrays(dt, x.shape, elements=st.floats(
        -100, 100, width=32 if dt == np.float32 else 64)))
    K.set_backend("numba")
    try:
        for name, (kind, params) in CASES.items():
            args = call_args(name, x, g, params)
            got = getattr(K, name)(*args)
            assert got.dtype == dt
            assert_parity(name, got, getattr(R, name)(*args), x, g, params)
    finally:
        K.set_backend(None)


@needs_numba
@FAST
@given(data=st.data())
def test_hypothesis_rows(data):
    dt = data.draw(st.sampled_from(FLOATS))
    x = data.draw(hnp.arrays(dt, hnp.array_shapes(min_dims=2, max_dims=2,
                                                  max_side=30),
                             elements=st.floats(-1e3, 1e3, width=32 if dt == np.float32 else 64)))
    n, C = x.shape
    labels = data.draw(hnp.arrays(np.int64, (n,),
                                  elements=st.integers(0, C - 1)))
    K.set_backend("numba")
    try:
        y = K.softmax_forward(x)
        np.testing.assert_allclose(y.sum(-1), 1, rtol=C * np.finfo(dt).eps * 4)
        lp = R.log_softmax_forward(x)
        assert_rows("log_softmax_forward", K.log_softmax_forward(x), lp, x)
        losses, lpk = K.cross_entropy_forward(x, labels)
        assert (losses >= 0).all()
        gr = K.cross_entropy_backward(lpk, labels, np.ones(n, dt))
        np.testing.assert_allclose(gr.sum(-1), 0, atol=C * np.finfo(dt).eps * 8)
    finally:
        K.set_backend(None)


# ------------------------------------------------------------------ docs
def test_docstring_examples():
    K.set_backend(None)
    for mod in (K, R):
        res = doctest.testmod(mod, extraglobs={"np": np},
                              optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0
    K.set_backend(None)


def test_every_public_kernel_has_example():
    for name in K.__all__:
        obj = getattr(K, name)
        if callable(obj):
            assert obj.__doc__ and ">>>" in obj.__doc__, name


# ------------------------------------------------------ measuring the bounds
def scan(dt=np.float32, stride=61, names=None):
    """Print each kernel's largest error against the exact values, in units of eps * S (the
    KERNEL_U numbers): float32 over every ``stride``-th float32 bit pattern and every
    ``stride // 8``-th float32 of [-20, 20]; float64 over 1.2e6 random values of magnitude
    1e-12..750 (gelu: 1e5, mpmath is slow). Backwards with g = 1 (the derivative alone).
    ``python -m autonn_tests.test_kernels [float32|float64] [stride]`` (stride 61: minutes)."""
    import time
    CFG.NUMBA_MIN_SIZE = 0
    K.set_backend("numba")
    dt = np.dtype(dt)
    if dt == np.float32:
        chunks = [np.arange(s, min(s + (stride << 24), 1 << 32), stride, dtype=np.uint64)
                  .astype(np.uint32).view(np.float32) for s in range(0, 1 << 32, stride << 24)]
        lo, hi = np.array([0.0, 20.0], np.float32).view(np.uint32)
        dense = np.arange(lo, hi, max(1, stride // 8), dtype=np.uint32).view(np.float32)
        chunks += [dense, -dense]
    else:
        rng = np.random.default_rng(1)
        chunks = []
        for n in (400_000, 10_000):
            mag = np.exp(rng.uniform(np.log(1e-12), np.log(750), n))
            chunks.append(np.concatenate([mag, -mag, rng.uniform(-20, 20, n),
                                          rng.uniform(-1, 0, n // 4)]))
    for name in names or ACCURACY_NAMES:
        for params in (CASES[name][1],) + ((EXTRA_PARAMS[name],) if name in EXTRA_PARAMS
                                            else ()):
            t, worst, at = time.time(), 0.0, None
            for x in chunks:
                if dt == np.float64 and name.startswith("gelu") and x.size > 100_000:
                    continue
                x = x.astype(dt)
                one = np.ones_like(x)
                with np.errstate(all="ignore"):
                    got = getattr(K, name)(*call_args(name, x, one, params))
                    h, lo_ = exact(name, x, one, params)
                    S = scale(name, x, one, params, np.abs(h))
                    u = np.abs((got.astype(np.float64) - h) - lo_) / (np.finfo(dt).eps * S)
                    u = np.where(np.isfinite(h.astype(dt)), u, 0)
                k = int(np.argmax(u))
                if u[k] > worst:
                    worst, at = float(u[k]), float(x[k])
            print(f"{dt.name} {name}{params}: max {worst:.3f} units at x = {at!r} "
                  f"[{time.time() - t:.0f} s]", flush=True)


if __name__ == "__main__":
    scan(sys.argv[1] if len(sys.argv) > 1 else "float32",
         int(sys.argv[2]) if len(sys.argv) > 2 else 61)

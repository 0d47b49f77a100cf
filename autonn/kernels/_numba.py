"""Numba kernels (imported lazily by :mod:`autonn.kernels`, never at import).

Conventions
-----------
* Elementwise kernels take flat 1-D C-contiguous arrays and write into a
  preallocated ``out``; the softmax family and the linear epilogue take 2-D
  C-contiguous arrays.  Allocation, reshaping, dtype/contiguity checks and the
  serial/parallel choice live in the dispatcher (``__init__.py``).
* Every kernel body is compiled twice from the same Python function, once
  serial and once parallel (``prange``; ``parallel=`` restricted to the
  prange transformation, see ``_PAR``), both ``cache=True``.
  Numba's cache index key does not include the ``parallel`` flag, so the
  parallel twin is compiled from a *clone* of the function with its own
  ``__qualname__`` (``<name>_par``) and therefore its own cache file.
* All kernels use ``error_model='numpy'`` (no zero-division branches, so the
  loops vectorise) and no fastmath: IEEE semantics, NaN propagates, and the
  arithmetic is done in the same order as the NumPy twins in ``_numpy.py``.
* Scalar types never widen: constants are made with ``x.dtype.type(...)`` or
  are float32 globals inside float32-only code.  Polynomial kernels pass
  their float32 constants through ``_opaque`` before the loop, so that the
  parallel variant keeps them in registers (see there).
* relu forward/backward for outputs past the last-level cache have a
  hand-vectorised variant with streaming stores (``relu_fwd_stream``).

Elementary functions
--------------------
float64 uses libm (``math.exp``, ``math.expm1``, ``math.log1p``,
``math.tanh``, ``math.erfc``; glibc documents at most 1 ulp for exp, expm1,
log1p, 2 for tanh, 5 for erfc), so its bounds are derived from those.
float32 uses branch-free polynomials that LLVM vectorises (PyPI llvmlite has
no SVML, so libm calls would be scalar).  Bounds below are max ulp over ALL
finite float32 inputs of the stated range, measured exhaustively:

* ``_exp32``  Cephes ``expf`` (Cody-Waite reduction by ln2, degree-6
  polynomial, 2**n built from integer bits in two factors so subnormal
  results are right), +inf above 88.7228, 0 below -103.97.  <= 1 ulp vs the
  correctly rounded exp, <= 3 ulp vs ``np.exp`` (NumPy's float32 SIMD exp is
  itself up to 3 ulp off).
* ``_tanh32`` Eigen ``generic_fast_tanh_float``: [13/6] rational, input
  clamped to +-7.90531110763549805 (where it is exactly +-1), x itself for
  |x| < 4e-4.  <= 7 ulp vs ``np.tanh`` and vs correctly rounded (max near
  |x| ~ 6); NumPy's float32 tanh is <= 1 ulp.
* ``_log1p_unit32`` Cephes ``logf`` polynomial on 1+u for u in [0, 1] (the
  only range softplus needs, no frexp): <= 1 ulp vs ``np.log1p``.
* ``_expm1_neg32`` expm1 for x <= 0: Taylor degree 8 on [-0.5, 0],
  ``_exp32(x) - 1`` below: <= 2 ulp vs ``np.expm1``.
* float32 gelu is pure float32 too, evaluated with explicit FMAs
  (``_fma32``): Phi = 1/2 + x*Q(x*x) for |x| < 1, else Phi(-|x|) =
  exp(-x*x/2) * R(|x|) with R = erfcx(|x|/sqrt 2)/2 a polynomial in
  u = 1/(1 + |x|/2) and the exponent formed from the exact x*x
  (hi + lo, lo = fma(x, x, -hi)), so the negative tail keeps relative
  accuracy down to the underflow near x = -14 (see the comment at
  ``_gelu_core32``).  vs the twin (float64 libm erfc, rounded once):
  forward <= 5 ulp, derivative (g = 1) <= 2 ulp in the scaled form
  ``|err| <= 2 * eps32 * (Phi + |x| phi)`` (the two terms cancel near
  x = -0.75); measured exhaustively over every float32 with |x| < 17
  (beyond, gelu = x or -0 and gelu' = 1 or -0 exactly, as the twin; +-inf
  and NaN give the twin's inf/NaN).  ``gelu_fwd_d`` computes both in one
  pass, bit-identical to ``gelu_fwd`` and ``gelu_bwd`` with g = 1.
  For comparison, PyTorch 2.13's CPU float32 GELU (x/2 * (1 + erf(x/sqrt 2))
  with an Abramowitz-Stegun 7.1.26 erf) is absolutely accurate
  (|err| <= ulp(y) + 0.95 eps32 max(|x|, 1) forward, ulp + 2.1 eps32
  max(|x|, 1) derivative) but loses all relative accuracy for x < -3
  (up to ~8.7e8 ulp from the twin).  float64 gelu: libm erfc/exp.

The bounds above are ulp distances to the NumPy twins as measured when these
kernels were written (``python3 benchmarks/bench_kernels.py --ulp``); twins
differ between CPUs, so the bounds that hold and are tested are those against
the exact values, in the docstrings of ``__init__.py`` (float32 composites:
tanh 3.5, gelu 3, sigmoid 1.75, softplus 1.5, elu 1.5 units; derivatives elu
and softplus 1.75, gelu 1.75), measured by ``python -m autonn_tests.test_kernels``
and enforced by ``autonn_tests/test_kernels.py``.
"""

import math
import types as _pytypes

import numpy as np
from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import _config, _fastload
from ._config import COST_ARITH, COST_LIBM, COST_POLY

_JOPT = {"error_model": "numpy"}
_KOPT = {"cache": True, "nogil": True, "error_model": "numpy"}
# only the explicit prange loops are parallelised: skipping numba's
# array-expression/fusion/reduction passes cuts the parallel compile time
# by ~25% and changes nothing for these hand-written loops.
_PAR = {"prange": True, "comprehension": False, "setitem": False,
        "reduction": False, "numpy": False, "stencil": False,
        "fusion": False, "inplace_binop": False}

f32 = np.float32


# ------------------------------------------------------------------ plumbing
class Kernel:
    """A serial and a parallel compiled variant of one kernel body.

    ``cost`` is ``(float32_cost, float64_cost)`` per element (see _config).
    """

    __slots__ = ("name", "ser", "par", "cost")

    def __init__(self, fn, cost):
        self.name = fn.__name__
        self.cost = cost
        self.ser = _fastload.install(njit(**_KOPT)(fn))
        clone = _pytypes.FunctionType(fn.__code__, fn.__globals__,
                                      fn.__name__ + "_par", fn.__defaults__,
                                      fn.__closure__)
        clone.__qualname__ = fn.__qualname__ + "_par"
        clone.__module__ = fn.__module__
        clone.__doc__ = fn.__doc__
        self.par = _fastload.install(njit(parallel=_PAR, **_KOPT)(clone))

    def pick(self, n, dtype):
        """The variant to run for n elements of the given dtype."""
        c = self.cost[0] if dtype == np.float32 else self.cost[1]
        return self.par if n * c >= _config.PARALLEL_THRESHOLD else self.ser

    def __call__(self, n, *args):
        c = self.cost[0] if args[0].dtype == np.float32 else self.cost[1]
        if n * c >= _config.PARALLEL_THRESHOLD:
            self.par(*args)
        else:
            self.ser(*args)


def kernel(cost):
    return lambda fn: Kernel(fn, cost)


@intrinsic
def _pow2i_f32(typingctx, n):
    """2**n as float32 for an integral float32 n in [-126, 127] (bit ops)."""
    if n != types.float32:
        return None
    sig = types.float32(types.float32)

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        k = builder.fptosi(args[0], i32)
        k = builder.add(k, ir.Constant(i32, 127))
        k = builder.shl(k, ir.Constant(i32, 23))
        return builder.bitcast(k, ir.FloatType())

    return sig, codegen


@intrinsic
def _fma32(typingctx, a, b, c):
    """a*b + c rounded once (``llvm.fma.f32``: vfmadd on FMA hardware, and
    vectorised like any arithmetic; a libm fmaf call elsewhere)."""
    if not (a == types.float32 and b == types.float32 and c == types.float32):
        return None
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        f = ir.FloatType()
        fn = builder.module.declare_intrinsic("llvm.fma", [f],
                                              ir.FunctionType(f, [f, f, f]))
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def _pow2p64_f32(typingctx, m):
    """2**(n + 64) as float32 from ``m = 1.5*2**23 + n`` (the rounding sum of
    the magic-number trick), n integral in [-191, 63]: the low mantissa bits
    of m hold n, so this is an integer add and a shift.  n = -191 gives +0."""
    if m != types.float32:
        return None
    sig = types.float32(types.float32)

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        k = builder.bitcast(args[0], i32)
        k = builder.add(k, ir.Constant(i32, 127 + 64))
        k = builder.shl(k, ir.Constant(i32, 23))
        return builder.bitcast(k, ir.FloatType())

    return sig, codegen


@intrinsic
def _opaque(typingctx, n, c):
    """c (a float32 or a tuple of float32) unchanged, as values LLVM cannot
    constant-fold: each is ``select(n < 0, 0, c_i)`` with n an array length
    (never negative).  A kernel passes its polynomial constants through this
    once, before its loop.  Folded splat constants are what LLVM
    re-broadcasts from memory inside the parallel variant's loop (the prange
    body becomes a gufunc, a loop nest), one vbroadcastss per constant per
    8 lanes: ~45% slower per element than the serial variant for tanh;
    runtime values are broadcast once, before the loop (or spilled and used
    as memory operands, as in the serial variant).  The serial variant may
    still fold them (it sees n > 0 in its loop); either way the arithmetic
    and so every result bit is the same."""
    if not isinstance(n, types.Integer):
        return None
    if c == types.float32:
        count = None
    elif (isinstance(c, types.UniTuple) and c.dtype == types.float32):
        count = c.count
    else:
        return None
    sig = c(n, c)

    def codegen(context, builder, signature, args):
        nv, cv = args
        neg = builder.icmp_signed("<", nv, ir.Constant(nv.type, 0))
        zero = ir.Constant(ir.FloatType(), 0.0)
        if count is None:
            return builder.select(neg, zero, cv)
        for k in range(count):
            e = builder.select(neg, zero, builder.extract_value(cv, k))
            cv = builder.insert_value(cv, e, k)
        return cv

    return sig, codegen


# -------------------------------------------------------- float32 elementary
_ZERO = f32(0.0)
_HALF = f32(0.5)
_ONE = f32(1.0)
_INF = f32(np.inf)
_MAGIC = f32(12582912.0)            # 1.5 * 2**23: (t + M) - M rounds t
_LOG2E = f32(1.44269504088896341)
_LN2_HI = f32(0.693359375)          # Cephes split of ln 2
_LN2_LO = f32(-2.12194440e-4)
_EXP_HI = f32(88.72283172607421875)  # largest float32 with finite exp
_EXP_LO = f32(-103.97208)           # exp below rounds to 0
_EP0 = f32(1.9875691500e-4)
_EP1 = f32(1.3981999507e-3)
_EP2 = f32(8.3334519073e-3)
_EP3 = f32(4.1665795894e-2)
_EP4 = f32(1.6666665459e-1)
_EP5 = f32(5.0000001201e-1)


@njit(**_JOPT)
def _exp32(x):
    """Cephes expf; <= 1 ulp vs correctly rounded, all float32 inputs."""
    xc = x
    if xc > _EXP_HI:
        xc = _EXP_HI
    if xc < _EXP_LO:
        xc = _EXP_LO
    if xc != xc:
        xc = _ZERO
    n = (xc * _LOG2E + _MAGIC) - _MAGIC
    r = xc - n * _LN2_HI
    r = r - n * _LN2_LO
    z = r * r
    p = ((((_EP0 * r + _EP1) * r + _EP2) * r + _EP3) * r + _EP4) * r + _EP5
    p = p * z + r + _ONE
    n1 = (n * _HALF + _MAGIC) - _MAGIC
    y = p * _pow2i_f32(n1) * _pow2i_f32(n - n1)
    if x > _EXP_HI:
        y = _INF
    if x < _EXP_LO:
        y = _ZERO
    if x != x:
        y = x
    return y


_TH_CLAMP = f32(7.90531110763549805)
_TH_TINY = f32(0.0004)
_TA1 = f32(4.89352455891786e-03)
_TA3 = f32(6.37261928875436e-04)
_TA5 = f32(1.48572235717979e-05)
_TA7 = f32(5.12229709037114e-08)
_TA9 = f32(-8.60467152213735e-11)
_TA11 = f32(2.00018790482477e-13)
_TA13 = f32(-2.76076847742355e-16)
_TB0 = f32(4.89352518554385e-03)
_TB2 = f32(2.26843463243900e-03)
_TB4 = f32(1.18534705686654e-04)
_TB6 = f32(1.19825839466702e-06)


_TH_C = (_TH_CLAMP, _TH_TINY, _TA1, _TA3, _TA5, _TA7, _TA9, _TA11, _TA13,
         _TB0, _TB2, _TB4, _TB6)


@njit(**_JOPT)
def _tanh32(x, c):
    """Eigen generic_fast_tanh_float; <= 7 ulp vs np.tanh(float32).
    c = ``_TH_C`` or ``_opaque(n, _TH_C)`` (the same values)."""
    clamp, tiny, a1, a3, a5, a7, a9, a11, a13, b0, b2, b4, b6 = c
    t = x
    if t > clamp:
        t = clamp
    if t < -clamp:
        t = -clamp
    x2 = t * t
    p = x2 * a13 + a11
    p = x2 * p + a9
    p = x2 * p + a7
    p = x2 * p + a5
    p = x2 * p + a3
    p = x2 * p + a1
    p = t * p
    q = x2 * b6 + b4
    q = x2 * q + b2
    q = x2 * q + b0
    r = p / q
    if abs(x) < tiny:
        r = x
    return r


_SQRT2M1 = f32(0.41421356237309515)
_LP = (f32(7.0376836292e-2), f32(-1.1514610310e-1), f32(1.1676998740e-1),
       f32(-1.2420140846e-1), f32(1.4249322787e-1), f32(-1.6668057665e-1),
       f32(2.0000714765e-1), f32(-2.4999993993e-1), f32(3.3333331174e-1))
_LP0, _LP1, _LP2, _LP3, _LP4, _LP5, _LP6, _LP7, _LP8 = _LP


@njit(**_JOPT)
def _log1p_unit32(u):
    """log1p(u) for u in [0, 1] (Cephes logf poly); <= 1 ulp vs np.log1p."""
    big = u > _SQRT2M1
    # 1 + u = 2 * (1 + x) with x = (u - 1) / 2, exact for u in [0.5, 1]
    x = u * _HALF - _HALF if big else u
    e = _ONE if big else _ZERO
    z = x * x
    y = (((((((_LP0 * x + _LP1) * x + _LP2) * x + _LP3) * x + _LP4) * x
           + _LP5) * x + _LP6) * x + _LP7) * x + _LP8
    y = y * x * z
    y = y + e * _LN2_LO
    y = y - _HALF * z
    r = x + y
    return r + e * _LN2_HI


_EM_CUT = f32(-0.5)
_EM = tuple(f32(1.0 / math.factorial(k)) for k in range(2, 9))
_EM2, _EM3, _EM4, _EM5, _EM6, _EM7, _EM8 = _EM


@njit(**_JOPT)
def _expm1_neg32(x):
    """expm1(x) for x <= 0; <= 2 ulp vs np.expm1(float32)."""
    t = (((((((_EM8 * x + _EM7) * x + _EM6) * x + _EM5) * x + _EM4) * x
           + _EM3) * x + _EM2) * x + _ONE) * x
    if x < _EM_CUT:
        t = _exp(x) - _ONE
    return t


# Type dispatch: ``isinstance`` on a scalar is resolved at compile time by
# numba's branch pruning, so each specialisation contains one algorithm.
# (Plain njit dispatchers, unlike @overload, are compiled once per signature
# and shared by all kernels, which keeps the cold compile time low.)
@njit(**_JOPT)
def _exp(x):
    if isinstance(x, np.float32):
        return _exp32(x)
    return math.exp(x)


@njit(**_JOPT)
def _tanh_c(x, c):
    """tanh in x's dtype; c: the float32 constants (unused for float64)."""
    if isinstance(x, np.float32):
        return _tanh32(x, c)
    return math.tanh(x)


@njit(**_JOPT)
def _log1p_unit(u):
    if isinstance(u, np.float32):
        return _log1p_unit32(u)
    return math.log1p(u)


@njit(**_JOPT)
def _expm1_neg(x):
    if isinstance(x, np.float32):
        return _expm1_neg32(x)
    return math.expm1(x)


_SQRT1_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


# ---- float32 GELU: pure float32 arithmetic (vectorises 8 lanes) ---------
# t = |x|.  Two approximations, both evaluated, one selected per lane:
# * t < 1:  Phi(x) = 1/2 + x * Q(x*x), Q of degree 5 (Q within 0.9 ulp).
# * t >= 1: Phi(-t) = E(t) * R(t), E = exp(-t*t/2), R = Phi(-t)/E =
#   erfcx(t/sqrt 2)/2 (smooth, ~ 1/(t sqrt(2 pi)) for large t), fitted as
#   R = u * P(s), u = 1/(1 + t/2), s = a*u - b in [-1, 1] for t in [1, 15],
#   P of degree 9 (float32-evaluated R within 3.5 ulp).  Phi(t) = 1 - E*R.
# Q and P are relative least-squares fits (float64, on the float32-rounded
# z, s actually seen), coefficients rounded to float32 one at a time, lowest
# first, refitting the rest.  Everything is evaluated with explicit FMAs
# (``_fma32``, one rounding each: every Horner step is one instruction, and
# the end-to-end bounds dropped from 6 / 3.35 to 5 / 2 ulp with the same
# coefficients).  Without hardware FMA, llvm.fma becomes a (correct, slow)
# fmaf call; every x86-64 since Haswell / Piledriver and every arm64 has it.
# E is formed from the exact t*t = hi + lo (lo = fma(t, t, -hi)): Cephes'
# expf reduction of -hi/2 with -lo/2 added to the reduced argument, so no
# rounded x/sqrt 2 enters the exponent and the negative tail keeps its
# relative accuracy down to the underflow near x = -14.  E = p * 2**n is
# kept in two factors, P = p * 2**(n+64) (always normal) and 2**-64:
# * the forward's negative branch is (x*R) * E with E = P * 2**-64 rounded
#   once; |x*R| < 0.4, so a subnormal E loses nothing the result keeps;
# * the derivative's (R - t/sqrt(2 pi)) * E, whose first factor reaches
#   -6.5, is ((R - t/sqrt(2 pi)) * P) * 2**-64: one rounding into the
#   subnormals instead of an amplified one.
# t is clamped at _GT_MAX = 16.27..., where the rounded exponent is exactly
# n = -191 and the 2**(n+64) bit construction yields +0, so E = P = 0 from
# there on (E is 0 in float32 beyond t = 14.5 anyway, so R, extrapolated
# past its fit range t <= 15, no longer matters): finite huge |x| give
# gelu = x or -0 and gelu' = 1 or -0; +-inf give what the twin gives (inf
# and NaN for gelu, NaN for gelu') because the unclamped x enters x*R*E and
# R - |x|/sqrt(2 pi); NaN propagates through every lane.
_GT_CUT = f32(1.0)
_GT_MAX = f32(16.2734375)           # n = round(-_GT_MAX**2/2 / ln 2) = -191
_GSA = f32(3.642857074737549)
_GSB = f32(1.4285714626312256)
_GR = (f32(0.30131620168685913), f32(0.08618345111608505),
       f32(0.007791284006088972), f32(-0.0027204318903386593),
       f32(-0.00039385672425851226), f32(0.0001998635707423091),
       f32(5.730965767725138e-06), f32(-1.8597378584672697e-05),
       f32(2.199450818807236e-06), f32(1.6142148524522781e-06))
_GR0, _GR1, _GR2, _GR3, _GR4, _GR5, _GR6, _GR7, _GR8, _GR9 = _GR
_GQ = (f32(0.3989422917366028), f32(-0.06649061292409897),
       f32(0.009974841959774494), f32(-0.0011900165118277073),
       f32(0.00011737630848074332), f32(-9.139125722867902e-06))
_GQ0, _GQ1, _GQ2, _GQ3, _GQ4, _GQ5 = _GQ
_NEG_HALF = f32(-0.5)
_TWO_M64 = f32(2.0 ** -64)
_INV_SQRT_2PI32 = f32(0.3989422804014327)


@njit(inline="always", **_JOPT)
def _gelu_core32(x):
    """(tc, R(tc), Q(x*x), E, P) for float32 x: tc = min(|x|, _GT_MAX),
    E = exp(-tc*tc/2) = P * 2**-64 (see the comment above)."""
    t = abs(x)
    if t > _GT_MAX:
        t = _GT_MAX
    u = _ONE / _fma32(t, _HALF, _ONE)
    s = _fma32(u, _GSA, -_GSB)
    p = _fma32(_GR9, s, _GR8)
    p = _fma32(p, s, _GR7)
    p = _fma32(p, s, _GR6)
    p = _fma32(p, s, _GR5)
    p = _fma32(p, s, _GR4)
    p = _fma32(p, s, _GR3)
    p = _fma32(p, s, _GR2)
    p = _fma32(p, s, _GR1)
    p = _fma32(p, s, _GR0)
    hi = t * t
    lo = _fma32(t, t, -hi)                  # t*t - hi, exact
    q = _fma32(_GQ5, hi, _GQ4)
    q = _fma32(q, hi, _GQ3)
    q = _fma32(q, hi, _GQ2)
    q = _fma32(q, hi, _GQ1)
    q = _fma32(q, hi, _GQ0)
    a = hi * _NEG_HALF                      # exact
    m = _fma32(a, _LOG2E, _MAGIC)           # 1.5*2**23 + n
    n = m - _MAGIC
    r = _fma32(n, -_LN2_HI, a)
    r = _fma32(n, -_LN2_LO, r)
    r = _fma32(lo, _NEG_HALF, r)            # the exact exponent's -lo/2
    e = _fma32(_EP0, r, _EP1)
    e = _fma32(e, r, _EP2)
    e = _fma32(e, r, _EP3)
    e = _fma32(e, r, _EP4)
    e = _fma32(e, r, _EP5)
    e = _fma32(e, r * r, r) + _ONE
    P = e * _pow2p64_f32(m)
    return t, u * p, q, P * _TWO_M64, P


@njit(inline="always", **_JOPT)
def _gelu32(v, t, R, q, E):
    """x * Phi(x) from _gelu_core32's pieces."""
    small = v * _fma32(v, q, _HALF)
    neg = (v * R) * E
    pos = v * _fma32(-E, R, _ONE)
    big = neg if v <= _ZERO else pos
    return small if t < _GT_CUT else big


@njit(inline="always", **_JOPT)
def _gelu_grad32(v, t, R, q, E, P):
    """Phi(x) + x*phi(x) = 1/2 + x*(Q + E/sqrt(2 pi)) for |x| < 1, else
    E*(R - |x|/sqrt(2 pi)) for x < 0 and 1 minus that for x > 0."""
    small = _fma32(v, _fma32(E, _INV_SQRT_2PI32, q), _HALF)
    w = _fma32(-abs(v), _INV_SQRT_2PI32, R)
    neg = (w * P) * _TWO_M64
    big = neg if v <= _ZERO else _ONE - neg
    return small if t < _GT_CUT else big


@njit(inline="always", **_JOPT)
def _gelu_d64(v, cdf, pdf):
    """float64 gelu' = cdf + v*pdf, as -((-v)*pdf - cdf): the same value
    (negation commutes with rounding to nearest), except that where both terms
    underflow to 0 (v < -38.5) it is -0, the sign of the true derivative
    (negative for x < -0.7518), as in the float32 kernel and the twin."""
    return -((-v) * pdf - cdf)


@njit(inline="always", **_JOPT)
def _gelu(v):
    """x * Phi(x) with Phi = 0.5*erfc(-x/sqrt 2), in v's dtype.

    float64: libm erfc.  float32: pure float32 (comment above), <= 5 ulp
    from the twin (float64, rounded once).
    """
    if isinstance(v, np.float32):
        t, R, q, E, P = _gelu_core32(v)
        return _gelu32(v, t, R, q, E)
    return v * (0.5 * math.erfc(-v * _SQRT1_2))


@njit(inline="always", **_JOPT)
def _gelu_grad(v):
    """derivative Phi + x*phi in v's dtype (caller multiplies by g, rounds).

    float32: <= 2 ulp of |Phi| + |x|*phi from the twin (scaled form).
    """
    if isinstance(v, np.float32):
        t, R, q, E, P = _gelu_core32(v)
        return _gelu_grad32(v, t, R, q, E, P)
    cdf = 0.5 * math.erfc(-v * _SQRT1_2)
    pdf = math.exp(-0.5 * v * v) * _INV_SQRT_2PI
    return _gelu_d64(v, cdf, pdf)


@njit(inline="always", **_JOPT)
def _gelu_and_grad(v):
    """(_gelu(v), _gelu_grad(v)), bit for bit, sharing the work."""
    if isinstance(v, np.float32):
        t, R, q, E, P = _gelu_core32(v)
        return _gelu32(v, t, R, q, E), _gelu_grad32(v, t, R, q, E, P)
    cdf = 0.5 * math.erfc(-v * _SQRT1_2)
    pdf = math.exp(-0.5 * v * v) * _INV_SQRT_2PI
    return v * cdf, _gelu_d64(v, cdf, pdf)


# ---- float32 sigmoid: one pass, one division (vectorises 8 lanes) -------
# The twin's formula, 1/(1 + e) for x >= 0 and e/(1 + e) for x < 0 with
# e = exp(-|x|), with both quotients scaled by 2**64 so that one division
# serves both branches and a subnormal result is rounded only once:
# * a = max(-|x|, -104) (exp(-104) < 2**-150, so the clamp changes no
#   result: s is exactly 0 or 1 there; NaN passes the clamp);
# * Cephes expf reduction a = n ln2 + r and polynomial, every step an FMA
#   (``_fma32``), giving w with e**r = 1 + w, and P = fma(w, S, S) =
#   e * 2**64 rounded once, S = 2**(n+64) from the integer bits of
#   m = 1.5*2**23 + n (n >= -150, so S is a normal number);
# * d = P + 2**64 (= 2**64 (1 + e): the twin's 1 + e, rounded once) and
#   s = (P if x's sign bit is set else 2**64) / d.  x = -0 takes P and
#   gives 1/2 as well; NaN gives NaN through P and d.
# About 20 vector instructions per 8 lanes (11 FMA/multiply, 2 integer, 1
# division) instead of about 48 with ``_exp32`` (clamps, NaN selects, a
# two-factor scaling, no FMA): serial 1e6 float32 elements 1.16 -> 0.48 ms.
# vs the twin (NumPy's float32 exp, itself a few ulp off): <= 4 ulp; vs the
# float64 formula rounded once: <= 2 ulp; both measured over every float32
# bit pattern, and the same as with ``_exp32``.  The linear epilogue and
# softplus' backward call the same function (``_sigmoid_c``), bit-identical
# to ``sigmoid_fwd``.
_SG_LO = f32(-104.0)
_SG_SCALE = f32(2.0 ** 64)          # its bits are 191 << 23, see _sg_pow2
_SG_C = (_SG_LO, _LOG2E, _MAGIC, -_LN2_HI, -_LN2_LO, _EP0, _EP1, _EP2,
         _EP3, _EP4, _EP5, _SG_SCALE)


@intrinsic
def _sg_pow2(typingctx, m, scale):
    """2**(n + 64) as float32 from ``m = 1.5*2**23 + n`` (n integral in
    [-191, 63]) and ``scale = 2**64``: ``(bits(m) << 23) + bits(scale)``,
    the bits of m above the low 9 shifting out (as ``_pow2p64_f32``, with
    the 191 << 23 taken from scale, which can then share a register)."""
    if not (m == types.float32 and scale == types.float32):
        return None
    sig = types.float32(types.float32, types.float32)

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        k = builder.shl(builder.bitcast(args[0], i32), ir.Constant(i32, 23))
        k = builder.add(k, builder.bitcast(args[1], i32))
        return builder.bitcast(k, ir.FloatType())

    return sig, codegen


@intrinsic
def _sign_select32(typingctx, v, a, b):
    """a if v's sign bit is set, else b (a blend on v itself, no compare)."""
    if not (v == types.float32 and a == types.float32
            and b == types.float32):
        return None
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        neg = builder.icmp_signed("<", builder.bitcast(args[0], i32),
                                  ir.Constant(i32, 0))
        return builder.select(neg, args[1], args[2])

    return sig, codegen


@njit(**_JOPT)
def _sigmoid32(x, c):
    """float32 logistic (see the comment above); c = ``_SG_C`` or
    ``_opaque(n, _SG_C)`` (the same values)."""
    lo, log2e, magic, nln2hi, nln2lo, e0, e1, e2, e3, e4, e5, scale = c
    a = -abs(x)
    if a < lo:
        a = lo
    m = _fma32(a, log2e, magic)             # 1.5*2**23 + n
    n = m - magic
    r = _fma32(n, nln2hi, a)                # exact
    r = _fma32(n, nln2lo, r)
    p = _fma32(e0, r, e1)
    p = _fma32(p, r, e2)
    p = _fma32(p, r, e3)
    p = _fma32(p, r, e4)
    p = _fma32(p, r, e5)
    w = _fma32(p, r * r, r)                 # e**r - 1
    s = _sg_pow2(m, scale)                  # 2**(n+64)
    P = _fma32(w, s, s)                     # exp(a) * 2**64
    d = P + scale
    return _sign_select32(x, P, scale) / d


@njit(**_JOPT)
def _sigmoid_c(v, c):
    """stable logistic in v's dtype (same formula as the twin); c: the
    float32 constants (unused for float64)."""
    if isinstance(v, np.float32):
        return _sigmoid32(v, c)
    one = type(v)(1.0)
    e = _exp(-abs(v))
    d = one + e
    return one / d if v >= 0 else e / d


@njit(inline="always", **_JOPT)
def _softplus(v, beta, thr):
    z = v * beta
    zero = type(v)(0.0)
    zp = zero if z < zero else z
    s = (zp + _log1p_unit(_exp(-abs(z)))) / beta
    return v if z > thr else s


# The scalar activations used by the linear epilogue (alpha always passed).
@njit(**_JOPT)
def _relu_s(v, a):
    return type(v)(0.0) if v <= 0 else v


@njit(**_JOPT)
def _leaky_s(v, a):
    return v if v > 0 else v * a


@njit(**_JOPT)
def _elu_s(v, a):
    m = type(v)(0.0) if v > 0 else v
    return v if v > 0 else a * _expm1_neg(m)


# ------------------------------------------------------ elementwise kernels
@kernel((COST_ARITH, COST_ARITH))
def relu_fwd(x, out):
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = zero if v <= zero else v


@kernel((COST_ARITH, COST_ARITH))
def relu_bwd(x, g, out):
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        out[i] = g[i] if x[i] > zero else zero


# ---- relu with streaming stores, for outputs larger than the caches ------
# A regular store first reads the cache line it writes (read-for-ownership):
# relu forward moves 3 bytes per output byte, the backward 4.  Streaming
# (non-temporal) stores skip that read and write around the caches; the
# loop vectorises by hand (32 bytes per step, aligned streaming stores after
# a scalar peel, scalar tail) and ends in a fence, as streaming stores are
# weakly ordered.  Used from ``_config.STREAM_MIN_BYTES`` (an output that
# would not stay in the last-level cache anyway): 1e7 float32 elements
# forward + backward into reused memory, serial, 9.6 -> 7.1 ms.  Same
# selects as relu_fwd / relu_bwd, so the same bits.
_STREAM_CHUNK = 1 << 16         # elements per call (the prange unit)
_X86 = llvm_binding.get_process_triple().startswith(("x86_64", "i386", "i686"))


def _relu_stream_codegen(context, builder, signature, args, backward):
    aty = signature.args[0]
    arrs = [context.make_array(t)(context, builder, a)
            for t, a in zip(signature.args, args) if isinstance(t, types.Array)]
    lo, hi = args[-2], args[-1]
    xp = arrs[0].data
    gp = arrs[1].data if backward else None
    op = arrs[-1].data
    ft = context.get_value_type(aty.dtype)
    lanes = 32 // (aty.dtype.bitwidth // 8)
    vt = ir.VectorType(ft, lanes)
    i64 = ir.IntType(64)
    zero, vzero = ir.Constant(ft, 0.0), ir.Constant(vt, [0.0] * lanes)

    def one(xv, gv, z):
        if backward:        # g if x > 0 else 0 (NaN: 0)
            return builder.select(builder.fcmp_ordered(">", xv, z), gv, z)
        return builder.select(builder.fcmp_ordered("<=", xv, z), z, xv)

    def scalar(i):
        xv = builder.load(builder.gep(xp, [i]))
        gv = builder.load(builder.gep(gp, [i])) if backward else None
        builder.store(one(xv, gv, zero), builder.gep(op, [i]))

    fn = builder.function
    blocks = [fn.append_basic_block(f"stream_{b}") for b in
              ("peel", "peel_body", "vec", "vec_body", "tail", "tail_body", "end")]
    peel, peel_body, vec, vec_body, tail, tail_body, end = blocks
    idx = cgutils.alloca_once_value(builder, lo)
    builder.branch(peel)
    builder.position_at_end(peel)        # scalar until out + i is 32-byte aligned
    i = builder.load(idx)
    addr = builder.ptrtoint(builder.gep(op, [i]), i64)
    odd = builder.icmp_unsigned("!=", builder.and_(addr, ir.Constant(i64, 31)),
                                ir.Constant(i64, 0))
    builder.cbranch(builder.and_(odd, builder.icmp_signed("<", i, hi)),
                    peel_body, vec)
    builder.position_at_end(peel_body)
    scalar(i)
    builder.store(builder.add(i, ir.Constant(i64, 1)), idx)
    builder.branch(peel)
    builder.position_at_end(vec)
    i = builder.load(idx)
    builder.cbranch(builder.icmp_signed("<=", builder.add(i, ir.Constant(i64, lanes)), hi),
                    vec_body, tail)
    builder.position_at_end(vec_body)
    vp = vt.as_pointer()
    xv = builder.load(builder.bitcast(builder.gep(xp, [i]), vp), align=1)
    gv = (builder.load(builder.bitcast(builder.gep(gp, [i]), vp), align=1)
          if backward else None)
    st = builder.store(one(xv, gv, vzero), builder.bitcast(builder.gep(op, [i]), vp),
                       align=32)
    st.set_metadata("nontemporal",
                    builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
    builder.store(builder.add(i, ir.Constant(i64, lanes)), idx)
    builder.branch(vec)
    builder.position_at_end(tail)
    i = builder.load(idx)
    builder.cbranch(builder.icmp_signed("<", i, hi), tail_body, end)
    builder.position_at_end(tail_body)
    scalar(i)
    builder.store(builder.add(i, ir.Constant(i64, 1)), idx)
    builder.branch(tail)
    builder.position_at_end(end)
    if _X86:    # sfence (LLVM turns a seq_cst fence into a locked op on x86,
        #         which need not order streaming stores)
        sf = builder.module.declare_intrinsic(
            "llvm.x86.sse.sfence", (), ir.FunctionType(ir.VoidType(), []))
        builder.call(sf, [])
    else:
        builder.fence("seq_cst")
    return context.get_dummy_value()


def _stream_types_ok(arrays, lo, hi):
    a0 = arrays[0]
    return (all(isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C"
                and a.dtype == a0.dtype for a in arrays)
            and a0.dtype in (types.float32, types.float64)
            and lo == types.int64 and hi == types.int64)


@intrinsic
def _relu_fwd_stream(typingctx, x, out, lo, hi):
    """out[lo:hi] = relu(x[lo:hi]) with streaming stores (see above)."""
    if not _stream_types_ok((x, out), lo, hi):
        return None
    return types.void(x, out, lo, hi), (
        lambda c, b, sig, args: _relu_stream_codegen(c, b, sig, args, False))


@intrinsic
def _relu_bwd_stream(typingctx, x, g, out, lo, hi):
    """out[lo:hi] = g if x > 0 else 0, over [lo, hi), streaming stores."""
    if not _stream_types_ok((x, g, out), lo, hi):
        return None
    return types.void(x, g, out, lo, hi), (
        lambda c, b, sig, args: _relu_stream_codegen(c, b, sig, args, True))


@kernel((COST_ARITH, COST_ARITH))
def relu_fwd_stream(x, out):
    n = x.shape[0]
    for c in prange((n + _STREAM_CHUNK - 1) // _STREAM_CHUNK):
        _relu_fwd_stream(x, out, c * _STREAM_CHUNK,
                         min(n, (c + 1) * _STREAM_CHUNK))


@kernel((COST_ARITH, COST_ARITH))
def relu_bwd_stream(x, g, out):
    n = x.shape[0]
    for c in prange((n + _STREAM_CHUNK - 1) // _STREAM_CHUNK):
        _relu_bwd_stream(x, g, out, c * _STREAM_CHUNK,
                         min(n, (c + 1) * _STREAM_CHUNK))


@kernel((COST_ARITH, COST_ARITH))
def leaky_fwd(x, s, out):
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = v if v > zero else v * s


@kernel((COST_ARITH, COST_ARITH))
def leaky_bwd(x, g, s, out):
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        gi = g[i]
        out[i] = gi if x[i] > zero else gi * s


@kernel((COST_POLY, COST_LIBM))
def elu_fwd(x, a, out):
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        v = x[i]
        m = zero if v > zero else v
        t = a * _expm1_neg(m)
        out[i] = v if v > zero else t


@kernel((COST_POLY, COST_LIBM))
def elu_bwd(x, g, a, out):
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        v = x[i]
        gi = g[i]
        m = zero if v > zero else v
        t = gi * (a * _exp(m))
        out[i] = gi if v > zero else t


@kernel((COST_POLY, COST_LIBM))
def gelu_fwd(x, out):
    for i in prange(x.shape[0]):
        out[i] = _gelu(x[i])


@kernel((COST_POLY, COST_LIBM))
def gelu_bwd(x, g, out):
    T = x.dtype.type
    for i in prange(x.shape[0]):
        out[i] = T(g[i] * _gelu_grad(x[i]))


@kernel((COST_POLY, COST_LIBM))
def gelu_fwd_d(x, out, d):
    for i in prange(x.shape[0]):
        out[i], d[i] = _gelu_and_grad(x[i])


@kernel((COST_ARITH, COST_ARITH))
def gelu_bwd_d(d, g):
    """d *= g in place (d: the derivative saved by gelu_fwd_d)."""
    for i in prange(d.shape[0]):
        d[i] = d[i] * g[i]


@kernel((COST_POLY, COST_LIBM))
def sigmoid_fwd(x, out):
    c = _opaque(x.shape[0], _SG_C)
    for i in prange(x.shape[0]):
        out[i] = _sigmoid_c(x[i], c)


@kernel((COST_ARITH, COST_ARITH))
def sigmoid_bwd(y, g, out):
    one = y.dtype.type(1.0)
    for i in prange(y.shape[0]):
        v = y[i]
        out[i] = g[i] * v * (one - v)


@kernel((COST_POLY, COST_LIBM))
def tanh_fwd(x, out):
    c = _opaque(x.shape[0], _TH_C)
    for i in prange(x.shape[0]):
        out[i] = _tanh_c(x[i], c)


@kernel((COST_ARITH, COST_ARITH))
def tanh_bwd(y, g, out):
    one = y.dtype.type(1.0)
    for i in prange(y.shape[0]):
        v = y[i]
        out[i] = g[i] * ((one - v) * (one + v))


@kernel((COST_POLY, COST_LIBM))
def softplus_fwd(x, beta, thr, out):
    for i in prange(x.shape[0]):
        out[i] = _softplus(x[i], beta, thr)


@kernel((COST_POLY, COST_LIBM))
def softplus_bwd(x, g, beta, thr, out):
    c = _opaque(x.shape[0], _SG_C)
    for i in prange(x.shape[0]):
        z = x[i] * beta
        gi = g[i]
        t = gi * _sigmoid_c(z, c)
        out[i] = gi if z > thr else t


# ------------------------------------------- linear epilogue: pre = z + b
# z is overwritten with pre; y receives act(pre).  One kernel per activation
# so that every loop is specialised and vectorised.
@kernel((COST_ARITH, COST_ARITH))
def bias_relu(z, b, a, y):
    n, m = z.shape
    for i in prange(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v
            y[i, j] = _relu_s(v, a)


@kernel((COST_ARITH, COST_ARITH))
def bias_leaky_relu(z, b, a, y):
    n, m = z.shape
    for i in prange(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v
            y[i, j] = _leaky_s(v, a)


@kernel((COST_POLY, COST_LIBM))
def bias_elu(z, b, a, y):
    n, m = z.shape
    for i in prange(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v
            y[i, j] = _elu_s(v, a)


@kernel((COST_POLY, COST_LIBM))
def bias_gelu(z, b, a, y):
    n, m = z.shape
    for i in prange(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v
            y[i, j] = _gelu(v)


@kernel((COST_POLY, COST_LIBM))
def bias_sigmoid(z, b, a, y):
    n, m = z.shape
    c = _opaque(n, _SG_C)
    for i in prange(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v
            y[i, j] = _sigmoid_c(v, c)


@kernel((COST_POLY, COST_LIBM))
def bias_tanh(z, b, a, y):
    n, m = z.shape
    c = _opaque(n, _TH_C)
    for i in prange(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v
            y[i, j] = _tanh_c(v, c)


@kernel((COST_POLY, COST_LIBM))
def bias_softplus(z, b, a, y):
    n, m = z.shape
    one = z.dtype.type(1.0)
    thr = z.dtype.type(20.0)
    for i in prange(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v
            y[i, j] = _softplus(v, one, thr)


# ('identity' needs no kernel: the dispatcher does np.add(z, b, out=z))
BIAS_ACT = {
    "relu": bias_relu,
    "leaky_relu": bias_leaky_relu, "elu": bias_elu, "gelu": bias_gelu,
    "sigmoid": bias_sigmoid, "tanh": bias_tanh, "softplus": bias_softplus,
}


def linear_matmul(x, W):
    """The BLAS matmul of linear_act_forward (NumPy's, multithreaded)."""
    return np.dot(x, W)


# ------------------------------------------------------------ softmax family
@njit(**_JOPT)
def _rowsum_f32(a, i):
    """float32 row: float64 accumulation (4 partial sums) is exact enough."""
    m = a.shape[1]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    j = 0
    while j + 4 <= m:
        s0 += a[i, j]
        s1 += a[i, j + 1]
        s2 += a[i, j + 2]
        s3 += a[i, j + 3]
        j += 4
    while j < m:
        s0 += a[i, j]
        j += 1
    return (s0 + s1) + (s2 + s3)


@njit(**_JOPT)
def _rowsum_f64(a, i):
    """float64 row: Neumaier compensated sum (error ~1 ulp, any length).
    A row holding +-inf or NaN sums to the plain sum's inf or NaN, as NumPy's
    (the compensation ``(s - t) + v`` would turn inf into NaN)."""
    s = 0.0
    c = 0.0
    for j in range(a.shape[1]):
        v = a[i, j]
        t = s + v
        if abs(s) >= abs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
    if s - s != 0.0:        # s is +-inf or NaN: c is NaN and means nothing
        return s
    return s + c


@njit(**_JOPT)
def _rowsum64(a, i):
    """float64 sum of row i (non-empty) of a 2-D float32/float64 array."""
    if isinstance(a[i, 0], np.float32):
        return _rowsum_f32(a, i)
    return _rowsum_f64(a, i)


@njit(**_JOPT)
def _rowmax(x, i):
    m = x[i, 0]
    for j in range(1, x.shape[1]):
        v = x[i, j]
        if v > m:
            m = v
    return m


@kernel((COST_POLY, COST_LIBM))
def softmax_fwd(x, out):
    n, C = x.shape
    T = x.dtype.type
    for i in prange(n):
        mx = _rowmax(x, i)
        for j in range(C):
            out[i, j] = _exp(x[i, j] - mx)
        s = T(_rowsum64(out, i))
        for j in range(C):
            out[i, j] = out[i, j] / s


@kernel((COST_ARITH, COST_ARITH))
def softmax_bwd(y, g, out):
    n, C = y.shape
    T = y.dtype.type
    for i in prange(n):
        for j in range(C):
            out[i, j] = g[i, j] * y[i, j]
        s = T(_rowsum64(out, i))
        for j in range(C):
            out[i, j] = y[i, j] * (g[i, j] - s)


@njit(**_JOPT)
def _log_softmax_row(x, out, i):
    # cross_entropy_forward reuses this kernel (losses are a gather)
    C = x.shape[1]
    mx = _rowmax(x, i)
    for j in range(C):
        out[i, j] = _exp(x[i, j] - mx)
    lse = x.dtype.type(math.log(_rowsum64(out, i)))
    for j in range(C):
        out[i, j] = (x[i, j] - mx) - lse


@kernel((COST_POLY, COST_LIBM))
def log_softmax_fwd(x, out):
    for i in prange(x.shape[0]):
        _log_softmax_row(x, out, i)


@kernel((COST_POLY, COST_LIBM))
def log_softmax_bwd(y, g, out):
    n, C = y.shape
    T = y.dtype.type
    for i in prange(n):
        s = T(_rowsum64(g, i))
        for j in range(C):
            out[i, j] = g[i, j] - _exp(y[i, j]) * s


@kernel((COST_POLY, COST_LIBM))
def cross_entropy_bwd(lp, labels, g, out):
    n, C = lp.shape
    one = lp.dtype.type(1.0)
    for i in prange(n):
        gi = g[i]
        for j in range(C):
            out[i, j] = _exp(lp[i, j]) * gi
        k = labels[i]
        out[i, k] = (_exp(lp[i, k]) - one) * gi


ALL_KERNELS = [v for v in list(globals().values()) if isinstance(v, Kernel)]

"""Registry entries of the math functions (``autonn.ops.elementary``, ``piecewise``, ``logic``,
``numpy_names``), of ``autonn.special`` (named ``special.<name>``) and of ``autonn.stats``
(named ``stats.<dist>.<fn>``), with SciPy references. Imported by ``autonn.testing.registry``.
"""
import dataclasses
import math

import numpy as np
import scipy.special as sc
import scipy.stats as ss
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autonn as an
from autonn.ops._rules import errors_named

from .registry import REGISTRY, Case, reduction, register as _register
from .strategies import arrays, axes, broadcastable_shapes as _broadcastable_shapes, shapes as _shapes

EW = {"elementwise": True}
INF = math.inf


# Small arrays (at most 3 x 3): these functions act elementwise or along one axis, so bigger
# ones test nothing more, and the finite differences cost one forward per element.
def shapes(min_dims=0, max_dims=2, max_side=3):
    return _shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side)


def broadcastable_shapes(num_shapes=2):
    return _broadcastable_shapes(num_shapes, max_dims=2, max_side=3)


def unary(low=-3.0, high=3.0, avoid=(), margin=0.05):
    def cases(dtype):
        return arrays(shapes(), dtype, low, high, avoid, margin).map(lambda a: Case((a,)))
    return cases


def binary(low=-3.0, high=3.0, low2=None, high2=None, apart=0.0):
    def cases(dtype):
        @st.composite
        def draw(draw):
            s1, s2 = draw(broadcastable_shapes(2))
            a = draw(arrays(s1, dtype, low, high))
            b = draw(arrays(s2, dtype, low if low2 is None else low2,
                            high if high2 is None else high2))
            if apart:  # away from ties (fmax, fmin): a = b + d with |d| > apart
                d = draw(arrays(np.broadcast_shapes(s1, s2), np.float64, -3, 3, avoid=(0,),
                                margin=apart))
                a = np.asarray(b.astype(np.float64) + d).astype(dtype)
            return Case((a, b))
        return draw()
    return cases


def register(name, fn, ref, cases=None, covers=None, **props):
    """``registry.register`` with small arrays drawn in the domain, away from the kinks."""
    if cases is None:
        low, high = props.get("domain", (-INF, INF))
        cases = unary(max(low + 0.1, -3.0), min(high - 0.1, 3.0), props.get("kinks", ()))
    _register(name, fn, ref, cases, covers, **props)


def alias(name, *names):
    """``names`` are the same function as the entry ``name``: its entry covers them too."""
    spec = REGISTRY[name]
    REGISTRY[name] = dataclasses.replace(spec, covers=spec.covers + names)


# ----- case strategies -----
def _ints_in(low, high):
    return tuple(range(-3, 4)) if (low, high) == (-INF, INF) else tuple(
        v for v in range(math.ceil(max(low, -3)), math.floor(min(high, 3)) + 1) if low < v < high)


def _ratio_cases(dtype):
    """Two operands whose ratio x / y stays away from integers (the jumps of floor(x / y)):
    y drawn, then x = q * y with q away from the integers (so x has the broadcast shape)."""
    @st.composite
    def draw(draw):
        s1, s2 = draw(broadcastable_shapes(2))
        b = np.asarray(draw(arrays(s2, np.float64, 0.5, 2)) * draw(st.sampled_from([1, -1])))
        q = draw(arrays(np.broadcast_shapes(s1, s2), np.float64, -3, 3,
                        avoid=tuple(range(-3, 4)), margin=0.05))
        return Case((np.asarray(q * b).astype(dtype), b.astype(dtype)))
    return draw()


def _special_values(dtype):
    values = st.sampled_from([-INF, INF, math.nan, 0.0, 1.5, -2.0])
    return hnp.arrays(np.float64, shapes(), elements=values).map(
        lambda a: Case((a.astype(dtype),)))


def _small_ints(nin=2):
    """Operands with many ties (values in -1, 0, 1, 2): comparisons and logical functions."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            shp = draw(broadcastable_shapes(nin))
            vals = st.sampled_from([-1.0, 0.0, 1.0, 2.0])
            return Case(tuple(draw(hnp.arrays(np.float64, s, elements=vals)).astype(dtype)
                              for s in shp))
        return draw()
    return cases


def _truth_reduction(dtype):
    @st.composite
    def draw(draw):
        shape = draw(shapes(min_dims=1, max_dims=3))
        a = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.5])))
        return Case((a.astype(dtype),), {"axis": draw(axes(len(shape))),
                                          "keepdims": draw(st.booleans())})
    return draw()


def _with_kwargs(low, high, **choices):
    """One array in [low, high] and keyword arguments drawn from ``choices`` (lists)."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            kw = {k: draw(st.sampled_from(v)) for k, v in choices.items()}
            lo, hi = (low(kw), high(kw)) if callable(low) else (low, high)
            return Case((draw(arrays(shapes(), dtype, lo, hi)),), kw)
        return draw()
    return cases


def _arrays_in(*bounds):
    """Broadcastable arrays, the i-th in ``bounds[i] = (low, high)``."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            shp = draw(broadcastable_shapes(len(bounds)))
            return Case(tuple(draw(arrays(s, dtype, lo, hi)) for s, (lo, hi) in zip(shp, bounds)))
        return draw()
    return cases


def _and_kwargs(base, **choices):
    """``base`` cases plus keyword arguments drawn from ``choices``."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            c = draw(base(dtype))
            return Case(c.arrays, {**c.kwargs, **{k: draw(st.sampled_from(v))
                                                  for k, v in choices.items()}})
        return draw()
    return cases


def _weighted_reduction(dtype):
    @st.composite
    def draw(draw):
        c = draw(reduction()(dtype))
        b = draw(arrays(c.arrays[0].shape, dtype, 0.2, 2.0))
        return Case((c.arrays[0], b), c.kwargs)
    return draw()


def _softmax_cases(dtype):
    @st.composite
    def draw(draw):
        shape = draw(shapes(min_dims=1, max_dims=3))
        return Case((draw(arrays(shape, dtype)),), {"axis": draw(axes(len(shape)))})
    return draw()


def _simplex_cases(dtype):
    """x: K-1 free components of a point of the simplex (shape (K-1,) or (K-1, N)), alpha."""
    @st.composite
    def draw(draw):
        k = draw(st.integers(2, 4))
        cols = draw(st.sampled_from([None, 1, 2]))
        shape = (k,) if cols is None else (k, cols)
        w = draw(arrays(shape, np.float64, 0.3, 2.0))
        x = (w / w.sum(axis=0))[:k - 1]
        alpha = draw(arrays((k,), dtype, 0.5, 3.0))
        return Case((x.astype(dtype), alpha))
    return draw()


# ----- elementary functions (autonn.ops.elementary) -----
# complex=True: holomorphic; complex cases are the real ones plus a small imaginary part, so they
# stay off the branch cuts (outside the real domain, or the imaginary axis beyond +-i)
register("arcsin", an.arcsin, np.arcsin, domain=(-1, 1), complex=True)
register("arccos", an.arccos, np.arccos, domain=(-1, 1), complex=True)
register("arcsinh", an.arcsinh, np.arcsinh, complex=True)
register("arccosh", an.arccosh, np.arccosh, domain=(1, INF), complex=True)
register("arctanh", an.arctanh, np.arctanh, domain=(-1, 1), complex=True)
register("log2", an.log2, np.log2, domain=(0, INF), complex=True)
register("log10", an.log10, np.log10, domain=(0, INF), complex=True)
register("exp2", an.exp2, np.exp2, complex=True)
register("hypot", an.hypot, np.hypot, binary(low2=0.3, high2=3.0))
register("logaddexp", an.logaddexp, np.logaddexp, binary())
register("logaddexp2", an.logaddexp2, np.logaddexp2, binary())
register("sinc", an.sinc, np.sinc, complex=True)
register("deg2rad", an.deg2rad, np.deg2rad, linear=True, covers=("deg2rad", "radians"))
register("rad2deg", an.rad2deg, np.rad2deg, linear=True, covers=("rad2deg", "degrees"))

# ----- piecewise functions (autonn.ops.piecewise) -----
_INTEGERS = tuple(range(-3, 4))
_HALVES = tuple(k + 0.5 for k in range(-4, 3))
for _name in ("floor", "ceil", "trunc", "fix"):
    register(_name, getattr(an, _name), getattr(np, _name), kinks=_INTEGERS, zero_gradient=True)
register("rint", an.rint, np.rint, kinks=_HALVES, zero_gradient=True)
register("round", an.round, np.round, kinks=_HALVES, zero_gradient=True,
         covers=("round", "around"), **EW)
register("sign", an.sign, np.sign, kinks=(0,), zero_gradient=True)
register("floor_divide", an.floor_divide, np.floor_divide, _ratio_cases, zero_gradient=True)
register("remainder", an.remainder, np.remainder, _ratio_cases, second_order=False,
         covers=("remainder", "mod"))
register("fmod", an.fmod, np.fmod, _ratio_cases, second_order=False)
register("fabs", an.fabs, np.fabs, kinks=(0,), second_order=False)
register("fmax", an.fmax, np.fmax, binary(apart=0.05), second_order=False, **EW)
register("fmin", an.fmin, np.fmin, binary(apart=0.05), second_order=False, **EW)
register("nan_to_num", an.nan_to_num, np.nan_to_num, linear=True, **EW)  # finite inputs
register("real_if_close", an.real_if_close, np.real_if_close, linear=True, **EW)

# NumPy's second names for existing ops
alias("abs", "absolute")
alias("neg", "negative")
alias("sub", "subtract")
alias("mul", "multiply")
alias("div", "divide", "true_divide")
alias("pow", "power")

# ----- functions without a gradient (autonn.ops.logic) -----
NO_GRAD = {"differentiable": False}
for _name in ("isfinite", "isinf", "isnan", "isneginf", "isposinf", "iscomplex", "isreal"):
    register(_name, getattr(an, _name), getattr(np, _name), _special_values, **NO_GRAD, **EW)
register("logical_not", an.logical_not, np.logical_not, _small_ints(1), **NO_GRAD, **EW)
for _name in ("logical_and", "logical_or", "logical_xor", "greater", "greater_equal", "less",
              "less_equal", "equal", "not_equal", "isclose"):
    register(_name, getattr(an, _name), getattr(np, _name), _small_ints(), **NO_GRAD, **EW)
for _name in ("allclose", "array_equal", "array_equiv"):
    register(_name, getattr(an, _name), getattr(np, _name), _small_ints(), **NO_GRAD)
register("all", an.all, np.all, _truth_reduction, **NO_GRAD)
register("any", an.any, np.any, _truth_reduction, **NO_GRAD)
register("count_nonzero", an.count_nonzero, np.count_nonzero, _truth_reduction, **NO_GRAD)
for _name in ("iscomplexobj", "isscalar", "ndim", "shape", "size", "result_type"):
    register(_name, getattr(an, _name), getattr(np, _name), unary(), **NO_GRAD)
register("zeros_like", an.zeros_like, np.zeros_like, unary(), **NO_GRAD)
register("ones_like", an.ones_like, np.ones_like, unary(), **NO_GRAD)
register("empty_like", lambda x: an.empty_like(x).shape, lambda a: np.empty_like(a).shape,
         unary(), **NO_GRAD)
register("full_like", lambda x, fill_value: an.full_like(x, fill_value),
         lambda a, fill_value: np.full_like(a, fill_value),
         _and_kwargs(unary(), fill_value=[0.5, -2.0]), **NO_GRAD)

# ----- special functions (autonn.special) -----
S = an.special
_POLES = (0, -1, -2, -3)
register("special.erf", S.erf, sc.erf)
register("special.erfc", S.erfc, sc.erfc)
register("special.erfinv", S.erfinv, sc.erfinv, domain=(-1, 1))
register("special.erfcinv", S.erfcinv, sc.erfcinv, domain=(0, 2))
register("special.ndtr", S.ndtr, sc.ndtr)
register("special.log_ndtr", S.log_ndtr, sc.log_ndtr)
register("special.gammaln", S.gammaln, sc.gammaln, kinks=_POLES)
register("special.digamma", S.digamma, sc.digamma, unary(-3, 3, avoid=_POLES, margin=0.1),
         kinks=_POLES, covers=("special.digamma", "special.psi"))
register("special.polygamma", lambda x, n: S.polygamma(n, x), lambda a, n: sc.polygamma(n, a),
         _with_kwargs(0.2, 3.0, n=[0, 1, 2]), **EW)
register("special.gamma", S.gamma, sc.gamma, unary(-3, 3, avoid=_POLES, margin=0.1),
         kinks=_POLES)
register("special.rgamma", S.rgamma, sc.rgamma, unary(-3, 3, avoid=_POLES, margin=0.1),
         kinks=_POLES)
register("special.gammasgn", S.gammasgn, sc.gammasgn, kinks=_POLES, zero_gradient=True)
register("special.beta", S.beta, sc.beta, binary(0.3, 3.0))
register("special.betaln", S.betaln, sc.betaln, binary(0.3, 3.0))
register("special.betainc", lambda x, a, b: S.betainc(a, b, x),
         lambda x, a, b: sc.betainc(a, b, x),
         _with_kwargs(0.05, 0.95, a=[0.5, 1.0, 2.5], b=[0.7, 3.0]), **EW)
register("special.gammainc", lambda x, a: S.gammainc(a, x), lambda x, a: sc.gammainc(a, x),
         _with_kwargs(0.1, 3.0, a=[0.5, 1.0, 2.5]), **EW)
register("special.gammaincc", lambda x, a: S.gammaincc(a, x), lambda x, a: sc.gammaincc(a, x),
         _with_kwargs(0.1, 3.0, a=[0.5, 1.0, 2.5]), **EW)
register("special.multigammaln", lambda x, d: S.multigammaln(x, d),
         lambda a, d: sc.multigammaln(a, d),
         _with_kwargs(lambda kw: (kw["d"] - 1) / 2 + 0.3, lambda kw: 4.0, d=[1, 2, 3]), **EW)
register("special.expit", S.expit, sc.expit, unary(-6, 6))
register("special.logit", S.logit, sc.logit, domain=(0, 1))
register("special.xlogy", S.xlogy, sc.xlogy, binary(-3, 3, 0.1, 3.0))
register("special.xlog1py", S.xlog1py, sc.xlog1py, binary(-3, 3, -0.9, 3.0))
register("special.entr", S.entr, sc.entr, domain=(0, INF))
register("special.i0", S.i0, sc.i0)
register("special.i1", S.i1, sc.i1)
register("special.iv", lambda x, v: S.iv(v, x), lambda a, v: sc.iv(v, a),
         _with_kwargs(0.1, 3.0, v=[0, 1, 2.5]), **EW)
register("special.ive", lambda x, v: S.ive(v, x), lambda a, v: sc.ive(v, a),
         _with_kwargs(0.1, 3.0, v=[0, 1, 2.5]), **EW)
register("special.j0", S.j0, sc.j0)
register("special.j1", S.j1, sc.j1)
register("special.jv", lambda x, v: S.jv(v, x), lambda a, v: sc.jv(v, a),
         _with_kwargs(0.1, 3.0, v=[0, 1, 2.5]), covers=("special.jv", "special.jn"), **EW)
register("special.y0", S.y0, sc.y0, domain=(0, INF))
register("special.y1", S.y1, sc.y1, domain=(0, INF))
register("special.yn", lambda x, n: S.yn(n, x), lambda a, n: sc.yn(n, a),
         _with_kwargs(0.3, 3.0, n=[0, 1, 2]), **EW)
register("special.stdtr", lambda x, df: S.stdtr(df, x), lambda a, df: sc.stdtr(df, a),
         _with_kwargs(-3.0, 3.0, df=[1.5, 2.5, 10.0]), **EW)  # (SciPy's stdtr(1, t) is off by 1e-11
# near t = 0: too much for finite differences)
register("special.logsumexp", lambda a, b, **kw: S.logsumexp(a, b=b, **kw),
         lambda a, b, **kw: sc.logsumexp(a, b=b, **kw), _weighted_reduction)
register("special.softmax", S.softmax, sc.softmax, _softmax_cases)
register("special.log_softmax", S.log_softmax, sc.log_softmax, _softmax_cases)

# ----- distributions (autonn.stats) -----
D = an.stats
_LOC_SCALE = ((-3.0, 3.0), (-1.0, 1.0), (0.5, 2.0))
for _fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"):
    register(f"stats.norm.{_fn}", getattr(D.norm, _fn), getattr(ss.norm, _fn),
             _arrays_in(*_LOC_SCALE))
for _fn in ("logpdf", "pdf"):
    register(f"stats.t.{_fn}", getattr(D.t, _fn), getattr(ss.t, _fn),
             _arrays_in((-3.0, 3.0), (1.0, 5.0), (-1.0, 1.0), (0.5, 2.0)))
for _fn in ("cdf", "logcdf"):  # df is not differentiable
    register(f"stats.t.{_fn}", (lambda f: lambda x, loc, scale, df: f(x, df, loc, scale))(
        getattr(D.t, _fn)), (lambda f: lambda x, loc, scale, df: f(x, df, loc, scale))(
        getattr(ss.t, _fn)), _and_kwargs(_arrays_in(*_LOC_SCALE), df=[1.5, 3.5]))
for _fn in ("logpdf", "pdf"):
    register(f"stats.beta.{_fn}", getattr(D.beta, _fn), getattr(ss.beta, _fn),
             _arrays_in((0.05, 0.95), (0.5, 3.0), (0.5, 3.0)))
    register(f"stats.gamma.{_fn}", getattr(D.gamma, _fn), getattr(ss.gamma, _fn),
             _arrays_in((0.1, 3.0), (0.5, 3.0), (0.0, 0.05), (0.5, 2.0)))
    register(f"stats.chi2.{_fn}", getattr(D.chi2, _fn), getattr(ss.chi2, _fn),
             _arrays_in((0.1, 3.0), (0.5, 4.0)))
register("stats.beta.cdf", lambda x, a, b: D.beta.cdf(x, a, b),
         lambda x, a, b: ss.beta.cdf(x, a, b),
         _with_kwargs(0.05, 0.95, a=[0.5, 2.5], b=[0.7, 3.0]), **EW)
register("stats.gamma.cdf", lambda x, scale, a: D.gamma.cdf(x, a, scale=scale),
         lambda x, scale, a: ss.gamma.cdf(x, a, scale=scale),
         _and_kwargs(_arrays_in((0.1, 3.0), (0.5, 2.0)), a=[0.5, 2.5]), **EW)
register("stats.chi2.cdf", lambda x, df: D.chi2.cdf(x, df), lambda x, df: ss.chi2.cdf(x, df),
         _with_kwargs(0.1, 3.0, df=[1.0, 2.5, 4.0]), **EW)


def _counts_cases(ks):
    """mu, and counts k of its shape drawn from ``ks``."""
    def cases(dtype):
        @st.composite
        def draw(draw):
            mu = draw(arrays(shapes(), dtype, 0.2, 4.0))
            k = draw(hnp.arrays(np.float64, mu.shape, elements=st.sampled_from(ks)))
            return Case((mu,), {"k": k})
        return draw()
    return cases


_COUNTS = [0.0, 1.0, 2.0, 5.0]
for _fn, _ks in (("logpmf", _COUNTS), ("pmf", _COUNTS + [2.5, -1.0]),
                 ("cdf", _COUNTS + [2.5, -1.0])):  # (logpmf is -inf at 2.5 and -1)
    register(f"stats.poisson.{_fn}", (lambda f: lambda mu, k: f(k, mu))(getattr(D.poisson, _fn)),
             (lambda f: lambda mu, k: f(k, mu))(getattr(ss.poisson, _fn)), _counts_cases(_ks),
             **EW)
for _fn in ("logpdf", "pdf"):
    register(f"stats.dirichlet.{_fn}", getattr(D.dirichlet, _fn), getattr(ss.dirichlet, _fn),
             _simplex_cases)


def _mvn_cases(dtype):
    """x (points on the last axis), mean, and A with cov = A A^T + I/2 (symmetric, SPD)."""
    @st.composite
    def draw(draw):
        d = draw(st.integers(1, 3))
        lead = draw(st.sampled_from([(), (1,), (2,), (3, 1)]))
        return Case((draw(arrays(lead + (d,), dtype, -2, 2)), draw(arrays((d,), dtype, -1, 1)),
                     draw(arrays((d, d), dtype, -1, 1))))
    return draw()


def _mvn_cov(a):
    return a @ a.T + 0.5 * np.eye(a.shape[0], dtype=a.dtype)


def _mvn_cov_t(a):
    return a @ a.T + an.tensor(0.5 * np.eye(a.shape[0], dtype=a.dtype))


# (the covariance a a^T + I/2 is built inside the entry: its errors name the function too)
for _fn in ("logpdf", "pdf"):
    register(f"stats.multivariate_normal.{_fn}",
             errors_named((lambda f: lambda x, m, a: f(x, m, _mvn_cov_t(a)))(
                 getattr(D.multivariate_normal, _fn)), f"stats.multivariate_normal.{_fn}"),
             (lambda f: lambda x, m, a: f(x, m, _mvn_cov(a)))(
                 getattr(ss.multivariate_normal, _fn)), _mvn_cases)
register("stats.multivariate_normal.entropy",  # (the mean does not enter)
         errors_named(lambda a: D.multivariate_normal.entropy(cov=_mvn_cov_t(a)),
                      "stats.multivariate_normal.entropy"),
         lambda a: np.asarray(ss.multivariate_normal.entropy(cov=_mvn_cov(a))),
         lambda dtype: _mvn_cases(dtype).map(lambda c: Case(c.arrays[2:])))

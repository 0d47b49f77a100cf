"""Benchmark of autonn.kernels (numba, fused) vs the obvious NumPy code.

    python3 benchmarks/bench_kernels.py            # 1e6 and 1e7 float32, 7 rounds
    python3 benchmarks/bench_kernels.py --quick    # 3 rounds, < 30 s
    python3 benchmarks/bench_kernels.py --threshold  # serial vs parallel sizes
    python3 benchmarks/bench_kernels.py --ulp      # exhaustive float32 ulp scan
                                                   # (~25 min; --ulp-stride 64: ~30 s)

Each activation is timed as forward + backward (incoming gradient g): the
fused kernels (``K.<act>_forward`` then ``K.<act>_backward``) against plain
NumPy computing the same thing the obvious vectorised way (e.g.
``y = np.tanh(x); gx = g * (1 - y*y)``).  The machine is small, shared and
throttles sustained 2-thread load, so the two sides run in short interleaved
bursts (alternating which goes first) with pauses in between, and the table
reports the median over rounds of the per-round ratio numpy/fused (> 1 means
the kernels are faster) together with median times.
"""

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autonn.kernels as K  # noqa: E402
from autonn.kernels import _numpy as R  # noqa: E402

try:
    from scipy.special import erf as _erf_vec
    ERF_NAME = "scipy.special.erf"
except ImportError:  # pragma: no cover
    _erf_vec = np.frompyfunc(math.erf, 1, 1)
    ERF_NAME = "np.frompyfunc(math.erf)"

SQ2 = np.float32(math.sqrt(2.0))
ISQ2PI = np.float32(1 / math.sqrt(2 * math.pi))


# ------------------------------------------------------------ the contenders
def np_relu(x, g):
    y = np.maximum(x, 0)
    return y, g * (x > 0)


def np_leaky(x, g):
    y = np.where(x > 0, x, np.float32(0.01) * x)
    return y, np.where(x > 0, g, np.float32(0.01) * g)


def np_elu(x, g):
    y = np.where(x > 0, x, np.expm1(x))
    return y, np.where(x > 0, g, g * np.exp(x))


def np_gelu(x, g):
    cdf = (0.5 * (1 + np.asarray(_erf_vec(x / SQ2), dtype=x.dtype))).astype(x.dtype)
    y = x * cdf
    return y, g * (cdf + x * ISQ2PI * np.exp(np.float32(-0.5) * x * x))


def np_sigmoid(x, g):
    with np.errstate(over="ignore"):
        y = 1 / (1 + np.exp(-x))
    return y, g * y * (1 - y)


def np_tanh(x, g):
    y = np.tanh(x)
    return y, g * (1 - y * y)


def np_softplus(x, g):
    y = np.logaddexp(np.float32(0), x)
    with np.errstate(over="ignore"):
        return y, g / (1 + np.exp(-x))


def k_pair(name, uses_y=False):
    fwd = getattr(K, name + "_forward")
    bwd = getattr(K, name + "_backward")
    if uses_y:
        def run(x, g):
            y = fwd(x)
            return y, bwd(y, g)
    else:
        def run(x, g):
            return fwd(x), bwd(x, g)
    return run


ACTS = [
    ("relu", k_pair("relu"), np_relu),
    ("leaky_relu", k_pair("leaky_relu"), np_leaky),
    ("elu", k_pair("elu"), np_elu),
    ("gelu", k_pair("gelu"), np_gelu),
    ("sigmoid", k_pair("sigmoid", True), np_sigmoid),
    ("tanh", k_pair("tanh", True), np_tanh),
    ("softplus", k_pair("softplus"), np_softplus),
]


def np_softmax_fb(x, g):
    e = np.exp(x - x.max(-1, keepdims=True))
    y = e / e.sum(-1, keepdims=True)
    return y, y * (g - (g * y).sum(-1, keepdims=True))


def k_softmax_fb(x, g):
    y = K.softmax_forward(x)
    return y, K.softmax_backward(y, g)


def np_ce_fb(x, labels):
    s = x - x.max(-1, keepdims=True)
    lp = s - np.log(np.exp(s).sum(-1, keepdims=True))
    n = x.shape[0]
    loss = -lp[np.arange(n), labels]
    p = np.exp(lp)
    p[np.arange(n), labels] -= 1
    return loss, p


def k_ce_fb(x, labels):
    loss, lp = K.cross_entropy_forward(x, labels)
    return loss, K.cross_entropy_backward(lp, labels, np.ones(x.shape[0], x.dtype))


# ------------------------------------------------------------------ timing
def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def burst(fn, args, reps):
    """median time of `reps` back-to-back calls (one short burst)."""
    return statistics.median(timed(fn, *args) for _ in range(reps))


def bench(rounds, sizes, pause, reps):
    rng = np.random.default_rng(0)
    data = {}
    for n in sizes:
        x = (rng.standard_normal(n) * 3).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        C = 1000
        xr = x[: (n // C) * C].reshape(-1, C)
        labels = rng.integers(0, C, xr.shape[0])
        data[n] = (x, g, xr, g[: xr.size].reshape(xr.shape), labels)
    cases = []
    for n in sizes:
        x, g, xr, gr, labels = data[n]
        for name, kf, nf in ACTS:
            cases.append((name, n, kf, nf, (x, g)))
        cases.append(("softmax (rows of 1000)", n, k_softmax_fb, np_softmax_fb, (xr, gr)))
        cases.append(("cross_entropy (1000)", n, k_ce_fb, np_ce_fb, (xr, labels)))
    for _name, _n, kf, nf, args in cases:    # warm-up: compile / load cache
        kf(*args)
        nf(*args)
    res = {(c[0], c[1]): ([], [], []) for c in cases}
    for r in range(rounds):
        for name, n, kf, nf, args in cases:
            if r % 2:
                tn = burst(nf, args, reps)
                time.sleep(pause)
                tk = burst(kf, args, reps)
            else:
                tk = burst(kf, args, reps)
                time.sleep(pause)
                tn = burst(nf, args, reps)
            time.sleep(pause)
            tks, tns, ratios = res[(name, n)]
            tks.append(tk)
            tns.append(tn)
            ratios.append(tn / tk)
    return cases, res


def print_table(cases, res, rounds, reps):
    print(f"\nfloat32, forward+backward; per round one burst of {reps} calls "
          f"per side (median), table = median over {rounds} interleaved rounds "
          f"(backend={K.backend()})")
    print(f"{'kernel':<24}{'n':>6}{'fused ms':>11}{'numpy ms':>11}{'speedup':>9}")
    for name, n, *_ in cases:
        tks, tns, ratios = res[(name, n)]
        print(f"{name:<24}{f'1e{round(math.log10(n))}':>6}"
              f"{statistics.median(tks) * 1e3:>11.2f}"
              f"{statistics.median(tns) * 1e3:>11.2f}"
              f"{statistics.median(ratios):>8.1f}x")
    print(f"(gelu numpy baseline uses {ERF_NAME}; softplus uses np.logaddexp)")


# --------------------------------------------------------- threshold sweep
def threshold_sweep():
    """time serial vs parallel variants of representative kernels."""
    K.relu_forward(np.ones(1, np.float32))
    from autonn.kernels import _numba as nb
    reps = 30
    for kern, dt, extra in [(nb.relu_fwd, np.float32, ()),
                            (nb.tanh_fwd, np.float32, ()),
                            (nb.sigmoid_fwd, np.float32, ()),
                            (nb.gelu_fwd, np.float32, ()),
                            (nb.tanh_fwd, np.float64, ())]:
        c = kern.cost[0] if dt == np.float32 else kern.cost[1]
        print(f"{kern.name} {np.dtype(dt).name} cost={c}: n, serial us, "
              f"parallel us")
        for p in range(10, 21):
            n = 2 ** p
            x = np.random.default_rng(0).standard_normal(n).astype(dt)
            out = np.empty_like(x)
            kern.ser(x, *extra, out)
            kern.par(x, *extra, out)
            ts, tp = [], []
            for _ in range(reps):
                ts.append(timed(kern.ser, x, *extra, out))
                tp.append(timed(kern.par, x, *extra, out))
            s, q = min(ts) * 1e6, min(tp) * 1e6
            mark = "  <- parallel wins" if q < s else ""
            print(f"  2**{p:<3}{s:>10.1f}{q:>10.1f}{mark}")
            time.sleep(0.05)


# --------------------------------------------------------- exhaustive ulps
def ulp_scan(stride, names):
    """max ulp distance kernel vs twin over all (or every stride-th) float32."""
    from numba import njit, prange

    @njit(parallel=True)
    def worst(a, b, x):
        n = a.shape[0]
        nchunk = 64
        w = np.zeros(nchunk, np.int64)
        wx = np.zeros(nchunk, np.float32)
        ai = a.view(np.int32)
        bi = b.view(np.int32)
        step = (n + nchunk - 1) // nchunk
        for c in prange(nchunk):
            for i in range(c * step, min(n, (c + 1) * step)):
                if a[i] != a[i] and b[i] != b[i]:
                    continue
                p = np.int64(ai[i])
                q = np.int64(bi[i])
                if p < 0:
                    p = -(p & 0x7FFFFFFF)
                if q < 0:
                    q = -(q & 0x7FFFFFFF)
                d = abs(p - q)
                if d > w[c]:
                    w[c] = d
                    wx[c] = x[i]
        k = np.argmax(w)
        return w[k], wx[k]

    from autonn.kernels import _numba as nb

    @njit(parallel=True)
    def helper(which, x, out):
        for i in prange(x.shape[0]):
            v = x[i]
            if which == 0:
                out[i] = nb._exp32(v)
            elif which == 1:
                out[i] = nb._log1p_unit32(v)
            else:
                out[i] = nb._expm1_neg32(v)

    def helper_fn(which):
        def f(x):
            out = np.empty_like(x)
            helper(which, x, out)
            return out
        return f

    chunk = 1 << 24
    one = int(np.float32(1).view(np.uint32))
    ranges = {"_exp32": (0, 1 << 32), "_log1p_unit32": (0, one + 1),
              "_expm1_neg32": (1 << 31, (1 << 32) - (1 << 23))}
    refs = {"_exp32": (0, np.exp), "_log1p_unit32": (1, np.log1p),
            "_expm1_neg32": (2, np.expm1)}
    for name in names:
        lo, hi = ranges.get(name, (0, 1 << 32))
        if name in refs:                # internal float32 helpers vs NumPy
            fk, fr = helper_fn(refs[name][0]), refs[name][1]
        elif name.endswith("_g1"):      # backward with g = 1: the derivative
            base = name[:-3]
            fk = lambda x, b=base: getattr(K, b)(x, np.ones_like(x))  # noqa
            fr = lambda x, b=base: getattr(R, b)(x, np.ones_like(x))  # noqa
        else:
            fk, fr = getattr(K, name), getattr(R, name)
        t = time.time()
        W, WX = 0, 0.0
        for s in range(lo, hi, chunk * stride):
            bits = np.arange(s, min(s + chunk * stride, hi), stride,
                             dtype=np.uint64)
            x = bits.astype(np.uint32).view(np.float32)
            with np.errstate(all="ignore"):
                w, wx = worst(fk(x), fr(x), x)
            if w > W:
                W, WX = int(w), float(wx)
        print(f"{name:<26} max {W} ulp (at x={WX:.9g})  "
              f"[{time.time() - t:.0f} s]", flush=True)


ULP_NAMES = ["_exp32", "_log1p_unit32", "_expm1_neg32",
             "tanh_forward", "sigmoid_forward", "elu_forward",
             "elu_backward_g1", "softplus_forward", "softplus_backward_g1",
             "gelu_forward"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="3 rounds of 2-call bursts (< 30 s)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--pause", type=float, default=None,
                    help="seconds between bursts")
    ap.add_argument("--reps", type=int, default=None,
                    help="back-to-back calls per burst, median taken "
                         "(default 3, --quick 2)")
    ap.add_argument("--threshold", action="store_true")
    ap.add_argument("--ulp", action="store_true")
    ap.add_argument("--ulp-stride", type=int, default=1)
    ap.add_argument("--ulp-names", default=",".join(ULP_NAMES))
    a = ap.parse_args()
    if a.threshold:
        return threshold_sweep()
    if a.ulp:
        return ulp_scan(a.ulp_stride, a.ulp_names.split(","))
    rounds = a.rounds or (3 if a.quick else 7)
    reps = a.reps or (2 if a.quick else 3)
    pause = a.pause if a.pause is not None else (0.02 if a.quick else 0.1)
    sizes = [int(float(s)) for s in a.sizes.split(",")]
    t = time.time()
    cases, res = bench(rounds, sizes, pause, reps)
    print_table(cases, res, rounds, reps)
    print(f"[{time.time() - t:.1f} s]")


if __name__ == "__main__":
    main()

"""Fused compute kernels of autonn (activations, linear epilogue, softmax).

Every public function takes and returns NumPy ndarrays.  Two backends:

* ``numba`` (default): ``@njit(cache=True)`` kernels in ``_numba.py``, used for
  float32/float64 inputs.  Non-contiguous inputs are made C-contiguous first;
  any other dtype (float16, longdouble, ints), mixed dtypes or shapes that need
  broadcasting go to the NumPy twins.  Numba is imported lazily on the first
  kernel call (``import autonn.kernels`` never imports numba) and nothing is
  compiled at import.  If numba cannot be imported the NumPy twins are used.
* ``numpy``: the plain-NumPy reference twins in ``_numpy.py``.

Choose with the environment variable ``AUTONN_KERNELS=numpy|numba`` or, at
run time, :func:`set_backend`; :func:`backend` reports the active one.

Output dtype equals the dtype of the first array argument (Python float
parameters never upcast; integer inputs are promoted to float64).  Inputs are
never mutated, except ``z`` in :func:`bias_act_forward`.  Outputs of 32 MiB
and more are recycled from a small pool once no array refers to them any more
(no page faults; see ``_alloc``, :func:`empty_cache`); each is still an owning
array, as from ``np.empty``.

Accuracy: each kernel is bounded against the EXACT value of its function at the
given (dtype) inputs, never against the bits NumPy gives on one machine (NumPy's
SIMD exp/tanh/... differ by an ulp or so between its AVX-512, AVX2 and baseline
paths).  A bound "U units" means ``|got - exact| <= U * eps * S``, eps of the
dtype, with S = |exact| (a relative error; a unit is at most one ulp) floored at
the smallest normal number (subnormal results have an absolute error).  For the
backwards S = |g| * max(|d|, tiny) (d the derivative; for gelu, the magnitude
``Phi + |x| phi`` of its two terms, which cancel near x = -0.75); a general g
adds 1/2 for the rounding of ``g * d``.  float32 kernels are pure float32
arithmetic, the same bits on every CPU; their bounds are measured over every
61st float32 bit pattern plus a dense [-20, 20].  float64 kernels call libm;
their bounds follow from glibc's documented errors (exp, expm1, log1p, log 1
ulp, tanh 2, erfc 5).  The NumPy twins' own errors follow from NumPy's
documented accuracy (float32 exp, expm1 3 ulp, log1p, tanh 2; float64 1 and 2),
so a kernel and its twin agree within the sum of the two.  Enforced, with the
derivations, by ``autonn_tests/test_kernels.py`` (``KERNEL_U``, ``TWIN_U``;
``python -m autonn_tests.test_kernels float32 61`` measures).  Arithmetic-only
kernels (relu, leaky_relu, the sigmoid/tanh backwards, the epilogue add) are
bit-identical to their twins.  Signed zeros, infinities and NaN are the twins'.
"""

import os
import sys
import threading
import warnings

import numpy as np

from . import _config, _numpy as _ref
from ._numpy import ACTIVATIONS

__all__ = [
    "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward",
    "elu_forward", "elu_backward",
    "gelu_forward", "gelu_backward",
    "gelu_forward_and_derivative", "gelu_backward_from_derivative",
    "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "softplus_forward", "softplus_backward",
    "bias_act_forward", "linear_act_forward", "act_backward",
    "softmax_forward", "softmax_backward",
    "log_softmax_forward", "log_softmax_backward",
    "cross_entropy_forward", "cross_entropy_backward",
    "backend", "set_backend", "empty_cache", "ACTIVATIONS",
]

# ------------------------------------------------------------ backend state
_UNSET = object()
_requested = None      # set_backend() override; None -> environment
_nb = _UNSET           # resolved: the _numba module, or None for numpy
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _env_backend():
    v = os.environ.get(_config.ENV_VAR, "").strip().lower()
    if not v:
        return _config.DEFAULT_BACKEND
    if v not in _config.BACKENDS:
        warnings.warn(f"{_config.ENV_VAR}={v!r} is not one of "
                      f"{_config.BACKENDS}; using {_config.DEFAULT_BACKEND!r}",
                      RuntimeWarning, stacklevel=3)
        return _config.DEFAULT_BACKEND
    return v


# Numba's OpenMP workers spin after a parallel region (by default up to 300,000 rounds) and then
# fight BLAS's own threads for the cores: on 2 cores a 1024-2048-2048-10 step slowed by 5-15%, a
# 784-512-256-10 one with a parallel update ~3x. Spin briefly unless the user chose a value.
# libgomp reads it once, when it is first loaded: set here, at import, so that it also holds when
# another library loads libgomp before autonn's first kernel (``import autonn`` then ``import
# torch``: Numba then runs on torch's libgomp, which had read the default).
def _libgomp_loaded():
    """True when an OpenMP runtime (libgomp) is already mapped into this process (Linux)."""
    try:
        with open(f"/proc/{os.getpid()}/maps") as f:
            return any("libgomp" in line for line in f)
    except OSError:
        return False


# Too late for that when another library (PyTorch bundles libgomp) loaded libgomp before
# autonn: its workers then spin for the default 300,000 rounds (milliseconds) after each of
# Numba's parallel regions, while BLAS's threads wait for the cores (a 1024-2048-2048-10 step
# went from 0.95x to 1.2-1.3x NumPy). Then Numba runs its parallel regions on its own
# ``workqueue`` layer instead, whose workers sleep as soon as a region ends; that layer must not
# be entered by two threads at once, so a second thread takes the serial variant meanwhile
# (``_one_at_a_time``). A threading layer or OpenMP policy chosen by the user is kept.
_OMP_USER = "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ
_GOMP_EARLY = not _OMP_USER and _libgomp_loaded()
if "OMP_WAIT_POLICY" not in os.environ:  # (a set GOMP_SPINCOUNT would override that policy)
    os.environ.setdefault("GOMP_SPINCOUNT", _config.GOMP_SPINCOUNT)
_par_lock = threading.Lock()
_DEFAULT_PARALLEL_THRESHOLD = _config.PARALLEL_THRESHOLD  # (as the environment set it)


def _one_at_a_time(par, ser):
    """``par`` for one thread at a time; a thread arriving meanwhile runs ``ser``."""
    def run(*args):
        if _par_lock.acquire(False):
            try:
                return par(*args)
            finally:
                _par_lock.release()
        return ser(*args)
    run.py_func = getattr(par, "py_func", None)
    return run


def _avoid_spinning_openmp(mod):
    """Numba's workqueue layer for autonn's parallel kernels when libgomp was loaded before
    autonn could set its spin count (see above); a no-op otherwise."""
    if not _GOMP_EARLY or os.environ.get("NUMBA_THREADING_LAYER"):
        return
    import numba
    numba.config.THREADING_LAYER = "workqueue"  # read at the first parallel launch
    if "AUTONN_PARALLEL_THRESHOLD" not in os.environ and \
            _config.PARALLEL_THRESHOLD == _DEFAULT_PARALLEL_THRESHOLD:  # (not set at run time)
        _config.PARALLEL_THRESHOLD = _config.WORKQUEUE_PARALLEL_THRESHOLD  # waking costs more
    for k in vars(mod).values():
        if isinstance(k, mod.Kernel) and not hasattr(k.par, "py_func_guarded"):
            k.par = _one_at_a_time(k.par, k.ser)
            k.par.py_func_guarded = True


def _load():
    """Resolve the backend once (imports numba on the first kernel call)."""
    global _nb
    name = _requested if _requested is not None else _env_backend()
    mod = None
    if name == "numba" and os.environ.get("NUMBA_DISABLE_JIT", "0").strip() in ("", "0"):
        # (under NUMBA_DISABLE_JIT the kernels cannot run: they use LLVM intrinsics, which
        # have no Python form; the NumPy twins take every call, as with AUTONN_KERNELS=numpy)
        try:
            from . import _numba as mod
        except Exception:  # numba missing or broken: silently use NumPy
            mod = None
        if mod is not None:
            _avoid_spinning_openmp(mod)
    _nb = mod
    return mod


def backend():
    """Name of the active backend, ``'numba'`` or ``'numpy'``.

    >>> backend() in ('numba', 'numpy')
    True
    """
    nb = _nb if _nb is not _UNSET else _load()
    return "numpy" if nb is None else "numba"


def set_backend(name=None):
    """Select ``'numba'`` or ``'numpy'``; ``None`` goes back to the
    ``AUTONN_KERNELS`` environment variable (default numba).

    >>> set_backend('numpy'); backend()
    'numpy'
    >>> set_backend(None)
    """
    global _requested, _nb
    if name is not None and name not in _config.BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of "
                         f"{_config.BACKENDS}")
    _requested = name
    _nb = _UNSET


# -------------------------------------------------------- large-output pool
# A fresh output of >= 32 MiB costs more than the kernel that fills it: glibc mmaps every
# allocation above its (at most 32 MiB) mmap threshold and unmaps it on free, so each one is
# page-faulted and zeroed by the kernel again (NumPy asks for 2 MiB pages: ~6 ms per 40 MB on the
# reference box, as long as the relu forward that then writes it). Below that size malloc keeps
# freed memory and reuses it. So outputs of at least ``_config.POOL_MIN_BYTES`` come from a small
# pool of ordinary owning 1-D arrays (base None, writeable, C-contiguous: to the caller and the
# engine a fresh np.empty). The pool keeps one reference to each block; a block is free again when
# that is the only one left (no array or view of it alive), checked with sys.getrefcount under a
# lock. Blocks are matched by dtype and byte size and reshaped in place. The pool holds at most
# ``_config.POOL_BYTES`` (in use or free); free blocks are dropped to make room, and past the cap
# outputs are plain np.empty. :func:`empty_cache` drops the free blocks.
_pool: list[np.ndarray] = []
_pool_lock = threading.Lock()
_pool_state = {"bytes": 0}


def _loop_refs(blocks):
    for b in blocks:
        return sys.getrefcount(b)


#: sys.getrefcount of a block referenced only by its pool list, seen in a loop as in _take
_FREE_REFS = _loop_refs([np.empty(1)])


def _take(dt, nbytes):
    """A free pooled block of dtype dt and nbytes bytes (caller holds _pool_lock), or None."""
    for b in _pool:
        if (b.nbytes == nbytes and b.dtype == dt and sys.getrefcount(b) <= _FREE_REFS
                and b.flags.c_contiguous):   # (dtype and strides are settable in place)
            return b
    return None


def _drop_free(need):
    """Drop free blocks until ``need`` more bytes fit under the cap (all of them for
    ``need=None``); True when they fit. The caller holds _pool_lock."""
    cap = _config.POOL_BYTES
    total = _pool_state["bytes"]
    drop = set()
    for b in _pool:
        if need is not None and total + need <= cap:
            break
        if sys.getrefcount(b) <= _FREE_REFS:
            drop.add(id(b))
            total -= b.nbytes
    if drop:
        _pool[:] = [b for b in _pool if id(b) not in drop]
        _pool_state["bytes"] = total
    return need is not None and total + need <= cap


def _alloc(shape, n, dt):
    """``(out, reused)``: ``np.empty(shape, dt)`` (n = its size) for a kernel output, large ones
    from the pool; ``reused`` says the memory was written before (no page faults to come)."""
    nbytes = n * dt.itemsize
    if nbytes < _config.POOL_MIN_BYTES or nbytes > _config.POOL_BYTES:
        return np.empty(shape, dt), False
    with _pool_lock:
        b = _take(dt, nbytes)
        reused = b is not None
        if not reused:
            if not _drop_free(nbytes):
                return np.empty(shape, dt), False
            b = np.empty(n, dt)
            _pool.append(b)
            _pool_state["bytes"] += nbytes
        b.flags.writeable = True   # (a caller may have cleared it)
        b.shape = shape
        return b, reused


def _empty(shape, n, dt):
    """``np.empty(shape, dt)`` (n = its size) for a kernel output: large ones are pooled."""
    if n * dt.itemsize < _config.POOL_MIN_BYTES:
        return np.empty(shape, dt)
    return _alloc(shape, n, dt)[0]


def empty_cache():
    """Release the free blocks of the large-output pool (kernel outputs of at
    least ``AUTONN_POOL_MIN_BYTES``, 32 MiB, are recycled, up to
    ``AUTONN_POOL_BYTES`` in all); returns the number of bytes released.

    >>> empty_cache() >= 0
    True
    """
    with _pool_lock:
        before = _pool_state["bytes"]
        _drop_free(None)
        return before - _pool_state["bytes"]


# ------------------------------------------------------------- dispatchers
def _numba_for(x):
    """The _numba module when x (ndarray) can go to numba, else None (small arrays, dtypes
    numba cannot compile, or the numpy backend)."""
    if x.size < _config.NUMBA_MIN_SIZE:
        return None
    nb = _nb if _nb is not _UNSET else _load()
    if nb is None:
        return None
    dt = x.dtype
    if dt != _F32 and dt != _F64:
        return None
    return nb


def _c(a):
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _unary(name, twin, x, params):
    x = np.asarray(x)
    nb = _numba_for(x)
    if nb is None:
        return twin(x, *params)
    dt = x.dtype
    n = x.size
    out = _empty(x.shape, n, dt)
    if n:
        ps = [dt.type(p) for p in params]
        getattr(nb, name)(n, _c(x).reshape(-1), *ps, out.reshape(-1))
    return out


def _binary(name, twin, x, g, params):
    x = np.asarray(x)
    g = np.asarray(g)
    nb = _numba_for(x)
    if nb is None or g.dtype != x.dtype or g.shape != x.shape:
        return twin(x, g, *params)
    dt = x.dtype
    n = x.size
    out = _empty(x.shape, n, dt)
    if n:
        ps = [dt.type(p) for p in params]
        getattr(nb, name)(n, _c(x).reshape(-1), _c(g).reshape(-1), *ps,
                          out.reshape(-1))
    return out


def relu_forward(x):
    """``max(x, 0)``; NaN propagates.  Exact (bit-identical to the twin).

    >>> relu_forward(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    x = np.asarray(x)
    if x.nbytes >= _config.STREAM_MIN_BYTES:
        return _relu_big(x, None)
    return _unary("relu_fwd", _ref.relu_forward, x, ())


def relu_backward(x, g):
    """``g * (x > 0)`` (0 where x <= 0 or NaN).  Exact.

    >>> relu_backward(np.array([-1.0, 2.0]), np.array([5.0, 5.0]))
    array([0., 5.])
    """
    x = np.asarray(x)
    if x.nbytes >= _config.STREAM_MIN_BYTES:
        return _relu_big(x, np.asarray(g))
    return _binary("relu_bwd", _ref.relu_backward, x, g, ())


def _relu_big(x, g):
    """relu_forward(x) (g None) or relu_backward(x, g) for an x of at least STREAM_MIN_BYTES.
    Into a reused pool block the kernel writes with streaming stores (``_numba.relu_fwd_stream``),
    serially unless ``STREAM_PARALLEL`` (see _config); into fresh memory, whose page faults
    leave it in the cache, the plain kernel is faster."""
    nb = _numba_for(x)
    if nb is None or (g is not None and (g.dtype != x.dtype or g.shape != x.shape)):
        return _ref.relu_forward(x) if g is None else _ref.relu_backward(x, g)
    out, reused = _alloc(x.shape, x.size, x.dtype)
    args = (_c(x).reshape(-1),) if g is None else (_c(x).reshape(-1), _c(g).reshape(-1))
    if reused:
        k = nb.relu_fwd_stream if g is None else nb.relu_bwd_stream
        (k.par if _config.STREAM_PARALLEL else k.ser)(*args, out.reshape(-1))
    else:
        (nb.relu_fwd if g is None else nb.relu_bwd)(x.size, *args, out.reshape(-1))
    return out


def leaky_relu_forward(x, slope=0.01):
    """``x if x > 0 else slope * x`` (PyTorch LeakyReLU).  Exact.

    >>> leaky_relu_forward(np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    return _unary("leaky_fwd", _ref.leaky_relu_forward, x, (slope,))


def leaky_relu_backward(x, g, slope=0.01):
    """``g if x > 0 else slope * g``.  Exact.

    >>> leaky_relu_backward(np.array([-1.0, 2.0]), np.ones(2), 0.1)
    array([0.1, 1. ])
    """
    return _binary("leaky_bwd", _ref.leaky_relu_backward, x, g, (slope,))


def elu_forward(x, alpha=1.0):
    """``x if x > 0 else alpha * expm1(x)``; ``elu(-0) = -0``.  float32: <= 1.5
    units (measured 1.26), float64: <= 1.5 (libm expm1 1 + the product 1/2).

    >>> elu_forward(np.array([0.0, 2.0]))
    array([0., 2.])
    """
    return _unary("elu_fwd", _ref.elu_forward, x, (alpha,))


def elu_backward(x, g, alpha=1.0):
    """``g if x > 0 else g * (alpha * exp(x))``.  Derivative (g = 1): float32
    <= 1.75 units (measured 1.63), float64 <= 1.5; a general g adds 1/2, scaled by
    ``|g| * max(|d|, max(alpha, 1) * tiny)``.

    >>> elu_backward(np.array([0.0, 2.0]), np.array([3.0, 3.0]))
    array([3., 3.])
    """
    return _binary("elu_bwd", _ref.elu_backward, x, g, (alpha,))


def gelu_forward(x):
    """Exact (erf) GELU ``x * Phi(x)``, computed from Phi(-|x|) so the negative
    tail keeps its relative accuracy.  float32: pure float32 polynomials
    (vectorised; see ``_numba._gelu``): <= 3 units (measured 2.83).  float64: libm
    erfc, <= 7.5 units of ``max(1, x*x) * |gelu(x)|`` (erfc magnifies the rounding
    of its argument -x/sqrt 2 by about 1 + x*x in the tail; glibc's erfc 5 ulp).

    >>> gelu_forward(np.array([0.0, 1.0])).round(6)
    array([0.      , 0.841345])
    """
    return _unary("gelu_fwd", _ref.gelu_forward, x, ())


def gelu_backward(x, g):
    """``g * (Phi(x) + x * phi(x))``, in units of ``|g| * (Phi + |x| phi)`` (the
    two terms cancel near x = -0.75).  float32: derivative (g = 1) <= 1.75 units
    (measured 1.63), a general g <= 2.25.  float64 (libm): <= 7.5 + 1/2 units of that times
    ``max(1, x*x)``.  Where both terms underflow (x < -38.5 in float64, float32
    from x < -14) the result is -0 (times g's sign): the sign of the true,
    negative derivative.

    >>> gelu_backward(np.array([0.0]), np.array([2.0]))
    array([1.])
    """
    return _binary("gelu_bwd", _ref.gelu_backward, x, g, ())


def gelu_forward_and_derivative(x):
    """``(gelu_forward(x), d)`` with ``d = Phi(x) + x*phi(x)`` computed in the
    same pass (the float32 work is shared; float64 calls erfc once), so that a
    backward needs only ``g * d`` (:func:`gelu_backward_from_derivative`):
    both are bit-identical to :func:`gelu_forward` and :func:`gelu_backward`.
    ``d`` is None when x does not go to the numba kernels (the NumPy twins
    recompute in the backward instead).

    >>> y, d = gelu_forward_and_derivative(np.array([0.0, 1.0]))
    >>> y.round(6)
    array([0.      , 0.841345])
    """
    x = np.asarray(x)
    nb = _numba_for(x)
    if nb is None:
        return _ref.gelu_forward(x), None
    out = _empty(x.shape, x.size, x.dtype)
    d = _empty(x.shape, x.size, x.dtype)
    if x.size:
        nb.gelu_fwd_d(x.size, _c(x).reshape(-1), out.reshape(-1), d.reshape(-1))
    return out, d


def gelu_backward_from_derivative(d, g, inplace=False):
    """``g * d`` for ``d`` from :func:`gelu_forward_and_derivative` (same
    shape and dtype as g), equal to ``gelu_backward(x, g)``.  ``inplace=True``
    lets it write the product into d (for a caller that owns d and is done
    with it): no fresh array, whose page faults alone cost about as much as
    the multiply (~6 ms at 1e7 float32 elements).

    >>> gelu_backward_from_derivative(np.array([0.5, 2.0]), np.array([2.0, 3.0]))
    array([1., 6.])
    """
    g = np.asarray(g)
    nb = _numba_for(d) if inplace else None
    if (nb is None or g.shape != d.shape or g.dtype != d.dtype
            or not d.flags.c_contiguous):
        return np.multiply(d, g)
    if d.size:
        nb.gelu_bwd_d(d.size, d.reshape(-1), _c(g).reshape(-1))
    return d


def sigmoid_forward(x):
    """Logistic ``1/(1+exp(-x))`` via ``exp(-|x|)``: no overflow for any x.
    float32 (its own FMA expf, one division): <= 1.75 units (measured 1.50);
    float64 (libm exp): <= 2.

    >>> sigmoid_forward(np.array([0.0, -1000.0, 1000.0]))
    array([0.5, 0. , 1. ])
    """
    return _unary("sigmoid_fwd", _ref.sigmoid_forward, x, ())


def sigmoid_backward(y, g):
    """``g * y * (1 - y)`` with ``y`` the sigmoid OUTPUT.  Exact.

    >>> sigmoid_backward(np.array([0.5]), np.array([1.0]))
    array([0.25])
    """
    return _binary("sigmoid_bwd", _ref.sigmoid_backward, y, g, ())


def tanh_forward(x):
    """``tanh(x)``.  float32: Eigen's clamped [13/6] rational polynomial,
    <= 3.5 units (measured 3.21, near |x| ~ 6 where tanh ~ 1 - 1e-5); float64:
    libm, <= 2.

    >>> tanh_forward(np.array([0.0, 20.0]))
    array([0., 1.])
    """
    return _unary("tanh_fwd", _ref.tanh_forward, x, ())


def tanh_backward(y, g):
    """``g * (1 - y*y)`` (as ``g*((1-y)*(1+y))``), ``y`` the tanh OUTPUT.
    Exact.

    >>> tanh_backward(np.array([0.5]), np.array([1.0]))
    array([0.75])
    """
    return _binary("tanh_bwd", _ref.tanh_backward, y, g, ())


def softplus_forward(x, beta=1.0, threshold=20.0):
    """PyTorch Softplus ``log(1+exp(beta*x))/beta``, ``x`` where
    ``beta*x > threshold``; stable for any x.  Exact value taken at
    ``z = beta * x`` rounded to the dtype (both backends branch on it).
    float32: <= 1.5 units (measured 1.37); float64 (libm): <= 3.

    >>> softplus_forward(np.array([0.0, 30.0])).round(6)
    array([ 0.693147, 30.      ])
    """
    return _unary("softplus_fwd", _ref.softplus_forward, x,
                  (beta, threshold))


def softplus_backward(x, g, beta=1.0, threshold=20.0):
    """``g * sigmoid(beta*x)``, ``g`` where ``beta*x > threshold``.
    Derivative (g = 1): float32 <= 1.75 units (measured 1.47), float64 <= 2; a
    general g adds 1/2, scaled by ``|g| * max(|d|, tiny)``.

    >>> softplus_backward(np.array([0.0, 30.0]), np.ones(2))
    array([0.5, 1. ])
    """
    return _binary("softplus_bwd", _ref.softplus_backward, x, g,
                   (beta, threshold))


# ------------------------------------------------------------ linear layer
def bias_act_forward(z, b, act="identity", alpha=None):
    """Fused linear epilogue: ``pre = z + b``; ``y = act(pre)``; one pass.

    Returns ``(pre, y)``.  **z is overwritten in place and returned as pre**
    (when it is a writeable float array; a fresh ``x @ W`` always is).  With
    ``b=None`` pre is z unchanged; for ``act='identity'`` y is pre (same
    object).  ``act`` is one of ``ACTIVATIONS``; ``alpha`` is the leaky_relu
    slope (default 0.01) or the elu alpha (default 1.0), ignored otherwise;
    softplus uses beta=1, threshold=20.  Accuracy as the activation.

    >>> z = np.array([[-1.0, 1.0]])
    >>> pre, y = bias_act_forward(z, np.array([0.5, 0.5]), "relu")
    >>> pre is z, pre, y
    (True, array([[-0.5,  1.5]]), array([[0. , 1.5]]))
    """
    act, alpha = _ref.check_act(act, alpha)
    z = np.asarray(z)
    nb = _numba_for(z)
    if (nb is None or z.ndim == 0 or not z.flags.c_contiguous
            or not z.flags.writeable):
        return _ref.bias_act_forward(z, b, act, alpha)
    dt = z.dtype
    if b is None:
        if act == "identity":
            return z, z
        return z, _ACT_FWD[act](z, alpha)
    b = np.asarray(b)
    m = z.shape[-1]
    if b.shape != (m,):
        return _ref.bias_act_forward(z, b, act, alpha)
    if b.dtype != dt or not b.flags.c_contiguous:
        b = np.ascontiguousarray(b, dtype=dt)
    z2 = z.reshape(-1, m)
    if act == "identity":
        y = y2 = z
    else:
        y = _empty(z.shape, z.size, dt)
        y2 = y.reshape(-1, m)
    if z.size:
        if act == "identity":
            np.add(z2, b, out=z2)
        else:
            nb.BIAS_ACT[act](z.size, z2, b, dt.type(alpha), y2)
    return z, y


def linear_act_forward(x, W, b=None, act="identity", alpha=None):
    """``pre = x @ W + b`` (matmul on BLAS), ``y = act(pre)``; ``(pre, y)``.

    >>> pre, y = linear_act_forward(np.ones((1, 2)), np.ones((2, 3)), np.zeros(3), "tanh")
    >>> pre
    array([[2., 2., 2.]])
    """
    act, alpha = _ref.check_act(act, alpha)
    return _linear_act(x, W, b, act, alpha)


def _linear_act(x, W, b, act, alpha):
    """:func:`linear_act_forward` for an ``act`` and ``alpha`` already checked (``LinearAct``)."""
    z = np.dot(x, W)
    dt = z.dtype
    if (z.size < _config.NUMBA_MIN_SIZE and (dt == _F32 or dt == _F64)
            and (b is None or getattr(b, "dtype", None) == dt)):
        # small float32/float64 layer: the twin's epilogue without its re-checks (a fresh
        # np.dot result is always a writeable C array)
        if b is not None:
            np.add(z, b, out=z)
        if act == "identity":
            return z, z
        if act == "relu":
            return z, np.maximum(z, 0)  # bit-identical to relu_forward for float32/64
        return z, _ref._FWD[act](z, alpha)
    return bias_act_forward(z, b, act, alpha)


_ACT_FWD = {
    "relu": lambda x, a: relu_forward(x),
    "leaky_relu": leaky_relu_forward,
    "elu": elu_forward,
    "gelu": lambda x, a: gelu_forward(x),
    "sigmoid": lambda x, a: sigmoid_forward(x),
    "tanh": lambda x, a: tanh_forward(x),
    "softplus": lambda x, a: softplus_forward(x, 1.0, 20.0),
}


def act_backward(act, pre, y, g, alpha=None):
    """Gradient w.r.t. ``pre`` of ``y = act(pre)`` given ``g = dL/dy``.

    Uses ``pre`` (relu, leaky_relu, elu, gelu, softplus) or ``y`` (sigmoid,
    tanh); the other may be None.  'identity' returns a copy of g.

    >>> act_backward("tanh", None, np.array([0.5]), np.array([1.0]))
    array([0.75])
    """
    if act == "relu":  # the common case, before validating the name
        dt = pre.dtype
        if (pre.size < _config.NUMBA_MIN_SIZE and g.dtype == dt and g.shape == pre.shape
                and (dt == _F32 or dt == _F64)):
            # a small layer: the twin's masked bits, without its dispatch (same bits)
            return _ref._relu_grad_bits(pre, g, _ref._SAME_INT[dt])
        return relu_backward(pre, g)
    act, alpha = _ref.check_act(act, alpha)
    if act == "identity":
        dt = np.asarray(pre if pre is not None else g).dtype
        if dt.kind != "f":
            dt = np.dtype(np.float64)
        return np.array(g, dtype=dt, copy=True)
    if act == "leaky_relu":
        return leaky_relu_backward(pre, g, alpha)
    if act == "elu":
        return elu_backward(pre, g, alpha)
    if act == "gelu":
        return gelu_backward(pre, g)
    if act == "sigmoid":
        return sigmoid_backward(y, g)
    if act == "tanh":
        return tanh_backward(y, g)
    return softplus_backward(pre, g, 1.0, 20.0)


# ---------------------------------------------------------- softmax family
def _rows(name, twin, x, g=None):
    """Row kernels along the last axis (any ndim >= 1, viewed as 2-D)."""
    x = np.asarray(x)
    nb = _numba_for(x)
    if g is not None:
        g = np.asarray(g)
        if g.dtype != x.dtype or g.shape != x.shape:
            nb = None
    if nb is None or x.ndim == 0 or x.size == 0:
        return twin(x) if g is None else twin(x, g)
    C = x.shape[-1]
    out = _empty(x.shape, x.size, x.dtype)
    args = [_c(x).reshape(-1, C)]
    if g is not None:
        args.append(_c(g).reshape(-1, C))
    getattr(nb, name)(x.size, *args, out.reshape(-1, C))
    return out


def softmax_forward(x):
    """Softmax along the last axis (row max subtracted; row sums in float64,
    compensated for float64 input).  <= 4 units (float32; 4.5 float64) of
    ``y_j * (1 + |x_j - m| + sum_k y_k |x_k - m|)``, m the row max (``x - m``
    rounds, and exp magnifies that by ``|x - m|``).

    >>> softmax_forward(np.array([[0.0, 0.0], [0.0, 1000.0]]))
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    return _rows("softmax_fwd", _ref.softmax_forward, x)


def softmax_backward(y, g):
    """``y * (g - sum(g * y, axis=-1, keepdims=True))``; y the softmax output.
    <= 2 units (float32; 3.5 float64) of ``|y| * (|g| + sum|g*y|)`` (the
    difference cancels).  A row holding inf gives NumPy's inf/NaN.

    >>> softmax_backward(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    array([[ 0.25, -0.25]])
    """
    return _rows("softmax_bwd", _ref.softmax_backward, y, g)


def log_softmax_forward(x):
    """Log-softmax along the last axis (``x - max - log(sum(exp(x - max)))``).
    <= 3 units (float32; 5 float64) of ``|x - m| + |y| + 1 + sum_k p_k |x_k - m|``.

    >>> log_softmax_forward(np.array([[0.0, 0.0]])).round(6)
    array([[-0.693147, -0.693147]])
    """
    return _rows("log_softmax_fwd", _ref.log_softmax_forward, x)


def log_softmax_backward(y, g):
    """``g - exp(y) * sum(g, axis=-1, keepdims=True)``; y the log-softmax.
    <= 3 units (float32; 4 float64) of ``|g| + exp(y) * sum|g|``.

    >>> log_softmax_backward(np.log(np.array([[0.5, 0.5]])), np.array([[1.0, 0.0]]))
    array([[ 0.5, -0.5]])
    """
    return _rows("log_softmax_bwd", _ref.log_softmax_backward, y, g)


def cross_entropy_forward(logits, labels):
    """Per-row cross entropy of (n, C) logits and int labels (n,).

    Returns ``(losses, log_probs)``: ``losses[i] = -log_probs[i, labels[i]]``
    (log_probs as :func:`log_softmax_forward`).  Raises ValueError naming the
    label and C for labels outside ``[0, C)``.

    >>> losses, lp = cross_entropy_forward(np.array([[0.0, 0.0]]), np.array([1]))
    >>> losses.round(6)
    array([0.693147])
    """
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D (n, C), got shape {logits.shape}")
    n, C = logits.shape
    labels = _ref.check_labels(labels, n, C)
    nb = _numba_for(logits)
    if nb is None or logits.size == 0:
        return _ref.cross_entropy_forward(logits, labels)
    lp = _empty((n, C), logits.size, logits.dtype)
    nb.log_softmax_fwd(logits.size, _c(logits), lp)
    return -lp[np.arange(n), labels], lp


def _cross_entropy_logprobs(logits):
    """The log-probabilities of :func:`cross_entropy_forward` for 2-D ``logits`` (same values, on
    the same backend), without the label checks: for callers that validated them already."""
    logits = np.asarray(logits)
    nb = _numba_for(logits)
    if nb is None or logits.size == 0:
        return _ref.log_softmax_forward(logits)
    n, C = logits.shape
    lp = _empty((n, C), logits.size, logits.dtype)
    nb.log_softmax_fwd(logits.size, _c(logits), lp)
    return lp


def _cross_entropy_grad(lp, labels, g, flat=None):
    """:func:`cross_entropy_backward` for float ``lp`` (n, C) and labels already validated
    (int64, shape (n,), in range). ``g`` is the (n,) row factors, or one 0-d factor of lp's
    dtype for every row (a mean or sum reduction): the same values as a full row of it.
    ``flat`` (optional) is ``arange(n) * C + labels``, the labels' flat positions in lp."""
    n, C = lp.shape
    nb = _numba_for(lp)
    if nb is None or lp.size == 0 or g.dtype != lp.dtype:
        if g.ndim:
            return _ref.cross_entropy_backward(lp, labels, g)
        p = np.exp(lp)
        if flat is None or not p.flags.c_contiguous:  # (exp keeps an F-ordered lp's layout)
            p[_ref._arange(n), labels] -= 1
        else:
            p.reshape(-1)[flat] -= 1
        p *= g
        return p
    if not g.ndim:
        g = np.full(n, g, lp.dtype)
    elif g.size != n:
        return _ref.cross_entropy_backward(lp, labels, g)
    out = _empty((n, C), lp.size, lp.dtype)
    nb.cross_entropy_bwd(lp.size, _c(lp), _c(labels), _c(g).reshape(n), out)
    return out


def cross_entropy_backward(log_probs, labels, g):
    """``g[:, None] * (softmax - onehot(labels))`` from the (n, C) log-probs.
    <= 2.5 units (float32; 2 float64) of ``|g| * (p + onehot)``.

    >>> cross_entropy_backward(np.log(np.array([[0.5, 0.5]])), np.array([1]), np.ones(1))
    array([[ 0.5, -0.5]])
    """
    lp = np.asarray(log_probs)
    if lp.ndim != 2:
        raise ValueError(f"log_probs must be 2-D (n, C), got shape {lp.shape}")
    n, C = lp.shape
    labels = _ref.check_labels(labels, n, C)
    g = np.asarray(g)
    nb = _numba_for(lp)
    if nb is None or lp.size == 0 or g.dtype != lp.dtype or g.size != n:
        return _ref.cross_entropy_backward(lp, labels, g)
    out = _empty((n, C), lp.size, lp.dtype)
    nb.cross_entropy_bwd(lp.size, _c(lp), _c(labels), _c(g).reshape(n), out)
    return out

"""Configuration constants of the kernel layer (no heavy imports here).

* ``ENV_VAR``: environment variable choosing the backend (``"numba"``, the
  default, or ``"numpy"``).
* ``PARALLEL_THRESHOLD``: the single serial/parallel switch.  A kernel runs
  its ``parallel=True`` twin when ``n_elements * cost >= PARALLEL_THRESHOLD``
  where ``cost`` (``COST_*`` below, declared next to each kernel in
  ``_numba.py``) is its per-element cost relative to relu, i.e. the switch
  is at a fixed amount of *serial work*, ~4 ms on the reference machine.
  It is read at every call, so it can be changed at run time (tests do), and
  its default can be overridden with ``AUTONN_PARALLEL_THRESHOLD``.

How the default was measured (``python3 benchmarks/bench_kernels.py
--threshold``, and ``--quick`` with AUTONN_PARALLEL_THRESHOLD=0 vs 1e30;
2 vCPUs).  Idle machine: the parallel variant wins from ~2**13 (float64
libm) / ~2**15 (float32 polynomials) / ~2**18 (relu, memory-bound) elements;
at 1e7 float32 elements fwd+bwd parallel vs serial was tanh 15 vs 22 ms,
elu 22 vs 39, softplus 29 vs 57, gelu 113 vs 164.  Busy machine (the other
vCPU running someone else's job): each parallel region waits for a scheduler
tick (4-8 ms; a 1e6-element relu fwd+bwd took 3.5-16 ms instead of 1 ms)
and at 1e7 parallel lost (relu 30 vs 18 ms, tanh 39 vs 20, gelu 184 vs 169).
The default was first 2**24 work units (~4 ms of serial work); the side-by-side
benchmark (``autonn bench``, activations at 1e6 elements, float32, interleaved with
NumPy and PyTorch on the same machine) then showed 2**18 work units (~65 us of serial
relu) halving relu/sigmoid fwd+bwd times at 1e6 (0.72 -> 0.33 ms, 1.9 -> 1.3 ms) on the
idle machine, so the default is now 2**18. The older reasoning, for crowded machines:
2**24 is ~4 ms of serial work (1.7e7 relu elements,
4.2e6 tanh/sigmoid/elu/softplus float32, 5.2e5 gelu float32, 1.3e5 float64
libm elements): big arrays still get ~1.5-2x on an idle box, and a stall
costs at most about one extra kernel time.  On a dedicated multi-core
machine set e.g. ``AUTONN_PARALLEL_THRESHOLD=131072``; on a crowded one 1e30.
"""

import os

ENV_VAR = "AUTONN_KERNELS"
DEFAULT_BACKEND = "numba"
BACKENDS = ("numba", "numpy")

#: work units (elements x cost) from which the parallel variant is used
PARALLEL_THRESHOLD = int(float(os.environ.get("AUTONN_PARALLEL_THRESHOLD",
                                              2 ** 18)))

#: the default of PARALLEL_THRESHOLD while autonn's parallel kernels run on Numba's workqueue
#: layer (libgomp was loaded before autonn, e.g. by ``import torch``; see ``kernels``): its
#: workers sleep between regions, and waking them costs ~0.1-0.15 ms a region on the reference
#: box, so a parallel fwd+bwd pair won only from ~2**21 work units (measured with torch imported
#: first, float32, min of 7x10 calls: relu at 1e6 elements parallel 1.01 ms, serial 0.77 ms;
#: at 4e6 2.2 vs 3.7; tanh at 1e6 (4e6 units) 1.08 vs 1.03; gelu at 1e6 1.52 vs 2.36).
#: AUTONN_PARALLEL_THRESHOLD, when set, applies to both layers.
WORKQUEUE_PARALLEL_THRESHOLD = 2 ** 21

#: arrays smaller than this take the NumPy twins: at that size the two run about as fast, and
#: a process that only ever sees small arrays never imports numba (a fresh process's first
#: small training step stays well under a second). Read at every call; tests set it to 0.
NUMBA_MIN_SIZE = int(float(os.environ.get("AUTONN_NUMBA_MIN_SIZE", 2 ** 14)))

#: kernel outputs of at least this many bytes come from a pool of recycled arrays (see
#: ``kernels._empty``): above glibc's largest mmap threshold (32 MiB) every np.empty is mapped
#: afresh, page-faulted and zeroed by the kernel (~6 ms per 40 MB, as long as a relu pass over it),
#: while smaller freed blocks stay in malloc's heap and are reused anyway. Read at every call.
POOL_MIN_BYTES = int(float(os.environ.get("AUTONN_POOL_MIN_BYTES", 2 ** 25)))

#: at most this many bytes of pooled outputs (in use or free; free blocks are dropped to make
#: room, and past it outputs are plain np.empty). 0 turns the pool off. Read at every call.
POOL_BYTES = int(float(os.environ.get("AUTONN_POOL_BYTES", 2 ** 28)))

#: relu (forward and backward) outputs of at least this many bytes are written with streaming
#: (non-temporal) stores, which skip the read of each cache line before it is written: from about
#: the size of the last-level cache (32 MiB on the reference box), where the output would not stay
#: cached for its reader anyway. Read at every call.
STREAM_MIN_BYTES = int(float(os.environ.get("AUTONN_STREAM_MIN_BYTES", 2 ** 25)))

#: whether those streaming relu kernels run their parallel variant (PARALLEL_THRESHOLD aside).
#: Off by default: on the reference box (2 vCPUs, Linux 6.18's EEVDF scheduler) relu forward +
#: backward at 1e7 float32 elements took 5.6 ms parallel and 8.0 ms serial while the machine was
#: idle, but whenever the other vCPU was busy the woken worker thread waited for a time slice and
#: the parallel pair took 16 ms (4 ms per region); the second thread adds little bandwidth here.
STREAM_PARALLEL = os.environ.get("AUTONN_STREAM_PARALLEL", "0").strip().lower() in ("1", "true")

#: GOMP_SPINCOUNT set (unless already set) when ``autonn.kernels`` is imported, before any
#: OpenMP runtime reads it: how long idle workers spin before sleeping (see ``kernels``)
GOMP_SPINCOUNT = "10000"

#: relative per-element costs (measured serial ns/element / relu's ~0.25 ns)
COST_ARITH = 1      # fused add/mul/compare/select: relu, leaky, backwards
COST_POLY = 4       # float32 polynomial exp/tanh/log1p: sigmoid, tanh, elu...
COST_LIBM = 128     # scalar libm call per element (all float64 transcendental)

"""Configuration constants of the kernel layer (no heavy imports here).

* ``ENV_VAR``: name of the environment variable choosing the backend
  (``"numba"``, the default, or ``"numpy"``).
* ``PARALLEL_THRESHOLD``: the single serial/parallel switch.  A kernel runs
  its ``parallel=True`` twin when ``n_elements * cost >= PARALLEL_THRESHOLD``,
  where ``cost`` is the relative per-element cost declared next to each kernel
  in ``_numba.py`` (``COST_*`` below).  Measured on the 2-core reference
  machine (``python3 benchmarks/bench_kernels.py --threshold``): the parallel
  launch costs ~10-20 us, so plain arithmetic (relu, backwards) only pays off
  from ~2**17 elements, polynomial kernels (tanh/sigmoid float32) from ~2**15,
  and libm-bound ones (gelu, float64 transcendental) from ~2**13.
"""

ENV_VAR = "AUTONN_KERNELS"
DEFAULT_BACKEND = "numba"
BACKENDS = ("numba", "numpy")

#: work units (elements x cost) from which the parallel variant is used
PARALLEL_THRESHOLD = 2 ** 17

#: relative per-element costs
COST_ARITH = 1      # fused add/mul/compare/select
COST_POLY = 4       # vectorised float32 polynomial (exp, tanh, log1p)
COST_LIBM = 16      # scalar libm call per element (float64 exp/tanh, erfc)

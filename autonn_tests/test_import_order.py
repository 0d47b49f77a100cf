"""Import order: when libgomp is loaded before autonn (``import torch`` first), autonn's parallel
kernels run on Numba's workqueue layer, whose workers do not spin; one thread at a time, the
others taking the serial variant. Speed is measured by ``autonn bench``, not asserted here."""
import ctypes.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOMP = ctypes.util.find_library("gomp")

_PROBE = """
import ctypes, os, sys, threading
if sys.argv[1] == "gomp-first":
    ctypes.CDLL({gomp!r}, mode=ctypes.RTLD_GLOBAL)   # what `import torch` does
import numpy as np
import autonn as an
from autonn import kernels
kernels._config.PARALLEL_THRESHOLD = 1                 # every kernel call takes its parallel variant
x = np.linspace(-3, 3, 1 << 16)
ref = np.tanh(x)
errors = []

def work():
    for _ in range(40):
        y = kernels.tanh_forward(x)
        if np.max(np.abs(y - ref)) > 1e-12:
            errors.append("wrong values")

threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
import numba
print(numba.threading_layer(), len(errors))
"""


def _probe(mode, **env):
    env = dict(os.environ, PYTHONPATH=ROOT, **env)
    for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER"):
        if k not in env or k not in _probe.keep:
            env.pop(k, None)
    out = subprocess.run([sys.executable, "-c", _PROBE.format(gomp=GOMP), mode], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    layer, errors = out.stdout.split()
    return layer, int(errors)


_probe.keep = ()


@pytest.mark.skipif(GOMP is None or not sys.platform.startswith("linux"),
                    reason="needs libgomp on Linux")
def test_libgomp_loaded_first_switches_to_workqueue_and_stays_threadsafe():
    layer, errors = _probe("gomp-first")
    assert layer == "workqueue" and errors == 0  # four threads at once: no abort, right values


@pytest.mark.skipif(GOMP is None or not sys.platform.startswith("linux"),
                    reason="needs libgomp on Linux")
def test_autonn_first_keeps_openmp():
    layer, errors = _probe("autonn-first")
    assert layer in ("omp", "tbb") and errors == 0


@pytest.mark.skipif(GOMP is None or not sys.platform.startswith("linux"),
                    reason="needs libgomp on Linux")
def test_a_users_openmp_policy_is_kept():
    _probe.keep = ("OMP_WAIT_POLICY",)
    try:
        layer, _ = _probe("gomp-first", OMP_WAIT_POLICY="passive")
    finally:
        _probe.keep = ()
    assert layer in ("omp", "tbb")


_THRESHOLD_PROBE = """
import ctypes, sys
if sys.argv[1] == "gomp-first":
    ctypes.CDLL({gomp!r}, mode=ctypes.RTLD_GLOBAL)
import numpy as np
from autonn import kernels
kernels.relu_forward(np.ones(1 << 15, np.float32))     # the first kernel call resolves the backend
print(kernels._config.PARALLEL_THRESHOLD)
"""


@pytest.mark.skipif(GOMP is None or not sys.platform.startswith("linux"),
                    reason="needs libgomp on Linux")
@pytest.mark.parametrize("mode, env, expected", [
    ("gomp-first", {}, "WORKQUEUE_PARALLEL_THRESHOLD"),
    ("autonn-first", {}, "PARALLEL_THRESHOLD"),
    ("gomp-first", {"AUTONN_PARALLEL_THRESHOLD": "12345"}, "12345"),
])
def test_workqueue_layer_takes_its_own_parallel_threshold(mode, env, expected):
    """Waking workqueue's sleeping workers costs more than OpenMP's spinning ones, so the switch to
    a kernel's parallel variant sits at more work there; a threshold the user set is kept."""
    from autonn.kernels import _config
    run_env = dict(os.environ, PYTHONPATH=ROOT, **env)
    if "AUTONN_PARALLEL_THRESHOLD" not in env:
        run_env.pop("AUTONN_PARALLEL_THRESHOLD", None)
    for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER", "AUTONN_KERNELS"):
        run_env.pop(k, None)
    out = subprocess.run([sys.executable, "-c", _THRESHOLD_PROBE.format(gomp=GOMP), mode],
                         env=run_env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    want = getattr(_config, expected, None) if not expected.isdigit() else int(expected)
    if expected == "PARALLEL_THRESHOLD":
        want = 2 ** 18 if "AUTONN_PARALLEL_THRESHOLD" not in os.environ else want
    assert int(out.stdout.strip()) == want

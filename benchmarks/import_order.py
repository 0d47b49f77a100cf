"""Does import order change autonn's speed? The 784-512-256-10 and 1024-2048-2048-10 eager and
compiled MLP steps against NumPy (medians of per-round ratios, as ``autonn bench``), each
configuration in a fresh process:

* ``autonn-first``: autonn imported before PyTorch;
* ``torch-first``: PyTorch (which loads its bundled libgomp) imported first, autonn's default
  reaction (Numba's workqueue layer for autonn's parallel kernels);
* ``torch-first-omp``: the same with Numba forced onto OpenMP (``NUMBA_THREADING_LAYER=omp``,
  the behaviour before the fix), for comparison.

    python benchmarks/import_order.py [rounds]
"""
import json
import os
import subprocess
import sys

_CHILD = """
import json, sys
mode, rounds = sys.argv[1], int(sys.argv[2])
if mode != "autonn-first":
    import torch  # noqa: F401
import autonn as an
from autonn import bench as B
try:
    import torch  # noqa: F401
except ImportError:
    pass
rows = [B.bench_mlp(s, b, rounds, 0.08, 0.5, False) for s, b in
        (((784, 512, 256, 10), 128), ((1024, 2048, 2048, 10), 512))]
import numba
try:
    layer = numba.threading_layer()
except ValueError:  # no parallel region ran (every kernel call below the parallel threshold)
    layer = str(numba.config.THREADING_LAYER) + ", unused"
print(json.dumps({"layer": layer, "rows": rows}))
"""


def main(rounds=5):
    for mode in ("autonn-first", "torch-first", "torch-first-omp"):
        env = dict(os.environ)
        if mode == "torch-first-omp":
            env["NUMBA_THREADING_LAYER"] = "omp"
        out = subprocess.run([sys.executable, "-c", _CHILD, mode.replace("-omp", ""), str(rounds)],
                             env=env, check=True, capture_output=True, text=True).stdout
        res = json.loads(out.strip().splitlines()[-1])
        for r in res["rows"]:
            print(f"{mode:>16} ({res['layer']:>9}) {r['workload']:<45} eager "
                  f"{r['autonn/numpy']:.2f}x, compiled {r['compiled/numpy']:.2f}x NumPy "
                  f"({r['numpy']:.1f} ms)", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

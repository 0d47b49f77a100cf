"""Peak memory and compile time of ``an.compile`` against eager mode (the MLP rows of ``autonn
bench``: 784-512-256-10 batch 128 and 1024-2048-2048-10 batch 512, float32, SGD).

* tracemalloc peak of one training step (NumPy reports its allocations to tracemalloc), after
  two warm-up steps, in the same process;
* RSS high-water mark (``ru_maxrss``) of a fresh process running 20 eager or 20 compiled steps
  (the compiled one includes its recording call);
* compile time: the first (recording) call against a later call, in a fresh process, with the
  Numba cache warm.

    python benchmarks/compile_memory.py
"""
import json
import subprocess
import sys
import time
import tracemalloc

SIZES = [((784, 512, 256, 10), 128), ((1024, 2048, 2048, 10), 512)]

_PROCESS = """
import json, resource, sys, time
from autonn import bench
import autonn as an
sizes, batch, mode = json.loads(sys.argv[1])
step = bench._autonn_mlp(sizes, batch, bench._numpy_mlp(sizes, batch)[1])
if mode == "compiled":
    step = an.compile(step)
t0 = time.perf_counter(); step(); t1 = time.perf_counter(); step(); t2 = time.perf_counter()
for _ in range(18):
    step()
print(json.dumps({"first": t1 - t0, "second": t2 - t1,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _traced_peak(step):
    step()
    step()
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _fresh(sizes, batch, mode):
    out = subprocess.run([sys.executable, "-c", _PROCESS, json.dumps([sizes, batch, mode])],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    import autonn as an
    from autonn import bench
    rows = []
    for sizes, batch in SIZES:
        init = bench._numpy_mlp(sizes, batch)[1]
        eager = bench._autonn_mlp(sizes, batch, init)
        compiled = an.compile(bench._autonn_mlp(sizes, batch, bench._numpy_mlp(sizes, batch)[1]))
        label = "-".join(map(str, sizes)) + f" b{batch}"
        _fresh(sizes, batch, "compiled")  # warm the kernel cache
        pe, pc = _traced_peak(eager), _traced_peak(compiled)
        fe, fc = _fresh(sizes, batch, "eager"), _fresh(sizes, batch, "compiled")
        rows.append({"workload": label, "traced_peak_eager_mb": pe / 2**20,
                     "traced_peak_compiled_mb": pc / 2**20,
                     "maxrss_eager_mb": fe["maxrss_mb"], "maxrss_compiled_mb": fc["maxrss_mb"],
                     "eager_first_s": fe["first"], "eager_later_s": fe["second"],
                     "compiled_first_s": fc["first"], "compiled_later_s": fc["second"]})
        r = rows[-1]
        print(f"{label}: traced peak eager {r['traced_peak_eager_mb']:.1f} MB, compiled "
              f"{r['traced_peak_compiled_mb']:.1f} MB; max RSS eager {r['maxrss_eager_mb']:.0f} "
              f"MB, compiled {r['maxrss_compiled_mb']:.0f} MB; first call eager "
              f"{r['eager_first_s']:.3f} s, compiled {r['compiled_first_s']:.3f} s; later call "
              f"eager {r['eager_later_s'] * 1e3:.1f} ms, compiled "
              f"{r['compiled_later_s'] * 1e3:.1f} ms", flush=True)
    return rows


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"({time.time() - t:.0f} s)")

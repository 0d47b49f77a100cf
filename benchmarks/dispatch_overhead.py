"""Per-op cost of NumPy dispatch: this checkout against another one, in one process (A/B).

    git archive <commit> autonn | tar -x -C /tmp/base   # the other version's package
    python benchmarks/dispatch_overhead.py /tmp/base [rounds]

The other package is imported as ``autonn_base``; both run in short interleaved bursts, and the
table gives each workload's median time per op and the median of the per-round ratios
(this / other). Workloads, 200-op chains on a (4,) float64 tensor, forward + backward:

* ``tensor op scalar``: ``y * 1.0001``, ``y + 0.001`` (the scalar fast path);
* ``tensor op tensor``: ``y * c``, ``y + c`` with ``c`` a Tensor;
* ``tensor op ndarray``: ``y * a``, ``y + a`` with ``a`` an ndarray (``as_tensor``'s array path);
* ``ndarray op tensor``: ``a * y``, ``a + y`` (NumPy's ufunc, then ``__array_ufunc__`` here;
  ``__array_priority__`` and the reflected operator in a checkout without dispatch);
* ``np.sin(tensor)`` against ``an.sin(tensor)`` in the same checkout (dispatch cost alone).
"""
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autonn as A


def _load_other(root):
    spec = importlib.util.spec_from_file_location(
        "autonn_base", Path(root) / "autonn" / "__init__.py",
        submodule_search_locations=[str(Path(root) / "autonn")])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["autonn_base"] = mod
    spec.loader.exec_module(mod)
    return mod


def _chains(an):
    x0 = np.linspace(0.1, 0.4, 4)
    c, a = an.tensor(np.full(4, 1.0001)), np.full(4, 1.0001)

    def run(step):
        def chain():
            y = an.tensor(x0, requires_grad=True)
            for _ in range(100):
                y = step(y)
            y.sum().backward()
        return chain

    return {
        "tensor op scalar": run(lambda y: (y * 1.0001) + 0.001),
        "tensor op tensor": run(lambda y: (y * c) + c),
        "tensor op ndarray": run(lambda y: (y * a) + a),
        "ndarray op tensor": run(lambda y: a + (a * y)),
        "an.sin (100) + add": run(lambda y: an.sin(y) + c),
    }


def _time(fn, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps / 200  # per op


def main(other_root, rounds=15, reps=20):
    B = _load_other(other_root)
    this, other = _chains(A), _chains(B)
    x0 = np.linspace(0.1, 0.4, 4)
    c = A.tensor(np.full(4, 1.0001))

    def np_sin_chain():
        y = A.tensor(x0, requires_grad=True)
        for _ in range(100):
            y = np.sin(y) + c
        y.sum().backward()

    this["np.sin (100) + add"], other["np.sin (100) + add"] = np_sin_chain, this["an.sin (100) + add"]
    times = {k: ([], []) for k in this}
    for _ in range(rounds):
        for k in this:
            for fn, bucket in ((this[k], times[k][0]), (other[k], times[k][1])):
                fn()
                bucket.append(_time(fn, reps))
    print(f"{'workload':22} {'this us/op':>11} {'other us/op':>12} {'ratio':>7}")
    for k, (t, o) in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, o))
        print(f"{k:22} {statistics.median(t) * 1e6:11.2f} {statistics.median(o) * 1e6:12.2f} "
              f"{ratio:7.3f}")
    print("(np.sin row: 'other' is an.sin in this checkout)")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))

"""Per-op cost of NumPy dispatch: this checkout against another one, in one process (A/B).

    git archive <commit> autonn | tar -x -C /tmp/base   # the other version's package
    python benchmarks/dispatch_overhead.py /tmp/base [rounds]

The other package is imported as ``autonn_base``; both run in short interleaved bursts, and the
table gives each workload's median time per op and the median of the per-round ratios
(this / other), from the harness in ``benchmarks/_ab.py``. Workloads, 200-op chains on a
(4,) float64 tensor, forward + backward:

* ``tensor op scalar``: ``y * 1.0001``, ``y + 0.001`` (the scalar fast path);
* ``tensor op tensor``: ``y * c``, ``y + c`` with ``c`` a Tensor;
* ``tensor op ndarray``: ``y * a``, ``y + a`` with ``a`` an ndarray (``as_tensor``'s array path);
* ``ndarray op tensor``: ``a * y``, ``a + y`` (NumPy's ufunc, then ``__array_ufunc__`` here;
  ``__array_priority__`` and the reflected operator in a checkout without dispatch);
* ``np.sin(tensor)`` against ``an.sin(tensor)`` in the same checkout (dispatch cost alone).
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ab import compare, load_other, load_this, report  # noqa: E402  (after the path insert)

A = load_this()


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


def main(other_root, rounds=15):
    B = load_other(other_root)
    this, other = _chains(A), _chains(B)
    x0 = np.linspace(0.1, 0.4, 4)
    c = A.tensor(np.full(4, 1.0001))

    def np_sin_chain():
        y = A.tensor(x0, requires_grad=True)
        for _ in range(100):
            y = np.sin(y) + c
        y.sum().backward()

    this["np.sin (100) + add"], other["np.sin (100) + add"] = np_sin_chain, this["an.sin (100) + add"]
    for k in list(this):
        try:
            other[k]()
        except RuntimeError as e:  # autonn._dispatch looks its tables up as sys.modules["autonn.*"]:
            # a package loaded under another name may reach this checkout's ops there
            print(f"{k}: not measured, the other package fails it here ({str(e)[:60]}...)")
            del this[k]
    rows = compare({k: (other[k], this[k]) for k in this}, rounds)
    report(rows, per=dict.fromkeys(rows, 200))
    print("(np.sin row: 'other' is an.sin in this checkout)")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))

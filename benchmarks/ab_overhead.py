"""Per-op overhead of this checkout against another one, in one process (A/B).

    git archive <commit> autonn | tar -x -C /tmp/ab   # the other version's package
    python benchmarks/ab_overhead.py /tmp/ab [rounds]

The other package is imported under the name ``autonn_base`` (the engine and ops use relative
imports only), so both run side by side in short interleaved bursts on the same machine; the
table reports median times and the median of per-round ratios (this / other), which holds up
on a shared, drifting machine better than absolute times. Workloads:

* ``chain``: the 200-op chain of ``autonn bench`` (``y * 1.0001``, ``y + 0.001`` on a (4,)
  tensor), forward + backward; per op. These scalar ops save no values.
* ``saving chain``: 200 ops ``y * c`` and ``tanh`` on a (4,) tensor, ops whose gradient reads
  saved values (their arrays are held read-only while the graph lives); per op.
* ``mlp step``: 64-128-10 ReLU MLP, batch 64, cross entropy, SGD step; per step.
"""
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autonn as B  # noqa: E402  (after the path insert)


def _load_other(root):
    spec = importlib.util.spec_from_file_location(
        "autonn_base", Path(root) / "autonn" / "__init__.py",
        submodule_search_locations=[str(Path(root) / "autonn")])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["autonn_base"] = mod
    spec.loader.exec_module(mod)
    return mod


def _workloads(an):
    x0 = np.linspace(0.1, 0.4, 4)
    c = an.tensor(np.full(4, 1.0001))

    def chain():
        y = an.tensor(x0, requires_grad=True)
        for _ in range(100):
            y = y * 1.0001
            y = y + 0.001
        y.sum().backward()

    def saving_chain():
        y = an.tensor(x0, requires_grad=True)
        for _ in range(100):
            y = y * c
            y = y.tanh()
        y.sum().backward()

    rng = np.random.default_rng(0)
    X, Y = an.tensor(rng.normal(size=(64, 64))), an.tensor(rng.integers(0, 10, 64))
    model = an.nn.Sequential(an.nn.Linear(64, 128), an.nn.ReLU(), an.nn.Linear(128, 10))
    opt = an.optim.SGD(model.parameters(), lr=0.01)

    def mlp_step():
        opt.zero_grad()
        an.nn.functional.cross_entropy(model(X), Y).backward()
        opt.step()
    return {"chain (per op)": (chain, 200), "saving chain (per op)": (saving_chain, 200),
            "mlp step (per step)": (mlp_step, 1)}


def _burst(fn, per, n=10):
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n / per * 1e6


def main():
    other = _load_other(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    wa, wb = _workloads(other), _workloads(B)
    print(f"other: {other.__file__}\nthis:  {B.__file__}")
    for name in wa:
        (fa, per), (fb, _) = wa[name], wb[name]
        for f in (fa, fb):
            _burst(f, per, 3)
        ta, tb, ratios = [], [], []
        for r in range(rounds):
            order = ((fa, ta), (fb, tb)) if r % 2 else ((fb, tb), (fa, ta))
            for f, times in order:
                times.append(min(_burst(f, per) for _ in range(3)))
            ratios.append(tb[-1] / ta[-1])
        print(f"{name:24s} other {statistics.median(ta):8.2f} us  this {statistics.median(tb):8.2f} us"
              f"  this/other {statistics.median(ratios):.3f} "
              f"(quartiles {np.percentile(ratios, 25):.3f}-{np.percentile(ratios, 75):.3f})")


if __name__ == "__main__":
    main()

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
* ``mlp step``: 64-128-10 ReLU MLP, batch 64, cross entropy, SGD step; per step (float64).
* ``bench mlp f32``: ``autonn bench``'s 64-128-10 float32 step (as ``autonn.bench._autonn_mlp``).
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ab import compare, load_other, load_this, report  # noqa: E402  (after the path insert)


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

    f32 = np.float32  # autonn bench's float32 row (autonn.bench._autonn_mlp), built here
    model32 = an.nn.Sequential(an.nn.Linear(64, 128, dtype=f32), an.nn.ReLU(),
                               an.nn.Linear(128, 10, dtype=f32))
    opt32 = an.optim.SGD(model32.parameters(), lr=0.01)
    loss_fn = an.nn.CrossEntropyLoss()
    X32 = an.tensor(rng.standard_normal((64, 64)).astype(f32))

    def bench_step():
        opt32.zero_grad()
        loss = loss_fn(model32(X32), Y)
        loss.backward()
        opt32.step()
    return {"chain (per op)": (chain, 200), "saving chain (per op)": (saving_chain, 200),
            "mlp step (per step)": (mlp_step, 1), "bench mlp f32 (per step)": (bench_step, 1)}


def main():
    other = load_other(sys.argv[1])
    this = load_this()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    wa, wb = _workloads(other), _workloads(this)
    print(f"other: {other.__file__}\nthis:  {this.__file__}")
    report(compare({k: (wa[k][0], wb[k][0]) for k in wa}, rounds),
           per={k: per for k, (_, per) in wa.items()})


if __name__ == "__main__":
    main()

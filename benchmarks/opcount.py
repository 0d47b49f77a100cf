"""Python bytecodes executed per op or step (sys.settrace opcode events): deterministic, unlike
time on a shared machine, so two checkouts compare exactly.

    python benchmarks/opcount.py .          # this checkout
    python benchmarks/opcount.py /tmp/ab    # another (git archive <commit> autonn | tar -x -C /tmp/ab)

Workloads as benchmarks/ab_overhead.py: the 200-op scalar chain and a 200-op chain of
value-saving ops (``y * c``, ``tanh``) on (4,) tensors, fwd+bwd, per op; a 64-128-10 MLP
training step (SGD), per step. C-level work (NumPy calls) is not counted.
"""
import importlib.util
import sys
from pathlib import Path

import numpy as np


def _load(root):
    root = Path(root)
    spec = importlib.util.spec_from_file_location(
        "autonn", root / "autonn" / "__init__.py", submodule_search_locations=[str(root / "autonn")])
    an = importlib.util.module_from_spec(spec)
    sys.modules["autonn"] = an
    spec.loader.exec_module(an)
    return an


def _workloads(an):
    x0 = np.linspace(0.1, 0.4, 4)
    c = an.tensor(np.full(4, 1.0001))

    def chain():
        y = an.tensor(x0, requires_grad=True)
        for _ in range(100):
            y = y * 1.0001
            y = y + 0.001
        y.sum().backward()

    def saving():
        y = an.tensor(x0, requires_grad=True)
        for _ in range(100):
            y = y * c
            y = y.tanh()
        y.sum().backward()

    rng = np.random.default_rng(0)
    X, Y = an.tensor(rng.normal(size=(64, 64))), an.tensor(rng.integers(0, 10, 64))
    model = an.nn.Sequential(an.nn.Linear(64, 128), an.nn.ReLU(), an.nn.Linear(128, 10))
    opt = an.optim.SGD(model.parameters(), lr=0.01)

    def mlp():
        opt.zero_grad()
        an.nn.functional.cross_entropy(model(X), Y).backward()
        opt.step()
    return {"chain, per op": (chain, 200), "saving chain, per op": (saving, 200),
            "mlp step": (mlp, 1)}


def count(fn):
    """Bytecodes executed by one call of ``fn`` (after two warm-up calls)."""
    fn()
    fn()
    n = [0]

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            n[0] += 1
        return tracer
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return n[0]


if __name__ == "__main__":
    an = _load(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
    print(an.__file__)
    for name, (fn, per) in _workloads(an).items():
        print(f"{name:22s} {count(fn) / per:8.1f} bytecodes")

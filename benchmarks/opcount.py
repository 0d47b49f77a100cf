"""Python bytecodes executed per op or step (sys.settrace opcode events): deterministic, unlike
time on a shared machine, so two checkouts compare exactly.

    python benchmarks/opcount.py .          # this checkout
    python benchmarks/opcount.py /tmp/ab    # another (git archive <commit> autonn | tar -x -C /tmp/ab)

Workloads: benchmarks/ab_overhead.py's (the 200-op scalar chain and a 200-op chain of
value-saving ops on (4,) tensors, fwd+bwd, per op; 64-128-10 MLP training steps, per step).
C-level work (NumPy calls) is not counted.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ab import load_other  # noqa: E402  (after the path insert)
from ab_overhead import _workloads  # noqa: E402  (the same workloads)


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
    an = load_other(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1],
                    "autonn")
    print(an.__file__)
    for name, (fn, per) in _workloads(an).items():
        print(f"{name:22s} {count(fn) / per:8.1f} bytecodes")

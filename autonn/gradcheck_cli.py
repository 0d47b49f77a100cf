"""``autonn gradcheck``: check every registered op (float64 and float32) against finite
differences and print a table; the exit status is 1 if any check fails.

    autonn gradcheck                      # every op, 3 random inputs per op and dtype
    autonn gradcheck --ops matmul tanh --examples 10 --seed 1
"""
import time

import numpy as np

DTYPES = (np.float64, np.float32)


def draw_cases(strategy, count, seed=0):
    """``count`` examples of a Hypothesis ``strategy``, reproducibly for a given ``seed``
    (generation only: no shrinking, no example database)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    found = []

    @hseed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(case):
        if len(found) < count:
            found.append(case)

    collect()
    return found


def check_op(spec, dtype, examples, seed=0, **options):
    """Run gradcheck_report on ``examples`` drawn inputs of registry entry ``spec``; returns
    ``(passed, max_abs_error, max_rel_error, first failing report or None, n_checked)``."""
    import autonn as an
    from autonn.checking import gradcheck_report

    worst_abs = worst_rel = 0.0
    failure = None
    cases = draw_cases(spec.cases(np.dtype(dtype)), examples, seed)
    for case in cases:
        xs = tuple(an.tensor(a, requires_grad=True) for a in case.arrays)
        kwargs = case.kwargs
        rep = gradcheck_report(lambda *ts: spec.fn(*ts, **kwargs), xs, **options)
        for r in rep.inputs:
            worst_abs = max(worst_abs, r.max_abs_error)
            worst_rel = max(worst_rel, r.max_rel_error)
        if not rep.passed and failure is None:
            failure = rep
    return failure is None, worst_abs, worst_rel, failure, len(cases)


def run(args):
    from autonn.testing.registry import REGISTRY

    differentiable = sorted(n for n in REGISTRY if REGISTRY[n].differentiable)
    names = args.ops or differentiable
    unknown = [n for n in names if n not in differentiable]
    if unknown:
        print(f"autonn gradcheck: unknown op(s) {', '.join(unknown)}; registered (with a "
              f"gradient): {', '.join(differentiable)}")
        return 2
    header = f"{'op':<14} {'dtype':<8} {'max abs error':>14} {'max rel error':>14}  result"
    print(header)
    print("-" * len(header))
    failures = []
    start = time.perf_counter()
    for name in names:
        for dtype in DTYPES:
            ok, e_abs, e_rel, rep, n = check_op(REGISTRY[name], dtype, args.examples, args.seed)
            print(f"{name:<14} {np.dtype(dtype).name:<8} {e_abs:>14.3g} {e_rel:>14.3g}  "
                  f"{'pass' if ok else 'FAIL'}", flush=True)
            if not ok:
                failures.append((name, np.dtype(dtype).name, rep))
    total = len(names) * len(DTYPES)
    print("-" * len(header))
    print(f"{total - len(failures)} of {total} passed ({args.examples} inputs each, seed "
          f"{args.seed}) in {time.perf_counter() - start:.1f} s")
    for name, dtype, rep in failures:
        print(f"\n{name} ({dtype}):\n{rep.message()}")
    return 1 if failures else 0

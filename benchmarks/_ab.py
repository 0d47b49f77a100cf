"""The A/B harness of the overhead benchmarks: another checkout's ``autonn`` loaded beside this
one, and workloads timed in short interleaved bursts in one process.

On a shared, drifting machine absolute times move from minute to minute; the median of
per-round ratios (both contenders timed in the same round, in alternating order) holds up
far better, so that is what the benchmarks report.

    other = load_other("/tmp/ab")          # git archive <commit> autonn | tar -x -C /tmp/ab
    this = load_this()
    rows = compare({"chain": (fa, fb)}, rounds=20, per=200)
"""
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_other(root, name="autonn_base"):
    """The ``autonn`` package under ``root`` imported as ``name`` (the engine and the ops use
    relative imports only, so it runs beside this checkout's)."""
    root = Path(root)
    spec = importlib.util.spec_from_file_location(
        name, root / "autonn" / "__init__.py", submodule_search_locations=[str(root / "autonn")])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_this():
    """This checkout's ``autonn`` (ahead of any installed copy)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import autonn
    return autonn


def burst(fn, n=10):
    """Seconds per call of ``fn``, over ``n`` calls."""
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def compare(pairs, rounds=20, n=10, best_of=3):
    """For each ``name: (a, b)``: ``(median a seconds, median b seconds, median of b/a,
    quartiles of b/a)``; each round times both (best of ``best_of`` bursts of ``n`` calls), in
    alternating order."""
    rows = {}
    for name, (fa, fb) in pairs.items():
        for f in (fa, fb):
            burst(f, 3)
        ta, tb, ratios = [], [], []
        for r in range(rounds):
            order = ((fa, ta), (fb, tb)) if r % 2 else ((fb, tb), (fa, ta))
            for f, times in order:
                times.append(min(burst(f, n) for _ in range(best_of)))
            ratios.append(tb[-1] / ta[-1])
        rows[name] = (statistics.median(ta), statistics.median(tb), statistics.median(ratios),
                      (np.percentile(ratios, 25), np.percentile(ratios, 75)))
    return rows


def report(rows, per=None, a="other", b="this"):
    """Print :func:`compare`'s rows; ``per`` maps a name to the count its time is divided by
    (ops per call), in microseconds."""
    for name, (ta, tb, ratio, (q1, q3)) in rows.items():
        k = (per or {}).get(name, 1)
        print(f"{name:26s} {a} {ta / k * 1e6:8.2f} us  {b} {tb / k * 1e6:8.2f} us  "
              f"{b}/{a} {ratio:.3f} (quartiles {q1:.3f}-{q3:.3f})")

"""The planted-bug benchmark in any dtype: how many wrong gradients does gradcheck let through?

The mutants are those of ``autonn_tests/test_gradcheck_mutations.py`` (every registered op's true
vjp, damaged: scaled by 1 + 1e-3, one input's sign flipped, a broadcast input's gradient averaged,
an off-by-one index), which asserts in float64 that every one is caught. This runs the same
mutants on inputs drawn in another dtype (float32 by default) with gradcheck's defaults for that
dtype, full mode, and counts the mutants that pass (survive) on some input that exercises them.
It needs a source checkout (the mutants live in the test suite).

    python -m autonn.checking.mutation_bench                    # float32, gradcheck's defaults
    python -m autonn.checking.mutation_bench --numeric-dtype float32   # the numeric side in float32
    python -m autonn.checking.mutation_bench --dtype float64 --ops tanh matmul
"""
import argparse
import time

import numpy as np


def run_op(name, dtype, options, seed=0):
    """{label: 'killed' | 'survived' | 'equivalent'} and the unmutated wrapper's false failures
    for registry op ``name`` on inputs drawn in ``dtype``.

    >>> status, false_failures = run_op("neg", "float32", {})
    >>> status["scale"], status["sign[0]"], false_failures
    ('killed', 'killed', 0)
    """
    import autonn as an
    from autonn.checking import gradcheck_report
    from autonn.gradcheck_cli import draw_cases
    from autonn.testing.registry import REGISTRY
    from autonn_tests import test_gradcheck_mutations as mut

    spec = REGISTRY[name]
    cases = draw_cases(spec.cases(np.dtype(dtype)), mut.MAX_DRAWS, seed)
    labels = mut.applicable(name, max(len(c.arrays) for c in cases))
    hits = {lab: 0 for lab in labels}
    status, false_failures = {}, 0
    for case in cases:
        if all(h >= mut.PER_MUTANT for h in hits.values()):
            break
        xs = tuple(an.tensor(a, requires_grad=True) for a in case.arrays)
        if not gradcheck_report(mut.make_mutant(name, case.kwargs, None), xs, culprit=False,
                                **options).passed:
            false_failures += 1
            continue
        J_true = mut._jacobian(mut.make_mutant(name, case.kwargs, None), case.arrays)
        for lab in labels:
            if hits[lab] >= mut.PER_MUTANT or status.get(lab) == "survived":
                continue
            if lab.startswith("sign[") and int(lab[5:-1]) >= len(case.arrays):
                continue
            if not mut._exercised(name, case, lab, J_true):
                continue
            hits[lab] += 1
            rep = gradcheck_report(mut.make_mutant(name, case.kwargs, lab), xs, culprit=False,
                                   **options)
            if rep.passed:
                status[lab] = "survived"
    for lab in labels:
        status.setdefault(lab, "killed" if hits[lab] else "equivalent")
    return status, false_failures


def main(argv=None):
    """The command line: print the surviving mutants and the count per kind.

    >>> main(["--ops", "neg"])    # doctest: +ELLIPSIS
      scale         0 of    ... exercised mutants pass
    ...
    float32, numeric side default: 0 of ... exercised mutants pass gradcheck ...
    """
    p = argparse.ArgumentParser(prog="python -m autonn.checking.mutation_bench",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", default="float32")
    p.add_argument("--numeric-dtype", default=None,
                   help="gradcheck's numeric_dtype (default: gradcheck's own choice)")
    p.add_argument("--ops", nargs="*", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fast", action="store_true", help="check in fast mode")
    args = p.parse_args(argv)
    from autonn_tests.test_gradcheck_mutations import NAMES
    options = {} if args.numeric_dtype is None else {"numeric_dtype": np.dtype(args.numeric_dtype)}
    if args.fast:
        options["fast_mode"] = True
    names = args.ops or NAMES     # the differentiable ops of the registry
    t0 = time.perf_counter()
    kinds = {}
    false = 0
    for name in names:
        status, ff = run_op(name, args.dtype, options, args.seed)
        false += ff
        for lab, s in sorted(status.items()):
            row = kinds.setdefault(lab.split("[")[0], [0, 0])
            row[0] += s == "killed"
            row[1] += s == "survived"
            if s == "survived":
                print(f"  survived: {name} {lab}")
    for kind, (k, s) in kinds.items():
        print(f"  {kind:<10} {s:>4} of {k + s:>4} exercised mutants pass")
    killed = sum(k for k, _ in kinds.values())
    survived = sum(s for _, s in kinds.values())
    print(f"{args.dtype}, numeric side {args.numeric_dtype or 'default'}"
          f"{', fast mode' if args.fast else ''}: {survived} of {killed + survived} exercised "
          f"mutants pass gradcheck (killed {killed}), {false} false failures of the unmutated "
          f"ops, {len(names)} ops, {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

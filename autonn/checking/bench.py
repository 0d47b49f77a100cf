"""Time gradcheck on a ~10,000-parameter MLP, full Jacobian vs fast mode.

    python -m autonn.checking.bench              # 64-128-10 tanh MLP, batch 8, float64
    python -m autonn.checking.bench --repeat 5 --dtype float32 --output loss
"""
import argparse
import statistics
import time

import numpy as np


def mlp_problem(sizes=(64, 128, 10), batch=8, dtype=np.float64, output="logits", seed=0):
    """(fn, params): an ``an.nn`` MLP with tanh between layers; fn(*params) gives the logits (or
    the mean cross-entropy with ``output='loss'``). Falls back to plain autonn ops without nn."""
    import autonn as an
    rng = np.random.default_rng(seed)
    x = an.tensor(rng.standard_normal((batch, sizes[0])).astype(dtype))
    target = an.tensor(rng.integers(0, sizes[-1], batch))
    try:
        layers = []
        for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(an.nn.Linear(i, o, dtype=dtype))
            if k < len(sizes) - 2:
                layers.append(an.nn.Tanh())
        net = an.nn.Sequential(*layers)
        params = list(net.parameters())

        def logits(*ps):
            return net(x)
    except (ImportError, AttributeError):
        params = []
        for i, o in zip(sizes[:-1], sizes[1:]):
            b = 1 / np.sqrt(i)
            params += [an.tensor(rng.uniform(-b, b, (i, o)).astype(dtype), requires_grad=True),
                       an.tensor(rng.uniform(-b, b, o).astype(dtype), requires_grad=True)]

        def logits(*ps):
            h = x
            for k in range(0, len(ps), 2):
                h = h @ ps[k] + ps[k + 1]
                if k + 2 < len(ps):
                    h = an.tanh(h)
            return h
    if output == "loss":
        def fn(*ps):
            z = logits(*ps)
            return (an.logsumexp(z, axis=1) - z[np.arange(batch), target.data]).mean()
        return fn, params
    return logits, params


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autonn.checking.bench", description=__doc__)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dtype", default="float64")
    p.add_argument("--output", choices=("logits", "loss"), default="logits")
    p.add_argument("--sizes", default="64,128,10")
    p.add_argument("--batch", type=int, default=8)
    args = p.parse_args(argv)
    from autonn.checking import gradcheck_report
    sizes = tuple(int(s) for s in args.sizes.split(","))
    fn, params = mlp_problem(sizes, args.batch, np.dtype(args.dtype), args.output)
    n = sum(q.size for q in params)
    out = fn(*params)
    print(f"MLP {'-'.join(map(str, sizes))} tanh, batch {args.batch}, {args.dtype}: {n} "
          "parameters, "
          f"output {args.output} of shape {out.shape}")
    for fast in (False, True):
        times, rep = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rep = gradcheck_report(fn, params, fast_mode=fast)
            times.append(time.perf_counter() - t0)
        print(f"  {'fast' if fast else 'full'} mode: median {statistics.median(times):.3f} s over "
              f"{args.repeat} runs (min {min(times):.3f}, max {max(times):.3f}); passed="
              f"{rep.passed}, fn evaluations {rep.evaluations}"
              f"{', recomputed full' if rep.recomputed_full else ''}")


if __name__ == "__main__":
    main()

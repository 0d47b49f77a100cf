"""The 64-128-10 float32 MLP train step (``autonn bench``'s smallest row: zero_grad, Sequential
forward with the fused linear + ReLU, CrossEntropyLoss, backward, SGD step) against the
hand-written NumPy step, timed in short interleaved bursts in one process; prints the median
time of each and the median of per-round ratios (autonn / NumPy).

    python benchmarks/mlp_step_ratio.py [--root DIR] [rounds] [sizes...]   # e.g. 30 64 128 10

``--root DIR`` measures the ``autonn`` package under DIR (e.g. ``git archive main autonn | tar
-x -C DIR``) instead of this checkout's.
"""
import statistics
import sys

from _ab import burst, load_other, load_this


def main(root=None, rounds=30, sizes=(64, 128, 10), batch=64):
    if root is None:
        load_this()
    else:  # bench imports "autonn" by name: that name must be the other package
        sys.modules["autonn"] = load_other(root, "autonn")
    from autonn import bench
    np_step, init = bench._numpy_mlp(sizes, batch)
    an_step = bench._autonn_mlp(sizes, batch, bench._numpy_mlp(sizes, batch)[1])
    for _ in range(200):
        np_step()
        an_step()
    ta, tb, ratios = [], [], []
    for r in range(rounds):
        pair = ((np_step, ta), (an_step, tb)) if r % 2 else ((an_step, tb), (np_step, ta))
        for f, times in pair:
            times.append(min(burst(f, 50) for _ in range(3)))
        ratios.append(tb[-1] / ta[-1])
    print(f"MLP {'-'.join(map(str, sizes))}, batch {batch}, float32: numpy "
          f"{statistics.median(ta) * 1e6:.1f} us, autonn {statistics.median(tb) * 1e6:.1f} us, "
          f"autonn/numpy {statistics.median(ratios):.3f} (quartiles "
          f"{statistics.quantiles(ratios, n=4)[0]:.3f}-{statistics.quantiles(ratios, n=4)[2]:.3f})")


if __name__ == "__main__":
    argv = sys.argv[1:]
    root = None
    if argv[:1] == ["--root"]:
        root, argv = argv[1], argv[2:]
    args = [int(a) for a in argv]
    main(root, *(args[:1] or [30]), *([tuple(args[1:])] if len(args) > 1 else []))

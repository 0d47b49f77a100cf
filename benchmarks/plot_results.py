"""Plot the ratios of an ``autonn bench --json FILE`` run: python benchmarks/plot_results.py FILE OUT.png"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    with open(src) as f:
        result = json.load(f)
    rows = [r for r in result["rows"] if "autonn/numpy" in r]
    labels = [r["workload"].replace(" fwd+bwd", "").replace("MLP train step, ", "MLP ") for r in rows]
    series = [(k, name) for k, name in (("autonn/numpy", "autonn (eager)"),
                                         ("compiled/numpy", "autonn (an.compile)"),
                                         ("torch/numpy", "PyTorch"), ("jax/numpy", "JAX jit"))
              if any(k in r for r in rows)]
    fig, ax = plt.subplots(figsize=(9, 0.2 * len(series) * len(rows) + 1.5))
    y = range(len(rows))
    h = 0.8 / len(series)
    for j, (k, name) in enumerate(series):
        ax.barh([i - 0.4 + h * (j + 0.5) for i in y], [r.get(k, 0) for r in rows], height=h,
                label=name)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time / plain NumPy time for the same work (median ratio; lower is better)")
    ax.set_title(result["machine"], fontsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(dst, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

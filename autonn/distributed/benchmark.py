"""``autonn bench --distributed``: data-parallel scaling and the cost of gradient averaging.

One ``mpiexec -n 2`` job, every process with one thread, runs in short interleaved rounds:

* **1 process**: rank 0 alone takes training steps at batch B (rank 1 sleeps);
* **2 ranks**: both take DDP steps at batch B/2 each (the same samples per step);
* **averaging**: DDP's gradient path alone (scaled copy into the buckets, ``Iallreduce``,
  wait, ``.grad`` views) against mpi4py's raw ``Allreduce`` on the same bucket buffers, and
  against raw ``Allreduce`` followed by the division by the world size.

Throughput ratio = (time per 1-process step) / (time per 2-rank step), both for B samples;
scaling efficiency = ratio / 2. Figures are medians of per-round values.

    autonn bench --distributed [--quick] [--json out.json]
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SETTINGS = (("digits-sized", (64, 128, 64, 10), 64), ("wide", (1024, 2048, 2048, 10), 512))
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMBA_NUM_THREADS")}


def _model(sizes, seed=0):
    import autonn as an
    an.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(an.nn.Linear(a, b, dtype=np.float32))
        if i < len(sizes) - 2:
            layers.append(an.nn.ReLU())
    return an.nn.Sequential(*layers)


def _stepper(model, call, x, y):
    import autonn as an
    opt = an.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = an.nn.CrossEntropyLoss()
    xt, yt = an.tensor(x), an.tensor(y)

    def step():
        opt.zero_grad()
        loss_fn(call(xt), yt).backward()
        opt.step()
    return step


def _burst(fn, comm, min_time):
    """Median wall and CPU seconds per call of ``fn`` over a burst of about ``min_time`` (3
    calls or more). Rank 0 sets the number of calls, so every rank makes the same collective
    calls; the CPU time is the largest over the ranks."""
    comm.Barrier()
    t0 = time.perf_counter()
    fn()
    calls = comm.bcast(max(3, int(min_time / max(time.perf_counter() - t0, 1e-9))), root=0)
    wall, cpu = [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), comm.allreduce(statistics.median(cpu), op=_max())


def _max():
    from mpi4py import MPI
    return MPI.MAX


def _alternating(fns, comm, min_time):
    """Per-call wall seconds of each of ``fns``, called in turn (a, b, c, a, b, c, ...) so that
    a change of load hits them alike; the ranks start each call together."""
    comm.Barrier()
    t0 = time.perf_counter()
    for fn in fns:
        fn()
    calls = comm.bcast(max(5, int(min_time / max(time.perf_counter() - t0, 1e-9))), root=0)
    times = [[] for _ in fns]
    for _ in range(calls):
        for fn, ts in zip(fns, times):
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return times


def _idle_until_rank0(comm):
    """Rank 1's side of a 1-process burst: sleep (no busy wait) until rank 0 is done."""
    req = comm.Ibarrier()
    while not req.Test():
        time.sleep(0.002)


def _setting(comm, sizes, batch, rounds, min_time):
    from mpi4py import MPI

    from ..tensor import Tensor
    from . import DistributedDataParallel
    rank, world = comm.Get_rank(), comm.Get_size()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    share = batch // world
    lo = rank * share
    ddp_model = _model(sizes)
    ddp = DistributedDataParallel(ddp_model)
    ddp_step = _stepper(ddp_model, ddp, x[lo:lo + share], y[lo:lo + share])
    single_step = None
    if rank == 0:
        single = _model(sizes)
        single_step = _stepper(single, single, x, y)
    ddp_step()  # warm: gradients exist, the buckets are filled once
    if rank == 0:
        single_step()
    params = list(ddp_model.parameters())
    grads = {id(p): Tensor(p.grad.data.copy()) for p in params}
    # the arrays DDP reduces: a large gradient itself, or a shared bucket's buffer
    buffers = [grads[id(b.params[0])].data.reshape(-1) if b.in_place else b.own
               for b in ddp._buckets]
    scale = np.float32(1.0 / world)

    def raw():
        for buf in buffers:
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)

    def raw_and_divide():
        raw()
        for buf in buffers:
            np.multiply(buf, scale, out=buf)

    def ddp_average():  # each call starts from the gradient arrays, as after a backward
        for p in params:
            p.grad = grads[id(p)]
        ddp._reduce_now()

    per = {k: [] for k in ("single", "ddp", "single_cpu", "ddp_cpu")}
    avg, raw_, raw_div = [], [], []
    for _ in range(rounds):
        if rank == 0:
            wall, cpu = _burst(single_step, MPI.COMM_SELF, min_time)
            per["single"].append(wall)
            per["single_cpu"].append(cpu)
            comm.Ibarrier().Wait()
        else:
            _idle_until_rank0(comm)
        wall, cpu = _burst(ddp_step, comm, min_time)
        per["ddp"].append(wall)
        per["ddp_cpu"].append(cpu)
        a, r, rd = _alternating([ddp_average, raw, raw_and_divide], comm, min_time / 2)
        avg += a
        raw_ += r
        raw_div += rd
        time.sleep(0.2)
    if rank != 0:
        return None
    med = {k: statistics.median(v) for k, v in per.items()}
    ratio = statistics.median(s / d for s, d in zip(per["single"], per["ddp"]))
    cpu_ratio = statistics.median(s / d for s, d in zip(per["single_cpu"], per["ddp_cpu"]))
    return {"single_ms": med["single"] * 1e3, "ddp_ms": med["ddp"] * 1e3,
            "throughput_ratio": ratio, "efficiency": ratio / world,
            "cpu_ratio": cpu_ratio, "cpu_efficiency": cpu_ratio / world,
            "average_ms": statistics.median(avg) * 1e3,
            "raw_allreduce_ms": statistics.median(raw_) * 1e3,
            "raw_allreduce_divide_ms": statistics.median(raw_div) * 1e3,
            "overhead_vs_raw": statistics.median(a / r for a, r in zip(avg, raw_)) - 1,
            "overhead_vs_raw_divide": statistics.median(
                a / r for a, r in zip(avg, raw_div)) - 1,
            "buckets": len(buffers), "bucket_mb": [b.nbytes / 2 ** 20 for b in buffers],
            "rounds": rounds, "comm_calls": len(avg)}


def worker(quick, out):
    """The ``mpiexec`` side: every setting, rank 0 writes the rows to ``out`` (JSON)."""
    from . import process_group as pg
    pg.init_process_group()
    comm = pg._comm("bench")
    rows = []
    for label, sizes, batch in SETTINGS:
        wide = sizes[0] > 100
        rounds = (3 if quick else 7) if wide else (5 if quick else 11)
        min_time = (0.4 if quick else 0.8) if wide else 0.15
        row = _setting(comm, sizes, batch, rounds, min_time)
        if row is not None:
            row.update(setting=label, mlp="-".join(map(str, sizes)), batch=batch)
            rows.append(row)
            print(_format([row]).splitlines()[-1], flush=True)
    if comm.Get_rank() == 0:
        with open(out, "w") as f:
            json.dump(rows, f, indent=1)


def _format(rows):
    head = (f"{'setting':<13} {'MLP, batch':<26} {'1 proc ms':>9} {'2 ranks ms':>10} "
            f"{'ratio':>6} {'eff.':>5} {'cpu eff.':>8} {'avg ms':>7} {'raw ms':>7} {'+div ms':>7} "
            f"{'ovh/raw':>8} {'ovh/+div':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['setting']:<13} {r['mlp'] + ', ' + str(r['batch']):<26} {r['single_ms']:>9.3f} "
            f"{r['ddp_ms']:>10.3f} {r['throughput_ratio']:>5.2f}x {r['efficiency']:>5.0%} "
            f"{r['cpu_efficiency']:>8.0%} "
            f"{r['average_ms']:>7.3f} {r['raw_allreduce_ms']:>7.3f} "
            f"{r['raw_allreduce_divide_ms']:>7.3f} {r['overhead_vs_raw']:>+8.1%} "
            f"{r['overhead_vs_raw_divide']:>+8.1%}")
    return "\n".join(lines)


def run(args):
    """``autonn bench --distributed``: launch the 2-rank job and print its table."""
    import tempfile
    quick = getattr(args, "quick", False)
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = here if os.path.exists(here) else "mpiexec"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, **ONE_THREAD)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        cmd = [mpiexec, "-n", "2", sys.executable, "-m", "autonn.distributed.benchmark",
               "--out", out] + (["--quick"] if quick else [])
        print("running: " + " ".join(cmd) + "  (1 thread per process)", flush=True)
        subprocess.run(cmd, env=env, check=True)
        with open(out) as f:
            rows = json.load(f)
    print()
    print(_format(rows))
    print("ratio: 1-process time / 2-rank time per step of B samples (2.00x is perfect), eff.: "
          "ratio / 2; cpu eff.: the same from CPU time per step (the busiest rank), what the "
          "ranks would reach with a core each; "
          "avg: DDP's gradient averaging alone; raw: mpi4py Allreduce on the same buckets; "
          "+div: raw Allreduce then the division by the world size")
    path = getattr(args, "json", None)
    if path:
        with open(path, "w") as f:
            json.dump({"rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    worker(a.quick, a.out)

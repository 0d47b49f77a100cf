"""``autonn bench --distributed``: data-parallel scaling and the cost of gradient averaging.

One ``mpiexec -n 2`` job, every process with one thread, runs in short interleaved rounds:

* **1 process**: rank 0 alone takes training steps at batch B (rank 1 sleeps);
* **2 ranks**: both take DDP steps at batch B/2 each (the same samples per step);
* **averaging**: DDP's gradient path alone (scaled copy into the buckets, ``Iallreduce``,
  wait, ``.grad`` views) against mpi4py's raw ``Allreduce`` on the same bucket buffers, and
  against raw ``Allreduce`` followed by the division by the world size;
* **no averaging**: the same autonn step at B/2 on both ranks at once, without DDP;
* **the machine's ceiling**: the step written in plain NumPy (``autonn.bench._numpy_mlp``),
  1 process at B (the other sleeps) against 2 processes at B/2 at once, no communication. Two
  single-thread processes rarely run at twice the speed of one (they share caches, memory
  bandwidth and the clock budget), so this is what the machine allows before autonn or MPI.

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
    calls; both figures are the largest over the ranks (the slower rank sets a job's pace)."""
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
    return (comm.allreduce(statistics.median(wall), op=_max()),
            comm.allreduce(statistics.median(cpu), op=_max()))


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


def _alone(fn, comm, min_time):
    """A burst of ``fn`` on rank 0 while the other ranks sleep: (wall, CPU) seconds per call
    on rank 0, None elsewhere."""
    from mpi4py import MPI
    if comm.Get_rank() == 0:
        result = _burst(fn, MPI.COMM_SELF, min_time)
        comm.Ibarrier().Wait()
        return result
    _idle_until_rank0(comm)
    return None


def _setting(comm, sizes, batch, rounds, min_time):
    from mpi4py import MPI

    from ..bench import _numpy_mlp
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
    apart = _model(sizes)  # the same half-batch step on each rank, without DDP
    apart_step = _stepper(apart, apart, x[lo:lo + share], y[lo:lo + share])
    numpy_half = _numpy_mlp(sizes, share, seed=rank)[0]
    single_step = numpy_full = None
    if rank == 0:
        single = _model(sizes)
        single_step = _stepper(single, single, x, y)
        numpy_full = _numpy_mlp(sizes, batch)[0]
    for warm in (ddp_step, apart_step, numpy_half, single_step, numpy_full):
        if warm is not None:
            warm()  # gradients exist, the buckets are filled once
    params = list(ddp_model.parameters())
    grads = {id(p): Tensor(p.grad.data.copy()) for p in params}
    # the arrays DDP reduces: a large gradient itself, or a shared bucket's buffer
    buffers = [grads[id(b.params[0])].data.reshape(-1) if b.in_place else b.own
               for b in ddp._reducer.buckets]
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
        ddp._reducer.reduce_now()

    keys = ("single", "ddp", "apart", "numpy_single", "numpy_pair")
    per = {k: [] for k in keys + tuple(k + "_cpu" for k in keys)}

    def keep(key, result):
        if result is not None:
            per[key].append(result[0])
            per[key + "_cpu"].append(result[1])
    avg, raw_, raw_div = [], [], []
    for _ in range(rounds):
        keep("single", _alone(single_step, comm, min_time))
        keep("ddp", _burst(ddp_step, comm, min_time))
        a, r, rd = _alternating([ddp_average, raw, raw_and_divide], comm, min_time)
        avg += a
        raw_ += r
        raw_div += rd
        keep("apart", _burst(apart_step, comm, min_time))
        keep("numpy_single", _alone(numpy_full, comm, min_time))
        keep("numpy_pair", _burst(numpy_half, comm, min_time))
        time.sleep(0.2)
    if rank != 0:
        return None
    med = {k: statistics.median(v) for k, v in per.items()}

    def ratio(one, two):  # median over the rounds of (1-process time) / (2-rank time)
        return statistics.median(s / d for s, d in zip(per[one], per[two]))
    return {"single_ms": med["single"] * 1e3, "ddp_ms": med["ddp"] * 1e3,
            "throughput_ratio": ratio("single", "ddp"),
            "efficiency": ratio("single", "ddp") / world,
            "cpu_ratio": ratio("single_cpu", "ddp_cpu"),
            "cpu_efficiency": ratio("single_cpu", "ddp_cpu") / world,
            "no_averaging_ms": med["apart"] * 1e3,
            "no_averaging_efficiency": ratio("single", "apart") / world,
            "numpy_single_ms": med["numpy_single"] * 1e3,
            "numpy_pair_ms": med["numpy_pair"] * 1e3,
            "machine_efficiency": ratio("numpy_single", "numpy_pair") / world,
            "ddp_over_no_averaging_ms": statistics.median(
                (d - a) * 1e3 for d, a in zip(per["ddp"], per["apart"])),
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
            print(f"{label}: 1 proc {row['single_ms']:.3f} ms, 2 ranks {row['ddp_ms']:.3f} ms, "
                  f"eff. {row['efficiency']:.0%} (machine {row['machine_efficiency']:.0%})",
                  flush=True)
    if comm.Get_rank() == 0:
        with open(out, "w") as f:
            json.dump(rows, f, indent=1)


def _format(rows):
    """The two tables: scaling (with the machine's own ceiling) and the cost of averaging."""
    head = (f"{'setting':<13} {'MLP, batch':<26} {'1 proc ms':>9} {'2 ranks ms':>10} "
            f"{'ratio':>6} {'eff.':>5} {'cpu eff.':>8} {'no-avg eff.':>11} "
            f"{'machine eff.':>12} {'DDP adds ms':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['setting']:<13} {r['mlp'] + ', ' + str(r['batch']):<26} {r['single_ms']:>9.3f} "
            f"{r['ddp_ms']:>10.3f} {r['throughput_ratio']:>5.2f}x {r['efficiency']:>5.0%} "
            f"{r['cpu_efficiency']:>8.0%} {r['no_averaging_efficiency']:>11.0%} "
            f"{r['machine_efficiency']:>12.0%} {r['ddp_over_no_averaging_ms']:>11.3f}")
    head = (f"{'setting':<13} {'buckets, MB':<26} {'avg ms':>9} {'raw ms':>10} {'+div ms':>7} "
            f"{'ovh/raw':>8} {'ovh/+div':>8}")
    lines += ["", head, "-" * len(head)]
    for r in rows:
        mb = " + ".join(f"{m:.2g}" for m in r["bucket_mb"])
        lines.append(
            f"{r['setting']:<13} {mb:<26} {r['average_ms']:>9.3f} {r['raw_allreduce_ms']:>10.3f} "
            f"{r['raw_allreduce_divide_ms']:>7.3f} {r['overhead_vs_raw']:>+8.1%} "
            f"{r['overhead_vs_raw_divide']:>+8.1%}")
    return "\n".join(lines)


def _summary(rows):
    """One plain sentence per setting: the efficiency against the machine's ceiling, the cost of
    averaging against raw MPI."""
    import textwrap
    return "\n".join(textwrap.fill(
        f"{r['setting']}: DDP scales at {r['efficiency']:.0%} of perfect; on this machine two "
        f"plain-NumPy processes reach {r['machine_efficiency']:.0%} and the autonn step without "
        f"averaging {r['no_averaging_efficiency']:.0%}. Averaging costs "
        f"{r['overhead_vs_raw_divide']:+.1%} against raw Allreduce + division "
        f"({r['average_ms']:.3f} ms against {r['raw_allreduce_divide_ms']:.3f} ms).",
        width=100, subsequent_indent="  ") for r in rows)


LEGEND = """\
ratio: 1-process time / 2-rank DDP time per step of B samples (2.00x is perfect); eff.: ratio / 2,
  the scaling efficiency; cpu eff.: the same from CPU time per step (the busier rank).
no-avg eff.: eff. of the same autonn step at B/2 on both ranks at once with no averaging at all
  (what DDP could reach if averaging were free). machine eff.: the same for the step written in
  plain NumPy (1 process at B against 2 processes at B/2 at once, no communication): what this
  machine's cores, caches and memory allow two single-thread processes, before any framework or
  communication cost. DDP adds: 2-rank DDP step minus the no-averaging step (averaging, waits, hooks).
avg: DDP's gradient averaging alone (hooks' bucket copies, Iallreduce, wait, division, .grad
  views); raw: mpi4py's blocking Allreduce on the same buffers; +div: raw then the division by the
  world size that averaging needs. ovh/...: median per-call ratio - 1.
All contenders run interleaved in the same rounds (medians over rounds); rerun on a quiet machine:
  figures measured while other processes share the cores mostly measure the scheduler."""


def _load():
    """The 1-minute load average, or None where the system does not say."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


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
        load_before = _load()
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        subprocess.run(cmd, env=env, check=True)
        load_after = _load()
        with open(out) as f:
            rows = json.load(f)
    conditions = {"started": started, "cpus": os.cpu_count(), "quick": bool(quick),
                  "load_average_before": load_before, "load_average_after": load_after}
    print()
    print(f"{started}, {os.cpu_count()} CPUs; 1-minute load average {load_before} before, "
          f"{load_after} after (above ~0.5 other processes shared the cores)")
    print(_format(rows))
    print()
    print(_summary(rows))
    print()
    print(LEGEND)
    path = getattr(args, "json", None)
    if path:
        with open(path, "w") as f:
            json.dump({"conditions": conditions, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    worker(a.quick, a.out)

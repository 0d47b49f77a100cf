"""What the ranks run for test_distributed.py: ``mpiexec -n 2 python -m autonn_tests.mpi_cases
CASE OUTDIR``. Each rank writes what it saw to ``OUTDIR``; the checks (with their own oracles)
are in test_distributed.py. The cases: ``suite`` (collectives, sampler, DDP equivalence, wrap
checks, overlap, checkpoint resume,
a short benchmark round) and ``fault`` (rank 1 raises while rank 0 waits)."""
import os
import sys

import numpy as np

import autonn as an
from autonn import distributed as dist

STEPS, BATCH, N_IN, N_OUT = 20, 16, 5, 3


# ----------------------------------------------------------------- shared with the test
def equivalence_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((STEPS * BATCH, N_IN))
    y = rng.integers(0, N_OUT, STEPS * BATCH)
    return X, y


def equivalence_model(seed=0):
    an.manual_seed(seed)
    return an.nn.Sequential(an.nn.Linear(N_IN, 7, dtype=np.float64), an.nn.Tanh(),
                            an.nn.Linear(7, N_OUT, dtype=np.float64))


def train_sgd(model, params, rank, world, steps=STEPS, start=0, opt=None):
    """``steps`` SGD steps from step ``start``; step i uses rows [i B, (i+1) B) of the data,
    of which this rank takes its contiguous 1/world share."""
    X, y = equivalence_data()
    if opt is None:
        opt = an.optim.SGD(params, lr=0.1, momentum=0.9)
    loss_fn = an.nn.CrossEntropyLoss()
    share = BATCH // world
    for i in range(start, start + steps):
        lo = i * BATCH + rank * share
        opt.zero_grad()
        loss_fn(model(an.tensor(X[lo:lo + share])), an.tensor(y[lo:lo + share])).backward()
        opt.step()
    return opt


# ----------------------------------------------------------------- the cases
def _collectives(rank, world):
    out = {}
    t = an.tensor([rank + 1.0, 10.0 * (rank + 1)])
    dist.all_reduce(t)
    out["sum"] = t.data
    for op in ("max", "min", "product", "avg"):
        t = an.tensor([rank + 1.0, -(rank + 1.0)])
        dist.all_reduce(t, op=op)
        out[op] = t.data
    ints = an.tensor(np.array([rank, 2 * rank], dtype=np.int64))
    dist.all_reduce(ints)
    out["int_sum"] = ints.data
    base = an.tensor(np.arange(12.0).reshape(3, 4) * (rank + 1))
    view = an.Tensor(base.data[:, ::2])  # not contiguous: reduced through a copy, written back
    dist.all_reduce(view)
    out["strided_base"] = base.data
    b = an.tensor(np.full((2, 3), float(rank)), dtype=np.float32)
    dist.broadcast(b, src=world - 1)
    out["bcast_last"] = b.data
    w = an.ones(3, requires_grad=True) * 1.0  # a non-leaf works too: the data is what moves
    dist.broadcast(w, src=0)
    dist.barrier()
    return out


def _sampler(rank, world):
    out = {}
    for n in (10, 11, 3):
        for drop_last in (False, True):
            for epoch in (0, 1):
                s = dist.DistributedSampler(list(range(n)), shuffle=True, seed=5,
                                            drop_last=drop_last)
                s.set_epoch(epoch)
                out[f"shard_{n}_{int(drop_last)}_{epoch}"] = np.array(list(s), dtype=np.int64)
    ds = an.data.TensorDataset(an.tensor(np.arange(10.0)))
    s = dist.DistributedSampler(ds, shuffle=False)
    loader = an.data.DataLoader(ds, batch_size=2, sampler=s)
    out["loader_rows"] = np.concatenate([xb.data for (xb,) in loader])
    return out


def _equivalence(rank, world):
    model = equivalence_model(seed=0 if rank == 0 else 123)  # rank 1 starts elsewhere: wrap syncs
    before = [p.data.copy() for p in model.parameters()]
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-4)  # several buckets
    after_wrap = [p.data.copy() for p in model.parameters()]
    train_sgd(ddp, model.parameters(), rank, world)
    out = {f"before_{i}": a for i, a in enumerate(before)}
    out.update({f"wrapped_{i}": a for i, a in enumerate(after_wrap)})
    out.update({f"final_{i}": p.data for i, p in enumerate(model.parameters())})
    out["n_buckets"] = np.array(len(ddp._reducer.buckets))
    return out


class _TwoHeads(an.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = an.nn.Linear(4, 6, dtype=np.float64)
        self.a = an.nn.Linear(6, 2, dtype=np.float64)
        self.b = an.nn.Linear(6, 3, dtype=np.float64)

    def forward(self, x, use_b):
        h = an.tanh(self.trunk(x))
        out = (self.a(h) ** 2).sum()
        return out + (self.b(h) ** 2).sum() if use_b else out


def _unused(rank, world):
    """Head b is used on rank 0 only: its gradient on rank 1 counts as zeros. Each rank also
    computes its local gradients with a plain replica, for the test's average."""
    an.manual_seed(rank)
    model = _TwoHeads()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-4)  # b.weight: a bucket alone
    replica = _TwoHeads()
    replica.load_state_dict(model.state_dict())
    x = an.tensor(np.random.default_rng(rank).standard_normal((5, 4)))
    out = {}
    for step in range(2):  # the second step reuses the buckets and the in-place gradients
        for m in (model, replica):
            for p in m.parameters():
                p.grad = None
        ddp(x, use_b=rank == 0).backward()
        replica(x, use_b=rank == 0).backward()
        for name, p in model.named_parameters():
            out[f"{step}.ddp.{name}"] = p.grad.data.copy()
        for name, p in replica.named_parameters():
            out[f"{step}.local.{name}"] = (np.zeros_like(p.data) if p.grad is None
                                           else p.grad.data.copy())
    return out


def _buffers(rank, world):
    """A frozen parameter and BatchNorm's buffers differ per rank before the wrap."""
    an.manual_seed(rank)
    model = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.BatchNorm1d(4))
    model[0].bias.requires_grad_(False)
    model[1].running_mean.data[...] = rank + 1.0
    before = {"bias": model[0].bias.data.copy(), "mean": model[1].running_mean.data.copy(),
              "weight": model[0].weight.data.copy()}
    x = an.ones(2, 3, requires_grad=True)
    held = model[0](x).sum()  # its gradient reads the weight: the weight is held read-only
    dist.DistributedDataParallel(model)  # the broadcast writes the held weight in place
    after = {"bias": model[0].bias.data.copy(), "mean": model[1].running_mean.data.copy(),
             "weight": model[0].weight.data.copy()}
    try:
        held.backward()
        stale = "no error"
    except RuntimeError as e:  # the old graph needed the weight's old value
        stale = str(e)
    return {**{f"before.{k}": v for k, v in before.items()},
            **{f"after.{k}": v for k, v in after.items()},
            "stale_backward": np.array(stale)}


def _wrap_error(model):
    """The RuntimeError DDP raises when wrapping ``model``, or "no error"."""
    try:
        dist.DistributedDataParallel(model)
    except RuntimeError as e:
        return str(e)
    return "no error"


def _mismatch(rank, world):
    width = 7 if rank == 0 else 6
    model = an.nn.Sequential(an.nn.Linear(N_IN, width), an.nn.Tanh(), an.nn.Linear(width, 2))
    model32 = an.nn.Linear(3, 2, dtype=np.float32 if rank == 0 else np.float64)
    return {"mismatch_msg": np.array(_wrap_error(model)),
            "dtype_msg": np.array(_wrap_error(model32))}


def _overlap(rank, world):
    """With one bucket per parameter, allreduces start before backward reaches the first layer."""
    an.manual_seed(0)
    model = an.nn.Sequential(an.nn.Linear(8, 16), an.nn.ReLU(), an.nn.Linear(16, 16),
                             an.nn.ReLU(), an.nn.Linear(16, 4))
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-9)
    first = model[0].weight
    seen = []
    reducer = ddp._reducer
    launch = reducer.launch_full

    def spy():
        before = reducer.next
        launch()
        seen.extend([first.grad is None] * (reducer.next - before))
    reducer.launch_full = spy
    x = an.randn(6, 8)
    ddp(x).sum().backward()
    return {"launched_while_first_layer_pending": np.array(seen)}


def _checkpoint(rank, world, outdir):
    """Adam on the DDP model: 10 steps straight, or 5 steps, a checkpoint, a fresh model and
    optimizer loaded from it, 5 more steps. The two must end bit for bit the same."""
    def fresh():
        model = equivalence_model(seed=rank + 7)
        ddp = dist.DistributedDataParallel(model)
        return model, ddp, an.optim.Adam(model.parameters(), lr=0.01)
    model, ddp, opt = fresh()
    train_sgd(ddp, None, rank, world, steps=10, opt=opt)
    straight = [p.data.copy() for p in model.parameters()]

    model, ddp, opt = fresh()
    train_sgd(ddp, None, rank, world, steps=5, opt=opt)
    path = os.path.join(outdir, "ckpt.npz")
    dist.save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict(),
                          "step": 5}, path)
    written_after_barrier = os.path.exists(path)
    model, ddp, opt = fresh()  # a new run: other weights until the checkpoint is loaded
    state = dist.load_checkpoint(path)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    train_sgd(ddp, None, rank, world, steps=5, start=state["step"], opt=opt)
    resumed = [p.data.copy() for p in model.parameters()]
    try:
        dist.load_checkpoint(os.path.join(outdir, "missing.npz"))
    except FileNotFoundError as e:
        missing = str(e)
    out = {f"straight_{i}": a for i, a in enumerate(straight)}
    out.update({f"resumed_{i}": a for i, a in enumerate(resumed)})
    out["written_after_barrier"] = np.array(written_after_barrier)
    out["missing_msg"] = np.array(missing)
    return out


def _bench(rank, world):
    """One short round of ``autonn bench --distributed``'s measurements on a tiny MLP."""
    from autonn.distributed import benchmark, process_group as pg
    row = benchmark._setting(pg._comm("bench"), (4, 8, 3), 8, rounds=1, min_time=0.001)
    if row is None:
        return {}
    table = benchmark._format([dict(row, setting="tiny", mlp="4-8-3", batch=8)])
    return {"table": np.array(table), **{k: np.array(v) for k, v in row.items()}}


def suite(outdir):
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    results = {"world": np.array(world)}
    for name, fn in (("c", _collectives), ("s", _sampler), ("e", _equivalence),
                     ("m", _mismatch), ("o", _overlap), ("u", _unused),
                     ("b", _buffers), ("bench", _bench)):
        results.update({f"{name}.{k}": v for k, v in fn(rank, world).items()})
    results.update({f"k.{k}": v for k, v in _checkpoint(rank, world, outdir).items()})
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **results)


def fault(outdir):
    dist.init_process_group()
    if dist.get_rank() == 1:
        raise ValueError("deliberate failure on rank 1")
    dist.barrier()  # rank 0 would wait here forever without the abort
    print("rank 0 passed the barrier: the job did not abort", flush=True)


if __name__ == "__main__":
    case, outdir = sys.argv[1], sys.argv[2]
    {"suite": suite, "fault": fault}[case](outdir)

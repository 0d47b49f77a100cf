"""Data-parallel training of the demo's MLP on the bundled 8x8 digits over MPI.

Run: mpiexec -n 2 python examples/ddp_digits.py   (or plain `python examples/ddp_digits.py`:
one rank). Each of the N ranks trains on its shard of every batch (global batch 32, as
`autonn demo`); DistributedDataParallel averages the gradients, so all ranks hold the same model.
"""
import os
import tempfile

import numpy as np

import autonn as an
from autonn import distributed as dist
from autonn.datasets import load_digits
from autonn.demo import accuracy, build_model

dist.init_process_group()
rank, world = dist.get_rank(), dist.get_world_size()

an.manual_seed(0)  # the same seed on every rank (DDP broadcasts rank 0's weights anyway)
X, y = load_digits(dtype=np.float32)
order = np.random.default_rng(0).permutation(len(X))
n_test = int(round(len(X) * 0.2))
test, train = order[:n_test], order[n_test:]

model = build_model()  # 64-128-64-10, as `autonn demo`
for p in model.parameters():
    p.data = p.data.astype(np.float32)
ddp = dist.DistributedDataParallel(model)
opt = an.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = an.nn.CrossEntropyLoss()
dataset = an.data.TensorDataset(an.tensor(X[train]), an.tensor(y[train]))
sampler = dist.DistributedSampler(dataset, shuffle=True, seed=0)
loader = an.data.DataLoader(dataset, batch_size=32 // world, sampler=sampler)

for epoch in range(30):
    sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(ddp(xb), yb).backward()  # gradients averaged over the ranks here
        opt.step()

path = os.path.join(tempfile.gettempdir(), "ddp_digits_checkpoint.npz")
dist.save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
acc = accuracy(model, X[test], y[test])
if rank == 0:
    print(f"{world} rank(s), held-out accuracy: {acc:.4f}; checkpoint at {path}")
assert acc >= 0.95, acc

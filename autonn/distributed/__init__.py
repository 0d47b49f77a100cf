"""``autonn.distributed``: data-parallel training over MPI (mpi4py), with PyTorch's names.

Start a script with ``mpiexec -n N python train.py``; the same script runs alone as one rank.
Needs the ``distributed`` extra (``pip install 'autonn[distributed]'``: mpi4py and the mpich
wheel, which provides ``mpiexec``). ``import autonn`` never imports this package or MPI.

>>> import autonn as an
>>> from autonn import distributed as dist
>>> dist.init_process_group()
>>> model = dist.DistributedDataParallel(an.nn.Linear(4, 2))
>>> ds = an.data.TensorDataset(an.randn(8, 4), an.tensor([0, 1] * 4))
>>> sampler = dist.DistributedSampler(ds, shuffle=True, seed=0)
>>> loader = an.data.DataLoader(ds, batch_size=4, sampler=sampler)
>>> sampler.set_epoch(0)
>>> for xb, yb in loader:
...     an.nn.CrossEntropyLoss()(model(xb), yb).backward()
"""
from .checkpoint import load_checkpoint, save_checkpoint
from .ddp import DistributedDataParallel
from .process_group import (ReduceOp, all_reduce, barrier, broadcast, destroy_process_group,
                            get_rank, get_world_size, init_process_group, is_initialized)
from .sampler import DistributedSampler

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "get_rank",
           "get_world_size", "barrier", "all_reduce", "broadcast", "ReduceOp",
           "DistributedDataParallel", "DistributedSampler", "save_checkpoint", "load_checkpoint"]

"""``DistributedSampler``: each rank's share of a dataset's indices, as PyTorch's."""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of rank ``rank``'s shard of ``dataset``, for ``DataLoader(..., sampler=)``.

    All ranks draw the same permutation (seeded by ``seed + epoch``; call ``set_epoch(e)`` at
    the start of each epoch to reshuffle) and rank ``r`` takes every ``num_replicas``-th index
    from position ``r``: the shards are disjoint and together cover the dataset. When the
    length does not divide evenly, ``drop_last=False`` repeats indices from the start so every
    rank gets ``ceil(n / num_replicas)``; ``drop_last=True`` drops the tail instead, so every
    rank gets ``floor(n / num_replicas)``. ``num_replicas`` and ``rank`` default to the
    process group's.

    >>> import autonn as an
    >>> from autonn.distributed import DistributedSampler
    >>> ds = an.data.TensorDataset(an.arange(10))
    >>> [list(DistributedSampler(ds, num_replicas=3, rank=r, shuffle=False)) for r in range(3)]
    [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    >>> s = DistributedSampler(ds, num_replicas=2, rank=0, seed=1); s.set_epoch(3)
    >>> loader = an.data.DataLoader(ds, batch_size=5, sampler=s); len(loader)
    1
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        from . import process_group as pg
        if num_replicas is None:
            num_replicas = pg.get_world_size()
        if rank is None:
            rank = pg.get_rank()
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the "
                             f"interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad by repeating from the start (as often as needed)
            order = np.resize(order, self.total_size)
        else:
            order = order[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of epoch ``epoch`` (the same on every rank) from now on.

        >>> import autonn as an
        >>> from autonn.distributed import DistributedSampler
        >>> s = DistributedSampler(an.data.TensorDataset(an.arange(4)), num_replicas=1, rank=0)
        >>> a = list(s); s.set_epoch(1); b = list(s); sorted(a) == sorted(b) == [0, 1, 2, 3]
        True
        """
        self.epoch = int(epoch)

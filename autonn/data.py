"""Datasets and mini-batch loading, as ``torch.utils.data``: ``TensorDataset``, ``DataLoader``.

>>> import autonn as an, numpy as np
>>> ds = an.data.TensorDataset(an.tensor(np.arange(10.0).reshape(5, 2)), an.arange(5))
>>> [tuple(t.shape for t in batch) for batch in an.data.DataLoader(ds, batch_size=2)]
[((2, 2), (2,)), ((2, 2), (2,)), ((1, 2), (1,))]
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .tensor import Tensor, TensorLike, as_tensor

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]


class Dataset:
    """Base class of map-style datasets: define ``__getitem__(i)`` and ``__len__()``.

    >>> import autonn as an
    >>> class Squares(an.data.Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return float(i * i)
    >>> next(iter(an.data.DataLoader(Squares(), batch_size=4)))
    tensor([0., 1., 4., 9.])
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError("a Dataset subclass defines __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError("a Dataset subclass defines __len__")


class TensorDataset(Dataset):
    """Samples are the rows of several tensors (arrays are wrapped as Tensors) of equal length.

    >>> import autonn as an
    >>> ds = an.data.TensorDataset(an.zeros(3, 2), an.arange(3))
    >>> len(ds), ds[1][1]
    (3, tensor(1))
    """

    def __init__(self, *tensors: TensorLike) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        converted = tuple(as_tensor(t) for t in tensors)
        for t in converted:
            if t.ndim == 0:
                raise ValueError("TensorDataset: a 0-d tensor has no samples to index")
        sizes = [t.shape[0] for t in converted]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions "
                             f"are {sizes}; all must be equal")
        self.tensors = converted

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch: Tensors and arrays are stacked along a new first
    axis, numbers become a 1-d Tensor, tuples/lists and dicts are collated field by field,
    strings stay a list.

    >>> import autonn as an
    >>> default_collate = an.data.default_collate
    >>> default_collate([(an.ones(2), 0), (an.zeros(2), 1)])
    (tensor([[1., 1.],
            [0., 0.]]), tensor([0, 1]))
    """
    first = batch[0]
    if isinstance(first, Tensor):
        if any(t.requires_grad for t in batch):
            from .ops import stack
            return stack(list(batch))
        return Tensor._make(np.stack([t.data for t in batch]))
    if isinstance(first, (np.ndarray, np.generic)):
        return Tensor._make(np.stack([np.asarray(x) for x in batch]))
    if isinstance(first, bool):
        return Tensor._make(np.array(batch, dtype=bool))
    if isinstance(first, numbers.Integral):
        return Tensor._make(np.array(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor._make(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, dict):
        return {k: default_collate([d[k] for d in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        n = len(first)
        if any(len(s) != n for s in batch):
            raise ValueError("default_collate: each sample in the batch must have the same "
                             f"number of fields, got {sorted({len(s) for s in batch})}")
        fields = [default_collate(list(col)) for col in zip(*batch)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # namedtuple
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: don't know how to batch samples of type "
                    f"{type(first).__name__}; pass collate_fn=")


class DataLoader:
    """Iterate over a dataset in mini-batches, optionally shuffled (a new order every epoch).

    ``sampler`` (an iterable of indices with a length, such as
    ``autonn.distributed.DistributedSampler``) replaces the dataset's order; ``seed`` makes the
    sequence of shuffles reproducible; with ``seed=None`` the shuffles come
    from autonn's global generator, so ``an.manual_seed`` controls them. A ``TensorDataset``
    is batched with one fancy index per tensor; other datasets go through ``collate_fn``
    (``default_collate``). ``batch_size=None`` yields the samples one by one, unbatched.

    >>> import autonn as an
    >>> ds = an.data.TensorDataset(an.arange(6))
    >>> [b[0].tolist() for b in an.data.DataLoader(ds, batch_size=4, shuffle=True, seed=0)]
    [[3, 2, 5, 4], [0, 1]]
    >>> len(an.data.DataLoader(ds, batch_size=4, drop_last=True))
    1
    """

    def __init__(self, dataset: Dataset | Sequence[Any], batch_size: int | None = 1,
                 shuffle: bool = False, drop_last: bool = False, seed: int | None = None, *,
                 collate_fn: Callable[[list[Any]], Any] | None = None,
                 sampler: Iterable[int] | None = None) -> None:
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, numbers.Integral)
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle "
                             "(the sampler decides the order)")
        self.dataset = dataset
        self.sampler = sampler
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.batch_size is None:
            return n
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _order(self):
        if self.sampler is not None:  # e.g. a DistributedSampler: its indices, in its order
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if self._rng is not None:
            rng = self._rng
        else:
            from .creation import generator
            rng = generator()
        return rng.permutation(n)

    def __iter__(self):
        order = self._order()
        ds = self.dataset
        if self.batch_size is None:
            for i in order:
                yield ds[int(i)]
            return
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        fast = isinstance(ds, TensorDataset) and self.collate_fn is default_collate
        for start in range(0, stop, bs):
            idx = order[start:start + bs]
            if fast:
                yield tuple(t[idx] for t in ds.tensors)
            else:
                yield self.collate_fn([ds[int(i)] for i in idx])

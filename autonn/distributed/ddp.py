"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward().

On wrap, every rank's parameter and buffer names, shapes and dtypes are compared (a difference is
a RuntimeError naming the parameter and the ranks) and rank 0's values are broadcast. The
parameters are then split into buckets (one dtype each) in the order backward makes their
gradients: the reverse of ``module.parameters()``. A parameter of 1 MB or more gets a bucket of
its own, reduced in place in its gradient array; the others share flat buffers, closed once they
hold ``bucket_cap_mb`` (25 MB, PyTorch's default; the first at 1 MB so that communication starts
early).

During ``backward()`` a post-accumulate-grad hook on each parameter puts its gradient in its
bucket (a shared bucket gets a copy scaled by ``1 / world_size``). A full bucket starts a
non-blocking ``Iallreduce`` (in bucket order, the same on every rank, as MPI requires) while the
walk goes on to the earlier layers; later hooks poll the requests so the transfers progress.
When the walk ends, a callback waits for every request, divides the in-place gradients by the
world size and points the other ``.grad`` at their slices of the shared buffers (no copy back).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import saved
from ..grad_hooks import queue_callback
from ..nn.module import Module
from ..tensor import Tensor
from . import process_group as pg

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024
_FIRST_BUCKET_MB = 1.0


class _Bucket:
    """The gradients of ``params`` (one dtype) as one flat array to allreduce, and its request.

    A shared bucket copies each gradient, scaled by ``1 / world_size``, into its own buffer.
    A bucket of one large parameter (``in_place``) reduces the gradient array itself when it
    can (contiguous, writable, not a view; else a copy in its own buffer) and scales it after
    the reduction: no copy."""

    def __init__(self, params, in_place=False):
        self.params = params
        self.in_place = in_place
        self.dtype = params[0].data.dtype
        self.size = sum(p.data.size for p in params)
        self.nbytes = self.size * self.dtype.itemsize
        self.scale = self.dtype.type(1)  # 1 / world_size, set by the reducer
        self.own = self.views = None  # the bucket's own buffer, made on first use
        self.buffer = None  # the array being reduced this round (own, or a gradient's)
        self.done = set()  # ids of the parameters whose gradient is in the buffer
        self.request = None

    def own_views(self):
        if self.own is None:
            self.own = np.empty(self.size, self.dtype)
            self.views, offset = {}, 0
            for p in self.params:
                n = p.data.size
                self.views[id(p)] = self.own[offset:offset + n].reshape(p.data.shape)
                offset += n
        self.buffer = self.own
        return self.views


def _assign_buckets(params, cap_bytes, first_cap_bytes):
    """Split ``params`` (in gradient-ready order) into buckets of one dtype each. A parameter
    of ``first_cap_bytes`` or more gets a bucket of its own; the others share buckets, closed
    once they hold ``cap_bytes`` (the first bucket: ``first_cap_bytes``)."""
    closed, open_ = [], {}  # open_: dtype -> [params, bytes]
    for p in params:
        dtype = p.data.dtype
        if p.data.nbytes >= first_cap_bytes:
            if dtype in open_:  # keep the order: what came before goes first
                closed.append(_Bucket(open_.pop(dtype)[0]))
            closed.append(_Bucket([p], in_place=True))
            continue
        entry = open_.setdefault(dtype, [[], 0])
        entry[0].append(p)
        entry[1] += p.data.nbytes
        if entry[1] >= (first_cap_bytes if not closed else cap_bytes):
            closed.append(_Bucket(entry[0]))
            del open_[dtype]
    closed.extend(_Bucket(entry[0]) for entry in open_.values())
    return closed


def _check_same_model(comm, named):
    """Raise on every rank when the ranks' parameters or buffers differ in name, shape or dtype."""
    mine = [(kind, name, tuple(t.data.shape), t.data.dtype.str) for kind, name, t in named]
    everyone = comm.allgather(mine)
    ref = everyone[0]

    def say(entry):
        kind, name, shape, dtype = entry
        return f"{kind} '{name}' of shape {shape}, dtype {np.dtype(dtype).name}"
    for rank, theirs in enumerate(everyone[1:], 1):
        for a, b in zip(ref, theirs):
            if a != b:
                raise RuntimeError(
                    f"DistributedDataParallel: the ranks' models differ: rank 0 has {say(a)} "
                    f"where rank {rank} has {say(b)}; every rank must build the same model")
        if len(ref) != len(theirs):
            extra = (ref if len(ref) > len(theirs) else theirs)[min(len(ref), len(theirs))]
            owner = 0 if len(ref) > len(theirs) else rank
            raise RuntimeError(
                f"DistributedDataParallel: the ranks' models differ: rank 0 has {len(ref)} "
                f"parameters and buffers, rank {rank} has {len(theirs)}; rank {owner} has "
                f"{say(extra)} which the other lacks")


class _Reducer:
    """The averaging of one model's gradients: its buckets, their requests, and the state of
    the backward under way (a plain object: DDP is a Module, whose attribute writes are slow)."""

    def __init__(self, comm, buckets):
        self.comm, self.world = comm, comm.Get_size()
        self.buckets = buckets
        for b in buckets:
            b.scale = b.dtype.type(1.0 / self.world)
        self.where = {id(p): b for b in buckets for p in b.params}
        self.nbytes = sum(b.nbytes for b in buckets)
        self.running, self.next = False, 0  # in a backward; the first bucket not yet launched

    def grad_ready(self, p):
        """The hook: ``p.grad`` is complete. Put it in its bucket; launch the full buckets, or
        else let MPI move the transfers in flight on while backward goes on."""
        if not self.running:
            self.running = True
            queue_callback(self.finish)
        bucket = self.where[id(p)]
        self.fill(bucket, p)
        if len(bucket.done) == len(bucket.params):
            self.launch_full()
        elif self.next:
            pg._mpi().Request.Testall([b.request for b in self.buckets[:self.next]])

    def fill(self, bucket, p):
        """Put ``p``'s gradient in its bucket. Shared buckets scale by ``1 / world_size`` in the
        copy; one-parameter buckets after the reduction (the same way on every rank)."""
        g = p.grad
        if bucket.in_place:
            arr = None if g is None else g.data
            if arr is not None and arr.flags.c_contiguous and arr.flags.writeable \
                    and arr.base is None and arr.dtype == bucket.dtype:
                bucket.buffer = arr.reshape(-1)  # reduce the gradient array itself: no copy
                bucket.done.add(id(p))
                return
        view = bucket.own_views()[id(p)]
        if g is None:
            view.fill(0)  # no gradient on this rank: it contributes zeros to the average
        elif bucket.in_place:
            np.copyto(view, g.data)
        else:
            np.multiply(g.data, bucket.scale, out=view)
        bucket.done.add(id(p))

    def launch_full(self):
        """Start the allreduce of every full bucket, in bucket order (the same on every rank)."""
        MPI = pg._mpi()
        buckets = self.buckets
        while self.next < len(buckets) and \
                len(buckets[self.next].done) == len(buckets[self.next].params):
            b = buckets[self.next]
            b.request = self.comm.Iallreduce(MPI.IN_PLACE, b.buffer, op=MPI.SUM)
            self.next += 1

    def finish(self):
        """End of backward: reduce what is left (parameters that got no gradient count as
        zeros), wait for every request, and point each ``.grad`` at its averaged slice."""
        try:
            for b in self.buckets[self.next:]:
                for p in b.params:
                    if id(p) not in b.done:
                        self.fill(b, p)
            self.launch_full()
            pg.wait_all([b.request for b in self.buckets], self.nbytes)
            for b in self.buckets:
                if b.in_place:
                    np.multiply(b.buffer, b.scale, out=b.buffer)
                if b.buffer is b.own:  # the gradients now live in the bucket's buffer
                    for p in b.params:
                        p.grad = Tensor._make(b.views[id(p)])
                b.done.clear()
                b.request = b.buffer = None
        finally:
            self.running, self.next = False, 0

    def reduce_now(self):
        """Average the current ``.grad`` of every parameter through the same buckets and
        requests as a backward does (for benchmarks: no backward around it)."""
        self.running = True
        for b in self.buckets:
            for p in b.params:
                self.fill(b, p)
            self.launch_full()
        self.finish()


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training: call it as the module; ``backward()`` leaves
    every parameter's ``.grad`` averaged over the ranks (PyTorch's ``DistributedDataParallel``).

    ``broadcast_buffers`` sends rank 0's buffers (e.g. BatchNorm statistics) at every forward;
    ``no_sync()`` skips the averaging (gradient accumulation; the next synced backward averages
    the accumulated sum). After a synced backward each ``.grad`` is a view into a bucket that the
    next synced backward overwrites.

    >>> import autonn as an
    >>> from autonn import distributed as dist
    >>> dist.init_process_group()
    >>> model = dist.DistributedDataParallel(an.nn.Linear(3, 2))
    >>> model(an.ones(4, 3)).sum().backward(); model.module.weight.grad.shape
    (3, 2)
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0,
                 broadcast_buffers: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an an.nn.Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb!r}")
        comm = pg._comm("DistributedDataParallel")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._comm, self._world = comm, comm.Get_size()
        every = list(module.named_parameters())  # frozen ones too: checked and broadcast
        params = [(n, p) for n, p in every if p.requires_grad]  # averaged
        self._buffers_to_sync = [b for _, b in module.named_buffers()]
        self._sync = True
        self._reducer, self._handles = _Reducer(comm, []), []
        if self._world == 1:
            return  # nothing to agree on or to average: the module as it is
        _check_same_model(comm, [("parameter", n, p) for n, p in every]
                          + [("buffer", n, b) for n, b in module.named_buffers()])
        self._broadcast([p for _, p in every])
        self._broadcast_buffers()
        ordered = [p for _, p in reversed(params)]
        self._reducer = _Reducer(comm, _assign_buckets(
            ordered, self.bucket_cap_mb * _MB, min(_FIRST_BUCKET_MB, self.bucket_cap_mb) * _MB))
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in ordered]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self._buffers_to_sync and self._world > 1:
            self._broadcast_buffers()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, ``backward()`` accumulates local gradients without averaging them.

        >>> import autonn as an
        >>> from autonn import distributed as dist
        >>> dist.init_process_group()
        >>> model = dist.DistributedDataParallel(an.nn.Linear(2, 1))
        >>> with model.no_sync(): model(an.ones(1, 2)).sum().backward()
        """
        prev, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = prev

    def _broadcast_buffers(self):
        self._broadcast(self._buffers_to_sync)

    def _broadcast(self, tensors):
        """Rank 0's values of ``tensors`` to every rank, all transfers started at once. Each is
        written as an in-place method writes: allowed while a graph holds it, its version
        bumped (a backward that needs the old value raises)."""
        comm = self._comm
        with contextlib.ExitStack() as stack:
            arrays = [stack.enter_context(saved.unlocked(t)) for t in tensors]
            requests = [comm.Ibcast(a, root=0) for a in arrays if a.flags.c_contiguous]
            pg.wait_all(requests, sum(a.nbytes for a in arrays))
            for a in arrays:
                if not a.flags.c_contiguous:
                    pg._in_place(a, lambda buf: pg.wait_all([comm.Ibcast(buf, root=0)]))

    def _grad_ready(self, p):
        if self._sync:
            self._reducer.grad_ready(p)

    def extra_repr(self) -> str:
        return f"world_size={self._world}, buckets={len(self._reducer.buckets)}"

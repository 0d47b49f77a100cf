"""Checkpoints in a data-parallel job: rank 0 writes, every rank reads the same bytes.

``save_checkpoint(obj, path)`` writes ``obj`` (anything ``an.save`` takes: state dicts of the
model and the optimizer, the epoch, ...) from rank 0 only, atomically, and returns on every rank
once the file is complete. ``load_checkpoint(path)`` reads the file on rank 0 and broadcasts its
bytes, so the ranks need no shared filesystem and all get the same values.

>>> import autonn as an, os, tempfile
>>> from autonn import distributed as dist
>>> dist.init_process_group()
>>> net = an.nn.Linear(2, 2); path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
>>> dist.save_checkpoint({"model": net.state_dict(), "epoch": 3}, path)
>>> dist.load_checkpoint(path)["epoch"]
3
"""
from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from . import process_group as pg

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(obj: Any, path: str | os.PathLike[str]) -> None:
    """Rank 0 saves ``obj`` to ``path`` with ``an.save``; the other ranks wait until it is written.

    >>> import autonn as an, os, tempfile
    >>> from autonn import distributed as dist
    >>> dist.init_process_group()
    >>> dist.save_checkpoint({"step": 1}, os.path.join(tempfile.mkdtemp(), "c.npz"))
    """
    from ..io import save
    comm = pg._comm("save_checkpoint")
    if comm.Get_rank() == 0:
        save(obj, path)  # (an error here aborts the job through the excepthook)
    pg.wait_all([comm.Ibarrier()])  # (the others yield their cores while rank 0 writes)


def load_checkpoint(path: str | os.PathLike[str], src: int = 0) -> Any:
    """What ``save_checkpoint`` wrote, on every rank: rank ``src`` reads the file and broadcasts
    it. A missing or unreadable file raises the same error on every rank.

    >>> import autonn as an, os, tempfile
    >>> from autonn import distributed as dist
    >>> dist.init_process_group()
    >>> p = os.path.join(tempfile.mkdtemp(), "c.npz"); dist.save_checkpoint([an.ones(2)], p)
    >>> dist.load_checkpoint(p)
    [tensor([1., 1.])]
    """
    from ..io import load
    comm = pg._comm("load_checkpoint")
    data = error = None
    if comm.Get_rank() == src:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            error = (type(e).__name__, str(e))
    size, error = comm.bcast((None if data is None else len(data), error), root=src)
    if error is not None:
        kind = FileNotFoundError if error[0] == "FileNotFoundError" else OSError
        raise kind(f"load_checkpoint: rank {src} could not read {path!r}: {error[1]}")
    buf = np.frombuffer(data, np.uint8).copy() if data is not None else np.empty(size, np.uint8)
    pg.wait_all([comm.Ibcast(buf, root=src)])
    return load(io.BytesIO(buf.tobytes()))  # type: ignore[arg-type]  # (load reads file objects too, as np.load)

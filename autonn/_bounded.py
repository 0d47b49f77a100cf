"""Bounded reading of files that may be hostile: regular files only, and no array allocated
before its declared size is checked against the bytes that hold it.

* ``open_regular``/``read_regular``: a FIFO, a device (``/dev/zero``), a directory or a socket is
  a ``ValueError`` at once; opening never blocks.
* ``read_npz``: each ``.npy`` header's shape is checked against its entry's size before the
  array is allocated; stored entries must fit in the file; compressed entries may inflate to a
  limit in all, checked against the sizes the zip directory declares before anything is
  inflated (the zip reader never inflates an entry past its declared size).
* ``read_safetensors``: the header length is checked against the file, and safetensors checks
  every tensor's shape against its byte range.
"""
import json
import math
import os
import stat
import zipfile

import numpy as np

__all__ = ["open_regular", "read_regular", "read_npz", "read_safetensors"]

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def open_regular(path, op):
    """``path`` opened for binary reading if it is a regular file (after following symlinks);
    a ``ValueError`` naming ``op`` and the file otherwise. Opening never blocks, even on a FIFO.

    >>> from autonn._bounded import open_regular
    >>> open_regular("/dev/zero", "an.load")
    Traceback (most recent call last):
        ...
    ValueError: an.load: /dev/zero is not a regular file (it is a character device); only ...
    """
    name = os.fsdecode(os.fspath(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((k for test, k in _KINDS if test(mode)), "not a regular file")
            raise ValueError(f"{op}: {name} is not a regular file (it is {kind}); only regular "
                             "files are read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path, op):
    """All bytes of the regular file ``path`` (see ``open_regular``).

    >>> import os, tempfile
    >>> from autonn._bounded import read_regular
    >>> path = os.path.join(tempfile.mkdtemp(), "f"); _ = open(path, "wb").write(b"abc")
    >>> read_regular(path, "demo")
    b'abc'
    """
    with open_regular(path, op) as f:
        return f.read()


def _npy_header(entry, where):
    """``(shape, fortran_order, dtype)`` from the ``.npy`` header at the start of ``entry``."""
    version = np.lib.format.read_magic(entry)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(entry)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(entry)
    raise ValueError(f"{where} has .npy format version {version}, which autonn does not read")


def read_npz(f, name, op, max_inflated_bytes):
    """The arrays of a ``.npz`` archive in the binary file object ``f``, reading nothing the
    archive does not hold: each entry's ``.npy`` header is checked against the entry's size
    before its array is allocated, stored entries must fit in the file, and compressed entries
    may inflate to ``max_inflated_bytes`` in all. Pickled
    (object) arrays are refused. Any problem is a ``ValueError`` naming ``op`` and the file.

    >>> import io, numpy as np
    >>> from autonn._bounded import read_npz
    >>> buf = io.BytesIO(); np.savez_compressed(buf, z=np.zeros(10 ** 6))
    >>> read_npz(buf, "zeros.npz", "demo", max_inflated_bytes=10 ** 6)
    Traceback (most recent call last):
        ...
    ValueError: demo: zeros.npz: the compressed entry 'z.npy' declares 8000128 bytes once ...
    """
    limit = int(max_inflated_bytes)
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)

    def bad(msg):
        return ValueError(f"{op}: {name} is truncated or corrupted: {msg}")

    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise bad(f"{type(e).__name__}: {e}") from None
    with zf:
        infos = zf.infolist()
        if len({i.filename for i in infos}) != len(infos):
            raise bad("two entries have the same name")
        inflated = 0
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise bad(f"the entry {info.filename!r} is not a .npy array")
            if info.compress_size > size or info.header_offset > size:
                raise bad(f"the entry {info.filename!r} declares {info.compress_size} bytes "
                          f"in a {size}-byte file")
            if info.compress_type == zipfile.ZIP_STORED:
                if info.file_size != info.compress_size:
                    raise bad(f"the stored entry {info.filename!r} declares {info.file_size} "
                              f"bytes but holds {info.compress_size}")
                continue
            inflated += info.file_size
            if info.file_size > limit or inflated > limit:
                what = (f"the compressed entry {info.filename!r} declares {info.file_size} "
                        "bytes once inflated" if info.file_size > limit else
                        f"the compressed entries declare {inflated} bytes once inflated")
                raise ValueError(f"{op}: {name}: {what}, over the limit of {limit} bytes "
                                 "(max_inflated_bytes); an.save never compresses, so the file "
                                 "is suspect")
        arrays = {}
        for info in infos:
            key = info.filename[:-4]
            try:
                arrays[key] = _read_entry(zf, info, f"the entry {info.filename!r}")
            except ValueError as e:
                raise bad(str(e)) from None
            except Exception as e:  # noqa: BLE001 - BadZipFile, EOFError, zlib.error, CRC...
                raise bad(f"{info.filename!r}: {type(e).__name__}: {e}") from None
    return arrays


def _read_entry(zf, info, where):
    with zf.open(info) as entry:
        shape, fortran, dtype = _npy_header(entry, where)
        if dtype.hasobject:
            raise ValueError(f"{where} holds Python objects (pickle), which autonn never loads")
        nbytes = math.prod(shape) * dtype.itemsize
        if entry.tell() + nbytes != info.file_size:
            raise ValueError(f"{where}: its header declares shape {shape} of {dtype} "
                             f"({nbytes} bytes), but the entry holds "
                             f"{info.file_size - entry.tell()} bytes of data")
        buf = bytearray(nbytes)
        view, got = memoryview(buf), 0
        while got < nbytes:
            n = entry.readinto(view[got:])
            if not n:
                raise ValueError(f"{where} ends after {got} of its {nbytes} bytes")
            got += n
        if entry.read(1):  # also makes the zip reader check the CRC
            raise ValueError(f"{where} holds more bytes than its header declares")
    arr = np.frombuffer(buf, dtype=dtype)
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def read_safetensors(data, name, op):
    """The arrays of a safetensors file's bytes ``data`` (a dict of names to ndarrays) and its
    ``__metadata__`` dict (or ``None``), checked against the data before anything is
    allocated; a ``ValueError`` naming ``op`` and the file on any problem.

    >>> import numpy as np
    >>> from safetensors.numpy import save
    >>> from autonn._bounded import read_safetensors
    >>> read_safetensors(save({"w": np.ones(2)}), "w.safetensors", "demo")
    ({'w': array([1., 1.])}, None)
    """
    if len(data) < 10:
        raise ValueError(f"{op}: {name} is truncated (no safetensors header)")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError(f"{op}: {name} is truncated (a {n}-byte header in a {len(data)}-byte "
                         "file)")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"{op}: {name}: the safetensors header is corrupted ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{op}: {name}: the safetensors header is not a JSON object")
    meta = header.get("__metadata__")
    if meta is not None and not isinstance(meta, dict):
        raise ValueError(f"{op}: {name}: the safetensors metadata is not a JSON object")
    from safetensors.numpy import load as st_load
    try:
        arrays = st_load(bytes(data))
    except KeyError as e:
        raise ValueError(f"{op}: {name} holds tensors of dtype {e}, which NumPy has no type "
                         "for; convert them to float32 when saving") from None
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
        raise ValueError(f"{op}: {name}: the safetensors data is corrupted or truncated "
                         f"({e})") from None
    return arrays, meta


def is_safetensors(head):
    """Whether ``head`` (the first 9 bytes or more) starts a safetensors file."""
    return len(head) >= 9 and head[8:9] == b"{"

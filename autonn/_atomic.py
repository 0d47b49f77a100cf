"""Atomic file writes that clean up after killed saves.

``atomic_write(path, write)`` writes through a temporary file ``.<name>.<uuid>.tmp`` next to
``path`` and renames it over ``path`` with ``os.replace``: readers see the old file or the whole
new one, and a failure leaves the old file intact. A save killed before the rename (``kill -9``)
leaves its temporary file behind; the next save to the same path removes it. While a temporary
file is written it is locked (``flock``), so a save running at the same time in another process
keeps its own. (On Windows, where there is no ``flock``, a file another process has open cannot
be removed, which protects it the same way.)

>>> import os, tempfile
>>> from autonn._atomic import atomic_write
>>> folder = tempfile.mkdtemp(); path = os.path.join(folder, "f.bin")
>>> open(os.path.join(folder, ".f.bin." + "0" * 32 + ".tmp"), "wb").close()  # a killed save
>>> atomic_write(path, lambda f: f.write(b"data"))
>>> sorted(os.listdir(folder))
['f.bin']
"""
import os
import stat
import uuid

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["atomic_write"]


def atomic_write(path, write):
    """Call ``write(f)`` on a temporary file next to ``path``, then rename it over ``path``
    (``os.replace``): readers see the old file or the whole new one, never half of it. Leftover
    temporary files of killed saves to the same path are removed first."""
    path = os.fsdecode(os.fspath(path))
    directory = os.path.dirname(os.path.abspath(path))
    _remove_leftovers(directory, os.path.basename(path))
    fd, tmp = _locked_temporary(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)  # inside the with: the lock is held until the rename
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _temporary_name(base):
    return f".{base}.{uuid.uuid4().hex}.tmp"


def _is_temporary_of(entry, base):
    prefix, suffix = f".{base}.", ".tmp"
    if not (entry.startswith(prefix) and entry.endswith(suffix)):
        return False
    middle = entry[len(prefix):-len(suffix)]
    return len(middle) == 32 and all(c in "0123456789abcdef" for c in middle)


def _locked_temporary(directory, base):
    """A new temporary file, created and locked (so that no other save removes it as a
    leftover); returns ``(fd, path)``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, _temporary_name(base))
        fd = os.open(tmp, flags, 0o666)
        if fcntl is None:
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # a cleaner may have taken the lock and removed it between create and lock
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)


def _remove_leftovers(directory, base):
    """Remove ``.<base>.<uuid>.tmp`` files that no running save holds (their writer died)."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        if not _is_temporary_of(entry, base):
            continue
        tmp = os.path.join(directory, entry)
        if fcntl is None:  # Windows: a file open in another process cannot be removed
            try:
                os.unlink(tmp)
            except OSError:
                pass
            continue
        try:
            fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a writer is alive
                os.unlink(tmp)
        except OSError:
            pass
        finally:
            os.close(fd)

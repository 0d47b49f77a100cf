"""Generated Numba kernels: Python source written to a file in autonn's cache directory and
imported from there, so that ``@njit(cache=True)`` keeps the machine code across processes.

The directory is ``$AUTONN_CACHE_DIR`` or ``$XDG_CACHE_HOME/autonn`` (``~/.cache/autonn``);
files are named by a hash of their source, written atomically, and never change. Nothing is
executed from them: the source autonn generated is compiled from memory under the file's name
(Numba's cache locates its machine code by that file), so neither a changed ``.py`` nor a
planted ``__pycache__`` bytecode file runs. A directory other users can write is not used.
"""
import hashlib
import os
import sys
import tempfile
import types
from collections.abc import Callable
from typing import Any

_loaded: dict[tuple[str, str], Callable[..., Any]] = {}  # (name, source hash) -> the kernel


def cache_dir() -> str:
    """The directory of generated kernels (created on first use).

    >>> cache_dir().endswith("compile")
    True
    """
    root = os.environ.get("AUTONN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "autonn")
    return os.path.join(root, "compile")


def load(name: str, source: str) -> Callable[..., Any]:
    """The function ``name`` defined by ``source``, compiled from that text; its file in the cache
    directory only lets Numba keep the machine code (``cache=True``) across processes."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:20]
    key = (name, digest)
    fn = _loaded.get(key)
    if fn is not None:
        return fn
    modname = f"autonn_gen_{name}_{digest}"
    try:
        filename, text = _stored(modname, source), source
    except OSError:  # no private writable cache: compile in memory (no cache across processes)
        filename, text = modname, source.replace("cache=True", "cache=False")
    module = types.ModuleType(modname)
    module.__file__ = filename
    sys.modules[modname] = module
    exec(compile(text, filename, "exec"), module.__dict__)  # autonn's own text, never the file's
    from ..kernels import _fastload
    fn = _loaded[key] = _fastload.install(getattr(module, name))
    return fn


def _stored(modname: str, source: str) -> str:
    """The path of ``modname``'s file in the cache directory, holding exactly ``source`` (written
    anew when missing or different). OSError when the directory cannot be used."""
    d = cache_dir()
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.stat(d)
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        raise OSError(f"{d}: other users can write it")  # (Numba's cache there is unpickled)
    path = os.path.join(d, modname + ".py")
    if _stored_source(path) != source:
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    return path


def _stored_source(path: str) -> str | None:
    """The text of a cached kernel file, or None (missing or unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None

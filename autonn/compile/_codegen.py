"""Generated Numba kernels: Python source written to a file in autonn's cache directory and
imported from there, so that ``@njit(cache=True)`` keeps the machine code across processes.

The directory is ``$AUTONN_CACHE_DIR`` or ``$XDG_CACHE_HOME/autonn`` (``~/.cache/autonn``);
files are named by a hash of their source, written atomically, and never change.
"""
import hashlib
import importlib.util
import os
import sys
import tempfile
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
    """The function ``name`` defined by ``source`` (imported from its cached file)."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:20]
    key = (name, digest)
    fn = _loaded.get(key)
    if fn is not None:
        return fn
    modname = f"autonn_gen_{name}_{digest}"
    try:
        d = cache_dir()
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, modname + ".py")
        if _stored_source(path) != source:  # missing, or not what autonn wrote: write it anew
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(modname, path)
        assert spec is not None and spec.loader is not None  # (a .py path always has both)
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
    except OSError:  # no writable cache: compile in memory (no cache=True across processes)
        module = type(sys)(modname)
        exec(compile(source.replace("cache=True", "cache=False"), modname, "exec"),
             module.__dict__)
    from ..kernels import _fastload
    fn = _loaded[key] = _fastload.install(getattr(module, name))
    return fn


def _stored_source(path: str) -> str | None:
    """The text of a cached kernel file, or None: a file is only imported when it holds exactly
    the source autonn generated (its name is that source's hash), never other code."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None

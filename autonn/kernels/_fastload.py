"""Load autonn's cached kernels without loading Numba's compiler registries.

On a cache hit Numba's ``Cache.load_overload`` first calls ``target_context.refresh()``,
which imports and installs every typing and lowering registry Numba has (``numba.np.*``,
``numba.cpython.*``, typed containers, ...): ~0.3-0.45 s of the first kernel call of a
process, needed to *compile* but not to rebuild machine code that is already compiled.
Rebuilding needs the Numba runtime (NRT) whose symbols the code links against; that is
``rtsys.initialize``, the first step of ``refresh``.

:func:`install` gives one of autonn's dispatchers a ``load_overload`` that does just that.
A cache miss still compiles through Numba's pipeline, which refreshes the registries
itself; if the lean load fails in any way it falls back to Numba's own load. It is used
only with the Numba versions it was checked against (``_CHECKED``); with any other the
dispatchers are left as they are.

>>> from autonn.kernels import _fastload
>>> _fastload.supported() in (True, False)
True
"""
import numba

#: why the last lean load fell back to Numba's own (None: none did); for debugging
last_fallback = None

_CHECKED = ("0.68.",)  # the versions whose caching.py / cpu.py this was read against and tested with


def supported():
    """True when this Numba's cache-loading internals are the ones the lean load expects."""
    return numba.__version__.startswith(_CHECKED)


def install(dispatcher):
    """Make ``dispatcher``'s cache hits skip the registry refresh (no-op when unsupported)."""
    cache = getattr(dispatcher, "_cache", None)
    if not supported() or cache is None or not hasattr(cache, "_load_overload"):
        return dispatcher
    full_load = cache.load_overload

    def load_overload(sig, target_context):
        try:
            from numba.core.runtime import rtsys
            rtsys.initialize(target_context)
            with cache._guard_against_spurious_io_errors():
                return cache._load_overload(sig, target_context)
        except Exception as e:  # anything unexpected: Numba's own path (the reason is kept)
            global last_fallback
            last_fallback = f"{getattr(dispatcher, '__name__', dispatcher)}: {e!r}"
        return full_load(sig, target_context)

    cache.load_overload = load_overload
    return dispatcher

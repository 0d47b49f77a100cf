"""The lean loading of cached kernels (``autonn.kernels._fastload``): a cache hit rebuilds the
kernel without Numba's compiler registries and gives the same bits as a compiled one; a miss
compiles through Numba's pipeline; any failure of the lean path falls back to Numba's load."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

numba = pytest.importorskip("numba")
from autonn.kernels import _fastload  # noqa: E402

needs_supported = pytest.mark.skipif(
    not _fastload.supported() or os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0"),
    reason=f"lean load not enabled for numba {numba.__version__}, or JIT disabled")

_RUN = textwrap.dedent("""
    import sys, numpy as np
    from autonn import kernels as K
    K._load()
    nb = K._nb
    x = np.linspace(-30, 30, 1 << 15, dtype=np.float32)
    out = {}
    for name in ("ser", "par"):
        o = np.empty_like(x)
        getattr(nb.tanh_fwd, name)(x, o)
        out[name] = o
    s = np.zeros(2, np.float32)
    p = x[:2].copy(); g = np.ones(2, np.float32)
    from autonn.kernels import _optim_numba as onb
    onb.sgd_update.ser(p, g, p, np.float32(0.5), False, np.float32(0), np.float32(0),
                       np.float32(1), False, False, False, False)
    hits = sum(nb.tanh_fwd.ser.stats.cache_hits.values())
    print(int("numba.np.linalg" in sys.modules), hits)
    np.save(sys.argv[1], np.stack([out["ser"], out["par"]]))
    np.save(sys.argv[2], p)
""")


def _run(tmp_path, cache_dir, tag):
    a, b = tmp_path / f"{tag}_k.npy", tmp_path / f"{tag}_p.npy"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), AUTONN_KERNELS="numba")
    res = subprocess.run([sys.executable, "-c", _RUN, str(a), str(b)], capture_output=True,
                         text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    registries, hits = map(int, res.stdout.split())
    return registries, hits, np.load(a), np.load(b)


@needs_supported
def test_cache_hit_skips_the_registries_and_gives_the_compiled_bits(tmp_path):
    cache = tmp_path / "cache"
    reg_cold, hits_cold, k_cold, p_cold = _run(tmp_path, cache, "cold")  # compiles (a miss)
    assert hits_cold == 0 and reg_cold == 1  # compiling needs (and loads) the registries
    reg_warm, hits_warm, k_warm, p_warm = _run(tmp_path, cache, "warm")  # loads from the cache
    assert hits_warm == 1
    assert reg_warm == 0, "a cache hit loaded Numba's compiler registries"
    np.testing.assert_array_equal(k_warm, k_cold)  # serial and parallel variants, same bits
    np.testing.assert_array_equal(k_warm[0], k_warm[1])
    np.testing.assert_array_equal(p_warm, p_cold)
    np.testing.assert_array_equal(p_warm, np.linspace(-30, 30, 1 << 15, dtype=np.float32)[:2] - 0.5)


def test_install_falls_back_to_numbas_load_on_any_failure():
    calls = []

    class Cache:
        def load_overload(self, sig, ctx):
            calls.append(("full", sig))
            return "from numba"

        def _load_overload(self, sig, ctx):
            raise RuntimeError("lean path broken")

        def _guard_against_spurious_io_errors(self):
            raise AssertionError("not reached")

    class Dispatcher:
        _cache = Cache()

    d = _fastload.install(Dispatcher())
    if not _fastload.supported():
        assert Dispatcher._cache.load_overload("sig", None) == "from numba"
        return
    ctx = object()  # rtsys.initialize fails on it as well: either way Numba's own load runs
    assert d._cache.load_overload("sig", ctx) == "from numba"
    assert calls == [("full", "sig")]
    assert _fastload.last_fallback is not None  # the reason is kept for debugging


def test_install_leaves_unsupported_dispatchers_alone():
    class NoCache:
        pass

    d = NoCache()
    assert _fastload.install(d) is d and not hasattr(d, "_cache")

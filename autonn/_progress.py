"""Progress on long work: a tqdm bar over many steps, and a line when Numba compiles kernels.

>>> from autonn._progress import progress
>>> list(progress(range(3), desc="few steps: no bar"))
[0, 1, 2]
"""
import sys
import time

#: fewer steps than this never show a bar
MIN_STEPS = 200
#: a bar appears only once the work has taken this long (seconds)
DELAY = 1.0


def progress(steps, desc, total=None, unit="step"):
    """``steps``, wrapped in a tqdm bar on stderr when there are many of them and they take long
    (at least ``MIN_STEPS`` steps and ``DELAY`` seconds); the bar is removed when done."""
    total = len(steps) if total is None else total
    if total < MIN_STEPS:
        return steps
    try:
        from tqdm import tqdm
    except ImportError:  # (a dependency, but progress is never worth a failure)
        return steps
    return tqdm(steps, total=total, desc=desc, unit=unit, delay=DELAY, leave=False,
                file=sys.stderr)


class NumbaCompiles:
    """Counts the kernels Numba compiles (cache misses; a kernel loaded from the on-disk cache is
    not compiled) and how long it took, from Numba's ``numba:compile`` events. Numba is imported
    lazily by autonn, so :meth:`install` only arranges to listen once it is imported.

    >>> notice = NumbaCompiles().install()
    >>> notice.line() is None   # nothing compiled yet
    True
    >>> notice.uninstall()
    """

    def __init__(self):
        self.kernels, self.seconds = [], 0.0
        self._depth, self._start, self._listener, self._finder = 0, 0.0, None, None

    def install(self):
        if "numba" in sys.modules:
            self._listen()
        else:
            self._finder = _AfterImport("numba", self._listen)
            sys.meta_path.insert(0, self._finder)
        return self

    def uninstall(self):
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        if self._listener is not None:
            from numba.core import event
            event.unregister("numba:compile", self._listener)
            self._listener = None

    def _listen(self):
        from numba.core import event
        owner = self

        class Listener(event.Listener):
            def on_start(self, ev):
                if owner._depth == 0:
                    owner._start = time.perf_counter()
                owner._depth += 1

            def on_end(self, ev):
                owner._depth -= 1
                if owner._depth == 0:  # an outermost compile (nested ones are its callees)
                    owner.seconds += time.perf_counter() - owner._start
                    dispatcher = (ev.data or {}).get("dispatcher")
                    owner.kernels.append(getattr(dispatcher, "__name__", "?"))

        self._listener = Listener()
        event.register("numba:compile", self._listener)

    def line(self):
        """One line saying what was compiled and how long it took, or None."""
        if not self.kernels:
            return None
        n = len(self.kernels)
        return (f"autonn: Numba compiled {n} kernel{'s' if n > 1 else ''} for this machine in "
                f"{self.seconds:.1f} s (first run only: they are cached on disk)")


class _AfterImport:
    """A meta-path finder that calls ``callback`` right after module ``name`` is imported."""

    def __init__(self, name, callback):
        self.name, self.callback = name, callback

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # find the real spec without us, then wrap its loader
        import importlib.util
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module, callback = spec.loader.exec_module, self.callback

        def exec_then_call(module):
            exec_module(module)
            callback()
        spec.loader.exec_module = exec_then_call
        return spec

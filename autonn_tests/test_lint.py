"""The repository is lint-clean and type-clean: ``ruff check`` and ``mypy`` (configured in pyproject.toml)
report no findings. Both run as subprocesses from the repository root, as a contributor would run them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool(name):
    """The tool next to this interpreter (a venv's bin/), else on PATH; the test extra installs both."""
    beside = Path(sys.executable).with_name(name)
    path = str(beside) if beside.exists() else shutil.which(name)
    assert path, f"{name} is not installed: pip install -e '.[test]' brings ruff and mypy"
    return path


def _run(args):
    env = dict(os.environ)
    env.pop("MYPYPATH", None)
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


def test_ruff_reports_no_findings():
    proc = _run([_tool("ruff"), "check", "--no-cache", "."])
    assert proc.returncode == 0, f"ruff check found problems:\n{proc.stdout}{proc.stderr}"
    assert "All checks passed" in proc.stdout


def test_mypy_reports_no_errors():
    proc = _run([_tool("mypy")])  # files, flags and cache_dir come from pyproject.toml
    assert proc.returncode == 0, f"mypy found problems:\n{proc.stdout}{proc.stderr}"
    assert "Success: no issues found" in proc.stdout


# ----- the public API carries type hints (mypy checks annotated functions' bodies) -----
PUBLIC_MODULES = ["autonn", "autonn.nn", "autonn.optim", "autonn.func", "autonn.testing",
                  "autonn.testing.strategies", "autonn.nn.functional", "autonn.nn.init",
                  "autonn.linalg", "autonn.fft", "autonn.special", "autonn.data", "autonn.datasets",
                  "autonn.viz", "autonn.simple", "autonn.io", "autonn.compile", "autonn.distributed"]


def _modules():
    """PUBLIC_MODULES and every distribution module of ``autonn.stats`` (``stats.norm``...)."""
    from autonn.stats import DISTRIBUTIONS
    return PUBLIC_MODULES + [f"autonn.stats.{name}" for name in DISTRIBUTIONS]


def _public_functions():
    """(qualified name, function) for each public function, and public method of each public class,
    of the modules above (lazily loaded names included)."""
    import importlib
    import inspect

    seen, found = set(), []

    def add(f):
        f = inspect.unwrap(f)
        if inspect.isfunction(f) and id(f) not in seen:
            seen.add(id(f))
            found.append((f"{f.__module__}.{f.__qualname__}", f))

    for name in _modules():
        mod = importlib.import_module(name)
        names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for n in names:
            obj = getattr(mod, n)
            if not getattr(obj, "__module__", "").startswith("autonn"):
                continue
            if inspect.isclass(obj):
                for k, v in vars(obj).items():
                    if k.startswith("_") and k not in ("__init__", "__call__"):
                        continue
                    add(v.fget if isinstance(v, property) else getattr(v, "__func__", v))
            elif callable(obj):
                add(obj)
    return found


def test_public_functions_are_annotated():
    found = _public_functions()
    assert len(found) > 200  # the walk reaches the whole API (ops, layers, optimizers, ...)
    reached = {qual.rsplit(".", 1)[0] for qual, _ in found}
    for module in ("autonn.nn.functional", "autonn.nn.init", "autonn.ops.linalg_ops",
                   "autonn.ops.scipy_linalg", "autonn.ops.fft", "autonn.stats.norm",
                   "autonn.stats.poisson", "autonn.data", "autonn.datasets", "autonn.viz",
                   "autonn.simple_text", "autonn.simple.Network",
                   "autonn.distributed.process_group", "autonn.distributed.ddp.DistributedDataParallel"):
        assert module in reached, f"the walk does not reach {module}"
    missing = []
    for qual, f in found:
        names = [p for p in f.__code__.co_varnames[:f.__code__.co_argcount + f.__code__.co_kwonlyargcount]
                 if p not in ("self", "cls")]
        if "return" not in f.__annotations__ or any(p not in f.__annotations__ for p in names):
            missing.append(qual)
    assert not missing, f"public functions without type hints: {missing}"


def test_the_package_ships_py_typed():
    assert (ROOT / "autonn" / "py.typed").is_file()
    assert "py.typed" in (ROOT / "setup.cfg").read_text()

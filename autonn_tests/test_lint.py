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

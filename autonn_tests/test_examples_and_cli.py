"""Every example runs; the command line's demo and compress work end to end."""
import os
import subprocess
import sys

import numpy as np
import pytest

import autonn as an

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(f for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".py"))


def _run(*cmd, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, *cmd], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_examples_are_the_ones_the_docs_promise():
    assert {"neuron.py", "compress.py", "digits_mlp.py", "moons_mlp.py",
            "custom_activation.py"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name):
    result = _run(os.path.join("examples", name))
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_reaches_95_percent_and_saves_a_loadable_model(tmp_path):
    result = _run("-m", "autonn", "demo", "--no-progress", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(l for l in result.stdout.splitlines() if l.startswith("held-out accuracy"))
    assert float(line.split()[2]) >= 0.95
    model = an.nn.load_network(str(tmp_path / "digits_mlp.safetensors"))
    assert sum(p.size for p in model.parameters()) == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    # the suggested compression really folds layers: the course's three linear layers into one
    lines = result.stdout.splitlines()
    command = next(l.strip() for l in lines if l.strip().startswith("autonn compress "))
    folded = _run("-m", "autonn", *command.split()[1:])
    assert folded.returncode == 0, folded.stdout + folded.stderr
    assert "before: 3 layers" in folded.stdout and "after:  1 layers" in folded.stdout
    small = an.nn.load_network(command.split()[-1])
    assert [type(m).__name__ for m in small] == ["Linear"] and small[0].weight.shape == (64, 10)


def test_compress_command_folds_and_checks(tmp_path):
    an.manual_seed(0)
    net = an.nn.Sequential(an.nn.Linear(6, 5), an.nn.Linear(5, 4), an.nn.ReLU(), an.nn.Linear(4, 3),
                           an.nn.Linear(3, 2))
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    an.nn.save_network(net, str(src))
    result = _run("-m", "autonn", "compress", str(src), str(dst))
    assert result.returncode == 0, result.stdout + result.stderr
    # before: 35 + 24 + 15 + 8 parameters; after: Linear(6, 4), ReLU, Linear(4, 2)
    assert "before: 5 layers, 82 parameters" in result.stdout
    assert "after:  3 layers, 38 parameters" in result.stdout
    small = an.nn.load_network(str(dst))
    x = an.randn(7, 6)
    with an.no_grad():
        np.testing.assert_allclose(small(x).data, net(x).data, rtol=1e-10, atol=1e-12)

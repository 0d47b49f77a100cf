"""The autonn command: --version, help without markup, one line and status 2 for a user's
mistake (a traceback only for a bug), bench rows printed once, progress on long work."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import autonn as an
from autonn import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code_or_args, env=None, timeout=120):
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _main(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_compress_help_names_both_input_formats(capsys):
    status, out, _ = _main(capsys, "compress", "--help")
    assert status == 0 and "an.nn.save_network" in out and "autonn.simple" in out


def test_version(capsys):
    status, out, _ = _main(capsys, "--version")
    assert status == 0 and out.startswith(f"autonn {an.__version__} (python ")
    result = _python(["-m", "autonn", "--version"])
    assert result.returncode == 0 and result.stdout.startswith(f"autonn {an.__version__}")


@pytest.mark.parametrize("command", [[], ["demo"], ["gradcheck"], ["compress"], ["bench"]])
def test_help_has_no_markup_and_every_option_has_help(capsys, command):
    status, out, _ = _main(capsys, *command, "--help")
    assert status == 0 and out.startswith("usage: autonn")
    assert not re.search(r"``|:func:|:class:|:mod:|\.\. ", out), out
    parser = cli._parser()
    if command:
        parser = parser._subparsers._group_actions[0].choices[command[0]]
    for action in parser._actions:
        assert action.help, f"autonn {' '.join(command)}: {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("argv, names", [
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--epochs", "ten"], "--epochs"),
    (["demo", "--batch-size", "-3"], "--batch-size"),
    (["demo", "--lr", "nan"], "--lr"),
    (["demo", "--frobnicate"], "--frobnicate"),
    (["gradcheck", "--examples", "0"], "--examples"),
    (["compress", "only-one.safetensors"], "output"),
    (["nosuchcommand"], "nosuchcommand"),
    ([], "COMMAND"),
])
def test_a_bad_option_is_one_line_and_status_2(capsys, argv, names):
    status, out, err = _main(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and names in err and "error:" in err, err


def _bad_network_files(d):
    net = an.nn.Sequential(an.nn.Linear(4, 3), an.nn.ReLU(), an.nn.Linear(3, 2))
    good = d / "good.safetensors"
    an.nn.save_network(net, str(good))
    data = good.read_bytes()
    (d / "empty.safetensors").write_bytes(b"")
    (d / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (d / "noise.safetensors").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 500,
                                                                                   dtype=np.uint8)))
    (d / "text.safetensors").write_text("in 3 out 2\n")
    flipped = bytearray(data)
    flipped[len(flipped) - 5] ^= 0x40   # a weight's bit: the checksum or a value check catches it
    (d / "flipped.safetensors").write_bytes(bytes(flipped))
    (d / "a_folder").mkdir()
    an.save({"w": an.ones(2)}, str(d / "state.npz"))            # a state dict, not a network
    return ["missing.safetensors", "empty.safetensors", "truncated.safetensors",
            "noise.safetensors", "text.safetensors", "a_folder", "state.npz"]


def test_compress_user_errors_are_one_line_and_status_2(capsys, tmp_path):
    for name in _bad_network_files(tmp_path):
        status, out, err = _main(capsys, "compress", str(tmp_path / name), str(tmp_path / "o.safetensors"))
        assert status == 2, (name, out, err)
        assert err.startswith("autonn compress: error: ") and err.count("\n") == 1, (name, err)
        assert name in err, (name, err)
        assert not (tmp_path / "o.safetensors").exists()
    # a good file into a folder that does not exist: the output is the problem
    status, _, err = _main(capsys, "compress", str(tmp_path / "good.safetensors"),
                           str(tmp_path / "no" / "such" / "dir" / "o.safetensors"))
    assert status == 2 and err.count("\n") == 1 and "No such file or directory" in err


def test_no_traceback_from_the_real_command(tmp_path):
    result = _python(["-m", "autonn", "compress", str(tmp_path / "missing.safetensors"),
                      str(tmp_path / "out.safetensors")])
    assert result.returncode == 2
    assert result.stderr.startswith("autonn compress: error: ") and result.stderr.count("\n") == 1
    assert f"{tmp_path / 'missing.safetensors'}: No such file or directory" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bug_keeps_its_traceback(monkeypatch):
    import autonn.compress_cli
    monkeypatch.setattr(autonn.compress_cli, "run", lambda args: {}["a bug"])
    with pytest.raises(KeyError):
        cli.main(["compress", "a", "b"])


def test_a_value_error_outside_reading_a_file_is_a_bug(monkeypatch):
    import autonn.demo

    def broken(args):
        raise ValueError("matmul: shapes (3, 4) and (5, 6) do not match")
    monkeypatch.setattr(autonn.demo, "run", broken)
    with pytest.raises(ValueError, match="matmul"):
        cli.main(["demo"])


def test_an_unwritable_output_folder_is_a_mistake(capsys, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    status, _, err = _main(capsys, "demo", "--epochs", "1", "--no-progress", "--out",
                           str(tmp_path / "a_file" / "out"))
    # (the evaluation of the held-out set may compile a kernel first: its one line aside)
    lines = [line for line in err.splitlines() if "Numba compiled" not in line]
    assert status == 2 and len(lines) == 1 and "a_file" in lines[0], err


def test_the_traceback_of_a_user_error_on_request(monkeypatch, capsys):
    import autonn.compress_cli

    def missing(args):
        raise FileNotFoundError(2, "No such file or directory", args.input)
    monkeypatch.setattr(autonn.compress_cli, "run", missing)
    status, _, err = _main(capsys, "compress", "nowhere.safetensors", "out.safetensors")
    assert status == 2 and err == "autonn compress: error: nowhere.safetensors: No such file or directory\n"
    monkeypatch.setenv("AUTONN_TRACEBACK", "1")
    with pytest.raises(FileNotFoundError):
        cli.main(["compress", "nowhere.safetensors", "out.safetensors"])


def test_ctrl_c_is_one_line(monkeypatch, capsys):
    import autonn.compress_cli

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(autonn.compress_cli, "run", interrupted)
    status, _, err = _main(capsys, "compress", "a", "b")
    assert status == 130 and err == "autonn compress: interrupted\n"


def test_bench_prints_each_row_once(monkeypatch, capsys):
    from autonn import bench

    def row(label):
        return {"workload": label, "unit": "ms", "numpy": 1.0, "autonn": 2.0, "autonn/numpy": 2.0}
    monkeypatch.setattr(bench, "bench_mlp", lambda sizes, batch, *a: row(f"mlp {sizes}"))
    monkeypatch.setattr(bench, "bench_chain", lambda n, *a: row("chain"))
    monkeypatch.setattr(bench, "bench_activation", lambda name, n, *a: row(f"{name} {n}"))
    monkeypatch.setattr(bench, "bench_startup", lambda *a: [row("import"), row("first step")])
    # (with PyTorch installed the rows are measured in a fresh process that imports it first;
    # here in this one, where the stand-ins above apply)
    monkeypatch.setattr(bench, "_in_process", lambda code, opts: bench._in_this_process(
        bench._measure, opts))
    status, out, _ = _main(capsys, "bench", "--quick")
    assert status == 0
    labels = ["mlp (64, 128, 10)", "mlp (784, 512, 256, 10)", "chain", "relu 1000000",
              "sigmoid 1000000", "tanh 1000000", "gelu 1000000", "import", "first step"]
    lines = out.splitlines()
    for label in labels:
        assert sum(line.startswith(label + " ") for line in lines) == 1, (label, out)
    assert sum(line.startswith("workload") for line in lines) == 1
    assert out.rstrip().endswith(bench.RATIO_NOTE)   # says what the ratio columns are, once


def test_full_gradcheck_over_many_elements_shows_a_bar(monkeypatch, capsys):
    from autonn import _progress
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    x = an.tensor(np.linspace(0.1, 1.0, 300), requires_grad=True)
    assert an.gradcheck(lambda t: (an.sin(t) * t).sum(), (x,))
    err = capsys.readouterr().err
    assert "gradcheck: finite differences of input 0" in err and "/300 [" in err
    small = an.tensor(np.linspace(0.1, 1.0, 20), requires_grad=True)
    assert an.gradcheck(lambda t: (an.sin(t) * t).sum(), (small,))
    assert capsys.readouterr().err == ""                # few elements: no bar


_COMPILE = """
import sys, numpy as np
import autonn.gradcheck_cli
from autonn import cli
def run(args):
    import autonn.kernels as k
    k.relu_forward(np.ones(1 << 15, np.float32))   # large enough for a Numba kernel
autonn.gradcheck_cli.run = run
sys.exit(cli.main(["gradcheck"]))
"""


def test_one_line_when_numba_compiles_for_the_first_time(tmp_path):
    pytest.importorskip("numba")
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "AUTONN_KERNELS": "numba"}
    first = _python(_COMPILE, env)
    assert first.returncode == 0, first.stderr
    lines = [l for l in first.stderr.splitlines() if "Numba compiled" in l]
    assert len(lines) == 1, first.stderr
    assert re.fullmatch(r"autonn: Numba compiled \d+ kernels? for this machine in \d+\.\d s "
                        r"\(first run only: they are cached on disk\)", lines[0])
    again = _python(_COMPILE, env)                    # the cache is warm: nothing compiles
    assert again.returncode == 0 and "Numba compiled" not in again.stderr, again.stderr


def test_the_docs_list_every_command_and_option():
    text = pathlib.Path(os.path.join(ROOT, "docs", "cli.md")).read_text(encoding="utf-8")
    parser = cli._parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        assert f"`autonn {name}" in text, name
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in text, f"autonn {name} {option} is not in docs/cli.md"

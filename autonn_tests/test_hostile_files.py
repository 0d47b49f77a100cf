"""Hostile files (issue 13, part 2): every loader gives a clear error naming the file, without
hanging and in bounded memory; checksummed text files catch every flipped bit; killed saves
leave nothing behind after the next save. The cases live in ``hostile_files.py`` (run it to
print each case's time and peak memory)."""
import io
import os
import re
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import autonn as an
import autonn.io
from autonn import creation, simple

from .hostile_files import (
    CASES,
    LOADERS,
    _autonn_header,
    _npy_header,
    _stored,
    _zip,
    measure,
)

PEAK_LIMIT = 16 * 2 ** 20  # every hostile file here is at most ~1 MB

# what each loader must say about the cases it is meant to read (others just fail cleanly)
EXPECTED = {
    "Linear(100000, 100000) in a network file": ("size mismatch", {
        "load_network", "simple load", "autonn compress"}),
    "Embedding(10**9, 100) in a network file": ("size mismatch", {
        "load_network", "simple load", "autonn compress"}),
    "Conv2d(4096, 4096, 64) in a network file": ("size mismatch", {
        "load_network", "simple load", "autonn compress"}),
    "20,000-deep Sequential": ("nests too deeply", {
        "load_network", "simple load", "autonn compress"}),
    "text format 'in 30000 out 30000'": ("30000 number", {
        "simple load", "read_text", "autonn compress"}),
    "symlink to /dev/zero": ("not a regular file .it is a character device", set(LOADERS)),
    "FIFO": ("not a regular file .it is a FIFO", set(LOADERS)),
    "npz bomb: 1 GiB of zeros in 1 MB": ("over the limit of 268435456 bytes", {"an.load"}),
    "network npz bomb: 1 GiB in 1 MB, sealed": ("over the limit of 268435456 bytes", {
        "an.load", "load_network", "simple load", "autonn compress"}),
    "npz entry whose .npy header declares 10**12 floats": (
        r"header declares shape \(1000000, 1000000\)", {"an.load"}),
    "safetensors header declaring 10**18 floats": ("corrupted", {
        "an.load", "load_network", "load_torch_state_dict", "autonn compress"}),
    "safetensors length field of 2**62": ("truncated", {
        "an.load", "load_network", "load_torch_state_dict", "autonn compress"}),
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("case,build", CASES, ids=[c for c, _ in CASES])
def test_hostile_file_fails_fast_clearly_and_in_bounded_memory(tmp_path, case, build, loader):
    if (case == "FIFO" and not hasattr(os, "mkfifo")) or \
            (case == "symlink to /dev/zero" and not os.path.exists("/dev/zero")):
        pytest.skip("no FIFOs or /dev/zero on this system")
    path = build(str(tmp_path))
    error, _, peak, finished = measure(LOADERS[loader], path, timeout=120)
    assert finished, f"{loader} hung on {case}"
    assert peak < PEAK_LIMIT, f"{loader} on {case}: traced peak {peak / 2 ** 20:.1f} MiB"
    pattern, meant_for = EXPECTED[case]
    if loader in meant_for:
        assert isinstance(error, (ValueError, RuntimeError)), repr(error)
        assert re.search(pattern, str(error)), str(error)
    elif error is not None:  # a loader for another format: any clear error, never a crash
        assert isinstance(error, (ValueError, RuntimeError)), repr(error)
    if error is not None:
        assert os.path.basename(path) in str(error), str(error)
        if loader == "autonn compress":
            assert "[status 2, 1 line(s)]" in str(error)


def test_loading_a_network_draws_no_random_numbers_and_allocates_each_weight_once(
        tmp_path, monkeypatch):
    net = an.nn.Sequential(an.nn.Linear(1000, 1000), an.nn.ReLU(), an.nn.BatchNorm1d(1000),
                           an.nn.Embedding(10, 4), an.nn.Conv2d(2, 3, 3), an.nn.LayerNorm(5))
    path = str(tmp_path / "big.safetensors")
    an.nn.save_network(net, path)

    def no_draws():
        raise AssertionError("load_network drew random numbers for a layer it overwrites")
    monkeypatch.setattr(creation, "generator", no_draws)
    tracemalloc.start()
    back = an.nn.load_network(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    weights = 1000 * 1000 * 8
    # the file's bytes and the arrays made from them; a random initialisation would add 2 more
    assert peak < 2.5 * weights, peak
    for (k, a), (k2, b) in zip(net.state_dict().items(), back.state_dict().items()):
        assert k == k2 and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a.data, b.data)
        assert b.data.flags.writeable and b.data.strides != (0,) * b.ndim or b.size <= 1


def _compressed_autonn_file(path, arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    raw = buf.getvalue()
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(raw) + c.flush()
    with open(path, "wb") as f:
        f.write(_zip([_stored("__autonn__.npy", _autonn_header({"$": "array", "i": 0})),
                      ("a0.npy", data, zlib.crc32(raw), len(raw), 8)]))


def test_the_inflation_limit_is_configurable(tmp_path, monkeypatch):
    path = str(tmp_path / "compressed.npz")
    arr = np.zeros(10 ** 5)
    _compressed_autonn_file(path, arr)
    np.testing.assert_array_equal(an.load(path), arr)  # a compressed file under the limit loads
    with pytest.raises(ValueError, match=r"compressed\.npz.*800128 bytes.*limit of 100000"):
        an.load(path, max_inflated_bytes=100000)
    monkeypatch.setattr(autonn.io, "MAX_INFLATED_BYTES", 100000)
    with pytest.raises(ValueError, match="over the limit of 100000 bytes"):
        an.load(path)
    np.testing.assert_array_equal(an.load(path, max_inflated_bytes=10 ** 6), arr)
    assert autonn.io.MAX_INFLATED_BYTES != 256 * 2 ** 20  # patched here; the default is 256 MiB


def test_default_inflation_limit_is_256_mib():
    import importlib
    fresh = importlib.reload(autonn.io)
    assert fresh.MAX_INFLATED_BYTES == 256 * 2 ** 20


def test_npy_header_must_fit_its_entry(tmp_path):
    header = _npy_header((3,))
    data = header + bytes(16)  # 16 bytes where 24 are declared
    path = str(tmp_path / "short.npz")
    with open(path, "wb") as f:
        f.write(_zip([_stored("__autonn__.npy", _autonn_header({"$": "array", "i": 0})),
                      ("a0.npy", data, zlib.crc32(data), len(data), 0)]))
    with pytest.raises(ValueError, match=r"short\.npz.*shape \(3,\).*24 bytes.*holds 16"):
        an.load(path)


# ----------------------------------------------------------------------------- text checksum
def _small_text_net(tmp_path):
    path = str(tmp_path / "net.txt")
    simple.write_text(path, [(np.array([[0.5, -1.25], [3e-05, 2.0]]), np.array([0.1, 0.0]),
                              "relu"), (np.array([[1.5], [-2.0]]), np.array([4.0]), None)])
    return path


def test_text_files_carry_a_checksum_by_default_and_load_without_one(tmp_path):
    path = _small_text_net(tmp_path)
    lines = Path(path).read_text().splitlines()
    assert lines[0] == simple.MAGIC and lines[1].startswith("sha256 ") and len(lines[1]) == 71
    layers = simple.read_text(path)
    no_sum = str(tmp_path / "plain.txt")
    Path(no_sum).write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    for (W, b), (W2, b2) in zip(layers, simple.read_text(no_sum)):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
    simple.write_text(no_sum, [(W, b) for W, b in layers], checksum=False)
    assert not Path(no_sum).read_text().splitlines()[1].startswith("sha256")


def test_every_single_bit_flip_of_a_checksummed_text_file_is_detected(tmp_path):
    path = _small_text_net(tmp_path)
    raw = Path(path).read_bytes()
    flipped = str(tmp_path / "flipped.txt")
    undetected = []
    for i in range(len(raw)):
        for bit in range(8):
            damaged = bytearray(raw)
            damaged[i] ^= 1 << bit
            with open(flipped, "wb") as f:
                f.write(damaged)
            try:
                simple.read_text(flipped)
            except ValueError as e:
                assert "flipped.txt" in str(e)
                continue
            undetected.append((i, bit))
    assert len(raw) * 8 > 1500
    assert undetected == []


def test_a_wrong_checksum_names_the_file_and_line(tmp_path):
    path = _small_text_net(tmp_path)
    Path(path).write_text(Path(path).read_text().replace("0.1", "0.2"))
    with pytest.raises(ValueError, match=r"net\.txt: the file is corrupted.*line 2"):
        simple.read_text(path)


def test_a_checksum_line_elsewhere_is_an_error(tmp_path):
    path = _small_text_net(tmp_path)
    lines = Path(path).read_text().splitlines()
    Path(path).write_text("\n".join([lines[0], *lines[2:], lines[1]]) + "\n")
    with pytest.raises(ValueError, match="only be the second line"):
        simple.read_text(path)


# ----------------------------------------------------------------------------- killed saves
_WRITER = """
import sys, time
from autonn._atomic import atomic_write
def write(f):
    f.write(b"x" * 1000)
    f.flush()
    print("writing", flush=True)
    time.sleep(120)
atomic_write(sys.argv[1], write)
"""


def _start_writer(path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, path], stdout=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _temporaries(folder, name):
    return sorted(f for f in os.listdir(folder) if f.startswith(f".{name}.") and
                  f.endswith(".tmp"))


def test_a_save_killed_mid_write_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = str(tmp_path / "model.npz")
    killed = []
    for _ in range(3):
        proc = _start_writer(path)
        left = _temporaries(tmp_path, "model.npz")
        assert len(left) == 1  # this save's own: the one killed before it was removed
        assert left[0] not in killed
        proc.kill()  # SIGKILL: kill -9
        proc.wait(timeout=60)
        assert _temporaries(tmp_path, "model.npz") == left  # kill -9 left it behind
        killed += left
    other = tmp_path / ".model.npz.not-a-uuid.tmp"
    other.write_bytes(b"keep")
    (tmp_path / ".other.npz.0123456789abcdef0123456789abcdef.tmp").write_bytes(b"keep")
    an.save({"w": an.ones(2)}, path)
    assert _temporaries(tmp_path, "model.npz") == [other.name]  # only exact leftovers go
    assert (tmp_path / ".other.npz.0123456789abcdef0123456789abcdef.tmp").exists()
    np.testing.assert_array_equal(an.load(path)["w"].data, np.ones(2))


def test_a_save_running_in_another_process_keeps_its_temporary(tmp_path):
    path = str(tmp_path / "model.npz")
    proc = _start_writer(path)
    try:
        live = _temporaries(tmp_path, "model.npz")
        assert len(live) == 1
        an.save([1, 2], path)  # a concurrent save to the same path
        assert _temporaries(tmp_path, "model.npz") == live
        assert an.load(path) == [1, 2]
    finally:
        proc.kill()
        proc.wait(timeout=60)
    an.save([3], path)
    assert _temporaries(tmp_path, "model.npz") == []


def test_text_and_network_saves_clean_up_too(tmp_path):
    for name, save in (("net.txt", lambda p: simple.write_text(p, [(np.eye(2), np.zeros(2))])),
                       ("net.safetensors",
                        lambda p: an.nn.save_network(an.nn.Linear(2, 2), p))):
        path = str(tmp_path / name)
        leftover = tmp_path / f".{name}.{'ab' * 16}.tmp"
        leftover.write_bytes(b"half")
        save(path)
        assert not leftover.exists()

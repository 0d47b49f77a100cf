"""Hostile files (issue 13, part 2) for every loader, and a measurement of each load.

``CASES`` lists ``(case, build)``: ``build(folder)`` writes the hostile file and returns its path.
``LOADERS`` maps a loader's name to a call. ``measure`` runs one load under ``tracemalloc`` and
returns the exception it raised, the seconds and the peak of traced memory. The tests in
``test_hostile_files.py`` use them; run this module to print the table of every case:

    PYTHONPATH=. python -m autonn_tests.hostile_files
"""
import argparse
import contextlib
import functools
import io
import json
import os
import struct
import threading
import time
import tracemalloc
import zlib

import numpy as np

import autonn as an
from autonn import compress_cli, simple
from autonn.nn import serialization

GiB = 2 ** 30


# ----------------------------------------------------------------------------- forged files
def forge_network(path, arch_json, arrays):
    """A network file as ``save_network`` writes it (valid checksum) with any architecture."""
    from safetensors.numpy import save
    if not isinstance(arch_json, str):
        arch_json = json.dumps(arch_json, sort_keys=True)
    meta = {"format": serialization._FORMAT, "architecture": arch_json,
            "checksum": serialization._checksum(arch_json, arrays)}
    with open(path, "wb") as f:
        f.write(save(arrays, metadata=meta))
    return path


def _layer(type_, **config):
    return {"type": type_, "training": True, "config": config}


def _sequential(*layers):
    return {"type": "Sequential", "training": True,
            "children": [[str(i), layer] for i, layer in enumerate(layers)]}


def huge_linear(folder):
    """A few hundred bytes declaring Linear(100000, 100000): 75 GiB of float64."""
    arch = _sequential(_layer("Linear", in_features=100000, out_features=100000, bias=True,
                              dtype="float64"))
    return forge_network(os.path.join(folder, "linear.safetensors"), arch,
                         {"0.weight": np.zeros((2, 2)), "0.bias": np.zeros(2)})


def huge_embedding(folder):
    """Embedding(10**9, 100): 745 GiB."""
    arch = _sequential(_layer("Embedding", num_embeddings=10 ** 9, embedding_dim=100,
                              dtype="float64"), _layer("Linear", in_features=100,
                                                       out_features=1, bias=True,
                                                       dtype="float64"))
    return forge_network(os.path.join(folder, "embedding.safetensors"), arch,
                         {"0.weight": np.zeros((2, 2)), "1.weight": np.zeros((100, 1)),
                          "1.bias": np.zeros(1)})


def huge_conv(folder):
    """Conv2d(4096, 4096, 64): 512 GiB."""
    arch = _sequential(_layer("Conv2d", in_channels=4096, out_channels=4096,
                              kernel_size=[64, 64], stride=[1, 1], padding=[0, 0],
                              dilation=[1, 1], bias=True, dtype="float64"))
    return forge_network(os.path.join(folder, "conv.safetensors"), arch,
                         {"0.weight": np.zeros((1, 1, 1, 1)), "0.bias": np.zeros(1)})


def deep_sequential(folder, depth=20000):
    """A Sequential nested 20,000 deep."""
    head = '{"children":[["0",'
    arch = (head * depth + '{"config":{},"training":true,"type":"ReLU"}'
            + ']],"training":true,"type":"Sequential"}' * depth)
    return forge_network(os.path.join(folder, "deep.safetensors"), arch, {})


def text_30000(folder):
    """The text format declaring 'in 30000 out 30000' (7.2 GB) in a few bytes."""
    path = os.path.join(folder, "net30000.txt")
    with open(path, "w") as f:
        f.write(f"{simple.MAGIC}\nlayer 0 in 30000 out 30000\nW\n1 2\nb\n0 0\n")
    return path


def dev_zero(folder):
    """A symlink to /dev/zero, read until memory runs out by a naive loader."""
    path = os.path.join(folder, "zero.npz")
    os.symlink("/dev/zero", path)
    return path


def fifo(folder):
    """A FIFO nobody writes to: a naive open() blocks forever."""
    path = os.path.join(folder, "fifo.npz")
    os.mkfifo(path)
    return path


@functools.lru_cache(maxsize=4)
def _deflated_zeros(header, n_zero_bytes, block=2 ** 24):
    """A raw deflate stream of ``header`` then ``n_zero_bytes`` zeros, built from one compressed
    block of zeros repeated (each block is self-contained after a full flush), and its CRC."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(block)
    part = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert n_zero_bytes % block == 0
    count = n_zero_bytes // block
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = zlib.crc32(header)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    return start + part * count + end, crc


def _zip(entries):
    """A zip archive from ``(name, raw_deflate_or_stored_bytes, crc, size, method)`` entries."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size, method in entries:
        name_b = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data),
                           size, len(name_b), 0) + name_b + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc,
                               len(data), size, len(name_b), 0, 0, 0, 0, 0, offset) + name_b
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                      len(out), 0)
    return bytes(out + central + end)


def _npy_header(shape, descr="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def _autonn_header(root):
    blob = json.dumps({"format": "autonn", "version": 1, "root": root}).encode()
    return np.frombuffer(blob, dtype=np.uint8)


def _stored(name, arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    data = buf.getvalue()
    return name, data, zlib.crc32(data), len(data), 0


def bomb(folder):
    """A 1 MB an.save file whose one compressed entry inflates to 1 GiB of zeros."""
    header = _npy_header((GiB // 8,))
    data, crc = _deflated_zeros(header, GiB)
    path = os.path.join(folder, "bomb.npz")
    with open(path, "wb") as f:
        f.write(_zip([_stored("__autonn__.npy", _autonn_header({"$": "tensor", "i": 0})),
                      ("a0.npy", data, crc, len(header) + GiB, 8)]))
    return path


def network_bomb(folder):
    """A sealed network .npz (valid SHA-256) whose weight entry inflates to 1 GiB."""
    header = _npy_header((GiB // 8 // 4, 4))
    data, crc = _deflated_zeros(header, GiB)
    meta = {"format": serialization._FORMAT, "architecture": "{}", "checksum": "0"}
    raw = _zip([_stored(serialization._NPZ_META + ".npy",
                        np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)),
                ("0.weight.npy", data, crc, len(header) + GiB, 8)])
    path = os.path.join(folder, "bomb_net.npz")
    with open(path, "wb") as f:
        f.write(serialization._seal_zip(raw))
    return path


def lying_npy_header(folder):
    """A stored entry of 16 bytes of data whose .npy header declares a (10**6, 10**6) array."""
    header = _npy_header((10 ** 6, 10 ** 6))
    data = header + bytes(16)
    path = os.path.join(folder, "lying.npz")
    with open(path, "wb") as f:
        f.write(_zip([_stored("__autonn__.npy", _autonn_header({"$": "tensor", "i": 0})),
                      ("a0.npy", data, zlib.crc32(data), len(data), 0)]))
    return path


def lying_safetensors(folder):
    """A safetensors header declaring a (10**9, 10**9) tensor held in 8 bytes."""
    header = json.dumps({"w": {"dtype": "F64", "shape": [10 ** 9, 10 ** 9],
                               "data_offsets": [0, 8]}}).encode()
    path = os.path.join(folder, "lying.safetensors")
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + bytes(8))
    return path


def huge_safetensors_header(folder):
    """A safetensors file whose 8-byte length field declares a 2**62-byte header."""
    path = os.path.join(folder, "long_header.safetensors")
    with open(path, "wb") as f:
        f.write((2 ** 62).to_bytes(8, "little") + b'{"w": 1}')
    return path


CASES = [
    ("Linear(100000, 100000) in a network file", huge_linear),
    ("Embedding(10**9, 100) in a network file", huge_embedding),
    ("Conv2d(4096, 4096, 64) in a network file", huge_conv),
    ("20,000-deep Sequential", deep_sequential),
    ("text format 'in 30000 out 30000'", text_30000),
    ("symlink to /dev/zero", dev_zero),
    ("FIFO", fifo),
    ("npz bomb: 1 GiB of zeros in 1 MB", bomb),
    ("network npz bomb: 1 GiB in 1 MB, sealed", network_bomb),
    ("npz entry whose .npy header declares 10**12 floats", lying_npy_header),
    ("safetensors header declaring 10**18 floats", lying_safetensors),
    ("safetensors length field of 2**62", huge_safetensors_header),
]


# ----------------------------------------------------------------------------- loaders
def _simple_load(path):
    i, i_ = simple.ACTIVATIONS["identity"]
    return simple.NNBuilder().load([i], [i_], path, [simple.FullyConnectedLayer], 2)


def _compress(path):
    """``autonn compress`` in-process: its one-line error becomes a ValueError here."""
    err = io.StringIO()
    out = os.path.join(os.path.dirname(path), "compressed.out")
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = compress_cli.run(argparse.Namespace(input=path, output=out))
    if status != 2:
        raise AssertionError(f"autonn compress returned {status} for {path}")
    lines = err.getvalue().strip().splitlines()
    raise ValueError(f"[status 2, {len(lines)} line(s)] " + " / ".join(lines))


LOADERS = {
    "an.load": an.load,
    "load_network": an.nn.load_network,
    "simple load": _simple_load,
    "read_text": simple.read_text,
    "autonn compress": _compress,
    "load_torch_state_dict": lambda path: an.nn.load_torch_state_dict(an.nn.Linear(2, 2), path),
}


def measure(load, path, timeout=60.0):
    """Run ``load(path)`` in a thread (so a hang is seen, not suffered) under tracemalloc:
    ``(exception or None, seconds, peak_bytes, finished)``."""
    result = {}

    def target():
        tracemalloc.start()
        tracemalloc.reset_peak()
        start = time.perf_counter()
        try:
            load(path)
            result["error"] = None
        except BaseException as e:  # noqa: BLE001 - the result under test
            result["error"] = e
        result["seconds"] = time.perf_counter() - start
        result["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # unblock a reader stuck on a FIFO, then report the hang
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        return None, timeout, 0, False
    return result["error"], result["seconds"], result["peak"], True


def main():
    import tempfile
    print(f"{'case':54} {'loader':22} {'seconds':>8} {'peak':>10}  error")
    for case, build in CASES:
        for loader_name, load in LOADERS.items():
            with tempfile.TemporaryDirectory() as folder:
                path = build(folder)
                error, seconds, peak, finished = measure(load, path)
            what = "HANG" if not finished else (
                "no error" if error is None else f"{type(error).__name__}: {error}")
            print(f"{case:54} {loader_name:22} {seconds:8.4f} {peak / 2 ** 20:7.2f} MiB  "
                  f"{what[:150]}")


if __name__ == "__main__":
    main()

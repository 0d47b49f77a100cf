"""save_network / load_network: round trips, formats, damaged files, atomic writes, no code."""
import json
import os

import numpy as np
import pytest

import autonn as an
from autonn import nn
from autonn.nn import serialization as ser

RNG = np.random.default_rng(31)
DTYPES = [np.float32, np.float64, np.longdouble]


def _mlp(dtype):
    net = nn.Sequential(
        nn.Linear(4, 6, dtype=dtype), nn.BatchNorm1d(6, momentum=None, dtype=dtype), nn.ReLU(),
        nn.Sequential(nn.Linear(6, 5, bias=False, dtype=dtype), nn.LayerNorm(5, eps=1e-3,
                                                                            dtype=dtype)),
        nn.LeakyReLU(0.2), nn.Dropout(0.25), nn.Linear(5, 5, dtype=dtype), nn.ELU(0.5),
        nn.Identity(), nn.GELU(approximate="tanh"), nn.Linear(5, 5, dtype=dtype), nn.Sigmoid(),
        nn.Linear(5, 5, dtype=dtype), nn.Tanh(), nn.Softplus(beta=2.0),
        nn.Linear(5, 3, dtype=dtype),
        nn.LogSoftmax(dim=1), nn.Softmax(dim=-1))
    for _ in range(2):
        net(an.tensor(RNG.standard_normal((8, 4)), dtype=dtype))  # move BN's running stats
    return net


def _conv(dtype):
    return nn.Sequential(nn.Conv2d(2, 3, 3, stride=1, padding=1, dtype=dtype), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(3, 2, (2, 1), padding="same", dilation=1,
                                                    bias=False, dtype=dtype),
                         nn.Flatten(), nn.Linear(2 * 2 * 2, 3, dtype=dtype))


def _emb(dtype):
    return nn.Sequential(nn.Embedding(7, 3, dtype=dtype), nn.Flatten(),
                         nn.Linear(6, 2, dtype=dtype))


def _assert_same(a, b, x):
    assert repr(a) == repr(b)
    assert [m.training for m in a.modules()] == [m.training for m in b.modules()]
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        np.testing.assert_array_equal(sa[k].data, sb[k].data)
    np.testing.assert_array_equal(a(x).data, b(x).data)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_round_trip_every_layer(tmp_path, dtype):
    path = tmp_path / "net.bin"
    net = _mlp(dtype).eval()
    nn.save_network(net, path)
    back = nn.load_network(path)
    _assert_same(net, back, an.tensor(RNG.standard_normal((3, 4)), dtype=dtype))
    assert back[0].weight.dtype == dtype and back[1].momentum is None
    assert int(back[1].num_batches_tracked.data) == 2
    head = path.read_bytes()[:4]
    if np.dtype(dtype).itemsize > 8:
        assert head == b"PK\x03\x04"        # .npz
        with np.load(path, allow_pickle=False) as f:
            assert "0.weight" in f.files
    else:
        from safetensors.numpy import load_file
        assert load_file(str(path))["0.weight"].dtype == dtype
    conv = _conv(dtype)
    nn.save_network(conv, tmp_path / "conv")
    _assert_same(conv, nn.load_network(str(tmp_path / "conv")),
                 an.tensor(RNG.standard_normal((2, 2, 4, 4)), dtype=dtype))
    emb = _emb(dtype)
    nn.save_network(emb, tmp_path / "emb")
    _assert_same(emb, nn.load_network(tmp_path / "emb"), an.tensor([[1, 6], [0, 0]]))


def test_round_trip_keeps_training_mode_and_losses_and_lists(tmp_path):
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1), nn.ModuleList([nn.ReLU()]))
    net[1].eval()
    nn.save_network(net, tmp_path / "m")
    back = nn.load_network(tmp_path / "m")
    assert back.training and not back[1].training and isinstance(back[2], nn.ModuleList)
    for loss in (nn.MSELoss("sum"), nn.CrossEntropyLoss(label_smoothing=0.1), nn.BCELoss(),
                 nn.NLLLoss(), nn.L1Loss(), nn.BCEWithLogitsLoss("none")):
        nn.save_network(loss, tmp_path / "l")
        assert repr(nn.load_network(tmp_path / "l")) == repr(loss)


def test_lambda_and_custom_modules_cannot_be_saved(tmp_path):
    class Mine(nn.Module):
        def forward(self, x):
            return x

    net = nn.Sequential(nn.Linear(2, 2), nn.Lambda(np.tanh, lambda x: 1 - np.tanh(x) ** 2))
    with pytest.raises(TypeError, match=r"Lambda at '1'.*code"):
        nn.save_network(net, tmp_path / "x")
    with pytest.raises(TypeError, match="Mine"):
        nn.save_network(nn.Sequential(nn.Sequential(Mine())), tmp_path / "x")

    class MyLinear(nn.Linear):
        pass

    with pytest.raises(TypeError, match="MyLinear"):
        nn.save_network(MyLinear(2, 2), tmp_path / "x")
    assert not os.path.exists(tmp_path / "x")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("dtype", [np.float64, np.longdouble], ids=["safetensors", "npz"])
def test_truncated_files_name_the_file(tmp_path, dtype):
    path = tmp_path / "net.bin"
    nn.save_network(_mlp(dtype), path)
    data = path.read_bytes()
    bad = tmp_path / "cut.bin"
    for cut in (0, 3, 8, 20, len(data) // 2, len(data) - 1):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="cut.bin"):
            nn.load_network(bad)


@pytest.mark.parametrize("dtype", [np.float64, np.longdouble], ids=["safetensors", "npz"])
def test_corrupted_files_name_the_file(tmp_path, dtype):
    path = tmp_path / "net.bin"
    nn.save_network(_mlp(dtype), path)
    data = path.read_bytes()
    bad = tmp_path / "bad.bin"
    for pos in (9, 40, len(data) // 2, len(data) - 30, len(data) - 3):
        flipped = bytearray(data)
        flipped[pos] ^= 0x55
        bad.write_bytes(bytes(flipped))
        with pytest.raises((ValueError, RuntimeError), match="bad.bin"):
            nn.load_network(bad)


def test_foreign_files_name_the_file(tmp_path):
    p = tmp_path / "junk.txt"
    p.write_text("hello, this is not a network")
    with pytest.raises(ValueError, match="junk.txt"):
        nn.load_network(p)
    from safetensors.numpy import save_file
    save_file({"w": np.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ValueError, match="plain.safetensors.*not an autonn network"):
        nn.load_network(tmp_path / "plain.safetensors")
    np.savez(tmp_path / "plain.npz", w=np.zeros(2))
    with pytest.raises(ValueError, match="plain.npz"):
        nn.load_network(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError):
        nn.load_network(tmp_path / "missing")


def _write_raw(path, arch, arrays):
    """A well-formed file with an arbitrary architecture (valid checksum)."""
    from safetensors.numpy import save
    arch_json = json.dumps(arch)
    meta = {"format": ser._FORMAT, "architecture": arch_json,
            "checksum": ser._checksum(arch_json, arrays)}
    path.write_bytes(save(arrays, metadata=meta))


def test_mismatched_weights_and_unknown_types(tmp_path):
    p = tmp_path / "mismatch.st"
    arch = {"type": "Linear", "training": True,
            "config": {"in_features": 2, "out_features": 3, "bias": True, "dtype": "float64"}}
    _write_raw(p, arch, {"weight": np.zeros((3, 2)), "bias": np.zeros(3)})
    with pytest.raises(RuntimeError, match=r"(?s)mismatch.st.*size mismatch for weight"):
        nn.load_network(p)
    _write_raw(p, arch, {"weight": np.zeros((2, 3))})
    with pytest.raises(RuntimeError, match=r"(?s)mismatch.st.*bias"):
        nn.load_network(p)
    # loading never executes code: only known layer classes are built from JSON values
    evil = {"type": "os.system", "config": {"command": "echo pwned"}}
    _write_raw(p, evil, {})
    with pytest.raises(ValueError, match="unknown layer type"):
        nn.load_network(p)
    _write_raw(p, {"type": "Linear", "config": {"in_features": 2, "out_features": 2,
                                                "__class__": "x"}}, {})
    with pytest.raises(ValueError, match="mismatch.st"):
        nn.load_network(p)
    _write_raw(p, {"type": "Linear", "config": {"in_features": 2, "out_features": 2,
                                                "dtype": "object"}}, {})
    with pytest.raises(ValueError, match="dtype"):
        nn.load_network(p)


def test_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.bin"
    net = _mlp(np.float64)
    nn.save_network(net, path)
    good = path.read_bytes()

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(ser.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        nn.save_network(_mlp(np.float64), path)
    assert path.read_bytes() == good              # the old file is intact
    assert os.listdir(tmp_path) == ["net.bin"]    # and no temporary file is left behind


def test_loading_does_not_consume_the_random_stream(tmp_path):
    nn.save_network(_conv(np.float64), tmp_path / "c")
    an.manual_seed(8)
    a = an.rand(4).data
    an.manual_seed(8)
    nn.load_network(tmp_path / "c")
    np.testing.assert_array_equal(an.rand(4).data, a)


@pytest.mark.parametrize("dtype", [np.float32, np.longdouble], ids=["safetensors", "npz"])
def test_single_byte_corruption_anywhere_is_detected(tmp_path, dtype):
    path = tmp_path / "tiny"
    nn.save_network(nn.Sequential(nn.Linear(2, 2, dtype=dtype), nn.BatchNorm1d(2, dtype=dtype)),
                    path)
    data = path.read_bytes()
    bad = tmp_path / "flipped"
    # every 5th byte (all of them pass too, but take seconds), plus the whole end record
    for pos in sorted(set(range(0, len(data), 5)) | set(range(len(data) - 90, len(data)))):
        flipped = bytearray(data)
        flipped[pos] ^= 0x01
        bad.write_bytes(bytes(flipped))
        with pytest.raises((ValueError, RuntimeError), match="flipped"):
            nn.load_network(bad)

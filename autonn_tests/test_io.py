"""an.save / an.load: round trips, dtypes, hostile and broken files, atomic writes."""
import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autonn as an


def same(a, b):
    """Deep equality with types, dtypes and requires_grad."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, an.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.data, b.data)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def roundtrip(obj, path):
    an.save(obj, path)
    return an.load(path)


DTYPES = [np.float16, np.float32, np.float64, np.longdouble, np.int8, np.int32, np.int64,
          np.uint8, np.uint64, np.bool_, np.complex128]


@pytest.mark.parametrize("dtype", DTYPES)
def test_array_dtypes(dtype, tmp_path):
    arr = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    same(roundtrip(arr, tmp_path / "a.npz"), arr)
    if np.dtype(dtype).kind in "biuf":
        t = an.tensor(arr)
        same(roundtrip(t, tmp_path / "t.npz"), t)


def test_longdouble_keeps_its_extra_precision(tmp_path):
    x = np.longdouble(1) / np.longdouble(3)
    t = an.tensor(np.array([x, x * 7]), requires_grad=True)
    back = roundtrip(t, tmp_path / "ld.npz")
    assert back.dtype == np.longdouble and back.requires_grad
    assert back.data[0] == x and back.data[1] == x * 7


def test_requires_grad_is_restored(tmp_path):
    obj = {"a": an.ones(2, requires_grad=True), "b": an.ones(2)}
    back = roundtrip(obj, tmp_path / "g.npz")
    assert back["a"].requires_grad and not back["b"].requires_grad and back["a"].is_leaf


def test_nested_structure(tmp_path):
    obj = {
        "state": {0: {"step": np.array(3.0, np.float32), "exp_avg": np.ones((2, 2))},
                  1: {"momentum_buffer": np.zeros(3, np.float32)}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "amsgrad": False, "name": None,
                          "params": [0, 1], "tag": "ünïcode ✓"}],
        "odict": collections.OrderedDict([("w", an.randn(2, 3)), ("b", an.zeros(3))]),
        "scalars": [np.float32(1.5), np.int64(-3), 2 ** 70, -0.0, float("inf"), float("nan"),
                    1e-310, 3 + 4j, True],
        (1, "k"): "tuple key", 2.5: "float key", None: "none key", False: [],
        "empty": {}, "nested": [[[]], ()],
        "scalar_tensor": an.tensor(2.0, requires_grad=True),
    }
    back = roundtrip(obj, tmp_path / "n.npz")
    same(back, obj)
    assert back[2.5] == "float key" and 0 in back["state"]


def test_shared_tensor_is_stored_once_and_comes_back_shared(tmp_path):
    t = an.ones(3, requires_grad=True)
    back = roundtrip([t, {"again": t}, t.detach()], tmp_path / "s.npz")
    assert back[0] is back[1]["again"]
    assert back[2] is not back[0] and not back[2].requires_grad
    with np.load(tmp_path / "s.npz", allow_pickle=False) as z:
        assert len([f for f in z.files if f != "__autonn__"]) == 2


float_arrays = hnp.arrays(st.sampled_from([np.float32, np.float64, np.longdouble]),
                          hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                          elements=st.floats(allow_nan=False, width=32))


@given(st.recursive(float_arrays | st.integers() | st.floats() | st.text(max_size=5) | st.none(),
                    lambda kids: st.lists(kids, max_size=3)
                    | st.dictionaries(st.text(max_size=3) | st.integers(), kids, max_size=3),
                    max_leaves=8))
def test_random_structures_round_trip(obj):
    buf = io.BytesIO()
    an.save(obj, buf)
    buf.seek(0)
    same(an.load(buf), obj)


def test_file_is_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "p.npz"
    an.save({"w": an.ones(2)}, path)
    with np.load(path, allow_pickle=False) as z:  # no object arrays anywhere
        assert set(z.files) == {"__autonn__", "a0"} and z["__autonn__"].dtype == np.uint8


def test_unsupported_objects_are_a_type_error_and_write_nothing(tmp_path):
    path = tmp_path / "bad.npz"
    with pytest.raises(TypeError, match="set"):
        an.save({"x": {1, 2}}, path)
    with pytest.raises(TypeError, match="object"):
        an.save(np.array([None, 1], dtype=object), path)
    assert not path.exists()


# ----------------------------------------------------------------------------- broken files
def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "trunc.npz"
    an.save({"w": an.randn(50, 50)}, path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="trunc.npz"):
            an.load(path)


def test_corrupted_bytes_name_the_file(tmp_path):
    path = tmp_path / "corrupt.npz"
    an.save({"w": an.randn(50, 50)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the array data: the zip CRC check catches it
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt.npz"):
        an.load(path)


def test_foreign_npz_and_npy_and_text_are_rejected(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.ones(3))
    with pytest.raises(ValueError, match="plain.npz.*not an autonn file"):
        an.load(tmp_path / "plain.npz")
    np.save(tmp_path / "one.npy", np.ones(3))
    with pytest.raises(ValueError, match="one.npy"):
        an.load(tmp_path / "one.npy")
    (tmp_path / "t.txt").write_text("hello")
    with pytest.raises(ValueError, match="t.txt"):
        an.load(tmp_path / "t.txt")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz"):
        an.load(tmp_path / "empty.npz")


def test_bad_structure_json_is_rejected(tmp_path):
    path = tmp_path / "j.npz"
    np.savez(path, __autonn__=np.frombuffer(b'{"format": "autonn", "version": 1, "root": '
                                            b'{"$": "tensor", "i": 5}}', np.uint8))
    with pytest.raises(ValueError, match="j.npz.*missing array"):
        an.load(path)
    np.savez(path, __autonn__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ValueError, match="j.npz.*JSON"):
        an.load(path)


class _Boom:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payloads_are_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"w": _Boom(str(marker))})
    assert not marker.exists()
    (tmp_path / "evil.pkl").write_bytes(payload)
    with pytest.raises(ValueError, match="evil.pkl.*pickle"):
        an.load(tmp_path / "evil.pkl")
    # the same payload as an object array inside an otherwise valid-looking autonn archive
    evil = tmp_path / "evil.npz"
    with zipfile.ZipFile(evil, "w") as zf:
        header = b'{"format":"autonn","version":1,"root":{"$":"array","i":0}}'
        b = io.BytesIO()
        np.save(b, np.frombuffer(header, np.uint8))
        zf.writestr("__autonn__.npy", b.getvalue())
        b = io.BytesIO()
        np.save(b, np.array([_Boom(str(marker))], dtype=object), allow_pickle=True)
        zf.writestr("a0.npy", b.getvalue())
    with pytest.raises(ValueError, match="evil.npz"):
        an.load(evil)
    assert not marker.exists()


# ----------------------------------------------------------------------------- atomic writes
def test_failure_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    an.save({"version": "old", "w": an.ones(3)}, path)
    before = path.read_bytes()
    real_savez = np.savez

    def failing_savez(f, *args, **kwargs):
        real_savez(f, *args, **kwargs)   # most of the bytes reach the temporary file...
        f.write(b"partial")
        raise OSError("disk full")       # ...then the write fails

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        an.save({"version": "new", "w": an.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert an.load(path)["version"] == "old"
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "m.npz"
    an.save([1], path)
    an.save([2], str(path))
    assert an.load(str(path)) == [2]


def test_top_level_names_forward_to_autonn_io():
    from autonn import io as anio
    assert an.save is anio.save and an.load is anio.load

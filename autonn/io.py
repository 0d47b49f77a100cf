"""``an.save`` / ``an.load``: tensors, arrays and (nested) state dicts in a NumPy ``.npz`` file.

The file is an ordinary ``.npz`` archive with no pickle in it. Each array (a Tensor's data,
an ndarray, a NumPy scalar) is one entry ``a0``, ``a1``, ...; the structure around them (dicts,
lists, tuples, numbers, strings, None, which entries are Tensors and whether they require grad)
is one JSON document stored as the uint8 entry ``__autonn__``::

    {"format": "autonn", "version": 1, "root": <node>}

A node is a JSON ``null``/``true``/``false``/number/string (Python's own value), a JSON list (a
Python list), or a tagged object ``{"$": tag, ...}`` with tag ``tensor`` (``i``: entry index,
``requires_grad``), ``array``, ``scalar``, ``tuple`` (``items``), ``dict``/``odict`` (``items``:
``[key node, value node]`` pairs, so integer keys stay integers) or ``complex`` (``re``, ``im``).

Loading parses only the zip directory, ``.npy`` headers and JSON: it never executes code from
the file. ``an.load`` also reads safetensors files (a dict of names to Tensors).

Loading is bounded: only regular files are read (a FIFO, a device such as ``/dev/zero`` or a
directory is a ``ValueError`` at once, never a hang); each ``.npy`` header's shape is checked
against the bytes its entry holds before the array is allocated; and a *compressed* entry
(``an.save`` writes stored, uncompressed entries) may inflate to at most ``max_inflated_bytes``
bytes, all compressed entries of a file together too. The default is
``autonn.io.MAX_INFLATED_BYTES`` (256 MiB); pass ``max_inflated_bytes=`` to ``an.load`` or
``an.nn.load_network``, or set the module attribute, to change it. The limit is checked against
the sizes the zip directory declares, before anything is inflated, and the zip reader never
inflates an entry past its declared size.

Saving writes a temporary file ``.<name>.<uuid>.tmp`` next to the target and renames it over the
target with ``os.replace``, so a failure leaves the old file intact. A save killed before the
rename (``kill -9``) leaves its temporary file behind: the next save to the same path removes
it. A temporary file is locked (``flock``) while it is written, so a save running at the same
time in another process keeps its own.
"""
import collections
import json
import numbers
import os

import numpy as np

from ._atomic import atomic_write as _atomic_write
from ._bounded import is_safetensors, open_regular, read_npz, read_safetensors
from .tensor import Tensor

__all__ = ["save", "load", "MAX_INFLATED_BYTES"]

MAX_INFLATED_BYTES = 256 * 2 ** 20


def _inflation_limit(max_inflated_bytes):
    """The limit a load uses: the argument, else ``MAX_INFLATED_BYTES`` as it is now."""
    if max_inflated_bytes is None:
        return MAX_INFLATED_BYTES
    limit = int(max_inflated_bytes)
    if limit < 0:
        raise ValueError(f"max_inflated_bytes must be non-negative, got {limit}")
    return limit

_HEADER = "__autonn__"
_FORMAT = "autonn"
_VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"


# ----------------------------------------------------------------------------- encoding
class _Encoder:
    def __init__(self):
        self.arrays = []
        self.memo = {}

    def array(self, owner, arr, where):
        """The entry index of ``arr``; the same ``owner`` object saved twice is stored once."""
        if arr.dtype.hasobject:
            raise TypeError(f"an.save: {where} is an array of dtype object, which can't be "
                            "stored without pickle")
        key = id(owner)
        if key not in self.memo:
            self.memo[key] = (len(self.arrays), owner)  # keep owner alive: its id stays unique
            self.arrays.append(arr)
        return self.memo[key][0]

    def node(self, obj, where):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            return {"$": "tensor", "i": self.array(obj, obj.data, where),
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"$": "array", "i": self.array(obj, obj, where)}
        if isinstance(obj, np.generic):
            return {"$": "scalar", "i": self.array(obj, np.asarray(obj), where)}
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, float):
            return float(obj)
        if isinstance(obj, complex):
            return {"$": "complex", "re": obj.real, "im": obj.imag}
        if isinstance(obj, list):
            return [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"$": "tuple", "items": [self.node(v, f"{where}[{i}]")
                                            for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            tag = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            items = []
            for k, v in obj.items():
                if not _is_key(k):
                    raise TypeError(f"an.save: {where} has a key of type {type(k).__name__}; "
                                    "keys must be str, int, float, bool, None or tuples of them")
                items.append([self.node(k, where), self.node(v, f"{where}[{k!r}]")])
            return {"$": tag, "items": items}
        raise TypeError(f"an.save: {where} has type {type(obj).__name__}, which can't be saved; "
                        "supported: Tensor, ndarray, NumPy scalars, dict, list, tuple, int, "
                        "float, complex, bool, str, None")


def _is_key(k):
    if k is None or isinstance(k, (bool, str, numbers.Integral, float)):
        return not isinstance(k, np.generic) or isinstance(k, (np.integer, np.floating))
    return isinstance(k, tuple) and all(_is_key(x) for x in k)


def _name(path):
    if isinstance(path, (str, bytes, os.PathLike)):
        return os.fsdecode(path)
    return getattr(path, "name", None) or repr(path)


def save(obj, path):
    """Save a Tensor, an ndarray, or a nested dict/list/tuple of them (with numbers, strings and
    None) to ``path`` as a pickle-free ``.npz`` file, atomically. ``path`` may also be a
    writable binary file object.

    >>> import autonn as an, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> an.save({"w": an.ones(2, requires_grad=True), "step": 3}, path)
    >>> an.load(path)
    {'w': tensor([1., 1.], requires_grad=True), 'step': 3}
    """
    enc = _Encoder()
    root = enc.node(obj, "obj")
    header = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root},
                        separators=(",", ":"), allow_nan=True).encode("utf-8")
    entries = {f"a{i}": a for i, a in enumerate(enc.arrays)}
    entries[_HEADER] = np.frombuffer(header, dtype=np.uint8)
    if not isinstance(path, (str, bytes, os.PathLike)):
        if not hasattr(path, "write"):
            raise TypeError(f"an.save: path must be a file name or a binary file object, got "
                            f"{type(path).__name__}")
        np.savez(path, allow_pickle=False, **entries)
        return
    _atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **entries))


# ----------------------------------------------------------------------------- decoding
class _Decoder:
    def __init__(self, arrays, name):
        self.arrays = arrays
        self.name = name
        self.cache = {}

    def bad(self, msg):
        return ValueError(f"an.load: {self.name} is corrupted: {msg}")

    def entry(self, node):
        i = node.get("i")
        if isinstance(i, bool) or not isinstance(i, int) or f"a{i}" not in self.arrays:
            raise self.bad(f"reference to a missing array entry {i!r}")
        return self.arrays[f"a{i}"]

    def node(self, n):
        if n is None or isinstance(n, (bool, str, int, float)):
            return n
        if isinstance(n, list):
            return [self.node(v) for v in n]
        if not isinstance(n, dict):
            raise self.bad(f"unexpected JSON value {n!r}")
        tag = n.get("$")
        if tag in ("tensor", "array", "scalar"):
            arr = self.entry(n)
            key = (tag, n["i"], n.get("requires_grad") is True)
            if key in self.cache:
                return self.cache[key]
            if tag == "array":
                out = arr
            elif tag == "scalar":
                if arr.ndim != 0:
                    raise self.bad("a NumPy scalar entry is not 0-d")
                out = arr[()]
            else:
                if arr.dtype.kind not in "biuf":
                    raise self.bad(f"a tensor entry has dtype {arr.dtype}")
                out = Tensor._make(arr)
                if n.get("requires_grad") is True:
                    if arr.dtype.kind != "f":
                        raise self.bad(f"an integer tensor (dtype {arr.dtype}) marked "
                                       "requires_grad")
                    out.requires_grad = True
            self.cache[key] = out
            return out
        if tag == "tuple":
            return tuple(self.node(v) for v in self._items(n))
        if tag in ("dict", "odict"):
            out = collections.OrderedDict() if tag == "odict" else {}
            for pair in self._items(n):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.bad("a dict item is not a [key, value] pair")
                k = self.node(pair[0])
                try:
                    hash(k)
                except TypeError:
                    raise self.bad(f"unhashable dict key {k!r}") from None
                out[k] = self.node(pair[1])
            return out
        if tag == "complex":
            re_, im_ = n.get("re"), n.get("im")
            if not all(isinstance(x, (int, float)) for x in (re_, im_)):
                raise self.bad("malformed complex number")
            return complex(re_, im_)
        raise self.bad(f"unknown node tag {tag!r}")

    def _items(self, n):
        items = n.get("items")
        if not isinstance(items, list):
            raise self.bad(f"a {n.get('$')} node has no item list")
        return items


def _read_entries(path, name, max_inflated_bytes):
    """All arrays of the archive, or of the safetensors file, at ``path`` (a file name or a
    binary file object); a ValueError naming the file otherwise. Returns ``(arrays, kind)``."""
    if isinstance(path, (str, bytes, os.PathLike)):
        f = open_regular(path, "an.load")
    else:
        f = path
    try:
        pos = f.tell()
        head = f.read(9)
        f.seek(pos)
        if head[:4] == _ZIP_MAGIC:
            if f is not path:
                return read_npz(f, name, "an.load", max_inflated_bytes), "npz"
            data = f.read()  # a caller's stream: read only from where it stands
            from io import BytesIO
            return read_npz(BytesIO(data), name, "an.load", max_inflated_bytes), "npz"
        if is_safetensors(head):
            return read_safetensors(f.read(), name, "an.load")[0], "safetensors"
    finally:
        if f is not path:
            f.close()
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}"):
        kind = "it looks like a pickle, which autonn never loads"
    elif head[:4] == np.lib.format.MAGIC_PREFIX[:4]:
        kind = "it is a single .npy array, not an autonn archive"
    elif not head:
        kind = "the file is empty"
    else:
        kind = "it is neither a NumPy .npz archive nor a safetensors file"
    raise ValueError(f"an.load: {name} is not an autonn file: {kind}")


def load(path, *, max_inflated_bytes=None):
    """Load what ``an.save`` wrote; Tensors come back as Tensors with their ``requires_grad``.
    A safetensors file loads as a dict of names to Tensors. Never executes code from the file;
    a truncated, corrupted, foreign or special (FIFO, device) file raises a ``ValueError``
    naming the file. Compressed entries may inflate to ``max_inflated_bytes`` bytes in all
    (default ``autonn.io.MAX_INFLATED_BYTES``, 256 MiB).

    >>> import autonn as an, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> an.save([an.tensor([1.5]), np.arange(3), (None, "hi")], path)
    >>> an.load(path)
    [tensor([1.5]), array([0, 1, 2]), (None, 'hi')]
    """
    name = _name(path)
    entries, kind = _read_entries(path, name, _inflation_limit(max_inflated_bytes))
    if kind == "safetensors":
        return {k: Tensor._make(v) for k, v in entries.items()}
    if _HEADER not in entries:
        raise ValueError(f"an.load: {name} is a NumPy .npz archive but not an autonn file "
                         f"(no {_HEADER!r} entry); open it with numpy.load instead")
    raw = entries.pop(_HEADER)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"an.load: {name} is corrupted: the {_HEADER!r} entry is not bytes")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"an.load: {name} is corrupted: its structure is not valid JSON "
                         f"({e})") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT or "root" not in header:
        raise ValueError(f"an.load: {name} is not an autonn file (bad header)")
    version = header.get("version")
    if not isinstance(version, int) or version > _VERSION:
        raise ValueError(f"an.load: {name} has format version {version!r}; this autonn reads "
                         f"version {_VERSION} and older")
    try:
        return _Decoder(entries, name).node(header["root"])
    except RecursionError:
        raise ValueError(f"an.load: {name} is corrupted: its structure nests too deeply") from None

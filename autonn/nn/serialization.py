"""``save_network`` / ``load_network``: a model's architecture and weights in one file.

The architecture is JSON (class names, constructor arguments, nesting, train/eval mode); the
weights are the ``state_dict``. One file holds both:

* **safetensors** when every array's dtype allows it (float16/32/64 and integers): the JSON rides
  in the header's string ``__metadata__``;
* **NumPy .npz** otherwise (``np.longdouble``), read with ``allow_pickle=False``: the JSON is one
  extra ``uint8`` entry, and the zip comment holds the SHA-256 of the whole archive.

The format is recognised by its magic bytes on load. A SHA-256 over the architecture and every
array's name, dtype, shape and bytes detects corruption. Writes go to a temporary file in the same
directory that replaces the target atomically, so a failed save never leaves a half-written file.
Loading only parses JSON and arrays and builds the known layer classes: it never executes code
from the file.
"""
import hashlib
import json
import os
from io import BytesIO

import numpy as np

from . import activation, container, conv, dropout, init, linear, loss, normalization, sparse
from .module import Module

__all__ = ["save_network", "load_network"]

_FORMAT = "autonn.network/1"
_NPZ_META = "__autonn_meta__"
_NPZ_MAGIC = b"PK\x03\x04"
_SEAL_LEN = 64  # hex SHA-256 in the zip comment

_CLASSES = {cls.__name__: cls for cls in (
    linear.Linear, linear.Identity, linear.Flatten, dropout.Dropout,
    normalization.BatchNorm1d, normalization.LayerNorm, sparse.Embedding, conv.Conv2d,
    conv.MaxPool2d, activation.ReLU, activation.Sigmoid, activation.Tanh, activation.LeakyReLU,
    activation.ELU, activation.GELU, activation.Softplus, activation.Softmax,
    activation.LogSoftmax, loss.MSELoss, loss.L1Loss, loss.CrossEntropyLoss, loss.NLLLoss,
    loss.BCELoss, loss.BCEWithLogitsLoss)}
_CONTAINERS = {"Sequential": container.Sequential, "ModuleList": container.ModuleList}
_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64,
           "longdouble": np.longdouble}
_SAFETENSORS_KINDS = "biuf"


def _dtype_name(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.longdouble and dtype != np.float64:
        return "longdouble"
    if dtype.name not in _DTYPES:
        raise TypeError(f"save_network: layers of dtype {dtype} cannot be saved")
    return dtype.name


# ----- architecture <-> JSON -----
def _describe(module, where):
    name = type(module).__name__
    if _CONTAINERS.get(name) is type(module):
        children = [[key, _describe(child, f"{where}.{key}" if where else key)]
                    for key, child in module._modules.items()]
        return {"type": name, "training": module.training, "children": children}
    if _CLASSES.get(name) is not type(module):
        place = f" at '{where}'" if where else ""
        if isinstance(module, activation.Lambda):
            why = ("a Lambda holds Python code (fn/derivative), and network files never store "
                   "code; rebuild it in code and use state_dict()/load_state_dict() for weights")
        else:
            why = ("only autonn's built-in layers and Sequential/ModuleList can be described "
                   "without code; save its state_dict() with an.save instead")
        raise TypeError(f"save_network: cannot save module {name}{place}: {why}")
    cfg = {k: _dtype_name(v) if isinstance(v, np.dtype) else v
           for k, v in module._config().items()}
    return {"type": name, "training": module.training, "config": cfg}


def _build(node):
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise ValueError(f"malformed architecture node {node!r}")
    name = node["type"]
    if name in _CONTAINERS:
        children = node.get("children")
        if not isinstance(children, list):
            raise ValueError(f"{name} node without a list of children")
        mod = _CONTAINERS[name]()
        for item in children:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError(f"malformed child entry {item!r} of {name}")
            mod.add_module(item[0], _build(item[1]))
    elif name in _CLASSES:
        cfg = node.get("config", {})
        if not isinstance(cfg, dict):
            raise ValueError(f"{name} node with a non-dict config {cfg!r}")
        cfg = dict(cfg)
        if "dtype" in cfg:
            if cfg["dtype"] not in _DTYPES:
                raise ValueError(f"{name}: unknown dtype {cfg['dtype']!r}")
            cfg["dtype"] = _DTYPES[cfg["dtype"]]
        try:
            mod = _CLASSES[name](**cfg)
        except (TypeError, ValueError) as e:
            raise ValueError(f"cannot build {name} from {cfg!r}: {e}") from None
    else:
        raise ValueError(f"unknown layer type {name!r}")
    mod.__dict__["training"] = bool(node.get("training", True))
    return mod


# ----- checksums and atomic writes -----
def _checksum(arch_json, arrays):
    h = hashlib.sha256(arch_json.encode())
    for key in sorted(arrays):
        a = np.asarray(arrays[key], order="C")
        h.update(f"\0{key}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.reshape(-1).view(np.uint8))  # the bytes of a.tobytes(), without a copy
    return h.hexdigest()


def _atomic_write(path, payload):
    """Write ``payload`` (bytes) to ``path`` through a temporary file and a rename."""
    from .._atomic import atomic_write
    atomic_write(path, lambda f: f.write(payload))


def save_network(model, path):
    """Write ``model``'s architecture (JSON) and weights to one file at ``path``, atomically.

    safetensors is used when the dtypes allow it, else NumPy ``.npz`` (``np.longdouble``). A
    ``Lambda`` or a custom Module cannot be saved (files never hold code): that is a TypeError.

    >>> import autonn as an, os, tempfile
    >>> net = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Tanh(), an.nn.Linear(4, 1))
    >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
    >>> an.nn.save_network(net, path)
    >>> back = an.nn.load_network(path)
    >>> x = an.randn(2, 3); bool((back(x).data == net(x).data).all())
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"save_network: expected an an.nn.Module, got {type(model).__name__}")
    arch_json = json.dumps(_describe(model, ""), sort_keys=True)
    arrays = {k: np.asarray(v.data, order="C") for k, v in model.state_dict().items()}
    meta = {"format": _FORMAT, "architecture": arch_json,
            "checksum": _checksum(arch_json, arrays)}
    if all(a.dtype.kind in _SAFETENSORS_KINDS and a.dtype.itemsize <= 8 for a in arrays.values()):
        from safetensors.numpy import save
        payload = save(arrays, metadata=meta)
    else:
        buf = BytesIO()
        blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(buf, **{_NPZ_META: blob}, **arrays)
        payload = _seal_zip(buf.getvalue())
    _atomic_write(path, payload)


# ----- loading -----
def _read_safetensors(data, name):
    from .._bounded import read_safetensors
    arrays, meta = read_safetensors(data, name, "load_network")
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError("it is a safetensors file but not an autonn network (no architecture "
                         "metadata); an.load reads it as a dict of tensors, and "
                         "an.nn.load_torch_state_dict loads PyTorch weights into a model")
    return meta, arrays


def _seal_zip(raw):
    """Put the SHA-256 of the whole archive in its zip comment (zip readers ignore some header
    fields, so the per-array checksum alone would not notice every damaged byte)."""
    if raw[-2:] != b"\0\0":
        raise RuntimeError("save_network: unexpected zip layout (archive comment already set)")
    body = raw[:-2] + _SEAL_LEN.to_bytes(2, "little")
    return body + hashlib.sha256(body).hexdigest().encode()


def _check_zip_seal(data):
    if len(data) < 22 + _SEAL_LEN or data[-_SEAL_LEN - 2:-_SEAL_LEN] != \
            _SEAL_LEN.to_bytes(2, "little"):
        raise ValueError("the .npz archive is truncated or corrupted (its end record is damaged)")
    if hashlib.sha256(memoryview(data)[:-_SEAL_LEN]).hexdigest().encode() != data[-_SEAL_LEN:]:
        raise ValueError("the .npz archive is corrupted (its SHA-256 does not match)")


def _read_npz(data, name, max_inflated_bytes):
    from .._bounded import read_npz
    from ..io import _inflation_limit
    _check_zip_seal(data)
    arrays = read_npz(BytesIO(data), name, "load_network", _inflation_limit(max_inflated_bytes))
    blob = arrays.pop(_NPZ_META, None)
    if blob is None:
        raise ValueError("it is a .npz archive but not an autonn network (no architecture entry)")
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"the architecture entry is corrupted ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError("it is a .npz archive but not an autonn network")
    return meta, arrays


def _adopt(model, arrays):
    """Put the file's arrays into the placeholder parameters and buffers of a model built under
    ``init._placeholder_storage()``, after checking every key and shape: a RuntimeError naming
    each missing, unexpected or wrongly shaped key, before anything is allocated."""
    own = model.state_dict(keep_vars=True)
    missing = [k for k in own if k not in arrays]
    unexpected = [k for k in arrays if k not in own]
    errors = []
    if unexpected:
        errors.append("Unexpected key(s) in the file: " + ", ".join(f'"{k}"' for k in unexpected))
    if missing:
        errors.append("Missing key(s) in the file: " + ", ".join(f'"{k}"' for k in missing))
    for key, target in own.items():
        value = arrays.get(key)
        if value is None:
            continue
        if value.dtype.kind not in "biuf":
            errors.append(f'"{key}" holds an array of dtype {value.dtype}, not numbers')
        elif value.shape != target.shape:
            errors.append(f"size mismatch for {key}: the file stores shape {value.shape}, its "
                          f"architecture declares {target.shape}")
    if errors:
        raise RuntimeError("; ".join(errors))
    for key, target in own.items():
        value = arrays[key]
        copy = value.dtype != target.dtype or not value.flags.writeable
        target.data = np.array(value, dtype=target.dtype, copy=True) if copy else value


def _network_from_bytes(data, name, max_inflated_bytes=None):
    """The model stored in ``data``, the bytes of a file written by ``save_network``."""
    try:
        if data[:4] == _NPZ_MAGIC:
            meta, arrays = _read_npz(data, name, max_inflated_bytes)
        elif len(data) >= 9 and data[8:9] == b"{":
            meta, arrays = _read_safetensors(data, name)
        else:
            raise ValueError("it is not an autonn network file (unrecognised header)")
        arch_json = meta.get("architecture")
        if not isinstance(arch_json, str) or meta.get("checksum") != _checksum(arch_json, arrays):
            raise ValueError("the checksum does not match: the file is corrupted")
        with init._placeholder_storage():  # declared shapes allocate nothing, draw nothing
            model = _build(json.loads(arch_json))
    except RecursionError:
        raise ValueError(f"load_network: cannot load {name!r}: its architecture nests too "
                         "deeply") from None
    except ValueError as e:
        msg = str(e)
        if not msg.startswith("load_network: "):
            msg = f"load_network: cannot load {name!r}: {msg}"
        raise ValueError(msg) from None
    try:
        _adopt(model, arrays)
    except RuntimeError as e:
        raise RuntimeError(f"load_network: the weights in {name!r} do not match its "
                           f"architecture: {e}") from None
    except RecursionError:
        raise ValueError(f"load_network: cannot load {name!r}: its architecture nests too "
                         "deeply") from None
    return model


def load_network(path, *, max_inflated_bytes=None):
    """Read a file written by ``save_network`` and return the model, in the mode it was saved in.

    A truncated, corrupted, foreign or special (FIFO, device) file is a ValueError naming the
    file; weights that do not fit the architecture are a RuntimeError naming the file and the
    keys. Loading is bounded: the shapes the architecture declares are checked against the
    arrays the file holds before anything is allocated, and no layer is initialised at random
    only to be overwritten. Compressed ``.npz`` entries may inflate to ``max_inflated_bytes``
    bytes (default ``autonn.io.MAX_INFLATED_BYTES``). Nothing from the file is ever executed:
    only known layer classes are built, from JSON arguments.

    >>> import autonn as an, os, tempfile, numpy as np
    >>> net = an.nn.Sequential(an.nn.Linear(2, 2, dtype=np.longdouble), an.nn.ReLU())
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> an.nn.save_network(net, path)
    >>> an.nn.load_network(path)[0].weight.dtype == np.longdouble
    True
    """
    from .._bounded import read_regular
    name = os.fsdecode(os.fspath(path))
    return _network_from_bytes(read_regular(path, "load_network"), name, max_inflated_bytes)
